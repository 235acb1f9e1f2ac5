"""The fork server (analysis.report.forkserver, used by make sensitivity): a step or a notebook run as a fork
of the warm server gives what a fresh process gives, and a build never depends on the server being there."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analysis.paths import PROJ_ROOT
from analysis.report import forkserver
from analysis.report.runner import without_run_metadata as stripped

PY = sys.executable
KERNEL = "anlotinib-report"
PM = ["-k", KERNEL, "--cwd", str(PROJ_ROOT), "--no-progress-bar", "--no-request-save-on-cell-execute"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fork")
    sock = folder / "socket"
    proc = subprocess.Popen([PY, "-m", "analysis.report.forkserver", "serve", str(sock), "--notebooks",
                             str(PROJ_ROOT / "notebooks")], cwd=PROJ_ROOT)
    deadline = time.monotonic() + 120
    while not sock.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "the fork server did not start"
        time.sleep(0.1)
    yield sock
    proc.terminate()
    assert proc.wait(timeout=30) == 0
    assert not sock.exists(), "the server removes its socket when it stops"


def client(sock, module, *args, **kw):
    return subprocess.run([PY, "-m", "analysis.report.forkclient", str(sock), module, *args], cwd=PROJ_ROOT,
                          capture_output=True, text=True, **kw)


def notebook(path: Path, *sources: str) -> Path:
    cells = [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [],
              "source": src} for i, src in enumerate(sources)]
    cells[0]["metadata"]["tags"] = ["parameters"]
    nb = {"cells": cells, "metadata": {"kernelspec": {"name": KERNEL, "display_name": KERNEL, "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def test_the_server_imports_what_the_notebooks_import(tmp_path):
    nb = notebook(tmp_path / "a.ipynb", "x = 1", "import pandas as pd\nfrom analysis.stats import km\n%matplotlib inline",
                  "from analysis.report.results import open_section, git_commit")
    (tmp_path / "notes.md").write_text("import nothing")
    assert forkserver.notebook_imports(nb.parent) == [
        "pandas", "analysis.stats", "analysis.stats.km", "analysis.report.results",
        "analysis.report.results.open_section", "analysis.report.results.git_commit"]
    assert "analysis.report.plots" in forkserver.notebook_imports(PROJ_ROOT / "notebooks")
    assert "analysis.report.plots" in forkserver.NOT_WARM  # its import sets matplotlib's style


def test_only_this_interpreters_ipykernel_command_is_forked(tmp_path):
    exe = sys.executable
    conn = str(tmp_path / "k.json")
    assert forkserver.kernel_connection_file([exe, "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f",
                                              conn]) == conn
    other = str(PROJ_ROOT / "no-such-python")  # another interpreter's kernel starts as its spec says
    assert forkserver.kernel_connection_file([other, "-m", "ipykernel_launcher", "-f", "k"]) is None
    assert forkserver.kernel_connection_file([exe, "-m", "ipykernel_launcher", "-f", "k", "--debug"]) is None
    assert forkserver.kernel_connection_file([exe, "-m", "other", "-f", "k"]) is None


def test_a_step_through_the_server_exits_and_prints_as_a_fresh_process(server, tmp_path):
    fresh = subprocess.run([PY, "-m", "analysis.report.results", "x", "y", "--no-such-option"], cwd=PROJ_ROOT,
                           capture_output=True, text=True)
    forked = client(server, "analysis.report.results", "x", "y", "--no-such-option")
    assert fresh.returncode == forked.returncode == 2
    assert forked.stderr == fresh.stderr and "--no-such-option" in forked.stderr
    ok = client(server, "analysis.report.results", "--help")
    assert ok.returncode == 0 and "usage:" in ok.stdout


def test_without_a_server_the_client_runs_the_step_itself(tmp_path):
    for sock in (tmp_path / "none", ""):
        r = client(sock, "analysis.report.results", "x", "y", "--no-such-option")
        assert r.returncode == 2 and "--no-such-option" in r.stderr
    (tmp_path / "dead.starting").write_text("999999999")  # a server that died while importing
    t0 = time.monotonic()
    assert client(tmp_path / "dead", "analysis.report.results", "--help").returncode == 0
    assert time.monotonic() - t0 < 30


def test_a_module_the_server_does_not_serve_runs_in_the_clients_own_process(server):
    r = client(server, "analysis.report.forkserver", "--help")
    assert r.returncode == 0 and "serve" in r.stdout


PROBE = ("x = 1",
         "import os, sys\nprint('warm', 'lifelines' in sys.modules)\n"
         "open(os.environ['PROBE_PIDS'], 'w').write(f'{os.getpid()} {os.getppid()}')",
         "import matplotlib.pyplot as plt, pandas as pd\n"
         "print(plt.get_backend(), pd.get_option('display.max_columns'), os.environ.get('PROBE_ENV'), os.getcwd())\n"
         "print(pd.DataFrame({f'c{i}': range(3) for i in range(30)}))",
         "fig, ax = plt.subplots(figsize=(2, 1.5)); ax.plot([0, 1], [1, 0]); plt.show()")


def test_a_forked_kernel_computes_and_shows_what_a_fresh_kernel_does(server, tmp_path):
    nb = notebook(tmp_path / "probe.ipynb", *PROBE)
    env = {**os.environ, "PROBE_ENV": "from the client", "PROBE_PIDS": str(tmp_path / "pids")}
    runs = {}
    for how in ("fresh", "forked"):
        out = tmp_path / f"{how}.ipynb"
        args = ["probe", str(nb), str(out), *PM, "-p", "x", "2"]
        r = (subprocess.run([PY, "-m", "analysis.report.runner", *args], cwd=PROJ_ROOT, env=env, capture_output=True,
                            text=True) if how == "fresh" else client(server, "analysis.report.runner", *args, env=env))
        assert r.returncode == 0, r.stderr
        runs[how] = stripped(out)
        kernel, parent = map(int, (tmp_path / "pids").read_text().split())
        assert kernel != parent
    fresh, forked = runs["fresh"], runs["forked"]
    warm = [c for c in forked["cells"] if "print('warm'" in "".join(c["source"])][0]
    assert "".join(warm["outputs"][0]["text"]) == "warm True\n"  # it was forked from the warm server
    for c in fresh["cells"]:
        if "print('warm'" in "".join(c["source"]):
            assert "".join(c["outputs"][0]["text"]) == "warm False\n"
            c["outputs"] = warm["outputs"]
    shown = [c for c in forked["cells"] if "plt.show()" in "".join(c["source"])][0]
    assert "image/png" in shown["outputs"][0]["data"]  # the inline backend shows the figure
    probe = [c for c in forked["cells"] if "get_backend()" in "".join(c["source"])][0]
    text = "".join("".join(o.get("text", "")) for o in probe["outputs"])
    assert f"module://matplotlib_inline.backend_inline 20 from the client {PROJ_ROOT}" in text
    assert fresh == forked
    assert [c["id"] for c in forked["cells"]][1] == "injected-parameters"  # papermill's random id, made fixed


def test_a_real_section_through_the_server_writes_the_bytes_a_fresh_run_writes(server, tmp_path):
    out = tmp_path / "out"
    outputs = {}
    for how in ("fresh", "forked"):
        args = ["02-response", str(PROJ_ROOT / "notebooks/02-response.ipynb"), str(out / "executed/02-response.ipynb"),
                *PM, "--params-dir", "params", "-p", "data", "data/synthetic", "-p", "out", str(out)]
        r = (subprocess.run([PY, "-m", "analysis.report.runner", *args], cwd=PROJ_ROOT, capture_output=True, text=True)
             if how == "fresh" else client(server, "analysis.report.runner", *args))
        assert r.returncode == 0, r.stderr
        folder = out / "results" / "02-response"
        outputs[how] = ({p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
                         if p.is_file()}, stripped(out / "executed/02-response.ipynb"))
    assert any(name.endswith((".svg", ".png")) for name in outputs["fresh"][0])  # the waterfall figure
    assert outputs["fresh"] == outputs["forked"]


def test_a_signal_to_the_client_stops_the_step_and_its_kernel(server, tmp_path):
    nb = notebook(tmp_path / "slow.ipynb", "x = 1", "import os, time\nopen(os.environ['PROBE_PIDS'], 'w')"
                  ".write(str(os.getpid()))\ntime.sleep(120)")
    pids = tmp_path / "pids"
    proc = subprocess.Popen([PY, "-m", "analysis.report.forkclient", str(server), "analysis.report.runner", "slow",
                             str(nb), str(tmp_path / "slow-out.ipynb"), *PM], cwd=PROJ_ROOT,
                            env={**os.environ, "PROBE_PIDS": str(pids)}, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not pids.exists() or not pids.read_text():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.1)
    kernel = int(pids.read_text())
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == -signal.SIGTERM  # it dies of the signal, as the step did
    assert not (tmp_path / "slow-out.ipynb").exists()
    deadline = time.monotonic() + 30  # the kernel follows its runner (ipykernel's parent poller)
    while Path(f"/proc/{kernel}").exists() and "zombie" not in _state(kernel):
        assert time.monotonic() < deadline, "the kernel outlived its runner"
        time.sleep(0.2)


def _state(pid: int) -> str:
    try:
        return {"Z": "zombie"}.get(Path(f"/proc/{pid}/stat").read_text().split()[2], "alive")
    except OSError:
        return "gone"


def test_the_server_leaves_out_modules_whose_import_changes_global_state():
    code = ("import sys, matplotlib; {warm}print('analysis.report.plots' in sys.modules, "
            "dict(matplotlib.rcParams) == dict(matplotlib.rcParamsOrig) or matplotlib.rcParams['font.family'])")
    warmed = subprocess.run([PY, "-c", code.format(warm="from analysis.report import forkserver; "
                             f"forkserver._warm({str(PROJ_ROOT / 'notebooks')!r}); ")],
                            cwd=PROJ_ROOT, capture_output=True, text=True, check=True).stdout
    assert warmed == "False True\n"  # analysis.report.plots (the report's figure style) is the kernel's to import


def test_a_step_started_while_the_server_imports_waits_for_it(tmp_path):
    sock = tmp_path / "socket"
    proc = subprocess.Popen([PY, "-m", "analysis.report.forkserver", "serve", str(sock)], cwd=PROJ_ROOT,
                            stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not Path(f"{sock}.starting").exists():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        assert not sock.exists()  # still importing
        assert client(sock, "analysis.report.results", "--help").returncode == 0
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert "== fork server: 1 steps started as forks" in out  # served, not run in the client's process
