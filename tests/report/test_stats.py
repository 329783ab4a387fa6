"""The report's statistics against independent computations on fixed inputs."""

from __future__ import annotations

import math

import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from gatelab.report.stats import (
    benjamini_hochberg,
    clopper_pearson,
    holm,
    interval,
    kaplan_meier_median,
    paired_metric_test,
    steps_test,
    success_test,
)

P_VALUES = [0.001, 0.04, 0.03, 0.2, 0.012, 0.5]


def test_holm_and_benjamini_hochberg_agree_with_statsmodels():
    assert holm(P_VALUES) == pytest.approx(list(multipletests(P_VALUES, method="holm")[1]), abs=1e-12)
    assert benjamini_hochberg(P_VALUES) == pytest.approx(list(multipletests(P_VALUES, method="fdr_bh")[1]),
                                                         abs=1e-12)
    assert holm([]) == [] and benjamini_hochberg([]) == []


def test_success_is_fishers_exact_test_with_clopper_pearson_intervals():
    result = success_test(2, 10, 9, 10)
    assert result.p_value == pytest.approx(stats.fisher_exact([[2, 8], [9, 1]]).pvalue)
    assert result.p_value == pytest.approx(0.0054775, abs=1e-6)            # by hand: hypergeometric tails
    low, high = clopper_pearson(2, 10)
    assert low == pytest.approx(stats.beta.ppf(0.025, 2, 9)) and high == pytest.approx(stats.beta.ppf(0.975, 3, 8))
    assert clopper_pearson(0, 5)[0] == 0.0 and clopper_pearson(5, 5)[1] == 1.0


def test_kaplan_meier_medians_by_hand():
    assert kaplan_meier_median([1, 2, 3, 4], [True] * 4) == 2                  # S: 0.75, 0.5 at t = 2
    assert kaplan_meier_median([1, 2, 3, 4], [True, False, True, True]) == 3   # 0.75, then 0.75 · 1/2 at t = 3
    assert kaplan_meier_median([5, 5, 5], [False] * 3) is None                 # nobody met it: not reached
    assert kaplan_meier_median([1, 9, 9, 9], [True, False, False, False]) is None


def test_the_log_rank_test_is_scipys_and_handles_all_censored_groups():
    result = steps_test([100.0] * 5, [True] * 5, [1000.0] * 5, [False] * 5)
    expected = stats.logrank(stats.CensoredData(uncensored=[100.0] * 5),
                             stats.CensoredData(right=[1000.0] * 5)).pvalue
    assert result.p_value == pytest.approx(expected) and result.p_value < 0.01
    assert (result.median, result.median_ref) == (100.0, None)
    assert steps_test([5.0], [False], [5.0], [False]).p_value == 1.0


def test_paired_metric_is_wilcoxon_with_a_bootstrap_interval():
    d = [0.3, 0.1, 0.25, 0.4, 0.05, 0.2, 0.15, 0.35]
    result = paired_metric_test(d)
    assert result.p_value == pytest.approx(stats.wilcoxon(d).pvalue)
    assert result.same_sign and result.n == 8 and result.low < sum(d) / 8 < result.high
    assert result.low > 0, "every difference is positive: the interval excludes 0"
    tied = paired_metric_test([0.0, 0.0, 0.0])
    assert tied.p_value == 1.0 and not tied.same_sign
    two = paired_metric_test([0.1, 0.2])
    assert math.isnan(two.low), "no bootstrap interval on two values"


def test_the_t_interval_uses_scipys_quantile():
    values = [1.0, 2.0, 4.0]
    result = interval(values)
    half = stats.t.ppf(0.975, 2) * stats.tstd(values) / math.sqrt(3)
    assert (result.low, result.high) == pytest.approx((7 / 3 - half, 7 / 3 + half))
