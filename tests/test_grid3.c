/* The M = 3 grid engine (src/drift_grid.c, docs/grid.md s.14), suite "grid3":
 *  - the 3-d weights: mass, mean, covariance, E[c_j X], E[xi_r X] and the
 *    characteristic function in each pair's plane and off them, against
 *    their exact values;
 *  - the drift against a much finer grid of one level, the deterministic
 *    rule of drift_acc.c where it is accurate (small sd), and the batch
 *    Monte Carlo of tests/mc_ref.c; every printed estimate bounds the error;
 *  - the capped-axis rule: long-tailed laws served at the cap within their
 *    estimates, or refused with the reason;
 *  - the embedding: a dead third unit gives the M = 2 grid's drift;
 *  - the CLI's `--expect grid` at M = 3 and the refusals outside its scope. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../src/drift_acc.h"
#include "../src/drift_cf.h"
#include "../src/drift_grid.h"
#include "cldyn/cldyn.h"
#include "mc_ref.h"
#include "testutil.h"

#define NOUT3 (CL_KMAX * 3 + 9)

/* the brief's example (issue 12): three rademacher features, lambda = 1 */
#define EX3 "--M 3 --lambda 1 --c rademacher:3 --c rademacher:2.5 --c rademacher:2 "
#define EX3R0 "--R0 0.1,0.02,0.01;0.03,0.1,0.02;0.01,0.02,0.1"

/* the engine at its default levels: the drift (dR then dQ) and the estimate */
static void grid3_drift(const cl_model *m, const double *R, const double *Q, double *out, double *eb) {
  char err[CL_ERRLEN];
  cl_grid *g;
  cr_assert_eq(cl_grid_alloc(m, NULL, &g, err), CL_OK, "%s", err);
  cr_assert_eq(cl_grid_eval(g, R, Q, out, out + m->K * 3, eb, err), CL_OK, "%s", err);
  cl_grid_free(g);
}

/* a much finer grid (one level: aliasing e^-45, tails e^-32, 44 inner
 * nodes, more as the noise requires: bench/grid3.c's audit found a fixed 44
 * 1e-4 off at a noise sd of 1.8) */
static void grid3_fine(const cl_model *m, const double *R, const double *Q, double *out) {
  const cl_grid_level r = {160, 44, 45, 32, 8.5, 256};
  char err[CL_ERRLEN];
  cl_grid *g;
  cr_assert_eq(cl_grid_alloc_levels(m, &r, &r, &g, err), CL_OK, "%s", err);
  cr_assert_eq(cl_grid_eval_level(g, 1, R, Q, out, out + m->K * 3, err), CL_OK, "%s", err);
  cl_grid_free(g);
}

/* c = a b for complex numbers (re, im) */
static void cmul(double *ar, double *ai, double br, double bi) {
  const double r = *ar * br - *ai * bi;
  *ai = *ar * bi + *ai * br, *ar = r;
}

/* The weights against their exact moments and transforms. */
Test(grid3, weights_exact_moments_and_pair_marginals, .timeout = 60) {
  cl_model m = model_of("--M 3 --lambda 1 --rho 0.3 --c rademacher:3 --c uniform:2 --c sparse:2:0.3 "
                        "--R0 0.5,0.1,-0.2;0.2,0.6,0.1;-0.1,0.2,0.4 --Q0 0.9,0.1,0.05;0.1,0.8,0.1;0.05,0.1,0.5");
  const int K = m.K;
  char err[CL_ERRLEN];
  cl_grid *g;
  cr_assert_eq(cl_grid_alloc(&m, NULL, &g, err), CL_OK, "%s", err);
  const double *R = m.R0, *Q = m.Q0, s2 = m.s * m.s;
  double Cxi[9];
  for (int i = 0; i < 3; i++)
    for (int l = 0; l < 3; l++) {
      double rr = 0;
      for (int j = 0; j < K; j++) rr += R[j * 3 + i] * R[j * 3 + l];
      Cxi[i * 3 + l] = Q[i * 3 + l] - rr + m.rho * s2 * Q[i * 3 + l];
    }
  for (int lev = 0; lev < 2; lev++) {
    int n[3];
    double h[3], dX[3];
    const double *W;
    cr_assert_eq(cl_grid3_weights(g, lev, R, Q, n, h, dX, &W, err), CL_OK, "%s", err);
    const size_t N = (size_t)n[0] * n[1] * n[2];
    /* the coarse level's aliasing e^-18 and tails e^-22, the fine one's e^-28 */
    const double tl = lev ? 1e-11 : 1e-9;
    double mass = 0, mean[3] = {0}, cov[9] = {0}, cx[CL_KMAX * 3] = {0}, xx[9] = {0}, cm[CL_KMAX] = {0};
    /* the transform at w: of W_0 (E e^{i w.X}) and of W_c1 (E c_1 e^{i w.X}) */
    const double wv[5][3] = {{0.7, -0.4, 0}, {0.5, 0, 0.9}, {0, 0.6, 0.3}, {0.4, 0.3, -0.5}, {1.1, 0, 0}};
    double tr[5][4] = {{0}};
    for (int j0 = 0; j0 < n[0]; j0++)
      for (int j1 = 0; j1 < n[1]; j1++)
        for (int j2 = 0; j2 < n[2]; j2++) {
          const size_t k = ((size_t)j0 * n[1] + j1) * n[2] + j2;
          const int jj[3] = {j0, j1, j2};
          double X[3];
          for (int i = 0; i < 3; i++) X[i] = dX[i] * (jj[i] - n[i] / 2) * h[i];
          const double w0 = W[k];
          mass += w0;
          for (int i = 0; i < 3; i++) {
            mean[i] += X[i] * w0;
            for (int l = 0; l < 3; l++) cov[i * 3 + l] += X[i] * X[l] * w0;
            for (int j = 0; j < K; j++) cx[j * 3 + i] += X[i] * W[N * (size_t)(1 + j) + k];
            for (int r = 0; r < 3; r++) xx[r * 3 + i] += X[i] * dX[r] * W[N * (size_t)(K + 1 + r) + k];
          }
          for (int j = 0; j < K; j++) cm[j] += W[N * (size_t)(1 + j) + k];
          for (int v = 0; v < 5; v++) {
            const double a = wv[v][0] * X[0] + wv[v][1] * X[1] + wv[v][2] * X[2];
            tr[v][0] += cos(a) * w0, tr[v][1] += sin(a) * w0;
            tr[v][2] += cos(a) * W[N + k], tr[v][3] += sin(a) * W[N + k];
          }
        }
    cr_expect_leq(fabs(mass - 1), tl, "level %d: mass %.15g", lev, mass);
    for (int i = 0; i < 3; i++) {
      cr_expect_leq(fabs(mean[i]), tl, "level %d: E X_%d = %.3g", lev, i, mean[i]);
      for (int l = 0; l < 3; l++) {
        double ex = Cxi[i * 3 + l];
        for (int j = 0; j < K; j++) ex += m.c[j].m2 * R[j * 3 + i] * R[j * 3 + l];
        cr_expect_leq(fabs(cov[i * 3 + l] - ex), tl, "level %d: Cov X %d%d %.15g vs %.15g", lev, i, l,
                      cov[i * 3 + l], ex);
        cr_expect_leq(fabs(xx[i * 3 + l] - Cxi[i * 3 + l]), tl, "level %d: E xi_%d X_%d %.15g vs %.15g", lev, i, l,
                      xx[i * 3 + l], Cxi[i * 3 + l]);
      }
      for (int j = 0; j < K; j++)
        cr_expect_leq(fabs(cx[j * 3 + i] - m.c[j].m2 * R[j * 3 + i]), tl, "level %d: E c_%d X_%d %.15g vs %.15g",
                      lev, j, i, cx[j * 3 + i], m.c[j].m2 * R[j * 3 + i]);
    }
    for (int j = 0; j < K; j++) cr_expect_leq(fabs(cm[j]), tl, "level %d: E c_%d = %.3g", lev, j, cm[j]);
    for (int v = 0; v < 5; v++) {
      /* exact: prod_k psi_k(r_k . w) exp(-w^T C_xi w / 2), with chi_1 for c_1 */
      double gq = 0;
      for (int i = 0; i < 3; i++)
        for (int l = 0; l < 3; l++) gq += wv[v][i] * Cxi[i * 3 + l] * wv[v][l];
      double pr = exp(-0.5 * gq), pi = 0, qr = pr, qi = 0;
      for (int j = 0; j < K; j++) {
        const double t = R[j * 3] * wv[v][0] + R[j * 3 + 1] * wv[v][1] + R[j * 3 + 2] * wv[v][2];
        double fr, fi, c_r, c_i;
        cl_cf_law(&m.c[j], t, &fr, &fi, &c_r, &c_i);
        cmul(&pr, &pi, fr, fi);
        if (j == 0) cmul(&qr, &qi, c_r, c_i);
        else cmul(&qr, &qi, fr, fi);
      }
      cr_expect_leq(fabs(tr[v][0] - pr) + fabs(tr[v][1] - pi), tl, "level %d, w %d: E e^{iwX} %.15g%+.15gi vs %.15g%+.15gi",
                    lev, v, tr[v][0], tr[v][1], pr, pi);
      cr_expect_leq(fabs(tr[v][2] - qr) + fabs(tr[v][3] - qi), tl,
                    "level %d, w %d: E c_1 e^{iwX} %.15g%+.15gi vs %.15g%+.15gi", lev, v, tr[v][2], tr[v][3], qr, qi);
    }
    cr_log_info("level %d: %d x %d x %d nodes", lev, n[0], n[1], n[2]);
  }
  cl_grid_free(g);
}

/* a state of the model of args: the model's own (args with R0, Q0), or with
 * unit 3 nearly dead (Q_33 = q, its cosines 0.6, -0.3, 0.2 to the features,
 * uncorrelated with the other units) */
static cl_model state3(const char *args, double q) {
  cl_model m = model_of(args);
  if (q > 0) {
    const double v[3] = {0.6, -0.3, 0.2};
    for (int j = 0; j < m.K; j++) m.R0[j * 3 + 2] = (j < 3 ? v[j] : 0) * sqrt(q / m.c[j].m2);
    for (int i = 0; i < 2; i++) m.Q0[i * 3 + 2] = m.Q0[2 * 3 + i] = 0;
    m.Q0[8] = q;
  }
  return m;
}

/* Against a much finer grid (e^-45 aliasing, e^-32 tails, >= 44 inner nodes):
 * the brief's example at its start (pre-activation sd 1.1), a specialised
 * state, a unit nearly dead (Q_33 = 1e-8), two other laws and sigma.  Every
 * component within its estimate. */
Test(grid3, estimate_bounds_the_error_against_a_finer_grid, .timeout = 120) {
  const char *cases[] = {
      EX3 EX3R0,
      EX3 "--R0 0.8,0.05,0.02;0.03,0.5,0.1;0.01,0.05,0.3 --Q0 0.72,0.05,0.02;0.05,0.34,0.05;0.02,0.05,0.2",
      EX3 EX3R0,
      "--M 3 --lambda 0.5 --act erf --rho 0.4 --c gauss:2 --c uniform:3 "
      "--R0 0.3,0.1,-0.1;0.1,0.4,0.2 --Q0 0.8,0.1,0;0.1,0.6,0.1;0,0.1,0.4",
      "--M 3 --lambda 1 --act sigmoid --s 0.8 --c gauss:2 --c rademacher:1 --c sparse:3:0.3 "
      "--R0 0.3,0.1,-0.1;0.1,0.4,0.2;0.2,-0.1,0.3 --Q0 1,0.1,0;0.1,0.8,0.1;0,0.1,0.7",
      /* no per-view noise: sigma's poles as the smoothing (docs/grid.md s.4, s.14) */
      EX3 "--rho 1 " EX3R0,
      "--M 3 --lambda 0.5 --act erf --s 0 --c gauss:2 --c uniform:3 "
      "--R0 0.3,0.1,-0.1;0.1,0.4,0.2 --Q0 0.8,0.1,0;0.1,0.6,0.1;0,0.1,0.4",
  };
  const double qd[] = {0, 0, 1e-8, 0, 0, 0, 0};
  const int nc = (int)(sizeof cases / sizeof *cases);
  for (int c = 0; c < nc; c++) {
    cl_model m = state3(cases[c], qd[c]);
    const int nout = m.K * 3 + 9;
    double d[NOUT3], eb[NOUT3], f[NOUT3], worst = 0, big = 0;
    grid3_drift(&m, m.R0, m.Q0, d, eb);
    grid3_fine(&m, m.R0, m.Q0, f);
    for (int k = 0; k < nout; k++) {
      worst = fmax(worst, fabs(d[k] - f[k])), big = fmax(big, fabs(f[k]));
      cr_expect_leq(fabs(d[k] - f[k]), eb[k], "case %d: component %d: grid %.12g (estimate %.2g) vs finer %.12g", c, k,
                    d[k], eb[k], f[k]);
    }
    cr_log_info("case %d: max |grid - finer| %.3g, estimate %.3g (largest component %.3g)", c, worst, eb[0], big);
  }
}

/* The capped-axis rule of docs/grid.md s.4 at M = 3 (s.14): states whose
 * laws' tails want more than the fine level's 96 nodes along some axis are
 * served at the cap with both exponents lowered (a laplace law along the
 * units, the `cli_method_and_refusals` state that wanted 79 nodes and was
 * refused before, and at s = 0.05; a student law at s = 0.2), every
 * component within its estimate against a much finer grid; a student law
 * whose tails the two levels cannot resolve (s = 0.1) and a laplace law at
 * s = 0.02 (th < 0.05) are refused with their reasons. */
Test(grid3, capped_axis_within_estimate_or_refused, .timeout = 60) {
#define CAP3 "--M 3 --lambda 0.5 --act erf --rho 0.4 --R0 0.3,0.1,-0.1;0.1,0.4,0.2 --Q0 0.8,0.1,0;0.1,0.6,0.1;0,0.1,0.4 "
  const char *served[] = {CAP3 "--c laplace:2 --c uniform:3", CAP3 "--s 0.05 --c laplace:2 --c uniform:3",
                          CAP3 "--s 0.2 --c student:2:4.5 --c uniform:3"};
  for (int c = 0; c < 3; c++) {
    cl_model m = model_of(served[c]);
    const int nout = m.K * 3 + 9;
    double d[NOUT3], eb[NOUT3], f[NOUT3], worst = 0;
    char err[CL_ERRLEN];
    cl_grid *g;
    cr_assert_eq(cl_grid_alloc(&m, NULL, &g, err), CL_OK, "%s", err);
    cr_assert_eq(cl_grid_eval(g, m.R0, m.Q0, d, d + m.K * 3, eb, err), CL_OK, "case %d: %s", c, err);
    int nf[3];
    cl_grid_level_sizes(g, 1, nf);
    cr_expect_eq(nf[0], 96, "case %d: the fine level's first axis at the cap (%d nodes)", c, nf[0]);
    cl_grid_free(g);
    grid3_fine(&m, m.R0, m.Q0, f);
    for (int k = 0; k < nout; k++) {
      worst = fmax(worst, fabs(d[k] - f[k]));
      cr_expect_leq(fabs(d[k] - f[k]), eb[k], "case %d: component %d: grid %.12g (estimate %.2g) vs finer %.12g", c, k,
                    d[k], eb[k], f[k]);
    }
    cr_log_info("capped case %d: max |grid - finer| %.3g, estimate %.3g", c, worst, eb[0]);
  }
  const char *refused[] = {CAP3 "--s 0.1 --c student:2:4.5 --c uniform:3", CAP3 "--s 0.02 --c laplace:2 --c uniform:3"};
  const char *why[] = {"(student, nu = 4.5)", "a long-tailed law"};
  for (int c = 0; c < 2; c++) {
    cl_model m = model_of(refused[c]);
    double d[NOUT3], eb[NOUT3];
    char err[CL_ERRLEN];
    cl_grid *g;
    cr_assert_eq(cl_grid_alloc(&m, NULL, &g, err), CL_OK, "%s", err);
    cr_expect_eq(cl_grid_eval(g, m.R0, m.Q0, d, d + m.K * 3, eb, err), CL_EDIVERGE, "refused case %d served", c);
    cr_expect(strstr(err, CL_GRID_REFUSAL " 96 of the grid engine at M = 3") && strstr(err, why[c]), "%s", err);
    cr_expect(cl_grid_unresolved(g), "refused case %d: not marked unresolved (no rerun under --expect auto)", c);
    cl_grid_free(g);
  }
#undef CAP3
}

/* A dead third unit (Q_.3 = 0, R_.3 = 0) is the M = 2 model of units 1-2
 * (docs/fixed-points.md): the 3-d grid's drift of units 1-2 equals the
 * M = 2 grid's within the two estimates, and unit 3's stays 0. */
Test(grid3, dead_third_unit_gives_the_m2_grid, .timeout = 60) {
  const char *laws[] = {"--lambda 1 --c rademacher:3 --c rademacher:2.5 --c rademacher:2 ",
                        "--lambda 0.5 --act erf --rho 0.4 --c discrete:-1@0.25,0.5@0.5,0@0.25 --c uniform:3 "};
  const char *st2[] = {"--R0 0.4,0.1;0.05,0.3;0.1,0.02 --Q0 1,0.2;0.2,0.8", "--R0 0.4,0.1;0.05,0.3 --Q0 1,0.2;0.2,0.8"};
  for (int c = 0; c < 2; c++) {
    char a2[400], a3[400];
    snprintf(a2, sizeof a2, "--M 2 %s%s", laws[c], st2[c]);
    snprintf(a3, sizeof a3, "--M 3 %s", laws[c]);
    cl_model m2 = model_of(a2), m3 = model_of(a3);
    const int K = m2.K;
    double R3[CL_KMAX * 3], Q3[9];
    embed_units(K, 2, 3, m2.R0, m2.Q0, R3, Q3);
    double d2[NOUT3], e2[NOUT3], d3[NOUT3], e3[NOUT3];
    char err[CL_ERRLEN];
    cl_grid *g;
    cr_assert_eq(cl_grid_alloc(&m2, NULL, &g, err), CL_OK, "%s", err);
    cr_assert_eq(cl_grid_eval(g, m2.R0, m2.Q0, d2, d2 + K * 2, e2, err), CL_OK, "%s", err);
    cl_grid_free(g);
    grid3_drift(&m3, R3, Q3, d3, e3);
    const double worst = embedded_distance(K, 2, 3, d2, d3, e2[0] + e3[0], a3);
    cr_log_info("case %d: max |M = 3 - M = 2| %.3g against the estimates %.3g + %.3g", c, worst, e3[0], e2[0]);
  }
}

/* Against the deterministic rule of drift_acc.c at a fine level where it
 * is accurate (small Q: pre-activation sd about 0.4), and against the batch
 * Monte Carlo (4 standard errors plus the estimate) at the brief's start. */
Test(grid3, against_the_quad_rule_and_monte_carlo, .timeout = 120) {
  const char *small[] = {EX3 "--R0 0.1,0.02,0.01;0.03,0.1,0.02;0.01,0.02,0.1 --Q0 0.12,0.01,0;0.01,0.1,0.01;0,0.01,0.09",
                         EX3 "--rho 1 --R0 0.1,0.02,0.01;0.03,0.1,0.02;0.01,0.02,0.1 --Q0 0.12,0.01,0;0.01,0.1,0.01;0,0.01,0.09",
                         EX3 "--B 3 --R0 0.1,0.02,0.01;0.03,0.1,0.02;0.01,0.02,0.1 --Q0 0.12,0.01,0;0.01,0.1,0.01;0,0.01,0.09",
                         "--M 3 --lambda 0.5 --act erf --rho 0.4 --c discrete:-1@0.25,0.5@0.5,0@0.25 --c rademacher:2 "
                         "--R0 0.2,0.05,-0.05;0.05,0.2,0.1 --Q0 0.15,0.02,0;0.02,0.12,0.02;0,0.02,0.1"};
  for (int c = 0; c < 4; c++) {
    cl_model m = model_of(small[c]);
    const int nout = m.K * 3 + 9;
    double d[NOUT3], eb[NOUT3], q[NOUT3], worst = 0;
    grid3_drift(&m, m.R0, m.Q0, d, eb);
    /* Gauss-Hermite throughout: within 4e-14 of the finer grid at the first
     * state (the trapezoid at 20 nodes on [-7.5, 7.5] was 3e-9 off) */
    const cl_acc_level lv = {28, 28, 16, -1, -1};
    char err[CL_ERRLEN];
    cl_acc *a;
    cr_assert_eq(cl_acc_alloc_levels(&m, &lv, &lv, &a, err), CL_OK, "%s", err);
    cr_assert_eq(cl_acc_eval_level(a, 1, m.R0, m.Q0, q, q + m.K * 3, err), CL_OK, "%s", err);
    cl_acc_free(a);
    for (int k = 0; k < nout; k++) {
      worst = fmax(worst, fabs(d[k] - q[k]));
      cr_expect_leq(fabs(d[k] - q[k]), eb[k], "case %d: component %d: grid %.12g (estimate %.2g) vs quad %.12g", c, k,
                    d[k], eb[k], q[k]);
    }
    cr_log_info("small sd %d: max |grid - quad| %.3g, estimate %.3g", c, worst, eb[0]);
  }
  /* the brief's start, a specialised state, a nearly dead unit (Q_33 = 1e-8);
   * B = 2 and 3 with lambda != 0 (the 1/B expansion of docs/grid.md s.6) */
  const char *mc[] = {EX3 EX3R0,
                      EX3 "--R0 0.8,0.05,0.02;0.03,0.5,0.1;0.01,0.05,0.3 --Q0 0.72,0.05,0.02;0.05,0.34,0.05;0.02,0.05,0.2",
                      EX3 EX3R0, EX3 "--B 2 " EX3R0,
                      "--M 3 --B 3 --lambda 0.5 --act erf --rho 0.4 --c discrete:-1@0.25,0.5@0.5,0@0.25 --c rademacher:2 "
                      "--R0 0.4,0.1,-0.1;0.1,0.5,0.2 --Q0 0.8,0.1,0;0.1,0.6,0.1;0,0.1,0.5"};
  for (int c = 0; c < 5; c++) {
    cl_model m = state3(mc[c], c == 2 ? 1e-8 : 0);
    const int nout = m.K * 3 + 9;
    double ref[NOUT3], se[NOUT3], d[NOUT3], eb[NOUT3], worst = 0;
    mc_ref_batches(&m, m.R0, m.Q0, 100000, 31 + (uint64_t)c, 7, nout, mc_ref_drift, ref, se);
    grid3_drift(&m, m.R0, m.Q0, d, eb);
    for (int k = 0; k < nout; k++) {
      const double tol = 4 * se[k] + eb[k];
      worst = fmax(worst, fabs(d[k] - ref[k]) / tol);
      cr_expect_leq(fabs(d[k] - ref[k]), tol, "state %d: component %d: grid %.6g (estimate %.2g) vs Monte Carlo %.6g (se %.2g)",
                    c, k, d[k], eb[k], ref[k], se[k]);
    }
    cr_log_info("Monte Carlo, state %d: max |grid - MC| / (4 se + estimate) = %.2f", c, worst);
  }
}

/* `cldyn ode --M 3 --expect grid`: the method line names the 3-d engine
 * and its bound, the JSON method field carries it; outside the engine's
 * scope (relu, linear, cubic, g = abs, M = 5; M = 4 is served since
 * docs/grid.md s.15) `--expect grid` is refused, a state the capped-axis
 * rule cannot serve stops with exit 1 (under the default choice: reruns
 * with the Sobol' rules), and ode's default choice at M = 3 is the grid
 * (since session 23). */
Test(grid3, cli_method_and_refusals, .timeout = 60) {
  char eb[8192];
  ode_method_is(EX3 "--R0 '0.1,0.02,0.01;0.03,0.1,0.02;0.01,0.02,0.1' --T 0.5 --expect grid", "grid engine (M = 3", 1);
  /* since session 23 ode's default at M = 3 (docs/grid.md s.14) */
  ode_method_is(EX3 "--T 0.05", "grid engine (M = 3", 1);
  /* a state the capped-axis rule cannot serve (a student law whose tails
   * the two levels cannot resolve; until session 23 the laplace:2 state of
   * capped_axis_within_estimate_or_refused, which is now served): exit 1,
   * the reason, and no silent fallback */
  cr_expect_eq(run_cli("ode --M 3 --lambda 0.5 --act erf --rho 0.4 --s 0.1 --c student:2:4.5 --c uniform:3 "
                       "--R0 '0.3,0.1,-0.1;0.1,0.4,0.2' --Q0 '0.8,0.1,0;0.1,0.6,0.1;0,0.1,0.4' --T 0.1 --expect grid",
                       eb, sizeof eb),
               1, "%s", eb);
  cr_expect(strstr(eb, "grid nodes per direction") && strstr(eb, "at M = 3") && strstr(eb, "student"), "%s", eb);
  /* the same under the default choice: the whole run redone with the Sobol' rules, and said */
  cr_expect_eq(run_cli("ode --M 3 --lambda 0.5 --act erf --rho 0.4 --s 0.1 --c student:2:4.5 --c uniform:3 "
                       "--R0 '0.3,0.1,-0.1;0.1,0.4,0.2' --Q0 '0.8,0.1,0;0.1,0.6,0.1;0,0.1,0.4' --T 0.1",
                       eb, sizeof eb),
               0, "%s", eb);
  cr_expect(strstr(eb, "the grid refused t = 0: rerun so") && !strstr(eb, "grid engine (M = 3"), "%s", eb);
  CLI_REFUSES("ode --M 3 --lambda 1 --g abs --expect grid --T 0.1", NULL, "--expect: grid");
  CLI_REFUSES("ode --M 3 --act relu --expect grid --T 0.1", NULL, "--expect: grid");
  CLI_REFUSES("ode --M 3 --act linear --expect grid --T 0.1", NULL, "--expect: grid");
  CLI_REFUSES("ode --M 3 --act cubic --expect grid --T 0.1", NULL, "--expect: grid");
  /* (M = 5 alone until session 27: served since, tests/test_gridm.c) */
  CLI_REFUSES("ode --M 5 --lambda 1 --B 2 --expect grid --T 0.1", NULL, "--expect: grid");
}
