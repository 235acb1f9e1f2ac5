"""Time the calibration of the synthetic cohort and print its scorecard summary.

    .venv/bin/python benchmarks/bench_calibrate.py [--seed N] [--steps N] [--chains N]

Runs :func:`analysis.synthetic.build.calibrate` with the default settings (the ones `make calibrate`
uses), validates the result and scores it in-process with the project's statistics. The time is
wall clock; the target is under two minutes on two cores. No file is written.
"""
from __future__ import annotations

import argparse
import os
import time

import pandas as pd

from analysis.synthetic import build, calibrate


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=calibrate.DEFAULT_SEED)
    ap.add_argument("--steps", type=int, default=calibrate.DEFAULT_STEPS)
    ap.add_argument("--chains", type=int, default=2)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    tables = build.calibrate(args.seed, args.steps, args.chains)
    t1 = time.perf_counter()
    report = calibrate.validate_tables(tables)
    card, summary = calibrate.score(tables)
    t2 = time.perf_counter()
    print(f"cpus: {os.cpu_count()}  seed: {args.seed}  steps: {args.steps}  chains: {args.chains}")
    print(f"calibration: {t1 - t0:.1f} s; validation + scoring: {t2 - t1:.1f} s; total {t2 - t0:.1f} s")
    print(f"validation: {report.summary()}")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(summary)
    scored = card[~card["status"].isin(["inconsistent in paper", "not computed"])]
    print(f"exact among numbers not flagged by the audit and computed: "
          f"{(scored['status'] == 'exact').sum()} / {len(scored)}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
