"""Tests of analysis.report.render with the pandoc + Typst engine on a tiny manuscript.

The fixture (tests/fixtures/render/: report/ and its results as sections/) has the shape of report/: _quarto.yml,
_variables.yml, references.bib and index.qmd in report/, and the included tables
and figures (one SVG and one PNG made by matplotlib) in results/ (staged inside the project as results/, as the render step does).
"""
from __future__ import annotations

import html as html_lib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from analysis.report import render as rr
from analysis.paths import TESTS_DIR
from analysis.report.render import RenderError, check_no_unresolved, render

import pdf_checks  # tests/report/pdf_checks.py

FIXTURE = TESTS_DIR / "fixtures" / "render"
NBSP = "\u00a0"


def _copy_fixture(dest: Path) -> Path:
    shutil.copytree(FIXTURE, dest, ignore=shutil.ignore_patterns("_output", ".render-*"))
    # committed as sections/ (a tracked folder named results/ reads as a build product); the project's
    # results folder is results/ beside report/
    (dest / "sections").rename(dest / "results")
    return dest / "report"


def _text(html: str) -> str:
    """Visible text of the HTML body, tags stripped, entities and nbsp resolved."""
    body = html.split("<body>", 1)[1]
    text = html_lib.unescape(re.sub(r"<[^>]+>", "", body)).replace(NBSP, " ")
    return re.sub(r"\s+", " ", text)


def _pdf_text(pdf: Path) -> str:
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True)
    return re.sub(r"\s+", " ", out.stdout.replace(NBSP, " "))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    project = _copy_fixture(tmp_path_factory.mktemp("render") / "fx")
    outputs = render(project, engine="pandoc")
    return project, outputs


# --------------------------------------------------------------------------- outputs
def test_render_writes_html_and_pdf_of_article_and_supplement_into_output_dir(rendered):
    project, outputs = rendered
    out = project / "_output"
    assert outputs == {"html": out / "index.html", "pdf": out / "index.pdf",
                       "supplement.html": out / "supplement.html", "supplement.pdf": out / "supplement.pdf"}
    assert outputs["pdf"].read_bytes().startswith(b"%PDF")
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "index.pdf", "supplement.html", "supplement.pdf"]
    assert not list(project.glob(".render-*")), "temporary build folder left behind"


def test_render_writes_nothing_into_the_project_but_its_output(tmp_path):
    """Both engines render a staged copy (report/ + results/ + _render/): nothing else appears in
    the project folder or next to it (Quarto would leave .quarto/, .gitignore and index.typ)."""
    project = _copy_fixture(tmp_path / "fx")
    listing = lambda: sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")  # noqa: E731
                             if "_output" not in p.parts)
    before = listing()
    render(project, engine="pandoc")
    assert listing() == before


def test_html_has_numbers_crossrefs_citations_and_no_shortcodes(rendered):
    _, outputs = rendered
    html = outputs["html"].read_text(encoding="utf-8")
    text = _text(html)
    check_no_unresolved(html)
    assert "{{<" not in html and "?@" not in html
    # variables, also inside included tables and the abstract
    for value in ("68 patients", "22 responded", "32.4% (21.51–44.79)", "73.5% (61.43–83.50)",
                  "13.2 (7.09–19.31)", "5.6 months", "61 years", "N = 68"):
        assert value in text, value
    # captions numbered in order of appearance; cross-references link to the anchors
    assert "Figure 1: Change in the sum" in text
    assert "Figure 2: Kaplan–Meier estimate" in text
    assert "Table 1: Best overall response" in text
    assert "Table 2: Kaplan–Meier landmark" in text
    assert '<a href="#fig-os-km" class="quarto-xref">Figure' + NBSP + "2</a>" in html
    assert '<a href="#tbl-response" class="quarto-xref">Table' + NBSP + "1</a>" in html
    assert "described in Section 2;" in text
    assert "(see Section 1 and 2)" in text  # -@sec-methods gives the bare number
    assert "2.1 Statistical software" in text and "4 Appendix" in text
    # numeric citations in order of first citation, and the reference list
    assert "Chen et al. [1]" in text
    assert "Kaplan–Meier method [2,3]" in text
    assert "1. Chen X, Li W, Zhang Y, Wang H." in text
    assert "3. Collett D. Modelling survival data" in text
    # title block and callouts
    assert "Ada Lovelace" in text and "Department of Oncology" in text and "March 1, 2025" in text
    assert 'class="callout callout-note"' in html and "Synthetic data" in text
    assert 'class="callout callout-warning"' in html


def test_html_is_self_contained(rendered):
    _, outputs = rendered
    html = outputs["html"].read_text(encoding="utf-8")
    assert "data:image/png;base64," in html
    assert "data:image/svg+xml;base64," in html or "<svg" in html
    assert not re.search(r'(?:src|href)="(?!#|data:|mailto:|https?:|supplement\.html#)', html), "link to an external file"
    assert "<style" in html and "border-top" in html  # the manuscript CSS is embedded
    assert 'alt="Kaplan–Meier curve of overall survival"' in html  # fig-alt


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) not installed")
def test_pdf_text_has_numbers_crossrefs_and_citations(rendered):
    _, outputs = rendered
    text = _pdf_text(outputs["pdf"])
    for value in ("68 patients", "32.4% (21.51–44.79)", "13.2 (7.09–19.31)", "61 years",
                  "Figure 1: Change in the sum", "Figure 2: Kaplan–Meier estimate",
                  "Table 1: Best overall response", "Table 2: Kaplan–Meier landmark",
                  "described in Section 2", "Chen et al. [1]", "method [2,3]",
                  "1. Chen X, Li W", "4 Appendix", "Synthetic data", "March 1, 2025"):
        assert value in text, value
    assert "{{<" not in text and "?@" not in text


def test_pdf_date_comes_from_front_matter(rendered):
    _, outputs = rendered
    pdf = outputs["pdf"].read_bytes()
    assert b"2025-03-01" in pdf or b"D:20250301" in pdf


def test_render_is_deterministic(rendered, tmp_path):
    _, first = rendered
    project = _copy_fixture(tmp_path / "again")
    second = render(project, engine="pandoc")
    # same bytes, though the project lives elsewhere (absolute image paths do not leak)
    assert second["html"].read_bytes() == first["html"].read_bytes()
    assert second["pdf"].read_bytes() == first["pdf"].read_bytes()


# --------------------------------------------------------------------------- failures
@pytest.fixture
def project(tmp_path):
    project = _copy_fixture(tmp_path / "fx")
    render(project, engine="pandoc")
    return project


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _edit(file: Path, old: str, new: str) -> None:
    text = file.read_text(encoding="utf-8")
    assert old in text
    file.write_text(text.replace(old, new), encoding="utf-8")


def test_missing_variable_fails_naming_key_and_file_and_keeps_output(project):
    before = _snapshot(project / "_output")
    _edit(project / "index.qmd", "{{< var survival.pfs.median >}} months", "{{< var survival.pfs.mean >}} months")
    with pytest.raises(RenderError) as err:
        render(project, engine="pandoc")
    message = str(err.value)
    assert "survival.pfs.mean" in message
    assert "_variables.yml" in message and "index.qmd:" in message
    assert _snapshot(project / "_output") == before
    assert not list(project.glob(".render-*"))


def test_missing_variable_in_included_file_names_that_file(project):
    table = project.parent / "results" / "03-survival" / "tbl-landmarks.md"
    _edit(table, "survival.os.ci", "survival.os.cl")
    with pytest.raises(RenderError, match=r"tbl-landmarks\.md:\d+.*survival\.os\.cl"):
        render(project, engine="pandoc")


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("tbl-landmarks.md >}}", "tbl-nope.md >}}", "included file not found: .*tbl-nope.md"),
    ("fig-os-km.svg)", "fig-nope.svg)", "figure file.*not found.*fig-nope.svg"),
    ("described in @sec-methods", "described in @sec-nope", r"\?@sec-nope"),
    ("[@chen2025]", "[@nobody2024]", "citation nobody2024 not found"),
    ("{{< pagebreak >}}", "{{< embed nb.ipynb#fig-x >}}", "shortcode .*embed.* not supported"),
])
def test_render_errors_are_clear_and_keep_output(project, old, new, expected):
    before = _snapshot(project / "_output")
    _edit(project / "index.qmd", old, new)
    with pytest.raises(RenderError, match=expected):
        render(project, engine="pandoc")
    assert _snapshot(project / "_output") == before


def test_includes_resolve_relative_to_the_main_document_as_in_quarto(project):
    """Quarto resolves an include inside an included file relative to the main document (resolvePath
    in src/core/handlers/base.ts), not to the including file; the pandoc engine does the same."""
    section = project.parent / "results" / "03-survival"
    (section / "nested.md").write_text("{{< include results/03-survival/tbl-landmarks.md >}}\n", encoding="utf-8")
    _edit(project / "index.qmd", "{{< include results/03-survival/tbl-landmarks.md >}}",
          "{{< include results/03-survival/nested.md >}}")
    assert "Kaplan–Meier landmark" in render(project, engine="pandoc")["html"].read_text(encoding="utf-8")
    (section / "nested.md").write_text("{{< include tbl-landmarks.md >}}\n", encoding="utf-8")  # relative to itself
    with pytest.raises(RenderError, match=r"nested\.md:1: included file not found: tbl-landmarks\.md .*relative "
                                          r"to the main document"):
        render(project, engine="pandoc")


def test_cli_exits_nonzero_with_message_on_stderr(project, capsys):
    _edit(project / "index.qmd", "{{< var cohort.n >}} patients", "{{< var cohort.size >}} patients")
    assert rr.main([str(project), "--engine", "pandoc"]) == 1
    err = capsys.readouterr().err
    assert "render failed" in err and "cohort.size" in err


def test_quarto_engine_needs_quarto_and_auto_falls_back_to_pandoc(project, monkeypatch):
    monkeypatch.setattr(rr.shutil, "which", lambda name: None)
    with pytest.raises(RenderError, match="quarto is not on PATH"):
        render(project, engine="quarto")
    assert render(project, engine="auto")["pdf"].is_file()


# --------------------------------------------------------------------------- helpers
def test_check_no_unresolved():
    check_no_unresolved("<p>Figure 1 and Table 2</p>")
    for bad in ("{{< var a.b >}}", "{{&lt; var a.b &gt;}}", "see ?@fig-km", "?var:survival.os"):
        with pytest.raises(RenderError):
            check_no_unresolved(f"<p>{bad}</p>")
    assert rr.find_unresolved("?@fig-a, ?@fig-a and ?@tbl-b") == ["?@fig-a", "?@tbl-b"]


@pytest.mark.parametrize(("value", "text"), [
    (68, "68"), (5.6, "5.6"), (13.0, "13"), (True, "true"), ("7.30", "7.30"), ("32.4% (21.5–44.8)", "32.4% (21.5–44.8)"),
])
def test_format_value_prints_like_quarto(value, text):
    assert rr.format_value(value) == text


def test_normalise_authors_numbers_affiliations_in_order_of_use():
    authors, affs = rr.normalise_authors(
        [{"name": {"given": "Ada", "family": "Lovelace"}, "affiliations": [{"ref": "b"}, "Elsewhere"],
          "corresponding": True},
         {"name": "Alan Turing", "affiliations": ["b"]},
         "Grace Hopper"],
        [{"id": "b", "name": "Institute B", "country": "Utopia"}],
    )
    assert [a["name"] for a in authors] == ["Ada Lovelace", "Alan Turing", "Grace Hopper"]
    assert authors[0]["marks"] == "1,2" and authors[0]["corresponding"] is True
    assert authors[1]["marks"] == "1" and "marks" not in authors[2]
    assert affs == [{"mark": "1", "text": "Institute B, Utopia"}, {"mark": "2", "text": "Elsewhere"}]


def test_format_date():
    import datetime as dt
    assert rr.format_date(dt.date(2025, 3, 1)) == "March 1, 2025"
    assert rr.format_date(dt.date(2025, 3, 1), "D MMMM YYYY") == "1 March 2025"
    assert rr.format_date(dt.date(2025, 3, 1), "iso") == "2025-03-01"


def test_lua_filter_keeps_set_column_widths_and_sizes_the_others_to_content(tmp_path):
    """(shared.lua, so Quarto too) A wide pipe table keeps the relative widths its dashes set on purpose (markdown_table widths);
    with equal dashes the writer sizes the columns to their content."""
    import pandas as pd

    from analysis.report.results import markdown_table

    df = pd.DataFrame({"A": ["word " * 20], "B": [1]})
    src = tmp_path / "t.md"
    src.write_text(markdown_table(df, "Set.", "tbl-a", widths=(7, 4)) + "\n" + markdown_table(df, "Equal.", "tbl-b"),
                   encoding="utf-8")
    typ = subprocess.run([rr.resolve_pandoc().path, str(src), "--to", "typst", "--lua-filter", str(rr.SHARED_FILTER)],
                         capture_output=True, text=True, check=True).stdout
    # (3·7 + 1) : (3·4 + 1) dashes and colons
    assert re.findall(r"columns: ([^\n]*),", typ) == ["(62.86%, 37.14%)", "2"]


# --------------------------------------------------------------------------- the supplement
def test_supplement_numbers_its_tables_and_figures_S1_and_the_article_cites_them(rendered):
    _, outputs = rendered
    supp = _text(outputs["supplement.html"].read_text(encoding="utf-8"))
    assert "Table S1: Every published number" in supp and "Figure S1: Kaplan–Meier estimate" in supp
    assert "The scorecard of Table S1 runs over more than one page; Figure S1 repeats" in supp
    article = re.sub(r"\s+", " ", outputs["html"].read_text(encoding="utf-8"))
    assert '<a href="supplement.html#tbl-long">Supplementary Table S1</a>' in article
    assert '<a href="supplement.html#fig-supp-km">Supplementary Figure S1</a>' in article
    if shutil.which("pdftotext"):
        assert "Table S1: Every published number" in _pdf_text(outputs["supplement.pdf"])
        assert "Supplementary Table S1" in _pdf_text(outputs["pdf"])


def test_supplement_labels_are_numbered_in_order_of_definition():
    from analysis.report import crossdoc

    labels = crossdoc.supplement_labels("![A](a.svg){#fig-a}\n\n: T {#tbl-t}\n\n::: {#fig-b}\n![B](b.svg)\n\nB\n:::\n"
                                  "\nSee @tbl-t.\n\n: U {#tbl-u}\n")
    assert labels == {"fig-a": "Supplementary Figure S1", "tbl-t": "Supplementary Table S1",
                      "fig-b": "Supplementary Figure S2", "tbl-u": "Supplementary Table S2"}


def test_links_to_the_supplement_open_its_pdf_from_the_pdf(rendered):
    _, outputs = rendered
    pdf = outputs["pdf"].read_bytes()
    assert b"supplement.pdf#tbl-long" in pdf and b"supplement.html" not in pdf


# --------------------------------------------------------------------------- PDF layout
needs_poppler = pytest.mark.skipif(not pdf_checks.has_poppler(), reason="pdftotext/pdftoppm (poppler-utils) not installed")


@needs_poppler
def test_long_table_continues_on_the_next_page_without_overprinted_rows(rendered):
    _, outputs = rendered
    rows = pdf_checks.numbered_rows(outputs["supplement.pdf"], "number")
    assert sorted(rows) == list(range(1, 91)) and all(len(w) == 1 for w in rows.values())
    pages = sorted({where[0][0] for where in rows.values()})
    assert len(pages) >= 2, "the long table was not continued on the next page"
    assert pdf_checks.overprinted(rows) == []
    text = _pdf_text(outputs["supplement.pdf"])
    assert text.index("Table S1: Every published number") < text.index("number 001")  # caption above its rows
    assert text.index("number 090") < text.index("Off: the reproduction prints differently")  # note under them


def test_pdf_figures_carry_their_alt_text(rendered):
    """fig-alt reaches Typst's image(alt:) (shared.lua), so the PDF's structure tree has it."""
    _, outputs = rendered
    assert "Overall survival falls to 50 percent at 13.2 months" in pdf_checks.pdf_alt_texts(outputs["supplement.pdf"])
    assert "Kaplan–Meier curve of overall survival" in " ".join(pdf_checks.pdf_alt_texts(outputs["pdf"]))


def test_html_has_a_table_of_contents_linking_every_section(rendered):
    _, outputs = rendered
    html = outputs["html"].read_text(encoding="utf-8")
    toc = re.search(r'<nav id="TOC".*?</nav>', html, re.S).group(0)
    for anchor in ("sec-intro", "sec-methods", "sec-software", "sec-results", "sec-appendix"):
        assert f'href="#{anchor}"' in toc and f'id="{anchor}"' in html, anchor


def test_html_puts_the_appendix_after_the_references_as_quarto_does(rendered):
    _, outputs = rendered
    text = _text(outputs["html"].read_text(encoding="utf-8"))
    assert text.index("References 1. Chen X") < text.index("4 Appendix Details of the derivation")


# --------------------------------------------------------------------------- the right pandoc
FAKE_OLD_PANDOC = """#!/bin/sh
# a system pandoc too old for the pandoc engine (Debian's 2.17): it knows no typst writer
case "$*" in
  *--version*) echo "pandoc 2.17.1.1"; echo "Compiled with pandoc-types 1.22.2"; exit 0 ;;
  *typst*) echo "Unknown output format typst" >&2; exit 22 ;;
  *) echo "Unknown option --embed-resources" >&2; exit 6 ;;
esac
"""


@pytest.fixture
def old_pandoc(tmp_path):
    bin_dir = tmp_path / "oldbin"
    bin_dir.mkdir()
    fake = bin_dir / "pandoc"
    fake.write_text(FAKE_OLD_PANDOC, encoding="utf-8")
    fake.chmod(0o755)
    return fake


def test_a_system_pandoc_first_on_path_is_never_used(project, old_pandoc, monkeypatch):
    """Ten renders with an old pandoc first on PATH: ten successes (the engine runs the pandoc of
    pypandoc-binary, resolved once before any thread starts)."""
    monkeypatch.setenv("PATH", f"{old_pandoc.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("PYPANDOC_PANDOC", raising=False)
    assert shutil.which("pandoc") == str(old_pandoc)
    for _ in range(10):
        outputs = render(project, engine="pandoc")
        assert outputs["pdf"].read_bytes().startswith(b"%PDF")


def test_a_too_old_pandoc_is_refused_with_one_clear_line(project, old_pandoc, monkeypatch):
    monkeypatch.setenv("PYPANDOC_PANDOC", str(old_pandoc))
    before = _snapshot(project / "_output")
    with pytest.raises(RenderError, match=r"^pandoc 2\.17\.1 \(.*from PYPANDOC_PANDOC\) is too old: the pandoc "
                                          r"engine needs pandoc >= 3\.2") as err:
        render(project, engine="pandoc")
    assert "\n" not in str(err.value)
    assert _snapshot(project / "_output") == before


def test_a_too_old_typst_is_refused(monkeypatch):
    from importlib import metadata

    monkeypatch.setattr(metadata, "version", lambda name: "0.11.1")
    with pytest.raises(RenderError, match=r"typst 0\.11\.1 is too old: the pandoc engine needs typst >= 0\.13"):
        rr.check_typst()


def test_table_note_and_alt_text_reach_typst(tmp_path):
    """shared.lua (also run by Quarto): .table-note -> #rr-table-note[...], fig-alt -> image(alt:)."""
    src = tmp_path / "t.md"
    src.write_text('![Cap](f.svg){#fig-a fig-alt="What it shows" width="80%"}\n\n::: {.table-note}\nN: number.\n:::\n\n'
                   '| a | b |\n|---|---|\n| 1 | 2 |\n\n: T {#tbl-t}\n\n::: {.table-note}\nM: more.\n:::\n', encoding="utf-8")
    typ = subprocess.run([rr.resolve_pandoc().path, str(src), "--to", "typst", "--lua-filter", str(rr.SHARED_FILTER)],
                         capture_output=True, text=True, check=True).stdout
    assert '#box(image("f.svg", alt: "What it shows", width: 80%))' in typ
    assert "#rr-table-note(tbl: none)[" in typ and "N: number." in typ  # no table before it
    assert '#rr-table-note(tbl: "tbl-t")[' in typ and "M: more." in typ  # drawn under tbl-t, in its float
