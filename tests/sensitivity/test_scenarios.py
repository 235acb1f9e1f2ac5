"""Scenarios as overlays on the params folder: a scenario changes only what it names; every bad
scenario stops with one line naming the file, the scenario and the key."""
import shutil
import subprocess
import sys

import pytest
import yaml

from analysis.paths import PARAMS_DIR, PROJ_ROOT
from analysis.sensitivity import scenarios as sc


@pytest.fixture
def base():
    return sc.load_base(PARAMS_DIR)


def write_scenarios(tmp_path, entries):
    f = tmp_path / "sensitivity.yaml"
    f.write_text(yaml.safe_dump({"scenarios": entries}, sort_keys=False), encoding="utf-8")
    return f


def test_the_default_scenarios_are_valid_and_cover_every_switch(base):
    named = sc.load_scenarios(PARAMS_DIR / sc.SCENARIOS_FILE, base)
    keys = {k.split(".", 1)[1] for s in named for k in s.keys()}
    switches = {"median_ci", "days_per_month", "ties", "exclude_not_evaluable", "pfs_censor", "followup_method",
                "ci_method", "cox_covariates", "p_adjust", "age_cut", "cox_selection", "exclude_deaths_within"}
    assert switches <= keys, switches - keys
    covs = [s.changes["04-subgroups"]["cox_covariates"] for s in named if "cox_covariates" in s.changes.get("04-subgroups", {})]
    assert {"ecog_group", "anlotinib_dose_mg"} <= {k for c in covs for k in c}
    assert {s.changes["04-subgroups"]["cox_selection"] for s in named
            if "cox_selection" in s.changes.get("04-subgroups", {})} == {"univariable", "all"}
    assert all(s.rationale and "\n" not in s.rationale for s in named)


def test_a_scenario_changes_only_what_it_names(tmp_path, base):
    """The written params folder (every section, complete) equals the base except the named keys; a
    mapping is merged key by key."""
    s = sc.Scenario("ecog-numeric", "why", {"04-subgroups": {"cox_covariates": {"ecog_group": "numeric"},
                                                            "ties": "efron"}})
    written = sc.write_params(PARAMS_DIR, s, tmp_path / "params")
    assert sorted(f.name for f in written) == sorted(f.name for f in PARAMS_DIR.glob("*.yaml"))
    assert sc.load_scenarios(tmp_path / "params" / sc.SCENARIOS_FILE, sc.load_base(tmp_path / "params")) == [], \
        "a scenario's own report runs no named scenarios (adding one leaves the others' reports as they are)"
    new = sc.load_base(tmp_path / "params")
    changed = {(sec, k) for sec in base for k in set(base[sec]) | set(new[sec]) if base[sec].get(k) != new[sec].get(k)}
    assert changed == {("04-subgroups", "cox_covariates"), ("04-subgroups", "ties")}
    assert new["04-subgroups"]["cox_covariates"] == {**base["04-subgroups"]["cox_covariates"], "ecog_group": "numeric"}
    assert not sc.write_params(PARAMS_DIR, s, tmp_path / "params"), "a second write rewrites nothing"


def test_overlay_does_not_touch_the_base(base):
    before = yaml.safe_dump(base)
    sc.overlay(base, {"common": {"days_per_month": 30.4375}, "04-subgroups": {"cox_covariates": {"sex": "female"}}})
    assert yaml.safe_dump(base) == before


@pytest.mark.parametrize("entry, words", [
    ({"name": "x", "rationale": "r", "set": {"04-subgroups": {"tie": "efron"}}}, ["'x'", "04-subgroups.tie", "unknown parameter"]),
    ({"name": "x", "rationale": "r", "set": {"common": {"median_ci": "log"}}}, ["'x'", "common.median_ci", "03-survival"]),
    ({"name": "x", "rationale": "r", "set": {"09-nothing": {"a": 1}}}, ["'x'", "unknown section", "09-nothing"]),
    ({"name": "x", "rationale": "r", "set": {"03-survival": {"median_ci": "bogus"}}}, ["'x'", "03-survival.median_ci", "bogus"]),
    ({"name": "x", "rationale": "r", "set": {"common": {"days_per_month": 45}}}, ["'x'", "common.days_per_month"]),
    ({"name": "x", "rationale": "r", "set": {"common": {"age_cut": "old"}}}, ["'x'", "common.age_cut", "number"]),
    ({"name": "x", "rationale": "r", "set": {"04-subgroups": {"cox_covariates": {"ecog_group": "ecog_9"}}}},
     ["'x'", "04-subgroups.cox_covariates", "ecog_9"]),
    ({"name": "x", "rationale": "r", "set": {"04-subgroups": {"cox_selection": "stepwise"}}}, ["'x'", "cox_selection"]),
    ({"name": "Bad Name", "rationale": "r", "set": {"common": {"age_cut": 65}}}, ["#1", "Bad Name"]),
    ({"name": "x", "set": {"common": {"age_cut": 65}}}, ["'x'", "rationale"]),
    ({"name": "x", "rationale": "r", "set": {"common": {"age_cut": 65}}, "sett": 1}, ["'x'", "sett"]),
])
def test_a_bad_scenario_is_named_with_its_key(tmp_path, base, entry, words):
    f = write_scenarios(tmp_path, [entry])
    with pytest.raises(sc.ScenarioError) as exc:
        sc.load_scenarios(f, base)
    msg = str(exc.value)
    assert str(f) in msg
    for w in words:
        assert w in msg, (w, msg)


def test_two_scenarios_with_one_name_are_an_error(tmp_path, base):
    e = {"name": "twice", "rationale": "r", "set": {"04-subgroups": {"ties": "efron"}}}
    with pytest.raises(sc.ScenarioError, match="'twice' is defined twice"):
        sc.load_scenarios(write_scenarios(tmp_path, [e, e]), base)


def test_the_command_line_stops_in_one_line_without_traceback(tmp_path):
    f = write_scenarios(tmp_path, [{"name": "x", "rationale": "r", "set": {"04-subgroups": {"tie": "efron"}}}])
    proc = subprocess.run([sys.executable, "-m", "analysis.sensitivity.scenarios", "write", str(f), "--params",
                           str(PARAMS_DIR), "--out", str(tmp_path / "out")], capture_output=True, text=True, cwd=PROJ_ROOT)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
    assert str(f) in proc.stderr and "'x'" in proc.stderr and "04-subgroups.tie" in proc.stderr
    assert not (tmp_path / "out").exists(), "nothing is written before every scenario is valid"


def test_the_command_line_writes_each_scenarios_params_folder(tmp_path):
    params = tmp_path / "params"
    shutil.copytree(PARAMS_DIR, params)
    f = write_scenarios(tmp_path, [{"name": "efron", "rationale": "R's default", "set": {"04-subgroups": {"ties": "efron"}}}])
    run = lambda: subprocess.run([sys.executable, "-m", "analysis.sensitivity.scenarios", "write", str(f), "--params",  # noqa: E731
                                  str(params), "--out", str(tmp_path / "out")], capture_output=True, text=True, cwd=PROJ_ROOT)
    assert run().returncode == 0
    assert yaml.safe_load((tmp_path / "out" / "efron" / "params" / "04-subgroups.yaml").read_text())["ties"] == "efron"
    assert yaml.safe_load((tmp_path / "out" / "rationales.yaml").read_text()) == {"efron": "R's default"}
    second = run()
    assert second.returncode == 0 and second.stdout == "", "a second write is a no-op"


def test_a_reference_level_for_a_variable_of_more_than_two_levels_is_refused_up_front(tmp_path):
    """cox_covariates: {smoking: never} would stop notebook 04 (one indicator cannot code three levels):
    the params check names the file, the variable and what to use instead, before any notebook runs."""
    from analysis.paths import PARAMS_DIR
    from analysis.sensitivity.scenarios import ScenarioError, load_base

    params = tmp_path / "params"
    shutil.copytree(PARAMS_DIR, params)
    f = params / "04-subgroups.yaml"
    text = f.read_text(encoding="utf-8").replace("  ecog_group: ecog_2\n", "  ecog_group: ecog_2\n  smoking: never\n")
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"04-subgroups.yaml:\d+:\d+: .*cox_covariates.smoking: a reference level codes a "
                                            r"two-level variable.*use null"):
        load_base(params)


def test_a_yaml_error_in_the_scenarios_file_gives_file_line_and_column(tmp_path, base):
    f = tmp_path / "sensitivity.yaml"
    f.write_text("scenarios:\n  - name: x\n    rationale: r\n   set: {common: {age_cut: 65}}\n", encoding="utf-8")
    with pytest.raises(sc.ScenarioError) as exc:
        sc.load_scenarios(f, base)
    assert str(exc.value).startswith(f"{f}:4:4: not valid YAML"), str(exc.value)


def test_an_unknown_parameter_in_a_scenario_gives_its_line_and_column(tmp_path, base):
    f = tmp_path / "sensitivity.yaml"
    f.write_text("scenarios:\n  - name: x\n    rationale: r\n    set:\n      04-subgroups: {tie: efron}\n",
                 encoding="utf-8")
    with pytest.raises(sc.ScenarioError) as exc:
        sc.load_scenarios(f, base)
    assert str(exc.value).startswith(f"{f}:5:22: scenario 'x': unknown parameter '04-subgroups.tie'"), str(exc.value)
