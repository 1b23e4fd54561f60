/* The noise mechanism's terms (cl_terms_eval, `fixed --terms`) against an
 * independent brute-force quadrature of their definitions (docs/model.md
 * s.6), and the identity q0* = tau V / (2 B kappa) at fixed points
 * (docs/findings.md s.3). */
#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <math.h>

#include "testutil.h"

/* ---- brute force: nested adaptive Gauss-Kronrod over the Cholesky
 * coordinates (x, y) of (h1, h2) given c, on [-L, L]^2 (tail < 1e-22) ---- */
typedef struct {
  double mu, l11, l21, l22, s2, rho;
  int which; /* 0 V_data, 1 V_noise / s^2, 2 b_z, 3 b_e / s^2 */
  double x;
  gsl_integration_workspace *wi;
} bf_ctx;

static double phi(double x) { return exp(-0.5 * x * x) / sqrt(2 * M_PI); }

static double integrand(double y, void *p) {
  bf_ctx *c = p;
  double h1 = c->mu + c->l11 * c->x, h2 = c->mu + c->l21 * c->x + c->l22 * y;
  double t1 = tanh(h1), t2 = tanh(h2);
  double f1 = t1, d1 = 1 - t1 * t1, e1 = -2 * t1 * d1;
  double f2 = t2, d2 = 1 - t2 * t2, e2 = -2 * t2 * d2;
  double G1 = d1 * f2, G2 = f1 * d2, v;
  switch (c->which) {
  case 0: v = (G1 + G2) * (G1 + G2); break;
  case 1: v = G1 * G1 + G2 * G2 + 2 * c->rho * G1 * G2; break;
  case 2: v = e1 * f2 + 2 * d1 * d2 + f1 * e2; break;
  default: v = e1 * f2 + f1 * e2 + 2 * c->rho * d1 * d2; break;
  }
  return v * phi(y);
}

static double inner(double x, void *p) {
  bf_ctx *c = p;
  c->x = x;
  gsl_function F = {integrand, c};
  double r, e;
  gsl_integration_qag(&F, -10, 10, 1e-14, 1e-12, 2000, GSL_INTEG_GAUSS41, c->wi, &r, &e);
  return r * phi(x);
}

/* E[quantity `which`] with h_a = c R + zt + e_a; atoms (c_k, p_k); q0 = Q - R^2. */
static double brute(int which, const double *cv, const double *pv, int na, double R, double Q,
                    double s, double rho) {
  gsl_set_error_handler_off();
  double q0 = Q - R * R, v11 = q0 + s * s * Q, v12 = q0 + rho * s * s * Q;
  bf_ctx c = {.l11 = sqrt(v11), .s2 = s * s, .rho = rho, .which = which};
  c.l21 = v12 / c.l11, c.l22 = sqrt(fmax(v11 - c.l21 * c.l21, 0));
  c.wi = gsl_integration_workspace_alloc(2000);
  gsl_integration_workspace *wo = gsl_integration_workspace_alloc(2000);
  double sum = 0;
  for (int k = 0; k < na; k++) {
    c.mu = cv[k] * R;
    gsl_function F = {inner, &c};
    double r, e;
    gsl_integration_qag(&F, -10, 10, 1e-14, 1e-12, 2000, GSL_INTEG_GAUSS41, wo, &r, &e);
    sum += pv[k] * r;
  }
  gsl_integration_workspace_free(c.wi);
  gsl_integration_workspace_free(wo);
  return sum;
}

#define what "%s rho=%g: %s %.15g vs brute force %.15g"
static void check_case(const char *law, const double *cv, const double *pv, int na, double R, double Q,
                       double s, double rho) {
  cl_model m;
  cl_model_default(&m);
  cr_assert_eq(cl_law_parse(law, &m.c[0], NULL), CL_OK);
  m.s = s, m.rho = rho;
  cl_terms t;
  char err[CL_ERRLEN];
  /* b_z, b_e and V are the drift engine's: at 120 Gauss-Hermite points it
   * reaches the brute force's 1e-9; at the default 40, its documented
   * accuracy (docs/theory.md s.3): measured here up to 2.2e-7 (sparse, s = 0.8) */
  cl_quad_opts hi = {.n_gauss = 120};
  cl_terms t0;
  cr_assert_eq(cl_terms_eval(&m, &hi, &R, Q, &t, err), CL_OK, "%s", err);
  cr_assert_eq(cl_terms_eval(&m, NULL, &R, Q, &t0, err), CL_OK, "%s", err);
  double vd = brute(0, cv, pv, na, R, Q, s, rho), vn = s * s * brute(1, cv, pv, na, R, Q, s, rho);
  double bz = brute(2, cv, pv, na, R, Q, s, rho), be = s * s * brute(3, cv, pv, na, R, Q, s, rho);
  cr_assert_float_eq(t.V_data, vd, 1e-9, what, law, rho, "V_data", t.V_data, vd);
  cr_assert_float_eq(t.V_noise, vn, 1e-9, what, law, rho, "V_noise", t.V_noise, vn);
  cr_assert_float_eq(t.V, vd + vn, 1e-9, what, law, rho, "V", t.V, vd + vn);
  cr_assert_float_eq(t.b_z, bz, 1e-9, what, law, rho, "b_z", t.b_z, bz);
  cr_assert_float_eq(t.b_e, be, 1e-9, what, law, rho, "b_e", t.b_e, be);
  cr_assert_float_eq(t.kappa, m.reg.beta2 - bz - be, 1e-9, what, law, rho, "kappa", t.kappa, m.reg.beta2 - bz - be);
  cr_assert_float_eq(t.q0, Q - R * R, 1e-15);
  cr_assert_float_eq(t0.V, vd + vn, 1e-6, what, law, rho, "V (40 points)", t0.V, vd + vn);
  cr_assert_float_eq(t0.b_z, bz, 1e-6, what, law, rho, "b_z (40 points)", t0.b_z, bz);
  cr_assert_float_eq(t0.b_e, be, 1e-6, what, law, rho, "b_e (40 points)", t0.b_e, be);
}

Test(terms, match_brute_force_on_exact_atoms) {
  double r3 = sqrt(3), r6 = sqrt(6);
  double rc[] = {-r3, r3}, rp[] = {0.5, 0.5};
  double sc[] = {-r6, 0, r6}, sp[] = {0.25, 0.5, 0.25};
  check_case("rademacher:3", rc, rp, 2, 0.7, 1.1, 0.5, -0.6);
  check_case("rademacher:3", rc, rp, 2, 0.7, 1.1, 0.5, 1.0);
  check_case("sparse:3:0.5", sc, sp, 3, 0.4, 0.9, 0.8, 0.3);
  check_case("sparse:3:0.5", sc, sp, 3, 0.4, 0.9, 0.8, -1.0);
}

/* A Gaussian c folds into the background: c R + zt ~ N(0, m2 R^2 + q0), so
 * the brute force with one atom at 0 and Q' = Q + (m2 - 1) R^2, R' = 0
 * gives the same law of (h1, h2) except the noise scale s^2 Q: keep Q by
 * scaling s. */
Test(terms, gaussian_law_folds_into_the_background) {
  double R = 0.6, Q = 1.2, s = 0.7, rho = -0.4, m2 = 2;
  cl_model m;
  cl_model_default(&m);
  cr_assert_eq(cl_law_parse("gauss:2", &m.c[0], NULL), CL_OK);
  m.s = s, m.rho = rho;
  cl_terms t;
  cr_assert_eq(cl_terms_eval(&m, NULL, &R, Q, &t, NULL), CL_OK);
  /* brute: q0' = Q - R^2 + m2 R^2, noise variance s'^2 Q' = s^2 Q */
  double Qp = Q - R * R + m2 * R * R, sp = s * sqrt(Q / Qp), c0 = 0, p0 = 1;
  double vd = brute(0, &c0, &p0, 1, 0, Qp, sp, rho), vn = s * s * brute(1, &c0, &p0, 1, 0, Qp, sp, rho);
  cr_assert_float_eq(t.V_data, vd, 1e-9, "V_data %.15g vs %.15g", t.V_data, vd);
  cr_assert_float_eq(t.V_noise, vn, 1e-9, "V_noise %.15g vs %.15g", t.V_noise, vn);
}

/* dq0/dt = -2 tau kappa q0 + tau^2 V / B: at every fixed point
 * q0* = tau V / (2 B kappa). */
Test(terms, q0_identity_at_fixed_points) {
  const char *laws[] = {"rademacher:3", "sparse:3:0.5", "uniform:2"};
  double rhos[] = {-1, 0, 1};
  int Bs[] = {1, 4};
  int checked = 0;
  for (int l = 0; l < 3; l++)
    for (int r = 0; r < 3; r++) {
      cl_model m;
      cl_model_default(&m);
      cr_assert_eq(cl_law_parse(laws[l], &m.c[0], NULL), CL_OK);
      m.rho = rhos[r], m.B = Bs[(l + r) % 2];
      cl_fixed_point *fp = NULL;
      int nf = 0;
      char err[CL_ERRLEN];
      cr_assert_eq(cl_fixed_find(&m, NULL, NULL, 0, &fp, &nf, err), CL_OK, "%s", err);
      for (int i = 0; i < nf; i++) {
        double R, Q;
        cl_state_unpack(1, 1, fp[i].y, &R, &Q);
        cl_terms t;
        cr_assert_eq(cl_terms_eval(&m, NULL, &R, Q, &t, err), CL_OK, "%s", err);
        double pred = m.tau * t.V / (2 * m.B * t.kappa);
        cr_assert_float_eq(t.q0, pred, 1e-8, "%s rho=%g B=%d point %d (R=%g): q0 %.12g vs tau V/(2 B kappa) %.12g",
                           laws[l], m.rho, m.B, i, R, t.q0, pred);
        checked++;
      }
      free(fp);
    }
  cr_assert_geq(checked, 18);
}

Test(terms, cli_appends_the_columns_and_rejects_M2) {
  char dir[64], args[512], err[CL_ERRLEN];
  make_tmpdir(dir, sizeof dir);
  snprintf(args, sizeof args, "fixed --terms --rho -0.5 --out %s/f.csv", dir);
  cr_assert_eq(run_cli(args, err, sizeof err), 0, "%s", err);
  snprintf(args, sizeof args, "%s/f.csv", dir);
  char *txt = slurp(args, NULL);
  cr_assert_not_null(txt);
  cr_assert(strstr(txt, ",stability,orbit,kind,residual,V,V_data,V_noise,b_z,b_e,kappa\n") != NULL, "header: %.200s", txt);
  /* the stable row's values agree with the library */
  char *row = strstr(txt, "\n1,");
  cr_assert_not_null(row);
  double R, Q;
  cr_assert_eq(sscanf(row + 3, "%lf,%lf", &R, &Q), 2);
  char *last = row + 1;
  double vals[6];
  char *nl = strchr(last, '\n');
  *nl = '\0';
  char *p = last + strlen(last);
  for (int k = 5; k >= 0; k--) {
    while (p > last && p[-1] != ',') p--;
    vals[k] = atof(p);
    p--;
  }
  cl_model m;
  cl_model_default(&m);
  m.rho = -0.5;
  cl_terms t;
  cr_assert_eq(cl_terms_eval(&m, NULL, &R, Q, &t, NULL), CL_OK);
  cr_assert_float_eq(vals[0], t.V, 1e-14);
  cr_assert_float_eq(vals[1] + vals[2], t.V, 1e-9);
  cr_assert_float_eq(vals[5], t.kappa, 1e-14);
  free(txt);
  char path[128];
  snprintf(path, sizeof path, "%s/g.csv", dir);
  snprintf(args, sizeof args, "fixed --terms --M 2 --out %s", path);
  cr_assert(CLI_REFUSES(args, path, "--terms"));
}
