"""The whole pipeline, end to end, through the Makefile: cohort files in, HTML and PDF out.

Runs `make` once on a copy of the synthetic cohort in a temporary output root (a module fixture),
then checks the report, the Make graph, privacy and the failure path on a malformed cohort.
"""
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
    assert (html.read_bytes(), html.stat().st_mtime_ns) == before


def test_changing_one_sections_params_reruns_that_section_and_the_report_only(build):
    """`make -W params/02-response.yaml -n`: what would run if that params file changed."""
    proc = _make(f"DATA={build['data']}", f"OUT={build['out']}", "-n", "-W", "params/02-response.yaml")
    ran = set(re.findall(r"notebooks/(\d\d-[a-z]+)\.ipynb", proc.stdout))
    # the scorecard reads every section's numbers; the sensitivity section every params file
    assert ran == {"02-response", "06-scorecard", "07-sensitivity"}
    assert "analysis.report.render" in proc.stdout


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
    assert f"{bad}: scenario 'x': unknown parameter '04-subgroups.tie'" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not list(out.glob("executed/*.ipynb")), "no notebook ran"
