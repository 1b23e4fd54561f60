/* drift_cf.h - internal: the M = 1 expectations over many features through
 * characteristic functions (docs/m1-many-features.md).  Used by drift.c
 * when the tensor product of the laws' rules is large; the cost of one
 * evaluation is polynomial in K.
 *
 * Given c, (h1, h2) = (X + v, X - v) with X = m + u, m = c . R,
 * u ~ N(0, cp^2) and v ~ N(0, cm^2).  The density of X and its tilted
 * densities E[c_j; X in dx] are Fourier integrals of closed-form
 * characteristic functions (the Gaussian factor exp(-cp^2 w^2 / 2) makes
 * them converge fast); the outer integral over X is a trapezoid (a
 * Gauss-Legendre composite for relu, on x > 0). */
#ifndef CLDYN_DRIFT_CF_H
#define CLDYN_DRIFT_CF_H

#include <math.h>

#include "cldyn/model.h"

typedef struct cl_cf cl_cf;

/* skip[j] != 0: feature j is not a c variable here (a gauss law merged into
 * the Gaussian part by drift.c).  n_v: points of the rule along v. */
cl_status cl_cf_alloc(const cl_model *m, const int *skip, int n_v, cl_cf **out, char *err);
void cl_cf_free(cl_cf *cf);

/* The sums of gauss_block_m1 over c: acc = [E(G1 + G2), E(G1 z+), E(G1 z-),
 * E(G2 z+), E(G2 z-), E(G1 h1 + G2 h2), E(V)], with u = cp z+, v = cm z-,
 * and aR[j] = E[c_j (G1 + G2)] (0 for skipped features).  CL_EINVAL (with
 * a message) if the method does not apply: cp too small for the grids
 * (the Gaussian smoothing vanishes) or the grids too large. */
cl_status cl_cf_eval(cl_cf *cf, const double *R, double cp, double cm, double acc[7], double *aR,
                     char *err);

/* 1 if the terms are exact combinations of moments (polynomial sigma:
 * linear, cubic), which no grid approximates. */
int cl_cf_exact(const cl_cf *cf);

/* Another level (the ode error estimate, docs/m1-many-features.md s.7):
 * the error exponents of the w cut, the x trapezoid and the range times
 * f[0], f[1], f[2]. */
void cl_cf_scale_exponents(cl_cf *cf, const double f[3]);

/* Grid sizes of the last successful evaluation (0 with cl_cf_exact). */
void cl_cf_sizes(const cl_cf *cf, int *n_x, int *n_w, double *L);

/* Shared with the grid engine (drift_grid.c): */
/* phi(t) = E[e^{itc}] (pr + i pi) and chi(t) = E[c e^{itc}] = -i phi'(t)
 * (cr + i ci) of one law; */
void cl_cf_law(const cl_law *law, double t, double *pr, double *pi, double *cr, double *ci);
/* the closed forms of cl_cf_law (the grid engine's vectorised spectrum
 * calls them in `omp simd` loops): pr and ci, the only non-zero parts of a
 * symmetric law's phi and chi.  The trigonometric laws take cs = cos(f t)
 * and sn = sin(f t), with f from cl_cf_trig (1 for these laws, else 0). */
int cl_cf_trig(const cl_law *law, double *f);
static inline void cl_cf_gauss(double m2, double t, double *pr, double *ci) {
  *pr = exp(-0.5 * m2 * t * t), *ci = m2 * t * *pr;
}
static inline void cl_cf_rademacher(double f, double cs, double sn, double *pr, double *ci) {
  *pr = cs, *ci = f * sn;
}
/* on [-a, a]: sin(x)/x and a (sin x - x cos x) / x^2, x = a t */
static inline void cl_cf_uniform(double a, double t, double cs, double sn, double *pr, double *ci) {
  const double x = a * t, x2 = x * x;
  if (fabs(x) < 1e-2) {
    *pr = 1 - x2 / 6 * (1 - x2 / 20 * (1 - x2 / 42 * (1 - x2 / 72)));
    *ci = a * x / 3 * (1 - x2 / 10 * (1 - x2 / 28 * (1 - x2 / 54)));
  } else
    *pr = sn / x, *ci = a * (sn - x * cs) / x2;
}
static inline void cl_cf_sparse(double p, double a, double cs, double sn, double *pr, double *ci) {
  *pr = 1 - p + p * cs, *ci = p * a * sn;
}
static inline void cl_cf_laplace(double m2, double t, double *pr, double *ci) {
  const double b2 = 0.5 * m2, q = 1 / (1 + b2 * t * t);
  *pr = q, *ci = 2 * b2 * t * q * q;
}
/* a student law's upper quantile of |c| at the one-sided tail mass CF_STQ
 * (0 for the other laws); */
double cl_cf_tail_q(const cl_law *law);
/* a half-width L of the range of X = sum_j R_j c_j + N(0, cp^2) with tail
 * exponent E (the error analysis of docs/m1-many-features.md), tq[j] =
 * cl_cf_tail_q(law + j); its standard deviation in *sd (if non-NULL). */
double cl_cf_range(const cl_law *law, const double *tq, int K, const double *R, double cp, double E,
                   double *sd);

#endif
