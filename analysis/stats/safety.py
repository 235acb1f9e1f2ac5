"""Adverse-event summaries (treatment-related AEs by worst grade).

Each patient counts once per term, at their worst grade for that term.
Percentages use all treated patients (``n_patients``) as denominator.

Examples
--------
>>> import pandas as pd
>>> ae = pd.DataFrame({"patient_id": [1, 1, 2, 3], "ae_term": ["rash", "rash", "rash", "fatigue"],
...                    "grade": [1, 3, 2, 1]})
>>> ae_summary(ae, n_patients=10)[["term", "any_n", "grade12_n", "grade3plus_n"]].values.tolist()
[['any', 3, 2, 1], ['rash', 2, 1, 1], ['fatigue', 1, 1, 0]]
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["ae_summary", "patients_with_grade", "OVERALL"]

OVERALL = "any"
_COLUMNS = ["term", "any_n", "any_pct", "grade12_n", "grade12_pct", "grade3plus_n", "grade3plus_pct"]


def ae_summary(ae: pd.DataFrame, n_patients: int, terms=None, labels: dict | None = None,
               id_col: str = "patient_id") -> pd.DataFrame:
    """Patients with each adverse event, overall and by grade group.

    Parameters
    ----------
    ae : DataFrame
        Columns ``patient_id``, ``ae_term``, ``grade`` (CTCAE 1–5), one row
        per event.
    n_patients : int
        Treated patients (the denominator), at least the number of distinct
        patients in ``ae``.
    terms : list of str, optional
        Terms to show, in this order (absent terms get zero rows). Default:
        every term, by decreasing frequency then name.
    labels : dict, optional
        Display label per term (and for ``"any"``) for the ``term`` column.
    id_col : str
        Column identifying the patient (e.g. an anonymous ``subject`` number).

    Returns
    -------
    DataFrame
        First row ``"any"`` (patients with ≥ 1 event; grade3plus = patients
        with ≥ 1 grade ≥ 3 event; grade12 = any − grade3plus), then one row
        per term. Columns term, any_n, any_pct, grade12_n, grade12_pct,
        grade3plus_n, grade3plus_pct; percentages 0–100.
    """
    ae = ae.rename(columns={id_col: "patient_id"}) if id_col != "patient_id" else ae
    need = {"patient_id", "ae_term", "grade"}
    if not need <= set(ae.columns):
        raise KeyError(f"ae needs columns {sorted(need)}, has {list(ae.columns)}")
    n_patients = int(n_patients)
    d = ae[["patient_id", "ae_term", "grade"]]
    if d.isna().any().any():
        raise ValueError("missing patient_id, ae_term or grade in ae")
    g = pd.to_numeric(d["grade"])
    if not g.between(1, 5).all():
        raise ValueError("grade must be in 1..5")
    d = d.assign(grade=g)
    n_seen = d["patient_id"].nunique()
    if n_patients < n_seen or n_patients <= 0:
        raise ValueError(f"n_patients={n_patients} is below the {n_seen} patients with events")
    worst = d.groupby(["ae_term", "patient_id"], sort=False)["grade"].max().reset_index()
    by_term = worst.groupby("ae_term").agg(any_n=("grade", "size"),
                                           grade3plus_n=("grade", lambda x: int((x >= 3).sum())))
    if terms is None:
        by_term = by_term.reset_index().sort_values(["any_n", "ae_term"], ascending=[False, True])
        order = by_term["ae_term"].tolist()
    else:
        order = list(terms)
    by_term = by_term.reindex(order, fill_value=0) if terms is not None else by_term.set_index("ae_term")
    pw = d.groupby("patient_id")["grade"].max()
    rows = [(OVERALL, int(pw.size), int((pw >= 3).sum()))]
    rows += [(t, int(by_term.loc[t, "any_n"]), int(by_term.loc[t, "grade3plus_n"])) for t in order]
    out = pd.DataFrame(rows, columns=["term", "any_n", "grade3plus_n"])
    out["grade12_n"] = out["any_n"] - out["grade3plus_n"]
    for c in ("any", "grade12", "grade3plus"):
        out[f"{c}_n"] = out[f"{c}_n"].astype(np.int64)
        out[f"{c}_pct"] = 100.0 * out[f"{c}_n"] / n_patients
    if labels:
        out["term"] = out["term"].map(lambda t: labels.get(t, t))
    return out[_COLUMNS]


def patients_with_grade(ae: pd.DataFrame, grade: int = 5, id_col: str = "patient_id") -> int:
    """Number of distinct patients with at least one event of exactly ``grade`` (CTCAE 1–5).

    A patient with several such events counts once; an empty frame gives 0.

    >>> ae = pd.DataFrame({"subject": [1, 1, 2, 3], "ae_term": ["rash", "sepsis", "rash", "rash"],
    ...                    "grade": [5, 5, 5, 2]})
    >>> patients_with_grade(ae, 5, id_col="subject"), patients_with_grade(ae, 4, id_col="subject")
    (2, 0)
    """
    if not 1 <= int(grade) <= 5:
        raise ValueError("grade must be in 1..5")
    need = {id_col, "grade"}
    if not need <= set(ae.columns):
        raise KeyError(f"ae needs columns {sorted(need)}, has {list(ae.columns)}")
    g = pd.to_numeric(ae["grade"])
    return int(ae.loc[g == int(grade), id_col].nunique())
