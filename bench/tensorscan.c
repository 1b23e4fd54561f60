/* bench/tensorscan.c - the M = 2 tensor rule (--expect tensor) and its error
 * estimate (docs/multi.md s.6): at each state, the drift of
 *  - old:    the rule of before, 10-point Gauss-Hermite per direction in 4-d;
 *  - gh20:   Gauss-Hermite with 20 points per direction (the alternative);
 *  - fine:   the rule now, a 20-point trapezoid per direction (the default
 *            --quad-gauss 40), and its coarse level (3/4 of every rule's
 *            nodes); est = the largest |fine - coarse| over the drift;
 *  - ref:    the trapezoid at TENSORSCAN_REF (default 40) points per
 *            direction, 80 in 2-d, the laws' Gauss rules at
 *            TENSORSCAN_REFLAW (default 48) points;
 * each error the largest distance to ref over the drift vector.  The
 * Also Gauss-Hermite as two levels: 10 against 7 points, 20 against 15
 * (the laws' rules at 24 points on the coarse one), and that estimate's
 * ratio to its rule's error.  The
 * states: the two of docs/multi.md s.6 (the s.6 start, whose reference has
 * TENSORSCAN_REF0 = 32 points per direction and the laws' 32; R = (0.3, 0),
 * Q = diag(1.2, 0.8), lambda 0), then TENSORSCAN_N (default 12) random ones
 * (seeded: TENSORSCAN_SEED, default 1): tanh, sigmoid, erf in turn,
 * lambda 0 and 1 in turn, s in [0.2, 1], rho in [0, 0.9], one or two laws
 * among rademacher, gauss, uniform, sparse; Q - R^T R a random PSD matrix.
 * CPU times: the old rule's and the new one's (fine + coarse) evaluation, the
 * median of TENSORSCAN_REPS (default 3) runs each, alternating; their
 * ratio.  Reported only: not a test. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/app.h"
#include "src/drift_grid.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); /* CPU time: steadier than wall time on a shared machine */
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

static uint64_t sm_state;
static double unif(void) { /* splitmix64 */
  uint64_t z = (sm_state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return ((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}

/* the drift of the tensor rule under o, with (n4, n2) as cl_drift_tensor4_rule
 * (n4 = 0: the rule as allocated); coarse: its coarse level instead */
static int drift(const cl_model *m, const cl_quad_opts *o, int n4, int n2, int coarse, double *out, double *secs,
                 char *err) {
  cl_drift *d, *c = NULL;
  if (cl_drift_alloc(m, o, &d, err)) return 1;
  if (n4 && cl_drift_tensor4_rule(d, n4, n2, err)) return cl_drift_free(d), 1;
  if (coarse && (cl_drift_m1_coarse(d, &c, err) || !c)) {
    if (!c) snprintf(err, CL_ERRLEN, "no coarse level");
    return cl_drift_free(d), 1;
  }
  double t0 = now();
  cl_status st = cl_drift_eval(c ? c : d, m->R0, m->Q0, out, out + m->K * m->M, err);
  if (secs) *secs = now() - t0;
  cl_drift_free(c);
  cl_drift_free(d);
  return st != CL_OK;
}

static double dist(const double *a, const double *b, int n) {
  double w = 0;
  for (int k = 0; k < n; k++) w = fmax(w, fabs(a[k] - b[k]));
  return w;
}

static int cmpd(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int scan(const char *args, int reps, int nref, int nlref, int nref0) {
  if (nref0 > 0) nref = nref0;
  cl_config cfg;
  char err[CL_ERRLEN];
  if (cl_config_parse_string(&cfg, CL_CMD_ODE, args, err)) return fprintf(stderr, "%s: %s\n", args, err), 1;
  const cl_model *m = &cfg.model;
  const int n = m->K * m->M + m->M * m->M;
  cl_quad_opts o = {.expect = CL_EXPECT_TENSOR}, oref = {.expect = CL_EXPECT_TENSOR, .n_law = nlref};
  double old[64], gh20[64], fine[64], crs[64], ref[64], big = 0;
  double to[16], tf[16], tc[16];
  for (int r = 0; r < reps; r++)
    if (drift(m, &o, -10, 0, 0, old, &to[r], err) || drift(m, &o, 0, 0, 0, fine, &tf[r], err) ||
        drift(m, &o, 0, 0, 1, crs, &tc[r], err))
      return printf("%s: %s\n", args, err), 0;
  /* Gauss-Hermite as two levels (10 and 7, 20 and 15 points; the laws
   * as the trapezoid's levels): what its estimate would be */
  cl_quad_opts oc = o;
  oc.n_law = 24;
  double gh7[64], gh15[64];
  if (drift(m, &o, -20, 0, 0, gh20, NULL, err) || drift(m, &oc, -7, 0, 0, gh7, NULL, err) ||
      drift(m, &oc, -15, 0, 0, gh15, NULL, err) || drift(m, &oref, nref, 80, 0, ref, NULL, err))
    return printf("%s: %s\n", args, err), 0;
  for (int k = 0; k < n; k++) big = fmax(big, fabs(ref[k]));
  double tn[16];
  for (int r = 0; r < reps; r++) tn[r] = tf[r] + tc[r];
  qsort(to, (size_t)reps, sizeof *to, cmpd);
  qsort(tn, (size_t)reps, sizeof *tn, cmpd);
  const double eo = dist(old, ref, n), eg = dist(gh20, ref, n), ef = dist(fine, ref, n), est = dist(fine, crs, n);
  const double e7 = dist(old, gh7, n), e15 = dist(gh20, gh15, n);
  printf("%s\n  largest %.3g  err old %.2e (GH est %.2e, x%.3g)  gh20 %.2e (GH est %.2e, x%.3g)  fine %.2e  est %.2e  "
         "est/err %.3g  |fine-old| %.2e  time old %.3g s new %.3g s (x%.1f)\n",
         args, big, eo, e7, e7 / eo, eg, e15, e15 / eg, ef, est, est / ef, dist(fine, old, n), to[reps / 2], tn[reps / 2],
         tn[reps / 2] / to[reps / 2]);
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  const int nrand = getenv("TENSORSCAN_N") ? atoi(getenv("TENSORSCAN_N")) : 12;
  const int nref = getenv("TENSORSCAN_REF") ? atoi(getenv("TENSORSCAN_REF")) : 40;
  const int nlref = getenv("TENSORSCAN_REFLAW") ? atoi(getenv("TENSORSCAN_REFLAW")) : 48;
  int reps = getenv("TENSORSCAN_REPS") ? atoi(getenv("TENSORSCAN_REPS")) : 3;
  reps = reps < 1 ? 1 : reps > 16 ? 16 : reps;
  sm_state = getenv("TENSORSCAN_SEED") ? strtoull(getenv("TENSORSCAN_SEED"), NULL, 10) : 1;
  printf("# tensor rule: err = largest |drift - ref| (ref: trapezoid %d per direction, laws %d points); "
         "est = largest |fine - coarse|; times: median of %d\n",
         nref, nlref, reps);
  if (argc > 1) {
    for (int a = 1; a < argc; a++)
      if (scan(argv[a], reps, nref, nlref, 0)) return 2;
    return 0;
  }
  /* the s.6 start has 224 c nodes: its reference at 32 points per
   * direction and the laws' default 32 (TENSORSCAN_REF0) */
  const int nref0 = getenv("TENSORSCAN_REF0") ? atoi(getenv("TENSORSCAN_REF0")) : 32;
  if (scan("--M 2 --lambda 1 --c laplace:3 --c uniform:3 --R0 0.1,0.02;0.03,0.1", reps, nref, 32, nref0) ||
      scan("--M 2 --lambda 0 --c rademacher:3 --R0 0.3,0 --Q0 1.2,0;0,0.8", reps, nref, nlref, 0))
    return 2;
  static const char *acts[3] = {"tanh", "sigmoid", "erf"};
  static const char *laws[4] = {"rademacher:2", "gauss:1.5", "uniform:2", "sparse:3:0.5"};
  for (int k = 0; k < nrand; k++) {
    const int K = unif() < 0.5 ? 1 : 2;
    double R[4], A[4], Q[4];
    for (int j = 0; j < 2 * K; j++) R[j] = 1.0 * unif() - 0.5;
    /* A = L L^T, L lower triangular: Q = R^T R + A */
    const double l11 = 0.3 + 0.9 * unif(), l22 = 0.3 + 0.9 * unif(), l21 = 0.8 * unif() - 0.4;
    A[0] = l11 * l11, A[1] = A[2] = l11 * l21, A[3] = l21 * l21 + l22 * l22;
    for (int i = 0; i < 2; i++)
      for (int l = 0; l < 2; l++) {
        Q[i * 2 + l] = A[i * 2 + l];
        for (int j = 0; j < K; j++) Q[i * 2 + l] += R[j * 2 + i] * R[j * 2 + l];
      }
    char args[512];
    int len = snprintf(args, sizeof args, "--M 2 --act %s --lambda %d --s %.3f --rho %.3f", acts[k % 3], (k / 3) % 2,
                       0.2 + 0.8 * unif(), 0.9 * unif());
    for (int j = 0; j < K; j++) len += snprintf(args + len, sizeof args - (size_t)len, " --c %s", laws[(int)(4 * unif())]);
    char r0[64];
    if (K == 2) snprintf(r0, sizeof r0, "%.4f,%.4f;%.4f,%.4f", R[0], R[1], R[2], R[3]);
    else snprintf(r0, sizeof r0, "%.4f,%.4f", R[0], R[1]);
    snprintf(args + len, sizeof args - (size_t)len, " --R0 %s --Q0 %.5f,%.5f;%.5f,%.5f", r0, Q[0], Q[1], Q[2], Q[3]);
    if (scan(args, reps, nref, nlref, 0)) return 2;
  }
  return 0;
}
