"""Run ``python -m MODULE ARGS`` through the build's fork server, or in this process without one.

    python -m analysis.report.forkclient SOCKET MODULE [ARGS ...]

With a server (:mod:`analysis.report.forkserver`) listening on ``SOCKET``, this sends it the module,
the arguments, the working folder, the environment and its stdin, stdout and stderr, forwards
SIGINT, SIGTERM and SIGHUP to the step the server forked, and exits with the step's status. With no
server there (not started, or gone; while it is still importing, this waits for it), it becomes ``python -m MODULE ARGS`` (``exec``), so
the step runs either way and make sees the same exit status. Standard library only: it starts in
milliseconds.
"""
import json
import os
import signal
import socket
import struct
import sys


def _recv(sock):
    head = b""
    while len(head) < 4:
        chunk = sock.recv(4 - len(head))
        if not chunk:
            raise EOFError
        head += chunk
    (n,) = struct.unpack("!I", head)
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return json.loads(data)


def _connect(path, wait=120.0):
    """A socket connected to the server at ``path``. While the server is still importing (its
    ``PATH.starting`` names a live process), keep trying, up to ``wait`` seconds."""
    import time

    deadline = time.monotonic() + wait
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
            return sock
        except OSError:
            sock.close()
            try:
                with open(path + ".starting", encoding="utf-8") as f:
                    os.kill(int(f.read().strip() or 0), 0)
            except (OSError, ValueError):
                raise OSError("no fork server") from None
            if time.monotonic() > deadline:
                raise OSError("the fork server is not ready") from None
            time.sleep(0.05)


def cold(module, args):
    """Become ``python -m MODULE ARGS`` (never returns)."""
    os.execv(sys.executable, [sys.executable, "-m", module, *args])


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2:
        print("usage: python -m analysis.report.forkclient SOCKET MODULE [ARGS ...]", file=sys.stderr)
        return 2
    path, module, args = argv[0], argv[1], argv[2:]
    if not path:
        cold(module, args)
    sock = None
    try:
        sock = _connect(path)
        data = json.dumps({"module": module, "argv": args, "cwd": os.getcwd(), "env": dict(os.environ)}).encode()
        sock.sendmsg([struct.pack("!I", len(data))],
                     [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("3i", 0, 1, 2))])
        sock.sendall(data)
        pid = _recv(sock)["pid"]
    except (OSError, EOFError, ValueError, KeyError):
        if sock is not None:
            sock.close()
        cold(module, args)

    def forward(sig, _frame):
        try:
            os.kill(pid, sig)
        except OSError:
            pass

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, forward)
    while True:
        try:
            status = _recv(sock)["status"]
            break
        except InterruptedError:
            continue
        except (OSError, EOFError, ValueError, KeyError):
            print(f"forkclient: lost the fork server while {module} ran", file=sys.stderr)
            return 1
    if status < 0:  # killed by a signal: die of it, as the step did
        signal.signal(-status, signal.SIG_DFL)
        os.kill(os.getpid(), -status)
    return status


if __name__ == "__main__":
    sys.exit(main())
