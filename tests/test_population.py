"""Population-balance measures (dynjax.analysis.population) against values computed by hand."""

import jax
import jax.numpy as jnp
import numpy as np

from dynjax.analysis import (coefficient_of_variation, gini, neuron_weight_norms, preference_balance,
                             selectivity_dprime, selectivity_eta2)

# 4 trials (labels 0, 0, 1, 1) x 3 neurons: neuron 0 prefers class 1, neuron 1 is constant, neuron 2 prefers 0
ACTIVITY = jnp.array([[0.0, 7.0, 5.0],
                      [2.0, 7.0, 3.0],
                      [3.0, 7.0, 2.0],
                      [5.0, 7.0, 0.0]])
LABELS = jnp.array([0, 0, 1, 1])


def test_dprime_by_hand():
    # neuron 0: class 0 {0, 2} mean 1 var 1, class 1 {3, 5} mean 4 var 1 -> (4 - 1) / sqrt(1) = 3
    # neuron 1: no variance -> 0; neuron 2: class 0 {5, 3} mean 4, class 1 {2, 0} mean 1 -> -3
    np.testing.assert_allclose(selectivity_dprime(ACTIVITY, LABELS), [3.0, 0.0, -3.0], atol=1e-6)
    # unequal variances: class 0 {0, 2} (var 1), class 1 {1, 7} (mean 4, var 9): 3 / sqrt(5)
    d = selectivity_dprime(jnp.array([[0.0], [2.0], [1.0], [7.0]]), LABELS)
    np.testing.assert_allclose(d, [3.0 / np.sqrt(5.0)], rtol=1e-6)
    # labels other than 0 and 1 are ignored
    d = selectivity_dprime(jnp.concatenate([ACTIVITY, jnp.full((1, 3), 100.0)]), jnp.array([0, 0, 1, 1, 2]))
    np.testing.assert_allclose(d, [3.0, 0.0, -3.0], atol=1e-6)


def test_eta2_by_hand():
    # neuron 0: grand mean 2.5, total SS 6.25 + 0.25 + 0.25 + 6.25 = 13, between 2 (1.5^2) + 2 (1.5^2) = 9
    np.testing.assert_allclose(selectivity_eta2(ACTIVITY, LABELS, 2), [9 / 13, 0.0, 9 / 13], rtol=1e-6)
    # three classes, one trial each: every trial is its own class mean -> eta^2 = 1
    np.testing.assert_allclose(selectivity_eta2(jnp.array([[1.0], [4.0], [2.0]]), jnp.array([0, 1, 2]), 3), [1.0],
                               rtol=1e-6)
    # a label with no trials (class 2 of 3) changes nothing
    np.testing.assert_allclose(selectivity_eta2(ACTIVITY, LABELS, 3), [9 / 13, 0.0, 9 / 13], rtol=1e-6)


def test_preference_balance_by_hand():
    s = jnp.array([1.0, -2.0, 0.5, -0.1])
    # threshold 0.2: two neurons prefer class 1, one class 0 -> 1 - 1/3
    np.testing.assert_allclose(preference_balance(s, 0.2), 2 / 3, rtol=1e-6)
    np.testing.assert_allclose(preference_balance(s), 1.0)  # 2 vs 2
    np.testing.assert_allclose(preference_balance(jnp.array([1.0, 2.0])), 0.0)  # all prefer one class
    assert np.isnan(preference_balance(jnp.zeros(3)))


def test_heterogeneity_by_hand():
    np.testing.assert_allclose(coefficient_of_variation(jnp.array([1.0, 3.0])), 0.5)  # std 1, mean 2
    np.testing.assert_allclose(gini(jnp.ones(4)), 0.0)
    # one of four holds everything: sum |x_i - x_j| = 6 over ordered pairs, 2 * 16 * 0.25 = 8 -> 3/4 = (N-1)/N
    np.testing.assert_allclose(gini(jnp.array([0.0, 0.0, 0.0, 1.0])), 0.75)
    # [1, 2, 3]: pair differences 1, 2, 1 (x2 ordered) = 8, mean 2: 8 / (2 * 9 * 2) = 2/9
    np.testing.assert_allclose(gini(jnp.array([3.0, 1.0, 2.0])), 2 / 9, rtol=1e-6)
    # batched over leading axes (networks)
    np.testing.assert_allclose(gini(jnp.array([[1.0, 1.0], [0.0, 2.0]])), [0.0, 0.5])
    assert np.isnan(gini(jnp.zeros(3))) and np.isnan(coefficient_of_variation(jnp.zeros(3)))


def test_weight_norms_by_hand():
    W_in = jnp.array([[3.0, 4.0], [0.0, 1.0]])
    W_rec = jnp.array([[1.0, 2.0], [2.0, 0.0]])
    W_out = jnp.array([[0.0, 6.0], [0.0, 8.0], [1.0, 0.0]])
    n = neuron_weight_norms(W_in, W_rec, W_out)
    np.testing.assert_allclose(n.input, [5.0, 1.0])
    np.testing.assert_allclose(n.rec_in, [np.sqrt(5.0), 2.0])
    np.testing.assert_allclose(n.rec_out, [np.sqrt(5.0), 2.0])
    np.testing.assert_allclose(n.output, [1.0, 10.0])


def test_vmap_over_networks():
    acts = jnp.stack([ACTIVITY, -ACTIVITY])
    d = jax.jit(jax.vmap(selectivity_dprime, (0, None)))(acts, LABELS)
    np.testing.assert_allclose(d, [[3.0, 0.0, -3.0], [-3.0, 0.0, 3.0]], atol=1e-6)
