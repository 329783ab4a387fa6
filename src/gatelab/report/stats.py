"""Means with 95% t-intervals, and paired differences against a reference over the same seeds."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

# two-sided 95% quantiles of Student's t, by degrees of freedom (1–30); beyond, the normal 1.96 is close
_T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def t95(df: int) -> float:
    return _T95[df - 1] if df <= len(_T95) else 1.96


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    n: int

    @property
    def excludes_zero(self) -> bool:
        return self.n > 1 and (self.low > 0 or self.high < 0)


def interval(values: list[float]) -> Interval:
    """Mean and 95% t-interval (degenerate, low = high = mean, for a single value)."""
    values = [v for v in values if math.isfinite(v)]
    if not values:
        return Interval(math.nan, math.nan, math.nan, 0)
    mean = statistics.fmean(values)
    if len(values) == 1:
        return Interval(mean, mean, mean, 1)
    half = t95(len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    return Interval(mean, mean - half, mean + half, len(values))


def paired(values: dict[int, float], reference: dict[int, float]) -> Interval:
    """Interval of value − reference over the seeds both have."""
    return interval([values[s] - reference[s] for s in sorted(values) if s in reference])


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
    from scipy import stats  # the forecast extra's dependency, imported where used

    values = [d for block in blocks for d in block]
    n = len(values)
    if n < 2:
        mean = values[0] if values else math.nan
        return PairedTest(mean, math.nan, math.nan, math.nan, math.nan, n)
    mean = statistics.fmean(values)
    lags = max(len(b) for b in blocks)

    def gamma(k: int) -> float:
        return sum((b[t] - mean) * (b[t + k] - mean) for b in blocks for t in range(len(b) - k)) / n

    variance = gamma(0) + 2 * sum(gamma(k) for k in range(1, lags))
    if variance <= 0:                                   # the truncated sum can go negative: fall back to lag 0
        variance = gamma(0)
    if variance <= 0:                                   # identical losses
        return PairedTest(mean, mean, mean, 0.0, 1.0, n)
    correction = math.sqrt(max(n + 1 - 2 * lags + lags * (lags - 1) / n, 1.0) / n)
    se = math.sqrt(variance / n) / correction
    statistic = mean / se
    quantile = float(stats.t.ppf(0.975, n - 1))
    return PairedTest(mean, mean - quantile * se, mean + quantile * se, statistic,
                      float(2 * stats.t.sf(abs(statistic), n - 1)), n)
