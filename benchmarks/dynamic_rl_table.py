"""Dynamic RL vs conventional BPTT RL on sequential navigation and slider-crank, with ablations and an output swap.

Shibata (2025, arXiv 2502.10200) claims that Dynamic RL (a chaotic MTRNN actor trained through sensitivity:
SAL + TD-error-driven SRL, no BPTT, no exploration noise) reaches comparable or better success than the same
actor trained by BPTT with exploration noise, recovers faster when the two action channels are swapped
mid-training, over-converges without SAL, and needs the chaotic start (spectral radius 3.0 vs 1.5). This script
runs, per task, S seeds (vmapped, one program per agent) of:

    Dynamic RL               dynjax train dynamic-rl (defaults: 200 + 100 neurons, radius 3.0, SAL on)
    Dynamic RL, no SAL       --no-sal
    Dynamic RL, radius 1.5   --radius 1.5
    PPO-MTRNN (BPTT)         dynjax train ppo-rnn --preset dynamic-rl (the same MTRNN, linear heads, Gaussian noise)

and, for the output swap (on the tasks in --swap-tasks, slider-crank by default: the swap needs a learned
skill to disrupt), Dynamic RL and PPO-MTRNN with twice the budget and hparams.swap_at at its middle. The
ablations run on --ablation-tasks (slider-crank by default, where Dynamic RL learns within the budget).

Reported (benchmarks/results/dynamic_rl_table.md, figures in benchmarks/results/dynamic_rl/):
success rate at the end (share of 10 deterministic / sampled evaluation episodes that complete the task;
median [IQR] over seeds), the steps until the first evaluation with any success and with >= 50% success,
the recovery after the swap (steps after swap_at until the evaluation success is back to 80% of its mean over
the last two pre-swap evaluations; seeds with no pre-swap success are not counted), the exploration exponent
and the fraction of saturated outputs over training (plots), and the throughput of Dynamic RL's 300-neuron
actor in seed-steps/s beside RTRRL (32-unit CT-RNN, RFLO) and PPO-MTRNN.

    python benchmarks/dynamic_rl_table.py                 # 16 seeds x 128k steps per cell (swap: 256k)
    python benchmarks/dynamic_rl_table.py --quick --tasks slider-crank   # tiny nets, 2 seeds: pipeline check only
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import jax
import numpy as np

from common import quartiles, run_cell, slug
from dynjax.agents import ALGORITHMS
from dynjax.results import diverged_mask, plot_learning_curves, read_metrics
from dynjax.sweep import resolve, spec_from_dict

RESULTS = Path(__file__).resolve().parent / "results"
TASKS = ("slider-crank", "seq-nav")
AGENTS = {  # label -> (algorithm, preset, config fields, hparams)
    "Dynamic RL": ("dynamic-rl", None, {"exponent_segments": 50}, {}),
    "Dynamic RL, no SAL": ("dynamic-rl", None, {"sal": False, "exponent_segments": 50}, {}),
    "Dynamic RL, radius 1.5": ("dynamic-rl", None, {"exponent_segments": 50}, {"radius": 1.5}),
    "PPO-MTRNN (BPTT)": ("ppo-rnn", "dynamic-rl", {}, {}),
}
SWAP_AGENTS = ("Dynamic RL", "PPO-MTRNN (BPTT)")
ABLATIONS = ("Dynamic RL, no SAL", "Dynamic RL, radius 1.5")
# --quick: small networks and short exponent runs, so the pipeline check compiles and runs in seconds
QUICK_FIELDS = {"dynamic-rl": dict(n_lower=12, n_upper=6, critic_hidden=8, exponent_segments=5),
                "ppo-rnn": dict(hidden_size=18), "rtrrl": {}}


def budget(algo: str, steps: int, n_evals: int) -> tuple[int, int]:
    """(total_steps, eval_every) rounded to the algorithm's unit (critic window 32, PPO update 1,024 steps)."""
    unit = 32 if algo == "dynamic-rl" else 1024
    every = max(unit, round(steps / n_evals / unit) * unit)
    return every * n_evals, every


def cell(task: str, label: str, seeds: int, steps: int, n_evals: int, root: Path, quick: bool,
         swap: bool = False) -> dict:
    algo, preset, fields, hparams = AGENTS[label]
    total, every = budget(algo, steps, n_evals)
    config = dict(fields, **(QUICK_FIELDS[algo] if quick else {}), env_id=task,
                  total_steps=2 * total if swap else total, eval_every=every)
    hp = dict(hparams, swap_at=total) if swap else dict(hparams)
    spec = spec_from_dict({"algo": algo, "preset": preset, "seeds": seeds, "config": config, "hparams": hp})
    out = root / f"{slug(task)}--{slug(label)}{'--swap' if swap else ''}"
    t0 = time.perf_counter()
    run_cell(spec, out)
    m = read_metrics(out / "metrics.csv")
    bad = diverged_mask(m)
    return {"metrics": m, "ok": {k: (v[~bad] if np.ndim(v) == 2 else v) for k, v in m.items()}, "diverged": int(bad.sum()),
            "swap_at": total if swap else None, "wall_s": time.perf_counter() - t0}


def first_step(success: np.ndarray, steps: np.ndarray, level: float) -> np.ndarray:
    """Per seed: the first evaluation step with success >= level (> 0 for level 0); nan if never."""
    hit = success > 0 if level == 0 else success >= level
    return np.where(hit.any(axis=1), steps[np.argmax(hit, axis=1)], np.nan)


def recovery(success: np.ndarray, steps: np.ndarray, swap_at: int) -> tuple[np.ndarray, int]:
    """Steps after swap_at until success >= 0.8 x its mean over the last two evaluations before the swap
    (nan: not within the budget). Returns the values and how many seeds had pre-swap success to recover."""
    before = (steps > 0) & (steps <= swap_at)
    pre = success[:, before][:, -2:].mean(axis=1)
    after = steps > swap_at
    out = np.full(len(success), np.nan)
    for i in np.flatnonzero(pre > 0):
        hit = success[i, after] >= 0.8 * pre[i]
        if hit.any():
            out[i] = steps[after][np.argmax(hit)] - swap_at
    return out, int((pre > 0).sum())


def throughput(seeds: int, steps: int, quick: bool) -> list[str]:
    """Steady-state seed-steps/s of one segment (compile excluded) for Dynamic RL, RTRRL and PPO-MTRNN."""
    rows = []
    for name, algo, preset, config in [
        ("Dynamic RL (MTRNN 200+100, BPTT critic 64)", "dynamic-rl", None, {"env_id": "seq-nav"}),
        ("RTRRL (CT-RNN 32, RFLO)", "rtrrl", None, {"env_id": "CartPole-v1"}),
        ("PPO-MTRNN (300, BPTT, 8 envs x 128)", "ppo-rnn", "dynamic-rl", {"env_id": "seq-nav"}),
    ][:1 if quick else 3]:
        config = config | (QUICK_FIELDS[algo] if quick else {})
        program = resolve(spec_from_dict({"algo": algo, "preset": preset, "seeds": seeds, "config": config}))[0]
        unit = 1024 if algo == "ppo-rnn" else 32
        every = max(unit, steps // unit * unit)
        cfg = dataclasses.replace(program.config, eval_every=every, total_steps=every)
        with jax.enable_x64(getattr(cfg, "uses_float64", False)):
            learner = ALGORITHMS[algo].make_learner(cfg)
            keys = jax.random.split(jax.random.key(0), seeds)
            state = jax.jit(jax.vmap(learner.init))(keys)
            seg = jax.jit(jax.vmap(lambda s: learner.segment(s)[0]))
            ev = jax.jit(jax.vmap(learner.evaluate))
            jax.block_until_ready(ev(state))
            t_eval = min(_timed(lambda: ev(state)) for _ in range(2))
            state = seg(state)  # compile
            jax.block_until_ready(state)
            t = min(_timed(lambda: seg(state)) for _ in range(2))
        rate = seeds * every / max(t - t_eval, 1e-9)
        rows.append(f"| {name} | {seeds} | {every:,} | {rate:,.0f} |")
    return rows


def _timed(f) -> float:
    t0 = time.perf_counter()
    jax.block_until_ready(f())
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--steps", type=int, default=128_000, help="budget per cell (the swap cells get twice this)")
    ap.add_argument("--evals", type=int, default=8, help="evaluation points per budget")
    ap.add_argument("--swap-steps", type=int, default=None,
                    help="steps before the swap (and after it) in the swap cells; default --steps")
    ap.add_argument("--tasks", nargs="*", default=list(TASKS), choices=list(TASKS))
    ap.add_argument("--swap-tasks", nargs="*", default=["slider-crank"], choices=list(TASKS))
    ap.add_argument("--ablation-tasks", nargs="*", default=["slider-crank"], choices=list(TASKS),
                    help="tasks on which the no-SAL and radius-1.5 ablations run")
    ap.add_argument("--agents", nargs="*", default=None, choices=list(AGENTS), help="subset of agents")
    ap.add_argument("--swap-agents", nargs="*", default=list(SWAP_AGENTS), choices=list(SWAP_AGENTS))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    seeds, steps, n_evals = (2, 2_048, 2) if args.quick else (args.seeds, args.steps, args.evals)
    agents = args.agents or (["Dynamic RL"] if args.quick else list(AGENTS))
    root = args.out or RESULTS / ("dynamic_rl_quick" if args.quick else "dynamic_rl")
    t0 = time.time()
    table = ["| task | agent | success at end | first success (steps) | >= 50% success (steps) | reached 50% "
             "| final return | diverged |", "|---|---|---|---|---|---|---|---|"]
    swap_table = ["| task | agent | success before swap | success at end | recovery to 80% (steps) | recovered "
                  "| diverged |", "|---|---|---|---|---|---|---|"]
    figures = []
    for task in args.tasks:
        curves = []
        for label in [a for a in agents if a not in ABLATIONS or task in args.ablation_tasks]:
            c = cell(task, label, seeds, steps, n_evals, root, args.quick)
            ok, steps_ax = c["ok"], np.asarray(c["metrics"]["step"])[0]
            success = np.asarray(ok["eval_success"], float)
            first, half = first_step(success, steps_ax, 0), first_step(success, steps_ax, 0.5)
            table.append(f"| {task} | {label} | {quartiles(success[:, -1], '.2f')} | {quartiles(first, '.3g')} | "
                         f"{quartiles(half, '.3g')} | {int(np.isfinite(half).sum())}/{len(half)} | "
                         f"{quartiles(np.asarray(ok['eval_return'])[:, -1])} | {c['diverged']} |")
            curves.append((label, c["metrics"]))
        swaps = []
        for label in [a for a in args.swap_agents if a in agents] if task in args.swap_tasks else ():
            c = cell(task, label, seeds, args.swap_steps or steps, n_evals, root, args.quick, swap=True)
            ok, steps_ax = c["ok"], np.asarray(c["metrics"]["step"])[0]
            success = np.asarray(ok["eval_success"], float)
            rec, n_pre = recovery(success, steps_ax, c["swap_at"])
            pre = success[:, (steps_ax > 0) & (steps_ax <= c["swap_at"])][:, -2:].mean(axis=1)
            swap_table.append(f"| {task} | {label} | {quartiles(pre, '.2f')} | {quartiles(success[:, -1], '.2f')} | "
                              f"{quartiles(rec, '.3g')} | {int(np.isfinite(rec).sum())}/{n_pre} | {c['diverged']} |")
            swaps.append((label, c["metrics"]))
        name = slug(task)
        plot_learning_curves(curves, root / f"{name}-success.png", f"{task}: success rate ({seeds} seeds)",
                             metric="eval_success", ylabel="evaluation success rate")
        if swaps:
            plot_learning_curves(swaps, root / f"{name}-swap.png", f"{task}: output channels swapped at the middle",
                                 metric="eval_success", ylabel="evaluation success rate")
        drl = [(lbl, m) for lbl, m in curves if lbl.startswith("Dynamic RL")]
        plot_learning_curves(drl, root / f"{name}-exponent.png", f"{task}: exploration exponent (closed loop)",
                             metric="exploration_exponent", ylabel="exploration exponent (per step)")
        plot_learning_curves(drl, root / f"{name}-saturation.png", f"{task}: saturated outputs (|o| > 0.95)",
                             metric="saturated_outputs", ylabel="fraction of saturated outputs")
        figures += [f"![{task} {kind}]({root.name}/{name}-{kind}.png)"
                    for kind in ("success", "swap", "exponent", "saturation") if kind != "swap" or swaps]
    swap_steps = args.swap_steps or steps
    budget_note = (f"{seeds} seeds per cell, about {steps:,} environment steps per seed ({n_evals} evaluations of "
                   "10 episodes; Dynamic RL acts deterministically, PPO samples); swap cells: about "
                   f"{swap_steps:,} steps before the swap and as many after it.")
    lines = ["# Dynamic RL vs BPTT on the MTRNN actor" + (" (quick pipeline check, not a result)" if args.quick else ""),
             "", budget_note, "", "## Success", "", *table, "", "## Output swap", "",
             *(swap_table if len(swap_table) > 2 else ["Not run in this invocation (--swap-tasks / --swap-agents)."]), "",
             "## Throughput (this machine, steady state, evaluation excluded)", "",
             "| agent | seeds | steps per segment | seed-steps/s |", "|---|---|---|---|",
             *throughput(seeds, 2_048 if args.quick else 8_192, args.quick), "", "## Figures", "", *figures, "",
             f"Wall time of this invocation: {time.time() - t0:.0f} s (finished cells are reused)."]
    md = root.parent / f"{root.name.replace('dynamic_rl', 'dynamic_rl_table')}.md"
    md.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
