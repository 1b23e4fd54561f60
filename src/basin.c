/* Attraction regions and feature-selection probabilities (M = 1). */
#include "cldyn/basin.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cldyn/rng.h"

void cl_basin_result_free(cl_basin_result *res) {
  free(res->fp);
  free(res->count);
  memset(res, 0, sizeof *res);
}

cl_status cl_basin_classify(const cl_model *m, const cl_ode_opts *o, const cl_basin_result *res,
                            const double *R0, double Q0, double tmax, int *which, char *err) {
  cl_model mm = *m;
  memcpy(mm.R0, R0, sizeof(double) * (size_t)m->K);
  mm.Q0[0] = Q0;
  mm.init = CL_INIT_OVERLAP;
  cl_schedule s = {.T = tmax, .dt_out = tmax, .runs = 1, .seed = 1};
  cl_traj *tr;
  cl_status st = cl_ode_solve(&mm, &s, o, &tr, NULL, err);
  if (st) return st;
  const double *row = cl_traj_row(tr, 0, tr->nt - 1);
  int K = m->K, n = K + 1, best = res->nfp;
  double y[CL_KMAX + 1], bestd = 1e-3;
  memcpy(y, row, sizeof(double) * (size_t)(K + 1)); /* R_1..R_K, Q_1_1 */
  for (int i = 0; i < res->nfp; i++) {
    double d = 0;
    for (int k = 0; k < n; k++) d = fmax(d, fabs(res->fp[i].y[k] - y[k]));
    if (d < bestd) bestd = d, best = i;
  }
  cl_traj_free(tr);
  *which = best;
  return CL_OK;
}

cl_status cl_basin(const cl_model *m, const cl_ode_opts *o, long ndir, double eps, double tmax,
                   uint64_t seed, int threads, cl_basin_result *res, char *err) {
  memset(res, 0, sizeof *res);
  if (m->M != 1) return cl_fail(err, CL_EINVAL, "--M: basin needs M = 1");
  if (m->K < 2) return cl_fail(err, CL_EINVAL, "--c: basin needs K >= 2 features");
  cl_fixed_point *all;
  int nall;
  cl_status st = cl_fixed_find(m, &o->quad, NULL, 0, &all, &nall, err);
  if (st) return st;
  res->fp = malloc(sizeof *res->fp * (size_t)(nall + 1));
  int ns = 0;
  for (int i = 0; i < nall; i++)
    if (all[i].stability == CL_STABLE) res->fp[ns++] = all[i];
  free(all);
  res->nfp = ns;
  res->ndir = ndir;
  res->count = calloc((size_t)ns + 1, sizeof(long));
  const int K = m->K;
  /* directions: regular angles for K = 2; seeded isotropic Gaussians else */
  double *dirs = malloc(sizeof(double) * (size_t)ndir * (size_t)K);
  cl_rng *rng = cl_rng_alloc(seed, 0x6261);
  for (long k = 0; k < ndir; k++) {
    double *u = dirs + k * K, nrm = 0;
    if (K == 2) {
      double th = 2 * M_PI * ((double)k + 0.5) / (double)ndir;
      u[0] = cos(th), u[1] = sin(th);
      continue;
    }
    for (int j = 0; j < K; j++) u[j] = cl_rng_gauss(rng), nrm += u[j] * u[j];
    for (int j = 0; j < K; j++) u[j] /= sqrt(nrm);
  }
  cl_rng_free(rng);
  int *which = malloc(sizeof(int) * (size_t)ndir);
  long bad = -1;
  char e0[CL_ERRLEN] = "";
  int nth = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic, 1) num_threads(nth)
  for (long k = 0; k < ndir; k++) {
    double R0[CL_KMAX];
    char e[CL_ERRLEN];
    for (int j = 0; j < K; j++) R0[j] = eps * dirs[k * K + j];
    if (cl_basin_classify(m, o, res, R0, m->Q0[0], tmax, &which[k], e)) {
#pragma omp critical(cl_basin_err)
      if (bad < 0 || k < bad) bad = k, memcpy(e0, e, CL_ERRLEN);
    }
  }
  if (bad < 0)
    for (long k = 0; k < ndir; k++) res->count[which[k]]++;
  free(which);
  free(dirs);
  if (bad >= 0) {
    cl_basin_result_free(res);
    return cl_fail(err, CL_EDIVERGE, "basin: direction %ld: %s", bad + 1, e0);
  }
  return CL_OK;
}
