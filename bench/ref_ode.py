#!/usr/bin/python3
"""SciPy reference for cldyn's high-dimensional-limit ODEs, M = 1, K = 1.

Model (cldyn defaults): c = +-sqrt(m2) rademacher (m2 = 3), tanh activation
sigma, loss F = -y1 y2, L2 regularizer beta, batch size B.  With order
parameters R (overlap with the feature) and Q (squared norm), A = Q - R^2:

    h_a = c R + zt + e_a,  zt ~ N(0, A),  (e_1, e_2) ~ N(0, s^2 Q [[1, rho], [rho, 1]])
    G1 = sigma'(h1) sigma(h2),  G2 = sigma(h1) sigma'(h2)
    a   = E[(G1 + G2) c]
    b_e = s^2 E[sigma''(h1) sigma(h2) + sigma(h1) sigma''(h2) + 2 rho sigma'(h1) sigma'(h2)]
    V   = E[(G1 + G2)^2 + s^2 (G1^2 + G2^2 + 2 rho G1 G2)]
    dR/dt = tau (a + b_e R - beta R)
    dQ/dt = 2 tau (E[G1 h1 + G2 h2] - beta Q) + tau^2 V / B

Given c, (h1, h2) is bivariate normal with mean (cR, cR), variances
A + s^2 Q and covariance A + rho s^2 Q.  The expectation over c is the exact
two-atom sum; the Gaussian one a tensor Gauss-Hermite rule (hermgauss, --n-gh
points per direction, default 40) mapped through the Cholesky factor of the
2x2 covariance, evaluated for both atoms at once with NumPy.  Integration:
scipy.integrate.solve_ivp(method='DOP853', rtol=1e-8, atol=1e-10), output at
t = 0, dt_out, ..., T.

Usage:
  ref_ode.py                     wall time (median of --reps solves) and final cos
  ref_ode.py --csv               also print the trajectory, t,R_1_1,Q_1_1,cos_1_1
                                 (the summary line then goes to stderr)
Run it with /usr/bin/python3 (Debian's python3-numpy / python3-scipy).
"""
import argparse
import math
import sys
import time

import numpy as np
from numpy.polynomial.hermite import hermgauss
from scipy.integrate import solve_ivp


class Drift:
    def __init__(self, tau=0.5, s=0.5, rho=0.0, beta=0.5, B=1, m2=3.0, n_gh=40):
        self.tau, self.s, self.rho, self.beta, self.B = tau, s, rho, beta, B
        # c atoms (exact), shape (2, 1) to broadcast against the Gaussian nodes
        amp = math.sqrt(m2)
        self.c = np.array([[amp], [-amp]])
        self.pc = 0.5
        # tensor Gauss-Hermite rule for a standard bivariate normal: x = sqrt2 * node
        x, w = hermgauss(n_gh)
        x = math.sqrt(2.0) * x
        w = w / math.sqrt(math.pi)
        X1, X2 = np.meshgrid(x, x, indexing="ij")
        self.x1 = X1.ravel()
        self.x2 = X2.ravel()
        self.w = np.outer(w, w).ravel()

    def __call__(self, t, y):
        R, Q = y
        tau, s, rho, beta = self.tau, self.s, self.rho, self.beta
        s2 = s * s
        A = Q - R * R
        var = A + s2 * Q
        cov = A + rho * s2 * Q
        l11 = math.sqrt(var)
        l21 = cov / l11
        l22 = math.sqrt(max(var - l21 * l21, 0.0))
        c = self.c
        mu = c * R  # (2, 1)
        h1 = mu + l11 * self.x1  # (2, n^2)
        h2 = mu + (l21 * self.x1 + l22 * self.x2)
        y1 = np.tanh(h1)
        y2 = np.tanh(h2)
        d1 = 1.0 - y1 * y1  # tanh'
        d2 = 1.0 - y2 * y2
        dd1 = -2.0 * y1 * d1  # tanh''
        dd2 = -2.0 * y2 * d2
        G1 = d1 * y2
        G2 = y1 * d2
        Gs = G1 + G2
        W = self.w * self.pc  # the weight of each (c, node) pair
        a = float(np.sum(W * (Gs * c)))
        be = s2 * float(np.sum(W * (dd1 * y2 + y1 * dd2 + 2.0 * rho * d1 * d2)))
        V = float(np.sum(W * (Gs * Gs + s2 * (G1 * G1 + G2 * G2 + 2.0 * rho * G1 * G2))))
        Gh = float(np.sum(W * (G1 * h1 + G2 * h2)))
        dR = tau * (a + be * R - beta * R)
        dQ = 2.0 * tau * (Gh - beta * Q) + tau * tau * V / self.B
        return [dR, dQ]


def solve(drift, R0, Q0, T, dt_out, rtol, atol):
    nt = int(math.floor(T / dt_out * (1 + 1e-12) + 1e-9)) + 1
    t_eval = np.arange(nt) * dt_out
    t_eval[-1] = min(t_eval[-1], T)
    sol = solve_ivp(drift, (0.0, T), [R0, Q0], method="DOP853", t_eval=t_eval, rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(sol.message)
    return sol


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--T", type=float, default=50.0)
    ap.add_argument("--dt-out", type=float, default=0.5)
    ap.add_argument("--R0", type=float, default=0.1)
    ap.add_argument("--Q0", type=float, default=1.0)
    ap.add_argument("--tau", type=float, default=0.5)
    ap.add_argument("--s", type=float, default=0.5)
    ap.add_argument("--rho", type=float, default=0.0)
    ap.add_argument("--beta", type=float, default=0.5)
    ap.add_argument("--B", type=int, default=1)
    ap.add_argument("--m2", type=float, default=3.0, help="<c^2>: c = +-sqrt(m2)")
    ap.add_argument("--n-gh", type=int, default=40, help="Gauss-Hermite points per direction")
    ap.add_argument("--rtol", type=float, default=1e-8)
    ap.add_argument("--atol", type=float, default=1e-10)
    ap.add_argument("--reps", type=int, default=3, help="timed solves (the median is reported)")
    ap.add_argument("--csv", action="store_true", help="print the trajectory as CSV on stdout")
    args = ap.parse_args()

    drift = Drift(tau=args.tau, s=args.s, rho=args.rho, beta=args.beta, B=args.B, m2=args.m2, n_gh=args.n_gh)
    times = []
    for _ in range(max(1, args.reps)):
        t0 = time.perf_counter()
        sol = solve(drift, args.R0, args.Q0, args.T, args.dt_out, args.rtol, args.atol)
        times.append(time.perf_counter() - t0)
    R, Q = sol.y
    cos = R / np.sqrt(Q)
    summary = (f"scipy_s={float(np.median(times)):.6f} (median of {len(times)}) nfev={sol.nfev} "
               f"n_gh={args.n_gh} cos_1_1(T)={cos[-1]:.10f} scipy={__import__('scipy').__version__}")
    if args.csv:
        print("t,R_1_1,Q_1_1,cos_1_1")
        for k in range(len(sol.t)):
            print(f"{sol.t[k]:.17g},{R[k]:.17g},{Q[k]:.17g},{cos[k]:.17g}")
        print(summary, file=sys.stderr)
    else:
        print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
