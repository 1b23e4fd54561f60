#!/usr/bin/python3
"""Arithmetic for bench/validate (theory-simulation gap against N).

  validate_gap.py plan --probe-s S --probe-N N --probe-T T --probe-runs R --threads P
                       --Ns "1000 4000 ..." --runs "32 32 ..." --T T --budget SECONDS [--min-runs 4]
      Runs per N: starts from --runs and, while the estimated total wall time
      exceeds --budget, halves the runs of the most expensive N (the largest
      one, normally), as long as that N keeps at least --min-runs; the other
      N are not cut (they cost little, and their runs make the fit).  The cost model is wall ~ ceil(runs / P) * c * N^2 * T,
      with c measured by the probe (`simulate --N N --runs R --T T`).
      Prints "runs=... est_s=... c=..." on one line.

  validate_gap.py gap SIM.csv ODE.csv N
      SIM.csv: `cldyn simulate --runs R --out` (a leading `run` column when
      R > 1); ODE.csv: `cldyn ode` with the same options.  Over all cos_*
      columns and the output times t > 0:
        gap      = sqrt(mean over runs, times, columns of (cos_sim - cos_ode)^2)
                   (the fluctuation of one run around the limit, ~ N^-1/2)
        se_log   = standard error of log(gap) (delta method over runs)
        mgap     = max over t, columns of |mean over runs cos_sim - cos_ode|
        mgap_se  = sd / sqrt(runs) at that t, column; mgap_z = mgap / mgap_se
        zmax     = max over t, columns of |mean gap| / its standard error
      Prints one key=value line.

  validate_gap.py resolve ODE.csv BOUND GAPS
      BOUND: the trajectory error bound `cldyn ode` printed (on R and Q), or
      "none"; GAPS: the `gap` lines of all N.  The bound on cos_ji =
      R_ji / sqrt(Q_ii): |d cos| <= BOUND (1 + |cos_ji| / 2) / sqrt(Q_ii),
      its maximum over the table (cos_bound); the finest resolution the
      simulations ask of the limit: target = min over N of gap / sqrt(runs)
      (the standard error of a mean over the runs, at the largest N: a rule
      error below it moves the mean gap's z by less than 1); ok=1 if
      cos_bound <= target.

  validate_gap.py fit FILE
      FILE: the `gap` lines of all N.  Least-squares slope of log(gap) against
      log(N), standard error from the residuals (n - 2 degrees of freedom);
      also the slope weighted by se_log, for information.
"""
import math
import sys

import numpy as np


def kv(line):
    return dict(tok.split("=", 1) for tok in line.split() if "=" in tok)


def plan(argv):
    import argparse

    ap = argparse.ArgumentParser()
    for k in ("probe-s", "probe-N", "probe-T", "probe-runs", "threads", "T", "budget"):
        ap.add_argument("--" + k, type=float, required=True)
    ap.add_argument("--Ns", required=True)
    ap.add_argument("--runs", required=True)
    ap.add_argument("--min-runs", type=int, default=4)
    a = ap.parse_args(argv)
    P = max(1, int(a.threads))
    c = a.probe_s / (math.ceil(a.probe_runs / P) * a.probe_N**2 * a.probe_T)
    Ns = [int(float(x)) for x in a.Ns.split()]
    runs = [int(x) for x in a.runs.split()]
    if len(runs) != len(Ns):
        sys.exit("plan: --runs and --Ns differ in length")

    def cost(i):
        return math.ceil(runs[i] / P) * c * Ns[i] ** 2 * a.T

    while sum(cost(i) for i in range(len(Ns))) > a.budget:
        i = max(range(len(Ns)), key=cost)
        if runs[i] // 2 < a.min_runs:
            break
        runs[i] //= 2
    est = sum(cost(i) for i in range(len(Ns)))
    print(f"runs={','.join(map(str, runs))} est_s={est:.0f} c={c:.4g}")


def load(path):
    with open(path) as f:
        head = f.readline().strip().split(",")
    data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return head, data


def gap(argv):
    sim_path, ode_path, N = argv[0], argv[1], int(float(argv[2]))
    hs, S = load(sim_path)
    ho, O = load(ode_path)
    cols = [h for h in ho if h.startswith("cos_")]
    if "run" in hs:
        run = S[:, hs.index("run")]
    else:
        run = np.ones(len(S))
    ids = np.unique(run)
    R, nt = len(ids), len(O)
    ts = O[:, ho.index("t")]
    # sim[r, k, j]: run r, time k, cos column j
    sim = np.empty((R, nt, len(cols)))
    for r, rid in enumerate(ids):
        rows = S[run == rid]
        if len(rows) != nt or np.abs(rows[:, hs.index("t")] - ts).max() > 1e-9:
            sys.exit(f"gap: run {rid:g} has times different from the ODE's")
        sim[r] = rows[:, [hs.index(c) for c in cols]]
    ode = O[:, [ho.index(c) for c in cols]]
    keep = ts > 0
    d = (sim - ode[None])[:, keep, :]  # (R, nt', ncol)
    per_run = (d**2).mean(axis=(1, 2))  # mean square of each run
    g2 = per_run.mean()
    g = math.sqrt(g2)
    se_g2 = per_run.std(ddof=1) / math.sqrt(R) if R > 1 else float("nan")
    se_log = se_g2 / (2 * g2)
    mean = d.mean(axis=0)  # (nt', ncol)
    se = d.std(axis=0, ddof=1) / math.sqrt(R) if R > 1 else np.full_like(mean, np.nan)
    k = np.unravel_index(np.abs(mean).argmax(), mean.shape)
    mg, mse = abs(float(mean[k])), float(se[k])
    z = np.abs(mean) / np.where(se > 0, se, np.inf)
    tk = ts[keep][k[0]]
    print(f"N={N} runs={R} gap={g:.6e} se_log={se_log:.4f} gap_sqrtN={g * math.sqrt(N):.4f} "
          f"mgap={mg:.3e} mgap_se={mse:.3e} mgap_t={tk:g} mgap_z={mg / mse:.2f} "
          f"mgap_N={mg * N:.3f} zmax={float(z.max()):.2f}")


def resolve(argv):
    ho, O = load(argv[0])
    rows = [kv(l) for l in open(argv[2]) if l.startswith("N=")]
    target = min(float(r["gap"]) / math.sqrt(float(r["runs"])) for r in rows)
    if argv[1] == "none":
        print(f"cos_bound=none target={target:.3e} ok=1")
        return
    b = float(argv[1])
    worst = 0.0
    for h in ho:
        if h.startswith("cos_"):
            i = h.split("_")[2]
            q = O[:, ho.index(f"Q_{i}_{i}")]
            c = np.abs(O[:, ho.index(h)])
            worst = max(worst, float(((1 + c / 2) / np.sqrt(q)).max()))
    cb = b * worst
    print(f"cos_bound={cb:.3e} target={target:.3e} ok={int(cb <= target)}")


def fit(argv):
    rows = [kv(l) for l in open(argv[0]) if l.startswith("N=")]
    x = np.log([float(r["N"]) for r in rows])
    y = np.log([float(r["gap"]) for r in rows])
    w = np.array([float(r["se_log"]) for r in rows])
    n = len(x)
    A = np.vstack([x, np.ones(n)]).T
    (b, a), *_ = np.linalg.lstsq(A, y, rcond=None)
    res = y - (a + b * x)
    sxx = ((x - x.mean()) ** 2).sum()
    se = math.sqrt((res**2).sum() / (n - 2) / sxx) if n > 2 else float("nan")
    # weighted by the statistical errors of log(gap), for information
    W = 1.0 / np.maximum(w, 1e-12) ** 2
    xw = (W * x).sum() / W.sum()
    bw = (W * (x - xw) * y).sum() / (W * (x - xw) ** 2).sum()
    sew = math.sqrt(1.0 / (W * (x - xw) ** 2).sum())
    chi2 = float((W * (y - (y * W).sum() / W.sum() - bw * (x - xw)) ** 2).sum())
    print(f"slope={b:.4f} slope_se={se:.4f} intercept={a:.4f} n={n} "
          f"wslope={bw:.4f} wslope_se={sew:.4f} wchi2={chi2:.2f} wdof={n - 2}")


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "plan":
        plan(sys.argv[2:])
    elif cmd == "gap":
        gap(sys.argv[2:])
    elif cmd == "resolve":
        resolve(sys.argv[2:])
    elif cmd == "fit":
        fit(sys.argv[2:])
    else:
        sys.exit(__doc__)
