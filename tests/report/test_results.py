"""Results writer: nested numbers, captioned tables, deterministic figures, the privacy guard."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402

from analysis.report.results import PrivacyError, Results, collect_numbers, collect_variables, markdown_table  # noqa: E402


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
