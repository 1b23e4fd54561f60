/* The "beyond the paper" section of reproduce (app/beyond.c,
 * docs/findings.md s.5): its table, data and figure script are present,
 * the fixed points of each lambda are listed with a stable one, the
 * outcome frequencies of each source add up to 1, and the finite-N chain
 * and the full SGD agree within 4 pooled standard errors (a small budget:
 * --quick, which leaves out the costly M = 2 basin). */
#include <criterion/criterion.h>
#include <math.h>

#include <stdlib.h>
#include <string.h>

#include "app/beyond.h"
#include "app/config.h"
#include "../src/ode.h"
#include "cldyn/cldyn.h"
#include "reportutil.h"

Test(beyond, quick_section_tables_and_agreement, .timeout = 900) {
  char dir[64], err[CL_ERRLEN], line[4096];
  FILE *rep = report_begin(dir);
  char *txt = report_end(dir, rep, cl_beyond_report(dir, 1, rep, err), err);
  const char *must[] = {"## Beyond the paper: collapse against specialisation (M = 2)",
                        "| lambda | stable fixed points (kind: largest unit cos) | saddle orbits | source |",
                        "basin (0) | (not run at this lambda)", "reduced (40) |", "simulate (8) |", "![](beyond.png)", "**What it shows.**"};
  const char *files[] = {"beyond.csv", "beyond_fixed.csv", "beyond.gp"};
  report_expect(dir, txt, must, NELEM(must), files, NELEM(files));
  free(txt);
  /* beyond.csv: lambda, then (p, se) of basin, reduced, simulate for 5 classes */
  FILE *f = report_csv(dir, "beyond.csv");
  int rows = 0;
  while (fgets(line, sizeof line, f)) {
    double v[31];
    char *p = line;
    for (int k = 0; k < 31; k++) {
      v[k] = strtod(p, &p);
      cr_assert(*p == ',', "row %d, column %d: %s", rows, k, line);
      p++;
    }
    /* quick: no basin (NaN); reduced 40 runs at every lambda, simulate 8 at lambda = 1 */
    double sr = 0, ss = 0;
    for (int b = 0; b < 5; b++) {
      double pb = v[1 + 6 * b], pr = v[3 + 6 * b], ps = v[5 + 6 * b];
      cr_expect(isnan(pb), "quick runs no basin");
      sr += pr;
      if (v[0] == 1) {
        ss += ps;
        double pp = (40 * pr + 8 * ps) / 48, se = sqrt(pp * (1 - pp) * (1.0 / 40 + 1.0 / 8));
        cr_expect_leq(fabs(pr - ps), 4 * se + 1e-12, "class %d: reduced %g simulate %g", b, pr, ps);
      }
    }
    cr_expect_float_eq(sr, 1, 1e-9);
    if (v[0] == 1) cr_expect_float_eq(ss, 1, 1e-9);
    rows++;
  }
  fclose(f);
  cr_assert_eq(rows, 2);
  /* beyond_fixed.csv: a stable fixed point at each lambda, residuals small */
  f = report_csv(dir, "beyond_fixed.csv");
  int stable[2] = {0, 0};
  while (fgets(line, sizeof line, f)) {
    double lam = strtod(line, NULL);
    char *r = strrchr(line, ',');
    cr_expect(r && strtod(r + 1, NULL) < 1e-8, "residual: %s", line);
    if (strstr(line, ",stable,")) stable[lam > 0.5]++;
  }
  fclose(f);
  cr_expect(stable[0] > 0 && stable[1] > 0, "stable orbits %d, %d", stable[0], stable[1]);
  rm_rf(dir);
}

/* The table rows of one lambda (cl_beyond_rows): the basin's proportions
 * are over its settled starts, the unsettled ones are named in the row, and
 * the returned z is the largest pooled two-proportion z of reduced against
 * the basin and of simulate against both (computed here independently). */
static double pooled_z(long ka, long na, long kb, long nb) {
  double p = (double)(ka + kb) / (double)(na + nb);
  return fabs((double)ka / na - (double)kb / nb) / sqrt(p * (1 - p) * (1.0 / na + 1.0 / nb));
}

Test(beyond, table_rows_unsettled_and_z) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  cr_assert_not_null(f);
  /* specialised, shared, rotated, dead, other */
  const long cb[5] = {0, 0, 80, 114, 3}, cr[5] = {0, 0, 77, 123, 0}, cs[5] = {0, 0, 20, 19, 1};
  double z = cl_beyond_rows(f, 1, "dead: 0.977, 0.000 (8 images)", 3, cb, 200, 3, cr, 200, cs, 40);
  /* the quick study's row: no basin */
  double zq = cl_beyond_rows(f, 0.25, "", 2, cb, 0, 0, cr, 200, cs, 0);
  fclose(f);
  cr_assert(strstr(buf, "| 1 | dead: 0.977, 0.000 (8 images) | 3 | basin (197 settled; 3 not settled at 4 tmax, "
                        "left out) | 0.000 +- 0.000 | 0.000 +- 0.000 | 0.406 +- 0.035 | 0.579 +- 0.035 | "
                        "0.015 +- 0.009 | |\n"),
            "%s", buf);
  cr_assert(strstr(buf, "| | | | reduced (200) | 0.000 +- 0.000 | 0.000 +- 0.000 | 0.385 +- 0.034 | "
                        "0.615 +- 0.034 | 0.000 +- 0.000 |"),
            "%s", buf);
  cr_assert(strstr(buf, "| | | | simulate (40) |"), "%s", buf);
  cr_assert(strstr(buf, "| 0.25 | none | 2 | basin (0) | (not run at this lambda) |"), "%s", buf);
  double zl = 0, zs = 0;
  for (int b = 2; b < 5; b++) {
    zl = fmax(zl, pooled_z(cb[b], 197, cr[b], 200));
    zs = fmax(zs, fmax(pooled_z(cr[b], 200, cs[b], 40), pooled_z(cb[b], 197, cs[b], 40)));
  }
  cr_expect_float_eq(z, fmax(zl, zs), 1e-12);
  char want[64];
  snprintf(want, sizeof want, " %.1f (against basin) |", zl);
  cr_expect(strstr(buf, want), "%s not in %s", want, buf);
  cr_expect_eq(zq, 0);
  free(buf);
}

/* the M = 2 basin case of the tests below (allocated: the caller frees it) */
static cl_config *basin_m2_config(void) {
  cl_config *c = malloc(sizeof *c);
  char err[CL_ERRLEN];
  cr_assert_not_null(c);
  cr_assert_eq(cfg_from_args(c, CL_CMD_BASIN,
                             "--M 2 --c rademacher:3 --c rademacher:3 --lambda 1 --N 500 --qmc-points 64", err),
               CL_OK, "%s", err);
  return c;
}

/* cl_basin_multi_ends: a start settles (same outcome at tmax - tmax/6 and
 * tmax, no component moving by more than CL_BASIN_SETTLE_TOL) or is run to
 * 2 and 4 tmax and counted as unsettled; the end states do not depend on
 * the threads. */
Test(beyond, basin_starts_settle_and_are_thread_free, .timeout = 300) {
  cl_config *c = basin_m2_config();
  char err[CL_ERRLEN];
  enum { ND = 4, NS = 7 };
  cr_assert_eq(cl_state_size(2, 2), NS);
  double ends[3][ND * NS];
  int settled[3][ND];
  cl_basin_multi_result r[3];
  const double tmax[3] = {30, 0.5, 0.5};
  const int threads[3] = {2, 1, 2};
  for (int k = 0; k < 3; k++)
    cr_assert_eq(cl_basin_multi_ends(&c->model, &c->ode, ND, tmax[k], 7, threads[k], &r[k], ends[k], settled[k], err),
                 CL_OK, "%s", err);
  /* at t = 30 every start has settled (away from R = 0) */
  cr_expect_eq(r[0].unsettled, 0);
  for (int d = 0; d < ND; d++) {
    cr_expect(settled[0][d], "start %d not settled at t = 30", d);
    int q = cl_basin_outcome(2, 2, ends[0] + d * NS);
    cr_expect(q != CL_KIND_UNINFORMATIVE && q != CL_KIND_PARTIAL, "start %d: kind %d", d, q);
  }
  /* at t = 0.5 (then 1, 2) the units are still escaping from R = 0 */
  cr_expect_eq(r[1].unsettled, ND);
  for (int d = 0; d < ND; d++) cr_expect(!settled[1][d]);
  long tot = 0;
  for (int q = 0; q < CL_NKINDS; q++) tot += r[1].count[q];
  cr_expect_eq(tot, ND);
  cr_expect(memcmp(ends[1], ends[2], sizeof ends[1]) == 0, "end states differ between 1 and 2 threads");
  cr_expect(memcmp(settled[1], settled[2], sizeof settled[1]) == 0);
  free(c);
}

enum { CONT_NS = 7 };

/* the continuation tests' start (M = 2, basin_m2_config) and its state at
 * t = 2 from one run with the stepper named (NULL: the default) */
static cl_config *cont_one_run(cl_model *m, cl_ode_opts *o, const char *stepper, double *one) {
  cl_config *c = basin_m2_config();
  char err[CL_ERRLEN];
  *m = c->model;
  m->init = CL_INIT_OVERLAP;
  const double R0[4] = {0.03, -0.02, 0.01, 0.04};
  memcpy(m->R0, R0, sizeof R0);
  *o = c->ode;
  o->no_rerun = 1;
  if (stepper) snprintf(o->stepper, sizeof o->stepper, "%s", stepper);
  cl_traj *tr;
  cl_schedule s = {.T = 2, .dt_out = 2.0 / 6, .runs = 1, .seed = 1};
  cr_assert_eq(cl_ode_solve(m, &s, o, &tr, NULL, err), CL_OK, "%s", err);
  memcpy(one, cl_traj_row(tr, 0, tr->nt - 1), sizeof(double) * CONT_NS);
  cl_traj_free(tr);
  return c;
}

/* the legs 0 -> 0.5 -> 1 -> 2 of cl_ode_solve_cont: each continued leg from
 * every copy as left (CONT_CARRIED), from their mean (CONT_FROM_MEAN), or
 * with the integrator's fresh first step (CONT_FRESH_STEP); the state at
 * 2 in end, the continued legs' steps added to *steps (may be NULL) */
enum { CONT_CARRIED, CONT_FROM_MEAN, CONT_FRESH_STEP };
static void cont_legs(const cl_model *m, const cl_ode_opts *o, int how, double *end, long *steps) {
  char err[CL_ERRLEN];
  cl_traj *tr;
  cl_ode_cont cont = {0};
  for (double T = 0.5, T0 = 0; T <= 2; T0 = T, T *= 2) {
    cl_schedule sc = {.T = T - T0, .dt_out = T / 6, .runs = 1, .seed = 1};
    if (how == CONT_FROM_MEAN && cont.y) { /* every copy from the written state */
      const int nr = cont.ny / CONT_NS;
      cr_assert_eq(cont.ny, nr * CONT_NS);
      for (int q = 0; q < CONT_NS; q++) {
        double mean = 0;
        for (int r = 0; r < nr; r++) mean += cont.y[r * CONT_NS + q] / nr;
        for (int r = 0; r < nr; r++) cont.y[r * CONT_NS + q] = mean;
      }
    }
    if (how == CONT_FRESH_STEP) cont.h = 0;
    cr_assert_eq(cl_ode_solve_cont(m, &sc, o, &cont, &tr, err), CL_OK, "%s", err);
    cr_expect(cont.h > 0, "the integrator's last step is carried");
    if (steps && T0 > 0) *steps += cont.steps;
    memcpy(end, cl_traj_row(tr, 0, tr->nt - 1), sizeof(double) * CONT_NS);
    cl_traj_free(tr);
  }
  cl_ode_cont_free(&cont);
}

/* the max-norm distances d[v] of ends[v] from one; returns one
 * tolerance of the integrator there, atol + rtol max |one| */
static double cont_dist(double ends[2][CONT_NS], const double *one, const cl_ode_opts *o, double *d) {
  double ymax = 0;
  for (int v = 0; v < 2; v++) {
    d[v] = 0;
    for (int q = 0; q < CONT_NS; q++) d[v] = fmax(d[v], fabs(ends[v][q] - one[q])), ymax = fmax(ymax, fabs(one[q]));
  }
  return o->atol + o->rtol * ymax;
}

/* cl_ode_solve_cont (src/ode.h), as basin continues a start that has
 * not settled at tmax: 0 -> 0.5, then on to 1 and 2 with every copy of the
 * system (the engine's rules or levels) from its own state, the
 * integrator's next step and its tolerances, against one run 0 -> 2 (the
 * schedule basin used to rerun).  The ends agree at the integrator's
 * tolerance; restarting every copy from one state instead (here their
 * mean, as a continuation through the public cl_ode_solve from the state
 * written would) is further off. */
Test(beyond, basin_continuation_matches_one_run, .timeout = 60) {
  enum { NS = CONT_NS };
  cl_model m;
  cl_ode_opts o;
  double one[NS], ends[2][NS];
  cl_config *c = cont_one_run(&m, &o, NULL, one);
  for (int v = 0; v < 2; v++) cont_legs(&m, &o, v ? CONT_FROM_MEAN : CONT_CARRIED, ends[v], NULL);
  double d[2];
  /* measured: 4.7e-12 continued, 1.5e-3 from the mean (the 16 Sobol'
   * rules of 128 points each differ by that much), one tolerance 4.7e-9 */
  const double tol = cont_dist(ends, one, &o, d);
  cr_expect(d[0] < 10 * tol, "continued: %g from one run (tolerance %g)", d[0], tol);
  cr_expect(d[1] > 1e3 * tol, "restarted from the written state: %g from one run (tolerance %g)", d[1], tol);
  free(c);
}

/* cl_ode_solve_cont with a GSL stepper (rk8pd, one system with the rules'
 * mean drift): the continued legs 0.5 -> 1 -> 2 start with the step the
 * driver ended the previous leg with and end at one run 0 -> 2 within the
 * integrator's tolerance; the same legs started with the driver's fresh
 * step (cont.h = 0, as before session 21) try more steps. */
Test(beyond, basin_continuation_gsl_carries_the_step, .timeout = 60) {
  enum { NS = CONT_NS };
  cl_model m;
  cl_ode_opts o;
  double one[NS], ends[2][NS];
  cl_config *c = cont_one_run(&m, &o, "rk8pd", one);
  long steps[2] = {0, 0}; /* the continued legs' steps: carried, fresh */
  for (int v = 0; v < 2; v++) cont_legs(&m, &o, v ? CONT_FRESH_STEP : CONT_CARRIED, ends[v], &steps[v]);
  double d[2];
  const double tol = cont_dist(ends, one, &o, d);
  cr_expect(d[0] < 10 * tol, "continued: %g from one run (tolerance %g)", d[0], tol);
  cr_expect(d[1] < 10 * tol, "continued with a fresh step: %g from one run (tolerance %g)", d[1], tol);
  cr_expect(steps[0] < steps[1], "continued legs: %ld steps with the step carried, %ld with a fresh one", steps[0],
            steps[1]);
  cr_log_info("continued legs: %ld steps carried, %ld fresh; ends %g and %g from one run (tolerance %g)", steps[0],
              steps[1], d[0], d[1], tol);
  free(c);
}
