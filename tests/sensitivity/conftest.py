"""Hand-made results folders for the comparison and verify tests."""
import pytest
import yaml


def make_results(root, numbers, variables):
    """A hand-made output root: results/<section>/numbers.yaml and variables.yaml."""
    for section in numbers:
        d = root / "results" / section
        d.mkdir(parents=True)
        (d / "numbers.yaml").write_text(yaml.safe_dump(numbers[section]), encoding="utf-8")
        (d / "variables.yaml").write_text(yaml.safe_dump(variables[section]), encoding="utf-8")
    return root


@pytest.fixture
def folders(tmp_path):
    base = make_results(tmp_path / "base",
                        {"02-response": {"response": {"orr": {"pct": 32.35, "ci": None}, "method": "exact"}},
                         "01-cohort": {"cohort": {"n": 68, "git_commit": "abc"}}},
                        {"02-response": {"response": {"orr": {"pct": "32.4", "ci": "21.5–44.8"}, "method": "exact"}},
                         "01-cohort": {"cohort": {"n": "68", "git_commit": "abc"}}})
    other = make_results(tmp_path / "other",
                         {"02-response": {"response": {"orr": {"pct": 32.36, "ci": None}, "method": "wilson",
                                                       "extra": 1.0}},
                          "01-cohort": {"cohort": {"n": 68, "git_commit": "def"}}},
                         {"02-response": {"response": {"orr": {"pct": "32.4", "ci": "22.4–44.2"}, "method": "wilson",
                                                       "extra": "1.0"}},
                          "01-cohort": {"cohort": {"n": "68", "git_commit": "def"}}})
    return base, other


