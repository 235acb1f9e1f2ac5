"""Every number inserted from results says where it comes from (#29), in the pandoc + Typst engine.

The renderer expands ``{{< var key >}}`` to the printed text wrapped in invisible marks,
:func:`mark` (private-use characters around the key and the text); after pandoc,
:func:`annotate_html` turns each marked text of the HTML into

.. code-block:: html

    <span class="rr-num" data-key="survival.os.median" data-section="03-survival" data-cell="03-05"
          data-value="13.2" title="survival.os.median = 13.2 (03-survival, cell 03-05)"><a
          href="notebooks/03-survival.html#cell-03-05" style="color:inherit;text-decoration:none">13.2</a></span>

(the printed text unchanged; the link goes to the cell of the notebook's page, the title shows
the key and the full-precision value), and :func:`strip` removes the marks from the Typst source
and anywhere a span cannot go (attribute values, the document head, a text spanning paragraphs).
Keys that no section wrote (``build.*``, ``supp.*``) are left as plain text. With Quarto the
same spans come from ``render_assets/numbers.lua`` (a pre-AST filter around the ``var``
shortcode).
"""
from __future__ import annotations

import html as html_mod
import json
import re
from pathlib import Path

__all__ = ["START", "MID", "END", "mark", "strip", "annotate_html", "load_provenance", "span_attributes"]

START, MID, END = "\ue000", "\ue001", "\ue002"
_MARKED = re.compile(f"{START}(?P<key>[^{MID}{START}{END}]*){MID}(?P<text>[^{START}{END}]*?){END}", re.S)
_BLOCK = re.compile(r"</?(?:p|div|li|ul|ol|td|th|tr|table|h[1-6]|section|figure|blockquote|pre)\b", re.I)
PROVENANCE_FILE = "_provenance.json"


def mark(key: str, text: str) -> str:
    """``text`` between invisible marks that carry ``key``.

    >>> strip(mark("survival.os.median", "13.2")) == "13.2"
    True
    """
    return f"{START}{key}{MID}{text}{END}"


def strip(text: str) -> str:
    """``text`` without any mark (the printed text stays)."""
    text = re.sub(f"{START}[^{MID}{START}{END}]*{MID}", "", text)
    return text.replace(END, "").replace(START, "").replace(MID, "")


def load_provenance(project_dir: str | Path) -> dict:
    """The numbers' provenance written beside ``_variables.yml`` (empty when absent)."""
    f = Path(project_dir) / PROVENANCE_FILE
    try:
        return json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def span_attributes(key: str, info: dict) -> dict[str, str]:
    """The attributes of a number's span: key, section, cell, full value, title, link."""
    value = info.get("value")
    if value is None and info.get("text") is not None:  # a text: its words are the value
        value = info["text"]
    full = json.dumps(value) if not isinstance(value, str) else value
    cell = info.get("cell")
    where = f"{info.get('section')}, cell {cell}" if cell else str(info.get("section"))
    attrs = {"class": "rr-num", "data-key": key, "data-section": str(info.get("section")),
             "data-value": full, "title": f"{key} = {full} ({where})"}
    if cell:
        attrs["data-cell"] = str(cell)
        attrs["data-href"] = f"notebooks/{info.get('section')}.html#cell-{cell}"
    return attrs


def annotate_html(text: str, provenance: dict) -> str:
    """Marked numbers of an HTML page as spans with their provenance (see the module's docstring)."""
    head_end = text.find("</head>")
    out, pos = [], 0
    for m in _MARKED.finditer(text):
        out.append(text[pos:m.start()])
        pos = m.end()
        key, inner = m.group("key"), m.group("text")
        before = text[:m.start()]
        in_tag = before.rfind("<") > before.rfind(">")
        in_head = head_end != -1 and m.start() < head_end
        info = provenance.get(key)
        if info is None or in_tag or in_head or _BLOCK.search(inner):
            out.append(inner)
            continue
        attrs = span_attributes(key, info)
        href = attrs.get("data-href")
        open_a = before.lower().count("<a ") + before.lower().count("<a>") > before.lower().count("</a>")
        shown = inner
        if href and not open_a and "<a " not in inner:
            shown = (f'<a href="{html_mod.escape(href)}" style="color:inherit;text-decoration:none">'
                     f"{inner}</a>")
        attr_text = " ".join(f'{k}="{html_mod.escape(v, quote=True)}"' for k, v in attrs.items())
        out.append(f"<span {attr_text}>{shown}</span>")
    out.append(text[pos:])
    return strip("".join(out))


def marked_variables(variables: dict, provenance: dict, fmt, prefix: str = "") -> dict:
    """A copy of ``_variables.yml``'s mapping whose values of keys in ``provenance`` carry marks.

    ``fmt``: how the renderer prints a value (``render.format_value``), applied before marking.
    """
    out = {}
    for k, v in variables.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out[k] = marked_variables(v, provenance, fmt, key + ".")
        elif key in provenance and v is not None and not isinstance(v, list):
            out[k] = mark(key, fmt(v))
        else:
            out[k] = v
    return out


def finish(text: str, fmt: str, project_dir: str | Path) -> str:
    """pandoc's output with the marks turned into spans (HTML) or removed (any other format)."""
    if START not in text:
        return text
    return annotate_html(text, load_provenance(project_dir)) if fmt == "html" else strip(text)
