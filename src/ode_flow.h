/* ode_flow.h - internal: integrate dy/dt = f(y) with the library's DOP853
 * for a caller's drift function (the fixed-point finder's flows,
 * docs/fixed-points.md s.2). */
#ifndef CLDYN_ODE_FLOW_H
#define CLDYN_ODE_FLOW_H

#include "cldyn/common.h"

/* f(ctx, y, out): the drift at y (CL_EDIVERGE outside the domain, with a
 * message in err, CL_ERRLEN bytes, when err is not NULL) */
typedef cl_status (*cl_flow_fn)(void *ctx, const double *y, double *out, char *err);

/* y (n components) to its value at time T, in place; rtol and atol as for
 * cl_ode_solve.  CL_EDIVERGE (with the time) when the drift fails or the
 * step collapses; y is then unchanged. */
cl_status cl_ode_flow(cl_flow_fn f, void *ctx, int n, double *y, double T, double rtol, double atol, char *err);

/* The largest distance from an eigenvalue of J1 to the nearest of J2
 * (n x n row-major each; src/ode.c, whose boundary Jacobian's error
 * estimate it is); -1 if out of memory */
double cl_ode_spectrum_gap(const double *J1, const double *J2, int n);

/* J1's eigenvalues (in the order of cl_eigen_nonsymm(J1, n, 1)) matched one
 * to one to J2's, greedily by distance (the closest pair first); mv[a] the
 * distance of the a-th to its partner (the per-eigenvalue errors of
 * cl_fixed_point.eig_error).  -1 if out of memory. */
int cl_ode_eig_moves(const double *J1, const double *J2, int n, double *mv);

/* cl_ode_jacobian's J with, in J2 (if not NULL), the Jacobian its error is
 * measured against: the steps halved (*fac = 1) or, next to the boundary,
 * the next Richardson level (*fac = 2 in the Cholesky coordinates, whose
 * error is twice the difference; 1 for the one-sided differences) */
struct cl_drift;
cl_status cl_ode_jacobian_pair(struct cl_drift *d, int K, int M, const double *y, double *J, double *J2, int *fac,
                               char *err);

/* The bound on the entries of column j of cl_ode_jacobian_pair's J at y
 * (fac: the one it returned) from a bound rnd on the rounding of each
 * drift it differences, into e[j]: rnd / h_j for the central differences
 * (h_j the column's step), 3 rnd / h_j for their Richardson extrapolation
 * next to the boundary (4 (2 rnd / h_j) + rnd / h_j, over 3).  Returns 1
 * for the Cholesky coordinates (fac 2 next to the boundary: not bounded
 * here), 0 otherwise. */
int cl_ode_jacobian_rounding(int K, int M, const double *y, int fac, double rnd, double *e);

#endif
