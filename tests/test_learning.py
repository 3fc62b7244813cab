"""Smoke learning tests: small budgets, seeds vmapped; the full claims live in benchmarks/rtrrl_table.py."""

import jax
import numpy as np

from dynjax import RTRRLConfig, make_train


def test_rtrrl_improves_over_random_policy_on_partially_observed_cartpole():
    """CartPole with positions hidden (velocities only): 8 seeds x 200k steps. The step-0 evaluation is the
    (near-uniform) initial policy, ~22 on average; the learners must clearly beat it: the median over seeds
    of each learner's best later evaluation must exceed twice that level. One learner's curve depends on the
    CPU's vector width (float rounding); the median of 8 was 207-255 (AVX-512, AVX2, AVX, SSE4.2), while
    4 seeds x 40k steps gave 64-124 against a threshold of 47."""
    cfg = RTRRLConfig(obs_mask="odd", total_steps=200_000, eval_every=40_000)
    _, m = jax.jit(jax.vmap(make_train(cfg)))(jax.random.split(jax.random.key(0), 8))
    ev = np.asarray(m.eval_return)
    random_level = np.median(ev[:, 0])
    learned = np.median(ev[:, 1:].max(axis=1))
    assert random_level < 30
    assert learned > 2 * random_level, (random_level, learned, ev)
