"""RTRRL's memory against the eligibility-trace decay: MemoryChain with lambda in {0.5, 0.8, 0.95, 0.99}.

The RTRRL paper's suggested check (source document 004, "Next checks" 2): how does lambda, the decay of the
eligibility traces, set the memory length RTRRL reaches? Every cell is RTRRL-RFLO with the paper's defaults
(N = 32, lr 1e-3, feedback alignment, Meta-RL input) on bsuite's MemoryChain of length L in {4, 8, 16, 32, 64},
with the three traces (actor, critic, RNN) tied to one lambda; 16 seeds a cell, on the budgets of the Table 2
cells (benchmarks/rtrrl_table.py: 300k steps for L = 4 and 8, 1M beyond). The lambda = 0.99 cells are the Table
2 cells themselves (same seeds, same budget), reused from benchmarks/results/rtrrl_table/.

Per seed: final = mean of the last 10% of the evaluations, best = best evaluation excluding step 0. A lambda
*reaches* length L when the median final over its seeds is >= 0.9 (nine episodes in ten answered right at the
end of training); the memory length reached is the largest such L. Per L, the dependence on lambda is tested
with Spearman's rank correlation between lambda and the per-seed final (seeds as the unit, 64 per L).

    python benchmarks/rtrrl_lambda.py          # ~10 min on 2 cores (the lambda = 0.99 cells reused)
    python benchmarks/rtrrl_lambda.py --quick  # 2 seeds x 20k steps, L in {4, 8}: a pipeline check
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from dynjax import startup

startup.enable()  # before gymnax's import starts JAX: `dynjax train`'s devices, lowering, XLA options

import numpy as np

from common import median_iqr_errorbar, pyplot, save_figure, write_table
from rtrrl_table import RESULTS, TASKS, table_cell
from dynjax.results.stats import format_p, format_stats

LAMBDAS = (0.5, 0.8, 0.95, 0.99)
DEFAULT = 0.99  # the paper's (appendix Table 1): these cells are the Table 2 cells
LENGTHS = (4, 8, 16, 32, 64)
REACHED = 0.9


def cell(length: int, lam: float, seeds: int, steps: int, root: Path, table_root: Path) -> dict:
    task = f"MemoryChain-{length}"
    eval_every = max(min(steps // 20, 100_000), 1_000)
    if lam == DEFAULT:
        return table_cell(task, "RTRRL-RFLO", seeds, steps, eval_every, table_root)
    lams = {"lambda_actor": lam, "lambda_critic": lam, "lambda_rnn": lam}
    return table_cell(task, "RTRRL-RFLO", seeds, steps, eval_every, root, name=f"memorychain-{length}--lambda-{lam}",
                      hparams=lams)


def reached(medians: dict[int, float]) -> str:
    ok = [L for L, m in medians.items() if m >= REACHED]
    return str(max(ok)) if ok else "none"


def main() -> None:
    from scipy.stats import spearmanr

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--quick", action="store_true", help="2 seeds, 20k steps, L in {4, 8}: a pipeline check")
    ap.add_argument("--out", type=Path, default=None, help="results folder (its table is <out>.md)")
    args = ap.parse_args()
    root = args.out or RESULTS / ("rtrrl_lambda_quick" if args.quick else "rtrrl_lambda")
    table_root = root / "table_cells" if args.quick else RESULTS / "rtrrl_table"
    seeds = 2 if args.quick else args.seeds
    lengths = LENGTHS[:2] if args.quick else LENGTHS
    t0 = time.time()
    cells = {}
    for length in lengths:
        steps = 20_000 if args.quick else TASKS[f"MemoryChain-{length}"][1]
        for lam in LAMBDAS:
            cells[length, lam] = (steps, cell(length, lam, seeds, steps, root, table_root))
            s = cells[length, lam][1]
            print(f"MemoryChain-{length:<3d} lambda {lam:<5} final {format_stats(s['final'])}", flush=True)

    lines = [
        "# RTRRL: memory length against the trace decay lambda" + (" (quick pipeline check, not a result)"
                                                                   if args.quick else ""),
        "",
        f"RTRRL-RFLO, paper defaults with lambda_actor = lambda_critic = lambda_rnn = lambda, bsuite MemoryChain-L, "
        f"{seeds} seeds per cell (vmapped); lambda = {DEFAULT} is the Table 2 cell. Final = mean of the last 10% of "
        "the evaluations, best = best excluding step 0; each: IQM (95% bootstrap CI) · median [q25, q75] over the "
        f"seeds. Reached: median final >= {REACHED}. benchmarks/rtrrl_lambda.py.",
        "",
        "| L | steps/seed | " + " | ".join(f"lambda = {lam}: final" for lam in LAMBDAS)
        + " | Spearman(lambda, final) over seeds |",
        "|---|---|" + "---|" * (len(LAMBDAS) + 1),
    ]
    medians = {lam: {} for lam in LAMBDAS}
    for length in lengths:
        steps = cells[length, LAMBDAS[0]][0]
        row, lam_x, fin_y = [], [], []
        for lam in LAMBDAS:
            s = cells[length, lam][1]
            row.append(format_stats(s["final"]))
            medians[lam][length] = s["final"]["median"] if s["final"]["median"] is not None else float("nan")
            fin = np.asarray(s["per_seed"]["final"], float)
            lam_x += [lam] * int(np.isfinite(fin).sum())
            fin_y += list(fin[np.isfinite(fin)])
        rho = spearmanr(lam_x, fin_y) if len(set(fin_y)) > 1 else None
        test = "n/a (all equal)" if rho is None else f"rho = {rho.statistic:+.2f}, p = {format_p(rho.pvalue)}"
        lines.append(f"| {length} | {steps:,} | " + " | ".join(row) + f" | {test} |")
    lines += ["", "| lambda | memory length reached (largest L with median final >= 0.9) | best (excl. step 0), "
              "median per L |", "|---|---|---|"]
    for lam in LAMBDAS:
        bests = ", ".join(f"{L}: {cells[L, lam][1]['best_excl_step0']['median']:.2f}" for L in lengths)
        lines.append(f"| {lam} | {reached(medians[lam])} | {bests} |")
    lines += ["", f"Wall time of this invocation: {time.time() - t0:.0f} s (cells already finished are reused)."]
    plot(cells, lengths, root / "memory_vs_lambda.png")
    write_table(root, lines)


def plot(cells: dict, lengths: tuple[int, ...], path: Path) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for lam in LAMBDAS:
        median_iqr_errorbar(ax, lengths, [cells[L, lam][1]["final"] for L in lengths], f"lambda = {lam}")
    ax.axhline(REACHED, color="grey", lw=0.8, ls="--")
    ax.set_xscale("log", base=2)
    ax.set_xticks(lengths, [str(L) for L in lengths])
    ax.set_xlabel("MemoryChain length L")
    ax.set_ylabel("final evaluation return (median, IQR over seeds)")
    ax.set_title("RTRRL-RFLO: memory reached vs eligibility-trace decay")
    ax.legend(fontsize=8)
    save_figure(fig, path)


if __name__ == "__main__":
    main()
