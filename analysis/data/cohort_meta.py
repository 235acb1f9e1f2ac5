"""The keys of a cohort's ``cohort.yaml`` (one place, for the data dictionary and the report).

:func:`analysis.data.cohort.read_metadata` reads the file; the reading keys (``name``, ``description``,
``synthetic``, ``date_format``) are the data layer's, the article keys (:data:`ARTICLE_KEYS`) are read by
:func:`analysis.report.framing.article_metadata` (issue #28). Every key is optional and shown as plain text.
"""
from __future__ import annotations

#: Keys the data layer reads.
DATA_KEYS = {
    "name": "the cohort's name in the data statement (default: the folder's name)",
    "description": "a paragraph shown in the data statement",
    "synthetic": "ignored for the report's framing, which calls a cohort synthetic only when its tables are the "
                 "shipped synthetic cohort (their checksums)",
    "date_format": "how slash dates are written: DD/MM/YYYY, MM/DD/YYYY or a strptime format",
}

#: Keys the article reads (analysis.report.framing): title page and declarations of a hospital's cohort.
ARTICLE_KEYS = {
    "title": "the article's title (default: built from the treatment and the disease stage in the data)",
    "subtitle": "the subtitle (default: “A retrospective cohort study of N patients”)",
    "authors": "an author or a list of authors (default: “The <name> study team”)",
    "affiliation": "the authors' affiliation (default: none)",
    "date": "the article's date, YYYY-MM-DD (default: the data cutoff; never the day of the build)",
    "running_head": "the short title of the page header (default: the title, or a short form of it)",
    "ethics": "the ethics statement: approving committee, reference, consent (default: says none was supplied)",
    "funding": "the funding statement (default: “None declared.”)",
    "conflicts": "the competing-interests statement (default: “None declared.”)",
    "data_availability": "where and how the data can be obtained (default: held by the data owner, not shared)",
}


def markdown_section() -> str:
    """The data dictionary's section on ``cohort.yaml``."""
    rows = [f"| `{k}` | {v} |" for k, v in {**DATA_KEYS, **ARTICLE_KEYS}.items()]
    return "\n".join(["## The cohort's `cohort.yaml`", "",
                      "An optional `cohort.yaml` beside the tables; every key is optional and shown as plain text "
                      "(markup in it is escaped). The shipped synthetic cohort's article uses the project's own "
                      "title page; any other cohort's uses these keys.", "",
                      "| Key | What it sets |", "|---|---|", *rows])
