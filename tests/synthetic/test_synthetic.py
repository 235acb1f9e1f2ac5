"""The synthetic cohort: published counts exact by construction, deterministic, committed copy current."""
import filecmp

import pandas as pd
import pytest

from analysis.synthetic import generator
from analysis.data.cohort import derive


@pytest.fixture(scope="module")
def tables():
    return generator.generate_cohort()


@pytest.fixture(scope="module")
def derived(tables):
    return derive(tables["patients"], tables["assessments"])


def test_table1_counts_are_the_published_ones(tables):
    p = tables["patients"]
    spec = generator.CohortSpec()
    assert len(p) == 68
    for col, counts in spec.counts.items():
        assert p[col].value_counts().to_dict() == counts, col


def test_age_median_range_and_split(tables):
    age = tables["patients"]["age"]
    assert (age.median(), age.min(), age.max()) == (61, 21, 77)
    assert (age <= 61).sum() == 37 and (age > 61).sum() == 31


def test_best_response_and_events(derived):
    assert derived["best_response"].value_counts().to_dict() == {"SD": 28, "PR": 22, "PD": 14, "NE": 4}
    assert derived["pfs_event"].sum() == 49
    assert derived["os_event"].sum() == 44
    assert (derived["on_treatment_at_cutoff"] == "yes").sum() == 11
    # responders censored for DoR: the number the published 12- and 20-month DoR rates allow
    pr = derived["best_response"] == "PR"
    assert (pr & ~derived["pfs_event"].astype(bool)).sum() == generator.CohortSpec().responders_censored


def test_censored_responders_trade_labels_with_progressing_stable_disease():
    import numpy as np

    resp = np.array(["PR", "PR", "PR", "PR", "SD", "SD", "SD", "PD"], dtype=object)
    o = {"pfs_event": np.array([False, False, False, True, True, True, False, True]),
         "pfs": np.array([9.0, 3.0, 8.0, 4.0, 6.0, 3.5, 7.0, 1.0]),
         "ttr": np.full(8, 1.8)}
    out = generator._censored_responders(resp, o, 1)
    # row 0 (the case patient) stays a responder; the other censored ones, shortest first, become SD,
    # and the progressing SD patients with the longest PFS (long enough for a response) become PR
    assert list(out) == ["PR", "SD", "SD", "PR", "PR", "PR", "SD", "PD"]
    # a PFS too short for a confirmed response (< time to response + 1 month) is no candidate
    o["pfs"][5] = 2.5
    assert list(generator._censored_responders(resp, o, 1)) == ["PR", "SD", "PR", "PR", "PR", "SD", "SD", "PD"]
    assert list(generator._censored_responders(resp, o, 3)) == list(resp)  # within the limit: unchanged
    # only the case patient is over the limit: she stays a responder and nobody trades
    o["pfs_event"][1:3] = True
    assert list(generator._censored_responders(resp, o, 0)) == list(resp)


def test_censored_followup_is_administrative():
    """Alive without progression at the cutoff: follow-up in [4.3 months, maximum], denser where the
    published PFS curve is higher (density ∝ S), independent of the patient's latent PFS."""
    import numpy as np

    spec = generator.CohortSpec()
    rng = np.random.default_rng(3)
    x = np.array([generator._censored_followup(rng, spec) for _ in range(6000)])
    assert x.min() >= 4.3 and x.max() <= spec.followup_max
    bins = np.histogram(x, bins=[4.3, 12.0, 24.0, spec.followup_max])[0] / x.size
    # ∫S over each bin, S linear through (5.6, .5), (12, .309), (24, .092), (31.5, .046), from 4.3
    s43 = 1 - 0.5 * 4.3 / 5.6
    mass = np.array([(s43 + .5) / 2 * 1.3 + (.5 + .309) / 2 * 6.4, (.309 + .092) / 2 * 12, (.092 + .046) / 2 * 7.5])
    assert np.allclose(bins, mass / mass.sum(), atol=0.02)


def test_mean_best_change_of_evaluable_patients(derived):
    x = derived.loc[derived["evaluable"], "best_pct_change"]
    assert len(x) == 64
    assert round(x.mean(), 2) == -11.97


def test_adverse_event_counts_match_table3(tables):
    ae = tables["adverse_events"]
    trae = ae[ae["treatment_related"] == "yes"]
    spec = generator.CohortSpec()
    assert trae["patient_id"].nunique() == spec.ae_any
    assert trae.loc[trae["grade"] >= 3, "patient_id"].nunique() == spec.ae_grade3plus
    worst = trae.groupby(["ae_term", "patient_id"])["grade"].max().reset_index()
    for term, (g12, g3) in spec.ae.items():
        w = worst[worst["ae_term"] == term]["grade"]
        assert ((w <= 2).sum(), (w >= 3).sum()) == (g12, g3), term


def test_same_seed_gives_byte_identical_files(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    generator.write_cohort(generator.generate_cohort(7), a)
    generator.write_cohort(generator.generate_cohort(7), b)
    for name in ("patients.csv", "assessments.csv", "adverse_events.csv"):
        assert filecmp.cmp(a / name, b / name, shallow=False)


def test_generator_output_is_the_calibration_start():
    """The committed data/synthetic is the *calibrated* cohort (tests/test_calibrate.py checks it byte
    for byte); the generator is its starting point: with zero steps the calibration keeps its counts."""
    from analysis.synthetic import build, calibrate

    gen = derive(generator.generate_cohort()["patients"], generator.generate_cohort()["assessments"])
    cal = build.calibrate(steps=0, chains=1, interval_steps=0)
    d = derive(cal["patients"], cal["assessments"])
    for col in ("best_response", "os_event", "pfs_event", "on_treatment_at_cutoff"):
        assert d[col].value_counts().to_dict() == gen[col].value_counts().to_dict(), col


def test_dates_are_consistent(tables):
    p = tables["patients"]
    assert (p["last_contact_date"] <= p["data_cutoff_date"]).all()
    assert (p["progression_date"].dropna() <= p.loc[p["progression_date"].notna(), "last_contact_date"]).all()
    dead = p["death_date"].notna()
    assert (p.loc[dead, "death_date"] == p.loc[dead, "last_contact_date"]).all()
    a = tables["assessments"].merge(p[["patient_id", "treatment_start_date"]], on="patient_id")
    assert (a["assessment_date"] > a["treatment_start_date"]).all()
    assert pd.Series(p["treatment_start_date"]).between("2018-09-01", "2024-09-30").all()


def test_generated_cohort_warns_only_about_the_not_evaluable(tables):
    """Every PD best response has its progression date; growing stable disease stays below the PD rule."""
    from analysis.synthetic.calibrate import validate_tables

    report = validate_tables(tables)
    assert report.ok
    assert [r.split(":")[0] for r in report.warnings["rule"]] == ["no_assessments"] * 4


def test_stable_disease_growth_stays_below_the_pd_rule():
    for base in (12.0, 40.0, 100.0, 250.0):
        pct = generator.sd_growth(19.0 if base > 25 else 30.0, base, 12)
        sums = (base * (1 + pct / 100)).round(1)
        assert ((sums - base < 0.2 * base) | (sums - base < 5.0)).all(), base
        assert pct[0] == pct.min()
