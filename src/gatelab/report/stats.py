"""The statistics every report sentence rests on — scipy.stats' tests, each in a result object.

Lab comparisons (a variant against ``gru`` on one task, seeds paired by index) have three endpoints, each with
a test that fits it:

- success against the task's criterion: Fisher's exact test, Clopper–Pearson intervals (:func:`success_test`);
- steps to criterion, right-censored at the budget for runs that never met it: the log-rank test and
  Kaplan–Meier medians (:func:`steps_test`);
- the final test metric, paired over seeds: the Wilcoxon signed-rank test and a percentile bootstrap interval of
  the mean difference (:func:`paired_metric_test`) — no t-interval on three values.

Multiplicity: :func:`holm` within a declared family of primary comparisons, :func:`benjamini_hochberg` (scipy's
``false_discovery_control``) over the exploratory rest. Forecast comparisons use Diebold–Mariano with Harvey,
Leybourne & Newbold's correction (:func:`diebold_mariano`). scipy is imported where used (``import gatelab`` stays
light).
"""

from __future__ import annotations

import math
import statistics
import warnings
from dataclasses import dataclass

ALPHA = 0.05


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    n: int


def interval(values: list[float]) -> Interval:
    """Mean and 95% Student-t interval (degenerate, low = high = mean, for a single value)."""
    from scipy import stats

    values = [v for v in values if math.isfinite(v)]
    if not values:
        return Interval(math.nan, math.nan, math.nan, 0)
    mean = statistics.fmean(values)
    if len(values) == 1:
        return Interval(mean, mean, mean, 1)
    half = float(stats.t.ppf(0.975, len(values) - 1)) * statistics.stdev(values) / math.sqrt(len(values))
    return Interval(mean, mean - half, mean + half, len(values))


# ---- success against the criterion ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SuccessTest:
    """``k`` of ``n`` runs met the criterion, against ``k_ref`` of ``n_ref`` for the reference. ``p_value``: Fisher's
    exact test, two-sided; ``ci`` / ``ci_ref``: Clopper–Pearson 95% intervals of the two rates."""

    k: int
    n: int
    k_ref: int
    n_ref: int
    p_value: float
    ci: tuple[float, float]
    ci_ref: tuple[float, float]

    @property
    def rate(self) -> float:
        return self.k / self.n if self.n else math.nan

    @property
    def rate_ref(self) -> float:
        return self.k_ref / self.n_ref if self.n_ref else math.nan


def clopper_pearson(k: int, n: int) -> tuple[float, float]:
    from scipy import stats

    if n == 0:
        return (math.nan, math.nan)
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    return (float(ci.low), float(ci.high))


def success_test(k: int, n: int, k_ref: int, n_ref: int) -> SuccessTest:
    from scipy import stats

    p = 1.0 if min(n, n_ref) == 0 else float(stats.fisher_exact([[k, n - k], [k_ref, n_ref - k_ref]]).pvalue)
    return SuccessTest(k, n, k_ref, n_ref, min(p, 1.0), clopper_pearson(k, n), clopper_pearson(k_ref, n_ref))


# ---- steps to criterion, censored ------------------------------------------------------------------------------
@dataclass(frozen=True)
class SurvivalTest:
    """Steps to criterion of two groups of runs, a run that never met it censored at its last step. ``median`` /
    ``median_ref``: Kaplan–Meier medians (None: not reached — fewer than half met it); ``p_value``: log-rank."""

    median: float | None
    median_ref: float | None
    events: int
    n: int
    events_ref: int
    n_ref: int
    p_value: float


def _censored(times: list[float], events: list[bool]):
    from scipy import stats

    return stats.CensoredData(uncensored=[t for t, e in zip(times, events) if e],
                              right=[t for t, e in zip(times, events) if not e])


def kaplan_meier_median(times: list[float], events: list[bool]) -> float | None:
    """The Kaplan–Meier median of the steps to criterion (None where the survival curve stays above 1/2)."""
    from scipy import stats

    if not any(events):
        return None
    sf = stats.ecdf(_censored(times, events)).sf
    below = [float(q) for q, p in zip(sf.quantiles, sf.probabilities) if p <= 0.5]
    return min(below) if below else None


def steps_test(times: list[float], events: list[bool], times_ref: list[float],
               events_ref: list[bool]) -> SurvivalTest:
    from scipy import stats

    p = 1.0
    if times and times_ref and (any(events) or any(events_ref)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)       # 0/0 in a stratum where nobody is at risk
            result = stats.logrank(_censored(times, events), _censored(times_ref, events_ref))
        p = float(result.pvalue) if math.isfinite(result.pvalue) else 1.0
    return SurvivalTest(kaplan_meier_median(times, events), kaplan_meier_median(times_ref, events_ref),
                        sum(events), len(times), sum(events_ref), len(times_ref), p)


# ---- the final metric, paired over seeds -----------------------------------------------------------------------
@dataclass(frozen=True)
class PairedMetricTest:
    """Differences variant − reference of the test metric over ``n`` paired seeds: their mean with a percentile
    bootstrap 95% interval (NaN below 3 seeds), the Wilcoxon signed-rank p-value, and whether every seed
    differs in the same direction."""

    n: int
    mean: float
    low: float
    high: float
    p_value: float
    same_sign: bool


def paired_metric_test(differences: list[float]) -> PairedMetricTest:
    import numpy as np
    from scipy import stats

    d = np.array([x for x in differences if math.isfinite(x)], dtype=float)
    if len(d) == 0:
        return PairedMetricTest(0, math.nan, math.nan, math.nan, 1.0, False)
    mean = float(d.mean())
    same_sign = bool((d > 0).all() or (d < 0).all())
    low = high = math.nan
    if len(d) >= 3 and np.ptp(d) > 0:
        ci = stats.bootstrap((d,), np.mean, confidence_level=0.95, n_resamples=4000, method="percentile",
                             rng=np.random.default_rng(0)).confidence_interval
        low, high = float(ci.low), float(ci.high)
    elif len(d) >= 3:
        low = high = mean
    p = 1.0
    if np.any(d != 0):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")                       # scipy's notes on small samples and ties
            p = float(stats.wilcoxon(d).pvalue)
    return PairedMetricTest(len(d), mean, low, high, p if math.isfinite(p) else 1.0, same_sign)


# ---- multiplicity ---------------------------------------------------------------------------------------------
def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error), in the order given."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [0.0] * len(p_values)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def benjamini_hochberg(p_values: list[float]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values (false discovery rate), in the order given (scipy)."""
    from scipy import stats

    if not p_values:
        return []
    return [float(p) for p in stats.false_discovery_control(p_values, method="bh")]


# ---- forecasts ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PairedTest:
    """A paired comparison of two forecasters' losses: mean difference with its 95% CI, the Diebold–Mariano
    statistic and its two-sided p-value, over ``n`` paired forecasts."""

    mean: float
    low: float
    high: float
    statistic: float
    p_value: float
    n: int

    @property
    def worse(self) -> bool:
        """The first model's loss is higher beyond the noise (the CI lies above 0)."""
        return self.low > 0

    @property
    def better(self) -> bool:
        return self.high < 0


def diebold_mariano(blocks: list[list[float]]) -> PairedTest:
    """Diebold & Mariano (1995) on loss differences d = loss_a − loss_b, given per forecast origin (each block
    the differences at horizons 1 … H, blocks independent). The variance of the mean is the HAC sum of the
    autocovariances up to lag H − 1 within blocks (an H-step forecast error is MA(H − 1)); the statistic gets
    Harvey, Leybourne & Newbold's (1997) small-sample correction and Student's t with n − 1 degrees of
    freedom."""
    values = [d for block in blocks for d in block]
    n = len(values)
    if n < 2:
        mean = values[0] if values else math.nan
        return PairedTest(mean, math.nan, math.nan, math.nan, math.nan, n)
    mean = statistics.fmean(values)
    lags = max(len(b) for b in blocks)

    def gamma(k: int) -> float:
        return sum((b[t] - mean) * (b[t + k] - mean) for b in blocks for t in range(len(b) - k)) / n

    return _hln_test(mean, gamma, lags - 1, n)


def diebold_mariano_series(differences: list[float], lags: int) -> PairedTest:
    """Diebold & Mariano (1995) on one series of loss differences over forecast origins (each the mean over
    series and horizons at that origin). Origins closer than the horizon share target periods, so the
    differences are autocorrelated up to lag ``lags`` (⌈H / step⌉ − 1): the variance is the HAC sum up to it,
    with Harvey, Leybourne & Newbold's (1997) correction for an (lags + 1)-step forecast and Student's t with
    n − 1 degrees of freedom."""
    values = list(differences)
    n = len(values)
    if n < 2:
        mean = values[0] if values else math.nan
        return PairedTest(mean, math.nan, math.nan, math.nan, math.nan, n)
    mean = statistics.fmean(values)
    lags = max(0, min(lags, n - 1))

    def gamma(k: int) -> float:
        return sum((values[t] - mean) * (values[t + k] - mean) for t in range(n - k)) / n

    return _hln_test(mean, gamma, lags, n)


def _hln_test(mean: float, gamma, lags: int, n: int) -> PairedTest:
    """The DM test from the autocovariances ``gamma(k)`` of the differences, summed up to ``lags`` (an
    (lags + 1)-step forecast), with HLN's small-sample correction and Student's t, n − 1 degrees of freedom."""
    from scipy import stats  # the forecast extra's dependency, imported where used

    variance = gamma(0) + 2 * sum(gamma(k) for k in range(1, lags + 1))
    if variance <= 0:                                   # the truncated sum can go negative: fall back to lag 0
        variance = gamma(0)
    if variance <= 0:                                   # identical losses
        return PairedTest(mean, mean, mean, 0.0, 1.0, n)
    h = lags + 1
    correction = math.sqrt(max(n + 1 - 2 * h + h * (h - 1) / n, 1.0) / n)
    se = math.sqrt(variance / n) / correction
    statistic = mean / se
    quantile = float(stats.t.ppf(0.975, n - 1))
    return PairedTest(mean, mean - quantile * se, mean + quantile * se, statistic,
                      float(2 * stats.t.sf(abs(statistic), n - 1)), n)
