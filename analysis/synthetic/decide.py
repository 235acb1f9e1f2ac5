"""The search's decisions, made so that they do not depend on the last bits of floating point.

The calibration (:mod:`analysis.synthetic.calibrate`, :mod:`analysis.synthetic.interval_fit`)
scores candidate data sets with numpy and scipy. Their results differ in the last bits from one
CPU to another: numpy picks code paths for ``exp``, ``log``, ``log1p`` … by CPU (AVX2, AVX-512, its
SVML routines) and OpenBLAS picks matrix kernels by CPU (``OPENBLAS_CORETYPE``: Haswell, SkylakeX,
Zen …), which sum in other orders. A loss is a sum of such results, so two candidates that are
equally good in exact arithmetic (a censored follow-up moved by a day that changes no printed
number, or two rows of one batch that are the same data set) come out some 1e-14 apart, in an
order that depends on the CPU; a strict comparison ("the smallest", "better than the best so
far") then takes another branch on another CPU, and the chain goes elsewhere from there.

Rounding each loss to a fixed number of decimals does not cure this on its own: two values 1e-14
apart still round differently when they straddle a rounding boundary. So the decisions compare
with a tolerance, :data:`TIE`, far above that noise (measured: at most 1e-12 on losses of about
200, between numpy's AVX2 and AVX-512 code paths and between OpenBLAS kernels) and far below any
difference the search cares about:

* values within :data:`TIE` of the smallest are the smallest, and among them the lowest index
  wins (the chain choice of :func:`analysis.synthetic.build.best_chain`): :func:`first_min`;
* "better than the best so far" means better by more than :data:`TIE`: :func:`improves`;
* a heat-bath draw weights each candidate by ``exp(−(E − E_min) / T)`` with the energies within
  :data:`TIE` of ``E_min`` set to exactly ``E_min`` (ties get equal weights), computed with
  ``math.exp`` and summed in order (not numpy's dispatched ``exp`` and pairwise sum):
  :func:`heat_bath`; at T = 0 (the greedy phase) it draws uniformly among the tied smallest, the
  limit of the heat bath, so that the greedy phase moves along flat stretches of the loss (the code
  before took whichever of them the last bits made smallest; always keeping the current state
  instead left the default seed's cohort with 227 numbers exact on the scorecard, against 232). What is left is a weight a few ulps off, which moves the draw only if the
  uniform number falls within those ulps of a boundary (about 1e-16 per step).

A decision can still flip when two candidates differ by almost exactly :data:`TIE` (to within the
noise); with differences spread over whole units that is about 1e-12 per comparison.
``benchmarks/check_calibrate_dispatch.py`` runs the calibration under several numpy and OpenBLAS
code paths and compares the files byte for byte.
"""
from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence

import numpy as np

#: Two losses (or scores) closer than this are equal for every decision of the search.
TIE = 1e-6


def _floats(values) -> list[float]:
    """Python floats, NaN read as +inf (a candidate that cannot be scored is never preferred)."""
    out = [float(x) for x in np.asarray(values, dtype=float).ravel()]
    return [math.inf if math.isnan(x) else x for x in out]


def first_min(values: Sequence[float] | np.ndarray, tol: float = TIE) -> int:
    """Index of the first value within ``tol`` of the smallest (ties go to the lowest index).

    >>> first_min([3.0, 1.0 + 1e-14, 1.0, 2.0])
    1
    >>> first_min([1.0, 1.0 - 1e-14])  # the current state (row 0) keeps its place on a tie
    0
    >>> first_min([2.0, 1.0])
    1
    """
    v = _floats(values)
    m = min(v)
    if math.isinf(m):
        return 0
    return next(i for i, x in enumerate(v) if x <= m + tol)


def improves(new: float, best: float, tol: float = TIE) -> bool:
    """Whether a loss ``new`` is lower than ``best`` by more than ``tol`` (for scores, swap the
    arguments: ``improves(best, new)``).

    >>> improves(1.0, 1.0 + 1e-14), improves(1.0, 1.1)
    (False, True)
    """
    return float(new) < float(best) - tol


def heat_bath(energies: Sequence[float] | np.ndarray, temp: float, rng: np.random.Generator,
              tol: float = TIE) -> int:
    """A candidate drawn with probability ∝ exp(−E / temp), one ``rng.uniform()`` per call.

    Energies within ``tol`` of the smallest count as the smallest; +inf (or NaN) has weight 0.
    ``temp`` ≤ 0 is the limit of the heat bath as the temperature falls: a uniform draw among the
    smallest (so a greedy search still moves along a flat stretch of the loss, as it would at any
    temperature, and which candidates are tied does not depend on the last bits).

    >>> rng = np.random.default_rng(0)
    >>> heat_bath([0.0, 0.0, 50.0], 0.01, rng) in (0, 1)
    True
    >>> heat_bath([5.0, 1.0, 1.0 - 1e-14, 2.0], 0.0, rng) in (1, 2)
    True
    >>> heat_bath([5.0, 1.0, 3.0], 0.0, rng)
    1
    """
    v = _floats(energies)
    m = min(v)
    if math.isinf(m):
        rng.uniform()
        return 0
    if temp <= 0:
        w = [1.0 if x <= m + tol else 0.0 for x in v]
    else:
        w = [1.0 if x <= m + tol else math.exp(-(x - m) / temp) for x in v]
    cum = list(itertools.accumulate(w))
    return min(bisect.bisect_right(cum, rng.uniform() * cum[-1]), len(w) - 1)
