/* bench/collapse_mc.c - helper of bench/collapse.py: the batch Monte Carlo
 * reference of tests/mc_ref.c (no Stein lemma, no grid, no quad rule) at
 * states read from stdin.
 *   collapse_mc NB SEED [cldyn fixed options...] < states
 * Input lines as for bench/audit_drift.c; each output line is the
 * drift (K M values of dR, then M M of dQ, row-major) and then their
 * standard errors, over NB batches. */
#include <stdio.h>
#include <stdlib.h>

#include "app/app.h"
#include "cldyn/state.h"
#include "tests/mc_ref.h"

int main(int argc, char **argv) {
  cl_config cfg;
  char err[CL_ERRLEN];
  if (argc < 3) return fprintf(stderr, "usage: collapse_mc NB SEED [options]\n"), 2;
  const long nb = atol(argv[1]);
  const uint64_t seed = strtoull(argv[2], NULL, 10);
  cl_config_init(&cfg, CL_CMD_FIXED);
  if (cl_config_parse_args(&cfg, argc - 3, argv + 3, err)) return fprintf(stderr, "%s\n", err), 2;
  const cl_model *m = &cfg.model;
  const int K = m->K, M = m->M, n = cl_state_size(K, M), nout = K * M + M * M;
  double y[CL_STATE_MAX], R[CL_STATE_MAX], Q[CL_STATE_MAX], mean[CL_STATE_MAX * 2], se[CL_STATE_MAX * 2];
  for (;;) {
    int k = 0;
    while (k < n && scanf("%lf", &y[k]) == 1) k++;
    if (k < n) break;
    cl_state_unpack(K, M, y, R, Q);
    mc_ref_batches(m, R, Q, nb, seed, 7, nout, mc_ref_drift, mean, se);
    for (int q = 0; q < nout; q++) printf("%.17g ", mean[q]);
    for (int q = 0; q < nout; q++) printf("%.17g%c", se[q], q + 1 < nout ? ' ' : '\n');
    fflush(stdout);
  }
  return 0;
}
