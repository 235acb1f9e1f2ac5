"""Reading the project's own YAML files with libyaml's parser when PyYAML has it.

The result files (``numbers.yaml``, ``manifest.yaml``, ``sources.yaml``), the report's
``_variables.yml`` and the published targets are read many times per build and per scenario of
``make sensitivity``; PyYAML's pure-Python parser spends about a second of CPU per build on them.
``CSafeLoader`` is the same safe loader (same resolver and constructors, so the same values) with
the scanner and parser in C. Files a user writes whose errors must name a line and column keep
their own loaders (:mod:`analysis.report.params`, :mod:`analysis.data.metadata`); libyaml gives
marks too, so either way an error says where.
"""
from __future__ import annotations

import yaml

__all__ = ["load"]

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(stream):
    """``yaml.safe_load(stream)`` (a string or a file object), parsed by libyaml when available."""
    return yaml.load(stream, Loader=_LOADER)  # noqa: S506  a safe loader
