#!/usr/bin/env python3
"""bench/audit_check_m2.py - the integrator's part of the M = 2 grid's
trajectory bound (docs/multi.md s.11, session 16) on the audit's draws.

Draws the models of bench/audit_bounds_m2.py (same seeds, same draws),
skips those the grid does not serve by rule (relu, rho < 0, g abs with
lambda != 0; refusals are skipped as failed), runs `cldyn ode` to T
(output every T / 20) and the same model at --rtol 1e-12 --atol 1e-15
(the same engine: the table's distance to it is the integrator's error
e), and prints per draw the printed trajectory bound, its integrator's
part, e and bound / e.  With AUDIT_OLD=PATH (another build, e.g. main's)
also that build's bound and part.  One thread per run (OMP_NUM_THREADS=1),
CPU limit AUDIT_TIMEOUT s a run (default 60).  Usage:
  bench/audit_check_m2.py [N [SEED [T]]]   (default 26, 1501, 1)
Reported only: not a test."""
import importlib.util
import json
import os
import random
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("audit_bounds_m2", os.path.join(HERE, "audit_bounds_m2.py"))
aud = importlib.util.module_from_spec(spec)
spec.loader.exec_module(aud)
TIMEOUT = int(os.environ.get("AUDIT_TIMEOUT", "60"))


def run(binary, args):
    """(table, method line) of `cldyn ode ARGS`, or (None, None)."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "o.csv")
        p = subprocess.run(["nice", binary, "ode", "--quiet"] + args + ["--out", out], capture_output=True, text=True,
                           env=dict(os.environ, OMP_NUM_THREADS="1"), preexec_fn=aud.limit_cpu(TIMEOUT))
        if p.returncode:
            return None, None
        return aud.read_table(out)[1], json.load(open(out + ".json"))["method"]


def part(meth):
    m = re.search(r"integrator's part ([0-9.eE+-]+)", meth or "")
    return float(m.group(1)) if m else float("nan")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 26
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1501
    T = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    old = os.environ.get("AUDIT_OLD")
    rng = random.Random(seed)
    print("draw state | bound part | error bound/error%s | options" % (" | old bound part" if old else ""))
    for i in range(n):
        args, state = aud.draw(rng, 2)
        args += ["--T", "%g" % T, "--dt-out", "%g" % (T / 20)]
        d = dict(zip(args[0::2], args[1::2]))
        if d["--act"] == "relu" or float(d["--rho"]) < 0 or (d["--g"] == "abs" and float(d["--lambda"]) != 0):
            print("%d not the grid" % i, flush=True)
            continue
        a, ma = run(aud.BIN, args)
        if a is None or aud.engine(ma) != "grid":
            print("%d %s" % (i, aud.engine(ma) if ma else "failed"), flush=True)
            continue
        r, _ = run(aud.BIN, args + ["--rtol", "1e-12", "--atol", "1e-15"])
        if r is None:
            print("%d reference failed" % i, flush=True)
            continue
        e = max(abs(x - y) for ra, rb in zip(a, r) for x, y in zip(ra, rb))
        tb = aud.bound(ma, "trajectory error bound")
        extra = ""
        if old:
            _, mo = run(old, args)
            extra = " | %.3g %.3g" % (aud.bound(mo, "trajectory error bound") or float("nan"), part(mo)) if mo else " | failed"
        print("%d %s | %.3g %.3g | %.3g %.3g%s | %s" % (i, state, tb, part(ma), e, tb / e if e > 0 else float("inf"),
                                                     extra, " ".join(args)), flush=True)


if __name__ == "__main__":
    main()
