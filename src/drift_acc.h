/* drift_acc.h (internal) - the deterministic high-order rule for M >= 2,
 * B = 1 (or lambda = 0), g = square, smooth sigma (docs/accurate.md): the
 * two views are independent given (c, xi), so each outer node (c, xi) needs
 * one M-dimensional inner rule shared by both views.  Two rules (a coarse
 * and a fine level); the drift is the fine one and the error estimate the
 * largest difference of the two over the drift vector. */
#ifndef CLDYN_DRIFT_ACC_H
#define CLDYN_DRIFT_ACC_H

#include "cldyn/model.h"
#include "cldyn/quad.h"

typedef struct cl_acc cl_acc;

/* The nodes of one level: per Gaussian direction of the outer (xi) and
 * inner (eta) rules, and per continuous law of c. */
typedef struct {
  int nx, ne, nl;
  double Lx, Le; /* half-widths of the trapezoid rules (< 0: Gauss-Hermite) */
} cl_acc_level;

/* 1 if the rule applies to m (else 0, with the reason in why if non-NULL). */
int cl_acc_applies(const cl_model *m, char *why, size_t n);
/* The engine with the default levels (o->acc_nodes scales them). */
cl_status cl_acc_alloc(const cl_model *m, const cl_quad_opts *o, cl_acc **out, char *err);
/* The engine with explicit levels (bench/accurate.c, tests). */
cl_status cl_acc_alloc_levels(const cl_model *m, const cl_acc_level *coarse,
                              const cl_acc_level *fine, cl_acc **out, char *err);
void cl_acc_free(cl_acc *a);
/* The drift of level lev (0 coarse, 1 fine) alone. */
cl_status cl_acc_eval_level(cl_acc *a, int lev, const double *R, const double *Q, double *dR,
                            double *dQ, char *err);
/* The fine level's drift; ebar (if non-NULL) gets the estimate
 * max_k |fine_k - coarse_k| in every component (K*M entries for dR, then
 * M*M for dQ). */
cl_status cl_acc_eval(cl_acc *a, const double *R, const double *Q, double *dR, double *dQ,
                      double *ebar, char *err);
/* The estimate of the last cl_acc_eval. */
double cl_acc_errmax(const cl_acc *a);
const char *cl_acc_method(const cl_acc *a);

#endif
