#!/usr/bin/python3
"""bench/audit_fixed.py - an independent audit of `cldyn fixed` and `basin`
(docs/fixed-points.md) on configurations the tests do not use.

For each configuration it runs `cldyn fixed` and checks, with its own code
(only the drift comes from the library, through bench/audit_drift.c):

  (a) every listed point's residual: max |drift| at the listed state, and
      that it is the printed `residual`;
  (b) orbit completeness: the symmetry group is derived here from the model
      (unit permutations; unit signs for odd sigma; feature signs for laws
      symmetric in distribution; permutations of features equal in
      distribution), each generator is first checked to map the drift to
      the drift at a random state, each listed point's image under each
      generator must be listed with the same orbit id, and each orbit must
      have exactly as many images as the group gives (an image under a map
      that is not a symmetry would make it larger); maps that are claimed
      not to be symmetries (a unit's sign for relu/sigmoid, the sign of an
      asymmetric law) must fail the drift check;
  (c) M = 1: every point embedded in M = 2 with a dead second unit is listed
      by `fixed --M 2` (sigma(0) = 0);
  (d) the eigenvalues against a central-difference Jacobian of the drift
      computed here (for points with dead units: the live block, and the
      growth rate of the dead unit's Q_ii from dQ_ii/dt at small Q_ii);
  (e) a `--threshold` against a bisection done here (eigenvalues of our own
      Jacobian at the point found by `fixed` at each value);
  (f) malformed input to fixed and basin: one line on stderr, exit 2.

  (g) with --ode: each point's stability against `cldyn ode` started next
      to it (check_ode_stability says how).

Usage: nice python3 bench/audit_fixed.py [--quick] [--ode] [--only a,b,...]
Prints one line per check and a summary; exit 1 if any check failed.
Reported only; the tests are in tests/test_fixedm.c.
"""
import itertools
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("CLDYN_BUILD", "build")  # the build directory (make BUILD=...)
BIN = os.path.join(ROOT, BUILD, "cldyn")
HELPER = os.path.join(ROOT, BUILD, "bench", "audit_drift")
ODD = {"linear", "tanh", "erf", "cubic"}
FAILS = []
ODE_CHECK = "--ode" in sys.argv  # (g): each point's stability against an ODE run started next to it


def build_helper():
    app = [os.path.join(ROOT, BUILD, "obj", "app", f) for f in sorted(os.listdir(os.path.join(ROOT, BUILD, "obj", "app")))
           if f.endswith(".o") and "main" not in f and "capi" not in f]
    libs = subprocess.run(["make", "-s", "--no-print-directory", "print-libs"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.split()
    os.makedirs(os.path.dirname(HELPER), exist_ok=True)
    subprocess.run(["cc", "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-fopenmp", "-ffp-contract=off", "-D_GNU_SOURCE",
                    "-Iinclude", "-I.", "bench/audit_drift.c"] + app +
                   [BUILD + "/libcldyn.a"] + libs + ["-o", HELPER], cwd=ROOT, check=True)


def report(ok, what):
    print(("ok    " if ok else "FAIL  ") + what, flush=True)
    if not ok:
        FAILS.append(what)


# ---- the model, read from the options ----------------------------------
def parse_opts(args):
    o = {"M": 1, "c": [], "act": "tanh", "g": "square"}
    for k in range(0, len(args) - 1):
        a, v = args[k], args[k + 1]
        if a == "--M":
            o["M"] = int(v)
        elif a == "--c":
            o["c"].append(v)
        elif a == "--act":
            o["act"] = v
        elif a == "--g":
            o["g"] = v
    if not o["c"]:
        o["c"] = ["rademacher:3"]
    o["K"] = len(o["c"])
    return o


def law_atoms(spec):
    """A canonical description of the law: ('atoms', sorted (value, prob))
    for laws with finitely many atoms, else (family, m2, parameter)."""
    parts = spec.split(":")
    name = parts[0]
    if name == "discrete":
        acc = {}
        for a in parts[1].split(","):
            v, p = a.split("@")
            v, p = float(v), float(p)
            if p > 0:
                acc[round(v, 12)] = acc.get(round(v, 12), 0) + p
        return ("atoms", tuple(sorted((v, round(p, 12)) for v, p in acc.items())))
    m2 = float(parts[1]) if len(parts) > 1 else 1.0
    if name == "rademacher":
        a = m2 ** 0.5
        return ("atoms", ((round(-a, 12), 0.5), (round(a, 12), 0.5)))
    if name == "sparse":
        p = float(parts[2]) if len(parts) > 2 else 0.1
        a = (m2 / p) ** 0.5
        at = [(round(-a, 12), round(p / 2, 12)), (round(a, 12), round(p / 2, 12))]
        if p < 1:
            at.append((0.0, round(1 - p, 12)))
        return ("atoms", tuple(sorted(at)))
    if name == "student":
        return ("student", m2, float(parts[2]) if len(parts) > 2 else 10.0)
    return (name, m2, None)


def law_symmetric(spec):
    d = law_atoms(spec)
    if d[0] != "atoms":
        return True
    at = dict(d[1])
    return all(abs(at.get(round(-v, 12), -1) - p) < 1e-12 for v, p in at.items())


def unpack(y, K, M):
    R = np.array(y[:K * M]).reshape(K, M)
    Q = np.zeros((M, M))
    k = K * M
    for i in range(M):
        for l in range(i, M):
            Q[i, l] = Q[l, i] = y[k]
            k += 1
    return R, Q


def pack(R, Q):
    K, M = R.shape
    return np.concatenate([R.ravel(), [Q[i, l] for i in range(M) for l in range(i, M)]])


def generators(o, claimed=True):
    """The maps (up, us, fp, fs) of the group derived here; with
    claimed=False the maps that are NOT symmetries of this model."""
    K, M = o["K"], o["M"]
    idu, idf = list(range(M)), list(range(K))
    gens, non = [], []
    for i in range(M - 1):
        up = idu[:]
        up[i], up[i + 1] = up[i + 1], up[i]
        gens.append((up, [1] * M, idf, [1] * K))
    for i in range(M):
        us = [1] * M
        us[i] = -1
        (gens if o["act"] in ODD else non).append((idu, us, idf, [1] * K))
    canon = [law_atoms(c) for c in o["c"]]
    for j in range(K):
        for l in range(j + 1, K):
            fp = idf[:]
            fp[j], fp[l] = l, j
            (gens if canon[j] == canon[l] else non).append((idu, [1] * M, fp, [1] * K))
    for j in range(K):
        fs = [1] * K
        fs[j] = -1
        if law_symmetric(o["c"][j]):
            gens.append((idu, [1] * M, idf, fs))
        elif o["act"] not in ODD or K > 1:
            # with an odd sigma and every other sign a symmetry it is in the group
            others = all(law_symmetric(o["c"][l]) for l in range(K) if l != j)
            if not (o["act"] in ODD and others):
                non.append((idu, [1] * M, idf, fs))
    return gens if claimed else non


def apply(e, y, K, M):
    up, us, fp, fs = e
    R, Q = unpack(y, K, M)
    R2, Q2 = np.zeros_like(R), np.zeros_like(Q)
    for j in range(K):
        for i in range(M):
            R2[fp[j], up[i]] = fs[j] * us[i] * R[j, i]
    for i in range(M):
        for l in range(M):
            Q2[up[i], up[l]] = us[i] * us[l] * Q[i, l]
    return pack(R2, Q2)


def orbit(gens, y, K, M, tol=1e-9):
    ims = [np.array(y)]
    a = 0
    while a < len(ims) and len(ims) < 4096:
        for e in gens:
            z = apply(e, ims[a], K, M)
            if all(np.max(np.abs(z - w)) >= tol for w in ims):
                ims.append(z)
        a += 1
    return ims


# ---- the drift through the library ----------------------------------------
def drift(model_args, states):
    inp = "\n".join(" ".join(repr(float(v)) for v in y) for y in states) + "\n"
    r = subprocess.run([HELPER] + model_args, input=inp, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError("audit_drift: " + r.stderr.strip())
    out = []
    for line in r.stdout.split("\n")[:len(states)]:
        v = [float(t) for t in line.split()]
        out.append(None if len(v) == 1 else np.array(v[:-1]))
    return out


def random_state(K, M, rng):
    W = rng.standard_normal((K + M, M)) / np.sqrt(K + M)
    return pack(W[:K], W.T @ W)


def jacobian(model_args, y, free=None, h=1e-5, K=None, M=None):
    """central differences over the coordinates `free` (default all), with
    Richardson between h and 2h.  Given K and M, next to the domain's
    boundary (dist = smallest eigenvalue of Q - R^T R) h is at most
    dist / 50 of a step that moves Q - R^T R by max(1, |y|) (1 + 2 max
    |R_j.|) h: at nearly collinear units a step of 1e-5 leaves the range of
    the grid engine (docs/fixed-points.md s.2)"""
    n = len(y)
    free = list(range(n)) if free is None else free
    if K is not None:
        R, Q = unpack(np.asarray(y, dtype=float), K, M)
        dist = np.min(np.linalg.eigvalsh(Q - R.T @ R))
        f = max(1, np.max(np.abs(y))) * max(1, 2 * np.max(np.linalg.norm(R, axis=1)))
        if dist > 1e-12 * f:
            h = min(h, max(1e-9, dist / (50 * f)))
            if h < 1e-5 and len(free) == n:
                return jacobian_chol(model_args, y, h, K, M)
    st = []
    for q in free:
        for s in (h, -h, 2 * h, -2 * h):
            z = np.array(y, dtype=float)
            z[q] += s * max(1, abs(y[q]))
            st.append(z)
    F = drift(model_args, st)
    J = np.zeros((len(free), len(free)))
    for a, q in enumerate(free):
        f1, f2, f3, f4 = F[4 * a:4 * a + 4]
        if any(f is None for f in (f1, f2, f3, f4)):
            return None
        hq = h * max(1, abs(y[q]))
        d1 = (f1 - f2) / (2 * hq)
        d2 = (f3 - f4) / (4 * hq)
        J[:, a] = ((4 * d1 - d2) / 3)[free]
    return J


def jacobian_chol(model_args, y, hR, K, M, hL=1.2e-5):
    """next to the boundary: central differences (Richardson between h and
    2h) in z = (R, L), L the lower Cholesky factor of Q - R^T R, where
    every step stays in the domain and the drift is smooth on the scale of
    L (sqrt(dist)), not of dist; J = G P^-1 with P = dy/dz (exact: y is
    quadratic in z).  In Q the steps dist / 50 carried the grid's noise
    (~1e-12) into a nearly cancelling Jacobian: a complex pair 3e-3 off
    (m2-laplace-sigmoid-s1).  Steps in L: hL (the library takes 4e-5 and
    2e-5); in R: hR (at R = 0 the grid's drift moves its central differences
    by ~4e2 h in R, which no step choice here removes)"""
    y = np.asarray(y, dtype=float)
    n = len(y)
    R, Q = unpack(y, K, M)
    L = np.linalg.cholesky(Q - R.T @ R)
    tri = [(i, k) for i in range(M) for k in range(i + 1)]

    def phi(z):
        Rz = z[:K * M].reshape(K, M)
        Lz = np.zeros((M, M))
        for v, (i, k) in zip(z[K * M:], tri):
            Lz[i, k] = v
        return pack(Rz, Rz.T @ Rz + Lz @ Lz.T)
    z0 = np.concatenate([R.ravel(), [L[i, k] for i, k in tri]])
    P = np.zeros((n, n))
    for q in range(n):
        e = np.zeros(n)
        e[q] = 1e-3
        P[:, q] = (phi(z0 + e) - phi(z0 - e)) / 2e-3
    hs = [(hR if q < K * M else hL) * max(1, abs(z0[q])) for q in range(n)]
    st = []
    for q in range(n):
        for s in (1, -1, 2, -2):
            z = z0.copy()
            z[q] += s * hs[q]
            st.append(phi(z))
    F = drift(model_args, st)
    G = np.zeros((n, n))
    for q in range(n):
        f1, f2, f3, f4 = F[4 * q:4 * q + 4]
        if any(f is None for f in (f1, f2, f3, f4)):
            return None
        G[:, q] = (4 * (f1 - f2) / (2 * hs[q]) - (f3 - f4) / (4 * hs[q])) / 3
    return G @ np.linalg.inv(P)


# ---- running cldyn ---------------------------------------------------------
def run_fixed(args, tmp):
    out = os.path.join(tmp, "f.csv")
    r = subprocess.run(["nice", BIN, "fixed"] + args + ["--out", out, "--quiet"], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError("cldyn fixed %s: %s" % (" ".join(args), r.stderr.strip()))
    with open(out) as f:
        lines = f.read().strip().split("\n")
    head = lines[0].split(",")
    rows = [dict(zip(head, ln.split(","))) for ln in lines[1:]]
    with open(out + ".json") as f:
        meta = json.load(f)
    return rows, meta


def state_of(row, K, M):
    y = [float(row["R_%d_%d" % (j + 1, i + 1)]) for j in range(K) for i in range(M)]
    y += [float(row["Q_%d_%d" % (i + 1, l + 1)]) for i in range(M) for l in range(i, M)]
    return np.array(y)


def eigs_of(row, n):
    return np.array([complex(float(row["eig_re_%d" % (k + 1)]), float(row["eig_im_%d" % (k + 1)])) for k in range(n)])


def dead_units(y, K, M):
    R, Q = unpack(y, K, M)
    qmax = max(1, np.max(np.diag(Q)))
    return [i for i in range(M) if Q[i, i] <= 1e-10 * qmax]


def match(listed, mine, tol):
    """largest distance from each of `mine` to the nearest of `listed`"""
    return max((np.min(np.abs(listed - z)) for z in mine), default=0.0)


# ---- the checks -------------------------------------------------------------
def ode_from(args, y, K, M, T, tmp):
    """`cldyn ode` from state y to time T: the table of R and Q (rows of y's layout), or None"""
    R, Q = unpack(y, K, M)
    out = os.path.join(tmp, "g.csv")
    r0 = ";".join(",".join(repr(float(v)) for v in row) for row in R)
    q0 = ";".join(",".join(repr(float(v)) for v in row) for row in Q)
    r = subprocess.run(["nice", BIN, "ode"] + args + ["--R0", r0, "--Q0", q0, "--T", "%g" % T, "--dt-out", "%g" % (T / 8),
                       "--out", out, "--quiet"], capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    if r.returncode:
        print("#   ode from the point failed: %s" % r.stderr.strip())
        return None
    head, tab = read_table(out)
    cols = ["R_%d_%d" % (j + 1, i + 1) for j in range(K) for i in range(M)]
    cols += ["Q_%d_%d" % (i + 1, l + 1) for i in range(M) for l in range(i, M)]
    return tab[:, [head.index(c) for c in cols]]


def check_ode_stability(name, args, rows, pts, K, M, tmp, eps=1e-3, tmax=300.0):
    """(g) each listed point's stability against the flow: `cldyn ode` from
    the point moved by eps in a random direction (R + eps N(0, 1); Q moved so
    that Q - R^T R gains eps G G^T / M, which keeps the state valid and wakes
    a dead unit), to T = 6 / |slowest relevant rate| (at most tmax): a stable
    point is approached (the distance falls by 10), an unstable or saddle one
    is left (it grows by 10).  Undecided (reported, not failed) where the
    rate is slower than 6 / tmax or the point is marginal.  One point per
    orbit (its images have the same stability by the symmetry, checked in
    (b))."""
    n = K * M + M * (M + 1) // 2
    rng = np.random.default_rng(1313)
    bad, und, done = 0, 0, 0
    seen = set()
    for r, y in zip(rows, pts):
        if r["orbit"] in seen:  # one point per orbit: the images have the same stability by symmetry, (b)
            continue
        seen.add(r["orbit"])
        st = r["stability"]
        ev = eigs_of(r, n)
        if st not in ("stable", "saddle", "unstable"):
            und += 1
            print("#   point %s (%s): %s, undecided" % (r["id"], r["kind"], st))
            continue
        rate = np.min(np.abs(ev.real)) if st == "stable" else np.max(ev.real)
        if rate < 6 / tmax:
            und += 1
            print("#   point %s (%s, %s): rate %.3g too slow for T <= %g, undecided" % (r["id"], r["kind"], st, rate, tmax))
            continue
        R, Q = unpack(y, K, M)
        R2 = R + eps * rng.standard_normal(R.shape)
        G = rng.standard_normal((M, M))
        Q2 = Q - R.T @ R + R2.T @ R2 + eps * G @ G.T / M
        y0 = pack(R2, Q2)
        tab = ode_from(args, y0, K, M, 6 / rate, tmp)
        if tab is None:
            bad += 1
            continue
        d0, d1 = np.max(np.abs(y0 - y)), np.max(np.abs(tab[-1] - y))
        ok = d1 < d0 / 10 if st == "stable" else d1 > 10 * d0
        done += 1
        if not ok:
            bad += 1
            print("#   point %s (%s, %s, rate %.3g): distance %.3g at t = 0, %.3g at t = %.3g" % (r["id"], r["kind"], st,
                  rate, d0, d1, 6 / rate))
    report(bad == 0, "%s (g) stability against the flow from the point moved by %g: %d of %d orbits agree, %d undecided"
           % (name, eps, done - bad, done, und))


def check_fixed(name, args, tmp, want_m2_embedding=False):
    o = parse_opts(args)
    K, M = o["K"], o["M"]
    n = K * M + M * (M + 1) // 2
    rows, meta = run_fixed(args, tmp)
    pts = [state_of(r, K, M) for r in rows]
    print("# %s: %d points, %s orbits, symmetries: %s" % (name, len(rows), meta.get("orbits"), meta.get("symmetries")))
    # (a) residuals; points on the collapse set w_2 = +-w_1 (kind collapsed, M = 2), which the default grid
    # refuses, are solved and classified by `fixed` with the quad rule (docs/fixed-points.md s.2,
    # "Fixed points on the collapse set"): their residual is that rule's
    F = drift(args, pts)
    onset = [k for k, r in enumerate(rows) if r["kind"] == "collapsed" and F[k] is None]
    if onset:
        for k, f in zip(onset, drift(args + ["--expect", "quad"], [pts[k] for k in onset])):
            F[k] = f
        print("#   %d points on the collapse set: residual by the quad rule (--expect quad)" % len(onset))
    worst, mism = 0.0, 0.0
    for r, f in zip(rows, F):
        res = np.inf if f is None else np.max(np.abs(f))
        worst = max(worst, res)
        mism = max(mism, abs(res - float(r["residual"])) / max(res, 1e-300))
    report(worst <= 1e-9 and mism < 6e-3, "%s (a) residual: largest %.2g (<= 1e-9), printed vs recomputed %.1g relative"
           % (name, worst, mism))
    # (b) the group, checked on the drift first
    rng = np.random.default_rng(7)
    ys = [random_state(K, M, rng) for _ in range(2)]
    gens, non = generators(o), generators(o, claimed=False)
    # a map in the group generated (e.g. a unit's sign for M = K = 1 is the
    # feature's sign) is a symmetry after all
    orb0 = orbit(gens, ys[0], K, M)
    non = [e for e in non if not any(np.max(np.abs(apply(e, ys[0], K, M) - w)) < 1e-12 for w in orb0)]
    imgs = [apply(e, y, K, M) for e in gens + non for y in ys]
    Fy = drift(args, ys)
    Fi = drift(args, imgs)
    gap_g, gap_n = 0.0, np.inf
    for a, e in enumerate(gens + non):
        g = max(np.max(np.abs(Fi[a * 2 + b] - apply(e, Fy[b], K, M))) for b in range(2))
        if a < len(gens):
            gap_g = max(gap_g, g)
        else:
            gap_n = min(gap_n, g)
    report(gap_g < 1e-9, "%s (b) %d generators derived here map the drift to the drift (largest gap %.2g)"
           % (name, len(gens), gap_g))
    if non:
        report(gap_n > 1e-6, "%s (b) %d maps that are not symmetries fail (smallest gap %.2g)" % (name, len(non), gap_n))
    missing, wrongsize = 0, 0
    orbits = {}
    for r, y in zip(rows, pts):
        orbits.setdefault(r["orbit"], []).append(y)
    for r, y in zip(rows, pts):
        for e in gens:
            z = apply(e, y, K, M)
            hit = [k for k, w in enumerate(pts) if np.max(np.abs(w - z)) < 1e-7]
            if not hit or rows[hit[0]]["orbit"] != r["orbit"]:
                missing += 1
    for oid, ys_ in orbits.items():
        if len(orbit(gens, ys_[0], K, M)) != len(ys_):
            wrongsize += 1
            print("#   orbit %s: %d listed, the group gives %d" % (oid, len(ys_), len(orbit(gens, ys_[0], K, M))))
    report(missing == 0 and wrongsize == 0, "%s (b) orbits: %d images missing, %d of %d orbits of the wrong size"
           % (name, missing, wrongsize, len(orbits)))
    # (d) eigenvalues
    worst_e, worst_d, nd, worst_m = 0.0, 0.0, 0, 0.0
    for r, y in zip(rows, pts):
        lst = eigs_of(r, n)
        dead = dead_units(y, K, M)
        if not dead:
            J = jacobian(args, y, K=K, M=M)
            if J is None:
                continue
            ev = np.linalg.eigvals(J)
            scale = max(1, np.max(np.abs(ev)))
            de = match(lst, ev, 0) / scale
            if r["stability"] == "marginal":
                # no spectrum is claimed (a Jacobian error above the eigenvalues: a non-smooth drift)
                worst_m = max(worst_m, de)
                continue
            if de > 1e-5:
                print("#   point %s (%s, %s): eigenvalues %s, ours %s" % (r["id"], r["kind"], r["stability"],
                      np.round(lst, 6), np.round(ev, 6)))
            worst_e = max(worst_e, de)
            # the stability by our eigenvalues (with a margin)
            mx = np.max(ev.real)
            if abs(mx) > 1e-6:
                st = r["stability"]
                ok = (st == "stable") == (mx < 0) or st == "marginal"
                if not ok:
                    report(False, "%s (d) point %s: stability %s, our largest Re %.3g" % (name, r["id"], st, mx))
        else:
            nd += 1
            free = []
            k = 0
            for j in range(K):
                for i in range(M):
                    if i not in dead:
                        free.append(k)
                    k += 1
            for i in range(M):
                for l in range(i, M):
                    if i not in dead and l not in dead:
                        free.append(k)
                    k += 1
            J = jacobian(args, y, free, K=K, M=M) if free else None
            if J is not None:
                ev = np.linalg.eigvals(J)
                de = match(lst, ev, 0) / max(1, np.max(np.abs(ev)))
                if de > 1e-5:
                    print("#   point %s (%s, %s; dead units %s): eigenvalues %s, ours (live block) %s" % (
                          r["id"], r["kind"], r["stability"], [i + 1 for i in dead], np.round(lst, 7), np.round(ev, 7)))
                worst_e = max(worst_e, de)
            # the dead unit's Q_ii: dQ_ii/dt / Q_ii at Q_ii -> 0 (R_.i = 0, Q_il = 0)
            for i in dead:
                kq = K * M + sum(M - a for a in range(i))
                zs = []
                for eps in (1e-6, 2e-6):
                    z = np.array(y)
                    z[kq] = eps
                    zs.append(z)
                f1, f2 = drift(args, zs)
                rate = 2 * f1[kq] / 1e-6 - f2[kq] / 2e-6
                if np.min(np.abs(lst - rate)) / max(1, abs(rate)) > 1e-3:
                    print("#   point %s (%s): dead unit %d, Q growth rate %.6g, eigenvalues %s" % (r["id"], r["kind"], i + 1,
                          rate, np.round(lst, 6)))
                worst_d = max(worst_d, np.min(np.abs(lst - rate)) / max(1, abs(rate)))
    report(worst_e < 1e-5, "%s (d) eigenvalues vs our central differences: largest distance %.2g (relative to max(1, |eig|))"
           "%s" % (name, worst_e, "; at marginal points %.2g (not claimed)" % worst_m if worst_m else ""))
    if nd:
        report(worst_d < 1e-3, "%s (d) dead units' Q_ii growth rates found among the eigenvalues: largest distance %.2g"
               % (name, worst_d))
    if ODE_CHECK:
        check_ode_stability(name, args, rows, pts, K, M, tmp)
    # (c) M = 1 points in M = 2
    if want_m2_embedding and M == 1 and o["act"] != "sigmoid":
        a2 = [a for a in args]
        a2 += ["--M", "2"]
        rows2, _ = run_fixed(a2, tmp)
        pts2 = [state_of(r, K, 2) for r in rows2]
        # the M = 1 and M = 2 engines differ (quadratures): a point counts as
        # reproduced within 1e-5, and the largest distance is printed
        miss, far = 0, 0.0
        for y in pts:
            R, Q = unpack(y, K, 1)
            R2 = np.zeros((K, 2))
            R2[:, 0] = R[:, 0]
            Q2 = np.zeros((2, 2))
            Q2[0, 0] = Q[0, 0]
            z = pack(R2, Q2)
            dist = min((np.max(np.abs(w - z)) for w in pts2), default=np.inf)
            far = max(far, dist)
            if not dist < 1e-5:
                miss += 1
                print("#   M = 1 point R = %s, Q = %.6g not listed for M = 2 (nearest %.2g)" % (R[:, 0], Q[0, 0], dist))
        report(miss == 0, "%s (c) %d M = 1 points embedded in M = 2 (unit 2 dead): %d missing of %d M = 2 points "
               "(largest distance %.2g)" % (name, len(pts), miss, len(pts2), far))
    return rows, pts


def with_param(args, pname, v):
    """the options with parameter pname (a numeric option or m2_J) set to v"""
    if pname.startswith("m2_"):
        j, a2, seen = int(pname[3:]), [], 0
        for k, a in enumerate(args):
            if k > 0 and args[k - 1] == "--c":
                seen += 1
                if seen == j:
                    parts = a.split(":")
                    a = ":".join([parts[0], repr(v)] + parts[2:])
            a2.append(a)
        return a2
    return args + ["--%s" % pname, repr(v)]


def threshold_check(name, args, pname, a, b, h, point, tmp):
    """--threshold against our own bisection of the largest real part of our
    Jacobian's eigenvalues at the point `fixed` lists nearest the tracked one"""
    o = parse_opts(args)
    K, M = o["K"], o["M"]
    out = os.path.join(tmp, "t.csv")
    r = subprocess.run(["nice", BIN, "fixed"] + args + ["--threshold", pname, "--vary", "%s=%r:%r:%r" % (pname, a, b, h),
                        "--point", str(point), "--out", out, "--quiet"], capture_output=True, text=True)
    if r.returncode:
        report(False, "%s (e) threshold run failed: %s" % (name, r.stderr.strip()))
        return
    lines = open(out).read().strip().split("\n")[1:]
    crit = [ln.split(",") for ln in lines]
    print("# %s: --threshold %s gives %s" % (name, pname, [(c[2], c[3], c[4], c[5]) for c in crit]))
    if not crit:
        report(False, "%s (e) no critical value" % name)
        return
    rows0, _ = run_fixed(with_param(args, pname, a), tmp)
    sel = [r for r in rows0 if (r["kind"] == point if not str(point).isdigit() else r["id"] == str(point))][0]
    track = state_of(sel, K, M)

    def lam_at(v):
        nonlocal track
        a2 = with_param(args, pname, v)
        rows, _ = run_fixed(a2, tmp)
        pts = [state_of(r, K, M) for r in rows]
        k = int(np.argmin([np.max(np.abs(p - track)) for p in pts]))
        y = pts[k]
        dead = dead_units(y, K, M)
        free = None
        if dead:
            return np.max(eigs_of(rows[k], len(y)).real), y
        J = jacobian(a2, y, free)
        return np.max(np.linalg.eigvals(J).real), y

    for c in crit:
        if c[3] != "stability":
            continue
        vc = float(c[2])
        # our bisection on [vc - 10 d, vc + 10 d] around the printed value
        d = max(1e-4, 1e-4 * abs(vc))
        lo, hi = vc - 10 * d, vc + 10 * d
        # the tracked point at lo: the one of the selected kind (or id)
        rl, _ = run_fixed(with_param(args, pname, lo), tmp)
        track = state_of([r for r in rl if (r["kind"] == point if not str(point).isdigit() else r["id"] == str(point))][0], K, M)
        flo, ylo = lam_at(lo)
        track = ylo
        fhi, yhi = lam_at(hi)
        if flo * fhi > 0:
            report(False, "%s (e) no sign change of our eigenvalue around %s=%.10g (%.3g, %.3g)" % (name, pname, vc, flo, fhi))
            continue
        for _ in range(30):
            mid = (lo + hi) / 2
            track = ylo
            fm, ym = lam_at(mid)
            if (fm < 0) == (flo < 0):
                lo, flo, ylo = mid, fm, ym
            else:
                hi = mid
            if hi - lo < 1e-9 * max(1, abs(vc)):
                break
        ours = (lo + hi) / 2
        report(abs(ours - vc) < 1e-6 * max(1, abs(vc)), "%s (e) %s critical %.10g, our bisection %.10g (diff %.2g)"
               % (name, pname, vc, ours, abs(ours - vc)))


def malformed():
    cases = [
        ["fixed", "--vary", "lambda"],
        ["fixed", "--vary", "lambda=1:0:0.1"],
        ["fixed", "--vary", "lambda=0:1:0"],
        ["fixed", "--vary", "lambda=0:1:-0.1"],
        ["fixed", "--vary", "lambda=0:1"],
        ["fixed", "--vary", "lambda=nan:1:0.1"],
        ["fixed", "--vary", "lambda=0:inf:0.1"],
        ["fixed", "--vary", "lambda=0:1e300:1e-300"],
        ["fixed", "--vary", "lambda=0:1e9:1e-3"],
        ["fixed", "--vary", "lambda=0:1:0.1x"],
        ["fixed", "--vary", "bogus=0:1:0.1"],
        ["fixed", "--vary", "=0:1:0.1"],
        ["fixed", "--vary", "s=-1:1:0.5"],
        ["fixed", "--vary", "m2_3=1:2:0.5"],
        ["fixed", "--vary", "m2_0=1:2:0.5"],
        ["fixed", "--vary", "m2_1=0:2:0.5"],
        ["fixed", "--vary", "M=1:2:1"],
        ["fixed", "--lambda", "nan"],
        ["fixed", "--lambda", "1e400"],
        ["fixed", "--tau", "inf"],
        ["fixed", "--starts", "-1"],
        ["fixed", "--starts", "1e9"],
        ["fixed", "--threshold", "lambda"],
        ["fixed", "--threshold", "lambda", "--vary", "s=0:1:0.1"],
        ["fixed", "--threshold", "bogus", "--vary", "bogus=0:1:0.1"],
        ["fixed", "--threshold", "lambda", "--vary", "lambda=0.5:0.6:0.1", "--point", "0"],
        ["fixed", "--threshold", "lambda", "--vary", "lambda=0.5:0.6:0.1", "--point", "-3"],
        ["fixed", "--threshold", "lambda", "--vary", "lambda=0.5:0.6:0.1", "--point", "x7"],
        ["fixed", "--threshold", "lambda", "--vary", "lambda=0.5:0.6:0.1", "--point", "99"],
        ["fixed", "--threshold", "lambda", "--vary", "lambda=0.5:0.6:0.1", "--point", "1e3"],
        ["fixed", "--point", "1"],
        ["fixed", "--M", "2", "--threshold"],
        ["fixed", "--c", "discrete:1@0.5,-1@0.6"],
        ["fixed", "--c", "discrete:1@nan,-1@0.5"],
        ["fixed", "--rho", "nan"],
        ["basin", "--M", "2", "--directions", "0"],
        ["basin", "--M", "2", "--directions", "-5"],
        ["basin", "--M", "2", "--tmax", "nan"],
        ["basin", "--M", "2", "--tmax", "0"],
        ["basin", "--M", "2", "--tmax", "1e300"],
        ["basin", "--M", "2", "--B", "2"],
        ["basin", "--M", "2", "--map", "/tmp/x.csv"],
        ["basin", "--c", "rademacher:3"],
        ["basin", "--M", "2", "--lambda", "nan"],
        ["basin", "--M", "2", "--N", "3"],
        ["basin", "--M", "2", "--vary", "lambda=0:1:0.1"],
    ]
    bad = 0
    for c in cases:
        with tempfile.TemporaryDirectory() as d:
            r = subprocess.run(["timeout", "60", BIN] + c + ["--out", os.path.join(d, "o.csv"), "--quiet"],
                               capture_output=True, text=True)
        lines = [ln for ln in r.stderr.split("\n") if ln]
        ok = r.returncode == 2 and len(lines) == 1
        if not ok:
            bad += 1
            print("#   %s: exit %d, %d stderr lines: %s" % (" ".join(c), r.returncode, len(lines), r.stderr.strip()[:200]))
    report(bad == 0, "(f) %d malformed inputs to fixed/basin: %d without a one-line error and exit 2" % (len(cases), bad))
    # a huge s is in range: by design no search (docs/hardening.md s.13), exit 0 with a note
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run([BIN, "fixed", "--s", "1e300", "--out", os.path.join(d, "o.csv")], capture_output=True, text=True)
    report(r.returncode == 0 and "no search" in r.stderr, "(f) fixed --s 1e300: exit %d, says 'no search': %s"
           % (r.returncode, "no search" in r.stderr))


def read_table(path):
    with open(path) as f:
        lines = f.read().strip().split("\n")
    head = lines[0].split(",")
    return head, np.array([[float(t) for t in ln.split(",")] for ln in lines[1:]])


M3_BOUND_CASES = [
    ("m3-laplace-uniform-tanh", ["--M", "3", "--c", "laplace:3", "--c", "uniform:3", "--act", "tanh", "--lambda", "1"]),
    ("m3-sparse-gauss-erf", ["--M", "3", "--c", "sparse:3:0.5", "--c", "gauss:2", "--act", "erf",
                             "--lambda", "0.5", "--rho", "0.3"]),
    # (g = abs at M = 3: the default rule alone took more than 6 CPU minutes to T = 3 on the shared
    # machine, the 16x rule was not affordable)
    ("m3-student-relu", ["--M", "3", "--c", "student:3:6", "--act", "relu", "--lambda", "0", "--s", "0.7"]),
    # (relu with lambda = 0.5 or 2 blows up in finite time from Q = I: dQ_ii/dt = 2.6 and 80 there, also at M = 2)
    ("m3-asym-sigmoid-B2", ["--M", "3", "--c", "discrete:-1@0.25,0.5@0.5,0@0.25", "--c", "gauss:3", "--act", "sigmoid",
                            "--lambda", "0.3", "--B", "2", "--rho", "-0.4"]),
]


def m3_bounds(tmp, T=3, names=None):
    """M >= 3 Sobol' engine: the printed trajectory bound (JSON method) and
    the drift bound at the start against the change to a 16x finer rule"""
    import re
    for name, args in M3_BOUND_CASES:
        if names and name not in names:
            continue
        res = {}
        for tag, extra in (("default", []), ("fine", ["--qmc-points", "65536"])):
            out = os.path.join(tmp, "m3_%s.csv" % tag)
            try:
                r = subprocess.run(["nice", BIN, "ode"] + args + extra + ["--T", str(T), "--dt-out", "0.25", "--out", out,
                                   "--quiet"], capture_output=True, text=True, timeout=900)
            except subprocess.TimeoutExpired:
                print("# %s: %s rule beyond 900 s, skipped" % (name, tag))
                break
            if r.returncode:
                report(False, "%s: ode failed: %s" % (name, r.stderr.strip()))
                break
            meth = json.load(open(out + ".json"))["method"]
            tb = re.search(r"trajectory error bound ([0-9.e+-]+)", meth)
            db = re.search(r"drift error bound ([0-9.e+-]+)", meth)
            res[tag] = (read_table(out), float(tb.group(1)) if tb else None, float(db.group(1)) if db else None)
        if len(res) < 2:
            continue
        (hd, d0), tb0, db0 = res["default"]
        (hf, d1), tb1, _ = res["fine"]
        cols = [k for k, h in enumerate(hd) if h.startswith("R_") or h.startswith("Q_")]
        diff = np.max(np.abs(d0[:, cols] - d1[:, cols]))
        report(tb0 is not None and diff <= tb0, "%s (2) trajectory to T = %g: change under 16x points %.3g, printed bound %s "
               "(16x run's own bound %s)" % (name, T, diff, tb0, tb1))
        # the drift at the start: default rule vs 16x, against the default's bound
        o = parse_opts(args)
        K, M = o["K"], o["M"]
        y0 = d0[0, [k for k, h in enumerate(hd) if h.startswith("R_") or h.startswith("Q_")]]
        fd = drift(args, [y0])[0]
        ff = drift(args + ["--qmc-points", "65536"], [y0])[0]
        inp = " ".join(repr(float(v)) for v in y0) + "\n"
        rr = subprocess.run([HELPER] + args, input=inp, capture_output=True, text=True).stdout.split()
        bound = float(rr[-1])
        dd = np.max(np.abs(fd - ff))
        report(dd <= bound, "%s (2) drift at t = 0: change under 16x points %.3g, bound %.3g (printed %s)"
               % (name, dd, bound, db0))


M1_CASES = [
    ("m1-sparse-relu", ["--c", "sparse:2:0.3", "--act", "relu", "--s", "0.7"]),
    ("m1-uniform-laplace-erf", ["--c", "uniform:3", "--c", "laplace:2", "--act", "erf", "--rho", "0.4"]),
    ("m1-asym-discrete-tanh", ["--c", "discrete:-1@0.25,0.5@0.5,0@0.25", "--c", "rademacher:3", "--act", "tanh"]),
    ("m1-student-sigmoid", ["--c", "student:3:6", "--act", "sigmoid", "--rho", "-0.5", "--s", "0.4"]),
    ("m1-asym-discrete-relu", ["--c", "discrete:2@0.2,-0.5@0.8", "--act", "relu", "--s", "0.3"]),
    ("m1-equal-laws-spelled-differently", ["--c", "rademacher:2", "--c", "discrete:-1.4142135623730951@0.5,1.4142135623730951@0.5",
                                           "--act", "tanh"]),
]
M2_CASES = [
    ("m2-sparse-erf-abs", ["--M", "2", "--c", "sparse:3:0.5", "--c", "sparse:3:0.5", "--act", "erf", "--g", "abs",
                           "--lambda", "0.7", "--rho", "0.3"]),
    ("m2-asym-relu", ["--M", "2", "--c", "rademacher:3", "--c", "discrete:-1@0.25,0.5@0.5,0@0.25", "--act", "relu",
                      "--lambda", "1.5"]),
    ("m2-uniform-tanh", ["--M", "2", "--c", "uniform:3", "--c", "uniform:3", "--act", "tanh", "--lambda", "2.5"]),
    ("m2-laplace-sigmoid", ["--M", "2", "--c", "laplace:3", "--c", "rademacher:2", "--act", "sigmoid", "--lambda", "0.3"]),
    # nearly collapsed state (correlation 0.99984) that only the flows found; session 10: an artefact of the
    # grid, which now refuses it (docs/fixed-points.md s.2, "Resolved (session 10)"); not re-run since
    ("m2-laplace-sigmoid-s1", ["--M", "2", "--c", "laplace:3", "--c", "rademacher:2", "--act", "sigmoid", "--lambda", "0.3",
                               "--s", "1"]),
]
# session 13 (audit5): unseen M = 2 models for (a), (b), (d) and (g) (`--ode`)
M2_NEW_CASES = [
    ("m2-gauss-uniform-erf-rho", ["--M", "2", "--c", "gauss:2.2", "--c", "uniform:1.6", "--act", "erf", "--lambda", "0.8",
                                  "--rho", "0.45", "--s", "0.35"]),
    ("m2-sparse-rademacher-tanh", ["--M", "2", "--c", "sparse:2.5:0.3", "--c", "rademacher:1.8", "--act", "tanh",
                                     "--lambda", "1.7", "--s", "0.8", "--rho", "-0.3"]),
    ("m2-asym-sigmoid", ["--M", "2", "--c", "discrete:-1.5@0.3,1@0.45,0@0.25", "--c", "gauss:2.4", "--act", "sigmoid",
                         "--lambda", "0.5", "--s", "0.6"]),
]
M3_CASES = [
    ("m3-rademacher-tanh", ["--M", "3", "--c", "rademacher:3", "--c", "rademacher:3", "--act", "tanh", "--lambda", "1",
                            "--starts", "4"]),
]


def main():
    quick = "--quick" in sys.argv
    only = None
    if "--only" in sys.argv:
        only = sys.argv[sys.argv.index("--only") + 1].split(",")
    build_helper()
    with tempfile.TemporaryDirectory() as tmp:
        for name, args in M1_CASES:
            if only and name not in only:
                continue
            check_fixed(name, args, tmp, want_m2_embedding=True)
        if not quick:
            for name, args in M2_CASES + M3_CASES + M2_NEW_CASES:
                if only and name not in only:
                    continue
                check_fixed(name, args, tmp)
        if not only or "threshold" in only:
            threshold_check("m1-threshold-s", ["--c", "sparse:2:0.3", "--act", "tanh"], "s", 0.2, 2.0, 0.2, "uninformative", tmp)
            threshold_check("m1-threshold-m2", ["--c", "rademacher:3", "--act", "erf"], "m2_1", 0.5, 3.0, 0.25,
                            "uninformative", tmp)
        if (not only and not quick) or (only and "m3bounds" in only):
            m3_bounds(tmp, names=[n for n in only if n.startswith("m3-")] if only else None)
        if not only or "malformed" in only:
            malformed()
    print("%d failed" % len(FAILS))
    for f in FAILS:
        print("  " + f)
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
