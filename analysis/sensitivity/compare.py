"""Compare the numbers of two analyses: key, base value, other value, changed at printed precision.

Works on in-process results (``{key: (value, printed text)}``, as
:func:`analysis.sensitivity.headline.headline` returns) and on results folders (each section's
``numbers.yaml`` for the values and ``variables.yaml`` for the printed texts). A number has
*changed* when its printed text differs (a difference below the printed precision is not a
change); a number without a printed text has changed when its value differs. Run-specific values
(:data:`RUN_SPECIFIC`: the git commit) are left out.

Command line (a forker can point it at any two output folders, or several)::

    python -m analysis.sensitivity.compare BASE_OUT OTHER_OUT [MORE_OUT ...] [--html F] [--csv F]

Each argument is an output root (holding ``results/``) or a ``results`` folder itself. Without
``--html``/``--csv`` the changed numbers are printed.
"""
from __future__ import annotations

import html
import math
import sys
from pathlib import Path

import pandas as pd
import yaml

from analysis.report.results import flatten

__all__ = ["RUN_SPECIFIC", "undefined", "same_value", "read_results", "compare_numbers", "comparison_frame", "comparison_csv",
           "comparison_html", "main"]

#: Keys whose value belongs to the run, not to the analysis.
RUN_SPECIFIC = ("cohort.git_commit",)
COLUMNS = ["key", "base_value", "value", "base_text", "text", "status"]


def undefined(x) -> bool:
    """Whether a value is undefined: ``None`` (``null`` in a results file) or a float NaN (in memory).

    >>> undefined(None), undefined(float("nan")), undefined(0), undefined("NR")
    (True, True, False, False)
    """
    return x is None or (isinstance(x, float) and math.isnan(x))


def same_value(x, y, rel: float = 1e-9) -> bool:
    """Equal values: numbers within a relative ``rel``; an undefined value (``None``/``null`` or NaN,
    :func:`undefined`) equals an undefined one, so NaN in memory equals ``null`` in ``numbers.yaml``.

    >>> same_value(0.1 + 0.2, 0.3), same_value(1.0, 1.1), same_value(None, 0), same_value(float("nan"), None)
    (True, False, False, True)
    """
    if undefined(x) or undefined(y):
        return undefined(x) and undefined(y)
    if isinstance(x, (int, float)) and isinstance(y, (int, float)) and not isinstance(x, bool):
        return x == y or abs(x - y) <= rel * max(abs(x), abs(y))
    return x == y


def results_folder(path: str | Path) -> Path:
    """An output root's ``results/`` folder, or the folder itself when it holds sections."""
    p = Path(path)
    if (p / "results").is_dir():
        return p / "results"
    if p.is_dir() and any(p.glob("*/numbers.yaml")):
        return p
    raise FileNotFoundError(f"{p}: no results (expected {p}/results/<section>/numbers.yaml)")


def read_results(path: str | Path) -> dict[str, tuple]:
    """``{key: (value, printed text)}`` of every section of a results folder (or output root)."""
    root = results_folder(path)
    out: dict[str, tuple] = {}
    for f in sorted(root.glob("*/numbers.yaml")):
        values = flatten(yaml.safe_load(f.read_text(encoding="utf-8")) or {})
        vf = f.with_name("variables.yaml")
        texts = flatten(yaml.safe_load(vf.read_text(encoding="utf-8")) or {}) if vf.exists() else {}
        for k in sorted(set(values) | set(texts)):
            if k not in RUN_SPECIFIC:
                out[k] = (values.get(k), None if texts.get(k) is None else str(texts[k]))
    return out


def compare_numbers(base: dict[str, tuple], other: dict[str, tuple]) -> pd.DataFrame:
    """One row per key of either: key, base and other value and text, and status.

    Status is ``same``, ``changed`` (printed text differs, or the value when there is no text),
    ``only in base`` or ``only in other``. Rows are in key order.

    >>> compare_numbers({"a": (1.234, "1.2"), "b": (2.0, "2.0")}, {"a": (1.24, "1.2"), "b": (2.1, "2.1")}).status.tolist()
    ['same', 'changed']
    """
    rows = []
    for key in sorted(set(base) | set(other)):
        bv, bt = base.get(key, (None, None))
        ov, ot = other.get(key, (None, None))
        if key not in other:
            status = "only in base"
        elif key not in base:
            status = "only in other"
        elif bt is not None or ot is not None:
            status = "same" if bt == ot else "changed"
        else:
            status = "same" if same_value(bv, ov) else "changed"
        rows.append({"key": key, "base_value": bv, "value": ov, "base_text": bt, "text": ot, "status": status})
    return pd.DataFrame(rows, columns=COLUMNS)


def comparison_frame(comparisons: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Several comparisons in one long frame: a ``scenario`` column, then :data:`COLUMNS`."""
    frames = [c.assign(scenario=name)[["scenario", *COLUMNS]] for name, c in comparisons.items()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["scenario", *COLUMNS])


def comparison_csv(comparisons: dict[str, pd.DataFrame]) -> str:
    """Long CSV of several comparisons (:func:`comparison_frame`)."""
    return comparison_frame(comparisons).to_csv(index=False, lineterminator="\n")


def _cell(text, value) -> str:
    shown = text if text is not None else ("" if value is None else repr(value))
    return html.escape(str(shown))


def comparison_html(comparisons: dict[str, pd.DataFrame], base: str, title: str = "Sensitivity comparison",
                    notes: dict[str, str] | None = None) -> str:
    """A self-contained HTML page: per scenario, the numbers that changed, then the others folded.

    ``notes`` (scenario -> one line, e.g. the rationale) is printed under each heading.
    """
    notes = notes or {}
    out = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
           "<style>body{font-family:sans-serif;max-width:70em;margin:2em auto}table{border-collapse:collapse}"
           "td,th{border-bottom:1px solid #ddd;padding:.2em .6em;text-align:left}"
           "tr.changed td{background:#fff3cd}code{font-size:.9em}</style></head><body>",
           f"<h1>{html.escape(title)}</h1>",
           f"<p>Every number of each scenario's results against the base (<code>{html.escape(base)}</code>). "
           "A number has changed when it prints differently.</p>",
           "<table><tr><th>Scenario</th><th>Numbers</th><th>Changed</th><th>Only in one</th></tr>"]
    for name, c in comparisons.items():
        n_changed = int((c.status == "changed").sum())
        n_one = int(c.status.str.startswith("only").sum())
        out.append(f"<tr><td><a href='#{html.escape(name)}'>{html.escape(name)}</a></td><td>{len(c)}</td>"
                   f"<td>{n_changed}</td><td>{n_one}</td></tr>")
    out.append("</table>")
    for name, c in comparisons.items():
        out.append(f"<h2 id='{html.escape(name)}'>{html.escape(name)}</h2>")
        if name in notes:
            out.append(f"<p>{html.escape(notes[name])}</p>")
        for label, part in (("changed", c[c.status != "same"]), ("unchanged", c[c.status == "same"])):
            rows = "".join(
                f"<tr class='{'changed' if r.status != 'same' else ''}'><td><code>{html.escape(r.key)}</code></td>"
                f"<td>{_cell(r.base_text, r.base_value)}</td><td>{_cell(r.text, r.value)}</td>"
                f"<td>{html.escape(r.status)}</td></tr>" for r in part.itertuples(index=False))
            table = f"<table><tr><th>Key</th><th>Base</th><th>{html.escape(name)}</th><th>Status</th></tr>{rows}</table>"
            if label == "changed":
                out.append(f"<p>{len(part)} numbers changed or present in one only.</p>" + (table if len(part) else ""))
            else:
                out.append(f"<details><summary>{len(part)} numbers unchanged</summary>{table}</details>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m analysis.sensitivity.compare",
                                 description="Compare every number of results folders against a base")
    ap.add_argument("base", help="base output root (holding results/) or results folder")
    ap.add_argument("others", nargs="+", help="output roots or results folders to compare with the base")
    ap.add_argument("--names", help="comma-separated names of the others (default: folder names)")
    ap.add_argument("--notes", help="YAML file mapping names to one-line notes for the HTML page")
    ap.add_argument("--html", help="write the comparison page here")
    ap.add_argument("--csv", help="write the long CSV here")
    args = ap.parse_args(argv)
    names = args.names.split(",") if args.names else [Path(o).resolve().name for o in args.others]
    if len(names) != len(args.others) or len(set(names)) != len(names):
        print("error: --names must give one distinct name per folder compared", file=sys.stderr)
        return 2
    try:
        base = read_results(args.base)
        comps = {n: compare_numbers(base, read_results(o)) for n, o in zip(names, args.others)}
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for n, c in comps.items():
        print(f"{n}: {len(c)} numbers, {int((c.status == 'changed').sum())} changed at printed precision, "
              f"{int(c.status.str.startswith('only').sum())} in one only")
    if args.csv:
        _write(Path(args.csv), comparison_csv(comps))
    if args.html:
        notes = yaml.safe_load(Path(args.notes).read_text(encoding="utf-8")) if args.notes else {}
        _write(Path(args.html), comparison_html(comps, str(args.base), notes=notes))
    if not (args.csv or args.html):
        for n, c in comps.items():
            diff = c[c.status != "same"]
            if len(diff):
                print(f"\n{n}:\n" + diff[["key", "base_text", "text", "status"]].fillna("").to_string(index=False))
    return 0


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


if __name__ == "__main__":
    raise SystemExit(main())
