"""Time reading an .xlsx workbook whose sheet has one formatted cell at the last row (1,048,576).

Such a workbook's dimension claims a million rows. The reader reads only the used data range
(the cells that hold values), so the time and memory are those of the data, not of the claimed
dimension (issue #24: 217 s and 6.2 GB before). Compared here with the same workbook without
the formatted cell.

    .venv/bin/python benchmarks/bench_xlsx.py [--repeat 3]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "data"))

import malformed  # noqa: E402  (the tests' cohort writers)

from analysis.data.readers import read_cohort  # noqa: E402


def _workbook(folder: Path, last_row_formatted: bool) -> Path:
    from openpyxl.styles import Font

    def hook(name, ws):
        if last_row_formatted and name == "patients":
            ws.cell(1_048_576, 30).font = Font(bold=True)
    return malformed.write_xlsx(malformed.valid_cohort(), folder / f"c{int(last_row_formatted)}.xlsx", ws_hook=hook)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        for formatted in (False, True):
            path = _workbook(Path(tmp), formatted)
            best = float("inf")
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                raw = read_cohort(path)
                best = min(best, time.perf_counter() - t0)
            tracemalloc.start()
            read_cohort(path)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            label = "formatted cell at row 1,048,576" if formatted else "plain workbook"
            print(f"{label:35s} rows read {len(raw.tables['patients']):4d}   best {best:7.3f} s   "
                  f"peak {peak / 2**20:7.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
