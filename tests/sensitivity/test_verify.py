"""The re-execution check: the committed record against a build's numbers."""
import subprocess
import sys

import yaml

from analysis.paths import PROJ_ROOT
from analysis.sensitivity import verify


def test_identical_and_different(folders):
    base, other = folders
    rec = verify.record(base)
    assert "cohort.git_commit" not in rec and "response.orr.ci" not in rec, "run-specific and text-only left out"
    assert verify.report(rec, verify.record(base)) == (True, f"all {len(rec)} numbers identical")
    ok, msg = verify.report(rec, verify.record(other))
    assert not ok
    assert verify.differences(rec, verify.record(other)).key.tolist() == ["response.extra", "response.method",
                                                                         "response.orr.pct"]


def test_command_line_record_then_check(tmp_path, folders):
    base, other = folders
    exp = tmp_path / "expected" / "numbers.yaml"
    run = lambda cmd, res: subprocess.run([sys.executable, "-m", "analysis.sensitivity.verify", cmd, str(res),  # noqa: E731
                                           "--expected", str(exp)], capture_output=True, text=True, cwd=PROJ_ROOT)
    assert run("record", base).returncode == 0
    assert yaml.safe_load(exp.read_text())["cohort.n"] == 68
    same = run("check", base)
    assert same.returncode == 0 and same.stdout.strip() == "all 3 numbers identical"
    diff = run("check", other)
    assert diff.returncode == 1 and "response.method" in diff.stdout and "make verify-record" in diff.stdout
