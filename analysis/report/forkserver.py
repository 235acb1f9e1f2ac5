"""A warm process that starts the build's Python steps by forking, for ``make sensitivity`` (#31).

Each step of a build is a fresh ``python -m analysis.report.…`` process, and each notebook also
starts a fresh kernel. Before any work, such a process pays for the interpreter, papermill,
IPython and ipykernel, pandas, matplotlib and lifelines: about 2 s of CPU per notebook, which is
most of what a scenario of ``make sensitivity`` costs when it re-runs only three sections.

``serve`` imports those once, then waits on a Unix socket. :mod:`analysis.report.forkclient` (what
make runs in place of ``python -m MODULE``) sends it the module, the arguments, the working folder,
the environment and its own stdin, stdout and stderr; the server forks, and the child sets up
that folder, environment and those descriptors and calls ``MODULE.main(argv)``. The client
forwards signals to the child and exits with its status, so make sees an ordinary process.

A notebook run this way (:mod:`analysis.report.runner`) gets its kernel the same way:
:class:`KernelTemplate` forks the runner before papermill starts (no event loop, no thread), and
when papermill launches the kernel the template becomes it: ``ipykernel_launcher -f
CONNECTION_FILE`` with the environment and folder papermill gives, as the kernel spec would, in a
session of its own. The kernel and the step compute what a cold process computes: the executed
notebooks and results are the same bytes (``tests/report/test_forkserver.py``). Modules imported
by the server are only imported; no step's code runs in it, and each child starts from the
server's state, not from another child's.

Only the modules in :data:`MODULES` are served (each has ``main(argv) -> int``). The client runs
the module in its own process when no server answers, so a build never depends on this.

    python -m analysis.report.forkserver serve SOCKET [--parent PID]
"""
from __future__ import annotations

import argparse
import atexit
import io
import json
import os
import selectors
import signal
import socket
import struct
import sys
from pathlib import Path

# the steps make starts through the server: each has main(argv) -> int
MODULES = (
    "analysis.report.runner",
    "analysis.report.render",
    "analysis.report.notebook_pages",
    "analysis.report.results",
)
# imported once by the server, with every module the notebooks import (notebook_imports): the
# libraries under the steps and the kernel's own modules
WARM = (*MODULES, "papermill", "nbclient", "jupyter_client.manager", "ipykernel.kernelapp", "ipykernel.ipkernel",
        "nbconvert", "numpy", "pandas", "matplotlib.pyplot", "lifelines")
# never imported by the server: importing it changes global state (analysis.report.plots sets
# matplotlib's style), which a kernel must get from its own import, as a fresh process would
NOT_WARM = ("analysis.report.plots",)
MAX_REQUEST = 4 * 1024 * 1024
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
_in_child = False


def in_child() -> bool:
    """True in a step the server forked (its kernels are then forked too: :class:`KernelTemplate`)."""
    return _in_child


def can_fork_kernel() -> bool:
    """Whether a notebook's kernel is forked from this process: in a step the server started,
    with no other thread running (a fork copies only the calling thread)."""
    import threading

    return _in_child and threading.active_count() == 1


def _send(sock: socket.socket, obj) -> None:
    data = json.dumps(obj).encode()
    sock.sendall(struct.pack("!I", len(data)) + data)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def recv_message(sock: socket.socket):
    (n,) = struct.unpack("!I", _recv_exact(sock, 4))
    if n > MAX_REQUEST:
        raise ValueError("request too large")
    return json.loads(_recv_exact(sock, n))


def _recv_request(conn: socket.socket) -> tuple[dict, list[int]]:
    """The request and the three descriptors sent with its first bytes (SCM_RIGHTS)."""
    fds = []
    msg, anc, _flags, _addr = conn.recvmsg(4, socket.CMSG_LEN(3 * 4))
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds += list(struct.unpack(f"{len(data) // 4}i", data[: len(data) - len(data) % 4]))
    if len(msg) < 4:
        msg += _recv_exact(conn, 4 - len(msg))
    (n,) = struct.unpack("!I", msg)
    if n > MAX_REQUEST or len(fds) != 3:
        for fd in fds:
            os.close(fd)
        raise ValueError("bad request")
    return json.loads(_recv_exact(conn, n)), fds


def _as_process(env: dict, cwd: str) -> None:
    """Make this forked process look like a fresh one started in ``cwd`` with ``env``."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    if sys.path:
        sys.path[0] = cwd  # python -m puts the working folder first
    for sig in (signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(line_buffering=stream is sys.stderr or os.isatty(stream.fileno()))
        except (AttributeError, io.UnsupportedOperation, OSError):
            pass


def _child(request: dict, fds: list[int], close: list) -> None:
    """In the forked child: become the step and exit with its status (never returns)."""
    global _in_child
    rc = 1
    try:
        for obj in close:
            os.close(obj) if isinstance(obj, int) else obj.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.setsid()  # its own session: a signal for the server's group is not for it
        atexit._clear()  # the server's exit functions are the server's (e.g. a temporary folder of its own)
        _as_process(request["env"], request["cwd"])
        _in_child = True
        import importlib

        mod = importlib.import_module(request["module"])
        sys.argv = [mod.__file__ or request["module"], *request["argv"]]
        try:
            rc = mod.main(list(request["argv"]))
        except SystemExit as exc:
            rc = exc.code
        if not isinstance(rc, int):  # as sys.exit: None is 0, a message is printed and 1
            if rc is not None:
                print(rc, file=sys.stderr)
            rc = 0 if rc is None else 1
    except KeyboardInterrupt:
        rc = 130
    except BaseException:  # noqa: BLE001  as a cold process would: the traceback on its stderr
        import traceback

        traceback.print_exc()
        rc = 1
    finally:
        try:
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(rc & 0xFF)


def notebook_imports(folder: Path | str) -> list[str]:
    """The modules the code cells of the notebooks in ``folder`` import (``import X``, ``from X
    import Y``: X, and X.Y where it is a module), in order of first appearance."""
    import ast

    names: list[str] = []
    for nb in sorted(Path(folder).glob("*.ipynb")):
        for cell in json.loads(nb.read_text(encoding="utf-8")).get("cells", []):
            if cell.get("cell_type") != "code":
                continue
            source = "".join(cell.get("source", []))
            try:
                tree = ast.parse("\n".join(line for line in source.splitlines()
                                           if not line.lstrip().startswith(("%", "!"))))
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names += [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names += [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
    return list(dict.fromkeys(names))


def _warm(notebooks: Path | str | None) -> None:
    # ipykernel sets this before a notebook imports matplotlib, which reads it at import
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
    import importlib
    import importlib.util

    extra = notebook_imports(notebooks) if notebooks else []
    for name in (*WARM, *extra):
        if name in NOT_WARM or name.startswith(tuple(f"{m}." for m in NOT_WARM)):
            continue
        try:
            if name in extra and importlib.util.find_spec(name) is None:
                continue
        except (ImportError, ValueError):  # X.Y where Y is a name, not a module
            continue
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001  a module that fails to import is imported by its step
            pass


def serve(path: str, parent: int | None = None, notebooks: Path | str | None = None) -> int:
    """Accept requests on the Unix socket ``path`` until SIGTERM or the ``parent`` process ends,
    after importing :data:`WARM` and what the notebooks in ``notebooks`` import."""
    import threading

    sock_path = Path(path)
    starting = sock_path.with_name(sock_path.name + ".starting")  # clients wait while it exists
    starting.write_text(str(os.getpid()), encoding="utf-8")
    try:
        base_env_backend = os.environ.get("MPLBACKEND")
        _warm(notebooks)
        if base_env_backend is None:
            os.environ.pop("MPLBACKEND", None)
        if threading.active_count() > 1:  # a fork copies only the calling thread: serve nothing
            print("forkserver: a thread is running after the imports; the steps run as their own processes",
                  file=sys.stderr)
            return 0
        return _serve(sock_path, parent)
    finally:
        starting.unlink(missing_ok=True)


def _serve(sock_path: Path, parent: int | None) -> int:
    sock_path.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    tmp = sock_path.with_name(sock_path.name + f".{os.getpid()}")
    listener.bind(str(tmp))
    listener.listen(64)
    os.replace(tmp, sock_path)  # clients see the socket only when it accepts
    sock_path.with_name(sock_path.name + ".starting").unlink(missing_ok=True)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ, ("listen", None))
    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):  # Ctrl-C reaches make's whole group: stop, quietly
        signal.signal(sig, lambda *_: stop.append(1))
    if parent:
        try:
            sel.register(os.pidfd_open(parent), selectors.EVENT_READ, ("parent", None))
        except (OSError, AttributeError):
            pass
    children: dict[int, tuple[socket.socket, int]] = {}  # pid -> (connection, pidfd)
    served = 0
    try:
        while not stop:
            for key, _ in sel.select(timeout=1.0):
                kind, data = key.data
                if kind == "parent":
                    stop.append(1)
                elif kind == "listen":
                    conn, _ = listener.accept()
                    try:
                        request, fds = _recv_request(conn)
                    except (ValueError, EOFError, OSError, json.JSONDecodeError):
                        conn.close()
                        continue
                    if request.get("module") not in MODULES:  # the client runs it in its own process
                        for fd in fds:
                            os.close(fd)
                        _send(conn, {"refused": "not served"})
                        conn.close()
                        continue
                    sys.stdout.flush()
                    sys.stderr.flush()
                    pid = os.fork()
                    if pid == 0:
                        _child(request, fds, [sel, listener, conn, *(x for pair in children.values() for x in pair)])
                    for fd in fds:
                        os.close(fd)
                    served += 1
                    pidfd = os.pidfd_open(pid)
                    children[pid] = (conn, pidfd)
                    _send(conn, {"pid": pid})
                    sel.register(pidfd, selectors.EVENT_READ, ("child", pid))
                    sel.register(conn, selectors.EVENT_READ, ("conn", pid))
                elif kind == "child":
                    conn, pidfd = children.pop(data)
                    _, status = os.waitpid(data, 0)
                    sel.unregister(pidfd)
                    sel.unregister(conn)
                    os.close(pidfd)
                    try:
                        _send(conn, {"status": os.waitstatus_to_exitcode(status)})
                    except OSError:
                        pass
                    conn.close()
                elif kind == "conn" and data in children:
                    # the client went away (killed): so does its step
                    try:
                        if not key.fileobj.recv(1):
                            os.killpg(data, signal.SIGTERM)
                    except OSError:
                        pass
    finally:
        for pid in children:
            try:
                os.killpg(pid, signal.SIGTERM)
            except OSError:
                pass
        listener.close()
        try:
            if sock_path.exists() and sock_path.is_socket():
                sock_path.unlink()
        except OSError:
            pass
        if served:
            print(f"== fork server: {served} steps started as forks of one process that imported their modules once")
    return 0


def _as_kernel_imports() -> None:
    """Set what libraries decide at import from where they run, as a kernel's own import would.

    The server imported them outside any kernel: matplotlib took its backend from ``MPLBACKEND``
    (which ipykernel sets to the inline backend before a notebook runs), and pandas chose
    ``display.max_columns`` 0 for a terminal where a kernel gets 20 (``pandas.core.config_init``).
    ``tests/report/test_forkserver.py`` compares forked and fresh kernels' outputs.
    """
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
    if "matplotlib" in sys.modules:
        sys.modules["matplotlib"].rcParams["backend"] = os.environ["MPLBACKEND"]
    if "pandas" in sys.modules:
        from pandas._config import config as pd_config

        key = "display.max_columns"
        option = pd_config._registered_options.get(key)
        if option is not None and option.defval == 0:
            pd_config._registered_options[key] = option._replace(defval=20)
            pd_config.set_option(key, 20)


class ForkedProcess:
    """What jupyter_client's local provisioner needs of a ``Popen``, for a forked child."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode = None

    def poll(self):
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = 0
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout=None):
        if self.returncode is None:
            try:
                _, status = os.waitpid(self.pid, 0)
                self.returncode = os.waitstatus_to_exitcode(status)
            except ChildProcessError:
                self.returncode = 0
        return self.returncode

    def send_signal(self, sig):
        if self.returncode is None:
            os.kill(self.pid, sig)

    def terminate(self):
        self.send_signal(signal.SIGTERM)

    def kill(self):
        self.send_signal(signal.SIGKILL)


def kernel_connection_file(cmd: list[str]) -> str | None:
    """The connection file of an ipykernel command for this interpreter, else None."""
    if not cmd or os.path.realpath(cmd[0]) != os.path.realpath(sys.executable):
        return None
    rest = [c for c in cmd[1:] if not c.startswith("-X")]
    if rest[:2] == ["-m", "ipykernel_launcher"] and len(rest) == 4 and rest[2] == "-f":
        return rest[3]
    return None


class KernelTemplate:
    """A fork of this (warm) process, made before papermill starts, that becomes the kernel.

    :meth:`start` forks; the child waits on a pipe. :meth:`launch` sends it the kernel's command,
    environment and folder and returns a :class:`ForkedProcess`; the child then runs
    ``ipykernel_launcher`` as the kernel spec's command would. A template not launched exits
    when this process closes the pipe.
    """

    def __init__(self, pid: int, fd: int):
        self.pid, self.fd = pid, fd

    @classmethod
    def start(cls) -> "KernelTemplate":
        sys.stdout.flush()
        sys.stderr.flush()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(w)
            cls._wait_and_become_kernel(r)
        os.close(r)
        return cls(pid, w)

    def launch(self, cmd: list[str], env: dict, cwd: str) -> ForkedProcess:
        data = json.dumps({"cmd": cmd, "env": env, "cwd": cwd}).encode()
        os.write(self.fd, struct.pack("!I", len(data)) + data)
        os.close(self.fd)
        self.fd = None
        return ForkedProcess(self.pid)

    def discard(self) -> None:
        """Close the pipe (the template exits) and reap it."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass

    @staticmethod
    def _wait_and_become_kernel(fd: int) -> None:
        rc = 0
        try:
            with os.fdopen(fd, "rb") as pipe:
                head = pipe.read(4)
                if len(head) < 4:
                    os._exit(0)
                (n,) = struct.unpack("!I", head)
                request = json.loads(pipe.read(n))
            os.setsid()  # as jupyter_client starts a kernel: a session of its own
            atexit._clear()  # the runner's exit functions are the runner's
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.close(null)
            env = dict(request["env"])
            _as_process(env, request["cwd"])
            _as_kernel_imports()
            # what ipykernel reads from the environment when it is imported (the server's, here)
            argv = ["-f", kernel_connection_file(request["cmd"]),
                    f"--IPKernelApp.parent_handle={int(env.get('JPY_PARENT_PID') or 0)}"]
            sys.argv = ["ipykernel_launcher", *argv]
            from ipykernel.kernelapp import IPKernelApp

            app = IPKernelApp.instance()  # as ipykernel_launcher: launch_new_instance()
            app.initialize(argv)
            app.start()
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else 0
        except BaseException:  # noqa: BLE001
            import traceback

            traceback.print_exc()
            rc = 1
        finally:
            try:
                atexit._run_exitfuncs()
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(rc & 0xFF)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m analysis.report.forkserver", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="import the steps' modules once and start them by forking")
    s.add_argument("socket")
    s.add_argument("--parent", type=int, default=None, help="stop when this process ends")
    s.add_argument("--notebooks", default=None, help="also import what the notebooks in this folder import")
    args = ap.parse_args(argv)
    try:
        return serve(args.socket, args.parent, args.notebooks)
    except KeyboardInterrupt:  # while importing
        return 130


if __name__ == "__main__":
    # run as the imported module, whose in_child() the steps it forks read (not a __main__ copy)
    from analysis.report import forkserver

    sys.exit(forkserver.main())
