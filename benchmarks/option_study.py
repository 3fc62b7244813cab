"""One RTRRL option, dynjax beside the authors' code on the same task: the arms, their rows and their tests.

Shared by the studies of the paper's settings that dynjax does not take as defaults (benchmarks/rtrrl_clip.py:
the gradient clip; benchmarks/rtrrl_reward_norm.py: reward normalisation). A dynjax arm is a sweep cell of
RTRRL-RFLO (config fields and hyperparameters over the task's), 16 seeds vmapped, evaluated every 5% of the
budget; an authors' arm is their rtrrl.py with extra flags, one cached JSON per seed (reference_rtrrl.run).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import reference_rtrrl
from common import run_cell, slug
from dynjax.results.stats import aggregate, compare, format_p, format_stats
from dynjax.sweep import spec_from_dict


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
