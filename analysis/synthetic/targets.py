"""The published targets: every number the paper prints, read from ``data/published_targets.yaml``.

The file holds one entry per printed number (see its header comment for the fields). This module
reads it into a DataFrame and validates it, so that a transcription slip is caught when the file is
loaded rather than when a scorecard looks wrong.

Key scheme (the notebooks write their numbers with the same keys)
-----------------------------------------------------------------
``cohort.*``      ``cohort.n``, ``cohort.age.median|min|max``,
                  ``cohort.table1.<variable>.<level>.n|pct``, ``cohort.on_treatment_at_cutoff.n``
``response.*``    ``response.best.<CR|PR|SD|PD|NE>.n|pct``, ``response.orr|dcr.pct|lower|upper``,
                  ``response.best_pct_change.mean|n``
``survival.*``    ``survival.<dor|pfs|os>.median|lower|upper``, ``.rate_<m>.estimate|lower|upper``,
                  ``survival.pfs.events|events_pct``, ``survival.pfs_by_dose.<mg8|mg10|mg12>.*``,
                  ``survival.followup.median|min|max``
``subgroups.*``   ``subgroups.<variable>.p``, ``subgroups.<variable>.<level>.median|lower|upper``,
                  ``subgroups.cox.<variable>.hr|lower|upper|p``
``safety.*``      ``safety.any.*`` and ``safety.<term>.any_n|any_pct|grade12_n|grade12_pct|
                  grade3plus_n|grade3plus_pct``

Examples
--------
>>> from analysis.synthetic.targets import load_targets
>>> t = load_targets()
>>> t.loc[t.key == "survival.pfs.median", "value"].item()
5.6
"""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd

from analysis import fastyaml
from analysis.paths import TARGETS_FILE

COLUMNS = ["key", "value", "decimals", "unit", "where", "text", "kind", "conflict_with"]
UNITS = frozenset({"months", "percent", "count", "ratio", "p", "years", "mm-percent", "date"})
#: ``value`` = an ordinary printed number (the default, stored as ``None`` in the file).
KINDS = frozenset({"value", "bound", "words", "approx", "definition", "date"})
REQUIRED = ("key", "value", "decimals", "unit", "where", "text")
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[A-Za-z0-9_]+)+$")
_BOUND_RE = re.compile(r"^\s*(<=|>=|<|>|≤|≥)\s*(-?\d+(?:\.(\d+))?)\s*$")
# dashes and minus signs the paper uses, all read as "-"
_DASHES = str.maketrans({"\u2013": "-", "\u2212": "-", "\u2014": "-", "\u2010": "-", "\u2011": "-"})


class TargetsError(ValueError):
    """An entry of the targets file is malformed; the message names the entry."""


def format_published(value: float, decimals: int) -> str:
    """The number as the paper prints it: ``value`` with ``decimals`` decimals (half away from zero).

    >>> format_published(13.2352941, 1)
    '13.2'
    >>> format_published(0.8, 2)
    '0.80'

    A number of more than 28 digits at that precision (the hazard ratio of a covariate that separates
    a tiny cohort's deaths, e.g. 3e28) is printed in full rather than raising ``decimal.InvalidOperation``:

    >>> format_published(3.075771541525764e+28, 2)
    '30757715415257640000000000000.00'
    """
    from decimal import ROUND_HALF_UP, Decimal, localcontext

    q = Decimal(1).scaleb(-int(decimals))
    d = Decimal(repr(float(value)))
    with localcontext() as ctx:  # enough digits for the integer part and the decimals
        ctx.prec = max(ctx.prec, d.adjusted() + int(decimals) + 2)
        return str(d.quantize(q, rounding=ROUND_HALF_UP))


def parse_bound(value: str) -> tuple[str, float, int]:
    """Split a printed bound such as ``"<0.001"`` into ``(operator, number, decimals)``.

    ``≤``/``≥`` are returned as ``<=``/``>=``.

    >>> parse_bound("<0.20")
    ('<', 0.2, 2)
    """
    m = _BOUND_RE.match(str(value))
    if not m:
        raise ValueError(f"not a bound: {value!r}")
    op = {"≤": "<=", "≥": ">="}.get(m.group(1), m.group(1))
    return op, float(m.group(2)), len(m.group(3) or "")


def _label(i: int, entry: dict) -> str:
    return f"entry #{i + 1} (key={entry.get('key')!r}, where={entry.get('where')!r})"


def _number_printed_in(text: str, printed: str) -> bool:
    """``printed`` occurs in ``text`` as a whole number (not inside a longer one).

    Dashes and minus signs count as "-", so "–11.97%" holds "-11.97" and "3.87–7.33" holds "7.33".
    """
    t = text.translate(_DASHES)
    return re.search(r"(?<![\d.])" + re.escape(printed) + r"(?!\d)", t) is not None


def validate_entry(i: int, entry: dict) -> dict:
    """Check one raw entry and return it normalised (all columns present, ``kind`` filled in)."""
    where = _label(i, entry)
    if not isinstance(entry, dict):
        raise TargetsError(f"{where}: expected a mapping, got {type(entry).__name__}")
    missing = [f for f in REQUIRED if f not in entry or entry[f] is None or entry[f] == ""]
    if missing:
        raise TargetsError(f"{where}: missing field(s) {', '.join(missing)}")
    unknown = set(entry) - set(COLUMNS)
    if unknown:
        raise TargetsError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    out = {c: entry.get(c) for c in COLUMNS}
    out["kind"] = out["kind"] or "value"
    key, unit, kind, dec, value = out["key"], out["unit"], out["kind"], out["decimals"], out["value"]
    if not isinstance(key, str) or not _KEY_RE.match(key):
        raise TargetsError(f"{where}: key {key!r} is not a dotted lower-case results key")
    if unit not in UNITS:
        raise TargetsError(f"{where}: unknown unit {unit!r} (known: {', '.join(sorted(UNITS))})")
    if kind not in KINDS:
        raise TargetsError(f"{where}: unknown kind {kind!r} (known: {', '.join(sorted(KINDS))})")
    if isinstance(dec, bool) or not isinstance(dec, int) or dec < 0:
        raise TargetsError(f"{where}: decimals must be a non-negative integer, got {dec!r}")
    text = str(out["text"])

    if kind == "date":
        try:
            date.fromisoformat(str(value))
        except ValueError as exc:
            raise TargetsError(f"{where}: a date must be written YYYY-MM-DD, got {value!r}") from exc
        if unit != "date":
            raise TargetsError(f"{where}: kind 'date' needs unit 'date'")
        out["value"] = str(value)
        return out
    if unit == "date":
        raise TargetsError(f"{where}: unit 'date' needs kind 'date'")

    if kind == "bound":
        try:
            _, num, bdec = parse_bound(value)
        except ValueError as exc:
            raise TargetsError(f"{where}: kind 'bound' needs a value like '<0.001', got {value!r}") from exc
        if bdec != dec:
            raise TargetsError(f"{where}: bound {value!r} is printed with {bdec} decimals but decimals = {dec}")
        if not _number_printed_in(text, format_published(num, dec)):
            raise TargetsError(f"{where}: bound number {value!r} does not appear in its quote {text!r}")
        out["value"] = str(value).strip()
        return out

    if isinstance(value, str) or isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TargetsError(f"{where}: value {value!r} must be a number (use kind: bound for '<0.001')")
    value = float(value)
    printed = format_published(value, dec)
    if abs(float(printed) - value) > 1e-9:
        raise TargetsError(f"{where}: value {value!r} has more precision than decimals = {dec} ({printed})")
    if unit == "count" and dec != 0:
        raise TargetsError(f"{where}: a count must have decimals = 0")
    if unit == "percent" and not (0.0 <= value <= 100.0):
        raise TargetsError(f"{where}: percent {value} outside 0-100 (store 32.4, not 0.324)")
    if unit == "p" and not (0.0 <= value <= 1.0):
        raise TargetsError(f"{where}: p-value {value} outside 0-1")
    if kind in ("value", "definition") and not _number_printed_in(text, printed):
        raise TargetsError(
            f"{where}: the value printed with {dec} decimals ({printed}) does not appear in its quote "
            f"{text!r}; check value and decimals"
        )
    out["value"] = value
    return out


def validate(entries: list[dict]) -> pd.DataFrame:
    """Validate raw entries and return the targets frame (raises :class:`TargetsError`)."""
    if not isinstance(entries, list) or not entries:
        raise TargetsError("the targets file must be a non-empty YAML list of entries")
    rows = [validate_entry(i, e) for i, e in enumerate(entries)]
    seen: dict[tuple[str, str], int] = {}
    for i, r in enumerate(rows):
        kw = (r["key"], r["where"])
        if kw in seen:
            raise TargetsError(f"{_label(i, r)}: duplicates entry #{seen[kw] + 1} (same key and where)")
        seen[kw] = i
    # a key given twice must say why (the paper contradicts itself), unless the second is a bound
    counts = pd.Series([r["key"] for r in rows]).value_counts()
    for i, r in enumerate(rows):
        if counts[r["key"]] > 1 and not r["conflict_with"] and r["kind"] != "bound":
            others = [o for o in rows if o["key"] == r["key"] and o is not r]
            if any(o["value"] != r["value"] for o in others if o["kind"] != "bound"):
                raise TargetsError(f"{_label(i, r)}: the key has several values; add a conflict_with note")
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["decimals"] = df["decimals"].astype(int)
    return df


def load_targets(path: Path | str | None = None) -> pd.DataFrame:
    """Read and validate the published targets.

    Parameters
    ----------
    path : path-like, optional
        YAML file; defaults to ``data/published_targets.yaml``.

    Returns
    -------
    pandas.DataFrame
        One row per entry with columns ``key, value, decimals, unit, where, text, kind,
        conflict_with``. ``value`` is a float, except for bounds (``"<0.20"``) and dates (strings);
        ``kind`` is ``"value"`` for an ordinary printed number.

    Raises
    ------
    TargetsError
        naming the offending entry (its position, key and where).
    """
    p = Path(path) if path is not None else TARGETS_FILE
    with open(p, encoding="utf-8") as fh:
        entries = fastyaml.load(fh)
    return validate(entries)


def numeric(targets: pd.DataFrame) -> pd.DataFrame:
    """The rows whose value is a plain number (drops bounds and dates)."""
    return targets[targets["kind"].isin(["value", "words", "approx", "definition"])].copy()




#: Two entries the committed synthetic cohort was calibrated with, since removed from the targets file: the
#: paper's "(P < 0.20 in univariate analysis)" qualifies platinum response only, so it is no target for the
#: prior-ICI class (Table 2: 0.736) or the dose (0.497). The calibration keeps them (at their place in the
#: file, after platinum response's) so that ``make calibrate`` still writes the committed cohort byte for byte;
#: drop them when the cohort is next recalibrated on purpose.
CALIBRATED_WITH_REMOVED = [
    {"key": f"subgroups.{var}.p", "value": "<0.20", "decimals": 2, "unit": "p",
     "where": "Results, Prognosis (subgroups): variables added to the Cox model",
     "text": "response to platinum-based treatment ($P < 0.20$ in univariate analysis)", "kind": "bound",
     "conflict_with": f"Table 2 gives univariate P = {p} for this variable; the text's '(P < 0.20 in univariate "
                      "analysis)' contradicts it if read as applying to all three variables added to the Cox model "
                      "(it holds only for platinum response, P = 0.183)"}
    for var, p in (("prior_ici_class", "0.736"), ("anlotinib_dose_mg", "0.497"))]


def calibration_targets(path: Path | str | None = None) -> pd.DataFrame:
    """The targets the synthetic cohort's calibration aims at: :func:`load_targets` plus
    :data:`CALIBRATED_WITH_REMOVED` (see there), so that the calibration is the one that wrote the committed cohort.
    """
    p = Path(path) if path is not None else TARGETS_FILE
    with open(p, encoding="utf-8") as fh:
        entries = fastyaml.load(fh)
    at = next(i for i, e in enumerate(entries) if e.get("key") == "subgroups.platinum_response.p"
              and e.get("kind") == "bound") + 1
    return validate(entries[:at] + [dict(e) for e in CALIBRATED_WITH_REMOVED] + entries[at:])
