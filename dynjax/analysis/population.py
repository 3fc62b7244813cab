"""Population-balance measures of a recurrent network: per-neuron selectivity and the heterogeneity of
per-neuron weight norms.

Kononov et al. (2025, arXiv 2510.11162) report that networks trained by reinforcement learning end up with
"functionally balanced" populations -- selectivity and weight-norm distributions that are less heterogeneous
than after supervised training. The paper's exact indices are not available to us; these are standard ones.

Selectivity of neuron i to a binary task variable (e.g. the correct choice), from its activity r_i over n
trials split into classes 0 and 1 (signal-detection d', Green & Swets 1966):

    d'_i = (mu_i1 - mu_i0) / sqrt((var_i1 + var_i0) / 2)              (population variances, ddof = 0)

(signed: its sign is the neuron's preferred class; 0 where the pooled variance vanishes). For a variable with
C classes the share of a neuron's variance it explains (eta squared, the one-way ANOVA effect size):

    eta2_i = sum_c n_c (mu_ic - mu_i)^2 / sum_trials (r_i - mu_i)^2     in [0, 1] (0 for a constant neuron)

Balance of preferences among the neurons with |d'_i| > threshold (n_+ prefer class 1, n_- class 0):

    balance = 1 - |n_+ - n_-| / (n_+ + n_-)       1: as many neurons prefer each class; 0: all prefer one
                                                  (nan when no neuron passes the threshold)

Heterogeneity of a non-negative per-neuron quantity x_1..x_N (a norm, |d'|):

    CV   = std(x) / mean(x)                                   (ddof = 0)
    Gini = sum_i sum_j |x_i - x_j| / (2 N^2 mean(x))          0: all equal; (N - 1) / N: one neuron holds all

Per-neuron weight norms of h' = phi(W_in x + W_rec h + b), y = W_out h + c (rows of W_in and W_rec are a
neuron's incoming weights, columns of W_rec and W_out its outgoing ones):

    input_i = ||W_in[i, :]||,  rec_in_i = ||W_rec[i, :]||,  rec_out_i = ||W_rec[:, i]||,  output_i = ||W_out[:, i]||

All functions are pure jnp (jit- and vmap-able over networks); labels are integer arrays.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

Array = jax.Array


def selectivity_dprime(activity: Array, labels: Array) -> Array:
    """Signed d' per neuron of activity (n, N) between the trials with label 1 and label 0 (labels (n,), any
    other label ignored): (mu_1 - mu_0) / sqrt((var_1 + var_0) / 2); 0 where that pooled variance is 0."""
    activity = jnp.asarray(activity)
    labels = jnp.asarray(labels)

    def moments(c):
        w = (labels == c).astype(activity.dtype)[:, None]
        n = jnp.maximum(jnp.sum(w), 1.0)
        mu = jnp.sum(w * activity, axis=0) / n
        return mu, jnp.sum(w * (activity - mu) ** 2, axis=0) / n

    (mu0, var0), (mu1, var1) = moments(0), moments(1)
    pooled = 0.5 * (var0 + var1)
    ok = pooled > 0
    return jnp.where(ok, (mu1 - mu0) / jnp.sqrt(jnp.where(ok, pooled, 1.0)), 0.0)


def selectivity_eta2(activity: Array, labels: Array, n_classes: int) -> Array:
    """Share of each neuron's variance over trials explained by the class (labels in 0..n_classes-1):
    eta^2 = between-class sum of squares / total sum of squares, per neuron (N,); 0 for a constant neuron."""
    activity = jnp.asarray(activity)
    onehot = jax.nn.one_hot(labels, n_classes, dtype=activity.dtype)  # (n, C)
    counts = jnp.sum(onehot, axis=0)  # (C,)
    mu = jnp.mean(activity, axis=0)
    class_mu = (onehot.T @ activity) / jnp.maximum(counts, 1.0)[:, None]  # (C, N)
    between = jnp.sum(counts[:, None] * (class_mu - mu) ** 2, axis=0)
    total = jnp.sum((activity - mu) ** 2, axis=0)
    ok = total > 0
    return jnp.where(ok, between / jnp.where(ok, total, 1.0), 0.0)


def preference_balance(selectivity: Array, threshold: float | Array = 0.0) -> Array:
    """1 - |n_+ - n_-| / (n_+ + n_-) over the neurons with |selectivity| > threshold (nan if none)."""
    s = jnp.asarray(selectivity)
    n_pos = jnp.sum(s > threshold)
    n_neg = jnp.sum(s < -threshold)
    n = n_pos + n_neg
    return jnp.where(n > 0, 1.0 - jnp.abs(n_pos - n_neg) / jnp.maximum(n, 1), jnp.nan)


def coefficient_of_variation(x: Array) -> Array:
    """std(x) / mean(x) (population std) over the last axis; nan if the mean is 0."""
    x = jnp.asarray(x)
    mean = jnp.mean(x, axis=-1)
    return jnp.where(mean != 0, jnp.std(x, axis=-1) / jnp.where(mean != 0, mean, 1.0), jnp.nan)


def gini(x: Array) -> Array:
    """Gini coefficient of non-negative values over the last axis: sum_ij |x_i - x_j| / (2 N^2 mean(x));
    nan if all are 0."""
    x = jnp.asarray(x)
    n = x.shape[-1]
    diff = jnp.sum(jnp.abs(x[..., :, None] - x[..., None, :]), axis=(-2, -1))
    mean = jnp.mean(x, axis=-1)
    return jnp.where(mean > 0, diff / (2 * n * n * jnp.where(mean > 0, mean, 1.0)), jnp.nan)


class WeightNorms(NamedTuple):
    input: Array  # (N,) ||W_in[i, :]||: incoming input weights
    rec_in: Array  # (N,) ||W_rec[i, :]||: incoming recurrent weights
    rec_out: Array  # (N,) ||W_rec[:, i]||: outgoing recurrent weights
    output: Array  # (N,) ||W_out[:, i]||: readout weights


def neuron_weight_norms(W_in: Array, W_rec: Array, W_out: Array) -> WeightNorms:
    """Euclidean per-neuron norms of W_in (N, I), W_rec (N, N) and W_out (A, N) (see the module doc)."""
    norm = lambda W, axis: jnp.sqrt(jnp.sum(jnp.asarray(W) ** 2, axis=axis))  # noqa: E731
    return WeightNorms(input=norm(W_in, 1), rec_in=norm(W_rec, 1), rec_out=norm(W_rec, 0), output=norm(W_out, 0))
