"""Comparison of two results folders: every number, base and other, changed at printed precision or not."""
import subprocess
import sys

import pandas as pd

from analysis.paths import PROJ_ROOT
from analysis.sensitivity import compare


def test_changed_means_printed_differently(folders):
    base, other = folders
    c = compare.compare_numbers(compare.read_results(base), compare.read_results(other)).set_index("key")
    assert c.loc["response.orr.pct", "status"] == "same"  # 32.35 and 32.36 both print 32.4
    assert c.loc["response.orr.ci", "status"] == "changed"  # a text-only number
    assert c.loc["response.method", "status"] == "changed"
    assert c.loc["response.extra", "status"] == "only in other"
    assert c.loc["cohort.n", "status"] == "same"
    assert "cohort.git_commit" not in c.index, "run-specific values are left out"


def test_a_results_folder_or_its_output_root(folders):
    base, _ = folders
    assert compare.read_results(base) == compare.read_results(base / "results")


def test_command_line_writes_html_and_csv(tmp_path, folders):
    base, other = folders
    html, csv = tmp_path / "cmp.html", tmp_path / "cmp.csv"
    proc = subprocess.run([sys.executable, "-m", "analysis.sensitivity.compare", str(base), str(other),
                           "--html", str(html), "--csv", str(csv)], capture_output=True, text=True, cwd=PROJ_ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "other: 5 numbers, 2 changed at printed precision, 1 in one only" in proc.stdout
    df = pd.read_csv(csv, keep_default_na=False)
    assert list(df.columns) == ["scenario", *compare.COLUMNS]
    assert set(df.scenario) == {"other"} and len(df) == 5
    page = html.read_text(encoding="utf-8")
    assert "ORR, % (95% CI)" in page and "32.4 (22.4–44.2)" in page and "response.orr" not in page


def test_command_line_prints_the_changes_without_files(folders):
    base, other = folders
    proc = subprocess.run([sys.executable, "-m", "analysis.sensitivity.compare", str(base), str(other)],
                          capture_output=True, text=True, cwd=PROJ_ROOT)
    assert proc.returncode == 0 and "ORR, % (95% CI): 32.4 (21.5–44.8); other 32.4 (22.4–44.2)" in proc.stdout
    assert "response.orr" not in proc.stdout
    every = subprocess.run([sys.executable, "-m", "analysis.sensitivity.compare", str(base), str(other), "--all"],
                           capture_output=True, text=True, cwd=PROJ_ROOT)
    assert "response.orr.ci: 21.5–44.8 -> 22.4–44.2" in every.stdout and "response.orr.pct" not in every.stdout


def test_command_line_names_a_missing_folder(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "analysis.sensitivity.compare", str(tmp_path / "nope"),
                           str(tmp_path)], capture_output=True, text=True, cwd=PROJ_ROOT)
    assert proc.returncode == 2 and "nope" in proc.stderr and "Traceback" not in proc.stderr
