/* The M = 3 grid engine (docs/grid.md s.14) per evaluation: the brief's
 * example of issue 12 (M = 3, lambda = 1, tanh, rademacher:3, :2.5, :2) at
 * the states of a `cldyn ode` table (argv[1], a CSV with the columns
 * R_j_i and Q_i_l), both levels: the grid sizes of each level, the median
 * CPU milliseconds of an evaluation (both levels) over argv[2] runs
 * (default 5) and the printed estimate.  Build and run: bench/grid3.sh */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/drift_grid.h"
#include "benchutil.h"
#include "cldyn/law.h"

int main(int argc, char **argv) {
  if (argc < 2) return fprintf(stderr, "usage: grid3 TABLE.csv [REPS]\n"), 2;
  const int reps = argc > 2 ? atoi(argv[2]) : 5;
  if (reps < 1 || reps > 101) return fprintf(stderr, "REPS: 1 to 101\n"), 2;
  cl_model m;
  cl_model_default(&m);
  char err[CL_ERRLEN];
  const char *laws[3] = {"rademacher:3", "rademacher:2.5", "rademacher:2"};
  m.M = 3, m.K = 3, m.lambda = 1;
  for (int j = 0; j < 3; j++)
    if (cl_law_parse(laws[j], &m.c[j], err)) return fprintf(stderr, "%s\n", err), 1;
  cl_grid *g;
  if (cl_grid_alloc(&m, NULL, &g, err)) return fprintf(stderr, "%s\n", err), 1;
  FILE *f = fopen(argv[1], "r");
  if (!f) return fprintf(stderr, "cannot open %s\n", argv[1]), 1;
  char line[8192];
  if (!fgets(line, sizeof line, f)) return fprintf(stderr, "empty table\n"), 1;
  /* the header: t, R_1_1 .. R_3_3 (row j = feature, column i = unit), Q_1_1, Q_1_2, Q_1_3, Q_2_2, Q_2_3, Q_3_3 */
  printf("%6s %-12s %-12s %10s %10s\n", "t", "coarse", "fine", "ms (med)", "estimate");
  while (fgets(line, sizeof line, f)) {
    double v[32];
    int nv = 0;
    for (char *p = line, *e; nv < 32; p = e + 1) {
      v[nv++] = strtod(p, &e);
      if (*e != ',') break;
    }
    if (nv < 16) continue;
    double R[9], Q[9], dR[9], dQ[9], eb[18], ms[101];
    for (int k = 0; k < 9; k++) R[k] = v[1 + k];
    const int iu[6][2] = {{0, 0}, {0, 1}, {0, 2}, {1, 1}, {1, 2}, {2, 2}};
    for (int k = 0; k < 6; k++) Q[iu[k][0] * 3 + iu[k][1]] = Q[iu[k][1] * 3 + iu[k][0]] = v[10 + k];
    cl_status st = CL_OK;
    for (int r = 0; r < reps && !st; r++) {
      const double t0 = bench_cpu_now();
      st = cl_grid_eval(g, R, Q, dR, dQ, eb, err);
      ms[r] = 1e3 * (bench_cpu_now() - t0);
    }
    if (st) {
      printf("%6g refused: %s\n", v[0], err);
      continue;
    }
    qsort(ms, (size_t)reps, sizeof *ms, bench_cmp_double);
    int nc[3], nf[3];
    cl_grid_level_sizes(g, 0, nc), cl_grid_level_sizes(g, 1, nf);
    char sc[40], sf[40];
    snprintf(sc, sizeof sc, "%dx%dx%d", nc[0], nc[1], nc[2]), snprintf(sf, sizeof sf, "%dx%dx%d", nf[0], nf[1], nf[2]);
    printf("%6g %-12s %-12s %10.1f %10.3g\n", v[0], sc, sf, ms[reps / 2], eb[0]);
  }
  fclose(f);
  cl_grid_free(g);
  return 0;
}
