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


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def median_iqr_errorbar(ax, xs, stats: list[dict], label: str) -> None:
    """Median with an IQR bar per x, from dynjax.results.stats.aggregate results (one per x)."""
    import numpy as np

    med = np.array([s["median"] for s in stats], float)
    err = [med - np.array([s["q25"] for s in stats], float), np.array([s["q75"] for s in stats], float) - med]
    ax.errorbar(xs, med, yerr=err, marker="o", capsize=3, label=label)


def save_figure(fig, path: Path) -> None:
    """Lay out, write (creating the folder) and close a matplotlib figure."""
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    pyplot().close(fig)


def write_table(root: Path, lines: list[str]) -> Path:
    """Write a study's markdown beside its results folder (<root>.md), print it, and return its path."""
    out_md = root.parent / (root.name + ".md")
    out_md.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {out_md}")
    return out_md
