/* bench/gridstudent.c - helper of bench/gridstudent: the M = 2 grid
 * engine's drift and estimate with a student law, per nu, against two
 * references (docs/grid.md s.6, "Student laws"):
 *   gridstudent ACT LAMBDA NU1,NU2,... [K2LAW]
 * K = 1 feature student:1:NU (or K = 2 with a second feature K2LAW, e.g.
 * rademacher:2), M = 2, 54 states: s 0.3, 0.6, 1.2; rho 0, 0.5; R_1 0.1,
 * 0.6, 1.5; Q_11 - R_1^2 0.05, 0.5, 2; unit 2 at R_2 = 0.3 (second feature
 * 0.2, -0.4), Q_22 = 0.7, Q_12 = 0.3 R_1.  References:
 *  - the quad rule (src/drift_acc.c, default levels: the student law by
 *    its scale-mixture rule, not by characteristic functions) with its own
 *    estimate; a state is "over" if |grid - quad| > grid estimate + quad
 *    estimate in any component of dR, dQ;
 *  - the grid with --grid-nodes 36 (a 1.5 times finer grid in every
 *    respect: steps, ranges, caps, inner rule), "over36" if |grid - grid36|
 *    exceeds the default grid's estimate;
 * and the gauss law of the same variance: nu max |d_nu - d_gauss| / max|d|
 * (O(1/nu): this column should level off).  Printed per nu: the states,
 * those over, the largest ratios |grid - ref| / estimate, the median
 * estimate, the gauss column and CPU seconds of the grid evaluations.
 * GS_VERBOSE=1 prints every state; GS_QN=N gives the quad rule N nodes
 * (--quad-nodes); GS_GAUSS=1 puts gauss:1 in place of the student law
 * (the references' agreement without a student law).  Reported only: not a test. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "bench/benchutil.h"
#include "src/drift_acc.h"
#include "src/drift_grid.h"

#define NOUT (2 * CL_KMAX + 4)

static int parse(const char *args, cl_model *m) {
  cl_config cfg;
  char err[CL_ERRLEN];
  if (cl_config_parse_string(&cfg, CL_CMD_ODE, args, err)) return fprintf(stderr, "%s: %s\n", args, err), 1;
  *m = cfg.model;
  return 0;
}

/* the grid with fine-level inner nodes nodes (0: default); est: its estimate */
static int grid(const cl_model *m, int nodes, double *out, double *est, double *cpu) {
  char err[CL_ERRLEN];
  cl_quad_opts o = {0};
  o.grid_nodes = nodes;
  cl_grid *g;
  if (cl_grid_alloc(m, &o, &g, err)) return fprintf(stderr, "grid: %s\n", err), 1;
  double eb[NOUT];
  const double t0 = bench_cpu_now();
  const int rc = cl_grid_eval(g, m->R0, m->Q0, out, out + 2 * m->K, eb, err);
  if (cpu) *cpu += bench_cpu_now() - t0;
  cl_grid_free(g);
  *est = eb[0];
  if (rc) fprintf(stderr, "grid: %s\n", err);
  return rc;
}

static int quad(const cl_model *m, double *out, double *est) {
  char err[CL_ERRLEN];
  cl_quad_opts o = {0};
  o.acc_nodes = getenv("GS_QN") ? atoi(getenv("GS_QN")) : 0;
  cl_acc *a;
  if (cl_acc_alloc(m, &o, &a, err)) return fprintf(stderr, "quad: %s\n", err), 1;
  double eb[NOUT];
  const int rc = cl_acc_eval(a, m->R0, m->Q0, out, out + 2 * m->K, eb, err);
  cl_acc_free(a);
  *est = 0;
  for (int k = 0; k < 2 * m->K + 4; k++) *est = fmax(*est, eb[k]);
  if (rc) fprintf(stderr, "quad: %s\n", err);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 4) return fprintf(stderr, "usage: gridstudent ACT LAMBDA NU1,NU2,... [K2LAW]\n"), 2;
  const char *act = argv[1], *law2 = argc > 4 ? argv[4] : NULL;
  const double lam = atof(argv[2]);
  const int verbose = getenv("GS_VERBOSE") != NULL;
  static const double ss[] = {0.3, 0.6, 1.2}, rhos[] = {0, 0.5}, R1s[] = {0.1, 0.6, 1.5}, A1s[] = {0.05, 0.5, 2};
  printf("# grid: %s lambda %g M 2 student:1:nu%s%s; references: quad rule, grid --grid-nodes 36\n", act, lam,
         law2 ? " + " : "", law2 ? law2 : "");
  printf("%6s %6s %5s %10s %7s %10s %10s %10s %9s\n", "nu", "states", "over", "max q-rat", "over36", "max 36-rat",
         "med est", "nu*dgauss", "grid CPU");
  char *nus = strdup(argv[3]);
  for (char *tok = strtok(nus, ","); tok; tok = strtok(NULL, ",")) {
    const double nu = atof(tok);
    int n = 0, over = 0, over36 = 0;
    double rq = 0, r36 = 0, dg = 0, cpu = 0, ests[54];
    for (int is = 0; is < 3; is++)
      for (int ir = 0; ir < 2; ir++)
        for (int i1 = 0; i1 < 3; i1++)
          for (int ia = 0; ia < 3; ia++) {
            const double s = ss[is], rho = rhos[ir], R1 = R1s[i1], Q11 = A1s[ia] + R1 * R1;
            char st[512], args[1024];
            if (law2)
              snprintf(st, sizeof st,
                       "--M 2 --act %s --lambda %g --s %g --rho %g --R0 %g,0.3;0.2,-0.4 --Q0 %.17g,%.17g;%.17g,0.7 "
                       "--c %s",
                       act, lam, s, rho, R1, Q11 + 0.04, 0.3 * R1, 0.3 * R1, law2);
            else
              snprintf(st, sizeof st, "--M 2 --act %s --lambda %g --s %g --rho %g --R0 %g,0.3 --Q0 %.17g,%.17g;%.17g,0.7",
                       act, lam, s, rho, R1, Q11, 0.3 * R1, 0.3 * R1);
            /* the student law first: a --c on the command line starts the list */
            if (getenv("GS_GAUSS")) snprintf(args, sizeof args, "--c gauss:1 %s", st);
            else snprintf(args, sizeof args, "--c student:1:%g %s", nu, st);
            cl_model m, mg;
            if (parse(args, &m)) return 1;
            snprintf(args, sizeof args, "--c gauss:1 %s", st);
            if (parse(args, &mg)) return 1;
            const int nout = 2 * m.K + 4;
            double d[NOUT], q[NOUT], f[NOUT], gs[NOUT], e, eq, ef, eg;
            if (grid(&m, 0, d, &e, &cpu) || quad(&m, q, &eq) || grid(&m, 36, f, &ef, NULL) || grid(&mg, 0, gs, &eg, NULL))
              return 1;
            double a = 0, b = 0, big = 0, dgs = 0;
            for (int k = 0; k < nout; k++) {
              a = fmax(a, fabs(d[k] - q[k]) / (e + eq));
              b = fmax(b, fabs(d[k] - f[k]) / e);
              big = fmax(big, fabs(gs[k])), dgs = fmax(dgs, fabs(d[k] - gs[k]));
              if (!isfinite(d[k])) a = b = INFINITY;
            }
            ests[n++] = e, over += a > 1, over36 += b > 1;
            rq = fmax(rq, a), r36 = fmax(r36, b), dg = fmax(dg, nu * dgs / big);
            if (verbose)
              printf("  s %g rho %g R1 %g A11 %g: est %.2g quad est %.2g, q-ratio %.3g, 36-ratio %.3g\n", s, rho, R1,
                     A1s[ia], e, eq, a, b);
          }
    qsort(ests, (size_t)n, sizeof *ests, bench_cmp_double);
    printf("%6g %6d %5d %10.3g %7d %10.3g %10.2g %10.3g %9.2f\n", nu, n, over, rq, over36, r36, ests[n / 2], dg, cpu);
    fflush(stdout);
  }
  free(nus);
  return 0;
}
