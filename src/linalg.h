/* linalg.h (internal) - small dense matrix helpers shared by the drift
 * engines, the ODE's Jacobian and the fixed-point classifier, so that
 * each is written once: the eigenvalues of a general real matrix. */
#ifndef CLDYN_LINALG_H
#define CLDYN_LINALG_H

#include "cldyn/common.h"

/* The n eigenvalues re[k] + i im[k] of the n x n row-major matrix J (left
 * untouched) by GSL's nonsymmetric QR; with sorted, in decreasing modulus
 * (GSL's ABS_DESC order), else in the order GSL returns them.  CL_ENOMEM
 * (nothing written) when out of memory. */
cl_status cl_eigen_nonsymm(const double *J, int n, int sorted, double *re, double *im);

#endif
