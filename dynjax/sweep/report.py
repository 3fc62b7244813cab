"""The results of a sweep: summary.json, summary.md (a table per configuration) and plots.

Per configuration, over its non-diverged seeds (dynjax.results.summarize, dynjax.results.stats): the final
performance (mean of the last 10% of evaluations), the best evaluation excluding step 0 and the area under the
learning curve, each as IQM with a 95% bootstrap interval and median [IQR]; the per-seed values are kept in
summary.json. Plots:
learning curves of every configuration (median, IQR band) and, for each swept name with more than one value,
the median final return against that value.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from dynjax.results.metrics import atomic_write_text, plot_final_vs, plot_learning_curves, summarize, write_json
from dynjax.results.stats import format_stats

SCORES = ("final", "best_excl_step0", "auc")  # the per-seed scores of dynjax.results.summarize


def write_report(out: Path, metrics: Mapping[str, np.ndarray], grid: Sequence[Mapping[str, Any]],
                 timing: Mapping[str, float]) -> dict[str, Any]:
    """Summarise every configuration of `grid` from the sweep's metrics; write summary.json/.md and plots.
    `timing` (wall, chunk compute, metrics + checkpoint I/O seconds of this invocation) goes to summary.json."""
    rows, curves = [], []
    for g in grid:
        sel = np.asarray(metrics["config"]) == g["config"]
        m = {k: (v[sel] if np.ndim(v) else v) for k, v in metrics.items()}
        keep = ~np.all(np.isnan(m["eval_return"]), axis=0)  # points of this configuration's own budget
        m = {k: (v[:, keep] if np.ndim(v) == 2 else v) for k, v in m.items()}
        rows.append({"config": g["config"], "label": g["label"], "static": g["static"], "hparams": g["hparams"]}
                    | summarize(m))
        curves.append((g["label"], m))
    summary: dict[str, Any] = {"configs": rows, "timing": dict(timing)}
    if len(rows) == 1:  # a single run: its numbers at the top level too
        summary |= {k: rows[0][k] for k in SCORES + ("per_seed", "diverged", "seeds", "steps", "evaluations")}
    write_json(out / "summary.json", summary)

    lines = ["Evaluation return per seed: final = mean of the last 10% of evaluations, best = best evaluation "
             "excluding the untrained step 0, AUC = mean return over training (area under the learning curve). Each "
             "cell: IQM (95% bootstrap CI) · median [q25, q75] over the seeds that did not diverge.", "",
             "| config | seeds | final | best (excl. step 0) | AUC | diverged |", "|---|---|---|---|---|---|"]
    for r in rows:
        div = ", ".join(f"seed {d['seed']} at {d['step']}" for d in r["diverged"]) or "0"
        lines.append(f"| {r['label']} | {r['seeds']} | " + " | ".join(format_stats(r[k]) for k in SCORES) + f" | {div} |")
    atomic_write_text(out / "summary.md", "\n".join(lines) + "\n")

    plot_learning_curves(curves, out / "plots" / "learning_curve.png", out.name)
    swept = sorted({k for g in grid for k in list(g["static"]) + list(g["hparams"])})
    for name in swept:
        series: dict[str, list] = defaultdict(list)
        for g, r in zip(grid, rows):
            values = g["static"] | g["hparams"]
            x = values[name]
            if not isinstance(x, (int, float)) or isinstance(x, bool):
                break  # non-numeric axis (env id, rule): the table says it, no plot
            rest = " ".join(f"{k}={v}" for k, v in values.items() if k != name)
            series[rest].append((float(x), r["final"]))
        else:
            if len({x for pts in series.values() for x, _ in pts}) > 1:
                plot_final_vs(name, series, out / "plots" / f"final_vs_{name}.png")
    return summary
