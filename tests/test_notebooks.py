"""Source notebooks: thin, parameterised, committed without outputs, and in step with their sources."""
import json
import re
import subprocess
import sys

import pytest

from analysis.paths import NOTEBOOKS_DIR, PARAMS_DIR, PROJ_ROOT

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


def test_there_is_one_notebook_per_results_section():
    names = [nb.stem for nb in NOTEBOOKS]
    assert names == ["01-cohort", "02-response", "03-survival", "04-subgroups", "05-safety", "06-scorecard"]
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


def test_notebooks_are_built_from_tools_sources(tmp_path):
    """`python tools/nb_build.py` regenerates the committed notebooks exactly."""
    subprocess.run([sys.executable, str(PROJ_ROOT / "tools" / "nb_build.py"), str(tmp_path)], check=True,
                   capture_output=True)
    for p in NOTEBOOKS:
        assert (tmp_path / p.name).read_bytes() == p.read_bytes(), f"{p.name}: run python tools/nb_build.py"


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
