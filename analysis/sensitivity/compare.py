"""Compare the numbers of two analyses: key, base value, other value, changed at printed precision.

Works on in-process results (``{key: (value, printed text)}``, as
:func:`analysis.sensitivity.headline.headline` returns) and on results folders (each section's
``numbers.yaml`` for the values and ``variables.yaml`` for the printed texts). A number has
*changed* when its printed text differs (a difference below the printed precision is not a
change); a number without a printed text has changed when its value differs. Run-specific values
(:data:`RUN_SPECIFIC`: the git commit) are left out.

Command line (a forker can point it at any two output folders, or several)::

    python -m analysis.sensitivity.compare BASE_OUT OTHER_OUT [MORE_OUT ...] [--html F] [--csv F] [--all]

Each argument is an output root (holding ``results/``) or a ``results`` folder itself. The summary
(:func:`summarise`) is what a researcher reads first: the paper's conclusions (holds / does not
hold per folder, and which scenarios flip each), then the headline estimates with readable labels,
one row per estimate with its interval in one cell, grouped by section in the report's order,
changed cells marked, and a note wherever a scenario changes what an estimate means (a Cox term's
coding, the population, a definition, the unit: :func:`meaning_notes`, from the folders'
parameters). ``--html`` writes it as a page, the terminal gets it at its width; ``--csv`` and
``--all`` give every number, key by key.
"""
from __future__ import annotations

import html
import math
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis import fastyaml
from analysis.report import fmt
from analysis.report.results import flatten
from analysis.sensitivity.values import same_value, undefined  # noqa: F401  (re-exported)

__all__ = ["RUN_SPECIFIC", "undefined", "same_value", "read_results", "compare_numbers", "comparison_frame",
           "comparison_csv", "plain", "Estimate", "estimates", "estimate_frame", "conclusion_frame", "meaning_notes",
           "sets_text",
           "Summary", "summarise", "summary_html", "summary_text", "long_text", "main"]

#: Keys whose value belongs to the run, not to the analysis.
RUN_SPECIFIC = ("cohort.git_commit",)
COLUMNS = ["key", "base_value", "value", "base_text", "text", "status"]


def results_folder(path: str | Path) -> Path:
    """An output root's ``results/`` folder, or the folder itself when it holds sections."""
    p = Path(path)
    if (p / "results").is_dir():
        return p / "results"
    if p.is_dir() and any(p.glob("*/numbers.yaml")):
        return p
    raise FileNotFoundError(f"{p}: no results (expected {p}/results/<section>/numbers.yaml)")


def read_results(path: str | Path) -> dict[str, tuple]:
    """``{key: (value, printed text)}`` of every section of a results folder (or output root)."""
    root = results_folder(path)
    out: dict[str, tuple] = {}
    for f in sorted(root.glob("*/numbers.yaml")):
        values = flatten(fastyaml.load(f.read_text(encoding="utf-8")) or {})
        vf = f.with_name("variables.yaml")
        texts = flatten(fastyaml.load(vf.read_text(encoding="utf-8")) or {}) if vf.exists() else {}
        for k in sorted(set(values) | set(texts)):
            if k not in RUN_SPECIFIC:
                out[k] = (values.get(k), None if texts.get(k) is None else str(texts[k]))
    return out


def compare_numbers(base: dict[str, tuple], other: dict[str, tuple]) -> pd.DataFrame:
    """One row per key of either: key, base and other value and text, and status.

    Status is ``same``, ``changed`` (printed text differs, or the value when there is no text),
    ``only in base`` or ``only in other``. Rows are in key order.

    >>> compare_numbers({"a": (1.234, "1.2"), "b": (2.0, "2.0")}, {"a": (1.24, "1.2"), "b": (2.1, "2.1")}).status.tolist()
    ['same', 'changed']
    """
    rows = []
    for key in sorted(set(base) | set(other)):
        bv, bt = base.get(key, (None, None))
        ov, ot = other.get(key, (None, None))
        if key not in other:
            status = "only in base"
        elif key not in base:
            status = "only in other"
        elif bt is not None or ot is not None:
            status = "same" if bt == ot else "changed"
        else:
            status = "same" if same_value(bv, ov) else "changed"
        rows.append({"key": key, "base_value": bv, "value": ov, "base_text": bt, "text": ot, "status": status})
    return pd.DataFrame(rows, columns=COLUMNS)


def comparison_frame(comparisons: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Several comparisons in one long frame: a ``scenario`` column, then :data:`COLUMNS`."""
    frames = [c.assign(scenario=name)[["scenario", *COLUMNS]] for name, c in comparisons.items()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["scenario", *COLUMNS])


def comparison_csv(comparisons: dict[str, pd.DataFrame]) -> str:
    """Long CSV of several comparisons (:func:`comparison_frame`)."""
    return comparison_frame(comparisons).to_csv(index=False, lineterminator="\n")


# ------------------------------------------------------------------------ the summary a reader reads
#: Sections in the report's order, with the title the summary gives them.
SECTION_TITLES = (("response", "Response"), ("survival", "Survival"), ("subgroups", "Subgroups and Cox model"),
                  ("safety", "Safety"))
_MARKUP = re.compile(r"(\{\{<[^>]*>\}\}|\[?@(tbl|fig|sec|eq)-[A-Za-z0-9_-]+\]?|`|\*\*|__|<[^>]+>)")


def plain(text) -> str:
    """Text without Markdown or cross-reference syntax (for a page a researcher reads).

    >>> plain("see @tbl-paper-audit: `ties` is **efron**")
    'see : ties is efron'
    """
    if text is None:
        return fmt.MISSING
    return " ".join(_MARKUP.sub("", str(text)).split())


@dataclass(frozen=True)
class Estimate:
    """One row of the summary: a label a reader knows and the template of its cell (``{key}``: printed text)."""

    section: str
    label: str
    template: str

    def keys(self) -> list[str]:
        return _FIELD.findall(self.template)

    def cell(self, numbers: dict[str, tuple]) -> str | None:
        """The cell's text from a results folder's numbers, or None when its main number is absent."""
        keys = self.keys()
        if keys[0] not in numbers:
            return None
        return plain(_FIELD.sub(lambda m: str(numbers.get(m.group(1), (None, fmt.MISSING))[1] or fmt.MISSING),
                                self.template))


_FIELD = re.compile(r"\{([^{}]+)\}")


def _variable_labels() -> dict[str, str]:
    from analysis.data.cohort import baseline_variables

    return {v.name: v.label for v in baseline_variables()}


def _rate_rows(endpoint: str, name: str, keys) -> list[Estimate]:
    months = sorted({float(m.group(1)) for k in keys
                     for m in [re.match(rf"survival\.{endpoint}\.rate_([\d.]+)\.estimate$", k)] if m})
    return [Estimate("survival", f"{name} at {m:g} months, % (95% CI)",
                     f"{{survival.{endpoint}.rate_{m:g}.estimate}} ({{survival.{endpoint}.rate_{m:g}.lower}}–"
                     f"{{survival.{endpoint}.rate_{m:g}.upper}})") for m in months]


def estimates(keys) -> list[Estimate]:
    """The headline estimates present in any of the folders (``keys``), grouped by section in the
    report's order, each with a label a reader knows and its interval in the same cell."""
    keys = set(keys)
    labels = _variable_labels()
    rows = [Estimate("response", "ORR, % (95% CI)", "{response.orr.pct} ({response.orr.ci})"),
            Estimate("response", "DCR, % (95% CI)", "{response.dcr.pct} ({response.dcr.ci})"),
            Estimate("response", "Patients in the ORR and DCR denominators", "{response.orr.n}"),
            Estimate("survival", "Median DoR, months (95% CI)", "{survival.dor.median} ({survival.dor.ci})"),
            *_rate_rows("dor", "DoR", keys),
            Estimate("survival", "Median PFS, months (95% CI)", "{survival.pfs.median} ({survival.pfs.ci})"),
            *_rate_rows("pfs", "PFS", keys),
            Estimate("survival", "Median OS, months (95% CI)", "{survival.os.median} ({survival.os.ci})"),
            *_rate_rows("os", "OS", keys),
            Estimate("survival", "Median follow-up, months (range)",
                     "{survival.followup.median} ({survival.followup.min}–{survival.followup.max})"),
            Estimate("survival", "PFS by anlotinib dose: log-rank P (trend P)",
                     "{survival.pfs_by_dose.p} ({survival.pfs_by_dose.trend_p})")]
    for var, label in labels.items():
        if f"subgroups.{var}.p" in keys:
            rows.append(Estimate("subgroups", f"OS by {label.lower() if label[1:2].islower() else label}: "
                                              "log-rank P", f"{{subgroups.{var}.p}}"))
    for var, label in labels.items():
        if f"subgroups.cox.{var}.hr" in keys:
            rows.append(Estimate("subgroups", f"HR for death, {label} (95% CI), P",
                                 f"{{subgroups.cox.{var}.hr}} ({{subgroups.cox.{var}.ci}}), P {{subgroups.cox.{var}.p}}"))
    rows.append(Estimate("subgroups", "Cox model: patients, deaths", "{subgroups.cox.n}, {subgroups.cox.events}"))
    rows += [Estimate("safety", "Any treatment-related AE, n (%)", "{safety.any.any_n} ({safety.any.any_pct})"),
             Estimate("safety", "Grade ≥3 treatment-related AE, n (%)",
                      "{safety.any.grade3plus_n} ({safety.any.grade3plus_pct})")]
    return [r for r in rows if r.keys()[0] in keys]


def estimate_frame(results: dict[str, dict[str, tuple]], base: str = "base") -> pd.DataFrame:
    """One row per estimate (section, label), one column per folder (the base first) holding the
    printed estimate with its interval; ``changed`` lists, per row, the folders whose cell differs
    from the base's."""
    keys = set().union(*(set(r) for r in results.values()))
    rows = []
    for e in estimates(keys):
        cells = {name: e.cell(nums) for name, nums in results.items()}
        b = cells[base]
        rows.append({"section": e.section, "estimate": e.label, **{n: (c if c is not None else fmt.MISSING)
                                                                     for n, c in cells.items()},
                     "changed": [n for n, c in cells.items() if n != base and c != b]})
    return pd.DataFrame(rows)


def conclusion_frame(results: dict[str, dict[str, tuple]], conclusions, base: str = "base") -> pd.DataFrame:
    """One row per conclusion of the paper, one column per folder (the base first): ``holds``,
    ``does not hold`` or ``not assessable``; ``flipped_by`` lists the folders whose verdict differs
    from the base's."""
    from analysis.sensitivity.multiverse import parse_conclusions

    words = {True: "holds", False: "does not hold", None: "not assessable"}
    rows = []
    for c in parse_conclusions(conclusions):
        verdicts = {name: words[c.test(nums.get(c.key, (None, None))[0])] for name, nums in results.items()}
        rows.append({"conclusion": c.claim, **verdicts,
                     "flipped_by": [n for n, v in verdicts.items() if n != base and v != verdicts[base]]})
    return pd.DataFrame(rows)


def _coding(var: str, coding) -> str:
    from analysis.data.cohort import baseline_variables
    from analysis.report.tables import NUMERIC_OF

    levels = {v.name: v.levels for v in baseline_variables()}.get(var, ())
    if coding == "numeric":
        return f"per {NUMERIC_OF[var][1]}" if var in NUMERIC_OF else "numeric"
    if coding is None:
        return "per step of " + " → ".join(lab for _, lab in levels) if levels else "an ordinal score"
    ref = dict(levels).get(coding, coding)
    others = [lab for k, lab in levels if k != coding]
    return f"{' / '.join(others)} vs {ref}" if others else f"vs {ref}"


def meaning_notes(base_params: dict[str, dict], params: dict[str, dict]) -> dict[str, list[str]]:
    """``{estimate label prefix: [note]}``: where a scenario's parameters change what an estimate
    means (the coding of a Cox term, the population, the definition or the unit), not only how it
    is computed. Keys are matched against the start of an estimate's label ("" matches every row).

    >>> base = {"common": {}, "04-subgroups": {"cox_covariates": {"ecog_group": "ecog_2"}}}
    >>> meaning_notes(base, {"common": {}, "04-subgroups": {"cox_covariates": {"ecog_group": "numeric"}}})
    {'HR for death, ECOG performance status': ['coding: 0–1 vs ≥2 became per ECOG point']}
    """
    labels = _variable_labels()
    b = lambda s, k: base_params.get(s, {}).get(k)  # noqa: E731
    o = lambda s, k: params.get(s, {}).get(k)  # noqa: E731
    notes: dict[str, list[str]] = {}

    def add(prefix, note):
        notes.setdefault(prefix, [])
        if note not in notes[prefix]:
            notes[prefix].append(note)

    bc, oc = b("04-subgroups", "cox_covariates") or {}, o("04-subgroups", "cox_covariates") or {}
    for var in sorted(set(bc) | set(oc), key=list(labels).index if set(bc) | set(oc) <= set(labels) else str):
        if bc.get(var, "absent") != oc.get(var, "absent"):
            was = _coding(var, bc[var]) if var in bc else "not in the model"
            now = _coding(var, oc[var]) if var in oc else "not in the model"
            add(f"HR for death, {labels.get(var, var)}", f"coding: {was} became {now}")
    if b("04-subgroups", "cox_selection") != o("04-subgroups", "cox_selection"):
        add("HR for death", f"model: covariates chosen by '{o('04-subgroups', 'cox_selection')}' instead of "
                            f"'{b('04-subgroups', 'cox_selection')}' (each HR adjusted for other terms)")
    if b("02-response", "exclude_not_evaluable") != o("02-response", "exclude_not_evaluable"):
        now = "evaluable patients only" if o("02-response", "exclude_not_evaluable") else "every patient"
        for row in ("ORR", "DCR", "Patients in the ORR"):
            add(row, f"population: the denominator is {now}")
    for sec, rows in (("03-survival", ("Median DoR", "DoR", "Median PFS", "PFS", "Median OS", "OS",
                                       "Median follow-up")), ("04-subgroups", ("OS by", "HR for death", "Cox model"))):
        if (b(sec, "exclude_deaths_within") or 0) != (o(sec, "exclude_deaths_within") or 0):
            for row in rows:
                add(row, f"population: patients who died in the first {o(sec, 'exclude_deaths_within'):g} months "
                         "left out (landmark analysis)")
    if b("common", "pfs_censor") != o("common", "pfs_censor"):
        for row in ("Median PFS", "PFS"):
            add(row, f"definition: PFS censored at {str(o('common', 'pfs_censor')).replace('_', ' ')} instead of "
                     f"{str(b('common', 'pfs_censor')).replace('_', ' ')}")
    if b("common", "sd_min_days") != o("common", "sd_min_days"):
        for row in ("DCR", "ORR"):
            add(row, f"definition: stable disease counts from day {o('common', 'sd_min_days')} "
                     f"(was day {b('common', 'sd_min_days')})")
    if b("common", "age_cut") != o("common", "age_cut"):
        for row in ("OS by age", f"HR for death, {labels.get('age_group', 'Age')}"):
            add(row, f"definition: age groups split at {o('common', 'age_cut')} instead of {b('common', 'age_cut')} "
                     "years")
    if b("common", "days_per_month") != o("common", "days_per_month"):
        add("", f"unit: months of {o('common', 'days_per_month'):g} days instead of {b('common', 'days_per_month'):g}")
    if b("03-survival", "followup_method") != o("03-survival", "followup_method"):
        now = {"reverse_km": "reverse Kaplan–Meier", "observed": "median of observed times"}
        add("Median follow-up", f"definition: {now.get(o('03-survival', 'followup_method'))} instead of "
                                f"{now.get(b('03-survival', 'followup_method'))}")
    return notes


def notes_for(label: str, notes: dict[str, list[str]]) -> list[str]:
    """The notes of one estimate (its label starts with a note's key; the unit note applies to months)."""
    out = []
    for prefix, ns in notes.items():
        if prefix == "":
            if "months" in label:
                out += ns
        elif label.startswith(prefix):
            out += [n for n in ns if n not in out]
    return out


@dataclass
class Summary:
    """What the comparison page and the terminal show: conclusions, estimates, notes, scenarios."""

    base: str
    conclusions: pd.DataFrame
    estimates: pd.DataFrame
    notes: dict[str, dict[str, list[str]]]      # scenario -> estimate label -> notes
    scenarios: dict[str, dict]                  # scenario -> {"rationale": ..., "sets": ...}

    @property
    def names(self) -> list[str]:
        return [c for c in self.estimates.columns if c not in ("section", "estimate", "changed")]


def summarise(results: dict[str, dict[str, tuple]], conclusions, base: str = "base",
              params: dict[str, dict] | None = None, rationales: dict[str, str] | None = None) -> Summary:
    """The summary of several results folders against the base (``results``' first entry or ``base``).

    ``params`` maps a folder's name to its parameter set (for the meaning notes and what each sets),
    the base's included; ``rationales`` maps a scenario to its one line.
    """
    from analysis.sensitivity.scenarios import describe_value

    params = params or {}
    est = estimate_frame(results, base)
    notes: dict[str, dict[str, list[str]]] = {}
    scen: dict[str, dict] = {}
    for name in results:
        if name == base:
            continue
        sets: dict[str, list[str]] = {}  # "parameter = value" -> the params files that set it
        if base in params and name in params:
            n = meaning_notes(params[base], params[name])
            notes[name] = {r: ns for r in est.estimate for ns in [notes_for(r, n)] if ns}
            for sec, kv in params[name].items():
                for k, v in kv.items():
                    bv = params[base].get(sec, {}).get(k)
                    if isinstance(v, dict) and isinstance(bv, dict):
                        for sk, sv in v.items():
                            if bv.get(sk) != sv:
                                sets.setdefault(f"{k}.{sk} = {describe_value(sk, sv)}", []).append(sec)
                    elif v != bv:
                        sets.setdefault(f"{k} = {describe_value(k, v)}", []).append(sec)
        scen[name] = {"rationale": plain((rationales or {}).get(name, "")), "sets": sets_text(sets)}
    return Summary(base, conclusion_frame(results, conclusions, base), est, notes, scen)


def sets_text(sets: dict[str, list[str]]) -> str:
    """What a scenario sets, each parameter and value once, with the params files when it is set in
    more than one (``median_ci`` is a parameter of 03-survival and of 04-subgroups).

    >>> sets_text({"median_ci = log": ["03-survival", "04-subgroups"], "ties = efron": ["04-subgroups"]})
    'median_ci = log (03-survival and 04-subgroups); ties = efron'
    """
    from analysis.report.text import join

    return "; ".join(f"{k} ({join(secs)})" if len(secs) > 1 else k for k, secs in sets.items())


_CSS = ("body{font-family:system-ui,sans-serif;margin:1.5em;line-height:1.35}h1{font-size:1.4em}"
        "h2{font-size:1.15em;margin-top:1.6em}table{border-collapse:collapse;font-size:.9em}"
        "td,th{border-bottom:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top;white-space:nowrap}"
        "th{background:#f4f4f4;position:sticky;top:0}td.first,th.first{position:sticky;left:0;background:#fff;"
        "white-space:normal;min-width:16em}th.first{background:#f4f4f4}.wrap{overflow-x:auto}"
        "td.changed{background:#fff3cd;font-weight:600}td.no{background:#f8d7da}td.yes{background:#d1e7dd}"
        "td.flips{font-style:italic}sup{color:#555}tr.group td{font-weight:700;background:#fafafa}"
        "p.note{color:#444;font-size:.9em}")


def summary_html(summary: Summary, title: str = "Sensitivity analyses: what changes under each scenario",
                 csv_name: str | None = "comparison.csv") -> str:
    """The comparison page: the conclusions, then the headline estimates, then the scenarios."""
    e = html.escape
    names = summary.names
    others = [n for n in names if n != summary.base]
    head = "".join(f"<th>{e(n)}</th>" for n in names)
    out = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{e(title)}</title>"
           f"<style>{_CSS}</style></head><body>", f"<h1>{e(title)}</h1>",
           f"<p>The base (the report's own parameters) against {len(others)} scenario"
           f"{'s' if len(others) != 1 else ''}, each a complete report. "
           + (f"Every number of every report, key by key: <a href='{e(csv_name)}'>{e(csv_name)}</a>." if csv_name
              else "") + "</p>"]
    # conclusions
    # (the scenarios that flip a conclusion beside the base's verdict, before the columns of every scenario)
    out.append("<h2>Conclusions of the paper</h2><div class='wrap'><table><tr><th class='first'>Conclusion</th>"
               f"<th>{e(summary.base)}</th><th>Flipped by</th>{''.join(f'<th>{e(n)}</th>' for n in others)}</tr>")
    css = {"holds": "yes", "does not hold": "no"}
    verdict = lambda r, n: f"<td class='{css.get(r[n], '')}'>{e(r[n])}</td>"  # noqa: E731
    for r in summary.conclusions.to_dict("records"):
        flipped = ", ".join(r["flipped_by"]) or "none"
        out.append(f"<tr><td class='first'>{e(plain(r['conclusion']))}</td>{verdict(r, summary.base)}"
                   f"<td class='flips'>{e(flipped)}</td>{''.join(verdict(r, n) for n in others)}</tr>")
    out.append("</table></div>")
    # estimates
    marks, legend = {}, []
    for name in others:
        for label, ns in summary.notes.get(name, {}).items():
            for n in ns:
                if (name, n) not in marks:
                    marks[(name, n)] = len(marks) + 1
                    legend.append((marks[(name, n)], name, n))
    out.append("<h2>Headline estimates</h2><p class='note'>Highlighted: prints differently from the base. "
               "A superscript number: the scenario changes what the estimate means (see the notes below). "
               f"{e(fmt.MISSING)}: not estimated in that report (e.g. a term its Cox model does not include).</p>"
               f"<div class='wrap'><table><tr><th class='first'>Estimate</th>{head}</tr>")
    titles = dict(SECTION_TITLES)
    section = None
    for r in summary.estimates.to_dict("records"):
        if r["section"] != section:
            section = r["section"]
            out.append(f"<tr class='group'><td class='first'>{e(titles.get(section, section))}</td>"
                       f"<td colspan='{len(names)}'></td></tr>")
        cells = []
        for n in names:
            sup = "".join(f"<sup>{marks[(n, x)]}</sup>" for x in summary.notes.get(n, {}).get(r["estimate"], []))
            cls = " class='changed'" if n in r["changed"] else ""
            cells.append(f"<td{cls}>{e(r[n])}{sup}</td>")
        out.append(f"<tr><td class='first'>{e(r['estimate'])}</td>{''.join(cells)}</tr>")
    out.append("</table></div>")
    if legend:
        out.append("<h3>Where a scenario changes what an estimate means</h3><ol>")
        for i, name, n in legend:
            out.append(f"<li value='{i}'><b>{e(name)}</b>: {e(n)}</li>")
        out.append("</ol>")
    # scenarios
    out.append("<h2>The scenarios</h2><table><tr><th>Scenario</th><th>Sets</th><th>Why</th>"
               "<th>Estimates changed</th></tr>")
    for name in others:
        info = summary.scenarios.get(name, {})
        k = int(summary.estimates["changed"].apply(lambda c: name in c).sum())
        out.append(f"<tr><td>{e(name)}</td><td>{e(info.get('sets', ''))}</td><td style='white-space:normal'>"
                   f"{e(info.get('rationale', ''))}</td><td>{k} of {len(summary.estimates)}</td></tr>")
    out.append("</table></body></html>")
    return "\n".join(out) + "\n"


def summary_text(summary: Summary, width: int = 100) -> str:
    """The same summary for a terminal, no line longer than ``width``: each conclusion with the
    scenarios that flip it, each estimate with its base value and the scenarios that change it."""
    import textwrap

    w = max(40, width)
    wrap = lambda text, first="", rest="    ": textwrap.wrap(text, w, initial_indent=first,  # noqa: E731
                                                             subsequent_indent=rest, break_on_hyphens=False) or [first]
    others = [n for n in summary.names if n != summary.base]
    lines = [f"{len(others)} scenario{'s' if len(others) != 1 else ''} against the base", "", "Conclusions of the paper:"]
    for r in summary.conclusions.to_dict("records"):
        flips = ", ".join(f"{n} ({r[n]})" for n in r["flipped_by"]) or "no scenario"
        lines += wrap(f"{plain(r['conclusion'])}: {r[summary.base]} in the base; flipped by {flips}", "  ", "      ")
    titles = dict(SECTION_TITLES)
    section = None
    lines += ["", "Headline estimates (base; then the scenarios that change them):"]
    for r in summary.estimates.to_dict("records"):
        if r["section"] != section:
            section = r["section"]
            lines.append(f"  {titles.get(section, section)}")
        changes = []
        for n in r["changed"]:
            note = summary.notes.get(n, {}).get(r["estimate"], [])
            changes.append(f"{n} {r[n]}" + (f" [{'; '.join(note)}]" if note else ""))
        text = f"{r['estimate']}: {r[summary.base]}" + (f"; {'; '.join(changes)}" if changes else "; unchanged")
        lines += wrap(text, "    ", "        ")
    return "\n".join(lines)


def long_text(comps: dict[str, pd.DataFrame], width: int = 100) -> str:
    """Every number that changed, scenario by scenario, one per line (wrapped at ``width``)."""
    import textwrap

    lines = []
    for n, c in comps.items():
        diff = c[c.status != "same"]
        lines.append(f"{n}: {len(diff)} of {len(c)} numbers changed or in one only")
        for r in diff.itertuples(index=False):
            b = plain(r.base_text if r.base_text is not None else r.base_value)
            o = plain(r.text if r.text is not None else r.value)
            lines += textwrap.wrap(f"{r.key}: {b} -> {o}" + ("" if r.status == "changed" else f" ({r.status})"),
                                   max(40, width), initial_indent="  ", subsequent_indent="      ")
    return "\n".join(lines)


def _load_params(folder) -> dict | None:
    from analysis.report.params import ParamsError, load_params

    try:
        return load_params(folder)
    except ParamsError:
        return None


def _params_of(folder: Path) -> dict | None:
    """A scenario report's parameter set (``<folder>/params``), or None."""
    return _load_params(folder / "params") if (folder / "params").is_dir() else None


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m analysis.sensitivity.compare",
                                 description="Compare results folders against a base: the paper's conclusions, the "
                                             "headline estimates, and (--all, --csv) every number")
    ap.add_argument("base", help="base output root (holding results/) or results folder")
    ap.add_argument("others", nargs="+", help="output roots or results folders to compare with the base")
    ap.add_argument("--names", help="comma-separated names of the others (default: folder names)")
    ap.add_argument("--notes", help="YAML file mapping names to one-line rationales")
    ap.add_argument("--params", default=None, help="the base's params folder (default: params/): the conclusions "
                    "and what each scenario sets (a scenario's own is <its folder>/params)")
    ap.add_argument("--html", help="write the comparison page here")
    ap.add_argument("--csv", help="write the long CSV (every number of every folder) here")
    ap.add_argument("--all", action="store_true", help="print every number that changed, not only the summary")
    ap.add_argument("--width", type=int, default=None, help="line width (default: the terminal's)")
    args = ap.parse_args(argv)
    names = args.names.split(",") if args.names else [Path(o).resolve().name for o in args.others]
    if len(names) != len(args.others) or len(set(names)) != len(names) or "base" in names:
        print("error: --names must give one distinct name per folder compared (not 'base')", file=sys.stderr)
        return 2
    try:
        base = read_results(args.base)
        results = {"base": base, **{n: read_results(o) for n, o in zip(names, args.others)}}
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    comps = {n: compare_numbers(base, results[n]) for n in names}
    from analysis.paths import PARAMS_DIR

    base_params = _load_params(args.params or PARAMS_DIR)
    params = {"base": base_params} if base_params else {}
    for n, o in zip(names, args.others):
        p = _params_of(Path(o))
        if p is not None:
            params[n] = p
    conclusions = (base_params or {}).get("07-sensitivity", {}).get("conclusions", [])
    notes = fastyaml.load(Path(args.notes).read_text(encoding="utf-8")) if args.notes else {}
    summary = summarise(results, conclusions, "base", params, notes)
    width = args.width or shutil.get_terminal_size((100, 24)).columns
    if args.csv:
        _write(Path(args.csv), comparison_csv(comps))
    if args.html:
        csv_name = Path(args.csv).name if args.csv and Path(args.csv).parent == Path(args.html).parent else args.csv
        _write(Path(args.html), summary_html(summary, csv_name=csv_name))
    for n, c in comps.items():
        print(f"{n}: {len(c)} numbers, {int((c.status == 'changed').sum())} changed at printed precision, "
              f"{int(c.status.str.startswith('only').sum())} in one only")
    if not (args.csv or args.html) or args.all:
        print()
        print(summary_text(summary, width))
    if args.all:
        print()
        print(long_text(comps, width))
    return 0


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


if __name__ == "__main__":
    raise SystemExit(main())
