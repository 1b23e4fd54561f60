/* cldyn/terms.h - the mechanism of the noise effect at an M = 1 state
 * (docs/findings.md s.3): the gradient second moment V split into its data
 * and noise parts, the responses b_z and b_e, and the damping
 * kappa = beta - b_z - b_e of q0 = Q - |R|^2, which obeys
 *   dq0/dt = -2 tau kappa q0 + tau^2 V / B,
 * so that at any fixed point q0* = tau V / (2 B kappa). */
#ifndef CLDYN_TERMS_H
#define CLDYN_TERMS_H

#include <stdio.h>

#include "cldyn/drift.h"
#include "cldyn/fixed.h"
#pragma GCC visibility push(default) /* the public API: see README "Library" */

typedef struct {
  double V;       /* E[(G1 + G2)^2 + s^2 (G1^2 + G2^2 + 2 rho G1 G2)] (the drift engine's) */
  double V_data;  /* E[(G1 + G2)^2] */
  double V_noise; /* s^2 E[G1^2 + G2^2 + 2 rho G1 G2] */
  double b_z, b_e;
  double kappa; /* beta - b_z - b_e */
  double q0;    /* Q - |R|^2 */
} cl_terms;

/* The terms at (R, Q) of an M = 1 model with an L2 (or no) regularizer.
 * b_z, b_e, V come from cl_drift_m1_terms (so they are the drift's own);
 * V_data and V_noise from a separate tensor rule over the law(s) of c and
 * the two Gaussian directions of (h1, h2).  CL_EINVAL if M != 1. */
cl_status cl_terms_eval(const cl_model *m, const cl_quad_opts *o, const double *R, double Q,
                        cl_terms *t, char *err);

/* The fixed command's rows with the terms appended: the header of
 * cl_fixed_write_header followed by ",V,V_data,V_noise,b_z,b_e,kappa", and
 * each row of cl_fixed_write_rows followed by those values. */
cl_status cl_terms_write_header(FILE *f, int K, int M, const char *vary, char *err);
cl_status cl_terms_write_rows(FILE *f, const cl_model *m, const cl_quad_opts *o,
                              const cl_fixed_point *p, int np, const char *vary_value, char *err);

#pragma GCC visibility pop
#endif
