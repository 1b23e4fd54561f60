/* cldyn/fixed.h - fixed points of the order-parameter ODEs (L2), their
 * Jacobians, eigenvalues and stability, and the learnability threshold of
 * the uninformative state (MODEL.md s.2; docs/theory.md s.7).
 *
 * The state vector is y = (R row-major K x M, upper triangle of Q), as in
 * ode.h; n = K M + M (M + 1) / 2. */
#ifndef CLDYN_FIXED_H
#define CLDYN_FIXED_H

#include <stdio.h>

#include "cldyn/ode.h"

typedef enum { CL_STABLE, CL_SADDLE, CL_UNSTABLE, CL_MARGINAL } cl_stability;

typedef struct {
  int n;
  double y[CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX];
  double eig_re[CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX];
  double eig_im[CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX];
  double residual;  /* max |dy/dt| at the point */
  double jac_error; /* estimated error of the finite-difference Jacobian */
  cl_stability stability;
} cl_fixed_point;

const char *cl_stability_name(cl_stability s);

/* All fixed points found by multi-start Newton (GSL hybrids) from a grid of
 * starts including the uninformative state and each feature axis (plus the
 * optional extra starts), in the physical domain, duplicates removed, sorted
 * (stable first, then by y).  *out is malloc'ed; free it. */
cl_status cl_fixed_find(const cl_model *m, const cl_quad_opts *o, const double *extra, int nextra,
                        cl_fixed_point **out, int *nout, char *err);

/* The uninformative state R = 0: Q* with dQ/dt = 0 (Brent), and for feature
 * j the critical second moment m2 at which the eigenvalue of the Jacobian
 * along R_j crosses 0 (Brent on m2, the eigenvalue from cl_state_jacobian). */
cl_status cl_uninformative_Q(const cl_model *m, const cl_quad_opts *o, double *Qstar, char *err);
cl_status cl_critical_m2(const cl_model *m, const cl_quad_opts *o, int j, double *m2c, char *err);

/* CSV: [vary,]id, the R/Q/cos columns of traj.h, eig_re_k, eig_im_k, stability. */
void cl_fixed_write_header(FILE *f, int K, int M, const char *vary);
void cl_fixed_write_rows(FILE *f, int K, int M, const cl_fixed_point *p, int np, const char *vary_value);

#endif
