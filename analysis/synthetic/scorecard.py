"""Scorecard: the numbers the notebooks computed, set against the numbers the paper printed.

The reproduced numbers come from the analysis (``results/<section>/`` files, flattened to dotted
keys); the published ones from :func:`analysis.synthetic.targets.load_targets`. The scorecard never reads a
reproduced value from the targets.

Status of each published number (first rule that applies)
---------------------------------------------------------
``not computed``            the key is missing from the reproduced numbers (or is NaN)
``exact``                   reproduced, rounded to the published decimals, prints as the paper does
                            (for a printed bound such as ``<0.20``: the reproduced value satisfies it)
``inconsistent in paper``   not exact, and the audit found the paper contradicts itself on this key
``within tolerance``        |reproduced - published| within the unit's tolerance (see
                            :data:`DEFAULT_TOLERANCES`; p-values: within 0.02 or on the same side of 0.05)
``off``                     everything else

Examples
--------
>>> from analysis.synthetic.targets import load_targets
>>> card = scorecard(load_targets(), {"survival.pfs.median": 5.62})
>>> card.set_index("key").loc["survival.pfs.median", "status"]
'exact'
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from numbers import Number

import pandas as pd

from analysis.synthetic.audit import audit_paper, inconsistent_keys, is_flagged
from analysis.synthetic.targets import format_published, parse_bound

STATUSES = ("exact", "within tolerance", "off", "inconsistent in paper", "not computed")
CARD_COLUMNS = ["key", "where", "unit", "published", "reproduced", "difference", "status"]

#: Absolute tolerance per unit ("p" also accepts a value on the same side of ``P_ALPHA``).
DEFAULT_TOLERANCES: dict[str, float] = {
    "months": 0.3,
    "percent": 2.0,  # percentage points
    "mm-percent": 2.0,  # percentage points of tumour-size change
    "ratio": 0.05,
    "p": 0.02,
    "count": 0.0,
    "years": 1.0,
}
P_ALPHA = 0.05


def flatten(numbers: Mapping, prefix: str = "") -> dict[str, float]:
    """Nested mapping of results to dotted keys.

    Numbers (including numpy scalars and bools) become floats; ``None`` is dropped (not computed);
    strings that read as numbers become floats, other strings are kept as they are (dates).

    >>> flatten({"survival": {"pfs": {"median": 5.6, "events": 49}}})
    {'survival.pfs.median': 5.6, 'survival.pfs.events': 49.0}
    """
    out: dict[str, float] = {}
    for k, v in numbers.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, Mapping):
            out.update(flatten(v, key))
        elif v is None:
            continue
        elif isinstance(v, Number) or hasattr(v, "item"):
            out[key] = float(v)
        elif isinstance(v, str):
            try:
                out[key] = float(v)
            except ValueError:
                out[key] = v  # type: ignore[assignment]
        else:
            raise TypeError(f"{key}: cannot flatten a {type(v).__name__} (give numbers or nested mappings)")
    return out


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _satisfies(value: float, bound: str) -> bool:
    op, num, _ = parse_bound(bound)
    return {"<": value < num, "<=": value <= num, ">": value > num, ">=": value >= num}[op]


def classify(published, reproduced, decimals: int, unit: str, kind: str = "value", flagged: bool = False,
             tolerances: Mapping[str, float] | None = None) -> tuple[str, float]:
    """Status and difference (reproduced - published) of one number. See the module docstring."""
    tol = {**DEFAULT_TOLERANCES, **(tolerances or {})}
    if _missing(reproduced):
        return "not computed", math.nan
    if kind == "bound":
        ok = _satisfies(float(reproduced), str(published))
        return ("exact" if ok else "inconsistent in paper" if flagged else "off"), math.nan
    if isinstance(published, str) or isinstance(reproduced, str):
        ok = str(published) == str(reproduced)
        return ("exact" if ok else "inconsistent in paper" if flagged else "off"), math.nan
    pub, rep = float(published), float(reproduced)
    if math.isinf(rep):  # e.g. a median or CI bound "not reached" where the paper prints a number
        return ("inconsistent in paper" if flagged else "off"), math.nan
    diff = rep - pub
    if format_published(rep, decimals) == format_published(pub, decimals):
        return "exact", diff
    if flagged:
        return "inconsistent in paper", diff
    t = tol.get(unit)
    within = t is not None and abs(diff) <= t + 1e-9
    if unit == "p" and not within:
        within = (rep < P_ALPHA) == (pub < P_ALPHA)
    return ("within tolerance" if within else "off"), diff


def scorecard(targets: pd.DataFrame, reproduced: Mapping[str, float], audit: pd.DataFrame | None = None,
              tolerances: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Compare reproduced numbers with the published targets, one row per published entry.

    Parameters
    ----------
    targets : DataFrame
        From :func:`analysis.synthetic.targets.load_targets`.
    reproduced : mapping
        Dotted key -> number computed by the analysis (use :func:`flatten` on nested results);
        percentages in percent, durations in months.
    audit : DataFrame, optional
        From :func:`analysis.synthetic.audit.audit_paper`; computed from ``targets`` when omitted. Pass an empty
        frame to switch the "inconsistent in paper" status off.
    tolerances : mapping, optional
        Per-unit absolute tolerances overriding :data:`DEFAULT_TOLERANCES`.

    Returns
    -------
    DataFrame
        ``key, where, unit, published, reproduced, difference, status`` in the targets' order.
    """
    if audit is None:
        audit = audit_paper(targets)
    flagged = inconsistent_keys(audit) if len(audit) else set()
    rows = []
    for _, t in targets.iterrows():
        rep = reproduced.get(t["key"])
        status, diff = classify(t["value"], rep, int(t["decimals"]), t["unit"], t["kind"],
                                is_flagged(t["key"], flagged), tolerances)
        rows.append(dict(key=t["key"], where=t["where"], unit=t["unit"], published=t["value"],
                         reproduced=math.nan if _missing(rep) else rep, difference=diff, status=status))
    return pd.DataFrame(rows, columns=CARD_COLUMNS)


def section_of(key: str) -> str:
    """Scorecard section: the first key component; the subgroup medians, intervals and log-rank p values
    of the paper's Table 2 apart from its Cox model.

    >>> section_of("subgroups.cox.ecog_group.hr"), section_of("subgroups.sex.male.median")
    ('subgroups (Cox model)', 'subgroups (medians, log-rank)')
    """
    parts = key.split(".")
    if parts[0] == "subgroups":
        return "subgroups (Cox model)" if len(parts) > 1 and parts[1] == "cox" else "subgroups (medians, log-rank)"
    return parts[0]


def summarise(card: pd.DataFrame, statuses: Iterable[str] = STATUSES,
              unreachable: pd.DataFrame | None = None) -> pd.DataFrame:
    """Counts of each status per section, with an ``overall`` row first and a ``total`` column.

    With ``unreachable`` (:func:`analysis.synthetic.audit.unreachable`) a last column ``at most`` gives how many
    of the section's numbers any data set can reproduce together (the total less the numbers the paper
    rules out itself).
    """
    statuses = list(statuses)
    sec = card["key"].map(section_of)
    order = list(dict.fromkeys(sec))
    tab = pd.crosstab(sec, card["status"]).reindex(index=order, columns=statuses, fill_value=0)
    overall = card["status"].value_counts().reindex(statuses, fill_value=0).rename("overall")
    out = pd.concat([overall.to_frame().T, tab])
    out.index.name = "section"
    out.columns.name = None
    out["total"] = out.sum(axis=1)
    if unreachable is not None:
        lost = lost_by_section(unreachable)
        lost["overall"] = sum(lost.values())
        out["at most"] = out["total"] - pd.Series(lost).reindex(out.index, fill_value=0)
    return out.astype(int)


def lost_by_section(unreachable: pd.DataFrame) -> dict[str, int]:
    """Numbers no data set reproduces (:func:`analysis.synthetic.audit.unreachable`), per scorecard section."""
    out: dict[str, int] = {}
    for keys, lost in zip(unreachable["keys"], unreachable["lost"]):
        sec = section_of(keys[0])
        out[sec] = out.get(sec, 0) + int(lost)
    return out


def ceiling_text(unreachable: pd.DataFrame, n: int, exact: int) -> tuple[int, str]:
    """The most any cohort can reproduce, and a sentence that says why and how close this one is."""
    lost = int(unreachable["lost"].sum())
    if not lost:
        return n, ""
    by = unreachable.groupby("category", sort=False)["lost"].sum()
    words = {"percent vs count": ("percentage contradicts its count", "percentages contradict their counts"),
             "definition": ("number is a definition rather than a result",
                            "numbers are definitions rather than results"),
             "same quantity twice": ("quantity is printed twice with different values",
                                     "quantities are printed twice with different values"),
             "Cox numbers together": ("Cox-model number cannot print with the rest of its row, whose HR, bounds "
                                      "and p all come from one coefficient and its standard error",
                                      "Cox-model numbers cannot print with the rest of their rows, whose HR, "
                                      "bounds and p all come from one coefficient and its standard error")}
    parts = [f"{int(k)} {words.get(c, (c, c))[int(k) != 1]}" for c, k in by.items()]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    top = n - lost
    share = f" ({100.0 * exact / top:.0f}%)" if top else ""
    return top, (f"No data set reproduces all {n}: with every count exact, "
                 f"at most {top} can print ({listed}; see @tbl-paper-audit), and this cohort reproduces {exact} of "
                 f"those {top}{share}.")


def reproduced_text(values: Iterable, units: Iterable | None = None) -> list[str]:
    """Reproduced values as the scorecard tables print them: numbers to 3 decimals, counts (``units``
    "count") as whole numbers, dates as they are.

    >>> reproduced_text([64.70588, "2025-01-20", None])
    ['64.706', '2025-01-20', '–']
    >>> reproduced_text([68.0, 45.588], ["count", "percent"])
    ['68', '45.588']
    """
    from analysis.report import fmt

    values = list(values)
    units = list(units) if units is not None else [None] * len(values)
    out = []
    for v, u in zip(values, units):
        if v is None or (isinstance(v, float) and v != v):
            out.append("–")
        elif isinstance(v, Number) and not isinstance(v, bool):
            out.append(str(int(round(float(v)))) if u == "count" and float(v).is_integer() else fmt.num(v, 3))
        else:
            out.append(str(v))
    return out


def display_tables(card: pd.DataFrame, summary: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Display frames (summary by section, full card) with published values printed as in the paper."""
    from analysis.report import fmt

    summ = summary.reset_index() if summary.index.name or "section" not in summary.columns else summary.copy()
    summ = summ.rename(columns={summ.columns[0]: "Section"})
    summ.columns = [str(c).capitalize() if i else c for i, c in enumerate(summ.columns)]
    from analysis.report.labels import number_labels

    full = pd.DataFrame({
        "Published number": number_labels(card["key"]),
        "Where in the paper": card["where"].astype(str),
        "Published": published_text(card["published"], card["unit"]),
        "Reproduced": reproduced_text(card["reproduced"], card["unit"]),
        "Status": card["status"],
    })
    return summ, full


def published_text(values: Iterable, units: Iterable) -> list[str]:
    """Published values as printed in the paper: counts as whole numbers ("68", not "68.0").

    >>> published_text([68.0, 45.6, "<0.001"], ["count", "percent", "p"])
    ['68', '45.6', '<0.001']
    """
    return [str(int(v)) if u == "count" and isinstance(v, Number) and float(v).is_integer() else str(v)
            for v, u in zip(values, units)]


def headline(card: pd.DataFrame, unreachable: pd.DataFrame | None = None) -> dict[str, tuple]:
    """Counts per status and the sentence the report's abstract uses, as ``{key: (value, text)}``.

    With ``unreachable`` (:func:`analysis.synthetic.audit.unreachable`) also ``at_most`` (the most any cohort can
    reproduce), ``exact_of_at_most_pct`` and ``ceiling_sentence``.
    """
    n = len(card)
    counts = card["status"].value_counts()
    exact = int(counts.get("exact", 0))
    within = int(counts.get("within tolerance", 0))
    incons = int(counts.get("inconsistent in paper", 0))
    off = int(counts.get("off", 0))
    notc = int(counts.get("not computed", 0))
    counts_exact = card[(card["unit"] == "count")]
    count_exact = int((counts_exact["status"] == "exact").sum())
    pct = 100.0 * exact / n if n else float("nan")
    sentence = (f"Of the {n} numbers the paper reports in its Results, tables and abstract, {exact} "
                f"({pct:.0f}%) are reproduced exactly at their published precision, {within} within tolerance, "
                f"{incons} contradict{'s' if incons == 1 else ''} other numbers of the paper, {off} "
                f"{'is' if off == 1 else 'are'} off and {notc} {'is' if notc == 1 else 'are'} not computed; "
                f"{count_exact} of {len(counts_exact)} published counts are exact.")
    out = {"n": (n, str(n)), "exact": (exact, str(exact)), "exact_pct": (pct, f"{pct:.0f}"),
           "within": (within, str(within)), "inconsistent": (incons, str(incons)), "off": (off, str(off)),
           "not_computed": (notc, str(notc)), "counts_exact": (count_exact, str(count_exact)),
           "counts_total": (len(counts_exact), str(len(counts_exact))), "sentence": (None, sentence)}
    if unreachable is not None:
        top, text = ceiling_text(unreachable, n, exact)
        share = 100.0 * exact / top if top else float("nan")
        out.update({"at_most": (top, str(top)), "exact_of_at_most_pct": (share, f"{share:.0f}"),
                    "ceiling_sentence": (None, text)})
    return out


# ---------------------------------------------------------------------------------------------
# comparison mode: any cohort other than the shipped synthetic one
# ---------------------------------------------------------------------------------------------
#: Estimates of the main-text comparison table (each with its interval where the paper prints one).
HEADLINE_KEYS = ("cohort.n", "response.orr.pct", "response.dcr.pct", "survival.dor.median", "survival.pfs.median",
                 "survival.os.median", "survival.followup.median", "safety.any.any_pct",
                 "safety.any.grade3plus_pct")


_ESTIMATES = (".median", ".pct", ".hr", ".estimate")  # the number an interval <stem>.lower/.upper belongs to


def _cell(value, decimals: int, lower=None, upper=None, ci_decimals: int | None = None) -> str:
    from analysis.report import fmt

    def one(v, d):
        if _missing(v):
            return fmt.MISSING
        if isinstance(v, str):
            return v
        return fmt.NOT_REACHED if math.isinf(float(v)) else format_published(float(v), d)

    out = one(value, decimals)
    if lower is not None or upper is not None:
        d = decimals if ci_decimals is None else ci_decimals
        if not (_missing(lower) and _missing(upper)):
            out += f" ({one(lower, d)}–{one(upper, d)})"
    return out


def comparison(targets: pd.DataFrame, reproduced: Mapping[str, float], keys: Iterable[str] | None = None
               ) -> pd.DataFrame:
    """The cohort's estimates beside the paper's, with intervals, without any verdict.

    One row per published estimate: by default every estimate the paper prints with an interval
    (``<x>.lower``/``<x>.upper`` beside ``<x>``, e.g. medians, ORR, hazard ratios) and the
    :data:`HEADLINE_KEYS`; with ``keys``, those. Columns: key, where, published (printed as in the
    paper, with its interval), cohort (this cohort's value at the same decimals, with its interval;
    NR = not reached, – = not computed for this cohort), within (whether the paper's interval
    contains the cohort's estimate; NaN without both).
    """
    first = targets.drop_duplicates("key").set_index("key")
    first = first[first["kind"].isin(["value"])] if "kind" in first else first
    stems = {k.rsplit(".", 1)[0] for k in first.index if k.endswith(".lower")}
    if keys is None:
        keys = [k for k in first.index if k in HEADLINE_KEYS or (k.endswith(_ESTIMATES) and k.rsplit(".", 1)[0] in stems)]
    rows = []
    for k in keys:
        if k not in first.index:
            continue
        t = first.loc[k]
        stem = k.rsplit(".", 1)[0]
        lo_k, hi_k = f"{stem}.lower", f"{stem}.upper"
        has_ci = stem in stems and k.endswith(_ESTIMATES)
        d = int(t["decimals"])
        ci_d = int(first.loc[lo_k, "decimals"]) if has_ci else d
        pub = _cell(t["value"], d, first.loc[lo_k, "value"] if has_ci else None,
                    first.loc[hi_k, "value"] if has_ci else None, ci_d)
        rep = reproduced.get(k)
        coh = _cell(rep, d, reproduced.get(lo_k) if has_ci else None, reproduced.get(hi_k) if has_ci else None, ci_d)
        within = math.nan
        if has_ci and not _missing(rep) and not isinstance(rep, str):
            within = float(float(first.loc[lo_k, "value"]) <= float(rep) <= float(first.loc[hi_k, "value"]))
        rows.append(dict(key=k, where=t["where"], published=pub, cohort=coh, within=within))
    return pd.DataFrame(rows, columns=["key", "where", "published", "cohort", "within"])


def comparison_display(comp: pd.DataFrame) -> pd.DataFrame:
    """Display frame of :func:`comparison`."""
    return pd.DataFrame({"Number": comp["key"], "Where in the paper": comp["where"].astype(str).str.slice(0, 60),
                         "Published (95% CI)": comp["published"], "This cohort (95% CI)": comp["cohort"]})


def comparison_text(comp: pd.DataFrame, name: str, n: int, paper_n: int) -> str:
    """The comparison section's paragraph: what is compared and how often the paper's interval holds the cohort's
    estimate; no reproduction verdicts (exact, off)."""
    with_ci = comp["within"].notna()
    inside = int(comp.loc[with_ci, "within"].sum())
    # the cohort name is input text: it enters through escape.fill, never inside Markdown syntax (issue #30)
    from analysis.data import escape

    return (escape.fill("The analysed cohort (*{name}*, ", name=name) + f"{n} patients) is not the cohort of the published study "
            f"({paper_n} patients), so its results are set beside the paper's rather than scored against them: "
            "@tbl-scorecard-summary gives the main estimates of both, and @tbl-scorecard every published estimate "
            "that has a confidence interval, with this cohort's. "
            f"For {inside} of the {int(with_ci.sum())} estimates with a published interval, the paper's interval "
            "contains this cohort's estimate. Differences reflect different patients, follow-up and possibly "
            "methods (see the Methods), not errors of reproduction; the consistency audit of the paper's own "
            "numbers follows (@tbl-paper-audit).")


def paper_n(targets: pd.DataFrame) -> int:
    """The published study's number of patients (the target ``cohort.n``), for statements about the paper."""
    return int(float(targets.loc[targets["key"] == "cohort.n", "value"].iloc[0]))


def comparison_sentence(paper_n: int) -> str:
    """The abstract's sentence on the published study in comparison mode."""
    return (f"The cohort analysed here is not the published study's ({paper_n} patients); its results are set "
            "beside the published ones, estimate by estimate, without scoring them as a reproduction.")


_MISSES_INTRO = (
    "Each reason is computed from the analysed data and the published numbers: for a median interval, the days "
    "between the two deaths that set its half-width; for a landmark rate, the patients at risk and the Greenwood "
    "variance against the variance the published interval implies (and, when that variance is larger than any "
    "curve with as many patients followed beyond the landmark can have, the most patients it allows there); for a "
    "p value, the log-rank chi-square against the one the published p needs; for a number the paper contradicts, "
    "the audit's finding.")


# ---------------------------------------------------------------------------------------------
# the abstract's conclusion: which of the paper's headline results the data reproduce
# ---------------------------------------------------------------------------------------------
REPRODUCED = ("exact", "within tolerance")
_ENDPOINT_WORDS = {"dor": "duration of response", "pfs": "progression-free survival", "os": "overall survival",
                   "followup": "follow-up"}


def headline_label(key: str, labels: Mapping[str, str] | None = None) -> str:
    """A headline key in words for running text.

    >>> headline_label("survival.pfs.median"), headline_label("subgroups.ecog_group.p", {"ecog_group": "ECOG status"})
    ('the median progression-free survival', 'the log-rank test of overall survival by ECOG status')
    """
    labels = labels or {}
    parts = key.split(".")
    if key == "response.orr.pct":
        return "the objective response rate"
    if key == "response.dcr.pct":
        return "the disease control rate"
    if parts[0] == "survival" and parts[-1] == "median":
        return f"the median {_ENDPOINT_WORDS.get(parts[1], parts[1])}"
    if parts[0] == "survival" and parts[-1] == "p" and parts[1] == "pfs_by_dose":
        return "the log-rank test of progression-free survival by dose"
    if parts[0] == "subgroups" and parts[1] == "cox" and len(parts) == 4:
        what = {"hr": "hazard ratio", "p": "p value"}.get(parts[3], parts[3])
        name = labels.get(parts[2], parts[2])
        return f"the Cox {what} of {name[:1].lower() + name[1:] if not name[:2].isupper() else name}"
    if parts[0] == "subgroups" and parts[-1] == "p" and len(parts) == 3:
        name = labels.get(parts[1], parts[1])
        return f"the log-rank test of overall survival by {name[:1].lower() + name[1:] if not name[:2].isupper() else name}"
    if key == "safety.any.any_pct":
        return "the rate of treatment-related adverse events"
    if key == "safety.any.grade3plus_pct":
        return "the rate of grade 3 or higher treatment-related adverse events"
    return key


def _printed(value, unit: str, decimals: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not computed"
    if isinstance(value, Number) and math.isinf(float(value)):
        return "not reached"
    s = format_published(float(value), decimals)
    return {"months": f"{s} months", "percent": f"{s}%", "p": f"p = {s}"}.get(unit, s)


def headline_keys(targets: pd.DataFrame) -> list[str]:
    """The paper's headline results: the estimates its abstract prints (rates, medians, p values; not counts,
    not interval bounds, not the medians of single subgroups), in the paper's order."""
    first = targets.drop_duplicates("key")
    first = first[first["kind"].isin(["value"])] if "kind" in first else first
    out = []
    for r in first.itertuples(index=False):
        parts = r.key.split(".")
        if "Abstract" not in str(r.where) or r.unit == "count" or parts[-1] in ("lower", "upper", "min", "max"):
            continue
        if parts[0] == "subgroups" and len(parts) > 3 and parts[1] != "cox":
            continue
        out.append(r.key)
    return out


def headline_reproduction(card: pd.DataFrame, targets: pd.DataFrame, labels: Mapping[str, str] | None = None
                          ) -> dict[str, tuple]:
    """Which headline results (:func:`headline_keys`) the cohort reproduces: an estimate counts as reproduced
    when it and the bounds of its published interval are exact or within tolerance (:data:`REPRODUCED`).

    Returns ``{key: (value, text)}``: ``headline.n``, ``headline.reproduced``, ``headline.not_reproduced`` and
    ``headline.sentence`` (the abstract's conclusion on the reproduction, computed from the card).
    """
    status = card.drop_duplicates("key").set_index("key")["status"]
    rep = card.drop_duplicates("key").set_index("key")["reproduced"]
    first = targets.drop_duplicates("key").set_index("key")
    yes, no = [], []
    for k in headline_keys(targets):
        if k not in status.index:
            continue
        stem = k.rsplit(".", 1)[0]
        bounds = [b for b in (f"{stem}.lower", f"{stem}.upper") if b in status.index] if k.endswith(
            (".median", ".pct", ".hr")) else []
        name = headline_label(k, labels)
        unit, d = str(first.loc[k, "unit"]), int(first.loc[k, "decimals"])
        if status[k] not in REPRODUCED:
            no.append(f"{name} (published {_printed(float(first.loc[k, 'value']), unit, d)}, here "
                      f"{_printed(_num(rep[k]), unit, d)})")
        elif any(status[b] not in REPRODUCED for b in bounds):
            bd = int(first.loc[bounds[0], "decimals"])
            pub = "–".join(format_published(float(first.loc[b, "value"]), bd) for b in bounds)
            shown = [_bound_text(_num(rep[b]), bd) for b in bounds]
            here = (" to " if any(t.startswith("not") for t in shown) else "–").join(shown)
            yes.append(name)
            no.append(f"the confidence interval of {name.removeprefix('the ')} (published {pub}, here {here})")
        else:
            yes.append(name)
    n = len(yes) + len([x for x in no if not x.startswith("the confidence interval")])
    parts = []
    if yes:
        parts.append(f"The synthetic cohort reproduces {_join(yes)} as the paper's abstract prints "
                     f"{'it' if len(yes) == 1 else 'them'}")
    if no:
        parts.append(f"it does not reproduce {_join(no)}")
    sentence = ("; ".join(parts) + ".") if parts else "The paper's abstract prints no headline estimate to compare."
    sentence = sentence[0].upper() + sentence[1:]
    return {"headline.n": (n, str(n)), "headline.reproduced": (len(yes), str(len(yes))),
            "headline.not_reproduced": (len(no), str(len(no))), "headline.sentence": (None, sentence)}


def _bound_text(value: float, decimals: int) -> str:
    """An interval bound as the abstract prints it: a number, "not reached" (infinite: the curve never got
    there) or "not computed" (undefined)."""
    if math.isnan(value):
        return "not computed"
    if math.isinf(value):
        return "not reached"
    return format_published(value, decimals)


def _num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def section_title(reproduction: bool) -> str:
    """The heading of the scorecard's section of the supplement."""
    return "Reproduction of the published results" if reproduction else "Comparison with the published study"


def card_title(reproduction: bool) -> str:
    """The heading of the number-by-number table's section of the supplement."""
    return "Reproduction scorecard, number by number" if reproduction else "The published estimates beside this cohort's"


def misses_markdown(reproduction: bool) -> str:
    """The heading and introduction of the supplement's "not reproduced exactly" table (reproduction only; ""
    otherwise). Holds no include: the supplement includes ``tbl-misses.md`` itself (no nested includes)."""
    if not reproduction:
        return ""
    return "## Numbers not reproduced exactly, and why {#sec-supp-misses}\n\n" + _MISSES_INTRO


def article_text(reproduction: bool, count_sentence: str = "", headline_sentence: str = "", paper_n: int = 0) -> str:
    """The article's paragraph on the published study; the tables it summarises are in the supplement.

    >>> article_text(False, paper_n=68)
    "For comparison, the estimates of the published study of 68 patients [@chen2025] are set beside this cohort's in [{{< var supp.tbl-scorecard-summary >}}](supplement.html#tbl-scorecard-summary) and [{{< var supp.tbl-scorecard >}}](supplement.html#tbl-scorecard)."
    """
    if reproduction:
        return (f"{count_sentence} {headline_sentence} The scorecard by section "
                "([{{< var supp.tbl-scorecard-summary >}}](supplement.html#tbl-scorecard-summary)), number by number "
                "([{{< var supp.tbl-scorecard >}}](supplement.html#tbl-scorecard)), the reason for every number not "
                "reproduced exactly ([{{< var supp.tbl-misses >}}](supplement.html#tbl-misses)) and the audit of the "
                "paper's own numbers ([{{< var supp.tbl-paper-audit >}}](supplement.html#tbl-paper-audit)) are in the "
                "supplement.")
    return (f"For comparison, the estimates of the published study of {paper_n} patients [@chen2025] are set beside "
            "this cohort's in [{{< var supp.tbl-scorecard-summary >}}](supplement.html#tbl-scorecard-summary) and "
            "[{{< var supp.tbl-scorecard >}}](supplement.html#tbl-scorecard).")
