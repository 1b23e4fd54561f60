/* bench/quadm3.c - helper of bench/quadm3: the quad rule (`--expect quad`,
 * src/drift_acc.c, docs/accurate.md) at the options' state (R0, Q0), N
 * times each (argv[1]): the whole evaluation (all levels, with the
 * estimate) and the fine level alone (what `fixed` evaluates,
 * cl_drift_eval_rep).  Prints the median CPU seconds of each ("cpu" and
 * "cpu_fine"), the estimate and the drift (dR then dQ, %.17g), one per
 * line.
 *   quadm3 N [cldyn ode options...] */
#include <stdio.h>
#include <stdlib.h>

#include "app/app.h"
#include "bench/benchode.h"

int main(int argc, char **argv) {
  cl_config cfg;
  char err[CL_ERRLEN];
  if (bench_ode_config(&cfg, argc, argv, 1, "quadm3 N [cldyn ode options...]")) return 2;
  const int n = atoi(argv[1]);
  if (n < 1 || n > 1000) return fprintf(stderr, "N: 1 to 1000\n"), 2;
  const cl_model *m = &cfg.model;
  const int K = m->K, M = m->M, nout = K * M + M * M;
  cl_quad_opts qo = cfg.ode.quad;
  qo.expect = CL_EXPECT_QUAD;
  cl_drift *d;
  if (cl_drift_alloc(m, &qo, &d, err)) return fprintf(stderr, "%s\n", err), 2;
  double out[CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX], t[1000];
  for (int r = 0; r < n; r++) {
    const double t0 = bench_cpu_now();
    if (cl_drift_eval(d, m->R0, m->Q0, out, out + K * M, err)) return fprintf(stderr, "%s\n", err), 1;
    t[r] = bench_cpu_now() - t0;
  }
  qsort(t, (size_t)n, sizeof t[0], bench_cmp_double);
  printf("cpu %.4f\n", n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]));
  double fine[CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX];
  for (int r = 0; r < n; r++) {
    const double t0 = bench_cpu_now();
    if (cl_drift_eval_rep(d, cl_drift_written_rep(d), m->R0, m->Q0, fine, fine + K * M, err))
      return fprintf(stderr, "%s\n", err), 1;
    t[r] = bench_cpu_now() - t0;
  }
  qsort(t, (size_t)n, sizeof t[0], bench_cmp_double);
  printf("cpu_fine %.4f\n", n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]));
  for (int k = 0; k < nout; k++)
    if (fine[k] != out[k]) return fprintf(stderr, "the fine level is not the drift at %d\n", k), 1;
  printf("estimate %.17g\n", cl_drift_stderr(d));
  for (int k = 0; k < nout; k++) printf("%.17g\n", out[k]);
  cl_drift_free(d);
  return 0;
}
