"""Time the privacy guard (analysis.report.results.IdentifierGuard) as the cohort grows.

    .venv/bin/python benchmarks/bench_privacy.py [--sizes 1000 10000 100000] [--old 500 1000 2000]

For ``n`` patients: ``n`` identifiers (``BEN-000001`` …) plus ``n`` numeric ones (``1001`` …) and an
SVG-like text that grows with ``n`` (one bar, its path data and a label comment per patient, about
200 bytes each; no identifier occurs, so the whole text is scanned). Prints the time to build the
guard and to scan, and the scan time per MB: constant when the scan is linear. ``--old`` times the
previous guard (one regular expression with an alternative per identifier, searched over the text)
at small sizes, for comparison: its time grows with n × text length, i.e. quadratically.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from analysis.report.results import IdentifierGuard  # noqa: E402


def workload(n: int) -> tuple[list[str], str]:
    """Identifiers and an SVG-like text without any of them, both growing linearly with ``n``."""
    ids = [f"BEN-{i:06d}" for i in range(1, n + 1)] + [str(1001 + i) for i in range(n)]
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">']
    for i in range(n):
        x = 1001 + (i * 7919) % n  # numbers equal to numeric ids, in geometry only
        parts.append(f'<g id="patch_{i}"><path d="M {x} {x + 3} L {x}.5 -{i % 97}.25 z" '
                     f'style="fill: #0173b2"/><!-- bar {i % 50} of group --></g>')
    return ids, "\n".join(parts + ["</svg>"])


def time_guard(n: int) -> dict:
    ids, text = workload(n)
    t0 = time.perf_counter()
    guard = IdentifierGuard(ids)
    t1 = time.perf_counter()
    found = guard.find(text, svg=True)
    t2 = time.perf_counter()
    assert found is None, found
    return {"n": n, "identifiers": len(ids), "mb": len(text) / 1e6, "build_s": t1 - t0, "scan_s": t2 - t1}


def time_old_guard(n: int) -> dict:
    """The guard before it was made linear (kept here only to show the difference)."""
    ids, text = workload(n)
    ids = ids[:n]  # not the numeric ids: the old guard finds them in path data at once and stops
    toks = sorted({t for t in ids if len(t) >= 4}, key=len, reverse=True)
    t0 = time.perf_counter()
    pattern = re.compile("|".join(rf"(?<![\w-]){re.escape(t)}(?![\w-])" for t in toks))
    t1 = time.perf_counter()
    assert pattern.search(text) is None
    t2 = time.perf_counter()
    return {"n": n, "identifiers": len(ids), "mb": len(text) / 1e6, "build_s": t1 - t0, "scan_s": t2 - t1}


def table(rows: list[dict]) -> str:
    lines = ["| patients | identifiers | text (MB) | build guard (s) | scan (s) | scan per MB (s) |",
             "|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['n']:,} | {r['identifiers']:,} | {r['mb']:.1f} | {r['build_s']:.3f} | "
                     f"{r['scan_s']:.3f} | {r['scan_s'] / r['mb']:.3f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    ap.add_argument("--old", type=int, nargs="*", default=[250, 500, 1_000])
    args = ap.parse_args(argv)
    print("privacy guard (linear: token set lookup)")
    print(table([time_guard(n) for n in args.sizes]))
    if args.old:
        print("\nprevious guard (one regular expression of every identifier), for comparison")
        print(table([time_old_guard(n) for n in args.old]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
