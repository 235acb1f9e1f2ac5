"""Params folders are overlays on params/: partial and older folders build, errors name file, line, column."""
import shutil
import subprocess
import sys

import pytest
import yaml

from analysis.paths import PARAMS_DIR, PROJ_ROOT
from analysis.report import params as P
from analysis.sensitivity import scenarios as sc


def test_a_folder_with_only_one_changed_parameter_gives_the_defaults_elsewhere(tmp_path):
    (tmp_path / "04-subgroups.yaml").write_text("ties: efron\n", encoding="utf-8")
    merged = P.merged_params("04-subgroups", tmp_path)
    defaults = P.merged_params("04-subgroups", PARAMS_DIR)
    assert merged == {**defaults, "ties": "efron"}
    assert P.merged_params("03-survival", tmp_path) == P.merged_params("03-survival", PARAMS_DIR)
    assert [(d.key, d.default, d.value) for d in P.params_diff(tmp_path)] == [("04-subgroups.ties", "breslow", "efron")]


def test_an_older_folder_without_newer_parameters_and_files_still_loads(tmp_path):
    old = tmp_path / "params-old"
    shutil.copytree(PARAMS_DIR, old)
    (old / "07-sensitivity.yaml").unlink()
    sub = yaml.safe_load((old / "04-subgroups.yaml").read_text(encoding="utf-8"))
    for k in ("cox_selection", "cox_select_p"):
        sub.pop(k)
    (old / "04-subgroups.yaml").write_text(yaml.safe_dump(sub), encoding="utf-8")
    base = sc.load_base(old)
    assert base == sc.load_base(PARAMS_DIR)
    # the shipped scenarios (cox-univariable sets cox_selection) are valid over the old folder
    assert len(sc.load_scenarios(PARAMS_DIR / sc.SCENARIOS_FILE, base)) >= 16


def test_a_mapping_is_merged_key_by_key(tmp_path):
    (tmp_path / "04-subgroups.yaml").write_text("cox_covariates: {ecog_group: numeric}\n", encoding="utf-8")
    cov = P.merged_params("04-subgroups", tmp_path)["cox_covariates"]
    assert cov["ecog_group"] == "numeric" and cov["anlotinib_dose_mg"] == "numeric" and len(cov) == 5


@pytest.mark.parametrize("file, text, expected", [
    ("04-subgroups.yaml", "ties: efron\ntie: breslow\n", "04-subgroups.yaml:2:1: unknown parameter 'tie'"),
    ("03-survival.yaml", "days_per_month: 30.4375\n", "03-survival.yaml:1:1: unknown parameter 'days_per_month'; "
                                                       "it is set in common.yaml"),
    ("04-subgroups.yaml", "ties: efron\nmedian_ci: bogus\n", "04-subgroups.yaml:2:1: invalid value"),
    ("04-subgroups.yaml", "ties: [efron\n", "04-subgroups.yaml:2:1: not valid YAML"),
    ("04-subgroups.yaml", "ties: efron\n  x: 1\n", "04-subgroups.yaml:2:4: not valid YAML"),
    ("08-extra.yaml", "a: 1\n", "08-extra.yaml: not a params file of this project"),
    ("04-subgroups.yaml", "ties: 3\n", "04-subgroups.yaml:1:1: ties must be a text"),
])
def test_an_error_names_the_file_line_and_column(tmp_path, file, text, expected):
    (tmp_path / file).write_text(text, encoding="utf-8")
    with pytest.raises(P.ParamsError) as err:
        P.load_params(tmp_path)
    assert str(err.value).startswith(f"{tmp_path}/{expected}"), str(err.value)
    assert "\n" not in str(err.value)


def test_an_unknown_key_in_the_users_folder_is_blamed_on_that_file_not_the_scenarios(tmp_path):
    (tmp_path / "04-subgroups.yaml").write_text("cox_selectoin: all\n", encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "analysis.sensitivity.scenarios", "check",
                        str(PARAMS_DIR / "sensitivity.yaml"), "--params", str(tmp_path)],
                       capture_output=True, text=True, cwd=PROJ_ROOT)
    assert r.returncode == 2
    assert r.stderr.startswith(f"error: {tmp_path}/04-subgroups.yaml:1:1: unknown parameter 'cox_selectoin'")
    assert "sensitivity.yaml" not in r.stderr and "Traceback" not in r.stderr


def test_params_diff_prints_what_differs(tmp_path):
    (tmp_path / "common.yaml").write_text("days_per_month: 30.4375\n", encoding="utf-8")
    (tmp_path / "04-subgroups.yaml").write_text("cox_covariates: {ecog_group: numeric}\n", encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "analysis.report.params", "diff", str(tmp_path)],
                       capture_output=True, text=True, cwd=PROJ_ROOT)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "2 parameter(s) differ" in lines[0]
    assert any("common.days_per_month" in x and "30 -> 30.4375" in x for x in lines)
    assert any("04-subgroups.cox_covariates.ecog_group" in x and "ecog_2 -> numeric" in x for x in lines)


def test_the_runner_receives_the_merged_parameters_and_writes_nothing_into_the_folder(tmp_path):
    from analysis.report.runner import main  # noqa: F401  (the option exists)

    (tmp_path / "04-subgroups.yaml").write_text("ties: efron\n", encoding="utf-8")
    before = sorted(p.name for p in tmp_path.iterdir())
    merged = P.merged_params("04-subgroups", tmp_path)
    assert merged["ties"] == "efron" and merged["days_per_month"] == 30
    assert sorted(p.name for p in tmp_path.iterdir()) == before
