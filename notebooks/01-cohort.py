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
from analysis.report import plots, tables, text
from analysis.paths import resolve
from analysis.report.results import open_section

cohort, res = open_section(SECTION, data, out, dict(age_cut=age_cut, pfs_censor=pfs_censor, sd_min_days=sd_min_days,
                                                    days_per_month=days_per_month), SECTION_PARAMS)
a = cohort.analysis
print(f"{cohort.n} patients analysed")

# %% [markdown]
# ## What data this report is computed from

# %%
from analysis.data import escape
from analysis.report import framing
from analysis.report.results import git_commit

# the framing: the shipped synthetic cohort (recognised by its checksums) or a hospital's own cohort
meta = cohort_mod.read_metadata(resolve(data))
synthetic = cohort_mod.is_shipped_synthetic(cohort.sha256)
article_meta = {**framing.article_metadata(meta), "name": escape.markdown(meta["name"])}
stages = a["stage"].astype(str).value_counts().to_dict()
population = framing.population(stages)
study = tables.study_numbers(cohort)
front = framing.front_matter(synthetic, article_meta, cohort.n, stages, study["cutoff"][0])
res.numbers("cohort.front", {k: (None, v) for k, v in front.items()})
res.number("cohort.synthetic", synthetic, str(synthetic).lower())
res.numbers("cohort.population", {k: (None, v) for k, v in population.items()})
res.number("cohort.on_treatment_text", None, text.on_treatment_sentence(study["on_treatment_at_cutoff.n"][0],
                                                                         study["cutoff"][1]))
res.markdown("declarations", framing.declarations(synthetic, article_meta, git_commit()[:12],
                                                  framing.git_remote_url(resolve("."))))
res.number("cohort.abstract_methods", None, framing.abstract_methods(synthetic, cohort.n, population,
                                                                      study["start_first"][1], study["start_last"][1]))
statement = framing.data_statement(synthetic, article_meta["name"], cohort.n,
                                   escape.markdown(meta.get("description") or "", multiline=True),
                                   study["n_warnings"][0], flag_ignored=bool(meta.get("synthetic")) and not synthetic)
res.markdown("data-statement", statement["callout"])
res.markdown("supp-cohort", framing.cohort_detail(synthetic, article_meta["name"]))
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
t1_caption = (f"Baseline characteristics of the {cohort.n} patients with "
              f"{framing.population(a['stage'].astype(str).value_counts().to_dict())['short']} treated after prior "
              "immunotherapy.")
res.table("tbl-baseline", t1, t1_caption, data=t1_data, note=tables.table1_note(t1_data, cohort, t1, t1_caption))
res.numbers("cohort", tables.table1_numbers(t1_data, cohort.n))
res.markdown("baseline-text", text.baseline_paragraph(t1_data, cohort.n))
res.number("cohort.doses_text", None, tables.doses_text(cohort))
t1

# %% [markdown]
# ## Figure 1: patient flow

# %%
from analysis.report import alt

fig = plots.cohort_flow(a)
flow_caption = (text.caption_prefix(cohort_mod.is_shipped_synthetic(cohort.sha256))
                + "Patient flow: the patients treated, their status at the data cutoff, and the analysis populations.")
res.figure("fig-flow", fig, flow_caption, alt.flow(**plots.flow_counts(a)), width="80%")
display(fig)

# %% [markdown]
# ## Data provenance and data-quality warnings

# %%
prov, warn = tables.data_provenance(cohort)
res.table("tbl-provenance", prov, "Input files and their SHA-256 checksums.", data=tables.provenance_data(cohort),
          left=("File", "SHA-256"))
res.table("tbl-data-warnings", warn, "Data-quality warnings raised by validation (counts of rows per rule).",
          left=("Rule",))
res.numbers("cohort", tables.study_numbers(cohort))
display(prov, warn)

# %%
res.write()
