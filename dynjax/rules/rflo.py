"""RFLO: random-feedback local online learning (Murray 2019, eLife 8:e43299), extended to tau and dt.

RFLO keeps only the diagonal (local) part of the RTRL sensitivity dh_i/dtheta_i:

    J^W_t[i, j] = (1 - dt/tau_i) J^W_{t-1}[i, j] + (dt/tau_i) tanh'(z_i) xi_t[j]
    J^tau_t[i]  = (1 - dt/tau_i) J^tau_{t-1}[i]  + dt (h_{t-1,i} - tanh(z_i)) / tau_i^2

    dL/dW[i, j] ~= g_i J^W[i, j]        dL/dtau_i ~= g_i J^tau[i]

It is exact RTRL (dynjax.rules.rtrl) with the recurrent term (dt/tau) diag(tanh') W_hh P dropped:
O(N (I + N)) memory and time per step instead of O(N^3) / O(N^4).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from dynjax.cells.ctrnn import CTRNNParams, CTRNNStepAux
from dynjax.rules.base import OnlineRule


class RFLOTrace(NamedTuple):
    J_W: jax.Array  # (N, I + N + 1)
    J_tau: jax.Array  # (N,)


def _init(params: CTRNNParams) -> RFLOTrace:
    return RFLOTrace(J_W=jnp.zeros_like(params.W), J_tau=jnp.zeros_like(params.tau))


def _update(trace: RFLOTrace, params: CTRNNParams, aux: CTRNNStepAux, dt: jax.Array,
            restart: jax.Array | bool = False) -> RFLOTrace:
    k = dt / params.tau
    a = jnp.tanh(aux.z)
    # At an episode start the previous trace counts as zero (a select XLA fuses into this update's one pass;
    # folding it into the decay instead ran RFLO's step 10-40% slower).
    trace = jax.tree.map(lambda t: jnp.where(restart, jnp.zeros_like(t), t), trace)
    J_W = (1.0 - k)[:, None] * trace.J_W + (k * (1.0 - a * a))[:, None] * aux.xi[None, :]
    J_tau = (1.0 - k) * trace.J_tau + dt * (aux.h_prev - a) / (params.tau * params.tau)
    return RFLOTrace(J_W=J_W, J_tau=J_tau)


def _grads(trace: RFLOTrace, g: jax.Array) -> CTRNNParams:
    return CTRNNParams(W=g[:, None] * trace.J_W, tau=g * trace.J_tau)


rflo = OnlineRule(name="rflo", init=_init, update=_update, grads=_grads)
