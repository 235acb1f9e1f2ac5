"""Report layer: formatting, tables, plots, results files and rendering.

Imports :mod:`analysis.stats` and :mod:`analysis.data`, never the synthetic-cohort package.
"""
