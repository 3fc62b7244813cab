"""Lyapunov exponents of discrete-time systems: the largest by two trajectories, the spectrum by QR.

Both methods are Benettin, Galgani, Giorgilli & Strelcyn (1980, Meccanica 15:9 and 15:21).

Largest exponent (`largest_lyapunov`). A reference trajectory x and a companion
x' = x + d0 v (v a unit direction) are stepped together; every n steps their distance d over all floating
point leaves of the state is measured and the companion is pulled back to distance d0 along x' - x:

    lambda = (1 / (K n)) sum_k log(d_k / d0)

over the K segments that count. A segment in which the system reports a reset (an episode boundary of an
agent-environment loop) does not count: the companion is re-seeded at x + d0 v after it. Non-floating leaves
(integers, flags, PRNG keys) are not part of the distance; at a renormalisation they are copied from the
reference. Use float64 (jax.enable_x64) with d0 = 1e-6: in float32 the rounding of the states is of the
order of d0 itself.

Spectrum (`lyapunov_spectrum`). An orthonormal basis Q_0 (dim x k) of tangent vectors is carried along the
trajectory by the Jacobian of the step, Q <- J(x_t) Q (forward-mode products, no Jacobian is formed). Every
`reorth_every` steps it is re-orthonormalised by a QR decomposition Q = Q' R (R upper triangular with a
positive diagonal), Q <- Q', and the logs of the stretching factors are summed:

    lambda_i = (1 / (K m)) sum_{blocks b} log R^(b)_ii,      i = 1..k,

over the K blocks of m = reorth_every steps that count (after a transient that aligns Q with the leading
Lyapunov vectors). sum_i lambda_i over all dim exponents is the mean log |det J| per step. The QR is a
classical Gram-Schmidt with one re-orthogonalisation pass ("CGS2": orthogonal to working precision for a
numerically full-rank Q), written in plain jnp ops: batched LAPACK QR under vmap can deadlock XLA's small CPU
thread pool when two of them run at once. Resets are handled as in `largest_lyapunov`: a block in which the system
reports one does not count, and the basis is re-seeded with Q_0 after it (optionally `settle` more blocks are
skipped while the basis re-aligns). `driven_lyapunov_spectrum` does the same for a network driven by recorded
inputs (open loop), with the recording's episode starts as the resets; the closed loop through an environment
is dynjax.analysis.closed_loop's.
"""

from typing import Any, Callable, NamedTuple, TypeVar

import jax
import jax.numpy as jnp

Array = jax.Array
S = TypeVar("S")


class LyapunovEstimate(NamedTuple):
    exponent: Array  # per step; nan if no segment counted
    segments: Array  # number of segments that counted
    observed: Any = None  # observe(x_t) of the reference trajectory, leaves (n_segments, steps_per_segment, ...)


def _is_float(x: Any) -> bool:
    return hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.floating)


def state_distance(a: S, b: S) -> Array:
    """Euclidean distance between two states over their floating-point leaves."""
    sq = [jnp.sum((x - y) ** 2) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)) if _is_float(x)]
    return jnp.sqrt(sum(sq))


def displace(ref: S, other: S, scale: Array) -> S:
    """ref + scale (other - ref) on floating leaves; other leaves taken from ref."""
    return jax.tree.map(lambda r, o: r + scale * (o - r) if _is_float(r) else r, ref, other)


def perturbed(x: S, direction: S, d0: Array) -> S:
    """x + d0 v / |v| on floating leaves (v = direction, zero where a leaf is not perturbed)."""
    norm = jnp.sqrt(sum(jnp.sum(v * v) for v in jax.tree.leaves(direction) if _is_float(v)))
    return jax.tree.map(lambda a, v: a + (d0 / norm) * v if _is_float(a) else a, x, direction)


def largest_lyapunov(step: Callable[[S], tuple[S, Array]], x0: S, direction: S, d0: float | Array = 1e-6,
                     steps_per_segment: int = 1, n_segments: int = 1000,
                     observe: Callable[[S], Any] | None = None) -> LyapunovEstimate:
    """Finite-time largest Lyapunov exponent of `step: x -> (x', reset)` from x0.

    `direction` has x0's structure (zeros where the state is not perturbed, e.g. the environment part of an
    agent-environment state). `observe(x)`, if given, is recorded after every step of the reference trajectory
    (statistics along the same run, without running it again). Pure: jit and vmap over x0 / directions /
    parameters closed over by `step`."""
    d0 = jnp.asarray(d0, jax.tree.leaves(x0)[0].dtype if _is_float(jax.tree.leaves(x0)[0]) else None)

    def segment(carry, _):
        x, y, total, count = carry

        def one(c, _):
            x, y, reset = c
            x, rx = step(x)
            y, ry = step(y)
            return (x, y, reset | rx | ry), None if observe is None else observe(x)

        (x, y, reset), seen = jax.lax.scan(one, (x, y, jnp.zeros((), bool)), None, length=steps_per_segment)
        d = state_distance(x, y)
        ok = ~reset & (d > 0) & jnp.isfinite(d)
        total = total + jnp.where(ok, jnp.log(jnp.where(ok, d, 1.0) / d0), 0.0)
        y = jax.lax.cond(ok, lambda: displace(x, y, d0 / jnp.where(ok, d, 1.0)), lambda: perturbed(x, direction, d0))
        return (x, y, total, count + ok), seen

    init = (x0, perturbed(x0, direction, d0), jnp.zeros((), d0.dtype), jnp.zeros((), jnp.int32))
    (_, _, total, count), seen = jax.lax.scan(segment, init, None, length=n_segments)
    exponent = jnp.where(count > 0, total / (jnp.maximum(count, 1) * steps_per_segment), jnp.nan)
    return LyapunovEstimate(exponent=exponent, segments=count, observed=seen)


class LyapunovSpectrum(NamedTuple):
    exponents: Array  # (k,) per step, leading first (the QR method's order; nan if no block counted)
    blocks: Array  # number of blocks of `reorth_every` steps that counted


def gram_schmidt(A: Array) -> tuple[Array, Array]:
    """Thin QR of a (d, k) matrix, k <= d, by classical Gram-Schmidt with re-orthogonalisation (CGS2).

    Returns Q (d, k) with orthonormal columns and the diagonal of R (k,), R_jj = |residual of column j| >= 0.
    Pure jnp ops in a fori_loop over the columns (no LAPACK call). A column that lies in the span of the
    previous ones gets R_jj = 0 and a zero column in Q."""
    d, k = A.shape

    def column(j, carry):
        Q, r = carry
        v = A[:, j]
        for _ in range(2):  # project out the previous columns twice (the unfilled ones are zero)
            v = v - Q @ (Q.T @ v)
        norm = jnp.sqrt(jnp.sum(v * v))
        q = v / jnp.where(norm > 0, norm, 1.0)
        return Q.at[:, j].set(q), r.at[j].set(norm)

    return jax.lax.fori_loop(0, k, column, (jnp.zeros_like(A), jnp.zeros((k,), A.dtype)))


def lyapunov_spectrum(step: Callable[[Array], Any], x0: Array, k: int | None = None, n_steps: int = 10_000,
                      reorth_every: int = 1, transient: int = 0, *, with_reset: bool = False, settle: int = 0,
                      basis: Array | None = None) -> LyapunovSpectrum:
    """The k leading Lyapunov exponents (per step) of `step` from x0 by the QR method (Benettin et al. 1980).

    step: x -> x' on a flat state x0 of shape (dim,) (flatten a structured state first, e.g. with
      jax.flatten_util.ravel_pytree, closing over any non-float part); with `with_reset=True` it returns
      (x', reset) instead, reset a bool scalar (an episode boundary: blocks containing one do not count).
    k: number of exponents (default dim). n_steps: steps that count (after the transient), rounded down to a
      multiple of reorth_every. transient: steps run first, with the basis evolved and re-orthonormalised but
      nothing accumulated (rounded up to whole blocks). settle: blocks skipped after each reset.
    basis: initial (dim, k) tangent basis, orthonormalised here (default: a fixed random Gaussian matrix, so
      that a basis aligned with an invariant subspace, e.g. of two uncoupled subsystems, cannot miss one).

    For a flow sampled with step dt, divide the exponents by dt. Pure: jit and vmap over x0 and parameters
    closed over by `step`. All arguments but x0 and basis are static."""
    x0 = jnp.asarray(x0)
    if x0.ndim != 1:
        raise ValueError(f"x0 must be a flat state of shape (dim,), got shape {x0.shape}")
    dim = x0.shape[0]
    k = dim if k is None else k
    if not 0 < k <= dim:
        raise ValueError(f"k must be in 1..{dim} (the state dimension), got {k}")
    if reorth_every < 1 or n_steps < reorth_every:
        raise ValueError(f"need 1 <= reorth_every <= n_steps, got reorth_every={reorth_every}, n_steps={n_steps}")
    stepper = step if with_reset else (lambda x: (step(x), jnp.zeros((), bool)))
    if basis is None:  # generic, so that no direction is missed by a basis aligned with invariant subspaces
        basis = jax.random.normal(jax.random.key(0), (dim, k), x0.dtype)
    n_transient = -(-transient // reorth_every)

    def tangent(x, Q, _):
        x, Q, reset = jax.vmap(lambda v: jax.jvp(stepper, (x,), (v,), has_aux=True), in_axes=1,
                               out_axes=(None, 1, None))(Q)
        return x, Q, reset

    return qr_exponents(tangent, x0, jnp.asarray(basis, x0.dtype), n_transient + n_steps // reorth_every, reorth_every,
                        n_transient, settle)


def qr_exponents(tangent: Callable[[Any, Array, Any], tuple[Any, Array, Array]], carry0: Any, basis: Array,
                 n_blocks: int, reorth_every: int, n_transient: int = 0, settle: int = 0,
                 inputs: Any = None) -> LyapunovSpectrum:
    """The QR (Benettin) accumulation shared by every spectrum here: `tangent(carry, Q, input_t) -> (carry', J Q,
    reset)` advances the system one step and its tangent basis Q (dim, k); every `reorth_every` steps Q is
    re-orthonormalised (Gram-Schmidt) and log R_ii summed, except in the first n_transient blocks, in blocks
    with a reset and in the `settle` blocks after one (the basis is re-seeded after a reset). inputs: per-step
    pytree with a leading (n_blocks * reorth_every) axis, or None."""
    Q0 = gram_schmidt(jnp.asarray(basis))[0]
    k = Q0.shape[1]
    xs = None if inputs is None else jax.tree.map(
        lambda a: a[:n_blocks * reorth_every].reshape((n_blocks, reorth_every) + a.shape[1:]), inputs)

    def one(c, x):
        carry, Q, reset = c
        carry, Q, r = tangent(carry, Q, x)
        return (carry, Q, reset | r), None

    def block(c, inp):
        carry, Q, total, count, wait = c
        b, xb = inp
        (carry, Q, reset), _ = jax.lax.scan(one, (carry, Q, jnp.zeros((), bool)), xb, length=reorth_every)
        Q, r = gram_schmidt(Q)
        logs = jnp.log(r)
        # log 0 = -inf is a direction the step annihilates (its exponent is -inf); nan or +inf spoil the block,
        # and the basis is re-seeded after it as after a reset
        spoilt = jnp.any(jnp.isnan(logs) | (logs == jnp.inf))
        ok = (b >= n_transient) & ~reset & (wait == 0) & ~spoilt
        wait = jnp.where(reset, settle, jnp.maximum(wait - 1, 0))
        return (carry, jnp.where(reset | spoilt, Q0, Q), total + jnp.where(ok, logs, 0.0), count + ok, wait), None

    init = (carry0, Q0, jnp.zeros((k,), Q0.dtype), jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32))
    (_, _, total, count, _), _ = jax.lax.scan(block, init, (jnp.arange(n_blocks), xs))
    exponents = jnp.where(count > 0, total / (jnp.maximum(count, 1) * reorth_every), jnp.nan)
    return LyapunovSpectrum(exponents=exponents, blocks=count)


def driven_lyapunov_spectrum(F: Callable[[Array, Array], Array], h0: Array, inputs: Array, k: int | None = None,
                             reorth_every: int = 1, transient: int = 0, starts: Array | None = None,
                             settle: int = 0, basis: Array | None = None) -> LyapunovSpectrum:
    """Open loop: the k leading exponents (per step, QR method as in `lyapunov_spectrum`) of the network driven
    by recorded inputs, h_t = F(h_{t-1}, x_t), t = 1..T, from h0; inputs (T, I).

    starts (T,) bool marks the x_t that begin a new episode of the recording: h_{t-1} is replaced by h0 there
    (the network's reset), the block containing it and the `settle` blocks after it (while the re-seeded basis
    aligns again) do not count, and the basis is re-seeded after it. Only
    the T // reorth_every whole blocks are used, the first ceil(transient / reorth_every) of them to align the
    basis. Static: F, k, reorth_every, transient, settle."""
    h0, inputs = jnp.asarray(h0), jnp.asarray(inputs)
    dim = h0.shape[0]
    k = dim if k is None else k
    if not 0 < k <= dim:
        raise ValueError(f"k must be in 1..{dim} (the state dimension), got {k}")
    n_blocks = inputs.shape[0] // reorth_every
    if n_blocks < 1:
        raise ValueError(f"inputs: {inputs.shape[0]} steps make no block of reorth_every={reorth_every}")
    starts = jnp.zeros(inputs.shape[:1], bool) if starts is None else jnp.asarray(starts, bool)
    if basis is None:
        basis = jax.random.normal(jax.random.key(0), (dim, k), h0.dtype)

    def tangent(h, Q, inp):
        x, start = inp
        h = jnp.where(start, h0, h)
        h, Q = jax.vmap(lambda v: jax.jvp(lambda z: F(z, x), (h,), (v,)), in_axes=1, out_axes=(None, 1))(Q)
        return h, Q, start

    return qr_exponents(tangent, h0, jnp.asarray(basis, h0.dtype), n_blocks, reorth_every,
                        -(-transient // reorth_every), settle, (inputs, starts))
