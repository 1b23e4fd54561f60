#!/usr/bin/env python3
"""bench/audit_closed_s20.py - the closed forms' printed bounds at M = 3 and 4
(session 20, docs/closed-forms.md s.7, docs/multi.md s.13 rows 20, 21).

  bench/audit_closed_s20.py [CASE ...]   (default: every case; CASE a number)

Rows 20 and 21 of bench/audit_s19.py at T = 0.5 (the session-19 audit's
Sobol' reference at 2^16 points could not resolve them) and one M = 4
case, each run with `--expect closed` at the defaults, against a reference
that resolves it:
- lambda = 0 (row 20): the units decouple (each unit's per-sample gradient
  depends on its own pre-activations alone), so the trajectory of units
  (i, l) of the M = 3 model is that of the M = 2 model on their columns of
  R and block of Q: the reference is the tensor rule (docs/multi.md s.6;
  the grid and the quad rule need rho >= 0) on each of the three pairs, an
  independent engine, at --quad-gauss TENSOR_GAUSS (default 64) and
  --rtol 1e-11 --atol 1e-13;
- lambda > 0: the quad rule (docs/accurate.md) took minutes of CPU per
  trajectory at M = 3 (T = 0.02 of row 21 passed 30 CPU s at the default
  nodes under load 11), so the trajectory is checked against the closed
  forms themselves at --rtol 1e-12 --atol 1e-15 with a fixed 48-point rule
  (the integrator's and the Gauss-Legendre terms' errors; not
  independent), and the drift at t = 0 against the quad rule by
  bench/closed_drift_ref (independent; not in this script).
Drift error: the first rows (t = T / 10) of runs to T / 10 at --rtol 1e-13
--atol 1e-16, distance over T / 10; trajectory error: the largest distance
over the R/Q table (every T / 10).  AUDIT_TIMEOUT: CPU s per run (default
600).  Reported only: not a test."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import audit_bounds_m2 as aud  # noqa: E402
import audit_s19 as s19  # noqa: E402

TIGHT = aud.TIGHT
TIGHTER = aud.TIGHTER
R4 = [[0.21, -0.06, 0.12, 0.05], [0.04, 0.27, -0.1, 0.15]]
L4 = [[0.74, 0, 0, 0], [0.1, 0.7, 0, 0], [-0.15, 0.08, 0.79, 0], [0.05, -0.12, 0.1, 0.66]]

# (name, options, (R, L), T, reference: "pairs" or quad nodes)
CASES = [
    ("s19 row 20: M 3, erf, abs, B 3, lambda 0, s 1.5, rho -0.4, gauss:2.2 gauss:1.1",
     "--M 3 --act erf --g abs --B 3 --lambda 0 --s 1.5 --rho -0.4 --c gauss:2.2 --c gauss:1.1", (s19.R3, s19.L3), 0.5,
     "pairs"),
    ("s19 row 21: M 3, erf, square, B 1, lambda 1, s 0.2, gauss:1.3 gauss:2.1, unit 3 nearly dead",
     "--M 3 --act erf --lambda 1 --s 0.2 --c gauss:1.3 --c gauss:2.1", (s19.R3d, s19.L3d), 0.5, "tight"),
    ("M 4, erf, square, B 1, lambda 0.5, s 0.3, rho 0.4, gauss:1.2 gauss:0.9",
     "--M 4 --act erf --lambda 0.5 --s 0.3 --rho 0.4 --c gauss:1.2 --c gauss:0.9", (R4, L4), 0.5, "tight"),
]


def sub(R, L, i, l):
    """Units (i, l) alone: their columns of R, L's rows (Q's block)."""
    return [[r[i], r[l]] for r in R], [L[i], L[l]]


def pair_state(R, L, i, l):
    """--R0, --Q0 of the pair: Q_pair = R_p^T R_p + L_p L_p^T (L_p: 2 rows of M)."""
    Rp, Lp = sub(R, L, i, l)
    Q = [[sum(Rp[k][a] * Rp[k][b] for k in range(len(Rp))) + sum(x * y for x, y in zip(Lp[a], Lp[b]))
          for b in range(2)] for a in range(2)]
    return ["--R0", ";".join(",".join("%.17g" % x for x in r) for r in Rp),
            "--Q0", ";".join(",".join("%.17g" % x for x in q) for q in Q)]


def pairs_reference(opts, R, L, T, extra, timeout):
    """The M = 3 table (R_k_i by k then i, then Q_i_l, i <= l) from the three
    M = 2 tensor-rule runs of the pairs; (times, table, [methods], cpu) or None."""
    M, K = len(L), len(R)
    base = [x for x in opts.split()]
    base[base.index("--M") + 1] = "2"
    got, meths, cpu, times = {}, [], 0, None
    for i in range(M):
        for l in range(i + 1, M):
            t, tab, meth, c = aud.run(base + pair_state(R, L, i, l) + extra + ["--expect", "tensor", "--quad-gauss",
                                                                                   os.environ.get("TENSOR_GAUSS", "64")],
                                      timeout)
            cpu += c
            if t is None:
                return None, tab, None, cpu
            times, meths = t, meths + [meth]
            # pair table: R_k_1, R_k_2 by k, then Q_11, Q_12, Q_22
            for j, row in enumerate(tab):
                for k in range(K):
                    got[(j, "R", k, i)] = row[2 * k]
                    got[(j, "R", k, l)] = row[2 * k + 1]
                got[(j, "Q", i, i)], got[(j, "Q", i, l)], got[(j, "Q", l, l)] = row[2 * K:2 * K + 3]
    cols = [("R", k, i) for k in range(K) for i in range(M)] + [("Q", i, l) for i in range(M) for l in range(i, M)]
    return times, [[got[(j,) + c] for c in cols] for j in range(len(times))], meths, cpu


HEADER = ["#", "case", "T", "drift bound", "drift error", "ratio", "traj. bound (integrator's, drift's part)",
          "traj. error", "ratio", "reference (its drift, traj. bounds)", "CPU s run, ref"]


def main():
    timeout = int(os.environ.get("AUDIT_TIMEOUT", "600"))
    print("| " + " | ".join(HEADER) + " |\n|" + " --- |" * len(HEADER))
    for n in [int(x) for x in sys.argv[1:]] or range(len(CASES)):
        name, opts, (R, L), T, ref = CASES[n]
        dt = T / 10
        args = opts.split() + s19.state(R, L) + ["--expect", "closed"]
        sched = ["--T", "%g" % T, "--dt-out", "%g" % dt]
        ta, a, meth, ca = aud.run(args + sched, timeout)
        if ta is None:
            print("| %d | %s | failed: %s |" % (n, name, a), flush=True)
            continue
        a1t, a1, _, c1 = aud.run(args + ["--T", "%g" % dt, "--dt-out", "%g" % dt] + TIGHTER, timeout)
        if ref == "pairs":
            tb_, b, rm, cb = pairs_reference(opts, R, L, T, sched + TIGHT, timeout)
            b1t, b1, _, c2 = pairs_reference(opts, R, L, dt, ["--T", "%g" % dt, "--dt-out", "%g" % dt] + TIGHTER,
                                             timeout)
            rdesc = "tensor rule on the 3 pairs (%s; %s)" % (
                ", ".join("%.2g" % (aud.bound(m, "drift error bound") or float("nan")) for m in rm),
                ", ".join("%.2g" % (aud.bound(m, "trajectory error bound") or float("nan")) for m in rm))
        else:
            q = ["--quad-gauss", "48", "--rtol", "1e-12", "--atol", "1e-15"]
            tb_, b, rm, cb = aud.run(args + sched + q, timeout * 4)
            b1t, b1, _, c2 = aud.run(args + ["--T", "%g" % dt, "--dt-out", "%g" % dt, "--quad-gauss", "48"] + TIGHTER,
                                     timeout * 4)
            rdesc = "closed, 48 points, rtol 1e-12 (%s, %s)" % (
                aud.bound(rm, "drift error bound") if rm else "-", aud.bound(rm, "trajectory error bound") if rm else "-")
        if tb_ is None or b1t is None or a1t is None:
            print("| %d | %s | reference failed: %s |" % (n, name, b if tb_ is None else b1), flush=True)
            continue
        db, tbd = aud.bound(meth, "drift error bound"), aud.bound(meth, "trajectory error bound")
        ip, dp = aud.bound(meth, "integrator's part"), aud.bound(meth, "the drift's part")
        derr = max(abs(x - y) for x, y in zip(a1[1], b1[1])) / dt
        terr = max(abs(x - y) for ra, rb in zip(a, b) for x, y in zip(ra, rb))
        print("| %d | %s | %g | %.3g | %.3g | %s | %.3g (%.3g, %.3g) | %.3g | %.3g | %s | %.1f, %.1f |" % (
            n, name, T, db, derr, "%.2g" % (derr / db) if db else "- (exact)", tbd, ip or 0, dp or 0, terr,
            terr / tbd, rdesc, ca + c1, cb + c2), flush=True)


if __name__ == "__main__":
    main()
