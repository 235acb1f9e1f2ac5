"""Read, validate and derive the analysis data set from a cohort's three tables.

The pipeline never works on pre-computed durations: every endpoint is derived
here from the dates and assessments a hospital exports.

Endpoint definitions (months = days / ``DeriveOptions.days_per_month``; the
library default is the mean month, 365.25 / 12 = 30.4375 days; the report's
parameters use the paper's 30-day month, see ``params/common.yaml``):

* **OS**: treatment start to death from any cause; alive patients are censored
  at the date last known alive.
* **PFS**: treatment start to the first progression or death, whichever comes
  first; patients without either are censored at the date last known alive
  (``pfs_censor="last_contact"``, the paper's "followed until progression,
  death or the data cutoff") or at their last tumour assessment
  (``pfs_censor="last_assessment"``, the FDA convention).
* **DoR**: first CR/PR assessment to progression or death, among responders.
* **Follow-up**: the observed OS time; its median is estimated by reverse
  Kaplan–Meier in :mod:`analysis.stats.km`.

The derived frame carries no patient identifier and no calendar date: rows are
numbered ``subject`` 1..N in input order.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data import recist
from analysis.paths import DAYS_PER_MONTH
from analysis.data.schema import label

#: Time and event column of each time-to-event endpoint in the analysis data set (:func:`derive`).
ENDPOINT_COLUMNS = {"os": ("os_months", "os_event"), "pfs": ("pfs_months", "pfs_event"),
                    "dor": ("dor_months", "dor_event")}


@dataclass(frozen=True)
class DeriveOptions:
    """Options of the endpoint derivation (validated)."""

    age_cut: float = 61
    pfs_censor: str = "last_contact"
    sd_min_days: int = 0
    days_per_month: float = DAYS_PER_MONTH

    def __post_init__(self):
        if not (isinstance(self.days_per_month, (int, float)) and 28 <= self.days_per_month <= 31):
            raise ValueError(f"days_per_month must be a number of days between 28 and 31, not {self.days_per_month!r}")
        if self.pfs_censor not in ("last_contact", "last_assessment"):
            raise ValueError(f"pfs_censor must be 'last_contact' or 'last_assessment', not {self.pfs_censor!r}")
        if self.sd_min_days < 0:
            raise ValueError("sd_min_days must be >= 0")


@dataclass(frozen=True)
class Variable:
    """A baseline variable of Table 1 / Table 2 with its ordered levels (key, label)."""

    name: str
    label: str
    levels: tuple[tuple[str, str], ...]


#: The paper's starting doses (mg): always levels of the dose variable; other doses are added in numeric order.
USUAL_DOSES = (8, 10, 12)


def baseline_variables(opts: DeriveOptions = DeriveOptions(), agents=None, doses=None) -> list[Variable]:
    """The baseline variables of Tables 1 and 2, in the paper's order.

    ``agents`` lists the ICI agents present (Table 1 shows only those used); ``doses`` the starting
    doses present (mg): the levels are the paper's 8, 10 and 12 and any other dose, ordered numerically.
    """
    cut = f"{opts.age_cut:g}"
    agents = agents or ["tislelizumab", "serplulimab", "atezolizumab", "adebrelimab"]
    doses = sorted(set(USUAL_DOSES) | {int(d) for d in (() if doses is None else doses)})
    return [
        Variable("age_group", "Age (years)", (("gt_cut", f">{cut}"), ("le_cut", f"≤{cut}"))),
        Variable("sex", "Sex", (("male", "Male"), ("female", "Female"))),
        Variable("ecog_group", "ECOG performance status", (("ecog_0_1", "0–1"), ("ecog_2", "≥2"))),
        Variable("stage", "Stage", (("extensive", "Extensive stage"), ("limited", "Limited stage"))),
        Variable("smoking", "Smoking status", (("never", "Non-smoker"), ("former", "Former smoker"),
                                               ("current", "Current smoker"))),
        Variable("prior_lines_group", "Lines of previous treatment",
                 (("first_line", "First-line"), ("second_or_more", "Second-line or more"))),
        Variable("platinum_response", "Response to platinum-based treatment",
                 (("sensitive", "Platinum-sensitive"), ("resistant", "Platinum-resistant"))),
        Variable("interim_systemic_therapy", "Other systemic treatments between immunotherapy lines",
                 (("no", "No"), ("yes", "Yes"))),
        Variable("brain_metastasis", "Brain metastasis", (("yes", "Present"), ("no", "Absent"))),
        Variable("prior_ici_class", "Type of prior immunotherapy",
                 (("pd1", "PD-1 inhibitors"), ("pdl1", "PD-L1 inhibitors"))),
        Variable("prior_ici_failure", "Reason for prior immunotherapy failure",
                 (("progression", "Progression"), ("intolerance", "Intolerance"))),
        Variable("radiotherapy", "Radiotherapy status", (("yes", "Yes"), ("no", "No"))),
        Variable("anlotinib_dose_mg", "Anlotinib dosage (mg)", tuple((f"mg{d}", str(d)) for d in doses)),
        Variable("ici_agent", "Immunotherapy types", tuple((a, label("patients", "ici_agent", a)) for a in agents)),
    ]


@dataclass
class Cohort:
    """A validated cohort: the raw tables and the derived per-patient analysis frame."""

    patients: pd.DataFrame
    assessments: pd.DataFrame
    adverse_events: pd.DataFrame
    analysis: pd.DataFrame
    options: DeriveOptions
    sources: dict = field(default_factory=dict)
    sha256: dict = field(default_factory=dict)
    warnings: pd.DataFrame | None = None

    @property
    def n(self) -> int:
        return len(self.analysis)

    def variables(self) -> list[Variable]:
        agents = [a for a in self.analysis["ici_agent"].value_counts().index]
        order = ["tislelizumab", "serplulimab", "atezolizumab", "adebrelimab"]
        agents = sorted(agents, key=lambda a: (order.index(a) if a in order else len(order), a))
        return baseline_variables(self.options, agents, self.analysis["dose_mg"].unique())

    def identifiers(self) -> list[str]:
        """Patient identifiers and patient-level dates (ISO) that must never reach an output.

        The data cutoff date is a property of the study, not of a patient, and is allowed.
        """
        out = [str(x) for x in self.patients["patient_id"]]
        cutoff = set(self.patients["data_cutoff_date"].dropna().dt.strftime("%Y-%m-%d"))
        for col in ("treatment_start_date", "progression_date", "death_date", "last_contact_date"):
            out += [d for d in self.patients[col].dropna().dt.strftime("%Y-%m-%d") if d not in cutoff]
        return sorted(set(out))

    def treatment_related_aes(self) -> pd.DataFrame:
        """Treatment-related AEs with the anonymous ``subject`` number instead of the patient id."""
        ae = self.adverse_events
        ae = ae[ae["treatment_related"] == "yes"]
        subj = pd.Series(self.analysis.index.values, index=self.patients["patient_id"].values)
        return pd.DataFrame({"subject": ae["patient_id"].map(subj).values,
                             "ae_term": ae["ae_term"].values, "grade": ae["grade"].astype(int).values})


def _months(later: pd.Series, earlier: pd.Series, days_per_month: float = DAYS_PER_MONTH) -> pd.Series:
    return (later - earlier).dt.days / days_per_month


def derive(patients: pd.DataFrame, assessments: pd.DataFrame, opts: DeriveOptions = DeriveOptions()) -> pd.DataFrame:
    """Per-patient analysis frame from validated tables (pure function).

    Returns one row per patient, indexed by ``subject`` (1..N in input order),
    with the grouping variables of :func:`baseline_variables` (level keys as
    values), numeric covariates, best response, best % change and the
    endpoint times (months) and event indicators.
    """
    p = patients.reset_index(drop=True)
    ids = p["patient_id"]
    start = p["treatment_start_date"]
    out = pd.DataFrame(index=pd.RangeIndex(1, len(p) + 1, name="subject"))
    v = lambda s: s.to_numpy()  # noqa: E731  (positional copy, drops the index)

    out["age"] = v(p["age"]).astype(float)
    out["age_group"] = np.where(out["age"] > opts.age_cut, "gt_cut", "le_cut")
    out["sex"] = v(p["sex"])
    out["ecog"] = v(p["ecog"]).astype(int)
    out["ecog_group"] = np.where(out["ecog"] <= 1, "ecog_0_1", "ecog_2")
    out["stage"] = v(p["stage"])
    out["smoking"] = v(p["smoking"])
    out["prior_lines"] = v(p["prior_lines"]).astype(int)
    out["prior_lines_group"] = np.where(out["prior_lines"] <= 1, "first_line", "second_or_more")
    for col in ("platinum_response", "interim_systemic_therapy", "brain_metastasis", "prior_ici_class",
                "prior_ici_failure", "radiotherapy", "ici_agent", "on_treatment_at_cutoff"):
        out[col] = v(p[col])
    out["dose_mg"] = v(p["anlotinib_dose_mg"]).astype(int)
    out["anlotinib_dose_mg"] = ["mg%d" % d for d in out["dose_mg"]]

    # response
    a = assessments.copy()
    best = recist.best_overall_response(a, ids, opts.sd_min_days, start.set_axis(ids))
    out["best_response"] = v(best)
    base = pd.Series(v(p["baseline_sum_mm"]).astype(float), index=ids)
    out["best_pct_change"] = v(recist.best_percent_change(a, base))
    out["evaluable"] = out["best_response"] != "NE"

    # survival endpoints
    prog, death, last = p["progression_date"], p["death_date"], p["last_contact_date"]
    died = death.notna()
    os_end = death.where(died, last)
    out["os_months"] = v(_months(os_end, start, opts.days_per_month))
    out["os_event"] = v(died).astype(int)

    pfs_event_date = pd.concat([prog, death], axis=1).min(axis=1)
    has_pfs_event = pfs_event_date.notna()
    if opts.pfs_censor == "last_contact":
        censor = last
    else:
        last_assess = a.groupby("patient_id")["assessment_date"].max().reindex(ids)
        censor = pd.Series(v(last_assess), index=p.index).fillna(start)
    pfs_end = pfs_event_date.where(has_pfs_event, censor)
    out["pfs_months"] = v(_months(pfs_end, start, opts.days_per_month))
    out["pfs_event"] = v(has_pfs_event).astype(int)

    first_resp = pd.Series(v(recist.first_response_date(a, ids)), index=p.index)
    responder = first_resp.notna()
    dor_end = pfs_event_date.where(has_pfs_event, last)
    out["responder"] = v(responder)
    out["dor_months"] = v(_months(dor_end, first_resp, opts.days_per_month).where(responder))
    out["dor_event"] = v((has_pfs_event & responder).astype(float).where(responder))

    out["followup_months"] = out["os_months"]
    out["progressed"] = v(prog.notna()).astype(int)
    return out


def load_cohort(path: str | Path, opts: DeriveOptions = DeriveOptions(), validated: str | Path | None = None,
                **read_options) -> Cohort:
    """Read the three tables at ``path``, validate them (raising on any error) and derive endpoints.

    ``validated``: the validated tables written by the validation step (``make validate``,
    :mod:`analysis.data.validated`). When that file exists and its manifest says it was made from
    the files now at ``path`` (same SHA-256) and the file itself has the checksum recorded, the tables are taken
    from it instead of being read and validated again; otherwise (no file, other data, a damaged
    file) the cohort is read and validated here. Either way the result is the same.
    """
    from analysis.data.validated import load_validated, validated_tables

    tables = load_validated(validated, path) if validated is not None else None
    if tables is None:
        from analysis.data.readers import read_cohort
        from analysis.data.validate import validate_cohort

        raw = read_cohort(path, **read_options)
        report = validate_cohort(raw)
        report.raise_for_errors()
        tables = validated_tables(raw, report)
    t = tables["tables"]
    analysis = derive(t["patients"], t["assessments"], opts)
    return Cohort(t["patients"], t["assessments"], t["adverse_events"], analysis, opts,
                  sources=tables["sources"], sha256=tables["sha256"], warnings=tables["warnings"])


def variable_label(cohort: Cohort, name: str) -> str:
    """Heading of a baseline variable (e.g. ``ecog_group`` → ``ECOG performance status``)."""
    for v in cohort.variables():
        if v.name == name:
            return v.label
    return name


#: SHA-256 of each table of the shipped synthetic cohort (``data/synthetic/*.csv``, as ``make calibrate``
#: writes them). Whether a report is about the synthetic cohort is decided from these checksums, never from a
#: ``synthetic:`` flag in ``cohort.yaml`` (which a user can copy); a test checks them against the files.
SHIPPED_SYNTHETIC_SHA256 = {
    "patients": "7b610eb416980f10a8e9e9b9ba78b50191e1509d0b924e65e4249a8e0223d6ba",
    "assessments": "63f566ec526cca4b50fda0e1c3db103874f70c2a572d25c7b435fc13c2d2d302",
    "adverse_events": "fadcf98b95c34ee05002dfbaadcbebcf96b9ca17987556bf427962c786814c27",
}


def is_shipped_synthetic(sha256: dict | None) -> bool:
    """True only when every table's checksum is the shipped synthetic cohort's (:data:`SHIPPED_SYNTHETIC_SHA256`).

    >>> is_shipped_synthetic(SHIPPED_SYNTHETIC_SHA256), is_shipped_synthetic({**SHIPPED_SYNTHETIC_SHA256, "patients": "0"})
    (True, False)
    """
    return bool(sha256) and all(sha256.get(t) == h for t, h in SHIPPED_SYNTHETIC_SHA256.items())


def read_metadata(path: str | Path) -> dict:
    """The optional ``cohort.yaml`` beside the tables: ``name``, ``synthetic`` (bool), ``description``.

    Read within the limits of :mod:`analysis.data.metadata` (size, aliases, a mapping, text length);
    raises :class:`analysis.data.metadata.MetadataError` naming the file and the rule.
    """
    from analysis.data.metadata import read_metadata_file

    p = Path(path)
    meta = dict(read_metadata_file(p))
    if meta.get("name") is None:
        meta["name"] = p.stem if not p.is_dir() else p.name
    meta["name"] = str(meta["name"])
    meta.setdefault("synthetic", False)
    if meta.get("description") is None:
        meta["description"] = ""
    return meta
