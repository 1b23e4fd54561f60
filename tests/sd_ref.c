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

double sd_ref_dq(const cl_model *m, double q) {
  const int cap = 20000;
  gsl_integration_glfixed_table *t = gsl_integration_glfixed_table_alloc(10);
  double *x1 = malloc(cap * sizeof *x1), *w1 = malloc(cap * sizeof *w1), *x2 = malloc(cap * sizeof *x2),
         *w2 = malloc(cap * sizeof *w2);
  if (!t || !x1 || !w1 || !x2 || !w2) abort();
  const double s2 = m->s * m->s, rho = m->rho, var = q + s2 * q, cov = q + rho * s2 * q;
  const double sd2 = sqrt(fmax(var - cov * cov / var, 0));
  double Egh = 0, V = 0;
  int n1 = nodes(t, 0, sqrt(var), x1, w1, cap);
  for (int i = 0; i < n1; i++) {
    double h1 = x1[i], f1, d1, e1;
    cl_act_eval(m->act, h1, &f1, &d1, &e1);
    int n2 = nodes(t, cov / var * h1, sd2, x2, w2, cap);
    double eg = 0, ev = 0;
    for (int k = 0; k < n2; k++) {
      double h2 = x2[k], f2, d2, e2;
      cl_act_eval(m->act, h2, &f2, &d2, &e2);
      double G1 = d1 * f2, G2 = f1 * d2;
      eg += w2[k] * (G1 * h1 + G2 * h2);
      ev += w2[k] * ((G1 + G2) * (G1 + G2) + s2 * (G1 * G1 + G2 * G2 + 2 * rho * G1 * G2));
    }
    Egh += w1[i] * eg, V += w1[i] * ev;
  }
  free(x1), free(w1), free(x2), free(w2);
  gsl_integration_glfixed_table_free(t);
  return 2 * m->tau * (Egh - m->reg.beta2 * q) + m->tau * m->tau * V / m->B;
}
