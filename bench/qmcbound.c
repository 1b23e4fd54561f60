/* How often the Sobol' engine's printed bound (src/drift_multi.c,
 * docs/multi.md s.3) misses the exact drift, over many draws of the digital
 * shifts (the engine uses one fixed draw; a bench draw is seed 1..S, seed 0
 * is the engine's own).
 *
 * Model: M = 2 or 3, K = 1, lambda = 0: the units decouple and unit 1 has
 * the exact M = 1 drift (src/drift.c), so dR_11 and dQ_11 are checked
 * against it at the 81 states of the session-8 scan (s 0.2, 0.5, 1; rho
 * -0.5, 0, 0.5; R_1 0.2, 0.6, 1.5; Q_11 - R_1^2 0.05, 0.5, 2; unit 2 at R_2
 * = 0.3, Q_22 = 0.5, Q_12 = 0.3 R_1; unit 3 at R_3 = -0.2, Q_33 = 0.6).
 * With lambda != 0 (B = 1, M = 2 only) the units couple; the reference is
 * then the grid engine (src/drift_grid.c, about 1e-9 here) for a smooth
 * sigma and rho >= 0, and every component is checked (states with rho < 0
 * are skipped).  (The quad rule at 20 nodes is too coarse for a reference
 * at Q - R^T R = 0.05: 2e-2 off, within its estimate 5.7e-2.)
 *
 * For every total budget 8 n (n = --qmc-points of the former 8-shift rule)
 * it runs the engine as built (its bound; its shift count unless
 * QMCBOUND_NREP is set, with 8 n / nrep points per rule) over S draws and
 * prints the fraction of checks beyond the bound, the largest ratio
 * |error| / bound, its 99% and 99.9% quantiles, the geometric means of the
 * bound (gmb) and of |error| (gme), and the misses and largest ratio of the
 * engine's own draw (seed 0).
 * QMCBOUND_B sets the batch size.  QMCBOUND_REFPTS=P makes the reference
 * the engine itself with 64 other shifts of P points (for g = abs or B > 1,
 * where neither the M = 1 drift nor the grid applies); every component is
 * then checked, and a check fails only if |error| exceeds the bound plus
 * the reference's own bound.
 *
 * Usage: bench/qmcbound.sh ACT LAW LAMBDA M G SEEDS [n ...]
 *   e.g. bench/qmcbound.sh linear gauss 0 2 square 20 512 2048 8192 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cldyn/cldyn.h"
#include "src/drift_multi.h"

#define NOUT (3 + 9)

typedef struct {
  double R[3], Q[9], ref[NOUT], reb[NOUT]; /* reference and its own bound */
  int ok;
} state;

/* the 81 states: s and rho (sval, rval) by the index, R_1 and Q_11 here */
static int mkstates(const cl_model *m0, state *st) {
  const double Rs[] = {0.2, 0.6, 1.5}, vs[] = {0.05, 0.5, 2};
  const int M = m0->M;
  int n = 0;
  for (int a = 0; a < 3; a++)
    for (int b = 0; b < 3; b++)
      for (int c = 0; c < 3; c++)
        for (int d = 0; d < 3; d++, n++) {
          state *x = st + n;
          memset(x, 0, sizeof *x);
          x->R[0] = Rs[c], x->R[1] = 0.3, x->R[2] = -0.2;
          double A[9] = {vs[d], 0, 0, 0, 0.41, 0.1, 0, 0.1, 0.56};
          for (int i = 0; i < M; i++)
            for (int l = 0; l < M; l++) x->Q[i * M + l] = x->R[i] * x->R[l] + A[i * 3 + l];
        }
  return n;
}

/* the bench's seeds: far apart in the engine's splitmix stream (seeds that
 * differ by its increment would share all but one shift word) */
static uint64_t mix(uint64_t z) {
  z = (z + 0x632be59bd9b4e019ULL) * 0xd6e8feb86659fd93ULL;
  z ^= z >> 32;
  z *= 0xd6e8feb86659fd93ULL;
  return z ^ (z >> 32);
}

static int cmpd(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double sval(int k) { const double ss[] = {0.2, 0.5, 1}; return ss[k / 27]; }
static double rval(int k) { const double rh[] = {-0.5, 0, 0.5}; return rh[(k / 9) % 3]; }

int main(int argc, char **argv) {
  if (argc < 8) {
    fprintf(stderr, "usage: %s ACT LAW LAMBDA M G SEEDS n...\n", argv[0]);
    return 2;
  }
  char err[CL_ERRLEN];
  cl_model m0;
  cl_model_default(&m0);
  if (cl_act_parse(argv[1], &m0.act, err)) return fprintf(stderr, "%s\n", err), 2;
  m0.K = 1;
  if (cl_law_parse(argv[2], &m0.c[0], err)) return fprintf(stderr, "%s\n", err), 2;
  m0.lambda = atof(argv[3]);
  m0.M = atoi(argv[4]);
  m0.g = strcmp(argv[5], "abs") ? CL_G_SQUARE : CL_G_ABS;
  /* QMCBOUND_NREP: that many shifts (default: the engine's) at the same
   * total budget 8 n; the engine's own rule is drawn with that count too */
  int nrep = getenv("QMCBOUND_NREP") ? atoi(getenv("QMCBOUND_NREP")) : 0;
  {
    cl_multi *q;
    if (cl_multi_alloc(&m0, NULL, &q, err)) return fprintf(stderr, "%s\n", err), 1;
    if (!nrep) cl_multi_replicates(q, &nrep);
    cl_multi_free(q);
  }
  const int verbose = getenv("QMCBOUND_VERBOSE") != NULL;
  /* QMCBOUND_B: batch size; QMCBOUND_REFPTS: the reference is the engine
   * itself with 64 shifts of that many points (for g = abs or B > 1, where
   * neither the M = 1 drift nor the grid applies); a check then fails only
   * if |error| > bound + the reference's bound */
  const long refpts = getenv("QMCBOUND_REFPTS") ? atol(getenv("QMCBOUND_REFPTS")) : 0;
  if (getenv("QMCBOUND_B")) m0.B = atoi(getenv("QMCBOUND_B"));
  const int S = atoi(argv[6]), M = m0.M, KM = M, nout = M + M * M;
  state st[81];
  const int ns = mkstates(&m0, st);
  /* references */
  for (int k = 0; k < ns; k++) {
    cl_model m = m0;
    m.s = sval(k), m.rho = rval(k);
    if (refpts) { /* a far finer Sobol' rule: 64 shifts of refpts points, other shifts */
      cl_quad_opts o = {0};
      o.qmc_points = refpts;
      cl_multi *q;
      if (cl_multi_alloc_shifts(&m, &o, mix(987654321), 64, &q, err)) return fprintf(stderr, "%s\n", err), 1;
      if (cl_multi_eval(q, st[k].R, st[k].Q, st[k].ref, st[k].ref + KM, st[k].reb, err))
        return fprintf(stderr, "%s\n", err), 1;
      cl_multi_free(q);
      st[k].ok = 1;
    } else if (m.lambda == 0) {
      cl_model m1 = m;
      m1.M = 1;
      cl_drift *d;
      if (cl_drift_alloc(&m1, NULL, &d, err)) return fprintf(stderr, "%s\n", err), 1;
      double R = st[k].R[0], Q = st[k].Q[0];
      if (cl_drift_eval(d, &R, &Q, &st[k].ref[0], &st[k].ref[KM], err)) return fprintf(stderr, "%s\n", err), 1;
      cl_drift_free(d);
      st[k].ok = 1;
    } else {
      if (m.rho < 0) continue;
      if (M != 2) return fprintf(stderr, "lambda != 0: M = 2 only (the grid's reference)\n"), 2;
      /* the grid (docs/grid.md), far more accurate than these rules */
      cl_drift *d;
      if (cl_drift_alloc(&m, NULL, &d, err)) return fprintf(stderr, "%s\n", err), 1;
      if (!strstr(cl_drift_method(d), "grid")) return fprintf(stderr, "no grid: %s\n", cl_drift_method(d)), 1;
      if (cl_drift_eval(d, st[k].R, st[k].Q, st[k].ref, st[k].ref + KM, err)) return fprintf(stderr, "%s\n", err), 1;
      cl_drift_free(d);
      st[k].ok = 1;
    }
  }
  printf("%-8s %-10s %3s %2s %-6s %6s %5s | %8s %7s %7s | %5s %7s\n", "act", "law", "lam", "M", "g", "n",
         "draws", "checks", "over", "maxrat", "own", "ownmax");
  printf("  (over: fraction of checks beyond the bound, of which 'low' had the estimate below the exact value;\n"
         "   bad: draws beyond their bound at more than 16 checks; own: the engine's draw)\n");
  for (int a = 7; a < argc; a++) {
    const long n = atol(argv[a]);
    long checks = 0, over = 0, own = 0, low = 0, bad10 = 0;
    double lgb = 0, lge = 0, *rat = malloc(sizeof(double) * (size_t)S * ns * nout);
    double worst = 0, ownw = 0;
    for (int sd = 0; sd <= S; sd++) {
      cl_quad_opts o = {0};
      o.qmc_points = 8 * n / nrep;
      const uint64_t seed = sd ? mix((uint64_t)sd) : 0;
      cl_multi *q = NULL;
      long dover = 0;
      for (int k = 0; k < ns; k++) {
        if (!st[k].ok) continue;
        cl_model m = m0;
        m.s = sval(k), m.rho = rval(k);
        /* s and rho are the model's: a rule per (s, rho), the same shifts */
        if (k % 9 == 0 || !q) {
          cl_multi_free(q);
          if (cl_multi_alloc_shifts(&m, &o, seed, nrep, &q, err)) return fprintf(stderr, "%s\n", err), 1;
        }
        double out[NOUT], eb[NOUT];
        if (cl_multi_eval(q, st[k].R, st[k].Q, out, out + KM, eb, err)) return fprintf(stderr, "%s\n", err), 1;
        for (int c = 0; c < nout; c++) {
          if (m.lambda == 0 && !refpts && c != 0 && c != KM) continue; /* unit 1 only */
          const double e = fmax(fabs(out[c] - st[k].ref[c]) - st[k].reb[c], 0), r = e / eb[c];
          if (verbose && r > 1)
            printf("  draw %d state %d (s %g rho %g R1 %g Q11 %g) comp %d: %.10g ref %.10g bound %.2g\n", sd, k,
                   m.s, m.rho, st[k].R[0], st[k].Q[0], c, out[c], st[k].ref[c], eb[c]);
          if (sd) {
            rat[checks] = r, lgb += log(eb[c]), lge += log(fmax(fabs(out[c] - st[k].ref[c]), 1e-300));
            checks++, over += e > eb[c], low += e > eb[c] && out[c] < st[k].ref[c];
            dover += e > eb[c];
            if (r > worst) worst = r;
          } else {
            own += e > eb[c];
            if (r > ownw) ownw = r;
          }
        }
      }
      cl_multi_free(q);
      bad10 += dover > 16; /* a draw beyond its bound at more than 10% of its checks */
    }
    qsort(rat, (size_t)checks, sizeof *rat, cmpd);
    const double q99 = rat[(long)(0.99 * (double)checks)], q999 = rat[(long)(0.999 * (double)checks)];
    free(rat);
    printf("%-8s %-10s %3g %2d %-6s %6ld %5d | %8ld %7.4f %7.2f low %4.2f bad %3ld q99 %5.2f q999 %5.2f gmb %8.2e gme %8.2e | %5ld %7.2f\n", argv[1], argv[2], m0.lambda, M,
           argv[5], n, S, checks, (double)over / (double)checks, worst, over ? (double)low / over : 0.0, bad10, q99, q999, exp(lgb / (double)checks), exp(lge / (double)checks), own, ownw);
    fflush(stdout);
  }
  return 0;
}
