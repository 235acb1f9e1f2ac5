"""Endpoint derivation from dates and assessments, checked on hand-built patients."""
import numpy as np
import pandas as pd
import pytest

from analysis.data.cohort import DeriveOptions, derive
from analysis.paths import DAYS_PER_MONTH
from analysis.data.recist import best_overall_response, best_percent_change, size_rule_response


def _patients(**over):
    base = dict(patient_id=["P1", "P2", "P3"], age=[50, 62, 70], sex=["male", "female", "male"], ecog=[1, 2, 0],
                stage="extensive", smoking="former", prior_lines=[1, 2, 3], platinum_response="resistant",
                interim_systemic_therapy="no", brain_metastasis="no", prior_ici_class="pdl1",
                prior_ici_failure=["progression", "intolerance", "progression"], radiotherapy="no",
                anlotinib_dose_mg=[8, 10, 12], ici_agent="tislelizumab", baseline_sum_mm=[100.0, 50.0, 80.0],
                treatment_start_date=pd.to_datetime(["2024-01-01"] * 3),
                progression_date=pd.to_datetime(["2024-04-01", None, None]),
                death_date=pd.to_datetime(["2024-07-01", None, None]),
                last_contact_date=pd.to_datetime(["2024-07-01", "2025-01-20", "2024-03-01"]),
                data_cutoff_date=pd.Timestamp("2025-01-20"), on_treatment_at_cutoff=["no", "yes", "no"])
    base.update(over)
    return pd.DataFrame(base)


def _assessments():
    return pd.DataFrame({
        "patient_id": ["P1", "P1", "P1", "P2", "P2"],
        "assessment_date": pd.to_datetime(["2024-02-12", "2024-03-01", "2024-04-01", "2024-02-12", "2024-03-25"]),
        "sum_diameters_mm": [65.0, 60.0, 80.0, 47.0, 45.0],
        "new_lesions": ["no", "no", "no", "no", "no"],
        "overall_response": ["PR", "PR", "PD", "SD", "SD"],
    })


def test_os_pfs_dor_from_dates():
    d = derive(_patients(), _assessments())
    m = lambda days: days / DAYS_PER_MONTH  # noqa: E731
    assert d.loc[1, "os_months"] == pytest.approx(m(182)) and d.loc[1, "os_event"] == 1
    assert d.loc[1, "pfs_months"] == pytest.approx(m(91)) and d.loc[1, "pfs_event"] == 1
    # DoR from the first PR (2024-02-12) to progression (2024-04-01)
    assert d.loc[1, "dor_months"] == pytest.approx(m(49)) and d.loc[1, "dor_event"] == 1
    # alive without progression: censored at last contact for both
    assert d.loc[2, "os_event"] == 0 and d.loc[2, "pfs_event"] == 0
    assert d.loc[2, "pfs_months"] == pytest.approx(m(385))
    assert np.isnan(d.loc[2, "dor_months"])


def test_pfs_censored_at_last_assessment_option():
    d = derive(_patients(), _assessments(), DeriveOptions(pfs_censor="last_assessment"))
    assert d.loc[2, "pfs_months"] == pytest.approx(84 / DAYS_PER_MONTH)
    # no assessment at all: censored at day 0
    assert d.loc[3, "pfs_months"] == 0.0


def test_best_response_and_change():
    d = derive(_patients(), _assessments())
    assert d["best_response"].tolist() == ["PR", "SD", "NE"]
    assert d.loc[1, "best_pct_change"] == pytest.approx(-40.0)
    assert d.loc[2, "best_pct_change"] == pytest.approx(-10.0)
    assert np.isnan(d.loc[3, "best_pct_change"])
    assert d["evaluable"].tolist() == [True, True, False]


def test_death_without_progression_is_a_pfs_event():
    p = _patients(progression_date=pd.to_datetime([None, None, None]))
    d = derive(p, _assessments())
    assert d.loc[1, "pfs_event"] == 1 and d.loc[1, "pfs_months"] == d.loc[1, "os_months"]


def test_groupings_and_age_cut():
    d = derive(_patients(), _assessments(), DeriveOptions(age_cut=61))
    assert d["age_group"].tolist() == ["le_cut", "gt_cut", "gt_cut"]
    assert d["ecog_group"].tolist() == ["ecog_0_1", "ecog_2", "ecog_0_1"]
    assert d["anlotinib_dose_mg"].tolist() == ["mg8", "mg10", "mg12"]
    assert d["prior_lines_group"].tolist() == ["first_line", "second_or_more", "second_or_more"]


def test_derived_frame_has_no_identifier_or_date():
    d = derive(_patients(), _assessments())
    assert "patient_id" not in d.columns
    assert not any(pd.api.types.is_datetime64_any_dtype(d[c]) for c in d.columns)


def test_bad_options_are_rejected():
    with pytest.raises(ValueError, match="pfs_censor"):
        DeriveOptions(pfs_censor="whenever")


def test_sd_before_min_days_is_not_evaluable():
    a = _assessments()
    starts = pd.Series(pd.to_datetime(["2024-01-01"] * 3), index=["P1", "P2", "P3"])
    best = best_overall_response(a[a["patient_id"] == "P2"].iloc[:1], ["P2"], sd_min_days=60, start_dates=starts)
    assert best.tolist() == ["NE"]


def test_size_rules_recist():
    assert size_rule_response(100, np.array([69.0, 60.0, 75.0]), np.array([False, False, False])) == ["PR", "PR", "PD"]
    assert size_rule_response(100, np.array([90.0]), np.array([True])) == ["PD"]
    assert size_rule_response(20, np.array([23.0]), np.array([False])) == ["SD"]  # +15 %, < 20 %
    assert size_rule_response(20, np.array([24.5]), np.array([False])) == ["SD"]  # +22.5 % but < 5 mm


def test_best_percent_change_ignores_zero_baseline():
    a = pd.DataFrame({"patient_id": ["A"], "sum_diameters_mm": [10.0]})
    out = best_percent_change(a, pd.Series([0.0], index=["A"]))
    assert np.isnan(out["A"])


# --- the deepest response (the paper's case report) and the study cutoff --------------------------------

def _case_cohort(days_per_month: float = 30.0):
    """Four patients; P1 and P2 tie at -60 % (P2 is the first subject), P2 reaches its nadir twice.

    Input order (subjects): P3 (+12.5 %), P2 (-60 %, nadir 40 mm on 2024-03-02 and 2024-04-01),
    P1 (-60 %, 20 mm), P4 (no measured assessment).
    """
    from analysis.data.cohort import Cohort

    p = pd.DataFrame(dict(
        patient_id=["P3", "P2", "P1", "P4"], age=[70, 44, 58, 66], sex=["male", "female", "male", "female"],
        ecog=[0, 1, 1, 2], stage="extensive", smoking="former", prior_lines=[1, 1, 2, 2],
        platinum_response="resistant", interim_systemic_therapy="no", brain_metastasis="no",
        prior_ici_class="pdl1", prior_ici_failure=["progression", "intolerance", "progression", "progression"],
        radiotherapy="no", anlotinib_dose_mg=[8, 10, 12, 10],
        ici_agent=["serplulimab", "tislelizumab", "serplulimab", "tislelizumab"],
        baseline_sum_mm=[80.0, 100.0, 50.0, 60.0],
        treatment_start_date=pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-01"]),
        progression_date=pd.NaT, death_date=pd.NaT,
        last_contact_date=pd.to_datetime(["2025-01-20"] * 4), data_cutoff_date=pd.Timestamp("2025-01-20"),
        on_treatment_at_cutoff="no"))
    a = pd.DataFrame({
        "patient_id": ["P3", "P2", "P2", "P2", "P2", "P1"],
        "assessment_date": pd.to_datetime(["2024-02-15", "2024-02-01", "2024-04-01", "2024-03-02", "2024-05-01",
                                           "2024-02-15"]),
        "sum_diameters_mm": [90.0, 70.0, 40.0, 40.0, 55.0, 20.0],
        "new_lesions": "no",
        "overall_response": ["SD", "SD", "PR", "PR", "PR", "PR"],
    })
    opts = DeriveOptions(days_per_month=days_per_month)
    ae = pd.DataFrame(columns=["patient_id", "ae_term", "grade", "treatment_related"])
    return Cohort(p, a, ae, derive(p, a, opts), opts)


def test_deepest_response_tie_goes_to_first_subject_and_first_nadir_date_counts():
    from analysis.report.tables import deepest_response

    co = _case_cohort()
    assert co.analysis["best_pct_change"].tolist()[:3] == pytest.approx([12.5, -60.0, -60.0])
    case = deepest_response(co)
    assert case["age"] == (44, "44")
    assert case["sex"] == ("female", "woman")
    assert case["prior_ici_failure"] == ("intolerance", "whose previous ICI had been stopped for intolerance")
    assert case["ici_agent"] == ("tislelizumab", "tislelizumab")
    assert case["best_response"] == ("PR", "partial response")
    assert case["shrinkage_pct"][0] == pytest.approx(60.0) and case["shrinkage_pct"][1] == "60.0"
    # nadir 40 mm first on 2024-03-02 (not 2024-04-01): 60 days from 2024-01-02, months of 30 days
    assert case["treatment_duration"][0] == pytest.approx(2.0) and case["treatment_duration"][1] == "2.0"
    # the month length is the cohort's option
    assert deepest_response(_case_cohort(DAYS_PER_MONTH))["treatment_duration"][0] == pytest.approx(60 / DAYS_PER_MONTH)


def test_deepest_response_picks_the_most_negative_change_and_writes_no_identifier_or_date():
    from analysis.report.tables import deepest_response

    co = _case_cohort()
    a = co.assessments.copy()
    a.loc[a["patient_id"] == "P1", "sum_diameters_mm"] = 10.0  # P1 now -80 %
    co.assessments = a
    co.analysis = derive(co.patients, a, co.options)
    case = deepest_response(co)
    assert case["age"][0] == 58 and case["sex"] == ("male", "man")
    assert case["prior_ici_failure"] == ("progression", "whose disease had progressed on the previous ICI")
    assert case["ici_agent"][1] == "serplulimab"
    assert case["shrinkage_pct"][0] == pytest.approx(80.0)
    assert case["treatment_duration"][0] == pytest.approx(45 / 30)  # 2024-01-01 to 2024-02-15
    for value, text in case.values():
        assert not isinstance(value, (pd.Timestamp, np.datetime64))
        assert not any(tok in f"{value} {text}" for tok in ("P1", "P2", "P3", "P4", "2024", "2025"))


def test_deepest_response_without_measured_assessment_is_not_computed():
    from analysis.report.tables import deepest_response

    co = _case_cohort()
    co.analysis = co.analysis.assign(best_pct_change=np.nan)
    case = deepest_response(co)
    assert set(case) == {"age", "sex", "prior_ici_failure", "ici_agent", "best_response", "shrinkage_pct",
                         "treatment_duration"}
    assert all(value is None for value, _ in case.values())


def test_study_cutoff_is_the_iso_date_the_scorecard_compares():
    from analysis.synthetic.scorecard import classify
    from analysis.report.tables import study_numbers

    value, text = study_numbers(_case_cohort())["cutoff"]
    assert (value, text) == ("2025-01-20", "20 January 2025")
    assert classify("2025-01-20", value, 0, "date", "date")[0] == "exact"
    assert "2025-01-20" not in _case_cohort().identifiers()  # the study cutoff may be printed


def test_shipped_synthetic_checksums_match_the_committed_files():
    """SHIPPED_SYNTHETIC_SHA256 is the one record of what the shipped cohort is (update it after make calibrate)."""
    import hashlib

    from analysis.data.cohort import SHIPPED_SYNTHETIC_SHA256
    from analysis.paths import SYNTHETIC_DIR

    for table, sha in SHIPPED_SYNTHETIC_SHA256.items():
        assert hashlib.sha256((SYNTHETIC_DIR / f"{table}.csv").read_bytes()).hexdigest() == sha, table


def test_synthetic_true_on_a_copy_with_one_changed_row_is_not_called_synthetic(tmp_path):
    """cohort.yaml's `synthetic: true` is a flag a user can copy: the data statement follows the checksums."""
    import sys

    from analysis.data import escape
    from analysis.data.cohort import is_shipped_synthetic, load_cohort, read_metadata
    from analysis.paths import PROJ_ROOT, SYNTHETIC_DIR
    from analysis.report.framing import data_statement as framing_statement

    def data_statement(meta, n, sha256):  # as notebook 01 builds it
        synthetic = is_shipped_synthetic(sha256)
        return framing_statement(synthetic, escape.markdown(meta["name"]), n,
                                 escape.markdown(meta.get("description") or "", multiline=True), 0,
                                 flag_ignored=bool(meta.get("synthetic")) and not synthetic)

    sys.path.insert(0, str(PROJ_ROOT / "tests"))
    import unusual_cohorts as uc

    folder = uc.write(uc.changed_row_copy(uc.shipped()), tmp_path / "copy", {"name": "ours", "synthetic": True})
    c = load_cohort(folder)
    assert not is_shipped_synthetic(c.sha256)
    st = data_statement(read_metadata(folder), c.n, c.sha256)
    assert "no real patient" not in st["short"] + st["callout"] and "Synthetic data" not in st["callout"]
    assert "not the shipped synthetic cohort" in st["callout"]
    shipped = load_cohort(SYNTHETIC_DIR)
    assert "no real patient" in data_statement(read_metadata(SYNTHETIC_DIR), shipped.n, shipped.sha256)["short"]
