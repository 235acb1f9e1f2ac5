"""The audit's results derived from the published numbers alone are memoised (analysis.memo): the same
values, copies to the caller, and stored for other processes when RR_CACHE names a folder."""
import pandas as pd
import pytest

from analysis import memo
from analysis.paths import TARGETS_FILE
from analysis.synthetic import audit
from analysis.synthetic.targets import load_targets


@pytest.fixture
def stored(tmp_path, monkeypatch):
    monkeypatch.setenv(memo.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(audit, "_MEMO", None)
    return tmp_path / "audit"


def test_memoised_results_equal_computed_ones_and_are_stored(stored, monkeypatch):
    pub = load_targets(TARGETS_FILE)
    pa = audit.audit_paper(pub)
    first = audit.unreachable(pub, pa)
    pd.testing.assert_frame_equal(first, audit._unreachable(pub, pa), check_exact=True)
    assert audit.cox_together(pub) == audit._cox_together(pub)
    assert audit.landmark_patterns(22, 40.4, 20.3, 59.8) == audit._landmark_patterns(22, 40.4, 20.3, 59.8)
    files = sorted(stored.glob("*.pkl"))
    assert len(files) >= 3
    monkeypatch.setattr(audit, "_MEMO", None)  # another process: read from the folder, nothing computed
    monkeypatch.setattr(audit, "_unreachable", lambda *a: pytest.fail("computed again"))
    monkeypatch.setattr(audit, "_landmark_patterns", lambda *a: pytest.fail("computed again"))
    pd.testing.assert_frame_equal(audit.unreachable(pub, pa), first, check_exact=True)
    assert audit.landmark_patterns(22, 40.4, 20.3, 59.8)[0] == "EEEEEEEEEEEEcE"


def test_the_caller_gets_a_copy(stored):
    pub = load_targets(TARGETS_FILE)
    got = audit.unreachable(pub)
    got.loc[:, "lost"] = -1
    assert (audit.unreachable(pub)["lost"] >= 0).all()
    pats = audit.landmark_patterns(22, 40.4, 20.3, 59.8)
    pats.clear()
    assert audit.landmark_patterns(22, 40.4, 20.3, 59.8)


def test_other_published_numbers_are_other_entries(stored):
    pub = load_targets(TARGETS_FILE)
    a = audit.cox_together(pub)
    fewer = pub[~pub["key"].str.startswith("subgroups.cox.ecog_group")].reset_index(drop=True)
    assert audit.cox_together(fewer) == audit._cox_together(fewer) != a
