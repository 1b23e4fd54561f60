/* relu at M = 1 where the characteristic functions give up (cp small, or a
 * long range of X against cp): the engine's drift against tests/kinkref.h
 * on a grid of states, printing only the states whose grids are refused
 * (the fallback path).  Laws: every kind, mixes with atoms, K = 1..6.
 * Build and run: bench/relukink.sh [config index] [-w FILE | -r FILE] (no
 * index: every config; -w writes the references, -r reads them back).
 * Deterministic: no random numbers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../tests/kinkref.h"
#include "src/drift_cf.h"

typedef struct {
  const char *laws[6];
  int K;
} config;

static const config cfgs[] = {
    {{"uniform:1"}, 1},
    {{"uniform:3"}, 1},
    {{"laplace:1"}, 1},
    {{"laplace:3"}, 1},
    {{"student:1:4.5"}, 1},
    {{"student:1:5"}, 1},
    {{"student:1:8"}, 1},
    {{"student:2:30"}, 1},
    {{"rademacher:1", "uniform:1"}, 2},
    {{"uniform:3", "discrete:-1@0.2,0.25@0.8"}, 2},
    {{"laplace:2", "rademacher:1", "sparse:2:0.3"}, 3},
    {{"student:1:5", "rademacher:1", "sparse:2:0.3"}, 3},
    {{"rademacher:1", "rademacher:1", "rademacher:1", "rademacher:1", "rademacher:1", "rademacher:1"}, 6},
    {{"sparse:1:0.3", "rademacher:1", "sparse:2:0.5", "rademacher:0.5", "discrete:-1@0.2,0.25@0.8", "rademacher:2"}, 6},
    {{"rademacher:1", "rademacher:1", "rademacher:1", "rademacher:1", "rademacher:1", "student:1:6"}, 6},
    {{"gauss:1", "laplace:1"}, 2},
    {{"sparse:2:0.3", "sparse:1:0.5", "uniform:2", "rademacher:1"}, 4},
    {{"student:1:12", "discrete:-1@0.2,0.25@0.8"}, 2},
};

int main(int argc, char **argv) {
  const int ncfg = (int)(sizeof cfgs / sizeof cfgs[0]);
  /* bench/relukink [config] [-w FILE | -r FILE]: write the references to
   * FILE, or read them from it (the same grid: the reference dominates the
   * cost, so a second engine is compared without recomputing it) */
  int only = -1;
  FILE *refin = NULL, *refout = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-w") && i + 1 < argc) refout = fopen(argv[++i], "w");
    else if (!strcmp(argv[i], "-r") && i + 1 < argc) {
      if (!(refin = fopen(argv[++i], "r"))) return fprintf(stderr, "cannot read %s\n", argv[i]), 2;
    } else
      only = atoi(argv[i]);
  }
  /* the grid: R_j = R (6 - j) / 6, Q = |R|^2 (1 + eps); with R = 3 only
   * eps = 1e-3 (a long range of X against cp) */
  const double Rs[] = {0.6, 1.5, 3};
  const double ss[] = {0, 0.05, 0.2};
  const double rhos[] = {-1, 0.5};
  const double epss[] = {0, 1e-6, 1e-3};
  printf("%-3s %-58s %4s %6s %5s %7s %9s %9s %10s %9s %6s\n", "cfg", "laws", "R", "s", "rho", "eps", "cp", "cm",
         "error", "refbar", "cpu_s");
  for (int ci = 0; ci < ncfg; ci++) {
    if (only >= 0 && ci != only) continue;
    const config *cf = &cfgs[ci];
    char lawstr[256] = "";
    cl_model m;
    cl_model_default(&m);
    m.act = CL_ACT_RELU;
    m.K = cf->K;
    for (int j = 0; j < cf->K; j++) {
      if (cl_law_parse(cf->laws[j], &m.c[j], NULL)) return fprintf(stderr, "bad law %s\n", cf->laws[j]), 2;
      strcat(lawstr, j ? "+" : "");
      strcat(lawstr, cf->laws[j]);
    }
    for (size_t a = 0; a < sizeof Rs / sizeof Rs[0]; a++)
      for (size_t b = 0; b < sizeof ss / sizeof ss[0]; b++)
        for (size_t c = 0; c < sizeof rhos / sizeof rhos[0]; c++)
          for (size_t e = 0; e < sizeof epss / sizeof epss[0]; e++) {
            if ((Rs[a] == 3) != (epss[e] == 1e-3)) continue;
            m.s = ss[b], m.rho = rhos[c];
            double R[6], Q = 0, Ag = 0;
            int skip[6];
            for (int j = 0; j < m.K; j++) {
              R[j] = Rs[a] * (6 - j) / 6, Q += R[j] * R[j];
              skip[j] = m.c[j].kind == CL_LAW_GAUSS;
              if (skip[j]) Ag += m.c[j].m2 * R[j] * R[j];
            }
            Q *= 1 + epss[e];
            const double A = Q - Q / (1 + epss[e]) + Ag;
            const double cp = sqrt(A + 0.5 * m.s * m.s * Q * (1 + m.rho)),
                         cm = sqrt(0.5 * m.s * m.s * Q * (1 - m.rho));
            /* the fallback path only: the characteristic functions refuse */
            char err[CL_ERRLEN];
            cl_cf *cfp;
            if (cl_cf_alloc(&m, skip, 40, &cfp, err)) return fprintf(stderr, "%s\n", err), 1;
            double acc[7], aR[CL_KMAX];
            cl_status cs = cl_cf_eval(cfp, R, cp, cm, acc, aR, err);
            cl_cf_free(cfp);
            if (cs != CL_EINVAL) continue;
            double rR[6], rQ, eR[6], eQ, bar;
            int rf;
            if (refin) { /* the reference of an earlier run, same grid order */
              int ci2;
              if (fscanf(refin, "%d %d %lg %lg", &ci2, &rf, &bar, &rQ) != 4 || ci2 != ci)
                return fprintf(stderr, "reference file out of step\n"), 1;
              for (int j = 0; j < m.K; j++)
                if (fscanf(refin, "%lg", &rR[j]) != 1) return fprintf(stderr, "reference file short\n"), 1;
            } else {
              double cR[6], cQ;
              rf = kref_quad(&m, R, Q, 1e-10, rR, &rQ);
              if (rf >= 0) kref_quad(&m, R, Q, 1e-8, cR, &cQ);
              bar = fabs(cQ - rQ) / (1 + fabs(rQ));
              for (int j = 0; j < m.K && rf >= 0; j++) bar = fmax(bar, fabs(cR[j] - rR[j]) / (1 + fabs(rR[j])));
              if (refout) {
                fprintf(refout, "%d %d %.17g %.17g", ci, rf, bar, rQ);
                for (int j = 0; j < m.K; j++) fprintf(refout, " %.17g", rf >= 0 ? rR[j] : 0.0);
                fprintf(refout, "\n");
                fflush(refout);
              }
            }
            if (rf < 0) continue; /* beyond the reference's reach */
            cl_drift *d;
            clock_t t0 = clock();
            double errv = NAN;
            if (cl_drift_alloc(&m, NULL, &d, err) == CL_OK) {
              cl_status st = cl_drift_eval(d, R, &Q, eR, &eQ, err);
              cl_drift_free(d);
              if (st == CL_OK) {
                errv = fabs(eQ - rQ) / (1 + fabs(rQ));
                for (int j = 0; j < m.K; j++) errv = fmax(errv, fabs(eR[j] - rR[j]) / (1 + fabs(rR[j])));
              } else
                printf("# refused: %s\n", err);
            } else
              printf("# refused: %s\n", err);
            double cpu = (double)(clock() - t0) / CLOCKS_PER_SEC;
            printf("%-3d %-58s %4g %6g %5g %7g %9.3g %9.3g %10.2e %9.1e %6.3f%s\n", ci, lawstr, Rs[a], ss[b],
                   rhos[c], epss[e], cp, cm, errv, bar, cpu, rf ? " ref-flagged" : "");
            fflush(stdout);
          }
  }
  if (refin) fclose(refin);
  if (refout) fclose(refout);
  return 0;
}
