"""Dynamic RL trained in float32 against float64: the same learning curves within seed noise?

Issue 19 moved Dynamic RL's learning to float32 (dynjax.agents.dynamic_rl, `train_dtype`; the exploration
exponent's probe stays float64). This script runs the table's "Dynamic RL" cell (benchmarks/dynamic_rl_table.py:
200 + 100 MTRNN, radius 3.0, SAL on, BPTT critic) on both tasks in both precisions, S seeds each (the same seeds),
and compares, seeds as the unit, final success, final and best return, return AUC and the final exploration
exponent: two-sided Mann-Whitney U test and P(float32 > float64). The float64 cells of the committed table
(trained before issue 19, by the previous code) are a third arm where they exist. Per-seed results of each
cell are kept in benchmarks/results/dynamic_rl_precision/ (finished cells are reused).

    python benchmarks/dynamic_rl_precision.py                  # 16 seeds x 128k steps per cell
    python benchmarks/dynamic_rl_precision.py --quick          # tiny nets, 2 seeds: pipeline check only
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from dynjax import startup

startup.enable()  # before gymnax's import starts JAX: `dynjax train`'s devices, lowering, XLA options

from common import slug
from dynamic_rl_table import AGENTS, RESULTS, TASKS, cell, comparison, measures, stats, table
from dynjax.results.metrics import diverged_mask, plot_learning_curves, read_metrics

MEASURES = ("final success", "final return", "best return", "return AUC", "final exponent")
ARMS = ("float32", "float64")


def committed(task: str) -> dict | None:
    """The committed table's Dynamic RL cell (float64, the code before issue 19), as `cell` returns it."""
    d = RESULTS / "dynamic_rl" / f"{slug(task)}--dynamic-rl"
    if not (d / "metrics.csv").exists():
        return None
    m = read_metrics(d / "metrics.csv")
    bad = diverged_mask(m)
    return {"metrics": m, "ok": {k: (v[~bad] if np.ndim(v) == 2 else v) for k, v in m.items()},
            "diverged": int(bad.sum()), "swap_at": None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--steps", type=int, default=128_000)
    ap.add_argument("--evals", type=int, default=8)
    ap.add_argument("--tasks", nargs="*", default=list(TASKS), choices=list(TASKS))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    seeds, steps, n_evals = (2, 2_048, 2) if args.quick else (args.seeds, args.steps, args.evals)
    root = args.out or RESULTS / ("dynamic_rl_precision_quick" if args.quick else "dynamic_rl_precision")
    algo, preset, fields, hparams = AGENTS["Dynamic RL"]
    rows = ["| task | training | final success | final return | best return (excl. step 0) | return AUC | "
            "final exploration exponent | diverged | wall s |", "|---|---|---|---|---|---|---|---|---|"]
    comparisons = ["| task | A vs B | measure | seeds | p (U test) | P(A > B) | verdict (p < 0.05) |",
                   "|---|---|---|---|---|---|---|"]
    figures = []
    for task in args.tasks:
        cells = {}
        for dtype in ARMS:
            agent = (algo, preset, dict(fields, train_dtype=dtype), hparams)
            cells[dtype] = cell(task, f"Dynamic RL {dtype}", seeds, steps, n_evals, root, args.quick, agent=agent)
        old = None if args.quick else committed(task)
        if old is not None:
            cells["float64, before issue 19"] = old
        scores = {k: measures(c) for k, c in cells.items()}
        for k, c in cells.items():
            wall = f"{c['wall_s']:.0f}" if "wall_s" in c else "(committed)"
            rows.append(f"| {task} | {k} | {stats(scores[k]['final success'], '.2f')} | "
                        + " | ".join(stats(scores[k][m]) for m in MEASURES[1:]) + f" | {c['diverged']} | {wall} |")
        comparisons += [comparison(task, "float32", other, m, scores["float32"][m], scores[other][m])
                        for other in scores if other != "float32" for m in MEASURES]
        name = slug(task)
        curves = [(f"Dynamic RL, {k}", c["metrics"]) for k, c in cells.items()]
        plot_learning_curves(curves, root / f"{name}-success.png", f"{task}: float32 vs float64 training ({seeds} seeds)",
                             metric="eval_success", ylabel="evaluation success rate")
        figures.append(f"![{task}]({root.name}/{name}-success.png)")
    lines = [f"# Dynamic RL: float32 vs float64 training{' (quick pipeline check, not a result)' if args.quick else ''}",
             "", f"{seeds} seeds per cell (the same seeds in every arm), about {steps:,} environment steps per seed, "
             f"{n_evals} evaluations after step 0 (the table's Dynamic RL cell: benchmarks/dynamic_rl_table.py). The "
             "exploration exponent is measured in float64 in every arm. Cells: IQM (95% bootstrap CI) · median "
             "[q25, q75] over the seeds that did not diverge; final = mean of the last 10% of the evaluations after "
             "step 0, best excludes step 0, AUC = mean over training. Wall: the cell's training and evaluation on "
             "this machine (compile included; 0 when the cell was reused).", "",
             *table(rows), "", "Seeds as the unit: two-sided Mann-Whitney U test (uncorrected) and P(A > B); the "
             "verdict names a difference only where p < 0.05.", "", *table(comparisons), "", *figures, ""]
    md = root.parent / f"{root.name}.md"
    md.write_text("\n".join(lines) + "\n")
    print(f"wrote {md}")


if __name__ == "__main__":
    main()
