"""Landmark restriction of the analysis data set: leave out the patients who died early.

A reviewer's question about an uncontrolled cohort: are the survival results carried by patients
who died before the treatment could act? The landmark analysis answers it by repeating the survival
analyses without the patients who died within the first ``months`` months (times still counted from
the start of treatment, so medians are conditional on surviving the landmark).
"""
from __future__ import annotations

import math

import pandas as pd


def exclude_early_deaths(a: pd.DataFrame, months: float) -> pd.DataFrame:
    """The analysis frame without the patients who died within the first ``months`` months.

    Parameters
    ----------
    a : DataFrame
        Analysis frame of :func:`analysis.data.cohort.derive` (``os_months``, ``os_event``).
    months : float
        Landmark in months (>= 0); 0 keeps every patient (the frame is returned as it is).

    Returns
    -------
    DataFrame
        The rows of the patients alive at ``months`` or censored before it (no death observed
        before the landmark), in their original order.

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"os_months": [0.5, 0.8, 3.0, 9.0], "os_event": [1, 0, 1, 0]})
    >>> exclude_early_deaths(a, 1).index.tolist()
    [1, 2, 3]
    >>> exclude_early_deaths(a, 0) is a
    True
    """
    if isinstance(months, bool) or not isinstance(months, (int, float)) or math.isnan(months) or months < 0:
        raise ValueError(f"exclude_deaths_within must be a number of months >= 0, not {months!r}")
    if months == 0:
        return a
    early = (a["os_event"] == 1) & (a["os_months"] < months)
    return a[~early]
