/* The error of an L1 distance between a theory density and the histogram of
 * runs (densstat.h, docs/pde-l1-error.md s.2). */
#include "densstat.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cldyn/rng.h"

static void mean_sd(const double *x, int n, double *m, double *sd) {
  double s = 0, q = 0;
  for (int i = 0; i < n; i++) s += x[i];
  s /= n;
  for (int i = 0; i < n; i++) q += (x[i] - s) * (x[i] - s);
  *m = s, *sd = n > 1 ? sqrt(q / (n - 1)) : NAN;
}

cl_status cl_dens_l1_stat(const cl_dens_class *th, const cl_dens_class *const *hist, const double *n, int nruns,
                          double minmass, int nrep, uint64_t seed, cl_l1_stat *out, char *err) {
  if (nruns < 2 || nrep < 2) return cl_fail(err, CL_EINVAL, "L1 error: needs runs >= 2 and replicates >= 2");
  const double h = hist[0]->h;
  long lo = hist[0]->lo, hi = hist[0]->lo + (long)hist[0]->n;
  for (int r = 0; r < nruns; r++) {
    if (fabs(hist[r]->h - h) > 1e-9 * h) return cl_fail(err, CL_EINVAL, "L1 error: the runs' histograms differ in bin width");
    if (hist[r]->lo < lo) lo = hist[r]->lo;
    if (hist[r]->lo + (long)hist[r]->n > hi) hi = hist[r]->lo + (long)hist[r]->n;
  }
  /* one lattice for the runs, their mean and the draws: the runs' range and
   * the theory's */
  long tlo = (long)floor((double)th->lo * th->h / h), thi = (long)floor(((double)th->lo + (double)th->n) * th->h / h) + 1;
  if (tlo < lo) lo = tlo;
  if (thi > hi) hi = thi;
  cl_dens_class c = *hist[0], d = *hist[0];
  c.lo = d.lo = lo, c.n = d.n = (size_t)(hi - lo);
  c.p = calloc(c.n, sizeof(double)), d.p = malloc(sizeof(double) * d.n);
  double *cdf = malloc(sizeof(double) * (th->n + 1)), *pl = malloc(sizeof(double) * (size_t)nrep),
         *rl = malloc(sizeof(double) * (size_t)(nrep > nruns ? nrep : nruns)), *rm = malloc(sizeof(double) * (size_t)nrep);
  cl_rng *rng = NULL;
  cl_status st = c.p && d.p && cdf && pl && rl && rm ? cl_rng_alloc(seed, 0x4c31, &rng, err)
                                                     : cl_fail(err, CL_ENOMEM, "L1 error: out of memory");
  if (st) goto out;
  /* the observed distances: of the mean of the runs, and of each run */
  for (int r = 0; r < nruns; r++) {
    for (size_t k = 0; k < hist[r]->n; k++) c.p[(size_t)(hist[r]->lo - lo) + k] += hist[r]->p[k] / nruns;
    rl[r] = cl_dens_l1(th, hist[r], minmass);
  }
  out->l1 = cl_dens_l1(th, &c, minmass);
  double sd;
  mean_sd(rl, nruns, &out->run_l1, &sd);
  out->run_se = sd / sqrt(nruns);
  /* replicates: each run n[r] draws from the theory's law, piecewise
   * constant on its cells; c is reused for their mean */
  cdf[0] = 0;
  for (size_t i = 0; i < th->n; i++) cdf[i + 1] = cdf[i] + fmax(th->p[i], 0) * th->h;
  for (int b = 0; b < nrep; b++) {
    memset(c.p, 0, sizeof(double) * c.n);
    rm[b] = 0;
    for (int r = 0; r < nruns; r++) {
      long nr = lround(n[r]);
      memset(d.p, 0, sizeof(double) * d.n);
      for (long i = 0; i < nr; i++) {
        double u = cl_rng_uniform(rng) * cdf[th->n];
        size_t a = 0, z = th->n; /* cdf[a] <= u < cdf[z] */
        while (z - a > 1) {
          size_t m = (a + z) / 2;
          if (cdf[m] <= u) a = m;
          else z = m;
        }
        double w = ((double)th->lo + (double)a + cl_rng_uniform(rng)) * th->h;
        long k = (long)floor(w / h);
        if (k >= lo && k < hi) d.p[k - lo] += 1 / (nr * h);
      }
      for (size_t k = 0; k < c.n; k++) c.p[k] += d.p[k] / nruns;
      rm[b] += cl_dens_l1(th, &d, minmass) / nruns;
    }
    pl[b] = cl_dens_l1(th, &c, minmass);
  }
  mean_sd(pl, nrep, &out->expected, &out->se);
  mean_sd(rm, nrep, &out->run_expected, &sd);
  out->z = (out->l1 - out->expected) / out->se;
  out->run_z = (out->run_l1 - out->run_expected) / out->run_se;
out:
  free(c.p), free(d.p), free(cdf), free(pl), free(rl), free(rm);
  cl_rng_free(rng);
  return st;
}
