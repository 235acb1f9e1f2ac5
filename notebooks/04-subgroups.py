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
cox_selection = "paper"     # the covariates above; or "univariable" (log-rank p < cox_select_p), "all"
cox_select_p = 0.05
exclude_deaths_within = 0   # landmark analysis: leave out patients who died within the first N months
p_adjust = "none"           # the paper applied none; "fdr_bh" for Benjamini–Hochberg

# %%
SECTION = "04-subgroups"
SECTION_PARAMS = dict(conf_level=conf_level, median_ci=median_ci, ties=ties, cox_covariates=cox_covariates,
                      cox_selection=cox_selection, cox_select_p=cox_select_p,
                      exclude_deaths_within=exclude_deaths_within, p_adjust=p_adjust)

# %%
from analysis.report import plots, tables
from analysis.report.results import open_section
from analysis.data.cohort import is_shipped_synthetic

cohort, res = open_section(SECTION, data, out, dict(age_cut=age_cut, pfs_censor=pfs_censor, sd_min_days=sd_min_days,
                                                    days_per_month=days_per_month), SECTION_PARAMS)
a = cohort.analysis
print(f"{cohort.n} patients analysed")

# %%
from analysis.stats.control import CoxControl, SurvControl
from analysis.data.landmark import exclude_early_deaths

a = exclude_early_deaths(a, exclude_deaths_within)
ctrl = SurvControl(conf_level=conf_level, median_ci=median_ci)
variables = [v for v in cohort.variables() if v.name != "stage"]
sub = tables.subgroup_survival(a, variables, "os_months", "os_event", ctrl)
sub["p_adjusted"] = tables.adjust_by_variable(sub, p_adjust)
res.numbers("subgroups", tables.subgroup_numbers(sub))

# %%
from analysis.report import text
from analysis.stats.selection import select_covariates

labels = {v.name: v.label for v in cohort.variables()}
cox_terms, cox_notes = select_covariates(sub, cox_covariates, cox_selection, cox_select_p, numeric=tables.NUMERIC_OF)
model = tables.fit_cox_model(a, "os_months", "os_event", cox_terms, CoxControl(ties=ties, conf_level=conf_level))
cox = model.result
if cox is not None:
    res.numbers("subgroups.cox", tables.cox_numbers(cox))
res.number("subgroups.method.ties", ties, ties.capitalize())
res.number("subgroups.method.p_adjust_text", None, text.p_adjust_text(p_adjust))
res.number("subgroups.method.cox_text", None, text.cox_methods(model.terms, labels, model.dropped,
                                                              paper_model=cox_terms == tables.PAPER_COX_COVARIATES,
                                                              selection=cox_selection, p_max=cox_select_p))
res.markdown("subgroups-text", text.subgroup_paragraph(sub) + "\n\n" + text.cox_paragraph(
    model.summary, model.terms, labels, model.dropped, n=cohort.n, events=int(a["os_event"].sum()),
    lr_chisq=cox.lr_chisq if cox is not None else float("nan"), lr_p=cox.lr_p if cox is not None else float("nan"),
    conf_level=conf_level, note=model.note))
res.number("subgroups.abstract_text", None, text.subgroup_abstract(sub))
res.number("subgroups.discussion_text", None, text.cox_discussion(model.terms, int(a["os_event"].sum()),
                                                                 fitted=cox is not None, why=model.note))
res.number("subgroups.limitation_text", None, text.cox_limitation(model.terms, int(a["os_event"].sum()),
                                                                 fitted=cox is not None))
model.summary

# %%
t2 = tables.table2(sub, model.summary, dropped=model.dropped, terms=model.terms, covariates=cox_terms)
t2_caption = ("Median overall survival by baseline subgroup (log-rank test) and the multivariable Cox model "
              f"({ties.capitalize()} ties).")
res.table("tbl-subgroups", t2, t2_caption, data=sub, note=tables.table2_note(
    t2, t2_caption, text.cox_table_note(model.terms, model.dropped, labels, cox_notes, p_adjust)))
ph = tables.ph_check(cox)
ph_display = tables.ph_table(ph.table, labels, model.terms)
ph_caption = ("Proportional-hazards check: scaled Schoenfeld residuals (Grambsch–Therneau, "
              f"{'Kaplan–Meier' if ph.transform == 'km' else ph.transform} time scale) for each Cox term and globally.")
res.table("tbl-cox-ph", ph_display, ph_caption, data=ph.table, note=tables.table_note(
    ph_display, ph_caption, "A small P suggests that the term's hazard ratio changes over time."))
if cox is not None:
    from analysis.report import alt

    fig = plots.forest(cox.summary, labels, model.terms)
    forest_caption = (text.caption_prefix(is_shipped_synthetic(cohort.sha256)) + f"Hazard ratios for death from the multivariable Cox model ({ties.capitalize()} ties; "
                      f"{100 * conf_level:g}% CI; log scale): below 1, a lower risk of death than the reference level.")
    res.figure("fig-cox-forest", fig, forest_caption,
               alt.forest(cox.summary, {t: f"{labels.get(t, t)} ({model.terms[t]})" for t in cox.summary["term"]}))
    display(fig)
else:
    res.markdown("fig-cox-forest", "")
t2

# %%
res.write()
