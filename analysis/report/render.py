"""Render the Quarto project in ``report/`` (the article and its supplement) to HTML and PDF.

One function per step, run in this order by :func:`render`:

1. :func:`load_project` reads ``_quarto.yml``: the documents (``project: render``; the
   article ``index.qmd`` first, then the supplement) and the output folder.
2. :func:`stage_project` copies the sources, the results folder (as ``results/``, so figures
   and included files lie inside the project root, as Quarto's Typst ``--root`` requires) and
   the shared render assets (as ``_render/``) into a temporary folder, and writes there the
   cross-document variables ``supp.*`` (:func:`analysis.report.crossdoc.supplement_labels`) and the supplement's
   "S" numbering. Nothing is written into ``report/`` but the published files.
3. The engine renders the staged copy:

   * ``quarto``: ``quarto render`` (Quarto on ``PATH``);
   * ``pandoc`` (no Quarto): Python expands the shortcodes Quarto would (``{{< var >}}``,
     ``{{< include >}}`` resolved as Quarto does, relative to the main document, and
     ``{{< pagebreak >}}``); the pandoc shipped with ``pypandoc-binary`` (resolved once by
     :func:`resolve_pandoc`, never a ``pandoc`` on ``PATH``) runs ``manuscript.lua`` (numbering,
     cross-references, callouts) and ``shared.lua`` (also used by Quarto), with ``--citeproc``,
     and writes HTML and Typst; ``typst.compile`` makes the PDF, with root the staged project
     and the creation date taken from the front matter ``date``.
4. :func:`_publish` moves the files (``<doc>.html`` and ``<doc>.pdf`` of each document) into
   the output folder only when every one was built, so a failed render leaves the previous
   ``_output/`` untouched.

Examples
--------
>>> from analysis.report.render import render                      # doctest: +SKIP
>>> render(Path("report"))                                  # doctest: +SKIP
{'html': PosixPath('report/_output/index.html'), 'pdf': PosixPath('report/_output/index.pdf'),
 'supplement.html': ..., 'supplement.pdf': ...}

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

from analysis import fastyaml
from analysis.report import crossdoc, fonts, guard

ASSETS_DIR = Path(__file__).resolve().with_name("render_assets")
LUA_FILTER = ASSETS_DIR / "manuscript.lua"
SHARED_FILTER = ASSETS_DIR / "shared.lua"
HTML_TEMPLATE = ASSETS_DIR / "manuscript.html"
HTML_CSS = ASSETS_DIR / "manuscript.css"
TYPST_TEMPLATE = ASSETS_DIR / "manuscript.typ"
DEFAULT_CSL = ASSETS_DIR / "vancouver-numeric.csl"
#: Render assets both engines use, copied into the staged project as ``_render/<name>``.
STAGED_ASSETS = ("shared.lua", "layout.typ")
STAGED_ASSETS_DIR = "_render"
#: The results folder's name inside the staged project (include paths: ``results/<section>/...``).
STAGED_RESULTS = "results"

ENGINES = ("auto", "quarto", "pandoc")
MAX_INCLUDE_DEPTH = 10
#: Oldest pandoc (typst writer with figures, --embed-resources) and Typst (layout.typ) that work.
MIN_PANDOC = (3, 2)
MIN_TYPST = (0, 13)
#: What a supplement's tables and figures are called in the article (``{{< var supp.<label> >}}``).
SUPP_PREFIX = "S"
#: Entries of the project folder never staged (build products, Quarto's own folders).
NOT_STAGED = {"_output", ".quarto", "_freeze", "render.log", STAGED_ASSETS_DIR, STAGED_RESULTS}

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
    """A Quarto project of documents (article first), its output folder and results folder."""

    dir: Path
    documents: tuple[Path, ...]
    output_dir: Path
    config: dict
    results_dir: Path | None = None

    @property
    def article(self) -> Path:
        return self.documents[0]

    @property
    def stem(self) -> str:
        return self.article.stem

    def staged(self, stage: Path) -> "Project":
        """The same project, read from its staged copy."""
        return Project(stage, tuple(stage / d.name for d in self.documents), self.output_dir,
                       self.config, stage / STAGED_RESULTS)


@dataclass(frozen=True)
class Tool:
    """An external program the pandoc engine runs, with its version."""

    path: str
    version: tuple[int, ...]


# ----------------------------------------------------------------------------- API
def render(project_dir: Path | str, *, engine: str = "auto", output_dir: Path | str | None = None,
           results_dir: Path | str | None = None) -> dict[str, Path]:
    """Render every document of the project to HTML and PDF.

    Parameters
    ----------
    project_dir
        Folder holding ``_quarto.yml``.
    engine
        ``"quarto"``, ``"pandoc"`` (pandoc + Typst from PyPI) or ``"auto"``:
        Quarto when ``quarto`` is on ``PATH``, else pandoc.
    output_dir
        Where to put the files; default the project's ``output-dir``
        (``_output``), relative to the project folder.
    results_dir
        The results folder the documents include from (``results/...``); default
        ``<project_dir>/../results``.

    Returns
    -------
    dict
        ``{"html": ..., "pdf": ...}`` of the article and ``{"<doc>.html": ..., "<doc>.pdf": ...}``
        of every other document (the supplement), as published.

    Raises
    ------
    RenderError
        On any failure (missing variable, include or figure file, pandoc or Typst
        error, unresolved reference); the output folder is then left as it was.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
    project = load_project(project_dir, output_dir, results_dir)
    if engine == "auto":
        engine = "quarto" if shutil.which("quarto") else "pandoc"
    if engine == "quarto":
        quarto = shutil.which("quarto")
        if quarto is None:
            raise RenderError("engine 'quarto' asked for, but quarto is not on PATH")
        build, tools = _render_quarto, {"quarto": quarto}
    else:  # resolved here, once, before any thread starts
        build, tools = _render_pandoc, {"pandoc": resolve_pandoc(), "typst": check_typst()}
    # Build next to the project (same file system, so the final moves are renames).
    with tempfile.TemporaryDirectory(prefix=".render-", dir=project.dir) as tmp:
        staged = stage_project(project, Path(tmp) / "src")
        out = Path(tmp) / "out"
        out.mkdir()
        built = build(staged, out, tools)
        # fonts each HTML page needs; no identifier or patient date a reader would see (#30)
        guard.check_rendered(built, project.dir, error=RenderError)
        return _publish(built, out, project.output_dir)


def load_project(project_dir: Path | str, output_dir: Path | str | None = None,
                 results_dir: Path | str | None = None) -> Project:
    """Read ``_quarto.yml``: the documents (``project: render``, else the manuscript article),
    the output folder and the results folder."""
    pdir = Path(project_dir).resolve()
    cfg_file = pdir / "_quarto.yml"
    if not cfg_file.is_file():
        raise RenderError(f"{cfg_file}: not found (is {project_dir} a Quarto project?)")
    config = _read_yaml(cfg_file)
    listed = (config.get("project") or {}).get("render")
    if listed:
        names = [str(n) for n in (listed if isinstance(listed, list) else [listed])]
    else:
        names = [(config.get("manuscript") or {}).get("article", "index.qmd")]
    documents = []
    for name in names:
        if any(c in name for c in "*?[") or "/" in name:
            raise RenderError(f"{cfg_file}: project.render lists {name!r}; list the documents by file "
                              "name (no folders or patterns)")
        if not (pdir / name).is_file():
            raise RenderError(f"{cfg_file}: document {name!r} not found")
        documents.append(pdir / name)
    # the article first (index.qmd when it is listed), then the others in the listed order
    documents.sort(key=lambda d: d.name != "index.qmd")
    if output_dir is None:
        output_dir = pdir / ((config.get("project") or {}).get("output-dir") or "_output")
    results = Path(results_dir) if results_dir is not None else pdir.parent / "results"
    return Project(dir=pdir, documents=tuple(documents), output_dir=Path(output_dir).resolve(),
                   config=config, results_dir=results.resolve() if results.is_dir() else None)


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


# ----------------------------------------------------------------------- the tools
def _version(text: str) -> tuple[int, ...]:
    m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    return tuple(int(x) for x in m.groups() if x is not None) if m else ()


def resolve_pandoc() -> Tool:
    """The pandoc of ``pypandoc-binary`` (or ``$PYPANDOC_PANDOC``), never a ``pandoc`` on ``PATH``,
    with its version; :class:`RenderError` if it is missing or older than :data:`MIN_PANDOC`."""
    chosen = os.environ.get("PYPANDOC_PANDOC")
    if chosen:
        where = "PYPANDOC_PANDOC"
    else:
        import importlib.util

        spec = importlib.util.find_spec("pypandoc")
        if spec is None or spec.origin is None:
            raise RenderError("the pandoc engine needs pypandoc-binary (pip install -r requirements.lock), "
                              "or PYPANDOC_PANDOC naming a pandoc >= " + ".".join(map(str, MIN_PANDOC)))
        chosen = str(Path(spec.origin).parent / "files" / ("pandoc.exe" if os.name == "nt" else "pandoc"))
        where = "pypandoc-binary"
    try:
        proc = subprocess.run([chosen, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RenderError(f"cannot run the pandoc of {where} ({chosen}): {exc}; install pypandoc-binary "
                          "(pip install -r requirements.lock) or set PYPANDOC_PANDOC") from None
    version = _version(proc.stdout.splitlines()[0] if proc.stdout else "")
    if proc.returncode != 0 or version < MIN_PANDOC:
        shown = ".".join(map(str, version)) or "of unknown version"
        raise RenderError(f"pandoc {shown} ({chosen}, from {where}) is too old: the pandoc engine needs pandoc "
                          f">= {'.'.join(map(str, MIN_PANDOC))} (pypandoc-binary 1.17 ships 3.9)")
    return Tool(chosen, version)


def check_typst() -> Tool:
    """The ``typst`` Python package and its Typst version; :class:`RenderError` if it is
    missing or older than :data:`MIN_TYPST`."""
    from importlib import metadata

    try:
        version = _version(metadata.version("typst"))
    except metadata.PackageNotFoundError:
        raise RenderError("the pandoc engine needs the typst package (pip install -r requirements.lock)") from None
    if version[:2] < MIN_TYPST:
        raise RenderError(f"typst {'.'.join(map(str, version))} is too old: the pandoc engine needs typst "
                          f">= {'.'.join(map(str, MIN_TYPST))} (pip install -r requirements.lock)")
    return Tool("typst (Python package)", version)


# ----------------------------------------------------------------------- staging
def stage_project(project: Project, stage: Path) -> Project:
    """Copy the project into ``stage`` as both engines read it, and return the staged project.

    ``stage`` gets the project's sources (not its build products), the results folder as
    ``results/`` and the shared render assets as ``_render/``; its ``_variables.yml`` gets the
    cross-document variables ``supp.<label>`` ("Supplementary Table S1", ...) and every
    document but the article gets "S" numbering (``crossref: tbl-labels/fig-labels`` for
    Quarto's HTML and the pandoc engine, Typst numbering "S1" for Quarto's PDF).
    """
    stage.mkdir(parents=True)
    for entry in sorted(project.dir.iterdir()):
        if entry.name in NOT_STAGED or entry.name.startswith(".render-") or entry == project.output_dir:
            continue
        if entry.is_dir():
            shutil.copytree(entry, stage / entry.name, symlinks=False)
        else:
            shutil.copy2(entry, stage / entry.name)
    if project.results_dir is not None:
        shutil.copytree(project.results_dir, stage / STAGED_RESULTS, symlinks=False,
                        ignore=shutil.ignore_patterns("*.ipynb", "*.pkl"))
    (stage / STAGED_ASSETS_DIR).mkdir()
    for name in STAGED_ASSETS:
        shutil.copy2(ASSETS_DIR / name, stage / STAGED_ASSETS_DIR / name)
    # the shipped fonts, for Quarto's Typst (_quarto.yml: font-paths); the pandoc engine passes
    # fonts.font_paths() to Typst itself
    shutil.copytree(fonts.FONT_DIR, stage / STAGED_ASSETS_DIR / "fonts")
    staged = project.staged(stage)

    variables = _load_variables(stage)
    for doc in staged.documents:
        _resolve_front_matter(doc, variables)
    supp: dict[str, str] = {}
    for doc in staged.documents[1:]:
        supp.update(crossdoc.supplement_labels(expand_includes(doc, stage)))
        _number_as_supplement(doc, list((project.config.get("format") or {"html": {}})))
    if supp:
        variables = _load_variables(stage)
        variables["supp"] = supp
        (stage / "_variables.yml").write_text(
            yaml.safe_dump(variables, sort_keys=True, allow_unicode=True, width=1000), encoding="utf-8")
    return staged


#: Front matter fields whose ``{{< var >}}`` the render step fills in before either engine reads them:
#: Quarto parses ``date`` before it expands shortcodes ("Invalid Date"), and the running head goes
#: into the Typst page header (layout.typ), which no engine expands.
FRONT_MATTER_VARS = ("date", "running-head")


def _resolve_front_matter(doc: Path, variables: dict) -> None:
    """Fill in the ``var`` shortcodes of the staged ``doc``'s :data:`FRONT_MATTER_VARS`, and put its
    running head (plain text) where the Typst page header of both engines finds it (a ``metadata``
    labelled ``<rr-running-head>``, drawn by ``layout.typ`` on every page after the first).

    Only those lines of the front matter are rewritten (as JSON strings, which YAML reads as
    double-quoted scalars); the rest stays as written, shortcodes included."""
    text = doc.read_text(encoding="utf-8")
    m = FRONT_MATTER.match(text)
    if not m:
        return
    front, body = split_front_matter(text, doc)
    lines = m.group("yaml").split("\n")
    head = None
    for key in FRONT_MATTER_VARS:
        value = front.get(key)
        if not isinstance(value, str):
            continue
        value = expand_variables(value, variables, doc.parent, where=f"{doc.name}: {key}")
        if key == "running-head":
            head = value
        lines = [f"{key}: {json.dumps(value, ensure_ascii=False)}" if line.startswith(f"{key}:") else line
                 for line in lines]
    if head and head.strip():
        plain = "".join(ch for ch in head if ch >= " ")  # no control characters in a Typst string
        body = ("\n```{=typst}\n#metadata(" + json.dumps(plain, ensure_ascii=False) + ") <rr-running-head>\n```\n"
                + body)
    doc.write_text("---\n" + "\n".join(lines) + "\n---\n" + body, encoding="utf-8")


def expand_variables(text: str, variables: dict, project_dir: Path, *, where: str = "text") -> str:
    """``text`` with its ``{{< var key >}}`` shortcodes filled in from ``variables`` (other shortcodes
    are an error here)."""
    def replace(m: re.Match) -> str:
        args = m.group("args").split()
        if m.group("name") != "var" or len(args) != 1:
            raise RenderError(f"{where}: only {{{{< var key >}}}} is allowed here, not {m.group(0)}")
        return _lookup_variable(variables, args[0], project_dir, where)

    return SHORTCODE.sub(replace, text)


def _number_as_supplement(doc: Path, project_formats: list[str]) -> None:
    """Number the staged ``doc``'s figures and tables S1, S2, ... in both engines.

    * Quarto's HTML: ``format: html: crossref:`` with the words "Table S" / "Figure S" and no
      space before the number (custom float categories for the keys tbl and fig,
      ``space-before-numbering: false``, Quarto >= 1.4);
    * Quarto's PDF: Typst's own numbering S1, S2, ... for Quarto's figure kinds (a raw Typst block);
    * the pandoc engine: ``rr-number-prefix: S`` (manuscript.lua).
    """
    text = doc.read_text(encoding="utf-8")
    front, body = split_front_matter(text, doc)
    words = {"tbl": "Table", "fig": "Figure"}
    crossref = {f"{kind}-{what}": f"{word} {SUPP_PREFIX}" for kind, word in words.items()
                for what in ("title", "prefix")}
    crossref["custom"] = [{"kind": "float", "key": kind, "reference-prefix": f"{word} {SUPP_PREFIX}",
                           "space-before-numbering": False, **({"caption-location": "top"} if kind == "tbl" else {})}
                          for kind, word in words.items()]
    formats = front.setdefault("format", {}) if isinstance(front.get("format", {}), dict) else None
    if formats is None:
        raise RenderError(f"{doc.name}: format in the front matter must be a mapping of formats")
    html = formats.get("html") if isinstance(formats.get("html"), dict) else {}
    html["crossref"] = {**crossref, **(html.get("crossref") or {})}
    formats["html"] = html
    for fmt in project_formats:  # a document's format list replaces the project's: keep them all
        if formats.get(fmt) in (None, "default"):
            formats[fmt] = {}
    front["rr-number-prefix"] = SUPP_PREFIX
    # a numbering function, not the pattern "S1": Typst drops a pattern's prefix in references
    numbering = ("\n```{=typst}\n"
                 + "".join(f'#show figure.where(kind: "quarto-float-{k}"): set figure(numbering: n => "{SUPP_PREFIX}" + str(n))\n'
                           for k in ("tbl", "fig"))
                 + "```\n")
    doc.write_text("---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=1000)
                   + "---\n" + numbering + body, encoding="utf-8")


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


def _outputs(project: Project, out: Path) -> dict[str, Path]:
    """``{"html", "pdf"}`` of the article, ``{"<doc>.html", "<doc>.pdf"}`` of the others."""
    built = {}
    for i, doc in enumerate(project.documents):
        for ext in ("html", "pdf"):
            built[ext if i == 0 else f"{doc.stem}.{ext}"] = out / f"{doc.stem}.{ext}"
    return built


# ---------------------------------------------------------------------- quarto
def _render_quarto(project: Project, out: Path, tools: dict) -> dict[str, Path]:
    """``quarto render`` of the staged project; its output folder's files moved to ``out``."""
    quarto_out = project.dir / "_quarto_out"
    cmd = [tools["quarto"], "render", str(project.dir), "--output-dir", quarto_out.name]
    proc = subprocess.run(cmd, cwd=project.dir, capture_output=True, text=True, env=_quarto_env(project))
    if proc.returncode != 0:
        raise RenderError(f"quarto render failed ({proc.returncode}):\n{_tail(proc.stderr or proc.stdout)}")
    built = _outputs(project, out)
    for path in built.values():
        made = quarto_out / path.name
        if not made.is_file():
            raise RenderError(f"quarto render did not write {path.name}")
        if path.suffix == ".html":
            check_no_unresolved(made.read_text(encoding="utf-8"), where=path.name)
        shutil.move(str(made), str(path))
    return built


def _quarto_env(project: Project) -> dict[str, str]:
    """Quarto's environment: ``SOURCE_DATE_EPOCH`` from the article's date (when not set), which
    the Typst CLI takes as the PDF's creation date, so the PDF does not depend on "now"."""
    env = dict(os.environ)
    if "SOURCE_DATE_EPOCH" not in env:
        front, _ = split_front_matter(project.article.read_text(encoding="utf-8"), project.article)
        date = parse_date(front.get("date"))
        if date is not None:
            env["SOURCE_DATE_EPOCH"] = str(pdf_timestamp({"rr-date-iso": date.isoformat()}))
    return env


# ---------------------------------------------------------------------- pandoc + Typst
def _render_pandoc(project: Project, out: Path, tools: dict) -> dict[str, Path]:
    """Every document of the staged project to HTML and PDF with pandoc and Typst."""
    built = _outputs(project, out)
    for doc in project.documents:
        html, pdf = _render_document(project, doc, tools["pandoc"])
        built_html = out / f"{doc.stem}.html"
        built_html.write_text(html, encoding="utf-8")
        (out / f"{doc.stem}.pdf").write_bytes(pdf)
    return built


def _render_document(project: Project, doc: Path, pandoc: Tool) -> tuple[str, bytes]:
    """HTML text and PDF bytes of one staged document."""
    from analysis.report import number_marks  # (#29) each inserted number carries its provenance

    text = expand_shortcodes(doc, project.dir, number_marks.marked_variables(
        _load_variables(project.dir), number_marks.load_provenance(project.dir), format_value))
    front, body = split_front_matter(text, doc)
    source = project.dir / f".{doc.stem}.expanded.md"
    source.write_text(body, encoding="utf-8")

    html_meta = document_metadata(project, front, "html")
    # HTML and PDF are independent: pandoc makes the HTML (its own process, waited for in a thread)
    # while the Typst source is made and compiled; errors are raised in the order of a serial run
    with ThreadPoolExecutor(max_workers=1) as pool:
        html_job = pool.submit(_pandoc, pandoc, project, doc, source, html_meta, "html")
        try:
            typst_meta = document_metadata(project, front, "typst")
            typ = _pandoc(pandoc, project, doc, source, typst_meta, "typst")
            check_no_unresolved(typ, where=f"{doc.stem}.typ")
            pdf = _compile_typst(project.dir / f"{doc.stem}.typ", typst_meta)
            typst_error = None
        except RenderError as exc:
            typst_error = exc
        html = html_job.result()
    check_no_unresolved(html, where=f"{doc.stem}.html")
    if typst_error is not None:
        raise typst_error
    return html, pdf


def expand_includes(path: Path, root: Path, _depth: int = 0) -> str:
    """Text of ``path`` with ``{{< include >}}`` expanded as Quarto does (relative to ``root``,
    the main document's folder, also inside an included file); other shortcodes kept."""
    text = path.read_text(encoding="utf-8")

    def replace(m: re.Match) -> str:
        if m.group("name") != "include":
            return m.group(0)
        inc = _include_target(m, path, root, text)
        if _depth >= MAX_INCLUDE_DEPTH:
            raise RenderError(f"{_rel(path, root)}: includes nested deeper than {MAX_INCLUDE_DEPTH} (a cycle?)")
        return expand_includes(inc, root, _depth + 1).rstrip("\n")

    return SHORTCODE.sub(replace, text)


def _include_target(m: re.Match, path: Path, root: Path, text: str) -> Path:
    where = f"{_rel(path, root)}:{text.count(chr(10), 0, m.start()) + 1}"
    try:
        args = shlex.split(m.group("args"))
    except ValueError as exc:
        raise RenderError(f"{where}: cannot parse {m.group(0)}: {exc}") from None
    if len(args) != 1:
        raise RenderError(f"{where}: {m.group(0)} needs exactly one file")
    target = args[0]
    # Quarto resolves every include relative to the main document (resolvePath in
    # src/core/handlers/base.ts), also one inside an included file; "/" is the project folder
    inc = root / target.lstrip("/")
    if not inc.is_file():
        raise RenderError(f"{where}: included file not found: {target} (looked for {inc}; include paths "
                          "are relative to the main document, as in Quarto)")
    return inc


def expand_shortcodes(path: Path, project_dir: Path, variables: dict | None = None,
                      _depth: int = 0) -> str:
    """Text of ``path`` with ``var``, ``include`` and ``pagebreak`` shortcodes expanded.

    Include paths are relative to the main document's folder ``project_dir``, also in an
    included file (as Quarto resolves them); a leading ``/`` means the same.
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
            inc = _include_target(m, path, project_dir, text)
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
        front = fastyaml.load(m.group("yaml")) or {}
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


def _pandoc(pandoc: Tool, project: Project, doc: Path, source: Path, meta: dict, fmt: str) -> str:
    """Run the resolved pandoc (never one on PATH) on the expanded ``source`` of ``doc``."""
    stem = doc.stem
    meta_file = project.dir / f".{stem}.metadata-{fmt}.yaml"
    meta_file.write_text(yaml.safe_dump(meta, sort_keys=True, allow_unicode=True), encoding="utf-8")
    out_file = project.dir / f"{stem}.{'html' if fmt == 'html' else 'typ'}"
    cmd = [
        pandoc.path, str(source),
        "--from", "markdown", "--to", fmt, "--standalone",
        "--metadata-file", str(meta_file),
        "--lua-filter", str(LUA_FILTER),
        "--lua-filter", str(SHARED_FILTER),
        "--resource-path", str(project.dir),
        "--output", str(out_file),
    ]
    if meta.get("bibliography"):
        cmd.append("--citeproc")
    if fmt == "html":
        cmd += ["--template", str(HTML_TEMPLATE), "--variable", f"rr-css={HTML_CSS}",
                "--embed-resources", "--mathml"]
        if meta.get("toc"):
            cmd += ["--toc", f"--toc-depth={int(meta.get('toc-depth') or 3)}"]
    else:
        cmd += ["--template", str(TYPST_TEMPLATE), "--variable", f"rr-docinfo={_typst_docinfo(meta)}"]
    proc = subprocess.run(cmd, cwd=project.dir, capture_output=True, text=True)
    if proc.returncode != 0:
        message = proc.stderr.split("stack traceback:")[0]  # Lua errors: drop the traceback
        raise RenderError(f"pandoc ({fmt}) failed for {doc.name}:\n{_tail(message)}")
    problems = [line for line in proc.stderr.splitlines()
                if re.search(r"Citeproc: citation .* not found|Could not fetch resource|"
                             r"Could not find (?:image|file)|not found", line)]
    if problems:
        raise RenderError(f"pandoc ({fmt}) for {doc.name}: " + "; ".join(problems))
    from analysis.report import number_marks  # (#29) marked numbers: spans in HTML, plain elsewhere

    raw = out_file.read_text(encoding="utf-8")
    finished = number_marks.finish(raw, fmt, project.dir)
    if finished != raw:  # the Typst source is compiled from the file
        out_file.write_text(finished, encoding="utf-8")
    return finished


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


def _compile_typst(typ_file: Path, meta: dict) -> bytes:
    """The PDF of ``typ_file``, compiled with the staged project as root (as Quarto's
    ``--root``), without system fonts so the PDF does not depend on the machine."""
    import typst

    try:
        return typst.compile(str(typ_file), root=str(typ_file.parent), format="pdf", font_paths=fonts.font_paths(),
                             ignore_system_fonts=True, timestamp=pdf_timestamp(meta))
    except Exception as exc:  # typst.TypstError and friends
        raise RenderError(f"typst failed: {_typst_message(exc, typ_file.read_text(encoding='utf-8'))}") from None


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
        data = fastyaml.load(file.read_text(encoding="utf-8")) or {}
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
    parser.add_argument("project_dir", type=Path, help="Quarto project (e.g. report)")
    parser.add_argument("--engine", choices=ENGINES, default="auto",
                        help="quarto, pandoc (+ Typst) or auto (quarto if on PATH; default)")
    parser.add_argument("--output-dir", type=Path, default=None,
                        help="where to write the files (default: the project's output-dir)")
    parser.add_argument("--results", type=Path, default=None,
                        help="the results folder the documents include from (staged as results/; its sections "
                             "must all come from the same input files; default PROJECT_DIR/../results)")
    parser.add_argument("--log", type=Path, default=None,
                        help="where to write the traceback of an unexpected error (default: "
                             "PROJECT_DIR/render.log)")
    args = parser.parse_args(argv)
    try:
        if args.results is not None:
            check_results_consistent(args.results)
        outputs = render(args.project_dir, engine=args.engine, output_dir=args.output_dir,
                         results_dir=args.results)
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
