"""Largest Lyapunov exponent by two trajectories against systems whose exponent is known."""

import jax
import jax.numpy as jnp
import numpy as np

from dynjax.analysis import largest_lyapunov

NO_RESET = jnp.zeros((), bool)


def test_logistic_map_r4_gives_ln2(x64):
    est = jax.jit(lambda x: largest_lyapunov(lambda x: (4.0 * x * (1.0 - x), NO_RESET), x, jnp.ones(()), 1e-6, 1,
                                             100_000))(jnp.asarray(0.3))
    assert int(est.segments) == 100_000
    np.testing.assert_allclose(float(est.exponent), np.log(2.0), rtol=0.01)


def test_contracting_linear_system_gives_log_spectral_radius(x64):
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    A = jnp.asarray(Q @ np.diag([0.9, -0.7, 0.5, 0.3, 0.1]) @ Q.T)
    est = largest_lyapunov(lambda x: (A @ x, NO_RESET), jnp.asarray(rng.normal(size=5)), jnp.ones(5), 1e-6, 5, 400)
    np.testing.assert_allclose(float(est.exponent), np.log(0.9), rtol=0.01)


def test_segments_across_a_reset_do_not_count(x64):
    """An expanding map (exponent ln 3) that resets every 7th step: only segments without a reset count."""
    def step(c):
        x, t = c
        t = t + 1
        reset = t % 7 == 0
        return (jnp.where(reset, 0.1, 3.0 * x), t), reset

    est = largest_lyapunov(step, (jnp.asarray(0.1), jnp.asarray(0)), (jnp.ones(()), jnp.asarray(0)), 1e-9, 2, 70)
    assert 0 < int(est.segments) < 70
    np.testing.assert_allclose(float(est.exponent), np.log(3.0), rtol=1e-6)


def test_driven_spectrum_of_a_linear_network_with_resets():
    """h_t = A h_{t-1} + B x_t with A = diag(0.8, 0.5) (plus a rotation-free coupling in the upper triangle):
    the exponents are ln 0.8 and ln 0.5 whatever the inputs; episode starts (resets) leave them unchanged."""
    import math

    from dynjax.analysis import driven_lyapunov_spectrum

    A = jnp.array([[0.8, 0.3], [0.0, 0.5]])
    B = jnp.array([[1.0], [-1.0]])
    F = lambda h, x: A @ h + B @ x  # noqa: E731
    xs = jax.random.normal(jax.random.key(0), (600, 1))
    starts = jnp.zeros(600, bool).at[jnp.arange(0, 600, 97)].set(True)
    for kw in ({}, {"starts": starts, "reorth_every": 3, "settle": 10}):
        est = driven_lyapunov_spectrum(F, jnp.zeros(2), xs, transient=50, **kw)
        np.testing.assert_allclose(est.exponents, [math.log(0.8), math.log(0.5)], rtol=1e-3)
    assert int(est.blocks) < 600 // 3 - 50 // 3  # blocks with a reset did not count


def test_observe_records_the_reference_run():
    """`observe` sees the reference trajectory after every step: what a second run from x0 would see."""
    step = lambda x: (3.9 * x * (1.0 - x), NO_RESET)  # noqa: E731
    est = largest_lyapunov(step, jnp.asarray(0.3), jnp.ones(()), 1e-6, 4, 5, observe=lambda x: x * x)
    xs = jax.lax.scan(lambda x, _: (step(x)[0], step(x)[0] ** 2), jnp.asarray(0.3), None, length=20)[1]
    assert est.observed.shape == (5, 4)
    np.testing.assert_array_equal(est.observed.reshape(-1), xs)
