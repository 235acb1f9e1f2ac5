"""Consistency audit of the paper's numbers, on hand-checked cases."""
from __future__ import annotations

import pandas as pd
import pytest

from analysis.audit import (
    AUDIT_COLUMNS, audit_paper, clopper_pearson, hr_at_midpoint, inconsistent_keys, is_flagged,
    loglog_consistent, median_ci_symmetric, p_consistent_with_ci, same_when_printed, wald_p,
)
from analysis.targets import COLUMNS, load_targets


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
    assert "subgroups.prior_ici_class.p" in keys  # "(P < 0.20)" vs Table 2's 0.736
    assert "subgroups.platinum_response.p" not in keys
