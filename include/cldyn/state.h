/* The state vector of the order-parameter ODEs and of the fixed-point
 * finder: y = (R row-major K x M, upper triangle of Q), n = K M + M (M + 1)
 * / 2 (docs/model.md s.5).  Its own module so that the symmetry group
 * (symmetry.c) and the integrators (ode.c) share it without depending on
 * each other. */
#ifndef CLDYN_STATE_H
#define CLDYN_STATE_H

#include "cldyn/model.h"

#pragma GCC visibility push(default) /* the public API: see README "Library" */

#define CL_STATE_MAX (CL_KMAX * CL_MMAX + CL_MMAX * (CL_MMAX + 1) / 2)
int cl_state_size(int K, int M);
void cl_state_pack(int K, int M, const double *R, const double *Q, double *y);
void cl_state_unpack(int K, int M, const double *y, double *R, double *Q);

#pragma GCC visibility pop

#endif
