"""One RTRRL option, dynjax beside the authors' code on the same task: the arms, their rows and their tests.

Shared by the studies of the paper's settings that dynjax does not take as defaults (benchmarks/rtrrl_clip.py:
the gradient clip; benchmarks/rtrrl_reward_norm.py: reward normalisation). A dynjax arm is a sweep cell of
RTRRL-RFLO (config fields and hyperparameters over the task's), 16 seeds vmapped, evaluated every 5% of the
budget; an authors' arm is their rtrrl.py with extra flags, one cached JSON per seed (reference_rtrrl.run).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Callable

import numpy as np

import reference_rtrrl
from common import run_cell, slug, write_table
from dynjax.results.stats import aggregate, compare, format_p, format_stats
from dynjax.sweep import spec_from_dict

RESULTS = Path(__file__).resolve().parent / "results"


def dynjax_arm(name: str, task: dict, config: dict, hparams: dict, seeds: int, steps: int, root: Path) -> dict:
    """An RTRRL cell in root/dynjax/<name>: the run_cell summary."""
    spec = spec_from_dict({"algo": "rtrrl", "seeds": seeds, "config": task | config | {
        "total_steps": steps, "eval_every": max(steps // 20, 1000)}, "hparams": hparams})
    return run_cell(spec, root / "dynjax" / slug(name))


def reference_arm(name: str, flags: list[str], seeds: int, steps: int, root: Path) -> dict:
    """The authors' code with `flags`, seeds 1..seeds (their 0 draws a random seed), cached in root/reference/."""
    runs = [reference_rtrrl.run(seed, steps, flags, root / "reference" / f"{slug(name)}-seed{seed}.json")
            for seed in range(1, seeds + 1)]
    return {"per_seed": {"best": np.array([r["best"] for r in runs]), "final": np.array([r["final"] for r in runs])},
            "wall_s": sum(r["wall_s"] for r in runs)}


def row(impl: str, arm: str, per_seed: dict, learned: float) -> str:
    """| implementation | arm | seeds | learned (best >= learned) | best | final |"""
    best, final = np.asarray(per_seed["best"], float), np.asarray(per_seed["final"], float)
    return (f"| {impl} | {arm} | {len(best)} | {int((best >= learned).sum())} | {format_stats(aggregate(best))} | "
            f"{format_stats(aggregate(final))} |")


def test_rows(impl: str, arms: dict[str, dict]) -> list[str]:
    """Every pair of arms of one implementation, on best and final: two-sided U test, seeds as the unit."""
    names = list(arms)
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            for score in ("best", "final"):
                c = compare(arms[a]["per_seed"][score], arms[b]["per_seed"][score])
                out.append(f"| {impl} | {a} vs {b} | {score} | {c.verdict(a, b)} | {format_p(c.p_value)} | "
                           f"{c.prob_improvement:.2f} |")
    return out


def main(doc: str, stem: str, title: str, setup: str, task: dict, reference_task: list[str],
         dynjax_arms: dict[str, tuple[dict, dict]], reference_arms: dict[str, list[str]], learned: float,
         extra: Callable[[bool], list[str]] = lambda quick: []) -> None:
    """The command line of a study: run every arm (finished cells and runs are reused), write <out>.md with the
    arms' rows, every pair's tests and `extra(quick)` lines. `setup` says what the arms share (task, budget)."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=16, help="dynjax seeds per arm (vmapped)")
    ap.add_argument("--reference-seeds", type=int, default=5, help="seeds of the authors' code per arm (1..n)")
    ap.add_argument("--steps", type=int, default=1_000_000, help="environment steps per seed")
    ap.add_argument("--quick", action="store_true", help="2 seeds x 4,000 steps, dynjax only: a pipeline check")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    root = args.out or RESULTS / (f"{stem}_quick" if args.quick else stem)
    seeds, steps = (2, 4000) if args.quick else (args.seeds, args.steps)
    t0 = time.time()
    ours = {arm: dynjax_arm(arm, task, *dynjax_arms[arm], seeds, steps, root) for arm in dynjax_arms}
    theirs = {}
    if not args.quick and reference_rtrrl.available():
        theirs = {arm: reference_arm(arm, reference_task + reference_arms[arm], args.reference_seeds, steps, root)
                  for arm in reference_arms}
    lines = [f"# {title}" + (" (quick pipeline check, not a result)" if args.quick else ""), "",
             f"{setup} {steps:,} steps per seed. dynjax: {seeds} seeds vmapped, evaluation every "
             f"{max(steps // 20, 1000):,} steps on 10 episodes (gymnax returns, at most 500). Authors' code "
             f"(../shared/anchors, JAX 0.4.38): seeds 1..{args.reference_seeds}, evaluation every 10,000 steps, its "
             "own metric (first-episode return of 10 environments). Per seed: best evaluation (step 0 excluded) and "
             f"final (mean of the last 10% of evaluations); 'learned' = best >= {learned:.0f}. Cells: IQM (95% "
             "bootstrap CI) · median [q25, q75] over seeds.", "",
             "| implementation | arm | seeds | learned | best | final |", "|---|---|---|---|---|---|"]
    lines += [row("dynjax", arm, s["per_seed"], learned) for arm, s in ours.items()]
    lines += [row("authors' code", arm, s["per_seed"], learned) for arm, s in theirs.items()]
    if not theirs:
        lines.append("| authors' code | not run | | | | |")
    lines += ["", "Two-sided Mann-Whitney U tests between the arms of one implementation (seeds as the unit); "
              "P(>) = probability that a seed of the first arm beats one of the second.", "",
              "| implementation | arms | score | result | p | P(>) |", "|---|---|---|---|---|---|"]
    lines += test_rows("dynjax", ours) + (test_rows("authors' code", theirs) if theirs else [])
    more = extra(args.quick)
    lines += ([""] + more if more else [])
    lines += ["", f"Wall time of this invocation: {time.time() - t0:.0f} s (finished cells and runs are reused)."]
    write_table(root, lines)
