"""Results writer: nested numbers, captioned tables, deterministic figures, the privacy guard."""
import matplotlib

matplotlib.use("Agg")
import re  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402

from analysis.report.results import (IdentifierGuard, PrivacyError, Results, collect_numbers,  # noqa: E402
                                     collect_variables, markdown_table)


def test_numbers_are_nested_and_formatted(tmp_path):
    r = Results("03-survival", tmp_path)
    r.number("survival.os.median", 13.2041, "13.2")
    r.number("survival.os.upper", float("inf"))
    r.write()
    raw = yaml.safe_load((tmp_path / "results/03-survival/numbers.yaml").read_text())
    txt = yaml.safe_load((tmp_path / "results/03-survival/variables.yaml").read_text())
    assert raw["survival"]["os"]["median"] == 13.2041
    assert txt["survival"]["os"]["median"] == "13.2" and txt["survival"]["os"]["upper"] == "NR"
    assert collect_numbers(tmp_path / "results")["survival.os.median"] == 13.2041
    assert collect_variables(tmp_path / "results")["survival"]["os"]["median"] == "13.2"


def test_duplicate_variable_across_sections_is_an_error(tmp_path):
    for s in ("a", "b"):
        r = Results(s, tmp_path)
        r.number("x.y", 1)
        r.write()
    with pytest.raises(ValueError, match="x.y"):
        collect_variables(tmp_path / "results")


def test_markdown_table_has_caption_and_label():
    md = markdown_table(pd.DataFrame({"A": ["x"], "B": [1]}), "Caption.", "tbl-x")
    assert md.splitlines()[0] == "| A | B |"
    assert ": Caption. {#tbl-x}" in md
    assert md.splitlines()[1] == "|:---|---:|"  # first column left, the others right, equal widths


def test_markdown_table_left_columns_and_widths():
    """Text columns are left-aligned on request; relative widths become the dashes' lengths (pandoc)."""
    df = pd.DataFrame({"A": ["x"], "B": [1], "Why": ["text"]})
    assert markdown_table(df, "C.", "tbl-x", left=("Why",)).splitlines()[1] == "|:---|---:|:---|"
    sep = markdown_table(df, "C.", "tbl-x", left=("Why",), widths=(2, 1, 4)).splitlines()[1]
    assert sep == "|:------|---:|:------------|"


def test_figure_svg_is_deterministic(tmp_path):
    outs = []
    for k in range(2):
        r = Results("s", tmp_path / str(k))
        fig, ax = plt.subplots()
        ax.plot([0, 1], [1, 0])
        r.figure("fig-a", fig, "Cap.", "Alt.")
        plt.close(fig)
        outs.append((tmp_path / str(k) / "results/s/fig-a.svg").read_bytes())
    assert outs[0] == outs[1]


def test_identifier_in_an_output_is_refused_and_removed(tmp_path):
    r = Results("s", tmp_path, forbidden=["HOSP-0042", "2024-03-05"])
    r.table("tbl-x", pd.DataFrame({"id": ["HOSP-0042"]}), "Leaky.")
    with pytest.raises(PrivacyError, match="tbl-x"):
        r.write()
    assert not (tmp_path / "results/s/tbl-x.csv").exists()


def test_short_or_numeric_substrings_do_not_trigger_the_guard(tmp_path):
    r = Results("s", tmp_path, forbidden=["P-12", "12"])
    r.number("a", 12.5, "12.5")
    r.number("b", "P-123", "P-123")
    r.write()  # "P-12" does not occur as a token, "12" is too short to check


def test_identifier_in_markdown_text_is_caught(tmp_path):
    r = Results("s", tmp_path, forbidden=["SYN-010"])
    r.markdown("note", "The deepest response was patient SYN-010.")
    with pytest.raises(PrivacyError, match="note.md"):
        r.write()
    assert not (tmp_path / "results/s/note.md").exists()


def test_numeric_identifier_in_a_csv_cell_is_caught(tmp_path):
    r = Results("s", tmp_path, forbidden=[str(i) for i in range(1001, 1069)])
    r.table("tbl-x", pd.DataFrame({"subject": [1, 2], "id": [1, 1016], "p": [0.1016, 0.5]}), "Leaky.")
    with pytest.raises(PrivacyError, match="tbl-x.csv"):
        r.write()


def test_identifier_in_svg_text_is_caught(tmp_path):
    r = Results("s", tmp_path, forbidden=["HOSP-0042", "1016"])
    fig, ax = plt.subplots()
    ax.set_title("patient 1016")
    r.figure("fig-a", fig, "Cap.", "Alt.")
    plt.close(fig)
    with pytest.raises(PrivacyError, match="fig-a.svg"):
        r.write()


def test_numeric_identifiers_are_not_found_in_svg_path_data(tmp_path):
    """Numeric ids (1001, …) occur as numbers in glyph outlines and coordinates, which are not text."""
    fig, ax = plt.subplots()
    ax.bar(range(68), np.linspace(-80, 40, 68))
    ax.set_xlabel("Patients 0123456789 (n = 68)")
    r = Results("s", tmp_path / "probe")
    r.figure("fig-a", fig, "Cap.", "Alt.")
    svg = (tmp_path / "probe/results/s/fig-a.svg").read_text()
    in_geometry = sorted({t for t in re.findall(r"(?<![\w.-])\d{4}(?![\w.-])", svg)})
    assert len(in_geometry) > 20  # the ids below do occur, as whole numbers, in the SVG
    r = Results("s", tmp_path, forbidden=in_geometry)
    r.figure("fig-a", fig, "Cap.", "Alt.")
    plt.close(fig)
    r.write()
    assert (tmp_path / "results/s/fig-a.svg").exists()


def test_identifiers_spanning_several_tokens_or_none():
    g = IdentifierGuard(["SYN 010", "P.1234", "////"])
    assert g.find("patient SYN 010.") == "SYN 010"
    assert g.find("patient SYN 0101") is None and g.find("XSYN 010") is None
    assert g.find("id P.1234,") == "P.1234" and g.find("id P.12345") is None
    assert g.find("a //// b") == "////"
    assert g.find("nothing here") is None
