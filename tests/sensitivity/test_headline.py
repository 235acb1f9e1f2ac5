"""Headline results in one process: a scenario moves only the results its parameters feed, and a
derivation option derives the analysis data set again from the raw tables."""
import pytest

from analysis.data.cohort import load_cohort
from analysis.paths import PARAMS_DIR, SYNTHETIC_DIR
from analysis.sensitivity import headline, scenarios as sc, tables as st


@pytest.fixture(scope="module")
def setup():
    base = sc.load_base(PARAMS_DIR)
    cohort = load_cohort(SYNTHETIC_DIR, headline.derive_options(base["common"]))
    return base, cohort, headline.headline(cohort, base)


def moved(base_nums, nums):
    return {k for k in set(base_nums) | set(nums) if base_nums.get(k, (None, None))[1] != nums.get(k, (None, None))[1]}


@pytest.mark.parametrize("changes, prefix", [
    ({"02-response": {"exclude_not_evaluable": True}}, "response."),
    ({"04-subgroups": {"ties": "efron", "cox_covariates": {"ecog_group": "numeric"}}}, "subgroups.cox."),
    ({"03-survival": {"followup_method": "reverse_km"}}, "survival.followup."),
    ({"04-subgroups": {"p_adjust": "fdr_bh"}}, "subgroups."),
])
def test_a_scenario_moves_only_the_results_it_feeds(setup, changes, prefix):
    base, cohort, base_nums = setup
    nums = headline.headline(cohort, sc.overlay(base, changes))
    assert moved(base_nums, nums) and all(k.startswith(prefix) for k in moved(base_nums, nums))


def test_fdr_moves_adjusted_p_values_only(setup):
    base, cohort, base_nums = setup
    nums = headline.headline(cohort, sc.overlay(base, {"04-subgroups": {"p_adjust": "fdr_bh"}}))
    assert all(k.endswith(".p_adjusted") for k in moved(base_nums, nums))


def test_a_derivation_option_rederives_from_the_raw_tables(setup):
    base, cohort, _ = setup
    params = sc.overlay(base, {"common": {"days_per_month": 30.4375}})
    direct = load_cohort(SYNTHETIC_DIR, headline.derive_options(params["common"]))
    assert headline.headline(cohort, params) == headline.headline(direct, params)


def test_the_cache_gives_what_a_fresh_computation_gives(setup):
    base, cohort, base_nums = setup
    cache = {}
    params = sc.overlay(base, {"04-subgroups": {"cox_selection": "univariable"}, "common": {"pfs_censor": "last_assessment"}})
    headline.headline(cohort, base, cache)
    assert headline.headline(cohort, params, cache) == headline.headline(cohort, params)


def test_landmark_leaves_out_early_deaths_from_survival_and_cox(setup):
    base, cohort, base_nums = setup
    nums = headline.headline(cohort, sc.overlay(base, {"03-survival": {"exclude_deaths_within": 3},
                                                       "04-subgroups": {"exclude_deaths_within": 3}}))
    early = int(((cohort.analysis.os_event == 1) & (cohort.analysis.os_months < 3)).sum())
    assert early > 0 and nums["subgroups.cox.events"][0] == base_nums["subgroups.cox.events"][0] - early
    assert nums["response.orr.pct"] == base_nums["response.orr.pct"]


def test_every_default_scenario_runs_and_the_table_marks_changes(setup):
    base, cohort, _ = setup
    named = sc.load_scenarios(PARAMS_DIR / sc.SCENARIOS_FILE, base)
    results = st.evaluate(cohort, base, named)
    comps = st.comparisons(results)
    table = st.scenario_table(results, comps).set_index("Scenario")
    assert "**" not in "".join(table.iloc[0].astype(str)[1:]), "the base row marks nothing"
    ne = table.loc["ne-excluded"]
    assert ne.iloc[0].startswith("**") and not ne.iloc[1].startswith("**")
    assert table.loc["efron-ties"].iloc[-1] == str(int((comps["efron-ties"].status != "same").sum()))


def test_a_cox_covariate_with_one_level_is_left_out_and_the_rest_fitted(setup):
    """Valid but unusual data (every patient ECOG 0-1): the ECOG term is left out of the Cox model, as
    R's coxph drops it; the other terms keep their numbers; the rest as usual, no crash."""
    import dataclasses

    base, cohort, base_nums = setup
    a = cohort.analysis.assign(ecog_group="ecog_0_1", ecog=1)
    odd = dataclasses.replace(cohort, analysis=a)
    nums = headline.headline(odd, base)
    assert not any(k.startswith("subgroups.cox.ecog_group.") for k in nums)
    assert "subgroups.cox.platinum_response.hr" in nums
    assert nums["response.orr.pct"] == base_nums["response.orr.pct"]


def test_a_cox_model_the_data_cannot_fit_leaves_its_numbers_out(setup):
    """No death at all: no Cox model, so no Cox numbers; the rest as usual, no crash."""
    import dataclasses

    base, cohort, base_nums = setup
    odd = dataclasses.replace(cohort, analysis=cohort.analysis.assign(os_event=False))
    nums = headline.headline(odd, base)
    assert not any(k.startswith("subgroups.cox.") for k in nums)
    assert nums["response.orr.pct"] == base_nums["response.orr.pct"]




def test_undefined_estimates_match_their_null_in_numbers_yaml(tmp_path):
    """A cohort nobody progressed or died in: medians, follow-up bounds and the Cox model are undefined
    (NaN in memory, null in numbers.yaml); the self-check counts no mismatch (it counted 2-20 on such
    cohorts), and the scenario table prints no "None"."""
    import sys

    import yaml

    from analysis.paths import PROJ_ROOT
    from analysis.report.results import _plain, flatten

    sys.path.insert(0, str(PROJ_ROOT / "tests"))
    import unusual_cohorts as uc

    folder = uc.write(uc.no_adverse_events(uc.one_dose(uc.everyone_censored(uc.shipped()))), tmp_path / "censored")
    base = sc.load_base(PARAMS_DIR)
    cohort = load_cohort(folder, headline.derive_options(base["common"]))
    nums = headline.headline(cohort, base)
    nan_keys = [k for k, (v, _) in nums.items() if isinstance(v, float) and v != v]
    assert nan_keys, "the cohort has undefined estimates"
    # the sections' numbers.yaml: the same values as the results writer stores them (NaN -> null)
    stored = flatten(yaml.safe_load(yaml.safe_dump({k: _plain(v) for k, (v, _) in nums.items()})))
    assert all(stored[k] is None for k in nan_keys)
    assert headline.check_against_sections(nums, stored) == []
    named = sc.load_scenarios(PARAMS_DIR / sc.SCENARIOS_FILE, base)
    results = st.evaluate(cohort, base, named)
    table = st.scenario_table(results, st.comparisons(results))
    assert "None" not in table.to_csv() and "nan" not in table.to_csv().lower()
    assert "None" not in st.scenario_list(named).to_csv()
