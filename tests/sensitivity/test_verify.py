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
    assert same.returncode == 0 and "**Result: all 3 numbers identical**" in same.stdout
    diff = run("check", other)
    assert diff.returncode == 1 and "response.method" in diff.stdout
    assert (other / "verification.md").read_text() in diff.stdout and (other / "verification.html").is_file()


def _certificate(expected, fresh, params_changed=(), modified=(), recorded=None):
    now = {"inputs": {"data/synthetic/patients.csv": "a" * 64, "params/03-survival.yaml": "b" * 64},
           "environment": {"python": "3.11.2", "packages": {"numpy": "2.4.6"}, "platform": "Linux x86_64"}}
    return verify.certificate(expected=expected, fresh=fresh, sections={"survival": "03-survival", "cohort": "01-cohort"},
                              recorded=recorded or {}, now=now, lock={"numpy": "2.4.6"},
                              params_changed=list(params_changed), modified=list(modified), seconds=12.34,
                              commit="abc123")


def test_the_certificate_names_a_changed_parameter_and_the_numbers_that_differ(tmp_path):
    """One parameter changed (params/03-survival.yaml conf_level 0.95 → 0.9): the certificate names the file
    and the parameter, lists the numbers that differ with both values, counts per section, and (the analysis
    was changed on purpose) says how to re-record."""
    params = tmp_path / "params"
    params.mkdir()
    committed = (PROJ_ROOT / "params" / "03-survival.yaml").read_text()
    (params / "03-survival.yaml").write_text(committed.replace("conf_level: 0.95", "conf_level: 0.9"))
    changes = verify.params_changes(params, {"03-survival.yaml": committed})
    assert changes == ["params/03-survival.yaml: conf_level 0.95 → 0.9"]
    expected = {"cohort.n": 68, "survival.os.lower": 7.09, "survival.os.median": 13.2}
    fresh = {"cohort.n": 68, "survival.os.lower": 8.01, "survival.os.median": 13.2}
    ok, text = _certificate(expected, fresh, changes, modified=["params/03-survival.yaml"])
    assert not ok
    assert "- params/03-survival.yaml: conf_level 0.95 → 0.9" in text
    assert "| `survival.os.lower` | 7.09 | 8.01 |" in text
    assert "- 01-cohort: 1 of 1 numbers identical" in text and "- 03-survival: 1 of 2 numbers identical" in text
    assert "make verify-record" in text and "work tree dirty" in text and "Time taken: 12.3 s" in text
    assert "`abc123`" in text and "SHA-256" in text and "| numpy | 2.4.6 | 2.4.6 |" in text


def test_a_reviewer_is_never_told_to_re_record():
    """Numbers differ on a clean tree with the committed parameters: the certificate says the environment
    differs from the record's and to send the certificate, never to run make verify-record."""
    recorded = {"commit": "abc123", "inputs": {"data/synthetic/patients.csv": "a" * 64},
                "environment": {"python": "3.11.2", "packages": {"numpy": "2.4.5"}, "platform": "Linux x86_64"}}
    ok, text = _certificate({"survival.os.lower": 7.09}, {"survival.os.lower": 7.1}, recorded=recorded)
    assert not ok and "make verify-record" not in text
    assert "numpy 2.4.6 (record: 2.4.5)" in text and "send this certificate" in text and "work tree clean" in text
    ok, text = _certificate({"survival.os.lower": 7.09}, {"survival.os.lower": 7.09}, recorded=recorded)
    assert ok and "**Result: all 1 numbers identical**" in text


def test_the_record_is_deterministic_and_says_what_it_was_made_with(tmp_path, folders):
    base, _ = folders
    exp = tmp_path / "numbers.yaml"
    run = lambda: subprocess.run([sys.executable, "-m", "analysis.sensitivity.verify", "record", str(base),  # noqa: E731
                                  "--expected", str(exp)], capture_output=True, text=True, cwd=PROJ_ROOT, check=True)
    run()
    first = exp.read_text()
    run()
    assert exp.read_text() == first
    numbers, made = verify.load_record(exp)
    assert numbers["cohort.n"] == 68 and "_made_with" not in numbers
    assert set(made) == {"commit", "inputs", "environment"}
    assert "params/03-survival.yaml" in made["inputs"] and "data/synthetic/patients.csv" in made["inputs"]
    assert made["environment"]["packages"]["numpy"]
