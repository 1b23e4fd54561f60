#!/usr/bin/python3
"""bench/collapse.py - the M = 2 engines at nearly collinear units
(docs/grid.md s.4, docs/fixed-points.md s.7).

A family of states whose units have correlation r = Q_12 / sqrt(Q_11 Q_22)
-> 1: both units with the same overlaps R_.1 = R_.2 = v sqrt(q) and Q_ii = q,
the rest of Q_12 from the off-feature part (r = 1: exactly collinear).  At
each, the grid (`--expect grid`) is compared with the reference: the quad
rule's fine level (`--expect quad`, its own estimate `quad_est`); with
--chk its distance to the quad rule at --quad-nodes 48 is `ref_chk` (slow:
about 2 s an evaluation), with --mc NB the batch Monte Carlo of
tests/mc_ref.c (no Stein lemma, no rule) checks it (`mc_dist` = the largest
distance in standard errors).  err =
max over components |engine - ref|, est = max |fine - coarse| (the printed
estimate), both relative to scale = max |ref component|.
  bench/collapse.py [--chk] [--mc NB] [--only MODEL-INDEX]   (needs build/ from `make`)"""
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
B = os.path.join(ROOT, "build")
LINK = None


def build():
    os.makedirs(os.path.join(B, "bench"), exist_ok=True)
    app = [os.path.join(B, "obj", "app", f) for f in sorted(os.listdir(os.path.join(B, "obj", "app")))
           if f.endswith(".o") and "main" not in f]
    libs = subprocess.run(["make", "-s", "--no-print-directory", "print-libs"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.split()
    cc = ["cc", "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-fopenmp", "-ffp-contract=off", "-D_GNU_SOURCE",
          "-Iinclude", "-I."]
    tail = [B + "/libcldyn.a"] + libs
    subprocess.run(cc + ["bench/audit_drift.c"] + app + tail + ["-o", B + "/bench/audit_drift"], cwd=ROOT, check=True)
    subprocess.run(cc + ["bench/collapse_mc.c", "tests/mc_ref.c"] + app + tail + ["-lcriterion", "-o", B + "/bench/collapse_mc"],
                   cwd=ROOT, check=True)


RS = [0.99, 0.995, 0.997, 0.998, 0.999, 0.9993, 0.9995, 0.9997, 0.99984, 0.9999, 0.99999, 1.0]


def states(q, v):
    v = np.array(v) * np.sqrt(q)
    out = []
    for r in RS:
        vv = v @ v
        a = q - vv
        ra = (r * q - vv) / a
        Q = np.outer([1, 1], [1, 1]) * vv + a * np.array([[1, ra], [ra, 1]])
        out.append((r, [v[0], v[0], v[1], v[1], Q[0, 0], Q[0, 1], Q[1, 1]]))
    return out


def levels(args, ys):
    inp = "".join(" ".join("%.17g" % t for t in y) + "\n" for y in ys)
    p = subprocess.run([B + "/bench/audit_drift", "--levels"] + args, input=inp, capture_output=True, text=True, check=True)
    res = []
    for line in p.stdout.splitlines():
        if line.startswith("nan"):
            res.append(None)
        else:
            a = np.array([float(t) for t in line.split()])
            res.append((a[:len(a) // 2], a[len(a) // 2:]))
    return res


MODELS = [
    ["--c", "laplace:3", "--c", "rademacher:2", "--act", "sigmoid", "--lambda", "0.3", "--s", "1"],
    ["--c", "laplace:3", "--c", "rademacher:2", "--act", "sigmoid", "--lambda", "0.3", "--s", "0.5"],
    ["--c", "uniform:3", "--c", "rademacher:2", "--act", "tanh", "--lambda", "1", "--s", "0.5"],
    ["--c", "rademacher:3", "--c", "laplace:2", "--act", "tanh", "--lambda", "0.3", "--s", "1", "--rho", "0.3"],
    ["--c", "uniform:3", "--c", "laplace:2", "--act", "sigmoid", "--lambda", "0", "--s", "0.3"],
]
PLACES = [(0.04, (0, 0)), (0.04, (0.5, 0.3)), (1.0, (0.6, -0.5))]


def main():
    mc = int(sys.argv[sys.argv.index("--mc") + 1]) if "--mc" in sys.argv else 0
    chk = "--chk" in sys.argv
    only = int(sys.argv[sys.argv.index("--only") + 1]) if "--only" in sys.argv else None
    build()
    print("model,q,v,r,ref_chk,grid_err,grid_est,quad_est,scale" + (",mc_dist,mc_se" if mc else ""))
    for i, mo in enumerate(MODELS):
        if only is not None and i != only:
            continue
        base = ["--M", "2"] + mo
        for q, v in PLACES:
            st = states(q, v)
            ys = [y for _, y in st]
            qd = levels(base + ["--expect", "quad"], ys)
            ref = levels(base + ["--expect", "quad", "--quad-nodes", "48"], ys) if chk else qd
            gr = levels(base + ["--expect", "grid"], ys)
            mcs = None
            if mc:
                inp = "".join(" ".join("%.17g" % t for t in y) + "\n" for y in ys)
                p = subprocess.run([B + "/bench/collapse_mc", str(mc), "5"] + base, input=inp, capture_output=True,
                                   text=True, check=True)
                mcs = [np.array([float(t) for t in line.split()]) for line in p.stdout.splitlines()]
            for k, (r, y) in enumerate(st):
                if ref[k] is None:
                    print(",".join([" ".join(mo), "%g" % q, "%g:%g" % v, "%.5f" % r, "quad refused"]), flush=True)
                    continue
                f = ref[k][0]
                sc = np.max(np.abs(f))
                chk = np.max(np.abs(qd[k][0] - f)) / sc
                row = [" ".join(mo), "%g" % q, "%g:%g" % v, "%.5f" % r, "%.1e" % chk]
                if gr[k] is None:
                    row += ["refused", "refused"]
                else:
                    row += ["%.2e" % (np.max(np.abs(gr[k][0] - f)) / sc), "%.2e" % (np.max(np.abs(gr[k][0] - gr[k][1])) / sc)]
                row += ["%.2e" % (np.max(np.abs(qd[k][0] - qd[k][1])) / sc), "%.3e" % sc]
                if mcs:
                    n = len(mcs[k]) // 2
                    # drift order of the MC: dR (K x M) then dQ (M x M); the state's packing: upper triangle of Q
                    mq = np.concatenate([mcs[k][:4], [mcs[k][4], mcs[k][5], mcs[k][7]]])
                    se = np.concatenate([mcs[k][n:n + 4], [mcs[k][n + 4], mcs[k][n + 5], mcs[k][n + 7]]])
                    row += ["%.2f" % np.max(np.abs(mq - f) / se), "%.1e" % np.max(se)]
                print(",".join(row), flush=True)


if __name__ == "__main__":
    main()
