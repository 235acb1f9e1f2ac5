"""Scenario results set side by side: the data frames and display frames of the sensitivity section.

Compute (:func:`evaluate`), compare (:func:`comparisons`) and display (:func:`scenario_table`,
:func:`scenario_list`, :func:`conclusion_table`, :func:`estimate_table`) are separate. A cell of
the display table is marked (bold) when any number in it prints differently from the base.
"""
from __future__ import annotations

import re

import pandas as pd

from analysis.report import fmt
from analysis.sensitivity.compare import compare_numbers
from analysis.sensitivity.headline import headline
from analysis.sensitivity.scenarios import Scenario, describe_value, overlay  # noqa: F401  (re-exported)

__all__ = ["BASE", "describe_value", "evaluate", "comparisons", "SCENARIO_COLUMNS", "scenario_table", "scenario_list",
           "scenario_conclusions", "conclusion_numbers", "conclusion_table", "estimate_table"]

#: Row name of the base parameters.
BASE = "base"

#: Columns of the scenario table: title and template of headline keys (``{key}`` = printed text).
SCENARIO_COLUMNS = (
    ("ORR, % (95% CI)", "{response.orr.pct} ({response.orr.ci})"),
    ("Median PFS, months (95% CI)", "{survival.pfs.median} ({survival.pfs.ci})"),
    ("Median OS, months (95% CI)", "{survival.os.median} ({survival.os.ci})"),
    ("P, PFS by dose (trend)", "{survival.pfs_by_dose.p} ({survival.pfs_by_dose.trend_p})"),
    ("ECOG (Cox): HR (95% CI), P", "{subgroups.cox.ecog_group.hr} ({subgroups.cox.ecog_group.ci}), "
                                      "{subgroups.cox.ecog_group.p}"),
)
_FIELD = re.compile(r"\{([^{}]+)\}")


def evaluate(cohort, base: dict, scenarios: list[Scenario], cache: dict | None = None) -> dict[str, dict]:
    """Headline results of the base and of each scenario: ``{name: {key: (value, text)}}``."""
    cache = {} if cache is None else cache
    out = {BASE: headline(cohort, base, cache)}
    for s in scenarios:
        out[s.name] = headline(cohort, overlay(base, s.changes), cache)
    return out


def comparisons(results: dict[str, dict]) -> dict[str, pd.DataFrame]:
    """Each scenario's headline results against the base (:func:`~analysis.sensitivity.compare.compare_numbers`)."""
    return {name: compare_numbers(results[BASE], nums) for name, nums in results.items() if name != BASE}


def _fill(template: str, nums: dict) -> tuple[str, list[str]]:
    keys = _FIELD.findall(template)
    if any(k not in nums for k in keys):
        return fmt.MISSING, keys
    return _FIELD.sub(lambda m: _text(nums[m.group(1)][1]), template), keys


def _text(text) -> str:
    """A printed number, or the dash for a number without a printed text (never "None")."""
    return fmt.MISSING if text is None else str(text)


def scenario_table(results: dict[str, dict], comps: dict[str, pd.DataFrame], columns=SCENARIO_COLUMNS
                   ) -> pd.DataFrame:
    """Display frame: one row per scenario (the base first), the columns' cells, and the count of
    headline numbers that print differently from the base. A changed cell is bold; "–" marks a
    number the scenario does not produce (e.g. a Cox term outside its model)."""
    total = sum(1 for _, text in results[BASE].values() if text is not None)
    rows = []
    for name, nums in results.items():
        row = {"Scenario": name if name != BASE else "**base** (the paper's methods)"}
        changed = set() if name == BASE else set(comps[name].key[comps[name].status != "same"])
        for title, template in columns:
            cell, keys = _fill(template, nums)
            row[title] = f"**{cell}**" if changed & set(keys) else cell
        row[f"Changed (of {total})"] = fmt.MISSING if name == BASE else str(len(changed))
        rows.append(row)
    return pd.DataFrame(rows)


def scenario_list(scenarios: list[Scenario]) -> pd.DataFrame:
    """Display frame: scenario, what it sets (``section: parameter = value``) and its rationale."""
    def setting(s: Scenario) -> str:
        parts = []
        for section, kv in s.changes.items():
            for k, v in kv.items():
                shown = describe_value(k, v)
                parts.append(f"`{k}` = {shown}" + ("" if section == "common" else f" ({section})"))
        return "; ".join(parts)

    rows = [{"Scenario": s.name, "Changes": setting(s), "Rationale": s.rationale} for s in scenarios]
    if not rows:  # e.g. a scenario's own report: the table still exists (the text refers to it)
        rows = [{"Scenario": fmt.MISSING, "Changes": "none", "Rationale": "no named scenario in this report"}]
    return pd.DataFrame(rows, columns=["Scenario", "Changes", "Rationale"])


def scenario_conclusions(results: dict[str, dict], conclusions) -> pd.DataFrame:
    """For each conclusion: whether it holds with the base, and the scenarios where it does not
    (or cannot be assessed). Columns: claim, base (True/False/None), n, k (scenarios where it holds),
    fails (names), missing (names)."""
    rows = []
    for c in conclusions:
        verdict = {name: c.test(nums.get(c.key, (None, None))[0]) for name, nums in results.items()}
        others = {n: v for n, v in verdict.items() if n != BASE}
        rows.append({"claim": c.claim, "base": verdict[BASE], "n": len(others),
                     "k": sum(v is True for v in others.values()),
                     "fails": [n for n, v in others.items() if v is False],
                     "missing": [n for n, v in others.items() if v is None]})
    return pd.DataFrame(rows)


def _share(k: int, n: int) -> str:
    return f"{k} of {n} ({fmt.percent(100 * k / n, 0)}%)" if n else "–"


def conclusion_table(shares: pd.DataFrame, scen: pd.DataFrame) -> pd.DataFrame:
    """Display frame: each conclusion, in how many multiverse specifications and scenarios it holds."""
    rows = []
    for m, s in zip(shares.itertuples(index=False), scen.itertuples(index=False)):
        rows.append({"Conclusion": m.claim,
                     "Base": {True: "holds", False: "does not hold", None: "not assessable"}[s.base],
                     "Scenarios": _share(s.k, s.n - len(s.missing)),
                     "Specifications": _share(m.k, m.n)})
    return pd.DataFrame(rows)


def conclusion_numbers(shares: pd.DataFrame, scen: pd.DataFrame) -> dict[str, tuple]:
    """``{key: (value, text)}`` per conclusion (``c1``, ``c2`` … in the order given): the share of the
    multiverse's specifications where it holds, their counts, and the scenarios' counts."""
    out = {}
    for i, (m, s) in enumerate(zip(shares.itertuples(index=False), scen.itertuples(index=False)), start=1):
        share = 100 * m.share if m.n else None
        out[f"c{i}.share"] = (share, fmt.percent(share, 0) if share is not None else fmt.MISSING)
        out[f"c{i}.k"] = (m.k, str(m.k))
        out[f"c{i}.n"] = (m.n, str(m.n))
        out[f"c{i}.base"] = (s.base, {True: "holds", False: "does not hold", None: "not assessable"}[s.base])
        out[f"c{i}.scenarios_k"] = (s.k, str(s.k))
    return out


def estimate_table(summary: pd.DataFrame, base: dict) -> pd.DataFrame:
    """Display frame of :func:`analysis.sensitivity.multiverse.estimate_summary` with the base value."""
    rows = []
    for r in summary.itertuples(index=False):
        b = base.get(r.key, (None, fmt.MISSING))[1]
        digits = 3 if r.key.endswith(".p") else (2 if ".cox." in r.key else 1)
        rows.append({"Estimate": r.label, "Base": b, "Specifications": str(r.n),
                     "Range over the specifications": fmt.ci(r.min, r.max, digits) if r.n else fmt.MISSING,
                     "Median": fmt.num(r.median, digits)})
    return pd.DataFrame(rows)
