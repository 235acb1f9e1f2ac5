"""Why a published number is not reproduced exactly: one sentence per scorecard row, computed.

The scorecard (:mod:`analysis.synthetic.scorecard`) says *whether* each published number prints as the paper
prints it; this module says *why not*, from the analysed cohort and the published numbers, never
from a typed-in text:

* a number the paper contradicts: the consistency audit's finding (:mod:`analysis.synthetic.audit`); for a
  Cox row, how many of its HR, bounds and p one model can print together (:func:`analysis.synthetic.audit.cox_together`);
* a definition the paper states (an input of the analysis, not a result);
* an SPSS median interval: the half-width is a factor fixed by the order of the records times the
  days between two deaths (:func:`analysis.synthetic.interval_fit.explain`), so the reason names the factor,
  the day gap the published half-width needs and the gap the cohort has;
* a landmark rate: the cohort's Kaplan–Meier estimate, patients at risk and Greenwood variance
  Σ d/[n(n − d)] at the landmark against the variance the published interval implies (the interval
  inverted with the run's ``rate_ci``), and when that variance is larger than any curve with the
  cohort's number of patients followed beyond the landmark can have, the most it allows
  (:func:`max_followed_beyond`);
* a log-rank p value: the cohort's chi-square against the chi-square the published p needs;
* the median follow-up (median of the observed times): how many patients the cohort follows beyond
  the published median, against the half of the cohort that this needs;
* any other number: its difference from the published value.

Examples
--------
>>> round(implied_greenwood(0.309, 0.198, 0.427), 4)  # the published 12-month PFS rate
0.0372
>>> round(needed_chisq(0.031, 1), 2)
4.65
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.stats import compare, km
from analysis.stats.dist import chi2_isf, norm_ppf
from analysis.report import fmt
from analysis.synthetic.audit import cox_together, is_flagged
from analysis.data.cohort import ENDPOINT_COLUMNS
from analysis.synthetic.scorecard import reproduced_text
from analysis.synthetic.targets import parse_bound

#: Variable of the by-dose PFS comparison of the text.
DOSE_VARIABLE = "anlotinib_dose_mg"


def implied_greenwood(estimate: float, lower: float, upper: float, conf_type: str = "log-log",
                      conf_level: float = 0.95) -> float:
    """Greenwood variance Σ d/[n(n − d)] (the variance of −log S) that a printed rate interval implies.

    Inverts the pointwise interval of :func:`analysis.stats.km.confidence_band` (proportions, not percent):
    log-log ``S^exp(±z·√V/log S)``, log ``S·exp(±z·√V)``, plain ``S ± z·S·√V``.
    """
    z = norm_ppf(0.5 + conf_level / 2)
    if not (0 < lower < estimate < upper < 1):
        return math.nan
    if conf_type == "log-log":
        half = (math.log(-math.log(lower)) - math.log(-math.log(upper))) / (2 * z)
        return float((half * math.log(estimate)) ** 2)
    if conf_type == "log":
        return float((math.log(upper / lower) / (2 * z)) ** 2)
    if conf_type == "plain":
        return float(((upper - lower) / (2 * z * estimate)) ** 2)
    raise ValueError(f"conf_type must be 'log-log', 'log' or 'plain', not {conf_type!r}")


def max_followed_beyond(variance: float, n: int) -> int:
    """Most patients a Kaplan–Meier curve of ``n`` patients can still follow beyond a landmark where
    its Greenwood variance Σ d/[m(m − d)] (``m`` at risk, ``d`` events at each event time) is ``variance``.

    Each event term is d/[m(m − d)] = Σ 1/[k(k − 1)] over k = m − d + 1 … m, and the ranges of k of
    different event times do not overlap; with ``r`` patients followed beyond the landmark every
    event leaves m − d ≥ r, so the variance is at most Σ_{k=r+1}^{n} 1/[k(k − 1)] = 1/r − 1/n.
    A larger variance therefore needs r ≤ 1 / (variance + 1/n). NaN variance gives ``n``.

    >>> max_followed_beyond(0.645, 68)  # the published 24-month PFS interval, 68 patients
    1
    >>> max_followed_beyond(0.0, 68)
    68
    """
    if not (math.isfinite(variance) and variance > 0):
        return int(n)
    return min(int(n), int(math.floor(1.0 / (variance + 1.0 / n) + 1e-12)))


def needed_chisq(p: float, df: int) -> float:
    """Chi-square statistic on ``df`` degrees of freedom whose upper tail is ``p``."""
    return float(chi2_isf(p, df))


def is_paper_interval(params: dict) -> bool:
    """A section run with the paper's median intervals (SPSS, 95 %): only then are reasons about them meaningful."""
    return params.get("median_ci") == "spss" and params.get("conf_level") == 0.95


def paper_intervals(explained: pd.DataFrame, survival_params: dict, subgroup_params: dict) -> pd.DataFrame:
    """The rows of :func:`analysis.synthetic.interval_fit.explain` whose section (``survival.*``: the survival
    notebook, ``subgroups.*``: the subgroups notebook) was run with the paper's intervals."""
    sub = explained["key"].str.startswith("subgroups.")
    keep = np.where(sub, is_paper_interval(subgroup_params), is_paper_interval(survival_params))
    return explained[keep]


def _greenwood(r: km.Rate) -> float:
    """Greenwood variance Σ d/[n(n − d)] at a landmark: (SE of S / S)²."""
    return (r.std_err / r.estimate) ** 2 if r.estimate > 0 else math.nan


def _num(x: float, d: int = 2) -> str:
    return fmt.num(x, d)


def _audit_reason(key: str, audit: pd.DataFrame) -> str:
    bad = audit[~audit["consistent"]]
    hit = bad[bad["key"] == key]
    if hit.empty:
        hit = bad[[is_flagged(key, [k]) for k in bad["key"]]]
    if hit.empty:
        return "the consistency audit flags this number"
    r = hit.iloc[0]
    return f"the paper contradicts itself ({r['check']}): {str(r['note']).split(';')[0]}"


def _interval_reason(r) -> str:
    if r.status == "median":
        return "the median is not on the day the published interval is centred on, so the interval is not either"
    if r.status == "undefined":
        return "no SPSS interval: no event after S falls to 0.45"
    lead = (f"SPSS half-width = {_num(r.coef)} × the days between the events at S ≥ 0.55 and S ≤ 0.45; the "
            f"published bounds need {_num(r.half_lo, 1)}–{_num(r.half_hi, 1)} days")
    if r.status == "lattice":
        return lead + ", which no whole number of days gives"
    if r.status == "gap":
        return lead + f", i.e. the events {r.needed_days:.0f} days apart; they are {r.gap_days:.0f}"
    return lead + f" and the events are {r.gap_days:.0f} days apart: the bound differs by rounding only"


def _rate_reason(key: str, published: dict, a: pd.DataFrame, conf_type: str, conf_level: float) -> str:
    parts = key.split(".")
    time_col, event_col = ENDPOINT_COLUMNS[parts[1]]
    t_mo = float(parts[2][len("rate_"):])
    d = a[[time_col, event_col]].dropna()
    fit = km.kaplan_meier(d[time_col].to_numpy(float), d[event_col].to_numpy(int), conf_level=conf_level,
                          conf_type=conf_type)
    r = km.survival_at(fit, t_mo, conf_type=conf_type, conf_level=conf_level)
    if not math.isfinite(r.estimate):
        return f"the cohort's follow-up ends before {t_mo:g} months"
    prefix = ".".join(parts[:3])
    est, lo, up = (published.get(f"{prefix}.{s}") for s in ("estimate", "lower", "upper"))
    mine = (f"S({t_mo:g} months) = {fmt.percent(100 * r.estimate)}% with {r.n_risk} at risk and Greenwood "
            f"variance {_num(_greenwood(r), 3)}")
    if None in (est, lo, up):
        return mine
    v = implied_greenwood(est / 100, lo / 100, up / 100, conf_type, conf_level)
    if not math.isfinite(v):
        return mine
    why = (mine + f"; the published {fmt.percent(est)}% ({fmt.percent(lo)}–{fmt.percent(up)}) implies "
           f"{_num(v, 3)} ({'fewer' if v > _greenwood(r) else 'more'} patients at risk)")
    beyond, cap = int((d[time_col] > t_mo).sum()), max_followed_beyond(v, len(d))
    if beyond > cap:  # a bound that holds for any curve of this many patients, not only the cohort's
        why += (f", which any Kaplan–Meier curve of {len(d)} patients reaches only with at most {cap} followed "
                f"beyond {t_mo:g} months (the variance is at most 1/r − 1/{len(d)} with r followed beyond); the "
                f"cohort follows {beyond}")
    return why


def _logrank_reason(key: str, pub, a: pd.DataFrame) -> str:
    parts = key.split(".")
    if parts[0] == "survival":  # survival.pfs_by_dose.p
        time_col, event_col, var = "pfs_months", "pfs_event", DOSE_VARIABLE
    else:
        time_col, event_col, var = "os_months", "os_event", parts[1]
    if var not in a:
        return "the variable is not in the data"
    d = a[[time_col, event_col, var]].dropna()
    lr = compare.logrank(d[time_col].to_numpy(float), d[event_col].to_numpy(int), d[var].astype(str).to_numpy())
    mine = f"log-rank χ² = {_num(lr.chisq)} on {lr.df} df (p = {fmt.num(lr.p, 3)})"
    if isinstance(pub, str):
        op, num, _ = parse_bound(pub)
        return mine + f"; p {op} {num:g} needs χ² {'>' if '<' in op else '<'} {_num(needed_chisq(num, lr.df))}"
    return mine + f"; the published p = {pub} needs χ² = {_num(needed_chisq(float(pub), lr.df))}"


def _followup_reason(pub: float, a: pd.DataFrame, method: str) -> str:
    t = a["os_months"].dropna().to_numpy(float)
    if method != "observed":
        return f"median follow-up by the {method.replace('_', ' ')} method; the paper's method is not stated"
    beyond = int((t > pub).sum())
    return (f"median of all {t.size} observed times (deaths and censorings): {beyond} patients have a time beyond "
            f"{pub:g} months, and {math.ceil(t.size / 2)} would put the median there")


def explain_misses(card: pd.DataFrame, targets: pd.DataFrame, analysis: pd.DataFrame, audit: pd.DataFrame,
                   intervals: pd.DataFrame, *, days_per_month: float, rate_ci: str = "log-log",
                   conf_level: float = 0.95, followup_method: str = "observed") -> pd.Series:
    """One reason per scorecard row that is not ``exact`` ("" for the exact ones), index as ``card``.

    ``intervals``: :func:`analysis.synthetic.interval_fit.explain` of the same cohort (empty when the run's
    median intervals are not the paper's SPSS intervals; the interval rows then get the generic
    reason). ``analysis``: the analysis data set the numbers were computed from.
    """
    published = {r.key: r.value for r in targets.itertuples(index=False)}
    kinds = dict(zip(targets["key"], targets["kind"]))
    medians = {r.key for r in targets.itertuples(index=False) if r.key.endswith(".median")}
    ivl = {r.key: r for r in intervals.itertuples(index=False)} if len(intervals) else {}
    together = {v: r[3] for v, r in cox_together(targets).items() if r[3]}
    out = []
    for r in card.itertuples(index=False):
        key, parts = r.key, r.key.split(".")
        prefix, last = ".".join(parts[:-1]), parts[-1]
        if r.status == "exact":
            why = ""
        elif kinds.get(key) == "definition":
            why = "a definition the paper states (an input of the analysis, see the data dictionary), not a result"
        elif r.status == "not computed":
            why = "the analysis does not compute this number"
        elif r.status == "inconsistent in paper" and parts[1] == "cox" and parts[2] in together:
            why = f"the paper contradicts itself (Cox numbers together): {together[parts[2]]}"
        elif r.status == "inconsistent in paper":
            why = _audit_reason(key, audit)
        elif last in ("lower", "upper") and prefix in ivl:
            why = _interval_reason(ivl[prefix])
        elif len(parts) == 4 and parts[0] == "survival" and parts[2].startswith("rate_") \
                and parts[1] in ENDPOINT_COLUMNS:
            why = _rate_reason(key, published, analysis, rate_ci, conf_level)
        elif last == "p" and parts[1] != "cox":
            why = _logrank_reason(key, r.published, analysis)
        elif key == "survival.followup.median":
            why = _followup_reason(float(r.published), analysis, followup_method)
        elif key in medians and not math.isfinite(float(r.reproduced)):
            why = "the Kaplan–Meier curve of the cohort does not reach 0.5 (median not reached)"
        elif key in medians:
            day = float(r.reproduced) * days_per_month
            why = (f"the Kaplan–Meier median falls on day {day:.0f} ({_num(float(r.reproduced))} months); the "
                   f"published {r.published} months is day {float(r.published) * days_per_month:.0f} ± "
                   f"{0.05 * days_per_month:.1f}")
        elif isinstance(r.difference, float) and math.isfinite(r.difference):
            why = f"differs from the published value by {_num(float(r.difference), 3)}"
        else:
            why = "differs from the published value"
        out.append(why)
    return pd.Series(out, index=card.index, name="reason")


def misses_table(card: pd.DataFrame, reasons: pd.Series) -> pd.DataFrame:
    """Display frame of the rows that are not exact: number, published, reproduced, status and why."""
    from analysis.report.labels import number_labels
    from analysis.synthetic.scorecard import published_text

    keep = card["status"] != "exact"
    return pd.DataFrame({"Published number": number_labels(card.loc[keep, "key"]),
                         "Published": published_text(card.loc[keep, "published"], card.loc[keep, "unit"]),
                         "Reproduced": reproduced_text(card.loc[keep, "reproduced"], card.loc[keep, "unit"]),
                         "Status": card.loc[keep, "status"], "Why not exact": reasons[keep]})
