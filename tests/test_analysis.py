"""Dynamics analysis against known answers: linearisation and timescales, fixed points (linear, small tanh
networks, a trained 3-bit flip-flop), Lyapunov spectra (Henon, Lorenz, random tanh networks), attractor classes
and PCA. Reference values: shared/reference/analysis.md and the papers named in dynjax.analysis."""

import itertools
import types

import jax
import jax.numpy as jnp
import numpy as np
import optax

from dynjax.analysis import (CLASS_NAMES, classify_attractor, eigen_spectrum, find_fixed_points, gram_schmidt,
                             jacobians, largest_lyapunov, lyapunov_spectrum, pca, timescales, unique_fixed_points)
from dynjax.cells import CELLS

NO_INPUT = jnp.zeros((0,))


def rk4(f, dt):
    def step(x):
        k1 = f(x)
        k2 = f(x + 0.5 * dt * k1)
        k3 = f(x + 0.5 * dt * k2)
        k4 = f(x + dt * k3)
        return x + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    return step


def lorenz(x, sigma=10.0, rho=28.0, beta=8.0 / 3.0):
    return jnp.stack([sigma * (x[1] - x[0]), x[0] * (rho - x[2]) - x[1], x[0] * x[1] - beta * x[2]])


def hopf(mu, omega):
    """Hopf normal form dz/dt = (mu + i omega) z - |z|^2 z in (x, y): a circle of radius sqrt(mu) for mu > 0."""
    def f(x):
        r2 = x[0] ** 2 + x[1] ** 2
        return jnp.stack([mu * x[0] - omega * x[1] - r2 * x[0], omega * x[0] + mu * x[1] - r2 * x[1]])
    return f


def with_eigenvalues(eigs, seed=0):
    """A real matrix with the given real eigenvalues, in a random basis."""
    rng = np.random.default_rng(seed)
    S = rng.normal(size=(len(eigs), len(eigs)))
    return S @ np.diag(eigs) @ np.linalg.inv(S)


# ---------------------------------------------------------------- linearisation and timescales

def test_jacobians_spectrum_and_timescales_of_a_linear_map(x64):
    eigs = np.array([0.99, -0.9, 0.5, 1.2, -1.05, 0.2])
    W, B = jnp.asarray(with_eigenvalues(eigs)), jnp.asarray(np.random.default_rng(1).normal(size=(6, 2)))

    @jax.jit
    def analyse(h, x):
        J_rec, J_inp = jacobians(lambda h, x: W @ h + B @ x, h, x)
        ev = eigen_spectrum(J_rec)
        return J_rec, J_inp, ev, timescales(ev, k=5)

    J_rec, J_inp, ev, ts = analyse(jnp.ones(6), jnp.ones(2))
    np.testing.assert_allclose(J_rec, W, atol=1e-12)
    np.testing.assert_allclose(J_inp, B, atol=1e-12)
    np.testing.assert_allclose(np.abs(ev), [1.2, 1.05, 0.99, 0.9, 0.5, 0.2], atol=1e-8)
    expected = [1 / -np.log(0.99), 1 / -np.log(0.9), 1 / -np.log(0.5), 1 / -np.log(0.2)]
    np.testing.assert_allclose(ts.tau[:4], expected, rtol=1e-6, atol=1e-6)
    assert np.isnan(ts.tau[4])  # only four stable eigenvalues
    assert int(ts.n_unstable) == 2 and ts.unstable.sum() == 2  # 1.2 and -1.05
    np.testing.assert_allclose(ts.modulus[:4], [0.99, 0.9, 0.5, 0.2], atol=1e-8)


# ---------------------------------------------------------------- fixed points

def test_linear_rnn_has_the_unique_fixed_point_solving_I_minus_W(x64):
    """h' = W h + B u: h* = (I - W)^-1 B u, Jacobian W everywhere."""
    rng = np.random.default_rng(0)
    W = jnp.asarray(with_eigenvalues(np.array([0.95, 0.8, -0.7, 0.5, 0.3, -0.2, 0.1, 0.05]), seed=2))
    B, u = jnp.asarray(rng.normal(size=(8, 3))), jnp.asarray(rng.normal(size=3))
    F = lambda h, x: W @ h + B @ x  # noqa: E731
    _, states = jax.lax.scan(lambda h, _: (F(h, u),) * 2, jnp.asarray(rng.normal(size=8)), None, length=100)
    res = jax.jit(lambda k: find_fixed_points(F, u, states, k, 64))(jax.random.key(0))
    fps = unique_fixed_points(res)
    assert len(fps["q"]) == 1 and fps["q"][0] < 1e-20
    np.testing.assert_allclose(fps["points"][0], np.linalg.solve(np.eye(8) - W, B @ u), atol=1e-9)
    np.testing.assert_allclose(np.abs(fps["eigenvalues"][0]), [0.95, 0.8, 0.7, 0.5, 0.3, 0.2, 0.1, 0.05], atol=1e-8)
    assert fps["stable"][0]


def test_relu_rnn_with_every_unit_active_has_the_fixed_point_of_its_linear_region(x64):
    """The ReLU cell (Kononov et al.'s, weights ~ U(-delta, delta)): where every unit is active,
    h' = W_h h + W_x u + b is linear, so with a positive enough bias h* = (I - W_h)^-1 (W_x u + b) > 0 and the
    Jacobian there is W_h."""
    cell, delta, n = CELLS["relu"], 0.05, 12
    p = cell.init(jax.random.key(4), 3, n, types.SimpleNamespace(gain=delta))
    assert np.abs(p.W_h).max() <= delta and np.abs(p.W_x).max() <= delta and np.ptp(np.asarray(p.W_h)) > delta
    p = p._replace(b=jnp.ones(n))
    u = jnp.asarray([1.0, -0.5, 2.0])
    F = lambda h, x: cell.step(p, h, x, None)  # noqa: E731
    _, states = jax.lax.scan(lambda h, _: (F(h, u),) * 2, jnp.zeros(n), None, length=50)
    fps = unique_fixed_points(jax.jit(lambda k: find_fixed_points(F, u, states, k, 32))(jax.random.key(0)))
    expected = np.linalg.solve(np.eye(n) - np.asarray(p.W_h), np.asarray(p.W_x @ u + p.b))
    assert len(fps["q"]) == 1 and (expected > 0).all() and fps["stable"][0]
    # the finder stops at q < TOL_Q = 1e-12, a residual |F(h) - h| of at most 1.4e-6 (h* within it / (1 - |W_h|))
    np.testing.assert_allclose(fps["points"][0], expected, atol=1e-5)
    np.testing.assert_allclose(np.sort(np.abs(fps["eigenvalues"][0])),
                               np.sort(np.abs(np.linalg.eigvals(np.asarray(p.W_h)))), atol=1e-8)


def test_two_unit_tanh_networks_vmapped_over_the_gain(x64):
    """h' = tanh(a h W), W[i, :] = -roll(linspace(-1, 1, 2), -i), two gains a in one program: fixed points 0
    (max|eig| 2a, unstable) and +-(x*, -x*) with x* = tanh(2a x*), max|eig| = 2a (1 - x*^2) (stable):
    a = 1: x* = 0.957504, 0.166372; a = 0.75: x* = 0.858560, 0.394313 (the scalar map x' = tanh(2a x))."""
    n = 2
    W = jnp.asarray(np.stack([-np.roll(np.linspace(-1, 1, n), -i) for i in range(n)]))
    states = jax.random.uniform(jax.random.key(0), (200, n), minval=-1, maxval=1)

    def find(a, key):
        return find_fixed_points(lambda h, x: jnp.tanh(a * h @ W), NO_INPUT, states, key, 128)

    res = jax.jit(jax.vmap(find))(jnp.asarray([1.0, 0.75]), jax.random.split(jax.random.key(1), 2))
    for i, (a, x_star, slope) in enumerate([(1.0, 0.957504, 0.166372), (0.75, 0.858560, 0.394313)]):
        fps = unique_fixed_points(jax.tree.map(lambda v: v[i], res))
        assert len(fps["q"]) == 3 and np.all(fps["q"] < 1e-12)
        order = np.argsort(fps["points"][:, 0])
        pts, rad, stable = fps["points"][order], fps["spectral_radius"][order], fps["stable"][order]
        np.testing.assert_allclose(pts, [[-x_star, x_star], [0, 0], [x_star, -x_star]], atol=1e-6)
        np.testing.assert_allclose(rad, [slope, 2 * a, slope], atol=1e-6)
        assert stable.tolist() == [True, False, True]
        # none of the three lies far from the data (unique_fixed_points drops outliers unless asked for them)
        assert not unique_fixed_points(jax.tree.map(lambda v: v[i], res), include_outliers=True)["outlier"].any()


def _train_flip_flop(key, n_hidden=16, batch=32, T=50, iters=300, lr=0.03, p_pulse=0.1, clip=1.0):
    """A tanh RNN (engine cell "rnn") with a linear readout trained by BPTT (Adam, gradients clipped to norm
    `clip`) on the 3-bit flip-flop: pulses of +-1 on three channels; each output holds the sign of its
    channel's last pulse (Sussillo & Barak 2013). Every channel pulses at t = 0, so the targets are always +-1.
    Returns the parameters, the mean loss of the last 20 updates and the hidden states of a fresh batch."""
    cell = CELLS["rnn"]
    k_cell, k_out, k_data = jax.random.split(key, 3)
    params = {"rnn": cell.init(k_cell, 3, n_hidden, types.SimpleNamespace(gain=0.9)),
              "C": jax.random.normal(k_out, (3, n_hidden)) / np.sqrt(n_hidden), "d": jnp.zeros(3)}

    def trials(key):
        k_p, k_s = jax.random.split(key)
        pulse = jax.random.bernoulli(k_p, p_pulse, (T, batch, 3)).at[0].set(True)
        u = pulse * jnp.where(jax.random.bernoulli(k_s, 0.5, (T, batch, 3)), 1.0, -1.0)
        _, y = jax.lax.scan(lambda y, ut: (jnp.where(ut != 0, ut, y),) * 2, jnp.zeros((batch, 3)), u)
        return u, y

    def run(p, u):
        step = jax.vmap(lambda h, x: cell.step(p["rnn"], h, x, None))
        _, hs = jax.lax.scan(lambda h, ut: (step(h, ut),) * 2, jnp.zeros((batch, n_hidden)), u)
        return hs, hs @ p["C"].T + p["d"]

    def loss(p, key):
        u, y = trials(key)
        return jnp.mean((run(p, u)[1] - y) ** 2)

    opt = optax.chain(optax.clip_by_global_norm(clip), optax.adam(lr))

    def update(carry, key):
        p, s = carry
        value, g = jax.value_and_grad(loss)(p, key)
        updates, s = opt.update(g, s, p)
        return (optax.apply_updates(p, updates), s), value

    (params, _), losses = jax.lax.scan(update, (params, opt.init(params)), jax.random.split(k_data, iters))
    u, _ = trials(jax.random.fold_in(k_data, 1))
    return params, losses[-20:].mean(), run(params, u)[0]


def _rnn_fixed_points(params, states, key, initial=None):
    F = lambda h, x: CELLS["rnn"].step(params["rnn"], h, x, None)  # noqa: E731
    return find_fixed_points(F, jnp.zeros(3), states, key, 256, initial=initial)


def test_trained_three_bit_flip_flop_has_eight_stable_fixed_points_at_the_cube_corners():
    """Three networks trained in one program (vmapped seeds). A network that has learnt the task (final loss
    < 0.01) has 8 stable fixed points whose readouts are the 8 corners of the cube {-1, 1}^3 (within 0.1), and
    on each of the cube's 12 edges a saddle with one unstable direction (found from the midpoint of the two
    memories). One training trajectory depends on the CPU's vector width (float rounding), so the claim is
    asked of a majority, 2 of 3; in 1,024 trainings (256 seeds x 4 vector widths) the final loss was at most
    8e-4 (median 5e-4), and 256 networks (64 seeds x 4 widths) passed every check."""
    params, final_loss, states = jax.jit(jax.vmap(_train_flip_flop))(jax.random.split(jax.random.key(0), 3))
    res = jax.jit(jax.vmap(_rnn_fixed_points))(params, states, jax.random.split(jax.random.key(1), 3))
    mids, verdicts = [], []
    for i in range(3):
        fps = unique_fixed_points(jax.tree.map(lambda v: v[i], res))
        stable = fps["points"][fps["stable"]]
        out = stable @ np.asarray(params["C"][i]).T + np.asarray(params["d"][i])
        corners = np.sign(out)
        memories = (float(final_loss[i]) < 0.01 and len(stable) == 8 and fps["has_eig"].all()
                    and {tuple(c) for c in corners} == set(itertools.product([-1.0, 1.0], repeat=3))
                    and np.abs(out - corners).max() < 0.1)
        edges = [(a, b) for a, b in itertools.combinations(range(len(stable)), 2)
                 if np.abs(corners[a] - corners[b]).sum() == 2]  # memories that differ in one bit
        verdicts.append([memories, float(final_loss[i]), len(stable), float(np.abs(out - corners).max(initial=0))])
        mids.append(np.stack([(stable[a] + stable[b]) / 2 for a, b in edges]) if memories else np.zeros((12, 16)))
    saddles = jax.jit(jax.vmap(_rnn_fixed_points))(params, states, jax.random.split(jax.random.key(2), 3),
                                                   jnp.asarray(np.stack(mids), jnp.float32))
    for i in range(3):
        sad = unique_fixed_points(jax.tree.map(lambda v: v[i], saddles))
        n_unstable_modes = np.sum(np.abs(sad["eigenvalues"]) > 1, axis=1)
        verdicts[i].append(int(np.sum(n_unstable_modes == 1)))
        verdicts[i][0] = verdicts[i][0] and len(sad["q"]) == 12 and sad["has_eig"].all() and verdicts[i][-1] == 12
    # per network: [passes, final loss, stable points, max |readout - corner|, saddles with one unstable mode]
    assert sum(v[0] for v in verdicts) >= 2, verdicts


# ---------------------------------------------------------------- Lyapunov spectra

def test_henon_map_spectrum(x64):
    """Henon (a, b) = (1.4, 0.3): lambda_1 = 0.419; the sum is ln|det J| = ln 0.3 at every step."""
    henon = lambda x: jnp.stack([1.0 - 1.4 * x[0] ** 2 + x[1], 0.3 * x[0]])  # noqa: E731
    est = jax.jit(lambda x: lyapunov_spectrum(henon, x, n_steps=50_000, transient=100))(jnp.asarray([0.1, 0.1]))
    assert int(est.blocks) == 50_000
    np.testing.assert_allclose(float(est.exponents[0]), 0.419, rtol=0.03)
    np.testing.assert_allclose(float(est.exponents.sum()), np.log(0.3), atol=1e-6)


def test_lorenz_spectrum(x64):
    """Lorenz (10, 28, 8/3), RK4 dt 0.01: (0.906, 0, -14.572) per unit time, sum -(10 + 1 + 8/3)."""
    dt = 0.01
    est = jax.jit(lambda x: lyapunov_spectrum(rk4(lorenz, dt), x, n_steps=50_000, reorth_every=5,
                                              transient=1000))(jnp.asarray([1.0, 1.0, 1.0]))
    le = np.asarray(est.exponents) / dt
    np.testing.assert_allclose(le[0], 0.906, rtol=0.05)
    assert abs(le[1]) < 0.02
    np.testing.assert_allclose(le.sum(), -(10 + 1 + 8 / 3), rtol=0.01)


def test_random_tanh_rnn_is_stable_below_and_chaotic_above_gain_one(x64):
    """h' = tanh(g W h), W ~ N(0, 1/N): for g < 1 the origin attracts and lambda_1 = ln(g rho(W)) ~ ln g;
    lambda_1 > 0 for g = 3 (mean field 0.31); the largest exponent agrees with the two-trajectory estimate."""
    N = 100
    W = jax.random.normal(jax.random.key(0), (N, N)) / np.sqrt(N)
    h0 = jax.random.normal(jax.random.key(1), (N,))

    def leading(g):
        step = lambda h: jnp.tanh(g * W @ h)  # noqa: E731
        spec = lyapunov_spectrum(step, h0, k=3, n_steps=3000, transient=500)
        two = largest_lyapunov(lambda h: (step(h), jnp.zeros((), bool)), h0, jnp.ones(N), 1e-7, 10, 300)
        return spec.exponents, two.exponent

    spec, two = jax.jit(jax.vmap(leading))(jnp.asarray([0.5, 3.0]))
    assert abs(float(spec[0, 0]) - np.log(0.5)) < 0.15  # finite N: the spectral radius of W is not 1
    np.testing.assert_allclose(float(spec[0, 0]), np.log(0.5 * np.abs(np.linalg.eigvals(W)).max()), atol=0.01)
    assert 0.2 < float(spec[1, 0]) < 0.45
    assert np.all(np.diff(np.asarray(spec), axis=1) <= 1e-9)  # the QR method's order
    np.testing.assert_allclose(float(two[1]), float(spec[1, 0]), rtol=0.15)


def test_spectrum_skips_blocks_with_a_reset(x64):
    """An expanding map (factor 3 and 1/2 along two axes) that resets every 7th step."""
    def step(x):
        t = x[2] + 1
        reset = jnp.mod(t, 7) == 0
        return jnp.where(reset, jnp.asarray([0.1, 0.1, t]), jnp.asarray([3.0 * x[0], 0.5 * x[1], t])), reset

    est = lyapunov_spectrum(step, jnp.asarray([0.1, 0.1, 0.0]), k=2, n_steps=70, reorth_every=2,
                            with_reset=True, settle=0, basis=jnp.eye(3, 2))
    assert 0 < int(est.blocks) < 35
    np.testing.assert_allclose(np.asarray(est.exponents), [np.log(3.0), np.log(0.5)], rtol=1e-9)


def test_gram_schmidt_matches_a_qr_decomposition(x64):
    A = jax.random.normal(jax.random.key(0), (7, 4))
    Q, r = gram_schmidt(A)
    np.testing.assert_allclose(Q.T @ Q, np.eye(4), atol=1e-12)
    np.testing.assert_allclose(r, np.abs(np.diag(np.linalg.qr(np.asarray(A))[1])), rtol=1e-10)
    np.testing.assert_allclose(Q @ (Q.T @ A), A, atol=1e-12)  # same column space


# ---------------------------------------------------------------- attractor classes

ATTRACTOR_RUN = dict(transient=1000, n_lyapunov=10_000, n_spectrum=2048, sample_every=4)


def test_attractor_classes_of_flows(x64):
    """RK4-sampled flows. Two uncoupled Hopf normal-form oscillators (frequencies 1 and sqrt 2), vmapped over
    their growth rates mu: both below the bifurcation, a stable spiral (fixed point); one past it, a circle
    (limit cycle, exponents (0, mu_2 < 0)); both past it, a torus with incommensurate frequencies
    (quasi-periodic, (0, 0)). Lorenz (10, 28, 8/3): chaotic, from two initial states."""
    def oscillators(mu):
        return rk4(lambda x: jnp.concatenate([hopf(mu[0], 1.0)(x[:2]), hopf(mu[1], np.sqrt(2.0))(x[2:])]), 0.1)

    x0 = jnp.asarray([0.1, 0.0, 0.0, 0.1])
    rep = jax.jit(jax.vmap(lambda mu: classify_attractor(oscillators(mu), x0, dt=0.1, **ATTRACTOR_RUN)))(
        jnp.asarray([[-0.1, -0.1], [1.0, -0.1], [1.0, 1.0]]))
    assert [CLASS_NAMES[c] for c in rep.code] == ["fixed_point", "limit_cycle", "quasi_periodic"], rep
    assert rep.consistent.all() and rep.n_frequencies[1:].tolist() == [1, 2]
    np.testing.assert_allclose(rep.exponents[0], [-0.1, -0.1], atol=2e-3)
    np.testing.assert_allclose(rep.exponents[1], [0.0, -0.1], atol=2e-3)
    np.testing.assert_allclose(rep.exponents[2], [0.0, 0.0], atol=2e-3)
    # base frequencies: omega dt sample_every / (2 pi) cycles per sample
    np.testing.assert_allclose(np.sort(rep.frequencies[2]), np.array([1.0, np.sqrt(2)]) * 0.4 / (2 * np.pi),
                               atol=1.0 / ATTRACTOR_RUN["n_spectrum"])

    rep = jax.jit(jax.vmap(lambda x: classify_attractor(rk4(lorenz, 0.01), x, dt=0.01, **ATTRACTOR_RUN)))(
        jnp.asarray([[1.0, 1.0, 1.0], [-5.0, 3.0, 20.0]]))
    assert [CLASS_NAMES[c] for c in rep.code] == ["chaotic"] * 2 and rep.consistent.all(), rep
    assert np.all(rep.exponents[:, 0] > 0.5)


def test_invariant_circle_of_a_map_is_a_limit_cycle_here(x64):
    """Neimark-Sacker normal form z' = e^{i theta} z (1 + mu - |z|^2), theta = 2 pi 0.618034: an invariant
    circle with exponents (0, ln|1 - 2 mu|): mu = 0.05 -> (0, -0.10536), mu = 0.2 -> (0, -0.51083), and one
    base frequency. Map texts call this motion quasi-periodic; in dynjax's classes (see
    dynjax.analysis.attractors) it is a limit cycle."""
    theta = 2 * np.pi * 0.618034

    def classify(mu):
        def ns(x):
            z = (x[0] + 1j * x[1]) * jnp.exp(1j * theta) * (1 + mu - (x[0] ** 2 + x[1] ** 2))
            return jnp.stack([z.real, z.imag])
        return classify_attractor(ns, jnp.asarray([0.1, 0.0]), **(ATTRACTOR_RUN | {"sample_every": 1}))

    rep = jax.jit(jax.vmap(classify))(jnp.asarray([0.05, 0.2]))
    np.testing.assert_allclose(rep.exponents, [[0.0, -0.10536], [0.0, -0.51083]], atol=2e-3)
    assert [CLASS_NAMES[c] for c in rep.code] == ["limit_cycle"] * 2 and rep.n_frequencies.tolist() == [1, 1]
    np.testing.assert_allclose(rep.frequencies[:, 0], [1 - 0.618034] * 2, atol=1.0 / ATTRACTOR_RUN["n_spectrum"])


# ---------------------------------------------------------------- PCA

def test_pca_recovers_the_plane_of_a_planar_trajectory():
    rng = np.random.default_rng(0)
    basis, _ = np.linalg.qr(rng.normal(size=(10, 2)))
    t = np.linspace(0, 20, 2000)
    coords = np.stack([3.0 * np.cos(t), np.sin(1.3 * t)], axis=1)
    centre = rng.normal(size=10)
    states = coords @ basis.T + centre + 1e-4 * rng.normal(size=(2000, 10))
    res = jax.jit(pca, static_argnums=1)(jnp.asarray(states.reshape(20, 100, 10), jnp.float32), 3)
    P_true, P_found = basis @ basis.T, np.asarray(res.components[:2].T @ res.components[:2])
    np.testing.assert_allclose(P_found, P_true, atol=1e-3)
    assert float(res.explained_variance_ratio[:2].sum()) > 0.9999
    assert res.explained_variance[0] > res.explained_variance[1] > res.explained_variance[2]
    proj = res.project(jnp.asarray(states, jnp.float32))
    assert proj.shape == (2000, 3)
    np.testing.assert_allclose(np.asarray(res.reconstruct(proj)), states, atol=1e-3)


def test_linearisation_checks_its_shapes():
    """chex at the boundary: a batch where one state is expected, or a non-square matrix, is named at once."""
    import pytest

    from dynjax.analysis import eigen_spectrum, jacobians

    F = lambda h, x: jnp.tanh(h + x)  # noqa: E731
    with pytest.raises(AssertionError):
        jacobians(F, jnp.zeros((2, 3)), jnp.zeros((3,)))
    with pytest.raises(AssertionError):
        eigen_spectrum(jnp.zeros((3, 4)))
    assert eigen_spectrum(jnp.zeros((5, 3, 3))).shape == (5, 3)
