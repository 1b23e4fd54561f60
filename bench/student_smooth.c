/* tanh, erf, sigmoid with a student law at M = 1 (docs/kinks.md, "Second
 * audit"): random states, drawn with a fixed seed, of the default path
 * (--quad-cf auto: the characteristic functions, and where their grids are
 * refused the kink-split rule graded towards m = 0) against the adaptive
 * reference of tests/kinkref.h, relative to 1 + |drift| (the scale of the
 * stated tolerances: tanh 1e-6, erf 1e-10, sigmoid 1e-8).
 *
 * Draws: one student law (scale m2 in [0.25, 3], nu log-uniform on
 * [4.05, 200]; the parser refuses nu <= 4) and K - 1 = 0..3 other features
 * (rademacher, sparse, a skewed discrete law, gauss; at most 64 atoms, the
 * reference's limit with a continuous law), s log-uniform on [0.05, 2], rho
 * in [-0.95, 0.95] (a quarter of the cases at +-0.95), B in {1, 2, 8}, Q
 * log-uniform on [1e-4, 20], cos = |R| / sqrt(Q) within 1e-10 .. 1e-2 of 1
 * (half the cases), anywhere in [0, 1], or small.  Each case is run for the
 * three sigma.  Prints whether the characteristic-function grids take the
 * state ("cf"; erf, and sigmoid with a heavy student law, still go to the
 * kink-split rule there where cf_student_cut_bound in src/drift.c asks) or
 * are refused ("split": the kink-split rule), the error over the
 * tolerance, and the worst per sigma and column; -v every case.
 * STUDENT_SMOOTH_HARD=1 (session 12's audit, other draws): little smoothing,
 * s log-uniform on [1e-4, 0.05] (an eighth at 0), K = 1..5, the continuous
 * law laplace in a third of the cases, else student with nu log-uniform on
 * [4.5, 200], Q log-uniform on [0.5, 100], cos within 1e-10 .. 1e-2 of 1
 * (half), in [1e-4, 1e-2] (a quarter) or in [0.001, 0.2].
 * Build and run: bench/student_smooth.sh [-v] [cases [seed [first [atoms]]]]
 * (atoms: the largest product of the discrete laws' atoms drawn, 64 by
 * default; smaller makes the reference faster). */
#include <stdio.h>
#include <string.h>

#include "../tests/kinkref.h"
#include "src/drift_cf.h"

static uint64_t rs = 0x5eed5eed12345ULL;
static double U(void) {
  rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
  return (double)(rs >> 11) * 0x1.0p-53;
}
static int I(int n) { return (int)(U() * n); }

/* does the characteristic-function method take the state? */
static int cf_takes(const cl_model *m, const double *R, double Q) {
  double A = Q, Ag = 0, s2 = m->s * m->s;
  int skip[CL_KMAX];
  for (int j = 0; j < m->K; j++) {
    A -= R[j] * R[j];
    skip[j] = m->c[j].kind == CL_LAW_GAUSS;
    if (skip[j]) Ag += m->c[j].m2 * R[j] * R[j];
  }
  A = fmax(A, 0) + Ag;
  double cp = sqrt(0.5 * (2 * A + s2 * Q * (1 + m->rho))), cm = sqrt(0.5 * s2 * Q * (1 - m->rho));
  cl_cf *cf;
  char err[CL_ERRLEN];
  if (cl_cf_alloc(m, skip, CL_QUAD_GAUSS, &cf, err)) return -1;
  double a7[7], aR[CL_KMAX];
  int st = cl_cf_eval(cf, R, cp, cm, a7, aR, err);
  cl_cf_free(cf);
  return st == CL_OK;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  int verbose = argc > 1 && !strcmp(argv[1], "-v");
  if (verbose) argc--, argv++;
  int ncase = argc > 1 ? atoi(argv[1]) : 40;
  if (argc > 2 && strcmp(argv[2], "-")) rs = strtoull(argv[2], NULL, 10) * 2654435761ULL + 1;
  int first = argc > 3 ? atoi(argv[3]) : 0, maxat = argc > 4 ? atoi(argv[4]) : 64;
  const int hard = getenv("STUDENT_SMOOTH_HARD") != NULL;
  const double nu0 = hard ? 4.5 : 4.05;
  static const char *acts[3] = {"tanh", "erf", "sigmoid"};
  const double tol[3] = {1e-6, 1e-10, 1e-8};
  double worst[3][2] = {{0}};
  int count[3][2] = {{0}}, viol = 0, refused = 0;
  for (int n = 0; n < ncase; n++) {
    cl_model m;
    cl_model_default(&m);
    char spec[160], err[CL_ERRLEN] = "";
    m.K = 1 + I(hard ? 5 : 4);
    const int js = I(m.K), lap = hard && I(3) == 0;
    int natoms = 1;
    for (int j = 0; j < m.K; j++) {
      double m2 = 0.25 + 2.75 * U();
      if (j == js && lap) snprintf(spec, sizeof spec, "laplace:%.3f", m2);
      else if (j == js) snprintf(spec, sizeof spec, "student:%.3f:%.2f", m2, nu0 * exp(log(200 / nu0) * U()));
      else {
        int k = I(4);
        if (k == 0) snprintf(spec, sizeof spec, "rademacher:%.3f", m2);
        else if (k == 1) snprintf(spec, sizeof spec, "sparse:%.3f:%.3f", m2, 0.05 + 0.9 * U());
        else if (k == 2) snprintf(spec, sizeof spec, "discrete:-1@0.2,0.25@0.8");
        else snprintf(spec, sizeof spec, "gauss:%.3f", m2);
      }
      if (cl_law_parse(spec, &m.c[j], err)) return fprintf(stderr, "%s: %s\n", spec, err), 1;
      cl_law_kind k = m.c[j].kind;
      natoms *= k == CL_LAW_RADEMACHER ? 2 : k == CL_LAW_SPARSE ? 3 : k == CL_LAW_DISCRETE ? m.c[j].nvals : 1;
    }
    m.B = (int[]){1, 2, 8}[I(3)];
    m.s = 0.05 * exp(log(40) * U());
    if (hard) m.s = I(8) ? 1e-4 * exp(log(500) * U()) : 0;
    m.rho = U() < 0.25 ? (U() < 0.5 ? -0.95 : 0.95) : -0.95 + 1.9 * U();
    double Q = 1e-4 * exp(log(2e5) * U()), cosv;
    int sk = I(4);
    cosv = sk <= 1 ? 1 - exp(log(1e-10) + log(1e8) * U()) : sk == 2 ? U() : 0.001 + 0.2 * U();
    if (hard) Q = 0.5 * exp(log(200) * U()), cosv = sk == 2 ? 1e-4 * exp(log(100) * U()) : cosv;
    double R[CL_KMAX], nr = 0;
    for (int j = 0; j < m.K; j++) R[j] = U() - 0.5 + (j == js ? (U() < 0.5 ? 2 : -2) : 0), nr += R[j] * R[j];
    for (int j = 0; j < m.K; j++) R[j] *= cosv * sqrt(Q) / sqrt(nr);
    if (n < first || natoms > maxat) continue;
    for (int a = 0; a < 3; a++) {
      cl_act_parse(acts[a], &m.act, NULL);
      double rR[CL_KMAX], rQ, eR[CL_KMAX], eQ;
      int rf = kref_quad(&m, R, Q, 1e-12, rR, &rQ);
      if (rf < 0) continue;
      cl_drift *d;
      cl_quad_opts o = {.m1_cf = 0};
      int st = cl_drift_alloc(&m, &o, &d, err);
      if (!st) st = cl_drift_eval(d, R, &Q, eR, &eQ, err), cl_drift_free(d);
      char laws[512] = "";
      for (int j = 0; j < m.K; j++) {
        char b[96];
        cl_law_format(&m.c[j], b, sizeof b);
        strcat(laws, b), strcat(laws, " ");
      }
      if (st) {
        printf("case %3d %-7s refused: %s [%s]\n", n, acts[a], err, laws);
        refused++;
        continue;
      }
      const int p = cf_takes(&m, R, Q) ? 0 : 1;
      double e = fabs(eQ - rQ) / (1 + fabs(rQ));
      for (int j = 0; j < m.K; j++) e = fmax(e, fabs(eR[j] - rR[j]) / (1 + fabs(rR[j])));
      worst[a][p] = fmax(worst[a][p], e / tol[a]), count[a][p]++;
      int bad = e > tol[a];
      viol += bad;
      if (verbose || bad) {
        char rs_[256] = "";
        for (int j = 0; j < m.K; j++) snprintf(rs_ + strlen(rs_), sizeof rs_ - strlen(rs_), "%s%.17g", j ? "," : "", R[j]);
        printf("case %3d %-7s %-5s K=%d B=%d s=%.17g rho=%+.17g Q=%.17g cos=%.12g err=%.2g err/tol=%.2g%s%s [%s] R=%s\n",
               n, acts[a], p ? "split" : "cf", m.K, m.B, m.s, m.rho, Q, cosv, e, e / tol[a], bad ? " VIOLATION" : "",
               rf ? " (ref flagged)" : "", laws, rs_);
      }
    }
  }
  printf("\nworst error / stated tolerance (cases): characteristic functions | kink-split rule\n");
  for (int a = 0; a < 3; a++)
    printf("%-8s %.0e  %8.2g (%3d) | %8.2g (%3d)\n", acts[a], tol[a], worst[a][0], count[a][0], worst[a][1],
           count[a][1]);
  printf("violations: %d, refused: %d\n", viol, refused);
  return 0;
}
