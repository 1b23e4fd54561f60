/* bench/simstep.c - cost of one SGD step against the number of units M.
 *
 * For each batch size B given and M = 1, 2, 4, 8: the default model (tanh,
 * K = 1 rademacher:3, l2:0.5) with lambda = 1, g = square, R0 = 0.1 and
 * Q0 = I, at the given N.  Reports the time per step of cl_sim_advance and
 * its ratio to the M = 1 step of the same B.  Each figure is the median of
 * REPS repetitions, each long enough to last >= MIN_REP seconds; the
 * repetitions of the four M values alternate, so that frequency drift or a
 * noisy neighbour hits them alike.
 *
 * Usage: simstep N B [B ...]     (N may be written 1e4)
 * Output, one line per (B, M):
 *   N=<N> B=<B> M=<M> step_us=<us> ratio=<step / step(M = 1)>
 *
 *        simstep count N B M STEPS
 * builds the same model and runs STEPS steps, untimed, printing nothing:
 * for instruction counts under valgrind --tool=callgrind (the difference of
 * two counts, STEPS and 0, divided by STEPS is the cost of one step).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cldyn/model.h"
#include "cldyn/simulate.h"
#include "benchutil.h"

#define REPS 7
#define MIN_REP 0.04 /* seconds */
#define NM 4

static const int Ms[NM] = {1, 2, 4, 8};

static double time_steps(cl_sim *sim, long long n) {
  double t0 = bench_now();
  cl_sim_advance(sim, n);
  return bench_now() - t0;
}

static cl_sim *make(long long N, int B, int M) {
  char err[CL_ERRLEN];
  cl_model m;
  cl_sim *sim = NULL;
  cl_model_default(&m);
  m.N = N, m.B = B, m.M = M, m.lambda = 1;
  for (int i = 0; i < m.M; i++) {
    for (int j = 0; j < m.K; j++) m.R0[j * m.M + i] = 0.1;
    for (int l = 0; l < m.M; l++) m.Q0[i * m.M + l] = i == l;
  }
#ifdef CL_ALLOC_OUT /* this tree */
  if (cl_model_check(&m, 1, err) || cl_sim_alloc(&m, 1, 0, 0, &sim, err))
#else /* the reference commit: allocators returned the object */
  if (cl_model_check(&m, 1, err) || !(sim = cl_sim_alloc(&m, 1, 0, 0, err)))
#endif
    fprintf(stderr, "simstep: %s\n", err);
  return sim;
}

static int bench(long long N, int B) {
  cl_sim *sim[NM];
  long long ns[NM];
  double t[NM][REPS], med[NM];
  for (int k = 0; k < NM; k++) {
    if (!(sim[k] = make(N, B, Ms[k]))) return 1;
    /* warm up and calibrate: double the count until one repetition >= MIN_REP */
    ns[k] = 1;
    while (time_steps(sim[k], ns[k]) < MIN_REP) ns[k] *= 2;
  }
  for (int r = 0; r < REPS; r++)
    for (int k = 0; k < NM; k++) t[k][r] = time_steps(sim[k], ns[k]) / (double)ns[k];
  for (int k = 0; k < NM; k++) {
    qsort(t[k], REPS, sizeof(double), bench_cmp_double);
    med[k] = t[k][REPS / 2];
  }
  for (int k = 0; k < NM; k++) {
    printf("N=%lld B=%d M=%d step_us=%.2f ratio=%.3f\n", N, B, Ms[k], 1e6 * med[k],
           med[k] / med[0]);
    cl_sim_free(sim[k]);
  }
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 6 && !strcmp(argv[1], "count")) {
    cl_sim *sim = make((long long)strtod(argv[2], NULL), atoi(argv[3]), atoi(argv[4]));
    if (!sim) return 1;
    cl_sim_advance(sim, atoll(argv[5]));
    cl_sim_free(sim);
    return 0;
  }
  if (argc < 3) {
    fprintf(stderr, "usage: simstep N B [B ...]\n");
    return 2;
  }
  char *end;
  double x = strtod(argv[1], &end);
  if (*end || !(x >= 16 && x <= 1e8) || x != (double)(long long)x) {
    fprintf(stderr, "simstep: bad N '%s'\n", argv[1]);
    return 2;
  }
  for (int i = 2; i < argc; i++) {
    long b = strtol(argv[i], &end, 10);
    if (*end || b < 1 || b > 1024) {
      fprintf(stderr, "simstep: bad B '%s'\n", argv[i]);
      return 2;
    }
    if (bench((long long)x, (int)b)) return 1;
  }
  return 0;
}
