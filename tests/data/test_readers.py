"""Reading cohorts from CSV folders, Excel workbooks, SPSS and Stata files."""
from __future__ import annotations

import hashlib

import pandas as pd
import pytest

import malformed
from analysis.data.readers import CohortReadError, coerce, read_cohort
from analysis.data.schema import columns


def _strip(raw):
    return {k: df.drop(columns="_row") for k, df in raw.tables.items()}


@pytest.fixture(scope="module")
def formats(tmp_path_factory):
    """The same valid cohort as a CSV folder, one .xlsx workbook, .sav files and .dta files."""
    tmp = tmp_path_factory.mktemp("formats")
    t = malformed.valid_cohort()
    return {fmt: read_cohort(malformed.write(t, tmp / fmt, fmt)) for fmt in ("csv", "xlsx", "sav", "dta")}


@pytest.mark.parametrize("fmt", ["xlsx", "sav", "dta"])
def test_every_format_reads_to_identical_tables(formats, fmt):
    ref, other = _strip(formats["csv"]), _strip(formats[fmt])
    for table in ref:
        pd.testing.assert_frame_equal(other[table], ref[table], obj=f"{fmt} {table}")


def test_types_follow_the_schema(formats):
    p = formats["csv"].tables["patients"]
    assert str(p["age"].dtype) == "Int64" and str(p["ecog"].dtype) == "Int64"
    assert p["baseline_sum_mm"].dtype == "float64"
    assert p["treatment_start_date"].dtype == "datetime64[ns]"
    assert p["sex"].tolist()[:2] == ["male", "female"]
    assert p["progression_date"].isna().sum() == 4
    a = formats["csv"].tables["assessments"]
    assert list(a.columns) == [c for c in columns("assessments")] + ["_row"]


def test_row_numbers_as_the_user_sees_them(formats):
    n = len(malformed.valid_cohort()["patients"])
    assert formats["csv"].tables["patients"]["_row"].tolist() == list(range(2, n + 2))  # header = line 1
    assert formats["xlsx"].tables["patients"]["_row"].tolist() == list(range(2, n + 2))  # sheet rows
    assert formats["sav"].tables["patients"]["_row"].tolist() == list(range(1, n + 1))  # case numbers


def test_sources_and_checksums(formats, tmp_path):
    raw = formats["xlsx"]
    assert raw.sources["patients"].endswith("cohort.xlsx#patients")
    path = raw.sources["patients"].split("#")[0]
    digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
    assert raw.sha256 == {"patients": digest, "assessments": digest, "adverse_events": digest}
    csv = formats["csv"]
    for table, src in csv.sources.items():
        assert src.endswith(f"{table}.csv")
        assert csv.sha256[table] == hashlib.sha256(open(src, "rb").read()).hexdigest()


def test_csv_with_bom_semicolons_and_labels(tmp_path):
    t = malformed.valid_cohort()
    folder = malformed.write_csv(t, tmp_path / "c")
    p = t["patients"].copy()
    p.loc[0, "sex"] = " Male "
    p.loc[1, "sex"] = "FEMALE"
    p.loc[2, "stage"] = "Extensive stage"
    p.loc[3, "prior_ici_class"] = "PD-1 inhibitor"
    p.columns = [c.upper() if c == "age" else c for c in p.columns]
    (folder / "patients.csv").write_bytes(b"\xef\xbb\xbf" + p.to_csv(index=False, sep=";").encode())
    raw = read_cohort(folder)
    got = raw.tables["patients"]
    assert raw.issues.empty, raw.issues
    assert got["sex"].tolist()[:2] == ["male", "female"]
    assert got.loc[2, "stage"] == "extensive" and got.loc[3, "prior_ici_class"] == "pd1"
    assert got["age"].tolist()[0] == 61


def test_csv_row_numbers_count_quoted_newlines(tmp_path):
    folder = malformed.write_csv(malformed.valid_cohort(), tmp_path / "c")
    p = folder / "adverse_events.csv"
    lines = p.read_text().split("\n")
    lines.insert(2, 'P01,"fatigue\n",1,2024-01-21,yes')  # a record spanning lines 3-4
    p.write_text("\n".join(lines))
    raw = read_cohort(folder)
    assert raw.tables["adverse_events"]["_row"].tolist()[:4] == [2, 3, 5, 6]
    assert raw.tables["adverse_events"].loc[1, "ae_term"] == "fatigue"


def test_optional_columns_absent_are_added_empty(tmp_path):
    t = malformed.valid_cohort()
    t["assessments"] = t["assessments"].drop(columns="response_override")
    t["adverse_events"] = t["adverse_events"].drop(columns="onset_date")
    raw = read_cohort(malformed.write_csv(t, tmp_path / "c"))
    assert raw.tables["assessments"]["response_override"].isna().all()
    assert raw.tables["adverse_events"]["onset_date"].isna().all()
    assert raw.columns["assessments"] == list(t["assessments"].columns)


def test_excel_text_cells_and_numeric_ids(tmp_path):
    t = malformed.valid_cohort()
    t["adverse_events"]["patient_id"] = t["adverse_events"]["patient_id"].str[1:].astype(int).astype(str)
    for k in ("patients", "assessments"):
        t[k]["patient_id"] = t[k]["patient_id"].str[1:].astype(int).astype(str)
    ref = _strip(read_cohort(malformed.write_csv(t, tmp_path / "c")))
    xl = _strip(read_cohort(malformed.write_xlsx(t, tmp_path / "text.xlsx", native=False)))  # all text cells
    for table in ref:
        pd.testing.assert_frame_equal(xl[table], ref[table])
    assert ref["patients"]["patient_id"].iloc[0] == "1"


def test_excel_formula_with_cached_value_is_used(tmp_path):
    import openpyxl

    path = malformed.write_xlsx(malformed.valid_cohort(), tmp_path / "c.xlsx")
    wb = openpyxl.load_workbook(path)
    wb["patients"]["B2"] = "=60+1"
    wb.save(path)
    raw = read_cohort(path)
    assert raw.issues["rule"].str.startswith("excel_formula").tolist() == [True]
    assert "B2" in raw.issues.loc[0, "rule"]


def test_sheet_names_case_insensitive_and_missing_sheet(tmp_path):
    t = malformed.valid_cohort()
    path = malformed.write_xlsx({k.upper(): v for k, v in t.items()}, tmp_path / "c.xlsx", native=False)
    raw = read_cohort(path)
    assert raw.sources["patients"].endswith("#PATIENTS") and len(raw.tables["patients"]) == 8
    bad = malformed.write_xlsx({"patients": t["patients"]}, tmp_path / "d.xlsx")
    with pytest.raises(CohortReadError, match="no sheet assessments, adverse_events"):
        read_cohort(bad)


def test_folder_missing_or_ambiguous_files(tmp_path):
    folder = malformed.write_csv(malformed.valid_cohort(), tmp_path / "c")
    malformed.write_xlsx({"patients": malformed.valid_cohort()["patients"]}, folder / "patients.xlsx")
    with pytest.raises(CohortReadError, match="patients is ambiguous"):
        read_cohort(folder)
    (folder / "patients.xlsx").unlink()
    (folder / "assessments.csv").rename(folder / "assessments.txt")
    with pytest.raises(CohortReadError, match="no assessments file"):
        read_cohort(folder)
    with pytest.raises(CohortReadError, match="not found"):
        read_cohort(tmp_path / "nowhere")
    assert issubclass(CohortReadError, ValueError)


def test_mixed_formats_in_one_folder(tmp_path):
    t = malformed.valid_cohort()
    folder = malformed.write_stat({"patients": t["patients"]}, tmp_path / "c", "sav")
    malformed.write_csv({"assessments": t["assessments"]}, folder)
    malformed.write_xlsx({"adverse_events": t["adverse_events"]}, folder / "adverse_events.xlsx")
    raw = read_cohort(folder)
    assert raw.issues.empty, raw.issues
    assert raw.sources["adverse_events"].endswith("adverse_events.xlsx#adverse_events")


def test_encoding_error_names_the_file(tmp_path):
    case = next(c for c in malformed.CASES if c.name == "wrong_encoding")
    raw = read_cohort(malformed.apply(case, tmp_path))
    rule = raw.issues.loc[0, "rule"]
    assert "patients.csv is not valid UTF-8" in rule and "UTF-8" in rule and "re-export" in rule
    assert raw.issues.loc[0, "file"].endswith("patients.csv")


@pytest.mark.parametrize("text, expected", [
    ("2024-01-05", pd.Timestamp("2024-01-05")),
    ("2024-01-05 00:00:00", pd.Timestamp("2024-01-05")),
    (" 2024-01-05", pd.Timestamp("2024-01-05")),
])
def test_iso_dates(text, expected):
    value, err = coerce(columns("patients")["treatment_start_date"], text)
    assert err is None and pd.Timestamp(value) == expected


@pytest.mark.parametrize("text, rule", [
    ("2024-02-30", "date"), ("03/04/2024", "date_ambiguous"), ("25/03/2024", "date_ambiguous"),
    ("yesterday", "date"), (45321, "type"),
])
def test_bad_dates(text, rule):
    value, err = coerce(columns("patients")["treatment_start_date"], text)
    assert value is None and err.split(":")[0] == rule


def test_date_format_option(tmp_path):
    col = columns("patients")["treatment_start_date"]
    assert coerce(col, "03/04/2024", "%d/%m/%Y")[0].month == 4
    assert coerce(col, "03/04/2024", "%m/%d/%Y")[0].month == 3
    with pytest.raises(ValueError):
        read_cohort(tmp_path, date_format="bogus")


@pytest.mark.parametrize("column, value, expected", [
    ("age", "61", 61), ("age", 61.0, 61), ("age", " 7 ", 7), ("baseline_sum_mm", "12.5", 12.5),
    ("sex", "Female", "female"), ("ici_agent", "PEMBROLIZUMAB", "pembrolizumab"), ("patient_id", 12.0, "12"),
    ("age", "NA", None), ("age", "", None), ("age", ".", None),
])
def test_cell_coercion(column, value, expected):
    assert coerce(columns("patients")[column], value) == (expected, None)


def test_rows_never_dropped(tmp_path):
    t = malformed.valid_cohort()
    t["patients"].loc[2, ["age", "sex", "treatment_start_date"]] = ["x", "?", "bad"]
    raw = read_cohort(malformed.write_csv(t, tmp_path / "c"))
    assert len(raw.tables["patients"]) == 8
    assert sorted(raw.issues["column"]) == ["age", "sex", "treatment_start_date"]
    assert raw.issues["row"].tolist() == [4, 4, 4]
