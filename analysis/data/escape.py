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

__all__ = ["markdown", "html", "typst", "yaml_scalar", "csv_cell", "visible", "invisible_characters", "shown",
           "fill", "UnsafeTemplate", "unescape_markdown"]

_PUNCT = set(string.punctuation)
#: Zero-width space: keeps ``{{`` and ``?@`` from reading as a shortcode or cross-reference.
_ZWSP = "\u200b"
#: Cell starts that a spreadsheet takes for a formula (OWASP CSV injection).
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _flatten(text) -> str:
    """One line: control characters (newlines included) as spaces."""
    return "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in str(text))


def shown(text) -> str:
    r"""``text`` with its controls shown, not obeyed: bidirectional controls (U+202E turns
    ``gnp.exe`` into ``exe.png`` on screen), zero-width and other invisible format characters,
    control characters, private-use and unassigned code points as the escapes the terminal shows
    (``\u202e``); other blanks (no-break space) become a plain space. A zero-width joiner inside an
    emoji sequence (👩‍⚕️) is kept. Every report format applies it first (:func:`markdown`,
    :func:`html`, :func:`typst`), so a control reads the same in the terminal, HTML and PDF.

    >>> print(shown("gnp\u202e.exe"))
    gnp\u202e.exe
    """
    s = str(text)
    out = []
    for i, ch in enumerate(s):
        if ch in "\n\t":
            out.append(ch)
        elif ch == "\u200d" and 0 < i < len(s) - 1 and _emoji_side(s[i - 1]) and _emoji_side(s[i + 1]):
            out.append(ch)
        elif _invisible(ch):
            cat = unicodedata.category(ch)
            out.append(" " if cat == "Zs" else ascii(ch)[1:-1])
        else:
            out.append(ch)
    return "".join(out)


def _emoji_side(ch: str) -> bool:
    return unicodedata.category(ch) == "So" or ord(ch) in (0xFE0F,) or 0x1F3FB <= ord(ch) <= 0x1F3FF


class UnsafeTemplate(ValueError):
    """A template puts input text where escaping cannot protect it (a code span, a link target, an
    attribute, a raw HTML tag or a shortcode)."""


_FIELD = re.compile(r"\{(\w+)\}")


def _unsafe_context(template: str, start: int) -> str | None:
    before = template[:start]
    if before.count("`") % 2:
        return "a code span"
    if re.search(r"\]\([^)]*$", before):
        return "a link target"
    if re.search(r"<[^>]*$", before):
        return "an HTML tag"
    if re.search(r"\{\{<(?:(?!>\}\}).)*$", before, flags=re.S):
        return "a shortcode"
    if re.search(r"\{[#.][^}]*$", before) or re.search(r"\{\s*\w+=[^}]*$", before):
        return "an attribute"
    if before.count("$") % 2:
        return "math"
    return None


def fill(template: str, **fields) -> str:
    r"""The one way input text enters report Markdown: ``template`` (trusted Markdown written by the
    project) with each ``{name}`` replaced by ``fields[name]`` escaped for Markdown, after all the
    Markdown wrapping (emphasis, strong, tables) is in the template. A field inside a code span, a
    link target, an HTML tag, a shortcode, an attribute or math (where backslash escapes do not
    hold) is refused (:class:`UnsafeTemplate`), so no call site can wrap input text in syntax the
    escape does not protect. Other braces in the template are left as they are.

    >>> print(fill("cohort *{name}*", name="a` <b>"))
    cohort *a\` \<b\>*
    >>> fill("cohort `{name}`", name="x")
    Traceback (most recent call last):
    ...
    analysis.data.escape.UnsafeTemplate: field {name} is inside a code span of the template 'cohort `{name}`'
    """
    def sub(m: re.Match) -> str:
        key = m.group(1)
        if key not in fields:
            return m.group(0)
        where = _unsafe_context(template, m.start())
        if where:
            raise UnsafeTemplate(f"field {{{key}}} is inside {where} of the template {template!r}")
        value = fields[key]
        return value.markdown if isinstance(value, Trusted) else markdown(value, multiline="\n" in str(value))

    return _FIELD.sub(sub, template)


class Trusted:
    """Markdown the project wrote (already safe), to pass to :func:`fill` unescaped."""

    __slots__ = ("markdown",)

    def __init__(self, markdown: str):
        self.markdown = markdown


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
    s = _flatten(shown(text)).strip()
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


def unescape_markdown(text) -> str:
    r"""What a reader sees of text escaped by :func:`markdown` (backslashes before punctuation and the
    zero-width spaces removed), so a privacy check finds ``SYN\-017`` as ``SYN-017``.

    >>> unescape_markdown(markdown("SYN-017 {{x}}"))
    'SYN-017 {{x}}'
    """
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", str(text)).replace(_ZWSP, "")


def html(text) -> str:
    """``text`` as HTML text or a quoted attribute value (``&``, ``<``, ``>``, quotes escaped)."""
    return _html.escape(shown(text), quote=True)


def typst(text) -> str:
    """``text`` as literal Typst markup (every ASCII punctuation character backslash-escaped,
    control characters as spaces)."""
    return "".join("\\" + ch if ch in _PUNCT else ch for ch in _flatten(shown(text)))


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
