"""The stored memo of the headline parts (RR_CACHE, analysis.memo): the same bits as computing them, keyed by
the cohort and the options, and computed once across processes."""
import dataclasses

import pandas as pd
import pytest

from analysis import memo
from analysis.data.cohort import load_cohort
from analysis.paths import PARAMS_DIR, SYNTHETIC_DIR
from analysis.sensitivity import headline, multiverse as mv, scenarios as sc


@pytest.fixture(scope="module")
def setup():
    base = sc.load_base(PARAMS_DIR)
    cohort = load_cohort(SYNTHETIC_DIR, headline.derive_options(base["common"]))
    return base, cohort, mv.parse_choices(base["07-sensitivity"]["multiverse"], base)


def test_without_a_folder_the_memo_is_a_plain_dict(setup, monkeypatch):
    monkeypatch.delenv(memo.CACHE_ENV, raising=False)
    assert type(headline.memo_for(setup[1])) is dict


def test_stored_parts_give_the_multiverse_bit_for_bit_and_are_not_computed_again(setup, tmp_path, monkeypatch):
    base, cohort, choices = setup
    fresh = mv.run(cohort, base, choices)
    first = headline.memo_for(cohort, tmp_path)
    assert isinstance(first, memo.StoredMemo)
    pd.testing.assert_frame_equal(mv.run(cohort, base, choices, cache=first), fresh, check_exact=True)
    stored = sorted((tmp_path / "headline").glob("*.pkl"))
    assert stored and not list((tmp_path / "headline").glob(".*.tmp"))
    for name in ("_response", "_survival", "_subgroup_table", "_cox"):  # a second process computes nothing
        monkeypatch.setattr(headline, name, lambda *a, **k: pytest.fail("a stored part was computed again"))
    again = mv.run(cohort, base, choices, cache=headline.memo_for(cohort, tmp_path))
    pd.testing.assert_frame_equal(again, fresh, check_exact=True)
    assert sorted((tmp_path / "headline").glob("*.pkl")) == stored


def test_another_cohort_or_other_options_use_other_entries(setup, tmp_path):
    base, cohort, _ = setup
    memo = headline.memo_for(cohort, tmp_path)
    headline.headline(cohort, base, memo)
    n = len(list((tmp_path / "headline").glob("*.pkl")))
    fewer = dataclasses.replace(cohort, patients=cohort.patients.iloc[:-1], analysis=cohort.analysis.iloc[:-1])
    assert headline.memo_for(fewer, tmp_path).context != memo.context
    other = headline.memo_for(fewer, tmp_path)
    got = headline.headline(fewer, base, other)
    assert got == headline.headline(fewer, base)  # not the 68-patient parts
    assert len(list((tmp_path / "headline").glob("*.pkl"))) == 2 * n


def test_an_unreadable_stored_part_is_computed(setup, tmp_path):
    base, cohort, _ = setup
    headline.headline(cohort, base, headline.memo_for(cohort, tmp_path))
    for f in (tmp_path / "headline").glob("*.pkl"):
        f.write_bytes(b"not a pickle")
    assert headline.headline(cohort, base, headline.memo_for(cohort, tmp_path)) == headline.headline(cohort, base)
