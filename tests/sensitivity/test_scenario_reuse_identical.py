"""A scenario's report that reuses the base's unchanged sections gives the numbers a from-scratch build of
the same parameters gives, for three scenarios (each changing another section)."""
import os
import subprocess

import pytest
import yaml

from analysis.paths import PARAMS_DIR, PROJ_ROOT
from analysis.report.results import collect_numbers
from analysis.sensitivity.compare import read_results, same_value

pytestmark = [pytest.mark.slow, pytest.mark.scenario_builds]

ENV = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "BUILD_LOCK_HELD")}
SCENARIOS = ("wilson-ci", "followup-reverse-km", "efron-ties")
RUN_SPECIFIC = ("cohort.git_commit",)


def make(*args):
    r = subprocess.run(["make", "--no-print-directory", "-j2", *args], capture_output=True, text=True,
                       cwd=PROJ_ROOT, env=ENV)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r.stdout


def test_reused_scenario_sections_give_the_numbers_of_a_from_scratch_build(tmp_path):
    rel = os.path.relpath(tmp_path, PROJ_ROOT)
    base = f"{rel}/base"
    make(f"OUT={base}", "sections")
    root = f"{rel}/sensitivity"
    subprocess.run([str(PROJ_ROOT / ".venv/bin/python"), "-m", "analysis.sensitivity.scenarios", "write",
                    str(PARAMS_DIR / "sensitivity.yaml"), "--params", "params", "--out", root,
                    "--only", ",".join(SCENARIOS)], check=True, cwd=PROJ_ROOT, env=ENV, capture_output=True)
    for name in SCENARIOS:
        params = f"{root}/{name}/params"
        reused_log = make(f"OUT={root}/{name}", f"PARAMS={params}", f"SCENARIOS={params}/sensitivity.yaml",
                          f"REUSE_FROM={base}", "sections")
        reused = [line.split()[1].rstrip(":") for line in reused_log.splitlines() if ": reused from " in line
                  and line.startswith("section ")]
        assert len(reused) >= 3, reused_log  # four of 01-05 are the base's
        make(f"OUT={rel}/scratch-{name}", f"PARAMS={params}", f"SCENARIOS={params}/sensitivity.yaml", "sections")
        fast, scratch = read_results(f"{PROJ_ROOT}/{root}/{name}"), read_results(f"{PROJ_ROOT}/{rel}/scratch-{name}")
        assert set(fast) == set(scratch)
        differ = [k for k in fast if k not in RUN_SPECIFIC and not same_value(fast[k][0], scratch[k][0])]
        texts = [k for k in fast if k not in RUN_SPECIFIC and fast[k][1] != scratch[k][1]]
        assert differ == [] and texts == [], (name, differ[:5], texts[:5])
        manifest = yaml.safe_load((PROJ_ROOT / root / name / "results" / reused[0] / "manifest.yaml").read_text())
        assert manifest.get("digest"), "a reused section carries the base's digest"


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _executed(folder):
    from analysis.report.runner import without_run_metadata

    return {p.name: without_run_metadata(p) for p in sorted((folder / "executed").glob("*.ipynb"))}


def test_make_sensitivity_through_the_fork_server_builds_the_bytes_of_fresh_processes(tmp_path):
    """make sensitivity starts its steps and kernels as forks of a warm server (analysis.report.forkserver);
    FORK=0 starts each as a process of its own. A scenario that re-runs all seven sections and the render
    gives the same results, executed notebooks (but for their times) and HTML and PDF both ways."""
    rel = os.path.relpath(tmp_path, PROJ_ROOT)
    name = "months-365"
    built = {}
    main_report = {}
    for how in ("forked", "fresh"):
        log = make(f"OUT={rel}/base", "sensitivity", f"ONLY={name}", *(["FORK=0"] if how == "fresh" else []))
        assert f"{name}: 7 sections re-run, 0 reused" in log, log
        assert ("== fork server: " in log) == (how == "forked"), log
        # ONLY builds a subset and leaves the main report as it is: every scenario in its table, and the second
        # run rewrites none of its files
        base = tmp_path / "base"
        shipped = yaml.safe_load((PARAMS_DIR / "sensitivity.yaml").read_text(encoding="utf-8"))["scenarios"]
        assert collect_numbers(base / "results")["sensitivity.n_scenarios"] == len(shipped)
        main_report[how] = {p: (p.stat().st_mtime_ns, p.read_bytes())
                            for d in ("results", "executed", "report/_output") for p in sorted((base / d).rglob("*"))
                            if p.is_file()}
        scenario = tmp_path / "base" / "sensitivity" / name
        built[how] = (_files(scenario / "results"), _executed(scenario),
                      {f: (scenario / "report/_output" / f).read_bytes()
                       for f in ("index.html", "index.pdf", "supplement.html", "supplement.pdf")})
        subprocess.run(["rm", "-rf", str(scenario)], check=True)
    assert built["forked"] == built["fresh"]
    assert main_report["forked"] == main_report["fresh"], "make sensitivity ONLY=... left the main report as it was"
