#!/usr/bin/python3
"""bench/audit_pde.py - independent re-check of `cldyn pde` on configurations
the tests do not use (session 13 audit; findings in docs/pde-l1-error.md s.4).

For each configuration (CASES below, or one given as --args "..."):
  1. the PDE at its defaults (2000 cells, dt 0.01) and refined (--cells 8000,
     --dt 0.0025): max over t of |delta R|, |delta Q| is the PDE's own error
     (it prints no estimate; this is the check that it is small);
  2. with an l2 regularizer, the PDE against `cldyn ode`: its first two
     moments must be the ODE's (docs/theory.md s.9);
  3. for N in NS: `cldyn simulate --runs RUNS` with the same options;
       rms  = sqrt(mean over runs and output times t > 0 of (X_sim - X_pde)^2)
              for X = R and Q: one run's fluctuation around the limit, which
              must shrink like N^-1/2, so rms * sqrt(N) should be flat;
       mgap = max over t of |mean over runs X_sim - X_pde|, z = mgap / (sd / sqrt runs)
              at that t (a bias the runs resolve shows as z >> 1, growing with N);
       l1   = at t = T, the L1 distance between the PDE's law and the pooled
              histogram of the runs, per xi (`cldyn plot --density --hist`);
     then the log-log slopes of rms and l1 against N (least squares).
     The slope of l1 is not expected to be -1/2 exactly: l1 of a pooled
     histogram has a sampling part ~ (N runs)^-1/2 that depends on the runs
     per N too (docs/pde-l1-error.md s.1); l1 * sqrt(N runs) is printed.
Reported only; exit status 0 unless a command failed.

  nice bench/audit_pde.py [--ns "1000 4000 16000"] [--runs "8 8 4"] [--T 5]
                          [--seed 7] [--threads 1] [--args "..." | --case NAME]
About 5-10 CPU minutes for the three cases (N = 1.6e4 dominates).
"""
import argparse
import math
import os
import shlex
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "cldyn")

CASES = {
    # elastic net, erf, dense layout, Laplace law, correlated views
    "elastic": "--act erf --reg elastic:0.2:0.3 --features dense --c laplace:3 --s 0.3 --rho 0.5 --tau 0.4 --R0 0.3",
    # l1, tanh, sparse layout, Student law, anticorrelated views, B = 2 (relu
    # here grows without bound: Q ~ 1e5 by t = 4.6, where the PDE stops)
    "l1student": "--act tanh --reg l1:0.25 --features sparse:0.3 --c student:3:5 --s 0.7 --rho -0.3 --B 2 --tau 0.5 --R0 0.3",
    # l2, sigmoid, K = 2 (discrete + uniform), sparse layout: also against the ODE
    "l2sig": "--act sigmoid --reg l2:0.3 --features sparse:0.5 --c discrete:-2@0.25,0@0.5,2@0.25 --c uniform:2 "
    "--s 0.6 --rho 0.2 --tau 0.6 --R0 0.25;0.1",
}


def run(argv):
    quiet = [] if argv[0] == "plot" else ["--quiet"]
    r = subprocess.run([BIN] + argv + quiet, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): cldyn {' '.join(argv)}\n{r.stderr}")
    return r.stdout


def table(path):
    return np.genfromtxt(path, delimiter=",", names=True)


def cols(tab):
    return [c for c in tab.dtype.names if c.startswith(("R_", "Q_"))]


def maxdiff(a, b):
    return {c: float(np.max(np.abs(a[c] - b[c]))) for c in cols(a)}


def slope(x, y):
    x, y = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    A = np.vstack([x, np.ones_like(x)]).T
    coef, res, *_ = np.linalg.lstsq(A, y, rcond=None)
    dof = len(x) - 2
    se = math.sqrt(res[0] / dof / ((x - x.mean()) ** 2).sum()) if dof > 0 and len(res) else float("nan")
    return coef[0], se


def audit(name, args, a, tmp):
    model = shlex.split(args)
    T = ["--T", str(a.T), "--dt-out", "0.5"]
    print(f"== {name}: {args} --T {a.T}")
    pde, dens = f"{tmp}/{name}_pde.csv", f"{tmp}/{name}_dens.csv"
    run(["pde"] + model + T + ["--out", pde, "--density-out", dens])
    p = table(pde)
    fine = f"{tmp}/{name}_fine.csv"
    run(["pde"] + model + T + ["--cells", "8000", "--dt", "0.0025", "--out", fine])
    d = maxdiff(p, table(fine))
    print("  PDE default vs refined (8000 cells, dt 0.0025): " + ", ".join(f"max|d{c}| = {v:.2e}" for c, v in d.items()))
    if "l2:" in args or "--reg" not in args:
        ode = f"{tmp}/{name}_ode.csv"
        nof = [x for j, x in enumerate(model) if x != "--features" and (j == 0 or model[j - 1] != "--features")]
        run(["ode"] + nof + T + ["--out", ode])  # the ODE does not depend on the layout
        d = maxdiff(p, table(ode))
        print("  PDE vs ode (l2): " + ", ".join(f"max|d{c}| = {v:.2e}" for c, v in d.items()))
    ns = [int(float(x)) for x in a.ns.split()]
    runs = [int(x) for x in a.runs.split()]
    rows = []
    for i, (N, R) in enumerate(zip(ns, runs)):
        out, summ, hist = (f"{tmp}/{name}_{N}_{k}.csv" for k in ("runs", "sum", "hist"))
        run(["simulate"] + model + T + ["--N", str(N), "--runs", str(R), "--seed", str(a.seed + 100 * i),
                                        "--threads", str(a.threads), "--out", out, "--summary", summ,
                                        "--hist-out", hist])
        l1 = run(["plot", "--out", f"{tmp}/{name}_{N}.png", "--density", dens, "--hist", hist, "--t", str(a.T)])
        l1 = {ln.split(",")[0]: float(ln.split(",")[2]) for ln in l1.strip().splitlines()[1:]}
        sim = np.genfromtxt(out, delimiter=",", names=True)
        if "run" not in sim.dtype.names:
            sys.exit("need --runs >= 2")
        row = {"N": N, "runs": R, "l1": l1}
        for c in cols(p):
            ref = dict(zip(np.round(p["t"], 9), p[c]))
            m = sim["t"] > 0
            dv = sim[c][m] - np.array([ref[t] for t in np.round(sim["t"][m], 9)])
            row["rms_" + c] = float(np.sqrt(np.mean(dv ** 2)))
            s = table(summ)
            g = np.abs(s[c + "_mean"] - p[c])
            k = int(np.argmax(g))
            se = s[c + "_sd"][k] / math.sqrt(R)
            row["mgap_" + c] = (float(g[k]), float(g[k] / se) if se > 0 else float("inf"), float(s["t"][k]))
        rows.append(row)
        print(f"  N = {N:6d} ({R} runs): " + "; ".join(
            f"{c}: rms {row['rms_' + c]:.4f} (x sqrt N {row['rms_' + c] * math.sqrt(N):.3f}), "
            f"mean gap {row['mgap_' + c][0]:.4f} (z {row['mgap_' + c][1]:.1f} at t {row['mgap_' + c][2]:g})"
            for c in cols(p)) + "; l1 at T: " + ", ".join(
            f"xi={k}: {v:.4f} (x sqrt(N runs) {v * math.sqrt(N * R):.2f})" for k, v in l1.items()), flush=True)
    for c in cols(p):
        b, se = slope(ns, [r["rms_" + c] for r in rows])
        verdict = "ok" if abs(b + 0.5) <= 0.15 else "OUTSIDE -0.5 +- 0.15"
        print(f"  slope of log rms({c}) vs log N: {b:+.3f} +- {se:.3f}  {verdict}")
    for k in rows[0]["l1"]:
        b, se = slope(ns, [r["l1"][k] for r in rows])
        print(f"  slope of log l1(xi={k}) vs log N: {b:+.3f} +- {se:.3f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ns", default="1000 4000 16000")
    ap.add_argument("--runs", default="8 8 4")
    ap.add_argument("--T", type=float, default=5)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--args")
    ap.add_argument("--case", choices=sorted(CASES))
    a = ap.parse_args()
    cases = {"custom": a.args} if a.args else ({a.case: CASES[a.case]} if a.case else CASES)
    with tempfile.TemporaryDirectory(prefix="cldyn_apde.") as tmp:
        for name, args in cases.items():
            audit(name, args, a, tmp)


if __name__ == "__main__":
    main()
