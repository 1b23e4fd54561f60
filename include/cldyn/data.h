/* cldyn/data.h - sampling for the microscopic model (docs/model.md s.1-2):
 * planted features u_j, the initial weights, and the loss of one batch.
 *
 * Storage: U is N x K and W is N x M, both row-major (entry (n, j) at
 * n*K + j); the columns u_j are orthonormal and xi_j = sqrt(N) u_j. */
#ifndef CLDYN_DATA_H
#define CLDYN_DATA_H

#include "cldyn/model.h"
#include "cldyn/rng.h"
#pragma GCC visibility push(default) /* the public API: see README "Library" */

/* Orthonormal features for the layout; U must hold N*K doubles.  For the
 * axis layout u_j = e_j. */
cl_status cl_data_features_draw(const cl_model *m, cl_rng *rng, double *U, char *err);
/* The limiting law of a coordinate's feature row xi_n = sqrt(N) U[n, :]:
 * its support points (classes) and their probabilities.  dense: +-1 per
 * feature (2^K classes); sparse:P: 0, +-1/sqrt(P) (3^K; 2^K if P = 1);
 * axis: the single class xi = 0 of the N - K background coordinates (the
 * spike coordinates n < K are not counted).  Writes count*K values to xi
 * and count to prob when they are non-NULL; returns the count. */
int cl_data_feature_classes(const cl_model *m, double *xi, double *prob);
/* The class of coordinate n of U (N x K): each entry of sqrt(N) U[n, :]
 * rounded to the nearest support value; -1 for axis spike coordinates. */
int cl_data_feature_class_of(const cl_model *m, const double *U, long long n);
/* Initial weights W (N*M doubles) for m->init: `random` draws i.i.d. rows
 * N(0, Q0); `overlap` builds W = sqrt(N) (U R0 + V S) with V orthonormal,
 * orthogonal to U, and S = (Q0 - R0^T R0)^(1/2), so that R(0) = R0 and
 * Q(0) = Q0 up to rounding. */
cl_status cl_data_weights_init(const cl_model *m, const double *U, cl_rng *rng, double *W, char *err);
/* Order parameters of W: R = U^T W / sqrt(N) (K x M), Q = W^T W / N (M x M). */
void cl_data_order_params(const cl_model *m, const double *U, const double *W, double *R, double *Q);

/* Draw one batch from `rng`: c (B x K), then 3 N B normals.  Writes the
 * clean samples X = U c + P_perp z and the two views X_a = X + s eps_a
 * (each N x B row-major), with corr(eps1, eps2) = rho.  X, X1 and X2 must
 * be consecutive (X1 = X + N B, X2 = X1 + N B); work holds K * B doubles. */
void cl_data_batch_draw(const cl_model *m, const double *U, cl_rng *rng, double *c, double *X,
                   double *X1, double *X2, double *work);

/* Loss of one batch from the pre-activations H1, H2 (M x B, entry (i, b) at
 * i*B + b): C = Y1 Y2^T / B, F = -sum_i C_ii + lambda sum_{i!=l} g(C_il).
 * Returns F and, if D1/D2 are non-NULL, writes D_a = -dF/dH_a (M x B). */
double cl_data_batch_loss(const cl_model *m, const double *H1, const double *H2, double *D1,
                     double *D2);
/* Gradient of F with respect to W for the batch X1, X2 (N x B row-major):
 * G = -(X1 D1^T + X2 D2^T) / sqrt(N) (N x M).  Returns F.  Work needs
 * 4*M*B doubles.  (The regularizer is not included.) */
double cl_data_batch_grad(const cl_model *m, const double *W, const double *X1, const double *X2,
                     double *G, double *work);

#pragma GCC visibility pop
#endif
