"""Scorecard: statuses come from the reproduced numbers, never from the targets."""
from __future__ import annotations

import math
import re

import pandas as pd
import pytest

from analysis.synthetic.audit import audit_paper
from analysis.synthetic.scorecard import STATUSES, classify, flatten, scorecard, section_of, summarise
from analysis.synthetic.targets import load_targets


@pytest.fixture(scope="module")
def targets():
    return load_targets()


@pytest.fixture(scope="module")
def audit(targets):
    return audit_paper(targets)


def _status(card, key, where=None):
    rows = card[card.key == key]
    if where is not None:
        rows = rows[rows["where"] == where]
    return rows["status"].iloc[0]


def test_flatten_nested_results():
    flat = flatten({"survival": {"pfs": {"median": 5.61, "rate_12": {"estimate": 30.9}}, "os": {"median": None}},
                    "cohort": {"n": 68}})
    assert flat == {"survival.pfs.median": 5.61, "survival.pfs.rate_12.estimate": 30.9, "cohort.n": 68.0}


def test_statuses(targets, audit):
    rep = {"survival.pfs.median": 5.64,  # prints as 5.6
           "survival.os.median": 13.4,  # 0.2 months off
           "survival.dor.median": 9.0,  # 2.2 months off
           "subgroups.sex.p": 0.9,  # same side of 0.05
           "subgroups.ecog_group.p": 0.2,  # crosses 0.05
           "subgroups.cox.platinum_response.p": 0.50,  # paper's p contradicts its CI
           "safety.fatigue.grade3plus_pct": 100 * 9 / 68}
    card = scorecard(targets, rep, audit)
    assert _status(card, "survival.pfs.median") == "exact"
    assert _status(card, "survival.os.median") == "within tolerance"
    assert _status(card, "survival.dor.median") == "off"
    assert _status(card, "subgroups.sex.p") == "within tolerance"
    assert _status(card, "subgroups.ecog_group.p", "Table 2; Results, Prognosis (subgroups)") == "off"
    assert _status(card, "subgroups.cox.platinum_response.p") == "inconsistent in paper"
    assert _status(card, "safety.fatigue.grade3plus_pct") == "inconsistent in paper"
    assert _status(card, "cohort.n") == "not computed"
    assert set(card.status) <= set(STATUSES)


def test_perturbing_a_reproduced_value_changes_its_status(targets, audit):
    rep = {k: v for k, v, kind in zip(targets.key, targets.value, targets.kind) if kind == "value"}
    card = scorecard(targets, rep, audit)
    assert _status(card, "response.orr.pct") == "exact"
    assert _status(card, "survival.pfs.median") == "exact"
    rep2 = {**rep, "response.orr.pct": 35.0, "survival.pfs.median": 7.0}
    card2 = scorecard(targets, rep2, audit)
    assert _status(card2, "response.orr.pct") == "off"
    assert _status(card2, "survival.pfs.median") == "off"
    assert card2.set_index("key").loc["survival.pfs.median", "reproduced"] == 7.0


def test_published_values_are_not_used_as_reproduced(targets, audit):
    card = scorecard(targets, {}, audit)
    assert (card.status == "not computed").all()
    assert card.reproduced.isna().all()


def test_tolerances_are_configurable(targets, audit):
    rep = {"survival.os.median": 13.4}
    assert _status(scorecard(targets, rep, audit, tolerances={"months": 0.1}), "survival.os.median") == "off"


def test_classify_rules():
    assert classify(0.031, 0.0314, 3, "p")[0] == "exact"
    assert classify(0.216, 0.230, 3, "p")[0] == "within tolerance"
    assert classify("<0.20", 0.18, 2, "p", kind="bound")[0] == "exact"
    assert classify("<0.20", 0.30, 2, "p", kind="bound")[0] == "off"
    assert classify(49, 50, 0, "count")[0] == "off"
    status, diff = classify(5.6, 5.9, 1, "months")
    assert status == "within tolerance" and diff == pytest.approx(0.3)
    assert classify(5.6, math.nan, 1, "months")[0] == "not computed"


def test_summarise_sections(targets, audit):
    card = scorecard(targets, {"survival.pfs.median": 5.6, "subgroups.cox.ecog_group.hr": 0.6}, audit)
    s = summarise(card)
    assert list(s.columns) == list(STATUSES) + ["total"]
    assert s.loc["overall", "total"] == len(card)
    assert {"cohort", "response", "survival", "safety", "subgroups (medians, log-rank)",
            "subgroups (Cox model)"} <= set(s.index)
    assert s.loc["survival", "exact"] == 1 and s.loc["subgroups (Cox model)", "exact"] == 1
    assert s.drop(index="overall")["total"].sum() == len(card)
    assert section_of("subgroups.sex.p") == "subgroups (medians, log-rank)"


def test_not_reached_reproduction_is_off_not_a_crash():
    """A bound "not reached" (inf) under a sensitivity analysis is a miss, not an error."""
    from analysis.synthetic.scorecard import classify

    assert classify(19.31, float("inf"), 2, "months")[0] == "off"
    assert classify(19.31, float("inf"), 2, "months", flagged=True)[0] == "inconsistent in paper"


def test_ceiling_column_and_sentence(targets, audit):
    """The summary's "at most" column is the total less what the paper rules out, per section (the
    committed cohort stays under it: tests/test_calibrate.py)."""
    from analysis.synthetic.audit import unreachable
    from analysis.synthetic.scorecard import ceiling_text, headline

    u = unreachable(targets, audit)
    printed = {k: float(v) for k, v, kind in zip(targets.key, targets.value, targets.kind)
               if kind in ("value", "words", "approx")}
    card = scorecard(targets, printed, audit)
    s = summarise(card, unreachable=u)
    assert list(s.columns) == list(STATUSES) + ["total", "at most"]
    assert s.loc["overall", "at most"] == len(card) - u["lost"].sum() == 296
    assert s.loc["subgroups (Cox model)", "at most"] == 10
    assert s.loc["response", "at most"] == s.loc["response", "total"]
    assert s.drop(index="overall")["at most"].sum() == s.loc["overall", "at most"]
    top, text = ceiling_text(u, len(card), 233)
    assert top == 296 and "at most 296 can print" in text and "233 of those 296 (79%)" in text
    assert "6 percentages contradict their counts" in text and "1 number is a definition" in text
    head = headline(card, u)
    assert head["at_most"][0] == 296 and head["ceiling_sentence"][1].startswith("No data set reproduces all 313")
    assert ceiling_text(u.iloc[:0], 10, 5) == (10, "")


def test_comparison_mode_for_another_cohort_sets_estimates_beside_the_papers_without_verdicts():
    """Any cohort but the shipped one: 'Comparison with the published study', no exact/off counts."""
    from analysis.synthetic.scorecard import (HEADLINE_KEYS, article_text, comparison, comparison_display,
                                              comparison_text, misses_markdown, section_title)

    targets = load_targets()
    rep = {"cohort.n": 48.0, "survival.os.median": 10.0, "survival.os.lower": 6.0, "survival.os.upper": float("inf"),
           "response.orr.pct": 25.0, "response.orr.lower": 13.6, "response.orr.upper": 39.6}
    comp = comparison(targets, rep)
    row = comp.set_index("key").loc["survival.os.median"]
    assert row["published"] == "13.2 (7.09–19.31)" and row["cohort"] == "10.0 (6.00–NR)" and row["within"] == 1.0
    assert comp.set_index("key").loc["survival.pfs.median", "cohort"] == "–"  # not computed for this cohort
    head = comparison(targets, rep, HEADLINE_KEYS)
    assert head["key"].tolist()[:2] == ["cohort.n", "response.orr.pct"]
    words = " ".join(comparison_display(comp).astype(str).to_numpy().ravel()) + comparison_text(comp, "x", 48, 68)
    assert not re.search(r"\bexact|\boff\b|reproduced", words)
    assert "(*x*, 48 patients) is not the cohort of the published study (68 patients)" in words
    assert section_title(False) == "Comparison with the published study"
    assert section_title(True) == "Reproduction of the published results"
    assert misses_markdown(False) == "" and "Numbers not reproduced exactly" in misses_markdown(True)
    assert not re.search(r"reproduc|exact|scorecard shows", article_text(False, paper_n=68))
