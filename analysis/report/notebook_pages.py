"""The executed notebooks as pages of the report, and where each figure, table and number comes from (#29).

``python -m analysis.report.notebook_pages EXECUTED RESULTS OUTPUT`` renders every executed notebook
(``executed/NN-section.ipynb``, with papermill's injected parameters and every output) to
``OUTPUT/notebooks/NN-section.html`` with nbconvert, adds anchors to its cells (``#cell-<cell id>``
for every cell, and ``#fig-os-km`` / ``#tbl-survival`` at the cell that wrote that figure or table,
from ``results/<section>/sources.yaml``), writes ``OUTPUT/notebooks/index.html`` listing them, and
copies each section's figures and tables (SVG, CSV) to ``OUTPUT/results/<section>/`` so that the
report's "Source:" lines (:func:`analysis.report.results.source_line`) link to files that exist
beside it. ``OUTPUT`` is the report's ``_output/`` folder: share it and every link works.

A page is a function of its executed notebook, the section's ``sources.yaml``, this module and
nbconvert's version: each page ends with a comment carrying the digest of those
(:func:`page_key`), and a page whose digest is unchanged is kept (a report re-rendered after one
section changed converts that section's notebook only) or, with ``--reuse-from`` another report's
``_output/`` folder, copied from there (a scenario of ``make sensitivity`` copies the pages of the
sections it reused from the base). The digest is checked in the copied bytes, so a page being
replaced in that folder meanwhile is converted instead.

``python -m analysis.report.notebook_pages provenance RESULTS FILE`` writes the numbers'
provenance: ``{key: {section, cell, value, text}}`` for every number a section recorded (the
render marks each inserted number with it; a key no section wrote stops the render).
"""
from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
import sys
from pathlib import Path

import yaml

from analysis import fastyaml

__all__ = ["notebook_page", "page_key", "write_pages", "number_provenance", "notebooks_markdown", "main"]

#: Result files the report links to from its "Source:" lines.
LINKED_SUFFIXES = (".svg", ".csv")


def _sources(results: Path, section: str) -> dict:
    f = results / section / "sources.yaml"
    try:
        return fastyaml.load(f.read_text(encoding="utf-8")) or {}
    except OSError:
        return {}


def notebook_page(executed: str | Path, sources: dict | None = None) -> str:
    """HTML of one executed notebook (nbconvert's lab template) with cell and label anchors."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(executed), as_version=4)
    exporter = HTMLExporter(template_name="lab")
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": Path(executed).stem}})
    labels: dict[str, list[str]] = {}
    for label, cell in ((sources or {}).get("files") or {}).items():
        labels.setdefault(str(cell), []).append(label)

    def anchor(m: re.Match) -> str:
        cid = m.group("id")
        names = [f"cell-{cid}", *sorted(labels.get(cid, []))]
        return "".join(f'<a id="{html.escape(n)}" class="rr-anchor"></a>' for n in names) + m.group(0)

    return re.sub(r'<div class="jp-Cell[^"]*" id="cell-id=(?P<id>[^"]+)">', anchor, body)


def page_key(executed: str | Path, sources: dict) -> str:
    """Digest of what a notebook page is made of: the executed notebook's bytes, the section's
    sources, this module's code and nbconvert's version."""
    from importlib.metadata import version

    h = hashlib.sha256()
    for part in (Path(executed).read_bytes(), json.dumps(sources, sort_keys=True, default=str).encode(),
                 Path(__file__).read_bytes(), version("nbconvert").encode()):
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def _key_line(key: str) -> str:
    return f"<!-- rr-page-key {key} -->\n"


def _page_with_key(candidate: Path, key: str) -> str | None:
    """The text of ``candidate`` when it is a page made of the same inputs (its last line carries ``key``)."""
    try:
        text = candidate.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return text if text.endswith(_key_line(key)) else None


def write_pages(executed_dir: str | Path, results: str | Path, output: str | Path,
                reuse_from: str | Path | None = None) -> list[Path]:
    """Write the notebook pages, their index and the linked result files into ``output``; returns the pages.

    A page already in ``output`` (or in ``reuse_from``, another report's ``_output/``) made of the
    same inputs (:func:`page_key`) is kept (copied) instead of converted again.
    """
    executed_dir, results, output = Path(executed_dir), Path(results), Path(output)
    pages_dir = output / "notebooks"
    pages_dir.mkdir(parents=True, exist_ok=True)
    pages = []
    for nb in sorted(executed_dir.glob("[0-9][0-9]-*.ipynb")):
        if nb.name.endswith((".failed.ipynb",)) or ".tmp-" in nb.name or ".reuse-" in nb.name:
            continue
        section = nb.stem
        page = pages_dir / f"{section}.html"
        sources = _sources(results, section)
        key = page_key(nb, sources)
        pages.append(page)
        if _page_with_key(page, key) is None:
            text = _page_with_key(Path(reuse_from) / "notebooks" / page.name, key) if reuse_from else None
            tmp = page.with_name(page.name + ".tmp")
            tmp.write_text(text or notebook_page(nb, sources) + _key_line(key), encoding="utf-8")
            tmp.replace(page)
        src = results / section
        if src.is_dir():
            dst = output / "results" / section
            dst.mkdir(parents=True, exist_ok=True)
            for f in sorted(src.iterdir()):
                if f.suffix in LINKED_SUFFIXES:
                    shutil.copyfile(f, dst / f.name)
    items = "\n".join(f'<li><a href="{p.name}">{html.escape(p.stem)}</a></li>' for p in pages)
    (pages_dir / "index.html").write_text(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Notebooks</title></head>\n"
        f"<body><h1>The executed notebooks of this report</h1>\n<ul>\n{items}\n</ul></body></html>\n",
        encoding="utf-8")
    return pages


def notebooks_markdown(sections: list[str]) -> str:
    """The report's "Notebooks" list: one link per executed notebook page (Markdown).

    >>> print(notebooks_markdown(["01-cohort"]), end="")
    The executed notebooks, each with its injected parameters and every output, are pages beside this report:
    <BLANKLINE>
    - [01-cohort](notebooks/01-cohort.html)
    """
    lines = ["The executed notebooks, each with its injected parameters and every output, are pages beside "
             "this report:", ""] + [f"- [{s}](notebooks/{s}.html)" for s in sections]
    return "\n".join(lines) + "\n"


def number_provenance(results: str | Path) -> dict[str, dict]:
    """``{key: {"section", "cell", "value", "text"}}`` for every number of every section."""
    from analysis.report.results import flatten

    results = Path(results)
    out: dict[str, dict] = {}
    for f in sorted(results.glob("*/numbers.yaml")):
        section = f.parent.name
        values = flatten(fastyaml.load(f.read_text(encoding="utf-8")) or {})
        vf = f.with_name("variables.yaml")
        texts = flatten(fastyaml.load(vf.read_text(encoding="utf-8")) or {}) if vf.is_file() else {}
        cells = (_sources(results, section).get("numbers") or {})
        for key in sorted(set(values) | set(texts)):
            value = values.get(key)
            if isinstance(value, float) and (value != value or abs(value) == float("inf")):
                value = str(value)
            out[key] = {"section": section, "cell": None if cells.get(key) is None else str(cells[key]),
                        "value": value if isinstance(value, (int, float, bool)) or value is None else str(value),
                        "text": None if texts.get(key) is None else str(texts[key])}
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m analysis.report.notebook_pages", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pages")
    p.add_argument("executed")
    p.add_argument("results")
    p.add_argument("output", help="the report's _output folder")
    p.add_argument("--reuse-from", default=None,
                   help="another report's _output folder: pages made of the same inputs are copied from it")
    p = sub.add_parser("provenance", help="the numbers' provenance (JSON) and the notebooks list (Markdown)")
    p.add_argument("results")
    p.add_argument("file")
    p.add_argument("--list", default=None, help="also write the report's list of notebook pages here")
    args = ap.parse_args(argv)
    try:
        if args.command == "pages":
            pages = write_pages(args.executed, args.results, args.output, reuse_from=args.reuse_from)
            print(f"notebook pages: {len(pages)} in {Path(args.output) / 'notebooks'}")
        else:
            data = number_provenance(args.results)
            Path(args.file).write_text(json.dumps(data, sort_keys=True, ensure_ascii=False, allow_nan=False,
                                                  default=str), encoding="utf-8")
            if args.list:
                sections = sorted(p.parent.name for p in Path(args.results).glob("*/numbers.yaml"))
                Path(args.list).write_text(notebooks_markdown(sections), encoding="utf-8")
    except (OSError, ValueError, yaml.YAMLError) as exc:
        print(f"notebook pages: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
