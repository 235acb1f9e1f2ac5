"""Writing a section's results: numbers, tables and figures, and collecting them for the report.

Each notebook records what it computed into one :class:`Results` and calls
:meth:`Results.write`, which produces in ``results/<section>/``:

* ``numbers.yaml``: raw values (full precision) under dotted keys, used by tests
  and by the reproduction scorecard;
* ``variables.yaml``: the same keys formatted as printed in the report
  (read by Quarto's ``{{< var >}}`` through ``_variables.yml``);
* ``tbl-*.csv`` (machine-readable) and ``tbl-*.md`` (a captioned pipe table the
  report includes), ``fig-*.svg`` and ``fig-*.md`` (the figure with caption and alt text);
* ``manifest.yaml``: git commit, parameters, input checksums, files written (and, added by the
  runner, the section's digest: :mod:`analysis.report.provenance`);
* ``sources.yaml``: the notebook cell (execution count; the runner adds the cell id) that recorded
  each number, table and figure, for the notebook pages and the numbers' provenance in the report.

Every text file written is scanned for the cohort's patient identifiers and raw
dates before the section is accepted (:class:`PrivacyError`).
"""
from __future__ import annotations

import math
import re
import subprocess
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
import yaml

from analysis import fastyaml
from analysis.data.escape import unescape_markdown
from analysis.paths import PROJ_ROOT


class PrivacyError(RuntimeError):
    """An output file contains a patient identifier or a raw date of the cohort."""


#: A token of text: a decimal number (``0.1016``, one token, so a numeric identifier is not found
#: inside it) or a maximal run of word characters and hyphens (``SYN-010``, ``2024-03-05``).
_TOKEN = re.compile(r"(?<![\d.])\d+(?:\.\d+)+|[\w-]+")
#: SVG attributes that hold geometry (numbers), not text, and the fixed namespace URLs: skipped by the
#: guard, so that a numeric identifier (``1016``, ``1999``) is not found in a glyph's path data, a
#: coordinate or ``http://www.w3.org/1999/xlink``.
_SVG_GEOMETRY = re.compile(
    r'<!DOCTYPE[^>]*>|\s(?:xmlns(?::\w+)?|d|points|transform|viewBox|x|y|x1|x2|y1|y2|cx|cy|r|rx|ry'
    r'|width|height|style|offset|opacity|stroke-dasharray|stroke-width|stroke-miterlimit|font-size)="[^"]*"')


class IdentifierGuard:
    """Finds patient identifiers and raw dates in text, in time linear in the text's length.

    The text is split once into tokens (:data:`_TOKEN`); an identifier is found when it occurs as
    whole tokens, i.e. not preceded or followed by a word character or hyphen, and not inside a
    decimal number. Identifiers that are one token are looked up in a set; the few that span
    several tokens (``SYN 010``, ``P.12``) are checked where their first token occurs; those
    without any token are searched as substrings. In SVG only text is scanned (text nodes, the
    comments matplotlib writes with each label, attribute values), never geometry attributes.

    Parameters
    ----------
    identifiers : strings that must not occur; those shorter than ``min_length`` are ignored
        (``12`` would be found in every output).

    Examples
    --------
    >>> g = IdentifierGuard(["HOSP-0042", "1016", "2024-03-05"])
    >>> g.find("id: HOSP-0042, more"), g.find("HOSP-00421"), g.find("p = 0.1016"), g.find("1016 patients")
    ('HOSP-0042', None, None, '1016')
    >>> g.find('<path d="M 1016 2045 L 0 0"/>', svg=True), g.find("<!-- 1016 -->", svg=True)
    (None, '1016')
    """

    def __init__(self, identifiers: Iterable[str], min_length: int = 4):
        self.single: set[str] = set()
        self.compound: dict[str, list[tuple[int, str]]] = {}  # first token -> [(its offset, identifier)]
        self.untokened: list[str] = []
        for ident in {str(t) for t in identifiers if t is not None and len(str(t)) >= min_length}:
            toks = list(_TOKEN.finditer(ident))
            if len(toks) == 1 and toks[0].group() == ident:
                self.single.add(ident)
            elif toks:
                self.compound.setdefault(toks[0].group(), []).append((toks[0].start(), ident))
            else:
                self.untokened.append(ident)

    def __bool__(self) -> bool:
        return bool(self.single or self.compound or self.untokened)

    def find(self, text: str, svg: bool = False) -> str | None:
        """The first identifier found in ``text`` (``svg``: skip geometry attributes), else None."""
        if svg:
            text = _SVG_GEOMETRY.sub(" ", text)
        single, compound = self.single, self.compound
        for m in _TOKEN.finditer(text):
            tok = m.group()
            if tok in single:
                return tok
            for offset, ident in compound.get(tok, ()):
                start = m.start() - offset
                end = start + len(ident)
                if (start >= 0 and text.startswith(ident, start)
                        and not (start > 0 and _is_word(text[start - 1]))
                        and not (end < len(text) and _is_word(text[end]))):
                    return ident
        for ident in self.untokened:
            if ident in text:
                return ident
        return None


def _current_cell() -> int | None:
    """The execution count of the notebook cell now running (None outside IPython).

    Recorded with each number, table and figure so that the runner can name the cell that computed
    it (``sources.yaml``: the executed notebook maps execution counts to cell ids).
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    ip = get_ipython()
    return getattr(ip, "execution_count", None) if ip is not None else None


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch in "_-"


def _plain(value: Any) -> Any:
    """Numpy/pandas scalars to plain Python for YAML; inf stays inf, NaN becomes None."""
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return None if math.isnan(v) else v
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return value


def _nest(flat: dict[str, Any]) -> dict:
    out: dict = {}
    for key, value in flat.items():
        node = out
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ValueError(f"result key {key!r} collides with a value at {p!r}")
        node[parts[-1]] = value
    return out


def flatten(nested: dict, prefix: str = "") -> dict[str, Any]:
    """Nested mapping to ``{"a.b.c": value}``."""
    out = {}
    for k, v in nested.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def git_commit() -> str:
    """Current commit of the project (``unknown`` outside a git checkout), with ``-dirty`` if modified."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJ_ROOT, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJ_ROOT,
                               capture_output=True, text=True).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def markdown_table(df: pd.DataFrame, caption: str, label: str, note: str | None = None,
                   left: tuple[str, ...] = (), widths: tuple[int, ...] | None = None) -> str:
    """A pipe table with a Quarto/pandoc caption line ``: caption {#label}``.

    The first column and the columns named in ``left`` (running text) are left-aligned, the others
    right-aligned. ``widths``: relative column widths (pandoc reads them from the lengths of the
    separator line's dashes when a row is wider than the page); equal by default.
    """
    cols = [str(c) for c in df.columns]
    esc = lambda s: str(s).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(esc(c) for c in cols) + " |",
             "|" + "|".join((":" + "-" * (3 * w) if i == 0 or c in left else "-" * (3 * w) + ":")
                            for i, (c, w) in enumerate(zip(cols, widths or [1] * len(cols)))) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(esc("" if (isinstance(v, float) and math.isnan(v)) else v)
                                       for v in row) + " |")
    text = "\n".join(lines) + f"\n\n: {caption} {{#{label}}}\n"
    if note:
        text += f"\n::: {{.table-note}}\n{note}\n:::\n"
    return text


def source_line(section: str, label: str, files: list[str]) -> str:
    """The line under a figure or table: where it comes from (#29), for the HTML and the PDF.

    ``Source: 03-survival · cell fig-os-km`` linking to that cell of the notebook's page
    (``notebooks/03-survival.html#fig-os-km``, written by :mod:`analysis.report.notebook_pages`
    beside the report) and to the result files it wrote (``results/03-survival/fig-os-km.svg``,
    copied there by the same step); in the PDF the same words in small type. Raw blocks, so each
    format gets its own markup and neither engine parses the other's.

    >>> print(source_line("03-survival", "fig-os-km", ["fig-os-km.svg"]).splitlines()[2])
    <p class="rr-source"><small>Source: <a href="notebooks/03-survival.html#fig-os-km">03-survival · cell fig-os-km</a> · <a href="results/03-survival/fig-os-km.svg">fig-os-km.svg</a></small></p>
    """
    links = " · ".join(f'<a href="results/{section}/{f}">{f}</a>' for f in files)
    return ("\n```{=html}\n"
            f'<p class="rr-source"><small>Source: <a href="notebooks/{section}.html#{label}">{section} · cell {label}</a>'
            f" · {links}</small></p>\n```\n\n"
            "```{=typst}\n"
            f"#rr-table-note(tbl: \"{label}\")[#text(size: 7.5pt)[Source: {section} · cell {label}]]\n```\n")


class Results:
    """Collects one section's numbers, tables and figures, then writes them atomically-ish.

    Parameters
    ----------
    section : e.g. ``"03-survival"``; files go to ``<out>/results/<section>/``.
    out : output root (the project root by default).
    forbidden : patient identifiers and raw dates that must never appear in an output.
    params : the notebook's parameters, recorded in the manifest.
    inputs : ``{name: sha256}`` of the data files read, recorded in the manifest.
    """

    def __init__(self, section: str, out: str | Path | None = None, *, forbidden: Iterable[str] = (),
                 params: dict | None = None, inputs: dict | None = None):
        self.section = section
        root = Path(out) if out is not None else PROJ_ROOT
        if not root.is_absolute():
            root = PROJ_ROOT / root
        self.dir = root / "results" / section
        self.dir.mkdir(parents=True, exist_ok=True)
        self.raw: dict[str, Any] = {}
        self.text: dict[str, str] = {}
        self.files: list[str] = []
        self.params = params or {}
        self.inputs = inputs or {}
        self._guard = IdentifierGuard(forbidden)
        self.cells: dict[str, dict[str, int | None]] = {"numbers": {}, "files": {}}  # key/label -> execution count

    # numbers -------------------------------------------------------------------------------
    def number(self, key: str, value: Any, text: str | None = None) -> Any:
        """Record a number under ``<section-name>.<key>`` with its printed form."""
        full = key
        self.cells["numbers"][full] = _current_cell()
        self.raw[full] = _plain(value)
        if text is None:
            text = "NR" if isinstance(value, float) and math.isinf(value) else str(_plain(value))
        self.text[full] = text
        return value

    def numbers(self, prefix: str, values: dict[str, tuple[Any, str]]) -> None:
        """Record many numbers at once: ``{key: (value, text)}`` under ``prefix.``."""
        for key, (value, text) in values.items():
            self.number(f"{prefix}.{key}" if prefix else key, value, text)

    # tables --------------------------------------------------------------------------------
    def table(self, label: str, display: pd.DataFrame, caption: str, *, data: pd.DataFrame | None = None,
              note: str | None = None, left: tuple[str, ...] = (), widths: tuple[int, ...] | None = None
              ) -> pd.DataFrame:
        """Write ``label.csv`` (``data`` if given, else ``display``) and ``label.md`` (``display``;
        ``left``, ``widths``: text columns to left-align and relative widths, see :func:`markdown_table`)."""
        if not label.startswith("tbl-"):
            raise ValueError("table labels start with 'tbl-'")
        self.cells["files"][label] = _current_cell()
        (data if data is not None else display).to_csv(self.dir / f"{label}.csv", index=False, lineterminator="\n")
        (self.dir / f"{label}.md").write_text(markdown_table(display, caption, label, note, left, widths)
                                               + source_line(self.section, label, [f"{label}.csv"]),
                                               encoding="utf-8")
        self.files += [f"{label}.csv", f"{label}.md"]
        return display

    def markdown(self, name: str, text: str) -> None:
        """Write a Markdown snippet (``name.md``) for the report to include."""
        (self.dir / f"{name}.md").write_text(text.rstrip("\n") + "\n", encoding="utf-8")
        self.files.append(f"{name}.md")

    # figures -------------------------------------------------------------------------------
    def figure(self, label: str, fig, caption: str, alt: str, width: str = "100%"):
        """Write ``label.svg`` (deterministic: fixed hash salt, no date) and ``label.md``."""
        import matplotlib.pyplot as plt

        if not label.startswith("fig-"):
            raise ValueError("figure labels start with 'fig-'")
        self.cells["files"][label] = _current_cell()
        with plt.rc_context({"svg.hashsalt": "analysis", "svg.fonttype": "path"}):
            fig.savefig(self.dir / f"{label}.svg", format="svg", metadata={"Date": None}, bbox_inches="tight")
        md = (f'![{caption}](results/{self.section}/{label}.svg){{#{label} '
              f'fig-alt="{alt.replace(chr(34), chr(39))}" width="{width}"}}\n')
        (self.dir / f"{label}.md").write_text(md + source_line(self.section, label, [f"{label}.svg"]), encoding="utf-8")
        self.files += [f"{label}.svg", f"{label}.md"]
        return fig

    # write ---------------------------------------------------------------------------------
    def write(self) -> Path:
        """Write numbers, variables and manifest; check every output for identifiers."""
        dump = lambda obj: yaml.safe_dump(obj, sort_keys=True, allow_unicode=True, width=1000)  # noqa: E731
        (self.dir / "numbers.yaml").write_text(dump(_nest(self.raw)), encoding="utf-8")
        (self.dir / "variables.yaml").write_text(dump(_nest(self.text)), encoding="utf-8")
        manifest = {"section": self.section, "git_commit": git_commit(),
                    "parameters": {k: _plain(v) for k, v in self.params.items()},
                    "inputs": self.inputs, "files": sorted(set(self.files) | {"numbers.yaml", "variables.yaml", "sources.yaml"})}
        (self.dir / "manifest.yaml").write_text(dump(manifest), encoding="utf-8")
        (self.dir / "sources.yaml").write_text(dump({"section": self.section, **self.cells}), encoding="utf-8")
        self.check_privacy()
        return self.dir

    def check_privacy(self) -> None:
        """Remove an output holding an identifier and raise :class:`PrivacyError` (:class:`IdentifierGuard`)."""
        if not self._guard:
            return
        for f in sorted(self.dir.iterdir()):
            if f.suffix not in (".yaml", ".csv", ".md", ".svg", ".json", ".txt"):
                continue
            text = f.read_text(encoding="utf-8", errors="replace")  # and as a reader sees it (SYN\-017, #30)
            if self._guard.find(text, svg=f.suffix == ".svg") or self._guard.find(unescape_markdown(text),
                                                                                  svg=f.suffix == ".svg"):
                f.unlink()
                raise PrivacyError(f"{f.name} would contain a patient identifier or raw date; the file was removed")


def collect_variables(results_root: str | Path) -> dict:
    """Merge every ``results/*/variables.yaml`` into one nested mapping for ``_variables.yml``."""
    merged: dict = {}
    for f in sorted(Path(results_root).glob("*/variables.yaml")):
        data = fastyaml.load(f.read_text(encoding="utf-8")) or {}
        for k, v in flatten(data).items():
            if k in flatten(merged):
                raise ValueError(f"variable {k!r} defined twice (again in {f})")
        merged = _nest({**flatten(merged), **flatten(data)})
    return merged


#: The sections that analyse the cohort: the scorecard (06) and the sensitivity section (07) read
#: only these, so the two can run side by side (neither reads a file the other is writing).
ANALYSIS_SECTIONS = ("01-cohort", "02-response", "03-survival", "04-subgroups", "05-safety")


def collect_numbers(results_root: str | Path, sections=None) -> dict[str, Any]:
    """All raw numbers of all sections (or of ``sections`` only) as one flat ``{dotted.key: value}`` mapping."""
    out: dict[str, Any] = {}
    for f in sorted(Path(results_root).glob("*/numbers.yaml")):
        if sections is not None and f.parent.name not in sections:
            continue
        out.update(flatten(fastyaml.load(f.read_text(encoding="utf-8")) or {}))
    return out


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="Collect section variables into the report's _variables.yml")
    ap.add_argument("results", help="results folder (holding one folder per section)")
    ap.add_argument("output", help="path of the _variables.yml to write")
    ap.add_argument("--extra", action="append", default=[], help="KEY=VALUE added under 'build.'")
    args = ap.parse_args(argv)
    merged = collect_variables(args.results)
    build = dict(kv.split("=", 1) for kv in args.extra)
    if build:
        merged["build"] = build
    out = Path(args.output)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(merged, sort_keys=True, allow_unicode=True, width=1000), encoding="utf-8")
    tmp.replace(out)
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except Exception as exc:  # noqa: BLE001  (#24) no traceback reaches make's user: one line, the rest in a log
        import sys
        import traceback

        log = Path(sys.argv[2] if len(sys.argv) > 2 else ".").with_name("variables.log")
        try:
            log.write_text(traceback.format_exc(), encoding="utf-8")
            where = f"; details in {log}"
        except OSError:
            where = ""
        print(f"variables step: {type(exc).__name__}: {exc}{where}", file=sys.stderr)
        raise SystemExit(1)


def open_section(section: str, data, out, derive: dict, section_params: dict | None = None):
    """What every notebook does first: load the cohort and open the section's results.

    Reads the validated tables the validation step saved (:func:`analysis.paths.validated_data`),
    or reads and validates ``data`` when they are missing or stale, derives the analysis data set
    with ``derive`` (the common parameters: ``age_cut``, ``pfs_censor``, ``sd_min_days``,
    ``days_per_month``), and opens :class:`Results` for ``section`` under ``out``, guarded against
    the cohort's identifiers and recording the parameters (``derive`` then ``section_params``) and
    the input checksums. Returns ``(cohort, results)``.
    """
    from analysis.data import cohort as cohort_mod
    from analysis.paths import resolve, validated_data

    cohort = cohort_mod.load_cohort(resolve(data), cohort_mod.DeriveOptions(**derive),
                                    validated=validated_data(out))
    res = Results(section, resolve(out), forbidden=cohort.identifiers(), inputs=cohort.sha256,
                  params={**derive, **(section_params or {})})
    return cohort, res
