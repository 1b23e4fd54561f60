/* act_pole.h (internal) - properties of sigma that the expectation rules
 * are chosen and sized by: the distance from the real axis at which a
 * smooth sigma stops being analytic, the scale the trapezoid rules over a
 * Gaussian pre-activation are sized by (src/drift.c, src/drift_grid.c;
 * docs/kinks.md, docs/grid.md s.3); whether sigma is a polynomial (exact
 * Gauss-Hermite rules and moments) or odd (the sign symmetries). */
#ifndef CLDYN_ACT_POLE_H
#define CLDYN_ACT_POLE_H

#include <math.h>

#include "cldyn/act.h"

/* tanh has poles at Im h = pi/2, the logistic sigmoid at Im h = pi;
 * erf(h / sqrt 2) is entire but its derivative exp(-h^2 / 2) needs the same
 * step as a pole at about 2 (docs/kinks.md).  0 for the others (polynomials
 * and relu: no such scale), so > 0 names the smooth saturating sigma. */
static inline double cl_act_pole(cl_act a) {
  return a == CL_ACT_TANH ? M_PI / 2 : a == CL_ACT_SIGMOID ? M_PI : a == CL_ACT_ERF ? 2.0 : 0;
}

/* sigma is a polynomial (linear, cubic): its Gaussian moments are exact
 * under Gauss-Hermite rules of enough nodes */
static inline int cl_act_polynomial(cl_act a) { return a == CL_ACT_LINEAR || a == CL_ACT_CUBIC; }

/* sigma is odd (linear, tanh, erf, cubic): sigma(-h) = -sigma(h) */
static inline int cl_act_odd(cl_act a) {
  return a == CL_ACT_LINEAR || a == CL_ACT_TANH || a == CL_ACT_ERF || a == CL_ACT_CUBIC;
}

#endif
