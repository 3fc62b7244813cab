"""The layout of a run directory, written by the sweep runner and read back by snapshots and benchmarks.

    sweep.json                       the sweep's record (spec, chunking, grid): a run directory holds one sweep
    checkpoints/program-P-batch-B/   one unit of work: seed batch B of program P (orbax steps, learners.json)

`prepare_run_dir` accepts a directory only if it is empty or holds this very sweep, and raises
`RunDirectoryMismatch` (a ValueError) otherwise; `UnitName` is the one place unit directory names are
written and parsed.
"""

import json
import re
from pathlib import Path
from typing import Any, NamedTuple

import jax

from dynjax.results.metrics import write_json

RECORD = "sweep.json"
CHECKPOINTS = "checkpoints"


class RunDirectoryMismatch(ValueError):
    """The output directory is not empty and holds something other than this sweep (another sweep or run, or
    files that are not a dynjax run directory); nothing was written to it."""


def prepare_run_dir(out: Path, record: dict[str, Any]) -> None:
    """Create `out` or accept it only if it holds this very sweep; nothing is overwritten otherwise."""
    path = out / RECORD
    if out.exists() and any(out.iterdir()):
        if not path.exists():
            raise RunDirectoryMismatch(f"out: {out} exists and is not a dynjax run directory; choose another --out")
        if json.loads(path.read_text()) != json.loads(json.dumps(record)):
            raise RunDirectoryMismatch(f"out: {out} holds a different sweep or run; choose another --out")
    if jax.process_index() == 0:
        out.mkdir(parents=True, exist_ok=True)
        write_json(path, record)


_UNIT = re.compile(r"program-(\d+)-batch-(\d+)")


class UnitName(NamedTuple):
    """The name of a unit's directory under checkpoints/: program index and seed batch index."""

    program: int
    batch: int

    @property
    def dirname(self) -> str:
        return f"program-{self.program}-batch-{self.batch}"

    @classmethod
    def parse(cls, name: str) -> "UnitName":
        """The unit a directory name names; ValueError for any other name."""
        match = _UNIT.fullmatch(name)
        if match is None:
            raise ValueError(f"{name!r} is not a unit directory name (expected program-P-batch-B)")
        return cls(int(match[1]), int(match[2]))


def unit_dir(run_dir: Path, unit: UnitName) -> Path:
    return Path(run_dir) / CHECKPOINTS / unit.dirname


def unit_dirs(run_dir: Path) -> list[tuple[UnitName, Path]]:
    """The unit directories of a run, in the order of their names (other entries of checkpoints/ are not units)."""
    root = Path(run_dir) / CHECKPOINTS
    entries = sorted(root.iterdir()) if root.is_dir() else []
    return [(UnitName.parse(d.name), d) for d in entries if _UNIT.fullmatch(d.name)]
