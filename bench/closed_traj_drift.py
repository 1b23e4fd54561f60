#!/usr/bin/env python3
"""bench/closed_traj_drift.py - the closed forms' drift at M = 3 and 4,
lambda > 0, along their own trajectory against the quad rule (session 21,
docs/closed-forms.md s.7, docs/multi.md s.13 row 23).

  bench/closed_traj_drift.py [CASE ...]   (default: every case; CASE a number)
  bench/closed_traj_drift.py --traj [CASE ...]   (the whole trajectory, M = 3)

Each case (erf, g square, B = 1, Gaussian laws, lambda > 0: V's four- and
six-erf terms by Price's theorem, docs/closed-forms.md s.4) is integrated by
`cldyn ode --expect closed` at the defaults to T = 20, output every 2.  At
each row's state (R, Q from the table, Q made symmetric) bench/closed_drift_ref
evaluates the closed drift once and the quad rule's (docs/accurate.md, an
independent engine: a tensor rule over c and the Gaussian part, no closed
form) at its default nodes.  Per row it prints the largest |difference|
over the components of dR and dQ, the closed forms' drift error bound at
that state (cl_drift_stderr) and the quad rule's; a miss is a difference
above the sum of both bounds.  At the row of the largest difference the
quad rule is run again at the nodes of LADDER3 (M = 3, default 16,20,24)
or LADDER4 (M = 4, default 14): a distance that falls with the nodes is
the quad rule's error converging to the closed value.
With --traj the M = 3 cases are integrated to T = 1 (K = 1) or 0.5 (K = 2)
by the closed forms and by the quad rule, and the tables compared (the
largest distance over R and Q against both trajectory bounds).
Environment: AUDIT_BIN (the CLI, default build/cldyn), LADDER3, LADDER4
(comma lists of --quad-nodes, may be empty), EVERY (use every EVERY-th
row, default 1).  Reported only: not a test.  Needs `make all` first."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import audit_bounds_m2 as aud  # noqa: E402
import audit_s19 as s19  # noqa: E402
import audit_closed_s20 as s20  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
REF = os.path.join(ROOT, "build", "bench", "closed_drift_ref")
D = s19.DEAD
# M = 3, K = 1, a strongly correlated Q (off-diagonal correlations 0.6 to -0.5)
R3c = [[0.3, -0.2, 0.1]]
L3c = [[0.8, 0, 0], [0.5, 0.6, 0], [-0.4, 0.3, 0.7]]
# M = 4, K = 1, unit 4 nearly dead, units 1-3 correlated
R4d = [[0.25, 0.1, -0.15, 0.2 * D]]
L4d = [[0.75, 0, 0, 0], [0.35, 0.65, 0, 0], [-0.2, 0.25, 0.7, 0], [0.1 * D, -0.2 * D, 0.15 * D, 0.7 * D]]

# (name, options, (R, L))
CASES = [
    ("M 3, K 2, lambda 1, s 0.2, gauss:1.3 gauss:2.1, unit 3 nearly dead (s.13 row 21)",
     "--M 3 --act erf --lambda 1 --s 0.2 --c gauss:1.3 --c gauss:2.1", (s19.R3d, s19.L3d)),
    ("M 3, K 1, lambda 1, s 0.5, rho 0.5, gauss:1.6, correlated Q",
     "--M 3 --act erf --lambda 1 --s 0.5 --rho 0.5 --c gauss:1.6", (R3c, L3c)),
    ("M 4, K 2, lambda 0.5, s 0.3, rho 0.4, gauss:1.2 gauss:0.9, coupled (closed-forms s.7)",
     "--M 4 --act erf --lambda 0.5 --s 0.3 --rho 0.4 --c gauss:1.2 --c gauss:0.9", (s20.R4, s20.L4)),
    ("M 4, K 1, lambda 1, s 0.4, gauss:0.8, unit 4 nearly dead, units 1-3 correlated",
     "--M 4 --act erf --lambda 1 --s 0.4 --c gauss:0.8", (R4d, L4d)),
]
T, DT = 20, 2
PAT = re.compile(r"drift distance (\S+) \(component (\d+) .*bounds: run (\S+) \(.*\), reference (\S+) \(.*CPU s (\S+), (\S+)")


def row_state(head, row, K, M):
    """--R0, --Q0 of a table row (Q_i_l given for i <= l)."""
    v = dict(zip(head, row))
    R = [[v["R_%d_%d" % (k + 1, i + 1)] for i in range(M)] for k in range(K)]
    Q = [[v["Q_%d_%d" % (min(i, l) + 1, max(i, l) + 1)] for l in range(M)] for i in range(M)]
    return "--R0 %s --Q0 %s" % (";".join(",".join("%.17g" % x for x in r) for r in R),
                                ";".join(",".join("%.17g" % x for x in q) for q in Q))


def drift_ref(opts, ref):
    p = subprocess.run(["nice", REF, opts + " --expect closed", ref], capture_output=True, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS="1"))
    m = PAT.search(p.stdout)
    if p.returncode or not m:
        return None
    return {"d": float(m.group(1)), "comp": int(m.group(2)), "b": float(m.group(3)), "rb": float(m.group(4)),
            "ca": float(m.group(5)), "cb": float(m.group(6))}


def traj(pick):
    """--traj: the whole trajectory of the M = 3 cases (T = 1 at K = 1, 0.5
    at K = 2, output every T / 10) by the closed forms and by the quad rule
    at its defaults: the largest distance over the R/Q table against both
    printed trajectory bounds."""
    print("| case | T | closed traj. bound | quad traj. bound | distance | ratio to the closed bound | ratio to the "
          "sum | CPU s closed, quad |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for c in pick:
        name, opts, (R, L) = CASES[c]
        if len(L) != 3:
            continue
        T = 1 if len(R) == 1 else 0.5
        args = opts.split() + s19.state(R, L) + ["--T", "%g" % T, "--dt-out", "%g" % (T / 10)]
        ta, a, ma, ca = aud.run(args + ["--expect", "closed"], 600)
        tb, b, mb, cb = aud.run(args + ["--expect", "quad"], 1800)
        if ta is None or tb is None:
            print("| %d | %g | failed: %s |" % (c, T, a if ta is None else b), flush=True)
            continue
        d = max(abs(x - y) for ra, rb in zip(a, b) for x, y in zip(ra, rb))
        bc, bq = aud.bound(ma, "trajectory error bound"), aud.bound(mb, "trajectory error bound")
        print("| %d | %g | %.3g | %.3g | %.3g | %.3g | %.3g | %.1f, %.1f |" % (c, T, bc, bq, d, d / bc, d / (bc + bq),
                                                                         ca, cb), flush=True)


def main():
    if sys.argv[1:2] == ["--traj"]:
        traj([int(x) for x in sys.argv[2:]] or [0, 1])
        return
    subprocess.run(["bash", "-c", "source bench/audit_build.sh && audit_build closed_drift_ref"], cwd=ROOT,
                   check=True)
    pick = [int(x) for x in sys.argv[1:]] or range(len(CASES))
    every = int(os.environ.get("EVERY", "1"))
    ladder = {3: [int(x) for x in os.environ.get("LADDER3", "16,20,24").split(",") if x],
              4: [int(x) for x in os.environ.get("LADDER4", "14").split(",") if x]}
    for c in pick:
        name, opts, (R, L) = CASES[c]
        M, K = len(L), len(R)
        args = opts.split() + s19.state(R, L) + ["--expect", "closed", "--T", str(T), "--dt-out", str(DT)]
        t, tab, meth, cpu = aud.run(args, 600)
        if t is None:
            print("case %d: the closed run failed: %s" % (c, tab))
            continue
        head = ["R_%d_%d" % (k + 1, i + 1) for k in range(K) for i in range(M)] + \
            ["Q_%d_%d" % (i + 1, l + 1) for i in range(M) for l in range(i, M)]
        print("\ncase %d: %s; closed run to T = %g: trajectory bound %.3g, drift bound %.3g at t = 0, %.1f CPU s"
              % (c, name, T, aud.bound(meth, "trajectory error bound"), aud.bound(meth, "drift error bound"), cpu))
        print("| t | closed drift bound | quad distance | its bound | ratio to the sum of both | CPU s closed, quad |")
        print("| --- | --- | --- | --- | --- | --- |")
        worst, jw = None, 0
        for j in range(0, len(t), every):
            r = drift_ref(opts + " " + row_state(head, tab[j], K, M), "--expect quad")
            if r is None:
                print("| %g | the evaluation failed |" % t[j], flush=True)
                continue
            r["ratio"] = r["d"] / (r["b"] + r["rb"])
            if worst is None or r["d"] > worst["d"]:
                worst, jw = r, j
            print("| %g | %.3g | %.3g | %.3g | %.3g | %.2f, %.2f |" % (t[j], r["b"], r["d"], r["rb"], r["ratio"],
                                                                     r["ca"], r["cb"]), flush=True)
        if worst is None:
            continue
        print("case %d, quad default: largest distance %.3g at t = %g (its bound %.3g, the closed bound %.3g), "
              "ratio to the sum of both bounds %.3g%s" % (c, worst["d"], t[jw], worst["rb"], worst["b"],
                                                          worst["ratio"], " MISS" if worst["ratio"] > 1 else ""))
        for n in ladder.get(M, []):
            r = drift_ref(opts + " " + row_state(head, tab[jw], K, M), "--expect quad --quad-nodes %d" % n)
            if r:
                r["ratio"] = r["d"] / (r["b"] + r["rb"])
                print("case %d, t = %g, quad %d nodes: distance %.3g (component %d), its bound %.3g, ratio %.3g%s, "
                      "%.1f CPU s" % (c, t[jw], n, r["d"], r["comp"], r["rb"], r["ratio"],
                                      " MISS" if r["ratio"] > 1 else "", r["cb"]), flush=True)

if __name__ == "__main__":
    main()
