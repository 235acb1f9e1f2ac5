"""Why a published number is not exact (analysis.synthetic.misses): the inversions against the project's own
Kaplan–Meier and log-rank code, and the reasons on the committed cohort, computed from its data."""
import math

import numpy as np
import pytest
from scipy.stats import chi2

from analysis.synthetic import audit, interval_fit, misses, scorecard
from analysis.stats import compare, km
from analysis.data.cohort import DeriveOptions, load_cohort
from analysis.paths import SYNTHETIC_DIR
from analysis.report.results import collect_numbers
from analysis.synthetic.targets import load_targets

DPM = 30.0


@pytest.mark.parametrize("conf_type", ["log-log", "log", "plain"])
def test_implied_greenwood_inverts_the_rate_interval(conf_type):
    """The variance read back from a landmark interval is the Greenwood variance km used to make it."""
    rng = np.random.default_rng(5)
    checked = 0
    for _ in range(30):
        t = rng.uniform(0.5, 30, 80)
        e = (rng.uniform(size=80) < 0.7).astype(int)
        fit = km.kaplan_meier(t, e, conf_type=conf_type)
        for lm in (6.0, 12.0):
            r = km.survival_at(fit, lm, conf_type=conf_type)
            if not (0 < r.lower < r.estimate < r.upper < 1):
                continue
            v = misses.implied_greenwood(r.estimate, r.lower, r.upper, conf_type)
            assert v == pytest.approx(misses._greenwood(r), rel=1e-9)
            i = np.searchsorted(fit.time, lm, side="right") - 1
            assert v == pytest.approx(fit._var_log[i], rel=1e-9)  # the variance km made the band from
            checked += 1
    assert checked > 30
    with pytest.raises(ValueError, match="conf_type"):
        misses.implied_greenwood(0.5, 0.3, 0.7, "arcsine")
    assert math.isnan(misses.implied_greenwood(0.5, 0.6, 0.7))  # not an interval around the estimate


def test_max_followed_beyond_bounds_every_curve_and_is_attained():
    """No Kaplan–Meier curve (ties included) has a larger Greenwood variance at a landmark than
    1/r − 1/n with r patients followed beyond it, so the bound never rules out a real curve; and a
    curve with one event at each of n, n − 1, …, r + 1 at risk attains it exactly."""
    rng = np.random.default_rng(11)
    checked = 0
    for _ in range(200):
        n = int(rng.integers(5, 70))
        t = np.round(rng.uniform(0.5, 30, n))  # whole months: many tied times
        e = (rng.uniform(size=n) < rng.uniform(0.3, 1.0)).astype(int)
        fit = km.kaplan_meier(t, e)
        for lm in (6.0, 12.0, 24.0):
            r = km.survival_at(fit, lm)
            beyond = int((t > lm).sum())
            if not (math.isfinite(r.estimate) and r.estimate > 0):
                continue
            v = misses._greenwood(r)
            if beyond:
                assert v <= 1 / beyond - 1 / n + 1e-12
            assert misses.max_followed_beyond(v, n) >= beyond
            checked += 1
    assert checked > 300
    for n, r in ((68, 1), (68, 5), (22, 3)):
        t = np.concatenate((np.linspace(1.0, 30.0, n - r), np.full(r, 40.0)))  # deaths until r remain
        e = np.concatenate((np.ones(n - r, int), np.zeros(r, int)))
        v = misses._greenwood(km.survival_at(km.kaplan_meier(t, e), 35.0))
        assert v == pytest.approx(1 / r - 1 / n, rel=1e-12)
        assert misses.max_followed_beyond(v, n) == r
        assert misses.max_followed_beyond(v * 1.01, n) == r - 1


def test_needed_chisq_is_the_upper_tail():
    for p, df in ((0.031, 1), (0.2, 2), (0.5, 3)):
        assert chi2.sf(misses.needed_chisq(p, df), df) == pytest.approx(p, rel=1e-12)


@pytest.fixture(scope="module")
def committed():
    targets = load_targets()
    a = load_cohort(SYNTHETIC_DIR, DeriveOptions(days_per_month=DPM)).analysis
    return targets, a


def _card(targets, numbers, paper_audit):
    return scorecard.scorecard(targets, numbers, paper_audit)


def test_every_miss_has_a_reason_computed_from_the_data(committed, tmp_path):
    """Each row that is not exact gets a reason of its kind; exact rows get none. The numbers in the
    reasons are the cohort's: the log-rank chi-squares, the patients at risk, the interval factors."""
    targets, a = committed
    from analysis.synthetic.calibrate import analysed_numbers
    from analysis.data.readers import read_cohort

    raw = read_cohort(SYNTHETIC_DIR)
    tables = {k: v.drop(columns=["_row"], errors="ignore") for k, v in raw.tables.items()}
    paper_audit = audit.audit_paper(targets)
    card = _card(targets, analysed_numbers(tables), paper_audit)
    ex = interval_fit.explain(a, targets, DPM)
    why = misses.explain_misses(card, targets, a, paper_audit, ex, days_per_month=DPM)
    exact = card["status"] == "exact"
    assert (why[exact] == "").all()
    assert (why[~exact].str.len() > 20).all(), card.loc[~exact & (why.str.len() <= 20), "key"].tolist()
    reason = dict(zip(card["key"], why))
    status = dict(zip(card["key"], card["status"]))
    for r in ex.itertuples(index=False):  # interval rows: the factor of the cohort's order of records
        for b in ("lower", "upper"):
            if status[f"{r.key}.{b}"] not in ("exact", "inconsistent in paper") and r.status != "median":
                assert f"{misses._num(r.coef)} × the days" in reason[f"{r.key}.{b}"]
    lr = compare.logrank(a["os_months"].to_numpy(), a["os_event"].to_numpy(), a["smoking"].astype(str).to_numpy())
    if status["subgroups.smoking.p"] != "exact":
        assert f"χ² = {misses._num(lr.chisq)} on 1 df" in reason["subgroups.smoking.p"]
    fit = km.kaplan_meier(a["pfs_months"].to_numpy(), a["pfs_event"].to_numpy())
    if status["survival.pfs.rate_24.estimate"] != "exact":
        at_risk = km.survival_at(fit, 24.0).n_risk
        assert f"with {at_risk} at risk" in reason["survival.pfs.rate_24.estimate"]
        beyond24 = int((a["pfs_months"] > 24.0).sum())
        cap = misses.max_followed_beyond(misses.implied_greenwood(0.092, 0.010, 0.292), len(a))
        if beyond24 > cap:  # the published interval's variance caps who can be followed beyond 24 months
            assert (f"only with at most {cap} followed beyond 24 months" in reason["survival.pfs.rate_24.estimate"]
                    and f"the cohort follows {beyond24}" in reason["survival.pfs.rate_24.estimate"])
    beyond = int((a["os_months"] > 12.5).sum())
    if status["survival.followup.median"] != "exact":
        assert f"{beyond} patients have a time beyond 12.5 months" in reason["survival.followup.median"]
    incons = card.loc[card["status"] == "inconsistent in paper", "key"]
    assert all(reason[k].startswith("the paper contradicts itself") for k in incons)
    # a contradicted Cox number: how many of its row print together, and which
    cox = [k for k in incons if k.startswith("subgroups.cox.ecog_group.")]
    assert cox and all("at most 2 of the row's 4 numbers" in reason[k] and "the upper bound and p" in reason[k]
                       for k in cox)
    assert "definition" in reason["cohort.platinum_resistance_window"]
    table = misses.misses_table(card, why)
    assert len(table) == int((~exact).sum()) and list(table.columns)[-1] == "Why not exact"


def test_reasons_follow_the_data(committed):
    """Changing the data changes the reasons (they are not read from the targets)."""
    targets, a = committed
    paper_audit = audit.audit_paper(targets)
    b = a.copy()
    b["prior_ici_failure"] = b["prior_ici_failure"].sample(frac=1.0, random_state=3).to_numpy()
    card = _card(targets, {"subgroups.prior_ici_failure.p": 0.9}, paper_audit)
    row = card["key"] == "subgroups.prior_ici_failure.p"
    kw = dict(days_per_month=DPM)
    ra = misses.explain_misses(card[row], targets, a, paper_audit, interval_fit.explain(a, targets, DPM), **kw)
    rb = misses.explain_misses(card[row], targets, b, paper_audit, interval_fit.explain(b, targets, DPM), **kw)
    assert ra.iloc[0] != rb.iloc[0] and "needs χ² = 4.65" in ra.iloc[0] and "needs χ² = 4.65" in rb.iloc[0]


def test_interval_reasons_only_for_sections_run_with_the_paper_intervals(committed):
    targets, a = committed
    ex = interval_fit.explain(a, targets, DPM)
    paper, other = dict(median_ci="spss", conf_level=0.95), dict(median_ci="log-log", conf_level=0.95)
    assert len(misses.paper_intervals(ex, paper, paper)) == len(ex)
    only_sub = misses.paper_intervals(ex, other, paper)
    assert len(only_sub) and only_sub["key"].str.startswith("subgroups.").all()
    assert not misses.paper_intervals(ex, paper, other)["key"].str.startswith("subgroups.").any()
    assert not misses.is_paper_interval(dict(median_ci="spss", conf_level=0.9))


def test_dates_and_medians_not_reached(committed):
    """A date prints as a date in the table; a median that is not reached says so (no "day inf")."""
    targets, a = committed
    paper_audit = audit.audit_paper(targets)
    card = _card(targets, {"survival.data_cutoff": "2025-01-21", "survival.os.median": math.inf}, paper_audit)
    rows = card["key"].isin(["survival.data_cutoff", "survival.os.median"])
    why = misses.explain_misses(card[rows], targets, a, paper_audit, interval_fit.explain(a, targets, DPM),
                                days_per_month=DPM)
    table = misses.misses_table(card[rows], why).set_index("Published number")  # labelled in words, not keys
    assert table.loc["Data cutoff date", "Reproduced"] == "2025-01-21"
    assert "not reached" in table.loc["OS: median, months", "Why not exact"]
