r"""Escape text that comes from the input (file and sheet names, cohort metadata, cell values,
column names) for the format it lands in, so that a file's content never becomes markup, a
shortcode, a spreadsheet formula or a terminal command.

One function per target:

* :func:`markdown` — pandoc Markdown / Quarto text (every ASCII punctuation character
  backslash-escaped, so no ``<tag>``, ``[link](…)``, ``![image](…)``, ``@citation``, code span,
  emphasis or ``{{< shortcode >}}`` survives; braces and ``?@`` are also kept apart so the
  rendered text never looks like an unexpanded shortcode or cross-reference);
* :func:`html` — HTML text and attribute values;
* :func:`typst` — Typst markup;
* :func:`yaml_scalar` — a YAML scalar (a JSON string, which YAML reads back unchanged);
* :func:`csv_cell` — a CSV cell a spreadsheet may open (OWASP: a leading ``=``, ``+``, ``-``,
  ``@``, tab or carriage return gets a ``'`` prefix, so it is not a formula);
* :func:`visible` — terminal text: control characters (``\\x1b`` of an ANSI escape, NUL),
  zero-width and other invisible format characters and byte-order marks printed as escapes.

The module lives in the data layer because the validator (terminal, CSV) and the data
statement need it; the report layer imports it from here.

Examples
--------
>>> print(markdown("<svg onload=alert(1)>"))
\<svg onload\=alert\(1\)\>
>>> html("<b>")
'&lt;b&gt;'
>>> csv_cell("=HYPERLINK(1)")
"'=HYPERLINK(1)"
>>> print(visible("\x1b[2Jcohort OK"))
\x1b[2Jcohort OK
"""
from __future__ import annotations

import html as _html
import json
import re
import string
import unicodedata

__all__ = ["markdown", "html", "typst", "yaml_scalar", "csv_cell", "visible", "invisible_characters"]

_PUNCT = set(string.punctuation)
#: Zero-width space: keeps ``{{`` and ``?@`` from reading as a shortcode or cross-reference.
_ZWSP = "\u200b"
#: Cell starts that a spreadsheet takes for a formula (OWASP CSV injection).
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _flatten(text) -> str:
    """One line: control characters (newlines included) as spaces."""
    return "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in str(text))


def markdown(text, *, multiline: bool = False) -> str:
    r"""``text`` as literal pandoc Markdown (inline; ``multiline`` keeps paragraph breaks).

    Every ASCII punctuation character is backslash-escaped (pandoc reads ``\\<`` as ``<``),
    consecutive braces and ``?@``/``?var:`` are separated by a zero-width space, and
    control characters become spaces. Leading spaces of a line are dropped (no code block).

    >>> markdown("{{< include x >}}") == "\\{\u200b\\{\\< include x \\>\\}\\}"
    True
    """
    if multiline:
        paragraphs = re.split(r"\n\s*\n", str(text).replace("\r\n", "\n").replace("\r", "\n").strip())
        return "\n\n".join(" ".join(markdown(line) for line in p.split("\n") if line.strip())
                           for p in paragraphs if p.strip())
    s = _flatten(text).strip()
    out = []
    for i, ch in enumerate(s):
        if ch in _PUNCT:
            if ch == "{" and i and s[i - 1] == "{":
                out.append(_ZWSP)
            elif ch == "@" and i and s[i - 1] == "?":
                out.append(_ZWSP)
            out.append("\\" + ch)
        else:
            out.append(ch)
    s = "".join(out)
    return s.replace("\\?var\\:", "\\?" + _ZWSP + "var\\:")


def html(text) -> str:
    """``text`` as HTML text or a quoted attribute value (``&``, ``<``, ``>``, quotes escaped)."""
    return _html.escape(str(text), quote=True)


def typst(text) -> str:
    """``text`` as literal Typst markup (every ASCII punctuation character backslash-escaped,
    control characters as spaces)."""
    return "".join("\\" + ch if ch in _PUNCT else ch for ch in _flatten(text))


def yaml_scalar(text) -> str:
    """``text`` as a YAML scalar that reads back as exactly ``text`` (a JSON string)."""
    return json.dumps(str(text), ensure_ascii=False)


def csv_cell(value):
    """``value`` safe for a spreadsheet (OWASP): text starting with ``=``, ``+``, ``-``, ``@``,
    tab or carriage return gets a leading ``'``; other values are returned unchanged."""
    if isinstance(value, str) and value.startswith(CSV_FORMULA_START):
        return "'" + value
    return value


def _invisible(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat in ("Cc", "Cf", "Zl", "Zp", "Co", "Cn", "Cs") or (cat == "Zs" and ch != " ")


def visible(text, *, keep_newlines: bool = False) -> str:
    r"""``text`` for a terminal: every control, format (zero-width, BOM, bidi override),
    unassigned or non-space blank character as a Python escape (``\\x1b``, ``\\x00``,
    ``\\u200b``, ``\\ufeff``); backslashes stay as they are."""
    out = []
    for ch in str(text):
        if keep_newlines and ch == "\n":
            out.append(ch)
        elif _invisible(ch):
            out.append(ascii(ch)[1:-1])
        else:
            out.append(ch)
    return "".join(out)


def invisible_characters(text) -> list[str]:
    """Names of the invisible characters in ``text``, each once (``['ZERO WIDTH SPACE U+200B']``)."""
    found = []
    for ch in str(text):
        if _invisible(ch):
            name = unicodedata.name(ch, "") or {"\x00": "NUL"}.get(ch, "control character")
            label = f"{name} U+{ord(ch):04X}"
            if label not in found:
                found.append(label)
    return found
