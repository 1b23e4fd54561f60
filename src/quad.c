/* Quadrature rules matched to the laws of c, built on GSL's fixed-point
 * rules (gsl_integration_fixed_*), normalised to probability weights. */
#include "cldyn/quad.h"

#include <gsl/gsl_integration.h>
#include <math.h>
#include <stdlib.h>

#include "quad_gl.h"

static cl_status rule_alloc(cl_rule *r, int n, char *err) {
  r->n = n;
  r->x = malloc(sizeof(double) * (size_t)n);
  r->w = malloc(sizeof(double) * (size_t)n);
  if (!r->x || !r->w) {
    cl_rule_free(r);
    return cl_fail(err, CL_ENOMEM, "quadrature: out of memory");
  }
  return CL_OK;
}

void cl_rule_free(cl_rule *r) {
  free(r->x);
  free(r->w);
  r->x = r->w = NULL;
  r->n = 0;
}

/* GSL's n-point fixed rule for the weight function of `type`: nodes
 * (increasing) into x[], weights as GSL gives them into w[].  0 if GSL
 * cannot build it (bad n or alpha, or out of memory inside GSL). */
static int gsl_fixed_fill(const gsl_integration_fixed_type *type, int n, double a, double b, double alpha,
                          double *x, double *w) {
  gsl_integration_fixed_workspace *ws = gsl_integration_fixed_alloc(type, (size_t)n, a, b, alpha, 0);
  if (!ws) return 0;
  const double *fx = gsl_integration_fixed_nodes(ws), *fw = gsl_integration_fixed_weights(ws);
  for (int k = 0; k < n; k++) x[k] = fx[k], w[k] = fw[k];
  gsl_integration_fixed_free(ws);
  return 1;
}

/* GSL fixed rule: nodes and weights for the weight function of `type`,
 * weights normalised to sum 1. */
static cl_status gsl_rule(const gsl_integration_fixed_type *type, int n, double a, double b,
                          double alpha, cl_rule *r, char *err) {
  if (n < 1) return cl_fail(err, CL_EINVAL, "quadrature: GSL could not build a %d-point rule", n);
  cl_status st = rule_alloc(r, n, err);
  if (st) return st;
  if (!gsl_fixed_fill(type, n, a, b, alpha, r->x, r->w)) {
    cl_rule_free(r);
    return cl_fail(err, CL_EINVAL, "quadrature: GSL could not build a %d-point rule", n);
  }
  double sum = 0;
  for (int k = 0; k < n; k++) sum += r->w[k];
  for (int k = 0; k < n; k++) r->w[k] /= sum;
  return CL_OK;
}

/* GSL has two Gauss-Legendre sources.  gsl_integration_glfixed tabulates
 * correctly rounded rules for some n and computes the others by an
 * iteration that stops too early from n = 38 on: those rules integrate the
 * Legendre polynomials of degree < 2n 9.6e-13..8.3e-11 off.
 * gsl_integration_fixed (Golub-Welsch) is accurate for every n (4e-15 on
 * the same test up to n = 200; docs/theory.md s.3).  So: the table where
 * GSL has one (which also keeps the default rules, all tabulated, bit for
 * bit), Golub-Welsch elsewhere.  Both give the nodes in increasing order.
 *
 * The tabulated n are a fixed list in GSL's glfixed.c (2-20, 32, 64, 96,
 * 100, 128, 256, 512, 1024 in GSL 2.7), so they are listed here rather
 * than asked of a glfixed table, which for any other n would first compute
 * the rule it stands for only to be thrown away.  Test
 * law/legendre_tabulated_sizes_are_gsls holds the list to the installed GSL. */
int cl_rule_legendre_tabulated(int n) {
  static const int big[] = {32, 64, 96, 100, 128, 256, 512, 1024};
  if (n >= 2 && n <= 20) return 1;
  for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
    if (n == big[i]) return 1;
  return 0;
}

cl_status cl_rule_legendre(int n, double a, double b, double *x, double *w, char *err) {
  if (n < 1) return cl_fail(err, CL_EINVAL, "quadrature: a Gauss-Legendre rule needs n >= 1, not %d", n);
  if (!cl_rule_legendre_tabulated(n))
    return gsl_fixed_fill(gsl_integration_fixed_legendre, n, a, b, 0, x, w)
               ? CL_OK
               : cl_fail(err, CL_ENOMEM, "quadrature: out of memory");
  gsl_integration_glfixed_table *t = gsl_integration_glfixed_table_alloc((size_t)n);
  if (!t) return cl_fail(err, CL_ENOMEM, "quadrature: out of memory");
  for (int k = 0; k < n; k++) gsl_integration_glfixed_point(a, b, (size_t)k, &x[k], &w[k], t);
  gsl_integration_glfixed_table_free(t);
  return CL_OK;
}

cl_status cl_rule_normal(int n, cl_rule *r, char *err) {
  /* Hermite weight exp(-x^2): Z = sqrt(2) x */
  cl_status st = gsl_rule(gsl_integration_fixed_hermite, n, 0, 1, 0, r, err);
  if (!st)
    for (int k = 0; k < n; k++) r->x[k] *= M_SQRT2;
  return st;
}

cl_status cl_rule_law(const cl_law *law, int n, cl_rule *r, char *err) {
  double sd = sqrt(law->m2);
  cl_status st;
  switch (law->kind) {
  case CL_LAW_RADEMACHER:
    if ((st = rule_alloc(r, 2, err))) return st;
    r->x[0] = -sd, r->x[1] = sd, r->w[0] = r->w[1] = 0.5;
    return CL_OK;
  case CL_LAW_SPARSE:
    if ((st = rule_alloc(r, 3, err))) return st;
    r->x[0] = -sd / sqrt(law->p), r->x[1] = 0, r->x[2] = sd / sqrt(law->p);
    r->w[0] = r->w[2] = law->p / 2, r->w[1] = 1 - law->p;
    return CL_OK;
  case CL_LAW_DISCRETE:
    if ((st = rule_alloc(r, law->nvals, err))) return st;
    for (int k = 0; k < law->nvals; k++) r->x[k] = law->vals[k], r->w[k] = law->probs[k];
    return CL_OK;
  case CL_LAW_GAUSS:
    if ((st = cl_rule_normal(n, r, err))) return st;
    for (int k = 0; k < n; k++) r->x[k] *= sd;
    return CL_OK;
  case CL_LAW_UNIFORM: {
    double a = sqrt(3.0) * sd, sum = 0;
    if ((st = rule_alloc(r, n, err))) return st;
    if ((st = cl_rule_legendre(n, -a, a, r->x, r->w, err))) return cl_rule_free(r), st;
    for (int k = 0; k < n; k++) sum += r->w[k];
    for (int k = 0; k < n; k++) r->w[k] /= sum;
    return CL_OK;
  }
  case CL_LAW_LAPLACE: {
    /* density exp(-|x|/b)/(2b): Gauss-Laguerre on each half-line */
    int h = (n + 1) / 2;
    cl_rule half;
    double b = sd / M_SQRT2;
    if ((st = gsl_rule(gsl_integration_fixed_laguerre, h, 0, 1, 0, &half, err))) return st;
    if ((st = rule_alloc(r, 2 * h, err))) return cl_rule_free(&half), st;
    for (int k = 0; k < h; k++) {
      r->x[k] = -b * half.x[k], r->x[h + k] = b * half.x[k];
      r->w[k] = r->w[h + k] = half.w[k] / 2;
    }
    cl_rule_free(&half);
    return CL_OK;
  }
  case CL_LAW_STUDENT: {
    /* c = k Z sqrt(nu / V), V ~ chi2_nu, k^2 = m2 (nu - 2) / nu.  With
     * u = V / 2 ~ Gamma(alpha + 1), alpha = nu/2 - 1, the integrand grows
     * like c^2 ~ 1/u; so E[g] = E_{alpha-1}[u g(u)] / alpha is computed with
     * the generalised Gauss-Laguerre rule of the lower weight u^(alpha-1)
     * e^-u, where u g(u) is smooth: second moments are then exact. */
    int nu_n = (int)ceil(sqrt((double)n)), nz = nu_n;
    cl_rule ru, rz;
    double alpha = law->nu / 2 - 1;
    if ((st = gsl_rule(gsl_integration_fixed_laguerre, nu_n, 0, 1, alpha - 1, &ru, err)))
      return st;
    if ((st = cl_rule_normal(nz, &rz, err))) return cl_rule_free(&ru), st;
    if ((st = rule_alloc(r, nu_n * nz, err))) return cl_rule_free(&ru), cl_rule_free(&rz), st;
    double k = sd * sqrt((law->nu - 2) / law->nu);
    for (int i = 0; i < nu_n; i++)
      for (int j = 0; j < nz; j++) {
        r->x[i * nz + j] = k * sqrt(law->nu / (2 * ru.x[i])) * rz.x[j];
        r->w[i * nz + j] = ru.w[i] * ru.x[i] / alpha * rz.w[j];
      }
    cl_rule_free(&ru);
    cl_rule_free(&rz);
    return CL_OK;
  }
  }
  return cl_fail(err, CL_EINVAL, "quadrature: unknown law");
}

cl_status cl_rule_normal_trap_range(int n, double L, cl_rule *r, char *err) {
  cl_status st = rule_alloc(r, n, err);
  if (st) return st;
  if (n == 1) {
    r->x[0] = 0, r->w[0] = 1;
    return CL_OK;
  }
  double h = 2 * L / (n - 1), sum = 0;
  for (int k = 0; k < n; k++) {
    r->x[k] = -L + h * k;
    r->w[k] = exp(-0.5 * r->x[k] * r->x[k]);
    sum += r->w[k];
  }
  for (int k = 0; k < n; k++) r->w[k] /= sum;
  return CL_OK;
}

cl_status cl_rule_normal_trap(int n, cl_rule *r, char *err) {
  /* Trapezoid on [-L, L] with step h = 2L / (n - 1): for integrands analytic
   * in a strip |Im z| < delta the error is ~ exp(-2 pi delta / h) plus the
   * truncation exp(-L^2 / 2); the two are balanced for delta = 1.5 (tanh
   * of a unit-variance argument has poles at distance pi/2). */
  if (n == 1) return cl_rule_normal_trap_range(1, 0, r, err);
  const double delta = 1.5;
  double h = cbrt(16 * M_PI * delta / ((double)n * n));
  return cl_rule_normal_trap_range(n, 0.5 * h * (n - 1), r, err);
}
