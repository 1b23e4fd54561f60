/* bench/audit_common.h - the parts that bench/audit_closed.c, audit_m2.c
 * and audit_mm.c share: the draws, the `cldyn ode` options of a state, the
 * fine grid used as a reference and the per-engine tally.  Header-only
 * (static), included by each audit's single translation unit. */
#ifndef CLDYN_BENCH_AUDIT_COMMON_H
#define CLDYN_BENCH_AUDIT_COMMON_H

#include <math.h>
#include <stdio.h>

#include "app/app.h"
#include "src/drift_grid.h"

static inline double unif(cl_rng *r, double a, double b) { return a + (b - a) * cl_rng_uniform(r); }
static inline int pick(cl_rng *r, int n) { return (int)(cl_rng_uniform(r) * n); }

/* a random unit vector in R^n */
static inline void unit_vec(cl_rng *r, int n, double *u) {
  double s = 0;
  for (int k = 0; k < n; k++) u[k] = cl_rng_gauss(r), s += u[k] * u[k];
  for (int k = 0; k < n; k++) u[k] /= sqrt(s);
}

/* Appends " --R0 R --Q0 Q" (every digit: the line reproduces the state) to
 * args, whose first len bytes are used; returns the new length. */
static inline int audit_state_args(char *args, size_t size, int len, int K, int M, const double *R, const double *Q) {
  len += snprintf(args + len, size - (size_t)len, " --R0 ");
  for (int k = 0; k < K; k++)
    for (int i = 0; i < M; i++)
      len += snprintf(args + len, size - (size_t)len, "%.17g%s", R[k * M + i], i + 1 < M ? "," : k + 1 < K ? ";" : "");
  len += snprintf(args + len, size - (size_t)len, " --Q0 ");
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++)
      len += snprintf(args + len, size - (size_t)len, "%.17g%s", Q[i * M + l], l + 1 < M ? "," : i + 1 < M ? ";" : "");
  return len;
}

/* The reference grid (M = 2): the fine level of the grid engine capped at
 * nmax nodes per direction (400 if nmax <= 0), at the model's R0 and Q0,
 * into out (dR then dQ).  0 if it was computed. */
static inline int audit_grid_ref(const cl_model *m, int nmax, double *out, char *err) {
  cl_grid_level lv = {400, 44, 45, 32, 8.5, 300};
  if (nmax > 0) lv.n = nmax;
  cl_grid *g;
  const int bad = cl_grid_alloc_levels(m, &lv, &lv, &g, err) ||
                  cl_grid_eval_level(g, 1, m->R0, m->Q0, out, out + m->K * m->M, err);
  cl_grid_free(g);
  return bad;
}

/* Parses the options `opts` of configuration c into cfg; on an error prints
 * it with the options `shown` and returns 1. */
static inline int audit_parse(int c, const char *opts, const char *shown, cl_config *cfg, char *err) {
  if (!cl_config_parse_string(cfg, CL_CMD_ODE, opts, err)) return 0;
  printf("%4d parse error: %s: %s\n", c, err, shown);
  return 1;
}

/* per engine (or path): configurations, refusals, violations of the
 * Monte Carlo and of the deterministic reference, largest ratios */
typedef struct {
  int n, refused, viol_mc, viol_ref;
  double rmc, rref, est_max;
} audit_stat;

/* One configuration's check of the drift d (nout components) with the
 * bound est: against the Monte Carlo (mc, se; when do_mc) the ratio
 * |d - mc| / (est + 4 se), against the reference (when have_ref) |d - ref| /
 * (est + refb); the largest ratios, 4 se, and whether either passed 1
 * (*vm, *vr). */
typedef struct {
  double rmc, rref, se4;
  int vm, vr;
} audit_check;
static inline audit_check audit_ratios(int nout, const double *d, int do_mc, const double *mc, const double *se,
                                       int have_ref, const double *ref, double est, double refb) {
  audit_check a = {0, 0, 0, 0, 0};
  for (int k = 0; k < nout; k++) {
    if (do_mc) {
      a.se4 = fmax(a.se4, 4 * se[k]);
      const double x = fabs(d[k] - mc[k]) / (est + 4 * se[k]);
      a.rmc = fmax(a.rmc, x), a.vm |= x > 1;
    }
    if (have_ref) {
      const double y = fabs(d[k] - ref[k]) / (est + refb);
      a.rref = fmax(a.rref, y), a.vr |= y > 1;
    }
  }
  return a;
}

/* AUDIT_VERBOSE: every component, then the check into the tally p (est:
 * the printed estimate) */
static inline void audit_record(audit_stat *p, const audit_check *a, double est, int verbose, int nout,
                                const double *d, const double *ref, int do_mc, const double *mc, const double *se) {
  if (verbose)
    for (int k = 0; k < nout; k++)
      printf("     %2d drift %.12g  ref %.12g (%+.3g)  mc %.6g se %.2g\n", k, d[k], ref[k], d[k] - ref[k],
             do_mc ? mc[k] : NAN, do_mc ? se[k] : NAN);
  p->viol_mc += a->vm, p->viol_ref += a->vr;
  p->rmc = fmax(p->rmc, a->rmc), p->rref = fmax(p->rref, a->rref), p->est_max = fmax(p->est_max, est);
}

#endif
