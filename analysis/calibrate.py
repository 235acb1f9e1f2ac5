"""Calibrate the synthetic cohort towards every published number (``make calibrate``).

:func:`analysis.synthetic.generate_cohort` makes every published *count* exact
(Table 1, best responses, events, Table 3) and matches the overall PFS and OS
medians. The paper publishes much more that depends on the exact shape of the
survival data: the three medians with their SPSS intervals, landmark rates with
log(−log) intervals, PFS by dose, the follow-up range, 13 subgroup medians with
intervals and log-rank p values, and a Cox model. This module moves individual
patients' dates and covariate values so that the analyses of the report, run on
the cohort, print as many of these numbers as the paper does.

Method
------
1. **Start.** The cohort of :func:`~analysis.synthetic.generate_cohort` (seed
   ``seed``) is read back into a per-patient state: days from treatment start to
   progression/death/last contact (``pfs_d``, ``os_d``), the day of the first
   partial response of responders (``fr_d``), the event flags and the baseline
   covariates. Event flags, best responses, tumour sizes and adverse events are
   never changed, so every count stays exact.
2. **Objective.** For each published number that depends on the moved data
   (``survival.*`` medians, intervals, rates, follow-up, PFS by dose;
   ``subgroups.*`` medians, intervals, log-rank p values and Cox estimates), the
   loss adds ``w · (1 + 0.25 · log(1 + |reproduced − published| / h))`` unless the
   number prints as published (``h`` = half a unit of the last printed decimal,
   ``w`` = 1; 4 for the overall and by-dose medians; 0.15 for numbers the paper's own
   consistency audit flags). The
   loss is thus the count of non-exact numbers plus a scaled distance. The
   statistics are fast re-implementations (integer days, numpy) of
   :mod:`analysis.km` (KM, R's quantile rule, the SPSS median interval, log-log
   landmark intervals, reverse-KM follow-up) and :mod:`analysis.compare`
   (k-group log-rank, Breslow Cox with Wald intervals); the loss is cached per
   component (PFS, DoR, OS, one per Table 2 variable, Cox) so a move recomputes
   only what it touches.
3. **Moves** (each keeps the data contract): shift one patient's
   progression day, death/last-contact day (a censored PFS follows its
   last contact), or a responder's first-response day, by ±1–3 days, ±4–30 days
   or uniformly within the patient's feasible window (progression ≤ death,
   follow-up 1.05–31.5 months, a PD patient progresses at the first assessment,
   responders respond ≥ 4 weeks after start and ≥ 2 weeks before progression,
   patients on treatment at the cutoff keep ≥ 4.2 months of follow-up); or swap
   the values of one baseline variable between two patients (every marginal
   count is kept; the paper's case patient keeps her characteristics).
4. **Search.** Simulated annealing with a seeded ``numpy.random.Generator``, a
   fixed number of steps (``--steps``) and a geometric temperature schedule, then
   a greedy pass at zero temperature; the best state seen is kept. No decision
   depends on the wall clock, so the same seed and steps give byte-identical files.
5. **Raw tables.** The state is written back in the raw hospital-export form:
   treatment starts (patients alive at the cutoff are followed to it; the others
   start at seeded dates between June 2022 and mid-September 2024), progression,
   death and last-contact dates, assessments every ~6 weeks whose target-lesion
   sums reuse each patient's baseline and nadir sums (so every best response and
   the mean best % change are unchanged) with RECIST 1.1 labels re-derived from
   the sizes, the first PR on ``fr_d`` and a PD assessment on the progression
   date, and adverse-event onsets kept within each patient's follow-up.
6. **Check.** The result is validated with :func:`analysis.validate.validate_cohort`
   (no errors allowed) and scored with the project's own statistics and
   :func:`analysis.scorecard.scorecard` (:func:`analysed_numbers`).

Usage::

    python -m analysis.calibrate --out data/synthetic [--seed N] [--steps N]
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import recist, synthetic
from .paths import DAYS_PER_MONTH

DEFAULT_SEED = 20250120
DEFAULT_STEPS = 22000
Z = 1.959963984540054
MAX_FU_DAYS = 960  # 31.54 months: the published maximum follow-up 31.5
MIN_FU_DAYS = 32  # 1.05 months: the published minimum 1.1
ON_TRT_MIN_DAYS = (synthetic.CUTOFF - synthetic.LATEST_START).days  # followed to the cutoff from the latest start

# Table 2 variables: name -> level keys (order of analysis.cohort.baseline_variables)
SUB_LEVELS = {
    "age_group": ("gt_cut", "le_cut"), "sex": ("male", "female"), "ecog_group": ("ecog_0_1", "ecog_2"),
    "smoking": ("never", "former", "current"), "prior_lines_group": ("first_line", "second_or_more"),
    "platinum_response": ("sensitive", "resistant"), "interim_systemic_therapy": ("no", "yes"),
    "brain_metastasis": ("yes", "no"), "prior_ici_class": ("pd1", "pdl1"),
    "prior_ici_failure": ("progression", "intolerance"), "radiotherapy": ("yes", "no"),
    "anlotinib_dose_mg": ("mg8", "mg10", "mg12"),
    "ici_agent": ("tislelizumab", "serplulimab", "atezolizumab", "adebrelimab"),
}
# raw column behind each Table 2 variable
RAW_OF = {"age_group": "age", "ecog_group": "ecog", "prior_lines_group": "prior_lines"}
SWAP_COLUMNS = ["age", "sex", "ecog", "smoking", "prior_lines", "platinum_response", "interim_systemic_therapy",
                "brain_metastasis", "prior_ici_class", "prior_ici_failure", "radiotherapy", "anlotinib_dose_mg",
                "ici_agent"]
CASE_COLUMNS = ("age", "sex", "prior_ici_failure", "prior_ici_class", "ici_agent")


# ----------------------------------------------------------------------------- parameters
def _params() -> dict:
    """Analysis parameters of the report (params/*.yaml), with the notebooks' defaults."""
    import yaml

    from .paths import PROJ_ROOT

    out = dict(age_cut=61, landmarks_dor=[12, 20], landmarks_pfs=[12, 24], landmarks_os=[24, 30],
               followup_method="observed",
               cox_covariates={"ecog_group": "ecog_2", "platinum_response": "resistant", "prior_ici_class": "pdl1",
                               "prior_ici_failure": "intolerance", "anlotinib_dose_mg": None})
    for name in ("common", "03-survival", "04-subgroups"):
        f = Path(PROJ_ROOT) / "params" / f"{name}.yaml"
        if f.exists():
            for k, v in (yaml.safe_load(f.read_text(encoding="utf-8")) or {}).items():
                if k in out:
                    out[k] = v
    return out


# ----------------------------------------------------------------------------- fast statistics
def _km(t: np.ndarray, e: np.ndarray):
    """Distinct times, event counts, S(t) and Greenwood var of -log S (as analysis.km.kaplan_meier)."""
    ut, inv = np.unique(t, return_inverse=True)
    cnt = np.bincount(inv, minlength=ut.size)
    d = np.bincount(inv, weights=e, minlength=ut.size)
    n_risk = t.size - np.concatenate(([0], np.cumsum(cnt)[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - d / n_risk)
        var_log = np.cumsum(np.where(d > 0, d / (n_risk * (n_risk - d)), 0.0))
    return ut, d, surv, var_log


def _median(ut, surv, tol=1e-9) -> float:
    """R's quantile rule (analysis.km._findq) for p = 0.5."""
    x = np.concatenate(([0.0], ut))
    y = np.concatenate(([0.0], 1.0 - surv))
    keep = np.concatenate(([True], y[1:] != y[:-1]))
    # pandas duplicated() drops any repeated value, y is non-decreasing so neighbours suffice
    xk, yk = x[keep], y[keep]
    if yk[-1] < 0.5 - tol:
        return math.inf
    j1 = int(np.searchsorted(yk, 0.5 - tol, side="left"))
    j2 = int(np.searchsorted(yk, 0.5 + tol, side="left"))
    if j2 >= yk.size:
        if abs(0.5 - yk[-1]) < tol:
            return float((xk[j1] + x[-1]) / 2.0)
        return math.inf
    return float((xk[j1] + xk[j2]) / 2.0)


def _median_spss(t, e):
    """(median, lower, upper) with the SPSS interval (analysis.km._spss_interval)."""
    ut, d, surv, var_log = _km(t, e)
    est = _median(ut, surv)
    if not math.isfinite(est):
        return est, math.inf, math.inf
    ev = d > 0
    t_ev, s_ev = ut[ev], surv[ev]
    lo_mask = s_ev <= 0.45
    if not lo_mask.any():
        return est, math.nan, math.nan
    up_mask = s_ev >= 0.55
    if up_mask.any():
        k = np.flatnonzero(up_mask)[-1]
        u, s_u = t_ev[k], s_ev[k]
    else:
        u, s_u = 0.0, 1.0
    k = np.flatnonzero(lo_mask)[0]
    l_, s_l = t_ev[k], s_ev[k]
    f = (s_u - s_l) / (l_ - u)
    i = int(np.searchsorted(ut, est, side="right")) - 1
    se_s = 0.0
    if i >= 0:
        se_s = surv[i] * math.sqrt(var_log[i]) if surv[i] > 0 else math.nan
    if not (f > 0) or not math.isfinite(se_s):
        return est, math.nan, math.nan
    half = Z * se_s / f
    return est, max(est - half, 0.0), est + half


def _rate(t, e, at):
    """S(at) with the log-log interval, in percent (analysis.km.survival_at)."""
    ut, d, surv, var_log = _km(t, e)
    if at > ut[-1]:
        return math.nan, math.nan, math.nan
    i = int(np.searchsorted(ut, at, side="right")) - 1
    if i < 0:
        return 100.0, 100.0, 100.0
    s = surv[i]
    if s == 0 or s == 1 or not math.isfinite(var_log[i]):
        return 100 * s, math.nan, math.nan
    se2 = Z * math.sqrt(var_log[i]) / math.log(s)
    ll = math.log(-math.log(s))
    return 100 * s, 100 * math.exp(-math.exp(ll - se2)), 100 * math.exp(-math.exp(ll + se2))


def _chi2_sf(x: float, df: int) -> float:
    if not math.isfinite(x):
        return math.nan
    x = max(x, 0.0)
    if df == 1:
        return math.erfc(math.sqrt(x / 2))
    if df == 2:
        return math.exp(-x / 2)
    if df == 3:
        return math.erfc(math.sqrt(x / 2)) + math.sqrt(2 * x / math.pi) * math.exp(-x / 2)
    from scipy.stats import chi2

    return float(chi2.sf(x, df))


from .compare import _logrank_core, logrank_statistic  # noqa: E402  (the same test as compare.logrank)


def _logrank_p(t, e, codes, k):
    """k-group log-rank p (analysis.compare.logrank; codes 0..k-1, empty groups dropped)."""
    present = np.unique(codes)
    if present.size < 2:
        return math.nan
    remap = -np.ones(k, dtype=int)
    remap[present] = np.arange(present.size)
    codes = remap[codes]
    k = present.size
    stat, df = logrank_statistic(*_logrank_core(t, e, codes, k)[:3])
    return _chi2_sf(stat, df)


def _endpoint_numbers(prefix: str, t, e, landmarks) -> dict[str, float]:
    """Median with SPSS CI and landmark rates of one endpoint, under the notebooks' result keys."""
    m = _median_spss(t, e)
    out = {f"{prefix}.median": m[0], f"{prefix}.lower": m[1], f"{prefix}.upper": m[2]}
    for lm in landmarks:
        for k, v in zip(("estimate", "lower", "upper"), _rate(t, e, float(lm))):
            out[f"{prefix}.rate_{lm:g}.{k}"] = v
    return out


def _cox_breslow(t, e, X, beta0=None, iters=30):
    """Breslow Cox fit by Newton-Raphson: (beta, se) (analysis.compare.cox, ties="breslow")."""
    order = np.argsort(-t, kind="stable")
    t, e, X = t[order], e[order], X[order]
    n, p = X.shape
    # risk set at an event time = all with time >= it; group tied times
    ut, first_desc = np.unique(-t, return_index=True)  # first index (in descending order) of each time
    last_idx = np.concatenate((first_desc[1:], [n])) - 1  # last row of each tied block
    d = np.add.reduceat(e, first_desc)
    xe = np.add.reduceat(X * e[:, None], first_desc, axis=0)
    keep = d > 0
    beta = np.zeros(p) if beta0 is None else beta0.copy()
    XX = X[:, :, None] * X[:, None, :]
    for _ in range(iters):
        w = np.exp(X @ beta)
        s0 = np.cumsum(w)[last_idx][keep]
        s1 = np.cumsum(w[:, None] * X, axis=0)[last_idx][keep]
        s2 = np.cumsum(w[:, None, None] * XX, axis=0)[last_idx][keep]
        dk = d[keep]
        m = s1 / s0[:, None]
        score = xe[keep].sum(axis=0) - (dk[:, None] * m).sum(axis=0)
        info = (dk[:, None, None] * (s2 / s0[:, None, None] - m[:, :, None] * m[:, None, :])).sum(axis=0)
        try:
            step = np.linalg.solve(info, score)
        except np.linalg.LinAlgError:
            return beta, np.full(p, np.nan)
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    w = np.exp(X @ beta)
    s0 = np.cumsum(w)[last_idx][keep]
    s1 = np.cumsum(w[:, None] * X, axis=0)[last_idx][keep]
    s2 = np.cumsum(w[:, None, None] * XX, axis=0)[last_idx][keep]
    m = s1 / s0[:, None]
    info = (d[keep][:, None, None] * (s2 / s0[:, None, None] - m[:, :, None] * m[:, None, :])).sum(axis=0)
    try:
        se = np.sqrt(np.diag(np.linalg.inv(info)))
    except np.linalg.LinAlgError:
        se = np.full(p, np.nan)
    return beta, se


# ----------------------------------------------------------------------------- state
@dataclass
class State:
    """Per-patient quantities the calibration moves (days from treatment start)."""

    os_d: np.ndarray
    pfs_d: np.ndarray
    fr_d: np.ndarray  # first PR day (responders), -1 otherwise
    dead: np.ndarray
    prog: np.ndarray
    resp: np.ndarray
    on_trt: np.ndarray
    cov: dict  # raw column -> np.ndarray (values swapped between patients)
    case: int  # the paper's case patient (keeps her characteristics)
    extra: dict = field(default_factory=dict)

    def copy(self) -> "State":
        return State(self.os_d.copy(), self.pfs_d.copy(), self.fr_d.copy(), self.dead, self.prog, self.resp,
                     self.on_trt, {k: v.copy() for k, v in self.cov.items()}, self.case, self.extra)


def _pfs_window(s: State, i: int) -> tuple[int, int]:
    """Feasible progression days of a progressing patient, given its death/last-contact day."""
    r = s.resp[i]
    hi = int(s.os_d[i])
    if r == "PD":
        lo, hi = 28, min(hi, 95)
    elif r == "NE":
        lo, hi = 20, min(hi, 95)
    elif r == "PR":
        lo = max(35, int(s.fr_d[i]) + 14)
    else:
        lo = 35
    return lo, hi


def state_from_tables(tables: dict) -> State:
    p = tables["patients"].reset_index(drop=True)
    a = tables["assessments"]
    start = p["treatment_start_date"]
    dead = p["death_date"].notna().to_numpy()
    prog = p["progression_date"].notna().to_numpy()
    end = p["death_date"].where(p["death_date"].notna(), p["last_contact_date"])
    os_d = (end - start).dt.days.to_numpy().astype(int)
    ev = pd.concat([p["progression_date"], p["death_date"]], axis=1).min(axis=1)
    pfs_d = (ev.where(ev.notna(), p["last_contact_date"]) - start).dt.days.to_numpy().astype(int)
    ids = p["patient_id"]
    resp = recist.best_overall_response(a, ids).to_numpy().astype(object)
    fr = recist.first_response_date(a, ids)
    fr_d = np.where(pd.notna(fr.to_numpy()), (pd.to_datetime(fr.to_numpy()) - start.to_numpy()).days, -1)
    fr_d = np.asarray(fr_d, dtype=float)
    fr_d = np.where(np.isnan(fr_d), -1, fr_d).astype(int)
    cov = {c: p[c].to_numpy().copy() for c in SWAP_COLUMNS}
    # the case report patient: 40-year-old woman, intolerant to prior PD-L1, on tislelizumab, best shrinkage
    base = p.set_index("patient_id")["baseline_sum_mm"]
    nadir = a.groupby("patient_id")["sum_diameters_mm"].min()
    pct = ((nadir - base.reindex(nadir.index)) / base.reindex(nadir.index)).reindex(ids).to_numpy()
    cand = np.flatnonzero((p["age"] == 40) & (p["sex"] == "female") & (p["prior_ici_failure"] == "intolerance")
                          & (p["prior_ici_class"] == "pdl1") & (p["ici_agent"] == "tislelizumab"))
    case = int(cand[np.nanargmin(pct[cand])]) if len(cand) else -1
    s = State(os_d, pfs_d, fr_d, dead, prog, resp, (p["on_treatment_at_cutoff"] == "yes").to_numpy(), cov, case)
    # make the start feasible for the moves' constraints
    s.os_d = np.clip(s.os_d, MIN_FU_DAYS, MAX_FU_DAYS)
    s.os_d[s.on_trt] = np.maximum(s.os_d[s.on_trt], ON_TRT_MIN_DAYS)
    for i in range(len(p)):
        if s.resp[i] == "PR":
            s.fr_d[i] = int(np.clip(s.fr_d[i], 28, max(28, s.os_d[i] - 1)))
        if s.prog[i]:
            lo, hi = _pfs_window(s, i)
            if s.resp[i] == "PR" and lo > hi:
                s.fr_d[i] = max(28, hi - 14)
                lo, hi = _pfs_window(s, i)
            s.os_d[i] = max(s.os_d[i], lo)
            lo, hi = _pfs_window(s, i)
            s.pfs_d[i] = int(np.clip(s.pfs_d[i], lo, hi))
        else:
            s.pfs_d[i] = s.os_d[i]
    s.extra = {"ids": ids.to_numpy(), "tables": tables}
    return s


# ----------------------------------------------------------------------------- reshaping
#: Target curves (months, S) through the published medians, SPSS-interval widths and landmark rates,
#: used once before the search: each time is mapped through the inverse target curve at its KM value.
OS_SHAPE = ((0.0, 1.0), (10.3, 0.56), (13.2, 0.50), (16.1, 0.44), (24.0, 0.276), (31.5, 0.20))
PFS_SHAPE = ((0.0, 1.0), (1.4, 0.85), (4.8, 0.56), (5.6, 0.50), (6.4, 0.44), (12.0, 0.309), (24.0, 0.092),
             (31.5, 0.05))


def _reshape(days: np.ndarray, event: np.ndarray, shape) -> np.ndarray:
    """Monotone map of times so that the KM curve follows ``shape`` (ranks are kept)."""
    t = days / DAYS_PER_MONTH
    ut, d, surv, _ = _km(t, event.astype(float))
    before = np.concatenate(([1.0], surv[:-1]))
    idx = np.searchsorted(ut, t)
    s_at = np.where(event, (before[idx] + surv[idx]) / 2, surv[idx])
    kt = np.array([k[0] for k in shape])[::-1]
    ks = np.array([k[1] for k in shape])[::-1]
    new = np.interp(s_at, ks, kt)
    return np.round(new * DAYS_PER_MONTH).astype(int)


def reshape(s: State) -> State:
    """Move OS and PFS times onto the target curves, keeping ranks and the data contract."""
    s = s.copy()
    s.os_d = np.clip(_reshape(s.os_d, s.dead, OS_SHAPE), MIN_FU_DAYS, MAX_FU_DAYS)
    s.os_d[s.on_trt] = np.maximum(s.os_d[s.on_trt], ON_TRT_MIN_DAYS)
    pfs = _reshape(s.pfs_d, s.prog | s.dead, PFS_SHAPE)
    for i in range(s.os_d.size):
        if s.prog[i]:
            lo, _ = _pfs_window(s, i)
            s.os_d[i] = max(s.os_d[i], lo)
            lo, hi = _pfs_window(s, i)
            s.pfs_d[i] = int(np.clip(pfs[i], lo, hi))
        else:
            s.pfs_d[i] = s.os_d[i]
        if s.resp[i] == "PR":
            hi = s.pfs_d[i] - 14 if s.prog[i] else s.os_d[i] - 1
            s.fr_d[i] = int(np.clip(s.fr_d[i], 28, max(28, hi)))
    return s


# ----------------------------------------------------------------------------- objective
def _groups(cov: dict, age_cut: float) -> dict:
    """Level codes (0..k-1) per Table 2 variable from the raw covariates."""
    g = {}
    for var, levels in SUB_LEVELS.items():
        raw = cov[RAW_OF.get(var, var)]
        if var == "age_group":
            lab = np.where(raw.astype(float) > age_cut, "gt_cut", "le_cut")
        elif var == "ecog_group":
            lab = np.where(raw.astype(int) <= 1, "ecog_0_1", "ecog_2")
        elif var == "prior_lines_group":
            lab = np.where(raw.astype(int) <= 1, "first_line", "second_or_more")
        elif var == "anlotinib_dose_mg":
            lab = np.array(["mg%d" % int(x) for x in raw], dtype=object)
        else:
            lab = raw
        idx = {lv: k for k, lv in enumerate(levels)}
        g[var] = np.array([idx[x] for x in lab], dtype=int)
    return g


class Objective:
    """Loss of a state against the published targets, cached per component."""

    def __init__(self, targets: pd.DataFrame, params: dict | None = None):
        from .audit import audit_paper, inconsistent_keys, is_flagged

        self.params = params or _params()
        flagged = inconsistent_keys(audit_paper(targets))
        rows = []
        for t in targets.itertuples(index=False):
            if not (t.key.startswith("survival.") or t.key.startswith("subgroups.")):
                continue
            if t.unit not in ("months", "percent", "p", "ratio"):
                continue
            w = 0.15 if is_flagged(t.key, flagged) else 1.0
            if t.key in ("survival.os.median", "survival.pfs.median", "survival.dor.median"):
                w = 25.0  # the overall medians are the paper's headline numbers: first of all
            elif t.key.split(".")[-1] == "median" and t.key.startswith("survival."):
                w = 4.0
            if t.kind == "bound":
                from .targets import parse_bound
                rows.append((t.key, str(t.value), -1, w, "bound"))
            elif isinstance(t.value, (int, float)):
                rows.append((t.key, float(t.value), int(t.decimals), w, "value"))
        self.rows = rows
        self.by_comp: dict[str, list] = {}
        for r in rows:
            self.by_comp.setdefault(self.component(r[0]), []).append(r)
        self.cox_vars = list(self.params["cox_covariates"])
        self.beta = None

    @staticmethod
    def component(key: str) -> str:
        parts = key.split(".")
        if parts[0] == "survival":
            if parts[1] in ("pfs", "pfs_by_dose"):
                return "pfs"
            if parts[1] in ("os", "followup"):
                return "os"
            return parts[1]
        if parts[1] == "cox":
            return "cox"
        return "sub:" + parts[1]

    def components(self):
        return list(self.by_comp)

    # -- values -------------------------------------------------------------------------
    def values(self, s: State, comp: str, g: dict) -> dict:
        DPM = DAYS_PER_MONTH
        out = {}
        if comp == "pfs":
            t = s.pfs_d / DPM
            e = (s.prog | s.dead).astype(float)
            out.update(_endpoint_numbers("survival.pfs", t, e, self.params["landmarks_pfs"]))
            codes = g["anlotinib_dose_mg"]
            for k, lv in enumerate(SUB_LEVELS["anlotinib_dose_mg"]):
                sel = codes == k
                m = _median_spss(t[sel], e[sel])
                for name, v in zip(("median", "lower", "upper"), m):
                    out[f"survival.pfs_by_dose.{lv}.{name}"] = v
            out["survival.pfs_by_dose.p"] = _logrank_p(t, e, codes, 3)
        elif comp == "dor":
            sel = s.resp == "PR"
            end = s.pfs_d[sel]
            t = (end - s.fr_d[sel]) / DPM
            e = (s.prog | s.dead)[sel].astype(float)
            out.update(_endpoint_numbers("survival.dor", t, e, self.params["landmarks_dor"]))
        elif comp == "os":
            t = s.os_d / DPM
            e = s.dead.astype(float)
            out.update(_endpoint_numbers("survival.os", t, e, self.params["landmarks_os"]))
            if self.params["followup_method"] == "reverse_km":
                ut, _, surv, _ = _km(t, 1.0 - e)
                out["survival.followup.median"] = _median(ut, surv)
            else:
                out["survival.followup.median"] = float(np.median(t))
            out["survival.followup.min"] = float(t.min())
            out["survival.followup.max"] = float(t.max())
        elif comp.startswith("sub:"):
            var = comp[4:]
            t = s.os_d / DPM
            e = s.dead.astype(float)
            codes = g[var]
            levels = SUB_LEVELS[var]
            out[f"subgroups.{var}.p"] = _logrank_p(t, e, codes, len(levels))
            for k, lv in enumerate(levels):
                sel = codes == k
                if not sel.any():
                    continue
                m = _median_spss(t[sel], e[sel])
                for name, v in zip(("median", "lower", "upper"), m):
                    out[f"subgroups.{var}.{lv}.{name}"] = v
        elif comp == "cox":
            t = s.os_d / DPM
            e = s.dead.astype(float)
            X = np.column_stack([self._cox_col(g, v, ref) for v, ref in self.params["cox_covariates"].items()])
            beta, se = _cox_breslow(t, e, X, self.beta)
            if np.all(np.isfinite(beta)) and np.max(np.abs(beta)) < 10:
                self.beta = beta
            for j, v in enumerate(self.params["cox_covariates"]):
                zval = beta[j] / se[j]
                out[f"subgroups.cox.{v}.hr"] = math.exp(beta[j])
                out[f"subgroups.cox.{v}.lower"] = math.exp(beta[j] - Z * se[j])
                out[f"subgroups.cox.{v}.upper"] = math.exp(beta[j] + Z * se[j])
                out[f"subgroups.cox.{v}.p"] = math.erfc(abs(zval) / math.sqrt(2)) if math.isfinite(zval) else math.nan
        return out

    @staticmethod
    def _cox_col(g, var, ref):
        codes = g[var]
        levels = SUB_LEVELS[var]
        if ref is None:
            present = sorted(set(codes.tolist()))
            return np.searchsorted(present, codes).astype(float) + 1.0
        return (codes != levels.index(ref)).astype(float)

    # -- loss ---------------------------------------------------------------------------
    @staticmethod
    def key_loss(value, pub, dec, w, kind) -> tuple[float, bool]:
        if value is None or not math.isfinite(value):
            return w * 3.0, False
        if kind == "bound":
            from .scorecard import _satisfies
            ok = _satisfies(value, pub)
            return (0.0 if ok else w * 1.5), ok
        h = 0.5 * 10.0 ** (-dec)
        diff = abs(value - pub)
        if diff < h * (1 - 1e-9):
            return 0.0, True
        return w * (1.0 + 0.25 * math.log1p(diff / h)), False

    def comp_loss(self, s: State, comp: str, g: dict) -> float:
        vals = self.values(s, comp, g)
        total = 0.0
        for key, pub, dec, w, kind in self.by_comp[comp]:
            total += self.key_loss(vals.get(key), pub, dec, w, kind)[0]
        return total


# ----------------------------------------------------------------------------- annealing
def anneal(s: State, obj: Objective, rng: np.random.Generator, steps: int, t0: float = 0.6, t1: float = 0.005,
           greedy: int = 0, log=None) -> tuple[State, float]:
    """Simulated annealing on ``s`` (copied); returns the best state and its loss."""
    s = s.copy()
    age_cut = float(obj.params["age_cut"])
    g = _groups(s.cov, age_cut)
    comps = obj.components()
    cl = {c: obj.comp_loss(s, c, g) for c in comps}
    cur = sum(cl.values())
    best, best_loss = s.copy(), cur
    n = s.os_d.size
    sub_comps = [c for c in comps if c.startswith("sub:")]
    prog_idx = np.flatnonzero(s.prog)
    pr_idx = np.flatnonzero(s.resp == "PR")
    var_of_col = {RAW_OF.get(v, v): v for v in SUB_LEVELS}
    cox_raw = {RAW_OF.get(v, v) for v in obj.cox_vars}
    total_steps = steps + greedy

    def delta_days(k):
        u = rng.uniform()
        if u < 0.5:
            return int(rng.integers(1, 4)) * (1 if rng.uniform() < 0.5 else -1)
        if u < 0.85:
            return int(rng.integers(4, 31)) * (1 if rng.uniform() < 0.5 else -1)
        return None  # uniform in the window

    for step in range(total_steps):
        temp = t0 * (t1 / t0) ** (step / max(steps - 1, 1)) if step < steps else 0.0
        kind = rng.uniform()
        touched: list[str]
        undo = None
        if kind < 0.35:  # death / last-contact day
            i = int(rng.integers(n))
            lo = MIN_FU_DAYS
            if s.prog[i]:
                lo = max(lo, int(s.pfs_d[i]))
            elif s.resp[i] == "PR":
                lo = max(lo, int(s.fr_d[i]) + 1)
            if s.on_trt[i]:
                lo = max(lo, ON_TRT_MIN_DAYS)
            hi = MAX_FU_DAYS
            dd = delta_days(i)
            new = int(rng.integers(lo, hi + 1)) if dd is None else int(s.os_d[i]) + dd
            if new < lo or new > hi or new == s.os_d[i]:
                continue
            undo = ("os", i, int(s.os_d[i]), int(s.pfs_d[i]))
            s.os_d[i] = new
            touched = ["os", "cox"] + sub_comps
            if not s.prog[i]:
                s.pfs_d[i] = new
                touched += ["pfs"] + (["dor"] if s.resp[i] == "PR" else [])
        elif kind < 0.6:  # progression day
            i = int(prog_idx[rng.integers(prog_idx.size)])
            lo, hi = _pfs_window(s, i)
            dd = delta_days(i)
            new = int(rng.integers(lo, hi + 1)) if (dd is None and hi >= lo) else int(s.pfs_d[i]) + (dd or 0)
            if new < lo or new > hi or new == s.pfs_d[i]:
                continue
            undo = ("pfs", i, int(s.pfs_d[i]))
            s.pfs_d[i] = new
            touched = ["pfs"] + (["dor"] if s.resp[i] == "PR" else [])
        elif kind < 0.72:  # first response day
            i = int(pr_idx[rng.integers(pr_idx.size)])
            hi = int(s.pfs_d[i]) - 14 if s.prog[i] else int(s.os_d[i]) - 1
            lo = 28
            dd = delta_days(i)
            new = int(rng.integers(lo, hi + 1)) if (dd is None and hi >= lo) else int(s.fr_d[i]) + (dd or 0)
            if new < lo or new > hi or new == s.fr_d[i]:
                continue
            undo = ("fr", i, int(s.fr_d[i]))
            s.fr_d[i] = new
            touched = ["dor"]
        else:  # swap a covariate between two patients
            col = SWAP_COLUMNS[int(rng.integers(len(SWAP_COLUMNS)))]
            i, j = (int(x) for x in rng.choice(n, size=2, replace=False))
            vals = s.cov[col]
            if vals[i] == vals[j] or (col in CASE_COLUMNS and s.case in (i, j)):
                continue
            undo = ("swap", col, i, j)
            vals[i], vals[j] = vals[j], vals[i]
            var = var_of_col.get(col)
            g = _groups(s.cov, age_cut) if var else g
            touched = ["sub:" + var] if var else []
            if col in cox_raw:
                touched.append("cox")
            if var == "anlotinib_dose_mg":
                touched.append("pfs")
        touched = [c for c in dict.fromkeys(touched) if c in cl]
        new_cl = {c: obj.comp_loss(s, c, g) for c in touched}
        new_loss = cur + sum(new_cl[c] - cl[c] for c in touched)
        dl = new_loss - cur
        if dl <= 0 or (temp > 0 and rng.uniform() < math.exp(-dl / temp)):
            cl.update(new_cl)
            cur = new_loss
            if cur < best_loss - 1e-12:
                best, best_loss = s.copy(), cur
        else:  # undo
            if undo[0] == "os":
                s.os_d[undo[1]], s.pfs_d[undo[1]] = undo[2], undo[3]
            elif undo[0] == "pfs":
                s.pfs_d[undo[1]] = undo[2]
            elif undo[0] == "fr":
                s.fr_d[undo[1]] = undo[2]
            else:
                _, col, i, j = undo
                vals = s.cov[col]
                vals[i], vals[j] = vals[j], vals[i]
                if var_of_col.get(col):
                    g = _groups(s.cov, age_cut)
        if log is not None and step % 10000 == 0:
            log(f"step {step:>6}  T={temp:.4f}  loss={cur:.3f}  best={best_loss:.3f}")
    return best, best_loss


# ----------------------------------------------------------------------------- raw tables
def _assessment_rows(rng, pid, start, b, nadir, resp, new_pd, end, prog, pfs_d, fr_d):
    """Assessments of one patient: every ~6 weeks, nadir kept, first PR on ``fr_d``, PD on ``pfs_d``."""
    if resp == "NE":
        return []

    def grid(lo, hi):
        out, d = [], lo
        while True:
            d += 42 + int(rng.integers(-5, 6))
            if d >= hi:
                return out
            out.append(d)

    last = pfs_d if prog else end + 1  # assessments strictly before the progression / at most last contact
    pre_pct = (nadir / b - 1) * 100
    rows = []  # (day, sum, new)
    if resp == "PD":
        day = pfs_d if prog else max(1, min(42, end))
        rows.append((day, nadir, new_pd))
        return [(pid, start + pd.Timedelta(days=int(d)), float(sm), "yes" if nw else "no") for d, sm, nw in rows]
    if resp == "PR":
        before = [d for d in grid(0, fr_d) if d <= fr_d - 14]
        frac = np.linspace(0.35, 0.8, len(before)) if before else []
        for d, f in zip(before, frac):  # shrinking, not yet PR (> -30 %)
            pct = max(pre_pct * f, -27.0)
            rows.append((d, max(round(b * (1 + pct / 100), 1), nadir + 0.5), False))
        rows.append((fr_d, nadir, False))
        for d in grid(fr_d, last):
            rows.append((d, nadir, False))
    else:  # SD
        days = grid(0, last)
        if not days:
            days = [max(1, min(last - 1, 42))]
        k = len(days)
        if pre_pct < 0:
            n_down = min(k, 1 + int(rng.integers(0, 3)))
            pcts = np.concatenate([np.linspace(pre_pct * 0.6, pre_pct, n_down), np.full(k - n_down, pre_pct)])
        else:
            pcts = pre_pct + np.linspace(0.0, 3.0, k)
        for j, (d, pct) in enumerate(zip(days, pcts)):
            sm = nadir if j == int(np.argmin(pcts)) else max(round(b * (1 + pct / 100), 1), nadir)
            rows.append((d, sm, False))
    if prog:
        if rng.uniform() < 0.5:
            rows.append((pfs_d, round(max(nadir * 1.25, nadir + 6), 1), False))
        else:
            rows.append((pfs_d, nadir, True))
    return [(pid, start + pd.Timedelta(days=int(d)), float(sm), "yes" if nw else "no") for d, sm, nw in rows]


def build_tables(s: State, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """The raw tables (patients, assessments, adverse events) of a state."""
    base_tables = s.extra["tables"]
    p = base_tables["patients"].reset_index(drop=True).copy()
    a0 = base_tables["assessments"]
    ids = p["patient_id"].to_numpy()
    n = len(p)
    cutoff = synthetic.CUTOFF
    latest = (cutoff - synthetic.LATEST_START).days
    earliest = (cutoff - synthetic.EARLIEST_START).days
    back = np.empty(n, dtype=int)  # days from start to the cutoff
    for i in range(n):
        fu = int(s.os_d[i])
        if not s.dead[i] and fu >= latest and (s.on_trt[i] or rng.uniform() < 0.85):
            back[i] = fu  # followed to the cutoff
        else:
            lo = max(latest, fu + 1)
            back[i] = int(rng.integers(lo, max(lo + 1, earliest)))
    start = cutoff - pd.to_timedelta(back, unit="D")
    last = start + pd.to_timedelta(s.os_d, unit="D")
    prog_date = pd.Series(start + pd.to_timedelta(s.pfs_d, unit="D")).where(s.prog)
    death = pd.Series(last).where(s.dead)
    for c in SWAP_COLUMNS:
        p[c] = s.cov[c]
    p["treatment_start_date"] = start
    p["progression_date"] = prog_date.to_numpy()
    p["death_date"] = death.to_numpy()
    p["last_contact_date"] = last
    p["on_treatment_at_cutoff"] = np.where(s.on_trt, "yes", "no")

    base = p.set_index("patient_id")["baseline_sum_mm"]
    nadir = a0.groupby("patient_id")["sum_diameters_mm"].min()
    newl = a0[a0["new_lesions"] == "yes"].groupby("patient_id").size()
    rows = []
    for i, pid in enumerate(ids):
        if s.resp[i] == "NE":
            continue
        new_pd = s.resp[i] == "PD" and bool(newl.get(pid, 0))
        rows += _assessment_rows(rng, pid, start[i], float(base[pid]), float(nadir[pid]), s.resp[i], new_pd,
                                 int(s.os_d[i]), bool(s.prog[i]), int(s.pfs_d[i]), int(s.fr_d[i]))
    a = pd.DataFrame(rows, columns=["patient_id", "assessment_date", "sum_diameters_mm", "new_lesions"])
    a = a.sort_values(["patient_id", "assessment_date"], kind="stable").reset_index(drop=True)
    a["overall_response"] = synthetic._relabel(a, base)

    ae = base_tables["adverse_events"].copy()
    old = base_tables["patients"].set_index("patient_id")
    new_start = pd.Series(start, index=ids)
    fu = pd.Series(s.os_d, index=ids)
    off = (ae["onset_date"] - ae["patient_id"].map(old["treatment_start_date"])).dt.days
    off = np.minimum(off, ae["patient_id"].map(fu) - 1).clip(lower=1)
    ae["onset_date"] = ae["patient_id"].map(new_start) + pd.to_timedelta(off, unit="D")
    ae = ae.sort_values(["patient_id", "onset_date", "ae_term"], kind="stable").reset_index(drop=True)

    order = np.argsort(p["treatment_start_date"].to_numpy(), kind="stable")
    p = p.iloc[order].reset_index(drop=True)
    return {"patients": p, "assessments": a, "adverse_events": ae}


# ----------------------------------------------------------------------------- scoring with the project's code
def analysed_numbers(tables: dict, params: dict | None = None) -> dict[str, float]:
    """The numbers the notebooks compute, in-process with the project's statistics (dotted keys).

    Covers every key of the scorecard that depends on the data (cohort, response, survival,
    subgroups, safety); same calls as the notebooks (tools/notebooks_src.py).
    """
    from . import compare, endpoints, km, safety, tables as tab
    from .cohort import Cohort, DeriveOptions, derive
    from .control import CoxControl, SurvControl
    from .response import orr_dcr
    from .scorecard import flatten

    prm = params or _params()
    opts = DeriveOptions(age_cut=prm["age_cut"])
    p, a_raw, ae = tables["patients"], tables["assessments"], tables["adverse_events"]
    a = derive(p, a_raw, opts)
    coh = Cohort(p, a_raw, ae, a, opts)
    nums: dict = {}

    def put(prefix, d):
        nums.update(flatten({f"{prefix}.{k}": v[0] for k, v in d.items() if v[0] is not None
                             and not isinstance(v[0], str)}))

    t1, _ = tab.table1(coh)
    put("cohort", tab.table1_numbers(t1, coh.n))
    put("cohort", {"on_treatment_at_cutoff.n": tab.study_numbers(coh)["on_treatment_at_cutoff.n"]})
    rr = orr_dcr(a["best_response"])
    put("response", tab.response_numbers(rr))
    put("response.best_pct_change", recist.summarise_change(a["best_pct_change"]))
    ctrl = SurvControl()
    resp = a[a["responder"]]
    for key, (t, e, lm) in {"dor": (resp["dor_months"], resp["dor_event"], prm["landmarks_dor"]),
                            "pfs": (a["pfs_months"], a["pfs_event"], prm["landmarks_pfs"]),
                            "os": (a["os_months"], a["os_event"], prm["landmarks_os"])}.items():
        put(f"survival.{key}", endpoints.endpoint_numbers(endpoints.summarise_endpoint(t, e, lm, ctrl)))
    fu = km.median_followup(a["os_months"], a["os_event"], method=prm["followup_method"], ctrl=ctrl)
    put("survival.followup", tab.followup_numbers(fu))
    variables = coh.variables()
    dose_var = [v for v in variables if v.name == "anlotinib_dose_mg"]
    put("survival.pfs_by_dose", tab.subgroup_numbers(tab.subgroup_survival(a, dose_var, "pfs_months", "pfs_event",
                                                                             ctrl), by_variable=False))
    sub = tab.subgroup_survival(a, [v for v in variables if v.name != "stage"], "os_months", "os_event", ctrl)
    put("subgroups", tab.subgroup_numbers(sub))
    cox, _ = tab.cox_table(a, "os_months", "os_event", prm["cox_covariates"], CoxControl())
    put("subgroups.cox", tab.cox_numbers(cox))
    from .schema import columns  # noqa: F401  (labels not needed for numbers)
    ae_sum = safety.ae_summary(coh.treatment_related_aes(), coh.n, id_col="subject")
    put("safety", tab.safety_numbers(ae_sum))
    _ = compare
    return nums


def score(tables: dict, params: dict | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(scorecard, summary) of a cohort, computed in-process with the project's code."""
    from .audit import audit_paper
    from .scorecard import scorecard, summarise
    from .targets import load_targets

    targets = load_targets()
    card = scorecard(targets, analysed_numbers(tables, params), audit_paper(targets))
    return card, summarise(card)


def validate_tables(tables: dict):
    """Write the tables to a temporary folder and run the data contract on them."""
    import tempfile

    from .readers import read_cohort
    from .validate import validate_cohort

    with tempfile.TemporaryDirectory() as tmp:
        synthetic.write_cohort(tables, tmp)
        return validate_cohort(read_cohort(tmp))


# ----------------------------------------------------------------------------- driver
def _stderr_log(msg: str) -> None:
    import sys

    print(msg, file=sys.stderr, flush=True)


def _chain(args) -> tuple[float, State]:
    seed, steps, chain, verbose = args
    log = _stderr_log if verbose else None
    from .targets import load_targets

    tables = synthetic.generate_cohort(seed)
    state = state_from_tables(tables)
    if chain % 2 == 0:  # even chains start from the reshaped curves, odd chains from the generator's
        state = reshape(state)
    obj = Objective(load_targets())
    if steps <= 0:
        g = _groups(state.cov, float(obj.params["age_cut"]))
        return sum(obj.comp_loss(state, c, g) for c in obj.components()), state
    rng = np.random.default_rng([seed, 1, chain])
    best, loss = anneal(state, obj, rng, steps, greedy=steps // 10, log=log)
    best.extra = {}  # the generated tables are rebuilt by the caller (cheaper to pickle)
    return loss, best


def calibrate(seed: int = DEFAULT_SEED, steps: int = DEFAULT_STEPS, chains: int = 2, log=None,
              processes: int | None = None) -> dict[str, pd.DataFrame]:
    """Generate the cohort with ``seed`` and calibrate it (deterministic).

    ``chains`` independent annealing chains of ``steps`` steps each (chain ``c`` seeded by
    ``[seed, 1, c]``) run in parallel processes; the chain with the lowest loss wins (ties: the
    lowest chain number), so the result does not depend on scheduling or on the number of processes.
    """
    jobs = [(seed, steps, c, log is not None and c == 0) for c in range(max(chains, 1))]
    nproc = min(len(jobs), processes or len(jobs))
    if nproc > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(nproc) as pool:
            results = pool.map(_chain, jobs)
    else:
        results = [_chain(j) for j in jobs]
    losses = [r[0] for r in results]
    k = int(np.argmin(losses))
    if log:
        log("chain losses: " + ", ".join(f"{x:.3f}" for x in losses) + f"; kept chain {k}")
    state = results[k][1]
    tables = synthetic.generate_cohort(seed)
    state.extra = {"tables": tables, "ids": tables["patients"]["patient_id"].to_numpy()}
    return build_tables(state, np.random.default_rng([seed, 2]))


def main(argv=None) -> int:
    import argparse
    import sys

    ap = argparse.ArgumentParser(description="Write the calibrated synthetic cohort (three CSV tables).")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--steps", type=int, default=DEFAULT_STEPS, help="annealing steps (fixed: deterministic)")
    ap.add_argument("--out", default=None, help="output folder (default data/synthetic)")
    ap.add_argument("--chains", type=int, default=2, help="independent chains (run in parallel), best kept")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    from .paths import SYNTHETIC_DIR

    log = None if args.quiet else (lambda m: print(m, file=sys.stderr))
    tables = calibrate(args.seed, args.steps, args.chains, log=log)
    report = validate_tables(tables)
    if not report.ok:
        print(report.summary(), file=sys.stderr)
        return 1
    paths = synthetic.write_cohort(tables, args.out or SYNTHETIC_DIR)
    for p in paths:
        print(f"wrote {p}")
    if not args.quiet:
        _, summary = score(tables)
        print(summary.to_string(), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
