/* The grid engine for M >= 5 units by inclusion-exclusion over the
 * sub-models (src/drift_grid4.c, docs/grid.md s.16), suite "gridm":
 *  - erf and every law gauss: against the closed forms (drift_erf.c, the
 *    engine of `--expect closed`) at M = 5 and 6, at a generic correlated
 *    state and at one with a nearly dead unit, every component within the
 *    two estimates;
 *  - tanh with laplace, uniform and rademacher laws, lambda 1: against the
 *    batch Monte Carlo of tests/mc_ref.c at M = 5, within 4 standard
 *    errors plus the estimate;
 *  - threads: the M = 5 drift bit-identical for 1, 2 and 3 threads (its
 *    `ode` table: tests/test_threads.c, ode_output_is_bit_identical);
 *  - the CLI: `ode --M 5 --expect grid` names the engine; B = 2 with
 *    lambda != 0 is refused with one line, exit 2.
 * The states are fixed formulas (gm_state); the Monte Carlo is seeded. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/drift_erf.h"
#include "../src/drift_grid.h"
#include "../src/drift_grid4.h"
#include "cldyn/cldyn.h"
#include "mc_ref.h"
#include "testutil.h"

#define NOUTM (CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX)

/* A state of M units and K features: R (K x M) with each unit i < K
 * mostly along feature i and small other overlaps, Q = R^T R + A with A
 * diagonally dominant and correlated (off-diagonal +-0.03 to 0.05: the
 * four-unit terms of dQ_il are then of order 1e-3, not negligible); dead:
 * unit M - 1 nearly dead (its column of R 1e-3, A_{M-1,M-1} = 1e-4 and
 * uncorrelated). */
static void gm_state(int K, int M, int dead, double *R, double *Q) {
  double A[CL_MMAX * CL_MMAX];
  for (int j = 0; j < K; j++)
    for (int i = 0; i < M; i++) R[j * M + i] = i == j ? 0.25 + 0.02 * i : 0.03 * ((i * 7 + j * 3) % 5 - 2);
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) A[i * M + l] = i == l ? 0.45 + 0.04 * i : 0.03 + 0.02 * cos(i + 2.0 * l + 2.0 * i * l);
  for (int i = 0; i < M; i++)
    for (int l = i + 1; l < M; l++) A[l * M + i] = A[i * M + l];
  if (dead) {
    for (int j = 0; j < K; j++) R[j * M + M - 1] = 1e-3 * (j % 2 ? -1 : 1);
    for (int i = 0; i < M; i++) A[i * M + M - 1] = A[(M - 1) * M + i] = 0;
    A[M * M - 1] = 1e-4;
  }
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) {
      double s = A[i * M + l];
      for (int j = 0; j < K; j++) s += R[j * M + i] * R[j * M + l];
      Q[i * M + l] = s;
    }
}

/* the engine at its default levels: the drift (dR then dQ) and the estimate */
static void gm_drift(const cl_model *m, const double *R, const double *Q, double *out, double *eb) {
  char err[CL_ERRLEN];
  cl_grid *g;
  cl_status st = cl_grid4_alloc(m, NULL, &g, err);
  if (!st) st = cl_grid_eval(g, R, Q, out, out + m->K * m->M, eb, err), cl_grid_free(g);
  cr_assert_eq(st, CL_OK, "%s", err);
}

/* erf, every law gauss (three features of different scales, per-view noise
 * s = 0.5 with rho = 0.3, lambda = 1, B = 1): the closed forms (their V by
 * Gauss-Hermite with its own estimate, cl_erf_errmax) against the grid, in
 * every component within the grid's estimate plus the closed forms' plus
 * 1e-12 (rounding), at M = 5 and 6, generic and nearly dead unit. */
Test(gridm, erf_gauss_against_the_closed_forms, .timeout = 240) {
  for (int M = 5; M <= 6; M++)
    for (int dead = 0; dead < 2; dead++) {
      char args[300], err[CL_ERRLEN];
      snprintf(args, sizeof args, "--M %d --lambda 1 --act erf --s 0.5 --rho 0.3 --c gauss:1 --c gauss:1.5 --c gauss:0.7",
               M);
      cl_model m = model_of(args);
      const int K = m.K, n = K * M + M * M;
      double R[CL_KMAX * CL_MMAX], Q[CL_MMAX * CL_MMAX], d[NOUTM], eb[NOUTM], ref[NOUTM];
      gm_state(K, M, dead, R, Q);
      cl_erf *e;
      cr_assert_eq(cl_erf_alloc(&m, NULL, &e, err), CL_OK, "%s", err);
      cr_assert_eq(cl_erf_eval(e, R, Q, ref, ref + K * M, err), CL_OK, "%s", err);
      const double ee = cl_erf_errmax(e);
      cl_erf_free(e);
      gm_drift(&m, R, Q, d, eb);
      double worst = 0, ratio = 0, emax = 0;
      for (int k = 0; k < n; k++) {
        const double tol = eb[k] + ee + 1e-12, x = fabs(d[k] - ref[k]);
        worst = fmax(worst, x), ratio = fmax(ratio, x / tol), emax = fmax(emax, eb[k]);
        cr_expect_leq(x, tol, "M = %d%s: component %d: grid %.15g (estimate %.2g) vs closed %.15g (estimate %.2g)", M,
                      dead ? " (nearly dead unit)" : "", k, d[k], eb[k], ref[k], ee);
      }
      cr_log_info("erf, M = %d%s: max |grid - closed| %.3g, largest estimate %.3g (closed forms' %.3g), max ratio %.3f",
                  M, dead ? ", nearly dead unit" : "", worst, emax, ee, ratio);
    }
}

/* tanh, laplace:3, uniform:3, rademacher:3 and rademacher:2, lambda 1,
 * M = 5, at the generic state: the batch Monte Carlo (2e5 batches) within
 * 4 standard errors plus the estimate in every component. */
Test(gridm, tanh_against_monte_carlo, .timeout = 240) {
  cl_model m = model_of("--M 5 --lambda 1 --c laplace:3 --c uniform:3 --c rademacher:3 --c rademacher:2");
  const int K = m.K, M = 5, n = K * M + M * M;
  double R[CL_KMAX * CL_MMAX], Q[CL_MMAX * CL_MMAX], d[NOUTM], eb[NOUTM], ref[NOUTM], se[NOUTM], worst = 0;
  gm_state(K, M, 0, R, Q);
  mc_ref_batches(&m, R, Q, 200000, 51, 7, n, mc_ref_drift, ref, se);
  gm_drift(&m, R, Q, d, eb);
  for (int k = 0; k < n; k++) {
    const double tol = 4 * se[k] + eb[k];
    worst = fmax(worst, fabs(d[k] - ref[k]) / tol);
    cr_expect_leq(fabs(d[k] - ref[k]), tol, "component %d: grid %.6g (estimate %.2g) vs Monte Carlo %.6g (se %.2g)", k,
                  d[k], eb[k], ref[k], se[k]);
  }
  cr_log_info("tanh, M = 5: max |grid - MC| / (4 se + estimate) = %.2f", worst);
}

#define GM5 "--M 5 --lambda 1 --expect grid --c laplace:3 --c uniform:3 --c rademacher:3 --c rademacher:2 "

/* The M = 5 drift (its 33 tasks in threads, summed in the tasks' order)
 * and its estimate are the same bits for 1, 2 and 3 threads, at the
 * generic state. */
Test(gridm, drift_is_bit_identical_for_1_2_3_threads, .timeout = 120) {
  cl_model m = model_of(GM5);
  const int K = m.K, M = 5, n = K * M + M * M;
  double R[CL_KMAX * CL_MMAX], Q[CL_MMAX * CL_MMAX], a[NOUTM], ea[NOUTM], b[NOUTM], e2[NOUTM];
  gm_state(K, M, 0, R, Q);
  set_threads(1);
  gm_drift(&m, R, Q, a, ea);
  for (int nth = 2; nth <= 3; nth++) {
    set_threads(nth);
    gm_drift(&m, R, Q, b, e2);
    cr_expect_eq(memcmp(a, b, sizeof(double) * (size_t)n), 0, "the drift differs with %d threads", nth);
    cr_expect_eq(memcmp(ea, e2, sizeof(double) * (size_t)n), 0, "the estimate differs with %d threads", nth);
  }
  unsetenv("OMP_NUM_THREADS");
}

/* `ode --M 5 --expect grid` prints the method line naming the engine and
 * its bound (and the JSON method); the default at M >= 5 stays the
 * Sobol' rules; outside the engine's scope `--expect grid` is refused with
 * one line, exit 2. */
Test(gridm, cli_method_and_refusals, .timeout = 120) {
  ode_method_is(GM5 "--T 0.05", "grid engine (M = 5, B = 1, inclusion-exclusion", 1);
  ode_method_is("--M 5 --lambda 1 --c laplace:3 --c uniform:3 --c rademacher:3 --c rademacher:2 --T 0.05",
                "grid engine", 0);
  /* the default (the Sobol' rules) names the grid as the accurate option */
  ode_method_is("--M 5 --lambda 1 --c laplace:3 --c uniform:3 --c rademacher:3 --c rademacher:2 --T 0.05",
                "expect: grid serves this model too (docs/grid.md s.16", 1);
  CLI_REFUSES("ode --M 5 --lambda 1 --B 2 --expect grid --T 0.1", NULL, "--expect: grid", "M = 5", "B = 2");
  CLI_REFUSES("ode --M 6 --act relu --expect grid --T 0.1", NULL, "--expect: grid", "relu");
  CLI_REFUSES("ode --M 5 --lambda 1 --g abs --expect grid --T 0.1", NULL, "--expect: grid", "M = 5");
}
