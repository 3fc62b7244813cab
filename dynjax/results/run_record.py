"""What ran: a run directory's config.json, so that its results can be traced and reproduced.

config.json holds
- `configs`: every field of every configuration of the run as resolved (preset, defaults and the chosen
  evaluation interval applied; environment arguments and every hyperparameter included), written when the
  run starts, so that a later change of dynjax's defaults cannot change what the record says. A resumed run
  whose configurations now resolve differently is refused, naming the fields that changed.
- `invocations`: one entry per command that ran or resumed the run: the command line, start and end times
  (UTC), how it ended and how many seed-steps it trained (0 when it only summarised finished results), dynjax's version and git commit (when run from a checkout; `dirty` if it had
  uncommitted changes), the versions of Python, jax, jaxlib, gymnax, flax, optax, orbax, numpy, scipy and
  chex, the platform, CPU, XLA_FLAGS and JAX's devices. An invocation whose dynjax or package versions differ
  from the first one's lists them under `differs_from_first`, and the record's `mixed_versions` says so.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import platform
import subprocess
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping, Sequence

import dynjax
from dynjax.results.metrics import write_json

PACKAGES = ("jax", "jaxlib", "gymnax", "flax", "optax", "orbax-checkpoint", "numpy", "scipy", "chex")
PACKAGE_DIR = Path(dynjax.__file__).resolve().parent


def now() -> str:
    """The current time, UTC, ISO 8601 to the second."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


@lru_cache(maxsize=1)
def git_state() -> dict[str, Any] | None:
    """{commit, dirty} of the checkout dynjax is imported from, or None (an installed wheel, no git)."""
    top = PACKAGE_DIR.parent
    if not (top / ".git").exists() or not (top / "pyproject.toml").exists():
        return None
    try:
        commit = subprocess.run(["git", "-C", str(top), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "-C", str(top), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(status.strip())}


def dynjax_version() -> dict[str, Any]:
    """dynjax's version, with the git commit when imported from a checkout."""
    from dynjax import __version__

    return {"version": __version__, "git": git_state()}


def version_line() -> str:
    """`dynjax --version`: 'dynjax 0.1.0 (git 1a2b3c4d, dirty; jax 0.10.2, Python 3.11.7)'."""
    v = dynjax_version()
    git = v["git"]
    where = f"git {git['commit'][:8]}{', dirty' if git['dirty'] else ''}; " if git else ""
    return f"dynjax {v['version']} ({where}jax {_package_version('jax')}, Python {platform.python_version()})"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment() -> dict[str, Any]:
    """The software and hardware a command runs on (JAX's backend is initialised by the call)."""
    import jax

    return {
        "dynjax": dynjax_version(),
        "python": platform.python_version(),
        "packages": {name: _package_version(name) for name in PACKAGES},
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "xla_flags": os.environ.get("XLA_FLAGS"),
        "process_count": jax.process_count(),
        "devices": [{"id": d.id, "platform": d.platform, "kind": d.device_kind, "process": d.process_index}
                    for d in jax.devices()],
    }


def _plain(x: Any) -> Any:
    """A configuration value as JSON data (tuples as lists, NamedTuples and dataclasses as objects)."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return {f.name: _plain(getattr(x, f.name)) for f in dataclasses.fields(x)}
    if hasattr(x, "_asdict"):
        return {k: _plain(v) for k, v in x._asdict().items()}
    if isinstance(x, Mapping):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if hasattr(x, "item") and getattr(x, "ndim", None) == 0:
        return x.item()
    return x


def resolved_configs(programs: Sequence[Any], labels: Mapping[int, str]) -> list[dict[str, Any]]:
    """Every configuration of a resolved sweep (dynjax.sweep.spec.Program) with all its fields, one entry per
    configuration id: the program's static fields, its environment arguments and every hyperparameter with
    the configuration's swept values applied."""
    out = []
    for p in programs:
        fields = _plain(p.config)
        base_hp = fields.pop("hparams")
        fields["env_args"] = dict(p.config.env_args)
        for cid, combo in zip(p.config_ids, p.hparams):
            out.append({"config": cid, "label": labels[cid], "program": p.index,
                        "fields": fields, "hparams": base_hp | {k: float(v) for k, v in combo.items()}})
    return json.loads(json.dumps(out))  # as it reads back from the file (tuples become lists)


ABSENT_MEANS = "absent_means"  # configuration field metadata: see absent_means()


def absent_means(configs: Sequence[Any]) -> dict[str, Any]:
    """Fields added to a configuration class after runs were recorded without them, each with the value that
    does what those runs did (dataclass field metadata "absent_means"): a record that lacks such a field still
    matches a configuration that has that value, so adding an option does not orphan finished runs. A field
    whose default changes behaviour has no such metadata, and its absence is a difference. Hyperparameters (a
    NamedTuple, without field metadata) declare theirs in the class attribute ABSENT_MEANS, a dict by name."""
    fields = {f.name: f.metadata[ABSENT_MEANS] for c in configs for f in dataclasses.fields(c)
              if ABSENT_MEANS in f.metadata}
    return fields | {k: v for c in configs for k, v in getattr(type(c.hparams), "ABSENT_MEANS", {}).items()}


def _differences(old: Any, new: Any, where: str = "", absent: Mapping[str, Any] | None = None) -> list[str]:
    absent = absent or {}
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted((set(old) | set(new)) - {k for k in set(new) - set(old) if k in absent and new[k] == absent[k]},
                      key=str)
        return [d for k in keys for d in _differences(old.get(k, "<absent>"), new.get(k, "<absent>"),
                                                      f"{where}.{k}" if where else k, absent)]
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [d for i, (a, b) in enumerate(zip(old, new)) for d in _differences(a, b, f"{where}[{i}]", absent)]
    return [] if old == new else [f"{where}: {old!r} -> {new!r}"]


def _versions(env: Mapping[str, Any]) -> dict[str, Any]:
    git = env["dynjax"]["git"]
    return {"dynjax": env["dynjax"]["version"], "dynjax_commit": git["commit"] if git else None,
            "python": env["python"], **env["packages"]}


def start(out: Path, configs: list[dict[str, Any]], argv: Sequence[str] | None = None,
          absent: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Open (or, for a resumed run, extend) `out`/config.json with this invocation; returns the record.
    Raises ValueError if the run's configurations now resolve differently from what it started with (a field the
    record lacks counts as the same when `absent` maps it to its new value: absent_means)."""
    path = out / "config.json"
    env = environment()
    invocation: dict[str, Any] = {"command": list(sys.argv if argv is None else argv), "cwd": os.getcwd(),
                                  "started": now(), "ended": None, "status": "running", **env}
    if path.exists():
        record = json.loads(path.read_text())
        changed = _differences(record.get("configs"), configs, absent=absent)
        if changed:
            raise ValueError(f"out: {out} was started with other resolved configurations ("
                             + "; ".join(changed[:8]) + (" ..." if len(changed) > 8 else "")
                             + "), e.g. after a change of dynjax's defaults; choose another --out")
        first = _versions(record["invocations"][0])
        now_v = _versions(env)
        differs = {k: [first.get(k), v] for k, v in now_v.items() if first.get(k) != v}
        if differs:
            invocation["differs_from_first"] = differs
            record["mixed_versions"] = True
        record["invocations"].append(invocation)
    else:
        record = {"configs": configs, "mixed_versions": False, "invocations": [invocation]}
    write_json(path, record)
    return record


def finish(out: Path, record: dict[str, Any], status: str, seed_steps_trained: int | None = None) -> None:
    """Close this invocation's entry: its end time, how it ended ('finished', 'stopped', 'failed: ...') and
    how many seed-steps it trained (0: it only summarised a run finished earlier)."""
    record["invocations"][-1] |= {"ended": now(), "status": status, "seed_steps_trained": seed_steps_trained}
    write_json(out / "config.json", record)


def version_warning(record: Mapping[str, Any]) -> str | None:
    """A line for the log when this invocation resumed a run begun with other versions."""
    differs = record["invocations"][-1].get("differs_from_first")
    if not differs:
        return None
    return ("[dynjax] warning: this run was started with other versions ("
            + ", ".join(f"{k} {a} -> {b}" for k, (a, b) in differs.items())
            + "); config.json records every invocation and marks the run mixed_versions")
