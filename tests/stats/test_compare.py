"""Log-rank and Cox layer against R survival (tests/reference/survival_reference.json)."""
import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from analysis.stats.compare import ConvergenceWarning, adjust_pvalues, cox, logrank, logrank_trend
from analysis.stats.control import CoxControl
from analysis.paths import REFERENCE_DIR

REF = json.loads((REFERENCE_DIR / "survival_reference.json").read_text())
RTOL = 1e-6
LUNG = pd.DataFrame(REF["data"]["lung"]).astype({"ph_ecog": float})
LUNG_M = LUNG.assign(time=np.round(LUNG.time / 30.4375))
DATA = {"lung": LUNG, "lung_months": LUNG_M}


# ------------------------------------------------------------------ log-rank
@pytest.mark.parametrize("case, data, group", [("lung_sex", "lung", "sex"), ("lung_months_sex", "lung_months", "sex"),
                                               ("lung_ecog", "lung", "ph_ecog"),
                                               ("lung_months_ecog", "lung_months", "ph_ecog")])
def test_logrank_against_R_survdiff(case, data, group):
    """> survdiff(Surv(time, status) ~ sex, data = lung)   (and ~ ph.ecog, and month-resolution ties)"""
    ref = REF["logrank"][case]
    d = DATA[data].dropna(subset=[group])
    lr = logrank(d.time, d.status, d[group])
    assert lr.df == ref["df"]
    np.testing.assert_allclose([lr.chisq, lr.p], [ref["chisq"], ref["p"]], rtol=RTOL)
    np.testing.assert_allclose(lr.summary.n, ref["n"])
    np.testing.assert_allclose(lr.summary.observed, ref["observed"], rtol=RTOL)
    np.testing.assert_allclose(lr.summary.expected, ref["expected"], rtol=RTOL)
    np.testing.assert_allclose(lr.var, np.array(ref["var"]), rtol=RTOL, atol=1e-12)


def test_logrank_against_R_survdiff_empty_level_dropped_with_warning():
    """> lung$grp <- factor(lung$ph.ecog, levels = 0:4); survdiff(Surv(time, status) ~ grp, data = lung)"""
    ref = REF["logrank"]["lung_ecog_empty_level"]
    d = LUNG.dropna(subset=["ph_ecog"])
    grp = pd.Categorical(d.ph_ecog.astype(int).astype(str), categories=ref["levels"])
    with pytest.warns(UserWarning, match="empty groups"):
        lr = logrank(d.time, d.status, grp)
    assert lr.summary.group.tolist() == ["0", "1", "2", "3"]
    np.testing.assert_allclose(lr.summary.n, ref["n"])
    assert lr.chisq == pytest.approx(ref["chisq"], rel=RTOL)


def test_logrank_single_group_gives_nan_p_with_warning():
    """> survdiff(Surv(time, status) ~ 1, data = lung)  # R: no test"""
    with pytest.warns(UserWarning, match="two non-empty groups"):
        lr = logrank(LUNG.time, LUNG.status, np.ones(len(LUNG)))
    assert math.isnan(lr.p) and math.isnan(lr.chisq)


def test_logrank_missing_group_rows_dropped_with_warning():
    """> survdiff(Surv(time, status) ~ ph.ecog, data = lung)  # R drops the NA row too"""
    with pytest.warns(UserWarning, match="missing"):
        lr = logrank(LUNG.time, LUNG.status, LUNG.ph_ecog)
    assert lr.chisq == pytest.approx(REF["logrank"]["lung_ecog"]["chisq"], rel=RTOL)


@pytest.mark.parametrize("case, data", [("lung_ecog", "lung"), ("lung_months_ecog", "lung_months")])
def test_logrank_trend_against_R_survdiff_var_closed_form(case, data):
    """> s <- survdiff(Surv(time, status) ~ ph.ecog, data = lung); w <- 0:3
    > U <- sum(w * (s$obs - s$exp)); V <- t(w) %*% s$var %*% w; U^2 / V"""
    ref = REF["trend"][case]
    d = DATA[data].dropna(subset=["ph_ecog"])
    tr = logrank_trend(d.time, d.status, d.ph_ecog)
    np.testing.assert_allclose([tr.U, tr.V, tr.chisq, tr.p], [ref["U"], ref["V"], ref["chisq"], ref["p"]], rtol=RTOL)
    assert tr.summary.score.tolist() == ref["scores"]


def test_logrank_against_lifelines_cross_check():
    """Cross-check only: lifelines.statistics.logrank_test (agrees with survdiff)."""
    stats = pytest.importorskip("lifelines.statistics")
    a, b = LUNG[LUNG.sex == 1], LUNG[LUNG.sex == 2]
    res = stats.logrank_test(a.time, b.time, a.status, b.status)
    assert logrank(LUNG.time, LUNG.status, LUNG.sex).chisq == pytest.approx(res.test_statistic, rel=1e-10)


# ------------------------------------------------------------------ Cox
COX_CASES = {
    "lung_breslow": ("lung", ["age", "sex", "ph_ecog"], None),
    "lung_efron": ("lung", ["age", "sex", "ph_ecog"], None),
    "lung_months_breslow": ("lung_months", ["age", "sex", "ph_ecog"], None),
    "lung_months_efron": ("lung_months", ["age", "sex", "ph_ecog"], None),
    "lung_factor_ref1_breslow": ("lung", ["age", "ph_ecog"], {"ph_ecog": 1}),
    "lung_months_factor_ref1_efron": ("lung_months", ["age", "ph_ecog"], {"ph_ecog": 1}),
}


def fit_case(case):
    data, covs, reference = COX_CASES[case]
    ties = "efron" if case.endswith("efron") else "breslow"
    d = DATA[data]
    if reference:
        d = d.dropna(subset=["ph_ecog"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the one NA ph.ecog row
        return cox(d, "time", "status", covs, CoxControl(ties=ties), reference=reference)


@pytest.mark.parametrize("case", list(COX_CASES))
def test_cox_against_R_coxph(case):
    """> coxph(Surv(time, status) ~ age + sex + ph.ecog, data = lung, ties = "breslow")   # and "efron",
    > # month-resolution ties, and ~ age + relevel(factor(ph.ecog), ref = "1")"""
    ref = REF["cox"][case]
    res = fit_case(case)
    s = res.summary
    assert len(s) == len(ref["terms"])
    for col in ["coef", "se", "hr", "lower", "upper", "z", "p"]:
        np.testing.assert_allclose(s[col], ref[col], rtol=RTOL, err_msg=col)
    np.testing.assert_allclose([res.loglik_null, res.loglik], ref["loglik"], rtol=RTOL)
    np.testing.assert_allclose([res.lr_chisq, res.lr_p], [ref["lr_chisq"], ref["lr_p"]], rtol=RTOL)
    assert res.lr_df == ref["lr_df"] and res.n == ref["n"] and res.events == ref["events"]
    assert res.converged


def test_cox_factor_terms_named_and_reference_dropped():
    """> coxph(Surv(time, status) ~ age + relevel(factor(ph.ecog), ref = "1"), data = lung, ties = "breslow")"""
    res = fit_case("lung_factor_ref1_breslow")
    assert res.summary.term.tolist() == ["age", "ph_ecog=0.0", "ph_ecog=2.0", "ph_ecog=3.0"]
    assert res.terms == {"age": [0], "ph_ecog": [1, 2, 3]}


@pytest.mark.parametrize("transform", ["km", "identity"])
@pytest.mark.parametrize("case", list(COX_CASES))
def test_ph_test_against_R_cox_zph(case, transform):
    """> cox.zph(coxph(Surv(time, status) ~ age + sex + ph.ecog, data = lung, ties = "breslow"), transform = "km")"""
    ref = REF["cox"][case]["zph_" + transform]
    tab = fit_case(case).ph_test(transform).table
    assert tab.term.iloc[-1] == "GLOBAL" and len(tab) == len(ref["terms"])
    np.testing.assert_allclose(tab.chisq, ref["chisq"], rtol=RTOL)
    np.testing.assert_allclose(tab.df, ref["df"])
    np.testing.assert_allclose(tab.p, ref["p"], rtol=RTOL)


def test_cox_complete_separation_warns_not_converged_against_R():
    """> coxph(Surv(time, status) ~ x, data = sep, ties = "breslow")
    R: warning "Ran out of iterations and did not converge", coef ~ 22."""
    ref = REF["cox"]["separation"]
    d = pd.DataFrame({"time": ref["time"], "status": ref["status"], "x": ref["x"]})
    assert "did not converge" in ref["warning"][0]
    with pytest.warns(ConvergenceWarning):
        res = cox(d, "time", "status", ["x"])
    assert not res.converged
    assert res.summary.coef.iloc[0] > 10 and ref["coef"][0] > 10
    assert res.loglik == pytest.approx(ref["loglik"][1], rel=1e-3)


def test_cox_string_covariate_with_reference_level():
    """Categorical coding: treatment dummies, explicit reference; same fit as the 0/1 numeric coding.
    > coxph(Surv(time, status) ~ relevel(factor(sex), ref = "2"), data = lung, ties = "breslow")"""
    d = LUNG.assign(sexc=LUNG.sex.map({1: "male", 2: "female"}), male=(LUNG.sex == 1).astype(float))
    a = cox(d, "time", "status", ["sexc"], reference={"sexc": "female"})
    b = cox(d, "time", "status", ["male"])
    assert a.summary.term.tolist() == ["sexc=male"]
    assert a.summary.coef.iloc[0] == pytest.approx(b.summary.coef.iloc[0], rel=1e-10)
    with pytest.raises(ValueError, match="reference level"):
        cox(d, "time", "status", ["sexc"], reference={"sexc": "other"})


def test_cox_efron_against_lifelines_cross_check():
    """Cross-check only: lifelines CoxPHFitter (Efron)."""
    lifelines = pytest.importorskip("lifelines")
    d = LUNG_M.dropna()
    cph = lifelines.CoxPHFitter().fit(d[["time", "status", "age", "sex", "ph_ecog"]], "time", "status")
    ours = cox(d, "time", "status", ["age", "sex", "ph_ecog"], CoxControl(ties="efron"))
    np.testing.assert_allclose(ours.summary.coef, cph.params_.to_numpy(), rtol=1e-5)


@pytest.mark.parametrize("kwargs", [dict(ties="exact"), dict(conf_level=0.0), dict(max_iter=0), dict(eps=1.0)])
def test_coxcontrol_rejects_bad_values(kwargs):
    with pytest.raises(ValueError):
        CoxControl(**kwargs)


# ------------------------------------------------------------------ multiplicity
def test_adjust_pvalues_against_R_p_adjust_BH():
    """> p.adjust(c(0.01, 0.04, 0.03, 0.2, NA), "BH")   # 0.04 0.0533 0.0533 0.2 NA"""
    out = adjust_pvalues([0.01, 0.04, 0.03, 0.2, np.nan])
    np.testing.assert_allclose(out[:4], [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.2], rtol=1e-12)
    assert np.isnan(out[4])
    np.testing.assert_array_equal(adjust_pvalues([0.5, 0.1], "none"), [0.5, 0.1])
    with pytest.raises(ValueError):
        adjust_pvalues([0.1], "holm")


def test_logrank_trend_everyone_censored_gives_nan_not_zero_division():
    """R: survdiff(Surv(t, rep(0, 6)) ~ dose) has no events (chisq 0, var 0); the trend test is undefined,
    p = NaN with a warning (was ZeroDivisionError in 03-survival)."""
    with pytest.warns(UserWarning, match="zero variance"):
        tr = logrank_trend([1, 2, 3, 4, 5, 6], [0] * 6, [8, 8, 10, 10, 12, 12])
    assert math.isnan(tr.p) and math.isnan(tr.chisq) and tr.V == 0


def test_logrank_everyone_censored_gives_nan_p():
    with pytest.warns(UserWarning, match="no events"):
        lr = logrank([1, 2, 3, 4], [0, 0, 0, 0], ["a", "b", "a", "b"])
    assert math.isnan(lr.p) and lr.df == 0
