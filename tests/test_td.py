"""TD(lambda) traces against the forward-view lambda-return on a small chain."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynjax.rules.td import accumulating_trace, dutch_trace, lambda_returns, td_error


def _chain(T=9, n_feat=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(T + 1, n_feat))  # features of s_0 .. s_T
    r = rng.normal(size=T)
    terminated = np.zeros(T, bool)
    terminated[-1] = True
    return jnp.asarray(x), jnp.asarray(r), jnp.asarray(terminated)


def test_lambda_returns_match_slow_definition(x64):
    x, r, term = _chain()
    w = jnp.linspace(-0.5, 0.5, x.shape[1])
    gamma, lam = 0.9, 0.7
    v = x @ w
    disc = gamma * (1.0 - term.astype(float))
    g = lambda_returns(r, v[1:], disc, lam)
    T = len(r)
    for t in range(T):  # sum of weighted n-step returns, episode terminates at T
        n_step = []
        for n in range(1, T - t + 1):
            ret = sum(gamma**k * float(r[t + k]) for k in range(n))
            if t + n < T:
                ret += gamma**n * float(v[t + n])
            n_step.append(ret)
        expected = (1 - lam) * sum(lam ** (n - 1) * n_step[n - 1] for n in range(1, T - t)) + lam ** (T - t - 1) * n_step[-1]
        np.testing.assert_allclose(g[t], expected, rtol=1e-10)


def test_accumulating_trace_offline_equivalence(x64):
    """Sum_t delta_t z_t == Sum_t (G^lambda_t - v(s_t)) grad v(s_t) for fixed weights over an episode."""
    x, r, term = _chain()
    w = jnp.array([0.3, -0.2, 0.1, 0.4])
    gamma, lam = 0.95, 0.8
    v = x @ w
    z, backward = jnp.zeros(4), jnp.zeros(4)
    for t in range(len(r)):
        z = accumulating_trace(z, x[t], gamma * lam)
        backward = backward + td_error(r[t], v[t], v[t + 1], term[t], gamma) * z
    g = lambda_returns(r, v[1:], gamma * (1.0 - term.astype(float)), lam)
    forward = jnp.sum((g - v[:-1])[:, None] * x[:-1], axis=0)
    np.testing.assert_allclose(backward, forward, rtol=1e-10)


def test_td_error_bootstraps_on_truncation_only():
    assert float(td_error(1.0, 2.0, 5.0, jnp.asarray(True), 0.5)) == -1.0
    assert float(td_error(1.0, 2.0, 5.0, jnp.asarray(False), 0.5)) == 1.5


def test_dutch_trace_equals_online_lambda_return(x64):
    """True online TD(lambda) with dutch traces reproduces the online lambda-return algorithm exactly
    (van Seijen et al. 2016): the final weights of both agree after an episode."""
    x, r, term = _chain(T=6, n_feat=3, seed=3)
    gamma, lam, alpha = 0.9, 0.6, 0.1
    T = len(r)
    discounts = gamma * (1.0 - term.astype(float))

    # Online lambda-return algorithm (Sutton & Barto 2018, sec. 12.4): at each horizon h, redo the updates of
    # steps 0..h-1 from w0 with truncated lambda-returns; bootstraps at S_k use the diagonal weights w^{k-1}_{k-1}.
    w0 = jnp.zeros(3)
    diag = [w0]
    for h in range(1, T + 1):
        vals = [float(x[k] @ diag[k - 1]) for k in range(1, h + 1)]  # vals[k-1] = v(S_k)
        g = [0.0] * h
        g[h - 1] = float(r[h - 1]) + float(discounts[h - 1]) * vals[h - 1]
        for t in range(h - 2, -1, -1):
            g[t] = float(r[t]) + float(discounts[t]) * ((1 - lam) * vals[t] + lam * g[t + 1])
        w = w0
        for t in range(h):
            w = w + alpha * (g[t] - float(x[t] @ w)) * x[t]
        diag.append(w)
    w_final_prev = diag[-1]
    # True online TD(lambda)
    w, z, v_old = w0, jnp.zeros(3), 0.0
    for t in range(T):
        v = float(x[t] @ w)
        v_next = float(x[t + 1] @ w) * (1.0 - float(term[t]))
        delta = float(r[t]) + gamma * v_next - v
        z = dutch_trace(z, x[t], gamma * lam, alpha)
        w = w + alpha * (delta + v - v_old) * z - alpha * (v - v_old) * x[t]
        v_old = v_next
    np.testing.assert_allclose(w, w_final_prev, rtol=1e-8, atol=1e-12)


def test_reward_normalisation_forms():
    """standardize: (r - mean) / std of the rewards (a constant reward becomes 0); scale: r / std of the
    discounted return, sign kept; both against numpy on the same stream; clipped while the moments settle."""
    import jax.numpy as jnp

    from dynjax.agents import reward_norm as rn

    rng = np.random.default_rng(0)
    rewards = rng.normal(1.0, 2.0, 500).astype(np.float32)
    dones = np.zeros(500, bool)
    dones[99::100] = True
    gamma = 0.9
    s_std, s_sc = rn.init(), rn.init()
    for r, d in zip(rewards, dones):
        s_std = rn.update(s_std, jnp.float32(r), jnp.bool_(d), gamma, "standardize")
        s_sc = rn.update(s_sc, jnp.float32(r), jnp.bool_(d), gamma, "scale")
    G, g = [], 0.0
    for r, d in zip(rewards, dones):
        g = gamma * g + r
        G.append(g)
        g = 0.0 if d else g
    x = jnp.float32(3.0)
    assert float(rn.normalize(s_std, x, "standardize")) == pytest.approx((3.0 - rewards.mean()) / rewards.std(), rel=1e-3)
    assert float(rn.normalize(s_sc, x, "scale")) == pytest.approx(3.0 / np.std(G), rel=1e-3)
    assert float(rn.normalize(s_sc, x, "none")) == 3.0 and rn.update(s_sc, x, False, gamma, "none") is s_sc
    const = rn.init()
    for _ in range(5):
        const = rn.update(const, jnp.float32(1.0), jnp.bool_(False), gamma, "standardize")
    assert abs(float(rn.normalize(const, jnp.float32(1.0), "standardize"))) < 1e-3
    first = rn.update(rn.init(), jnp.float32(5.0), jnp.bool_(False), gamma, "scale")
    assert float(rn.normalize(first, jnp.float32(5.0), "scale")) == rn.CLIP  # no variance yet: clipped
