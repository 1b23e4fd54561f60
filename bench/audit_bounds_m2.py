#!/usr/bin/env python3
"""bench/audit_bounds_m2.py - independent check of the error bounds that
`cldyn ode` prints at M = 2 and M = 3 (docs/multi.md s.11).

Draws seeded random models (sigma, g, B, lambda, s, rho incl. rho < 0 and
rho = 1, K = 1..3 laws incl. mixes, R0/Q0 incl. a nearly dead unit and R
near 0), runs `cldyn ode` with the default engine to a short T, and reads
the method line's drift bound at t = 0 and trajectory bound.  The reference
is the same model run by a more accurate rule: the grid with
`--grid-nodes 36`, the Sobol' rules with QMC_FINE times their points per
rule (default 8), the quad rule with `--quad-nodes 40` (M = 2) or 24, the
closed forms against the grid (M = 2) or the Sobol' rules at 2^16 points;
the deterministic references at `--rtol 1e-11 --atol 1e-13` (the
integrator's error is part of the error of the table).
Per case it prints
  drift:  |a - b| of the first output row (t = DT) / DT  against the drift
          bound at t = 0 (a forward difference: the average drift error
          over [0, DT], DT = T / 20; for the deterministic engines both
          rows from runs to DT at --rtol 1e-13 --atol 1e-16, so that the
          integrator's error is not counted as the drift's)
  traj:   max |a - b| over the whole R/Q table against the trajectory bound
and the ratios (above 1: a miss, unless the reference's own bound covers
the excess, shown as `ref`; a ratio shown as 200 with the bound without the
integrator's part means at least 200: that part is printed to 3 digits).  Usage:
  bench/audit_bounds_m2.py [N [SEED [M [T]]]]   (default 20, 1501, 2, 1)
`tratio-without-integrator` is the ratio to the bound without its
integrator's part (the bound printed before session 15).
Environment: AUDIT_BIN (the binary, default build/cldyn), QMC_FINE (factor, default 8), AUDIT_TIMEOUT (CPU s per run,
default 60), AUDIT_ONLY (a comma list of activations to draw), AUDIT_QUAD
(bend the draw to where the quad rule applies: rho >= 0, g square, no
student law).
Reported only: not a test."""
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
BIN = os.environ.get("AUDIT_BIN", os.path.join(ROOT, "build", "cldyn"))
NUM = r"([0-9.eE+-]+|inf|nan)"


def read_table(path):
    with open(path) as f:
        head = f.readline().strip().split(",")
        cols = [i for i, h in enumerate(head) if h.startswith("R_") or h.startswith("Q_")]
        rows = [x.split(",") for x in f.read().strip().split("\n")]
        return [float(r[0]) for r in rows], [[float(r[i]) for i in cols] for r in rows]


def limit_cpu(sec):
    def f():
        resource.setrlimit(resource.RLIMIT_CPU, (sec, sec + 1))
    return f


def run(args, timeout):
    """Runs `cldyn ode ARGS`; returns (times, table, method line, cpu s) or
    (None, message, None, cpu s)."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "o.csv")
        t0 = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
        p = subprocess.run(["nice", BIN, "ode", "--quiet"] + args + ["--out", out], capture_output=True,
                           text=True, env=dict(os.environ, OMP_NUM_THREADS="1"), preexec_fn=limit_cpu(timeout))
        cpu = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - t0
        if p.returncode:
            msg = (p.stderr.strip().split("\n") or ["?"])[-1] if p.returncode > 0 else "CPU limit %d s" % timeout
            return None, msg[:150], None, cpu
        meth = json.load(open(out + ".json"))["method"]
        t, tab = read_table(out)
        return t, tab, meth, cpu


def bound(meth, what):
    m = re.search(what + r" " + NUM, meth)
    return float(m.group(1)) if m else None


def engine(meth):
    for key, name in (("grid engine", "grid"), ("Sobol'", "qmc"), ("closed form", "closed"),
                      ("deterministic", "quad"), ("quad rule", "quad"), ("Monte Carlo", "mc"),
                      ("tensor", "tensor"), ("quadrature:", "tensor")):
        if key in meth:
            return name
    return meth.split(" ")[0]


def fmt(x, n):
    return ",".join("%.4g" % v for v in x[:n])


def draw(rng, M):
    acts = os.environ.get("AUDIT_ONLY", "tanh,erf,sigmoid,relu,linear,cubic").split(",")
    act = rng.choice(acts)
    g = rng.choice(["square", "abs"])
    B = rng.randint(1, 4)
    lam = rng.choice([0, 0.3, 1])
    s = rng.choice([0.1, 0.3, 0.5, 1.0])
    rho = rng.choice([-0.6, -0.2, 0, 0.5, 1])
    K = rng.randint(1, 3)
    laws = []
    for _ in range(K):
        kind = rng.choice(["gauss", "rademacher", "sparse", "uniform", "laplace", "student", "mix"])
        m2 = rng.uniform(0.5, 3)
        if kind == "sparse":
            laws.append("sparse:%.3g:%.2g" % (m2, rng.uniform(0.2, 0.6)))
        elif kind == "student":
            laws.append("student:%.3g:%.3g" % (m2, rng.choice([12, 20, 50])))
        elif kind == "mix":
            v = rng.uniform(0.5, 2)
            laws.append("discrete:-%.3g@0.3,0@0.4,%.3g@0.3" % (v, v))
        else:
            laws.append("%s:%.3g" % (kind, m2))
    state = rng.choice(["plain", "plain", "dead", "smallR", "corr"])
    scale = 1e-3 if state == "smallR" else 0.4
    R = [[rng.uniform(-scale, scale) for _ in range(M)] for _ in range(K)]
    # A = Q - R^T R >= 0: L L^T with L lower-triangular
    L = [[0.0] * M for _ in range(M)]
    for i in range(M):
        for j in range(i + 1):
            L[i][j] = rng.uniform(0.5, 1.2) if i == j else (rng.uniform(-0.6, 0.6) if state == "corr" else 0)
    if state == "dead":
        u = rng.randrange(M)
        f = 10 ** rng.uniform(-3, -1.5)
        for k in range(K):
            R[k][u] *= f
        L[u] = [x * f for x in L[u]]
    if act == "cubic":  # from Q ~ 1 its ODEs blow up by t ~ 1e-5
        R = [[x * 0.3 for x in r] for r in R]
        L = [[x * 0.3 for x in r] for r in L]
    Q = [[sum(R[k][i] * R[k][j] for k in range(K)) + sum(L[i][a] * L[j][a] for a in range(M))
          for j in range(M)] for i in range(M)]
    if os.environ.get("AUDIT_QUAD"):  # where the quad rule applies (cubic's engine)
        rho, g = abs(rho), "square"
        laws = [law if not law.startswith("student") else "laplace:" + law.split(":")[1] for law in laws]
    args = ["--M", str(M), "--act", act, "--g", g, "--B", str(B), "--lambda", str(lam), "--s", str(s),
            "--rho", str(rho),
            "--R0", ";".join(",".join("%.17g" % x for x in r) for r in R),
            "--Q0", ";".join(",".join("%.17g" % x for x in q) for q in Q)]
    for law in laws:
        args += ["--c", law]
    return args, state


TIGHT = ["--rtol", "1e-11", "--atol", "1e-13"]  # the integrator's error is part of the table's
TIGHTER = ["--rtol", "1e-13", "--atol", "1e-16"]  # the first step alone: the drift's error


def reference_opts(eng, meth, M):
    fine = int(os.environ.get("QMC_FINE", "8"))
    if eng == "grid":
        return ["--grid-nodes", "36"] + TIGHT
    if eng == "qmc":
        m = re.search(r"x (\d+) points", meth)
        return ["--qmc-points", str(min(1 << 20, fine * int(m.group(1))))] if m else None
    if eng == "quad":
        return ["--expect", "quad", "--quad-nodes", "40" if M == 2 else "24"] + TIGHT
    if eng == "closed":
        return (["--expect", "grid", "--grid-nodes", "36"] + TIGHT if M == 2
                else ["--expect", "qmc", "--qmc-points", "65536"])
    return None


def compare(args, ta, a, meth, ca, ref, dt, timeout, deterministic=None):
    """The drift and trajectory errors of the run (ta, a, meth, ca) of
    `cldyn ode ARGS` against the run with ARGS + REF (a dict of the bounds,
    errors, ratios, the reference's bounds and the CPU s), or the
    reference's failure message.  The drift error: the first output rows'
    distance / DT, both rows rerun to DT at TIGHTER where the engine is
    deterministic (default: all but the Sobol' rules)."""
    eng = engine(meth)
    if deterministic is None:
        deterministic = eng not in ("qmc", "mc")
    db, tb = bound(meth, "drift error bound"), bound(meth, "trajectory error bound")
    tr, b, methb, cb = run(args + ref, timeout * 4)
    if tr is None:
        return b
    nrow = min(len(a), len(b))
    a1 = a[1] if nrow > 1 else None
    if a1 and deterministic:
        # the first step at the reference's tolerances: the drift alone
        # (at the default ones its integrator error over DT / DT is
        # beyond the deterministic rules' drift bounds)
        t1, a1s, _, c1 = run(args + ["--T", "%g" % dt] + TIGHTER, timeout)
        t2, b1s, _, c2 = run(args + ref + ["--T", "%g" % dt] + TIGHTER, timeout)
        a1 = a1s[1] if t1 and t2 else None
        b = [b[0], b1s[1]] + b[2:] if a1 else b
        ca, cb = ca + c1, cb + c2
    derr = max(abs(x - y) for x, y in zip(a1, b[1])) / dt if a1 else float("nan")
    terr = max(abs(x - y) for ra, rb in zip(a[:nrow], b[:nrow]) for x, y in zip(ra, rb))
    # the bound without the integrator's part (before session 15)
    ip = bound(meth, "integrator's part") or 0
    return {"db": db, "derr": derr, "dratio": derr / db if db else float("nan"),
            "tb": tb, "terr": terr, "tratio": terr / tb if tb else float("nan"),
            "old": terr / max(tb - ip, 5e-3 * tb) if tb else float("nan"),  # ip is rounded to 3 digits
            "rdb": bound(methb, "drift error bound"), "rtb": bound(methb, "trajectory error bound"),
            "cpu_a": ca, "cpu_b": cb, "ref_method": methb}


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1501
    M = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    T = float(sys.argv[4]) if len(sys.argv) > 4 else 1.0
    timeout = int(os.environ.get("AUDIT_TIMEOUT", "60"))
    rng = random.Random(seed)
    dt = T / 20
    print("case engine state   dbound  derr  dratio | tbound  terr  tratio tratio-without-integrator | ref dbound tbound | cpu a,b | options")
    for i in range(n):
        args, state = draw(rng, M)
        args += ["--T", "%g" % T, "--dt-out", "%g" % dt]
        ta, a, meth, ca = run(args, timeout)
        if ta is None:
            print("%d refused/failed: %s | %s" % (i, a, " ".join(args)), flush=True)
            continue
        eng = engine(meth)
        ref = reference_opts(eng, meth, M)
        if ref is None:
            print("%d %s: no reference | %s" % (i, eng, " ".join(args)), flush=True)
            continue
        r = compare(args, ta, a, meth, ca, ref, dt, timeout)
        if isinstance(r, str):
            print("%d %s reference failed: %s | %s" % (i, eng, r, " ".join(args)), flush=True)
            continue
        db, derr, dr, tb, terr, trr, old = r["db"], r["derr"], r["dratio"], r["tb"], r["terr"], r["tratio"], r["old"]
        rdb, rtb, ca, cb = r["rdb"], r["rtb"], r["cpu_a"], r["cpu_b"]
        print("%d %s %s %.3g %.3g %.3g | %.3g %.3g %.3g %.3g | %s %s | %.1f,%.1f | %s" % (
            i, eng, state, db or float("nan"), derr, dr, tb or float("nan"), terr, trr, old,
            "%.2g" % rdb if rdb is not None else "-", "%.2g" % rtb if rtb is not None else "-",
            ca, cb, " ".join(args)), flush=True)


if __name__ == "__main__":
    main()
