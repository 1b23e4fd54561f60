/* quad_gl.h (internal) - the one Gauss-Legendre rule of the library
 * (src/quad.c), used by every engine that needs one (drift.c's panels and
 * relu rule, drift_cf.c, drift_erf.c, basin_noise.c, the uniform law in
 * quad.c; docs/theory.md s.3 "Gauss-Legendre rules"). */
#ifndef CLDYN_QUAD_GL_H
#define CLDYN_QUAD_GL_H

#include "cldyn/common.h"

/* The n-point Gauss-Legendre rule on [a, b] (n >= 1): nodes x[0..n-1] in
 * increasing order and weights w[0..n-1] (summing to b - a), accurate to
 * rounding for every n.  CL_ENOMEM if GSL cannot allocate its tables. */
cl_status cl_rule_legendre(int n, double a, double b, double *x, double *w, char *err);

/* 1 if cl_rule_legendre's n-point rule is GSL's correctly rounded table
 * (gsl_integration_glfixed), 0 if it is computed by Golub-Welsch. */
int cl_rule_legendre_tabulated(int n);

#endif
