/* drift_grid4.c - the grid engine for M >= 4 units by inclusion-exclusion
 * over the sub-models (docs/grid.md s.15; any M >= 4 since session 27,
 * s.16: M = 4 is its special case, bit-identical to session 26's engine).
 * (The names cl_grid4_* and g4_* are kept from the M = 4 engine: bench/
 * grid4.c and bench/lev4.c call them; "4" is now the largest unit set a
 * term names, not M.)
 *
 * With B = 1 and g = square the per-sample gradient is
 * ghat1_i = sd1_i [y2_i - 2 lambda y1_i sum_{k != i} y2_k^2] (docs/multi.md
 * s.2): a sum of terms naming the unit sets {i} and {i, k}.  Every term of
 * the drift is then an expectation naming a set U of units (dR_.i and the
 * regulariser: U = {i} or {i, k}; P_il: |U| <= 3; V_il: |U| <= 4, and 4 only
 * for i != l), and its value depends on the joint law of the units in U
 * alone (the Stein regression is exact), so it is the same in the full
 * model and in any sub-model (the same laws, tau, lambda, s, rho and
 * regulariser, the sub-model's columns of R and block of Q) that contains
 * U.  Nothing in the model depends on M itself (no 1/M, no sum normalised
 * by M - 1: docs/multi.md s.1-2).  With F(S) the drift of the sub-model on
 * the units S, for M units:
 *   dR_.i: sum over the M - 1 pairs P containing i of F(P) - (M - 2) F({i})
 *     (its terms name {i} or {i, k}: a pair term is counted once, the
 *     single term (M - 1) - (M - 2) = 1 time);
 *   dQ_ii: the same sum for dQ_ii + sum over the C(M-1, 2) triples T
 *     containing i of T3(T)_ii (the terms naming {i} counted once, {i, k}
 *     once in the pair, {i, k, m} once in the triple; V_ii names at most
 *     three units);
 *   dQ_il, i != l: F({i, l})_il + sum over the M - 2 triples containing
 *     {i, l} of T3(T)_il + sum over the C(M-2, 2) quadruples S containing
 *     {i, l} of S's four-unit terms for (i, l) (cl_grid4q on S's sub-model:
 *     the full model's four-unit terms of V_il are
 *     E[sd_i y_i y_k^2 sd_l y_l y_m^2] (and the mixed views') over the
 *     ordered pairs (k, m) of distinct units outside {i, l}; S = {i, l, k,
 *     m} holds both (k, m) and (m, k), and no other S holds either);
 * T3(T) the part of the triple's dQ made of the terms that name all three
 * of its units (cl_grid_alloc_t3: the M = 3 grid without the tilted
 * weights, its accumulation filtered by the terms' unit sets; docs/grid.md
 * s.15, "Triples by their three-unit terms").  Until session 24 the triples
 * gave their whole dQ and the pairs and singles were subtracted (the sum of
 * "Triples without the tilted weights"): the same in the limit, but the
 * triples' grid errors were then relative to the whole dQ.  F({i}) is unit
 * i's part of the M = 2 grid at lambda = 0 (the units then do not enter
 * each other's components) on the pairs {0, 1}, {2, 3}, ... and, for odd
 * M, {M - 2, M - 1} for unit M - 1 alone: an engine with the same two
 * levels as the others, so that a level of this engine is one level of
 * every sub-engine. */
#include "drift_grid4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drift_grid.h"
#include "drift_multi.h"

/* A sub-model: its units (ascending) and, for a single, the units whose
 * own drift it gives (bit a: unit s[a]). */
typedef struct {
  int s[4];
  int use;
} g4_set;

struct cl_grid4 {
  cl_model m;
  int K, M;
  int ntri, npair, nsing, nquad, ntask;
  g4_set *tri, *pair, *sing, *quad; /* the unit sets (one allocation) */
  cl_grid **etri;    /* the triples' three-unit terms (NULL where lambda = 0: none) */
  cl_grid **epair;   /* the pairs' M = 2 grids */
  cl_grid **esing;   /* lambda = 0 pairs: the units' own drifts */
  cl_grid4q **equad; /* the quadruples' four-unit terms of dQ (NULL where lambda = 0: none) */
  double *out;       /* ntask x (K M + M M): each task's own output */
  char (*errs)[CL_ERRLEN];
  cl_status *sts;
  int *on;
  char method[768];
};

/* The sub-state on the units s[0 .. n-1] of the M: the columns s of R
 * (K x M) and the block s x s of Q. */
static void g4_block(int K, int M, const int *s, int n, const double *R, const double *Q, double *Rs, double *Qs) {
  for (int j = 0; j < K; j++)
    for (int a = 0; a < n; a++) Rs[j * n + a] = R[j * M + s[a]];
  for (int a = 0; a < n; a++)
    for (int c = 0; c < n; c++) Qs[a * n + c] = Q[s[a] * M + s[c]];
}

/* The sub-model on the units s[0 .. n-1] (its R0, Q0 the sub-blocks). */
static cl_model g4_sub(const cl_model *m, const int *s, int n, double lambda) {
  cl_model b = *m;
  b.M = n, b.lambda = lambda;
  memset(b.R0, 0, sizeof b.R0), memset(b.Q0, 0, sizeof b.Q0);
  g4_block(m->K, m->M, s, n, m->R0, m->Q0, b.R0, b.Q0);
  return b;
}

static long g4_choose(int n, int k) {
  long c = 1;
  for (int i = 0; i < k; i++) c = c * (n - i) / (i + 1);
  return c;
}

/* The unit sets: the triples in reverse lexicographic order (at M = 4
 * triple u is the units other than u, session 23's order, kept for
 * M = 4's bit-identity), the pairs and quadruples in lexicographic order,
 * the singles {0, 1}, {2, 3}, ... (odd M: {M - 2, M - 1} for unit M - 1). */
static void g4_sets(cl_grid4 *g) {
  const int M = g->M;
  int n = 0;
  for (int a = 0; a < M; a++)
    for (int b = a + 1; b < M; b++)
      for (int c = b + 1; c < M; c++, n++) {
        g4_set *t = &g->tri[g->ntri - 1 - n];
        t->s[0] = a, t->s[1] = b, t->s[2] = c, t->use = 7;
      }
  n = 0;
  for (int a = 0; a < M; a++)
    for (int b = a + 1; b < M; b++, n++) g->pair[n] = (g4_set){{a, b, 0, 0}, 3};
  for (int k = 0; k < g->nsing; k++)
    g->sing[k] = 2 * k + 1 < M ? (g4_set){{2 * k, 2 * k + 1, 0, 0}, 3} : (g4_set){{M - 2, M - 1, 0, 0}, 2};
  n = 0;
  for (int a = 0; a < M; a++)
    for (int b = a + 1; b < M; b++)
      for (int c = b + 1; c < M; c++)
        for (int d = c + 1; d < M; d++, n++) g->quad[n] = (g4_set){{a, b, c, d}, 15};
}

void cl_grid4_free(cl_grid4 *g) {
  if (!g) return;
  for (int k = 0; g->etri && k < g->ntri; k++) cl_grid_free(g->etri[k]);
  for (int k = 0; g->epair && k < g->npair; k++) cl_grid_free(g->epair[k]);
  for (int k = 0; g->esing && k < g->nsing; k++) cl_grid_free(g->esing[k]);
  for (int k = 0; g->equad && k < g->nquad; k++)
    if (g->equad[k]) cl_grid4q_free(g->equad[k]);
  free(g->etri), free(g->epair), free(g->esing), free(g->equad), free(g->tri);
  free(g->out), free(g->errs), free(g->sts), free(g->on);
  free(g);
}

void cl_grid4_levels(const cl_model *m, int n, cl_grid_level *c, cl_grid_level *f) {
  /* the default levels' tails and inner rules; with per-view noise the
   * aliasing exponents 18/14 for 28/18 (docs/grid.md s.15, "The M = 4
   * levels": there the error of both levels is the inner rule's and the
   * tails', the grid's aliasing below 1e-11 at 18; without it the step comes
   * from sigma's poles and the aliasing dominates: the default levels) */
  cl_grid_default_levels(n, c, f);
  if ((1 - m->rho) * m->s * m->s > 0) {
    const double x = (double)f->ne / 24;
    f->Eh = 18 * x * x, c->Eh = 14 * x * x;
  }
}

void cl_grid4_t3_levels(const cl_model *m, int n, cl_grid_level *c, cl_grid_level *f) {
  /* the M = 4 levels; with per-view noise the aliasing exponents 11/14 for
   * 14/18 and the tails' 18/22 for 22/28 (x^2 and x as
   * cl_grid_default_levels'), the inner rules kept (docs/grid.md s.15,
   * "Triples by their three-unit terms"; bench/lev4.c t3: at case B's start
   * the three-unit terms are 0.29 and the fine level's aliasing at e^-12
   * was 1.4e-6 off, moving case B's table by 2.3e-6) */
  cl_grid4_levels(m, n, c, f);
  if ((1 - m->rho) * m->s * m->s > 0) {
    const double x = (double)f->ne / 24;
    f->Eh = 14 * x * x, c->Eh = 11 * x * x, f->E = 22 * x, c->E = 18 * x;
  }
}

cl_status cl_grid4_new(const cl_model *m, const cl_quad_opts *o, cl_grid4 **out, char *err) {
  return cl_grid4_new_levels(m, o, NULL, out, err);
}

cl_status cl_grid4_new_levels(const cl_model *m, const cl_quad_opts *o, const cl_grid_level *lv, cl_grid4 **out,
                              char *err) {
  return cl_grid4_new_levels3(m, o, lv, lv, out, err);
}

cl_status cl_grid4_new_levels3(const cl_model *m, const cl_quad_opts *o, const cl_grid_level *lv,
                               const cl_grid_level *lv3, cl_grid4 **out, char *err) {
  *out = NULL;
  char why[200];
  if (m->M < 4 || m->M > CL_MMAX)
    return cl_fail(err, CL_EINVAL, "the grid engine by sub-models needs M = 4 to %d (got M = %d)", CL_MMAX, m->M);
  if (!cl_grid_applies(m, why, sizeof why))
    return cl_fail(err, CL_EINVAL, "expect: grid (the grid engine) at M = %d needs B = 1 (where lambda != 0), "
                                   "tanh, erf or sigmoid, g = square (where lambda != 0) and rho >= 0: %s", m->M, why);
  cl_grid4 *g = calloc(1, sizeof *g);
  if (!g) return cl_fail(err, CL_ENOMEM, "out of memory");
  const int M = m->M;
  g->m = *m, g->K = m->K, g->M = M;
  g->ntri = (int)g4_choose(M, 3), g->npair = (int)g4_choose(M, 2), g->nsing = (M + 1) / 2;
  g->nquad = (int)g4_choose(M, 4);
  g->ntask = g->ntri + g->npair + g->nsing + g->nquad;
  const size_t nd = (size_t)m->K * M + (size_t)M * M;
  g->tri = calloc((size_t)g->ntask, sizeof *g->tri);
  g->etri = calloc((size_t)g->ntri, sizeof *g->etri), g->epair = calloc((size_t)g->npair, sizeof *g->epair);
  g->esing = calloc((size_t)g->nsing, sizeof *g->esing), g->equad = calloc((size_t)g->nquad, sizeof *g->equad);
  g->out = malloc(sizeof(double) * nd * (size_t)g->ntask), g->errs = malloc(sizeof *g->errs * (size_t)g->ntask);
  g->sts = malloc(sizeof *g->sts * (size_t)g->ntask), g->on = malloc(sizeof *g->on * (size_t)g->ntask);
  if (!g->tri || !g->etri || !g->epair || !g->esing || !g->equad || !g->out || !g->errs || !g->sts || !g->on)
    return cl_grid4_free(g), cl_fail(err, CL_ENOMEM, "out of memory");
  g->pair = g->tri + g->ntri, g->sing = g->pair + g->npair, g->quad = g->sing + g->nsing;
  g4_sets(g);
  /* the sub-engines' levels: lv's exponents (else the M = 4 levels, for
   * every M: the sub-engines are those of M = 4), the caps of their
   * dimension (2-d, 3-d) as cl_grid_alloc sets them */
  const int gn = o ? o->grid_nodes : 0;
  cl_grid_level c2, f2, c3, f3;
  if (lv)
    c2 = lv[0], f2 = lv[1];
  else
    cl_grid4_levels(m, gn, &c2, &f2);
  if (lv3)
    c3 = lv3[0], f3 = lv3[1];
  else
    cl_grid4_t3_levels(m, gn, &c3, &f3);
  cl_grid_caps(2, gn, &c2, &f2), cl_grid_caps(3, gn, &c3, &f3);
  cl_status st = CL_OK;
  for (int k = 0; k < g->ntri && !st && m->lambda != 0; k++) {
    const cl_model b = g4_sub(m, g->tri[k].s, 3, m->lambda);
    st = cl_grid_alloc_t3(&b, &c3, &f3, &g->etri[k], err);
  }
  for (int k = 0; k < g->npair && !st; k++) {
    const cl_model b = g4_sub(m, g->pair[k].s, 2, m->lambda);
    st = cl_grid_alloc_levels(&b, &c2, &f2, &g->epair[k], err);
  }
  for (int k = 0; k < g->nsing && !st; k++) {
    const cl_model b = g4_sub(m, g->sing[k].s, 2, 0);
    st = cl_grid_alloc_levels(&b, &c2, &f2, &g->esing[k], err);
  }
  /* lambda = 0: no term names more than the two units of V_il */
  for (int k = 0; k < g->nquad && !st && m->lambda != 0; k++) {
    const cl_model b = g4_sub(m, g->quad[k].s, 4, m->lambda);
    st = cl_grid4q_alloc(&b, o, &g->equad[k], err);
  }
  if (st) return cl_grid4_free(g), st;
  const char *sub = M == 4 ? "3-unit" : M == 5 ? "4-unit" : "2- to 4-unit";
  snprintf(g->method, sizeof g->method,
           "grid engine (M = %d, %s, inclusion-exclusion over the %s sub-models, docs/grid.md s.%s): the %d "
           "pairs' M = 2 grids - %d x each unit's own drift (the M = 2 grid at lambda = 0) + the three-unit terms of "
           "dQ from the %d triples' M = 3 grids%s; the sub-engines' levels "
           "(coarse/fine): aliasing e^-%g/e^-%g, tails e^-%g/e^-%g, inner %d/%d nodes on +-%g/+-%g (the M = 4 "
           "levels; the triples' aliasing e^-%g/e^-%g, tails e^-%g/e^-%g); drift = the fine level, estimate max "
           "|fine - coarse|",
           M, m->B == 1 ? "B = 1" : "lambda = 0", sub, M == 4 ? "15" : "16", g->npair, M - 2, g->ntri,
           m->lambda == 0 ? "" : M == 4 ? " + the four-unit terms of dQ_il" : " + the four-unit terms of dQ_il from "
                                                                               "each quadruple",
           c2.Eh, f2.Eh, c2.E, f2.E, c2.ne, f2.ne, c2.Le, f2.Le, c3.Eh, f3.Eh, c3.E, f3.E);
  *out = g;
  return CL_OK;
}

/* Adds the drift (dRs, dQs) of the sub-model on the units u->s[0 .. n-1]
 * to (dR, dQ) (K x M, M x M) with the weights of the header's bookkeeping:
 * a triple's three-unit terms (n = 3) 1 in dQ and none in dR (not
 * computed), a pair's (offd) 1 in both, a single's (the lambda = 0 pair,
 * !offd: unit a's dR_.a and dQ_aa alone, for the units in u->use)
 * -(M - 2). */
static void g4_add(const cl_grid4 *g, const g4_set *u, int n, int offd, const double *dRs, const double *dQs,
                   double *dR, double *dQ) {
  const int M = g->M, *s = u->s;
  const double w = offd ? 1 : -(double)(M - 2), wR = n == 3 ? 0 : w;
  for (int j = 0; j < g->K && wR != 0; j++)
    for (int a = 0; a < n; a++)
      if (u->use >> a & 1) dR[j * M + s[a]] += wR * dRs[j * n + a];
  for (int a = 0; a < n; a++)
    for (int c = 0; c < n; c++)
      if ((a == c && u->use >> a & 1) || offd) dQ[s[a] * M + s[c]] += w * dQs[a * n + c];
}

/* The parts of a level as tasks: the triples, the pairs, the singles, the
 * quadruples' four-unit terms (summed in this order; at M = 4: 0-3 the
 * triples, 4-9 the pairs, 10-11 the singles, 12 the four-unit terms).  The
 * threads take the quadruples first, then the rest in order (at M = 4:
 * 12, 0, 1, ..., 11): the four-unit terms are, since the triples'
 * three-unit levels of session 24, the largest single tasks (at M = 4
 * about a third of an evaluation where the units turn toward their
 * features). */
static int g4_task_mask(const cl_grid4 *g, int t) {
  return t < g->ntri ? CL_GRID4_TRIPLES
         : t < g->ntri + g->npair ? CL_GRID4_PAIRS
         : t < g->ntri + g->npair + g->nsing ? CL_GRID4_SINGLES
                                              : CL_GRID4_FOUR;
}

/* Task t's drift at level lev, alone (its own dR, dQ: K x M, M x M), with
 * its weight. */
static cl_status g4_task(cl_grid4 *g, int t, int lev, const double *R, const double *Q, double *dR, double *dQ,
                         char *err) {
  const int K = g->K, M = g->M;
  memset(dR, 0, sizeof(double) * (size_t)K * M), memset(dQ, 0, sizeof(double) * (size_t)M * M);
  double Rs[CL_KMAX * 4], Qs[16], dRs[CL_KMAX * 4], dQs[16];
  cl_grid *e;
  const g4_set *u;
  int n = 3, offd = 1, k = t;
  if (k < g->ntri) u = &g->tri[k], e = g->etri[k];
  else if ((k -= g->ntri) < g->npair) u = &g->pair[k], e = g->epair[k], n = 2;
  else if ((k -= g->npair) < g->nsing) u = &g->sing[k], e = g->esing[k], n = 2, offd = 0;
  else {
    k -= g->nsing, u = &g->quad[k];
    g4_block(K, M, u->s, 4, R, Q, Rs, Qs);
    memset(dQs, 0, sizeof dQs); /* (cl_grid4q_eval_level adds into it, as into session 26's zeroed dQ) */
    cl_status st = cl_grid4q_eval_level(g->equad[k], lev, Rs, Qs, dQs, err);
    for (int a = 0; a < 4 && !st; a++) /* its diagonal is 0: V_ii names at most three units */
      for (int c = 0; c < 4; c++) dQ[u->s[a] * M + u->s[c]] += dQs[a * 4 + c];
    return st;
  }
  g4_block(K, M, u->s, n, R, Q, Rs, Qs);
  cl_status st = cl_grid_eval_level(e, lev, Rs, Qs, dRs, dQs, err);
  if (!st) g4_add(g, u, n, offd, dRs, dQs, dR, dQ);
  return st;
}

/* The tasks run in threads (cl_drift_threads_tasks: every processor unless
 * OMP_NUM_THREADS says otherwise, one inside another parallel region): each has its own sub-engine and
 * its own output, summed after in the tasks' order, so that the level is
 * bit-identical for any number of threads (docs/grid.md s.15); the error
 * is the first failed task's. */
cl_status cl_grid4_eval_parts(cl_grid4 *g, int lev, int mask, const double *R, const double *Q, double *dR,
                              double *dQ, char *err) {
  const int K = g->K, M = g->M, nt = g->ntask, nq = g->nquad, nd = K * M + M * M;
  double *out = g->out;
  char(*errs)[CL_ERRLEN] = g->errs;
  cl_status *sts = g->sts;
  int *on = g->on;
  for (int t = 0; t < nt; t++) {
    sts[t] = CL_OK;
    const int mk = g4_task_mask(g, t);
    on[t] = (mask & mk) && (mk == CL_GRID4_TRIPLES   ? g->etri[t] != NULL
                            : mk == CL_GRID4_FOUR ? g->equad[t - (nt - nq)] != NULL
                                                  : 1);
  }
  const int nth = cl_drift_threads_tasks();
#pragma omp parallel for schedule(dynamic, 1) num_threads(nth)
  for (int x = 0; x < nt; x++) {
    const int t = x < nq ? nt - nq + x : x - nq;
    double *o = out + (size_t)t * nd;
    if (on[t]) sts[t] = g4_task(g, t, lev, R, Q, o, o + K * M, errs[t]);
  }
  memset(dR, 0, sizeof(double) * (size_t)K * M), memset(dQ, 0, sizeof(double) * (size_t)M * M);
  for (int t = 0; t < nt; t++) {
    if (!on[t]) continue;
    if (sts[t]) return cl_fail(err, sts[t], "%s", errs[t]); /* err may be NULL (fixed's drift) */
    const double *o = out + (size_t)t * nd;
    for (int k = 0; k < nd; k++) *(k < K * M ? dR + k : dQ + k - K * M) += o[k];
  }
  return CL_OK;
}

static cl_status g4_level(void *ctx, int lev, const double *R, const double *Q, double *dR, double *dQ, char *err) {
  return cl_grid4_eval_parts(ctx, lev, CL_GRID4_ALL, R, Q, dR, dQ, err);
}

static int g4_unresolved(const void *ctx) {
  const cl_grid4 *g = ctx;
  int u = 0;
  for (int k = 0; k < g->ntri; k++) u |= g->etri[k] && cl_grid_unresolved(g->etri[k]);
  for (int k = 0; k < g->npair; k++) u |= cl_grid_unresolved(g->epair[k]);
  for (int k = 0; k < g->nsing; k++) u |= cl_grid_unresolved(g->esing[k]);
  for (int k = 0; k < g->nquad; k++) /* (the four-unit terms missing until session 24: no rerun on its refusal) */
    u |= g->equad[k] && cl_grid4q_unresolved(g->equad[k]);
  return u;
}

static void g4_release(void *ctx) { cl_grid4_free(ctx); }

cl_status cl_grid4_alloc(const cl_model *m, const cl_quad_opts *o, cl_grid **out, char *err) {
  *out = NULL;
  cl_grid4 *g;
  cl_status st = cl_grid4_new(m, o, &g, err);
  if (st) return st;
  const cl_grid_sum sum = {g4_level, g4_unresolved, g4_release};
  return cl_grid_alloc_sum(m, &sum, g, g->method, out, err);
}
