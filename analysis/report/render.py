"""Render the Quarto manuscript in ``report/`` to HTML and PDF.

With Quarto on ``PATH`` this runs ``quarto render``. Without it, the pandoc engine
gives the same manuscript from PyPI tools only:

1. Python expands the Quarto-only shortcodes: ``{{< var a.b.c >}}`` (from
   ``_variables.yml``; a missing key is an error, not Quarto's warning),
   ``{{< include file.md >}}`` (recursively) and ``{{< pagebreak >}}``.
2. pandoc (from ``pypandoc-binary``) runs ``render_assets/manuscript.lua``, which
   numbers sections, figures and tables, resolves ``@fig-``/``@tbl-``/``@sec-``
   cross-references and styles callouts, then ``--citeproc`` with a numeric
   (Vancouver-like) CSL, and writes a self-contained HTML file and Typst source.
3. ``typst.compile`` turns the Typst source into the PDF, with the creation date
   taken from the front matter ``date`` so the output does not depend on "now".

Both engines build into a temporary folder; the files are moved into the output
folder only when HTML and PDF both succeeded, so a failed render leaves the
previous ``_output/`` untouched.

Examples
--------
>>> from analysis.report.render import render                      # doctest: +SKIP
>>> render(Path("report"))                                  # doctest: +SKIP
{'html': PosixPath('report/_output/index.html'), 'pdf': PosixPath('report/_output/index.pdf')}

From the shell::

    python -m analysis.report.render report --engine pandoc
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ASSETS_DIR = Path(__file__).resolve().with_name("render_assets")
LUA_FILTER = ASSETS_DIR / "manuscript.lua"
HTML_TEMPLATE = ASSETS_DIR / "manuscript.html"
HTML_CSS = ASSETS_DIR / "manuscript.css"
TYPST_TEMPLATE = ASSETS_DIR / "manuscript.typ"
DEFAULT_CSL = ASSETS_DIR / "vancouver-numeric.csl"

ENGINES = ("auto", "quarto", "pandoc")
MAX_INCLUDE_DEPTH = 10

#: ``{{< name args >}}`` (Quarto shortcode)
SHORTCODE = re.compile(r"\{\{<\s*(?P<name>[A-Za-z][\w-]*)(?P<args>.*?)>\}\}", re.S)
#: What an unresolved shortcode, cross-reference or variable looks like in output.
UNRESOLVED = re.compile(
    r"\{\{<.*?>\}\}|\{\{&lt;.*?&gt;\}\}|\{\{<|\{\{&lt;"  # shortcodes (raw or HTML-escaped)
    r"|\?@[\w:.-]+"                                      # ?@fig-x: unknown cross-ref / citation
    r"|\?var:[\w.-]+"                                    # Quarto's missing {{< var >}}
)
FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(?P<yaml>.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
#: Keys of _quarto.yml that configure the project rather than the document.
PROJECT_KEYS = {"project", "manuscript", "format", "execute", "website", "book", "filters", "engine"}
RELATIVE_FILE_KEYS = ("bibliography", "csl")


class RenderError(RuntimeError):
    """The manuscript could not be rendered; the message says why."""


@dataclass(frozen=True)
class Project:
    """A Quarto manuscript project: its folder, article and output folder."""

    dir: Path
    article: Path
    output_dir: Path
    config: dict

    @property
    def stem(self) -> str:
        return self.article.stem


# ----------------------------------------------------------------------------- API
def render(project_dir: Path | str, *, engine: str = "auto",
           output_dir: Path | str | None = None) -> dict[str, Path]:
    """Render the manuscript project to HTML and PDF.

    Parameters
    ----------
    project_dir
        Folder holding ``_quarto.yml`` (``project: type: manuscript``).
    engine
        ``"quarto"``, ``"pandoc"`` (pandoc + Typst from PyPI) or ``"auto"``:
        Quarto when ``quarto`` is on ``PATH``, else pandoc.
    output_dir
        Where to put the files; default the project's ``output-dir``
        (``_output``), relative to the project folder.

    Returns
    -------
    dict
        ``{"html": path, "pdf": path}`` of the published files.

    Raises
    ------
    RenderError
        On any failure (missing variable, include or figure file, pandoc or Typst
        error, unresolved reference); the output folder is then left as it was.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
    project = load_project(project_dir, output_dir)
    if engine == "auto":
        engine = "quarto" if shutil.which("quarto") else "pandoc"
    build = _render_quarto if engine == "quarto" else _render_pandoc
    # Build next to the project (same file system, so the final moves are renames).
    with tempfile.TemporaryDirectory(prefix=".render-", dir=project.dir) as tmp:
        built = build(project, Path(tmp))
        return _publish(built, Path(tmp) / "out", project.output_dir)


def load_project(project_dir: Path | str, output_dir: Path | str | None = None) -> Project:
    """Read ``_quarto.yml`` and locate the article and the output folder."""
    pdir = Path(project_dir).resolve()
    cfg_file = pdir / "_quarto.yml"
    if not cfg_file.is_file():
        raise RenderError(f"{cfg_file}: not found (is {project_dir} a Quarto project?)")
    config = _read_yaml(cfg_file)
    article = (config.get("manuscript") or {}).get("article", "index.qmd")
    article_path = pdir / article
    if not article_path.is_file():
        raise RenderError(f"{cfg_file}: manuscript article {article!r} not found")
    if output_dir is None:
        output_dir = pdir / ((config.get("project") or {}).get("output-dir") or "_output")
    return Project(dir=pdir, article=article_path, output_dir=Path(output_dir).resolve(), config=config)


def find_unresolved(text: str) -> list[str]:
    """Unresolved shortcodes (``{{<``), cross-references (``?@fig-x``) or variables
    (``?var:x``) left in rendered text, each once, in order of appearance."""
    return list(dict.fromkeys(m.group(0) for m in UNRESOLVED.finditer(text)))


def check_no_unresolved(text: str, *, where: str = "output") -> None:
    """Raise :class:`RenderError` if rendered ``text`` still holds unresolved
    shortcodes, cross-references or variables."""
    found = find_unresolved(text)
    if found:
        shown = ", ".join(found[:10]) + (" ..." if len(found) > 10 else "")
        raise RenderError(f"unresolved references in {where}: {shown} (unknown cross-reference "
                          "label or citation key, or a shortcode that was not expanded)")


def check_results_consistent(results_dir: Path | str) -> dict[str, str]:
    """The input checksums every section's results were computed from, when they all agree.

    Each ``results/<section>/manifest.yaml`` records the SHA-256 of the cohort files it read.
    After a failed build the folder may hold sections of two cohorts (the new cohort's early
    sections, the old cohort's later ones); rendering that would mix them in one report, so
    this raises :class:`RenderError` naming the sections that disagree.
    """
    results_dir = Path(results_dir)
    by_inputs: dict[tuple, list[str]] = {}
    for manifest in sorted(results_dir.glob("*/manifest.yaml")):
        inputs = (_read_yaml(manifest).get("inputs") or {})
        by_inputs.setdefault(tuple(sorted((str(k), str(v)) for k, v in inputs.items())), []).append(
            manifest.parent.name)
    if len(by_inputs) > 1:
        groups = sorted(by_inputs.values(), key=len, reverse=True)
        shown = "; ".join(", ".join(g) for g in groups)
        raise RenderError(f"the results in {results_dir} come from different input files (sections {shown}): "
                          f"an earlier build stopped part-way; run make again so that every section is "
                          f"recomputed from the same cohort (nothing was rendered)")
    _check_digests(results_dir)
    return dict(next(iter(by_inputs), ()))


def _check_digests(results_dir: Path) -> None:
    """(#29) Refuse sections whose recorded digests no longer match their inputs (analysis.report.provenance)."""
    from analysis.report import provenance

    try:
        provenance.check_results(results_dir)
    except provenance.ProvenanceError as exc:
        raise RenderError(str(exc)) from None


# ----------------------------------------------------------------------- publishing
def _publish(built: dict[str, Path], out_tmp: Path, output_dir: Path) -> dict[str, Path]:
    """Move everything in ``out_tmp`` into ``output_dir`` (renames, file by file)."""
    output_dir.mkdir(parents=True, exist_ok=True)
    for entry in sorted(out_tmp.iterdir()):
        target = output_dir / entry.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        shutil.move(str(entry), str(target))  # a rename on the same file system
    return {kind: output_dir / path.name for kind, path in built.items()}


# ---------------------------------------------------------------------- quarto
def _render_quarto(project: Project, tmp: Path) -> dict[str, Path]:
    quarto = shutil.which("quarto")
    if quarto is None:
        raise RenderError("engine 'quarto' asked for, but quarto is not on PATH")
    out = tmp / "out"
    # --output-dir is taken relative to the project, so pass a relative path.
    cmd = [quarto, "render", str(project.dir), "--output-dir", os.path.relpath(out, project.dir)]
    proc = subprocess.run(cmd, cwd=project.dir, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RenderError(f"quarto render failed ({proc.returncode}):\n{_tail(proc.stderr or proc.stdout)}")
    built = {"html": out / f"{project.stem}.html", "pdf": out / f"{project.stem}.pdf"}
    for kind, path in built.items():
        if not path.is_file():
            raise RenderError(f"quarto render did not write the {kind.upper()} file {path.name}")
    check_no_unresolved(built["html"].read_text(encoding="utf-8"), where=built["html"].name)
    return built


# ---------------------------------------------------------------------- pandoc + Typst
def _render_pandoc(project: Project, tmp: Path) -> dict[str, Path]:
    text = expand_shortcodes(project.article, project.dir)
    front, body = split_front_matter(text, project.article)
    out = tmp / "out"
    out.mkdir()
    source = tmp / f"{project.stem}.md"
    source.write_text(body, encoding="utf-8")

    html_meta = document_metadata(project, front, "html")
    # HTML and PDF are independent: pandoc makes the HTML (its own process, waited for in a thread)
    # while the Typst source is made and compiled; errors are raised in the order of a serial run
    with ThreadPoolExecutor(max_workers=1) as pool:
        html_job = pool.submit(_pandoc, project, source, tmp, html_meta, "html")
        try:
            typst_meta = document_metadata(project, front, "typst")
            typ = _pandoc(project, source, tmp, typst_meta, "typst")
            check_no_unresolved(typ, where=f"{project.stem}.typ")
            pdf = _compile_typst(typ, typst_meta)
            typst_error = None
        except RenderError as exc:
            typst_error = exc
        html = html_job.result()
    check_no_unresolved(html, where=f"{project.stem}.html")
    if typst_error is not None:
        raise typst_error

    built = {"html": out / f"{project.stem}.html", "pdf": out / f"{project.stem}.pdf"}
    built["html"].write_text(html, encoding="utf-8")
    built["pdf"].write_bytes(pdf)
    return built


def expand_shortcodes(path: Path, project_dir: Path, variables: dict | None = None,
                      _depth: int = 0) -> str:
    """Text of ``path`` with ``var``, ``include`` and ``pagebreak`` shortcodes expanded.

    Include paths are relative to the including file (so to the project folder for
    the article), or to the project folder when they start with ``/``.
    """
    if variables is None:
        variables = _load_variables(project_dir)
    text = path.read_text(encoding="utf-8")

    def where(pos: int) -> str:
        return f"{_rel(path, project_dir)}:{text.count(chr(10), 0, pos) + 1}"

    def replace(m: re.Match) -> str:
        name, code = m.group("name"), m.group(0)
        try:
            args = shlex.split(m.group("args"))
        except ValueError as exc:
            raise RenderError(f"{where(m.start())}: cannot parse {code}: {exc}") from None
        if name == "var":
            if len(args) != 1:
                raise RenderError(f"{where(m.start())}: {code} needs exactly one key")
            return _lookup_variable(variables, args[0], project_dir, where(m.start()))
        if name == "include":
            if len(args) != 1:
                raise RenderError(f"{where(m.start())}: {code} needs exactly one file")
            target = args[0]
            inc = (project_dir / target.lstrip("/")) if target.startswith("/") else (path.parent / target)
            if not inc.is_file():
                raise RenderError(f"{where(m.start())}: included file not found: {target} "
                                  f"(looked for {inc.resolve()})")
            if _depth >= MAX_INCLUDE_DEPTH:
                raise RenderError(f"{where(m.start())}: includes nested deeper than "
                                  f"{MAX_INCLUDE_DEPTH} (a cycle?)")
            return expand_shortcodes(inc, project_dir, variables, _depth + 1).rstrip("\n")
        if name == "pagebreak":
            return "\n\n```{=typst}\n#pagebreak(weak: true)\n```\n\n"
        raise RenderError(f"{where(m.start())}: shortcode {code} is not supported by the pandoc "
                          "engine (it knows var, include and pagebreak); install Quarto or rewrite it")

    return SHORTCODE.sub(replace, text)


def _load_variables(project_dir: Path) -> dict:
    file = project_dir / "_variables.yml"
    return _read_yaml(file) if file.is_file() else {}


def _lookup_variable(variables: dict, key: str, project_dir: Path, where: str) -> str:
    file = project_dir / "_variables.yml"
    if not file.is_file():
        raise RenderError(f"{where}: {{{{< var {key} >}}}} used, but {file} does not exist")
    value: Any = variables
    for i, part in enumerate(key.split(".")):
        if not isinstance(value, dict) or part not in value:
            parent = ".".join(key.split(".")[:i]) or "the top level"
            raise RenderError(f"{where}: variable {key!r} not found in {file} "
                              f"(no {part!r} under {parent})")
        value = value[part]
    if isinstance(value, (dict, list)):
        raise RenderError(f"{where}: variable {key!r} in {file} is a "
                          f"{'mapping' if isinstance(value, dict) else 'list'}, not a value")
    if value is None:
        raise RenderError(f"{where}: variable {key!r} in {file} is empty (null)")
    return format_value(value)


def format_value(value: Any) -> str:
    """Text for a ``_variables.yml`` scalar, as Quarto (JavaScript) prints it:
    ``true``, ``12``, ``5.6``; an integral float loses its ``.0``.
    Quote a number in YAML to keep trailing zeros (``"7.30"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def split_front_matter(text: str, path: Path) -> tuple[dict, str]:
    """``(front matter, body)`` of a ``.qmd`` text."""
    m = FRONT_MATTER.match(text)
    if not m:
        return {}, text
    try:
        front = yaml.safe_load(m.group("yaml")) or {}
    except yaml.YAMLError as exc:
        raise RenderError(f"{path}: invalid YAML front matter: {exc}") from None
    if not isinstance(front, dict):
        raise RenderError(f"{path}: the front matter is not a mapping")
    return front, text[m.end():]


def document_metadata(project: Project, front: dict, fmt: str) -> dict:
    """Metadata for pandoc: ``_quarto.yml`` < its ``format.<fmt>`` < front matter
    (< its ``format.<fmt>``), with authors, date and file paths normalised."""
    quarto_fmt = "typst" if fmt == "typst" else "html"
    meta: dict = {k: v for k, v in project.config.items() if k not in PROJECT_KEYS}
    for layer in (project.config, front):
        formats = layer.get("format") or {}
        if layer is front:
            meta.update({k: v for k, v in front.items() if k != "format"})
        if isinstance(formats, dict) and isinstance(formats.get(quarto_fmt), dict):
            meta.update(formats[quarto_fmt])

    for key in RELATIVE_FILE_KEYS:
        if key in meta:
            files = meta[key] if isinstance(meta[key], list) else [meta[key]]
            resolved = []
            for f in files:
                p = (project.dir / str(f)).resolve()
                if not p.is_file():
                    raise RenderError(f"{key} file not found: {f} (looked for {p})")
                resolved.append(str(p))
            meta[key] = resolved if isinstance(meta[key], list) else resolved[0]
    if "bibliography" in meta and "csl" not in meta:
        meta["csl"] = str(DEFAULT_CSL)
    meta.setdefault("link-citations", True)

    authors, affiliations = normalise_authors(meta.get("author"), meta.get("affiliations"))
    meta.pop("affiliations", None)
    if authors:
        meta["author"] = [a["name"] for a in authors]
        meta["author-meta"] = [a["name"] for a in authors]
        meta["rr-authors"] = authors
        meta["rr-corresponding"] = [a for a in authors if a.get("corresponding")]
    if affiliations:
        meta["rr-affiliations"] = affiliations

    date = parse_date(meta.get("date"))
    if date is not None:
        meta["date"] = format_date(date, meta.get("date-format"))
        meta["date-meta"] = date.isoformat()
        meta["rr-date-iso"] = date.isoformat()
    elif "date" in meta:
        meta["date"] = str(meta["date"])

    number = meta.get("number-sections")
    meta["rr-number-sections"] = number is not False
    meta["rr-project-dir"] = str(project.dir)
    return _yaml_safe(meta)


def normalise_authors(author: Any, affiliations: Any = None) -> tuple[list[dict], list[dict]]:
    """Quarto's author schema -> ``[{name, marks, email, corresponding}]`` and
    ``[{mark, text}]`` with affiliations numbered in order of first use."""
    if author is None:
        return [], []
    authors = author if isinstance(author, list) else [author]
    known = {}
    for aff in affiliations or []:
        if isinstance(aff, dict) and aff.get("id") is not None:
            known[str(aff["id"])] = aff
    numbered: dict[str, int] = {}
    out_affs: list[dict] = []

    def aff_text(aff: Any) -> str:
        if isinstance(aff, dict):
            if "ref" in aff and str(aff["ref"]) in known:
                aff = known[str(aff["ref"])]
            parts = [aff.get(k) for k in ("department", "name", "address", "city", "region", "state", "country")]
            return ", ".join(str(p) for p in parts if p)
        return aff_text(known[str(aff)]) if str(aff) in known else str(aff)

    out = []
    for a in authors:
        if not isinstance(a, dict):
            out.append({"name": str(a)})
            continue
        name = a.get("name", "")
        if isinstance(name, dict):
            name = name.get("literal") or " ".join(str(name[k]) for k in ("given", "family") if name.get(k))
        marks = []
        affs = a.get("affiliations", a.get("affiliation", []))
        for aff in affs if isinstance(affs, list) else [affs]:
            text = aff_text(aff)
            if text not in numbered:
                numbered[text] = len(numbered) + 1
                out_affs.append({"mark": str(numbered[text]), "text": text})
            marks.append(str(numbered[text]))
        entry = {"name": str(name)}
        if marks:
            entry["marks"] = ",".join(marks)
        for key in ("email", "orcid"):
            if a.get(key):
                entry[key] = str(a[key])
        attrs = a.get("attributes") or {}
        if a.get("corresponding") or attrs.get("corresponding"):
            entry["corresponding"] = True
        out.append(entry)
    return out, out_affs


def parse_date(value: Any) -> dt.date | None:
    """The front matter date as a date (``today``/``now`` honour ``SOURCE_DATE_EPOCH``)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        if value.strip() in ("today", "now", "last-modified"):
            epoch = os.environ.get("SOURCE_DATE_EPOCH")
            return (dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc).date()
                    if epoch else dt.date.today())
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def format_date(date: dt.date, fmt: Any = None) -> str:
    """Date text; ``date-format`` understands Quarto's ``iso``, ``long`` and the
    tokens YYYY, MMMM, MMM, MM, M, DD, D. Default: ``March 1, 2025``."""
    fmt = str(fmt) if fmt else "MMMM D, YYYY"
    if fmt == "iso":
        return date.isoformat()
    if fmt in ("long", "full"):
        fmt = "MMMM D, YYYY"
    tokens = {"YYYY": f"{date.year:04d}", "MMMM": date.strftime("%B"), "MMM": date.strftime("%b"),
              "MM": f"{date.month:02d}", "M": str(date.month), "DD": f"{date.day:02d}", "D": str(date.day)}
    return re.sub(r"YYYY|MMMM|MMM|MM|M|DD|D", lambda m: tokens[m.group(0)], fmt)


def _yaml_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _yaml_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_yaml_safe(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _pandoc(project: Project, source: Path, tmp: Path, meta: dict, fmt: str) -> str:
    import pypandoc  # the pandoc binary shipped by pypandoc-binary

    meta_file = tmp / f"metadata-{fmt}.yaml"
    meta_file.write_text(yaml.safe_dump(meta, sort_keys=True, allow_unicode=True), encoding="utf-8")
    out_file = tmp / f"{project.stem}.{'html' if fmt == 'html' else 'typ'}"
    cmd = [
        pypandoc.get_pandoc_path(), str(source),
        "--from", "markdown", "--to", fmt, "--standalone",
        "--metadata-file", str(meta_file),
        "--lua-filter", str(LUA_FILTER),
        "--resource-path", str(project.dir),
        "--output", str(out_file),
    ]
    if meta.get("bibliography"):
        cmd.append("--citeproc")
    if fmt == "html":
        cmd += ["--template", str(HTML_TEMPLATE), "--variable", f"rr-css={HTML_CSS}",
                "--embed-resources", "--mathml"]
    else:
        cmd += ["--template", str(TYPST_TEMPLATE), "--variable", f"rr-docinfo={_typst_docinfo(meta)}"]
    proc = subprocess.run(cmd, cwd=project.dir, capture_output=True, text=True)
    if proc.returncode != 0:
        message = proc.stderr.split("stack traceback:")[0]  # Lua errors: drop the traceback
        raise RenderError(f"pandoc ({fmt}) failed for {project.article.name}:\n{_tail(message)}")
    problems = [line for line in proc.stderr.splitlines()
                if re.search(r"Citeproc: citation .* not found|Could not fetch resource|"
                             r"Could not find (?:image|file)|not found", line)]
    if problems:
        raise RenderError(f"pandoc ({fmt}) for {project.article.name}: " + "; ".join(problems))
    return out_file.read_text(encoding="utf-8")


def _typst_docinfo(meta: dict) -> str:
    """``#set document(...)`` with title, authors and the front matter date."""
    def s(x: str) -> str:
        return json.dumps(str(x), ensure_ascii=False)

    parts = []
    if meta.get("title"):
        parts.append(f"title: {s(meta['title'])}")
    if meta.get("author-meta"):
        parts.append("author: (" + "".join(f"{s(a)}, " for a in meta["author-meta"]) + ")")
    if meta.get("keywords"):
        kws = meta["keywords"] if isinstance(meta["keywords"], list) else [meta["keywords"]]
        parts.append("keywords: (" + "".join(f"{s(k)}, " for k in kws) + ")")
    date = meta.get("rr-date-iso")
    if date:
        d = dt.date.fromisoformat(date)
        parts.append(f"date: datetime(year: {d.year}, month: {d.month}, day: {d.day})")
    return f"#set document({', '.join(parts)})" if parts else ""


def pdf_timestamp(meta: dict) -> int:
    """PDF creation time: the front matter date (midnight UTC), else
    ``SOURCE_DATE_EPOCH``, else 0, never the wall clock."""
    if meta.get("rr-date-iso"):
        d = dt.date.fromisoformat(meta["rr-date-iso"])
        return int(dt.datetime(d.year, d.month, d.day, tzinfo=dt.timezone.utc).timestamp())
    return int(os.environ.get("SOURCE_DATE_EPOCH", "0"))


def _compile_typst(typ: str, meta: dict) -> bytes:
    import typst

    try:
        # Images carry absolute paths (see manuscript.lua), hence root "/".
        # System fonts are ignored so the PDF does not depend on the machine.
        return typst.compile(typ.encode("utf-8"), root="/", format="pdf",
                             ignore_system_fonts=True, timestamp=pdf_timestamp(meta))
    except Exception as exc:  # typst.TypstError and friends
        raise RenderError(f"typst failed: {_typst_message(exc, typ)}") from None


def _typst_message(exc: Exception, typ: str) -> str:
    msg = str(exc)
    m = re.search(r"(?:main\.typ|detached|\.typ):(\d+)", msg)
    if m:  # show the generated source around the error line
        n = int(m.group(1))
        lines = typ.splitlines()
        context = "\n".join(f"{i + 1:5d} | {lines[i]}" for i in range(max(0, n - 3), min(len(lines), n + 2)))
        msg += f"\n{context}"
    return msg


def _read_yaml(file: Path) -> dict:
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise RenderError(f"{file}: invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise RenderError(f"{file}: expected a mapping at the top level")
    return data


def _rel(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base.parent))
    except ValueError:
        return str(path)


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# ----------------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.report.render", description=__doc__.split("\n\n")[0])
    parser.add_argument("project_dir", type=Path, help="Quarto manuscript project (e.g. report)")
    parser.add_argument("--engine", choices=ENGINES, default="auto",
                        help="quarto, pandoc (+ Typst) or auto (quarto if on PATH; default)")
    parser.add_argument("--output-dir", type=Path, default=None,
                        help="where to write the files (default: the project's output-dir)")
    parser.add_argument("--results", type=Path, default=None,
                        help="results folder whose sections must all come from the same input files")
    parser.add_argument("--log", type=Path, default=None,
                        help="where to write the traceback of an unexpected error (default: "
                             "PROJECT_DIR/render.log)")
    args = parser.parse_args(argv)
    try:
        if args.results is not None:
            check_results_consistent(args.results)
        outputs = render(args.project_dir, engine=args.engine, output_dir=args.output_dir)
    except RenderError as exc:
        print(f"render failed: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"render failed: cannot write to {exc.filename or args.project_dir} "
              f"({exc.strerror or exc}); the previous report is unchanged", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001  a bug: one line, the traceback in a log
        import traceback

        log = args.log or Path(args.project_dir) / "render.log"
        where = ""
        try:
            log.write_text(traceback.format_exc(), encoding="utf-8")
            where = f"; details in {log}"
        except OSError:
            pass
        print(f"render step: internal error {type(exc).__name__}: {exc}{where}", file=sys.stderr)
        return 1
    for kind, path in outputs.items():
        print(f"{kind}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
