"""The interval stage of the calibration (analysis.synthetic.interval_fit): its pieces against the project's own
Kaplan–Meier code, the union–find on small hand-made cases, and the day placement on the committed cohort."""
import math

import numpy as np
import pytest

from analysis.synthetic import calibrate as C
from analysis.synthetic import interval_fit as F
from analysis.stats import km
from analysis.stats.control import SurvControl
from analysis.paths import SYNTHETIC_DIR
from analysis.data.readers import read_cohort
from analysis.synthetic.targets import load_targets

SPSS = SurvControl(median_ci="spss")


def _random_cohort(rng, n):
    t = rng.choice(np.arange(30, 900), size=n, replace=False).astype(float)  # distinct days
    e = (rng.uniform(size=n) < 0.7).astype(float)
    return t, e


def test_critical_gives_the_spss_interval_of_analysis_km():
    """median and coef · (t_l − t_u) are the median and half-width of km.quantile(..., median_ci="spss")."""
    rng = np.random.default_rng(11)
    checked = 0
    for _ in range(40):
        t, e = _random_cohort(rng, 60)
        order = np.lexsort((1 - e, t))
        ts, es = t[order], e[order]
        groups = (rng.uniform(size=(3, 60)) < 0.5).astype(float)
        c = F.critical(ts, es, groups[None, :, order])
        for g in range(3):
            m = groups[g] > 0
            ref = km.median(km.kaplan_meier(t[m], e[m]), SPSS)
            if not c["ok"][0, g]:
                continue
            tu = ts[c["u"][0, g]] if c["u"][0, g] >= 0 else 0.0
            half = c["coef"][0, g] * (ts[c["l"][0, g]] - tu)
            assert c["median"][0, g] == ref.estimate
            assert half == pytest.approx(ref.upper - ref.estimate, rel=1e-12)
            checked += 1
    assert checked > 60


def test_interval_windows_print_the_published_bounds():
    targets = load_targets()
    w = F.interval_windows(targets, 30.0)
    day, a, b = w["subgroups.age_group.gt_cut"]  # 13.2 (8.26–18.14)
    assert day == 396 and a == pytest.approx(148.05) and b == pytest.approx(148.35)
    for h in (a + 0.01, b - 0.01):
        assert (round((day - h) / 30, 2), round((day + h) / 30, 2)) == (8.26, 18.14)
    for h in (a - 0.01, b + 0.01):
        assert (round((day - h) / 30, 2), round((day + h) / 30, 2)) != (8.26, 18.14)
    assert "survival.os" in w and not any(k.startswith("survival.pfs") and w[k][1] <= 0 for k in w)


def test_lattice_difference_and_distance():
    coef = np.array([1.5, 1.4963, np.nan])
    d = F.lattice_difference(coef, 148.05, 148.35)
    assert math.isnan(d[0]) and d[1] == 99 and math.isnan(d[2])
    dist = F.lattice_distance(coef, 148.05, 148.35)
    assert dist[1] == 0.0
    assert dist[0] == pytest.approx(148.5 - 148.35)


def test_realiser_accepts_trees_and_rejects_conflicts():
    days = np.array([100, 150, 300, 400])
    fixed = np.array([True, False, False, True])
    lo, hi = np.array([100, 100, 0, 400]), np.array([100, 300, 500, 400])
    r = F.Realiser(days, lo, hi, fixed)
    # t1 − t0 = 50 (t1 = 150); t2 − t1 = 30 (t2 = 180); then t2 − t0 = 90 contradicts (80)
    assert r.count([(0, 1, 50), (1, 2, 30), (0, 2, 90)]) == [True, True, False]
    assert r.count([(0, 1, 50), (1, 2, 30), (0, 2, 80)]) == [True, True, True]
    # out of the day range: t1 = 100 + 250 > 300
    assert r.count([(0, 1, 250)]) == [False]
    # two floating days first, grounded later; the merged range must stay non-empty
    assert r.count([(1, 2, 10), (3, 2, -90)]) == [True, True]  # t2 = 310, t1 = 300
    assert r.count([(1, 2, 10), (3, 2, -80)]) == [True, False]  # t2 = 320 would need t1 = 310 > 300
    # no u: the interval starts at day 0; both ends fixed: only the current difference
    assert r.count([(-1, 1, 120)]) == [True]
    assert r.count([(0, 3, 300), (0, 3, 299)]) == [True, False]
    # a prefix state gives the same answer as counting everything at once
    head, state = r.prefix([(0, 1, 50)])
    assert head + r.count([(1, 2, 30), (0, 2, 90)], state) == [True, True, False]
    assert r.count([(1, 2, 30)], state) == [True]  # the state is not changed by counting


@pytest.fixture(scope="module")
def committed_state():
    raw = read_cohort(SYNTHETIC_DIR)
    tables = {k: v.drop(columns=["_row"], errors="ignore") for k, v in raw.tables.items()}
    obj = C.Objective(load_targets())
    s = C.state_from_tables(tables, obj.dpm)
    md = C.median_days(load_targets(), obj.dpm)
    days = {int(d) for d in md.values() if d == int(d)}
    pins = {i for i in range(s.os_d.size) if s.dead[i] and int(s.os_d[i]) in days}
    g = C._groups(s.cov, float(obj.params["age_cut"]))
    pin_cov = {(i, C.RAW_OF.get(v, v)) for i in pins for v, lvs in C.SUB_LEVELS.items()
               for j, lv in enumerate(lvs) if md.get(f"subgroups.{v}.{lv}") == s.os_d[i] and g[v][i] == j}
    s.pin_os, s.pin_cov = frozenset(pins), frozenset(pin_cov)
    return s, obj


def test_day_ranges_keep_the_order(committed_state):
    s, obj = committed_state
    lo, hi = F.day_ranges(s, (720.0, 900.0))
    mv = F.movable(s)
    assert mv.sum() > 10 and not mv[list(s.pin_os)].any() and not mv[~(s.dead & s.prog)].any()
    assert (lo[~mv] == s.os_d[~mv]).all() and (hi[~mv] == s.os_d[~mv]).all()
    assert (lo <= s.os_d).all() and (s.os_d <= hi).all()
    fixed_days = np.sort(s.os_d[~mv])
    for i in np.flatnonzero(mv):
        below, above = fixed_days[fixed_days < s.os_d[i]], fixed_days[fixed_days > s.os_d[i]]
        assert below.size == 0 or lo[i] > below[-1]
        assert above.size == 0 or hi[i] < above[0]
        assert (s.os_d[i] <= 720) == (hi[i] <= 720) and lo[i] >= s.pfs_d[i]


def _printed(s, obj, targets):
    """Table 2 / overall OS bounds that print as published, with analysis.stats.km (the report's code)."""
    vals = {r.key: r.value for r in targets.itertuples(index=False) if isinstance(r.value, (int, float))}
    g = C._groups(s.cov, float(obj.params["age_cut"]))
    groups = {"survival.os": np.ones(s.os_d.size, bool)}
    groups.update({f"subgroups.{v}.{lv}": g[v] == j for v, lvs in C.SUB_LEVELS.items() for j, lv in enumerate(lvs)})
    ok = 0
    for prefix, m in groups.items():
        if prefix + ".lower" not in vals:
            continue
        r = km.median(km.kaplan_meier(s.os_d[m] / 30.0, s.dead[m].astype(float)), SPSS)
        ok += round(r.lower, 2) == vals[prefix + ".lower"]
        ok += round(r.upper, 2) == vals[prefix + ".upper"]
    return ok


def test_place_days_keeps_order_and_realises_intervals(committed_state):
    s, obj = committed_state
    targets = load_targets()
    before = _printed(s, obj, targets)
    # displace one movable death that ends a printed interval, within its range: the interval breaks
    lo, hi = F.day_ranges(s, (720.0, 900.0))
    P = F._Problem(s, obj, targets)
    g = C._groups(s.cov, float(obj.params["age_cut"]))
    ends = {int(d["l"][0]) for v in C.SUB_LEVELS for d in P.groups(v, g[v][None]).values()
            if math.isfinite(d["d"][0]) and s.os_d[d["l"][0]] - (s.os_d[d["u"][0]] if d["u"][0] >= 0 else 0) == d["d"][0]}
    i = next(j for j in sorted(ends) if F.movable(s)[j] and hi[j] - lo[j] >= 6)
    broken = s.copy()
    broken.os_d[i] = s.os_d[i] + 3 if hi[i] >= s.os_d[i] + 3 else s.os_d[i] - 3
    assert _printed(broken, obj, targets) < before
    out = F.place_days(broken, obj, targets)
    mv = F.movable(s)
    assert (out.os_d[~mv] == s.os_d[~mv]).all()
    assert (out.pfs_d == s.pfs_d).all() and (out.cov["sex"] == s.cov["sex"]).all()
    o1 = F.os_order(s)
    assert (F.os_order(out) == o1).all()  # the same order, and the same ties (a death and a censoring on one day)
    assert (np.sign(np.diff(out.os_d[o1])) == np.sign(np.diff(s.os_d[o1]))).all()
    assert _printed(out, obj, targets) >= before


def test_fit_memberships_keeps_counts_pins_and_days(committed_state):
    s, obj = committed_state
    out = F.fit_memberships(s, obj, load_targets(), np.random.default_rng(1), steps=26, k=20)
    assert (out.os_d == s.os_d).all() and (out.pfs_d == s.pfs_d).all()
    for col in C.SWAP_COLUMNS:
        assert sorted(map(str, out.cov[col])) == sorted(map(str, s.cov[col])), col
    for i, col in s.pin_cov:
        assert out.cov[col][i] == s.cov[col][i]
    for col in C.CASE_COLUMNS:
        assert out.cov[col][s.case] == s.cov[col][s.case]
    assert (out.cov["anlotinib_dose_mg"] == s.cov["anlotinib_dose_mg"]).all()  # KEEP_VARIABLES
    again = F.fit_memberships(s, obj, load_targets(), np.random.default_rng(1), steps=26, k=20)
    assert all((again.cov[c] == out.cov[c]).all() for c in C.SWAP_COLUMNS)


def test_explain_agrees_with_the_scorecard():
    """An interval explained as printing has both bounds exact on the scorecard; the others do not."""
    from analysis.data import cohort as cohort_mod

    targets = load_targets()
    raw = read_cohort(SYNTHETIC_DIR)
    tables = {k: v.drop(columns=["_row"], errors="ignore") for k, v in raw.tables.items()}
    card, _ = C.score(tables)
    status = dict(zip(card["key"], card["status"]))
    a = cohort_mod.load_cohort(SYNTHETIC_DIR, cohort_mod.DeriveOptions(days_per_month=30.0)).analysis
    ex = F.explain(a, targets, 30.0)
    # every published interval with a window: OS and Table 2 (30), PFS overall and by dose, DoR
    assert sorted(ex["key"]) == sorted(F.interval_windows(targets, 30.0)) and len(ex) == 34
    for r in ex.itertuples(index=False):
        both = status[r.key + ".lower"] == "exact" and status[r.key + ".upper"] == "exact"
        assert both == (r.status == "prints"), r.key
        if r.status == "gap":
            assert r.gap_days != r.needed_days
    text = F.explain_text(ex, 30.0)
    n = ex[ex["key"].str.startswith(("survival.os", "subgroups."))]["status"].value_counts()
    assert f"{n['prints']} print as published" in text and "window of 0.3 day" in text
    assert F.explain_text(ex[ex["status"] == "prints"], 30.0).startswith("All ")


def test_variable_score_counts_what_the_scorecard_counts():
    """The polish scores a variable's own Table 2 numbers exactly as the scorecard classifies them."""
    raw = read_cohort(SYNTHETIC_DIR)
    tables = {k: v.drop(columns=["_row"], errors="ignore") for k, v in raw.tables.items()}
    card, _ = C.score(tables)
    is_bound = card["published"].astype(str).str.startswith(("<", ">"))
    status = dict(zip(card["key"][~is_bound], card["status"][~is_bound]))
    bound_status = dict(zip(card["key"][is_bound], card["status"][is_bound]))
    obj = C.Objective(load_targets())
    s = C.state_from_tables(tables, obj.dpm)
    g = C._groups(s.cov, float(obj.params["age_cut"]))
    seen = 0
    for var in C.SUB_LEVELS:
        sc = F._VariableScore(s, obj, var)
        for key, ok in sc.prints(g[var]).items():
            assert ok == (status[key] == "exact"), key
            seen += 1
        complete = all(status[key] == "exact" for key, aimed in zip(sc.keys, sc.aimed) if aimed)
        # a bound such as "p < 0.20" the paper does not contradict: exact when it holds
        b = bound_status.get(f"subgroups.{var}.p")
        complete &= b in (None, "exact", "inconsistent in paper")
        assert sc.complete(g[var]) == complete, var
    # every published Table 2 number: median and bounds of the 29 levels and the 13 log-rank p values
    table2 = [k for k in status if k.startswith("subgroups.") and not k.startswith("subgroups.cox.")]
    assert seen == len(table2) == 3 * 29 + 13


def test_polish_repairs_a_broken_variable_and_keeps_the_rest(committed_state):
    s, obj = committed_state
    age_cut = float(obj.params["age_cut"])
    g = C._groups(s.cov, age_cut)
    sc = F._VariableScore(s, obj, "sex")
    _, X = obj.design(g, s.cov)
    before = float(sc(g["sex"][None], X[None])[0])
    # swap the sexes of a man and a woman so that fewer of the sex rows print
    raw = s.cov["sex"]
    broken = None
    for i, j in zip(*np.nonzero(raw[:, None] < raw[None, :])):
        b = s.copy()
        b.cov["sex"][i], b.cov["sex"][j] = raw[j], raw[i]
        gb = C._groups(b.cov, age_cut)
        if sum(F._VariableScore(b, obj, "sex").prints(gb["sex"]).values()) < sum(sc.prints(g["sex"]).values()):
            broken = b
            break
    assert broken is not None
    gb = C._groups(broken.cov, age_cut)
    low = float(F._VariableScore(broken, obj, "sex")(gb["sex"][None], obj.design(gb, broken.cov)[1][None])[0])
    assert low < before
    out = F.polish_memberships(broken, obj, np.random.default_rng(2), steps=120, k=48, variables=["sex", "anlotinib_dose_mg"])
    go = C._groups(out.cov, age_cut)
    after = float(F._VariableScore(out, obj, "sex")(go["sex"][None], obj.design(go, out.cov)[1][None])[0])
    assert after > low
    assert (out.os_d == broken.os_d).all() and (out.pfs_d == broken.pfs_d).all()
    for col in C.SWAP_COLUMNS:
        assert sorted(map(str, out.cov[col])) == sorted(map(str, broken.cov[col])), col
        if col != "sex":
            assert (out.cov[col] == broken.cov[col]).all(), col  # only the visited variable moves
    assert out.cov["sex"][s.case] == s.cov["sex"][s.case]
    again = F.polish_memberships(broken, obj, np.random.default_rng(2), steps=120, k=48, variables=["sex"])
    assert (again.cov["sex"] == out.cov["sex"]).all()
