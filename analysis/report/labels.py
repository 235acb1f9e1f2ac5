"""Readable labels of result keys, for tables a reader reads (the supplement's scorecard, audit and
misses): ``survival.os.median`` → "OS: median, months", ``cohort.table1.sex.male.pct`` → "Sex: Male, %".

The keys are those the notebooks write (``results/<section>/numbers.yaml``) and
``data/published_targets.yaml`` uses; variable and level names come from
:func:`analysis.data.cohort.baseline_variables`, adverse-event names from the data dictionary. A key
of an unknown form still gets words (never the dotted key): underscores become spaces, dots colons.

Examples
--------
>>> number_label("survival.os.median")
'OS: median, months'
>>> number_label("cohort.table1.ecog_group.ecog_2.pct")
'ECOG performance status: ≥2, %'
>>> number_label("subgroups.cox.anlotinib_dose_mg.hr")
'Cox model, anlotinib dosage (mg): HR'
>>> number_label("survival.pfs.rate_12.lower")
'PFS at 12 months: lower 95% CI bound, %'
"""
from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["number_label", "number_labels"]

ENDPOINTS = {"dor": "DoR", "pfs": "PFS", "os": "OS"}
_EST = {"median": "median, months", "lower": "lower 95% CI bound of the median, months",
        "upper": "upper 95% CI bound of the median, months", "n": "patients, n", "events": "events, n",
        "events_pct": "events, %", "ci": "95% CI of the median", "p": "log-rank P", "trend_p": "P for trend"}
_RATE = {"estimate": "%", "lower": "lower 95% CI bound, %", "upper": "upper 95% CI bound, %", "text": "as printed"}
_PROP = {"pct": "%", "lower": "lower 95% CI bound, %", "upper": "upper 95% CI bound, %", "k": "patients, n",
         "n": "denominator, n", "ci": "95% CI"}
_RESPONSE = {"CR": "Complete response", "PR": "Partial response", "SD": "Stable disease", "PD": "Progressive disease",
             "NE": "Not evaluable"}
_COX = {"hr": "HR", "lower": "lower 95% CI bound of the HR", "upper": "upper 95% CI bound of the HR", "p": "P",
        "ci": "95% CI of the HR"}
_AE_COL = {"any_n": "any grade, n", "any_pct": "any grade, %", "grade12_n": "grade 1–2, n",
           "grade12_pct": "grade 1–2, %", "grade3plus_n": "grade ≥3, n", "grade3plus_pct": "grade ≥3, %"}
_FIXED = {
    "cohort.n": "Patients analysed, n",
    "cohort.age.median": "Age: median, years", "cohort.age.min": "Age: youngest, years",
    "cohort.age.max": "Age: oldest, years",
    "cohort.on_treatment_at_cutoff.n": "Still on treatment at the data cutoff, n",
    "cohort.platinum_resistance_window": "Platinum resistance: the window that defines it (a definition), months",
    "response.best": "Best overall response (the categories together)",
    "response.best_pct_change.mean": "Best change in tumour size: mean, %",
    "response.best_pct_change.median": "Best change in tumour size: median, %",
    "response.best_pct_change.n": "Patients with a measured change in tumour size, n",
    "response.case_report.age": "Deepest response: the patient's age, years",
    "response.case_report.shrinkage_pct": "Deepest response: shrinkage of the target lesions, %",
    "response.case_report.treatment_duration": "Deepest response: months from the start of treatment to the nadir",
    "safety.grade5.any_n": "Fatal (grade 5) treatment-related adverse events, n",
    "safety.grade5.any_pct": "Fatal (grade 5) treatment-related adverse events, %",
    "survival.data_cutoff": "Data cutoff date",
    "survival.followup.median": "Follow-up: median, months", "survival.followup.min": "Follow-up: shortest, months",
    "survival.followup.max": "Follow-up: longest, months",
    "subgroups.cox.n": "Cox model: patients, n", "subgroups.cox.events": "Cox model: deaths, n",
    "subgroups.cox.lr_p": "Cox model: likelihood-ratio P", "subgroups.cox.lr_chisq": "Cox model: likelihood-ratio chi-square",
}


@lru_cache(maxsize=1)
def _variables() -> dict:
    from analysis.data.cohort import baseline_variables

    return {v.name: (v.label, dict(v.levels)) for v in baseline_variables()}


@lru_cache(maxsize=1)
def _ae_labels() -> dict:
    try:
        from analysis.data.schema import columns

        return dict(columns("adverse_events")["ae_term"].labels)
    except Exception:  # noqa: BLE001  (labels are a nicety: words from the key otherwise)
        return {}


def _words(s: str) -> str:
    return s.replace("_", " ")


def _var(name: str) -> tuple[str, dict]:
    return _variables().get(name, (_words(name).capitalize(), {}))


def _lower_first(s: str) -> str:
    return s if s[:2].isupper() else s[:1].lower() + s[1:]


def _level(levels: dict, key: str) -> str:
    if key in levels:
        return levels[key]
    m = re.fullmatch(r"mg(\d+)", key)
    return f"{m.group(1)} mg" if m else _words(key)


def number_label(key: str) -> str:
    """A label a reader understands for the result key ``key`` (see the module's examples)."""
    if key in _FIXED:
        return _FIXED[key]
    p = key.split(".")
    try:
        if p[0] == "cohort" and len(p) >= 3 and p[1] == "table1":
            label, levels = _var(p[2])
            if len(p) == 3:
                return f"{label} (the levels together)"
            level = _level(levels, p[3])
            return f"{label}: {level}" + {"n": ", n", "pct": ", %"}.get(p[4] if len(p) > 4 else "", "")
        if p[0] == "response" and p[1] == "best" and len(p) >= 3:
            return f"Best overall response: {_RESPONSE.get(p[2], p[2])}" + {"n": ", n", "pct": ", %"}.get(
                p[3] if len(p) > 3 else "", "")
        if p[0] == "response" and p[1] in ("orr", "dcr") and len(p) == 3:
            return f"{p[1].upper()}: {_PROP.get(p[2], _words(p[2]))}"
        if p[0] == "safety" and len(p) == 3:
            name = "Any treatment-related adverse event" if p[1] == "any" else _ae_labels().get(p[1], _words(p[1]))
            return f"{name}: {_AE_COL.get(p[2], _words(p[2]))}"
        if p[0] == "survival" and p[1] in ENDPOINTS:
            ep = ENDPOINTS[p[1]]
            if len(p) == 3:
                return f"{ep}: {_EST.get(p[2], _words(p[2]))}"
            if len(p) == 4 and p[2].startswith("rate_"):
                return f"{ep} at {p[2][5:]} months: {_RATE.get(p[3], _words(p[3]))}"
        if p[0] == "survival" and p[1] == "pfs_by_dose":
            if len(p) == 3:
                return f"PFS by starting dose: {_EST.get(p[2], _words(p[2]))}"
            return f"PFS with {_level({}, p[2])}: {_EST.get(p[3], _words(p[3]))}"
        if p[0] == "subgroups" and p[1] == "cox" and len(p) == 4:
            label, _ = _var(p[2])
            return f"Cox model, {_lower_first(label)}: {_COX.get(p[3], _words(p[3]))}"
        if p[0] == "subgroups" and len(p) == 3:
            label, _ = _var(p[1])
            return f"OS by {_lower_first(label)}: " + {"p": "log-rank P", "p_adjusted": "adjusted log-rank P"}.get(
                p[2], _words(p[2]))
        if p[0] == "subgroups" and len(p) == 4:
            label, levels = _var(p[1])
            what = {"median": "median OS, months", "lower": "lower 95% CI bound of the median OS, months",
                    "upper": "upper 95% CI bound of the median OS, months", "n": "patients, n",
                    "events": "deaths, n"}.get(p[3], _words(p[3]))
            return f"{label}: {_level(levels, p[2])}: {what}"
    except (IndexError, KeyError):
        pass
    return ": ".join(_words(x) for x in p).capitalize()


def number_labels(keys) -> list[str]:
    """:func:`number_label` of each key, in order."""
    return [number_label(str(k)) for k in keys]
