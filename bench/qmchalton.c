/* The M >= 2 engine's rules above 40 dimensions (src/drift_multi.c,
 * docs/multi.md s.3): randomised Halton (the engine's rule there), reverse
 * Halton and plain Monte Carlo (independent uniform points, the same
 * quantile maps and symmetry images) at the same points per rule, on the
 * whole-batch path (g = abs, B = 4, M = 4, K = 4: 48 dimensions), and
 * the old whole-batch Monte Carlo.
 *
 * Every rule is unbiased, so the spread of its drift over independent
 * draws of its randomisation (seeds 1..S) is its true RMS error, with no
 * reference needed; the bound of each draw is compared with that spread
 * and with a reference: plain Monte Carlo with 64 independent sets of
 * REFPTS points (its own bound printed).  Per state, rule and points per
 * rule n: rmse (the largest over the components of the spread), bnd (the
 * median over draws of the largest bound), miss (checks |d - ref| > bound +
 * ref bound, of S x 32), rmax (the largest |d - ref| / (bound + ref
 * bound)), and CPU s per evaluation (the point set is built at alloc).
 * Rule "mc" is the old whole-batch Monte Carlo (`--expect mc`) with 16 n
 * batches: its bnd is 4 standard errors (the largest).
 *
 * QMCHALTON_M=2: M = 2, K = 2 (uniform:2, laplace:2), 24 dimensions, where
 * the engine's own Sobol' rule is compared too ("sobol").
 *
 * Usage: [QMCHALTON_M=2] bench/qmchalton.sh SEEDS REFPTS n...
 *   e.g. bench/qmchalton.sh 16 32768 512 2048 8192 (docs/multi.md s.3) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cldyn/cldyn.h"
#include "src/drift_multi.h"

#define NOUT (4 * 4 + 4 * 4)

static double cpu(void) { return (double)clock() / CLOCKS_PER_SEC; }

static int cmpd(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* the drift and its bound by one rule, one draw; CPU s of the evaluation */
static int run(const cl_model *m, const double *R, const double *Q, int rule, uint64_t seed, int nrep, long n,
               double *d, double *eb, double *sec) {
  char err[CL_ERRLEN];
  cl_quad_opts o = {0};
  o.qmc_points = n;
  if (rule < 0) {
    /* the old whole-batch Monte Carlo (--expect mc) with the same batches
     * as the 16 rules' points; its standard error (the largest) as bound */
    cl_drift *dr = NULL;
    o.expect = CL_EXPECT_MC, o.mc_points = 16 * n, o.mc_seed = seed;
    if (cl_drift_alloc(m, &o, &dr, err)) return fprintf(stderr, "alloc: %s\n", err), 1;
    const double t0 = cpu();
    if (cl_drift_eval(dr, R, Q, d, d + m->K * m->M, err)) return fprintf(stderr, "eval: %s\n", err), 1;
    if (sec) *sec = cpu() - t0;
    for (int k = 0; k < NOUT; k++) eb[k] = 4 * cl_drift_stderr(dr);
    if (seed == 1000003ULL && n == 512) printf("# %s\n", cl_drift_method(dr));
    cl_drift_free(dr);
    return 0;
  }
  cl_multi *q = NULL;
  if (cl_multi_alloc_rule(m, &o, seed, nrep, rule, &q, err) || !q) return fprintf(stderr, "alloc: %s\n", err), 1;
  const double t0 = cpu();
  if (cl_multi_eval(q, R, Q, d, d + m->K * m->M, eb, err)) return fprintf(stderr, "eval: %s\n", err), 1;
  if (sec) *sec = cpu() - t0;
  if (seed == 1000003ULL) printf("# %s\n", cl_multi_method(q));
  cl_multi_free(q);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) return fprintf(stderr, "usage: %s SEEDS REFPTS n...\n", argv[0]), 2;
  const int S = atoi(argv[1]);
  const long refn = atol(argv[2]);
  /* QMCHALTON_M=2: M = 2, K = 2 (uniform:2, laplace:2), 24 dimensions,
   * where the engine's own Sobol' rule applies and is compared too */
  const int small = getenv("QMCHALTON_M") && atoi(getenv("QMCHALTON_M")) == 2;
  const int M = small ? 2 : 4, K = M;
  cl_model m;
  cl_model_default(&m);
  m.M = M, m.K = K, m.B = 4, m.g = CL_G_ABS, m.lambda = 1, m.act = CL_ACT_TANH, m.s = 0.5, m.rho = 0.3;
  const char *laws[4] = {"rademacher:3", "uniform:2", "laplace:2", "gauss:1"};
  char err[CL_ERRLEN];
  for (int j = 0; j < K; j++)
    if (cl_law_parse(laws[j + small], &m.c[j], err)) return fprintf(stderr, "%s\n", err), 2;
  /* three states, A = Q - R^T R diagonal (As) but for units 1 and 2 of the
   * third: "flat", R = 0.1 everywhere and A = diag(1, 0, 0, 0) (M = 4:
   * three units without a residual part) or diag(1, 0.5) (M = 2); units
   * partly aligned with features; units 1 and 2 nearly collinear, one unit
   * small (M = 4) */
  static const double Rs[3][16] = {
      {0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1},
      {1.2, 0.1, 0, 0.05, 0.1, 0.9, 0.05, 0, 0, 0.1, 0.6, 0.1, 0.05, 0, 0.1, 0.3},
      {0.8, 0.75, 0.1, 0, 0.3, 0.35, -0.2, 0.05, 0, 0.1, 0.2, 0.1, 0.1, 0, 0, 0.05}};
  static const double Rs2[3][4] = {{0.1, 0.1, 0.1, 0.1}, {1.2, 0.1, 0.1, 0.9}, {0.8, 0.75, 0.3, 0.35}};
  static const double As[3][4] = {{1, 0, 0, 0}, {0.3, 0.4, 0.5, 0.6}, {0.2, 0.2, 0.5, 0.05}};
  static const double As2[3][2] = {{1, 0.5}, {0.3, 0.4}, {0.2, 0.2}};
  const char *names[3] = {"flat", "aligned", "collinear"};
  const int rules[5] = {CL_MULTI_HALTON, CL_MULTI_RHALTON, CL_MULTI_IID, -1, CL_MULTI_SOBOL};
  const char *rname[5] = {"halton", "rhalton", "iid", "mc", "sobol"};
  printf("# M %d, K %d (%s ...), g abs, B 4, lambda 1, tanh, s 0.5, rho 0.3; %d draws; reference iid 64 x %ld\n", M, K,
         laws[small], S, refn);
  for (int s = 0; s < 3; s++) {
    double R[16], Q[16] = {0};
    memcpy(R, small ? Rs2[s] : Rs[s], sizeof(double) * (size_t)(K * M));
    for (int i = 0; i < M; i++)
      for (int l = 0; l < M; l++) {
        double a = 0;
        for (int j = 0; j < K; j++) a += R[j * M + i] * R[j * M + l];
        Q[i * M + l] = a + (i == l ? (small ? As2[s][i] : As[s][i]) : s == 2 && i + l == 1 ? 0.15 : 0);
      }
    double ref[NOUT], reb[NOUT], t;
    if (run(&m, R, Q, CL_MULTI_IID, 0x5eed5eedULL + (uint64_t)s, 64, refn, ref, reb, &t)) return 1;
    double rbmax = 0;
    const int nout = K * M + M * M;
    for (int k = 0; k < nout; k++) rbmax = fmax(rbmax, reb[k]);
    printf("## state %s: reference bound %.3g (%.1f CPU s)\n", names[s], rbmax, t);
    printf("%-8s %7s %10s %10s %6s %6s %8s\n", "rule", "n", "rmse", "bnd", "miss", "rmax", "CPU s");
    for (int ru = 0; ru < 4 + small; ru++)
      for (int a = 3; a < argc; a++) {
        const long n = atol(argv[a]);
        double *d = malloc(sizeof(double) * (size_t)S * NOUT), bm[256], eb[NOUT], tt = 0, rmax = 0;
        int miss = 0;
        for (int x = 0; x < S; x++) {
          if (run(&m, R, Q, rules[ru], 1000003ULL * (uint64_t)(x + 1), 0, n, d + (size_t)x * NOUT, eb, &t)) return 1;
          tt += t, bm[x] = 0;
          for (int k = 0; k < nout; k++) {
            const double e = fabs(d[(size_t)x * NOUT + k] - ref[k]);
            bm[x] = fmax(bm[x], eb[k]);
            miss += e > eb[k] + reb[k];
            rmax = fmax(rmax, e / (eb[k] + reb[k]));
          }
        }
        double rmse = 0;
        for (int k = 0; k < nout; k++) {
          double mu = 0, v = 0;
          for (int x = 0; x < S; x++) mu += d[(size_t)x * NOUT + k] / S;
          for (int x = 0; x < S; x++) v += (d[(size_t)x * NOUT + k] - mu) * (d[(size_t)x * NOUT + k] - mu);
          rmse = fmax(rmse, sqrt(v / (S - 1)));
        }
        qsort(bm, (size_t)S, sizeof(double), cmpd);
        printf("%-8s %7ld %10.3g %10.3g %6d %6.2f %8.3f\n", rname[ru], n, rmse, bm[S / 2], miss, rmax, tt / S);
        fflush(stdout);
        free(d);
      }
  }
  return 0;
}
