"""What a production editor checks in a rendered PDF or HTML, as functions the render tests share
(tests/report/test_render.py for the pandoc engine, tests/report/test_quarto.py for Quarto).

They need poppler's ``pdftotext`` / ``pdftoppm``; the tests skip without them.
"""
from __future__ import annotations

import html as html_lib
import re
import shutil
import subprocess
import zlib
from pathlib import Path

WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')


def has_poppler() -> bool:
    return shutil.which("pdftotext") is not None and shutil.which("pdftoppm") is not None


def pdf_words(pdf: Path) -> list[tuple[int, float, float, float, float, str]]:
    """Every word of the PDF as ``(page, x0, y0, x1, y1, text)`` (``pdftotext -bbox``)."""
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    words = []
    for n, page in enumerate(out.split("<page ")[1:], start=1):
        for m in WORD.finditer(page):
            words.append((n, *(float(v) for v in m.groups()[:4]), html_lib.unescape(m.group(5))))
    return words


def numbered_rows(pdf: Path, lead: str) -> dict[int, list[tuple[int, float, float]]]:
    """Where the rows ``<lead> NNN`` of a table are printed: ``{NNN: [(page, y0, y1), ...]}``."""
    words = pdf_words(pdf)
    rows: dict[int, list[tuple[int, float, float]]] = {}
    for prev, word in zip(words, words[1:]):
        if prev[5] == lead and re.fullmatch(r"\d{3}", word[5]) and prev[0] == word[0]:
            rows.setdefault(int(word[5]), []).append((word[0], word[2], word[4]))
    return rows


def overprinted(rows: dict[int, list[tuple[int, float, float]]]) -> list[tuple[int, int]]:
    """Pairs of consecutive rows (by number) on one page that overlap or go upwards."""
    bad = []
    ordered = sorted((n, where[0]) for n, where in rows.items() if where)
    for (a, (pa, a0, a1)), (b, (pb, b0, b1)) in zip(ordered, ordered[1:]):
        if pa == pb and b0 < a1 - 0.5:
            bad.append((a, b))
        if pb < pa:
            bad.append((a, b))
    return bad


def html_structure(html: str) -> dict:
    """Headings (text), tables (row counts), figures (images) and the numbers of the text of an HTML
    document, from its first numbered section on (title blocks and navigation differ by engine)."""
    body = html.split("<body", 1)[1]
    heads = [_text(h) for h in re.findall(r"<h[1-6][^>]*>(.*?)</h[1-6]>", body, re.S)]
    heads = [h for h in heads if re.match(r"\d+(\.\d+)* \S|References$|Appendix$", h)]
    body = re.sub(r"<(script|style|nav)\b.*?</\1>", " ", body, flags=re.S)
    start = re.search(r'<[^>]*\bid="sec-', body)
    main = body[start.start():] if start else body
    text = _text(main)
    return {
        "headings": heads,
        "tables": [len(re.findall(r"<tr\b", t)) for t in re.findall(r"<table\b.*?</table>", main, re.S)],
        "figures": len(re.findall(r"<img\b", main)) + len(re.findall(r"<svg\b", main)),
        "numbers": sorted(re.findall(r"\d+(?:\.\d+)?", text)),
        "text": text,
    }


def _text(fragment: str) -> str:
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", fragment)).replace("\u00a0", " ")).strip()


def pdf_alt_texts(pdf: Path, structure_tree: bool = True) -> list[str]:
    """The ``/Alt`` entries of the PDF's structure tree (``/StructElem`` dictionaries, also inside
    compressed object streams), or with ``structure_tree=False`` any ``/Alt`` (Typst 0.13 puts it
    on a marked-content span only)."""
    data = pdf.read_bytes()
    chunks = [data]
    for m in re.finditer(rb"stream\r?\n", data):
        end = data.find(b"endstream", m.end())
        try:
            chunks.append(zlib.decompress(data[m.end():end]))
        except zlib.error:
            continue
    alts = []
    for chunk in chunks:
        for m in re.finditer(rb"/Alt\s*\(((?:\\.|[^\\)])*)\)", chunk):
            if structure_tree and b"/StructElem" not in chunk[max(0, m.start() - 200):m.start()]:
                continue
            alts.append(m.group(1).decode("latin-1"))
        for m in re.finditer(rb"/Alt\s*<([0-9A-Fa-f\s]*)>", chunk):
            raw = bytes.fromhex(m.group(1).decode().replace(" ", "").replace("\n", ""))
            alts.append(raw.decode("utf-16") if raw[:2] in (b"\xfe\xff", b"\xff\xfe") else raw.decode("latin-1"))
    return alts


def page_blank_fractions(pdf: Path, dpi: int = 20) -> list[float]:
    """For each page, the tallest run of empty rows inside the text area (between the first and the
    page-number line), as a fraction of the page height."""
    import tempfile

    fractions = []
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", str(pdf), f"{tmp}/p"], check=True)
        for page in sorted(Path(tmp).glob("p-*.pgm")):
            width, height, pixels = _read_pgm(page)
            inked = [any(pixels[y * width + x] < 200 for x in range(width)) for y in range(height)]
            top, bottom = int(0.07 * height), int(0.90 * height)  # margins and page number left out
            run = longest = 0
            for y in range(top, bottom):
                run = 0 if inked[y] else run + 1
                longest = max(longest, run)
            fractions.append(longest / height)
    return fractions


def _read_pgm(path: Path) -> tuple[int, int, bytes]:
    data = path.read_bytes()
    parts = data.split(maxsplit=4)
    width, height = int(parts[1]), int(parts[2])
    return width, height, parts[4][-width * height:]
