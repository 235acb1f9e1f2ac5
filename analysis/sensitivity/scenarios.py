"""Sensitivity scenarios as data: named overlays on the base parameters.

A scenarios file (``params/sensitivity.yaml``) lists scenarios; each has a ``name`` (a folder
name: lower-case letters, digits and ``-``), a one-line ``rationale`` (the report prints it) and
``set``, the parameters it changes, by params file::

    scenarios:
      - name: efron-ties
        rationale: R's coxph default; Stata and SPSS use Breslow.
        set:
          04-subgroups: {ties: efron}

Overlay semantics (:func:`overlay`): a scenario changes only what it names. A scalar or a list
replaces the base value; a mapping (``cox_covariates``) is merged key by key, so
``{cox_covariates: {ecog_group: numeric}}`` recodes ECOG and keeps the other covariates. A
section is a params file's stem (``common``, ``03-survival`` ...); a parameter must be one of that
file's in the project's defaults (``common`` parameters are set in ``common``). The base is itself
an overlay: the project's ``params/`` overlaid by the params folder in use
(:mod:`analysis.report.params`), so a parameter the folder lacks takes its default, and an
unknown parameter in the folder is blamed on the folder's file.

Every error (unknown section, unknown parameter, a value of the wrong type or outside its
choices, two scenarios with one name, a YAML error) is a :class:`ScenarioError` naming the file,
line and column, the scenario and the key; the command line prints it in one line and exits with status 2 before
anything runs::

    python -m analysis.sensitivity.scenarios check params/sensitivity.yaml --params params
    python -m analysis.sensitivity.scenarios names params/sensitivity.yaml --params params
    python -m analysis.sensitivity.scenarios write params/sensitivity.yaml --params params --out build/sensitivity
    python -m analysis.sensitivity.scenarios list params/sensitivity.yaml --params params [--only a,b]
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from analysis.report.params import (SCENARIOS_FILE, ParamsError, _kind, check_params, key_marks, load_params,
                                    overlay, read_yaml, section_params)

__all__ = ["ScenarioError", "Scenario", "SCENARIOS_FILE", "load_base", "load_scenarios", "overlay",
           "check_changes", "check_params", "section_params", "scenario_params", "write_params", "select", "describe"]

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class ScenarioError(ValueError):
    """A scenarios file that cannot be used: the message names the file, the scenario and the key."""


@dataclass(frozen=True)
class Scenario:
    """One named overlay: ``changes`` maps a section (params file stem) to the parameters it sets."""

    name: str
    rationale: str
    changes: dict

    def keys(self) -> list[str]:
        """The parameters the scenario sets, as ``section.parameter``."""
        return [f"{s}.{k}" for s, kv in self.changes.items() for k in kv]


def _read_yaml(path: Path, what: str):
    try:
        return read_yaml(path, what)
    except ParamsError as exc:
        raise ScenarioError(str(exc)) from None


def load_base(params_dir: str | Path, check: bool = True) -> dict[str, dict]:
    """The base parameters, ``{section: {parameter: value}}``: the project's defaults (``params/``)
    overlaid by the params folder's files (:func:`analysis.report.params.load_params`), each
    section's values checked: an unknown parameter or a value no notebook accepts is an error
    naming the folder's file, line and column, before any notebook runs."""
    try:
        return load_params(params_dir, check=check)
    except ParamsError as exc:
        raise ScenarioError(str(exc)) from None


# --------------------------------------------------------------------------------------- loading
def check_changes(path, name, changes, base, where=None):
    """Check a scenario's ``set`` against the base; ``where(*keys)`` gives a key's ``file:line:column``
    (``keys`` from the scenario's ``set``), else the errors name the file."""
    def at(*keys):
        return (where(*keys) if where is not None else None) or str(path)

    if not isinstance(changes, dict) or not changes:
        raise ScenarioError(f"{at()}: scenario {name!r}: 'set' must map params files to the parameters "
                            "they change (e.g. set: {04-subgroups: {ties: efron}})")
    for section, kv in changes.items():
        if section not in base:
            raise ScenarioError(f"{at(section)}: scenario {name!r}: unknown section {section!r} "
                                f"(params files: {', '.join(sorted(base))})")
        if not isinstance(kv, dict) or not kv:
            raise ScenarioError(f"{at(section)}: scenario {name!r}: set.{section} must map parameters to values")
        for key, value in kv.items():
            full = f"{section}.{key}"
            if key not in base[section]:
                elsewhere = sorted(s for s, ps in base.items() if key in ps)
                hint = f"; it is set in {', '.join(elsewhere)}" if elsewhere else ""
                raise ScenarioError(f"{at(section, key)}: scenario {name!r}: unknown parameter {full!r}{hint}")
            old = base[section][key]
            if _kind(old) != _kind(value) and not (old is None or value is None):
                raise ScenarioError(f"{at(section, key)}: scenario {name!r}: {full} must be a {_kind(old)} "
                                    f"like the base value {old!r}, got {value!r}")


def _marker(path: Path, tree):
    """``where(*keys)`` for a node tree: the ``file:line:column`` of a key path, or None."""
    def where(*keys):
        mark = key_marks(tree, *keys) if tree is not None else None
        return f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else None
    return where


def load_scenarios(path: str | Path, base: dict[str, dict], check: bool = True) -> list[Scenario]:
    """Read and check a scenarios file against the base parameters (:func:`load_base`).

    Raises
    ------
    ScenarioError
        Naming the file, line and column, the scenario and the key, for: an unreadable file or a
        YAML error, an entry without a valid name or rationale, two scenarios with one name, an
        unknown section or parameter, a value of another type than the base value, or a value the
        notebooks would refuse (:func:`check_params` on every section the scenario touches).
    """
    path = Path(path)
    data, tree = _read_yaml(path, "scenarios file")
    where = _marker(path, tree)
    if not isinstance(data, dict) or not isinstance(data.get("scenarios"), list):
        raise ScenarioError(f"{path}: expected a list under 'scenarios:' (scenarios:, then one '- name: ...' "
                            "entry per scenario)")
    extra = set(data) - {"scenarios"}
    if extra:
        raise ScenarioError(f"{where(sorted(extra)[0]) or path}: unknown top-level key(s) {sorted(extra)} "
                            "(only 'scenarios')")
    out, seen = [], set()
    for i, entry in enumerate(data["scenarios"], start=1):
        here = f"{where('scenarios', i - 1) or path}"
        if not isinstance(entry, dict):
            raise ScenarioError(f"{here}: scenario #{i} must be a mapping with name, rationale and set")
        name = entry.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ScenarioError(f"{here}: scenario #{i}: name {name!r} must be lower-case letters, digits and '-' "
                                "(it names a folder)")
        if name in seen:
            raise ScenarioError(f"{here}: scenario {name!r} is defined twice")
        seen.add(name)
        unknown = set(entry) - {"name", "rationale", "set"}
        if unknown:
            raise ScenarioError(f"{where('scenarios', i - 1, sorted(unknown)[0]) or here}: scenario {name!r}: "
                                f"unknown key(s) {sorted(unknown)} (name, rationale, set)")
        rationale = entry.get("rationale")
        if not isinstance(rationale, str) or not rationale.strip() or "\n" in rationale.strip():
            raise ScenarioError(f"{here}: scenario {name!r}: 'rationale' must be one line of text")
        changes = entry.get("set")
        check_changes(path, name, changes, base,
                      where=lambda *keys, _i=i: where("scenarios", _i - 1, "set", *keys))
        new = overlay(base, changes)
        for section in new if check else ():
            try:
                check_params(section_params(new, section))
            except (ValueError, TypeError) as exc:
                keys = ", ".join(f"{s}.{k}" for s, kv in changes.items() for k in kv)
                raise ScenarioError(f"{where('scenarios', i - 1, 'set') or here}: scenario {name!r}: "
                                    f"invalid value ({keys}): {exc}") from None
        out.append(Scenario(name, rationale.strip(), changes))
    return out


def _cox_names() -> tuple[frozenset, dict]:
    """The baseline variables a Cox coding may name (``null``: an ordinal score of the levels) and
    the numeric codings' units (imported on demand: this module is read by every make command)."""
    from analysis.data.cohort import baseline_variables
    from analysis.report.tables import NUMERIC_OF

    return frozenset(v.name for v in baseline_variables()), NUMERIC_OF

def describe_value(key: str, value) -> str:
    """A parameter value as a reader reads it: no "None", "True" or Python reprs.

    >>> describe_value("anlotinib_dose_mg", None), describe_value("exclude_not_evaluable", True)
    ('ordinal score (per step)', 'yes')
    >>> describe_value("cox_covariates", {"ecog_group": "numeric"})
    'ecog_group: numeric (per ECOG point)'
    """
    if isinstance(value, dict):
        return ", ".join(f"{k}: {describe_value(k, v)}" for k, v in value.items())
    cox_variables, NUMERIC_OF = _cox_names()
    if value is None:
        return "ordinal score (per step)" if key in cox_variables else "none"
    if value == "numeric" and key in NUMERIC_OF:
        return f"numeric (per {NUMERIC_OF[key][1]})"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(describe_value(key, v) for v in value)
    return str(value)


# --------------------------------------------------------------------------------------- writing
def _dump(obj) -> str:
    return yaml.safe_dump(obj, sort_keys=False, allow_unicode=True, width=1000)


def scenario_params(params_dir: str | Path, scenario: Scenario, check: bool = True) -> dict[str, dict]:
    """A scenario's parameters: the base (defaults overlaid by ``params_dir``) with its changes."""
    return overlay(load_base(params_dir, check), scenario.changes)


def write_params(params_dir: str | Path, scenario: Scenario, out_dir: str | Path) -> list[Path]:
    """Write the scenario's params folder: every section's params file, complete (the defaults overlaid
    by ``params_dir`` and the scenario), so the folder is the scenario's whole parameter set.

    A file whose content is already right is left untouched (so Make sees nothing new on a second
    run); a file of another section left from an earlier version is removed. Returns the files
    (re)written.
    """
    src, dst = Path(params_dir), Path(out_dir)
    dst.mkdir(parents=True, exist_ok=True)
    new = scenario_params(src, scenario, check=False)  # loaded by load_scenarios, checked there
    written = []
    for section in sorted(new):
        changed = [k for k in scenario.keys() if k.startswith(f"{section}.")]
        head = (f"# generated from {src}/ (over the project's params/) with scenario '{scenario.name}'"
                + (f" ({', '.join(changed)})" if changed else "") + "; do not edit\n")
        content = (head + _dump(new[section])).encode("utf-8")
        target = dst / f"{section}.yaml"
        if not target.exists() or target.read_bytes() != content:
            tmp = target.with_suffix(".tmp")
            tmp.write_bytes(content)
            tmp.replace(target)
            written.append(target)
    for f in dst.glob("*.yaml"):
        if f.stem not in new and f.name != SCENARIOS_FILE:
            f.unlink()
    # the scenario's report runs no named scenarios of its own (its sensitivity section shows the
    # multiverse around its parameters; the scenarios are compared on the comparison page), so adding
    # a scenario changes nothing in the others' reports
    own = dst / SCENARIOS_FILE
    text = (f"# generated: scenario '{scenario.name}' builds no named scenarios of its own; do not edit\n"
            "scenarios: []\n").encode("utf-8")
    if not own.exists() or own.read_bytes() != text:
        own.write_bytes(text)
        written.append(own)
    return written


def select(scenarios: list[Scenario], only: str | None, path) -> list[Scenario]:
    """The scenarios named in ``only`` (comma-separated, in the file's order), or all; an unknown name
    is an error listing the known ones."""
    if not only:
        return scenarios
    wanted = [n.strip() for n in only.split(",") if n.strip()]
    known = {s.name for s in scenarios}
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise ScenarioError(f"{path}: no scenario named {', '.join(map(repr, unknown))} "
                            f"(scenarios: {', '.join(s.name for s in scenarios)})")
    return [s for s in scenarios if s.name in wanted]


def describe(scenarios: list[Scenario], width: int = 100) -> str:
    """The scenarios as a reader lists them: name, what it sets, and the rationale, wrapped at ``width``."""
    import textwrap

    lines = [f"{len(scenarios)} scenarios (overlays on the base parameters):"]
    for i, s in enumerate(scenarios, start=1):
        sets = "; ".join(f"{sec}.{k} = {describe_value(k, v)}" for sec, kv in s.changes.items() for k, v in kv.items())
        lines.append(f"{i:>2}. {s.name}")
        for label, text in (("sets", sets), ("why", s.rationale)):
            lines += textwrap.wrap(text, width=max(40, width), initial_indent=f"    {label}: ",
                                   subsequent_indent=" " * (6 + len(label)))
    return "\n".join(lines)


def main(argv=None) -> int:
    import argparse
    import shutil
    import sys

    ap = argparse.ArgumentParser(prog="python -m analysis.sensitivity.scenarios",
                                 description="Check sensitivity scenarios, list them, or write their params folders")
    ap.add_argument("command", choices=("check", "names", "write", "list"))
    ap.add_argument("scenarios", help="scenarios file (params/sensitivity.yaml)")
    ap.add_argument("--params", default="params", help="base params folder")
    ap.add_argument("--only", help="names, list, write: only these scenarios (comma-separated names)")
    ap.add_argument("--out", help="write: root folder; each scenario's params go to OUT/<name>/params/, "
                    "the rationales to OUT/rationales.yaml")
    args = ap.parse_args(argv)
    try:
        # the values are checked by `check` (make runs it before anything else); the other commands
        # read the files without the checks' imports
        check = args.command == "check"
        base = load_base(args.params, check)
        scenarios = select(load_scenarios(args.scenarios, base, check), args.only, args.scenarios)
        if args.command == "list":
            print(describe(scenarios, shutil.get_terminal_size((100, 24)).columns - 1))
        elif args.command == "names":
            print(" ".join(s.name for s in scenarios))
        elif args.command == "check":
            print(f"{args.scenarios}: {len(scenarios)} scenarios, all valid")
        else:
            if not args.out:
                raise ScenarioError("write needs --out")
            for s in scenarios:
                for f in write_params(args.params, s, Path(args.out) / s.name / "params"):
                    print(f"wrote {f}")
            notes = Path(args.out) / "rationales.yaml"
            every = load_scenarios(args.scenarios, base, check) if args.only else scenarios
            text = _dump({s.name: s.rationale for s in every})
            if not notes.exists() or notes.read_text(encoding="utf-8") != text:
                notes.write_text(text, encoding="utf-8")
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
