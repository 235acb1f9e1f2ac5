"""Valid but unusual cohorts for the report matrix, made from the shipped synthetic cohort.

Each builder reads the shipped tables as text (as a hospital export would be) and changes them the way
a real cohort differs from the paper's: fewer patients, one level of a covariate, one anlotinib dose,
nobody progressed or died, no responders, no adverse events, a different most frequent adverse event.
Every cohort passes validation (``analysis.data.validate``); :data:`MATRIX` pairs each with a parameter
set and the degeneracies it covers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from analysis.paths import SYNTHETIC_DIR

TABLES = ("patients", "assessments", "adverse_events")


def shipped() -> dict[str, pd.DataFrame]:
    """The shipped synthetic cohort's three tables, every cell as text ("" for missing)."""
    return {t: pd.read_csv(SYNTHETIC_DIR / f"{t}.csv", dtype=str, keep_default_na=False) for t in TABLES}


def write(tables: dict[str, pd.DataFrame], folder: Path, meta: dict | None = None) -> Path:
    """Write the three tables as CSV (data-dictionary columns) and an optional ``cohort.yaml``."""
    folder.mkdir(parents=True, exist_ok=True)
    for t in TABLES:
        tables[t].to_csv(folder / f"{t}.csv", index=False, lineterminator="\n")
    if meta is not None:
        (folder / "cohort.yaml").write_text(yaml.safe_dump(meta), encoding="utf-8")
    return folder


def subset(tables, ids) -> dict[str, pd.DataFrame]:
    """Only the patients ``ids`` (and their assessments and adverse events)."""
    return {t: df[df["patient_id"].isin(ids)].reset_index(drop=True) for t, df in tables.items()}


def tiny(n: int = 5) -> dict[str, pd.DataFrame]:
    """The first ``n`` patients with the first patient's prior ICI class and reason for its failure: those two
    Cox covariates have one level, the others few, and there are few events (whatever the calibration drew)."""
    t = shipped()
    p = t["patients"]
    same = (p["prior_ici_class"] == p["prior_ici_class"].iloc[0]) & (p["prior_ici_failure"] == p["prior_ici_failure"].iloc[0])
    return subset(t, p.loc[same, "patient_id"].iloc[:n].tolist())


def everyone_censored(t) -> dict[str, pd.DataFrame]:
    """Nobody progressed or died: progression and death dates removed, every patient followed to the cutoff."""
    p = t["patients"].copy()
    died = p["death_date"] != ""
    p["progression_date"] = ""
    p["death_date"] = ""
    p["last_contact_date"] = p["data_cutoff_date"]
    a = t["assessments"].copy()
    # assessments after a (removed) death stay valid: death no longer bounds them; PD assessments stay (warning only)
    out = {**t, "patients": p, "assessments": a}
    out["patients"].loc[died, "on_treatment_at_cutoff"] = "no"
    return out


def some_limited(t, k: int = 8) -> dict[str, pd.DataFrame]:
    """The first ``k`` patients with limited-stage disease (the rest extensive): a cohort that is not ES-SCLC."""
    p = t["patients"].copy()
    p.loc[p.index[:k], "stage"] = "limited"
    return {**t, "patients": p}


#: A hospital's cohort.yaml with the article keys (analysis.report.framing.ARTICLE_KEYS).
HOSPITAL_META = {"name": "city-hospital", "title": "Anlotinib with immunotherapy after prior ICI failure at City Hospital",
                 "authors": ["A. Author", "B. Author"], "date": "2025-02-01",
                 "ethics": "Approved by the City Hospital ethics committee (ref. 2024-17); consent waived.",
                 "funding": "City Hospital research fund."}


def one_dose(t, mg: str = "10") -> dict[str, pd.DataFrame]:
    """Every patient on the same starting dose."""
    p = t["patients"].copy()
    p["anlotinib_dose_mg"] = mg
    return {**t, "patients": p}


def no_adverse_events(t) -> dict[str, pd.DataFrame]:
    """An adverse-event table with its header and no rows."""
    return {**t, "adverse_events": t["adverse_events"].iloc[:0]}


def all_not_evaluable(t) -> dict[str, pd.DataFrame]:
    """Every assessment not evaluable (no measurement, no responder, no DoR analysis)."""
    a = t["assessments"].copy()
    a["overall_response"] = "NE"
    a["sum_diameters_mm"] = ""
    a["new_lesions"] = "no"
    return {**t, "assessments": a}


def one_level(t, column: str, value: str) -> dict[str, pd.DataFrame]:
    """A baseline column with a single value for every patient (e.g. all platinum-resistant)."""
    p = t["patients"].copy()
    p[column] = value
    return {**t, "patients": p}


def anorexia_most_frequent(t, extra: int = 70) -> dict[str, pd.DataFrame]:
    """Anorexia (grade 1) added for the first patients, so that it becomes the most frequent event."""
    p, ae = t["patients"], t["adverse_events"]
    ids = [i for i in p["patient_id"] if not ((ae["patient_id"] == i) & (ae["ae_term"] == "anorexia")).any()][:extra]
    start = p.set_index("patient_id")["treatment_start_date"]
    rows = pd.DataFrame({"patient_id": ids, "ae_term": "anorexia", "grade": "1",
                         "onset_date": [start[i] for i in ids], "treatment_related": "yes"})
    return {**t, "adverse_events": pd.concat([ae, rows[ae.columns]], ignore_index=True)}


def changed_row_copy(t) -> dict[str, pd.DataFrame]:
    """The shipped cohort with one value of one row changed (the first patient one year older)."""
    p = t["patients"].copy()
    p.loc[0, "age"] = str(int(p.loc[0, "age"]) + 1)
    return {**t, "patients": p}


def params_variant(dest: Path, changes: dict[str, dict]) -> Path:
    """A params folder as a hospital writes one (an overlay on ``params/``, issue #31): only the files of
    ``{file stem: {key: value}}``, each holding only the keys it changes (a mapping such as
    ``cox_covariates`` is merged key by key with the default)."""
    dest.mkdir(parents=True, exist_ok=True)
    for stem, kv in changes.items():
        (dest / f"{stem}.yaml").write_text(yaml.safe_dump(kv, sort_keys=False), encoding="utf-8")
    return dest


@dataclass
class MatrixCase:
    """One cohort of the report matrix: how to make it, its parameters and what it covers."""

    name: str
    make: callable
    params: dict = field(default_factory=dict)
    meta: dict | None = None
    covers: tuple[str, ...] = ()


#: The report matrix: each cohort covers several degeneracies so that few whole builds cover them all.
MATRIX = (
    MatrixCase("tiny", lambda: tiny(5),
               params={"03-survival": {"median_ci": "log-log", "rate_ci": "log", "followup_method": "reverse_km"},
                       "04-subgroups": {"cox_covariates": {"ecog_group": "numeric", "platinum_response": "resistant",
                                                           "prior_ici_class": "pdl1", "anlotinib_dose_mg": "numeric"}}},
               covers=("n = 5", "one-level Cox covariates", "numeric ECOG term", "reverse KM follow-up",
                       "log rate CI", "log-log median CI")),
    MatrixCase("censored_one_dose_no_ae",
               lambda: no_adverse_events(one_dose(everyone_censored(some_limited(shipped())))),
               params={"02-response": {"ci_method": "wilson"}, "04-subgroups": {"p_adjust": "fdr_bh"},
                       "common": {"days_per_month": 30.4375}},
               meta=HOSPITAL_META,
               covers=("no events", "medians and follow-up not reached", "single dose level", "no adverse events",
                       "no Cox model", "Wilson CI", "BH-adjusted p", "months of 30.4375 days",
                       "limited-stage patients", "cohort.yaml title, authors, date, ethics, funding")),
    MatrixCase("no_responders_resistant_anorexia",
               lambda: anorexia_most_frequent(one_level(all_not_evaluable(shipped()), "platinum_response",
                                                        "resistant")),
               params={"02-response": {"exclude_not_evaluable": True},
                       "04-subgroups": {"cox_covariates": {"ecog_group": "ecog_2", "platinum_response": "resistant",
                                                           "prior_ici_failure": "intolerance",
                                                           "anlotinib_dose_mg": None}}},
               meta={"name": "copied-flag", "synthetic": True},
               covers=("all not evaluable", "no responders (no DoR)", "one-level Cox covariate (platinum)",
                       "anorexia most frequent", "synthetic: true on another cohort",
                       "NE excluded: ORR on no patient", "ordinal dose term")),
)
