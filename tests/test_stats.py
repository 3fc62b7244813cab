"""dynjax.results.stats against slow obvious references: per-seed curve scores by hand, the IQM by sorting, the
bootstrap interval against a plain resampling loop, the U test's verdict on separated and identical samples."""

import numpy as np
import pytest

from dynjax.results.stats import aggregate, compare, curve_scores, final_points, iqm, iqm_ci


def test_curve_scores_exclude_step_0_and_average_the_last_tenth():
    steps = np.arange(21) * 100
    curve = np.linspace(0.0, 1.0, 21)
    curve[0] = 50.0  # an untrained evaluation that happens to be the highest never counts as best
    s = curve_scores(curve[None], steps)
    assert final_points(21) == 2
    np.testing.assert_allclose(s.final, [(curve[19] + curve[20]) / 2])
    np.testing.assert_allclose(s.best, [1.0])
    trapezoid = sum((curve[k] + curve[k - 1]) / 2 * 100 for k in range(1, 21)) / 2000
    np.testing.assert_allclose(s.auc, [trapezoid])
    # per learner, with per-learner steps
    two = curve_scores(np.stack([curve, curve + 1]), np.stack([steps, steps]))
    np.testing.assert_allclose(two.final - s.final[0], [0.0, 1.0])
    assert final_points(2) == 1 and final_points(101) == 10


def test_iqm_is_the_mean_of_the_middle_half():
    x = np.array([8.0, 1, 7, 2, 6, 3, 5, 4, 100, -100, 0, 9])
    middle = np.sort(x)[3:9]
    np.testing.assert_allclose(iqm(x), middle.mean())


def test_bootstrap_interval_matches_plain_resampling():
    rng = np.random.default_rng(3)
    x = rng.normal(10.0, 2.0, size=16)
    lo, hi = iqm_ci(x)
    draws = rng.integers(0, x.size, size=(20_000, x.size))
    ref = np.array([iqm(x[d]) for d in draws])
    ref_lo, ref_hi = np.percentile(ref, [2.5, 97.5])
    assert lo < iqm(x) < hi
    assert abs(lo - ref_lo) < 0.15 and abs(hi - ref_hi) < 0.15
    # stratified: each group is resampled on its own, so a group's size never changes
    a, b = np.zeros(8), np.ones(8) * 10
    lo2, hi2 = iqm_ci(a, b)
    assert lo2 == hi2 == 5.0  # every stratified resample holds 8 zeros and 8 tens; a pooled one would not


def test_aggregate_ignores_non_finite_and_reports_empty():
    st = aggregate([1.0, 2.0, 3.0, 4.0, np.nan, np.inf])
    assert st["n"] == 4 and st["median"] == 2.5 and st["q25"] == 1.75 and st["iqr"] == 1.5
    assert st["iqm_ci95"][0] <= st["iqm"] <= st["iqm_ci95"][1]
    assert aggregate([])["median"] is None and aggregate([3.0])["iqm_ci95"] is None


def test_compare_finds_a_real_difference_and_no_false_one():
    rng = np.random.default_rng(0)
    a, b = rng.normal(1.0, 0.1, 8), rng.normal(0.0, 0.1, 8)
    c = compare(a, b)
    assert c.p_value < 0.001 and c.prob_improvement == 1.0 and c.verdict("A", "B") == "A > B"
    assert compare(b, a).verdict("B", "A") == "B < A"
    same = compare(rng.normal(0, 1, 8), rng.normal(0, 1, 8))
    assert same.p_value > 0.05 and "no significant difference" in same.verdict()
    assert compare([1.0] * 5, [1.0] * 5).p_value == 1.0
    assert np.isnan(compare([], [1.0]).p_value)
    with pytest.raises(ValueError, match="returns"):
        curve_scores(np.zeros(3), np.arange(3))


def test_steps_to_reach_and_late_trend():
    from dynjax.results.stats import late_trend, steps_to_reach

    steps = np.arange(0, 2100, 100)  # step 0 and 20 evaluations
    r = np.stack([np.minimum(steps / 1000.0, 1.0) + 0.01 * k for k in range(8)])  # plateau from step 1000
    t = steps_to_reach(r, steps, 0.5)
    assert t[0] == 500 and t[-1] == 500  # the first evaluation at or above the level (0.47 at 400 for the last)
    assert np.isnan(steps_to_reach(r, steps, 5.0)).all()
    assert steps_to_reach(np.zeros((1, 3)), np.arange(3), 0.0, strictly=True)[0] != steps_to_reach(
        np.zeros((1, 3)), np.arange(3), 0.0)[0]
    flat = late_trend(r)
    assert not flat.rising and np.allclose(flat.change, 0.0)
    rng = np.random.default_rng(0)
    rising = late_trend(steps[None, :] / 100.0 + rng.normal(0, 0.1, (8, steps.size)))
    assert rising.rising and rising.p_value < 0.05 and np.all(rising.change > 0)
    assert not late_trend(-steps[None, :] / 100.0 + rng.normal(0, 0.1, (8, steps.size))).rising


def test_paired_change_tests_within_learners():
    from dynjax.results.stats import paired_change

    rng = np.random.default_rng(1)
    before = rng.normal(0, 1, 12)
    # a small shift that an unpaired test between the two sets could not see, but every learner makes
    up = paired_change(before, before + 0.2 + rng.normal(0, 0.01, 12))
    assert up.verdict() == "rises" and up.p_value < 0.01 and up.n == 12 and up.median > 0
    assert paired_change(before, before - 0.2).verdict() == "falls"
    noise = paired_change(before, before + rng.normal(0, 1, 12))
    assert noise.p_value > 0.05 and noise.verdict() == "no significant change"
    dropped = paired_change([0.0, np.nan, 1.0], [1.0, 2.0, np.inf])
    assert dropped.n == 1 and np.isnan(dropped.p_value)
    assert paired_change(before, before).p_value == 1.0
