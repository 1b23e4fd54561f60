/* bench/ode: in-process timing of cl_ode_solve (median of repetitions).
 * usage: ode_bench CASE   (CASE: k1 | k2 | m2); prints seconds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cldyn/cldyn.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "k1";
  int reps = argc > 2 ? atoi(argv[2]) : 7;
  cl_config cfg;
  char err[CL_ERRLEN], info[CL_ERRLEN];
  cl_config_init(&cfg, CL_CMD_ODE);
  char *a_k1[] = {"--T", "50", "--dt-out", "0.5"};
  char *a_k2[] = {"--T", "50", "--dt-out", "0.5", "--c", "gauss:2", "--c", "laplace:3", "--R0", "0.1;0.05"};
  char *a_m2[] = {"--T", "50", "--dt-out", "0.5", "--M", "2", "--lambda", "1", "--R0", "0.2,0.05"};
  char **av = a_k1;
  int ac = 4;
  if (strcmp(which, "k2") == 0) av = a_k2, ac = 10;
  if (strcmp(which, "m2") == 0) av = a_m2, ac = 10;
  if (cl_config_parse_args(&cfg, ac, av, err)) return fprintf(stderr, "%s\n", err), 2;
  double t[64];
  cl_traj *tr = NULL;
  for (int r = 0; r < reps && r < 64; r++) {
    double t0 = now();
    if (cl_ode_solve(&cfg.model, &cfg.sched, &cfg.ode, &tr, info, err))
      return fprintf(stderr, "%s\n", err), 1;
    t[r] = now() - t0;
    if (r + 1 < reps) cl_traj_free(tr);
  }
  qsort(t, (size_t)reps, sizeof(double), cmp);
  double *last = cl_traj_row(tr, 0, tr->nt - 1);
  printf("%s %.6f s (median of %d)  cos_1_1(T) = %.10f  [%s]\n", which, t[reps / 2], reps,
         last[tr->ncol - tr->K * tr->M], info);
  cl_traj_free(tr);
  return 0;
}
