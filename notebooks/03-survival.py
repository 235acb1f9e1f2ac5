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
km_min_at_risk = 5          # Kaplan–Meier figures: curves drawn while at least this many remain at risk

# %%
SECTION = "03-survival"
SECTION_PARAMS = dict(conf_level=conf_level, median_ci=median_ci, rate_ci=rate_ci,
                      followup_method=followup_method, landmarks_dor=landmarks_dor,
                      landmarks_pfs=landmarks_pfs, landmarks_os=landmarks_os,
                      exclude_deaths_within=exclude_deaths_within, km_min_at_risk=km_min_at_risk)

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
surv_caption = (f"Kaplan–Meier estimates: medians with {fmt.method_name(median_ci)} {100 * conf_level:g}% CI and "
                f"landmark rates with {fmt.method_name(rate_ci)} CI.")
res.table("tbl-survival", surv_table, surv_caption, data=surv_data, left=("Landmark rates (95% CI)",),
          note=tables.table_note(surv_table, surv_caption, "Duration of response among the responders; "
                                 "landmark rates are the percentage without the event at that month."))
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

# %% [markdown]
# ## Figure: the Kaplan–Meier curves as one multi-panel figure, and each panel alone

# %%
from analysis.report import alt
from analysis.stats.km import Median

plots.check_min_at_risk(km_min_at_risk)
dose_groups = {f"{lab} mg": (a.loc[a["anlotinib_dose_mg"] == k, "pfs_months"], a.loc[a["anlotinib_dose_mg"] == k, "pfs_event"])
               for k, lab in dose_var[0].levels if (a["anlotinib_dose_mg"] == k).any()}
dose_medians = {f"{r.label} mg": Median(r.median, r.lower, r.upper, median_ci, conf_level) for r in by_dose.itertuples()}
panels = plots.km_panels((resp["dor_months"], resp["dor_event"], summ["Duration of response"].median),
                         (a["pfs_months"], a["pfs_event"], summ["Progression-free survival"].median),
                         (a["os_months"], a["os_event"], summ["Overall survival"].median),
                         dose_groups, dose_medians, by_dose["p"].iloc[0] if len(by_dose) else None, trend.p)
km_figs = plots.km_figure_parts(panels, conf_level=conf_level, min_at_risk=km_min_at_risk)
km_alts = alt.km_panels(panels, km_min_at_risk)
# captions: one place for all, each opening with the cohort's framing ("Synthetic cohort." for the shipped one)
km_prefix = text.caption_prefix(is_shipped_synthetic(cohort.sha256))
km_captions = {k: v if k == "note" else km_prefix + v
               for k, v in plots.km_captions(panels, km_min_at_risk, conf_level).items()}
res.figure("fig-km", km_figs["all"], km_captions["all"],
           alt.km_figure([km_alts[k] for k in panels.panels], panels.omitted))
display(km_figs["all"])
for label in ("fig-dor-km", "fig-pfs-km", "fig-pfs-dose-km", "fig-os-km"):
    if label in km_figs:
        res.figure(label, km_figs[label], km_captions[label], km_alts[label][1])
        display(km_figs[label])
    else:
        res.markdown(label, "")
res.markdown("fig-km-note", km_captions["note"])

# %%
res.write()
