/* The M = 1 engine (tanh, erf, sigmoid) against brute force over the
 * pre-activation sd (docs/hardening.md s.15): at R = 0 against
 * tests/sd_ref.c, with large s (Q = 1, s = sqrt(sd^2 - 1): views nearly
 * independent) and small s (s = 0.5, Q = sd^2 / 1.25), rho 0, 0.5, -0.5;
 * at R != 0 (rademacher:3, Q - R^2 = 1) against tests/kinkref.h's adaptive
 * quadrature (dR and dQ).  Errors relative to |ref| and to 1 + |ref|.
 * Build and run: bench/sdscan.sh [activation] */
#include <stdio.h>
#include <string.h>

#include "../tests/kinkref.h"
#include "../tests/sd_ref.h"

static int engine(const cl_model *m, double R, double Q, double *dR, double *dQ) {
  char err[CL_ERRLEN];
  cl_drift *d;
  if (cl_drift_alloc(m, NULL, &d, err)) return fprintf(stderr, "%s\n", err), 1;
  int st = cl_drift_eval(d, &R, &Q, dR, dQ, err);
  if (st) fprintf(stderr, "%s\n", err);
  cl_drift_free(d);
  return st;
}

int main(int argc, char **argv) {
  const char *acts[] = {"tanh", "erf", "sigmoid"};
  const double sds[] = {1.1, 2.2, 4.1, 6, 8.1, 10, 14, 20, 50, 100, 300, 1000};
  const double rhos[] = {0, 0.5, -0.5};
  const char *only = argc > 1 ? argv[1] : NULL;
  printf("%-8s %-6s %5s %6s %8s %15s %10s %10s\n", "act", "case", "rho", "sd", "R", "dQ ref", "rel err",
         "err/(1+|r|)");
  for (int a = 0; a < 3; a++) {
    if (only && strcmp(only, acts[a])) continue;
    for (int r = 0; r < 3; r++)
      for (int c = 0; c < 3; c++)
        for (size_t k = 0; k < sizeof sds / sizeof *sds; k++) {
          cl_model m;
          cl_model_default(&m);
          cl_act_parse(acts[a], &m.act, NULL);
          m.rho = rhos[r];
          const double sd = sds[k];
          double R = 0, Q = 1, dR, dQ, ref = 0, refR = 0;
          if (c == 0) m.s = sqrt(sd * sd - 1);
          else if (c == 1) m.s = 0.5, Q = sd * sd / 1.25;
          else { /* R != 0: Q = 1 + R^2, s = 0.5; sd^2 = 1.25 Q + 8 R^2 */
            m.s = 0.5;
            R = sqrt(fmax(sd * sd - 1.25, 0) / 9.25), Q = 1 + R * R;
          }
          if (engine(&m, R, Q, &dR, &dQ)) continue;
          if (c < 2) ref = sd_ref_dq(&m, Q);
          else if (kref_quad(&m, &R, Q, 1e-10, &refR, &ref)) fprintf(stderr, "kref: not converged\n");
          double e = fabs(dQ - ref), eR = fabs(dR - refR);
          printf("%-8s %-6s %5.1f %6.1f %8.3g %15.10g %10.2e %10.2e", acts[a],
                 c == 0 ? "s big" : c == 1 ? "s 0.5" : "R!=0", m.rho, sd, R, ref, e / fabs(ref),
                 e / (1 + fabs(ref)));
          if (c == 2) printf("  dR %.10g err %.2e", refR, eR / (1 + fabs(refR)));
          printf("\n");
          fflush(stdout);
        }
  }
  return 0;
}
