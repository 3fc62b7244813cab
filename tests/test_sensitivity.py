"""Sensitivity, its gradient against autodiff, and what SAL / SRL do to it (dynjax.rules.sensitivity)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynjax.cells.mtrnn import LeakyLayer, leaky_update, mtrnn_init, spectral_radius
from dynjax.cells import ctrnn_init, rnn_init
from dynjax.rules.sensitivity import (InputTrace, input_trace_init, input_trace_update, layer_view, log_rms,
                                      sal_srl_update, saturation_regulariser, sensitivity, sensitivity_grad)


def _layer(key, n, fan_in, scale=1.0):
    k1, k2 = jax.random.split(key)
    return LeakyLayer(W=scale * jax.random.normal(k1, (n, fan_in)) / np.sqrt(fan_in), b=0.3 * jax.random.normal(k2, (n,)))


def test_gradient_tau_one_matches_autodiff(x64):
    layer = _layer(jax.random.key(0), 5, 7)
    x = jax.random.normal(jax.random.key(1), (7,))
    u = layer.W @ x + layer.b
    auto = jax.grad(lambda l: jnp.sum(sensitivity(l, l.W @ x + l.b)))(layer)
    ours = sensitivity_grad(layer, u, InputTrace(e=x, e_b=jnp.ones(())))
    np.testing.assert_allclose(ours.W, auto.W, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.b, auto.b, rtol=1e-10, atol=1e-12)


def test_gradient_leaky_neuron_matches_exact_derivative(x64):
    """tau > 1: one neuron integrating T inputs; s_T's exact derivative through the whole leaky history."""
    tau, T = 4.0, 30
    layer = _layer(jax.random.key(2), 1, 6)
    xs = jax.random.normal(jax.random.key(3), (T, 6))

    def final_u(l):
        return jax.lax.fori_loop(0, T, lambda t, u: leaky_update(l, u, xs[t], tau), jnp.zeros((1,)))

    auto = jax.grad(lambda l: sensitivity(l, final_u(l))[0])(layer)
    trace = input_trace_init(layer)
    for t in range(T):
        trace = input_trace_update(trace, xs[t], tau)
    ours = sensitivity_grad(layer, final_u(layer), trace)
    np.testing.assert_allclose(ours.W, auto.W, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.b, auto.b, rtol=1e-9, atol=1e-12)


def test_sensitivity_is_norm_of_output_jacobian():
    layer = _layer(jax.random.key(4), 4, 5)
    x = jax.random.normal(jax.random.key(5), (5,))
    J = jax.jacobian(lambda x: jnp.tanh(layer.W @ x + layer.b))(x)
    np.testing.assert_allclose(sensitivity(layer, layer.W @ x + layer.b), jnp.linalg.norm(J, axis=1), rtol=1e-5)
    s = jnp.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(log_rms(s), 0.5 * np.log(14 / 3), rtol=1e-6)


def _drive(layer, steps, delta, eta_sal, eta_srl, s_th, key):
    """A recurrent leaky layer (x = [noise input ; own output]) under SAL/SRL; returns the mean s per step."""
    n = layer.b.shape[0]
    tau = 2.0

    def step(c, k):
        layer, u, tr, s_bar = c
        x = jnp.concatenate([jax.random.normal(k, (3,)), jnp.tanh(u)])
        u = leaky_update(layer, u, x, tau)
        tr = input_trace_update(tr, x, tau)
        s = sensitivity(layer, u)
        s_bar = 0.99 * s_bar + 0.01 * s
        g = sensitivity_grad(layer, u, tr)
        layer, _ = sal_srl_update(layer, g, g, s_bar, delta, eta_sal, eta_srl, s_th)
        return (layer, u, tr, s_bar), jnp.mean(s)

    c0 = (layer, jnp.zeros((n,)), input_trace_init(layer), sensitivity(layer, jnp.zeros((n,))))
    return jax.lax.scan(step, c0, jax.random.split(key, steps))[1]


def test_sal_raises_subcritical_network_to_threshold():
    layer = _layer(jax.random.key(6), 20, 23, scale=0.3)
    s = _drive(layer, 6000, 0.0, 0.001, 0.0, 1.0, jax.random.key(7))
    assert float(s[0]) < 0.4
    # per-neuron gates on a moving average: the mean settles just above the threshold and stays there
    assert 0.95 < float(jnp.mean(s[-1000:])) < 1.2
    assert abs(float(jnp.mean(s[-1000:]) - jnp.mean(s[-3000:-2000]))) < 0.05


@pytest.mark.parametrize("delta, direction", [(1.0, -1), (-1.0, 1)])
def test_srl_moves_sensitivity_against_td_error(delta, direction):
    layer = _layer(jax.random.key(8), 20, 23, scale=1.0)
    s = _drive(layer, 1500, delta, 0.0, 0.003, -jnp.inf, jax.random.key(9))  # s_th = -inf: SAL never acts
    change = float(jnp.mean(s[-200:]) - jnp.mean(s[:200]))
    assert direction * change > 0.05, change


def test_saturation_regulariser_only_touches_saturated_neurons():
    layer = _layer(jax.random.key(10), 3, 4)
    tr = InputTrace(e=jnp.ones((4,)), e_b=jnp.ones(()))
    u = jnp.array([3.0, -0.5, -2.5])
    new = saturation_regulariser(layer, u, tr, 0.1, 2.0)
    np.testing.assert_allclose(new.b - layer.b, [-0.3, 0.0, 0.25], rtol=1e-6)
    np.testing.assert_allclose(new.W[1], layer.W[1])
    # it is a gradient step on -U^2/2: the potential w.e + b moves by -eta U (|e|^2 + e_b^2)
    np.testing.assert_allclose((new.W @ tr.e + new.b) - (layer.W @ tr.e + layer.b), [-1.5, 0.0, 1.25], rtol=1e-5)


def test_mtrnn_upper_self_feedback_has_the_given_spectral_radius():
    p = mtrnn_init(jax.random.key(11), 7, 20, 10, 2, radius=3.0)
    assert p.lower.W.shape == (20, 7 + 10) and p.upper.W.shape == (10, 20 + 10) and p.output.W.shape == (2, 30)
    np.testing.assert_allclose(spectral_radius(p.upper.W[:, 20:]), 3.0, rtol=1e-5)


@pytest.mark.parametrize("init", [lambda k: ctrnn_init(k, 3, 5, 1.5), lambda k: rnn_init(k, 3, 5, 1.5)])
def test_layer_view_of_engine_cells(init):
    """s of a CT-RNN / vanilla RNN neuron is the norm of d tanh(U_j) / d [x ; h]."""
    layer = layer_view(init(jax.random.key(12)))
    xh = jax.random.normal(jax.random.key(13), (8,))
    J = jax.jacobian(lambda v: jnp.tanh(layer.W @ v + layer.b))(xh)
    np.testing.assert_allclose(sensitivity(layer, layer.W @ xh + layer.b), jnp.linalg.norm(J, axis=1), rtol=1e-5)
