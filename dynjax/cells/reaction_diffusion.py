"""Fixed ("blind") reaction-diffusion dynamics that guide a PPO policy; nothing here is trained.

From the blog post "Guiding Emergence in RL (Part 1): Acceleration via Blind Dynamics?" (2025): an activator a
and an inhibitor h, both matrices of shape (observation features F x actions A), follow a discretised
Gierer-Meinhardt system with a guidance term gamma sign(.) that amplifies the current sign of each entry:

    a <- clip(a + dt (D_a Lap(a) + rho_a a^2 / (h + eps) - mu_a a + gamma sign(a)), -bound, bound)
    h <- clip(h + dt (D_h Lap(h) + rho_h a^2           - mu_h h + gamma sign(h)), -bound, bound)

Lap is the graph Laplacian of the F x A grid (4-neighbour coupling, zero flux at the edges):
Lap(x)_ij = sum over grid neighbours (x_nb - x_ij). The current observation weights the rows,
y = obs^T a (one value per action), and the policy's logits become (1 - beta) logits + beta y.

The constants are ours (the post gives none): `hp` is any object with the fields D_a, D_h, rho_a, rho_h, mu_a,
mu_h, rd_eps, rd_dt, rd_bound (the PPO agent's hyperparameters), so every one of them can be swept. The state
starts each episode from a fixed pattern drawn once per learner, 1 + rd_init_noise N(0, 1) (default 0.3), since a uniform
state stays uniform and would shift every logit equally.
"""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

Array = jax.Array
RD_FIELDS = ("gamma", "beta", "D_a", "D_h", "rho_a", "rho_h", "mu_a", "mu_h", "rd_eps", "rd_dt", "rd_bound",
             "rd_init_noise")


class RDState(NamedTuple):
    a: Array  # activator (F, A)
    h: Array  # inhibitor (F, A)


def laplacian(x: Array) -> Array:
    """Graph Laplacian of a 2-D grid with zero-flux edges: each entry gains (neighbour - itself) per neighbour."""
    pad = jnp.pad(x, 1, mode="edge")  # an edge's missing neighbour equals the entry: zero flux
    return pad[:-2, 1:-1] + pad[2:, 1:-1] + pad[1:-1, :-2] + pad[1:-1, 2:] - 4.0 * x


def rd_init(key: Array, n_features: int, n_actions: int, hp: Any) -> RDState:
    """The fixed start pattern of every episode: 1 + rd_init_noise * N(0, 1) for a and h."""
    k_a, k_h = jax.random.split(key)
    shape = (n_features, n_actions)
    return RDState(a=1.0 + hp.rd_init_noise * jax.random.normal(k_a, shape),
                   h=1.0 + hp.rd_init_noise * jax.random.normal(k_h, shape))


def rd_step(s: RDState, hp: Any) -> RDState:
    """One Euler step of the guided activator-inhibitor system (module docstring)."""
    a2 = s.a * s.a
    da = hp.D_a * laplacian(s.a) + hp.rho_a * a2 / (s.h + hp.rd_eps) - hp.mu_a * s.a + hp.gamma * jnp.sign(s.a)
    dh = hp.D_h * laplacian(s.h) + hp.rho_h * a2 - hp.mu_h * s.h + hp.gamma * jnp.sign(s.h)
    return RDState(a=jnp.clip(s.a + hp.rd_dt * da, -hp.rd_bound, hp.rd_bound),
                   h=jnp.clip(s.h + hp.rd_dt * dh, -hp.rd_bound, hp.rd_bound))


def rd_readout(s: RDState, obs: Array) -> Array:
    """y = obs^T a: the observation weights the activator's rows."""
    return obs @ s.a


def blend(logits: Array, y: Array, beta: Array) -> Array:
    """(1 - beta) logits + beta y."""
    return (1.0 - beta) * logits + beta * y
