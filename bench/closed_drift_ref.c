/* bench/closed_drift_ref.c - helper of bench/closed_drift_ref: the closed
 * forms' drift at the start state of `cldyn ode OPTS` against another
 * engine's (OPTS REF, e.g. `--expect quad --quad-nodes 24`), one evaluation
 * each (docs/closed-forms.md s.7).
 *   closed_drift_ref "OPTS" "REF"
 * prints the largest |difference| over the components of dR and dQ, the
 * closed forms' drift error bound (cl_drift_stderr) and the reference's,
 * and the CPU seconds of each evaluation.  Reported only. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "app/app.h"

static int eval(const char *opts, double *out, double *bound, double *cpu, char *meth, size_t len) {
  cl_config cfg;
  char err[CL_ERRLEN];
  if (cl_config_parse_string(&cfg, CL_CMD_ODE, opts, err)) {
    fprintf(stderr, "closed_drift_ref: %s\n", err);
    return 1;
  }
  const cl_model *m = &cfg.model;
  cl_drift *d = NULL;
  if (cl_drift_alloc(m, &cfg.ode.quad, &d, err)) {
    fprintf(stderr, "closed_drift_ref: %s\n", err);
    return 1;
  }
  const clock_t c0 = clock();
  const cl_status st = cl_drift_eval(d, m->R0, m->Q0, out, out + m->K * m->M, err);
  *cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
  *bound = cl_drift_stderr(d);
  snprintf(meth, len, "%.60s", cl_drift_method(d));
  cl_drift_free(d);
  if (st) fprintf(stderr, "closed_drift_ref: %s\n", err);
  return st != CL_OK;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: closed_drift_ref \"OPTS\" \"REF\"\n");
    return 2;
  }
  char ref[4096], ma[80], mb[80];
  snprintf(ref, sizeof ref, "%s %s", argv[1], argv[2]);
  double a[CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX], b[CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX], ba, bb, ca, cb;
  cl_config cfg;
  char err[CL_ERRLEN];
  if (cl_config_parse_string(&cfg, CL_CMD_ODE, argv[1], err)) {
    fprintf(stderr, "closed_drift_ref: %s\n", err);
    return 2;
  }
  const int n = cfg.model.K * cfg.model.M + cfg.model.M * cfg.model.M;
  if (eval(argv[1], a, &ba, &ca, ma, sizeof ma) || eval(ref, b, &bb, &cb, mb, sizeof mb)) return 1;
  double d = 0;
  int kx = 0;
  for (int k = 0; k < n; k++)
    if (fabs(a[k] - b[k]) > d) d = fabs(a[k] - b[k]), kx = k;
  printf("drift distance %.3g (component %d of dR, dQ: %.12g against %.12g); bounds: run %.3g (%s), reference %.3g (%s); CPU s %.2f, %.2f\n", d, kx, a[kx], b[kx], ba, ma,
         bb, mb, ca, cb);
  return 0;
}
