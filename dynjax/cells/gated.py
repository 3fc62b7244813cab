"""Discrete-time cells for the BPTT baselines: GRU, vanilla tanh RNN, ReLU RNN, and a feedforward layer.

All are pure step functions `step(params, h, x) -> h'` over NamedTuple parameters. GRU, tanh RNN and the
feedforward layer are initialised with the same convention as the CT-RNN (dynjax.cells.ctrnn): input weights
N(0, 1/I), recurrent weights N(0, g^2/N), zero biases, so the gain g means the same thing for them. The ReLU
RNN follows Kononov et al. (2025) instead: input and recurrent weights ~ U(-delta, delta), zero biases, its
gain being the width delta (the initialisation scale that paper sweeps).

Vanilla RNN (Elman 1990):          h' = tanh(W_x x + W_h h + b)
GRU (Cho et al. 2014):             r  = sigmoid(W_xr x + W_hr h + b_r)
                                   z  = sigmoid(W_xz x + W_hz h + b_z)
                                   n  = tanh(W_xn x + b_xn + r * (W_hn h + b_hn))
                                   h' = (1 - z) * n + z * h
ReLU RNN ("relu"):                 h' = max(0, W_x x + W_h h + b)
Feedforward ("mlp"):               h' = tanh(W_x x + b)        (ignores h: a memoryless body)
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

Array = jax.Array


class DenseRNNParams(NamedTuple):
    W_x: Array  # (N, I)
    W_h: Array  # (N, N); zeros and unused for the feedforward cell
    b: Array  # (N,)


class GRUParams(NamedTuple):
    W_x: Array  # (3N, I): rows [reset | update | candidate]
    W_h: Array  # (3N, N)
    b_x: Array  # (3N,)
    b_h: Array  # (3N,)


@jax.custom_jvp
def _times_transposed(v: Array, W: Array) -> Array:
    """v @ W.T, differentiated as usual; only the form of the products differs. The value is computed from W.T
    (the product the forward pass wants), the tangent in v directly from W, so that the gradient back into v
    (in BPTT: through every step) is g @ W, a plain product with the weights as stored, instead of a product
    with the transposed copy's transpose, which XLA's CPU matmul runs several times slower."""
    return v @ W.T


@_times_transposed.defjvp
def _times_transposed_jvp(primals, tangents):
    v, W = primals
    dv, dW = tangents
    contract_last = (((v.ndim - 1,), (1,)), ((), ()))
    return v @ W.T, jax.lax.dot_general(dv, W, contract_last) + jax.lax.dot_general(v, dW, contract_last)


def _input_weights(key: Array, rows: int, n_inputs: int) -> Array:
    return jax.random.normal(key, (rows, n_inputs)) / jnp.sqrt(max(n_inputs, 1))


def _recurrent_weights(key: Array, rows: int, n_hidden: int, gain: float | Array) -> Array:
    return gain * jax.random.normal(key, (rows, n_hidden)) / jnp.sqrt(n_hidden)


def rnn_init(key: Array, n_inputs: int, n_hidden: int, gain: float | Array = 1.0) -> DenseRNNParams:
    k_x, k_h = jax.random.split(key)
    return DenseRNNParams(W_x=_input_weights(k_x, n_hidden, n_inputs),
                          W_h=_recurrent_weights(k_h, n_hidden, n_hidden, gain), b=jnp.zeros((n_hidden,)))


def rnn_step(params: DenseRNNParams, h: Array, x: Array) -> Array:
    """h' = tanh(W_x x + W_h h + b)."""
    return jnp.tanh(params.W_x @ x + params.W_h @ h + params.b)


def relu_rnn_init(key: Array, n_inputs: int, n_hidden: int, delta: float | Array = 0.1) -> DenseRNNParams:
    """Kononov et al.'s initialisation: W_x, W_h ~ U(-delta, delta) elementwise, b = 0."""
    k_x, k_h = jax.random.split(key)
    return DenseRNNParams(W_x=jax.random.uniform(k_x, (n_hidden, n_inputs), minval=-delta, maxval=delta),
                          W_h=jax.random.uniform(k_h, (n_hidden, n_hidden), minval=-delta, maxval=delta),
                          b=jnp.zeros((n_hidden,)))


def relu_rnn_step(params: DenseRNNParams, h: Array, x: Array) -> Array:
    """h' = max(0, W_x x + W_h h + b)."""
    return jax.nn.relu(params.W_x @ x + params.W_h @ h + params.b)


def mlp_init(key: Array, n_inputs: int, n_hidden: int, gain: float | Array = 1.0) -> DenseRNNParams:
    del gain
    return DenseRNNParams(W_x=_input_weights(key, n_hidden, n_inputs), W_h=jnp.zeros((n_hidden, 0)),
                          b=jnp.zeros((n_hidden,)))


def mlp_step(params: DenseRNNParams, h: Array, x: Array) -> Array:
    """h' = tanh(W_x x + b): no memory."""
    del h
    return jnp.tanh(params.W_x @ x + params.b)


def gru_init(key: Array, n_inputs: int, n_hidden: int, gain: float | Array = 1.0) -> GRUParams:
    k_x, k_h = jax.random.split(key)
    return GRUParams(W_x=_input_weights(k_x, 3 * n_hidden, n_inputs),
                     W_h=_recurrent_weights(k_h, 3 * n_hidden, n_hidden, gain),
                     b_x=jnp.zeros((3 * n_hidden,)), b_h=jnp.zeros((3 * n_hidden,)))


def gru_step(params: GRUParams, h: Array, x: Array) -> Array:
    """One GRU step (reset gate applied to the recurrent candidate term, as in cuDNN / flax).

    Written as row vectors times transposed weights and a three-way split: batched (vmapped) this keeps the
    batch axis first and the features last in every product, and the split's gradient is a concatenation
    (slices would transpose to padded copies); the same numbers as W @ h."""
    gx_r, gx_z, gx_n = jnp.split(x @ params.W_x.T + params.b_x, 3, axis=-1)
    gh_r, gh_z, gh_n = jnp.split(_times_transposed(h, params.W_h) + params.b_h, 3, axis=-1)
    r = jax.nn.sigmoid(gx_r + gh_r)
    z = jax.nn.sigmoid(gx_z + gh_z)
    cand = jnp.tanh(gx_n + r * gh_n)
    return (1.0 - z) * cand + z * h
