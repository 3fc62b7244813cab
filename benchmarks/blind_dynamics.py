"""Does fixed ("blind") reaction-diffusion guidance speed up PPO? CartPole-v1 and stateless CartPole.

The blog post "Guiding Emergence in RL (Part 1)" (2025) saw faster early learning with guidance on CartPole
and instability on the stateless variant (cart position and pole angle only). This script runs, per
environment, plain PPO and RD-PPO with guidance gamma in {0, 0.01, 0.05, 0.1} (beta = 0.3 blending, the
other constants at dynjax.cells.reaction_diffusion's defaults), S seeds each: the four gammas are vmapped in
one program. The agent is a feedforward PPO (the post's "standard PPO": cell "mlp", 64 tanh units, 64-unit
heads; PureJaxRL's CartPole settings: 4 envs x 128 steps, 4 epochs x 4 minibatches, lr 2.5e-4 annealed).

Reported (benchmarks/results/blind_dynamics.md and .png): learning curves (median, IQR band over seeds) and,
per seed, then as IQM (95% bootstrap CI) · median [q25, q75] over the seeds that did not diverge
(dynjax.results.stats): the final return (mean of the last 10% of the evaluations after step 0), the best return
excluding the untrained step 0, the area under the learning curve (AUC: the mean return over training), the
early return (mean evaluation return over the first quarter of the budget, step 0 excluded) and the steps to
threshold (first evaluation after step 0 with return >= 475; over the seeds that reach it, counted). Each
RD-PPO configuration is compared with plain PPO on the same environment on the early return, the final return
and the AUC, seeds as the unit: two-sided Mann-Whitney U test (p) and P(RD-PPO > PPO) (dynjax.results.stats.compare).

    python benchmarks/blind_dynamics.py                 # 16 seeds x 262,144 steps per config
    python benchmarks/blind_dynamics.py --quick         # 2 seeds, 8k steps: a pipeline check only
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from dynjax import startup

startup.enable()  # before gymnax's import starts JAX: `dynjax train`'s devices, lowering, XLA options

from common import run_cell, slug
from dynjax.results.metrics import diverged_mask, plot_learning_curves, read_metrics
from dynjax.results.stats import aggregate, compare, curve_scores, final_points, format_p, format_stats
from dynjax.sweep import spec_from_dict

RESULTS = Path(__file__).resolve().parent / "results"
ENVS = {"CartPole-v1": "none", "stateless CartPole": "even"}
GAMMAS = [0.0, 0.01, 0.05, 0.1]
THRESHOLD = 475.0
AGENT = dict(env_id="CartPole-v1", cell="mlp", hidden_size=64, head_hidden=64)
SHOWN = ("final return", "best return", "return AUC", "early return")
COMPARED = ("early return", "final return", "return AUC")  # each RD-PPO configuration against plain PPO


def run(algo: str, env: str, seeds: int, steps: int, eval_every: int, root: Path) -> Path:
    spec = {"algo": algo, "seeds": seeds, "config": AGENT | {"obs_mask": ENVS[env], "total_steps": steps,
                                                              "eval_every": eval_every}}
    if algo == "rd-ppo":
        spec["grid"] = {"gamma": GAMMAS}
    out = root / f"{slug(env)}--{algo}"
    run_cell(spec_from_dict(spec), out)
    return out


def measures(m: dict, keep: np.ndarray) -> dict[str, np.ndarray]:
    """Per-seed measures of the learners of `m` selected by `keep`: final return, best return excluding step 0,
    return AUC (dynjax.results.stats.curve_scores), early return (mean over the first quarter of the evaluations after
    step 0) and the first evaluation step after step 0 with return >= THRESHOLD (nan: never)."""
    ev, steps = np.asarray(m["eval_return"], float)[keep], np.asarray(m["step"])[0]
    scores = curve_scores(ev, steps)
    hit = ev[:, 1:] >= THRESHOLD
    return {"final return": scores.final, "best return": scores.best, "return AUC": scores.auc,
            "early return": ev[:, 1:1 + max(1, (ev.shape[1] - 1) // 4)].mean(axis=1),
            "steps to threshold": np.where(hit.any(axis=1), steps[1:][np.argmax(hit, axis=1)], np.nan)}


def stats(x: np.ndarray, fmt: str = ".3g") -> str:
    """'IQM (95% CI) · median [q25, q75]' over the finite per-seed values of x."""
    return format_stats(aggregate(x), fmt)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--steps", type=int, default=262_144)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--envs", nargs="*", default=list(ENVS), choices=list(ENVS), help="subset of environments")
    args = ap.parse_args()
    seeds, steps = (2, 8_192) if args.quick else (args.seeds, args.steps)
    eval_every = steps // 16
    root = args.out or RESULTS / ("blind_dynamics_quick" if args.quick else "blind_dynamics")
    t0 = time.time()
    lines = [
        "# Blind reaction-diffusion guidance vs plain PPO" + (" (quick pipeline check, not a result)" if args.quick else ""),
        "",
        f"{seeds} seeds per configuration, {steps:,} environment steps each, evaluation every {eval_every:,} steps "
        "(10 episodes, sampled actions). Feedforward PPO (64 tanh units, 64-unit heads), RD-PPO blends "
        "beta = 0.3 of the reaction-diffusion readout into the logits.",
        "",
        "Every cell: IQM (95% bootstrap CI) · median [q25, q75] over the seeds that did not diverge "
        "(dynjax.results.stats). Per seed, final = mean of the last 10% of the evaluations after step 0 (here the last "
        f"{final_points(steps // eval_every + 1)}), best = the best evaluation excluding step 0, AUC = the mean "
        "return over training (area under the learning curve / steps), early = the mean evaluation return over "
        f"the first quarter of the budget (step 0 excluded); steps to {THRESHOLD:g}: the first evaluation reaching "
        "it, over the seeds that do (counted in the next column).",
        "",
        "| environment | agent | final return | best return (excl. step 0) | return AUC | early return "
        f"| steps to {THRESHOLD:g} | reached | diverged |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    comparisons = [
        "| environment | agent | " + " | ".join(f"{k}: p | {k}: P(RD-PPO > PPO)" for k in COMPARED) + " |",
        "|---|---|" + "---|---|" * len(COMPARED),
    ]
    panels = []
    for env in args.envs:
        curves, ppo = [], None
        for algo in ("ppo-rnn", "rd-ppo"):
            path = run(algo, env, seeds, steps, eval_every, root) / "metrics.csv"
            for i, gamma in enumerate(GAMMAS if algo == "rd-ppo" else [None]):
                m = read_metrics(path, config=i)
                label = "PPO" if gamma is None else f"RD-PPO gamma={gamma:g}"
                bad = diverged_mask(m)
                v = measures(m, ~bad)
                stt = v["steps to threshold"]
                lines.append(f"| {env} | {label} | " + " | ".join(stats(v[k]) for k in SHOWN) + f" | "
                             f"{stats(stt, ',.0f')} | {int(np.isfinite(stt).sum())}/{len(stt)} | {int(bad.sum())} |")
                if gamma is None:
                    ppo = v
                else:
                    tests = [compare(v[k], ppo[k]) for k in COMPARED]
                    comparisons.append(f"| {env} | {label} | "
                                       + " | ".join(f"{format_p(c.p_value)} | {c.prob_improvement:.2f}" for c in tests)
                                       + " |")
                curves.append((label, m))
        plot_learning_curves(curves, root / f"{slug(env)}.png", f"{env}: PPO vs blind RD guidance ({seeds} seeds)")
        panels.append(f"![{env}]({root.name}/{slug(env)}.png)")
    lines += ["", "Each RD-PPO configuration against plain PPO on the same environment, seeds as the unit: two-sided "
              "Mann-Whitney U test (p, not corrected for the number of comparisons in this table) and P(RD-PPO > "
              "PPO), the probability that an RD-PPO seed scores above a PPO seed (ties count half).", "",
              *comparisons, "", *panels, "",
              f"Wall time of this invocation: {time.time() - t0:.0f} s (finished runs are reused)."]
    md = root.parent / f"{root.name}.md"
    md.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
