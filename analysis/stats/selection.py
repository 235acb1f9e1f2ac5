"""Which covariates enter the multivariable Cox model.

The paper's Methods: "variables with statistically significant differences in univariate analysis
were included in the multivariable Cox regression model"; its Results add three more "based on
clinical relevance". ``cox_selection`` makes that choice a parameter:

``paper``        the covariates listed in ``cox_covariates`` (the paper's five)
``univariable``  the variables whose univariable (log-rank) p is below ``cox_select_p``
``all``          every variable of the subgroup table that enters the model as one term

A variable that ``cox_covariates`` codes keeps that coding; any other two-level variable is coded
against its last level (the paper's four references are each the second level listed), and a
variable with more levels enters through its measurement when it has one (``numeric``: the dose in
mg) and is left out otherwise (an ordinal score of, e.g., ICI agents means nothing), with a note.
"""
from __future__ import annotations

import math

import pandas as pd

__all__ = ["COX_SELECTIONS", "select_covariates"]

COX_SELECTIONS = ("paper", "univariable", "all")


def select_covariates(sub: pd.DataFrame, covariates: dict, selection: str = "paper", p_max: float = 0.05,
                      numeric=()) -> tuple[dict, list[str]]:
    """Covariates of the Cox model under a selection rule.

    Parameters
    ----------
    sub : DataFrame
        One row per (variable, level) with the variable's univariable p, in table order (columns
        ``variable``, ``level``, ``p``), as :func:`analysis.report.tables.subgroup_survival` returns.
    covariates : dict
        The paper's covariates and their coding (variable -> reference level, ``"numeric"`` or None).
    selection : {"paper", "univariable", "all"}
    p_max : float
        Univariable p below which a variable is selected (``univariable`` only).
    numeric : iterable of str
        Variables with a numeric measurement (``"numeric"`` coding allowed).

    Returns
    -------
    (dict, list of str)
        The covariates with their coding, in table order (``paper``: ``covariates`` unchanged), and
        notes on variables left out.

    Examples
    --------
    >>> sub = pd.DataFrame({"variable": ["ecog_group"] * 2 + ["sex"] * 2 + ["smoking"] * 3,
    ...                     "level": ["ecog_0_1", "ecog_2", "male", "female", "never", "former", "current"],
    ...                     "p": [0.02] * 2 + [0.4] * 2 + [0.01] * 3})
    >>> select_covariates(sub, {"ecog_group": "ecog_2"}, "univariable")
    ({'ecog_group': 'ecog_2'}, ['smoking left out: 3 levels and no measurement to enter as one term'])
    >>> select_covariates(sub, {"ecog_group": "ecog_2"}, "all")[0]
    {'ecog_group': 'ecog_2', 'sex': 'female'}
    """
    if selection not in COX_SELECTIONS:
        raise ValueError(f"cox_selection must be one of {COX_SELECTIONS}, got {selection!r}")
    if isinstance(p_max, bool) or not isinstance(p_max, (int, float)) or not 0 < p_max <= 1:
        raise ValueError(f"cox_select_p must be in (0, 1], got {p_max!r}")
    if selection == "paper":
        return dict(covariates), []
    chosen, notes = {}, []
    for var, g in sub.groupby("variable", sort=False):
        p = g["p"].iloc[0]
        levels = list(dict.fromkeys(g["level"]))
        if selection == "univariable" and not (p is not None and not math.isnan(p) and p < p_max):
            continue
        if var in covariates:
            chosen[var] = covariates[var]
        elif len(levels) == 2:
            chosen[var] = levels[-1]
        elif len(levels) > 2 and var in set(numeric):
            chosen[var] = "numeric"
        else:
            notes.append(f"{var} left out: {len(levels)} level{'s' if len(levels) != 1 else ''} and no "
                         "measurement to enter as one term")
    return chosen, notes
