"""Input text reaches the report by construction, as text (issue #30): every input-derived field is
fed a payload set and every output is checked (HTML, the PDF's text, the results files); the
privacy guard reads what a reader sees; a 14 mg dose and an unknown agent go through the tables.

Rendered with the real pandoc + Typst engine on a tiny manuscript built from the project's own
builders (data statement, comparison paragraph, provenance table, Table 1, Table 3, safety
paragraph, case report).
"""
from __future__ import annotations

import pickle
import shutil
import subprocess

import pandas as pd
import pytest

from analysis.data import cohort as cohort_mod
from analysis.data import escape
from analysis.paths import PROJ_ROOT
from analysis.report import framing, guard, results, tables, text
from analysis.report import render as rr
from analysis.synthetic import scorecard

PAYLOADS = {
    "backtick": "ward7` <script>alert(document.domain)</script> `",
    "html": "<svg onload=alert(1)><img src=x onerror=alert(2)>",
    "shortcode": "{{< var secret >}} {{< include _quarto.yml >}}",
    "typst": '#panic("typst") #set page(fill: red) $x^2$ <lbl> @ref',
    "link": "[click](javascript:alert(1)) ![x](nope.png)",
    "bidi": "gnp\u202e.exe \u2066iso\u2069",
}
LIVE = ("<script", "<svg", "<img src=x", 'href="javascript', "SPLICED", "\u202e", "\u2066")


@pytest.fixture(scope="module")
def synthetic():
    return cohort_mod.load_cohort(PROJ_ROOT / "data" / "synthetic")


def _project(folder, files: dict[str, str]):
    folder.mkdir(parents=True)
    (folder / "_quarto.yml").write_text("project:\n  type: manuscript\nmanuscript:\n  article: index.qmd\n",
                                        encoding="utf-8")
    (folder / "_variables.yml").write_text("secret: SPLICED-VARIABLE\n", encoding="utf-8")
    body = "".join(f"{{{{< include {name} >}}}}\n\n" for name in files)
    body += "## Scorecard {#sec-scorecard}\n\n" + "".join(f"| a |\n|---|\n| 1 |\n\n: t {{#tbl-{t}}}\n\n"
                                                        for t in ("scorecard-summary", "scorecard", "paper-audit"))
    (folder / "index.qmd").write_text("---\ntitle: T\ndate: 2025-01-01\n---\n\n" + body, encoding="utf-8")
    for name, md in files.items():
        (folder / name).write_text(md + "\n", encoding="utf-8")
    return folder


def _hostile_cohort(synthetic, payload: str):
    """The synthetic cohort with a payload as ICI agent of one patient and as an adverse-event term, and
    a 14 mg starting dose."""
    a = synthetic.analysis.copy()
    a.loc[1, "ici_agent"] = payload
    a.loc[2, "dose_mg"] = 14
    a.loc[2, "anlotinib_dose_mg"] = "mg14"
    ae = synthetic.adverse_events.copy()
    ae.loc[ae.index[0], "ae_term"] = payload
    return cohort_mod.Cohort(synthetic.patients, synthetic.assessments, ae, a, synthetic.options,
                             sources={"patients": f"/x/{payload}.xlsx#{payload}",
                                      "assessments": f"/x/{payload}.csv"},
                             sha256={"patients": "0" * 64}, warnings=None)


def _outputs(cohort, payload: str, tmp_path):
    from analysis.stats import safety

    meta = {"name": payload, "description": payload + "\n\nsecond paragraph " + payload, "synthetic": False}
    # the data statement as notebook 01 builds it (analysis.report.framing)
    statement = framing.data_statement(False, escape.markdown(meta["name"]), cohort.n,
                                       escape.markdown(meta["description"], multiline=True), 0)
    comp = pd.DataFrame({"within": [True, False, None]})
    prov, _ = tables.data_provenance(cohort)
    ae_sum = safety.ae_summary(cohort.treatment_related_aes().rename(columns={"subject": "patient_id"}),
                               cohort.n)
    labels = cohort_mod.columns("adverse_events")["ae_term"].labels if hasattr(cohort_mod, "columns") else {}
    from analysis.data.schema import columns

    labels = columns("adverse_events")["ae_term"].labels
    _, t1 = tables.table1(cohort)
    files = {
        "statement.md": "\n\n".join([statement["callout"], statement["short"], statement["methods"]]),
        "comparison.md": scorecard.comparison_text(comp, payload, cohort.n, 68),
        "prov.md": results.markdown_table(prov, "Files", "tbl-prov"),
        "t1.md": results.markdown_table(t1, "Table 1", "tbl-t1"),
        "t3.md": results.markdown_table(tables.table3(ae_sum, labels, cohort.n), "Table 3", "tbl-safety"),
        "safety.md": text.safety_paragraph(ae_sum, labels, cohort.n, 0),
    }
    project = _project(tmp_path / "p" / "report", files)
    return project, rr.render(project, engine="pandoc"), ae_sum


@pytest.mark.parametrize("kind", sorted(PAYLOADS))
def test_every_input_field_reaches_html_and_pdf_as_text(synthetic, tmp_path, kind):
    payload = PAYLOADS[kind]
    cohort = _hostile_cohort(synthetic, payload)
    _, out, _ = _outputs(cohort, payload, tmp_path)
    html = out["html"].read_text(encoding="utf-8")
    for live in LIVE:
        assert live not in html, live
    seen = " ".join(guard.html_text(html).replace("\u200b", "").split())  # zero-width space: {{ kept apart
    shown = escape.shown(payload)
    # the payload is printed literally (controls as escapes) in the data statement, tables and sentences
    assert seen.count(" ".join(shown.split())) >= 5, (kind, seen[:2000])
    if shutil.which("pdftotext"):
        pdf = subprocess.run(["pdftotext", str(out["pdf"]), "-"], capture_output=True, text=True).stdout
        flat = "".join(pdf.replace("\u200b", "").split())
        assert "".join(shown.split()) in flat and "SPLICED" not in pdf and "\u202e" not in pdf


def test_backtick_in_the_cohort_name_cannot_close_a_code_span_into_a_script(tmp_path):
    name = PAYLOADS["backtick"]
    md = scorecard.comparison_text(pd.DataFrame({"within": [True]}), name, 5, 68)
    assert "`" not in md.replace("\\`", "")
    project = _project(tmp_path / "report", {"c.md": md})
    html = rr.render(project, engine="pandoc")["html"].read_text(encoding="utf-8")
    assert "<script>alert" not in html and "&lt;script&gt;alert(document.domain)&lt;/script&gt;" in html


def test_fill_refuses_input_text_inside_markdown_syntax_it_cannot_protect():
    for template in ("`{x}`", "[a]({x})", "<a href='{x}'>", "{{{{< var {x} >}}}}", "![a](b){{#fig-{x}}}", "${x}$"):
        with pytest.raises(escape.UnsafeTemplate):
            escape.fill(template, x="v")
    assert escape.fill("**{x}** and *{y}*", x="<b>", y="`") == "**\\<b\\>** and *\\`*"


def test_dose_of_14_mg_and_an_unknown_agent_reach_table1_and_the_cox_design(synthetic):
    cohort = _hostile_cohort(synthetic, "Sintilimab-biosimilar")
    data, disp = tables.table1(cohort)
    dose = data[data["variable"] == "anlotinib_dose_mg"]
    assert list(dose["label"]) == ["8", "10", "12", "14"] and int(dose["n"].iloc[-1]) == 1
    assert "Sintilimab\\-biosimilar" in " ".join(disp["Characteristic"])
    design, terms, _ = tables.cox_design(cohort.analysis, {"anlotinib_dose_mg": "numeric"}, drop_single=True)
    assert sorted(design["anlotinib_dose_mg"].unique()) == [8, 10, 12, 14] and "mg" in terms["anlotinib_dose_mg"]
    _, steps, _ = tables.cox_design(cohort.analysis, {"anlotinib_dose_mg": None}, drop_single=True)
    assert steps["anlotinib_dose_mg"] == "per step (8 → 10 → 12 → 14)"
    from analysis.stats import compare

    a = cohort.analysis
    assert 0 <= compare.logrank_trend(a["pfs_months"], a["pfs_event"], a["dose_mg"]).p <= 1


def test_unknown_adverse_event_term_gets_a_safe_number_key(synthetic, tmp_path):
    cohort = _hostile_cohort(synthetic, "肝功能异常 {{< var x >}}")
    from analysis.stats import safety

    ae_sum = safety.ae_summary(cohort.treatment_related_aes().rename(columns={"subject": "patient_id"}),
                               cohort.n)
    keys = tables.safety_numbers(ae_sum)
    import re

    assert all(re.fullmatch(r"[a-z0-9_]+\.[a-z0-9_]+", k) for k in keys)
    assert any(re.fullmatch(r"var_x_[0-9a-f]{8}\.any_n", k) for k in keys)


def test_provenance_csv_holds_raw_text_not_markdown_escapes(synthetic, tmp_path):
    cohort = _hostile_cohort(synthetic, "ward_7 (2024).x")
    res = results.Results("01-cohort", tmp_path)
    prov, _ = tables.data_provenance(cohort)
    res.table("tbl-provenance", prov, "Files", data=tables.provenance_data(cohort))
    csv = pd.read_csv(tmp_path / "results" / "01-cohort" / "tbl-provenance.csv")
    assert "ward_7 (2024).x.xlsx#ward_7 (2024).x" in list(csv["File"]) and "\\" not in "".join(csv["File"])


# --------------------------------------------------------------------------- the guard sees what a reader sees

def _with_validated(tmp_path, synthetic):
    (tmp_path / "p" / "validation").mkdir(parents=True, exist_ok=True)
    with open(tmp_path / "p" / "validation" / "validated.pkl", "wb") as fh:
        pickle.dump({"tables": {"patients": synthetic.patients}}, fh)


@pytest.mark.parametrize("leak", ["SYN\\-017", "SYN-040 died 2024-12-24", "died 24/12/2024", "SYN&#8209;017"])
def test_guard_stops_the_render_when_the_page_shows_an_identifier_naming_no_identifier(
        synthetic, tmp_path, leak):
    _with_validated(tmp_path, synthetic)
    ids = cohort_mod.Cohort.identifiers(synthetic)
    assert "SYN-017" in ids and "2024-12-24" in ids
    project = _project(tmp_path / "p" / "report", {"d.md": f"Excluded after review: {leak}."})
    with pytest.raises(rr.RenderError) as e:
        rr.render(project, engine="pandoc")
    msg = str(e.value)
    assert "privacy" in msg and "index.html" in msg and "SYN" not in msg and "2024" not in msg
    assert not (project / "_output").exists()  # nothing published


def test_guard_lets_a_clean_page_through(synthetic, tmp_path):
    _with_validated(tmp_path, synthetic)
    project = _project(tmp_path / "p" / "report", {"d.md": "68 patients; cutoff 2025-01-20; p = 0.1016."})
    out = rr.render(project, engine="pandoc")
    assert out["html"].is_file() and out["pdf"].is_file()


def test_guard_reads_the_pdf_text_too(tmp_path):
    project = _project(tmp_path / "report", {"d.md": "Nothing to hide here: SYN-099."})
    out = rr.render(project, engine="pandoc")
    assert guard.find_in_outputs({"pdf": out["pdf"]}, ["SYN-099"]) == ["pdf"]
    assert guard.find_in_outputs({"pdf": out["pdf"], "html": out["html"]}, ["SYN-098"]) == []
