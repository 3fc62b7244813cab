"""Multiple-timescale RNN (MTRNN) of leaky tanh neurons: the actor of Dynamic RL.

Yamashita & Tani (2008, PLoS Comput. Biol. 4:e1000220) layered RNN with a fast and a slow layer, as used by
Shibata (2025, "Dynamic Reinforcement Learning for Actors", arXiv 2502.10200). Every neuron j of a layer with
time constant tau (in steps, tau >= 1) is a leaky integrator of its inputs x:

    u_{j,t} = (1 - 1/tau) u_{j,t-1} + (1/tau) (w_j . x_t + b_j)          o_{j,t} = tanh(u_{j,t})

Wiring within one time step (ours where the paper gives only the diagram input -> lower <-> upper -> output):

    lower  (n_lower,  tau_lower):  x = [obs_t ; o^upper_{t-1}]
    upper  (n_upper,  tau_upper):  x = [o^lower_t ; o^upper_{t-1}]      (self-feedback block: spectral radius rho)
    output (n_out,    tau_out):    x = [o^lower_t ; o^upper_t]          (one tanh neuron per action dimension)

Initialisation: every block N(0, 1/fan_in of the block), biases 0, then the upper layer's self-feedback block is
rescaled to spectral radius exactly `radius` (3.0 makes the network chaotic, the paper's start).
A layer's neurons share tau, so the leaky input trace e_t = (1 - 1/tau) e_{t-1} + (1/tau) x_t, which is
d u_j / d w_j with the other neurons held fixed, is one vector per layer (dynjax.rules.sensitivity).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

Array = jax.Array


class LeakyLayer(NamedTuple):
    """Weights of one layer of leaky neurons: W (n, fan_in) over the layer's input vector, bias b (n,)."""

    W: Array
    b: Array


class MTRNNParams(NamedTuple):
    lower: LeakyLayer
    upper: LeakyLayer
    output: LeakyLayer  # (0, fan_in) when the MTRNN is a body without output neurons (PPO's cell)


class MTRNNState(NamedTuple):
    """Internal potentials u of each layer (outputs are tanh(u))."""

    lower: Array
    upper: Array
    output: Array


class MTRNNStep(NamedTuple):
    """The inputs each layer saw in one step (what the sensitivity traces integrate)."""

    x_lower: Array
    x_upper: Array
    x_output: Array


class MTRNNTaus(NamedTuple):
    lower: Array
    upper: Array
    output: Array


def leaky_update(layer: LeakyLayer, u: Array, x: Array, tau: Array) -> Array:
    """u_t = (1 - 1/tau) u_{t-1} + (1/tau) (W x_t + b)."""
    return u + (layer.W @ x + layer.b - u) / tau


def spectral_radius(W: Array) -> Array:
    """max |eigenvalue| of a square matrix."""
    return jnp.max(jnp.abs(jnp.linalg.eigvals(W)))


def mtrnn_init(key: Array, n_inputs: int, n_lower: int, n_upper: int, n_out: int, radius: float | Array = 3.0) -> MTRNNParams:
    """Blocks N(0, 1/fan_in), zero biases; the upper self-feedback block scaled to spectral radius `radius`.
    (One normal draw sliced into the six blocks: a single PRNG kernel compiles several times faster.)"""
    shapes = [(n_lower, n_inputs), (n_lower, n_upper), (n_upper, n_lower), (n_upper, n_upper), (n_out, n_lower),
              (n_out, n_upper)]
    sizes = [a * b for a, b in shapes]
    z = jax.random.normal(key, (sum(sizes),))
    offsets = [sum(sizes[:i]) for i in range(len(sizes))]
    w_in, w_ul, w_lu, w_uu, w_ol, w_ou = (z[o:o + n].reshape(sh) / jnp.sqrt(max(sh[1], 1))
                                          for o, n, sh in zip(offsets, sizes, shapes))
    w_uu = radius * w_uu / spectral_radius(w_uu)
    lower = LeakyLayer(W=jnp.concatenate([w_in, w_ul], axis=1), b=jnp.zeros((n_lower,)))
    upper = LeakyLayer(W=jnp.concatenate([w_lu, w_uu], axis=1), b=jnp.zeros((n_upper,)))
    output = LeakyLayer(W=jnp.concatenate([w_ol, w_ou], axis=1), b=jnp.zeros((n_out,)))
    return MTRNNParams(lower=lower, upper=upper, output=output)


def mtrnn_zero_state(params: MTRNNParams) -> MTRNNState:
    return MTRNNState(lower=jnp.zeros_like(params.lower.b), upper=jnp.zeros_like(params.upper.b),
                      output=jnp.zeros_like(params.output.b))


def mtrnn_step(params: MTRNNParams, state: MTRNNState, obs: Array, taus: MTRNNTaus) -> tuple[MTRNNState, MTRNNStep]:
    """One time step: lower, then upper, then output layer (each sees the layers below at time t)."""
    o_upper_prev = jnp.tanh(state.upper)
    x_lower = jnp.concatenate([obs, o_upper_prev])
    u_lower = leaky_update(params.lower, state.lower, x_lower, taus.lower)
    x_upper = jnp.concatenate([jnp.tanh(u_lower), o_upper_prev])
    u_upper = leaky_update(params.upper, state.upper, x_upper, taus.upper)
    x_output = jnp.concatenate([jnp.tanh(u_lower), jnp.tanh(u_upper)])
    u_output = leaky_update(params.output, state.output, x_output, taus.output)
    return MTRNNState(lower=u_lower, upper=u_upper, output=u_output), MTRNNStep(x_lower, x_upper, x_output)


def split_sizes(n_hidden: int) -> tuple[int, int]:
    """(lower, upper) sizes of an MTRNN body of n_hidden neurons: two thirds fast, one third slow (200/100)."""
    n_upper = max(n_hidden // 3, 1)
    return n_hidden - n_upper, n_upper


def mtrnn_body_init(key: Array, n_inputs: int, n_hidden: int, radius: float | Array) -> MTRNNParams:
    """The MTRNN without output neurons, as a recurrent body of n_hidden = lower + upper neurons."""
    n_lower, n_upper = split_sizes(n_hidden)
    return mtrnn_init(key, n_inputs, n_lower, n_upper, 0, radius)


def mtrnn_body_step(params: MTRNNParams, h: Array, x: Array, tau_lower: Array, tau_upper: Array) -> Array:
    """Body step on the flat state h = [u_lower ; u_upper] (the output layer is empty)."""
    n_lower = params.lower.b.shape[0]
    state = MTRNNState(lower=h[:n_lower], upper=h[n_lower:], output=jnp.zeros((0,), h.dtype))
    new, _ = mtrnn_step(params, state, x, MTRNNTaus(tau_lower, tau_upper, jnp.ones(())))
    return jnp.concatenate([new.lower, new.upper])
