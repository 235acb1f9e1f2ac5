"""Kaplan–Meier estimation and its summaries (median, rates, RMST, follow-up).

Own vectorised numpy implementation, validated against R ``survival``
(``survfit``, ``quantile.survfit``, ``summary.survfit``, ``print(rmean=)``);
see ``tests/reference/make_reference.R``.

Conventions
-----------
* S(t) is a cumulative product of (1 − d/n), never exp(Σ log(1 − d/n)), so an
  exact 0.5 plateau stays exactly 0.5.
* ``std_err`` in :attr:`KMFit.table` is the Greenwood standard error of S(t)
  (R's ``survfit$std.err`` is that of −log S; ``std_err = surv * R_std_err``).
* Pointwise bands are NaN where undefined (S = 0; S = 1 for log-log), never 1.0.
* Quantiles follow R: the p-quantile is the first time S(t) ≤ 1 − p; if S sits
  exactly on 1 − p (within ``plateau_tol``) over an interval, the quantile is
  the midpoint between the time it gets there and the next event time (or the
  last follow-up time if there is no further event). A quantile not reached
  is ``math.inf``.

Examples
--------
>>> from analysis.stats.km import kaplan_meier, median
>>> fit = kaplan_meier([1, 2, 3, 4, 5, 6], [1, 1, 1, 0, 1, 1])
>>> fit.table.surv.round(3).tolist()
[0.833, 0.667, 0.5, 0.5, 0.25, 0.0]
>>> median(fit).estimate
4.0
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.stats.control import RATE_CI_METHODS, SurvControl
from analysis.stats.dist import norm_ppf

__all__ = ["KMFit", "Median", "Rate", "RMST", "FollowUp",
           "kaplan_meier", "median", "quantile", "survival_at", "rates",
           "rmst", "median_followup", "risk_table", "confidence_band"]


# --------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class KMFit:
    """A Kaplan–Meier fit.

    Attributes
    ----------
    table : DataFrame
        One row per distinct time (events and censorings): time, n_risk,
        n_event, n_censor, surv, std_err (Greenwood SE of S), lower, upper.
    n, events : int
        Number of subjects and of events.
    conf_level, conf_type : float, str
        Band used for ``lower``/``upper``.
    """

    table: pd.DataFrame
    n: int
    events: int
    conf_level: float = 0.95
    conf_type: str = "log-log"
    _var_log: np.ndarray = field(default=None, repr=False)  # Greenwood var of -log S

    @property
    def time(self) -> np.ndarray:
        return self.table["time"].to_numpy()

    @property
    def surv(self) -> np.ndarray:
        return self.table["surv"].to_numpy()

    @property
    def max_time(self) -> float:
        return float(self.table["time"].iloc[-1]) if len(self.table) else math.nan


@dataclass(frozen=True)
class Median:
    """A survival quantile with its interval (``math.inf`` = not reached)."""

    estimate: float
    lower: float
    upper: float
    method: str
    conf_level: float = 0.95
    p: float = 0.5
    se: float = math.nan  # only for method="spss"


@dataclass(frozen=True)
class Rate:
    """S(t) at a landmark time with its pointwise interval.

    ``beyond_followup`` is True when ``time`` lies after the last follow-up
    time; then estimate and bounds are NaN (no extrapolation).
    """

    time: float
    estimate: float
    lower: float
    upper: float
    n_risk: int
    conf_type: str = "log-log"
    conf_level: float = 0.95
    std_err: float = math.nan
    beyond_followup: bool = False


@dataclass(frozen=True)
class RMST:
    """Restricted mean survival time up to ``tau`` (normal-approximation CI)."""

    tau: float
    estimate: float
    se: float
    lower: float
    upper: float
    conf_level: float = 0.95


@dataclass(frozen=True)
class FollowUp:
    """Median follow-up and the range of observed follow-up times."""

    median: float
    lower: float
    upper: float
    min: float
    max: float
    method: str
    n: int = 0


# --------------------------------------------------------------------- helpers
def _as_arrays(time, event):
    t = np.asarray(time, dtype=float).ravel()
    e = np.asarray(event).ravel()
    if t.shape != e.shape:
        raise ValueError(f"time and event differ in length ({t.size} vs {e.size})")
    if e.dtype == bool:
        e = e.astype(np.int8)
    e = np.asarray(e, dtype=float)
    bad = np.isnan(t) | np.isnan(e)
    if bad.any():
        warnings.warn(f"{int(bad.sum())} rows with missing time or event dropped", stacklevel=3)
        t, e = t[~bad], e[~bad]
    if np.any(t < 0):
        raise ValueError("negative survival times")
    if not np.all((e == 0) | (e == 1)):
        raise ValueError("event must be 0/1 (or boolean)")
    return t, e.astype(bool)


def _z(conf_level: float) -> float:
    if not (0.0 < conf_level < 1.0):
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level!r}")
    return float(norm_ppf(1.0 - (1.0 - conf_level) / 2.0))


def confidence_band(surv, var_log, conf_type: str = "log-log", conf_level: float = 0.95):
    """Pointwise Greenwood band for S(t), as R ``survfit(conf.type=)``.

    Parameters
    ----------
    surv : array
        S(t).
    var_log : array
        Greenwood variance of −log S(t), Σ d/(n(n−d)).
    conf_type : {"log-log", "log", "plain"}
    conf_level : float

    Returns
    -------
    lower, upper : arrays, NaN where undefined (S = 0; S = 1 for log-log).

    Examples
    --------
    >>> lo, hi = confidence_band([0.75], [1 / 12], "log-log")
    >>> round(float(lo[0]), 6), round(float(hi[0]), 6)
    (0.127947, 0.960549)
    """
    if conf_type not in RATE_CI_METHODS:
        raise ValueError(f"conf_type must be one of {RATE_CI_METHODS}, got {conf_type!r}")
    s = np.asarray(surv, dtype=float)
    se = np.sqrt(np.asarray(var_log, dtype=float))
    z = _z(conf_level)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "plain":
            half = z * se * s
            lower = np.maximum(s - half, 0.0)
            upper = np.minimum(s + half, 1.0)
        elif conf_type == "log":
            lower = s * np.exp(-z * se)
            upper = np.minimum(s * np.exp(z * se), 1.0)
        else:
            xx = np.where((s == 0) | (s == 1), np.nan, s)
            se2 = z * se / np.log(xx)
            lower = np.exp(-np.exp(np.log(-np.log(xx)) - se2))
            upper = np.exp(-np.exp(np.log(-np.log(xx)) + se2))
    undefined = (s == 0) | ~np.isfinite(se)
    lower = np.where(undefined, np.nan, lower)
    upper = np.where(undefined, np.nan, upper)
    return lower, upper


# --------------------------------------------------------------------- KM
def kaplan_meier(time, event, conf_level: float = 0.95, conf_type: str = "log-log") -> KMFit:
    """Kaplan–Meier estimate with Greenwood standard errors.

    Parameters
    ----------
    time : array-like of float
        Follow-up time (≥ 0).
    event : array-like of {0, 1} or bool
        1 = event, 0 = censored.
    conf_level : float
        Level of the pointwise band in ``table``.
    conf_type : {"log-log", "log", "plain"}
        Transformation of the pointwise band (R default is "log"; Stata's
        and this function's default is "log-log").

    Returns
    -------
    KMFit

    Examples
    --------
    >>> fit = kaplan_meier([2, 3, 3, 5], [1, 1, 0, 0])
    >>> fit.table[["time", "n_risk", "n_event", "surv"]].values.tolist()
    [[2.0, 4.0, 1.0, 0.75], [3.0, 3.0, 1.0, 0.5], [5.0, 1.0, 0.0, 0.5]]
    """
    t, e = _as_arrays(time, event)
    n = t.size
    if n == 0:
        raise ValueError("no observations")
    ut, inv, counts = np.unique(t, return_inverse=True, return_counts=True)
    d = np.bincount(inv, weights=e, minlength=ut.size)
    c = counts - d
    n_risk = n - np.concatenate(([0], np.cumsum(counts)[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - d / n_risk)
        term = np.where(d > 0, d / (n_risk * (n_risk - d)), 0.0)
    var_log = np.cumsum(term)  # inf once n_risk == d
    with np.errstate(invalid="ignore"):
        se_s = surv * np.sqrt(var_log)
    se_s = np.where(surv == 0, np.nan, se_s)
    lower, upper = confidence_band(surv, var_log, conf_type, conf_level)
    table = pd.DataFrame({"time": ut, "n_risk": n_risk.astype(np.int64), "n_event": d.astype(np.int64),
                          "n_censor": c.astype(np.int64), "surv": surv, "std_err": se_s,
                          "lower": lower, "upper": upper})
    return KMFit(table=table, n=int(n), events=int(e.sum()), conf_level=conf_level,
                 conf_type=conf_type, _var_log=var_log)


# --------------------------------------------------------------------- quantiles
def _findq(x, y, p, tol):
    """R survival:::findq: first x where y (a cumulative failure) reaches p."""
    xmax = x[-1]
    yy = pd.Series(y)
    if yy.isna().all() or np.nanmax(y) < p:
        return math.inf
    keep = ~yy.duplicated().to_numpy()
    x, y = x[keep], y[keep]
    last_is_na = np.isnan(y[-1])
    ok = ~np.isnan(y)
    x_ok, y_ok = x[ok], y[ok]
    # y is non-decreasing; first index with y >= p - tol, and with y >= p + tol
    j1 = np.searchsorted(y_ok, p - tol, side="left")
    j2 = np.searchsorted(y_ok, p + tol, side="left")
    if j1 >= y_ok.size:
        return math.inf
    if j2 >= y_ok.size:
        if not last_is_na and abs(p - y_ok[-1]) < tol:
            return float((x_ok[j1] + xmax) / 2.0)
        return math.inf
    return float((x_ok[j1] + x_ok[j2]) / 2.0)


def _quantile_time(fit: KMFit, curve, p, tol):
    x = np.concatenate(([0.0], fit.time))
    y = np.concatenate(([0.0], 1.0 - np.asarray(curve, dtype=float)))
    return _findq(x, y, p, tol)


def quantile(fit: KMFit, p: float = 0.5, ctrl: SurvControl = SurvControl()) -> Median:
    """Survival-time quantile: the time by which a fraction ``p`` had the event.

    Parameters
    ----------
    fit : KMFit
    p : float in (0, 1)
        0.5 gives the median; 0.25 the first quartile of event times.
    ctrl : SurvControl
        ``median_ci`` chooses the interval, ``conf_level`` its level,
        ``plateau_tol`` the tolerance for an exact plateau at 1 − p.

    Returns
    -------
    Median
        ``math.inf`` for an estimate or bound that is not reached.

    Notes
    -----
    * "log", "log-log", "plain": Brookmeyer–Crowley — the times where the
      lower/upper pointwise band crosses 1 − p, found with the same rule as
      the estimate (R ``quantile.survfit``; R's own tolerance is 1.5e-8).
    * "spss": symmetric interval t_p ± z·se with se = SE_Greenwood{S(t_p)} / f,
      f = [S(u) − S(l)] / (l − u), u = the largest event time with
      S ≥ 1 − p + 0.05, l = the smallest event time with S ≤ 1 − p − 0.05
      (time 0 with S = 1 if no event time qualifies for u; Collett §2.4).
      The lower bound is truncated at 0. If l does not exist or f = 0 the
      interval is undefined and both bounds are NaN. The point estimate
      follows the same R rule as the other methods (SPSS itself reports the
      first event time with S ≤ 0.5, which differs only on exact plateaus).

    Examples
    --------
    >>> fit = kaplan_meier([1, 2, 3, 4], [1, 1, 1, 1])
    >>> quantile(fit, 0.5, SurvControl(median_ci="log")).estimate  # exact 0.5 plateau
    2.5
    """
    if not (0.0 < p < 1.0):
        raise ValueError(f"p must be in (0, 1), got {p!r}")
    tol = ctrl.plateau_tol
    est = _quantile_time(fit, fit.surv, p, tol)
    method = ctrl.median_ci
    if method == "spss":
        lower, upper, se = _spss_interval(fit, est, p, ctrl)
        return Median(est, lower, upper, method, ctrl.conf_level, p, se)
    lo_band, hi_band = confidence_band(fit.surv, fit._var_log, method, ctrl.conf_level)
    lower = _quantile_time(fit, lo_band, p, tol)
    upper = _quantile_time(fit, hi_band, p, tol)
    return Median(est, lower, upper, method, ctrl.conf_level, p)


def median(fit: KMFit, ctrl: SurvControl = SurvControl()) -> Median:
    """Median survival time with its interval; see :func:`quantile`.

    Examples
    --------
    >>> fit = kaplan_meier([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [1] * 6 + [0] * 4)
    >>> m = median(fit, SurvControl(median_ci="log-log"))
    >>> m.estimate, m.lower, m.upper
    (5.5, 1.0, inf)
    """
    return quantile(fit, 0.5, ctrl)


def _spss_interval(fit: KMFit, est: float, p: float, ctrl: SurvControl):
    if not math.isfinite(est):
        return math.inf, math.inf, math.nan
    tab = fit.table
    ev = tab[tab["n_event"] > 0]
    t_ev, s_ev = ev["time"].to_numpy(), ev["surv"].to_numpy()
    level = 1.0 - p
    up_mask = s_ev >= level + 0.05
    lo_mask = s_ev <= level - 0.05
    if not lo_mask.any():
        return math.nan, math.nan, math.nan
    if up_mask.any():
        u, s_u = t_ev[up_mask][-1], s_ev[up_mask][-1]
    else:
        u, s_u = 0.0, 1.0
    l_, s_l = t_ev[lo_mask][0], s_ev[lo_mask][0]
    f = (s_u - s_l) / (l_ - u)
    # Greenwood SE of S at the quantile (right-continuous step function)
    i = np.searchsorted(fit.time, est, side="right") - 1
    se_s = float(tab["std_err"].iloc[i]) if i >= 0 else 0.0
    if not (f > 0) or not math.isfinite(se_s):
        return math.nan, math.nan, math.nan
    se = se_s / f
    half = ctrl.z * se
    return float(max(est - half, 0.0)), float(est + half), float(se)


# --------------------------------------------------------------------- rates
def survival_at(fit: KMFit, t: float, conf_type: str = "log-log", conf_level: float = 0.95) -> Rate:
    """S(t) at a landmark with a pointwise Greenwood interval.

    Same as Stata ``sts list, at(t)`` (log-log) and R
    ``summary(survfit(..., conf.type=), times = t)``. ``n_risk`` is the
    number still under observation at t (time ≥ t). A time after the last
    follow-up returns NaN values with ``beyond_followup=True`` (R drops such
    times unless ``extend=TRUE``).

    Examples
    --------
    >>> fit = kaplan_meier([2, 3, 3, 5], [1, 1, 0, 0])
    >>> r = survival_at(fit, 4)
    >>> r.estimate, r.n_risk, round(r.lower, 4)
    (0.5, 1, 0.0578)
    """
    t = float(t)
    times = fit.time
    if t > times[-1]:
        return Rate(t, math.nan, math.nan, math.nan, 0, conf_type, conf_level, math.nan, True)
    n_risk = int(fit.table["n_risk"].iloc[np.searchsorted(times, t, side="left")])  # time >= t
    i = np.searchsorted(times, t, side="right") - 1
    if i < 0:
        return Rate(t, 1.0, 1.0, 1.0, n_risk, conf_type, conf_level, 0.0, False)
    s = fit.surv[i]
    lo, hi = confidence_band(fit.surv[i:i + 1], fit._var_log[i:i + 1], conf_type, conf_level)
    return Rate(t, float(s), float(lo[0]), float(hi[0]), n_risk, conf_type, conf_level,
                float(fit.table["std_err"].iloc[i]), False)


def rates(fit: KMFit, times, conf_type: str = "log-log", conf_level: float = 0.95) -> pd.DataFrame:
    """:func:`survival_at` for several times, as a DataFrame (one row per time).

    Examples
    --------
    >>> rates(kaplan_meier([2, 3, 3, 5], [1, 1, 0, 0]), [1, 2]).estimate.tolist()
    [1.0, 0.75]
    """
    rows = [survival_at(fit, t, conf_type, conf_level) for t in np.atleast_1d(times)]
    return pd.DataFrame([r.__dict__ for r in rows])


# --------------------------------------------------------------------- RMST
def rmst(fit: KMFit, tau: float, conf_level: float | None = None) -> RMST:
    """Restricted mean survival time ∫₀^τ S(t) dt, as R ``print(survfit, rmean=tau)``.

    The SE is R's: Σ_k A_k² d_k / (n_k (n_k − d_k)) over times ≤ τ, A_k the
    area under S from t_k to τ. The interval is estimate ± z·se.

    Examples
    --------
    >>> r = rmst(kaplan_meier([1, 2, 3, 4], [1, 1, 1, 1]), 4)
    >>> r.estimate
    2.5
    """
    tau = float(tau)
    if not tau > 0:
        raise ValueError("tau must be positive")
    level = fit.conf_level if conf_level is None else conf_level
    tab = fit.table
    keep = tab["time"].to_numpy() <= tau
    time = tab["time"].to_numpy()[keep]
    surv = tab["surv"].to_numpy()[keep]
    nr, d = tab["n_risk"].to_numpy()[keep].astype(float), tab["n_event"].to_numpy()[keep].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        hh = np.where(nr - d == 0, 0.0, d / (nr * (nr - d)))
    temptime = np.append(time, tau)
    tempsurv = np.append(surv, surv[-1] if surv.size else 1.0)
    hh = np.append(hh, 0.0)
    delta = np.diff(np.concatenate(([0.0], temptime)))
    rect = delta * np.concatenate(([1.0], tempsurv[:-1]))
    est = float(rect.sum())
    after = np.cumsum(rect[::-1])[::-1]  # after[k] = area from temptime[k-1] on
    var = float(np.sum(after[1:] ** 2 * hh[:-1]))
    se = math.sqrt(var)
    z = _z(level)
    return RMST(tau, est, se, est - z * se, est + z * se, level)


# --------------------------------------------------------------------- follow-up
def median_followup(time, event, method: str = "reverse_km", ctrl: SurvControl = SurvControl()) -> FollowUp:
    """Median follow-up.

    Parameters
    ----------
    time, event : array-like
    method : {"reverse_km", "observed", "censored_only"}
        "reverse_km" (Schemper & Smith 1996): Kaplan–Meier with censoring as
        the event, median and interval by ``ctrl.median_ci``;
        "observed": median of all observed times (no interval);
        "censored_only": median time of the censored patients (no interval).
    ctrl : SurvControl

    Returns
    -------
    FollowUp
        ``min``/``max`` are the range of the observed follow-up times of all
        patients, whatever the method.

    Examples
    --------
    >>> median_followup([1, 2, 3, 4], [1, 0, 1, 0], method="observed").median
    2.5
    """
    t, e = _as_arrays(time, event)
    lo_, hi_ = float(t.min()), float(t.max())
    if method == "reverse_km":
        m = median(kaplan_meier(t, ~e), ctrl)
        return FollowUp(m.estimate, m.lower, m.upper, lo_, hi_, method, t.size)
    if method == "observed":
        return FollowUp(float(np.median(t)), math.nan, math.nan, lo_, hi_, method, t.size)
    if method == "censored_only":
        tc = t[~e]
        med = float(np.median(tc)) if tc.size else math.nan
        return FollowUp(med, math.nan, math.nan, lo_, hi_, method, t.size)
    raise ValueError(f"method must be 'reverse_km', 'observed' or 'censored_only', got {method!r}")


# --------------------------------------------------------------------- risk table
def risk_table(fit: KMFit, times) -> pd.DataFrame:
    """Numbers at risk under a KM plot, counted at the START of each time.

    ``n_risk`` at t = number with time ≥ t (SAS / survminer convention, not
    lifelines' end-of-interval counts); ``cum_events`` and ``cum_censored``
    count events/censorings at times ≤ t (survminer's cumulative events).

    Examples
    --------
    >>> risk_table(kaplan_meier([2, 3, 3, 5], [1, 1, 0, 0]), [0, 3, 6]).n_risk.tolist()
    [4, 3, 0]
    """
    tt = np.asarray(times, dtype=float).ravel()
    tab = fit.table
    time = tab["time"].to_numpy()
    cum_d = np.concatenate(([0], np.cumsum(tab["n_event"].to_numpy())))
    cum_c = np.concatenate(([0], np.cumsum(tab["n_censor"].to_numpy())))
    before = np.searchsorted(time, tt, side="left")  # rows with time < t
    upto = np.searchsorted(time, tt, side="right")   # rows with time <= t
    n_risk = fit.n - cum_d[before] - cum_c[before]
    return pd.DataFrame({"time": tt, "n_risk": n_risk.astype(np.int64),
                         "cum_events": cum_d[upto].astype(np.int64),
                         "cum_censored": cum_c[upto].astype(np.int64)})
