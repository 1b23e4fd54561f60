/* The brute-force batch Monte Carlo of the drift (tests/mc_ref.h). */
#include "mc_ref.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

void mc_ref_batches(const cl_model *m, const double *R, const double *Q, long nb, uint64_t seed,
                    uint64_t stream, int nout, mc_ref_map map, double *mean, double *se) {
  const int K = m->K, M = m->M, B = m->B, KM = K * M, nraw = KM + 2 * M * M;
  const double s = m->s, rho = m->rho, sr = sqrt(1 - rho * rho), s2 = s * s;
  double A[CL_MMAX * CL_MMAX], SA[CL_MMAX * CL_MMAX];
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) {
      A[i * M + l] = Q[i * M + l];
      for (int j = 0; j < K; j++) A[i * M + l] -= R[j * M + i] * R[j * M + l];
    }
  cr_assert_eq(cl_model_sym_sqrt(A, M, 1e-9, SA), CL_OK);
  cl_rng *rng = NULL;
  cl_rng_alloc(seed, stream, &rng, NULL);
  double *sum = calloc((size_t)nout, sizeof(double)), *sq = calloc((size_t)nout, sizeof(double));
  double *raw = malloc(sizeof(double) * (size_t)nraw), *one = malloc(sizeof(double) * (size_t)nout);
  double *C = malloc(sizeof(double) * (size_t)(B * K)), *X1 = malloc(sizeof(double) * (size_t)(B * K)),
         *X2 = malloc(sizeof(double) * (size_t)(B * K));
  double *H1 = malloc(sizeof(double) * (size_t)(4 * M * B)), *H2 = H1 + M * B, *D1 = H2 + M * B, *D2 = D1 + M * B;
  cr_assert(rng && sum && sq && raw && one && C && X1 && X2 && H1);
  for (long n = 0; n < nb; n++) {
    for (int b = 0; b < B; b++) {
      double g[3 * CL_MMAX + 2 * CL_KMAX], zt[CL_MMAX], n1[CL_MMAX], n2[CL_MMAX];
      for (int j = 0; j < K; j++) C[b * K + j] = cl_law_sample(&m->c[j], rng);
      cl_rng_gauss_fill(rng, g, (size_t)(3 * M + 2 * K));
      for (int j = 0; j < K; j++) {
        X1[b * K + j] = g[3 * M + j];
        X2[b * K + j] = rho * g[3 * M + j] + sr * g[3 * M + K + j];
      }
      for (int i = 0; i < M; i++) {
        zt[i] = n1[i] = n2[i] = 0;
        for (int l = 0; l < M; l++) {
          zt[i] += SA[i * M + l] * g[l];
          n1[i] += SA[i * M + l] * g[M + l];
          n2[i] += SA[i * M + l] * (rho * g[M + l] + sr * g[2 * M + l]);
        }
      }
      for (int i = 0; i < M; i++) {
        double mu = 0, e1 = n1[i], e2 = n2[i];
        for (int j = 0; j < K; j++) {
          mu += C[b * K + j] * R[j * M + i];
          e1 += X1[b * K + j] * R[j * M + i];
          e2 += X2[b * K + j] * R[j * M + i];
        }
        H1[i * B + b] = mu + zt[i] + s * e1;
        H2[i * B + b] = mu + zt[i] + s * e2;
      }
    }
    cl_data_batch_loss(m, H1, H2, D1, D2);
    for (int j = 0; j < K; j++)
      for (int i = 0; i < M; i++) {
        double a = 0;
        for (int b = 0; b < B; b++)
          a += (D1[i * B + b] + D2[i * B + b]) * C[b * K + j] +
               s * (D1[i * B + b] * X1[b * K + j] + D2[i * B + b] * X2[b * K + j]);
        raw[j * M + i] = a;
      }
    for (int i = 0; i < M; i++)
      for (int l = 0; l < M; l++) {
        double P = 0, V = 0;
        for (int b = 0; b < B; b++) {
          const double a1i = D1[i * B + b], a2i = D2[i * B + b], a1l = D1[l * B + b], a2l = D2[l * B + b];
          P += a1l * H1[i * B + b] + a2l * H2[i * B + b] + a1i * H1[l * B + b] + a2i * H2[l * B + b];
          V += (a1i + a2i) * (a1l + a2l) + s2 * (a1i * a1l + a2i * a2l + rho * (a1i * a2l + a2i * a1l));
        }
        raw[KM + i * M + l] = P;
        raw[KM + M * M + i * M + l] = V;
      }
    if (map) map(m, R, Q, raw, one);
    else
      for (int k = 0; k < nout; k++) one[k] = raw[k];
    for (int k = 0; k < nout; k++) sum[k] += one[k], sq[k] += one[k] * one[k];
  }
  for (int k = 0; k < nout; k++) {
    mean[k] = sum[k] / (double)nb;
    se[k] = sqrt(fmax(sq[k] / (double)nb - mean[k] * mean[k], 0) / (double)nb);
  }
  free(sum), free(sq), free(raw), free(one), free(C), free(X1), free(X2), free(H1);
  cl_rng_free(rng);
}

void mc_ref_drift(const cl_model *m, const double *R, const double *Q, const double *raw, double *out) {
  const int K = m->K, M = m->M, KM = K * M;
  const double tau = m->tau, beta = m->reg.beta2;
  for (int k = 0; k < KM; k++) out[k] = tau * (raw[k] - beta * R[k]);
  for (int k = 0; k < M * M; k++)
    out[KM + k] = tau * raw[KM + k] - 2 * tau * beta * Q[k] + tau * tau * raw[KM + M * M + k];
}
