/* Loose ends of the M >= 2 analysis commands (issue 12): the escape law's
 * noise terms, dead units at the finite-N floor, basin's unsettled count,
 * fixed at large s, ode's advice for a stiff L2 weight. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cldyn/cldyn.h"
#include "src/basin_noise.h"
#include "testutil.h"

/* Brute force: E[(D1_i + D2_i)^2] and E[D1_i^2 + D2_i^2 + 2 rho D1_i D2_i]
 * by np seeded Monte Carlo points over the 2M pre-activations at R = 0
 * (the formula of docs/fixed-points.md s.5 written out directly), with their
 * standard errors. */
static void noise_mc(const cl_model *m, const double *Q, long np, double *E, double *S, double *sE, double *sS) {
  const int M = m->M, d2 = 2 * M;
  const double s2 = m->s * m->s;
  double Sg[4 * CL_MMAX * CL_MMAX], L[4 * CL_MMAX * CL_MMAX];
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) {
      Sg[i * d2 + l] = Sg[(M + i) * d2 + M + l] = Q[i * M + l] * (1 + s2);
      Sg[i * d2 + M + l] = Sg[(M + i) * d2 + l] = Q[i * M + l] * (1 + m->rho * s2);
    }
  cr_assert_eq(cl_model_sym_sqrt(Sg, d2, 1e-12, L), CL_OK);
  cl_rng *r;
  cr_assert_eq(cl_rng_alloc(20261202, 3, &r, NULL), CL_OK);
  double a[CL_MMAX] = {0}, a2[CL_MMAX] = {0}, b[CL_MMAX] = {0}, b2[CL_MMAX] = {0};
  for (long p = 0; p < np; p++) {
    double z[2 * CL_MMAX], y[2 * CL_MMAX], dy[2 * CL_MMAX], t;
    for (int k = 0; k < d2; k++) z[k] = cl_rng_gauss(r);
    for (int k = 0; k < d2; k++) {
      double h = 0;
      for (int q = 0; q < d2; q++) h += L[k * d2 + q] * z[q];
      cl_act_eval(m->act, h, &y[k], &dy[k], &t);
    }
    for (int i = 0; i < M; i++) {
      double u1 = y[M + i], u2 = y[i];
      for (int l = 0; l < M; l++) {
        if (l == i) continue;
        double c1 = y[i] * y[M + l], c2 = y[l] * y[M + i];
        u1 -= m->lambda * (m->g == CL_G_SQUARE ? 2 * c1 : (c1 > 0) - (c1 < 0)) * y[M + l];
        u2 -= m->lambda * (m->g == CL_G_SQUARE ? 2 * c2 : (c2 > 0) - (c2 < 0)) * y[l];
      }
      double D1 = dy[i] * u1, D2 = dy[M + i] * u2, e = (D1 + D2) * (D1 + D2),
             s = D1 * D1 + D2 * D2 + 2 * m->rho * D1 * D2;
      a[i] += e, a2[i] += e * e, b[i] += s, b2[i] += s * s;
    }
  }
  cl_rng_free(r);
  for (int i = 0; i < M; i++) {
    E[i] = a[i] / np, S[i] = b[i] / np;
    sE[i] = sqrt(fmax(a2[i] / np - E[i] * E[i], 0) / (np - 1));
    sS[i] = sqrt(fmax(b2[i] / np - S[i] * S[i], 0) / (np - 1));
  }
}

/* The deterministic rule at its default (CL_NOISE_NODES) is within 1e-3
 * (relative) of the rule at nref nodes, and that one agrees with np Monte
 * Carlo points within 4 standard errors: every activation but cubic, g =
 * square or abs, a generic Q (correlated units), s = 0.6, rho = -0.3. */
static void noise_check(int M, int g, int nref, long np) {
  const cl_act acts[] = {CL_ACT_LINEAR, CL_ACT_TANH, CL_ACT_ERF, CL_ACT_RELU, CL_ACT_SIGMOID};
  const double Q3[9] = {1.1, 0.3, -0.2, 0.3, 0.9, 0.25, -0.2, 0.25, 1.3};
  double Q[CL_MMAX * CL_MMAX];
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) Q[i * M + l] = Q3[i * 3 + l];
  for (size_t k = 0; k < sizeof acts / sizeof *acts; k++) {
    cl_model m;
    cl_model_default(&m);
    m.M = M, m.act = acts[k], m.g = g, m.lambda = 1, m.s = 0.6, m.rho = -0.3;
    char err[CL_ERRLEN];
    double E[CL_MMAX], S[CL_MMAX], Er[CL_MMAX], Sr[CL_MMAX], Em[CL_MMAX], Sm[CL_MMAX], sE[CL_MMAX], sS[CL_MMAX];
    cr_assert_eq(cl_basin_noise_terms(&m, Q, 0, E, S, err), CL_OK, "%s", err);
    cr_assert_eq(cl_basin_noise_terms(&m, Q, nref, Er, Sr, err), CL_OK, "%s", err);
    noise_mc(&m, Q, np, Em, Sm, sE, sS);
    for (int i = 0; i < M; i++) {
      const char *an = cl_act_name(m.act);
      cr_expect_leq(fabs(E[i] - Er[i]), 1e-3 * fabs(Er[i]), "%s g %d M %d unit %d: EGG %.9g (n = %d) vs %.9g (n = %d)", an,
                    g, M, i, E[i], CL_NOISE_NODES, Er[i], nref);
      cr_expect_leq(fabs(S[i] - Sr[i]), 1e-3 * fabs(Sr[i]), "%s g %d M %d unit %d: Es %.9g vs %.9g", an, g, M, i, S[i],
                    Sr[i]);
      cr_expect_leq(fabs(Er[i] - Em[i]), 4 * sE[i], "%s g %d M %d unit %d: EGG %.7g, MC %.7g +- %.2g", an, g, M, i,
                    Er[i], Em[i], sE[i]);
      cr_expect_leq(fabs(Sr[i] - Sm[i]), 4 * sS[i], "%s g %d M %d unit %d: Es %.7g, MC %.7g +- %.2g", an, g, M, i,
                    Sr[i], Sm[i], sS[i]);
    }
  }
}

Test(polish, noise_terms_m2_against_monte_carlo, .timeout = 120) {
  noise_check(2, CL_G_SQUARE, 24, 4000000);
  noise_check(2, CL_G_ABS, 24, 4000000);
}
Test(polish, noise_terms_m3_square_against_monte_carlo, .timeout = 120) { noise_check(3, CL_G_SQUARE, 20, 2000000); }
Test(polish, noise_terms_m3_abs_against_monte_carlo, .timeout = 120) { noise_check(3, CL_G_ABS, 20, 2000000); }

/* Units of a degenerate pair (s = 0: h1 = h2) and a dead unit (Q_22 = 0)
 * are handled: finite values, and the dead unit's terms vanish when sigma(0)
 * = 0 and sigma is odd (y = 0 for that unit). */
Test(polish, noise_terms_degenerate_covariance) {
  cl_model m;
  cl_model_default(&m);
  m.M = 2, m.act = CL_ACT_TANH, m.lambda = 1, m.s = 0;
  double Q[4] = {1, 0, 0, 0}, E[2], S[2];
  char err[CL_ERRLEN];
  cr_assert_eq(cl_basin_noise_terms(&m, Q, 0, E, S, err), CL_OK, "%s", err);
  for (int i = 0; i < 2; i++) cr_assert(isfinite(E[i]) && isfinite(S[i]));
  /* unit 2 dead: its y is 0, so unit 1 sees no penalty: E[(2 tanh'(h) tanh(h))^2] with h ~ N(0, 1) */
  cl_rule r;
  cr_assert_eq(cl_rule_normal_trap(200, &r, err), CL_OK); /* geometric for tanh (quad.h) */
  double want = 0;
  for (int k = 0; k < r.n; k++) {
    double t = tanh(r.x[k]), d = 1 - t * t;
    want += r.w[k] * 4 * d * d * t * t;
  }
  cl_rule_free(&r);
  cr_assert_float_eq(E[0], want, 1e-3 * want, "%.9g vs %.9g", E[0], want); /* the stated accuracy */
  cr_assert_float_eq(E[1], 0, 1e-12);
  double Qbad[4] = {1, 2, 2, 1};
  cr_assert_neq(cl_basin_noise_terms(&m, Qbad, 0, E, S, err), CL_OK);
}

/* basin --M 2: the starts not settled at 4 tmax on stderr and in the JSON
 * metadata (tmax = 0.5: the units are still escaping from R = 0, so every
 * start is unsettled; tests/test_beyond.c checks the same in the library). */
Test(polish, basin_m2_reports_unsettled, .timeout = 120) {
  char dir[64], args[512], err[1024], path[128], meta[160];
  make_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/b.csv", dir);
  snprintf(meta, sizeof meta, "%s.json", path);
  snprintf(args, sizeof args,
           "basin --M 2 --c rademacher:3 --c rademacher:3 --lambda 1 --N 500 --qmc-points 64 --directions 2 "
           "--tmax 0.5 --threads 1 --out %s",
           path);
  cr_assert_eq(run_cli(args, err, sizeof err), 0, "%s", err);
  cr_assert(strstr(err, "2 directions, 2 not settled at 4 tmax = 2"), "%s", err);
  char *txt = slurp(meta, NULL);
  cr_assert(txt && strstr(txt, "\"unsettled\": \"2\""), "%s", txt ? txt : "(no metadata)");
  free(txt);
}

/* cl_basin_outcome_finite: the end of a finite-N chain.  At lambda = 2,
 * N = 500 (two rademacher:3 features, tanh) one unit of most chains sits at
 * Q_22 ~ 0.009 with no real overlap (the same Q at N = 8000: a partial
 * state, not a finite-N floor); its overlap is N^(-1/2) noise, N |cos|^2
 * ~ chi^2_2, and exceeds 0.01 in about 8% of the chains at N = 500. */
Test(polish, outcome_at_finite_n) {
  /* a synthetic end state of that kind: unit 1 on feature 1, unit 2 small
   * with |cos_2|^2 = 0.0116 (N |cos|^2 = 5.8) */
  const double Q22 = 0.009, c21 = 0.1, c22 = 0.04;
  double R[4] = {0.95, c21 * sqrt(Q22), 0.01, c22 * sqrt(Q22)}, Q[4] = {0.94, 1e-4, 1e-4, Q22}, y[CL_STATE_MAX];
  cl_state_pack(2, 2, R, Q, y);
  cr_expect_eq(cl_basin_outcome(2, 2, y), CL_KIND_MIXED); /* the N = infinity rule */
  cr_expect_eq(cl_basin_outcome_finite(2, 2, y, 0), CL_KIND_MIXED);
  cr_expect_eq(cl_basin_outcome_finite(2, 2, y, 500), CL_KIND_PARTIAL);
  cr_expect_eq(cl_basin_outcome_finite(2, 2, y, 1000000), CL_KIND_MIXED);
  cr_expect_float_eq(cl_basin_zero_overlap(2, 500), 2 * log(1e4) / 500, 1e-9); /* chi^2_2: -2 log p */
  cr_expect_eq(cl_basin_zero_overlap(2, 0), 0.01);
  cr_expect_eq(cl_basin_zero_overlap(2, 100000), 0.01);
  /* a real overlap of the small unit (|cos|^2 = 0.25) is still seen */
  R[1] = 0, R[3] = 0.5 * sqrt(Q22); /* on feature 2 */
  cl_state_pack(2, 2, R, Q, y);
  cr_expect_eq(cl_basin_outcome_finite(2, 2, y, 500), CL_KIND_SPECIALISED);
  /* a dead unit (Q_22 at 1e-17, as reduced and simulate end when a unit
   * dies: the decay is geometric, no floor) is dead at any N */
  R[1] = R[3] = 1e-10, Q[3] = 1e-17, Q[1] = Q[2] = 1e-10;
  cl_state_pack(2, 2, R, Q, y);
  cr_expect_eq(cl_basin_outcome_finite(2, 2, y, 500), CL_KIND_DEAD);
  cr_expect_eq(cl_basin_outcome(2, 2, y), CL_KIND_DEAD);
  /* uninformed small units drawn with R ~ N(0, Q_22 / N): the finite-N
   * rule calls at most 0.2% of them informative, the N = infinity rule
   * about 8% (exp(-2.5) for chi^2_2 > 5) */
  cl_rng *r;
  cr_assert_eq(cl_rng_alloc(12, 5, &r, NULL), CL_OK);
  const int n = 20000;
  int bad_inf = 0, bad_n = 0;
  R[0] = 0.95, R[2] = 0.01, Q[1] = Q[2] = 1e-4, Q[3] = Q22;
  for (int k = 0; k < n; k++) {
    R[1] = sqrt(Q22 / 500) * cl_rng_gauss(r), R[3] = sqrt(Q22 / 500) * cl_rng_gauss(r);
    cl_state_pack(2, 2, R, Q, y);
    bad_inf += cl_basin_outcome(2, 2, y) != CL_KIND_PARTIAL;
    bad_n += cl_basin_outcome_finite(2, 2, y, 500) != CL_KIND_PARTIAL;
  }
  cl_rng_free(r);
  cr_expect_leq(bad_n, n / 500, "%d of %d", bad_n, n);
  cr_expect_gt(bad_inf, n / 20, "%d of %d", bad_inf, n);
}

/* cl_fixed_find_ex's budget of drift evaluations: once spent no new start
 * is tried (the starts left are counted); the default budget leaves the
 * search whole (M = 1, two features). */
Test(polish, fixed_budget_bounds_the_work, .timeout = 120) {
  cl_model m;
  cl_model_default(&m);
  m.K = 2;
  cl_law_parse("sparse:3:0.5", &m.c[0], NULL);
  cl_law_parse("rademacher:3", &m.c[1], NULL);
  cl_quad_opts q = {0};
  cl_fixed_opts fo;
  cl_fixed_opts_default(&fo);
  cr_assert_eq(fo.max_evals, 0);
  cl_fixed_info a, b;
  cl_fixed_point *p;
  int np;
  char err[CL_ERRLEN];
  cr_assert_eq(cl_fixed_find_ex(&m, &q, &fo, NULL, 0, &p, &np, &a, err), CL_OK, "%s", err);
  free(p);
  cr_expect_eq(a.skipped, 0);
  cr_expect(a.drift_evals > 300 && a.drift_evals < CL_FIXED_EVALS, "%ld evaluations", a.drift_evals);
  fo.max_evals = 100;
  cr_assert_eq(cl_fixed_find_ex(&m, &q, &fo, NULL, 0, &p, &np, &b, err), CL_OK, "%s", err);
  free(p);
  cr_expect_gt(b.skipped, 0);
  cr_expect_lt(b.starts - b.skipped, a.starts);
  /* one start at most past the budget: below the budget plus one start's share of the full run */
  cr_expect_lt(b.drift_evals, 100 + a.drift_evals / 4, "%ld evaluations", b.drift_evals);
}

/* ode --reg l2:100: R and Q decay to the dead point R = Q = 0 (rates 50 and
 * 100); below --atol the solver's Q is noise and cos = R / sqrt(Q) NaN.  The
 * message says so and what works (--atol 0 or a shorter --T; msbdf fails
 * the same way), and the advice works.  M = 2: the dead units' cos are 0. */
Test(polish, ode_strong_l2_advice, .timeout = 60) {
  char dir[64], args[512], err[1024], path[128];
  make_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/o.csv", dir);
  const char *stepper[] = {"dop853", "msbdf"};
  for (int k = 0; k < 2; k++) {
    snprintf(args, sizeof args, "ode --reg l2:100 --T 10 --stepper %s --out %s", stepper[k], path);
    cr_assert_eq(run_cli(args, err, sizeof err), 1, "%s", err);
    cr_expect(strstr(err, "dead fixed point") && strstr(err, "--atol 0") && !strstr(err, "lower tau"), "%s", err);
    cr_expect_not(file_exists(path));
  }
  /* M = 2 (session 23): a unit at the level of --atol is dead, its cos
   * columns 0 and the method line says from when (before: exit 1 at
   * t = 10, advising a shorter --T); R and Q are written as integrated.
   * --atol 0 still fails at t = 0 (Q_12 starts at 0). */
  snprintf(args, sizeof args, "ode --M 2 --reg l2:100 --T 10 --out %s", path);
  cr_assert_eq(run_cli(args, err, sizeof err), 0, "%s", err);
  cr_expect(strstr(err, "dead (Q_ii <= 10 atol, cos 0): unit 1 from t = ") && strstr(err, ", unit 2 from t = "),
            "%s", err);
  char *t2 = slurp(path, NULL);
  cr_assert_not_null(t2);
  const char *l2 = strrchr(t2, '\n');
  while (l2 > t2 && l2[-1] != '\n') l2--; /* the last row: t, 2 R (K = 1), 3 Q, 2 cos */
  double v2[8];
  cr_assert_eq(sscanf(l2, "%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf", &v2[0], &v2[1], &v2[2], &v2[3], &v2[4], &v2[5], &v2[6],
                      &v2[7]),
               8, "%s", l2);
  cr_expect_eq(v2[0], 10);
  for (int k = 1; k < 6; k++) cr_expect_lt(fabs(v2[k]), 1e-9, "column %d: %g", k, v2[k]);
  for (int k = 6; k < 8; k++) cr_expect_eq(v2[k], 0, "cos column %d: %g", k - 5, v2[k]);
  free(t2);
  snprintf(args, sizeof args, "ode --M 2 --reg l2:100 --T 5 --atol 0 --out %s", path);
  cr_expect_eq(run_cli(args, err, sizeof err), 1, "%s", err);
  cr_expect(strstr(err, "t = 0"), "%s", err);
  snprintf(args, sizeof args, "ode --M 2 --reg l2:100 --T 0.5 --out %s", path);
  cr_expect_eq(run_cli(args, err, sizeof err), 0, "%s", err);
  cr_expect(file_exists(path));
  snprintf(args, sizeof args, "ode --reg l2:100 --T 5 --atol 0 --out %s", path);
  cr_assert_eq(run_cli(args, err, sizeof err), 0, "%s", err);
  char *txt = slurp(path, NULL);
  cr_assert_not_null(txt);
  const char *last = strrchr(txt, '\n');
  while (last > txt && last[-1] != '\n') last--; /* the last row */
  double t, R, Q, c;
  cr_assert_eq(sscanf(last, "%lf,%lf,%lf,%lf", &t, &R, &Q, &c), 4, "%s", last);
  cr_expect_eq(t, 5);
  /* Q(5) ~ exp(-2 tau beta 5) = exp(-500) scale: positive, tiny, cos finite */
  cr_expect(Q > 0 && Q < 1e-150 && isfinite(c), "Q = %g, cos = %g", Q, c);
  free(txt);
}
