/* bench/step.c - cost of one SGD step of the default model (M = 1, B = 1,
 * the fused path) against the cost of the Gaussians that step draws.
 *
 * For each N given: the time per step of cl_sim_advance, the time of one
 * cl_rng_gauss_fill of 3 N normals (z | eps1 | eps', what a step draws), and
 * their ratio.  Each figure is the median of REPS repetitions, each long
 * enough to last >= MIN_REP seconds; step and fill repetitions alternate so
 * that frequency drift or a noisy neighbour hits both alike.
 *
 * Usage: step N [N ...]     (N may be written 1e4)
 * Output, one line per N:
 *   N=<N> step_s=<s> gauss_s=<s> ratio=<step/gauss> steps_per_rep=<n> reps=<r>
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cldyn/model.h"
#include "cldyn/rng.h"
#include "cldyn/simulate.h"
#include "benchutil.h"

#define REPS 7
#define MIN_REP 0.05 /* seconds */

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static volatile double sink;

static double time_steps(cl_sim *sim, long long n) {
  double t0 = bench_now();
  cl_sim_advance(sim, n);
  return bench_now() - t0;
}

static double time_fills(cl_rng *rng, double *buf, size_t len, long long n) {
  double t0 = bench_now();
  for (long long k = 0; k < n; k++) {
    cl_rng_gauss_fill(rng, buf, len);
    sink += buf[k % (long long)len];
  }
  return bench_now() - t0;
}

static int bench(long long N) {
  char err[CL_ERRLEN];
  cl_model m;
  cl_model_default(&m);
  m.N = N;
  if (cl_model_check(&m, 1, err)) {
    fprintf(stderr, "step: %s\n", err);
    return 1;
  }
  cl_sim *sim;
  cl_sim_alloc(&m, 1, 0, 0, &sim, err);
  cl_rng *rng;
  cl_rng_alloc(2, 0, &rng, NULL);
  size_t len = (size_t)(3 * N);
  double *buf = malloc(sizeof(double) * len);
  if (!sim || !rng || !buf) {
    fprintf(stderr, "step: allocation failed for N = %lld%s%s\n", N, sim ? "" : ": ",
            sim ? "" : err);
    return 1;
  }
  /* warm up and calibrate: double the count until one repetition >= MIN_REP */
  long long ns = 1, ng = 1;
  while (time_steps(sim, ns) < MIN_REP) ns *= 2;
  while (time_fills(rng, buf, len, ng) < MIN_REP) ng *= 2;
  double ts[REPS], tg[REPS];
  for (int r = 0; r < REPS; r++) {
    ts[r] = time_steps(sim, ns) / (double)ns;
    tg[r] = time_fills(rng, buf, len, ng) / (double)ng;
  }
  double R, Q;
  cl_sim_order(sim, &R, &Q);
  sink += R + Q;
  double s = median(ts, REPS), g = median(tg, REPS);
  printf("N=%lld step_s=%.6e gauss_s=%.6e ratio=%.3f steps_per_rep=%lld reps=%d\n", N, s, g,
         s / g, ns, REPS);
  fflush(stdout);
  cl_sim_free(sim);
  cl_rng_free(rng);
  free(buf);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: step N [N ...]\n");
    return 2;
  }
  for (int i = 1; i < argc; i++) {
    char *end;
    double x = strtod(argv[i], &end);
    if (*end || !(x >= 2 && x <= 1e9) || x != (double)(long long)x) {
      fprintf(stderr, "step: bad N '%s'\n", argv[i]);
      return 2;
    }
    if (bench((long long)x)) return 1;
  }
  return 0;
}
