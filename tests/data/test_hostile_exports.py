"""Hostile and messy exports (issue #24): no injection, nothing silently wrong, clear messages.

Each test is named after one export a hospital data manager produced; each starts from the small
valid cohort of :mod:`malformed` and asserts the specific behaviour (the named rule, the escaped
output, the one-line message without a traceback).
"""
from __future__ import annotations

import csv
import datetime as dt

import openpyxl
import pandas as pd
import pytest

import malformed
from analysis.data import escape
from analysis.data import validate as validate_mod
from analysis.data.readers import CohortReadError, read_cohort
from analysis.data.validate import main, validate_cohort


def _report(path, **opts):
    return validate_cohort(read_cohort(path, **opts))


def _rows(df, rule):
    return df[df["rule"].str.startswith(rule + ":")]


def _xlsx(tmp_path, hook=None, tables=None, native=True):
    return malformed.write_xlsx(tables or malformed.valid_cohort(), tmp_path / "cohort.xlsx", native=native,
                                ws_hook=hook)


# --------------------------------------------------------------------------- injection

def test_ansi_escape_in_a_cell_is_printed_escaped_not_executed(tmp_path, capsys):
    t = malformed.valid_cohort()
    t["patients"].loc[4, "sex"] = "\x1b[2J\x1b[32mcohort OK\x1b[0m"
    path = malformed.write_csv(t, tmp_path / "cohort")
    assert main([str(path)]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "\\x1b[2J" in out


def test_nul_zero_width_and_bom_in_a_cell_are_visible_in_messages(tmp_path, capsys):
    t = malformed.valid_cohort()
    t["patients"].loc[1, "sex"] = "fe\u200bmale\ufeff"
    path = malformed.write_csv(t, tmp_path / "cohort")
    assert main([str(path)]) == 1
    out = capsys.readouterr().out
    assert "\u200b" not in out and "\ufeff" not in out
    assert "fe\\u200bmale\\ufeff" in out
    assert escape.visible("a\x00b") == "a\\x00b"


FORMULAS = ["=HYPERLINK(\"http://x\",\"click\")", "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
            "-2+3+cmd|' /C calc'!A0"]


def test_formula_cells_and_formula_column_names_are_neutralised_in_the_csv_reports(tmp_path):
    t = malformed.valid_cohort()
    for i, f in enumerate(FORMULAS):
        t["patients"].loc[i, "sex"] = f
    t["patients"]["=cmd|' /C calc'!A0"] = "x"
    path = malformed.write_csv(t, tmp_path / "cohort")
    out = tmp_path / "errors.csv"
    assert main([str(path), "--report", str(out)]) == 1
    with open(out, newline="", encoding="utf-8") as fh:
        cells = [c for row in csv.reader(fh) for c in row]
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    for f in FORMULAS:
        assert "'" + f in cells
    assert "'=cmd|' /C calc'!A0" in cells  # the column name, in the column field of column_unknown


def test_csv_cell_follows_owasp():
    assert [escape.csv_cell(v) for v in ("=1", "+1", "-1", "@a", "\tx", "\rx", "a=1", "", 5)] == \
        ["'=1", "'+1", "'-1", "'@a", "'\tx", "'\rx", "a=1", "", 5]


# --------------------------------------------------------------------------- silently wrong

def test_hidden_older_sheet_beside_the_visible_one_is_an_error_naming_both(tmp_path):
    def hook(name, ws):
        if name == "patients":
            old = ws.parent.create_sheet("Patients ")
            old.append(["patient_id"])
            old.sheet_state = "hidden"
    path = _xlsx(tmp_path, hook)
    with pytest.raises(CohortReadError) as e:
        read_cohort(path)
    assert "'patients'" in str(e.value) and "'Patients ' (hidden)" in str(e.value)


def test_hidden_sheet_with_the_tables_name_is_never_read(tmp_path):
    def hook(name, ws):
        if name == "patients":
            ws.sheet_state = "hidden"
    path = _xlsx(tmp_path, hook)
    with pytest.raises(CohortReadError, match="'patients' for the table patients is hidden"):
        read_cohort(path)


def test_hidden_sheet_in_a_one_table_workbook_is_not_read_and_warned(tmp_path):
    folder = malformed.write_csv(malformed.valid_cohort(), tmp_path / "cohort")
    (folder / "patients.csv").unlink()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    p = malformed.valid_cohort()["patients"]
    ws.append(list(p.columns))
    for rec in p.itertuples(index=False):
        ws.append([v or None for v in rec])
    old = wb.create_sheet("old export")
    old.append(["patient_id"])
    old.sheet_state = "hidden"
    wb.save(folder / "patients.xlsx")
    report = _report(folder)
    assert report.ok
    assert len(_rows(report.warnings, "excel_hidden_sheet")) == 1


def test_rows_hidden_by_an_autofilter_are_warned(tmp_path):
    def hook(name, ws):
        if name == "patients":
            ws.auto_filter.ref = ws.dimensions
            ws.row_dimensions[3].hidden = True
    report = _report(_xlsx(tmp_path, hook))
    w = _rows(report.warnings, "excel_hidden_row")
    assert list(w["row"]) == [3] and "AutoFilter" in w["rule"].iloc[0]


@pytest.mark.parametrize("spelling", ["p01", " P01 ", "p01 "])
def test_ids_differing_only_in_case_or_spaces_are_duplicate_patients(tmp_path, spelling):
    t = malformed.valid_cohort()
    t["patients"].loc[7, "patient_id"] = spelling
    report = _report(malformed.write_csv(t, tmp_path / "cohort"))
    dup = _rows(report.errors, "id_duplicate")
    assert list(dup["row"]) == [9], report.errors.to_string()


def test_id_spelled_differently_in_assessments_and_adverse_events_is_an_error(tmp_path):
    t = malformed.valid_cohort()
    t["assessments"].loc[1, "patient_id"] = "p01"
    t["adverse_events"].loc[0, "patient_id"] = "p01"
    report = _report(malformed.write_csv(t, tmp_path / "cohort"))
    bad = _rows(report.errors, "id_spelling")
    assert sorted(bad["table"]) == ["adverse_events", "assessments"]
    assert "'P01'" in bad["rule"].iloc[0]


def test_grade5_adverse_event_of_a_patient_alive_at_last_contact_is_an_error(tmp_path):
    t = malformed.valid_cohort()
    t["adverse_events"].loc[0, "grade"] = "5"  # P01: alive
    report = _report(malformed.write_csv(t, tmp_path / "cohort"))
    bad = _rows(report.errors, "ae_grade5_alive")
    assert list(bad["row"]) == [2] and list(bad["column"]) == ["grade"]


def test_grade5_adverse_event_of_a_patient_who_died_is_accepted(tmp_path):
    t = malformed.valid_cohort()
    t["adverse_events"].loc[2, "grade"] = "5"  # P02: died 2024-09-10
    assert _rows(_report(malformed.write_csv(t, tmp_path / "cohort")).errors, "ae_grade5_alive").empty


def test_adverse_event_after_the_data_cutoff_is_an_error(tmp_path):
    t = malformed.valid_cohort()
    t["adverse_events"].loc[0, "onset_date"] = "2025-02-01"
    report = _report(malformed.write_csv(t, tmp_path / "cohort"))
    assert list(_rows(report.errors, "ae_after_cutoff")["row"]) == [2]


def test_adverse_event_after_death_is_an_error(tmp_path):
    t = malformed.valid_cohort()
    t["adverse_events"].loc[2, "onset_date"] = "2024-09-20"  # P02 died 2024-09-10
    report = _report(malformed.write_csv(t, tmp_path / "cohort"))
    assert list(_rows(report.errors, "ae_after_death")["row"]) == [4]


def test_partial_response_with_a_baseline_sum_of_zero_is_an_error(tmp_path):
    t = malformed.valid_cohort()
    t["patients"].loc[0, "baseline_sum_mm"] = "0"  # P01: SD, PR, PR
    report = _report(malformed.write_csv(t, tmp_path / "cohort"))
    bad = _rows(report.errors, "recist_pr_no_disease")
    assert list(bad["row"]) == [3, 4], report.errors.to_string()


@pytest.mark.parametrize("table", ["patients", "assessments", "adverse_events"])
def test_exact_duplicate_rows_warn_in_every_table(tmp_path, table):
    t = malformed.valid_cohort()
    df = t[table]
    t[table] = pd.concat([df, df.iloc[[len(df) - 1]] , df.iloc[[len(df) - 1]]], ignore_index=True)
    report = _report(malformed.write_csv(t, tmp_path / "cohort"))
    dup = _rows(report.warnings, "row_duplicate")
    assert list(dup["table"]) == [table, table]
    assert list(dup["row"]) == [len(df) + 2, len(df) + 3]
    assert f"row {len(df) + 1}" in dup["rule"].iloc[0]


def test_committed_synthetic_cohort_raises_no_new_error_or_warning():
    from analysis.paths import SYNTHETIC_DIR

    report = _report(SYNTHETIC_DIR)
    assert report.ok
    assert set(report.rule_ids("warning")) == {"no_assessments"}


# --------------------------------------------------------------------------- unclear messages

def test_date_9999_12_31_names_the_cell_and_the_rule(tmp_path):
    t = malformed.valid_cohort()
    t["patients"].loc[2, "death_date"] = "9999-12-31"
    report = _report(malformed.write_csv(t, tmp_path / "cohort"))
    bad = _rows(report.errors, "date_implausible")
    assert list(zip(bad["table"], bad["row"], bad["column"], bad["value"])) == \
        [("patients", 4, "death_date", "9999-12-31")]


def test_date_9999_12_31_as_an_excel_date_cell_names_the_cell_and_the_rule(tmp_path):
    def hook(name, ws):
        if name == "patients":
            ws["S4"] = dt.datetime(9999, 12, 31)
    report = _report(_xlsx(tmp_path, hook))
    bad = _rows(report.errors, "date_implausible")
    assert list(zip(bad["row"], bad["column"])) == [(4, "death_date")]


def test_cli_read_failure_writes_the_errors_csv_it_points_to(tmp_path, capsys):
    def hook(name, ws):
        if name == "patients":
            ws.sheet_state = "hidden"
    out = tmp_path / "v" / "errors.csv"
    assert main([str(_xlsx(tmp_path, hook)), "--report", str(out)]) == 1
    assert "hidden" in capsys.readouterr().err
    assert "read_error" in out.read_text(encoding="utf-8")


def test_slash_dates_message_names_cohort_yaml_and_cohort_yaml_date_format_is_read(tmp_path):
    t = malformed.valid_cohort()
    t["patients"].loc[0, "treatment_start_date"] = "10/01/2024"
    folder = malformed.write_csv(t, tmp_path / "cohort")
    bad = _rows(_report(folder).errors, "date_ambiguous")
    assert "cohort.yaml" in bad["rule"].iloc[0] and "date_format: DD/MM/YYYY" in bad["rule"].iloc[0]
    (folder / "cohort.yaml").write_text("name: x\ndate_format: DD/MM/YYYY\n", encoding="utf-8")
    raw = read_cohort(folder)
    assert raw.tables["patients"].loc[0, "treatment_start_date"] == pd.Timestamp("2024-01-10")


def test_year_first_slash_dates_message_names_cohort_yaml_and_the_format_is_read(tmp_path):
    t = malformed.valid_cohort()
    t["patients"].loc[0, "treatment_start_date"] = "2024/01/10"
    folder = malformed.write_csv(t, tmp_path / "cohort")
    bad = _rows(_report(folder).errors, "date")
    assert "date_format: YYYY/MM/DD" in bad["rule"].iloc[0] and "cohort.yaml" in bad["rule"].iloc[0]
    (folder / "cohort.yaml").write_text("date_format: YYYY/MM/DD\n", encoding="utf-8")
    assert read_cohort(folder).tables["patients"].loc[0, "treatment_start_date"] == pd.Timestamp("2024-01-10")


@pytest.mark.parametrize("invisible", ["\u200b", "\ufeff", "\u2060"])
def test_invisible_character_in_a_header_is_named(tmp_path, invisible):
    folder = malformed.write_csv(malformed.valid_cohort(), tmp_path / "cohort")
    f = folder / "patients.csv"
    f.write_text(f.read_text(encoding="utf-8").replace(",sex,", f",sex{invisible},", 1), encoding="utf-8")
    report = _report(folder)
    bad = _rows(report.errors, "column_invisible")
    assert len(bad) == 1 and bad["column"].iloc[0] == "sex"
    assert f"U+{ord(invisible):04X}" in bad["rule"].iloc[0]
    assert _rows(report.errors, "column_missing").empty  # named once, as what it is


def test_double_bom_before_the_header_is_named(tmp_path):
    folder = malformed.write_csv(malformed.valid_cohort(), tmp_path / "cohort")
    f = folder / "patients.csv"
    f.write_bytes(b"\xef\xbb\xbf\xef\xbb\xbf" + f.read_bytes())
    bad = _rows(_report(folder).errors, "column_invisible")
    assert list(bad["column"]) == ["patient_id"]
    assert "ZERO WIDTH NO-BREAK SPACE U+FEFF" in bad["rule"].iloc[0]


def test_sep_line_says_to_remove_it(tmp_path):
    folder = malformed.write_csv(malformed.valid_cohort(), tmp_path / "cohort")
    f = folder / "patients.csv"
    f.write_bytes(b"sep=;\n" + f.read_bytes())
    bad = _rows(_report(folder).errors, "csv_sep_line")
    assert list(bad["row"]) == [1] and "delete" in bad["rule"].iloc[0]


def test_nul_padding_says_nul_bytes(tmp_path):
    folder = malformed.write_csv(malformed.valid_cohort(), tmp_path / "cohort")
    f = folder / "assessments.csv"
    f.write_bytes(f.read_bytes() + b"\x00" * 4096)
    bad = _rows(_report(folder).errors, "nul_bytes")
    assert len(bad) == 1 and "NUL bytes" in bad["rule"].iloc[0] and "4,096" not in bad["rule"].iloc[0]
    assert "4096 NUL bytes" in bad["rule"].iloc[0]


def test_200kb_cell_names_the_column_and_the_row(tmp_path):
    t = malformed.valid_cohort()
    t["patients"].loc[3, "stage"] = "x" * 200_000
    report = _report(malformed.write_csv(t, tmp_path / "cohort"))
    bad = _rows(report.errors, "cell_too_long")
    assert list(zip(bad["row"], bad["column"])) == [(5, "stage")]
    assert "200,000 characters" in bad["rule"].iloc[0]
    assert _rows(report.errors, "read_error").empty


def test_xlsx_header_below_a_title_row_is_named(tmp_path):
    def hook(name, ws):
        if name == "patients":
            ws.insert_rows(1)
            ws["A1"] = "Export of 2025-01-20"
    report = _report(_xlsx(tmp_path, hook))
    bad = _rows(report.errors, "excel_header_row")
    assert list(bad["row"]) == [1] and "row 2" in bad["rule"].iloc[0]


def test_xlsx_header_below_a_blank_row_is_read_with_sheet_row_numbers(tmp_path):
    def hook(name, ws):
        if name == "patients":
            ws.insert_rows(1)
    t = malformed.valid_cohort()
    t["patients"].loc[4, "sex"] = "mael"
    report = _report(_xlsx(tmp_path, hook, tables=t))
    assert list(zip(report.errors["rule"].str.split(":").str[0], report.errors["row"])) == [("category", 7)]


def test_xlsx_formatted_cell_at_the_last_row_reads_only_the_used_range(tmp_path, monkeypatch):
    """The sheet's dimension reaches row 1,048,576; only rows 1-9 are read (benchmarks/bench_xlsx.py)."""
    from openpyxl.styles import Font
    from openpyxl.worksheet.worksheet import Worksheet

    def hook(name, ws):
        if name == "patients":
            ws.cell(1_048_576, 30).font = Font(bold=True)
    path = _xlsx(tmp_path, hook)
    seen = []
    orig = Worksheet.iter_rows

    def spy(self, *a, **kw):
        seen.append((self.title, kw.get("max_row"), kw.get("max_col")))
        return orig(self, *a, **kw)
    monkeypatch.setattr(Worksheet, "iter_rows", spy)
    report = _report(path)
    assert report.ok and report.counts["patients"] == 8
    assert ("patients", 9, 22) in seen


# --------------------------------------------------------------------------- failures of the tool itself

def test_unwritable_report_says_cannot_write_not_invalid(tmp_path, monkeypatch, capsys):
    path = malformed.write_csv(malformed.valid_cohort(), tmp_path / "cohort")

    def deny(self, p):
        raise PermissionError(13, "Permission denied", str(p))
    monkeypatch.setattr(validate_mod.ValidationReport, "write", deny)
    rc = main([str(path), "--report", str(tmp_path / "ro" / "report.csv")])
    err = capsys.readouterr().err
    assert rc == validate_mod.EXIT_CANNOT_WRITE
    assert "cannot write to" in err and "invalid" not in err and "Traceback" not in err


def test_internal_error_in_validation_is_one_line_with_a_log(tmp_path, monkeypatch, capsys):
    path = malformed.write_csv(malformed.valid_cohort(), tmp_path / "cohort")

    def bug(raw):
        raise ZeroDivisionError("division by zero")
    monkeypatch.setattr(validate_mod, "validate_cohort", bug)
    rc = main([str(path), "--report", str(tmp_path / "v" / "report.csv")])
    err = capsys.readouterr().err
    assert rc == validate_mod.EXIT_INTERNAL
    assert err.count("\n") == 1 and "validation step" in err and "ZeroDivisionError" in err
    assert "Traceback" not in err
    log = tmp_path / "v" / "validate.log"
    assert str(log) in err and "Traceback" in log.read_text(encoding="utf-8")
