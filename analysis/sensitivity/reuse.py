"""Scenario reports that reuse what did not change: which sections a scenario must run again.

A scenario's report (``make sensitivity``: ``build/sensitivity/<name>/``) is built from the same
notebooks, code and data as the base report; what differs is its parameters. A section whose
merged parameters (:func:`analysis.report.params.section_params`: ``common`` + its own file) are
the base's, and whose every input section is reused too, gives the base's results: it is copied
from the base's output folder (results, executed notebook) instead of being run. The validated
data are always the base's (same cohort). So a scenario that changes ``ties`` runs
``04-subgroups`` again, and the scorecard and the sensitivity section that read it, and copies
the other four. The sensitivity section of a scenario report reads every params file and its own
scenarios file (none: a scenario's report shows the multiverse around its own parameters; the
named scenarios are compared on the comparison page), so it always runs.

The decision (:func:`reuse_plan`) is a pure function of the two parameter sets; the copy
(:func:`prepare`) records in ``<scenario out>/executed/.reused.yaml`` what it copied, from which
base notebook (its SHA-256) and with which parameters, so a second run copies nothing and Make,
which sees the copies newer than their inputs, runs only the rest.

Command line (the Makefile's ``sensitivity-scenario-<name>`` steps)::

    python -m analysis.sensitivity.reuse prepare --base-out . --base-params params --out build/sensitivity/efron-ties
    python -m analysis.sensitivity.reuse summary --out build/sensitivity/efron-ties --names "a efron-ties b"
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import yaml

from analysis.report.params import ParamsError, load_params, section_params
from analysis.report.results import ANALYSIS_SECTIONS

__all__ = ["SECTIONS", "READS", "ALWAYS_RUN", "reuse_plan", "params_digest", "prepare", "summary_line"]

#: The report's sections in build order.
SECTIONS = (*ANALYSIS_SECTIONS, "06-scorecard", "07-sensitivity")
#: The sections whose results a section reads (it runs again when one of them does).
READS = {"06-scorecard": ANALYSIS_SECTIONS, "07-sensitivity": ANALYSIS_SECTIONS}
#: Sections that read every params file and the scenarios file: in a scenario's report they run.
ALWAYS_RUN = ("07-sensitivity",)
STAMP = ".reused.yaml"
PROGRESS = ".progress.json"


def params_digest(params: dict) -> str:
    """SHA-256 of a section's merged parameters (keys sorted), as a stable short string.

    >>> params_digest({"b": 1, "a": [1, 2]}) == params_digest({"a": [1, 2], "b": 1})
    True
    """
    text = json.dumps(params, sort_keys=True, default=repr, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def reuse_plan(base: dict[str, dict], scenario: dict[str, dict], sections=SECTIONS, reads=READS,
               always_run=ALWAYS_RUN) -> dict[str, bool]:
    """``{section: reusable}``: True when the section's merged parameters equal the base's and every
    section it reads is reusable too (and it is not one of ``always_run``).

    >>> base = {"common": {"d": 30}, "03-survival": {"m": "spss"}, "04-subgroups": {"t": "breslow"}}
    >>> plan = reuse_plan(base, {**base, "04-subgroups": {"t": "efron"}},
    ...                   sections=("03-survival", "04-subgroups", "06-scorecard"),
    ...                   reads={"06-scorecard": ("03-survival", "04-subgroups")}, always_run=())
    >>> plan
    {'03-survival': True, '04-subgroups': False, '06-scorecard': False}
    >>> reuse_plan(base, {**base, "common": {"d": 31}}, sections=("03-survival",), reads={}, always_run=())
    {'03-survival': False}
    """
    plan: dict[str, bool] = {}
    for s in sections:
        same = section_params(base, s) == section_params(scenario, s)
        plan[s] = same and s not in always_run and all(plan.get(r, False) for r in reads.get(s, ()))
    return plan


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def _copy_file(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.tmp-{os.getpid()}")
    shutil.copyfile(src, tmp)  # a fresh mtime: Make sees the copy newer than its inputs
    os.replace(tmp, dst)


def _copy_tree(src: Path, dst: Path) -> None:
    tmp = dst.with_name(f".{dst.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp, copy_function=shutil.copyfile)
    shutil.rmtree(dst, ignore_errors=True)
    os.replace(tmp, dst)


def prepare(base_out: str | Path, base_params: str | Path, out: str | Path, params: str | Path | None = None
            ) -> dict[str, str]:
    """Copy into a scenario's output folder the validated data and every reusable section of the base.

    ``params`` is the scenario's params folder (default ``<out>/params``). Returns ``{section:
    "copied" | "reused" (copied by an earlier run, still right) | "run"}`` and writes the progress
    record the summary line reads. Nothing is copied from a base section that is not built.
    """
    base_out, out = Path(base_out), Path(out)
    params = Path(params) if params is not None else out / "params"
    plan = reuse_plan(load_params(base_params), load_params(params))
    stamp_file = out / "executed" / STAMP
    stamps = (yaml.safe_load(stamp_file.read_text(encoding="utf-8")) or {}) if stamp_file.exists() else {}
    scen = load_params(params)
    status: dict[str, str] = {}
    # the validated data: the same cohort, so the base's (never re-validated per scenario)
    bval = base_out / "validation"
    if (bval / "validated.pkl").exists():
        want = _sha(bval / "validated.pkl")
        if stamps.get("validation") != want or not (out / "validation" / "validated.pkl").exists():
            for f in sorted(p for p in bval.iterdir() if p.is_file() and not p.name.endswith(".log")):
                _copy_file(f, out / "validation" / f.name)
            stamps["validation"] = want
    for s in SECTIONS:
        nb = base_out / "executed" / f"{s}.ipynb"
        if not plan[s] or not nb.exists() or not (base_out / "results" / s).is_dir():
            status[s] = "run"
            stamps.pop(s, None)
            continue
        want = f"{_sha(nb)} {params_digest(section_params(scen, s))}"
        target = out / "executed" / f"{s}.ipynb"
        if stamps.get(s) == want and target.exists():
            status[s] = "reused"
            continue
        _copy_tree(base_out / "results" / s, out / "results" / s)
        _copy_file(nb, target)
        (out / "executed" / f"{s}.failed.ipynb").unlink(missing_ok=True)
        stamps[s] = want
        status[s] = "copied"
    stamp_file.parent.mkdir(parents=True, exist_ok=True)
    stamp_file.write_text(yaml.safe_dump(stamps, sort_keys=True), encoding="utf-8")
    mtimes = {s: (out / "executed" / f"{s}.ipynb").stat().st_mtime_ns
              if (out / "executed" / f"{s}.ipynb").exists() else None for s in SECTIONS}
    (out / PROGRESS).write_text(json.dumps({"start": time.time(), "status": status, "mtimes": mtimes}),
                                encoding="utf-8")
    return status


def summary_line(name: str, index: int, total: int, status: dict[str, str], ran: list[str], seconds: float,
                 failed: bool = False) -> str:
    """One line of progress per scenario.

    >>> summary_line("efron-ties", 5, 16, {"01-cohort": "copied", "04-subgroups": "run"}, ["04-subgroups"], 6.31)
    '[5/16] efron-ties: 1 section re-run, 1 reused, 6.3 s'
    >>> summary_line("x", 1, 2, {"01-cohort": "reused"}, [], 0.42)
    '[1/2] x: up to date, 0.4 s'
    """
    reused = sum(v in ("copied", "reused") for v in status.values())
    head = f"[{index}/{total}] {name}: "
    if failed:
        return head + f"FAILED after {seconds:.1f} s ({len(ran)} re-run, {reused} reused)"
    if not ran and not any(v == "copied" for v in status.values()):
        return head + f"up to date, {seconds:.1f} s"
    return head + f"{len(ran)} section{'s' if len(ran) != 1 else ''} re-run, {reused} reused, {seconds:.1f} s"


def _summary(out: Path, names: list[str], rc: int, log: Path | None) -> str:
    record = json.loads((out / PROGRESS).read_text(encoding="utf-8"))
    ran = []
    for s in SECTIONS:
        f = out / "executed" / f"{s}.ipynb"
        now = f.stat().st_mtime_ns if f.exists() else None
        if now is not None and now != record["mtimes"].get(s) and record["status"].get(s) == "run":
            ran.append(s)
    name = out.name
    index = names.index(name) + 1 if name in names else 0
    line = summary_line(name, index, len(names), record["status"], ran, time.time() - record["start"], rc != 0)
    if rc != 0 and log is not None and log.exists():
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        line += "\n" + "\n".join("    " + t for t in tail) + f"\n    (full log: {log})"
    return line


def main(argv=None) -> int:
    import argparse
    import sys

    ap = argparse.ArgumentParser(prog="python -m analysis.sensitivity.reuse",
                                 description="Reuse the base report's unchanged sections in a scenario's report")
    ap.add_argument("command", choices=("prepare", "summary", "plan"))
    ap.add_argument("--out", required=True, help="the scenario's output folder (build/sensitivity/<name>)")
    ap.add_argument("--base-out", default=".", help="the base report's output folder")
    ap.add_argument("--base-params", default="params", help="the base params folder")
    ap.add_argument("--names", default="", help="summary: the scenarios being built, in order (for [k/N])")
    ap.add_argument("--rc", type=int, default=0, help="summary: the scenario build's exit status")
    ap.add_argument("--log", type=Path, default=None, help="summary: the scenario build's log (shown on failure)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    try:
        if args.command == "prepare":
            prepare(args.base_out, args.base_params, out)
        elif args.command == "plan":
            plan = reuse_plan(load_params(args.base_params), load_params(out / "params"))
            print(" ".join(f"{s}:{'reuse' if v else 'run'}" for s, v in plan.items()))
        else:
            print(_summary(out, args.names.split(), args.rc, args.log), flush=True)
    except ParamsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
