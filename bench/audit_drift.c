/* bench/audit_drift.c - helper of bench/audit_fixed.py: the drift of the
 * model given by `cldyn fixed` options, at states read from stdin.
 *   audit_drift [cldyn fixed options...] < states
 * Each input line is one packed state y = (R row-major, upper triangle of Q)
 * (cl_state_pack); each output line is the drift at it (17 digits), then the
 * engine's error bound of that evaluation (cl_drift_stderr: 0 for the
 * deterministic rules), or "nan" when the drift refuses the state.  With
 * --levels as the first argument (bench/collapse.py) each line is instead
 * the fine level's drift, then the coarse level's, of a two-level engine
 * (the grid, the quad rule), or "nan <message>".  The
 * audit computes residuals, finite-difference Jacobians and symmetry images
 * from these values itself, so nothing of src/fixed.c or src/symmetry.c is
 * used. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "cldyn/state.h"

/* level rep of a two-level engine at the packed state y into f (packed) */
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
  const int levels = argc > 1 && !strcmp(argv[1], "--levels");
  cl_config_init(&cfg, CL_CMD_FIXED);
  if (cl_config_parse_args(&cfg, argc - 1 - levels, argv + 1 + levels, err)) return fprintf(stderr, "%s\n", err), 2;
  const cl_model *m = &cfg.model;
  const int K = m->K, M = m->M, n = cl_state_size(K, M);
  cl_drift *d;
  if (cl_drift_alloc(m, &cfg.ode.quad, &d, err)) return fprintf(stderr, "%s\n", err), 2;
  if (levels && cl_drift_nrep(d) < 2) return fprintf(stderr, "not a two-level engine: %s\n", cl_drift_method(d)), 2;
  double y[CL_STATE_MAX], f[CL_STATE_MAX], f0[CL_STATE_MAX];
  for (;;) {
    int k = 0;
    while (k < n && scanf("%lf", &y[k]) == 1) k++;
    if (k < n) break;
    if (levels) {
      if (level(d, 1, K, M, y, f, err) || level(d, 0, K, M, y, f0, err)) {
        printf("nan %s\n", err);
      } else {
        for (int q = 0; q < n; q++) printf("%.17g ", f[q]);
        for (int q = 0; q < n; q++) printf("%.17g%c", f0[q], q + 1 < n ? ' ' : '\n');
      }
      fflush(stdout);
      continue;
    }
    if (cl_ode_drift(d, K, M, y, f, NULL)) {
      printf("nan\n");
    } else {
      for (int q = 0; q < n; q++) printf("%.17g ", f[q]);
      printf("%.17g\n", cl_drift_stderr(d));
    }
  }
  cl_drift_free(d);
  return 0;
}
