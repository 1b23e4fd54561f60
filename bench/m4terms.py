#!/usr/bin/python3
"""The three- and four-unit terms of V for case B of issue 12 on a 4-d grid
(a measured study, docs/grid.md s.12; not an engine, not a test).

  bench/m4terms.py STATE [--level coarse|fine|ref] [--set EH,E,NE,LE]
                   [--svd N] [--aca TOL] [--mc] [--four] [--save FILE.npy]

STATE is `start` (case B's R0, Q = I) or the path of a `cldyn ode` table and
a time, `TABLE:T` (the row at t = T; the R_j_i and Q_i_l columns).  Case B:
M = K = 4 (laplace:3, uniform:3, rademacher:3, rademacher:2), tanh,
lambda = 1, g = square, B = 1, s = 0.5, rho = 0.

What is computed: V3_il, the part of V_il (docs/multi.md s.1) made of the
products of gradient terms that name three or four distinct units (the
split of bench/terms_m4.py), which the M = 2 pair grids cannot give.  Given
X = R^T c + xi the views are independent (docs/accurate.md s.1), so each
product is E_X[M1(X) M2(X)] with M1, M2 one-view moments of two single-unit
features (1-d tables for one unit, 2-d tables for two, the inner rule of
docs/grid.md s.3).  The route is (a) of the study: the 4-d density W_0 of X
on a grid, from the FFT of its folded characteristic function (docs/grid.md
s.2 in four dimensions), the step from the smoothing S = C_xi (C_xi +
C_eta)^-1 C_eta (every dual lattice point has aliasing exponent >= Eh) and
the range from the laws' tails (the bound of cl_cf_range).  Every product
is then a contraction of a marginal of W_0 with the two tables.

Levels: coarse (Eh 18, E 22, 16 inner nodes on [-5.5, 5.5]), fine (Eh 28,
E 28, 24 on [-6.5, 6.5], the M = 2 engine's levels) and ref (Eh 42, E 36,
40 on [-8, 8]: the much finer reference of the same route).

--set EH,E,NE,LE replaces the level's aliasing and tail exponents and its
inner rule (NE nodes on [-LE, LE]).

--svd N: also the singular values of W_0 reshaped across each split of the
units into two pairs ({01|23}, {02|13}, {03|12}) at this level, and the
error of the four-unit terms with W_0 cut to rank r (route (c) of the study:
a low-rank W_0 makes a four-unit contraction cost r n^2 instead of n^4);
N is the largest rank tried; and the ranks of the four 3-d weights across
(pair | unit).
--aca TOL: the same factors without the 4-d grid: adaptive cross
approximation of the spectrum matrix S[k_A, k_B] from its rows and columns
(stopped when a cross falls below TOL of the norm), checked against the
4-d grid's four-unit terms; prints the rank and the spectrum entries formed;
for the split {01|23} also the four 3-d weights as marginals of its factors
and the three-unit terms from them, against the 4-d grid's.
--four: also the four-unit part of V3 (i < l, without tau^2), against which
src/drift_grid.c's cl_grid4q was checked (docs/grid.md, "The four-unit
terms": bench/m4terms.py start --level fine --four).
--mc: the Monte Carlo means of V3_il at this state with their standard
errors (plain sampling as bench/terms_m4.py, 4e6 samples in chunks, seed 1).

Prints the grid, V3 (upper triangle), the user+sys CPU seconds of each
stage and the spectrum entries formed, which the cost projection of
docs/grid.md s.12 multiplies by bench/m4spec.c's time per entry.  The
runs of docs/grid.md s.12 (STATE start, and TABLE:15, TABLE:30 with TABLE
the case B table of `cldyn ode`, default engine):

  bench/m4terms.py STATE --level coarse|fine|ref --save ...   (the table)
  bench/m4terms.py STATE --level fine --svd 128
  bench/m4terms.py STATE --level fine|coarse --aca 1e-14   (and 1e-11)
  bench/m4terms.py TABLE:15 --set 42,28,24,6.5 --aca 1e-11
  bench/m4terms.py start --level fine --mc
"""
import argparse
import csv
import itertools
import os

import numpy as np

M, LAM, S, RHO = 4, 1.0, 0.5, 0.0
LAWS = [("laplace", 3.0), ("uniform", 3.0), ("rademacher", 3.0), ("rademacher", 2.0)]
R0 = np.array([[0.1, 0.02, 0.01, 0], [0.02, 0.1, 0.01, 0.01], [0.01, 0, 0.1, 0.02], [0, 0.01, 0.02, 0.1]])
LEVELS = {"coarse": (18.0, 22.0, 16, 5.5), "fine": (28.0, 28.0, 24, 6.5), "ref": (42.0, 36.0, 40, 8.0)}


def cpu():
    t = os.times()
    return t.user + t.system


def load_state(spec):
    if spec == "start":
        return R0.copy(), np.eye(M)
    path, t = spec.rsplit(":", 1)
    rows = list(csv.DictReader(open(path)))
    row = min(rows, key=lambda r: abs(float(r["t"]) - float(t)))
    R = np.array([[float(row["R_%d_%d" % (j + 1, i + 1)]) for i in range(M)] for j in range(M)])
    Q = np.zeros((M, M))
    for i in range(M):
        for l in range(i, M):
            Q[i, l] = Q[l, i] = float(row["Q_%d_%d" % (i + 1, l + 1)])
    return R, Q


def psi(law, m2, t):
    """characteristic function of a zero-mean law of second moment m2"""
    if law == "laplace":
        b2 = m2 / 2
        return 1 / (1 + b2 * t * t)
    if law == "uniform":
        a = np.sqrt(3 * m2)
        return np.sinc(a * t / np.pi)
    return np.cos(np.sqrt(m2) * t)


def x_range(R, cxi_ii, i, E):
    """half-width of axis i at tail mass about e^-E (cl_cf_range)"""
    vB = vU = 0.0
    exact = lap = 0.0
    vU = cxi_ii
    for j, (law, m2) in enumerate(LAWS):
        r = abs(R[j, i])
        if law == "laplace":
            vU += m2 * r * r
            lap = max(lap, r * np.sqrt(m2 / 2))
        else:
            mx = np.sqrt(3 * m2) if law == "uniform" else np.sqrt(m2)
            vB += m2 * r * r
            exact += r * mx
    LB = min(exact, np.sqrt(2 * E * vB))
    return LB + np.sqrt(2 * E * vU) + E * lap


def grid(R, Q, Eh, E):
    Cxi = Q - R.T @ R + RHO * S * S * Q
    Ceta = (1 - RHO) * S * S * Q
    Sm = Cxi @ np.linalg.solve(Cxi + Ceta, Ceta)
    Sm = (Sm + Sm.T) / 2
    d = np.sqrt(np.diag(Sm))
    lmin = np.linalg.eigvalsh(Sm / np.outer(d, d))[0]
    kap = 2 * np.pi / np.sqrt(2 * Eh)
    h, n, x = [], [], []
    for i in range(M):
        hi = kap * np.sqrt(lmin) * d[i]
        L = x_range(R, Cxi[i, i], i, E)
        ni = int(np.ceil(2 * L / hi))
        ni += ni % 2
        hi = 2 * L / ni
        h.append(hi), n.append(ni), x.append((np.arange(ni) - ni / 2) * hi)
    return Cxi, Ceta, np.array(h), n, x


def weight(R, Cxi, h, n, axes=tuple(range(M))):
    """the density of X_axes on the grid times the cell volume (sums to 1 up
    to the tails), from the folded spectrum: the spectrum of a marginal is
    the full one with the other frequencies at 0"""
    d = len(axes)
    h = [h[a] for a in axes]
    n = [n[a] for a in axes]
    C = Cxi[np.ix_(axes, axes)]
    Rs = R[:, axes]
    shape = list(n[:-1]) + [n[-1] // 2 + 1]
    w = [2 * np.pi * np.fft.fftfreq(n[i], h[i]) for i in range(d - 1)]
    w.append(2 * np.pi * np.fft.rfftfreq(n[-1], h[-1]))
    spec = np.zeros(shape, complex)
    images = formed = 0
    for a in itertools.product((-1, 0, 1), repeat=d):
        wa = [(w[i] + 2 * np.pi * a[i] / h[i]).reshape([-1 if k == i else 1 for k in range(d)]) for i in range(d)]
        ex = np.zeros(shape)
        for i in range(d):
            for k in range(d):
                ex = ex + 0.5 * C[i, k] * wa[i] * wa[k]
        if ex.min() > 40:
            continue
        images += 1
        formed += ex.size
        f = np.exp(-ex).astype(complex)
        for j, (law, m2) in enumerate(LAWS):
            t = sum(Rs[j, i] * wa[i] for i in range(d))
            f = f * psi(law, m2, t)
        spec += f
    k = [np.fft.fftfreq(n[i], 1.0 / n[i]).round().astype(int) for i in range(d - 1)]
    k.append(np.arange(n[-1] // 2 + 1))
    sign = np.ones(shape)
    for i in range(d):
        sign = sign * ((-1.0) ** k[i]).reshape([-1 if q == i else 1 for q in range(d)])
    t0 = cpu()
    W = np.fft.irfftn(np.conj(spec * sign), s=n)
    return W, images, cpu() - t0, formed


FEAT = {"D": lambda y: 1 - y * y, "Y": lambda y: y, "DY": lambda y: (1 - y * y) * y, "YY": lambda y: y * y}


class Moments:
    """one-view moments E_eta[f_p(X_p + eta_p) g_q(X_q + eta_q)] as tables"""

    def __init__(self, Ceta, x, ne, Le):
        self.Ceta, self.x = Ceta, x
        self.z = np.linspace(-Le, Le, ne)
        self.wz = (self.z[1] - self.z[0]) * np.exp(-0.5 * self.z ** 2) / np.sqrt(2 * np.pi)
        self.cache = {}
        self.sigma_evals = 0

    def get(self, a, b):
        key = tuple(sorted((a, b), key=lambda u: (u[1], u[0])))
        if key in self.cache:
            return self.cache[key]
        (f, p), (g, q) = key
        z, wz, C = self.z, self.wz, self.Ceta
        if p == q:
            y = np.tanh(self.x[p][:, None] + np.sqrt(C[p, p]) * z[None, :])
            self.sigma_evals += y.size
            tab = (FEAT[f](y) * FEAT[g](y)) @ wz
        else:
            l00 = np.sqrt(C[p, p])
            l10 = C[p, q] / l00
            l11 = np.sqrt(C[q, q] - l10 * l10)
            yp = np.tanh(self.x[p][None, :] + l00 * z[:, None])                    # ne x np
            yq = np.tanh(self.x[q][None, None, :] + l10 * z[:, None, None] + l11 * z[None, :, None])
            self.sigma_evals += yp.size + yq.size
            A = wz[:, None] * FEAT[f](yp)
            B = np.einsum("j,ijq->iq", wz, FEAT[g](yq))
            tab = A.T @ B
        self.cache[key] = ((p,) if p == q else (p, q), tab)
        return self.cache[key]


def terms(a, i):
    """ghat^a_i as (coef, units, view-1 feature, view-2 feature)"""
    if a == 1:
        t = [(1.0, {i}, ("D", i), ("Y", i))]
        t += [(-2 * LAM, {i, k}, ("DY", i), ("YY", k)) for k in range(M) if k != i]
    else:
        t = [(1.0, {i}, ("Y", i), ("D", i))]
        t += [(-2 * LAM, {i, k}, ("YY", k), ("DY", i)) for k in range(M) if k != i]
    return t


def products():
    """{(view-1 moment, view-2 moment): 4x4 coefficients of V3_il}"""
    vc = {(1, 1): 1 + S * S, (2, 2): 1 + S * S, (1, 2): 1 + RHO * S * S, (2, 1): 1 + RHO * S * S}
    out = {}
    for i in range(M):
        for l in range(i, M):
            for (a, b), cv in vc.items():
                for c1, u1, f1, g1 in terms(a, i):
                    for c2, u2, f2, g2 in terms(b, l):
                        if len(u1 | u2) < 3:
                            continue
                        k1 = tuple(sorted((f1, f2), key=lambda u: (u[1], u[0])))
                        k2 = tuple(sorted((g1, g2), key=lambda u: (u[1], u[0])))
                        key = tuple(sorted((k1, k2)))  # the views have the same law given X
                        out.setdefault(key, np.zeros((M, M)))[i, l] += cv * c1 * c2
    return out


def contract(W, marg, m1, m2):
    """E_X[m1 m2] against the marginal of W over the units the two name"""
    (u1, t1), (u2, t2) = m1, m2
    units = tuple(sorted(set(u1) | set(u2)))
    if units not in marg:
        drop = tuple(k for k in range(M) if k not in units)
        marg[units] = W.sum(axis=drop) if drop else W
    letters = "abcd"
    sub = "".join(letters[u] for u in units)
    return np.einsum("%s,%s,%s->" % (sub, "".join(letters[u] for u in u1), "".join(letters[u] for u in u2)),
                     marg[units], t1, t2, optimize=True), len(units)


def v3(W, mom, prods, marg=None, only=None):
    """V3 (upper triangle); marg: marginals of W given in advance; only: the
    products on this many units alone"""
    V, V4 = np.zeros((M, M)), np.zeros((M, M))
    marg = {} if marg is None else marg
    count = {3: 0, 4: 0}
    for (k1, k2), coef in prods.items():
        m1, m2 = mom.get(*k1), mom.get(*k2)
        if only and len(set(m1[0]) | set(m2[0])) != only:
            continue
        val, nu = contract(W, marg, m1, m2)
        count[nu] += 1
        V += coef * val
        if nu == 4:
            V4 += coef * val
    return np.triu(V), count, V4


def four_products(prods, mom, A, B):
    """the four-unit products of the split A | B as (coef, table on A, table on B)"""
    four = []
    for (k1, k2), coef in prods.items():
        m1, m2 = mom.get(*k1), mom.get(*k2)
        if len(set(m1[0]) | set(m2[0])) < 4:
            continue
        if set(m1[0]) == set(A):
            four.append((coef, m1[1], m2[1]))
        elif set(m1[0]) == set(B):
            four.append((coef, m2[1], m1[1]))
    return four


SPLITS = (((0, 1), (2, 3)), ((0, 2), (1, 3)), ((0, 3), (1, 2)))


def spectrum(R, Cxi, h, w, fold=True):
    """the folded spectrum of W_0 (times (-1)^k) at broadcastable frequencies
    w[0..3]; also the number of (entry, image) pairs formed"""
    out, formed = 0, 0
    for a in itertools.product((-1, 0, 1) if fold else (0,), repeat=M):
        wa = [w[i] + 2 * np.pi * a[i] / h[i] for i in range(M)]
        ex = sum(0.5 * Cxi[i, k] * wa[i] * wa[k] for i in range(M) for k in range(M))
        if np.min(ex) > 40:
            continue
        f = np.exp(-ex).astype(complex)
        for j, (law, m2) in enumerate(LAWS):
            f = f * psi(law, m2, sum(R[j, i] * wa[i] for i in range(M)))
        out = out + f
        formed += np.size(f)
    return out, formed


def aca_study(R, Cxi, W, h, n, mom, prods, tol=1e-14, rmax=200):
    """route (c) without the 4-d grid: per split, adaptive cross approximation
    (partial pivoting) of the spectrum matrix S[k_A, k_B] from its rows and
    columns alone; W_0 = Re(sum_r fft2(u_r) x fft2(v_r)) / N; the four-unit
    products contract with the factors (cost r n^2 each)"""
    print("route (c) by cross approximation of the spectrum (tolerance %.0e of its norm):" % tol)
    k = [np.fft.fftfreq(n[i], 1.0 / n[i]).round() for i in range(M)]
    w = [2 * np.pi * np.fft.fftfreq(n[i], h[i]) for i in range(M)]
    sg = [(-1.0) ** k[i] for i in range(M)]
    N = np.prod(n)
    for A, B in SPLITS:
        t0 = cpu()
        a0, a1 = np.meshgrid(w[A[0]], w[A[1]], indexing="ij")
        b0, b1 = np.meshgrid(w[B[0]], w[B[1]], indexing="ij")
        sA = np.outer(sg[A[0]], sg[A[1]]).ravel()
        sB = np.outer(sg[B[0]], sg[B[1]]).ravel()
        a0, a1, b0, b1 = a0.ravel(), a1.ravel(), b0.ravel(), b1.ravel()
        formed = 0

        def entries(ia, ib):
            nonlocal formed
            wv = [None] * M
            wv[A[0]], wv[A[1]], wv[B[0]], wv[B[1]] = a0[ia], a1[ia], b0[ib], b1[ib]
            f, c = spectrum(R, Cxi, h, wv)
            formed += c
            return f * sA[ia] * sB[ib]

        U, V = [], []
        used = set()
        i, norm2 = 0, 0.0
        allb, alla = np.arange(len(b0)), np.arange(len(a0))
        while len(U) < rmax:
            used.add(i)
            row = entries(i, allb)
            for u, v in zip(U, V):
                row = row - u[i] * v
            j = int(np.argmax(np.abs(row)))
            if abs(row[j]) == 0:
                break
            v = row / row[j]
            col = entries(alla, j)
            for u, vv in zip(U, V):
                col = col - u * vv[j]
            u = col
            nu, nv = np.linalg.norm(u), np.linalg.norm(v)
            norm2 += nu * nu * nv * nv + 2 * sum(np.real(np.vdot(uu, u) * np.vdot(v, vv)) for uu, vv in zip(U, V))
            U.append(u), V.append(v)
            if nu * nv < tol * np.sqrt(norm2):
                break
            mag = np.abs(u)
            mag[list(used)] = -1
            i = int(np.argmax(mag))
        ta = cpu() - t0
        # the factors in x and the contractions
        t0 = cpu()
        fa = [np.fft.fft2(u.reshape(n[A[0]], n[A[1]])) for u in U]
        fb = [np.fft.fft2(v.reshape(n[B[0]], n[B[1]])) for v in V]
        four = four_products(prods, mom, A, B)
        low = sum(c * np.real(sum(np.vdot(np.conj(x), F) * np.vdot(np.conj(y), G) for x, y in zip(fa, fb))) / N
                  for c, F, G in four)
        tc = cpu() - t0
        Wm = np.transpose(W, A + B).reshape(n[A[0]] * n[A[1]], n[B[0]] * n[B[1]])
        full = sum(c * (F.ravel() @ Wm @ G.ravel()) for c, F, G in four)
        print("  {%d%d|%d%d}: rank %d, %d spectrum (entry, image) pairs formed (%.2g of the full matrix's entries), "
              "%.2f CPU s; factors and contractions %.3f CPU s; four-unit V3 against the 4-d grid %.1e"
              % (A + B + (len(U), formed, formed / (len(a0) * len(b0)), ta, tc, np.abs(low - full).max())))
        if A != (0, 1):
            continue
        # the four 3-d weights are marginals of this split's factors: the
        # three-unit terms need no grids of their own
        sb = [[np.sum(y, axis=1), np.sum(y, axis=0)] for y in fb]  # over x3, over x2
        sa = [[np.sum(x, axis=1), np.sum(x, axis=0)] for x in fa]  # over x1, over x0
        marg = {(0, 1, 2): np.real(sum(np.einsum("ab,c->abc", x, y[0]) for x, y in zip(fa, sb))) / N,
                (0, 1, 3): np.real(sum(np.einsum("ab,c->abc", x, y[1]) for x, y in zip(fa, sb))) / N,
                (0, 2, 3): np.real(sum(np.einsum("a,cd->acd", x[0], y) for x, y in zip(sa, fb))) / N,
                (1, 2, 3): np.real(sum(np.einsum("b,cd->bcd", x[1], y) for x, y in zip(sa, fb))) / N}
        dev = max(np.abs(marg[u] - W.sum(axis=tuple(k for k in range(M) if k not in u))).max() for u in marg)
        exact = v3(W, mom, prods, only=3)[0]
        low3 = v3(W, mom, prods, marg=marg, only=3)[0]
        print("    the four 3-d weights from these factors: largest difference from the 4-d grid's marginals %.1e, "
              "three-unit V3 %.1e" % (dev, np.abs(low3 - exact).max()))


def svd_study(W, mom, prods, n, rmax):
    """route (c): W_0 cut to rank r across each pair split, four-unit terms;
    the numerical ranks of the 3-d weights across (pair | single unit)"""
    out = []
    for drop in range(M):
        W3 = W.sum(axis=drop)
        axes = [k for k in range(M) if k != drop]
        for single in range(3):
            pair = [q for q in range(3) if q != single]
            sv = np.linalg.svd(np.transpose(W3, pair + [single]).reshape(-1, W3.shape[single]), compute_uv=False)
            out.append("%d%d|%d: %s" % (axes[pair[0]], axes[pair[1]], axes[single],
                                        "/".join(str(int((sv / sv[0] > 10.0 ** -e).sum())) for e in (10, 12, 14))))
    print("3-d weights, rank across (pair | unit) at rel 1e-10/12/14 (largest possible: the unit's n): " + ", ".join(out))
    print("route (c): singular values of W_0 across each split into two pairs")
    for A, B in SPLITS:
        perm = A + B
        Wm = np.transpose(W, perm).reshape(n[A[0]] * n[A[1]], n[B[0]] * n[B[1]])
        t0 = cpu()
        U, sv, Vt = np.linalg.svd(Wm, full_matrices=False)
        tsvd = cpu() - t0
        rel = sv / sv[0]
        ranks = {e: int((rel > 10.0 ** -e).sum()) for e in (6, 8, 10, 12, 14)}
        # the four-unit products of this split, exact and cut to rank r
        four = four_products(prods, mom, A, B)
        full = sum(c * (fa.ravel() @ Wm @ gb.ravel()) for c, fa, gb in four) if four else np.zeros((M, M))
        errs = []
        for r in (4, 8, 16, 24, 32, 48, 64, 96, 128):
            if r > rmax:
                break
            Ur, Vr = U[:, :r] * sv[:r], Vt[:r]
            cut = sum(c * ((fa.ravel() @ Ur) @ (Vr @ gb.ravel())) for c, fa, gb in four)
            errs.append("r %d: %.1e" % (r, np.abs(cut - full).max()))
        print("  {%d%d|%d%d}: n^2 = %d, %d products, svd %.1f CPU s; rank at rel 1e-6/8/10/12/14: %s"
              % (A + B + (Wm.shape[0], len(four), tsvd, "/".join(str(ranks[e]) for e in (6, 8, 10, 12, 14)))))
        print("    four-unit V3 error with W_0 cut to rank r: " + ", ".join(errs))


def mc(R, Q, n=4000000, chunk=200000, seed=1):
    rng = np.random.default_rng(seed)
    acc, acc2 = np.zeros((M, M)), np.zeros((M, M))
    Lxi = np.linalg.cholesky(Q - R.T @ R + 1e-300 * np.eye(M))
    Leta = np.linalg.cholesky(S * S * Q)
    for _ in range(n // chunk):
        c = np.stack([rng.laplace(0, np.sqrt(1.5), chunk), rng.uniform(-3, 3, chunk),
                      rng.choice([-1, 1], chunk) * np.sqrt(3), rng.choice([-1, 1], chunk) * np.sqrt(2)], 1)
        X = c @ R + rng.standard_normal((chunk, M)) @ Lxi.T
        h = {1: X + rng.standard_normal((chunk, M)) @ Leta.T, 2: X + rng.standard_normal((chunk, M)) @ Leta.T}
        y = {a: np.tanh(h[a]) for a in (1, 2)}
        F = {a: {k: FEAT[k](y[a]) for k in FEAT} for a in (1, 2)}
        vc = {(1, 1): 1 + S * S, (2, 2): 1 + S * S, (1, 2): 1 + RHO * S * S, (2, 1): 1 + RHO * S * S}
        for i in range(M):
            for l in range(i, M):
                v = np.zeros(chunk)
                for (a, b), cv in vc.items():
                    for c1, u1, f1, g1 in terms(a, i):
                        for c2, u2, f2, g2 in terms(b, l):
                            if len(u1 | u2) >= 3:
                                v += cv * c1 * c2 * (F[1][f1[0]][:, f1[1]] * F[2][g1[0]][:, g1[1]]
                                                     * F[1][f2[0]][:, f2[1]] * F[2][g2[0]][:, g2[1]])
                acc[i, l] += v.sum()
                acc2[i, l] += (v * v).sum()
    mean = acc / n
    se = np.sqrt(np.maximum(acc2 / n - mean ** 2, 0) / n)
    return np.triu(mean), np.triu(se)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("state")
    ap.add_argument("--level", default="fine", choices=LEVELS)
    ap.add_argument("--svd", type=int, default=0)
    ap.add_argument("--mc", action="store_true")
    ap.add_argument("--aca", type=float, default=0, help="route (c) by cross approximation at this tolerance")
    ap.add_argument("--save")
    ap.add_argument("--four", action="store_true", help="also print the four-unit part of V3 (src/drift_grid.c's "
                    "cl_grid4q was checked against it)")
    ap.add_argument("--set", help="EH,E,NE,LE: override the level's exponents and inner rule")
    args = ap.parse_args()
    R, Q = load_state(args.state)
    Eh, E, ne, Le = LEVELS[args.level]
    if args.set:
        Eh, E, ne, Le = (float(v) for v in args.set.split(","))
        ne = int(ne)
    t0 = cpu()
    Cxi, Ceta, h, n, x = grid(R, Q, Eh, E)
    W, images, tfft, formed4 = weight(R, Cxi, h, n)
    t1 = cpu()
    mom = Moments(Ceta, x, ne, Le)
    prods = products()
    for k1, k2 in prods:
        mom.get(*k1), mom.get(*k2)
    t2 = cpu()
    V, count, V4 = v3(W, mom, prods)
    v4max = np.abs(V4).max()
    t3 = cpu()
    N = int(np.prod(n))
    print("state %s, level %s: grid %s (%d nodes), steps %s, %d spectrum images"
          % (args.state, args.level, "x".join(map(str, n)), N, " ".join("%.3f" % v for v in h), images))
    mean = np.einsum("abcd,a->", W, x[0]), np.einsum("abcd,a,a->", W, x[0], x[0])
    var0 = sum(m2 * R[j, 0] ** 2 for j, (law, m2) in enumerate(LAWS)) + Cxi[0, 0]
    print("check: mass %.15f, E X_1 %.1e, Var X_1 %.12f (exact %.12f)" % (W.sum(), mean[0], mean[1], var0))
    print("V3 (upper triangle, i <= l):")
    for i in range(M):
        print("  " + " ".join("%19s" % ("%.12e" % V[i, l] if l >= i else "") for l in range(M)))
    print("CPU s: 4-d weight %.2f (of which the FFT %.2f), tables %.2f, contractions %.2f (%d three-unit, %d four-unit products)"
          % (t1 - t0, tfft, t2 - t1, t3 - t2, count[3], count[4]))
    print("the four-unit part of V3: largest |component| %.3e" % v4max)
    if args.four:
        print("the four-unit part of V3 (upper triangle, i < l; without tau^2):")
        for i in range(M):
            print("  " + " ".join("%19s" % ("%.12e" % V4[i, l] if l > i else "") for l in range(M)))
    # the three-unit terms need only the four 3-d weights: their own FFTs
    t0 = cpu()
    dev, nodes3, tf3, formed3 = 0.0, 0, 0.0, 0
    for drop in range(M):
        axes = tuple(k for k in range(M) if k != drop)
        W3, im3, tf, fo = weight(R, Cxi, h, n, axes)
        tf3 += tf
        formed3 += fo
        nodes3 += W3.size
        dev = max(dev, np.abs(W3 - W.sum(axis=drop)).max())
    print("the four 3-d weights on their own: %d nodes, %.2f CPU s (of which the FFTs %.2f); largest difference "
          "from the 4-d weight's marginals %.1e" % (nodes3, cpu() - t0, tf3, dev))
    print("spectrum entries formed (half spectrum x images kept): 4-d %d, the four 3-d %d" % (formed4, formed3))
    print("tables: %d, sigma evaluations %d" % (len(mom.cache), mom.sigma_evals))
    if args.save:
        np.save(args.save, V)
    if args.svd:
        svd_study(W, mom, prods, n, args.svd)
    if args.aca:
        aca_study(R, Cxi, W, h, n, mom, prods, args.aca)
    if args.mc:
        t0 = cpu()
        mean, se = mc(R, Q)
        print("Monte Carlo (4e6 samples, seed 1, %.0f CPU s): mean +- se, and (grid - mc) / se" % (cpu() - t0))
        for i in range(M):
            print("  " + " ".join("%24s" % ("%.5f+-%.5f (%+.1f)" % (mean[i, l], se[i, l], (V[i, l] - mean[i, l]) / se[i, l])
                                            if l >= i else "") for l in range(M)))


if __name__ == "__main__":
    main()
