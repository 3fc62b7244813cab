"""Does fixed ("blind") reaction-diffusion guidance speed up PPO? CartPole-v1 and stateless CartPole.

The blog post "Guiding Emergence in RL (Part 1)" (2025) saw faster early learning with guidance on CartPole
and instability on the stateless variant (cart position and pole angle only). This script runs, per
environment, plain PPO and RD-PPO with guidance gamma in {0, 0.01, 0.05, 0.1} (beta = 0.3 blending, the
other constants at dynjax.cells.reaction_diffusion's defaults), S seeds each: the four gammas are vmapped in
one program. The agent is a feedforward PPO (the post's "standard PPO": cell "mlp", 64 tanh units, 64-unit
heads; PureJaxRL's CartPole settings: 4 envs x 128 steps, 4 epochs x 4 minibatches, lr 2.5e-4 annealed).

Reported (benchmarks/results/blind_dynamics.md and .png): learning curves (median, IQR over seeds),
steps-to-threshold (first evaluation with return >= 475; seeds that never reach it are counted), the mean
evaluation return over the first quarter of the budget (early learning), and the final return.

    python benchmarks/blind_dynamics.py                 # 16 seeds x 262,144 steps per config
    python benchmarks/blind_dynamics.py --quick         # 2 seeds, 8k steps: a pipeline check only
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from common import quartiles as q
from common import run_cell, slug
from dynjax.results import diverged_mask, plot_learning_curves, read_metrics
from dynjax.sweep import spec_from_dict

RESULTS = Path(__file__).resolve().parent / "results"
ENVS = {"CartPole-v1": "none", "stateless CartPole": "even"}
GAMMAS = [0.0, 0.01, 0.05, 0.1]
THRESHOLD = 475.0
AGENT = dict(env_id="CartPole-v1", cell="mlp", hidden_size=64, head_hidden=64)


def run(algo: str, env: str, seeds: int, steps: int, eval_every: int, root: Path) -> Path:
    spec = {"algo": algo, "seeds": seeds, "config": AGENT | {"obs_mask": ENVS[env], "total_steps": steps,
                                                              "eval_every": eval_every}}
    if algo == "rd-ppo":
        spec["grid"] = {"gamma": GAMMAS}
    out = root / f"{slug(env)}--{algo}"
    run_cell(spec_from_dict(spec), out)
    return out


def steps_to_threshold(m: dict) -> np.ndarray:
    """First evaluation step with return >= THRESHOLD per seed (nan: never)."""
    ev, steps = np.asarray(m["eval_return"]), np.asarray(m["step"])
    hit = ev >= THRESHOLD
    return np.where(hit.any(axis=1), steps[np.arange(len(ev)), np.argmax(hit, axis=1)], np.nan)


def diff_ci(a: np.ndarray, b: np.ndarray, n_boot: int = 10_000) -> tuple[float, float]:
    """95% percentile-bootstrap CI of mean(a) - mean(b), seeds resampled independently (fixed RNG)."""
    rng = np.random.default_rng(0)
    d = rng.choice(a, (n_boot, a.size)).mean(1) - rng.choice(b, (n_boot, b.size)).mean(1)
    return tuple(np.percentile(d, [2.5, 97.5]))


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
        "beta = 0.3 of the reaction-diffusion readout into the logits. Median [q25, q75] over seeds; "
        f"steps to {THRESHOLD:g}: over the seeds that reach it (count in the next column). "
        "Early = mean evaluation return over the first quarter of the budget.",
        "",
        "| environment | agent | steps to 475 | reached | early return | early vs PPO: mean difference (95% CI) "
        "| final return | diverged |",
        "|---|---|---|---|---|---|---|---|",
    ]
    panels = []
    for env in args.envs:
        curves, early_ppo = [], None
        for algo in ("ppo-rnn", "rd-ppo"):
            path = run(algo, env, seeds, steps, eval_every, root) / "metrics.csv"
            for i, gamma in enumerate(GAMMAS if algo == "rd-ppo" else [None]):
                m = read_metrics(path, config=i)
                label = "PPO" if gamma is None else f"RD-PPO gamma={gamma:g}"
                bad = diverged_mask(m)
                ok = {k: (v[~bad] if np.ndim(v) == 2 else v) for k, v in m.items()}
                ev = np.asarray(ok["eval_return"])
                early = ev[:, 1:1 + max(1, (ev.shape[1] - 1) // 4)].mean(axis=1)
                stt = steps_to_threshold(ok)
                if gamma is None:
                    early_ppo, diff = early, "(baseline)"
                else:
                    lo, hi = diff_ci(early, early_ppo)
                    diff = f"{early.mean() - early_ppo.mean():+.1f} ({lo:+.1f}, {hi:+.1f})"
                lines.append(f"| {env} | {label} | {q(stt, '.0f')} | {int(np.isfinite(stt).sum())}/{len(stt)} | "
                             f"{q(early)} | {diff} | {q(ev[:, -1])} | {int(bad.sum())} |")
                curves.append((label, m))
        plot_learning_curves(curves, root / f"{slug(env)}.png", f"{env}: PPO vs blind RD guidance ({seeds} seeds)")
        panels.append(f"![{env}]({root.name}/{slug(env)}.png)")
    lines += ["", *panels, "", f"Wall time of this invocation: {time.time() - t0:.0f} s (finished runs are reused)."]
    md = root.parent / f"{root.name}.md"
    md.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
