"""The comparison page a researcher reads in a minute: the conclusions first, then the headline estimates
with readable labels, one row per interval, a note where a scenario changes what an estimate means, no
raw markup; the terminal gets the same summary at its width."""
import re
import subprocess
import sys

from analysis.paths import PARAMS_DIR, PROJ_ROOT
from analysis.sensitivity import compare

from conftest import make_results


def cox(hr, lower, upper, p):
    return ({"hr": hr, "lower": lower, "upper": upper, "p": p, "ci": None},
            {"hr": f"{hr:.2f}", "lower": f"{lower:.2f}", "upper": f"{upper:.2f}", "p": f"{p:.3f}",
             "ci": f"{lower:.2f}–{upper:.2f}"})


def folder(root, name, ecog, os_median, audit_text):
    cn, ct = cox(*ecog)
    numbers = {"03-survival": {"survival": {"os": {"median": os_median, "lower": 8.0, "upper": 18.4, "ci": None}}},
               "04-subgroups": {"subgroups": {"cox": {"ecog_group": cn, "n": 68, "events": 44}}},
               "06-scorecard": {"scorecard": {"audit": {"text": None}}}}
    texts = {"03-survival": {"survival": {"os": {"median": f"{os_median:.1f}", "lower": "8.04", "upper": "18.36",
                                                 "ci": "8.04–18.36"}}},
             "04-subgroups": {"subgroups": {"cox": {"ecog_group": ct, "n": "68", "events": "44"}}},
             "06-scorecard": {"scorecard": {"audit": {"text": audit_text}}}}
    return make_results(root / name, numbers, texts)


def setup(tmp_path):
    base = folder(tmp_path, "base", (0.46, 0.23, 0.93, 0.031), 13.2, "see @tbl-paper-audit and `ties`")
    scen = folder(tmp_path, "ecog-per-point", (1.14, 0.83, 1.57, 0.41), 13.2, "see @tbl-paper-audit and **bold**")
    (scen / "params").mkdir()
    (scen / "params" / "04-subgroups.yaml").write_text("cox_covariates: {ecog_group: numeric}\n", encoding="utf-8")
    return base, scen


def summary(tmp_path):
    base, scen = setup(tmp_path)
    from analysis.report.params import load_params

    results = {"base": compare.read_results(base), "ecog-per-point": compare.read_results(scen)}
    conclusions = load_params(PARAMS_DIR)["07-sensitivity"]["conclusions"]
    params = {"base": load_params(PARAMS_DIR), "ecog-per-point": load_params(scen / "params")}
    return compare.summarise(results, conclusions, "base", params, {"ecog-per-point": "ECOG as a score."})


def test_the_conclusions_come_first_one_row_each_one_column_per_scenario_with_the_flips(tmp_path):
    s = summary(tmp_path)
    c = s.conclusions.set_index("conclusion")
    ecog = "ECOG performance status independently predicts OS (Cox p < 0.05)"
    assert list(s.conclusions.columns) == ["conclusion", "base", "ecog-per-point", "flipped_by"]
    assert c.loc[ecog, "base"] == "holds" and c.loc[ecog, "ecog-per-point"] == "does not hold"
    assert c.loc[ecog, "flipped_by"] == ["ecog-per-point"]
    assert c.loc["PFS does not differ by anlotinib dose (log-rank p ≥ 0.05)", "base"] == "not assessable"
    page = compare.summary_html(s)
    assert page.index("Conclusions of the paper") < page.index("Headline estimates")


def test_estimates_have_labels_a_reader_knows_and_one_row_per_interval(tmp_path):
    s = summary(tmp_path)
    rows = s.estimates.set_index("estimate")
    assert rows.loc["Median OS, months (95% CI)", "base"] == "13.2 (8.04–18.36)"
    assert rows.loc["HR for death, ECOG performance status (95% CI), P", "ecog-per-point"] == "1.14 (0.83–1.57), P 0.410"
    assert rows.loc["HR for death, ECOG performance status (95% CI), P", "changed"] == ["ecog-per-point"]
    assert rows.loc["Median OS, months (95% CI)", "changed"] == []
    assert len(s.estimates) == 3  # OS median, the ECOG HR, the model's size: no row for a lower or upper bound
    assert list(s.estimates.section) == ["survival", "subgroups", "subgroups"], "grouped in the report's order"
    page = compare.summary_html(s)
    assert "survival.os" not in page and "subgroups.cox" not in page and ".lower" not in page
    assert "<td class='changed'>1.14 (0.83–1.57), P 0.410" in page


def test_a_note_says_where_a_scenario_changes_what_an_estimate_means(tmp_path):
    s = summary(tmp_path)
    notes = s.notes["ecog-per-point"]
    assert notes == {"HR for death, ECOG performance status (95% CI), P": ["coding: 0–1 vs ≥2 became per ECOG point"]}
    page = compare.summary_html(s)
    assert "1.14 (0.83–1.57), P 0.410<sup>1</sup>" in page and "coding: 0–1 vs ≥2 became per ECOG point" in page
    assert "cox_covariates.ecog_group = numeric (per ECOG point)" in page  # what the scenario sets


def test_other_meaning_changes_are_noted():
    base = {"common": {"days_per_month": 30, "pfs_censor": "last_contact"},
            "02-response": {"exclude_not_evaluable": False}, "03-survival": {"exclude_deaths_within": 0}}
    new = {"common": {"days_per_month": 30.4375, "pfs_censor": "last_assessment"},
           "02-response": {"exclude_not_evaluable": True}, "03-survival": {"exclude_deaths_within": 3}}
    n = compare.meaning_notes(base, new)
    assert compare.notes_for("ORR, % (95% CI)", n) == ["population: the denominator is evaluable patients only"]
    pfs = compare.notes_for("Median PFS, months (95% CI)", n)
    assert any(x.startswith("population: patients who died in the first 3 months") for x in pfs)
    assert any("PFS censored at last assessment" in x for x in pfs)
    assert "unit: months of 30.4375 days instead of 30" in pfs
    assert compare.notes_for("HR for death, Sex (95% CI), P", n) == []


def test_no_raw_cross_reference_or_markdown_reaches_the_page(tmp_path):
    s = summary(tmp_path)
    page = compare.summary_html(s)
    text = re.sub(r"<[^>]+>", " ", page)
    assert "@tbl-" not in text and "`" not in text and "**" not in text and "{{<" not in text
    assert compare.plain("see @tbl-paper-audit and `ties` **x**") == "see and ties x"


def test_the_terminal_summary_fits_the_width_and_all_gives_every_number(tmp_path):
    base, scen = setup(tmp_path)
    run = lambda *extra: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "analysis.sensitivity.compare", str(base), str(scen), "--width", "80", *extra],
        capture_output=True, text=True, cwd=PROJ_ROOT)
    short, every = run(), run("--all")
    assert short.returncode == 0, short.stderr
    assert max(len(x) for x in short.stdout.splitlines()) <= 80
    assert "flipped by ecog-per-point (does not hold)" in " ".join(short.stdout.split())
    assert "coding: 0–1 vs ≥2 became per ECOG point" in " ".join(short.stdout.split())
    assert "subgroups.cox" not in short.stdout
    assert max(len(x) for x in every.stdout.splitlines()) <= 80
    assert "subgroups.cox.ecog_group.lower: 0.23 -> 0.83" in every.stdout
    assert "@tbl-" not in every.stdout


def test_the_csv_keeps_every_number(tmp_path):
    base, scen = setup(tmp_path)
    csv = tmp_path / "c.csv"
    html = tmp_path / "c.html"
    r = subprocess.run([sys.executable, "-m", "analysis.sensitivity.compare", str(base), str(scen), "--csv", str(csv),
                        "--html", str(html)], capture_output=True, text=True, cwd=PROJ_ROOT)
    assert r.returncode == 0, r.stderr
    assert "subgroups.cox.ecog_group.lower" in csv.read_text(encoding="utf-8")
    assert "<a href='c.csv'>" in html.read_text(encoding="utf-8")


def test_the_flips_stand_beside_the_base_and_a_dash_is_explained(tmp_path):
    """With 16 scenarios the last column is far off screen: "Flipped by" follows the base's verdict."""
    page = compare.summary_html(summary(tmp_path))
    header = re.search(r"<h2>Conclusions of the paper</h2>.*?<tr>(.*?)</tr>", page, flags=re.S).group(1)
    assert re.findall(r"<th[^>]*>(.*?)</th>", header) == ["Conclusion", "base", "Flipped by", "ecog-per-point"]
    assert "–: not estimated in that report" in page


def test_a_parameter_set_in_two_params_files_is_listed_once(tmp_path):
    """The median-ci-log scenario sets median_ci in 03-survival and in 04-subgroups: "median_ci = log (03-survival
    and 04-subgroups)", not "median_ci = log; median_ci = log"."""
    from analysis.report.params import load_params

    base, scen = setup(tmp_path)
    (scen / "params" / "03-survival.yaml").write_text("median_ci: log\n", encoding="utf-8")
    (scen / "params" / "04-subgroups.yaml").write_text("median_ci: log\nties: efron\n", encoding="utf-8")
    results = {"base": compare.read_results(base), "s": compare.read_results(scen)}
    params = {"base": load_params(PARAMS_DIR), "s": load_params(scen / "params")}
    s = compare.summarise(results, [], "base", params, {})
    assert s.scenarios["s"]["sets"] == "median_ci = log (03-survival and 04-subgroups); ties = efron"
