/* Shared set-up of the in-process C benchmarks of the ode drift engines
 * (bench/closed.c, bench/accurate.c): the model from `cldyn ode` options
 * after the benchmark's own NARGS arguments. */
#ifndef CLDYN_BENCHODE_H
#define CLDYN_BENCHODE_H

#include <stdio.h>

#include "app/app.h"
#include "bench/benchutil.h"

/* 0, or 2 after printing USAGE or the parse error (the benchmark's exit). */
static inline int bench_ode_config(cl_config *cfg, int argc, char **argv, int nargs, const char *usage) {
  char err[CL_ERRLEN];
  if (argc < nargs + 1) return fprintf(stderr, "usage: %s\n", usage), 2;
  cl_config_init(cfg, CL_CMD_ODE);
  if (cl_config_parse_args(cfg, argc - (nargs + 1), argv + nargs + 1, err)) return fprintf(stderr, "%s\n", err), 2;
  return 0;
}

#endif
