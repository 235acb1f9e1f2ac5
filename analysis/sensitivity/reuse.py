"""Scenario reports that reuse what did not change, and one progress line per scenario.

A scenario's report (``make sensitivity``: ``build/sensitivity/<name>/``) is built from the same
notebooks, code and data as the base report; what differs is its parameters. Its build runs with
``REUSE_FROM=<the base's output folder>`` (#29, :mod:`analysis.report.provenance`): the
validation step and every section whose digest (notebook, merged parameters, data, code, lock
file, the files its parameters name and, for 06 and 07, the digests of 01-05) equals the one
recorded in the base's manifest is copied from the base instead of run. So a scenario that changes
``ties`` runs ``04-subgroups`` again and the scorecard and the sensitivity section that read it,
and copies the validation and the other four sections. The sensitivity section of a scenario
report reads every params file (the scenario's differ) and its own scenarios file (none: a
scenario's report shows the multiverse around its own parameters; the scenarios are compared on
the comparison page), so it always runs.

:func:`reuse_plan` says, from the two parameter sets alone, which sections a scenario must run
(what the digests decide when notebook, data and code are the base's); :func:`summary_line` is the
progress line (``[5/16] efron-ties: 3 sections re-run, 4 reused, 6.3 s``), counted from the
scenario build's log (the ``section S: reused from ...`` lines of the digest step,
:func:`analysis.report.provenance.reuse_unchanged`, or of the runner) and the executed notebooks'
times.

Command line (the Makefile's ``sensitivity-scenario-<name>`` steps)::

    python -m analysis.sensitivity.reuse start --out build/sensitivity/efron-ties
    python -m analysis.sensitivity.reuse summary --out build/sensitivity/efron-ties --names "a efron-ties b" \
        --log build/sensitivity/efron-ties/build.log --rc 0
    python -m analysis.sensitivity.reuse plan --base-params params --out build/sensitivity/efron-ties
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

from analysis.report.params import ParamsError, load_params, section_params

__all__ = ["SECTIONS", "READS", "ALWAYS_RUN", "reuse_plan", "start", "build_status", "summary_line"]

#: The analysis sections (analysis.report.results.ANALYSIS_SECTIONS; not imported: this module runs
#: twice per scenario and stays light) and the report's sections in build order.
ANALYSIS_SECTIONS = ("01-cohort", "02-response", "03-survival", "04-subgroups", "05-safety")
SECTIONS = (*ANALYSIS_SECTIONS, "06-scorecard", "07-sensitivity")
#: The sections whose results a section reads (it runs again when one of them does).
READS = {"06-scorecard": ANALYSIS_SECTIONS, "07-sensitivity": ANALYSIS_SECTIONS}
#: Sections that read every params file and the scenarios file: in a scenario's report they run.
ALWAYS_RUN = ("07-sensitivity",)
PROGRESS = ".progress.json"


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


def start(out: str | Path) -> None:
    """Record when a scenario's build starts and its executed notebooks' times (for the summary)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    mtimes = {s: (out / "executed" / f"{s}.ipynb").stat().st_mtime_ns
              if (out / "executed" / f"{s}.ipynb").exists() else None for s in SECTIONS}
    (out / PROGRESS).write_text(json.dumps({"start": time.time(), "mtimes": mtimes}), encoding="utf-8")


_REUSED = re.compile(r"^section (\S+): reused from ")


def build_status(out: Path, log_text: str) -> tuple[list[str], list[str]]:
    """``(re-run, reused)`` sections of a scenario build, from its log and the executed notebooks' times."""
    record = json.loads((out / PROGRESS).read_text(encoding="utf-8"))
    reused = [m.group(1) for line in log_text.splitlines() for m in [_REUSED.match(line.strip())] if m]
    ran = []
    for s in SECTIONS:
        f = out / "executed" / f"{s}.ipynb"
        now = f.stat().st_mtime_ns if f.exists() else None
        if now is not None and now != record["mtimes"].get(s) and s not in reused:
            ran.append(s)
    return ran, [s for s in SECTIONS if s in reused]


def summary_line(name: str, index: int, total: int, ran: list[str], reused: list[str], seconds: float,
                 failed: bool = False) -> str:
    """One line of progress per scenario.

    >>> summary_line("efron-ties", 5, 16, ["04-subgroups", "06-scorecard"], ["01-cohort"], 6.31)
    '[5/16] efron-ties: 2 sections re-run, 1 reused, 6.3 s'
    >>> summary_line("x", 1, 2, [], [], 0.42)
    '[1/2] x: up to date, 0.4 s'
    """
    head = f"[{index}/{total}] {name}: "
    if failed:
        return head + f"FAILED after {seconds:.1f} s ({len(ran)} re-run, {len(reused)} reused)"
    if not ran and not reused:
        return head + f"up to date, {seconds:.1f} s"
    return head + f"{len(ran)} section{'s' if len(ran) != 1 else ''} re-run, {len(reused)} reused, {seconds:.1f} s"


def _summary(out: Path, names: list[str], rc: int, log: Path | None) -> str:
    record = json.loads((out / PROGRESS).read_text(encoding="utf-8"))
    text = log.read_text(encoding="utf-8", errors="replace") if log is not None and log.exists() else ""
    ran, reused = build_status(out, text)
    name = out.name
    index = names.index(name) + 1 if name in names else 0
    line = summary_line(name, index, len(names), ran, reused, time.time() - record["start"], rc != 0)
    if rc != 0 and text:
        tail = text.splitlines()[-15:]
        line += "\n" + "\n".join("    " + t for t in tail) + f"\n    (full log: {log})"
    return line


def main(argv=None) -> int:
    import argparse
    import sys

    ap = argparse.ArgumentParser(prog="python -m analysis.sensitivity.reuse",
                                 description="Reuse the base report's unchanged sections in a scenario's report")
    ap.add_argument("command", choices=("start", "summary", "plan"))
    ap.add_argument("--out", required=True, help="the scenario's output folder (build/sensitivity/<name>)")
    ap.add_argument("--base-params", default="params", help="the base params folder")
    ap.add_argument("--names", default="", help="summary: the scenarios being built, in order (for [k/N])")
    ap.add_argument("--rc", type=int, default=0, help="summary: the scenario build's exit status")
    ap.add_argument("--log", type=Path, default=None, help="summary: the scenario build's log (shown on failure)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    try:
        if args.command == "start":
            start(out)
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
