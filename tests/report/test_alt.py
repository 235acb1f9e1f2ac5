"""Alt text says what each figure shows, from its results, and stays true on odd results: no patient,
no event, a median not reached, one group, an HR below and above 1."""
import math

import pandas as pd

from analysis.report import alt
from analysis.stats.km import Median

NAN = float("nan")
INF = float("inf")


def test_km_alt_states_the_median_its_ci_and_the_events():
    text = alt.km_curve("PFS", 68, 49, Median(5.6, 3.8712, 7.3288, "spss"), 31.2)
    assert text == "PFS falls to 50% at 5.6 months (95% CI 3.87–7.33); 49 of the 68 patients progressed or died."
    assert "curve" not in text.lower() and "chart" not in text.lower()


def test_km_alt_without_events_says_nobody_had_the_event():
    text = alt.km_curve("OS", 12, 0, Median(INF, NAN, NAN, "spss"), 18.0, event="died")
    assert text.startswith("No patient died") and "100%" in text and "falls to 50%" not in text


def test_km_alt_median_not_reached_never_says_it_falls_to_50():
    text = alt.km_curve("OS", 68, 20, Median(INF, 14.0, INF, "log"), 30.0, event="died")
    assert "stays above 50%" in text and "median not reached" in text and "falls" not in text
    assert "14.00–NR" in text


def test_km_alt_without_patients():
    assert alt.km_curve("Duration of response", 0, 0, Median(NAN, NAN, NAN, "spss"), NAN,
                        noun="responder") == "No responder: no Duration of response curve."


def test_km_alt_says_where_the_drawn_curve_stops_only_when_it_stops_early():
    m = Median(5.6, 3.87, 7.33, "spss")
    assert "drawn to 20.0 months" in alt.km_curve("PFS", 68, 49, m, 31.2, drawn_until=20.0, min_at_risk=5)
    assert "drawn" not in alt.km_curve("PFS", 68, 49, m, 31.2, drawn_until=31.0, min_at_risk=5)


def test_km_groups_alt_names_each_group_and_the_test():
    text = alt.km_groups("PFS", [("8 mg", 17, 14, Median(3.0, 1.52, 4.48, "spss")),
                                 ("10 mg", 40, 0, Median(INF, NAN, NAN, "spss"))], 0.0004, trend_p=NAN)
    assert "3.0 months (95% CI 1.52–4.48) with 8 mg" in text and "not reached with 10 mg" in text
    assert "log-rank p < 0.001" in text and "trend" not in text


def test_waterfall_alt_counts_from_the_data_and_names_no_patient():
    text = alt.waterfall(pd.Series([-100.0, -35, -5, 0, 25]))
    assert "Of the 5 patients" in text and "3 had shrinking" in text and "2 by at least 30%" in text
    assert "1 grew by 20% or more" in text and "100.0%" in text
    assert "year-old" not in text and "woman" not in text
    assert alt.waterfall(pd.Series([10.0, 30.0])).endswith("grew by 20% or more.")  # no shrinkage sentence


def test_flow_alt_follows_the_counts():
    text = alt.flow(5, 5, 0, 0, 0, 1)
    assert "0 were not evaluable" in text and "1 was still on treatment" in text and "0 had a partial" in text


def test_forest_alt_says_which_intervals_exclude_one():
    s = pd.DataFrame({"term": ["a", "b"], "hr": [0.5, 2.5], "lower": [0.3, 1.2], "upper": [0.9, 5.0]})
    assert "Every interval excludes 1" in alt.forest(s, {"a": "A", "b": "B"})
    s.loc[1, "lower"] = 0.8
    assert alt.forest(s, {"a": "A", "b": "B"}).endswith("for A only.")
    s.loc[0, "upper"] = 1.1
    assert "Every interval includes 1" in alt.forest(s, {"a": "A", "b": "B"})
    assert alt.forest(s.iloc[:0], {}) == "No Cox model was fitted."


def test_km_figure_alt_letters_every_panel_and_says_what_is_left_out():
    text = alt.km_figure([("A", "x."), ("B", "y.")], ["no panel by starting dose: every patient started on the same dose"])
    assert text.startswith("Panel A: x. Panel B: y.") and "Not shown: no panel by starting dose" in text
    assert not math.isnan(alt.finite_max([1.0, NAN, 3.0]))
