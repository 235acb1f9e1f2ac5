"""The committed data dictionary is the one generated from analysis/data/schema.py."""
from __future__ import annotations

import re

from analysis.paths import DATA_DIR
from analysis.data.schema import RULES, SCHEMA, data_dictionary


def test_committed_dictionary_is_current():
    committed = (DATA_DIR / "DATA_DICTIONARY.md").read_text(encoding="utf-8")
    assert committed == data_dictionary(), "data/DATA_DICTIONARY.md is stale: run `python -m analysis.data.schema`"


def test_dictionary_lists_every_column_and_rule():
    text = data_dictionary()
    for table, cols in SCHEMA.items():
        assert f"## Table `{table}`" in text
        for c in cols:
            assert f"| `{c.name}` |" in text
    for r in RULES:
        assert f"| `{r.id}` | {r.severity} |" in text


def test_rule_catalogue_is_well_formed():
    """Readers and validator refuse undocumented rule ids at run time; here: ids unique, severities known."""
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    assert {r.severity for r in RULES} <= {"error", "warning"}
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", i) for i in ids)
