"""No stale report (#29): make re-runs a section whose inputs changed whatever the file times say, and
the render refuses results that no longer match their inputs, naming the section and what changed.

One build of the sections (into a temporary OUT, with a copy of params/) serves every case; each case
asks `make -n` what would run (the digest check runs at parse time, so a dry run sees it) and
restores what it changed. Input files are given old times on purpose: make must not need them.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from analysis.paths import PARAMS_DIR, PROJ_ROOT, SYNTHETIC_DIR
from analysis.report import provenance as pv

pytestmark = pytest.mark.slow

OLD = 978_307_200  # 2001-01-01: older than any build


def _env():
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "CI")}
    return env


def _make(*args, check=True):
    cmd = ["make", "-C", str(PROJ_ROOT), f"PY={sys.executable}", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env())
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def _age(folder):
    for f in [folder, *folder.rglob("*")]:
        os.utime(f, (OLD, OLD))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("stale")
    data = root / "siteA" / "export"
    shutil.copytree(SYNTHETIC_DIR, data)
    params = root / "params"
    shutil.copytree(PARAMS_DIR, params)
    out = root / "out"
    proc = _make(f"DATA={data}", f"OUT={out}", f"PARAMS={params}", "sections")
    return {"root": root, "data": data, "params": params, "out": out, "log": proc.stdout + proc.stderr}


def _would_run(built, *args):
    """The sections (and whether the validation) a make with these arguments would run."""
    base = {"DATA": built["data"], "OUT": built["out"], "PARAMS": built["params"]}
    for a in args:
        k, v = a.split("=", 1)
        base[k] = v
    proc = _make(*(f"{k}={v}" for k, v in base.items()), "-n", "sections")
    ran = set(re.findall(r"analysis\.report\.runner (\d\d-[a-z]+)", proc.stdout))
    if "analysis.data.validate" in proc.stdout:
        ran.add("validation")
    return ran


def test_nothing_reruns_when_nothing_changed(built):
    assert _would_run(built) == set()


def test_a_clean_build_prints_no_kernel_warning_or_error_and_one_line_per_step(built):
    """No `[IPKernelApp] WARNING | Kernel is running over TCP ...` nor `ERROR | KeyboardInterrupt caught`;
    each step says when it starts and when it ends, with its time; no progress bar off a terminal."""
    log = built["log"]
    assert not [ln for ln in log.splitlines() if "WARNING" in ln or "ERROR" in ln or "IPKernelApp" in ln], log
    for n, section in enumerate(pv.SECTIONS, start=2):
        assert f"[{n}/9] {section} …" in log
        assert re.search(rf"^\[{n}/9\] {section} done in \d+\.\d s$", log, re.M), log
    assert "Executing:" not in log and "cell/s" not in log


def test_two_export_folders_of_different_sites_validate_the_second(tmp_path):
    """siteA/export and siteB/export get the same default OUT (build/export); here one OUT given for
    both: `make validate` on siteB after siteA validates siteB (invalid: exit 1), whatever the times."""
    a, b = tmp_path / "siteA" / "export", tmp_path / "siteB" / "export"
    shutil.copytree(SYNTHETIC_DIR, a)
    shutil.copytree(SYNTHETIC_DIR, b)
    p = b / "patients.csv"
    p.write_text(p.read_text().replace(",male,", ",mael,", 1))
    _age(b)
    out = tmp_path / "build" / "export"
    assert _make(f"DATA={a}", f"OUT={out}", "validate").returncode == 0
    proc = _make(f"DATA={b}", f"OUT={out}", "validate", check=False)
    assert proc.returncode != 0 and "Nothing to be done" not in proc.stdout
    assert "is invalid" in proc.stderr and "mael" in proc.stdout + proc.stderr
    # and back to siteA: valid again, the build follows
    assert _make(f"DATA={a}", f"OUT={out}", "validate").returncode == 0


def test_a_second_cohort_into_the_same_out_reruns_every_section(built, tmp_path):
    other = tmp_path / "cohort-b"
    shutil.copytree(built["data"], other)
    p = other / "patients.csv"
    p.write_text(p.read_text().replace(",male,", ",female,", 1))
    _age(other)
    assert _would_run(built, f"DATA={other}") == {"validation", *pv.SECTIONS}
    assert _would_run(built) == set()  # back to the first cohort: nothing to do


def test_a_changed_scenarios_file_reruns_the_sensitivity_section_only(built, tmp_path):
    full = yaml.safe_load((PARAMS_DIR / "sensitivity.yaml").read_text())
    two = tmp_path / "two.yaml"
    two.write_text(yaml.safe_dump({**full, "scenarios": full["scenarios"][:2]}))
    os.utime(two, (OLD, OLD))
    assert _would_run(built, f"SCENARIOS={two}") == {"07-sensitivity"}
    assert _would_run(built) == set()


def test_a_changed_parameter_reruns_and_the_render_names_the_params_file(built):
    f = built["params"] / "03-survival.yaml"
    text, st = f.read_text(), f.stat()
    try:
        f.write_text(text + "conf_level: 0.9\n")
        os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # same time: only the digest can see it
        assert _would_run(built) == {"03-survival", "06-scorecard", "07-sensitivity"}
        with pytest.raises(pv.ProvenanceError) as err:
            pv.check_results(built["out"] / "results")
        assert f"03-survival: its parameters ({built['params']}/common.yaml + {f})" in str(err.value)
        assert "nothing was rendered" in str(err.value)
    finally:
        f.write_text(text)
        os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert _would_run(built) == set()


def test_reuse_from_copies_every_section_whose_digest_is_unchanged(built, tmp_path):
    out2 = tmp_path / "out2"
    proc = _make(f"DATA={built['data']}", f"OUT={out2}", f"PARAMS={built['params']}",
                 f"REUSE_FROM={built['out']}", "sections")
    for s in pv.SECTIONS:
        assert f"section {s}: reused from {built['out']}" in proc.stdout
        assert f"{s} …" not in proc.stdout, "copied before make looked at file times: no runner started"
    assert "validation: reused" in proc.stdout and "validation …" not in proc.stdout
    assert pv.check_results(out2 / "results") == pv.check_results(built["out"] / "results")
    assert _make(f"DATA={built['data']}", f"OUT={out2}", f"PARAMS={built['params']}", "-q", "sections",
                 check=False).returncode == 0


def test_a_notebook_run_alone_reruns_it_and_the_render_refuses_it_until_then(built):
    """papermill on its own into the build's OUT rewrites results/05-safety without a digest: make
    re-runs 05 and the sections reading it, and the render refuses to mix it in."""
    res = built["out"] / "results" / "05-safety"
    keep = built["root"] / "05-safety.kept"
    shutil.copytree(res, keep)
    try:
        subprocess.run([sys.executable, "-m", "papermill", "notebooks/05-safety.ipynb", str(built["root"] / "side.ipynb"),
                        "-k", "anlotinib-report", "--no-progress-bar", "-p", "data", str(built["data"]),
                        "-p", "out", str(built["out"])], cwd=PROJ_ROOT, check=True, capture_output=True, env=_env())
        assert _would_run(built) == {"05-safety", "06-scorecard", "07-sensitivity"}
        with pytest.raises(pv.ProvenanceError) as err:
            pv.check_results(built["out"] / "results")
        assert "05-safety: no digest in its manifest" in str(err.value)
        proc = subprocess.run([sys.executable, "-m", "analysis.report.render", str(built["root"] / "no-report"),
                               "--results", str(built["out"] / "results")], capture_output=True, text=True,
                              cwd=PROJ_ROOT)
        assert proc.returncode == 1 and "05-safety" in proc.stderr and "Traceback" not in proc.stderr
    finally:
        shutil.rmtree(res)
        shutil.copytree(keep, res)
    assert _would_run(built) == set()
