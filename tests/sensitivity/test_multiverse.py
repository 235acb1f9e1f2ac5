"""The multiverse: at least 64 specifications of the default choices, deterministic, and the share of
specifications in which each conclusion holds."""
import pandas as pd
import pytest

from analysis.data.cohort import load_cohort
from analysis.paths import PARAMS_DIR, SYNTHETIC_DIR
from analysis.sensitivity import headline, multiverse as mv, scenarios as sc


@pytest.fixture(scope="module")
def setup():
    base = sc.load_base(PARAMS_DIR)
    cohort = load_cohort(SYNTHETIC_DIR, headline.derive_options(base["common"]))
    p7 = base["07-sensitivity"]
    return base, cohort, mv.parse_choices(p7["multiverse"], base), mv.parse_conclusions(p7["conclusions"])


def test_the_default_multiverse_has_at_least_six_choices_and_64_specifications(setup):
    base, cohort, choices, _ = setup
    assert len(choices) >= 6
    assert len(mv.specifications(choices)) == 2 ** len(choices) >= 64


def test_the_multiverse_is_deterministic(setup):
    """Two runs (fresh caches) give the same frame, row for row, value for value."""
    base, cohort, choices, _ = setup
    first = mv.run(cohort, base, choices)
    second = mv.run(cohort, base, choices)
    pd.testing.assert_frame_equal(first, second, check_exact=True)
    assert first["spec"].tolist() == list(range(1, len(first) + 1))


def test_the_first_specification_is_the_base(setup):
    base, cohort, choices, _ = setup
    frame = mv.run(cohort, base, choices[:2])
    nums = headline.headline(cohort, base)
    row = frame.iloc[0]
    assert all(row[k] == v for k, (v, _) in nums.items() if v is not None)


def test_conclusion_shares_on_a_hand_made_multiverse():
    choices = [mv.Choice("Ties", (("Breslow", {}), ("Efron", {}))), mv.Choice("Month", (("30", {}), ("30.4", {})))]
    frame = pd.DataFrame({"spec": [1, 2, 3, 4], "Ties": ["Breslow", "Breslow", "Efron", "Efron"],
                          "Month": ["30", "30.4", "30", "30.4"], "x.p": [0.01, 0.02, 0.2, None]})
    claims = [mv.Conclusion("X matters", "x.p", "< 0.05"), mv.Conclusion("Y", "y.p", "< 0.05")]
    sh = mv.conclusion_shares(frame, claims, choices).set_index("claim")
    assert (sh.loc["X matters", "n"], sh.loc["X matters", "k"], sh.loc["X matters", "missing"]) == (3, 2, 1)
    assert sh.loc["X matters", "share|Ties|Breslow"] == 1.0 and sh.loc["X matters", "share|Ties|Efron"] == 0.0
    assert (sh.loc["Y", "n"], sh.loc["Y", "missing"]) == (0, 4)


def test_a_bad_choice_or_conclusion_is_named(setup):
    base = setup[0]
    with pytest.raises(sc.ScenarioError, match="Ties.*04-subgroups.tie"):
        mv.parse_choices([{"choice": "Ties", "options": {"a": {}, "b": {"04-subgroups": {"tie": "efron"}}}}], base)
    with pytest.raises(sc.ScenarioError, match="two labels"):
        mv.parse_choices([{"choice": "Ties", "options": {"a": {}}}], base)
    with pytest.raises(sc.ScenarioError, match="holds must read like"):
        mv.parse_conclusions([{"claim": "c", "key": "k", "holds": "about 0.05"}])


def test_an_option_means_what_its_label_says_around_a_base_of_ones_own(tmp_path):
    """A params folder with Efron ties and univariable selection: the options labelled "Breslow" and "paper's five"
    (written {} in params/07-sensitivity.yaml, the paper's choices) set Breslow ties and the paper's covariates, not
    the base's Efron and univariable selection; around the project's defaults they equal the base."""
    (tmp_path / "04-subgroups.yaml").write_text("ties: efron\ncox_selection: univariable\n", encoding="utf-8")
    mine = sc.load_base(tmp_path)
    defaults = sc.load_base(PARAMS_DIR)
    choices = {c.name: dict(c.options) for c in mv.parse_choices(defaults["07-sensitivity"]["multiverse"], mine,
                                                                   defaults=defaults)}
    assert sc.overlay(mine, choices["Cox ties"]["Breslow"])["04-subgroups"]["ties"] == "breslow"
    assert sc.overlay(mine, choices["Cox ties"]["Efron"])["04-subgroups"]["ties"] == "efron"
    assert sc.overlay(mine, choices["Cox covariates"]["paper's five"])["04-subgroups"]["cox_selection"] == "paper"
    around_defaults = mv.parse_choices(defaults["07-sensitivity"]["multiverse"], defaults, defaults=defaults)
    for c in around_defaults:
        assert sc.overlay(defaults, c.options[0][1]) == defaults, c.name
