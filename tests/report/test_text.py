"""The sentence layer and the table builders on odd results: each case of issue #20's "Measured" list.

Every sentence that depends on the data must be true for the cohort it describes (levels, doses, AE
terms, model terms from the data and the parameters), with p values as "p = 0.031" / "p < 0.001" and
"not reached" in words.
"""
import math
import re

import numpy as np
import pandas as pd
import pytest

from analysis.paths import PROJ_ROOT
from analysis.report import endpoints, fmt, tables, text
from analysis.stats import km
from analysis.stats.control import CoxControl, SurvControl

INF, NAN = math.inf, math.nan


def _frame(n=40, seed=1, **cols):
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({
        "os_months": rng.exponential(12, n).round(1) + 0.1, "os_event": rng.integers(0, 2, n),
        "ecog": rng.integers(0, 3, n), "dose_mg": rng.choice([8, 10, 12], n),
        "platinum_response": rng.choice(["sensitive", "resistant"], n),
        "prior_ici_class": rng.choice(["pd1", "pdl1"], n),
        "prior_ici_failure": rng.choice(["progression", "intolerance"], n)})
    d["ecog_group"] = np.where(d["ecog"] <= 1, "ecog_0_1", "ecog_2")
    d["anlotinib_dose_mg"] = ["mg%d" % x for x in d["dose_mg"]]
    for k, v in cols.items():
        d[k] = v
    return d


# --- crashes on valid data --------------------------------------------------------------------
def test_one_level_cox_covariate_every_patient_platinum_resistant_is_dropped_with_a_note():
    """R: coxph(Surv(t, e) ~ ecog + platinum) with one platinum level gives platinum an NA coefficient;
    the report drops it and says so, instead of raising 'must have two levels'."""
    d = _frame(platinum_response="resistant")
    m = tables.fit_cox_model(d, "os_months", "os_event", tables.PAPER_COX_COVARIATES, CoxControl())
    assert m.result is not None and "platinum_response" not in set(m.result.summary["term"])
    assert m.dropped["platinum_response"] == "one level in this cohort: Platinum-resistant"
    para = text.cox_paragraph(m.summary, m.terms, {"platinum_response": "Response to platinum-based treatment"},
                              m.dropped, n=len(d), events=int(d["os_event"].sum()))
    assert "Response to platinum-based treatment was left out of the model (one level in this cohort" in para
    assert tables.table2(pd.DataFrame({"variable": ["platinum_response"], "variable_label": ["P"],
                                       "level": ["resistant"], "label": ["R"], "n": [40], "events": [20],
                                       "median": [5.0], "lower": [3.0], "upper": [7.0], "p": [NAN]}),
                         m.summary, dropped=m.dropped)["HR (95% CI)"].iloc[0] == "not in model"
    with pytest.raises(ValueError, match="must have two levels"):  # the strict design still refuses
        tables.cox_design(d, {"platinum_response": "resistant"})


def test_every_patient_on_the_same_dose_no_by_dose_comparison_said_so():
    by_dose = pd.DataFrame({"variable": ["anlotinib_dose_mg"], "level": ["mg10"], "label": ["10"], "n": [68],
                            "events": [49], "median": [5.6], "lower": [3.87], "upper": [7.33], "p": [NAN]})
    s = text.dose_paragraph(by_dose, NAN)
    assert "Every patient started anlotinib at 10 mg" in s and "not compared by dose" in s
    assert "8 mg" not in s and "12 mg" not in s and "p =" not in s
    d = _frame(dose_mg=10, anlotinib_dose_mg="mg10")
    m = tables.fit_cox_model(d, "os_months", "os_event", tables.PAPER_COX_COVARIATES, CoxControl())
    assert m.dropped["anlotinib_dose_mg"] == "every patient has the same value (10 mg)"


def test_everyone_censored_no_events_medians_not_reached_and_no_cox_model():
    d = _frame(os_event=0)
    m = tables.fit_cox_model(d, "os_months", "os_event", tables.PAPER_COX_COVARIATES, CoxControl())
    assert m.result is None and m.note == "there is no death in this cohort"
    assert text.cox_paragraph(None, m.terms, {}, m.dropped, n=40, events=0, note=m.note).startswith(
        "No multivariable Cox model was fitted: there is no death in this cohort.")
    s = endpoints.summarise_endpoint(d["os_months"], d["os_event"], [12], SurvControl())
    assert math.isinf(s.median.estimate)
    assert text.median_text(s.median.estimate, s.median.lower, s.median.upper).startswith("not reached")
    assert "CI not estimable" in endpoints.landmark_sentence(s) and "not estimable%" not in endpoints.landmark_sentence(s)
    assert text.cox_discussion(m.terms, 0, fitted=False, why=m.note) == (
        "no Cox model was fitted to this cohort (there is no death in this cohort), so it gives no adjusted hazard ratios")
    assert "model is small" not in text.cox_limitation(m.terms, 0, fitted=False)


def test_five_patient_cohort_cox_model_fits_or_says_why_never_raises():
    d = _frame(n=5, seed=3)
    d.loc[:, "prior_ici_class"] = "pdl1"
    m = tables.fit_cox_model(d, "os_months", "os_event", tables.PAPER_COX_COVARIATES, CoxControl())
    assert "prior_ici_class" in m.dropped
    assert m.result is None or m.note or m.result.converged  # a fit, or a plain reason
    para = text.cox_paragraph(m.summary, m.terms, {}, m.dropped, n=5, events=int(d["os_event"].sum()),
                              note=m.note)
    assert "Traceback" not in para and para


def test_collinear_cox_terms_in_a_small_cohort_are_dropped_as_R_gives_NA():
    """R: coxph(Surv(t, e) ~ a + b) with b == a gives b an NA coefficient."""
    d = _frame(n=30, seed=4)
    d["prior_ici_failure"] = np.where(d["platinum_response"] == "resistant", "progression", "intolerance")
    m = tables.fit_cox_model(d, "os_months", "os_event", {"platinum_response": "resistant",
                                                          "prior_ici_failure": "intolerance"}, CoxControl())
    assert m.dropped == {"prior_ici_failure": "collinear with the other terms in this cohort"}
    assert list(m.result.summary["term"]) == ["platinum_response"]


# --- untrue sentences ---------------------------------------------------------------------------
def test_paper_n_in_the_introduction_comes_from_the_targets_not_the_cohort():
    from analysis.synthetic.scorecard import paper_n
    from analysis.synthetic.targets import load_targets

    from analysis.report.framing import introduction, population

    assert paper_n(load_targets()) == 68
    qmd = (PROJ_ROOT / "report" / "index.qmd").read_text(encoding="utf-8")
    intro = qmd[qmd.index("## Introduction"):qmd.index("## Methods")]
    assert "results/06-scorecard/introduction.md" in intro and "cohort.n" not in intro
    pop = population({"extensive": 150})
    assert "reported 68 patients" in introduction(False, 68, pop) and "reported 99 patients" in introduction(True, 99, pop)


def test_most_frequent_adverse_events_ranked_from_the_data_anorexia_first():
    s = pd.DataFrame({"term": ["any", "anorexia", "fatigue", "rash", "hypertension", "pneumonia"],
                      "any_n": [10, 9, 5, 5, 2, 1], "any_pct": [100.0, 90.0, 50.0, 50.0, 20.0, 10.0],
                      "grade3plus_n": [3, 1, 1, 0, 1, 0], "grade3plus_pct": [30.0, 10.0, 10.0, 0.0, 10.0, 0.0]})
    labels = {"anorexia": "Anorexia", "fatigue": "Fatigue", "rash": "Rash", "hypertension": "Hypertension"}
    assert text.most_frequent(s, labels, k=2) == ["anorexia", "fatigue", "rash"]  # tie with the 2nd: both named
    para = text.safety_paragraph(s, labels, 10, 0, k=4)
    assert "The most frequent were anorexia (90.0%), fatigue (50.0%), rash (50.0%) and hypertension (20.0%)." in para
    none = s.iloc[:1].assign(any_n=0, any_pct=0.0, grade3plus_n=0, grade3plus_pct=0.0)
    assert text.safety_paragraph(none, labels, 10, 0) == ("No treatment-related adverse event was recorded in the "
                                                          "10 patients (@tbl-safety).")


def test_numeric_ecog_cox_term_is_a_hazard_ratio_per_point_not_0_1_against_2():
    d = _frame(n=60, seed=5)
    cov = {"ecog_group": "numeric", "platinum_response": "resistant", "prior_ici_class": "pdl1",
           "anlotinib_dose_mg": "numeric"}
    m = tables.fit_cox_model(d, "os_months", "os_event", cov, CoxControl())
    assert m.terms["ecog_group"] == "per 1 ECOG point"
    labels = {"ecog_group": "ECOG performance status"}
    para = text.cox_paragraph(m.summary, m.terms, labels, m.dropped, n=60, events=int(d["os_event"].sum()))
    assert "ECOG performance status (per 1 ECOG point): HR" in para and "0–1" not in para
    methods = text.cox_methods(m.terms, labels, m.dropped, paper_model=cov == tables.PAPER_COX_COVARIATES)
    assert methods.startswith("the 4 covariates set in the parameters") and "paper" not in methods
    assert "five" not in text.cox_discussion(m.terms, 30) and "4 terms" in text.cox_discussion(m.terms, 30)
    paper = text.cox_methods({"a": "x"} | {f"t{i}": "y" for i in range(4)}, {}, {}, paper_model=True)
    assert paper.startswith("the 5 covariates the paper selected")


def test_hazard_ratio_direction_worded_from_the_estimate_and_the_reference():
    summ = pd.DataFrame({"term": ["ecog_group", "x"], "hr": [0.43, 2.5], "lower": [0.21, 1.2],
                         "upper": [0.88, 5.2], "p": [0.02, 0.01]})
    para = text.cox_paragraph(summ, {"ecog_group": "0–1 vs ≥2", "x": "yes vs no"}, {"ecog_group": "ECOG"}, {},
                              n=68, events=44, lr_chisq=7.0, lr_p=0.03)
    assert "ECOG (0–1 vs ≥2): HR 0.43 (95% CI 0.21–0.88; p = 0.020), a significantly lower hazard of death" in para
    assert "x (yes vs no): HR 2.50 (95% CI 1.20–5.20; p = 0.010), a significantly higher hazard of death" in para


def test_followup_reverse_km_is_not_called_the_definition_of_the_papers_figure():
    rev = text.followup_text("reverse_km")
    assert "the paper's published follow-up" not in rev and rev.startswith("Median follow-up is the reverse")
    assert "fits" not in text.followup_text("observed") and "median with a range" in text.followup_text("observed")


def test_rate_ci_log_does_not_credit_statas_sts_list():
    assert "sts list" not in text.survival_methods("spss", "log", "observed")
    assert "sts list" in text.survival_methods("spss", "log-log", "observed")
    assert "Brookmeyer–Crowley 95% interval (log(−log)-transformed" in text.survival_methods("log-log", "log", "observed")


@pytest.mark.parametrize("p, out", [(0.0004, "p < 0.001"), (0.0312, "p = 0.031"), (NAN, "p not computed"),
                                    (1.0, "p = 1.000")])
def test_p_values_in_prose_p_less_than_never_p_equals_less_than(p, out):
    assert text.p_text(p) == out and "= <" not in text.p_text(p)


def test_followup_not_reached_in_words_never_nr_months():
    fu = km.FollowUp(INF, 20.0, INF, 1.0, 30.0, "reverse_km")
    other = km.FollowUp(12.0, NAN, NAN, 1.0, 30.0, "observed")
    s = endpoints.summarise_endpoint([1.0, 2.0, 3.0], [0, 0, 0], [1], SurvControl())
    summ = {"Duration of response": endpoints.summarise_endpoint([], [], [1], SurvControl()),
            "Progression-free survival": s, "Overall survival": s}
    by_dose = pd.DataFrame({"label": ["10"], "median": [INF], "lower": [INF], "upper": [INF], "p": [NAN]})
    out = text.survival_paragraphs(summ, fu, other, by_dose, NAN)
    both = out["text"] + out["abstract"]
    assert "NR months" not in both and "NR" not in both
    assert "with the median follow-up not reached" in out["abstract"]
    assert "The median follow-up was not reached" in out["text"]
    assert "duration of response was not analysed" in both


def test_median_never_prints_outside_its_own_printed_interval():
    assert fmt.estimate_in_ci(1.38, 0.79, 1.38) == "1.38"  # "1.4 (0.79–1.38)" looked outside
    assert fmt.estimate_in_ci(5.6, 3.87, 7.33) == "5.6"  # the paper's precision stays the default
    assert text.median_text(1.38, 0.79, 1.38) == "1.38 months (95% CI 0.79–1.38)"
    s = endpoints.EndpointSummary(10, 5, km.Median(1.38, 0.79, 1.38, "spss"), {}, None)
    assert endpoints.endpoint_numbers(s)["median"][1] == "1.38"
    assert endpoints.summary_row("x", s)["Median, months (95% CI)"] == "1.38 (0.79–1.38)"


def test_scorecard_counts_the_papers_30_published_median_intervals_whatever_the_cohort_has():
    from analysis.synthetic import interval_fit
    from analysis.synthetic.targets import load_targets

    assert interval_fit.published_interval_count(load_targets()) == 30
    ex = pd.DataFrame({"key": [f"subgroups.v.l{i}" for i in range(27)], "status": ["prints"] * 27})
    s = interval_fit.explain_text(ex, 30, total=30)
    assert s.startswith("Of the 30 published median intervals") and "3 are not computed" in s


def test_audit_paragraph_does_not_end_with_the_synthetic_cohort_prints():
    from analysis.synthetic import audit
    from analysis.synthetic.targets import load_targets

    assert "synthetic cohort prints" not in audit.findings_text(load_targets())


def test_baseline_paragraph_names_only_levels_present():
    assert text.level_breakdown("Type of prior immunotherapy", [("PD-1 inhibitors", 0, 0.0),
                                                                ("PD-L1 inhibitors", 5, 100.0)], 5) == \
        "type of prior immunotherapy: PD-L1 inhibitors in all 5 patients"


def test_index_qmd_names_no_level_dose_term_or_covariate_count_the_data_may_lack():
    qmd = (PROJ_ROOT / "report" / "index.qmd").read_text(encoding="utf-8")
    body = qmd[qmd.index("## Introduction"):]
    for bad in ("mg8", "mg10", "mg12", "8 mg", "10 mg", "12 mg", "8–12 mg", "fatigue", "nausea", "hypertension",
                "hematologic", "ecog_0_1", "ecog_2", "five covariates", "the covariates the paper selected",
                "p = {{<", "Stata's `sts list`", "Reproduction of the published results"):
        assert bad not in body, bad
    # every {{< var >}} the text uses is one every valid cohort defines (no level keys)
    keys = re.findall(r"\{\{< var ([\w.]+) >\}\}", qmd)
    assert not [k for k in keys if re.search(r"\.(mg\d+|ecog_|fatigue|nausea|intolerance|progression)", k)]


def test_methods_sentences_follow_the_parameters_not_the_paper():
    """With exclude_not_evaluable, pfs_censor: last_assessment and a landmark exclusion the Methods say so
    (they said 'as in the paper, kept in the denominator' and 'censored at the date last known alive')."""
    from analysis.report.text import proportion_methods, survival_population

    paper = proportion_methods("clopper-pearson", 0.95, False)
    assert "give the paper's published intervals" in paper and "count in the denominators" in paper
    other = proportion_methods("jeffreys", 0.9, True)
    assert "give the paper's published intervals" not in other and "90%" in other and "left out of the denominators" in other
    assert "last tumour assessment" not in survival_population("last_contact")
    assert "last tumour assessment" in survival_population("last_assessment")
    assert "landmark" not in survival_population("last_contact", 0, 0)
    assert "the patient who died within the first 2 months" in survival_population("last_contact", 2, 1)


def test_best_response_sentence_names_only_what_occurs():
    """'a complete response in 0 patients (0.0%) … 1 (3.3%) were not evaluable' (a 30-patient cohort): absent
    categories are said in words, a count of one is singular, the table reference closes the first sentence."""
    import pandas as pd

    from analysis.report.text import best_response_sentence
    from analysis.stats import response

    s = best_response_sentence(response.orr_dcr(pd.Series(["PR"] * 12 + ["SD"] * 11 + ["PD"] * 6 + ["NE"])),
                               "@tbl-response")
    assert "in 0 patients" not in s and " (0.0%)" not in s and "No patient had a complete response." in s
    assert "1 patient (3.3%) was not evaluable (@tbl-response)." in s
    assert s.startswith("The best overall response was a partial response in 12 patients (40.0%)")


def test_a_selection_rule_that_chooses_no_covariate_is_said_as_such_not_as_one_level_covariates():
    """cox_selection: univariable on a cohort where no log-rank p is below 0.05: the Methods name the rule and say
    none qualified, the Results say no covariate was selected (the cohort has many two-level covariates, so "no
    covariate has two levels" was untrue), and the Discussion and Limitations speak of no model's size."""
    from analysis.stats.selection import select_covariates

    d = _frame(n=60, seed=5)
    sub = pd.DataFrame({"variable": ["ecog_group"] * 2 + ["sex"] * 2, "level": ["ecog_0_1", "ecog_2", "male", "female"],
                        "p": [0.4] * 2 + [0.7] * 2})
    chosen, _ = select_covariates(sub, tables.PAPER_COX_COVARIATES, "univariable", 0.05)
    m = tables.fit_cox_model(d, "os_months", "os_event", chosen, CoxControl())
    assert chosen == {} and m.result is None and m.note == "no covariate was selected for it"
    para = text.cox_paragraph(None, m.terms, {}, m.dropped, n=60, events=int(d["os_event"].sum()), note=m.note)
    assert para == "No multivariable Cox model was fitted: no covariate was selected for it."
    assert text.cox_methods(m.terms, {}, m.dropped, False, "univariable", 0.05) == (
        "the baseline characteristics with a log-rank p < 0.05 (none in this cohort)")
    events = int(d["os_event"].sum())
    assert text.cox_discussion(m.terms, events, fitted=False, why=m.note).startswith("no Cox model was fitted")
    assert text.cox_limitation(m.terms, events, fitted=False) == "Many subgroups were compared; the comparisons are exploratory."
    # the same rule choosing one covariate names it
    one = text.cox_methods({"ecog_group": "0–1 vs ≥2"}, {"ecog_group": "ECOG"}, {}, False, "univariable", 0.1)
    assert one == "the 1 baseline characteristic with a log-rank p < 0.1: ECOG (0–1 vs ≥2)"


def test_one_level_covariates_and_collinear_terms_keep_their_own_reason():
    d = _frame(n=60, seed=5)
    d["ecog_group"] = "ecog_0_1"
    m = tables.fit_cox_model(d, "os_months", "os_event", {"ecog_group": "ecog_2"}, CoxControl())
    assert m.result is None and m.note == "no covariate has two levels in this cohort"


def test_the_discussion_calls_the_model_small_only_below_ten_deaths_per_term():
    terms = {f"t{i}": "x" for i in range(5)}
    assert "near the limit" in text.cox_discussion(terms, 44) and "is small" in text.cox_limitation(terms, 44)
    big = text.cox_discussion(terms, 300)
    assert "near the limit" not in big and "(60 deaths per term)" in big and "at least the 10 deaths per term" in big
    assert "is small" not in text.cox_limitation(terms, 300)
