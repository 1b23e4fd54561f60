#!/usr/bin/python3
"""NumPy reference for cldyn's M = 1, B = 1 online SGD step (docs/model.md s.4).

Model (cldyn defaults): axis feature u_1 = e_1, K = 1, c ~ rademacher with
<c^2> = 3 (c = +-sqrt 3), tanh, loss F = -y1 y2 (lambda = 0), L2 regularizer
beta.  One step:

    c drawn; z, e1, e' ~ N(0, I_N); z[0] = c      (x = U c + P_perp z)
    e2 = rho e1 + sqrt(1 - rho^2) e'
    h1 = (w.z + s w.e1) / sqrt N,   h2 = (w.z + s w.e2) / sqrt N
    G1 = tanh'(h1) tanh(h2),        G2 = tanh(h1) tanh'(h2)
    w <- (1 - tau beta / N) w + tau/sqrt(N) ((G1 + G2) z + s (G1 e1 + G2 e2))

Initial state (overlap): w = sqrt(N) (R0 e_1 + sqrt(Q0 - R0^2) v), v a random
unit vector orthogonal to e_1.  Time t = steps / N.

Written as an ordinary NumPy user would: one Generator, one
standard_normal((3, N)) draw per step into a preallocated buffer, and the
three projections and the update as two BLAS matrix-vector products with the
(3, N) block (e2 is a linear combination of e1 and e', so w.e2 and the e2
term of the update are folded into the coefficients: the same arithmetic up
to rounding, not an approximation).

Usage:
  ref_simulate.py --N 10000 --steps 1000          per-step time (s), final R, Q
  ref_simulate.py --N 1000 --T 5 --runs 8         R, Q, cos every --dt-out
                                                  (mean and sd over runs)
Run it with /usr/bin/python3 (Debian's python3-numpy).
"""
import argparse
import math
import sys
import time

import numpy as np


def init_w(N, R0, Q0, rng):
    v = rng.standard_normal(N)
    v[0] = 0.0
    v /= np.linalg.norm(v)
    w = math.sqrt(Q0 - R0 * R0) * v
    w[0] = R0
    w *= math.sqrt(N)
    return w


class Sim:
    def __init__(self, N, seed, rho=0.0, s=0.5, tau=0.5, beta=0.5, m2=3.0, R0=0.1, Q0=1.0):
        self.N = N
        self.rng = np.random.default_rng(seed)
        self.w = init_w(N, R0, Q0, self.rng)
        self.g = np.empty((3, N))  # z | e1 | e'
        self.tmp = np.empty(N)
        self.rho, self.sr, self.s = rho, math.sqrt(1.0 - rho * rho), s
        self.isq = 1.0 / math.sqrt(N)
        self.a = tau / math.sqrt(N)
        self.keep = 1.0 - tau * beta / N
        self.camp = math.sqrt(m2)
        self.steps = 0

    def advance(self, steps):
        rng, g, w, tmp = self.rng, self.g, self.w, self.tmp
        rho, sr, s, isq, a, keep = self.rho, self.sr, self.s, self.isq, self.a, self.keep
        # the steps' hidden variables c = +-sqrt(m2), drawn in one call
        cs = np.where(rng.random(steps) < 0.5, self.camp, -self.camp).tolist()
        coef = np.empty(3)
        tanh = math.tanh
        for k in range(steps):
            rng.standard_normal(out=g)
            g[0, 0] = cs[k]  # axis layout: z[0] = c
            pz, p1, pp = g @ w  # w.z, w.e1, w.e'
            p2 = rho * p1 + sr * pp  # w.e2
            h1 = (pz + s * p1) * isq
            h2 = (pz + s * p2) * isq
            y1, y2 = tanh(h1), tanh(h2)
            G1 = (1.0 - y1 * y1) * y2
            G2 = y1 * (1.0 - y2 * y2)
            # az z + a1 e1 + a2 e2 = az z + (a1 + rho a2) e1 + sr a2 e'
            a1, a2 = a * s * G1, a * s * G2
            coef[0] = a * (G1 + G2)
            coef[1] = a1 + rho * a2
            coef[2] = sr * a2
            np.dot(coef, g, out=tmp)
            w *= keep
            w += tmp
        self.steps += steps

    def order(self):
        N = self.N
        R = self.w[0] / math.sqrt(N)
        Q = float(self.w @ self.w) / N
        return R, Q, R / math.sqrt(Q)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--N", type=float, default=1000)
    ap.add_argument("--steps", type=float, default=None, help="steps per timed repetition")
    ap.add_argument("--reps", type=int, default=5, help="timed repetitions (after one warm-up)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rho", type=float, default=0.0)
    ap.add_argument("--s", type=float, default=0.5)
    ap.add_argument("--tau", type=float, default=0.5)
    ap.add_argument("--beta", type=float, default=0.5)
    ap.add_argument("--T", type=float, default=None, help="trajectory mode: run to time T")
    ap.add_argument("--dt-out", type=float, default=0.5)
    ap.add_argument("--runs", type=int, default=1, help="trajectory mode: seeds seed..seed+runs-1")
    args = ap.parse_args()
    N = int(args.N)
    kw = dict(rho=args.rho, s=args.s, tau=args.tau, beta=args.beta)

    if args.T is not None:
        nt = int(math.floor(args.T / args.dt_out * (1 + 1e-12) + 1e-9)) + 1
        out = np.empty((args.runs, nt, 3))
        for r in range(args.runs):
            sim = Sim(N, args.seed + r, **kw)
            for k in range(nt):
                sim.advance(round(k * args.dt_out * N) - sim.steps)
                out[r, k] = sim.order()
        mean = out.mean(axis=0)
        sd = out.std(axis=0, ddof=1) if args.runs > 1 else np.zeros_like(mean)
        print("t,R_mean,R_sd,Q_mean,Q_sd,cos_mean,cos_sd")
        for k in range(nt):
            t = round(k * args.dt_out * N) / N
            print(f"{t:g},{mean[k,0]:.6f},{sd[k,0]:.6f},{mean[k,1]:.6f},{sd[k,1]:.6f},"
                  f"{mean[k,2]:.6f},{sd[k,2]:.6f}")
        return 0

    steps = int(args.steps) if args.steps else max(20, int(6e6 / N))
    sim = Sim(N, args.seed, **kw)
    sim.advance(max(1, steps // 4))  # warm-up
    times = []
    for _ in range(max(1, args.reps)):
        t0 = time.perf_counter()
        sim.advance(steps)
        times.append((time.perf_counter() - t0) / steps)
    R, Q, cos = sim.order()
    print(f"N={N} steps={steps} reps={len(times)} step_s={float(np.median(times)):.6e} "
          f"R={R:.6f} Q={Q:.6f} cos={cos:.6f} numpy={np.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
