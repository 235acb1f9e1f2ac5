"""The last check before a rendered report is published: what a reader sees holds no patient identifier.

:class:`analysis.report.results.IdentifierGuard` checks every results file as it is written; text
can still reach a page by other ways (``cohort.yaml``'s description, an escape that hides an id
from a check on Markdown: ``SYN\\-017``). This module checks the rendered outputs themselves, as a
reader sees them:

* the HTML's text content (tags, scripts and styles removed, entities and escapes decoded) and the
  attributes a reader or a screen reader is shown (``alt``, ``title``, ``aria-label``);
* the PDF's extracted text (``pypdf``), lines joined so that an id broken at a line end is found.

Both are matched against the cohort's identifiers and patient-level dates (ISO, and the day/month
forms of :func:`analysis.data.metadata.find_identifier`), read from the validated tables the
validation step saved (``OUT/validation/validated.pkl``, beside ``OUT/report``). A hit stops the
render before anything is published, naming the output, never the identifier.

:func:`check_rendered` is called once by :func:`analysis.report.render.render` on the built files;
it also embeds the shipped fonts a page needs (:func:`analysis.report.fonts.embed_in_html`).
"""
from __future__ import annotations

import html as _html
import pickle
import re
from pathlib import Path

from analysis.data.metadata import _date_forms, raw_identifiers
from analysis.report import fonts
from analysis.report.results import IdentifierGuard

_SKIP = re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I)
_TAG = re.compile(r"<[^>]*>", re.S)
_SHOWN_ATTR = re.compile(r"""\b(?:alt|title|aria-label)\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)


def html_text(html: str) -> str:
    """What a reader sees of an HTML page: its text and its ``alt``/``title``/``aria-label`` values,
    entities decoded.

    >>> html_text('<p>SYN&#45;017 <img alt="SYN-018" src="x.png"><script>var a="SYN-019"</script></p>').split()
    ['SYN-017', 'SYN-018']
    """
    body = _SKIP.sub(" ", html)
    attrs = " ".join(a or b for a, b in _SHOWN_ATTR.findall(body))
    return _html.unescape(_TAG.sub(" ", body) + " " + attrs)


def pdf_text(pdf: Path | bytes) -> str:
    """The text of a PDF as a reader's viewer extracts it, hyphenated line ends joined too: poppler's
    ``pdftotext`` when it is on PATH (0.2 s for the report), else ``pypdf`` (a requirement; 2.5 s)."""
    import io
    import logging
    import shutil
    import subprocess

    data = pdf if isinstance(pdf, bytes) else Path(pdf).read_bytes()
    text = None
    if shutil.which("pdftotext"):
        proc = subprocess.run(["pdftotext", "-q", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True)
        if proc.returncode == 0:
            text = proc.stdout.decode("utf-8", errors="replace")
    if text is None:
        from pypdf import PdfReader

        logging.getLogger("pypdf").setLevel(logging.ERROR)
        text = "\n".join((page.extract_text() or "") for page in PdfReader(io.BytesIO(data)).pages)
    return text + "\n" + re.sub(r"-[ \t]*\n\s*", "-", text)


def cohort_identifiers(project_dir: Path) -> list[str]:
    """Identifiers and patient-level dates of the cohort a report project belongs to (``OUT/report`` ->
    ``OUT/validation/validated.pkl``); [] when no validated cohort is there."""
    validated = Path(project_dir).resolve().parent / "validation" / "validated.pkl"
    if not validated.is_file():
        return []
    with open(validated, "rb") as fh:
        tables = pickle.load(fh)  # written by our own validation step (analysis.data.validated)
    return raw_identifiers(tables.get("tables", {}))


def _guard(identifiers) -> IdentifierGuard:
    forms = []
    for ident in identifiers:
        ident = str(ident)
        forms += _date_forms(ident) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", ident) else [ident]
    return IdentifierGuard(forms)


_HYPHENS = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2212\ufe63\uff0d"})


def reader_form(text: str) -> str:
    """Text as a reader reads it: compatibility forms folded (NFKC: full-width ``ＳＹＮ０１７``), dash look-alikes
    as ``-`` (a non-breaking hyphen looks like one), zero-width characters removed.

    >>> reader_form("SYN\u2011017 ＳＹＮ-０１８ S\u200bYN-019")
    'SYN-017 SYN-018 SYN-019'
    """
    import unicodedata

    text = unicodedata.normalize("NFKC", text).translate(_HYPHENS)
    return re.sub("[\u200b\u200c\u200d\u2060\ufeff\u00ad]", "", text)


def find_in_outputs(built: dict[str, Path], identifiers) -> list[str]:
    """The outputs (``html``, ``pdf``) whose reader-visible text holds an identifier."""
    g = _guard(identifiers)
    if not g:
        return []
    hits = []
    for kind, path in built.items():
        if Path(path).suffix == ".html":
            text = html_text(Path(path).read_text(encoding="utf-8"))
        elif Path(path).suffix == ".pdf":
            text = pdf_text(path)
        else:
            continue
        if g.find(text) or g.find(reader_form(text)):
            hits.append(kind)
    return hits


def check_rendered(built: dict[str, Path], project_dir: Path, identifiers=None,
                   error: type[Exception] = RuntimeError) -> None:
    """Embed the fonts each HTML page needs, then refuse outputs whose visible text holds an identifier.

    ``identifiers``: default the cohort's (:func:`cohort_identifiers`). Raises ``error`` (the render
    step passes its ``RenderError``) naming the outputs, never the identifier.
    """
    for kind, path in built.items():
        if Path(path).suffix == ".html" and Path(path).is_file():
            page = Path(path).read_text(encoding="utf-8")
            with_fonts = fonts.embed_in_html(page)
            if with_fonts != page:
                Path(path).write_text(with_fonts, encoding="utf-8")
    ids = cohort_identifiers(project_dir) if identifiers is None else identifiers
    hits = find_in_outputs(built, ids)
    if hits:
        names = ", ".join(Path(built[k]).name for k in hits)
        raise error(f"privacy: {names} would show a patient identifier or a patient-level date to the reader "
                          f"(e.g. typed into cohort.yaml's description, or a table cell); nothing was published. "
                          f"Remove it from the input text")
