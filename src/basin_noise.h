/* basin_noise.h (internal) - the noise terms of the M >= 2 escape law at
 * R = 0 (docs/fixed-points.md s.5): deterministic nested Gauss-Legendre
 * rules split at the integrands' kinks, over at most four pre-activations
 * at a time. */
#ifndef CLDYN_BASIN_NOISE_H
#define CLDYN_BASIN_NOISE_H

#include "cldyn/model.h"

/* Nodes per piece of the split Gauss-Legendre rule (two pieces per
 * Gaussian direction) at the default; see docs/fixed-points.md s.5. */
#define CL_NOISE_NODES 14

/* For every unit i, at R = 0, B = 1 and the Gram matrix Q (M x M):
 *   EGG[i] = E[(D1_i + D2_i)^2],  Es[i] = E[D1_i^2 + D2_i^2 + 2 rho D1_i D2_i]
 * (D1_i, D2_i in docs/fixed-points.md s.5), with n nodes per piece
 * (n <= 0: CL_NOISE_NODES).  CL_EDIVERGE if Q is not positive
 * semi-definite. */
cl_status cl_basin_noise_terms(const cl_model *m, const double *Q, int n, double *EGG, double *Es, char *err);

#endif
