"""The specification-curve figure (Simonsohn, Simmons & Nelson 2020).

Top panel: the estimate of every specification, sorted, with its confidence interval, filled when
its p value is below ``alpha``. Bottom panel: one row per option of each choice, a mark in the
column of every specification that took it. The function returns the figure; it neither saves
nor shows it (it is closed in pyplot, so a notebook shows it once, with ``display(fig)``).
"""
from __future__ import annotations

import os

import matplotlib

if not os.environ.get("MPLBACKEND"):  # scripts and tests; a Jupyter kernel sets its inline backend
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

__all__ = ["specification_curve"]


def specification_curve(frame: pd.DataFrame, term: str, choices, *, ylabel: str = "Hazard ratio (95% CI)",
                        alpha: float = 0.05, log: bool = True, figsize=(7.2, 5.4)):
    """Specification curve of ``term`` (columns ``<term>.hr``, ``.lower``, ``.upper``, ``.p``).

    Parameters
    ----------
    frame : DataFrame
        :func:`analysis.sensitivity.multiverse.run` output.
    term : str
        Key prefix of the estimate, e.g. ``"subgroups.cox.ecog_group"``.
    choices : list of Choice
        The choices of the multiverse (rows of the bottom panel).
    alpha : float
        Specifications with p < alpha are drawn filled, the others open.

    Returns
    -------
    matplotlib.figure.Figure
        Specifications without the estimate (e.g. the term is not in the model) are left out;
        the title says how many.
    """
    from analysis.report import plots  # noqa: F401  the report's figure style (Libertinus), set at its import

    cols = {k: f"{term}.{k}" for k in ("hr", "lower", "upper", "p")}
    have = frame[[c for c in cols.values() if c in frame]].copy()
    for c in cols.values():
        if c not in have:
            have[c] = np.nan
    ok = have[cols["hr"]].notna()
    d = frame[ok].assign(_est=have.loc[ok, cols["hr"]]).sort_values(["_est", "spec"], kind="mergesort")
    x = np.arange(len(d))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=figsize, sharex=True,
                                      gridspec_kw={"height_ratios": [1.1, 0.9], "hspace": 0.06})
    if len(d):
        sig = (have.loc[d.index, cols["p"]] < alpha).to_numpy()
        lo, hi = have.loc[d.index, cols["lower"]].to_numpy(), have.loc[d.index, cols["upper"]].to_numpy()
        top.vlines(x, lo, hi, color="#9db4cc", linewidth=1.2)
        top.scatter(x[sig], d["_est"].to_numpy()[sig], s=14, color="#1f4e79", zorder=3, label=f"p < {alpha:g}")
        top.scatter(x[~sig], d["_est"].to_numpy()[~sig], s=14, facecolor="white", edgecolor="#1f4e79", zorder=3,
                    label=f"p ≥ {alpha:g}")
        top.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=2, frameon=False, fontsize=8)
    top.axhline(1.0, color="grey", linewidth=0.8, linestyle="--")
    if log:
        top.set_yscale("log")
        top.yaxis.set_major_formatter(mticker.FormatStrFormatter("%.2g"))
        top.yaxis.set_minor_formatter(mticker.FormatStrFormatter("%.2g"))
    top.set_ylabel(ylabel, fontsize=9)
    dropped = int((~ok).sum())
    top.set_title(f"{len(d)} specifications" + (f" ({dropped} more without this term in the model)" if dropped else ""),
                  fontsize=9, loc="right")
    labels = []
    row = 0
    for ch in choices:
        for label, _ in ch.options:
            used = (d[ch.name] == label).to_numpy() if len(d) else np.array([], dtype=bool)
            bottom.scatter(x[used], np.full(used.sum(), row), marker="|", s=40, color="#1f4e79", linewidths=1.2)
            labels.append(f"{ch.name}: {label}")
            row += 1
    bottom.set_yticks(range(row))
    bottom.set_yticklabels(labels, fontsize=7)
    bottom.set_ylim(row - 0.5, -0.5)
    bottom.set_xlabel("Specification (sorted by estimate)", fontsize=9)
    bottom.set_xlim(-1, max(len(d), 1))
    for ax in (top, bottom):
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=8)
    fig.align_ylabels([top, bottom])
    plt.close(fig)
    return fig
