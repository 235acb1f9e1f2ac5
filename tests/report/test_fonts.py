"""Every script shows (issue #30): CJK and emoji from the shipped fonts, in the PDF and the HTML.

The tiny manuscript is rendered by the real pandoc + Typst engine; ``pdffonts`` (poppler) says
which fonts the PDF embeds and ``pdftotext`` reads its text back.
"""
from __future__ import annotations

import shutil
import subprocess

import pytest

from analysis.data import escape
from analysis.data.glyphs import missing_glyphs
from analysis.report import fonts, render as rr

SCRIPTS = {"zh-Hans": "乏力 肝功能异常", "zh-Hant": "疲勞 肝功能異常", "ja": "倦怠感 かゆみ カタカナ",
           "ko": "피로 간기능 이상", "emoji": "😀 🏥 ❤"}


def _project(folder, body):
    folder.mkdir(parents=True)
    (folder / "_quarto.yml").write_text("project:\n  type: manuscript\nmanuscript:\n  article: index.qmd\n",
                                        encoding="utf-8")
    (folder / "index.qmd").write_text("---\ntitle: T\ndate: 2025-01-01\n---\n\n" + body, encoding="utf-8")
    return folder


def test_shipped_fonts_are_listed_with_source_and_licence_and_exist():
    for f in fonts.SHIPPED:
        assert f.path.is_file() and f.source and f.licence
    assert fonts.font_paths() == [str(fonts.FONT_DIR)]
    assert (fonts.FONT_DIR / "README.md").is_file() and (fonts.FONT_DIR / "LICENSE-Apache-2.0.txt").is_file()
    assert sum(f.path.stat().st_size for f in fonts.SHIPPED) < 6 * 2**20  # the repo stays small


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_every_script_has_a_glyph(script):
    assert missing_glyphs(SCRIPTS[script]) == []


def test_character_no_font_has_is_listed():
    assert missing_glyphs("ok 🩺 ok") == ["🩺"]  # stethoscope, Unicode 12: Symbola 2.60 stops at Unicode 9


@pytest.mark.skipif(not (shutil.which("pdffonts") and shutil.which("pdftotext")), reason="poppler-utils absent")
def test_cjk_and_emoji_are_embedded_in_the_pdf_and_extract_back(tmp_path):
    rows = "\n".join(f"| {k} | {escape.markdown(v)} |" for k, v in SCRIPTS.items())
    project = _project(tmp_path / "report", f"Cohort *{escape.markdown('华西医院 病房7')}*.\n\n"
                                            f"| Script | Text |\n|---|---|\n{rows}\n")
    out = rr.render(project, engine="pandoc")
    listing = subprocess.run(["pdffonts", str(out["pdf"])], capture_output=True, text=True).stdout
    assert "WenQuanYi" in listing.replace(" ", "") or "WenQuanYiMicroHei" in listing
    assert "Symbola" in listing
    text = subprocess.run(["pdftotext", str(out["pdf"]), "-"], capture_output=True, text=True).stdout
    flat = "".join(text.split())  # pdftotext puts a space where the font changes (病房 7)
    for v in list(SCRIPTS.values()) + ["华西医院 病房7"]:
        assert "".join(v.split()) in flat, v
    html = out["html"].read_text(encoding="utf-8")
    assert '@font-face { font-family: "WenQuanYi Micro Hei"' in html and 'font-family: "Symbola"' in html
    assert "WenQuanYi Micro Hei" in html.split('id="rr-script-fonts"', 1)[1].split("</style>", 1)[0]


def test_a_latin_page_gets_no_embedded_font():
    page = "<html><head><style>body { font-family: Georgia, serif; }</style></head><body><p>Fatigue</p></body></html>"
    assert fonts.embed_in_html(page) == page


def test_a_figure_label_in_chinese_or_korean_is_drawn_with_the_shipped_fonts():
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font(s)" would be a warning
        with plt.rc_context({"font.family": fonts.matplotlib_families()}):
            fig, ax = plt.subplots()
            ax.set_title("乏力 疲勞 피로 かゆみ")
            fig.canvas.draw()
            plt.close(fig)
