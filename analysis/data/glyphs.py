"""Which characters the report's fonts can show, for the validator's ``glyph_missing`` warning.

The fonts themselves are the report's (``analysis/report/render_assets/fonts/``, listed by
:mod:`analysis.report.fonts`); this module only reads their character maps, so that the data layer
can warn, naming the column and the character, about a cell that would print as an empty box.

Typst's own fonts (Libertinus Serif, New Computer Modern, DejaVu Sans Mono) are taken as covering
:data:`TYPST_EMBEDDED_RANGES` (Latin, Greek, Cyrillic, punctuation, arrows, mathematics).

>>> missing_glyphs("Rash 皮疹 발진 😀"), missing_glyphs("\\U0001F9FF\\U000E0001")  # nazar amulet is Unicode 11
([], ['🧿'])
"""
from __future__ import annotations

import functools
import unicodedata
from pathlib import Path

#: The report's shipped fonts.
FONT_DIR = Path(__file__).resolve().parents[1] / "report" / "render_assets" / "fonts"

#: Code points Typst's embedded fonts cover (approximately: whole blocks).
TYPST_EMBEDDED_RANGES = ((0x0000, 0x052F), (0x1D00, 0x1DBF), (0x1E00, 0x1FFF), (0x2000, 0x218F),
                         (0x2190, 0x22FF), (0x2500, 0x259F), (0xFB00, 0xFB06), (0xFFFD, 0xFFFD),
                         (0x1D400, 0x1D7FF))


@functools.lru_cache(maxsize=1)
def covered_codepoints() -> frozenset[int]:
    """Code points of the shipped fonts' character maps (read once)."""
    from fontTools.ttLib import TTFont

    out: set[int] = set()
    for f in sorted(FONT_DIR.glob("*.ttf")):
        with TTFont(f, lazy=True) as font:
            out |= set(font.getBestCmap())
    return frozenset(out)


def _shown(ch: str) -> bool:
    cp = ord(ch)
    if ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Mn", "Me", "Cs", "Co", "Cn"):
        return True  # invisible: shown as an escape (analysis.data.escape.shown) or combining
    if 0xFE00 <= cp <= 0xFE0F or 0x1F3FB <= cp <= 0x1F3FF:  # variation selectors, skin tones
        return True
    return any(a <= cp <= b for a, b in TYPST_EMBEDDED_RANGES) or cp in covered_codepoints()


def missing_glyphs(text) -> list[str]:
    """Characters of ``text`` that no font of the report has, each once, in order."""
    out: list[str] = []
    for ch in str(text):
        if ch not in out and not _shown(ch):
            out.append(ch)
    return out


def describe(ch: str) -> str:
    """``'🧿' U+1F9FF NAZAR AMULET``."""
    return f"{ch!r} U+{ord(ch):04X} {unicodedata.name(ch, '')}".rstrip()
