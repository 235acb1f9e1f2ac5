"""A small valid cohort, writers for every accepted format, and the malformed-cohort battery.

:func:`valid_cohort` builds 8 patients whose dates and RECIST responses obey every
rule of :mod:`analysis.data.validate` (ISO dates, all cells as text, ``""`` for missing).
Each :class:`Case` of :data:`CASES` mutates a copy of it, writes it in one format and
names the error the validator must report (rule id, table, column, row as the
user sees it).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from analysis.data.schema import columns

CUTOFF = "2025-01-20"

_P = ["patient_id", "age", "sex", "ecog", "stage", "smoking", "prior_lines", "platinum_response",
      "interim_systemic_therapy", "brain_metastasis", "prior_ici_class", "prior_ici_failure", "radiotherapy",
      "anlotinib_dose_mg", "ici_agent", "baseline_sum_mm", "treatment_start_date", "progression_date",
      "death_date", "last_contact_date", "data_cutoff_date", "on_treatment_at_cutoff"]


def valid_cohort() -> dict[str, pd.DataFrame]:
    """Eight patients, RECIST-consistent, every date rule satisfied; all cells are strings."""
    base = dict(stage="extensive", smoking="former", prior_lines="1", platinum_response="sensitive",
                interim_systemic_therapy="no", brain_metastasis="no", prior_ici_class="pdl1",
                prior_ici_failure="progression", radiotherapy="no", anlotinib_dose_mg="10",
                ici_agent="tislelizumab", data_cutoff_date=CUTOFF)
    rows = [
        # id, age, sex, ecog, baseline, start, progression, death, last contact, on treatment
        ("P01", "61", "male", "1", "100.0", "2024-01-10", "", "", CUTOFF, "yes"),
        ("P02", "55", "female", "0", "50.0", "2024-02-01", "2024-05-01", "2024-09-10", "2024-09-10", "no"),
        ("P03", "70", "male", "2", "80.0", "2024-03-05", "2024-06-01", "", "2025-01-10", "no"),
        ("P04", "48", "female", "1", "40.0", "2024-04-10", "", "", CUTOFF, "yes"),
        ("P05", "66", "male", "1", "", "2024-05-01", "", "2024-10-01", "2024-10-01", "no"),
        ("P06", "59", "male", "0", "120.0", "2024-06-15", "2024-11-01", "", "2024-12-20", "no"),
        ("P07", "73", "female", "2", "60.0", "2024-07-01", "2024-10-01", "2024-12-01", "2024-12-01", "no"),
        ("P08", "40", "male", "1", "70.0", "2024-08-01", "", "", CUTOFF, "yes"),
    ]
    recs = []
    for pid, age, sex, ecog, bsum, start, prog, death, last, ontrt in rows:
        recs.append({**base, "patient_id": pid, "age": age, "sex": sex, "ecog": ecog, "baseline_sum_mm": bsum,
                     "treatment_start_date": start, "progression_date": prog, "death_date": death,
                     "last_contact_date": last, "on_treatment_at_cutoff": ontrt})
    patients = pd.DataFrame(recs)[_P]
    patients.loc[patients["patient_id"] == "P02", ["anlotinib_dose_mg", "ici_agent", "smoking"]] = \
        ["8", "serplulimab", "never"]
    patients.loc[patients["patient_id"] == "P06", ["anlotinib_dose_mg", "prior_lines"]] = ["12", "3"]
    a = [
        # id, date, sum, new lesions, response, override
        ("P01", "2024-02-20", "80.0", "no", "SD", ""),
        ("P01", "2024-04-01", "60.0", "no", "PR", ""),
        ("P01", "2024-05-15", "58.0", "no", "PR", ""),
        ("P02", "2024-03-15", "52.0", "no", "SD", ""),
        ("P02", "2024-05-01", "65.0", "no", "PD", ""),
        ("P03", "2024-04-20", "75.0", "no", "SD", ""),
        ("P03", "2024-06-01", "74.0", "yes", "PD", ""),
        ("P04", "2024-05-20", "0.0", "no", "CR", ""),
        ("P04", "2024-07-01", "0.0", "no", "CR", ""),
        ("P05", "2024-06-15", "", "no", "SD", ""),
        ("P05", "2024-08-01", "", "no", "NE", ""),
        ("P06", "2024-07-30", "110.0", "no", "SD", ""),
        ("P06", "2024-09-10", "115.0", "no", "SD", ""),
        ("P07", "2024-08-15", "40.0", "no", "PR", ""),
        ("P07", "2024-10-01", "42.0", "no", "PD", "yes"),
        ("P08", "2024-09-15", "68.0", "no", "SD", "no"),
    ]
    assessments = pd.DataFrame(a, columns=["patient_id", "assessment_date", "sum_diameters_mm", "new_lesions",
                                           "overall_response", "response_override"])
    ae = [
        ("P01", "fatigue", "2", "2024-01-20", "yes"),
        ("P01", "hypertension", "3", "2024-02-01", "yes"),
        ("P02", "nausea_vomiting", "1", "2024-02-10", "yes"),
        ("P03", "hand_foot_syndrome", "2", "", "yes"),
        ("P04", "hematologic_toxicity", "4", "2024-05-01", "yes"),
        ("P06", "other", "1", "2024-07-01", "no"),
        ("P07", "proteinuria", "2", "2024-07-20", "yes"),
        ("P08", "rash", "1", "2024-08-20", "yes"),
    ]
    adverse_events = pd.DataFrame(ae, columns=["patient_id", "ae_term", "grade", "onset_date",
                                               "treatment_related"])
    return {"patients": patients, "assessments": assessments, "adverse_events": adverse_events}


# --------------------------------------------------------------------------- writers

def write_csv(tables: dict[str, pd.DataFrame], folder: Path, encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        (folder / f"{name}.csv").write_bytes(df.to_csv(index=False, lineterminator="\n").encode(encoding))
    return folder


def _typed(table: str, name: str, v: str):
    """Cell as a native value (number, date) for Excel/SPSS/Stata writers; text stays text."""
    col = columns(table).get(name)
    if v == "" or col is None:
        return None if v == "" else v
    try:
        if col.kind == "int":
            return int(v)
        if col.kind == "float":
            return float(v)
        if col.kind == "date":
            return dt.date.fromisoformat(v)
    except ValueError:
        return v
    return v


def write_xlsx(tables: dict[str, pd.DataFrame], path: Path, native: bool = True, ws_hook=None) -> Path:
    """One workbook with one sheet per table; numbers and dates as native cells when ``native``."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, df in tables.items():
        ws = wb.create_sheet(name)
        ws.append(list(df.columns))
        for rec in df.itertuples(index=False):
            ws.append([_typed(name, c, v) if native else (v if v != "" else None)
                       for c, v in zip(df.columns, rec)])
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, dt.date):
                    cell.number_format = "yyyy-mm-dd"
        if ws_hook:
            ws_hook(name, ws)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def _stat_frame(table: str, df: pd.DataFrame, extra_labels: dict | None = None):
    """Frame and value labels for pyreadstat: categories as numeric codes 1..k labelled with the schema labels
    (yes/no labelled with their codes, to exercise code matching)."""
    out, labels = {}, {}
    for name in df.columns:
        col = columns(table).get(name)
        vals = [_typed(table, name, v) for v in df[name]]
        if col is not None and col.kind == "category":
            cats = list(col.categories)
            lab = {i + 1: (col.labels[c] if col.labels and set(col.categories) != {"yes", "no"} else c)
                   for i, c in enumerate(cats)}
            codes = []
            for v in vals:
                codes.append(float(cats.index(v) + 1) if v in cats else (float(v) if _num(v) else None))
            out[name] = pd.Series(codes, dtype="float64")
            labels[name] = lab
        elif col is not None and col.kind in ("int", "float"):
            out[name] = pd.Series([float(v) if v is not None else None for v in vals], dtype="float64")
        elif col is not None and col.kind == "date":
            out[name] = pd.Series(vals, dtype=object)
        else:
            out[name] = pd.Series(["" if v is None else str(v) for v in vals], dtype=object)
    labels.update(extra_labels or {})
    return pd.DataFrame(out), labels


def _num(v) -> bool:
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False


def write_stat(tables: dict[str, pd.DataFrame], folder: Path, kind: str, extra_labels: dict | None = None) -> Path:
    """Write each table as .sav (``kind="sav"``) or .dta with value labels."""
    import pyreadstat

    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        frame, labels = _stat_frame(name, df, (extra_labels or {}).get(name))
        fn = pyreadstat.write_sav if kind == "sav" else pyreadstat.write_dta
        fn(frame, str(folder / f"{name}.{kind}"), variable_value_labels=labels)
    return folder


def write(tables, tmp: Path, fmt: str) -> Path:
    if fmt == "csv":
        return write_csv(tables, tmp / "cohort")
    if fmt == "xlsx":
        return write_xlsx(tables, tmp / "cohort.xlsx")
    return write_stat(tables, tmp / "cohort", fmt)


# --------------------------------------------------------------------------- the battery

def _set(table, pid_or_row, column, value):
    """Mutation: set ``column`` of the row of ``table`` (int: position, str: first row of that patient)."""
    def f(t):
        df = t[table]
        i = pid_or_row if isinstance(pid_or_row, int) else int(df.index[df["patient_id"] == pid_or_row][0])
        df.loc[i, column] = value
    return f


def _add(table, **values):
    def f(t):
        t[table] = pd.concat([t[table], pd.DataFrame([values])], ignore_index=True).fillna("")
    return f


def _drop(table, column):
    def f(t):
        t[table] = t[table].drop(columns=[column])
    return f


def _seq(*fs):
    def f(t):
        for g in fs:
            g(t)
    return f


@dataclass
class Case:
    """A malformed cohort: ``mutate`` the valid one, write it as ``fmt`` (or with ``write``), expect ``expect``.

    ``expect`` lists (rule id, table, column, row) that must be among the errors; the error rule ids must all
    be in ``expect`` or ``also``.
    """

    name: str
    mutate: Callable | None
    expect: list[tuple]
    fmt: str = "csv"
    write: Callable | None = None  # (tables, tmp) -> path, overrides fmt
    also: set = field(default_factory=set)
    read_options: dict = field(default_factory=dict)


# row numbers: CSV line = position + 2 (header is line 1); Excel row = position + 2; .sav/.dta case = position + 1

def _csv_bytes(table, data: bytes):
    def w(t, tmp):
        folder = write_csv(t, tmp / "cohort")
        (folder / f"{table}.csv").write_bytes(data)
        return folder
    return w


def _latin1(t, tmp):
    folder = write_csv(t, tmp / "cohort")
    lines = t["patients"].to_csv(index=False, lineterminator="\n").split("\n")
    lines[2] = lines[2].replace("never", "néver")  # line 3 of the file holds P02 (a Latin-1 é)
    (folder / "patients.csv").write_bytes("\n".join(lines).encode("latin-1"))
    return folder


def _merged_header(t, tmp):
    def hook(name, ws):
        if name == "patients":
            ws.merge_cells("C1:D1")  # sex and ecog headers merged: D1 loses "ecog"
    return write_xlsx(t, tmp / "cohort.xlsx", ws_hook=hook)


def _formula_date(t, tmp):
    def hook(name, ws):
        if name == "patients":
            col = _P.index("last_contact_date") + 1
            start = _P.index("treatment_start_date") + 1
            from openpyxl.utils import get_column_letter
            ws.cell(4, col).value = f"={get_column_letter(start)}4+300"  # row 4 = P03
    return write_xlsx(t, tmp / "cohort.xlsx", ws_hook=hook)


def _sav_unmapped(t, tmp):
    return write_stat(t, tmp / "cohort", "sav",
                      extra_labels={"patients": {"sex": {1: "Masculino", 2: "Female"}}})


def _dta_out_of_range(t, tmp):
    folder = write_stat(t, tmp / "cohort", "dta")
    import pyreadstat
    df, meta = pyreadstat.read_dta(str(folder / "patients.dta"))
    df.loc[2, "sex"] = 3.0  # P03: a code without a value label
    df.loc[4, "ecog"] = 7.0  # P05
    pyreadstat.write_dta(df, str(folder / "patients.dta"), variable_value_labels=meta.variable_value_labels)
    return folder


def _slash_dates(t):
    p = t["patients"]
    p["treatment_start_date"] = [f"{d[8:10]}/{d[5:7]}/{d[:4]}" for d in p["treatment_start_date"]]


CASES: list[Case] = [
    Case("missing_column", _drop("patients", "sex"), [("column_missing", "patients", "sex", 1)]),
    Case("misspelt_category", _set("patients", 1, "sex", "mael"), [("category", "patients", "sex", 3)]),
    Case("text_in_age", _set("patients", 2, "age", "sixty"), [("type", "patients", "age", 4)]),
    Case("decimal_comma", _set("patients", 0, "baseline_sum_mm", "100,5"),
         [("type", "patients", "baseline_sum_mm", 2)]),
    Case("non_integer_lines", _set("patients", 3, "prior_lines", "2.5"), [("type", "patients", "prior_lines", 5)]),
    Case("negative_sum", _set("assessments", 3, "sum_diameters_mm", "-5.0"),
         [("range", "assessments", "sum_diameters_mm", 5)], also={"recist_sd"}),
    Case("impossible_date", _set("patients", 4, "treatment_start_date", "2024-02-30"),
         [("date", "patients", "treatment_start_date", 6)]),
    Case("duplicate_ids", _set("patients", 5, "patient_id", "P01"), [("id_duplicate", "patients", "patient_id", 7)],
         also={"orphan_patient", "assessment_before_start", "ae_before_start", "recist_pr", "recist_sd",
               "recist_pd"}),
    Case("orphan_ae", _add("adverse_events", patient_id="P99", ae_term="rash", grade="1", onset_date="2024-09-01",
                           treatment_related="yes"), [("orphan_patient", "adverse_events", "patient_id", 10)]),
    Case("orphan_assessment", _add("assessments", patient_id="P42", assessment_date="2024-09-01",
                                   sum_diameters_mm="50.0", new_lesions="no", overall_response="SD"),
         [("orphan_patient", "assessments", "patient_id", 18)]),
    Case("progression_after_death", _set("patients", "P02", "progression_date", "2024-09-20"),
         [("progression_after_death", "patients", "progression_date", 3)]),
    Case("death_after_cutoff", _seq(_set("patients", "P07", "death_date", "2025-02-01"),
                                    _set("patients", "P07", "last_contact_date", "2025-02-01")),
         [("death_after_cutoff", "patients", "death_date", 8),
          ("last_contact_after_cutoff", "patients", "last_contact_date", 8)]),
    Case("last_contact_after_cutoff", _set("patients", "P08", "last_contact_date", "2025-03-01"),
         [("last_contact_after_cutoff", "patients", "last_contact_date", 9)]),
    Case("assessment_before_start", _set("assessments", 0, "assessment_date", "2024-01-05"),
         [("assessment_before_start", "assessments", "assessment_date", 2)]),
    Case("assessment_on_start", _set("assessments", 0, "assessment_date", "2024-01-10"),
         [("assessment_before_start", "assessments", "assessment_date", 2)]),
    Case("assessment_after_death", _set("assessments", 4, "assessment_date", "2024-09-30"),
         [("assessment_after_death", "assessments", "assessment_date", 6)]),
    Case("ae_before_start", _set("adverse_events", 2, "onset_date", "2024-01-15"),
         [("ae_before_start", "adverse_events", "onset_date", 4)]),
    Case("ae_grade_6", _set("adverse_events", 1, "grade", "6"), [("range", "adverse_events", "grade", 3)]),
    # a dose other than 8, 10, 12 mg is accepted with a warning (issue #30); 0 mg is no dose
    Case("dose_0", _set("patients", 0, "anlotinib_dose_mg", "0"), [("range", "patients", "anlotinib_dose_mg", 2)]),
    Case("ecog_5", _set("patients", 6, "ecog", "5"), [("range", "patients", "ecog", 8)]),
    Case("age_12", _set("patients", 7, "age", "12"), [("range", "patients", "age", 9)]),
    Case("progression_before_start", _set("patients", "P03", "progression_date", "2024-03-01"),
         [("progression_before_start", "patients", "progression_date", 4)]),
    Case("last_contact_after_death", _set("patients", "P05", "last_contact_date", "2024-10-05"),
         [("last_contact_after_death", "patients", "last_contact_date", 6)]),
    Case("differing_cutoff", _set("patients", 4, "data_cutoff_date", "2024-12-31"),
         [("cutoff_differs", "patients", "data_cutoff_date", 6)]),
    Case("missing_required_cell", _set("patients", 3, "sex", ""), [("missing", "patients", "sex", 5)]),
    Case("missing_token_na", _set("patients", 3, "treatment_start_date", "NA"),
         [("missing", "patients", "treatment_start_date", 5)]),
    Case("blank_patient_id", _set("assessments", 5, "patient_id", "  "),
         [("missing", "assessments", "patient_id", 7)]),
    Case("empty_file", None, [("file_empty", "assessments", None, None)],
         write=_csv_bytes("assessments", b"")),
    Case("header_only", None, [("file_header_only", "patients", None, 1)],
         write=_csv_bytes("patients", (",".join(_P) + "\n").encode())),
    Case("wrong_encoding", None, [("encoding", "patients", None, 3)], write=_latin1),
    Case("csv_field_count", None, [("csv_fields", "adverse_events", None, 3)],
         write=_csv_bytes("adverse_events", b"patient_id,ae_term,grade,onset_date,treatment_related\n"
                                            b"P01,fatigue,2,2024-01-20,yes\nP01,rash,1,2024-02-01\n"),
         also={"missing"}),
    Case("duplicate_column", _seq(lambda t: t.__setitem__("assessments", pd.concat(
        [t["assessments"], t["assessments"][["new_lesions"]]], axis=1))),
         [("column_duplicate", "assessments", "new_lesions", 1)]),
    Case("excel_merged_header", None, [("excel_merged", "patients", None, 1)], write=_merged_header,
         also={"column_missing", "column_unnamed"}),
    Case("excel_formula_date", None, [("excel_formula", "patients", "last_contact_date", 4)], write=_formula_date),
    Case("sav_unmapped_label", None, [("value_label", "patients", "sex", 1)], write=_sav_unmapped),
    Case("dta_out_of_range_code", None, [("value_label", "patients", "sex", 3), ("range", "patients", "ecog", 5)],
         write=_dta_out_of_range),
    Case("ambiguous_slash_dates", _slash_dates, [("date_ambiguous", "patients", "treatment_start_date", 2)]),
    Case("pr_without_30pct", _set("assessments", 1, "sum_diameters_mm", "75.0"),
         [("recist_pr", "assessments", "overall_response", 3)], also=set()),
    Case("pd_without_20pct", _set("assessments", 4, "sum_diameters_mm", "55.0"),
         [("recist_pd", "assessments", "overall_response", 6)]),
    Case("pd_under_5mm", _seq(_set("patients", "P04", "baseline_sum_mm", "20.0"),
                              _set("assessments", 7, "sum_diameters_mm", "10.0"),
                              _set("assessments", 8, "sum_diameters_mm", "14.0"),
                              _set("assessments", 7, "overall_response", "PR"),
                              _set("assessments", 8, "overall_response", "PD")),
         [("recist_pd", "assessments", "overall_response", 10)]),
    Case("sd_meets_pr", _set("assessments", 11, "sum_diameters_mm", "80.0"),
         [("recist_sd", "assessments", "overall_response", 13)]),
    Case("sd_meets_pd", _set("assessments", 12, "sum_diameters_mm", "140.0"),
         [("recist_sd", "assessments", "overall_response", 14)]),
    Case("cr_with_sum", _set("assessments", 7, "sum_diameters_mm", "25.0"),
         [("recist_cr", "assessments", "overall_response", 9)]),
    Case("new_lesions_not_pd", _set("assessments", 0, "new_lesions", "yes"),
         [("recist_new_lesions", "assessments", "overall_response", 2)]),
]


def apply(case: Case, tmp: Path) -> Path:
    """Write the malformed cohort of ``case`` under ``tmp``; returns the path to read."""
    t = {k: v.copy() for k, v in valid_cohort().items()}
    if case.mutate:
        case.mutate(t)
    if case.write:
        return case.write(t, tmp)
    return write(t, tmp, case.fmt)


__all__ = ["CASES", "Case", "apply", "valid_cohort", "write", "write_csv", "write_stat", "write_xlsx"]
