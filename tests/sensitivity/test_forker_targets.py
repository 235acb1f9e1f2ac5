"""What a forker types: the README's scenario example works when pasted, `make scenarios` lists them,
`make notebook` never writes into the main report, a scenario reuses the sections it leaves unchanged."""
import os
import re
import subprocess

import pytest

from analysis.paths import PARAMS_DIR, PROJ_ROOT
from analysis.sensitivity import reuse, scenarios as sc

ENV = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}


def readme_scenario_example() -> str:
    text = (PROJ_ROOT / "README.md").read_text(encoding="utf-8")
    part = text[text.index("1. **Add a scenario**"):]
    block = re.search(r"```yaml\n(.*?)```", part, re.S).group(1)
    lines = block.splitlines()
    indent = min(len(x) - len(x.lstrip()) for x in lines if x.strip())
    return "\n".join(x[indent:] for x in lines) + "\n"


def test_the_readme_scenario_example_works_when_pasted_into_a_scenarios_file(tmp_path):
    f = tmp_path / "my-scenarios.yaml"
    f.write_text(readme_scenario_example(), encoding="utf-8")
    named = sc.load_scenarios(f, sc.load_base(PARAMS_DIR))
    assert [s.name for s in named] == ["efron-ecog-score"]
    params = sc.overlay(sc.load_base(PARAMS_DIR), named[0].changes)["04-subgroups"]
    assert params["ties"] == "efron" and params["cox_covariates"]["ecog_group"] == "numeric"


def test_make_scenarios_lists_each_with_what_it_sets_and_why():
    r = subprocess.run(["make", "--no-print-directory", "scenarios", "ONLY=efron-ties,dose-per-step"],
                       capture_output=True, text=True, cwd=PROJ_ROOT, env=ENV)
    assert r.returncode == 0, r.stderr
    text = " ".join(r.stdout.split())
    assert "2 scenarios" in text and "04-subgroups.ties = efron" in text
    assert "ordinal score (per step)" in text and "None" not in text and "Efron's handling" in text
    assert max(len(x) for x in r.stdout.splitlines()) <= 200


def test_an_unknown_scenario_in_only_is_named():
    r = subprocess.run(["make", "--no-print-directory", "scenarios", "ONLY=efron-tie"],
                       capture_output=True, text=True, cwd=PROJ_ROOT, env=ENV)
    assert r.returncode != 0 and "no scenario named 'efron-tie'" in r.stderr


def test_make_notebook_runs_into_a_scratch_folder_never_the_main_results():
    r = subprocess.run(["make", "-n", "--no-print-directory", "notebook", "NB=03-survival"],
                       capture_output=True, text=True, cwd=PROJ_ROOT, env=ENV)
    assert r.returncode == 0, r.stderr
    assert "build/notebook/03-survival/executed/03-survival.ipynb" in r.stdout
    assert "-p out \"build/notebook/03-survival\"" in r.stdout
    refused = subprocess.run(["make", "-n", "notebook", "NB=03-survival", "OUT=."], capture_output=True, text=True,
                             cwd=PROJ_ROOT, env=ENV)
    assert refused.returncode != 0 and "never into the main report's results" in refused.stderr


@pytest.mark.parametrize("changes, run", [
    ({"04-subgroups": {"ties": "efron"}}, {"04-subgroups", "06-scorecard", "07-sensitivity"}),
    ({"02-response": {"ci_method": "wilson"}}, {"02-response", "06-scorecard", "07-sensitivity"}),
    ({"03-survival": {"median_ci": "log"}, "04-subgroups": {"median_ci": "log"}},
     {"03-survival", "04-subgroups", "06-scorecard", "07-sensitivity"}),
    ({"common": {"days_per_month": 30.4375}}, set(reuse.SECTIONS)),
])
def test_a_scenario_runs_only_the_sections_it_changes_and_those_that_read_them(changes, run):
    base = sc.load_base(PARAMS_DIR)
    plan = reuse.reuse_plan(base, sc.overlay(base, changes))
    assert {s for s, ok in plan.items() if not ok} == run
