/* cldyn/quad.h - quadrature rules for the expectation engine: a Gauss rule
 * matched to each law of c (exact atoms for discrete laws), and the
 * standard normal rule (Gauss-Hermite from GSL).  Weights are probabilities
 * (they sum to 1). */
#ifndef CLDYN_QUAD_H
#define CLDYN_QUAD_H

#include "cldyn/law.h"
#pragma GCC visibility push(default) /* the public API: see README "Library" */

typedef struct {
  int n;
  double *x, *w;
} cl_rule;

/* n-point standard normal rule: E[f(Z)] ~ sum w_k f(x_k). */
cl_status cl_rule_normal(int n, cl_rule *r, char *err);
/* n-point standard normal rule by the truncated trapezoid (see quad.c):
 * converges geometrically for integrands analytic in a strip (tanh,
 * sigmoid), where Gauss-Hermite converges only like exp(-c sqrt n). */
cl_status cl_rule_normal_trap(int n, cl_rule *r, char *err);
/* n-point trapezoid on [-L, L] for the standard normal (n >= 1). */
cl_status cl_rule_normal_trap_range(int n, double L, cl_rule *r, char *err);
/* Rule for the law of c with about n points: discrete laws (rademacher,
 * sparse, discrete) are their exact atoms; gauss is Gauss-Hermite; uniform
 * Gauss-Legendre; laplace Gauss-Laguerre on each half-line; student t the
 * normal scale mixture (generalised Gauss-Laguerre for the chi-square mixing
 * variable times Gauss-Hermite), about n points in all. */
cl_status cl_rule_law(const cl_law *law, int n, cl_rule *r, char *err);
void cl_rule_free(cl_rule *r);

#pragma GCC visibility pop
#endif
