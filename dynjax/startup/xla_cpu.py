"""XLA:CPU compiler options for training loops: copy insertion with region analysis.

A training chunk is a while loop (lax.scan) whose carry is the learners' state. XLA's copy insertion decides
where a loop-carried buffer must be copied so that a value read after it is overwritten stays intact; by default
XLA:CPU decides it without looking inside the loop body's regions and so copies large carried buffers every
iteration (in RTRRL's step: the parameter vector and the RFLO trace, about 9% of the step's kernel time, measured
with jax.profiler on the 2-core machine). With `xla_cpu_copy_insertion_use_region_analysis` XLA proves those
copies unneeded and drops them: the same operations on the same values, so the same bits (tests/test_imports.py
runs a training program both ways), and RFLO N=32 with 1,024 learners ran about 20% faster
(benchmarks/results/throughput_speedup.md).

`install()` adds the option to XLA_FLAGS, which XLA reads when it first starts a backend, so it must run before
any JAX operation; `dynjax.startup.enable()` calls it, as the `dynjax` command line does. It leaves XLA_FLAGS
alone when the user set the option there, and on a jaxlib it was not tested with (XLA aborts the process on an
option it does not know): TESTED_JAXLIB_VERSIONS.
"""

from __future__ import annotations

import os

import jaxlib

OPTION = "--xla_cpu_copy_insertion_use_region_analysis"
TESTED_JAXLIB_VERSIONS = ("0.10.2",)

_done: list[str] = []  # what the first install() did


def _backend_started() -> bool:
    """Whether JAX has started a backend (JAX has no public question for it; its internal one is asked, and an
    older or newer JAX without it counts as not started: XLA_FLAGS set too late does nothing)."""
    from jax._src import xla_bridge

    started = getattr(xla_bridge, "backends_are_initialized", None)
    return bool(started()) if started else False


def install() -> str:
    """Turn the option on for this process (idempotent). Returns "installed", "set by the user",
    "untested-jaxlib <version>", or "too late" (a backend had started: XLA had read its flags)."""
    if not _done:
        _done.append(_install())
    return _done[0]


def _install() -> str:
    flags = os.environ.get("XLA_FLAGS", "")
    if OPTION in flags:
        return "set by the user"
    if jaxlib.__version__ not in TESTED_JAXLIB_VERSIONS:
        return f"untested-jaxlib {jaxlib.__version__}"
    if _backend_started():
        return "too late"
    os.environ["XLA_FLAGS"] = f"{flags} {OPTION}=true".strip()
    return "installed"
