"""How the article presents its cohort: title, subtitle, authors, date, running head, the data
statement, the abstract's background and the declarations, all from the data and ``cohort.yaml``.

Two framings, decided by :func:`analysis.data.cohort.is_shipped_synthetic` (the tables' checksums),
never by a flag a user can copy:

* **synthetic** (the shipped cohort): the article is a re-analysis of Chen et al. (2025) on
  invented patients; "synthetic" stands in the subtitle, the running head and the first words of
  every figure caption (:func:`analysis.report.text.caption_prefix`), and the paper's numbers may be
  set against the cohort's.
* **cohort** (any other data): the hospital's own study. Its title, subtitle, authors and date come
  from ``cohort.yaml`` (keys of :data:`ARTICLE_KEYS`, defaults built from the data); the disease
  stage is said from the data (never "ES-SCLC" when limited-stage patients are in it); no sentence
  speaks of reproducing the paper.

The date is ``cohort.yaml``'s ``date`` or the data cutoff, never the build day, so that two builds
of the same data give the same bytes.
"""
from __future__ import annotations

import datetime as dt
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

from analysis.report.text import caption_prefix, count_word, join

__all__ = ["ARTICLE_KEYS", "article_metadata", "population", "front_matter", "data_statement",
           "declarations", "git_remote_url", "introduction", "abstract_background", "abstract_methods",
           "caption_prefix"]

#: The ``cohort.yaml`` keys the article reads (documented in the data dictionary).
from analysis.data.cohort_meta import ARTICLE_KEYS  # noqa: E402

TREATMENT = "anlotinib plus immune checkpoint inhibitors after prior immunotherapy"
PAPER = "Chen et al. (2025)"
NONE_DECLARED = "None declared."


def _clean(value) -> str:
    """A ``cohort.yaml`` value as literal Markdown text (escaped, one line)."""
    from analysis.data import escape

    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return join([_clean(v) for v in value if str(v).strip()])
    # a typographic apostrophe: the front matter quotes its values with ' (the same text in both engines)
    return escape.markdown(str(value).replace("'", "’")).strip()


def article_metadata(meta: Mapping) -> dict[str, str]:
    """The article's keys of ``cohort.yaml`` (:data:`ARTICLE_KEYS`) as escaped text, "" when absent;
    ``date`` is kept only when it reads as a date (ISO ``YYYY-MM-DD``), else "".

    >>> m = article_metadata({"title": "Our *cohort*", "authors": ["A. Li", "B. Wu"], "date": "2025-03-01"})
    >>> m["title"], m["authors"], m["date"], m["funding"]
    ('Our \\\\*cohort\\\\*', 'A\\\\. Li and B\\\\. Wu', '2025-03-01', '')
    >>> article_metadata({"date": "soon"})["date"]
    ''
    """
    out = {}
    for key in ARTICLE_KEYS:
        value = meta.get(key)
        if key == "date":
            out[key] = _iso_date(value)
        else:
            out[key] = _clean(value)
    return out


def _iso_date(value) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value).strip()).isoformat()
    except (TypeError, ValueError):
        return ""


def population(stages: Mapping[str, int]) -> dict[str, str]:
    """The disease as the data describe it, from the count of patients per stage.

    Returns ``long`` ("extensive-stage small cell lung cancer"), ``short`` ("ES-SCLC" or "SCLC")
    and ``stage`` (a clause on the stages for the Methods).

    >>> population({"extensive": 68})["short"], population({"extensive": 60, "limited": 8})["short"]
    ('ES-SCLC', 'SCLC')
    >>> population({"extensive": 60, "limited": 8})["stage"]
    '60 with extensive-stage and 8 with limited-stage disease'
    """
    present = {k: int(v) for k, v in stages.items() if int(v) > 0}
    if set(present) == {"extensive"}:
        return {"long": "extensive-stage small cell lung cancer", "short": "ES-SCLC",
                "stage": "all with extensive-stage disease"}
    if set(present) == {"limited"}:
        return {"long": "limited-stage small cell lung cancer", "short": "LS-SCLC",
                "stage": "all with limited-stage disease"}
    order = sorted(present, key=lambda k: (-present[k], k))
    return {"long": "small cell lung cancer", "short": "SCLC",
            "stage": join(f"{present[k]} with {k}-stage" for k in order) + " disease" if present else
            "stage not recorded"}


def front_matter(synthetic: bool, meta: Mapping, n: int, stages: Mapping[str, int], cutoff_iso: str) -> dict[str, str]:
    """Title, subtitle, author (with the affiliation in parentheses), date (ISO) and running head of the article.

    ``meta`` is :func:`article_metadata`'s output. For the synthetic cohort every value is the
    project's (``cohort.yaml`` of the shipped cohort names no article keys); for any other cohort the
    ``cohort.yaml`` values win over defaults built from the data.

    >>> f = front_matter(True, article_metadata({}), 68, {"extensive": 68}, "2025-01-20")
    >>> "synthetic" in f["subtitle"].lower(), "synthetic" in f["running_head"].lower(), f["date"]
    (True, True, '2025-01-20')
    >>> g = front_matter(False, article_metadata({"name": "x"}), 150, {"extensive": 120, "limited": 30}, "2024-06-30")
    >>> g["title"]
    'Anlotinib plus immune checkpoint inhibitors after prior immunotherapy in small cell lung cancer'
    >>> "re-analysis" in " ".join(g.values()), g["subtitle"]
    (False, 'A retrospective cohort study of 150 patients')
    """
    pop = population(stages)
    if synthetic:
        return {"title": f"Anlotinib plus immune checkpoint inhibitors after prior immunotherapy in {pop['long']}",
                "subtitle": f"A reproducible re-analysis of {PAPER} on a synthetic cohort of {n} invented patients",
                "author": "Reproducible Report Team (open clinical re-analysis project)",
                "date": cutoff_iso,
                "running_head": f"Anlotinib plus ICIs after prior immunotherapy ({pop['short']}): synthetic cohort"}
    meta = {k: (v.replace("'", "’") if isinstance(v, str) else v) for k, v in meta.items()}
    title = meta.get("title") or f"Anlotinib plus immune checkpoint inhibitors after prior immunotherapy in {pop['long']}"
    name = meta.get("name") or ""
    return {"title": title,
            "subtitle": meta.get("subtitle") or f"A retrospective cohort study of {count_word(n, 'patient')}",
            "author": (meta.get("authors") or (f"The {name} study team" if name else "The study team"))
            + (f" ({meta['affiliation']})" if meta.get("affiliation") else ""),
            "date": meta.get("date") or cutoff_iso,
            "running_head": meta.get("running_head") or (
                title if len(title) <= 70 else f"Anlotinib plus ICIs after prior immunotherapy ({pop['short']})")}


def data_statement(synthetic: bool, name: str, n: int, description: str, n_warnings: int,
                   flag_ignored: bool = False) -> dict[str, str]:
    """The texts that say what data the article is computed from: ``short`` (a sentence), ``callout``
    (Markdown box at the top of the article), ``methods`` (for the Methods) and ``discussion``.

    ``name``/``description`` are escaped Markdown; ``n_warnings`` counts the validation's warnings (the
    data-quality table is in the supplement).

    >>> data_statement(False, "x", 5, "", 17)["methods"]
    '**Cohort.** The cohort *x* was supplied in the documented format and passed every error rule of the data contract before analysis; validation raised 17 warnings (rows that break no rule but deserve a look), counted by rule in [{{< var supp.tbl-data-warnings >}}](supplement.html#tbl-data-warnings).'
    """
    desc = f"\n{description.strip()}\n" if description.strip() else ""
    warn = ("raised no warning" if n_warnings == 0 else
            f"raised {count_word(n_warnings, 'warning')} (rows that break no rule but deserve a look), counted by "
            "rule in [{{< var supp.tbl-data-warnings >}}](supplement.html#tbl-data-warnings)")
    if synthetic:
        short = (f"All results are computed from a synthetic cohort of {n} invented patients, generated to match the "
                 "published results; the paper's patient data are not public and no real patient is included.")
        callout = (
            "::: {.callout-warning}\n## Synthetic data\n"
            "The patient-level data of the original study are not public. Every number, table and figure of this "
            f"article and its supplement is computed from **a synthetic cohort of {n} invented patients** (*{name}*), generated by a "
            "seeded program so that the paper's analyses, run on it, land on the published numbers as closely as "
            "those numbers allow. No real patient is in it. The article demonstrates a complete, validated analysis "
            "pipeline and shows how far the published results can be reproduced; it provides no new clinical "
            "evidence.\n" + desc + ":::\n")
        methods = (
            "**Synthetic cohort.** Because the original patient-level data are not public, the analyses were run on "
            "a synthetic cohort in the format a hospital would export, drawn by a seeded program with the published "
            "counts of the paper's Tables 1 and 3, its best responses and event counts, then calibrated, date by date, "
            "toward every number the paper publishes; the same seed regenerates it byte for byte "
            "([Supplement](supplement.html#sec-supp-synthetic)). Validation " + warn + ".")
        discussion = (
            "**What the synthetic data can and cannot show.** The synthetic cohort was built to reproduce the "
            "published counts and, as closely as possible, the published survival summaries. Agreement with the "
            "paper therefore says that the analyses are implemented as the paper describes and that the published "
            "numbers are mutually compatible, not that the treatment works. Associations the generator did not "
            "build in (for example between adverse events and survival) are absent by construction. Where the "
            "paper's own numbers contradict each other, no data set can reproduce all of them "
            "([{{< var supp.tbl-paper-audit >}}](supplement.html#tbl-paper-audit)).")
    else:
        flag = ("\n`cohort.yaml` says `synthetic: true`, but these tables are not the shipped synthetic cohort "
                "(their checksums differ), so the article treats them as a supplied cohort.\n" if flag_ignored else "")
        short = f"Results are computed from the cohort *{name}* ({count_word(n, 'patient')})."
        callout = ("::: {.callout-note}\n## Data\n"
                   f"This article was computed from the cohort ***{name}*** ({count_word(n, 'patient')}).\n"
                   + flag + desc + ":::\n")
        methods = (f"**Cohort.** The cohort *{name}* was supplied in the documented format and passed every error "
                   "rule of the data contract before analysis; validation " + warn + ".")
        discussion = (
            "**Interpretation.** These results come from a retrospective cohort without a control group; "
            "its results describe the patients it holds.")
    return {"short": short, "callout": callout, "methods": methods, "discussion": discussion}


def git_remote_url(root: str | Path) -> str:
    """The ``origin`` remote of the git checkout at ``root`` as a browsable URL without credentials
    ("" when there is none): ``git@github.com:o/r.git`` → ``https://github.com/o/r``.

    >>> _public_url("https://user:token@github.com/o/r.git"), _public_url("git@github.com:o/r.git")
    ('https://github.com/o/r', 'https://github.com/o/r')
    >>> _public_url("/srv/git/repo")
    ''
    """
    try:
        url = subprocess.run(["git", "remote", "get-url", "origin"], cwd=root, capture_output=True, text=True,
                             check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""
    return _public_url(url)


def _public_url(url: str) -> str:
    m = re.match(r"^[\w.-]+@([\w.-]+):(.+?)(?:\.git)?/?$", url)
    if m:
        return f"https://{m.group(1)}/{m.group(2)}"
    m = re.match(r"^(https?)://(?:[^@/]+@)?([^/]+)/(.+?)(?:\.git)?/?$", url)
    if m:
        return f"{m.group(1)}://{m.group(2)}/{m.group(3)}"
    return ""


def declarations(synthetic: bool, meta: Mapping, commit: str, url: str = "") -> str:
    """The declarations section's Markdown: data and code availability, ethics, funding, conflicts.

    >>> print(declarations(True, article_metadata({}), "abc123", ""))  # doctest: +ELLIPSIS
    **Data availability.** The synthetic cohort ... no data of real patients...
    """
    code_where = (f"The analysis code is openly available at <{url}>" if url else
                  "The analysis code is distributed with this article")
    code = (f"**Code availability.** {code_where} (commit `{commit}`). `make` rebuilds the article from the data, "
            "and `make verify` re-executes every notebook from scratch and checks that every number is identical "
            "to the committed record.")
    if synthetic:
        data = ("**Data availability.** The synthetic cohort analysed here (three tables: patients, tumour "
                "assessments, adverse events) is distributed with the code in `data/synthetic/` and contains no "
                "data of real patients; `make calibrate` regenerates it from its seed. The patient-level data of "
                "the published study are not public.")
        ethics = ("**Ethics.** Not applicable: the cohort is synthetic and includes no patient, so no ethics "
                  "approval or consent was needed.")
    else:
        data = "**Data availability.** " + (meta.get("data_availability") or (
            "The patient-level data are held by the data owner and are not shared with this article; the format "
            "they follow is the pipeline's data dictionary."))
        ethics = "**Ethics.** " + (meta.get("ethics") or "No ethics statement was supplied with the cohort "
                                   "(`cohort.yaml`, key `ethics`).")
    funding = "**Funding.** " + (meta.get("funding") or NONE_DECLARED)
    conflicts = "**Competing interests.** " + (meta.get("conflicts") or NONE_DECLARED)
    return "\n\n".join((data, code, ethics, funding, conflicts))


def introduction(synthetic: bool, paper_n: int, pop: Mapping[str, str]) -> str:
    """The Introduction's Markdown (two paragraphs), framed by the cohort."""
    background = (
        "Small cell lung cancer progresses quickly after first-line chemo-immunotherapy, and few options remain "
        "once an immune checkpoint inhibitor (ICI) has failed. Anlotinib, an oral multi-target tyrosine kinase "
        "inhibitor of angiogenesis, may restore sensitivity to immunotherapy, and its combination with a PD-1 or "
        f"PD-L1 inhibitor has been given as rechallenge. Chen and colleagues reported {paper_n} patients with "
        "extensive-stage disease treated this way after failure of a previous ICI-based treatment [@chen2025].")
    if synthetic:
        aim = ("Their patient-level data are not public. This article re-analyses the study on a synthetic cohort "
               "built to match the published results: every table, figure and number of the paper's Results is "
               "computed by code from patient-level data, so that each analytic choice is explicit, the published "
               "numbers can be checked against each other and against what data can produce, and the same "
               "pipeline can be run on a hospital's own cohort.")
    else:
        aim = (f"This article describes the outcomes of the same combination in a retrospective cohort of patients "
               f"with {pop['long']}: tumour response, duration of response, progression-free and overall survival, "
               "survival by baseline subgroup and treatment-related adverse events.")
    return background + "\n\n" + aim


def abstract_background(synthetic: bool, paper_n: int, pop: Mapping[str, str]) -> str:
    """The abstract's Background sentence(s)."""
    if synthetic:
        return (f"A retrospective study reported anlotinib plus an immune checkpoint inhibitor (ICI) in {paper_n} "
                "patients with extensive-stage small cell lung cancer after failure of a previous ICI. Its patient "
                "data are not public; we re-analysed it on a synthetic cohort built to match its results, to check "
                "which of them data can reproduce.")
    return (f"Few treatments remain for {pop['long']} once an immune checkpoint inhibitor (ICI) has failed. We "
            "describe the outcomes of anlotinib combined with an ICI in this setting.")


def abstract_methods(synthetic: bool, n: int, pop: Mapping[str, str], start_first: str, start_last: str) -> str:
    """The abstract's Methods sentence(s)."""
    # the stages in brackets only when the disease's name does not already say them (a cohort of several stages)
    stages = "" if pop["long"] != "small cell lung cancer" else f" ({pop['stage']})"
    who = (f"a synthetic cohort of {n} invented patients" if synthetic else
           f"a retrospective cohort of {count_word(n, 'patient')} with {pop['long']}{stages}")
    return (f"We analysed {who} who started anlotinib with an ICI between {start_first} and {start_last}. Response "
            "was assessed by RECIST 1.1; survival by the Kaplan–Meier method, log-rank tests and a multivariable "
            "Cox model; adverse events by CTCAE v5.0.")


def abstract_conclusions(synthetic: bool, numbers: Mapping, headline_sentence: str = "") -> str:
    """The abstract's Conclusions: on the synthetic cohort, which headline results the data reproduce
    (``headline_sentence``, :func:`analysis.synthetic.scorecard.headline_reproduction`) and what that means;
    on any other cohort, the cohort's main estimates (from ``numbers``, the flattened results) and their limits.

    >>> abstract_conclusions(False, {"response.orr.pct": 25.0, "survival.os.median": 9.1})
    'In this retrospective cohort, anlotinib plus an ICI after prior immunotherapy was followed by an objective response rate of 25.0% and a median overall survival of 9.1 months. Without a control group these results describe the cohort and do not establish efficacy.'
    """
    from analysis.report import fmt

    if synthetic:
        return (headline_sentence + " Agreement shows that the analyses are implemented as the paper describes "
                "and that its numbers are compatible with some data set; it is no evidence that the treatment works.")
    parts = []
    orr, os_ = numbers.get("response.orr.pct"), numbers.get("survival.os.median")
    try:
        if orr is not None and float(orr) == float(orr):
            parts.append(f"an objective response rate of {fmt.percent(float(orr))}%")
    except (TypeError, ValueError):
        pass
    try:
        if os_ is not None and float(os_) == float(os_):
            parts.append("a median overall survival of " + (
                "not reached" if float(os_) == float("inf") else f"{fmt.num(float(os_), 1)} months"))
    except (TypeError, ValueError):
        pass
    lead = ("In this retrospective cohort, anlotinib plus an ICI after prior immunotherapy was followed by "
            + join(parts) + "." if parts else "In this retrospective cohort, the main estimates could not be computed.")
    return lead + " Without a control group these results describe the cohort and do not establish efficacy."


def cohort_detail(synthetic: bool, name: str) -> str:
    """The supplement's section on where the data come from (Markdown, with its heading)."""
    if synthetic:
        return (
            "### The synthetic cohort {#sec-supp-synthetic}\n\n"
            "Because the original patient-level data are not public, the analyses were run on a synthetic cohort in "
            "the format a hospital would export. A seeded program (`analysis/synthetic/generator.py`) draws the "
            "baseline characteristics with the published counts of the paper's Table 1, assigns the published "
            "best-response counts, builds on-treatment tumour assessments every six weeks whose target-lesion sums "
            "obey the RECIST 1.1 size rules, draws progression, death and censoring dates with the published event "
            "counts (patients alive without progression censored at the data cutoff, so that their follow-up is set "
            "by their start date), and assigns adverse events with the counts of the paper's Table 3. A seeded, "
            "deterministic calibration (`analysis/synthetic/calibrate.py`, `make calibrate`) then moves individual "
            "dates and patients' characteristics so that the analyses land as close as possible to every number the "
            "paper publishes; a second stage (`analysis/synthetic/interval_fit.py`) rearranges characteristics and "
            "sets death days, keeping their order, so that the symmetric median intervals of the paper's Table 2 can "
            "print as published. The same seed regenerates the cohort byte for byte. How close it gets is reported "
            "number by number in @sec-scorecard.")
    return ("### The cohort {#sec-supp-synthetic}\n\n"
            f"The cohort *{name}* was supplied as three tables in the format of the project's data dictionary "
            "(`data/DATA_DICTIONARY.md`) and validated against its data contract before any analysis; the files read "
            "and the warnings raised are in @tbl-provenance and @tbl-data-warnings.")
