/* The deterministic rule (src/drift_acc.c, docs/accurate.md) with g = square,
 * B > 1 and lambda != 0: the exact 1/B expansion (docs/accurate.md s.2,
 * "B > 1"), suite "accurate" (the rest of the suite is in tests/test_multi.c):
 *  - against the brute-force batch Monte Carlo of tests/mc_ref.c (whole
 *    batches through cl_data_batch_loss, no expansion, no Stein regression)
 *    for every smooth sigma at M = 2 and 3 and B = 2, 3, 4;
 *  - against the Sobol' engine's own expansion (src/drift_multi.c) at many
 *    points;
 *  - its error estimate against a much finer rule. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "../src/drift_acc.h"
#include "../src/drift_grid.h"
#include "../src/drift_multi.h"
#include "cldyn/cldyn.h"
#include "mc_ref.h"
#include "testutil.h"

#define NOUT (CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX)
#define ST2 "--R0 0.4,0.1;0.05,0.3 --Q0 1,0.2;0.2,0.8 --c rademacher:3 --c uniform:2"
#define ST3 "--R0 0.4,0.1,0.0;0.05,0.3,0.2 --Q0 1,0.2,0.1;0.2,0.8,0;0.1,0,0.9 --c laplace:2 --c rademacher:3"

/* the rule with nodes outer nodes per direction on its coarse level (0: its
 * default levels): the drift (dR then dQ) and the estimate */
static void quad_drift(const cl_model *m, int nodes, double *out, double *eb) {
  char err[CL_ERRLEN];
  cl_quad_opts o = {0};
  o.acc_nodes = nodes;
  cl_acc *a;
  cr_assert_eq(cl_acc_alloc(m, &o, &a, err), CL_OK, "%s", err);
  cr_assert_eq(cl_acc_eval(a, m->R0, m->Q0, out, out + m->K * m->M, eb, err), CL_OK, "%s", err);
  cl_acc_free(a);
}

/* Every component of the drift d within its estimate eb plus the reference
 * f's own (fb[k] if fb, plus extra) of f; returns the largest ratio. */
static double within(const char *args, int nout, const double *d, const double *eb, const double *f, const double *fb,
                     double extra) {
  double worst = 0;
  for (int k = 0; k < nout; k++) {
    const double tol = eb[k] + (fb ? fb[k] : 0) + extra;
    worst = fmax(worst, fabs(d[k] - f[k]) / tol);
    cr_expect_leq(fabs(d[k] - f[k]), tol, "%s: component %d: %.12g (estimate %.3g) vs reference %.12g (its %.3g)", args,
                  k, d[k], eb[k], f[k], tol - eb[k]);
  }
  return worst;
}

/* the M = 2 grid engine (src/drift_grid.c) at its default levels; nodes
 * unused */
static void grid_drift(const cl_model *m, int nodes, double *out, double *eb) {
  char err[CL_ERRLEN];
  (void)nodes;
  cl_grid *g;
  cr_assert_eq(cl_grid_alloc(m, NULL, &g, err), CL_OK, "%s", err);
  cr_assert_eq(cl_grid_eval(g, m->R0, m->Q0, out, out + m->K * m->M, eb, err), CL_OK, "%s", err);
  cl_grid_free(g);
}

typedef void drift_fn(const cl_model *m, int nodes, double *out, double *eb);

/* engine vs the batch Monte Carlo (nb batches) within 4 standard errors plus
 * the estimate, case by case */
typedef struct {
  const char *args;
  int nodes;
} qcase;

static void against_mc_with(drift_fn *eng, const qcase *cs, int n, long nb, uint64_t seed) {
  for (int c = 0; c < n; c++) {
    const cl_model m = model_of(cs[c].args);
    const int nout = m.K * m.M + m.M * m.M;
    double ref[NOUT], se[NOUT], d[NOUT], eb[NOUT], worst = 0;
    mc_ref_batches(&m, m.R0, m.Q0, nb, seed + (uint64_t)c, 7, nout, mc_ref_drift, ref, se);
    eng(&m, cs[c].nodes, d, eb);
    for (int k = 0; k < nout; k++) {
      const double tol = 4 * se[k] + eb[k];
      worst = fmax(worst, fabs(d[k] - ref[k]) / tol);
      cr_expect_leq(fabs(d[k] - ref[k]), tol, "%s: component %d: engine %.6g (estimate %.2g) vs Monte Carlo %.6g (se %.2g)",
                    cs[c].args, k, d[k], eb[k], ref[k], se[k]);
    }
    cr_log_info("%s: max |engine - MC| / (4 se + estimate) = %.2f (estimate %.2g)", cs[c].args, worst, eb[0]);
  }
}

static void against_mc(const qcase *cs, int n, long nb, uint64_t seed) { against_mc_with(quad_drift, cs, n, nb, seed); }

/* Every smooth sigma at M = 2 and 3 with B = 2, 3, 4 against the batch
 * Monte Carlo (2e5 batches): within 4 standard errors plus the estimate
 * (14 nodes at M = 2, 12 at M = 3: far below the Monte Carlo's errors).
 * Without the fluctuation term of the expansion the tanh, erf and linear
 * cases fail (up to 7.5 times the tolerance), without the mean-field
 * products m_ik beta_ik all but cubic (up to 127 times; checked).  Cubic
 * (exact levels) at a state where the Monte Carlo still sees the tails of
 * its degree-22 V: too noisy there to see either term (0.28 with and without
 * the fluctuation term), it checks the rest. */
static const qcase m2_cases[] = {
    {"--M 2 --B 2 --lambda 1 --act tanh --s 0.6 --rho 0.3 " ST2, 14},
    {"--M 2 --B 3 --lambda 1 --act erf " ST2, 14},
    {"--M 2 --B 4 --lambda 1.5 --act sigmoid --rho 0.5 " ST2, 14},
    {"--M 2 --B 4 --lambda 0.5 --act linear --s 0.3 " ST2, 14},
    {"--M 2 --B 3 --lambda 1 --act cubic --s 0.5 --rho 0.3 --R0 0.5,0.1;0.1,0.4 --Q0 0.7,0.1;0.1,0.6 "
     "--c rademacher:1 --c uniform:1", 14},
};

Test(accurate, batch_expansion_m2_against_monte_carlo, .timeout = 60) { against_mc(m2_cases, 5, 200000, 90); }

Test(accurate, batch_expansion_m3_against_monte_carlo, .timeout = 240) {
  const qcase cs[] = {
      {"--M 3 --B 2 --lambda 1 --act tanh " ST3, 12},
      {"--M 3 --B 3 --lambda 1 --act sigmoid --rho 0.5 " ST3, 12},
      {"--M 3 --B 4 --lambda 1 --act erf --s 0.6 " ST3, 12},
      {"--M 3 --B 2 --lambda 0.7 --act linear --s 0.4 " ST3, 12},
  };
  against_mc(cs, 4, 200000, 95);
}

/* Against the Sobol' engine's own expansion (src/drift_multi.c: the same
 * mathematics, a different rule and code), 2^14 points per rule: within
 * the sum of the two printed error estimates; the quad rule at its default
 * levels. */
Test(accurate, batch_expansion_against_the_sobol_engine, .timeout = 240) {
  const char *cs[] = {"--M 2 --B 4 --lambda 1 --c rademacher:3 --c laplace:3 --R0 0.1,0.02;0.03,0.1",
                      "--M 2 --B 2 --lambda 1 --act erf --rho 0.3 " ST2,
                      "--M 2 --B 3 --lambda 1 --act sigmoid --s 1 " ST2,
                      "--M 3 --B 3 --lambda 1 --act tanh " ST3,
                      "--M 3 --B 4 --lambda 0.5 --act linear --rho 0.5 " ST3};
  for (int c = 0; c < 5; c++) {
    const cl_model m = model_of(cs[c]);
    const int nout = m.K * m.M + m.M * m.M;
    double d[NOUT], eb[NOUT], s[NOUT], sb[NOUT];
    quad_drift(&m, 0, d, eb);
    char err[CL_ERRLEN];
    cl_quad_opts o = {0};
    o.qmc_points = 16384;
    cl_multi *q;
    cr_assert_eq(cl_multi_alloc(&m, &o, &q, err), CL_OK, "%s", err);
    cr_assert_eq(cl_multi_eval(q, m.R0, m.Q0, s, s + m.K * m.M, sb, err), CL_OK, "%s", err);
    cl_multi_free(q);
    const double worst = within(cs[c], nout, d, eb, s, sb, 0);
    cr_log_info("%s: max |quad - sobol| / (estimate + bound) = %.2f (estimate %.2g, bound %.2g)", cs[c], worst, eb[0], sb[0]);
  }
}

/* The estimate covers the distance of the drift to a much finer rule in
 * every component (each level has its own first pass, so the estimate sees
 * the error of the moments m_ik too): case D's start at the default levels
 * (20 and 25) against 36 nodes, 12 nodes against 24 with erf and sigmoid,
 * M = 3 with 8 nodes (levels 8, 11, 14) against 18, and cubic at M = 3
 * (exact levels: rounding, which the estimate's floor covers). */
static void batch_estimate(const char *args, int nodes, cl_acc_level ref) {
  const cl_model m = model_of(args);
  const int nout = m.K * m.M + m.M * m.M;
  double d[NOUT], eb[NOUT], f[NOUT];
  char err[CL_ERRLEN];
  quad_drift(&m, nodes, d, eb);
  cl_acc *a;
  cr_assert_eq(cl_acc_alloc_levels(&m, &ref, &ref, &a, err), CL_OK, "%s", err);
  cr_assert_eq(cl_acc_eval_level(a, 0, m.R0, m.Q0, f, f + m.K * m.M, err), CL_OK, "%s", err);
  cl_acc_free(a);
  const double worst = within(args, nout, d, eb, f, NULL, 0);
  cr_log_info("%s (%d nodes): max |drift - finer| / estimate %.3g (estimate %.3g)", args, nodes, worst, eb[0]);
}

Test(accurate, batch_estimate_covers_a_much_finer_rule, .timeout = 240) {
  /* rl: many law nodes (the c rule limits the late state, docs/accurate.md s.5) */
  const cl_acc_level r0 = {36, 18, 12, 6.5, -1}, r2 = {24, 12, 12, 6.5, -1}, r3 = {18, 18, 8, 6.5, -1},
                     rl = {36, 18, 40, 6.5, -1},
                     r40 = {40, 40, 8, 6.5, -1};
  batch_estimate("--M 2 --B 4 --lambda 1 --c rademacher:3 --c laplace:3 --R0 0.1,0.02;0.03,0.1", 0, r0);
  batch_estimate("--M 2 --B 4 --lambda 1 --c rademacher:3 --c laplace:3 --R0 0.35,-0.02;0.02,0.6 "
                 "--Q0 0.3,0.01;0.01,0.45", 12, r2);
  batch_estimate("--M 2 --B 4 --lambda 1 --c rademacher:3 --c laplace:3 --R0 0.35,-0.02;0.02,0.6 "
                 "--Q0 0.3,0.01;0.01,0.45", 0, rl);
  batch_estimate("--M 2 --B 2 --lambda 1 --act erf --rho 0.3 " ST2, 12, r2);
  batch_estimate("--M 2 --B 3 --lambda 1.5 --act sigmoid --s 1 " ST2, 12, r2);
  batch_estimate("--M 3 --B 3 --lambda 1 --act tanh " ST3, 8, r3);
  batch_estimate("--M 3 --B 2 --lambda 1 --act cubic --s 0.5 --c rademacher:3 --R0 0.1275,0.0425,-0.085 "
                 "--Q0 0.722,0.0722,0;0.0722,0.722,0.0722;0,0.0722,0.722",
                 0, r40);
}

/* Near the sd limits of the M = 2 default levels (docs/accurate.md s.8:
 * tanh 1.15, erf 2, sigmoid 4; the expansion's integrands are the B = 1
 * ones with other coefficients and products of the same one-view moments):
 * R = 0.1, Q = q (I + 0.2 off the diagonal) with the pre-activation sd at
 * 0.97 of the limit, lambda = 1, rho = 0.5, s = 0.5 and 2, B = 2 and 4;
 * the default levels' estimate against 44 outer and 30 inner nodes. */
Test(accurate, batch_estimate_near_the_sd_limits, .timeout = 240) {
  const cl_acc_level ref = {44, 30, 12, 6.5, -1};
  const struct {
    const char *act;
    double lim;
  } acts[] = {{"tanh", 1.15}, {"erf", 2}, {"sigmoid", 4}};
  char args[512];
  for (int a = 0; a < 3; a++)
    for (int v = 0; v < 4; v++) {
      const double s = v & 1 ? 2 : 0.5, sd = 0.97 * acts[a].lim;
      /* sd^2 = q (1 + s^2) + (m2 - 1) R^2, m2 = 3 */
      const double q = (sd * sd - 2 * 0.01) / (1 + s * s);
      snprintf(args, sizeof args, "--M 2 --B %d --lambda 1 --rho 0.5 --s %g --act %s --c laplace:3 --R0 0.1,0.1 "
               "--Q0 %.6g,%.6g;%.6g,%.6g", v & 2 ? 4 : 2, s, acts[a].act, q, 0.2 * q, 0.2 * q, q);
      batch_estimate(args, 0, ref);
    }
  /* M = 3 (limits tanh 1.7, sigmoid 6; levels 14, 19, 24) at 0.97 of them,
   * s = 2, a discrete law (the reference's cost), against 36 nodes */
  const cl_acc_level ref3 = {36, 36, 8, 6.5, -1};
  for (int a = 0; a < 2; a++) {
    const double lim = a ? 6 : 1.7, sd = 0.97 * lim, q = (sd * sd - 2 * 0.01) / 5;
    snprintf(args, sizeof args, "--M 3 --B 3 --lambda 1 --rho 0.5 --s 2 --act %s --c rademacher:3 --R0 0.1,0.1,0.1 "
             "--Q0 %.6g,%.6g,0;%.6g,%.6g,%.6g;0,%.6g,%.6g", a ? "sigmoid" : "tanh", q, 0.2 * q, 0.2 * q, q, 0.2 * q, 0.2 * q, q);
    batch_estimate(args, 0, ref3);
  }
}

/* The CLI: `--expect quad` takes B > 1 with lambda != 0 and says so in its
 * method line, cubic with B > 1 and lambda != 0 at M = 3 is served by it by
 * default (the Sobol' rules refuse cubic; at M = 2 the grid serves it), and g = abs, relu and rho < 0 with
 * B > 1 are refused in one line, exit 2. */
Test(accurate, batch_expansion_on_the_cli, .timeout = 60) {
  char eb[4096];
  cr_expect_eq(run_cli("ode --M 2 --B 4 --lambda 1 --c rademacher:3 --c laplace:3 --R0 '0.1,0.02;0.03,0.1' --T 0.2 "
                       "--expect quad --quad-nodes 6",
                       eb, sizeof eb),
               0, "%s", eb);
  cr_expect(strstr(eb, "B > 1: 1/B expansion"), "%s", eb);
  cr_expect_eq(run_cli("ode --M 3 --B 2 --lambda 0.3 --act cubic --c rademacher:1 --R0 0.2,0.05,0.1 --Q0 0.25 "
                       "--T 0.0005 --quad-nodes 4",
                       eb, sizeof eb),
               0, "%s", eb);
  cr_expect(strstr(eb, "deterministic rule") && strstr(eb, "B > 1: 1/B expansion"), "%s", eb);
  CLI_REFUSES("ode --M 2 --B 2 --lambda 1 --g abs --expect quad --T 0.1", NULL, "--expect: quad", "g = abs");
  CLI_REFUSES("ode --M 2 --B 4 --lambda 1 --act relu --expect quad --T 0.1", NULL, "--expect: quad", "relu");
  CLI_REFUSES("ode --M 3 --B 3 --lambda 1 --rho -0.3 --expect quad --T 0.1", NULL, "--expect: quad", "rho < 0");
}

/* ---- the same expansion on the M = 2 grid (src/drift_grid.c, docs/grid.md) ---- */

/* The M = 2 cases of batch_expansion_m2_against_monte_carlo on the grid at
 * its default levels (the nodes of the cases unused). */
Test(grid, batch_expansion_against_monte_carlo, .timeout = 60) { against_mc_with(grid_drift, m2_cases, 5, 200000, 90); }

/* The grid's estimate covers its distance to the quad rule at 36 outer
 * nodes (about 1e-8 at case D's start, s.5 of docs/accurate.md) plus that
 * rule's own distance to 40 nodes (its error, roughly): case D at its start
 * and at a late state, erf, sigmoid (s = 1), rho = 0.5 with tanh and a
 * laplace law, B = 2, 3, 4. */
Test(grid, batch_estimate_covers_the_quad_rule, .timeout = 240) {
  const char *cs[] = {"--M 2 --B 4 --lambda 1 --c rademacher:3 --c laplace:3 --R0 0.1,0.02;0.03,0.1",
                      "--M 2 --B 4 --lambda 1 --c rademacher:3 --c laplace:3 --R0 0.35,-0.02;0.02,0.6 "
                      "--Q0 0.3,0.01;0.01,0.45",
                      "--M 2 --B 2 --lambda 1 --act erf --rho 0.3 " ST2,
                      "--M 2 --B 3 --lambda 1.5 --act sigmoid --s 1 " ST2,
                      "--M 2 --B 3 --lambda 1 --rho 0.5 --s 0.8 --c laplace:2 --R0 0.3,-0.1 --Q0 0.8,0.3;0.3,0.9"};
  const cl_acc_level r36 = {36, 18, 14, 6.5, -1}, r40 = {40, 20, 16, 6.5, -1};
  for (int c = 0; c < 5; c++) {
    const cl_model m = model_of(cs[c]);
    const int nout = m.K * m.M + m.M * m.M;
    double d[NOUT], eb[NOUT], f[NOUT], f2[NOUT], rerr = 0;
    char err[CL_ERRLEN];
    grid_drift(&m, 0, d, eb);
    cl_acc *a;
    cr_assert_eq(cl_acc_alloc_levels(&m, &r36, &r40, &a, err), CL_OK, "%s", err);
    cr_assert_eq(cl_acc_eval_level(a, 0, m.R0, m.Q0, f, f + m.K * m.M, err), CL_OK, "%s", err);
    cr_assert_eq(cl_acc_eval_level(a, 1, m.R0, m.Q0, f2, f2 + m.K * m.M, err), CL_OK, "%s", err);
    cl_acc_free(a);
    for (int k = 0; k < nout; k++) rerr = fmax(rerr, fabs(f2[k] - f[k]));
    const double worst = within(cs[c], nout, d, eb, f2, NULL, rerr);
    cr_log_info("%s: max |grid - quad| / (estimate + quad's) %.3g (estimate %.3g, quad's %.3g)", cs[c], worst, eb[0],
                rerr);
  }
}

/* By default (`--expect auto`) case D is now on the grid, and says so. */
Test(grid, batch_expansion_is_the_default_at_m2, .timeout = 60) {
  char eb[4096];
  cr_expect_eq(run_cli("ode --M 2 --B 4 --lambda 1 --c rademacher:3 --c laplace:3 --R0 '0.1,0.02;0.03,0.1' --T 0.5",
                       eb, sizeof eb),
               0, "%s", eb);
  cr_expect(strstr(eb, "grid engine") && strstr(eb, "B > 1: 1/B expansion"), "%s", eb);
}

/* Near the grid's sd limits (docs/hardening.md s.15: tanh 9, erf 11,
 * sigmoid 22) with the expansion: R = 0.1, Q = q (I + 0.2 off the
 * diagonal) at 0.97 of the limit, lambda = 1, rho = 0.5, s = 0.5 and 2,
 * B = 2 and 4; the default levels' estimate against the grid at
 * `--grid-nodes 36` (1.5 times finer in every respect, docs/grid.md s.5). */
Test(grid, batch_estimate_near_the_sd_limits, .timeout = 120) {
  const struct {
    const char *act;
    double lim;
  } acts[] = {{"tanh", 9}, {"erf", 11}, {"sigmoid", 22}};
  char args[512], err[CL_ERRLEN];
  for (int a = 0; a < 3; a++)
    for (int v = 0; v < 4; v++) {
      const double s = v & 1 ? 2 : 0.5, sd = 0.97 * acts[a].lim, q = (sd * sd - 2 * 0.01) / (1 + s * s);
      snprintf(args, sizeof args, "--M 2 --B %d --lambda 1 --rho 0.5 --s %g --act %s --c laplace:3 --R0 0.1,0.1 "
               "--Q0 %.6g,%.6g;%.6g,%.6g", v & 2 ? 4 : 2, s, acts[a].act, q, 0.2 * q, 0.2 * q, q);
      const cl_model m = model_of(args);
      const int nout = m.K * m.M + m.M * m.M;
      double d[NOUT], eb[NOUT], f[NOUT], fe[NOUT];
      grid_drift(&m, 0, d, eb);
      cl_quad_opts o = {0};
      o.grid_nodes = 36;
      cl_grid *g;
      cr_assert_eq(cl_grid_alloc(&m, &o, &g, err), CL_OK, "%s", err);
      cr_assert_eq(cl_grid_eval(g, m.R0, m.Q0, f, f + m.K * m.M, fe, err), CL_OK, "%s", err);
      cl_grid_free(g);
      const double worst = within(args, nout, d, eb, f, NULL, 0);
      cr_log_info("%s: max |drift - finer| / estimate %.3g (estimate %.3g, finer's %.3g)", args, worst, eb[0], fe[0]);
    }
}

/* cl_acc_node (one outer node, written out since session 20 for speed) is
 * acc_rows at n = 1 operation for operation: the same sums to the bit,
 * for B = 1 with and without lambda and for the 1/B expansion's terms
 * (docs/accurate.md s.4, "Less work per node") */
Test(accurate, one_node_sums_are_the_rows_sums_bit_for_bit) {
  enum { K = 3, M = 3, F = 4 * M + 1 };
  cl_rng *rng;
  cr_assert_eq(cl_rng_alloc(20, 7, &rng, NULL), CL_OK);
  double mf[F], Mo[F * F], Ee[F * M], wc[K], wxi[M], wmu[M], mm[M * M];
  for (int f = 0; f < F; f++) mf[f] = cl_rng_gauss(rng);
  for (int k = 0; k < F * F; k++) Mo[k] = cl_rng_gauss(rng);
  for (int k = 0; k < F * M; k++) Ee[k] = cl_rng_gauss(rng);
  for (int j = 0; j < K; j++) wc[j] = cl_rng_gauss(rng);
  for (int r = 0; r < M; r++) wxi[r] = cl_rng_gauss(rng), wmu[r] = cl_rng_gauss(rng);
  for (int k = 0; k < M * M; k++) mm[k] = cl_rng_gauss(rng);
  const double w0 = 0.37;
  const double *pm[F], *pM[F * F], *pE[F * M], *pc[K], *px[M], *pu[M];
  for (int f = 0; f < F; f++) pm[f] = mf + f;
  for (int k = 0; k < F * F; k++) pM[k] = Mo + k;
  for (int k = 0; k < F * M; k++) pE[k] = Ee + k;
  for (int j = 0; j < K; j++) pc[j] = wc + j;
  for (int r = 0; r < M; r++) px[r] = wxi + r, pu[r] = wmu + r;
  const double lam[3] = {0, 1, 0.7};
  const int B[3] = {1, 1, 3};
  for (int c = 0; c < 3; c++) {
    cl_acc_terms t;
    cl_acc_terms_batch(&t, K, M, lam[c], B[c], mm);
    double a1[512], a2[512], scr[512];
    cr_assert_leq(t.nsum, 512);
    cr_assert_leq(cl_acc_rows_scratch(&t, 1), 512);
    for (int k = 0; k < t.nsum; k++) a1[k] = a2[k] = cl_rng_gauss(rng); /* accumulators already holding sums */
    for (int rep = 0; rep < 2; rep++) {
      cl_acc_node(&t, mf, Mo, Ee, w0, wc, wxi, wmu, a1);
      cl_acc_rows(&t, 1, pm, pM, pE, &w0, pc, px, pu, a2, scr);
    }
    for (int k = 0; k < t.nsum; k++) cr_expect_eq(a1[k], a2[k], "case %d, entry %d: %.17g against %.17g", c, k, a1[k], a2[k]);
  }
  cl_rng_free(rng);
}
