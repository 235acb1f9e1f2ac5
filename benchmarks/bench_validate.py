"""Time the validation step on large inputs (issue #30): a 10,000-patient cohort and a 50 MB CSV.

Each case runs ``python -m analysis.data.validate DATA --report ... --save ...`` (what ``make
validate`` runs) in a fresh process and records its wall time, CPU time and peak memory (the
child's maximum resident set size). The cohorts are the shipped synthetic patients resampled
(``make_cohort.py``); the 50 MB case is 110,000 patients, whose three CSV files hold 50 MB
(patients 16 MB, assessments 21 MB, adverse events 13 MB). Budget: well under a minute and under
1 GB each. Not a timed test: figures go to ``benchmarks/results.md``.

    .venv/bin/python benchmarks/bench_validate.py [--out build/bench/validate] [--only 10k|50mb] [--write]

``--write`` replaces the section between the ``bench_validate`` markers of ``benchmarks/results.md``.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from make_cohort import resample_cohort, write  # noqa: E402


def _cohort(folder: Path, n: int) -> Path:
    if not (folder / "patients.csv").is_file():
        write(resample_cohort(n, seed=1), folder)
    return folder


def _run(data: Path, out: Path) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "analysis.data.validate", str(data), "--report",
                           str(out / "report.csv"), "--save", str(out / "validated.pkl")],
                          cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"validation failed on {data}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    size = sum(f.stat().st_size for f in data.glob("*.csv"))
    return {"wall_s": wall, "cpu_s": cpu, "peak_mb": after.ru_maxrss / 1024, "input_mb": size / 2**20,
            "summary": proc.stdout.strip().splitlines()[-4] if proc.stdout.strip() else ""}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "bench" / "validate")
    ap.add_argument("--only", choices=("10k", "50mb"), default=None)
    ap.add_argument("--write", action="store_true", help="record the table in benchmarks/results.md")
    args = ap.parse_args(argv)
    lines = []
    say = lambda text: (print(text, flush=True), lines.append(text))  # noqa: E731
    cases = {"10k": ("10,000 patients", 10_000), "50mb": ("50 MB of CSV", 110_000)}
    import datetime as dt

    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    say(f"{stamp}, {os.cpu_count()} cores, load average at start {os.getloadavg()[0]:.1f} (the machine is "
        f"shared: wall time grows with the load, CPU time much less)")
    say("")
    say("| input | files (MB) | wall (s) | CPU (s) | peak memory (MB) | result |")
    say("|---|---|---|---|---|---|")
    for key, (label, n) in cases.items():
        if args.only and key != args.only:
            continue
        data = _cohort(args.out / f"n{n}", n)
        if key == "50mb":
            label += f" ({n:,} patients)"
        (args.out / f"out-{key}").mkdir(parents=True, exist_ok=True)
        r = _run(data, args.out / f"out-{key}")
        say(f"| {label} | {r['input_mb']:.0f} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['peak_mb']:.0f} | "
            f"{r['summary']} |")
    if args.write:
        _record(lines)
    return 0


START, END = "<!-- bench_validate: start -->", "<!-- bench_validate: end -->"


def _record(lines: list[str]) -> None:
    md = ROOT / "benchmarks" / "results.md"
    text = md.read_text(encoding="utf-8") if md.is_file() else ""
    section = "\n".join([START, "### Validation of large inputs (`benchmarks/bench_validate.py`)", "",
                          "`python -m analysis.data.validate DATA --report ... --save ...` in a fresh process "
                          "(what `make validate` runs); budget: well under a minute and under 1 GB.", "",
                          *lines, END])
    if START in text and END in text:
        text = text[:text.index(START)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    md.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
