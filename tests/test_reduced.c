/* The exact finite-N chain against the full simulation: at N = 300 and fixed
 * times, the laws of cos and Q from `reduced` and from `simulate` pass a
 * two-sample Kolmogorov-Smirnov test at the 1% level and their means agree
 * within 4 standard errors.  Seeds are fixed, so the test is deterministic. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "cldyn/cldyn.h"
#include "testutil.h"

static void setup(cl_config *cfg, cl_command cmd, const char *args) {
  char err[CL_ERRLEN];
  cr_assert_eq(cfg_from_args(cfg, cmd, args, err), CL_OK, "%s: %s", args, err);
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Two-sample KS statistic and its asymptotic p-value (Kolmogorov series
 * with the Stephens small-sample correction). */
static double ks_pvalue(double *a, int na, double *b, int nb, double *Dout) {
  qsort(a, (size_t)na, sizeof(double), cmp);
  qsort(b, (size_t)nb, sizeof(double), cmp);
  int i = 0, j = 0;
  double D = 0;
  while (i < na && j < nb) {
    double x = a[i] <= b[j] ? a[i] : b[j];
    while (i < na && a[i] <= x) i++;
    while (j < nb && b[j] <= x) j++;
    D = fmax(D, fabs((double)i / na - (double)j / nb));
  }
  double en = sqrt((double)na * nb / (na + nb)), lam = (en + 0.12 + 0.11 / en) * D, p = 0;
  for (int k = 1; k <= 100; k++) p += 2 * ((k & 1) ? 1 : -1) * exp(-2.0 * k * k * lam * lam);
  *Dout = D;
  return fmin(fmax(p, 0), 1);
}

static void compare(const char *args, int runs, uint64_t seed) {
  cl_config a, b;
  char full[1024], err[CL_ERRLEN];
  snprintf(full, sizeof full, "%s --N 300 --dt-out 1", args);
  setup(&a, CL_CMD_SIMULATE, full);
  setup(&b, CL_CMD_REDUCED, full);
  a.sched.runs = b.sched.runs = runs;
  a.sched.seed = seed, b.sched.seed = seed + 1000;
  cl_traj *ts, *tr;
  cr_assert_eq(cl_runner_run_sim(&a.model, &a.sched, 0, &ts, NULL, NULL, err), CL_OK, "%s", err);
  cr_assert_eq(cl_runner_run_red(&b.model, &b.sched, 0, &tr, NULL, NULL, err), CL_OK, "%s", err);
  int K = ts->K, M = ts->M, nc = ts->ncol;
  double *xs = malloc(sizeof(double) * (size_t)runs), *xr = malloc(sizeof(double) * (size_t)runs);
  /* columns: Q_1_1 and every cos, at every output time after 0 */
  for (size_t k = 1; k < ts->nt; k++)
    for (int c = K * M; c < nc; c++) {
      if (c > K * M && c < nc - K * M) continue; /* Q_1_1 only among the Q columns */
      double ms = 0, mr = 0, vs = 0, vr = 0;
      for (int r = 0; r < runs; r++) {
        xs[r] = cl_traj_row(ts, r, k)[c], xr[r] = cl_traj_row(tr, r, k)[c];
        ms += xs[r], mr += xr[r];
      }
      ms /= runs, mr /= runs;
      for (int r = 0; r < runs; r++) vs += (xs[r] - ms) * (xs[r] - ms), vr += (xr[r] - mr) * (xr[r] - mr);
      double se = sqrt(vs / (runs - 1) / runs + vr / (runs - 1) / runs), D;
      double p = ks_pvalue(xs, runs, xr, runs, &D);
      char name[32];
      cl_traj_colname(K, M, c, name, sizeof name);
      cr_log_info("%s t = %g %s: means %.5f %.5f (%.1f se), KS D = %.4f p = %.3f", args, ts->t[k],
                  name, ms, mr, fabs(ms - mr) / se, D, p);
      cr_expect_gt(p, 0.01, "%s t = %g %s: KS p = %g", args, ts->t[k], name, p);
      cr_expect_leq(fabs(ms - mr), 4 * se, "%s t = %g %s: means %g vs %g (se %g)", args, ts->t[k],
                    name, ms, mr, se);
    }
  free(xs);
  free(xr);
  cl_traj_free(ts);
  cl_traj_free(tr);
}

Test(reduced, same_law_as_simulation_m1, .timeout = 300) {
  const char *cases[] = {
      "--T 3 --rho 0",
      "--T 3 --rho -1 --B 3",
      "--T 3 --rho 0.5 --c rademacher:3 --c laplace:2 --R0 0.2;0.1",
      "--T 2 --rho 0 --B 3 --c gauss:2 --c uniform:3 --R0 0.1;0.2 --act erf",
      "--T 3 --rho -1 --init random --c rademacher:3 --c rademacher:2",
      "--T 3 --rho 0.5 --B 3 --act relu --reg l2:1.2 --tau 0.3 --R0 0.3",
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) compare(cases[i], 400, 10 + i);
}

Test(reduced, same_law_as_simulation_m2_lambda, .timeout = 300) {
  compare("--T 2 --M 2 --lambda 1 --R0 0.3,0.1 --Q0 1,0.3;0.3,1", 400, 50);
  compare("--T 2 --M 2 --lambda 0.5 --B 3 --g abs --R0 0.3,0.1;0.1,0.2 --c rademacher:3 --c uniform:2", 400, 60);
}

Test(reduced, rejects_non_l2) {
  cl_model m;
  cl_model_default(&m);
  m.reg.kind = CL_REG_L1, m.reg.beta1 = 0.1, m.reg.beta2 = 0;
  char err[CL_ERRLEN] = "";
  cl_red *r = (cl_red *)&m; /* any non-NULL value: the allocator clears it */
  cr_assert_eq(cl_red_alloc(&m, 1, 0, &r, err), CL_EINVAL);
  cr_assert_null(r);
  cr_assert(strncmp(err, "reg:", 4) == 0 && !strstr(err, "--"), "%s", err);
}

Test(reduced, overlap_init_exact) {
  cl_config cfg;
  setup(&cfg, CL_CMD_REDUCED, "--M 2 --c gauss --c uniform --R0 0.3,0.1;0.2,0.4 --Q0 1,0.2;0.2,0.9");
  cl_red *r;
  cl_red_alloc(&cfg.model, 1, 0, &r, NULL);
  double R[4], Q[4];
  cl_red_order(r, R, Q);
  for (int k = 0; k < 4; k++) {
    cr_assert_float_eq(R[k], cfg.model.R0[k], 1e-14);
    cr_assert_float_eq(Q[k], cfg.model.Q0[k], 1e-14);
  }
  cl_red_free(r);
}
