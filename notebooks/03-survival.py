# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Survival: duration of response, PFS (overall and by anlotinib dose), OS, follow-up
#
# Reads the validated cohort (`data`) with `params/common.yaml` and `params/03-survival.yaml`, and computes the Kaplan–Meier estimates of duration of response, progression-free survival (overall and by starting dose) and overall survival: medians with confidence intervals, landmark rates, the median follow-up, the dose comparison and the four Kaplan–Meier figures. Writes `results/03-survival/`.

# %% tags=["parameters"]
# Parameters: the defaults are params/common.yaml and params/<section>.yaml (a test checks they agree);
# papermill overrides them from those files
data = "data/synthetic"   # cohort folder or workbook, relative to the project root or absolute
out = "."                 # output root: results go to <out>/results/<section>/
age_cut = 61              # age split of Tables 1 and 2 (the paper used its median age)
pfs_censor = "last_contact"  # or "last_assessment"
sd_min_days = 0           # minimum days from start for SD to count as best response
days_per_month = 30       # days per month: months are days / days_per_month (the paper: 30)

conf_level = 0.95
median_ci = "spss"          # the paper's (SPSS); or "log", "log-log", "plain" (Brookmeyer–Crowley)
rate_ci = "log-log"         # landmark-rate CI (Stata sts list); or "log", "plain"
followup_method = "observed"     # the paper's (median of observed times); or "reverse_km"
landmarks_dor = [12, 20]
landmarks_pfs = [12, 24]
landmarks_os = [24, 30]
exclude_deaths_within = 0   # landmark analysis: leave out patients who died within the first N months

# %%
SECTION = "03-survival"
SECTION_PARAMS = dict(conf_level=conf_level, median_ci=median_ci, rate_ci=rate_ci,
                      followup_method=followup_method, landmarks_dor=landmarks_dor,
                      landmarks_pfs=landmarks_pfs, landmarks_os=landmarks_os,
                      exclude_deaths_within=exclude_deaths_within)

# %%
from analysis.report import fmt, plots, tables
from analysis.report.results import open_section
from analysis.data.cohort import is_shipped_synthetic

cohort, res = open_section(SECTION, data, out, dict(age_cut=age_cut, pfs_censor=pfs_censor, sd_min_days=sd_min_days,
                                                    days_per_month=days_per_month), SECTION_PARAMS)
a = cohort.analysis
print(f"{cohort.n} patients analysed")

# %%
from analysis.stats import compare, km
from analysis.report import endpoints, text
from analysis.stats.control import SurvControl
from analysis.data.landmark import exclude_early_deaths

a = exclude_early_deaths(a, exclude_deaths_within)
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
res.number("survival.method.text", None, text.survival_methods(median_ci, rate_ci, followup_method, conf_level))
res.number("survival.method.population_text", None,
           text.survival_population(pfs_censor, exclude_deaths_within, cohort.n - len(a)))
for key, s in zip(("dor", "pfs", "os"), summ.values()):
    res.numbers(f"survival.{key}", endpoints.endpoint_numbers(s))
surv_data, surv_table = endpoints.summary_tables(summ)
res.table("tbl-survival", surv_table, "Kaplan–Meier estimates: medians with "
          f"{fmt.method_name(median_ci)} {100 * conf_level:g}% CI and landmark rates with "
          f"{fmt.method_name(rate_ci)} CI.", data=surv_data)
surv_table

# %%
fu = km.median_followup(a["os_months"], a["os_event"], method=followup_method, ctrl=ctrl)
res.numbers("survival.followup", tables.followup_numbers(fu))
other = "reverse_km" if followup_method == "observed" else "observed"
fu_other = km.median_followup(a["os_months"], a["os_event"], method=other, ctrl=ctrl)
res.numbers("survival.followup_other", tables.followup_numbers(fu_other))
res.number("survival.data_cutoff", *tables.study_numbers(cohort)["cutoff"])
fu, fu_other

# %%
dose_var = [v for v in cohort.variables() if v.name == "anlotinib_dose_mg"]
by_dose = tables.subgroup_survival(a, dose_var, "pfs_months", "pfs_event", ctrl)
trend = compare.logrank_trend(a["pfs_months"], a["pfs_event"], a["dose_mg"])
res.numbers("survival.pfs_by_dose", tables.subgroup_numbers(by_dose, by_variable=False))
res.number("survival.pfs_by_dose.trend_p", trend.p, fmt.pvalue(trend.p))
by_dose

# %% [markdown]
# ## The survival results as running text

# %%
paragraphs = text.survival_paragraphs(summ, fu, fu_other, by_dose, trend.p, conf_level)
res.markdown("survival-text", paragraphs["text"])
res.number("survival.abstract_text", None, paragraphs["abstract"])
print(paragraphs["text"])

# %%
if len(resp):
    fig = plots.km_plot({"Responders": (resp["dor_months"], resp["dor_event"])}, ylabel="Remaining in response",
                        medians={"Responders": summ["Duration of response"].median.estimate})
    res.figure("fig-dor-km", fig, text.caption_prefix(is_shipped_synthetic(cohort.sha256)) + f"Duration of response among the {len(resp)} patients with a partial or "
               "complete response (Kaplan–Meier; shaded: pointwise 95% CI; ticks: censored).",
               "Kaplan–Meier curve of duration of response with number at risk below.")
    display(fig)
else:
    res.markdown("fig-dor-km", "")
fig = plots.km_plot({"All patients": (a["pfs_months"], a["pfs_event"])}, ylabel="Progression-free survival",
                    medians={"All patients": summ["Progression-free survival"].median.estimate})
res.figure("fig-pfs-km", fig, text.caption_prefix(is_shipped_synthetic(cohort.sha256)) + f"Progression-free survival of the {cohort.n} patients.",
           "Kaplan–Meier curve of progression-free survival with number at risk below.")
display(fig)
groups = {f"{lab} mg": (a.loc[a["anlotinib_dose_mg"] == k, "pfs_months"], a.loc[a["anlotinib_dose_mg"] == k, "pfs_event"])
          for k, lab in dose_var[0].levels if (a["anlotinib_dose_mg"] == k).any()}
fig = plots.km_plot(groups, ylabel="Progression-free survival", ci=False,
                    annotation=(f"log-rank {text.p_text(by_dose['p'].iloc[0])}; trend {text.p_text(trend.p)}"
                                if len(groups) > 1 else None))
res.figure("fig-pfs-dose-km", fig, text.caption_prefix(is_shipped_synthetic(cohort.sha256)) + "Progression-free survival by starting dose of anlotinib.",
           f"Kaplan–Meier curves of progression-free survival for the {text.join(groups)} group"
           f"{'s' if len(groups) > 1 else ''}.")
display(fig)
fig = plots.km_plot({"All patients": (a["os_months"], a["os_event"])}, ylabel="Overall survival",
                    medians={"All patients": summ["Overall survival"].median.estimate})
res.figure("fig-os-km", fig, text.caption_prefix(is_shipped_synthetic(cohort.sha256)) + f"Overall survival of the {cohort.n} patients.",
           "Kaplan–Meier curve of overall survival with number at risk below.")
display(fig)

# %%
res.write()
