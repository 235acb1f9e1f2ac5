"""The published targets file: complete for the key scheme, verbatim, and validated on load."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from analysis.paths import PROJ_ROOT, TARGETS_FILE
from analysis.synthetic.targets import COLUMNS, TargetsError, load_targets, validate

PAPER = PROJ_ROOT.parent / "shared" / "seed" / "000_1018d4b062e8855c.txt"  # beside the repository, when present


@pytest.fixture(scope="module")
def targets():
    return load_targets()


def _value(t, key):
    rows = t[(t.key == key) & (t.kind != "bound")]
    assert len(rows) >= 1, key
    return rows["value"].iloc[0]


def test_loads_with_the_documented_columns(targets):
    assert list(targets.columns) == COLUMNS
    assert len(targets) >= 300
    assert not targets.duplicated(["key", "where"]).any()


@pytest.mark.parametrize("key, value", [
    ("cohort.n", 68), ("cohort.age.median", 61), ("cohort.on_treatment_at_cutoff.n", 11),
    ("cohort.table1.anlotinib_dose_mg.mg10.n", 40), ("cohort.table1.anlotinib_dose_mg.mg10.pct", 58.8),
    ("response.best.PR.n", 22), ("response.orr.pct", 32.4), ("response.orr.lower", 21.5),
    ("response.dcr.upper", 83.5), ("response.best_pct_change.mean", -11.97), ("response.best_pct_change.n", 64),
    ("survival.pfs.median", 5.6), ("survival.pfs.lower", 3.87), ("survival.pfs.upper", 7.33),
    ("survival.pfs.events", 49), ("survival.pfs.events_pct", 72.1), ("survival.pfs.rate_24.lower", 1.0),
    ("survival.pfs_by_dose.mg12.lower", 0.0), ("survival.pfs_by_dose.p", 0.136),
    ("survival.os.median", 13.2), ("survival.os.rate_30.estimate", 27.6), ("survival.dor.lower", 0.8),
    ("survival.followup.max", 31.5),
    ("subgroups.ecog_group.p", 0.021), ("subgroups.ici_agent.adebrelimab.upper", 15.38),
    ("subgroups.cox.prior_ici_failure.hr", 1.41), ("subgroups.cox.anlotinib_dose_mg.p", 0.515),
    ("safety.any.any_n", 61), ("safety.fatigue.grade3plus_pct", 13.3), ("safety.rash.grade3plus_n", 0),
])
def test_hand_checked_values(targets, key, value):
    assert _value(targets, key) == pytest.approx(value)


def test_key_scheme_is_complete(targets):
    keys = set(targets.key)
    table1 = {"age_group": ["gt_cut", "le_cut"], "sex": ["male", "female"], "ecog_group": ["ecog_0_1", "ecog_2"],
              "stage": ["extensive"], "smoking": ["never", "former"],
              "prior_lines_group": ["first_line", "second_or_more"], "platinum_response": ["sensitive", "resistant"],
              "interim_systemic_therapy": ["no", "yes"], "brain_metastasis": ["yes", "no"],
              "prior_ici_class": ["pd1", "pdl1"], "prior_ici_failure": ["progression", "intolerance"],
              "radiotherapy": ["yes", "no"], "anlotinib_dose_mg": ["mg8", "mg10", "mg12"],
              "ici_agent": ["tislelizumab", "serplulimab", "atezolizumab", "adebrelimab"]}
    expected = set()
    for var, levels in table1.items():
        for lv in levels:
            expected |= {f"cohort.table1.{var}.{lv}.n", f"cohort.table1.{var}.{lv}.pct"}
            if var != "stage":
                expected |= {f"subgroups.{var}.{lv}.{s}" for s in ("median", "lower", "upper")}
        if var != "stage":
            expected.add(f"subgroups.{var}.p")
    for var in ("ecog_group", "platinum_response", "prior_ici_class", "prior_ici_failure", "anlotinib_dose_mg"):
        expected |= {f"subgroups.cox.{var}.{s}" for s in ("hr", "lower", "upper", "p")}
    for term in ("fatigue", "nausea_vomiting", "hypertension", "hematologic_toxicity", "liver_function_abnormality",
                 "anorexia", "hand_foot_syndrome", "pneumonia", "rash"):
        expected |= {f"safety.{term}.{c}" for c in ("any_n", "any_pct", "grade12_n", "grade12_pct",
                                                     "grade3plus_n", "grade3plus_pct")}
    for ep, rates in (("dor", (12, 20)), ("pfs", (12, 24)), ("os", (24, 30))):
        expected |= {f"survival.{ep}.{s}" for s in ("median", "lower", "upper")}
        expected |= {f"survival.{ep}.rate_{m}.{s}" for m in rates for s in ("estimate", "lower", "upper")}
    assert not expected - keys, sorted(expected - keys)


def test_conflicting_values_are_both_recorded(targets):
    second = targets[targets.key == "cohort.table1.prior_lines_group.second_or_more.pct"]
    assert sorted(second["value"]) == [64.7, 65.7]
    assert second["conflict_with"].notna().all()
    adeb = targets[targets.key.str.startswith("cohort.table1.ici_agent.adebrelimab.")]
    assert set(adeb["value"]) == {11, 16.1} and adeb["conflict_with"].notna().all()


def test_bounds_are_strings(targets):
    b = targets[targets.kind == "bound"]
    assert len(b) >= 1 and all(isinstance(v, str) for v in b["value"])


@pytest.mark.skipif(not PAPER.exists(), reason="paper full text not available")
def test_every_quote_is_verbatim(targets):
    norm = lambda s: re.sub(r"\s+", " ", s)  # noqa: E731
    paper = norm(PAPER.read_text(encoding="utf-8"))
    missing = [(k, q) for k, q in zip(targets.key, targets.text) if norm(q) not in paper]
    assert not missing


def _raw():
    with open(TARGETS_FILE, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def test_wrong_decimals_is_reported_with_the_entry():
    raw = _raw()
    i = next(i for i, e in enumerate(raw) if e["key"] == "survival.pfs.lower")
    raw[i]["decimals"] = 1
    with pytest.raises(TargetsError, match=r"survival\.pfs\.lower"):
        validate(raw)


def test_value_not_in_quote_is_reported():
    raw = _raw()
    i = next(i for i, e in enumerate(raw) if e["key"] == "survival.os.median")
    raw[i]["value"] = 13.3
    with pytest.raises(TargetsError, match=r"survival\.os\.median.*does not appear"):
        validate(raw)


def test_unknown_unit_and_duplicates_are_rejected():
    raw = _raw()
    raw[0]["unit"] = "weeks"
    with pytest.raises(TargetsError, match="unknown unit 'weeks'"):
        validate(raw)
    raw = _raw()
    raw.append(dict(raw[0]))
    with pytest.raises(TargetsError, match="duplicates entry #1"):
        validate(raw)


def test_percent_outside_0_100_is_rejected():
    raw = _raw()
    raw.append({"key": "response.extra.pct", "value": 132.4, "decimals": 1, "unit": "percent",
                "where": "nowhere", "text": "132.4"})
    with pytest.raises(TargetsError, match=r"response\.extra\.pct.*outside 0-100"):
        validate(raw)


def test_no_p_below_0_20_target_for_prior_ici_class_or_dose():
    """"(P < 0.20 in univariate analysis)" qualifies platinum response only (Table 2: 0.736 and 0.497 for the
    other two); the calibration keeps the two removed entries so that make calibrate writes the committed cohort."""
    from analysis.synthetic.targets import CALIBRATED_WITH_REMOVED, calibration_targets

    t = load_targets()
    bounds = t[t["kind"] == "bound"].set_index("key")["value"]
    assert bounds.get("subgroups.platinum_response.p") == "<0.20"
    assert "subgroups.prior_ici_class.p" not in bounds and "subgroups.anlotinib_dose_mg.p" not in bounds
    c = calibration_targets()
    assert len(c) == len(t) + len(CALIBRATED_WITH_REMOVED) == 315
    at = c.index[c["key"] == "subgroups.platinum_response.p"].max()
    assert c.loc[at + 1, "key"] == "subgroups.prior_ici_class.p" and c.loc[at + 2, "key"] == "subgroups.anlotinib_dose_mg.p"
