"""Consistency audit of the paper's own numbers.

A synthetic cohort cannot reproduce numbers that contradict each other, so before comparing our
results with the paper we check the paper against itself. Every check is a pure function of the
targets frame (:func:`analysis.synthetic.targets.load_targets`); nothing here reads the cohort.

Rounding is handled with intervals throughout: a number printed with ``d`` decimals stands for any
true value within ``± 0.5·10^-d``. A check fails only when *no* set of true values consistent with
the printed (rounded) numbers satisfies it.

Checks (``check`` column of :func:`audit_paper`)
-------------------------------------------------
``percent vs count``        percentage = count / denominator, rounded to the printed decimals
``row total``               Table 1 levels sum to N; response categories sum to N; their percentages to
                            100 (allowing for rounding); Table 3 any grade = grade 1-2 + grade >= 3
``subset``                  a Table 3 term cannot exceed the any-TRAE row
``same quantity twice``     a quantity printed in two places with two values (or a bound the
                            printed value breaks)
``cross-reference``         counts that must agree (DoR n = CR + PR; evaluable n = N - NE)
``HR at CI midpoint``       Cox HR = sqrt(lower·upper) (a Wald CI is symmetric on the log scale)
``p vs CI (Wald)``          Cox p = 2(1 - Φ(|ln HR| / se)), se = (ln U - ln L) / (2·1.959964)
``p vs CI (significance)``  CI excludes 1 exactly when p < 0.05
``median CI symmetric``     SPSS: median ± 1.96·se, lower bound truncated at 0.00
``Clopper-Pearson CI``      ORR / DCR interval from the counts (scipy.stats.beta)
``landmark CI plausible``   lower < estimate < upper
``landmark CI log-log``     the log(-log) Greenwood interval (Stata ``sts list``) is symmetric on the
                            log(-log) scale: lower and upper imply the same standard error
``Cox CI width vs events``  with D deaths a Cox log-HR se is at least 1/sqrt(D·Vmax) (Vmax = 1/4 for a
                            0/1 covariate); the CI bounds and the p (with the HR) imply an se that must
                            reach it
``median CI time unit``     the median at the CI centre is a whole or half number of days under the
                            days-per-month that fits most triples (:func:`infer_days_per_month`)

The pairwise Cox checks say which numbers of a row disagree; :func:`cox_together` says how many of
a row's HR, bounds and p one Cox model can still print together (a linear program in the log-HR and
its se, :func:`cox_printable_sets`). The scorecard gives it as the reason for a contradicted Cox
number, and :func:`findings_text` in words. :func:`unreachable` adds up what the paper itself puts
out of reach of any data set (with every count exact): the scorecard's "at most" column.

Examples
--------
>>> from analysis.synthetic.targets import load_targets
>>> from analysis.synthetic.audit import audit_paper, inconsistent_keys
>>> audit = audit_paper(load_targets())
>>> "subgroups.cox.platinum_response.p" in inconsistent_keys(audit)
True
"""
from __future__ import annotations

import copy
import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from analysis import memo
from analysis.stats import km
from analysis.stats.dist import beta_ppf, norm_isf, norm_ppf, norm_sf
from analysis.synthetic.targets import format_published, parse_bound

#: What the audit derives from the published numbers alone (the Cox rows' printable groups, the
#: numbers out of reach, the landmark patterns), computed once per process and, with ``RR_CACHE``
#: set, once for all the scenario builds of ``make sensitivity`` (:mod:`analysis.memo`). Callers
#: get copies, so the memo cannot be changed through them.
_MEMO: dict | None = None


def _memoised(key: tuple, compute):
    global _MEMO
    if _MEMO is None:
        _MEMO = memo.stored_memo("audit")
    value = memo.memoised(_MEMO, key, compute)
    return value.copy() if isinstance(value, pd.DataFrame) else copy.deepcopy(value)

Z975 = 1.959963984540054
AUDIT_COLUMNS = ["key", "where", "check", "published", "expected", "consistent", "note"]


# ----------------------------------------------------------------------------- rounding helpers
def half_unit(decimals: int) -> float:
    """Half of the last printed digit: 0.05 for one decimal."""
    return 0.5 * 10.0 ** (-int(decimals))


def same_when_printed(x: float, published: float, decimals: int) -> bool:
    """``x`` prints as ``published`` with ``decimals`` decimals (half away from zero)."""
    return format_published(x, decimals) == format_published(published, decimals)


def _overlap(a: tuple[float, float], b: tuple[float, float], eps: float = 1e-12) -> bool:
    return a[0] <= b[1] + eps and b[0] <= a[1] + eps




# ----------------------------------------------------------------------------- pure statistics
def percent_of(count: float, denominator: float) -> float:
    """Percentage ``100·count/denominator``."""
    return 100.0 * count / denominator


def counts_matching_percent(published: float, denominator: int, decimals: int) -> list[int]:
    """Every count ``k`` out of ``denominator`` whose percentage prints as ``published``."""
    return [k for k in range(int(denominator) + 1)
            if same_when_printed(percent_of(k, denominator), published, decimals)]


def hr_midpoint_range(lower: float, upper: float, ci_decimals: int) -> tuple[float, float]:
    """Interval of geometric midpoints ``sqrt(L·U)`` consistent with the rounded bounds."""
    h = half_unit(ci_decimals)
    return math.sqrt((lower - h) * (upper - h)), math.sqrt((lower + h) * (upper + h))


def hr_at_midpoint(hr: float, lower: float, upper: float, hr_decimals: int = 2,
                   ci_decimals: int = 2) -> tuple[bool, float, tuple[float, float]]:
    """Is the printed HR at the geometric midpoint of its printed CI, allowing for rounding?

    Returns ``(consistent, sqrt(lower·upper), (low, high))`` where ``(low, high)`` is the range of
    midpoints the rounded bounds allow.

    >>> hr_at_midpoint(0.95, 0.89, 1.18)[0]
    False
    """
    mid = math.sqrt(lower * upper)
    rng = hr_midpoint_range(lower, upper, ci_decimals)
    h = half_unit(hr_decimals)
    return _overlap((hr - h, hr + h), rng), mid, rng


def wald_p(hr: float, lower: float, upper: float, level: float = 0.95) -> float:
    """Two-sided Wald p implied by a hazard ratio and its CI.

    ``se = (ln U - ln L) / (2·z)``, ``z_stat = ln HR / se``, ``p = 2(1 - Φ(|z_stat|))``.

    >>> round(wald_p(0.91, 0.72, 1.25), 2)
    0.5
    """
    z = norm_ppf(0.5 + level / 2)
    se = (math.log(upper) - math.log(lower)) / (2 * z)
    return float(2 * norm_sf(abs(math.log(hr)) / se))


def wald_p_range(hr: float, lower: float, upper: float, hr_decimals: int = 2,
                 ci_decimals: int = 2) -> tuple[float, float]:
    """Range of Wald p-values consistent with the rounding of HR and of both bounds.

    p is monotone in |ln HR| and in se, so the extremes are at the corners of the rounding box;
    when the HR's rounding interval contains 1 the largest p is 1.
    """
    hh, hb = half_unit(hr_decimals), half_unit(ci_decimals)
    ps = [wald_p(h_, l_, u_)
          for h_ in (hr - hh, hr + hh) for l_ in (lower - hb, lower + hb) for u_ in (upper - hb, upper + hb)
          if h_ > 0 and l_ > 0 and u_ > l_]
    lo, hi = min(ps), max(ps)
    if hr - hh <= 1.0 <= hr + hh:
        hi = 1.0
    return lo, hi


def p_consistent_with_ci(p: float, hr: float, lower: float, upper: float, p_decimals: int = 3,
                         hr_decimals: int = 2, ci_decimals: int = 2) -> tuple[bool, float, tuple[float, float]]:
    """Does the published p fall in the range of Wald p-values the printed HR and CI allow?

    >>> p_consistent_with_ci(0.216, 0.91, 0.72, 1.25)[0]
    False
    """
    rng = wald_p_range(hr, lower, upper, hr_decimals, ci_decimals)
    hp = half_unit(p_decimals)
    return _overlap((p - hp, p + hp), rng), wald_p(hr, lower, upper), rng


def median_ci_symmetric(median: float, lower: float, upper: float, median_decimals: int = 1,
                        ci_decimals: int = 2) -> tuple[bool, float, str]:
    """Is ``lower, upper`` the SPSS interval ``median ± 1.96·se`` (lower truncated at 0.00)?

    Returns ``(consistent, implied, description)``: for an untruncated interval ``implied`` is the
    midpoint ``(lower + upper)/2``, which must print as the median; for ``lower == 0`` it is the
    untruncated lower bound ``2·median - upper``, which must be <= 0.

    >>> median_ci_symmetric(5.6, 3.87, 7.33)[0]
    True
    >>> median_ci_symmetric(7.8, 0.00, 17.91)[0]
    True
    """
    hm, hb = half_unit(median_decimals), half_unit(ci_decimals)
    if lower == 0:
        implied = 2 * median - upper
        smallest = 2 * (median - hm) - (upper + hb)
        return smallest <= hb, implied, (f"untruncated lower bound 2·median - upper = {implied:.2f} "
                                         f"(must be <= 0 to print as 0.00)")
    mid = (lower + upper) / 2
    ok = _overlap((median - hm, median + hm), (mid - hb, mid + hb))
    return ok, mid, (f"midpoint (lower + upper)/2 = {mid:.3f}; half-widths {median - lower:.2f} "
                     f"below, {upper - median:.2f} above")


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval for ``k`` successes out of ``n``, as proportions.

    >>> [round(100 * x, 2) for x in clopper_pearson(22, 68)]
    [21.51, 44.79]
    """
    a = 1 - level
    lo = 0.0 if k == 0 else float(beta_ppf(a / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(beta_ppf(1 - a / 2, k + 1, n - k))
    return lo, hi


def loglog_halfwidths(estimate: float, lower: float, upper: float) -> tuple[float, float]:
    """z·σ implied separately by the lower and the upper bound of a log(-log) interval (proportions).

    For ``S^exp(±z·σ)``: lower gives ``ln(ln L / ln S)``, upper gives ``-ln(ln U / ln S)``; they
    agree for an interval of that form.
    """
    ls = math.log(estimate)
    return math.log(math.log(lower) / ls), -math.log(math.log(upper) / ls)


def loglog_consistent(estimate: float, lower: float, upper: float, decimals: int = 1,
                      grid: int = 41) -> tuple[bool, tuple[float, float]]:
    """Are rounded percentages ``estimate (lower–upper)`` a log(-log) interval?

    Searches the estimate's rounding interval for a value at which the ranges of z·σ implied by the
    rounded lower and upper bounds overlap. Returns ``(consistent, (zσ from lower, zσ from upper))``
    at the printed values.
    """
    h = half_unit(decimals)
    pct = lambda x: x / 100.0  # noqa: E731
    for s in np.linspace(estimate - h, estimate + h, grid):
        if not (0 < s < 100):
            continue
        ls = math.log(pct(s))
        lo_vals = [math.log(math.log(pct(x)) / ls) for x in (lower - h, lower + h) if 0 < x < s]
        up_vals = [-math.log(math.log(pct(x)) / ls) for x in (upper - h, upper + h) if s < x < 100]
        if lo_vals and up_vals and _overlap((min(lo_vals), max(lo_vals)), (min(up_vals), max(up_vals))):
            return True, loglog_halfwidths(pct(estimate), pct(lower), pct(upper))
    return False, loglog_halfwidths(pct(estimate), pct(lower), pct(upper))


# ----------------------------------------------------------------------------- frame helpers
class _T:
    """Look-ups on the targets frame (numeric entries only)."""

    def __init__(self, targets: pd.DataFrame):
        self.df = targets
        self.num = targets[targets["kind"].isin(["value", "words", "approx", "definition"])]
        first = self.num.drop_duplicates("key", keep="first")
        self.value = dict(zip(first["key"], first["value"].astype(float)))
        self.dec = dict(zip(first["key"], first["decimals"].astype(int)))
        self.where = dict(zip(first["key"], first["where"]))

    def has(self, *keys: str) -> bool:
        return all(k in self.value for k in keys)

    def keys_ending(self, suffix: str) -> list[str]:
        return [k for k in self.value if k.endswith(suffix)]


def _row(key, where, check, published, expected, consistent, note) -> dict:
    return dict(key=key, where=where, check=check, published=published, expected=expected,
                consistent=bool(consistent), note=note)


def _count_key_for(pct_key: str) -> str | None:
    if pct_key.endswith(".pct"):
        return pct_key[: -len(".pct")] + ".n"
    if pct_key.endswith(".events_pct"):
        return pct_key[: -len("_pct")]
    if pct_key.endswith("_pct"):
        return pct_key[: -len("_pct")] + "_n"
    return None


#: Denominator of a percentage, by key prefix (first match wins); default ``cohort.n`` (68).
#: Values are target keys (e.g. ``survival.dor.n`` = 22 responders) or integers.
DENOMINATORS: dict[str, str | int] = {
    "survival.dor.": "survival.dor.n",
    "response.best_pct_change.": "response.best_pct_change.n",
}


def _denominator(t: _T, key: str, denominators: dict[str, str | int]) -> float | None:
    for prefix, d in denominators.items():
        if key.startswith(prefix):
            return float(d) if isinstance(d, (int, float)) else t.value.get(d)
    return t.value.get("cohort.n")


# ----------------------------------------------------------------------------- checks
def check_percentages(targets: pd.DataFrame, denominators: dict[str, str | int] | None = None) -> list[dict]:
    """Every printed percentage with a printed count: count/denominator at the printed decimals."""
    t = _T(targets)
    dens = DENOMINATORS if denominators is None else denominators
    rows = []
    derived = {"response.orr.pct": ("response.best.CR.n", "response.best.PR.n"),
               "response.dcr.pct": ("response.best.CR.n", "response.best.PR.n", "response.best.SD.n")}
    pct_rows = t.num[(t.num["unit"] == "percent") & t.num["key"].str.contains(r"(?:\.pct|_pct)$")]
    for _, r in pct_rows.iterrows():
        key = r["key"]
        if key in derived:
            parts = [k for k in derived[key] if t.has(k)]
            if not parts:
                continue
            count = sum(t.value[k] for k in parts)
            count_desc = " + ".join(f"{k.split('.')[-2]} {int(t.value[k])}" for k in parts)
        else:
            ck = _count_key_for(key)
            if ck is None or not t.has(ck):
                continue
            count, count_desc = t.value[ck], f"{int(t.value[ck])}"
        den = _denominator(t, key, dens)
        if not den:
            continue
        exact = percent_of(count, den)
        d = int(r["decimals"])
        ok = same_when_printed(exact, r["value"], d)
        if ok:
            note = f"{count_desc}/{int(den)} = {exact:.2f}%, prints as {format_published(exact, d)}"
        else:
            ks = counts_matching_percent(r["value"], int(den), d)
            alt = (f"; {format_published(r['value'], d)}% would need {' or '.join(map(str, ks))} out of {int(den)}"
                   if ks else f"; no count out of {int(den)} gives {format_published(r['value'], d)}%")
            note = (f"{count_desc}/{int(den)} = {exact:.2f}%, which rounds to {format_published(exact, d)}, "
                    f"not {format_published(r['value'], d)}{alt}")
        if not ok and key.startswith("safety.") and key.endswith(("grade12_pct", "grade3plus_pct")):
            other = key.replace("grade12_pct", "@").replace("grade3plus_pct", "grade12_pct").replace("@", "grade3plus_pct")
            total = key.rsplit(".", 1)[0] + ".any_pct"
            if t.has(other, total) and abs(t.value[total] - t.value[other] - r["value"]) < 1e-9:
                note += (f"; it equals any grade {t.value[total]:.1f} minus {t.value[other]:.1f}, as if adjusted "
                         f"so that the grade columns add up to the total")
        rows.append(_row(key, r["where"], "percent vs count", r["value"], float(format_published(exact, d)), ok, note))
    return rows


def _percent_sum_row(key, where, check, pcts: list[float], decimals: int, total: float = 100.0) -> dict:
    s = sum(pcts)
    slack = len(pcts) * half_unit(decimals)
    ok = abs(s - total) <= slack + 1e-9
    note = (f"printed percentages sum to {s:.1f}; rounding of {len(pcts)} values allows "
            f"{total - slack:.2f}–{total + slack:.2f}")
    return _row(key, where, check, round(s, 6), total, ok, note)


def check_row_totals(targets: pd.DataFrame) -> list[dict]:
    """Table 1 and best-response categories sum to N; Table 3 any = grade 1-2 + grade >= 3."""
    t = _T(targets)
    rows = []
    n = t.value.get("cohort.n")
    # Table 1
    groups: dict[str, list[str]] = {}
    for k in t.value:
        parts = k.split(".")
        if parts[:2] == ["cohort", "table1"] and len(parts) == 5:
            groups.setdefault(parts[2], [])
            if parts[3] not in groups[parts[2]]:
                groups[parts[2]].append(parts[3])
    for var, levels in groups.items():
        gk = f"cohort.table1.{var}"
        ns = [t.value[f"{gk}.{lv}.n"] for lv in levels if t.has(f"{gk}.{lv}.n")]
        if n is not None and ns:
            s = sum(ns)
            rows.append(_row(gk, "Table 1", "row total", s, n, s == n,
                             f"{' + '.join(str(int(x)) for x in ns)} = {int(s)} (N = {int(n)})"))
        ps = [t.value[f"{gk}.{lv}.pct"] for lv in levels if t.has(f"{gk}.{lv}.pct")]
        if len(ps) > 1:
            rows.append(_percent_sum_row(gk, "Table 1", "row total (percent)", ps, 1))
    # best response
    cats = [c for c in ("CR", "PR", "SD", "PD", "NE") if t.has(f"response.best.{c}.n")]
    if n is not None and cats:
        s = sum(t.value[f"response.best.{c}.n"] for c in cats)
        terms = " + ".join(f"{c} {int(t.value['response.best.' + c + '.n'])}" for c in cats)
        rows.append(_row("response.best", t.where[f"response.best.{cats[0]}.n"], "row total", s, n, s == n,
                         f"{terms} = {int(s)} (N = {int(n)})"))
    pcs = [t.value[f"response.best.{c}.pct"] for c in ("CR", "PR", "SD", "PD", "NE") if t.has(f"response.best.{c}.pct")]
    if len(pcs) > 1:
        rows.append(_percent_sum_row("response.best", "Results, Efficacy", "row total (percent)", pcs, 1))
    # Table 3
    terms = sorted({k.split(".")[1] for k in t.value if k.startswith("safety.") and k.endswith(".grade12_n")})
    for term in terms:
        p = f"safety.{term}"
        if t.has(f"{p}.any_n", f"{p}.grade12_n", f"{p}.grade3plus_n"):
            a, g12, g3 = (t.value[f"{p}.{x}"] for x in ("any_n", "grade12_n", "grade3plus_n"))
            rows.append(_row(f"{p}.any_n", "Table 3", "row total", a, g12 + g3, a == g12 + g3,
                             f"grade 1-2 {int(g12)} + grade >=3 {int(g3)} = {int(g12 + g3)}; any grade printed {int(a)}"))
        if t.has(f"{p}.any_pct", f"{p}.grade12_pct", f"{p}.grade3plus_pct"):
            a, g12, g3 = (t.value[f"{p}.{x}"] for x in ("any_pct", "grade12_pct", "grade3plus_pct"))
            r = _percent_sum_row(f"{p}.any_pct", "Table 3", "row total (percent)", [g12, g3], 1, total=a)
            r["note"] = (f"grade 1-2 {g12:.1f} + grade >=3 {g3:.1f} = {g12 + g3:.1f}; any grade printed {a:.1f} "
                         f"(rounding allows a difference up to 0.15)")
            r["consistent"] = abs(g12 + g3 - a) <= 3 * half_unit(1) + 1e-9
            rows.append(r)
        for col in ("any_n", "grade3plus_n"):
            if t.has(f"{p}.{col}", f"safety.any.{col}"):
                x, tot = t.value[f"{p}.{col}"], t.value[f"safety.any.{col}"]
                rows.append(_row(f"{p}.{col}", "Table 3", "subset", x, f"<= {int(tot)}", x <= tot,
                                 f"{int(x)} patients with {term} cannot exceed {int(tot)} with any TRAE"
                                 f" ({col.replace('_n', '')})"))
    return rows


def _satisfies(value: float, bound: str) -> bool:
    op, num, _ = parse_bound(bound)
    return {"<": value < num, "<=": value <= num, ">": value > num, ">=": value >= num}[op]


def check_repeated_values(targets: pd.DataFrame) -> list[dict]:
    """A key printed in several places must carry one value (text vs table vs Discussion)."""
    rows = []
    multi = targets[targets.duplicated("key", keep=False)]
    for key, grp in multi.groupby("key", sort=False):
        vals = grp[~grp["kind"].isin(["bound", "date"])]
        for _, r in grp.iterrows():
            others = vals[vals.index != r.name]
            if others.empty:
                continue
            if r["kind"] == "bound":
                o = others.iloc[0]
                ok = _satisfies(float(o["value"]), r["value"])
                note = (f"{r['where']} prints {r['value']}; {o['where']} prints {o['value']}"
                        + ("" if ok else f", which is not {r['value']}"))
                if not ok and isinstance(r["conflict_with"], str):
                    note += f" ({r['conflict_with']})"
                rows.append(_row(key, r["where"], "same quantity twice", r["value"], o["value"], ok, note))
            elif r["kind"] not in ("date",):
                ok = all(float(v) == float(r["value"]) for v in others["value"])
                o = others.iloc[0]
                note = (f"{r['where']} prints {format_published(r['value'], r['decimals'])}; "
                        f"{o['where']} prints {format_published(o['value'], o['decimals'])}")
                rows.append(_row(key, r["where"], "same quantity twice", r["value"], o["value"], ok, note))
    return rows


def check_cross_references(targets: pd.DataFrame) -> list[dict]:
    """Counts printed in different sections that must agree."""
    t = _T(targets)
    rows = []
    if t.has("survival.dor.n", "response.best.PR.n"):
        resp = t.value["response.best.PR.n"] + t.value.get("response.best.CR.n", 0.0)
        v = t.value["survival.dor.n"]
        rows.append(_row("survival.dor.n", t.where["survival.dor.n"], "cross-reference", v, resp, v == resp,
                         f"DoR is analysed in the responders: CR + PR = {int(resp)}"))
    if t.has("response.best_pct_change.n", "cohort.n", "response.best.NE.n"):
        ev = t.value["cohort.n"] - t.value["response.best.NE.n"]
        v = t.value["response.best_pct_change.n"]
        rows.append(_row("response.best_pct_change.n", t.where["response.best_pct_change.n"], "cross-reference",
                         v, ev, v == ev, f"evaluable patients = N - not evaluable = {int(ev)}"))
    return rows


def _cox_vars(t: _T) -> list[str]:
    return [k.split(".")[2] for k in t.value if k.startswith("subgroups.cox.") and k.endswith(".hr")]


def check_cox(targets: pd.DataFrame) -> list[dict]:
    """Cox rows: HR at the geometric midpoint of its CI; p vs the Wald p of its CI; significance."""
    t = _T(targets)
    rows = []
    for var in _cox_vars(t):
        p = f"subgroups.cox.{var}"
        if not t.has(f"{p}.hr", f"{p}.lower", f"{p}.upper"):
            continue
        hr, lo, up = (t.value[f"{p}.{x}"] for x in ("hr", "lower", "upper"))
        dh, dc = t.dec[f"{p}.hr"], t.dec[f"{p}.lower"]
        ok, mid, rng = hr_at_midpoint(hr, lo, up, dh, dc)
        note = (f"sqrt({lo:.{dc}f} x {up:.{dc}f}) = {mid:.3f} (rounded bounds allow {rng[0]:.3f}–{rng[1]:.3f})"
                + ("" if ok else f"; the printed HR {hr:.{dh}f} is not the centre of its CI on the log scale"))
        rows.append(_row(f"{p}.hr", t.where[f"{p}.hr"], "HR at CI midpoint", hr,
                         f"{mid:.3f} ({rng[0]:.3f}–{rng[1]:.3f})", ok, note))
        if t.has(f"{p}.p"):
            pv, dp = t.value[f"{p}.p"], t.dec[f"{p}.p"]
            ok, pw, prng = p_consistent_with_ci(pv, hr, lo, up, dp, dh, dc)
            note = (f"Wald p from HR {hr:.{dh}f} ({lo:.{dc}f}–{up:.{dc}f}) = {pw:.3f}; rounding allows "
                    f"{prng[0]:.3f}–{prng[1]:.3f}")
            if not ok:
                gap = min(abs(pv - prng[0]), abs(pv - prng[1]))
                note += (f"; the printed p {pv:.{dp}f} is outside that range"
                         + (" (narrowly)" if gap < 0.005 else ""))
            rows.append(_row(f"{p}.p", t.where[f"{p}.p"], "p vs CI (Wald)", pv,
                             f"{pw:.3f} ({prng[0]:.3f}–{prng[1]:.3f})", ok, note))
            excludes_one = lo > 1 or up < 1
            sig = pv < 0.05
            ok = excludes_one == sig
            rows.append(_row(f"{p}.p", t.where[f"{p}.p"], "p vs CI (significance)", pv,
                             "< 0.05" if excludes_one else ">= 0.05", ok,
                             f"CI {lo:.{dc}f}–{up:.{dc}f} {'excludes' if excludes_one else 'includes'} 1; "
                             f"p {pv:.{dp}f} is {'' if sig else 'not '}below 0.05"))
    return rows


def _median_prefixes(t: _T) -> list[str]:
    out = []
    for k in t.value:
        if k.endswith(".median") and (k.startswith("survival.") or k.startswith("subgroups.")):
            p = k[: -len(".median")]
            if t.has(f"{p}.lower", f"{p}.upper"):
                out.append(p)
    return out


def check_median_cis(targets: pd.DataFrame) -> list[dict]:
    """Median survival CIs: ordered, and symmetric about the median (SPSS), or truncated at 0."""
    t = _T(targets)
    rows = []
    for p in _median_prefixes(t):
        m, lo, up = (t.value[f"{p}.{x}"] for x in ("median", "lower", "upper"))
        dm, dc = t.dec[f"{p}.median"], t.dec[f"{p}.lower"]
        ok, implied, desc = median_ci_symmetric(m, lo, up, dm, dc)
        ordered = lo <= m <= up
        rows.append(_row(f"{p}.median", t.where[f"{p}.median"], "median CI symmetric", m, round(implied, 4),
                         ok and ordered,
                         desc + ("" if ordered else "; the median lies outside its CI")
                         + ("" if ok else "; not the symmetric SPSS interval")))
    return rows


def check_proportion_cis(targets: pd.DataFrame, level: float = 0.95) -> list[dict]:
    """ORR and DCR intervals against Clopper-Pearson from the printed counts."""
    t = _T(targets)
    rows = []
    n = t.value.get("cohort.n")
    spec = {"orr": ("CR", "PR"), "dcr": ("CR", "PR", "SD")}
    for name, cats in spec.items():
        p = f"response.{name}"
        if n is None or not all(t.has(f"response.best.{c}.n") for c in cats if c != "CR"):
            continue
        k = int(sum(t.value.get(f"response.best.{c}.n", 0.0) for c in cats))
        lo, hi = (100 * x for x in clopper_pearson(k, int(n), level))
        for bound, exact in (("lower", lo), ("upper", hi)):
            key = f"{p}.{bound}"
            if not t.has(key):
                continue
            d = t.dec[key]
            ok = same_when_printed(exact, t.value[key], d)
            rows.append(_row(key, t.where[key], "Clopper-Pearson CI", t.value[key], float(format_published(exact, d)),
                             ok, f"exact {int(level * 100)}% CI for {k}/{int(n)}: {lo:.2f}–{hi:.2f}%"))
    return rows


def check_landmark_cis(targets: pd.DataFrame) -> list[dict]:
    """Landmark rates: lower < estimate < upper, and the log(-log) interval's symmetry."""
    t = _T(targets)
    rows = []
    for k in t.keys_ending(".estimate"):
        p = k[: -len(".estimate")]
        if ".rate_" not in p or not t.has(f"{p}.lower", f"{p}.upper"):
            continue
        s, lo, up = (t.value[f"{p}.{x}"] for x in ("estimate", "lower", "upper"))
        ok = lo < s < up
        rows.append(_row(k, t.where[k], "landmark CI plausible", s, f"{lo:.1f}–{up:.1f}", ok,
                         f"{lo:.1f} < {s:.1f} < {up:.1f}" if ok else "the estimate is not inside its CI"))
        if 0 < lo < s < up < 100:
            d = t.dec[k]
            ok2, (a_lo, a_up) = loglog_consistent(s, lo, up, d)
            rows.append(_row(k, t.where[k], "landmark CI log-log", s, f"{lo:.1f}–{up:.1f}", ok2,
                             f"z·sigma implied by the lower bound {a_lo:.3f}, by the upper bound {a_up:.3f}"
                             + ("; equal within rounding, as for Stata's log(-log) interval" if ok2
                                else "; not a log(-log) interval even allowing for rounding")))
    return rows


# ----------------------------------------------------------------------------- Cox information bound
#: Numeric coding ``(min, max)`` of each Cox covariate; a covariate not listed is a 0/1 indicator.
#: Table 2 prints "Anlotinib dosage (mg)", an HR per mg, so the dose (8, 10 or 12 mg) is coded in mg.
COX_CODING: dict[str, tuple[float, float]] = {"anlotinib_dose_mg": (8.0, 12.0)}
#: Deaths in the Cox model of Table 2 (an OS model).
COX_EVENTS_KEY = "survival.os.events"


def max_covariate_variance(lo: float, hi: float) -> float:
    """Largest variance a covariate taking values in ``[lo, hi]`` can have: ``((hi - lo)/2)^2``.

    It is reached with half the mass at each end; a 0/1 indicator gives 1/4.

    >>> max_covariate_variance(0, 1), max_covariate_variance(8, 12)
    (0.25, 4.0)
    """
    return ((hi - lo) / 2.0) ** 2


def cox_se_min(deaths: float, vmax: float) -> float:
    """Smallest model-based standard error of a Cox log-HR with ``deaths`` deaths: ``1/sqrt(D·Vmax)``.

    The Cox information for coefficient j is a sum over the deaths of the (weighted) variance of
    covariate j in the risk set at that death time (Breslow; Efron also takes, for each tied death,
    a variance under modified weights). Each such variance is at most ``Vmax``, the largest variance
    the covariate's range allows, so ``I_jj <= D·Vmax``. In a multivariable model
    ``var(b_j) = (I^-1)_jj >= 1/I_jj``, so ``se_j >= 1/sqrt(D·Vmax)`` whatever the other covariates
    are. This bounds the inverse-information se that SPSS, R ``coxph`` and Stata print by default
    (not a robust sandwich se).

    >>> round(cox_se_min(44, 0.25), 4), round(cox_se_min(44, 4.0), 4)
    (0.3015, 0.0754)
    """
    return 1.0 / math.sqrt(deaths * vmax)


def se_max_from_ci(lower: float, upper: float, lower_decimals: int = 2, upper_decimals: int = 2,
                   level: float = 0.95) -> float:
    """Largest se a printed Wald CI ``exp(b ± z·se)`` allows: ``ln((U + h)/(L - h)) / (2z)``.

    ``h`` is half a unit of each bound's last printed digit. A lower bound that may be 0 leaves
    the se unbounded (``inf``).

    >>> round(se_max_from_ci(0.37, 0.90), 3)
    0.232
    """
    z = float(norm_ppf(0.5 + level / 2))
    lo, up = lower - half_unit(lower_decimals), upper + half_unit(upper_decimals)
    if lo <= 0:
        return math.inf
    return math.log(up / lo) / (2 * z)


def se_max_from_hr_p(hr: float, p: float, hr_decimals: int = 2, p_decimals: int = 3) -> float:
    """Largest se a printed HR and two-sided Wald p allow: ``max|ln HR| / Φ^-1(1 - max p/2)``.

    ``|ln HR|/se`` is the Wald statistic ``z = Φ^-1(1 - p/2)``, so ``se = |ln HR|/z``; it grows with
    ``|ln HR|`` and with ``p``, so the largest value is at the rounding corner with the HR farthest
    from 1 and the largest p. A p that may be 1 (z = 0) leaves the se unbounded (``inf``).

    >>> round(se_max_from_hr_p(0.60, 0.031), 3)
    0.241
    """
    hh = half_unit(hr_decimals)
    if hr - hh <= 0:  # an HR printed as 0.00 may be any small number
        return math.inf
    log_hr = max(abs(math.log(hr - hh)), abs(math.log(hr + hh)))
    p_hi = p + half_unit(p_decimals)
    if p_hi >= 1:
        return math.inf
    return log_hr / float(norm_isf(p_hi / 2))


def _coding(var: str, coding: dict[str, tuple[float, float]] | None = None) -> tuple[float, float]:
    """``(min, max)`` of a Cox covariate's coding (default :data:`COX_CODING`; unlisted: a 0/1 indicator)."""
    return (COX_CODING if coding is None else coding).get(var, (0.0, 1.0))


def _coding_desc(lo: float, hi: float) -> str:
    return "a 0/1 covariate" if (lo, hi) == (0, 1) else f"a covariate coded {lo:g}–{hi:g}"


def check_cox_information(targets: pd.DataFrame, coding: dict[str, tuple[float, float]] | None = None,
                          events_key: str = COX_EVENTS_KEY) -> list[dict]:
    """Cox CI width vs events: no Cox model on ``D`` deaths gives a log-HR se below ``1/sqrt(D·Vmax)``.

    See :func:`cox_se_min` for the bound (``Vmax`` = 1/4 for a 0/1 indicator, ``((max - min)/2)^2``
    for a numeric covariate; ``coding`` maps a covariate to its ``(min, max)``, default
    :data:`COX_CODING`, and a covariate it does not list is a 0/1 indicator). Two rows per
    covariate, both with check ``"Cox CI width vs events"``:

    * the CI (one row keyed ``.lower``, one ``.upper``): the largest se the rounded bounds allow,
      :func:`se_max_from_ci`, must reach ``se_min``;
    * the p (keyed ``.p``): the largest se the rounded HR and p allow, :func:`se_max_from_hr_p`,
      must reach ``se_min`` (this assumes a Wald p, as SPSS prints).

    The HR itself is not flagged here: an HR is possible with any se, so it stays a target.
    """
    t = _T(targets)
    if not t.has(events_key):
        return []
    deaths = t.value[events_key]
    rows = []
    for var in _cox_vars(t):
        p = f"subgroups.cox.{var}"
        lo_c, hi_c = _coding(var, coding)
        vmax = max_covariate_variance(lo_c, hi_c)
        se_min = cox_row_se_min(t, var, coding, events_key)
        expected = f"se ≥ {se_min:.3f}"
        if (lo_c, hi_c) == (0, 1):
            bound = f"2/√{deaths:g} = {se_min:.3f} (information ≤ {deaths:g} × 1/4)"
        else:
            bound = (f"1/√({deaths:g} × {vmax:g}) = {se_min:.4f} (information ≤ {deaths:g} × "
                     f"((max - min)/2)² = {deaths:g} × {vmax:g})")
        intro = f"with {deaths:g} deaths {_coding_desc(lo_c, hi_c)}'s log-HR standard error is at least {bound}"
        if t.has(f"{p}.lower", f"{p}.upper"):
            lo, up = t.value[f"{p}.lower"], t.value[f"{p}.upper"]
            dl, du = t.dec[f"{p}.lower"], t.dec[f"{p}.upper"]
            se_ci = se_max_from_ci(lo, up, dl, du)
            ok = se_ci >= se_min
            note = (f"{intro}; the printed CI {lo:.{dl}f}–{up:.{du}f} implies at most {se_ci:.3f}"
                    + (": wide enough" if ok else ": no data set of this size gives so narrow an interval"))
            for b in ("lower", "upper"):
                rows.append(_row(f"{p}.{b}", t.where[f"{p}.{b}"], "Cox CI width vs events", t.value[f"{p}.{b}"],
                                 expected, ok, note))
        if t.has(f"{p}.hr", f"{p}.p"):
            hr, pv = t.value[f"{p}.hr"], t.value[f"{p}.p"]
            dh, dp = t.dec[f"{p}.hr"], t.dec[f"{p}.p"]
            se_p = se_max_from_hr_p(hr, pv, dh, dp)
            ok = se_p >= se_min
            note = (f"{intro}; HR {hr:.{dh}f} with Wald p {pv:.{dp}f} implies se = |ln HR|/z of at most {se_p:.3f}"
                    + (": large enough" if ok else
                       ": so small a p needs a smaller se than this many deaths allow (the HR itself is "
                       "not in question)"))
            rows.append(_row(f"{p}.p", t.where[f"{p}.p"], "Cox CI width vs events", pv, expected, ok, note))
    return rows


#: The four numbers of a Cox row, in the order they are printed.
COX_NUMBERS = ("hr", "lower", "upper", "p")
_SE_CAP = 20.0  # an se beyond this is no model anyone prints; it bounds the linear programs


def _cox_half_planes(name: str, value: float, decimals: int, level: float) -> list[tuple[float, float, float]]:
    """The rounding window of one printed Cox number as half-planes ``a·b + c·se <= d`` in (b, se).

    ``b`` is the log-HR and ``se`` its standard error; the number prints as ``value`` exactly when
    its true value lies within half a unit of the last digit (the edge itself excluded, which the
    caller's strict margin takes care of). For ``p`` the sign of ``b`` is fixed by the caller (two
    calls, ``name`` ``"p+"`` and ``"p-"``).
    """
    z = float(norm_ppf(0.5 + level / 2))
    h = half_unit(decimals)
    lo, hi = value - h, value + h
    rows: list[tuple[float, float, float]] = []
    if name in ("hr", "lower", "upper"):  # ln(lo) <= b + k·z·se < ln(hi), k = 0, -1, +1
        k = {"hr": 0.0, "lower": -1.0, "upper": 1.0}[name]
        rows.append((1.0, k * z, math.log(hi)))
        if lo > 0:
            rows.append((-1.0, -k * z, -math.log(lo)))
        return rows
    # p = 2(1 - Φ(|b|/se)) in [lo, hi)  <=>  t_min·se <= |b| <= t_max·se
    t_min = float(norm_isf(min(hi, 1.0) / 2))
    t_max = float(norm_isf(lo / 2)) if lo > 0 else math.inf
    sign = 1.0 if name == "p+" else -1.0  # sign·b = |b|
    rows.append((-sign, t_min, 0.0))  # |b| >= t_min·se
    if math.isfinite(t_max):
        rows.append((sign, -t_max, 0.0))  # |b| <= t_max·se
    else:
        rows.append((-sign, 0.0, 0.0))  # only the sign
    return rows


def cox_numbers_feasible(printed: dict[str, tuple[float, int]], se_min: float, level: float = 0.95) -> bool:
    """Whether one Cox coefficient can print all of ``printed`` at once.

    ``printed`` maps some of :data:`COX_NUMBERS` to ``(value, decimals)``. The HR is ``exp(b)``,
    the bounds ``exp(b ∓ z·se)`` and the p the two-sided Wald p ``2(1 − Φ(|b|/se))``, with
    ``se >= se_min`` (:func:`cox_se_min`). Every rounding window is a pair of half-planes in
    ``(b, se)`` (for the p, on each side of ``b = 0``), so the question is whether a polygon has an
    interior point: a linear program that maximises the smallest slack (exact, no grid).

    >>> ecog = {"hr": (0.60, 2), "lower": (0.37, 2), "upper": (0.90, 2), "p": (0.031, 3)}
    >>> cox_numbers_feasible({k: ecog[k] for k in ("upper", "p")}, 0.3015)
    True
    >>> cox_numbers_feasible({k: ecog[k] for k in ("hr", "p")}, 0.3015)
    False
    """
    from scipy.optimize import linprog

    names = [n for n in COX_NUMBERS if n in printed]
    signs = ("p+", "p-") if "p" in names else (None,)
    for sign in signs:
        rows = []
        for n in names:
            v, d = printed[n]
            rows += _cox_half_planes(sign if n == "p" else n, float(v), int(d), level)
        # variables (b, se, slack): maximise slack subject to a·b + c·se + slack <= d
        A = [[a, c, 1.0] for a, c, _ in rows]
        ub = [d for _, _, d in rows]
        res = linprog(c=[0.0, 0.0, -1.0], A_ub=A, b_ub=ub,
                      bounds=[(None, None), (se_min, _SE_CAP), (None, 1.0)], method="highs")
        if res.status == 0 and -res.fun > 1e-9:
            return True
    return False


def cox_printable_sets(printed: dict[str, tuple[float, int]], se_min: float,
                       level: float = 0.95) -> tuple[int, list[tuple[str, ...]]]:
    """The largest groups of a Cox row's printed numbers one coefficient can print together.

    Returns ``(size, groups)``: the largest number of them that print at once and every group of
    that size, in :data:`COX_NUMBERS` order. A row whose numbers agree (its HR at the centre of its
    Wald CI, its p the Wald p, an se the deaths allow) gives ``(4, [("hr", "lower", "upper", "p")])``.

    >>> cox_printable_sets({"hr": (0.95, 2), "lower": (0.89, 2), "upper": (1.18, 2), "p": (0.789, 3)}, 0.3015)
    (1, [('hr',), ('lower',), ('upper',), ('p',)])
    """
    from itertools import combinations

    names = [n for n in COX_NUMBERS if n in printed]
    for k in range(len(names), 0, -1):
        groups = [g for g in combinations(names, k)
                  if cox_numbers_feasible({n: printed[n] for n in g}, se_min, level)]
        if groups:
            return k, groups
    return 0, []


def _cox_row(t: _T, var: str) -> dict[str, tuple[float, int]]:
    p = f"subgroups.cox.{var}"
    return {n: (t.value[f"{p}.{n}"], t.dec[f"{p}.{n}"]) for n in COX_NUMBERS if t.has(f"{p}.{n}")}


def cox_row_se_min(t: _T, var: str, coding: dict[str, tuple[float, float]] | None = None,
                   events_key: str = COX_EVENTS_KEY) -> float:
    """:func:`cox_se_min` of one Cox covariate from the published deaths and its coding (0 without deaths)."""
    if not t.has(events_key):
        return 0.0
    return cox_se_min(t.value[events_key], max_covariate_variance(*_coding(var, coding)))


def _names(group: Iterable[str]) -> str:
    words = {"hr": "HR", "lower": "lower bound", "upper": "upper bound", "p": "p"}
    g = [words[n] for n in group]
    return g[0] if len(g) == 1 else ", ".join(g[:-1]) + " and " + g[-1]


def _groups_text(groups: list) -> str:
    """'the upper bound and p', 'the lower bound and p or the upper bound and p', 'any one of them'."""
    return " or ".join(f"the {_names(g)}" for g in groups) if len(groups) <= 3 else "any one of them"


def cox_together(targets: pd.DataFrame, coding: dict[str, tuple[float, float]] | None = None,
                 events_key: str = COX_EVENTS_KEY, level: float = 0.95) -> dict[str, tuple[int, int, list, str]]:
    """:func:`_cox_together`, memoised (``_MEMO``)."""
    return _memoised(("cox_together", memo.frame_digest(targets), repr(coding), events_key, repr(level)),
                     lambda: _cox_together(targets, coding, events_key, level))


def _cox_together(targets: pd.DataFrame, coding: dict[str, tuple[float, float]] | None = None,
                  events_key: str = COX_EVENTS_KEY, level: float = 0.95) -> dict[str, tuple[int, int, list, str]]:
    """How many of each Cox row's printed numbers one Cox model can print at once.

    The pairwise checks (:func:`check_cox`, :func:`check_cox_information`) say which numbers of a
    row disagree; this says how many can still agree. With the se bounded below by the deaths
    (:func:`cox_row_se_min`), :func:`cox_printable_sets` finds the largest groups one coefficient
    prints together.

    Returns ``{covariate: (size, printed, groups, note)}``: ``printed`` is how many numbers the row
    has, ``note`` the finding in words (empty when they can all print together).
    """
    t = _T(targets)
    deaths = t.value.get(events_key)
    out = {}
    for var in _cox_vars(t):
        printed = _cox_row(t, var)
        se_min = cox_row_se_min(t, var, coding, events_key)
        size, groups = cox_printable_sets(printed, se_min, level)
        note = ""
        if size < len(printed):
            note = (f"at most {size} of the row's {len(printed)} numbers (HR, CI bounds, p) can print together"
                    + (f" with {deaths:g} deaths (one coefficient, se at least {se_min:.3f})" if deaths else "")
                    + f": {_groups_text(groups)}")
        out[var] = (size, len(printed), groups, note)
    return out


UNREACHABLE_COLUMNS = ["keys", "printed", "at_most", "lost", "category", "reason"]


def _bounds_together(bounds: list[str]) -> bool:
    """Some value satisfies every printed bound (``<0.20``, ``>=5`` ...) at once."""
    lo, hi = -math.inf, math.inf
    lo_open = hi_open = True
    for b in bounds:
        op, num, _ = parse_bound(b)
        if op in (">", ">="):
            if num > lo or (num == lo and op == ">"):
                lo, lo_open = num, op == ">"
        elif num < hi or (num == hi and op == "<"):
            hi, hi_open = num, op == "<"
    return lo < hi or (lo == hi and not lo_open and not hi_open)


def _entries_together(entries: pd.DataFrame) -> int:
    """How many of the printed entries of one key (values, bounds, dates) one true value can print."""
    bounds = entries.loc[entries["kind"] == "bound", "value"].astype(str).tolist()
    values = entries[entries["kind"] != "bound"]
    best = len(bounds) if bounds and _bounds_together(bounds) else min(len(bounds), 1)
    for v in values.itertuples(index=False):
        if v.kind == "date":
            n = int((values["value"].astype(str) == str(v.value)).sum())
        else:
            x = float(v.value)
            n = sum(o.kind != "date" and same_when_printed(x, float(o.value), int(o.decimals))
                    for o in values.itertuples(index=False))
            n += sum(_satisfies(x, b) for b in bounds)
        best = max(best, n)
    return best


def unreachable(targets: pd.DataFrame, audit: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`_unreachable`, memoised (``_MEMO``)."""
    key = ("unreachable", memo.frame_digest(targets), None if audit is None else memo.frame_digest(audit))
    return _memoised(key, lambda: _unreachable(targets, audit))


def _unreachable(targets: pd.DataFrame, audit: pd.DataFrame | None = None) -> pd.DataFrame:
    """The published numbers no data set can reproduce together, with every published count exact.

    A cohort is held to every count, so a percentage that contradicts its count cannot print; a
    definition (``kind: definition``, e.g. the platinum-resistance window) is an input, not a result;
    of a quantity printed twice with different values (or with a bound its value breaks) only the
    entries one true value satisfies can print; of a Cox row only the largest group of
    :func:`cox_together`. Everything else is not ruled out by the paper itself (which does not mean a
    cohort of 68 patients reaches it).

    Returns one row per key (Cox: per covariate) that loses numbers: ``keys`` (tuple), ``printed``
    (published entries), ``at_most`` (how many can print together), ``lost``, ``category`` (the
    first that applies of ``definition``, ``percent vs count``, ``same quantity twice``, ``Cox
    numbers together``) and ``reason``. The most any cohort can reproduce is
    ``len(targets) - lost.sum()``.
    """
    if audit is None:
        audit = audit_paper(targets)
    bad = audit[~audit["consistent"] & (audit["check"] == "percent vs count")]
    pct_bad = {(k, float(v)) for k, v in zip(bad["key"], bad["published"])}
    cox = cox_together(targets)
    present = set(targets["key"])
    cox_keys = {v: tuple(k for k in (f"subgroups.cox.{v}.{s}" for s in COX_NUMBERS) if k in present) for v in cox}
    rows = []
    for key, grp in targets.groupby("key", sort=False):
        if any(key in ks for ks in cox_keys.values()):
            continue
        defin = grp["kind"] == "definition"
        contra = grp.apply(lambda r: r["kind"] == "value" and (key, float(r["value"])) in pct_bad, axis=1)
        rest = grp[~defin & ~contra]
        at_most = _entries_together(rest) if len(rest) else 0
        if at_most == len(grp):
            continue
        why = [(c, r) for c, r, hit in (
            ("definition", "a definition the paper states, not a result", defin.any()),
            ("percent vs count", "the percentage contradicts its count", contra.any()),
            ("same quantity twice", "printed twice with values no one number gives", len(rest) > at_most)) if hit]
        rows.append(dict(keys=(key,), printed=len(grp), at_most=at_most, lost=len(grp) - at_most,
                         category=why[0][0], reason="; ".join(r for _, r in why)))
    for var, (size, n, _, note) in cox.items():
        if size < n:
            rows.append(dict(keys=cox_keys[var], printed=n, at_most=size, lost=n - size,
                             category="Cox numbers together", reason=note))
    return pd.DataFrame(rows, columns=UNREACHABLE_COLUMNS)


# ----------------------------------------------------------------------------- time unit of the medians
#: Days per month the paper may have used to turn days into months; 365.25/12 = 30.4375.
DAYS_PER_MONTH_CANDIDATES = (30.0, 365.25 / 12, 30.44, 30.5, 31.0)


def median_window(median: float, lower: float, upper: float, median_decimals: int = 1,
                  lower_decimals: int = 2, upper_decimals: int = 2) -> tuple[float, float, bool]:
    """Interval of true medians (months) consistent with a printed SPSS triple ``median (lower–upper)``.

    SPSS prints ``median ± 1.96·se``, so the median is the CI centre ``(L + U)/2`` (within the
    bounds' rounding) and also rounds to the printed median: the window is the intersection. A
    lower bound printed 0.00 is truncated at 0, so it says only ``2·median - U <= h_L``: the median
    window is capped at ``(U + h_U + h_L)/2``. Returns ``(low, high, truncated)``; ``low > high``
    means no median fits.

    >>> [round(x, 3) for x in median_window(13.2, 7.09, 19.31)[:2]]
    [13.195, 13.205]
    """
    hm, hl, hu = half_unit(median_decimals), half_unit(lower_decimals), half_unit(upper_decimals)
    a, b = median - hm, median + hm
    if lower == 0:
        return a, min(b, (upper + hu + hl) / 2), True
    mid, hc = (lower + upper) / 2, (hl + hu) / 2
    return max(a, mid - hc), min(b, mid + hc), False


def half_days_in(low: float, high: float, days_per_month: float) -> list[float]:
    """Whole or half numbers of days (as days) within ``[low, high]`` months.

    A Kaplan–Meier median (R, SPSS) is a death time or the midpoint of two, so in days it is a
    multiple of 0.5.

    >>> half_days_in(13.195, 13.205, 30.0)
    [396.0]
    >>> half_days_in(13.195, 13.205, 365.25 / 12)
    []
    """
    if low > high:
        return []
    eps = 1e-9
    k0, k1 = math.ceil(2 * low * days_per_month - eps), math.floor(2 * high * days_per_month + eps)
    return [k / 2 for k in range(k0, k1 + 1)]


def _median_triples(t: _T) -> list[tuple[str, tuple[float, float, bool]]]:
    out = []
    for p in _median_prefixes(t):
        m, lo, up = (t.value[f"{p}.{x}"] for x in ("median", "lower", "upper"))
        dm, dl, du = (t.dec[f"{p}.{x}"] for x in ("median", "lower", "upper"))
        out.append((p, median_window(m, lo, up, dm, dl, du)))
    return out


def infer_days_per_month(targets: pd.DataFrame, candidates: Iterable[float] = DAYS_PER_MONTH_CANDIDATES
                         ) -> tuple[float, dict[float, int], int]:
    """Which days-per-month puts the most median CIs on a whole or half number of days?

    Returns ``(best, {candidate: number of triples that fit}, number of triples)``; ties go to the
    first candidate. See :func:`check_median_time_unit`.
    """
    cands = list(candidates)
    triples = _median_triples(_T(targets))
    counts = {c: sum(bool(half_days_in(a, b, c)) for _, (a, b, _) in triples) for c in cands}
    best = max(cands, key=lambda c: (counts[c], -cands.index(c)))
    return best, counts, len(triples)


def _dpm(c: float) -> str:
    return f"{c:g}"


def check_median_time_unit(targets: pd.DataFrame,
                           candidates: Iterable[float] = DAYS_PER_MONTH_CANDIDATES) -> list[dict]:
    """Median CI time unit: are the medians whole or half days under one days-per-month?

    A Kaplan–Meier median is a death time or the midpoint of two, so when times are recorded in
    days it is a whole or half number of days. The paper prints SPSS intervals ``median ± 1.96·se``
    with 2-decimal bounds, whose centre pins the median to about ±0.005 months (±0.15 days) — see
    :func:`median_window`. For each candidate days-per-month we count the triples whose window holds
    a multiple of 0.5 day (:func:`infer_days_per_month`), choose the candidate that fits most, and
    emit one row per triple: consistent when it fits under the chosen unit. The ``expected`` column
    is the median in days under that unit.
    """
    cands = list(candidates)
    t = _T(targets)
    best, counts, n = infer_days_per_month(targets, cands)
    alt = next((c for c in cands if c != best), None)
    rows = []
    for p, (a, b, trunc) in _median_triples(t):
        m = t.value[f"{p}.median"]
        fits = half_days_in(a, b, best)
        centre = (a + b) / 2
        if fits:
            d = min(fits, key=lambda x: abs(x - centre * best))
            expected = f"{d:g} days"
        else:
            expected = f"{centre * best:.1f} days"
        if trunc:
            up, du = t.value[f"{p}.upper"], t.dec[f"{p}.upper"]
            note = (f"lower bound truncated at 0, so only the median {m:g} and the upper bound {up:.{du}f} "
                    f"constrain it: {a:.3f}–{b:.3f} months = {a * best:.1f}–{b * best:.1f} days of {_dpm(best)} days"
                    + (", which holds whole or half days" if fits else ", which holds no whole or half day"))
        else:
            lo, up = t.value[f"{p}.lower"], t.value[f"{p}.upper"]
            mid = (lo + up) / 2
            if a > b:
                note = (f"CI centre {mid:.3f} months does not round to the median {m:g}: no median fits "
                        f"(see 'median CI symmetric')")
            else:
                note = (f"CI centre {mid:.3f} months = {mid * best:.1f} days of {_dpm(best)} days"
                        + (f" (within rounding of {expected}: a whole or half day, as a KM median must be)" if fits
                           else f" (the rounding window {a * best:.2f}–{b * best:.2f} days holds no whole or "
                                f"half day, which a KM median must be)"))
        if alt is not None and a <= b:
            alt_fits = bool(half_days_in(a, b, alt))
            note += (f"; with {_dpm(alt)}-day months it would be {centre * alt:.1f} days"
                     + (" (also possible)" if alt_fits else " (not a whole or half day)"))
        note += f" [{counts[best]} of {n} triples fit {_dpm(best)}-day months]"
        rows.append(_row(f"{p}.median", t.where[f"{p}.median"], "median CI time unit", m, expected,
                         bool(fits), note))
    return rows


CHECKS = (check_percentages, check_row_totals, check_repeated_values, check_cross_references,
          check_cox, check_median_cis, check_proportion_cis, check_landmark_cis, check_cox_information,
          check_median_time_unit)


def findings_text(targets: pd.DataFrame) -> str:
    """Two findings of the audit in words, for the report: the paper's time unit and its Cox intervals."""
    t = _T(targets)
    best, counts, n = infer_days_per_month(targets)
    mean_month = 365.25 / 12
    out = (f"The paper's months are {best:g}-day months: all {counts[best]} of its {n} median confidence intervals "
           if counts[best] == n else
           f"The paper's months are most likely {best:g}-day months: {counts[best]} of its {n} median confidence "
           "intervals ")
    out += (f"are centred on a whole or half number of {best:g}-day months, as a Kaplan–Meier median must be "
            f"(an event day, or the midpoint of two), against {counts.get(mean_month, 0)} with months of "
            f"365.25/12 days; the default parameters therefore count months as days / {best:g} "
            "(`days_per_month` in params/common.yaml).")
    deaths = t.value.get(COX_EVENTS_KEY)
    if deaths:
        se_bin = cox_se_min(deaths, 0.25)
        bad = [v for v in _cox_vars(t) if t.has(f"subgroups.cox.{v}.lower", f"subgroups.cox.{v}.upper")
               and v not in COX_CODING
               and se_max_from_ci(t.value[f"subgroups.cox.{v}.lower"], t.value[f"subgroups.cox.{v}.upper"],
                                  t.dec[f"subgroups.cox.{v}.lower"], t.dec[f"subgroups.cox.{v}.upper"]) < se_bin]
        if bad:
            out += (f" With the {deaths:.0f} deaths the paper reports, no Cox model can estimate the log hazard ratio of a two-level "
                    f"covariate with a standard error below 2/√{deaths:.0f} = {se_bin:.3f}; the intervals the "
                    f"paper prints for {len(bad)} of its covariates imply smaller ones, so no data set reproduces "
                    "both bounds of those intervals.")
    rows = {v: r for v, r in cox_together(targets).items() if r[0] < r[1]}
    if rows:
        from analysis.data.cohort import baseline_variables

        labels = {v.name: v.label for v in baseline_variables()}

        def clause(var, size, n, groups):
            name = labels.get(var, var).split(" (")[0]  # "Anlotinib dosage (mg)": no unit in the sentence
            name = name if name[:2].isupper() else name[0].lower() + name[1:]
            return f"{size} of the {n} numbers of {name} ({_groups_text(groups)})"

        parts = [clause(v, *r[:3]) for v, r in rows.items()]
        listed = parts[0] if len(parts) == 1 else "; ".join(parts[:-1]) + "; and " + parts[-1]
        out += (" A row's HR, CI bounds and Wald p all come from one log hazard ratio and one standard error (at "
                f"least that smallest one), so of each row of the paper's Cox model at most these can print "
                f"together: {listed}.")
    return out


def audit_paper(targets: pd.DataFrame) -> pd.DataFrame:
    """Run every consistency check on the published numbers.

    Parameters
    ----------
    targets : DataFrame
        From :func:`analysis.synthetic.targets.load_targets`.

    Returns
    -------
    DataFrame
        One row per check and number: ``key, where, check, published, expected, consistent, note``.
        ``expected`` is what the other printed numbers imply (a number or an implied range);
        ``note`` says in plain English why the row passes or fails. Group checks (row totals)
        carry the group's key prefix, e.g. ``cohort.table1.sex``.
    """
    rows: list[dict] = []
    for check in CHECKS:
        rows.extend(check(targets))
    out = pd.DataFrame(rows, columns=AUDIT_COLUMNS)
    out["consistent"] = out["consistent"].astype(bool)
    return out


def landmark_patterns(n: int, estimate: float, lower: float, upper: float, decimals: int = 1,
                      max_censored: int = 4, conf_type: str = "log-log") -> list[str]:
    """:func:`_landmark_patterns`, memoised (``_MEMO``; an exhaustive search of about a second).

    >>> landmark_patterns(22, 40.4, 20.3, 59.8)[0]
    'EEEEEEEEEEEEcE'
    """
    key = ("landmark_patterns", int(n), repr(float(estimate)), repr(float(lower)), repr(float(upper)), int(decimals),
           int(max_censored), conf_type)
    return _memoised(key, lambda: _landmark_patterns(n, estimate, lower, upper, decimals, max_censored, conf_type))


def _landmark_patterns(n: int, estimate: float, lower: float, upper: float, decimals: int = 1,
                       max_censored: int = 4, conf_type: str = "log-log") -> list[str]:
    """Event/censoring sequences before a landmark that print a published Kaplan–Meier rate and interval.

    Before the landmark, ``n`` patients give a sequence of events (``E``) and censorings (``c``); the
    Kaplan–Meier estimate and its interval (percent; ``conf_type`` as :func:`analysis.stats.km.confidence_band`,
    the paper's log(−log) by default) depend only on that sequence. Returns every sequence (ending with an event; censorings after the last event change
    nothing) with at most ``max_censored`` censorings whose estimate, lower and upper bound round
    (``decimals``) to the published ones, fewest events first. The calibration never changes event
    flags, so this says what a cohort's statuses must allow (:func:`landmark_feasibility`). The
    paper's 12-month duration of response (40.4 %, 20.3–59.8, 22 responders) needs 13 events with
    one censoring before the 13th.
    The search is exhaustive (exponential in ``n``): meant for small groups such as the responders.

    >>> _landmark_patterns(22, 40.4, 20.3, 59.8)[0]
    'EEEEEEEEEEEEcE'
    """
    target = tuple(round(x, decimals) for x in (estimate, lower, upper))
    floor = (estimate - 0.5 * 10.0 ** -decimals) / 100.0
    out: list[str] = []

    def printed(S, V):
        if not (0.0 < S < 1.0) or round(100 * S, decimals) != target[0]:
            return None
        lo_, up_ = km.confidence_band([S], [V], conf_type)
        return target[0], round(100 * float(lo_[0]), decimals), round(100 * float(up_[0]), decimals)

    def walk(at_risk, S, V, censored, seq):
        if seq.endswith("E") and printed(S, V) == target:
            out.append(seq)
        if at_risk < 2:
            return
        after = S * (1 - 1 / at_risk)
        if after >= floor - 1e-12:  # S only falls: stop once it is below the published estimate
            walk(at_risk - 1, after, V + 1 / (at_risk * (at_risk - 1)), censored, seq + "E")
        if censored < max_censored:
            walk(at_risk - 1, S, V, censored + 1, seq + "c")

    walk(n, 1.0, 0.0, 0, "")
    return sorted(out, key=lambda q: (q.count("E"), len(q), q))


def landmark_feasibility(targets: pd.DataFrame, reproduced: dict, max_n: int = 30,
                         max_censored: int = 10) -> pd.DataFrame:
    """Published landmark rates that a cohort's event count cannot print, whatever its times.

    For each published ``survival.<endpoint>.rate_<m>`` with its interval, where the cohort's
    ``survival.<endpoint>.n`` is at most ``max_n`` (the search of :func:`landmark_patterns` is
    exhaustive): the fewest events the published numbers need before the landmark, against the
    cohort's events on the whole endpoint (sequences with up to ``max_censored`` censorings before the
    landmark). Columns: key, n, max_censored, events_needed, events, reachable.
    """
    v = {r.key: r.value for r in targets.itertuples(index=False) if isinstance(r.value, (int, float))}
    rows = []
    for key, est in v.items():
        parts = key.split(".")
        if len(parts) != 4 or parts[0] != "survival" or not parts[2].startswith("rate_") or parts[3] != "estimate":
            continue
        base = ".".join(parts[:3])
        lo, up = v.get(base + ".lower"), v.get(base + ".upper")
        n, events = reproduced.get(f"survival.{parts[1]}.n"), reproduced.get(f"survival.{parts[1]}.events")
        if lo is None or up is None or not isinstance(n, (int, float)) or not isinstance(events, (int, float)):
            continue
        if not 0 < n <= max_n:
            continue
        pats = landmark_patterns(int(n), est, lo, up, max_censored=max_censored)
        need = pats[0].count("E") if pats else math.nan
        rows.append((base, int(n), max_censored, need, int(events), bool(pats) and events >= need))
    return pd.DataFrame(rows, columns=["key", "n", "max_censored", "events_needed", "events", "reachable"])


def landmark_feasibility_text(feas: pd.DataFrame) -> str:
    """One sentence per unreachable landmark rate, for the scorecard section ("" if none)."""
    out = []
    for r in feas[~feas["reachable"]].itertuples(index=False):
        what = {"dor": "DoR", "pfs": "PFS", "os": "OS"}.get(r.key.split(".")[1], r.key.split(".")[1])
        month = r.key.split("rate_")[1]
        need = (f"is printed by no Kaplan–Meier curve of {r.n} patients with at most {r.max_censored} "
                f"censorings before {month} months" if math.isnan(r.events_needed) else
                f"needs at least {int(r.events_needed)} events before {month} months among {r.n} patients")
        out.append(f"The published {month}-month {what} rate with its interval {need}; "
                   f"this cohort has {r.events} events in all, so it cannot print that rate and interval "
                   f"whatever its times.")
    return " ".join(out)


def inconsistent_keys(audit: pd.DataFrame) -> set[str]:
    """Keys (or group key prefixes) of the numbers the paper contradicts itself on."""
    return set(audit.loc[~audit["consistent"], "key"])


def is_flagged(key: str, flagged: Iterable[str]) -> bool:
    """``key`` or one of its dotted prefixes (a group check) is in ``flagged``."""
    flagged = set(flagged)
    parts = key.split(".")
    return any(".".join(parts[:i]) in flagged for i in range(1, len(parts) + 1))

