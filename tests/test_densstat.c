/* The error of the L1 distance between a theory density and the histogram
 * of runs (app/densstat.c, docs/pde-l1-error.md): the expected distance of
 * a sample of the theory against the exact binomial expectation; the
 * standard errors against the spread of the distances over many
 * independent experiments; a histogram of another law is resolved. */
#include <criterion/criterion.h>
#include <gsl/gsl_randist.h>
#include <math.h>

#include "app/densstat.h"
#include "cldyn/rng.h"
#include "testutil.h"

/* theory: a triangle density on [-1, 1), cells of 1/80; histograms on bins
 * of 1/16 (both exact in binary) */
#define TH_N 160
#define TH_H (1.0 / 80)
#define HB 0.0625
#define HN 32

static void triangle(cl_dens_class *th, double *p) {
  double s = 0;
  for (int i = 0; i < TH_N; i++) s += p[i] = 1 - fabs(-1 + (i + 0.5) * TH_H);
  for (int i = 0; i < TH_N; i++) p[i] /= s * TH_H;
  *th = (cl_dens_class){{0}, -TH_N / 2, TH_N, TH_H, p};
}

/* run: n draws from the triangle law (inverse of its cdf by cells), moved by
 * shift, as a density on the histogram lattice */
static void sample_run(cl_rng *rng, const double *p, long n, double shift, cl_dens_class *h, double *hp) {
  double cdf[TH_N + 1];
  cdf[0] = 0;
  for (int i = 0; i < TH_N; i++) cdf[i + 1] = cdf[i] + p[i] * TH_H;
  for (int k = 0; k < HN + 8; k++) hp[k] = 0;
  for (long i = 0; i < n; i++) {
    double u = cl_rng_uniform(rng) * cdf[TH_N];
    int c = 0;
    while (c + 1 < TH_N && cdf[c + 1] <= u) c++;
    double w = -1 + (c + cl_rng_uniform(rng)) * TH_H + shift;
    long k = (long)floor(w / HB) + HN / 2 + 4; /* 4 spare bins each side */
    if (k >= 0 && k < HN + 8) hp[k] += 1 / ((double)n * HB);
  }
  *h = (cl_dens_class){{0}, -HN / 2 - 4, HN + 8, HB, hp};
}

Test(densstat, sampling_size_matches_exact_binomial) {
  double p[TH_N], hp[4][HN + 8], n[4] = {250, 250, 250, 250};
  cl_dens_class th, hc[4];
  const cl_dens_class *hr[4] = {&hc[0], &hc[1], &hc[2], &hc[3]};
  triangle(&th, p);
  cl_rng *rng;
  char err[CL_ERRLEN];
  cr_assert_eq(cl_rng_alloc(5, 1, &rng, err), CL_OK);
  for (int r = 0; r < 4; r++) sample_run(rng, p, 250, 0, &hc[r], hp[r]);
  cl_l1_stat ls;
  const int nrep = 2000;
  cr_assert_eq(cl_dens_l1_stat(&th, hr, n, 4, 0, nrep, 11, &ls, err), CL_OK, "%s", err);
  /* minmass 0: every bin its own group; the mean of four runs of 250 draws
   * is a binomial(1000, m_k) count in bin k, one run binomial(250, m_k) */
  double exact = 0, exact_run = 0;
  for (int k = 0; k < HN; k++) {
    double m = 0;
    for (int i = 0; i < 5; i++) m += p[5 * k + i] * TH_H;
    for (unsigned x = 0; x <= 1000; x++) exact += gsl_ran_binomial_pdf(x, m, 1000) * fabs(x / 1000.0 - m);
    for (unsigned x = 0; x <= 250; x++) exact_run += gsl_ran_binomial_pdf(x, m, 250) * fabs(x / 250.0 - m);
  }
  double mc = ls.se / sqrt(nrep);
  cr_expect_leq(fabs(ls.expected - exact), 4 * mc, "expected %g, exact %g (mc error %g)", ls.expected, exact, mc);
  /* the per-run mean over 4 runs: its mc error is below the pooled one's */
  cr_expect_leq(fabs(ls.run_expected - exact_run), 4 * mc, "per run: expected %g, exact %g", ls.run_expected, exact_run);
  cr_expect(isfinite(ls.z) && isfinite(ls.run_z) && ls.se > 0 && ls.run_se > 0);
  cl_rng_free(rng);
}

/* Over 80 independent experiments of 8 runs of 300 draws from the theory:
 * the mean distances are the expected ones, the standard errors are the
 * spread of the distances over the experiments, and z is centred. */
Test(densstat, standard_errors_are_the_spread_over_experiments) {
  enum { NE = 80, R = 8 };
  double p[TH_N], hp[R][HN + 8], n[R], l1[NE], rl1[NE], se = 0, rse = 0, expd = 0, rexpd = 0, zm = 0, rzm = 0;
  cl_dens_class th, hc[R];
  const cl_dens_class *hr[R];
  triangle(&th, p);
  for (int r = 0; r < R; r++) n[r] = 300, hr[r] = &hc[r];
  cl_rng *rng;
  char err[CL_ERRLEN];
  cr_assert_eq(cl_rng_alloc(6, 1, &rng, err), CL_OK);
  for (int e = 0; e < NE; e++) {
    for (int r = 0; r < R; r++) sample_run(rng, p, 300, 0, &hc[r], hp[r]);
    cl_l1_stat ls;
    cr_assert_eq(cl_dens_l1_stat(&th, hr, n, R, 0.05, 200, 100 + (uint64_t)e, &ls, err), CL_OK, "%s", err);
    l1[e] = ls.l1, rl1[e] = ls.run_l1;
    se += ls.se / NE, rse += ls.run_se / NE, expd += ls.expected / NE, rexpd += ls.run_expected / NE;
    zm += ls.z / NE, rzm += ls.run_z / NE;
  }
  double m = 0, sd = 0, rm = 0, rsd = 0;
  for (int e = 0; e < NE; e++) m += l1[e] / NE, rm += rl1[e] / NE;
  for (int e = 0; e < NE; e++) sd += (l1[e] - m) * (l1[e] - m) / (NE - 1), rsd += (rl1[e] - rm) * (rl1[e] - rm) / (NE - 1);
  sd = sqrt(sd), rsd = sqrt(rsd);
  cr_expect_leq(fabs(m - expd), 4 * sd / sqrt(NE), "mean distance %g, expected %g (sd %g)", m, expd, sd);
  cr_expect_leq(fabs(rm - rexpd), 4 * rsd / sqrt(NE), "per run: mean %g, expected %g (sd %g)", rm, rexpd, rsd);
  cr_expect(se > 0.8 * sd && se < 1.25 * sd, "se %g, spread over experiments %g", se, sd);
  cr_expect(rse > 0.8 * rsd && rse < 1.25 * rsd, "per-run se %g, spread over experiments %g", rse, rsd);
  cr_expect_leq(fabs(zm), 0.5, "mean z %g", zm);
  cr_expect_leq(fabs(rzm), 0.5, "mean per-run z %g", rzm);
  cl_rng_free(rng);
}

/* histograms of the law moved by 0.1 (under a bin of 0.0625 and more) */
Test(densstat, another_law_is_resolved) {
  enum { R = 8 };
  double p[TH_N], hp[R][HN + 8], n[R];
  cl_dens_class th, hc[R];
  const cl_dens_class *hr[R];
  triangle(&th, p);
  cl_rng *rng;
  char err[CL_ERRLEN];
  cr_assert_eq(cl_rng_alloc(7, 1, &rng, err), CL_OK);
  for (int r = 0; r < R; r++) n[r] = 2000, hr[r] = &hc[r], sample_run(rng, p, 2000, 0.1, &hc[r], hp[r]);
  cl_l1_stat ls;
  cr_assert_eq(cl_dens_l1_stat(&th, hr, n, R, 0.05, 200, 3, &ls, err), CL_OK, "%s", err);
  cr_expect_gt(ls.z, 5, "z %g (l1 %g, expected %g, se %g)", ls.z, ls.l1, ls.expected, ls.se);
  cr_expect_gt(ls.run_z, 5, "per-run z %g", ls.run_z);
  cl_rng_free(rng);
}
