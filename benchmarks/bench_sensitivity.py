"""Time `make -j2 sensitivity` (every shipped scenario as a complete report) and adding one scenario.

    .venv/bin/python benchmarks/bench_sensitivity.py            # about 3-5 minutes on 2 idle cores
    .venv/bin/python benchmarks/bench_sensitivity.py --no-write

1. ``make`` brings the main report up to date (not timed: ``make sensitivity`` starts after it).
2. ``build/sensitivity/`` is removed and ``make -j2 sensitivity`` builds the 16 shipped scenarios'
   reports from the base (each copies the base's validated data and every section whose digest is
   the base's: ``REUSE_FROM``), then the comparison page: wall time, CPU time of everything make
   started (``getrusage(RUSAGE_CHILDREN)``) and the one progress line per scenario.
3. Adding one scenario: the shipped scenarios file plus one more (``efron-log-ci``: Efron ties and
   the log median interval) in ``build/bench/sensitivity-plus.yaml``, then ``make -j2 sensitivity
   SCENARIOS=that file``: the main report's sensitivity section (its scenario table gains a row)
   and render, the new scenario's report, and the comparison. A ``make`` afterwards puts the main
   report back (not timed).

The figures, with the machine's load (``uptime``) at the start of each, are printed and written to
``benchmarks/results.md`` between the markers ``<!-- bench_sensitivity -->`` (``--no-write``:
print only). Targets (issue #31): the 16 scenarios in at most 180 s on 2 cores, one more in at
most 45 s. Nothing here is a test: timings depend on the machine and on what else runs on it.
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS_MD = ROOT / "benchmarks" / "results.md"
MARK = "<!-- bench_sensitivity -->"
EXTRA = """  - name: efron-log-ci
    rationale: Efron ties and the log-scale median interval together (R's defaults for both).
    set:
      03-survival: {median_ci: log}
      04-subgroups: {ties: efron, median_ci: log}
"""
TARGETS = {"all": 180.0, "one": 45.0}


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEFILES",
                                                             "BUILD_LOCK_HELD")}
    return {**env, "CI": "true"}


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def timed_make(*args) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(["make", "--no-print-directory", *args], capture_output=True, text=True, cwd=ROOT, env=_env())
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = [x for x in r.stdout.splitlines() if re.match(r"^\[\d+/\d+\] ", x)]
    if r.returncode != 0:
        print(r.stdout[-4000:], r.stderr[-4000:], sep="\n", file=sys.stderr)
    return {"wall": wall, "cpu": cpu, "rc": r.returncode, "lines": lines}


def verdict(wall: float, target: float) -> str:
    return f"target ≤ {target:.0f} s: {'met' if wall <= target else 'NOT met'}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    out = [MARK, "## Sensitivity scenarios (`benchmarks/bench_sensitivity.py`)", ""]

    def emit(text=""):
        print(text, flush=True)
        out.append(text)

    prep = timed_make("report")
    if prep["rc"] != 0:
        return 1
    shutil.rmtree(ROOT / "build" / "sensitivity", ignore_errors=True)
    start_load = load()
    allrun = timed_make(f"-j{args.jobs}", "sensitivity")
    emit(f"### `make -j{args.jobs} sensitivity`: the 16 shipped scenarios after `make`")
    emit()
    emit(f"Load at the start: `{start_load}`. Wall {allrun['wall']:.1f} s, CPU {allrun['cpu']:.1f} s, exit status "
         f"{allrun['rc']}: {verdict(allrun['wall'], TARGETS['all'])}.")
    emit()
    emit("```")
    for line in allrun["lines"]:
        emit(line)
    emit("```")
    emit()
    plus = ROOT / "build" / "bench" / "sensitivity-plus.yaml"
    plus.parent.mkdir(parents=True, exist_ok=True)
    plus.write_text((ROOT / "params" / "sensitivity.yaml").read_text(encoding="utf-8").rstrip("\n") + "\n" + EXTRA,
                    encoding="utf-8")
    one_load = load()
    one = timed_make(f"-j{args.jobs}", "sensitivity", f"SCENARIOS={plus.relative_to(ROOT)}")
    emit(f"### Adding one scenario (`efron-log-ci`), then `make -j{args.jobs} sensitivity`")
    emit()
    emit(f"Load at the start: `{one_load}`. Wall {one['wall']:.1f} s, CPU {one['cpu']:.1f} s, exit status "
         f"{one['rc']}: {verdict(one['wall'], TARGETS['one'])}. This includes the main report's sensitivity "
         "section and render (its scenario table gains the row) and the comparison page.")
    emit()
    emit("```")
    for line in one["lines"]:
        if "efron-log-ci" in line or "up to date" not in line:
            emit(line)
    emit(f"({sum('up to date' in x for x in one['lines'])} other scenarios: up to date)")
    emit("```")
    emit()
    emit(MARK)
    timed_make("report")  # the main report back to the shipped scenarios
    if not args.no_write:
        text = RESULTS_MD.read_text(encoding="utf-8") if RESULTS_MD.exists() else ""
        block = "\n".join(out) + "\n"
        if MARK in text:
            text = re.sub(re.escape(MARK) + r".*?" + re.escape(MARK) + r"\n?", lambda m: block, text, flags=re.S)
        else:
            text = text.rstrip("\n") + "\n\n" + block
        RESULTS_MD.write_text(text, encoding="utf-8")
        print(f"written: {RESULTS_MD.relative_to(ROOT)}")
    return 0 if allrun["rc"] == 0 and one["rc"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
