"""Environment changes applied between the agent and the environment.

Shibata (2025, Dynamic RL) changes the task mid-training by swapping the actor's two output channels and
measures how fast success recovers; `swap_channels` is that change, switched on by a traced flag so the same
compiled program runs before and after the swap.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def swap_channels(action: jax.Array, swapped: jax.Array) -> jax.Array:
    """(a_0, a_1) -> (a_1, a_0) where `swapped`, unchanged otherwise (a 2-dimensional action)."""
    return jnp.where(swapped, action[::-1], action)


def swap_from(action: jax.Array, step: jax.Array, swap_at: jax.Array) -> jax.Array:
    """The channel swap from training step `swap_at` on (swap_at = 0: never); the identity unless the action
    has exactly two dimensions."""
    if action.shape != (2,):
        return action
    return swap_channels(action, (swap_at > 0) & (step >= swap_at))
