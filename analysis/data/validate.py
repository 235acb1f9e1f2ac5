"""Validate a cohort against the data contract, reporting every problem in one pass.

The checker is hand-written and driven by :mod:`analysis.data.schema` (each
column's kind, categories, range and nullability, and the rule catalogue
:data:`analysis.data.schema.RULES`), which keeps row numbers and messages exact.
It adds to the problems found while reading (:attr:`RawCohort.issues`)
the checks on typed values: missing cells, ranges, unique ids, cross-table
dates and RECIST 1.1 consistency.

Every problem is one row of a table with the columns ``file, table, row,
column, value, rule``; ``rule`` starts with the rule's stable id
(``range: 5 is outside 0–4``). The values are the cells of the user's own file
(patient ids included: this table is for the data manager and never reaches the
rendered report).

Command line::

    python -m analysis.data.validate DATA_PATH [--report OUT.csv] [--date-format DD/MM/YYYY]

prints the table and exits 1 when there are errors; otherwise prints
``cohort OK: N patients, M assessments, K adverse events (W warnings)``.

Examples
--------
>>> from analysis.data.readers import read_cohort
>>> report = validate_cohort(read_cohort("data/synthetic"))   # doctest: +SKIP
>>> report.ok, report.summary()                                 # doctest: +SKIP
(True, 'cohort OK: 68 patients, 212 assessments, 185 adverse events (0 warnings)')
"""
from __future__ import annotations

import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data import escape
from analysis.data.readers import MAX_ROWS, ISSUE_COLUMNS, CohortReadError, RawCohort, _show, read_cohort
from analysis.data.schema import RULE_BY_ID, SCHEMA, TABLES

#: Columns of :attr:`ValidationReport.errors` and :attr:`ValidationReport.warnings`.
REPORT_COLUMNS = ISSUE_COLUMNS
_EPS = 1e-6
#: Most distinct values of an open category (ICI agent, adverse-event term).
MAX_CATEGORIES = 200


def table_text(df: pd.DataFrame) -> str:
    """A left-aligned plain-text table (pandas right-aligns text, which is hard to read here)."""
    if df.empty:
        return ""
    cells = df.astype(str).map(escape.visible)  # an ANSI escape in a cell is shown, not executed
    widths = {c: max(len(str(c)), cells[c].str.len().max()) for c in cells.columns}
    lines = ["  ".join(str(c).ljust(widths[c]) for c in cells.columns).rstrip()]
    lines += ["  ".join(v.ljust(widths[c]) for c, v in zip(cells.columns, row)).rstrip()
              for row in cells.itertuples(index=False)]
    return "\n".join(lines)


class CohortValidationError(ValueError):
    """The cohort breaks the data contract; the message is the table of errors."""

    def __init__(self, errors: pd.DataFrame):
        self.errors = errors
        super().__init__(table_text(errors))


@dataclass
class ValidationReport:
    """All violations of a cohort: ``errors`` and ``warnings`` (columns file, table, row, column, value, rule)."""

    errors: pd.DataFrame
    warnings: pd.DataFrame
    counts: dict = field(default_factory=dict)  # rows per table

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return self.errors.empty

    def raise_for_errors(self) -> None:
        """Raise :class:`CohortValidationError` when there are errors."""
        if not self.ok:
            raise CohortValidationError(self.errors)

    def to_frame(self) -> pd.DataFrame:
        """Errors then warnings, with a ``severity`` column first."""
        parts = [df.assign(severity=sev) for sev, df in (("error", self.errors), ("warning", self.warnings))]
        out = pd.concat(parts, ignore_index=True) if any(len(p) for p in parts) else \
            pd.DataFrame(columns=REPORT_COLUMNS + ["severity"])
        return out[["severity"] + REPORT_COLUMNS]

    def write(self, path: str | Path) -> Path:
        """Write errors and warnings to a CSV file (UTF-8) with a ``severity`` column."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # the data manager opens this file in a spreadsheet: no cell may start a formula (OWASP)
        self.to_frame().map(escape.csv_cell).to_csv(path, index=False, lineterminator="\n")
        return path

    def rule_ids(self, severity: str = "error") -> list[str]:
        """Rule ids of the errors (or warnings), in order."""
        df = self.errors if severity == "error" else self.warnings
        return [r.split(":", 1)[0] for r in df["rule"]]

    def summary(self) -> str:
        """One line: ``cohort OK: ...`` or the number of errors."""
        c = self.counts
        if self.ok:
            return (f"cohort OK: {c.get('patients', 0)} patients, {c.get('assessments', 0)} assessments, "
                    f"{c.get('adverse_events', 0)} adverse events ({len(self.warnings)} warnings)")
        return f"cohort INVALID: {len(self.errors)} errors, {len(self.warnings)} warnings"

    def __str__(self) -> str:
        df = self.to_frame()
        return (table_text(df) + "\n" if len(df) else "") + self.summary()


# --------------------------------------------------------------------------- the checker

class _Collector:
    def __init__(self, raw: RawCohort):
        self.raw = raw
        self.rows: list[dict] = []

    def add(self, table, row, column, value, rule_id, text, severity=None):
        if rule_id not in RULE_BY_ID:  # a programming error: every rule is documented in schema.RULES
            raise KeyError(f"undocumented rule {rule_id!r}")
        self.rows.append({"file": self.raw.sources.get(table, ""), "table": table,
                          "row": None if row is None or pd.isna(row) else int(row), "column": column,
                          "value": "" if value is None or (not isinstance(value, str) and pd.isna(value))
                          else _show(value),
                          "rule": f"{rule_id}: {text}", "severity": severity or RULE_BY_ID[rule_id].severity})


def _d(x) -> str:
    return "" if pd.isna(x) else pd.Timestamp(x).strftime("%Y-%m-%d")


def validate_cohort(raw: RawCohort) -> ValidationReport:
    """Check ``raw`` against the data contract; collect every violation (never raises on bad data)."""
    out = _Collector(raw)
    bad_cells = set(raw.suppressed)  # e.g. the cells a merged range covers: reported once, as excel_merged
    for r in raw.issues.itertuples(index=False):
        if r.column is not None and not pd.isna(r.row):
            bad_cells.add((r.table, int(r.row), r.column))
    usable = {}
    for table in TABLES:
        df = raw.tables.get(table)
        if df is None or table in raw.unreadable:
            continue
        _check_columns(out, raw, table)
        _check_cells(out, table, df, bad_cells)
        usable[table] = df
    if "patients" in usable:
        _check_patients(out, usable["patients"])
        _check_cross(out, usable)
    issues = raw.issues.to_dict("records")
    all_rows = pd.DataFrame(issues + out.rows, columns=REPORT_COLUMNS + ["severity"])
    all_rows["row"] = all_rows["row"].astype("Int64")
    all_rows["_t"] = all_rows["table"].map({t: i for i, t in enumerate(TABLES)})
    all_rows["_c"] = [_col_order(t, c) for t, c in zip(all_rows["table"], all_rows["column"])]
    # causes before their consequences: merged cells first (the cells they cover read as empty)
    all_rows["_p"] = [0 if str(r).startswith(FIRST_RULES) else 1 for r in all_rows["rule"]]
    all_rows = all_rows.sort_values(["_p", "_t", "row", "_c"], kind="stable", na_position="first")
    all_rows = all_rows.drop(columns=["_t", "_c", "_p"]).reset_index(drop=True)
    all_rows["column"] = all_rows["column"].fillna("")
    all_rows["file"] = all_rows["file"].fillna("")
    errors = all_rows[all_rows["severity"] == "error"][REPORT_COLUMNS].reset_index(drop=True)
    warnings = all_rows[all_rows["severity"] != "error"][REPORT_COLUMNS].reset_index(drop=True)
    counts = {t: (0 if t in raw.unreadable else len(raw.tables.get(t, ()))) for t in TABLES}
    return ValidationReport(errors, warnings, counts)


#: Rules shown before all others: their cells make further errors that are consequences.
FIRST_RULES = ("excel_merged",)


def _col_order(table, column) -> int:
    names = [c.name for c in SCHEMA.get(table, ())]
    return names.index(column) if column in names else len(names)


def _check_columns(out: _Collector, raw: RawCohort, table: str):
    found = raw.columns.get(table, [])
    header_row = None if raw.sources.get(table, "").lower().endswith((".sav", ".dta")) else 1
    for c in SCHEMA[table]:
        if c.required and c.name not in found:
            out.add(table, header_row, c.name, None, "column_missing", f"required column {c.name} is absent")
    known = {c.name for c in SCHEMA[table]}
    for name in found:
        if name not in known:
            out.add(table, header_row, name, None, "column_unknown",
                    f"column {name} is not in the data dictionary (kept, not used)")


def _check_cells(out: _Collector, table: str, df: pd.DataFrame, bad_cells: set):
    found = set(df.columns)
    rows = df["_row"].to_numpy()
    for c in SCHEMA[table]:
        if c.name not in found:
            continue
        s = df[c.name]
        isna = s.isna().to_numpy()
        if not c.nullable:
            for i in np.flatnonzero(isna):
                if (table, int(rows[i]), c.name) not in bad_cells:
                    out.add(table, rows[i], c.name, None, "missing", f"{c.name} is empty")
        if c.kind in ("int", "float"):
            vals = s.astype("float64").to_numpy()
            with np.errstate(invalid="ignore"):  # only flagged cells are looked at one by one
                flag = (c.min is not None) & (vals < (c.min if c.min is not None else 0))
                flag |= (c.max is not None) & (vals > (c.max if c.max is not None else 0))
                allowed = c.categories if c.categories is not None else c.extra.get("usual")
                if allowed is not None:
                    flag |= ~np.isin(vals, np.asarray(allowed, dtype=float))
            for i in np.flatnonzero(~isna & flag):
                v = vals[i]
                lo_bad = c.min is not None and v < c.min
                hi_bad = c.max is not None and v > c.max
                shown = _show(float(v))
                if lo_bad or hi_bad:
                    rng = f"{c.min:g}–{c.max:g}" if c.min is not None and c.max is not None else \
                        (f"≥ {c.min:g}" if c.min is not None else f"≤ {c.max:g}")
                    out.add(table, rows[i], c.name, v, "range", f"{shown} is outside {rng}"
                            + (f" {c.unit}" if c.unit else ""))
                elif c.categories is not None and v not in c.categories:
                    out.add(table, rows[i], c.name, v, "category",
                            f"{shown} is not one of {', '.join(str(k) for k in c.categories)}")
                elif c.extra.get("usual") and v not in c.extra["usual"]:
                    out.add(table, rows[i], c.name, v, "dose_unusual",
                            f"{shown} {c.unit or ''} is not one of the usual "
                            f"{', '.join(str(k) for k in c.extra['usual'])}; accepted (check the value)".replace("  ", " "))
        if c.kind == "category" and c.extra.get("open") and c.categories:
            unlisted = ~isna & ~s.isin(list(c.categories)).to_numpy()
            values = s.to_numpy()
            for i in np.flatnonzero(unlisted):
                v = values[i]
                out.add(table, rows[i], c.name, v, "category_unlisted",
                        f"{v!r} is not among the data dictionary's names ({c.extra.get('what', 'values')}); "
                        f"accepted and shown as written")
        if c.kind == "category" and c.extra.get("open"):  # shown in the report: can every character print?
            from analysis.data.glyphs import describe, missing_glyphs

            firsts = s[~isna].drop_duplicates()
            positions = np.flatnonzero(~isna)[~s[~isna].duplicated().to_numpy()]
            for v, i in zip(firsts.to_numpy(), positions):
                plain = "".join(" " if unicodedata.category(ch) == "Zs" else ch for ch in str(v))
                if escape.shown(v) != plain:  # a bidi override would reorder what the reader sees
                    out.add(table, rows[i], c.name, v, "text_invisible",
                            f"{c.name} {escape.visible(v)!r} holds {', '.join(escape.invisible_characters(v))}, "
                            f"which cannot be seen or reorders the text (a right-to-left override shows "
                            f"'gnp\\u202e.exe' as 'exe.png'); retype the value")
                gone = missing_glyphs(v)
                if gone:
                    out.add(table, rows[i], c.name, v, "glyph_missing",
                            f"{c.name} holds {', '.join(describe(ch) for ch in gone)}, which no shipped font has "
                            f"(printed as an empty box in the PDF)")
        if c.kind == "category" and c.extra.get("open"):
            levels = s.dropna().unique()
            if len(levels) > MAX_CATEGORIES:
                out.add(table, None, c.name, None, "categories_too_many",
                        f"{c.name} has {len(levels):,} different values (at most {MAX_CATEGORIES:,}); a column "
                        f"of free text or identifiers in the wrong place?")
    if len(df) > MAX_ROWS:
        out.add(table, None, None, None, "rows_too_many",
                f"the table has {len(df):,} rows (at most {MAX_ROWS:,}); is this the right file?")
    if "patient_id" in found and table == "patients":
        ids = df["patient_id"]
        first: dict = {}
        for i, pid in enumerate(ids):
            if pid is None or pd.isna(pid):
                continue
            key = id_key(pid)  # SYN-010 and ' syn-010' are one patient, not two
            if key in first:
                row0, pid0 = first[key]
                same = "" if pid == pid0 else f" as {pid0!r} (ids differing only in case or spaces are one id)"
                out.add(table, rows[i], "patient_id", pid, "id_duplicate",
                        f"patient id {pid!r} already on row {row0}{same}")
            else:
                first[key] = (int(rows[i]), pid)
    # exact copies of a row (every column but the row number): e.g. one adverse event pasted 2,800 times
    data_cols = [c for c in df.columns if c != "_row"]
    if len(df) and data_cols:
        # hashed column by column (missing cells equal); only the repeated rows are then turned into text
        dup = df[data_cols].duplicated(keep=False)
        if dup.any():
            sub = df.loc[dup.to_numpy(), data_cols]
            keyed = sub.astype(object).where(sub.notna(), None).astype(str).agg("\x1f".join, axis=1)
            first_row: dict = {}
            for j, i in enumerate(np.flatnonzero(dup.to_numpy())):
                k = keyed.iloc[j]
                if k in first_row:
                    out.add(table, rows[i], None, None, "row_duplicate",
                            f"the row repeats row {first_row[k]} in every column")
                else:
                    first_row[k] = int(rows[i])


def id_key(pid) -> str:
    """An id as compared for identity: surrounding spaces and case ignored."""
    return str(pid).strip().casefold()


def _check_patients(out: _Collector, p: pd.DataFrame):
    """Date rules within the patients table."""
    t = "patients"
    cols = set(p.columns)
    get = lambda c: p[c] if c in cols else pd.Series(pd.NaT, index=p.index)  # noqa: E731
    start, prog, death = get("treatment_start_date"), get("progression_date"), get("death_date")
    last, cutoff = get("last_contact_date"), get("data_cutoff_date")
    rows, ids = p["_row"], p["patient_id"] if "patient_id" in cols else pd.Series("", index=p.index)

    def check(mask, rule, column, value, text):
        for i in np.flatnonzero(mask.fillna(False).to_numpy(dtype=bool)):
            pid = ids.iloc[i]
            who = f"patient {pid}: " if isinstance(pid, str) and pid else ""
            out.add(t, rows.iloc[i], column, value.iloc[i], rule, who + text(i))

    check(start > cutoff, "start_after_cutoff", "treatment_start_date", start,
          lambda i: f"treatment start {_d(start.iloc[i])} is after the data cutoff {_d(cutoff.iloc[i])}")
    check(prog < start, "progression_before_start", "progression_date", prog,
          lambda i: f"progression {_d(prog.iloc[i])} is before treatment start {_d(start.iloc[i])}")
    check(death < start, "death_before_start", "death_date", death,
          lambda i: f"death {_d(death.iloc[i])} is before treatment start {_d(start.iloc[i])}")
    check(last < start, "last_contact_before_start", "last_contact_date", last,
          lambda i: f"last contact {_d(last.iloc[i])} is before treatment start {_d(start.iloc[i])}")
    check(prog > death, "progression_after_death", "progression_date", prog,
          lambda i: f"progression {_d(prog.iloc[i])} is after death {_d(death.iloc[i])}")
    check(prog > cutoff, "progression_after_cutoff", "progression_date", prog,
          lambda i: f"progression {_d(prog.iloc[i])} is after the data cutoff {_d(cutoff.iloc[i])}")
    check(death > cutoff, "death_after_cutoff", "death_date", death,
          lambda i: f"death {_d(death.iloc[i])} is after the data cutoff {_d(cutoff.iloc[i])}")
    check(last > cutoff, "last_contact_after_cutoff", "last_contact_date", last,
          lambda i: f"last contact {_d(last.iloc[i])} is after the data cutoff {_d(cutoff.iloc[i])}")
    check(last > death, "last_contact_after_death", "last_contact_date", last,
          lambda i: f"last contact {_d(last.iloc[i])} is after death {_d(death.iloc[i])}")
    check(last < death, "last_contact_before_death", "last_contact_date", last,
          lambda i: f"last contact {_d(last.iloc[i])} differs from death {_d(death.iloc[i])}; "
                    f"for a patient who died it should equal the death date")
    check(death.isna() & (prog > last), "progression_after_last_contact", "progression_date", prog,
          lambda i: f"progression {_d(prog.iloc[i])} is after the last contact {_d(last.iloc[i])}")
    if "on_treatment_at_cutoff" in cols:
        on = p["on_treatment_at_cutoff"] == "yes"
        event = pd.concat([prog, death], axis=1).min(axis=1)
        check(on & (event <= cutoff), "on_treatment_inconsistent", "on_treatment_at_cutoff",
              p["on_treatment_at_cutoff"],
              lambda i: f"on treatment at the cutoff, but progressed or died on {_d(event.iloc[i])}")
    valid = cutoff.dropna()
    if valid.nunique() > 1:
        counts = valid.value_counts()
        mode = counts.index[0]
        check(cutoff.notna() & (cutoff != mode), "cutoff_differs", "data_cutoff_date", cutoff,
              lambda i: f"data cutoff {_d(cutoff.iloc[i])} differs from {_d(mode)} "
                        f"(used by {counts.iloc[0]} of {len(valid)} patients)")


def _check_cross(out: _Collector, usable: dict):
    p = usable["patients"]
    if "patient_id" not in p.columns:
        return
    first = p.dropna(subset=["patient_id"]).drop_duplicates("patient_id").set_index("patient_id")
    known = set(first.index)
    known_keys = {}
    for pid in first.index:
        known_keys.setdefault(id_key(pid), pid)
    pcol = lambda c: first[c] if c in first.columns else pd.Series(pd.NaT, index=first.index)  # noqa: E731
    start, death, cutoff = pcol("treatment_start_date"), pcol("death_date"), pcol("data_cutoff_date")

    for table in ("assessments", "adverse_events"):
        df = usable.get(table)
        if df is None or "patient_id" not in df.columns:
            continue
        stray = (df["patient_id"].notna() & ~df["patient_id"].isin(known)).to_numpy(dtype=bool)
        for pid, row in zip(df["patient_id"].to_numpy()[stray], df["_row"].to_numpy()[stray]):
            if True:
                if id_key(pid) in known_keys:
                    out.add(table, row, "patient_id", pid, "id_spelling",
                            f"patient id {pid!r} is {known_keys[id_key(pid)]!r} in the patients table; ids that "
                            f"differ only in case or spaces are one patient: spell it the same")
                else:
                    out.add(table, row, "patient_id", pid, "orphan_patient",
                            f"patient id {pid!r} is not in the patients table")

    a = usable.get("assessments")
    if a is not None and {"patient_id", "assessment_date"} <= set(a.columns):
        ok = a["patient_id"].isin(known)
        s = a["patient_id"].map(start)
        dth = a["patient_id"].map(death)
        cut = a["patient_id"].map(cutoff)
        d = a["assessment_date"]
        for i in np.flatnonzero((ok & (d <= s)).to_numpy(dtype=bool)):
            out.add("assessments", a["_row"].iloc[i], "assessment_date", d.iloc[i], "assessment_before_start",
                    f"patient {a['patient_id'].iloc[i]}: assessment {_d(d.iloc[i])} is on or before treatment "
                    f"start {_d(s.iloc[i])} (the baseline sum belongs in patients.baseline_sum_mm)")
        for i in np.flatnonzero((ok & (d > dth)).to_numpy(dtype=bool)):
            out.add("assessments", a["_row"].iloc[i], "assessment_date", d.iloc[i], "assessment_after_death",
                    f"patient {a['patient_id'].iloc[i]}: assessment {_d(d.iloc[i])} is after death "
                    f"{_d(dth.iloc[i])}")
        for i in np.flatnonzero((ok & (d > cut)).to_numpy(dtype=bool)):
            out.add("assessments", a["_row"].iloc[i], "assessment_date", d.iloc[i], "assessment_after_cutoff",
                    f"patient {a['patient_id'].iloc[i]}: assessment {_d(d.iloc[i])} is after the data cutoff "
                    f"{_d(cut.iloc[i])}")
        dup = ok & d.notna() & a.duplicated(["patient_id", "assessment_date"], keep="first")
        for i in np.flatnonzero(dup.to_numpy(dtype=bool)):
            out.add("assessments", a["_row"].iloc[i], "assessment_date", d.iloc[i], "assessment_duplicate",
                    f"patient {a['patient_id'].iloc[i]}: a second assessment on {_d(d.iloc[i])}")
        _check_pd_progression(out, a[ok], pcol("progression_date"))
        _check_recist(out, a[ok], first)
        with_assessment = set(a["patient_id"].dropna())
    else:
        with_assessment = None

    ae = usable.get("adverse_events")
    if ae is not None and {"patient_id", "onset_date"} <= set(ae.columns):
        ok = ae["patient_id"].isin(known)
        d = ae["onset_date"]
        s, dth = ae["patient_id"].map(start), ae["patient_id"].map(death)
        for i in np.flatnonzero((ok & (d < s)).to_numpy(dtype=bool)):
            out.add("adverse_events", ae["_row"].iloc[i], "onset_date", d.iloc[i], "ae_before_start",
                    f"patient {ae['patient_id'].iloc[i]}: onset {_d(d.iloc[i])} is before treatment start "
                    f"{_d(s.iloc[i])}")
        for i in np.flatnonzero((ok & (d > dth)).to_numpy(dtype=bool)):
            out.add("adverse_events", ae["_row"].iloc[i], "onset_date", d.iloc[i], "ae_after_death",
                    f"patient {ae['patient_id'].iloc[i]}: onset {_d(d.iloc[i])} is after death "
                    f"{_d(dth.iloc[i])}")
        cut = ae["patient_id"].map(cutoff)
        for i in np.flatnonzero((ok & (d > cut)).to_numpy(dtype=bool)):
            out.add("adverse_events", ae["_row"].iloc[i], "onset_date", d.iloc[i], "ae_after_cutoff",
                    f"patient {ae['patient_id'].iloc[i]}: onset {_d(d.iloc[i])} is after the data cutoff "
                    f"{_d(cut.iloc[i])}")
    if ae is not None and {"patient_id", "grade"} <= set(ae.columns):
        ok = ae["patient_id"].isin(known)
        alive = ae["patient_id"].map(death).isna()
        fatal = ae["grade"].astype("Float64").fillna(0).to_numpy() == 5
        for i in np.flatnonzero((ok & alive).to_numpy(dtype=bool) & fatal):
            out.add("adverse_events", ae["_row"].iloc[i], "grade", 5, "ae_grade5_alive",
                    f"patient {ae['patient_id'].iloc[i]}: grade 5 (fatal) adverse event, but the patient has "
                    f"no death_date (alive at last contact)")

    if with_assessment is not None:
        lacking = (p["patient_id"].notna() & ~p["patient_id"].isin(with_assessment)).to_numpy(dtype=bool)
        for pid, row in zip(p["patient_id"].to_numpy()[lacking], p["_row"].to_numpy()[lacking]):
            if True:
                out.add("patients", row, "patient_id", pid, "no_assessments",
                        f"patient {pid} has no assessment and will be counted as not evaluable (NE)")


def _check_pd_progression(out: _Collector, a: pd.DataFrame, prog: pd.Series):
    """A PD assessment needs a progression on or before it: PFS is derived from progression_date."""
    if "overall_response" not in a.columns:
        return
    override = a["response_override"] if "response_override" in a.columns else pd.Series(None, index=a.index)
    is_pd = (a["overall_response"] == "PD") & (override != "yes") & a["assessment_date"].notna()
    first_pd = a[is_pd].sort_values("assessment_date", kind="stable").drop_duplicates("patient_id")
    for pid, day, row in zip(first_pd["patient_id"], first_pd["assessment_date"], first_pd["_row"]):
        p = prog.get(pid, pd.NaT)
        if pd.isna(p) or p > day:
            when = "is missing" if pd.isna(p) else f"is {_d(p)}, after it"
            out.add("assessments", row, "overall_response", "PD", "pd_without_progression",
                    f"patient {pid}: PD on {_d(day)} but progression_date {when}; PFS "
                    f"would count no progression then (record the progression date, or set response_override = "
                    f"yes if the PD was not taken as progression)")


def _check_recist(out: _Collector, a: pd.DataFrame, patients: pd.DataFrame):
    """RECIST 1.1 size rules against the investigator's overall response, row by row."""
    need = {"patient_id", "assessment_date", "overall_response", "sum_diameters_mm", "new_lesions"}
    if not need <= set(a.columns):
        return
    base = patients["baseline_sum_mm"] if "baseline_sum_mm" in patients.columns else \
        pd.Series(np.nan, index=patients.index)
    a = a.assign(_ord=np.arange(len(a))).sort_values(["patient_id", "assessment_date", "_ord"], kind="stable")
    override = a["response_override"] if "response_override" in a.columns else pd.Series(None, index=a.index)
    t = "assessments"
    # vectorised (issue #30: 100,000 patients): the nadir before each row is the smaller of the baseline
    # and the smallest earlier sum of the patient; only rows a rule may flag are then checked one by one
    pid = a["patient_id"]
    s = a["sum_diameters_mm"].astype("float64")
    earlier = s.groupby(pid, sort=False).cummin().groupby(pid, sort=False).ffill().groupby(pid, sort=False).shift(1)
    b = pid.map(base).astype("float64").to_numpy()
    sv, nadir = s.to_numpy(), np.fmin(b, earlier.to_numpy(dtype="float64"))
    resp = a["overall_response"].to_numpy(dtype=object)
    new = (a["new_lesions"] == "yes").to_numpy()
    skip = ((override == "yes").to_numpy() | pd.isna(a["overall_response"]).to_numpy() | (resp == "NE"))
    has_s, has_n, has_b = ~np.isnan(sv), ~np.isnan(nadir), ~np.isnan(b) & (b > 0)
    with np.errstate(invalid="ignore"):
        pd_size = has_s & has_n & (sv - nadir >= 0.2 * nadir - _EPS) & (sv - nadir >= 5.0 - _EPS)
        pr_size = has_s & has_b & (sv <= 0.7 * b + _EPS)
        flag = ((resp != "PD") & new) \
            | ((resp == "PD") & has_s & has_n & ~(pd_size | new)) \
            | ((resp == "PR") & ((~np.isnan(b) & (b <= 0)) | (has_s & has_b & ~pr_size) | pd_size)) \
            | ((resp == "CR") & has_s & (sv > 10.0 + _EPS)) \
            | ((resp == "SD") & (pd_size | pr_size))
    rows, pids = a["_row"].to_numpy(), pid.to_numpy()
    for i in np.flatnonzero(flag & ~skip):
        _recist_row(out, t, rows[i], pids[i], resp[i], float(sv[i]), float(b[i]), float(nadir[i]), bool(new[i]))


def _recist_row(out, t, row, pid, resp, s, b, nadir, new):
    has_s, has_b, has_n = not np.isnan(s), not np.isnan(b) and b > 0, not np.isnan(nadir)
    pd_size = has_s and has_n and (s - nadir >= 0.2 * nadir - _EPS) and (s - nadir >= 5.0 - _EPS)
    pr_size = has_s and has_b and s <= 0.7 * b + _EPS
    pct = f"{(s - b) / b * 100:+.1f} % from baseline {b:g} mm" if has_s and has_b else ""
    up = f"{s - nadir:+g} mm ({(s - nadir) / nadir * 100:+.1f} %) from nadir {nadir:g} mm" \
        if has_s and has_n and nadir > 0 else (f"{s - nadir:+g} mm from nadir {nadir:g} mm" if has_s and has_n else "")
    who = f"patient {pid}: "
    hint = " (set response_override = yes to keep a deliberate exception)"
    if resp != "PD" and new:
        out.add(t, row, "overall_response", resp, "recist_new_lesions",
                who + f"{resp} with new_lesions = yes; new lesions mean PD" + hint)
        return
    if resp == "PD":
        if has_s and has_n and not (pd_size or new):
            out.add(t, row, "overall_response", resp, "recist_pd",
                    who + f"PD needs ≥ 20 % and ≥ 5 mm above the nadir or new lesions; sum {s:g} mm is {up}"
                    + hint)
    elif resp == "PR":
        if not np.isnan(b) and b <= 0:
            out.add(t, row, "overall_response", resp, "recist_pr_no_disease",
                    who + f"PR with a baseline sum of {b:g} mm: a partial response needs measurable disease "
                          f"at baseline" + hint)
        elif has_s and has_b and not pr_size:
            out.add(t, row, "overall_response", resp, "recist_pr",
                    who + f"PR needs ≥ 30 % decrease from baseline; sum {s:g} mm is {pct}" + hint)
        elif pd_size:
            out.add(t, row, "overall_response", resp, "recist_pr",
                    who + f"PR but sum {s:g} mm meets the PD size rule ({up})" + hint)
    elif resp == "CR":
        if has_s and s > 10.0 + _EPS:
            out.add(t, row, "overall_response", resp, "recist_cr",
                    who + f"CR needs a sum ≤ 10 mm (residual node); sum is {s:g} mm" + hint)
    elif resp == "SD":
        if pd_size:
            out.add(t, row, "overall_response", resp, "recist_sd",
                    who + f"SD but sum {s:g} mm meets the PD size rule ({up})" + hint)
        elif pr_size:
            out.add(t, row, "overall_response", resp, "recist_sd",
                    who + f"SD but sum {s:g} mm meets the PR size rule ({pct})" + hint)


# --------------------------------------------------------------------------- CLI

#: Exit codes of the command line: the cohort is invalid, the output cannot be written, a bug.
EXIT_INVALID, EXIT_CANNOT_WRITE, EXIT_INTERNAL = 1, 2, 3

#: The terminal shows at most this many rows of errors and warnings (errors first); the report file has all.
MAX_SHOWN = 30


def main(argv=None) -> int:
    """Command line; exit 0 (valid), 1 (invalid cohort), 2 (cannot write the report), 3 (internal error)."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m analysis.data.validate",
                                 description="Validate a cohort (folder of three tables or one .xlsx workbook) "
                                             "against the data dictionary.")
    ap.add_argument("data_path", help="cohort folder or .xlsx workbook")
    ap.add_argument("--report", help="write errors and warnings to this CSV file")
    ap.add_argument("--save", help="when the cohort is valid, save its validated tables here for the notebooks "
                                   "(analysis.data.validated; holds identifiers: keep it beside the log)")
    ap.add_argument("--date-format", default=None,
                    help="how to read slash dates, e.g. DD/MM/YYYY or MM/DD/YYYY (default: the cohort.yaml's "
                         "date_format, else only YYYY-MM-DD)")
    ap.add_argument("--log", default=None,
                    help="on an unexpected internal error, write the traceback here (default: beside --report)")
    args = ap.parse_args(argv)
    try:
        return _run(args)
    except KeyboardInterrupt:
        raise
    except Exception as e:  # noqa: BLE001  a bug, not bad data: one line and the traceback in a log
        import traceback

        log = Path(args.log) if args.log else (Path(args.report).with_name("validate.log") if args.report else None)
        where = ""
        if log is not None:
            try:
                log.parent.mkdir(parents=True, exist_ok=True)
                log.write_text(traceback.format_exc(), encoding="utf-8")
                where = f"; details in {log}"
            except OSError:
                where = ""
        print(escape.visible(f"validation step: internal error {type(e).__name__}: {e}{where}"), file=sys.stderr)
        return EXIT_INTERNAL


def _write(report: ValidationReport, path) -> int | None:
    try:
        report.write(path)
    except OSError as e:
        print(escape.visible(f"cannot write to {Path(path).parent} ({e.strerror or e}): the validation report "
                             f"was not written; make the output folder writable or choose another OUT"),
              file=sys.stderr)
        return EXIT_CANNOT_WRITE
    return None


def _run(args) -> int:
    try:
        raw = read_cohort(args.data_path, date_format=args.date_format)
    except (CohortReadError, ValueError) as e:
        print(escape.visible(f"cannot read cohort: {e}"), file=sys.stderr)
        if args.report:  # the message points the data manager to the report: it must exist
            row = pd.DataFrame([{"file": str(args.data_path), "table": "", "row": None, "column": "", "value": "",
                                 "rule": f"read_error: {e}"}], columns=REPORT_COLUMNS)
            failed = _write(ValidationReport(row, pd.DataFrame(columns=REPORT_COLUMNS)), args.report)
            if failed:
                return failed
        return EXIT_INVALID
    report = validate_cohort(raw)
    from analysis.data.metadata import MetadataError, check_free_text, raw_identifiers, read_metadata_file

    try:  # cohort.yaml's free text is printed in the report: no patient id or date may be in it
        meta = read_metadata_file(args.data_path)
        check_free_text(meta, raw_identifiers(raw.tables))
        from analysis.data.glyphs import describe, missing_glyphs

        from analysis.data.metadata import FREE_TEXT

        for key in FREE_TEXT:
            gone = missing_glyphs(str(meta.get(key) or ""))
            if gone:
                print(escape.visible(f"warning: cohort.yaml: glyph_missing: {key} holds "
                                     f"{', '.join(describe(ch) for ch in gone)}, which no shipped font has"))
    except MetadataError as e:
        print(escape.visible(f"cannot use cohort.yaml: {e}"), file=sys.stderr)
        if args.report:
            row = pd.DataFrame([{"file": "cohort.yaml", "table": "", "row": None, "column": "", "value": "",
                                 "rule": str(e).split(": ", 1)[-1]}], columns=REPORT_COLUMNS)
            failed = _write(ValidationReport(row, pd.DataFrame(columns=REPORT_COLUMNS)), args.report)
            if failed:
                return failed
        return EXIT_INVALID
    if args.report:
        failed = _write(report, args.report)
        if failed:
            return failed
    if args.save and report.ok:
        from analysis.data.validated import save_validated

        try:
            save_validated(raw, report, args.save)
        except OSError as e:
            print(escape.visible(f"cannot write to {Path(args.save).parent} ({e.strerror or e}): the validated "
                                 "tables were not saved; make the output folder writable or choose another OUT"),
                  file=sys.stderr)
            return EXIT_CANNOT_WRITE
    with pd.option_context("display.max_colwidth", None, "display.width", 250):
        frame = report.to_frame()
        if len(frame):
            print(table_text(frame.head(MAX_SHOWN)))
        if len(frame) > MAX_SHOWN:
            print(f"... and {len(frame) - MAX_SHOWN} more rows"
                  + (" (the report file lists all)" if args.report else ""))
    print(report.summary())
    for table in TABLES:
        print(escape.visible(f"  {table}: {raw.sources.get(table, '')} sha256 {raw.sha256.get(table, '')}"))
    return 0 if report.ok else EXIT_INVALID


if __name__ == "__main__":
    raise SystemExit(main())
