"""Covariate selection of the Cox model (cox_selection): the paper's list, the univariable rule, all."""
import pandas as pd
import pytest

from analysis.stats.selection import select_covariates

SUB = pd.DataFrame({
    "variable": ["ecog_group"] * 2 + ["sex"] * 2 + ["anlotinib_dose_mg"] * 3 + ["ici_agent"] * 4 + ["stage_one"],
    "level": ["ecog_0_1", "ecog_2", "male", "female", "mg8", "mg10", "mg12", "a", "b", "c", "d", "only"],
    "p": [0.021] * 2 + [0.6] * 2 + [0.049] * 3 + [0.01] * 4 + [float("nan")],
})
PAPER = {"ecog_group": "ecog_2", "prior_ici_failure": "intolerance"}


def test_paper_keeps_the_given_covariates():
    assert select_covariates(SUB, PAPER, "paper") == (PAPER, [])


def test_univariable_takes_the_variables_below_the_threshold_with_their_coding():
    cov, notes = select_covariates(SUB, PAPER, "univariable", 0.05, numeric={"anlotinib_dose_mg"})
    assert cov == {"ecog_group": "ecog_2", "anlotinib_dose_mg": "numeric"}
    assert notes == ["ici_agent left out: 4 levels and no measurement to enter as one term"]
    assert select_covariates(SUB, PAPER, "univariable", 0.03, numeric={"anlotinib_dose_mg"})[0] == {"ecog_group": "ecog_2"}


def test_all_codes_a_two_level_variable_against_its_last_level_and_skips_one_level():
    cov, notes = select_covariates(SUB, PAPER, "all", numeric={"anlotinib_dose_mg"})
    assert cov == {"ecog_group": "ecog_2", "sex": "female", "anlotinib_dose_mg": "numeric"}
    assert any(n.startswith("stage_one left out: 1 level ") for n in notes)


@pytest.mark.parametrize("selection, p_max", [("stepwise", 0.05), ("univariable", 0), ("univariable", True)])
def test_bad_options_are_named(selection, p_max):
    with pytest.raises(ValueError, match="cox_select"):
        select_covariates(SUB, PAPER, selection, p_max)
