"""Fixed and slow points of a discrete-time update h' = F(h, x*) by q-minimisation (Sussillo & Barak 2013).

Sussillo & Barak ("Opening the black box", Neural Computation 25:626) find the points where the dynamics at a
fixed input x* stands still by minimising the speed

    q(h) = 1/2 || F(h, x*) - h ||^2                       (the sum over units, not the mean)

from many initial states taken from the network's own trajectories. Minima with q = 0 are fixed points,
local minima with small q > 0 are slow points. This is the convention of FixedPointFinder (Golub & Sussillo
2018, JOSS 3:1003), and its default tolerances are ours: tol_q = 1e-12, tol_unique = 1e-3 (Euclidean distance).
(The JAX computation-thru-dynamics finder uses the mean over units instead, with tolerances 1e-4..1e-6 and a
de-duplication radius 0.025: divide our q by N / 2 to compare.)

Pipeline of `find_fixed_points`, all inside one jit-able, vmap-able function (over candidates internally;
over networks, inputs and seeds by the caller's vmap):

1. Candidates: K states drawn uniformly from the data (trajectory states) plus Gaussian noise.
2. Adam (optax) on q, each candidate its own problem (Adam is elementwise, so the batch is K independent
   runs), learning rate lr * lr_decay^(t / max_iters) (defaults: lr 0.03, no decay, 300 iterations); the best
   iterate per candidate is kept; stops early once every candidate has q < tol_q. Adam's job here is to bring
   candidates into Newton's basin: on a chaotic 128-unit tanh network a small constant rate sent ~75% of the
   candidates to fixed points after the refinement, lr 0.1 decaying to 0.01 over 500 iterations ~55% (it
   throws more of them into local minima of q).
3. Newton refinement (an addition to Sussillo & Barak's first-order search): Newton steps on F(h) - h = 0,
   d = -(J - I)^-1 (F(h) - h), with a backtracking line search over step sizes 1, 1/2, ..., 1/32 that keeps
   the best trial only if it lowers q. It converges quadratically once Adam has brought a candidate near a
   fixed point (on ill-conditioned problems such as a chaotic 128-unit random network, Adam alone still sits
   at q ~ 1e-4 after thousands of iterations). A candidate leaves the refinement once converged or when a
   step lowers its q by less than 0.1% (stalled at a slow point or a local minimum of q); finished candidates
   are skipped in batches. newton_steps=0 turns it off (it costs one N x N LU per active candidate and step).
4. Classification: is_fixed (q < tol_q), is_slow (tol_q <= q < tol_slow); `unique` marks one representative
   per cluster among the points with q < tol_slow (greedy: the lowest-q point not yet covered takes every
   point within tol_unique of it); `outlier` marks points farther than a threshold from every data state
   (default: outlier_scale times the data's RMS distance from its mean, plus tol_unique).
5. Linearisation: eigenvalues of J = dF/dh at the up to `max_eig` lowest-q unique, non-outlier points with
   q < tol_slow (all candidates if max_eig is None); stable in discrete time when all |lambda| < 1. For a
   continuous-time cell the step F is its Euler map, so the discrete criterion is the right one.

Use float64 (jax.enable_x64) when tol_q is below the float32 floor (q ~ N * 1e-15 for states of order one).
`unique_fixed_points` extracts the unique fixed points of one result on the host (numpy).
"""

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from dynjax.analysis.linearise import eigen_spectrum

Array = jax.Array
StepFn = Callable[[Array, Array], Array]

TOL_Q = 1e-12  # q below which a point is a fixed point (FixedPointFinder's default)
TOL_SLOW = 1e-6  # q below which a non-fixed point is a slow point
TOL_UNIQUE = 1e-3  # Euclidean distance within which two points are the same (FixedPointFinder's default)
OUTLIER_SCALE = 2.0  # outlier: farther than OUTLIER_SCALE * (RMS radius of the data) from every data state
LINE_SEARCH = tuple(2.0 ** -j for j in range(6))  # Newton step sizes tried
STALL = 0.999  # a Newton step that leaves q above STALL times its previous value ends that candidate's refinement


class FixedPointResult(NamedTuple):
    """Per candidate (K of them, in the order they were drawn); N = state size."""

    points: Array  # (K, N) optimised states
    q: Array  # (K,) 1/2 |F(h, x*) - h|^2 at points
    initial: Array  # (K, N) the candidates before optimisation
    is_fixed: Array  # (K,) q < tol_q
    is_slow: Array  # (K,) tol_q <= q < tol_slow
    unique: Array  # (K,) representative of its tol_unique cluster (only points with q < tol_slow)
    outlier: Array  # (K,) farther than the outlier threshold from every data state
    eigenvalues: Array  # (K, N) complex eigenvalues of dF/dh, by modulus descending; nan where not computed
    spectral_radius: Array  # (K,) max |lambda|; nan where not computed
    stable: Array  # (K,) eigenvalues computed and all |lambda| < 1
    has_eig: Array  # (K,) eigenvalues computed here
    adam_iterations: Array  # scalar: Adam iterations run
    newton_iterations: Array  # scalar: Newton steps run


def speed(F: StepFn, h: Array, x: Array) -> Array:
    """q(h) = 1/2 |F(h, x) - h|^2 for one state h (N,)."""
    r = F(h, x) - h
    return 0.5 * jnp.sum(r * r)


def _flat_states(states: Array) -> Array:
    states = jnp.asarray(states)
    if states.ndim < 1:
        raise ValueError("states must have shape (..., N)")
    return states.reshape(-1, states.shape[-1])


def sample_candidates(key: Array, states: Array, n_candidates: int, noise_scale: float | Array = 0.0) -> Array:
    """n_candidates states drawn uniformly (with replacement) from `states` (..., N), plus N(0, noise_scale^2)
    noise per coordinate. Returns (n_candidates, N)."""
    data = _flat_states(states)
    k_pick, k_noise = jax.random.split(key)
    idx = jax.random.randint(k_pick, (n_candidates,), 0, data.shape[0])
    return data[idx] + noise_scale * jax.random.normal(k_noise, (n_candidates, data.shape[1]), data.dtype)


def minimise_speed(F: StepFn, x: Array, h0: Array, *, learning_rate: float | Array = 0.03,
                   lr_decay: float | Array = 1.0, max_iters: int = 300,
                   tol_q: float | Array = TOL_Q) -> tuple[Array, Array, Array]:
    """Adam on q for every row of h0 (K, N) independently. Learning rate lr * lr_decay^(t / max_iters).
    Returns (points, q, iterations): each candidate's best iterate and its q."""
    q_and_grad = jax.vmap(jax.value_and_grad(lambda h: speed(F, h, x)))
    opt = optax.adam(lambda t: learning_rate * lr_decay ** (t / max_iters))  # traceable rate and decay

    def cond(c):
        i, _, _, _, best_q = c
        return (i < max_iters) & ~jnp.all(best_q < tol_q)

    def body(c):
        i, h, state, best_h, best_q = c
        q, g = q_and_grad(h)
        better = q < best_q
        best_h = jnp.where(better[:, None], h, best_h)
        best_q = jnp.where(better, q, best_q)
        updates, state = opt.update(g, state, h)
        return i + 1, optax.apply_updates(h, updates), state, best_h, best_q

    inf = jnp.full(h0.shape[:1], jnp.inf, h0.dtype)
    i, h, _, best_h, best_q = jax.lax.while_loop(cond, body, (jnp.zeros((), jnp.int32), h0, opt.init(h0), h0, inf))
    q_last = jax.vmap(lambda h: speed(F, h, x))(h)  # the last iterate has not been scored yet
    better = q_last < best_q
    return jnp.where(better[:, None], h, best_h), jnp.where(better, q_last, best_q), i


def newton_refine(F: StepFn, x: Array, h: Array, *, max_steps: int = 30, tol_q: float | Array = TOL_Q,
                  chunk: int = 256) -> tuple[Array, Array, Array]:
    """Damped Newton steps on F(h, x) - h = 0 for every row of h (K, N): d = -(J - I)^-1 (F(h) - h), the best of
    the step sizes LINE_SEARCH kept only if it lowers q.

    A candidate stays active while q >= tol_q and each step lowers its q below STALL times the previous value.
    Each step sorts the active candidates first and processes them in batches of `chunk` (a vmapped LU solve
    per batch), skipping batches without an active candidate, so converged and stalled candidates cost nothing
    (under an outer vmap the skip becomes a select and every batch is computed). Stops after max_steps or when
    no candidate is active. Returns (points, q, steps run)."""
    K, n = h.shape
    C = max(1, min(chunk, K))
    n_chunks = -(-K // C)
    pad = n_chunks * C - K
    alphas = jnp.asarray(LINE_SEARCH, h.dtype)
    q_fn = lambda h: speed(F, h, x)  # noqa: E731

    def newton(h, q0):
        r = F(h, x) - h
        A = jax.jacfwd(F)(h, x) - jnp.eye(n, dtype=h.dtype)
        d = jnp.linalg.solve(A, -r)
        trials = h + alphas[:, None] * d
        qs = jax.vmap(q_fn)(trials)
        qs = jnp.where(jnp.isfinite(qs), qs, jnp.inf)
        j = jnp.argmin(qs)
        better = qs[j] < q0
        return jnp.where(better, trials[j], h), jnp.where(better, qs[j], q0)

    def batch(args):
        hb, qb, ab = args
        def run():
            h_new, q_new = jax.vmap(newton)(hb, qb)
            return jnp.where(ab[:, None], h_new, hb), jnp.where(ab, q_new, qb)
        return jax.lax.cond(jnp.any(ab), run, lambda: (hb, qb))

    def body(c):
        i, h, q, active = c
        if n_chunks == 1:  # one batch: no reordering needed
            h_new, q_new = jax.vmap(newton)(h, q)
            h = jnp.where(active[:, None], h_new, h)
            q_new = jnp.where(active, q_new, q)
            return i + 1, h, q_new, active & (q_new < STALL * q) & (q_new >= tol_q)
        order = jnp.argsort(~active, stable=True)  # active candidates first
        hs = jnp.pad(h[order], ((0, pad), (0, 0)))
        qs = jnp.pad(q[order], (0, pad))
        acts = jnp.pad(active[order], (0, pad))
        h_new, q_new = jax.lax.map(batch, (hs.reshape(n_chunks, C, n), qs.reshape(n_chunks, C),
                                           acts.reshape(n_chunks, C)))
        h = h.at[order].set(h_new.reshape(-1, n)[:K])
        q_new = q.at[order].set(q_new.reshape(-1)[:K])
        active = active & (q_new < STALL * q) & (q_new >= tol_q)
        return i + 1, h, q_new, active

    q0 = jax.vmap(q_fn)(h)
    q0 = jnp.where(jnp.isfinite(q0), q0, jnp.inf)
    active = (q0 >= tol_q) & jnp.isfinite(q0) & (max_steps > 0)
    i, h, q, _ = jax.lax.while_loop(lambda c: (c[0] < max_steps) & jnp.any(c[3]), body,
                                    (jnp.zeros((), jnp.int32), h, q0, active))
    return h, q, i


def deduplicate(points: Array, q: Array, eligible: Array, tol_unique: float | Array = TOL_UNIQUE) -> Array:
    """Greedy de-duplication: repeatedly take the lowest-q eligible point not yet covered as a representative and
    cover every eligible point within Euclidean distance tol_unique of it. Returns the representatives' mask.
    Runs one pass per cluster (a while_loop), each O(K N)."""

    def body(c):
        remaining, unique = c
        i = jnp.argmin(jnp.where(remaining, q, jnp.inf))
        close = jnp.sqrt(jnp.sum((points - points[i]) ** 2, axis=-1)) < tol_unique
        return remaining & ~close & (jnp.arange(q.shape[0]) != i), unique.at[i].set(True)

    _, unique = jax.lax.while_loop(lambda c: jnp.any(c[0]), body, (eligible, jnp.zeros_like(eligible)))
    return unique


def distance_to_data(points: Array, data: Array, batch_size: int = 256) -> Array:
    """Euclidean distance from each point (K, N) to its nearest data state (M, N), in batches of points."""
    d_sq = jnp.sum(data * data, axis=-1)

    def nearest(p):
        sq = jnp.sum(p * p) + d_sq - 2.0 * (data @ p)
        return jnp.sqrt(jnp.maximum(jnp.min(sq), 0.0))

    return jax.lax.map(nearest, points, batch_size=min(batch_size, points.shape[0]))


def find_fixed_points(F: StepFn, x: Array, states: Array, key: Array, n_candidates: int = 1024, *,
                      noise_scale: float | Array = 0.01, learning_rate: float | Array = 0.03,
                      lr_decay: float | Array = 1.0, max_iters: int = 300, newton_steps: int = 30,
                      tol_q: float | Array = TOL_Q, tol_slow: float | Array = TOL_SLOW,
                      tol_unique: float | Array = TOL_UNIQUE, outlier_scale: float | Array = OUTLIER_SCALE,
                      outlier_distance: float | Array | None = None, max_eig: int | None = 64,
                      newton_chunk: int = 256, initial: Array | None = None) -> FixedPointResult:
    """Fixed and slow points of h' = F(h, x) at the fixed input x (Sussillo & Barak 2013; see the module doc).

    F: (h (N,), x) -> h' (N,), e.g. `lambda h, x: CELLS["gru"].step(params, h, x, hp)`. states: data states
    (..., N) from the network's trajectories, the source of the candidates and the reference for outliers.
    initial: explicit candidates (K, N) instead of sampling n_candidates from the states (key and
    n_candidates then unused).
    max_eig: how many points get a Jacobian spectrum (the lowest-q unique non-outlier points with
    q < tol_slow); None for every candidate (one N x N eigendecomposition each: slow for large K).
    newton_chunk: batch size of the Newton refinement (see `newton_refine`).
    Static arguments: F, n_candidates, max_iters, newton_steps, max_eig, newton_chunk; every other number may
    be traced."""
    data = _flat_states(states)
    h0 = sample_candidates(key, data, n_candidates, noise_scale) if initial is None else jnp.asarray(initial)
    x = jnp.asarray(x)
    if h0.ndim != 2 or h0.shape[1] != data.shape[1]:
        raise ValueError(f"initial must have shape (K, N) with N = {data.shape[1]} (the states' last axis), "
                         f"got {h0.shape}")
    out = jax.eval_shape(F, h0[0], x)
    if out.shape != h0.shape[1:]:
        raise ValueError(f"F(h, x) must return the state's shape {h0.shape[1:]}, got {out.shape}")
    h, q, n_adam = minimise_speed(F, x, h0, learning_rate=learning_rate, lr_decay=lr_decay, max_iters=max_iters,
                                  tol_q=tol_q)
    h, q, n_newton = newton_refine(F, x, h, max_steps=newton_steps, tol_q=tol_q, chunk=newton_chunk)
    finite = jnp.isfinite(q) & jnp.all(jnp.isfinite(h), axis=-1)
    q = jnp.where(finite, q, jnp.inf)
    h = jnp.where(finite[:, None], h, h0)
    is_fixed = q < tol_q
    is_slow = ~is_fixed & (q < tol_slow)
    unique = deduplicate(h, q, is_fixed | is_slow, tol_unique)
    if outlier_distance is None:
        radius = jnp.sqrt(jnp.mean(jnp.sum((data - data.mean(0)) ** 2, axis=-1)))
        outlier_distance = outlier_scale * radius + tol_unique
    outlier = distance_to_data(h, data) > outlier_distance

    K, N = h.shape
    if max_eig is None or max_eig >= K:
        idx = jnp.arange(K)
        has = jnp.ones((K,), bool)
    else:
        rank_key = jnp.where(unique & ~outlier, q, jnp.inf)
        idx = jnp.argsort(rank_key, stable=True)[:max_eig]
        has = jnp.isfinite(rank_key[idx])
    nan_row = jnp.full((N,), jnp.nan, jnp.result_type(h.dtype, jnp.complex64))

    def spectrum(args):  # sequential, so that the points without a spectrum cost nothing (under an outer vmap
        p, ok = args     # the cond becomes a select and every row is computed)
        return jax.lax.cond(ok, lambda: eigen_spectrum(jax.jacfwd(F)(p, x)).astype(nan_row.dtype), lambda: nan_row)

    ev = jax.lax.map(spectrum, (h[idx], has))
    eigenvalues = jnp.full((K, N), jnp.nan, nan_row.dtype).at[idx].set(ev)
    has_eig = jnp.zeros((K,), bool).at[idx].set(has)
    radius = jnp.max(jnp.abs(eigenvalues), axis=-1)
    return FixedPointResult(points=h, q=q, initial=h0, is_fixed=is_fixed, is_slow=is_slow, unique=unique,
                            outlier=outlier, eigenvalues=eigenvalues, spectral_radius=radius,
                            stable=has_eig & (radius < 1.0), has_eig=has_eig, adam_iterations=n_adam,
                            newton_iterations=n_newton)


def unique_fixed_points(result: FixedPointResult, include_slow: bool = False,
                        include_outliers: bool = False) -> dict[str, np.ndarray]:
    """Host side: the unique fixed points of one (unbatched) result as numpy arrays, lowest q first.

    Keys: index (into the candidates), points (n, N), q, stable, spectral_radius, eigenvalues (n, N), has_eig,
    is_fixed (False only for slow points, when include_slow), outlier."""
    r = FixedPointResult(*(np.asarray(a) for a in result))
    if r.q.ndim != 1:
        raise ValueError("unique_fixed_points takes one network's result; index a vmapped result first")
    keep = r.unique & (r.is_fixed | (include_slow & r.is_slow)) & (include_outliers | ~r.outlier)
    index = np.flatnonzero(keep)
    index = index[np.argsort(r.q[index], kind="stable")]
    return {"index": index, "points": r.points[index], "q": r.q[index], "stable": r.stable[index],
            "spectral_radius": r.spectral_radius[index], "eigenvalues": r.eigenvalues[index],
            "has_eig": r.has_eig[index], "is_fixed": r.is_fixed[index], "outlier": r.outlier[index]}
