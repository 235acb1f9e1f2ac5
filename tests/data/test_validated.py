"""The validated tables the validation step saves once for every notebook (load_cohort(validated=...))."""
import pandas as pd
import pytest

from analysis.data import cohort as cohort_mod
from analysis.data.validate import MAX_SHOWN, main
from analysis.data.validated import load_validated
from tests.data import malformed


@pytest.fixture
def saved(tmp_path):
    data = malformed.write_csv(malformed.valid_cohort(), tmp_path / "cohort")
    pkl = tmp_path / "out" / "validation" / "validated.pkl"
    assert main([str(data), "--report", str(tmp_path / "report.csv"), "--save", str(pkl)]) == 0
    return data, pkl


def _same(a, b):
    for name in ("patients", "assessments", "adverse_events", "analysis"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert a.sha256 == b.sha256 and a.identifiers() == b.identifiers()
    pd.testing.assert_frame_equal(a.warnings.drop(columns="file"), b.warnings.drop(columns="file"))


def test_saved_tables_give_the_same_cohort_as_reading_the_files(saved):
    data, pkl = saved
    assert pkl.exists() and pkl.with_suffix(".yaml").exists()
    opts = cohort_mod.DeriveOptions(days_per_month=30)
    _same(cohort_mod.load_cohort(data, opts, validated=pkl), cohort_mod.load_cohort(data, opts))
    assert load_validated(pkl, data) is not None


def test_saved_tables_are_not_used_when_the_data_changed(saved):
    data, pkl = saved
    p = data / "patients.csv"
    p.write_text(p.read_text().replace(",male,", ",female,", 1))
    assert load_validated(pkl, data) is None
    fresh = cohort_mod.load_cohort(data, validated=pkl)  # read and validated again: the new data
    assert (fresh.patients["sex"] == "female").sum() == (pd.read_csv(p)["sex"] == "female").sum()


def test_saved_tables_are_not_used_for_another_folder_or_when_damaged(saved, tmp_path):
    data, pkl = saved
    other = malformed.write_csv(malformed.valid_cohort(), tmp_path / "other")
    assert load_validated(pkl, other) is None
    pkl.write_bytes(pkl.read_bytes()[:-10])
    assert load_validated(pkl, data) is None
    assert load_validated(tmp_path / "missing.pkl", data) is None


def test_invalid_cohort_saves_nothing(tmp_path):
    t = malformed.valid_cohort()
    t["patients"].loc[0, "sex"] = "mael"
    data = malformed.write_csv(t, tmp_path / "c")
    pkl = tmp_path / "validated.pkl"
    assert main([str(data), "--save", str(pkl)]) == 1
    assert not pkl.exists()


def test_terminal_shows_at_most_max_shown_rows(tmp_path, capsys):
    t = malformed.valid_cohort()
    t["patients"].loc[0, "sex"] = "mael"
    ae = t["adverse_events"]
    t["adverse_events"] = ae.iloc[[0] * (MAX_SHOWN + 15)].reset_index(drop=True)
    t["adverse_events"]["grade"] = "7"  # one range error per row
    data = malformed.write_csv(t, tmp_path / "c")
    rep = tmp_path / "report.csv"
    main([str(data), "--report", str(rep)])
    out = capsys.readouterr().out
    n = len(pd.read_csv(rep))
    assert n > MAX_SHOWN, "the cohort must raise more rows than are shown"
    assert f"... and {n - MAX_SHOWN} more rows" in out
    assert "mael" in out  # errors come first
    assert len(out.splitlines()) <= MAX_SHOWN + 6
