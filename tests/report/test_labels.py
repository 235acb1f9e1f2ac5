"""Supplement tables label published numbers in words a reader understands, never by result key."""
import re

import pytest

from analysis.report.labels import number_label
from analysis.synthetic.targets import load_targets
from analysis.paths import PROJ_ROOT

KEY_LIKE = re.compile(r"_|[a-z]\.[a-z]|\b(?:pct|gt_cut|le_cut|grade12|ecog_2|mg\d+)\b")


@pytest.fixture(scope="module")
def keys():
    return sorted(set(load_targets(PROJ_ROOT / "data" / "published_targets.yaml")["key"]))


def test_no_label_of_a_published_number_is_its_result_key(keys):
    bad = {k: number_label(k) for k in keys if number_label(k) == k or KEY_LIKE.search(number_label(k))}
    assert not bad, bad


def test_labels_are_distinct_for_distinct_keys(keys):
    labels = [number_label(k) for k in keys]
    assert len(set(labels)) == len(labels)


def test_labels_name_variable_level_and_statistic():
    assert number_label("cohort.table1.prior_ici_class.pdl1.pct") == "Type of prior immunotherapy: PD-L1 inhibitors, %"
    assert number_label("survival.pfs_by_dose.mg8.median") == "PFS with 8 mg: median, months"
    assert number_label("safety.any.grade3plus_n") == "Any treatment-related adverse event: grade ≥3, n"
    assert number_label("unknown.some_key") == "Unknown: some key"


def test_scorecard_prints_counts_as_integers_and_cells_uncut():
    import pandas as pd

    from analysis.synthetic import scorecard

    card = pd.DataFrame({"key": ["cohort.n", "survival.os.median"], "where": ["Results, Discussion; " * 6] * 2,
                         "unit": ["count", "months"], "published": [68.0, 13.2], "reproduced": [68, 13.2],
                         "difference": [0.0, 0.0], "status": ["exact", "exact"]})
    _, full = scorecard.display_tables(card, pd.DataFrame({"section": ["all"], "exact": [2]}))
    assert full.loc[0, "Published"] == "68" and full.loc[0, "Reproduced"] == "68"
    assert full.loc[0, "Where in the paper"] == card.loc[0, "where"]  # not cut at 60 characters
    assert full.loc[0, "Published number"] == "Patients analysed, n"
