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
# # Tumour response: best overall response, ORR and DCR, waterfall plot
#
# Reads the validated cohort (`data`) with `params/common.yaml` and `params/02-response.yaml`, and computes the best overall response (RECIST 1.1), the objective response and disease control rates with their confidence intervals, the waterfall plot of the best change in tumour size and the deepest response. Writes `results/02-response/`.

# %% tags=["parameters"]
# Parameters: the defaults are params/common.yaml and params/<section>.yaml (a test checks they agree);
# papermill overrides them from those files
data = "data/synthetic"   # cohort folder or workbook, relative to the project root or absolute
out = "."                 # output root: results go to <out>/results/<section>/
age_cut = 61              # age split of Tables 1 and 2 (the paper used its median age)
pfs_censor = "last_contact"  # or "last_assessment"
sd_min_days = 0           # minimum days from start for SD to count as best response
days_per_month = 30       # days per month: months are days / days_per_month (the paper: 30)

ci_method = "clopper-pearson"   # or "wilson", "jeffreys", "normal"
conf_level = 0.95
exclude_not_evaluable = False    # the paper keeps NE patients in the denominator

# %%
SECTION = "02-response"
SECTION_PARAMS = dict(ci_method=ci_method, conf_level=conf_level, exclude_not_evaluable=exclude_not_evaluable)

# %%
from analysis.report import fmt, plots, tables, text
from analysis.report.results import open_section
from analysis.data.cohort import is_shipped_synthetic

cohort, res = open_section(SECTION, data, out, dict(age_cut=age_cut, pfs_censor=pfs_censor, sd_min_days=sd_min_days,
                                                    days_per_month=days_per_month), SECTION_PARAMS)
a = cohort.analysis
print(f"{cohort.n} patients analysed")

# %%
from analysis.data import recist
from analysis.stats import response
from analysis.stats.control import ResponseControl

rctl = ResponseControl(ci_method=ci_method, conf_level=conf_level, exclude_not_evaluable=exclude_not_evaluable)
rr = response.orr_dcr(a["best_response"], rctl)
resp_data, resp_table = tables.response_table(rr)
resp_caption = ("Best overall response (RECIST 1.1), objective response rate and disease control rate "
                f"({fmt.method_name(ci_method)} {100 * conf_level:g}% CI).")
res.table("tbl-response", resp_table, resp_caption, data=resp_data,
          note=tables.table_note(resp_table, resp_caption, f"Percentages of the {rr['orr'].n} patients in the "
                                 "denominator; –: a confidence interval is given for the two rates only."))
res.numbers("response", tables.response_numbers(rr))
res.number("response.method.ci", ci_method, fmt.method_name(ci_method))
res.number("response.method.text", None, text.proportion_methods(ci_method, conf_level, exclude_not_evaluable))
resp_table

# %%
change = recist.summarise_change(a["best_pct_change"])
res.numbers("response.best_pct_change", change)
from analysis.report import alt

fig = plots.waterfall(a["best_pct_change"], a["best_response"])
waterfall_caption = (text.caption_prefix(is_shipped_synthetic(cohort.sha256)) + "Best percentage change from baseline in the sum of target-lesion diameters, one bar per patient, "
                     "coloured by best overall response; dashed lines at +20% and −30% (RECIST 1.1 thresholds).")
res.figure("fig-waterfall", fig, waterfall_caption, alt.waterfall(a["best_pct_change"]) + " "
           + plots.waterfall_alt(int(a["best_pct_change"].notna().sum())))
display(fig)

# %% [markdown]
# ## The deepest response (the paper's case report)

# %%
case = tables.deepest_response(cohort)
res.numbers("response.case_report", case)
res.markdown("response-best", text.best_response_sentence(rr, "[{{< var supp.tbl-response >}}](supplement.html#tbl-response)"))
res.markdown("response-rates", text.response_rates(rr))
res.markdown("response-text", text.response_paragraph(change, case))
res.number("response.abstract_text", None, text.response_abstract(rr, ci_method))
print(text.response_paragraph(change, case))

# %%
res.write()
