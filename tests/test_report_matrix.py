"""The report matrix: valid unusual cohorts (tests/unusual_cohorts.py) each build the whole report.

The cohorts are built side by side (one ``make DATA=… OUT=… PARAMS=…`` each, in parallel), then a
checker reads each rendered HTML's running text and verifies its claims against the cohort's results:
every dose and level named exists in the data, the "most frequent" list is the top of the AE table,
every p follows the policy ("p = 0.031", "p < 0.001"), no "NR months", statements about the paper
carry the paper's numbers, and the data statement and the comparison section follow the checksums.
"""
from __future__ import annotations

import html as html_mod
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.paths import PROJ_ROOT
from analysis.report.results import collect_numbers

sys.path.insert(0, str(Path(__file__).parent))
import unusual_cohorts as uc  # noqa: E402

pytestmark = pytest.mark.slow


#: Builds at once: one per core, at most two (each build runs its notebooks one after the other).
PARALLEL = max(1, min(2, os.cpu_count() or 1))
#: A kernel that does not start in time on a loaded machine is not the report's failure: such a build is run
#: once more (any other failure is reported as it is).
KERNEL_START_FAILURE = "Kernel died before replying to kernel_info"


def _make(case, root: Path) -> tuple[Path, int, str]:
    folder = root / case.name
    data = uc.write(case.make(), folder / "data", case.meta)
    params = uc.params_variant(folder / "params", case.params)
    out = folder / "out"
    cmd = ["make", "-C", str(PROJ_ROOT), f"PY={sys.executable}", f"DATA={data}", f"OUT={out}", f"PARAMS={params}"]
    for _ in range(2):
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           env={**os.environ, "CI": "true"})
        if p.returncode == 0 or KERNEL_START_FAILURE not in p.stdout:
            break
    return out, p.returncode, p.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Every matrix cohort written and built (``PARALLEL`` at a time); returns {name: (out, returncode, log)}."""
    from concurrent.futures import ThreadPoolExecutor

    root = tmp_path_factory.mktemp("matrix")
    with ThreadPoolExecutor(PARALLEL) as pool:
        runs = {case.name: pool.submit(_make, case, root) for case in uc.MATRIX}
    return {name: f.result() for name, f in runs.items()}


def prose(html: str) -> str:
    """The running text of a rendered report: paragraphs only (no tables, captions, code or references)."""
    body = re.sub(r"<(style|script|table|figure|figcaption|code|pre)\b.*?</\1>", " ", html, flags=re.S)
    # a table's footnote belongs to the table (it names, e.g., the categories without patients)
    body = re.sub(r'<div class="table-note"[^>]*>.*?</div>', " ", body, flags=re.S)
    body = body.split('id="refs"')[0]
    paras = re.findall(r"<p\b[^>]*>(.*?)</p>", body, flags=re.S)
    return "\n".join(html_mod.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", p))) for p in paras)


def check_report(text: str, nums: dict, results: Path, paper_n: int) -> list[str]:
    """Claims of the rendered text that the results contradict (empty when the text is true)."""
    bad = []
    # p values: "p = 0.031" or "p < 0.001", never "p = <0.001", "p = –" or "p = nan"
    bad += [f"p policy: {m}" for m in re.findall(r"\bp\s*=\s*[<>–-]|\bp\s*=\s*nan", text)]
    bad += [f"NR in prose: {m}" for m in re.findall(r"NR months|NR \(|\bnan\b", text)]
    # doses named exist in the cohort
    doses = {k.split(".")[3][2:] for k, v in nums.items()
             if k.startswith("cohort.table1.anlotinib_dose_mg.") and k.endswith(".n") and v}
    bad += [f"dose {d} mg named but absent" for d in re.findall(r"(?<!per )\b(\d+) mg\b", text) if d not in doses]
    # distinctive levels named in prose exist in the cohort
    for var, level, label in (("prior_ici_class", "pd1", "PD-1 inhibitors"),
                              ("prior_ici_class", "pdl1", "PD-L1 inhibitors"),
                              ("platinum_response", "sensitive", "platinum-sensitive"),
                              ("platinum_response", "resistant", "platinum-resistant")):
        if not nums.get(f"cohort.table1.{var}.{level}.n") and re.search(re.escape(label), text, flags=re.I):
            bad.append(f"level {label!r} named but absent")
    # the "most frequent" list is the top of the AE table
    m = re.search(r"The most frequent (?:was|were) (.*?)\.(?:\s|$)", text)
    ae = pd.read_csv(results / "05-safety" / "tbl-safety.csv")
    ae = ae[(ae["term"] != "any") & (ae["any_n"] > 0)]
    if m:
        named = re.findall(r"(?:^|, | and )([^,()]+?) \([\d.]+%\)", m.group(1))
        counts = dict(zip(ae["term"], ae["any_n"]))
        from analysis.data.schema import columns

        lab = {k: v.lower() for k, v in columns("adverse_events")["ae_term"].labels.items()}
        inv = {v: k for k, v in lab.items()}
        terms = [inv.get(x.lower(), x) for x in named]
        if any(t not in counts for t in terms):
            bad.append(f"most frequent names a term absent from the table: {named}")
        else:
            lowest = min(counts[t] for t in terms)
            above = [t for t, n in counts.items() if t not in terms and n > lowest]
            if above:
                bad.append(f"most frequent skips {above} (more frequent than {named})")
    elif len(ae):
        if "The only one recorded was" not in text:
            bad.append("adverse events recorded but no 'most frequent' sentence")
    # the paper's statements carry the paper's numbers
    m = re.search(r"(?:retrospective study of|colleagues reported) (\d+) patients", text)
    if not m or int(m.group(1)) != paper_n:
        bad.append(f"paper's n: {m.group(0) if m else 'missing'}")
    return bad


def framing_problems(text: str, html: str, nums: dict, paper_n: int) -> list[str]:
    """A non-synthetic cohort's article framed as a re-analysis, or with the paper's counts as its own, or a stage
    the data do not have (issue #28)."""
    bad = []
    for phrase in ("re-analysis", "re-analyses", "The scorecard shows", "scorecard", "a synthetic cohort",
                   "Synthetic cohort.", "regenerated from patient-level data"):
        if phrase.lower() in text.lower():
            bad.append(f"framing: {phrase!r} in the text of a supplied cohort")
    deaths = int(nums.get("survival.os.events", -1))
    for m in re.findall(r"[Ww]ith (\d+) deaths", text):
        if int(m) != deaths:
            bad.append(f"framing: 'with {m} deaths' but the cohort had {deaths}")
    limited = int(nums.get("cohort.table1.stage.limited.n", 0) or 0)
    # the title, the prose and the captions (not the reference list, where the paper's title says ES-SCLC)
    captions = " ".join(re.findall(r"<(?:title|caption|figcaption)\b[^>]*>(.*?)</(?:title|caption|figcaption)>", html,
                                   flags=re.S))
    if limited and re.search(r"ES-SCLC|extensive-stage small cell", text + " " + captions):
        bad.append("framing: ES-SCLC said of a cohort with limited-stage patients")
    front = re.search(r"<title>(.*?)</title>", html, flags=re.S)
    if front and "synthetic" in front.group(1).lower():
        bad.append("framing: synthetic in the title")
    return bad


def test_matrix_every_unusual_cohort_builds_html_and_pdf(built):
    for name, (out, rc, log) in built.items():
        assert rc == 0, f"{name}: make failed\n{log[-3000:]}"
        assert "Traceback" not in log, name
        for f in ("index.html", "index.pdf"):
            assert (out / "report" / "_output" / f).stat().st_size > 0, (name, f)


def test_matrix_sensitivity_self_check_counts_no_mismatch_on_cohorts_with_undefined_estimates(built):
    """The sensitivity section recomputes the headline results and compares them with what sections 01-05
    wrote. Undefined estimates (NaN in memory, null in numbers.yaml) are equal to each other: the issue (#31)
    saw 2, 2 and 20 false mismatches on real cohorts. The matrix has cohorts where medians, follow-up bounds
    and the Cox model are undefined."""
    undefined = {}
    for name, (out, rc, _) in built.items():
        assert rc == 0, name
        nums = collect_numbers(out / "results")
        undefined[name] = sum(v is None for k, v in nums.items() if k.startswith(("survival.", "subgroups.")))
        assert nums["sensitivity.base_check.mismatches"] == 0, name
        for table in (out / "results" / "07-sensitivity").glob("tbl-sensitivity*.csv"):
            assert "None" not in table.read_text(encoding="utf-8"), (name, table.name)
    assert max(undefined.values()) > 0, f"no matrix cohort has undefined estimates: {undefined}"


def test_matrix_rendered_text_is_true_for_each_cohort(built):
    from analysis.synthetic.scorecard import paper_n
    from analysis.synthetic.targets import load_targets

    n_paper = paper_n(load_targets())
    problems = {}
    for name, (out, rc, _) in built.items():
        if rc:
            continue
        html = re.sub(r"\s+", " ", (out / "report" / "_output" / "index.html").read_text(encoding="utf-8"))
        text = prose(html)
        nums = collect_numbers(out / "results")
        bad = check_report(text, nums, out / "results", n_paper)
        # another cohort: no synthetic claim, comparison not reproduction
        if "no real patient" in html or "Synthetic data" in html:
            bad.append("called synthetic")
        if "Comparison with the published study" not in html or "reproduced exactly" in html:
            bad.append("scorecard in reproduction mode")
        bad += framing_problems(text, html, nums, n_paper)
        if bad:
            problems[name] = bad
    assert not problems, problems


def test_matrix_cases_say_what_they_lack(built):
    """Each degeneracy is said in plain words in the report of the cohort that has it."""
    expect = {
        "tiny": ["was left out of the model (one level in this cohort", "per 1 ECOG point",
                 "Median follow-up is the reverse Kaplan–Meier estimate"],
        "censored_one_dose_no_ae": ["Anlotinib with immunotherapy after prior ICI failure at City Hospital",
                                    "A. Author and B. Author",
                                    "8 with limited-stage", "City Hospital ethics committee",
                                    "City Hospital research fund.", "Competing interests. None declared.",
                                    "No patient had progressed or died by the data cutoff",
                                    "Every patient started anlotinib at 10 mg",
                                    "No treatment-related adverse event was recorded",
                                    "No multivariable Cox model was fitted: there is no death in this cohort"],
        "no_responders_resistant_anorexia": ["No patient had a complete or partial response",
                                             "The most frequent were anorexia",
                                             "Response to platinum-based treatment was left out of the model",
                                             "not the shipped synthetic cohort"],
    }
    for name, phrases in expect.items():
        out = built[name][0]
        text = re.sub(r"\s+", " ", html_mod.unescape(re.sub(r"<[^>]+>", "", (out / "report" / "_output" /
                                                                             "index.html").read_text("utf-8"))))
        missing = [p for p in phrases if p not in text]
        assert not missing, (name, missing)
    # a cohort of one starting dose: the Methods claim no trend test across doses, and no "doses were 10 mg"
    one_dose = re.sub(r"\s+", " ", html_mod.unescape(re.sub(r"<[^>]+>", "", (
        built["censored_one_dose_no_ae"][0] / "report" / "_output" / "index.html").read_text("utf-8"))))
    assert "(with a test for trend across starting doses)" not in one_dose
    assert "starting doses of anlotinib in the analysed cohort were" not in one_dose


def test_framing_checker_catches_a_re_analysis_the_papers_deaths_and_es_sclc_on_a_hospital_cohort():
    nums = {"survival.os.events": 106, "cohort.table1.stage.limited.n": 12}
    text = ("This report is a re-analysis. The scorecard shows which of them the analysed cohort prints. "
            "With 44 deaths no Cox model can estimate it.")
    bad = framing_problems(text, "<title>Anlotinib in ES-SCLC</title>", nums, 68)
    assert any("re-analysis" in b for b in bad) and any("scorecard" in b for b in bad)
    assert any("with 44 deaths" in b for b in bad) and any("ES-SCLC" in b for b in bad)
    good = "With 106 deaths and 5 terms in the Cox model, it is exploratory."
    assert framing_problems(good, "<title>Anlotinib in small cell lung cancer</title>", nums, 68) == []


def test_checker_catches_untrue_text(tmp_path):
    """The checker itself: the sentences of the Measured list are flagged."""
    res = tmp_path / "05-safety"
    res.mkdir()
    pd.DataFrame({"term": ["any", "anorexia", "fatigue"], "any_n": [5, 4, 1]}).to_csv(res / "tbl-safety.csv")
    nums = {"cohort.table1.anlotinib_dose_mg.mg10.n": 48, "cohort.table1.anlotinib_dose_mg.mg8.n": 0,
            "cohort.table1.prior_ici_class.pd1.n": 0}
    text = ("a single-centre retrospective study of 48 patients. The median PFS was 5.6 months with 8 mg "
            "(log-rank p = <0.001) after a median follow-up of NR months. The most frequent were fatigue (2.0%). "
            "The previous ICI was a PD-1 inhibitors in 0%.")
    bad = check_report(text, nums, tmp_path, 68)
    assert any("p policy" in b for b in bad) and any("NR" in b for b in bad)
    assert any("dose 8 mg" in b for b in bad) and any("most frequent skips" in b for b in bad)
    assert any("paper's n" in b for b in bad) and any("PD-1" in b for b in bad)
    good = ("a single-centre retrospective study of 68 patients. With 10 mg (p < 0.001; p = 0.031). "
            "The most frequent were anorexia (80.0%).")
    assert check_report(good, nums, tmp_path, 68) == []
