/* Deterministic scan of the M = 1 trapezoid at moderate pre-activation sd
 * (docs/kinks.md, "tanh, sigmoid, erf"): tanh, erf and sigmoid on
 * rademacher:1.7, B = 2, s = 2, rho = 0.95, sd of h from 0.5 to 5 in steps
 * of 0.05, cos = R / sqrt(Q) in {0, 0.5, 0.9}; and erf on uniform:2.2,
 * s = 1.64, rho = 0.29, Q = 1, R from 0 to 0.9 (the audit's state), against
 * the adaptive reference of tests/kinkref.h at relative accuracy 1e-12.
 * Prints, per activation, the worst error relative to 1 + |drift| over the
 * stated tolerance and where it is, and every state above 0.5 of it.
 * Build and run: bench/m1margin.sh [-v] [law B s rho tau] (needs `make all`
 * first; the arguments replace the first part's configuration, -v prints
 * every state with its pole distance and exponent). */
#include <stdio.h>
#include <string.h>

#include "../tests/kinkref.h"

static double err_of(const cl_model *m, const double *R, double Q, double *ref_flag) {
  double rR[CL_KMAX] = {0}, rQ = 0, eR[CL_KMAX], eQ;
  char err[CL_ERRLEN];
  *ref_flag = kref_quad(m, R, Q, 1e-12, rR, &rQ);
  cl_quad_opts o = {0};
  cl_drift *d;
  if (cl_drift_alloc(m, &o, &d, err) || cl_drift_eval(d, R, &Q, eR, &eQ, err)) {
    fprintf(stderr, "engine: %s\n", err);
    exit(1);
  }
  cl_drift_free(d);
  double e = fabs(eQ - rQ) / (1 + fabs(rQ));
  for (int j = 0; j < m->K; j++) e = fmax(e, fabs(eR[j] - rR[j]) / (1 + fabs(rR[j])));
  return e;
}

/* the smallest pole distance over the two directions, in the standardised
 * coordinate (src/drift.c, prepare_m1), and the trapezoid's error exponent
 * there with the default 40-point step */
static double exponent(const cl_model *m, double R, double Q, double pole, double *dk) {
  double A = fmax(Q - R * R, 0), s2 = m->s * m->s, a = A + s2 * Q, b = A + m->rho * s2 * Q;
  double c = sqrt(fmax(0.5 * (a + b), 0.5 * (a - b))), h = cbrt(16 * M_PI * 1.5 / 1600);
  *dk = pole / c;
  return 2 * M_PI * *dk / h - 0.5 * *dk * *dk;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  int verbose = argc > 1 && !strcmp(argv[1], "-v");
  if (verbose) argc--, argv++;
  /* optional: another configuration for the first part (law B s rho tau) */
  const char *law = argc > 1 ? argv[1] : "rademacher:1.7";
  int B = argc > 2 ? atoi(argv[2]) : 2;
  double s = argc > 3 ? atof(argv[3]) : 2, rho = argc > 4 ? atof(argv[4]) : 0.95, tau = argc > 5 ? atof(argv[5]) : -1;
  const double poles[3] = {M_PI / 2, 2, M_PI};
  const char *acts[3] = {"tanh", "erf", "sigmoid"};
  const double tol[3] = {1e-6, 1e-10, 1e-8};
  double overall = 0;
  for (int a = 0; a < 3; a++) {
    cl_model m;
    cl_model_default(&m);
    cl_act_parse(acts[a], &m.act, NULL);
    if (cl_law_parse(law, &m.c[0], NULL)) fprintf(stderr, "bad law %s\n", law), exit(2);
    m.B = B, m.s = s, m.rho = rho;
    if (tau > 0) m.tau = tau;
    double worst = 0, wsd = 0, wcos = 0;
    for (int i = 0; i <= 90; i++) {
      double sd = 0.5 + 0.05 * i;
      for (int c = 0; c < 3; c++) {
        double cosv = (double[]){0, 0.5, 0.9}[c];
        /* sd^2 = Q (1 + s^2) + (m2 - 1) R^2 with R = cos sqrt(Q) */
        double Q = sd * sd / (1 + m.s * m.s + (m.c[0].m2 - 1) * cosv * cosv), R = cosv * sqrt(Q), fl;
        double e = err_of(&m, &R, Q, &fl) / tol[a], dk, X = exponent(&m, R, Q, poles[a], &dk);
        if (verbose)
          printf("  %-7s sd %.2f cos %.1f dk %.3f X %.2f err/tol %.3g log(err e^X) %.2f\n", acts[a], sd, cosv, dk,
                 X, e, log(e * tol[a]) + X);
        if (e > 0.5) printf("  %-7s sd %.2f cos %.1f Q %.4f: err/tol %.3g%s\n", acts[a], sd, cosv, Q, e,
                            fl ? " (ref flagged)" : "");
        if (e > worst) worst = e, wsd = sd, wcos = cosv;
      }
    }
    printf("%-7s %s s %g rho %g B %d tau %g: worst err/tol %.3g (sd %.2f, cos %.1f)\n", acts[a], law, m.s,
           m.rho, m.B, m.tau, worst, wsd, wcos);
    overall = fmax(overall, worst);
  }
  {
    cl_model m;
    cl_model_default(&m);
    cl_act_parse("erf", &m.act, NULL);
    cl_law_parse("uniform:2.2", &m.c[0], NULL);
    m.s = 1.64, m.rho = 0.29;
    double worst = 0, wR = 0;
    for (int i = 0; i <= 9; i++) {
      double R = 0.1 * i, Q = 1, fl;
      double e = err_of(&m, &R, Q, &fl) / 1e-10;
      if (e > 0.5) printf("  erf     uniform:2.2 R %.1f: err/tol %.3g%s\n", R, e, fl ? " (ref flagged)" : "");
      if (e > worst) worst = e, wR = R;
    }
    printf("erf     uniform:2.2 s 1.64 rho 0.29 Q 1: worst err/tol %.3g (R %.1f)\n", worst, wR);
    overall = fmax(overall, worst);
  }
  printf("worst over the scan: %.3g of the stated tolerance\n", overall);
  return 0;
}
