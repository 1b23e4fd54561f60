/* bench/m1est: the M = 1 error estimate of `ode` (docs/m1-many-features.md
 * s.7) on random models and states: for each, the drift bound at the state
 * (|fine - coarse|, at least 64 eps of the drift, as cl_ode_solve prints it
 * at t = 0) against the distance of the fine level to the same engine with
 * every rule 4 times finer (cl_drift_m1_level).  Seeded; prints one line
 * per case and the min / median / max of estimate / true and the count of
 * misses (estimate < true).
 *
 * usage: m1est N SEED [extra cldyn ode options, e.g. --quad-cf off] */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "src/drift_grid.h"

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc < 3) return fprintf(stderr, "usage: m1est N SEED [options]\n"), 2;
  const int n = atoi(argv[1]);
  cl_rng *rng;
  char err[CL_ERRLEN];
  if (cl_rng_alloc(strtoull(argv[2], NULL, 10), 7, &rng, err)) return fprintf(stderr, "%s\n", err), 1;
  static const char *acts[] = {"linear", "tanh", "erf", "relu", "sigmoid", "cubic"};
  static const char *laws[] = {"rademacher:1", "rademacher:3", "sparse:2", "uniform:1", "uniform:3",
                               "laplace:1",    "laplace:2",    "gauss:1",  "student:2:6", "student:1:12"};
  double *ratio = malloc(sizeof(double) * (size_t)n);
  int nr = 0, miss = 0;
  for (int i = 0; i < n; i++) {
    char args[1024];
    const int K = 1 + (int)(3 * cl_rng_uniform(rng)), a = (int)(6 * cl_rng_uniform(rng));
    double R[4], r2 = 0;
    int l[4];
    for (int j = 0; j < K; j++) l[j] = (int)(10 * cl_rng_uniform(rng)), R[j] = 1.2 * (cl_rng_uniform(rng) - 0.5);
    for (int j = 0; j < K; j++) r2 += R[j] * R[j];
    const double Q = r2 + 0.05 + 1.5 * cl_rng_uniform(rng), s = 0.05 + cl_rng_uniform(rng),
                 rho = 1.8 * (cl_rng_uniform(rng) - 0.5);
    int len = snprintf(args, sizeof args, "--act %s --s %.3g --rho %.3g --Q0 %.4g --R0 ", acts[a], s, rho, Q);
    for (int j = 0; j < K; j++) len += snprintf(args + len, sizeof args - (size_t)len, "%s%.4g", j ? ";" : "", R[j]);
    for (int j = 0; j < K; j++) len += snprintf(args + len, sizeof args - (size_t)len, " --c %s", laws[l[j]]);
    for (int k = 3; k < argc; k++) len += snprintf(args + len, sizeof args - (size_t)len, " %s", argv[k]);
    cl_config cfg;
    if (cl_config_parse_string(&cfg, CL_CMD_ODE, args, err)) {
      printf("%s: %s\n", args, err);
      continue;
    }
    const cl_model *m = &cfg.model;
    cl_drift *f0 = NULL, *f = NULL, *c = NULL, *r = NULL;
    double v[3][CL_KMAX + 1];
    cl_quad_opts o = cfg.ode.quad;
    cl_status st = cl_drift_alloc(m, &o, &f0, err);
    if (!st) st = cl_drift_m1_level(f0, 4, (const double[3]){4, 4, 4}, &r, err);
    o.adapt_gauss = 1;
    if (!st) st = cl_drift_alloc(m, &o, &f, err);
    if (!st) st = cl_drift_m1_coarse(f, &c, err);
    cl_drift *ds[3] = {f, c, r};
    for (int k = 0; k < 3 && !st; k++)
      if (!ds[k]) st = cl_fail(err, CL_EINVAL, "no level %d (%s)", k, f ? cl_drift_m1_unbounded(f) : "");
      else st = cl_drift_eval(ds[k], m->R0, m->Q0, v[k], v[k] + m->K, err);
    cl_drift_free(f0), cl_drift_free(f), cl_drift_free(c), cl_drift_free(r);
    if (st) {
      printf("%s: skipped: %s\n", args, err);
      continue;
    }
    double est = 0, tru = 0, sc = 0;
    for (int k = 0; k <= m->K; k++)
      est = fmax(est, fabs(v[0][k] - v[1][k])), tru = fmax(tru, fabs(v[0][k] - v[2][k])), sc = fmax(sc, fabs(v[0][k]));
    est = fmax(est, 64 * DBL_EPSILON * sc);
    miss += tru > est;
    if (tru > 0) ratio[nr++] = est / tru;
    printf("%s: estimate %.3g true %.3g%s\n", args, est, tru, tru > est ? "  MISS" : "");
  }
  qsort(ratio, (size_t)nr, sizeof(double), cmp);
  if (nr) printf("estimate / true over %d cases: min %.3g median %.3g max %.3g; misses %d\n", nr, ratio[0], ratio[nr / 2],
                 ratio[nr - 1], miss);
  free(ratio);
  cl_rng_free(rng);
  return 0;
}
