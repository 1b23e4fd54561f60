/* The four-unit terms of the M = 4 drift on the 4-d grid (src/drift_grid.c,
 * cl_grid4q_*; docs/grid.md, "The four-unit terms").
 *
 * `grid4q [TABLE.csv [REPS]]`: case B of issue 12 (M = K = 4, laplace:3,
 * uniform:3, rademacher:3, rademacher:2, lambda = 1, tanh, s = 0.5,
 * rho = 0, B = 1) at its start (R0 of bench/multi_cases.sh, Q = I) and, with
 * a `cldyn ode` table (columns R_j_i, Q_i_l), at its rows with t = 0, 5,
 * 10, ..., 50: the nodes per direction of each level, the median CPU
 * milliseconds of one evaluation of both levels over REPS runs (default 5),
 * the CPU milliseconds of one evaluation of the reference's fine level
 * (one run), the largest |dQ4| of the fine level, the estimate max
 * |fine - coarse| and the distance of the fine level to a much finer
 * reference (the same engine at --grid-nodes 36: every size 1.5 times,
 * aliasing e^-24.75, tails e^-19.5, 36 inner nodes, cap 96 per
 * direction), with the ratio distance / estimate.
 * `grid4q audit N SEED`: random models and states, the same comparison
 * (audit() below; GRID4Q_AUDIT_VERBOSE lists every draw).
 * Environment: GRID4Q_RHO, GRID4Q_S, GRID4Q_ACT (tanh, erf, sigmoid)
 * change the model; GRID4Q_NODES=N the engine's levels (as --grid-nodes N);
 * GRID4Q_REF=0 skips the reference.
 * Build and run: bench/grid4q.sh */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <math.h>

#include "../src/drift_grid.h"
#include "benchutil.h"
#include "cldyn/act.h"
#include "cldyn/law.h"

#define MAXROWS 256

static int model_b(cl_model *m, char *err) {
  cl_model_default(m);
  m->M = 4, m->K = 4, m->lambda = 1;
  const char *laws[4] = {"laplace:3", "uniform:3", "rademacher:3", "rademacher:2"};
  for (int j = 0; j < 4; j++)
    if (cl_law_parse(laws[j], &m->c[j], err)) return 1;
  const char *e;
  if ((e = getenv("GRID4Q_RHO"))) m->rho = atof(e);
  if ((e = getenv("GRID4Q_S"))) m->s = atof(e);
  if ((e = getenv("GRID4Q_ACT")) && cl_act_parse(e, &m->act, err)) return 1;
  return 0;
}

/* the rows of a cldyn ode table at t = 0, 5, ..., 50: R (K x M), Q (M x M) */
static int read_table(const char *path, double *R, double *Q, double *t, int K, int M) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  char line[1 << 14];
  int col_t = -1, colR[64], colQ[64], nr = 0;
  if (!fgets(line, sizeof line, f)) return fclose(f), -1;
  {
    int c = 0;
    for (char *tok = strtok(line, ",\n"); tok; tok = strtok(NULL, ",\n"), c++) {
      int j, i, l;
      if (!strcmp(tok, "t")) col_t = c;
      else if (sscanf(tok, "R_%d_%d", &j, &i) == 2) colR[(j - 1) * M + i - 1] = c;
      else if (sscanf(tok, "Q_%d_%d", &i, &l) == 2) colQ[(i - 1) * M + l - 1] = colQ[(l - 1) * M + i - 1] = c;
    }
  }
  while (nr < MAXROWS && fgets(line, sizeof line, f)) {
    double v[256];
    int c = 0;
    for (char *tok = strtok(line, ",\n"); tok && c < 256; tok = strtok(NULL, ",\n")) v[c++] = atof(tok);
    const double tt = v[col_t];
    if (fabs(tt / 5 - round(tt / 5)) > 1e-9) continue;
    t[nr] = tt;
    for (int k = 0; k < K * M; k++) R[nr * K * M + k] = v[colR[k]];
    for (int k = 0; k < M * M; k++) Q[nr * M * M + k] = v[colQ[k]];
    nr++;
  }
  fclose(f);
  return nr;
}


/* `grid4q audit N SEED`: N random models and states (1 to 4 laws among
 * rademacher, uniform, gauss, sparse, a symmetric discrete law and laplace,
 * with GRID4Q_AUDIT_STUDENT also student; tanh, erf, sigmoid; lambda 0.5 or 1; rho in [0, 0.9], s in
 * [0.2, 1.2], one draw in four without per-view noise (rho = 1 or s = 0);
 * R with normal entries of sd 0.3, Q = R^T R plus a random PSD part, one unit
 * in five nearly dead): the default levels against the reference (the
 * engine at --grid-nodes 36), every component: the served and refused
 * states and the largest ratio distance / estimate. */
/* the audit's laws (the last, student, with GRID4Q_AUDIT_STUDENT only: its
 * characteristic function is a Bessel K per spectrum entry, minutes per
 * state on the reference) and activations */
static const char *const audit_laws[] = {"rademacher:2", "uniform:3", "gauss:1.5",  "sparse:3:0.3",
                                         "discrete:-1@0.3,0@0.4,1@0.3", "laplace:1", "student:1:6"};
static const cl_act audit_acts[] = {CL_ACT_TANH, CL_ACT_ERF, CL_ACT_SIGMOID};

static int audit(int n, uint64_t seed) {
  const int nlaws = getenv("GRID4Q_AUDIT_STUDENT") ? 7 : 6;
  const char *const *laws = audit_laws;
  const cl_act *acts = audit_acts;
  char err[CL_ERRLEN];
  cl_rng *rng;
  if (cl_rng_alloc(seed, 0, &rng, err)) return fprintf(stderr, "%s\n", err), 1;
  int served = 0, refused = 0, refref = 0, beyond = 0;
  double worst = 0, worst_t = 0;
  cl_quad_opts o;
  memset(&o, 0, sizeof o);
  for (int d = 0; d < n; d++) {
    cl_model m;
    cl_model_default(&m);
    m.M = 4, m.K = 1 + (int)(4 * cl_rng_uniform(rng));
    m.act = acts[(int)(3 * cl_rng_uniform(rng))];
    m.lambda = cl_rng_uniform(rng) < 0.5 ? 0.5 : 1;
    m.rho = 0.9 * cl_rng_uniform(rng), m.s = 0.2 + cl_rng_uniform(rng);
    if (cl_rng_uniform(rng) < 0.25) {
      if (cl_rng_uniform(rng) < 0.5) m.rho = 1;
      else m.s = 0;
    }
    char desc[300];
    int len = snprintf(desc, sizeof desc, "%s lambda %g rho %.2f s %.2f:", cl_act_name(m.act), m.lambda, m.rho, m.s);
    for (int j = 0; j < m.K; j++) {
      const char *lw = laws[(int)(nlaws * cl_rng_uniform(rng))];
      if (cl_law_parse(lw, &m.c[j], err)) return fprintf(stderr, "%s\n", err), 1;
      len += snprintf(desc + len, sizeof desc - (size_t)len, " %s", lw);
    }
    double R[CL_KMAX * 4], Q[16], G[16];
    for (int k = 0; k < m.K * 4; k++) R[k] = 0.3 * cl_rng_gauss(rng);
    for (int k = 0; k < 16; k++) G[k] = 0.4 * cl_rng_gauss(rng);
    const int dy = cl_rng_uniform(rng) < 0.2 ? (int)(4 * cl_rng_uniform(rng)) : -1;
    if (dy >= 0) /* a nearly dead unit */
      for (int j = 0; j < m.K; j++) R[j * 4 + dy] *= 1e-3;
    for (int i = 0; i < 4; i++)
      for (int l = 0; l < 4; l++) {
        double q = 0;
        for (int j = 0; j < m.K; j++) q += R[j * 4 + i] * R[j * 4 + l];
        for (int k = 0; k < 4; k++) q += G[i * 4 + k] * G[l * 4 + k] * (i == dy || l == dy ? 1e-6 : 1);
        Q[i * 4 + l] = q + (i == l ? (i == dy ? 1e-8 : 0.05) : 0);
      }
    cl_grid4q *q, *qr;
    double f[2][16], r[16];
    o.grid_nodes = 0;
    if (cl_grid4q_alloc(&m, &o, &q, err)) return fprintf(stderr, "%s\n", err), 1;
    o.grid_nodes = 36;
    if (cl_grid4q_alloc(&m, &o, &qr, err)) return fprintf(stderr, "%s\n", err), 1;
    cl_status st = cl_grid4q_eval_level(q, 0, R, Q, f[0], err);
    if (!st) st = cl_grid4q_eval_level(q, 1, R, Q, f[1], err);
    if (st) {
      refused++;
      if (getenv("GRID4Q_AUDIT_VERBOSE")) printf("draw %d refused: %s: %s\n", d, desc, err);
    } else if (cl_grid4q_eval_level(qr, 1, R, Q, r, err)) {
      refref++;
      if (getenv("GRID4Q_AUDIT_VERBOSE")) printf("draw %d reference refused: %s: %s\n", d, desc, err);
    } else {
      double est = 0, dist = 0, big = 0;
      for (int k = 0; k < 16; k++)
        est = fmax(est, fabs(f[1][k] - f[0][k])), dist = fmax(dist, fabs(f[1][k] - r[k])), big = fmax(big, fabs(r[k]));
      est = fmax(est, 1e-11 * big);
      served++;
      const double ratio = dist / est;
      if (ratio > 1) beyond++;
      if (ratio > worst) worst = ratio, worst_t = d;
      if (getenv("GRID4Q_AUDIT_VERBOSE") || ratio > 1)
        printf("draw %d: %s: max |dQ4| %.3e, estimate %.3e, distance %.3e, ratio %.3f\n", d, desc, big, est, dist,
               ratio);
    }
    cl_grid4q_free(q), cl_grid4q_free(qr);
  }
  printf("audit seed %llu, %d draws: %d served, %d refused, %d served whose reference refused; %d beyond their "
         "estimates; the largest ratio distance / estimate %.3f (draw %g)\n",
         (unsigned long long)seed, n, served, refused, refref, beyond, worst, worst_t);
  cl_rng_free(rng);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "audit"))
    return audit(argc > 2 ? atoi(argv[2]) : 100, argc > 3 ? strtoull(argv[3], NULL, 10) : 7);
  char err[CL_ERRLEN];
  cl_model m;
  if (model_b(&m, err)) return fprintf(stderr, "%s\n", err), 2;
  const int reps = argc > 2 ? atoi(argv[2]) : 5, doref = !getenv("GRID4Q_REF") || atoi(getenv("GRID4Q_REF"));
  static double R[MAXROWS * 16], Q[MAXROWS * 16], t[MAXROWS];
  const double R0[16] = {0.1, 0.02, 0.01, 0, 0.02, 0.1, 0.01, 0.01, 0.01, 0, 0.1, 0.02, 0, 0.01, 0.02, 0.1};
  int nr = 1;
  memcpy(R, R0, sizeof R0);
  for (int k = 0; k < 16; k++) Q[k] = k % 5 == 0;
  t[0] = 0;
  if (argc > 1) {
    nr = read_table(argv[1], R, Q, t, 4, 4);
    if (nr <= 0) return fprintf(stderr, "grid4q: cannot read %s\n", argv[1]), 2;
  }
  cl_grid4q *q, *qr = NULL;
  cl_quad_opts o;
  memset(&o, 0, sizeof o);
  o.grid_nodes = getenv("GRID4Q_NODES") ? atoi(getenv("GRID4Q_NODES")) : 0;
  if (cl_grid4q_alloc(&m, &o, &q, err)) return fprintf(stderr, "%s\n", err), 1;
  o.grid_nodes = 36;
  if (doref && cl_grid4q_alloc(&m, &o, &qr, err)) return fprintf(stderr, "%s\n", err), 1;
  printf("%s, rho %g, s %g; both levels per evaluation, median of %d\n", cl_act_name(m.act), m.rho, m.s, reps);
  printf("%5s  %-12s %-12s %8s %8s  %10s %10s %10s %8s\n", "t", "coarse", "fine", "ms", "ref ms", "max|dQ4|",
         "estimate", "fine-ref", "ratio");
  for (int r = 0; r < nr; r++) {
    const double *Rr = R + r * 16, *Qr = Q + r * 16;
    double d[2][16], ms[64], dr[16];
    int n[2][4];
    cl_status st = CL_OK;
    for (int k = 0; k < reps && k < 64 && !st; k++) {
      const double c0 = bench_cpu_now();
      for (int lev = 0; lev < 2 && !st; lev++) st = cl_grid4q_eval_level(q, lev, Rr, Qr, d[lev], err);
      ms[k] = 1e3 * (bench_cpu_now() - c0);
    }
    if (st) {
      printf("%5g  refused: %s\n", t[r], err);
      continue;
    }
    for (int lev = 0; lev < 2; lev++) cl_grid4q_sizes(q, lev, n[lev]);
    qsort(ms, (size_t)(reps < 64 ? reps : 64), sizeof *ms, bench_cmp_double);
    double big = 0, est = 0, dist = NAN;
    for (int k = 0; k < 16; k++) big = fmax(big, fabs(d[1][k])), est = fmax(est, fabs(d[1][k] - d[0][k]));
    double msr = NAN;
    if (qr) {
      const double c0 = bench_cpu_now();
      const cl_status sr = cl_grid4q_eval_level(qr, 1, Rr, Qr, dr, err);
      msr = 1e3 * (bench_cpu_now() - c0);
      if (sr) printf("       reference refused: %s\n", err);
      else {
        dist = 0;
        for (int k = 0; k < 16; k++) dist = fmax(dist, fabs(d[1][k] - dr[k]));
      }
    }
    char s0[32], s1[32];
    snprintf(s0, sizeof s0, "%dx%dx%dx%d", n[0][0], n[0][1], n[0][2], n[0][3]);
    snprintf(s1, sizeof s1, "%dx%dx%dx%d", n[1][0], n[1][1], n[1][2], n[1][3]);
    printf("%5g  %-12s %-12s %8.2f %8.1f  %10.3e %10.3e %10.3e %8.3f\n", t[r], s0, s1, ms[(reps < 64 ? reps : 64) / 2],
           msr, big, est, dist, dist / est);
    if (getenv("GRID4Q_VERBOSE"))
      for (int i = 0; i < 4; i++)
        printf("   %+.12e %+.12e %+.12e %+.12e\n", d[1][i * 4], d[1][i * 4 + 1], d[1][i * 4 + 2], d[1][i * 4 + 3]);
  }
  cl_grid4q_free(q), cl_grid4q_free(qr);
  return 0;
}
