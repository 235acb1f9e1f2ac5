"""The Makefile's guards (issue #24): bad arguments stop in one line before anything runs, an
output folder that cannot be written says so, and a second build into the same output folder
waits for the first (a lock on the folder).

These run `make` but stop before (or right after) validation, so they take seconds; the
whole-pipeline failure cases (a failed render or notebook keeps the previous report) are in
test_pipeline.py, which builds once.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import threading

import pytest

from analysis.paths import PROJ_ROOT, SYNTHETIC_DIR


def _make(*args, **kw):
    cmd = ["make", "-C", str(PROJ_ROOT), f"PY={sys.executable}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "CI": "true"}, **kw)


def test_data_path_with_spaces_is_rejected_in_one_line(tmp_path):
    data = tmp_path / "my cohort"
    shutil.copytree(SYNTHETIC_DIR, data)
    proc = _make(f"DATA={data}", f"OUT={tmp_path / 'out'}")
    assert proc.returncode != 0
    err = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(err) == 1 and "without spaces" in err[0], proc.stderr
    assert "overriding recipe" not in proc.stderr and "No rule to make target" not in proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["a`touch pwned`b", "a$$(touch pwned)b", "a'b", 'a"b'])
def test_data_path_with_shell_characters_is_rejected_in_one_line(tmp_path, name):
    proc = _make(f"DATA={tmp_path / name}", f"OUT={tmp_path / 'out'}", cwd=tmp_path)
    assert proc.returncode != 0
    assert "must not contain quotes" in proc.stderr or "without spaces" in proc.stderr, proc.stderr
    assert not (tmp_path / "pwned").exists() and not (PROJ_ROOT / "pwned").exists()


def test_date_format_in_make_points_to_cohort_yaml(tmp_path):
    proc = _make("DATE_FORMAT=DD/MM/YYYY", f"OUT={tmp_path / 'out'}", "validate")
    assert proc.returncode != 0
    assert "date_format: DD/MM/YYYY" in proc.stderr and "cohort.yaml" in proc.stderr


def test_unwritable_output_folder_says_cannot_write_not_invalid(tmp_path):
    # /proc refuses new folders even to root, so this holds whoever runs the tests
    proc = _make(f"DATA={SYNTHETIC_DIR}", "OUT=/proc/anlotinib-report-out", "validate")
    assert proc.returncode != 0
    assert "cannot write to /proc/anlotinib-report-out" in proc.stderr
    assert "invalid" not in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.skipif(shutil.which("flock") is None, reason="flock (util-linux) not installed")
def test_second_build_into_the_same_output_folder_waits_for_the_lock(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    with open(out / ".build.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # a first build, still running
        proc = subprocess.Popen(["make", "-C", str(PROJ_ROOT), f"PY={sys.executable}", f"DATA={SYNTHETIC_DIR}",
                                 f"OUT={out}", "validate"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env={**env, "CI": "true"})
        watchdog = threading.Timer(120, proc.kill)  # never hang the suite if the message does not come
        watchdog.start()
        try:
            lines = []
            for line in proc.stderr:  # the waiting message, whatever make prints before it
                lines.append(line)
                if "another build is writing to" in line:
                    break
            assert lines and "another build is writing to" in lines[-1] and "waiting" in lines[-1], lines
            assert not (out / "validation").exists()  # nothing ran while the lock was held
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)
    try:
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        watchdog.cancel()
    assert proc.returncode == 0, stderr
    assert (out / "validation" / "report-with-patient-ids.csv").exists()