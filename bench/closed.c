/* bench/closed.c - helpers of bench/closed (the closed-form engine,
 * docs/closed-forms.md):
 *   closed eval REPS [cldyn ode options...]
 *       CPU seconds per drift evaluation at (R0, Q0) (mean of REPS after one
 *       untimed evaluation), and its error estimate;
 *   closed euler DT [cldyn ode options...]
 *       fixed-step Euler with step DT from (R0, Q0) to --T (the setting of
 *       sgoldt/nn2pp: dt = 0.01), one line: CPU seconds, evaluations, then
 *       the final R (row-major) and Q (row-major), as in an ode table row. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/app.h"
#include "bench/benchode.h"

int main(int argc, char **argv) {
  cl_config cfg;
  char err[CL_ERRLEN];
  if (bench_ode_config(&cfg, argc, argv, 2, "closed eval REPS|euler DT [cldyn ode options...]")) return 2;
  const cl_model *m = &cfg.model;
  const int K = m->K, M = m->M, n = cl_state_size(K, M);
  cl_drift *d = NULL;
  cl_drift_alloc(m, &cfg.ode.quad, &d, err);
  if (!d) return fprintf(stderr, "%s\n", err), 2;
  double *y = malloc(sizeof(double) * (size_t)n), *f = malloc(sizeof(double) * (size_t)n);
  if (!y || !f) return 3;
  cl_state_pack(K, M, m->R0, m->Q0, y);
  if (!strcmp(argv[1], "eval")) {
    int reps = atoi(argv[2]);
    if (reps < 1) reps = 1;
    /* one untimed evaluation first: the thread pool and the caches */
    if (cl_ode_drift(d, K, M, y, f, err)) return fprintf(stderr, "%s\n", err), 1;
    double t0 = bench_cpu_now();
    for (int r = 0; r < reps; r++)
      if (cl_ode_drift(d, K, M, y, f, err)) return fprintf(stderr, "%s\n", err), 1;
    printf("%.6g %.3g\n", (bench_cpu_now() - t0) / reps, cl_drift_stderr(d));
  } else {
    const double dt = atof(argv[2]);
    const long steps = (long)(cfg.sched.T / dt + 0.5);
    double t0 = bench_cpu_now();
    for (long k = 0; k < steps; k++) {
      if (cl_ode_drift(d, K, M, y, f, err)) return fprintf(stderr, "at step %ld: %s\n", k, err), 1;
      for (int q = 0; q < n; q++) y[q] += dt * f[q];
    }
    double R[CL_KMAX * CL_MMAX], Q[CL_MMAX * CL_MMAX];
    cl_state_unpack(K, M, y, R, Q);
    printf("%.4f %ld", bench_cpu_now() - t0, steps);
    for (int k = 0; k < K * M; k++) printf(" %.17g", R[k]);
    for (int k = 0; k < M * M; k++) printf(" %.17g", Q[k]);
    printf("\n");
  }
  free(y), free(f);
  cl_drift_free(d);
  return 0;
}
