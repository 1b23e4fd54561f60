/* The deterministic rule for M >= 2 units, g = square (where lambda != 0)
 * and a smooth sigma (docs/accurate.md); B > 1 with lambda != 0 by the exact
 * 1/B expansion, whose moments are products of one-view moments too.
 *
 * Given c, h_a = X + eta_a with X = R^T c + xi, xi ~ N(0, A + rho s^2 Q)
 * shared by the views and eta_1, eta_2 ~ N(0, (1 - rho) s^2 Q) independent
 * (rho >= 0; A = Q - R^T R).  Every per-sample gradient is a sum of
 * products phi_f(h1) phi_f'(h2) of one-view features (docs/accurate.md s.2),
 * so given (c, xi) each expectation is a product of one-view moments:
 * the inner rule over eta runs once per outer node and serves both views.
 * Outer rule: the laws' Gauss rules for c (quad.c: Gauss-Laguerre on each
 * half of a laplace law, Gauss-Legendre for uniform, atoms for discrete
 * laws), a tensor rule in the standardised xi.  Inner: a tensor rule in the
 * standardised eta for M = 2; for M >= 3 every moment involves at most two
 * units, so a 1-d rule per unit and its 2-d product per pair of units
 * (inner_pairs).  The Gaussian rules are the truncated trapezoid (tanh,
 * sigmoid, erf: analytic in a strip) or Gauss-Hermite (linear, cubic:
 * polynomials), pruned to a ball, mapped by the symmetric square roots of
 * the covariances (smooth in the state; the pairs by the Cholesky factor of
 * their 2 x 2 block).  Two levels (M >= 3: and a middle one for the
 * estimate); the drift is the fine one and the error estimate
 * max |fine - coarse| (and |fine - middle|) over the drift vector. */
#include "drift_acc.h"
#include "act_pole.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cldyn/act.h"
#include "drift_multi.h"
#include "linalg.h"

enum { NF_PER_UNIT = 4 };

/* one Gaussian tensor rule: n points of d standard normal coordinates */
typedef struct {
  int n, d;
  double *z, *w; /* n x d, n */
} grid;

typedef struct {
  cl_acc_level p;
  int nc;
  double *cx, *cw; /* nc x K, nc: the c rule */
  signed char *sc, *sx; /* odd summand: sign of the first nonzero coordinate of a c node, of an xi node */
  grid gx, ge;     /* outer xi, inner eta */
} level;

struct cl_acc {
  cl_model m;
  int K, M, F, nout, asz;
  cl_acc_terms t;
  level lv[3]; /* coarse, fine and (nlev 3, M >= 3) a middle level for the estimate only */
  int nlev;
  int pairs; /* M >= 3: the inner rule by units and pairs of units (inner_pairs) */
  double Gi[4 * CL_MMAX * CL_MMAX]; /* Sigma's generalized inverse (cl_sym_ginv) */
  double Sxi[CL_MMAX * CL_MMAX], Seta[CL_MMAX * CL_MMAX], Ce[CL_MMAX * CL_MMAX];
  double *eta;            /* M x ne: Seta z of the inner points (point index fastest) */
  double *hs, *ys, *ds;   /* M x ne scratch */
  double *phi, *wphi;     /* F x ne scratch (pairs: 4M x ne and 4 x ne) */
  double *ph2;            /* pairs: 4 x ne^2 scratch */
  double *acc, *out;      /* accumulators; the levels' drifts (nlev x nout) */
  double *mom;            /* B > 1, lambda != 0: the 1/B expansion's moments (cl_acc_batch_rows), else NULL */
  double emax;
  char method[700];
};

static void grid_free(grid *g) { free(g->z), free(g->w), g->z = g->w = NULL, g->n = 0; }

static void level_free(level *l) {
  free(l->cx), free(l->cw), free(l->sc), free(l->sx), l->cx = l->cw = NULL, l->sc = l->sx = NULL;
  grid_free(&l->gx), grid_free(&l->ge);
}

void cl_acc_free(cl_acc *a) {
  if (!a) return;
  for (int k = 0; k < 3; k++) level_free(&a->lv[k]);
  free(a->eta), free(a->hs), free(a->ys), free(a->ds), free(a->phi), free(a->wphi), free(a->ph2);
  free(a->acc), free(a->out), free(a->mom);
  free(a);
}

int cl_acc_applies(const cl_model *m, char *why, size_t n) {
  const char *r = NULL;
  if (m->M < 2) r = "M = 1 has its own rules";
  else if (m->act == CL_ACT_RELU) r = "relu is not smooth";
  else if (m->lambda != 0 && m->g != CL_G_SQUARE) r = "g = abs is not smooth";
  else if (m->rho < 0) r = "rho < 0 (the views are not conditionally independent)";
  /* cubic's terms are polynomials of degree 10 in c, which the student rule
   * (a normal scale mixture) does not integrate exactly, and its fine -
   * coarse estimate did not bound the error: M = 2, lambda = 0, K = 1,
   * unit 1 against the exact M = 1 drift (docs/kinks.md, "Student tails"),
   * dQ_11 was 4.8e4, 7.5e3, 6.6e2, 22 off against estimates 1.9e3, 9.9e2,
   * 2.2e2, 17 at nu = 10.5, 12, 16, 25 (docs/accurate.md).  Linear's are of
   * degree 6 where lambda != 0 (V is the square of a cubic): against the
   * exact drift dQ_22 was 0.33, 0.024 off against estimates 0.053, 0.0091
   * at nu = 9, 13 (M = 2, lambda = 1, docs/accurate.md). */
  for (int j = 0; j < m->K && !r; j++)
    if (m->act == CL_ACT_CUBIC && m->c[j].kind == CL_LAW_STUDENT)
      r = "cubic sigma with a student law (its rule is not exact for the terms' degree 10 in c, and the "
          "estimate did not bound the error)";
    else if (m->act == CL_ACT_LINEAR && m->lambda != 0 && m->c[j].kind == CL_LAW_STUDENT)
      r = "linear sigma with a student law where lambda != 0 (its rule is not exact for the terms' degree 6 "
          "in c, and the estimate did not bound the error)";
  if (r && why) snprintf(why, n, "%s", r);
  return r == NULL;
}

/* The d-dimensional tensor rule of the 1-d standard normal rule r.  prune 1
 * (trapezoid): pruned to the ball |z| <= max |x_k|, the 1-d truncation
 * radius (the corners carry less mass than the 1-d rule already drops);
 * prune 2 (Gauss-Hermite, bounded integrands): the points of weight below
 * 1e-15 of the largest; 0 (polynomials): none, the rule stays exact. */
/* At most this many points in one tensor grid (before pruning): at M = 7
 * the default fine level's 14^7 = 1.1e8 points would take 6 GB for their
 * coordinates alone, and the allocation failed with a bare "out of
 * memory" (cubic sigma, whose default this rule is, at M = 8: 1.5e9). */
#define GRID_MAX_POINTS 3e7

static cl_status grid_build(const cl_rule *r, int d, int prune, grid *g, char *err) {
  const double want = pow(r->n, d); /* in double: 64^16 overflows a long */
  if (want > GRID_MAX_POINTS)
    return cl_fail(err, CL_EINVAL,
                   "expect: quad would need %d^%d = %.3g points in its %d-dimensional outer grid (at most %g): "
                   "fewer units or fewer quad nodes",
                   r->n, d, want, d, GRID_MAX_POINTS);
  long tot = 1;
  for (int k = 0; k < d; k++) tot *= r->n;
  double L2 = 0, wmax = 1;
  for (int k = 0; k < r->n; k++) L2 = fmax(L2, r->x[k] * r->x[k]);
  L2 *= 1 + 1e-9;
  for (int k = 0; k < d; k++) {
    double m = 0;
    for (int i = 0; i < r->n; i++) m = fmax(m, r->w[i]);
    wmax *= m;
  }
  g->d = d;
  g->z = malloc(sizeof(double) * (size_t)tot * (size_t)(d ? d : 1));
  g->w = malloc(sizeof(double) * (size_t)tot);
  if (!g->z || !g->w) return grid_free(g), cl_fail(err, CL_ENOMEM, "out of memory");
  int n = 0;
  double wsum = 0;
  for (long t = 0; t < tot; t++) {
    long rest = t;
    double w = 1, r2 = 0, *z = g->z + (size_t)n * d;
    for (int k = 0; k < d; k++) {
      int i = (int)(rest % r->n);
      rest /= r->n;
      z[k] = r->x[i], w *= r->w[i], r2 += r->x[i] * r->x[i];
    }
    if ((prune == 1 && r2 > L2) || (prune == 2 && w < 1e-15 * wmax)) continue;
    g->w[n++] = w, wsum += w;
  }
  for (int k = 0; k < n; k++) g->w[k] /= wsum;
  g->n = n;
  return CL_OK;
}

/* pairs: the inner rule is the one-dimensional one (inner_pairs builds its
 * products) */
static cl_status level_build(const cl_model *m, const cl_acc_level *p, int pairs, level *l, char *err) {
  const int K = m->K, M = m->M;
  memset(l, 0, sizeof *l);
  l->p = *p;
  const int poly = cl_act_polynomial(m->act);
  cl_rule rx = {0}, re = {0}, rc[CL_KMAX];
  memset(rc, 0, sizeof rc);
  cl_status st = poly || p->Lx < 0 ? cl_rule_normal(p->nx, &rx, err) : cl_rule_normal_trap_range(p->nx, p->Lx, &rx, err);
  if (!st) st = poly || p->Le < 0 ? cl_rule_normal(p->ne, &re, err) : cl_rule_normal_trap_range(p->ne, p->Le, &re, err);
  long nc = 1;
  for (int j = 0; j < K && !st; j++) {
    /* laplace: nl nodes on each half-line; student: about 4 nl (its scale mixture) */
    const int kind = m->c[j].kind;
    st = cl_rule_law(&m->c[j], kind == CL_LAW_LAPLACE ? 2 * p->nl : kind == CL_LAW_STUDENT ? 4 * p->nl : p->nl,
                     &rc[j], err);
    if (!st) nc *= rc[j].n;
  }
  if (!st && nc > 1000000) st = cl_fail(err, CL_EINVAL, "expect: quad would need %ld c nodes (at most 1e6)", nc);
  if (!st) st = grid_build(&rx, M, poly ? 0 : p->Lx < 0 ? 2 : 1, &l->gx, err);
  if (!st) st = grid_build(&re, pairs ? 1 : M, poly ? 0 : p->Le < 0 ? 2 : 1, &l->ge, err);
  if (!st) {
    l->cx = malloc(sizeof(double) * (size_t)nc * (size_t)K);
    l->cw = malloc(sizeof(double) * (size_t)nc);
    if (!l->cx || !l->cw) st = cl_fail(err, CL_ENOMEM, "out of memory");
  }
  if (!st) {
    int n = 0;
    for (long t = 0; t < nc; t++) {
      long rest = t;
      double w = 1, *c = l->cx + (size_t)n * K;
      for (int j = 0; j < K; j++) {
        int i = (int)(rest % rc[j].n);
        rest /= rc[j].n;
        c[j] = rc[j].x[i], w *= rc[j].w[i];
      }
      if (w > 0) l->cw[n++] = w;
    }
    l->nc = n;
  }
  /* (c, xi, eta) -> -(c, xi, eta) leaves the summand unchanged when sigma
   * is odd and every law symmetric: only the outer nodes whose first
   * nonzero coordinate is positive are kept, with double weight */
  int odd = cl_act_odd(m->act);
  for (int j = 0; j < K; j++) odd = odd && cl_law_is_symmetric(&m->c[j]);
  if (!st && odd) {
    l->sc = malloc((size_t)l->nc);
    l->sx = malloc((size_t)l->gx.n);
    if (!l->sc || !l->sx) st = cl_fail(err, CL_ENOMEM, "out of memory");
    for (int k = 0; !st && k < l->nc + l->gx.n; k++) {
      const int isc = k < l->nc, d = isc ? K : M;
      const double *x = isc ? l->cx + (size_t)k * K : l->gx.z + (size_t)(k - l->nc) * M;
      signed char sg = 0;
      for (int i = 0; i < d && !sg; i++) sg = x[i] > 1e-13 ? 1 : x[i] < -1e-13 ? -1 : 0;
      if (isc) l->sc[k] = sg;
      else l->sx[k - l->nc] = sg;
    }
  }
  cl_rule_free(&rx), cl_rule_free(&re);
  for (int j = 0; j < K; j++) cl_rule_free(&rc[j]);
  if (st) level_free(l);
  return st;
}

/* mid (NULL: none) is a third level between the two, used by cl_acc_eval's
 * estimate only (docs/accurate.md s.4) */
static cl_status acc_alloc(const cl_model *m, const cl_acc_level *coarse, const cl_acc_level *fine,
                           const cl_acc_level *mid, cl_acc **out, char *err) {
  *out = NULL;
  char why[160];
  if (!cl_acc_applies(m, why, sizeof why))
    return cl_fail(err, CL_EINVAL, "expect: quad (the deterministic rule) needs g = square (where lambda != 0), "
                   "a smooth sigma and rho >= 0: %s", why);
  cl_acc *a = calloc(1, sizeof *a);
  if (!a) return cl_fail(err, CL_ENOMEM, "out of memory");
  a->m = *m;
  const int K = m->K, M = m->M;
  a->K = K, a->M = M, a->F = NF_PER_UNIT * M + 1;
  a->nout = K * M + M * M;
  cl_acc_terms_init(&a->t, K, M, m->lambda);
  a->asz = a->t.nsum;
  a->nlev = mid ? 3 : 2;
  a->pairs = M >= 3;
  cl_status st = level_build(m, coarse, a->pairs, &a->lv[0], err);
  if (!st) st = level_build(m, fine, a->pairs, &a->lv[1], err);
  if (!st && mid) st = level_build(m, mid, a->pairs, &a->lv[2], err);
  if (st) return cl_acc_free(a), st;
  int nemax = 0;
  for (int k = 0; k < a->nlev; k++) nemax = a->lv[k].ge.n > nemax ? a->lv[k].ge.n : nemax;
  size_t me = (size_t)M * (size_t)nemax, fe = (size_t)a->F * (size_t)nemax;
  if (a->pairs) { /* sigma at ne^2 points of a pair; the features of all units and of one at a time */
    me = (size_t)nemax * (size_t)(nemax > M ? nemax : M);
    fe = (size_t)(NF_PER_UNIT * M) * (size_t)nemax;
  }
  a->ph2 = malloc(sizeof(double) * (size_t)NF_PER_UNIT * me);
  a->eta = malloc(sizeof(double) * me);
  a->hs = malloc(sizeof(double) * me);
  a->ys = malloc(sizeof(double) * me);
  a->ds = malloc(sizeof(double) * me);
  a->phi = malloc(sizeof(double) * fe);
  a->wphi = malloc(sizeof(double) * fe);
  a->acc = malloc(sizeof(double) * (size_t)a->asz);
  a->out = malloc(sizeof(double) * (size_t)a->nlev * (size_t)a->nout);
  if (m->B > 1 && m->lambda != 0) { /* the 1/B expansion (eval_level) */
    const size_t M2 = (size_t)M * M;
    if (!(a->mom = malloc(sizeof(double) * (M2 + 3 * M2 * M2))))
      return cl_acc_free(a), cl_fail(err, CL_ENOMEM, "out of memory");
  }
  if (!a->eta || !a->hs || !a->ys || !a->ds || !a->phi || !a->wphi || !a->ph2 || !a->acc || !a->out)
    return cl_acc_free(a), cl_fail(err, CL_ENOMEM, "out of memory");
  const level *l0 = &a->lv[0], *l1 = &a->lv[1], *l2 = &a->lv[2];
  char midn[80] = ""; /* the line ends up in ode's summary (CL_INFOLEN with the bounds) */
  if (mid) snprintf(midn, sizeof midn, ", middle %d x %d", l2->gx.n, l2->ge.n);
  snprintf(a->method, sizeof a->method,
           "deterministic rule (M >= 2, %s, docs/accurate.md): views independent given (c, xi); "
           "%s for xi, Gauss-Hermite for eta%s; outer xi x inner eta nodes%s %d x %d (coarse) and "
           "%d x %d (fine) per c node, %d and %d c nodes%s%s; drift = the fine level, "
           "error estimate max |fine - %s| over the drift",
           m->B == 1 ? "B = 1" : m->lambda == 0 ? "lambda = 0" : "B > 1: 1/B expansion",
           cl_act_polynomial(m->act) ? "Gauss-Hermite" : "trapezoid",
           a->pairs ? " by units and pairs of units" : "", a->pairs ? " (per direction)" : "", l0->gx.n, l0->ge.n,
           l1->gx.n, l1->ge.n, l0->nc, l1->nc, midn,
           l0->sc ? " (half of the outer nodes: odd summand)" : "", mid ? "coarse or middle" : "coarse");
  *out = a;
  return CL_OK;
}

cl_status cl_acc_alloc_levels(const cl_model *m, const cl_acc_level *coarse,
                              const cl_acc_level *fine, cl_acc **out, char *err) {
  return acc_alloc(m, coarse, fine, NULL, out, err);
}

static int imax(int a, int b) { return a > b ? a : b; }

/* Default levels (docs/accurate.md s.4): nodes per direction of the outer
 * and inner Gaussian rules and per continuous law; o->acc_nodes (if > 0)
 * sets the outer count of the coarse level, the others follow from it.
 * For M >= 3 (returns 1) the default counts are below the regime where
 * the error falls steadily (the lambda terms put poles of high order near
 * the real axis), so the fine level is farther from the coarse one and a
 * middle level is added: the estimate takes the larger of the two
 * differences, which two chance agreements would have to spoil.  With the
 * inner rule by pairs (M >= 3) inner nodes are cheap: as many per
 * direction as outer ones (at equal cost that beat more outer nodes with
 * half as many inner ones in the scans of s.8). */
static int default_levels(const cl_model *m, const cl_quad_opts *o, cl_acc_level *c, cl_acc_level *f,
                          cl_acc_level *mid) {
  /* the cost grows like nx^M (M >= 3) per c node: fewer nodes for more units */
  const int n = o && o->acc_nodes > 0 ? o->acc_nodes : m->M <= 2 ? 20 : m->M == 3 ? 14 : m->M == 4 ? 12 : 8;
  const int three = m->M >= 3;
  const int nf = three ? imax((5 * n + 2) / 3, n + 6) : imax((5 * n + 3) / 4, n + 4), nm = (n + nf + 1) / 2;
  /* inner nodes: half the outer ones (M = 2), as many (M >= 3) */
#define NE(k) (three ? (k) : ((k) + 1) / 2)
  *c = (cl_acc_level){n, NE(n), (n + 1) / 2, 6, -1};
  /* the fine trapezoid reaches farther (6.5 against 6): the difference then
   * sees the truncation too, which two rules on one range would share;
   * the middle one has a range of its own */
  *f = (cl_acc_level){nf, NE(nf), (nf + 1) / 2, 6.5, -1};
  *mid = (cl_acc_level){nm, NE(nm), (nm + 1) / 2, 6.25, -1};
#undef NE
  return three;
}

cl_status cl_acc_alloc(const cl_model *m, const cl_quad_opts *o, cl_acc **out, char *err) {
  cl_acc_level c, f, mid;
  const int three = default_levels(m, o, &c, &f, &mid);
  return acc_alloc(m, &c, &f, three ? &mid : NULL, out, err);
}

double cl_acc_errmax(const cl_acc *a) { return a->emax; }
int cl_acc_nlev(const cl_acc *a) { return a->nlev; }
const char *cl_acc_method(const cl_acc *a) { return a->method; }

/* The terms of the per-sample gradients.  B > 1 with lambda != 0 (mm: the
 * one-sample moments m_ik = E[y1_i y2_k], M x M): the mean-field gradient
 * gmf of the exact 1/B expansion (docs/accurate.md s.2), whose own-sample
 * lambda terms carry 1/B and whose other samples enter through
 * -2 lambda (B - 1) / B sum_{k != i} m_ik D_i(1) Y_k(2) (view 2: m_ki Y_k(1) D_i(2)).
 * B = 1 (or lambda = 0): mm unused, the terms of before. */
void cl_acc_terms_batch(cl_acc_terms *t, int K, int M, double lam, int B, const double *mm) {
  const int d2 = 2 * M;
  memset(t, 0, sizeof *t);
  t->K = K, t->M = M, t->F = NF_PER_UNIT * M + 1;
  t->nsum = K * M + d2 * d2 + 2 * M * M + d2 * d2;
  const double f0 = 2 * lam / B, f1 = 2 * lam * (B - 1) / B;
  /* the per-sample gradient as products of one-view features (docs/accurate.md s.2):
   * features D_i = sigma'(h_i), Y_i = sigma(h_i), DY_i = D_i Y_i, YY_i = Y_i^2, S2 = sum_k YY_k */
  for (int i = 0; i < M; i++) {
    const int D = i, Y = M + i, DY = 2 * M + i, YY = 3 * M + i, S2 = 4 * M;
    t->tm[i][0] = (cl_acc_term){1, D, Y};
    t->tm[M + i][0] = (cl_acc_term){1, Y, D};
    t->nt[i] = t->nt[M + i] = 1;
    if (lam != 0) {
      t->tm[i][1] = (cl_acc_term){-f0, DY, S2}, t->tm[i][2] = (cl_acc_term){f0, DY, YY};
      t->tm[M + i][1] = (cl_acc_term){-f0, S2, DY}, t->tm[M + i][2] = (cl_acc_term){f0, YY, DY};
      t->nt[i] = t->nt[M + i] = 3;
    }
    if (lam != 0 && B > 1)
      for (int k = 0; k < M; k++) {
        if (k == i) continue;
        t->tm[i][t->nt[i]++] = (cl_acc_term){-f1 * mm[i * M + k], D, M + k};
        t->tm[M + i][t->nt[M + i]++] = (cl_acc_term){-f1 * mm[k * M + i], M + k, D};
      }
  }
}

void cl_acc_terms_init(cl_acc_terms *t, int K, int M, double lam) { cl_acc_terms_batch(t, K, M, lam, 1, NULL); }

void cl_acc_terms_only(cl_acc_terms *t, int K, int M, double lam) {
  cl_acc_terms_batch(t, K, M, 0, 1, NULL); /* the D_i Y_i terms, unit set {i} */
  t->only = (1 << M) - 1;
  for (int i = 0; i < M; i++) {
    t->set[i][0] = t->set[M + i][0] = (unsigned char)(1 << i);
    for (int k = 0; k < M && lam != 0; k++) {
      if (k == i) continue;
      const int DY = 2 * M + i, YY = 3 * M + k, n = t->nt[i]++;
      t->nt[M + i]++;
      t->tm[i][n] = (cl_acc_term){-2 * lam, DY, YY}, t->tm[M + i][n] = (cl_acc_term){-2 * lam, YY, DY};
      t->set[i][n] = t->set[M + i][n] = (unsigned char)(1 << i | 1 << k);
    }
  }
}

/* S2 = sum_k YY_k is linear in the YY: its moments are sums of theirs */
void cl_acc_s2(int M, double *mf, double *Mo, double *Ee) {
  const int S2 = 4 * M, F = S2 + 1;
  double m2 = 0, mm = 0;
  for (int k = 0; k < M; k++) m2 += mf[3 * M + k];
  mf[S2] = m2;
  for (int f = 0; f < S2; f++) {
    double t = 0;
    for (int k = 0; k < M; k++) t += Mo[(3 * M + k) * F + f];
    Mo[S2 * F + f] = Mo[f * F + S2] = t;
    if (f >= 3 * M) mm += t;
  }
  Mo[S2 * F + S2] = mm;
  for (int r = 0; r < M; r++) {
    double t = 0;
    for (int k = 0; k < M; k++) t += Ee[(3 * M + k) * M + r];
    Ee[S2 * M + r] = t;
  }
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define ACC_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define ACC_CLONES
#endif

static inline double dot_n(const double *restrict x, const double *restrict y, int n) {
  double t = 0;
#pragma omp simd reduction(+ : t)
  for (int k = 0; k < n; k++) t += x[k] * y[k];
  return t;
}

static inline double dot3_n(const double *restrict w, const double *restrict x, const double *restrict y, int n) {
  double t = 0;
#pragma omp simd reduction(+ : t)
  for (int k = 0; k < n; k++) t += w[k] * (x[k] * y[k]);
  return t;
}

/* The second moments GG_pq (p <= q) of acc_rows and cl_acc_node: the sum
 * over the terms of p and of q of coef coef' PROD(f1 f1', f2 f2'), PROD
 * the node(s)' weighted product of the one-view moments Mo at two flat
 * indices f F + f' */
#define ACC_GG_SUMS(t, d2, F, GG, PROD)                                                          \
  for (int p = 0; p < (d2); p++)                                                                \
    for (int q = p; q < (d2); q++) {                                                            \
      double v = 0;                                                                             \
      for (int k = 0; k < (t)->nt[p]; k++)                                                      \
        for (int u = 0; u < (t)->nt[q]; u++) {                                                  \
          const cl_acc_term tp = (t)->tm[p][k], tq = (t)->tm[q][u];                             \
          v += tp.coef * tq.coef * PROD(tp.f1 * (F) + tq.f1, tp.f2 * (F) + tq.f2);              \
        }                                                                                       \
      (GG)[p * (d2) + q] += v;                                                                  \
    }

size_t cl_acc_rows_scratch(const cl_acc_terms *t, int n) {
  const int M = t->M, d2 = 2 * M;
  return (size_t)(d2 + 2 * d2 * M + M) * (size_t)n;
}

/* (target clones of an exported function would be exported: a static one
 * behind cl_acc_rows) */
ACC_CLONES static void acc_rows(const cl_acc_terms *t, int n, const double *const *mf, const double *const *Mo,
                                const double *const *Ee, const double *w0, const double *const *wc,
                                const double *const *wxi, const double *const *wmu, double *acc, double *scr) {
  const int K = t->K, M = t->M, F = t->F, d2 = 2 * M;
  double *aR = acc, *U = aR + K * M, *P = U + d2 * d2, *GG = P + 2 * M * M;
  /* the expectations given each outer node: products of one-view moments */
  double *G = scr, *E1 = G + (size_t)d2 * n, *E2 = E1 + (size_t)d2 * M * n, *gi = E2 + (size_t)d2 * M * n;
  for (int p = 0; p < d2; p++) {
    double *restrict g = G + (size_t)p * n;
    memset(g, 0, sizeof(double) * (size_t)n);
    for (int r = 0; r < M; r++) {
      memset(E1 + ((size_t)p * M + r) * n, 0, sizeof(double) * (size_t)n);
      memset(E2 + ((size_t)p * M + r) * n, 0, sizeof(double) * (size_t)n);
    }
    for (int k = 0; k < t->nt[p]; k++) {
      const cl_acc_term tm = t->tm[p][k];
      const double c = tm.coef, *restrict m1 = mf[tm.f1], *restrict m2 = mf[tm.f2];
#pragma omp simd
      for (int x = 0; x < n; x++) g[x] += c * (m1[x] * m2[x]);
      for (int r = 0; r < M; r++) {
        double *restrict e1 = E1 + ((size_t)p * M + r) * n, *restrict e2 = E2 + ((size_t)p * M + r) * n;
        const double *restrict a1 = Ee[tm.f1 * M + r], *restrict a2 = Ee[tm.f2 * M + r];
#pragma omp simd
        for (int x = 0; x < n; x++) e1[x] += c * (a1[x] * m2[x]), e2[x] += c * (m1[x] * a2[x]);
      }
    }
  }
  for (int i = 0; i < M; i++) {
    const double *restrict ga = G + (size_t)i * n, *restrict gb = G + (size_t)(M + i) * n;
    double *restrict s = gi + (size_t)0;
#pragma omp simd
    for (int x = 0; x < n; x++) s[x] = ga[x] + gb[x];
    for (int j = 0; j < K && wc; j++) aR[j * M + i] += dot_n(wc[j], s, n);
    for (int r = 0; r < M; r++) P[r * M + i] += dot_n(wmu[r], s, n);
  }
  for (int p = 0; p < d2; p++)
    for (int r = 0; r < M; r++) {
      const double xg = dot_n(wxi[r], G + (size_t)p * n, n);
      U[p * d2 + r] += xg + dot_n(w0, E1 + ((size_t)p * M + r) * n, n);
      U[p * d2 + M + r] += xg + dot_n(w0, E2 + ((size_t)p * M + r) * n, n);
    }
#define PROD(a, b) dot3_n(w0, Mo[a], Mo[b], n)
  ACC_GG_SUMS(t, d2, F, GG, PROD);
#undef PROD
}

/* The sums of cl_acc_terms_only: per term of ghat_p (unit i, set S), the
 * contributions to P_ri (the mu part, wmu[r]) and to the U entries P reads
 * (U_p,r for view 1, U_p,M+r for view 2: the xi part wxi[r] and the Stein
 * part of Ee) with S u {r} = only, and to GG_pq the products of a term of
 * p and one of q whose sets' union is `only`.  Every product is a dot of
 * the node weights with two one-view moments, so no row scratch. */
ACC_CLONES static void acc_rows_only(const cl_acc_terms *t, int n, const double *const *mf, const double *const *Mo,
                                     const double *const *Ee, const double *w0, const double *const *wxi,
                                     const double *const *wmu, double *acc) {
  const int K = t->K, M = t->M, F = t->F, d2 = 2 * M, all = t->only;
  double *U = acc + K * M, *P = U + d2 * d2, *GG = P + 2 * M * M;
  for (int p = 0; p < d2; p++) {
    const int i = p < M ? p : p - M, v2 = p >= M;
    for (int k = 0; k < t->nt[p]; k++) {
      const cl_acc_term tm = t->tm[p][k];
      const double c = tm.coef, *m1 = mf[tm.f1], *m2 = mf[tm.f2];
      for (int r = 0; r < M; r++) {
        if ((t->set[p][k] | 1 << r) != all) continue;
        const double xg = c * dot3_n(wxi[r], m1, m2, n);
        const double st = v2 ? c * dot3_n(w0, m1, Ee[tm.f2 * M + r], n) : c * dot3_n(w0, Ee[tm.f1 * M + r], m2, n);
        U[p * d2 + v2 * M + r] += xg + st;
        P[r * M + i] += c * dot3_n(wmu[r], m1, m2, n);
      }
    }
  }
  for (int p = 0; p < d2; p++)
    for (int q = p; q < d2; q++) {
      double v = 0;
      for (int k = 0; k < t->nt[p]; k++)
        for (int u = 0; u < t->nt[q]; u++) {
          if ((t->set[p][k] | t->set[q][u]) != all) continue;
          const cl_acc_term tp = t->tm[p][k], tq = t->tm[q][u];
          v += tp.coef * tq.coef * dot3_n(w0, Mo[tp.f1 * F + tq.f1], Mo[tp.f2 * F + tq.f2], n);
        }
      GG[p * d2 + q] += v;
    }
}

void cl_acc_rows(const cl_acc_terms *t, int n, const double *const *mf, const double *const *Mo,
                 const double *const *Ee, const double *w0, const double *const *wc, const double *const *wxi,
                 const double *const *wmu, double *acc, double *scr) {
  if (t->only) acc_rows_only(t, n, mf, Mo, Ee, w0, wxi, wmu, acc);
  else acc_rows(t, n, mf, Mo, Ee, w0, wc, wxi, wmu, acc, scr);
}

/* One node: the arithmetic of acc_rows at n = 1, operation for operation
 * (a sum of one term is that term: 0 + x adds to the accumulators as x
 * does), so the sums are the same bits; written out because at n = 1
 * acc_rows' pointer tables, memsets and loops of length 1 cost more than
 * the arithmetic (a fifth of the quad rule's time at K = M = 3,
 * docs/accurate.md s.4, "Cost"). */
void cl_acc_node(const cl_acc_terms *t, const double *mf, const double *Mo, const double *Ee, double w0,
                 const double *wc, const double *wxi, const double *wmu, double *acc) {
  const int K = t->K, M = t->M, F = t->F, d2 = 2 * M;
  double *aR = acc, *U = aR + K * M, *P = U + d2 * d2, *GG = P + 2 * M * M;
  double G[2 * CL_MMAX], E1[2 * CL_MMAX * CL_MMAX], E2[2 * CL_MMAX * CL_MMAX];
  for (int p = 0; p < d2; p++) {
    double g = 0, *e1 = E1 + p * M, *e2 = E2 + p * M;
    for (int r = 0; r < M; r++) e1[r] = e2[r] = 0;
    for (int k = 0; k < t->nt[p]; k++) {
      const cl_acc_term tm = t->tm[p][k];
      const double c = tm.coef, m1 = mf[tm.f1], m2 = mf[tm.f2];
      g += c * (m1 * m2);
      for (int r = 0; r < M; r++) e1[r] += c * (Ee[tm.f1 * M + r] * m2), e2[r] += c * (m1 * Ee[tm.f2 * M + r]);
    }
    G[p] = g;
  }
  for (int i = 0; i < M; i++) {
    const double s = G[i] + G[M + i];
    for (int j = 0; j < K; j++) aR[j * M + i] += wc[j] * s;
    for (int r = 0; r < M; r++) P[r * M + i] += wmu[r] * s;
  }
  for (int p = 0; p < d2; p++)
    for (int r = 0; r < M; r++) {
      const double xg = wxi[r] * G[p];
      U[p * d2 + r] += xg + w0 * E1[p * M + r];
      U[p * d2 + M + r] += xg + w0 * E2[p * M + r];
    }
#define PROD(a, b) (w0 * (Mo[a] * Mo[b]))
  ACC_GG_SUMS(t, d2, F, GG, PROD);
#undef PROD
}

void cl_acc_finish(const cl_model *m, const double *R, const double *Q, const double *Gi, double *acc,
                   double *out) {
  const int K = m->K, M = m->M, d2 = 2 * M;
  double *U = acc + K * M, *P = U + d2 * d2, *V = P + M * M, *GG = V + M * M;
  /* P_il = E[g1_l h1_i + g2_l h2_i] = mu-part + U; V from GG; T = U Sigma^+
   * and the assembly's S^+ the identity: the Stein regression
   * E[g eps] = E[g h^T] Sigma^+ Cov(h, eps) with the generalized inverse
   * of cl_sym_ginv (before, S^+ twice: the unscaled pseudo-inverse lost a
   * nearly dead unit, docs/grid.md s.13) */
  const double s2 = m->s * m->s, c1 = 1 + s2, c2 = 1 + m->rho * s2;
  for (int p = 0; p < d2; p++)
    for (int q = 0; q < p; q++) GG[p * d2 + q] = GG[q * d2 + p];
  for (int i = 0; i < M; i++)
    for (int lq = 0; lq < M; lq++) {
      P[i * M + lq] += U[lq * d2 + i] + U[(M + lq) * d2 + M + i];
      V[i * M + lq] = c1 * (GG[i * d2 + lq] + GG[(M + i) * d2 + M + lq]) +
                      c2 * (GG[i * d2 + M + lq] + GG[(M + i) * d2 + lq]);
    }
  double T[4 * CL_MMAX * CL_MMAX];
  for (int p = 0; p < d2; p++)
    for (int r = 0; r < d2; r++) {
      double t = 0;
      for (int b = 0; b < d2; b++) t += U[p * d2 + b] * Gi[b * d2 + r];
      T[p * d2 + r] = t;
    }
  memcpy(U, T, sizeof(double) * (size_t)(d2 * d2));
  double I[4 * CL_MMAX * CL_MMAX] = {0};
  for (int p = 0; p < d2; p++) I[p * d2 + p] = 1;
  cl_multi_assemble(m, R, Q, I, acc, out);
}

/* the relative rounding floor of the estimate (cl_acc_eval) */
#define ACC_ROUNDING 1e-11

/* Covariances of the split and their square roots; S, S^+ of Sigma. */
static cl_status prepare(cl_acc *a, const double *R, const double *Q, char *err) {
  const int M = a->M;
  const double s2 = a->m.s * a->m.s, rho = a->m.rho;
  double A[CL_MMAX * CL_MMAX], Sg[4 * CL_MMAX * CL_MMAX], Cx[CL_MMAX * CL_MMAX], Ce[CL_MMAX * CL_MMAX];
  cl_status st = cl_multi_sigma(&a->m, R, Q, A, Sg, err);
  if (st || (st = cl_sym_ginv(Sg, 2 * M, a->Gi, err))) return st;
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) {
      const double qq = 0.5 * (Q[i * M + l] + Q[l * M + i]);
      Cx[i * M + l] = A[i * M + l] + rho * s2 * qq;
      Ce[i * M + l] = (1 - rho) * s2 * qq;
    }
  if ((st = cl_sym_roots(Cx, M, a->Sxi, NULL, err))) return st;
  memcpy(a->Ce, Ce, sizeof(double) * (size_t)(M * M));
  return cl_sym_roots(Ce, M, a->Seta, NULL, err);
}

/* The one-view moments at X = mu + xi by the M-dimensional inner tensor
 * rule (M = 2): mf, Mo (Fc x Fc of F x F) and Ee (Fc x M). */
static void inner_tensor(cl_acc *a, const level *l, const double *X, int Fc, double *mf, double *Mo, double *Ee) {
  const int M = a->M, F = a->F, ne = l->ge.n;
  const double *ew = l->ge.w;
  for (int r = 0; r < M; r++) {
    double *restrict h = a->hs + (size_t)r * ne;
    const double *restrict e = a->eta + (size_t)r * ne, x = X[r];
#pragma omp simd
    for (int p = 0; p < ne; p++) h[p] = x + e[p];
    cl_act_eval_vec(a->m.act, h, a->ys + (size_t)r * ne, a->ds + (size_t)r * ne, ne);
  }
  /* features D, Y (and DY, YY if lambda != 0) by point */
  double *restrict ph = a->phi, *restrict wp = a->wphi;
  for (int i = 0; i < M; i++) {
    const double *restrict y = a->ys + (size_t)i * ne, *restrict dd = a->ds + (size_t)i * ne;
    double *restrict fD = ph + (size_t)i * ne, *restrict fY = ph + (size_t)(M + i) * ne;
    double *restrict fDY = ph + (size_t)(2 * M + i) * ne, *restrict fYY = ph + (size_t)(3 * M + i) * ne;
    if (Fc > 2 * M) {
#pragma omp simd
      for (int p = 0; p < ne; p++) fD[p] = dd[p], fY[p] = y[p], fDY[p] = dd[p] * y[p], fYY[p] = y[p] * y[p];
    } else {
#pragma omp simd
      for (int p = 0; p < ne; p++) fD[p] = dd[p], fY[p] = y[p];
    }
  }
  for (int f = 0; f < Fc; f++) {
    const double *restrict x = ph + (size_t)f * ne;
    double *restrict wx = wp + (size_t)f * ne, t = 0;
#pragma omp simd reduction(+ : t)
    for (int p = 0; p < ne; p++) wx[p] = ew[p] * x[p], t += wx[p];
    mf[f] = t;
  }
  for (int f = 0; f < Fc; f++) {
    for (int g = f; g < Fc; g++) Mo[f * F + g] = Mo[g * F + f] = dot_n(wp + (size_t)f * ne, ph + (size_t)g * ne, ne);
    for (int r = 0; r < M; r++) Ee[f * M + r] = dot_n(wp + (size_t)f * ne, a->eta + (size_t)r * ne, ne);
  }
}

/* The features of kind 0..nk-1 (D, Y, DY, YY) of one unit at n points,
 * row k at out + k n. */
static void unit_features(const double *restrict y, const double *restrict d, int n, int nk, double *restrict out) {
  double *restrict fD = out, *restrict fY = out + n, *restrict fDY = out + 2 * (size_t)n,
                   *restrict fYY = out + 3 * (size_t)n;
  if (nk > 2) {
#pragma omp simd
    for (int p = 0; p < n; p++) fD[p] = d[p], fY[p] = y[p], fDY[p] = d[p] * y[p], fYY[p] = y[p] * y[p];
  } else {
#pragma omp simd
    for (int p = 0; p < n; p++) fD[p] = d[p], fY[p] = y[p];
  }
}

/* The conditional moments of a pair (inner_pairs): row k of out, entry p,
 * is sum_q w_q phi_k(p, q) for the features phi_k (D, Y, DY, YY) of sigma
 * values y and derivatives d at ne x ne points (q fastest).  The products
 * are those unit_features forms and the sums those of dot_n, in one pass
 * over y and d instead of writing the features and reading them back. */
static void pair_cond(const double *restrict y, const double *restrict d, const double *restrict w, int ne, int nk,
                      double *restrict out) {
  for (int p = 0; p < ne; p++) {
    const double *restrict yp = y + (size_t)p * ne, *restrict dp = d + (size_t)p * ne;
    double t0 = 0, t1 = 0, t2 = 0, t3 = 0;
    if (nk > 2) {
#pragma omp simd reduction(+ : t0, t1, t2, t3)
      for (int q = 0; q < ne; q++)
        t0 += w[q] * dp[q], t1 += w[q] * yp[q], t2 += w[q] * (dp[q] * yp[q]), t3 += w[q] * (yp[q] * yp[q]);
      out[2 * ne + p] = t2, out[3 * ne + p] = t3;
    } else {
#pragma omp simd reduction(+ : t0, t1)
      for (int q = 0; q < ne; q++) t0 += w[q] * dp[q], t1 += w[q] * yp[q];
    }
    out[p] = t0, out[ne + p] = t1;
  }
}

/* The same moments for M >= 3 by units and pairs of units (docs/accurate.md
 * s.2): every feature depends on one unit, so m_f, the same-unit Mo and
 * E[phi_f z] are one-dimensional in eta_i = sd_i z, and Ee_fr for r != i
 * is the regression C_ri / sd_i E[phi_f z] (eta jointly Gaussian:
 * E[eta_r | eta_i] = C_ri / C_ii eta_i).  Mo of features on units u < v is
 * two-dimensional, with the Cholesky factor of the 2 x 2 block of C_eta
 * (eta_u = l00 z, eta_v = l10 z + l11 z'):
 *   Mo = sum_p w_p phi(X_u + l00 z_p) sum_q w_q phi'(X_v + l10 z_p + l11 z_q),
 * the tensor product of the one-dimensional rule, whose unit-u nodes are
 * those of the one-dimensional moments.  M n_e + M (M - 1) / 2 n_e^2
 * evaluations of sigma instead of n_e^M. */
static void inner_pairs(cl_acc *a, const level *l, const double *X, int Fc, double *mf, double *Mo, double *Ee) {
  const int M = a->M, F = a->F, ne = l->ge.n, nk = Fc / M;
  const double *restrict z = l->ge.z, *restrict w = l->ge.w, *Ce = a->Ce;
  double sd[CL_MMAX];
  /* phi: feature k of unit i at its one-dimensional nodes, row k M + i */
  for (int i = 0; i < M; i++) {
    const double s = sd[i] = sqrt(Ce[i * M + i]), x = X[i];
    double *restrict h = a->hs;
#pragma omp simd
    for (int p = 0; p < ne; p++) h[p] = x + s * z[p];
    cl_act_eval_vec(a->m.act, h, a->ys, a->ds, ne);
    unit_features(a->ys, a->ds, ne, nk, a->ph2);
    for (int k = 0; k < nk; k++) {
      const int f = k * M + i;
      const double *restrict ph = a->ph2 + (size_t)k * ne;
      memcpy(a->phi + (size_t)f * ne, ph, sizeof(double) * (size_t)ne);
      mf[f] = dot_n(w, ph, ne);
      const double ez = dot3_n(w, ph, z, ne); /* E[phi_f z] */
      for (int r = 0; r < M; r++) Ee[f * M + r] = r == i ? s * ez : s > 0 ? Ce[r * M + i] / s * ez : 0;
      for (int k2 = k; k2 < nk; k2++) {
        const int g = k2 * M + i;
        Mo[f * F + g] = Mo[g * F + f] = dot3_n(w, ph, a->ph2 + (size_t)k2 * ne, ne);
      }
    }
  }
  const size_t n2 = (size_t)ne * (size_t)ne;
  for (int u = 0; u < M; u++)
    for (int v = u + 1; v < M; v++) {
      const double l00 = sd[u], l10 = l00 > 0 ? Ce[u * M + v] / l00 : 0;
      const double l11 = sqrt(fmax(Ce[v * M + v] - l10 * l10, 0)), x = X[v];
      for (int p = 0; p < ne; p++) {
        double *restrict h = a->hs + (size_t)p * ne;
        const double b = x + l10 * z[p];
#pragma omp simd
        for (int q = 0; q < ne; q++) h[q] = b + l11 * z[q];
      }
      cl_act_eval_vec(a->m.act, a->hs, a->ys, a->ds, (int)n2);
      /* wphi row k: E_z'[feature k of unit v | z_p] */
      pair_cond(a->ys, a->ds, w, ne, nk, a->wphi);
      for (int k = 0; k < nk; k++)
        for (int k2 = 0; k2 < nk; k2++) {
          const int f = k * M + u, g = k2 * M + v;
          Mo[f * F + g] = Mo[g * F + f] = dot3_n(w, a->phi + (size_t)f * ne, a->wphi + (size_t)k2 * ne, ne);
        }
    }
}

/* The 1/B expansion's first pass at n outer nodes (weights w0[x] scale):
 * the one-sample moments the second pass and the fluctuation term need, all
 * products of one-view moments given the node (docs/accurate.md s.2):
 * mm_ik = E[Y_i Y_k] (= E[y1_i y2_k]), and of M^4 entries each
 * Q4_ilkm = E[Mo(Y_i, Y_l) Mo(Y_k, Y_m)], BB_ilkm = E[Mo(D_i, D_l) Mo(Y_k, Y_m)],
 * BX_ijkl = E[Mo(D_i, Y_j) Mo(Y_k, D_l)]. */
void cl_acc_batch_rows(int M, int F, int n, const double *const *mf, const double *const *Mo, const double *w0,
                       double scale, double *mom) {
  const int M2 = M * M;
  const size_t M4 = (size_t)M2 * M2;
  double *mm = mom, *Q4 = mm + M2, *BB = Q4 + M4, *BX = BB + M4;
  for (int i = 0; i < M; i++)
    for (int k = 0; k < M; k++) mm[i * M + k] += scale * dot3_n(w0, mf[M + i], mf[M + k], n);
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) {
      const double *yy = Mo[(M + i) * F + M + l], *dd = Mo[i * F + l], *dy = Mo[i * F + M + l];
      const size_t o = (size_t)(i * M + l) * M2;
      for (int k = 0; k < M; k++)
        for (int m = 0; m < M; m++) {
          const double *ykm = Mo[(M + k) * F + M + m], *ydk = Mo[(M + k) * F + m];
          double q = 0, b = 0, x = 0;
          for (int p = 0; p < n; p++) {
            const double wy = w0[p] * ykm[p];
            q += wy * yy[p], b += wy * dd[p], x += w0[p] * dy[p] * ydk[p];
          }
          Q4[o + k * M + m] += scale * q, BB[o + k * M + m] += scale * b, BX[o + k * M + m] += scale * x;
        }
    }
}

/* The fluctuation of the other B - 1 samples (docs/accurate.md s.2):
 * E[ghat_p ghat_q] = E[gmf_p gmf_q] + (4 lambda^2 (B - 1) / B^2)
 *   sum_{k != i, m != l} E[beta^a_ik beta^b_lm] Cov_1(phi^a_ik, phi^b_lm),
 * added to the upper triangle of GG (2M x 2M).  beta^1_ik = D_i(1) Y_k(2),
 * beta^2_ik = Y_k(1) D_i(2), phi^1_ik = Y_i(1) Y_k(2), phi^2_ik = Y_k(1) Y_i(2);
 * the views' blocks (1, 1) and (2, 2) are equal (the views have one law). */
void cl_acc_batch_fluct(const cl_model *m, const double *mom, double *GG) {
  const int M = m->M, M2 = M * M, d2 = 2 * M, B = m->B;
  const size_t M4 = (size_t)M2 * M2;
  const double *mm = mom, *Q4 = mm + M2, *BB = Q4 + M4, *BX = BB + M4;
  const double fv = 4 * m->lambda * m->lambda * (B - 1) / ((double)B * B);
#define IX(a, b, c, e) (((size_t)((a) * M + (b)) * M + (c)) * M + (e))
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) {
      double same = 0, cross = 0;
      for (int k = 0; k < M; k++) {
        if (k == i) continue;
        for (int q = 0; q < M; q++) {
          if (q == l) continue;
          same += BB[IX(i, l, k, q)] * (Q4[IX(i, l, k, q)] - mm[i * M + k] * mm[l * M + q]);
          cross += BX[IX(i, q, k, l)] * (Q4[IX(i, q, k, l)] - mm[i * M + k] * mm[q * M + l]);
        }
      }
      if (i <= l) GG[i * d2 + l] += fv * same, GG[(M + i) * d2 + M + l] += fv * same;
      GG[i * d2 + M + l] += fv * cross;
    }
#undef IX
}

/* One sweep of a level's outer nodes: pass 0 the 1/B expansion's moments
 * into a->mom (cl_acc_batch_rows), pass 1 the sums into a->acc (cl_acc_node
 * with the terms a->t). */
static void sweep(cl_acc *a, const level *l, const double *R, int pass) {
  const int K = a->K, M = a->M, nx = l->gx.n;
  const int Fc = a->m.lambda != 0 ? 4 * M : 2 * M; /* features computed by point */
  double mf[4 * CL_MMAX + 1], Mo[(4 * CL_MMAX + 1) * (4 * CL_MMAX + 1)], Ee[(4 * CL_MMAX + 1) * CL_MMAX];
  for (int ic = 0; ic < l->nc; ic++) {
    const double *c = l->cx + (size_t)ic * K;
    double mu[CL_MMAX];
    for (int i = 0; i < M; i++) {
      double t = 0;
      for (int j = 0; j < K; j++) t += R[j * M + i] * c[j];
      mu[i] = t;
    }
    for (int ix = 0; ix < nx; ix++) {
      double W = l->cw[ic] * l->gx.w[ix];
      if (l->sc) { /* the folded rule (level_build); pass 0's summands are even too */
        const int sg = l->sc[ic] ? l->sc[ic] : l->sx[ix];
        if (sg < 0) continue;
        if (sg > 0) W *= 2;
      }
      const double *zx = l->gx.z + (size_t)ix * M;
      double xi[CL_MMAX], X[CL_MMAX];
      for (int r = 0; r < M; r++) {
        double t = 0;
        for (int k = 0; k < M; k++) t += a->Sxi[r * M + k] * zx[k];
        xi[r] = t, X[r] = mu[r] + t;
      }
      /* the inner rule: one-view moments at h = X + eta; S2 = sum_k YY_k
       * is linear in the YY: its moments are sums of theirs */
      if (a->pairs) inner_pairs(a, l, X, Fc, mf, Mo, Ee);
      else inner_tensor(a, l, X, Fc, mf, Mo, Ee);
      if (pass == 0) {
        const double *pm[4 * CL_MMAX + 1], *pM[(4 * CL_MMAX + 1) * (4 * CL_MMAX + 1)];
        for (int f = 0; f < a->F; f++) {
          pm[f] = mf + f;
          for (int e = 0; e < a->F; e++) pM[f * a->F + e] = Mo + f * a->F + e;
        }
        cl_acc_batch_rows(M, a->F, 1, pm, pM, &W, 1, a->mom);
        continue;
      }
      if (Fc > 2 * M) cl_acc_s2(M, mf, Mo, Ee);
      double wc[CL_KMAX], wxi[CL_MMAX], wmu[CL_MMAX];
      for (int j = 0; j < K; j++) wc[j] = W * c[j];
      for (int r = 0; r < M; r++) wxi[r] = W * xi[r], wmu[r] = W * mu[r];
      cl_acc_node(&a->t, mf, Mo, Ee, W, wc, wxi, wmu, a->acc);
    }
  }
}

/* One level: the sums [aR (K x M), U (2M x 2M), P (M x M), V (M x M), GG (2M x 2M)]
 * into acc, then the drift into out.  U_pr = E[ghat_p (h - mu)_r], GG_pq =
 * E[ghat_p ghat_q].  B > 1 with lambda != 0: a first pass for the
 * one-sample moments of the 1/B expansion (the second pass's terms depend
 * on them), each level with its own, so that the levels' difference sees
 * their error too. */
static void eval_level(cl_acc *a, const level *l, const double *R, const double *Q, double *out) {
  const int K = a->K, M = a->M, ne = l->ge.n;
  memset(a->acc, 0, sizeof(double) * (size_t)a->asz);
  /* eta of the inner points: Seta z */
  if (!a->pairs)
    for (int r = 0; r < M; r++)
      for (int p = 0; p < ne; p++) {
        double t = 0;
        for (int c = 0; c < M; c++) t += a->Seta[r * M + c] * l->ge.z[(size_t)p * M + c];
        a->eta[(size_t)r * ne + p] = t;
      }
  if (a->mom) {
    const size_t M2 = (size_t)M * M;
    memset(a->mom, 0, sizeof(double) * (M2 + 3 * M2 * M2));
    sweep(a, l, R, 0);
    cl_acc_terms_batch(&a->t, K, M, a->m.lambda, a->m.B, a->mom);
  }
  sweep(a, l, R, 1);
  if (a->mom) cl_acc_batch_fluct(&a->m, a->mom, a->acc + K * M + 4 * M * M + 2 * M * M);
  cl_acc_finish(&a->m, R, Q, a->Gi, a->acc, out);
}

static cl_status finish(const cl_acc *a, const double *o, double *dR, double *dQ, char *err) {
  const int KM = a->K * a->M;
  for (int k = 0; k < a->nout; k++) {
    if (!isfinite(o[k])) return cl_fail(err, CL_EDIVERGE, "the drift is not finite");
    if (k < KM) dR[k] = o[k];
    else dQ[k - KM] = o[k];
  }
  return CL_OK;
}

cl_status cl_acc_eval_level(cl_acc *a, int lev, const double *R, const double *Q, double *dR,
                            double *dQ, char *err) {
  if (lev < 0 || lev >= a->nlev) return cl_fail(err, CL_EINVAL, "expect: quad has no level %d", lev);
  cl_status st = prepare(a, R, Q, err);
  if (st) return st;
  double *o = a->out + (size_t)lev * a->nout;
  eval_level(a, &a->lv[lev], R, Q, o);
  return finish(a, o, dR, dQ, err);
}

cl_status cl_acc_eval(cl_acc *a, const double *R, const double *Q, double *dR, double *dQ,
                      double *ebar, char *err) {
  cl_status st = prepare(a, R, Q, err);
  if (st) return st;
  double *o1 = a->out + a->nout;
  for (int l = 0; l < a->nlev; l++) eval_level(a, &a->lv[l], R, Q, a->out + (size_t)l * a->nout);
  /* the estimate is a norm over the whole drift vector: one component of
   * the two levels can agree by chance (docs/accurate.md s.4); with a
   * middle level, the larger distance of the fine level to the others */
  a->emax = 0;
  double big = 0;
  for (int l = 0; l < a->nlev; l++) {
    if (l == 1) continue;
    const double *ol = a->out + (size_t)l * a->nout;
    for (int k = 0; k < a->nout; k++) a->emax = fmax(a->emax, fabs(o1[k] - ol[k])), big = fmax(big, fabs(o1[k]));
  }
  /* where every level is exact (polynomial sigma) their differences are
   * rounding alone, and so is the error, which they did not bound (up to
   * 3e-13 of the largest |drift| at M = 4, docs/accurate.md s.8): a floor for the
   * rounding */
  a->emax = fmax(a->emax, ACC_ROUNDING * big);
  if (ebar)
    for (int k = 0; k < a->nout; k++) ebar[k] = a->emax;
  return finish(a, o1, dR, dQ, err);
}
