"""Source notebooks: thin, parameterised, committed without outputs, paired with their percent scripts,
and defaulting to the params files."""
import json
import re
import subprocess
import sys

import pytest

from analysis.paths import NOTEBOOKS_DIR, PARAMS_DIR, PROJ_ROOT

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


def test_there_is_one_notebook_per_results_section():
    names = [nb.stem for nb in NOTEBOOKS]
    assert names == ["01-cohort", "02-response", "03-survival", "04-subgroups", "05-safety", "06-scorecard",
                     "07-sensitivity"]
    for name in names:
        assert (PARAMS_DIR / f"{name}.yaml").exists(), name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_clean_and_thin(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), "outputs committed"
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one papermill parameters cell"
    for c in code:
        src = "".join(c["source"])
        assert not re.search(r"^\s*(async\s+)?def\s|lambda\s", src, re.M), f"function defined in {path.name}"
        assert "../" not in src, "paths come from analysis.paths"


def test_every_parameter_file_only_sets_known_parameters():
    import yaml

    for path in NOTEBOOKS:
        nb = json.loads(path.read_text(encoding="utf-8"))
        params_src = next("".join(c["source"]) for c in nb["cells"]
                          if "parameters" in c.get("metadata", {}).get("tags", []))
        known = set(re.findall(r"^(\w+)\s*=", params_src, re.M))
        for f in (PARAMS_DIR / "common.yaml", PARAMS_DIR / f"{path.stem}.yaml"):
            given = set((yaml.safe_load(f.read_text()) or {}).keys())
            assert given <= known, f"{f.name} sets unknown parameters {given - known} for {path.name}"


def cells(nb):
    return [(c.cell_type, c.source.strip(), sorted(c.metadata.get("tags", []))) for c in nb.cells]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_and_its_percent_script_agree(path):
    """Each notebook is paired with notebooks/NN-section.py (jupytext percent format, jupytext.toml):
    after an edit of either, `jupytext --sync notebooks/*.ipynb` brings the other in line."""
    import jupytext

    twin = path.with_suffix(".py")
    assert twin.exists(), f"{twin.name} missing: jupytext --sync {path.relative_to(PROJ_ROOT)}"
    assert cells(jupytext.read(path)) == cells(jupytext.read(twin)), (
        f"{path.name} and {twin.name} differ: jupytext --sync {path.relative_to(PROJ_ROOT)}")


def test_the_pairing_check_sees_an_edit(tmp_path):
    import jupytext

    nb = jupytext.read(NOTEBOOKS[0])
    edited = jupytext.reads(jupytext.writes(nb, "py:percent").replace("SECTION = ", "SECTION  = ", 1), "py:percent")
    assert cells(edited) != cells(nb)


def parameters_cell(path) -> dict:
    """The literal defaults of the notebook's parameters cell."""
    import ast

    import nbformat

    nb = nbformat.read(path, as_version=4)
    src = next(c.source for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    return {n.targets[0].id: ast.literal_eval(n.value) for n in ast.parse(src).body if isinstance(n, ast.Assign)}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_defaults_are_the_params_files(path):
    """One source for defaults: running a notebook on its own (Jupyter) gives the numbers `make` gives."""
    import yaml

    defaults = parameters_cell(path)
    given = {}
    for f in (PARAMS_DIR / "common.yaml", PARAMS_DIR / f"{path.stem}.yaml"):
        given.update(yaml.safe_load(f.read_text()) or {})
    assert {k: defaults.get(k) for k in given} == given
    assert defaults["data"] == "data/synthetic" and defaults["out"] == "."


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_papermill_reads_every_parameter(path):
    """papermill's own inspection finds each assignment of the parameters cell (a second "=" in a
    comment makes it skip the line with a warning and report the parameter as unknown)."""
    import nbformat
    from papermill.translators import PythonTranslator

    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assigned = re.findall(r"^(\w+)\s*=", cell.source, re.M)
    assert [p.name for p in PythonTranslator.inspect(cell)] == assigned
