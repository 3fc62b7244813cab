"""RTRRL appendix Table 2 rows on this machine: RTRRL-RFLO, RTRRL-RTRL, linear TD(lambda) and PPO with BPTT.

The PPO column trains the same 32-unit CT-RNN with linear heads and the same Meta-RL input (`ppo-rnn --preset
rtrrl`) by BPTT at the RFLO column's budgets (8 envs x 125 steps per update, so every budget is a whole number
of updates), so the comparison isolates the learning rule.

Every (task, algorithm) cell is one `dynjax train` run (seeds vmapped in one program) whose run directory
(config, per-seed metrics, summary, learning curve) is kept under benchmarks/results/rtrrl_table/. A cell
whose metrics.csv already holds every seed's last evaluation is not run again, so an interrupted benchmark
resumes and a fresh checkout regenerates the table from the committed per-seed results. The table reports,
per seed, the final performance (mean of the last 10% of evaluations), the best evaluation excluding step 0
and the area under the learning curve, as IQM (95% bootstrap CI) and median [IQR] over seeds, with the
paper's numbers (median of best over 5 runs, budgets up to 50M steps with early stopping) beside ours, and
tests the paper's ordering of the algorithms on each task with seeds as the unit.

    python benchmarks/rtrrl_table.py              # budgets below, 5 seeds (about 45 minutes on 2 CPU cores)
    python benchmarks/rtrrl_table.py --quick      # 2 seeds, tiny budgets: checks the pipeline only
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from dynjax import startup

startup.enable()  # before gymnax's import starts JAX: `dynjax train`'s devices, lowering, XLA options

from common import run_cell, slug
from dynjax.results.stats import compare, format_p, format_stats
from dynjax.sweep import spec_from_dict

RESULTS = Path(__file__).resolve().parent / "results"

# task -> (config fields, steps per seed for RFLO / linear, steps per seed for exact RTRL)
TASKS = {
    "CartPole, velocities only": (dict(env_id="CartPole-v1", obs_mask="odd"), 1_000_000, 300_000),
    "CartPole, positions only": (dict(env_id="CartPole-v1", obs_mask="even"), 10_000_000, 300_000),
    "MemoryChain-4": (dict(env_id="MemoryChain-bsuite", env_args=(("memory_length", "4"),), obs_mask=None), 300_000, 300_000),
    "MemoryChain-8": (dict(env_id="MemoryChain-bsuite", env_args=(("memory_length", "8"),), obs_mask=None), 300_000, 300_000),
    "MemoryChain-16": (dict(env_id="MemoryChain-bsuite", env_args=(("memory_length", "16"),), obs_mask=None), 500_000, 300_000),
    "MountainCarContinuous": (dict(env_id="MountainCarContinuous-v0", obs_mask=None), 1_000_000, 300_000),
}
ALGOS = {"RTRRL-RFLO": "rflo", "RTRRL-RTRL": "rtrl", "linear TD(lambda)": "linear", "PPO CT-RNN (BPTT)": "ppo"}
PPO = dict(num_envs=8, num_steps=125, num_minibatches=4)
# The paper's appendix Table 2 (median of best evaluation over 5 runs, 32 neurons): reference, not our result.
PAPER = {
    "CartPole, velocities only": {"linear TD(lambda)": 454.6, "RTRRL-RTRL": 500, "RTRRL-RFLO": 500,
                                  "PPO CT-RNN (BPTT)": 112.1},
    "CartPole, positions only": {"linear TD(lambda)": 57.5, "RTRRL-RTRL": 178.6, "RTRRL-RFLO": 500,
                                 "PPO CT-RNN (BPTT)": 70.8},
    "MemoryChain-4": {"linear TD(lambda)": 0.07, "RTRRL-RTRL": 1.00, "RTRRL-RFLO": 1.00, "PPO CT-RNN (BPTT)": 1.00},
    "MemoryChain-8": {"linear TD(lambda)": 0.07, "RTRRL-RTRL": 0.90, "RTRRL-RFLO": 1.00, "PPO CT-RNN (BPTT)": 1.00},
    "MemoryChain-16": {"linear TD(lambda)": 0.12, "RTRRL-RTRL": 0.61, "RTRRL-RFLO": 1.00, "PPO CT-RNN (BPTT)": 1.00},
    "MountainCarContinuous": {"linear TD(lambda)": -30.0, "RTRRL-RTRL": -40.0, "RTRRL-RFLO": -0.03,
                              "PPO CT-RNN (BPTT)": -1104.7},
}


def table_cell(task: str, algo: str, seeds: int, steps: int, eval_every: int, root: Path) -> dict:
    """One table cell as a `dynjax` sweep of one configuration; a finished or interrupted cell with the same
    spec is reused / resumed by the sweep runner, a cell from another budget is removed first."""
    fields, _, _ = TASKS[task]
    fields = dict(fields)
    env_args = dict(fields.pop("env_args", ()))
    rule = ALGOS[algo]
    config = fields | {"total_steps": steps, "eval_every": eval_every}
    if rule == "ppo":
        spec = {"algo": "ppo-rnn", "preset": "rtrrl", "config": config | PPO}
    elif rule == "linear":
        spec = {"algo": "linear-td", "config": config}
    else:
        spec = {"algo": "rtrrl", "config": config | {"rule": rule}}
    spec = spec_from_dict(spec | {"seeds": seeds, "env_args": env_args})
    return run_cell(spec, root / f"{slug(task)}--{slug(algo)}")


def paper_order(task: str, a: str, b: str) -> str:
    """The paper's ordering of two algorithms on a task, from its Table 2 (best evaluation)."""
    pa, pb = PAPER[task][a], PAPER[task][b]
    return f"{a} > {b}" if pa > pb else f"{a} < {b}" if pa < pb else f"{a} = {b}"


def verdict(task: str, a: str, b: str, sa: dict, sb: dict, score: str) -> tuple[str, str]:
    """(our result with its test, whether the paper's ordering holds) for one pair, on one per-seed score."""
    c = compare(sa["per_seed"][score], sb["per_seed"][score])
    ours = c.verdict(a, b)
    paper = paper_order(task, a, b)
    if " ~ " in ours or "=" in paper:
        holds = "not resolved" if "=" not in paper else ("holds" if " ~ " in ours else "does not hold")
    else:
        holds = "holds" if ours == paper else "reversed"
    return f"{ours} (p = {format_p(c.p_value)}, P(>) = {c.prob_improvement:.2f})", holds


COMPARED = [("RTRRL-RFLO", "linear TD(lambda)"), ("RTRRL-RFLO", "PPO CT-RNN (BPTT)"), ("RTRRL-RFLO", "RTRRL-RTRL")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="2 seeds, 20k steps: a pipeline check, not a result")
    ap.add_argument("--tasks", nargs="*", default=list(TASKS), help="subset of task names")
    ap.add_argument("--algos", nargs="*", default=list(ALGOS), help="subset of algorithm names")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    root = args.out or (RESULTS / ("rtrrl_table_quick" if args.quick else "rtrrl_table"))
    seeds = 2 if args.quick else args.seeds
    cells, t0 = {}, time.time()
    for task in args.tasks:
        for algo in args.algos:
            _, steps, rtrl_steps = TASKS[task]
            steps = 20_000 if args.quick else (rtrl_steps if ALGOS[algo] == "rtrl" else steps)
            eval_every = max(min(steps // 20, 100_000), 1_000)  # the paper evaluates every 100k steps
            s = table_cell(task, algo, seeds, steps, eval_every, root)
            cells[task, algo] = (steps, s)
            print(f"{task:28s} {algo:18s} final {format_stats(s['final'])}  best (excl. step 0) "
                  f"{format_stats(s['best_excl_step0'])}", flush=True)
    lines = [
        "# RTRRL appendix Table 2 on a 2-core CPU" + (" (quick pipeline check, not a result)" if args.quick else ""),
        "",
        f"{seeds} seeds per cell (vmapped), N=32, paper defaults (no update clipping, see RTRRLConfig); evaluation "
        "every 5% of the budget (at most every 100k steps, the paper's cadence) on 10 episodes with sampled actions. "
        "Per seed: final = mean of the last 10% of the evaluations (the last 2 of 20), best = best evaluation "
        "excluding the untrained step 0 (what the paper reports), AUC = mean evaluation return over training. Each "
        "cell: IQM (95% bootstrap CI) · median [q25, q75] over the seeds; diverged seeds are excluded and counted. "
        "Paper: median of best over 5 runs, budgets up to 50M steps with early stopping. "
        "PPO CT-RNN (BPTT): `ppo-rnn --preset rtrrl` (the same 32-unit CT-RNN, linear heads and Meta-RL input), "
        "8 envs x 125 steps per update, PureJaxRL's PPO settings otherwise (4 epochs x 4 minibatches, lr 2.5e-4 "
        "annealed, GAE 0.95, clip 0.2, entropy 0.01).",
        "",
        "| task | algorithm | steps/seed | final | best (excl. step 0) | AUC | diverged | paper best |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (task, algo), (steps, s) in cells.items():
        lines.append(f"| {task} | {algo} | {steps:,} | {format_stats(s['final'])} | "
                     f"{format_stats(s['best_excl_step0'])} | {format_stats(s['auc'])} | {len(s['diverged'])} | "
                     f"{PAPER[task][algo]} |")
    lines += ["", "The paper's ordering of RTRRL-RFLO against each other column (from its best evaluations), tested on "
              "ours with seeds as the unit: two-sided Mann-Whitney U test at 0.05 on the per-seed final and best "
              "(excl. step 0) scores; P(>) = probability that a seed of the first beats one of the second; 'reversed' means the opposite ordering is significant, 'not resolved' that "
              f"the test finds no difference at this number of seeds ({seeds} per column: the smallest "
              "possible p is 0.0079 with 5 vs 5). Budgets differ between columns where the steps differ (exact "
              "RTRL runs 300k steps).", "",
              "| task | paper | ours on final | holds (final) | ours on best (excl. step 0) | holds (best) |",
              "|---|---|---|---|---|---|"]
    for task in args.tasks:
        for a, b in COMPARED:
            if (task, a) not in cells or (task, b) not in cells:
                continue
            sa, sb = cells[task, a][1], cells[task, b][1]
            final, holds_final = verdict(task, a, b, sa, sb, "final")
            best, holds_best = verdict(task, a, b, sa, sb, "best")
            lines.append(f"| {task} | {paper_order(task, a, b)} | {final} | {holds_final} | {best} | {holds_best} |")
    lines += ["", f"Wall time of this invocation: {time.time() - t0:.0f} s (cells already finished are reused)."]
    out_md = root.parent / (root.name + ".md")
    out_md.write_text("\n".join(lines) + "\n")
    print(f"wrote {out_md}")


if __name__ == "__main__":
    main()
