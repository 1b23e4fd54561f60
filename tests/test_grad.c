/* The analytic gradient of the loss F (cl_data_batch_grad, which the SGD step
 * uses) against central finite differences, for every activation and g,
 * M in {1, 2, 3}, B in {1, 3} and lambda > 0. */
#include <criterion/criterion.h>
#include <math.h>

#include "cldyn/cldyn.h"

static double loss_of_W(const cl_model *m, const double *W, const double *X1, const double *X2) {
  int N = (int)m->N, M = m->M, B = m->B;
  double H1[CL_MMAX * 8], H2[CL_MMAX * 8];
  for (int i = 0; i < M; i++)
    for (int b = 0; b < B; b++) {
      double a = 0, c = 0;
      for (int n = 0; n < N; n++) a += W[n * M + i] * X1[n * B + b], c += W[n * M + i] * X2[n * B + b];
      H1[i * B + b] = a / sqrt((double)N), H2[i * B + b] = c / sqrt((double)N);
    }
  return cl_data_batch_loss(m, H1, H2, NULL, NULL);
}

Test(grad, analytic_equals_finite_difference) {
  const int N = 9, Ms[] = {1, 2, 3}, Bs[] = {1, 3};
  cl_rng *rng;
  cl_rng_alloc(7, 0, &rng, NULL);
  int checked = 0;
  for (int act = CL_ACT_LINEAR; act <= CL_ACT_CUBIC; act++)
    for (int g = CL_G_SQUARE; g <= CL_G_ABS; g++)
      for (int im = 0; im < 3; im++)
        for (int ib = 0; ib < 2; ib++) {
          cl_model m;
          cl_model_default(&m);
          m.N = N, m.M = Ms[im], m.B = Bs[ib], m.act = (cl_act)act, m.g = (cl_gfun)g;
          m.lambda = 0.7;
          int M = m.M, B = m.B;
          double W[9 * 3], X1[9 * 3], X2[9 * 3], G[9 * 3], work[4 * 3 * 3];
          for (int k = 0; k < N * M; k++) W[k] = 1.3 * cl_rng_gauss(rng);
          for (int k = 0; k < N * B; k++) X1[k] = cl_rng_gauss(rng), X2[k] = cl_rng_gauss(rng);
          double F = cl_data_batch_grad(&m, W, X1, X2, G, work);
          cr_assert_float_eq(F, loss_of_W(&m, W, X1, X2), 1e-12 * (1 + fabs(F)));
          for (int k = 0; k < N * M; k++) {
            const double eps = 1e-6;
            double w0 = W[k];
            W[k] = w0 + eps;
            double fp = loss_of_W(&m, W, X1, X2);
            W[k] = w0 - eps;
            double fm = loss_of_W(&m, W, X1, X2);
            W[k] = w0;
            double fd = (fp - fm) / (2 * eps);
            cr_assert(fabs(fd - G[k]) <= 1e-6 * (1 + fabs(G[k])),
                      "%s/%s M=%d B=%d entry %d: analytic %.10g fd %.10g", cl_act_name(m.act),
                      cl_gfun_name(m.g), M, B, k, G[k], fd);
            checked++;
          }
        }
  cl_rng_free(rng);
  cr_assert_eq(checked, 6 * 2 * (1 + 2 + 3) * 2 * 9);
}

Test(grad, activation_derivatives_match_finite_differences) {
  for (int act = CL_ACT_LINEAR; act <= CL_ACT_CUBIC; act++)
    for (double h = -2.3; h < 2.4; h += 0.37) {
      double f, d1, d2, fp, fm, d1p, d1m, t;
      const double eps = 1e-6;
      cl_act_eval((cl_act)act, h, &f, &d1, &d2);
      cl_act_eval((cl_act)act, h + eps, &fp, &d1p, &t);
      cl_act_eval((cl_act)act, h - eps, &fm, &d1m, &t);
      cr_assert_float_eq(d1, (fp - fm) / (2 * eps), 1e-7, "%s sigma' at %g", cl_act_name((cl_act)act), h);
      cr_assert_float_eq(d2, (d1p - d1m) / (2 * eps), 1e-7, "%s sigma'' at %g", cl_act_name((cl_act)act), h);
    }
  cr_assert_float_eq(cl_act_value(CL_ACT_ERF, 1.0), erf(M_SQRT1_2), 1e-15);
}
