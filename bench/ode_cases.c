/* bench/ode_cases: in-process timing of cl_ode_solve for any `cldyn ode`
 * option set (bench/ode.c has three fixed cases; this one takes the options on
 * the command line, e.g. the K = 2 case with two non-Gaussian laws).
 *
 * usage: ode_cases NAME REPS BUDGET_S [cldyn ode options...]
 *   Solves REPS times (fewer if the solves already took BUDGET_S seconds,
 *   always at least once) and prints one line:
 *   NAME s=MEDIAN min_s=MIN reps=N cos_1_1(T)=... [quadrature info]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/app.h" /* the core library and the application layer (options) */
#include "benchutil.h"

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: ode_cases NAME REPS BUDGET_S [cldyn ode options...]\n");
    return 2;
  }
  const char *name = argv[1];
  int reps = atoi(argv[2]);
  double budget = atof(argv[3]);
  if (reps < 1) reps = 1;
  if (reps > 64) reps = 64;
  cl_config cfg;
  char err[CL_ERRLEN], info[CL_INFOLEN];
  cl_config_init(&cfg, CL_CMD_ODE);
  if (cl_config_parse_args(&cfg, argc - 4, argv + 4, err)) return fprintf(stderr, "%s\n", err), 2;
  double t[64], spent = 0;
  int n = 0;
  cl_traj *tr = NULL;
  while (n < reps && (n == 0 || spent < budget)) {
    if (tr) cl_traj_free(tr), tr = NULL;
    double t0 = bench_now();
    if (cl_ode_solve(&cfg.model, &cfg.sched, &cfg.ode, &tr, info, err))
      return fprintf(stderr, "%s: %s\n", name, err), 1;
    t[n] = bench_now() - t0;
    spent += t[n++];
  }
  qsort(t, (size_t)n, sizeof(double), bench_cmp_double);
  double *last = cl_traj_row(tr, 0, tr->nt - 1);
  printf("%s s=%.6f min_s=%.6f reps=%d cos_1_1(T)=%.10f [%s]\n", name, t[n / 2], t[0], n,
         last[tr->ncol - tr->K * tr->M], info);
  cl_traj_free(tr);
  return 0;
}
