"""The calibrated synthetic cohort: deterministic, valid, counts exact, scored from analysed numbers."""
import filecmp
import math

import numpy as np
import pandas as pd
import pytest

from analysis import calibrate, km, compare, synthetic
from analysis.cohort import derive
from analysis.paths import SYNTHETIC_DIR
from analysis.readers import read_cohort
from analysis.validate import validate_cohort

NAMES = ("patients.csv", "assessments.csv", "adverse_events.csv")


@pytest.fixture(scope="module")
def committed():
    raw = read_cohort(SYNTHETIC_DIR)
    return {k: df.drop(columns=["_row"], errors="ignore") for k, df in raw.tables.items()}


def test_short_run_is_byte_identical(tmp_path):
    for name in ("a", "b"):
        synthetic.write_cohort(calibrate.calibrate(seed=3, steps=150, chains=2, processes=1), tmp_path / name)
    for f in NAMES:
        assert filecmp.cmp(tmp_path / "a" / f, tmp_path / "b" / f, shallow=False), f


def test_chains_do_not_depend_on_the_number_of_processes(tmp_path):
    synthetic.write_cohort(calibrate.calibrate(seed=4, steps=100, chains=2, processes=1), tmp_path / "a")
    synthetic.write_cohort(calibrate.calibrate(seed=4, steps=100, chains=2, processes=2), tmp_path / "b")
    for f in NAMES:
        assert filecmp.cmp(tmp_path / "a" / f, tmp_path / "b" / f, shallow=False), f


@pytest.mark.slow
def test_committed_cohort_is_what_calibrate_writes(tmp_path):
    """`make calibrate` (python -m analysis.calibrate --out data/synthetic) regenerates the files byte for byte."""
    assert calibrate.main(["--out", str(tmp_path), "--quiet"]) == 0
    for f in NAMES:
        assert filecmp.cmp(tmp_path / f, SYNTHETIC_DIR / f, shallow=False), f


def test_committed_cohort_validates_without_errors():
    report = validate_cohort(read_cohort(SYNTHETIC_DIR))
    assert report.ok, report.summary()


def test_committed_cohort_keeps_every_count(committed):
    p = committed["patients"]
    spec = synthetic.CohortSpec()
    for col, counts in spec.counts.items():
        assert p[col].value_counts().to_dict() == counts, col
    age = p["age"]
    assert (age.median(), age.min(), age.max()) == (61, 21, 77)
    d = derive(p, committed["assessments"])
    assert d["best_response"].value_counts().to_dict() == spec.best_response
    assert (d["pfs_event"].sum(), d["os_event"].sum()) == (49, 44)
    assert (d["on_treatment_at_cutoff"] == "yes").sum() == 11
    assert round(d.loc[d["evaluable"], "best_pct_change"].mean(), 2) == -11.97
    ae = committed["adverse_events"]
    trae = ae[ae["treatment_related"] == "yes"]
    assert trae["patient_id"].nunique() == spec.ae_any
    assert trae.loc[trae["grade"] >= 3, "patient_id"].nunique() == spec.ae_grade3plus


def test_committed_cohort_counts_are_exact_on_the_scorecard(committed):
    card, _ = calibrate.score(committed)
    counts = card[card["unit"] == "count"]
    assert set(counts["status"]) <= {"exact", "not computed"}, counts[counts["status"] != "exact"]


def test_scorecard_is_computed_from_analysed_numbers(committed):
    """Moving one patient's death date changes a survival number's status."""
    card, _ = calibrate.score(committed)
    p = committed["patients"].copy()
    dead = p.index[p["death_date"].notna()]
    changed = False
    for i in dead[:10]:
        q = p.copy()
        q.loc[i, "death_date"] = q.loc[i, "death_date"] - pd.Timedelta(days=90)
        q.loc[i, "last_contact_date"] = q.loc[i, "death_date"]
        if q.loc[i, "progression_date"] > q.loc[i, "death_date"] or q.loc[i, "death_date"] <= q.loc[i, "treatment_start_date"]:
            continue
        card2, _ = calibrate.score({**committed, "patients": q})
        diff = card.merge(card2, on=["key", "where"])
        diff = diff[diff["key"].str.startswith(("survival.os", "subgroups"))]
        if (diff["status_x"] != diff["status_y"]).any():
            changed = True
            break
    assert changed


def test_fast_statistics_match_the_project_functions():
    rng = np.random.default_rng(0)
    for _ in range(20):
        t = rng.integers(20, 900, size=40) / 30.4375
        e = (rng.uniform(size=40) < 0.7).astype(float)
        fit = km.kaplan_meier(t, e)
        m = km.median(fit)
        est, lo, hi = calibrate._median_spss(t, e)
        for a, b in ((est, m.estimate), (lo, m.lower), (hi, m.upper)):
            assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, abs=1e-9)
        r = km.survival_at(fit, 12.0)
        fast = calibrate._rate(t, e, 12.0)
        assert fast[0] == pytest.approx(100 * r.estimate)
        assert fast[1] == pytest.approx(100 * r.lower, nan_ok=True)
        g = rng.integers(0, 3, size=40)
        assert calibrate._logrank_p(t, e, g, 3) == pytest.approx(compare.logrank(t, e, g).p, rel=1e-8)


def test_fast_cox_matches_the_project_cox():
    rng = np.random.default_rng(1)
    n = 68
    t = rng.integers(30, 900, size=n) / 30.4375
    e = (rng.uniform(size=n) < 0.65).astype(float)
    X = np.column_stack([rng.integers(0, 2, size=n), rng.integers(0, 2, size=n), rng.integers(1, 4, size=n)]).astype(float)
    df = pd.DataFrame(X, columns=["a", "b", "c"]).assign(t=t, e=e)
    from analysis.control import CoxControl

    ref = compare.cox(df, "t", "e", ["a", "b", "c"], CoxControl(ties="breslow")).summary
    beta, se = calibrate._cox_breslow(t, e, X)
    assert np.allclose(beta, ref["coef"].to_numpy(), atol=1e-7)
    assert np.allclose(se, ref["se"].to_numpy(), atol=1e-7)
