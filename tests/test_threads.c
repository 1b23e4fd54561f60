/* Threads and determinism (docs/multi.md s.8, docs/closed-forms.md s.6),
 * suite "threads": the drift engines that use OpenMP threads give
 * bit-identical results for 1, 2 and 3 threads:
 *  - the M >= 2 Sobol' engine on its three paths (B = 1, the 1/B expansion,
 *    the whole batch), the mean drift and its bound;
 *  - every replicate at its own state in one call (what `cldyn ode`
 *    integrates) against the replicates one at a time;
 *  - the closed erf engine (Price-theorem terms);
 *  - the M = 4 grid engine, whose sub-engines run in threads (case B's
 *    start);
 *  - the table written by `cldyn ode` (OMP_NUM_THREADS = 1, 2, 3; the
 *    M = 5 grid engine's too);
 *  - the thread counts of cl_drift_threads and cl_drift_threads_tasks;
 * and --qmc-points below the minimum (128) is raised to it, with a note. */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "../src/drift_multi.h" /* cl_drift_threads, cl_drift_threads_tasks */
#include "cldyn/cldyn.h"
#include "testutil.h"

#define NOUT (CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX)

static cl_config config_of(const char *args) {
  cl_config cfg;
  char err[CL_ERRLEN];
  cr_assert_eq(cfg_from_args(&cfg, CL_CMD_ODE, args, err), CL_OK, "%s: %s", args, err);
  return cfg;
}

/* the drift (dR then dQ) and its bound with nth threads */
static double drift_with(const cl_config *cfg, int nth, double *out) {
  char err[CL_ERRLEN];
  cl_drift *d = NULL;
  set_threads(nth);
  cr_assert_eq(cl_drift_alloc(&cfg->model, &cfg->ode.quad, &d, err), CL_OK, "%s", err);
  const cl_model *m = &cfg->model;
  cr_assert_eq(cl_drift_eval(d, m->R0, m->Q0, out, out + m->K * m->M, err), CL_OK, "%s", err);
  double se = cl_drift_stderr(d);
  cl_drift_free(d);
  return se;
}

static const char *const cases[] = {
    /* B = 1, continuous and discrete laws (unit permutations and signs) */
    "--M 2 --lambda 1 --c laplace:3 --c uniform:3 --R0 0.3,0.1;0.1,0.2",
    "--M 3 --lambda 1 --R0 0.4,0.1,0.0;0.05,0.3,0.2 --Q0 1,0.2,0.1;0.2,0.8,0;0.1,0,0.9 --c laplace:2 "
    "--c rademacher:3",
    /* the exact 1/B expansion (g = square) */
    "--M 3 --B 3 --lambda 1 --R0 0.4,0.1,0.0;0.05,0.3,0.2 --c laplace:2 --c rademacher:3",
    /* the whole batch in the point set (g = abs, relu) */
    "--M 2 --B 2 --lambda 1 --g abs --act relu --c laplace:3 --c uniform:2 --R0 0.3,0.1;0.1,0.2",
    /* the closed erf engine, lambda > 0 (Price terms) */
    "--M 3 --lambda 1 --act erf --c gauss --c gauss --R0 0.4,0.1,0.0;0.05,0.3,0.2",
    /* the M = 4 grid engine (case B of issue 12 at its start) */
    "--M 4 --lambda 1 --expect grid --c laplace:3 --c uniform:3 --c rademacher:3 --c rademacher:2 --R0 "
    "0.1,0.02,0.01,0;0.02,0.1,0.01,0.01;0.01,0,0.1,0.02;0,0.01,0.02,0.1",
};

Test(threads, drift_is_bit_identical_for_1_2_3_threads, .timeout = 120) {
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    cl_config cfg = config_of(cases[c]);
    const size_t n = (size_t)(cfg.model.K * cfg.model.M + cfg.model.M * cfg.model.M);
    double a[NOUT], b[NOUT];
    double sa = drift_with(&cfg, 1, a);
    for (int nth = 2; nth <= 3; nth++) {
      double sb = drift_with(&cfg, nth, b);
      cr_expect_eq(memcmp(a, b, sizeof(double) * n), 0, "%s: drift differs with %d threads", cases[c], nth);
      cr_expect_eq(memcmp(&sa, &sb, sizeof sa), 0, "%s: bound %.17g with 1 thread, %.17g with %d", cases[c],
                   sa, sb, nth);
    }
    double nz = 0;
    for (size_t k = 0; k < n; k++) nz = fmax(nz, fabs(a[k]));
    cr_expect_gt(nz, 0, "%s: the drift is zero", cases[c]);
  }
}

/* cl_drift_eval_reps (every replicate at its own state, one set of threads)
 * equals cl_drift_eval_rep one replicate at a time, for any thread count */
Test(threads, replicates_at_once_equal_one_at_a_time, .timeout = 120) {
  for (size_t c = 0; c < 4; c++) {
    cl_config cfg = config_of(cases[c]);
    const cl_model *m = &cfg.model;
    const int K = m->K, M = m->M, KM = K * M, MM = M * M;
    char err[CL_ERRLEN];
    cl_drift *d = NULL;
    set_threads(1);
    cr_assert_eq(cl_drift_alloc(m, &cfg.ode.quad, &d, err), CL_OK, "%s", err);
    const int nr = cl_drift_nrep(d);
    cr_assert_gt(nr, 1);
    double *R = malloc(sizeof(double) * (size_t)nr * (2 * KM + 2 * MM)), *Q = R + nr * KM, *dR = Q + nr * MM,
           *dQ = dR + nr * KM;
    double r1[NOUT];
    cr_assert(R);
    /* replicate r at its own state: R0 scaled by 1 - 0.01 r (Q0 unchanged,
     * Q - R^T R stays positive) */
    for (int r = 0; r < nr; r++) {
      for (int k = 0; k < KM; k++) R[r * KM + k] = m->R0[k] * (1 - 0.01 * r);
      for (int k = 0; k < MM; k++) Q[r * MM + k] = m->Q0[k];
    }
    for (int nth = 1; nth <= 3; nth++) {
      set_threads(nth);
      cr_assert_eq(cl_drift_eval_reps(d, R, Q, dR, dQ, err), CL_OK, "%s", err);
      for (int r = 0; r < nr; r++) {
        cr_assert_eq(cl_drift_eval_rep(d, r, R + r * KM, Q + r * MM, r1, r1 + KM, err), CL_OK, "%s", err);
        cr_expect_eq(memcmp(r1, dR + r * KM, sizeof(double) * (size_t)KM), 0, "%s: rep %d, %d threads", cases[c], r, nth);
        cr_expect_eq(memcmp(r1 + KM, dQ + r * MM, sizeof(double) * (size_t)MM), 0, "%s: rep %d, %d threads",
                     cases[c], r, nth);
      }
    }
    free(R);
    cl_drift_free(d);
  }
}

/* The table written by `cldyn ode` is the same file for 1, 2 and 3 threads */
Test(threads, ode_output_is_bit_identical, .timeout = 180) {
  const char *args[] = {
      "--M 2 --lambda 1 --c laplace:3 --c uniform:3 --R0 '0.1,0.02;0.03,0.1' --T 2",
      /* the Sobol' engine's 1/B expansion (case D's default is the grid since session 11) */
      "--M 2 --B 4 --lambda 1 --c rademacher:3 --c laplace:3 --R0 '0.1,0.02;0.03,0.1' --T 2 --expect qmc",
      "--M 2 --lambda 1 --act erf --c gauss --c gauss --R0 '0.1,0.02;0.03,0.1' --T 2",
      /* the whole batch (g = abs) with the integrator's tolerance floor (docs/multi.md s.3) */
      "--M 2 --B 2 --g abs --lambda 1 --R0 '0.1,0.02' --T 2 --qmc-points 512",
      /* the grid engine at M = 5 (session 27: its 33 tasks in threads, docs/grid.md s.16) */
      "--M 5 --lambda 1 --expect grid --c laplace:3 --c uniform:3 --c rademacher:3 --c rademacher:2 --T 0.3",
  };
  char dir[64];
  make_tmpdir(dir, sizeof dir);
  for (size_t c = 0; c < sizeof args / sizeof args[0]; c++) {
    char *out[3];
    size_t len[3];
    for (int nth = 1; nth <= 3; nth++) {
      char cmd[1024], path[128];
      snprintf(path, sizeof path, "%s/o%d.csv", dir, nth);
      snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=%d exec %s ode %s --dt-out 0.5 --out %s 2>/dev/null", nth, cli_bin(),
               args[c], path);
      int st = system_child(cmd);
      cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", cmd);
      out[nth - 1] = slurp(path, &len[nth - 1]);
      cr_assert(out[nth - 1] && len[nth - 1] > 0);
      unlink(path);
    }
    for (int k = 1; k < 3; k++)
      cr_expect(len[k] == len[0] && memcmp(out[k], out[0], len[0]) == 0, "%s: output differs with %d threads",
                args[c], k + 1);
    for (int k = 0; k < 3; k++) free(out[k]);
  }
  rmdir(dir);
}

/* --qmc-points below 128 is raised to 128 (said in the method line): the
 * drift is that of 128 points */
Test(threads, qmc_points_below_minimum_are_raised) {
  cl_config a = config_of("--M 2 --lambda 1 --c laplace:3 --c uniform:3 --R0 0.3,0.1;0.1,0.2 --qmc-points 16");
  cl_config b = config_of("--M 2 --lambda 1 --c laplace:3 --c uniform:3 --R0 0.3,0.1;0.1,0.2 --qmc-points 128");
  char err[CL_ERRLEN];
  cl_drift *da = NULL, *db = NULL;
  cr_assert_eq(cl_drift_alloc(&a.model, &a.ode.quad, &da, err), CL_OK, "%s", err);
  cr_assert_eq(cl_drift_alloc(&b.model, &b.ode.quad, &db, err), CL_OK, "%s", err);
  cr_expect(strstr(cl_drift_method(da), "16 points per rule raised to the minimum 128"), "%s", cl_drift_method(da));
  cr_expect(!strstr(cl_drift_method(db), "raised"), "%s", cl_drift_method(db));
  double x[NOUT], y[NOUT];
  const cl_model *m = &a.model;
  cr_assert_eq(cl_drift_eval(da, m->R0, m->Q0, x, x + m->K * m->M, err), CL_OK, "%s", err);
  cr_assert_eq(cl_drift_eval(db, m->R0, m->Q0, y, y + m->K * m->M, err), CL_OK, "%s", err);
  cr_expect_eq(memcmp(x, y, sizeof(double) * (size_t)(m->K * m->M + m->M * m->M)), 0);
  cl_drift_free(da);
  cl_drift_free(db);
}

/* The M = 4 grid engine's coarse tasks use every processor unless
 * OMP_NUM_THREADS says otherwise, and one thread inside any enclosing
 * parallel region, a one-thread team included (`sweep --threads 1`); the
 * fine-grained engines keep one thread unless it is set (docs/multi.md s.8). */
Test(threads, task_threads_default_to_every_processor) {
  unsetenv("OMP_NUM_THREADS");
  cr_assert_eq(cl_drift_threads_tasks(), omp_get_num_procs());
  cr_assert_eq(cl_drift_threads(), 1);
  set_threads(3);
  cr_assert_eq(cl_drift_threads_tasks(), 3);
  cr_assert_eq(cl_drift_threads(), 3);
  int in1 = 0;
#pragma omp parallel num_threads(1)
  in1 = cl_drift_threads_tasks();
  cr_assert_eq(in1, 1, "inside a one-thread team: %d threads", in1);
}
