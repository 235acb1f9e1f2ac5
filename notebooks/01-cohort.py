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
# # Cohort: baseline characteristics (Table 1) and patient flow (Figure 1)
#
# Reads the validated cohort (`data`: patients, assessments, adverse events) with the parameters in `params/common.yaml` and `params/01-cohort.yaml`, and computes the data statement, Table 1 (baseline characteristics), the patient-flow figure and the provenance of the input files. Writes `results/01-cohort/`.

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
SECTION = "01-cohort"
SECTION_PARAMS = {}

# %%
from analysis.data import cohort as cohort_mod
from analysis.report import plots, tables
from analysis.paths import resolve
from analysis.report.results import open_section

cohort, res = open_section(SECTION, data, out, dict(age_cut=age_cut, pfs_censor=pfs_censor, sd_min_days=sd_min_days,
                                                    days_per_month=days_per_month), SECTION_PARAMS)
a = cohort.analysis
print(f"{cohort.n} patients analysed")

# %% [markdown]
# ## What data this report is computed from

# %%
from analysis.report.results import git_commit

statement = cohort_mod.data_statement(cohort_mod.read_metadata(resolve(data)), cohort.n, cohort.sha256)
res.markdown("data-statement", statement["callout"])
res.markdown("data-methods", statement["methods"])
res.markdown("data-discussion", statement["discussion"])
res.number("cohort.data_statement_short", None, statement["short"])
res.number("cohort.git_commit", git_commit(), git_commit()[:12])
res.number("cohort.days_per_month", days_per_month, f"{days_per_month:g}")
print(statement["short"])

# %% [markdown]
# ## Table 1

# %%
t1_data, t1 = tables.table1(cohort)
res.table("tbl-baseline", t1, f"Baseline characteristics of the {cohort.n} patients with previously "
          "immunotherapy-treated ES-SCLC.", data=t1_data)
res.numbers("cohort", tables.table1_numbers(t1_data, cohort.n))
res.markdown("baseline-text", tables.baseline_paragraph(t1_data, cohort))
res.number("cohort.doses_text", None, tables.doses_text(cohort))
t1

# %% [markdown]
# ## Figure 1: patient flow

# %%
fig = plots.cohort_flow(a)
res.figure("fig-flow", fig, "Patient flow: the analysis populations of this report.",
           "Flow diagram from all treated patients to the response-evaluable patients, the responders "
           "analysed for duration of response, and the status at data cutoff.", width="80%")
display(fig)

# %% [markdown]
# ## Data provenance and data-quality warnings

# %%
prov, warn = tables.data_provenance(cohort)
res.table("tbl-provenance", prov, "Input files and their SHA-256 checksums.", data=tables.provenance_data(cohort))
res.table("tbl-data-warnings", warn, "Data-quality warnings raised by validation (counts of rows per rule).")
res.numbers("cohort", tables.study_numbers(cohort))
display(prov, warn)

# %%
res.write()
