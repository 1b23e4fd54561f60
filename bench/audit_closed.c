/* bench/audit_closed.c - helper of bench/audit_closed: an audit of the erf
 * closed forms (src/drift_erf.c, docs/closed-forms.md) and of their printed
 * error estimate on random configurations the tests do not use.
 *   audit_closed N SEED [FIRST]
 * draws N configurations from SEED (FIRST skips the computation of the
 * first ones; the draws stay the same): M = 2..4, erf, g = square, B = 1,
 * lambda in {0, 0.3, 1}, K = 1..4 gauss laws (m2 0.25..4), s in [0.05, 2],
 * rho in [-0.95, 0.95], and a state (R, Q) of one of six kinds (small R,
 * units along the features with cos near 1, a nearly dead unit, large Q up
 * to 20, two nearly parallel units, a unit independent of the others).
 * The default engine (`--expect auto`, i.e. the closed forms) and its
 * printed estimate (cl_drift_stderr) are compared, component by component,
 * with
 *  - the same closed forms with a fixed 64-point rule in the Price-theorem
 *    parameter (the reference for the numerics of V; its own error taken as
 *    its distance to a 96-point rule): ratio |d - ref| / (est + |ref64 -
 *    ref96| + 1e-14 (1 + |ref|)), the last term the rounding of the closed
 *    terms;
 *  - the batch Monte Carlo of tests/mc_ref.c (whole batches through the
 *    loss, noise along the features drawn explicitly, no Stein lemma):
 *    ratio |d - mc| / (est + 4.5 se), the check of the formulas;
 *  - at M = 2 the grid engine at a fine level (src/drift_grid.c, an
 *    independent quadrature): the largest difference, printed.
 * One line per configuration (its `cldyn ode` options reproduce it), then
 * the largest ratios.  Reported only. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "bench/audit_common.h"
#include "tests/mc_ref.h"

#define NOUT (CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX)

static const char *kind_name[] = {"smallR", "aligned", "dying", "largeQ", "parallel", "indep"};

/* The state: W = [R; Z] ((K + M) x M), Q = W^T W, so that Q and A = Q - R^T R
 * are positive semi-definite by construction.  Column i is sqrt(q_i) times a
 * unit vector with a share cos_i along the features. */
static void draw_state(cl_rng *r, int K, int M, int kind, double *R, double *Q) {
  const int D = K + M;
  double W[(CL_KMAX + CL_MMAX) * CL_MMAX];
  for (int i = 0; i < M; i++) {
    double q = unif(r, 0.3, 1.5), cs = unif(r, 0, 0.8);
    if (kind == 0) cs = unif(r, 0, 0.1);
    if (kind == 1) cs = 1 - exp(unif(r, log(1e-6), log(0.05)));
    if (kind == 2 && i == 0) q = exp(unif(r, log(1e-8), log(1e-4)));
    if (kind == 3) q = exp(unif(r, log(3), log(20)));
    double u[CL_KMAX + CL_MMAX], su = 0, sv = 0;
    for (int k = 0; k < D; k++) u[k] = cl_rng_gauss(r);
    for (int k = 0; k < K; k++) su += u[k] * u[k];
    for (int k = K; k < D; k++) sv += u[k] * u[k];
    for (int k = 0; k < D; k++)
      W[k * M + i] = sqrt(q) * (k < K ? cs * u[k] / sqrt(su) : sqrt(fmax(1 - cs * cs, 0)) * u[k] / sqrt(sv));
  }
  if (kind == 4) /* unit 2 nearly parallel to unit 1 */
    for (int k = 0; k < D; k++) W[k * M + 1] = W[k * M] * unif(r, 0.7, 1.3) + 0.02 * cl_rng_gauss(r);
  if (kind == 5) { /* the last unit on a feature and a background direction of its own */
    for (int k = 0; k < D; k++) W[k * M + M - 1] = 0;
    for (int i = 0; i < M - 1; i++) W[(K - 1) * M + i] = 0, W[(D - 1) * M + i] = 0;
    W[(K - 1) * M + M - 1] = unif(r, 0.1, 1), W[(D - 1) * M + M - 1] = unif(r, 0.3, 1.2);
  }
  for (int k = 0; k < K; k++)
    for (int i = 0; i < M; i++) R[k * M + i] = W[k * M + i];
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) {
      double s = 0;
      for (int k = 0; k < D; k++) s += W[k * M + i] * W[k * M + l];
      Q[i * M + l] = s;
    }
  for (int i = 0; i < M; i++)
    for (int l = 0; l < i; l++) Q[i * M + l] = Q[l * M + i];
}

static int eval(const cl_model *m, const cl_quad_opts *o, const double *R, const double *Q, double *out, double *est,
                char *err) {
  cl_drift *d;
  if (cl_drift_alloc(m, o, &d, err)) return 1;
  int st = cl_drift_eval(d, R, Q, out, out + m->K * m->M, err);
  if (est) *est = cl_drift_stderr(d);
  cl_drift_free(d);
  return st;
}

int main(int argc, char **argv) {
  if (argc < 3) return fprintf(stderr, "usage: audit_closed N SEED [FIRST]\n"), 2;
  const int N = atoi(argv[1]), first = argc > 3 ? atoi(argv[3]) : 0;
  const long nb = getenv("AUDIT_MC") ? atol(getenv("AUDIT_MC")) : 200000;
  cl_rng *r;
  cl_rng_alloc(strtoull(argv[2], NULL, 10), 0xc105ed, &r, NULL);
  static const double lams[] = {0, 0.3, 1};
  double wfine = 0, wmc = 0, wgrid = 0, west = 0, ratio_lam[3] = {0};
  int nviol_fine = 0, nviol_mc = 0, ncase = 0;
  printf("%4s %-8s %3s %9s %9s %9s %8s %8s %9s %s\n", "#", "state", "lam", "estimate", "|d-fine|", "fine err",
         "fine rat", "mc rat", "grid diff", "cldyn ode options");
  for (int c = 0; c < N; c++) {
    char args[2048];
    const int M = 2 + pick(r, 3), K = 1 + pick(r, 4), kind = pick(r, 6), li = pick(r, 3);
    const double s = unif(r, 0.05, 2), rho = unif(r, -0.95, 0.95), tau = unif(r, 0.2, 1),
                 beta = pick(r, 2) ? unif(r, 0, 2) : 0;
    int len = snprintf(args, sizeof args, "--M %d --act erf --g square --lambda %g --B 1 --s %.4g --rho %.4g "
                                          "--tau %.3g --reg l2:%.3g",
                       M, lams[li], s, rho, tau, beta);
    for (int k = 0; k < K; k++) len += snprintf(args + len, sizeof args - (size_t)len, " --c gauss:%.3g", unif(r, 0.25, 4));
    double R[CL_KMAX * CL_MMAX], Q[CL_MMAX * CL_MMAX];
    draw_state(r, K, M, kind, R, Q);
    len = audit_state_args(args, sizeof args, len, K, M, R, Q);
    if (c < first) continue;
    cl_config cfg;
    char err[CL_ERRLEN];
    if (audit_parse(c, args, args, &cfg, err)) continue;
    const cl_model *m = &cfg.model;
    const int nout = K * M + M * M;
    double d[NOUT], f64[NOUT], f96[NOUT], est;
    cl_quad_opts od = cfg.ode.quad, o64 = {.expect = CL_EXPECT_CLOSED, .n_gauss = 64},
                 o96 = {.expect = CL_EXPECT_CLOSED, .n_gauss = 96};
    if (eval(m, &od, m->R0, m->Q0, d, &est, err) || eval(m, &o64, m->R0, m->Q0, f64, NULL, err) ||
        eval(m, &o96, m->R0, m->Q0, f96, NULL, err)) {
      printf("%4d refused: %s | %s\n", c, err, args);
      continue;
    }
    ncase++;
    double rf = 0, df = 0, fe = 0;
    for (int k = 0; k < nout; k++) {
      const double e = fabs(d[k] - f64[k]), re = fabs(f64[k] - f96[k]);
      df = fmax(df, e), fe = fmax(fe, re);
      rf = fmax(rf, e / (est + re + 1e-14 * (1 + fabs(f64[k]))));
    }
    double mc[NOUT], se[NOUT], rm = 0;
    mc_ref_batches(m, m->R0, m->Q0, nb, 5000 + (uint64_t)c, 9, nout, mc_ref_drift, mc, se);
    for (int k = 0; k < nout; k++) rm = fmax(rm, fabs(d[k] - mc[k]) / (est + 4.5 * se[k]));
    double gd = NAN;
    double gr[NOUT];
    if (M == 2 && cl_grid_applies(m, NULL, 0) && !audit_grid_ref(m, 0, gr, err)) {
      gd = 0;
      for (int k = 0; k < nout; k++) gd = fmax(gd, fabs(d[k] - gr[k]) / (1 + fabs(gr[k])));
    }
    wfine = fmax(wfine, rf), wmc = fmax(wmc, rm), west = fmax(west, est), ratio_lam[li] = fmax(ratio_lam[li], rf);
    if (gd == gd) wgrid = fmax(wgrid, gd);
    nviol_fine += rf > 1, nviol_mc += rm > 1;
    printf("%4d %-8s %3g %9.2e %9.2e %9.2e %8.3f %8.2f %9.2e%s %s\n", c, kind_name[kind], lams[li], est, df, fe, rf,
           rm, gd, rf > 1 || rm > 1 ? " !" : "", args);
    fflush(stdout);
  }
  printf("\ncases %d; largest estimate %.2e; |d - fine| / (est + fine err + 1e-14 (1 + |fine|)): %.3f "
         "(lambda 0: %.3f, 0.3: %.3f, 1: %.3f), beyond 1: %d; |d - mc| / (est + 4.5 se): %.2f, beyond 1: %d; "
         "M = 2 grid: largest scaled difference %.2e\n",
         ncase, west, wfine, ratio_lam[0], ratio_lam[1], ratio_lam[2], nviol_fine, wmc, nviol_mc, wgrid);
  cl_rng_free(r);
  return 0;
}
