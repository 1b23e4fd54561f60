/* sd_ref.c - see sd_ref.h */
#include "sd_ref.h"
#include <gsl/gsl_integration.h>
#include <math.h>
#include <stdlib.h>

/* nodes and weights (probability masses) of N(mu, sd^2) */
static int nodes(gsl_integration_glfixed_table *t, double mu, double sd, double *x, double *w, int cap) {
  double lo = mu - 12 * sd, hi = mu + 12 * sd, a = lo;
  int n = 0;
  while (a < hi && n + 10 <= cap) {
    /* fine panels from h = -30 on (a panel starting at exactly -30 was
     * coarse: at sd 300 one 10-point panel spanned [-30, 30]) */
    double fine = fmin(0.25, 0.25 * sd), step = a >= -30 && a < 30 ? fine : 0.25 * sd, b = fmin(a + step, hi);
    if (a < -30 && b > -30) b = -30;
    if (a < 30 && b > 30) b = 30;
    for (size_t i = 0; i < 10; i++) {
      double xi, wi;
      gsl_integration_glfixed_point(a, b, i, &xi, &wi, t);
      double z = (xi - mu) / sd;
      x[n] = xi, w[n] = wi * exp(-0.5 * z * z) / (sd * sqrt(2 * M_PI)), n++;
    }
    a = b;
  }
  return n;
}

/* The moments of one unit's pair of views (a, b) = (h1, h2), y = sigma,
 * d = sigma', that dQ_ii needs (the unit's own, then the other units'). */
enum {
  M_DYA, M_DYA_L, M_GG, M_GG_L, M_GG_LL, M_G12, M_G12_L, M_G12_LL, /* unit i: see sd_ref_dq */
  M_Y2, M_Y4, M_Y2Y2,                                             /* the other units */
  NMOM
};

double sd_ref_dq(const cl_model *m, double q) {
  const int cap = 20000;
  gsl_integration_glfixed_table *t = gsl_integration_glfixed_table_alloc(10);
  double *x1 = malloc(cap * sizeof *x1), *w1 = malloc(cap * sizeof *w1), *x2 = malloc(cap * sizeof *x2),
         *w2 = malloc(cap * sizeof *w2);
  if (!t || !x1 || !w1 || !x2 || !w2) abort();
  const double s2 = m->s * m->s, rho = m->rho, var = q + s2 * q, cov = q + rho * s2 * q;
  const double sd2 = sqrt(fmax(var - cov * cov / var, 0));
  double mo[NMOM] = {0};
  int n1 = nodes(t, 0, sqrt(var), x1, w1, cap);
  for (int i = 0; i < n1; i++) {
    double a = x1[i], ya, da, ea;
    cl_act_eval(m->act, a, &ya, &da, &ea);
    int n2 = nodes(t, cov / var * a, sd2, x2, w2, cap);
    double e[NMOM] = {0};
    for (int k = 0; k < n2; k++) {
      double b = x2[k], yb, db, eb;
      cl_act_eval(m->act, b, &yb, &db, &eb);
      const double w = w2[k], dd = da * db, yy = ya * yb;
      /* the pair's parts of P = E[g1 a + g2 b], E[g1^2 + g2^2], E[g1 g2] */
      e[M_DYA] += w * (da * yb * a + ya * db * b);
      e[M_DYA_L] += w * (da * ya * a + db * yb * b);
      e[M_GG] += w * (da * da * yb * yb + ya * ya * db * db);
      e[M_GG_L] += w * (da * da + db * db) * yy;
      e[M_GG_LL] += w * (da * da * ya * ya + db * db * yb * yb);
      e[M_G12] += w * dd * yy;
      e[M_G12_L] += w * dd * (ya * ya + yb * yb);
      e[M_Y2] += w * ya * ya;
      e[M_Y4] += w * ya * ya * ya * ya;
      e[M_Y2Y2] += w * yy * yy;
    }
    e[M_G12_LL] = e[M_G12];
    for (int k = 0; k < NMOM; k++) mo[k] += w1[i] * e[k];
  }
  free(x1), free(x2), free(w1), free(w2);
  gsl_integration_glfixed_table_free(t);
  /* With lambda != 0 (M >= 2, B = 1, g = square; docs/accurate.md s.2) the
   * gradients of unit i are g1 = d(a) y(b) - 2 lambda d(a) y(a) S'(b),
   * g2 = y(a) d(b) - 2 lambda S'(a) d(b) y(b), with S' = the sum of y^2 over
   * the other units; at R = 0, Q = q I the units' pairs are independent,
   * so every expectation factorises into the moments above. */
  const double L = m->M >= 2 ? m->lambda : 0, o = m->M - 1;
  const double E2 = o * mo[M_Y2], E4 = o * mo[M_Y4] + o * (o - 1) * mo[M_Y2] * mo[M_Y2],
               E22 = o * mo[M_Y2Y2] + o * (o - 1) * mo[M_Y2] * mo[M_Y2];
  const double P = mo[M_DYA] - 2 * L * E2 * mo[M_DYA_L];
  const double GG = mo[M_GG] - 4 * L * E2 * mo[M_GG_L] + 4 * L * L * E4 * mo[M_GG_LL];
  const double G12 = mo[M_G12] - 2 * L * E2 * mo[M_G12_L] + 4 * L * L * E22 * mo[M_G12_LL];
  const double V = (1 + s2) * GG + 2 * (1 + rho * s2) * G12;
  return 2 * m->tau * (P - m->reg.beta2 * q) + m->tau * m->tau * V / m->B;
}
