/* The M = 1 expectation engine against the brute-force references of
 * tests/kinkref.h, for every activation at a few states, and the relu
 * drift under refinement of --quad-gauss.  Build and run: bench/kinks.sh */
#include <stdio.h>
#include <string.h>

#include "../tests/kinkref.h"

typedef struct {
  const char *name;
  double R, Q, s, rho, beta;
} state;

static const state states[] = {
    {"default R=0.1", 0.1, 1, 0.5, 0, 2.5},  {"R small", 0.01, 1, 0.5, 0, 0.5},
    {"R large", 2.0, 5, 0.5, 0, 0.5},        {"Q-R^2 small", 0.9, 0.8101, 0.5, 0, 0.5},
    {"s = 0", 0.3, 1, 0, 0, 0.5},            {"rho = 1", 0.3, 1, 0.5, 1, 0.5},
    {"rho = -1", 0.3, 1, 0.5, -1, 0.5},      {"rho=-1, Q=R^2", 0.5, 0.25, 0.5, -1, 0.5},
    {"Q large", 1.0, 10, 0.5, 0, 0.5},       {"Q=30, s=1", 3.0, 30, 1, 0.5, 0.5},
};

static int engine(const cl_model *m, int ng, double R, double Q, double *dR, double *dQ) {
  cl_quad_opts o = {.n_gauss = ng};
  char err[CL_ERRLEN];
  cl_drift *d;
  cl_drift_alloc(m, &o, &d, err);
  if (!d) return fprintf(stderr, "%s\n", err), 1;
  int st = cl_drift_eval(d, &R, &Q, dR, dQ, err);
  cl_drift_free(d);
  return st;
}

int main(int argc, char **argv) {
  const char *acts[] = {"linear", "tanh", "erf", "relu", "sigmoid", "cubic"};
  const char *only = argc > 1 ? argv[1] : NULL;
  printf("%-8s %-15s %14s %14s %10s %10s %10s %10s\n", "act", "state", "dR ref", "dQ ref", "err dR",
         "err dQ", "dR(80)", "dQ(80)");
  for (int a = 0; a < 6; a++) {
    if (only && strcmp(only, acts[a])) continue;
    for (size_t k = 0; k < sizeof states / sizeof states[0]; k++) {
      cl_model m;
      cl_model_default(&m);
      cl_act_parse(acts[a], &m.act, NULL);
      m.s = states[k].s, m.rho = states[k].rho, m.reg.beta2 = states[k].beta;
      double R = states[k].R, Q = states[k].Q, rR, rQ, eR, eQ, fR, fQ;
      int f = kref_quad(&m, &R, Q, 1e-12, &rR, &rQ);
      if (engine(&m, 0, R, Q, &eR, &eQ) || engine(&m, 80, R, Q, &fR, &fQ)) return 1;
      printf("%-8s %-15s %14.10f %14.10f %10.2e %10.2e %10.2e %10.2e%s\n", acts[a], states[k].name,
             rR, rQ, fabs(eR - rR), fabs(eQ - rQ), fabs(fR - rR), fabs(fQ - rQ),
             f ? " (ref: GSL flagged)" : "");
    }
  }
  /* relu at the default state: refinement and the Monte Carlo check */
  cl_model m;
  cl_model_default(&m);
  cl_act_parse("relu", &m.act, NULL);
  m.reg.beta2 = 2.5;
  double R = 0.1, Q = 1, rR, rQ, eR, eQ, sR, sQ;
  kref_quad(&m, &R, Q, 1e-12, &rR, &rQ);
  printf("\nrelu, R = 0.1, Q = 1, l2:2.5: reference dR %.10f dQ %.10f\n", rR, rQ);
  for (int ng = 10; ng <= 160; ng *= 2) {
    engine(&m, ng, R, Q, &eR, &eQ);
    printf("  --quad-gauss %3d: dR %.10f (err %.2e)  dQ %.10f (err %.2e)\n", ng, eR, eR - rR, eQ,
           eQ - rQ);
  }
  if (!only || !strcmp(only, "relu")) {
    long n = 20000000;
    kref_mc(&m, &R, Q, n, 7, &eR, &eQ, &sR, &sQ);
    printf("  Monte Carlo, %ld samples: dR %.6f +- %.6f (z = %.2f), dQ %.6f +- %.6f (z = %.2f)\n", n,
           eR, sR, (eR - rR) / sR, eQ, sQ, (eQ - rQ) / sQ);
  }
  return 0;
}
