"""RTRRL at scale: hidden size N in {8, 16, 32, 64, 128, 256}, RFLO and exact RTRL, MemoryChain-32 and CartPole
with positions only.

The open question of the RTRRL paper's summary (source document 004, open question 1): the paper trains 32
neurons only; does RTRRL get better, or worse, with more? Every cell is RTRRL with the paper's defaults but N,
16 seeds, vmapped. Budgets: MemoryChain-32 as in Table 2 (1M steps RFLO, 500k RTRL); CartPole positions-only
1M steps RFLO (Table 2 runs N = 32 for 10M: that budget times six sizes does not fit this CPU), 500k RTRL as in
Table 2. Cells equal to Table 2's (same task, budget and N = 32) are reused from benchmarks/results/rtrrl_table/.
Exact RTRL costs O(N^4) a step (N = 64: 16x N = 32's ~47k seed-steps/s, i.e. ~3k; 16 seeds x 500k steps would
take ~45 min), so it runs N <= 32 only.

Per seed: final = mean of the last 10% of the evaluations, best = best excluding step 0. Per task and rule, the
dependence on N is tested with Spearman's rank correlation between N and the per-seed final (seeds as the unit).

    python benchmarks/rtrrl_scale.py                 # every size
    python benchmarks/rtrrl_scale.py --sizes 8 16 32 64 128
    python benchmarks/rtrrl_scale.py --quick         # 2 seeds x 20k steps, N in {8, 16}: a pipeline check
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from dynjax import startup

startup.enable()  # before gymnax's import starts JAX: `dynjax train`'s devices, lowering, XLA options

import numpy as np

from common import median_iqr_errorbar, pyplot, save_figure, slug, write_table
from rtrrl_table import RESULTS, TASKS, table_cell
from dynjax.results.stats import format_p, format_stats

SIZES = (8, 16, 32, 64, 128, 256)
DEFAULT_N = 32  # the paper's
RTRL_MAX_N = 32
STUDY_TASKS = ("MemoryChain-32", "CartPole, positions only")
BUDGETS = {("MemoryChain-32", "RTRRL-RFLO"): 1_000_000, ("MemoryChain-32", "RTRRL-RTRL"): 500_000,
           ("CartPole, positions only", "RTRRL-RFLO"): 1_000_000, ("CartPole, positions only", "RTRRL-RTRL"): 500_000}


def cell(task: str, algo: str, n: int, seeds: int, steps: int, root: Path, table_root: Path) -> dict:
    eval_every = max(min(steps // 20, 100_000), 1_000)
    table_steps = TASKS[task][2] if algo == "RTRRL-RTRL" else TASKS[task][1]
    if n == DEFAULT_N and steps == table_steps:
        return table_cell(task, algo, seeds, steps, eval_every, table_root)
    return table_cell(task, algo, seeds, steps, eval_every, root, name=f"{slug(task)}--{slug(algo)}--n{n}",
                      config={"hidden_size": n})


def main() -> None:
    from scipy.stats import spearmanr

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    ap.add_argument("--quick", action="store_true", help="2 seeds, 20k steps, N in {8, 16}: a pipeline check")
    ap.add_argument("--out", type=Path, default=None, help="results folder (its table is <out>.md)")
    args = ap.parse_args()
    root = args.out or RESULTS / ("rtrrl_scale_quick" if args.quick else "rtrrl_scale")
    table_root = root / "table_cells" if args.quick else RESULTS / "rtrrl_table"
    seeds = 2 if args.quick else args.seeds
    sizes = [8, 16] if args.quick else sorted(args.sizes)
    t0 = time.time()
    cells = {}
    for task in STUDY_TASKS:
        for algo in ("RTRRL-RFLO", "RTRRL-RTRL"):
            for n in sizes:
                if algo == "RTRRL-RTRL" and n > RTRL_MAX_N:
                    continue
                steps = 20_000 if args.quick else BUDGETS[task, algo]
                t1 = time.time()
                s = cell(task, algo, n, seeds, steps, root, table_root)
                cells[task, algo, n] = (steps, s, time.time() - t1)
                print(f"{task:26s} {algo:11s} N={n:<4d} final {format_stats(s['final'])}", flush=True)

    lines = [
        "# RTRRL: performance against the hidden size N" + (" (quick pipeline check, not a result)"
                                                            if args.quick else ""),
        "",
        f"RTRRL with the paper's defaults but N, {seeds} seeds per cell (vmapped); N = 32 cells on Table 2's budget "
        "are the Table 2 cells. Final = mean of the last 10% of the evaluations, best = best excluding step 0; each: "
        "IQM (95% bootstrap CI) · median [q25, q75] over the seeds. Exact RTRL stops at N = 32 (its O(N^4) step). "
        "benchmarks/rtrrl_scale.py.",
        "",
        "| task | rule | N | steps/seed | final | best (excl. step 0) | diverged |",
        "|---|---|---|---|---|---|---|",
    ]
    for (task, algo, n), (steps, s, _) in cells.items():
        lines.append(f"| {task} | {algo} | {n} | {steps:,} | {format_stats(s['final'])} | "
                     f"{format_stats(s['best_excl_step0'])} | {len(s['diverged'])} |")
    lines += ["", "| task | rule | sizes | Spearman(N, final) over seeds | Spearman(N, best) over seeds |",
              "|---|---|---|---|---|"]
    for task in STUDY_TASKS:
        for algo in ("RTRRL-RFLO", "RTRRL-RTRL"):
            ns = [n for (t, a, n) in cells if t == task and a == algo]
            tests = []
            for score in ("final", "best"):
                x, y = [], []
                for n in ns:
                    v = np.asarray(cells[task, algo, n][1]["per_seed"][score], float)
                    x += [n] * int(np.isfinite(v).sum())
                    y += list(v[np.isfinite(v)])
                r = spearmanr(x, y) if len(ns) > 1 and len(set(y)) > 1 else None
                tests.append("n/a" if r is None else f"rho = {r.statistic:+.2f}, p = {format_p(r.pvalue)}")
            lines.append(f"| {task} | {algo} | {', '.join(map(str, ns))} | {tests[0]} | {tests[1]} |")
    lines += ["", f"Wall time of this invocation: {time.time() - t0:.0f} s (cells already finished are reused)."]
    plot(cells, root / "performance_vs_n.png")
    write_table(root, lines)


def plot(cells: dict, path: Path) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, len(STUDY_TASKS), figsize=(12, 4.2))
    for ax, task in zip(axes, STUDY_TASKS):
        for algo in ("RTRRL-RFLO", "RTRRL-RTRL"):
            ns = sorted(n for (t, a, n) in cells if t == task and a == algo)
            if ns:
                median_iqr_errorbar(ax, ns, [cells[task, algo, n][1]["final"] for n in ns], algo)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("hidden size N")
        ax.set_title(task, fontsize=10)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("final evaluation return (median, IQR)")
    save_figure(fig, path)


if __name__ == "__main__":
    main()
