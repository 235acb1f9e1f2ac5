"""Input text never becomes markup, a shortcode or an include (issue #24), the render refuses a
results folder that mixes two cohorts, and the notebook runner fails in one line.

Hostile names are escaped by :mod:`analysis.data.escape` and pushed through the real pandoc +
Typst engine on a tiny manuscript; the runner is run on a two-cell notebook.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
import yaml

from analysis.data import cohort as cohort_mod
from analysis.data import escape
from analysis.report import render as rr
from analysis.report import framing, runner, tables

HOSTILE = ["<svg onload=alert(1)>", "{{< include _quarto.yml >}}", "{{< var secret >}}", "![x](nope.png)",
           "[click](javascript:alert(1))", "@fig-x ?@fig-y `code` *em* #h $m$ <b>bold</b> | pipe",
           "<script>alert('x')</script>"]


def _project(folder: Path, body: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "_quarto.yml").write_text("project:\n  type: manuscript\nmanuscript:\n  article: index.qmd\n"
                                        "secret-marker: SPLICED-CONFIG\n", encoding="utf-8")
    (folder / "_variables.yml").write_text("secret: SPLICED-VARIABLE\n", encoding="utf-8")
    (folder / "index.qmd").write_text("---\ntitle: T\ndate: 2025-01-01\n---\n\n" + body, encoding="utf-8")
    return folder


def test_hostile_names_reach_html_and_pdf_as_text(tmp_path):
    rows = "\n".join(f"| {escape.markdown(h)} |" for h in HOSTILE)
    (tmp_path / "p").mkdir()
    project = _project(tmp_path / "p" / "report", "{{< include prov.md >}}\n")
    (project / "prov.md").write_text(f"| File |\n|---|\n{rows}\n\n: Files {{#tbl-prov}}\n", encoding="utf-8")
    out = rr.render(project, engine="pandoc")
    html = out["html"].read_text(encoding="utf-8")
    assert "<svg" not in html and "<script>alert" not in html and "<img" not in html
    assert "javascript:" not in html.split("<td>", 1)[0]  # no link was made
    assert 'href="javascript' not in html
    assert "SPLICED" not in html  # neither include nor var ran
    assert "&lt;svg onload=alert(1)&gt;" in html
    assert out["pdf"].stat().st_size > 0
    if shutil.which("pdftotext"):
        pdf = subprocess.run(["pdftotext", str(out["pdf"]), "-"], capture_output=True, text=True).stdout
        assert "<svg onload=alert(1)>" in pdf and "SPLICED" not in pdf


def test_escaped_shortcode_in_an_included_file_is_not_expanded(tmp_path):
    project = _project(tmp_path / "report", "{{< include t.md >}}\n")
    text = escape.markdown("{{< include _quarto.yml >}}")
    (project / "t.md").write_text(text + "\n", encoding="utf-8")
    assert rr.expand_shortcodes(project / "index.qmd", project).rstrip().endswith(text)


@pytest.mark.parametrize("name", HOSTILE)
def test_typst_escape_compiles_to_the_literal_text(name):
    import typst

    pdf = typst.compile(("#set page(width: 20cm, height: auto)\n" + escape.typst(name)).encode(),
                        format="pdf", ignore_system_fonts=True)
    assert pdf.startswith(b"%PDF")


def test_html_and_yaml_escapes():
    assert escape.html("<svg onload=\"x\">") == "&lt;svg onload=&quot;x&quot;&gt;"
    for h in HOSTILE + ["a: b\n- c", "'\"", "\x1b[2J"]:
        assert yaml.safe_load("k: " + escape.yaml_scalar(h))["k"] == h


def test_provenance_table_escapes_file_and_sheet_names():
    cohort = SimpleNamespace(sources={"patients": "/data/x/cohort.xlsx#<svg onload=alert(1)>",
                                      "assessments": "/data/x/{{< include manifest.yaml >}}.csv"},
                             sha256={}, warnings=None)
    prov, _ = tables.data_provenance(cohort)
    html = _html(" ".join(f"[{f}]" for f in prov["File"]))
    assert "<svg" not in html and "{{&lt;" not in html
    assert "cohort.xlsx#&lt;svg onload=alert(1)&gt;" in html


def _html(markdown: str) -> str:
    import pypandoc

    return pypandoc.convert_text(markdown, "html", format="markdown", extra_args=["--wrap=none"])


@pytest.mark.parametrize("synthetic", [False, True])
def test_data_statement_escapes_cohort_yaml_name_and_description(synthetic):
    meta = {"name": "<svg onload=alert(1)>`x`", "description": "<script>alert(2)</script>\n\n{{< include a >}}",
            "synthetic": synthetic}
    # as notebook 01 builds it (analysis.report.framing)
    texts = framing.data_statement(synthetic, escape.markdown(meta["name"]), 5,
                                   escape.markdown(meta["description"], multiline=True), 0)
    # the statement's own cross-document shortcodes are the render step's to fill in, not input text
    import re

    html = _html(re.sub(r"\{\{< var supp\.[\w-]+ >\}\}", "Supplementary Table S1", "\n\n".join(texts.values())))
    assert "<svg" not in html and "<script" not in html and "{{&lt;" not in html
    assert "&lt;svg onload=alert(1)&gt;`x`" in html and "&lt;script&gt;alert(2)&lt;/script&gt;" in html


def _manifest(folder: Path, section: str, patients_sha: str):
    (folder / section).mkdir(parents=True)
    (folder / section / "manifest.yaml").write_text(yaml.safe_dump(
        {"section": section, "inputs": {"patients": patients_sha, "assessments": "b"}}), encoding="utf-8")


def test_render_refuses_results_that_mix_two_cohorts(tmp_path, capsys):
    results = tmp_path / "results"
    _manifest(results, "01-cohort", "new")
    _manifest(results, "02-response", "new")
    _manifest(results, "03-survival", "old")
    with pytest.raises(rr.RenderError, match="01-cohort, 02-response; 03-survival"):
        rr.check_results_consistent(results)
    project = _project(tmp_path / "report", "Hello.\n")
    assert rr.main([str(project), "--results", str(results)]) == 1
    assert "different input files" in capsys.readouterr().err
    assert not (project / "_output").exists()  # nothing was rendered


def test_render_accepts_results_of_one_cohort(tmp_path):
    results = tmp_path / "results"
    _manifest(results, "01-cohort", "a")
    _manifest(results, "02-response", "a")
    assert rr.check_results_consistent(results) == {"patients": "a", "assessments": "b"}


def test_render_internal_error_is_one_line_with_a_log(tmp_path, monkeypatch, capsys):
    project = _project(tmp_path / "report", "Hello.\n")

    def bug(*a, **kw):
        raise KeyError("oops")
    monkeypatch.setattr(rr, "render", bug)
    assert rr.main([str(project)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "render step: internal error KeyError" in err and "Traceback" not in err
    assert "Traceback" in (project / "render.log").read_text(encoding="utf-8")


def _notebook(path: Path, code: str):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(code)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))


@pytest.mark.slow  # two kernel starts (about 5-10 s)
def test_failed_notebook_is_one_line_keeps_the_previous_output_and_the_failed_notebook(tmp_path):
    nb = tmp_path / "03-x.ipynb"
    out = tmp_path / "executed" / "03-x.ipynb"
    out.parent.mkdir()
    out.write_bytes(b"previous")
    params = tmp_path / "p.yaml"
    params.write_text("x: 2\n", encoding="utf-8")
    _notebook(nb, "raise ValueError(f'no such median_ci {x!r}')")
    cmd = [sys.executable, "-m", "analysis.report.runner", "03-x", str(nb), str(out), "-k", "python3",
           "--cwd", str(tmp_path), "-f", str(params), "-p", "x", "3", "--no-progress-bar"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 1
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("section ")]
    assert lines == [f"section 03-x failed: ValueError: no such median_ci 3 (the executed notebook with the "
                     f"traceback: {out.with_name('03-x.failed.ipynb')})"]
    assert "Traceback" not in proc.stdout + proc.stderr
    assert out.read_bytes() == b"previous"
    assert out.with_name("03-x.failed.ipynb").exists()
    assert not list(out.parent.glob("*.tmp-*"))


def test_runner_success_moves_the_notebook_into_place_and_removes_an_old_failed_one(tmp_path, monkeypatch):
    import papermill

    out = tmp_path / "executed" / "02-x.ipynb"
    out.parent.mkdir()
    out.with_name("02-x.failed.ipynb").write_text("old failure")
    written = []

    def fake_execute(src, dest, **kw):
        written.append((dest, kw["parameters"], kw["kernel_name"], kw["cwd"]))
        Path(dest).write_text(json.dumps(executed))
    executed = {"cells": [{"id": "a1b2c3d4", "cell_type": "code", "metadata": {"tags": ["injected-parameters"]},
                           "source": "x = 1", "outputs": [], "execution_count": 1}], "metadata": {}}
    monkeypatch.setattr(papermill, "execute_notebook", fake_execute)
    runner.run("02-x", tmp_path / "nb.ipynb", out, parameters={"x": 1}, kernel="k", cwd="/w")
    executed["cells"][0]["id"] = "injected-parameters"  # papermill's random id, made fixed
    assert out.read_text() == json.dumps(executed, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    assert written[0][0] != str(out) and written[0][1:] == ({"x": 1}, "k", "/w")  # a temporary file first
    assert not out.with_name("02-x.failed.ipynb").exists()
    assert sorted(p.name for p in out.parent.iterdir()) == ["02-x.ipynb"]


def test_runner_parameters_merge_like_papermill(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("x: 1\nwhen: 2024-01-02\ny: [1, 2]\n", encoding="utf-8")
    b.write_text("x: 2\n", encoding="utf-8")
    got = runner.merged_parameters([str(a), str(b)], [("x", "3"), ("data", "data/raw/a b")])
    assert got == {"x": 3, "when": "2024-01-02", "y": [1, 2], "data": "data/raw/a b"}


def test_runner_failure_line_escapes_control_characters():
    exc = SimpleNamespace(ename="ValueError", evalue="bad \x1b[2J\nsecond line")
    assert runner.failure_line("01-cohort", exc) == "section 01-cohort failed: ValueError: bad \\x1b[2J second line"
