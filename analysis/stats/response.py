"""Tumour response rates (ORR, DCR) with binomial confidence intervals.

The paper's intervals are Clopper–Pearson (exact): 22/68 → 21.51–44.79 %,
50/68 → 61.43–83.50 %. Non-evaluable (NE) patients stay in the denominator
unless ``ResponseControl(exclude_not_evaluable=True)``.

Examples
--------
>>> from analysis.stats.response import rate_ci
>>> pr = rate_ci(22, 68)
>>> round(100 * pr.lower, 2), round(100 * pr.upper, 2)
(21.51, 44.79)
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.stats.control import ResponseControl
from analysis.stats.dist import beta_ppf

__all__ = ["Proportion", "rate_ci", "orr_dcr", "RESPONSE_CATEGORIES"]

RESPONSE_CATEGORIES = ("CR", "PR", "SD", "PD", "NE")


@dataclass(frozen=True)
class Proportion:
    """k/n with its confidence interval (all as fractions in [0, 1])."""

    k: int
    n: int
    estimate: float
    lower: float
    upper: float
    method: str
    conf_level: float = 0.95


def rate_ci(k: int, n: int, ctrl: ResponseControl = ResponseControl()) -> Proportion:
    """Binomial proportion with a confidence interval.

    Parameters
    ----------
    k, n : int
        Successes and trials (0 ≤ k ≤ n). n = 0 gives NaN values.
    ctrl : ResponseControl
        ``ci_method``: "clopper-pearson" (exact, the paper's), "wilson"
        (score), "jeffreys" (Beta(k + ½, n − k + ½) equal-tailed, with the
        bound set to 0/1 at k = 0/n), "normal" (Wald, clipped to [0, 1]).

    Examples
    --------
    >>> pr = rate_ci(50, 68)
    >>> round(100 * pr.lower, 2), round(100 * pr.upper, 2)
    (61.43, 83.5)
    """
    k, n = int(k), int(n)
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    m = ctrl.ci_method
    if n == 0:
        return Proportion(k, n, math.nan, math.nan, math.nan, m, ctrl.conf_level)
    alpha = 1.0 - ctrl.conf_level
    p = k / n
    z = ctrl.z
    if m == "clopper-pearson":
        lo = 0.0 if k == 0 else float(beta_ppf(alpha / 2, k, n - k + 1))
        hi = 1.0 if k == n else float(beta_ppf(1 - alpha / 2, k + 1, n - k))
    elif m == "jeffreys":
        lo = 0.0 if k == 0 else float(beta_ppf(alpha / 2, k + 0.5, n - k + 0.5))
        hi = 1.0 if k == n else float(beta_ppf(1 - alpha / 2, k + 0.5, n - k + 0.5))
    elif m == "wilson":
        den = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / den
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
        lo, hi = max(centre - half, 0.0), min(centre + half, 1.0)
    else:  # normal (Wald)
        half = z * math.sqrt(p * (1 - p) / n)
        lo, hi = max(p - half, 0.0), min(p + half, 1.0)
    return Proportion(k, n, p, lo, hi, m, ctrl.conf_level)


def orr_dcr(best_response: pd.Series, ctrl: ResponseControl = ResponseControl()) -> dict:
    """Objective response rate (CR + PR) and disease-control rate (CR + PR + SD).

    Parameters
    ----------
    best_response : Series of {"CR", "PR", "SD", "PD", "NE"}
        One best overall response per patient. Missing values are an error
        (code them "NE" on purpose).
    ctrl : ResponseControl

    Returns
    -------
    dict
        ``"orr"``, ``"dcr"``: :class:`Proportion`; ``"counts"``: DataFrame
        with columns response, n, pct (pct of all patients, 0–100, NE
        included), one row per category in RECIST order; ``"denominator"``.

    Examples
    --------
    >>> import pandas as pd
    >>> out = orr_dcr(pd.Series(["PR", "SD", "PD", "NE"]))
    >>> out["orr"].k, out["dcr"].k, out["orr"].n
    (1, 2, 4)
    """
    s = pd.Series(best_response)
    if s.isna().any():
        raise ValueError(f"{int(s.isna().sum())} missing best responses; code them 'NE' explicitly")
    s = s.astype(str).str.strip().str.upper()
    unknown = sorted(set(s) - set(RESPONSE_CATEGORIES))
    if unknown:
        raise ValueError(f"unknown response categories {unknown}; expected {RESPONSE_CATEGORIES}")
    counts = s.value_counts().reindex(list(RESPONSE_CATEGORIES), fill_value=0)
    total = int(counts.sum())
    denom = total - int(counts["NE"]) if ctrl.exclude_not_evaluable else total
    orr_k = int(counts["CR"] + counts["PR"])
    dcr_k = int(orr_k + counts["SD"])
    table = pd.DataFrame({"response": list(RESPONSE_CATEGORIES), "n": counts.to_numpy().astype(np.int64),
                          "pct": 100.0 * counts.to_numpy() / total if total else np.nan})
    return {"orr": rate_ci(orr_k, denom, ctrl), "dcr": rate_ci(dcr_k, denom, ctrl),
            "counts": table, "denominator": denom}
