"""Check that ``make calibrate`` writes the same bytes under other numpy and OpenBLAS code paths.

numpy chooses code paths for its loops by CPU (baseline, AVX2, AVX-512 …) and OpenBLAS chooses its
kernels by CPU; both can be made to take the paths of a smaller CPU through the environment
(``NPY_DISABLE_CPU_FEATURES``, ``OPENBLAS_CORETYPE``), which is how this module emulates other
machines on one. Each configuration runs the driver of ``make calibrate``
(``python -m analysis.synthetic.build --quiet``) in a child process with that environment and
compares the three CSV files byte for byte with a reference (the committed cohort by default)::

    python -m analysis.synthetic.dispatch                       # the default set (see main)
    python -m analysis.synthetic.dispatch --cross               # every numpy level × every OpenBLAS core
    python -m analysis.synthetic.dispatch default:default baseline:Prescott

A configuration is ``NUMPY:BLAS``: ``NUMPY`` is ``default`` (nothing disabled), ``baseline`` (every
dispatched target disabled) or one of numpy's dispatch targets on this CPU (e.g. ``X86_V3``, AVX2:
the targets above it are disabled); ``BLAS`` is ``default`` or an ``OPENBLAS_CORETYPE`` name.
Each row of the table says which numpy targets and OpenBLAS core the child actually ran with
(OpenBLAS falls back to another core when asked for one this CPU cannot run, and maps some names
onto others, e.g. Zen onto Haswell's kernels). ``make test-calibrate`` runs two configurations
(:data:`CI_CONFIGS`); the README says which matrix was run on which CPU.

Only the environment is changed: the calibration itself does not steer any code path, its
decisions do not depend on the last bits (:mod:`analysis.synthetic.decide`).
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from analysis.paths import PROJ_ROOT, SYNTHETIC_DIR

NAMES = ("patients.csv", "assessments.csv", "adverse_events.csv")
#: OpenBLAS core types tried by default: generic SSE3 (Prescott; OpenBLAS 0.3.31 runs its Katmai kernels),
#: SSE4.2, AVX, AVX2 (Haswell; Zen maps onto it), AVX-512 (SkylakeX).
BLAS_CORES = ("Prescott", "Nehalem", "Sandybridge", "Haswell", "SkylakeX")
#: The configurations of ``make test-calibrate``: as the machine is, and as unlike it as the
#: environment allows (numpy at its baseline, OpenBLAS's generic kernels).
CI_CONFIGS = ("default:default", "baseline:Prescott")


@dataclass(frozen=True)
class Config:
    """One emulated machine: a numpy dispatch level and an OpenBLAS core type."""

    numpy: str = "default"
    blas: str = "default"

    @classmethod
    def parse(cls, text: str) -> "Config":
        """``NUMPY:BLAS`` (either part may be left out: ``baseline``, ``:Haswell``)."""
        np_, _, blas = text.partition(":")
        return cls(np_ or "default", blas or "default")

    def __str__(self) -> str:
        return f"{self.numpy}:{self.blas}"

    def env(self, base: dict | None = None) -> dict:
        """The child's environment: ``base`` (default ``os.environ``) with this configuration's variables."""
        env = dict(os.environ if base is None else base)
        env.pop("NPY_DISABLE_CPU_FEATURES", None)
        env.pop("OPENBLAS_CORETYPE", None)
        disable = numpy_disable(self.numpy)
        if disable:
            env["NPY_DISABLE_CPU_FEATURES"] = disable
        if self.blas != "default":
            env["OPENBLAS_CORETYPE"] = self.blas
        return env


def numpy_targets() -> tuple[list[str], list[str]]:
    """numpy's dispatch targets (lowest first) and those this CPU supports."""
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    return list(__cpu_dispatch__), [t for t in __cpu_dispatch__ if __cpu_features__.get(t)]


def numpy_levels() -> list[str]:
    """The numpy levels this CPU can emulate: ``baseline``, each supported dispatch target, ``default``."""
    _, found = numpy_targets()
    return ["baseline", *found[:-1], "default"] if found else ["baseline", "default"]


def numpy_disable(level: str) -> str:
    """``NPY_DISABLE_CPU_FEATURES`` for a level: every dispatch target above it ("" for ``default``)."""
    if level == "default":
        return ""
    targets, _ = numpy_targets()
    if level == "baseline":
        return " ".join(targets)
    if level not in targets:
        raise ValueError(f"unknown numpy level {level!r}: baseline, default or one of {targets}")
    return " ".join(targets[targets.index(level) + 1:])


_PROBE = ("import numpy as np, scipy.linalg as sl\n"
          "from numpy._core._multiarray_umath import __cpu_dispatch__ as d, __cpu_features__ as f\n"
          "a = np.eye(3); a @ a; sl.solve(a, a)\n"
          "print(' '.join(t for t in d if f.get(t)) or 'baseline')\n")


def probe(cfg: Config) -> tuple[str, str]:
    """(numpy targets on, OpenBLAS cores of numpy and scipy) in a child with ``cfg``'s environment."""
    env = dict(cfg.env(), OPENBLAS_VERBOSE="2")
    r = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True)
    cores = [ln.split(":", 1)[1].strip() for ln in (r.stdout + r.stderr).splitlines() if ln.startswith("Core:")]
    targets = [ln for ln in r.stdout.splitlines() if not ln.startswith("Core:")]
    return (targets[-1] if targets else "?"), "/".join(dict.fromkeys(cores)) or "?"


def run_build(cfg: Config, out: Path, extra: tuple[str, ...] = ()) -> float:
    """Run ``make calibrate``'s driver with ``cfg``'s environment, writing to ``out``; wall seconds."""
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "analysis.synthetic.build", "--out", str(out), "--quiet", *extra],
                   env=cfg.env(), cwd=PROJ_ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def digest(folder: Path) -> dict[str, str]:
    """SHA-256 of each CSV file of a cohort folder."""
    return {n: hashlib.sha256((Path(folder) / n).read_bytes()).hexdigest() for n in NAMES}


def check(configs, against: Path = SYNTHETIC_DIR, keep: Path | None = None, log=print,
          extra: tuple[str, ...] = ()) -> list[dict]:
    """Run every configuration and compare its files with ``against``; one dict per configuration.

    ``keep``: a folder to leave each configuration's files in (``keep/<numpy>_<blas>/``).
    """
    ref = digest(against)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for cfg in configs:
            cfg = Config.parse(cfg) if isinstance(cfg, str) else cfg
            out = (Path(keep) if keep else Path(tmp)) / f"{cfg.numpy}_{cfg.blas}"
            targets, cores = probe(cfg)
            secs = run_build(cfg, out, extra)
            got = digest(out)
            differ = [n for n in NAMES if got[n] != ref[n]]
            row = dict(config=str(cfg), numpy_targets=targets, openblas_core=cores, seconds=round(secs, 1),
                       identical=not differ, differ=differ, sha256=got["patients.csv"][:12])
            rows.append(row)
            if log:
                log(f"{row['config']:<22} numpy: {targets:<32} OpenBLAS: {cores:<22} {secs:6.1f} s  "
                    + ("identical" if not differ else "DIFFERS: " + ", ".join(differ)))
    return rows


def default_configs(cross: bool = False) -> list[Config]:
    """Every numpy level with OpenBLAS as it is, every core of :data:`BLAS_CORES` with numpy as it is,
    and numpy's baseline with the generic kernels; with ``cross``, every level with every core."""
    levels, cores = numpy_levels(), ["default", *BLAS_CORES]
    if cross:
        return [Config(lv, c) for lv in levels for c in cores]
    out = [Config(lv, "default") for lv in levels] + [Config("default", c) for c in BLAS_CORES]
    return list(dict.fromkeys(out + [Config("baseline", BLAS_CORES[0])]))


def markdown(rows: list[dict]) -> str:
    """The table of :func:`check` in Markdown."""
    lines = ["| configuration | numpy targets on | OpenBLAS core (numpy/scipy) | seconds | bytes |",
             "|:--|:--|:--|--:|:--|"]
    for r in rows:
        lines.append(f"| `{r['config']}` | {r['numpy_targets']} | {r['openblas_core']} | {r['seconds']:.0f} | "
                     + ("identical" if r["identical"] else "differ: " + ", ".join(r["differ"])) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="Run make calibrate under other numpy and OpenBLAS code paths "
                                             "and compare the files byte for byte.")
    ap.add_argument("configs", nargs="*", help="NUMPY:BLAS, e.g. baseline:Prescott (default: see --cross)")
    ap.add_argument("--cross", action="store_true", help="every numpy level with every OpenBLAS core")
    ap.add_argument("--against", default=str(SYNTHETIC_DIR), help="reference folder (default data/synthetic)")
    ap.add_argument("--keep", default=None, help="keep each configuration's files under this folder")
    ap.add_argument("--markdown", action="store_true", help="print the table in Markdown at the end")
    args = ap.parse_args(argv)
    configs = [Config.parse(c) for c in args.configs] or default_configs(args.cross)
    print(f"numpy levels on this CPU: {', '.join(numpy_levels())}; reference: {args.against}", flush=True)
    rows = check(configs, Path(args.against), Path(args.keep) if args.keep else None,
                 log=lambda m: print(m, flush=True))
    if args.markdown:
        print(markdown(rows))
    bad = [r["config"] for r in rows if not r["identical"]]
    print(f"{len(rows) - len(bad)} of {len(rows)} configurations write the reference bytes"
          + (f"; differ: {', '.join(bad)}" if bad else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
