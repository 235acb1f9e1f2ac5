"""Section digests (analysis.report.provenance, #29): what enters a digest, what does not, and how a
change is named. The make-level stale cases are in tests/test_stale_results.py."""
from __future__ import annotations

import json
import shutil

import pytest

from analysis.paths import NOTEBOOKS_DIR, PARAMS_DIR, PROJ_ROOT, SYNTHETIC_DIR
from analysis.report import provenance as pv
from analysis.report import runner


def _spec(section="03-survival", **kw):
    args = dict(data="data/synthetic", out=".", params="params", scenarios="params/sensitivity.yaml")
    args.update(kw)
    return pv.section_spec(section, **args)


@pytest.mark.parametrize("section", pv.SECTIONS)
def test_parameters_are_hashed_as_papermill_merges_them(section):
    """The runner merges -f/-p with papermill's own functions; provenance without importing papermill."""
    spec = _spec(section)
    ours = pv.merged_parameters(spec.files, spec.set)
    theirs = runner.merged_parameters(list(spec.files), list(spec.set))
    assert ours == theirs


@pytest.mark.parametrize("text", ["True", "False", "None", "12", "-3", "1.5", "1e-3", "nan", "x", "params", ""])
def test_values_are_typed_as_papermills_command_line_types_them(text):
    from papermill.cli import _resolve_type

    ours, theirs = pv.resolve_type(text), _resolve_type(text)
    assert type(ours) is type(theirs) and (ours == theirs or ours != ours)


def test_the_output_folder_is_not_part_of_the_digest():
    a = pv.current_digests(data="data/synthetic", out=".", sections=["03-survival"])["03-survival"]
    b = pv.current_digests(data="data/synthetic", out="build/elsewhere", sections=["03-survival"])["03-survival"]
    assert a["digest"] == b["digest"]


def test_each_input_changes_the_digest(tmp_path):
    params = tmp_path / "params"
    shutil.copytree(PARAMS_DIR, params)
    base = pv.current_digests(data="data/synthetic", out=".", params=str(params))
    # a parameter of one section: that section and the two that read it (06 via 03's digest, 07 via both)
    f = params / "03-survival.yaml"
    f.write_text(f.read_text() + "conf_level: 0.9\n")
    now = pv.current_digests(data="data/synthetic", out=".", params=str(params))
    changed = {s for s in pv.SECTIONS if now[s]["digest"] != base[s]["digest"]}
    assert changed == {"03-survival", "06-scorecard", "07-sensitivity"}
    assert pv.changed_components(base["03-survival"]["components"], now["03-survival"]["components"],
                                 spec=now["03-survival"]["spec"]) == [
        f"its parameters ({params}/common.yaml + {params}/03-survival.yaml)"]
    # the data: every section
    data = tmp_path / "cohort"
    shutil.copytree(SYNTHETIC_DIR, data)
    (data / "cohort.yaml").write_text((data / "cohort.yaml").read_text() + "\n# another site\n")
    other = pv.current_digests(data=str(data), out=".")
    assert all(other[s]["digest"] != pv.current_digests(data="data/synthetic", out=".")[s]["digest"]
               for s in pv.SECTIONS)


def test_the_data_digest_is_of_contents_not_of_the_path(tmp_path):
    data = tmp_path / "site" / "export"
    shutil.copytree(SYNTHETIC_DIR, data)
    assert pv.data_digest(data) == pv.data_digest(SYNTHETIC_DIR)


def test_notebook_digest_ignores_outputs_but_not_sources(tmp_path):
    nb = json.loads((NOTEBOOKS_DIR / "05-safety.ipynb").read_text())
    f = tmp_path / "nb.ipynb"
    f.write_text(json.dumps(nb))
    d0 = pv.notebook_digest(f)
    code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "hello"}]
    code["execution_count"] = 3
    f.write_text(json.dumps(nb))
    assert pv.notebook_digest(f) == d0
    code["source"] = "".join(code["source"]) + "\nprint(1)"
    f.write_text(json.dumps(nb))
    assert pv.notebook_digest(f) != d0


def test_the_sections_code_follows_the_makefiles_layers():
    rel = lambda s: {str(p.relative_to(PROJ_ROOT)) for p in pv.code_files(s)}  # noqa: E731
    base = rel("03-survival")
    assert "analysis/stats/km.py" in base and "analysis/report/tables.py" in base
    assert not {"analysis/report/render.py", "analysis/report/runner.py", "analysis/report/provenance.py"} & base
    assert not any(p.startswith(("analysis/synthetic/", "analysis/sensitivity/")) for p in base)
    assert "analysis/synthetic/calibrate.py" in rel("06-scorecard") - base
    assert "analysis/sensitivity/headline.py" in rel("07-sensitivity") - base


def test_an_unsynced_py_pair_stops_make_with_a_line_saying_run_make_sync(tmp_path):
    """An edited notebooks/NN-x.py without make sync: the check names both files and says what to do."""
    for ext in (".ipynb", ".py"):
        shutil.copy(NOTEBOOKS_DIR / f"05-safety{ext}", tmp_path / f"05-safety{ext}")
    cache: dict = {}
    pv.check_pairs([tmp_path / "05-safety.ipynb"], cache)  # in sync: no error, and remembered
    assert cache
    py = tmp_path / "05-safety.py"
    py.write_text(py.read_text().replace('SECTION = "05-safety"', 'SECTION = "05-safety"  # edited', 1))
    with pytest.raises(pv.ProvenanceError) as err:
        pv.check_pairs([tmp_path / "05-safety.ipynb"], cache)
    msg = str(err.value)
    assert "05-safety.ipynb and 05-safety.py differ" in msg and "run make sync" in msg
    assert "\n" not in msg


def test_reuse_needs_the_same_digest(tmp_path):
    other = tmp_path / "other"
    (other / "results" / "05-safety").mkdir(parents=True)
    (other / "executed").mkdir()
    (other / "executed" / "05-safety.ipynb").write_text("{}")
    (other / "results" / "05-safety" / "manifest.yaml").write_text("digest: abc\n")
    (other / "results" / "05-safety" / "numbers.yaml").write_text("safety: {n: 1}\n")
    out = tmp_path / "out"
    assert not pv.reuse_section("05-safety", "abd", reuse_from=other, out=out, executed=out / "executed" / "05-safety.ipynb")
    assert not (out / "results").exists()
    assert pv.reuse_section("05-safety", "abc", reuse_from=other, out=out, executed=out / "executed" / "05-safety.ipynb")
    assert (out / "results" / "05-safety" / "numbers.yaml").read_text() == "safety: {n: 1}\n"
    assert (out / "executed" / "05-safety.ipynb").is_file()


def _section_in(root, section, digest):
    (root / "results" / section).mkdir(parents=True, exist_ok=True)
    (root / "executed").mkdir(exist_ok=True)
    (root / "executed" / f"{section}.ipynb").write_text("{}")
    (root / "results" / section / "manifest.yaml").write_text(f"digest: {digest}\n")
    (root / "results" / section / "numbers.yaml").write_text(f"n: {digest}\n")


def test_reuse_unchanged_copies_what_has_the_current_digest_and_lists_it(tmp_path):
    other, out = tmp_path / "other", tmp_path / "out"
    for section, digest in (("01-cohort", "d1"), ("02-response", "d2-old"), ("03-survival", "d3")):
        _section_in(other, section, digest)
    _section_in(out, "03-survival", "d3")  # already made from its current inputs here: left alone
    (out / "results" / "03-survival" / "numbers.yaml").write_text("n: mine\n")
    stamps = out / pv.STAMP_DIR
    stamps.mkdir(parents=True)
    for section, digest in (("01-cohort", "d1"), ("02-response", "d2"), ("03-survival", "d3")):
        (stamps / f"{section}.json").write_text(json.dumps({"digest": digest}))
    lines = pv.reuse_unchanged(data=str(SYNTHETIC_DIR), out=str(out), reuse_from=other,
                               sections=("01-cohort", "02-response", "03-survival"))
    assert lines == [f"section 01-cohort: reused from {other} (same digest d1)"]
    assert (out / "results" / "01-cohort" / "numbers.yaml").read_text() == "n: d1\n"
    assert not (out / "results" / "02-response").exists()  # its digest there is not the current one
    assert (out / "results" / "03-survival" / "numbers.yaml").read_text() == "n: mine\n"
    assert (stamps / pv.REUSED_LOG).read_text() == lines[0] + "\n"
    assert pv.reuse_unchanged(data=str(SYNTHETIC_DIR), out=str(out), reuse_from=other,
                              sections=("01-cohort", "02-response", "03-survival")) == []
    assert not (stamps / pv.REUSED_LOG).exists(), "an old list is not printed again"


def test_results_without_digests_are_left_to_the_older_checks(tmp_path):
    (tmp_path / "03-survival").mkdir()
    (tmp_path / "03-survival" / "manifest.yaml").write_text("section: 03-survival\ninputs: {}\n")
    assert pv.check_results(tmp_path) == {}


QUARTO = shutil.which("quarto")


@pytest.mark.quarto
@pytest.mark.skipif(QUARTO is None, reason="Quarto not on PATH (make test-quarto with a quarto on PATH runs it)")
def test_quarto_marks_each_number_with_its_provenance(tmp_path):
    """report/numbers.lua (a pre-AST filter) wraps each {{< var >}} of a section's key in a span with its key,
    section, cell and full value; the printed text is unchanged; other keys are left alone."""
    import subprocess

    (tmp_path / "numbers.lua").write_text((PROJ_ROOT / "report" / "numbers.lua").read_text())
    (tmp_path / "_quarto.yml").write_text("project:\n  type: manuscript\n  output-dir: _output\nmanuscript:\n"
                                          "  article: index.qmd\nfilters:\n  - at: pre-ast\n    path: numbers.lua\n"
                                          "format:\n  html:\n    embed-resources: true\n")
    (tmp_path / "_variables.yml").write_text('survival:\n  os:\n    median: "13.2"\nbuild:\n  data: synthetic\n')
    (tmp_path / "_provenance.json").write_text(json.dumps({"survival.os.median": {
        "section": "03-survival", "cell": "03-05", "value": 13.2000001, "text": "13.2"}}))
    (tmp_path / "index.qmd").write_text("---\ntitle: T\n---\n\nMedian {{< var survival.os.median >}} months, "
                                        "data {{< var build.data >}}.\n")
    subprocess.run([QUARTO, "render", str(tmp_path)], cwd=tmp_path, check=True, capture_output=True)
    html = (tmp_path / "_output" / "index.html").read_text()
    import re

    span = re.search(r'<span class="rr-num"([^>]*)>(.*?)</span>', html)
    assert span and 'data-key="survival.os.median"' in span.group(1) and 'data-value="13.2000001"' in span.group(1)
    assert 'data-cell="03-05"' in span.group(1) and re.sub("<[^>]+>", "", span.group(2)) == "13.2"
    assert "data synthetic." in html
