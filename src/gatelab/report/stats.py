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
