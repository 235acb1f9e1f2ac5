"""Formatting layer: numbers in, table cells out.

Statistics functions elsewhere return raw floats; only this module turns them
into strings. Conventions: en dash for ranges and for missing values, ``NR``
(not reached) for infinite medians or bounds, and ``nan`` is never printed.

Examples
--------
>>> from analysis.report import fmt
>>> fmt.ci(3.8712, 7.3288, 2)
'3.87–7.33'
>>> fmt.months(float("inf"))
'NR'
>>> fmt.n_pct(22, 68)
'22 (32.4)'
>>> fmt.pvalue(0.0004)
'<0.001'
"""
from __future__ import annotations

import math

__all__ = ["num", "months", "estimate_in_ci", "ci", "pct", "percent", "n_pct", "pvalue", "hr_ci", "method_name", "MISSING",
           "NOT_REACHED", "DASH"]

DASH = "\u2013"          # en dash
MISSING = DASH
NOT_REACHED = "NR"


def _is_missing(x) -> bool:
    if x is None:
        return True
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def num(x, digits: int = 2) -> str:
    """Fixed-point number; NaN/None → "–", ±inf → "NR".

    >>> num(1.005, 1), num(float("nan"))
    ('1.0', '–')
    """
    if _is_missing(x):
        return MISSING
    x = float(x)
    if math.isinf(x):
        return NOT_REACHED
    s = f"{x:.{digits}f}"
    # avoid "-0.00"
    if float(s) == 0.0 and s.startswith("-"):
        s = s[1:]
    return s


def months(x, digits: int = 1) -> str:
    """A duration in months, 1 decimal; inf → "NR".

    >>> months(5.63), months(float("inf"))
    ('5.6', 'NR')
    """
    return num(x, digits)


def estimate_in_ci(estimate, lower, upper, digits: int = 1, ci_digits: int = 2) -> str:
    """An estimate printed so that it never reads outside its own printed interval.

    The paper's precision is the default (medians to one decimal, bounds to two); when the estimate
    at ``digits`` falls outside the bounds printed at ``ci_digits`` (e.g. 1.4 beside 0.79–1.38), it
    is printed at the bounds' precision instead. Infinite values print as "NR", missing as "–".

    >>> estimate_in_ci(5.6, 3.8712, 7.3288), estimate_in_ci(1.38, 0.79, 1.38)
    ('5.6', '1.38')
    >>> estimate_in_ci(float("inf"), 7.0, float("inf"))
    'NR'
    """
    s = num(estimate, digits)
    if s in (MISSING, NOT_REACHED):
        return s
    lo, hi = num(lower, ci_digits), num(upper, ci_digits)
    shown = float(s)
    below = lo not in (MISSING, NOT_REACHED) and shown < float(lo)
    above = hi not in (MISSING, NOT_REACHED) and shown > float(hi)
    return num(estimate, ci_digits) if (below or above) else s


def ci(lower, upper, digits: int = 2) -> str:
    """An interval "lo–hi" with an en dash; infinite bounds print as "NR".

    >>> ci(0.0, 17.912), ci(7.0, float("inf"), 1)
    ('0.00–17.91', '7.0–NR')
    """
    if _is_missing(lower) and _is_missing(upper):
        return MISSING
    return f"{num(lower, digits)}{DASH}{num(upper, digits)}"


def pct(x, digits: int = 1) -> str:
    """A proportion in [0, 1] printed as a percentage without the sign.

    >>> pct(22 / 68)
    '32.4'
    """
    if _is_missing(x):
        return MISSING
    return num(100.0 * float(x), digits)


def percent(x, digits: int = 1) -> str:
    """A value already in percent units (0–100), without the sign; NaN → "–".

    >>> percent(32.352941), percent(float("nan"))
    ('32.4', '–')
    """
    return num(x, digits)


_METHOD_NAMES = {
    "clopper-pearson": "Clopper–Pearson exact",
    "wilson": "Wilson score",
    "jeffreys": "Jeffreys",
    "normal": "Wald (normal approximation)",
    "spss": "SPSS symmetric (median ± z·SE)",
    "log": "log-transformed",
    "log-log": "log(−log)-transformed",
    "plain": "untransformed (plain)",
    "breslow": "Breslow",
    "efron": "Efron",
    "reverse_km": "reverse Kaplan–Meier",
    "observed": "median of observed times",
    "censored_only": "median among censored patients",
    "fdr_bh": "Benjamini–Hochberg",
}


def method_name(key: str) -> str:
    """Readable name of a method key from :mod:`analysis.stats.control` (unknown keys unchanged).

    >>> method_name("clopper-pearson"), method_name("log-log")
    ('Clopper–Pearson exact', 'log(−log)-transformed')
    """
    return _METHOD_NAMES.get(key, str(key))


def n_pct(k, n, digits: int = 1) -> str:
    """Count with percentage, "22 (32.4)"; n = 0 → "0 (–)".

    >>> n_pct(50, 68)
    '50 (73.5)'
    """
    if _is_missing(k):
        return MISSING
    k = int(k)
    p = MISSING if _is_missing(n) or int(n) == 0 else pct(k / int(n), digits)
    return f"{k} ({p})"


def pvalue(p, digits: int = 3) -> str:
    """A p-value: "0.031", "<0.001"; NaN → "–".

    >>> pvalue(0.0312), pvalue(1e-6), pvalue(float("nan"))
    ('0.031', '<0.001', '–')
    """
    if _is_missing(p):
        return MISSING
    p = float(p)
    if p < 0 or p > 1:
        raise ValueError(f"p-value out of [0, 1]: {p}")
    floor = 10.0 ** (-digits)
    if p < floor:
        return f"<{floor:.{digits}f}"
    return f"{p:.{digits}f}"


def hr_ci(hr, lower, upper, digits: int = 2) -> str:
    """Hazard ratio with interval, "0.52 (0.31–0.87)".

    >>> hr_ci(0.5234, 0.3111, 0.8765)
    '0.52 (0.31–0.88)'
    """
    if _is_missing(hr):
        return MISSING
    return f"{num(hr, digits)} ({ci(lower, upper, digits)})"

