"""Digests of everything that made a section, so that no report mixes inputs (#29), and reuse (#31).

A section's **digest** is the SHA-256 of its components, each itself a SHA-256:

* ``notebook``: the source notebook's cells (type, source, tags; not outputs or metadata),
* ``parameters``: the merged parameters exactly as papermill receives them (``-f`` files in order,
  then ``-p`` values typed as papermill types them), without ``out`` (where the results go does
  not change them; so a section can be reused from another output folder),
* ``data``: the cohort's files (name and SHA-256 of each file of the ``DATA`` folder, or the
  workbook), read by the validation step,
* ``code``: the analysis code the notebook imports, per layer as the Makefile's ``NB_SRC``
  (``analysis/paths.py``, ``analysis/data``, ``analysis/stats``, ``analysis/report`` without the
  render, runner, notebook pages and this module), plus ``SYNTHETIC_SRC`` for the scorecard and ``SENS_SRC`` for
  the sensitivity section, and the shipped fonts the figures draw with,
* ``lock``: ``requirements.lock``,
* ``files``: files a parameter names (``targets``, ``scenarios``, every params file of
  ``params_dir``): their contents,
* ``upstream`` (06-scorecard, 07-sensitivity): the digests of the sections they read (01-05).

The notebook runner records the digest, its components and what they were computed from in the
section's ``manifest.yaml`` (``digest:``, ``provenance:``). ``make`` asks this module (``stamps``)
for every section's current digest before any notebook runs; a section whose stamp
``OUT/.provenance/<section>.json`` changes (the validation step: ``data.json``), or whose recorded
digest differs from the current one
(a notebook run on its own, a build that stopped), runs again whatever the file times say. The
render refuses results whose recorded digests no longer match their inputs
(:func:`check_results`), naming the section and what changed.

Reuse: ``make ... REUSE_FROM=<other OUT>`` copies a section's results and executed notebook from
that output folder instead of running it when the digest recorded there equals the current one
(:func:`reuse_section`); the validation step is reused the same way when the data are the same
files (:func:`reuse_validation`). ``stamps --reuse-from OTHER_OUT`` does both for every section
before make decides what to run (:func:`reuse_unchanged`): make then finds the copied sections up
to date and starts no runner for them (a scenario of ``make sensitivity`` copies four or five
sections this way); it writes what it copied to ``OUT/.provenance/reused.txt``, which make prints.

Command line (what the Makefile runs)::

    python -m analysis.report.provenance stamps --out OUT --data DATA --params PARAMS --scenarios FILE [--data-only]
        [--reuse-from OTHER_OUT]
    python -m analysis.report.provenance reuse-validation --data DATA --from OTHER_OUT --validation OUT/validation
    python -m analysis.report.provenance digest 03-survival --out OUT --data DATA --params PARAMS ...
    python -m analysis.report.provenance check RESULTS
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from analysis import fastyaml
from analysis.paths import PROJ_ROOT

__all__ = ["SECTIONS", "UPSTREAM", "ProvenanceError", "SectionSpec", "section_spec", "merged_parameters",
           "resolve_type", "code_files", "data_files", "data_digest", "notebook_digest", "section_digest",
           "section_components", "current_digests", "recorded", "changed_components", "check_results",
           "pair_in_sync", "check_pairs", "write_stamps", "data_stamp", "reuse_section", "reuse_validation", "reuse_unchanged", "record_in_manifest", "main"]

SECTIONS = ("01-cohort", "02-response", "03-survival", "04-subgroups", "05-safety", "06-scorecard",
            "07-sensitivity")
#: The sections each section reads the results of (analysis.report.results.ANALYSIS_SECTIONS).
UPSTREAM = {"06-scorecard": SECTIONS[:5], "07-sensitivity": SECTIONS[:5]}
#: Parameters that are the output root: not part of the digest (results do not depend on it).
UNHASHED_PARAMETERS = ("out",)
#: Parameters naming files whose contents the section reads: ``file`` or ``dir`` (its ``*.yaml``).
PATH_PARAMETERS = {"targets": "file", "scenarios": "file", "params_dir": "dir"}
#: Where the Makefile's stamps live under OUT.
STAMP_DIR = ".provenance"


class ProvenanceError(RuntimeError):
    """Results that do not match their inputs, or a notebook pair out of sync; the message says which."""


# ------------------------------------------------------------------------------ hashing
def _sha256_bytes(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


def digest_of(obj: Any) -> str:
    """SHA-256 of an object's canonical JSON (sorted keys; dates and paths as text).

    >>> digest_of({"b": 1, "a": [1, 2]}) == digest_of({"a": [1, 2], "b": 1})
    True
    """
    return _sha256_bytes(_canonical(obj))


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJ_ROOT))
    except ValueError:
        return str(path)


def _resolve(path: str | Path) -> Path:
    p = Path(path)
    return p if p.is_absolute() else PROJ_ROOT / p


# ------------------------------------------------------------------------------ parameters
def resolve_type(value: str) -> Any:
    """A ``-p`` value typed as papermill's command line types it (``papermill.cli._resolve_type``).

    >>> resolve_type("True"), resolve_type("None"), resolve_type("12"), resolve_type("1.5"), resolve_type("x")
    (True, None, 12, 1.5, 'x')
    """
    if value == "True":
        return True
    if value == "False":
        return False
    if value == "None":
        return None
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value


def merged_parameters(files: Iterable[str | Path], params: Iterable[tuple[str, str]] = (),
                      params_dir: str | Path | None = None, section: str | None = None) -> dict:
    """Parameters as the runner merges them: with ``params_dir``, the section's merged parameters
    (#31: :func:`analysis.report.params.merged_params`, the project's defaults overlaid by the
    folder), else ``papermill -f FILE ...``; then ``-p KEY VALUE ...`` (later wins)."""
    out: dict = {}
    if params_dir is not None:
        from analysis.report.params import merged_params

        out.update(merged_params(section, _resolve(params_dir), check=False))
        files = ()
    for f in files:
        with open(_resolve(f), encoding="utf-8") as fh:
            out.update(fastyaml.load(fh) or {})
    for key, value in params:
        out[key] = resolve_type(value)
    return out


@dataclass(frozen=True)
class SectionSpec:
    """What make runs a section with: the notebook, ``-f`` files and ``-p`` values, and the data."""

    section: str
    notebook: str
    files: tuple[str, ...]
    set: tuple[tuple[str, str], ...]
    data: str

    def as_dict(self) -> dict:
        return {"section": self.section, "notebook": self.notebook, "files": list(self.files),
                "set": [list(p) for p in self.set], "data": self.data}

    @classmethod
    def from_dict(cls, d: dict) -> "SectionSpec":
        return cls(section=d["section"], notebook=d["notebook"], files=tuple(d["files"]),
                   set=tuple((str(k), str(v)) for k, v in d["set"]), data=d["data"])


def section_spec(section: str, *, data: str, out: str, params: str = "params",
                 scenarios: str | None = None) -> SectionSpec:
    """The runner's arguments for ``section`` as the Makefile's notebook rule gives them.

    (Keep in line with the rule ``$(EXEC_DIR)/%.ipynb`` and the 07-sensitivity ``PM_FLAGS``: the
    runner checks that the parameters it received hash as this spec's do.)
    """
    sets = [("data", data), ("out", out)]
    if section == "07-sensitivity":
        sets += [("params_dir", params), ("scenarios", scenarios or f"{params}/sensitivity.yaml")]
    return SectionSpec(section=section, notebook=f"notebooks/{section}.ipynb",
                       files=(f"{params}/common.yaml", f"{params}/{section}.yaml"), set=tuple(sets), data=data)


def hashed_parameters(parameters: dict) -> dict:
    """The parameters that enter the digest: all but the output root."""
    return {k: v for k, v in parameters.items() if k not in UNHASHED_PARAMETERS}


# ------------------------------------------------------------------------------ inputs
def code_files(section: str, root: Path = PROJ_ROOT) -> list[Path]:
    """The analysis code a section's notebook imports, per layer as the Makefile's NB_SRC etc."""
    a = root / "analysis"
    files = [a / "__init__.py", a / "paths.py"]
    for layer in ("data", "stats", "report"):
        files += sorted((a / layer).glob("*.py"))
    files = [f for f in files if f.name not in ("render.py", "runner.py", "provenance.py", "notebook_pages.py") or f.parent.name != "report"]
    fonts = a / "report" / "render_assets" / "fonts"
    if fonts.is_dir():  # the figures draw their text with the shipped fonts
        files += sorted(p for p in fonts.rglob("*") if p.is_file())
    if section == "06-scorecard":
        files += sorted((a / "synthetic").glob("*.py"))
    if section == "07-sensitivity":
        files += sorted((a / "sensitivity").glob("*.py"))
    return [f for f in files if f.is_file()]


def data_files(data: str | Path) -> list[Path]:
    """The cohort's files as the Makefile's DATA_FILES: every ``*.*`` file of the folder, or the file."""
    p = _resolve(data)
    if p.is_dir():
        return sorted(f for f in p.glob("*.*") if f.is_file() and not f.name.startswith("."))
    return [p] if p.is_file() else []


def data_digest(data: str | Path) -> str:
    """Digest of the cohort's contents: each file's name and SHA-256 (not its path or time)."""
    files = data_files(data)
    if not files:
        raise ProvenanceError(f"{data}: no data files found")
    return digest_of({f.name: sha256_file(f) for f in files})


def notebook_cells(path: str | Path) -> list:
    """A notebook's cells as they decide what runs: type, source, tags."""
    nb = json.loads(_resolve(path).read_text(encoding="utf-8"))
    out = []
    for c in nb.get("cells", []):
        src = c.get("source", "")
        out.append([c.get("cell_type"), "".join(src) if isinstance(src, list) else src,
                    sorted((c.get("metadata") or {}).get("tags", []))])
    return out


def notebook_digest(path: str | Path) -> str:
    """Digest of a notebook's cells (:func:`notebook_cells`): outputs and metadata do not count."""
    return digest_of(notebook_cells(path))


def _files_digest(files: Iterable[Path]) -> dict[str, str]:
    return {_rel(f): sha256_file(f) for f in files}


def _path_parameter_files(parameters: dict) -> list[Path]:
    files: list[Path] = []
    for key, kind in PATH_PARAMETERS.items():
        if key not in parameters or parameters[key] is None:
            continue
        p = _resolve(str(parameters[key]))
        if kind == "dir":  # (#31) a params folder is an overlay: the project's defaults count too (not
            # the project's scenarios: a scenario report's own scenarios file is in its folder)
            files += sorted(p.glob("*.yaml")) if p.is_dir() else []
            if p.is_dir() and p.resolve() != (PROJ_ROOT / "params").resolve():
                files += sorted(f for f in (PROJ_ROOT / "params").glob("*.yaml") if f.name != "sensitivity.yaml")
        elif p.is_file():
            files.append(p)
    return files


# ------------------------------------------------------------------------------ digests
def section_components(spec: SectionSpec, *, upstream: dict[str, str] | None = None,
                       parameters: dict | None = None, data: str | None = None) -> dict:
    """The components of ``spec``'s digest (each a SHA-256) and the per-file checksums they cover.

    ``parameters``: the merged parameters as papermill receives them (default: merged from the spec);
    ``data``: the data digest if already known; ``upstream``: the digests of the sections read.
    Returns ``{"components": {...}, "files": {path: sha256}}``.
    """
    if parameters is None:
        parameters = merged_parameters(spec.files, spec.set, params_dir=Path(spec.files[0]).parent,
                                       section=spec.section)  # (#31) the runner's --params-dir
    code = _files_digest(code_files(spec.section))
    named = _files_digest(_path_parameter_files(parameters))
    components = {
        "notebook": notebook_digest(spec.notebook),
        "parameters": digest_of(hashed_parameters(parameters)),
        "data": data or data_digest(spec.data),
        "code": digest_of(code),
        "lock": sha256_file(PROJ_ROOT / "requirements.lock"),
        "files": digest_of(named),
    }
    if spec.section in UPSTREAM:
        up = upstream or {}
        missing = [s for s in UPSTREAM[spec.section] if s not in up]
        if missing:
            raise ProvenanceError(f"{spec.section}: the digests of {', '.join(missing)} are needed")
        components["upstream"] = digest_of({s: up[s] for s in UPSTREAM[spec.section]})
    return {"components": components, "files": {**code, **named},
            "upstream": {s: (upstream or {})[s] for s in UPSTREAM.get(spec.section, ())}}


def section_digest(section: str, components: dict[str, str]) -> str:
    """The digest of everything that made ``section``: SHA-256 over its components.

    >>> c = {"notebook": "a", "parameters": "b", "data": "c", "code": "d", "lock": "e", "files": "f"}
    >>> section_digest("03-survival", c) == section_digest("03-survival", dict(c))
    True
    >>> section_digest("03-survival", c) == section_digest("03-survival", {**c, "parameters": "x"})
    False
    """
    return digest_of({"section": section, "components": components})


def current_digests(*, data: str, out: str, params: str = "params", scenarios: str | None = None,
                    sections: Iterable[str] = SECTIONS) -> dict[str, dict]:
    """Every section's current digest and what it covers, in build order (upstream first).

    Returns ``{section: {"digest", "components", "files", "upstream", "spec"}}``.
    """
    ddig = data_digest(data)
    wanted = list(sections)
    need = list(dict.fromkeys([u for s in wanted for u in UPSTREAM.get(s, ())] + wanted))
    out_map: dict[str, dict] = {}
    for section in [s for s in SECTIONS if s in need]:
        spec = section_spec(section, data=data, out=out, params=params, scenarios=scenarios)
        up = {u: out_map[u]["digest"] for u in UPSTREAM.get(section, ())}
        comp = section_components(spec, upstream=up, data=ddig)
        out_map[section] = {"digest": section_digest(section, comp["components"]), **comp,
                            "spec": spec.as_dict()}
    return {s: out_map[s] for s in wanted}


# ------------------------------------------------------------------------------ recorded
def _manifest(results_root: Path, section: str) -> Path:
    return results_root / section / "manifest.yaml"


def recorded(results_root: str | Path, section: str) -> dict | None:
    """The ``digest`` and ``provenance`` recorded in a section's manifest (None: no manifest)."""
    f = _manifest(Path(results_root), section)
    try:
        data = fastyaml.load(f.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) else None


def record_in_manifest(results_root: str | Path, section: str, entry: dict) -> Path:
    """Add the digest and its provenance to ``results/<section>/manifest.yaml`` (atomically)."""
    f = _manifest(Path(results_root), section)
    data = fastyaml.load(f.read_text(encoding="utf-8")) or {}
    data["digest"] = entry["digest"]
    data["provenance"] = {"components": entry["components"], "upstream": entry.get("upstream", {}),
                          "spec": entry["spec"], "files": entry["files"]}
    tmp = f.with_name(f.name + ".tmp")
    tmp.write_text(yaml.safe_dump(data, sort_keys=True, allow_unicode=True, width=1000), encoding="utf-8")
    tmp.replace(f)
    return f


_WHAT = {"notebook": "the notebook {notebook}", "parameters": "its parameters ({params})",
         "data": "the data ({data})", "code": "the analysis code", "lock": "requirements.lock",
         "files": "the files its parameters name", "upstream": "the sections it reads ({upstream})"}


def changed_components(old: dict, new: dict, *, old_files: dict | None = None, new_files: dict | None = None,
                       spec: dict | None = None, old_upstream: dict | None = None,
                       new_upstream: dict | None = None) -> list[str]:
    """What changed between two component sets, in words (``the notebook notebooks/03-survival.ipynb``).

    >>> changed_components({"data": "a", "lock": "b"}, {"data": "z", "lock": "b"}, spec={"data": "x/export"})
    ['the data (x/export)']
    """
    spec = spec or {}
    words = []
    for key in ("notebook", "parameters", "data", "code", "lock", "files", "upstream"):
        if old.get(key) == new.get(key):
            continue
        text = _WHAT[key].format(notebook=spec.get("notebook", "?"), params=" + ".join(spec.get("files", [])) or "?",
                                 data=spec.get("data", "?"), upstream="")
        if key in ("code", "files") and old_files is not None and new_files is not None:
            diff = sorted(k for k in set(old_files) | set(new_files) if old_files.get(k) != new_files.get(k))
            if key == "code":
                diff = [d for d in diff if d.startswith("analysis")]
            if diff:
                text += ": " + ", ".join(diff[:4]) + (" ..." if len(diff) > 4 else "")
        if key == "upstream" and old_upstream is not None and new_upstream is not None:
            diff = [s for s in sorted(set(old_upstream) | set(new_upstream)) if old_upstream.get(s) != new_upstream.get(s)]
            text = _WHAT[key].format(upstream=", ".join(diff) or "?")
        words.append(text)
    return words


def check_results(results_root: str | Path, sections: Iterable[str] | None = None) -> dict[str, str]:
    """Refuse results whose recorded digests do not match their inputs now (for the render).

    For each section with a recorded digest, the digest is computed again from what the manifest
    says made it (notebook, params files and values, data, code, lock file, named files) and from
    the digests the sections it reads recorded; a section without a digest beside sections with
    one (a notebook run on its own) and sections made from different data are refused too.
    Results without any digest (made before digests existed) are left to the older checks.
    Raises :class:`ProvenanceError` naming each section and what changed; returns
    ``{section: digest}``.
    """
    root = Path(results_root)
    present = [s for s in (sections or SECTIONS) if _manifest(root, s).is_file()]
    extra = sorted(p.parent.name for p in root.glob("*/manifest.yaml") if p.parent.name not in SECTIONS)
    present += extra
    manifests = {s: recorded(root, s) or {} for s in present}
    with_digest = {s: m for s, m in manifests.items() if m.get("digest")}
    if not with_digest:
        return {}
    problems = []
    for s in present:
        if s not in with_digest:
            problems.append(f"{s}: no digest in its manifest (its results were written outside make, e.g. by "
                            "a notebook run on its own)")
    datas = {m["provenance"]["components"].get("data") for m in with_digest.values()}
    if len(datas) > 1:
        by = {}
        for s, m in with_digest.items():
            by.setdefault(m["provenance"]["spec"].get("data"), []).append(s)
        problems.append("sections computed from different data: " + "; ".join(
            f"{', '.join(v)} from {k}" for k, v in by.items()))
    digests = {s: m["digest"] for s, m in with_digest.items()}
    for s, m in with_digest.items():
        prov = m.get("provenance") or {}
        spec_d = prov.get("spec") or {}
        try:
            spec = SectionSpec.from_dict(spec_d)
            rec_up = prov.get("upstream") or {}
            now = section_components(spec, upstream={u: digests.get(u, rec_up.get(u)) for u in UPSTREAM.get(s, ())})
        except (OSError, KeyError, TypeError, ValueError, ProvenanceError, yaml.YAMLError) as exc:
            problems.append(f"{s}: its inputs cannot be read again ({type(exc).__name__}: {exc})")
            continue
        digest_now = section_digest(s, now["components"])
        if digest_now != m["digest"]:
            what = changed_components(prov.get("components") or {}, now["components"], old_files=prov.get("files"),
                                      new_files=now["files"], spec=spec_d, old_upstream=prov.get("upstream"),
                                      new_upstream=now["upstream"])
            problems.append(f"{s}: {', '.join(what) or 'its inputs'} changed since it ran")
    if problems:
        raise ProvenanceError(f"the results in {results_root} do not match their inputs: " + "; ".join(problems)
                              + " (run make again; nothing was rendered)")
    return digests


# ------------------------------------------------------------------------------ notebook pairs
def _pair_cells(nb) -> list:
    return [(c.cell_type, c.source.strip(), sorted(c.metadata.get("tags", []))) for c in nb.cells]


def pair_in_sync(notebook: str | Path, cache: dict | None = None) -> bool:
    """Whether ``notebooks/NN-x.ipynb`` and its paired ``notebooks/NN-x.py`` (jupytext) hold the same cells.

    ``cache``: ``{notebook: [sha of .ipynb, sha of .py]}`` of pairs known to agree, updated in place,
    so that jupytext is imported only when a file changed.
    """
    nb_path = _resolve(notebook)
    py = nb_path.with_suffix(".py")
    if not py.is_file():
        return True  # not paired
    key = _rel(nb_path)
    shas = [sha256_file(nb_path), sha256_file(py)]
    if cache is not None and cache.get(key) == shas:
        return True
    import jupytext

    ok = _pair_cells(jupytext.read(nb_path)) == _pair_cells(jupytext.read(py))
    if ok and cache is not None:
        cache[key] = shas
    return ok


def check_pairs(notebooks: Iterable[str | Path], cache: dict | None = None) -> None:
    """Raise :class:`ProvenanceError` naming the notebooks whose paired ``.py`` holds other cells."""
    unsynced = [Path(n) for n in notebooks if not pair_in_sync(n, cache)]
    if unsynced:
        names = ", ".join(f"{_rel(n)} and {n.with_suffix('.py').name}" for n in unsynced)
        raise ProvenanceError(f"{names} differ (a notebook edited without its paired script, or the other way "
                              "round): run make sync, then make again")


# ------------------------------------------------------------------------------ stamps (make)
def _write_if_changed(path: Path, text: str) -> bool:
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except OSError:
        pass
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return True


def write_stamps(*, data: str, out: str, params: str = "params", scenarios: str | None = None,
                 stamp_dir: str | Path | None = None, sections: Iterable[str] = SECTIONS) -> dict[str, str]:
    """Write ``OUT/.provenance/<section>.json`` for make; returns ``{section: why it must run}``.

    A stamp is rewritten (so make runs the section) when the current digest differs from the
    stamp's, and touched when the digest recorded in the section's manifest differs from the
    current one (results written outside make, or a run that stopped). Stops with
    :class:`ProvenanceError` when a notebook and its paired ``.py`` disagree.
    """
    out_p = _resolve(out)
    sdir = Path(stamp_dir) if stamp_dir is not None else out_p / STAMP_DIR
    sdir.mkdir(parents=True, exist_ok=True)
    cache_file = sdir / "pairs.json"
    try:
        cache = json.loads(cache_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cache = {}
    sections = list(sections)
    try:
        check_pairs([PROJ_ROOT / "notebooks" / f"{s}.ipynb" for s in sections], cache)
    finally:
        _write_if_changed(cache_file, json.dumps(cache, sort_keys=True, indent=1))
    current = current_digests(data=data, out=out, params=params, scenarios=scenarios, sections=sections)
    why = {}
    for section, entry in current.items():
        stamp = sdir / f"{section}.json"
        changed = _write_if_changed(stamp, json.dumps(entry, sort_keys=True, indent=1) + "\n")
        rec = (recorded(out_p / "results", section) or {}).get("digest")
        if rec != entry["digest"]:
            if not changed:
                os.utime(stamp)
            why[section] = "not run yet" if rec is None else "inputs changed"
        else:
            # the results were made from exactly these inputs: the stamp must not look newer than the
            # executed notebook (e.g. rewritten back after a make -n with other data)
            executed = out_p / "executed" / f"{section}.ipynb"
            if executed.is_file() and stamp.stat().st_mtime_ns > executed.stat().st_mtime_ns:
                t = executed.stat().st_mtime_ns - 1_000_000_000
                os.utime(stamp, ns=(t, t))
    return why


def data_stamp(*, data: str, out: str, stamp: str | Path | None = None) -> bool:
    """Write ``OUT/.provenance/data.json`` (the data's path and contents) when it changed; True if so.

    The validation step depends on it, so ``make validate DATA=siteB/export`` after
    ``siteA/export`` (same default OUT) validates siteB, whatever the files' times.
    """
    out_p = _resolve(out)
    stamp = Path(stamp) if stamp is not None else out_p / STAMP_DIR / "data.json"
    stamp.parent.mkdir(parents=True, exist_ok=True)
    files = data_files(data)
    entry = {"data": str(_resolve(data).resolve()), "files": {f.name: sha256_file(f) for f in files}}
    text = json.dumps(entry, sort_keys=True, indent=1) + "\n"
    changed = _write_if_changed(stamp, text)
    # the validation that ran last validated exactly these files (its copy of the stamp, written by
    # the Makefile's validation step): the stamp must not look newer than its log
    log = out_p / "validation" / "report-with-patient-ids.csv"
    validated = out_p / "validation" / "data.json"
    try:
        if validated.read_text(encoding="utf-8") == text and stamp.stat().st_mtime_ns > log.stat().st_mtime_ns:
            t = log.stat().st_mtime_ns - 1_000_000_000
            os.utime(stamp, ns=(t, t))
    except OSError:
        pass
    return changed


# ------------------------------------------------------------------------------ reuse
def reuse_section(section: str, digest: str, *, reuse_from: str | Path, out: str | Path, executed: str | Path) -> bool:
    """Copy ``section``'s results and executed notebook from another output folder when the digest
    recorded there is ``digest``; True if reused. Copies go to temporary names first, then replace."""
    src_root = _resolve(reuse_from)
    src_results = src_root / "results" / section
    src_nb = src_root / "executed" / f"{section}.ipynb"
    rec = recorded(src_root / "results", section) or {}
    if rec.get("digest") != digest or not src_nb.is_file():
        return False
    dst_results = _resolve(out) / "results" / section
    if src_results.resolve() == dst_results.resolve():
        return False
    executed = Path(executed)
    dst_results.parent.mkdir(parents=True, exist_ok=True)
    executed.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst_results.with_name(f".{section}.reuse-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src_results, tmp)
    old = dst_results.with_name(f".{section}.old-{os.getpid()}")
    if dst_results.exists():
        dst_results.rename(old)
    tmp.rename(dst_results)
    shutil.rmtree(old, ignore_errors=True)
    tmp_nb = executed.with_name(f"{executed.stem}.reuse-{os.getpid()}.ipynb")
    shutil.copyfile(src_nb, tmp_nb)  # a new file time: newer than the stamp, as a run would be
    tmp_nb.replace(executed)
    return True


def reuse_validation(*, data: str, reuse_from: str | Path, validation: str | Path) -> bool:
    """Copy the validation step's files from another output folder that validated the same files.

    The other folder's data stamp must name the same data path and contents, and its validation
    log and validated tables must exist. True if copied.
    """
    src_root = _resolve(reuse_from)
    src = src_root / "validation"
    dst = Path(validation)
    try:
        theirs = json.loads((src_root / STAMP_DIR / "data.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    mine = {"data": str(_resolve(data).resolve()), "files": {f.name: sha256_file(f) for f in data_files(data)}}
    names = ("report-with-patient-ids.csv", "validated.pkl", "validated.yaml")
    if theirs != mine or not all((src / n).is_file() for n in names) or src.resolve() == dst.resolve():
        return False
    dst.mkdir(parents=True, exist_ok=True)
    for n in names[::-1]:  # the log (make's target) last
        tmp = dst / f".{n}.reuse-{os.getpid()}"
        shutil.copyfile(src / n, tmp)
        tmp.replace(dst / n)
    (dst / "errors-with-patient-ids.csv").unlink(missing_ok=True)
    return True


REUSED_LOG = "reused.txt"


def reuse_unchanged(*, data: str, out: str, reuse_from: str | Path, sections: Iterable[str] = SECTIONS,
                    stamp_dir: str | Path | None = None) -> list[str]:
    """Copy from ``reuse_from`` the validation and every section whose current digest (the stamps
    :func:`write_stamps` just wrote) is recorded there, before make looks at file times.

    Sections are copied in build order, after the validation, so each copy is newer than what its
    make rule depends on (the validation log, the stamps, the sections it reads). A section already
    made from its current inputs in ``out`` is left alone. Returns one line per copy (the runner's
    wording, which :mod:`analysis.sensitivity.reuse` counts), also written to
    ``OUT/.provenance/reused.txt`` (removed when nothing was copied).
    """
    out_p = _resolve(out)
    sdir = Path(stamp_dir) if stamp_dir is not None else out_p / STAMP_DIR
    lines: list[str] = []
    validation = out_p / "validation"
    data_json = sdir / "data.json"
    try:
        validated = (validation / "data.json").read_text(encoding="utf-8") == data_json.read_text(encoding="utf-8") \
            and (validation / "report-with-patient-ids.csv").is_file()
    except OSError:
        validated = False
    if not validated and reuse_validation(data=data, reuse_from=reuse_from, validation=validation):
        shutil.copyfile(data_json, validation / "data.json")
        lines.append(f"== validation: reused from {reuse_from} (same data files)")
    for section in sections:
        try:
            digest = json.loads((sdir / f"{section}.json").read_text(encoding="utf-8"))["digest"]
        except (OSError, ValueError, KeyError):
            continue
        executed = out_p / "executed" / f"{section}.ipynb"
        if (recorded(out_p / "results", section) or {}).get("digest") == digest and executed.is_file():
            continue
        if reuse_section(section, digest, reuse_from=reuse_from, out=out, executed=executed):
            lines.append(f"section {section}: reused from {reuse_from} (same digest {digest[:12]})")
    log = sdir / REUSED_LOG
    if lines:
        log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        log.unlink(missing_ok=True)
    return lines


# ------------------------------------------------------------------------------ CLI
def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m analysis.report.provenance", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    for name in ("stamps", "digest"):
        p = sub.add_parser(name)
        if name == "digest":
            p.add_argument("section", choices=SECTIONS)
        p.add_argument("--out", default=".")
        p.add_argument("--data", default="data/synthetic")
        p.add_argument("--params", default="params")
        p.add_argument("--scenarios", default=None)
        if name == "stamps":
            p.add_argument("--data-only", action="store_true", help="only the validation step's stamp")
            p.add_argument("--reuse-from", default=None,
                           help="another output folder: copy from it the validation and every section whose "
                                "digest recorded there is the current one (reuse_unchanged)")
    p = sub.add_parser("data-stamp")
    p.add_argument("--out", default=".")
    p.add_argument("--data", default="data/synthetic")
    p = sub.add_parser("reuse-validation")
    p.add_argument("--data", required=True)
    p.add_argument("--from", dest="reuse_from", required=True)
    p.add_argument("--validation", required=True)
    p = sub.add_parser("check")
    p.add_argument("results")
    args = ap.parse_args(argv)
    try:
        if args.command == "stamps":
            if not data_files(args.data):
                return 0  # no data there: the validation step says so, in its words
            data_stamp(data=args.data, out=args.out)
            if args.data_only:
                return 0
            why = write_stamps(data=args.data, out=args.out, params=args.params, scenarios=args.scenarios)
            if args.reuse_from:
                reuse_unchanged(data=args.data, out=args.out, reuse_from=args.reuse_from)
            if os.environ.get("PROVENANCE_VERBOSE"):
                for s, w in why.items():
                    print(f"{s}: {w}")
        elif args.command == "digest":
            entry = current_digests(data=args.data, out=args.out, params=args.params, scenarios=args.scenarios,
                                    sections=[args.section])[args.section]
            print(entry["digest"])
        elif args.command == "data-stamp":
            data_stamp(data=args.data, out=args.out)
        elif args.command == "reuse-validation":
            return 0 if reuse_validation(data=args.data, reuse_from=args.reuse_from, validation=args.validation) else 1
        elif args.command == "check":
            digests = check_results(args.results)
            print(f"{len(digests)} sections match their inputs")
    except ProvenanceError as exc:
        print(f"make: {exc}", file=sys.stderr)
        return 1
    except (OSError, yaml.YAMLError, ValueError) as exc:
        print(f"make: provenance step: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
