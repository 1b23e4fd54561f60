/* bench/gridfloor.c - the M = 2 grid's estimate against the exact drift for
 * linear and cubic sigma (docs/grid.md s.5, "Floor of the estimate"): for
 * each argument (the options of one state) the grid's drift and estimate,
 * and the quad rule with Gauss rules throughout (exact for these sigma and
 * laws but for rounding) at 12, 16, 20 and 24 nodes.  Prints per state the
 * largest |grid - exact| (exact: the mean of the four), the four rules'
 * scatter (their largest distance from that mean), the estimate and the
 * ratio error / estimate.  GRIDFLOOR_REPS=n: also the CPU time of one
 * grid evaluation (both levels), the mean of n.  Reported only: not a test. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "app/app.h"
#include "src/drift_acc.h"
#include "src/drift_grid.h"

int main(int argc, char **argv) {
  for (int a = 1; a < argc; a++) {
    cl_config cfg;
    char err[CL_ERRLEN];
    if (cl_config_parse_string(&cfg, CL_CMD_ODE, argv[a], err)) return fprintf(stderr, "%s\n", err), 2;
    const cl_model *m = &cfg.model;
    const int nout = m->K * 2 + 4;
    double d[64], eb[64], x[4][64], mean[64] = {0};
    cl_grid *g;
    if (cl_grid_alloc(m, NULL, &g, err) || cl_grid_eval(g, m->R0, m->Q0, d, d + m->K * 2, eb, err)) {
      printf("%2d refused: %s\n", a, err);
      continue;
    }
    const int reps = getenv("GRIDFLOOR_REPS") ? atoi(getenv("GRIDFLOOR_REPS")) : 0;
    if (reps > 0) {
      const clock_t t0 = clock();
      for (int r = 0; r < reps; r++) cl_grid_eval(g, m->R0, m->Q0, d, d + m->K * 2, eb, err);
      printf("%2d grid evaluation: %.4g CPU s (mean of %d)\n", a, (double)(clock() - t0) / CLOCKS_PER_SEC / reps, reps);
    }
    cl_grid_free(g);
    const int ns[4] = {12, 16, 20, 24};
    for (int r = 0; r < 4; r++) {
      const cl_acc_level lv = {ns[r], ns[r], ns[r], -1, -1};
      cl_acc *q;
      if (cl_acc_alloc_levels(m, &lv, &lv, &q, err) ||
          cl_acc_eval_level(q, 1, m->R0, m->Q0, x[r], x[r] + m->K * 2, err))
        return fprintf(stderr, "%s\n", err), 1;
      cl_acc_free(q);
      for (int k = 0; k < nout; k++) mean[k] += x[r][k] / 4;
    }
    double worst = 0, sc = 0, big = 0;
    for (int k = 0; k < nout; k++) {
      worst = fmax(worst, fabs(d[k] - mean[k])), big = fmax(big, fabs(mean[k]));
      for (int r = 0; r < 4; r++) sc = fmax(sc, fabs(x[r][k] - mean[k]));
    }
    printf("%2d largest %.4g  |grid - exact| %.3g (%.2g rel)  scatter %.3g  estimate %.3g  ratio %.3f\n", a, big,
           worst, worst / big, sc, eb[0], worst / eb[0]);
  }
  return 0;
}
