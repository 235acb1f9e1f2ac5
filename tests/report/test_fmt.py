"""Formatting layer: en dashes, NR for not reached, never 'nan'."""
import math

import pytest

from analysis.report import fmt

NAN, INF = float("nan"), math.inf


@pytest.mark.parametrize("lo, hi, out", [(3.8712, 7.3288, "3.87–7.33"), (7.09, 19.31, "7.09–19.31"),
                                         (0.0, 17.912, "0.00–17.91"), (7.0, INF, "7.00–NR"), (NAN, NAN, "–")])
def test_ci_published_style(lo, hi, out):
    assert fmt.ci(lo, hi) == out


def test_months_num_pct():
    assert fmt.months(5.63) == "5.6" and fmt.months(INF) == "NR" and fmt.months(NAN) == "–"
    assert fmt.num(-0.0001, 2) == "0.00" and fmt.num(None) == "–"
    assert fmt.pct(22 / 68) == "32.4" and fmt.pct(NAN) == "–"
    assert fmt.n_pct(22, 68) == "22 (32.4)" and fmt.n_pct(0, 0) == "0 (–)"


@pytest.mark.parametrize("p, out", [(0.0312, "0.031"), (0.0004, "<0.001"), (NAN, "–"), (1.0, "1.000"), (0.001, "0.001")])
def test_pvalue(p, out):
    assert fmt.pvalue(p) == out


def test_hr_ci_and_never_nan():
    assert fmt.hr_ci(0.5234, 0.3111, 0.8765) == "0.52 (0.31–0.88)"
    for f in (fmt.num, fmt.months, fmt.pct, fmt.pvalue):
        assert "nan" not in f(NAN).lower()
    assert "nan" not in fmt.hr_ci(NAN, NAN, NAN) and "nan" not in fmt.ci(1.0, NAN)
    with pytest.raises(ValueError):
        fmt.pvalue(1.5)


def test_percent_and_method_name():
    assert fmt.percent(32.352941) == "32.4" and fmt.percent(NAN) == "–" and fmt.percent(21.5104, 2) == "21.51"
    assert fmt.method_name("clopper-pearson") == "Clopper–Pearson exact"
    assert fmt.method_name("spss").startswith("SPSS") and fmt.method_name("unknown") == "unknown"
