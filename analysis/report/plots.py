"""Figures of the report. Each function returns a matplotlib Figure; none saves or shows it
(each is closed in pyplot, so a notebook shows it once, where it calls ``display(fig)``).

* :func:`km_plot`: Kaplan–Meier curves with censor marks, CI band, median
  lines, the log-rank p, and a number-at-risk table counted at the *start* of
  each interval (the SAS / survminer convention, not lifelines' KMunicate).
* :func:`waterfall`: best % change of the target-lesion sum, coloured by best response.
* :func:`patient_flow`: the analysis populations (Figure 1).
"""
from __future__ import annotations

import math
import os

import matplotlib

if not os.environ.get("MPLBACKEND"):  # scripts and tests; a Jupyter kernel sets its inline backend
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analysis.report import fmt
from analysis.stats import km  # noqa: E402

#: seaborn's "colorblind" palette (the same RGB values; seaborn itself is not imported: over half a second)
PALETTE = [matplotlib.colors.to_rgb(c) for c in ("#0173B2", "#DE8F05", "#029E73", "#D55E00", "#CC78BC",
                                                 "#CA9161", "#FBAFE4", "#949494", "#ECE133", "#56B4E9")]
RESPONSE_COLOURS = {"CR": PALETTE[2], "PR": PALETTE[0], "SD": PALETTE[7], "PD": PALETTE[3], "NE": "0.8"}

plt.rcParams.update({"font.family": "DejaVu Sans", "font.size": 9, "axes.spines.top": False,
                     "axes.spines.right": False, "svg.hashsalt": "analysis"})


def km_plot(groups: dict[str, tuple[np.ndarray, np.ndarray]], *, xlabel: str = "Months",
            ylabel: str = "Survival probability", step: float = 3.0, xmax: float | None = None,
            conf_level: float = 0.95, medians: dict[str, float] | None = None,
            annotation: str | None = None, ci: bool = True, figsize=(6.4, 4.6)):
    """Kaplan–Meier plot of one or more groups with a number-at-risk table.

    Parameters
    ----------
    groups : ``{label: (time, event)}`` in the order to draw.
    medians : ``{label: median}`` to draw dashed median lines (inf = not reached, skipped).
    annotation : text placed in the upper right (e.g. a log-rank p).
    """
    n_groups = len(groups)
    fig = plt.figure(figsize=(figsize[0], figsize[1] + 0.22 * n_groups))
    gs = fig.add_gridspec(2, 1, height_ratios=[4.2, 0.55 + 0.28 * n_groups], hspace=0.08)
    ax = fig.add_subplot(gs[0])
    axt = fig.add_subplot(gs[1], sharex=ax)
    tmax = max(float(np.max(t)) for t, _ in groups.values())
    xmax = xmax or step * math.ceil(tmax / step)
    ticks = np.arange(0, xmax + 1e-9, step)
    colours = PALETTE if n_groups > 1 else ["#1f4e79"]
    for i, (label, (t, e)) in enumerate(groups.items()):
        c = colours[i % len(colours)]
        fit = km.kaplan_meier(np.asarray(t, float), np.asarray(e, int), conf_level=conf_level)
        tab = fit.table
        x = np.concatenate([[0.0], tab["time"].to_numpy()])
        y = np.concatenate([[1.0], tab["surv"].to_numpy()])
        ax.step(x, y, where="post", color=c, lw=1.6, label=f"{label} (n = {fit.n})")
        if ci:
            lo = np.concatenate([[1.0], tab["lower"].to_numpy()])
            hi = np.concatenate([[1.0], tab["upper"].to_numpy()])
            ok = ~(np.isnan(lo) | np.isnan(hi))
            ax.fill_between(x[ok], lo[ok], hi[ok], step="post", color=c, alpha=0.12 if n_groups > 1 else 0.18,
                            lw=0)
        cens = tab[tab["n_censor"] > 0]
        ax.plot(cens["time"], cens["surv"], "|", color=c, ms=7, mew=1.2)
        med = (medians or {}).get(label)
        if med is not None and np.isfinite(med):
            ax.plot([0, med, med], [0.5, 0.5, 0], ls="--", lw=0.8, color=c, alpha=0.8)
        rt = km.risk_table(fit, ticks)
        for tk, nr in zip(ticks, rt["n_risk"]):
            axt.text(tk, n_groups - 1 - i, str(int(nr)), ha="center", va="center", color=c, fontsize=8)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, xmax)
    ax.set_xticks(ticks)
    ax.set_ylabel(ylabel)
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.tick_params(labelbottom=False)
    ax.legend(frameon=False, loc="lower left" if n_groups > 1 else "upper right", fontsize=8)
    if annotation:
        ax.text(0.98, 0.97, annotation, transform=ax.transAxes, ha="right", va="top", fontsize=8.5)
    axt.set_ylim(-0.6, n_groups - 0.4)
    axt.set_yticks(range(n_groups))
    axt.set_yticklabels(list(groups)[::-1] if n_groups > 1 else [""], fontsize=8)
    axt.set_xlabel(xlabel)
    axt.set_title("Number at risk", fontsize=8, loc="left", pad=2)
    for s in ("left", "top", "right"):
        axt.spines[s].set_visible(False)
    axt.tick_params(axis="y", length=0, pad=16)
    plt.close(fig)  # returned, not shown: the caller saves or displays it
    return fig


#: Up to this many patients with a measured change the waterfall draws one bar per patient; above it,
#: the patients, ranked by their change, are drawn in :data:`WATERFALL_GROUPS` groups of equal size
#: (one bar per group: its median change, coloured by its most frequent best response), so the figure
#: stays legible and its size stays fixed however large the cohort.
WATERFALL_MAX_BARS = 300
WATERFALL_GROUPS = 200
_RESPONSE_ORDER = ("CR", "PR", "SD", "PD", "NE")


def waterfall_alt(n: int) -> str:
    """Alt text of :func:`waterfall` for ``n`` patients with a measured change."""
    if n <= WATERFALL_MAX_BARS:
        return ("Bar chart, one bar per evaluable patient sorted from the largest increase to the largest "
                "decrease, coloured by best overall response.")
    return (f"Bar chart of the {n} evaluable patients ranked from the largest increase to the largest decrease "
            f"in {WATERFALL_GROUPS} groups of equal size, one bar per group at its median change, coloured by "
            "the group's most frequent best overall response.")


def waterfall(best_pct: pd.Series, best_response: pd.Series, figsize=(7.0, 3.8)):
    """Waterfall plot: one bar per evaluable patient, sorted from largest increase to largest decrease.

    With more than :data:`WATERFALL_MAX_BARS` patients, one bar per group of :data:`WATERFALL_GROUPS`
    equal groups of the ranked patients (the group's median change, coloured by its most frequent
    best response; the x axis is then the patients' rank in percent). The cost is linear in the
    number of patients after the sort.
    """
    d = pd.DataFrame({"pct": best_pct, "resp": best_response}).dropna(subset=["pct"])
    d = d.sort_values("pct", ascending=False, kind="stable").reset_index(drop=True)
    fig, ax = plt.subplots(figsize=figsize)
    if len(d) <= WATERFALL_MAX_BARS:
        ax.bar(d.index, d["pct"], color=[RESPONSE_COLOURS[r] for r in d["resp"]], width=0.8)
    else:
        x, height, resp = _ranked_groups(d["pct"].to_numpy(float), d["resp"].to_numpy(), WATERFALL_GROUPS)
        ax.bar(x, height, color=[RESPONSE_COLOURS[r] for r in resp], width=0.8 * 100 / WATERFALL_GROUPS)
    ax.axhline(20, ls="--", lw=0.8, color="0.35")
    ax.axhline(-30, ls="--", lw=0.8, color="0.35")
    ax.axhline(0, lw=0.6, color="0.2")
    if len(d) <= WATERFALL_MAX_BARS:
        ax.set_xticks([])
        ax.set_xlim(-0.8, len(d) - 0.2)
        ax.set_xlabel(f"Patients with a measured on-treatment assessment (n = {len(d)})")
    else:
        ax.set_xlim(0, 100)
        ax.set_xticks([0, 25, 50, 75, 100])
        ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(100))
        ax.set_xlabel(f"Patients with a measured on-treatment assessment (n = {len(d)}), ranked\n"
                      f"each bar: the median of one of {WATERFALL_GROUPS} groups of equal size")
    ax.set_ylabel("Best change from baseline in target lesions (%)")
    lo = min(-100, 10 * math.floor(d["pct"].min() / 10)) if len(d) else -100
    hi = max(60, 10 * math.ceil(d["pct"].max() / 10)) if len(d) else 60
    ax.set_ylim(lo, hi)
    handles = [plt.Rectangle((0, 0), 1, 1, color=RESPONSE_COLOURS[r]) for r in ("CR", "PR", "SD", "PD")
               if (d["resp"] == r).any()]
    labels = [r for r in ("CR", "PR", "SD", "PD") if (d["resp"] == r).any()]
    if labels:  # no measured patient (all not evaluable): an empty chart without a legend
        ax.legend(handles, labels, title="Best response", frameon=False, fontsize=8, title_fontsize=8,
                  loc="upper right", ncol=len(labels))
    plt.close(fig)  # returned, not shown: the caller saves or displays it
    return fig


def _ranked_groups(pct: np.ndarray, resp: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``pct`` sorted (descending) split into ``k`` consecutive groups of (nearly) equal size: each
    group's centre in rank percent, its median and its most frequent response (ties: CR, PR, SD, PD, NE).

    >>> pct = np.array([50.0, 30, 10, -40, -50, -60])
    >>> x, h, r = _ranked_groups(pct, np.array(["PD", "PD", "SD", "PR", "PR", "SD"]), 3)
    >>> x.round(1).tolist(), h.tolist(), r
    ([16.7, 50.0, 83.3], [40.0, -15.0, -55.0], ['PD', 'PR', 'PR'])
    """
    n = len(pct)
    edges = np.linspace(0, n, k + 1).round().astype(int)
    lo, hi = edges[:-1], edges[1:]
    size = hi - lo
    median = (pct[lo + (size - 1) // 2] + pct[lo + size // 2]) / 2
    codes = pd.Categorical(resp, categories=_RESPONSE_ORDER).codes
    onehot = np.zeros((n, len(_RESPONSE_ORDER)), dtype=np.int64)
    onehot[np.arange(n), codes] = 1
    counts = np.add.reduceat(onehot, lo, axis=0)
    top = [_RESPONSE_ORDER[i] for i in counts.argmax(axis=1)]
    return 100 * (lo + hi) / (2 * n), median, top


def patient_flow(boxes: list[tuple[str, list[str]]], side: list[tuple[int, str]] | None = None, figsize=(6.8, 5.6)):
    """A vertical CONSORT-style flow: ``boxes`` = [(title, [lines])] top to bottom; ``side`` = [(after
    box index, text)] drawn as exclusion boxes to the right of the arrow below that box."""
    fig, ax = plt.subplots(figsize=figsize)
    ax.set_axis_off()
    n = len(boxes)
    ys = np.linspace(0.92, 0.08, n)
    for i, (title, lines) in enumerate(boxes):
        text = title + ("\n" + "\n".join(lines) if lines else "")
        ax.text(0.36, ys[i], text, ha="center", va="center", fontsize=8.5, transform=ax.transAxes,
                bbox=dict(boxstyle="round,pad=0.5", fc="#eef3f8", ec="#1f4e79", lw=1))
        if i < n - 1:
            ax.annotate("", xy=(0.36, ys[i + 1] + 0.07), xytext=(0.36, ys[i] - 0.07), xycoords="axes fraction",
                        arrowprops=dict(arrowstyle="-|>", color="#1f4e79", lw=1))
    for after, text in side or []:
        y = (ys[after] + ys[after + 1]) / 2
        ax.annotate("", xy=(0.66, y), xytext=(0.36, y), xycoords="axes fraction",
                    arrowprops=dict(arrowstyle="-|>", color="0.4", lw=0.8))
        ax.text(0.67, y, text, ha="left", va="center", fontsize=8, transform=ax.transAxes,
                bbox=dict(boxstyle="round,pad=0.4", fc="white", ec="0.4", lw=0.8))
    plt.close(fig)  # returned, not shown: the caller saves or displays it
    return fig


def cohort_flow(a: pd.DataFrame, screening: pd.DataFrame | None = None):
    """Figure 1 from the analysis frame: treated → response-evaluable → responders, and status at cutoff."""
    n = len(a)
    n_eval = int(a["evaluable"].sum())
    n_resp = int(a["responder"].sum())
    on_trt = int((a["on_treatment_at_cutoff"] == "yes").sum())
    boxes = []
    side = []
    if screening is not None and len(screening):
        excl = screening[screening["exclusion_reason"].notna()]
        boxes.append(("Patients screened", [f"n = {len(screening)}"]))
        reasons = excl["exclusion_reason"].value_counts()
        side.append((0, "Excluded (n = %d)\n" % len(excl) + "\n".join(f"{r}: {k}" for r, k in reasons.items())))
    boxes += [
        ("Received anlotinib plus ICI, included", [f"n = {n}", "(PFS, OS and safety analyses)"]),
        ("Evaluable for tumour response", [f"n = {n_eval}", "(best response CR, PR, SD or PD)"]),
        ("Partial or complete response", [f"n = {n_resp}", "(duration of response analysis)"]),
        ("Status at data cutoff", [f"progressed or died: {int(a['pfs_event'].sum())}",
                                   f"died: {int(a['os_event'].sum())}", f"still on treatment: {on_trt}"]),
    ]
    k = len(boxes) - 4
    side.append((k, f"Not evaluable (n = {n - n_eval})\nno on-treatment assessment"))
    side.append((k + 1, f"Best response SD, PD\n(n = {n_eval - n_resp})"))
    return patient_flow(boxes, side)


def forest(summary: pd.DataFrame, labels: dict[str, str], figsize=(6.4, 2.6)):
    """Forest plot of Cox hazard ratios (summary with term, hr, lower, upper, p)."""
    s = summary.reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(figsize[0], 0.5 + 0.42 * len(s)))
    y = np.arange(len(s))[::-1]
    ax.errorbar(s["hr"], y, xerr=[s["hr"] - s["lower"], s["upper"] - s["hr"]], fmt="s", color="#1f4e79",
                ecolor="#1f4e79", capsize=3, ms=5)
    ax.axvline(1, ls="--", color="0.4", lw=0.8)
    ax.set_xscale("log")
    ax.set_yticks(y)
    ax.set_yticklabels([labels.get(t, t) for t in s["term"]])
    for yi, r in zip(y, s.itertuples(index=False)):
        p_txt = fmt.pvalue(r.p)
        ax.text(1.02, yi, f"{fmt.hr_ci(r.hr, r.lower, r.upper)}   p {p_txt if p_txt.startswith('<') else '= ' + p_txt}",
                transform=ax.get_yaxis_transform(), va="center", fontsize=8)
    ax.set_xlabel("Hazard ratio for death (log scale)")
    lo, hi = float(s["lower"].min()), float(s["upper"].max())
    ticks = [t for t in (0.1, 0.25, 0.5, 1, 2, 4, 8, 16) if lo / 1.5 <= t <= hi * 1.5] or [1]
    ax.set_xticks(ticks)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    plt.close(fig)  # returned, not shown: the caller saves or displays it
    return fig
