/* Audit of relu at M = 1 on random states (session 11): the default engine's
 * drift against tests/kinkref.h, per path - the kink-split rule where the
 * characteristic functions refuse their grids (docs/kinks.md, "Where the
 * characteristic functions give up"), and the characteristic functions
 * elsewhere; both stated at 1e-10 relative to 1 + |drift|.
 *
 * Draws (xorshift, seed on the command line): K = 1..6, at most one
 * continuous law (uniform, laplace, student nu log-uniform on [4.05, 200])
 * with discrete laws (rademacher, sparse, skewed discrete, at most 64
 * atoms in all: the reference's limit) and gauss laws; |R| log-uniform on
 * [0.05, 5]; 3 in 4 draws aim at the kink-split rule (Q = |R|^2 (1 + eps),
 * eps 0 or log-uniform on [1e-9, 1e-2]; s 0 or log-uniform on [1e-4, 0.1];
 * rho -1, -1 + 1e-6..1e-2 or uniform), the others any cos in [0.001, 1)
 * and s in [0.05, 2] (mostly the characteristic functions).  B, tau, l2
 * drawn too.  The reference is kref_quad at relative accuracy 1e-10; where
 * the engine is beyond 1e-10 of it, it is recomputed at 1e-12 and that one
 * judges.  Every state beyond is printed (VIOLATION).
 * Build and run: bench/audit_ks.sh [-v] [cases [seed [first [stride]]]]
 * (first/stride: cases first, first + stride, ... to split a run over
 * processes; the draws are the same). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../tests/kinkref.h"
#include "src/drift_cf.h"

static uint64_t rs = 0x9e3779b97f4a7c15ULL;
static double U(void) {
  rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
  return (double)(rs >> 11) * 0x1.0p-53;
}
static int I(int n) { return (int)(U() * n); }
static double logu(double a, double b) { return exp(log(a) + (log(b) - log(a)) * U()); }

static int natoms(const cl_law *l) {
  return l->kind == CL_LAW_RADEMACHER ? 2 : l->kind == CL_LAW_SPARSE ? 3 : l->kind == CL_LAW_DISCRETE ? l->nvals : 1;
}

static double err_of(int K, const double *eR, double eQ, const double *rR, double rQ) {
  double e = fabs(eQ - rQ) / (1 + fabs(rQ));
  for (int j = 0; j < K; j++) e = fmax(e, fabs(eR[j] - rR[j]) / (1 + fabs(rR[j])));
  return e;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  int verbose = argc > 1 && !strcmp(argv[1], "-v");
  if (verbose) argc--, argv++;
  const int ncase = argc > 1 ? atoi(argv[1]) : 40;
  if (argc > 2) rs = strtoull(argv[2], NULL, 10) * 2654435761ULL + 12345;
  const int first = argc > 3 ? atoi(argv[3]) : 0, stride = argc > 4 ? atoi(argv[4]) : 1;
  double worst[2] = {0}, worst_flag[2] = {0};
  int cnt[2] = {0}, viol = 0, nref = 0, nout = 0;
  for (int n = 0; n < ncase; n++) {
    cl_model m;
    cl_model_default(&m);
    m.act = CL_ACT_RELU;
    m.K = 1 + I(6);
    m.B = (int[]){1, 2, 8}[I(3)];
    m.tau = 0.1 + 0.9 * U();
    m.reg.kind = CL_REG_L2;
    m.reg.beta2 = (double[]){0, 0.5, 2.5}[I(3)];
    const int aim = U() < 0.75;
    char laws[6][128];
    int cont = U() < 0.85 ? I(m.K) : -1, na = 1;
    for (int j = 0; j < m.K; j++) {
      const double m2 = logu(0.1, 4);
      if (j == cont) {
        int k = I(3);
        if (k == 0) snprintf(laws[j], sizeof laws[j], "uniform:%.4f", m2);
        else if (k == 1) snprintf(laws[j], sizeof laws[j], "laplace:%.4f", m2);
        else snprintf(laws[j], sizeof laws[j], "student:%.4f:%.3f", m2, logu(4.05, 200));
      } else {
        int k = I(4);
        if (k == 0) snprintf(laws[j], sizeof laws[j], "rademacher:%.4f", m2);
        else if (k == 1) snprintf(laws[j], sizeof laws[j], "sparse:%.4f:%.3f", m2, 0.05 + 0.9 * U());
        else if (k == 2) { /* skewed, zero mean: v1 p + v2 (1 - p) = 0 */
          const double p = round(1e4 * (0.05 + 0.4 * U())) / 1e4, v1 = -round(1e4 * (0.2 + 2 * U())) / 1e4,
                       v2 = -v1 * p / (1 - p);
          snprintf(laws[j], sizeof laws[j], "discrete:%.4f@%.4f,%.17g@%.4f", v1, p, v2, 1 - p);
        } else
          snprintf(laws[j], sizeof laws[j], "gauss:%.4f", m2);
      }
      char err[CL_ERRLEN];
      if (cl_law_parse(laws[j], &m.c[j], err)) return fprintf(stderr, "%s: %s\n", laws[j], err), 1;
      if (na * natoms(&m.c[j]) > 64) { /* the reference's limit with a continuous law */
        snprintf(laws[j], sizeof laws[j], "gauss:%.4f", m2);
        cl_law_parse(laws[j], &m.c[j], NULL);
      }
      na *= natoms(&m.c[j]);
    }
    double R[CL_KMAX], nr = 0, Q;
    for (int j = 0; j < m.K; j++) R[j] = U() - 0.5, nr += R[j] * R[j];
    const double Rn = logu(0.05, 5);
    for (int j = 0; j < m.K; j++) R[j] *= Rn / sqrt(nr);
    double eps;
    if (aim) {
      eps = U() < 0.3 ? 0 : logu(1e-9, 1e-2);
      m.s = U() < 0.3 ? 0 : logu(1e-4, 0.1);
      const int rk = I(3);
      m.rho = rk == 0 ? -1 : rk == 1 ? -1 + logu(1e-6, 1e-2) : -1 + 2 * U();
      Q = Rn * Rn * (1 + eps);
    } else {
      const double cosv = U() < 0.5 ? 0.001 + 0.2 * U() : U();
      Q = Rn * Rn / (cosv * cosv), eps = Q / (Rn * Rn) - 1;
      m.s = 0.05 + 1.95 * U();
      m.rho = -0.95 + 1.9 * U();
    }
    if (n < first || (n - first) % stride) continue;
    /* which path: the characteristic functions refuse (relukink.c's test) */
    int skip[CL_KMAX];
    double Ag = 0;
    for (int j = 0; j < m.K; j++) {
      skip[j] = m.c[j].kind == CL_LAW_GAUSS;
      if (skip[j]) Ag += m.c[j].m2 * R[j] * R[j];
    }
    const double A = Q - Rn * Rn + Ag;
    const double cp = sqrt(fmax(A + 0.5 * m.s * m.s * Q * (1 + m.rho), 0)),
                 cm = sqrt(fmax(0.5 * m.s * m.s * Q * (1 - m.rho), 0));
    char err[CL_ERRLEN];
    cl_cf *cfp;
    if (cl_cf_alloc(&m, skip, 40, &cfp, err)) return fprintf(stderr, "%s\n", err), 1;
    double acc[7], aR[CL_KMAX];
    const int ks = cl_cf_eval(cfp, R, cp, cm, acc, aR, err) == CL_EINVAL;
    cl_cf_free(cfp);
    double eR[CL_KMAX], eQ;
    cl_drift *d;
    clock_t t0 = clock();
    int est = cl_drift_alloc(&m, NULL, &d, err);
    if (!est) est = cl_drift_eval(d, R, &Q, eR, &eQ, err), cl_drift_free(d);
    const double ecpu = (double)(clock() - t0) / CLOCKS_PER_SEC;
    char lawstr[800] = "";
    for (int j = 0; j < m.K; j++) strcat(lawstr, j ? " " : ""), strcat(lawstr, laws[j]);
    if (est) {
      printf("case %3d %s: engine refused: %s [%s]\n", n, ks ? "ks" : "cf", err, lawstr);
      nref++;
      continue;
    }
    double rR[CL_KMAX], rQ;
    t0 = clock();
    int rf = kref_quad(&m, R, Q, 1e-10, rR, &rQ);
    if (rf < 0) {
      nout++;
      continue;
    }
    double e = err_of(m.K, eR, eQ, rR, rQ), e10 = e;
    if (e > 1e-10 || rf) { /* the finer reference judges */
      rf = kref_quad(&m, R, Q, 1e-12, rR, &rQ);
      e = err_of(m.K, eR, eQ, rR, rQ);
    }
    const double rcpu = (double)(clock() - t0) / CLOCKS_PER_SEC;
    double *w = rf ? &worst_flag[ks] : &worst[ks];
    *w = fmax(*w, e);
    cnt[ks]++;
    const int bad = e > 1e-10;
    viol += bad;
    if (verbose || bad)
      printf("case %3d %s K=%d B=%d s=%.4g rho=%.8g tau=%.3f l2=%.1f |R|=%.4g eps=%.3g cp=%.3g cm=%.3g R=[", n,
             ks ? "ks" : "cf", m.K, m.B, m.s, m.rho, m.tau, m.reg.beta2, Rn, eps, cp, cm);
    if (verbose || bad) {
      for (int j = 0; j < m.K; j++) printf("%s%.17g", j ? "," : "", R[j]);
      printf("] Q=%.17g err=%.3g (at 1e-10: %.3g)%s%s cpu %.2f/%.1f [%s]\n", Q, e, e10, rf ? " ref-flagged" : "",
             bad ? " VIOLATION" : "", ecpu, rcpu, lawstr);
    }
  }
  printf("\nkink-split: %d states, worst %.3g (ref flagged: %.3g); characteristic functions: %d states, worst %.3g "
         "(flagged %.3g); refused %d, beyond the reference %d; violations (> 1e-10) %d\n",
         cnt[1], worst[1], worst_flag[1], cnt[0], worst[0], worst_flag[0], nref, nout, viol);
  return 0;
}
