"""Notebook pages are converted once per content: kept when unchanged, copied from another report when equal."""
import nbformat
import pytest

from analysis.report import notebook_pages


def _executed(folder, section="03-survival", text="median 6.1"):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print('x')", id="abc")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    nb.cells = [cell]
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(folder / f"{section}.ipynb"))
    return folder


def _no_conversion(*a, **k):
    raise AssertionError("the page was converted again")


def test_a_page_carries_its_key_and_is_kept_while_its_inputs_are_unchanged(tmp_path, monkeypatch):
    ex = _executed(tmp_path / "executed")
    (page,) = notebook_pages.write_pages(ex, tmp_path / "results", tmp_path / "out")
    text = page.read_text(encoding="utf-8")
    assert "median 6.1" in text and 'id="cell-abc"' in text
    assert text.endswith(f"<!-- rr-page-key {notebook_pages.page_key(ex / '03-survival.ipynb', {})} -->\n")
    monkeypatch.setattr(notebook_pages, "notebook_page", _no_conversion)
    notebook_pages.write_pages(ex, tmp_path / "results", tmp_path / "out")
    assert page.read_text(encoding="utf-8") == text


def test_a_changed_notebook_or_sources_file_is_converted_again(tmp_path):
    ex = _executed(tmp_path / "executed")
    (page,) = notebook_pages.write_pages(ex, tmp_path / "results", tmp_path / "out")
    _executed(ex, text="median 7.4")
    notebook_pages.write_pages(ex, tmp_path / "results", tmp_path / "out")
    assert "median 7.4" in page.read_text(encoding="utf-8")
    (tmp_path / "results" / "03-survival").mkdir(parents=True)
    (tmp_path / "results" / "03-survival" / "sources.yaml").write_text("files:\n  fig-os-km: abc\n", encoding="utf-8")
    notebook_pages.write_pages(ex, tmp_path / "results", tmp_path / "out")
    assert 'id="fig-os-km"' in page.read_text(encoding="utf-8")


def test_pages_of_the_same_inputs_are_copied_from_another_report(tmp_path, monkeypatch):
    base_ex = _executed(tmp_path / "base" / "executed")
    (base_page,) = notebook_pages.write_pages(base_ex, tmp_path / "base" / "results", tmp_path / "base" / "out")
    ex = _executed(tmp_path / "scenario" / "executed")  # the same notebook, as a reused section has
    monkeypatch.setattr(notebook_pages, "notebook_page", _no_conversion)
    (page,) = notebook_pages.write_pages(ex, tmp_path / "scenario" / "results", tmp_path / "scenario" / "out",
                                         reuse_from=tmp_path / "base" / "out")
    assert page.read_bytes() == base_page.read_bytes()
    _executed(ex, text="median 9.9")  # a section the scenario re-ran: its own page
    with pytest.raises(AssertionError, match="converted again"):
        notebook_pages.write_pages(ex, tmp_path / "scenario" / "results", tmp_path / "scenario" / "out",
                                   reuse_from=tmp_path / "base" / "out")
