#!/usr/bin/env python3
"""Times one recipe line for make (started by ``benchmarks/step_shell``, make's SHELL in bench_build.py).

Runs the line with bash (the Makefile's shell, with its ``.SHELLFLAGS``) and, when the environment
variable ``BENCH_STEPLOG`` names a file, appends one JSON line to it: the command, its start and end
(``time.time()``), its exit status, the CPU time (user + system) of the processes it ran and the
peak resident memory (kB) of the largest of them (``getrusage(RUSAGE_CHILDREN)``: papermill's
Jupyter kernel is included, being reaped by papermill). Used by ``bench_build.py``; nothing else.
"""
import json
import os
import resource
import subprocess
import sys
import time

t0 = time.time()
rc = subprocess.call(["bash", *sys.argv[1:]])
t1 = time.time()
log = os.environ.get("BENCH_STEPLOG")
if log:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    rec = {"cmd": sys.argv[-1], "start": t0, "end": t1, "rc": rc, "maxrss_kb": ru.ru_maxrss,
           "cpu_s": ru.ru_utime + ru.ru_stime}
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(rec) + "\n")
sys.exit(rc)
