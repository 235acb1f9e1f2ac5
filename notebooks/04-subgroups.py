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
# # Overall survival by baseline subgroup (Table 2) and multivariable Cox model
#
# Reads the validated cohort (`data`) with `params/common.yaml` and `params/04-subgroups.yaml`, and computes the median overall survival of each baseline subgroup with log-rank tests, the multivariable Cox model (hazard ratios, proportional-hazards check) and its forest plot. Writes `results/04-subgroups/`.

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
median_ci = "spss"
ties = "breslow"            # Stata stcox / SPSS default; or "efron"
# Cox covariates: reference level, "numeric" (dose in mg, HR per mg) or None (ordinal score of the levels)
cox_covariates = {"ecog_group": "ecog_2", "platinum_response": "resistant", "prior_ici_class": "pdl1",
                  "prior_ici_failure": "intolerance", "anlotinib_dose_mg": "numeric"}
p_adjust = "none"           # the paper applied none; "fdr_bh" for Benjamini–Hochberg

# %%
SECTION = "04-subgroups"
SECTION_PARAMS = dict(conf_level=conf_level, median_ci=median_ci, ties=ties, cox_covariates=cox_covariates,
                      p_adjust=p_adjust)

# %%
from analysis.data import cohort as cohort_mod
from analysis.report import fmt, plots, tables
from analysis.paths import resolve, validated_data
from analysis.report.results import Results

opts = cohort_mod.DeriveOptions(age_cut=age_cut, pfs_censor=pfs_censor, sd_min_days=sd_min_days,
                                days_per_month=days_per_month)
cohort = cohort_mod.load_cohort(resolve(data), opts, validated=validated_data(out))
a = cohort.analysis
res = Results(SECTION, resolve(out), forbidden=cohort.identifiers(), inputs=cohort.sha256,
              params=dict(age_cut=age_cut, pfs_censor=pfs_censor, sd_min_days=sd_min_days,
                          days_per_month=days_per_month, **SECTION_PARAMS))
print(f"{cohort.n} patients analysed")

# %%
from analysis.stats import compare
from analysis.stats.control import CoxControl, SurvControl

ctrl = SurvControl(conf_level=conf_level, median_ci=median_ci)
variables = [v for v in cohort.variables() if v.name != "stage"]
sub = tables.subgroup_survival(a, variables, "os_months", "os_event", ctrl)
sub["p_adjusted"] = tables.adjust_by_variable(sub, p_adjust)
res.numbers("subgroups", tables.subgroup_numbers(sub))

# %%
cox, terms = tables.cox_table(a, "os_months", "os_event", cox_covariates, CoxControl(ties=ties, conf_level=conf_level))
res.numbers("subgroups.cox", tables.cox_numbers(cox))
res.number("subgroups.method.ties", ties, ties.capitalize())
cox.summary

# %%
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
display(fig)
t2

# %%
res.write()
