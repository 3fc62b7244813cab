"""TD(lambda) eligibility traces (Sutton & Barto 2018, ch. 12) and the forward-view lambda-return.

Backward view, per step:
    delta_t = r_t + gamma (1 - terminated_t) v(s_{t+1}) - v(s_t)
    accumulating:  z_t = gamma lambda z_{t-1} + grad v(s_t)
    dutch (linear v = w.x, true online TD(lambda), van Seijen et al. 2016):
                   z_t = gamma lambda z_{t-1} + (1 - alpha gamma lambda z_{t-1}.x_t) x_t
    update:        w <- w + alpha delta_t z_t
Forward view: G^lambda_t = r_t + gamma_{t+1} [(1 - lambda) v(s_{t+1}) + lambda G^lambda_{t+1}].
With fixed weights over an episode the summed backward updates equal the summed forward ones
(offline equivalence), which is what tests/test_td.py checks.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

Array = jax.Array


def accumulating_trace(z: Array, psi: Array, decay: Array) -> Array:
    """z <- decay * z + psi, with decay = gamma * lambda (per element allowed)."""
    return decay * z + psi


def dutch_trace(z: Array, x: Array, decay: Array, alpha: Array) -> Array:
    """z <- decay z + (1 - alpha decay z.x) x for a linear value function v = w.x."""
    return decay * z + (1.0 - alpha * decay * jnp.dot(z, x)) * x


def td_error(reward: Array, value: Array, next_value: Array, terminated: Array, gamma: Array) -> Array:
    """delta = r + gamma (1 - terminated) v' - v: bootstraps on truncation, not on termination."""
    return reward + gamma * jnp.where(terminated, 0.0, next_value) - value


def lambda_returns(rewards: Array, next_values: Array, discounts: Array, lam: Array) -> Array:
    """Forward-view lambda-returns of a trajectory (time-major). discounts_t = gamma (1 - terminated_t);
    the last step bootstraps fully from next_values[-1] (a truncated tail)."""

    def back(g_next, inp):
        r, v_next, disc = inp
        g = r + disc * ((1.0 - lam) * v_next + lam * g_next)
        return g, g

    _, gs = jax.lax.scan(back, next_values[-1], (rewards, next_values, discounts), reverse=True)
    return gs


def gae(rewards: Array, values: Array, next_values: Array, terminated: Array, done: Array, gamma: Array,
        lam: Array) -> tuple[Array, Array]:
    """Generalised advantage estimation (Schulman et al. 2016) over a time-major rollout.

        delta_t = r_t + gamma (1 - terminated_t) V'_t - V_t        (td_error; V'_t = value of the next state,
                                                                    of the final observation on truncation)
        A_t     = delta_t + gamma lambda (1 - done_t) A_{t+1},      done = terminated or truncated
    Returns (advantages, value targets A + V). The last step's A_{t+1} is 0: its V'_t bootstraps the tail."""
    deltas = td_error(rewards, values, next_values, terminated, gamma)

    def back(a_next, inp):
        delta, d = inp
        a = delta + gamma * lam * jnp.where(d, 0.0, a_next)
        return a, a

    _, adv = jax.lax.scan(back, jnp.zeros_like(deltas[0]), (deltas, done), reverse=True)
    return adv, adv + values
