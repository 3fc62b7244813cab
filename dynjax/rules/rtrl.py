"""Exact real-time recurrent learning (Williams & Zipser 1989) for the CT-RNN, with dt and tau.

The full sensitivity P_t = dh_t/dtheta obeys, for h_t = h_{t-1} + dt F(h_{t-1}, theta),

    P_t = (I + dt dF/dh) P_{t-1} + dt dF/dtheta,      grad = g^T P_t

with  I + dt dF/dh = diag(1 - dt/tau) + diag((dt/tau) tanh'(z)) W_hh.  Stored per parameter block:
P^W[i, k, j] = dh_i/dW[k, j]  (N x N x (I+N+1)) and P^tau[i, k] = dh_i/dtau_k (N x N).
O(N^3) memory and O(N^4) time per step; the reference for RFLO and the test of the axis conventions
(it must equal autodiff BPTT through the unrolled sequence).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from dynjax.cells.ctrnn import CTRNNParams, CTRNNStepAux, recurrent_block
from dynjax.rules.base import OnlineRule


class RTRLTrace(NamedTuple):
    P_W: jax.Array  # (N, N, I + N + 1)
    P_tau: jax.Array  # (N, N)


def _init(params: CTRNNParams) -> RTRLTrace:
    n = params.tau.shape[0]
    return RTRLTrace(P_W=jnp.zeros((n,) + params.W.shape, params.W.dtype), P_tau=jnp.zeros((n, n), params.tau.dtype))


def _update(trace: RTRLTrace, params: CTRNNParams, aux: CTRNNStepAux, dt: jax.Array,
            restart: jax.Array | bool = False) -> RTRLTrace:
    k = dt / params.tau
    a = jnp.tanh(aux.z)
    local = k * (1.0 - a * a)  # dh_i/dz_i
    jac_h = jnp.diag(1.0 - k) + local[:, None] * recurrent_block(params)  # dh_t/dh_{t-1}
    jac_h = jac_h * jnp.where(restart, 0.0, 1.0)  # at an episode start the previous P counts as zero
    n = params.tau.shape[0]
    idx = jnp.arange(n)
    P_W = jnp.einsum("im,mkj->ikj", jac_h, trace.P_W)
    P_W = P_W.at[idx, idx, :].add(local[:, None] * aux.xi[None, :])
    P_tau = jac_h @ trace.P_tau
    P_tau = P_tau.at[idx, idx].add(dt * (aux.h_prev - a) / (params.tau * params.tau))
    return RTRLTrace(P_W=P_W, P_tau=P_tau)


def _grads(trace: RTRLTrace, g: jax.Array) -> CTRNNParams:
    return CTRNNParams(W=jnp.einsum("i,ikj->kj", g, trace.P_W), tau=g @ trace.P_tau)


rtrl = OnlineRule(name="rtrl", init=_init, update=_update, grads=_grads)
