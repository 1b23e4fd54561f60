/* The exact finite-N order-parameter chain (docs/model.md s.9, L2 only).
 * Notation: Rt = U^T W (K x M), G = Wp^T Wp (M x M) with Wp = P_perp W,
 * L a square root of G (G = L L^T), so Wp = V L^T for an orthonormal V
 * (N x M) that never needs to be formed: by isotropy, the projections of a
 * fresh N(0, I_N) vector on span(U) and on span(V) are independent standard
 * normals (K and M of them), and the rest lives in the N - K - M dimensional
 * complement, where only its Gram matrix matters. */
#include "cldyn/reduced.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cldyn/data.h"
#include "cldyn/rng.h"

struct cl_red {
  cl_model m;
  long long steps;
  cl_rng *rng;
  double Rt[CL_KMAX * CL_MMAX], G[CL_MMAX * CL_MMAX];
  double *buf; /* per-step draws and work */
};

void cl_red_free(cl_red *r) {
  if (!r) return;
  cl_rng_free(r->rng);
  free(r->buf);
  free(r);
}


/* A sample of Wishart_M(dof, S) (S PSD) by the Bartlett decomposition:
 * S^(1/2) A A^T S^(1/2), A lower triangular, A_ii^2 ~ chi2(dof - i),
 * A_ij ~ N(0, 1) below the diagonal.  Out: M x M. */
static void wishart(cl_rng *rng, int M, double dof, const double *S, double *out) {
  double A[CL_MMAX * CL_MMAX] = {0}, Sh[CL_MMAX * CL_MMAX], AAt[CL_MMAX * CL_MMAX], T[CL_MMAX * CL_MMAX];
  for (int i = 0; i < M; i++) {
    A[i * M + i] = sqrt(cl_law_sample_chisq(rng, dof - i));
    for (int j = 0; j < i; j++) A[i * M + j] = cl_rng_gauss(rng);
  }
  if (M == 1) {
    out[0] = S[0] * A[0] * A[0];
    return;
  }
  cl_model_sym_sqrt(S, M, 1e300, Sh); /* PSD by construction: clip rounding */
  for (int i = 0; i < M; i++)
    for (int j = 0; j < M; j++) {
      double acc = 0;
      for (int k = 0; k < M; k++) acc += A[i * M + k] * A[j * M + k];
      AAt[i * M + j] = acc;
    }
  for (int i = 0; i < M; i++)
    for (int j = 0; j < M; j++) {
      double acc = 0;
      for (int k = 0; k < M; k++) acc += Sh[i * M + k] * AAt[k * M + j];
      T[i * M + j] = acc;
    }
  for (int i = 0; i < M; i++)
    for (int j = 0; j < M; j++) {
      double acc = 0;
      for (int k = 0; k < M; k++) acc += T[i * M + k] * Sh[k * M + j];
      out[i * M + j] = acc;
    }
  for (int i = 0; i < M; i++) /* exact symmetry */
    for (int j = 0; j < i; j++) out[i * M + j] = out[j * M + i] = 0.5 * (out[i * M + j] + out[j * M + i]);
}

cl_status cl_red_alloc(const cl_model *m, uint64_t seed, uint64_t run, cl_red **out, char *err) {
  *out = NULL;
  if (m->reg.kind == CL_REG_L1 || m->reg.kind == CL_REG_ELASTIC)
    return cl_fail(err, CL_EINVAL, "reg: the reduced chain is exact only for l2 or none");
  cl_red *r = calloc(1, sizeof *r);
  if (!r) return cl_fail(err, CL_ENOMEM, "out of memory");
  r->m = *m;
  int K = m->K, M = m->M, B = m->B;
  cl_rng_alloc(seed, run, &r->rng, NULL);
  r->buf = malloc(sizeof(double) * (size_t)(B * (3 * K + 3 * M + 6 * M) + 3 * B * M + 16));
  if (!r->rng || !r->buf) {
    cl_red_free(r);
    return cl_fail(err, CL_ENOMEM, "out of memory");
  }
  double sq = sqrt((double)m->N);
  if (m->init == CL_INIT_OVERLAP) {
    for (int k = 0; k < K * M; k++) r->Rt[k] = sq * m->R0[k];
    for (int i = 0; i < M; i++)
      for (int l = 0; l < M; l++) {
        double acc = m->Q0[i * M + l];
        for (int j = 0; j < K; j++) acc -= m->R0[j * M + i] * m->R0[j * M + l];
        r->G[i * M + l] = (double)m->N * acc;
      }
  } else {
    /* i.i.d. rows N(0, Q0): the K feature rows are Gaussian, the Gram of the
     * other N - K rows is Wishart_M(N - K, Q0) */
    double S[CL_MMAX * CL_MMAX];
    if (cl_model_sym_sqrt(m->Q0, M, 1e-12, S)) {
      cl_red_free(r);
      return cl_fail(err, CL_EINVAL, "Q0: must be positive semidefinite");
    }
    for (int j = 0; j < K; j++) {
      double g[CL_MMAX];
      for (int l = 0; l < M; l++) g[l] = cl_rng_gauss(r->rng);
      for (int i = 0; i < M; i++) {
        double acc = 0;
        for (int l = 0; l < M; l++) acc += S[i * M + l] * g[l];
        r->Rt[j * M + i] = acc;
      }
    }
    wishart(r->rng, M, (double)(m->N - K), m->Q0, r->G);
  }
  *out = r;
  return CL_OK;
}

void cl_red_order(const cl_red *r, double *R, double *Q) {
  const cl_model *m = &r->m;
  int K = m->K, M = m->M;
  double N = (double)m->N, sq = sqrt(N);
  for (int k = 0; k < K * M; k++) R[k] = r->Rt[k] / sq;
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) {
      double acc = r->G[i * M + l];
      for (int j = 0; j < K; j++) acc += r->Rt[j * M + i] * r->Rt[j * M + l];
      Q[i * M + l] = acc / N;
    }
}

static void step(cl_red *r) {
  const cl_model *m = &r->m;
  const int K = m->K, M = m->M, B = m->B;
  const double N = (double)m->N, isq = 1 / sqrt(N), s = m->s, rho = m->rho, sr = sqrt(1 - rho * rho);
  double *c = r->buf, *eU1 = c + B * K, *eU2 = eU1 + B * K; /* B x K each */
  double *gz = eU2 + B * K, *g1 = gz + B * M, *g2 = g1 + B * M; /* B x M each */
  double *H1 = g2 + B * M, *H2 = H1 + M * B, *D1 = H2 + M * B, *D2 = D1 + M * B; /* M x B */
  double *C = D2 + M * B; /* 3B x M coefficient matrix of the complement vectors */
  /* the draws: c, then the span(U) and span(V) components of z, eps1, eps' */
  for (int b = 0; b < B; b++)
    for (int j = 0; j < K; j++) c[b * K + j] = cl_law_sample(&m->c[j], r->rng);
  for (int b = 0; b < B; b++) {
    for (int j = 0; j < K; j++) {
      double e1 = cl_rng_gauss(r->rng), ep = cl_rng_gauss(r->rng);
      eU1[b * K + j] = e1, eU2[b * K + j] = rho * e1 + sr * ep;
    }
    for (int i = 0; i < M; i++) {
      double z = cl_rng_gauss(r->rng), e1 = cl_rng_gauss(r->rng), ep = cl_rng_gauss(r->rng);
      gz[b * M + i] = z, g1[b * M + i] = e1, g2[b * M + i] = rho * e1 + sr * ep;
    }
  }
  /* L with G = L L^T (symmetric square root) */
  double L[CL_MMAX * CL_MMAX];
  if (M == 1) L[0] = sqrt(fmax(r->G[0], 0));
  else cl_model_sym_sqrt(r->G, M, 1e300, L);
  /* h_a = (Rt^T (c + s eU_a) + L (gz + s g_a)) / sqrt N */
  for (int b = 0; b < B; b++)
    for (int i = 0; i < M; i++) {
      double a1 = 0, a2 = 0;
      for (int j = 0; j < K; j++) {
        a1 += r->Rt[j * M + i] * (c[b * K + j] + s * eU1[b * K + j]);
        a2 += r->Rt[j * M + i] * (c[b * K + j] + s * eU2[b * K + j]);
      }
      for (int l = 0; l < M; l++) {
        a1 += L[i * M + l] * (gz[b * M + l] + s * g1[b * M + l]);
        a2 += L[i * M + l] * (gz[b * M + l] + s * g2[b * M + l]);
      }
      H1[i * B + b] = a1 * isq, H2[i * B + b] = a2 * isq;
    }
  cl_data_batch_loss(m, H1, H2, D1, D2);
  const double keep = 1 - m->tau * (m->reg.kind == CL_REG_L2 ? m->reg.beta2 : 0) / N;
  const double a = m->tau * isq;
  /* Rt <- keep Rt + a sum_b [(c + s eU1) D1^T + (c + s eU2) D2^T] */
  for (int j = 0; j < K; j++)
    for (int i = 0; i < M; i++) {
      double acc = 0;
      for (int b = 0; b < B; b++)
        acc += (c[b * K + j] + s * eU1[b * K + j]) * D1[i * B + b] +
               (c[b * K + j] + s * eU2[b * K + j]) * D2[i * B + b];
      r->Rt[j * M + i] = keep * r->Rt[j * M + i] + a * acc;
    }
  /* span(V) part: Y = keep L^T + a sum_b [(gz + s g1) D1^T + (gz + s g2) D2^T] (M x M) */
  double Y[CL_MMAX * CL_MMAX];
  for (int l = 0; l < M; l++)
    for (int i = 0; i < M; i++) {
      double acc = 0;
      for (int b = 0; b < B; b++)
        acc += (gz[b * M + l] + s * g1[b * M + l]) * D1[i * B + b] +
               (gz[b * M + l] + s * g2[b * M + l]) * D2[i * B + b];
      Y[l * M + i] = keep * L[i * M + l] + a * acc; /* (L^T)_li = L_il */
    }
  /* complement: sum_b [r_z (D1 + D2)^T + s r_1 (D1 + rho D2)^T + s sr r' D2^T]
   * = Rmat C with C (3B x M); its Gram is Wishart_M(N - K - M, C^T C) */
  for (int b = 0; b < B; b++)
    for (int i = 0; i < M; i++) {
      C[(3 * b) * M + i] = a * (D1[i * B + b] + D2[i * B + b]);
      C[(3 * b + 1) * M + i] = a * s * (D1[i * B + b] + rho * D2[i * B + b]);
      C[(3 * b + 2) * M + i] = a * s * sr * D2[i * B + b];
    }
  double S[CL_MMAX * CL_MMAX], Wn[CL_MMAX * CL_MMAX];
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) {
      double acc = 0;
      for (int k = 0; k < 3 * B; k++) acc += C[k * M + i] * C[k * M + l];
      S[i * M + l] = acc;
    }
  wishart(r->rng, M, N - K - M, S, Wn);
  /* G <- Y^T Y + Wishart part */
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) {
      double acc = Wn[i * M + l];
      for (int k = 0; k < M; k++) acc += Y[k * M + i] * Y[k * M + l];
      r->G[i * M + l] = acc;
    }
}

void cl_red_advance(cl_red *r, long long steps) {
  for (long long k = 0; k < steps; k++) step(r);
  r->steps += steps;
}

/* The engine interface of runner.h: state = steps, Rt, G, the random stream. */
static cl_status eng_alloc(const cl_model *m, uint64_t seed, uint64_t run, void **state, char *err) {
  cl_red *r;
  cl_status st = cl_red_alloc(m, seed, run, &r, err);
  *state = r;
  return st;
}
static void eng_free(void *p) { cl_red_free(p); }
static void eng_advance(void *p, long long n) { cl_red_advance(p, n); }
static long long eng_steps(const void *p) { return ((const cl_red *)p)->steps; }
static void eng_order(const void *p, double *R, double *Q) { cl_red_order(p, R, Q); }
static size_t eng_size(const void *p) {
  (void)p;
  return sizeof(long long) + sizeof(double) * (CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX) + cl_rng_state_size();
}
static void eng_save(const void *p, void *buf) {
  const cl_red *r = p;
  unsigned char *b = buf;
  memcpy(b, &r->steps, sizeof(long long)), b += sizeof(long long);
  memcpy(b, r->Rt, sizeof r->Rt), b += sizeof r->Rt;
  memcpy(b, r->G, sizeof r->G), b += sizeof r->G;
  cl_rng_get_state(r->rng, b);
}
static void eng_load(void *p, const void *buf) {
  cl_red *r = p;
  const unsigned char *b = buf;
  memcpy(&r->steps, b, sizeof(long long)), b += sizeof(long long);
  memcpy(r->Rt, b, sizeof r->Rt), b += sizeof r->Rt;
  memcpy(r->G, b, sizeof r->G), b += sizeof r->G;
  cl_rng_set_state(r->rng, b);
}
const cl_engine cl_engine_reduced = {"reduced", eng_alloc, eng_free, eng_advance, eng_steps,
                                     eng_order, eng_size, eng_save, eng_load};
