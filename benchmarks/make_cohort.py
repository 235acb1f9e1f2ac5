"""A valid cohort of any size for the build benchmark: the shipped synthetic patients resampled.

Draws ``n`` patients with replacement (seeded) from ``data/synthetic``, gives each a new identifier
(``BEN-000001`` …, or numbers from 1001 with ``--numeric-ids``) and copies that patient's assessments
and adverse events under the new identifier. Every row is a row that already passes validation, so
the result is valid, with the shipped cohort's distributions; only its size differs. Same seed and
size, same bytes.

    python benchmarks/make_cohort.py 20000 build/bench/n20000 [--seed 1] [--numeric-ids]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from analysis.paths import SYNTHETIC_DIR  # noqa: E402


def resample_cohort(n: int, seed: int = 1, numeric_ids: bool = False,
                    source: Path = SYNTHETIC_DIR) -> dict[str, pd.DataFrame]:
    """The three tables of a cohort of ``n`` patients drawn with replacement from ``source``."""
    read = lambda name: pd.read_csv(source / f"{name}.csv", dtype=str, keep_default_na=False)  # noqa: E731
    p, a, ae = read("patients"), read("assessments"), read("adverse_events")
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(p), size=n)
    new_ids = [str(1001 + i) if numeric_ids else f"BEN-{i + 1:06d}" for i in range(n)]
    patients = p.iloc[pick].reset_index(drop=True)
    patients["patient_id"] = new_ids
    old_ids = p["patient_id"].to_numpy()[pick]
    out = {"patients": patients}
    for name, t in (("assessments", a), ("adverse_events", ae)):
        # rows of each source patient, repeated for every copy of that patient, in patient order
        groups = {pid: idx for pid, idx in t.groupby("patient_id", sort=False).indices.items()}
        rows, ids = [], []
        for new, old in zip(new_ids, old_ids):
            idx = groups.get(old)
            if idx is not None:
                rows.append(idx)
                ids.append(np.full(len(idx), new, dtype=object))
        sel = t.iloc[np.concatenate(rows)].reset_index(drop=True) if rows else t.iloc[:0]
        sel["patient_id"] = np.concatenate(ids) if ids else []
        out[name] = sel
    return out


def write(tables: dict[str, pd.DataFrame], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")
    (folder / "cohort.yaml").write_text(
        f"name: {folder.name}\nsynthetic: false\ndescription: >\n  Benchmark cohort: {len(tables['patients'])} "
        "patients resampled from the shipped synthetic cohort (benchmarks/make_cohort.py).\n", encoding="utf-8")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int, help="number of patients")
    ap.add_argument("out", type=Path, help="folder to write patients.csv, assessments.csv, adverse_events.csv")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--numeric-ids", action="store_true", help="identifiers 1001, 1002, … instead of BEN-000001")
    args = ap.parse_args(argv)
    write(resample_cohort(args.n, args.seed, args.numeric_ids), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
