"""The distribution functions the statistics need, from ``scipy.special``.

``scipy.stats`` costs about a second of CPU to import (it builds the docstrings of a hundred
distributions), in every notebook kernel and every scenario of ``make sensitivity``; the statistics
use six of its functions, which ``scipy.stats`` computes with these ``scipy.special`` functions
(scipy 1.17: ``norm._ppf`` is ``ndtri``, ``norm._isf`` is ``-ndtri``, ``norm._sf`` is ``ndtr(-x)``,
``chi2._sf`` is ``chdtrc``, ``chi2._isf`` is ``chdtri``,
``beta._ppf`` is Boost's beta quantile, which ``betaincinv`` is too). The results are the same bits
(``tests/stats/test_dist.py`` checks them against ``scipy.stats`` on grids); what ``scipy.stats``
does at the edges of the support is kept (``chi2_sf`` of a negative statistic is 1).

>>> [round(float(x), 6) for x in (norm_ppf(0.975), chi2_sf(3.841459, 1), beta_ppf(0.025, 1, 10))]
[1.959964, 0.05, 0.002529]
"""
from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["norm_ppf", "norm_isf", "norm_sf", "chi2_sf", "chi2_isf", "beta_ppf"]


def norm_ppf(q):
    """Standard-normal quantile (``scipy.stats.norm.ppf``)."""
    return special.ndtri(q)


def norm_isf(q):
    """Standard-normal upper quantile, ``x`` with ``P(Z > x) = q`` (``scipy.stats.norm.isf``)."""
    return -special.ndtri(q)


def norm_sf(x):
    """Standard-normal upper tail ``P(Z > x)`` (``scipy.stats.norm.sf``)."""
    return special.ndtr(-np.asarray(x, dtype=float))


def chi2_sf(x, df):
    """Chi-square upper tail ``P(X > x)`` with ``df`` degrees of freedom (``scipy.stats.chi2.sf``:
    1 for ``x`` below the support, NaN for NaN)."""
    x = np.asarray(x, dtype=float)
    out = special.chdtrc(df, np.where(x < 0, 0.0, x))
    return out if out.ndim else float(out)


def chi2_isf(q, df):
    """Chi-square upper quantile, ``x`` with ``P(X > x) = q`` (``scipy.stats.chi2.isf``)."""
    return special.chdtri(df, q)


def beta_ppf(q, a, b):
    """Quantile of the beta distribution (``scipy.stats.beta.ppf``; Clopper–Pearson and Jeffreys)."""
    return special.betaincinv(a, b, q)
