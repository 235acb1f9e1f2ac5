"""Seeded generator of a synthetic cohort in the hospital-export form of the data dictionary.

The cohort is *synthetic*: no real patient is in it. It is built so that the
paper's analyses, run on it, land on the published numbers where the paper
determines them:

* exact by construction: every Table 1 count, the best-response counts
  (PR 22, SD 28, PD 14, NE 4), PFS events (49), deaths (44), patients on
  treatment at cutoff (11), every Table 3 adverse-event count, and the
  mean best % change of the 64 evaluable patients (−11.97 %);
* by calibration of time scales (bisection on the Kaplan–Meier median):
  the overall PFS and OS medians;
* by construction of the censoring: patients alive without progression are
  censored at the data cutoff, so their follow-up is set by the start date
  (drawn with density ∝ the published PFS curve), not by their latent PFS;
  and as many responders are censored for DoR as the published DoR rates
  allow (``CohortSpec.responders_censored``).

:mod:`analysis.synthetic.calibrate` (``make calibrate``) refines the cohort towards every
published number. Everything is drawn from one ``numpy.random.Generator``
seeded by ``seed``, so the same seed gives byte-identical files.

Examples
--------
>>> tables = generate_cohort(seed=1)
>>> len(tables["patients"])
68
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.paths import DAYS_PER_MONTH
from analysis.data.recist import size_rule_response

CUTOFF = pd.Timestamp("2025-01-20")
EARLIEST_START = pd.Timestamp("2022-06-01")
LATEST_START = pd.Timestamp("2024-09-15")


@dataclass(frozen=True)
class CohortSpec:
    """Published counts the synthetic cohort reproduces exactly."""

    n: int = 68
    counts: dict = field(default_factory=lambda: {
        "sex": {"male": 51, "female": 17},
        "ecog": {0: 17, 1: 36, 2: 15},
        "stage": {"extensive": 68},
        "smoking": {"never": 11, "former": 57},
        "prior_lines": {1: 24, 2: 29, 3: 15},
        "platinum_response": {"sensitive": 21, "resistant": 47},
        "interim_systemic_therapy": {"no": 55, "yes": 13},
        "brain_metastasis": {"yes": 18, "no": 50},
        "prior_ici_class": {"pd1": 21, "pdl1": 47},
        "prior_ici_failure": {"progression": 53, "intolerance": 15},
        "radiotherapy": {"yes": 13, "no": 55},
        "anlotinib_dose_mg": {8: 17, 10: 40, 12: 11},
        "ici_agent": {"tislelizumab": 25, "serplulimab": 17, "atezolizumab": 15, "adebrelimab": 11},
    })
    age_min: int = 21
    age_max: int = 77
    age_median: int = 61
    n_age_le_median: int = 37
    best_response: dict = field(default_factory=lambda: {"PR": 22, "SD": 28, "PD": 14, "NE": 4})
    mean_best_pct_change: float = -11.97
    pfs_events: int = 49
    deaths: int = 44
    on_treatment: int = 11
    # responders censored for DoR: the 12- and 20-month DoR rates with their log-log CIs (40.4 %,
    # 20.3-59.8; 30.3 %, 10.4-53.3) print only for 12 events, 1 censored, 1 event, 4 censored, 1 event
    # and 3 still at risk at 20 months, i.e. 5 to 8 of the 22 responders censored (8 calibrated best)
    responders_censored: int = 8
    pfs_median: float = 5.6
    pfs_rates: dict = field(default_factory=lambda: {12.0: 0.309, 24.0: 0.092})  # landmark PFS rates
    os_median: float = 13.2
    followup_max: float = 31.5
    # Table 3: term -> (grade 1-2 patients, grade >=3 patients); overall any 61, grade >=3 37
    ae: dict = field(default_factory=lambda: {
        "fatigue": (29, 9), "nausea_vomiting": (21, 10), "hypertension": (18, 10),
        "hematologic_toxicity": (18, 5), "liver_function_abnormality": (10, 8), "anorexia": (12, 3),
        "hand_foot_syndrome": (9, 2), "pneumonia": (7, 1), "rash": (5, 0),
    })
    ae_any: int = 61
    ae_grade3plus: int = 37


def _shuffled(rng, counts: dict) -> np.ndarray:
    vals = np.concatenate([np.repeat(np.array([k], dtype=object), v) for k, v in counts.items()])
    return rng.permutation(vals)


def _ages(rng, s: CohortSpec) -> np.ndarray:
    """Ages with the published median, range and split at the median."""
    n_le, n_gt = s.n_age_le_median, s.n - s.n_age_le_median
    mid = s.n // 2  # the median is the mean of sorted positions mid-1 and mid (0-based)
    n_fixed = n_le - (mid - 1)  # sorted positions mid-1 .. n_le-1 all equal the median
    low = np.sort(rng.integers(s.age_min + 1, s.age_median, size=n_le - n_fixed - 1))
    low = np.concatenate([[s.age_min], low, np.repeat(s.age_median, n_fixed)])
    high = np.concatenate([rng.integers(s.age_median + 1, s.age_max, size=n_gt - 1), [s.age_max]])
    return rng.permutation(np.concatenate([low, high])).astype(int)


def _baseline(rng, s: CohortSpec) -> pd.DataFrame:
    df = pd.DataFrame({k: _shuffled(rng, v) for k, v in s.counts.items()})
    df["age"] = _ages(rng, s)
    # The paper's illustrative case: a 40-year-old woman, intolerant to prior atezolizumab,
    # responding (>80 % shrinkage) to anlotinib plus tislelizumab. Swap values so row 0 is her.
    want = {"sex": "female", "prior_ici_failure": "intolerance", "prior_ici_class": "pdl1",
            "ici_agent": "tislelizumab"}
    for col, val in want.items():
        j = int(np.flatnonzero(df[col].to_numpy() == val)[0])
        df.loc[[0, j], col] = df.loc[[j, 0], col].to_numpy()
    j = int(np.flatnonzero(df["age"].to_numpy() <= s.age_median)[0])
    df.loc[[0, j], "age"] = df.loc[[j, 0], "age"].to_numpy()
    if df.loc[0, "age"] != 40 and 40 not in df["age"].to_numpy()[np.argsort(df["age"].to_numpy())][[0, -1]]:
        # ages strictly between min and median are free: make hers 40
        df.loc[0, "age"] = 40
    return df


def _assign_response(rng, base: pd.DataFrame, s: CohortSpec) -> np.ndarray:
    """Best response: PR more likely with a higher dose and prior intolerance; row 0 is a PR."""
    score = (0.5 * (base["prior_ici_failure"] == "intolerance") + 0.3 * (base["anlotinib_dose_mg"] >= 10)
             - 0.4 * (base["ecog"] == 2) + rng.gumbel(size=s.n)).to_numpy(dtype=float)
    score[0] = np.inf
    order = np.argsort(-score, kind="stable")
    resp = np.empty(s.n, dtype=object)
    pos = 0
    for r in ("PR", "SD", "PD", "NE"):
        resp[order[pos:pos + s.best_response[r]]] = r
        pos += s.best_response[r]
    return resp


def _km_median(t: np.ndarray, e: np.ndarray) -> float:
    """Small KM median (first time S <= 0.5) used only to calibrate time scales."""
    e = np.asarray(e, dtype=int)
    order = np.lexsort((-e, t))
    t, e = t[order], e[order]
    n = len(t)
    surv = 1.0
    for i in range(n):
        if e[i]:
            surv *= 1 - 1 / (n - i)
            if surv <= 0.5 + 1e-12:
                return float(t[i])
    return np.inf


def _latent_times(rng, base: pd.DataFrame, resp: np.ndarray, pfs_scale: float, os_scale: float):
    n = len(base)
    dose_mult = base["anlotinib_dose_mg"].map({8: 0.55, 10: 1.05, 12: 1.3}).to_numpy(dtype=float)
    risk = (0.75 * (base["ecog"] == 2) + 0.6 * (base["prior_ici_failure"] == "progression")
            + 0.15 * (base["platinum_response"] == "resistant")).to_numpy(dtype=float)
    z = rng.normal(size=n)
    ttr = rng.uniform(1.3, 2.9, size=n)  # time to first response / first assessment
    pfs = np.empty(n)
    for i, r in enumerate(resp):
        if r == "PD":
            pfs[i] = rng.uniform(1.0, 2.6)
        elif r == "NE":
            pfs[i] = rng.uniform(0.9, 2.2)
        elif r == "SD":
            pfs[i] = max(2.4, pfs_scale * 5.2 * dose_mult[i] * np.exp(0.55 * z[i]))
        else:  # PR: time to response + duration of response
            pfs[i] = ttr[i] + max(1.4, pfs_scale * 6.8 * dose_mult[i] * np.exp(0.7 * z[i]))
    pps = os_scale * 7.5 * np.exp(-0.8 * risk + 0.6 * rng.normal(size=n))  # post-progression survival
    os_ = pfs + np.maximum(pps, 0.3)
    return pfs, os_, ttr


def _censored_followup(rng, s: CohortSpec) -> float:
    """Follow-up (months) of a patient alive without progression at the cutoff.

    Censoring is administrative: the cutoff comes at a follow-up set by the start date, and the
    patient is still progression-free at it with probability S(follow-up). So the follow-up has
    density ∝ S on [4.3 months, the published maximum], with S the published PFS curve (median,
    landmark rates), linear between its points.
    """
    tail = min(s.pfs_rates.values()) / 2  # beyond the last published landmark
    pts = sorted({0.0: 1.0, s.pfs_median: 0.5, **s.pfs_rates, s.followup_max: tail}.items())
    grid = np.linspace(4.3, s.followup_max, 400)
    dens = np.interp(grid, [p[0] for p in pts], [p[1] for p in pts])
    cdf = np.concatenate(([0.0], np.cumsum((dens[1:] + dens[:-1]) / 2)))
    return float(np.interp(rng.uniform() * cdf[-1], cdf, grid))


def _outcomes(rng, base: pd.DataFrame, resp: np.ndarray, s: CohortSpec):
    """Observed PFS/OS times (months) and statuses with the published event counts, and the best
    responses (``resp`` with at most ``s.responders_censored`` responders censored)."""
    n = s.n
    state = rng.bit_generator.state

    def build(pfs_scale, os_scale):
        rng.bit_generator.state = state
        pfs, os_, ttr = _latent_times(rng, base, resp, pfs_scale, os_scale)
        # alive at last contact: the patients with the longest latent OS (with noise), never row 0
        key = np.log(os_) + 0.5 * rng.normal(size=n)
        n_alive_prog = s.pfs_events - s.deaths
        # a PD best response is a progression, so at most n_alive_prog PD patients can be alive
        order = np.argsort(-key, kind="stable")
        is_pd = resp[order] == "PD"
        order = order[~is_pd | (np.cumsum(is_pd) <= n_alive_prog)]
        alive = np.zeros(n, bool)
        alive[order[: n - s.deaths]] = True
        fu = np.where(alive, 0.0, os_)
        prog_obs = np.zeros(n, bool)
        death_obs = ~alive
        # among the alive, the ones with the shortest latent PFS have an observed progression
        alive_idx = np.flatnonzero(alive)
        alive_pd = alive_idx[resp[alive_idx] == "PD"]  # progressed at their first assessment
        cand = alive_idx[np.isin(resp[alive_idx], ["SD", "PR"])]
        shortest = cand[np.argsort(pfs[cand], kind="stable")]
        prog_alive = np.concatenate((alive_pd, shortest[:n_alive_prog - alive_pd.size]))
        prog_obs[prog_alive] = True
        for i in alive_idx:
            if not prog_obs[i]:
                fu[i] = _censored_followup(rng, s)
                continue
            hi = min(os_[i], s.followup_max)
            lo = min(pfs[i] + 0.3, hi)
            fu[i] = rng.uniform(lo, hi) if hi > lo else hi
        # the dead progressed first unless progression would fall after death
        # (a PD best response always did: its PD assessment is the progression)
        is_pd = resp == "PD"
        prog_obs |= death_obs & (((pfs < os_ - 0.05) & (rng.uniform(size=n) < 0.92)) | is_pd)
        pfs = np.where(death_obs & is_pd, np.minimum(pfs, os_ - 0.05), pfs)
        pfs_obs = np.where(prog_obs, pfs, fu)
        pfs_obs = np.where(death_obs & ~prog_obs, os_, pfs_obs)
        pfs_event = prog_obs | death_obs
        return dict(pfs=pfs_obs, pfs_event=pfs_event, prog=prog_obs, os=fu, dead=death_obs, ttr=ttr)

    # calibrate the two time scales so the KM medians hit the published ones
    def bisect(f, target, lo=0.2, hi=5.0):
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if f(mid) < target:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)

    def pfs_median(k):
        o = build(k, 1.0)
        return _km_median(o["pfs"], o["pfs_event"])

    pfs_scale = bisect(pfs_median, s.pfs_median)

    def os_median(k):
        o = build(pfs_scale, k)
        return _km_median(o["os"], o["dead"])

    os_scale = bisect(os_median, s.os_median)
    out = build(pfs_scale, os_scale)
    # Rare cases the construction cannot honour (a censored follow-up above the maximum) are clipped
    out["os"] = np.minimum(out["os"], s.followup_max)
    return out, _censored_responders(resp, out, s.responders_censored)


def _censored_responders(resp: np.ndarray, o: dict, k: int) -> np.ndarray:
    """Best responses with at most ``k`` responders censored for DoR (alive without progression).

    Excess censored responders (the shortest follow-up first) trade labels with stable-disease
    patients who progressed or died (the longest PFS first, long enough for a confirmed response);
    row 0, the case patient, stays a responder. The PR and SD counts are unchanged.
    """
    resp = resp.copy()
    cens = np.flatnonzero((resp == "PR") & ~o["pfs_event"])
    excess = cens.size - k
    cens = cens[cens != 0]
    cens = cens[np.argsort(o["pfs"][cens], kind="stable")]
    cand = np.flatnonzero((resp == "SD") & o["pfs_event"] & (o["pfs"] >= o["ttr"] + 1.0))
    cand = cand[np.argsort(-o["pfs"][cand], kind="stable")]
    m = min(max(excess, 0), cens.size, cand.size)  # one trade per label: the counts stay
    resp[cens[:m]] = "SD"
    resp[cand[:m]] = "PR"
    return resp


def _dates(rng, o: dict, s: CohortSpec):
    n = s.n
    fu_days = np.round(o["os"] * DAYS_PER_MONTH).astype(int)
    pfs_days = np.round(o["pfs"] * DAYS_PER_MONTH).astype(int)
    latest = (CUTOFF - LATEST_START).days
    earliest = (CUTOFF - EARLIEST_START).days
    start_back = np.empty(n, int)  # days from start to cutoff
    for i in range(n):
        if not o["dead"][i] and fu_days[i] >= latest and rng.uniform() < 0.85:
            start_back[i] = fu_days[i]  # followed to the cutoff
        else:
            lo = max(latest, fu_days[i] + 1)
            start_back[i] = rng.integers(lo, max(lo + 1, earliest))
    start = CUTOFF - pd.to_timedelta(start_back, unit="D")
    return start, fu_days, pfs_days


def _best_changes(rng, resp: np.ndarray, s: CohortSpec) -> tuple[np.ndarray, np.ndarray]:
    """Best % change per evaluable patient, with SD values shifted so the mean is the published one.

    Returns the best % change (NaN for NE) and, for PD patients, whether new lesions made them PD.
    """
    n = len(resp)
    best = np.full(n, np.nan)
    new_pd = np.zeros(n, bool)
    for i, r in enumerate(resp):
        if r == "PR":
            best[i] = -82.0 if i == 0 else rng.uniform(-75, -31)
        elif r == "SD":
            best[i] = rng.uniform(-25, 18)
        elif r == "PD":
            new_pd[i] = rng.uniform() < 0.5
            best[i] = rng.uniform(-12, 18) if new_pd[i] else rng.uniform(21, 60)
    sd = resp == "SD"
    ev = resp != "NE"
    for _ in range(50):  # shift SD values (kept inside the SD band) until the mean is on target
        gap = s.mean_best_pct_change * ev.sum() - np.nansum(best)
        if abs(gap) < 1e-9:
            break
        free = sd & (best > -28.9 if gap < 0 else best < 18.9)
        best[free] = np.clip(best[free] + gap / free.sum(), -28.9, 18.9)
    return best, new_pd


def _assessments(rng, ids, start, base_sum, resp, best, new_pd, o, pfs_days, fu_days) -> pd.DataFrame:
    """On-treatment assessments every ~6 weeks; responses follow RECIST 1.1 size rules."""
    rows = []
    for i, pid in enumerate(ids):
        if resp[i] == "NE":
            continue
        end = pfs_days[i] if o["pfs_event"][i] else fu_days[i]
        days, d = [], 0
        while True:
            d += 42 + int(rng.integers(-5, 6))
            if d >= end:
                break
            days.append(d)
        progressed = bool(o["prog"][i])
        if progressed:
            days.append(int(pfs_days[i]))
        if not days:
            days = [max(1, int(end) - 1)]
        b = base_sum[i]
        if resp[i] == "PD":
            days = days[-1:] if progressed else days[:1]
            pct, new = np.array([best[i]]), np.array([new_pd[i]])
        else:
            k = len(days)
            n_down = max(1, min(k - (1 if progressed else 0), 1 + int(rng.integers(0, 3))))
            n_down = min(n_down, k)
            if best[i] < 0:  # shrink to the nadir over the first assessments, then hold
                pct = np.concatenate([np.linspace(best[i] * 0.6, best[i], n_down), np.full(k - n_down, best[i])])
            else:  # growth below the PD threshold, smallest first
                pct = sd_growth(best[i], b, k)
            new = np.zeros(k, bool)
            if progressed and k > 1:
                nadir = b * (1 + min(pct[:-1].min(), 0) / 100)
                if rng.uniform() < 0.5:
                    pct[-1] = (max(nadir * 1.25, nadir + 6) / b - 1) * 100
                else:
                    pct[-1] = pct[:-1].min()
                    new[-1] = True
        sums = np.maximum(np.round(b * (1 + pct / 100), 1), 0.0)
        for d, sm, nw in zip(days, sums, new):
            rows.append((pid, start[i] + pd.Timedelta(days=int(d)), float(sm), "yes" if nw else "no"))
    return pd.DataFrame(rows, columns=["patient_id", "assessment_date", "sum_diameters_mm", "new_lesions"])


def sd_growth(best_pct: float, baseline: float, k: int) -> np.ndarray:
    """% changes of ``k`` assessments of a growing stable disease: ``best_pct`` first, rising by up to
    3 points but staying below the RECIST PD size rule (the nadir is the baseline here: +20 % and +5 mm).

    >>> sd_growth(18.0, 100.0, 3).round(2).tolist()
    [18.0, 19.5, 19.85]
    """
    cap = (max(0.2 * baseline, 5.0) - 0.15) / baseline * 100
    return np.minimum(best_pct + np.linspace(0.0, 3.0, k), max(best_pct, cap))


def _tune_mean_change(a: pd.DataFrame, base_sum: pd.Series, sd_ids, target: float) -> pd.DataFrame:
    """Nudge one SD patient's nadir by 0.1 mm steps until the mean best % change rounds to ``target``.

    Rounding the diameters to 0.1 mm moves the mean by a few thousandths; this removes it.
    """
    a = a.copy()
    pct = (a["sum_diameters_mm"] - a["patient_id"].map(base_sum)) / a["patient_id"].map(base_sum) * 100
    best = pct.groupby(a["patient_id"]).min()
    total = best.sum()
    for pid in sd_ids:
        rows = a.index[a["patient_id"] == pid]
        sums = a.loc[rows, "sum_diameters_mm"]
        nadir_rows = sums.index[sums == sums.min()]
        b = base_sum[pid]
        for _ in range(200):
            mean = total / len(best)
            if round(mean + 1e-12, 2) == round(target, 2) and abs(mean - target) < 0.004:
                return a
            step = -0.1 if mean > target else 0.1
            new = round(float(sums.min()) + step, 1)
            if not (0.705 * b < new < 1.195 * b):
                break
            a.loc[nadir_rows, "sum_diameters_mm"] = new
            sums = a.loc[rows, "sum_diameters_mm"]
            total += (new - (new - step)) / b * 100
    return a


def _adverse_events(rng, ids, start, fu_days, s: CohortSpec) -> pd.DataFrame:
    """TRAEs with the exact Table 3 counts, plus a few unrelated events that the analysis must drop."""
    n = s.n
    patients = rng.permutation(n)
    g3_set = patients[: s.ae_grade3plus]
    any_set = patients[: s.ae_any]
    events: dict[tuple[int, str], int] = {}
    # grade >= 3: every patient of g3_set gets at least one; terms distributed without repeats
    g3_pairs = [t for t, (_, g3) in s.ae.items() for _ in range(g3)]
    g3_pairs = [g3_pairs[k] for k in rng.permutation(len(g3_pairs))]
    need = list(g3_set)
    for term in g3_pairs:
        pool = [p for p in (need or list(g3_set)) if (p, term) not in events]
        if not pool:
            pool = [p for p in g3_set if (p, term) not in events]
        p = pool[int(rng.integers(len(pool)))]
        events[(p, term)] = int(rng.choice([3, 3, 3, 4]))
        if p in need:
            need.remove(p)
    # grade 1-2: each of any_set without a grade >= 3 event gets at least one
    g12_pairs = [t for t, (g12, _) in s.ae.items() for _ in range(g12)]
    g12_pairs = [g12_pairs[k] for k in rng.permutation(len(g12_pairs))]
    need = [p for p in any_set if p not in set(g3_set)]
    for term in g12_pairs:
        pool = [p for p in (need or list(any_set)) if (p, term) not in events]
        if not pool:
            pool = [p for p in any_set if (p, term) not in events]
        p = pool[int(rng.integers(len(pool)))]
        events[(p, term)] = int(rng.choice([1, 2]))
        if p in need:
            need.remove(p)
    rows = []
    for (p, term), grade in sorted(events.items()):
        onset = start[p] + pd.Timedelta(days=int(rng.integers(3, max(4, min(120, fu_days[p])))))
        rows.append((ids[p], term, grade, onset, "yes"))
    # unrelated events (e.g. disease-related), recorded but not treatment-related
    for p in rng.choice(n, size=6, replace=False):
        onset = start[p] + pd.Timedelta(days=int(rng.integers(3, max(4, min(120, fu_days[p])))))
        rows.append((ids[p], "other", int(rng.integers(1, 3)), onset, "no"))
    df = pd.DataFrame(rows, columns=["patient_id", "ae_term", "grade", "onset_date", "treatment_related"])
    return df.sort_values(["patient_id", "onset_date", "ae_term"], kind="stable").reset_index(drop=True)


def generate_cohort(seed: int = 20250120, spec: CohortSpec = CohortSpec()) -> dict[str, pd.DataFrame]:
    """Generate the three cohort tables (patients, assessments, adverse_events)."""
    rng = np.random.default_rng(seed)
    base = _baseline(rng, spec)
    resp = _assign_response(rng, base, spec)
    o, resp = _outcomes(rng, base, resp, spec)
    start, fu_days, pfs_days = _dates(rng, o, spec)
    ids = np.array([f"SYN-{k:03d}" for k in rng.permutation(np.arange(1, spec.n + 1))], dtype=object)
    base_sum = rng.integers(35, 160, size=spec.n).astype(float)

    last_contact = start + pd.to_timedelta(fu_days, unit="D")
    death = pd.Series(last_contact).where(o["dead"])
    prog = pd.Series(start + pd.to_timedelta(pfs_days, unit="D")).where(o["prog"])
    # a patient with a progression on the day of death counts as progression
    alive_noprog = ~o["dead"] & ~o["prog"]
    on_trt = np.zeros(spec.n, bool)
    cand = np.flatnonzero(alive_noprog & (last_contact == CUTOFF))
    cand = np.concatenate([cand, np.flatnonzero(alive_noprog & (last_contact != CUTOFF))])
    on_trt[cand[: spec.on_treatment]] = True

    best, new_pd = _best_changes(rng, resp, spec)
    a = _assessments(rng, ids, start, base_sum, resp, best, new_pd, o, pfs_days, fu_days)
    a = _tune_mean_change(a, pd.Series(base_sum, index=ids), ids[resp == "SD"], spec.mean_best_pct_change)
    a["overall_response"] = _relabel(a, pd.Series(base_sum, index=ids))
    ae = _adverse_events(rng, ids, start, fu_days, spec)

    patients = pd.DataFrame({
        "patient_id": ids,
        "age": base["age"].astype(int),
        "sex": base["sex"], "ecog": base["ecog"].astype(int), "stage": base["stage"],
        "smoking": base["smoking"], "prior_lines": base["prior_lines"].astype(int),
        "platinum_response": base["platinum_response"],
        "interim_systemic_therapy": base["interim_systemic_therapy"],
        "brain_metastasis": base["brain_metastasis"], "prior_ici_class": base["prior_ici_class"],
        "prior_ici_failure": base["prior_ici_failure"], "radiotherapy": base["radiotherapy"],
        "anlotinib_dose_mg": base["anlotinib_dose_mg"].astype(int), "ici_agent": base["ici_agent"],
        "baseline_sum_mm": base_sum,
        "treatment_start_date": start,
        "progression_date": prog.to_numpy(),
        "death_date": death.to_numpy(),
        "last_contact_date": last_contact,
        "data_cutoff_date": CUTOFF,
        "on_treatment_at_cutoff": np.where(on_trt, "yes", "no"),
    })
    order = np.argsort(patients["treatment_start_date"].to_numpy(), kind="stable")
    patients = patients.iloc[order].reset_index(drop=True)
    a = a.sort_values(["patient_id", "assessment_date"], kind="stable").reset_index(drop=True)
    return {"patients": patients, "assessments": a, "adverse_events": ae}


def _relabel(a: pd.DataFrame, base_sum: pd.Series) -> list[str]:
    """Re-derive each assessment's response from the (tuned) sizes, so labels obey RECIST 1.1."""
    out = pd.Series(index=a.index, dtype=object)
    for pid, g in a.groupby("patient_id", sort=False):
        labels = size_rule_response(base_sum[pid], g["sum_diameters_mm"].to_numpy(),
                                    (g["new_lesions"] == "yes").to_numpy())
        out.loc[g.index] = labels
    return out.tolist()


def write_cohort(tables: dict[str, pd.DataFrame], folder: str | Path) -> list[Path]:
    """Write the tables as CSV (ISO dates, empty cells for missing) into ``folder``; byte-stable."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in tables.items():
        df = df.copy()
        for c in df.columns:
            if pd.api.types.is_datetime64_any_dtype(df[c]):
                df[c] = df[c].dt.strftime("%Y-%m-%d")
        path = folder / f"{name}.csv"
        df.to_csv(path, index=False, lineterminator="\n", float_format="%.1f")
        written.append(path)
    return written


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="Write the synthetic cohort (three CSV tables).")
    ap.add_argument("--seed", type=int, default=20250120)
    ap.add_argument("--out", default=None, help="output folder (default data/synthetic)")
    args = ap.parse_args(argv)
    from analysis.paths import SYNTHETIC_DIR

    paths = write_cohort(generate_cohort(args.seed), args.out or SYNTHETIC_DIR)
    for p in paths:
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
