"""Cell sources of the report's notebooks (built into notebooks/*.ipynb by tools/nb_build.py).

Each notebook: a parameters cell (papermill), a load cell, then calls into
``analysis`` to compute, display and record results. No ``def`` anywhere.
"""

COMMON_PARAMS = '''
# Parameters (papermill overrides them from params/common.yaml and params/<section>.yaml)
data = "data/synthetic"   # cohort folder or workbook, relative to the project root or absolute
out = "."                 # output root: results go to <out>/results/<section>/
age_cut = 61              # age split of Tables 1 and 2 (the paper used its median age)
pfs_censor = "last_contact"  # or "last_assessment"
sd_min_days = 0           # minimum days from start for SD to count as best response
days_per_month = 30.4375  # days per month: months are days / days_per_month (params/common.yaml: 30, as the paper)
'''

LOAD = '''
from analysis import cohort as cohort_mod, fmt, plots, tables
from analysis.paths import resolve
from analysis.results import Results

opts = cohort_mod.DeriveOptions(age_cut=age_cut, pfs_censor=pfs_censor, sd_min_days=sd_min_days,
                                days_per_month=days_per_month)
cohort = cohort_mod.load_cohort(resolve(data), opts)
a = cohort.analysis
res = Results(SECTION, resolve(out), forbidden=cohort.identifiers(), inputs=cohort.sha256,
              params=dict(age_cut=age_cut, pfs_censor=pfs_censor, sd_min_days=sd_min_days,
                          days_per_month=days_per_month, **SECTION_PARAMS))
print(f"{cohort.n} patients analysed")
'''

NOTEBOOKS = {
    "01-cohort": [
        ("md", "# Cohort: baseline characteristics (Table 1) and patient flow (Figure 1)"),
        ("code", COMMON_PARAMS, ["parameters"]),
        ("code", 'SECTION = "01-cohort"\nSECTION_PARAMS = {}'),
        ("code", LOAD),
        ("md", "## What data this report is computed from"),
        ("code", '''
from analysis.results import git_commit

statement = cohort_mod.data_statement(cohort_mod.read_metadata(resolve(data)), cohort.n)
res.markdown("data-statement", statement["callout"])
res.markdown("data-methods", statement["methods"])
res.markdown("data-discussion", statement["discussion"])
res.number("cohort.data_statement_short", None, statement["short"])
res.number("cohort.git_commit", git_commit(), git_commit()[:12])
res.number("cohort.days_per_month", days_per_month, f"{days_per_month:g}")
print(statement["short"])
'''),
        ("md", "## Table 1"),
        ("code", '''
t1_data, t1 = tables.table1(cohort)
res.table("tbl-baseline", t1, f"Baseline characteristics of the {cohort.n} patients with previously "
          "immunotherapy-treated ES-SCLC.", data=t1_data)
res.numbers("cohort", tables.table1_numbers(t1_data, cohort.n))
t1
'''),
        ("md", "## Figure 1: patient flow"),
        ("code", '''
fig = plots.cohort_flow(a)
res.figure("fig-flow", fig, "Patient flow: the analysis populations of this report.",
           "Flow diagram from all treated patients to the response-evaluable patients, the responders "
           "analysed for duration of response, and the status at data cutoff.", width="80%")
'''),
        ("md", "## Data provenance and data-quality warnings"),
        ("code", '''
prov, warn = tables.data_provenance(cohort)
res.table("tbl-provenance", prov, "Input files and their SHA-256 checksums.")
res.table("tbl-data-warnings", warn, "Data-quality warnings raised by validation (counts of rows per rule).")
res.numbers("cohort", tables.study_numbers(cohort))
display(prov, warn)
'''),
        ("code", "res.write()"),
    ],
    "02-response": [
        ("md", "# Tumour response: best overall response, ORR and DCR, waterfall plot"),
        ("code", COMMON_PARAMS + '''
ci_method = "clopper-pearson"   # or "wilson", "jeffreys", "normal"
conf_level = 0.95
exclude_not_evaluable = False    # the paper keeps NE patients in the denominator
''', ["parameters"]),
        ("code", '''
SECTION = "02-response"
SECTION_PARAMS = dict(ci_method=ci_method, conf_level=conf_level, exclude_not_evaluable=exclude_not_evaluable)
'''),
        ("code", LOAD),
        ("code", '''
from analysis import recist, response
from analysis.control import ResponseControl

rctl = ResponseControl(ci_method=ci_method, conf_level=conf_level, exclude_not_evaluable=exclude_not_evaluable)
rr = response.orr_dcr(a["best_response"], rctl)
resp_data, resp_table = tables.response_table(rr)
res.table("tbl-response", resp_table, "Best overall response (RECIST 1.1), objective response rate and "
          f"disease control rate ({fmt.method_name(ci_method)} {100 * conf_level:g}% CI).", data=resp_data)
res.numbers("response", tables.response_numbers(rr))
res.number("response.method.ci", ci_method, fmt.method_name(ci_method))
resp_table
'''),
        ("code", '''
change = recist.summarise_change(a["best_pct_change"])
res.numbers("response.best_pct_change", change)
fig = plots.waterfall(a["best_pct_change"], a["best_response"])
res.figure("fig-waterfall", fig, "Waterfall plot of the best percentage change from baseline in the sum of "
           "target-lesion diameters; dashed lines at +20% and −30% (RECIST 1.1).",
           "Bar chart, one bar per evaluable patient sorted from the largest increase to the largest "
           "decrease, coloured by best overall response.")
'''),
        ("md", "## The deepest response (the paper's case report)"),
        ("code", '''
case = tables.deepest_response(cohort)
res.numbers("response.case_report", case)
{k: text for k, (value, text) in case.items()}
'''),
        ("code", "res.write()"),
    ],
    "03-survival": [
        ("md", "# Survival: duration of response, PFS (overall and by anlotinib dose), OS, follow-up"),
        ("code", COMMON_PARAMS + '''
conf_level = 0.95
median_ci = "spss"          # the paper's (SPSS); or "log", "log-log", "plain" (Brookmeyer–Crowley)
rate_ci = "log-log"         # landmark-rate CI (Stata sts list); or "log", "plain"
followup_method = "observed"     # the paper's (median of observed times); or "reverse_km"
landmarks_dor = [12, 20]
landmarks_pfs = [12, 24]
landmarks_os = [24, 30]
''', ["parameters"]),
        ("code", '''
SECTION = "03-survival"
SECTION_PARAMS = dict(conf_level=conf_level, median_ci=median_ci, rate_ci=rate_ci,
                      followup_method=followup_method, landmarks_dor=landmarks_dor,
                      landmarks_pfs=landmarks_pfs, landmarks_os=landmarks_os)
'''),
        ("code", LOAD),
        ("code", '''
from analysis import compare, endpoints, km
from analysis.control import SurvControl

ctrl = SurvControl(conf_level=conf_level, median_ci=median_ci, rate_ci=rate_ci)
resp = a[a["responder"]]
summ = {
    "Duration of response": endpoints.summarise_endpoint(resp["dor_months"], resp["dor_event"], landmarks_dor, ctrl),
    "Progression-free survival": endpoints.summarise_endpoint(a["pfs_months"], a["pfs_event"], landmarks_pfs, ctrl),
    "Overall survival": endpoints.summarise_endpoint(a["os_months"], a["os_event"], landmarks_os, ctrl),
}
res.numbers("survival.method", {"median_ci": (median_ci, fmt.method_name(median_ci)),
                                "median_ci_note": (None, endpoints.median_ci_note(median_ci)),
                                "rate_ci": (rate_ci, fmt.method_name(rate_ci))})
for key, s in zip(("dor", "pfs", "os"), summ.values()):
    res.numbers(f"survival.{key}", endpoints.endpoint_numbers(s))
surv_data, surv_table = endpoints.summary_tables(summ)
res.table("tbl-survival", surv_table, "Kaplan–Meier estimates: medians with "
          f"{fmt.method_name(median_ci)} {100 * conf_level:g}% CI and landmark rates with "
          f"{fmt.method_name(rate_ci)} CI.", data=surv_data)
surv_table
'''),
        ("code", '''
fu = km.median_followup(a["os_months"], a["os_event"], method=followup_method, ctrl=ctrl)
res.numbers("survival.followup", tables.followup_numbers(fu))
other = "reverse_km" if followup_method == "observed" else "observed"
fu_other = km.median_followup(a["os_months"], a["os_event"], method=other, ctrl=ctrl)
res.numbers("survival.followup_other", tables.followup_numbers(fu_other))
res.number("survival.data_cutoff", *tables.study_numbers(cohort)["cutoff"])
fu, fu_other
'''),
        ("code", '''
dose_var = [v for v in cohort.variables() if v.name == "anlotinib_dose_mg"]
by_dose = tables.subgroup_survival(a, dose_var, "pfs_months", "pfs_event", ctrl)
trend = compare.logrank_trend(a["pfs_months"], a["pfs_event"], a["dose_mg"])
res.numbers("survival.pfs_by_dose", tables.subgroup_numbers(by_dose, by_variable=False))
res.number("survival.pfs_by_dose.trend_p", trend.p, fmt.pvalue(trend.p))
by_dose
'''),
        ("code", '''
fig = plots.km_plot({"Responders": (resp["dor_months"], resp["dor_event"])}, ylabel="Remaining in response",
                    medians={"Responders": summ["Duration of response"].median.estimate})
res.figure("fig-dor-km", fig, f"Duration of response among the {len(resp)} patients with a partial or complete "
           "response (Kaplan–Meier; shaded: pointwise 95% CI; ticks: censored).",
           "Kaplan–Meier curve of duration of response with number at risk below.")
fig = plots.km_plot({"All patients": (a["pfs_months"], a["pfs_event"])}, ylabel="Progression-free survival",
                    medians={"All patients": summ["Progression-free survival"].median.estimate})
res.figure("fig-pfs-km", fig, f"Progression-free survival of the {cohort.n} patients.",
           "Kaplan–Meier curve of progression-free survival with number at risk below.")
groups = {f"{lab} mg": (a.loc[a["anlotinib_dose_mg"] == k, "pfs_months"], a.loc[a["anlotinib_dose_mg"] == k, "pfs_event"])
          for k, lab in dose_var[0].levels if (a["anlotinib_dose_mg"] == k).any()}
fig = plots.km_plot(groups, ylabel="Progression-free survival", ci=False,
                    annotation=f"log-rank p = {fmt.pvalue(by_dose['p'].iloc[0])}; trend p = {fmt.pvalue(trend.p)}")
res.figure("fig-pfs-dose-km", fig, "Progression-free survival by starting dose of anlotinib.",
           "Kaplan–Meier curves of progression-free survival for the 8, 10 and 12 mg groups.")
fig = plots.km_plot({"All patients": (a["os_months"], a["os_event"])}, ylabel="Overall survival",
                    medians={"All patients": summ["Overall survival"].median.estimate})
res.figure("fig-os-km", fig, f"Overall survival of the {cohort.n} patients.",
           "Kaplan–Meier curve of overall survival with number at risk below.")
'''),
        ("code", "res.write()"),
    ],
    "04-subgroups": [
        ("md", "# Overall survival by baseline subgroup (Table 2) and multivariable Cox model"),
        ("code", COMMON_PARAMS + '''
conf_level = 0.95
median_ci = "spss"
ties = "breslow"            # Stata stcox / SPSS default; or "efron"
# Cox covariates: reference level, "numeric" (dose in mg, HR per mg) or None (ordinal score of the levels)
cox_covariates = {"ecog_group": "ecog_2", "platinum_response": "resistant", "prior_ici_class": "pdl1",
                  "prior_ici_failure": "intolerance", "anlotinib_dose_mg": "numeric"}
p_adjust = "none"           # the paper applied none; "fdr_bh" for Benjamini–Hochberg
''', ["parameters"]),
        ("code", '''
SECTION = "04-subgroups"
SECTION_PARAMS = dict(conf_level=conf_level, median_ci=median_ci, ties=ties, cox_covariates=cox_covariates,
                      p_adjust=p_adjust)
'''),
        ("code", LOAD),
        ("code", '''
from analysis import compare
from analysis.control import CoxControl, SurvControl

ctrl = SurvControl(conf_level=conf_level, median_ci=median_ci)
variables = [v for v in cohort.variables() if v.name != "stage"]
sub = tables.subgroup_survival(a, variables, "os_months", "os_event", ctrl)
sub["p_adjusted"] = tables.adjust_by_variable(sub, p_adjust)
res.numbers("subgroups", tables.subgroup_numbers(sub))
'''),
        ("code", '''
cox, terms = tables.cox_table(a, "os_months", "os_event", cox_covariates, CoxControl(ties=ties, conf_level=conf_level))
res.numbers("subgroups.cox", tables.cox_numbers(cox))
res.number("subgroups.method.ties", ties, ties.capitalize())
cox.summary
'''),
        ("code", '''
t2 = tables.table2(sub, cox.summary)
res.table("tbl-subgroups", t2, "Median overall survival by baseline subgroup (log-rank test) and the "
          f"multivariable Cox model ({ties.capitalize()} ties).", data=sub,
          note="Cox terms: " + "; ".join(f"{cohort_mod.variable_label(cohort, t)}: {d}" for t, d in terms.items())
          + ". P values are not adjusted for multiplicity" + ("" if p_adjust == "none" else
          f" in the table; {p_adjust} adjusted values are in the CSV") + ".")
ph = cox.ph_test()
res.table("tbl-cox-ph", tables.ph_table(ph.table), "Proportional-hazards check: scaled Schoenfeld residuals "
          f"(Grambsch–Therneau, {ph.transform} time scale) for each Cox term and globally.", data=ph.table)
fig = plots.forest(cox.summary, {t: cohort_mod.variable_label(cohort, t) for t in terms})
res.figure("fig-cox-forest", fig, "Hazard ratios for death from the multivariable Cox model (95% CI).",
           "Forest plot of the Cox model hazard ratios on a log scale.")
t2
'''),
        ("code", "res.write()"),
    ],
    "05-safety": [
        ("md", "# Safety: treatment-related adverse events by grade (Table 3)"),
        ("code", COMMON_PARAMS, ["parameters"]),
        ("code", 'SECTION = "05-safety"\nSECTION_PARAMS = {}'),
        ("code", LOAD),
        ("code", '''
from analysis import safety
from analysis.schema import columns

labels = columns("adverse_events")["ae_term"].labels
trae = cohort.treatment_related_aes()
ae_sum = safety.ae_summary(trae, cohort.n, id_col="subject")
t3 = tables.table3(ae_sum, labels, cohort.n)
res.table("tbl-safety", t3, f"Treatment-related adverse events (CTCAE v5.0) in the {cohort.n} patients; "
          "each patient counted once per event at the worst grade.", data=ae_sum)
res.numbers("safety", tables.safety_numbers(ae_sum))
grade5 = safety.patients_with_grade(trae, 5, id_col="subject")
res.number("safety.grade5.any_n", grade5, str(grade5))
res.number("safety.grade5.any_pct", 100 * grade5 / cohort.n, fmt.percent(100 * grade5 / cohort.n))
t3
'''),
        ("code", "res.write()"),
    ],
    "06-scorecard": [
        ("md", "# Reproduction scorecard: every published number against its reproduction"),
        ("code", COMMON_PARAMS + '''
targets = "data/published_targets.yaml"   # the paper's numbers (key, value, precision, location)
''', ["parameters"]),
        ("code", 'SECTION = "06-scorecard"\nSECTION_PARAMS = dict(targets=targets)'),
        ("code", LOAD),
        ("code", '''
import yaml

from analysis import audit, interval_fit, misses, scorecard
from analysis.results import collect_numbers
from analysis.targets import load_targets

published = load_targets(resolve(targets))
paper_audit = audit.audit_paper(published)
reproduced = collect_numbers(resolve(out) / "results")
card = scorecard.scorecard(published, reproduced, paper_audit)
unreachable = audit.unreachable(published, paper_audit)  # what the paper itself rules out
summary = scorecard.summarise(card, unreachable=unreachable)
summary
'''),
        ("code", '''
head = scorecard.headline(card, unreachable)
res.numbers("scorecard", head)
summ_disp, card_disp = scorecard.display_tables(card, summary)
res.table("tbl-scorecard-summary", summ_disp, "Reproduction of the published numbers, by section: "
          "counts of numbers per status, and the most any data set can reproduce together (at most: the total "
          "less the numbers the paper itself puts out of reach, with every count exact).",
          data=summary.reset_index())
res.table("tbl-scorecard", card_disp, "Every published number, its reproduction and its status.", data=card)
incons = paper_audit[~paper_audit["consistent"]]
res.table("tbl-paper-audit", incons[["key", "check", "note"]].rename(columns=str.capitalize),
          "Published numbers that contradict other numbers of the paper (consistency audit).", data=paper_audit)
res.markdown("audit-findings", audit.findings_text(published))
feasible = audit.landmark_feasibility(published, reproduced)
# why each interval prints or not: only where the run's intervals are the paper's (SPSS, 95 %)
run = {sec: yaml.safe_load((resolve(out) / "results" / sec / "manifest.yaml").read_text())["parameters"]
       for sec in ("03-survival", "04-subgroups")}
intervals = misses.paper_intervals(interval_fit.explain(a, published, days_per_month), run["03-survival"],
                                   run["04-subgroups"])
res.markdown("scorecard-text", " ".join(x for x in (head["sentence"][1], head["ceiling_sentence"][1]) if x)
             + " Exact means equal when rounded to the decimals the "
             "paper prints; the tolerances and the consistency audit of the paper's own numbers are described "
             "in the appendix (@tbl-scorecard, @tbl-paper-audit), and every number that is not exact is listed "
             "with the reason, computed from the data, in @tbl-misses. "
             + audit.landmark_feasibility_text(feasible)
             + (" " + interval_fit.explain_text(intervals, days_per_month)
                if misses.is_paper_interval(run["04-subgroups"]) else ""))
why = misses.explain_misses(card, published, a, paper_audit, intervals, days_per_month=days_per_month,
                            rate_ci=run["03-survival"]["rate_ci"], conf_level=run["03-survival"]["conf_level"],
                            followup_method=run["03-survival"]["followup_method"])
res.table("tbl-misses", misses.misses_table(card, why), "Every published number that is not reproduced exactly, "
          "and why (computed from the analysed data and the published numbers).",
          data=card.assign(reason=why)[card["status"] != "exact"], left=("Why not exact",),
          widths=(12, 3, 3, 3, 9))
card_disp
'''),
        ("code", "res.write()"),
    ],
}
