/* bench/manyk: M = 1 with many features, in-process timing of cl_ode_solve
 * with the characteristic-function method (docs/m1-many-features.md)
 * against the tensor quadrature over the c nodes (METHOD_MGRID) on the same
 * model, and the largest difference of their trajectories.
 *
 * usage: manyk NAME METHOD REPS BUDGET_S [cldyn ode options...]
 *   METHOD: cf (forced), tensor (forbidden) or auto.  Prints one line:
 *   NAME METHOD s=MEDIAN cpu=MEDIAN reps=N (wall and process CPU seconds
 *   per solve: on a loaded machine the CPU time is the steadier) and the
 *   trajectory to
 *   build/bench/manyk_NAME_METHOD.traj (one value per line) for the
 *   comparison (manyk_diff).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "benchutil.h"
#include "app/app.h" /* the option parser (app/config.c) and the core library */

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: manyk NAME cf|tensor|auto REPS BUDGET_S [cldyn ode options...]\n");
    return 2;
  }
  const char *name = argv[1], *meth = argv[2];
  int reps = atoi(argv[3]);
  double budget = atof(argv[4]);
  if (reps < 1) reps = 1;
  if (reps > 64) reps = 64;
  cl_config cfg;
  char err[CL_ERRLEN], info[CL_INFOLEN];
  cl_config_init(&cfg, CL_CMD_ODE);
  if (cl_config_parse_args(&cfg, argc - 5, argv + 5, err)) return fprintf(stderr, "%s\n", err), 2;
  cfg.ode.quad.m1_cf = !strcmp(meth, "cf") ? 1 : !strcmp(meth, "tensor") ? -1 : 0;
  double t[64], tc[64], spent = 0;
  int n = 0;
  cl_traj *tr = NULL;
  while (n < reps && (n == 0 || spent < budget)) {
    if (tr) cl_traj_free(tr), tr = NULL;
    struct timespec c0, c1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    double t0 = bench_now();
    if (cl_ode_solve(&cfg.model, &cfg.sched, &cfg.ode, &tr, info, err)) {
      printf("%s %s failed: %s\n", name, meth, err);
      return 0;
    }
    t[n] = bench_now() - t0;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    tc[n] = (double)(c1.tv_sec - c0.tv_sec) + 1e-9 * (double)(c1.tv_nsec - c0.tv_nsec);
    spent += t[n++];
  }
  qsort(t, (size_t)n, sizeof(double), bench_cmp_double);
  qsort(tc, (size_t)n, sizeof(double), bench_cmp_double);
  char path[512];
  snprintf(path, sizeof path, "build/bench/manyk_%s_%s.traj", name, meth);
  FILE *f = fopen(path, "w");
  if (!f) return fprintf(stderr, "cannot write %s\n", path), 1;
  for (size_t k = 0; k < tr->nt; k++) {
    const double *row = cl_traj_row(tr, 0, k);
    for (int c = 0; c < tr->ncol; c++) fprintf(f, "%.17g\n", row[c]);
  }
  fclose(f);
  printf("%s %s s=%.6f cpu=%.6f reps=%d\n", name, meth, t[n / 2], tc[n / 2], n);
  cl_traj_free(tr);
  return 0;
}
