#!/usr/bin/python3
"""How much of the M = 4 drift needs more than two units (docs/grid.md s.12).

  bench/terms_m4.py [SAMPLES] [SEED]      (default 400000 samples, seed 1)

Plain Monte Carlo (numpy) of the per-sample integrands of case B of issue 12
at its start: M = 4, K = 4 (laplace:3, uniform:3, rademacher:3,
rademacher:2), tanh, lambda = 1, g = square, B = 1, s = 0.5, rho = 0,
Q = I and bench/multi_cases.sh's R0.  The per-sample gradient is split as
docs/multi.md s.2 writes it,

    ghat1_i = alpha1_i - 2 lambda sum_{k != i} beta1_ik,
    alpha1_i = sigma'(h1_i) y2_i,   beta1_ik = sigma'(h1_i) y1_i y2_k^2

(view 2 mirrored), so every product ghat^a_i ghat^b_l is a sum of terms,
each a function of the units it names.  The script prints the standard
deviation over samples of the integrands of dR (its feature part
(ghat1 + ghat2) c_j), P and V, and of the part
of V made of terms naming three or four distinct units (its mean too).
The spread sets the error of a sampling rule; if the three- and four-unit
part were small, the pairs could be computed exactly (the M = 2 grid) and
only that part sampled.  Reported only: a benchmark, not a test.
"""
import sys

import numpy as np

n = int(sys.argv[1]) if len(sys.argv) > 1 else 400000
rng = np.random.default_rng(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
M, lam, s, rho = 4, 1.0, 0.5, 0.0
R = np.array([[0.1, 0.02, 0.01, 0], [0.02, 0.1, 0.01, 0.01], [0.01, 0, 0.1, 0.02], [0, 0.01, 0.02, 0.1]])
Q = np.eye(M)
c = np.stack([rng.laplace(0, np.sqrt(1.5), n), rng.uniform(-3, 3, n),
              rng.choice([-1, 1], n) * np.sqrt(3), rng.choice([-1, 1], n) * np.sqrt(2)], 1)
zt = rng.standard_normal((n, M)) @ np.linalg.cholesky(Q - R.T @ R).T
L = np.linalg.cholesky(Q)
eps1, eps2 = rng.standard_normal((n, M)), rng.standard_normal((n, M))
h1 = c @ R + zt + s * eps1 @ L.T
h2 = c @ R + zt + s * eps2 @ L.T
y1, y2 = np.tanh(h1), np.tanh(h2)
d1, d2 = 1 - y1 ** 2, 1 - y2 ** 2
al = {1: d1 * y2, 2: d2 * y1}
be = {1: (d1 * y1)[:, :, None] * (y2 ** 2)[:, None, :], 2: (d2 * y2)[:, :, None] * (y1 ** 2)[:, None, :]}
for b in be.values():
    for i in range(M):
        b[:, i, i] = 0
g = {a: al[a] - 2 * lam * be[a].sum(2) for a in (1, 2)}
u = g[1] + g[2]
print("samples %d; per-sample standard deviations (max over components)" % n)
print("  dR integrand, feature part (ghat1 + ghat2) c_j: %.3g"
      % max((u[:, i] * c[:, j]).std() for i in range(M) for j in range(M)))
print("  P integrand ghat1_l h1_i + ghat2_l h2_i: %.3g"
      % max((g[1][:, l] * h1[:, i] + g[2][:, l] * h2[:, i]).std() for i in range(M) for l in range(M)))


def vint(p1, p2, q1, q2):
    return (p1 + p2) * (q1 + q2) + s * s * (p1 * q1 + p2 * q2 + rho * (p1 * q2 + p2 * q1))


print("  V integrand: %.3g" % max(vint(g[1][:, i], g[2][:, i], g[1][:, l], g[2][:, l]).std()
                                  for i in range(M) for l in range(M)))


def terms(a, i):
    t = [({i}, al[a][:, i])]
    t += [({i, k}, -2 * lam * be[a][:, i, k]) for k in range(M) if k != i]
    return t


def rem(a, b, i, l):  # the terms of ghat^a_i ghat^b_l naming >= 3 distinct units
    r = np.zeros(n)
    for u1, x in terms(a, i):
        for u2, y in terms(b, l):
            if len(u1 | u2) >= 3:
                r += x * y
    return r


sds, means = [], []
for i in range(M):
    for l in range(i, M):
        r11, r22, r12, r21 = rem(1, 1, i, l), rem(2, 2, i, l), rem(1, 2, i, l), rem(2, 1, i, l)
        v = r11 + r22 + r12 + r21 + s * s * (r11 + r22 + rho * (r12 + r21))
        sds.append(v.std())
        means.append(abs(v.mean()))
print("  V, terms naming 3 or 4 units: sd %.3g, |mean| up to %.3g" % (max(sds), max(means)))
