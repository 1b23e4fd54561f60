/* bench/collapse_drift.c - helper of bench/collapse.py: both levels of the
 * deterministic engines (grid or quad rule, `--expect`) at states read from
 * stdin, for the nearly collinear family of docs/grid.md s.6.
 *   collapse_drift [cldyn fixed options...] < states
 * Each input line is one packed state y = (R row-major, upper triangle of
 * Q) (cl_state_pack); each output line is the fine level's drift, then
 * the coarse level's (17 digits), or "nan <message>" when the engine
 * refuses the state. */
#include <stdio.h>

#include "app/app.h"
#include "cldyn/state.h"

static int level(cl_drift *d, int rep, int K, int M, const double *y, double *f, char *err) {
  double R[CL_STATE_MAX], Q[CL_STATE_MAX], dR[CL_STATE_MAX], dQ[CL_STATE_MAX];
  cl_state_unpack(K, M, y, R, Q);
  if (cl_drift_eval_rep(d, rep, R, Q, dR, dQ, err)) return 1;
  cl_state_pack(K, M, dR, dQ, f);
  return 0;
}

int main(int argc, char **argv) {
  cl_config cfg;
  char err[CL_ERRLEN];
  cl_config_init(&cfg, CL_CMD_FIXED);
  if (cl_config_parse_args(&cfg, argc - 1, argv + 1, err)) return fprintf(stderr, "%s\n", err), 2;
  const cl_model *m = &cfg.model;
  const int K = m->K, M = m->M, n = cl_state_size(K, M);
  cl_drift *d;
  if (cl_drift_alloc(m, &cfg.ode.quad, &d, err)) return fprintf(stderr, "%s\n", err), 2;
  if (cl_drift_nrep(d) < 2) return fprintf(stderr, "not a two-level engine: %s\n", cl_drift_method(d)), 2;
  double y[CL_STATE_MAX], f1[CL_STATE_MAX], f0[CL_STATE_MAX];
  for (;;) {
    int k = 0;
    while (k < n && scanf("%lf", &y[k]) == 1) k++;
    if (k < n) break;
    if (level(d, 1, K, M, y, f1, err) || level(d, 0, K, M, y, f0, err)) {
      printf("nan %s\n", err);
    } else {
      for (int q = 0; q < n; q++) printf("%.17g ", f1[q]);
      for (int q = 0; q < n; q++) printf("%.17g%c", f0[q], q + 1 < n ? ' ' : '\n');
    }
    fflush(stdout);
  }
  cl_drift_free(d);
  return 0;
}
