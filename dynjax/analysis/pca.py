"""Principal component analysis of hidden-state trajectories (representational geometry, Huang, Singh & Rajan).

States X (..., N) are flattened to M samples (M, N), centred by their mean mu, and the covariance
C = (X - mu)^T (X - mu) / (M - 1) is diagonalised, C = V diag(s) V^T (eigh: the same components as an SVD of
the centred data, cheaper when M >> N). Components are the columns of V sorted by variance s, largest first,
each signed so that its largest-magnitude entry is positive (a deterministic choice). The projection of a
state h is V_k^T (h - mu). Pure jnp: jit and vmap over networks or checkpoints.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

Array = jax.Array


class PCA(NamedTuple):
    mean: Array  # (N,)
    components: Array  # (k, N) orthonormal rows, largest variance first
    explained_variance: Array  # (k,) variance along each component
    explained_variance_ratio: Array  # (k,) fraction of the total variance

    def project(self, states: Array) -> Array:
        """Coordinates of states (..., N) along the components: (..., k)."""
        return (states - self.mean) @ self.components.T

    def reconstruct(self, coords: Array) -> Array:
        """States (..., N) from their coordinates (..., k)."""
        return coords @ self.components + self.mean


def pca(states: Array, k: int | None = None) -> PCA:
    """PCA of states (..., N) (every leading axis is a sample axis), keeping k components (default N)."""
    states = jnp.asarray(states)
    X = states.reshape(-1, states.shape[-1])
    M, N = X.shape
    k = N if k is None else k
    if not 0 < k <= N:
        raise ValueError(f"k must be in 1..{N} (the state size), got {k}")
    mean = X.mean(0)
    Xc = X - mean
    cov = Xc.T @ Xc / max(M - 1, 1)
    s, V = jnp.linalg.eigh(cov)  # ascending
    s, V = jnp.maximum(s[::-1], 0.0), V[:, ::-1]
    sign = jnp.sign(V[jnp.argmax(jnp.abs(V), axis=0), jnp.arange(N)])
    V = V * jnp.where(sign == 0, 1.0, sign)
    total = jnp.sum(s)
    return PCA(mean=mean, components=V[:, :k].T, explained_variance=s[:k],
               explained_variance_ratio=s[:k] / jnp.where(total > 0, total, 1.0))
