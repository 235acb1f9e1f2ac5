"""The Kaplan–Meier figure: panels A–D, risk tables aligned with the time axis and under it, the tail
with fewer than ``km_min_at_risk`` patients at risk not drawn, the body font, deterministic SVG, and
fewer panels (never a crash) for cohorts without responders, with one dose or without events."""
import io
import re

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from analysis.report import alt, plots  # noqa: E402
from analysis.stats import km  # noqa: E402
from analysis.stats.control import SurvControl  # noqa: E402


def _sample(n=40, seed=3, censor=0.3):
    rng = np.random.default_rng(seed)
    t = np.round(rng.exponential(8.0, n), 2) + 0.1
    e = (rng.uniform(size=n) > censor).astype(int)
    return t, e


def _median(t, e):
    return km.median(km.kaplan_meier(t, e), SurvControl())


def _panels(dor=True, doses=3, events=True):
    t, e = _sample()
    if not events:
        e = np.zeros_like(e)
    dt, de = (t[:15], e[:15]) if dor else (t[:0], e[:0])
    groups = {f"{8 + 2 * i} mg": (t[i::doses], e[i::doses]) for i in range(doses)}
    meds = {k: _median(*v) for k, v in groups.items()}
    return plots.km_panels((dt, de, _median(dt, de) if len(dt) else km.Median(np.nan, np.nan, np.nan, "spss")),
                           (t, e, _median(t, e)), (t, e, _median(t, e)), groups, meds, 0.2, 0.3)


def _curve_axes(fig):
    """(curve axes, risk-table axes) pairs: the risk table is the axes titled 'Number at risk'."""
    tables = [a for a in fig.axes if a.get_title(loc="left") == "Number at risk"]
    curves = [a for a in fig.axes if a not in tables]
    return list(zip(curves, tables))


def test_multi_panel_figure_has_panels_labelled_A_to_D_in_order():
    panels = _panels()
    fig = plots.km_figure(list(panels.panels.values()))
    letters = [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_text() in tuple("ABCD")]
    assert letters == ["A", "B", "C", "D"]
    assert list(panels.letters.values()) == ["A", "B", "C", "D"]


def test_risk_table_counts_sit_at_the_time_axis_ticks_and_count_at_the_start_of_each_interval():
    t, e = _sample()
    fig = plots.km_plot({"All": (t, e)}, min_at_risk=1)
    (ax, axt), = _curve_axes(fig)
    ticks = ax.get_xticks()
    counts = [x for x in axt.texts if x.get_gid() == "n-at-risk"]
    assert [c.get_position()[0] for c in counts] == pytest.approx(list(ticks))
    expected = [int((t >= tk).sum()) for tk in ticks]  # at risk at the START of each interval: time >= t
    assert [int(c.get_text()) for c in counts] == expected
    assert axt.get_xlim() == ax.get_xlim()  # the same time scale


def test_time_axis_is_under_the_curves_and_above_the_risk_table():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = plots.km_figure(list(_panels().panels.values()))
    FigureCanvasAgg(fig).draw()
    r = fig.canvas.get_renderer()
    for ax, axt in _curve_axes(fig):
        assert ax.xaxis.get_visible() and ax.xaxis.get_ticklabels()[0].get_visible()
        tick_bottom = min(t.get_window_extent(r).y0 for t in ax.get_xticklabels() if t.get_text())
        label_bottom = ax.xaxis.label.get_window_extent(r).y0
        title_top = axt.title.get_window_extent(r).y1
        assert label_bottom < tick_bottom  # "Months" under the tick labels
        assert title_top < label_bottom  # "Number at risk" below the axis label: nothing crowds the ticks
        assert not any(t.get_visible() and t.get_text() for t in axt.get_xticklabels())


def test_curve_is_not_drawn_where_fewer_than_min_at_risk_remain():
    t, e = _sample(60)
    for k in (1, 5, 10):
        fig = plots.km_plot({"All": (t, e)}, min_at_risk=k, ci=False)
        (ax, _), = _curve_axes(fig)
        x = ax.lines[0].get_xdata()
        assert max(x) == plots.km_draw_until(t, k)
        assert int((t >= max(x)).sum()) >= k  # the last point drawn still had k at risk
        later = t[t > max(x)]
        assert later.size == 0 or int((t >= later.min()).sum()) < k


def test_min_at_risk_changes_only_the_drawing_not_the_numbers():
    t, e = _sample(60)
    m = _median(t, e)
    assert plots.median_label(m) == plots.median_label(_median(t, e))
    a1 = alt.km_curve("PFS", len(t), int(e.sum()), m, float(t.max()))
    assert "falls to 50%" in a1 and f"{int(e.sum())} of the {len(t)}" in a1


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "5", None])
def test_min_at_risk_is_validated(bad):
    with pytest.raises(ValueError):
        plots.check_min_at_risk(bad)
    from analysis.sensitivity.scenarios import check_params
    with pytest.raises(ValueError, match="km_min_at_risk"):
        check_params({"km_min_at_risk": bad})


def test_median_and_its_ci_are_printed_in_the_panel():
    t, e = _sample()
    m = _median(t, e)
    fig = plots.km_plot({"All": (t, e)}, medians={"All": m})
    texts = [x.get_text() for x in fig.findobj(matplotlib.text.Text)]
    assert plots.median_label(m) in texts
    assert re.match(r"Median \d+\.\d months \(95% CI \d+\.\d\d–\d+\.\d\d\)", plots.median_label(m))


def test_censor_marks_are_drawn():
    t, e = _sample()
    fig = plots.km_plot({"All": (t, e)}, min_at_risk=1)
    (ax, _), = _curve_axes(fig)
    marks = [ln for ln in ax.lines if ln.get_marker() == "|"]
    assert marks and len(marks[0].get_xdata()) == len(np.unique(t[e == 0]))


@pytest.mark.parametrize("dor,doses,events,n_panels,omitted", [
    (True, 3, True, 4, 0), (False, 3, True, 3, 1), (True, 1, True, 3, 1), (False, 1, False, 2, 2)])
def test_degenerate_cohorts_give_fewer_panels_and_a_note(dor, doses, events, n_panels, omitted):
    panels = _panels(dor, doses, events)
    assert len(panels.panels) == n_panels and len(panels.omitted) == omitted
    figs = plots.km_figure_parts(panels)
    assert set(figs) == {"all", *panels.panels, *panels.alone}
    # one dose: the by-dose figure exists alone (the text may cite it) but is no panel of the combined figure
    assert ("fig-pfs-dose-km" in panels.alone) == (doses == 1)
    caps = plots.km_captions(panels, 5)
    for reason in panels.omitted:
        assert reason in caps["all"] and reason in caps["note"]
    alts = alt.km_panels(panels, 5)
    assert list(alts) == [*panels.panels, *panels.alone]
    text = alt.km_figure([alts[k] for k in panels.panels], panels.omitted)
    assert all(f"Panel {c}:" in text for c in "ABCD"[:n_panels])
    if not events:
        assert "No patient" in text and "100%" in text


def test_figure_text_is_libertinus_serif_from_the_shipped_files():
    from matplotlib import font_manager

    path = font_manager.findfont(font_manager.FontProperties(family=plots.FONT_FAMILY))
    assert plots.FONT_DIR in __import__("pathlib").Path(path).resolve().parents
    fig = plots.km_figure(list(_panels().panels.values()))
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    glyph_fonts = set(re.findall(r'<path id="([A-Za-z-]+)-[0-9a-f]+"', svg))
    assert glyph_fonts and glyph_fonts <= {"LibertinusSerif-Regular", "LibertinusSerif-Bold"}, glyph_fonts
    assert "<text" not in svg  # glyphs as paths: Typst and browsers draw them without the font


def test_svg_is_the_same_bytes_every_time():
    def svg():
        fig = plots.km_figure(list(_panels().panels.values()))
        buf = io.BytesIO()
        with matplotlib.pyplot.rc_context({"svg.hashsalt": "analysis", "svg.fonttype": "path"}):
            fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
        return buf.getvalue()
    assert svg() == svg()


def _min_printed_pt(fig, print_width_in):
    """The smallest text size of ``fig`` (points) once printed ``print_width_in`` wide (tight bbox, as saved)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    width_pt = float(re.search(r'width="([\d.]+)pt"', buf.getvalue()).group(1))
    scale = print_width_in * 72 / width_pt
    sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text().strip()]
    return min(sizes) * scale


def test_every_figure_is_readable_at_print_size():
    import pandas as pd

    panels = _panels()
    assert _min_printed_pt(plots.km_figure(list(panels.panels.values())), plots.PRINT_WIDTH_IN) >= plots.MIN_FONT_PT
    for p in panels.panels.values():
        assert _min_printed_pt(plots.km_plot(p), plots.PRINT_WIDTH_IN) >= plots.MIN_FONT_PT
    a = pd.DataFrame({"evaluable": [True] * 60 + [False] * 8, "responder": [True] * 22 + [False] * 46,
                      "pfs_event": 1, "os_event": 1, "on_treatment_at_cutoff": "no"})
    assert _min_printed_pt(plots.cohort_flow(a), 0.8 * plots.PRINT_WIDTH_IN) >= plots.MIN_FONT_PT
    rng = np.random.default_rng(0)
    pct = pd.Series(rng.uniform(-90, 60, 50))
    resp = pd.Series(np.where(pct > 20, "PD", np.where(pct < -30, "PR", "SD")))
    assert _min_printed_pt(plots.waterfall(pct, resp), plots.PRINT_WIDTH_IN) >= plots.MIN_FONT_PT
    s = pd.DataFrame({"term": ["a", "b"], "hr": [0.5, 1.2], "lower": [0.3, 0.8], "upper": [0.9, 1.8], "p": [0.01, 0.4]})
    fig = plots.forest(s, {"a": "ECOG performance status", "b": "Anlotinib dosage (mg)"}, {"a": "0–1 vs ≥2",
                                                                                           "b": "per 1 mg"})
    assert _min_printed_pt(fig, plots.PRINT_WIDTH_IN) >= plots.MIN_FONT_PT


def test_flow_boxes_follow_the_flow_and_status_is_not_under_the_responders():
    import pandas as pd

    a = pd.DataFrame({"evaluable": [True] * 60 + [False] * 8, "responder": [True] * 22 + [False] * 46,
                      "pfs_event": 1, "os_event": 1, "on_treatment_at_cutoff": "no"})
    fig = plots.cohort_flow(a)
    boxes = [t for t in fig.axes[0].texts if t.get_bbox_patch() is not None and t.get_position()[0] < 0.5]
    order = [t.get_text().split("\n")[0] for t in sorted(boxes, key=lambda t: -t.get_position()[1])]
    assert order[0].startswith("Received") and order[-1].startswith("Partial or complete response")
    assert order.index("Status at data cutoff (all 68)") < order.index("Evaluable for tumour response")


def test_median_text_sits_above_every_curve():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    t, e = _sample()
    fig = plots.km_plot({"All": (t, np.zeros_like(e))}, medians={"All": _median(t, np.zeros_like(e))})
    FigureCanvasAgg(fig).draw()
    (ax, _), = _curve_axes(fig)
    label = next(x for x in ax.texts if x.get_text().startswith("Median"))
    bottom = ax.transData.inverted().transform(label.get_window_extent().p0)[1]
    assert bottom > 1.0  # above the 100% line: a flat curve (no event) never runs through it


def test_median_not_reached_prints_no_empty_interval():
    inf = float("inf")
    assert plots.median_label(km.Median(inf, inf, inf, "spss")) == "Median not reached"
    assert plots.median_label(km.Median(inf, np.nan, np.nan, "spss")) == "Median not reached"
    assert plots.median_label(km.Median(np.nan, np.nan, np.nan, "spss")) == "Median not estimable"


def test_an_odd_number_of_panels_says_in_the_empty_cell_what_is_not_shown():
    panels = _panels(dor=False)
    fig = plots.km_figure_parts(panels)["all"]
    notes = [t.get_text() for t in fig.texts if t.get_gid() == "km-note"]
    assert len(notes) == 1 and "no duration-of-response panel" in notes[0].replace("\n", " ")
