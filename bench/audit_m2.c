/* bench/audit_m2.c - helper of bench/audit_m2: an audit of the M = 2 drift
 * engines and their printed error estimates on random configurations.
 *   audit_m2 N SEED [FIRST]
 * draws N configurations (from the fixed SEED; FIRST skips the first ones):
 * activation, g, lambda, B, s, rho, K = 1..4 laws and a state (R, Q) of one
 * of five kinds (small R, aligned units with cos near 1, a nearly dead unit,
 * large Q, correlated units).  For each it evaluates the default engine
 * (`--expect auto`: the closed forms, the grid or the Sobol' engine) through
 * cl_drift_alloc / cl_drift_eval / cl_drift_stderr and compares every
 * component of the drift with
 *  - the batch Monte Carlo of tests/mc_ref.c (whole batches, the noise along
 *    the features drawn explicitly): violation if |d - mc| > est + 4 se;
 *  - a deterministic reference: for the grid and the closed forms a much
 *    finer grid (where the grid applies), else the Sobol' engine with 2^17
 *    points per rule: violation if |d - ref| > est + the reference's bound.
 * AUDIT_GRID=1 draws only configurations the grid engine applies to,
 * AUDIT_CLOSED=1 only erf with gauss laws where the closed forms apply,
 * AUDIT_ARGS='options' replaces configuration FIRST by the one given, and
 * AUDIT_VERBOSE=1 prints every component, AUDIT_ACC=NX:NE:NL:LX:LE takes
 * that level of the quad rule (src/drift_acc.c) as the reference,
 * AUDIT_REFN=N caps the reference grid at N nodes (default 400),
 * AUDIT_CUBIC=0 or 1 makes every draw cubic sigma with lambda = 0 (0) or
 * 0.3, 1, 3 in turn (1), B = 1, rho >= 0, at most two laws and units nearly
 * along the features, without the Monte Carlo (docs/grid.md s.4).  One line per configuration (its `cldyn ode` options reproduce it), then
 * per path the largest ratios and the violations.  Reported only. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "bench/audit_common.h"
#include "src/drift_acc.h"
#include "src/drift_erf.h"
#include "tests/mc_ref.h"

#define NOUT (CL_KMAX * 2 + 4)

static const char *law_spec(cl_rng *r, char *buf, size_t n) {
  const double m2 = unif(r, 0.5, 4);
  static const char *mixes[] = {"discrete:-1@0.4,2@0.2,0@0.4", "discrete:-2@0.25,1@0.5,0@0.25",
                                "discrete:-3@0.1,1@0.3,0@0.6"};
  static const int nus[] = {5, 8, 20};
  switch (pick(r, 8)) {
  case 0: snprintf(buf, n, "gauss:%.3g", m2); break;
  case 1: snprintf(buf, n, "rademacher:%.3g", m2); break;
  case 2: snprintf(buf, n, "uniform:%.3g", m2); break;
  case 3: snprintf(buf, n, "laplace:%.3g", m2); break;
  case 4: snprintf(buf, n, "student:%.3g:%d", m2, nus[pick(r, 3)]); break;
  case 5: snprintf(buf, n, "sparse:%.3g:%.2g", m2, pick(r, 2) ? 0.1 : 0.3); break;
  default: snprintf(buf, n, "%s", mixes[pick(r, 3)]); break;
  }
  return buf;
}

static const char *kind_name[] = {"smallR", "aligned", "dying", "largeQ", "corr"};

/* The state: W = [R; Z] ((K + 2) x 2), Q = W^T W, so that Q and
 * A = Q - R^T R = Z^T Z are positive semi-definite by construction.  Column
 * i is sqrt(q_i) (cos_i u_i, sin_i v_i) with unit vectors u_i in R^K,
 * v_i in R^2. */
static void draw_state(cl_rng *r, int K, int kind, double *R, double *Q) {
  double q[2], cs[2], u[2][CL_KMAX], v[2][2];
  for (int i = 0; i < 2; i++) {
    unit_vec(r, K, u[i]), unit_vec(r, 2, v[i]);
    q[i] = unif(r, 0.3, 1.5), cs[i] = unif(r, 0, 0.7);
  }
  switch (kind) {
  case 0: cs[0] = unif(r, 0, 0.1), cs[1] = unif(r, 0, 0.1); break;
  case 1: cs[0] = unif(r, 0.95, 0.999), cs[1] = unif(r, 0.9, 0.999); break;
  case 2: q[0] = 1e-6 * unif(r, 0.5, 2); break;
  case 3: q[0] = unif(r, 3, 6), q[1] = unif(r, 3, 6); break;
  case 4: { /* unit 2 nearly along unit 1: Q_12 near sqrt(Q_11 Q_22) */
    double w[CL_KMAX + 2], s = 0;
    for (int k = 0; k < K; k++) w[k] = cs[0] * u[0][k];
    for (int k = 0; k < 2; k++) w[K + k] = sqrt(1 - cs[0] * cs[0]) * v[0][k];
    for (int k = 0; k < K + 2; k++) w[k] += 0.05 * cl_rng_gauss(r), s += w[k] * w[k];
    double sk = 0;
    for (int k = 0; k < K; k++) sk += w[k] * w[k];
    cs[1] = sqrt(sk / s);
    for (int k = 0; k < K; k++) u[1][k] = sk > 0 ? w[k] / sqrt(sk) : u[1][k];
    for (int k = 0; k < 2; k++) v[1][k] = s - sk > 0 ? w[K + k] / sqrt(s - sk) : v[1][k];
    break;
  }
  }
  double W[(CL_KMAX + 2) * 2];
  for (int i = 0; i < 2; i++) {
    const double sn = sqrt(fmax(1 - cs[i] * cs[i], 0)), a = sqrt(q[i]);
    for (int k = 0; k < K; k++) W[k * 2 + i] = a * cs[i] * u[i][k];
    for (int k = 0; k < 2; k++) W[(K + k) * 2 + i] = a * sn * v[i][k];
  }
  for (int k = 0; k < K; k++) R[k * 2] = W[k * 2], R[k * 2 + 1] = W[k * 2 + 1];
  for (int i = 0; i < 2; i++)
    for (int l = 0; l < 2; l++) {
      double s = 0;
      for (int k = 0; k < K + 2; k++) s += W[k * 2 + i] * W[k * 2 + l];
      Q[i * 2 + l] = s;
    }
  Q[2] = Q[1];
}

enum { P_CLOSED, P_GRID, P_QMC, NPATH };
static const char *path_name[] = {"closed", "grid", "qmc"};

typedef audit_stat path_stat;

int main(int argc, char **argv) {
  if (argc < 3) return fprintf(stderr, "usage: audit_m2 N SEED [FIRST]\n"), 2;
  const int N = atoi(argv[1]), first = argc > 3 ? atoi(argv[3]) : 0;
  const int verbose = getenv("AUDIT_VERBOSE") != NULL; /* every component */
  const int grid_only = getenv("AUDIT_GRID") != NULL;  /* only configurations the grid applies to */
  const int closed_only = getenv("AUDIT_CLOSED") != NULL; /* erf, every law gauss */
  cl_rng *r;
  cl_rng_alloc(strtoull(argv[2], NULL, 10), 0xa2d1, &r, NULL);
  static const char *acts[] = {"tanh", "erf", "sigmoid", "relu", "linear", "cubic"};
  static const double lams[] = {0, 0.3, 1, 3};
  static const int Bs[] = {1, 2, 4};
  path_stat ps[NPATH] = {{0}};
  printf("%4s %-6s %-7s %9s %9s %9s %7s %7s %s\n", "#", "path", "state", "estimate", "4 MC se", "ref bound",
         "mc rat", "ref rat", "cldyn ode options");
  for (int c = 0; c < N; c++) {
    /* draw every configuration, also the skipped ones, so that FIRST keeps the sequence */
    char args[1024], law[64];
    const char *cub = getenv("AUDIT_CUBIC");
    int Kd = 1 + pick(r, 4), kind = pick(r, 5);
    if (cub) kind = 1, Kd = Kd > 2 ? 2 : Kd;
    const char *act = acts[pick(r, 6)];
    int gabs = pick(r, 4) == 0;
    double lam = lams[pick(r, 4)];
    int B = Bs[pick(r, 3)];
    double s = unif(r, 0.1, 2), rho = unif(r, -0.9, 0.95);
    if (closed_only) act = "erf", gabs = 0, lam = B > 1 ? 0 : lam; /* where they apply (docs/closed-forms.md s.1) */
    if (grid_only) { /* where the grid engine applies (docs/grid.md s.6) */
      rho = fabs(rho), gabs = 0;
      if (!strcmp(act, "relu")) act = "tanh";
      if (B > 1) lam = 0;
    }
    if (cub) act = "cubic", gabs = 0, lam = atoi(cub) ? lams[1 + c % 3] : 0, B = 1, rho = fabs(rho);
    int len = snprintf(args, sizeof args, "--M 2 --act %s --g %s --lambda %g --B %d --s %.4g --rho %.4g",
                       act, gabs ? "abs" : "square", lam, B, s, rho);
    /* a quarter of the laws all gauss (the closed forms with erf) */
    const int allg = pick(r, 4) == 0 || closed_only;
    for (int k = 0; k < Kd; k++) {
      const char *ls = law_spec(r, law, sizeof law);
      if (allg) snprintf(law, sizeof law, "gauss:%.3g", unif(r, 0.5, 4)), ls = law;
      len += snprintf(args + len, sizeof args - (size_t)len, " --c %s", ls);
    }
    double R[CL_KMAX * 2], Q[4];
    draw_state(r, Kd, kind, R, Q);
    len = audit_state_args(args, sizeof args, len, Kd, 2, R, Q);
    if (c < first) continue;
    if (getenv("AUDIT_ARGS")) snprintf(args, sizeof args, "%s", getenv("AUDIT_ARGS")); /* one given configuration */
    cl_config cfg;
    char err[CL_ERRLEN];
    if (audit_parse(c, args, args, &cfg, err)) continue;
    const cl_model *m = &cfg.model;
    const int K = m->K, nout = K * 2 + 4;
    const int path = cl_erf_applies(m, NULL, 0) ? P_CLOSED : cl_grid_applies(m, NULL, 0) ? P_GRID : P_QMC;
    path_stat *p = &ps[path];
    p->n++;
    cl_drift *d;
    double dr[NOUT];
    if (cl_drift_alloc(m, &cfg.ode.quad, &d, err) || cl_drift_eval(d, m->R0, m->Q0, dr, dr + 2 * K, err)) {
      p->refused++;
      printf("%4d %-6s %-7s refused: %s | %s\n", c, path_name[path], kind_name[kind], err, args);
      fflush(stdout);
      continue;
    }
    const double est = cl_drift_stderr(d);
    cl_drift_free(d);
    /* the deterministic reference */
    double ref[NOUT], refb = 0;
    int have_ref = 0;
    int ncont = 0;
    for (int k = 0; k < K; k++) ncont += m->c[k].kind == CL_LAW_GAUSS || m->c[k].kind == CL_LAW_UNIFORM || m->c[k].kind == CL_LAW_LAPLACE;
    cl_acc_level la;
    if (getenv("AUDIT_ACC") && sscanf(getenv("AUDIT_ACC"), "%d:%d:%d:%lf:%lf", &la.nx, &la.ne, &la.nl, &la.Lx, &la.Le) == 5) {
      /* a given level of the quad rule as the reference */
      cl_acc *a;
      if (!cl_acc_alloc_levels(m, &la, &la, &a, err) && !cl_acc_eval_level(a, 1, m->R0, m->Q0, ref, ref + 2 * K, err))
        have_ref = 2, refb = 1e-13;
      cl_acc_free(a);
    } else if (path != P_QMC && (m->act == CL_ACT_LINEAR || m->act == CL_ACT_CUBIC) && ncont <= 2 &&
        cl_acc_applies(m, NULL, 0)) {
      /* a polynomial sigma: Gauss rules throughout are exact (degree <= 23 with 12 nodes) */
      const cl_acc_level lv = {16, 16, 16, -1, -1};
      cl_acc *a;
      if (!cl_acc_alloc_levels(m, &lv, &lv, &a, err) && !cl_acc_eval_level(a, 1, m->R0, m->Q0, ref, ref + 2 * K, err))
        have_ref = 2, refb = 1e-13;
      cl_acc_free(a);
    } else if (path != P_QMC && cl_grid_applies(m, NULL, 0)) {
      /* AUDIT_REFN: the reference grid's cap */
      if (!audit_grid_ref(m, getenv("AUDIT_REFN") ? atoi(getenv("AUDIT_REFN")) : 0, ref, err))
        have_ref = 1, refb = 1e-13;
    } else {
      cl_quad_opts qo = cfg.ode.quad;
      qo.expect = CL_EXPECT_SOBOL, qo.qmc_points = 1L << 17;
      if (!cl_drift_alloc(m, &qo, &d, err)) {
        if (!cl_drift_eval(d, m->R0, m->Q0, ref, ref + 2 * K, err)) have_ref = 1, refb = cl_drift_stderr(d);
        cl_drift_free(d);
      }
    }
    double mc[NOUT], se[NOUT];
    if (cub) /* degree-22 moments: the Monte Carlo is no reference (s.11) */
      for (int k = 0; k < nout; k++) mc[k] = dr[k], se[k] = 0;
    else
      mc_ref_batches(m, m->R0, m->Q0, 400000 / B, 1000 + (uint64_t)c, 3, nout, mc_ref_drift, mc, se);
    const audit_check a = audit_ratios(nout, dr, 1, mc, se, have_ref, ref, est, refb);
    audit_record(p, &a, est, verbose, nout, dr, ref, 1, mc, se);
    printf("%4d %-6s %-7s %9.2e %9.2e %9.2e %7.2f %7.2f%s %s\n", c, path_name[path], kind_name[kind], est, a.se4,
           have_ref ? refb : NAN, a.rmc, have_ref ? a.rref : NAN, a.vm || a.vr ? " !" : "", args);
    fflush(stdout);
  }
  printf("\n%-6s %5s %7s %9s %8s %9s %8s %9s\n", "path", "cases", "refused", "max est", "max mc", "mc viol",
         "max ref", "ref viol");
  for (int i = 0; i < NPATH; i++)
    printf("%-6s %5d %7d %9.2e %8.2f %9d %8.2f %9d\n", path_name[i], ps[i].n, ps[i].refused, ps[i].est_max, ps[i].rmc,
           ps[i].viol_mc, ps[i].rref, ps[i].viol_ref);
  cl_rng_free(r);
  return 0;
}
