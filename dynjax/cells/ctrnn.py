"""Continuous-time RNN cell (CT-RNN) as a pure step function.

Euler discretisation of  tau dh/dt = -h + tanh(W xi)  with step dt (Lemmel & Grosu 2025, RTRRL, eq. 1;
Murray 2019, eLife 8:e43299):

    xi_t = [u_t ; h_{t-1} ; 1]                 (input, previous state, bias)
    z_t  = W xi_t                              W in R^{N x (I + N + 1)}
    h_t  = h_{t-1} + (dt / tau) * (tanh(z_t) - h_{t-1})

tau in R^N is learned per neuron and kept >= tau_min (>= dt keeps the update a convex combination).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

Array = jax.Array


class CTRNNParams(NamedTuple):
    """Parameters of a CT-RNN with N units and I inputs."""

    W: Array  # (N, I + N + 1): columns are [input | recurrent | bias]
    tau: Array  # (N,) time constants


class CTRNNStepAux(NamedTuple):
    """What an online learning rule needs from one step (the step's local quantities)."""

    xi: Array  # (I + N + 1,) presynaptic vector [u ; h_prev ; 1]
    z: Array  # (N,) pre-activation W xi
    h_prev: Array  # (N,) state before the step


def ctrnn_init(
    key: Array,
    n_inputs: int,
    n_hidden: int,
    gain: float | Array = 1.0,
    tau_low: float | Array = 1.0,
    tau_high: float | Array = 5.0,
) -> CTRNNParams:
    """Initialise W ~ N(0, 1/fan) per block (recurrent block scaled by `gain`) and tau ~ U[tau_low, tau_high].

    The recurrent block has variance gain^2 / N, so `gain` is the classic g of Sompolinsky et al. (1988):
    g < 1 gives a stable origin, g > 1 chaotic autonomous dynamics for large N.
    """
    k_in, k_rec, k_tau = jax.random.split(key, 3)
    w_in = jax.random.normal(k_in, (n_hidden, n_inputs)) / jnp.sqrt(max(n_inputs, 1))
    w_rec = gain * jax.random.normal(k_rec, (n_hidden, n_hidden)) / jnp.sqrt(n_hidden)
    bias = jnp.zeros((n_hidden, 1))
    tau = jax.random.uniform(k_tau, (n_hidden,), minval=tau_low, maxval=tau_high)
    return CTRNNParams(W=jnp.concatenate([w_in, w_rec, bias], axis=1), tau=tau)


def ctrnn_init_fan_in(key: Array, n_inputs: int, n_hidden: int, tau_low: float | Array = 1.0,
                      tau_high: float | Array = 5.0) -> CTRNNParams:
    """W ~ LeCun normal over each row's whole fan-in (truncated normal, variance 1 / (I + N + 1), the bias column
    included) and tau ~ U[tau_low, tau_high]: how the RTRRL authors' code initialises its CT-RNN."""
    k_w, k_tau = jax.random.split(key)
    W = jax.nn.initializers.lecun_normal(in_axis=-1, out_axis=-2)(k_w, (n_hidden, n_inputs + n_hidden + 1))
    tau = jax.random.uniform(k_tau, (n_hidden,), minval=tau_low, maxval=tau_high)
    return CTRNNParams(W=W, tau=tau)


def ctrnn_step(params: CTRNNParams, h: Array, u: Array, dt: float | Array) -> tuple[Array, CTRNNStepAux]:
    """One Euler step of the CT-RNN. Returns the new state and the step's local quantities."""
    xi = jnp.concatenate([u, h, jnp.ones((1,), h.dtype)])
    z = params.W @ xi
    h_new = h + (dt / params.tau) * (jnp.tanh(z) - h)
    return h_new, CTRNNStepAux(xi=xi, z=z, h_prev=h)


def recurrent_block(params: CTRNNParams) -> Array:
    """W_hh, the (N, N) recurrent block of W."""
    n = params.tau.shape[0]
    n_in = params.W.shape[1] - n - 1
    return params.W[:, n_in : n_in + n]
