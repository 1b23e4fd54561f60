/* cldyn/basin.h - attraction regions of the ODEs' stable fixed points and
 * the probability of selecting each feature from an uninformative start
 * (MODEL.md, finding (ii); docs/theory.md s.8).  M = 1.
 *
 * A random initialisation in high dimension gives R = O(N^-1/2) with an
 * isotropic direction in R^K: each direction u is integrated from
 * R(0) = eps u, Q(0) = Q0 until tmax and assigned to the stable fixed point
 * it reaches.  The probability of a fixed point is the measure of its
 * directions (a regular grid of angles for K = 2, seeded uniform directions
 * for K > 2). */
#ifndef CLDYN_BASIN_H
#define CLDYN_BASIN_H

#include "cldyn/fixed.h"
#include "cldyn/ode.h"

typedef struct {
  int nfp;            /* stable fixed points */
  cl_fixed_point *fp; /* their description */
  long *count;        /* directions reaching each; unassigned in count[nfp] */
  long ndir;
} cl_basin_result;

cl_status cl_basin(const cl_model *m, const cl_ode_opts *o, long ndir, double eps, double tmax,
                   uint64_t seed, int threads, cl_basin_result *res, char *err);
void cl_basin_result_free(cl_basin_result *res);

/* Which stable fixed point (index, or nfp if none within 1e-3) the ODE
 * reaches from R(0) = R0 (K values), Q(0) = Q0. */
cl_status cl_basin_classify(const cl_model *m, const cl_ode_opts *o, const cl_basin_result *res,
                            const double *R0, double Q0, double tmax, int *which, char *err);

#endif
