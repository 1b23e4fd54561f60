/* `--expect quad` at M >= 3 away from R = 0 (docs/accurate.md s.8): the
 * default levels' drift and estimate against a much finer single rule
 * (REF outer and inner nodes, default 32), K = 1 (rademacher:3), a fixed
 * R and a non-diagonal Q scaled to 0.95 of the sd limit at this M (M = 3:
 * tanh 1.7, erf 2.5, sigmoid 6; M = 4: 1.5, 2, 5; 1 for linear and cubic).
 * Cases: five sigma, lambda 0 and 1, rho 0 and 0.5, s = 0.5 and 2.  Prints the largest |drift - reference|
 * over dR and dQ and the estimate.  Arguments: M (3 or 4), act|all, REF.
 * With act = cost: CPU seconds per cl_acc_eval (tanh, lambda = 1,
 * rho = 0.5, s = 0.5, sd 1, R = 0) of the default levels and of the two
 * levels of before (M = 3: 12 and 16 nodes; M = 4: 8 and 12), each
 * repeated for at least 2 s.  Build and run: bench/quadscan.sh */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../src/drift_acc.h"
#include "cldyn/act.h"

int main(int argc, char **argv) {
  const int M = argc > 1 ? atoi(argv[1]) : 3;
  const char *only = argc > 2 ? argv[2] : "all";
  const int nref = argc > 3 ? atoi(argv[3]) : 32;
  if (M < 3 || M > 4 || nref < 8) return fprintf(stderr, "usage: quadscan M(3|4) [act|all] [REF nodes]\n"), 2;
  const char *acts[] = {"tanh", "erf", "sigmoid", "linear", "cubic"};
  /* the sd limits of `expect quad` at this M (sd_limit in src/drift.c) */
  const double lim3[] = {1.7, 2.5, 6, 1, 1}, lim4[] = {1.5, 2, 5, 1, 1}, *lim = M == 3 ? lim3 : lim4;
  const double r0[4] = {0.15, 0.05, -0.1, 0.08}, off = 0.1;
  char err[CL_ERRLEN];
  if (!strcmp(only, "cost")) {
    cl_model m;
    cl_model_default(&m);
    m.M = M, m.lambda = 1, m.rho = 0.5, m.s = 0.5;
    const double q = 1 / (1 + m.s * m.s);
    double R[CL_MMAX] = {0}, Q[CL_MMAX * CL_MMAX] = {0}, d[CL_MMAX + CL_MMAX * CL_MMAX], eb[CL_MMAX + CL_MMAX * CL_MMAX];
    for (int i = 0; i < M; i++) Q[i * M + i] = q;
    const int n = M == 3 ? 12 : 8, nf = n + 4;
    const cl_acc_level c = {n, (n + 1) / 2, (n + 1) / 2, 6, -1}, f = {nf, (nf + 1) / 2, (nf + 1) / 2, 6.5, -1};
    for (int k = 0; k < 2; k++) {
      cl_acc *e;
      if (k ? cl_acc_alloc_levels(&m, &c, &f, &e, err) : cl_acc_alloc(&m, NULL, &e, err))
        return fprintf(stderr, "%s\n", err), 1;
      int reps = 0;
      const clock_t t0 = clock();
      do {
        if (cl_acc_eval(e, R, Q, d, d + M, eb, err)) return fprintf(stderr, "%s\n", err), 1;
        reps++;
      } while (clock() - t0 < 2 * CLOCKS_PER_SEC);
      printf("M = %d %s: %.4f CPU s per evaluation (%d), estimate %.3g\n", M, k ? "before (two levels)" : "default",
             (double)(clock() - t0) / CLOCKS_PER_SEC / reps, reps, eb[0]);
      cl_acc_free(e);
    }
    return 0;
  }
  printf("%-7s %-4s %-3s %-4s %6s %10s %10s %8s\n", "act", "lam", "rho", "s", "sd", "error", "estimate", "ratio");
  for (int a = 0; a < 5; a++) {
    if (strcmp(only, "all") && strcmp(only, acts[a])) continue;
    for (int lam = 0; lam < 2; lam++)
      for (int r = 0; r < 2; r++)
        for (int si = 0; si < 2; si++) {
          cl_model m;
          cl_model_default(&m);
          cl_act_parse(acts[a], &m.act, err);
          m.M = M, m.lambda = lam, m.rho = 0.5 * r, m.s = si ? 2 : 0.5;
          const double sd = 0.95 * lim[a], q = sd * sd / (1 + m.s * m.s);
          double R[CL_MMAX], Q[CL_MMAX * CL_MMAX], d[2][CL_MMAX + CL_MMAX * CL_MMAX], eb[CL_MMAX + CL_MMAX * CL_MMAX];
          for (int i = 0; i < M; i++) {
            R[i] = r0[i] * sqrt(q);
            for (int l = 0; l < M; l++) Q[i * M + l] = q * (i == l ? 1 : l == i + 1 || i == l + 1 ? off : 0);
          }
          cl_acc *e;
          const cl_acc_level ref = {nref, nref, 8, 6.5, -1}; /* inner nodes by pairs: cheap */
          if (cl_acc_alloc(&m, NULL, &e, err) || cl_acc_eval(e, R, Q, d[0], d[0] + M, eb, err))
            return fprintf(stderr, "%s\n", err), 1;
          cl_acc_free(e);
          if (cl_acc_alloc_levels(&m, &ref, &ref, &e, err) || cl_acc_eval_level(e, 0, R, Q, d[1], d[1] + M, err))
            return fprintf(stderr, "%s\n", err), 1;
          cl_acc_free(e);
          double er = 0;
          for (int k = 0; k < M + M * M; k++) er = fmax(er, fabs(d[0][k] - d[1][k]));
          printf("%-7s %-4d %-3g %-4g %6.3g %10.2e %10.2e %8.2g%s\n", acts[a], lam, m.rho, m.s, sd, er, eb[0],
                 er / eb[0], er > eb[0] ? "  ERROR > ESTIMATE" : "");
          fflush(stdout);
        }
  }
  return 0;
}
