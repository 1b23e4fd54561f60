/* The M = 4 grid engine by inclusion-exclusion over the sub-models
 * (src/drift_grid4.c, docs/grid.md s.15), suite "grid4":
 *  - the embedding: a dead fourth unit gives the M = 3 grid of units 1-3;
 *  - lambda = 0: each unit's components are the M = 2 grid's;
 *  - the units' permutations: the drift of a permuted state is the
 *    permuted drift;
 *  - the batch Monte Carlo of tests/mc_ref.c at case B's start and a
 *    specialised state, within 4 standard errors plus the estimate (also
 *    sigmoid at a generic state);
 *  - the CLI's `--expect grid` at M = 4 and the refusals outside its scope. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../src/drift_grid.h"
#include "../src/drift_grid4.h"
#include "cldyn/cldyn.h"
#include "mc_ref.h"
#include "testutil.h"

#define NOUT4 (CL_KMAX * 4 + 16)

/* case B of issue 12 (bench/multi_cases.sh) */
#define CASEB "--M 4 --lambda 1 --c laplace:3 --c uniform:3 --c rademacher:3 --c rademacher:2 "
#define CASEBR0 "--R0 0.1,0.02,0.01,0;0.02,0.1,0.01,0.01;0.01,0,0.1,0.02;0,0.01,0.02,0.1"

/* the engine: M = 2 or 3 (cl_grid_alloc) or 4 (cl_grid4_alloc) */
static cl_status grid_alloc(const cl_model *m, const cl_quad_opts *o, cl_grid **g, char *err) {
  return m->M == 4 ? cl_grid4_alloc(m, o, g, err) : cl_grid_alloc(m, o, g, err);
}

/* the engine at its default levels: the drift (dR then dQ) and the estimate */
static void grid_drift(const cl_model *m, const double *R, const double *Q, double *out, double *eb) {
  char err[CL_ERRLEN];
  cl_grid *g;
  cr_assert_eq(grid_alloc(m, NULL, &g, err), CL_OK, "%s", err);
  cr_assert_eq(cl_grid_eval(g, R, Q, out, out + m->K * m->M, eb, err), CL_OK, "%s", err);
  cl_grid_free(g);
}

/* The M = 3 grid at the levels of the M = 4 engine's triples of m4
 * (cl_grid4_levels, the 3-d caps): the drift and the estimate. */
static void grid3_at_m4_levels(const cl_model *m3, const cl_model *m4, double *out, double *eb) {
  char err[CL_ERRLEN];
  cl_grid_level c, f;
  cl_grid4_levels(m4, 0, &c, &f);
  cl_grid_caps(3, 0, &c, &f);
  cl_grid *g;
  cr_assert_eq(cl_grid_alloc_levels(m3, &c, &f, &g, err), CL_OK, "%s", err);
  cr_assert_eq(cl_grid_eval(g, m3->R0, m3->Q0, out, out + m3->K * 3, eb, err), CL_OK, "%s", err);
  cl_grid_free(g);
}

/* A dead fourth unit (Q_.4 = 0, R_.4 = 0; tanh is odd, so y_4 = 0) is the
 * M = 3 model of units 1-3 (docs/fixed-points.md's embedding): with every
 * sub-engine at the default levels (cl_grid_default_levels, the M = 3
 * grid's), every component of units 1-3 equals the M = 3 grid's to
 * rounding, unit 4's are 0.  (The identity of a triple with a dead unit
 * and its pair holds to the levels' aliasing, below 1e-14 at e^-28; at the
 * M = 4 levels, e^-18 where the views have their own noise, it is 9e-10 in
 * case 0: there the M = 4 engine against the M = 3 grid at the same levels
 * within the two estimates.) */
Test(grid4, dead_fourth_unit_gives_the_m3_grid, .timeout = 60) {
  const char *laws[] = {"--lambda 1 --c rademacher:3 --c rademacher:2.5 --c rademacher:2 ",
                        "--lambda 0.5 --act erf --rho 0.4 --c discrete:-1@0.25,0.5@0.5,0@0.25 --c uniform:3 "};
  const char *st3[] = {"--R0 0.4,0.1,0.05;0.05,0.3,0.1;0.1,0.02,0.2 --Q0 1,0.2,0.1;0.2,0.8,0.1;0.1,0.1,0.6",
                       "--R0 0.4,0.1,0.05;0.05,0.3,0.1 --Q0 1,0.2,0.1;0.2,0.8,0.1;0.1,0.1,0.6"};
  for (int c = 0; c < 2; c++) {
    char a3[400], a4[400], err[CL_ERRLEN];
    snprintf(a3, sizeof a3, "--M 3 %s%s", laws[c], st3[c]);
    snprintf(a4, sizeof a4, "--M 4 %s", laws[c]);
    cl_model m3 = model_of(a3), m4 = model_of(a4);
    const int K = m3.K;
    double R4[CL_KMAX * 4], Q4[16];
    embed_units(K, 3, 4, m3.R0, m3.Q0, R4, Q4);
    double d3[NOUT4], e3[NOUT4], d4[NOUT4] = {0}, e4[NOUT4], big = 0;
    grid_drift(&m3, m3.R0, m3.Q0, d3, e3);
    cl_grid_level lv[2];
    cl_grid_default_levels(0, &lv[0], &lv[1]);
    cl_grid4 *g;
    cr_assert_eq(cl_grid4_new_levels(&m4, NULL, lv, &g, err), CL_OK, "%s", err);
    cr_assert_eq(cl_grid4_eval_parts(g, 1, CL_GRID4_ALL, R4, Q4, d4, d4 + K * 4, err), CL_OK, "%s", err);
    cl_grid4_free(g);
    for (int k = 0; k < K * 3 + 9; k++) big = fmax(big, fabs(d3[k]));
    const double worst = embedded_distance(K, 3, 4, d3, d4, 1e-12 * big, a4);
    /* the M = 4 levels */
    grid3_at_m4_levels(&m3, &m4, d3, e3);
    grid_drift(&m4, R4, Q4, d4, e4);
    double e = 0;
    for (int k = 0; k < K * 4 + 16; k++) e = fmax(e, e4[k]);
    for (int k = 0; k < K * 3 + 9; k++) e = fmax(e, e3[k]);
    const double w4 = embedded_distance(K, 3, 4, d3, d4, 2 * e, a4);
    cr_log_info("case %d: max |M = 4 - M = 3| %.3g (largest component %.3g); at the M = 4 levels %.3g against the "
                "estimates' 2 max %.3g", c, worst, big, w4, 2 * e);
  }
}

/* a generic state of case B's model (units at angles to the features,
 * correlated: the four-unit terms of dQ_il up to 9.9e-3) and a specialised
 * one (units 2-4 mostly along features 2-4, every unit along its own
 * feature, A = Q - R^T R diagonal: the four-unit terms, which grow with the
 * units' dependence, at most 8e-4; both by a plain Monte Carlo of those
 * terms alone, 2e6 samples, docs/grid.md s.15).  A unit much along the laplace feature is refused
 * by the M = 3 sub-engines (no capped axis at M = 3, docs/grid.md s.14). */
#define GEN4R0 "--R0 0.1,0.05,0.08,-0.05;0.05,0.25,0.02,0.1;-0.1,0.05,0.3,0.05;0.02,-0.05,0.05,0.25 "
#define GEN4Q0 "--Q0 0.8,0.15,0.05,0.02;0.15,0.7,0.1,0.05;0.05,0.1,0.6,0.08;0.02,0.05,0.08,0.5"
#define SPEC4R0 "--R0 0.15,0,0.004,0;0,0.35,0,0.004;0.004,0,0.5,0;0,0.004,0,0.3 "
#define SPEC4Q0 "--Q0 0.4,0,0.0026,0;0,0.3,0,0.0026;0.0026,0,0.45,0;0,0.0026,0,0.2"

/* lambda = 0: no unit enters another's components, so unit i's (dR_.i,
 * dQ_ii) are those of any M = 2 grid containing it, and dQ_il (i != l) is
 * the M = 2 grid's of the pair (i, l).  The engine's singles come from the
 * pairs (1, 2) and (3, 4); the reference takes (1, 3) and (2, 4) for the
 * units and every pair for dQ_il: within the estimates' sum. */
Test(grid4, lambda_zero_gives_the_m2_grids, .timeout = 60) {
  cl_model m = model_of("--M 4 --lambda 0 --c laplace:3 --c uniform:3 --c rademacher:3 --c rademacher:2 " GEN4R0 GEN4Q0);
  const int K = m.K;
  double d4[NOUT4], e4[NOUT4], worst = 0;
  grid_drift(&m, m.R0, m.Q0, d4, e4);
  for (int a = 0; a < 4; a++)
    for (int b = a + 1; b < 4; b++) {
      cl_model m2 = m;
      m2.M = 2;
      const int u[2] = {a, b};
      double R2[CL_KMAX * 2], Q2[4], d2[NOUT4], e2[NOUT4];
      for (int j = 0; j < K; j++)
        for (int x = 0; x < 2; x++) R2[j * 2 + x] = m.R0[j * 4 + u[x]];
      for (int x = 0; x < 2; x++)
        for (int y = 0; y < 2; y++) Q2[x * 2 + y] = m.Q0[u[x] * 4 + u[y]];
      grid_drift(&m2, R2, Q2, d2, e2);
      const double tol = e4[0] + e2[0];
      const int units = (a == 0 && b == 2) || (a == 1 && b == 3); /* the pairs that give the units */
      for (int x = 0; x < 2 && units; x++) {
        for (int j = 0; j < K; j++) {
          const double p = d4[j * 4 + u[x]], q = d2[j * 2 + x];
          worst = fmax(worst, fabs(p - q));
          cr_expect_leq(fabs(p - q), tol, "dR_%d%d %.15g vs M = 2 %.15g", j, u[x], p, q);
        }
        const double p = d4[K * 4 + u[x] * 5], q = d2[K * 2 + x * 3];
        worst = fmax(worst, fabs(p - q));
        cr_expect_leq(fabs(p - q), tol, "dQ_%d%d %.15g vs M = 2 %.15g", u[x], u[x], p, q);
      }
      const double p = d4[K * 4 + a * 4 + b], q = d2[K * 2 + 1];
      worst = fmax(worst, fabs(p - q));
      cr_expect_leq(fabs(p - q), tol, "dQ_%d%d %.15g vs M = 2 %.15g", a, b, p, q);
      cr_expect_eq(d4[K * 4 + a * 4 + b], d4[K * 4 + b * 4 + a], "dQ symmetric");
    }
  cr_log_info("lambda = 0: max |M = 4 - M = 2| %.3g against the estimate %.3g", worst, e4[0]);
}

/* Against the same engine 1.5 times finer in every respect (`--grid-nodes
 * 36`: every sub-engine's steps, ranges, inner nodes and caps): at case B's
 * start and the generic state, every component within the printed
 * estimate (the specialised state wants 117 nodes per direction at the
 * finer engine's M = 3 coarse level, more than its cap of 108: refused). */
Test(grid4, estimate_bounds_the_error_against_a_finer_engine, .timeout = 120) {
  const char *st[] = {CASEB CASEBR0, CASEB GEN4R0 GEN4Q0};
  for (int c = 0; c < 2; c++) {
    cl_model m = model_of(st[c]);
    const int nout = m.K * 4 + 16;
    double d[NOUT4], eb[NOUT4], f[NOUT4], fe[NOUT4], worst = 0;
    grid_drift(&m, m.R0, m.Q0, d, eb);
    cl_quad_opts o = {0};
    o.grid_nodes = 36;
    char err[CL_ERRLEN];
    cl_grid *g;
    cr_assert_eq(grid_alloc(&m, &o, &g, err), CL_OK, "%s", err);
    cr_assert_eq(cl_grid_eval(g, m.R0, m.Q0, f, f + m.K * 4, fe, err), CL_OK, "%s", err);
    cl_grid_free(g);
    for (int k = 0; k < nout; k++) {
      worst = fmax(worst, fabs(d[k] - f[k]));
      cr_expect_leq(fabs(d[k] - f[k]), eb[k], "state %d: component %d: %.15g (estimate %.2g) vs finer %.15g", c, k, d[k],
                    eb[k], f[k]);
    }
    cr_log_info("state %d: max |grid - finer| %.3g, estimate %.3g (the finer one's %.3g)", c, worst, eb[0], fe[0]);
  }
}

/* The M = 4 levels (cl_grid4_levels, docs/grid.md s.15, "The M = 4
 * levels"): on a model that is not case B (uniform, sparse and gauss laws,
 * K = 3, erf, rho = 0.3) at its start and at a generic state, the engine's
 * estimate bounds, in every component, the distance of its fine level to
 * the fine level of the engine with every sub-engine at the default levels
 * of --grid-nodes 36 (cl_grid_default_levels: aliasing e^-63, tails
 * e^-42, 36 inner nodes on +-8; the four-unit terms at --grid-nodes 36). */
Test(grid4, m4_levels_estimate_bounds_a_finer_reference, .timeout = 60) {
  const char *st[] = {"", "--R0 0.1,0.05,0.08,-0.05;0.05,0.25,0.02,0.1;-0.1,0.05,0.3,0.05 " GEN4Q0};
  for (int c = 0; c < 2; c++) {
    char a[512];
    snprintf(a, sizeof a, "--M 4 --lambda 1 --act erf --rho 0.3 --c uniform:3 --c sparse:3:0.5 --c gauss:2 %s", st[c]);
    cl_model m = model_of(a);
    const int nout = m.K * 4 + 16;
    double d[NOUT4], eb[NOUT4], f[CL_KMAX * 4 + 16], worst = 0, emax = 0;
    grid_drift(&m, m.R0, m.Q0, d, eb);
    cl_quad_opts o = {0};
    o.grid_nodes = 36;
    cl_grid_level lv[2];
    cl_grid_default_levels(36, &lv[0], &lv[1]);
    char err[CL_ERRLEN];
    cl_grid4 *g;
    cr_assert_eq(cl_grid4_new_levels(&m, &o, lv, &g, err), CL_OK, "%s", err);
    cr_assert_eq(cl_grid4_eval_parts(g, 1, CL_GRID4_ALL, m.R0, m.Q0, f, f + m.K * 4, err), CL_OK, "%s", err);
    cl_grid4_free(g);
    for (int k = 0; k < nout; k++) {
      worst = fmax(worst, fabs(d[k] - f[k])), emax = fmax(emax, eb[k]);
      cr_expect_leq(fabs(d[k] - f[k]), eb[k], "state %d: component %d: %.15g (estimate %.2g) vs finer %.15g", c, k,
                    d[k], eb[k], f[k]);
    }
    cr_log_info("state %d: max |grid - finer| %.3g, estimate %.3g", c, worst, emax);
  }
}

/* A sub-engine's refusal with no error buffer (err = NULL: `fixed` asks
 * for drifts that way): the status comes back, nothing is written through
 * the null pointer.  Until session 28 cl_grid4_eval_parts copied the
 * failed task's message with snprintf(err, ...) and `fixed --M 5 --expect
 * grid` died of a SIGSEGV at its first refused Newton iterate.  The state
 * is cli_method_and_refusals' (a triple the student law's tails refuse). */
Test(grid4, refusal_without_an_error_buffer, .timeout = 60) {
  cl_model m = model_of("--M 4 --lambda 0.5 --act erf --rho 0.4 --s 0.05 --c student:2:4.5 --c uniform:3 "
                        "--R0 0.3,0.1,-0.1,0.05;0.1,0.4,0.2,0.1 "
                        "--Q0 0.8,0.1,0,0;0.1,0.6,0.1,0;0,0.1,0.4,0.05;0,0,0.05,0.5");
  char err[CL_ERRLEN] = "";
  cl_grid4 *g;
  cr_assert_eq(cl_grid4_new(&m, NULL, &g, err), CL_OK, "%s", err);
  double dR[CL_KMAX * 4], dQ[16];
  const cl_status st = cl_grid4_eval_parts(g, 1, CL_GRID4_ALL, m.R0, m.Q0, dR, dQ, NULL);
  cr_expect_neq(st, CL_OK, "the state is refused");
  cr_expect_eq(cl_grid4_eval_parts(g, 1, CL_GRID4_ALL, m.R0, m.Q0, dR, dQ, err), st, "the same status with a buffer");
  cr_expect(strstr(err, "grid nodes per direction") != NULL, "%s", err);
  cl_grid4_free(g);
}

/* The units' permutations: at a generic state, the drift of the permuted
 * state (R_.pi(i), Q_pi(i)pi(l)) is the permuted drift, within the two
 * estimates (the sub-engines are not bit-symmetric: a triple's units come
 * in another order, a unit's own drift from another pair). */
Test(grid4, permuted_units_give_the_permuted_drift, .timeout = 60) {
  cl_model m = model_of(CASEB GEN4R0 GEN4Q0);
  const int K = m.K;
  const int perms[2][4] = {{1, 3, 0, 2}, {3, 2, 1, 0}};
  double d[NOUT4], e[NOUT4];
  grid_drift(&m, m.R0, m.Q0, d, e);
  for (int p = 0; p < 2; p++) {
    const int *pi = perms[p];
    double R[CL_KMAX * 4], Q[16], dp[NOUT4], ep[NOUT4], worst = 0;
    for (int j = 0; j < K; j++)
      for (int i = 0; i < 4; i++) R[j * 4 + pi[i]] = m.R0[j * 4 + i];
    for (int i = 0; i < 4; i++)
      for (int l = 0; l < 4; l++) Q[pi[i] * 4 + pi[l]] = m.Q0[i * 4 + l];
    grid_drift(&m, R, Q, dp, ep);
    const double tol = e[0] + ep[0];
    for (int j = 0; j < K; j++)
      for (int i = 0; i < 4; i++) {
        const double a = dp[j * 4 + pi[i]], b = d[j * 4 + i];
        worst = fmax(worst, fabs(a - b));
        cr_expect_leq(fabs(a - b), tol, "perm %d: dR_%d%d %.15g vs %.15g", p, j, i, a, b);
      }
    for (int i = 0; i < 4; i++)
      for (int l = 0; l < 4; l++) {
        const double a = dp[K * 4 + pi[i] * 4 + pi[l]], b = d[K * 4 + i * 4 + l];
        worst = fmax(worst, fabs(a - b));
        cr_expect_leq(fabs(a - b), tol, "perm %d: dQ_%d%d %.15g vs %.15g", p, i, l, a, b);
      }
    cr_log_info("permutation %d: max |d(pi s) - pi d(s)| %.3g against the estimates %.3g + %.3g", p, worst, e[0],
                ep[0]);
  }
}

/* Against the batch Monte Carlo of tests/mc_ref.c (2e5 batches), within 4
 * standard errors plus the estimate in every component. */
static void against_mc(const char *args, uint64_t seed, double *ratio) {
  cl_model m = model_of(args);
  const int nout = m.K * 4 + 16;
  double ref[NOUT4], se[NOUT4], d[NOUT4], eb[NOUT4], worst = 0;
  mc_ref_batches(&m, m.R0, m.Q0, 200000, seed, 7, nout, mc_ref_drift, ref, se);
  grid_drift(&m, m.R0, m.Q0, d, eb);
  for (int k = 0; k < nout; k++) {
    const double tol = 4 * se[k] + eb[k];
    worst = fmax(worst, fabs(d[k] - ref[k]) / tol);
    cr_expect_leq(fabs(d[k] - ref[k]), tol, "%s: component %d: grid %.6g (estimate %.2g) vs Monte Carlo %.6g (se %.2g)",
                  args, k, d[k], eb[k], ref[k], se[k]);
  }
  *ratio = worst;
}

/* Case B's start and the specialised state: there the four-unit terms are
 * below the Monte Carlo's resolution (so the test holds with the stub of
 * cl_grid4q, which returns 0, as with the real terms). */
Test(grid4, against_monte_carlo, .timeout = 120) {
  const char *st[] = {CASEB CASEBR0, CASEB SPEC4R0 SPEC4Q0};
  for (int c = 0; c < 2; c++) {
    double r;
    against_mc(st[c], 41 + (uint64_t)c, &r);
    cr_log_info("Monte Carlo, state %d: max |grid - MC| / (4 se + estimate) = %.2f", c, r);
  }
}

/* sigmoid, which is not odd: the grids are not folded (every slab j0 of
 * the triples' line sums, docs/grid.md s.15 "Session 25: the triples'
 * evaluation", and of the pairs), its mean enters the gradient; four laws
 * of four of the five kinds the triples' real spectrum serves (laplace,
 * rademacher, uniform, gauss; not sparse), per-view noise (rho 0.5, s 0.7), lambda
 * 0.5, at the generic state: the batch Monte Carlo within 4 standard
 * errors plus the estimate, as above (session 25). */
Test(grid4, against_monte_carlo_sigmoid, .timeout = 120) {
  double r;
  against_mc("--M 4 --lambda 0.5 --act sigmoid --rho 0.5 --s 0.7 --c laplace:2 --c rademacher:3 --c uniform:2.5 "
             "--c gauss:1.5 " GEN4R0 GEN4Q0,
             43, &r);
  cr_log_info("Monte Carlo, sigmoid: max |grid - MC| / (4 se + estimate) = %.2f", r);
}

/* The generic (correlated) state, where the four-unit terms of dQ_il are
 * about 1e-2: with the stub of cl_grid4q (0) dQ_il was up to 9 standard
 * errors off (dQ_34: -0.1519 against -0.1402, se 1.3e-3; the plain Monte
 * Carlo of the four-unit terms gives 9.9e-3 +- 1.1e-4 there); with the real
 * terms (session 23's merge of grid4b) it holds. */
Test(grid4, against_monte_carlo_with_the_four_unit_terms, .timeout = 120) {
  cl_model m = model_of(CASEB GEN4R0 GEN4Q0);
  char err[CL_ERRLEN];
  cl_grid4q *q;
  double q4[16], a = 0;
  cr_assert_eq(cl_grid4q_alloc(&m, NULL, &q, err), CL_OK, "%s", err);
  cr_assert_eq(cl_grid4q_eval_level(q, 1, m.R0, m.Q0, q4, err), CL_OK, "%s", err);
  cl_grid4q_free(q);
  for (int k = 0; k < 16; k++) a = fmax(a, fabs(q4[k]));
  cr_assert_gt(a, 1e-3, "the four-unit terms at the generic state: largest %g", a);
  double r;
  against_mc(CASEB GEN4R0 GEN4Q0, 42, &r);
  cr_log_info("Monte Carlo, generic state: max |grid - MC| / (4 se + estimate) = %.2f", r);
}

/* `cldyn ode --M 4 --expect grid`: the method line names the engine and
 * its bound, the JSON method field carries it; the default at M = 4 stays
 * the Sobol' rules; a sub-engine's refusal (an M = 3 grid that even its
 * capped axes cannot serve: a student law's tails) stops the run with
 * exit 1 and its reason; outside the engine's scope (relu, linear, g = abs, B = 2 with
 * lambda != 0) `--expect grid` is refused (exit 2). */
Test(grid4, cli_method_and_refusals, .timeout = 60) {
  char eb[8192];
  ode_method_is(CASEB "--R0 '0.1,0.02,0.01,0;0.02,0.1,0.01,0.01;0.01,0,0.1,0.02;0,0.01,0.02,0.1' --T 0.05 --expect grid",
                "grid engine (M = 4, B = 1, inclusion-exclusion", 1);
  /* the default at M = 4 in ode since session 24 (before: the Sobol' rules) */
  ode_method_is(CASEB "--T 0.05", "grid engine (M = 4", 1);
  /* a state an M = 3 sub-engine refuses even with the capped-axis rule
   * (a student law whose tails the two levels cannot resolve; until the
   * merge of cap3 in session 23 the laplace state of case B with units
   * much along the laplace feature, which is now served; s = 0.05 since
   * the M = 4 levels of session 24, whose triples serve s = 0.1 there,
   * the four-unit terms then refusing it) */
  cr_expect_eq(run_cli("ode --M 4 --lambda 0.5 --act erf --rho 0.4 --s 0.05 --c student:2:4.5 --c uniform:3 "
                       "--R0 '0.3,0.1,-0.1,0.05;0.1,0.4,0.2,0.1' "
                       "--Q0 '0.8,0.1,0,0;0.1,0.6,0.1,0;0,0.1,0.4,0.05;0,0,0.05,0.5' --T 0.1 --expect grid",
                       eb, sizeof eb),
               1, "%s", eb);
  cr_expect(strstr(eb, "grid nodes per direction") && strstr(eb, "at M = 3") && strstr(eb, "student"), "%s", eb);
  /* under the default choice a refusal redoes the whole run with the
   * Sobol' rules, and says so: a triple's (s = 0.05) and the four-unit
   * terms' (s = 0.1: until session 24 their refusal did not mark the
   * engine unresolved, and the run failed, exit 1) */
  for (int k = 0; k < 2; k++) {
    char a[512];
    snprintf(a, sizeof a,
             "ode --M 4 --lambda 0.5 --act erf --rho 0.4 --s %s --c student:2:4.5 --c uniform:3 "
             "--R0 '0.3,0.1,-0.1,0.05;0.1,0.4,0.2,0.1' --Q0 '0.8,0.1,0,0;0.1,0.6,0.1,0;0,0.1,0.4,0.05;0,0,0.05,0.5' "
             "--T 0.1",
             k ? "0.1" : "0.05");
    cr_expect_eq(run_cli(a, eb, sizeof eb), 0, "%s: %s", a, eb);
    cr_expect(strstr(eb, "the grid refused t = 0: rerun so") && !strstr(eb, "grid engine (M = 4"), "%s: %s", a, eb);
  }
  CLI_REFUSES("ode --M 4 --lambda 1 --g abs --expect grid --T 0.1", NULL, "--expect: grid", "M = 4");
  CLI_REFUSES("ode --M 4 --act relu --expect grid --T 0.1", NULL, "--expect: grid", "relu");
  CLI_REFUSES("ode --M 4 --act linear --expect grid --T 0.1", NULL, "--expect: grid", "linear");
  CLI_REFUSES("ode --M 4 --lambda 1 --B 2 --expect grid --T 0.1", NULL, "--expect: grid", "B = 2");
  /* (M = 5 was refused here until session 27; M >= 5 is now served: tests/test_gridm.c) */
}

/* Two triples: case B's (units 1-3 of the generic state) and an erf model
 * at rho = 0.3 with uniform, sparse and gauss laws. */
static const char *const tri_states[2] = {
    "--M 3 --lambda 1 --c laplace:3 --c uniform:3 --c rademacher:3 --c rademacher:2 "
    "--R0 0.1,0.05,0.08;0.05,0.25,0.02;-0.1,0.05,0.3;0.02,-0.05,0.05 --Q0 0.8,0.15,0.05;0.15,0.7,0.1;0.05,0.1,0.6",
    "--M 3 --lambda 0.5 --act erf --rho 0.3 --c uniform:2 --c sparse:3:0.5 --c gauss:2 "
    "--R0 0.3,0.1,0.05;0.05,0.2,0.1;0.1,0.02,0.25 --Q0 0.6,0.1,0.05;0.1,0.5,0.1;0.05,0.1,0.7"};

/* The triples without the tilted weights (cl_grid_alloc_dq, docs/grid.md
 * s.15): at case B's triple (units 1-3 of the generic state) and at an erf
 * model with rho > 0 and other laws, each level's dQ is the full M = 3
 * engine's to rounding (the same sums, the weights W_0 and W_xi from other
 * pairs of FFTs), and its dR is 0 (not computed). */
Test(grid4, triples_without_tilted_weights_give_the_full_dq, .timeout = 60) {
  const char *const *st = tri_states;
  char err[CL_ERRLEN];
  for (int c = 0; c < 2; c++) {
    cl_model m = model_of(st[c]);
    const int K = m.K;
    cl_grid *gf, *gq;
    cl_grid_level lc, lf; /* cl_grid_alloc's levels */
    cl_grid_default_levels(0, &lc, &lf), cl_grid_caps(3, 0, &lc, &lf);
    cr_assert_eq(cl_grid_alloc(&m, NULL, &gf, err), CL_OK, "%s", err);
    cr_assert_eq(cl_grid_alloc_dq(&m, &lc, &lf, &gq, err), CL_OK, "%s", err);
    for (int lev = 0; lev < 2; lev++) {
      double fR[CL_KMAX * 3], fQ[9], qR[CL_KMAX * 3], qQ[9], big = 0, worst = 0;
      cr_assert_eq(cl_grid_eval_level(gf, lev, m.R0, m.Q0, fR, fQ, err), CL_OK, "%s", err);
      cr_assert_eq(cl_grid_eval_level(gq, lev, m.R0, m.Q0, qR, qQ, err), CL_OK, "%s", err);
      for (int k = 0; k < 9; k++) big = fmax(big, fabs(fQ[k]));
      for (int k = 0; k < 9; k++) {
        worst = fmax(worst, fabs(fQ[k] - qQ[k]));
        cr_expect_leq(fabs(fQ[k] - qQ[k]), 1e-12 * big, "case %d level %d: dQ[%d] %.17g vs full %.17g", c, lev, k,
                      qQ[k], fQ[k]);
      }
      for (int k = 0; k < K * 3; k++) cr_expect_eq(qR[k], 0, "case %d level %d: dR[%d] %g, not 0", c, lev, k, qR[k]);
      cr_log_info("case %d level %d: max |dQ - full dQ| %.3g (largest %.3g)", c, lev, worst, big);
    }
    cl_grid_free(gf), cl_grid_free(gq);
  }
  cl_model m4 = model_of(CASEB CASEBR0), m2 = model_of(st[0]);
  cl_grid *g;
  cl_grid_level lc, lf;
  cl_grid_default_levels(0, &lc, &lf), cl_grid_caps(3, 0, &lc, &lf);
  cr_expect_neq(cl_grid_alloc_dq(&m4, &lc, &lf, &g, err), CL_OK, "M = 4 accepted");
  m2.M = 2;
  cr_expect_neq(cl_grid_alloc_dq(&m2, &lc, &lf, &g, err), CL_OK, "M = 2 accepted");
}

/* Level lev of the M = 2 grid g at the sub-state of m's start on its units
 * u[0], u[1] (the columns of R0, the block of Q0): dR (K x 2), dQ (2 x 2). */
static void pair_level(cl_grid *g, int lev, const cl_model *m, const int *u, double *dR, double *dQ) {
  char err[CL_ERRLEN];
  const int K = m->K, M = m->M;
  double R2[CL_KMAX * 2], Q2[4];
  for (int j = 0; j < K; j++)
    for (int x = 0; x < 2; x++) R2[j * 2 + x] = m->R0[j * M + u[x]];
  for (int x = 0; x < 2; x++)
    for (int y = 0; y < 2; y++) Q2[x * 2 + y] = m->Q0[u[x] * M + u[y]];
  cr_assert_eq(cl_grid_eval_level(g, lev, R2, Q2, dR, dQ, err), CL_OK, "%s", err);
}

/* The M = 4 dR is the pairs' minus twice the units' own (drift_grid4.c's
 * bookkeeping): at case B's start and the generic state, each level's dR
 * of the engine equals that sum evaluated here from M = 2 grids of our own
 * (every pair at lambda, the units from the pairs (1, 2) and (3, 4) at
 * lambda = 0, as the engine's), to rounding.  (Before, dR came from the
 * triples - pairs + singles: the same in the limit, level errors apart.) */
Test(grid4, dr_is_the_pairs_minus_twice_the_singles, .timeout = 60) {
  const char *st[] = {CASEB CASEBR0, CASEB GEN4R0 GEN4Q0};
  static const int pr[6][2] = {{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 3}};
  char err[CL_ERRLEN];
  for (int c = 0; c < 2; c++) {
    cl_model m = model_of(st[c]);
    const int K = m.K;
    cl_grid *g;
    cr_assert_eq(cl_grid4_alloc(&m, NULL, &g, err), CL_OK, "%s", err);
    cl_grid *sub[8];
    cl_grid_level lc, lf; /* the engine's: the M = 4 levels, the 2-d caps */
    cl_grid4_levels(&m, 0, &lc, &lf), cl_grid_caps(2, 0, &lc, &lf);
    for (int p = 0; p < 8; p++) {
      cl_model b = m;
      b.M = 2;
      if (p >= 6) b.lambda = 0;
      cr_assert_eq(cl_grid_alloc_levels(&b, &lc, &lf, &sub[p], err), CL_OK, "%s", err);
    }
    for (int lev = 0; lev < 2; lev++) {
      double dR[CL_KMAX * 4], dQ[16], ref[CL_KMAX * 4] = {0}, big = 0, worst = 0;
      cr_assert_eq(cl_grid_eval_level(g, lev, m.R0, m.Q0, dR, dQ, err), CL_OK, "%s", err);
      for (int p = 0; p < 8; p++) {
        const int *u = p < 6 ? pr[p] : pr[p == 6 ? 0 : 5];
        double sR[CL_KMAX * 2], sQ[4];
        pair_level(sub[p], lev, &m, u, sR, sQ);
        for (int j = 0; j < K; j++)
          for (int x = 0; x < 2; x++) ref[j * 4 + u[x]] += (p < 6 ? 1 : -2) * sR[j * 2 + x];
      }
      for (int k = 0; k < K * 4; k++) big = fmax(big, fabs(ref[k]));
      for (int k = 0; k < K * 4; k++) {
        worst = fmax(worst, fabs(dR[k] - ref[k]));
        cr_expect_leq(fabs(dR[k] - ref[k]), 1e-12 * big, "state %d level %d: dR[%d] %.17g vs pairs - 2 singles %.17g",
                      c, lev, k, dR[k], ref[k]);
      }
      cr_log_info("state %d level %d: max |dR - (pairs - 2 singles)| %.3g (largest %.3g)", c, lev, worst, big);
    }
    for (int p = 0; p < 8; p++) cl_grid_free(sub[p]);
    cl_grid_free(g);
  }
}

/* The three-unit terms of a triple (cl_grid_alloc_t3, docs/grid.md s.15,
 * "Triples by their three-unit terms"): at the default levels each level's
 * dQ of the mode against the inclusion-exclusion restricted to the triple,
 * computed here from the existing engines on the same levels: the full
 * M = 3 grid's dQ minus, on the diagonal, the two pairs containing the
 * unit plus its own drift (an M = 2 grid at lambda = 0), and off it minus
 * the pair's.  They agree to the levels' errors: within the estimates'
 * sum, max |fine - coarse| of the mode plus that of the combination.  The
 * terms are not small against the engines' errors (largest above 1e-3)
 * and far from the full dQ. */
Test(grid4, triple_three_unit_terms_are_the_triple_minus_its_sub_models, .timeout = 60) {
  const char *const *st = tri_states;
  static const int pr[3][2] = {{0, 1}, {0, 2}, {1, 2}};
  char err[CL_ERRLEN];
  for (int c = 0; c < 2; c++) {
    const cl_model m = model_of(st[c]);
    const int K = m.K;
    cl_grid_level lc, lf, c2, f2;
    cl_grid_default_levels(0, &lc, &lf), c2 = lc, f2 = lf;
    cl_grid_caps(3, 0, &lc, &lf), cl_grid_caps(2, 0, &c2, &f2);
    cl_grid *g3, *gf, *gp[5];
    cr_assert_eq(cl_grid_alloc_t3(&m, &lc, &lf, &g3, err), CL_OK, "%s", err);
    cr_assert_eq(cl_grid_alloc_levels(&m, &lc, &lf, &gf, err), CL_OK, "%s", err);
    /* gp 0-2: the pairs pr at lambda; 3: (0, 1) at lambda = 0 (units 0, 1's own), 4: (1, 2) at lambda = 0 (unit 2's) */
    for (int p = 0; p < 5; p++) {
      cl_model b = m;
      b.M = 2;
      if (p >= 3) b.lambda = 0;
      cr_assert_eq(cl_grid_alloc_levels(&b, &c2, &f2, &gp[p], err), CL_OK, "%s", err);
    }
    double t3[2][9], ref[2][9], full[9] = {0};
    for (int lev = 0; lev < 2; lev++) {
      double dR[CL_KMAX * 3];
      cr_assert_eq(cl_grid_eval_level(g3, lev, m.R0, m.Q0, dR, t3[lev], err), CL_OK, "%s", err);
      for (int k = 0; k < K * 3; k++) cr_expect_eq(dR[k], 0, "case %d: dR[%d] %g, not 0", c, k, dR[k]);
      cr_assert_eq(cl_grid_eval_level(gf, lev, m.R0, m.Q0, dR, ref[lev], err), CL_OK, "%s", err);
      if (lev) memcpy(full, ref[lev], sizeof full);
      for (int p = 0; p < 5; p++) {
        const int *u = p < 3 ? pr[p] : pr[p == 3 ? 0 : 2];
        double sR[CL_KMAX * 2], sQ[4];
        pair_level(gp[p], lev, &m, u, sR, sQ);
        for (int x = 0; x < 2; x++)
          for (int y = 0; y < 2; y++) {
            if (p >= 3 && (x != y || (p == 4 && x == 0))) continue; /* the singles: their units' diagonal */
            ref[lev][u[x] * 3 + u[y]] += (p < 3 ? -1 : 1) * sQ[x * 2 + y];
          }
      }
    }
    double e3 = 0, er = 0, worst = 0, big = 0, bigf = 0;
    for (int k = 0; k < 9; k++) {
      e3 = fmax(e3, fabs(t3[1][k] - t3[0][k])), er = fmax(er, fabs(ref[1][k] - ref[0][k]));
      big = fmax(big, fabs(t3[1][k])), bigf = fmax(bigf, fabs(full[k]));
    }
    for (int k = 0; k < 9; k++) {
      worst = fmax(worst, fabs(t3[1][k] - ref[1][k]));
      cr_expect_leq(fabs(t3[1][k] - ref[1][k]), e3 + er, "case %d: dQ3[%d] %.10g vs the sub-models' %.10g (estimates %.3g + %.3g)",
                    c, k, t3[1][k], ref[1][k], e3, er);
    }
    cr_expect_gt(big, 1e-3, "case %d: the three-unit terms %g, too small to test", c, big);
    cr_expect_gt(big, 1e3 * (e3 + er), "case %d: the estimates %g + %g not small against the terms %g", c, e3, er, big);
    cr_log_info("case %d: max |dQ3 - sub-models'| %.3g, estimates %.3g (mode) + %.3g (sub-models); largest |dQ3| %.3g, |dQ| %.3g",
                c, worst, e3, er, big, bigf);
    cl_grid_free(g3), cl_grid_free(gf);
    for (int p = 0; p < 5; p++) cl_grid_free(gp[p]);
  }
  cl_model m = model_of(st[0]);
  cl_grid_level lc, lf;
  cl_grid *g;
  cl_grid_default_levels(0, &lc, &lf), cl_grid_caps(3, 0, &lc, &lf);
  m.B = 2;
  cr_expect_neq(cl_grid_alloc_t3(&m, &lc, &lf, &g, err), CL_OK, "B = 2, lambda != 0 accepted");
}
