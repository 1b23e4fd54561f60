/* bench/basincont.c - helper of bench/basincont: every start of `basin`
 * with M >= 2 (cl_basin_multi_ends, docs/fixed-points.md s.5), one line
 * each, so that two builds can be compared start by start.
 *   basincont NDIR TMAX SEED THREADS "OPTIONS"
 * OPTIONS are `cldyn basin` options (the model).  Prints "start k outcome
 * settled y_1 ... y_n" (%.17g) per start, then "prob outcome p count" and
 * "unsettled u", and "var ji v" (the escape law's N var(A_ji)).  Reported
 * only. */
#include <stdio.h>
#include <stdlib.h>

#include "app/app.h"

int main(int argc, char **argv) {
  if (argc < 6) return fprintf(stderr, "usage: basincont NDIR TMAX SEED THREADS OPTIONS\n"), 2;
  const long nd = atol(argv[1]);
  const double T = atof(argv[2]);
  const uint64_t seed = strtoull(argv[3], NULL, 10);
  const int threads = atoi(argv[4]);
  cl_config cfg;
  char err[CL_ERRLEN];
  if (nd < 1 || cl_config_parse_string(&cfg, CL_CMD_BASIN, argv[5], err))
    return fprintf(stderr, "%s\n", nd < 1 ? "NDIR: must be >= 1" : err), 2;
  const int K = cfg.model.K, M = cfg.model.M, n = cl_state_size(K, M);
  double *ends = malloc(sizeof(double) * (size_t)nd * (size_t)n);
  int *settled = malloc(sizeof(int) * (size_t)nd);
  if (!ends || !settled) return fprintf(stderr, "out of memory\n"), 1;
  cl_basin_multi_result res;
  if (cl_basin_multi_ends(&cfg.model, &cfg.ode, nd, T, seed, threads, &res, ends, settled, err))
    return fprintf(stderr, "basin: %s\n", err), 1;
  for (long k = 0; k < nd; k++) {
    printf("start %ld %s %d", k + 1, cl_fixed_kind_name(cl_basin_outcome(K, M, ends + k * n)), settled[k]);
    for (int q = 0; q < n; q++) printf(" %.17g", ends[k * n + q]);
    printf("\n");
  }
  for (int q = 0; q < CL_NKINDS; q++)
    if (res.count[q]) printf("prob %s %.17g %ld\n", cl_fixed_kind_name(q), res.prob[q], res.count[q]);
  printf("unsettled %ld\n", res.unsettled);
  for (int ji = 0; ji < K * M; ji++) printf("var %d %.17g\n", ji + 1, res.var[ji]);
  free(ends);
  free(settled);
  return 0;
}
