"""Alt text of the report's figures, built from the results they show.

Each function takes raw results and returns one or two sentences saying what the figure shows
("PFS falls to 50% at 5.6 months (95% CI 3.87–7.33); 49 of 68 patients progressed or died"), never
the chart type alone, so that a reader who cannot see the figure learns what a sighted reader does.
Pure functions: no file, no figure; odd results (no patient, no event, a median not reached, one
group) give true sentences too (tests/report/test_alt.py).

Examples
--------
>>> from analysis.stats.km import Median
>>> km_curve("PFS", 68, 49, Median(5.6, 3.8712, 7.3288, "spss"), 31.2)
'PFS falls to 50% at 5.6 months (95% CI 3.87–7.33); 49 of the 68 patients progressed or died.'
>>> km_curve("OS", 5, 0, Median(float("inf"), float("nan"), float("nan"), "spss"), 20.1, event="died")
'No patient died: OS stays at 100% over the 20.1 months of follow-up (median not reached).'
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from analysis.report import fmt
from analysis.report.text import _finite, join  # one wording of lists and one test of a finite number

__all__ = ["km_curve", "km_groups", "km_figure", "km_panels", "waterfall", "flow", "forest"]


def _ci(m) -> str:
    """ "(95% CI 3.87–7.33)" or "" when no bound is estimable."""
    if not (_finite(m.lower) or _finite(m.upper)) and not (
            (m.lower is not None and math.isinf(float(m.lower))) or (m.upper is not None and math.isinf(float(m.upper)))):
        return ""
    return f" ({100 * m.conf_level:g}% CI {fmt.ci(m.lower, m.upper, 2)})"


def _patients(k: int, noun: str = "patient") -> str:
    return f"{k} {noun}" + ("" if k == 1 else "s")


def km_curve(what: str, n: int, events: int, median, follow_up: float, *, event: str = "progressed or died",
             noun: str = "patient", drawn_until: float | None = None, min_at_risk: int | None = None) -> str:
    """One Kaplan–Meier curve: where it crosses 50% (the median and its CI) and how many had the event.

    ``what``: the endpoint's short name ("PFS"); ``median``: a :class:`analysis.stats.km.Median`;
    ``follow_up``: the longest time in the data (months); ``event``: the event as a verb phrase in
    the past ("died"); ``noun``: who is counted ("responder"); ``drawn_until``, ``min_at_risk``: where
    the drawn curve stops because fewer than ``min_at_risk`` remain at risk (said when it stops
    before ``follow_up``).

    >>> from analysis.stats.km import Median
    >>> km_curve("OS", 68, 60, Median(float("inf"), 9.0, float("inf"), "log"), 31.0, event="died")
    'OS stays above 50% over the 31.0 months of follow-up (median not reached; 95% CI 9.00–NR); 60 of the 68 patients died.'
    >>> km_curve("DoR", 0, 0, Median(float("nan"), float("nan"), float("nan"), "spss"), float("nan"), noun="responder")
    'No responder: no DoR curve.'
    """
    if n == 0:
        return f"No {noun}: no {what} curve."
    fu = f"the {fmt.months(follow_up)} months of follow-up" if _finite(follow_up) else "follow-up"
    ci = _ci(median)
    if events == 0:
        inner = what if what[:2].isupper() else what[:1].lower() + what[1:]  # mid-sentence: "duration of response"
        out = f"No {noun} {event}: {inner} stays at 100% over {fu} (median not reached)."
    elif median.estimate is not None and not _finite(median.estimate) and math.isinf(float(median.estimate)):
        inner = ci.strip()[1:-1] if ci else ""
        out = (f"{what} stays above 50% over {fu} (median not reached{'; ' + inner if inner else ''}); "
               f"{events} of the {_patients(n, noun)} {event}.")
    elif not _finite(median.estimate):
        out = f"{what}: median not estimable; {events} of the {_patients(n, noun)} {event}."
    else:
        est = fmt.estimate_in_ci(median.estimate, median.lower, median.upper, 1, 2)
        out = f"{what} falls to 50% at {est} months{ci}; {events} of the {_patients(n, noun)} {event}."
    if (drawn_until is not None and min_at_risk and _finite(drawn_until) and _finite(follow_up)
            and drawn_until <= follow_up - 1):  # said when the drawn curve stops a month or more early
        out += (f" The curve is drawn to {fmt.months(drawn_until)} months, while at least "
                f"{_patients(int(min_at_risk), noun)} remained at risk.")
    return out


def km_groups(what: str, groups: Sequence[tuple[str, int, int, object]], p=None, *, trend_p=None,
              event: str = "progressed or died") -> str:
    """Several Kaplan–Meier curves: each group's median, n and events, and the test between them.

    ``groups``: ``[(label, n, events, Median)]`` in the figure's order.

    >>> from analysis.stats.km import Median
    >>> km_groups("PFS", [("8 mg", 17, 15, Median(3.0, 1.52, 4.48, "spss")),
    ...                   ("10 mg", 40, 28, Median(6.1, 3.71, 8.49, "spss"))], 0.1234)
    'PFS by group: median 3.0 months (95% CI 1.52–4.48) with 8 mg (15 of 17 progressed or died) and 6.1 months (95% CI 3.71–8.49) with 10 mg (28 of 40); log-rank p = 0.123.'
    """
    parts = []
    for i, (label, n, events, m) in enumerate(groups):
        if not _finite(m.estimate):
            med = "not reached" if (m.estimate is not None and math.isinf(float(m.estimate))) else "not estimable"
        else:
            med = f"{fmt.estimate_in_ci(m.estimate, m.lower, m.upper, 1, 2)} months{_ci(m)}"
        counts = f"{events} of {n} {event}" if i == 0 else f"{events} of {n}"
        parts.append(f"{med} with {label} ({counts})")
    out = f"{what} by group: median " + join(parts)
    tests = []
    if _finite(p):
        tests.append(f"log-rank p {_p(p)}")
    if _finite(trend_p):
        tests.append(f"test for trend p {_p(trend_p)}")
    return out + ("; " + ", ".join(tests) if tests else "") + "."


def _p(p) -> str:
    s = fmt.pvalue(p)
    return s.replace("<", "< ") if s.startswith("<") else f"= {s}"


def km_figure(panels: Sequence[tuple[str, str]], omitted: Sequence[str] = ()) -> str:
    """The multi-panel Kaplan–Meier figure: each panel's letter and alt text, then what is left out.

    >>> km_figure([("A", "PFS falls to 50% at 5.6 months."), ("B", "OS falls to 50% at 13.2 months.")],
    ...           ["no duration-of-response panel: no patient responded"])
    'Panel A: PFS falls to 50% at 5.6 months. Panel B: OS falls to 50% at 13.2 months. Not shown: no duration-of-response panel: no patient responded.'
    """
    out = " ".join(f"Panel {letter}: {text}" for letter, text in panels)
    if omitted:
        out += " Not shown: " + "; ".join(omitted) + "."
    return out


def waterfall(best_pct: pd.Series | Sequence[float]) -> str:
    """The waterfall plot: how many patients' tumours shrank, by at least 30%, grew by 20% or more, and
    the deepest shrinkage (a number only: no patient is described).

    >>> waterfall([-85.0, -40, -10, 5, 30, float("nan")])
    'Of the 5 patients with a measured change in tumour size, 3 had shrinking target lesions, 2 by at least 30% (the partial-response threshold); 1 grew by 20% or more. The deepest shrinkage was 85.0%.'
    >>> waterfall([float("nan")])
    'No patient had a measured change in tumour size.'
    """
    x = pd.Series(best_pct, dtype=float).dropna()
    if x.empty:
        return "No patient had a measured change in tumour size."
    n = len(x)
    shrink, pr, grow = int((x < 0).sum()), int((x <= -30).sum()), int((x >= 20).sum())
    out = (f"Of the {_patients(n)} with a measured change in tumour size, {shrink} had shrinking target lesions, "
           f"{pr} by at least 30% (the partial-response threshold); {grow} grew by 20% or more.")
    if shrink:
        out += f" The deepest shrinkage was {fmt.percent(-float(x.min()))}%."
    return out


def flow(n: int, n_eval: int, n_resp: int, pfs_events: int, deaths: int, on_treatment: int,
         screened: int | None = None, excluded: int | None = None) -> str:
    """The patient-flow diagram in words, top to bottom.

    >>> flow(68, 60, 22, 49, 44, 3)
    'Of the 68 patients treated, 60 were evaluable for tumour response and 22 had a partial or complete response (the duration-of-response analysis); 8 were not evaluable. At the data cutoff 49 had progressed or died, 44 had died and 3 were still on treatment.'
    """
    head = (f"Of {screened} patients screened, {excluded} were excluded. " if screened is not None else "")
    return (head + f"Of the {_patients(n)} treated, {n_eval} were evaluable for tumour response and {n_resp} had a "
            f"partial or complete response (the duration-of-response analysis); {n - n_eval} "
            f"{'was' if n - n_eval == 1 else 'were'} not evaluable. At the data cutoff {pfs_events} had progressed "
            f"or died, {deaths} had died and {on_treatment} {'was' if on_treatment == 1 else 'were'} still on "
            "treatment.")


def forest(summary: pd.DataFrame, names: Mapping[str, str]) -> str:
    """The forest plot: each term's hazard ratio for death with its CI, and which intervals exclude 1.

    ``summary``: the Cox summary (term, hr, lower, upper); ``names``: term → how the row is labelled.

    >>> s = pd.DataFrame({"term": ["a", "b"], "hr": [0.5, 1.2], "lower": [0.3, 0.8], "upper": [0.9, 1.8]})
    >>> forest(s, {"a": "ECOG 0–1 vs 2", "b": "dose, per 1 mg"})
    'Hazard ratios for death (95% CI): ECOG 0–1 vs 2, 0.50 (0.30–0.90); dose, per 1 mg, 1.20 (0.80–1.80). The interval excludes 1 (no difference) for ECOG 0–1 vs 2 only.'
    """
    if summary is None or len(summary) == 0:
        return "No Cox model was fitted."
    rows, excl = [], []
    for r in summary.itertuples(index=False):
        name = names.get(r.term, r.term)
        rows.append(f"{name}, {fmt.hr_ci(r.hr, r.lower, r.upper)}")
        if _finite(r.lower) and _finite(r.upper) and (r.lower > 1 or r.upper < 1):
            excl.append(name)
    out = "Hazard ratios for death (95% CI): " + "; ".join(rows) + "."
    if not excl:
        out += " Every interval includes 1 (no difference)."
    elif len(excl) == len(rows):
        out += " Every interval excludes 1."
    else:
        out += f" The interval excludes 1 (no difference) for {join(excl)} only."
    return out


def finite_max(values) -> float:
    """The largest finite value (NaN when there is none): the follow-up a curve covers."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.max()) if v.size else math.nan


def km_panels(panels, min_at_risk: int | None = None) -> dict:
    """``{label: (letter, alt text)}`` of each panel of :func:`analysis.report.plots.km_panels`,
    computed from the panel's own data (time, event) and medians."""
    from analysis.report.plots import km_draw_until

    out = {}
    letters = [*panels.letters.values(), *[""] * len(panels.alone)]
    for (label, p), letter in zip({**panels.panels, **panels.alone}.items(), letters):
        if len(p.groups) == 1:
            (name, (t, e)), = p.groups.items()
            e = np.asarray(e, dtype=int)
            until = km_draw_until(t, min_at_risk) if min_at_risk else None
            text = km_curve(p.what or p.title, len(e), int(e.sum()), p.medians[name], finite_max(t), event=p.event,
                            noun=p.noun, drawn_until=until, min_at_risk=min_at_risk)
        else:
            rows = [(name, len(np.asarray(e)), int(np.asarray(e, dtype=int).sum()), p.medians[name])
                    for name, (t, e) in p.groups.items()]
            text = km_groups(p.what or p.title, rows, p.p, trend_p=p.trend_p, event=p.event)
            text = text.replace(" by group:", " by " + p.title.split(" by ", 1)[1] + ":", 1) if " by " in p.title else text
        out[label] = (letter, text)
    return out
