/* bench/gridead.c - the M = 2 grid's error estimate next to a dead unit
 * (docs/grid.md s.13): for each model (the options of argv) and each
 * Q_22 = q in 1e-4 .. 1e-16, unit 2's weight vector is sqrt(q) times a unit
 * vector with cosines 0.8 c, -0.6 c to the two features, c = sqrt(1 - f),
 * the rest outside them (Q_22 - |R_.2|^2 = f Q_22, f = 1, 0.39, 1e-2, 1e-4,
 * 1e-6; 0.6 sqrt(f) along unit 1's outside part), unit 1 alive
 * (R_.1 = (0.5, 0.3), Q_11 = 0.59).  Prints the default grid's estimate and
 * its largest distance to two references, relative to the estimate:
 *  - ref: a grid of one level at GRIDEAD_REFN (default 400) nodes per
 *    direction with aliasing exponent 45 (as tests/test_grid.c grid_fine);
 *  - lim (odd sigma, symmetric laws): the scaling in w_2 = sqrt(q) v, under
 *    which the exact drift is odd in w_2 (dR_.2, dQ_12: t (a + b q + c q^2),
 *    t = sqrt(q)) or even (the live unit's: a + b q + c q^2; dQ_22: q
 *    times that),
 *    the coefficients (a quadratic in q) from that grid at q = GRIDEAD_QA
 *    (default 1e-6), 4 and 16 times it;
 * and `dead rel`, the largest relative error of unit 2's own components
 * against lim.  GRIDEAD_QUAD=n: also the quad rule at n nodes (e.g. 32).
 * GRIDEAD_F=f: only that f; GRIDEAD_ESTEP=n: Q_22 in steps of 10^-n
 * (default 2).
 * GRIDEAD_QMC=1: the Sobol' rules (src/drift_multi.c, `--expect qmc` with
 * the model's options, e.g. --qmc-points) instead of the default grid,
 * GRIDEAD_QMC=2: `--expect mc` (docs/multi.md s.12); their estimate is
 * per component (the Sobol' rules' bound; the Monte Carlo's largest
 * standard error for every component), a state is beyond it where one
 * component's distance to lim exceeds its own, and `ratio` is the largest
 * distance over its component's estimate.  lim then comes from the grid
 * capped at GRIDEAD_REFN as above, or with GRIDEAD_LIMQMC=n from the
 * Sobol' rules at n points per rule at the same three q (the models the
 * grid refuses: g = abs, B > 1; M = 3, the last unit dying, dead_ref_state_m),
 * or with GRIDEAD_LIMSELF=1 from the engine
 * measured itself (the same points or draws: its integration error, smooth
 * in q, cancels, and what is left is its handling of the dying unit; the
 * Monte Carlo's standard error is no bound, its largest over the
 * components).  GRIDEAD_P0=1: every component a quadratic in q (g = abs,
 * where unit 2's gradient sign(C_12) y_1 does not vanish with it: with
 * GRIDEAD_QA=1e-10, the terms in sqrt(q) of the rule then stay below 1e-4
 * of the drift).  Reported only. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "app/app.h"
#include "cldyn/drift.h"
#include "src/drift_multi.h"
#include "src/drift_acc.h"
#include "src/drift_grid.h"
#include "tests/dead_ref.h"

static const double fr[5] = {1, 0.39, 1e-2, 1e-4, 1e-6};

static void state(cl_model *m, double q, int shape) { dead_ref_state_m(m->K, m->M, q, fr[shape], m->R0, m->Q0); }

/* the one-level grid capped at refn (grid_fine of tests/test_grid.c) */
static int fine(const cl_model *m, int refn, const double *R, const double *Q, double *out, char *err) {
  const cl_grid_level r = {refn, 44, 45, 32, 8.5, 0};
  cl_grid *g;
  if (cl_grid_alloc_levels(m, &r, &r, &g, err) || cl_grid_eval_level(g, 1, R, Q, out, out + m->K * 2, err)) return 1;
  cl_grid_free(g);
  return 0;
}

/* engine 1: the Sobol' rules at qmc points per rule (0: the model's); 2:
 * `--expect mc`: the drift and each component's estimate into d, eb */
static int other(const cl_config *cfg, const cl_model *m, int engine, long qmc, double *d, double *eb, char *err) {
  cl_quad_opts o = cfg->ode.quad;
  const int nout = m->K * m->M + m->M * m->M;
  if (qmc) o.qmc_points = qmc;
  if (engine == 2) {
    o.expect = CL_EXPECT_MC;
    cl_drift *dr;
    if (cl_drift_alloc(m, &o, &dr, err)) return 1;
    cl_status st = cl_drift_eval(dr, m->R0, m->Q0, d, d + m->K * m->M, err);
    for (int k = 0; k < nout; k++) eb[k] = cl_drift_stderr(dr);
    cl_drift_free(dr);
    return st != CL_OK;
  }
  o.expect = CL_EXPECT_SOBOL;
  cl_multi *q;
  if (cl_multi_alloc(m, &o, &q, err)) return 1;
  if (!q) return snprintf(err, CL_ERRLEN, "the Sobol' rules refuse the model"), 1;
  cl_status st = cl_multi_eval(q, m->R0, m->Q0, d, d + m->K * m->M, eb, err);
  cl_multi_free(q);
  return st != CL_OK;
}

int main(int argc, char **argv) {
  const int refn = getenv("GRIDEAD_REFN") ? atoi(getenv("GRIDEAD_REFN")) : 400;
  const int qn = getenv("GRIDEAD_QUAD") ? atoi(getenv("GRIDEAD_QUAD")) : 0;
  const double qa = getenv("GRIDEAD_QA") ? atof(getenv("GRIDEAD_QA")) : 1e-6;
  const double only = getenv("GRIDEAD_F") ? atof(getenv("GRIDEAD_F")) : 0;
  const int estep = getenv("GRIDEAD_ESTEP") ? atoi(getenv("GRIDEAD_ESTEP")) : 2;
  const int engine = getenv("GRIDEAD_QMC") ? atoi(getenv("GRIDEAD_QMC")) : 0;
  const long limqmc = getenv("GRIDEAD_LIMQMC") ? atol(getenv("GRIDEAD_LIMQMC")) : 0;
  const int limself = engine && getenv("GRIDEAD_LIMSELF") && atoi(getenv("GRIDEAD_LIMSELF"));
  const int p0 = getenv("GRIDEAD_P0") && atoi(getenv("GRIDEAD_P0"));
  int nmiss = 0, nserved = 0;
  for (int a = 1; a < argc; a++) {
    cl_config cfg;
    char err[CL_ERRLEN];
    if (cl_config_parse_string(&cfg, CL_CMD_ODE, argv[a], err)) return fprintf(stderr, "%s\n", err), 2;
    printf("# %s\n", argv[a]);
    for (int shape = 0; shape < 5; shape++) {
      if (only > 0 && fr[shape] != only) continue;
      double y[3][64], f_unused[64]; /* the one-level grid (or the Sobol' rules) at qs, for lim */
      const double qs[3] = {qa, 4 * qa, 16 * qa};
      int ny = 0;
      for (; ny < 3; ny++) {
        cl_model mr = cfg.model;
        state(&mr, qs[ny], shape);
        if (limself ? other(&cfg, &mr, engine, 0, y[ny], f_unused, err)
            : limqmc ? other(&cfg, &mr, 1, limqmc, y[ny], f_unused, err)
                     : fine(&mr, refn, mr.R0, mr.Q0, y[ny], err))
          break;
      }
      for (int e = 4; e <= 16; e += estep) {
        cl_model m = cfg.model;
        state(&m, pow(10, -e), shape);
        const int nout = m.K * m.M + m.M * m.M;
        double d[64], eb[64], f[64], qd[64];
        if (engine) {
          const double q = pow(10, -e);
          double lim[64], wl = 0, rat = 0, rdead = 0;
          if (other(&cfg, &m, engine, 0, d, eb, err)) {
            printf("f %.0e q 1e-%02d refused: %.90s\n", fr[shape], e, err);
            continue;
          }
          if (ny < 3) {
            printf("f %.0e q 1e-%02d no lim: %.90s\n", fr[shape], e, err);
            continue;
          }
          dead_ref_scaling_m(m.K, m.M, qs, y, q, lim);
          if (p0)
            for (int k = 0; k < nout; k++) lim[k] = dead_ref_extrapolate(qs, y, k, 0, q);
          int kw = 0, miss = 0;
          for (int k = 0; k < nout; k++) {
            const double x = fabs(d[k] - lim[k]);
            wl = fmax(wl, x);
            if (x > eb[k]) miss = 1;
            if (x / eb[k] > rat) rat = x / eb[k], kw = k;
            if (dead_ref_power_m(m.K, m.M, k)) rdead = fmax(rdead, x / fmax(fabs(lim[k]), 1e-300));
          }
          nserved++, nmiss += miss;
          printf("f %.0e q 1e-%02d  |d - lim| %.3g  largest ratio %.3g (comp %d: %.10g vs %.10g, estimate %.3g)%s  "
                 "dead rel %.2g\n",
                 fr[shape], e, wl, rat, kw, d[kw], lim[kw], eb[kw], miss ? " BEYOND" : "", rdead);
          fflush(stdout);
          continue;
        }
        cl_grid *g;
        if (cl_grid_alloc(&m, NULL, &g, err) || cl_grid_eval(g, m.R0, m.Q0, d, d + m.K * 2, eb, err)) {
          printf("f %.0e q 1e-%02d refused: %.90s\n", fr[shape], e, err);
          continue;
        }
        int n0, n1;
        cl_grid_sizes(g, &n0, &n1);
        cl_grid_free(g);
        if (ny < 3 || fine(&m, refn, m.R0, m.Q0, f, err)) return fprintf(stderr, "%s\n", err), 1;
        double lim[64];
        const double q = pow(10, -e);
        dead_ref_scaling(m.K, qs, y, q, lim);
        double worst = 0, wq = 0, big = 0, rdead = 0, wl = 0;
        int kw = 0;
        for (int k = 0; k < nout; k++) {
          if (fabs(d[k] - f[k]) > worst) worst = fabs(d[k] - f[k]), kw = k;
          big = fmax(big, fabs(f[k]));
          wl = fmax(wl, fabs(d[k] - lim[k]));
          if (dead_ref_power(m.K, k)) rdead = fmax(rdead, fabs(d[k] - lim[k]) / fmax(fabs(lim[k]), 1e-300));
        }
        if (qn > 0) {
          const cl_acc_level lv = {qn, qn, qn, 6.5 * sqrt(qn / 24.0), -1};
          cl_acc *qa;
          if (cl_acc_alloc_levels(&m, &lv, &lv, &qa, err) || cl_acc_eval_level(qa, 1, m.R0, m.Q0, qd, qd + m.K * 2, err))
            return fprintf(stderr, "%s\n", err), 1;
          cl_acc_free(qa);
          for (int k = 0; k < nout; k++) wq = fmax(wq, fabs(d[k] - qd[k]));
        }
        printf("f %.0e q 1e-%02d n %3d x %3d  largest %.3g  estimate %.3g  |d - ref| %.3g (comp %d: %.10g vs %.10g) "
               "ratio %.3g  |d - lim| %.3g ratio %.3g  dead rel %.2g",
               fr[shape], e, n0, n1, big, eb[0], worst, kw, d[kw], f[kw], worst / eb[0], wl, wl / eb[0], rdead);
        if (qn > 0) printf("  |d - quad| %.3g ratio %.3g", wq, wq / eb[0]);
        printf("\n");
        fflush(stdout);
      }
    }
  }
  if (engine) printf("# %d of %d served states beyond their estimate\n", nmiss, nserved);
  return 0;
}
