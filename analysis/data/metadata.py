"""The cohort's ``cohort.yaml``: read with limits, checked before any of it is used.

``cohort.yaml`` is written by the person who exports the data, so it is input like the tables:

* it is read only up to :data:`MAX_YAML_BYTES` (``yaml_too_large``) and with YAML aliases
  expanded to at most :data:`MAX_YAML_NODES` nodes (``yaml_alias_bomb``: a "billion laughs"
  file is refused in milliseconds instead of growing a notebook to gigabytes);
* it must be a mapping (``yaml_not_mapping``), its known keys have the types of
  :data:`KEYS` (``yaml_key_type``), and free text is at most :data:`MAX_TEXT_CHARS`
  characters per field (``text_too_long``);
* its free text (``name``, ``description``) is checked for the cohort's patient identifiers
  and patient-level dates, in ISO and in the usual day/month forms, before it is used
  (``text_identifier``); the message names the field, never the identifier.

Every rule is in :data:`analysis.data.schema.RULES` and so in the data dictionary.

>>> parse_metadata("name: ward 7\\n")["name"]
'ward 7'
>>> parse_metadata("just a string")
Traceback (most recent call last):
...
analysis.data.metadata.MetadataError: cohort.yaml: yaml_not_mapping: the file holds a string, not a mapping of keys to values; write it as lines 'name: ...' and 'description: ...'
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import yaml

#: Largest ``cohort.yaml`` read (bytes); a real one is a few lines.
MAX_YAML_BYTES = 64 * 1024
#: Most YAML nodes after alias expansion (a real file has a few dozen).
MAX_YAML_NODES = 10_000
#: Longest free-text field (``name``: its own, shorter limit).
MAX_TEXT_CHARS = 5_000
MAX_NAME_CHARS = 200
#: Known keys and their types.
KEYS = {"name": (str, int, float), "description": (str,), "synthetic": (bool,), "date_format": (str,),
        "sheets": (dict,), "follow_links": (bool,),
        # the article's title page and declarations (analysis.data.cohort_meta.ARTICLE_KEYS, issue #28)
        "title": (str,), "subtitle": (str,), "authors": (str, list), "affiliation": (str,),
        "date": (str, dt.date), "running_head": (str,), "ethics": (str,), "funding": (str,),
        "conflicts": (str,), "data_availability": (str,)}
#: Fields printed in the report: length-limited and checked for the cohort's identifiers and dates.
FREE_TEXT = ("name", "description", "title", "subtitle", "authors", "affiliation", "running_head", "ethics",
             "funding", "conflicts", "data_availability")


class MetadataError(ValueError):
    """``cohort.yaml`` breaks a rule; the message is one line: file, rule, cause and fix."""


def _node_count(node, memo: dict, limit: int) -> int:
    """Nodes of ``node`` with every alias expanded (memoised, so a bomb costs its own size)."""
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = limit + 1  # a recursive alias counts as too large
    n = 1
    if isinstance(node, yaml.SequenceNode):
        for child in node.value:
            n += _node_count(child, memo, limit)
            if n > limit:
                break
    elif isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            n += _node_count(k, memo, limit) + _node_count(v, memo, limit)
            if n > limit:
                break
    memo[key] = n
    return n


def parse_metadata(text: str, where: str = "cohort.yaml") -> dict:
    """``cohort.yaml``'s text as a dict, within the limits of this module (raises :class:`MetadataError`)."""
    if len(text.encode("utf-8", errors="replace")) > MAX_YAML_BYTES:
        raise MetadataError(f"{where}: yaml_too_large: the file has {len(text.encode('utf-8', 'replace')):,} bytes "
                            f"(at most {MAX_YAML_BYTES:,}); cohort.yaml holds a name and a short description, "
                            f"not data")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        raise MetadataError(f"{where}: yaml_invalid: not valid YAML ({' '.join(str(e).split())})") from None
    if node is None:
        return {}
    if _node_count(node, {}, MAX_YAML_NODES) > MAX_YAML_NODES:
        raise MetadataError(f"{where}: yaml_alias_bomb: its aliases (*name) expand to more than "
                            f"{MAX_YAML_NODES:,} values; write the values out instead of nesting aliases")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise MetadataError(f"{where}: yaml_invalid: not valid YAML ({' '.join(str(e).split())})") from None
    if not isinstance(data, dict):
        kind = {str: "a string", list: "a list", int: "a number", float: "a number", bool: "true/false"}.get(
            type(data), type(data).__name__)
        raise MetadataError(f"{where}: yaml_not_mapping: the file holds {kind}, not a mapping of keys to values; "
                            f"write it as lines 'name: ...' and 'description: ...'")
    for key, types in KEYS.items():
        if key in data and data[key] is not None and not isinstance(data[key], types):
            if bool in types or not isinstance(data[key], bool):
                raise MetadataError(f"{where}: yaml_key_type: {key} is {type(data[key]).__name__}, expected "
                                    f"{' or '.join(t.__name__ for t in types)}")
    for key in FREE_TEXT:
        value = data.get(key)
        limit = MAX_NAME_CHARS if key == "name" else MAX_TEXT_CHARS
        if isinstance(value, list):
            value = "; ".join(str(v) for v in value)
        if value is not None and len(str(value)) > limit:
            raise MetadataError(f"{where}: text_too_long: {key} has {len(str(value)):,} characters (at most "
                                f"{limit:,}); shorten it (the report prints it in full)")
    return data


def read_metadata_file(path: str | Path) -> dict:
    """The ``cohort.yaml`` beside the tables at ``path`` (folder or workbook), parsed; {} if absent.

    Reads at most :data:`MAX_YAML_BYTES` + 1 bytes, so a huge file is never loaded whole.
    """
    p = Path(path)
    f = (p if p.is_dir() else p.parent) / "cohort.yaml"
    if not f.is_file():
        return {}
    with open(f, "rb") as fh:
        data = fh.read(MAX_YAML_BYTES + 1)
    if len(data) > MAX_YAML_BYTES:
        size = f.stat().st_size
        raise MetadataError(f"{f}: yaml_too_large: the file has {size:,} bytes (at most {MAX_YAML_BYTES:,}); "
                            f"cohort.yaml holds a name and a short description, not data")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MetadataError(f"{f}: encoding: not valid UTF-8; save it as UTF-8") from None
    return parse_metadata(text, str(f))


def _date_forms(iso: str) -> list[str]:
    y, m, d = iso.split("-")
    forms = [iso, f"{d}/{m}/{y}", f"{m}/{d}/{y}", f"{y}/{m}/{d}", f"{d}.{m}.{y}", f"{y}.{m}.{d}", f"{y}{m}{d}",
             f"{y}年{int(m)}月{int(d)}日"]
    return forms


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch in "_-"


def find_identifier(text: str, identifiers) -> bool:
    """True when ``text`` holds one of ``identifiers`` (ids, ISO dates) as a whole token; dates are also
    looked for as DD/MM/YYYY, MM/DD/YYYY, YYYY/MM/DD, DD.MM.YYYY, YYYYMMDD and 2024年12月24日.

    >>> find_identifier("SYN-040 died", ["SYN-040"]), find_identifier("died 24/12/2024", ["2024-12-24"])
    (True, True)
    >>> find_identifier("SYN-0401", ["SYN-040"]), find_identifier("p = 0.1016", ["1016"])
    (False, False)
    """
    text = str(text)
    for ident in identifiers:
        ident = str(ident)
        if len(ident) < 4:
            continue
        forms = _date_forms(ident) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", ident) else [ident]
        for form in forms:
            start = text.find(form)
            while start >= 0:
                end = start + len(form)
                before = text[start - 1] if start else ""
                after = text[end] if end < len(text) else ""
                if not (before and (_is_word(before) or (before == "." and form[0].isdigit()))) and \
                        not (after and _is_word(after)) and not (after == "." and end + 1 < len(text)
                                                               and text[end + 1].isdigit()):
                    return True
                start = text.find(form, start + 1)
    return False


def raw_identifiers(tables: dict) -> list[str]:
    """Patient ids and patient-level dates (ISO) of raw or validated tables (the data cutoff is allowed)."""
    import pandas as pd

    p = tables.get("patients")
    if p is None or "patient_id" not in p:
        return []
    out = {str(x).strip() for x in p["patient_id"].dropna()}
    cutoff = set()
    if "data_cutoff_date" in p:
        cutoff = set(pd.to_datetime(p["data_cutoff_date"], errors="coerce").dropna().dt.strftime("%Y-%m-%d"))
    for col in ("treatment_start_date", "progression_date", "death_date", "last_contact_date"):
        if col in p:
            out |= set(pd.to_datetime(p[col], errors="coerce").dropna().dt.strftime("%Y-%m-%d")) - cutoff
    return sorted(out)


def check_free_text(meta: dict, identifiers, where: str = "cohort.yaml") -> None:
    """Raise :class:`MetadataError` naming the field (never the identifier) when a free-text field of
    ``cohort.yaml`` holds a patient identifier or a patient-level date."""
    for key in FREE_TEXT:
        value = meta.get(key)
        if value is not None and find_identifier(str(value), identifiers):
            raise MetadataError(f"{where}: text_identifier: {key} holds a patient identifier or a patient-level "
                                f"date, which would be printed in the report; remove it from {key}")
