"""Benchmark the statistics layer against R survival on simulated data.

    .venv/bin/python benchmarks/bench_stats.py --sizes 1e3 1e5 1e6

Times (wall clock, best of ``--repeat``) and peak traced memory (tracemalloc,
separate pass) for: Kaplan–Meier + median with CI, 2-group log-rank, and a
5-covariate Breslow Cox model. When ``Rscript`` is on PATH, the same data are
written once to a temporary CSV and R times ``survfit`` + ``quantile``,
``survdiff`` and ``coxph(ties = "breslow")`` with ``system.time`` (reading the
CSV is not timed); R's memory is ``gc()``'s "max used" after a reset.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc

import numpy as np
import pandas as pd

from analysis.stats import compare, km
from analysis.stats.control import CoxControl, SurvControl

COVS = ["age", "sex", "ecog", "x4", "x5"]


def simulate(n: int, seed: int = 2024) -> pd.DataFrame:
    """Exponential survival with 5 covariates, uniform censoring, times to 0.1 month (ties)."""
    rng = np.random.default_rng(seed)
    age = rng.normal(62, 9, n)
    sex = rng.integers(0, 2, n).astype(float)
    ecog = rng.integers(0, 3, n).astype(float)
    x4 = rng.normal(0, 1, n)
    x5 = rng.integers(0, 2, n).astype(float)
    lp = 0.02 * (age - 62) + 0.3 * sex + 0.4 * ecog - 0.2 * x4 + 0.1 * x5
    t_event = rng.exponential(10.0 * np.exp(-lp))
    t_cens = rng.uniform(1, 36, n)
    time_ = np.maximum(np.round(np.minimum(t_event, t_cens), 1), 0.1)
    event = (t_event <= t_cens).astype(int)
    return pd.DataFrame({"time": time_, "status": event, "age": age, "sex": sex, "ecog": ecog, "x4": x4, "x5": x5})


def py_tasks(df):
    ctrl = SurvControl(median_ci="log-log")
    return {
        "KM + median CI": lambda: km.median(km.kaplan_meier(df.time, df.status), ctrl),
        "log-rank (2 groups)": lambda: compare.logrank(df.time, df.status, df.sex),
        "Cox Breslow (5 cov)": lambda: compare.cox(df, "time", "status", COVS, CoxControl(ties="breslow")),
    }


def time_it(fn, repeat):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def peak_mb(fn):
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


R_SCRIPT = r"""
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
run <- function(label, expr) {
  invisible(gc(reset = TRUE))
  tm <- system.time(force(expr()))[["elapsed"]]
  g <- gc()
  cat(sprintf("%s\t%.6f\t%.1f\n", label, tm, sum(g[, ncol(g)])))
}
run("KM + median CI", function() quantile(survfit(Surv(time, status) ~ 1, data = d, conf.type = "log-log"), 0.5))
run("log-rank (2 groups)", function() survdiff(Surv(time, status) ~ sex, data = d))
run("Cox Breslow (5 cov)", function() coxph(Surv(time, status) ~ age + sex + ecog + x4 + x5, data = d, ties = "breslow"))
"""


def r_times(df):
    """{task: (seconds, max MB)} from Rscript, or {} when R is unavailable."""
    if shutil.which("Rscript") is None:
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        csv = os.path.join(tmp, "sim.csv")
        script = os.path.join(tmp, "bench.R")
        df.to_csv(csv, index=False)
        with open(script, "w") as fh:
            fh.write(R_SCRIPT)
        out = subprocess.run(["Rscript", script, csv], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        print("R failed:", out.stderr, file=sys.stderr)
        return {}
    res = {}
    for line in out.stdout.strip().splitlines():
        label, sec, mb = line.split("\t")
        res[label] = (float(sec), float(mb))
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", nargs="+", type=float, default=[1e3, 1e5, 1e6], help="numbers of patients")
    ap.add_argument("--repeat", type=int, default=3, help="timing repeats (best is reported)")
    ap.add_argument("--no-r", action="store_true", help="skip the R comparison")
    a = ap.parse_args(argv)
    rows = []
    for size in a.sizes:
        n = int(size)
        df = simulate(n)
        rres = {} if a.no_r else r_times(df)
        for task, fn in py_tasks(df).items():
            fn()  # warm-up
            sec = time_it(fn, a.repeat)
            mb = peak_mb(fn)
            r_sec, r_mb = rres.get(task, (np.nan, np.nan))
            rows.append({"n": n, "task": task, "python_s": sec, "python_peak_MB": mb,
                         "R_s": r_sec, "R_gc_max_MB": r_mb, "R/python": r_sec / sec if sec > 0 else np.nan})
        print(f"done n={n}", file=sys.stderr)
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    return table


if __name__ == "__main__":
    main()
