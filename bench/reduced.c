/* bench/reduced: per-step cost of the exact reduced chain against N, and
 * against the full simulation at N = 1e4 (same model, same process).
 * Prints medians of repetitions and the ratios the reduced-chain issue
 * targets: step(1e6) / step(1e3) <= 1.5 and simulate / reduced >= 100. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cldyn/cldyn.h"
#include "benchutil.h"

/* median seconds per step over 7 repetitions of `steps` steps */
static double per_step(cl_model *m, int reduced, long long steps) {
  double t[7];
  for (int r = 0; r < 7; r++) {
    cl_red *hr = NULL;
    cl_sim *hs = NULL;
    if (reduced) cl_red_alloc(m, 1, (uint64_t)r, &hr, NULL);
    else cl_sim_alloc(m, 1, (uint64_t)r, 0, &hs, NULL);
    void *h = reduced ? (void *)hr : (void *)hs;
    double t0 = bench_now();
    if (reduced) cl_red_advance(h, steps);
    else cl_sim_advance(h, steps);
    t[r] = (bench_now() - t0) / (double)steps;
    if (reduced) cl_red_free(h);
    else cl_sim_free(h);
  }
  qsort(t, 7, sizeof(double), bench_cmp_double);
  return t[3];
}

int main(void) {
  cl_model m;
  cl_model_default(&m);
  double r3, r6, r4, s4;
  m.N = 1000;
  per_step(&m, 1, 200000); /* warm-up */
  r3 = per_step(&m, 1, 200000);
  m.N = 1000000;
  r6 = per_step(&m, 1, 200000);
  m.N = 10000;
  r4 = per_step(&m, 1, 200000);
  s4 = per_step(&m, 0, 2000);
  printf("reduced chain, default model (M = 1, B = 1), seconds per step (median of 7):\n");
  printf("  N = 1e3: %.3e   N = 1e4: %.3e   N = 1e6: %.3e\n", r3, r4, r6);
  printf("  step(1e6) / step(1e3) = %.3f   (target <= 1.5: %s)\n", r6 / r3, r6 / r3 <= 1.5 ? "PASS" : "FAIL");
  printf("simulate at N = 1e4: %.3e s per step; simulate / reduced = %.0fx   (target >= 100: %s)\n", s4,
         s4 / r4, s4 / r4 >= 100 ? "PASS" : "FAIL");
  /* M = 2, B = 3 for information */
  m.M = 2, m.B = 3, m.lambda = 1, m.R0[0] = 0.1, m.R0[1] = 0.05, m.Q0[0] = m.Q0[3] = 1, m.Q0[1] = m.Q0[2] = 0;
  m.N = 1000;
  double a = per_step(&m, 1, 100000);
  m.N = 1000000;
  double b = per_step(&m, 1, 100000);
  printf("reduced, M = 2, B = 3, lambda = 1: N = 1e3 %.3e, N = 1e6 %.3e s per step (ratio %.3f)\n", a, b, b / a);
  return 0;
}
