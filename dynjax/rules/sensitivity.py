"""Sensitivity of leaky tanh neurons, and the Dynamic RL rules that act on it: SAL, SRL, output regulariser.

Shibata, Ejima, Tokumaru & Matsuki (2021, Neural Networks 143, arXiv 2012.13134) and Shibata (2025,
"Dynamic Reinforcement Learning for Actors", arXiv 2502.10200). For neuron j of a layer (dynjax.cells.mtrnn)
with potential U_j, output f(U_j), f = tanh, and input weights w_j (bias excluded from the norm):

    s_j = f'(U_j) ||w_j||_2                                  (the norm of d o_j / d x)

log RMS_j(s_j) over a layer approximates that layer's contribution to the largest Lyapunov exponent.
Gradient (derived; exact when the other neurons are held fixed), with the layer's leaky input trace e and bias
trace e^b (one of each per layer, since the layer's neurons share tau; e = x, e^b = 1 for tau = 1):

    e_t   = (1 - 1/tau) e_{t-1}   + (1/tau) x_t              e^b_t = (1 - 1/tau) e^b_{t-1} + 1/tau
    grad_{w_j} s_j = f'(U_j) w_j / ||w_j|| + ||w_j|| f''(U_j) e_t        d s_j / d b_j = ||w_j|| f''(U_j) e^b_t
    f' = 1 - f^2,   f'' = -2 f f'

SAL (sensitivity adjustment learning) raises s_j where its moving average is below the threshold; SRL
(sensitivity-controlled RL) moves s_j against the TD error of the transition the step produced:

    s_bar_j <- beta s_bar_j + (1 - beta) s_j
    s_bar_j <  s_th:   theta_j += eta_SAL grad s_j                   (SAL)
    otherwise:         theta_j -= eta_SRL T(delta_t) G_j             (SRL; G = grad s, or its trace
                                                                      G <- lambda_s G + grad s)

T is the TD transform: raw, sign, or clipped to [-1, 1]. Output neurons whose |U| exceeds U_max also descend
U^2 / 2 (the output saturation regulariser): b -= eta_reg U, w -= eta_reg U e.

Every function takes a `LeakyLayer` (W over all inputs, bias b) and the layer's potentials U. The engine's
other tanh cells are viewed as one: `layer_view(params)` for the CT-RNN (U = z = W xi; its leaky variable is
the output, so e = x exactly) and the vanilla RNN (U = W_x x + W_h h + b, tau = 1).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from dynjax.cells.ctrnn import CTRNNParams
from dynjax.cells.gated import DenseRNNParams
from dynjax.cells.mtrnn import LeakyLayer

Array = jax.Array
TD_TRANSFORMS = ("raw", "sign", "clip")


class InputTrace(NamedTuple):
    """Leaky input trace of one layer: e (fan_in,) and e^b (), i.e. d u_j / d w_j and d u_j / d b_j."""

    e: Array
    e_b: Array


def layer_view(params: CTRNNParams | DenseRNNParams | LeakyLayer) -> LeakyLayer:
    """A CT-RNN's or vanilla RNN's weights as one LeakyLayer over its input vector [x ; h] (bias apart)."""
    if isinstance(params, CTRNNParams):
        return LeakyLayer(W=params.W[:, :-1], b=params.W[:, -1])
    if isinstance(params, DenseRNNParams):
        return LeakyLayer(W=jnp.concatenate([params.W_x, params.W_h], axis=1), b=params.b)
    return params


def input_trace_init(layer: LeakyLayer) -> InputTrace:
    return InputTrace(e=jnp.zeros(layer.W.shape[1], layer.W.dtype), e_b=jnp.zeros((), layer.W.dtype))


def input_trace_update(trace: InputTrace, x: Array, tau: Array) -> InputTrace:
    """e_t = (1 - 1/tau) e_{t-1} + (1/tau) x_t;  e^b_t = (1 - 1/tau) e^b_{t-1} + 1/tau."""
    return InputTrace(e=trace.e + (x - trace.e) / tau, e_b=trace.e_b + (1.0 - trace.e_b) / tau)


def _norms(layer: LeakyLayer) -> Array:
    return jnp.sqrt(jnp.sum(layer.W * layer.W, axis=1))


def sensitivity(layer: LeakyLayer, u: Array) -> Array:
    """s_j = f'(U_j) ||w_j||, one value per neuron of the layer."""
    f = jnp.tanh(u)
    return (1.0 - f * f) * _norms(layer)


def sensitivity_grad(layer: LeakyLayer, u: Array, trace: InputTrace) -> LeakyLayer:
    """(grad_W s, d s / d b) of every neuron of the layer, in the layout of the layer's weights."""
    f = jnp.tanh(u)
    fp = 1.0 - f * f
    fpp = -2.0 * f * fp
    norm = _norms(layer)
    dW = (fp / jnp.maximum(norm, 1e-12))[:, None] * layer.W + (norm * fpp)[:, None] * trace.e[None, :]
    return LeakyLayer(W=dW, b=norm * fpp * trace.e_b)


def log_rms(s: Array) -> Array:
    """log RMS(s) = 0.5 log mean(s^2) over a layer."""
    return 0.5 * jnp.log(jnp.mean(s * s))


def td_transform(delta: Array, kind: str) -> Array:
    """The TD error as SRL uses it: raw, its sign, or clipped to [-1, 1]."""
    if kind == "sign":
        return jnp.sign(delta)
    if kind == "clip":
        return jnp.clip(delta, -1.0, 1.0)
    return delta


def sal_srl_update(layer: LeakyLayer, grad_s: LeakyLayer, G: LeakyLayer, s_bar: Array, delta: Array,
                   eta_sal: Array, eta_srl: Array, s_th: Array) -> tuple[LeakyLayer, Array]:
    """One Dynamic RL update of a layer: SAL where s_bar < s_th, SRL elsewhere. Returns the new layer and the
    per-neuron SAL gate (True where SAL acted)."""
    sal = s_bar < s_th
    step_W = jnp.where(sal[:, None], eta_sal * grad_s.W, -eta_srl * delta * G.W)
    step_b = jnp.where(sal, eta_sal * grad_s.b, -eta_srl * delta * G.b)
    return LeakyLayer(W=layer.W + step_W, b=layer.b + step_b), sal


def saturation_regulariser(layer: LeakyLayer, u: Array, trace: InputTrace, eta_reg: Array, u_max: Array) -> LeakyLayer:
    """Gradient step on -U^2/2 for neurons with |U| > U_max: b -= eta U e^b, w -= eta U e."""
    g = jnp.where(jnp.abs(u) > u_max, eta_reg * u, 0.0)
    return LeakyLayer(W=layer.W - g[:, None] * trace.e[None, :], b=layer.b - g * trace.e_b)
