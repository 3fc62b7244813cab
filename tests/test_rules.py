"""RTRL against autodiff BPTT, RFLO against its closed form, the agent's eligibility against autodiff."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynjax.agents.rtrrl import AgentParams, eligibility
from dynjax.cells import CTRNNParams, ctrnn_init, ctrnn_step
from dynjax.agents.heads import bounded_gaussian, categorical, heads_init
from dynjax.rules import rflo, rtrl


def _problem(key, n_in=3, n=5, T=12):
    k1, k2, k3 = jax.random.split(key, 3)
    params = ctrnn_init(k1, n_in, n, gain=1.5, tau_low=1.0, tau_high=4.0)
    params = params._replace(W=params.W.at[:, -1].set(0.3 * jax.random.normal(k3, (n,))))
    us = jax.random.normal(k2, (T, n_in))
    cs = jax.random.normal(jax.random.fold_in(key, 7), (T, n))
    return params, us, cs


def _bptt_loss(params, us, cs, dt):
    """L = sum_t c_t . h_t through the unrolled CT-RNN (the slow obvious reference)."""

    def step(h, inp):
        u, c = inp
        h, _ = ctrnn_step(params, h, u, dt)
        return h, c @ h

    _, ls = jax.lax.scan(step, jnp.zeros(params.tau.shape), (us, cs))
    return jnp.sum(ls)


def _online_grads(rule, params, us, cs, dt):
    """sum_t rule.grads(trace_t, c_t): online estimate of dL/dtheta with theta fixed."""
    h, trace = jnp.zeros(params.tau.shape), rule.init(params)
    total = jax.tree.map(jnp.zeros_like, params)
    for u, c in zip(us, cs):
        h, aux = ctrnn_step(params, h, u, dt)
        trace = rule.update(trace, params, aux, dt)
        total = jax.tree.map(jnp.add, total, rule.grads(trace, c))
    return total


def _rel_err(a, b):
    return float(jnp.linalg.norm(a - b) / jnp.linalg.norm(b))


@pytest.mark.parametrize("dt", [1.0, 0.3])
def test_rtrl_equals_bptt(x64, dt):
    params, us, cs = _problem(jax.random.key(0))
    params = jax.tree.map(lambda x: x.astype(jnp.float64), params)
    us, cs = us.astype(jnp.float64), cs.astype(jnp.float64)
    exact = jax.grad(_bptt_loss)(params, us, cs, dt)
    online = _online_grads(rtrl, params, us, cs, dt)
    assert online.W.dtype == jnp.float64
    assert _rel_err(online.W, exact.W) < 1e-6
    assert _rel_err(online.tau, exact.tau) < 1e-6


def test_rflo_differs_from_bptt_only_by_recurrent_term(x64):
    """With W_hh = 0 the dropped term vanishes, so RFLO is exact; with W_hh != 0 it is not."""
    params, us, cs = _problem(jax.random.key(1))
    params = jax.tree.map(lambda x: x.astype(jnp.float64), params)
    us, cs = us.astype(jnp.float64), cs.astype(jnp.float64)
    n_in, n = us.shape[1], params.tau.shape[0]
    no_rec = params._replace(W=params.W.at[:, n_in : n_in + n].set(0.0))
    exact = jax.grad(_bptt_loss)(no_rec, us, cs, 0.5)
    online = _online_grads(rflo, no_rec, us, cs, 0.5)
    assert _rel_err(online.W, exact.W) < 1e-9 and _rel_err(online.tau, exact.tau) < 1e-9
    exact_rec = jax.grad(_bptt_loss)(params, us, cs, 0.5)
    assert _rel_err(_online_grads(rflo, params, us, cs, 0.5).W, exact_rec.W) > 1e-3


def test_rflo_trace_closed_form_three_steps(x64):
    """J^W and J^tau after 3 steps, written out by hand from Murray (2019) with tau and dt."""
    W = jnp.array([[0.5, -0.3, 0.2, 0.1], [0.4, 0.6, -0.5, -0.2]], jnp.float64)  # 1 input, 2 units, bias
    tau = jnp.array([2.0, 3.0], jnp.float64)
    params, dt = CTRNNParams(W=W, tau=tau), 0.5
    us = [jnp.array([1.0]), jnp.array([-0.5]), jnp.array([2.0])]
    h, trace = jnp.zeros(2, jnp.float64), rflo.init(params)
    hs, xis, zs = [h], [], []
    for u in us:
        h, aux = ctrnn_step(params, h, u, dt)
        trace = rflo.update(trace, params, aux, dt)
        hs.append(h), xis.append(aux.xi), zs.append(aux.z)
    k = dt / tau
    a = [np.tanh(np.asarray(z)) for z in zs]
    expected_W = sum(
        ((1 - k) ** (2 - t))[:, None] * (k * (1 - a[t] ** 2))[:, None] * np.asarray(xis[t])[None, :] for t in range(3)
    )
    expected_tau = sum(((1 - k) ** (2 - t)) * dt * (np.asarray(hs[t]) - a[t]) / tau**2 for t in range(3))
    np.testing.assert_allclose(trace.J_W, expected_W, rtol=1e-12)
    np.testing.assert_allclose(trace.J_tau, expected_tau, rtol=1e-12)
    np.testing.assert_allclose(xis[2], [2.0, hs[2][0], hs[2][1], 1.0])


@pytest.mark.parametrize("policy_kind", ["categorical", "gaussian"])
def test_agent_body_gradient_equals_autodiff_without_fa(x64, policy_kind):
    """RTRL + no feedback alignment: psi's body part = grad of v(h_T) + eta_pi log pi(a|h_T) through time."""
    params, us, _ = _problem(jax.random.key(2), T=9)
    body = jax.tree.map(lambda x: x.astype(jnp.float64), params)
    us = us.astype(jnp.float64)
    policy = categorical(3) if policy_kind == "categorical" else bounded_gaussian(jnp.array([-2.0]), jnp.array([1.0]))
    heads, _ = heads_init(jax.random.key(3), 5, policy.out_dim, actor_scale=1.0)
    heads = jax.tree.map(lambda x: x.astype(jnp.float64), heads)
    heads = heads._replace(w_C=jnp.linspace(-1.0, 1.0, 5), b_C=jnp.asarray(0.2))
    action = jnp.asarray(2) if policy_kind == "categorical" else jnp.array([0.3])
    eta_pi, dt = 0.7, 0.8

    def objective(b):
        h = jnp.zeros(5, jnp.float64)
        for u in us:
            h, _ = ctrnn_step(b, h, u, dt)
        return heads.w_C @ h + heads.b_C + eta_pi * policy.log_prob(heads.W_A @ h, action)

    h, trace = jnp.zeros(5, jnp.float64), rtrl.init(body)
    for u in us:
        h, aux = ctrnn_step(body, h, u, dt)
        trace = rtrl.update(trace, body, aux, dt)
    psi, ent = eligibility(policy, rtrl, AgentParams(body, heads), None, trace, h, action, eta_pi)
    exact = jax.grad(objective)(body)
    assert _rel_err(psi.body.W, exact.W) < 1e-6
    assert _rel_err(psi.body.tau, exact.tau) < 1e-6
    np.testing.assert_allclose(psi.heads.w_C, h)
    exact_actor = jax.grad(lambda wa: eta_pi * policy.log_prob(wa @ h, action))(heads.W_A)
    np.testing.assert_allclose(psi.heads.W_A, exact_actor, rtol=1e-10)
    exact_ent = jax.grad(lambda wa: policy.entropy(wa @ h))(heads.W_A)
    np.testing.assert_allclose(ent.heads.W_A, exact_ent, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("rule", [rflo, rtrl], ids=["rflo", "rtrl"])
def test_restart_is_a_fresh_trace(rule):
    """update(trace, ..., restart=True) is update(init(), ...) (the trace before an episode start counts as zero)
    and restart=False the plain update, under jit and vmap (to rounding: jit fuses multiply-adds that the eager
    reference rounds twice)."""
    params, us, _ = _problem(jax.random.key(4))
    h, trace = jnp.zeros(params.tau.shape), rule.init(params)
    for u in us[:6]:
        h, aux = ctrnn_step(params, h, u, 0.5)
        trace = rule.update(trace, params, aux, 0.5)
    fresh = rule.update(rule.init(params), params, aux, 0.5)
    go_on = rule.update(trace, params, aux, 0.5)
    both = jax.jit(jax.vmap(lambda r: rule.update(trace, params, aux, 0.5, restart=r)))(jnp.asarray([True, False]))
    for a, b, c in zip(jax.tree.leaves(fresh), jax.tree.leaves(go_on), jax.tree.leaves(both)):
        np.testing.assert_allclose(c[0], a, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(c[1], b, rtol=1e-5, atol=1e-7)
        assert not np.allclose(a, b)
