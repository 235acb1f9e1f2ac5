"""RECIST 1.1 derivations from per-assessment records.

Best overall response is taken over all on-treatment assessments (the paper's
definition: "the best treatment response observed during the therapeutic
course"); confirmation of a response is not required (retrospective data).
Patients without an evaluable assessment are "NE" and stay in the
denominator of ORR and DCR unless the analysis says otherwise.

Examples
--------
>>> import pandas as pd
>>> a = pd.DataFrame({"patient_id": ["a", "a", "b"],
...                   "assessment_date": pd.to_datetime(["2024-01-01", "2024-02-15", "2024-01-01"]),
...                   "overall_response": ["SD", "PR", "PD"],
...                   "sum_diameters_mm": [90.0, 60.0, 130.0]})
>>> best_overall_response(a, ["a", "b", "c"]).tolist()
['PR', 'PD', 'NE']
"""
from __future__ import annotations

import numpy as np
import pandas as pd

#: Order of RECIST categories from best to worst.
RESPONSE_ORDER = ("CR", "PR", "SD", "PD", "NE")
_RANK = {r: i for i, r in enumerate(RESPONSE_ORDER)}


def best_overall_response(assessments: pd.DataFrame, patient_ids, sd_min_days: int = 0,
                          start_dates: pd.Series | None = None) -> pd.Series:
    """Best overall response per patient, indexed like ``patient_ids``.

    Parameters
    ----------
    assessments : DataFrame with ``patient_id``, ``assessment_date``, ``overall_response``.
    patient_ids : every patient of the cohort; those without assessments get ``"NE"``.
    sd_min_days : minimum time from treatment start for SD to count as best response
        (RECIST 1.1 suggests 6–8 weeks in trials; the paper states none, default 0).
    start_dates : treatment start dates indexed by patient id, needed when ``sd_min_days > 0``.
    """
    ids = pd.Index(patient_ids, name="patient_id")
    if assessments.empty:
        return pd.Series("NE", index=ids, name="best_response")
    a = assessments[["patient_id", "assessment_date", "overall_response"]].copy()
    rank = a["overall_response"].map(_RANK).astype(float)
    if sd_min_days > 0:
        if start_dates is None:
            raise ValueError("sd_min_days > 0 needs start_dates")
        days = (a["assessment_date"] - a["patient_id"].map(start_dates)).dt.days
        too_early = (a["overall_response"] == "SD") & (days < sd_min_days)
        rank = rank.where(~too_early, _RANK["NE"])
    a["rank"] = rank
    best = a.groupby("patient_id")["rank"].min()
    out = best.reindex(ids).fillna(_RANK["NE"]).astype(int).map(dict(enumerate(RESPONSE_ORDER)))
    out.name = "best_response"
    return out


def best_percent_change(assessments: pd.DataFrame, baseline_sum: pd.Series) -> pd.Series:
    """Best (most negative) % change of the sum of target-lesion diameters from baseline.

    ``baseline_sum`` is indexed by patient id. Patients without a measured
    assessment or without a positive baseline sum get NaN (not shown in the
    waterfall plot).
    """
    a = assessments.dropna(subset=["sum_diameters_mm"])
    base = a["patient_id"].map(baseline_sum)
    pct = (a["sum_diameters_mm"] - base) / base * 100.0
    pct = pct.where(base > 0)
    best = pct.groupby(a["patient_id"]).min()
    out = best.reindex(baseline_sum.index).astype(float)
    out.name = "best_pct_change"
    return out


def first_response_date(assessments: pd.DataFrame, patient_ids) -> pd.Series:
    """Date of the first CR or PR assessment per patient (NaT when never responding)."""
    resp = assessments[assessments["overall_response"].isin(["CR", "PR"])]
    first = resp.groupby("patient_id")["assessment_date"].min()
    out = first.reindex(pd.Index(patient_ids, name="patient_id"))
    out.name = "first_response_date"
    return out


def size_rule_response(baseline: float, sums: np.ndarray, new_lesions: np.ndarray) -> list[str]:
    """Response implied by RECIST 1.1 size rules alone at each assessment, in date order.

    PD: sum ≥ 20 % and ≥ 5 mm above the nadir so far (baseline included) or new lesions;
    CR: sum 0; PR: ≥ 30 % below baseline; otherwise SD. Used by the synthetic
    generator and by validation tests as the reference rule.
    """
    out = []
    nadir = baseline
    eps = 1e-9  # diameters are recorded to 0.1 mm: "at least 20 %" must not fail on floating-point noise
    for s, new in zip(sums, new_lesions):
        if new or (s - nadir >= 0.2 * nadir - eps and s - nadir >= 5.0 - eps):
            out.append("PD")
        elif s == 0:
            out.append("CR")
        elif s <= 0.7 * baseline + eps:
            out.append("PR")
        else:
            out.append("SD")
        nadir = min(nadir, s)
    return out


def summarise_change(best_pct_change: pd.Series) -> dict[str, tuple]:
    """Mean, median and range of the best % change among patients with a measured assessment.

    Returned as ``{key: (value, text)}`` for :meth:`analysis.report.results.Results.numbers`.
    """
    x = best_pct_change.dropna().astype(float)
    n = len(x)
    vals = {"n": n, "mean": x.mean() if n else float("nan"), "median": x.median() if n else float("nan"),
            "min": x.min() if n else float("nan"), "max": x.max() if n else float("nan"),
            "n_shrink": int((x < 0).sum()), "n_shrink_30": int((x <= -30).sum())}
    return {k: (v, str(v) if isinstance(v, int) else f"{v:.2f}") for k, v in vals.items()}
