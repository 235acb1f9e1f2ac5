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
# # Sensitivity analyses: named scenarios and the multiverse of analytic choices
#
# Reads the validated cohort (`data`), the base parameters (every file of `params_dir`), the named scenarios (`scenarios`, overlays on the base) and the multiverse's choices and the paper's conclusions (`params/07-sensitivity.yaml`). Computes in this one process, by the functions the sections 02–04 call, the headline results (ORR and DCR, median DoR, PFS and OS with landmark rates and follow-up, PFS by dose, the subgroup log-rank p values, every Cox hazard ratio) with the base parameters, under each scenario, and under every combination of the multiverse's binary choices; checks the base against the numbers the sections wrote; and states which conclusions are robust. Writes `results/07-sensitivity/`.

# %% tags=["parameters"]
# Parameters: the defaults are params/common.yaml and params/<section>.yaml (a test checks they agree);
# papermill overrides them from those files
data = "data/synthetic"   # cohort folder or workbook, relative to the project root or absolute
out = "."                 # output root: results go to <out>/results/<section>/
age_cut = 61              # age split of Tables 1 and 2 (the paper used its median age)
pfs_censor = "last_contact"  # or "last_assessment"
sd_min_days = 0           # minimum days from start for SD to count as best response
days_per_month = 30       # days per month: months are days / days_per_month (the paper: 30)

params_dir = "params"     # the base parameters: every params file of this folder (make passes PARAMS)
scenarios = "params/sensitivity.yaml"   # named scenarios: overlays on the base parameters
# multiverse: binary choices, each two options (label: overlay in the format of a scenario's set)
multiverse = [
    {"choice": "Month length", "options": {"30 days": {}, "365.25/12 days": {"common": {"days_per_month": 30.4375}}}},
    {"choice": "PFS censoring",
     "options": {"last contact": {}, "last assessment": {"common": {"pfs_censor": "last_assessment"}}}},
    {"choice": "Not-evaluable patients",
     "options": {"in denominator": {}, "excluded": {"02-response": {"exclude_not_evaluable": True}}}},
    {"choice": "Cox ties", "options": {"Breslow": {}, "Efron": {"04-subgroups": {"ties": "efron"}}}},
    {"choice": "Median CI", "options": {"SPSS": {}, "Brookmeyer-Crowley": {"03-survival": {"median_ci": "log-log"},
                                                                          "04-subgroups": {"median_ci": "log-log"}}}},
    {"choice": "Dose in Cox",
     "options": {"per mg": {}, "per step": {"04-subgroups": {"cox_covariates": {"anlotinib_dose_mg": None}}}}},
    {"choice": "Cox covariates",
     "options": {"paper's five": {}, "univariable p < 0.05": {"04-subgroups": {"cox_selection": "univariable"}}}},
    {"choice": "Early deaths", "options": {"kept": {}, "first 3 months excluded": {
        "03-survival": {"exclude_deaths_within": 3}, "04-subgroups": {"exclude_deaths_within": 3}}}},
]
# the paper's conclusions: each holds where its number meets the condition
conclusions = [
    {"claim": "ECOG performance status independently predicts OS (Cox p < 0.05)",
     "key": "subgroups.cox.ecog_group.p", "holds": "< 0.05"},
    {"claim": "The reason for prior immunotherapy failure independently predicts OS (Cox p < 0.05)",
     "key": "subgroups.cox.prior_ici_failure.p", "holds": "< 0.05"},
    {"claim": "ECOG performance status is associated with OS (log-rank p < 0.05)",
     "key": "subgroups.ecog_group.p", "holds": "< 0.05"},
    {"claim": "PFS does not differ by anlotinib dose (log-rank p ≥ 0.05)",
     "key": "survival.pfs_by_dose.p", "holds": ">= 0.05"},
    {"claim": "The objective response rate's 95% CI excludes 10%", "key": "response.orr.lower", "holds": "> 10"},
]
estimates = {"response.orr.pct": "ORR (%)", "survival.pfs.median": "Median PFS (months)",
             "survival.os.median": "Median OS (months)", "subgroups.cox.ecog_group.hr": "HR for death, ECOG (Cox)",
             "subgroups.cox.prior_ici_failure.hr": "HR for death, reason for prior ICI failure (Cox)",
             "survival.pfs_by_dose.p": "P, PFS by dose (log-rank)"}
curve = "subgroups.cox.ecog_group"   # the specification curve: this Cox term's HR with its CI

# %%
SECTION = "07-sensitivity"
SECTION_PARAMS = dict(params_dir=params_dir, scenarios=scenarios, multiverse=multiverse, conclusions=conclusions,
                      estimates=estimates, curve=curve)

# %%
from analysis.paths import resolve
from analysis.report.results import open_section

cohort, res = open_section(SECTION, data, out, dict(age_cut=age_cut, pfs_censor=pfs_censor, sd_min_days=sd_min_days,
                                                    days_per_month=days_per_month), SECTION_PARAMS)
a = cohort.analysis
print(f"{cohort.n} patients analysed")

# %% [markdown]
# ## Named scenarios

# %%
from analysis.report.results import ANALYSIS_SECTIONS, collect_numbers
from analysis.sensitivity import compare, headline, multiverse as mv, scenarios as sc, tables as stables, text

base = sc.load_base(resolve(params_dir))
named = sc.load_scenarios(resolve(scenarios), base)
cache = headline.memo_for(cohort)  # each part computed once (kept on disk with RR_CACHE)
results = stables.evaluate(cohort, base, named, cache)
comps = stables.comparisons(results)
mismatch = headline.check_against_sections(results[stables.BASE],
                                          collect_numbers(resolve(out) / "results", ANALYSIS_SECTIONS))
res.number("sensitivity.base_check.mismatches", len(mismatch), str(len(mismatch)))
res.number("sensitivity.n_scenarios", len(named), str(len(named)))
print(f"base headline numbers that differ from the sections' own results: {mismatch or 'none'}")
res.table("tbl-sensitivity-scenarios", stables.scenario_list(named), "The named sensitivity scenarios: what each "
          f"changes in the base parameters, and why (`{scenarios}`).", left=("Changes", "Rationale"), widths=(2, 3, 4))
scen_table = stables.scenario_table(results, comps)
res.table("tbl-sensitivity", scen_table, "Headline results with the base parameters and under each scenario "
          "(bold: prints differently from the base; –: not computed, e.g. a term outside the Cox model). Changed: "
          "headline numbers that print differently from the base, among ORR and DCR, the medians, landmark rates "
          "and follow-up, PFS by dose, the subgroup log-rank p values and the Cox model.",
          data=compare.comparison_frame(comps), widths=(3, 3, 3, 3, 2, 3, 2))
scen_table

# %% [markdown]
# ## Multiverse

# %%
from analysis.paths import PARAMS_DIR

# each option is what its label says (the paper's choice, written {}, is the project's default), whatever the base
choices = mv.parse_choices(multiverse, base, "multiverse", defaults=sc.load_base(PARAMS_DIR))
claims = mv.parse_conclusions(conclusions)
specs = mv.run(cohort, base, choices, keys=set(estimates) | {c.key for c in claims}
               | {f"{curve}.{k}" for k in ("hr", "lower", "upper", "p")}, cache=cache)
shares = mv.conclusion_shares(specs, claims, choices)
in_scenarios = stables.scenario_conclusions(results, claims)
res.number("sensitivity.multiverse.n_specifications", len(specs), str(len(specs)))
res.number("sensitivity.multiverse.n_choices", len(choices), str(len(choices)))
res.numbers("sensitivity.conclusions", stables.conclusion_numbers(shares, in_scenarios))
res.table("tbl-multiverse-conclusions", stables.conclusion_table(shares, in_scenarios), "The paper's conclusions "
          f"with the base parameters, in the named scenarios and in the {len(specs)} specifications of the multiverse "
          "(where it can be assessed).", data=shares, left=("Conclusion",), widths=(5, 2, 2, 2))
res.table("tbl-multiverse-estimates", stables.estimate_table(mv.estimate_summary(specs, estimates), results["base"]),
          f"Key estimates over the {len(specs)} specifications of the multiverse.", data=specs)
res.markdown("robustness-text", text.robustness_text(shares, in_scenarios, choices, comps, len(specs)))
res.number("sensitivity.discussion_text", None, text.choices_discussion(comps))
res.number("sensitivity.changes_text", None, text.scenario_changes_sentence(comps))
display(shares[["claim", "n", "k", "share", "missing"]])

# %%
from analysis.data.cohort import is_shipped_synthetic
from analysis.report import text as report_text
from analysis.sensitivity.figures import specification_curve

fig = specification_curve(specs, curve, choices)
term = {v.name: v.label for v in cohort.variables()}.get(curve.split(".")[-1], curve.split(".")[-1])
n_drawn = int(specs[f"{curve}.hr"].notna().sum()) if f"{curve}.hr" in specs else 0
res.figure("fig-multiverse", fig, report_text.caption_prefix(is_shipped_synthetic(cohort.sha256))
           + text.curve_caption(n_drawn, len(specs), len(choices), term),
           text.curve_alt(specs.get(f"{curve}.hr", []), specs.get(f"{curve}.p", []), term, len(specs)))
display(fig)

# %%
res.write()
