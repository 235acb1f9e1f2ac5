"""Kaplan–Meier layer against R survival (tests/reference/survival_reference.json).

The JSON is produced by tests/reference/make_reference.R; these tests never call R.
R's NA for a quantile or bound that is not reached is ``math.inf`` here.
"""
import json
import math

import numpy as np
import pandas as pd
import pytest

from analysis.stats import km
from analysis.stats.control import SurvControl
from analysis.paths import DAYS_PER_MONTH, REFERENCE_DIR

REF = json.loads((REFERENCE_DIR / "survival_reference.json").read_text())
RTOL = 1e-6
LUNG = pd.DataFrame(REF["data"]["lung"])
DATASETS = {
    "lung": LUNG,
    "lung_months": LUNG.assign(time=np.round(LUNG.time / 30.4375)),
    "lung_sex1": LUNG[LUNG.sex == 1],
    "lung_sex2": LUNG[LUNG.sex == 2],
    "lung_months_sex2": LUNG.assign(time=np.round(LUNG.time / 30.4375))[LUNG.sex == 2],
}
CONF_TYPES = ["log", "log-log", "plain"]


def r_na_to_inf(x):
    return np.where(np.isnan(np.asarray(x, dtype=float)), np.inf, np.asarray(x, dtype=float))


def fit_of(name, conf_type="log-log"):
    d = DATASETS[name]
    return km.kaplan_meier(d.time, d.status, conf_type=conf_type)


def test_reference_records_versions():
    assert REF["meta"]["survival_version"]
    assert REF["meta"]["r_version"].startswith("R version")


@pytest.mark.parametrize("name", list(REF["km"]))
def test_km_table_against_R_survfit(name):
    """> f <- survfit(Surv(time, status) ~ 1, data = lung, conf.type = "log-log")
    > cbind(f$time, f$n.risk, f$n.event, f$n.censor, f$surv, f$surv * f$std.err, f$lower, f$upper)"""
    ref = REF["km"][name]["table_loglog"]
    tab = fit_of(name).table
    for ours, theirs in [("time", "time"), ("n_risk", "n_risk"), ("n_event", "n_event"), ("n_censor", "n_censor"),
                         ("surv", "surv"), ("std_err", "std_err_S"), ("lower", "lower"), ("upper", "upper")]:
        np.testing.assert_allclose(tab[ours].to_numpy(dtype=float), np.asarray(ref[theirs], dtype=float),
                                   rtol=RTOL, equal_nan=True, err_msg=ours)


@pytest.mark.parametrize("conf_type", CONF_TYPES)
@pytest.mark.parametrize("name", list(REF["km"]))
def test_quantile_ci_against_R_quantile_survfit(name, conf_type):
    """> quantile(survfit(Surv(time, status) ~ 1, data = lung, conf.type = conf_type), c(.25, .5, .75))"""
    ref = REF["km"][name]["by_conf_type"][conf_type]["quantile"]
    fit = fit_of(name)
    ctrl = SurvControl(median_ci=conf_type)
    for i, p in enumerate(ref["probs"]):
        q = km.quantile(fit, p, ctrl)
        np.testing.assert_allclose([q.estimate, q.lower, q.upper],
                                   r_na_to_inf([ref["quantile"][i], ref["lower"][i], ref["upper"][i]]), rtol=RTOL)


@pytest.mark.parametrize("conf_type", CONF_TYPES)
def test_median_ci_against_R_quantile_survfit_lung_months_ties(conf_type):
    """> lung$time <- round(lung$time / 30.4375)
    > quantile(survfit(Surv(time, status) ~ 1, data = lung, conf.type = conf_type), 0.5)"""
    ref = REF["km"]["lung_months"]["by_conf_type"][conf_type]["quantile"]
    m = km.median(fit_of("lung_months"), SurvControl(median_ci=conf_type))
    assert m.method == conf_type
    np.testing.assert_allclose([m.estimate, m.lower, m.upper],
                               r_na_to_inf([ref["quantile"][1], ref["lower"][1], ref["upper"][1]]), rtol=RTOL)


@pytest.mark.parametrize("conf_type", CONF_TYPES)
@pytest.mark.parametrize("name", list(REF["km"]))
def test_survival_at_against_R_summary_survfit_times(name, conf_type):
    """> summary(survfit(Surv(time, status) ~ 1, data = lung, conf.type = conf_type), times = c(0, 180, 365, ...))"""
    ref = REF["km"][name]["by_conf_type"][conf_type]["summary_times"]
    fit = fit_of(name)
    for i, t in enumerate(ref["time"]):
        r = km.survival_at(fit, t, conf_type=conf_type)
        assert not r.beyond_followup
        assert r.n_risk == ref["n_risk"][i]
        np.testing.assert_allclose([r.estimate, r.lower, r.upper],
                                   [ref["surv"][i], ref["lower"][i], ref["upper"][i]], rtol=RTOL)
        np.testing.assert_allclose(r.std_err, ref["std_err"][i], rtol=RTOL, atol=1e-15)


def test_rates_dataframe_matches_survival_at():
    """> summary(survfit(Surv(time, status) ~ 1, data = lung, conf.type = "log-log"), times = c(180, 365))"""
    fit = fit_of("lung")
    df = km.rates(fit, [180, 365])
    assert df.estimate.tolist() == [km.survival_at(fit, 180).estimate, km.survival_at(fit, 365).estimate]


def test_survival_at_beyond_last_followup_is_nan_with_flag():
    """> summary(survfit(Surv(time, status) ~ 1, data = lung), times = 2000)  # R: time dropped (no extend)"""
    fit = fit_of("lung")
    r = km.survival_at(fit, 2000)
    assert r.beyond_followup and math.isnan(r.estimate) and math.isnan(r.lower) and r.n_risk == 0
    last = km.survival_at(fit, fit.max_time)
    assert not last.beyond_followup and last.estimate == pytest.approx(fit.surv[-1])


@pytest.mark.parametrize("name", list(REF["km"]))
def test_rmst_against_R_print_survfit_rmean(name):
    """> print(survfit(Surv(time, status) ~ 1, data = lung), rmean = 730)   # rmean and se(rmean)"""
    ref = REF["km"][name]["rmean"]
    r = km.rmst(fit_of(name), ref["tau"])
    np.testing.assert_allclose([r.estimate, r.se], [ref["rmean"], ref["se"]], rtol=RTOL)
    assert r.lower == pytest.approx(r.estimate - 1.959963984540054 * r.se)


@pytest.mark.parametrize("conf_type", ["log", "log-log"])
@pytest.mark.parametrize("name", list(REF["km"]))
def test_reverse_km_followup_against_R_survfit_reverse(name, conf_type):
    """> quantile(survfit(Surv(time, 1 - status) ~ 1, data = lung, conf.type = conf_type), 0.5)"""
    ref = REF["km"][name]["reverse_km_median"][conf_type]
    d = DATASETS[name]
    fu = km.median_followup(d.time, d.status, "reverse_km", SurvControl(median_ci=conf_type))
    np.testing.assert_allclose([fu.median, fu.lower, fu.upper],
                               r_na_to_inf([ref["median"], ref["lower"], ref["upper"]]), rtol=RTOL)
    assert (fu.min, fu.max) == (d.time.min(), d.time.max())


def test_followup_observed_and_censored_only():
    """Plain medians (no R call needed): all times / censored times only."""
    fu = km.median_followup([1, 2, 3, 4, 10], [1, 0, 1, 0, 0], method="observed")
    assert fu.median == 3 and math.isnan(fu.lower) and (fu.min, fu.max) == (1, 10)
    assert km.median_followup([1, 2, 3, 4, 10], [1, 0, 1, 0, 0], method="censored_only").median == 4
    with pytest.raises(ValueError):
        km.median_followup([1], [1], method="mean")


@pytest.mark.parametrize("conf_type", CONF_TYPES)
@pytest.mark.parametrize("case", list(REF["edge"]))
def test_edge_cases_against_R_quantile_survfit(case, conf_type):
    """> quantile(survfit(Surv(time, status) ~ 1, data = edge_case, conf.type = conf_type), 0.5)
    cases: all censored, no censoring, single patient, exact 0.5 plateau (midpoint rule),
    median reached but upper CI not reached (R NA -> inf)."""
    ref = REF["edge"][case]
    fit = km.kaplan_meier(ref["time"], ref["status"], conf_type=conf_type)
    m = km.median(fit, SurvControl(median_ci=conf_type))
    np.testing.assert_allclose([m.estimate, m.lower, m.upper],
                               r_na_to_inf([ref[conf_type]["median"], ref[conf_type]["lower"], ref[conf_type]["upper"]]),
                               rtol=RTOL)
    np.testing.assert_allclose(fit.table.surv, ref[conf_type]["surv"], rtol=RTOL)
    np.testing.assert_allclose(fit.table.lower, np.asarray(ref[conf_type]["lower_band"], dtype=float),
                               rtol=RTOL, equal_nan=True)
    np.testing.assert_allclose(fit.table.upper, np.asarray(ref[conf_type]["upper_band"], dtype=float),
                               rtol=RTOL, equal_nan=True)


def test_not_reached_is_inf_never_nan():
    """> quantile(survfit(Surv(c(2, 4, 6, 8), c(0, 0, 0, 0)) ~ 1), 0.5)   # R: NA"""
    m = km.median(km.kaplan_meier([2, 4, 6, 8], [0, 0, 0, 0]), SurvControl(median_ci="log-log"))
    assert m.estimate == math.inf and m.upper == math.inf
    m = km.median(km.kaplan_meier([2, 4, 6, 8], [0, 0, 0, 0]))  # spss
    assert m.estimate == math.inf


def test_exact_half_plateau_cumprod_not_exp_sum_log():
    """S must be exactly 0.5 on the plateau (cumulative product), so the R midpoint rule applies.
    > quantile(survfit(Surv(1:6, c(1, 1, 1, 0, 1, 1)) ~ 1), 0.5)   # 4 = (3 + 5) / 2"""
    fit = km.kaplan_meier([1, 2, 3, 4, 5, 6], [1, 1, 1, 0, 1, 1])
    assert fit.table.surv.iloc[2] == 0.5
    assert km.median(fit).estimate == 4.0


def test_bands_nan_where_survival_is_zero_not_one():
    """> survfit(Surv(c(1, 2), c(1, 1)) ~ 1)$lower   # NA at S = 0"""
    fit = km.kaplan_meier([1, 2], [1, 1])
    assert np.isnan(fit.table.lower.iloc[-1]) and np.isnan(fit.table.upper.iloc[-1])
    assert np.isnan(fit.table.std_err.iloc[-1])


def test_spss_median_ci_by_hand_worked_example():
    """Ten deaths at 1..10: S(5) = 0.5 on [5, 6) -> median 5.5 (R midpoint rule).
    u = 4 (S = 0.6 >= 0.55), l = 6 (S = 0.4 <= 0.45), f = (0.6 - 0.4) / (6 - 4) = 0.1,
    Greenwood var S(5) = 0.25 * (1/5 - 1/10) = 0.025, se(t50) = sqrt(0.025) / 0.1."""
    fit = km.kaplan_meier(np.arange(1, 11), np.ones(10))
    m = km.median(fit, SurvControl(median_ci="spss"))
    se = math.sqrt(0.025) / 0.1
    z = 1.959963984540054
    assert m.estimate == 5.5
    assert m.se == pytest.approx(se, rel=1e-12)
    assert (m.lower, m.upper) == (pytest.approx(5.5 - z * se, rel=1e-12), pytest.approx(5.5 + z * se, rel=1e-12))


def test_spss_lower_bound_truncated_at_zero():
    """A wide SPSS interval prints 0.00 as its lower bound (paper: OS 7.8, 0.00–17.91)."""
    fit = km.kaplan_meier([1, 2, 20, 21], [1, 1, 1, 1])  # median 11, f = 0.5 / 19, se = 0.25 / f = 9.5
    m = km.median(fit, SurvControl(median_ci="spss"))
    assert m.estimate == 11 and m.se == pytest.approx(9.5)
    assert m.lower == 0.0 and m.upper == pytest.approx(11 + 1.959963984540054 * 9.5)


@pytest.mark.parametrize("est, half, lo, hi", [(5.6, 1.73, 3.87, 7.33), (13.2, 6.11, 7.09, 19.31), (7.8, 10.11, 0.00, 17.91)])
def test_published_median_intervals_are_symmetric_spss(est, half, lo, hi):
    """Paper: PFS 5.6 (3.87–7.33), OS 13.2 (7.09–19.31), 7.8 (0.00–17.91) = median ± 1.96·se, lower truncated at 0."""
    assert max(est - half, 0.0) == pytest.approx(lo, abs=5e-3)
    assert est + half == pytest.approx(hi, abs=5e-3)


def test_risk_table_counts_at_start_of_time():
    """survminer / SAS: n.risk at t = #(time >= t); cumulative events and censorings at times <= t.
    > summary(survfit(Surv(time, status) ~ 1, data = lung), times = c(0, 180, 365))$n.risk"""
    fit = fit_of("lung")
    rt = km.risk_table(fit, [0, 180, 365, 2000])
    ref = REF["km"]["lung"]["by_conf_type"]["log-log"]["summary_times"]
    assert rt.n_risk.tolist()[:3] == ref["n_risk"][:3]
    t = LUNG.time.to_numpy()
    e = LUNG.status.to_numpy()
    for _, row in rt.iterrows():
        assert row.n_risk == (t >= row.time).sum()
        assert row.cum_events == ((t <= row.time) & (e == 1)).sum()
        assert row.cum_censored == ((t <= row.time) & (e == 0)).sum()


def test_survival_against_lifelines_cross_check():
    """Cross-check only: lifelines KaplanMeierFitter survival function (exp-sum-log, equal to ~1e-12)."""
    lifelines = pytest.importorskip("lifelines")
    kmf = lifelines.KaplanMeierFitter().fit(LUNG.time, LUNG.status)
    ours = km.kaplan_meier(LUNG.time, LUNG.status).table.set_index("time").surv
    theirs = kmf.survival_function_.iloc[1:, 0]
    np.testing.assert_allclose(ours.to_numpy(), theirs.reindex(ours.index).to_numpy(), rtol=1e-10)


def test_large_input_vectorised():
    """10^5 simulated rows: the fit finishes and stays consistent (no timing assertion)."""
    rng = np.random.default_rng(1)
    t = np.round(rng.exponential(12, 100_000), 1)
    e = rng.random(100_000) < 0.7
    fit = km.kaplan_meier(t, e)
    assert fit.n == 100_000 and fit.events == int(e.sum())
    assert np.all(np.diff(fit.table.surv) <= 0)
    assert math.isfinite(km.median(fit).estimate)


def test_months_factor_is_the_project_constant():
    assert DAYS_PER_MONTH == pytest.approx(30.4375)


def test_input_validation():
    with pytest.raises(ValueError):
        km.kaplan_meier([1, 2], [1])
    with pytest.raises(ValueError):
        km.kaplan_meier([1, -2], [1, 1])
    with pytest.raises(ValueError):
        km.kaplan_meier([1, 2], [1, 2])
    with pytest.raises(ValueError):
        km.quantile(fit_of("lung"), 1.5)
    with pytest.warns(UserWarning, match="missing"):
        km.kaplan_meier([1, np.nan, 3], [1, 1, 0])


@pytest.mark.parametrize("kwargs", [dict(conf_level=0), dict(conf_level=1.2), dict(median_ci="bc"),
                                    dict(rate_ci="arcsine"), dict(plateau_tol=-1), dict(plateau_tol=0.5)])
def test_survcontrol_rejects_bad_values(kwargs):
    with pytest.raises(ValueError):
        SurvControl(**kwargs)
