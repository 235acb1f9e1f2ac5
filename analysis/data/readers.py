"""Read a cohort's three tables from CSV, Excel, SPSS (.sav) or Stata (.dta) files.

A cohort is either

* a folder holding ``patients.*``, ``assessments.*`` and ``adverse_events.*``,
  each a ``.csv``, ``.xlsx``, ``.sav`` or ``.dta`` file (formats may differ
  between tables, but exactly one file per table), or
* one ``.xlsx`` workbook with the sheets ``patients``, ``assessments`` and
  ``adverse_events``.

Reading turns every cell into the type the data contract (:mod:`analysis.data.schema`)
gives its column, and records every cell it cannot convert as an *issue* (a
validation error with a stable rule id) instead of raising: the validator
(:mod:`analysis.data.validate`) then shows every problem of the cohort in one table.
Only problems that leave nothing to read (no such path, a table file missing or
present in two formats, a workbook without the sheet, two sheets matching one table
or a hidden sheet matching it) raise :class:`CohortReadError`.

Workbooks: only the used data range is read (a formatted empty cell at row 1,048,576
costs nothing), blank rows above the header are skipped, a title row above it is an
error, hidden rows are read and warned about, hidden sheets are never read.

What the reader does with a cell:

* **missing**: an empty cell, or the text ``NA``, ``N/A`` or ``.`` (any case);
* **id / text**: stripped text; a whole number from Excel/SPSS/Stata is written
  without decimals (``12.0`` -> ``"12"``);
* **int**: a whole number (``"3"``, ``3``, ``3.0``); anything else is a ``type`` error;
* **float**: a number; ``"12,5"`` (decimal comma) is a ``type`` error;
* **category**: stripped, compared case-insensitively with the codes and the
  labels of the data dictionary, stored as the code (``" Male"`` -> ``"male"``);
  SPSS/Stata value labels are applied first (code 1 labelled ``"Male"`` ->
  ``"male"``); a label that matches neither is a ``value_label`` error;
* **date**: ``YYYY-MM-DD`` text, Excel date cells, SPSS/Stata date variables;
  ``DD/MM/YYYY`` and ``MM/DD/YYYY`` can't be told apart, so slash dates are
  rejected (``date_ambiguous``) unless ``date_format`` is given (argument, or
  ``date_format:`` in the cohort's ``cohort.yaml``); dates outside 1900-2100
  (``9999-12-31``) are ``date_implausible``.

Every table gets a column ``_row``: the row as the user sees it (CSV: line
number, the header being line 1; Excel: sheet row; SPSS/Stata: case number).
No row is ever dropped, except rows in which every cell is empty (reported as a
``blank_row`` warning when they sit inside the data).

pyreadstat says itself it is not a validated package, so the SHA-256 of every
file read is recorded in :attr:`RawCohort.sha256`.

Examples
--------
>>> raw = read_cohort("data/synthetic")                    # doctest: +SKIP
>>> raw.tables["patients"].shape, raw.sources["patients"]  # doctest: +SKIP
((68, 23), 'data/synthetic/patients.csv')
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import math
import operator
import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from numbers import Number
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from analysis.data import escape
from analysis.data.schema import MISSING_TOKENS, RULE_BY_ID, SCHEMA, TABLES, Column, columns

#: File suffixes the reader accepts, by format name.
FORMATS = {".csv": "csv", ".xlsx": "excel", ".sav": "spss", ".dta": "stata"}
#: Columns of the issue table (the validator adds a ``severity`` column).
ISSUE_COLUMNS = ["file", "table", "row", "column", "value", "rule"]

_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ]00:00(?::00(?:\.0+)?)?)?$")
_SLASH = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})$")
_INT = re.compile(r"^[+-]?\d+(?:\.0*)?$")
_FORMAT_ALIASES = {"DD/MM/YYYY": "%d/%m/%Y", "MM/DD/YYYY": "%m/%d/%Y", "DD.MM.YYYY": "%d.%m.%Y",
                   "YYYY/MM/DD": "%Y/%m/%d", "DD-MM-YYYY": "%d-%m-%Y", "MM-DD-YYYY": "%m-%d-%Y"}


class CohortReadError(ValueError):
    """The cohort can't be read at all (path, file names, formats or sheets)."""


class Labelled(NamedTuple):
    """A SPSS/Stata value together with its value label."""

    code: Any
    label: str | None  # None: the variable has value labels, but none for this value
    all_labels: dict | None = None  # every value label of the variable (for messages)

    def __str__(self) -> str:
        return _show(self.code) if self.label is None else f"{_show(self.code)} '{self.label}'"


@dataclass
class RawCohort:
    """The three tables as read, typed as the schema says, before validation.

    Attributes
    ----------
    tables : table name -> DataFrame (schema columns present in the file, in
        schema order, then absent optional columns filled with missing values,
        then unknown columns as read, then ``_row``).
    sources : table name -> file path (``path#sheet`` for Excel).
    sha256 : table name -> SHA-256 hex digest of the file read.
    columns : table name -> column names as found in the file (after matching
        schema names case-insensitively), in file order.
    issues : problems found while reading (columns file, table, row, column,
        value, rule, severity); the validator reports them with its own.
    """

    tables: dict[str, pd.DataFrame]
    sources: dict[str, str]
    sha256: dict[str, str]
    columns: dict[str, list[str]] = field(default_factory=dict)
    issues: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ISSUE_COLUMNS + ["severity"]))
    unreadable: set[str] = field(default_factory=set)  # tables whose file could not be read at all
    suppressed: set = field(default_factory=set)  # (table, row, column) already reported (merged cells)


# --------------------------------------------------------------------------- public API

def read_cohort(path: str | Path, *, date_format: str | None = None) -> RawCohort:
    """Read the cohort at ``path`` (a folder of three files or one ``.xlsx`` workbook).

    Parameters
    ----------
    path : folder holding ``patients.*``, ``assessments.*``, ``adverse_events.*``
        (``.csv``, ``.xlsx``, ``.sav`` or ``.dta``), or one ``.xlsx`` workbook with
        sheets of those names.
    date_format : how to read dates written as text other than ``YYYY-MM-DD``,
        e.g. ``"DD/MM/YYYY"``, ``"MM/DD/YYYY"`` or a ``strptime`` format such as
        ``"%d/%m/%Y"``. Without it such dates are ``date_ambiguous`` errors.

    Raises
    ------
    CohortReadError
        when the path doesn't exist, a table file is missing or present in
        more than one format, or a workbook lacks a sheet. Everything else
        (bad cells, empty files, encodings) is recorded in ``issues``.
    """
    import gc

    enabled = gc.isenabled()
    gc.disable()  # millions of short lists and no cycles: the cyclic collector only costs time (#30)
    try:
        return _read_cohort(Path(path), date_format)
    finally:
        if enabled:
            gc.enable()


def _read_cohort(p: Path, date_format: str | None) -> RawCohort:
    if not p.exists():
        raise CohortReadError(f"cohort path not found: {p}")
    options = cohort_options(p)
    if date_format is None:
        date_format = options.get("date_format")
    fmt = _normalise_date_format(date_format)
    reader = _Reader(fmt)
    reader.sheet_map = options.get("sheets", {})
    if p.is_dir():
        files = {table: _table_file(p, table, follow_links=options.get("follow_links", False)) for table in TABLES}
        for table in TABLES:
            reader.read_file(table, files[table])
    elif p.suffix.lower() == ".xlsx":
        _check_workbook_file(p)
        sheets = _workbook_sheets(p)
        chosen = {t: _sheet_for(p, t, sheets, reader.sheet_map.get(t)) for t in TABLES}
        missing = [t for t in TABLES if chosen[t] is None]
        if missing:
            raise CohortReadError(f"{p}: workbook has no sheet {', '.join(missing)} (sheets found: "
                                  f"{', '.join(_sheet_list(sheets)) or 'none'}); name the sheets "
                                  f"{', '.join(TABLES)}")
        digest = _sha256(p)
        for table in TABLES:
            reader.read_excel(table, p, chosen[table], digest)
    elif p.suffix.lower() == ".xls" and p.is_file():
        raise CohortReadError(f"{p}: not_a_workbook: the file is {_not_a_workbook(p)}; open it in Excel and save "
                              f"it as 'Excel Workbook (.xlsx)', or export CSV UTF-8")
    else:
        raise CohortReadError(f"{p}: expected a folder with patients, assessments and adverse_events files "
                              f"or an .xlsx workbook, not a {p.suffix or 'file without suffix'}")
    return reader.result()


# --------------------------------------------------------------------------- locating files

def _table_file(folder: Path, table: str, follow_links: bool = False) -> Path:
    """The one file of ``table`` in ``folder``; a symbolic link is read only when it stays inside the
    folder (or ``follow_links: true`` in ``cohort.yaml``), and then as the file it points to."""
    candidates = sorted(f for f in folder.iterdir()
                        if f.stem.lower() == table and f.suffix.lower() in FORMATS and not f.name.startswith("~$"))
    for f in candidates:
        if f.is_symlink() and not f.exists():
            raise CohortReadError(f"{f}: link_dangling: {f.name} is a symbolic link to {os.readlink(f)}, which "
                                  f"does not exist; copy the export itself into {folder} (or fix the link)")
    found = [f for f in candidates if f.is_file()]
    if not found:
        xls = [f for f in folder.iterdir() if f.stem.lower() == table and f.suffix.lower() == ".xls" and f.is_file()]
        if xls:
            raise CohortReadError(f"{xls[0]}: not_a_workbook: {xls[0].name} is {_not_a_workbook(xls[0])}; open it "
                                  f"in Excel and save it as 'Excel Workbook (.xlsx)', or export CSV UTF-8")
    if len(found) == 1 and _is_link(found[0]):
        f = found[0]
        target = f.resolve()
        inside = target.is_relative_to(folder.resolve())
        if not inside and not follow_links:
            raise CohortReadError(f"{f}: link_outside: {f.name} is a symbolic link to {target}, outside the data "
                                  f"folder; copy the file into {folder}, or add 'follow_links: true' to its "
                                  f"cohort.yaml to read the file it points to")
        return target
    if not found:
        others = sorted(f.name for f in folder.iterdir() if f.stem.lower() == table)
        hint = f" (found {', '.join(others)}; accepted: {', '.join(FORMATS)})" if others else ""
        raise CohortReadError(f"{folder}: no {table} file{hint}; expected {table}.csv, {table}.xlsx, "
                              f"{table}.sav or {table}.dta")
    if len(found) > 1:
        raise CohortReadError(f"{folder}: {table} is ambiguous, found {', '.join(f.name for f in found)}; "
                              f"keep exactly one")
    return found[0]


def _is_link(f: Path) -> bool:
    """``f`` or a folder on the way to it (inside the data folder) is a symbolic link."""
    return f.is_symlink()


#: Largest uncompressed size of a workbook's parts (bytes), checked before it is opened (zip bomb).
MAX_XLSX_EXPANDED = 512 * 1024 * 1024
#: Most rows read per table (a real cohort has a few thousand patients), and the largest CSV file read.
MAX_ROWS = 1_000_000
MAX_CSV_BYTES = 1024 * 2**20


def _not_a_workbook(path: Path) -> str | None:
    """What a file named like a workbook really is, when it is not an .xlsx (an HTML page, an old .xls)."""
    with open(path, "rb") as fh:
        head = fh.read(512)
    if head.startswith(b"PK"):
        return None
    low = head.lstrip(b"\xef\xbb\xbf\xff\xfe \t\r\n").lower().replace(b"\x00", b"")
    if low.startswith((b"<!doctype html", b"<html", b"<table", b"<?xml", b"<meta")):
        return "an HTML page (a web report saved with an Excel suffix)"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "an old binary Excel file (.xls)"
    return "not an .xlsx workbook (no zip container)"


def _check_workbook_file(path: Path) -> None:
    """Refuse what is not an .xlsx workbook, or expands beyond :data:`MAX_XLSX_EXPANDED`, before reading it."""
    what = _not_a_workbook(path)
    if what:
        raise CohortReadError(f"{path}: not_a_workbook: the file is {what}; open it in Excel and save it as "
                              f"'Excel Workbook (.xlsx)', or export CSV UTF-8")
    try:
        with zipfile.ZipFile(path) as z:
            total = sum(i.file_size for i in z.infolist())
    except zipfile.BadZipFile as e:
        raise CohortReadError(f"{path}: not_a_workbook: the file is a damaged .xlsx ({e}); save it again from "
                              f"Excel") from None
    if total > MAX_XLSX_EXPANDED:
        raise CohortReadError(f"{path}: xlsx_too_large: the workbook expands to {total / 2**20:,.0f} MB "
                              f"(at most {MAX_XLSX_EXPANDED // 2**20:,} MB); export the tables as CSV, or remove "
                              f"unused sheets and formatting")


def _workbook_sheets(path: Path) -> list[tuple[str, str]]:
    """``(title, state)`` of every sheet of a workbook, in order (state: visible, hidden, veryHidden)."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True)
    except Exception as e:  # noqa: BLE001  (zip errors, invalid xml ...)
        raise CohortReadError(f"{path}: not a readable .xlsx workbook ({e})") from e
    try:
        return [(ws.title, getattr(ws, "sheet_state", "visible") or "visible") for ws in wb.worksheets]
    finally:
        wb.close()


def _sheet_key(title: str) -> str:
    """A sheet title as compared with a table name: case, surrounding spaces, and spaces or
    underscores inside ignored (``" Adverse events"`` -> ``"adverse_events"``)."""
    return re.sub(r"[\s_]+", "_", title.strip().casefold())


def _sheet_list(sheets) -> list[str]:
    return [repr(t) + ("" if st == "visible" else f" ({st})") for t, st in sheets]


def _loose_key(title: str) -> str:
    """Letters of a sheet title, case-folded: ``'Patients 2024'``, ``'patients (2)'``, ``'patients_old'``
    all hold ``'patients'``."""
    return re.sub(r"[^a-z]", "", title.casefold())


def _sheet_for(path: Path, table: str, sheets, mapped: str | None = None) -> str | None:
    """The one sheet for ``table`` (None when none matches).

    ``mapped``: the sheet ``cohort.yaml``'s ``sheets:`` names for the table (taken as it is). Otherwise the
    sheet whose name is the table's; two matching sheets, a hidden one, or another visible sheet whose name
    holds the table's (``patients (2)``, ``patients_old``, ``Patients 2024``) beside it are errors: what is
    read must be what the user means.
    """
    if mapped is not None:
        hit = [(t, st) for t, st in sheets if t == mapped]
        if not hit:
            raise CohortReadError(f"{path}: sheet_mapping: cohort.yaml maps {table} to the sheet {mapped!r}, which "
                                  f"the workbook lacks (sheets: {', '.join(_sheet_list(sheets))})")
        if hit[0][1] != "visible":
            raise CohortReadError(f"{path}: the sheet {mapped!r} that cohort.yaml maps to {table} is hidden; "
                                  f"unhide it in Excel")
        return mapped
    found = [(t, st) for t, st in sheets if _sheet_key(t) == table]
    if len(found) > 1:
        raise CohortReadError(f"{path}: sheets {' and '.join(_sheet_list(found))} both match the table "
                              f"{table}; keep exactly one (delete or rename the other)")
    if found and found[0][1] != "visible":
        raise CohortReadError(f"{path}: the sheet {found[0][0]!r} for the table {table} is hidden; hidden "
                              f"sheets are never read: unhide it in Excel (or delete it and name the visible "
                              f"sheet {table})")
    key = _loose_key(table)
    loose = [(t, st) for t, st in sheets if st == "visible" and _sheet_key(t) != table and key in _loose_key(t)
             and not any(_loose_key(o) in _loose_key(t) and len(_loose_key(o)) > len(key)
                         for o in TABLES if o != table)]
    if loose:
        cands = found + loose
        raise CohortReadError(f"{path}: sheet_ambiguous: sheets {', '.join(_sheet_list(cands))} could each be the "
                              f"table {table}; rename or delete all but one, or choose one in cohort.yaml "
                              f"(sheets: {{{table}: '{cands[-1][0]}'}})")
    return found[0][0] if found else None


def cohort_date_format(path: str | Path) -> str | None:
    """``date_format`` of the cohort's ``cohort.yaml`` (beside the tables), or None."""
    return cohort_options(path).get("date_format")


def cohort_options(path: str | Path) -> dict:
    """The reading options of the cohort's ``cohort.yaml``: ``date_format``, ``sheets``, ``follow_links``
    (read within the limits of :mod:`analysis.data.metadata`; its errors as :class:`CohortReadError`)."""
    from analysis.data.metadata import MetadataError, read_metadata_file

    try:
        meta = read_metadata_file(path)
    except MetadataError as e:
        raise CohortReadError(str(e)) from None
    out = {}
    if meta.get("date_format") is not None:
        out["date_format"] = str(meta["date_format"])
    if meta.get("sheets"):
        out["sheets"] = {str(k): str(v) for k, v in meta["sheets"].items()}
    if meta.get("follow_links"):
        out["follow_links"] = True
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _normalise_date_format(fmt: str | None) -> str | None:
    if fmt is None:
        return None
    fmt = _FORMAT_ALIASES.get(fmt.strip().upper(), fmt)
    if "%" not in fmt:
        raise ValueError(f"date_format {fmt!r}: use one of {', '.join(_FORMAT_ALIASES)} or a strptime format")
    try:
        dt.datetime.strptime(dt.date(2001, 2, 3).strftime(fmt), fmt)
    except ValueError as e:
        raise ValueError(f"date_format {fmt!r} is not a usable strptime format") from e
    return fmt


# --------------------------------------------------------------------------- reading

class _Reader:
    """Accumulates tables, sources, checksums and issues over the three tables."""

    def __init__(self, date_format: str | None):
        self.date_format = date_format
        self.tables: dict[str, pd.DataFrame] = {}
        self.sources: dict[str, str] = {}
        self.sha: dict[str, str] = {}
        self.columns: dict[str, list[str]] = {}
        self.issues: list[dict] = []
        self.unreadable: set[str] = set()
        self._books: dict = {}
        self.sheet_map: dict = {}
        self.suppressed: set = set()

    def workbook(self, path: Path, data_only: bool):
        """Load a workbook once per reading (not read-only: merged cells need the full model)."""
        import openpyxl

        key = (str(path), data_only)
        if key not in self._books:
            self._books[key] = openpyxl.load_workbook(path, data_only=data_only)
        return self._books[key]

    # -- helpers
    def issue(self, table, row, column, value, rule, severity="error"):
        if rule.split(":", 1)[0] not in RULE_BY_ID:  # a programming error: document every rule in schema.RULES
            raise KeyError(f"undocumented rule {rule.split(':', 1)[0]!r}")
        self.issues.append({"file": self.sources.get(table, ""), "table": table, "row": row, "column": column,
                            "value": "" if value is None else _show(value), "rule": rule,
                            "severity": severity})

    def fail(self, table, rule, row=None, value=None):
        """The table can't be read: keep an empty table with the schema's columns."""
        self.issue(table, row, None, value, rule)
        self.unreadable.add(table)
        self.columns[table] = []
        self.tables[table] = _empty_table(table)

    def result(self) -> RawCohort:
        issues = pd.DataFrame(self.issues, columns=ISSUE_COLUMNS + ["severity"])
        issues["row"] = issues["row"].astype("Int64")
        return RawCohort(self.tables, self.sources, self.sha, self.columns, issues, self.unreadable, self.suppressed)

    # -- formats
    def read_file(self, table: str, path: Path):
        kind = FORMATS[path.suffix.lower()]
        if kind == "excel":
            _check_workbook_file(path)
            sheets = _workbook_sheets(path)
            sheet = _sheet_for(path, table, sheets, self.sheet_map.get(table))
            visible = [t for t, st in sheets if st == "visible"]
            if sheet is None and len(visible) == 1:
                sheet = visible[0]
            elif sheet is None:
                raise CohortReadError(f"{path}: several sheets ({', '.join(_sheet_list(sheets))}) and none "
                                      f"named {table}")
            self.read_excel(table, path, sheet, _sha256(path))
            hidden = [t for t, st in sheets if st != "visible"]
            if hidden:
                self.issue(table, None, None, ", ".join(hidden),
                           f"excel_hidden_sheet: hidden sheet(s) {', '.join(map(repr, hidden))} not read; the "
                           f"visible sheet {sheet!r} is", "warning")
            return
        self.sources[table] = str(path)
        self.sha[table] = _sha256(path)
        if kind == "csv":
            self.read_csv(table, path)
        else:
            self.read_stat(table, path, kind)

    def read_csv(self, table: str, path: Path):
        size = path.stat().st_size
        if size > MAX_CSV_BYTES:
            return self.fail(table, f"rows_too_many: {path.name} has {size / 2**20:,.0f} MB (at most "
                                    f"{MAX_CSV_BYTES // 2**20:,} MB per table); is this the right file?")
        data = path.read_bytes()
        if not data.strip(b" \t\r\n\x00"):
            return self.fail(table, "file_empty: the file is empty (no header row, no data)")
        if b"\x00" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            at = data.index(b"\x00")
            line = data[:at].count(b"\n") + 1
            return self.fail(table, f"nul_bytes: {path.name} holds {data.count(bytes(1))} NUL bytes (zero bytes, "
                                    f"the first on line {line}), e.g. padding from a database export or a "
                                    f"UTF-16 file; re-export it as 'CSV UTF-8'", row=line)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            line = data[: e.start].count(b"\n") + 1
            bad = data[e.start: e.start + 1]
            return self.fail(table, f"encoding: {path.name} is not valid UTF-8 (byte 0x{bad.hex()} on line "
                                    f"{line}); re-export it as 'CSV UTF-8'", row=line, value=repr(bad))
        first = text.split("\n", 1)[0]
        if re.fullmatch(r"\s*sep\s*=\s*.?\s*", first, flags=re.I):
            return self.fail(table, f"csv_sep_line: line 1 is Excel's separator hint {first.strip()!r}; delete "
                                    f"that line so that the header is line 1", row=1, value=first.strip())
        csv.field_size_limit(2**31 - 1)  # long cells are reported by build() (cell_too_long), not by csv
        delim = max([",", ";", "\t"], key=first.count) if any(d in first for d in ",;\t") else ","
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
        header, rows, line_end = None, [], 0
        pending_blank = []
        try:
            for rec in reader:
                start, line_end = line_end + 1, reader.line_num
                if header is None:
                    if not "".join(rec).strip():
                        continue
                    header = (rec, start)
                    continue
                if not "".join(rec).strip():
                    pending_blank.append(start)
                    continue
                for b in pending_blank:
                    self.issue(table, b, None, None, "blank_row: empty line inside the table, ignored", "warning")
                pending_blank = []
                rows.append((start, rec))
                if len(rows) > MAX_ROWS:
                    return self.fail(table, f"rows_too_many: {path.name} has more than {MAX_ROWS:,} rows; is "
                                            f"this the right file?", row=start)
        except csv.Error as e:
            return self.fail(table, f"read_error: {path.name} is not a well-formed CSV file ({e})",
                             row=reader.line_num)
        names, hrow = header
        n = len(names)
        out = []
        for line, rec in rows:
            if len(rec) != n:
                extra = rec[n:]
                if len(rec) < n or any(c.strip() for c in extra):
                    self.issue(table, line, None, None, f"csv_fields: line has {len(rec)} fields, the header "
                                                        f"has {n}")
                rec = (rec + [""] * n)[:n]
            out.append((line, rec))
        self.build(table, names, out, header_row=hrow)

    def read_stat(self, table: str, path: Path, kind: str):
        import pyreadstat

        if path.stat().st_size == 0:
            return self.fail(table, "file_empty: the file is empty")
        try:
            fn = pyreadstat.read_sav if kind == "spss" else pyreadstat.read_dta
            df, meta = fn(str(path), apply_value_formats=False)
        except Exception as e:  # noqa: BLE001  (pyreadstat raises its own ReadstatError / PyreadstatError)
            return self.fail(table, f"read_error: {path.name} could not be read as "
                                    f"{'SPSS' if kind == 'spss' else 'Stata'} ({e})")
        names = list(df.columns)
        value_labels = meta.variable_value_labels or {}
        cols = []
        for name in names:
            vals = df[name].tolist()
            labels = value_labels.get(name)
            if labels:  # a plain list: numpy would unpack the Labelled tuples into a 2-D array
                norm = {_label_key(k): v for k, v in labels.items()}
                vals = [v if _is_missing(v) else Labelled(v, norm.get(_label_key(v)), labels) for v in vals]
            cols.append(vals)
        rows = [(i + 1, [c[i] for c in cols]) for i in range(len(df))]
        self.build(table, names, rows, header_row=None)

    def read_excel(self, table: str, path: Path, sheet: str, digest: str):
        from openpyxl.utils import get_column_letter

        self.sources[table] = f"{path}#{sheet}"
        self.sha[table] = digest
        ws = self.workbook(path, data_only=False)[sheet]
        # Only the used data range: a formatted cell at row 1,048,576 must not make a million rows.
        max_row = max_col = 0
        cells = getattr(ws, "_cells", None)  # openpyxl's stored cells (those in the file), by (row, column)
        if cells is None:  # another openpyxl layout: fall back to the sheet's dimension
            max_row, max_col = ws.max_row, ws.max_column
        for (r, c), cell in (cells or {}).items():
            if not _is_missing(cell.value):
                max_row, max_col = max(max_row, r), max(max_col, c)
        for rng in ws.merged_cells.ranges:
            max_row, max_col = max(max_row, rng.max_row), max(max_col, rng.max_col)
        if max_row > MAX_ROWS + 1:
            return self.fail(table, f"rows_too_many: sheet {sheet} has {max_row:,} rows (at most {MAX_ROWS:,}); "
                                    f"is this the right sheet?")
        grid = [list(r) for r in ws.iter_rows(min_row=1, max_row=max_row, max_col=max_col)] if max_row else []
        while grid and all(_is_missing(c.value) for c in grid[0]):
            grid.pop(0)  # blank rows above the header are skipped, as in a CSV file
        if not grid:
            return self.fail(table, f"file_empty: sheet {sheet} is empty (no header row, no data)")
        header_at = _header_below(table, grid)
        if header_at:
            first = grid[0][0].row
            shown = "; ".join(_show(c.value) for c in grid[0] if not _is_missing(c.value))
            return self.fail(table, f"excel_header_row: the header of sheet {sheet} is on row "
                                    f"{grid[header_at][0].row}, not on its first non-empty row {first} "
                                    f"(which holds {shown!r}); delete the rows above the header",
                             row=first, value=shown)
        for rng in ws.merged_cells.ranges:
            self.issue(table, rng.min_row, None, ws.cell(rng.min_row, rng.min_col).value,
                       f"excel_merged: merged cells {rng.coord} (sheet {sheet}); unmerge them and fill in every "
                       f"cell (the cells it covers read as empty)")
        header_names = {c.column: _schema_name(table, str(c.value)) for c in grid[0] if not _is_missing(c.value)}
        for rng in ws.merged_cells.ranges:  # the covered cells read as empty: no "missing" error for them
            for r_ in range(rng.min_row, rng.max_row + 1):
                for c_ in range(rng.min_col, rng.max_col + 1):
                    if c_ in header_names:
                        self.suppressed.add((table, r_, header_names[c_]))
        formulas = [c for r in grid for c in r if c.data_type == "f"]
        cached = {}
        if formulas:
            wsv = self.workbook(path, data_only=True)[sheet]
            cached = {c.coordinate: wsv[c.coordinate].value for c in formulas}
        header_cells = grid[0]
        header_row = header_cells[0].row
        dims = ws.row_dimensions
        filtered = bool(getattr(ws.auto_filter, "ref", None))
        names = []
        for c in header_cells:
            v = cached.get(c.coordinate, c.value) if c.data_type == "f" else c.value
            names.append("" if _is_missing(v) else str(v))
        rows = []
        pending_blank = []
        for r in grid[1:]:
            vals = []
            for c in r:
                v = c.value
                if c.data_type == "f":
                    v = cached.get(c.coordinate)
                    if v is None:
                        col = names[c.column - 1] if c.column - 1 < len(names) else get_column_letter(c.column)
                        self.issue(table, c.row, _schema_name(table, col), c.value,
                                   f"excel_formula: cell {c.coordinate} holds a formula without a saved "
                                   f"value; paste values only (or open and save the file in Excel)")
                        v = _FORMULA
                vals.append(v)
            if all(_is_missing(v) for v in vals):
                pending_blank.append(r[0].row)
                continue
            for b in pending_blank:
                self.issue(table, b, None, None, "blank_row: empty row inside the table, ignored", "warning")
            pending_blank = []
            dim = dims.get(r[0].row)
            if dim is not None and dim.hidden:
                self.issue(table, r[0].row, None, None,
                           "excel_hidden_row: the row is hidden in Excel" + (" (by the AutoFilter)" if filtered
                                                                             else "") + "; it is read", "warning")
            rows.append((r[0].row, vals))
        self.build(table, names, rows, header_row=header_row)

    # -- typing
    def build(self, table: str, names: list, rows: list[tuple[int, list]], header_row):
        spec = columns(table)
        keep: dict[str, int] = {}
        found: list[str] = []
        for j, raw in enumerate(names):
            shown = str(raw).strip()
            hidden = escape.invisible_characters(shown)
            if hidden:
                shown = "".join(ch for ch in shown if not escape.invisible_characters(ch)).strip()
                self.issue(table, header_row, shown or f"(column {j + 1})", escape.visible(raw),
                           f"column_invisible: the header '{escape.visible(raw)}' holds "
                           f"{', '.join(hidden)}, which cannot be seen; retype the header")
            name = _schema_name(table, shown)
            if not name:
                if any(not _is_missing(r[1][j]) for r in rows if j < len(r[1])):
                    self.issue(table, header_row, f"(column {j + 1})", None,
                               "column_unnamed: values under an empty header cell")
                continue
            if name in keep:
                self.issue(table, header_row, name, raw, f"column_duplicate: column {name} appears more than "
                                                         f"once; the first one is used")
                continue
            keep[name] = j
            found.append(name)
        self.columns[table] = found
        if not rows:
            if table == "adverse_events":
                self.issue(table, None, None, None,
                           "no_adverse_events: the adverse-event table has no rows", "warning")
            else:
                self.issue(table, header_row, None, None, "file_header_only: the table has a header but "
                                                           "no data rows")
                self.unreadable.add(table)
        data: dict[str, Any] = {}
        row_numbers = [r[0] for r in rows]
        width = min((len(r[1]) for r in rows), default=0)
        for name, j in keep.items():
            if j < width:  # every row has the cell (always so for CSV): one C-level pass
                raw_vals = list(map(operator.itemgetter(j), (r[1] for r in rows)))
            else:
                raw_vals = [r[1][j] if j < len(r[1]) else None for r in rows]
            try:
                longest = max(map(len, raw_vals), default=0)
            except TypeError:  # numbers, dates (Excel, SPSS, Stata): look cell by cell
                longest = MAX_CELL_CHARS + 1
            for k, v in enumerate(raw_vals if longest > MAX_CELL_CHARS else ()):
                if isinstance(v, str) and len(v) > MAX_CELL_CHARS:
                    self.issue(table, row_numbers[k], name, v[:40] + "…",
                               f"cell_too_long: the cell holds {len(v):,} characters (at most {MAX_CELL_CHARS:,}; "
                               f"a quote left open, or a pasted document?)")
                    raw_vals[k] = _FORMULA  # reported: read as empty
            col = spec.get(name)
            if col is None:  # unknown column: kept as read
                data[name] = pd.Series([None if v is _FORMULA or _is_missing(v) else
                                        (v.code if isinstance(v, Labelled) else v)
                                        for v in raw_vals], dtype=object)
                continue
            if all(type(v) is str for v in raw_vals):  # CSV text: each distinct value converted once (#30)
                data[name] = _typed_series(col, self._convert_text(table, name, col, row_numbers, raw_vals))
                continue
            typed = []
            memo = {} if col.kind not in ("id", "text") else None  # a value repeats: converted once (#30)
            for rn, v in zip(row_numbers, raw_vals):
                if v is _FORMULA:  # already reported (formula without value, over-long cell)
                    typed.append(None)
                    continue
                if memo is not None and type(v) is str:
                    hit = memo.get(v)
                    if hit is None:
                        hit = memo[v] = coerce(col, v, self.date_format)
                    value, err = hit
                else:
                    value, err = coerce(col, v, self.date_format)
                if err:
                    self.issue(table, rn, name, v, err)
                typed.append(value)
            data[name] = _typed_series(col, typed)
        ordered = [c.name for c in SCHEMA[table] if c.name in data]
        absent_optional = [c for c in SCHEMA[table] if not c.required and c.name not in data]
        for c in absent_optional:
            data[c.name] = _typed_series(c, [None] * len(rows))
        unknown = [n for n in data if n not in spec]
        df = pd.DataFrame({n: data[n] for n in ordered + [c.name for c in absent_optional] + unknown})
        df.index = pd.RangeIndex(len(rows))
        df["_row"] = pd.array(row_numbers, dtype="Int64")
        self.tables[table] = df


    def _convert_text(self, table, name, col, row_numbers, raw_vals) -> list:
        """:func:`coerce` for a column of text cells, each distinct text converted once; the same
        values and issues as cell by cell."""
        if col.kind in ("id", "text"):
            return [None if v.strip().lower() in MISSING_TOKENS else v.strip() for v in raw_vals]
        results = {u: coerce(col, u, self.date_format) for u in set(raw_vals)}
        bad = {u for u, (_, err) in results.items() if err}
        if bad:
            for rn, v in zip(row_numbers, raw_vals):
                if v in bad:
                    self.issue(table, rn, name, v, results[v][1])
        values = {u: val for u, (val, _) in results.items()}
        return [values[v] for v in raw_vals]


_FORMULA = object()  # marker: a cell already reported (formula without cached value, over-long), read as empty
#: Longest cell accepted (Excel's own limit per cell).
MAX_CELL_CHARS = 32767


def _header_below(table: str, grid) -> int:
    """Index of the header row when the first non-empty row is not it (a title row above the header):
    the first row names no column of ``table`` but one of the next five names at least two. Else 0."""
    known = {c.name for c in SCHEMA[table]}

    def hits(row) -> int:
        return sum(1 for c in row if isinstance(c.value, str) and c.value.strip().lower() in known)

    if hits(grid[0]):
        return 0
    for k, row in enumerate(grid[1:6], start=1):
        if hits(row) >= 2:
            return k
    return 0


def _schema_name(table: str, name: str) -> str:
    """The schema's spelling of ``name`` when it matches a column case-insensitively."""
    key = name.strip().lower()
    for c in SCHEMA[table]:
        if c.name == key:
            return c.name
    return name.strip()


def _empty_table(table: str) -> pd.DataFrame:
    df = pd.DataFrame({c.name: _typed_series(c, []) for c in SCHEMA[table]})
    df["_row"] = pd.array([], dtype="Int64")
    return df


def _typed_series(col: Column, values: list) -> pd.Series:
    if col.kind == "int":
        return pd.Series(pd.array(values, dtype="Int64"))
    if col.kind == "float":
        return pd.Series([np.nan if v is None else v for v in values], dtype="float64")
    if col.kind == "date":
        return pd.Series(pd.to_datetime([pd.NaT if v is None else v for v in values]), dtype="datetime64[ns]")
    return pd.Series(values, dtype=object)


# --------------------------------------------------------------------------- cells

def _is_missing(v) -> bool:
    if v is None or v is pd.NaT:
        return True
    if isinstance(v, str):
        return v.strip().lower() in MISSING_TOKENS
    if isinstance(v, float):
        return math.isnan(v)
    try:
        return bool(pd.isna(v)) if not isinstance(v, Labelled) else False
    except (TypeError, ValueError):
        return False


def _label_key(v):
    """Key to look a value up in pyreadstat's value-label dict (1 and 1.0 alike)."""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str):
        return v.strip()
    return v


def _show(v) -> str:
    """A cell value as shown in the error table."""
    if isinstance(v, Labelled):
        return str(v)
    if isinstance(v, bool):
        return str(v).upper()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, pd.Timestamp | dt.datetime):
        return v.strftime("%Y-%m-%d") if (v.hour, v.minute, v.second) == (0, 0, 0) else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def _is_number(v) -> bool:
    return isinstance(v, Number | np.number) and not isinstance(v, bool | np.bool_)


def coerce(col: Column, v, date_format: str | None = None) -> tuple[Any, str | None]:
    """Convert one cell to the type of ``col``.

    Returns ``(value, None)`` on success (``value`` is ``None`` for a missing
    cell) or ``(None, "rule_id: message")`` when the cell can't be converted.
    """
    if _is_missing(v):
        return None, None
    kind = col.kind
    if isinstance(v, Labelled):
        if kind == "category":
            return _category(col, _show(v.code) if v.label is None else v.label, labelled=v)
        v = v.code  # value labels of numeric columns are descriptive only
    if kind in ("id", "text"):
        if _is_number(v):
            return (str(int(v)) if float(v).is_integer() else str(v)), None
        if isinstance(v, dt.date | pd.Timestamp):
            return None, f"type: {_show(v)} is a date, not {'an identifier' if kind == 'id' else 'text'}"
        return str(v).strip(), None
    if kind == "int":
        return _integer(v)
    if kind == "float":
        return _float(v)
    if kind == "date":
        return _date(v, date_format)
    if kind == "category":
        if _is_number(v):
            v = _show(float(v))
        elif not isinstance(v, str):
            return None, f"category: {_show(v)!r} is not one of {_choices(col)}"
        return _category(col, v)
    raise ValueError(f"unknown column kind {kind!r}")


def _integer(v):
    if isinstance(v, bool | np.bool_) or isinstance(v, dt.date | pd.Timestamp):
        return None, f"type: {_show(v)!r} is not a whole number"
    if _is_number(v):
        f = float(v)
        if math.isfinite(f) and f.is_integer():
            return int(f), None
        return None, f"type: {_show(v)!r} is not a whole number"
    s = str(v).strip()
    if _INT.match(s):
        return int(float(s)), None
    return None, _fullwidth(s) or f"type: {s!r} is not a whole number"


def _float(v):
    if isinstance(v, bool | np.bool_) or isinstance(v, dt.date | pd.Timestamp):
        return None, f"type: {_show(v)!r} is not a number"
    if _is_number(v):
        f = float(v)
    else:
        s = str(v).strip()
        try:
            f = float(s)
        except ValueError:
            hint = " (use a decimal point, not a comma)" if re.fullmatch(r"[+-]?\d+,\d+", s) else ""
            return None, f"type: {s!r} is not a number{hint}"
    if not math.isfinite(f):
        return None, f"type: {_show(v)!r} is not a finite number"
    return f, None


def _date(v, date_format):
    value, err = _date_value(v, date_format)
    if value is not None and not (DATE_MIN <= value.date() <= DATE_MAX):
        return None, (f"date_implausible: {_show(value)} is outside {DATE_MIN}–{DATE_MAX} (a placeholder for "
                      f"an unknown date? leave the cell empty)")
    return value, err


#: Plausible dates: anything outside is a placeholder (9999-12-31) or a typo.
DATE_MIN, DATE_MAX = dt.date(1900, 1, 1), dt.date(2100, 12, 31)


def _date_value(v, date_format):
    if isinstance(v, pd.Timestamp | dt.datetime):
        return dt.datetime(v.year, v.month, v.day), None
    if isinstance(v, dt.date):
        return dt.datetime(v.year, v.month, v.day), None
    if _is_number(v):
        return None, (f"type: number {_show(v)} in a date column; format the column as a date or write "
                      f"YYYY-MM-DD")
    s = str(v).strip()
    if re.fullmatch(r"\d{5}(?:\.\d+)?", s) and 1 <= float(s) <= 73415:
        d = dt.date(1899, 12, 30) + dt.timedelta(days=int(float(s)))
        return None, (f"date_excel_serial: {s!r} is an Excel serial date ({d.isoformat()}?): the column lost its "
                      f"date format when saved as CSV; format it as a date in Excel and save again, or write "
                      f"YYYY-MM-DD")
    wide = _fullwidth(s)
    if wide:
        return None, wide
    m = _ISO.match(s)
    if m:
        try:
            d = dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError as e:
            return None, f"date: {s!r} is not a valid date ({e})"
        return dt.datetime(d.year, d.month, d.day), None
    if date_format:
        try:
            return dt.datetime.strptime(s, date_format), None
        except ValueError:
            return None, f"date: {s!r} is not a valid date in the format {date_format} (nor YYYY-MM-DD)"
    m = _SLASH.match(s)
    if m:
        a, b = int(m[1]), int(m[2])
        fits = [f for f, ok in (("DD/MM/YYYY", a <= 31 and b <= 12), ("MM/DD/YYYY", a <= 12 and b <= 31)) if ok]
        how = " or ".join(fits) if fits else "no day/month order"
        return None, (f"date_ambiguous: {s!r} could be {how}; write YYYY-MM-DD, or add the line "
                      f"'date_format: DD/MM/YYYY' (or MM/DD/YYYY) to the cohort's cohort.yaml")
    if re.fullmatch(r"\d{4}[/.]\d{1,2}[/.]\d{1,2}", s):
        return None, (f"date: {s!r} is not a date in the form YYYY-MM-DD; write YYYY-MM-DD, or add the line "
                      f"'date_format: YYYY/MM/DD' to the cohort's cohort.yaml")
    return None, f"date: {s!r} is not a date (expected YYYY-MM-DD)"


def _fullwidth(s: str) -> str | None:
    """A ``fullwidth`` message when ``s`` holds full-width forms (U+FF01–FF5E, ideographic space)."""
    if any("\uff01" <= ch <= "\uff5e" or ch == "\u3000" for ch in s):
        plain = unicodedata.normalize("NFKC", s).replace("\u3000", " ")
        return (f"fullwidth: {s!r} is written in full-width characters (an East Asian input mode); retype it "
                f"as {plain!r}")
    return None


def _choices(col: Column) -> str:
    return ", ".join(str(c) for c in col.categories or ())


def _category(col: Column, s: str, labelled: Labelled | None = None):
    key = str(s).strip().casefold()
    for code in col.categories or ():
        if key == str(code).casefold() or (col.labels and key == str(col.labels.get(code, "")).casefold()):
            return code, None
    wide = _fullwidth(str(s))
    if wide:
        plain = unicodedata.normalize("NFKC", str(s)).strip().casefold()
        known = any(plain == str(c).casefold() or (col.labels and plain == str(col.labels.get(c, "")).casefold())
                    for c in col.categories or ())
        if known or not col.extra.get("open"):
            return None, wide
    if col.extra.get("open"):  # any text: the dictionary's names are known labels
        return " ".join(str(s).split()), None
    if labelled is not None:
        if labelled.label is None:
            known = ", ".join(f"{_show(k)}={v}" for k, v in (labelled.all_labels or {}).items())
            return None, (f"value_label: value {_show(labelled.code)} has no value label (the file labels "
                          f"{known}); expected one of {_choices(col)}")
        return None, (f"value_label: value {_show(labelled.code)} is labelled {labelled.label!r}, which is "
                      f"not one of {_choices(col)}" + (f" (labels: {', '.join(col.labels.values())})"
                                                       if col.labels else ""))
    return None, f"category: {str(s).strip()!r} is not one of {_choices(col)}"
