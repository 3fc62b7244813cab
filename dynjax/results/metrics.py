"""Run directories: metrics.csv (configuration x seed x evaluation point), summaries, plots.

Summaries are over seeds that never diverged: a seed whose parameters became non-finite is listed with the
step it diverged at and is excluded from every statistic, never averaged in. The statistics are
dynjax.results.stats's: per seed the final performance (mean of the last 10% of evaluations), the best evaluation
excluding the untrained step 0, and the area under the learning curve; over seeds the median, IQR and IQM with
a 95% bootstrap interval.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from dynjax.results.stats import CurveScores, aggregate, curve_scores

METRIC_FIELDS = ("config", "seed", "step", "eval_return", "train_return", "diverged", "diverged_at")


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a reader never sees a half-written file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def append_metrics(path: Path, metrics: Mapping[str, np.ndarray], config_ids: Iterable[int],
                   seed_ids: Iterable[int]) -> None:
    """Append rows for metrics of shape (learners, points) to metrics.csv (header on first use); learner i is
    configuration config_ids[i], seed seed_ids[i]. Metrics beyond METRIC_FIELDS (an agent's EvalMetrics.extra)
    become further columns, in the order of the file's header once it exists."""
    config_ids, seed_ids = list(config_ids), list(seed_ids)
    new = not path.exists()
    extra = sorted(k for k in metrics if k not in METRIC_FIELDS)
    if not new:
        with path.open(newline="") as f:
            header = next(csv.reader(f), list(METRIC_FIELDS))
        extra = [k for k in header if k not in METRIC_FIELDS]
    with path.open("a", newline="") as f:
        w = csv.writer(f)
        if new:
            w.writerow(list(METRIC_FIELDS) + extra)
        steps = np.asarray(metrics["step"])
        for p in range(steps.shape[1]):
            for i, (cid, seed) in enumerate(zip(config_ids, seed_ids)):
                w.writerow([int(cid), int(seed), int(steps[i, p]), f"{float(metrics['eval_return'][i, p]):.6g}",
                            f"{float(metrics['train_return'][i, p]):.6g}", int(bool(metrics["diverged"][i, p])),
                            int(metrics["diverged_at"][i, p])]
                           + [f"{float(metrics[k][i, p]):.6g}" if k in metrics else "nan" for k in extra])
        f.flush()
        os.fsync(f.fileno())


def drop_metrics_after(path: Path, config_ids: Iterable[int], seed_ids: Iterable[int], step: int) -> None:
    """Remove the rows of these learners with step > `step` (rows written after the checkpoint a run resumes
    from), atomically."""
    if not path.exists():
        return
    learners = {(int(c), int(s)) for c, s in zip(config_ids, seed_ids)}
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    keep = [rows[0]] + [r for r in rows[1:] if (int(r[0]), int(r[1])) not in learners or int(r[2]) <= step]
    if len(keep) != len(rows):
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("w", newline="") as f:
            csv.writer(f).writerows(keep)
        os.replace(tmp, path)


def finished_learners(path: Path, step: int) -> set[tuple[int, int]]:
    """The (config, seed) learners of metrics.csv that have a row at `step` (their last evaluation): finished,
    whether or not their checkpoints are still there."""
    if not path.exists():
        return set()
    with path.open(newline="") as f:
        return {(int(r[0]), int(r[1])) for r in csv.reader(f) if r and r[0] != "config" and int(r[2]) == step}


def read_metrics(path: Path, config: int | None = None) -> dict[str, np.ndarray]:
    """metrics.csv back as arrays of shape (learners, points), learners sorted by (config, seed); `config`
    selects one configuration. Points missing for a learner (other budgets in one sweep) are nan."""
    rows = [r for r in csv.DictReader(path.open()) if config is None or int(r["config"]) == config]
    learners = sorted({(int(r["config"]), int(r["seed"])) for r in rows})
    steps = sorted({int(r["step"]) for r in rows})
    l_idx = {k: i for i, k in enumerate(learners)}
    p_idx = {s: i for i, s in enumerate(steps)}
    extra = [k for k in (rows[0].keys() if rows else ()) if k not in METRIC_FIELDS]
    out = {k: np.full((len(learners), len(steps)), np.nan) for k in ["eval_return", "train_return", "diverged"] + extra}
    out["diverged_at"] = np.full((len(learners), len(steps)), -1, np.int64)
    for r in rows:
        i, p = l_idx[(int(r["config"]), int(r["seed"]))], p_idx[int(r["step"])]
        for k in out:
            out[k][i, p] = float(r[k])
    out["step"] = np.broadcast_to(np.asarray(steps), (len(learners), len(steps))).copy()
    out["config"] = np.asarray([c for c, _ in learners], np.int64)
    out["seed"] = np.asarray([s for _, s in learners], np.int64)
    return out


def diverged_mask(metrics: Mapping[str, np.ndarray]) -> np.ndarray:
    """Learners that diverged at any point (flag set or a non-finite evaluation)."""
    ev = np.asarray(metrics["eval_return"], dtype=float)
    present = ~np.isnan(np.asarray(metrics["diverged"], dtype=float))
    return (np.asarray(metrics["diverged"]) == 1).any(axis=1) | (~np.isfinite(ev) & present).any(axis=1)


def summarize(metrics: Mapping[str, np.ndarray], metric: str = "eval_return") -> dict[str, Any]:
    """Per-seed scores of the learners that did not diverge (dynjax.results.stats.curve_scores: final = mean of the
    last 10% of evaluations, best excluding step 0, AUC) and their aggregates over seeds (median, IQR, IQM with
    95% bootstrap CI); diverged learners are listed with the step they diverged at, never averaged in."""
    ev = np.asarray(metrics[metric], dtype=float)
    steps = np.asarray(metrics["step"])
    seeds = np.asarray(metrics.get("seed", np.arange(ev.shape[0])))
    bad = diverged_mask(metrics)
    at = np.asarray(metrics.get("diverged_at", np.full(ev.shape, -1)))
    scores = curve_scores(ev[~bad], steps[~bad]) if (~bad).any() else CurveScores(*([np.zeros(0)] * 3))

    def where_bad(i: int) -> int:
        if (at[i] >= 0).any():
            return int(at[i][at[i] >= 0].min())
        return int(steps[i][np.argmax((np.asarray(metrics["diverged"][i]) == 1) | ~np.isfinite(ev[i]))])

    return {
        "seeds": int(ev.shape[0]),
        "steps": int(steps.max()),
        "evaluations": int(ev.shape[1]),
        "final": aggregate(scores.final),
        "best_excl_step0": aggregate(scores.best),
        "auc": aggregate(scores.auc),
        "per_seed": {"seed": seeds[~bad].tolist(), **{k: np.round(v, 6).tolist() for k, v in scores._asdict().items()}},
        "diverged": [{"seed": int(seeds[i]), "step": where_bad(i)} for i in np.flatnonzero(bad)],
    }


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_learning_curves(curves: Sequence[tuple[str, Mapping[str, np.ndarray]]], path: Path, title: str,
                         metric: str = "eval_return", ylabel: str = "evaluation return") -> None:
    """Per configuration: median and IQR band of a metric (the evaluation return by default) over non-diverged
    seeds, against environment steps (diverged learners are counted in the legend, not drawn)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, metrics in curves:
        ev = np.asarray(metrics[metric], dtype=float)
        bad = diverged_mask(metrics)
        steps = np.asarray(metrics["step"])[0]
        ok = ev[~bad]
        note = f", {int(bad.sum())} diverged" if bad.any() else ""
        if ok.size:
            q25, med, q75 = np.nanpercentile(ok, [25, 50, 75], axis=0)
            line, = ax.plot(steps, med, label=f"{label} (median of {ok.shape[0]}{note})")
            ax.fill_between(steps, q25, q75, alpha=0.25, color=line.get_color())
        else:
            ax.plot([], [], " ", label=f"{label}: all {ev.shape[0]} diverged")
    ax.set_xlabel("environment steps per seed")
    ax.set_ylabel(f"{ylabel} (median, IQR band)")
    ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_final_vs(name: str, series: Mapping[str, Sequence[tuple[float, dict[str, Any]]]], path: Path) -> None:
    """Median over seeds of the final evaluation return (mean of the last 10% of evaluations; IQR error bars) against one swept hyperparameter; one series per
    combination of the other swept values."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, points in series.items():
        pts = sorted((x, st) for x, st in points if st["median"] is not None)
        if not pts:
            continue
        x = np.asarray([p[0] for p in pts])
        med = np.asarray([p[1]["median"] for p in pts])
        err = np.asarray([[p[1]["median"] - p[1]["q25"], p[1]["q75"] - p[1]["median"]] for p in pts]).T
        ax.errorbar(x, med, yerr=err, marker="o", capsize=3, label=label or None)
    ax.set_xlabel(name)
    ax.set_ylabel("final evaluation return\n(last 10% of evaluations; median, IQR)")
    if any(series):
        ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")
