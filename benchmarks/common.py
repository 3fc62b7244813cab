"""Pieces every benchmark script shares: file-name slugs and cached sweep cells."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from dynjax.sweep import RunDirectoryMismatch, run_sweep
from dynjax.sweep.spec import SweepSpec


def slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-").replace("--", "-")


def run_cell(spec: SweepSpec, out: Path, **kwargs: Any) -> dict:
    """Run (or resume, or reuse when finished) one benchmark cell as a dynjax sweep in `out`; a directory
    holding this benchmark's cell from another budget or an older layout is removed first."""
    try:
        return run_sweep(spec, out, **kwargs)
    except RunDirectoryMismatch:
        shutil.rmtree(out)
        return run_sweep(spec, out, **kwargs)
