"""The article's prose and framing (issue #28): each untrue sentence of the Measured list has a test named
after it that fails on the old text, and each sentence that ranks or judges is fed a result where the
opposite is true.
"""
import math

import pandas as pd
import pytest

from analysis.paths import PROJ_ROOT
from analysis.report import crossdoc, framing, text
from analysis.sensitivity import text as stext

INDEX = PROJ_ROOT / "report" / "index.qmd"
SUPPLEMENT = PROJ_ROOT / "report" / "supplement.qmd"


def _comps(**changed):
    """Scenario comparisons with ``changed[name]`` of 96 headline numbers printing differently."""
    return {name: pd.DataFrame({"key": [f"k{i}" for i in range(96)],
                                "status": ["changed"] * k + ["same"] * (96 - k)}) for name, k in changed.items()}


# --- "tie handling is among the choices that matter most" (efron-ties changes 0 of 96) ----------------------
def test_tie_handling_matters_most_is_not_said_when_efron_ties_changes_0_of_96_numbers():
    qmd = INDEX.read_text(encoding="utf-8")
    assert "matter most" not in qmd and "depend on how tied event times are handled" not in qmd
    assert "{{< var sensitivity.discussion_text >}}" in qmd[qmd.index("## Discussion"):]
    s = stext.choices_discussion(_comps(**{"efron-ties": 0, "months-365": 30, "cox-all": 12}))
    assert "`efron-ties` changes none" in s and "`months-365` changes the most as printed (30)" in s
    assert "of the 96 headline numbers" in s


def test_tie_handling_is_said_to_matter_most_when_it_changes_the_most_numbers():
    s = stext.choices_discussion(_comps(**{"efron-ties": 40, "months-365": 3, "wilson-ci": 0}))
    assert "`efron-ties` changes the most as printed (40), then `months-365` (3)" in s
    assert "`wilson-ci` changes none" in s
    assert "changes any" in stext.choices_discussion(_comps(a=0, b=0))


# --- "the SPSS median interval ... a kernel estimate of the density" ------------------------------------------
def test_spss_median_interval_is_a_finite_difference_not_a_kernel_estimate():
    from analysis.report import endpoints

    for s in (text.survival_methods("spss", "log-log", "observed"), endpoints.median_ci_note("spss"),
              INDEX.read_text(encoding="utf-8")):
        assert "kernel" not in s
    assert "finite difference between the 0.45 and 0.55 quantiles" in text.survival_methods("spss", "log-log",
                                                                                           "observed")


# --- "as in the paper" for Clopper–Pearson and 30-day months, which the paper does not state --------------
def test_as_in_the_paper_is_not_claimed_for_clopper_pearson_or_30_day_months():
    for s in (text.proportion_methods("clopper-pearson"), text.p_adjust_text("none"), text.p_adjust_text("fdr_bh"),
              INDEX.read_text(encoding="utf-8"), SUPPLEMENT.read_text(encoding="utf-8")):
        assert "as in the paper" not in s
    assert "the paper does not name its method" in text.proportion_methods("clopper-pearson")
    assert "the paper does not state its conversion" in SUPPLEMENT.read_text(encoding="utf-8")


# --- "the follow-up definition fits 12.5 months" while printing 9.5 ------------------------------------------
def test_followup_definition_is_not_said_to_fit_the_papers_12_5_months():
    for m in ("observed", "reverse_km"):
        assert "fits" not in text.followup_text(m)
    assert "median with a range" in text.followup_text("observed")


# --- Figure 8's caption: "256 specifications" while 192 are drawn --------------------------------------------
def test_specification_curve_caption_counts_the_192_drawn_not_the_256_run():
    c = stext.curve_caption(192, 256, 8, "ECOG performance status")
    assert "192 of the 256 specifications" in c and "each of the 256" not in c
    assert "in all 256 specifications" in stext.curve_caption(256, 256, 8, "ECOG performance status")


# --- "The scorecard shows which ..." and "With 44 deaths no Cox model can ..." ---------------------------------
def test_the_scorecard_shows_which_and_with_44_deaths_are_said_of_the_paper_not_the_cohort():
    from analysis.synthetic import audit
    from analysis.synthetic.targets import load_targets

    s = audit.findings_text(load_targets())
    assert "scorecard shows" not in s and "With 44 deaths no Cox model" not in s
    assert "With the 44 deaths the paper reports" in s


# --- "passed every rule of the data contract" with 17 warnings --------------------------------------------------
def test_passed_every_rule_of_the_data_contract_says_the_17_warnings():
    m = framing.data_statement(False, "x", 150, "", 17)["methods"]
    assert "17 warnings" in m and "passed every rule of the data contract" not in m
    assert "raised no warning" in framing.data_statement(False, "x", 150, "", 0)["methods"]
    assert "1 warning " in framing.data_statement(True, "x", 68, "", 1)["methods"]


# --- "0 patients were still receiving treatment" ----------------------------------------------------------------
def test_0_patients_were_still_receiving_treatment_is_said_in_words():
    assert "no patient was still receiving" in text.on_treatment_sentence(0, "1 May 2025")
    assert "one patient was still" in text.on_treatment_sentence(1, "1 May 2025")
    assert "11 patients were still" in text.on_treatment_sentence(11, "1 May 2025")
    assert "on_treatment_at_cutoff.n >}} patients were" not in INDEX.read_text(encoding="utf-8")


# --- "grade 5 (fatal) in 0 (0.0%)" ------------------------------------------------------------------------------
def test_grade_5_fatal_in_0_is_said_as_none_was_fatal():
    s = pd.DataFrame({"term": ["any", "fatigue"], "any_n": [3, 3], "any_pct": [30.0, 30.0],
                      "grade3plus_n": [1, 1], "grade3plus_pct": [10.0, 10.0]})
    none = text.safety_paragraph(s, {}, 10, 0)
    assert "in 0 (0.0%)" not in none and "none was fatal (grade 5)" in none
    some = text.safety_paragraph(s, {}, 10, 1)
    assert "fatal (grade 5) in 1 (10.0%)" in some


# --- "By characteristic, sex: male 51 …" ------------------------------------------------------------------------
def test_by_characteristic_sex_male_51_reads_as_a_sentence():
    t1 = pd.DataFrame({"variable": ["age", "sex", "sex", "prior_ici_failure", "prior_ici_failure"],
                       "level": ["median", "male", "female", "progression", "intolerance"],
                       "label": ["", "Male", "Female", "Progression", "Intolerance"],
                       "n": [math.nan, 51, 17, 15, 53], "pct": [math.nan, 75.0, 25.0, 22.1, 77.9],
                       "median": [61, 0, 0, 0, 0], "min": [21, 0, 0, 0, 0], "max": [77, 0, 0, 0, 0]})
    s = text.baseline_paragraph(t1, 68, ("sex", "prior_ici_failure"))
    assert "By characteristic" not in s and "sex: male 51" not in s
    assert "51 (75.0%) were men and 17 (25.0%) women" in s
    # largest first: intolerance leads when it is the larger group
    assert "53 (77.9%) had stopped their previous immunotherapy for intolerance and 15 (22.1%) for progression" in s


# --- the subtitle "regenerated from patient-level data"; title, author and date typed in index.qmd -------------
def test_subtitle_regenerated_from_patient_level_data_is_gone_and_front_matter_comes_from_results():
    qmd = INDEX.read_text(encoding="utf-8")
    front = qmd.split("---")[1]
    assert "regenerated from patient-level data" not in qmd
    for key in ("title", "subtitle", "date", "running-head"):
        assert f"{key}: '{{{{< var cohort.front." in front, key
    assert "name: '{{< var cohort.front.author >}}'" in front and "2026-" not in front
    f = framing.front_matter(True, framing.article_metadata({}), 68, {"extensive": 68}, "2025-01-20")
    assert "synthetic" in f["subtitle"] and "synthetic" in f["running_head"] and "regenerated" not in f["subtitle"]
    assert f["date"] == "2025-01-20"


def test_hospital_front_matter_from_cohort_yaml_and_stage_from_the_data():
    meta = {**framing.article_metadata({"title": "Our cohort's outcomes", "authors": ["A. Li", "B. Wu"],
                                        "date": "2025-03-01"}), "name": "city"}
    f = framing.front_matter(False, meta, 150, {"extensive": 120, "limited": 30}, "2024-12-31")
    assert f["title"] == "Our cohort’s outcomes" and f["author"] == "A\\. Li and B\\. Wu" and f["date"] == "2025-03-01"
    assert "'" not in "".join(f.values())  # single-quoted YAML in the front matter
    d = framing.front_matter(False, {**framing.article_metadata({}), "name": "city"}, 150,
                             {"extensive": 120, "limited": 30}, "2024-12-31")
    joined = " ".join(d.values())
    assert "ES-SCLC" not in joined and "extensive-stage" not in joined and "synthetic" not in joined
    assert "re-analysis" not in joined and d["date"] == "2024-12-31" and d["author"] == "The city study team"
    assert framing.population({"extensive": 120, "limited": 30})["stage"] == \
        "120 with extensive-stage and 30 with limited-stage disease"
    assert framing.population({"extensive": 68})["short"] == "ES-SCLC"


# --- "a 40-year-old woman" described as if real; no patient described by characteristics -----------------------
def test_a_40_year_old_woman_the_deepest_response_is_a_number_only():
    change = {"n": (64, "64"), "mean": (-11.97, "-11.97")}
    case = {"age": (40, "40"), "sex": ("female", "woman"), "prior_ici_failure": ("intolerance", "intolerant"),
            "ici_agent": ("tislelizumab", "tislelizumab"), "best_response": ("PR", "partial response"),
            "shrinkage_pct": (82.0, "82.0"), "treatment_duration": (5.9, "5.9")}
    s = text.response_paragraph(change, case)
    for bad in ("year-old", "woman", "tislelizumab", "intolerant", "5.9 months"):
        assert bad not in s, bad
    assert "The deepest response was a reduction of 82.0%" in s


# --- framing pieces ---------------------------------------------------------------------------------------------
def test_caption_prefix_says_synthetic_only_for_the_synthetic_cohort():
    assert text.caption_prefix(True).startswith("Synthetic cohort.") and text.caption_prefix(False) == ""


def test_declarations_synthetic_needs_no_ethics_hospital_takes_cohort_yaml_with_defaults():
    syn = framing.declarations(True, framing.article_metadata({}), "abc", "https://github.com/o/r")
    assert "no ethics approval or consent was needed" in syn and "<https://github.com/o/r>" in syn
    assert "commit `abc`" in syn and "make verify" in syn and syn.count("None declared.") == 2
    hosp = framing.declarations(False, framing.article_metadata({"ethics": "Committee X, ref. 12.",
                                                                 "funding": "Fund Y."}), "abc")
    assert "Committee X\\, ref\\. 12\\." in hosp and "Fund Y\\." in hosp and "Competing interests.** None declared." in hosp
    assert "distributed with this article" in hosp and "no patient" not in hosp


def test_git_remote_url_drops_credentials():
    assert framing._public_url("https://x:secret@github.com/o/r.git") == "https://github.com/o/r"
    assert "secret" not in framing._public_url("https://x:secret@example.org/o/r")
    assert framing._public_url("git@github.com:o/r.git") == "https://github.com/o/r"


def test_non_synthetic_introduction_and_abstract_say_nothing_about_reproducing_the_paper():
    pop = framing.population({"extensive": 100, "limited": 50})
    for s in (framing.introduction(False, 68, pop), framing.abstract_background(False, 68, pop),
              framing.abstract_methods(False, 150, pop, "May 2023", "June 2024"),
              framing.abstract_conclusions(False, {"response.orr.pct": 20.0, "survival.os.median": 9.0}),
              framing.data_statement(False, "city", 150, "", 3)["callout"]):
        for bad in ("re-analys", "reproduc", "synthetic", "scorecard", "ES-SCLC"):
            assert bad not in s, (bad, s)
    assert "100 with extensive-stage and 50 with limited-stage disease" in framing.abstract_methods(
        False, 150, pop, "May 2023", "June 2024")
    one_stage = framing.abstract_methods(False, 38, framing.population({"extensive": 38}), "May 2023", "June 2024")
    assert "with extensive-stage small cell lung cancer who started" in one_stage and "all with" not in one_stage


# --- the abstract's conclusion: which headline results the data reproduce ---------------------------------------
def _card(status_p, rep_p):
    keys = [("response.orr.pct", "percent", 32.4, 32.35, "exact"), ("response.orr.lower", "percent", 21.5, 21.5, "exact"),
            ("response.orr.upper", "percent", 44.8, 44.8, "exact"),
            ("subgroups.prior_ici_failure.p", "p", 0.031, rep_p, status_p)]
    card = pd.DataFrame([dict(key=k, unit=u, published=p, reproduced=r, status=s) for k, u, p, r, s in keys])
    targets = pd.DataFrame([dict(key=k, value=p, decimals=3 if u == "p" else 1, unit=u, where="Abstract",
                                 kind="value") for k, u, p, r, s in keys])
    return card, targets


def test_abstract_says_the_prior_ici_failure_p_0_874_is_not_reproduced_against_the_published_0_031():
    from analysis.synthetic.scorecard import headline_reproduction

    card, targets = _card("off", 0.8742)
    s = headline_reproduction(card, targets, {"prior_ici_failure": "Reason for prior immunotherapy failure"})
    sentence = s["headline.sentence"][1]
    assert "does not reproduce the log-rank test of overall survival by reason for prior immunotherapy failure " \
           "(published p = 0.031, here p = 0.874)" in sentence
    assert sentence.startswith("The synthetic cohort reproduces the objective response rate")


def test_abstract_says_the_prior_ici_failure_p_is_reproduced_when_it_is():
    from analysis.synthetic.scorecard import headline_reproduction

    card, targets = _card("exact", 0.0312)
    sentence = headline_reproduction(card, targets, {"prior_ici_failure": "Reason"})["headline.sentence"][1]
    assert "does not reproduce" not in sentence and "the log-rank test of overall survival by reason" in sentence


def test_abstract_names_an_interval_bound_not_reached_in_words_instead_of_failing():
    """Under another median interval (e.g. the log interval) a bound can be infinite (not reached) or undefined:
    the sentence says so (the median-ci-log scenario's scorecard stopped with decimal.InvalidOperation)."""
    from analysis.synthetic.scorecard import headline_reproduction

    card, targets = _card("exact", 0.0312)
    card.loc[card["key"] == "response.orr.upper", ["reproduced", "status"]] = [float("inf"), "off"]
    card.loc[card["key"] == "response.orr.lower", ["reproduced", "status"]] = [float("nan"), "off"]
    sentence = headline_reproduction(card, targets, {"prior_ici_failure": "Reason"})["headline.sentence"][1]
    assert "(published 21.5–44.8, here not computed to not reached)" in sentence


# --- the article's structure ------------------------------------------------------------------------------------
def test_abstract_is_structured_background_methods_results_conclusions():
    front = INDEX.read_text(encoding="utf-8").split("---")[1]
    pos = [front.index(f"**{h}.**") for h in ("Background", "Methods", "Results", "Conclusions")]
    assert pos == sorted(pos) and "@chen2025" not in front


def test_article_cites_supplement_items_through_supp_variables_that_the_supplement_defines():
    import re

    qmd = INDEX.read_text(encoding="utf-8")
    cited = set(re.findall(r"\{\{< var supp\.([\w-]+) >\}\}\]\(supplement\.html#([\w-]+)\)", qmd))
    assert cited and all(a == b for a, b in cited)
    labels = crossdoc.supplement_variables(PROJ_ROOT / "report") if (PROJ_ROOT / "results").is_dir() else None
    if labels:  # after a build: every cited label is in the supplement
        assert not [a for a, _ in cited if a not in labels]


def test_no_nested_includes_and_paths_relative_to_the_including_document():
    import re

    for doc in (INDEX, SUPPLEMENT):
        for target in re.findall(r"\{\{< include (\S+) >\}\}", doc.read_text(encoding="utf-8")):
            assert target.startswith("results/") or target == "_notebooks.md", target
    from analysis.synthetic import scorecard

    for reproduction in (True, False):
        assert "{{< include" not in scorecard.misses_markdown(reproduction)


def test_supplement_has_concordance_with_figure_3_not_reproducible_and_a_strobe_checklist():
    s = SUPPLEMENT.read_text(encoding="utf-8")
    assert "{#tbl-concordance}" in s and "{#tbl-strobe}" in s
    conc = s[s.index("## Concordance"):s.index("{#tbl-concordance}")]
    for item in ("Table 1", "Table 2", "Table 3", "Figure 1", "Figure 2", "Figure 3", "Figure 4", "Figure 5",
                 "Figure 6"):
        assert f"| {item} |" in conc, item
    assert "| Figure 3 | CT images of one patient before and after treatment | Not reproducible |" in conc
    strobe = s[s.index("## STROBE"):s.index("{#tbl-strobe}")]
    for i in range(1, 23):
        assert f"\n| {i} " in strobe, i


def test_crossdoc_numbers_tables_and_figures_separately_in_order():
    t = ": A {#tbl-a}\n\n![x](x.svg){#fig-x}\n\n```\n: not {#tbl-code}\n```\n: B {#tbl-b}\n## H {#sec-h}\n"
    assert crossdoc.supplement_labels(t) == {"tbl-a": "Supplementary Table S1", "fig-x": "Supplementary Figure S1",
                                            "tbl-b": "Supplementary Table S2", "sec-h": "Supplement, section “H”"}


@pytest.mark.parametrize("bad", ["re-analysis", "Synthetic", "scorecard"])
def test_hospital_data_statement_has_no_synthetic_or_reproduction_wording(bad):
    st = framing.data_statement(False, "city", 150, "", 2)
    assert bad not in st["callout"] + st["methods"] + st["discussion"]
