/* The M = 4 engine's levels (docs/grid.md s.15, "The M = 4 levels").
 *
 * `lev4 MODEL TABLE.csv [EVERY] [GRID_NODES]`: at every EVERY-th state
 * (default 10) of a `cldyn ode` table of the model MODEL (below), the
 * sub-engines' part of the M = 4 drift (triples, pairs and singles:
 * cl_grid4_eval_parts without the four-unit terms, which keep their own
 * levels) at a list of single levels, each against a reference level
 * (cl_grid_default_levels' fine level at --grid-nodes REF, default 36, i.e.
 * every exponent 1.5 to 2.25 times, caps 1.5 times): per level the largest
 * error over the drift's components and the CPU ms of one evaluation; then
 * for pairs of levels (coarse, fine) the estimate max |fine - coarse|, the
 * fine level's error and their ratio.  The levels varied one at a time
 * from the default coarse {Eh 18, E 22, Le 5.5, ne 16} and fine {28, 28,
 * 6.5, 24} tell which error source dominates (aliasing Eh, tails E, inner
 * rule Le/ne).
 *
 * MODEL: B (case B of issue 12: laplace:3, uniform:3, rademacher:3,
 * rademacher:2; tanh, lambda 1), U (uniform:3, sparse:3:0.5, gauss:2; erf,
 * rho 0.3, lambda 1), S (student:2:6, laplace:2, rademacher:3, uniform:2.5,
 * gauss:1.5; sigmoid, rho 0.5, s 0.7, lambda 0.5), R (case B's laws, erf,
 * rho 1: no per-view noise, the step from sigma's poles), R9 (the same at
 * rho 0.9), S4 (S without its student law: laplace:2, rademacher:3,
 * uniform:2.5, gauss:1.5; sigmoid, rho 0.5, s 0.7, lambda 0.5).
 * `lev4 t3 MODEL TABLE.csv [EVERY]` (session 24, helper tri3): the triples'
 * three-unit terms alone (cl_grid4_eval_parts with CL_GRID4_TRIPLES) at
 * pairs of levels (coarse, fine) for them (cl_grid4_new_levels3), each
 * against the reference (both levels the default fine level at
 * --grid-nodes 36): the fine level's error, the estimate max |fine -
 * coarse|, their ratio and the CPU ms of both levels (docs/grid.md s.15,
 * "Triples by their three-unit terms").
 * `lev4 q4 MODEL TABLE.csv [EVERY]` (session 24, helper q4lev): the same
 * for the four-unit terms (cl_grid4q_alloc_levels) at pairs of levels
 * (coarse, fine) varied one exponent at a time from cl_grid4q_levels', the
 * reference both levels the fine level of cl_grid4q_levels at --grid-nodes
 * 36 (aliasing e^-24.75, tails e^-19.5, 36 inner nodes, cap 96)
 * (docs/grid.md s.15, "The four-unit terms' levels").
 * `lev4 tails MODEL TABLE.csv [EVERY] [ptq]` (session 25, helper tails4):
 * the tail exponents alone varied (the aliasing exponents and inner rules
 * of the levels with per-view noise), the same study for the pairs and
 * singles (p: dR and dQ against the engine at the default fine level of
 * --grid-nodes 36), the triples' three-unit terms (t) and the four-unit
 * terms (q), each against the reference of its mode above; the first pair
 * of each the levels of session 24 (docs/grid.md s.15, "Session 25:
 * law-dependent tails").
 * Build and run: bench/lev4.sh (TMPDIR=... . bench/ccbench.sh; cc_bench
 * lev4 for the study modes) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/drift_grid.h"
#include "../src/drift_grid4.h"
#include "benchutil.h"
#include "cldyn/law.h"

#define NLEV 14
static const char *lname[NLEV] = {"coarse", "c+Eh28", "c+E28", "c+inner", "fine", "f-Eh18", "f-E22", "f-inner",
                                  "new-c", "new-f", "f-Eh14", "c-Eh14", "c-Eh12", "f-Eh16"};
/* Eh, E, Le, ne (the caps: cl_grid_caps); new-c, new-f: cl_grid4_levels' */
static const double lpar[NLEV][4] = {
    {18, 22, 5.5, 16}, {28, 22, 5.5, 16}, {18, 28, 5.5, 16}, {18, 22, 6.5, 24}, {28, 28, 6.5, 24},
    {18, 28, 6.5, 24}, {28, 22, 6.5, 24}, {28, 28, 5.5, 16}, {0},               {0},
    {14, 28, 6.5, 24}, {14, 22, 5.5, 16}, {12, 22, 5.5, 16}, {16, 28, 6.5, 24}};
#define NPAIR 5
static const int pairs[NPAIR][2] = {{0, 4}, {8, 9}, {11, 5}, {12, 5}, {12, 13}};

static int model(const char *name, cl_model *m, char *err) {
  cl_model_default(m);
  m->M = 4, m->lambda = 1;
  const char *B[] = {"laplace:3", "uniform:3", "rademacher:3", "rademacher:2"};
  const char *U[] = {"uniform:3", "sparse:3:0.5", "gauss:2"};
  const char *S[] = {"student:2:6", "laplace:2", "rademacher:3", "uniform:2.5", "gauss:1.5"};
  const char **laws;
  if (!strcmp(name, "B"))
    laws = B, m->K = 4, m->act = CL_ACT_TANH;
  else if (!strcmp(name, "U"))
    laws = U, m->K = 3, m->act = CL_ACT_ERF, m->rho = 0.3;
  else if (!strcmp(name, "R")) /* case B's laws without per-view noise (rho = 1: the step from the poles), erf */
    laws = B, m->K = 4, m->act = CL_ACT_ERF, m->rho = 1;
  else if (!strcmp(name, "R9")) /* the same with a little per-view noise */
    laws = B, m->K = 4, m->act = CL_ACT_ERF, m->rho = 0.9;
  else if (!strcmp(name, "S4")) /* S without its student law (helper q4lev: the grid serves it in seconds) */
    laws = S + 1, m->K = 4, m->act = CL_ACT_SIGMOID, m->rho = 0.5, m->s = 0.7, m->lambda = 0.5;
  else if (!strcmp(name, "S"))
    laws = S, m->K = 5, m->act = CL_ACT_SIGMOID, m->rho = 0.5, m->s = 0.7, m->lambda = 0.5;
  else
    return snprintf(err, CL_ERRLEN, "MODEL: B, U, R, R9, S or S4"), 1;
  for (int j = 0; j < m->K; j++)
    if (cl_law_parse(laws[j], &m->c[j], err)) return 1;
  return 0;
}

static void level(const cl_model *m, int k, cl_grid_level *l) {
  cl_grid_level c, f;
  cl_grid4_levels(m, 0, &c, &f);
  if (k == 8)
    *l = c;
  else if (k == 9)
    *l = f;
  else
    *l = (cl_grid_level){0, (int)lpar[k][3], lpar[k][0], lpar[k][1], lpar[k][2], 0};
}

static cl_status parts(cl_grid4 *g, const double *R, const double *Q, double *v, double *ms, char *err) {
  double dR[CL_KMAX * 4] = {0}, dQ[16];
  const double t0 = bench_cpu_now();
  cl_status st = cl_grid4_eval_parts(g, 1, CL_GRID4_TRIPLES | CL_GRID4_PAIRS | CL_GRID4_SINGLES, R, Q, dR, dQ, err);
  *ms = 1e3 * (bench_cpu_now() - t0);
  memcpy(v, dR, sizeof dR), memcpy(v + CL_KMAX * 4, dQ, sizeof dQ);
  return st;
}

/* The state of a table row (t, R, Q); 0 if the row is short. */
static int row_state(char *line, int K, double *t, double *R, double *Q) {
  double v[128];
  int nv = 0;
  for (char *p = line, *e; nv < 128; p = e + 1) {
    v[nv++] = strtod(p, &e);
    if (*e != ',') break;
  }
  if (nv < 1 + 4 * K + 10) return 0;
  *t = v[0];
  for (int k = 0; k < 4 * K; k++) R[k] = v[1 + k];
  for (int i = 0, k = 1 + 4 * K; i < 4; i++)
    for (int l = i; l < 4; l++, k++) Q[i * 4 + l] = Q[l * 4 + i] = v[k];
  return 1;
}

/* the triples' candidate levels (coarse, fine): Eh, E, Le, ne */
#define NT3 6
static const double t3par[NT3][2][4] = {{{14, 22, 5.5, 16}, {18, 28, 6.5, 24}}, {{10, 16, 5.5, 16}, {12, 20, 6.5, 24}},
                                        {{10, 22, 5.5, 16}, {12, 28, 6.5, 24}}, {{14, 16, 5.5, 16}, {18, 20, 6.5, 24}},
                                        {{11, 18, 5.5, 16}, {14, 22, 6.5, 24}}, {{12, 20, 5.5, 16}, {14, 24, 6.5, 24}}};

static cl_status t3_eval(void *g, int lev, const double *R, const double *Q, double *dQ, double *ms, char *err) {
  double dR[CL_KMAX * 4];
  const double t0 = bench_cpu_now();
  cl_status st = cl_grid4_eval_parts(g, lev, CL_GRID4_TRIPLES, R, Q, dR, dQ, err);
  *ms += 1e3 * (bench_cpu_now() - t0);
  return st;
}

/* The study of `t3` and `q4`: at every EVERY-th state of the table, the np
 * engines g (pairs of levels par) and the reference's fine level by ev:
 * per pair the fine level's error, the estimate max |fine - coarse|, their
 * ratio and the CPU ms of both levels; the worst over the states. */
typedef cl_status (*part_eval)(void *g, int lev, const double *R, const double *Q, double *v, double *ms, char *err);
enum { NPMAX = 16, NVMAX = CL_KMAX * 4 + 16 };
/* nv: the compared components of ev's output (16: dQ; K x 4 + 16: dR, dQ) */
static int pair_study(const char *what, const char *path, int K, int every, int np, void *const *g, void *ref,
                      part_eval ev, const double (*par)[2][4], int nv) {
  char err[CL_ERRLEN];
  for (int k = 0; k < np; k++)
    printf("  pair %d: coarse {%g, %g, %g, %g} fine {%g, %g, %g, %g}\n", k, par[k][0][0], par[k][0][1], par[k][0][2],
           par[k][0][3], par[k][1][0], par[k][1][1], par[k][1][2], par[k][1][3]);
  FILE *f = fopen(path, "r");
  if (!f) return fprintf(stderr, "cannot open %s\n", path), 1;
  char line[16384];
  if (!fgets(line, sizeof line, f)) return fclose(f), fprintf(stderr, "empty table\n"), 1;
  double worst[NPMAX] = {0}, msum[NPMAX] = {0}, emax[NPMAX] = {0}, fmaxe[NPMAX] = {0};
  int row = 0, nst = 0;
  while (fgets(line, sizeof line, f)) {
    double t, R[CL_KMAX * 4], Q[16], qr[NVMAX], q[NPMAX][2][NVMAX], ms[NPMAX] = {0}, mr = 0;
    if (row++ % every || !row_state(line, K, &t, R, Q)) continue;
    if (ev(ref, 1, R, Q, qr, &mr, err)) {
      printf("%5g reference refused: %s\n", t, err);
      continue;
    }
    double big = 0;
    for (int c = 0; c < nv; c++) big = fmax(big, fabs(qr[c]));
    printf("%5g max |%s| %.3g (reference %.0f ms)\n", t, what, big, mr);
    nst++;
    for (int k = 0; k < np; k++) {
      if (ev(g[k], 0, R, Q, q[k][0], &ms[k], err) || ev(g[k], 1, R, Q, q[k][1], &ms[k], err)) {
        printf("      pair %d refused: %s\n", k, err);
        continue;
      }
      double est = 0, e = 0;
      for (int c = 0; c < nv; c++) est = fmax(est, fabs(q[k][1][c] - q[k][0][c])), e = fmax(e, fabs(q[k][1][c] - qr[c]));
      printf("      pair %d: fine error %.2e, estimate %.2e, ratio %.3g, %.1f ms\n", k, e, est, e / est, ms[k]);
      worst[k] = fmax(worst[k], e / est), msum[k] += ms[k], emax[k] = fmax(emax[k], est), fmaxe[k] = fmax(fmaxe[k], e);
    }
    fflush(stdout);
  }
  fclose(f);
  printf("states %d\n", nst);
  for (int k = 0; k < np; k++)
    printf("pair %d: worst ratio fine error / estimate %.3g, largest estimate %.2e, largest fine error %.2e, mean ms "
           "%.1f\n",
           k, worst[k], emax[k], fmaxe[k], nst ? msum[k] / nst : 0);
  return 0;
}

static cl_status ps_eval(void *g, int lev, const double *R, const double *Q, double *v, double *ms, char *err) {
  double dR[CL_KMAX * 4] = {0}, dQ[16];
  const double t0 = bench_cpu_now();
  cl_status st = cl_grid4_eval_parts(g, lev, CL_GRID4_PAIRS | CL_GRID4_SINGLES, R, Q, dR, dQ, err);
  *ms += 1e3 * (bench_cpu_now() - t0);
  memcpy(v, dQ, sizeof dQ), memcpy(v + 16, dR, sizeof dR);
  return st;
}

/* The `t3` study (tri; else the pairs and singles' of `tails`: dQ, then
 * dR) of model m (name) on the table path at the np pairs of levels par,
 * the other sub-engines at their levels; the reference every sub-engine
 * at the default fine level of --grid-nodes 36. */
static int g4_run(int tri, const cl_model *m, const char *name, const char *path, int every, int np,
                  const double (*par)[2][4]) {
  char err[CL_ERRLEN];
  cl_grid4 *g[NPMAX], *ref;
  cl_grid_level l4[2], l3[2];
  cl_grid4_levels(m, 0, &l4[0], &l4[1]), cl_grid4_t3_levels(m, 0, &l3[0], &l3[1]);
  for (int k = 0; k < np; k++) {
    cl_grid_level l[2];
    for (int v = 0; v < 2; v++) l[v] = (cl_grid_level){0, (int)par[k][v][3], par[k][v][0], par[k][v][1], par[k][v][2], 0};
    if (cl_grid4_new_levels3(m, NULL, tri ? l4 : l, tri ? l : l3, &g[k], err)) return fprintf(stderr, "%s\n", err), 1;
  }
  cl_quad_opts o;
  memset(&o, 0, sizeof o);
  o.grid_nodes = 36;
  cl_grid_level rl[2];
  cl_grid_default_levels(36, &rl[0], &rl[1]), rl[0] = rl[1];
  if (cl_grid4_new_levels3(m, &o, rl, rl, &ref, err)) return fprintf(stderr, "%s\n", err), 1;
  printf("model %s (%s); reference: the default fine level at --grid-nodes 36 (Eh %g, E %g, Le %g, ne %d)\n", name,
         tri ? "triples' three-unit terms" : "the pairs and singles: dQ, then dR", rl[1].Eh, rl[1].E, rl[1].Le,
         rl[1].ne);
  void *gv[NPMAX] = {0};
  for (int k = 0; k < np; k++) gv[k] = g[k];
  const int rc = tri ? pair_study("dQ3", path, m->K, every, np, gv, ref, t3_eval, par, 16)
                     : pair_study("dQ, dR of the pairs and singles", path, m->K, every, np, gv, ref, ps_eval, par,
                                  16 + 4 * m->K);
  for (int k = 0; k < np; k++) cl_grid4_free(g[k]);
  cl_grid4_free(ref);
  return rc;
}

/* the four-unit terms' candidate levels (coarse, fine): Eh, E, Le, ne (the
 * caps and ladders those of cl_grid4q_levels) */
#define NQ4 12
static const double q4par[NQ4][2][4] = {
    {{7, 10, 5.5, 16}, {11, 13, 6.5, 24}}, /* cl_grid4q_levels' */
    {{6, 10, 5.5, 16}, {9, 13, 6.5, 24}},  /* aliasing alone */
    {{5, 10, 5.5, 16}, {8, 13, 6.5, 24}},  {{7, 8, 5.5, 16}, {11, 11, 6.5, 24}}, /* tails alone */
    {{7, 10, 4.5, 12}, {11, 13, 5.5, 16}}, /* inner rules alone */
    {{6, 9, 5.5, 16}, {9, 11, 6.5, 24}},   {{5, 8, 5.5, 16}, {8, 10, 6.5, 24}},
    {{5, 8, 5.5, 16}, {11, 13, 6.5, 24}}, /* the coarse level alone */
    {{7, 10, 5.5, 16}, {9, 11, 6.5, 24}}, /* the fine level alone */
    {{6, 9, 5.5, 16}, {9, 12, 6.5, 24}},   {{6, 10, 5.5, 16}, {9, 12, 6.5, 24}},
    {{5, 9, 5.5, 16}, {9, 13, 6.5, 24}},
};

static cl_status q4_eval(void *q, int lev, const double *R, const double *Q, double *dQ, double *ms, char *err) {
  const double t0 = bench_cpu_now();
  cl_status st = cl_grid4q_eval_level(q, lev, R, Q, dQ, err);
  *ms += 1e3 * (bench_cpu_now() - t0);
  return st;
}

/* The `q4` study of model m (name) on the table path at the np pairs of
 * levels par (the `q4` and `tails` modes). */
static int q4_run(const cl_model *m, const char *name, const char *path, int every, int np, const double (*par)[2][4]) {
  char err[CL_ERRLEN];
  cl_grid4q *g[NPMAX], *ref;
  cl_grid_level d[2];
  cl_grid4q_levels(m, NULL, d);
  for (int k = 0; k < np; k++) {
    cl_grid_level l[2];
    for (int v = 0; v < 2; v++)
      l[v] = (cl_grid_level){d[v].n, (int)par[k][v][3], par[k][v][0], par[k][v][1], par[k][v][2], d[v].nemax};
    if (cl_grid4q_alloc_levels(m, l, &g[k], err)) return fprintf(stderr, "%s\n", err), 1;
  }
  cl_quad_opts o;
  memset(&o, 0, sizeof o);
  o.grid_nodes = 36;
  cl_grid_level rl[2];
  cl_grid4q_levels(m, &o, rl), rl[0] = rl[1];
  if (cl_grid4q_alloc_levels(m, rl, &ref, err)) return fprintf(stderr, "%s\n", err), 1;
  printf("model %s (the four-unit terms); reference: their fine level at --grid-nodes 36 (Eh %g, E %g, Le %g, ne %d, "
         "cap %d)\n",
         name, rl[1].Eh, rl[1].E, rl[1].Le, rl[1].ne, rl[1].n);
  void *gv[NPMAX] = {0};
  for (int k = 0; k < np; k++) gv[k] = g[k];
  const int rc = pair_study("dQ4", path, m->K, every, np, gv, ref, q4_eval, par, 16);
  for (int k = 0; k < np; k++) cl_grid4q_free(g[k]);
  cl_grid4q_free(ref);
  return rc;
}

/* `lev4 t3|q4 MODEL TABLE.csv [EVERY]` */
static int mode_study(int argc, char **argv) {
  if (argc < 4) return fprintf(stderr, "usage: lev4 %s MODEL TABLE.csv [EVERY]\n", argv[1]), 2;
  char err[CL_ERRLEN];
  cl_model m;
  if (model(argv[2], &m, err)) return fprintf(stderr, "%s\n", err), 2;
  const int every = argc > 4 ? atoi(argv[4]) : 10;
  return strcmp(argv[1], "t3") ? q4_run(&m, argv[2], argv[3], every, NQ4, q4par)
                               : g4_run(1, &m, argv[2], argv[3], every, NT3, t3par);
}

/* `tails` (session 25, helper tails4): the tail exponents E alone varied,
 * the aliasing exponents and inner rules those of the levels with per-view
 * noise (cl_grid4_levels, cl_grid4_t3_levels, cl_grid4q_levels at 24
 * nodes), for the pairs and singles (p: dR and dQ), the triples'
 * three-unit terms (t) and the four-unit terms (q); the first pair of each
 * the session 24 levels (docs/grid.md s.15, "Session 25: law-dependent
 * tails"). */
static const double tails_eh[3][2] = {{14, 18}, {11, 14}, {6, 9}}; /* aliasing, coarse/fine: p, t, q */
static const int tails_n[3] = {7, 7, 5};
/* tails, coarse/fine; p and t: the last two the fine level alone, the
 * coarse level alone; q: the second the coarse level alone */
static const double tails_e[3][7][2] = {{{22, 28}, {18, 22}, {16, 20}, {14, 18}, {12, 16}, {22, 22}, {16, 28}},
                                        {{18, 22}, {16, 20}, {14, 18}, {12, 16}, {10, 14}, {18, 18}, {14, 22}},
                                        {{9, 12}, {8, 12}, {8, 11}, {7, 10}, {7, 12}}};

static int tails_study(int argc, char **argv) {
  if (argc < 4) return fprintf(stderr, "usage: lev4 tails MODEL TABLE.csv [EVERY] [ptq]\n"), 2;
  const int every = argc > 4 ? atoi(argv[4]) : 10;
  const char *which = argc > 5 ? argv[5] : "ptq";
  char err[CL_ERRLEN];
  cl_model m;
  if (model(argv[2], &m, err)) return fprintf(stderr, "%s\n", err), 2;
  int rc = 0;
  for (int p = 0; p < 3 && !rc; p++) {
    if (!strchr(which, "ptq"[p])) continue;
    double par[NPMAX][2][4];
    for (int k = 0; k < tails_n[p]; k++)
      for (int v = 0; v < 2; v++)
        par[k][v][0] = tails_eh[p][v], par[k][v][1] = tails_e[p][k][v], par[k][v][2] = v ? 6.5 : 5.5,
        par[k][v][3] = v ? 24 : 16;
    rc = p == 2 ? q4_run(&m, argv[2], argv[3], every, tails_n[p], (const double(*)[2][4])par)
                : g4_run(p, &m, argv[2], argv[3], every, tails_n[p], (const double(*)[2][4])par);
  }
  return rc;
}

int main(int argc, char **argv) {
  if (argc > 1 && (!strcmp(argv[1], "t3") || !strcmp(argv[1], "q4"))) return mode_study(argc, argv);
  if (argc > 1 && !strcmp(argv[1], "tails")) return tails_study(argc, argv);
  if (argc < 3) return fprintf(stderr, "usage: lev4 MODEL TABLE.csv [EVERY] [REF_NODES]\n"), 2;
  const int every = argc > 3 ? atoi(argv[3]) : 10, refn = argc > 4 ? atoi(argv[4]) : 36;
  char err[CL_ERRLEN];
  cl_model m;
  if (model(argv[1], &m, err)) return fprintf(stderr, "%s\n", err), 2;
  const int K = m.K, NV = CL_KMAX * 4 + 16;
  cl_grid4 *g[NLEV], *ref;
  for (int k = 0; k < NLEV; k++) {
    cl_grid_level l[2];
    level(&m, k, &l[0]), l[1] = l[0];
    if (cl_grid4_new_levels(&m, NULL, l, &g[k], err)) return fprintf(stderr, "%s\n", err), 1;
  }
  cl_quad_opts o;
  memset(&o, 0, sizeof o);
  o.grid_nodes = refn;
  cl_grid_level rl[2];
  cl_grid_default_levels(refn, &rl[0], &rl[1]);
  if (cl_grid4_new_levels(&m, &o, rl, &ref, err)) return fprintf(stderr, "%s\n", err), 1;
  {
    const cl_grid_level f = rl[1];
    printf("model %s; reference: the default fine level at --grid-nodes %d (Eh %g, E %g, Le %g, ne %d)\nlevels:", argv[1],
           refn, f.Eh, f.E, f.Le, f.ne);
    for (int k = 0; k < NLEV; k++) {
      cl_grid_level l;
      level(&m, k, &l);
      printf(" %s {%g, %g, %g, %d}", lname[k], l.Eh, l.E, l.Le, l.ne);
    }
    printf("\n");
  }
  FILE *f = fopen(argv[2], "r");
  if (!f) return fprintf(stderr, "cannot open %s\n", argv[2]), 1;
  char line[16384];
  if (!fgets(line, sizeof line, f)) return fprintf(stderr, "empty table\n"), 1;
  printf("%5s %-8s", "t", "");
  for (int k = 0; k < NLEV; k++) printf(" %9s", lname[k]);
  printf("\n");
  double worst[NPAIR] = {0}, msum[NLEV] = {0};
  int row = 0, nst = 0;
  while (fgets(line, sizeof line, f)) {
    if (row++ % every) continue;
    double v[1], R[CL_KMAX * 4], Q[16];
    if (!row_state(line, K, v, R, Q)) continue;
    double vr[CL_KMAX * 4 + 16], vk[NLEV][CL_KMAX * 4 + 16], ms[NLEV], mr;
    if (parts(ref, R, Q, vr, &mr, err)) {
      printf("%5g reference refused: %s\n", v[0], err);
      continue;
    }
    int bad = 0;
    for (int k = 0; k < NLEV && !bad; k++)
      if (parts(g[k], R, Q, vk[k], &ms[k], err)) printf("%5g %s refused: %s\n", v[0], lname[k], err), bad = 1;
    if (bad) continue;
    nst++;
    printf("%5g %-8s", v[0], "error");
    for (int k = 0; k < NLEV; k++) {
      double e = 0;
      for (int c = 0; c < NV; c++) e = fmax(e, fabs(vk[k][c] - vr[c]));
      printf(" %9.2e", e);
      msum[k] += ms[k];
    }
    printf("\n%5s %-8s", "", "ms");
    for (int k = 0; k < NLEV; k++) printf(" %9.1f", ms[k]);
    printf("   (reference %.0f ms)\n", mr);
    for (int p = 0; p < NPAIR; p++) {
      double est = 0, e = 0;
      for (int c = 0; c < NV; c++)
        est = fmax(est, fabs(vk[pairs[p][1]][c] - vk[pairs[p][0]][c])), e = fmax(e, fabs(vk[pairs[p][1]][c] - vr[c]));
      printf("%5s pair %s/%s: estimate %.2e, fine error %.2e, ratio %.3g\n", "", lname[pairs[p][0]],
             lname[pairs[p][1]], est, e, e / est);
      worst[p] = fmax(worst[p], e / est);
    }
    fflush(stdout);
  }
  printf("states %d; mean ms per level:", nst);
  for (int k = 0; k < NLEV; k++) printf(" %s %.1f", lname[k], nst ? msum[k] / nst : 0);
  printf("\nworst ratio fine error / estimate:");
  for (int p = 0; p < NPAIR; p++) printf(" %s/%s %.3g", lname[pairs[p][0]], lname[pairs[p][1]], worst[p]);
  printf("\n");
  for (int k = 0; k < NLEV; k++) cl_grid4_free(g[k]);
  cl_grid4_free(ref);
  return 0;
}
