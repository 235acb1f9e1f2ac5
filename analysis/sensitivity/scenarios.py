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
section is a params file's stem (``common``, ``03-survival`` ...); a parameter must already be
set in that file (``common`` parameters are set in ``common``).

Every error (unknown section, unknown parameter, a value of the wrong type or outside its
choices, two scenarios with one name) is a :class:`ScenarioError` naming the file, the
scenario and the key; the command line prints it in one line and exits with status 2 before
anything runs::

    python -m analysis.sensitivity.scenarios check params/sensitivity.yaml --params params
    python -m analysis.sensitivity.scenarios names params/sensitivity.yaml --params params
    python -m analysis.sensitivity.scenarios write params/sensitivity.yaml --params params --out build/sensitivity
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from analysis.data.cohort import DeriveOptions, baseline_variables
from analysis.data.landmark import exclude_early_deaths
from analysis.report.tables import NUMERIC_OF
from analysis.stats.control import CoxControl, ResponseControl, SurvControl
from analysis.stats.selection import COX_SELECTIONS

__all__ = ["ScenarioError", "Scenario", "SCENARIOS_FILE", "load_base", "load_scenarios", "overlay",
           "check_changes", "check_params", "section_params", "write_params"]

#: The scenarios file inside a params folder (not a section's params file).
SCENARIOS_FILE = "sensitivity.yaml"
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
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{path}: {what} not found") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None


def load_base(params_dir: str | Path) -> dict[str, dict]:
    """The base parameters: ``{section: {parameter: value}}`` of every ``*.yaml`` of a params folder
    (the scenarios file apart), each section's values checked (:func:`check_params`): a value no
    notebook accepts is an error naming the file and the parameter, before any notebook runs."""
    d = Path(params_dir)
    if not d.is_dir():
        raise ScenarioError(f"{d}: params folder not found")
    base = {}
    for f in sorted(d.glob("*.yaml")):
        if f.name == SCENARIOS_FILE:
            continue
        data = _read_yaml(f, "params file")
        base[f.stem] = dict(data or {})
    if "common" not in base:
        raise ScenarioError(f"{d}: common.yaml missing")
    for section in sorted(base):
        try:
            check_params(section_params(base, section))
        except (ValueError, TypeError) as exc:
            files = "common.yaml" if section == "common" else f"{section}.yaml (over common.yaml)"
            raise ScenarioError(f"{d}/{files}: invalid value: {exc}") from None
    return base


def section_params(base: dict[str, dict], section: str) -> dict:
    """What a section's notebook receives: ``common`` overlaid with the section's own file."""
    return {**base.get("common", {}), **base.get(section, {})}


def overlay(base: dict[str, dict], changes: dict[str, dict]) -> dict[str, dict]:
    """A new parameter set: ``base`` with ``changes`` applied (mappings merged key by key).

    The base is not modified.

    Examples
    --------
    >>> base = {"common": {"days_per_month": 30}, "04-subgroups": {"ties": "breslow",
    ...         "cox_covariates": {"ecog_group": "ecog_2", "anlotinib_dose_mg": "numeric"}}}
    >>> new = overlay(base, {"04-subgroups": {"cox_covariates": {"ecog_group": "numeric"}}})
    >>> new["04-subgroups"]["cox_covariates"]
    {'ecog_group': 'numeric', 'anlotinib_dose_mg': 'numeric'}
    >>> base["04-subgroups"]["cox_covariates"]["ecog_group"]
    'ecog_2'
    """
    out = copy.deepcopy(base)
    for section, kv in changes.items():
        target = out.setdefault(section, {})
        for key, value in kv.items():
            if isinstance(value, dict) and isinstance(target.get(key), dict):
                target[key] = {**target[key], **copy.deepcopy(value)}
            else:
                target[key] = copy.deepcopy(value)
    return out


# --------------------------------------------------------------------------------------- values
def _kind(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true/false"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "text"
    if isinstance(v, list):
        return "list"
    if isinstance(v, dict):
        return "mapping"
    return type(v).__name__


def _check_landmarks(name, v):
    if not isinstance(v, list) or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0
                                          for x in v):
        raise ValueError(f"{name} must be a list of months > 0, got {v!r}")


def _check_cox(covariates, numeric):
    known = {v.name: [k for k, _ in v.levels] for v in baseline_variables()}
    if not isinstance(covariates, dict):
        raise ValueError(f"cox_covariates must map variables to a coding, got {covariates!r}")
    for var, coding in covariates.items():
        if var not in known or var == "stage":
            raise ValueError(f"cox_covariates: unknown variable {var!r} (one of {sorted(set(known) - {'stage'})})")
        if coding == "numeric" and var not in numeric:
            raise ValueError(f"cox_covariates.{var}: 'numeric' only for {sorted(numeric)}")
        if coding not in (None, "numeric") and coding not in known[var]:
            raise ValueError(f"cox_covariates.{var}: reference {coding!r} is not a level ({known[var]}), "
                             "'numeric' or null")
        if coding not in (None, "numeric") and len(known[var]) > 2:
            alternatives = "null (an ordinal score of its levels)" + (" or 'numeric'" if var in numeric else "")
            raise ValueError(f"cox_covariates.{var}: a reference level codes a two-level variable as one term; "
                             f"{var} has {len(known[var])} levels ({known[var]}): use {alternatives}")


def check_params(params: dict) -> None:
    """Raise ``ValueError`` when a section's merged parameters hold a value no notebook accepts.

    Each option is checked by the object that uses it (``DeriveOptions``, ``SurvControl``,
    ``CoxControl``, ``ResponseControl``) or against its list of choices.
    """
    p = params
    derive = {k: p[k] for k in ("age_cut", "pfs_censor", "sd_min_days", "days_per_month") if k in p}
    if not isinstance(derive.get("age_cut", 0), (int, float)) or isinstance(derive.get("age_cut"), bool):
        raise ValueError(f"age_cut must be a number of years, got {derive['age_cut']!r}")
    if not isinstance(derive.get("sd_min_days", 0), int) or isinstance(derive.get("sd_min_days"), bool):
        raise ValueError(f"sd_min_days must be a whole number of days, got {derive['sd_min_days']!r}")
    DeriveOptions(**derive)
    surv = {k: p[k] for k in ("conf_level", "median_ci", "rate_ci") if k in p}
    SurvControl(**surv)
    if "ties" in p:
        CoxControl(ties=p["ties"], conf_level=p.get("conf_level", 0.95))
    resp = {k: p[k] for k in ("ci_method", "exclude_not_evaluable") if k in p}
    if resp:
        ResponseControl(conf_level=p.get("conf_level", 0.95), **resp)
    choices = {"followup_method": ("observed", "reverse_km"), "p_adjust": ("none", "fdr_bh"),
               "cox_selection": COX_SELECTIONS}
    for key, allowed in choices.items():
        if key in p and p[key] not in allowed:
            raise ValueError(f"{key} must be one of {allowed}, got {p[key]!r}")
    if "cox_select_p" in p and (isinstance(p["cox_select_p"], bool) or not isinstance(p["cox_select_p"], (int, float))
                                or not 0 < p["cox_select_p"] <= 1):
        raise ValueError(f"cox_select_p must be in (0, 1], got {p['cox_select_p']!r}")
    if "exclude_deaths_within" in p:
        exclude_early_deaths(pd.DataFrame({"os_months": [], "os_event": []}), p["exclude_deaths_within"])
    for key in ("landmarks_dor", "landmarks_pfs", "landmarks_os"):
        if key in p:
            _check_landmarks(key, p[key])
    if "km_min_at_risk" in p and (isinstance(p["km_min_at_risk"], bool) or not isinstance(p["km_min_at_risk"], int)
                                  or p["km_min_at_risk"] < 1):  # drawing only: analysis.report.plots.km_draw_until
        raise ValueError(f"km_min_at_risk must be a whole number of patients ≥ 1, got {p['km_min_at_risk']!r}")
    if "cox_covariates" in p:
        _check_cox(p["cox_covariates"], set(NUMERIC_OF))


# --------------------------------------------------------------------------------------- loading
def check_changes(path, name, changes, base):
    if not isinstance(changes, dict) or not changes:
        raise ScenarioError(f"{path}: scenario {name!r}: 'set' must map params files to the parameters "
                            "they change (e.g. set: {04-subgroups: {ties: efron}})")
    for section, kv in changes.items():
        if section not in base:
            raise ScenarioError(f"{path}: scenario {name!r}: unknown section {section!r} "
                                f"(params files: {', '.join(sorted(base))})")
        if not isinstance(kv, dict) or not kv:
            raise ScenarioError(f"{path}: scenario {name!r}: set.{section} must map parameters to values")
        for key, value in kv.items():
            where = f"{section}.{key}"
            if key not in base[section]:
                elsewhere = sorted(s for s, ps in base.items() if key in ps)
                hint = f"; it is set in {', '.join(elsewhere)}" if elsewhere else ""
                raise ScenarioError(f"{path}: scenario {name!r}: unknown parameter {where!r}{hint}")
            old = base[section][key]
            if _kind(old) != _kind(value) and not (old is None or value is None):
                raise ScenarioError(f"{path}: scenario {name!r}: {where} must be a {_kind(old)} "
                                    f"like the base value {old!r}, got {value!r}")


def load_scenarios(path: str | Path, base: dict[str, dict]) -> list[Scenario]:
    """Read and check a scenarios file against the base parameters (:func:`load_base`).

    Raises
    ------
    ScenarioError
        Naming the file, the scenario and the key, for: an unreadable file, an entry without a
        valid name or rationale, two scenarios with one name, an unknown section or parameter, a
        value of another type than the base value, or a value the notebooks would refuse
        (:func:`check_params` on every section the scenario touches).
    """
    path = Path(path)
    data = _read_yaml(path, "scenarios file")
    if not isinstance(data, dict) or not isinstance(data.get("scenarios"), list):
        raise ScenarioError(f"{path}: expected a list under 'scenarios:'")
    extra = set(data) - {"scenarios"}
    if extra:
        raise ScenarioError(f"{path}: unknown top-level key(s) {sorted(extra)} (only 'scenarios')")
    out, seen = [], set()
    for i, entry in enumerate(data["scenarios"], start=1):
        if not isinstance(entry, dict):
            raise ScenarioError(f"{path}: scenario #{i} must be a mapping with name, rationale and set")
        name = entry.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ScenarioError(f"{path}: scenario #{i}: name {name!r} must be lower-case letters, digits and '-' "
                                "(it names a folder)")
        if name in seen:
            raise ScenarioError(f"{path}: scenario {name!r} is defined twice")
        seen.add(name)
        unknown = set(entry) - {"name", "rationale", "set"}
        if unknown:
            raise ScenarioError(f"{path}: scenario {name!r}: unknown key(s) {sorted(unknown)} "
                                "(name, rationale, set)")
        rationale = entry.get("rationale")
        if not isinstance(rationale, str) or not rationale.strip() or "\n" in rationale.strip():
            raise ScenarioError(f"{path}: scenario {name!r}: 'rationale' must be one line of text")
        changes = entry.get("set")
        check_changes(path, name, changes, base)
        new = overlay(base, changes)
        for section in new:
            try:
                check_params(section_params(new, section))
            except (ValueError, TypeError) as exc:
                keys = ", ".join(f"{s}.{k}" for s, kv in changes.items() for k in kv)
                raise ScenarioError(f"{path}: scenario {name!r}: invalid value ({keys}): {exc}") from None
        out.append(Scenario(name, rationale.strip(), changes))
    return out


# --------------------------------------------------------------------------------------- writing
def _dump(obj) -> str:
    return yaml.safe_dump(obj, sort_keys=False, allow_unicode=True, width=1000)


def write_params(params_dir: str | Path, scenario: Scenario, out_dir: str | Path) -> list[Path]:
    """Write the scenario's params folder: the base files, with the sections it changes merged.

    A file whose content is already right is left untouched (so Make sees nothing new on a second
    run); the base files the scenario does not change are copied byte for byte. Returns the files
    (re)written.
    """
    src, dst = Path(params_dir), Path(out_dir)
    dst.mkdir(parents=True, exist_ok=True)
    base = load_base(src)
    new = overlay(base, scenario.changes)
    written = []
    for f in sorted(src.glob("*.yaml")):
        if f.name == SCENARIOS_FILE:
            continue
        if f.stem in scenario.changes:
            text = (f"# generated: {src.name}/{f.name} with "
                    f"scenario '{scenario.name}' ({', '.join(scenario.keys())}); do not edit\n"
                    + _dump(new[f.stem]))
            content = text.encode("utf-8")
        else:
            content = f.read_bytes()
        target = dst / f.name
        if not target.exists() or target.read_bytes() != content:
            tmp = target.with_suffix(".tmp")
            tmp.write_bytes(content)
            tmp.replace(target)
            written.append(target)
    return written


def main(argv=None) -> int:
    import argparse
    import sys

    ap = argparse.ArgumentParser(prog="python -m analysis.sensitivity.scenarios",
                                 description="Check sensitivity scenarios, list them, or write their params folders")
    ap.add_argument("command", choices=("check", "names", "write"))
    ap.add_argument("scenarios", help="scenarios file (params/sensitivity.yaml)")
    ap.add_argument("--params", default="params", help="base params folder")
    ap.add_argument("--out", help="write: root folder; each scenario's params go to OUT/<name>/params/, "
                    "the rationales to OUT/rationales.yaml")
    args = ap.parse_args(argv)
    try:
        base = load_base(args.params)
        scenarios = load_scenarios(args.scenarios, base)
        if args.command == "names":
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
            text = _dump({s.name: s.rationale for s in scenarios})
            if not notes.exists() or notes.read_text(encoding="utf-8") != text:
                notes.write_text(text, encoding="utf-8")
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
