"""Lazy stand-ins for modules that are imported on dynjax's start path but not needed to start training.

- gymnax's environment modules (misc/pong.py, bsuite/catch.py, ...) run `import matplotlib.pyplot as plt`,
  `from matplotlib import colors` and `import seaborn as sns` when `import gymnax` registers its
  environments, only for their optional `render` methods. seaborn pulls in scipy.stats and pandas: with
  matplotlib, about 1.5-2 s of CPU on every start.
- gymnax's `from flax import struct` runs flax/__init__.py, which imports flax.linen (~0.1-0.2 s; dynjax
  and gymnax use no linen module).
- orbax.checkpoint (~0.3-0.5 s, tensorstore included) is imported by dynjax.sweep.checkpoint, but is first
  used when a checkpoint is written or read, after the first training step.

`install()` puts importlib.util.LazyLoader modules for them into sys.modules: `import seaborn` then binds a
module object whose code runs on its first attribute access (a gymnax render, dynjax's plots, a checkpoint),
so code that uses them sees no difference, only when the cost is paid. A module already imported, or not
installed, is left alone. Nothing here runs at import: `install()` is called by `dynjax.startup.enable()`
(the `dynjax` command line calls it first thing), and has an effect only on modules not yet imported, so it
must run before the first `import gymnax`. It changes sys.modules and sys.meta_path for the whole process.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import types

# Imported parent package (orbax is a namespace package: nothing runs), attribute set on it as the import
# system would.
LAZY_MODULES = ("seaborn", "orbax.checkpoint")
# A lazy package with lazy submodules as its attributes, so that `from matplotlib import colors` loads
# nothing; any other submodule's import loads the package first (_PackageFirst), as an eager import would.
LAZY_PACKAGES = {"matplotlib": ("colors", "pyplot")}
# Found without importing the parent, whose own __init__ imports the submodule and binds its name.
LAZY_BEFORE_PARENT = ("flax.linen",)


_CLASSES: dict[type, type] = {}


def _lazy_class(lazy_cls: type) -> type:
    """LazyLoader's module class, except that reading `__spec__` or `__path__`, or a submodule that is still
    lazy itself, does not load the module, and that a submodule of a lazy package loads the package first.

    `import x` of a module already in sys.modules reads `x.__spec__` (to see whether it is still being
    initialised) and `from x import y` reads `x.__path__` and then `x.y`; with a plain LazyLoader module
    any of these reads runs the module, so the next `import seaborn` would pay the full cost."""
    if lazy_cls not in _CLASSES:

        class LazyModule(lazy_cls):
            def __getattribute__(self, attr: str):
                if attr in ("__spec__", "__path__"):
                    return types.ModuleType.__getattribute__(self, attr)
                value = types.ModuleType.__getattribute__(self, "__dict__").get(attr)
                if value is not None and type(value) is _CLASSES[lazy_cls]:
                    return value
                parent = sys.modules.get(types.ModuleType.__getattribute__(self, "__spec__").parent or "")
                if parent is not None and parent is not self and _is_lazy(parent):
                    getattr(parent, "__name__")  # the package runs first, as in an eager import ...
                    return getattr(self, attr)  # ... and may have run this submodule already
                return super().__getattribute__(attr)

        _CLASSES[lazy_cls] = LazyModule
    return _CLASSES[lazy_cls]


def _make_lazy(name: str, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)  # lazy: only records what to run on first attribute access
    module.__class__ = _lazy_class(type(module))
    return module


def _find(name: str, import_parent: bool) -> importlib.machinery.ModuleSpec | None:
    parent, _, child = name.rpartition(".")
    if import_parent or not parent:
        return importlib.util.find_spec(name)  # imports the parent package of a dotted name
    if parent in sys.modules:
        return None  # the parent's import has run (or is running): it imported the submodule itself
    parent_spec = importlib.util.find_spec(parent)
    if parent_spec is None or parent_spec.submodule_search_locations is None:
        return None
    return importlib.machinery.PathFinder.find_spec(name, list(parent_spec.submodule_search_locations))


def _lazy(name: str, import_parent: bool = True) -> None:
    if name in sys.modules:
        return
    try:
        spec = _find(name, import_parent)
    except (ImportError, ValueError):
        return
    if spec is None or spec.loader is None:
        return
    module = _make_lazy(name, spec)
    parent, _, child = name.rpartition(".")
    if parent and parent in sys.modules:
        setattr(sys.modules[parent], child, module)  # as the import system does for a loaded submodule


def _is_lazy(module: object) -> bool:
    return type(module) in _CLASSES.values()


class _PackageFirst:
    """Meta path finder: before a submodule of a still-lazy package is found, load the package, so that its
    __init__ runs first, as it does when the submodule is imported eagerly."""

    def __init__(self, packages: tuple[str, ...]):
        self.packages = packages

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        package = fullname.partition(".")[0]
        if package != fullname and package in self.packages and _is_lazy(sys.modules.get(package)):
            getattr(sys.modules[package], "__name__")  # any other attribute read runs the package
        return None  # the ordinary finders find the submodule


def _lazy_package(name: str, children: tuple[str, ...]) -> None:
    if name in sys.modules:
        return
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return
    package = _make_lazy(name, spec)
    for child in children:
        child_spec = importlib.machinery.PathFinder.find_spec(f"{name}.{child}", list(spec.submodule_search_locations))
        if child_spec is not None and child_spec.loader is not None:
            setattr(package, child, _make_lazy(f"{name}.{child}", child_spec))


def install() -> None:
    """Make the modules above load on first use instead of on import (idempotent)."""
    for name in LAZY_MODULES:
        _lazy(name)
    for name, children in LAZY_PACKAGES.items():
        _lazy_package(name, children)
    if not any(isinstance(f, _PackageFirst) for f in sys.meta_path):
        sys.meta_path.insert(0, _PackageFirst(tuple(LAZY_PACKAGES)))
    for name in LAZY_BEFORE_PARENT:
        _lazy(name, import_parent=False)
