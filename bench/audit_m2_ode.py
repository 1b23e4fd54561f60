#!/usr/bin/env python3
"""bench/audit_m2_ode.py - the trajectory error bound printed by `cldyn ode`
for M = 2 (JSON `method` field) against a refined run, on random
configurations (fixed seed): the grid engine against `--grid-nodes 36`
(1.5x finer in every respect, docs/grid.md s.5), the Sobol' engine against
16x its points per rule (`--qmc-points`).  Per configuration: the engine,
the printed bound, the largest change of the R/Q table under refinement and
their ratio (above 1: the bound missed).  Usage:
  bench/audit_m2_ode.py [N [SEED [T [M [EXPECT]]]]]
(default 8 configurations, seed 5, T 20, M 2, the default engine).  M = 3
or more draws M columns of R0 (M = 2 keeps the draws of before); EXPECT
(e.g. quad) adds `--expect EXPECT` and bends the draw to where the quad
rule applies (rho >= 0, no relu); the quad rule is refined by
`--quad-nodes` twice its default coarse count, the Sobol' engine by
QMC_FINE points per rule (default 2^17).
Reported only: not a test."""
import json
import os
import random
import re
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
BIN = os.path.join(ROOT, "build", "cldyn")


def table(path):
    with open(path) as f:
        head = f.readline().strip().split(",")
        cols = [i for i, h in enumerate(head) if h.startswith("R_") or h.startswith("Q_")]
        return [[float(x.split(",")[i]) for i in cols] for x in f.read().strip().split("\n")]


def run(args, extra):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "o.csv")
        p = subprocess.run(["nice", BIN, "ode"] + args + extra + ["--out", out], capture_output=True, text=True,
                           env=dict(os.environ, OMP_NUM_THREADS="1"))
        if p.returncode:
            return None, None, p.stderr.strip().split("\n")[-1]
        meth = json.load(open(out + ".json"))["method"]
        m = re.search(r"trajectory error bound ([0-9.eE+-]+)", meth)
        return table(out), float(m.group(1)) if m else None, meth.split(":")[0]


def draw(rng, M=2, expect=None):
    act = rng.choice(["tanh", "erf", "sigmoid", "linear", "relu"])
    if expect == "quad" and act == "relu":
        act = "tanh"
    K = rng.randint(1, 3)
    laws = [rng.choice(["gauss", "rademacher", "uniform", "laplace", "student:%.2g:8", "sparse:%.2g:0.3"]) for _ in range(K)]
    laws = [(l % rng.uniform(0.5, 3)) if "%" in l else "%s:%.2g" % (l, rng.uniform(0.5, 3)) for l in laws]
    lam = rng.choice([0, 0.3, 1])
    rho = rng.choice([0, 0.3, 0.6, -0.4])
    s = rng.uniform(0.2, 1)
    if expect == "quad":
        rho = abs(rho)
        laws = [l if not l.startswith("student") else "gauss:" + l.split(":")[1] for l in laws]
    R0 = ";".join(",".join("%.3f" % rng.uniform(-0.3, 0.3) for _ in range(M)) for _ in range(K))
    args = ["--M", str(M), "--act", act, "--lambda", str(lam), "--rho", str(rho), "--s", "%.3g" % s, "--R0", R0]
    for l in laws:
        args += ["--c", l]
    return args


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    T = sys.argv[3] if len(sys.argv) > 3 else "20"
    M = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    expect = sys.argv[5] if len(sys.argv) > 5 else None
    qfine = {2: 40, 3: 28, 4: 24}.get(M, 16)
    rng = random.Random(seed)
    print("%-40s %9s %9s %9s %6s  %s" % ("engine", "bound", "refined", "change", "ratio", "options"))
    for _ in range(n):
        args = draw(rng, M, expect) + ["--T", T, "--dt-out", "1"] + (["--expect", expect] if expect else [])
        a, bound, eng = run(args, [])
        if a is None:
            print("%-40s refused: %s | %s" % ("-", eng, " ".join(args)))
            continue
        fine = ["--grid-nodes", "36"] if eng.startswith("grid") else ["--qmc-points", os.environ.get("QMC_FINE", "131072")]
        if "quad rule" in eng or "deterministic" in eng:
            fine = ["--quad-nodes", str(qfine)]
        elif not (eng.startswith("grid") or "Sobol" in eng or "qmc" in eng.lower()):
            fine = ["--quad-gauss", "48"]
        b, bb, _ = run(args, fine)
        if b is None:
            print("%-40s refined run refused: %s | %s" % (eng[:40], bb, " ".join(args)))
            continue
        ch = max(abs(x - y) for ra, rb in zip(a, b) for x, y in zip(ra, rb))
        print("%-40s %9.2e %9.2e %9.2e %6s  %s" % (eng[:40], bound if bound is not None else float("nan"),
                                                  bb if bb is not None else float("nan"), ch,
                                                  "%.2f" % (ch / bound) if bound else "-", " ".join(args)),
              flush=True)


if __name__ == "__main__":  # bench/audit_grid4_ode.py imports table
    main()
