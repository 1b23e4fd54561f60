/* The noise terms of the M >= 2 escape law at R = 0 (docs/fixed-points.md
 * s.5).  Every term is an expectation over at most four of the 2M centred
 * Gaussian pre-activations (unit i's pair and one or two coordinates of the
 * other units), whose integrands have their kinks (relu, g = abs) on the
 * coordinate hyperplanes h = 0.  Each such expectation is a nested rule
 * along the Cholesky factor x = L z: the direction z_a, given the outer
 * ones, is split at its kink z_a = -mu_a / L_aa and each piece of [-T, T]
 * gets an n-point Gauss-Legendre rule (weights scaled to the piece's exact
 * normal mass). */
#include "basin_noise.h"

#include <math.h>
#include <string.h>

#include "cldyn/act.h"
#include "quad_gl.h"

enum { NQ_DMAX = 4, NQ_NMAX = 32 };

typedef struct nq nq;
typedef void (*nq_leaf)(const nq *c, const double *y, const double *dy, double w, double *acc);
struct nq {
  int d, n;
  double L[NQ_DMAX][NQ_DMAX], T, lambda, rho;
  const double *t, *wt; /* Gauss-Legendre on [-1, 1] */
  cl_act act;
  int gsq; /* g = square (else abs) */
  nq_leaf leaf;
};

static inline double gprime(const nq *c, double u) { return c->gsq ? 2 * u : (u > 0) - (u < 0); }

/* Phi(b) - Phi(a), a < b, without cancellation in the upper tail */
static double normal_mass(double a, double b) {
  if (a > 0) return 0.5 * (erfc(a / M_SQRT2) - erfc(b / M_SQRT2));
  return 0.5 * (erfc(-b / M_SQRT2) - erfc(-a / M_SQRT2));
}

/* the nodes of one direction with conditional mean mu and sd: two pieces of
 * [-T, T] split at the kink (at 0 if the kink is outside) */
static int level_nodes(const nq *c, double mu, double sd, double *z, double *w) {
  if (sd <= 0) {
    z[0] = 0, w[0] = 1;
    return 1;
  }
  double cut = -mu / sd;
  if (!(cut > -c->T + 1e-3 && cut < c->T - 1e-3)) cut = 0;
  const double e[3] = {-c->T, cut, c->T};
  int k = 0;
  for (int p = 0; p < 2; p++) {
    double mid = (e[p] + e[p + 1]) / 2, half = (e[p + 1] - e[p]) / 2, sum = 0;
    int k0 = k;
    for (int q = 0; q < c->n; q++, k++) {
      z[k] = mid + half * c->t[q];
      w[k] = half * c->wt[q] * exp(-z[k] * z[k] / 2);
      sum += w[k];
    }
    double f = sum > 0 ? normal_mass(e[p], e[p + 1]) / sum : 0;
    for (int q = k0; q < k; q++) w[q] *= f;
  }
  return k;
}

static void nq_level(const nq *c, int a, double *z, double *y, double *dy, double w, double *acc) {
  if (a >= NQ_DMAX) return; /* (c->d <= NQ_DMAX: never; it lets gcc -O3 see the recursion's bound) */
  double mu = 0, zs[2 * NQ_NMAX], ws[2 * NQ_NMAX], t;
  for (int b = 0; b < a; b++) mu += c->L[a][b] * z[b];
  int k = level_nodes(c, mu, c->L[a][a], zs, ws);
  for (int q = 0; q < k; q++) {
    z[a] = zs[q];
    cl_act_eval(c->act, mu + c->L[a][a] * zs[q], &y[a], &dy[a], &t);
    if (a + 1 == c->d) c->leaf(c, y, dy, w * ws[q], acc);
    else nq_level(c, a + 1, z, y, dy, w * ws[q], acc);
  }
}

/* E[leaf] over the coordinates co[0..d-1] of h = (h1, h2) (index u + M v:
 * unit u, view v); CL_EDIVERGE if their covariance is not PSD */
static cl_status nq_integrate(nq *c, const cl_model *m, const double *Q, const int *co, int d, nq_leaf leaf,
                              double *acc, int nacc) {
  const int M = m->M;
  const double s2 = m->s * m->s;
  double C[NQ_DMAX][NQ_DMAX], scale = 0;
  for (int a = 0; a < d; a++)
    for (int b = 0; b < d; b++) {
      int ua = co[a] % M, ub = co[b] % M, same = co[a] / M == co[b] / M;
      C[a][b] = Q[ua * M + ub] * (same ? 1 + s2 : 1 + m->rho * s2);
    }
  for (int a = 0; a < d; a++) scale = fmax(scale, C[a][a]);
  memset(c->L, 0, sizeof c->L);
  for (int j = 0; j < d; j++) {
    double r = C[j][j];
    for (int k = 0; k < j; k++) r -= c->L[j][k] * c->L[j][k];
    if (!(r > -1e-9 * scale)) return CL_EDIVERGE;
    if (r <= 1e-12 * scale) continue; /* a direction fixed by the others (s = 0, rho = 1, a dead unit) */
    c->L[j][j] = sqrt(r);
    for (int i = j + 1; i < d; i++) {
      double v = C[i][j];
      for (int k = 0; k < j; k++) v -= c->L[i][k] * c->L[j][k];
      c->L[i][j] = v / c->L[j][j];
    }
  }
  c->d = d, c->leaf = leaf;
  for (int k = 0; k < nacc; k++) acc[k] = 0;
  double z[NQ_DMAX], y[NQ_DMAX], dy[NQ_DMAX];
  nq_level(c, 0, z, y, dy, 1, acc);
  return CL_OK;
}

/* coordinates (h1_i, h2_i, h1_l, h2_l): for unit i (acc 0..3) and unit l
 * (acc 4..7) the terms of its pair: B(a, a) and B(a - lambda t_l, a -
 * lambda t_l) - B(a, a) for B = EGG, Es */
static void unit_pair(const nq *c, double a1, double a2, double t1, double t2, double w, double *acc) {
  double D1 = a1 - c->lambda * t1, D2 = a2 - c->lambda * t2;
  double ea = (a1 + a2) * (a1 + a2), sa = a1 * a1 + a2 * a2 + 2 * c->rho * a1 * a2;
  acc[0] += w * ea;
  acc[1] += w * sa;
  acc[2] += w * ((D1 + D2) * (D1 + D2) - ea);
  acc[3] += w * (D1 * D1 + D2 * D2 + 2 * c->rho * D1 * D2 - sa);
}
static void leaf_pair(const nq *c, const double *y, const double *dy, double w, double *acc) {
  double gi = gprime(c, y[0] * y[3]), gl = gprime(c, y[2] * y[1]);
  unit_pair(c, dy[0] * y[1], dy[1] * y[0], dy[0] * gi * y[3], dy[1] * gl * y[2], w, acc);
  unit_pair(c, dy[2] * y[3], dy[3] * y[2], dy[2] * gl * y[1], dy[3] * gi * y[0], w, acc + 4);
}
/* (h1_i, h2_l, h2_l'): t1_l t1_l'; by symmetry also (h2_i, h1_l, h1_l'): t2_l t2_l' */
static void leaf_tt(const nq *c, const double *y, const double *dy, double w, double *acc) {
  acc[0] += w * dy[0] * dy[0] * gprime(c, y[0] * y[1]) * y[1] * gprime(c, y[0] * y[2]) * y[2];
}
/* (h1_i, h2_i, h2_l, h1_l'): t1_l t2_l' */
static void leaf_t12(const nq *c, const double *y, const double *dy, double w, double *acc) {
  acc[0] += w * dy[0] * gprime(c, y[0] * y[2]) * y[2] * dy[1] * gprime(c, y[3] * y[1]) * y[3];
}

cl_status cl_basin_noise_terms(const cl_model *m, const double *Q, int n, double *EGG, double *Es, char *err) {
  const int M = m->M;
  if (n <= 0) n = CL_NOISE_NODES;
  if (n > NQ_NMAX) return cl_fail(err, CL_EINVAL, "at most %d nodes per piece", NQ_NMAX);
  double t[NQ_NMAX], wt[NQ_NMAX];
  cl_status st = cl_rule_legendre(n, -1, 1, t, wt, err);
  if (st) return st;
  /* the tails beyond T = 7: mass 2 Phi(-7) = 2.6e-12 */
  nq c = {.n = n, .T = 7, .lambda = m->lambda, .rho = m->rho, .t = t, .wt = wt, .act = m->act,
          .gsq = m->g == CL_G_SQUARE};
  double aa[CL_MMAX][2] = {{0}}, X[CL_MMAX][2] = {{0}}, T2[CL_MMAX] = {0}, T12[CL_MMAX] = {0};
  int have_aa[CL_MMAX] = {0};
  for (int i = 0; i < M && !st; i++)
    for (int l = i + 1; l < M && !st; l++) {
      int co[4] = {i, M + i, l, M + l};
      double acc[8];
      if ((st = nq_integrate(&c, m, Q, co, 4, leaf_pair, acc, 8))) break;
      for (int k = 0; k < 2; k++) X[i][k] += acc[2 + k], X[l][k] += acc[6 + k];
      if (!have_aa[i]) aa[i][0] = acc[0], aa[i][1] = acc[1], have_aa[i] = 1;
      if (!have_aa[l]) aa[l][0] = acc[4], aa[l][1] = acc[5], have_aa[l] = 1;
    }
  for (int i = 0; i < M && !st; i++)
    for (int l = 0; l < M && !st; l++)
      for (int l2 = 0; l2 < M && !st; l2++) {
        if (l == i || l2 == i || l2 == l) continue;
        double v;
        if (l < l2) { /* t1_l t1_l2 and t2_l t2_l2, each twice in the ordered sum */
          int c1[3] = {i, M + l, M + l2}, c2[3] = {M + i, l, l2};
          if ((st = nq_integrate(&c, m, Q, c1, 3, leaf_tt, &v, 1))) break;
          T2[i] += 2 * v;
          if ((st = nq_integrate(&c, m, Q, c2, 3, leaf_tt, &v, 1))) break;
          T2[i] += 2 * v;
        }
        int c3[4] = {i, M + i, M + l, l2};
        if ((st = nq_integrate(&c, m, Q, c3, 4, leaf_t12, &v, 1))) break;
        T12[i] += 2 * v; /* t1_l t2_l2 + t2_l2 t1_l over the ordered pairs */
      }
  if (st) return cl_fail(err, st, "Q left the domain at R = 0");
  const double l2 = m->lambda * m->lambda;
  for (int i = 0; i < M; i++) {
    EGG[i] = aa[i][0] + X[i][0] + l2 * (T2[i] + T12[i]);
    Es[i] = aa[i][1] + X[i][1] + l2 * (T2[i] + m->rho * T12[i]);
  }
  return CL_OK;
}
