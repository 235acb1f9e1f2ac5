"""analysis.stats.dist gives the bits scipy.stats gives, on grids covering every use in the statistics."""
import numpy as np
import pytest
from scipy import stats

from analysis.stats import dist


def test_norm_ppf_and_sf_are_scipy_stats():
    q = np.linspace(0.0, 1.0, 20001)
    assert np.array_equal(dist.norm_ppf(q), stats.norm.ppf(q), equal_nan=True)
    x = np.concatenate([np.linspace(-40, 40, 20001), [np.inf, -np.inf, np.nan]])
    assert np.array_equal(dist.norm_sf(x), stats.norm.sf(x), equal_nan=True)
    assert dist.norm_sf(1.5) == stats.norm.sf(1.5)


@pytest.mark.parametrize("df", [1, 2, 3, 5, 8, 13])
def test_chi2_sf_is_scipy_stats(df):
    x = np.concatenate([np.linspace(0, 120, 12001), [-1.0, -0.0, np.inf, np.nan]])
    assert np.array_equal(dist.chi2_sf(x, df), stats.chi2.sf(x, df), equal_nan=True)
    assert isinstance(dist.chi2_sf(3.2, df), float) and dist.chi2_sf(-2.0, df) == 1.0


def test_beta_ppf_is_scipy_stats_for_the_proportion_intervals():
    for n in range(1, 160):
        for k in range(n + 1):
            for a in (0.005, 0.025, 0.05, 0.1, 0.9, 0.95, 0.975, 0.995):
                for A, B in ((k, n - k + 1), (k + 1, n - k), (k + 0.5, n - k + 0.5)):
                    if A > 0 and B > 0:
                        assert dist.beta_ppf(a, A, B) == stats.beta.ppf(a, A, B), (a, A, B)


def test_the_statistics_do_not_import_scipy_stats():
    """The reason for the module: a kernel that runs the statistics does not pay for scipy.stats."""
    import subprocess
    import sys

    code = ("import sys; import analysis.stats.km, analysis.stats.compare, analysis.stats.response, "
            "analysis.stats.control, analysis.stats.safety, analysis.stats.selection; "
            "print('scipy.stats' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_the_upper_quantiles_are_scipy_stats():
    q = np.linspace(0.0, 1.0, 20001)
    assert np.array_equal(dist.norm_isf(q), stats.norm.isf(q), equal_nan=True)
    for df in (1, 2, 3, 4, 7):
        assert np.array_equal(dist.chi2_isf(q, df), stats.chi2.isf(q, df), equal_nan=True)
