/* Shared set-up of the in-process C benchmarks of the ode drift engines
 * (bench/closed.c, bench/accurate.c): process CPU time, and the model from
 * `cldyn ode` options after the benchmark's own NARGS arguments. */
#ifndef CLDYN_BENCHODE_H
#define CLDYN_BENCHODE_H

#include <stdio.h>
#include <time.h>

#include "app/app.h"

static inline double bench_cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* 0, or 2 after printing USAGE or the parse error (the benchmark's exit). */
static inline int bench_ode_config(cl_config *cfg, int argc, char **argv, int nargs, const char *usage) {
  char err[CL_ERRLEN];
  if (argc < nargs + 1) return fprintf(stderr, "usage: %s\n", usage), 2;
  cl_config_init(cfg, CL_CMD_ODE);
  if (cl_config_parse_args(cfg, argc - (nargs + 1), argv + nargs + 1, err)) return fprintf(stderr, "%s\n", err), 2;
  return 0;
}

#endif
