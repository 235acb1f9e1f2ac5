"""Validation of cohorts: the malformed-cohort battery and the report API.

Every case of :data:`malformed.CASES` mutates the same small valid cohort
(:func:`malformed.valid_cohort`) and checks that the validator names the
expected rule id, table, column and row (as the user sees it in the file).
"""
from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

import malformed
from analysis.data.readers import read_cohort
from analysis.data.schema import RULE_BY_ID
from analysis.data.validate import CohortValidationError, ValidationReport, main, validate_cohort, table_text


def _ids(df: pd.DataFrame) -> list[str]:
    return [r.split(":", 1)[0] for r in df["rule"]]


def _validate(path, **opts) -> ValidationReport:
    return validate_cohort(read_cohort(path, **opts))


@pytest.fixture()
def valid_path(tmp_path):
    return malformed.write_csv(malformed.valid_cohort(), tmp_path / "cohort")


def test_valid_cohort_has_no_errors_and_no_warnings(valid_path):
    report = _validate(valid_path)
    assert report.ok, report.errors.to_string()
    assert report.warnings.empty, report.warnings.to_string()
    assert report.summary() == "cohort OK: 8 patients, 16 assessments, 8 adverse events (0 warnings)"


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "sav", "dta"])
def test_valid_cohort_passes_in_every_format(tmp_path, fmt):
    report = _validate(malformed.write(malformed.valid_cohort(), tmp_path, fmt))
    assert report.ok, report.errors.to_string()
    assert report.warnings.empty, report.warnings.to_string()


@pytest.mark.parametrize("case", malformed.CASES, ids=[c.name for c in malformed.CASES])
def test_malformed_cohort(tmp_path, case):
    path = malformed.apply(case, tmp_path)
    report = _validate(path, **case.read_options)
    assert not report.ok
    with pytest.raises(CohortValidationError):
        report.raise_for_errors()
    errors = report.errors
    got = set(_ids(errors))
    for rule, table, column, row in case.expect:
        hit = errors[(errors["rule"].str.startswith(rule + ":")) & (errors["table"] == table)]
        if column is not None:
            hit = hit[hit["column"] == column]
        if row is not None:
            hit = hit[hit["row"] == row]
        assert len(hit), f"no {rule} on {table}.{column} row {row}:\n{errors.to_string()}"
        assert all(r.split(":", 1)[1].strip() for r in hit["rule"]), "rule text must explain the problem"
    allowed = {e[0] for e in case.expect} | case.also
    assert got <= allowed, f"unexpected rules {got - allowed}:\n{errors.to_string()}"
    assert got <= set(RULE_BY_ID), "every rule id is documented in schema.RULES"


def test_battery_is_large_enough():
    assert len(malformed.CASES) >= 30


def test_all_violations_collected_in_one_pass(tmp_path):
    t = malformed.valid_cohort()
    t["patients"].loc[0, "sex"] = "mael"
    t["patients"].loc[1, "age"] = "12"
    t["assessments"].loc[0, "assessment_date"] = "2023-12-31"
    t["adverse_events"].loc[0, "grade"] = "9"
    report = _validate(malformed.write_csv(t, tmp_path / "c"))
    assert set(_ids(report.errors)) == {"category", "range", "assessment_before_start"}
    assert len(report.errors) == 4
    assert list(report.errors["table"]) == ["patients", "patients", "assessments", "adverse_events"]


def test_error_table_shows_file_and_value(valid_path):
    p = valid_path / "patients.csv"
    df = pd.read_csv(p, dtype=str, keep_default_na=False)
    df.loc[1, "sex"] = "mael"
    df.to_csv(p, index=False)
    e = _validate(valid_path).errors
    assert list(e.columns) == ["file", "table", "row", "column", "value", "rule"]
    assert e.loc[0, "file"] == str(p)
    assert e.loc[0, "value"] == "mael"
    assert e.loc[0, "rule"] == "category: 'mael' is not one of male, female"


def test_raise_message_is_the_printed_table(tmp_path):
    t = malformed.valid_cohort()
    t["patients"].loc[0, "ecog"] = "5"
    report = _validate(malformed.write_csv(t, tmp_path / "c"))
    with pytest.raises(CohortValidationError) as exc:
        report.raise_for_errors()
    assert isinstance(exc.value, ValueError)
    assert str(exc.value) == table_text(report.errors)


def test_write_csv_report_has_severity(tmp_path):
    t = malformed.valid_cohort()
    t["patients"].loc[0, "ecog"] = "5"
    t["patients"]["comment"] = "x"
    report = _validate(malformed.write_csv(t, tmp_path / "c"))
    out = pd.read_csv(report.write(tmp_path / "rep" / "validation.csv"))
    assert list(out.columns) == ["severity", "file", "table", "row", "column", "value", "rule"]
    assert list(out["severity"]) == ["error", "warning"]
    assert out.loc[1, "rule"].startswith("column_unknown:")


def test_override_silences_recist_rules(tmp_path):
    t = malformed.valid_cohort()
    a = t["assessments"]
    a.loc[1, "sum_diameters_mm"] = "75.0"  # PR without the 30 % decrease ...
    a.loc[1, "response_override"] = "yes"  # ... documented as a deliberate exception
    assert _validate(malformed.write_csv(t, tmp_path / "c")).ok


def test_pd_at_exactly_20_percent_and_5mm_is_consistent(tmp_path):
    t = malformed.valid_cohort()
    t["assessments"].loc[4, "sum_diameters_mm"] = "60.0"  # nadir 50 (baseline), +10 mm = +20 %
    assert _validate(malformed.write_csv(t, tmp_path / "c")).ok


def test_slash_dates_accepted_with_date_format(tmp_path):
    t = malformed.valid_cohort()
    malformed._slash_dates(t)
    path = malformed.write_csv(t, tmp_path / "c")
    assert not _validate(path).ok
    raw = read_cohort(path, date_format="DD/MM/YYYY")
    assert validate_cohort(raw).ok
    assert raw.tables["patients"]["treatment_start_date"].iloc[0] == pd.Timestamp("2024-01-10")


# --------------------------------------------------------------------------- warnings

def _warning_ids(t, tmp_path):
    report = _validate(malformed.write_csv(t, tmp_path / "c"))
    assert report.ok, report.errors.to_string()
    return _ids(report.warnings), report.warnings


def test_warning_patient_without_assessments(tmp_path):
    t = malformed.valid_cohort()
    t["assessments"] = t["assessments"][t["assessments"]["patient_id"] != "P08"]
    ids, w = _warning_ids(t, tmp_path)
    assert ids == ["no_assessments"] and w.loc[0, "row"] == 9 and w.loc[0, "value"] == "P08"


def test_warning_empty_adverse_event_table(tmp_path):
    t = malformed.valid_cohort()
    t["adverse_events"] = t["adverse_events"].iloc[:0]
    ids, _ = _warning_ids(t, tmp_path)
    assert ids == ["no_adverse_events"]


def test_warning_unknown_column(tmp_path):
    t = malformed.valid_cohort()
    t["patients"]["hospital_ward"] = "A"
    ids, w = _warning_ids(t, tmp_path)
    assert ids == ["column_unknown"] and w.loc[0, "column"] == "hospital_ward"


def test_warning_last_contact_before_death(tmp_path):
    t = malformed.valid_cohort()
    t["patients"].loc[4, "last_contact_date"] = "2024-09-01"  # P05 died 2024-10-01
    ids, w = _warning_ids(t, tmp_path)
    assert ids == ["last_contact_before_death"] and w.loc[0, "column"] == "last_contact_date"


def test_warning_on_treatment_after_progression(tmp_path):
    t = malformed.valid_cohort()
    t["patients"].loc[2, "on_treatment_at_cutoff"] = "yes"
    ids, w = _warning_ids(t, tmp_path)
    assert ids == ["on_treatment_inconsistent"] and w.loc[0, "row"] == 4


def test_warning_pd_without_progression(tmp_path):
    """A PD assessment with no progression on or before it: PFS would miss the progression."""
    t = malformed.valid_cohort()
    t["patients"].loc[2, "progression_date"] = ""  # P03: PD (new lesions) on 2024-06-01
    t["patients"].loc[1, "progression_date"] = "2024-06-01"  # P02: PD on 2024-05-01, progression later
    ids, w = _warning_ids(t, tmp_path)
    assert ids == ["pd_without_progression"] * 2
    assert sorted(w["row"]) == [6, 8] and set(w["column"]) == {"overall_response"}
    assert "P03: PD on 2024-06-01 but progression_date is missing" in " ".join(w["rule"])
    assert "P02: PD on 2024-05-01 but progression_date is 2024-06-01, after it" in " ".join(w["rule"])


def test_pd_kept_as_no_progression_by_override(tmp_path):
    t = malformed.valid_cohort()
    t["patients"].loc[2, "progression_date"] = ""
    a = t["assessments"]
    a.loc[(a["patient_id"] == "P03") & (a["overall_response"] == "PD"), "response_override"] = "yes"
    ids, _ = _warning_ids(t, tmp_path)
    assert ids == []


def test_warning_blank_line_inside_csv(valid_path):
    p = valid_path / "adverse_events.csv"
    lines = p.read_text().split("\n")
    p.write_text("\n".join(lines[:3] + [""] + lines[3:]))
    report = _validate(valid_path)
    assert report.ok
    assert _ids(report.warnings) == ["blank_row"] and report.warnings.loc[0, "row"] == 4
    ae = read_cohort(valid_path).tables["adverse_events"]
    assert list(ae["_row"])[:4] == [2, 3, 5, 6]


# --------------------------------------------------------------------------- command line

def test_cli_ok(valid_path, capsys):
    assert main([str(valid_path)]) == 0
    assert "cohort OK: 8 patients, 16 assessments, 8 adverse events (0 warnings)" in capsys.readouterr().out


def test_cli_errors_exit_1_and_write_report(tmp_path, capsys):
    t = malformed.valid_cohort()
    t["patients"].loc[0, "sex"] = "mael"
    path = malformed.write_csv(t, tmp_path / "c")
    rep = tmp_path / "out.csv"
    assert main([str(path), "--report", str(rep)]) == 1
    out = capsys.readouterr().out
    assert "category: 'mael' is not one of male, female" in out
    assert pd.read_csv(rep)["severity"].tolist() == ["error"]


def test_cli_as_module(valid_path):
    r = subprocess.run([sys.executable, "-m", "analysis.data.validate", str(valid_path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("cohort OK")


def test_cli_unreadable_path_exits_1(tmp_path, capsys):
    assert main([str(tmp_path / "nope")]) == 1
    assert "cohort path not found" in capsys.readouterr().err
