"""The whole pipeline, end to end, through the Makefile: cohort files in, HTML and PDF out.

Runs `make` once on a copy of the synthetic cohort in a temporary output root (a module fixture),
then checks the report, the Make graph, privacy and the failure path on a malformed cohort.
"""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from analysis.paths import PROJ_ROOT, SYNTHETIC_DIR
from analysis.report.results import collect_numbers

pytestmark = pytest.mark.slow


def _make(*args, check=True, **kw):
    cmd = ["make", "-C", str(PROJ_ROOT), f"PY={sys.executable}", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "CI": "true"}, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    data = root / "cohort"
    shutil.copytree(SYNTHETIC_DIR, data)
    out = root / "out"
    _make(f"DATA={data}", f"OUT={out}")
    return {"data": data, "out": out, "report": out / "report" / "_output"}


def _pdf_text(pdf: Path) -> str:
    if shutil.which("pdftotext"):
        return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                              check=True).stdout
    pytest.skip("pdftotext (poppler-utils) not installed")


def test_html_and_pdf_exist_with_key_numbers(build):
    html = (build["report"] / "index.html").read_text(encoding="utf-8")
    nums = collect_numbers(build["out"] / "results")
    orr = f"{nums['response.orr.pct']:.1f}"
    pfs = f"{nums['survival.pfs.median']:.1f}"
    os_ = f"{nums['survival.os.median']:.1f}"
    for text in (orr, pfs, os_, "Synthetic data", "Table 1", "Table 3", "Figure 1"):
        assert text in html, text
    assert "{{<" not in html and "?@" not in html
    pdf = _pdf_text(build["report"] / "index.pdf")
    for text in (orr, pfs, os_, "Synthetic data"):
        assert text in pdf, text


def test_every_section_wrote_results_and_an_executed_notebook(build):
    for section in ("01-cohort", "02-response", "03-survival", "04-subgroups", "05-safety", "06-scorecard",
                    "07-sensitivity"):
        assert (build["out"] / "results" / section / "numbers.yaml").exists(), section
        assert (build["out"] / "executed" / f"{section}.ipynb").exists(), section
    manifest = yaml.safe_load((build["out"] / "results" / "03-survival" / "manifest.yaml").read_text())
    assert manifest["parameters"]["median_ci"] == "spss"
    assert set(manifest["inputs"]) == {"patients", "assessments", "adverse_events"}


def test_published_counts_are_reproduced(build):
    nums = collect_numbers(build["out"] / "results")
    assert nums["cohort.n"] == 68
    assert (nums["response.best.PR.n"], nums["response.best.SD.n"], nums["response.best.PD.n"],
            nums["response.best.NE.n"]) == (22, 28, 14, 4)
    assert nums["survival.pfs.events"] == 49 and nums["survival.os.events"] == 44
    assert nums["safety.any.any_n"] == 61 and nums["safety.any.grade3plus_n"] == 37
    assert round(nums["response.orr.lower"], 2) == 21.51 and round(nums["response.orr.upper"], 2) == 44.79


def test_second_make_is_a_no_op(build):
    proc = _make(f"DATA={build['data']}", f"OUT={build['out']}", "-q", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_identifier_or_patient_date_in_any_output(build):
    p = pd.read_csv(build["data"] / "patients.csv", dtype=str)
    cutoff = set(p["data_cutoff_date"])
    forbidden = set(p["patient_id"])
    for col in ("treatment_start_date", "progression_date", "death_date", "last_contact_date"):
        forbidden |= {d for d in p[col].dropna() if d not in cutoff}
    pattern = re.compile("|".join(re.escape(t) for t in sorted(forbidden, key=len, reverse=True)))
    leaks = []
    for f in build["out"].rglob("*"):
        if "validation" in f.parts:  # the data manager's row-level error log, never part of the report
            continue
        if f.is_file() and f.suffix in (".html", ".md", ".yaml", ".yml", ".csv", ".svg", ".ipynb", ".typ", ".json"):
            m = pattern.search(f.read_text(encoding="utf-8", errors="replace"))
            if m:
                leaks.append(f"{f.relative_to(build['out'])}: {m.group(0)}")
    pdf = _pdf_text(build["report"] / "index.pdf")
    m = pattern.search(pdf)
    if m:
        leaks.append(f"index.pdf: {m.group(0)}")
    assert not leaks, leaks


def test_malformed_cohort_stops_make_and_keeps_the_previous_report(build, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(build["data"], bad)
    p = pd.read_csv(bad / "patients.csv", dtype=str, keep_default_na=False)
    p.loc[4, "sex"] = "mael"
    p.to_csv(bad / "patients.csv", index=False)
    html = build["report"] / "index.html"
    before = html.read_bytes(), html.stat().st_mtime_ns
    proc = _make(f"DATA={bad}", f"OUT={build['out']}", check=False)
    assert proc.returncode != 0
    msg = proc.stdout + proc.stderr
    assert "patients" in msg and "sex" in msg and "mael" in msg
    assert re.search(r"\b6\b", msg), "the CSV line number (row 5 of data = line 6) is named"
    named = re.search(r"full list: (\S+)", msg)
    assert named and (PROJ_ROOT / named.group(1)).exists(), "the file the message points to exists"
    assert (html.read_bytes(), html.stat().st_mtime_ns) == before


def test_changing_one_sections_params_reruns_that_section_and_the_report_only(build):
    """`make -W params/02-response.yaml -n`: what would run if that params file changed."""
    proc = _make(f"DATA={build['data']}", f"OUT={build['out']}", "-n", "-W", "params/02-response.yaml")
    ran = set(re.findall(r"notebooks/(\d\d-[a-z]+)\.ipynb", proc.stdout))
    # the scorecard reads every section's numbers; the sensitivity section every params file
    assert ran == {"02-response", "06-scorecard", "07-sensitivity"}
    assert "analysis.report.render" in proc.stdout


# ---- issue #24: a failed step never damages the last good report --------------------------------

def _snapshot(*files):
    return [(f.read_bytes(), f.stat().st_mtime_ns) for f in files]


def test_failed_render_keeps_the_previous_report_byte_identical(build):
    """A render that fails (here an image reference that does not resolve) leaves HTML and PDF as they were."""
    qmd = build["out"] / "report" / "index.qmd"  # the build's copy of the manuscript
    text, stat = qmd.read_text(encoding="utf-8"), qmd.stat()
    outputs = [build["report"] / "index.html", build["report"] / "index.pdf"]
    before = _snapshot(*outputs)
    try:
        qmd.write_text(text + "\n![x](no-such-figure-from-a-sheet-name.png)\n", encoding="utf-8")
        proc = _make(f"DATA={build['data']}", f"OUT={build['out']}", check=False)
    finally:
        qmd.write_text(text, encoding="utf-8")
        os.utime(qmd, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert proc.returncode != 0
    assert "render failed" in proc.stderr and "Traceback" not in proc.stdout + proc.stderr
    assert _snapshot(*outputs) == before
    assert not list((build["out"] / "report").glob(".render-*"))


def test_a_bad_parameter_value_stops_make_before_any_notebook_runs(build, tmp_path):
    """A value no notebook accepts (median_ci: bogus) is named with its params file in one line, before any
    notebook runs; no traceback; the previous executed notebook and report stay as they were. (A notebook
    that fails for another reason prints one line through analysis.report.runner: tests/report/test_hostile_text.py.)"""
    params = tmp_path / "params"
    shutil.copytree(PROJ_ROOT / "params", params)  # copy2: the mtimes stay, so only the edited file is newer
    f = params / "03-survival.yaml"
    f.write_text(f.read_text().replace("median_ci: spss", "median_ci: bogus"))
    executed = build["out"] / "executed" / "03-survival.ipynb"
    before = _snapshot(executed, build["report"] / "index.html")
    proc = _make(f"DATA={build['data']}", f"OUT={build['out']}", f"PARAMS={params}", check=False)
    assert proc.returncode != 0
    # (#31) the line and column of the key that set it (params folders are overlays: analysis.report.params)
    assert f"{params}/03-survival.yaml:3:1: invalid value: median_ci must be one of" in proc.stderr
    assert "'bogus'" in proc.stderr and "Traceback" not in proc.stdout + proc.stderr
    assert "== running" not in proc.stdout
    assert _snapshot(executed, build["report"] / "index.html") == before
    assert not executed.with_name("03-survival.failed.ipynb").exists()


def test_results_of_two_cohorts_are_never_rendered_together(build):
    manifest = build["out"] / "results" / "03-survival" / "manifest.yaml"
    text, stat = manifest.read_text(encoding="utf-8"), manifest.stat()
    before = _snapshot(build["report"] / "index.html", build["report"] / "index.pdf")
    try:
        m = yaml.safe_load(text)
        m["inputs"]["patients"] = "0" * 64  # as if section 03 still held the previous cohort's results
        manifest.write_text(yaml.safe_dump(m), encoding="utf-8")
        proc = subprocess.run([sys.executable, "-m", "analysis.report.render", str(build["out"] / "report"),
                               "--results", str(build["out"] / "results")], capture_output=True, text=True,
                              cwd=PROJ_ROOT)
    finally:
        manifest.write_text(text, encoding="utf-8")
        os.utime(manifest, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert proc.returncode == 1
    assert "different input files" in proc.stderr and "03-survival" in proc.stderr
    assert _snapshot(build["report"] / "index.html", build["report"] / "index.pdf") == before


def test_synthetic_report_text_passes_the_matrix_checker(build):
    """The shipped cohort's report: true text (tests/test_report_matrix.py's checker) and the reproduction mode."""
    import html as html_mod

    sys.path.insert(0, str(Path(__file__).parent))
    from test_report_matrix import check_report, prose

    html = re.sub(r"\s+", " ", (build["report"] / "index.html").read_text(encoding="utf-8"))
    assert check_report(prose(html), collect_numbers(build["out"] / "results"), build["out"] / "results", 68) == []
    text = html_mod.unescape(html)
    assert "Reproduction of the published results" in text and "Comparison with the published study" not in text


def test_the_build_reproduces_the_committed_record_of_numbers(build):
    """What `make verify` checks, on this module's build: every number equals expected/numbers.yaml
    (after an intended change of results: make verify-record)."""
    from analysis.sensitivity import verify

    expected = yaml.safe_load(verify.EXPECTED_FILE.read_text(encoding="utf-8"))
    ok, message = verify.report(expected, verify.record(build["out"] / "results"))
    assert ok, message


def test_the_sensitivity_sections_base_is_what_the_sections_computed(build):
    nums = collect_numbers(build["out"] / "results")
    assert nums["sensitivity.base_check.mismatches"] == 0
    assert nums["sensitivity.multiverse.n_specifications"] >= 64
    html = (build["report"] / "index.html").read_text(encoding="utf-8")
    assert "Sensitivity analyses" in html and "fig-multiverse" in html


def test_a_bad_scenario_stops_make_before_any_notebook_runs(build, tmp_path):
    bad = tmp_path / "sensitivity.yaml"
    bad.write_text("scenarios:\n  - name: x\n    rationale: r\n    set: {04-subgroups: {tie: efron}}\n", encoding="utf-8")
    out = tmp_path / "out"
    proc = _make(f"DATA={build['data']}", f"OUT={out}", f"SCENARIOS={bad}", check=False)
    assert proc.returncode != 0
    assert f"{bad}:4:26: scenario 'x': unknown parameter '04-subgroups.tie'" in proc.stderr  # (#31) line, column
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not list(out.glob("executed/*.ipynb")), "no notebook ran"


def test_every_figure_of_the_report_is_shown_in_its_executed_notebook(build):
    """The executed notebooks are readable records: each figure a section saves is displayed in it (a PNG
    output per figure), each notebook opens with a statement of what it computes, tables show as tables."""
    for section_dir in sorted((build["out"] / "results").iterdir()):
        figures = sorted(section_dir.glob("fig-*.svg"))
        nb = json.loads((build["out"] / "executed" / f"{section_dir.name}.ipynb").read_text(encoding="utf-8"))
        outputs = [o for c in nb["cells"] for o in c.get("outputs", [])]
        shown = sum("image/png" in o.get("data", {}) for o in outputs)
        assert shown >= len(figures), f"{section_dir.name}: {len(figures)} figures saved, {shown} shown"
        assert nb["cells"][0]["cell_type"] == "markdown" and "Reads" in "".join(nb["cells"][0]["source"])
        assert any("text/html" in o.get("data", {}) for o in outputs), section_dir.name


def _article_main_text(html: str) -> str:
    """The article's main text as a reader counts it: from the Introduction to the end of the Discussion,
    without tables, figures, captions, styles and scripts."""
    import html as html_mod

    body = re.sub(r"<(style|script)\b.*?</\1>", " ", html, flags=re.S)
    start, end = body.index('id="sec-intro"'), body.index('id="sec-declarations"')
    main = body[start:end]
    main = re.sub(r"<(table|figure|figcaption|caption)\b.*?</\1>", " ", main, flags=re.S)
    main = re.sub(r"<h[1-6]\b.*?</h[1-6]>", " ", main, flags=re.S)
    return html_mod.unescape(re.sub(r"<[^>]+>", " ", main))


def test_article_has_at_most_3500_words_of_main_text_and_at_most_10_display_items(build):
    html = (build["report"] / "index.html").read_text(encoding="utf-8")
    words = len(_article_main_text(html).split())
    assert 500 < words <= 3500, words
    labels = set(re.findall(r'id="((?:tbl|fig)-[\w-]+)"', html))
    assert 3 <= len(labels) <= 10, sorted(labels)


def test_every_figure_caption_of_the_synthetic_article_starts_with_synthetic(build):
    html = (build["report"] / "index.html").read_text(encoding="utf-8")
    captions = [re.sub(r"<[^>]+>", "", c).strip()
                for c in re.findall(r"<figcaption\b[^>]*>(.*?)</figcaption>", html, flags=re.S)]
    assert captions and all(re.sub(r"^Figure\s*[\d.]+\s*:?\s*", "", c).startswith("Synthetic cohort.")
                            for c in captions), captions


def test_no_sentence_of_the_article_starts_with_a_numeral(build):
    html = (build["report"] / "index.html").read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", _article_main_text(html))
    starts = re.findall(r"(?:^|[.!?] )(\d[\w.%]*)", text)
    assert not starts, starts


def test_supplement_labels_cited_by_the_article_exist_in_the_supplement(build):
    from analysis.report import crossdoc

    html = (build["report"] / "index.html").read_text(encoding="utf-8")
    cited = set(re.findall(r'supplement\.(?:html|pdf)#([\w-]+)', html))
    labels = crossdoc.supplement_variables(build["out"] / "report")
    missing = [c for c in cited if c not in labels and not c.startswith("sec-")]
    assert cited and not missing, missing


# ---- issue #29: notebooks as pages, source links, every number's provenance ---------------------

def test_every_figure_and_table_has_a_source_link_whose_target_exists(build):
    """Under each figure and table of the HTML: "Source: 03-survival · cell fig-os-km", linking to the
    notebook page's anchor at the cell that wrote it (the page exists and has the anchor) and to the
    result files (SVG, CSV) beside the report."""
    html = (build["report"] / "index.html").read_text(encoding="utf-8")
    labels = sorted(set(re.findall(r'id="((?:fig|tbl)-[\w-]+)"', html)))
    assert len(labels) >= 5
    sources = re.findall(r'<p class="rr-source"><small>Source: <a href="([^"#]+)#([\w-]+)">(\S+) · cell ([\w-]+)</a>'
                         r'((?: · <a href="[^"]+">[^<]+</a>)+)</small></p>', html)
    by_label = {s[1]: s for s in sources}
    assert set(labels) <= set(by_label), set(labels) - set(by_label)
    for label in labels:
        page, anchor, section, cell, files = by_label[label]
        assert anchor == cell == label and page == f"notebooks/{section}.html"
        target = build["report"] / page
        assert target.is_file() and f'id="{label}"' in target.read_text(encoding="utf-8"), (label, target)
        for f in re.findall(r'href="([^"]+)"', files):
            assert (build["report"] / f).is_file(), f


def test_every_inserted_number_carries_its_key_notebook_cell_and_value(build):
    """Each {{< var key >}} of a section's result is a span with its key, section, cell (linking to it)
    and full value; the printed text is the variable's text."""
    html = (build["report"] / "index.html").read_text(encoding="utf-8")
    qmd = (build["out"] / "report" / "index.qmd").read_text(encoding="utf-8")
    prov = json.loads((build["out"] / "report" / "_provenance.json").read_text(encoding="utf-8"))
    # the date and running head are filled in as plain text before rendering (they are not in the body)
    front = qmd.split("\n---", 1)[0]
    plain = set(re.findall(r"^(?:date|running-head):.*?\{\{<\s*var\s+([\w.-]+)", front, flags=re.M))
    keys = [k for k in re.findall(r"\{\{<\s*var\s+([\w.-]+)\s*>\}\}", qmd) if k in prov and k not in plain]
    assert len(keys) >= 10
    spans = re.findall(r'<span class="rr-num" data-key="([^"]+)" data-section="([^"]+)" data-value="([^"]*)" '
                       r'title="[^"]*" data-cell="([^"]+)" data-href="([^"]+)">', html)
    found = {s[0]: s for s in spans}
    for key in keys:
        assert key in found, key
        _, section, _, cell, href = found[key]
        assert section == prov[key]["section"] and href == f"notebooks/{section}.html#cell-{cell}"
        assert f'id="cell-{cell}"' in (build["report"] / href.split("#")[0]).read_text(encoding="utf-8")
    assert "\ue000" not in html and "\ue002" not in html


def test_a_text_citing_a_key_no_section_wrote_fails_the_build(build, tmp_path):
    from analysis.report.render import RenderError, render

    project = build["out"] / "report-unknown-key"  # beside report/, so that ../results/ resolves
    shutil.copytree(build["out"] / "report", project, ignore=shutil.ignore_patterns("_output", ".render-*"))
    qmd = project / "index.qmd"
    qmd.write_text(qmd.read_text(encoding="utf-8") + "\nThe median was {{< var survival.os.no_such_key >}}.\n",
                   encoding="utf-8")
    try:
        with pytest.raises(RenderError, match="survival.os.no_such_key"):
            render(project, engine="pandoc")
        assert not (project / "_output" / "index.html").exists()
    finally:
        shutil.rmtree(project)


# ---- issue #28: pages a production editor accepts, alt text in the PDF, figures and tables in the TOC ----

def _pdf_checks():
    import importlib.util

    spec = importlib.util.spec_from_file_location("pdf_checks", Path(__file__).parent / "report" / "pdf_checks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    if not mod.has_poppler():
        pytest.skip("pdftoppm/pdftotext (poppler-utils) not installed")
    return mod


@pytest.mark.parametrize("doc", ["index", "supplement"])
def test_no_pdf_page_is_more_than_40_percent_empty_but_the_last_or_one_before_a_top_level_section(build, doc):
    """The longest empty stretch of each page's text area, from the page rendered at low resolution: at most
    40% of the page, except on a document's last page and on a page followed by a top-level section."""
    checks = _pdf_checks()
    pdf = build["report"] / f"{doc}.pdf"
    blank = checks.page_blank_fractions(pdf)
    pages = _pdf_text(pdf).split("\f")
    too_empty = []
    for i, fraction in enumerate(blank[:-1]):
        following = pages[i + 1].lstrip().splitlines()[1:4] if i + 1 < len(pages) else []
        before_section = any(re.match(r"\s*(\d+\s+[A-Z]|References|Declarations)", line) for line in following)
        if fraction > 0.40 and not before_section:
            too_empty.append((i + 1, round(fraction, 2)))
    assert not too_empty, too_empty


@pytest.mark.parametrize("doc", ["index", "supplement"])
def test_every_figure_of_the_pdf_has_alt_text_saying_what_it_shows(build, doc):
    """Each figure's fig-alt reaches the PDF's structure tree (Typst image(alt:)), as many as the HTML's
    images, and none names only the chart type."""
    checks = _pdf_checks()
    alts = checks.pdf_alt_texts(build["report"] / f"{doc}.pdf")
    html = (build["report"] / f"{doc}.html").read_text(encoding="utf-8")
    images = re.findall(r"<img\b[^>]*\balt=\"([^\"]*)\"", html)
    assert images and len(alts) >= len(images), (len(alts), len(images))
    for alt in alts:
        assert re.search(r"\d", alt) and not re.match(r"(?i)(dot plot|kaplan–meier curve|bar chart|flow diagram)\b",
                                                    alt), alt


@pytest.mark.parametrize("doc", ["index", "supplement"])
def test_every_figure_and_table_of_the_html_is_reachable_from_the_table_of_contents(build, doc):
    """Each figure and table sits in a section (or subsection) that the HTML's table of contents links to."""
    html = (build["report"] / f"{doc}.html").read_text(encoding="utf-8")
    toc = re.search(r'<nav[^>]*id="TOC".*?</nav>', html, re.S)
    assert toc, "no table of contents"
    linked = set(re.findall(r'href="#([\w-]+)"', toc.group(0)))
    body = html[toc.end():]
    section = None
    unreachable = []
    for m in re.finditer(r'<(?:section|h[1-6])\b[^>]*\bid="([\w-]+)"|\bid="((?:fig|tbl)-[\w-]+)"', body):
        if m.group(1) and m.group(1) in linked:
            section = m.group(1)
        elif m.group(2) and section is None:
            unreachable.append(m.group(2))
    assert not unreachable, unreachable


# --- #31: params folders are overlays: a one-line folder and an older copy of params/ build -------------
OLD_PARAMS = PROJ_ROOT / "tests" / "fixtures" / "params-2026-11-24"


def test_a_params_folder_holding_only_ties_efron_builds_the_whole_report(build, tmp_path):
    """`params-mine/04-subgroups.yaml` with the one line `ties: efron` (the README's example): make builds the
    whole report, 04 runs with Efron ties and every other parameter at its default; nothing is written into
    the folder."""
    mine = tmp_path / "params-mine"
    mine.mkdir()
    (mine / "04-subgroups.yaml").write_text("ties: efron\n", encoding="utf-8")
    out = tmp_path / "mine"
    proc = _make(f"DATA={build['data']}", f"OUT={out}", f"PARAMS={mine}", f"REUSE_FROM={build['out']}")
    assert sorted(p.name for p in mine.iterdir()) == ["04-subgroups.yaml"]
    assert "04-subgroups done in" in proc.stdout, "the changed section ran"
    assert f"section 03-survival: reused from {build['out']}" in proc.stdout, "an unchanged section was reused"
    sub = yaml.safe_load((out / "results" / "04-subgroups" / "manifest.yaml").read_text(encoding="utf-8"))
    base = yaml.safe_load((build["out"] / "results" / "04-subgroups" / "manifest.yaml").read_text(encoding="utf-8"))
    assert sub["parameters"] == {**base["parameters"], "ties": "efron"}
    html = (out / "report" / "_output" / "index.html").read_text(encoding="utf-8")
    assert "Efron ties" in html and "Breslow ties" not in html
    for f in ("index.pdf", "supplement.html", "supplement.pdf"):
        assert (out / "report" / "_output" / f).stat().st_size > 0
    assert collect_numbers(out / "results")["sensitivity.base_check.mismatches"] == 0


def test_a_copy_of_an_older_params_folder_still_builds(build, tmp_path):
    """params/ as copied on 2026-11-24 (tests/fixtures/params-2026-11-24: before cox_selection, cox_select_p,
    exclude_deaths_within, km_min_at_risk, 07-sensitivity.yaml and sensitivity.yaml existed). The issue saw
    `make PARAMS=` such a copy stop with "params/sensitivity.yaml: scenario 'cox-univariable': unknown parameter
    '04-subgroups.cox_selection'". It builds: every newer parameter takes its default, so the merged parameters
    are the current defaults' and each section is the base's (reused by its digest)."""
    old = tmp_path / "params-old"
    shutil.copytree(OLD_PARAMS, old)
    assert not (old / "07-sensitivity.yaml").exists() and "cox_selection" not in (old / "04-subgroups.yaml").read_text()
    out = tmp_path / "old"
    proc = _make(f"DATA={build['data']}", f"OUT={out}", f"PARAMS={old}", f"REUSE_FROM={build['out']}")
    assert "unknown parameter" not in proc.stdout + proc.stderr
    for s in ("01-cohort", "02-response", "03-survival", "04-subgroups", "05-safety", "06-scorecard"):
        assert f"section {s}: reused from {build['out']}" in proc.stdout, s
    assert (out / "report" / "_output" / "index.pdf").stat().st_size > 0
    assert collect_numbers(out / "results")["sensitivity.n_scenarios"] == \
        collect_numbers(build["out"] / "results")["sensitivity.n_scenarios"]
