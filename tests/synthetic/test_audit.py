"""Consistency audit of the paper's numbers, on hand-checked cases."""
from __future__ import annotations

import pandas as pd
import pytest

from analysis.synthetic.audit import (
    AUDIT_COLUMNS, audit_paper, clopper_pearson, hr_at_midpoint, inconsistent_keys, is_flagged,
    loglog_consistent, median_ci_symmetric, p_consistent_with_ci, same_when_printed, wald_p,
)
from analysis.synthetic import audit as paper_audit_mod
from analysis.synthetic.targets import COLUMNS, load_targets


@pytest.fixture(scope="module")
def audit():
    return audit_paper(load_targets())


def _frame(rows):
    df = pd.DataFrame([{**{c: None for c in COLUMNS}, "kind": "value", "where": "x", "text": "", **r} for r in rows],
                      columns=COLUMNS)
    return df


# --- percentages ------------------------------------------------------------------------
def test_percent_rounding_hand_checked():
    assert same_when_printed(100 * 22 / 68, 32.4, 1)  # 32.35 -> 32.4
    assert not same_when_printed(100 * 9 / 68, 13.3, 1)  # 13.24 -> 13.2
    assert not same_when_printed(100 * 11 / 68, 16.1, 1)  # 16.18 -> 16.2


def test_table3_fatigue_grade3_is_flagged(audit):
    row = audit[(audit.key == "safety.fatigue.grade3plus_pct") & (audit.check == "percent vs count")].iloc[0]
    assert not row.consistent and row.expected == 13.2 and "9/68 = 13.24%" in row.note


def test_orr_percentage_is_consistent(audit):
    row = audit[(audit.key == "response.orr.pct") & (audit.check == "percent vs count")].iloc[0]
    assert row.consistent and row.expected == 32.4


def test_the_six_percentages_that_contradict_their_counts(audit):
    bad = set(audit[(audit.check == "percent vs count") & ~audit.consistent].key)
    assert bad == {"cohort.table1.prior_lines_group.second_or_more.pct", "cohort.table1.ici_agent.adebrelimab.pct",
                   "safety.fatigue.grade3plus_pct", "safety.hematologic_toxicity.grade3plus_pct",
                   "safety.anorexia.grade12_pct", "safety.hand_foot_syndrome.grade12_pct"}


def test_row_totals_hold(audit):
    totals = audit[audit.check.str.startswith("row total")]
    assert len(totals) > 20 and totals.consistent.all()


def test_row_total_failure_detected():
    t = _frame([{"key": "cohort.n", "value": 68.0, "decimals": 0, "unit": "count"},
                {"key": "cohort.table1.sex.male.n", "value": 51.0, "decimals": 0, "unit": "count"},
                {"key": "cohort.table1.sex.female.n", "value": 16.0, "decimals": 0, "unit": "count"}])
    a = audit_paper(t)
    assert "cohort.table1.sex" in inconsistent_keys(a)
    assert is_flagged("cohort.table1.sex.male.n", inconsistent_keys(a))


# --- Cox ---------------------------------------------------------------------------------
def test_hr_not_at_geometric_midpoint():
    ok, mid, (lo, hi) = hr_at_midpoint(0.95, 0.89, 1.18)
    assert not ok and mid == pytest.approx(1.025, abs=5e-4) and lo < mid < hi


def test_hr_at_midpoint_within_rounding():
    # sqrt(0.87 x 1.45) = 1.123; bounds rounded to 0.01 allow 1.118-1.128, HR 1.13 allows 1.125-1.135
    assert hr_at_midpoint(1.13, 0.87, 1.45)[0]


def test_wald_p_contradicts_published_p():
    assert wald_p(0.91, 0.72, 1.25) == pytest.approx(0.503, abs=1e-3)
    ok, p, (lo, hi) = p_consistent_with_ci(0.216, 0.91, 0.72, 1.25)
    assert not ok and lo < 0.50 < hi


def test_wald_p_consistent_case():
    # HR 2.00 (1.00-4.00): se = ln4/3.92, z = ln2/se = 1.96, p = 0.05
    assert p_consistent_with_ci(0.050, 2.00, 1.00, 4.00)[0]


def test_cox_findings(audit):
    cox = audit[audit.key.str.startswith("subgroups.cox.")]
    mid_bad = set(cox[(cox.check == "HR at CI midpoint") & ~cox.consistent].key)
    assert mid_bad == {f"subgroups.cox.{v}.hr" for v in
                       ("ecog_group", "platinum_response", "prior_ici_class", "prior_ici_failure")}
    p_bad = set(cox[(cox.check == "p vs CI (Wald)") & ~cox.consistent].key)
    assert len(p_bad) == 5
    assert cox[cox.check == "p vs CI (significance)"].consistent.all()


# --- medians, proportions, landmarks -------------------------------------------------------
def test_spss_symmetric_median_cis(audit):
    assert median_ci_symmetric(13.2, 7.09, 19.31)[0]
    assert median_ci_symmetric(6.8, 0.80, 12.83)[0]  # midpoint 6.815 prints as 6.8
    assert median_ci_symmetric(7.8, 0.00, 17.91)[0]  # truncated at 0
    assert not median_ci_symmetric(5.6, 3.87, 8.00)[0]
    assert not median_ci_symmetric(9.5, 0.00, 17.91)[0]  # 2*9.5 - 17.91 > 0: nothing to truncate
    assert audit[audit.check == "median CI symmetric"].consistent.all()


def test_clopper_pearson_matches_guide():
    assert [round(100 * x, 2) for x in clopper_pearson(22, 68)] == [21.51, 44.79]
    assert [round(100 * x, 2) for x in clopper_pearson(50, 68)] == [61.43, 83.50]


def test_landmark_checks(audit):
    assert audit[audit.check.str.startswith("landmark")].consistent.all()
    assert loglog_consistent(30.9, 19.8, 42.7)[0]
    assert not loglog_consistent(30.9, 25.0, 42.7)[0]  # shifted lower bound is not log-log


# --- frame ---------------------------------------------------------------------------------
def test_audit_frame_shape(audit):
    assert list(audit.columns) == AUDIT_COLUMNS
    assert audit.consistent.dtype == bool
    assert audit.note.str.len().gt(0).all()


def test_inconsistent_keys_set(audit):
    keys = inconsistent_keys(audit)
    assert "subgroups.cox.platinum_response.p" in keys
    assert "response.orr.pct" not in keys
    # "(P < 0.20 in univariate analysis)" qualifies platinum response only (0.183): no "<0.20" target for the
    # prior-ICI class (Table 2: 0.736) or the dose (0.497), so neither is a contradiction of the paper
    assert "subgroups.prior_ici_class.p" not in keys and "subgroups.anlotinib_dose_mg.p" not in keys
    assert "subgroups.platinum_response.p" not in keys


# --- Cox information bound (CI width vs number of deaths) ------------------------------------
from analysis.synthetic.audit import (  # noqa: E402
    check_cox_information, check_median_time_unit, cox_se_min, half_days_in, infer_days_per_month,
    max_covariate_variance, median_window, se_max_from_ci, se_max_from_hr_p,
)
from analysis.synthetic.targets import format_published  # noqa: E402

COX_CHECK = "Cox CI width vs events"


def _cox_frame(var, hr, lower, upper, p, deaths=44):
    rows = [{"key": "survival.os.events", "value": float(deaths), "decimals": 0, "unit": "count"}]
    for name, v, d in (("hr", hr, 2), ("lower", lower, 2), ("upper", upper, 2), ("p", p, 3)):
        rows.append({"key": f"subgroups.cox.{var}.{name}", "value": v, "decimals": d,
                     "unit": "p" if name == "p" else "ratio"})
    return _frame(rows)


def _cox_rows(frame, **kw):
    return {r["key"].rsplit(".", 1)[1]: r for r in check_cox_information(frame, **kw)}


def test_cox_bound_hand_checked():
    assert max_covariate_variance(0, 1) == 0.25 and max_covariate_variance(8, 12) == 4.0
    assert cox_se_min(44, 0.25) == pytest.approx(2 / 44 ** 0.5)
    assert cox_se_min(44, 4.0) == pytest.approx(0.07538, abs=1e-5)
    # ln(0.905/0.365) / 3.92 = 0.2316: the rounding widens the interval outwards
    assert se_max_from_ci(0.37, 0.90) == pytest.approx(0.2316, abs=1e-4)
    assert se_max_from_ci(0.00, 0.90) == float("inf")
    # |ln 0.595| / Φ^-1(1 - 0.0315/2) = 0.5192 / 2.150
    assert se_max_from_hr_p(0.60, 0.031) == pytest.approx(0.2414, abs=1e-3)
    assert se_max_from_hr_p(0.60, 0.9995) == float("inf")  # p may be 1: z = 0


def test_binary_covariate_wide_ci_passes_narrow_fails():
    se_min = 2 / 44 ** 0.5  # 0.3015
    # a CI built with se = 0.31 > se_min passes
    wide = _cox_rows(_cox_frame("x", 1.00, 0.54, 1.84, 0.999))
    assert wide["lower"]["consistent"] and wide["upper"]["consistent"]
    # se = 0.29 < se_min: even with rounding (0.5615-1.7705) the CI allows at most 0.293
    narrow = _cox_rows(_cox_frame("x", 1.00, 0.57, 1.76, 0.999))
    assert se_max_from_ci(0.57, 1.76) < se_min
    assert not narrow["lower"]["consistent"] and not narrow["upper"]["consistent"]
    assert narrow["lower"]["expected"] == "se ≥ 0.302" and "2/√44 = 0.302" in narrow["lower"]["note"]
    assert "0.57–1.76 implies at most 0.29" in narrow["lower"]["note"]
    # the HR is never flagged by this check
    assert "hr" not in narrow


def test_cox_p_row_uses_rounding_of_hr_and_p():
    # HR 0.55, p 0.044: at the printed values se = 0.598/2.014 = 0.297 < 0.3015, but HR 0.545 and
    # p 0.0445 give 0.607/2.0095 = 0.302: consistent within rounding
    assert _cox_rows(_cox_frame("x", 0.55, 0.30, 1.00, 0.044))["p"]["consistent"]
    # p 0.043: at most 0.607/2.0185 = 0.3007 < 0.3015
    assert not _cox_rows(_cox_frame("x", 0.55, 0.30, 1.00, 0.043))["p"]["consistent"]
    assert _cox_rows(_cox_frame("x", 0.60, 0.30, 1.20, 0.150))["p"]["consistent"]


def test_cox_bound_depends_on_deaths_and_coding():
    f = _cox_frame("anlotinib_dose_mg", 1.13, 0.87, 1.45, 0.515)
    mg = _cox_rows(f)  # default: coded in mg (8-12), se_min = 0.0754
    assert mg["lower"]["consistent"] and mg["p"]["consistent"] and mg["lower"]["expected"] == "se ≥ 0.075"
    as_binary = _cox_rows(f, coding={"anlotinib_dose_mg": (0, 1)})  # se_min = 0.302 > 0.133
    assert not as_binary["lower"]["consistent"] and not as_binary["p"]["consistent"]
    assert as_binary["lower"]["expected"] == "se ≥ 0.302"
    # the ECOG CI fails with 44 deaths; with 10 deaths se_min = 0.632 and it fails still,
    # with 400 deaths se_min = 0.1 and it passes
    assert not _cox_rows(_cox_frame("ecog_group", 0.60, 0.37, 0.90, 0.031, deaths=10))["lower"]["consistent"]
    many = _cox_rows(_cox_frame("ecog_group", 0.60, 0.37, 0.90, 0.031, deaths=400))
    assert many["lower"]["consistent"] and many["p"]["consistent"]
    # without the number of deaths there is nothing to check
    assert check_cox_information(f[f.key != "survival.os.events"]) == []


def test_cox_information_on_the_paper(audit):
    rows = audit[audit.check == COX_CHECK]
    bad = set(rows[~rows.consistent].key)
    binary = ("ecog_group", "platinum_response", "prior_ici_class", "prior_ici_failure")
    assert bad == {f"subgroups.cox.{v}.{s}" for v in binary for s in ("lower", "upper", "p")}
    assert rows[rows.key.str.startswith("subgroups.cox.anlotinib_dose_mg.")].consistent.all()
    assert len(rows) == 15 and not rows.key.str.endswith(".hr").any()
    ecog = rows[rows.key == "subgroups.cox.ecog_group.lower"].iloc[0]
    assert "0.37–0.90 implies at most 0.232" in ecog.note and "2/√44 = 0.302" in ecog.note


# --- time unit of the medians ---------------------------------------------------------------
def _triple(prefix, median, lower, upper):
    return [{"key": f"{prefix}.median", "value": median, "decimals": 1, "unit": "months"},
            {"key": f"{prefix}.lower", "value": lower, "decimals": 2, "unit": "months"},
            {"key": f"{prefix}.upper", "value": upper, "decimals": 2, "unit": "months"}]


def _grid_triples(days_per_month, n=24, seed=1):
    """SPSS-style triples whose medians are whole or half days under ``days_per_month``."""
    import random

    rng = random.Random(seed)
    rows = []
    for i in range(n):
        m = rng.randrange(120, 900) / 2 / days_per_month  # months
        w = rng.uniform(1.0, 4.0)
        pr = lambda x, d: float(format_published(x, d))  # noqa: E731
        rows += _triple(f"subgroups.v{i}.a", pr(m, 1), pr(m - w, 2), pr(m + w, 2))
    return _frame(rows)


def test_half_days_and_windows_hand_checked():
    assert half_days_in(13.195, 13.205, 30.0) == [396.0]
    assert half_days_in(13.195, 13.205, 365.25 / 12) == []  # 401.63-401.93 days
    assert half_days_in(6.81, 6.82, 30.0) == [204.5]
    assert half_days_in(2.0, 1.0, 30.0) == []
    lo, hi, trunc = median_window(13.2, 7.09, 19.31)
    assert (lo, hi, trunc) == (pytest.approx(13.195), pytest.approx(13.205), False)
    # truncated: 7.8 (0.00-17.91) is bounded by the median's rounding and (17.915 + 0.005)/2
    assert median_window(7.8, 0.00, 17.91) == (pytest.approx(7.75), pytest.approx(7.85), True)
    lo, hi, _ = median_window(9.5, 0.00, 17.91)  # 2 x 9.45 - 17.915 > 0.005: cannot print 0.00
    assert lo > hi


@pytest.mark.parametrize("dpm", [30.0, 365.25 / 12])
def test_time_unit_recovered_from_grid(dpm):
    f = _grid_triples(dpm)
    best, counts, n = infer_days_per_month(f)
    assert best == dpm and counts[dpm] == n == 24
    assert min(counts[c] for c in counts if c != dpm) < n
    rows = check_median_time_unit(f)
    assert len(rows) == 24 and all(r["consistent"] for r in rows)


def test_time_unit_flags_off_grid_median_and_handles_truncation():
    rows = (_triple("survival.os", 13.2, 7.09, 19.31)  # centre 13.20 = 396 days
            + _triple("survival.pfs", 5.6, 3.87, 7.33)  # 168 days
            + _triple("survival.dor", 6.8, 0.80, 12.83)  # centre 6.815 = 204.45 -> 204.5 days
            + _triple("subgroups.s.a", 12.2, 6.83, 17.57)  # 366 days
            + _triple("subgroups.s.b", 13.2, 7.11, 19.31)  # centre 13.21 = 396.3 days: off the grid
            + _triple("survival.pfs_by_dose.mg12", 7.8, 0.00, 17.91)  # truncated: fits
            + _triple("subgroups.t.a", 9.5, 0.00, 17.91))  # truncated but 2·9.5 - 17.91 > 0: no fit
    out = {r["key"]: r for r in check_median_time_unit(_frame(rows))}
    assert {k for k, r in out.items() if not r["consistent"]} == {"subgroups.s.b.median", "subgroups.t.a.median"}
    assert out["survival.os.median"]["expected"] == "396 days"
    assert out["survival.dor.median"]["expected"] == "204.5 days"
    assert "401.8 days" in out["survival.os.median"]["note"]  # the 30.4375-day alternative
    assert "truncated" in out["survival.pfs_by_dose.mg12.median"]["note"]
    assert all(r["check"] == "median CI time unit" for r in out.values())


def test_time_unit_ties_go_to_first_candidate():
    f = _frame(_triple("survival.pfs_by_dose.mg12", 7.8, 0.00, 17.91))  # fits any unit
    assert infer_days_per_month(f, (365.25 / 12, 30.0))[0] == 365.25 / 12
    assert infer_days_per_month(f, (30.0, 365.25 / 12))[0] == 30.0


def test_time_unit_of_the_paper(audit):
    best, counts, n = infer_days_per_month(load_targets())
    assert best == 30.0 and n == 35 and counts[30.0] == 35
    # 13 untruncated triples plus the truncated PFS 12 mg one, which fits any unit
    assert counts[365.25 / 12] == 14
    rows = audit[audit.check == "median CI time unit"]
    assert len(rows) == 35 and rows.consistent.all()
    os_row = rows[rows.key == "survival.os.median"].iloc[0]
    assert os_row.expected == "396 days" and "401.8 days" in os_row.note


def test_landmark_patterns_are_the_sequences_the_rate_function_prints():
    """Each returned event/censoring sequence, laid out as times before the landmark, prints the
    published rate and interval with the project's rate function; a perturbed sequence does not."""
    from analysis.stats import km

    for n, est, lo, up in ((22, 40.4, 20.3, 59.8), (10, 60.0, 25.3, 82.7)):
        pats = paper_audit_mod.landmark_patterns(n, est, lo, up)
        assert pats, (n, est)
        for seq in pats:
            t = list(range(1, len(seq) + 1)) + [100] * (n - len(seq))  # the rest beyond the landmark
            e = [x == "E" for x in seq] + [False] * (n - len(seq))
            r = km.survival_at(km.kaplan_meier(t, e), 50)
            assert (round(r.estimate * 100, 1), round(r.lower * 100, 1), round(r.upper * 100, 1)) == (est, lo, up)
    # the paper's 12-month duration of response needs 13 events in its 22 responders
    assert paper_audit_mod.landmark_patterns(22, 40.4, 20.3, 59.8) == ["EEEEEEEEEEEEcE"]
    # ... and its one censoring before the 13th event is necessary
    assert paper_audit_mod.landmark_patterns(22, 40.4, 20.3, 59.8, max_censored=0) == []



def test_landmark_feasibility_flags_a_rate_the_event_count_cannot_print():
    from analysis.synthetic.targets import load_targets

    targets = load_targets()
    few = paper_audit_mod.landmark_feasibility(targets, {"survival.dor.n": 22, "survival.dor.events": 11})
    row = few.set_index("key").loc["survival.dor.rate_12"]
    assert row["events_needed"] == 13 and not row["reachable"]
    text = paper_audit_mod.landmark_feasibility_text(few)
    assert "12-month DoR rate" in text and "at least 13 events before 12 months among 22" in text and "has 11 events" in text
    enough = paper_audit_mod.landmark_feasibility(targets, {"survival.dor.n": 22, "survival.dor.events": 16})
    assert enough.set_index("key").loc["survival.dor.rate_12", "reachable"]
    # large groups (PFS, OS: 68 patients) are not searched
    assert not paper_audit_mod.landmark_feasibility(targets, {"survival.pfs.n": 68, "survival.pfs.events": 49}).size


# --- Cox numbers printed together ------------------------------------------------------------
import json  # noqa: E402
import math  # noqa: E402

import numpy as np  # noqa: E402
from scipy.stats import norm  # noqa: E402

from analysis.synthetic.audit import (  # noqa: E402
    COX_NUMBERS, cox_numbers_feasible, cox_printable_sets, cox_together, findings_text,
)
from analysis.paths import REFERENCE_DIR  # noqa: E402

PAPER_COX = {  # Table 2 of the paper: HR, lower, upper (2 decimals), p (3 decimals)
    "ecog_group": (0.60, 0.37, 0.90, 0.031), "platinum_response": (0.91, 0.72, 1.25, 0.216),
    "prior_ici_class": (0.95, 0.89, 1.18, 0.789), "prior_ici_failure": (1.41, 1.07, 1.99, 0.043),
    "anlotinib_dose_mg": (1.13, 0.87, 1.45, 0.515),
}


def _printed(hr, lower, upper, p):
    return {"hr": (hr, 2), "lower": (lower, 2), "upper": (upper, 2), "p": (p, 3)}


def _prints(b, se, printed):
    """Which printed numbers a coefficient b with standard error se prints (independent of the LP)."""
    z = 1.959963984540054
    vals = {"hr": np.exp(b), "lower": np.exp(b - z * se), "upper": np.exp(b + z * se),
            "p": 2 * norm.sf(np.abs(b) / se)}
    return {n: np.broadcast_to(np.abs(vals[n] - v) < 0.5 * 10.0 ** -d, np.broadcast(b, se).shape)
            for n, (v, d) in printed.items()}


def test_cox_together_r_fits_print_all_four():
    """Every coefficient R's coxph printed (tests/reference) prints its four numbers together, with its
    own se as the smallest allowed; asking for an se well above its own breaks the interval."""
    ref = json.loads((REFERENCE_DIR / "survival_reference.json").read_text())["cox"]
    seen = 0
    for fit in ref.values():
        if "hr" not in fit:
            continue
        for j in range(len(fit["terms"])):
            hr, lo, up, p, se = (fit[k][j] for k in ("hr", "lower", "upper", "p", "se"))
            printed = _printed(round(hr, 2), round(lo, 2), round(up, 2), round(p, 3))
            assert cox_printable_sets(printed, 0.999 * se) == (4, [COX_NUMBERS]), (fit["terms"][j], printed)
            if up / lo > 1.2:  # the CI is wide enough at 2 decimals to pin the se
                assert not cox_numbers_feasible({k: printed[k] for k in ("lower", "upper")}, 1.5 * se)
            seen += 1
    assert seen >= 15


def test_cox_together_agrees_with_the_pairwise_bounds():
    """A pair (lower, upper) or (HR, p) prints together exactly when the largest se it allows reaches
    the smallest the deaths allow (se_max_from_ci, se_max_from_hr_p: closed forms, not the LP)."""
    rng = np.random.default_rng(7)
    for _ in range(60):
        b, se = rng.normal(0, 0.6), rng.uniform(0.1, 0.8)
        z = 1.959963984540054
        hr, lo, up = (round(float(np.exp(b + k * z * se)), 2) for k in (0, -1, 1))
        p = round(float(2 * norm.sf(abs(b) / se)), 3)
        if lo <= 0.005 or p <= 0.0005 or p >= 0.9995 or abs(b) < 0.02:
            continue
        for se_min in (0.5 * se, 0.97 * se, 1.03 * se, 1.5 * se):
            ci = cox_numbers_feasible({"lower": (lo, 2), "upper": (up, 2)}, se_min)
            assert ci == (se_max_from_ci(lo, up) >= se_min), (lo, up, se_min)
            hp = cox_numbers_feasible({"hr": (hr, 2), "p": (p, 3)}, se_min)
            assert hp == (se_max_from_hr_p(hr, p) >= se_min), (hr, p, se_min)


@pytest.mark.parametrize("var", sorted(PAPER_COX))
def test_cox_together_on_the_paper_matches_a_grid(var):
    """The largest groups of each published row, found again by brute force on a (b, se) grid."""
    printed = _printed(*PAPER_COX[var])
    se_min = 2 / 44 ** 0.5 if var != "anlotinib_dose_mg" else 1 / (44 * 4) ** 0.5
    size, groups = cox_printable_sets(printed, se_min)
    b = np.linspace(-3, 3, 4001)[:, None]
    se = np.geomspace(se_min, 4, 1200)[None, :]
    ok = _prints(b, se, printed)
    from itertools import combinations
    grid_best = max(k for k in range(1, 5) for g in combinations(COX_NUMBERS, k)
                    if np.logical_and.reduce([ok[n] for n in g]).any())
    assert size == grid_best
    for g in groups:  # each group has a witness on the grid
        assert np.logical_and.reduce([ok[n] for n in g]).any(), g
    expected = {"ecog_group": (2, [("upper", "p")]), "platinum_response": (2, [("lower", "p"), ("upper", "p")]),
                "prior_ici_class": (1, [(n,) for n in COX_NUMBERS]), "prior_ici_failure": (2, [("lower", "p")]),
                "anlotinib_dose_mg": (3, [("hr", "lower", "upper")])}
    assert (size, groups) == expected[var]


def test_cox_together_hand_checked_witness():
    # ECOG upper 0.90 with p 0.031: b/se = Φ^-1(1 - 0.0155) = 2.157 and b + 1.96·se = ln 0.90 give
    # se = 0.105/0.197 = 0.535, b = -1.153 (HR 0.32): an se the 44 deaths allow
    se = math.log(0.90) / (1.959963984540054 - norm.isf(0.031 / 2))
    b = -norm.isf(0.031 / 2) * se
    assert se == pytest.approx(0.535, abs=0.002) and se > 2 / 44 ** 0.5
    assert all(_prints(b, se, {"upper": (0.90, 2), "p": (0.031, 3)}).values())


def test_cox_together_in_the_findings():
    targets = load_targets()
    rows = cox_together(targets)
    assert {v: r[:2] for v, r in rows.items()} == {"ecog_group": (2, 4), "platinum_response": (2, 4),
                                                   "prior_ici_class": (1, 4), "prior_ici_failure": (2, 4),
                                                   "anlotinib_dose_mg": (3, 4)}
    assert rows["ecog_group"][3].startswith("at most 2 of the row's 4 numbers (HR, CI bounds, p) can print together")
    text = findings_text(targets)
    assert "2 of the 4 numbers of ECOG performance status (the upper bound and p)" in text
    assert "1 of the 4 numbers of type of prior immunotherapy (any one of them)" in text
    assert "only the hazard ratio" not in text


# --- what no data set can reproduce -------------------------------------------------------------
def test_unreachable_on_the_paper():
    """With every count exact, 17 of the paper's 313 numbers are out of reach of any data set."""
    t = load_targets()
    u = paper_audit_mod.unreachable(t)
    assert u.groupby("category")["lost"].sum().to_dict() == {
        "percent vs count": 6, "definition": 1, "Cox numbers together": 10}
    assert len(t) - u["lost"].sum() == 296
    one = u.set_index(u["keys"].map(lambda k: k[0]))
    # printed twice (64.7 in the text, 65.7 in Table 1): 44/68 = 64.71 %, so only the text's prints
    row = one.loc["cohort.table1.prior_lines_group.second_or_more.pct"]
    assert (row.printed, row.at_most, row.category) == (2, 1, "percent vs count")
    # the dose's p is printed once (0.497 in Table 2; the text's "< 0.20" is about platinum response only)
    assert "subgroups.anlotinib_dose_mg.p" not in one.index
    # 0.183 < 0.20: the platinum p prints in both places, so it is not listed
    assert "subgroups.platinum_response.p" not in one.index
    # the Cox rows lose what cox_together says they cannot print together
    cox = paper_audit_mod.cox_together(t)
    assert one.loc["subgroups.cox.prior_ici_class.hr", "at_most"] == cox["prior_ici_class"][0] == 1
    # every contradiction the ceiling counts is one the audit flags (a Cox row: some of its numbers)
    flagged = inconsistent_keys(audit_paper(t))
    assert all(any(is_flagged(k, flagged) for k in ks) for ks, c in zip(u["keys"], u["category"])
               if c != "definition")


def test_unreachable_hand_made_cases():
    rows = [{"key": "cohort.table1.sex.male.n", "value": 9.0, "decimals": 0, "unit": "count"},
            {"key": "cohort.table1.sex.male.pct", "value": 13.3, "decimals": 1, "unit": "percent"},  # 9/68 = 13.2
            {"key": "cohort.table1.sex.female.n", "value": 59.0, "decimals": 0, "unit": "count"},
            {"key": "cohort.table1.sex.female.pct", "value": 86.8, "decimals": 1, "unit": "percent"},
            {"key": "cohort.n", "value": 68.0, "decimals": 0, "unit": "count"},
            {"key": "cohort.window", "value": 6.0, "decimals": 0, "unit": "months", "kind": "definition"},
            {"key": "subgroups.a.p", "value": 0.183, "decimals": 3, "unit": "p"},
            {"key": "subgroups.a.p", "value": "<0.20", "decimals": 2, "unit": "p", "kind": "bound"},
            {"key": "subgroups.b.p", "value": 0.497, "decimals": 3, "unit": "p"},
            {"key": "subgroups.b.p", "value": "<0.20", "decimals": 2, "unit": "p", "kind": "bound"},
            {"key": "subgroups.c.p", "value": "<0.10", "decimals": 2, "unit": "p", "kind": "bound"},
            {"key": "subgroups.c.p", "value": ">0.20", "decimals": 2, "unit": "p", "kind": "bound"},
            {"key": "survival.x.median", "value": 5.6, "decimals": 1, "unit": "months"},
            {"key": "survival.x.median", "value": 5.60, "decimals": 2, "unit": "months"}]
    u = paper_audit_mod.unreachable(_frame(rows))
    got = {ks[0]: (p, m, c) for ks, p, m, c in zip(u["keys"], u["printed"], u["at_most"], u["category"])}
    assert got == {"cohort.table1.sex.male.pct": (1, 0, "percent vs count"),
                   "cohort.window": (1, 0, "definition"),
                   "subgroups.b.p": (2, 1, "same quantity twice"),
                   "subgroups.c.p": (2, 1, "same quantity twice")}


def test_bounds_together():
    assert paper_audit_mod._bounds_together(["<0.20", "<0.10", ">0.05"])
    assert not paper_audit_mod._bounds_together(["<0.10", ">0.20"])
    assert paper_audit_mod._bounds_together(["<=0.1", ">=0.1"])
    assert not paper_audit_mod._bounds_together(["<0.1", ">=0.1"])
