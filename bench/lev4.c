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
 * rho 0.9).
 * Build and run: bench/lev4.sh */
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
  else if (!strcmp(name, "S"))
    laws = S, m->K = 5, m->act = CL_ACT_SIGMOID, m->rho = 0.5, m->s = 0.7, m->lambda = 0.5;
  else
    return snprintf(err, CL_ERRLEN, "MODEL: B, U, R, R9 or S"), 1;
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

int main(int argc, char **argv) {
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
    double v[128];
    int nv = 0;
    for (char *p = line, *e; nv < 128; p = e + 1) {
      v[nv++] = strtod(p, &e);
      if (*e != ',') break;
    }
    if (nv < 1 + 4 * K + 10) continue;
    double R[CL_KMAX * 4], Q[16];
    for (int k = 0; k < 4 * K; k++) R[k] = v[1 + k];
    for (int i = 0, k = 1 + 4 * K; i < 4; i++)
      for (int l = i; l < 4; l++, k++) Q[i * 4 + l] = Q[l * 4 + i] = v[k];
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
