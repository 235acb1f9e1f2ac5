"""Time the multiverse of the sensitivity section (notebook 07) and the named scenarios.

    .venv/bin/python benchmarks/bench_multiverse.py [--repeat N] [--choices K]

Loads the synthetic cohort and the default parameters, then times, in one process, the headline
results under every named scenario (``params/sensitivity.yaml``) and under every combination of
the multiverse's binary choices (``params/07-sensitivity.yaml``; ``--choices K`` keeps the first K,
2**K specifications). Wall clock, best of ``--repeat`` runs, each with a fresh cache (every
derivation and every part of the results computed anew). Budget: at least 64 specifications in
under 10 s on 2 cores. No timing is asserted in the test suite.
"""
from __future__ import annotations

import argparse
import os
import time

from analysis.data.cohort import load_cohort
from analysis.paths import PARAMS_DIR, SYNTHETIC_DIR
from analysis.sensitivity import headline, multiverse as mv, scenarios as sc, tables as st


def best_of(repeat: int, fn) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--choices", type=int, default=None, help="use the first K choices only")
    args = ap.parse_args(argv)
    base = sc.load_base(PARAMS_DIR)
    cohort = load_cohort(SYNTHETIC_DIR, headline.derive_options(base["common"]))
    choices = mv.parse_choices(base["07-sensitivity"]["multiverse"], base)[: args.choices]
    named = sc.load_scenarios(PARAMS_DIR / sc.SCENARIOS_FILE, base)
    t_base, _ = best_of(args.repeat, lambda: headline.headline(cohort, base))
    t_scen, _ = best_of(args.repeat, lambda: st.evaluate(cohort, base, named))
    t_mv, frame = best_of(args.repeat, lambda: mv.run(cohort, base, choices))
    print(f"cpus: {os.cpu_count()}  patients: {cohort.n}  repeat: {args.repeat}")
    print(f"headline results, base parameters: {1000 * t_base:.0f} ms")
    print(f"named scenarios: {len(named)} + base in {t_scen:.2f} s")
    print(f"multiverse: {len(frame)} specifications ({len(choices)} binary choices) in {t_mv:.2f} s "
          f"({1000 * t_mv / len(frame):.1f} ms each); budget: >= 64 in < 10 s: "
          f"{'met' if len(frame) >= 64 and t_mv < 10 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
