/* Features, initial weights, order parameters and the batch loss
 * (docs/model.md s.1-4; notation R, Q, U, W, C, lambda, g as there). */
#include "cldyn/data.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data_classes.h"

/* Make the columns of A (N x k row-major) orthonormal, and orthogonal to
 * the first `skip` columns of B (N x kb): modified Gram-Schmidt, applied
 * twice for accuracy ("twice is enough"). */
static cl_status orthonormalise(long long N, double *A, int k, const double *B, int kb, int skip,
                                char *err) {
  for (int j = 0; j < k; j++) {
    for (int pass = 0; pass < 2; pass++) {
      for (int l = 0; l < skip; l++) {
        double d = 0;
        for (long long n = 0; n < N; n++) d += B[n * kb + l] * A[n * k + j];
        for (long long n = 0; n < N; n++) A[n * k + j] -= d * B[n * kb + l];
      }
      for (int l = 0; l < j; l++) {
        double d = 0;
        for (long long n = 0; n < N; n++) d += A[n * k + l] * A[n * k + j];
        for (long long n = 0; n < N; n++) A[n * k + j] -= d * A[n * k + l];
      }
    }
    double nrm = 0;
    for (long long n = 0; n < N; n++) nrm += A[n * k + j] * A[n * k + j];
    if (!(nrm > 1e-20))
      return cl_fail(err, CL_EINVAL,
                     "features: column %d is degenerate (too sparse for N = %lld); raise N or P",
                     j + 1, N);
    nrm = 1 / sqrt(nrm);
    for (long long n = 0; n < N; n++) A[n * k + j] *= nrm;
  }
  return CL_OK;
}

cl_status cl_data_features_draw(const cl_model *m, cl_rng *rng, double *U, char *err) {
  long long N = m->N;
  int K = m->K;
  memset(U, 0, sizeof(double) * (size_t)(N * K));
  if (m->features == CL_FEAT_AXIS) {
    for (int j = 0; j < K; j++) U[j * K + j] = 1;
    return CL_OK;
  }
  double p = m->features == CL_FEAT_SPARSE ? m->feat_p : 1.0, amp = 1 / sqrt(p);
  for (long long i = 0; i < N * K; i++) {
    double u = cl_rng_uniform(rng);
    U[i] = u < p ? (u < 0.5 * p ? amp : -amp) : 0.0;
  }
  return orthonormalise(N, U, K, NULL, 0, 0, err);
}

/* Support values of one feature entry. */
static int feature_values(const cl_model *m, double *v) {
  if (m->features == CL_FEAT_AXIS) return v[0] = 0, 1;
  if (m->features == CL_FEAT_DENSE || m->feat_p >= 1) return v[0] = 1, v[1] = -1, 2;
  double a = 1 / sqrt(m->feat_p);
  return v[0] = 0, v[1] = a, v[2] = -a, 3;
}

int cl_data_feature_classes(const cl_model *m, double *xi, double *prob) {
  double v[3];
  int nv = feature_values(m, v), K = m->K, count = 1;
  /* nv^K overflowed an int from K = 20 sparse features (3^20; K <= 32):
   * saturate, so that the callers' limit (CL_DATA_CLASS_MAX) refuses it before
   * xi or prob is written */
  for (int j = 0; j < K; j++) {
    if (count > INT_MAX / nv) return INT_MAX;
    count *= nv;
  }
  /* counting only: the loop below took minutes at 3^19 classes */
  for (int c = 0; c < count && (xi || prob); c++) {
    double pr = 1;
    for (int j = 0, r = c; j < K; j++, r /= nv) {
      double x = v[r % nv];
      if (xi) xi[c * K + j] = x;
      pr *= nv == 3 ? (x == 0 ? 1 - m->feat_p : 0.5 * m->feat_p) : nv == 2 ? 0.5 : 1;
    }
    if (prob) prob[c] = pr;
  }
  return count;
}

cl_status cl_data_classes_capped(const cl_model *m, const char *who, const char *whose, int *nc, char *err) {
  *nc = cl_data_feature_classes(m, NULL, NULL);
  if (*nc > CL_DATA_CLASS_MAX)
    return cl_fail(err, CL_EINVAL,
                   "%s: the %d features give more than %d feature classes (2^K or 3^K), %s limit; use fewer features",
                   who, m->K, CL_DATA_CLASS_MAX, whose);
  return CL_OK;
}

int cl_data_feature_class_of(const cl_model *m, const double *U, long long n) {
  double v[3];
  int nv = feature_values(m, v), K = m->K, c = 0, mult = 1;
  if (m->features == CL_FEAT_AXIS) return n < K ? -1 : 0;
  double sq = sqrt((double)m->N);
  for (int j = 0; j < K; j++, mult *= nv) {
    double x = sq * U[n * K + j];
    int best = 0;
    for (int q = 1; q < nv; q++)
      if (fabs(x - v[q]) < fabs(x - v[best])) best = q;
    c += best * mult;
  }
  return c;
}

cl_status cl_data_weights_init(const cl_model *m, const double *U, cl_rng *rng, double *W, char *err) {
  long long N = m->N;
  int K = m->K, M = m->M;
  double S[CL_MMAX * CL_MMAX], sq = sqrt((double)N);
  cl_rng_gauss_fill(rng, W, (size_t)(N * M));
  if (m->init == CL_INIT_RANDOM) {
    /* rows w_n ~ N(0, Q0): w_n = S g_n with S = Q0^(1/2) */
    if (cl_model_sym_sqrt(m->Q0, M, 1e-12, S))
      return cl_fail(err, CL_EINVAL, "Q0: must be positive semidefinite");
    double row[CL_MMAX];
    for (long long n = 0; n < N; n++) {
      for (int i = 0; i < M; i++) {
        double acc = 0;
        for (int l = 0; l < M; l++) acc += S[i * M + l] * W[n * M + l];
        row[i] = acc;
      }
      memcpy(W + n * M, row, sizeof(double) * (size_t)M);
    }
    return CL_OK;
  }
  double G[CL_MMAX * CL_MMAX];
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) {
      double acc = m->Q0[i * M + l];
      for (int j = 0; j < K; j++) acc -= m->R0[j * M + i] * m->R0[j * M + l];
      G[i * M + l] = acc;
    }
  if (cl_model_sym_sqrt(G, M, 1e-12, S))
    return cl_fail(err, CL_EINVAL, "Q0: Q0 - R0^T R0 must be positive semidefinite");
  /* W currently holds Gaussian columns: make them V, orthonormal and
   * orthogonal to U, then W = sqrt(N) (U R0 + V S). */
  cl_status st = orthonormalise(N, W, M, U, K, K, err);
  if (st) return st;
  double row[CL_MMAX];
  for (long long n = 0; n < N; n++) {
    for (int i = 0; i < M; i++) {
      double acc = 0;
      for (int l = 0; l < M; l++) acc += W[n * M + l] * S[l * M + i];
      for (int j = 0; j < K; j++) acc += U[n * K + j] * m->R0[j * M + i];
      row[i] = sq * acc;
    }
    memcpy(W + n * M, row, sizeof(double) * (size_t)M);
  }
  return CL_OK;
}

void cl_data_order_params(const cl_model *m, const double *U, const double *W, double *R, double *Q) {
  long long N = m->N;
  int K = m->K, M = m->M;
  double sq = sqrt((double)N);
  memset(R, 0, sizeof(double) * (size_t)(K * M));
  memset(Q, 0, sizeof(double) * (size_t)(M * M));
  if (m->features == CL_FEAT_AXIS) {
    for (int j = 0; j < K; j++)
      for (int i = 0; i < M; i++) R[j * M + i] = W[j * M + i] / sq;
  } else {
    for (long long n = 0; n < N; n++)
      for (int j = 0; j < K; j++)
        for (int i = 0; i < M; i++) R[j * M + i] += U[n * K + j] * W[n * M + i];
    for (int k = 0; k < K * M; k++) R[k] /= sq;
  }
  for (long long n = 0; n < N; n++)
    for (int i = 0; i < M; i++)
      for (int l = i; l < M; l++) Q[i * M + l] += W[n * M + i] * W[n * M + l];
  for (int i = 0; i < M; i++)
    for (int l = i; l < M; l++) Q[l * M + i] = Q[i * M + l] /= (double)N;
}

void cl_data_batch_draw(const cl_model *m, const double *U, cl_rng *rng, double *c, double *X,
                   double *X1, double *X2, double *work) {
  const int N = (int)m->N, K = m->K, B = m->B;
  const size_t NB = (size_t)N * (size_t)B;
  for (int b = 0; b < B; b++)
    for (int j = 0; j < K; j++) c[b * K + j] = cl_law_sample(&m->c[j], rng);
  /* X, X1, X2 are consecutive: one bulk draw of 3 N B normals z | eps1 | eps' */
  cl_rng_gauss_fill(rng, X, 3 * NB);
  /* clean samples X = U C^T + P_perp Z, with P_perp Z = Z - U (U^T Z) */
  if (m->features == CL_FEAT_AXIS) {
    for (int j = 0; j < K; j++)
      for (int b = 0; b < B; b++) X[(size_t)j * B + b] = c[b * K + j];
  } else {
    double *P = work; /* K x B */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, B, N, 1, U, K, X, B, 0, P, B);
    for (int j = 0; j < K; j++)
      for (int b = 0; b < B; b++) P[j * B + b] = c[b * K + j] - P[j * B + b];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, B, K, 1, U, K, P, B, 1, X, B);
  }
  /* eps2 = rho eps1 + sqrt(1 - rho^2) eps', views X_a = X + s eps_a */
  const double rho = m->rho, sr = sqrt(1 - rho * rho), s = m->s;
  for (size_t k = 0; k < NB; k++) {
    double e2 = rho * X1[k] + sr * X2[k];
    X1[k] = X[k] + s * X1[k];
    X2[k] = X[k] + s * e2;
  }
}

double cl_data_batch_loss(const cl_model *m, const double *H1, const double *H2, double *D1,
                     double *D2) {
  int M = m->M, B = m->B;
  double y1[CL_MMAX], y2[CL_MMAX], C[CL_MMAX * CL_MMAX], Gam[CL_MMAX * CL_MMAX];
  double d2;
  /* C_il = (1/B) sum_b sigma(h1_ib) sigma(h2_lb) */
  memset(C, 0, sizeof C);
  for (int b = 0; b < B; b++) {
    for (int i = 0; i < M; i++) {
      y1[i] = cl_act_value(m->act, H1[i * B + b]);
      y2[i] = cl_act_value(m->act, H2[i * B + b]);
    }
    for (int i = 0; i < M; i++)
      for (int l = 0; l < M; l++) C[i * M + l] += y1[i] * y2[l];
  }
  double F = 0;
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) {
      C[i * M + l] /= B;
      /* Gam = dF/dC */
      if (i == l) F -= C[i * M + l], Gam[i * M + l] = -1;
      else
        F += m->lambda * cl_gfun_value(m->g, C[i * M + l]),
            Gam[i * M + l] = m->lambda * cl_gfun_deriv(m->g, C[i * M + l]);
    }
  if (!D1) return F;
  /* dF/dy1_ib = sum_l Gam_il y2_lb / B, dF/dy2_lb = sum_i Gam_il y1_ib / B */
  for (int b = 0; b < B; b++) {
    double s1[CL_MMAX], s2[CL_MMAX];
    for (int i = 0; i < M; i++) {
      cl_act_eval(m->act, H1[i * B + b], &y1[i], &s1[i], &d2);
      cl_act_eval(m->act, H2[i * B + b], &y2[i], &s2[i], &d2);
    }
    for (int i = 0; i < M; i++) {
      double g1 = 0, g2 = 0;
      for (int l = 0; l < M; l++) {
        g1 += Gam[i * M + l] * y2[l];
        g2 += Gam[l * M + i] * y1[l];
      }
      D1[i * B + b] = -s1[i] * g1 / B;
      D2[i * B + b] = -s2[i] * g2 / B;
    }
  }
  return F;
}

double cl_data_batch_grad(const cl_model *m, const double *W, const double *X1, const double *X2,
                     double *G, double *work) {
  int N = (int)m->N, M = m->M, B = m->B;
  double isq = 1 / sqrt((double)m->N);
  double *H1 = work, *H2 = work + M * B, *D1 = work + 2 * M * B, *D2 = work + 3 * M * B;
  /* H_a = W^T X_a / sqrt(N) */
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, B, N, isq, W, M, X1, B, 0, H1, B);
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, B, N, isq, W, M, X2, B, 0, H2, B);
  double F = cl_data_batch_loss(m, H1, H2, D1, D2);
  /* G = -(X1 D1^T + X2 D2^T) / sqrt(N) */
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, M, B, -isq, X1, B, D1, B, 0, G, M);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, M, B, -isq, X2, B, D2, B, 1, G, M);
  return F;
}
