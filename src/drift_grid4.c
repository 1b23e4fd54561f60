/* drift_grid4.c - the M = 4 grid engine by inclusion-exclusion over the
 * sub-models (docs/grid.md s.15).
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
 * U.  With F(S) the drift of the sub-model on the units S:
 *   dR_.i: sum over the 3 pairs P containing i of F(P) - 2 F({i}) (its
 *     terms name {i} or {i, k}: a pair term is counted once, the single
 *     term 3 - 2 = 1 time);
 *   dQ_ii: sum over the 3 pairs P containing i of F(P) - 2 F({i}) + sum
 *     over the 3 triples T containing i of T3(T) (the terms naming {i}
 *     counted 3 - 2 = 1 time, {i, k} once in the pair, {i, k, m} once in
 *     the triple);
 *   dQ_il, i != l: F({i, l}) + sum over the 2 triples containing {i, l} of
 *     T3(T) + the four-unit terms (cl_grid4q);
 * T3(T) the part of the triple's dQ made of the terms that name all three
 * of its units (cl_grid_alloc_t3: the M = 3 grid without the tilted
 * weights, its accumulation filtered by the terms' unit sets; docs/grid.md
 * s.15, "Triples by their three-unit terms").  Until then the triples gave
 * their whole dQ and the pairs and singles were subtracted (the sum of
 * "Triples without the tilted weights"): the same in the limit, but the
 * triples' grid errors were then relative to the whole dQ.  F({i}) is unit
 * i's part of the M = 2 grid at
 * lambda = 0 (the units then do not enter each other's components) on the
 * pairs {1, 2} and {3, 4}: an engine with the same two levels as the others,
 * so that a level of this engine is one level of every sub-engine. */
#include "drift_grid4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drift_grid.h"
#include "drift_multi.h"

#define G4_NTRI 4
#define G4_NPAIR 6
#define G4_NSING 2

struct cl_grid4 {
  cl_model m;
  int K;
  cl_grid *tri[G4_NTRI];   /* tri[u]: the units other than u, ascending (NULL where lambda = 0: no three-unit terms) */
  cl_grid *pair[G4_NPAIR]; /* (0,1) (0,2) (0,3) (1,2) (1,3) (2,3) */
  cl_grid *sing[G4_NSING]; /* lambda = 0: (0,1) and (2,3) */
  cl_grid4q *q;            /* the four-unit terms of dQ (NULL where lambda = 0: none) */
  char method[768];
};

static const int g4_pairs[G4_NPAIR][2] = {{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 3}};
static const int g4_sings[G4_NSING][2] = {{0, 1}, {2, 3}};
static void g4_triple(int u, int *s) {
  for (int i = 0, n = 0; i < 4; i++)
    if (i != u) s[n++] = i;
}

/* The sub-state on the units s[0 .. n-1] of the four: the columns s of R
 * (K x 4) and the block s x s of Q. */
static void g4_block(int K, const int *s, int n, const double *R, const double *Q, double *Rs, double *Qs) {
  for (int j = 0; j < K; j++)
    for (int a = 0; a < n; a++) Rs[j * n + a] = R[j * 4 + s[a]];
  for (int a = 0; a < n; a++)
    for (int c = 0; c < n; c++) Qs[a * n + c] = Q[s[a] * 4 + s[c]];
}

/* The sub-model on the units s[0 .. n-1] (its R0, Q0 the sub-blocks). */
static cl_model g4_sub(const cl_model *m, const int *s, int n, double lambda) {
  cl_model b = *m;
  b.M = n, b.lambda = lambda;
  memset(b.R0, 0, sizeof b.R0), memset(b.Q0, 0, sizeof b.Q0);
  g4_block(m->K, s, n, m->R0, m->Q0, b.R0, b.Q0);
  return b;
}

void cl_grid4_free(cl_grid4 *g) {
  if (!g) return;
  for (int k = 0; k < G4_NTRI; k++) cl_grid_free(g->tri[k]);
  for (int k = 0; k < G4_NPAIR; k++) cl_grid_free(g->pair[k]);
  for (int k = 0; k < G4_NSING; k++) cl_grid_free(g->sing[k]);
  if (g->q) cl_grid4q_free(g->q);
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
  if (m->M != 4) return cl_fail(err, CL_EINVAL, "the grid engine by sub-models needs M = 4");
  if (!cl_grid_applies(m, why, sizeof why))
    return cl_fail(err, CL_EINVAL, "expect: grid (the grid engine) at M = 4 needs B = 1 (where lambda != 0), "
                                   "tanh, erf or sigmoid, g = square (where lambda != 0) and rho >= 0: %s", why);
  cl_grid4 *g = calloc(1, sizeof *g);
  if (!g) return cl_fail(err, CL_ENOMEM, "out of memory");
  g->m = *m, g->K = m->K;
  /* the sub-engines' levels: lv's exponents (else the M = 4 levels), the
   * caps of their dimension (2-d, 3-d) as cl_grid_alloc sets them */
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
  for (int u = 0; u < G4_NTRI && !st && m->lambda != 0; u++) {
    int s[3];
    g4_triple(u, s);
    const cl_model b = g4_sub(m, s, 3, m->lambda);
    st = cl_grid_alloc_t3(&b, &c3, &f3, &g->tri[u], err);
  }
  for (int k = 0; k < G4_NPAIR && !st; k++) {
    const cl_model b = g4_sub(m, g4_pairs[k], 2, m->lambda);
    st = cl_grid_alloc_levels(&b, &c2, &f2, &g->pair[k], err);
  }
  for (int k = 0; k < G4_NSING && !st; k++) {
    const cl_model b = g4_sub(m, g4_sings[k], 2, 0);
    st = cl_grid_alloc_levels(&b, &c2, &f2, &g->sing[k], err);
  }
  /* lambda = 0: no term names more than the two units of V_il */
  if (!st && m->lambda != 0) st = cl_grid4q_alloc(m, o, &g->q, err);
  if (st) return cl_grid4_free(g), st;
  snprintf(g->method, sizeof g->method,
           "grid engine (M = 4, %s, inclusion-exclusion over the 3-unit sub-models, docs/grid.md s.15): the 6 "
           "pairs' M = 2 grids - 2 x each unit's own drift (the M = 2 grid at lambda = 0) + the three-unit terms of "
           "dQ from the 4 triples' M = 3 grids%s; the sub-engines' levels "
           "(coarse/fine): aliasing e^-%g/e^-%g, tails e^-%g/e^-%g, inner %d/%d nodes on +-%g/+-%g (the M = 4 "
           "levels; the triples' aliasing e^-%g/e^-%g, tails e^-%g/e^-%g); drift = the fine level, estimate max "
           "|fine - coarse|",
           m->B == 1 ? "B = 1" : "lambda = 0", m->lambda != 0 ? " + the four-unit terms of dQ_il" : "", c2.Eh, f2.Eh,
           c2.E, f2.E, c2.ne, f2.ne, c2.Le, f2.Le, c3.Eh, f3.Eh, c3.E, f3.E);
  *out = g;
  return CL_OK;
}

/* Adds the drift (dRs, dQs) of the sub-model on the units s[0 .. n-1] to
 * (dR, dQ) with the weights of the header's bookkeeping: a triple's
 * three-unit terms (n = 3) 1 in dQ and none in dR (not computed), a pair's
 * (offd) 1 in both, a single's (the lambda = 0 pair, !offd: unit a's dQ_aa
 * alone) -2. */
static void g4_add(const cl_grid4 *g, const int *s, int n, int offd, const double *dRs, const double *dQs,
                   double *dR, double *dQ) {
  const double w = offd ? 1 : -2, wR = n == 3 ? 0 : w;
  for (int j = 0; j < g->K && wR != 0; j++)
    for (int a = 0; a < n; a++) dR[j * 4 + s[a]] += wR * dRs[j * n + a];
  for (int a = 0; a < n; a++)
    for (int c = 0; c < n; c++)
      if (a == c || offd) dQ[s[a] * 4 + s[c]] += w * dQs[a * n + c];
}

/* The parts of a level as tasks: 0-3 the triples, 4-9 the pairs, 10-11 the
 * singles, 12 the four-unit terms (summed in this order).  The threads take
 * them in the order 12, 0, 1, ..., 11: the four-unit terms, since the
 * triples' three-unit levels of session 24 the largest single task (about a
 * third of an evaluation where the units turn toward their features), first. */
enum { G4_NTASK = G4_NTRI + G4_NPAIR + G4_NSING + 1 };
static int g4_task_mask(int t) {
  return t < G4_NTRI ? CL_GRID4_TRIPLES
         : t < G4_NTRI + G4_NPAIR ? CL_GRID4_PAIRS
         : t < G4_NTASK - 1 ? CL_GRID4_SINGLES
                            : CL_GRID4_FOUR;
}

/* Task t's drift at level lev, alone (its own dR, dQ: K x 4, 4 x 4), with
 * its weight. */
static cl_status g4_task(cl_grid4 *g, int t, int lev, const double *R, const double *Q, double *dR, double *dQ,
                         char *err) {
  memset(dR, 0, sizeof(double) * (size_t)g->K * 4), memset(dQ, 0, sizeof(double) * 16);
  double Rs[CL_KMAX * 3], Qs[9], dRs[CL_KMAX * 3], dQs[9];
  cl_grid *e;
  const int *s;
  int n = 3, offd = 1, tri[3];
  if (t < G4_NTRI) g4_triple(t, tri), s = tri, e = g->tri[t];
  else if (t < G4_NTRI + G4_NPAIR) s = g4_pairs[t - G4_NTRI], e = g->pair[t - G4_NTRI], n = 2;
  else if (t < G4_NTASK - 1) s = g4_sings[t - G4_NTRI - G4_NPAIR], e = g->sing[t - G4_NTRI - G4_NPAIR], n = 2, offd = 0;
  else return cl_grid4q_eval_level(g->q, lev, R, Q, dQ, err);
  g4_block(g->K, s, n, R, Q, Rs, Qs);
  cl_status st = cl_grid_eval_level(e, lev, Rs, Qs, dRs, dQs, err);
  if (!st) g4_add(g, s, n, offd, dRs, dQs, dR, dQ);
  return st;
}

/* The tasks run in threads (cl_drift_threads_tasks: every processor unless
 * OMP_NUM_THREADS says otherwise, one inside another parallel region): each has its own sub-engine and
 * its own output, summed after in the tasks' order, so that the level is
 * bit-identical for any number of threads (docs/grid.md s.15); the error
 * is the first failed task's. */
cl_status cl_grid4_eval_parts(cl_grid4 *g, int lev, int mask, const double *R, const double *Q, double *dR,
                              double *dQ, char *err) {
  const int K = g->K, nd = K * 4 + 16;
  double out[G4_NTASK][CL_KMAX * 4 + 16];
  char errs[G4_NTASK][CL_ERRLEN];
  cl_status sts[G4_NTASK] = {CL_OK};
  int on[G4_NTASK];
  for (int t = 0; t < G4_NTASK; t++)
    on[t] = (mask & g4_task_mask(t)) && (t < G4_NTRI ? g->tri[t] != NULL : t < G4_NTASK - 1 || g->q);
  const int nth = cl_drift_threads_tasks();
#pragma omp parallel for schedule(dynamic, 1) num_threads(nth)
  for (int x = 0; x < G4_NTASK; x++) {
    const int t = (x + G4_NTASK - 1) % G4_NTASK;
    if (on[t]) sts[t] = g4_task(g, t, lev, R, Q, out[t], out[t] + K * 4, errs[t]);
  }
  memset(dR, 0, sizeof(double) * (size_t)K * 4), memset(dQ, 0, sizeof(double) * 16);
  for (int t = 0; t < G4_NTASK; t++) {
    if (!on[t]) continue;
    if (sts[t]) return snprintf(err, CL_ERRLEN, "%s", errs[t]), sts[t];
    for (int k = 0; k < nd; k++) *(k < K * 4 ? dR + k : dQ + k - K * 4) += out[t][k];
  }
  return CL_OK;
}

static cl_status g4_level(void *ctx, int lev, const double *R, const double *Q, double *dR, double *dQ, char *err) {
  return cl_grid4_eval_parts(ctx, lev, CL_GRID4_ALL, R, Q, dR, dQ, err);
}

static int g4_unresolved(const void *ctx) {
  const cl_grid4 *g = ctx;
  int u = 0;
  for (int k = 0; k < G4_NTRI; k++) u |= g->tri[k] && cl_grid_unresolved(g->tri[k]);
  for (int k = 0; k < G4_NPAIR; k++) u |= cl_grid_unresolved(g->pair[k]);
  for (int k = 0; k < G4_NSING; k++) u |= cl_grid_unresolved(g->sing[k]);
  if (g->q) u |= cl_grid4q_unresolved(g->q); /* (missing until session 24: no rerun on its refusal) */
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
