"""Robustness sentences built from the sensitivity results, true for any cohort.

Each builder takes the result frames of :mod:`analysis.sensitivity.multiverse` and
:mod:`analysis.sensitivity.tables` and words what they say: a conclusion that holds everywhere is
"robust", one that holds nowhere "not supported", and one in between "hinges" on the choice
that splits it (or "depends most" on the choice with the largest difference between its two options).
"""
from __future__ import annotations

import math

import pandas as pd

from analysis.report import fmt

__all__ = ["multiverse_sentence", "scenarios_sentence", "scenario_changes_sentence", "robustness_text",
           "choices_discussion", "curve_caption"]


def _pct(k: int, n: int) -> str:
    return f"{fmt.percent(100 * k / n, 0)}%"


def _names(names: list[str], limit: int = 4) -> str:
    shown = [f"`{n}`" for n in names[:limit]]
    more = len(names) - limit
    if more > 0:
        shown.append(f"{more} more")
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def multiverse_sentence(row, choices) -> str:
    """One sentence on one conclusion over the multiverse.

    ``row`` is a row of :func:`analysis.sensitivity.multiverse.conclusion_shares`; ``choices`` the
    :class:`~analysis.sensitivity.multiverse.Choice` list it was computed with.

    >>> from analysis.sensitivity.multiverse import Choice
    >>> ch = [Choice("Ties", (("Breslow", {}), ("Efron", {})))]
    >>> row = {"claim": "X predicts OS", "n": 2, "k": 1, "missing": 0,
    ...        "share|Ties|Breslow": 1.0, "share|Ties|Efron": 0.0}
    >>> multiverse_sentence(row, ch)
    'X predicts OS: holds in 1 of the 2 specifications (50%); it hinges on one choice, Ties: it holds with “Breslow” and not with “Efron”.'
    """
    get = row.get if isinstance(row, dict) else row.__getitem__
    claim, n, k, missing = get("claim"), int(get("n")), int(get("k")), int(get("missing"))
    total = n + missing
    tail = (f" It could not be assessed in {missing} of the {total} specifications (the number is not "
            "computed there, e.g. a term outside the model)." if missing else "")
    if n == 0:
        return f"{claim}: not assessable in any of the {total} specifications."
    if k == n:
        return f"{claim}: robust, holds in all {n} specifications where it can be assessed." + tail \
            if missing else f"{claim}: robust, holds in all {n} specifications."
    if k == 0:
        return f"{claim}: not supported, holds in none of the {n} specifications." + tail
    best, gap = None, -1.0
    for ch in choices:
        (a, _), (b, _) = ch.options
        sa, sb = get(f"share|{ch.name}|{a}"), get(f"share|{ch.name}|{b}")
        if sa is None or sb is None or (isinstance(sa, float) and math.isnan(sa)) or \
                (isinstance(sb, float) and math.isnan(sb)):
            continue
        if abs(sa - sb) > gap:
            best, gap = (ch, a, b, sa, sb), abs(sa - sb)
    text = f"{claim}: holds in {k} of the {n} specifications ({_pct(k, n)})"
    if best is not None and gap > 0:
        ch, a, b, sa, sb = best
        if {sa, sb} == {0.0, 1.0}:
            yes, no = (a, b) if sa == 1.0 else (b, a)
            text += f"; it hinges on one choice, {ch.name}: it holds with “{yes}” and not with “{no}”"
        else:
            text += (f"; it depends most on {ch.name} ({fmt.percent(100 * sa, 0)}% with “{a}”, "
                     f"{fmt.percent(100 * sb, 0)}% with “{b}”)")
    return text + "." + tail


def scenarios_sentence(row, with_claim: bool = True) -> str:
    """One sentence on one conclusion over the named scenarios (a row of
    :func:`analysis.sensitivity.tables.scenario_conclusions`); ``with_claim=False`` leaves the claim out.

    >>> scenarios_sentence({"claim": "X", "base": True, "n": 3, "k": 2, "fails": ["efron"], "missing": []})
    'X: holds with the base parameters and in 2 of the 3 scenarios; not in `efron`.'
    """
    get = row.get if isinstance(row, dict) else row.__getitem__
    claim, base, n, k = get("claim"), get("base"), int(get("n")), int(get("k"))
    fails, missing = list(get("fails")), list(get("missing"))
    claim = claim if with_claim else ""
    start = {True: "holds with the base parameters", False: "does not hold with the base parameters",
             None: "cannot be assessed with the base parameters"}[base]
    if n == 0:
        return f"{claim}: {start}; no scenario was run."
    assessed = n - len(missing)
    if k == assessed and assessed:
        text = f"{claim}: {start} and in every scenario where it can be assessed ({k} of {n})" if missing \
            else f"{claim}: {start} and in all {n} scenarios"
    elif k == 0:
        text = f"{claim}: {start} and in none of the {n} scenarios" if base is not True \
            else f"{claim}: {start} but in none of the {n} scenarios"
    else:
        text = f"{claim}: {start} and in {k} of the {n} scenarios"
        if fails:
            text += f"; not in {_names(fails)}"
    if missing:
        text += f" (not assessable in {_names(missing)})"
    text += "."
    return text if with_claim else text[2].upper() + text[3:]


def scenario_changes_sentence(comps: dict[str, pd.DataFrame]) -> str:
    """How many scenarios move a headline number at printed precision, and which moves most.

    >>> c = pd.DataFrame({"key": ["a", "b"], "status": ["same", "changed"]})
    >>> scenario_changes_sentence({"s1": c, "s2": c.assign(status="same")})
    'Of the 2 scenarios, 1 changes at least one headline number as printed; `s1` changes the most (1); `s2` changes none.'
    """
    if not comps:
        return "No scenario was run."
    counts = {n: int((c.status != "same").sum()) for n, c in comps.items()}
    moved = [n for n, k in counts.items() if k]
    none = [n for n, k in counts.items() if not k]
    text = (f"Of the {len(comps)} scenarios, {len(moved)} change{'s' if len(moved) == 1 else ''} at least one "
            "headline number as printed")
    if moved:
        top = max(moved, key=lambda n: (counts[n], -list(counts).index(n)))
        text += f"; `{top}` changes the most ({counts[top]})"
    if none:
        text += f"; {_names(none)} change{'s' if len(none) == 1 else ''} none"
    return text + "."


def robustness_text(shares: pd.DataFrame, scen: pd.DataFrame, choices, comps: dict[str, pd.DataFrame],
                    n_specs: int) -> str:
    """The section's Markdown paragraph: scenario changes, then each conclusion over the scenarios
    and over the ``n_specs`` specifications of the multiverse."""
    lines = [scenario_changes_sentence(comps), "",
             f"Over the {n_specs} specifications of the multiverse ({len(choices)} binary choices: "
             + ", ".join(ch.name for ch in choices) + "), and over the named scenarios:", ""]
    for m, s in zip(shares.to_dict("records"), scen.to_dict("records")):
        lines.append(f"- {multiverse_sentence(m, choices)} Named scenarios: "
                     + scenarios_sentence(s, with_claim=False))
    return "\n".join(lines) + "\n"


def choices_discussion(comps: dict[str, pd.DataFrame], top: int = 3) -> str:
    """The Discussion's sentence on which analytic choices matter, ranked by how many headline numbers each named
    scenario changes as printed (never asserted: a scenario that changes nothing is said to change nothing).

    >>> c = lambda k, n=4: pd.DataFrame({"key": list("abcd")[:n], "status": ["changed"] * k + ["same"] * (n - k)})
    >>> print(choices_discussion({"efron-ties": c(0), "months-365": c(3), "wilson-ci": c(1)}))
    Which analytic choices matter was measured, not assumed: of the 4 headline numbers, `months-365` changes the most as printed (3), then `wilson-ci` (1); `efron-ties` changes none.
    """
    if not comps:
        return "No sensitivity scenario was run, so which analytic choices matter was not measured."
    counts = {n: int((c.status != "same").sum()) for n, c in comps.items()}
    total = max(len(c) for c in comps.values())
    order = sorted((n for n in counts if counts[n]), key=lambda n: (-counts[n], list(counts).index(n)))
    none = [n for n in counts if not counts[n]]
    head = ("Which analytic choices matter was measured, not assumed: of the "
            f"{total} headline numbers, ")
    if not order:
        return head + f"none of the {len(comps)} named scenarios changes any as printed."
    shown = order[:top]
    text = head + f"`{shown[0]}` changes the most as printed ({counts[shown[0]]})"
    if len(shown) > 1:
        rest = [f"`{n}` ({counts[n]})" for n in shown[1:]]
        text += ", then " + (rest[0] if len(rest) == 1 else ", ".join(rest[:-1]) + " and " + rest[-1])
    if none:
        text += f"; {_names(none)} change{'s' if len(none) == 1 else ''} none"
    return text + "."


def curve_caption(n_drawn: int, n_specs: int, n_choices: int, term: str) -> str:
    """The specification curve's caption, counting the specifications it draws (those with the term in the model).

    >>> curve_caption(192, 256, 8, "ECOG performance status")[:120]
    'Specification curve: the hazard ratio of ECOG performance status in the Cox model in the 192 of the 256 specifications ('
    """
    which = (f"in all {n_specs} specifications" if n_drawn == n_specs else
             f"in the {n_drawn} of the {n_specs} specifications (combinations of {n_choices} analytic choices) that "
             "keep the term in the model")
    if n_drawn == n_specs:
        which += f" (combinations of {n_choices} analytic choices)"
    return (f"Specification curve: the hazard ratio of {term} in the Cox model {which}, sorted (filled: p < 0.05); "
            "below, the choices each specification made.")


def curve_alt(hr, p, term: str, n_specs: int, alpha: float = 0.05) -> str:
    """The specification curve's alt text, from the estimates it draws: how many specifications keep the
    term, the range of its hazard ratio and in how many it is significant.

    >>> curve_alt([0.4, 0.5, 1.2], [0.01, 0.03, 0.4], "ECOG performance status", 4)
    'Specification curve of the hazard ratio of ECOG performance status: in 3 of the 4 specifications the term is in the Cox model; its hazard ratio ranges from 0.40 to 1.20, below 1 in 2 and p < 0.05 in 2 of them.'
    >>> curve_alt([], [], "ECOG performance status", 4)
    'Specification curve of the hazard ratio of ECOG performance status: the term is in the Cox model in none of the 4 specifications, so no estimate is drawn.'
    """
    import math

    pairs = [(float(h), float(q)) for h, q in zip(hr, p) if h is not None and math.isfinite(float(h))]
    head = f"Specification curve of the hazard ratio of {term}: "
    if not pairs:
        return head + f"the term is in the Cox model in none of the {n_specs} specifications, so no estimate is drawn."
    hrs = [h for h, _ in pairs]
    below = sum(h < 1 for h in hrs)
    sig = sum(q < alpha for _, q in pairs if math.isfinite(q))
    which = (f"in all {n_specs} specifications the term is in the Cox model" if len(pairs) == n_specs
             else f"in {len(pairs)} of the {n_specs} specifications the term is in the Cox model")
    return (head + f"{which}; its hazard ratio ranges from {min(hrs):.2f} to {max(hrs):.2f}, below 1 in {below} and "
            f"p < {alpha:g} in {sig} of them.")
