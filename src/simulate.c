/* Online SGD of the microscopic model (docs/model.md s.4):
 *   x = U c + P_perp z,  x^(a) = x + s eps^(a),  h^(a) = W^T x^(a) / sqrt(N),
 *   W <- W - tau grad_W F - (tau / N) phi'(W),  t = steps / N.
 * The M = 1, B = 1 case runs a fused loop (three passes over N per step);
 * any other M and B runs the M-unit step (step_units): the units share each
 * sample's normals, all pre-activations come from one pass over the
 * coordinates and the update from another, on unit-major weights.  The
 * CBLAS reference step is kept for tests.  The step's algebra and where
 * the time goes: docs/theory.md s.1. */
#include "cldyn/simulate.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cldyn/data.h"
#include "cldyn/rng.h"

/* OpenBLAS threads would nest inside our per-run threads and could change
 * the summation order: we parallelise over runs and keep BLAS serial. */
extern void openblas_set_num_threads(int);

struct cl_sim {
  cl_model m;
  int path; /* CL_SIM_FUSED, CL_SIM_UNITS or CL_SIM_REFERENCE */
  int wt_fresh; /* Wt holds the current weights (set by an advance, cleared by a load) */
  long long steps;
  cl_rng *rng;
  double *U;   /* N x K */
  double *W;   /* N x M */
  double *Wt;  /* M x N, unit-major (the M-unit step's weights; == W when M = 1) */
  double *buf; /* 3 N B: the step's normals (layout: see step_units, cl_data_batch_draw) */
  double *raw; /* 3 N B: the normals as drawn (N x B blocks), M-unit path with B > 1 */
  double *work;
  double *coef; /* 3 M B step coefficients, M-unit path */
  double *grad; /* N x M, reference path only */
  double *c;    /* B x K */
};

void cl_sim_free(cl_sim *sim) {
  if (!sim) return;
  cl_rng_free(sim->rng);
  free(sim->U);
  if (sim->Wt != sim->W) free(sim->Wt);
  free(sim->W);
  free(sim->buf);
  free(sim->raw);
  free(sim->coef);
  free(sim->work);
  free(sim->grad);
  free(sim->c);
  free(sim);
}

cl_status cl_sim_alloc(const cl_model *m, uint64_t seed, uint64_t run, int path, cl_sim **out, char *err) {
  *out = NULL;
  cl_sim *sim = calloc(1, sizeof *sim);
  if (!sim) return cl_fail(err, CL_ENOMEM, "out of memory");
  sim->m = *m;
  sim->path = path == CL_SIM_REFERENCE || path == CL_SIM_UNITS ? path
              : m->M > 1 || m->B > 1                          ? CL_SIM_UNITS
                                                              : CL_SIM_FUSED;
  size_t N = (size_t)m->N, K = (size_t)m->K, M = (size_t)m->M, B = (size_t)m->B;
  cl_rng_alloc(seed, run, &sim->rng, NULL);
  sim->U = malloc(sizeof(double) * N * K);
  sim->W = malloc(sizeof(double) * N * M);
  sim->Wt = sim->path == CL_SIM_UNITS && M > 1 ? malloc(sizeof(double) * N * M) : sim->W;
  sim->buf = malloc(sizeof(double) * 3 * N * B);
  int raw = sim->path == CL_SIM_UNITS && B > 1;
  sim->raw = raw ? malloc(sizeof(double) * 3 * N * B) : NULL;
  sim->work = malloc(sizeof(double) * (4 * M * B + 2 * K * B + 1));
  sim->coef = malloc(sizeof(double) * 3 * M * B);
  sim->c = malloc(sizeof(double) * B * K);
  int ref = sim->path == CL_SIM_REFERENCE;
  sim->grad = ref ? malloc(sizeof(double) * N * M) : NULL;
  if ((ref && !sim->grad) || (raw && !sim->raw) || !sim->rng || !sim->U || !sim->W || !sim->Wt || !sim->buf ||
      !sim->work || !sim->coef || !sim->c) {
    cl_sim_free(sim);
    return cl_fail(err, CL_ENOMEM, "out of memory for N = %lld", m->N);
  }
  cl_status st = cl_data_features_draw(m, sim->rng, sim->U, err);
  if (st || (st = cl_data_weights_init(m, sim->U, sim->rng, sim->W, err))) {
    cl_sim_free(sim);
    return st;
  }
  *out = sim;
  return CL_OK;
}

long long cl_sim_steps(const cl_sim *sim) { return sim->steps; }
const double *cl_sim_weights(const cl_sim *sim) { return sim->W; }
const double *cl_sim_features(const cl_sim *sim) { return sim->U; }

void cl_sim_order(const cl_sim *sim, double *R, double *Q) {
  cl_data_order_params(&sim->m, sim->U, sim->W, R, Q);
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

/* The same two passes for two units at once: the data vectors are loaded
 * once for both.  Each unit's sums see exactly the operations of dot3, so a
 * unit's pre-activation does not depend on how the units are paired. */
CL_CLONES static void dot3x2(const double *restrict w, const double *restrict v,
                             const double *restrict a, const double *restrict b,
                             const double *restrict c, long long n, double out[6]) {
  v8d sa = {0}, sb = {0}, sc = {0}, ta = {0}, tb = {0}, tc = {0};
  long long i = 0;
  for (; i + 8 <= n; i += 8) {
    v8d wv, vv, av, bv, cv;
    LOAD8(wv, w + i), LOAD8(vv, v + i), LOAD8(av, a + i), LOAD8(bv, b + i), LOAD8(cv, c + i);
    sa += wv * av;
    sb += wv * bv;
    sc += wv * cv;
    ta += vv * av;
    tb += vv * bv;
    tc += vv * cv;
  }
  for (int k = 0; i < n; i++, k++) {
    sa[k] += w[i] * a[i], sb[k] += w[i] * b[i], sc[k] += w[i] * c[i];
    ta[k] += v[i] * a[i], tb[k] += v[i] * b[i], tc[k] += v[i] * c[i];
  }
  double lanes[6][8];
  memcpy(lanes[0], &sa, sizeof sa), memcpy(lanes[1], &sb, sizeof sb), memcpy(lanes[2], &sc, sizeof sc);
  memcpy(lanes[3], &ta, sizeof ta), memcpy(lanes[4], &tb, sizeof tb), memcpy(lanes[5], &tc, sizeof tc);
  for (int j = 0; j < 6; j++) {
    const double *x = lanes[j];
    out[j] = ((x[0] + x[1]) + (x[2] + x[3])) + ((x[4] + x[5]) + (x[6] + x[7]));
  }
}

/* sign(w) as doubles, lane by lane, exactly as (double)((w > 0) - (w < 0)) */
#define SIGN8(w) __builtin_convertvector(((w) < (v8d){0}) - ((w) > (v8d){0}), v8d)

/* update4 for two units w, v sharing the data vectors z, e, f; ca and cb are
 * their (az, a1, a2).  Elementwise in update4's order, so bit-identical to
 * two update4 calls (written with 8-wide vectors: GCC -O2 leaves update4's
 * loop scalar). */
CL_CLONES static void update4x2(double *restrict w, double *restrict v, const double *restrict z,
                                const double *restrict e, const double *restrict f, long long n,
                                double keep, double b1, const double ca[3], const double cb[3]) {
  const double wz = ca[0], w1 = ca[1], w2 = ca[2], vz = cb[0], v1 = cb[1], v2 = cb[2];
  const v8d kp = (v8d){0} + keep, bb = (v8d){0} + b1, wzv = (v8d){0} + wz, w1v = (v8d){0} + w1,
            w2v = (v8d){0} + w2, vzv = (v8d){0} + vz, v1v = (v8d){0} + v1, v2v = (v8d){0} + v2;
  long long i = 0;
  for (; i + 8 <= n; i += 8) {
    v8d wv, vv, zv, ev, fv;
    LOAD8(wv, w + i), LOAD8(vv, v + i), LOAD8(zv, z + i), LOAD8(ev, e + i), LOAD8(fv, f + i);
    v8d tw = kp * wv, tv = kp * vv;
    if (b1 != 0) tw = tw - bb * SIGN8(wv), tv = tv - bb * SIGN8(vv);
    tw = tw + wzv * zv + w1v * ev + w2v * fv;
    tv = tv + vzv * zv + v1v * ev + v2v * fv;
    memcpy(w + i, &tw, sizeof tw), memcpy(v + i, &tv, sizeof tv);
  }
  for (; i < n; i++) {
    double sw = (double)((w[i] > 0) - (w[i] < 0)), sv = (double)((v[i] > 0) - (v[i] < 0));
    double tw = keep * w[i], tv = keep * v[i];
    if (b1 != 0) tw = tw - b1 * sw, tv = tv - b1 * sv;
    w[i] = tw + wz * z[i] + w1 * e[i] + w2 * f[i];
    v[i] = tv + vz * z[i] + v1 * e[i] + v2 * f[i];
  }
}

/* w <- keep w - b1 sign(w) + sum_b (c_b0 z_b + c_b1 e_b + c_b2 f_b) for B
 * samples (z_b = z + b n, ...), 8 coordinates at a time; the sum is taken
 * in the order of update4 (which it equals for B = 1). */
CL_CLONES static void update_batch(double *restrict w, const double *restrict z,
                                   const double *restrict e, const double *restrict f, long long n,
                                   int B, double keep, double b1, const double *restrict c) {
  const v8d kp = (v8d){0} + keep, bb = (v8d){0} + b1;
  long long i = 0;
  for (; i + 8 <= n; i += 8) {
    v8d wv, t;
    LOAD8(wv, w + i);
    t = kp * wv;
    if (b1 != 0) t = t - bb * SIGN8(wv);
    for (int b = 0; b < B; b++) {
      const size_t o = (size_t)b * (size_t)n + (size_t)i;
      v8d zv, ev, fv;
      LOAD8(zv, z + o), LOAD8(ev, e + o), LOAD8(fv, f + o);
      t = t + c[3 * b] * zv + c[3 * b + 1] * ev + c[3 * b + 2] * fv;
    }
    memcpy(w + i, &t, sizeof t);
  }
  for (; i < n; i++) {
    double t = keep * w[i];
    if (b1 != 0) t = t - b1 * (double)((w[i] > 0) - (w[i] < 0));
    for (int b = 0; b < B; b++) {
      const size_t o = (size_t)b * (size_t)n + (size_t)i;
      t = t + c[3 * b] * z[o] + c[3 * b + 1] * e[o] + c[3 * b + 2] * f[o];
    }
    w[i] = t;
  }
}

/* x <- U c + P_perp x = x + U (c - U^T x) for one sample x (length N) */
static void project_sample(const cl_model *m, const double *U, const double *c, double *x) {
  const long long N = m->N;
  const int K = m->K;
  if (m->features == CL_FEAT_AXIS) {
    for (int j = 0; j < K; j++) x[j] = c[j];
    return;
  }
  for (int j = 0; j < K; j++) {
    double p = 0;
    for (long long n = 0; n < N; n++) p += U[n * K + j] * x[n];
    double a = c[j] - p;
    for (long long n = 0; n < N; n++) x[n] += a * U[n * K + j];
  }
}

double cl_sim_units_coef(const cl_model *m, const double *Wt, const double *X, const double *E1,
                     const double *Ep, double *A, double *work) {
  const long long N = m->N;
  const int M = m->M, B = m->B;
  const size_t sN = (size_t)N;
  double *H1 = work, *H2 = work + M * B, *D1 = work + 2 * M * B, *D2 = work + 3 * M * B;
  const double rho = m->rho, sr = sqrt(1 - rho * rho), isq = 1 / sqrt((double)N), s = m->s;
  /* one pass over the coordinates per sample and pair of units: w.x, w.e1, w.e'
   * (eps2 = rho eps1 + sqrt(1 - rho^2) eps' is never formed) */
  for (int b = 0; b < B; b++) {
    const double *x = X + (size_t)b * sN, *e = E1 + (size_t)b * sN, *f = Ep + (size_t)b * sN;
    for (int i = 0; i < M; i += 2) {
      double d[6];
      if (i + 1 < M) dot3x2(Wt + (size_t)i * sN, Wt + (size_t)(i + 1) * sN, x, e, f, N, d);
      else dot3(Wt + (size_t)i * sN, x, e, f, N, d);
      for (int u = 0; u < 2 && i + u < M; u++) {
        const double *du = d + 3 * u;
        H1[(i + u) * B + b] = (du[0] + s * du[1]) * isq;
        H2[(i + u) * B + b] = (du[0] + s * (rho * du[1] + sr * du[2])) * isq;
      }
    }
  }
  double F = cl_data_batch_loss(m, H1, H2, D1, D2);
  /* tau (G1 x1 + G2 x2) / sqrt N = az x + a1 eps1 + a2 eps', as in step_m1 */
  const double a = m->tau * isq;
  for (int k = 0; k < M * B; k++) {
    const double G1 = D1[k], G2 = D2[k];
    A[3 * k] = a * (G1 + G2), A[3 * k + 1] = a * s * (G1 + rho * G2), A[3 * k + 2] = a * s * sr * G2;
  }
  return F;
}

void cl_sim_units_update(const cl_model *m, double *Wt, const double *X, const double *E1,
                     const double *Ep, const double *A) {
  const long long N = m->N;
  const int M = m->M, B = m->B;
  const size_t sN = (size_t)N;
  const double tn = m->tau / (double)N, b1 = tn * m->reg.beta1, keep = 1 - tn * m->reg.beta2;
  if (B == 1) {
    for (int i = 0; i < M; i += 2) {
      if (i + 1 < M)
        update4x2(Wt + (size_t)i * sN, Wt + (size_t)(i + 1) * sN, X, E1, Ep, N, keep, b1,
                  A + 3 * i, A + 3 * (i + 1));
      else
        update4(Wt + (size_t)i * sN, X, E1, Ep, N, keep, b1, A[3 * i], A[3 * i + 1], A[3 * i + 2]);
    }
  } else {
    for (int i = 0; i < M; i++)
      update_batch(Wt + (size_t)i * sN, X, E1, Ep, N, B, keep, b1, A + (size_t)3 * i * B);
  }
}

/* dst (cols x rows) = transpose of src (rows x cols), both row-major */
static void transpose(const double *restrict src, long long rows, int cols, double *restrict dst) {
  /* blocks of 64 rows: the source block stays in L1 while it is read once
   * per destination row */
  for (long long n0 = 0; n0 < rows; n0 += 64) {
    const long long n1 = rows - n0 < 64 ? rows : n0 + 64;
    for (int i = 0; i < cols; i++) {
      const double *restrict s = src + i;
      double *restrict d = dst + (size_t)i * (size_t)rows;
      for (long long n = n0; n < n1; n++) d[n] = s[n * cols];
    }
  }
}

/* One step, any M and B: the M-unit step.  The batch is drawn as
 * cl_data_batch_draw draws it: c (B x K), then 3 N B normals z | eps1 | eps',
 * each N x B row-major; for B > 1 they are transposed to sample-major
 * (B x N) so that each sample's vectors are contiguous.  The clean samples
 * are projected, and cl_sim_units_coef / cl_sim_units_update make one pass each over
 * the coordinates.  The weights are the unit-major sim->Wt (M x N).  The
 * step consumes the reference step's numbers in the same roles, so the two
 * agree to rounding; with M = 1 and B = 1 it is step_m1 operation for
 * operation. */
static void step_units(cl_sim *sim) {
  const cl_model *m = &sim->m;
  const long long N = m->N;
  const int K = m->K, B = m->B;
  const size_t NB = (size_t)N * (size_t)B;
  for (int b = 0; b < B; b++)
    for (int j = 0; j < K; j++) sim->c[b * K + j] = cl_law_sample(&m->c[j], sim->rng);
  if (B == 1) {
    cl_rng_gauss_fill(sim->rng, sim->buf, 3 * NB);
  } else {
    cl_rng_gauss_fill(sim->rng, sim->raw, 3 * NB);
    for (int blk = 0; blk < 3; blk++) transpose(sim->raw + blk * NB, N, B, sim->buf + blk * NB);
  }
  double *X = sim->buf, *E1 = X + NB, *Ep = E1 + NB;
  for (int b = 0; b < B; b++) project_sample(m, sim->U, sim->c + b * K, X + (size_t)b * (size_t)N);
  cl_sim_units_coef(m, sim->Wt, X, E1, Ep, sim->coef, sim->work);
  cl_sim_units_update(m, sim->Wt, X, E1, Ep, sim->coef);
}

/* One step, M = 1 and B = 1, fused over N. */
static void step_m1(cl_sim *sim) {
  const cl_model *m = &sim->m;
  const long long N = m->N;
  const int K = m->K;
  double *w = sim->W, *z = sim->buf, *e1 = z + N, *e2 = e1 + N;
  /* same draws, in the same order, as cl_data_batch_draw */
  for (int j = 0; j < K; j++) sim->c[j] = cl_law_sample(&m->c[j], sim->rng);
  cl_rng_gauss_fill(sim->rng, sim->buf, (size_t)(3 * N));
  /* clean sample x = U c + P_perp z, written into z */
  project_sample(m, sim->U, sim->c, z);
  /* eps2 = rho eps1 + sqrt(1 - rho^2) eps' is never stored: w.eps2 and the
   * update are written with eps1 and eps' (e2 holds eps') */
  const double rho = m->rho, sr = sqrt(1 - rho * rho);
  double dots[3];
  dot3(w, z, e1, e2, N, dots);
  const double isq = 1 / sqrt((double)N), s = m->s;
  double h1 = (dots[0] + s * dots[1]) * isq, h2 = (dots[0] + s * (rho * dots[1] + sr * dots[2])) * isq;
  double G1, G2;
  cl_data_batch_loss(m, &h1, &h2, &G1, &G2);
  /* w <- w - (tau/N) phi'(w) + (tau/sqrt N) (G1 x1 + G2 x2)
   *    = keep w - b1 sign(w) + az z + a1 eps1 + a2 eps' */
  const double a = m->tau * isq, az = a * (G1 + G2), a1 = a * s * (G1 + rho * G2), a2 = a * s * sr * G2;
  const double tn = m->tau / (double)N, b1 = tn * m->reg.beta1, keep = 1 - tn * m->reg.beta2;
  update4(w, z, e1, e2, N, keep, b1, az, a1, a2);
}

/* The reference step, any M and B, with CBLAS for the N x B by B x M
 * products (the implementation before the M-unit step; kept for tests). */
static void step_reference(cl_sim *sim) {
  const cl_model *m = &sim->m;
  const size_t NB = (size_t)m->N * (size_t)m->B;
  const int N = (int)m->N, M = m->M;
  double *X = sim->buf, *X1 = X + NB, *X2 = X1 + NB;
  cl_data_batch_draw(m, sim->U, sim->rng, sim->c, X, X1, X2, sim->work);
  /* the tested gradient (cl_data_batch_grad), then W <- W - tau G - (tau/N) phi'(W) */
  cl_data_batch_grad(m, sim->W, X1, X2, sim->grad, sim->work);
  const double tn = m->tau / (double)N, tau = m->tau;
  double *W = sim->W;
  for (size_t k = 0; k < (size_t)N * (size_t)M; k++)
    W[k] -= tn * cl_reg_dphi(&m->reg, W[k]) + tau * sim->grad[k];
}

void cl_sim_advance(cl_sim *sim, long long steps) {
  if (steps <= 0) return;
  const long long N = sim->m.N;
  const int M = sim->m.M;
  switch (sim->path) {
    case CL_SIM_REFERENCE:
      for (long long k = 0; k < steps; k++) step_reference(sim);
      break;
    case CL_SIM_UNITS:
      /* sim->Wt is the unit-major copy of W (W itself when M = 1) */
      if (sim->Wt != sim->W && !sim->wt_fresh) transpose(sim->W, N, M, sim->Wt);
      for (long long k = 0; k < steps; k++) step_units(sim);
      if (sim->Wt != sim->W) transpose(sim->Wt, M, (int)N, sim->W);
      sim->wt_fresh = 1;
      break;
    default:
      for (long long k = 0; k < steps; k++) step_m1(sim);
  }
  sim->steps += steps;
}

/* The engine interface of engine.h: state = steps, W, U, the random stream. */
static cl_status eng_alloc(const cl_model *m, uint64_t seed, uint64_t run, void **state, char *err) {
  cl_sim *sim;
  cl_status st = cl_sim_alloc(m, seed, run, 0, &sim, err);
  *state = sim;
  return st;
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
  sim->wt_fresh = 0;
}
const cl_engine cl_engine_simulate = {"simulate", eng_alloc, eng_free, eng_advance, eng_steps,
                                      eng_order, eng_size, eng_save, eng_load};
