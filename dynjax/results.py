"""Run directories: metrics.csv (evaluation point x seed), summary.json, learning-curve plot.

Summaries are over seeds that never diverged: a seed whose parameters became non-finite is listed with the
step it diverged at and is excluded from the medians, never averaged in.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

METRIC_FIELDS = ("step", "seed", "eval_return", "train_return", "diverged")


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a reader never sees a half-written file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def append_metrics(path: Path, metrics: Mapping[str, np.ndarray], seed_ids: Iterable[int]) -> None:
    """Append rows for metrics of shape (seeds, points) to metrics.csv (writing the header on first use)."""
    seed_ids = list(seed_ids)
    new = not path.exists()
    with path.open("a", newline="") as f:
        w = csv.writer(f)
        if new:
            w.writerow(METRIC_FIELDS)
        steps = np.asarray(metrics["step"])
        for p in range(steps.shape[1]):
            for i, seed in enumerate(seed_ids):
                w.writerow([int(steps[i, p]), seed, f"{float(metrics['eval_return'][i, p]):.6g}",
                            f"{float(metrics['train_return'][i, p]):.6g}", int(bool(metrics["diverged"][i, p]))])
        f.flush()
        os.fsync(f.fileno())


def read_metrics(path: Path) -> dict[str, np.ndarray]:
    """metrics.csv back as arrays of shape (seeds, points), seeds in ascending id order."""
    rows = list(csv.DictReader(path.open()))
    seeds = sorted({int(r["seed"]) for r in rows})
    steps = sorted({int(r["step"]) for r in rows})
    s_idx = {s: i for i, s in enumerate(seeds)}
    p_idx = {s: i for i, s in enumerate(steps)}
    out = {k: np.full((len(seeds), len(steps)), np.nan) for k in ("eval_return", "train_return", "diverged")}
    for r in rows:
        i, p = s_idx[int(r["seed"])], p_idx[int(r["step"])]
        for k in out:
            out[k][i, p] = float(r[k])
    out["step"] = np.broadcast_to(np.asarray(steps), (len(seeds), len(steps))).copy()
    out["seed"] = np.asarray(seeds)
    return out


def _stats(x: np.ndarray) -> dict[str, float | None]:
    if x.size == 0:
        return {"median": None, "q25": None, "q75": None, "iqr": None, "n": 0}
    q25, med, q75 = np.percentile(x, [25, 50, 75])
    return {"median": float(med), "q25": float(q25), "q75": float(q75), "iqr": float(q75 - q25), "n": int(x.size)}


def summarize(metrics: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Median / IQR of final and best evaluation return over the seeds that did not diverge."""
    ev = np.asarray(metrics["eval_return"], dtype=float)
    diverged = np.asarray(metrics["diverged"]).astype(bool)
    steps = np.asarray(metrics["step"])
    seeds = np.asarray(metrics.get("seed", np.arange(ev.shape[0])))
    bad = diverged.any(axis=1) | ~np.isfinite(ev).all(axis=1)
    first_bad = [int(steps[i][np.argmax(diverged[i] | ~np.isfinite(ev[i]))]) for i in range(ev.shape[0])]
    ok = ev[~bad]
    return {
        "seeds": int(ev.shape[0]),
        "final_eval": _stats(ok[:, -1] if ok.size else ok),
        "best_eval": _stats(ok.max(axis=1) if ok.size else ok),
        "steps": int(steps.max()),
        "diverged": [{"seed": int(seeds[i]), "step": first_bad[i]} for i in np.flatnonzero(bad)],
    }


def plot_learning_curve(metrics: Mapping[str, np.ndarray], path: Path, title: str) -> None:
    """Median and IQR band of the evaluation return over non-diverged seeds, against environment steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ev = np.asarray(metrics["eval_return"], dtype=float)
    bad = np.asarray(metrics["diverged"]).astype(bool).any(axis=1) | ~np.isfinite(ev).all(axis=1)
    steps = np.asarray(metrics["step"])[0]
    fig, ax = plt.subplots(figsize=(6, 4))
    ok = ev[~bad]
    if ok.size:
        q25, med, q75 = np.percentile(ok, [25, 50, 75], axis=0)
        ax.plot(steps, med, label=f"median over {ok.shape[0]} seeds")
        ax.fill_between(steps, q25, q75, alpha=0.3, label="IQR")
    if bad.any():
        ax.plot([], [], " ", label=f"{int(bad.sum())} diverged seed(s) excluded")
    ax.set_xlabel("environment steps per seed")
    ax.set_ylabel("evaluation return")
    ax.set_title(title)
    ax.legend(loc="best")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")
