/* linalg.h (internal) - small dense matrix helpers shared by the drift
 * engines, the ODE's Jacobian and the fixed-point classifier, so that
 * each is written once: the eigenvalues of a general real matrix, and the
 * checks of a state (finite; the residual covariance A = Q - R^T R PSD). */
#ifndef CLDYN_LINALG_H
#define CLDYN_LINALG_H

#include "cldyn/common.h"

/* The n eigenvalues re[k] + i im[k] of the n x n row-major matrix J (left
 * untouched) by GSL's nonsymmetric QR; with sorted, in decreasing modulus
 * (GSL's ABS_DESC order), else in the order GSL returns them.  CL_ENOMEM
 * (nothing written) when out of memory. */
cl_status cl_eigen_nonsymm(const double *J, int n, int sorted, double *re, double *im);

/* A = Q - R^T R (M x M; R is K x M, both row-major), the covariance of the
 * units' feature-free part: each entry is Q_il, or (Q_il + Q_li) / 2 when
 * sym is set, minus R_ji R_jl in the order j = 0, ..., K-1.  The engines'
 * results depend on that order to the last bit: a caller whose sum mixes
 * in other terms keeps its own loop. */
void cl_resid_cov(int K, int M, const double *R, const double *Q, int sym, double *A);

/* CL_EDIVERGE (with the message in err) when an entry of R (K x M) or Q
 * (M x M) is not finite, the drift engines' first check of a state */
cl_status cl_state_finite(int K, int M, const double *R, const double *Q, char *err);

/* cl_resid_cov, then CL_EDIVERGE (with the message in err) when A has an
 * eigenvalue below -1e-9 max(1, max_i |Q_ii|): the state has left the
 * physical domain (Q - R^T R must be PSD), beyond rounding. */
cl_status cl_resid_cov_domain(int K, int M, const double *R, const double *Q, int sym, double *A, char *err);

#endif
