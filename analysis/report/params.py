"""Params folders as overlays on the project's defaults (``params/``).

A params folder lists only what it changes: :func:`merged_params` gives a section's notebook the
project's defaults (``params/common.yaml`` + ``params/<section>.yaml``) overlaid by the folder's
``common.yaml`` and ``<section>.yaml`` when present. So a folder holding only
``04-subgroups.yaml`` with ``ties: efron`` builds, and so does a copy of an older ``params/``
without the parameters (or files) added since.

Overlay rules (:func:`overlay`, the same for a scenario's ``set``): a scalar or a list replaces
the default; a mapping (``cox_covariates``) is merged key by key. A parameter must be one of the
defaults' file it is written in (``common`` parameters in ``common.yaml``); anything else is an
error naming the file, line and column of the key (:class:`ParamsError`), as is a YAML syntax
error, a params file the project does not have, or a value no notebook accepts
(:func:`check_params`).

Command line::

    python -m analysis.report.params diff params-mine         # what differs from the defaults
    python -m analysis.report.params check params-mine        # one line: valid, or the error
    python -m analysis.report.params show params-mine 04-subgroups   # the merged parameters (YAML)
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from analysis.paths import PARAMS_DIR

__all__ = ["ParamsError", "SCENARIOS_FILE", "read_yaml", "key_marks", "overlay", "section_params",
           "load_params", "merged_params", "check_params", "params_diff", "Difference"]

#: The scenarios file a params folder may hold beside the params files (not a section's file).
SCENARIOS_FILE = "sensitivity.yaml"


class ParamsError(ValueError):
    """A params file that cannot be used; the message starts with ``file:line:column:`` when known."""


def _where(path: Path, mark=None) -> str:
    return f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else f"{path}"


def read_yaml(path: str | Path, what: str = "params file"):
    """``(data, tree)``: a YAML file's content and its node tree (for the keys' positions).

    A missing file or a YAML syntax error is a :class:`ParamsError` with file, line and column.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParamsError(f"{path}: {what} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ParamsError(f"{path}: cannot read {what} ({exc})") from None
    try:
        tree = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(str(exc.problem or exc.context or "syntax error").split())
        context = f" ({' '.join(exc.context.split())})" if exc.context and exc.problem else ""
        raise ParamsError(f"{_where(path, mark)}: not valid YAML: {problem}{context}") from None
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None
    return data, tree


def key_marks(tree, *path) -> object | None:
    """The start mark of the key reached by ``path`` (mapping keys and list indexes) in a node tree.

    >>> tree = yaml.compose("a: 1\\nb:\\n  - {c: 2}\\n")
    >>> m = key_marks(tree, "b", 0, "c"); (m.line, m.column)
    (2, 5)
    >>> key_marks(tree, "x") is None
    True
    """
    node, mark = tree, None
    for step in path:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == step:
                    node, mark = v, k.start_mark
                    break
            else:
                return None
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
            node = node.value[step]
            mark = node.start_mark
        else:
            return None
    return mark


def overlay(base: dict, changes: dict) -> dict:
    """``base`` (``{section: {parameter: value}}``) with ``changes`` applied; mappings merged key by key.

    The base is not modified.

    >>> base = {"04-subgroups": {"ties": "breslow", "cox_covariates": {"ecog_group": "ecog_2", "x": 1}}}
    >>> overlay(base, {"04-subgroups": {"cox_covariates": {"ecog_group": "numeric"}}})["04-subgroups"]
    {'ties': 'breslow', 'cox_covariates': {'ecog_group': 'numeric', 'x': 1}}
    """
    out = copy.deepcopy(base)
    for section, kv in changes.items():
        target = out.setdefault(section, {})
        for key, value in (kv or {}).items():
            if isinstance(value, dict) and isinstance(target.get(key), dict):
                target[key] = {**target[key], **copy.deepcopy(value)}
            else:
                target[key] = copy.deepcopy(value)
    return out


def section_params(params: dict[str, dict], section: str) -> dict:
    """What a section's notebook receives: ``common`` overlaid with the section's own parameters."""
    return {**params.get("common", {}), **params.get(section, {})}


# ------------------------------------------------------------------------------------------ values
def _check_landmarks(name, v):
    if not isinstance(v, list) or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0
                                          for x in v):
        raise ValueError(f"{name} must be a list of months > 0, got {v!r}")


def _check_cox(covariates, numeric):
    from analysis.data.cohort import baseline_variables

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
    import pandas as pd

    from analysis.data.cohort import DeriveOptions
    from analysis.data.landmark import exclude_early_deaths
    from analysis.report.tables import NUMERIC_OF
    from analysis.stats.control import CoxControl, ResponseControl, SurvControl
    from analysis.stats.selection import COX_SELECTIONS

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


# ----------------------------------------------------------------------------------------- loading
def _defaults(defaults_dir: Path) -> dict[str, dict]:
    out = {}
    for f in sorted(defaults_dir.glob("*.yaml")):
        if f.name != SCENARIOS_FILE:
            data, _ = read_yaml(f)
            out[f.stem] = dict(data or {})
    return out


def _folder_files(params_dir: Path, defaults: dict) -> dict[str, tuple[Path, dict, object]]:
    """The folder's params files, each read and its keys checked against the defaults."""
    files = {}
    for f in sorted(params_dir.glob("*.yaml")):
        if f.name == SCENARIOS_FILE:
            continue
        data, tree = read_yaml(f)
        if data is None:
            data = {}
        if f.stem not in defaults:
            raise ParamsError(f"{f}: not a params file of this project (params files: "
                              f"{', '.join(f'{s}.yaml' for s in sorted(defaults))}; scenarios go in {SCENARIOS_FILE})")
        if not isinstance(data, dict):
            raise ParamsError(f"{_where(f, getattr(tree, 'start_mark', None))}: expected parameters as "
                              f"'name: value' lines, got {_kind(data)}")
        known = defaults[f.stem]
        for key, value in data.items():
            mark = key_marks(tree, key)
            if key not in known:
                elsewhere = sorted(s for s, ps in defaults.items() if key in ps)
                hint = (f"; it is set in {', '.join(f'{s}.yaml' for s in elsewhere)}" if elsewhere
                        else f"; parameters of {f.name}: {', '.join(known) or 'none'}")
                raise ParamsError(f"{_where(f, mark)}: unknown parameter {key!r}{hint}")
            old = known[key]
            if _kind(old) != _kind(value) and old is not None and value is not None:
                raise ParamsError(f"{_where(f, mark)}: {key} must be a {_kind(old)} like the default "
                                  f"{old!r}, got {value!r}")
        files[f.stem] = (f, data, tree)
    return files


def load_params(params_dir: str | Path, defaults_dir: str | Path = PARAMS_DIR, check: bool = True
                ) -> dict[str, dict]:
    """Every section's parameters, ``{section: {parameter: value}}``: the defaults overlaid by the folder.

    With ``check`` (the default) each section's merged parameters are checked (:func:`check_params`):
    a value no notebook accepts is an error naming the file, line and column of the key that set
    it. (Unknown files and parameters are always errors; ``check=False`` spares the value checks'
    imports where ``make`` has checked the folder already, e.g. the notebook runner.)

    Raises
    ------
    ParamsError
        For a missing folder, a YAML error, a file or parameter the defaults do not have, a value
        of another kind than the default's, or a value the notebooks refuse.
    """
    d, dd = Path(params_dir), Path(defaults_dir)
    if not d.is_dir():
        raise ParamsError(f"{d}: params folder not found")
    defaults = _defaults(dd)
    if "common" not in defaults:
        raise ParamsError(f"{dd}: common.yaml missing")
    same = d.resolve() == dd.resolve()
    files = {} if same else _folder_files(d, defaults)
    if same:
        files = {s: (dd / f"{s}.yaml", {}, None) for s in defaults}
    merged = overlay(defaults, {s: data for s, (_, data, _) in files.items()})
    for section in sorted(merged) if check else ():
        try:
            check_params(section_params(merged, section))
        except (ValueError, TypeError) as exc:
            raise ParamsError(_blame(defaults, files, section, exc)) from None
    return merged


def _blame(defaults, files, section, exc) -> str:
    """The file, line and column of the key that makes ``section``'s parameters invalid."""
    for stem in (section, "common"):
        if stem not in files:
            continue
        path, data, tree = files[stem]
        for key, value in data.items():
            trial = overlay(defaults, {stem: {key: value}})
            try:
                check_params(section_params(trial, section))
            except (ValueError, TypeError) as one:
                return f"{_where(path, key_marks(tree, key) if tree is not None else None)}: invalid value: {one}"
    files_named = [str(files[s][0]) for s in (section, "common") if s in files] or [f"{section}.yaml"]
    return f"{' over '.join(files_named)}: invalid value: {exc}"


def merged_params(section: str, params_dir: str | Path = PARAMS_DIR, defaults_dir: str | Path = PARAMS_DIR,
                  check: bool = True) -> dict:
    """The parameters a section's notebook receives: defaults' ``common`` + ``<section>``, overlaid by
    the folder's ``common.yaml`` and ``<section>.yaml`` when present (every file of the folder read;
    ``check``: see :func:`load_params`)."""
    params = load_params(params_dir, defaults_dir, check=check)
    if section not in params:
        raise ParamsError(f"{defaults_dir}: no params file for section {section!r}")
    return section_params(params, section)


# -------------------------------------------------------------------------------------------- diff
@dataclass(frozen=True)
class Difference:
    """A parameter whose value differs from the default (``key`` as ``section.parameter[.sub]``)."""

    key: str
    default: object
    value: object


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else a == b


def params_diff(params_dir: str | Path, defaults_dir: str | Path = PARAMS_DIR) -> list[Difference]:
    """What a params folder changes: one :class:`Difference` per parameter (per key of a mapping).

    >>> params_diff(PARAMS_DIR)
    []
    """
    defaults = load_params(defaults_dir, defaults_dir)
    merged = load_params(params_dir, defaults_dir)
    out = []
    for section in defaults:
        for key, dv in defaults[section].items():
            v = merged[section].get(key)
            if isinstance(dv, dict) and isinstance(v, dict):
                for sub in list(dv) + [s for s in v if s not in dv]:
                    if sub not in dv or sub not in v or not _same(dv[sub], v[sub]):
                        out.append(Difference(f"{section}.{key}.{sub}", dv.get(sub), v.get(sub)))
            elif not _same(dv, v):
                out.append(Difference(f"{section}.{key}", dv, v))
    return out


def _show(v) -> str:
    return yaml.safe_dump(v, default_flow_style=True, allow_unicode=True, width=1000).strip().removesuffix("...").strip()


def main(argv=None) -> int:
    import argparse
    import sys

    ap = argparse.ArgumentParser(prog="python -m analysis.report.params",
                                 description="Params folders as overlays on the project's params/")
    ap.add_argument("command", choices=("diff", "check", "show"))
    ap.add_argument("params_dir", help="a params folder (overlay on params/)")
    ap.add_argument("section", nargs="?", help="show: the section whose merged parameters to print")
    args = ap.parse_args(argv)
    try:
        if args.command == "diff":
            diff = params_diff(args.params_dir)
            if not diff:
                print(f"{args.params_dir}: no parameter differs from the defaults ({PARAMS_DIR.name}/)")
            else:
                print(f"{args.params_dir}: {len(diff)} parameter(s) differ from the defaults")
                width = max(len(d.key) for d in diff)
                for d in diff:
                    print(f"  {d.key:<{width}}  {_show(d.default)} -> {_show(d.value)}")
        elif args.command == "check":
            load_params(args.params_dir)
            print(f"{args.params_dir}: valid")
        else:
            if not args.section:
                raise ParamsError("show needs a section, e.g. 04-subgroups")
            print(yaml.safe_dump(merged_params(args.section, args.params_dir), sort_keys=False,
                                 allow_unicode=True), end="")
    except ParamsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
