"""The multiverse: every combination of binary analytic choices, and how often each conclusion holds.

Steegen, Tuerlinckx, Gelman & Vanpaemel (2016, "Increasing transparency through a multiverse
analysis") and Simonsohn, Simmons & Nelson (2020, "Specification curve analysis"): enumerate every
defensible combination of the analytic choices, compute the estimates under each, and report the
share of specifications in which each conclusion holds.

A choice has two options, each an overlay on the base parameters in the format of a scenario's
``set`` (:mod:`analysis.sensitivity.scenarios`); the first option is normally the paper's (an
empty overlay). ``k`` choices give ``2**k`` specifications, numbered in the order of
:func:`itertools.product` (the first choice varies slowest), so the result is deterministic.
A conclusion is a headline key and a condition (``"< 0.05"``, ``">= 0.05"``) on its value.
"""
from __future__ import annotations

import itertools
import math
import operator
import re
from dataclasses import dataclass

import pandas as pd

from analysis.sensitivity.headline import headline
from analysis.sensitivity.scenarios import ScenarioError, check_changes, check_params, overlay, section_params

__all__ = ["Choice", "Conclusion", "complete_options", "parse_choices", "parse_conclusions", "specifications", "run",
           "conclusion_shares", "estimate_summary"]

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_COND = re.compile(r"^\s*(<=|>=|<|>)\s*(-?[0-9.]+(?:e-?\d+)?)\s*$")


@dataclass(frozen=True)
class Choice:
    """A binary analytic choice: its name and two options ``(label, overlay)``."""

    name: str
    options: tuple


@dataclass(frozen=True)
class Conclusion:
    """A conclusion of the paper: it holds in a specification when ``key``'s value meets ``holds``."""

    claim: str
    key: str
    holds: str

    def test(self, value) -> bool | None:
        """True / False, or None when the value is missing (e.g. the term is not in the model)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        op, threshold = _COND.match(self.holds).groups()
        return bool(_OPS[op](float(value), float(threshold)))


def _paths(changes: dict) -> list[tuple]:
    """The parameters an overlay sets, as ``(section, key)`` or ``(section, key, subkey)`` for a mapping."""
    out = []
    for section, kv in (changes or {}).items():
        for key, value in (kv or {}).items():
            out += [(section, key, sub) for sub in value] if isinstance(value, dict) else [(section, key)]
    return out


def complete_options(options: dict, defaults: dict) -> dict:
    """Each option of a choice with every parameter that any option of it sets: where an option leaves one
    out (the paper's choice is written ``{}``), it takes the project's default (``defaults``, ``params/``).

    So an option is what its label says whatever the base: around a params folder that sets Efron ties,
    the option labelled "Breslow" sets Breslow ties, not the base's Efron.

    >>> defaults = {"04-subgroups": {"ties": "breslow", "cox_covariates": {"anlotinib_dose_mg": "numeric", "x": 1}}}
    >>> complete_options({"Breslow": {}, "Efron": {"04-subgroups": {"ties": "efron"}}}, defaults)["Breslow"]
    {'04-subgroups': {'ties': 'breslow'}}
    >>> complete_options({"mg": {}, "step": {"04-subgroups": {"cox_covariates": {"anlotinib_dose_mg": None}}}},
    ...                  defaults)["mg"]
    {'04-subgroups': {'cox_covariates': {'anlotinib_dose_mg': 'numeric'}}}
    """
    paths = list(dict.fromkeys(p for changes in options.values() for p in _paths(changes)))
    out = {}
    for label, changes in options.items():
        done = {s: {k: (dict(v) if isinstance(v, dict) else v) for k, v in (kv or {}).items()}
                for s, kv in (changes or {}).items()}
        for path in paths:
            section, key, *sub = path
            default = defaults.get(section, {}).get(key)
            target = done.setdefault(section, {})
            if sub:
                if isinstance(default, dict) and sub[0] in default:
                    target.setdefault(key, {}).setdefault(sub[0], default[sub[0]])
            elif key not in target and key in defaults.get(section, {}):
                target[key] = default
        out[label] = {s: kv for s, kv in done.items() if kv}
    return out


def parse_choices(entries, base: dict, where: str = "multiverse", defaults: dict | None = None) -> list[Choice]:
    """Choices from a list of ``{choice: name, options: {label: overlay, label: overlay}}``.

    Each overlay is checked as a scenario's ``set`` is (an empty mapping is the base); errors are
    :class:`~analysis.sensitivity.scenarios.ScenarioError` naming ``where``, the choice and the key.
    With ``defaults`` (the project's parameters, ``params/``), each option is completed by
    :func:`complete_options`, so that it means what its label says also around a base that differs from the
    defaults (a params folder of one's own); without, an empty option is the base.
    """
    if not isinstance(entries, list) or not entries:
        raise ScenarioError(f"{where}: expected a list of choices")
    out, seen = [], set()
    for i, e in enumerate(entries, start=1):
        name = e.get("choice") if isinstance(e, dict) else None
        opts = e.get("options") if isinstance(e, dict) else None
        if not isinstance(name, str) or not name or name in seen:
            raise ScenarioError(f"{where}: choice #{i} needs a unique name under 'choice' (got {name!r})")
        seen.add(name)
        if not isinstance(opts, dict) or len(opts) != 2:
            raise ScenarioError(f"{where}: choice {name!r}: 'options' must map two labels to overlays")
        if defaults is not None and all(isinstance(c, dict) or c is None for c in opts.values()):
            opts = complete_options(opts, defaults)
        for label, changes in opts.items():
            if changes:
                check_changes(where, f"{name}: {label}", changes, base)
                new = overlay(base, changes)
                for section in new:
                    try:
                        check_params(section_params(new, section))
                    except (ValueError, TypeError) as exc:
                        raise ScenarioError(f"{where}: choice {name!r}, option {label!r}: invalid value: {exc}") from None
        out.append(Choice(name, tuple((str(k), v or {}) for k, v in opts.items())))
    return out


def parse_conclusions(entries, where: str = "conclusions") -> list[Conclusion]:
    """Conclusions from a list of ``{claim: text, key: dotted key, holds: "< 0.05"}``."""
    if not isinstance(entries, list):
        raise ScenarioError(f"{where}: expected a list of conclusions")
    out = []
    for i, e in enumerate(entries, start=1):
        if not isinstance(e, dict) or set(e) != {"claim", "key", "holds"}:
            raise ScenarioError(f"{where}: conclusion #{i} needs exactly claim, key and holds")
        if not isinstance(e["holds"], str) or not _COND.match(e["holds"]):
            raise ScenarioError(f"{where}: conclusion {e['claim']!r}: holds must read like '< 0.05', "
                                f"got {e['holds']!r}")
        out.append(Conclusion(str(e["claim"]), str(e["key"]), e["holds"]))
    return out


def specifications(choices: list[Choice]) -> list[tuple[int, ...]]:
    """Every combination of option indices, first choice varying slowest.

    >>> specifications([Choice("a", ()), Choice("b", ())])
    [(0, 0), (0, 1), (1, 0), (1, 1)]
    """
    return list(itertools.product(*[range(2) for _ in choices]))


def run(cohort, base: dict, choices: list[Choice], keys=None, cache: dict | None = None) -> pd.DataFrame:
    """The headline results of every specification.

    Returns one row per specification: ``spec`` (1..2**k), one column per choice holding the
    label of the option taken, and one column per headline key (raw values; ``keys`` restricts
    them). Derivations and the parts of the results that a choice does not touch are computed once
    (``cache``: the memo of :func:`~analysis.sensitivity.headline.headline`, e.g. shared with the
    named scenarios' or stored on disk, :func:`~analysis.sensitivity.headline.memo_for`).
    """
    cache = {} if cache is None else cache
    rows = []
    for n, combo in enumerate(specifications(choices), start=1):
        params = base
        row = {"spec": n}
        for choice, i in zip(choices, combo):
            label, changes = choice.options[i]
            params = overlay(params, changes) if changes else params
            row[choice.name] = label
        nums = headline(cohort, params, cache)
        row.update({k: v for k, (v, _) in nums.items() if v is not None and (keys is None or k in keys)})
        rows.append(row)
    return pd.DataFrame(rows)


def conclusion_shares(frame: pd.DataFrame, conclusions: list[Conclusion], choices: list[Choice]) -> pd.DataFrame:
    """For each conclusion: in how many specifications it holds, overall and under each option.

    Columns: ``claim``, ``key``, ``holds`` (condition), ``n`` (specifications where the value
    exists), ``k`` (where the conclusion holds), ``share`` (k / n), ``missing`` (where it does not
    exist), then for each choice and option ``share|<choice>|<label>``.
    """
    rows = []
    for c in conclusions:
        col = frame[c.key] if c.key in frame else pd.Series([None] * len(frame), index=frame.index)
        verdict = col.map(c.test)
        known = verdict.notna()
        row = {"claim": c.claim, "key": c.key, "holds": c.holds, "n": int(known.sum()),
               "k": int((verdict == True).sum()), "missing": int((~known).sum())}  # noqa: E712
        row["share"] = row["k"] / row["n"] if row["n"] else math.nan
        for ch in choices:
            for label, _ in ch.options:
                m = known & (frame[ch.name] == label)
                row[f"share|{ch.name}|{label}"] = float((verdict[m] == True).mean()) if m.any() else math.nan  # noqa: E712
        rows.append(row)
    return pd.DataFrame(rows)


def estimate_summary(frame: pd.DataFrame, keys: dict[str, str]) -> pd.DataFrame:
    """Distribution of each key estimate over the specifications: label, n, min, median, max.

    ``keys`` maps a headline key to its label; a key no specification produced gives n = 0.
    """
    rows = []
    for key, label in keys.items():
        v = pd.to_numeric(frame[key], errors="coerce").dropna() if key in frame else pd.Series(dtype=float)
        rows.append({"key": key, "label": label, "n": int(v.size),
                     "min": float(v.min()) if v.size else math.nan,
                     "median": float(v.median()) if v.size else math.nan,
                     "max": float(v.max()) if v.size else math.nan})
    return pd.DataFrame(rows)
