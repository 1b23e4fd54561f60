/* The closed-form expectation engine: sigma(h) = erf(h / sqrt 2) and every
 * feature law gauss (docs/closed-forms.md).
 *
 * Then c is Gaussian and merges into the covariance: the 2M pre-activations
 * v = (h1, h2) are a zero-mean Gaussian vector with covariance
 *   Cf = [[Qt + s^2 Q, Qt + rho s^2 Q], [., Qt + s^2 Q]],
 *   Qt = Q - R^T R + R^T diag(m2) R,
 * jointly Gaussian with c_j (Cov(c_j, h^a_l) = m2_j R_jl) and with the noise
 * along the features (Cov(eps1_j, h1_l) = s R_jl, Cov(eps1_j, h2_l) = s rho R_jl).
 * Every drift term is E[X ghat] (X in c, eps, h: Stein's lemma,
 * E[X ghat] = sum_k Cov(X, v_k) E[d_k ghat]) or E[ghat ghat] (V), and ghat is
 * a sum of monomials  coef * prod_k sigma(v_k)^p_k sigma'(v_k)^q_k v_k^r_k.
 * The expectation of a monomial (ex_rec):
 *   1. the Gaussian factors sigma'^q = (2/pi)^(q/2) exp(-q v^2 / 2) are
 *      absorbed into the measure (new covariance, determinant prefactor);
 *   2. a polynomial factor v_k is removed by Stein's lemma;
 *   3. what is left is a product of erf factors: 0 if their number is odd,
 *      (2/pi) arcsin(C12 / sqrt((1 + C11)(1 + C22))) for two, and for four
 *      or six (only in V with lambda > 0) one or two nested Gauss-Legendre
 *      integrals of such closed forms by Price's theorem (price), with an
 *      error estimate from a coarser rule (ex_sigma). */
#include "drift_erf.h"
#include "drift_multi.h" /* cl_drift_threads */
#include "linalg.h"
#include "quad_gl.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NV 8 /* variables of one monomial (at most 6 occur) */
/* Gauss-Legendre orders in t: the pair (lev, lev + 1) gives a value and its
 * error estimate; by default the pair moves up while the estimate exceeds
 * TOL_ABS + TOL_REL |value| (docs/closed-forms.md s.4) */
enum { NT_MAX = 64, NLEV = 6 };
static const int nt_levels[NLEV] = {8, 12, 18, 27, 40, 60};
#define TOL_ABS 1e-11
#define TOL_REL 1e-10

typedef struct {
  double coef;
  int n;
  int var[NV];
  int p[NV], q[NV], r[NV];
} mono;

struct cl_erf {
  cl_model m;
  int K, M, d2;
  double beta, lam;
  int numeric;     /* V has terms with four or more erf factors (lambda > 0, M >= 2) */
  int nlev;        /* rules: 2 (fixed, --quad-gauss) or NLEV (adaptive) */
  int adaptive;
  int nt[NLEV];    /* Gauss-Legendre points in t of each rule */
  double tx[NLEV][NT_MAX], tw[NLEV][NT_MAX]; /* on [0, 1] */
  double Cf[4 * CL_MMAX * CL_MMAX];
  double emax;     /* error estimate of the last evaluation */
  mono *gm;        /* monomials of ghat^a_i, a = 0, 1 (views), i < M */
  int gstart[2 * CL_MMAX + 1];
  double *G;       /* 2M x 2M: E[d_k ghat^a_i] */
  double *E2;      /* 2M x 2M: E[ghat^a_i ghat^b_l] */
  double *E2err;   /* its error estimate */
  char method[512];
};

static const double TWO_OVER_PI = 0.63661977236758134308; /* 2 / pi */

int cl_erf_applies(const cl_model *m, char *why, size_t len) {
  const char *w = NULL;
  if (m->act != CL_ACT_ERF) w = "act must be erf";
  for (int j = 0; j < m->K && !w; j++)
    if (m->c[j].kind != CL_LAW_GAUSS) w = "every law c must be gauss";
  if (!w && m->reg.kind != CL_REG_L2 && m->reg.kind != CL_REG_NONE) w = "reg must be l2 or none";
  if (!w && m->M >= 2 && m->lambda != 0) {
    if (m->g != CL_G_SQUARE) w = "with lambda > 0, g must be square";
    else if (m->B != 1) w = "with lambda > 0, B must be 1";
  }
  if (why && len) snprintf(why, len, "%s", w ? w : "");
  return w == NULL;
}

void cl_erf_free(cl_erf *e) {
  if (!e) return;
  free(e->gm);
  free(e->G);
  free(e->E2);
  free(e->E2err);
  free(e);
}

/* ---- small dense linear algebra (n <= NV) ---- */

/* Absorbs prod_k sigma'(v_k)^q_k into N(0, C): C <- C - C_T D W^-1 D C_T.,
 * W = I + D C_TT D, D = diag(sqrt q); returns the prefactor
 * (2/pi)^(sum q / 2) det(W)^-1/2. */
static double absorb(double *C, int n, const int *q) {
  int T[NV], t = 0, sq = 0;
  double d[NV];
  for (int k = 0; k < n; k++)
    if (q[k] > 0) T[t] = k, d[t++] = sqrt((double)q[k]), sq += q[k];
  double W[NV * NV], X[NV * NV];
  for (int a = 0; a < t; a++)
    for (int b = 0; b < t; b++) W[a * t + b] = (a == b) + d[a] * d[b] * C[T[a] * n + T[b]];
  /* Cholesky W = L L^T (W >= I, so always positive definite) */
  double det = 1;
  for (int a = 0; a < t; a++) {
    for (int b = 0; b <= a; b++) {
      double s = W[a * t + b];
      for (int k = 0; k < b; k++) s -= W[a * t + k] * W[b * t + k];
      if (a == b) {
        W[a * t + a] = sqrt(s);
        det *= s;
      } else
        W[a * t + b] = s / W[b * t + b];
    }
  }
  /* X = L^-1 D C_T. (t x n) */
  for (int c = 0; c < n; c++)
    for (int a = 0; a < t; a++) {
      double s = d[a] * C[T[a] * n + c];
      for (int k = 0; k < a; k++) s -= W[a * t + k] * X[k * n + c];
      X[a * n + c] = s / W[a * t + a];
    }
  for (int r = 0; r < n; r++)
    for (int c = r; c < n; c++) {
      double s = 0;
      for (int a = 0; a < t; a++) s += X[a * n + r] * X[a * n + c];
      C[r * n + c] -= s;
      C[c * n + r] = C[r * n + c];
    }
  return pow(TWO_OVER_PI, 0.5 * sq) / sqrt(det);
}

/* ---- products of erf factors ---- */

/* The total degree of prod v_k^p_k, and (v, nv) its first two variables. */
static int degree_of(const int *p, int n, int *v, int *nv) {
  int deg = 0;
  for (int k = 0; k < n; k++) {
    deg += p[k];
    if (p[k] > 0 && *nv < 2) v[(*nv)++] = k;
  }
  return deg;
}

/* E[sigma(u) sigma(w)] over N(0, [[cuu, cuw], [cuw, cww]]) (w = u: E[sigma(u)^2]). */
static inline double asin2(double cuu, double cww, double cuw) {
  double x = cuw / sqrt((1 + cuu) * (1 + cww));
  x = x > 1 ? 1 : x < -1 ? -1 : x;
  return TWO_OVER_PI * asin(x);
}

/* The split of Price's theorem (price): block A is two copies of the first
 * variable with p >= 2, else the first two variables; the new variables
 * are A's, then B's with what is left of p.  src, mult: their source
 * variable and multiplicity; C1 their covariance; returns their number,
 * *nA that of A. */
static int price_split(const double *C, int n, const int *p, int *src, int *mult, double *C1, int *nA) {
  int pb[NV], na = 0, a2 = -1;
  memcpy(pb, p, sizeof(int) * (size_t)n);
  for (int k = 0; k < n && a2 < 0; k++)
    if (p[k] >= 2) a2 = k;
  if (a2 >= 0) src[na] = a2, mult[na++] = 2, pb[a2] -= 2;
  else
    for (int k = 0; k < n && na < 2; k++)
      if (p[k] == 1) src[na] = k, mult[na++] = 1, pb[k] = 0;
  int ns = na;
  for (int k = 0; k < n; k++)
    if (pb[k] > 0) src[ns] = k, mult[ns++] = pb[k];
  for (int a = 0; a < ns; a++)
    for (int b = 0; b < ns; b++) C1[a * ns + b] = C[src[a] * n + src[b]];
  *nA = na;
  return ns;
}

/* E[prod of four erf factors] (price with deg = 4): after absorbing
 * sigma'(v_a) sigma'(v_b) two factors u, w are left, and only their 2 x 2
 * covariance is needed.  Each covariance entry is its value at t = 1 times
 * t (A-B entries) or 1, so everything but the Gauss-Legendre loop is done
 * once per pair (a, b): the loop is the hot spot of V at lambda > 0. */
static double price4(const double *C, int n, const int *p, const double *tx, const double *tw, int nt) {
  int src[NV], mult[NV], nA;
  double C1[NV * NV];
  const int ns = price_split(C, n, p, src, mult, C1, &nA);
  /* t = 0: the blocks, each of two factors */
  double I = nA == 1 ? asin2(C1[0], C1[0], C1[0]) : asin2(C1[0], C1[ns + 1], C1[1]);
  if (I != 0) {
    const int u = nA, w = ns - 1; /* B: one variable of multiplicity 2, or two */
    I *= asin2(C1[u * ns + u], C1[w * ns + w], C1[u * ns + w]);
  }
  for (int a = 0; a < nA; a++)
    for (int b = nA; b < ns; b++) {
      const double cab = C1[a * ns + b];
      if (cab == 0) continue;
      int pr[NV], u = -1, w = -1;
      memcpy(pr, mult, sizeof(int) * (size_t)ns);
      pr[a]--, pr[b]--;
      for (int k = 0; k < ns; k++)
        if (pr[k] > 0) {
          if (u < 0) u = k;
          if (pr[k] == 2 || u != k) w = k;
        }
      /* an entry between the blocks is q t, within a block q: written
       * q1 t + q0 with (q1, q0) = (q, 0) or (0, q), exact either way */
      const int su = u >= nA, sw = w >= nA, suw = su != sw;
      const double w11 = 1 + C1[a * ns + a], w22 = 1 + C1[b * ns + b];
      const double ua = C1[u * ns + a], ub = C1[u * ns + b], wa = C1[w * ns + a], wb = C1[w * ns + b];
      const double ua1 = su ? ua : 0, ua0 = su ? 0 : ua, ub1 = su ? 0 : ub, ub0 = su ? ub : 0;
      const double wa1 = sw ? wa : 0, wa0 = sw ? 0 : wa, wb1 = sw ? 0 : wb, wb0 = sw ? wb : 0;
      const double cuu = C1[u * ns + u], cww = C1[w * ns + w], cuw = C1[u * ns + w];
      const double cuw1 = suw ? cuw : 0, cuw0 = suw ? 0 : cuw;
      /* the algebra for all nodes first (vectorised: only +, -, *, /,
       * correctly rounded in every lane, so the results are the scalar
       * ones), then the square roots and arcsines */
      double c11[NT_MAX], c22[NT_MAX], c12[NT_MAX], det[NT_MAX];
#pragma omp simd
      for (int it = 0; it < nt; it++) {
        const double t = tx[it];
        const double w12 = t * cab, dt = w11 * w22 - w12 * w12, id = 1 / dt;
        const double i11 = w22 * id, i22 = w11 * id, i12 = -w12 * id;
        const double xa = ua1 * t + ua0, xb = ub1 * t + ub0, ya = wa1 * t + wa0, yb = wb1 * t + wb0;
        const double fa = i11 * xa + i12 * xb, fb = i12 * xa + i22 * xb; /* u's row of W^-1 */
        const double ga = i11 * ya + i12 * yb, gb = i12 * ya + i22 * yb;
        c11[it] = cuu - (xa * fa + xb * fb), c22[it] = cww - (ya * ga + yb * gb);
        c12[it] = (cuw1 * t + cuw0) - (fa * ya + fb * yb);
        det[it] = dt;
      }
      double sum = 0;
      for (int it = 0; it < nt; it++) sum += tw[it] * asin2(c11[it], c22[it], c12[it]) / sqrt(det[it]);
      I += mult[a] * mult[b] * cab * TWO_OVER_PI * sum;
    }
  return I;
}

/* E[prod_k sigma(v_k)^p_k] over N(0, C) by Price's theorem: the factors
 * are split into a block A (two of them) and the rest B, and the covariance
 * between the blocks is switched on along C(t) = C0 + t (C - C0), C0 = C
 * without the A-B entries (PSD for t in [0, 1]).  At t = 0 the expectation
 * factorises, and d/dt E = sum_{a in A, b in B} C_ab E_t[sigma'(v_a)
 * sigma'(v_b) prod_others sigma] (Price), whose Gaussian factors are
 * absorbed: two erf factors fewer, so the recursion ends in the arcsin
 * formula.  The t-integral (analytic in t) is by the Gauss-Legendre rule
 * (tx, tw) on [0, 1]: one level for four factors (price4), two for six.
 * A variable whose copies fall in both blocks becomes two variables
 * (perfectly correlated at t = 1). */
static double price(const double *C, int n, const int *p, const double *tx, const double *tw, int nt) {
  int v[2], nv = 0, deg = degree_of(p, n, v, &nv);
  if (deg & 1) return 0;
  if (deg == 0) return 1;
  if (deg == 2) return asin2(C[v[0] * n + v[0]], C[v[nv - 1] * n + v[nv - 1]], C[v[0] * n + v[nv - 1]]);
  if (deg == 4) return price4(C, n, p, tx, tw, nt);
  int src[NV], mult[NV], nA;
  double C1[NV * NV], Ct[NV * NV], Cs[NV * NV];
  const int ns = price_split(C, n, p, src, mult, C1, &nA);
  /* t = 0: the product of the blocks */
  double CA[4], CB[NV * NV];
  int nB = ns - nA;
  for (int a = 0; a < nA; a++)
    for (int b = 0; b < nA; b++) CA[a * nA + b] = C1[a * ns + b];
  for (int a = 0; a < nB; a++)
    for (int b = 0; b < nB; b++) CB[a * nB + b] = C1[(nA + a) * ns + nA + b];
  double I = price(CA, nA, mult, tx, tw, nt);
  if (I != 0) I *= price(CB, nB, mult + nA, tx, tw, nt);
  for (int it = 0; it < nt; it++) {
    const double t = tx[it];
    for (int a = 0; a < ns; a++)
      for (int b = 0; b < ns; b++) Ct[a * ns + b] = C1[a * ns + b] * (((a < nA) == (b < nA)) ? 1 : t);
    double sum = 0;
    for (int a = 0; a < nA; a++)
      for (int b = nA; b < ns; b++) {
        const double cab = C1[a * ns + b];
        if (cab == 0) continue;
        int pr[NV];
        memcpy(pr, mult, sizeof(int) * (size_t)ns);
        pr[a]--, pr[b]--;
        /* absorb sigma'(v_a) sigma'(v_b): W = I + C_{ab,ab}, C <- C - C_.T W^-1 C_T. */
        const double w11 = 1 + Ct[a * ns + a], w22 = 1 + Ct[b * ns + b], w12 = Ct[a * ns + b];
        const double det = w11 * w22 - w12 * w12, i11 = w22 / det, i22 = w11 / det, i12 = -w12 / det;
        const double pref = TWO_OVER_PI / sqrt(det);
        for (int x = 0; x < ns; x++) {
          const double xa = Ct[x * ns + a], xb = Ct[x * ns + b];
          const double fa = i11 * xa + i12 * xb, fb = i12 * xa + i22 * xb;
          for (int y = x; y < ns; y++)
            Cs[x * ns + y] = Cs[y * ns + x] = Ct[x * ns + y] - (fa * Ct[a * ns + y] + fb * Ct[b * ns + y]);
        }
        sum += mult[a] * mult[b] * cab * pref * price(Cs, ns, pr, tx, tw, nt);
      }
    I += tw[it] * sum;
  }
  return I;
}

/* The connected components of the variables with p > 0 under the
 * relation C_ab != 0: comp[k] = component of variable k (-1 if p_k = 0);
 * returns their number. */
static int components(const double *C, int n, const int *p, int *comp) {
  int nc = 0;
  for (int k = 0; k < n; k++) comp[k] = -1;
  for (int k0 = 0; k0 < n; k0++) {
    if (p[k0] == 0 || comp[k0] >= 0) continue;
    int stack[NV], top = 0;
    comp[k0] = nc, stack[top++] = k0;
    while (top > 0) {
      const int a = stack[--top];
      for (int b = 0; b < n; b++)
        if (p[b] > 0 && comp[b] < 0 && C[a * n + b] != 0) comp[b] = nc, stack[top++] = b;
    }
    nc++;
  }
  return nc;
}

static double ex_sigma(const cl_erf *e, const double *C, int n, const int *p, double scale, double *verr);

/* E[prod sigma(v_k)^p_k] when the variables fall into nc > 1 independent
 * groups (comp): the product of the groups' expectations, exact in its
 * structure whatever the state (a zero covariance is a zero, not a
 * threshold), and much cheaper than the Price integrals, which would
 * integrate identically vanishing couplings.  An odd group makes it 0.  The
 * error estimate of the product is sum_g err_g prod_{h != g} |value_h|. */
static double ex_groups(const cl_erf *e, const double *C, int n, const int *p, const int *comp, int nc,
                        double scale, double *verr) {
  int deg[NV] = {0};
  for (int k = 0; k < n; k++)
    if (comp[k] >= 0) deg[comp[k]] += p[k];
  for (int g = 0; g < nc; g++)
    if (deg[g] & 1) return 0;
  double val[NV], err[NV], prod = 1;
  for (int g = 0; g < nc; g++) {
    int src[NV], ng = 0, pg[NV];
    double Cg[NV * NV];
    for (int k = 0; k < n; k++)
      if (comp[k] == g) src[ng] = k, pg[ng++] = p[k];
    for (int a = 0; a < ng; a++)
      for (int b = 0; b < ng; b++) Cg[a * ng + b] = C[src[a] * n + src[b]];
    err[g] = 0;
    val[g] = ex_sigma(e, Cg, ng, pg, 1, &err[g]);
    prod *= val[g];
  }
  double es = 0;
  for (int g = 0; g < nc; g++) {
    double o = err[g];
    for (int h = 0; h < nc; h++)
      if (h != g) o *= fabs(val[h]);
    es += o;
  }
  *verr += scale * es;
  return prod;
}

/* E[prod sigma(v_k)^p_k] over N(0, C) (no other factors). */
static double ex_sigma(const cl_erf *e, const double *C, int n, const int *p, double scale, double *verr) {
  int v[2], nv = 0, deg = degree_of(p, n, v, &nv);
  if (deg & 1) return 0;
  if (deg == 0) return 1;
  if (deg == 2) return asin2(C[v[0] * n + v[0]], C[v[nv - 1] * n + v[nv - 1]], C[v[0] * n + v[nv - 1]]);
  int comp[NV], nc = components(C, n, p, comp);
  if (nc > 1) return ex_groups(e, C, n, p, comp, nc, scale, verr);
  double lo = price(C, n, p, e->tx[0], e->tw[0], e->nt[0]);
  for (int r = 1;; r++) {
    double hi = price(C, n, p, e->tx[r], e->tw[r], e->nt[r]), d = fabs(hi - lo);
    if (r + 1 == e->nlev || d <= TOL_ABS + TOL_REL * fabs(hi)) {
      *verr += scale * d;
      return hi;
    }
    lo = hi;
  }
}

/* E[prod sigma^p sigma'^q v^r] over N(0, C) (n local variables); scale is
 * the absolute weight of this result in the caller's sum, for the error
 * estimate. */
static double ex_rec(const cl_erf *e, const double *C0, int n, const int *p, const int *q, const int *r,
                     double scale, double *verr) {
  int deg = 0, anyq = 0;
  for (int k = 0; k < n; k++) deg += p[k] + r[k], anyq |= q[k];
  if (deg & 1) return 0; /* odd in v: sigma and v odd, sigma' even */
  {
    /* the same within each independent group of variables (flip the sign
     * of one group): absorbing and Stein's lemma keep the groups apart */
    int any[NV] = {0}, comp[NV], odd[NV] = {0};
    for (int k = 0; k < n; k++) any[k] = p[k] | q[k] | r[k];
    const int nc = components(C0, n, any, comp);
    for (int k = 0; k < n; k++)
      if (comp[k] >= 0) odd[comp[k]] ^= (p[k] + r[k]) & 1;
    for (int g = 0; g < nc; g++)
      if (odd[g]) return 0;
  }
  double C[NV * NV];
  memcpy(C, C0, sizeof(double) * (size_t)(n * n));
  double pref = 1;
  int q0[NV] = {0};
  if (anyq) pref = absorb(C, n, q);
  int k = 0;
  while (k < n && r[k] == 0) k++;
  if (k == n) return pref * ex_sigma(e, C, n, p, scale * pref, verr);
  /* Stein: E[v_k F] = sum_l C_kl E[d_l F] */
  int r2[NV], p3[NV], q3[NV], r3[NV];
  memcpy(r2, r, sizeof(int) * (size_t)n);
  r2[k]--;
  double sum = 0;
  for (int l = 0; l < n; l++) {
    const double ckl = C[k * n + l];
    if (ckl == 0) continue;
    if (r2[l] > 0) {
      memcpy(r3, r2, sizeof(int) * (size_t)n);
      r3[l]--;
      double f = ckl * r2[l];
      sum += f * ex_rec(e, C, n, p, q0, r3, scale * pref * fabs(f), verr);
    }
    if (p[l] > 0) {
      memcpy(p3, p, sizeof(int) * (size_t)n);
      memset(q3, 0, sizeof(int) * (size_t)n);
      p3[l]--, q3[l] = 1;
      double f = ckl * p[l];
      sum += f * ex_rec(e, C, n, p3, q3, r2, scale * pref * fabs(f), verr);
    }
  }
  return pref * sum;
}

/* E[monomial] (with its coefficient). */
static double ex_mono(const cl_erf *e, const mono *mo, double scale, double *verr) {
  double C[NV * NV];
  const int n = mo->n, d2 = e->d2;
  for (int a = 0; a < n; a++)
    for (int b = 0; b < n; b++) C[a * n + b] = e->Cf[mo->var[a] * d2 + mo->var[b]];
  return mo->coef * ex_rec(e, C, n, mo->p, mo->q, mo->r, scale * fabs(mo->coef), verr);
}

static void mono_factor(mono *mo, int var, int p, int q, int r) {
  int k = 0;
  while (k < mo->n && mo->var[k] != var) k++;
  if (k == mo->n) mo->var[mo->n++] = var, mo->p[k] = mo->q[k] = mo->r[k] = 0;
  mo->p[k] += p, mo->q[k] += q, mo->r[k] += r;
}

static mono mono_mul(const mono *a, const mono *b) {
  mono c = *a;
  c.coef *= b->coef;
  for (int k = 0; k < b->n; k++) mono_factor(&c, b->var[k], b->p[k], b->q[k], b->r[k]);
  return c;
}

/* sum of E[d_var of mo] */
static double ex_deriv(const cl_erf *e, const mono *mo, int var) {
  double verr = 0; /* not used: these terms have at most two erf factors */
  int k = 0;
  while (k < mo->n && mo->var[k] != var) k++;
  if (k == mo->n) return 0;
  double s = 0;
  mono d = *mo;
  if (mo->p[k] > 0) { /* sigma' = d sigma */
    d = *mo, d.coef *= mo->p[k], d.p[k]--, d.q[k]++;
    s += ex_mono(e, &d, 1, &verr);
  }
  if (mo->q[k] > 0) { /* d sigma'^q = -q v sigma'^q */
    d = *mo, d.coef *= -mo->q[k], d.r[k]++;
    s += ex_mono(e, &d, 1, &verr);
  }
  if (mo->r[k] > 0) {
    d = *mo, d.coef *= mo->r[k], d.r[k]--;
    s += ex_mono(e, &d, 1, &verr);
  }
  return s;
}

cl_status cl_erf_alloc(const cl_model *m, const cl_quad_opts *o, cl_erf **out, char *err) {
  *out = NULL;
  char why[160];
  if (!cl_erf_applies(m, why, sizeof why))
    return cl_fail(err, CL_EINVAL, "expect: closed forms need sigma = erf and Gaussian laws (%s)", why);
  cl_erf *e = calloc(1, sizeof *e);
  if (!e) return cl_fail(err, CL_ENOMEM, "out of memory");
  e->m = *m;
  e->K = m->K, e->M = m->M, e->d2 = 2 * m->M;
  e->beta = m->reg.kind == CL_REG_L2 ? m->reg.beta2 : 0;
  e->lam = m->M >= 2 ? m->lambda : 0;
  e->numeric = e->lam != 0;
  if (o && o->n_gauss > 0) { /* a fixed rule and its check at 2/3 of the points */
    int n = o->n_gauss < 4 ? 4 : o->n_gauss > NT_MAX ? NT_MAX : o->n_gauss;
    e->nlev = 2, e->adaptive = 0;
    e->nt[0] = (2 * n + 2) / 3, e->nt[1] = n;
  } else {
    e->nlev = NLEV, e->adaptive = 1;
    for (int r = 0; r < NLEV; r++) e->nt[r] = nt_levels[r];
  }
  /* accurate for every n (quad_gl.h: GSL's on-the-fly glfixed rules, e.g.
   * n = 48, 56, 60, were 3-7e-12 off on polynomials) */
  for (int r = 0; r < e->nlev; r++) {
    cl_status st = cl_rule_legendre(e->nt[r], 0, 1, e->tx[r], e->tw[r], err);
    if (st) return cl_erf_free(e), st;
  }
  const int M = e->M, d2 = e->d2;
  int ng = 1 + (e->lam != 0 ? M - 1 : 0);
  e->gm = malloc(sizeof(mono) * (size_t)(d2 * ng));
  e->G = malloc(sizeof(double) * (size_t)(d2 * d2));
  e->E2 = malloc(sizeof(double) * (size_t)(d2 * d2));
  e->E2err = malloc(sizeof(double) * (size_t)(d2 * d2));
  if (!e->gm || !e->G || !e->E2 || !e->E2err) {
    cl_erf_free(e);
    return cl_fail(err, CL_ENOMEM, "out of memory");
  }
  /* ghat^a_i (view a, own variable x, the other view's y = x +- M):
   *   sigma'(x) sigma(y) - 2 lambda sum_{k != i} sigma'(x) sigma(x) sigma(y_k)^2 */
  int cnt = 0;
  for (int a = 0; a < 2; a++)
    for (int i = 0; i < M; i++) {
      const int x = a * M + i, y = (1 - a) * M + i;
      e->gstart[a * M + i] = cnt;
      mono g = {.coef = 1};
      mono_factor(&g, x, 0, 1, 0);
      mono_factor(&g, y, 1, 0, 0);
      e->gm[cnt++] = g;
      if (e->lam != 0)
        for (int k = 0; k < M; k++) {
          if (k == i) continue;
          mono t = {.coef = -2 * e->lam};
          mono_factor(&t, x, 1, 1, 0);
          mono_factor(&t, (1 - a) * M + k, 2, 0, 0);
          e->gm[cnt++] = t;
        }
    }
  e->gstart[d2] = cnt;
  if (e->numeric && e->adaptive)
    snprintf(e->method, sizeof e->method,
             "closed forms (erf, Gaussian laws): dR and P exact; V's terms with 4-6 erf factors "
             "by Price's theorem, 1-2 nested Gauss-Legendre integrals of closed forms (8, 12, ... "
             "60 points until two successive rules agree to 1e-10), error estimated by the last "
             "difference");
  else if (e->numeric)
    snprintf(e->method, sizeof e->method,
             "closed forms (erf, Gaussian laws): dR and P exact; V's terms with 4-6 erf factors "
             "by Price's theorem, 1-2 nested %d-point Gauss-Legendre integrals of closed forms, "
             "error estimated against %d points",
             e->nt[1], e->nt[0]);
  else
    snprintf(e->method, sizeof e->method,
             "closed forms (erf, Gaussian laws): every term exact (Stein's lemma, Gaussian "
             "factors absorbed, arcsin formula)");
  *out = e;
  return CL_OK;
}

double cl_erf_errmax(const cl_erf *e) { return e->emax; }

cl_status cl_erf_m1_terms(const cl_erf *e, double *b_z, double *b_e, double *V, double *Egh, char *err) {
  if (e->M != 1) return cl_fail(err, CL_EINVAL, "m1 terms need M = 1");
  /* G rows (view 1, view 2) x columns (h1, h2); b_z from Cov(zt, h_a) = A,
   * b_e from the noise covariances, both by Stein (docs/closed-forms.md s.2) */
  const double *G = e->G, *E = e->E2, s2 = e->m.s * e->m.s, rho = e->m.rho;
  *b_z = G[0] + G[1] + G[2] + G[3];
  *b_e = s2 * (G[0] + rho * G[1] + rho * G[2] + G[3]);
  *V = (1 + s2) * (E[0] + E[3]) + (1 + rho * s2) * (E[1] + E[2]);
  *Egh = e->Cf[0] * G[0] + e->Cf[1] * G[1] + e->Cf[2] * G[2] + e->Cf[3] * G[3];
  return CL_OK;
}
const char *cl_erf_method(const cl_erf *e) { return e->method; }

cl_status cl_erf_eval(cl_erf *e, const double *R, const double *Q, double *dR, double *dQ, char *err) {
  const int K = e->K, M = e->M, d2 = e->d2;
  const double s = e->m.s, rho = e->m.rho, tau = e->m.tau, s2 = s * s;
  cl_status st = cl_state_finite(K, M, R, Q, err);
  if (st) return st;
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) {
      const double qq = 0.5 * (Q[i * M + l] + Q[l * M + i]);
      double t = qq;
      for (int j = 0; j < K; j++) t += (e->m.c[j].m2 - 1) * R[j * M + i] * R[j * M + l];
      e->Cf[i * d2 + l] = e->Cf[(M + i) * d2 + M + l] = t + s2 * qq;
      e->Cf[i * d2 + M + l] = e->Cf[(M + i) * d2 + l] = t + rho * s2 * qq;
    }
  double A[CL_MMAX * CL_MMAX];
  if ((st = cl_resid_cov_domain(K, M, R, Q, 1, A, err))) return st;
  /* Every entry of G and E2 is its own unit of work, summed in a fixed
   * order whatever thread computes it: the result does not depend on the
   * threads (docs/multi.md s.8); threads only if asked for
   * (cl_drift_threads).  The law of v is invariant under the exchange of
   * the views (Cf = [[A, B], [B, A]] with A, B symmetric, built exactly so
   * above), which maps ghat^1_i to ghat^2_i: only view 1's rows of G and
   * E2 are computed, view 2's are copies (docs/closed-forms.md s.4). */
  const int nth = cl_drift_threads();
  const cl_erf *ce = e;
  /* G[(1,i), k] = E[d_k ghat^1_i]; G[(2,i), k] = G[(1,i), k +- M] */
#pragma omp parallel for schedule(dynamic, 1) num_threads(nth)
  for (int x = 0; x < M * d2; x++) {
    const int i = x / d2, k = x % d2;
    double g = 0;
    for (int t = ce->gstart[i]; t < ce->gstart[i + 1]; t++) g += ex_deriv(ce, &ce->gm[t], k);
    e->G[i * d2 + k] = e->G[(M + i) * d2 + (k + M) % d2] = g;
  }
  /* E2[(1,i), (b,l)] for l >= i, b = 1, 2: work item x = 2 (pair index) + b;
   * the mirror gives E2[(2,i), (3-b,l)], symmetry the transposes */
#pragma omp parallel for schedule(dynamic, 1) num_threads(nth)
  for (int x = 0; x < M * (M + 1); x++) {
    int i = 0, rest = x / 2;
    while (rest >= M - i) rest -= M - i, i++;
    const int l = i + rest, b = x % 2, ai = i, bl = b * M + l;
    double sum = 0, verr = 0;
    for (int t = ce->gstart[ai]; t < ce->gstart[ai + 1]; t++)
      for (int u = ce->gstart[bl]; u < ce->gstart[bl + 1]; u++) {
        /* same view: the lambda terms of units k (of ghat_i) and m (of
         * ghat_l) multiply to the same monomial as those of m and k, so
         * where both occur (k != m, m != i, k != l) the pair is done once */
        double w = 1;
        if (b == 0 && t > ce->gstart[ai] && u > ce->gstart[bl]) {
          const int jk = t - ce->gstart[ai] - 1, jm = u - ce->gstart[bl] - 1;
          const int k = jk < i ? jk : jk + 1, m = jm < l ? jm : jm + 1;
          if (k != m && m != i && k != l) {
            if (k > m) continue;
            w = 2;
          }
        }
        mono pr = mono_mul(&ce->gm[t], &ce->gm[u]);
        sum += w * ex_mono(ce, &pr, w, &verr);
      }
    const int ai2 = M + i, bl2 = (1 - b) * M + l;
    e->E2[ai * d2 + bl] = e->E2[bl * d2 + ai] = e->E2[ai2 * d2 + bl2] = e->E2[bl2 * d2 + ai2] = sum;
    e->E2err[ai * d2 + bl] = e->E2err[bl * d2 + ai] = e->E2err[ai2 * d2 + bl2] = e->E2err[bl2 * d2 + ai2] = verr;
  }
  /* dR_ji = tau (sum_k Cov(c_j, v_k) (G1 + G2) + s sum_k (Cov(eps1_j, v_k) G1 + Cov(eps2_j, v_k) G2) - beta R) */
  for (int j = 0; j < K; j++) {
    const double m2 = e->m.c[j].m2, *Rj = R + j * M;
    for (int i = 0; i < M; i++) {
      const double *G1 = e->G + i * d2, *G2 = e->G + (M + i) * d2;
      double a = 0, b = 0;
      for (int l = 0; l < M; l++) {
        a += m2 * Rj[l] * (G1[l] + G1[M + l] + G2[l] + G2[M + l]);
        b += s * Rj[l] * (G1[l] + rho * G1[M + l]) + s * Rj[l] * (rho * G2[l] + G2[M + l]);
      }
      dR[j * M + i] = tau * (a + s * b - e->beta * Rj[i]);
    }
  }
  /* P_il = E[ghat1_l h1_i + ghat2_l h2_i] = sum_k Cf[(1,i), k] G[(1,l), k] + Cf[(2,i), k] G[(2,l), k] */
  const double c1 = 1 + s2, c2 = 1 + rho * s2, fB = tau * tau / e->m.B;
  double P[CL_MMAX * CL_MMAX];
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) {
      double p = 0;
      for (int k = 0; k < d2; k++)
        p += e->Cf[i * d2 + k] * e->G[l * d2 + k] + e->Cf[(M + i) * d2 + k] * e->G[(M + l) * d2 + k];
      P[i * M + l] = p;
    }
  e->emax = 0;
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) {
      const double *E = e->E2, *Er = e->E2err;
      const int i1 = i, i2 = M + i, l1 = l, l2 = M + l;
      double V = c1 * (E[i1 * d2 + l1] + E[i2 * d2 + l2]) + c2 * (E[i1 * d2 + l2] + E[i2 * d2 + l1]);
      double Ve = c1 * (Er[i1 * d2 + l1] + Er[i2 * d2 + l2]) + fabs(c2) * (Er[i1 * d2 + l2] + Er[i2 * d2 + l1]);
      dQ[i * M + l] = tau * (P[i * M + l] + P[l * M + i]) - 2 * tau * e->beta * Q[i * M + l] + fB * V;
      e->emax = fmax(e->emax, fB * Ve);
    }
  for (int i = 0; i < M; i++)
    for (int l = i + 1; l < M; l++) dQ[i * M + l] = dQ[l * M + i] = 0.5 * (dQ[i * M + l] + dQ[l * M + i]);
  for (int k = 0; k < K * M; k++)
    if (!isfinite(dR[k])) return cl_fail(err, CL_EDIVERGE, "the drift of R is not finite");
  for (int k = 0; k < M * M; k++)
    if (!isfinite(dQ[k])) return cl_fail(err, CL_EDIVERGE, "the drift of Q is not finite");
  return CL_OK;
}
