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
# # Safety: treatment-related adverse events by grade (Table 3)
#
# Reads the validated cohort (`data`) with `params/common.yaml` and `params/05-safety.yaml`, and counts the patients with each treatment-related adverse event by worst CTCAE grade. Writes `results/05-safety/`.

# %% tags=["parameters"]
# Parameters: the defaults are params/common.yaml and params/<section>.yaml (a test checks they agree);
# papermill overrides them from those files
data = "data/synthetic"   # cohort folder or workbook, relative to the project root or absolute
out = "."                 # output root: results go to <out>/results/<section>/
age_cut = 61              # age split of Tables 1 and 2 (the paper used its median age)
pfs_censor = "last_contact"  # or "last_assessment"
sd_min_days = 0           # minimum days from start for SD to count as best response
days_per_month = 30       # days per month: months are days / days_per_month (the paper: 30)

# %%
SECTION = "05-safety"
SECTION_PARAMS = {}

# %%
from analysis.report import fmt, tables  # (no figure in this section: plots, hence matplotlib, is not imported)
from analysis.report.results import open_section

cohort, res = open_section(SECTION, data, out, dict(age_cut=age_cut, pfs_censor=pfs_censor, sd_min_days=sd_min_days,
                                                    days_per_month=days_per_month), SECTION_PARAMS)
a = cohort.analysis
print(f"{cohort.n} patients analysed")

# %%
from analysis.stats import safety
from analysis.data.schema import columns

labels = columns("adverse_events")["ae_term"].labels
trae = cohort.treatment_related_aes()
ae_sum = safety.ae_summary(trae, cohort.n, id_col="subject")
t3 = tables.table3(ae_sum, labels, cohort.n)
t3_caption = (f"Treatment-related adverse events (CTCAE v5.0) in the {cohort.n} patients; each patient counted "
              "once per event at the worst grade.")
res.table("tbl-safety", t3, t3_caption, data=ae_sum, note=tables.table_note(
    t3, t3_caption, f"Values are numbers of patients (percentage of the {cohort.n}). The first row counts each patient "
    "once, at the worst grade of any event."))
res.numbers("safety", tables.safety_numbers(ae_sum))
grade5 = safety.patients_with_grade(trae, 5, id_col="subject")
res.number("safety.grade5.any_n", grade5, str(grade5))
res.number("safety.grade5.any_pct", 100 * grade5 / cohort.n, fmt.percent(100 * grade5 / cohort.n))
t3

# %% [markdown]
# ## The safety results as running text (the most frequent events ranked from the table)

# %%
from analysis.report import text

res.markdown("safety-text", text.safety_paragraph(ae_sum, labels, cohort.n, grade5))
res.number("safety.abstract_text", None, text.safety_abstract(ae_sum, cohort.n))
print(text.safety_paragraph(ae_sum, labels, cohort.n, grade5))

# %%
res.write()
