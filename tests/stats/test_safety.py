"""Adverse-event summary: worst grade per patient and term; denominators = all treated patients."""
import pandas as pd
import pytest

from analysis.stats.safety import ae_summary

AE = pd.DataFrame({
    "patient_id": [1, 1, 1, 2, 2, 3, 4, 4],
    "ae_term": ["hypertension", "hypertension", "fatigue", "hypertension", "rash", "fatigue", "rash", "rash"],
    "grade": [1, 3, 2, 2, 1, 1, 1, 2],
})


def test_ae_summary_by_hand():
    """Patient 1: hypertension worst 3, fatigue 2; 2: hypertension 2, rash 1; 3: fatigue 1; 4: rash worst 2."""
    out = ae_summary(AE, n_patients=10)
    assert out.term.tolist() == ["any", "fatigue", "hypertension", "rash"]  # frequency, then name
    assert out.any_n.tolist() == [4, 2, 2, 2]
    assert out.grade3plus_n.tolist() == [1, 0, 1, 0]
    assert out.grade12_n.tolist() == [3, 2, 1, 2]
    assert out.any_pct.tolist() == [40.0, 20.0, 20.0, 20.0]
    assert list(out.columns) == ["term", "any_n", "any_pct", "grade12_n", "grade12_pct",
                                 "grade3plus_n", "grade3plus_pct"]


def test_ae_summary_terms_order_labels_and_absent_terms():
    out = ae_summary(AE, 10, terms=["rash", "neutropenia"], labels={"any": "Any TRAE", "rash": "Rash"})
    assert out.term.tolist() == ["Any TRAE", "Rash", "neutropenia"]
    assert out.any_n.tolist() == [4, 2, 0]


def test_ae_summary_validation():
    with pytest.raises(ValueError):
        ae_summary(AE, n_patients=3)
    with pytest.raises(ValueError):
        ae_summary(AE.assign(grade=7), n_patients=10)
    with pytest.raises(KeyError):
        ae_summary(AE.drop(columns="grade"), n_patients=10)


def test_patients_with_grade_counts_patients_not_events():
    from analysis.stats.safety import patients_with_grade

    assert patients_with_grade(AE, 5) == 0  # no grade 5 at all
    assert patients_with_grade(AE, 3) == 1
    ae = pd.DataFrame({"subject": [1, 1, 2, 3, 3, 4], "ae_term": ["sepsis", "pneumonitis", "rash", "sepsis",
                                                                  "sepsis", "rash"],
                       "grade": [5, 5, 2, 5, 5, 4]})
    assert patients_with_grade(ae, 5, id_col="subject") == 2  # 4 grade-5 rows in 2 patients
    assert patients_with_grade(ae, 4, id_col="subject") == 1
    assert patients_with_grade(ae.iloc[:0], 5, id_col="subject") == 0
    with pytest.raises(ValueError):
        patients_with_grade(ae, 6, id_col="subject")
    with pytest.raises(KeyError):
        patients_with_grade(ae, 5)  # no patient_id column
