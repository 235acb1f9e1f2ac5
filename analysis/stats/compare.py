"""Group comparisons of survival: log-rank tests and the Cox model.

Own vectorised numpy implementations validated against R ``survival``
(``survdiff``, ``coxph`` with ``ties = "breslow"``/``"efron"``, ``cox.zph``);
see ``tests/reference/make_reference.R``.

Examples
--------
>>> from analysis.stats.compare import logrank
>>> lr = logrank([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 1, 0], ["a", "b", "a", "b", "a", "b"])
>>> lr.df, round(lr.chisq, 4)
(1, 0.4849)
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.stats.control import CoxControl
from analysis.stats.dist import chi2_sf, norm_sf

__all__ = ["LogRank", "LogRankTrend", "CoxResult", "PHTest", "ConvergenceWarning",
           "logrank", "logrank_trend", "cox", "adjust_pvalues"]


class ConvergenceWarning(UserWarning):
    """The Cox partial likelihood did not converge (e.g. monotone likelihood)."""


# ============================================================ log-rank
@dataclass(frozen=True, eq=False)
class LogRank:
    """Log-rank test: chi-square, degrees of freedom, p and a per-group summary.

    ``summary`` has columns group, n, observed, expected; ``var`` is the
    (k × k) covariance matrix of O − E (R ``survdiff$var``).
    """

    chisq: float
    df: int
    p: float
    summary: pd.DataFrame
    var: np.ndarray = field(default=None, repr=False)


@dataclass(frozen=True, eq=False)
class LogRankTrend:
    """Log-rank test for trend over ordered groups with numeric scores."""

    chisq: float
    df: int
    p: float
    U: float
    V: float
    summary: pd.DataFrame


def _clean_groups(time, event, group):
    t = np.asarray(time, dtype=float).ravel()
    e = np.asarray(event).ravel().astype(float)
    g = pd.Series(group).reset_index(drop=True)
    if not (t.size == e.size == g.size):
        raise ValueError("time, event and group differ in length")
    bad = np.isnan(t) | np.isnan(e) | g.isna().to_numpy()
    if bad.any():
        warnings.warn(f"{int(bad.sum())} rows with missing time, event or group dropped", stacklevel=3)
        t, e, g = t[~bad], e[~bad], g[~bad].reset_index(drop=True)
    if not np.all((e == 0) | (e == 1)):
        raise ValueError("event must be 0/1 (or boolean)")
    cat = g.astype("category") if not isinstance(g.dtype, pd.CategoricalDtype) else g
    levels = list(cat.cat.categories)
    codes = cat.cat.codes.to_numpy()
    present = np.bincount(codes, minlength=len(levels)) > 0
    if not present.all():
        empty = [lv for lv, p in zip(levels, present) if not p]
        warnings.warn(f"empty groups dropped: {empty}", stacklevel=3)
        keep_levels = [lv for lv, p in zip(levels, present) if p]
        remap = -np.ones(len(levels), dtype=int)
        remap[present] = np.arange(present.sum())
        codes = remap[codes]
        levels = keep_levels
    return t, e, codes, levels


def _logrank_core(t, e, codes, k):
    """O, E, V (k × k) and n per group, vectorised over distinct times."""
    ut, inv = np.unique(t, return_inverse=True)
    T = ut.size
    cnt = np.bincount(inv * k + codes, minlength=T * k).reshape(T, k).astype(float)
    dth = np.bincount(inv * k + codes, weights=e, minlength=T * k).reshape(T, k)
    at_risk = np.cumsum(cnt[::-1], axis=0)[::-1]
    n_t = at_risk.sum(axis=1)
    d_t = dth.sum(axis=1)
    ev = d_t > 0
    at_risk, n_t, d_t, dth = at_risk[ev], n_t[ev], d_t[ev], dth[ev]
    frac = at_risk / n_t[:, None]
    O = dth.sum(axis=0)
    E = (d_t[:, None] * frac).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(n_t > 1, d_t * (n_t - d_t) / (n_t - 1.0), 0.0)
    V = np.diag((c[:, None] * frac).sum(axis=0)) - (frac * c[:, None]).T @ frac
    n = cnt.sum(axis=0)
    return O, E, V, n


def logrank_statistic(O, E, V) -> tuple[float, int]:
    """Chi-square and df of the log-rank test from observed, expected and their covariance.

    Groups with no expected events are dropped; the first remaining group is left out of the
    quadratic form (V is singular), as R ``survdiff`` does.
    """
    use = E > 0
    diff = (O - E)[use][1:]
    vv = V[np.ix_(use, use)][1:, 1:]
    try:
        stat = float(diff @ np.linalg.solve(vv, diff))
    except np.linalg.LinAlgError:
        stat = float(diff @ np.linalg.pinv(vv) @ diff)
    return stat, int(use.sum()) - 1


def logrank(time, event, group) -> LogRank:
    """Log-rank test for 2 or k groups, as R ``survdiff(Surv(time, event) ~ group)``.

    Parameters
    ----------
    time, event : array-like
    group : array-like
        Any labels; a pandas Categorical keeps its category order. Empty
        categories are dropped with a warning; a single group gives p = NaN
        with a warning.

    Returns
    -------
    LogRank

    Examples
    --------
    >>> lr = logrank([1, 2, 3, 4], [1, 1, 1, 1], [0, 1, 0, 1])
    >>> lr.summary.observed.tolist(), lr.summary.expected.round(3).tolist()
    ([2.0, 2.0], [1.333, 2.667])
    """
    t, e, codes, levels = _clean_groups(time, event, group)
    k = len(levels)
    O, E, V, n = _logrank_core(t, e, codes, k) if k else (np.array([]),) * 4
    summary = pd.DataFrame({"group": levels, "n": n.astype(np.int64), "observed": O, "expected": E})
    if k < 2:
        warnings.warn("log-rank test needs at least two non-empty groups; p is NaN", stacklevel=2)
        return LogRank(math.nan, 0, math.nan, summary, V)
    stat, df = logrank_statistic(O, E, V)
    if df < 1:  # no events (no group has an expected event): nothing to compare
        warnings.warn("log-rank test has no events to compare; p is NaN", stacklevel=2)
        return LogRank(math.nan, 0, math.nan, summary, V)
    return LogRank(stat, df, float(chi2_sf(stat, df)), summary, V)


def logrank_trend(time, event, score) -> LogRankTrend:
    """Log-rank test for trend across ordered groups.

    The groups are the distinct values of ``score`` (numeric), which are also
    the weights: U = Σ_g w_g (O_g − E_g), Var(U) = wᵀ V w with V the log-rank
    covariance matrix (R ``survdiff(...)$var``); chisq = U²/Var(U) on 1 df.

    Examples
    --------
    >>> tr = logrank_trend([1, 2, 3, 4, 5, 6], [1] * 6, [0, 0, 1, 1, 2, 2])
    >>> tr.df, bool(tr.U < 0)
    (1, True)
    """
    s = pd.to_numeric(pd.Series(score).reset_index(drop=True), errors="raise").astype(float)
    t, e, codes, levels = _clean_groups(time, event, s)
    w = np.asarray(levels, dtype=float)
    k = len(levels)
    if k < 2:
        warnings.warn("trend test needs at least two distinct scores; p is NaN", stacklevel=2)
        return LogRankTrend(math.nan, 1, math.nan, math.nan, math.nan, pd.DataFrame())
    O, E, V, n = _logrank_core(t, e, codes, k)
    U = float(w @ (O - E))
    Vu = float(w @ V @ w)
    summary = pd.DataFrame({"group": levels, "score": w, "n": n.astype(np.int64), "observed": O, "expected": E})
    if not Vu > 0:  # no events (or none in a risk set with two groups): the statistic is undefined, as in R
        warnings.warn("trend test has zero variance (no events to compare); p is NaN", stacklevel=2)
        return LogRankTrend(math.nan, 1, math.nan, U, Vu, summary)
    stat = U * U / Vu
    return LogRankTrend(stat, 1, float(chi2_sf(stat, 1)), U, Vu, summary)


# ============================================================ Cox model
@dataclass(frozen=True, eq=False)
class PHTest:
    """Proportional-hazards test on scaled Schoenfeld residuals (R ``cox.zph``)."""

    table: pd.DataFrame  # term, chisq, df, p; last row GLOBAL
    transform: str


@dataclass(frozen=True, eq=False)
class CoxResult:
    """A fitted Cox model.

    ``summary`` has columns term, coef, hr, se, lower, upper, z, p (Wald).
    ``loglik``/``loglik_null`` are the log partial likelihood at the estimate
    and at 0; ``lr_*`` the likelihood-ratio test; ``var`` the inverse
    information matrix; ``terms`` maps each input covariate to its columns.
    """

    summary: pd.DataFrame
    loglik: float
    loglik_null: float
    lr_chisq: float
    lr_df: int
    lr_p: float
    n: int
    events: int
    converged: bool
    n_iter: int
    ties: str
    conf_level: float
    var: np.ndarray = field(repr=False)
    terms: dict = field(repr=False)
    _data: tuple = field(default=None, repr=False)

    @property
    def coef(self) -> np.ndarray:
        return self.summary["coef"].to_numpy()

    def ph_test(self, transform: str = "km") -> PHTest:
        """Score test of γ = 0 in β(t) = β + γ·g(t), as R ``cox.zph(fit, transform)``.

        Parameters
        ----------
        transform : {"km", "identity", "rank", "log"}
            g(t): "km" = 1 − S(t−) of the pooled Kaplan–Meier (R default).

        Returns
        -------
        PHTest
            One row per covariate term (a categorical covariate is one term
            with df = number of dummies) and a GLOBAL row.
        """
        t, e, X = self._data
        p = X.shape[1]
        g_obs = _time_transform(t, e, transform)
        g_obs = g_obs - g_obs[e == 1].mean()
        u, imat = _zph_score(t, e, X, self.coef, g_obs, self.ties)
        rows = []
        for term, cols in self.terms.items():
            kk = list(range(p)) + [p + j for j in cols]
            uu = np.concatenate((np.zeros(p), u[cols]))
            stat = float(uu @ np.linalg.solve(imat[np.ix_(kk, kk)], uu))
            rows.append((term, stat, len(cols), float(chi2_sf(stat, len(cols)))))
        uu = np.concatenate((np.zeros(p), u))
        stat = float(uu @ np.linalg.solve(imat, uu))
        rows.append(("GLOBAL", stat, p, float(chi2_sf(stat, p))))
        return PHTest(pd.DataFrame(rows, columns=["term", "chisq", "df", "p"]), transform)


def _design(df, duration, event, covariates, reference):
    reference = dict(reference or {})
    unknown = set(reference) - set(covariates)
    if unknown:
        raise ValueError(f"reference given for columns not in covariates: {sorted(unknown)}")
    cols = [duration, event, *covariates]
    missing_cols = [c for c in cols if c not in df.columns]
    if missing_cols:
        raise KeyError(f"columns not in data: {missing_cols}")
    d = df[cols]
    bad = d.isna().any(axis=1).to_numpy()
    if bad.any():
        warnings.warn(f"{int(bad.sum())} rows with missing values dropped (complete-case analysis)", stacklevel=3)
        d = d[~bad]
    blocks, names, terms = [], [], {}
    for c in covariates:
        s = d[c]
        is_cat = isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object or pd.api.types.is_string_dtype(s) \
            or pd.api.types.is_bool_dtype(s) or c in reference
        if is_cat:
            cat = s.astype("category") if not isinstance(s.dtype, pd.CategoricalDtype) else s
            levels = [lv for lv in cat.cat.categories if (cat == lv).any()]
            ref = reference.get(c, levels[0])
            if ref not in levels:
                # allow e.g. reference={"ecog": "1"} for an integer column
                match = [lv for lv in levels if str(lv) == str(ref)]
                if not match:
                    raise ValueError(f"reference level {ref!r} not among levels of {c!r}: {levels}")
                ref = match[0]
            start = len(names)
            for lv in levels:
                if lv == ref:
                    continue
                blocks.append((cat == lv).to_numpy(dtype=float))
                names.append(f"{c}={lv}")
            terms[c] = list(range(start, len(names)))
        else:
            blocks.append(pd.to_numeric(s).to_numpy(dtype=float))
            terms[c] = [len(names)]
            names.append(c)
    t = d[duration].to_numpy(dtype=float)
    e = d[event].to_numpy(dtype=float)
    if not np.all((e == 0) | (e == 1)):
        raise ValueError("event must be 0/1 (or boolean)")
    X = np.column_stack(blocks) if blocks else np.empty((len(d), 0))
    return t, e, X, names, terms


def _risk_sets(t, e):
    """Sort order and the per-distinct-time structure shared by all evaluations."""
    order = np.argsort(t, kind="stable")
    ts, es = t[order], e[order]
    ut, first, inv = np.unique(ts, return_index=True, return_inverse=True)
    d = np.bincount(inv, weights=es, minlength=ut.size)
    return order, ts, es, ut, first, inv, d


class _CoxEngine:
    """Log partial likelihood, score and information (Breslow or Efron).

    Risk-set sums are reverse cumulative sums over the time-sorted data; the
    information matrix avoids n × p × p arrays via
    Σ_t Σ_l S2_t / s0_l = Xᵀ diag(w · c) X, c_i = Σ_{t ≤ T_i} Σ_l 1/s0_l.
    """

    def __init__(self, t, e, X, ties):
        self.order, self.ts, self.es, self.ut, self.first, self.inv, self.d = _risk_sets(t, e)
        self.X = X[self.order] - X.mean(axis=0)  # centring: same likelihood, better numerics
        self.efron = ties == "efron"
        ev_k = np.flatnonzero(self.d > 0)
        dk = self.d[ev_k].astype(np.int64)
        self.row_k = np.repeat(ev_k, dk)  # one row per event (Efron's l index)
        starts = np.repeat(np.cumsum(dk) - dk, dk)
        l_idx = np.arange(self.row_k.size) - starts
        self.frac = (l_idx / np.repeat(dk, dk)) if self.efron else np.zeros(self.row_k.size)
        self.dead = self.es == 1

    def evaluate(self, beta, g=None):
        X, inv, dead = self.X, self.inv, self.dead
        eta = X @ beta
        shift = eta.max() if eta.size else 0.0
        w = np.exp(eta - shift)
        wx = X * w[:, None]
        K = self.ut.size
        S0 = np.cumsum(w[::-1])[::-1][self.first]
        S1 = np.cumsum(wx[::-1], axis=0)[::-1][self.first]
        D0 = np.bincount(inv[dead], weights=w[dead], minlength=K)
        D1 = np.stack([np.bincount(inv[dead], weights=wx[dead, j], minlength=K)
                       for j in range(X.shape[1])], axis=1) if X.shape[1] else np.zeros((K, 0))
        k, f = self.row_k, self.frac
        s0 = S0[k] - f * D0[k]
        a = (S1[k] - f[:, None] * D1[k]) / s0[:, None]
        loglik = float(eta[dead].sum() - np.log(s0).sum() - shift * k.size)
        score = X[dead].sum(axis=0) - a.sum(axis=0)
        info = self._info(w, s0, a, None)
        if g is None:
            return loglik, score, info
        return loglik, score, info, (w, s0, a)

    def _info(self, w, s0, a, gpow):
        """Σ_l gᵐ [(S2 − f·D2)/s0_l − a_l a_lᵀ]; gpow = per-event-row weight gᵐ (None = 1)."""
        X, inv, dead, K = self.X, self.inv, self.dead, self.ut.size
        k, f = self.row_k, self.frac
        r = np.ones(k.size) if gpow is None else gpow
        h = np.bincount(k, weights=r / s0, minlength=K)
        c = np.cumsum(h)[inv]  # Σ over event times ≤ T_i
        info = (X * (w * c)[:, None]).T @ X - (a * r[:, None]).T @ a
        if self.efron:
            hd = np.bincount(k, weights=r * f / s0, minlength=K)
            wd = np.where(dead, w * hd[inv], 0.0)
            info -= (X * wd[:, None]).T @ X
        return info


def _fit_newton(engine, p, ctrl):
    """Newton–Raphson with step halving, R coxph's rule (start 0, |1 − ℓ_old/ℓ_new| ≤ eps)."""
    beta = np.zeros(p)
    ll, u, I = engine.evaluate(beta)
    ll0 = ll
    if p == 0:
        return beta, ll, ll0, u, I, True, 0
    newbeta = beta + np.linalg.solve(I, u)
    halving = False
    converged = False
    it = 0
    for it in range(1, ctrl.max_iter + 1):
        ll_new, u_new, I_new = engine.evaluate(newbeta)
        if abs(1.0 - ll / ll_new) <= ctrl.eps and not halving:
            beta, ll, u, I = newbeta, ll_new, u_new, I_new
            converged = True
            break
        if not np.isfinite(ll_new) or ll_new < ll:
            halving = True
            newbeta = (newbeta + beta) / 2.0
            continue
        halving = False
        beta, ll, u, I = newbeta, ll_new, u_new, I_new
        newbeta = beta + np.linalg.solve(I, u)
    if not converged:
        # last accepted iterate (R reports the last iterate as well)
        beta_last = newbeta
        ll_last, u_last, I_last = engine.evaluate(beta_last)
        if np.isfinite(ll_last) and ll_last >= ll:
            beta, ll, u, I = beta_last, ll_last, u_last, I_last
    return beta, ll, ll0, u, I, converged, it


def cox(df: pd.DataFrame, duration: str, event: str, covariates, ctrl: CoxControl = CoxControl(),
        reference: dict | None = None) -> CoxResult:
    """Cox proportional-hazards model (Breslow or Efron ties).

    Parameters
    ----------
    df : DataFrame
    duration, event : str
        Column names; event is 0/1.
    covariates : list of str
        Numeric columns enter as they are; categorical ones (pandas category,
        str/object, bool, or any column named in ``reference``) are
        treatment-coded with one dummy per non-reference level, named
        ``"col=level"``.
    ctrl : CoxControl
        ``ties``, ``conf_level``, ``max_iter``, ``eps``.
    reference : dict, optional
        Reference level per categorical column, e.g. ``{"ecog": 1}``;
        default is the first level (category order, else sorted).

    Returns
    -------
    CoxResult

    Notes
    -----
    Rows with a missing value in any used column are dropped (with a
    warning), as R does. Newton–Raphson from β = 0 with R's stopping rule
    and step halving, so estimates agree with ``coxph`` to ~1e-9. When the
    likelihood is monotone (e.g. complete separation), a
    :class:`ConvergenceWarning` is issued and ``converged`` is False; the
    (huge) coefficients are returned as R does.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6], "e": [1, 1, 0, 1, 1, 0], "x": [0, 1, 0, 1, 1, 0]})
    >>> round(cox(d, "t", "e", ["x"]).summary.coef[0], 4)
    np.float64(0.8455)
    """
    covariates = list(covariates)
    t, e, X, names, terms = _design(df, duration, event, covariates, reference)
    p = X.shape[1]
    engine = _CoxEngine(t, e, X, ctrl.ties)
    try:
        beta, ll, ll0, u, I, converged, it = _fit_newton(engine, p, ctrl)
    except np.linalg.LinAlgError as exc:
        raise ValueError("singular information matrix: collinear or constant covariates?") from exc
    try:
        var = np.linalg.inv(I) if p else np.empty((0, 0))
    except np.linalg.LinAlgError:
        var = np.full((p, p), np.nan)
    if not converged:
        warnings.warn("Cox model ran out of iterations and did not converge "
                      "(monotone likelihood? coefficients may be infinite)", ConvergenceWarning, stacklevel=2)
    elif p:
        infs = np.abs(u @ var)
        flag = (infs > ctrl.eps) & (infs > math.sqrt(np.finfo(float).eps) * np.abs(beta))
        if flag.any():
            converged = False
            bad = [names[i] for i in np.flatnonzero(flag)]
            warnings.warn(f"loglik converged before {bad}; coefficient may be infinite",
                          ConvergenceWarning, stacklevel=2)
    se = np.sqrt(np.diag(var)) if p else np.array([])
    z = ctrl.z
    with np.errstate(over="ignore", invalid="ignore"):
        zstat = beta / se
        summary = pd.DataFrame({"term": names, "coef": beta, "hr": np.exp(beta), "se": se,
                                "lower": np.exp(beta - z * se), "upper": np.exp(beta + z * se),
                                "z": zstat, "p": 2.0 * norm_sf(np.abs(zstat))})
    lr = 2.0 * (ll - ll0)
    return CoxResult(summary=summary, loglik=ll, loglik_null=ll0, lr_chisq=lr, lr_df=p,
                     lr_p=float(chi2_sf(lr, p)) if p else math.nan, n=int(t.size), events=int(e.sum()),
                     converged=bool(converged), n_iter=it, ties=ctrl.ties, conf_level=ctrl.conf_level,
                     var=var, terms=terms, _data=(t, e, X))


# ------------------------------------------------------------ cox.zph
def _time_transform(t, e, transform):
    if transform == "identity":
        return t.astype(float)
    if transform == "log":
        return np.log(t)
    if transform == "rank":
        return pd.Series(t).rank().to_numpy()
    if transform == "km":
        ut, inv = np.unique(t, return_inverse=True)
        n = t.size
        cnt = np.bincount(inv, minlength=ut.size)
        d = np.bincount(inv, weights=e, minlength=ut.size)
        n_risk = n - np.concatenate(([0], np.cumsum(cnt)[:-1]))
        surv = np.cumprod(1.0 - d / n_risk)
        s_left = np.concatenate(([1.0], surv[:-1]))  # S(t−)
        return 1.0 - s_left[inv]
    raise ValueError(f"transform must be 'km', 'identity', 'rank' or 'log', got {transform!r}")


def _zph_score(t, e, X, beta, g_obs, ties):
    """Score (for γ) and full 2p × 2p information of the model with X and g(t)·X at (β̂, 0)."""
    eng = _CoxEngine(t, e, X, ties)
    p = X.shape[1]
    _, _, I0, (w, s0, a) = eng.evaluate(np.asarray(beta, dtype=float), g=True)
    # g at each distinct time (same for all tied deaths): take it from the deaths
    gs = g_obs[eng.order]
    g_k = np.zeros(eng.ut.size)
    g_k[eng.inv[eng.dead]] = gs[eng.dead]
    g_row = g_k[eng.row_k]
    Xc = eng.X
    u = (Xc[eng.dead] * gs[eng.dead][:, None]).sum(axis=0) - (a * g_row[:, None]).sum(axis=0)
    I1 = eng._info(w, s0, a, g_row)
    I2 = eng._info(w, s0, a, g_row ** 2)
    imat = np.block([[I0, I1], [I1, I2]])
    return u, imat


# ============================================================ multiplicity
def adjust_pvalues(p, method: str = "fdr_bh") -> np.ndarray:
    """Adjust p-values for multiplicity (R ``p.adjust``; NaN stays NaN).

    Parameters
    ----------
    p : array-like
    method : {"fdr_bh", "none"}
        Benjamini–Hochberg false-discovery rate, or no adjustment.

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.04, 0.03]).round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    arr = np.asarray(p, dtype=float).ravel()
    if method == "none":
        return arr.copy()
    if method != "fdr_bh":
        raise ValueError(f"method must be 'fdr_bh' or 'none', got {method!r}")
    out = np.full(arr.shape, np.nan)
    ok = ~np.isnan(arr)
    q = arr[ok]
    m = q.size
    if m == 0:
        return out
    o = np.argsort(q)[::-1]
    ranks = np.arange(m, 0, -1)
    adj = np.minimum.accumulate(q[o] * m / ranks)
    res = np.empty(m)
    res[o] = np.minimum(adj, 1.0)
    out[ok] = res
    return out
