"""Response rates: the paper's Clopper–Pearson intervals and cross-checks with statsmodels."""
import math

import pandas as pd
import pytest

from analysis.stats.control import ResponseControl
from analysis.stats.response import orr_dcr, rate_ci


@pytest.mark.parametrize("k, n, lo, hi", [(22, 68, 21.51, 44.79), (50, 68, 61.43, 83.50)])
def test_clopper_pearson_reproduces_published_orr_dcr(k, n, lo, hi):
    """Paper: ORR 22/68 (21.51–44.79 %), DCR 50/68 (61.43–83.50 %).
    > binom.test(22, 68)$conf.int"""
    pr = rate_ci(k, n)
    assert (round(100 * pr.lower, 2), round(100 * pr.upper, 2)) == (lo, hi)
    assert pr.method == "clopper-pearson" and pr.estimate == k / n


@pytest.mark.parametrize("method", ["wilson", "jeffreys", "normal"])
def test_other_methods_do_not_reproduce_published_interval(method):
    pr = rate_ci(22, 68, ResponseControl(ci_method=method))
    assert (round(100 * pr.lower, 2), round(100 * pr.upper, 2)) != (21.51, 44.79)


@pytest.mark.parametrize("ours, theirs", [("clopper-pearson", "beta"), ("wilson", "wilson"),
                                          ("jeffreys", "jeffreys"), ("normal", "normal")])
def test_rate_ci_against_statsmodels_proportion_confint(ours, theirs):
    """Cross-check: statsmodels.stats.proportion.proportion_confint(22, 68, method=...)."""
    sm = pytest.importorskip("statsmodels.stats.proportion")
    for k, n in [(22, 68), (50, 68), (3, 17)]:
        pr = rate_ci(k, n, ResponseControl(ci_method=ours))
        lo, hi = sm.proportion_confint(k, n, alpha=0.05, method=theirs)
        assert (pr.lower, pr.upper) == (pytest.approx(lo, rel=1e-9), pytest.approx(hi, rel=1e-9))


def test_rate_ci_boundaries():
    """> binom.test(0, 10)$conf.int  # 0.0000 0.3085"""
    pr = rate_ci(0, 10)
    assert pr.lower == 0.0 and pr.upper == pytest.approx(0.3084971078187608, rel=1e-9)
    assert rate_ci(10, 10).upper == 1.0
    assert math.isnan(rate_ci(0, 0).estimate)
    with pytest.raises(ValueError):
        rate_ci(5, 4)


def test_orr_dcr_ne_stays_in_denominator_by_default():
    br = pd.Series(["CR"] * 2 + ["PR"] * 20 + ["SD"] * 28 + ["PD"] * 15 + ["NE"] * 3)
    out = orr_dcr(br)
    assert (out["orr"].k, out["orr"].n, out["dcr"].k, out["dcr"].n) == (22, 68, 50, 68)
    assert round(100 * out["orr"].lower, 2) == 21.51
    assert out["counts"].n.tolist() == [2, 20, 28, 15, 3]
    assert out["counts"].pct.sum() == pytest.approx(100)
    ex = orr_dcr(br, ResponseControl(exclude_not_evaluable=True))
    assert ex["orr"].n == 65 and ex["denominator"] == 65


def test_orr_dcr_rejects_unknown_and_missing():
    with pytest.raises(ValueError, match="unknown"):
        orr_dcr(pd.Series(["PR", "iCR"]))
    with pytest.raises(ValueError, match="missing"):
        orr_dcr(pd.Series(["PR", None]))


@pytest.mark.parametrize("kwargs", [dict(ci_method="exact"), dict(conf_level=95), dict(exclude_not_evaluable="yes")])
def test_responsecontrol_rejects_bad_values(kwargs):
    with pytest.raises(ValueError):
        ResponseControl(**kwargs)
