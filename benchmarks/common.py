"""Pieces every benchmark script shares: file-name slugs, quartile formatting, and cached sweep cells."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from dynjax.sweep import run_sweep
from dynjax.sweep.spec import SweepSpec


def slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-").replace("--", "-")


def quartiles(x: np.ndarray, fmt: str = ".3g") -> str:
    """'median [q25, q75]' over the finite entries of x ('n/a' if none)."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if not x.size:
        return "n/a"
    lo, med, hi = np.percentile(x, [25, 50, 75])
    return f"{med:{fmt}} [{lo:{fmt}}, {hi:{fmt}}]"


def run_cell(spec: SweepSpec, out: Path, **kwargs: Any) -> dict:
    """Run (or resume, or reuse when finished) one benchmark cell as a dynjax sweep in `out`; a directory
    holding this benchmark's cell from another budget or an older layout is removed first."""
    try:
        return run_sweep(spec, out, **kwargs)
    except ValueError as e:
        if "different sweep" not in str(e) and "not a dynjax run directory" not in str(e):
            raise
        shutil.rmtree(out)
        return run_sweep(spec, out, **kwargs)
