/* bench/audit_basin.c - helper of bench/audit_basin: `basin` for M = 2
 * (docs/fixed-points.md s.5) against the exact finite-N chain (`reduced
 * --init random`) at the same N, at parameter points the tests do not use.
 *   audit_basin NDIR RUNS T SEED "OPTIONS"
 * OPTIONS are `cldyn basin` options (the model, --N); the basin runs NDIR
 * directions to tmax = T, the chain RUNS runs to T, and each chain's end is
 * classified by cl_basin_outcome_finite at its N (as the reproduce section
 * does; AUDIT_TRED sets the chains' end time, and their outcomes at four
 * times on the way are printed).  Per outcome: both frequencies, the pooled standard error of their
 * difference and z; the starts the basin left unsettled.  Reported only. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "app/app.h"

int main(int argc, char **argv) {
  if (argc < 6) return fprintf(stderr, "usage: audit_basin NDIR RUNS T SEED OPTIONS\n"), 2;
  const long nd = atol(argv[1]), runs = atol(argv[2]);
  const double T = atof(argv[3]);
  const uint64_t seed = strtoull(argv[4], NULL, 10);
  cl_config cfg;
  char err[CL_ERRLEN];
  if (cl_config_parse_string(&cfg, CL_CMD_BASIN, argv[5], err)) return fprintf(stderr, "%s\n", err), 2;
  cl_model m = cfg.model;
  const int K = m.K, M = m.M;
  cl_basin_multi_result res;
  if (cl_basin_run_multi(&m, &cfg.ode, nd, T, seed, 1, &res, err)) return fprintf(stderr, "basin: %s\n", err), 1;
  cl_model mr = m;
  mr.init = CL_INIT_RANDOM;
  /* AUDIT_TRED: the chains' end time (default T), written at 4 times so
   * that a chain still on its way shows as a changing outcome */
  const double Tr = getenv("AUDIT_TRED") ? atof(getenv("AUDIT_TRED")) : T;
  cl_schedule s = {.T = Tr, .dt_out = Tr / 4, .runs = runs, .seed = seed + 1};
  cl_traj *tr;
  if (cl_runner_run(&cl_engine_reduced, &mr, &s, 1, NULL, &tr, NULL, NULL, err))
    return fprintf(stderr, "reduced: %s\n", err), 1;
  printf("%s\nbasin: %ld directions to t = %g (%ld unsettled%s%s); reduced: %ld runs to t = %g, N = %lld\n", argv[5],
         nd, T, res.unsettled, res.rerun[0] ? "; rerun: " : "", res.rerun, runs, Tr, (long long)m.N);
  long cnt[CL_NKINDS] = {0};
  for (size_t k = 1; k < tr->nt; k++) { /* the chains' outcomes along the way */
    long c[CL_NKINDS] = {0};
    for (long r = 0; r < runs; r++) c[cl_basin_outcome_finite(K, M, cl_traj_row(tr, r, k), m.N)]++;
    printf("  reduced at t = %g:", Tr * (double)k / (double)(tr->nt - 1));
    for (int q = 0; q < CL_NKINDS; q++)
      if (c[q]) printf(" %s %ld", cl_fixed_kind_name(q), c[q]);
    printf("\n");
    if (k == tr->nt - 1)
      for (int q = 0; q < CL_NKINDS; q++) cnt[q] = c[q];
  }
  cl_traj_free(tr);
  printf("%-14s %8s %8s %8s %6s\n", "outcome", "basin", "reduced", "se", "z");
  double zmax = 0;
  for (int q = 0; q < CL_NKINDS; q++) {
    if (!res.count[q] && !cnt[q]) continue;
    const double p1 = (double)res.count[q] / nd, p2 = (double)cnt[q] / runs;
    const double p = (double)(res.count[q] + cnt[q]) / (nd + runs), se = sqrt(p * (1 - p) * (1.0 / nd + 1.0 / runs));
    const double z = se > 0 ? (p1 - p2) / se : 0;
    zmax = fmax(zmax, fabs(z));
    printf("%-14s %8.3f %8.3f %8.3f %6.2f\n", cl_fixed_kind_name(q), p1, p2, se, z);
  }
  printf("largest |z| %.2f\n", zmax);
  return 0;
}
