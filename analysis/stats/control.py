"""Validated option bundles for the statistics layer.

Every analysis option travels as one frozen, validated object (as in the
pharmaverse ``tern`` package, ``control_surv_time()``), so a notebook passes
``ctrl=SurvControl(median_ci="log-log")`` instead of loose keyword arguments,
and a bad value fails at construction time rather than deep in a computation.

Examples
--------
>>> from analysis.stats.control import SurvControl
>>> SurvControl(median_ci="log").z  # doctest: +ELLIPSIS
1.95996...
>>> SurvControl(conf_level=1.5)
Traceback (most recent call last):
...
ValueError: conf_level must be in (0, 1), got 1.5
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from analysis.stats.dist import norm_ppf

__all__ = ["SurvControl", "CoxControl", "ResponseControl",
           "MEDIAN_CI_METHODS", "RATE_CI_METHODS", "COX_TIES", "PROPORTION_CI_METHODS"]

MEDIAN_CI_METHODS = ("spss", "log", "log-log", "plain")
RATE_CI_METHODS = ("log-log", "log", "plain")
COX_TIES = ("breslow", "efron")
PROPORTION_CI_METHODS = ("clopper-pearson", "wilson", "jeffreys", "normal")


def _check_level(conf_level) -> None:
    if isinstance(conf_level, bool) or not isinstance(conf_level, (int, float)) \
            or not (0.0 < float(conf_level) < 1.0) or math.isnan(conf_level):
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level!r}")


def _check_choice(name: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


class _ZMixin:
    conf_level: float

    @property
    def z(self) -> float:
        """Two-sided standard-normal quantile for ``conf_level``."""
        return float(norm_ppf(1.0 - (1.0 - self.conf_level) / 2.0))


@dataclass(frozen=True)
class SurvControl(_ZMixin):
    """Options for Kaplan–Meier summaries.

    Parameters
    ----------
    conf_level : float
        Confidence level of every interval, in (0, 1).
    median_ci : {"spss", "log", "log-log", "plain"}
        Interval for the median (and other quantiles). ``"spss"`` is the
        symmetric interval median ± z·se used by SPSS (and by the paper);
        the others are Brookmeyer–Crowley intervals obtained by inverting
        the pointwise band of that type, exactly as R ``quantile.survfit``.
    rate_ci : {"log-log", "log", "plain"}
        Pointwise transformation of the Greenwood interval for S(t)
        (Stata ``sts list`` uses log-log).
    plateau_tol : float
        Tolerance for deciding that S(t) sits exactly on a quantile level
        (e.g. an exact 0.5 plateau), in [0, 1e-3].

    Examples
    --------
    >>> SurvControl(median_ci="log-log", rate_ci="log").median_ci
    'log-log'
    """

    conf_level: float = 0.95
    median_ci: str = "spss"
    rate_ci: str = "log-log"
    plateau_tol: float = 1e-9

    def __post_init__(self):
        _check_level(self.conf_level)
        _check_choice("median_ci", self.median_ci, MEDIAN_CI_METHODS)
        _check_choice("rate_ci", self.rate_ci, RATE_CI_METHODS)
        tol = self.plateau_tol
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not (0.0 <= tol <= 1e-3):
            raise ValueError(f"plateau_tol must be a float in [0, 1e-3], got {tol!r}")


@dataclass(frozen=True)
class CoxControl(_ZMixin):
    """Options for the Cox proportional-hazards model.

    Parameters
    ----------
    ties : {"breslow", "efron"}
        Tie handling. Stata ``stcox`` and SPSS default to Breslow; R ``coxph``
        defaults to Efron.
    conf_level : float
        Confidence level of the hazard-ratio intervals.
    max_iter : int
        Newton–Raphson iterations before giving up (R: ``iter.max = 20``).
    eps : float
        Convergence criterion on the relative change of the log partial
        likelihood (R: ``eps = 1e-9``).

    Examples
    --------
    >>> CoxControl(ties="efron").ties
    'efron'
    """

    ties: str = "breslow"
    conf_level: float = 0.95
    max_iter: int = 20
    eps: float = 1e-9

    def __post_init__(self):
        _check_choice("ties", self.ties, COX_TIES)
        _check_level(self.conf_level)
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, int) or self.max_iter < 1:
            raise ValueError(f"max_iter must be a positive int, got {self.max_iter!r}")
        if not isinstance(self.eps, (int, float)) or not (0.0 < self.eps < 1e-2):
            raise ValueError(f"eps must be in (0, 0.01), got {self.eps!r}")


@dataclass(frozen=True)
class ResponseControl(_ZMixin):
    """Options for response rates (ORR, DCR).

    Parameters
    ----------
    ci_method : {"clopper-pearson", "wilson", "jeffreys", "normal"}
        Binomial interval; the paper's intervals are Clopper–Pearson.
    conf_level : float
        Confidence level.
    exclude_not_evaluable : bool
        Drop "NE" patients from the denominator (the paper keeps them).

    Examples
    --------
    >>> ResponseControl(ci_method="wilson").ci_method
    'wilson'
    """

    ci_method: str = "clopper-pearson"
    conf_level: float = 0.95
    exclude_not_evaluable: bool = False

    def __post_init__(self):
        _check_choice("ci_method", self.ci_method, PROPORTION_CI_METHODS)
        _check_level(self.conf_level)
        if not isinstance(self.exclude_not_evaluable, bool):
            raise ValueError("exclude_not_evaluable must be a bool")
