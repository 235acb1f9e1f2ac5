"""Figures: the waterfall's exact per-patient bars for small cohorts, ranked groups for large ones."""
import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analysis.report import plots  # noqa: E402


def _cohort(n, seed=1):
    rng = np.random.default_rng(seed)
    pct = pd.Series(rng.uniform(-90, 60, n).round(1))
    resp = pd.Series(np.where(pct > 20, "PD", np.where(pct < -30, "PR", "SD")))
    pct[::17] = np.nan  # patients without a measured change are not drawn
    return pct, resp


def _bars(fig):
    return [p for p in fig.axes[0].patches if isinstance(p, matplotlib.patches.Rectangle)]


def test_waterfall_small_cohort_has_one_bar_per_measured_patient():
    pct, resp = _cohort(68)
    bars = _bars(plots.waterfall(pct, resp))
    assert len(bars) == pct.notna().sum()
    assert sorted((b.get_height() for b in bars), reverse=True) == [b.get_height() for b in bars]
    assert "one bar per evaluable patient" in plots.waterfall_alt(int(pct.notna().sum())).lower()


def test_waterfall_large_cohort_has_a_fixed_number_of_ranked_groups():
    pct, resp = _cohort(20_000)
    bars = _bars(plots.waterfall(pct, resp))
    assert len(bars) == plots.WATERFALL_GROUPS
    heights = [b.get_height() for b in bars]
    assert heights == sorted(heights, reverse=True)
    assert heights[0] <= pct.max() and heights[-1] >= pct.min()
    assert f"{plots.WATERFALL_GROUPS} groups" in plots.waterfall_alt(int(pct.notna().sum()))


def test_ranked_groups_medians_and_majority_response():
    pct = np.array([50.0, 30, 25, 10, -40, -50, -60, -70, -80])
    resp = np.array(["PD", "PD", "PD", "SD", "PR", "PR", "PR", "CR", "CR"])
    x, height, top = plots._ranked_groups(pct, resp, 3)
    assert height.tolist() == [30.0, -40.0, -70.0]
    assert top == ["PD", "PR", "CR"]
    assert np.allclose(x, [100 / 6, 50, 500 / 6])
