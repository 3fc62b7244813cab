"""Running reward normalisation for online learners (one update per step, no batches to normalise over).

Two forms, both from running moments updated every step (Welford's algorithm, count n, mean m, sum of squared
deviations M2, so var = M2 / n):

    standardize:  r~_t = (r_t - m_r) / sqrt(var_r + eps)          moments of the reward itself. This is what the
                  RTRRL authors' code computes (`normalize_reward`, brax's running statistics); their code feeds it
                  only to the evaluation's Meta-RL reward input (the reference's defect 4), dynjax uses it
                  wherever the reward enters (TD error and input) or nowhere. A constant reward (CartPole's +1)
                  standardises to 0: only terminations are left to learn from.
    scale:        r~_t = r_t / sqrt(var_G + eps),  G_t = gamma G_{t-1} (1 - done_{t-1}) + r_t
                  moments of the discounted return, no shift (the reward scaling of PPO implementations, Engstrom
                  et al. 2020, "Implementation matters in deep policy gradients"): the TD error's size becomes
                  comparable across tasks while the sign and the termination signal stay.

The moments used at step t include r_t (normalise after updating), and are frozen for evaluation. Before the
moments settle (the first steps, a variance near 0) the quotient is unbounded, so the normalised reward is clipped
to [-CLIP, CLIP] (as gym's NormalizeReward wrapper clips it).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

Array = jax.Array
CHOICES = ("none", "standardize", "scale")
EPS = 1e-8
CLIP = 10.0


class RewardStats(NamedTuple):
    count: Array  # steps seen
    mean: Array  # of the reward (standardize) or of the discounted return (scale)
    m2: Array  # sum of squared deviations from the mean
    ret: Array  # running discounted return G_t (scale only)


def init() -> RewardStats:
    z = jnp.zeros(())
    return RewardStats(count=z, mean=z, m2=z, ret=z)


def update(stats: RewardStats, reward: Array, done: Array, gamma: Array, kind: str) -> RewardStats:
    """Add the step's reward (and, for `scale`, the return it completes; `done` ends the return after it)."""
    if kind == "none":
        return stats
    ret = gamma * stats.ret + reward
    x = ret if kind == "scale" else reward
    count = stats.count + 1.0
    d = x - stats.mean
    mean = stats.mean + d / count
    m2 = stats.m2 + d * (x - mean)
    return RewardStats(count=count, mean=mean, m2=m2, ret=jnp.where(done, 0.0, ret))


def normalize(stats: RewardStats, reward: Array, kind: str) -> Array:
    """The reward as the learner sees it under `kind`."""
    if kind == "none":
        return reward
    std = jnp.sqrt(stats.m2 / jnp.maximum(stats.count, 1.0) + EPS)
    shifted = reward if kind == "scale" else reward - stats.mean
    return jnp.clip(shifted / std, -CLIP, CLIP)
