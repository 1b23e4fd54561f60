/* Simulation against the M = 1 limit of docs/model.md s.6, integrated here with a
 * fixed-step RK4 and a tensor Gauss-Hermite rule (the stand-alone check the
 * foundation issue asks for, independent of the ODE engine):
 *   dR/dt = tau (a + b_e R - beta R)
 *   dQ/dt = 2 tau (E[G1 h1 + G2 h2] - beta Q) + tau^2 V / B
 * with h_a = c R + zt + e_a, zt ~ N(0, Q - R^2), e ~ N(0, s^2 Q [[1, rho], [rho, 1]]). */
#include <criterion/criterion.h>
#include <gsl/gsl_integration.h>
#include <math.h>

#include "cldyn/cldyn.h"

typedef struct {
  const cl_model *m;
  double beta;
  int n;
  const double *x, *w; /* Gauss-Hermite nodes and weights, weight exp(-x^2) */
} theory;

static void rhs(const theory *th, double R, double Q, double *dR, double *dQ) {
  const cl_model *m = th->m;
  const double s2 = m->s * m->s, rho = m->rho;
  const double A = Q - R * R, l1 = 2 * A + (1 + rho) * s2 * Q, l2 = (1 - rho) * s2 * Q;
  /* h1 = mu + (sqrt(l1) X + sqrt(l2) Y) / sqrt 2, h2 = mu + (sqrt(l1) X - sqrt(l2) Y) / sqrt 2:
   * the eigen-decomposition of the 2 x 2 covariance [[a, b], [b, a]] */
  const double r1 = sqrt(fmax(l1, 0) / 2), r2 = sqrt(fmax(l2, 0) / 2);
  double a = 0, be = 0, gh = 0, V = 0;
  const cl_law *law = &m->c[0];
  for (int k = 0; k < law->nvals; k++) {
    double c = law->vals[k], pc = law->probs[k];
    for (int i = 0; i < th->n; i++)
      for (int j = 0; j < th->n; j++) {
        double X = M_SQRT2 * th->x[i], Y = M_SQRT2 * th->x[j];
        double wt = pc * th->w[i] * th->w[j] / M_PI;
        double h1 = c * R + r1 * X + r2 * Y, h2 = c * R + r1 * X - r2 * Y;
        double f1, d1, dd1, f2, d2, dd2;
        cl_act_eval(m->act, h1, &f1, &d1, &dd1);
        cl_act_eval(m->act, h2, &f2, &d2, &dd2);
        double G1 = d1 * f2, G2 = f1 * d2;
        a += wt * (G1 + G2) * c;
        be += wt * s2 * (dd1 * f2 + f1 * dd2 + 2 * rho * d1 * d2);
        gh += wt * (G1 * h1 + G2 * h2);
        V += wt * ((G1 + G2) * (G1 + G2) + s2 * (G1 * G1 + G2 * G2 + 2 * rho * G1 * G2));
      }
  }
  *dR = m->tau * (a + be * R - th->beta * R);
  *dQ = 2 * m->tau * (gh - th->beta * Q) + m->tau * m->tau * V / m->B;
}

Test(theory, default_simulation_follows_the_m1_limit) {
  cl_model m;
  cl_model_default(&m);
  m.N = 2000;
  /* rademacher:3 as an explicit discrete law, for exact sums over c */
  cl_law rad;
  cl_law_parse("discrete:-1.7320508075688772@0.5,1.7320508075688772@0.5", &rad, NULL);
  cr_assert_float_eq(rad.m2, 3.0, 1e-15);
  cl_schedule sch;
  cl_schedule_default(&sch);
  sch.T = 6, sch.dt_out = 0.5, sch.runs = 8, sch.seed = 2024;
  cl_traj *tr;
  char err[CL_ERRLEN];
  cr_assert_eq(cl_runner_run_sim(&m, &sch, 0, &tr, NULL, NULL, err), CL_OK, "%s", err);

  gsl_integration_fixed_workspace *gh =
      gsl_integration_fixed_alloc(gsl_integration_fixed_hermite, 40, 0, 1, 0, 0);
  cl_model mt = m;
  mt.c[0] = rad;
  theory th = {&mt, m.reg.beta2, 40, gsl_integration_fixed_nodes(gh), gsl_integration_fixed_weights(gh)};
  double R = m.R0[0], Q = m.Q0[0], t = 0, h = 0.005, maxgap = 0;
  for (size_t k = 0; k < tr->nt; k++) {
    while (t < tr->t[k] - 1e-12) { /* RK4 */
      double k1r, k1q, k2r, k2q, k3r, k3q, k4r, k4q;
      rhs(&th, R, Q, &k1r, &k1q);
      rhs(&th, R + h / 2 * k1r, Q + h / 2 * k1q, &k2r, &k2q);
      rhs(&th, R + h / 2 * k2r, Q + h / 2 * k2q, &k3r, &k3q);
      rhs(&th, R + h * k3r, Q + h * k3q, &k4r, &k4q);
      R += h / 6 * (k1r + 2 * k2r + 2 * k3r + k4r);
      Q += h / 6 * (k1q + 2 * k2q + 2 * k3q + k4q);
      t += h;
    }
    double mean = 0;
    for (long long r = 0; r < tr->runs; r++) mean += cl_traj_row(tr, r, k)[2];
    mean /= (double)tr->runs;
    double gap = fabs(mean - R / sqrt(Q));
    maxgap = fmax(maxgap, gap);
    cr_log_info("t = %4.1f  ode cos = %.4f  sim cos = %.4f  gap = %.4f", tr->t[k], R / sqrt(Q), mean, gap);
    cr_expect_leq(gap, 0.03, "t = %g: |mean cos - ode cos| = %g", tr->t[k], gap);
  }
  cr_log_info("max gap over t in [0, 6]: %.4f (N = 2000, 8 runs)", maxgap);
  gsl_integration_fixed_free(gh);
  cl_traj_free(tr);
}
