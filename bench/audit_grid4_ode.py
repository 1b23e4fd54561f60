#!/usr/bin/env python3
"""bench/audit_grid4_ode.py - the trajectory error bound printed by `cldyn ode`
at M = 3 and 4 (the grid engine; JSON `method` field) against a refined run,
on models drawn by bench/audit_mm (AUDIT_GRID4=1, session 27, helper aud4;
docs/grid.md s.15 "Session 27: audit of the M = 3 and M = 4 engines").
  bench/audit_grid4_ode.py AUDIT_OUTPUT N1 [N2 ...]
takes configurations N1, N2, ... (their `cldyn ode` options) from a file
written by bench/audit_mm, runs `cldyn ode OPTIONS --T $T --dt-out 1`
(T = 10 unless set) at the defaults and refined (REFINE, default
`--grid-nodes 30 --rtol 1e-10 --atol 1e-12`), and prints per configuration
the printed trajectory bound, the largest change of the R/Q table under
refinement and their ratio (above 1: the bound missed), with the user CPU
seconds of both runs (OMP_NUM_THREADS=1, under nice -n 19).
Reported only: not a test."""
import json
import os
import re
import resource
import shlex
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from audit_m2_ode import BIN, table  # noqa: E402 (the R/Q table of a `cldyn ode` run)


def run(args):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "o.csv")
        u0 = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
        p = subprocess.run(["nice", "-n", "19", BIN, "ode"] + args + ["--out", out], capture_output=True, text=True,
                           env=dict(os.environ, OMP_NUM_THREADS="1"))
        cpu = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - u0
        if p.returncode:
            return None, None, p.stderr.strip().split("\n")[-1], cpu
        meth = json.load(open(out + ".json"))["method"]
        m = re.search(r"trajectory error bound ([0-9.eE+-]+)", meth)
        return table(out), float(m.group(1)) if m else None, meth, cpu


def main():
    lines = open(sys.argv[1]).read().split("\n")
    want = [int(x) for x in sys.argv[2:]]
    T = os.environ.get("T", "10")
    refine = shlex.split(os.environ.get("REFINE", "--grid-nodes 30 --rtol 1e-10 --atol 1e-12"))
    print("%4s %9s %9s %6s %7s %7s  %s" % ("#", "bound", "change", "ratio", "cpu s", "ref s", "options"), flush=True)
    for c in want:
        line = next((l for l in lines if re.match(r"\s*%d " % c, l) and "--M " in l), None)
        if line is None:
            print("%4d not found" % c)
            continue
        opts = re.search(r"(--M .*?)( \| |$)", line).group(1)
        args = shlex.split(opts) + ["--T", T, "--dt-out", "1"]
        a, bound, meth, ca = run(args)
        if a is None:
            print("%4d refused: %s | %s" % (c, meth, opts), flush=True)
            continue
        b, _, mb, cb = run(args + refine)
        if b is None:
            print("%4d refined run refused: %s | %s" % (c, mb, opts), flush=True)
            continue
        ch = max(abs(x - y) for ra, rb in zip(a, b) for x, y in zip(ra, rb))
        print("%4d %9.2e %9.2e %6s %7.1f %7.1f  %s" % (c, bound if bound is not None else float("nan"), ch,
                                                      "%.3f" % (ch / bound) if bound else "-", ca, cb, opts),
              flush=True)


main()
