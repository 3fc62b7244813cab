"""Linearisation of a discrete-time update around an expansion point, its spectrum and integration timescales.

For an update h' = F(h, x), first order around an expansion point (h_e, x_e) (Sussillo & Barak 2013, eq. 2;
Huang, Singh & Rajan, "Learning dynamics and geometry in recurrent neural controllers"):

    F(h_e + dh, x_e + dx) ~ F(h_e, x_e) + J_rec dh + J_inp dx,      J_rec = dF/dh,  J_inp = dF/dx.

At a fixed point h* = F(h*, x*) the deviation evolves as dh_{t+1} = J_rec dh_t, so an eigenvalue lambda_i of
J_rec scales its mode by |lambda_i| per step. A stable mode (|lambda_i| < 1) decays as
|lambda_i|^t = exp(-t / tau_i) with the integration timescale (in steps; Maheswaranathan et al. 2019)

    tau_i = | 1 / ln |lambda_i| |.

Eigenvalues with |lambda_i| >= 1 are not decaying modes: `timescales` reports them separately (a mask and a
count), never as infinite or negative timescales. Any engine cell fits: `F = lambda h, x:
CELLS[name].step(params, h, x, hp)`. All functions are pure, jit- and vmap-able.
"""

from typing import Callable, NamedTuple

import chex
import jax
import jax.numpy as jnp

Array = jax.Array


def jacobians(F: Callable[[Array, Array], Array], h: Array, x: Array) -> tuple[Array, Array]:
    """(J_rec, J_inp) = (dF/dh, dF/dx) at (h, x) by forward-mode differentiation; shapes (N, N) and (N, I)."""
    chex.assert_rank([h, x], 1)  # one state and one input (vmap for many)
    return jax.jacfwd(F, argnums=(0, 1))(h, x)


def eigen_spectrum(J: Array) -> Array:
    """Eigenvalues of a square (possibly non-symmetric) matrix as complex numbers, sorted by modulus, largest
    first. Batched over leading axes."""
    chex.assert_equal(J.shape[-2:], (J.shape[-1],) * 2)  # square matrices (any leading batch axes)
    ev = jnp.linalg.eigvals(J)
    order = jnp.argsort(-jnp.abs(ev), axis=-1, stable=True)
    return jnp.take_along_axis(ev, order, axis=-1)


class Timescales(NamedTuple):
    tau: Array  # (k,) |1 / ln|lambda|| in steps, largest first; nan in the slots of unstable eigenvalues
    modulus: Array  # (k,) |lambda| of the eigenvalue behind each tau (same order)
    unstable: Array  # (n,) bool, per input eigenvalue: |lambda| >= 1 (not a decaying mode)
    n_unstable: Array  # int32 count of unstable eigenvalues


def timescales(eigenvalues: Array, k: int | None = None) -> Timescales:
    """Integration timescales tau_i = |1 / ln|lambda_i|| (steps) of the stable eigenvalues (|lambda_i| < 1),
    sorted descending; the top `k` (all n if None). Slots beyond the number of stable eigenvalues hold nan.
    Unstable eigenvalues (|lambda_i| >= 1) are flagged in `unstable` and counted in `n_unstable`.
    An eigenvalue 0 gives tau = 0 (a mode that vanishes in one step)."""
    lam = jnp.abs(jnp.asarray(eigenvalues))
    n = lam.shape[-1]
    k = n if k is None else k
    if not 0 < k <= n:
        raise ValueError(f"k must be in 1..{n} (the number of eigenvalues), got {k}")
    unstable = lam >= 1.0
    safe = jnp.where(unstable | (lam == 0), 0.5, lam)
    tau = jnp.where(lam == 0, 0.0, jnp.abs(1.0 / jnp.log(safe)))
    key = jnp.where(unstable, -jnp.inf, tau)  # unstable ones sort last
    order = jnp.argsort(-key, axis=-1, stable=True)[..., :k]
    tau_sorted = jnp.take_along_axis(jnp.where(unstable, jnp.nan, tau), order, axis=-1)
    return Timescales(tau=tau_sorted, modulus=jnp.take_along_axis(lam, order, axis=-1), unstable=unstable,
                      n_unstable=jnp.sum(unstable, axis=-1, dtype=jnp.int32))
