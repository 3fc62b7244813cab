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

import numpy as np

from dynjax import startup

startup.enable()  # before gymnax's import starts JAX: `dynjax train`'s devices, lowering, XLA options

import option_study

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
    option_study.main(__doc__, "rtrrl_clip", "RTRRL under the paper's gradient clip: dynjax beside the authors' code",
                      "CartPole-v1, positions only, RFLO, N=32, the paper's other defaults (the authors' episodes run "
                      "up to their cap of 1,000 steps);", TASK, REFERENCE_TASK, DYNJAX_ARMS, REFERENCE_ARMS, LEARNED,
                      extra=lambda quick: clip_activity(2 if quick else 4, 2_000 if quick else 20_000))


if __name__ == "__main__":
    main()
