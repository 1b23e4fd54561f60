/* bench/audit_mm.c - helper of bench/audit_mm: an audit of the M >= 2 drift
 * engines and their printed error estimates on random configurations, any
 * M (bench/audit_m2.c is the M = 2 audit of session 7; this one draws its
 * own sequence, so that its seeds are new states; AUDIT_HARD and
 * AUDIT_SDFRAC, session 13, below).
 *   audit_mm N SEED [FIRST]
 * draws N configurations from SEED: M (AUDIT_M, default 3; 0: 2 to 4 at
 * random), activation, g, lambda in {0, 0.3, 1, 3}, B in {1, 2, 3, 4},
 * s in [0.05, 1.5], rho in [-0.9, 0.95], K = 1..4 laws (gauss, rademacher,
 * uniform, laplace, sparse, discrete mixes and student laws with nu just
 * above the engines' thresholds: 9.5, 10, 38, 41.5) and a state of one of
 * six kinds (small R, units nearly along the features, a dying unit with
 * Q_11 ~ 1e-6, small Q ~ 0.02, large R (|R| 2-3), units correlated by
 * 0.3-0.8 but not collinear).  AUDIT_OPTS is appended to the options (e.g.
 * "--expect quad"), and the draw is bent to where that engine applies
 * (AUDIT_FIT=1: rho >= 0, g = square, B = 1 or lambda = 0, smooth sigma,
 * no student law, at most one continuous law; AUDIT_DISCRETE=1: discrete
 * laws only; AUDIT_GAUSS=1: gauss laws only; AUDIT_NU=nu: student laws
 * only, with that nu).  The engine is evaluated through cl_drift_alloc /
 * cl_drift_eval / cl_drift_stderr and every component of its drift is
 * compared with
 *  - the batch Monte Carlo of tests/mc_ref.c (AUDIT_NB batches, default
 *    4e5 / B; violation if |d - mc| > est + 4 se; AUDIT_NB=0 skips it);
 *  - a deterministic reference: for a polynomial sigma (linear, cubic) with
 *    g = square, B = 1 or lambda = 0, rho >= 0 and no student law the quad
 *    rule with Gauss rules throughout (exact; at most two continuous laws),
 *    else for the grid (and the closed forms at M = 2 where the grid
 *    applies) a grid capped at 400 nodes (bench/audit_m2.c's),
 *    for the quad rule the quad rule with AUDIT_QN coarse nodes (M = 2: 40,
 *    3: 26, 4: 20, 5: 14) where it applies with at most one continuous law,
 *    else the Sobol' engine with 2^16 points per rule: violation if
 *    |d - ref| > est + the reference's bound.
 * For --expect mc the printed value is a standard error, not a bound: its
 * ratios are reported, a violation is beyond 4 of it.  AUDIT_DRY=1 prints
 * the configurations only; AUDIT_S and AUDIT_ACT fix s and the activation
 * (the draws stay those of the seed).  One line per
 * configuration (its `cldyn ode` options reproduce it), then the largest
 * ratios and the violations per engine.  AUDIT_GRID3=1 (session 11, with
 * AUDIT_M=2 and AUDIT_OPTS="--expect grid") bends the draw to the grid's
 * domain and its hard states: tanh, erf, sigmoid, linear, cubic, lambda 0,
 * 0.3, 1, B = 1, rho in [0, 0.95], student nu log-uniform on [4.05, 200],
 * states of draw_state3 (nearly collinear or nearly dead units, Q_11 from
 * 1e-3 to 10), and adds the quad rule at 40 nodes as a second reference.
 * AUDIT_BEXP=1 (session 12, with AUDIT_M=2: the grid, AUDIT_M=3: the quad
 * rule) bends the draw to the exact 1/B expansion (g = square, B > 1,
 * lambda != 0): tanh, erf, sigmoid, linear, cubic; B in {2, 3, 5, 8, 16};
 * lambda log-uniform on [0.2, 3]; s uniform on [0, 2] (a tenth at 0.01);
 * rho uniform on [0, 1] (a tenth at 1); student nu log-uniform on [4.5,
 * 200] (not with linear, cubic: Monte Carlo needs their high moments;
 * cubic takes no laplace law); at M = 3 at most one continuous law and no
 * student law (the quad rule's cost, its refusal); states: at M = 2 half
 * of draw_state3's (Q_11 log-uniform on [0.05, 5]), else draw_state's.
 * The polynomial reference takes 16 Gauss points for cubic there, and
 * cubic has the Monte Carlo reference too (an independent check of the
 * expansion; its standard error is itself noisy with cubic's tails).
 * AUDIT_HARD=1 (session 13, any M; with AUDIT_FIT=1 the quad rule's domain,
 * B > 1 with lambda != 0 kept: its 1/B expansion) draws the hard states of
 * bend_hard (nearly collinear units, a nearly dead unit with Q_ii from 1e-5
 * to 1e-3, both, three nearly collinear units) on a base state of kind
 * smallR, aligned, smallQ, largeR or corr; g = abs a third of the time,
 * B in {1, 2, 4}, cubic replaced by sigmoid outside AUDIT_FIT; with
 * AUDIT_SDFRAC=f only tanh, erf and sigmoid, scaled to 0.6 f to f of the
 * quad rule's sd limit (scale_to_sd).  AUDIT_KMAX=k skips (after drawing)
 * the configurations with more than k laws: the quad rule's cost is per
 * atom combination.
 * AUDIT_GRID4=1 (session 27, helper aud4; AUDIT_M=4 or 3, AUDIT_OPTS="--expect
 * grid") bends the draw to the M = 3 and 4 grid engines' domain: tanh, erf,
 * sigmoid; lambda in {0, 0.3, 1, 3}; B = 1, g = square; rho 0 a fifth of the
 * time, else uniform on [0, 1); 1-4 laws of law_spec with student nu
 * log-uniform on [4.05, 200]; a state of four units of kind smallR,
 * aligned, dying (unit 0 with Q_00 log-uniform on [1e-5, 1e-3], bend_hard
 * 2), smallQ, largeR or collin (bend_hard 1, or 4: units 1 and 2 near unit
 * 0, a third of the time) on a base state of draw_state; at AUDIT_M=3 the
 * same four-unit draw restricted to units 0-2 (R's first three columns, Q's
 * leading 3 x 3 block), so that one seed gives the same models at M = 3
 * and 4.  The deterministic reference is the engine itself at
 * `--grid-nodes ${AUDIT_GN:-36}` (every level 1.5 times finer; its own
 * estimate as the reference's bound), the Monte Carlo the independent one,
 * and, with at most one continuous law and no student law, the quad rule
 * at AUDIT_QN nodes (M = 3: 26, 4: 20) as under AUDIT_GRID3 (its ratio
 * |d - quad| / (est + its estimate) on a line of its own).
 * Reported only. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "bench/audit_common.h"
#include "src/drift_acc.h"
#include "tests/mc_ref.h"

#define NOUT (CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX)

/* fit: no student law; ncont counts the continuous laws, of which fit
 * allows one (the quad rule's cost is per c node) */
static void law_spec(cl_rng *r, int fit, int *ncont, char *buf, size_t n) {
  const double m2 = unif(r, 0.5, 4);
  static const char *mixes[] = {"discrete:-1@0.4,2@0.2,0@0.4", "discrete:-2@0.25,1@0.5,0@0.25",
                                "discrete:-3@0.1,1@0.3,0@0.6", "discrete:-1.5@0.5,0.5@0.3,3@0.2"};
  static const double nus[] = {9.5, 10, 38, 41.5};
  int k = pick(r, 8);
  if (fit && k == 4) k = 0;
  if (fit && *ncont && (k == 0 || k == 2 || k == 3)) k = 1;
  if (getenv("AUDIT_DISCRETE") && (k == 0 || k == 2 || k == 3 || k == 4)) k = 5 + k % 3; /* discrete laws only */
  if (getenv("AUDIT_GAUSS")) k = 0; /* gauss laws only (the erf closed forms) */
  if (getenv("AUDIT_GRID3") || getenv("AUDIT_GRID4") || getenv("AUDIT_BEXP")) { /* nu log-uniform on [4.05 (bexp: 4.5), 200]; none for linear, no laplace for cubic */
    const char *act = getenv("AUDIT_GRID3_ACT");
    const int poly = act && (!strcmp(act, "linear") || !strcmp(act, "cubic"));
    if (poly && k == 4) k = 1;
    if (act && !strcmp(act, "cubic") && k == 3) k = 2;
    if (k == 4) {
      const double nu0 = getenv("AUDIT_BEXP") ? 4.5 : 4.05;
      snprintf(buf, n, "student:%.3g:%.3g", m2, exp(log(nu0) + log(200 / nu0) * cl_rng_uniform(r)));
      ++*ncont;
      return;
    }
  }
  if (getenv("AUDIT_NU")) { /* student laws only, with this nu */
    snprintf(buf, n, "student:%.3g:%s", m2, getenv("AUDIT_NU"));
    ++*ncont;
    return;
  }
  *ncont += k == 0 || k == 2 || k == 3 || k == 4;
  switch (k) {
  case 0: snprintf(buf, n, "gauss:%.3g", m2); break;
  case 1: snprintf(buf, n, "rademacher:%.3g", m2); break;
  case 2: snprintf(buf, n, "uniform:%.3g", m2); break;
  case 3: snprintf(buf, n, "laplace:%.3g", m2); break;
  case 4: snprintf(buf, n, "student:%.3g:%g", m2, nus[pick(r, 4)]); break;
  case 5: snprintf(buf, n, "sparse:%.3g:%.2g", m2, pick(r, 2) ? 0.15 : 0.4); break;
  default: snprintf(buf, n, "%s", mixes[pick(r, 4)]); break;
  }
}

static const char *kind_name[] = {"smallR", "aligned", "dying", "smallQ", "largeR", "corr",   "collin",
                                   "dead",   "Qscale",  "colldead", "coll3"};

/* AUDIT_GRID3 (M = 2): kind 6 two units at an angle of 0.05 to 0.3 rad
 * (a random plane of R^(K+2)), kind 7 a nearly dead unit (Q_22 from 1e-6
 * to 1e-3 of Q_11), kind 8 any angle, kind 9 collinear and nearly dead;
 * Q_11 log-uniform on [qlo, qhi] (AUDIT_GRID3: [1e-3, 10]), the cosine to the features' span
 * uniform on [0, 0.99]. */
static void draw_state3(cl_rng *r, int K, int kind, double qlo, double qhi, double *R, double *Q) {
  const int n = K + 2;
  double w1[CL_KMAX + 2], e[CL_KMAX + 2], w2[CL_KMAX + 2], z[2];
  const double q1 = exp(log(qlo) + log(qhi / qlo) * cl_rng_uniform(r)), cs = unif(r, 0, 0.99);
  /* w1: the features' part (first K) and the rest, at cosine cs */
  unit_vec(r, K, w1), unit_vec(r, 2, z);
  for (int k = 0; k < K; k++) w1[k] *= cs;
  w1[K] = sqrt(1 - cs * cs) * z[0], w1[K + 1] = sqrt(1 - cs * cs) * z[1];
  /* e: a unit vector orthogonal to w1 */
  double s = 0;
  unit_vec(r, n, e);
  for (int k = 0; k < n; k++) s += e[k] * w1[k];
  double ne = 0;
  for (int k = 0; k < n; k++) e[k] -= s * w1[k], ne += e[k] * e[k];
  for (int k = 0; k < n; k++) e[k] /= sqrt(ne);
  const double th = kind == 6 || kind == 9 ? unif(r, 0.05, 0.3) : unif(r, 0, M_PI);
  const double q2 = kind == 7 || kind == 9 ? q1 * exp(log(1e-6) + log(1e3) * cl_rng_uniform(r))
                                           : q1 * exp(log(0.3) + log(10) * cl_rng_uniform(r));
  for (int k = 0; k < n; k++) w2[k] = cos(th) * w1[k] + sin(th) * e[k];
  for (int k = 0; k < K; k++) R[k * 2] = sqrt(q1) * w1[k], R[k * 2 + 1] = sqrt(q2) * w2[k];
  double c12 = 0;
  for (int k = 0; k < n; k++) c12 += w1[k] * w2[k];
  Q[0] = q1, Q[3] = q2, Q[1] = Q[2] = sqrt(q1 * q2) * c12;
}

/* W = [R; Z] ((K + M) x M), Q = W^T W: Q and A = Q - R^T R = Z^T Z are
 * positive semi-definite by construction.  Column i is sqrt(q_i) (cos_i
 * u_i, sin_i v_i), u_i in R^K, v_i in R^M unit vectors; "corr" mixes the
 * columns of Z (correlation of the units 0.3-0.8). */
/* AUDIT_HARD (session 13, any M >= 2): bends the columns w_i of W (the
 * units, in R^(K+M)) to the hard states of the M >= 3 engines:
 *  hard 1 "collin": unit 1 at an angle of 0.01 to 0.3 rad from unit 0
 *    (its length kept), in a random plane;
 *  hard 2 "dead": unit 0 nearly dead, Q_00 log-uniform on [1e-5, 1e-3];
 *  hard 3 "colldead": both, unit 1 along unit 0 and nearly dead
 *    (Q_11 / Q_00 log-uniform on [1e-5, 1e-3]);
 *  hard 4 "coll3": units 1 and 2 (M >= 3) both within 0.01 to 0.3 rad of
 *    unit 0.
 * W stays a matrix of K + M rows, so Q = W^T W and Q - R^T R are positive
 * semi-definite by construction. */
static void bend_hard(cl_rng *r, int K, int M, int hard, double *W) {
  const int n = K + M;
  double nrm[CL_MMAX] = {0};
  for (int i = 0; i < M; i++) {
    for (int k = 0; k < n; k++) nrm[i] += W[k * M + i] * W[k * M + i];
    nrm[i] = sqrt(nrm[i]);
  }
  const int ncol = hard == 4 && M >= 3 ? 2 : hard == 2 ? 0 : 1;
  for (int l = 1; l <= ncol; l++) { /* w_l = |w_l| (cos th w_0 / |w_0| + sin th e), e _|_ w_0 */
    double e[CL_KMAX + CL_MMAX], d = 0, ne = 0;
    unit_vec(r, n, e);
    for (int k = 0; k < n; k++) d += e[k] * W[k * M] / nrm[0];
    for (int k = 0; k < n; k++) e[k] -= d * W[k * M] / nrm[0], ne += e[k] * e[k];
    const double th = exp(log(0.01) + log(30.0) * cl_rng_uniform(r));
    for (int k = 0; k < n; k++) W[k * M + l] = nrm[l] * (cos(th) * W[k * M] / nrm[0] + sin(th) * e[k] / sqrt(ne));
  }
  if (hard == 2 || hard == 3) { /* the dying unit: 0 ("dead"), 1 ("colldead", relative to unit 0) */
    const int i = hard == 2 ? 0 : 1;
    const double q = exp(log(1e-5) + log(100.0) * cl_rng_uniform(r)) * (hard == 3 ? nrm[0] * nrm[0] : 1);
    for (int k = 0; k < n; k++) W[k * M + i] *= sqrt(q) / nrm[i];
  }
}

static void draw_state(cl_rng *r, int K, int M, int kind, int hard, double *R, double *Q) {
  double q[CL_MMAX], cs[CL_MMAX], u[CL_MMAX][CL_KMAX], v[CL_MMAX][CL_MMAX];
  for (int i = 0; i < M; i++) {
    unit_vec(r, K, u[i]), unit_vec(r, M, v[i]);
    q[i] = unif(r, 0.3, 1.5), cs[i] = unif(r, 0, 0.7);
  }
  switch (kind) {
  case 0:
    for (int i = 0; i < M; i++) cs[i] = unif(r, 0, 0.1);
    break;
  case 1:
    for (int i = 0; i < M; i++) cs[i] = unif(r, 0.9, 0.995);
    break;
  case 2: q[0] = 1e-6 * unif(r, 0.5, 2); break;
  case 3:
    for (int i = 0; i < M; i++) q[i] = unif(r, 0.01, 0.04);
    break;
  case 4:
    for (int i = 0; i < M; i++) q[i] = unif(r, 4, 9), cs[i] = unif(r, 0.8, 0.99);
    break;
  case 5: { /* v_i -> v_i + a v_0 renormalised: the Z parts correlated */
    const double a = unif(r, 0.5, 1.2);
    for (int i = 1; i < M; i++) {
      double s = 0;
      for (int k = 0; k < M; k++) v[i][k] += a * v[0][k], s += v[i][k] * v[i][k];
      for (int k = 0; k < M; k++) v[i][k] /= sqrt(s);
    }
    break;
  }
  }
  double W[(CL_KMAX + CL_MMAX) * CL_MMAX];
  for (int i = 0; i < M; i++) {
    const double sn = sqrt(fmax(1 - cs[i] * cs[i], 0)), a = sqrt(q[i]);
    for (int k = 0; k < K; k++) W[k * M + i] = a * cs[i] * u[i][k];
    for (int k = 0; k < M; k++) W[(K + k) * M + i] = a * sn * v[i][k];
  }
  if (hard) bend_hard(r, K, M, hard, W);
  for (int k = 0; k < K; k++)
    for (int i = 0; i < M; i++) R[k * M + i] = W[k * M + i];
  for (int i = 0; i < M; i++)
    for (int l = 0; l <= i; l++) {
      double s = 0;
      for (int k = 0; k < K + M; k++) s += W[k * M + i] * W[k * M + l];
      Q[i * M + l] = Q[l * M + i] = s;
    }
}

/* AUDIT_SDFRAC=f (with AUDIT_HARD): R and Q scaled (R by a, Q by a^2: W by
 * a) so that the largest pre-activation sd, sqrt(Q_ii (1 + s^2) +
 * sum_j (m2_j - 1) R_ji^2) (src/drift.c's sd guard), is f' times the quad
 * rule's sd limit of this M and sigma (docs/accurate.md s.8: M = 2 tanh
 * 1.15, erf 2, sigmoid 4; M = 3 1.7, 2.5, 6; M = 4 1.5, 2, 5; M = 5 1.3,
 * 2.5, 4), f' uniform on [0.6 f, f].  The options parsed so far (args)
 * give the model. */
static void scale_to_sd(const char *args, double f, int K, int M, double *R, double *Q) {
  static const double lim[4][3] = {{1.15, 2, 4}, {1.7, 2.5, 6}, {1.5, 2, 5}, {1.3, 2.5, 4}};
  cl_config cfg;
  char err[CL_ERRLEN];
  if (M < 2 || M > 5 || cl_config_parse_string(&cfg, CL_CMD_ODE, args, err)) return;
  const cl_model *m = &cfg.model;
  const int k = m->act == CL_ACT_TANH ? 0 : m->act == CL_ACT_ERF ? 1 : m->act == CL_ACT_SIGMOID ? 2 : -1;
  if (k < 0) return;
  double sd = 0;
  for (int i = 0; i < M; i++) {
    double v = Q[i * M + i] * (1 + m->s * m->s);
    for (int j = 0; j < K; j++) v += (m->c[j].m2 - 1) * R[j * M + i] * R[j * M + i];
    sd = fmax(sd, sqrt(fmax(v, 0)));
  }
  const double a = f * lim[M - 2][k] / sd;
  for (int j = 0; j < K * M; j++) R[j] *= a;
  for (int j = 0; j < M * M; j++) Q[j] *= a * a;
}

enum { E_CLOSED, E_GRID, E_QUAD, E_QMC, E_MC, E_TENSOR, NENG };
static const char *eng_name[] = {"closed", "grid", "quad", "qmc", "mc", "tensor"};

static int engine_of(const char *meth) {
  if (strstr(meth, "closed")) return E_CLOSED;
  if (strstr(meth, "grid")) return E_GRID;
  if (strstr(meth, "Sobol")) return E_QMC;
  if (strstr(meth, "Gauss-Hermite in 4-d")) return E_TENSOR;
  if (strstr(meth, "Monte Carlo")) return E_MC;
  if (strstr(meth, "deterministic")) return E_QUAD;
  if (strstr(meth, "quadrature")) return E_TENSOR;
  return E_QUAD;
}

typedef audit_stat eng_stat;

/* the drift of the given options (appended to args) with its estimate;
 * 1 if refused */
static int eval_with(const char *args, const char *extra, const double *R, const double *Q, double *out,
                     double *est, char *meth, char *err) {
  char a2[2048];
  snprintf(a2, sizeof a2, "%s %s", args, extra);
  cl_config cfg;
  if (cl_config_parse_string(&cfg, CL_CMD_ODE, a2, err)) return 1;
  const int K = cfg.model.K, M = cfg.model.M;
  cl_drift *d;
  if (cl_drift_alloc(&cfg.model, &cfg.ode.quad, &d, err)) return 1;
  int bad = cl_drift_eval(d, R, Q, out, out + K * M, err) != 0;
  *est = cl_drift_stderr(d);
  if (meth) snprintf(meth, 256, "%s", cl_drift_method(d));
  cl_drift_free(d);
  return bad;
}

int main(int argc, char **argv) {
  if (argc < 3) return fprintf(stderr, "usage: audit_mm N SEED [FIRST]\n"), 2;
  const int N = atoi(argv[1]), first = argc > 3 ? atoi(argv[3]) : 0;
  const int verbose = getenv("AUDIT_VERBOSE") != NULL;
  const int Mset = getenv("AUDIT_M") ? atoi(getenv("AUDIT_M")) : 3;
  const int fit = getenv("AUDIT_FIT") != NULL;
  const char *opts = getenv("AUDIT_OPTS") ? getenv("AUDIT_OPTS") : "";
  const long nb0 = getenv("AUDIT_NB") ? atol(getenv("AUDIT_NB")) : 400000;
  cl_rng *r;
  cl_rng_alloc(strtoull(argv[2], NULL, 10), 0xa3d7, &r, NULL);
  static const char *acts[] = {"tanh", "erf", "sigmoid", "relu", "linear", "cubic"};
  static const double lams[] = {0, 0.3, 1, 3};
  eng_stat es[NENG] = {{0}};
  printf("%4s %-6s %-7s %9s %9s %9s %7s %7s %s\n", "#", "engine", "state", "estimate", "4 MC se", "ref bound",
         "mc rat", "ref rat", "cldyn ode options");
  for (int c = 0; c < N; c++) {
    char args[2048], law[96];
    const int M = Mset ? Mset : 2 + pick(r, 3);
    const int Kd = 1 + pick(r, 4), kind = pick(r, 6);
    const char *act = acts[pick(r, 6)];
    int gabs = pick(r, 4) == 0, B = 1 + pick(r, 4);
    double lam = lams[pick(r, 4)];
    double s = unif(r, 0.05, 1.5), rho = unif(r, -0.9, 0.95);
    if (getenv("AUDIT_S")) s = atof(getenv("AUDIT_S")); /* a given s (after the draw: same sequence) */
    if (getenv("AUDIT_ACT")) act = getenv("AUDIT_ACT");
    const int grid3 = getenv("AUDIT_GRID3") != NULL;
    if (grid3) { /* the grid's domain: M = 2, B = 1, g = square, rho >= 0, smooth sigma */
      static const char *acts3[] = {"tanh", "erf", "sigmoid", "linear", "cubic"};
      static const double lams3[] = {0, 0.3, 1};
      act = acts3[pick(r, 5)], lam = lams3[pick(r, 3)];
      B = 1, gabs = 0, rho = unif(r, 0, 0.95);
      setenv("AUDIT_GRID3_ACT", act, 1);
    }
    const int grid4 = getenv("AUDIT_GRID4") != NULL;
    if (grid4) { /* the M = 3, 4 grid's domain (session 27) */
      static const char *acts4[] = {"tanh", "erf", "sigmoid"};
      act = acts4[pick(r, 3)], lam = lams[pick(r, 4)];
      B = 1, gabs = 0, rho = pick(r, 5) ? unif(r, 0, 1) : 0;
      setenv("AUDIT_GRID3_ACT", act, 1);
    }
    const int bexp = getenv("AUDIT_BEXP") != NULL;
    if (bexp) { /* the exact 1/B expansion: g = square, B > 1, lambda != 0 */
      static const char *actsb[] = {"tanh", "erf", "sigmoid", "linear", "cubic"};
      static const int bs[] = {2, 3, 5, 8, 16};
      act = actsb[pick(r, 5)], B = bs[pick(r, 5)], gabs = 0;
      lam = exp(log(0.2) + log(15) * cl_rng_uniform(r));
      s = pick(r, 10) ? unif(r, 0, 2) : 0.01;
      rho = pick(r, 10) ? unif(r, 0, 1) : 1;
      setenv("AUDIT_GRID3_ACT", act, 1);
      if (getenv("AUDIT_S")) s = atof(getenv("AUDIT_S"));
    }
    const int hardm = getenv("AUDIT_HARD") != NULL;
    const double sdfrac = getenv("AUDIT_SDFRAC") ? atof(getenv("AUDIT_SDFRAC")) : 0;
    if (hardm) { /* session 13: g = abs a third of the time, B in {1, 2, 4}; cubic only for the quad rule */
      gabs = pick(r, 3) == 0, B = 1 << pick(r, 3);
      if (!fit && !strcmp(act, "cubic")) act = "sigmoid";
      if (sdfrac > 0) { /* near the sd limits: the saturating sigma only */
        static const char *acts_sd[] = {"tanh", "erf", "sigmoid"};
        act = acts_sd[pick(r, 3)];
      }
    }
    if (fit) { /* where the quad rule and the grid apply (AUDIT_HARD: the quad rule, with its 1/B expansion) */
      rho = fabs(rho), gabs = 0;
      if (!strcmp(act, "relu")) act = "tanh";
      if (B > 1 && !hardm) lam = 0;
    }
    int len = snprintf(args, sizeof args, "--M %d --act %s --g %s --lambda %.4g --B %d --s %.4g --rho %.4g", M, act,
                       gabs ? "abs" : "square", lam, B, s, rho);
    int ncont = 0;
    for (int k = 0; k < Kd; k++) {
      law_spec(r, fit || !strcmp(act, "cubic") || (bexp && M >= 3), &ncont, law, sizeof law); /* cubic: the quad rule's cost */
      len += snprintf(args + len, sizeof args - (size_t)len, " --c %s", law);
    }
    double R[CL_KMAX * CL_MMAX], Q[CL_MMAX * CL_MMAX];
    int kind_shown = kind;
    if (grid4) { /* four units drawn, the first M kept (M = 3: the same models) */
      static const int shown4[] = {0, 1, 7, 3, 4, 6};
      const int k4 = pick(r, 6), b4 = pick(r, 5);
      const int hard = k4 == 2 ? 2 : k4 == 5 ? (pick(r, 3) ? 1 : 4) : 0;
      static const int base4[] = {0, 1, 3, 4, 5};
      double R4[CL_KMAX * 4], Q4[16];
      kind_shown = hard == 4 ? 10 : shown4[k4];
      draw_state(r, Kd, 4, hard ? base4[b4] : k4, hard, R4, Q4);
      for (int k = 0; k < Kd; k++)
        for (int i = 0; i < M; i++) R[k * M + i] = R4[k * 4 + i];
      for (int i = 0; i < M; i++)
        for (int l = 0; l < M; l++) Q[i * M + l] = Q4[i * 4 + l];
    } else if (grid3 && M == 2) kind_shown = 6 + pick(r, 4), draw_state3(r, Kd, kind_shown, 1e-3, 10, R, Q);
    else if (bexp && M == 2 && pick(r, 2)) kind_shown = 6 + pick(r, 4), draw_state3(r, Kd, kind_shown, 0.05, 5, R, Q);
    else if (hardm) { /* a base state of kind 0, 1, 3, 4 or 5, bent by bend_hard */
      static const int base[] = {0, 1, 3, 4, 5}, shown[] = {0, 6, 7, 9, 10};
      const int hard = 1 + pick(r, M >= 3 ? 4 : 3);
      kind_shown = shown[hard];
      draw_state(r, Kd, M, base[pick(r, 5)], hard, R, Q);
    } else
      draw_state(r, Kd, M, kind, 0, R, Q);
    if (sdfrac > 0 && hardm) scale_to_sd(args, sdfrac * unif(r, 0.6, 1), Kd, M, R, Q);
    len = audit_state_args(args, sizeof args, len, Kd, M, R, Q);
    if (c < first) continue;
    if (getenv("AUDIT_KMAX") && Kd > atoi(getenv("AUDIT_KMAX"))) continue; /* the draw is kept, not evaluated */
    if (getenv("AUDIT_ARGS")) snprintf(args, sizeof args, "%s", getenv("AUDIT_ARGS"));
    if (getenv("AUDIT_DRY")) { /* the configurations only */
      printf("%4d %-7s %s\n", c, kind_name[kind_shown], args);
      continue;
    }
    cl_config cfg;
    char err[CL_ERRLEN], meth[256], a2[2100];
    snprintf(a2, sizeof a2, "%s %s", args, opts);
    if (audit_parse(c, a2, args, &cfg, err)) continue;
    const cl_model *m = &cfg.model;
    const int K = m->K, MM = m->M, nout = K * MM + MM * MM;
    double dr[NOUT], est;
    if (eval_with(args, opts, m->R0, m->Q0, dr, &est, meth, err)) {
      printf("%4d %-6s %-7s refused: %s | %s\n", c, "-", kind_name[kind_shown], err, args);
      fflush(stdout);
      continue;
    }
    const int eng = engine_of(meth);
    eng_stat *p = &es[eng];
    p->n++;
    /* the deterministic reference */
    double ref[NOUT], refb = 0, rest;
    int have_ref = 0;
    const int poly = m->act == CL_ACT_LINEAR || m->act == CL_ACT_CUBIC;
    int nc = 0; /* continuous laws: the quad rule as a reference only with at most one */
    for (int k = 0; k < K; k++)
      nc += m->c[k].kind == CL_LAW_GAUSS || m->c[k].kind == CL_LAW_UNIFORM || m->c[k].kind == CL_LAW_LAPLACE ||
            m->c[k].kind == CL_LAW_STUDENT;
    char ro[256];
    if (poly && nc <= (MM <= 3 ? 2 : 1) && cl_acc_applies(m, NULL, 0)) {
      /* Gauss rules throughout: exact for the polynomial integrands (degree <= 22) */
      const int ng = (m->act == CL_ACT_CUBIC && m->lambda != 0) ? (m->B > 1 ? 16 : 12) : 8;
      const cl_acc_level lv = {ng, ng, 16, -1, -1};
      cl_acc *a;
      if (!cl_acc_alloc_levels(m, &lv, &lv, &a, err) && !cl_acc_eval_level(a, 1, m->R0, m->Q0, ref, ref + K * MM, err)) {
        double mx = 0;
        for (int k = 0; k < nout; k++) mx = fmax(mx, fabs(ref[k]));
        have_ref = 2, refb = 1e-12 * mx;
      }
      cl_acc_free(a);
    } else if (grid4 && eng == E_GRID && MM >= 3) {
      /* the engine 1.5 times finer in every level (its estimate the reference's bound) */
      snprintf(ro, sizeof ro, "--grid-nodes %s", getenv("AUDIT_GN") ? getenv("AUDIT_GN") : "36");
      if (!eval_with(a2, ro, m->R0, m->Q0, ref, &rest, NULL, err)) have_ref = 1, refb = rest;
      else printf("     (fine grid reference refused: %s)\n", err);
    } else if ((eng == E_GRID || (eng == E_CLOSED && MM == 2)) && cl_grid_applies(m, NULL, 0)) {
      /* the grid of bench/audit_m2.c's reference: capped at 400 nodes */
      if (!audit_grid_ref(m, 0, ref, err)) have_ref = 1, refb = 1e-13;
    } else if ((eng == E_QUAD || eng == E_CLOSED) && nc <= 1 && cl_acc_applies(m, NULL, 0)) {
      const int qn = getenv("AUDIT_QN") ? atoi(getenv("AUDIT_QN")) : MM == 2 ? 40 : MM == 3 ? 26 : MM == 4 ? 20 : 14;
      snprintf(ro, sizeof ro, "--expect quad --quad-nodes %d", qn);
      if (!eval_with(a2, ro, m->R0, m->Q0, ref, &rest, NULL, err)) have_ref = 1, refb = rest;
      else printf("     (quad reference refused: %s)\n", err);
    } else {
      snprintf(ro, sizeof ro, "--expect qmc --qmc-points %d", 1 << 16);
      if (!eval_with(a2, ro, m->R0, m->Q0, ref, &rest, NULL, err)) have_ref = 1, refb = rest;
      else printf("     (qmc reference refused: %s)\n", err);
    }
    /* AUDIT_GRID3: the grid also against the quad rule with AUDIT_QN (40)
     * nodes and its own estimate (no student law: that rule converges like
     * 1/n there; at most one continuous law) */
    double rq = NAN;
    int nstud = 0;
    for (int k = 0; k < K; k++) nstud += m->c[k].kind == CL_LAW_STUDENT;
    /* AUDIT_GRID4 (M = 3, 4): the same with the quad rule at its reference
     * node counts (AUDIT_QN, default M = 3: 26, 4: 20), an independent
     * deterministic rule */
    const char *qns = getenv("AUDIT_QN") ? getenv("AUDIT_QN") : grid4 ? (MM == 3 ? "26" : "20") : "40";
    if ((grid3 || grid4) && eng == E_GRID && !poly && !nstud && nc <= 1) {
      double qr[NOUT], qe;
      const int qn = atoi(qns);
      snprintf(ro, sizeof ro, "--expect quad --quad-nodes %d", qn);
      if (!eval_with(a2, ro, m->R0, m->Q0, qr, &qe, NULL, err)) {
        rq = 0;
        for (int k = 0; k < nout; k++) rq = fmax(rq, fabs(dr[k] - qr[k]) / (est + qe));
      } else
        printf("     (quad reference refused: %s)\n", err);
    }
    double mc[NOUT], se[NOUT];
    const long nb = nb0 / m->B;
    /* degree-22 moments: no Monte Carlo reference for cubic, but under
     * AUDIT_BEXP (light-tailed laws only there, the Gauss reference being
     * the same expansion) */
    const int do_mc = nb > 0 && (m->act != CL_ACT_CUBIC || bexp);
    if (do_mc)
      mc_ref_batches(m, m->R0, m->Q0, nb, 7000 + (uint64_t)c, 5, nout, mc_ref_drift, mc, se);
    const double estb = eng == E_MC ? 4 * est : est; /* a standard error: 4 of it */
    double rel = 0, mx = 0; /* the tensor rule prints no estimate: its error relative to the largest |ref| */
    for (int k = 0; k < nout && have_ref; k++) rel = fmax(rel, fabs(dr[k] - ref[k])), mx = fmax(mx, fabs(ref[k]));
    if (eng == E_TENSOR && mx > 0) printf("     tensor rule: max |d - ref| / max |ref| = %.2e\n", rel / mx);
    const audit_check a = audit_ratios(nout, dr, do_mc, mc, se, have_ref, ref, estb, refb);
    audit_record(p, &a, est, verbose, nout, dr, ref, do_mc, mc, se);
    if ((grid3 || grid4) && !isnan(rq)) printf("     quad rule (%s nodes): ratio %.3f%s\n", qns, rq, rq > 1 ? " !" : "");
    printf("%4d %-6s %-7s %9.2e %9.2e %9.2e %7.2f %7.2f%s %s | %.60s\n", c, eng_name[eng], kind_name[kind_shown], est,
           do_mc ? a.se4 : NAN, have_ref ? refb : NAN, do_mc ? a.rmc : NAN, have_ref ? a.rref : NAN, a.vm || a.vr ? " !" : "",
           args, meth);
    fflush(stdout);
  }
  printf("\n%-6s %5s %9s %8s %9s %8s %9s\n", "engine", "cases", "max est", "max mc", "mc viol", "max ref", "ref viol");
  for (int i = 0; i < NENG; i++)
    if (es[i].n)
      printf("%-6s %5d %9.2e %8.2f %9d %8.2f %9d\n", eng_name[i], es[i].n, es[i].est_max, es[i].rmc, es[i].viol_mc,
             es[i].rref, es[i].viol_ref);
  cl_rng_free(r);
  return 0;
}
