"""Cross-document references: the article cites supplement items by their supplement numbers.

The article writes ``[{{< var supp.tbl-paper-audit >}}](supplement.html#tbl-paper-audit)``; the
``supp.*`` variables are computed here from the labels of the supplement's tables and figures in
the order they appear (tables S1, S2, ... and figures S1, S2, ... counted separately, as the
supplement numbers them), and its sections (``#sec-x``) are named by their heading.

:func:`supplement_labels` is a pure function of the supplement's text *after* its includes are
expanded (the labels of tables and figures live in the included results files); the renderer
calls it and merges the result into the variables under ``supp``.

Examples
--------
>>> text = '''# Methods {#sec-methods}
... ![Curve](a.svg){#fig-km fig-alt="x"}
...
... : Audit {#tbl-paper-audit}
...
... : Scorecard {#tbl-scorecard}
... '''
>>> supplement_labels(text)
{'sec-methods': 'Supplement, section “Methods”', 'fig-km': 'Supplementary Figure S1', 'tbl-paper-audit': 'Supplementary Table S1', 'tbl-scorecard': 'Supplementary Table S2'}
"""
from __future__ import annotations

import re

__all__ = ["supplement_labels", "supplement_numbers"]

#: A label in pandoc/Quarto attribute syntax: ``{#tbl-x}``, ``{#fig-x fig-alt=...}``, ``# Heading {#sec-x}``.
_LABEL = re.compile(r"\{#((?:tbl|fig|sec)-[\w-]+)")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*\{#(sec-[\w-]+)[^}]*\}\s*$", re.M)
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)


def supplement_numbers(text: str, prefix: str = "S") -> dict[str, str]:
    """``{label: "Table S1" | "Figure S1"}`` for every table and figure label of ``text``, in order
    of first appearance (code blocks ignored); a label seen twice keeps its first number.

    >>> supplement_numbers(": A {#tbl-a}\\n![b](b.svg){#fig-b}\\n: C {#tbl-c}")
    {'tbl-a': 'Table S1', 'fig-b': 'Figure S1', 'tbl-c': 'Table S2'}
    """
    text = _FENCE.sub("", text)
    out: dict[str, str] = {}
    count = {"tbl": 0, "fig": 0}
    for m in _LABEL.finditer(text):
        label = m.group(1)
        kind = label.split("-", 1)[0]
        if kind == "sec" or label in out:
            continue
        count[kind] += 1
        out[label] = f"{'Table' if kind == 'tbl' else 'Figure'} {prefix}{count[kind]}"
    return out


def supplement_labels(text: str) -> dict[str, str]:
    """The ``supp.*`` variables: ``{label: text}`` with "Supplementary Table S1", "Supplementary Figure S1"
    for tables and figures and 'Supplement, section “Heading”' for labelled sections, in document order."""
    text = _FENCE.sub("", text)
    heads = {m.group(2): m.group(1).strip() for m in _HEADING.finditer(text)}
    items = supplement_numbers(text)
    out: dict[str, str] = {}
    for m in _LABEL.finditer(text):
        label = m.group(1)
        if label in out:
            continue
        if label.startswith("sec-"):
            if label in heads and "{{<" not in heads[label]:  # a heading made by a shortcode has no fixed text
                out[label] = f"Supplement, section “{heads[label]}”"
        else:
            out[label] = "Supplementary " + items[label]
    return out


_INCLUDE = re.compile(r"\{\{<\s*include\s+(\S+)\s*>\}\}")


def supplement_variables(project_dir, supplement: str = "supplement.qmd", results_dir=None) -> dict[str, str]:
    """:func:`supplement_labels` of ``project_dir/supplement`` with its includes expanded (one level, as the
    project's rule allows no nested includes); ``{}`` without a supplement. Include paths are relative to the
    supplement, except ``results/...``, which is read from ``results_dir`` (default: the results folder beside
    the project, ``project_dir/../results``, which the render step stages as ``results/``). A missing included
    file is skipped here (the render step reports it)."""
    from pathlib import Path

    doc = Path(project_dir) / supplement
    if not doc.is_file():
        return {}
    results = Path(results_dir) if results_dir is not None else Path(project_dir).parent / "results"
    text = doc.read_text(encoding="utf-8")

    def include(m: re.Match) -> str:
        target = m.group(1)
        f = results / target.removeprefix("results/") if target.startswith("results/") else doc.parent / target
        return f.read_text(encoding="utf-8") if f.is_file() else ""

    return supplement_labels(_INCLUDE.sub(include, text))
