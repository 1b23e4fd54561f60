/* bench/accurate.c - helper of bench/accurate (the deterministic rule for
 * M >= 2, B = 1: src/drift_acc.c, docs/accurate.md).
 *   accurate levels NX:NE:NL:LX:LE[,NX:NE:NL:LX:LE...] REF [cldyn ode options...]
 * evaluates the drift at (R0, Q0) with each level (one rule) and with the
 * reference level REF (NX:NE:NL:LX:LE, much finer), and prints per level: the
 * nodes (outer xi x inner eta per c node, c nodes), CPU seconds per
 * evaluation, and the largest |drift - reference| over dR and dQ.  Then the
 * same for the default Sobol' engine (16 rules, its printed bound). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/app.h"
#include "bench/benchode.h"
#include "src/drift_acc.h"

static int parse_level(const char *s, cl_acc_level *l) {
  return sscanf(s, "%d:%d:%d:%lf:%lf", &l->nx, &l->ne, &l->nl, &l->Lx, &l->Le) == 5;
}

int main(int argc, char **argv) {
  cl_config cfg;
  char err[CL_ERRLEN];
  if (bench_ode_config(&cfg, argc, argv, 2, "accurate NX:NE:NL:LX:LE[,...] REF_NX:NE:NL:LX:LE [cldyn ode options...]")) return 2;
  const cl_model *m = &cfg.model;
  const int K = m->K, M = m->M, nout = K * M + M * M;
  double ref[CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX], out[CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX];
  cl_acc_level lr;
  if (!parse_level(argv[2], &lr)) return fprintf(stderr, "bad REF level\n"), 2;
  cl_acc *a;
  if (cl_acc_alloc_levels(m, &lr, &lr, &a, err)) return fprintf(stderr, "%s\n", err), 2;
  double t0 = bench_cpu_now();
  if (cl_acc_eval_level(a, 0, m->R0, m->Q0, ref, ref + K * M, err)) return fprintf(stderr, "%s\n", err), 1;
  printf("reference %s: %.3g CPU s\n", argv[2], bench_cpu_now() - t0);
  cl_acc_free(a);
  printf("%-16s %10s %12s\n", "level", "CPU s", "max error");
  char *list = strdup(argv[1]);
  for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
    cl_acc_level l;
    if (!parse_level(tok, &l)) return fprintf(stderr, "bad level %s\n", tok), 2;
    if (cl_acc_alloc_levels(m, &l, &l, &a, err)) return fprintf(stderr, "%s\n", err), 2;
    int reps = 0;
    t0 = bench_cpu_now();
    do {
      if (cl_acc_eval_level(a, 0, m->R0, m->Q0, out, out + K * M, err)) return fprintf(stderr, "%s\n", err), 1;
      reps++;
    } while (bench_cpu_now() - t0 < 0.3);
    double t = (bench_cpu_now() - t0) / reps, e = 0;
    for (int k = 0; k < nout; k++) e = fmax(e, fabs(out[k] - ref[k]));
    printf("%-16s %10.4f %12.3g\n", tok, t, e);
    cl_acc_free(a);
  }
  free(list);
  /* the Sobol' engine */
  cl_quad_opts qo = cfg.ode.quad;
  qo.expect = CL_EXPECT_SOBOL;
  cl_drift *d;
  if (cl_drift_alloc(m, &qo, &d, err)) return fprintf(stderr, "%s\n", err), 2;
  t0 = bench_cpu_now();
  if (cl_drift_eval(d, m->R0, m->Q0, out, out + K * M, err)) return fprintf(stderr, "%s\n", err), 1;
  double t = bench_cpu_now() - t0, e = 0;
  for (int k = 0; k < nout; k++) e = fmax(e, fabs(out[k] - ref[k]));
  printf("%-16s %10.4f %12.3g (its bound %.3g)\n", "sobol", t, e, cl_drift_stderr(d));
  cl_drift_free(d);
  return 0;
}
