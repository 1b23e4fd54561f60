/* The expectation engine against closed forms (docs/theory.md s.5):
 *  - linear sigma: every expectation is a Gaussian moment;
 *  - erf sigma with Gaussian c: E[y1 y2] = (2/pi) asin(C12 / (1 + C11)), and
 *    the drift is the gradient of that population objective;
 *  - the singular cases s = 0, rho = +-1, Q = |R|^2. */
#include <criterion/criterion.h>
#include <math.h>

#include "cldyn/cldyn.h"
#include "src/linalg.h"

static cl_model base(const char *act, const char *law) {
  cl_model m;
  cl_model_default(&m);
  cl_act_parse(act, &m.act, NULL);
  cl_law_parse(law, &m.c[0], NULL);
  return m;
}

/* Linear sigma, M = 1, any law with second moment m2:
 *   a = 2 m2 R, b_e R = 2 rho s^2 R,
 *   E[G1 h1 + G2 h2] = 2 E[h1 h2],  V from second moments. */
static void linear_closed_form(const cl_model *m, double R, double Q, double *dR, double *dQ) {
  double m2 = m->c[0].m2, s2 = m->s * m->s, rho = m->rho, tau = m->tau, beta = m->reg.beta2;
  double A = Q - R * R, E11 = m2 * R * R + A + s2 * Q, E12 = m2 * R * R + A + rho * s2 * Q;
  double V = 2 * E11 + 2 * E12 + s2 * (2 * E11 + 2 * rho * E12);
  *dR = tau * (2 * m2 * R + 2 * rho * s2 * R - beta * R);
  *dQ = 2 * tau * (2 * E12 - beta * Q) + tau * tau * V / m->B;
}

Test(drift, linear_sigma_matches_closed_form) {
  const char *laws[] = {"gauss:2", "rademacher:3", "uniform:0.5", "laplace:1.5", "sparse:2:0.3",
                        "student:1.2:9", "discrete:-1@0.25,0@0.5,1@0.25"};
  const double rhos[] = {-1, -0.3, 0, 0.7, 1}, ss[] = {0, 0.5, 1.3};
  for (size_t l = 0; l < sizeof laws / sizeof laws[0]; l++)
    for (int r = 0; r < 5; r++)
      for (int k = 0; k < 3; k++) {
        cl_model m = base("linear", laws[l]);
        m.rho = rhos[r], m.s = ss[k], m.B = 3;
        cl_drift *d;
        cl_drift_alloc(&m, NULL, &d, NULL);
        cr_assert_not_null(d);
        double R = 0.3, Q = 1.4, dR, dQ, eR, eQ;
        cr_assert_eq(cl_drift_eval(d, &R, &Q, &dR, &dQ, NULL), CL_OK);
        linear_closed_form(&m, R, Q, &eR, &eQ);
        cr_assert_float_eq(dR, eR, 1e-10 * (1 + fabs(eR)), "%s rho %g s %g: dR %.15g vs %.15g",
                           laws[l], m.rho, m.s, dR, eR);
        cr_assert_float_eq(dQ, eQ, 1e-10 * (1 + fabs(eQ)), "%s rho %g s %g: dQ %.15g vs %.15g",
                           laws[l], m.rho, m.s, dQ, eQ);
        /* the singular point Q = R^2 (with s = 0 Sigma vanishes entirely) */
        R = 0.8, Q = 0.64;
        cr_assert_eq(cl_drift_eval(d, &R, &Q, &dR, &dQ, NULL), CL_OK);
        linear_closed_form(&m, R, Q, &eR, &eQ);
        cr_assert_float_eq(dR, eR, 1e-10 * (1 + fabs(eR)), "Q = R^2, %s: %.15g vs %.15g", laws[l], dR, eR);
        cr_assert_float_eq(dQ, eQ, 1e-10 * (1 + fabs(eQ)), "Q = R^2, %s: %.15g vs %.15g", laws[l], dQ, eQ);
        cl_drift_free(d);
      }
}

/* erf(h / sqrt 2) with Gaussian c: f(R, Q) = E[y1 y2] = (2/pi) asin(u),
 * u = C12 / (1 + C11), C11 = Q (1 + s^2) + (m2 - 1) R^2,
 * C12 = Q (1 + rho s^2) + (m2 - 1) R^2.  The drift is the gradient of f:
 * dR/dt = tau (f_R + 2 R f_Q) - tau beta R,
 * dQ/dt = 2 tau (R f_R + 2 Q f_Q) - 2 tau beta Q + tau^2 V. */
Test(drift, erf_gaussian_matches_arcsin_gradient) {
  const double rhos[] = {-1, -0.5, 0, 0.5, 1}, ss[] = {0, 0.4, 1.0};
  for (int r = 0; r < 5; r++)
    for (int k = 0; k < 3; k++)
      for (int K = 1; K <= 2; K++) {
        cl_model m = base("erf", "gauss:2.5");
        m.rho = rhos[r], m.s = ss[k], m.K = K;
        cl_law_parse("gauss:0.7", &m.c[1], NULL);
        cl_drift *d;
        cl_drift_alloc(&m, NULL, &d, NULL);
        double R[2] = {0.4, -0.2}, Q = 1.1, dR[2], dQ;
        cr_assert_eq(cl_drift_eval(d, R, &Q, dR, &dQ, NULL), CL_OK);
        double s2 = m.s * m.s, q1 = 1 + s2, q2 = 1 + m.rho * s2, tau = m.tau, beta = m.reg.beta2;
        double C11 = Q * q1, C12 = Q * q2, dC[2];
        for (int j = 0; j < K; j++) {
          C11 += (m.c[j].m2 - 1) * R[j] * R[j], C12 += (m.c[j].m2 - 1) * R[j] * R[j];
          dC[j] = 2 * (m.c[j].m2 - 1) * R[j]; /* d C11 / d R_j = d C12 / d R_j */
        }
        double u = C12 / (1 + C11), g = (2 / M_PI) / sqrt(1 - u * u);
        double fQ = g * (q2 * (1 + C11) - C12 * q1) / ((1 + C11) * (1 + C11)), RfR = 0;
        for (int j = 0; j < K; j++) {
          double fR = g * (dC[j] * (1 + C11) - C12 * dC[j]) / ((1 + C11) * (1 + C11));
          double e = tau * (fR + 2 * R[j] * fQ) - tau * beta * R[j];
          cr_assert_float_eq(dR[j], e, 1e-10, "rho %g s %g K %d: dR_%d %.15g vs %.15g", m.rho, m.s,
                             K, j + 1, dR[j], e);
          RfR += R[j] * fR;
        }
        /* the tau^2 V part has no closed form: compare dQ without it via tau -> 2 tau scaling */
        cl_model m2 = m;
        m2.tau = 2 * tau;
        cl_drift *d2;
        cl_drift_alloc(&m2, NULL, &d2, NULL);
        double dR2[2], dQ2;
        cl_drift_eval(d2, R, &Q, dR2, &dQ2, NULL);
        /* dQ(tau) = tau X + tau^2 V: X = (4 dQ(tau) - dQ(2 tau)) / (2 tau) */
        double X = (4 * dQ - dQ2) / (2 * tau), eX = 2 * (RfR + 2 * Q * fQ) - 2 * beta * Q;
        cr_assert_float_eq(X, eX, 1e-9, "rho %g s %g K %d: drift of Q %.15g vs %.15g", m.rho, m.s, K, X, eX);
        cl_drift_free(d);
        cl_drift_free(d2);
      }
}

/* The M = 1 terms: a_j + b_e R_j - beta R_j reproduces dR, and at R = 0 the
 * linearisation a_j ~ <c_j^2> R_j E[d_m (G1 + G2)] sees only second moments:
 * laws with equal m2 give equal da/dR at R = 0. */
Test(drift, m1_terms_and_second_moment_at_origin) {
  const char *laws[] = {"gauss:2", "rademacher:2", "uniform:2", "laplace:2", "student:2:7"};
  double slope[5];
  for (int l = 0; l < 5; l++) {
    cl_model m = base("tanh", laws[l]);
    cl_drift *d;
    cl_drift_alloc(&m, NULL, &d, NULL);
    cl_m1_terms t0, t1;
    double eps = 1e-4, R = eps, Rm = -eps, Q = 1;
    cr_assert_eq(cl_drift_m1_terms(d, &R, Q, &t1, NULL), CL_OK);
    cr_assert_eq(cl_drift_m1_terms(d, &Rm, Q, &t0, NULL), CL_OK);
    slope[l] = (t1.a[0] - t0.a[0]) / (2 * eps);
    double dR, dQ;
    cl_drift_eval(d, &R, &Q, &dR, &dQ, NULL);
    cr_assert_float_eq(dR, m.tau * (t1.a[0] + t1.b_e * R - m.reg.beta2 * R), 1e-13);
    cl_drift_free(d);
  }
  for (int l = 1; l < 5; l++)
    cr_assert_float_eq(slope[l], slope[0], 2e-6 * fabs(slope[0]), "%s: %.10g vs gauss %.10g",
                       laws[l], slope[l], slope[0]);
}

/* tanh, M = 1 (drift.c's exp-product kernel, with and without the reduced
 * point counts of `cldyn ode`) against docs/model.md s.6 computed here by brute
 * force: the Cholesky factor of the 2 x 2 covariance, a 401 x 401 trapezoid
 * on [-10, 10]^2 and sigma'' explicitly (b_e), for rademacher c; states
 * from the start of the default model to Q = 3, R = 1.5. */
static void tanh_brute_force(const cl_model *m, double R, double Q, double *dR, double *dQ) {
  const int n = 401;
  const double L = 10, h = 2 * L / (n - 1), s2 = m->s * m->s, rho = m->rho, amp = sqrt(m->c[0].m2);
  double A = Q - R * R, var = A + s2 * Q, cov = A + rho * s2 * Q, l11 = sqrt(var), l21 = cov / l11,
         l22 = sqrt(fmax(var - l21 * l21, 0));
  double a = 0, be = 0, V = 0, Egh = 0, wsum = 0;
  for (int i = 0; i < n; i++)
    for (int k = 0; k < n; k++) {
      double x1 = -L + h * i, x2 = -L + h * k, w = exp(-0.5 * (x1 * x1 + x2 * x2));
      wsum += w;
      for (int sgn = -1; sgn <= 1; sgn += 2) {
        double c = sgn * amp, h1 = c * R + l11 * x1, h2 = c * R + l21 * x1 + l22 * x2;
        double y1 = tanh(h1), y2 = tanh(h2), d1 = 1 - y1 * y1, d2 = 1 - y2 * y2, dd1 = -2 * y1 * d1,
               dd2 = -2 * y2 * d2, G1 = d1 * y2, G2 = y1 * d2, wc = 0.5 * w;
        a += wc * (G1 + G2) * c;
        be += wc * s2 * (dd1 * y2 + y1 * dd2 + 2 * rho * d1 * d2);
        V += wc * ((G1 + G2) * (G1 + G2) + s2 * (G1 * G1 + G2 * G2 + 2 * rho * G1 * G2));
        Egh += wc * (G1 * h1 + G2 * h2);
      }
    }
  a /= wsum, be /= wsum, V /= wsum, Egh /= wsum;
  *dR = m->tau * (a + be * R - m->reg.beta2 * R);
  *dQ = 2 * m->tau * (Egh - m->reg.beta2 * Q) + m->tau * m->tau * V / m->B;
}

Test(drift, tanh_matches_brute_force) {
  const double states[][2] = {{0.1, 1}, {0.5, 0.8}, {0.9, 0.95}, {1.5, 3}};
  const double noise[][2] = {{0.5, 0}, {1, 0.5}, {0.7, -1}};
  for (int adapt = 0; adapt <= 1; adapt++)
    for (int q = 0; q < 3; q++) {
      cl_model m = base("tanh", "rademacher:3");
      m.s = noise[q][0], m.rho = noise[q][1];
      /* 160 points per direction: the rule's own error is then far below
       * the tolerance at every state here (40 points, the default, are
       * designed for sd ~ 1 and are 6e-5 off at Q = 3, s = 1) */
      cl_quad_opts o = {.n_gauss = 160, .adapt_gauss = adapt};
      cl_drift *d;
      cl_drift_alloc(&m, &o, &d, NULL);
      for (int k = 0; k < 4; k++) {
        double R = states[k][0], Q = states[k][1], dR, dQ, eR, eQ;
        cr_assert_eq(cl_drift_eval(d, &R, &Q, &dR, &dQ, NULL), CL_OK);
        tanh_brute_force(&m, R, Q, &eR, &eQ);
        cr_expect_float_eq(dR, eR, 1e-10, "adapt %d s %g rho %g R %g Q %g: dR %.12g vs %.12g", adapt,
                           m.s, m.rho, R, Q, dR, eR);
        cr_expect_float_eq(dQ, eQ, 1e-10, "adapt %d s %g rho %g R %g Q %g: dQ %.12g vs %.12g", adapt,
                           m.s, m.rho, R, Q, dQ, eQ);
      }
      cl_drift_free(d);
    }
}

/* Outside the physical domain the engine refuses with a clear message. */
Test(drift, domain_violation_is_reported) {
  cl_model m = base("tanh", "rademacher:3");
  cl_drift *d;
  cl_drift_alloc(&m, NULL, &d, NULL);
  double R = 1.2, Q = 1, dR, dQ;
  char err[CL_ERRLEN] = "";
  cr_assert_eq(cl_drift_eval(d, &R, &Q, &dR, &dQ, err), CL_EDIVERGE);
  cr_assert(strstr(err, "domain"), "%s", err);
  R = NAN;
  cr_assert_eq(cl_drift_eval(d, &R, &Q, &dR, &dQ, err), CL_EDIVERGE);
  cl_drift_free(d);
  m.reg.kind = CL_REG_L1;
  cr_assert_eq(cl_drift_alloc(&m, NULL, &d, err), CL_EINVAL);
  cr_assert_null(d);
  /* the library names the parameter; the CLI adds the option's spelling */
  cr_assert(strncmp(err, "reg:", 4) == 0 && !strstr(err, "--"), "%s", err);
}

/* M = 2 with lambda = 0: the units decouple, so each unit's R and Q_ii
 * follow the M = 1 equations. */
Test(drift, m2_without_lambda_decouples) {
  cl_model m = base("tanh", "rademacher:3");
  cl_model m2 = m;
  m2.M = 2;
  /* the 4-d tensor path (--expect tensor): for tanh a 42-point trapezoid
   * per direction (32 + 10, docs/multi.md s.6; a 32-point Gauss-Hermite rule
   * up to session 18) */
  cl_quad_opts o = {.n_gauss = 128, .expect = CL_EXPECT_TENSOR};
  cl_drift *d1, *d2;
  cl_drift_alloc(&m, &o, &d1, NULL);
  cl_drift_alloc(&m2, &o, &d2, NULL);
  double R2[2] = {0.3, -0.1}, Q2[4] = {1.2, 0.2, 0.2, 0.8}, dR2[2], dQ2[4];
  cr_assert_eq(cl_drift_eval(d2, R2, Q2, dR2, dQ2, NULL), CL_OK);
  for (int i = 0; i < 2; i++) {
    double R = R2[i], Q = Q2[3 * i], dR, dQ;
    cl_drift_eval(d1, &R, &Q, &dR, &dQ, NULL);
    /* the 4-d rule against the 2-d trapezoid: the two quadratures agreed to
     * ~2e-8 here with 32-point Gauss-Hermite; a coupling error would be O(1e-2) */
    cr_assert_float_eq(dR2[i], dR, 1e-7, "unit %d: %.12g vs %.12g", i, dR2[i], dR);
    cr_assert_float_eq(dQ2[3 * i], dQ, 1e-7, "unit %d: %.12g vs %.12g", i, dQ2[3 * i], dQ);
  }
  cl_drift_free(d1);
  cl_drift_free(d2);
}

/* With M = 1 the decorrelation term has no pairs (i != l), so lambda must
 * not change the drift, for any batch size: quadrature, not Monte Carlo. */
Test(drift, lambda_is_inert_for_one_unit) {
  char err[CL_ERRLEN];
  cl_model m = base("tanh", "rademacher:3");
  m.B = 4;
  double R = 0.3, Q = 1.1, dR[2][1], dQ[2][1];
  for (int k = 0; k < 2; k++) {
    m.lambda = k ? 1.5 : 0;
    cl_drift *d;
    cl_drift_alloc(&m, NULL, &d, err);
    cr_assert_not_null(d, "%s", err);
    cr_assert_eq(cl_drift_eval(d, &R, &Q, dR[k], dQ[k], err), CL_OK, "%s", err);
    cr_expect_eq(cl_drift_stderr(d), 0, "lambda = %g: Monte Carlo used", m.lambda);
    cl_drift_free(d);
  }
  cr_expect_eq(dR[0][0], dR[1][0]);
  cr_expect_eq(dQ[0][0], dQ[1][0]);
}

/* Every M = 2 engine refuses a state that is not finite or has left the
 * physical domain, with the same messages (the shared checks of linalg.c).
 * Second moments 1: the domain case stays inside the quad rule's sd guard. */
Test(drift, m2_engines_refuse_bad_states_alike) {
  const struct {
    int expect;
    const char *act, *law;
  } eng[] = {{CL_EXPECT_TENSOR, "tanh", "rademacher:1"}, {CL_EXPECT_CLOSED, "erf", "gauss"},
             {CL_EXPECT_SOBOL, "tanh", "rademacher:1"},  {CL_EXPECT_QUAD, "tanh", "rademacher:1"},
             {CL_EXPECT_GRID, "tanh", "rademacher:1"}};
  const struct {
    double R01, Q01;
    const char *msg;
  } bad[] = {{NAN, 0, "R is not finite"},
             {0.1, INFINITY, "Q is not finite"},
             {1.2, 0, "the state left the physical domain: Q - R^T R has eigenvalue"}};
  for (size_t e = 0; e < sizeof eng / sizeof *eng; e++) {
    cl_model m = base(eng[e].act, eng[e].law);
    m.M = 2;
    m.s = 0.3; /* pre-activation sd within the quad rule's guard (docs/hardening.md s.15) */
    cl_quad_opts o = {.n_gauss = 40, .expect = eng[e].expect};
    cl_drift *d;
    char err[CL_ERRLEN] = "";
    cr_assert_eq(cl_drift_alloc(&m, &o, &d, err), CL_OK, "engine %d: %s", eng[e].expect, err);
    for (size_t b = 0; b < sizeof bad / sizeof *bad; b++) {
      double R[2] = {bad[b].R01, 0.1}, Q[4] = {1, bad[b].Q01, bad[b].Q01, 1}, dR[2], dQ[4];
      err[0] = '\0';
      cr_expect_eq(cl_drift_eval(d, R, Q, dR, dQ, err), CL_EDIVERGE, "engine %d, case %zu: %s", eng[e].expect, b,
                   err);
      cr_expect(strncmp(err, bad[b].msg, strlen(bad[b].msg)) == 0, "engine %d, case %zu: '%s'", eng[e].expect, b,
                err);
    }
    cl_drift_free(d);
  }
}

/* One symmetric square root for the library (cl_model_sym_sqrt: initial
 * states, the reduced chain) and the drift engines (cl_sym_roots), against
 * its definition: S symmetric, PSD, S S = A (which fixes S uniquely), for a
 * full-rank and a rank-3 A at n = 6 and n = 40 (beyond the engines' stack
 * size of 2 CL_MMAX); bit for bit the engines' S where both apply; the
 * tolerance on negative eigenvalues; and continuous where an eigenvalue is
 * repeated (eigenvectors there are arbitrary, S is not). */
static void sym_random(cl_rng *r, int n, int rank, double *A) {
  double G[40 * 40];
  for (int k = 0; k < n * rank; k++) G[k] = cl_rng_gauss(r);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      double a = 0;
      for (int k = 0; k < rank; k++) a += G[i * rank + k] * G[j * rank + k];
      A[i * n + j] = a;
    }
}

static double sym_sqrt_residual(const double *A, const double *S, int n) {
  double worst = 0, amax = 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      double a = 0;
      for (int k = 0; k < n; k++) a += S[i * n + k] * S[k * n + j];
      worst = fmax(worst, fabs(a - A[i * n + j]));
      amax = fmax(amax, fabs(A[i * n + j]));
      cr_assert_eq(S[i * n + j], S[j * n + i], "S not symmetric at (%d, %d)", i, j);
    }
  return worst / amax;
}

Test(drift, symmetric_root_is_one_function_and_squares_back) {
  cl_rng *r;
  cr_assert_eq(cl_rng_alloc(20261203, 1, &r, NULL), CL_OK);
  static double A[40 * 40], S[40 * 40], Se[40 * 40], Sp[40 * 40];
  const int ns[] = {6, 40};
  for (int a = 0; a < 2; a++)
    for (int rank = 3; rank <= ns[a]; rank += ns[a] - 3) {
      const int n = ns[a];
      sym_random(r, n, rank, A);
      cr_assert_eq(cl_model_sym_sqrt(A, n, 1e-12, S), CL_OK);
      const double res = sym_sqrt_residual(A, S, n);
      cr_expect_lt(res, 1e-13 * n, "n %d rank %d: |S S - A| / max|A| = %g", n, rank, res);
      cr_expect_geq(cl_model_sym_min_eig(S, n), -1e-12, "n %d rank %d: S not PSD", n, rank);
      if (n <= 2 * CL_MMAX) {
        cr_assert_eq(cl_sym_roots(A, n, Se, Sp, NULL), CL_OK);
        cr_expect_eq(memcmp(S, Se, sizeof(double) * (size_t)(n * n)), 0, "n %d: not the engines' S", n);
      }
    }
  /* an eigenvalue -1e-3 of max 1: refused at tol 1e-12, clipped at 1e-2 */
  const double D[4] = {1, 0, 0, -1e-3};
  cr_expect_eq(cl_model_sym_sqrt(D, 2, 1e-12, S), CL_EINVAL);
  cr_expect_eq(cl_model_sym_sqrt(D, 2, 1e-2, S), CL_OK);
  cr_expect(S[0] == 1 && S[1] == 0 && S[2] == 0 && S[3] == 0, "%g %g %g %g", S[0], S[1], S[2], S[3]);
  /* A = diag(1, 1, 4) + e P: S - diag(1, 1, 2) = O(e) for every P */
  for (double e = 1e-4; e >= 1e-10; e *= 1e-3) {
    double P[9];
    sym_random(r, 3, 3, P);
    for (int k = 0; k < 9; k++) A[k] = e * P[k] + (k == 0 || k == 4 ? 1 : k == 8 ? 4 : 0);
    cr_assert_eq(cl_model_sym_sqrt(A, 3, 1e-12, S), CL_OK);
    double dev = 0, pmax = 0;
    for (int k = 0; k < 9; k++) {
      dev = fmax(dev, fabs(S[k] - (k == 0 || k == 4 ? 1 : k == 8 ? 2 : 0)));
      pmax = fmax(pmax, fabs(P[k]));
    }
    cr_expect_leq(dev, e * pmax + 1e-15, "e %g: |S - S0| = %g", e, dev);
  }
  cl_rng_free(r);
}

/* The Sobol' rules' and the Monte Carlo's root and Stein map
 * (cl_sym_roots_ginv, docs/multi.md s.12) where unit M has a variance
 * 1e-20 of the others' (a nearly dead unit): Sigma = D W D, W random and
 * well conditioned, D_ii = 1e-10 for unit M (i = M - 1 of each view),
 * else 1; n = 2M for Sigma (one block), n = M for the pair (Sigma+,
 * Sigma-) of the sum and difference coordinates.  Relative to the scale
 * sqrt(Sigma_ii Sigma_jj) of each entry S S = Sigma, and S (G S) = I, to
 * 1e-10 (measured 2e-14 and 3.4e-13 at most); the eigen-decomposition's root
 * and S^+ (cl_sym_roots, main's code) were 12.5 and 1.3e5 off in S S at
 * M = 2 and 3 (one block), and 1 in S S^+. */
Test(drift, stein_map_keeps_a_nearly_dead_direction) {
  cl_rng *r;
  cr_assert_eq(cl_rng_alloc(20261204, 1, &r, NULL), CL_OK);
  for (int c = 0; c < 4; c++) {
    const int M = 2 + c % 2, nb = 1 + c / 2, n = nb == 1 ? 2 * M : M;
    double W[2][36], Sg[2][36], S[2][36], GS[2][36], d[6];
    for (int i = 0; i < n; i++) d[i] = i % M == M - 1 ? 1e-10 : 1;
    for (int b = 0; b < 2; b++) {
      sym_random(r, n, n, W[b]);
      for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) Sg[b][i * n + j] = d[i] * W[b][i * n + j] * d[j];
    }
    {
      const double *blk[2] = {Sg[0], Sg[1]};
      double *Sb[2] = {S[0], S[1]}, *Gb[2] = {GS[0], GS[1]};
      cr_assert_eq(cl_sym_roots_ginv(nb, blk, n, Sb, Gb, NULL), CL_OK);
      double res = 0, inv = 0;
      for (int b = 0; b < nb; b++)
        for (int i = 0; i < n; i++)
          for (int j = 0; j < n; j++) {
            double ss = 0, si = 0;
            for (int k = 0; k < n; k++) ss += S[b][i * n + k] * S[b][k * n + j], si += S[b][i * n + k] * GS[b][k * n + j];
            cr_assert_eq(S[b][i * n + j], S[b][j * n + i], "S not symmetric at (%d, %d)", i, j);
            res = fmax(res, fabs(ss - Sg[b][i * n + j]) / (d[i] * d[j]));
            inv = fmax(inv, fabs(si - (i == j)));
          }
      cr_log_info("n %d, %d block(s): |S S - Sigma| %.3g, |S G S - I| %.3g (scaled)", n, nb, res, inv);
      cr_expect_leq(res, 1e-10, "n %d, %d block(s): |S S - Sigma| / scale = %g", n, nb, res);
      cr_expect_leq(inv, 1e-10, "n %d, %d block(s): |S G S - I| = %g", n, nb, inv);
    }
  }
  cl_rng_free(r);
}
