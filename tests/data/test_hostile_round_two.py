"""Hostile and messy exports, round two (issue #30): no leak, no wrong sheet, no bomb, messages that
name the cause, open categories.

Each test is named after one export and starts from the small valid cohort of :mod:`malformed`.
"""
from __future__ import annotations

import os
import subprocess
import time
import tracemalloc
import zipfile

import pytest

import malformed
from analysis.data import escape
from analysis.data import metadata as md
from analysis.data import readers
from analysis.data.cohort import Cohort, DeriveOptions, derive, read_metadata
from analysis.data.readers import CohortReadError, read_cohort
from analysis.data.validate import main, validate_cohort
from analysis.paths import PROJ_ROOT


def _report(path, **opts):
    return validate_cohort(read_cohort(path, **opts))


def _rows(df, rule):
    return df[df["rule"].str.startswith(rule + ":")]


def _one_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


def _csv(tmp_path, t=None, yaml_text=None):
    path = malformed.write_csv(t or malformed.valid_cohort(), tmp_path / "cohort")
    if yaml_text is not None:
        (path / "cohort.yaml").write_text(yaml_text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- cohort.yaml

def test_cohort_yaml_that_is_a_string_is_refused_naming_cohort_yaml(tmp_path, capsys):
    path = _csv(tmp_path, yaml_text="just the ward's name\n")
    assert main([str(path)]) == 1
    line = _one_line(capsys.readouterr().err)
    assert "cohort.yaml" in line and "yaml_not_mapping" in line and "name: ..." in line
    with pytest.raises(md.MetadataError, match="yaml_not_mapping"):
        read_metadata(path)  # notebook 01 gets the same named error, not AttributeError


def test_cohort_yaml_alias_bomb_is_refused_in_seconds_with_bounded_memory(tmp_path, capsys):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, (prev, cur) in enumerate(zip("abcdefgh", "bcdefghi")):
        lines.append(f"{cur}: &{cur} [{', '.join(['*' + prev] * 9)}]")
    lines.append("description: *i")
    path = _csv(tmp_path, yaml_text="\n".join(lines) + "\n")
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(md.MetadataError, match="yaml_alias_bomb"):
        md.read_metadata_file(path)
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert elapsed < 2 and peak < 50 * 2**20
    assert main([str(path)]) == 1
    assert "yaml_alias_bomb" in _one_line(capsys.readouterr().err)


def test_six_megabyte_cohort_yaml_is_refused_without_reading_it_whole(tmp_path, capsys):
    path = _csv(tmp_path, yaml_text="description: >\n" + ("  lorem ipsum dolor sit amet\n" * 220_000))
    assert (path / "cohort.yaml").stat().st_size > 6_000_000
    t0 = time.perf_counter()
    assert main([str(path)]) == 1
    assert time.perf_counter() - t0 < 5
    line = _one_line(capsys.readouterr().err)
    assert "yaml_too_large" in line and "65,536" in line


def test_overlong_description_is_refused_naming_the_field():
    with pytest.raises(md.MetadataError, match="text_too_long: description has 5,001 characters"):
        md.parse_metadata("description: " + "x" * 5001)


def test_description_naming_patients_and_a_death_date_stops_validation_naming_the_field_not_the_id(
        tmp_path, capsys):
    path = _csv(tmp_path, yaml_text="name: ward 7\ndescription: 'Excluded after review: P03 and P05 (consent "
                                    "withdrawn). P07 died 2024-12-01.'\n")
    assert main([str(path), "--report", str(tmp_path / "v.csv")]) == 1
    line = _one_line(capsys.readouterr().err)
    assert "text_identifier" in line and "description" in line
    for secret in ("P03", "P05", "P07", "2024-12-01"):
        assert secret not in line


@pytest.mark.parametrize("written", ["01/12/2024", "20241201", "2024年12月1日"])
def test_a_death_date_in_another_form_is_found_too(written):
    meta = {"description": f"one patient died {written}."}
    with pytest.raises(md.MetadataError, match="text_identifier: description"):
        md.check_free_text(meta, ["2024-12-01"])


def test_description_without_identifiers_passes(tmp_path, capsys):
    path = _csv(tmp_path, yaml_text="name: ward 7\ndescription: Patients treated 2024 (P-values two-sided).\n")
    assert main([str(path)]) == 0


# --------------------------------------------------------------------------- the wrong data

def _two_sheets(tmp_path, other: str):
    t = malformed.valid_cohort()
    older = {**t, "patients": t["patients"].head(5)}
    path = malformed.write_xlsx(older, tmp_path / "cohort.xlsx")
    import openpyxl

    wb = openpyxl.load_workbook(path)
    src = wb["patients"]
    ws = wb.create_sheet(other)
    for row in malformed.write_xlsx(t, tmp_path / "new.xlsx") and openpyxl.load_workbook(
            tmp_path / "new.xlsx")["patients"].iter_rows(values_only=True):
        ws.append(row)
    assert src.max_row == 6
    wb.save(path)
    return path


@pytest.mark.parametrize("other", ["patients (2)", "patients_old", "Patients 2024"])
def test_loose_sheet_beside_the_exact_sheet_is_an_error_naming_every_candidate(tmp_path, other):
    path = _two_sheets(tmp_path, other)
    with pytest.raises(CohortReadError) as e:
        read_cohort(path)
    msg = str(e.value)
    assert "sheet_ambiguous" in msg and "'patients'" in msg and repr(other) in msg and "sheets:" in msg


def test_sheets_mapping_in_cohort_yaml_chooses_the_sheet(tmp_path):
    path = _two_sheets(tmp_path, "patients (2)")
    (tmp_path / "cohort.yaml").write_text("sheets:\n  patients: patients (2)\n", encoding="utf-8")
    raw = read_cohort(path)
    assert len(raw.tables["patients"]) == 8 and raw.sources["patients"].endswith("#patients (2)")


def test_sheets_mapping_to_a_missing_sheet_is_named(tmp_path):
    path = _two_sheets(tmp_path, "patients (2)")
    (tmp_path / "cohort.yaml").write_text("sheets:\n  patients: Patients 2025\n", encoding="utf-8")
    with pytest.raises(CohortReadError, match="sheet_mapping"):
        read_cohort(path)


def _linked(tmp_path):
    t = malformed.valid_cohort()
    older = malformed.write_csv({"patients": t["patients"].head(5)}, tmp_path / "old-export")
    path = malformed.write_csv(t, tmp_path / "cohort")
    (path / "patients.csv").unlink()
    (path / "patients.csv").symlink_to(older / "patients.csv")
    return path, older / "patients.csv"


def test_data_file_linked_to_outside_the_folder_is_refused(tmp_path):
    path, _ = _linked(tmp_path)
    with pytest.raises(CohortReadError) as e:
        read_cohort(path)
    assert "link_outside" in str(e.value) and "follow_links: true" in str(e.value)


def test_link_followed_when_cohort_yaml_says_so_and_provenance_names_the_file_read(tmp_path):
    from analysis.report import tables

    path, target = _linked(tmp_path)
    (path / "cohort.yaml").write_text("follow_links: true\n", encoding="utf-8")
    raw = read_cohort(path)
    assert raw.sources["patients"] == str(target.resolve())
    assert raw.sha256["patients"] == readers._sha256(target)
    cohort = Cohort(raw.tables["patients"], raw.tables["assessments"], raw.tables["adverse_events"],
                    None, DeriveOptions(), sources=raw.sources, sha256=raw.sha256)
    prov = tables.provenance_data(cohort)
    row = prov[prov["Table"] == "patients"].iloc[0]
    assert row["File"] == target.name and row["SHA-256"] == readers._sha256(target)


def test_link_inside_the_folder_is_read(tmp_path):
    path = _csv(tmp_path)
    (path / "exports").mkdir()
    (path / "patients.csv").rename(path / "exports" / "pat.csv")
    (path / "patients.csv").symlink_to(path / "exports" / "pat.csv")
    assert len(read_cohort(path).tables["patients"]) == 8


def test_dangling_link_is_named_by_the_validator(tmp_path, capsys):
    path = _csv(tmp_path)
    (path / "patients.csv").unlink()
    (path / "patients.csv").symlink_to(tmp_path / "gone.csv")
    assert main([str(path)]) == 1
    line = _one_line(capsys.readouterr().err)
    assert "link_dangling" in line and "gone.csv" in line


def test_dangling_link_reaches_the_validator_through_make(tmp_path):
    path = _csv(tmp_path)
    (path / "patients.csv").unlink()
    (path / "patients.csv").symlink_to(tmp_path / "gone.csv")
    env = {k: v for k, v in os.environ.items() if k != "MAKEFLAGS"}
    proc = subprocess.run(["make", "-s", "validate", f"DATA={path}", f"OUT={tmp_path / 'out'}"], cwd=PROJ_ROOT,
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode != 0
    assert "No rule to make target" not in proc.stderr and "link_dangling" in proc.stderr


@pytest.mark.parametrize("suffix", ["xlsx", "xls_as_xlsx"])
def test_html_page_saved_as_a_workbook_is_named(tmp_path, suffix):
    path = tmp_path / "cohort.xlsx"
    path.write_text("<html><body><table><tr><td>patient_id</td></tr></table></body></html>", encoding="utf-8")
    with pytest.raises(CohortReadError) as e:
        read_cohort(path)
    assert "not_a_workbook" in str(e.value) and "HTML page" in str(e.value) and "zip" not in str(e.value).split(";")[0][-10:]


def test_html_page_saved_as_one_tables_xlsx_is_named(tmp_path):
    path = _csv(tmp_path)
    (path / "patients.csv").unlink()
    (path / "patients.xlsx").write_text("<!DOCTYPE html><html><table></table></html>", encoding="utf-8")
    with pytest.raises(CohortReadError, match="not_a_workbook: the file is an HTML page"):
        read_cohort(path)


def test_workbook_zip_bomb_is_refused_before_it_is_opened(tmp_path, monkeypatch):
    path = tmp_path / "cohort.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            block = b" " * (1 << 20)
            for _ in range(600):  # 600 MB of blanks: a 0.6 MB file
                fh.write(block)
    import openpyxl

    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: pytest.fail("the bomb was opened"))
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(CohortReadError, match="xlsx_too_large: the workbook expands to 600 MB"):
        read_cohort(path)
    assert time.perf_counter() - t0 < 2 and tracemalloc.get_traced_memory()[1] < 20 * 2**20
    tracemalloc.stop()


def test_rows_and_categories_beyond_the_limits_are_named(tmp_path, monkeypatch):
    import analysis.data.validate as v

    monkeypatch.setattr(v, "MAX_ROWS", 5)
    monkeypatch.setattr(v, "MAX_CATEGORIES", 2)
    t = malformed.valid_cohort()
    t["adverse_events"]["ae_term"] = [f"term {i}" for i in range(len(t["adverse_events"]))]
    rep = _report(_csv(tmp_path, t))
    assert len(_rows(rep.errors, "rows_too_many")) >= 2
    assert "ae_term has" in _rows(rep.errors, "categories_too_many")["rule"].iloc[0]


# --------------------------------------------------------------------------- messages that name the cause

def test_excel_serial_date_in_a_csv_says_excel_serial_and_the_date(tmp_path):
    t = malformed.valid_cohort()
    t["patients"].loc[0, "treatment_start_date"] = "45301"
    rep = _report(_csv(tmp_path, t))
    r = _rows(rep.errors, "date_excel_serial").iloc[0]
    assert (r["row"], r["column"]) == (2, "treatment_start_date")
    assert "Excel serial date (2024-01-10?)" in r["rule"] and "YYYY-MM-DD" in r["rule"]


def test_merged_cells_are_reported_first_and_not_as_missing_cells(tmp_path):
    def merge(name, ws):
        if name == "patients":
            ws.merge_cells("C2:C8")  # sex of seven patients in one merged cell
    rep = _report(malformed.write_xlsx(malformed.valid_cohort(), tmp_path / "c.xlsx", ws_hook=merge))
    assert rep.rule_ids()[0] == "excel_merged"
    assert "C2:C8" in rep.errors["rule"].iloc[0] and "sheet patients" in rep.errors["rule"].iloc[0]
    assert _rows(rep.errors, "missing").empty


@pytest.mark.parametrize("cell, plain", [("ｍａｌｅ", "male"), ("Ｆｅｍａｌｅ", "Female")])
def test_full_width_letters_are_named_with_the_retyped_value(tmp_path, cell, plain):
    t = malformed.valid_cohort()
    t["patients"].loc[2, "sex"] = cell
    r = _rows(_report(_csv(tmp_path, t)).errors, "fullwidth").iloc[0]
    assert (r["row"], r["column"]) == (4, "sex") and f"retype it as {plain!r}" in r["rule"]


def test_full_width_digits_in_an_integer_are_read_as_the_number(tmp_path):
    t = malformed.valid_cohort()
    t["patients"].loc[0, "age"] = "６１"
    raw = read_cohort(_csv(tmp_path, t))
    assert validate_cohort(raw).ok and raw.tables["patients"]["age"].iloc[0] == 61  # digits are unambiguous


# --------------------------------------------------------------------------- open categories

def test_starting_dose_of_14_mg_is_accepted_with_a_warning_and_ordered_numerically(tmp_path):
    t = malformed.valid_cohort()
    t["patients"].loc[0, "anlotinib_dose_mg"] = "14"
    raw = read_cohort(_csv(tmp_path, t))
    rep = validate_cohort(raw)
    assert rep.ok
    w = _rows(rep.warnings, "dose_unusual").iloc[0]
    assert (w["row"], w["column"]) == (2, "anlotinib_dose_mg") and "8, 10, 12" in w["rule"]
    a = derive(raw.tables["patients"], raw.tables["assessments"])
    cohort = Cohort(raw.tables["patients"], raw.tables["assessments"], raw.tables["adverse_events"], a,
                    DeriveOptions())
    dose = [v for v in cohort.variables() if v.name == "anlotinib_dose_mg"][0]
    assert dose.levels == (("mg8", "8"), ("mg10", "10"), ("mg12", "12"), ("mg14", "14"))


def test_unknown_ici_agent_and_adverse_event_term_are_accepted_as_written(tmp_path):
    t = malformed.valid_cohort()
    t["patients"].loc[0, "ici_agent"] = "  替雷利珠单抗 "
    t["adverse_events"].loc[0, "ae_term"] = "肝功能异常（ALT升高）"
    raw = read_cohort(_csv(tmp_path, t))
    rep = validate_cohort(raw)
    assert rep.ok, rep.errors
    assert raw.tables["patients"]["ici_agent"].iloc[0] == "替雷利珠单抗"
    assert raw.tables["adverse_events"]["ae_term"].iloc[0] == "肝功能异常（ALT升高）"
    assert len(_rows(rep.warnings, "category_unlisted")) == 2
    assert _rows(rep.warnings, "glyph_missing").empty


def test_known_names_still_map_to_their_codes(tmp_path):
    t = malformed.valid_cohort()
    t["patients"].loc[0, "ici_agent"] = "Tislelizumab"
    t["adverse_events"].loc[0, "ae_term"] = "Nausea and vomiting"
    raw = read_cohort(_csv(tmp_path, t))
    assert raw.tables["patients"]["ici_agent"].iloc[0] == "tislelizumab"
    assert raw.tables["adverse_events"]["ae_term"].iloc[0] == "nausea_vomiting"


def test_character_no_shipped_font_has_is_warned_naming_the_column_and_the_character(tmp_path):
    t = malformed.valid_cohort()
    t["adverse_events"].loc[0, "ae_term"] = "fever 🩺"
    w = _rows(_report(_csv(tmp_path, t)).warnings, "glyph_missing").iloc[0]
    assert w["column"] == "ae_term" and "U+1FA7A STETHOSCOPE" in w["rule"]


# --------------------------------------------------------------------------- controls shown

def test_bidi_override_is_shown_in_every_format():
    name = "gnp\u202e.exe"
    for out in (escape.markdown(name), escape.html(name), escape.typst(name), escape.visible(name)):
        assert "\u202e" not in out and "u202e" in out
    assert escape.shown("👩\u200d⚕️") == "👩\u200d⚕️"  # a joiner inside an emoji sequence is kept
    assert escape.shown("a\u200db") == "a\\u200db"


@pytest.mark.parametrize("control", ["\u202e", "\u200b", "\u2066"])
def test_bidi_or_invisible_character_in_an_adverse_event_term_is_rejected_with_a_named_rule(tmp_path, control):
    t = malformed.valid_cohort()
    t["adverse_events"].loc[0, "ae_term"] = f"gnp{control}.exe"
    r = _rows(_report(_csv(tmp_path, t)).errors, "text_invisible").iloc[0]
    assert r["column"] == "ae_term" and f"U+{ord(control):04X}" in r["rule"] and control not in r["rule"]


def test_emoji_joiner_sequence_in_a_term_is_accepted(tmp_path):
    t = malformed.valid_cohort()
    t["adverse_events"].loc[0, "ae_term"] = "rash \U0001F469\u200d\u2695\ufe0f"
    assert _report(_csv(tmp_path, t)).ok


@pytest.mark.parametrize("content, what", [(b"<html><table><tr><td>x</td></tr></table></html>", "HTML page"),
                                           (b"\xd0\xcf\x11\xe0" + bytes(100), "old binary Excel file")])
def test_xls_file_is_named_for_what_it_is(tmp_path, content, what):
    path = _csv(tmp_path)
    (path / "patients.csv").unlink()
    (path / "patients.xls").write_bytes(content)
    with pytest.raises(CohortReadError, match=f"not_a_workbook: patients.xls is an {what}"):
        read_cohort(path)
    (tmp_path / "one.xls").write_bytes(content)
    with pytest.raises(CohortReadError, match="not_a_workbook"):
        read_cohort(tmp_path / "one.xls")


def test_csv_with_more_rows_than_the_limit_stops_reading_there(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "MAX_ROWS", 3)
    raw = read_cohort(_csv(tmp_path))
    assert "patients" in raw.unreadable
    assert any(r.startswith("rows_too_many: patients.csv has more than 3 rows") for r in raw.issues["rule"])
