"""Second calibration stage: the SPSS intervals of the Table 2 medians (``make calibrate``).

The first stage (:func:`analysis.synthetic.calibrate.anneal`) moves single days and single covariate values
a little at a time. It gets the medians and most log-rank p values, but rarely an SPSS interval,
because of how that interval is built (:func:`analysis.stats.km.quantile`)::

    half-width = z · SE{S(median)} / f,   f = [S(u) − S(l)] / (l − u)
               = coef · (l − u),          coef = z · SE{S(median)} / [S(u) − S(l)]

``u`` and ``l`` are the group's last death with S ≥ 0.55 and first death with S ≤ 0.45. ``coef``
depends only on the *order* of the records (who is at risk at each death), ``l − u`` only on two
death *days*. A published interval (two decimals of a month, 0.3 day) fixes the half-width to a
window of 0.3 day, so it is reproducible exactly when some whole number of days ``D`` has
``coef · D`` in that window, and the days of ``u`` and ``l`` can be set ``D`` apart without
changing the order. Moving one day by one shifts the half-width by ``coef`` (1–3 days), so this is
a lattice condition that the first stage's small moves almost never meet, and one death is often
``u`` or ``l`` of several groups, whose conditions then conflict.

Method
------
1. **Day ranges** (:func:`day_ranges`). A death after progression may move without touching PFS,
   DoR, the log-rank tests, the Cox model or any Kaplan–Meier step, as long as the order of all
   OS records is kept, no record crosses an OS landmark, and the follow-up range stays as
   published. The median patients (``State.pin_os``), the other deaths (their day is also their
   PFS event) and the censored records stay where they are.
2. **Memberships** (:func:`fit_memberships`). Heat-bath annealing over swaps of one baseline
   variable's raw values between two patients (marginal counts kept; the case patient and the
   pinned median memberships kept). For each candidate the score counts
   the Table 2 medians that print as published, the log-rank p values that do,
   two for every interval that is *realisable*, and the published Cox estimates and PFS-by-dose
   numbers that print as published (these also depend on the memberships and must not be lost);
   small smooth terms (distance to the nearest lattice point, to the p value) break ties.
   Realisable intervals are counted by :class:`Realiser`: a union–find over the death days with
   the required differences ``t_l − t_u = D`` as edges and each day's range as bounds, so two
   intervals that need the same death at different days are not both counted.
3. **Days** (:func:`place_days`). A small integer program (``scipy.optimize.milp``, HiGHS) sets the
   movable death days: order kept, day ranges kept, as many intervals as possible in their windows
   (one 0/1 variable per interval), then the least total movement. The constraint matrix is
   made of differences, so the solution is exact and the same on every run.
4. **Polish** (:func:`polish_memberships`, ``POLISH_ROUNDS`` times, each followed by the integer
   program again). With the days set, one variable at a time anneals swaps of its values scored by
   what actually prints: its own medians, intervals and p value, and the Cox numbers it feeds
   (:class:`_VariableScore`; the dose groups stay as they are). The union–find of step 2 only knows whether a day
   gap *could* be made; here a swap that puts an interval's factor onto the lattice of the days
   already there, or a p value onto its published digits, counts directly. Each variable keeps its
   best coding, so none ends with a lower score.

Deterministic: a seeded ``numpy.random.Generator`` drives every choice; scores within
``analysis.synthetic.decide.TIE`` are equal for every draw and every "best so far", so the last bits of
floating point (which differ between CPUs) decide nothing; the integer program is solved exactly
(its data are whole days) and only a proven optimum is used.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.synthetic import calibrate as C, decide
from analysis.data.cohort import ENDPOINT_COLUMNS

#: Score of an interval that is realisable (it is two published numbers).
INTERVAL_WEIGHT = 2.0
#: Variables whose memberships this stage keeps: the dose groups also carry the PFS-by-dose analysis
#: of the text and abstract (medians, SPSS intervals, p), which the first stage fitted.
KEEP_VARIABLES = ("anlotinib_dose_mg",)
#: Weight of the smooth tie-breaking terms.
SMOOTH_WEIGHT = 0.05
#: Weight, in the polish, of a Table 2 median or log-rank p value against one interval bound.
HEADLINE_WEIGHT = 3.0
#: Rounds of the polish (:func:`polish_memberships`, then :func:`place_days` again) after the first
#: placement of the days. A second round finds a few more swaps but costs the time budget, and
#: traded Table 2 medians for interval bounds when the first stage had fewer steps.
POLISH_ROUNDS = 1
#: Membership steps (:func:`fit_memberships`) per polish step of each variable: 4500 give 300.
POLISH_RATIO = 15


# ----------------------------------------------------------------------------- targets
def interval_windows(targets: pd.DataFrame, days_per_month: float) -> dict[str, tuple[float, float, float]]:
    """Published median day and half-width window (days) of every median with an SPSS interval.

    ``prefix -> (median day, lowest half-width, highest half-width)``: a half-width ``h`` prints both
    bounds as published when ``(median ∓ h) / days_per_month`` round to them. Empty windows (a bound
    pair that no half-width prints) are left out, as are intervals truncated at 0.
    """
    v = {r.key: r.value for r in targets.itertuples(index=False) if isinstance(r.value, (int, float))}
    out = {}
    for prefix, day in C.median_days(targets, days_per_month).items():
        lo, up = v.get(prefix + ".lower"), v.get(prefix + ".upper")
        if lo is None or up is None or lo == 0:
            continue
        dec = 0.005  # both bounds are printed to two decimals
        a = max(day - days_per_month * (lo + dec), days_per_month * (up - dec) - day)
        b = min(day - days_per_month * (lo - dec), days_per_month * (up + dec) - day)
        if a < b:
            out[prefix] = (float(day), float(a), float(b))
    return out


def lattice_difference(coef: np.ndarray, a: float, b: float) -> np.ndarray:
    """The whole number of days ``D`` with ``a < coef · D < b`` (NaN where there is none).

    The windows are narrower than any ``coef`` of a group of this size, so there is at most one;
    the smallest is taken if not.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.floor(a / coef) + 1
        ok = np.isfinite(coef) & (coef > 0) & (coef * lo < b)
    return np.where(ok, lo, np.nan)


def lattice_distance(coef: np.ndarray, a: float, b: float) -> np.ndarray:
    """Days between the window and the nearest half-width ``coef · D`` (0 inside)."""
    c, w = (a + b) / 2, (b - a) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        base = np.round(c / coef)
        d = np.min([np.abs(coef * (base + k) - c) for k in (-1, 0, 1)], axis=0) - w
    return np.where(np.isfinite(d), np.maximum(d, 0.0), 1e4)


# ----------------------------------------------------------------------------- structure
def os_order(s: C.State) -> np.ndarray:
    """Patients in the order of their OS records (deaths before censorings on a day)."""
    return np.lexsort((1 - s.dead.astype(int), s.os_d))


def movable(s: C.State) -> np.ndarray:
    """Deaths whose day may move: after a progression (PFS and DoR do not see the day), not a pinned
    median, not the first or last record (the published follow-up range)."""
    order = os_order(s)
    out = s.dead & s.prog
    out[list(s.pin_os)] = False
    out[[order[0], order[-1]]] = False
    return out


def day_ranges(s: C.State, landmarks_days=()) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest day of each OS record that keeps the order of all records.

    A movable death may shift as far as the nearest fixed records allow (the movable ones between
    take one day each); it stays on its side of every landmark, after its progression, within the
    follow-up limits and, if on treatment at the cutoff, beyond the minimum follow-up. Fixed records
    have a range of one day.
    """
    t = s.os_d.astype(int)
    n = t.size
    order = os_order(s)
    mv = movable(s)
    ts, ms = t[order], mv[order]
    lo, hi = t.copy(), t.copy()
    for k in range(n):
        i = order[k]
        if not ms[k]:
            continue
        p = k - 1
        while p >= 0 and ms[p]:
            p -= 1
        q = k + 1
        while q < n and ms[q]:
            q += 1
        a = ts[p] + (k - p) if p >= 0 else s.min_fu + k
        b = ts[q] - (q - k) if q < n else s.max_fu - (n - 1 - k)
        for lm in landmarks_days:
            if t[i] <= lm:
                b = min(b, int(math.floor(lm)))
            else:
                a = max(a, int(math.floor(lm)) + 1)
        a = max(a, s.min_fu, int(s.pfs_d[i]))
        if s.on_trt[i]:
            a = max(a, s.on_trt_min)
        b = min(b, s.max_fu)
        lo[i], hi[i] = min(a, t[i]), max(b, t[i])
    return lo, hi


def critical(t: np.ndarray, e: np.ndarray, Mk: np.ndarray) -> dict[str, np.ndarray]:
    """Median, ``u``, ``l`` and ``coef`` of many groups at once.

    ``t``, ``e``: times and event flags in record order (sorted, distinct death days); ``Mk``
    (K × G × n, 0/1): members of G groups in K candidates. Returns K × G arrays: ``median`` (day,
    R's rule; ``inf`` if not reached), ``u`` and ``l`` (record positions, −1 for no ``u``: then
    the interval starts from day 0 with S = 1), ``coef`` and ``ok`` (the interval exists and the
    median is not on an exact 0.5 plateau).
    """
    k = C.km_paths(Mk, e)
    S, V, at = k["S"], k["V"], C.take_at
    has_a, a, has_u, u, has_l, l_ = k["has_a"], k["a"], k["has_u"], k["u"], k["has_l"], k["l"]
    tol = C.KM_TOL
    s_a = at(S, a)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = s_a * np.sqrt(at(V, a))
        coef = C.Z * se / (np.where(has_u, at(S, u), 1.0) - at(S, l_))
    plateau = np.abs(s_a - 0.5) < tol
    return {"median": np.where(has_a & ~plateau, t[a], np.inf), "u": np.where(has_u, u, -1),
            "l": np.where(has_l, l_, -1), "coef": coef, "ok": has_a & has_l & ~plateau & np.isfinite(coef)}


class Realiser:
    """How many intervals can be realised together by moving death days (union–find with bounds).

    Each interval is an edge ``t_l − t_u = D``. Fixed days (and day 0, the start of an interval
    without ``u``) form one ground component; every other component keeps the offsets of its days
    from its root and the range of root days that keeps every member within its own range. An edge
    is accepted when it closes no cycle with another difference and the merged range is not empty;
    edges are taken in order, so earlier ones win a conflict. The integer program of
    :func:`place_days` has the final word (it also keeps the order of neighbouring movable deaths).
    """

    def __init__(self, days: np.ndarray, lo: np.ndarray, hi: np.ndarray, fixed: np.ndarray):
        self.days, self.lo, self.hi, self.fixed = days, lo, hi, fixed

    def count(self, edges, start: tuple | None = None) -> list[bool]:
        """Which of ``edges`` ((u, l, D), patients; u = −1 for day 0) are realised, in order.

        ``start``: the state left by :meth:`prefix` (edges already taken); it is not changed.
        """
        return self._run(edges, *((dict(x) for x in start) if start else ({}, {}, {})))

    def prefix(self, edges) -> tuple[list[bool], tuple]:
        """Realise ``edges`` and return (their flags, the state to continue from with :meth:`count`)."""
        parent, pot, rng_ = {}, {}, {}
        return self._run(edges, parent, pot, rng_), (parent, pot, rng_)

    def _run(self, edges, parent: dict, pot: dict, rng_: dict) -> list[bool]:

        def find(x):
            if x < 0 or self.fixed[x]:
                return None, (int(self.days[x]) if x >= 0 else 0)
            if x not in parent:
                parent[x], pot[x], rng_[x] = x, 0, (int(self.lo[x]), int(self.hi[x]))
                return x, 0
            off, r = 0, x
            while True:
                if parent[r] is None:  # attached to the ground: pot is the absolute day
                    return None, off + pot[r]
                if parent[r] == r:
                    return r, off
                off += pot[r]
                r = parent[r]

        out = []
        for u, l_, d in edges:
            if not math.isfinite(d):
                out.append(False)
                continue
            d = int(d)
            ru, pu = find(u)
            rl, pl = find(l_)
            if ru == rl:  # same component (or both on the ground): the difference is already set
                out.append(pl - pu == d)
                continue
            if ru is None or rl is None:
                root, day = (rl, pu + d - pl) if ru is None else (ru, pl - d - pu)
                a, b = rng_[root]
                ok = a <= day <= b
                if ok:
                    parent[root], pot[root] = None, day
                out.append(ok)
                continue
            off = d + pu - pl  # t_rl = t_ru + off
            (au, bu), (al, bl) = rng_[ru], rng_[rl]
            a, b = max(au, al - off), min(bu, bl - off)
            ok = a <= b
            if ok:
                parent[rl], pot[rl] = ru, off
                rng_[ru] = (a, b)
            out.append(ok)
        return out


# ----------------------------------------------------------------------------- stage 2a: memberships
class _Problem:
    """Everything :func:`fit_memberships` and :func:`place_days` share about a state."""

    def __init__(self, s: C.State, obj: C.Objective, targets: pd.DataFrame):
        from analysis.synthetic.audit import audit_paper, inconsistent_keys, is_flagged

        dpm = obj.dpm
        self.windows = interval_windows(targets, dpm)
        flagged = inconsistent_keys(audit_paper(targets))
        vals = {r.key: r.value for r in targets.itertuples(index=False) if isinstance(r.value, (int, float))}
        self.p_target = {v: float(vals[f"subgroups.{v}.p"]) for v in C.SUB_LEVELS
                         if f"subgroups.{v}.p" in vals and not is_flagged(f"subgroups.{v}.p", flagged)}
        self.order = os_order(s)
        self.t = s.os_d[self.order].astype(float)
        self.e = s.dead[self.order].astype(float)
        lms = [float(x) * dpm for x in obj.params["landmarks_os"]]
        self.lo, self.hi = day_ranges(s, lms)
        self.fixed = ~movable(s)
        self.realiser = Realiser(s.os_d, self.lo, self.hi, self.fixed)
        whole = critical(self.t, self.e, np.ones((1, 1, self.t.size)))
        self.overall = self._edge("survival.os", {k: v[0, 0] for k, v in whole.items()})

    def _edge(self, prefix: str, c: dict):
        """(u, l, required difference) of one group's interval (patients; NaN if out of reach)."""
        if prefix not in self.windows or not c["ok"]:
            return (-1, -1, math.nan)
        day, a, b = self.windows[prefix]
        d = float(lattice_difference(np.array([c["coef"]]), a, b)[0]) if c["median"] == day else math.nan
        u = int(self.order[c["u"]]) if c["u"] >= 0 else -1
        return (u, int(self.order[c["l"]]), d)

    def groups(self, var: str, codes: np.ndarray) -> dict:
        """Per level of ``var`` (K candidates' level codes, K × n): median ok, edge parts, lattice distance."""
        levels = C.SUB_LEVELS[var]
        cs = codes[:, self.order]
        Mk = np.stack([(cs == j) for j in range(len(levels))], 1).astype(float)
        c = critical(self.t, self.e, Mk)
        out = {}
        for j, lv in enumerate(levels):
            prefix = f"subgroups.{var}.{lv}"
            if prefix not in self.windows:
                continue
            day, a, b = self.windows[prefix]
            med_ok = c["median"][:, j] == day
            d = np.where(med_ok & c["ok"][:, j], lattice_difference(c["coef"][:, j], a, b), np.nan)
            u = np.where(c["u"][:, j] >= 0, self.order[np.maximum(c["u"][:, j], 0)], -1)
            out[prefix] = {"med_ok": med_ok, "u": u, "l": self.order[np.maximum(c["l"][:, j], 0)], "d": d,
                           "dist": np.where(c["ok"][:, j], lattice_distance(c["coef"][:, j], a, b), 1e4)}
        return out


def _swaps(codes: np.ndarray, X: np.ndarray, locked: np.ndarray, cox_j: int | None, rng: np.random.Generator,
           k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Up to ``k`` random swaps of one variable's values between two patients of different levels.

    Returns ``pairs`` (K − 1 × 2), the K candidate codings (row 0: no change) and their Cox designs
    (column ``cox_j`` swapped too, if the variable is a covariate); ``locked`` patients keep theirs.
    """
    n = codes.size
    I, J = rng.integers(0, n, 3 * k), rng.integers(0, n, 3 * k)
    keep = (codes[I] != codes[J]) & ~locked[I] & ~locked[J]
    pairs = np.column_stack((I[keep], J[keep]))[:k]
    K = pairs.shape[0] + 1
    ar = np.arange(1, K)
    CK = np.repeat(codes[None], K, 0)
    CK[ar, pairs[:, 0]], CK[ar, pairs[:, 1]] = codes[pairs[:, 1]], codes[pairs[:, 0]]
    Xc = np.repeat(X[None], K, 0)
    if cox_j is not None:
        Xc[ar, pairs[:, 0], cox_j], Xc[ar, pairs[:, 1], cox_j] = X[pairs[:, 1], cox_j], X[pairs[:, 0], cox_j]
    return pairs, CK, Xc


def _heat_bath(scores: np.ndarray, temp: float, rng: np.random.Generator) -> int:
    """A candidate drawn with probability ∝ exp(score / temp) (:func:`analysis.synthetic.decide.heat_bath`:
    scores within ``decide.TIE`` of the best are equal, so the last bits of floating point decide nothing)."""
    return decide.heat_bath(-np.asarray(scores, dtype=float), temp, rng)


def _exact_count(obj: C.Objective, comp: str, src: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Published numbers of ``comp`` that print as published, each weighted as in the first stage but
    at least 1 (a number the paper contradicts still counts on the scorecard when it prints: the
    headline PFS-by-dose medians and p value count 4), and a smooth distance for the others."""
    sp = obj.spec[comp]
    vals = src[:, sp["take"]]
    w = np.maximum(sp["w"], 1.0)
    with np.errstate(invalid="ignore"):
        diff = np.abs(vals - sp["pub"]) / sp["h"]
    ok = diff < 1 - 1e-9
    dist = np.where(~ok, np.log1p(np.where(np.isfinite(diff), diff, 1e4)), 0.0).sum(1)
    return (ok * w).sum(1), dist


def _refit_beta(s: C.State, obj: C.Objective, X: np.ndarray) -> None:
    """Start the batched Cox fits (two Newton steps) from the converged estimate of the current state."""
    beta, _ = C._cox_breslow(s.os_d.astype(float), s.dead.astype(float), X)
    if np.all(np.isfinite(beta)) and np.max(np.abs(beta)) < 10:
        obj.beta = beta


def fit_memberships(s: C.State, obj: C.Objective, targets: pd.DataFrame, rng: np.random.Generator,
                    steps: int = 4500, k: int = 80, t0: float = 1.0, t1: float = 0.02, log=None) -> C.State:
    """Anneal the baseline memberships towards realisable Table 2 intervals (see the module notes).

    Variables are visited in turn; each step scores up to ``k`` swaps of the variable's raw values
    between two patients (plus no change) and draws one with probability ∝ exp(score / T). The best
    state seen is returned (a copy; days are not changed).
    """
    s = s.copy()
    P = _Problem(s, obj, targets)
    age_cut = float(obj.params["age_cut"])
    variables = list(C.SUB_LEVELS)  # every interval is scored ...
    swapped = [v for v in variables if v not in KEEP_VARIABLES]  # ... these variables' values move
    g = C._groups(s.cov, age_cut)
    M, X = obj.design(g, s.cov)
    cox_col = {v: j for j, v in enumerate(obj.cox_vars)}
    n = s.os_d.size
    info = {v: {p: {f: x[0] for f, x in d.items()} for p, d in P.groups(v, g[v][None]).items()} for v in variables}

    def side(codes_v, var, Mc, Xc):
        """p-value hits/distances and Cox/PFS exact counts of K candidates of one variable."""
        K = codes_v.shape[0]
        sc = np.zeros(K)
        if var in P.p_target:
            rows = obj.var_rows[var]
            Mv = np.concatenate([np.ones((K, 1, n)), Mc[:, rows]], 1)
            r = C.batch_km(np.broadcast_to(s.os_d.astype(float), (K, n)).copy(), s.dead.astype(float), Mv,
                           {var: np.arange(1, rows.size + 1)}, (), obj.dpm)
            d = np.abs(r["p"][:, 0] - P.p_target[var]) / 0.0005
            ok = d < 1 - 1e-9
            sc += ok - SMOOTH_WEIGHT * np.where(ok, 0.0, np.log1p(np.where(np.isfinite(d), d, 1e4)))
        cand = C.Candidates(np.broadcast_to(s.os_d, (K, n)), np.broadcast_to(s.pfs_d, (K, n)),
                            np.broadcast_to(s.fr_d, (K, n)), Mc, Xc, np.ones(K, bool))
        comps = (["cox"] if var in cox_col else []) + (["pfs"] if var == "anlotinib_dose_mg" else [])
        for comp in comps:
            if comp in obj.components():
                _, src = obj.loss(s, comp, cand)
                ok, dist = _exact_count(obj, comp, src)
                sc += ok - SMOOTH_WEIGHT * dist
        return sc

    def parts(d: dict, c: int | None = None):
        """Edges, medians that print and smooth distance of one variable's groups (candidate ``c``)."""
        edges, meds, dist = [], 0, 0.0
        for x in d.values():
            u, l_, req, med, far = (x[f] if c is None else x[f][c] for f in ("u", "l", "d", "med_ok", "dist"))
            edges.append((int(u), int(l_), float(req)))
            meds += int(med)
            dist += 0.0 if math.isfinite(req) else math.log1p(float(far) / 0.15)
        return edges, meds, dist

    days = s.os_d.astype(float)

    def score(edges, meds, dist, extra, head=None):
        """``head``: (edges, flags, state) of edges already realised (the same for every candidate)."""
        if head is None:
            real = P.realiser.count(edges)
        else:
            real = head[1] + P.realiser.count(edges, head[2])
            edges = head[0] + edges
        gap = sum(math.log1p(abs(d - days[l_] + (days[u] if u >= 0 else 0.0)) / 3.0)
                  for (u, l_, d), r in zip(edges, real) if not r and math.isfinite(d))
        return meds + INTERVAL_WEIGHT * sum(real) + extra - SMOOTH_WEIGHT * (dist + gap)

    _refit_beta(s, obj, X)
    side_cur = {v: float(side(g[v][None], v, M[None], X[None])[0]) for v in variables}
    cur_parts = {v: parts(info[v]) for v in variables}
    cur = score([P.overall] + [e for v in variables for e in cur_parts[v][0]],
                sum(x[1] for x in cur_parts.values()), sum(x[2] for x in cur_parts.values()),
                sum(side_cur.values()))
    best, best_score = s.copy(), cur
    locked_cols = {v: C.RAW_OF.get(v, v) for v in variables}
    for step in range(steps):
        temp = t0 * (t1 / t0) ** (step / max(steps - 1, 1))
        var = swapped[step % len(swapped)]
        col = locked_cols[var]
        codes = g[var]
        locked = np.zeros(n, bool)
        locked[[i for i, c in s.pin_cov if c == col]] = True
        if col in C.CASE_COLUMNS:
            locked[s.case] = True
        pairs, CK, Xc = _swaps(codes, X, locked, cox_col.get(var), rng, k)
        K = pairs.shape[0] + 1
        ar = np.arange(1, K)
        rows = obj.var_rows[var]
        Mc = np.repeat(M[None], K, 0)
        Mc[ar[:, None], rows[None, :], pairs[:, :1]] = M[rows][:, pairs[:, 1]].T
        Mc[ar[:, None], rows[None, :], pairs[:, 1:]] = M[rows][:, pairs[:, 0]].T
        grp = P.groups(var, CK)
        sides = side(CK, var, Mc, Xc)
        other = sum(x for v, x in side_cur.items() if v != var)
        pos = variables.index(var)
        before = [P.overall] + [e for v in variables[:pos] for e in cur_parts[v][0]]
        after = [e for v in variables[pos + 1:] for e in cur_parts[v][0]]
        meds0 = sum(x[1] for v, x in cur_parts.items() if v != var)
        dist0 = sum(x[2] for v, x in cur_parts.items() if v != var)
        flags, state = P.realiser.prefix(before)
        head = (before, flags, state)
        scores = np.empty(K)
        for c in range(K):
            e, m, d = parts(grp, c)
            scores[c] = score(e + after, meds0 + m, dist0 + d, other + sides[c], head)
        pick = _heat_bath(scores, temp, rng)
        if pick > 0:
            i, j = (int(x) for x in pairs[pick - 1])
            raw = s.cov[col]
            raw[i], raw[j] = raw[j], raw[i]
            g[var] = CK[pick].copy()
            M, X = Mc[pick].copy(), Xc[pick].copy()
            info[var] = {p: {f: x[pick] for f, x in d.items()} for p, d in grp.items()}
            cur_parts[var] = parts(info[var])
            side_cur[var] = float(sides[pick])
            if var in cox_col:
                _refit_beta(s, obj, X)
        cur = scores[pick]
        if decide.improves(best_score, cur):  # a higher score, by more than decide.TIE
            best, best_score = s.copy(), cur
        if log is not None and step % 500 == 0:
            log(f"intervals step {step:>5}  T={temp:.3f}  score={cur:.2f}  best={best_score:.2f}")
    return best


# ----------------------------------------------------------------------------- stage 2b: days
def place_days(s: C.State, obj: C.Objective, targets: pd.DataFrame, time_limit: float = 30.0) -> C.State:
    """Set the movable death days so that as many intervals as possible print as published.

    Integer program over the days of all OS records (fixed ones have a one-day range): consecutive
    records keep their order (a day apart), every day stays in :func:`day_ranges`, and interval
    ``g`` with ``u``, ``l`` and required difference ``D`` has ``t_l − t_u = D`` when its 0/1 variable
    is 1. Maximises the number of intervals, then (1/1000 per day) keeps the days near the current
    ones. Returns a copy; only ``os_d`` changes (and ``pfs_d`` of no one: movable deaths progressed).
    A solve that does not prove its optimum within ``time_limit`` seconds (it takes about 0.02 s)
    changes nothing, so that the result never depends on the machine's speed.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    P = _Problem(s, obj, targets)
    n = s.os_d.size
    g = C._groups(s.cov, float(obj.params["age_cut"]))
    edges = [P.overall]
    for v in C.SUB_LEVELS:
        for d in P.groups(v, g[v][None]).values():
            edges.append((int(d["u"][0]), int(d["l"][0]), float(d["d"][0])))
    edges = [e for e in edges if math.isfinite(e[2])]
    G = len(edges)
    nv = 2 * n + G  # days, |day − current day|, interval flags
    rows, lb, ub = [], [], []

    def row(entries, lo, hi):
        r = np.zeros(nv)
        for j, v in entries:
            r[j] += v
        rows.append(r)
        lb.append(lo)
        ub.append(hi)

    order = P.order
    for a, b in zip(order[:-1], order[1:]):
        if s.os_d[a] < s.os_d[b]:
            row([(b, 1), (a, -1)], 1, np.inf)
    big = float(s.max_fu + 1)
    t0 = s.os_d.astype(float)
    for j in range(n):
        row([(n + j, 1), (j, -1)], -t0[j], np.inf)  # a_j ≥ t_j − t0_j
        row([(n + j, 1), (j, 1)], t0[j], np.inf)  # a_j ≥ t0_j − t_j
    for k, (u, l_, d) in enumerate(edges):
        ent = [(l_, 1)] + ([(u, -1)] if u >= 0 else [])
        row(ent + [(2 * n + k, -big)], d - big, np.inf)
        row(ent + [(2 * n + k, big)], -np.inf, d + big)
    cost = np.concatenate((np.zeros(n), np.full(n, 1e-3), -np.ones(G)))
    lower = np.concatenate((P.lo, np.zeros(n), np.zeros(G))).astype(float)
    upper = np.concatenate((P.hi, np.full(n, big), np.ones(G))).astype(float)
    res = milp(cost, constraints=LinearConstraint(np.array(rows), lb, ub), integrality=np.ones(nv),
               bounds=Bounds(lower, upper), options={"time_limit": time_limit, "presolve": True})
    if res.status != 0 or res.x is None:  # only a proven optimum: a time-limited incumbent would
        return s.copy()                     # depend on the machine's speed (it solves in ~0.02 s)
    out = s.copy()
    out.os_d = np.round(res.x[:n]).astype(out.os_d.dtype)
    return out


# ----------------------------------------------------------------------------- stage 2c: polish
class _VariableScore:
    """Published numbers of one Table 2 variable that print as published, for K candidate codings.

    The variable's medians, intervals and log-rank p (and a bound such as "p < 0.20") and the Cox
    model's numbers if the variable is one of its covariates: every number the scorecard counts, weighted as :func:`_exact_count` (at least 1, so a number the paper
    contradicts still counts when it prints) and medians and p values ``HEADLINE_WEIGHT`` times (no
    pair of interval bounds is worth a median or a p value the text quotes), minus a small smooth
    distance for the others.
    """

    def __init__(self, s: C.State, obj: C.Objective, var: str):
        self.s, self.obj, self.var = s, obj, var
        self.nlev = len(C.SUB_LEVELS[var])
        rows = [int(r) for r in obj.var_rows[var]]
        L, width = obj.n_rows, self.nlev + 1
        sp = obj.spec["os"]
        take, keep = [], []
        for j, (key, col) in enumerate(zip(sp["keys"], sp["take"])):
            if not key.startswith(f"subgroups.{var}."):
                continue
            stat, row = divmod(int(col), L)
            keep.append(j)
            take.append(3 * width if stat == 3 else stat * width + 1 + rows.index(row))
        self.keys = [sp["keys"][j] for j in keep]
        self.take, self.pub, self.h = np.array(take, int), sp["pub"][keep], sp["h"][keep]
        # a median or p value outweighs an interval (two bounds), which depends on the median anyway
        self.w = np.maximum(sp["w"][keep], 1.0) * np.array(
            [HEADLINE_WEIGHT if k.endswith((".median", ".p")) else 1.0 for k in self.keys])
        self.aimed = sp["w"][keep] >= 1.0  # the numbers the paper does not contradict
        own = [(bound, wb) for key, bound, wb, _ in sp["bounds"] if key == f"subgroups.{var}.p"]
        self.bounds = [(bound, max(wb, 1.0)) for bound, wb in own]
        self.aimed_bounds = [bound for bound, wb in own if wb >= 1.0]
        self.cox = var in obj.cox_vars and "cox" in obj.components()

    def prints(self, codes: np.ndarray) -> dict[str, bool]:
        """Which of the variable's own published numbers (``keys``) print as published (one coding)."""
        src = self._own(codes[None])
        with np.errstate(invalid="ignore"):
            ok = np.abs(src[0, self.take] - self.pub) < self.h * (1 - 1e-9)
        return dict(zip(self.keys, ok.tolist()))

    def complete(self, codes: np.ndarray) -> bool:
        """Whether every number of the variable's own Table 2 rows that the paper does not contradict
        prints as published (one coding)."""
        src = self._own(codes[None])
        with np.errstate(invalid="ignore"):
            ok = np.abs(src[0, self.take] - self.pub) < self.h * (1 - 1e-9)
        return bool(np.all(ok | ~self.aimed) and all(self._bound_ok(src[:, -1], b)[0] for b in self.aimed_bounds))

    @staticmethod
    def _bound_ok(p: np.ndarray, bound: str) -> np.ndarray:
        from analysis.synthetic.scorecard import _satisfies

        return np.array([math.isfinite(x) and _satisfies(x, bound) for x in p])

    def _own(self, codes: np.ndarray) -> np.ndarray:
        """K × columns: medians, bounds (months) and log-rank p of the variable's levels."""
        s, obj = self.s, self.obj
        K, n = codes.shape
        Mk = np.concatenate([np.ones((K, 1, n)), (codes[:, None, :] == np.arange(self.nlev)[None, :, None])], 1)
        T = np.broadcast_to(s.os_d.astype(float), (K, n)).copy()
        r = C.batch_km(T, s.dead.astype(float), Mk.astype(float), {self.var: np.arange(1, self.nlev + 1)}, (),
                       obj.dpm)
        return np.column_stack((r["median"] / obj.dpm, r["lower"] / obj.dpm, r["upper"] / obj.dpm, r["p"]))

    def __call__(self, codes: np.ndarray, X: np.ndarray) -> np.ndarray:
        s, obj = self.s, self.obj
        K, n = codes.shape
        src = self._own(codes)
        with np.errstate(invalid="ignore"):
            diff = np.abs(src[:, self.take] - self.pub) / self.h
        ok = diff < 1 - 1e-9
        score = (ok * self.w).sum(1) - SMOOTH_WEIGHT * np.where(
            ok, 0.0, np.log1p(np.where(np.isfinite(diff), diff, 1e4))).sum(1)
        for bound, wb in self.bounds:
            score += wb * self._bound_ok(src[:, -1], bound)
        if self.cox:  # the Cox fits read the times and the design only (no memberships)
            cand = C.Candidates(np.broadcast_to(s.os_d, (K, n)), np.broadcast_to(s.pfs_d, (K, n)),
                                np.broadcast_to(s.fr_d, (K, n)), np.ones((1, n)), X, np.ones(K, bool))
            _, src_c = obj.loss(s, "cox", cand)
            hit, dist = _exact_count(obj, "cox", src_c)
            score += hit - SMOOTH_WEIGHT * dist
        return score


def polish_memberships(s: C.State, obj: C.Objective, rng: np.random.Generator, steps: int = 300,
                       k: int = 48, t0: float = 1.0, t1: float = 0.02, variables=None, log=None) -> C.State:
    """Swap one variable's values at a time towards the numbers that print as published (stage 2c).

    After :func:`place_days` the days are final; what the first two stages leave is mostly a matter
    of who is in which group: a swap that moves an interval's factor onto the lattice of the days
    already there, or a log-rank p value onto its published digits. Each Table 2 variable in turn
    with a number of its own rows still missed gets ``steps`` heat-bath steps over ``k`` random swaps
    of its raw values between two patients (marginal counts kept; the case patient keeps her
    characteristics; the dose groups, which also carry the PFS-by-dose analysis, are kept as in
    :func:`fit_memberships`), scored by :class:`_VariableScore`; the variable keeps the best coding
    seen, so no variable ends with a lower score than it started with. ``variables``: the Table 2
    variables to visit (default: all, in order). Returns a copy; days do not change.
    """
    s = s.copy()
    age_cut = float(obj.params["age_cut"])
    n = s.os_d.size
    cox_col = {v: j for j, v in enumerate(obj.cox_vars)}
    for var in variables or C.SUB_LEVELS:
        if var in KEEP_VARIABLES:
            continue
        col = C.RAW_OF.get(var, var)
        g = C._groups(s.cov, age_cut)
        scorer = _VariableScore(s, obj, var)
        codes = g[var]
        if scorer.complete(codes):
            continue
        _, X = obj.design(g, s.cov)
        _refit_beta(s, obj, X)
        cur = float(scorer(codes[None], X[None])[0])
        start, best = cur, (cur, s.cov[col].copy())
        locked = np.zeros(n, bool)
        if col in C.CASE_COLUMNS:
            locked[s.case] = True
        for step in range(steps):
            temp = t0 * (t1 / t0) ** (step / max(steps - 1, 1))
            pairs, CK, Xc = _swaps(codes, X, locked, cox_col.get(var), rng, k)
            scores = scorer(CK, Xc)
            pick = _heat_bath(scores, temp, rng)
            if pick > 0:
                i, j = (int(x) for x in pairs[pick - 1])
                raw = s.cov[col]
                raw[i], raw[j] = raw[j], raw[i]
                codes, X = CK[pick].copy(), Xc[pick].copy()
                if var in cox_col:
                    _refit_beta(s, obj, X)
            cur = float(scores[pick])
            if decide.improves(best[0], cur):
                best = (cur, s.cov[col].copy())
        s.cov[col] = best[1]
        if log is not None:
            log(f"polish {var}: score {start:.2f} -> {best[0]:.2f}")
    return s


def refine(s: C.State, obj: C.Objective, targets: pd.DataFrame, rng: np.random.Generator,
           steps: int = 4500, k: int = 80, log=None) -> C.State:
    """Stage 2: memberships towards realisable intervals, the days that realise them, then a polish
    of the memberships against the numbers as they print (one polish step per ``POLISH_RATIO``
    membership steps, per variable)."""
    s = fit_memberships(s, obj, targets, rng, steps=steps, k=k, log=log)
    s = place_days(s, obj, targets)
    for _ in range(POLISH_ROUNDS):
        s = place_days(polish_memberships(s, obj, rng, steps=max(steps // POLISH_RATIO, 1), log=log), obj, targets)
    return s


# ----------------------------------------------------------------------------- explaining the misses
def explain(analysis: pd.DataFrame, targets: pd.DataFrame, days_per_month: float) -> pd.DataFrame:
    """Why each published SPSS median interval does or does not print, for a cohort.

    The intervals of overall survival and Table 2, of PFS (overall and by dose) and of DoR.
    ``analysis``: the analysis data set (``os_months``/``os_event``, ``pfs_months``/``pfs_event``,
    ``dor_months``/``dor_event`` and the Table 2 variables); months are turned back into whole days
    with ``days_per_month``. One row per interval with a published window (:func:`interval_windows`):
    ``key`` (prefix), ``status`` —
    ``prints`` (both bounds print as published), ``median`` (the median is not on the published day),
    ``undefined`` (the cohort has no SPSS interval: no death with S ≤ 0.45), ``lattice`` (no whole
    number of days between the two deaths gives the published half-width with this cohort's order of
    records) or ``gap`` (one does, ``needed_days``, but the deaths are ``gap_days`` apart) — and
    ``gap_days``, ``needed_days``, ``coef`` (half-width per day between the two deaths) and
    ``half_lo``, ``half_hi`` (the published half-width window, days).
    """
    windows = interval_windows(targets, days_per_month)
    rows = []
    for time, event, groups in _interval_groups(analysis):
        t = np.round(analysis[time].to_numpy(float) * days_per_month)
        e = analysis[event].to_numpy(float)
        keep = np.isfinite(t) & np.isfinite(e)
        order = np.flatnonzero(keep)[np.lexsort((1 - e[keep], t[keep]))]
        ts, es = t[order], e[order]
        for key, members in groups.items():
            if key not in windows or not members[keep].any():
                continue
            day, a, b = windows[key]
            c = {k: v[0, 0] for k, v in critical(ts, es, members[order][None, None, :].astype(float)).items()}
            gap = need = math.nan
            if c["median"] != day:
                status = "median"
            elif not c["ok"]:
                status = "undefined"
            else:
                gap = ts[c["l"]] - (ts[c["u"]] if c["u"] >= 0 else 0.0)
                need = float(lattice_difference(np.array([c["coef"]]), a, b)[0])
                status = "lattice" if math.isnan(need) else ("prints" if gap == need else "gap")
            rows.append((key, status, gap, need, float(c["coef"]), a, b))
    return pd.DataFrame(rows, columns=["key", "status", "gap_days", "needed_days", "coef", "half_lo", "half_hi"])


def _interval_groups(analysis: pd.DataFrame):
    """(time column, event column, {interval prefix: members}) of each endpoint with published medians."""
    everyone = np.ones(len(analysis), bool)

    def levels(var, prefix):
        if var not in analysis:
            return {}
        col = analysis[var].astype(str).to_numpy()
        return {f"{prefix}.{lv}": col == lv for lv in C.SUB_LEVELS[var]}

    os_groups = {"survival.os": everyone}
    for var in C.SUB_LEVELS:
        os_groups.update(levels(var, f"subgroups.{var}"))
    out = [(*ENDPOINT_COLUMNS["os"], os_groups)]
    pfs_time, pfs_event = ENDPOINT_COLUMNS["pfs"]
    if pfs_time in analysis:
        out.append((pfs_time, pfs_event,
                    {"survival.pfs": everyone, **levels("anlotinib_dose_mg", "survival.pfs_by_dose")}))
    dor_time, dor_event = ENDPOINT_COLUMNS["dor"]
    if dor_time in analysis:
        out.append((dor_time, dor_event, {"survival.dor": analysis[dor_time].notna().to_numpy()}))
    return out


def published_interval_count(targets: pd.DataFrame) -> int:
    """How many median intervals of overall survival and of the paper's Table 2 the paper publishes (its count,
    whatever levels a cohort has)."""
    keys = targets["key"].astype(str)
    lows = keys[keys.str.endswith(".median") & keys.str.startswith(("survival.os", "subgroups."))
                & ~keys.str.startswith("subgroups.cox.")]
    stems = {k.rsplit(".", 1)[0] for k in lows}
    return sum(f"{s}.lower" in set(keys) for s in stems)


def explain_text(ex: pd.DataFrame, days_per_month: float, total: int | None = None) -> str:
    """The scorecard's sentence on the median intervals (from :func:`explain`; "" if there are none).

    ``total``: the number of published intervals (:func:`published_interval_count`); intervals of levels
    this cohort lacks are then counted as not computed (by default the total is the intervals explained).
    """
    ex = ex[ex["key"].str.startswith(("survival.os", "subgroups."))]  # the other endpoints: tbl-misses
    if ex.empty:
        return ""
    n = ex["status"].value_counts().to_dict()
    absent = max(0, (total or len(ex)) - len(ex))
    if absent:
        n["absent"] = absent
    total, prints = len(ex) + absent, n.get("prints", 0)
    if prints == total:
        return (f"All {total} published median intervals of overall survival and of the paper's Table 2 "
                "(subgroups) print as published.")
    parts = []
    if n.get("lattice"):
        parts.append(f"for {n['lattice']} no whole number of days gives the published half-width with this "
                     "cohort's order of records")
    if n.get("gap"):
        g = ex[ex["status"] == "gap"]
        parts.append(f"for {n['gap']} one does, but the two deaths are not that many days apart (they differ by "
                     f"a median of {abs(g['gap_days'] - g['needed_days']).median():.0f} days)")
    if n.get("median"):
        parts.append(f"{n['median']} have their median off the published day")
    if n.get("undefined"):
        parts.append(f"{n['undefined']} have no interval (no death after S falls to 0.45)")
    if n.get("absent"):
        parts.append(f"{n['absent']} are not computed (their subgroup is absent from this cohort)")
    return (f"Of the {total} published median intervals of overall survival and of the paper's Table 2 "
            f"(subgroups), {prints} print as "
            "published. A symmetric (SPSS) interval's half-width is a factor fixed by the order of the records "
            "times the days between two deaths (the last with S ≥ 0.55 and the first with S ≤ 0.45), and the "
            f"published bounds (two decimals of a month) leave it a window of {0.01 * days_per_month:.2g} day, "
            "so an interval prints only "
            "when those deaths are one particular whole number of days apart: of the others, "
            + "; ".join(parts) + ".")
