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
# # Reproduction scorecard: every published number against its reproduction
#
# Reads the published numbers (`targets`) and the numbers the sections 01–05 wrote under `results/`, audits the paper's numbers against each other, and compares each published number with its reproduction, giving the reason for every one that is not exact. Writes `results/06-scorecard/`.

# %% tags=["parameters"]
# Parameters: the defaults are params/common.yaml and params/<section>.yaml (a test checks they agree);
# papermill overrides them from those files
data = "data/synthetic"   # cohort folder or workbook, relative to the project root or absolute
out = "."                 # output root: results go to <out>/results/<section>/
age_cut = 61              # age split of Tables 1 and 2 (the paper used its median age)
pfs_censor = "last_contact"  # or "last_assessment"
sd_min_days = 0           # minimum days from start for SD to count as best response
days_per_month = 30       # days per month: months are days / days_per_month (the paper: 30)

targets = "data/published_targets.yaml"   # the paper's numbers (key, value, precision, location)

# %%
SECTION = "06-scorecard"
SECTION_PARAMS = dict(targets=targets)

# %%
from analysis.data import cohort as cohort_mod
from analysis.paths import resolve
from analysis.report.results import open_section

cohort, res = open_section(SECTION, data, out, dict(age_cut=age_cut, pfs_censor=pfs_censor, sd_min_days=sd_min_days,
                                                    days_per_month=days_per_month), SECTION_PARAMS)
a = cohort.analysis
print(f"{cohort.n} patients analysed")

# %%
import pandas as pd
import yaml

from analysis.synthetic import audit, interval_fit, misses, scorecard
from analysis.report.results import ANALYSIS_SECTIONS, collect_numbers
from analysis.synthetic.targets import load_targets

# reproduction (the shipped synthetic cohort, recognised by its checksums) or comparison (any other cohort)
reproduction = cohort_mod.is_shipped_synthetic(cohort.sha256)
published = load_targets(resolve(targets))
paper_audit = audit.audit_paper(published)
reproduced = collect_numbers(resolve(out) / "results", ANALYSIS_SECTIONS)
paper_n = scorecard.paper_n(published)
res.number("scorecard.paper.n", paper_n, str(paper_n))
incons = paper_audit[~paper_audit["consistent"]]
from analysis.report.labels import number_labels

res.table("tbl-paper-audit", pd.DataFrame({"Published number": number_labels(incons["key"]),
                                           "Check": incons["check"].tolist(), "Note": incons["note"].tolist()}),
          "Published numbers that contradict other numbers of the paper (consistency audit).", data=paper_audit,
          left=("Check", "Note"), widths=(4, 2, 7))
res.markdown("audit-findings", audit.findings_text(published))
from analysis.report import framing

labels = {v.name: v.label for v in cohort.variables()}
population = framing.population(a["stage"].astype(str).value_counts().to_dict())
res.markdown("introduction", framing.introduction(reproduction, paper_n, population))
res.number("scorecard.abstract.background", None, framing.abstract_background(reproduction, paper_n, population))
print("reproduction scorecard" if reproduction else "comparison with the published study")

# %% [markdown]
# ## Reproduction scorecard (the shipped synthetic cohort)

# %%
if reproduction:
    card = scorecard.scorecard(published, reproduced, paper_audit)
    unreachable = audit.unreachable(published, paper_audit)  # what the paper itself rules out
    summary = scorecard.summarise(card, unreachable=unreachable)
    head = scorecard.headline(card, unreachable)
    res.numbers("scorecard", head)
    headline_results = scorecard.headline_reproduction(card, published, labels)
    res.numbers("scorecard", headline_results)
    res.number("scorecard.abstract.conclusions", None, framing.abstract_conclusions(
        True, reproduced, headline_results["headline.sentence"][1]))
    res.markdown("article-text", scorecard.article_text(True, head["sentence"][1],
                                                                      headline_results["headline.sentence"][1]))
    summ_disp, card_disp = scorecard.display_tables(card, summary)
    res.table("tbl-scorecard-summary", summ_disp, "Reproduction of the published numbers, by section: "
              "counts of numbers per status, and the most any data set can reproduce together (at most: the total "
              "less the numbers the paper itself puts out of reach, with every count exact).",
              data=summary.reset_index())
    res.table("tbl-scorecard", card_disp, "Every published number, its reproduction and its status.", data=card,
              left=("Where in the paper", "Status"), widths=(5, 4, 2, 2, 3))
    feasible = audit.landmark_feasibility(published, reproduced)
    # why each interval prints or not: only where the run's intervals are the paper's (SPSS, 95 %)
    run = {sec: yaml.safe_load((resolve(out) / "results" / sec / "manifest.yaml").read_text())["parameters"]
           for sec in ("03-survival", "04-subgroups")}
    intervals = misses.paper_intervals(interval_fit.explain(a, published, days_per_month), run["03-survival"],
                                       run["04-subgroups"])
    res.markdown("scorecard-text", " ".join(x for x in (head["sentence"][1], head["ceiling_sentence"][1]) if x)
                 + " Exact means equal when rounded to the decimals the "
                 "paper prints; the tolerances and the consistency audit of the paper's own numbers are described "
                 "below (@tbl-scorecard, @tbl-paper-audit), and every number that is not exact is listed "
                 "with the reason, computed from the data, in @tbl-misses. "
                 + audit.landmark_feasibility_text(feasible)
                 + (" " + interval_fit.explain_text(intervals, days_per_month,
                                                    total=interval_fit.published_interval_count(published))
                    if misses.is_paper_interval(run["04-subgroups"]) else ""))
    why = misses.explain_misses(card, published, a, paper_audit, intervals, days_per_month=days_per_month,
                                rate_ci=run["03-survival"]["rate_ci"], conf_level=run["03-survival"]["conf_level"],
                                followup_method=run["03-survival"]["followup_method"])
    res.table("tbl-misses", misses.misses_table(card, why), "Every published number that is not reproduced "
              "exactly, and why (computed from the analysed data and the published numbers).",
              data=card.assign(reason=why)[card["status"] != "exact"], left=("Status", "Why not exact"),
              widths=(5, 3, 3, 3, 10))
    display(card_disp)

# %% [markdown]
# ## Comparison with the published study (any other cohort)

# %%
if not reproduction:
    comp = scorecard.comparison(published, reproduced)
    headline = scorecard.comparison(published, reproduced, scorecard.HEADLINE_KEYS)
    res.table("tbl-scorecard-summary", scorecard.comparison_display(headline), "The main estimates of the "
              "published study and of this cohort (published values as printed in the paper).", data=headline)
    res.table("tbl-scorecard", scorecard.comparison_display(comp), "Every published estimate with a confidence "
              "interval, beside this cohort's (NR: not reached; –: not computed for this cohort).", data=comp)
    text_ = scorecard.comparison_text(comp, cohort_mod.read_metadata(resolve(data))["name"], cohort.n, paper_n)
    res.markdown("scorecard-text", text_)
    res.number("scorecard.sentence", None, scorecard.comparison_sentence(paper_n))
    res.number("scorecard.abstract.conclusions", None, framing.abstract_conclusions(False, reproduced))
    res.markdown("article-text", scorecard.article_text(False, paper_n=paper_n))
    display(comp)

# %%
res.number("scorecard.section_title", None, scorecard.section_title(reproduction))
res.number("scorecard.card_title", None, scorecard.card_title(reproduction))
res.markdown("misses-section", scorecard.misses_markdown(reproduction))
if not reproduction:
    res.markdown("tbl-misses", "")

# %%
res.write()
