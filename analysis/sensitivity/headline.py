"""The report's headline results for one parameter set, computed in one process.

A sensitivity scenario changes a few parameters; its headline results are recomputed here in
milliseconds by calling the very functions the section notebooks call (no notebook is re-run):
ORR and DCR with their intervals (02), the median DoR, PFS and OS with intervals, the landmark
rates, the median follow-up and PFS by dose (03), the subgroup log-rank p values and every Cox
hazard ratio (04). Keys and printed texts are those of the sections' ``numbers.yaml`` /
``variables.yaml``, so a base run can be checked against the notebooks' own results
(:func:`check_against_sections`).

A parameter set is ``{section: {parameter: value}}`` as :func:`analysis.sensitivity.scenarios.load_base`
returns. Derivation options (``age_cut``, ``pfs_censor``, ``sd_min_days``, ``days_per_month``)
change the analysis data set: it is derived again from the cohort's validated tables
(:func:`rederive`), once per distinct set of options.

The parts of the results (response, survival, subgroup table, Cox model) are memoised per distinct
set of the options each depends on, in a dict shared by the calls of one process; with
``RR_CACHE`` set (the Makefile sets it to ``build/sensitivity/.cache``) they are also kept on disk
(:func:`memo_for`, :mod:`analysis.memo`), so that the scenario builds of ``make sensitivity``,
whose multiverses share most specifications, compute each part once. A stored part is keyed by the
cohort's contents, the analysis code and the part's options, so it is only ever used for the same
inputs; what is loaded is the pickled value itself (the same bits).
"""
from __future__ import annotations

import dataclasses
import re
import warnings
from pathlib import Path

import numpy as np

from analysis import memo
from analysis.data import cohort as cohort_mod
from analysis.data.landmark import exclude_early_deaths
from analysis.report import endpoints, fmt, tables
from analysis.sensitivity.values import same_value, undefined
from analysis.sensitivity.scenarios import section_params
from analysis.stats import compare, km, response
from analysis.stats.control import CoxControl, ResponseControl, SurvControl
from analysis.stats.selection import select_covariates

__all__ = ["DERIVE_KEYS", "derive_options", "rederive", "headline", "memo_for", "HEADLINE_KEYS", "is_headline",
           "check_against_sections"]

DERIVE_KEYS = ("age_cut", "pfs_censor", "sd_min_days", "days_per_month")

#: The numbers that make up the headline results (patterns on the sections' dotted keys).
HEADLINE_KEYS = (
    r"response\.(orr|dcr)\.(pct|lower|upper|ci)",
    r"survival\.(dor|pfs|os)\.(median|lower|upper|ci)",
    r"survival\.(dor|pfs|os)\.rate_[\d.]+\.(estimate|lower|upper)",
    r"survival\.followup\.(median|min|max)",
    r"survival\.pfs_by_dose\.(p|trend_p)",
    r"subgroups\.[a-z_0-9]+\.(p|p_adjusted)",
    r"subgroups\.cox\.[a-z_0-9]+\.(hr|lower|upper|p|ci)",
    r"subgroups\.cox\.(n|events)",
)
_HEADLINE = re.compile("^(" + "|".join(HEADLINE_KEYS) + ")$")


def is_headline(key: str) -> bool:
    """Whether a dotted key is one of the headline results.

    >>> is_headline("survival.os.median"), is_headline("survival.os.n")
    (True, False)
    """
    return bool(_HEADLINE.match(key))


def derive_options(common: dict) -> cohort_mod.DeriveOptions:
    """The derivation options of a parameter set's ``common`` section."""
    return cohort_mod.DeriveOptions(**{k: common[k] for k in DERIVE_KEYS if k in common})


def rederive(cohort: cohort_mod.Cohort, opts: cohort_mod.DeriveOptions, cache: dict | None = None):
    """The cohort with its analysis data set derived again under ``opts`` (the raw tables as they are).

    ``cache`` (a dict) keeps one derivation per distinct ``opts``.
    """
    if opts == cohort.options:
        return cohort
    key = ("derive", opts)
    if cache is not None and key in cache:
        return cache[key]
    out = dataclasses.replace(cohort, analysis=cohort_mod.derive(cohort.patients, cohort.assessments, opts),
                              options=opts)
    if cache is not None:
        cache[key] = out
    return out


def _keep(prefix: str, numbers: dict) -> dict:
    return {f"{prefix}.{k}": v for k, v in numbers.items() if is_headline(f"{prefix}.{k}")}


def _response(a, p: dict) -> dict:
    rctl = ResponseControl(ci_method=p["ci_method"], conf_level=p["conf_level"],
                           exclude_not_evaluable=p["exclude_not_evaluable"])
    return _keep("response", tables.response_numbers(response.orr_dcr(a["best_response"], rctl)))


def _survival(cohort, a, p: dict) -> dict:
    a = exclude_early_deaths(a, p.get("exclude_deaths_within", 0))
    ctrl = SurvControl(conf_level=p["conf_level"], median_ci=p["median_ci"], rate_ci=p["rate_ci"])
    resp = a[a["responder"]]
    out = {}
    for key, frame, lm in (("dor", resp, p["landmarks_dor"]), ("pfs", a, p["landmarks_pfs"]),
                           ("os", a, p["landmarks_os"])):
        time, event = cohort_mod.ENDPOINT_COLUMNS[key]
        s = endpoints.summarise_endpoint(frame[time], frame[event], lm, ctrl)
        out.update(_keep(f"survival.{key}", endpoints.endpoint_numbers(s)))
    fu = km.median_followup(a["os_months"], a["os_event"], method=p["followup_method"], ctrl=ctrl)
    out.update(_keep("survival.followup", tables.followup_numbers(fu)))
    dose = [v for v in cohort.variables() if v.name == "anlotinib_dose_mg"]
    by_dose = tables.subgroup_survival(a, dose, "pfs_months", "pfs_event", ctrl)
    out.update(_keep("survival.pfs_by_dose", tables.subgroup_numbers(by_dose, by_variable=False)))
    trend = compare.logrank_trend(a["pfs_months"], a["pfs_event"], a["dose_mg"])
    out["survival.pfs_by_dose.trend_p"] = (trend.p, fmt.pvalue(trend.p))
    return out


def _subgroup_table(cohort, a, p: dict):
    variables = [v for v in cohort.variables() if v.name != "stage"]
    sub = tables.subgroup_survival(a, variables, "os_months", "os_event",
                                   SurvControl(conf_level=p["conf_level"], median_ci=p["median_ci"]))
    sub["p_adjusted"] = tables.adjust_by_variable(sub, p["p_adjust"])
    return sub, _keep("subgroups", tables.subgroup_numbers(sub))


def _cox(a, sub, p: dict) -> dict:
    covariates, _ = select_covariates(sub, p["cox_covariates"], p.get("cox_selection", "paper"),
                                      p.get("cox_select_p", 0.05), numeric=tables.NUMERIC_OF)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:  # the report's own model: drops one-level and collinear terms as notebook 04 does
            model = tables.fit_cox_model(a, "os_months", "os_event", covariates,
                                         CoxControl(ties=p["ties"], conf_level=p["conf_level"]))
        except np.linalg.LinAlgError:
            return {}
    if model.result is None:
        # no model these data can fit (e.g. no death left after a landmark): no Cox numbers, so its
        # conclusions count as not assessable rather than stopping the section
        return {}
    cox = model.result
    return _keep("subgroups.cox", tables.cox_numbers(cox))


#: The parts kept on disk (a derivation is cheap to redo and large to store).
STORED_PARTS = ("response", "survival", "subgroups", "cox")


def memo_for(cohort: cohort_mod.Cohort, folder: str | Path | None = None) -> dict:
    """The memo for :func:`headline` calls on ``cohort``: an :class:`analysis.memo.StoredMemo` in
    ``<folder or $RR_CACHE>/headline`` that stores the parts (:data:`STORED_PARTS`), or a plain dict
    when no folder is set.

    Its context is the cohort's contents (the validated tables, its derivation options and its
    analysis data set) and the analysis code (:func:`analysis.memo.code_digest`).
    """
    context = "".join(memo.frame_digest(f) for f in (cohort.patients, cohort.assessments, cohort.analysis))
    context += repr(cohort.options) + repr(sorted(cohort.sha256.items()))
    return memo.stored_memo("headline", context, lambda key: isinstance(key, tuple) and bool(key)
                            and key[0] in STORED_PARTS, folder=folder)


def _frozen(p: dict, keys) -> tuple:
    return tuple((k, repr(p.get(k))) for k in keys)


def headline(cohort: cohort_mod.Cohort, params: dict[str, dict], cache: dict | None = None) -> dict[str, tuple]:
    """The headline results ``{dotted key: (value, printed text)}`` under one parameter set.

    Parameters
    ----------
    cohort : Cohort
        The validated cohort (its analysis data set is derived again when ``params["common"]``
        asks for other derivation options).
    params : dict
        ``{section: {parameter: value}}`` with at least ``common``, ``02-response``,
        ``03-survival`` and ``04-subgroups``.
    cache : dict, optional
        Shared across calls (a multiverse): each derivation and each part of the results (response,
        survival, subgroup table, Cox model) is computed once per distinct set of the options it
        depends on.
    """
    opts = derive_options(params["common"])
    c = rederive(cohort, opts, cache)
    a = c.analysis
    p2, p3, p4 = (section_params(params, s) for s in ("02-response", "03-survival", "04-subgroups"))
    out = {}
    out.update(memo.memoised(cache, ("response", opts, _frozen(p2, p2)), lambda: _response(a, p2)))
    out.update(memo.memoised(cache, ("survival", opts, _frozen(p3, p3)), lambda: _survival(c, a, p3)))
    a4 = exclude_early_deaths(a, p4.get("exclude_deaths_within", 0))
    sub_keys = ("conf_level", "median_ci", "p_adjust", "exclude_deaths_within")
    sub, sub_numbers = memo.memoised(cache, ("subgroups", opts, _frozen(p4, sub_keys)), lambda: _subgroup_table(c, a4, p4))
    out.update(sub_numbers)
    out.update(memo.memoised(cache, ("cox", opts, _frozen(p4, p4)), lambda: _cox(a4, sub, p4)))
    return out


def check_against_sections(numbers: dict[str, tuple], reproduced: dict) -> list[str]:
    """Headline keys whose value differs from the sections' own ``numbers.yaml`` (flat mapping).

    The base headline computed in-process must equal what the notebooks wrote; a defined value the
    sections did not write counts as a difference. An undefined value (NaN in memory, ``null`` in
    ``numbers.yaml``, or not written) equals an undefined one (:func:`~analysis.sensitivity.compare.same_value`).

    >>> check_against_sections({"a": (float("nan"), "NR"), "b": (1.0, "1.0"), "c": (2.0, "2.0")},
    ...                        {"a": None, "b": 1.0})
    ['c']
    """
    return sorted(k for k, (v, _) in numbers.items()
                  if not undefined(v) and (k not in reproduced or not same_value(v, reproduced[k])))
