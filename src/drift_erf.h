/* drift_erf.h (internal) - the closed-form expectation engine for
 * sigma = erf and Gaussian feature laws (docs/closed-forms.md): the
 * pre-activations (h1, h2) of all M units are then a zero-mean Gaussian
 * vector, and every drift term is a Gaussian expectation of products of
 * erf, its derivative and polynomials.  Closed forms for every term with
 * lambda = 0 (any M, B) and for dR and P with lambda > 0, g = square, B = 1;
 * V with lambda > 0 by a Gauss-Hermite rule over the few variables of each
 * term, with an error estimate from a coarser rule. */
#ifndef CLDYN_DRIFT_ERF_H
#define CLDYN_DRIFT_ERF_H

#include <stddef.h>

#include "cldyn/model.h"
#include "cldyn/quad.h"

typedef struct cl_erf cl_erf;

/* 1 if the model is one the engine handles (erf, every law gauss, L2 or no
 * regularizer, and lambda = 0, or M = 1, or g = square with B = 1); else 0
 * with the reason in why (a phrase naming the option). */
int cl_erf_applies(const cl_model *m, char *why, size_t len);
/* CL_EINVAL (the reason in err) if it does not apply; *out is NULL on failure. */
cl_status cl_erf_alloc(const cl_model *m, const cl_quad_opts *o, cl_erf **out, char *err);
void cl_erf_free(cl_erf *e);
cl_status cl_erf_eval(cl_erf *e, const double *R, const double *Q, double *dR, double *dQ, char *err);
/* M = 1: the terms b_z, b_e, V and E[G1 h1 + G2 h2] of docs/model.md s.6 at
 * the last evaluated state (cl_erf_eval first). */
cl_status cl_erf_m1_terms(const cl_erf *e, double *b_z, double *b_e, double *V, double *Egh, char *err);
/* Error estimate of the last evaluation (largest over the components of
 * dQ; 0 when every term is closed). */
double cl_erf_errmax(const cl_erf *e);
const char *cl_erf_method(const cl_erf *e);

#endif
