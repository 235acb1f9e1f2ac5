"""One-call summaries of the report's endpoints, and their numbers as the report prints them.

Compute (:func:`summarise_endpoint`) and format (:func:`endpoint_numbers`) are
separate: the summary holds raw numbers; the numbers mapping pairs each raw
value with its printed text (``{key: (value, text)}``) for
:meth:`analysis.report.results.Results.numbers`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.report import fmt
from analysis.stats import km
from analysis.stats.control import SurvControl


@dataclass(frozen=True)
class EndpointSummary:
    """Kaplan–Meier summary of one time-to-event endpoint."""

    n: int
    events: int
    median: km.Median
    rates: dict  # landmark month -> km.Rate
    fit: km.KMFit | None

    @property
    def events_pct(self) -> float:
        return 100.0 * self.events / self.n if self.n else float("nan")


def summarise_endpoint(time, event, landmarks=(), ctrl: SurvControl = SurvControl()) -> EndpointSummary:
    """KM fit, median with CI (``ctrl.median_ci``) and landmark rates (``ctrl.rate_ci``).

    Without any patient (e.g. duration of response in a cohort without responders) the summary has
    n = 0, no fit (``fit=None``) and NaN estimates, said in words by the text layer.
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    if t.size == 0:
        nan = float("nan")
        return EndpointSummary(n=0, events=0, median=km.Median(nan, nan, nan, ctrl.median_ci, ctrl.conf_level),
                               rates={float(m): km.Rate(float(m), nan, nan, nan, 0, ctrl.rate_ci, ctrl.conf_level,
                                                        beyond_followup=True) for m in landmarks}, fit=None)
    e = e.astype(int)
    fit = km.kaplan_meier(t, e, conf_level=ctrl.conf_level, conf_type=ctrl.rate_ci)
    med = km.median(fit, ctrl)
    rates = {float(m): km.survival_at(fit, float(m), conf_type=ctrl.rate_ci, conf_level=ctrl.conf_level)
             for m in landmarks}
    return EndpointSummary(n=len(t), events=int(e.sum()), median=med, rates=rates, fit=fit)


def _m(x: float) -> str:
    return f"{x:g}"


def endpoint_numbers(s: EndpointSummary, ci_decimals: int = 2) -> dict[str, tuple]:
    """``{key: (value, text)}`` for n, events, median and CI, and each landmark rate (percent)."""
    out = {
        "n": (s.n, str(s.n)),
        "events": (s.events, str(s.events)),
        "events_pct": (s.events_pct, fmt.percent(s.events_pct)),
        "median": (s.median.estimate, fmt.estimate_in_ci(s.median.estimate, s.median.lower, s.median.upper, 1,
                                                         ci_decimals)),
        "lower": (s.median.lower, fmt.num(s.median.lower, ci_decimals)),
        "upper": (s.median.upper, fmt.num(s.median.upper, ci_decimals)),
        "ci": (None, ci_text(s.median.lower, s.median.upper, ci_decimals)),
        "landmarks_text": (None, landmark_sentence(s)),
    }
    for m, r in s.rates.items():
        k = f"rate_{_m(m)}"
        if not np.isfinite(r.estimate):  # landmark beyond the last follow-up: said in words, never "nan"
            out[f"{k}.estimate"] = (None, "not estimable")
            out[f"{k}.lower"] = (None, "–")
            out[f"{k}.upper"] = (None, "–")
            out[f"{k}.text"] = (None, "not estimable (beyond the last follow-up)")
            continue
        out[f"{k}.text"] = (None, f"{fmt.percent(100 * r.estimate)}% (95% CI {ci_text(100 * r.lower, 100 * r.upper, 1)}%)")
        out[f"{k}.estimate"] = (100 * r.estimate, fmt.percent(100 * r.estimate))
        out[f"{k}.lower"] = (100 * r.lower, fmt.percent(100 * r.lower))
        out[f"{k}.upper"] = (100 * r.upper, fmt.percent(100 * r.upper))
    return out


def landmark_sentence(s: EndpointSummary) -> str:
    """The landmark rates as running text: "30.9% (95% CI 19.8–42.7%) at 12 months and … at 24 months"."""
    parts = []
    for m, r in s.rates.items():
        ci = ci_text(100 * r.lower, 100 * r.upper, 1)
        rate = ((f"{fmt.percent(100 * r.estimate)}% (95% CI {ci}%)" if ci != "not estimable" else
                 f"{fmt.percent(100 * r.estimate)}% (CI not estimable: no event before it)")
                if np.isfinite(r.estimate) else "not estimable (beyond the last follow-up)")
        parts.append(f"{rate} at {_m(m)} months")
    if not parts:
        return "not computed (no landmark times given)"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def median_ci_note(method: str) -> str:
    """Where a median-CI method comes from, for the Methods section."""
    if method == "spss":
        return ("the interval the paper's software (SPSS) reports (the Greenwood standard error divided by the slope "
                "of the Kaplan–Meier curve between its 0.45 and 0.55 quantiles, a finite difference); the "
                "Brookmeyer–Crowley intervals that R and Stata report are a parameter")
    return ("the Brookmeyer–Crowley interval as R's survfit reports it (a sensitivity analysis: the paper's SPSS "
            "symmetric interval is the default)")


def ci_text(lower, upper, digits: int = 2) -> str:
    """An interval for running text: "3.87–7.33", "7.0–NR", or "not estimable" when neither bound exists."""
    if not (np.isfinite(lower) or np.isfinite(upper)) and not (np.isinf(lower) or np.isinf(upper)):
        return "not estimable"
    return fmt.ci(lower, upper, digits)


def summary_row(name: str, s: EndpointSummary, ci_decimals: int = 2) -> dict:
    """One display row of the survival summary table."""
    row = {"Endpoint": name, "Patients": str(s.n), "Events, n (%)": f"{s.events} ({fmt.percent(s.events_pct)})",
           "Median, months (95% CI)": f"{fmt.estimate_in_ci(s.median.estimate, s.median.lower, s.median.upper, 1, ci_decimals)} "
                                      f"({fmt.ci(s.median.lower, s.median.upper, ci_decimals)})"}
    rates = [f"{_m(m)} mo: " + (f"{fmt.percent(100 * r.estimate)}% ({fmt.ci(100 * r.lower, 100 * r.upper, 1)})"
                                if np.isfinite(r.estimate) else "not estimable (beyond follow-up)")
             for m, r in s.rates.items()]
    row["Landmark rates (95% CI)"] = "; ".join(rates)
    return row


def summary_data(name: str, s: EndpointSummary) -> list[dict]:
    """Machine-readable rows (one per statistic) for the CSV behind the summary table."""
    rows = [dict(endpoint=name, statistic="median", time=np.nan, estimate=s.median.estimate,
                 lower=s.median.lower, upper=s.median.upper, n=s.n, events=s.events)]
    for m, r in s.rates.items():
        rows.append(dict(endpoint=name, statistic="survival", time=m, estimate=r.estimate, lower=r.lower,
                         upper=r.upper, n=s.n, events=s.events))
    return rows


def summary_tables(summaries: dict[str, EndpointSummary], ci_decimals: int = 2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(data, display) frames of the survival summary table."""
    data = pd.DataFrame([r for name, s in summaries.items() for r in summary_data(name, s)])
    disp = pd.DataFrame([summary_row(name, s, ci_decimals) for name, s in summaries.items()])
    return data, disp
