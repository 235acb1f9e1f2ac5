"""Builders of the paper's Tables 1–3 and the per-subgroup survival analysis behind Table 2.

Statistics come from :mod:`analysis.stats.km`, :mod:`analysis.stats.compare` and
:mod:`analysis.stats.safety`; formatting from :mod:`analysis.report.fmt`. Each builder
returns a *data* frame (raw numbers, for CSV and tests) and a *display* frame
(formatted cells, for the report).
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.stats import compare, km
from analysis.report import fmt
from analysis.data.cohort import Cohort, Variable
from analysis.stats.control import CoxControl, SurvControl
from analysis.report.endpoints import ci_text
from analysis.data.schema import RULE_BY_ID
from analysis.data import escape


#: Indentation of a sub-level in a display table's first column: no-break spaces, which pipe tables keep
#: (pandoc and Quarto strip ordinary leading spaces) and HTML and Typst both print.
INDENT = "\u00a0" * 4

#: Abbreviations the report's tables may use, spelled out in each table's footnote when they occur in it.
ABBREVIATIONS = {
    "CI": "confidence interval", "CR": "complete response", "CTCAE": "Common Terminology Criteria for Adverse Events",
    "DCR": "disease control rate", "DoR": "duration of response", "ECOG": "Eastern Cooperative Oncology Group",
    "HR": "hazard ratio", "ICI": "immune checkpoint inhibitor", "NE": "not evaluable", "NR": "not reached",
    "ORR": "objective response rate", "OS": "overall survival", "PD": "progressive disease",
    "PD-1": "programmed cell death protein 1", "PD-L1": "programmed death-ligand 1", "PFS": "progression-free survival",
    "PR": "partial response", "RECIST": "Response Evaluation Criteria in Solid Tumours", "SD": "stable disease",
    "SCLC": "small cell lung cancer", "ES-SCLC": "extensive-stage small cell lung cancer", "df": "degrees of freedom",
    "SHA-256": "Secure Hash Algorithm 256-bit checksum", "mo": "months",
}


def abbreviations(display: pd.DataFrame, *texts: str) -> str:
    """The footnote spelling out each abbreviation of :data:`ABBREVIATIONS` used in ``display`` (cells
    and headers) or ``texts`` (caption, notes), in alphabetical order; "" when none is used.

    >>> abbreviations(pd.DataFrame({"HR (95% CI)": ["0.5 (0.3–0.9)"], "x": ["PD-L1"]}))
    'Abbreviations: CI, confidence interval; HR, hazard ratio; PD-L1, programmed death-ligand 1.'
    """
    import re

    text = " ".join([*map(str, display.columns), *(str(v) for v in display.to_numpy().ravel()), *texts])
    text = re.sub(r"\\(.)", r"\1", text)  # cells of input text are Markdown-escaped ("PD\-1")
    used = [a for a in ABBREVIATIONS if re.search(rf"(?<![\w-]){re.escape(a)}(?![\w-])", text)]
    if not used:
        return ""
    return "Abbreviations: " + "; ".join(f"{a}, {ABBREVIATIONS[a]}" for a in sorted(used, key=str.lower)) + "."


def table_note(display: pd.DataFrame, caption: str = "", *notes: str) -> str:
    """A table's footnote: its own notes, then the abbreviations it uses (:func:`abbreviations`)."""
    parts = [n.strip() for n in notes if n and n.strip()]
    abbr = abbreviations(display, caption, *parts)
    return " ".join(parts + ([abbr] if abbr else []))


def table1(cohort: Cohort) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Baseline characteristics: median (range) age, then n (%) of each level of each variable.

    The data frame keeps every level of the paper's (0 included, except the optional levels
    'limited' stage and 'current' smoker, kept only when present); the display leaves out the levels
    no patient has (:func:`table1_note` names them). One cell per level: "n (%)".
    """
    a = cohort.analysis
    n = len(a)
    rows = [dict(variable="age", level="median", label="Median (range)", n=np.nan, pct=np.nan,
                 median=float(a["age"].median()), min=float(a["age"].min()), max=float(a["age"].max()))]
    for var in cohort.variables():
        counts = a[var.name].value_counts()
        for key, lab in var.levels:
            k = int(counts.get(key, 0))
            if k == 0 and key in ("limited", "current"):
                continue
            rows.append(dict(variable=var.name, level=key, label=lab, n=k, pct=100.0 * k / n))
    data = pd.DataFrame(rows)
    headers = {v.name: v.label for v in cohort.variables()}
    headers["age_group"] = "Age, years"
    col = f"Patients (N = {n}), n (%)"
    disp = []
    seen = set()
    for r in data.itertuples(index=False):
        var = "age_group" if r.variable == "age" else r.variable
        if r.variable != "age" and r.n == 0:
            continue
        if var not in seen:
            disp.append({"Characteristic": f"**{headers[var]}**", col: ""})
            seen.add(var)
        if r.variable == "age":
            cell = f"{fmt.num(r.median, 0)} ({fmt.num(r.min, 0)}–{fmt.num(r.max, 0)})"
        else:
            cell = f"{int(r.n)} ({fmt.percent(r.pct)})"
        disp.append({"Characteristic": INDENT + escape.markdown(r.label), col: cell})
    return data, pd.DataFrame(disp)


def table1_note(t1_data: pd.DataFrame, cohort: Cohort, display: pd.DataFrame | None = None, caption: str = "") -> str:
    """Table 1's footnote: what the cells are, the categories no patient has (left out of the table),
    and the abbreviations."""
    labels = {v.name: v.label for v in cohort.variables()}
    empty = t1_data[(t1_data["variable"] != "age") & (t1_data["n"] == 0)]
    notes = [f"Values are numbers of patients (percentage of the {cohort.n}), and the median (range) for age."]
    if len(empty):
        by_var = [f"{labels.get(v, v).lower() if not labels.get(v, v).isupper() else labels.get(v, v)} "
                  f"{', '.join(g['label'])}" for v, g in empty.groupby("variable", sort=False)]
        notes.append("No patient had (categories left out of the table): " + "; ".join(by_var) + ".")
    return table_note(display if display is not None else pd.DataFrame(), caption, *notes)


def subgroup_survival(df: pd.DataFrame, variables: list[Variable], time: str, event: str,
                      ctrl: SurvControl = SurvControl()) -> pd.DataFrame:
    """Kaplan–Meier median (with CI) per level and log-rank p per variable.

    Returns one row per (variable, level) with n, events, median, lower, upper and the
    variable's log-rank chi-square, df and p (repeated on each level row). Variables with a
    single non-empty level get p = NaN.
    """
    rows = []
    for var in variables:
        present = [(k, lab) for k, lab in var.levels if (df[var.name] == k).any()]
        sub = df[df[var.name].isin([k for k, _ in present])]
        if len(present) >= 2:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                lr = compare.logrank(sub[time].to_numpy(), sub[event].to_numpy(), sub[var.name].to_numpy())
            chisq, dof, p = lr.chisq, lr.df, lr.p
        else:
            chisq, dof, p = np.nan, 0, np.nan
        for key, lab in present:
            g = df[df[var.name] == key]
            fit = km.kaplan_meier(g[time].to_numpy(), g[event].to_numpy(), conf_level=ctrl.conf_level)
            med = km.median(fit, ctrl)
            rows.append(dict(variable=var.name, variable_label=var.label, level=key, label=lab, n=len(g),
                             events=int(g[event].sum()), median=med.estimate, lower=med.lower, upper=med.upper,
                             chisq=chisq, df=dof, p=p))
    return pd.DataFrame(rows)


#: Variable of Tables 1-2 -> (numeric column of the analysis frame, unit) for ``"numeric"`` Cox terms.
NUMERIC_OF = {"anlotinib_dose_mg": ("dose_mg", "mg"), "age_group": ("age", "year"),
              "ecog_group": ("ecog", "ECOG point"), "prior_lines_group": ("prior_lines", "line")}


def _level_sort_key(s):
    return (0, int(str(s)[2:])) if str(s).startswith("mg") and str(s)[2:].isdigit() else (1, str(s))


def cox_design(df: pd.DataFrame, covariates: dict[str, str | None], drop_single: bool = False
               ) -> tuple[pd.DataFrame, dict[str, str]] | tuple[pd.DataFrame, dict[str, str], dict[str, str]]:
    """Numeric design columns for the Cox model.

    ``covariates`` maps a variable to its reference level (a two-level variable becomes a
    0/1 indicator of the non-reference level), to ``None`` for the ordinal score of its levels
    (8/10/12 mg → 1/2/3, HR per level), or to ``"numeric"`` for the measurement behind the
    variable (:data:`NUMERIC_OF`: the dose in mg, HR per 1 mg; the age in years ...).
    Returns the design frame and term → description (with the levels' display labels).

    With ``drop_single=True`` a covariate with a single level (or a single value) in the data is
    left out, as R's ``coxph`` gives it no coefficient, and a third mapping covariate → reason is
    returned; otherwise such a covariate raises ``ValueError``.
    """
    from analysis.data.cohort import baseline_variables

    names = {v.name: dict(v.levels) for v in baseline_variables()}
    lab = lambda var, lv: names.get(var, {}).get(lv, level_label(var, lv))  # noqa: E731
    out = pd.DataFrame(index=df.index)
    terms: dict[str, str] = {}
    dropped: dict[str, str] = {}
    for var, ref in covariates.items():
        if ref == "numeric":
            if var not in NUMERIC_OF:
                raise ValueError(f"Cox covariate {var!r} has no numeric measurement; "
                                 f"'numeric' is allowed for {sorted(NUMERIC_OF)}")
            col, unit = NUMERIC_OF[var]
            values = df[col].astype(float)
            if drop_single and values.nunique() < 2:
                dropped[var] = (f"every patient has the same value ({values.iloc[0]:g} {unit})" if len(values)
                                else "no patient")
                continue
            out[var] = values
            terms[var] = f"per 1 {unit}"
        elif ref is None:
            levels = sorted(df[var].unique(), key=_level_sort_key)
            if drop_single and len(levels) < 2:
                dropped[var] = f"one level in this cohort: {join_labels(var, levels, lab)}"
                continue
            out[var] = df[var].map({lv: i + 1 for i, lv in enumerate(levels)}).astype(float)
            terms[var] = "per step (" + " → ".join(lab(var, lv) for lv in levels) + ")"
        else:
            present = sorted(df[var].unique(), key=_level_sort_key)
            others = [lv for lv in present if lv != ref]
            if drop_single and len(present) < 2:
                dropped[var] = f"one level in this cohort: {join_labels(var, present, lab)}"
                continue
            if len(others) != 1 or ref not in present:
                raise ValueError(f"Cox covariate {var!r} must have two levels with reference {ref!r}; "
                                 f"found {sorted(df[var].unique())}")
            out[var] = (df[var] == others[0]).astype(float)
            terms[var] = f"{lab(var, others[0])} vs {lab(var, ref)}"
    if drop_single:
        return out, terms, dropped
    return out, terms


def level_label(var: str, level) -> str:
    """Display label of a level no fixed list names: a dose ``mg14`` is ``14``, an agent its own text."""
    level = str(level)
    if var == "anlotinib_dose_mg" and level.startswith("mg") and level[2:].isdigit():
        return level[2:]
    if var == "ici_agent":
        from analysis.data.schema import label
        return label("patients", "ici_agent", level)
    return level


def join_labels(var, levels, lab) -> str:
    return ", ".join(lab(var, lv) for lv in levels) or "none"


@dataclass
class CoxModel:
    """A Cox model as the report uses it: the fit (or None), its terms' coding, what was left out and why."""

    result: compare.CoxResult | None
    terms: dict
    dropped: dict
    note: str = ""

    @property
    def summary(self) -> pd.DataFrame | None:
        return None if self.result is None else self.result.summary


def fit_cox_model(df: pd.DataFrame, time: str, event: str, covariates: dict[str, str | None],
                  ctrl: CoxControl = CoxControl()) -> CoxModel:
    """The multivariable Cox model for any valid cohort, never raising on degenerate data.

    As R's ``coxph``: a covariate with one level (or one value) is dropped; a term collinear with the
    terms before it is dropped; without any event, without any covariate (a selection rule chose none)
    or without any term left, no model is fitted; a model that does not converge is kept with a note.
    Each omission is said in ``dropped`` / ``note``.
    """
    design, terms, dropped = cox_design(df, covariates, drop_single=True)
    # collinear terms (possible in small cohorts): keep a term only if it adds to the design's rank
    kept: list[str] = []
    for term in list(terms):
        cols = design[kept + [term]].to_numpy(dtype=float)
        cols = cols - cols.mean(axis=0)
        if np.linalg.matrix_rank(cols) <= len(kept):
            dropped[term] = "collinear with the other terms in this cohort"
            del terms[term]
            continue
        kept.append(term)
    events = int(np.asarray(df[event]).sum())
    if events == 0:
        return CoxModel(None, terms, dropped, "there is no death in this cohort")
    if not covariates:
        return CoxModel(None, terms, dropped, "no covariate was selected for it")
    if not kept:
        why = ("no covariate has two levels in this cohort"
               if all(not r.startswith("collinear") for r in dropped.values())
               else "no covariate term is estimable in this cohort")
        return CoxModel(None, terms, dropped, why)
    data = design[kept].copy()
    data[time] = df[time].to_numpy()
    data[event] = df[event].to_numpy()
    note = ""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = compare.cox(data, time, event, kept, ctrl)
        except ValueError as exc:
            return CoxModel(None, terms, dropped, f"the model could not be estimated ({exc})")
    if any(issubclass(w.category, compare.ConvergenceWarning) for w in caught) or not res.converged:
        note = ("The model did not converge (monotone likelihood, as with few events): its hazard ratios and "
                "intervals are not interpretable.")
    return CoxModel(res, terms, dropped, note)


#: The paper's Table 2 model (params/04-subgroups.yaml's default): the Methods say "the covariates the paper
#: selected" only for this model.
PAPER_COX_COVARIATES = {"ecog_group": "ecog_2", "platinum_response": "resistant", "prior_ici_class": "pdl1",
                        "prior_ici_failure": "intolerance", "anlotinib_dose_mg": "numeric"}


def ph_check(cox: compare.CoxResult | None, transform: str = "km") -> compare.PHTest:
    """The proportional-hazards test of a fitted model, or an empty test (one row saying why) without one."""
    if cox is None:
        return compare.PHTest(pd.DataFrame({"term": ["no Cox model fitted"], "chisq": [np.nan], "df": [np.nan],
                                            "p": [np.nan]}), transform)
    return cox.ph_test(transform)


def cox_table(df: pd.DataFrame, time: str, event: str, covariates: dict[str, str | None],
              ctrl: CoxControl = CoxControl()):
    """Fit the multivariable Cox model of Table 2; returns (CoxResult, term descriptions)."""
    design, terms = cox_design(df, covariates)
    design[time] = df[time].to_numpy()
    design[event] = df[event].to_numpy()
    res = compare.cox(design, time, event, list(covariates), ctrl)
    return res, terms


def table2(sub: pd.DataFrame, cox_summary: pd.DataFrame | None, decimals: int = 2,
           dropped: dict | None = None, terms: dict | None = None, covariates: dict | None = None) -> pd.DataFrame:
    """Display frame of Table 2 from :func:`subgroup_survival` and the Cox summary (term-indexed).

    A heading row per variable carries what belongs to the variable: its log-rank P and, for a
    numeric or ordinal Cox term, the HR per unit or step (said in the heading: "HR per 1 mg"). Each
    level row carries its patients, deaths, median OS and, for a two-level Cox term, "1 (reference)"
    on the reference level (``covariates``: variable → reference level) and the HR on the other.
    A variable in ``dropped`` (left out of the model) reads "not in model"; a level's HR cell
    without a value holds a dash (said in :func:`table2_note`).
    """
    disp = []
    cs = cox_summary.set_index("term") if cox_summary is not None and len(cox_summary) else None
    terms = terms or {}
    covariates = covariates or {}
    cols = ["Characteristic", "Patients, n", "Deaths, n", "Median OS, months (95% CI)", "P (log-rank)",
            "HR (95% CI)", "P (Cox)"]
    for var, g in sub.groupby("variable", sort=False):
        first = g.iloc[0]
        in_model = cs is not None and var in cs.index
        ref = covariates.get(var)
        per_level = in_model and ref not in (None, "numeric")
        head = {c: "" for c in cols}
        head["Characteristic"] = f"**{first.variable_label}**"
        head["P (log-rank)"] = fmt.pvalue(first.p) if np.isfinite(first.p) else "–"
        if in_model and not per_level:
            r = cs.loc[var]
            head["Characteristic"] += f" (HR {terms.get(var, 'per step')})"
            head["HR (95% CI)"] = fmt.hr_ci(r["hr"], r["lower"], r["upper"], decimals)
            head["P (Cox)"] = fmt.pvalue(r["p"])
        elif dropped and var in dropped:
            head["HR (95% CI)"] = "not in model"
        disp.append(head)
        for r in g.itertuples(index=False):
            row = {c: "" for c in cols}
            row["Characteristic"] = INDENT + escape.markdown(r.label)
            row["Patients, n"] = str(int(r.n))
            row["Deaths, n"] = str(int(r.events))
            row["Median OS, months (95% CI)"] = (f"{fmt.estimate_in_ci(r.median, r.lower, r.upper, 1, decimals)} "
                                                 f"({fmt.ci(r.lower, r.upper, decimals)})")
            if per_level:
                if r.level == ref:
                    row["HR (95% CI)"], row["P (Cox)"] = "1 (reference)", "–"
                else:
                    c = cs.loc[var]
                    row["HR (95% CI)"] = fmt.hr_ci(c["hr"], c["lower"], c["upper"], decimals)
                    row["P (Cox)"] = fmt.pvalue(c["p"])
            else:
                row["HR (95% CI)"], row["P (Cox)"] = "–", "–"
            disp.append(row)
    return pd.DataFrame(disp, columns=cols)


def table2_note(display: pd.DataFrame, caption: str = "", *notes: str) -> str:
    """Table 2's footnote: the dash, the table's own notes (the model's terms), the abbreviations."""
    dash = ("–: no value of its own (the reference level of a Cox term has no P; a numeric or ordinal term has one HR, "
            "on its heading row; a variable not in the Cox model has none).")
    return table_note(display, caption, *notes, dash)


def table3(summary: pd.DataFrame, labels: dict[str, str], n: int) -> pd.DataFrame:
    """Display frame of Table 3 from :func:`analysis.stats.safety.ae_summary`: the patients with any
    event first (its grade 1–2 cell: patients whose worst event was of grade 1–2), then each event,
    indented. Every cell holds n (%)."""
    disp = []
    for r in summary.itertuples(index=False):
        # an adverse-event term is input text (any text is accepted, issue #30): escaped for the Markdown table
        name = ("**Any treatment-related adverse event**" if r.term == "any"
                else escape.markdown(labels.get(r.term, r.term)))
        g12 = f"{int(r.grade12_n)} ({fmt.percent(r.grade12_pct)})"
        disp.append({"Adverse event": name if r.term == "any" else INDENT + name,
                     "Any grade, n (%)": f"{int(r.any_n)} ({fmt.percent(r.any_pct)})",
                     "Grade 1–2, n (%)": g12,
                     "Grade ≥3, n (%)": f"{int(r.grade3plus_n)} ({fmt.percent(r.grade3plus_pct)})"})
    return pd.DataFrame(disp)


# ---------------------------------------------------------------------------------------------
# numbers for the report: {key: (raw value, printed text)}
# ---------------------------------------------------------------------------------------------

def table1_numbers(t1_data: pd.DataFrame, n: int) -> dict[str, tuple]:
    """Table 1 numbers under ``n``, ``age.*`` and ``table1.<variable>.<level>.n|pct``."""
    out = {"n": (n, str(n))}
    age = t1_data.iloc[0]
    for k in ("median", "min", "max"):
        out[f"age.{k}"] = (age[k], fmt.num(age[k], 0))
    for r in t1_data.iloc[1:].itertuples(index=False):
        out[f"table1.{r.variable}.{r.level}.n"] = (int(r.n), str(int(r.n)))
        out[f"table1.{r.variable}.{r.level}.pct"] = (r.pct, fmt.percent(r.pct))
    return out


def study_numbers(cohort: Cohort) -> dict[str, tuple]:
    """Study-level facts for the text: cutoff date, treatment period, patients on treatment at cutoff."""
    p = cohort.patients
    cutoff = p["data_cutoff_date"].iloc[0]
    first, last = p["treatment_start_date"].min(), p["treatment_start_date"].max()
    on_trt = int((cohort.analysis["on_treatment_at_cutoff"] == "yes").sum())
    return {
        "cutoff": (cutoff.strftime("%Y-%m-%d"), f"{cutoff.day} {cutoff.strftime('%B %Y')}"),
        "start_first": (first.strftime("%Y-%m"), first.strftime("%B %Y")),
        "start_last": (last.strftime("%Y-%m"), last.strftime("%B %Y")),
        "on_treatment_at_cutoff.n": (on_trt, str(on_trt)),
        "n_assessments": (len(cohort.assessments), str(len(cohort.assessments))),
        "n_adverse_events": (len(cohort.adverse_events), str(len(cohort.adverse_events))),
        "n_warnings": (0 if cohort.warnings is None else len(cohort.warnings),
                       str(0 if cohort.warnings is None else len(cohort.warnings))),
    }


def provenance_data(cohort: Cohort) -> pd.DataFrame:
    """The input files as read, for ``tbl-provenance.csv``: table, file (the file actually read: a followed
    symbolic link is named by its target; ``file#sheet`` for a workbook) and SHA-256, as raw text (a
    spreadsheet-formula start neutralised, :func:`analysis.data.escape.csv_cell`)."""
    from pathlib import Path

    def name(src) -> str:
        src = str(src)
        return Path(src.split("#")[0]).name + ("#" + src.split("#", 1)[1] if "#" in src else "")

    return pd.DataFrame([{"Table": t, "File": escape.csv_cell(escape.shown(name(src))), "SHA-256": cohort.sha256.get(t, "")}
                         for t, src in cohort.sources.items()], columns=["Table", "File", "SHA-256"])


def data_provenance(cohort: Cohort) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Input files with checksums, and validation warnings aggregated per rule (no row-level values)."""
    from pathlib import Path

    # file and sheet names come from the user's export: escaped so they stay text (issues #24, #30)
    data = provenance_data(cohort)
    prov = data.assign(File=[escape.markdown(f) for f in data["File"]])
    w = cohort.warnings
    if w is None or len(w) == 0:
        warn = pd.DataFrame({"Table": ["–"], "Rule": ["no warnings"], "Rows": [0]})
    else:
        # aggregate by rule id and show the rule's generic text: the row-level text names patients
        rule_id = w["rule"].str.split(":", n=1).str[0]
        warn = (pd.DataFrame({"Table": w["table"], "Rule": rule_id.map(
            lambda r: f"{r}: {RULE_BY_ID[r].text}" if r in RULE_BY_ID else r)})
            .groupby(["Table", "Rule"], sort=True).size().reset_index(name="Rows"))
    return prov, warn


def response_table(rr: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(data, display) of best overall response counts with ORR and DCR rows."""
    counts = rr["counts"]
    data = counts.copy()
    labels = {"CR": "Complete response", "PR": "Partial response", "SD": "Stable disease",
              "PD": "Progressive disease", "NE": "Not evaluable"}
    disp = [{"Best overall response": INDENT + labels.get(r.response, r.response),
             "Patients, n (%)": f"{int(r.n)} ({fmt.percent(r.pct)})", "95% CI, %": "–"}
            for r in counts.itertuples(index=False) if int(r.n) > 0 or r.response in ("CR", "PR", "SD", "PD")]
    for key, name in (("orr", "Objective response rate (CR + PR)"), ("dcr", "Disease control rate (CR + PR + SD)")):
        p = rr[key]
        disp.append({"Best overall response": f"**{name}**", "Patients, n (%)": f"{p.k} ({fmt.percent(100 * p.estimate)})",
                     "95% CI, %": fmt.ci(100 * p.lower, 100 * p.upper, 1)})
    return data, pd.DataFrame(disp)


def response_numbers(rr: dict) -> dict[str, tuple]:
    out = {}
    for r in rr["counts"].itertuples(index=False):
        out[f"best.{r.response}.n"] = (int(r.n), str(int(r.n)))
        out[f"best.{r.response}.pct"] = (r.pct, fmt.percent(r.pct))
    for key in ("orr", "dcr"):
        p = rr[key]
        out[f"{key}.k"] = (p.k, str(p.k))
        out[f"{key}.n"] = (p.n, str(p.n))
        out[f"{key}.pct"] = (100 * p.estimate, fmt.percent(100 * p.estimate))
        out[f"{key}.lower"] = (100 * p.lower, fmt.percent(100 * p.lower))
        out[f"{key}.upper"] = (100 * p.upper, fmt.percent(100 * p.upper))
        out[f"{key}.ci"] = (None, ci_text(100 * p.lower, 100 * p.upper, 1))
    return out


def followup_numbers(fu) -> dict[str, tuple]:
    return {"median": (fu.median, fmt.months(fu.median)), "lower": (fu.lower, fmt.months(fu.lower)),
            "upper": (fu.upper, fmt.months(fu.upper)), "min": (fu.min, fmt.months(fu.min)),
            "max": (fu.max, fmt.months(fu.max)),
            "method": (fu.method, fmt.method_name(fu.method))}


def adjust_by_variable(sub: pd.DataFrame, method: str) -> pd.Series:
    """Multiplicity-adjusted log-rank p per row of :func:`subgroup_survival` (one p per variable)."""
    per_var = sub.groupby("variable", sort=False)["p"].first()
    ok = per_var.notna()
    adj = pd.Series(np.nan, index=per_var.index)
    if ok.any():
        adj[ok] = compare.adjust_pvalues(per_var[ok].to_numpy(), method=method)
    return sub["variable"].map(adj)


def subgroup_numbers(sub: pd.DataFrame, by_variable: bool = True) -> dict[str, tuple]:
    """Numbers of :func:`subgroup_survival` (medians in months, CI bounds with 2 decimals).

    Keys ``<variable>.p`` and ``<variable>.<level>.n|events|median|lower|upper``; with
    ``by_variable=False`` (one variable, e.g. PFS by dose) the variable part is left out.
    """
    out = {}
    for var, g in sub.groupby("variable", sort=False):
        pre = f"{var}." if by_variable else ""
        p = g["p"].iloc[0]
        out[f"{pre}p"] = (p, fmt.pvalue(p))
        if "p_adjusted" in g:
            out[f"{pre}p_adjusted"] = (g["p_adjusted"].iloc[0], fmt.pvalue(g["p_adjusted"].iloc[0]))
        for r in g.itertuples(index=False):
            out[f"{pre}{r.level}.n"] = (r.n, str(r.n))
            out[f"{pre}{r.level}.events"] = (r.events, str(r.events))
            out[f"{pre}{r.level}.median"] = (r.median, fmt.estimate_in_ci(r.median, r.lower, r.upper))
            out[f"{pre}{r.level}.lower"] = (r.lower, fmt.num(r.lower, 2))
            out[f"{pre}{r.level}.upper"] = (r.upper, fmt.num(r.upper, 2))
            out[f"{pre}{r.level}.ci"] = (None, ci_text(r.lower, r.upper, 2))
    return out


def cox_numbers(cox) -> dict[str, tuple]:
    out = {"n": (cox.n, str(cox.n)), "events": (cox.events, str(cox.events)),
           "lr_chisq": (cox.lr_chisq, fmt.num(cox.lr_chisq, 2)), "lr_p": (cox.lr_p, fmt.pvalue(cox.lr_p)),
           "converged": (bool(cox.converged), "yes" if cox.converged else "no")}
    for r in cox.summary.itertuples(index=False):
        out[f"{r.term}.hr"] = (r.hr, fmt.num(r.hr, 2))
        out[f"{r.term}.lower"] = (r.lower, fmt.num(r.lower, 2))
        out[f"{r.term}.upper"] = (r.upper, fmt.num(r.upper, 2))
        out[f"{r.term}.p"] = (r.p, fmt.pvalue(r.p))
        out[f"{r.term}.ci"] = (None, ci_text(r.lower, r.upper, 2))
    return out


def ph_table(ph: pd.DataFrame, labels: dict | None = None, terms: dict | None = None) -> pd.DataFrame:
    """Display frame of the proportional-hazards test, each term named as a reader knows it
    ("ECOG performance status (0–1 vs ≥2)", "All terms together (global test)"), never by its key."""
    d = ph.copy()
    labels, terms = labels or {}, terms or {}

    def name(t):
        if t == "GLOBAL":
            return "All terms together (global test)"
        if t in labels:
            return f"{labels[t]} ({terms[t]})" if terms.get(t) else labels[t]
        return str(t)[:1].upper() + str(t)[1:]

    return pd.DataFrame({"Cox model term": [name(t) for t in d["term"]],
                         "Chi-square": [fmt.num(x, 2) for x in d["chisq"]],
                         "df": [fmt.num(x, 0) for x in d["df"]], "P": [fmt.pvalue(x) for x in d["p"]]})


def term_key(term) -> str:
    """A number key for an adverse-event term: the dictionary's codes as they are (``nausea_vomiting``);
    any other text as an ASCII slug with a short checksum, so a key is never markup or a path
    (``'肝功能异常'`` -> ``term_a2b76044``).

    >>> term_key("rash"), term_key("Rash (grade 2)")
    ('rash', 'rash_grade_2_37afda18')
    """
    import hashlib

    t = str(term)
    if re.fullmatch(r"[a-z0-9_]+", t):
        return t
    slug = re.sub(r"[^a-z0-9]+", "_", t.casefold()).strip("_")[:40]
    return (slug or "term") + "_" + hashlib.sha256(t.encode("utf-8")).hexdigest()[:8]


def safety_numbers(summary: pd.DataFrame) -> dict[str, tuple]:
    out = {}
    for r in summary.itertuples(index=False):
        for col in ("any", "grade12", "grade3plus"):
            n_, pct_ = getattr(r, f"{col}_n"), getattr(r, f"{col}_pct")
            out[f"{term_key(r.term)}.{col}_n"] = (int(n_), str(int(n_)))
            out[f"{term_key(r.term)}.{col}_pct"] = (pct_, fmt.percent(pct_))
    return out


#: How the case report of :func:`deepest_response` words a patient's sex and reason for prior ICI failure.
_SEX_NOUN = {"female": "woman", "male": "man"}
_FAILURE_PHRASE = {"intolerance": "whose previous ICI had been stopped for intolerance",
                   "progression": "whose disease had progressed on the previous ICI"}
_BOR_NAMES = {"CR": "complete response", "PR": "partial response", "SD": "stable disease",
              "PD": "progressive disease", "NE": "not evaluable"}


def deepest_response(cohort: Cohort) -> dict[str, tuple]:
    """The patient with the deepest tumour shrinkage, as the paper's case report describes one.

    The patient is the one with the most negative ``best_pct_change`` of the analysis frame
    (ties: the first subject). Returns ``{key: (value, text)}`` with ``age`` (years), ``sex``,
    ``prior_ici_failure`` and ``ici_agent`` (level keys, with words for running text),
    ``best_response``, ``shrinkage_pct`` (the reduction of the sum of target-lesion diameters, in
    percent, positive) and ``treatment_duration``: months (days / ``cohort.options.days_per_month``)
    from the start of treatment to the first assessment recording that deepest sum. No patient
    identifier and no date is returned. Without any measured change every value is ``None`` ("–").
    """
    a = cohort.analysis
    keys = ("age", "sex", "prior_ici_failure", "ici_agent", "best_response", "shrinkage_pct",
            "treatment_duration")
    change = a["best_pct_change"].astype(float)
    if change.notna().sum() == 0:
        return {k: (None, fmt.MISSING) for k in keys}
    pos = int(np.nanargmin(change.to_numpy()))  # first position of the minimum: ties go to the first subject
    row = a.iloc[pos]
    pat = cohort.patients.iloc[pos]
    pid, start = pat["patient_id"], pat["treatment_start_date"]
    asm = cohort.assessments
    mine = asm[(asm["patient_id"] == pid) & asm["sum_diameters_mm"].notna()]
    nadir = mine["sum_diameters_mm"].min()
    first_at_nadir = mine.loc[mine["sum_diameters_mm"] == nadir, "assessment_date"].min()
    months = (first_at_nadir - start).days / cohort.options.days_per_month

    labels = {v.name: dict(v.levels) for v in cohort.variables()}
    lab = lambda var, key: labels.get(var, {}).get(key, str(key))  # noqa: E731
    age = float(row["age"])
    shrink = -float(row["best_pct_change"])
    sex, failure, agent, bor = row["sex"], row["prior_ici_failure"], row["ici_agent"], row["best_response"]
    return {
        "age": (int(age) if age.is_integer() else age, fmt.num(age, 0)),
        "sex": (sex, _SEX_NOUN.get(sex, lab("sex", sex).lower())),
        "prior_ici_failure": (failure, _FAILURE_PHRASE.get(
            failure, f"whose previous ICI had failed ({lab('prior_ici_failure', failure).lower()})")),
        "ici_agent": (agent, escape.markdown(lab("ici_agent", agent).lower())),  # any text (issue #30)
        "best_response": (bor, _BOR_NAMES.get(bor, str(bor))),
        "shrinkage_pct": (shrink, fmt.percent(shrink)),
        "treatment_duration": (months, fmt.months(months)),
    }


def doses_text(cohort: Cohort) -> str:
    """The starting doses present in the cohort, for the Methods: "8, 10 or 12 mg", "10 mg".

    Doses are named from the data (never from the paper's 8–12 mg).
    """
    from analysis.report.text import join

    doses = sorted({int(d) for d in cohort.analysis["dose_mg"]})
    return join([str(d) for d in doses], "or") + " mg"
