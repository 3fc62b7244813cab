"""Statistics of learning curves with seeds as the unit (Agarwal et al. 2021, "Deep RL at the edge of the
statistical precipice").

Per learner, from its evaluation returns R_0 .. R_K at steps t_0 = 0 < t_1 < ... < t_K (`curve_scores`):

    final            = mean(R_k for the last ceil(K / 10) points after step 0)     (last 10% of evaluations)
    best (excl. 0)   = max(R_k for k >= 1)        (what the papers report; the untrained step 0 never counts)
    AUC              = (1 / t_K) * sum_k (t_k - t_{k-1}) (R_k + R_{k-1}) / 2      (trapezoid: mean return over training)

Across learners (`aggregate`): median and interquartile range, and the interquartile mean
IQM = mean of the middle 50% (scipy.stats.trim_mean, 25% cut at each end) with a 95% percentile-bootstrap
confidence interval from scipy.stats.bootstrap. `iqm_ci(*groups)` resamples each group separately (the
stratified bootstrap of Agarwal et al.: one group per task when an IQM spans several tasks).

Comparisons (`compare`): the two-sided Mann-Whitney U test of two sets of per-seed scores, and the probability
of improvement P(X > Y) + P(X = Y) / 2; within the same learners (`paired_change`), the Wilcoxon signed-rank
test of their changes. Checkpoints of one network are never pooled: every array handed to
these functions has one entry per independent learner.
"""

import math
from typing import Any, NamedTuple, Sequence

import numpy as np

CI_LEVEL = 0.95
N_RESAMPLES = 10_000


class CurveScores(NamedTuple):
    """Per-learner scores of a set of learning curves, each of shape (learners,)."""

    final: np.ndarray  # mean of the last 10% of evaluations after step 0
    best: np.ndarray  # best evaluation after step 0
    auc: np.ndarray  # area under the curve / training span: the mean return over training


def final_points(n_points: int) -> int:
    """How many evaluation points `final` averages: the last 10% of the evaluations after step 0 (at least 1)."""
    return max(1, math.ceil((n_points - 1) / 10)) if n_points > 1 else 1


def curve_scores(returns: np.ndarray, steps: np.ndarray) -> CurveScores:
    """Final, best-after-step-0 and AUC of each row of `returns` (learners, points) evaluated at `steps`
    (points,) or (learners, points), steps[0] being the untrained evaluation. A curve with a single point
    (no training) scores that point on all three."""
    r = np.asarray(returns, dtype=float)
    if r.ndim != 2:
        raise ValueError(f"returns: expected shape (learners, points), got {r.shape}")
    t = np.broadcast_to(np.asarray(steps, dtype=float), r.shape)
    if r.shape[1] == 1:
        return CurveScores(r[:, 0].copy(), r[:, 0].copy(), r[:, 0].copy())
    trained = r[:, 1:]
    final = trained[:, -final_points(r.shape[1]):].mean(axis=1)
    best = trained.max(axis=1)
    span = t[:, -1] - t[:, 0]
    area = (np.diff(t, axis=1) * (r[:, 1:] + r[:, :-1]) / 2).sum(axis=1)
    auc = np.divide(area, span, out=r[:, -1].copy(), where=span > 0)
    return CurveScores(final, best, auc)


def steps_to_reach(values: np.ndarray, steps: np.ndarray, level: float, strictly: bool = False) -> np.ndarray:
    """Per learner (row of `values`, shape (learners, points), evaluated at `steps` (points,)): the first
    evaluation step after step 0 at which the value reaches `level` (>= level, or > level with `strictly`);
    nan for a learner that never does (a time-to-threshold: report how many reached it beside its statistics)."""
    v = np.asarray(values, dtype=float)[:, 1:]
    hit = v > level if strictly else v >= level
    return np.where(hit.any(axis=1), np.asarray(steps)[1:][np.argmax(hit, axis=1)], np.nan)


class PairedChange(NamedTuple):
    """How one measure changed within the same learners (`paired_change`)."""

    change: np.ndarray  # per learner: after - before
    median: float  # median change over the learners with finite values (nan without any)
    p_value: float  # two-sided Wilcoxon signed-rank test of `change` against 0 (nan with fewer than 2 learners)
    n: int  # learners with finite values

    def verdict(self, alpha: float = 0.05) -> str:
        """'rises', 'falls' (significant at alpha, direction from the median change) or 'no significant change'."""
        if not self.p_value < alpha:
            return "no significant change"
        return "rises" if self.median > 0 else "falls"


def paired_change(before: np.ndarray, after: np.ndarray) -> PairedChange:
    """The change after - before of one measure in each learner, tested across learners (learners as the unit)
    by the two-sided Wilcoxon signed-rank test; learners with a non-finite value on either side are dropped."""
    from scipy.stats import wilcoxon

    change = np.asarray(after, dtype=float) - np.asarray(before, dtype=float)
    ok = change[np.isfinite(change)]
    if ok.size < 2 or np.all(ok == 0):
        p = math.nan if ok.size < 2 else 1.0
    else:
        p = float(wilcoxon(ok).pvalue)
    return PairedChange(change, float(np.median(ok)) if ok.size else math.nan, p, int(ok.size))


class Trend(NamedTuple):
    """Whether learning curves still rise at the end of their budget (`late_trend`)."""

    change: np.ndarray  # per learner: mean of the last 10% of evaluations - mean of the 10% before them
    p_value: float  # two-sided Wilcoxon signed-rank test of `change` against 0 (nan with fewer than 2 learners)
    rising: bool  # significant at 0.05 and the median change is positive


def late_trend(returns: np.ndarray, alpha: float = 0.05) -> Trend:
    """Is the budget still the limit? Per learner, the last 10% of the evaluations after step 0 (what `final`
    averages) against the 10% just before; across learners, the Wilcoxon signed-rank test (`paired_change`,
    learners as the unit). `rising` means the curves were still going up when training stopped."""
    r = np.asarray(returns, dtype=float)[:, 1:]
    k = final_points(r.shape[1] + 1)
    if r.shape[1] < 2 * k:
        return Trend(np.full(r.shape[0], np.nan), math.nan, False)
    pc = paired_change(r[:, -2 * k:-k].mean(axis=1), r[:, -k:].mean(axis=1))
    return Trend(pc.change, pc.p_value, pc.verdict(alpha) == "rises")


def iqm(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Interquartile mean: the mean of the middle 50% of x along `axis`."""
    from scipy.stats import trim_mean

    return trim_mean(x, 0.25, axis=axis)


def iqm_ci(*groups: np.ndarray, level: float = CI_LEVEL, n_resamples: int = N_RESAMPLES,
           seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the IQM of the pooled groups, resampling each group
    separately (stratified: one group per task); (nan, nan) if a group has fewer than 2 entries. Reproducible
    (fixed seed)."""
    from scipy.stats import bootstrap

    groups = tuple(np.asarray(g, dtype=float).ravel() for g in groups)
    if not groups or min(g.size for g in groups) < 2:
        return math.nan, math.nan
    if all(np.all(g == groups[0][0]) for g in groups):  # no spread to resample
        return float(groups[0][0]), float(groups[0][0])

    def pooled_iqm(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
        return iqm(np.concatenate(samples, axis=axis), axis=axis)

    res = bootstrap(groups, pooled_iqm, n_resamples=n_resamples, confidence_level=level, method="percentile",
                    vectorized=True, paired=False, rng=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def aggregate(x: Sequence[float] | np.ndarray) -> dict[str, Any]:
    """Median, quartiles, IQR, IQM with its 95% bootstrap interval, mean and count of the finite entries of x
    (one entry per learner); the statistics are None where there is no entry."""
    x = np.asarray(x, dtype=float).ravel()
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"n": 0, "median": None, "q25": None, "q75": None, "iqr": None, "iqm": None, "iqm_ci95": None,
                "mean": None}
    q25, med, q75 = np.percentile(x, [25, 50, 75])
    lo, hi = iqm_ci(x)
    return {"n": int(x.size), "median": float(med), "q25": float(q25), "q75": float(q75), "iqr": float(q75 - q25),
            "iqm": float(iqm(x)), "iqm_ci95": None if math.isnan(lo) else [lo, hi], "mean": float(np.mean(x))}


class Comparison(NamedTuple):
    """The outcome of comparing per-seed scores a (of A) with b (of B)."""

    p_value: float  # two-sided Mann-Whitney U test (nan if either side has no entry)
    prob_improvement: float  # P(a > b) + P(a = b) / 2 over all pairs
    n_a: int
    n_b: int

    def verdict(self, a: str = "A", b: str = "B", alpha: float = 0.05) -> str:
        """'A > B', 'A < B' (two-sided test at level alpha, direction from the probability of improvement) or
        'A ~ B (no significant difference)'."""
        if not self.p_value < alpha:
            return f"{a} ~ {b} (no significant difference)"
        return f"{a} > {b}" if self.prob_improvement > 0.5 else f"{a} < {b}"

    def describe(self) -> str:
        """'p = 0.0079 (U test, 5 vs 5 seeds), P(A > B) = 0.96'."""
        return (f"p = {format_p(self.p_value)} (U test, {self.n_a} vs {self.n_b} seeds), "
                f"P(A > B) = {self.prob_improvement:.2f}")


def compare(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> Comparison:
    """Compare two independent sets of per-seed scores (non-finite entries dropped)."""
    from scipy.stats import mannwhitneyu

    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size == 0 or b.size == 0:
        return Comparison(math.nan, math.nan, int(a.size), int(b.size))
    diff = a[:, None] - b[None, :]
    prob = float(np.mean(diff > 0) + 0.5 * np.mean(diff == 0))
    if np.all(diff == 0):  # identical constant samples: nothing to test
        return Comparison(1.0, prob, int(a.size), int(b.size))
    p = float(mannwhitneyu(a, b, alternative="two-sided").pvalue)
    return Comparison(p, prob, int(a.size), int(b.size))


def format_p(p: float) -> str:
    """A p-value for a table: 2 significant digits, 'n/a' if undefined."""
    return "n/a" if not np.isfinite(p) else f"{p:.2g}"


def format_stats(st: dict[str, Any], fmt: str = ".4g") -> str:
    """'IQM (95% CI) · median [q25, q75]' of an `aggregate` result, 'n/a' without entries."""
    if not st or st.get("median") is None:
        return "n/a"
    ci = st.get("iqm_ci95")
    ci_text = f" ({ci[0]:{fmt}}, {ci[1]:{fmt}})" if ci else ""
    return f"{st['iqm']:{fmt}}{ci_text} · {st['median']:{fmt}} [{st['q25']:{fmt}}, {st['q75']:{fmt}}]"
