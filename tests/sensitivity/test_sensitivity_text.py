"""Robustness sentences: built from results, true for any cohort (all, none, some, nothing assessable)."""
import pandas as pd

from analysis.sensitivity import text
from analysis.sensitivity.multiverse import Choice

CHOICES = [Choice("Ties", (("Breslow", {}), ("Efron", {}))), Choice("Month", (("30", {}), ("30.4", {})))]


def row(n, k, missing=0, **shares):
    r = {"claim": "X predicts OS", "n": n, "k": k, "missing": missing}
    for ch in CHOICES:
        for label, _ in ch.options:
            r[f"share|{ch.name}|{label}"] = shares.get(f"{ch.name}_{label}", k / n if n else float("nan"))
    return r


def test_robust_when_it_holds_everywhere():
    assert text.multiverse_sentence(row(4, 4), CHOICES) == "X predicts OS: robust, holds in all 4 specifications."


def test_not_supported_when_it_holds_nowhere():
    s = text.multiverse_sentence(row(4, 0), CHOICES)
    assert s.startswith("X predicts OS: not supported, holds in none of the 4")


def test_hinges_on_the_choice_that_splits_it():
    s = text.multiverse_sentence(row(4, 2, Ties_Breslow=0.0, Ties_Efron=1.0), CHOICES)
    assert "hinges on one choice, Ties: it holds with “Efron” and not with “Breslow”" in s


def test_depends_most_on_the_largest_difference():
    s = text.multiverse_sentence(row(4, 3, Ties_Breslow=1.0, Ties_Efron=0.5, Month_30=0.75, **{"Month_30.4": 0.75}), CHOICES)
    assert "depends most on Ties (100% with “Breslow”, 50% with “Efron”)" in s


def test_nothing_assessable_and_partly_assessable():
    assert "not assessable in any of the 4" in text.multiverse_sentence(row(0, 0, missing=4), CHOICES)
    s = text.multiverse_sentence(row(2, 2, missing=2), CHOICES)
    assert "where it can be assessed" in s and "could not be assessed in 2 of the 4" in s


def test_scenario_sentences():
    base = {"claim": "X", "n": 3, "missing": []}
    assert text.scenarios_sentence({**base, "base": True, "k": 3, "fails": []}) == \
        "X: holds with the base parameters and in all 3 scenarios."
    assert text.scenarios_sentence({**base, "base": True, "k": 0, "fails": ["a", "b", "c"]}) == \
        "X: holds with the base parameters but in none of the 3 scenarios."
    assert text.scenarios_sentence({**base, "base": False, "k": 0, "fails": ["a", "b", "c"]}, with_claim=False) == \
        "Does not hold with the base parameters and in none of the 3 scenarios."
    assert text.scenarios_sentence({"claim": "X", "n": 0, "base": None, "k": 0, "fails": [], "missing": []}) == \
        "X: cannot be assessed with the base parameters; no scenario was run."


def test_changes_sentence_counts_from_the_comparisons():
    same = pd.DataFrame({"key": ["a"], "status": ["same"]})
    assert text.scenario_changes_sentence({}) == "No scenario was run."
    assert text.scenario_changes_sentence({"s": same}) == \
        "Of the 1 scenarios, 0 change at least one headline number as printed; `s` changes none."
