"""Run one section's notebook with papermill, for the Makefile: a failure is one line, not a traceback.

The executed notebook is written to a temporary file beside the target and moved into place
only when every cell ran (papermill writes its output notebook even when a cell fails, so
Make would otherwise take a failed run for a finished one). On a failure the runner

* prints one line naming the section and the cause, the exception type and message from the
  notebook's error output (``section 03-survival failed: ValueError: ...``),
* keeps the failed executed notebook for diagnosis as ``<section>.failed.ipynb`` beside the
  target (``executed/03-survival.failed.ipynb``), with the traceback in its error cell,
* leaves the previous executed notebook (and results) as they were, and exits 1.

Parameters are passed as papermill's command line does: ``-f`` YAML files in order, then
``-p KEY VALUE`` (typed as papermill types them), with the kernel (``-k``) and the working
directory (``--cwd``); ``--params-dir DIR`` starts from the section's merged parameters, the
project's defaults overlaid by the folder (:func:`analysis.report.params.merged_params`).

Command line::

    python -m analysis.report.runner 03-survival notebooks/03-survival.ipynb executed/03-survival.ipynb \\
        -k anlotinib-report --cwd . --params-dir params-mine -p data data/synthetic
"""
from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from analysis import fastyaml
from analysis.data.escape import visible

EXIT_FAILED = 1


def merged_parameters(files: list[str], params: list[tuple[str, str]]) -> dict:
    """Parameters as ``papermill -f FILE ... -p KEY VALUE ...`` merges them (later wins)."""
    from papermill.cli import _resolve_type
    from papermill.iorw import read_yaml_file

    out: dict = {}
    for f in files:
        out.update(read_yaml_file(f) or {})
    for key, value in params:
        out[key] = _resolve_type(value)
    return out


class ProvenanceMismatch(RuntimeError):
    """The parameters the runner received do not hash as the provenance stamp says."""


def _provenance_entry(section: str, stamp: Path | None, params: dict) -> dict | None:
    """The stamp's digest entry, checked against the parameters this run received (None: no stamp)."""
    if stamp is None:
        return None
    import json

    from analysis.report import provenance

    entry = json.loads(Path(stamp).read_text(encoding="utf-8"))
    mine = provenance.digest_of(provenance.hashed_parameters(params))
    if entry["components"]["parameters"] != mine:
        raise ProvenanceMismatch(
            f"the parameters make passed differ from those analysis.report.provenance hashed for {section} "
            f"(keep analysis.report.provenance.section_spec in line with the Makefile's notebook rule)")
    return entry


def cells_to_ids(executed: Path, sources: Path) -> None:
    """Name the cells in ``results/<section>/sources.yaml`` by id (the notebook recorded execution counts)."""
    import json

    import yaml

    if not sources.is_file():
        return
    nb = json.loads(Path(executed).read_text(encoding="utf-8"))
    by_count = {c.get("execution_count"): c.get("id") for c in nb.get("cells", [])
                if c.get("cell_type") == "code" and c.get("execution_count") is not None}
    data = fastyaml.load(sources.read_text(encoding="utf-8")) or {}
    for kind in ("numbers", "files"):
        data[kind] = {k: by_count.get(v, v) for k, v in (data.get(kind) or {}).items()}
    tmp = sources.with_name(sources.name + ".tmp")
    tmp.write_text(yaml.safe_dump(data, sort_keys=True, allow_unicode=True, width=1000), encoding="utf-8")
    tmp.replace(sources)


INJECTED_ID = "injected-parameters"


def stable_injected_id(executed: Path) -> None:
    """Give the cell papermill inserts for the parameters a fixed id (papermill draws a random one,
    so two runs of the same notebook would differ, and its page with them, in that id alone).

    The file is rewritten as nbformat writes it (sorted keys, indent 1, UTF-8, a final newline), so
    nothing else in it changes (tested); papermill has validated it.
    """
    import json

    text = Path(executed).read_text(encoding="utf-8")
    nb = json.loads(text)
    cells = nb.get("cells", [])
    injected = [c for c in cells if INJECTED_ID in (c.get("metadata", {}).get("tags") or [])]
    if injected and all(c.get("id") != INJECTED_ID for c in cells) and "id" in injected[0]:
        injected[0]["id"] = INJECTED_ID
        Path(executed).write_text(json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n",
                                  encoding="utf-8")


def without_run_metadata(executed: Path) -> dict:
    """An executed notebook without what differs between two runs of it: papermill's times and file
    names, and the kernel's message times (for comparing runs)."""
    import json

    nb = json.loads(Path(executed).read_text(encoding="utf-8"))
    nb.get("metadata", {}).pop("papermill", None)
    for cell in nb.get("cells", []):
        cell.get("metadata", {}).pop("papermill", None)
        cell.get("metadata", {}).pop("execution", None)
    return nb


def failure_line(section: str, exc: BaseException) -> str:
    """One line saying why ``section`` failed (the notebook's exception type and message)."""
    ename = getattr(exc, "ename", None) or type(exc).__name__
    evalue = getattr(exc, "evalue", None)
    if evalue is None:
        evalue = str(exc)
    first = " ".join(str(evalue).split())  # the message on one line
    return visible(f"section {section} failed: {ename}: {first}" if first else f"section {section} failed: {ename}")


def quiet_kernel_manager_class(template=None):
    """The kernel manager papermill starts each notebook's kernel with (#29: a quiet build).

    * **IPC transport** (Unix sockets in a private temporary folder) instead of TCP on localhost:
      ipykernel >= 7.3 warns at every start ``Kernel is running over TCP without encryption`` when
      its ZMQ sockets are bound over TCP without CurveZMQ keys; kernel and runner share the
      machine, so IPC is the native fix (and closes the loopback ports). The socket path is
      absolute (jupyter_client's default ``kernel-ipc`` is relative, resolved by kernel and client
      against their own working folders).
    * **No interrupt before the shutdown**: jupyter_client's ``shutdown_kernel`` first interrupts
      the kernel (SIGINT) and then asks it to shut down; a SIGINT that lands while the kernel
      handles a message makes ipykernel log ``ERROR | KeyboardInterrupt caught in kernel``. A
      finished notebook has nothing left to interrupt, so the shutdown request is sent alone (a
      kernel that does not exit is still killed by jupyter_client after its wait).
    * **A forked kernel** (#31) with ``template`` (a :class:`analysis.report.forkserver.KernelTemplate`,
      when the fork server started this runner): the kernel spec's ``ipykernel_launcher`` command is
      carried out by the template, a fork of this warm process, instead of a new interpreter.
    """
    import tempfile

    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class QuietKernelManager(AsyncKernelManager):
        @default("transport")
        def _default_transport(self):
            return "ipc"

        @default("ip")
        def _default_ip(self):
            if self.transport != "ipc":
                return super()._ip_default()
            folder = tempfile.mkdtemp(prefix="nbk-")
            self._ipc_folder = folder
            return os.path.join(folder, "kernel")

        async def _async_interrupt_kernel(self):
            if getattr(self, "shutting_down", False):
                return
            return await super()._async_interrupt_kernel()

        interrupt_kernel = _async_interrupt_kernel

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            from analysis.report import forkserver

            if template is None or forkserver.kernel_connection_file(kernel_cmd) is None:
                return await super()._async_launch_kernel(kernel_cmd, **kw)
            prov = self.provisioner
            cwd = str(kw.get("cwd") or os.getcwd())
            env = dict(kw.get("env") or os.environ)
            if not kw.get("independent"):  # as jupyter_client's launcher: the kernel ends with this process
                env["JPY_PARENT_PID"] = str(os.getpid())
            proc = template.launch(kernel_cmd, env, cwd)
            prov.process, prov.pid, prov.pgid, prov.cwd = proc, proc.pid, proc.pid, cwd
            self._reconcile_connection_info(prov.connection_info)

        _launch_kernel = _async_launch_kernel

        async def _async_cleanup_resources(self, restart: bool = False) -> None:
            await super()._async_cleanup_resources(restart=restart)
            folder = getattr(self, "_ipc_folder", None)
            if folder and not restart:
                import shutil

                shutil.rmtree(folder, ignore_errors=True)

    return QuietKernelManager


def run(section: str, notebook: Path, output: Path, *, parameters: dict, kernel: str | None = None,
        cwd: str | None = None, progress_bar: bool = True, log_output: bool = False,
        save_on_cell_execute: bool = True) -> Path:
    """Execute ``notebook`` into ``output`` (atomically); raises what papermill raises.

    On failure the partly executed notebook is moved to ``<output stem>.failed.ipynb``.
    """
    import papermill as pm

    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f"{output.stem}.tmp-{os.getpid()}.ipynb")
    failed = output.with_name(f"{output.stem}.failed.ipynb")
    failed.unlink(missing_ok=True)  # a failure of an earlier run is no longer news
    from analysis.report import forkserver

    template = forkserver.KernelTemplate.start() if forkserver.can_fork_kernel() else None
    try:
        pm.execute_notebook(str(notebook), str(tmp), parameters=parameters, kernel_name=kernel, cwd=cwd,
                            progress_bar=progress_bar, log_output=log_output,
                            request_save_on_cell_execute=save_on_cell_execute,
                            kernel_manager_class=quiet_kernel_manager_class(template))
        stable_injected_id(tmp)
    except BaseException:
        if tmp.exists():
            os.replace(tmp, failed)
        raise
    finally:
        if template is not None:
            template.discard()
    os.replace(tmp, output)
    return output


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m analysis.report.runner", description=__doc__.split("\n\n")[0])
    ap.add_argument("section", help="section name, e.g. 03-survival (for messages)")
    ap.add_argument("notebook", type=Path)
    ap.add_argument("output", type=Path)
    ap.add_argument("-k", "--kernel", default=None)
    ap.add_argument("--cwd", default=None)
    ap.add_argument("--params-dir", default=None,
                    help="params folder, an overlay on params/ (the section's merged parameters come first)")
    ap.add_argument("-f", "--parameters-file", action="append", default=[])
    ap.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"))
    ap.add_argument("--progress-bar", dest="progress_bar", action="store_true", default=True)
    ap.add_argument("--no-progress-bar", dest="progress_bar", action="store_false")
    ap.add_argument("--log-output", action="store_true")
    ap.add_argument("--no-request-save-on-cell-execute", dest="save_on_cell_execute", action="store_false",
                    help="write the executed notebook once, at the end (as papermill's flag)")
    ap.add_argument("--log", type=Path, default=None,
                    help="where to write the traceback of an unexpected error (default: <output>.log)")
    ap.add_argument("--provenance", type=Path, default=None,
                    help="the section's digest stamp (OUT/.provenance/<section>.json, written by "
                         "python -m analysis.report.provenance stamps): recorded in its manifest.yaml")
    ap.add_argument("--reuse-from", default=None,
                    help="another output folder: copy the section's results and executed notebook from it "
                         "instead of running when the digest recorded there is the current one")
    args = ap.parse_args(argv)
    try:
        params = merged_parameters(args.parameters_file, [tuple(p) for p in args.parameter])
        if args.params_dir is not None:
            from analysis.report.params import merged_params

            params = {**merged_params(args.section, args.params_dir, check=False), **params}
        entry = _provenance_entry(args.section, args.provenance, params)
        if entry is not None and args.reuse_from:
            from analysis.report import provenance

            if provenance.reuse_section(args.section, entry["digest"], reuse_from=args.reuse_from,
                                        out=params.get("out", "."), executed=args.output):
                print(f"section {args.section}: reused from {visible(str(args.reuse_from))} (same digest "
                      f"{entry['digest'][:12]})")
                return 0
        # (#29) progress bars only on a terminal: in a log, or in make's held-back output, they are noise
        run(args.section, args.notebook, args.output, parameters=params, kernel=args.kernel, cwd=args.cwd,
            progress_bar=args.progress_bar and sys.stderr.isatty(), log_output=args.log_output,
            save_on_cell_execute=args.save_on_cell_execute)
        from analysis.paths import resolve

        cells_to_ids(args.output, resolve(params.get("out", ".")) / "results" / args.section / "sources.yaml")
        if entry is not None:
            from analysis.report import provenance

            provenance.record_in_manifest(resolve(params.get("out", ".")) / "results", args.section, entry)
    except KeyboardInterrupt:
        print(f"section {args.section} interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001  one line for the user; the details are kept
        from papermill.exceptions import PapermillExecutionError

        failed = args.output.with_name(f"{args.output.stem}.failed.ipynb")
        if isinstance(exc, PapermillExecutionError):
            where = f" (the executed notebook with the traceback: {failed})"
        else:
            log = args.log or args.output.with_name(f"{args.output.stem}.log")
            try:
                log.write_text(traceback.format_exc(), encoding="utf-8")
                where = f" (details in {log})"
            except OSError:
                where = ""
        print(failure_line(args.section, exc) + where, file=sys.stderr)
        return EXIT_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())
