/* The M = 2 grid engine and `--expect quad` at large pre-activation sd
 * (docs/hardening.md s.15): dQ_11 at R = 0, Q = q I against the brute-force
 * quadrature of tests/sd_ref.c, with each engine's own estimate (the
 * largest |fine - coarse| over the drift vector), both relative to |dQ_11|.
 * The engines are called directly (the sd guard of src/drift.c is not in
 * the way).  Arguments: grid|quad, tanh|erf|sigmoid|all, a list sd,sd,...,
 * M (quad only; 2 to 6), --quad-nodes (quad only; 0: the default).  Twelve cases per sd: lambda 0 and 1, rho 0 and
 * 0.5, and three families: s large (Q = I, s = sqrt(sd^2 - 1)), s = 0.5
 * and s = 2 (q = sd^2 / (1 + s^2)).  Build and run: bench/gridsd.sh */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/drift_acc.h"
#include "../src/drift_grid.h"
#include "../tests/sd_ref.h"
#include "cldyn/act.h"

int main(int argc, char **argv) {
  const char *engine = argc > 1 ? argv[1] : "grid"; /* grid | quad */
  const char *only = argc > 2 ? argv[2] : NULL;      /* an activation */
  double sds[64] = {1.1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 17, 20, 25, 30, 40, 50};
  int nsd = 18;
  if (argc > 3) { /* a comma-separated list of sd */
    nsd = 0;
    for (char *p = argv[3], *e;; p = e + 1) {
      sds[nsd++] = strtod(p, &e);
      if (e == p || (*e && *e != ',') || nsd == 64) return fprintf(stderr, "bad sd list\n"), 2;
      if (!*e) break;
    }
  }
  const int M = argc > 4 ? atoi(argv[4]) : 2; /* quad: M = 2 to 6 */
  if (M < 2 || M > 6) return fprintf(stderr, "M: 2 to 6\n"), 2;
  cl_quad_opts qo = {0};
  qo.acc_nodes = argc > 5 ? atoi(argv[5]) : 0;
  const char *acts[] = {"tanh", "erf", "sigmoid"};
  const int quad = !strcmp(engine, "quad");
  char err[CL_ERRLEN];
  printf("%-7s %-4s %-3s %-6s %6s %7s %9s %9s %9s\n", "act", "lam", "rho", "family", "sd", "q", "error",
         "estimate", "ratio");
  for (int a = 0; a < 3; a++) {
    if (only && strcmp(only, "all") && strcmp(only, acts[a])) continue;
    for (int lam = 0; lam < 2; lam++)
      for (int r = 0; r < 2; r++)
        for (int fam = 0; fam < 3; fam++)
          for (int k = 0; k < nsd; k++) {
            const double sd = sds[k];
            cl_model m;
            cl_model_default(&m);
            cl_act_parse(acts[a], &m.act, err);
            m.M = M, m.lambda = lam, m.rho = r * 0.5;
            double q = 1;
            if (fam == 0 && sd <= 1) continue; /* s = 0 or imaginary: not a case */
            if (fam == 0) m.s = sqrt(sd * sd - 1);
            else m.s = fam == 1 ? 0.5 : 2, q = sd * sd / (1 + m.s * m.s);
            m.R0[0] = m.R0[1] = m.R0[2] = 0.1;
            for (int i = 0; i < M * M; i++) m.Q0[i] = i % (M + 1) ? 0 : q;
            double R[CL_MMAX] = {0}, Q[CL_MMAX * CL_MMAX], dR[CL_MMAX], dQ[CL_MMAX * CL_MMAX],
                   eb[CL_MMAX + CL_MMAX * CL_MMAX];
            memcpy(Q, m.Q0, sizeof Q);
            cl_status st;
            if (quad) {
              cl_acc *e;
              if ((st = cl_acc_alloc(&m, &qo, &e, err))) return fprintf(stderr, "%s\n", err), 1;
              st = cl_acc_eval(e, R, Q, dR, dQ, eb, err);
              cl_acc_free(e);
            } else {
              if (M != 2) return fprintf(stderr, "the grid is M = 2\n"), 2;
              cl_grid *g;
              if ((st = cl_grid_alloc(&m, NULL, &g, err))) return fprintf(stderr, "%s\n", err), 1;
              st = cl_grid_eval(g, R, Q, dR, dQ, eb, err);
              cl_grid_free(g);
            }
            const double ref = sd_ref_dq(&m, q);
            if (st) {
              printf("%-7s %-4d %-3g %-6s %6g %7.4g failed: %s\n", acts[a], lam, m.rho, fam == 2 ? "s=2" : fam ? "s=0.5" : "Q=I",
                     sd, q, err);
              continue;
            }
            const double e = fabs(dQ[0] - ref) / fabs(ref), est = eb[0] / fabs(ref);
            printf("%-7s %-4d %-3g %-6s %6g %7.4g %9.2e %9.2e %9.2g%s\n", acts[a], lam, m.rho,
                   fam == 2 ? "s=2" : fam ? "s=0.5" : "Q=I", sd, q, e, est, e / est, e > est ? "  ERROR > ESTIMATE" : "");
            fflush(stdout);
          }
  }
  return 0;
}
