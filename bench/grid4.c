/* The M = 4 grid engine by inclusion-exclusion (docs/grid.md s.15).
 *
 * `grid4 TABLE.csv [REPS]`: per evaluation, case B of issue 12 (M = 4,
 * K = 4: laplace:3, uniform:3, rademacher:3, rademacher:2; lambda = 1, tanh,
 * B = 1) at the states of a `cldyn ode` table (a CSV with the columns
 * R_j_i and Q_i_l): the median CPU milliseconds over REPS runs (default 5)
 * of a whole evaluation (both levels, cl_grid_eval) and of each part alone
 * (both levels, cl_grid4_eval_parts): the four triples' M = 3 grids, the
 * six pairs' M = 2 grids, the two lambda = 0 pairs that give the units'
 * own drifts, and the four-unit terms (cl_grid4q); and the printed
 * estimate.  A state a sub-engine refuses is printed with the reason.
 * Build and run: bench/grid4.sh */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/drift_grid.h"
#include "../src/drift_grid4.h"
#include "benchutil.h"
#include "cldyn/law.h"

/* the median CPU ms of REPS runs of one part (mask; 0: cl_grid_eval) */
static cl_status timed(cl_grid *g, cl_grid4 *g4, int mask, int reps, const double *R, const double *Q, double *eb,
                       double *med, char *err) {
  double ms[101], dR[16], dQ[16];
  cl_status st = CL_OK;
  for (int r = 0; r < reps && !st; r++) {
    const double t0 = bench_cpu_now();
    if (mask) {
      for (int lev = 0; lev < 2 && !st; lev++) st = cl_grid4_eval_parts(g4, lev, mask, R, Q, dR, dQ, err);
    } else
      st = cl_grid_eval(g, R, Q, dR, dQ, eb, err);
    ms[r] = 1e3 * (bench_cpu_now() - t0);
  }
  qsort(ms, (size_t)reps, sizeof *ms, bench_cmp_double);
  *med = ms[reps / 2];
  return st;
}

int main(int argc, char **argv) {
  if (argc < 2) return fprintf(stderr, "usage: grid4 TABLE.csv [REPS]\n"), 2;
  const int reps = argc > 2 ? atoi(argv[2]) : 5;
  if (reps < 1 || reps > 101) return fprintf(stderr, "REPS: 1 to 101\n"), 2;
  cl_model m;
  cl_model_default(&m);
  char err[CL_ERRLEN];
  const char *laws[4] = {"laplace:3", "uniform:3", "rademacher:3", "rademacher:2"};
  m.M = 4, m.K = 4, m.lambda = 1;
  for (int j = 0; j < 4; j++)
    if (cl_law_parse(laws[j], &m.c[j], err)) return fprintf(stderr, "%s\n", err), 1;
  cl_grid *g;
  cl_grid4 *g4;
  if (cl_grid4_alloc(&m, NULL, &g, err) || cl_grid4_new(&m, NULL, &g4, err)) return fprintf(stderr, "%s\n", err), 1;
  FILE *f = fopen(argv[1], "r");
  if (!f) return fprintf(stderr, "cannot open %s\n", argv[1]), 1;
  char line[8192];
  if (!fgets(line, sizeof line, f)) return fprintf(stderr, "empty table\n"), 1;
  /* the header: t, R_1_1 .. R_4_4 (row j = feature, column i = unit), then Q's upper triangle by rows */
  printf("%6s %9s %9s %9s %9s %9s %10s\n", "t", "ms (med)", "triples", "pairs", "singles", "four", "estimate");
  while (fgets(line, sizeof line, f)) {
    double v[40];
    int nv = 0;
    for (char *p = line, *e; nv < 40; p = e + 1) {
      v[nv++] = strtod(p, &e);
      if (*e != ',') break;
    }
    if (nv < 27) continue;
    double R[16], Q[16], eb[32], ms[5];
    for (int k = 0; k < 16; k++) R[k] = v[1 + k];
    for (int i = 0, k = 17; i < 4; i++)
      for (int l = i; l < 4; l++, k++) Q[i * 4 + l] = Q[l * 4 + i] = v[k];
    const int masks[5] = {0, CL_GRID4_TRIPLES, CL_GRID4_PAIRS, CL_GRID4_SINGLES, CL_GRID4_FOUR};
    cl_status st = CL_OK;
    for (int p = 0; p < 5 && !st; p++) st = timed(g, g4, masks[p], reps, R, Q, eb, &ms[p], err);
    if (st) {
      printf("%6g refused: %s\n", v[0], err);
      continue;
    }
    printf("%6g %9.1f %9.1f %9.1f %9.1f %9.1f %10.3g\n", v[0], ms[0], ms[1], ms[2], ms[3], ms[4], eb[0]);
  }
  fclose(f);
  cl_grid4_free(g4);
  cl_grid_free(g);
  return 0;
}
