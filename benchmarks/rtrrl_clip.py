"""Why RTRRL collapsed under the paper's gradient clip of 1.0: where the clip applies, dynjax beside the authors' code.

The paper's Table 1 lists a gradient-norm clip of 1.0. The authors' code applies none by default; given one, it
clips each optimizer group's update (the RNN's, and the heads' "td" group) to that norm before Adam
(optimizers.py: add_decayed_weights -> clip_by_global_norm -> adam, one chain per group through
optax.multi_transform). dynjax's `grad_clip` clipped one norm over all parameters. This study runs, on
CartPole with positions only (the task of the collapse), side by side in one window:

- dynjax RTRRL-RFLO, 16 seeds vmapped: no clip (the default); clip 1.0 over all parameters
  (clip_scope="global"); clip 1.0 per group, body and heads (clip_scope="group", the authors' placement);
- the authors' code, 5 seeds: its defaults (no clip); clip 1.0 on both its optimizer groups.

Per seed: best evaluation (step 0 excluded) and final (mean of the last 10% of evaluations). The authors'
numbers are its own metric (first-episode return of 10 environments capped at 1,000 steps, see
reference_rtrrl.py); dynjax's are gymnax's CartPole returns (capped at 500). Within each implementation the
arms are compared with the two-sided Mann-Whitney U test, seeds as the unit.

    python benchmarks/rtrrl_clip.py           # 1M steps per seed (dynjax ~25 min, authors ~8 min on 2 cores)
    python benchmarks/rtrrl_clip.py --quick   # 2 seeds x 4,000 steps, dynjax only: a pipeline check
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from dynjax import startup

startup.enable()  # before gymnax's import starts JAX: `dynjax train`'s devices, lowering, XLA options

import reference_rtrrl
from option_study import dynjax_arm, reference_arm, row, test_rows

RESULTS = Path(__file__).resolve().parent / "results"
TASK = dict(env_id="CartPole-v1", obs_mask="even")
REFERENCE_TASK = ["--env_name", "CartPole-v1", "--obs_mask", "even"]
# arm -> (config fields, hyperparameters) for dynjax
DYNJAX_ARMS = {
    "no clip (default)": ({}, {}),
    "clip 1.0, global norm": ({"clip_scope": "global"}, {"grad_clip": 1.0}),
    "clip 1.0, per group": ({"clip_scope": "group"}, {"grad_clip": 1.0}),
}
# arm -> the authors' command-line flags
REFERENCE_ARMS = {
    "no clip (its default)": [],
    "clip 1.0, per group (its only placement)": ["--optimizer_params_rnn.gradient_clip", "1.0",
                                                 "--optimizer_params_td.gradient_clip", "1.0"],
}
LEARNED = 400.0  # a seed "learned" when its best evaluation reaches this return (both metrics)


def clip_activity(seeds: int, steps: int) -> list[str]:
    """How often a clip of 1.0 acts, and on what: the update's norm ||delta_t z_t|| along unclipped training
    (the first `steps` steps of `seeds` learners), split by whether the step ended the episode. The trace z is
    read after the step, so at a step that ends an episode (z reset to 0) the norm is not seen: only |delta|."""
    import jax
    import jax.numpy as jnp

    from dynjax import RTRRLConfig, make_learner

    learner = make_learner(RTRRLConfig(**TASK))

    def run(key):
        def step(s, _):
            s, info = learner.step(s)
            norm = jnp.abs(info.delta) * jnp.sqrt(sum(jnp.sum(x * x) for x in jax.tree.leaves(s.z)))
            return s, (norm, info.terminated | info.truncated, info.delta)

        return jax.lax.scan(step, learner.init(key), None, length=steps)[1]

    norm, done, delta = (np.asarray(x) for x in jax.jit(jax.vmap(run))(jax.random.split(jax.random.key(0), seeds)))
    going = ~done
    return [f"Why (unclipped training, {seeds} learners x the first {steps:,} steps): the update's norm "
            f"||delta z|| exceeds 1.0 at {100 * (norm[going] > 1).mean():.1f}% of the steps that do not end an "
            f"episode (median {np.median(norm[going]):.1f}, 10-90% {np.quantile(norm[going], 0.1):.1f}-"
            f"{np.quantile(norm[going], 0.9):.1f}), so a clip of 1.0 rescales almost every update to the same norm "
            "and the update no longer grows with the TD error. The TD errors that carry the failure signal are the "
            f"large ones: median |delta| {np.median(np.abs(delta[done])):.2f} (mean delta {delta[done].mean():.2f}) "
            f"at the {int(done.sum())} steps that end an episode against {np.median(np.abs(delta[going])):.2f} at "
            "the others; clipped, they weigh no more than an ordinary step. Adam after the clip does not restore "
            "the scale: its normalisation is per parameter over time, and every step now arrives at norm 1."]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=16, help="dynjax seeds per arm (vmapped)")
    ap.add_argument("--reference-seeds", type=int, default=5, help="seeds of the authors' code per arm (1..n)")
    ap.add_argument("--steps", type=int, default=1_000_000, help="environment steps per seed")
    ap.add_argument("--quick", action="store_true", help="2 seeds x 4,000 steps, dynjax only: a pipeline check")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    root = args.out or RESULTS / ("rtrrl_clip_quick" if args.quick else "rtrrl_clip")
    seeds, steps = (2, 4000) if args.quick else (args.seeds, args.steps)
    t0 = time.time()
    ours = {arm: dynjax_arm(arm, TASK, *DYNJAX_ARMS[arm], seeds, steps, root) for arm in DYNJAX_ARMS}
    theirs = {}
    if not args.quick and reference_rtrrl.available():
        theirs = {arm: reference_arm(arm, REFERENCE_TASK + REFERENCE_ARMS[arm], args.reference_seeds, steps, root)
                  for arm in REFERENCE_ARMS}
    lines = [f"# RTRRL under the paper's gradient clip: dynjax beside the authors' code"
             + (" (quick pipeline check, not a result)" if args.quick else ""), "",
             f"CartPole-v1, positions only, RFLO, N=32, the paper's other defaults; {steps:,} steps per seed. "
             f"dynjax: {seeds} seeds vmapped, evaluation every {max(steps // 20, 1000):,} steps on 10 episodes "
             "(gymnax returns, at most 500). Authors' code (../shared/anchors, JAX 0.4.38): seeds 1.."
             f"{args.reference_seeds}, evaluation every 10,000 steps, its own metric (first-episode return of "
             "10 environments, at most 1,000). Per seed: best evaluation (step 0 excluded) and final (mean of the "
             f"last 10% of evaluations); 'learned' = best >= {LEARNED:.0f}. Cells: IQM (95% bootstrap CI) · median "
             "[q25, q75] over seeds.", "",
             "| implementation | arm | seeds | learned | best | final |", "|---|---|---|---|---|---|"]
    lines += [row("dynjax", arm, s["per_seed"], LEARNED) for arm, s in ours.items()]
    lines += [row("authors' code", arm, s["per_seed"], LEARNED) for arm, s in theirs.items()]
    if not theirs:
        lines.append("| authors' code | not run | | | | |")
    lines += ["", "Two-sided Mann-Whitney U tests between the arms of one implementation (seeds as the unit); "
              "P(>) = probability that a seed of the first arm beats one of the second.", "",
              "| implementation | arms | score | result | p | P(>) |", "|---|---|---|---|---|---|"]
    lines += test_rows("dynjax", ours) + (test_rows("authors' code", theirs) if theirs else [])
    lines += [""] + clip_activity(2 if args.quick else 4, 2_000 if args.quick else 20_000)
    lines += ["", f"Wall time of this invocation: {time.time() - t0:.0f} s (finished cells and runs are reused)."]
    out_md = root.parent / (root.name + ".md")
    out_md.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {out_md}")


if __name__ == "__main__":
    main()
