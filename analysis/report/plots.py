"""Figures of the report. Each function returns a matplotlib Figure; none saves or shows it
(each is closed in pyplot, so a notebook shows it once, where it calls ``display(fig)``).

* :func:`km_plot`: one Kaplan–Meier panel (curves with censor marks, CI band, median line, the
  median and its CI printed in the panel, and a number-at-risk table under the time axis);
  :func:`km_figure`: several such panels labelled A, B, ... in one figure.
  Numbers at risk are counted at the *start* of each interval (patients with time ≥ t, the SAS /
  survminer convention, not lifelines' end-of-interval KMunicate counts); a curve is drawn only
  while at least ``min_at_risk`` patients remain at risk (:func:`km_draw_until`).
* :func:`waterfall`: best % change of the target-lesion sum, coloured by best response.
* :func:`patient_flow` / :func:`cohort_flow`: the analysis populations (Figure 1).
* :func:`forest`: the Cox model's hazard ratios.

Text is set in the body's family, Libertinus Serif, loaded from the files shipped in
``analysis/report/render_assets/fonts/`` (:data:`FONT_DIR`; never a system font), so the figures
look the same on every machine; SVGs are written with glyphs as paths, so neither a browser nor
Typst needs the font to draw them. Sizes are chosen for the width a figure is printed at
(:data:`PRINT_WIDTH_IN`): no text below 8 pt on the page.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

if not os.environ.get("MPLBACKEND"):  # scripts and tests; a Jupyter kernel sets its inline backend
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import font_manager  # noqa: E402

from analysis.report import fmt  # noqa: E402
from analysis.stats import km  # noqa: E402

#: The body font's files (the report's Typst and HTML use the same family).
FONT_DIR = Path(__file__).resolve().parent / "render_assets" / "fonts"
FONT_FAMILY = "Libertinus Serif"
#: The text width of the PDF (A4, 2.3 cm side margins: render_assets/manuscript.typ), in inches:
#: a figure made this wide and printed at width 100% shows its text at its nominal size.
PRINT_WIDTH_IN = (21.0 - 2 * 2.3) / 2.54
#: The smallest text size of any figure (points, at the width it is printed).
MIN_FONT_PT = 8.0


def font_files() -> list[Path]:
    """The shipped Libertinus Serif files (regular, italic, bold, bold italic)."""
    return sorted(FONT_DIR.glob("LibertinusSerif-*.otf"))


def _register_fonts() -> None:
    files = font_files()
    if not files:
        raise FileNotFoundError(f"the figure font {FONT_FAMILY} is not in {FONT_DIR}")
    known = {Path(f.fname).resolve() for f in font_manager.fontManager.ttflist}
    for f in files:
        if f.resolve() not in known:
            font_manager.fontManager.addfont(str(f))


_register_fonts()

#: seaborn's "colorblind" palette (the same RGB values; seaborn itself is not imported: over half a second)
PALETTE = [matplotlib.colors.to_rgb(c) for c in ("#0173B2", "#DE8F05", "#029E73", "#D55E00", "#CC78BC",
                                                 "#CA9161", "#FBAFE4", "#949494", "#ECE133", "#56B4E9")]
RESPONSE_COLOURS = {"CR": PALETTE[2], "PR": PALETTE[0], "SD": PALETTE[7], "PD": PALETTE[3], "NE": "0.8"}
RESPONSE_NAMES = {"CR": "Complete response", "PR": "Partial response", "SD": "Stable disease",
                  "PD": "Progressive disease", "NE": "Not evaluable"}
SINGLE_COLOUR = "#1f4e79"

#: The figures' style: body font, no fallback to a system font (a glyph Libertinus lacks would be a
#: missing box, found by the tests, rather than a silently different font).
STYLE = {"font.family": [FONT_FAMILY], "font.serif": [FONT_FAMILY], "font.size": 9,
         "mathtext.fontset": "custom", "mathtext.rm": FONT_FAMILY, "mathtext.it": f"{FONT_FAMILY}:italic",
         "mathtext.bf": f"{FONT_FAMILY}:bold", "axes.spines.top": False, "axes.spines.right": False,
         "axes.titlesize": 9, "axes.labelsize": 9, "xtick.labelsize": 8.5, "ytick.labelsize": 8.5,
         "legend.fontsize": 8.5, "svg.hashsalt": "analysis", "svg.fonttype": "path"}
plt.rcParams.update(STYLE)


# --------------------------------------------------------------------------------- Kaplan–Meier
def km_draw_until(time, min_at_risk: int = 5) -> float:
    """The last time a Kaplan–Meier curve is drawn to: while at least ``min_at_risk`` patients are at
    risk (time ≥ t). A group of at most ``min_at_risk`` patients is drawn whole (to its last time):
    the rule would leave nothing of it. Only the drawing stops there; every estimate uses all patients.

    >>> km_draw_until([1, 2, 3, 4, 5, 6, 7], 5), km_draw_until([1, 2], 5), km_draw_until([1, 2, 3], 1)
    (3.0, 2.0, 3.0)
    """
    t = np.sort(np.asarray(time, dtype=float))[::-1]
    if t.size == 0:
        return math.nan
    k = max(1, int(min_at_risk))
    return float(t[0] if t.size <= k else t[k - 1])


def check_min_at_risk(value) -> int:
    """``km_min_at_risk`` as the notebooks accept it: a whole number ≥ 1 (``ValueError`` otherwise)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"km_min_at_risk must be a whole number of patients ≥ 1, got {value!r}")
    return int(value)


def time_step(tmax: float, max_ticks: int = 8) -> float:
    """A tick step in months (1, 2, 3, 6, 12, 24 …) giving at most ``max_ticks`` intervals up to ``tmax``.

    >>> time_step(20.1), time_step(40), time_step(3.2), time_step(100)
    (3, 6, 1, 24)
    """
    if not np.isfinite(tmax) or tmax <= 0:
        return 1
    for s in (1, 2, 3, 6, 12, 24, 48, 96):
        if tmax / s <= max_ticks:
            return s
    return 12 * math.ceil(tmax / (12 * max_ticks))


def median_label(m, unit: str = "months", short: bool = False) -> str:
    """The median and its CI as a panel prints it: "Median 5.6 months (95% CI 3.87–7.33)",
    "Median not reached (95% CI 7.0–NR)", "Median not estimable".

    >>> median_label(km.Median(5.6, 3.87, 7.33, "spss"))
    'Median 5.6 months (95% CI 3.87–7.33)'
    >>> median_label(km.Median(math.inf, 7.0, math.inf, "log"))
    'Median not reached (95% CI 7.00–NR)'
    """
    conf = "" if short else f"{100 * m.conf_level:g}% CI "
    finite = [b for b in (m.lower, m.upper) if not fmt._is_missing(b) and math.isfinite(float(b))]
    has_ci = bool(finite)  # "NR–NR" or "–" says nothing: no interval is printed then
    ci = f" ({conf}{fmt.ci(m.lower, m.upper, 2)})" if has_ci else ""
    if m.estimate is None or (isinstance(m.estimate, float) and math.isnan(m.estimate)):
        return "not estimable" if short else "Median not estimable"
    if math.isinf(m.estimate):
        return ("NR" if short else "Median not reached") + ci
    est = fmt.estimate_in_ci(m.estimate, m.lower, m.upper, 1, 2)
    return f"{est}{ci}" if short else f"Median {est} {unit}{ci}"


@dataclass
class KMPanel:
    """One Kaplan–Meier panel: ``groups`` = ``{label: (time, event)}`` in drawing order; ``medians``
    = ``{label: km.Median}`` (printed in the panel, dashed line at 50%); ``annotation``: e.g. a
    log-rank p, printed under the medians; ``title``: the panel's heading (after its letter)."""

    groups: dict
    ylabel: str = "Survival probability"
    title: str = ""
    medians: dict = field(default_factory=dict)
    annotation: str | None = None
    ci: bool = True
    xlabel: str = "Months"
    #: for the alt text (:func:`analysis.report.alt.km_panels`): the endpoint's short name, its event
    #: as a verb phrase, who is counted, and the raw log-rank and trend p between the groups
    what: str = ""
    event: str = "progressed or died"
    noun: str = "patient"
    p: float | None = None
    trend_p: float | None = None


@dataclass
class KMPanels:
    """The Kaplan–Meier panels of the report, by figure label in the multi-panel figure's order, and
    the panels left out with the reason (e.g. "no duration-of-response panel: no patient responded")."""

    panels: dict
    omitted: list
    #: panels drawn alone only (not in the multi-panel figure): PFS "by dose" with one dose, which the
    #: text may still cite, repeats panel PFS
    alone: dict = field(default_factory=dict)

    @property
    def letters(self) -> dict:
        return {label: PANEL_LETTERS[i] for i, label in enumerate(self.panels)}


def km_panels(dor, pfs, os_, dose_groups: dict, dose_medians: dict, dose_p=None, trend_p=None) -> KMPanels:
    """The report's panels: duration of response, PFS, PFS by starting dose, OS.

    ``dor``, ``pfs``, ``os_``: ``(time, event, km.Median)``; ``dose_groups``: ``{"10 mg": (time, event)}``
    with ``dose_medians`` the groups' medians and ``dose_p`` / ``trend_p`` the log-rank and trend p.
    A panel is left out (and said in :attr:`KMPanels.omitted`) when it has nothing to show: no
    responder (no DoR panel), a single dose (no by-dose panel: it would repeat panel PFS).
    """
    out, omitted = {}, []
    if len(dor[0]):
        out["fig-dor-km"] = KMPanel({"Responders": dor[:2]}, "Remaining in response", "Duration of response",
                                    {"Responders": dor[2]}, what="Duration of response", noun="responder")
    else:
        omitted.append("no duration-of-response panel: no patient had a partial or complete response")
    out["fig-pfs-km"] = KMPanel({"All patients": pfs[:2]}, "Progression-free survival", "Progression-free survival",
                                {"All patients": pfs[2]}, what="PFS")
    if len(dose_groups) > 1:
        ann = []
        if dose_p is not None and np.isfinite(dose_p):
            ann.append(f"Log-rank {_p_text(dose_p)}")
        if trend_p is not None and np.isfinite(trend_p):
            ann.append(f"trend {_p_text(trend_p)}")
        out["fig-pfs-dose-km"] = KMPanel(dict(dose_groups), "Progression-free survival", "PFS by starting dose of anlotinib",
                                         dict(dose_medians), "; ".join(ann) or None, ci=False, what="PFS",
                                         p=dose_p, trend_p=trend_p)
    else:
        omitted.append("no panel by starting dose: every patient started on the same dose"
                       if dose_groups else "no panel by starting dose")
    out["fig-os-km"] = KMPanel({"All patients": os_[:2]}, "Overall survival", "Overall survival",
                               {"All patients": os_[2]}, what="OS", event="died")
    alone = {}
    if len(dose_groups) == 1:
        alone["fig-pfs-dose-km"] = KMPanel(dict(dose_groups), "Progression-free survival",
                                           "PFS by starting dose of anlotinib", dict(dose_medians), what="PFS")
    return KMPanels(out, omitted, alone)


def _p_text(p) -> str:
    s = fmt.pvalue(p)
    return f"p {s.replace('<', '< ')}" if s.startswith("<") else f"p = {s}"


def km_figure_parts(panels: KMPanels, *, conf_level: float = 0.95, min_at_risk: int = 5) -> dict:
    """``{"all": the multi-panel figure, label: that panel alone}`` for :func:`km_panels`' panels."""
    note = ("Not shown: " + "; ".join(panels.omitted) + ".") if panels.omitted else ""
    figs = {"all": km_figure(list(panels.panels.values()), conf_level=conf_level, min_at_risk=min_at_risk, note=note)}
    for label, p in {**panels.panels, **panels.alone}.items():
        figs[label] = km_plot(p, conf_level=conf_level, min_at_risk=min_at_risk, show_title=False)
    return figs


def km_captions(panels: KMPanels, min_at_risk: int, conf_level: float = 0.95) -> dict:
    """Captions of the multi-panel figure (``"all"``), of each panel alone (by label), and the note said
    under the figure (``"note"``: the panels left out). The first sentence of each is its title."""
    conf = f"{100 * conf_level:g}%"
    letters = panels.letters
    names = {"fig-dor-km": "duration of response among the responders",
             "fig-pfs-km": "progression-free survival (PFS)", "fig-pfs-dose-km": "PFS by starting dose of anlotinib",
             "fig-os-km": "overall survival"}
    parts = [f"({letters[k]}) {names[k]}" for k in panels.panels]
    def how(band: bool) -> str:
        return ((f"Shaded: pointwise {conf} CI; " if band else "") + "ticks: censored; dashed: the median. Numbers "
                "at risk are counted at the start of each interval (patients still followed at that time, as SAS and "
                f"survminer count them). A curve is drawn while at least {min_at_risk} patients remain at risk "
                "(every estimate uses all patients).")
    band = any(p.ci for p in panels.panels.values())
    note = ("Not shown: " + "; ".join(panels.omitted) + ".") if panels.omitted else ""
    nob = [letters[k] for k, p in panels.panels.items() if not p.ci]
    nob_txt = f" (panel {', '.join(nob)} without CI bands, for legibility)" if nob and band else ""
    caps = {"all": "Kaplan–Meier estimates: " + ", ".join(parts) + ". " + how(band)[0].upper() + how(band)[1:]
            .replace("; ticks", nob_txt + "; ticks", 1) + (" " + note if note else ""),
            "note": note}
    for k, p in {**panels.panels, **panels.alone}.items():
        n = sum(len(t) for t, _ in p.groups.values())
        extra = (" (no CI band, for legibility; the log-rank and trend tests compare the doses)" if not p.ci else
                 f" (every patient started on {next(iter(p.groups))})" if k in panels.alone else "")
        h = how(p.ci)
        caps[k] = f"Kaplan–Meier estimate of {names[k]} (n = {n}){extra}. " + h[0].upper() + h[1:]
    return caps


def _km_axes(ax, axt, p: KMPanel, conf_level: float, min_at_risk: int, max_ticks: int, label_size: float,
             table_rows: int = 0):
    """Draw panel ``p`` into the curve axes ``ax`` and the risk-table axes ``axt``; returns the ticks."""
    n_groups = len(p.groups)
    # the axis ends where the last curve ends (its tail with fewer than min_at_risk patients is not drawn)
    tmax = max((km_draw_until(t, min_at_risk) if len(t) else 0.0) for t, _ in p.groups.values()) or 1.0
    step = time_step(tmax, max_ticks)
    xmax = step * math.ceil(tmax / step)
    ticks = np.arange(0, xmax + 1e-9, step)
    colours = PALETTE if n_groups > 1 else [SINGLE_COLOUR]
    med_lines = []
    for i, (label, (t, e)) in enumerate(p.groups.items()):
        c = colours[i % len(colours)]
        t = np.asarray(t, float)
        e = np.asarray(e, int)
        if t.size == 0:
            continue
        fit = km.kaplan_meier(t, e, conf_level=conf_level)
        tab = fit.table
        until = km_draw_until(t, min_at_risk)
        shown = tab[tab["time"] <= until]
        x = np.concatenate([[0.0], shown["time"].to_numpy()])
        y = np.concatenate([[1.0], shown["surv"].to_numpy()])
        med = p.medians.get(label)
        legend = (f"{label}: {median_label(med, short=True)}" if med is not None and n_groups > 1
                  else f"{label} (n = {fit.n})")
        ax.step(x, y, where="post", color=c, lw=1.5, label=legend)
        if p.ci:
            lo = np.concatenate([[1.0], shown["lower"].to_numpy()])
            hi = np.concatenate([[1.0], shown["upper"].to_numpy()])
            ok = ~(np.isnan(lo) | np.isnan(hi))
            ax.fill_between(x[ok], lo[ok], hi[ok], step="post", color=c, alpha=0.12 if n_groups > 1 else 0.18,
                            lw=0)
        cens = shown[shown["n_censor"] > 0]
        ax.plot(cens["time"], cens["surv"], "|", color=c, ms=6, mew=1.0)
        if med is not None and np.isfinite(med.estimate) and med.estimate <= until:
            ax.plot([0, med.estimate, med.estimate], [0.5, 0.5, 0], ls="--", lw=0.7, color=c, alpha=0.8)
        if med is not None and n_groups == 1:
            med_lines.append(median_label(med))
        rt = km.risk_table(fit, ticks)
        for tk, nr in zip(ticks, rt["n_risk"]):
            axt.text(tk, n_groups - 1 - i, str(int(nr)), ha="center", va="center", color=c, fontsize=label_size,
                     gid="n-at-risk")
    ax.set_ylim(0, 1.13)  # headroom above 100% for the median text and legend, where no curve is
    ax.set_xlim(0, xmax)
    ax.set_xticks(ticks)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.spines["left"].set_bounds(0, 1)  # the axis ends at 100%; the headroom above holds only text
    ax.set_ylabel(p.ylabel)
    ax.set_xlabel(p.xlabel, labelpad=1)
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=0))
    lines = med_lines + ([p.annotation] if p.annotation else [])
    if n_groups > 1:
        title = "Median, months (95% CI)" if p.medians else None
        leg = ax.legend(frameon=False, loc="upper right", fontsize=label_size, handlelength=1.2, borderaxespad=0.1,
                        title=title, title_fontsize=label_size, alignment="right", labelspacing=0.3)
        if p.annotation:  # lower right: where falling curves leave room
            ax.text(0.99, 0.03, p.annotation, transform=ax.transAxes, ha="right", va="bottom", fontsize=label_size)
        del leg
    elif lines:  # in the headroom above 100%, where no curve is
        ax.set_ylim(0, 1.13)
        ax.text(0.99, 0.995, "\n".join(lines), transform=ax.transAxes, ha="right", va="top", fontsize=label_size,
                linespacing=1.3)
    axt.set_ylim(-0.6, max(n_groups, table_rows) - 0.4)
    axt.set_yticks(range(n_groups))
    if table_rows > n_groups:  # a taller table than needed (aligned with the panel beside): rows at its top
        axt.set_ylim(n_groups - 0.4 - table_rows, n_groups - 0.4)
    axt.set_yticklabels(list(p.groups)[::-1] if n_groups > 1 else [""], fontsize=label_size)
    for tl, c in zip(axt.get_yticklabels(), colours[:n_groups][::-1]):
        tl.set_color(c)
    axt.set_title("Number at risk", fontsize=label_size, loc="left", pad=2, x=0)
    for s in ("left", "top", "right", "bottom"):
        axt.spines[s].set_visible(False)
    axt.tick_params(axis="both", length=0, labelbottom=False)
    axt.tick_params(axis="y", pad=10)
    return ticks


def _panel_grid(fig, cell, n_groups: int, gap: float = 0.95):
    """Curve axes over a risk-table axes in ``cell``; the gap between them holds the time axis."""
    table_h = 0.28 + 0.22 * n_groups
    gs = cell.subgridspec(3, 1, height_ratios=[3.2, gap, table_h], hspace=0.0)
    ax = fig.add_subplot(gs[0])
    axt = fig.add_subplot(gs[2], sharex=ax)
    return ax, axt


def km_plot(groups: dict[str, tuple[np.ndarray, np.ndarray]] | KMPanel | None = None, *, xlabel: str = "Months",
            ylabel: str = "Survival probability", conf_level: float = 0.95, medians: dict | None = None,
            annotation: str | None = None, ci: bool = True, min_at_risk: int = 5, title: str = "",
            show_title: bool = True, figsize=(PRINT_WIDTH_IN, 3.9)):
    """One Kaplan–Meier panel as a figure of its own (the supplement's and the HTML's single panels).

    ``groups``: ``{label: (time, event)}`` in the order to draw, or a :class:`KMPanel`; ``medians``:
    ``{label: km.Median}`` printed in the panel; the curve stops where fewer than ``min_at_risk``
    patients remain at risk (:func:`km_draw_until`).
    """
    p = groups if isinstance(groups, KMPanel) else KMPanel(groups, ylabel, title, medians or {}, annotation, ci,
                                                             xlabel)
    fig = plt.figure(figsize=(figsize[0], figsize[1] + 0.2 * len(p.groups)))
    ax, axt = _panel_grid(fig, fig.add_gridspec(1, 1)[0], len(p.groups), gap=0.62)
    _km_axes(ax, axt, p, conf_level, min_at_risk, max_ticks=12, label_size=8.5)
    if p.title and show_title:
        ax.set_title(p.title, loc="left", fontsize=9.5, fontweight="bold", pad=4)
    fig.subplots_adjust(left=0.12, right=0.98, top=0.95, bottom=0.03)
    plt.close(fig)  # returned, not shown: the caller saves or displays it
    return fig


PANEL_LETTERS = "ABCDEFGH"


def km_figure(panels: list[KMPanel], *, conf_level: float = 0.95, min_at_risk: int = 5,
              width: float = PRINT_WIDTH_IN, note: str = ""):
    """Several Kaplan–Meier panels in one figure, two per row, labelled A, B, … in reading order.

    Each panel has its time axis directly under its curves, then its number-at-risk table aligned
    with that axis. Any number of panels ≥ 1 (a cohort without responders has no duration-of-response
    panel, one with a single dose no by-dose panel).
    """
    if not panels:
        raise ValueError("km_figure needs at least one panel")
    ncol = 1 if len(panels) == 1 else 2
    nrow = math.ceil(len(panels) / ncol)
    most = max(len(p.groups) for p in panels)
    row_h = 2.75 + 0.16 * most
    fig = plt.figure(figsize=(width, row_h * nrow + 0.1))
    outer = fig.add_gridspec(nrow, ncol, hspace=0.24, wspace=0.36, left=0.125, right=0.975, top=0.965,
                             bottom=0.02)
    for i, p in enumerate(panels):
        row = panels[(i // ncol) * ncol:(i // ncol + 1) * ncol]
        # panels side by side get risk tables of one height, so their curves and time axes line up
        ax, axt = _panel_grid(fig, outer[i // ncol, i % ncol], max(len(q.groups) for q in row))
        _km_axes(ax, axt, p, conf_level, min_at_risk, max_ticks=7, label_size=8.3,
                 table_rows=max(len(q.groups) for q in row))
        ax.set_title(p.title, loc="left", fontsize=9, pad=5)
        ax.text(-0.22, 1.02, PANEL_LETTERS[i], transform=ax.transAxes, fontsize=11, fontweight="bold",
                ha="left", va="bottom")
    if note and len(panels) % 2 and ncol == 2:  # the empty cell says which panel is not shown, and why
        import textwrap

        fig.text(0.56, 1 - (nrow - 0.5) / nrow * 0.94, "\n".join(textwrap.wrap(note, 48)), fontsize=8.5,
                 ha="left", va="center", color="0.3", gid="km-note")
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
        return ("One bar per evaluable patient, sorted from the largest increase to the largest "
                "decrease, coloured by best overall response.")
    return (f"The {n} evaluable patients ranked from the largest increase to the largest decrease "
            f"in {WATERFALL_GROUPS} groups of equal size, one bar per group at its median change, coloured by "
            "the group's most frequent best overall response.")


def waterfall(best_pct: pd.Series, best_response: pd.Series, figsize=(PRINT_WIDTH_IN, 3.5)):
    """Waterfall plot: one bar per evaluable patient, sorted from largest increase to largest decrease.

    With more than :data:`WATERFALL_MAX_BARS` patients, one bar per group of :data:`WATERFALL_GROUPS`
    equal groups of the ranked patients (the group's median change, coloured by its most frequent
    best response; the x axis is then the patients' rank in percent). The cost is linear in the
    number of patients after the sort. Bars are coloured by best response, named in full with its
    count in the legend; the RECIST thresholds are labelled on their lines.
    """
    d = pd.DataFrame({"pct": best_pct, "resp": best_response}).dropna(subset=["pct"])
    d = d.sort_values("pct", ascending=False, kind="stable").reset_index(drop=True)
    fig, ax = plt.subplots(figsize=figsize)
    if len(d) <= WATERFALL_MAX_BARS:
        ax.bar(d.index, d["pct"], color=[RESPONSE_COLOURS[r] for r in d["resp"]], width=0.8)
    else:
        x, height, resp = _ranked_groups(d["pct"].to_numpy(float), d["resp"].to_numpy(), WATERFALL_GROUPS)
        ax.bar(x, height, color=[RESPONSE_COLOURS[r] for r in resp], width=0.8 * 100 / WATERFALL_GROUPS)
    ax.axhline(20, ls="--", lw=0.7, color="0.35")
    ax.axhline(-30, ls="--", lw=0.7, color="0.35")
    ax.axhline(0, lw=0.6, color="0.2")
    lt = ax.get_yaxis_transform()
    ax.text(1.01, 20, "+20%\nprogression", transform=lt, fontsize=8.5, color="0.25", va="center", ha="left")
    ax.text(1.01, -30, "−30%\npartial\nresponse", transform=lt, fontsize=8.5, color="0.25", va="center", ha="left")
    if len(d) <= WATERFALL_MAX_BARS:
        ax.set_xticks([])
        ax.set_xlim(-0.8, len(d) - 0.2)
        ax.set_xlabel(f"Patients with a measured on-treatment assessment (n = {len(d)}), one bar each")
    else:
        ax.set_xlim(0, 100)
        ax.set_xticks([0, 25, 50, 75, 100])
        ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(100))
        ax.set_xlabel(f"Patients with a measured on-treatment assessment (n = {len(d)}), ranked\n"
                      f"each bar: the median of one of {WATERFALL_GROUPS} groups of equal size")
    ax.set_ylabel("Best change from baseline in the sum\nof target-lesion diameters (%)")
    lo = min(-100, 10 * math.floor(d["pct"].min() / 10)) if len(d) else -100
    hi = max(70, 10 * math.ceil(d["pct"].max() / 10) + 10) if len(d) else 70
    ax.set_ylim(lo, hi)
    present = [r for r in ("CR", "PR", "SD", "PD") if (d["resp"] == r).any()]
    handles = [plt.Rectangle((0, 0), 1, 1, color=RESPONSE_COLOURS[r]) for r in present]
    labels = [f"{RESPONSE_NAMES[r]} ({int((d['resp'] == r).sum())})" for r in present]
    if labels:  # no measured patient (all not evaluable): an empty chart without a legend
        ax.legend(handles, labels, title="Best overall response (patients)", frameon=False, fontsize=8.5,
                  title_fontsize=8.5, loc="upper right", ncol=min(2, len(labels)), handlelength=1.0)
    fig.tight_layout(pad=0.3)
    fig.subplots_adjust(right=0.87)  # room for the threshold labels right of the axes
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


def patient_flow(boxes: list[tuple[str, list[str]]], side: list[tuple[int, str]] | None = None,
                 figsize=(0.8 * PRINT_WIDTH_IN, 4.4)):
    """A vertical CONSORT-style flow: ``boxes`` = [(title, [lines])] top to bottom, joined by arrows;
    ``side`` = [(after box index, text)] drawn as exclusion boxes to the right of the arrow below that
    box. Made for printing at 80% of the text width (text 9 pt, side boxes 8.5 pt there)."""
    fig, ax = plt.subplots(figsize=figsize)
    fig.subplots_adjust(0, 0, 1, 1)
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    n = len(boxes)
    ys = np.linspace(0.9, 0.1, n)
    half = 0.28 / max(n - 1, 1)  # the arrow stops short of each box by about a box's half height
    for i, (title, lines) in enumerate(boxes):
        text = title + ("\n" + "\n".join(lines) if lines else "")
        ax.text(0.33, ys[i], text, ha="center", va="center", fontsize=9, linespacing=1.25,
                bbox=dict(boxstyle="round,pad=0.45", fc="#eef3f8", ec=SINGLE_COLOUR, lw=0.9))
        if i < n - 1:
            ax.annotate("", xy=(0.33, ys[i + 1] + half), xytext=(0.33, ys[i] - half),
                        arrowprops=dict(arrowstyle="-|>", color=SINGLE_COLOUR, lw=0.9))
    for after, text in side or []:
        y = (ys[after] + ys[after + 1]) / 2
        ax.annotate("", xy=(0.64, y), xytext=(0.33, y), arrowprops=dict(arrowstyle="-|>", color="0.4", lw=0.8))
        ax.text(0.65, y, text, ha="left", va="center", fontsize=8.5, linespacing=1.2,
                bbox=dict(boxstyle="round,pad=0.4", fc="white", ec="0.4", lw=0.8))
    plt.close(fig)  # returned, not shown: the caller saves or displays it
    return fig


def flow_counts(a: pd.DataFrame) -> dict:
    """The counts of the patient flow (Figure 1) from the analysis frame."""
    return dict(n=len(a), n_eval=int(a["evaluable"].sum()), n_resp=int(a["responder"].sum()),
                pfs_events=int(a["pfs_event"].sum()), deaths=int(a["os_event"].sum()),
                on_treatment=int((a["on_treatment_at_cutoff"] == "yes").sum()))


def cohort_flow(a: pd.DataFrame, screening: pd.DataFrame | None = None):
    """Figure 1 from the analysis frame, in the order of the flow: the treated patients, their status at
    the data cutoff (all of them), then the response-evaluable patients and the responders."""
    c = flow_counts(a)
    boxes = []
    side = []
    if screening is not None and len(screening):
        excl = screening[screening["exclusion_reason"].notna()]
        boxes.append(("Patients screened", [f"n = {len(screening)}"]))
        reasons = excl["exclusion_reason"].value_counts()
        side.append((0, "Excluded (n = %d)\n" % len(excl) + "\n".join(f"{r}: {k}" for r, k in reasons.items())))
    boxes += [
        ("Received anlotinib plus an ICI", [f"n = {c['n']}", "(PFS, OS and safety analyses)"]),
        (f"Status at data cutoff (all {c['n']})", [f"progressed or died: {c['pfs_events']}",
                                                   f"died: {c['deaths']}; still on treatment: {c['on_treatment']}"]),
        ("Evaluable for tumour response", [f"n = {c['n_eval']}", "(best response CR, PR, SD or PD)"]),
        ("Partial or complete response", [f"n = {c['n_resp']}", "(duration-of-response analysis)"]),
    ]
    k = len(boxes) - 4
    side.append((k + 1, f"Not evaluable (n = {c['n'] - c['n_eval']}):\nno on-treatment assessment"))
    side.append((k + 2, f"Stable or progressive\ndisease (n = {c['n_eval'] - c['n_resp']})"))
    return patient_flow(boxes, side)


def forest(summary: pd.DataFrame, labels: dict[str, str], terms: dict[str, str] | None = None,
           width: float = PRINT_WIDTH_IN):
    """Forest plot of Cox hazard ratios (summary with term, hr, lower, upper, p).

    Each row names the variable (``labels``) and what its HR compares (``terms``, from
    :func:`analysis.report.tables.cox_design`: "0–1 vs ≥2", "per 1 mg"), with the HR, its CI and p
    printed beside it under column headings.
    """
    s = summary.reset_index(drop=True)
    terms = terms or {}
    fig, ax = plt.subplots(figsize=(width, 0.75 + 0.42 * len(s)))
    fig.subplots_adjust(left=0.36, right=0.68, top=1 - 0.32 / (0.75 + 0.42 * len(s)),
                        bottom=0.42 / (0.75 + 0.42 * len(s)))
    y = np.arange(len(s))[::-1]
    ax.errorbar(s["hr"], y, xerr=[s["hr"] - s["lower"], s["upper"] - s["hr"]], fmt="s", color=SINGLE_COLOUR,
                ecolor=SINGLE_COLOUR, capsize=2.5, ms=4.5, lw=1)
    ax.axvline(1, ls="--", color="0.4", lw=0.8)
    ax.set_xscale("log")
    ax.set_yticks(y)
    ax.set_yticklabels([f"{labels.get(t, t)}\n{terms[t]}" if terms.get(t) else labels.get(t, t)
                        for t in s["term"]], fontsize=8.5, linespacing=1.15)
    ax.set_ylim(-0.6, len(s) - 0.4)
    tr = ax.get_yaxis_transform()
    for yi, r in zip(y, s.itertuples(index=False)):
        ax.text(1.04, yi, fmt.hr_ci(r.hr, r.lower, r.upper), transform=tr, va="center", fontsize=8.5)
        ax.text(1.78, yi, fmt.pvalue(r.p), transform=tr, va="center", ha="right", fontsize=8.5)
    ax.text(1.04, len(s) - 0.4, "HR (95% CI)", transform=tr, va="bottom", fontsize=8.5, fontweight="bold")
    ax.text(1.78, len(s) - 0.4, "P", transform=tr, va="bottom", ha="right", fontsize=8.5, fontweight="bold")
    ax.set_xlabel("Hazard ratio for death (log scale)\n← lower risk    higher risk →", fontsize=8.5)
    lo, hi = float(s["lower"].min()), float(s["upper"].max())
    ticks = [t for t in (0.1, 0.25, 0.5, 1, 2, 4, 8, 16) if lo / 1.5 <= t <= hi * 1.5] or [1]
    ax.set_xticks(ticks)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    plt.close(fig)  # returned, not shown: the caller saves or displays it
    return fig
