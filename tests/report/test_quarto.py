"""Quarto and the pandoc engine give the same documents (marked ``quarto``; skipped without
``quarto`` on PATH, e.g. ``PATH=$HOME/.cache/quarto-from-source/bin:$PATH``).

Each engine renders the render fixture (tests/fixtures/render: article + supplement, a table
longer than a page, figures, includes, variables) and, when it has been built, the project's own
report (``make`` first: report/_variables.yml and results/); the HTML of both must have the same
headings, tables (row counts), figures and numbers, no unresolved shortcode; the PDFs' long tables
continue on the next page without overprinted rows; and Quarto writes nothing that git would see.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from analysis.paths import PROJ_ROOT, TESTS_DIR
from analysis.report.render import find_unresolved, render

import pdf_checks  # tests/report/pdf_checks.py

pytestmark = [pytest.mark.quarto,
              pytest.mark.skipif(shutil.which("quarto") is None, reason="quarto not on PATH")]

FIXTURE = TESTS_DIR / "fixtures" / "render"
DOCS = ("index", "supplement")


def _both_engines(tmp: Path, project: Path, results: Path | None = None) -> dict[str, dict[str, Path]]:
    return {engine: render(project, engine=engine, output_dir=tmp / engine, results_dir=results)
            for engine in ("pandoc", "quarto")}


@pytest.fixture(scope="module")
def fixture_outputs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("quarto")
    shutil.copytree(FIXTURE, tmp / "fx")
    (tmp / "fx" / "sections").rename(tmp / "fx" / "results")  # committed as sections/ (see test_render)
    return _both_engines(tmp, tmp / "fx" / "report")


def _html(outputs: dict[str, Path], doc: str) -> str:
    return outputs["html" if doc == "index" else f"{doc}.html"].read_text(encoding="utf-8")


@pytest.mark.parametrize("doc", DOCS)
def test_quarto_and_the_pandoc_engine_give_the_same_html(fixture_outputs, doc):
    pandoc, quarto = (pdf_checks.html_structure(_html(fixture_outputs[e], doc)) for e in ("pandoc", "quarto"))
    assert quarto["headings"] == pandoc["headings"]
    assert quarto["tables"] == pandoc["tables"]
    assert quarto["figures"] == pandoc["figures"]
    assert quarto["numbers"] == pandoc["numbers"]
    for engine in ("pandoc", "quarto"):
        assert find_unresolved(_html(fixture_outputs[engine], doc)) == [], engine


def test_quarto_numbers_the_supplement_S1_and_the_article_cites_it(fixture_outputs):
    quarto = fixture_outputs["quarto"]
    supp = pdf_checks.html_structure(_html(quarto, "supplement"))["text"]
    assert "Table S1: Every published number" in supp and "Figure S1: Kaplan–Meier estimate" in supp
    assert "Supplementary Table S1" in pdf_checks.html_structure(_html(quarto, "index"))["text"]
    if pdf_checks.has_poppler():
        text = " ".join(w[5] for w in pdf_checks.pdf_words(quarto["supplement.pdf"]))
        assert "Table S1: Every published number" in text and "The scorecard of Table S1 runs" in text


def test_quarto_html_has_no_shortcode_in_its_metadata(fixture_outputs):
    """No google-scholar <meta> copies the abstract's {{< var >}} raw."""
    html = _html(fixture_outputs["quarto"], "index")
    assert "citation_abstract" not in html and "{{&lt;" not in html and "{{<" not in html


@pytest.mark.skipif(not pdf_checks.has_poppler(), reason="pdftotext (poppler-utils) not installed")
@pytest.mark.parametrize("engine", ("pandoc", "quarto"))
def test_long_tables_continue_on_the_next_page_in_both_engines(fixture_outputs, engine):
    rows = pdf_checks.numbered_rows(fixture_outputs[engine]["supplement.pdf"], "number")
    assert sorted(rows) == list(range(1, 91)) and all(len(w) == 1 for w in rows.values())
    assert len({w[0][0] for w in rows.values()}) >= 2
    assert pdf_checks.overprinted(rows) == []


def test_quarto_pdf_figures_carry_their_alt_text(fixture_outputs):
    alts = pdf_checks.pdf_alt_texts(fixture_outputs["quarto"]["supplement.pdf"], structure_tree=False)
    assert "Overall survival falls to 50 percent at 13.2 months" in alts


# ------------------------------------------------------------------------ the project's own report
def _git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=PROJ_ROOT,
                          capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def report_outputs(tmp_path_factory):
    report, results = PROJ_ROOT / "report", PROJ_ROOT / "results"
    if not (report / "_variables.yml").is_file() or not results.is_dir():
        pytest.skip("the report has not been built here (run make first)")
    before = _git_status()
    outputs = _both_engines(tmp_path_factory.mktemp("report"), report, results)
    return before, outputs


def test_quarto_renders_the_report_like_the_pandoc_engine_and_leaves_git_clean(report_outputs):
    before, outputs = report_outputs
    assert _git_status() == before, "rendering wrote into the source tree"
    for doc in DOCS:
        pandoc, quarto = (pdf_checks.html_structure(_html(outputs[e], doc)) for e in ("pandoc", "quarto"))
        assert (quarto["headings"], quarto["tables"], quarto["figures"]) == \
               (pandoc["headings"], pandoc["tables"], pandoc["figures"]), doc
        assert quarto["numbers"] == pandoc["numbers"], doc
        assert find_unresolved(_html(outputs["quarto"], doc)) == [], doc


@pytest.mark.skipif(not pdf_checks.has_poppler(), reason="pdftotext/pdftoppm (poppler-utils) not installed")
@pytest.mark.parametrize("engine", ("pandoc", "quarto"))
def test_report_pdf_tables_are_never_overprinted(report_outputs, engine):
    """No two words of a page are printed over each other (the long appendix tables' last rows were
    overprinted at the page foot before they could break across pages)."""
    _, outputs = report_outputs
    for name in ("pdf", "supplement.pdf"):
        words = pdf_checks.pdf_words(outputs[engine][name])
        by_page: dict[int, list[tuple[float, float, float, float]]] = {}
        for page, x0, y0, x1, y1, _ in words:
            by_page.setdefault(page, []).append((x0, y0, x1, y1))
        for page, boxes in by_page.items():
            overlaps = [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:i + 40]
                        if a[0] < b[2] - 1 and b[0] < a[2] - 1
                        and min(a[3], b[3]) - max(a[1], b[1]) > 0.4 * min(a[3] - a[1], b[3] - b[1])]
            assert not overlaps, f"{engine} {name} page {page}: words printed over each other {overlaps[:3]}"
