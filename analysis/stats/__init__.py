"""Statistics layer: Kaplan–Meier, comparisons (log-rank, Cox), response rates, safety tables, analysis options.

Imports only :mod:`analysis.data` (and :mod:`analysis.paths`).
"""
