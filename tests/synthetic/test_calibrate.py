"""The calibrated synthetic cohort: deterministic, valid, counts exact, scored from analysed numbers."""
import filecmp
import math

import numpy as np
import pandas as pd
import pytest

from analysis.synthetic import build, calibrate, dispatch, generator
from analysis.stats import km, compare
from analysis.data.cohort import derive
from analysis.paths import SYNTHETIC_DIR
from analysis.data.readers import read_cohort
from analysis.synthetic.targets import load_targets
from analysis.data.validate import validate_cohort

NAMES = ("patients.csv", "assessments.csv", "adverse_events.csv")


@pytest.fixture(scope="module")
def committed():
    raw = read_cohort(SYNTHETIC_DIR)
    return {k: df.drop(columns=["_row"], errors="ignore") for k, df in raw.tables.items()}


def test_short_run_is_byte_identical(tmp_path):
    for name in ("a", "b"):
        generator.write_cohort(build.calibrate(seed=3, steps=150, chains=2, processes=1, interval_steps=40), tmp_path / name)
    for f in NAMES:
        assert filecmp.cmp(tmp_path / "a" / f, tmp_path / "b" / f, shallow=False), f


def test_chains_do_not_depend_on_the_number_of_processes(tmp_path):
    generator.write_cohort(build.calibrate(seed=4, steps=100, chains=2, processes=1, interval_steps=40), tmp_path / "a")
    generator.write_cohort(build.calibrate(seed=4, steps=100, chains=2, processes=2, interval_steps=40), tmp_path / "b")
    for f in NAMES:
        assert filecmp.cmp(tmp_path / "a" / f, tmp_path / "b" / f, shallow=False), f


@pytest.mark.slow
@pytest.mark.calibrate  # ~100 s of both cores per configuration: make test-calibrate, run by CI after make test
def test_committed_cohort_is_what_calibrate_writes_on_other_cpus(tmp_path):
    """`make calibrate` (python -m analysis.synthetic.build --out data/synthetic) regenerates the files byte for
    byte, as the machine is and with numpy at its baseline and OpenBLAS's generic kernels (dispatch.CI_CONFIGS;
    `python -m analysis.synthetic.dispatch` runs the wider matrix)."""
    rows = dispatch.check(dispatch.CI_CONFIGS, SYNTHETIC_DIR, keep=tmp_path, log=None)
    assert [r["config"] for r in rows if not r["identical"]] == [], dispatch.markdown(rows)


def test_committed_cohort_validates_without_errors():
    report = validate_cohort(read_cohort(SYNTHETIC_DIR))
    assert report.ok, report.summary()
    # the only warnings: the 4 not-evaluable patients have no assessment (no PD without a progression,
    # no stable disease whose sizes meet the PD rule)
    assert [r.split(":")[0] for r in report.warnings["rule"]] == ["no_assessments"] * 4


def test_committed_cohort_keeps_every_count(committed):
    p = committed["patients"]
    spec = generator.CohortSpec()
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


def test_committed_cohort_stays_under_the_ceiling(committed):
    """No data set prints more of a contradicting group than audit.unreachable allows, nor more of a
    section than the summary's "at most" column: checked on a real data set, the committed cohort."""
    from analysis.synthetic.audit import unreachable
    from analysis.synthetic.scorecard import summarise

    card, _ = calibrate.score(committed)
    u = unreachable(load_targets())
    exact = card.groupby("key")["status"].apply(lambda s: int((s == "exact").sum()))
    for keys, at_most in zip(u["keys"], u["at_most"]):
        assert sum(exact.get(k, 0) for k in keys) <= at_most, keys
    s = summarise(card, unreachable=u)
    assert (s["exact"] <= s["at most"]).all()


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
    from analysis.stats.control import CoxControl

    ref = compare.cox(df, "t", "e", ["a", "b", "c"], CoxControl(ties="breslow")).summary
    beta, se = calibrate._cox_breslow(t, e, X)
    assert np.allclose(beta, ref["coef"].to_numpy(), atol=1e-7)
    assert np.allclose(se, ref["se"].to_numpy(), atol=1e-7)


def _subsets(rng, n):
    codes = {"a": rng.integers(0, 2, n), "b": rng.integers(0, 3, n), "c": rng.integers(0, 4, n)}
    rows, var_rows = [np.ones(n)], {}
    for v, cd in codes.items():
        var_rows[v] = []
        for j in range(cd.max() + 1):
            var_rows[v].append(len(rows))
            rows.append((cd == j).astype(float))
    return codes, np.array(rows), {v: np.array(r) for v, r in var_rows.items()}


def test_batched_km_matches_the_single_set_statistics():
    """batch_km (K candidate data sets x L subsets at once) = _median_spss / _rate / _logrank_p on each."""
    rng = np.random.default_rng(2)
    n, K, dpm = 68, 4, 30.0
    for trial in range(30):
        e = (rng.uniform(size=n) < 0.65).astype(float)
        T = np.array([rng.permutation(np.arange(30, 950))[:n] for _ in range(K)], dtype=float)
        if trial % 2:  # a censored patient on the day of a death
            T[:, np.flatnonzero(e == 0)[:3]] = T[:, np.flatnonzero(e == 1)[:3]]
        codes, M, var_rows = _subsets(rng, n)
        r = calibrate.batch_km(T, e, M, var_rows, [12, 24], dpm)
        for k in range(K):
            tm = T[k] / dpm
            for row in range(M.shape[0]):
                sel = M[row] > 0
                ref = calibrate._median_spss(tm[sel], e[sel])
                got = (r["median"][k, row] / dpm, r["lower"][k, row] / dpm, r["upper"][k, row] / dpm)
                for a, b in zip(got, ref):
                    assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, abs=1e-9)
            for j, lm in enumerate([12, 24]):
                ref = calibrate._rate(tm, e, float(lm))
                assert r["rates"][k, 3 * j:3 * j + 3] == pytest.approx(np.array(ref), abs=1e-9, nan_ok=True)
            for vi, (v, cd) in enumerate(codes.items()):
                assert r["p"][k, vi] == pytest.approx(compare.logrank(tm, e, cd).p, rel=1e-8)


def test_batched_cox_matches_the_project_cox():
    rng = np.random.default_rng(3)
    n, K = 68, 3
    e = (rng.uniform(size=n) < 0.65).astype(float)
    T = np.array([rng.permutation(np.arange(30, 950))[:n] for _ in range(K)], dtype=float)
    X = np.column_stack([rng.integers(0, 2, n), rng.integers(0, 2, n), 8 + 2 * rng.integers(0, 3, n)]).astype(float)
    from analysis.stats.control import CoxControl

    beta, se = calibrate.batch_cox(T, e, X, np.zeros(3), iters=8)
    for k in range(K):
        df = pd.DataFrame(X, columns=["a", "b", "c"]).assign(t=T[k], e=e)
        ref = compare.cox(df, "t", "e", ["a", "b", "c"], CoxControl(ties="breslow")).summary
        assert np.allclose(beta[k], ref["coef"].to_numpy(), atol=1e-7)
        assert np.allclose(se[k], ref["se"].to_numpy(), atol=1e-7)


def test_median_days_are_the_centres_of_the_published_intervals():
    from analysis.synthetic.targets import load_targets

    days = calibrate.median_days(load_targets(), 30.0)
    assert days["survival.os"] == 396 and days["subgroups.sex.male"] == 366
    assert days["survival.pfs_by_dose.mg12"] == 234  # truncated at 0: the median itself
    assert days["survival.dor"] == 204.5  # between two events


def test_pinned_patients_carry_the_shared_medians():
    from analysis.synthetic.targets import load_targets

    targets = load_targets()
    s = calibrate.state_from_tables(generator.generate_cohort(calibrate.DEFAULT_SEED), 30.0)
    before = {c: sorted(v.tolist()) for c, v in s.cov.items()}
    p = calibrate.pin_medians(s, targets, 30.0, 61)
    assert {c: sorted(v.tolist()) for c, v in p.cov.items()} == before  # marginal counts kept
    days = calibrate.median_days(targets, 30.0)
    g = calibrate._groups(p.cov, 61)
    for prefix, day in days.items():
        parts = prefix.split(".")
        if parts[0] != "subgroups" or day != int(day):
            continue
        holders = [i for i in p.pin_os if p.os_d[i] == day]
        assert len(holders) == 1, prefix
        assert calibrate.SUB_LEVELS[parts[1]][g[parts[1]][holders[0]]] == parts[2], prefix


def test_committed_responders_have_the_dor_events_the_paper_needs(committed):
    """The published 12- and 20-month DoR rates with their intervals need at least 13 and 12 DoR
    events (landmark_patterns); the generator censors at most ``responders_censored`` of the 22
    responders, so the committed cohort has them (the calibration never changes event flags)."""
    from analysis.synthetic import audit, generator
    from analysis.data.cohort import derive

    d = derive(committed["patients"], committed["assessments"])
    events = int(d.loc[d["responder"], "dor_event"].sum())
    assert events == 22 - generator.CohortSpec().responders_censored
    need12 = audit.landmark_patterns(22, 40.4, 20.3, 59.8)[0].count("E")
    need20 = audit.landmark_patterns(22, 30.3, 10.4, 53.3, max_censored=10)[0].count("E")
    assert (need12, need20) == (13, 12) and events >= max(need12, need20)
