/* Laws of c: exact moments against quadrature of the density (or exact
 * sums), and sampled moments against the exact ones. */
#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <string.h>

#include "cldyn/cldyn.h"
#include "src/drift_cf.h"
#include "src/quad_gl.h"

static const char *const specs[] = {"gauss:2",       "rademacher:3",    "uniform:0.7",
                                    "laplace:1.5",   "sparse:2:0.25",   "student:1.3:12",
                                    "discrete:-2@0.2,0@0.4,2@0.2,-1@0.1,1@0.1"};
#define NSPEC (sizeof specs / sizeof specs[0])

typedef struct {
  const cl_law *law;
  int power;
} integrand_ctx;

static double density(const cl_law *law, double x) {
  double sd = sqrt(law->m2);
  switch (law->kind) {
  case CL_LAW_GAUSS: return gsl_ran_gaussian_pdf(x, sd);
  case CL_LAW_UNIFORM: return fabs(x) <= sqrt(3) * sd ? 1 / (2 * sqrt(3) * sd) : 0;
  case CL_LAW_LAPLACE: return gsl_ran_laplace_pdf(x, sd / sqrt(2));
  case CL_LAW_STUDENT: {
    double k = sd * sqrt((law->nu - 2) / law->nu);
    return gsl_ran_tdist_pdf(x / k, law->nu) / k;
  }
  default: return NAN;
  }
}

static double integrand(double x, void *p) {
  integrand_ctx *c = p;
  return pow(x, c->power) * density(c->law, x);
}

typedef struct {
  const cl_law *law;
  double t;
} cf_ctx;

/* the density times cos(t x) and times x sin(t x) */
static double cf_cos(double x, void *p) {
  const cf_ctx *c = p;
  return cos(c->t * x) * density(c->law, x);
}
static double cf_xsin(double x, void *p) {
  const cf_ctx *c = p;
  return x * sin(c->t * x) * density(c->law, x);
}

/* E[c^power] computed independently of cl_law_m2/m4. */
static double moment_independent(const cl_law *law, int power) {
  double sd = sqrt(law->m2);
  switch (law->kind) {
  case CL_LAW_RADEMACHER: return power % 2 ? 0 : pow(sd, power);
  case CL_LAW_SPARSE: return power % 2 ? 0 : law->p * pow(sd / sqrt(law->p), power);
  case CL_LAW_DISCRETE: {
    double acc = 0;
    for (int i = 0; i < law->nvals; i++) acc += law->probs[i] * pow(law->vals[i], power);
    return acc;
  }
  default: break;
  }
  integrand_ctx ctx = {law, power};
  gsl_function F = {integrand, &ctx};
  gsl_integration_workspace *w = gsl_integration_workspace_alloc(2000);
  double res, abserr;
  if (law->kind == CL_LAW_UNIFORM)
    gsl_integration_qags(&F, -sqrt(3) * sd, sqrt(3) * sd, 1e-13, 1e-13, 2000, w, &res, &abserr);
  else
    gsl_integration_qagi(&F, 1e-13, 1e-12, 2000, w, &res, &abserr);
  gsl_integration_workspace_free(w);
  return res;
}

Test(law, exact_moments_match_quadrature) {
  for (size_t i = 0; i < NSPEC; i++) {
    cl_law law;
    char err[CL_ERRLEN];
    cr_assert_eq(cl_law_parse(specs[i], &law, err), CL_OK, "%s: %s", specs[i], err);
    double m2 = moment_independent(&law, 2), m4 = moment_independent(&law, 4);
    cr_assert_float_eq(cl_law_m2(&law), m2, 1e-9 * m2, "%s m2 %g vs %g", specs[i], cl_law_m2(&law), m2);
    cr_assert_float_eq(cl_law_m4(&law), m4, 1e-8 * m4, "%s m4 %g vs %g", specs[i], cl_law_m4(&law), m4);
    cr_assert_float_eq(cl_law_kurtosis(&law), m4 / (m2 * m2), 1e-8, "%s kurtosis", specs[i]);
    cr_assert_float_eq(moment_independent(&law, 1), 0, 1e-10, "%s mean", specs[i]);
  }
}

Test(law, known_kurtoses) {
  const char *s[] = {"gauss", "rademacher", "uniform", "laplace", "sparse:1:0.2", "student:1:10"};
  const double k[] = {3, 1, 1.8, 6, 5, 4};
  for (int i = 0; i < 6; i++) {
    cl_law law;
    cr_assert_eq(cl_law_parse(s[i], &law, NULL), CL_OK);
    cr_assert_float_eq(cl_law_kurtosis(&law), k[i], 1e-14, "%s", s[i]);
    cr_assert_float_eq(law.m2, 1.0, 0, "%s default m2", s[i]);
  }
}

Test(law, sampled_moments_within_5_standard_errors) {
  const long n = 1000000;
  for (size_t i = 0; i < NSPEC; i++) {
    cl_law law;
    cl_law_parse(specs[i], &law, NULL);
    cl_rng *rng;
    cl_rng_alloc(42, i, &rng, NULL);
    double s1 = 0, s2 = 0, s4 = 0, s8 = 0;
    for (long k = 0; k < n; k++) {
      double x = cl_law_sample(&law, rng), x2 = x * x;
      s1 += x, s2 += x2, s4 += x2 * x2, s8 += x2 * x2 * x2 * x2;
    }
    cl_rng_free(rng);
    s1 /= n, s2 /= n, s4 /= n, s8 /= n;
    double m2 = cl_law_m2(&law), m4 = cl_law_m4(&law);
    double se1 = sqrt(m2 / n), se2 = sqrt((m4 - m2 * m2) / n), se4 = sqrt(fmax(s8 - s4 * s4, 0) / n);
    cr_expect_leq(fabs(s1), 5 * se1, "%s: mean %g (se %g)", specs[i], s1, se1);
    cr_expect_leq(fabs(s2 - m2), 5 * se2 + 1e-15, "%s: m2 %g vs %g (se %g)", specs[i], s2, m2, se2);
    cr_expect_leq(fabs(s4 - m4), 5 * se4 + 1e-14, "%s: m4 %g vs %g (se %g)", specs[i], s4, m4, se4);
  }
}

Test(law, format_round_trips) {
  for (size_t i = 0; i < NSPEC; i++) {
    cl_law a, b;
    char buf[512];
    cl_law_parse(specs[i], &a, NULL);
    cl_law_format(&a, buf, sizeof buf);
    cr_assert_eq(cl_law_parse(buf, &b, NULL), CL_OK, "%s -> %s", specs[i], buf);
    cr_assert_eq(memcmp(&a, &b, sizeof a), 0, "%s -> %s", specs[i], buf);
  }
}

Test(law, bad_specs_are_rejected_with_the_option_named) {
  const char *bad[] = {"gauss:0",       "gauss:-1",        "student:1:4",    "student:1:3.5",
                       "sparse:1:0",    "sparse:1:1.5",    "discrete:1@0.5,-1@0.4",
                       "discrete:1@0.5,2@0.5", "cauchy",   "gauss:abc",      "rademacher:1:2",
                       "discrete:",     "discrete:1@x",   "student:1:201"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cl_law law;
    char err[CL_ERRLEN] = "";
    cr_assert_eq(cl_law_parse(bad[i], &law, err), CL_EINVAL, "%s accepted", bad[i]);
    cr_assert(strncmp(err, "c:", 2) == 0 && !strstr(err, "--"), "%s: message '%s'", bad[i], err);
    cr_assert(strchr(err, '\n') == NULL);
  }
}

/* The library's one Gauss-Legendre rule (src/quad_gl.h) is exact to
 * rounding for every n: on [a, b] it integrates the Legendre polynomials
 * P_k((x - m) / h), k < 2n, (integrals 2h for k = 0, else 0) to 5e-15 of
 * 2h (measured: at most 4.2e-15 for n <= 200; GSL's glfixed rules computed
 * on the fly were up to 8.3e-11 off), its nodes increase inside (a, b) and
 * its weights are positive. */
Test(law, legendre_rule_exact_for_every_n) {
  enum { NMAX = 200 };
  static double x[NMAX], w[NMAX], s[2 * NMAX];
  const double A[] = {-1, 0, -3}, B[] = {1, 1, 1.5};
  char err[CL_ERRLEN];
  double worst = 0;
  for (int n = 1; n <= NMAX; n++)
    for (int iv = 0; iv < 3; iv++) {
      const double a = A[iv], b = B[iv], m = (a + b) / 2, h = (b - a) / 2;
      cr_assert_eq(cl_rule_legendre(n, a, b, x, w, err), CL_OK, "%s", err);
      memset(s, 0, sizeof s);
      for (int i = 0; i < n; i++) {
        cr_expect(x[i] > a && x[i] < b && w[i] > 0 && (i == 0 || x[i] > x[i - 1]), "n = %d, node %d", n, i);
        /* P_0 .. P_{2n-1} at t by the three-term recurrence (stable on [-1, 1]) */
        double t = (x[i] - m) / h, p0 = 1, p1 = t;
        s[0] += w[i];
        s[1] += w[i] * t;
        for (int k = 1; k + 1 < 2 * n; k++) {
          const double p2 = ((2 * k + 1) * t * p1 - k * p0) / (k + 1);
          p0 = p1, p1 = p2, s[k + 1] += w[i] * p2;
        }
      }
      for (int k = 0; k < 2 * n; k++) {
        const double e = fabs(s[k] - (k == 0 ? 2 * h : 0)) / (2 * h);
        worst = fmax(worst, e);
        cr_expect_leq(e, 5e-15, "n = %d on [%g, %g]: P_%d integrates to %.3g relative", n, a, b, k, e);
      }
    }
  cr_log_info("worst relative error %.2g", worst);
  cr_expect_neq(cl_rule_legendre(0, -1, 1, x, w, err), CL_OK);
}

/* cl_rule_legendre decides from its own list which n GSL tabulates
 * (src/quad.c): the list must be the installed GSL's, n = 1 .. 1100 (the
 * largest table is 1024).  A size GSL tabulates that the list misses would
 * lose its table's last bits; one the list claims and GSL does not would
 * take GSL's on-the-fly rule, 8e-11 off. */
Test(law, legendre_tabulated_sizes_are_gsls) {
  int tabulated = 0;
  for (int n = 1; n <= 1100; n++) {
    gsl_integration_glfixed_table *t = gsl_integration_glfixed_table_alloc((size_t)n);
    cr_assert(t);
    cr_expect_eq(cl_rule_legendre_tabulated(n), t->precomputed, "n = %d: listed %d, GSL %d", n,
                 cl_rule_legendre_tabulated(n), t->precomputed);
    tabulated += t->precomputed;
    gsl_integration_glfixed_table_free(t);
  }
  cr_expect_eq(tabulated, 27, "GSL tabulates %d sizes up to 1100", tabulated);
}

/* The student law's characteristic function phi(t) = E[cos tc] and
 * chi(t) = E[c sin tc] (src/drift_cf.c, cl_cf_law: Bessel K, and a series
 * where z^mu K_mu(z) under- and overflows), which the M = 1 characteristic
 * functions and the M = 2 grid engine use, against the density integrated
 * against cos and x sin (GSL's Student density, 20-node Gauss-Legendre panels
 * on [0, 50], where the density of nu >= 60 is below e^-100).  Before the
 * series the product of a subnormal e^-z z^mu and K_mu, and GSL's ln K_mu
 * (3e-11 off at mu = 100, z = 0.056), put phi up to 4e-11 off at
 * nu = 180 - 200, t near 0.004 (docs/grid.md s.6); now it is within 2e-13
 * (mpmath, 40936 points, nu 4.5 to 200, t 1e-8 to 100). */
Test(law, student_characteristic_function_at_large_nu) {
  const double nus[] = {60, 100, 150, 185, 200};
  gsl_set_error_handler_off(); /* as the library does (an overflow inside GSL: an error, not an abort) */
  gsl_integration_glfixed_table *gl = gsl_integration_glfixed_table_alloc(20);
  cr_assert(gl && gl->precomputed);
  double worst = 0;
  for (size_t i = 0; i < sizeof nus / sizeof nus[0]; i++) {
    char spec[64], err[CL_ERRLEN];
    cl_law law;
    snprintf(spec, sizeof spec, "student:1.3:%g", nus[i]);
    cr_assert_eq(cl_law_parse(spec, &law, err), CL_OK, "%s: %s", spec, err);
    for (int j = -48; j <= 8; j++) {
      cf_ctx c = {&law, pow(10, j / 8.0)};
      gsl_function Fc = {cf_cos, &c}, Fs = {cf_xsin, &c};
      /* 200 panels of width 0.25, 20 Gauss-Legendre nodes each: at most
       * 0.4 periods of the oscillation per panel */
      double rc = 0, rs = 0, pr, pi, cr, ci;
      for (int k = 0; k < 200; k++) {
        rc += gsl_integration_glfixed(&Fc, 0.25 * k, 0.25 * (k + 1), gl);
        rs += gsl_integration_glfixed(&Fs, 0.25 * k, 0.25 * (k + 1), gl);
      }
      cl_cf_law(&law, c.t, &pr, &pi, &cr, &ci);
      const double e = fmax(fabs(pr - 2 * rc), fabs(ci - 2 * rs));
      worst = fmax(worst, e);
      cr_expect_leq(e, 1e-12, "%s t = %.4g: phi %.17g (%.17g), chi %.17g (%.17g)", spec, c.t, pr, 2 * rc, ci,
                    2 * rs);
      cr_expect(pi == 0 && cr == 0, "%s: a symmetric law", spec);
    }
  }
  gsl_integration_glfixed_table_free(gl);
  cr_log_info("worst %.2g", worst);
}
