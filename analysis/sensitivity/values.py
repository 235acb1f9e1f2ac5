"""Equality of result values: numbers within a relative tolerance, undefined equal to undefined.

A leaf module (imported by :mod:`analysis.sensitivity.compare`, :mod:`~analysis.sensitivity.headline`
and :mod:`~analysis.sensitivity.verify` through compare).
"""
from __future__ import annotations

import math

__all__ = ["undefined", "same_value"]


def undefined(x) -> bool:
    """Whether a value is undefined: ``None`` (``null`` in a results file) or a float NaN (in memory).

    >>> undefined(None), undefined(float("nan")), undefined(0), undefined("NR")
    (True, True, False, False)
    """
    return x is None or (isinstance(x, float) and math.isnan(x))


def same_value(x, y, rel: float = 1e-9) -> bool:
    """Equal values: numbers within a relative ``rel``; an undefined value (``None``/``null`` or NaN,
    :func:`undefined`) equals an undefined one, so NaN in memory equals ``null`` in ``numbers.yaml``.

    >>> same_value(0.1 + 0.2, 0.3), same_value(1.0, 1.1), same_value(None, 0), same_value(float("nan"), None)
    (True, False, False, True)
    """
    if undefined(x) or undefined(y):
        return undefined(x) and undefined(y)
    if isinstance(x, (int, float)) and isinstance(y, (int, float)) and not isinstance(x, bool):
        return x == y or abs(x - y) <= rel * max(abs(x), abs(y))
    return x == y
