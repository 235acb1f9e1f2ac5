"""Fonts shipped with the report, so every script of the input shows in the PDF and the HTML.

Typst embeds Libertinus Serif, New Computer Modern and DejaVu Sans Mono (Latin, Greek, Cyrillic,
mathematics). ``render_assets/fonts/`` adds two subsets of Debian fonts (see its ``README.md``
for the source packages and licences):

* **WenQuanYi Micro Hei** (Apache-2.0): Simplified and Traditional Chinese, Japanese kana and
  kanji, Korean Hangul, CJK punctuation and full-width forms;
* **Symbola** (free for any use): emoji and symbols, in one colour.

:func:`font_paths` gives the folder to Typst (whose ``fallback`` picks the font that has a
glyph); :func:`css_font_faces` gives ``@font-face`` rules for the HTML, each font subset to the
characters the page uses (a page without CJK or emoji gets none, so its bytes do not change);
:func:`embed_in_html` puts them into a rendered page. :func:`missing_glyphs` lists the
characters of a text that no font has (the validator warns about them, naming the column:
:func:`analysis.data.glyphs.glyph_warnings`).

>>> [f.family for f in SHIPPED]
['WenQuanYi Micro Hei', 'Symbola']
>>> missing_glyphs("Fatigue 乏力 피로 😀")
[]
"""
from __future__ import annotations

import base64
import functools
import io
import re
from dataclasses import dataclass
from pathlib import Path

from analysis.data.glyphs import FONT_DIR, TYPST_EMBEDDED_RANGES, covered_codepoints, missing_glyphs  # noqa: F401

__all__ = ["SHIPPED", "FONT_DIR", "font_paths", "families", "css_font_faces", "embed_in_html", "missing_glyphs"]


@dataclass(frozen=True)
class ShippedFont:
    """A font file of ``render_assets/fonts/`` and where it comes from."""

    file: str
    family: str
    covers: str
    source: str
    licence: str

    @property
    def path(self) -> Path:
        return FONT_DIR / self.file


SHIPPED = (
    ShippedFont("WenQuanYiMicroHei-CJK.ttf", "WenQuanYi Micro Hei",
                "Chinese (Simplified, Traditional), Japanese, Korean",
                "Debian fonts-wqy-microhei 0.2.0-beta-3.1, subset", "Apache-2.0"),
    ShippedFont("Symbola-emoji.ttf", "Symbola", "emoji and symbols (monochrome)",
                "Debian fonts-symbola 2.60-1.1, subset", "free for any use (George Douros)"),
)


def font_paths() -> list[str]:
    """Folders Typst should read fonts from (``typst.compile(font_paths=...)``), besides its own."""
    return [str(FONT_DIR)]


def families() -> list[str]:
    """The shipped families, in fallback order."""
    return [f.family for f in SHIPPED]


@functools.lru_cache(maxsize=None)
def _cmap(file: str) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(FONT_DIR / file, lazy=True) as font:
        return frozenset(font.getBestCmap())


def _latin(cp: int) -> bool:
    return any(a <= cp <= b for a, b in TYPST_EMBEDDED_RANGES)


def _subset(font: ShippedFont, chars: str) -> bytes:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    opts = subset.Options()
    opts.hinting = False
    opts.notdef_outline = True
    opts.name_IDs = [1, 2, 3, 4, 6]
    opts.drop_tables += ["DSIG", "FFTM"]
    with TTFont(font.path) as tt:
        sub = subset.Subsetter(opts)
        sub.populate(text=chars)
        sub.subset(tt)
        buf = io.BytesIO()
        tt.save(buf)
    return buf.getvalue()


def css_font_faces(text: str) -> str:
    """``@font-face`` rules (fonts as ``data:`` URLs) for the characters of ``text`` that only the shipped
    fonts have, each font subset to those characters; ``""`` when there are none.

    >>> css_font_faces("plain Latin text")
    ''
    >>> "font-family: \\"WenQuanYi Micro Hei\\"" in css_font_faces("乏力")
    True
    """
    chars = sorted({ch for ch in text if not _latin(ord(ch)) and not ch.isspace()})
    rules = []
    for font in SHIPPED:
        mine = "".join(ch for ch in chars if ord(ch) in _cmap(font.file))
        if not mine:
            continue
        data = base64.b64encode(_subset(font, mine)).decode("ascii")
        rules.append(f'@font-face {{ font-family: "{font.family}"; src: url(data:font/ttf;base64,{data}) '
                     f'format("truetype"); font-display: swap; }}')
    return "\n".join(rules)


_TAG = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.S | re.I)


def page_text(html: str) -> str:
    """The text of an HTML page as a reader sees it (tags, scripts and styles removed, entities decoded)."""
    import html as _html

    return _html.unescape(_TAG.sub(" ", html))


def _body_stack(html: str) -> str:
    m = re.search(r"\bbody\s*\{[^}]*?font-family:\s*([^;}]+)", html)
    stack = m.group(1).strip() if m else "serif"
    generic = ""
    parts = [p.strip() for p in stack.split(",")]
    if parts and parts[-1] in ("serif", "sans-serif", "monospace", "system-ui"):
        generic = parts.pop()
    return ", ".join(parts + [f'"{f}"' for f in families()] + ([generic] if generic else []))


def embed_in_html(html: str) -> str:
    """``html`` with the shipped fonts it needs embedded (subset) and added to the body's font stack;
    unchanged when the page needs none."""
    faces = css_font_faces(page_text(html))
    if not faces:
        return html
    style = (f'<style id="rr-script-fonts">\n{faces}\nbody, table, figcaption, .callout {{ font-family: '
             f'{_body_stack(html)}; }}\n</style>\n')
    at = html.lower().rfind("</head>")
    return html[:at] + style + html[at:] if at >= 0 else style + html


def matplotlib_families(base: str | list[str] = "DejaVu Sans") -> list[str]:
    """Register the shipped fonts with matplotlib and return ``base`` followed by them, for
    ``rcParams["font.family"]`` (matplotlib >= 3.6 falls back glyph by glyph along the list), so a
    Chinese, Japanese or Korean label in a figure is drawn, not a box. For :mod:`analysis.report.plots`.
    """
    from matplotlib import font_manager

    known = {f.fname for f in font_manager.fontManager.ttflist}
    for f in SHIPPED:
        if str(f.path) not in known:
            font_manager.fontManager.addfont(str(f.path))
    return ([base] if isinstance(base, str) else list(base)) + families()
