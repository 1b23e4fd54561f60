/* app/densstat.h - the error of the L1 distance between a theory density
 * and the mean histogram of several runs (docs/pde-l1-error.md): its size
 * and standard error when each run is independent draws from the theory's
 * law (the finite-sample size), and the same distance run by run with its
 * standard error over the runs. */
#ifndef CLDYN_DENSSTAT_H
#define CLDYN_DENSSTAT_H

#include <stdint.h>

#include "plot.h"

typedef struct {
  double l1;       /* cl_dens_l1 of the theory against the mean of the runs */
  double expected; /* its mean when each run r is n[r] independent draws from the theory */
  double se;       /* its standard deviation then: the standard error of l1 */
  double z;        /* (l1 - expected) / se */
  double run_l1;       /* the mean over runs of cl_dens_l1 of the theory against run r */
  double run_se;       /* its standard error over the runs, sd / sqrt(runs) */
  double run_expected; /* its mean when each run is independent draws */
  double run_z;        /* (run_l1 - run_expected) / run_se */
} cl_l1_stat;

/* theory: one class of the theory's density; hist[r] (r < nruns, at least
 * 2): the same class in run r, all on one lattice of width h; n[r]: the
 * number of weights the histogram of run r holds.  nrep replicates of
 * independent draws from the seed; minmass as in cl_dens_l1.  CL_EINVAL if
 * the runs' lattices differ, CL_ENOMEM. */
cl_status cl_dens_l1_stat(const cl_dens_class *theory, const cl_dens_class *const *hist, const double *n, int nruns,
                          double minmass, int nrep, uint64_t seed, cl_l1_stat *out, char *err);

#endif
