"""Tables as a journal prints them: n (%) in one cell, indented levels, no empty data cell (a dash with a
footnote), categories with no patient left out and named, Table 2 with n, deaths, the reference level
and what each HR compares, Table 3 without a blank grade cell, readable term labels, abbreviations
spelled out."""
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from analysis.data import cohort as cohort_mod
from analysis.paths import SYNTHETIC_DIR
from analysis.report import tables
from analysis.stats import safety
from analysis.stats.control import CoxControl, SurvControl

N_PCT = re.compile(r"^\d+ \(\d+\.\d\)$")


@pytest.fixture(scope="module")
def cohort():
    return cohort_mod.load_cohort(SYNTHETIC_DIR, cohort_mod.DeriveOptions(age_cut=61, days_per_month=30))


def _heading(cell: str) -> bool:
    return cell.startswith("**")


def _data_rows(display):
    return [r for r in display.itertuples(index=False) if not _heading(str(r[0]))]


def test_table1_puts_n_and_percent_in_one_cell_and_indents_levels(cohort):
    data, disp = tables.table1(cohort)
    assert list(disp.columns) == ["Characteristic", f"Patients (N = {cohort.n}), n (%)"]
    rows = _data_rows(disp)
    assert rows and all(str(r[0]).startswith(tables.INDENT) for r in rows)
    cells = [r[1] for r in rows if "Median" not in r[0]]
    assert all(N_PCT.match(c) for c in cells), cells
    assert all(r[1].strip() for r in rows)  # no empty data cell


def test_table1_leaves_out_categories_without_patients_and_names_them_in_the_note(cohort):
    a = cohort.analysis.copy()
    a["anlotinib_dose_mg"] = "mg10"
    one_dose = SimpleNamespace(analysis=a, variables=cohort.variables, n=len(a))
    data, disp = tables.table1(one_dose)
    assert (data.query("variable == 'anlotinib_dose_mg' and level == 'mg8'")["n"] == 0).all()  # data keep the 0
    assert not any(re.search(r"^\D*8\s*$", r[0].replace(tables.INDENT, "")) for r in _data_rows(disp))
    assert not any(c.startswith("0 (") for c in disp.iloc[:, 1])
    note = tables.table1_note(data, one_dose, disp)
    assert "No patient had" in note and "8, 12" in note


def test_table1_note_spells_out_the_abbreviations_it_uses(cohort):
    data, disp = tables.table1(cohort)
    note = tables.table1_note(data, cohort, disp, "Baseline characteristics of patients with ES-SCLC.")
    for abbr in ("ECOG", "PD-1", "PD-L1", "ES-SCLC"):
        assert f"{abbr}, " in note


def test_abbreviations_match_whole_words_only():
    d = pd.DataFrame({"a": ["PD-L1 inhibitors"], "b": ["no abbreviation here: SDX, HRs"]})
    note = tables.abbreviations(d)
    assert "PD-L1, programmed death-ligand 1" in note
    assert "PD, " not in note and "SD, " not in note and "HR, " not in note


@pytest.fixture(scope="module")
def table2_parts(cohort):
    a = cohort.analysis
    variables = [v for v in cohort.variables() if v.name != "stage"]
    sub = tables.subgroup_survival(a, variables, "os_months", "os_event", SurvControl())
    model = tables.fit_cox_model(a, "os_months", "os_event", tables.PAPER_COX_COVARIATES, CoxControl())
    disp = tables.table2(sub, model.summary, dropped=model.dropped, terms=model.terms,
                         covariates=tables.PAPER_COX_COVARIATES)
    return sub, model, disp


def test_table2_gives_n_deaths_and_the_reference_level(table2_parts, cohort):
    sub, model, disp = table2_parts
    assert {"Patients, n", "Deaths, n", "HR (95% CI)", "P (Cox)", "P (log-rank)"} <= set(disp.columns)
    rows = {r["Characteristic"].replace(tables.INDENT, ""): r for _, r in disp.iterrows()}
    assert rows["≥2"]["HR (95% CI)"] == "1 (reference)"  # ECOG's reference level
    assert re.match(r"\d\.\d\d \(\d\.\d\d–\d\.\d\d\)", rows["0–1"]["HR (95% CI)"])
    ecog = sub[sub["variable"] == "ecog_group"]
    assert rows["0–1"]["Patients, n"] == str(int(ecog.iloc[0]["n"]))
    assert rows["0–1"]["Deaths, n"] == str(int(ecog.iloc[0]["events"]))


def test_table2_says_what_a_numeric_hr_is_per(table2_parts):
    _, _, disp = table2_parts
    dose = disp[disp["Characteristic"].str.contains("Anlotinib")].iloc[0]
    assert "per 1 mg" in dose["Characteristic"] and dose["HR (95% CI)"] not in ("", "–")


def test_table2_has_no_empty_data_cell(table2_parts):
    _, _, disp = table2_parts
    per_level = ["Patients, n", "Deaths, n", "Median OS, months (95% CI)", "HR (95% CI)", "P (Cox)"]
    for r in _data_rows(disp[["Characteristic"] + per_level]):
        assert all(str(c).strip() for c in r), r
    for _, r in disp[disp["Characteristic"].str.startswith("**")].iterrows():
        assert r["P (log-rank)"].strip()
    note = tables.table2_note(disp)
    assert "–:" in note and "HR, hazard ratio" in note


def test_table3_has_no_blank_grade_cell(cohort):
    from analysis.data.schema import columns

    labels = columns("adverse_events")["ae_term"].labels
    s = safety.ae_summary(cohort.treatment_related_aes(), cohort.n, id_col="subject")
    disp = tables.table3(s, labels, cohort.n)
    assert all(N_PCT.match(str(c)) for c in disp.iloc[:, 1:].to_numpy().ravel())
    first = disp.iloc[0]
    any_row = s[s["term"] == "any"].iloc[0]
    assert first["Grade 1–2, n (%)"].startswith(f"{int(any_row['grade12_n'])} (")


def test_ph_table_labels_terms_as_a_reader_knows_them():
    ph = pd.DataFrame({"term": ["ecog_group", "anlotinib_dose_mg", "GLOBAL"], "chisq": [1.7, 0.8, 3.8],
                       "df": [1.0, 1.0, 2.0], "p": [0.19, 0.37, 0.15]})
    disp = tables.ph_table(ph, {"ecog_group": "ECOG performance status", "anlotinib_dose_mg": "Anlotinib dosage (mg)"},
                           {"ecog_group": "0–1 vs ≥2", "anlotinib_dose_mg": "per 1 mg"})
    names = disp.iloc[:, 0].tolist()
    assert names == ["ECOG performance status (0–1 vs ≥2)", "Anlotinib dosage (mg) (per 1 mg)",
                     "All terms together (global test)"]
    assert not any("_" in n for n in names)
    assert disp["df"].tolist() == ["1", "1", "2"]  # counts as integers


def test_response_table_cells_are_never_empty():
    from analysis.stats import response
    from analysis.stats.control import ResponseControl

    best = pd.Series(["PR"] * 5 + ["SD"] * 3 + ["PD"] * 2)
    rr = response.orr_dcr(best, ResponseControl())
    _, disp = tables.response_table(rr)
    assert all(str(c).strip() for c in disp.to_numpy().ravel())
    assert "Not evaluable" not in " ".join(disp.iloc[:, 0])  # no NE patient: no NE row
    assert np.isfinite(rr["orr"].lower)
