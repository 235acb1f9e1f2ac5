"""Sentences built from results: the report's running text that depends on the data.

Every function takes raw results (numbers, frames, parameters) and returns Markdown text that is
true for the cohort it describes, whatever levels, events or terms the cohort has: lists are
ranked from the data, significance and direction are worded from the estimates and the reference
levels, the Cox coding is described from the model's terms, and the methods from the parameters.
Infinite medians and bounds are said in words ("not reached"), never "NR months"; p values read
"p = 0.031" or "p < 0.001" (:func:`p_text`).

Examples
--------
>>> from analysis.report import text
>>> text.join(["fatigue", "nausea", "hypertension"])
'fatigue, nausea and hypertension'
>>> text.p_text(0.0004), text.p_text(0.0312)
('p < 0.001', 'p = 0.031')
>>> text.median_text(float("inf"), 7.0, float("inf"))
'not reached (95% CI 7.00 months to not reached)'
"""
from __future__ import annotations

from analysis.data import escape
import math
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

from analysis.report import fmt

__all__ = ["join", "p_text", "ci_words", "median_text", "duration_text", "most_frequent", "safety_paragraph",
           "hr_phrase", "cox_paragraph", "cox_methods", "subgroup_paragraph", "dose_paragraph",
           "followup_text", "survival_methods", "level_breakdown", "count_word", "lc", "cox_discussion", "p_adjust_text",
           "cox_limitation", "MIN_EVENTS_PER_TERM",
           "safety_abstract", "response_abstract", "response_rates", "response_paragraph", "survival_paragraphs"]

ALPHA = 0.05
#: The article's cross-references of the Kaplan–Meier results, in one place: the multi-panel figure (its panel
#: letters depend on which panels the cohort has, so the text cites the figure).
KM_REFS = {"dor": "@fig-km", "pfs": "@fig-km", "dose": "@fig-km", "os": "@fig-km"}
NAN = math.nan


def _finite(x) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _is_inf(x) -> bool:
    try:
        return x is not None and math.isinf(float(x))
    except (TypeError, ValueError):
        return False


def lc(label: str) -> str:
    """A label inside a sentence: first letter in lower case unless the word is an acronym.

    >>> lc("Platinum-sensitive"), lc("PD-L1 inhibitors"), lc("ECOG performance status")
    ('platinum-sensitive', 'PD-L1 inhibitors', 'ECOG performance status')
    """
    label = str(label)
    if len(label) > 1 and label[:2].isupper():
        return label
    return label[:1].lower() + label[1:]


def join(items: Iterable[str], conj: str = "and") -> str:
    """Items as running text: "a", "a and b", "a, b and c" ("" for none).

    >>> join([]), join(["a"]), join(["a", "b"])
    ('', 'a', 'a and b')
    """
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {conj} " + items[-1]


def count_word(n: int, singular: str, plural: str | None = None) -> str:
    """ "1 patient", "3 patients".

    >>> count_word(1, "death"), count_word(0, "death")
    ('1 death', '0 deaths')
    """
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def p_text(p, digits: int = 3) -> str:
    """A p value in prose: "p = 0.031", "p < 0.001"; NaN/None → "p not computed".

    >>> p_text(float("nan")), p_text(1.0)
    ('p not computed', 'p = 1.000')
    """
    s = fmt.pvalue(p, digits)
    if s == fmt.MISSING:
        return "p not computed"
    return f"p {s[0]} {s[1:]}" if s.startswith("<") else f"p = {s}"


def ci_words(lower, upper, digits: int = 2, unit: str = "") -> str:
    """An interval for prose: "3.87–7.33", "7.00 months to not reached", "not estimable".

    >>> ci_words(3.8712, 7.3288), ci_words(7.0, float("inf"), unit="months")
    ('3.87–7.33', '7.00 months to not reached')
    >>> ci_words(float("nan"), float("nan")), ci_words(float("inf"), float("inf"))
    ('not estimable', 'not reached')
    """
    lo_ok, hi_ok = _finite(lower), _finite(upper)
    if _is_inf(lower):
        return "not reached"
    if _is_inf(upper):
        return (f"{fmt.num(lower, digits)}{' ' + unit if unit else ''}" if lo_ok else "not estimable") + " to not reached"
    if not lo_ok and not hi_ok:
        return "not estimable"
    if not lo_ok:
        return f"not estimable to {fmt.num(upper, digits)}"
    if not hi_ok:
        return f"{fmt.num(lower, digits)} to not estimable"
    return fmt.ci(lower, upper, digits)


def median_text(estimate, lower, upper, unit: str = "months", conf_level: float = 0.95,
                ci_digits: int = 2) -> str:
    """A median with its interval for prose, following :func:`analysis.report.fmt.estimate_in_ci`.

    >>> median_text(5.6, 3.87, 7.33)
    '5.6 months (95% CI 3.87–7.33)'
    >>> median_text(1.38, 0.79, 1.38)
    '1.38 months (95% CI 0.79–1.38)'
    """
    conf = f"{100 * conf_level:g}% CI"
    est = "not reached" if _is_inf(estimate) else (
        "not estimable" if not _finite(estimate) else f"{fmt.estimate_in_ci(estimate, lower, upper, 1, ci_digits)} {unit}")
    return f"{est} ({conf} {ci_words(lower, upper, ci_digits, unit)})"


def duration_text(x, unit: str = "months", digits: int = 1) -> str:
    """A duration in prose: "12.5 months", "not reached", "not estimable".

    >>> duration_text(12.52), duration_text(float("inf"))
    ('12.5 months', 'not reached')
    """
    if _is_inf(x):
        return "not reached"
    if not _finite(x):
        return "not estimable"
    return f"{fmt.num(x, digits)} {unit}"


# ------------------------------------------------------------------------------------------- safety
def most_frequent(summary: pd.DataFrame, labels: Mapping[str, str], k: int = 4, max_ties: int = 3) -> list[str]:
    """Terms of the adverse-event table to name as the most frequent: its top ``k`` rows (by patients
    with any grade, in the table's order), extended to every term tied with the ``k``-th; when more
    than ``max_ties`` extra terms tie, only the terms strictly above the tie are named.

    >>> s = pd.DataFrame({"term": ["any", "a", "b", "c"], "any_n": [5, 4, 2, 2]})
    >>> most_frequent(s, {}, k=2), most_frequent(s, {}, k=1)
    (['a', 'b', 'c'], ['a'])
    """
    rows = summary[summary["term"] != "any"]
    rows = rows[rows["any_n"] > 0]
    if rows.empty:
        return []
    rows = rows.sort_values("any_n", ascending=False, kind="stable")
    if len(rows) <= k:
        return [str(t) for t in rows["term"]]
    kth = rows["any_n"].iloc[k - 1]
    top = rows[rows["any_n"] >= kth]
    if len(top) - k > max_ties:
        top = rows[rows["any_n"] > kth]
    return [str(t) for t in top["term"]]


def safety_paragraph(summary: pd.DataFrame, labels: Mapping[str, str], n: int, grade5_n: int,
                     k: int = 4) -> str:
    """The Safety paragraph: patients with any, grade ≥3 and grade 5 events, then the most frequent.

    >>> s = pd.DataFrame({"term": ["any", "fatigue"], "any_n": [2, 2], "any_pct": [40.0, 40.0],
    ...                   "grade3plus_n": [0, 0], "grade3plus_pct": [0.0, 0.0]})
    >>> print(safety_paragraph(s, {"fatigue": "Fatigue"}, 5, 0))  # doctest: +NORMALIZE_WHITESPACE
    Treatment-related adverse events occurred in 2 of the 5 patients (40.0%); none was of grade 3 or higher
    and none was fatal (grade 5) (@tbl-safety). The only one recorded was fatigue (40.0%).
    """
    anyrow = summary[summary["term"] == "any"]
    n_any = int(anyrow["any_n"].iloc[0]) if len(anyrow) else 0
    if n_any == 0:
        return (f"No treatment-related adverse event was recorded in the {count_word(n, 'patient')} "
                "(@tbl-safety).")
    r = anyrow.iloc[0]
    pct5 = 100.0 * grade5_n / n if n else float("nan")
    g3 = int(r["grade3plus_n"])
    g3_txt = (f"of grade 3 or higher in {g3} ({fmt.percent(r['grade3plus_pct'])}%)" if g3 else
              "none was of grade 3 or higher")
    g5_txt = (f"fatal (grade 5) in {grade5_n} ({fmt.percent(pct5)}%)" if grade5_n else "none was fatal (grade 5)")
    sep = ", " if g3 else "; "
    head = (f"Treatment-related adverse events occurred in {n_any} of the {count_word(n, 'patient')} "
            f"({fmt.percent(r['any_pct'])}%){sep}{g3_txt} and {g5_txt} (@tbl-safety).")
    terms = most_frequent(summary, labels, k)
    pct = dict(zip(summary["term"], summary["any_pct"]))
    named = [f"{escape.markdown(lc(labels.get(t, t)))} ({fmt.percent(pct[t])}%)" for t in terms]  # terms: input text
    n_terms = int(((summary["term"] != "any") & (summary["any_n"] > 0)).sum())
    if n_terms == 1:
        return f"{head} The only one recorded was {named[0]}."
    if len(named) == 1:
        return f"{head} The most frequent was {named[0]}."
    return f"{head} The most frequent were {join(named)}."


# ------------------------------------------------------------------------------------------- Cox model
def hr_phrase(hr, lower, upper, p, conf_level: float = 0.95, digits: int = 2) -> str:
    """ "HR 0.52 (95% CI 0.31–0.87; p = 0.013)", words for what cannot be estimated.

    >>> hr_phrase(0.5234, 0.3111, 0.8765, 0.0131)
    'HR 0.52 (95% CI 0.31–0.88; p = 0.013)'
    """
    if not _finite(hr):
        return "HR not estimable"
    return f"HR {fmt.num(hr, digits)} ({100 * conf_level:g}% CI {ci_words(lower, upper, digits)}; {p_text(p)})"


def _direction(hr, p, alpha: float = ALPHA) -> str:
    if not (_finite(hr) and _finite(p)):
        return ""
    if float(p) >= alpha:
        return "no significant difference"
    return "a significantly higher hazard of death" if float(hr) > 1 else "a significantly lower hazard of death"


def cox_paragraph(summary: pd.DataFrame | None, terms: Mapping[str, str], labels: Mapping[str, str],
                  dropped: Mapping[str, str], *, n: int, events: int, lr_chisq=math.nan, lr_p=math.nan,
                  conf_level: float = 0.95, note: str = "", alpha: float = ALPHA) -> str:
    """The Cox-model sentences: each term with its coding (from the model's terms), HR, CI, p and direction;
    the terms dropped and why; the likelihood-ratio test; or why no model was fitted.

    ``terms`` maps each fitted term to its coding ("0–1 vs ≥2", "per 1 mg"); ``labels`` each variable to
    its heading; ``dropped`` each covariate left out to the reason.
    """
    drop_txt = ""
    if dropped:
        drop_txt = " " + " ".join(f"{labels.get(v, v)} was left out of the model ({why})." for v, why in dropped.items())
    if summary is None or len(summary) == 0:
        why = note or "no term could be estimated"
        return f"No multivariable Cox model was fitted: {why}.{drop_txt}"
    parts = []
    for r in summary.itertuples(index=False):
        direction = _direction(r.hr, r.p, alpha)
        coding = terms.get(r.term, "")
        parts.append(f"{labels.get(r.term, r.term)} ({coding}): {hr_phrase(r.hr, r.lower, r.upper, r.p, conf_level)}"
                     + (f", {direction}" if direction else ""))
    k = len(summary)
    head = (f"The multivariable Cox model (@fig-cox-forest) had {count_word(k, 'term')}, fitted on "
            f"{count_word(events, 'death')} among {count_word(n, 'patient')}. Hazard ratios for death were: "
            + "; ".join(parts) + ".")
    lr = (f" Likelihood-ratio test of the model: χ² = {fmt.num(lr_chisq, 2)} on {k} df, {p_text(lr_p)}."
          if _finite(lr_chisq) else "")
    extra = f" {note}" if note else ""
    return head + lr + drop_txt + extra


def cox_methods(terms: Mapping[str, str], labels: Mapping[str, str], dropped: Mapping[str, str],
                paper_model: bool, selection: str = "paper", p_max: float = 0.05) -> str:
    """The covariates of the Cox model for the Methods, from its terms ("the paper's" only when they are)
    and the rule that chose them (``cox_selection``: ``paper``, ``univariable``, ``all``).

    >>> cox_methods({"ecog_group": "0–1 vs ≥2"}, {"ecog_group": "ECOG"}, {}, False)
    'the 1 covariate set in the parameters: ECOG (0–1 vs ≥2)'
    >>> cox_methods({}, {}, {}, False, "univariable", 0.05)
    'the baseline characteristics with a log-rank p < 0.05 (none in this cohort)'
    """
    listed = join(f"{lc(labels.get(t, t))} ({d})" for t, d in terms.items())
    k = len(terms) + len(dropped)
    if selection in ("univariable", "all"):
        rule = (f"with a log-rank p < {p_max:g}" if selection == "univariable"
                else "that enter the model as one term")
        if not k:
            return f"the baseline characteristics {rule} (none in this cohort)"
        out = f"the {count_word(k, 'baseline characteristic')} {rule}" + (f": {listed}" if terms else "")
    else:
        whose = "the paper selected" if paper_model else "set in the parameters"
        out = f"the {count_word(k, 'covariate')} {whose}: {listed}" if terms else f"the {count_word(k, 'covariate')} {whose}"
    if dropped:
        out += " (" + join(f"{lc(labels.get(v, v))} left out: {why}" for v, why in dropped.items()) + ")"
    return out


# ------------------------------------------------------------------------------------------- subgroups
def subgroup_paragraph(sub: pd.DataFrame, alpha: float = ALPHA, unit: str = "months",
                       endpoint: str = "median OS") -> str:
    """Log-rank comparisons worded from the data: the subgroups that differed at ``alpha`` with their medians,
    then how many did not, and the variables with a single level (not compared).

    ``sub`` is :func:`analysis.report.tables.subgroup_survival` (one row per level, p repeated).

    >>> sub = pd.DataFrame({"variable": ["ecog_group"] * 2 + ["stage"], "variable_label": ["ECOG", "ECOG", "Stage"],
    ...                     "label": ["0–1", "≥2", "Extensive"], "median": [16.2, 9.5, 13.2], "p": [0.021, 0.021, NAN]})
    >>> subgroup_paragraph(sub)  # doctest: +NORMALIZE_WHITESPACE
    'The median OS differed between subgroups (log-rank p < 0.05) by ECOG (0–1: 16.2 months vs ≥2: 9.5 months;
    p = 0.021). Not compared, having one level in this cohort: stage (all extensive).'
    """
    sig, nonsig, single = [], [], []
    for var, g in sub.groupby("variable", sort=False):
        p = g["p"].iloc[0]
        label = str(g["variable_label"].iloc[0])
        if len(g) < 2:
            single.append(f"{lc(label)} (all {lc(g['label'].iloc[0])})")
            continue
        if not _finite(p):
            nonsig.append(lc(label))
            continue
        if float(p) < alpha:
            meds = " vs ".join(f"{lc(r.label)}: {duration_text(r.median, unit)}" for r in g.itertuples(index=False))
            sig.append(f"{lc(label)} ({meds}; {p_text(p)})")
        else:
            nonsig.append(lc(label))
    out = []
    if sig:
        out.append(f"The {endpoint} differed between subgroups (log-rank p < {alpha:g}) "
                   f"by {join(sig)}.")
        if nonsig:
            out.append(f"It did not differ significantly by the other {count_word(len(nonsig), 'characteristic')} "
                       "of @tbl-subgroups.")
    elif nonsig:
        out.append(f"The {endpoint} did not differ significantly (log-rank p ≥ {alpha:g}) by any of the "
                   f"{count_word(len(nonsig), 'characteristic')} of @tbl-subgroups.")
    if single:
        out.append(f"Not compared, having one level in this cohort: {join(single)}.")
    return " ".join(out) if out else "No subgroup comparison was possible: every characteristic has one level."


def dose_paragraph(by_dose: pd.DataFrame, trend_p, unit: str = "months", conf_level: float = 0.95) -> str:
    """PFS by starting dose: the median of each dose present, log-rank and trend p; or why not compared."""
    if by_dose is None or len(by_dose) == 0:
        return "Progression-free survival was not compared by dose: no dose was recorded."
    if len(by_dose) == 1:
        r = by_dose.iloc[0]
        return (f"Every patient started anlotinib at {r['label']} mg, so progression-free survival was not "
                f"compared by dose ({KM_REFS['dose']}).")
    meds = join(f"{median_text(r.median, r.lower, r.upper, unit, conf_level)} with {r.label} mg"
                for r in by_dose.itertuples(index=False))
    p = by_dose["p"].iloc[0]
    if not _finite(p):
        tests = "no progression or death to compare by dose"
    else:
        tests = f"log-rank {p_text(p)}; test for trend {p_text(trend_p)}"
    return f"By starting dose of anlotinib the median PFS was {meds} ({tests}; {KM_REFS['dose']})."


# ------------------------------------------------------------------------------------------- methods
def followup_text(method: str, paper_method: str = "observed") -> str:
    """How the median follow-up is defined, for the Methods ("the paper's" only for the paper's definition).

    >>> "fits" in followup_text("observed")
    False
    >>> followup_text("reverse_km")[:60]
    'Median follow-up is the reverse Kaplan–Meier estimate (Schem'
    """
    paper = (" (the paper gives its follow-up as a median with a range, which this definition yields)"
             if method == paper_method else "")
    if method == "observed":
        return (f"Median follow-up is the median of the observed times with their range{paper}; the reverse "
                "Kaplan–Meier estimate, which counts deaths as censored follow-up and is the usual standard, is "
                "given beside it.")
    if method == "reverse_km":
        return (f"Median follow-up is the reverse Kaplan–Meier estimate (Schemper and Smith), which counts deaths "
                f"as censored follow-up{paper}; the median (range) of the observed times, the paper's definition, "
                "is given beside it.")
    return f"Median follow-up is the {fmt.method_name(method)}{paper}."


_RATE_SOURCE = {"log-log": " (as Stata's `sts list` and lifelines report them, the paper's method)",
                "log": " (as R's survfit reports them by default)", "plain": ""}


def survival_methods(median_ci: str, rate_ci: str, followup_method: str, conf_level: float = 0.95,
                     paper: Mapping[str, str] = {"median_ci": "spss", "rate_ci": "log-log"}) -> str:
    """The Methods' sentences on the survival intervals and follow-up, from the parameters.

    >>> "sts list" in survival_methods("spss", "log", "observed")
    False
    """
    conf = f"{100 * conf_level:g}%"
    if median_ci == "spss":
        med = (f"Medians are given with the SPSS symmetric {conf} interval, median ± z·SE, whose SE is the Greenwood "
               "standard error of the survival at the median divided by the slope of the Kaplan–Meier curve "
               "there, taken as a finite difference between the 0.45 and 0.55 quantiles (the interval the "
               "paper's software, SPSS, reports); the Brookmeyer–Crowley intervals that R and Stata report are a "
               "parameter.")
    else:
        med = (f"Medians are given with the Brookmeyer–Crowley {conf} interval ({fmt.method_name(median_ci)}, as "
               "R's survfit reports it); the paper's SPSS symmetric interval is the default parameter.")
    source = _RATE_SOURCE.get(rate_ci, "") if rate_ci == paper.get("rate_ci") else (
        " (as R's survfit reports them by default)" if rate_ci == "log" else "")
    rate = f"Landmark survival rates are given with {fmt.method_name(rate_ci)} {conf} intervals{source}."
    return " ".join((med, rate, followup_text(followup_method)))


def proportion_methods(ci_method: str, conf_level: float = 0.95, exclude_not_evaluable: bool = False,
                       paper_method: str = "clopper-pearson") -> str:
    """The Methods' sentence on the response proportions, from the parameters.

    >>> print(proportion_methods("clopper-pearson"))
    Proportions are given with Clopper–Pearson exact 95% confidence intervals, which give the paper's published intervals (the paper does not name its method); patients who were not evaluable count in the denominators of the ORR and DCR.
    >>> print(proportion_methods("wilson", 0.9, exclude_not_evaluable=True))
    Proportions are given with Wilson score 90% confidence intervals (Clopper–Pearson exact intervals give the paper's published ones); patients who were not evaluable are left out of the denominators of the ORR and DCR (the paper kept them).
    """
    conf = f"{100 * conf_level:g}%"
    out = f"Proportions are given with {fmt.method_name(ci_method)} {conf} confidence intervals"
    out += (", which give the paper's published intervals (the paper does not name its method)"
            if ci_method == paper_method else
            f" ({fmt.method_name(paper_method)} intervals give the paper's published ones)")
    if exclude_not_evaluable:
        out += "; patients who were not evaluable are left out of the denominators of the ORR and DCR (the paper kept them)"
    else:
        out += "; patients who were not evaluable count in the denominators of the ORR and DCR"
    return out + "."


def survival_population(pfs_censor: str = "last_contact", exclude_deaths_within: float = 0,
                        n_excluded: int = 0) -> str:
    """The Methods' sentences on censoring and on the patients the survival analyses leave out.

    >>> survival_population()
    'Patients without the event were censored at the date last known alive.'
    >>> survival_population("last_assessment", 3, 2)
    'Patients alive without progression were censored for PFS at their last tumour assessment, and patients alive for OS at the date last known alive. As a landmark analysis, the 2 patients who died within the first 3 months were left out of the survival analyses.'
    """
    if pfs_censor == "last_assessment":
        out = ("Patients alive without progression were censored for PFS at their last tumour assessment, and "
               "patients alive for OS at the date last known alive.")
    else:
        out = "Patients without the event were censored at the date last known alive."
    if exclude_deaths_within:
        who = ("the patient who" if n_excluded == 1 else f"the {n_excluded} patients who") if n_excluded else \
            "patients who (none in this cohort)"
        out += (f" As a landmark analysis, {who} died within the first {exclude_deaths_within:g} months "
                "were left out of the survival analyses.")
    return out


def level_breakdown(label: str, levels: Sequence[tuple[str, int, float]], n: int) -> str:
    """One baseline variable in prose from its present levels (label, n, percent).

    >>> level_breakdown("Sex", [("Male", 3, 60.0), ("Female", 2, 40.0)], 5)
    'sex: male 3 (60.0%) and female 2 (40.0%)'
    >>> level_breakdown("Sex", [("Male", 5, 100.0), ("Female", 0, 0.0)], 5)
    'sex: male in all 5 patients'
    """
    present = [(lab, k, pct) for lab, k, pct in levels if k > 0]
    if len(present) == 1:
        return f"{lc(label)}: {lc(present[0][0])} in all {count_word(n, 'patient')}"
    return f"{lc(label)}: " + join(f"{lc(lab)} {k} ({fmt.percent(pct)}%)" for lab, k, pct in present)


# ------------------------------------------------------------------------------------------- survival
def _landmarks(s) -> str:
    from analysis.report.endpoints import landmark_sentence

    return landmark_sentence(s)


def survival_paragraphs(summ: Mapping, fu, fu_other, by_dose: pd.DataFrame, trend_p,
                        conf_level: float = 0.95) -> dict[str, str]:
    """The survival results in prose: DoR, PFS (overall and by dose), follow-up and OS, and the abstract's sentence.

    ``summ`` maps "Duration of response", "Progression-free survival" and "Overall survival" to
    :class:`analysis.report.endpoints.EndpointSummary`; ``fu``/``fu_other``: :class:`analysis.stats.km.FollowUp`
    (the parameter's definition and the other one). Returns ``{"text": Markdown, "abstract": sentence}``.
    """
    dor, pfs, os_ = (summ["Duration of response"], summ["Progression-free survival"], summ["Overall survival"])
    med = lambda s: median_text(s.median.estimate, s.median.lower, s.median.upper, "months", conf_level)  # noqa: E731
    if dor.n == 0:
        p_dor = "No patient had a complete or partial response, so duration of response was not analysed."
        a_dor = "duration of response was not analysed (no responder)"
    else:
        p_dor = (f"Among the {count_word(dor.n, 'responder')}, {dor.events} progressed or died; the median DoR was "
                 f"{med(dor)} ({KM_REFS['dor']}) and the DoR rate was {_landmarks(dor)}.")
        a_dor = f"median duration of response {med(dor)}"
    if pfs.events == 0:
        p_pfs = (f"No patient had progressed or died by the data cutoff: the median PFS was not reached "
                 f"({KM_REFS['pfs']}); the PFS rate was {_landmarks(pfs)}.")
    else:
        p_pfs = (f"Progression or death was recorded in {count_word(pfs.events, 'patient')} "
                 f"({fmt.percent(pfs.events_pct)}%). The median PFS was {med(pfs)} ({KM_REFS['pfs']}); the PFS rate was {_landmarks(pfs)}.")
    p_dose = dose_paragraph(by_dose, trend_p, "months", conf_level)
    fu_txt = duration_text(fu.median)
    other_txt = duration_text(fu_other.median)
    deaths = (f"{count_word(os_.events, 'patient')} ({fmt.percent(os_.events_pct)}%) had died" if os_.events
              else "no patient had died")
    p_os = (f"The median follow-up was {fu_txt} (range {fmt.num(fu.min, 1)}–{fmt.num(fu.max, 1)} months; "
            f"{fmt.method_name(fu.method)}; by the {fmt.method_name(fu_other.method)} method {other_txt}), and "
            f"{deaths}. The median OS was {med(os_)} ({KM_REFS['os']}; all estimates in "
            f"[{{{{< var supp.tbl-survival >}}}}](supplement.html#tbl-survival)); the OS rate was "
            f"{_landmarks(os_)}.")
    after = (f"after a median follow-up of {fu_txt}" if _finite(fu.median) else
             f"with the median follow-up {fu_txt}")
    abstract = (f"Median progression-free survival was {med(pfs)}, {a_dor} and, {after}, median overall survival "
                f"{med(os_)}.")
    return {"text": "\n\n".join((p_dor, p_pfs + " " + p_dose, p_os)), "abstract": abstract}


def cox_table_note(terms: Mapping[str, str], dropped: Mapping[str, str], labels: Mapping[str, str],
                   selection_notes: Sequence[str] = (), p_adjust: str = "none") -> str:
    """The note under Table 2: each Cox term's coding, the covariates left out and why, multiplicity.

    >>> cox_table_note({"ecog_group": "0–1 vs ≥2"}, {"sex": "one level in this cohort: Male"},
    ...                {"ecog_group": "ECOG performance status", "sex": "Sex"})
    'Cox terms: ECOG performance status: 0–1 vs ≥2; Sex: not in the model (one level in this cohort: Male). P values are not adjusted for multiplicity.'
    """
    parts = ([f"{labels.get(t, t)}: {d}" for t, d in terms.items()]
             + [f"{labels.get(t, t)}: not in the model ({why})" for t, why in dropped.items()]
             + list(selection_notes))
    adjusted = "" if p_adjust == "none" else f" in the table; {p_adjust} adjusted values are in the CSV"
    return "Cox terms: " + "; ".join(parts) + f". P values are not adjusted for multiplicity{adjusted}."


def p_adjust_text(method: str) -> str:
    """The Methods' sentence on multiplicity, from the ``p_adjust`` parameter.

    >>> p_adjust_text("none")
    'Subgroup p values are not adjusted for multiplicity (the paper reports no adjustment); Benjamini–Hochberg adjustment is a parameter'
    """
    if method == "none":
        return ("Subgroup p values are not adjusted for multiplicity (the paper reports no adjustment); "
                "Benjamini–Hochberg adjustment is a parameter")
    return (f"Subgroup p values are given unadjusted in the text and tables (the paper reports no adjustment) and "
            f"{fmt.method_name(method)}-adjusted in the subgroup table's data file")


#: Deaths per Cox term below which the Discussion calls the model small (the usual rule of ten events per
#: variable: Peduzzi et al., 1996).
MIN_EVENTS_PER_TERM = 10


def cox_discussion(terms: Mapping[str, str], events: int, fitted: bool = True, why: str = "") -> str:
    """The Discussion's clause on the Cox model, from its terms and events (deaths per term against
    :data:`MIN_EVENTS_PER_TERM`), or on why none was fitted (``why``: the model's note).

    >>> cox_discussion({f"t{i}": "x" for i in range(5)}, 44)
    'with 44 deaths and 5 terms in the Cox model (9 deaths per term), a multivariable model on a small retrospective cohort is near the limit of what the data can support, and its hazard ratios are exploratory'
    >>> cox_discussion({"a": "x", "b": "y"}, 44)
    'with 44 deaths and 2 terms in the Cox model (22 deaths per term), the model has at least the 10 deaths per term usually asked for; in a retrospective cohort its hazard ratios remain associations'
    >>> cox_discussion({}, 27, fitted=False, why="no covariate was selected for it")
    'no Cox model was fitted to this cohort (no covariate was selected for it), so it gives no adjusted hazard ratios'
    """
    k = len(terms)
    if not fitted or k == 0:
        return ("no Cox model was fitted to this cohort" + (f" ({why})" if why else "")
                + ", so it gives no adjusted hazard ratios")
    head = (f"with {count_word(events, 'death')} and {count_word(k, 'term')} in the Cox model "
            f"({fmt.num(events / k, 0)} deaths per term)")
    if events / k < MIN_EVENTS_PER_TERM:
        return (head + ", a multivariable model on a small retrospective cohort is near the limit of what the data "
                "can support, and its hazard ratios are exploratory")
    return (head + f", the model has at least the {MIN_EVENTS_PER_TERM} deaths per term usually asked for; in a "
            "retrospective cohort its hazard ratios remain associations")


def cox_limitation(terms: Mapping[str, str], events: int, fitted: bool = True) -> str:
    """The Limitations' sentence on the subgroup comparisons and the Cox model's size.

    >>> cox_limitation({"a": "x"}, 5)
    'Many subgroups were compared, and the multivariable model is small for the number of deaths; both are exploratory.'
    >>> cox_limitation({"a": "x"}, 50)
    'Many subgroups were compared; the comparisons are exploratory.'
    """
    if fitted and terms and events / len(terms) < MIN_EVENTS_PER_TERM:
        return ("Many subgroups were compared, and the multivariable model is small for the number of deaths; "
                "both are exploratory.")
    return "Many subgroups were compared; the comparisons are exploratory."


def safety_abstract(summary: pd.DataFrame, n: int) -> str:
    """The abstract's safety sentence.

    >>> s = pd.DataFrame({"term": ["any"], "any_n": [0], "any_pct": [0.0], "grade3plus_n": [0],
    ...                   "grade3plus_pct": [0.0]})
    >>> safety_abstract(s, 5)
    'No treatment-related adverse event was recorded.'
    """
    r = summary[summary["term"] == "any"]
    if not len(r) or int(r["any_n"].iloc[0]) == 0:
        return "No treatment-related adverse event was recorded."
    r = r.iloc[0]
    return (f"Treatment-related adverse events occurred in {int(r['any_n'])} patients ({fmt.percent(r['any_pct'])}%), "
            f"of grade 3 or higher in {int(r['grade3plus_n'])} ({fmt.percent(r['grade3plus_pct'])}%).")


# ------------------------------------------------------------------------------------------- response
def response_abstract(rr: Mapping, ci_method: str = "clopper-pearson") -> str:
    """The abstract's response sentences from :func:`analysis.stats.response.orr_dcr`."""
    c = dict(zip(rr["counts"]["response"], rr["counts"]["n"]))
    n = int(sum(c.values()))
    parts = [f"{int(c.get(k, 0))} {w}" for k, w in (("CR", "a complete response"), ("PR", "a partial response"),
                                                    ("SD", "stable disease"), ("PD", "progressive disease"))
             if c.get(k, 0)]
    if parts:
        parts[0] = parts[0].replace(" ", " had ", 1)
    ne = int(c.get("NE", 0))
    if ne:
        parts.append(f"{ne} {'was' if ne == 1 else 'were'} not evaluable")
    lead = f"Of {count_word(n, 'patient')}, {join(parts)}."
    rates = []
    for key, name in (("orr", "objective response rate"), ("dcr", "disease control rate")):
        p = rr[key]
        if p.n == 0 or not _finite(p.estimate):
            rates.append(f"the {name} was not estimable (no evaluable patient)")
        else:
            conf = f"{100 * p.conf_level:g}% CI"
            rates.append(f"the {name} was {fmt.percent(100 * p.estimate)}% ({conf} "
                         f"{fmt.ci(100 * p.lower, 100 * p.upper, 1)}%)")
    return f"{lead} {rates[0][0].upper() + rates[0][1:]} and {rates[1]}."


_BEST_RESPONSE = {"CR": ("a complete response", "complete response"), "PR": ("a partial response", "partial response"),
                  "SD": ("stable disease", "stable disease"), "PD": ("progressive disease", "progressive disease")}


def best_response_sentence(rr: Mapping, ref: str = "") -> str:
    """The best overall responses in prose, from :func:`analysis.stats.response.orr_dcr`'s counts:
    only the categories that occur are listed, absent ones are said as such, counts of one are singular;
    ``ref`` (e.g. a table cross-reference) ends the first sentence in parentheses.

    >>> import pandas as pd
    >>> from analysis.stats import response
    >>> best_response_sentence(response.orr_dcr(pd.Series(["PR", "PR", "SD", "NE"])))
    'The best overall response was a partial response in 2 patients (50.0%) and stable disease in 1 (25.0%); 1 patient (25.0%) was not evaluable. No patient had a complete response or progressive disease.'
    >>> best_response_sentence(response.orr_dcr(pd.Series(["NE", "NE"])))
    'No patient had an evaluable best response: all 2 patients were not evaluable.'
    """
    counts = rr["counts"].set_index("response")
    n_of = {c: int(counts.loc[c, "n"]) if c in counts.index else 0 for c in (*_BEST_RESPONSE, "NE")}
    pct_of = {c: float(counts.loc[c, "pct"]) if c in counts.index else 0.0 for c in n_of}
    present = [c for c in _BEST_RESPONSE if n_of[c] > 0]
    absent = [c for c in _BEST_RESPONSE if n_of[c] == 0]
    if not present:
        return (f"No patient had an evaluable best response: all {count_word(n_of['NE'], 'patient')} "
                f"{'was' if n_of['NE'] == 1 else 'were'} not evaluable" + (f" ({ref})" if ref else "") + ".")
    items = [f"{_BEST_RESPONSE[c][0]} in {count_word(n_of[c], 'patient') if i == 0 else n_of[c]} "
             f"({fmt.percent(pct_of[c])}%)" for i, c in enumerate(present)]
    out = "The best overall response was " + join(items)
    if n_of["NE"]:
        out += (f"; {count_word(n_of['NE'], 'patient')} ({fmt.percent(pct_of['NE'])}%) "
                f"{'was' if n_of['NE'] == 1 else 'were'} not evaluable")
    out += (f" ({ref})" if ref else "") + "."
    if absent:
        out += " No patient had " + join([_BEST_RESPONSE[c][0] for c in absent], "or") + "."
    return out


def response_rates(rr: Mapping) -> str:
    """The ORR and DCR sentence from :func:`analysis.stats.response.orr_dcr`, or why they are not estimable.

    >>> import pandas as pd
    >>> from analysis.stats import response
    >>> from analysis.stats.control import ResponseControl
    >>> response_rates(response.orr_dcr(pd.Series(["PR", "SD", "PD", "NE"])))
    'The ORR was 25.0% (95% CI 0.6–80.6%) and the DCR 50.0% (95% CI 6.8–93.2%).'
    >>> response_rates(response.orr_dcr(pd.Series(["NE"] * 3), ResponseControl(exclude_not_evaluable=True)))
    'The ORR and DCR are not estimable: no patient was evaluable, and not-evaluable patients are excluded from the denominator.'
    """
    orr, dcr = rr["orr"], rr["dcr"]
    if orr.n == 0 or not _finite(orr.estimate):
        return ("The ORR and DCR are not estimable: no patient was evaluable, and not-evaluable patients are excluded "
                "from the denominator.")
    conf = f"{100 * orr.conf_level:g}% CI"
    return (f"The ORR was {fmt.percent(100 * orr.estimate)}% ({conf} {fmt.ci(100 * orr.lower, 100 * orr.upper, 1)}%) "
            f"and the DCR {fmt.percent(100 * dcr.estimate)}% ({conf} {fmt.ci(100 * dcr.lower, 100 * dcr.upper, 1)}%).")


def response_paragraph(change: Mapping, case: Mapping) -> str:
    """The tumour-size sentences: the mean best change and the deepest response (the paper's case report).

    ``change``: :func:`analysis.data.recist.summarise_change`; ``case``:
    :func:`analysis.report.tables.deepest_response` (both ``{key: (value, text)}``).
    """
    n = int(change["n"][0])
    if n == 0:
        return ("No patient had a measured on-treatment tumour assessment, so there is no change in tumour size to "
                "describe (@fig-waterfall).")
    out = (f"Across the {count_word(n, 'patient')} with a measured on-treatment assessment, the mean best change in "
           f"the sum of target-lesion diameters was {fmt.num(change['mean'][0], 2)}% (@fig-waterfall).")
    shrink = case["shrinkage_pct"][0]
    if shrink is None or not _finite(shrink) or float(shrink) <= 0:
        return out + " No patient's target lesions shrank."
    # no patient is described by characteristics (age, sex, agent, time on treatment identify a patient)
    return out + (f" The deepest response was a reduction of {fmt.percent(float(shrink))}% in the sum of the "
                  "target-lesion diameters.")


# ------------------------------------------------------------------------------------------- framing
def caption_prefix(synthetic: bool) -> str:
    """The first words of every figure caption: "Synthetic cohort. " for the shipped synthetic cohort, else "".

    Figure captions are built in the notebooks; each starts with this, so a figure copied out of the
    article still says what data it shows.

    >>> caption_prefix(True) + "Overall survival.", caption_prefix(False) + "Overall survival."
    ('Synthetic cohort. Overall survival.', 'Overall survival.')
    """
    return "Synthetic cohort. " if synthetic else ""


def on_treatment_sentence(n_on: int, cutoff_text: str) -> str:
    """Patients still on treatment at the data cutoff, in words for none or one.

    >>> on_treatment_sentence(0, "20 January 2025")
    'At the data cutoff (20 January 2025), no patient was still receiving treatment.'
    >>> on_treatment_sentence(11, "20 January 2025")
    'At the data cutoff (20 January 2025), 11 patients were still receiving treatment.'
    """
    who = ("no patient was" if n_on == 0 else "one patient was" if n_on == 1 else f"{n_on} patients were")
    return f"At the data cutoff ({cutoff_text}), {who} still receiving treatment."


#: How each level of the baseline paragraph's variables reads after "n (pct%)": the full phrase (the first level
#: named) and the short one (the levels after it); levels not listed read as "had <label>". Only the levels
#: present in the cohort are named, largest first.
_BASELINE_PHRASES = {
    "sex": {"male": ("were men", "men"), "female": ("were women", "women")},
    "prior_lines_group": {"first_line": ("had received their previous immunotherapy in the first line", "in the first line"),
                          "second_or_more": ("had received their previous immunotherapy in the second line or later",
                                             "in the second line or later")},
    "platinum_response": {"sensitive": ("were platinum-sensitive", "platinum-sensitive"),
                          "resistant": ("were platinum-resistant", "platinum-resistant")},
    "prior_ici_class": {"pd1": ("had received a PD-1 inhibitor before", "a PD-1 inhibitor"),
                        "pdl1": ("had received a PD-L1 inhibitor before", "a PD-L1 inhibitor")},
    "prior_ici_failure": {"progression": ("had stopped their previous immunotherapy for progression", "for progression"),
                          "intolerance": ("had stopped their previous immunotherapy for intolerance", "for intolerance")},
}
_BASELINE_ALL = {"were": "all were", "had": "all had"}


def baseline_paragraph(t1_data: pd.DataFrame, n: int, variables: Sequence[str] = (
        "sex", "prior_lines_group", "platinum_response", "prior_ici_class", "prior_ici_failure")) -> str:
    """The baseline paragraph from Table 1's data (:func:`analysis.report.tables.table1`): median age and range,
    then each variable of ``variables`` as a clause naming only its levels present, largest first.

    >>> t1 = pd.DataFrame({"variable": ["age", "sex", "sex"], "level": ["", "male", "female"],
    ...                    "label": ["", "Male", "Female"], "n": [0, 3, 2], "pct": [0, 60.0, 40.0],
    ...                    "median": [61, 0, 0], "min": [40, 0, 0], "max": [77, 0, 0]})
    >>> baseline_paragraph(t1, 5, ("sex",))
    'The 5 patients had a median age of 61 years (range 40–77) (@tbl-baseline); 3 (60.0%) were men and 2 (40.0%) women. @fig-flow shows the analysis populations.'
    >>> baseline_paragraph(t1.assign(n=[0, 5, 0], pct=[0, 100.0, 0]), 5, ("sex",)).split("; ")[1]
    'all were men. @fig-flow shows the analysis populations.'
    """
    age = t1_data.iloc[0]
    rows = t1_data.iloc[1:]
    clauses = []
    for v in variables:
        g = rows[(rows["variable"] == v) & (rows["n"] > 0)].sort_values("n", ascending=False, kind="stable")
        if g.empty:
            continue
        phrases = _BASELINE_PHRASES.get(v, {})
        if len(g) == 1:
            full = phrases.get(str(g["level"].iloc[0]), (f"had {lc(str(g['label'].iloc[0]))}",))[0]
            verb, rest = full.split(" ", 1)
            clauses.append(f"{_BASELINE_ALL.get(verb, 'all ' + verb)} {rest}")
            continue
        parts = []
        for i, r in enumerate(g.itertuples(index=False)):
            full, short = phrases.get(r.level, (f"had {lc(str(r.label))}", lc(str(r.label))))
            parts.append(f"{int(r.n)} ({fmt.percent(r.pct)}%) {full if i == 0 else short}")
        clauses.append(join(parts))
    head = (f"The {count_word(n, 'patient')} had a median age of {fmt.num(age['median'], 0)} years (range "
            f"{fmt.num(age['min'], 0)}–{fmt.num(age['max'], 0)}) (@tbl-baseline)")
    return head + ("; " + "; ".join(clauses) if clauses else "") + ". @fig-flow shows the analysis populations."


def subgroup_abstract(sub: pd.DataFrame, alpha: float = ALPHA) -> str:
    """The abstract's subgroup sentence: the characteristics by which OS differed (log-rank p < ``alpha``), with
    their p values, or that it differed by none (``sub`` as in :func:`subgroup_paragraph`).

    >>> sub = pd.DataFrame({"variable": ["ecog_group"] * 2 + ["sex"] * 2, "variable_label": ["ECOG"] * 2 + ["Sex"] * 2,
    ...                     "label": ["0–1", "≥2", "Male", "Female"], "median": [16.2, 9.5, 12, 13],
    ...                     "p": [0.021, 0.021, 0.5, 0.5]})
    >>> subgroup_abstract(sub)
    'Overall survival differed by ECOG (log-rank p = 0.021) and by no other characteristic compared.'
    >>> subgroup_abstract(sub.assign(p=0.4))
    'Overall survival did not differ significantly by any of the 2 baseline characteristics compared (log-rank).'
    """
    sig, other = [], 0
    for _, g in sub.groupby("variable", sort=False):
        if len(g) < 2 or not _finite(g["p"].iloc[0]):
            continue
        if float(g["p"].iloc[0]) < alpha:
            sig.append(f"{lc(str(g['variable_label'].iloc[0]))} (log-rank {p_text(g['p'].iloc[0])})")
        else:
            other += 1
    if not sig:
        if not other:
            return "No baseline subgroup could be compared."
        return (f"Overall survival did not differ significantly by any of the {count_word(other, 'baseline characteristic')} "
                "compared (log-rank).")
    tail = ("" if not other else " and by no other characteristic compared" if other == 1 else
            f" and by none of the other {other} characteristics compared")
    return f"Overall survival differed by {join(sig)}{tail}."
