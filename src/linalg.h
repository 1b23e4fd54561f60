/* linalg.h (internal) - small dense matrix helpers shared by the drift
 * engines, the ODE's Jacobian and the fixed-point classifier, so that
 * each is written once: the eigenvalues of a general real matrix, the
 * symmetric square root of a covariance, and the checks of a state (finite; the residual covariance A = Q - R^T R PSD). */
#ifndef CLDYN_LINALG_H
#define CLDYN_LINALG_H

#include "cldyn/common.h"

/* The n eigenvalues re[k] + i im[k] of the n x n row-major matrix J (left
 * untouched) by GSL's nonsymmetric QR; with sorted, in decreasing modulus
 * (GSL's ABS_DESC order), else in the order GSL returns them.  CL_ENOMEM
 * (nothing written) when out of memory. */
cl_status cl_eigen_nonsymm(const double *J, int n, int sorted, double *re, double *im);

/* The symmetric eigenproblem (GSL's symmv): eigenvalues ev (n) and
 * eigenvectors, the columns of V (row-major n x n), of the symmetric n x n
 * matrix A (its lower triangle is read; A is left untouched).  CL_ENOMEM
 * (with the message in err, if non-NULL) when out of memory. */
cl_status cl_sym_eig(const double *A, int n, double *ev, double *V, char *err);

/* The smallest eigenvalue of the symmetric n x n matrix A (GSL's symm);
 * the public cl_model_sym_min_eig. */
double cl_sym_min_eig(const double *A, int n);

/* From cl_sym_eig's ev, V: S = V diag(sqrt ev) V^T (negative eigenvalues
 * clipped to 0), the symmetric PSD square root, and, if Sp is non-NULL,
 * Sp = V diag(ev^-1/2) V^T over the eigenvalues above 1e-12 lmax, the
 * pseudo-inverse of S; both made exactly symmetric.  Each entry sums its
 * terms in the order k = 0, ..., n-1. */
void cl_sym_form(const double *ev, const double *V, int n, double lmax, double *S, double *Sp);

/* Both at once for the n x n matrix Sg (n <= 2 CL_MMAX), lmax its largest
 * eigenvalue: the grid's and the quad rule's roots of their split
 * covariances (drift_grid.c, drift_acc.c); the Sobol' rules and the Monte
 * Carlo map z to h - mu = S z by cl_sym_roots_ginv's S instead, the same
 * root to rounding, accurate also for an eigenvalue below 1e-16 of the
 * largest (docs/multi.md s.12).  S is a function of Sg alone (not of the
 * eigenvectors' signs or order within a repeated eigenvalue), so it is
 * continuous in the state.  The public cl_model_sym_sqrt (cldyn/model.h,
 * model.c) is the same S, from the same two functions. */
cl_status cl_sym_roots(const double *Sg, int n, double *S, double *Sp, char *err);

/* A generalized inverse G of the n x n PSD matrix Sg (Sg G Sg = Sg; n <=
 * 2 CL_MMAX): the pseudo-inverse of Sg scaled to unit diagonal,
 * D^-1 (D^-1 Sg D^-1)^+ D^-1 with D = diag(sqrt Sg_ii) (1 where Sg_ii = 0),
 * eigenvalues below 1e-12 of the largest dropped in the scaled matrix: a
 * nearly dead unit's tiny variance is kept (the unscaled pseudo-inverse
 * dropped it below 1e-12 of the live unit's, and lost digits as 1 / its
 * variance above; docs/grid.md s.13).  The Stein regression of the drift
 * engines (drift_acc.c). */
cl_status cl_sym_ginv(const double *Sg, int n, double *G, char *err);

/* The Sobol' rules' and the Monte Carlo's maps (drift_multi.c, drift.c;
 * docs/multi.md s.1, s.12) for nb = 1 or 2 PSD n x n blocks Sg[b] (n <=
 * 2 CL_MMAX): S[b] their symmetric roots (cl_sym_roots': h - mu = S z,
 * functions of Sg alone) and the Stein maps GS[b] = G[b] S[b] (row-major),
 * with G[b] the generalized inverses of cl_sym_ginv: E[g eps] = Cov(eps, h)
 * G S E[g z].  (G S is S^+ where no eigenvalue is cut; the unscaled S^+
 * dropped a nearly dead unit.)  nb = 2: (Sg[0], Sg[1]) = (P + C, P - C) of
 * a Sigma = [[P, C], [C, P]] in sum and difference coordinates; both are
 * scaled by sqrt(P_ii), the mean of their diagonals, with one cut over
 * both: the G of Sigma itself, block by block. */
cl_status cl_sym_roots_ginv(int nb, const double *const *Sg, int n, double *const *S, double *const *GS,
                            char *err);

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
