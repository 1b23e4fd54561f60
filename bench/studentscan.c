/* bench/studentscan.c - helper of bench/studentscan: the Sobol' engine's
 * printed bound (src/drift_multi.c, default points) against a reference
 * drift with a student law, over a grid of states, for each nu of a list
 * (docs/multi.md s.3, "Refused: student laws").
 *   studentscan ACT LAMBDA M NU1,NU2,... [M2]
 * ACT relu or linear, K = 1 feature with law student:M2:NU (M2 default 1),
 * M = 2 (81 states: s 0.2, 0.5, 1; rho 0, 0.25, 0.5; R_1 0.2, 0.6, 1.5;
 * Q_11 - R_1^2 0.05, 0.5, 2; unit 2 at R_2 = 0.3, Q_22 = 0.5, Q_12 = 0.3 R_1)
 * or M = 3 (the 27 of them with s = 0.5, unit 3 at R_3 = -0.2, Q_33 = 0.6,
 * Q_13 = -0.2 R_1, Q_23 = -0.06).  It must be linked with a copy of
 * src/drift_multi.c whose student refusal is off (the script makes it).
 * References:
 *  - linear: the quad rule (src/drift_acc.c, default levels) with the
 *    student law replaced by the symmetric 4-atom law with the same moments
 *    up to degree 7 (the two-node Gauss rule in c^2 of the student law's
 *    moments 1, m2, m4, m6): the drift of linear sigma is a polynomial of
 *    degree 6 in c (V is the square of a cubic), so it depends on the law
 *    through those moments alone, and the quad rule is exact for the
 *    discrete law; nu > 6 needed.  The quad rule with the student law itself
 *    is printed alongside where it applies (largest relative difference,
 *    "quad-stud"; nan where lambda != 0, which it refuses);
 *  - relu (or SCAN_FINE=PTS for either): the same Sobol' engine with PTS
 *    points per rule (default 2^19); a state is then counted if
 *    |d - ref| > bound, and separately if > bound + the reference's bound.
 * Printed per nu: states beyond the bound (ratio > 1 in any component of
 * dR, dQ), the largest ratio |d - ref| / bound and where, and CPU seconds.
 * SCAN_VERBOSE=1 prints every state.  Reported only: not a test. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "bench/benchutil.h"
#include "src/drift_acc.h"
#include "src/drift_multi.h"
#include "tests/student_matched.h"

#define NOUT (CL_MMAX + CL_MMAX * CL_MMAX)

static int parse(const char *args, cl_model *m) {
  cl_config cfg;
  char err[CL_ERRLEN];
  if (cl_config_parse_string(&cfg, CL_CMD_ODE, args, err)) return fprintf(stderr, "%s: %s\n", args, err), 1;
  *m = cfg.model;
  return 0;
}

static int sobol(const cl_model *m, long pts, double *out, double *eb) {
  char err[CL_ERRLEN];
  cl_quad_opts o = {0};
  o.qmc_points = pts;
  cl_multi *q;
  if (cl_multi_alloc(m, &o, &q, err) || !q) return fprintf(stderr, "sobol: %s\n", err), 1;
  const int rc = cl_multi_eval(q, m->R0, m->Q0, out, out + m->M, eb, err);
  cl_multi_free(q);
  if (rc) fprintf(stderr, "sobol: %s\n", err);
  return rc;
}

static int quad(const cl_model *m, double *out, double *est) {
  char err[CL_ERRLEN];
  cl_quad_opts o = {0};
  cl_acc *a;
  if (cl_acc_alloc(m, &o, &a, err)) return fprintf(stderr, "quad: %s\n", err), 1;
  double eb[NOUT];
  const int rc = cl_acc_eval(a, m->R0, m->Q0, out, out + m->M, eb, err);
  cl_acc_free(a);
  *est = 0;
  for (int k = 0; k < m->M + m->M * m->M; k++) *est = fmax(*est, eb[k]);
  if (rc) fprintf(stderr, "quad: %s\n", err);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 5) return fprintf(stderr, "usage: studentscan relu|linear LAMBDA M NU1,NU2,... [M2]\n"), 2;
  const char *act = argv[1];
  const double lam = atof(argv[2]), m2 = argc > 5 ? atof(argv[5]) : 1;
  const int M = atoi(argv[3]), verbose = getenv("SCAN_VERBOSE") != NULL;
  const int linear = !strcmp(act, "linear");
  const long fine = getenv("SCAN_FINE") ? atol(getenv("SCAN_FINE")) : linear ? 0 : 1L << 19;
  if (M != 2 && M != 3) return fprintf(stderr, "M: 2 or 3\n"), 2;
  static const double ss[] = {0.2, 0.5, 1}, rhos[] = {0, 0.25, 0.5}, R1s[] = {0.2, 0.6, 1.5}, A1s[] = {0.05, 0.5, 2};
  const int nout = M + M * M;
  printf("# %s lambda %g M %d student:%g:nu; reference %s%s\n", act, lam, M, m2,
         linear ? "quad rule, moment-matched 4-atom law" : "", fine ? " Sobol' finer rule" : "");
  printf("%6s %7s %7s %7s %9s %9s %11s  %s\n", "nu", "states", "over", "over+", "max ratio", "med ratio",
         linear && !fine ? "quad-stud" : "ref bound", "state of the max (s rho R1 A11), CPU s");
  char *nus = strdup(argv[4]);
  for (char *tok = strtok(nus, ","); tok; tok = strtok(NULL, ",")) {
    const double nu = atof(tok), t0 = bench_cpu_now();
    int n = 0, over = 0, overp = 0;
    double rmax = 0, qsmax = 0, rbmax = 0, rat[81];
    char where[128] = "";
    for (int is = 0; is < 3; is++)
      for (int ir = 0; ir < 3; ir++)
        for (int i1 = 0; i1 < 3; i1++)
          for (int ia = 0; ia < 3; ia++) {
            const double s = ss[is], rho = rhos[ir], R1 = R1s[i1], Q11 = A1s[ia] + R1 * R1;
            if (M == 3 && is != 1) continue;
            char st[512], args[2048], law[512];
            if (M == 2)
              snprintf(st, sizeof st, "--M 2 --act %s --lambda %g --s %g --rho %g --R0 %g,0.3 --Q0 %.17g,%.17g;%.17g,0.5",
                       act, lam, s, rho, R1, Q11, 0.3 * R1, 0.3 * R1);
            else
              snprintf(st, sizeof st,
                       "--M 3 --act %s --lambda %g --s %g --rho %g --R0 %g,0.3,-0.2 "
                       "--Q0 %.17g,%.17g,%.17g;%.17g,0.5,-0.06;%.17g,-0.06,0.6",
                       act, lam, s, rho, R1, Q11, 0.3 * R1, -0.2 * R1, 0.3 * R1, -0.2 * R1);
            snprintf(args, sizeof args, "%s --c student:%g:%g", st, m2, nu);
            cl_model m;
            if (parse(args, &m)) return 1;
            double d[NOUT], eb[NOUT], ref[NOUT], rb[NOUT] = {0};
            if (sobol(&m, 0, d, eb)) return 1;
            if (fine) {
              if (sobol(&m, fine, ref, rb)) return 1;
            } else {
              cl_model md, ms = m;
              student_matched_law(m2, nu, law, sizeof law);
              snprintf(args, sizeof args, "%s --c %s", st, law);
              if (parse(args, &md)) return 1;
              double est, qs[NOUT], est2;
              if (quad(&md, ref, &est)) return 1;
              /* the quad rule refuses the student law itself where lambda != 0 */
              if (!cl_acc_applies(&ms, NULL, 0)) qsmax = NAN;
              else if (quad(&ms, qs, &est2)) return 1;
              else
                for (int k = 0; k < nout; k++) qsmax = fmax(qsmax, fabs(qs[k] - ref[k]) / fmax(1e-300, fabs(ref[k])));
            }
            double r = 0;
            int o = 0, op = 0;
            for (int k = 0; k < nout; k++) {
              const double e = fabs(d[k] - ref[k]);
              r = fmax(r, e / eb[k]);
              o |= e > eb[k], op |= e > eb[k] + rb[k];
              rbmax = fmax(rbmax, rb[k] / eb[k]);
            }
            rat[n++] = r, over += o, overp += op;
            if (r > rmax) rmax = r, snprintf(where, sizeof where, "%g %g %g %g", s, rho, R1, A1s[ia]);
            if (verbose) {
              printf("  s %g rho %g R1 %g A11 %g: ratio %.3g;", s, rho, R1, A1s[ia], r);
              for (int k = 0; k < nout; k++) printf(" %.6g(%.2g|%.2g)", d[k], d[k] - ref[k], eb[k]);
              printf("\n");
            }
          }
    qsort(rat, (size_t)n, sizeof *rat, bench_cmp_double);
    printf("%6g %7d %7d %7d %9.3g %9.3g %11.3g  %s, %.1f\n", nu, n, over, overp, rmax, rat[n / 2],
           linear && !fine ? qsmax : rbmax, where, bench_cpu_now() - t0);
    fflush(stdout);
  }
  free(nus);
  return 0;
}
