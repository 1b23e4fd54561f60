/* Online SGD of the microscopic model (docs/model.md s.4):
 *   x = U c + P_perp z,  x^(a) = x + s eps^(a),  h^(a) = W^T x^(a) / sqrt(N),
 *   W <- W - tau grad_W F - (tau / N) phi'(W),  t = steps / N.
 * The M = 1, B = 1 case runs a fused loop (three passes over N per step);
 * the general case uses CBLAS for the batch products. */
#include "cldyn/simulate.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cldyn/data.h"
#include "cldyn/rng.h"
#include "cldyn/runner.h"

/* OpenBLAS threads would nest inside our per-run threads and could change
 * the summation order: we parallelise over runs and keep BLAS serial. */
extern void openblas_set_num_threads(int);

struct cl_sim {
  cl_model m;
  int general;
  long long steps;
  cl_rng *rng;
  double *U;   /* N x K */
  double *W;   /* N x M */
  double *buf; /* 3 N B: Z | E1 | E2, each N x B */
  double *work;
  double *grad; /* N x M, general path only */
  double *c;    /* B x K */
};

void cl_sim_free(cl_sim *sim) {
  if (!sim) return;
  cl_rng_free(sim->rng);
  free(sim->U);
  free(sim->W);
  free(sim->buf);
  free(sim->work);
  free(sim->grad);
  free(sim->c);
  free(sim);
}

cl_sim *cl_sim_alloc(const cl_model *m, uint64_t seed, uint64_t run, int force_general,
                     char *err) {
  cl_sim *sim = calloc(1, sizeof *sim);
  if (!sim) return cl_fail(err, CL_ENOMEM, "simulate: out of memory"), NULL;
  sim->m = *m;
  sim->general = force_general || m->M > 1 || m->B > 1;
  size_t N = (size_t)m->N, K = (size_t)m->K, M = (size_t)m->M, B = (size_t)m->B;
  sim->rng = cl_rng_alloc(seed, run);
  sim->U = malloc(sizeof(double) * N * K);
  sim->W = malloc(sizeof(double) * N * M);
  sim->buf = malloc(sizeof(double) * 3 * N * B);
  sim->work = malloc(sizeof(double) * (4 * M * B + 2 * K * B + 1));
  sim->c = malloc(sizeof(double) * B * K);
  sim->grad = sim->general ? malloc(sizeof(double) * N * M) : NULL;
  if ((sim->general && !sim->grad) || !sim->rng || !sim->U || !sim->W || !sim->buf || !sim->work || !sim->c) {
    cl_sim_free(sim);
    return cl_fail(err, CL_ENOMEM, "simulate: out of memory for N = %lld", m->N), NULL;
  }
  if (cl_features_draw(m, sim->rng, sim->U, err) || cl_weights_init(m, sim->U, sim->rng, sim->W, err)) {
    cl_sim_free(sim);
    return NULL;
  }
  return sim;
}

long long cl_sim_steps(const cl_sim *sim) { return sim->steps; }
const double *cl_sim_weights(const cl_sim *sim) { return sim->W; }
const double *cl_sim_features(const cl_sim *sim) { return sim->U; }

void cl_sim_order(const cl_sim *sim, double *R, double *Q) {
  cl_order_params(&sim->m, sim->U, sim->W, R, Q);
}


/* The two passes of the M = 1, B = 1 step.  GCC vector extensions with a
 * fixed width of 8 doubles: every lane sees the same sequence of operations
 * whatever the instruction set (the vectors are split into AVX2 or SSE2
 * halves), so the clones below give bit-identical results; with
 * -ffp-contract=off no FMA changes the rounding either.  Measured at
 * N = 1e4 (bench/step.c): the step is dominated by drawing its 3N normals. */
typedef double v8d __attribute__((vector_size(64)));
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define CL_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CL_CLONES
#endif

#define LOAD8(v, p) memcpy(&(v), (p), sizeof(v))

/* out = (w.a, w.b, w.c), each with 8 partial sums reduced in a fixed order */
CL_CLONES static void dot3(const double *restrict w, const double *restrict a,
                           const double *restrict b, const double *restrict c, long long n,
                           double out[3]) {
  v8d sa = {0}, sb = {0}, sc = {0};
  long long i = 0;
  for (; i + 8 <= n; i += 8) {
    v8d wv, av, bv, cv;
    LOAD8(wv, w + i), LOAD8(av, a + i), LOAD8(bv, b + i), LOAD8(cv, c + i);
    sa += wv * av;
    sb += wv * bv;
    sc += wv * cv;
  }
  for (int k = 0; i < n; i++, k++) sa[k] += w[i] * a[i], sb[k] += w[i] * b[i], sc[k] += w[i] * c[i];
  double lanes[3][8];
  memcpy(lanes[0], &sa, sizeof sa), memcpy(lanes[1], &sb, sizeof sb), memcpy(lanes[2], &sc, sizeof sc);
  for (int j = 0; j < 3; j++) {
    const double *v = lanes[j];
    out[j] = ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
  }
}

/* w <- keep w - b1 sign(w) + az z + a1 e + a2 f */
CL_CLONES static void update4(double *restrict w, const double *restrict z,
                              const double *restrict e, const double *restrict f, long long n,
                              double keep, double b1, double az, double a1, double a2) {
  if (b1 == 0) {
    for (long long i = 0; i < n; i++) w[i] = keep * w[i] + az * z[i] + a1 * e[i] + a2 * f[i];
  } else {
    for (long long i = 0; i < n; i++) {
      double sg = (double)((w[i] > 0) - (w[i] < 0));
      w[i] = keep * w[i] - b1 * sg + az * z[i] + a1 * e[i] + a2 * f[i];
    }
  }
}

/* One step, M = 1 and B = 1, fused over N. */
static void step_m1(cl_sim *sim) {
  const cl_model *m = &sim->m;
  const long long N = m->N;
  const int K = m->K;
  double *w = sim->W, *z = sim->buf, *e1 = z + N, *e2 = e1 + N;
  /* same draws, in the same order, as cl_batch_draw */
  for (int j = 0; j < K; j++) sim->c[j] = cl_law_sample(&m->c[j], sim->rng);
  cl_rng_gauss_fill(sim->rng, sim->buf, (size_t)(3 * N));
  /* clean sample x = U c + P_perp z, written into z */
  if (m->features == CL_FEAT_AXIS) {
    for (int j = 0; j < K; j++) z[j] = sim->c[j];
  } else {
    const double *U = sim->U;
    for (int j = 0; j < K; j++) {
      double p = 0;
      for (long long n = 0; n < N; n++) p += U[n * K + j] * z[n];
      double a = sim->c[j] - p;
      for (long long n = 0; n < N; n++) z[n] += a * U[n * K + j];
    }
  }
  /* eps2 = rho eps1 + sqrt(1 - rho^2) eps' is never stored: w.eps2 and the
   * update are written with eps1 and eps' (e2 holds eps') */
  const double rho = m->rho, sr = sqrt(1 - rho * rho);
  double dots[3];
  dot3(w, z, e1, e2, N, dots);
  const double isq = 1 / sqrt((double)N), s = m->s;
  double h1 = (dots[0] + s * dots[1]) * isq, h2 = (dots[0] + s * (rho * dots[1] + sr * dots[2])) * isq;
  double G1, G2;
  cl_batch_loss(m, &h1, &h2, &G1, &G2);
  /* w <- w - (tau/N) phi'(w) + (tau/sqrt N) (G1 x1 + G2 x2)
   *    = keep w - b1 sign(w) + az z + a1 eps1 + a2 eps' */
  const double a = m->tau * isq, az = a * (G1 + G2), a1 = a * s * (G1 + rho * G2), a2 = a * s * sr * G2;
  const double tn = m->tau / (double)N, b1 = tn * m->reg.beta1, keep = 1 - tn * m->reg.beta2;
  update4(w, z, e1, e2, N, keep, b1, az, a1, a2);
}

/* One step, any M and B, with CBLAS for the N x B by B x M products. */
static void step_general(cl_sim *sim) {
  const cl_model *m = &sim->m;
  const size_t NB = (size_t)m->N * (size_t)m->B;
  const int N = (int)m->N, M = m->M;
  double *X = sim->buf, *X1 = X + NB, *X2 = X1 + NB;
  cl_batch_draw(m, sim->U, sim->rng, sim->c, X, X1, X2, sim->work);
  /* the tested gradient (cl_batch_grad), then W <- W - tau G - (tau/N) phi'(W) */
  cl_batch_grad(m, sim->W, X1, X2, sim->grad, sim->work);
  const double tn = m->tau / (double)N, tau = m->tau;
  double *W = sim->W;
  for (size_t k = 0; k < (size_t)N * (size_t)M; k++)
    W[k] -= tn * cl_reg_dphi(&m->reg, W[k]) + tau * sim->grad[k];
}

void cl_sim_advance(cl_sim *sim, long long steps) {
  for (long long k = 0; k < steps; k++) {
    if (sim->general) step_general(sim);
    else step_m1(sim);
  }
  sim->steps += steps;
}

/* The engine interface of runner.h: state = steps, W, U, the random stream. */
static void *eng_alloc(const cl_model *m, uint64_t seed, uint64_t run, char *err) {
  return cl_sim_alloc(m, seed, run, 0, err);
}
static void eng_free(void *p) { cl_sim_free(p); }
static void eng_advance(void *p, long long n) { cl_sim_advance(p, n); }
static long long eng_steps(const void *p) { return cl_sim_steps(p); }
static void eng_order(const void *p, double *R, double *Q) { cl_sim_order(p, R, Q); }
static size_t eng_size(const void *p) {
  const cl_sim *sim = p;
  return sizeof(long long) + sizeof(double) * (size_t)sim->m.N * (size_t)(sim->m.M + sim->m.K) +
         cl_rng_state_size();
}
static void eng_save(const void *p, void *buf) {
  const cl_sim *sim = p;
  size_t nw = (size_t)sim->m.N * (size_t)sim->m.M, nu = (size_t)sim->m.N * (size_t)sim->m.K;
  unsigned char *b = buf;
  memcpy(b, &sim->steps, sizeof(long long)), b += sizeof(long long);
  memcpy(b, sim->W, sizeof(double) * nw), b += sizeof(double) * nw;
  memcpy(b, sim->U, sizeof(double) * nu), b += sizeof(double) * nu;
  cl_rng_get_state(sim->rng, b);
}
static void eng_load(void *p, const void *buf) {
  cl_sim *sim = p;
  size_t nw = (size_t)sim->m.N * (size_t)sim->m.M, nu = (size_t)sim->m.N * (size_t)sim->m.K;
  const unsigned char *b = buf;
  memcpy(&sim->steps, b, sizeof(long long)), b += sizeof(long long);
  memcpy(sim->W, b, sizeof(double) * nw), b += sizeof(double) * nw;
  memcpy(sim->U, b, sizeof(double) * nu), b += sizeof(double) * nu;
  cl_rng_set_state(sim->rng, b);
}
const cl_engine cl_engine_simulate = {"simulate", eng_alloc, eng_free, eng_advance, eng_steps,
                                      eng_order, eng_size, eng_save, eng_load};

cl_status cl_simulate(const cl_model *m, const cl_schedule *s, int threads, cl_traj **out,
                      cl_progress_fn progress, void *ctx, char *err) {
  return cl_run_engine(&cl_engine_simulate, m, s, threads, NULL, out, progress, ctx, err);
}
