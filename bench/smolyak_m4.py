#!/usr/bin/python3
"""Route (d) for case B of issue 12: a sparse grid (Smolyak) over the
feature variables and the Gaussian part, for one four-unit term of V
(a measured study, docs/grid.md s.12; not an engine, not a test).

  bench/smolyak_m4.py [LMAX]

Case B's start: M = K = 4 (laplace:3, uniform:3, rademacher:3,
rademacher:2), R0 of bench/multi_cases.sh, Q = I, tanh, s = 0.5, rho = 0.
The term is E[DY_1(h1_1) DY_2(h1_2) YY_3(h2_3) YY_4(h2_4)] (DY = sigma'
sigma, YY = sigma^2; h1 view 1, h2 view 2): a product of four one-variable
functions of (h1_1, h1_2, h2_3, h2_4) = R^T c + G, G Gaussian with the
covariance of docs/multi.md s.1 (zt + e_a).  The two rademacher atoms are
summed exactly; the rest is a 6-d integral over (z, c_laplace, c_uniform),
G = L z with L the Cholesky factor.

Printed: (1) the Smolyak combination rule's own check on an entire
function with the same 1-d families (its error must fall fast: the rule
is right); (2) the term by tensor rules (trapezoid on [-7, 7] per Gaussian
direction, Gauss-Laguerre per half of the laplace law, Gauss-Legendre for
the uniform), the reference; (3) the term by Smolyak rules of level 2..LMAX
with Gauss-Hermite (2l - 1 nodes at level l) and with the trapezoid (4l + 1)
in the Gaussian directions.  numpy only.
"""
import itertools
import math
import sys
import time
from math import comb

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from numpy.polynomial.laguerre import laggauss
from numpy.polynomial.legendre import leggauss

R = np.array([[0.1, 0.02, 0.01, 0], [0.02, 0.1, 0.01, 0.01],
              [0.01, 0, 0.1, 0.02], [0, 0.01, 0.02, 0.1]])
Q = np.eye(4)
S, RHO = 0.5, 0.0
A = Q - R.T @ R
UNITS, VIEWS = [0, 1, 2, 3], [1, 1, 2, 2]
C = np.array([[A[u, v] + S * S * Q[u, v] * (1 if a == b else RHO)
               for v, b in zip(UNITS, VIEWS)] for u, a in zip(UNITS, VIEWS)])
L = np.linalg.cholesky(C)
RS = R[:, UNITS]
BL, AU = math.sqrt(1.5), 3.0  # laplace scale, uniform half-width (m2 = 3)
ATOMS = [(x, y) for x in (-math.sqrt(3), math.sqrt(3)) for y in (-math.sqrt(2), math.sqrt(2))]
th = np.tanh
FS = [lambda h: (1 - th(h) ** 2) * th(h)] * 2 + [lambda h: th(h) ** 2] * 2


def rule(kind, n):
    if kind == 'g':
        x, w = hermegauss(n)
        return x, w / w.sum()
    if kind == 't':
        x = np.linspace(-7.0, 7.0, n)
        w = np.exp(-x * x / 2)
        return x, w / w.sum()
    if kind == 'l':
        x, w = laggauss(n)
        return np.concatenate([-x[::-1], x]) * BL, np.concatenate([w[::-1], w]) / 2
    x, w = leggauss(n)
    return x * AU, w / 2


def npts(kind, lev):
    return {'g': 2 * lev - 1, 't': 4 * lev + 1, 'l': lev, 'u': lev}[kind]


def term(X):
    G = X[:, :4] @ L.T
    tot = np.zeros(X.shape[0])
    for c2, c3 in ATOMS:
        H = X[:, 4:5] * RS[0] + X[:, 5:6] * RS[1] + c2 * RS[2] + c3 * RS[3] + G
        p = np.ones(X.shape[0])
        for a in range(4):
            p *= FS[a](H[:, a])
        tot += p / 4
    return tot


def smooth(X):
    return (np.cos(X[:, 0]) * np.cos(0.5 * X[:, 1]) * np.exp(0.3 * X[:, 2]) * np.cos(X[:, 3])
            * np.cos(0.2 * X[:, 4]) * np.cos(0.3 * X[:, 5]))


SMOOTH_EXACT = (math.exp(-0.5 - 0.125 + 0.045 - 0.5) / (1 + 0.04 * 1.5)
                * math.sin(0.9) / 0.9)


def tensor(kinds, ns, f):
    xs, ws = zip(*[rule(k, n) for k, n in zip(kinds, ns)])
    X = np.stack([g.ravel() for g in np.meshgrid(*xs, indexing='ij')], axis=1)
    W = ws[0]
    for w in ws[1:]:
        W = np.multiply.outer(W, w)
    return float(np.dot(W.ravel(), f(X))), len(X)


def smolyak(kinds, lmax, f):
    d = len(kinds)
    tot, n = 0.0, 0
    for lv in itertools.product(range(1, lmax + 1), repeat=d):
        q = lmax + d - 1 - sum(lv)
        if q < 0 or q > d - 1:
            continue
        v, m = tensor(kinds, [npts(k, l) for k, l in zip(kinds, lv)], f)
        tot += (-1) ** q * comb(d - 1, q) * v
        n += m
    return tot, n


def tensor_ref(nz, nc):
    """the term by tensor rules, looping over the c nodes (memory)"""
    zx, zw = rule('t', nz)
    Z = np.stack([g.ravel() for g in np.meshgrid(zx, zx, zx, zx, indexing='ij')], 1)
    ZW = np.einsum('a,b,c,d->abcd', zw, zw, zw, zw).ravel()
    (lx, lw), (ux, uw) = rule('l', nc), rule('u', nc)
    tot = 0.0
    for a, wa in zip(lx, lw):
        for b, wb in zip(ux, uw):
            X = np.concatenate([Z, np.full((len(Z), 1), a), np.full((len(Z), 1), b)], 1)
            tot += wa * wb * float(np.dot(ZW, term(X)))
    return tot


def main():
    lmax = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    print("(1) Smolyak on an entire function (Gauss-Hermite), error:")
    for lev in range(2, min(lmax, 9) + 1):
        v, n = smolyak(['g'] * 4 + ['l', 'u'], lev, smooth)
        print("  level %d  %8d nodes  %.2e" % (lev, n, v - SMOOTH_EXACT), flush=True)
    print("(2) the term by tensor rules (trapezoid nz^4, c rules nc per half / nc):")
    for nz, nc in [(15, 8), (21, 8), (29, 8), (29, 12), (37, 8)]:
        t0 = time.process_time()
        print("  nz %d nc %d  %.12e  (%.0f CPU s)" % (nz, nc, tensor_ref(nz, nc),
                                                  time.process_time() - t0), flush=True)
    for kind, name in [('g', 'Gauss-Hermite'), ('t', 'trapezoid')]:
        print("(3) the term by Smolyak rules, %s in the Gaussian directions:" % name)
        for lev in range(2, lmax + 1 if kind == 'g' else min(lmax, 8) + 1):
            v, n = smolyak([kind] * 4 + ['l', 'u'], lev, term)
            print("  level %d  %9d nodes  %.6e" % (lev, n, v), flush=True)


if __name__ == '__main__':
    main()
