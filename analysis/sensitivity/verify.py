"""Re-execution check: a fresh build's numbers against the committed record, and a certificate of what was checked.

``expected/numbers.yaml`` is the one build product committed on purpose (like a lock file): every
raw number of the default report's ``results/*/numbers.yaml`` under its dotted key, without the
run-specific values (:data:`analysis.sensitivity.compare.RUN_SPECIFIC`) and without the keys that
hold only a printed text, and under ``_made_with`` what the record was made with: the commit, the
SHA-256 of each data and params file, Python, the key packages and the platform (no time stamp, so
recording twice from the same tree and environment gives the same file). ``make verify`` builds the
sections afresh and runs ``check``, which prints and writes a **verification certificate**
(``build/verify/verification.md`` and ``.html``): the commit and whether the work tree is dirty, the
checksums of the inputs, the parameters that differ from the committed ones, the environment
against ``requirements.lock`` and against the record's, the time taken and the result per section
("01-cohort: 62 of 62 numbers identical"). When results are meant to change, ``make verify-record``
rewrites the record (``record``); the certificate suggests it only to someone who changed the
analysis (parameters, code, notebooks or data differ from the commit), never to a reviewer::

    python -m analysis.sensitivity.verify check RESULTS [--expected expected/numbers.yaml] [--out DIR]
    python -m analysis.sensitivity.verify record RESULTS [--expected expected/numbers.yaml]

Values are compared as :func:`analysis.sensitivity.compare.same_value` does (numbers within a
relative 1e-9, so a last-bit difference of floating-point arithmetic between CPUs is not a change).
"""
from __future__ import annotations

import hashlib
import html
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

from analysis import fastyaml
from analysis.paths import PROJ_ROOT
from analysis.sensitivity.compare import read_results, same_value

__all__ = ["EXPECTED_FILE", "KEY_PACKAGES", "record", "load_record", "differences", "report", "made_with",
           "environment", "lock_versions", "params_changes", "section_results", "certificate",
           "certificate_html", "main"]

EXPECTED_FILE = PROJ_ROOT / "expected" / "numbers.yaml"
LOCK_FILE = PROJ_ROOT / "requirements.lock"
#: The packages whose versions the certificate shows (distribution names as in requirements.lock).
KEY_PACKAGES = ("numpy", "scipy", "pandas", "lifelines", "statsmodels", "matplotlib", "PyYAML", "papermill",
                "nbclient", "ipykernel", "jupyter_client", "jupytext", "nbconvert", "pypandoc_binary", "typst")
#: Folders whose uncommitted changes mean the analysis was changed on purpose (not a reviewer's run).
ANALYSIS_PATHS = ("analysis", "notebooks", "params", "data", "requirements.lock")
MADE_WITH = "_made_with"


# ------------------------------------------------------------------------------ the record
def record(results: str | Path) -> dict:
    """The numbers of a results folder (or output root) as recorded: ``{key: value}``, sorted."""
    return {k: v for k, (v, _) in sorted(read_results(results).items()) if v is not None}


def load_record(path: str | Path) -> tuple[dict, dict]:
    """``(numbers, made_with)`` of a record file (``made_with`` empty for a record without it)."""
    data = fastyaml.load(Path(path).read_text(encoding="utf-8")) or {}
    made = data.pop(MADE_WITH, None) or {}
    return data, made


def _numbers_only(d: dict) -> dict:
    return {k: v for k, v in d.items() if not str(k).startswith("_")}


def differences(expected: dict, fresh: dict) -> pd.DataFrame:
    """Keys whose value differs, or that one side lacks: key, expected, fresh (None when absent).

    >>> differences({"a": 1.0, "b": 2.0}, {"a": 1.0, "b": 2.5, "c": 3}).key.tolist()
    ['b', 'c']
    """
    expected, fresh = _numbers_only(expected), _numbers_only(fresh)
    rows = [{"key": k, "expected": expected.get(k), "fresh": fresh.get(k)}
            for k in sorted(set(expected) | set(fresh))
            if k not in expected or k not in fresh or not same_value(expected[k], fresh[k])]
    return pd.DataFrame(rows, columns=["key", "expected", "fresh"], dtype=object)


def report(expected: dict, fresh: dict) -> tuple[bool, str]:
    """(identical, message): "all N numbers identical" or the table of differences."""
    expected = _numbers_only(expected)
    diff = differences(expected, fresh)
    if diff.empty:
        return True, f"all {len(expected)} numbers identical"
    table = diff.where(diff.notna(), "(absent)").to_string(index=False)
    return False, f"{len(diff)} of {len(set(expected) | set(_numbers_only(fresh)))} numbers differ from the record:\n{table}"


# ------------------------------------------------------------------------------ what made it
def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _git(*args: str) -> str | None:
    try:
        proc = subprocess.run(["git", *args], cwd=PROJ_ROOT, capture_output=True, text=True)
    except OSError:
        return None
    return proc.stdout if proc.returncode == 0 else None


def tree_state() -> tuple[str, list[str]]:
    """``(commit, files modified against it)`` of the project (``unknown`` outside git)."""
    sha = (_git("rev-parse", "HEAD") or "").strip() or "unknown"
    status = _git("status", "--porcelain", "--untracked-files=no") or ""
    return sha, sorted(line[3:].strip() for line in status.splitlines() if line.strip())


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_versions(lock_file: str | Path = LOCK_FILE) -> dict[str, str]:
    """``{normalised name: version}`` pinned in ``requirements.lock``.

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "r.lock"; _ = f.write_text("numpy==2.4.6\\nPyYAML==6.0.4\\n")
    >>> lock_versions(f)
    {'numpy': '2.4.6', 'pyyaml': '6.0.4'}
    """
    out = {}
    for line in Path(lock_file).read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s;#]+)", line)
        if m:
            out[_norm(m.group(1))] = m.group(2)
    return out


def environment() -> dict:
    """Python, the key packages' versions, the platform and numpy's SIMD levels on this machine."""
    from importlib import metadata

    pkgs = {}
    for name in KEY_PACKAGES:
        try:
            pkgs[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pkgs[name] = None
    env = {"python": platform.python_version(), "packages": pkgs,
           "platform": f"{platform.system()} {platform.machine()}"}
    try:
        from numpy._core import _multiarray_umath as um

        have = [f for f in um.__cpu_dispatch__ if um.__cpu_features__.get(f)]
        env["numpy_simd"] = " ".join(list(um.__cpu_baseline__)[-1:] + have)
    except (ImportError, AttributeError):
        pass
    return env


def _input_files(data_dir: Path, params_dir: Path) -> dict[str, str]:
    files = sorted(f for f in Path(data_dir).glob("*.*") if f.is_file()) + sorted(Path(params_dir).glob("*.yaml"))
    out = {}
    for f in files:
        try:
            name = str(f.resolve().relative_to(PROJ_ROOT))
        except ValueError:
            name = str(f)
        out[name] = _sha256(f)
    return out


def made_with(*, data_dir: str | Path = PROJ_ROOT / "data" / "synthetic",
              params_dir: str | Path = PROJ_ROOT / "params") -> dict:
    """What a build is made with: commit (``-dirty`` when modified), input checksums, environment."""
    sha, modified = tree_state()
    return {"commit": sha + ("-dirty" if modified else ""), "inputs": _input_files(Path(data_dir), Path(params_dir)),
            "environment": environment()}


def committed_params(params_dir: str | Path = PROJ_ROOT / "params") -> dict[str, str | None]:
    """``{file name: text at HEAD}`` for each params file now in ``params_dir`` (None: not committed)."""
    pdir = Path(params_dir).resolve()
    out = {}
    for f in sorted(pdir.glob("*.yaml")):
        try:
            rel = f.relative_to(PROJ_ROOT)
        except ValueError:
            out[f.name] = None
            continue
        out[f.name] = _git("show", f"HEAD:{rel}")
    return out


def _flat(d, prefix=""):
    out = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: d}


def params_changes(params_dir: str | Path, committed: dict[str, str | None], label: str = "params") -> list[str]:
    """Each parameter whose value differs from the committed file's: ``params/03-survival.yaml: conf_level 0.95 → 0.9``."""
    lines = []
    for f in sorted(Path(params_dir).glob("*.yaml")):
        old_text = committed.get(f.name)
        name = f"{label}/{f.name}"
        if old_text is None:
            lines.append(f"{name}: not in the commit")
            continue
        old = _flat(fastyaml.load(old_text) or {})
        new = _flat(fastyaml.load(f.read_text(encoding="utf-8")) or {})
        for k in sorted(set(old) | set(new)):
            if old.get(k, "(absent)") != new.get(k, "(absent)"):
                lines.append(f"{name}: {k} {old.get(k, '(absent)')} → {new.get(k, '(absent)')}")
    return lines


# ------------------------------------------------------------------------------ the certificate
def sections_of(results: str | Path) -> dict[str, str]:
    """``{top-level key: section}`` of a results folder (``cohort`` → ``01-cohort``)."""
    from analysis.sensitivity.compare import results_folder

    out = {}
    for f in sorted(results_folder(results).glob("*/numbers.yaml")):
        for k in (fastyaml.load(f.read_text(encoding="utf-8")) or {}):
            out[str(k)] = f.parent.name
    return out


def section_results(expected: dict, fresh: dict, sections: dict[str, str]) -> list[tuple[str, int, int]]:
    """``[(section, identical, total)]``: per section, how many of its numbers are identical.

    >>> section_results({"a.x": 1, "a.y": 2, "b.z": 3}, {"a.x": 1, "a.y": 5, "b.z": 3}, {"a": "01-a", "b": "02-b"})
    [('01-a', 1, 2), ('02-b', 1, 1)]
    """
    expected, fresh = _numbers_only(expected), _numbers_only(fresh)
    per: dict[str, list[int]] = {}
    for k in sorted(set(expected) | set(fresh)):
        s = sections.get(k.split(".")[0], "(no section)")
        cell = per.setdefault(s, [0, 0])
        cell[1] += 1
        if k in expected and k in fresh and same_value(expected[k], fresh[k]):
            cell[0] += 1
    return [(s, a, b) for s, (a, b) in sorted(per.items())]


def _env_lines(env: dict, lock: dict[str, str], recorded: dict) -> tuple[list[str], list[str]]:
    """(table rows of the environment, differences from the record's)."""
    rows, differ = [], []
    renv = recorded.get("environment") or {}
    rrow = lambda name, now, rec: rec is not None and now != rec and differ.append(f"{name} {now} (record: {rec})")  # noqa: E731
    rows.append(f"| Python | {env.get('python')} | | {renv.get('python', '')} |")
    rrow("Python", env.get("python"), renv.get("python"))
    for name, version in (env.get("packages") or {}).items():
        locked = lock.get(_norm(name))
        rec = (renv.get("packages") or {}).get(name)
        mark = "" if locked in (None, version) else " ≠ lock"
        rows.append(f"| {name} | {version}{mark} | {locked or ''} | {rec or ''} |")
        rrow(name, version, rec)
    rows.append(f"| platform | {env.get('platform')} | | {renv.get('platform', '')} |")
    rrow("platform", env.get("platform"), renv.get("platform"))
    if env.get("numpy_simd"):
        rows.append(f"| numpy SIMD | {env.get('numpy_simd')} | | {renv.get('numpy_simd', '')} |")
    return rows, differ


def certificate(*, expected: dict, fresh: dict, sections: dict[str, str], recorded: dict, now: dict,
                lock: dict[str, str], params_changed: list[str], modified: list[str], seconds: float | None,
                commit: str, expected_file: str = "expected/numbers.yaml") -> tuple[bool, str]:
    """``(identical, Markdown text)`` of the verification certificate (pure: every input given)."""
    expected = _numbers_only(expected)
    ok, summary = report(expected, fresh)
    on_purpose = [f for f in modified if f.split("/")[0] in ANALYSIS_PATHS or f in ANALYSIS_PATHS]
    lines = ["# Verification certificate", "",
             f"**Result: {summary.splitlines()[0]}** (fresh build against `{expected_file}`).", ""]
    dirty = f"dirty: {len(modified)} modified file(s): {', '.join(modified[:8])}" + (" ..." if len(modified) > 8 else "") \
        if modified else "clean"
    lines += [f"- Commit: `{commit}` (work tree {dirty})",
              f"- Record made with commit: `{recorded.get('commit', 'unknown (an older record)')}`",
              f"- Platform: {now['environment'].get('platform')}, Python {now['environment'].get('python')}"]
    if seconds is not None:
        lines.append(f"- Time taken: {seconds:.1f} s")
    lines += ["", "## Result per section", ""]
    for s, same, total in section_results(expected, fresh, sections):
        lines.append(f"- {s}: {same} of {total} numbers identical")
    if not ok:
        diff = differences(expected, fresh)
        lines += ["", "## Numbers that differ", "", "| key | expected | fresh |", "|---|---|---|"]
        for row in diff.itertuples(index=False):
            show = lambda v: "(absent)" if v is None or (isinstance(v, float) and v != v) else str(v)  # noqa: E731
            lines.append(f"| `{row.key}` | {show(row.expected)} | {show(row.fresh)} |")
    lines += ["", "## Inputs (SHA-256)", "", "| file | SHA-256 | as in the record |", "|---|---|---|"]
    rin = recorded.get("inputs") or {}
    input_differs = []
    for name, sha in now["inputs"].items():
        same = "" if not rin else ("yes" if rin.get(name) == sha else "**no**")
        if rin and rin.get(name) != sha:
            input_differs.append(name)
        lines.append(f"| `{name}` | `{sha}` | {same} |")
    lines += ["", "## Parameters that differ from the committed ones", ""]
    lines += [f"- {c}" for c in params_changed] or ["- none: the committed parameters"]
    env_rows, env_differs = _env_lines(now["environment"], lock, recorded)
    lines += ["", "## Environment", "", "| | here | requirements.lock | record |", "|---|---|---|---|", *env_rows]
    lines += ["", "## Against the record", ""]
    if not recorded:
        lines.append("- The record does not say what it was made with (recorded before certificates).")
    else:
        lines.append("- Inputs: " + ("the same files" if not input_differs else "differ: " + ", ".join(input_differs)))
        lines.append("- Environment: " + ("the same versions and platform" if not env_differs
                                          else "differs: " + "; ".join(env_differs)))
    lines += ["", "## What this means", ""]
    if ok:
        lines.append("- Every number of the fresh build equals the record.")
    elif on_purpose or params_changed:
        what = ", ".join(dict.fromkeys([c.split(":")[0] for c in params_changed] + on_purpose))
        lines.append(f"- The analysis differs from the commit ({what}). If the new numbers are intended, "
                     "re-record them with `make verify-record` and commit `expected/numbers.yaml` with the change.")
    else:
        cause = ("the environment differs from the record's (above)" if env_differs else
                 "the inputs differ from the record's" if input_differs else
                 "the analysis and its inputs are the committed ones")
        lines.append(f"- The numbers differ from the record although {cause}. Please send this certificate to "
                     "the authors.")
    return ok, "\n".join(lines) + "\n"


def certificate_html(markdown: str) -> str:
    """The certificate as a self-contained HTML page (pandoc when available, else preformatted text)."""
    try:
        import pypandoc

        return pypandoc.convert_text(markdown, "html", format="markdown",
                                     extra_args=["--standalone", "--metadata", "title=Verification certificate",
                                                 "--metadata", "pagetitle=Verification certificate"])
    except Exception:  # noqa: BLE001  (no pandoc: the text as it is)
        return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Verification certificate</title></head>"
                f"<body><pre>{html.escape(markdown)}</pre></body></html>\n")


# ------------------------------------------------------------------------------ CLI
def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m analysis.sensitivity.verify",
                                 description="Check a build's numbers against the committed record, or rewrite it")
    ap.add_argument("command", choices=("check", "record"))
    ap.add_argument("results", help="results folder or output root of the build")
    ap.add_argument("--expected", default=str(EXPECTED_FILE), help="the record (default: expected/numbers.yaml)")
    ap.add_argument("--data", default=str(PROJ_ROOT / "data" / "synthetic"), help="the data the build read")
    ap.add_argument("--params", default=str(PROJ_ROOT / "params"), help="the params folder the build read")
    ap.add_argument("--out", default=None, help="where to write verification.md and .html (default: the "
                                                "output root holding the results folder)")
    ap.add_argument("--started", type=float, default=None, help="when the build started (seconds since the epoch)")
    args = ap.parse_args(argv)
    try:
        fresh = record(args.results)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    path = Path(args.expected)
    now = made_with(data_dir=args.data, params_dir=args.params)
    if args.command == "record":
        path.parent.mkdir(parents=True, exist_ok=True)
        head = ("# The default report's numbers (results/*/numbers.yaml), the reference of `make verify`, and\n"
                "# (_made_with) the commit, input checksums and environment they were made with.\n"
                "# Generated by `make verify-record`; do not edit by hand.\n")
        body = yaml.safe_dump(fresh, sort_keys=True, allow_unicode=True, width=1000)
        made = yaml.safe_dump({MADE_WITH: now}, sort_keys=True, allow_unicode=True, width=1000)
        path.write_text(head + made + body, encoding="utf-8")
        print(f"recorded {len(fresh)} numbers in {path}")
        return 0
    if not path.exists():
        print(f"error: {path}: no record of the expected numbers (make verify-record writes it)", file=sys.stderr)
        return 2
    expected, recorded = load_record(path)
    commit, modified = tree_state()
    pdir = Path(args.params)
    try:
        label = str(pdir.resolve().relative_to(PROJ_ROOT))
    except ValueError:
        label = str(pdir)
    ok, text = certificate(expected=expected, fresh=fresh, sections=sections_of(args.results), recorded=recorded,
                           now=now, lock=lock_versions(), params_changed=params_changes(pdir, committed_params(pdir), label),
                           modified=modified, seconds=None if args.started is None else time.time() - args.started,
                           commit=commit, expected_file=str(path.relative_to(PROJ_ROOT)) if path.is_absolute()
                           and PROJ_ROOT in path.parents else str(path))
    from analysis.sensitivity.compare import results_folder

    out = Path(args.out) if args.out else results_folder(args.results).resolve().parent
    out.mkdir(parents=True, exist_ok=True)
    (out / "verification.md").write_text(text, encoding="utf-8")
    (out / "verification.html").write_text(certificate_html(text), encoding="utf-8")
    print(text, end="")
    print(f"(written to {out / 'verification.md'} and verification.html)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
