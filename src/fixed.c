/* Fixed points of the order-parameter ODEs, Jacobians and stability, and
 * the learnability threshold of the uninformative state.  Notation of
 * docs/model.md s.6-7; y = (R, upper triangle of Q). */
#include "cldyn/fixed.h"
#include "cldyn/rng.h"
#include "cldyn/traj.h"
#include "drift_grid.h"
#include "fixed.h"
#include "linalg.h"
#include "ode_flow.h"

#include <gsl/gsl_complex_math.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_multiroots.h>
#include <gsl/gsl_roots.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NMAX CL_STATE_MAX

const char *cl_stability_name(cl_stability s) {
  static const char *const names[] = {"stable", "saddle", "unstable", "marginal", "unknown"};
  return names[s];
}

const char *cl_fixed_kind_name(int kind) {
  static const char *const names[] = {"uninformative", "specialised", "shared", "rotated",
                                      "mixed",         "partial",     "dead",   "collapsed"};
  return kind >= 0 && kind < CL_NFIXED_KINDS ? names[kind] : "?";
}

int cl_fixed_kind_from_name(const char *name) {
  for (int k = 0; k < CL_NFIXED_KINDS; k++)
    if (strcmp(name, cl_fixed_kind_name(k)) == 0) return k;
  return -1;
}

/* a unit is dead when Q_ii <= DEAD_Q max(1, max Q_ll); an overlap counts
 * when |cos_ji| > ZERO_COS */
#define DEAD_Q 1e-10
/* a dead unit's Jacobian: at Q_ii = DEAD_DELTA max(1, max Q_ll) and twice
 * and four times that, extrapolated to 0 in |w_i| (classify_with) */
#define DEAD_DELTA 1e-5
#define ZERO_COS 1e-6

static int dead_mask(int K, int M, const double *y) {
  double R[CL_KMAX * CL_MMAX], Q[CL_MMAX * CL_MMAX], qmax = 1;
  cl_state_unpack(K, M, y, R, Q);
  for (int i = 0; i < M; i++) qmax = fmax(qmax, Q[i * M + i]);
  int mask = 0;
  for (int i = 0; i < M; i++)
    if (Q[i * M + i] <= DEAD_Q * qmax) mask |= 1 << i;
  return mask;
}

int cl_fixed_kind_of(int K, int M, const double *y) {
  double R[CL_KMAX * CL_MMAX], Q[CL_MMAX * CL_MMAX];
  cl_state_unpack(K, M, y, R, Q);
  if (dead_mask(K, M, y)) return CL_KIND_DEAD;
  int nzero = 0, nmixed = 0, shared = 0, on[CL_KMAX] = {0}, spanned = 0;
  for (int i = 0; i < M; i++) {
    int cnt = 0, which = -1;
    for (int j = 0; j < K; j++)
      if (fabs(R[j * M + i]) > ZERO_COS * sqrt(Q[i * M + i])) cnt++, which = j;
    if (cnt == 0) nzero++;
    else if (cnt > 1) nmixed++;
    else shared |= on[which]++ > 0;
    for (int j = 0; j < K; j++)
      if (fabs(R[j * M + i]) > ZERO_COS * sqrt(Q[i * M + i])) on[j] += cnt > 1;
  }
  for (int j = 0; j < K; j++) spanned += on[j] > 0;
  if (nzero == M) return CL_KIND_UNINFORMATIVE;
  if (nzero > 0) return CL_KIND_PARTIAL;
  if (nmixed == 0) return shared ? CL_KIND_SHARED : CL_KIND_SPECIALISED;
  /* rotated: several mixed units whose R-columns are (nearly) orthogonal */
  if (nmixed >= 2 && spanned >= 2) {
    double worst = 0;
    for (int i = 0; i < M; i++)
      for (int l = i + 1; l < M; l++) {
        double dot = 0, ni = 0, nl = 0;
        for (int j = 0; j < K; j++)
          dot += R[j * M + i] * R[j * M + l], ni += R[j * M + i] * R[j * M + i],
              nl += R[j * M + l] * R[j * M + l];
        worst = fmax(worst, fabs(dot) / sqrt(ni * nl));
      }
    if (worst < 0.1) return CL_KIND_ROTATED;
  }
  return CL_KIND_MIXED;
}

void cl_fixed_opts_default(cl_fixed_opts *fo) {
  fo->nrandom = -1;
  fo->deflation = -1;
  fo->orbit_cap = 0;
  fo->progress = NULL, fo->progress_ctx = NULL;
  fo->max_evals = 0;
  fo->flows = -1;
  fo->no_collapse = 0;
  fo->phase = NULL;
}

/* progress: the fraction of the current phase (cl_fixed_opts.phase); with
 * no phase callback only the Newton starts report, as before */
static void fixed_progress(const cl_fixed_opts *fo, const char *phase, double fraction) {
  if (!fo->progress || (!fo->phase && strcmp(phase, "Newton starts") != 0)) return;
  fo->progress(fo->progress_ctx, fraction);
}

/* the start of a phase: named (cl_fixed_opts.phase), at fraction 0 */
static void fixed_phase(const cl_fixed_opts *fo, const char *phase) {
  if (fo->phase) fo->phase(fo->progress_ctx, phase);
  fixed_progress(fo, phase, 0);
}

/* the engine of the Jacobians where the default grid refuses their
 * difference points (cl_fixed_classify_fb) */
struct jac_fb {
  const cl_model *m;
  const cl_quad_opts *o;
  cl_drift *d; /* allocated at its first use */
};

/* ---- Newton with deflation, on the free coordinates ------------------- */
typedef struct {
  cl_drift *d;
  int K, M, n;
  int nfree, idx[CL_STATE_MAX]; /* the free coordinates (dead units' are pinned to 0) */
  double base[CL_STATE_MAX];    /* the full state with the pinned values */
  const double *known;          /* deflation: known roots (full states) */
  int nknown;
  double cx[CL_STATE_MAX], cf; /* the last undeflated evaluation: x and sum |F| */
  int have_c;
  long nevals;
  double s2; /* s^2: the scale of the drift's rounding (root_tol) */
  struct jac_fb *fb; /* the Jacobians' engine where the default grid refuses (cl_fixed_classify_fb) */
  const struct cpat *pat; /* on a collapse set: the free coordinates are the reduced state, the
                             groups' first units' (R, Q), embedded by cpat_embed; idx their places in y */
  struct jac_memo *memo;  /* on the collapse sets: drifts evaluated there (memo_drift), else NULL */
} root_ctx;

/* The drift without its error estimate: for the deterministic engines
 * (the grid and the quad rule) their fine level alone, which is their drift
 * bit for bit; the coarse level serves only the estimate, which Newton, the
 * Jacobians and the classification do not use (docs/grid.md s.9). */
static cl_status fixed_drift(cl_drift *d, int K, int M, const double *y, double *f, char *err) {
  const int rep = cl_drift_written_rep(d);
  if (rep < 0) return cl_ode_drift(d, K, M, y, f, err);
  double R[CL_KMAX * CL_MMAX], Q[CL_MMAX * CL_MMAX], dR[CL_KMAX * CL_MMAX], dQ[CL_MMAX * CL_MMAX];
  cl_state_unpack(K, M, y, R, Q);
  cl_status st = cl_drift_eval_rep(d, rep, R, Q, dR, dQ, err);
  if (!st) cl_state_pack(K, M, dR, dQ, f);
  return st;
}

static void cpat_embed(const struct cpat *pt, int K, const double *x, double *y);
static cl_status memo_drift(root_ctx *c, int rep, const double *y, double *f, char *err);

static void full_state(const root_ctx *c, const double *x, double *y) {
  if (c->pat) {
    cpat_embed(c->pat, c->K, x, y);
    return;
  }
  memcpy(y, c->base, sizeof(double) * (size_t)c->n);
  for (int k = 0; k < c->nfree; k++) y[c->idx[k]] = x[k];
}

static int root_f(const gsl_vector *x, void *params, gsl_vector *f) {
  root_ctx *c = params;
  double y[CL_STATE_MAX], F[CL_STATE_MAX];
  full_state(c, x->data, y);
  if (memo_drift(c, -1, y, F, NULL)) return GSL_EDOM;
  double fac = 1, sum = 0;
  /* Farrell, Birkisson & Funke's deflation: (1 / |y - y_k|^2 + 1) per known root */
  for (int k = 0; k < c->nknown; k++) {
    const double *yk = c->known + (size_t)k * c->n;
    double d2 = 0;
    for (int q = 0; q < c->n; q++) d2 += (y[q] - yk[q]) * (y[q] - yk[q]);
    fac *= 1 / fmax(d2, 1e-300) + 1;
  }
  for (int k = 0; k < c->nfree; k++) {
    f->data[k] = fac * F[c->idx[k]];
    sum += fabs(F[c->idx[k]]);
  }
  if (!isfinite(fac)) return GSL_EDOM;
  memcpy(c->cx, x->data, sizeof(double) * (size_t)c->nfree);
  c->cf = sum, c->have_c = 1;
  return GSL_SUCCESS;
}

/* The residual a root must reach: 1e-11, or 1e-11 times the largest |x|
 * when that exceeds 1 (the drift's terms, hence its rounding, grow with Q:
 * at s = 1000 the uninformative point has Q = 24690, where 1e-11 is below
 * the rounding of dQ/dt); and never below the rounding of the noise terms,
 * which carry Q (1 + s^2): eps (1 + s^2) times the largest |x| (at s = 1e4
 * the uninformative point has Q = 2.47e6 and dQ/dt jitters by 3e-4 from one
 * ulp of Q to the next, above 1e-11 Q = 2.5e-5).  docs/hardening.md s.11, s.13. */
static double root_tol(double s2, int n, const double *x) {
  double big = 1;
  for (int k = 0; k < n; k++) big = fmax(big, fabs(x[k]));
  return fmax(1e-11, DBL_EPSILON * (1 + s2)) * big;
}

/* sum |F| (undeflated) at x */
static double undeflated(root_ctx *c, const double *x) {
  if (c->have_c && memcmp(c->cx, x, sizeof(double) * (size_t)c->nfree) == 0) return c->cf;
  double y[CL_STATE_MAX], F[CL_STATE_MAX], sum = 0;
  full_state(c, x, y);
  if (memo_drift(c, -1, y, F, NULL)) return INFINITY;
  for (int k = 0; k < c->nfree; k++) sum += fabs(F[c->idx[k]]);
  return sum;
}

/* Newton (hybrids) from the full state y0 on the free coordinates; returns 1
 * and the root (full state) in y when sum |F| < 1e-11. */
static int newton(root_ctx *c, const double *y0, double *y) {
  double x0[CL_STATE_MAX];
  for (int k = 0; k < c->nfree; k++) x0[k] = y0[c->idx[k]];
  gsl_multiroot_function F = {root_f, (size_t)c->nfree, c};
  gsl_vector_view xv = gsl_vector_view_array(x0, (size_t)c->nfree);
  gsl_multiroot_fsolver *s = gsl_multiroot_fsolver_alloc(gsl_multiroot_fsolver_hybrids, (size_t)c->nfree);
  if (!s) return -1;
  int ok = 0;
  c->have_c = 0;
  if (gsl_multiroot_fsolver_set(s, &F, &xv.vector) == GSL_SUCCESS) {
    for (int it = 0; it < 200; it++) {
      if (gsl_multiroot_fsolver_iterate(s)) break;
      if (undeflated(c, s->x->data) < root_tol(c->s2, c->nfree, s->x->data)) {
        ok = 1;
        break;
      }
    }
  }
  if (ok) full_state(c, s->x->data, y);
  gsl_multiroot_fsolver_free(s);
  return ok;
}

/* Damped Newton on the free coordinates with deflation (Farrell, Birkisson &
 * Funke 2015): the step of G = m F, m = prod_k (1 / |y - y_k|^2 + 1), is
 * the Newton step d of F scaled by 1 / (1 - grad(log m) . d) (their eq. 3.3);
 * the Jacobian of F by forward differences (a backward one where the
 * forward step leaves the domain), the step by a truncated SVD (so
 * directions along a continuous family do not blow up), halved until the
 * state is in the domain and |G| decreases.  Returns 1 and the root. */
static double deflation_log(const root_ctx *c, const double *y, double *grad) {
  double lm = 0;
  if (grad) memset(grad, 0, sizeof(double) * (size_t)c->n);
  for (int k = 0; k < c->nknown; k++) {
    const double *yk = c->known + (size_t)k * c->n;
    double d2 = 0;
    for (int q = 0; q < c->n; q++) d2 += (y[q] - yk[q]) * (y[q] - yk[q]);
    d2 = fmax(d2, 1e-300);
    lm += log1p(1 / d2);
    /* d/dy log(1/d2 + 1) = -2 (y - yk) / (d2 (1 + d2)) */
    if (grad)
      for (int q = 0; q < c->n; q++) grad[q] += -2 * (y[q] - yk[q]) / (d2 * (1 + d2));
  }
  return lm;
}

static int eval_free(root_ctx *c, const double *x, double *F) {
  double y[CL_STATE_MAX], f[CL_STATE_MAX];
  full_state(c, x, y);
  if (memo_drift(c, -1, y, f, NULL)) return 1;
  for (int k = 0; k < c->nfree; k++) F[k] = f[c->idx[k]];
  return 0;
}

static double norm2(const double *v, int n) {
  double s = 0;
  for (int k = 0; k < n; k++) s += v[k] * v[k];
  return sqrt(s);
}

static int damped_newton(root_ctx *c, const double *y0, double *yout) {
  const int nf = c->nfree;
  if (nf == 0) return 0;
  double x[CL_STATE_MAX], F[CL_STATE_MAX], xt[CL_STATE_MAX], Ft[CL_STATE_MAX], y[CL_STATE_MAX];
  for (int k = 0; k < nf; k++) x[k] = y0[c->idx[k]];
  if (eval_free(c, x, F)) return 0;
  gsl_matrix *J = gsl_matrix_alloc((size_t)nf, (size_t)nf), *V = gsl_matrix_alloc((size_t)nf, (size_t)nf);
  gsl_vector *S = gsl_vector_alloc((size_t)nf), *work = gsl_vector_alloc((size_t)nf);
  int ok = J && V && S && work ? 0 : -1;
  for (int it = 0; it < 60 && !ok; it++) {
    double l1 = 0;
    for (int k = 0; k < nf; k++) l1 += fabs(F[k]);
    if (l1 < root_tol(c->s2, nf, x)) {
      ok = 1;
      break;
    }
    /* Jacobian of F */
    int bad = 0;
    for (int q = 0; q < nf && !bad; q++) {
      double h = 1e-7 * fmax(1, fabs(x[q]));
      memcpy(xt, x, sizeof(double) * (size_t)nf);
      xt[q] = x[q] + h;
      if (eval_free(c, xt, Ft)) {
        xt[q] = x[q] - h, h = -h;
        if (eval_free(c, xt, Ft)) bad = 1;
      }
      for (int k = 0; k < nf && !bad; k++) gsl_matrix_set(J, (size_t)k, (size_t)q, (Ft[k] - F[k]) / h);
    }
    if (bad) break;
    /* d = -J^+ F by the SVD, singular values below 1e-10 sigma_max dropped */
    gsl_linalg_SV_decomp(J, V, S, work);
    double smax = gsl_vector_get(S, 0), d[CL_STATE_MAX] = {0};
    for (int r = 0; r < nf; r++) {
      double sr = gsl_vector_get(S, (size_t)r);
      if (!(sr > 1e-10 * smax)) continue;
      double u = 0;
      for (int k = 0; k < nf; k++) u += gsl_matrix_get(J, (size_t)k, (size_t)r) * F[k];
      for (int q = 0; q < nf; q++) d[q] -= gsl_matrix_get(V, (size_t)q, (size_t)r) * u / sr;
    }
    /* deflation: scale the step */
    double lm = 0, g[CL_STATE_MAX];
    if (c->nknown) {
      full_state(c, x, y);
      lm = deflation_log(c, y, g);
      double gd = 0;
      for (int q = 0; q < nf; q++) gd += g[c->idx[q]] * d[q];
      double den = 1 - gd;
      if (fabs(den) > 1e-12) {
        double tau = 1 / den;
        if (tau < 0) tau = -tau; /* keep the descent direction of F */
        for (int q = 0; q < nf; q++) d[q] *= tau;
      }
    }
    double merit = log(norm2(F, nf)) + lm, step = 1;
    int acc = 0;
    for (int ls = 0; ls < 30 && !acc; ls++, step /= 2) {
      for (int q = 0; q < nf; q++) xt[q] = x[q] + step * d[q];
      if (eval_free(c, xt, Ft)) continue;
      full_state(c, xt, y);
      double mt = log(norm2(Ft, nf)) + (c->nknown ? deflation_log(c, y, NULL) : 0);
      if (mt < merit || norm2(Ft, nf) == 0) acc = 1;
    }
    if (!acc) break;
    memcpy(x, xt, sizeof(double) * (size_t)nf);
    memcpy(F, Ft, sizeof(double) * (size_t)nf);
  }
  if (J) gsl_matrix_free(J);
  if (V) gsl_matrix_free(V);
  if (S) gsl_vector_free(S);
  if (work) gsl_vector_free(work);
  if (ok > 0) full_state(c, x, yout);
  return ok;
}

/* ---- Jacobian and classification -------------------------------------- */
/* stability from p's n eigenvalues: an eigenvalue within 10 times its own
 * error eig_error (at least 1e-8) of 0 makes the point marginal
 * (docs/theory.md s.7, docs/fixed-points.md s.2); the part of eig_error
 * that is the engine's own error (bd, NULL: none; rules_error: the Sobol'
 * rules' bound or the deterministic rules' level difference), already a
 * bound with its own factor, counts once */
static void set_stability(cl_fixed_point *p, int n, const double *bd) {
  int pos = 0, neg = 0;
  for (int k = 0; k < n; k++) {
    const double b = bd ? bd[k] : 0, tol = isfinite(b) ? fmax(1e-8, 10 * (p->eig_error[k] - b) + b) : INFINITY;
    pos += p->eig_re[k] > tol, neg += p->eig_re[k] < -tol;
  }
  p->stability = pos + neg < n ? CL_MARGINAL : pos == 0 ? CL_STABLE : neg == 0 ? CL_UNSTABLE : CL_SADDLE;
}

/* jac_error: the largest of the eigenvalues' errors */
static void set_jac_error(cl_fixed_point *p, int n) {
  p->jac_error = 0;
  for (int k = 0; k < n; k++) p->jac_error = fmax(p->jac_error, p->eig_error[k]);
}

static cl_status eigen(const double *J, int n, cl_fixed_point *p, const double *bd) {
  if (cl_eigen_nonsymm(J, n, 1, p->eig_re, p->eig_im)) return CL_ENOMEM;
  set_jac_error(p, n);
  set_stability(p, n, bd);
  return CL_OK;
}

static double residual_at(cl_drift *d, int K, int M, const double *y, char *err, cl_status *st) {
  double f[CL_STATE_MAX], r = 0;
  int n = cl_state_size(K, M);
  if ((*st = fixed_drift(d, K, M, y, f, err))) return INFINITY;
  for (int k = 0; k < n; k++) r = fmax(r, fabs(f[k]));
  return r;
}

/* e[k] += w times the move of the k-th eigenvalue of J (cl_eigen_nonsymm's
 * order) to its partner in J2 (cl_ode_eig_moves); -1 if out of memory */
static int add_moves(const double *J, const double *J2, int n, double w, double *e) {
  double mv[CL_STATE_MAX];
  if (cl_ode_eig_moves(J, J2, n, mv)) return -1;
  for (int k = 0; k < n; k++) e[k] += w * mv[k];
  return 0;
}

/* The number of the fallback engine's rules or levels that jac_variants
 * differentiates one by one (0: dj is differentiated as one drift) */
static int n_rules(cl_drift *d, cl_drift *dj) {
  const int nr = cl_drift_nrep(dj);
  return dj != d && nr >= 2 ? nr : 0;
}

/* The Jacobians at y from which the eigenvalues' errors come, each n x n
 * in V: V[0] the Jacobian (of dj; for the fallback engine its fine level,
 * or the mean of its Sobol' rules), V[1] its finite-difference check
 * (cl_ode_jacobian_pair: the error is *fac times the move between them;
 * NULL check: not computed), and with nr = n_rules > 0 the rules or levels
 * one by one, V[2 + r], each differentiated by cl_ode_jacobian_pair with
 * the rule pinned (the same drift evaluations in all as the drift's
 * Jacobian: each rule costs 1/nrep of it). */
static cl_status jac_variants(cl_drift *dj, int nr, int K, int M, const double *y, int check, double *V, int *fac,
                              char *err) {
  const int n = cl_state_size(K, M), w = cl_drift_written_rep(dj);
  const size_t nn = (size_t)n * (size_t)n;
  if (!nr) return cl_ode_jacobian_pair(dj, K, M, y, V, check ? V + nn : NULL, fac, err);
  double *J2 = malloc(sizeof(double) * nn * (size_t)nr);
  if (!J2) return cl_fail(err, CL_ENOMEM, "out of memory");
  cl_status st = CL_OK;
  for (int r = 0; r < nr && !st; r++) {
    cl_drift_pin_rep(dj, r);
    st = cl_ode_jacobian_pair(dj, K, M, y, V + (size_t)(2 + r) * nn, check ? J2 + (size_t)r * nn : NULL, fac, err);
  }
  cl_drift_pin_rep(dj, -1);
  for (size_t k = 0; k < nn && !st; k++) {
    double a = 0, b = 0;
    for (int r = 0; r < nr; r++) a += V[(size_t)(2 + r) * nn + k], b += check ? J2[(size_t)r * nn + k] : 0;
    V[k] = w >= 0 ? V[(size_t)(2 + w) * nn + k] : a / nr;
    if (check) V[nn + k] = w >= 0 ? J2[(size_t)w * nn + k] : b / nr;
  }
  free(J2);
  return st;
}

/* The engine's part of each eigenvalue's error into e (added), from the
 * moves of the eigenvalues to the engine's other levels or rules: their
 * largest move emax for the deterministic rules' levels (wr >= 0), t sd /
 * sqrt(nrep) with sd from the moves' squares ss for nr >= 2 Sobol' rules,
 * as the drift's own bound */
static void add_engine_error(const cl_drift *d, int nr, int wr, int n, const double *emax, const double *ss,
                             double *e) {
  for (int k = 0; k < n; k++)
    e[k] += nr >= 2 && wr < 0 ? cl_drift_tquant(d) * sqrt(ss[k] / ((double)nr * (nr - 1))) : emax[k];
}

/* The error of each eigenvalue of V[0] (jac_variants) into e (added):
 * fac times its move to V[1], plus the engine's: the quad rule's levels,
 * the largest move to another level; the Sobol' rules, t sd / sqrt(nrep)
 * with sd from each rule's move, as the drift's own bound.  -1 if out of
 * memory. */
static int variant_errors(cl_drift *dj, int nr, int n, const double *V, int fac, double *e) {
  const size_t nn = (size_t)n * (size_t)n;
  const int w = cl_drift_written_rep(dj);
  double eng[CL_STATE_MAX] = {0}, ss[CL_STATE_MAX] = {0};
  if (add_moves(V, V + nn, n, fac, e)) return -1;
  for (int r = 0; r < nr; r++) {
    double mv[CL_STATE_MAX];
    if (r == w) continue;
    if (cl_ode_eig_moves(V, V + (size_t)(2 + r) * nn, n, mv)) return -1;
    for (int k = 0; k < n; k++) eng[k] = fmax(eng[k], mv[k]), ss[k] += mv[k] * mv[k];
  }
  add_engine_error(dj, nr, w, n, eng, ss, e);
  return 0;
}

/* a dead point's Jacobians (classify_with): y0 with each dead unit's Q_ii
 * at the level r of delta, 2 delta, 4 delta (delta = DEAD_DELTA max(1,
 * max Q_ll)) into y; *dc (if not NULL) marks the dead units' coordinates
 * (R_.i, Q_i.) by 1 */
static void dead_level(int K, int M, const double *y0, int dead, int r, double *y, double *dc) {
  double qmax = 1, Rm[CL_KMAX * CL_MMAX], Qm[CL_MMAX * CL_MMAX];
  cl_state_unpack(K, M, y0, Rm, Qm);
  for (int i = 0; i < M; i++) qmax = fmax(qmax, Qm[i * M + i]);
  for (int i = 0; i < M; i++)
    if (dead >> i & 1) Qm[i * M + i] = DEAD_DELTA * qmax * (1 << r);
  cl_state_pack(K, M, Rm, Qm, y);
  if (!dc) return;
  for (int j = 0; j < K; j++)
    for (int i = 0; i < M; i++) Rm[j * M + i] = dead >> i & 1;
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) Qm[i * M + l] = (dead >> i & 1) || (dead >> l & 1);
  cl_state_pack(K, M, Rm, Qm, dc);
}

/* entry k of the extrapolation to Q_ii = 0 in |w_i| from the three levels
 * a[0], a[stride], a[2 stride] (classify_with), 0 in a dead unit's row and
 * a live column (dc: dead_level) */
static double dead_extrapolated(const double *a, size_t stride, const double *dc, size_t k, int n) {
  const double c0 = 4 + 2 * M_SQRT2, c2 = 1 + M_SQRT2, c1 = 1 - c0 - c2;
  if (dc[k / (size_t)n] != 0 && dc[k % (size_t)n] == 0) return 0;
  return c0 * a[0] + c1 * a[stride] + c2 * a[2 * stride];
}

/* rule r's Jacobian (pinned by the caller) at y0 + x / c in the live
 * coordinates (x NULL: at y0), extrapolated to Q_ii = 0 at a dead point as
 * classify_with's, into X; W: 3 n^2 of work */
static cl_status rule_jacobian(cl_drift *d, int K, int M, const double *y0, int dead, const double *dc, const int *live,
                               int nl, const gsl_vector *x, double c, double *W, double *X, char *err) {
  const int n = cl_state_size(K, M);
  const size_t nn = (size_t)n * (size_t)n;
  int fac;
  cl_status st = CL_OK;
  for (int l = 0; l < (dead ? 3 : 1) && !st; l++) {
    double y[CL_STATE_MAX];
    if (dead) dead_level(K, M, y0, dead, l, y, NULL);
    else memcpy(y, y0, sizeof(double) * (size_t)n);
    for (int a = 0; a < nl && x; a++) y[live[a]] += gsl_vector_get(x, (size_t)a) / c;
    st = cl_ode_jacobian_pair(d, K, M, y, dead ? W + (size_t)l * nn : X, NULL, &fac, err);
  }
  for (size_t k = 0; k < nn && dead && !st; k++) X[k] = dead_extrapolated(W + k, nn, dc, k, n);
  return st;
}

/* The engine's own error (docs/fixed-points.md s.2, "The Sobol' rules' own
 * error" and "The deterministic rules' own error") into e (added): the
 * listed point is a root of d's drift and J its Jacobian there, both
 * carrying the engine's error against the exact ODE.  The other rules: the
 * Sobol' rules one by one (nrep >= 2, none written); the deterministic
 * engines' levels other than the written one (the M = 2 grid's coarse
 * level, the quad rule's coarse and middle); the M = 1 quadrature's coarse
 * copy (cl_drift_m1_coarse).  Rule r alone has its root at y0 + dy_r,
 * dy_r = -J^{-1} f_r(y0) to first order (J: the Jacobian at y0,
 * extrapolated at a dead point, whose dead coordinates stay 0: dy_r in the
 * live ones), and there the Jacobian J_r(y0) + J_r'(y0) dy_r, whose
 * eigenvalues move from J's by the rule's error in the Jacobian and in the
 * location.  The derivative along dy_r is c (J_r(y0 + dy_r / c) -
 * J_r(y0)), first c = sqrt(nrep) for the Sobol' rules (a shift the size of
 * the mean's location error) and c = 1 for a level (its Jacobian at its
 * own root), 8 times more while the shifted point leaves the domain.  The
 * error: for the Sobol' rules t sd / sqrt(nrep) of the moves, as the
 * drift's own bound; for the levels the largest move, as their estimate.
 * Where J is singular or the shifted point stays outside the domain, the
 * error is infinite (the point is marginal). */
static cl_status rules_error(cl_drift *d, int K, int M, const double *y0, int dead, const double *J, double *e,
                             char *err) {
  const int n = cl_state_size(K, M), w = cl_drift_written_rep(d);
  cl_drift *coarse = NULL;
  cl_status s0 = cl_drift_nrep(d) < 2 ? cl_drift_m1_coarse(d, &coarse, err) : CL_OK;
  if (s0) return s0;
  const int nr = coarse ? 1 : cl_drift_nrep(d), sobol = !coarse && w < 0;
  if (nr < (coarse ? 1 : 2)) return CL_OK;
  const size_t nn = (size_t)n * (size_t)n;
  double dc[CL_STATE_MAX] = {0}, ss[CL_STATE_MAX] = {0}, emax[CL_STATE_MAX] = {0};
  int live[CL_STATE_MAX], nl = 0, sgn, lost = 0;
  if (dead) dead_level(K, M, y0, dead, 0, dc, dc);
  for (int k = 0; k < n; k++)
    if (dc[k] == 0) live[nl++] = k;
  const size_t nla = nl ? (size_t)nl : 1; /* W = 0 (every unit dead): no location to shift */
  /* one block for the call: W (3 nn), X0, X1, Jr; the live block A of J
   * (nla^2), b, x (nla each); the permutation's nla indices */
  double *W = calloc(6 * nn + nla * (nla + 2) + (nla * sizeof(size_t) + sizeof(double) - 1) / sizeof(double),
                     sizeof(double));
  cl_status st = W ? CL_OK : cl_fail(err, CL_ENOMEM, "out of memory");
  if (st) {
    cl_drift_free(coarse);
    return st;
  }
  double *X0 = W + 3 * nn, *X1 = W + 4 * nn, *Jr = W + 5 * nn, *Ad = W + 6 * nn;
  gsl_matrix_view Av = gsl_matrix_view_array(Ad, nla, nla);
  gsl_vector_view bv = gsl_vector_view_array(Ad + nla * nla, nla), xv = gsl_vector_view_array(Ad + nla * (nla + 1), nla);
  gsl_permutation Pv = {nla, (size_t *)(Ad + nla * (nla + 2))};
  gsl_matrix *A = &Av.matrix;
  gsl_vector *b = &bv.vector, *x = &xv.vector;
  gsl_permutation *P = &Pv;
  gsl_permutation_init(P);
  for (int a = 0; a < nl; a++)
    for (int c = 0; c < nl; c++) gsl_matrix_set(A, (size_t)a, (size_t)c, J[live[a] * n + live[c]]);
  if (!nl) gsl_matrix_set(A, 0, 0, 1);
  lost = gsl_linalg_LU_decomp(A, P, &sgn) || gsl_linalg_LU_det(A, sgn) == 0;
  for (int r = 0; r < nr && !st && !lost; r++) {
    double f[CL_STATE_MAX], mv[CL_STATE_MAX], c = sobol ? sqrt((double)nr) : 1;
    cl_drift *dr = coarse ? coarse : d;
    if (!coarse && r == w) continue;
    if (!coarse) cl_drift_pin_rep(d, r);
    st = cl_ode_drift(dr, K, M, y0, f, err); /* the pinned rule or level (not fixed_drift's written one) */
    for (int a = 0; a < nl && !st; a++) gsl_vector_set(b, (size_t)a, -f[live[a]]);
    if (!st) lost = gsl_linalg_LU_solve(A, P, b, x) != 0;
    for (int a = 0; a < nl && !st; a++) lost |= !isfinite(gsl_vector_get(x, (size_t)a));
    for (int tries = 0; !st && !lost; tries++, c *= 8) {
      char e1[CL_ERRLEN];
      cl_status sj = rule_jacobian(dr, K, M, y0, dead, dc, live, nl, x, c, W, X1, e1);
      if (!sj) break;
      if (sj != CL_EDIVERGE) st = cl_fail(err, sj, "%s", e1);
      lost = tries == 3;
    }
    /* J_r(y0) only where the derivative is taken (c != 1) */
    if (!st && !lost && c != 1) st = rule_jacobian(dr, K, M, y0, dead, dc, live, nl, NULL, 1, W, X0, err);
    for (size_t k = 0; k < nn && !st && !lost; k++) Jr[k] = c == 1 ? X1[k] : X0[k] + c * (X1[k] - X0[k]);
    if (!st && !lost && cl_ode_eig_moves(J, Jr, n, mv)) st = cl_fail(err, CL_ENOMEM, "out of memory");
    for (int k = 0; k < n && !st && !lost; k++) ss[k] += mv[k] * mv[k], emax[k] = fmax(emax[k], mv[k]);
  }
  if (!coarse) cl_drift_pin_rep(d, -1);
  if (!st) add_engine_error(d, nr, sobol ? -1 : 0, n, emax, ss, e);
  for (int k = 0; k < n && !st && lost; k++) e[k] = INFINITY;
  free(W);
  cl_drift_free(coarse);
  return st;
}

/* The drift's rounding in J (docs/fixed-points.md s.2, "The deterministic
 * rules' own error"): with linear and cubic sigma the grid's two levels
 * are exact but for rounding, which their difference does not see; the
 * fine level bounds its own (cl_drift_grid_round, at y: the Jacobian's
 * points are within its steps of y).  Column j of J errs by at most e_j
 * (cl_ode_jacobian_rounding), so ||E||_2 <= ||E||_F <= sqrt(n sum_j e_j^2),
 * and by Bauer-Fike every eigenvalue of the exact Jacobian J - E is within
 * kappa ||E||_2 of one of J's, kappa <= ||X||_F ||X^-1||_F with X J's
 * eigenvectors (unit columns).  That is added to every eigenvalue's error
 * (e).  Not bounded here: the Cholesky coordinates next to the boundary
 * (cl_ode_jacobian_rounding returns 1) and the dead points (both leave e
 * unchanged); a defective J (X singular) makes e infinite. */
static cl_status rounding_error(cl_drift *d, int K, int M, const double *y, int fac, const double *J, double *e,
                                char *err) {
  const int n = cl_state_size(K, M);
  double f[CL_STATE_MAX], ec[CL_STATE_MAX], s = 0;
  if (!(cl_drift_grid_round(d) > 0)) return CL_OK; /* not the grid with linear or cubic sigma (0 there) */
  cl_status st = cl_ode_drift(d, K, M, y, f, err); /* the fine level's bound at y */
  const double rnd = st ? 0 : cl_drift_grid_round(d);
  if (st || !(rnd > 0) || cl_ode_jacobian_rounding(K, M, y, fac, rnd, ec)) return st;
  for (int j = 0; j < n; j++) s += ec[j] * ec[j];
  double *W = malloc(sizeof(double) * (size_t)(n * n));
  gsl_vector_complex *ev = gsl_vector_complex_alloc((size_t)n);
  gsl_matrix_complex *X = gsl_matrix_complex_alloc((size_t)n, (size_t)n), *Y = gsl_matrix_complex_alloc((size_t)n, (size_t)n);
  gsl_permutation *P = gsl_permutation_alloc((size_t)n);
  gsl_eigen_nonsymmv_workspace *w = gsl_eigen_nonsymmv_alloc((size_t)n);
  if (!W || !ev || !X || !Y || !P || !w) st = cl_fail(err, CL_ENOMEM, "out of memory");
  double kappa = INFINITY;
  if (!st) {
    int sgn;
    memcpy(W, J, sizeof(double) * (size_t)(n * n));
    gsl_matrix_view Wv = gsl_matrix_view_array(W, (size_t)n, (size_t)n);
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    if (!gsl_eigen_nonsymmv(&Wv.matrix, ev, X, w)) {
      double fx = 0, fy = 0;
      gsl_matrix_complex_memcpy(Y, X);
      for (int i = 0; i < n * n; i++) fx += gsl_complex_abs2(gsl_matrix_complex_get(X, (size_t)(i / n), (size_t)(i % n)));
      if (!gsl_linalg_complex_LU_decomp(Y, P, &sgn) && gsl_complex_abs(gsl_linalg_complex_LU_det(Y, sgn)) > 0 &&
          !gsl_linalg_complex_LU_invx(Y, P)) {
        for (int i = 0; i < n * n; i++) fy += gsl_complex_abs2(gsl_matrix_complex_get(Y, (size_t)(i / n), (size_t)(i % n)));
        if (isfinite(fy)) kappa = sqrt(fx * fy);
      }
    }
    gsl_set_error_handler(old);
    for (int k = 0; k < n; k++) e[k] += kappa * sqrt(n * s);
  }
  free(W);
  if (ev) gsl_vector_complex_free(ev);
  if (X) gsl_matrix_complex_free(X);
  if (Y) gsl_matrix_complex_free(Y);
  if (P) gsl_permutation_free(P);
  if (w) gsl_eigen_nonsymmv_free(w);
  return st;
}

/* cl_fixed_classify with the residual from d and the Jacobian from dj
 * (d itself, or the fallback engine).  Each eigenvalue gets its own error
 * (eig_error): its move between the Jacobian and each check of it, matched
 * eigenvalue by eigenvalue (docs/fixed-points.md s.2). */
static cl_status classify_with(cl_drift *d, cl_drift *dj, int K, int M, cl_fixed_point *p, int rules, char *err) {
  const int n = p->n, dead = dead_mask(K, M, p->y), nr = n_rules(d, dj), nv = 2 + nr;
  const size_t nn = (size_t)n * (size_t)n;
  cl_status st = CL_OK;
  p->residual = residual_at(d, K, M, p->y, err, &st);
  p->kind = cl_fixed_kind_of(K, M, p->y);
  if (st) return st;
  double *V = malloc(sizeof(double) * nn * (size_t)(3 * nv + 1));
  if (!V) return cl_fail(err, CL_ENOMEM, "out of memory");
  int fac = 1;
  for (int k = 0; k < n; k++) p->eig_error[k] = 0;
  if (!dead) {
    st = jac_variants(dj, nr, K, M, p->y, 1, V, &fac, err);
  } else {
    /* on the boundary Q_ii = 0 the central differences leave the domain:
     * differentiate at Q_ii = delta, 2 delta, 4 delta (delta = DEAD_DELTA
     * max(1, Q_ll): the Cholesky coordinates of cl_ode_jacobian_pair apply
     * there) and extrapolate to 0 in sqrt(Q_ii) = |w_i|: V = c0 J(delta) +
     * c1 J(2 delta) + c2 J(4 delta) is exact for a + b |w_i| + c Q_ii,
     * every variant alike (V at level r is V + r nv nn).  The |w_i| term:
     * the Sobol' rules' drift has one, whose coefficient falls with their
     * points (the exact drift is even in w_i; docs/fixed-points.md s.2,
     * "The Sobol' rules' term in |w_i|").  The extrapolation's error is
     * twice each eigenvalue's move from V to B, the linear extrapolation
     * from delta and 2 delta: V - B = (1 + sqrt 2) (2 J(delta) - 3 J(2
     * delta) + J(4 delta)) is B's error for a term b |w_i| (exactly), and
     * 1.16, 1.29, 1.06 and 1.71 times V's for c Q_ii^p, p = 2, 3/2, 3 and
     * c Q_ii log Q_ii.  At 1e-7 instead of 1e-5 the grid's drift noise
     * over the Cholesky steps put eigenvalues 20 to 30 times their error
     * off at the dead points of docs/fixed-points.md s.2 */
    double dc[CL_STATE_MAX];
    double *B = V + (size_t)(3 * nv) * nn;
    for (int r = 0, fr = 1; r < 3 && !st; r++, fac = fr > fac ? fr : fac) {
      double y[CL_STATE_MAX];
      dead_level(K, M, p->y, dead, r, y, dc);
      st = jac_variants(dj, nr, K, M, y, 1, V + (size_t)(r * nv) * nn, &fr, err);
    }
    /* the dead units' rows vanish in the live columns (w_i = 0 stays 0
     * whatever the live units do): set so (dead_extrapolated), the Jacobian
     * is block triangular and the live units' eigenvalues are those of their
     * own block, not moved by the extrapolation's error in those rows times
     * the coupling of the live rows to the dead columns */
    for (size_t k = 0; k < nn && !st; k++) {
      const int zero = dc[k / (size_t)n] != 0 && dc[k % (size_t)n] == 0;
      B[k] = zero ? 0 : 2 * V[k] - V[(size_t)nv * nn + k];
      for (int v = 0; v < nv; v++) V[(size_t)v * nn + k] = dead_extrapolated(V + (size_t)v * nn + k, (size_t)nv * nn, dc, k, n);
    }
    if (!st && add_moves(V, B, n, 2, p->eig_error)) st = cl_fail(err, CL_ENOMEM, "out of memory");
  }
  if (!st && variant_errors(dj, nr, n, V, fac, p->eig_error)) st = cl_fail(err, CL_ENOMEM, "out of memory");
  double bd[CL_STATE_MAX] = {0};
  if (!st && rules && dj == d) st = rules_error(d, K, M, p->y, dead, V, bd, err);
  if (!st && rules && dj == d && !dead) st = rounding_error(d, K, M, p->y, fac, V, bd, err);
  for (int k = 0; k < n; k++) p->eig_error[k] += bd[k];
  if (!st && eigen(V, n, p, bd)) st = cl_fail(err, CL_ENOMEM, "out of memory");
  free(V);
  return st;
}

cl_status cl_fixed_classify(cl_drift *d, int K, int M, cl_fixed_point *p, char *err) {
  return classify_with(d, d, K, M, p, 1, err);
}

cl_status cl_fixed_classify_drift(cl_drift *d, int K, int M, cl_fixed_point *p, char *err) {
  return classify_with(d, d, K, M, p, 0, err);
}

cl_status cl_fixed_classify_fb(cl_drift *d, const cl_model *m, const cl_quad_opts *o, cl_drift **fb, int K, int M,
                               cl_fixed_point *p, char *err) {
  char e1[CL_ERRLEN];
  cl_quad_opts q, o0 = {0}; /* o NULL: the defaults */
  if (!o) o = &o0;
  p->jac_fallback = 0;
  cl_status st = classify_with(d, d, K, M, p, 1, e1);
  if (st == CL_EDIVERGE && isfinite(p->residual) && cl_drift_grid_refused(e1) && cl_drift_fallback(m, o, &q, NULL)) {
    if (!*fb && (st = cl_drift_alloc(m, &q, fb, err))) return st;
    p->jac_fallback = 1;
    st = classify_with(d, *fb, K, M, p, 1, e1);
  }
  if (st == CL_EDIVERGE) { /* no Jacobian even one-sided (a corner of the domain), or refused */
    for (int k = 0; k < p->n; k++) p->eig_re[k] = p->eig_im[k] = p->eig_error[k] = NAN;
    p->jac_error = NAN, p->stability = CL_UNKNOWN, p->jac_fallback = 0;
  }
  return st ? cl_fail(err, st, "%s", e1) : CL_OK;
}

/* ---- the finder ------------------------------------------------------- */
static int cmp_desc(const double *a, const double *b, int n) {
  for (int k = 0; k < n; k++)
    if (a[k] != b[k]) return a[k] < b[k] ? 1 : -1;
  return 0;
}

static int cmp_fp(const void *a, const void *b) {
  const cl_fixed_point *x = a, *y = b;
  return cmp_desc(x->y, y->y, x->n);
}

/* orbits ordered by stability, then by their first (largest) image */
static int cmp_orbit(const void *a, const void *b) {
  const cl_fixed_point *x = *(cl_fixed_point *const *)a, *y = *(cl_fixed_point *const *)b;
  if (x->stability != y->stability) return (int)x->stability - (int)y->stability;
  return cmp_desc(x->y, y->y, x->n);
}

typedef struct {
  double *y;
  int n, cap;
  int ns;
} start_list;

static int push(start_list *s, const double *R, const double *Q, int K, int M) {
  if (s->ns == s->cap) {
    int cap = s->cap ? 2 * s->cap : 64;
    double *y = realloc(s->y, sizeof(double) * (size_t)cap * (size_t)s->n);
    if (!y) return 1;
    s->y = y, s->cap = cap;
  }
  cl_state_pack(K, M, R, Q, s->y + (size_t)s->ns++ * s->n);
  return 0;
}

/* Q = R^T R + (1 - |R_.i|^2) on the diagonal: the units' background parts
 * orthogonal, Q_ii = 1 */
static void q_from_r(int K, int M, const double *R, double *Q) {
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) {
      double a = 0;
      for (int j = 0; j < K; j++) a += R[j * M + i] * R[j * M + l];
      Q[i * M + l] = a;
    }
  for (int i = 0; i < M; i++) Q[i * M + i] = fmax(Q[i * M + i], 1);
}

/* R (K x Ma) and Q (Ma x Ma) in place to K x M and M x M, units Ma.. dead */
static void expand(int K, int M, int Ma, double *R, double *Q) {
  if (Ma == M) return;
  double R2[CL_KMAX * CL_MMAX] = {0}, Q2[CL_MMAX * CL_MMAX] = {0};
  for (int j = 0; j < K; j++)
    for (int i = 0; i < Ma; i++) R2[j * M + i] = R[j * Ma + i];
  for (int i = 0; i < Ma; i++)
    for (int l = 0; l < Ma; l++) Q2[i * M + l] = Q[i * Ma + l];
  memcpy(R, R2, sizeof R2);
  memcpy(Q, Q2, sizeof Q2);
}

/* the standard starts for the units 0..Ma-1 alive (the others dead) */
static int make_starts(const cl_model *m, int Ma, int nrandom, start_list *s) {
  const int K = m->K, M = m->M;
  double R[CL_KMAX * CL_MMAX], Q[CL_MMAX * CL_MMAX];
  int bad = 0;
#define RESET() (memset(R, 0, sizeof R), memset(Q, 0, sizeof Q))
#define PUSH() (q_from_r(K, Ma, R, Q), expand(K, M, Ma, R, Q), bad |= push(s, R, Q, K, M))
  /* uninformative */
  RESET();
  PUSH();
  /* one unit along one feature */
  const double l1[] = {0.3, 0.7, 0.95}, l2[] = {0.5, 0.9};
  const double *lev = M == 1 ? l1 : l2;
  int nlev = M == 1 ? 3 : 2;
  for (int ji = 0; ji < K * Ma; ji++)
    for (int lv = 0; lv < nlev; lv++)
      for (int sg = 1; sg >= -1; sg -= 2) {
        RESET();
        R[(ji / Ma) * Ma + ji % Ma] = sg * lev[lv];
        PUSH();
      }
  if (Ma >= 2) {
    /* specialised: unit i on feature (i + r) mod K, for each rotation r */
    for (int r = 0; r < K && K >= Ma; r++) {
      RESET();
      for (int i = 0; i < Ma; i++) R[((i + r) % K) * Ma + i] = 0.8;
      PUSH();
    }
    /* shared: every unit on feature j */
    for (int j = 0; j < K; j++) {
      RESET();
      for (int i = 0; i < Ma; i++) R[j * Ma + i] = 0.7 * (i % 2 ? -1 : 1);
      PUSH();
      RESET();
      for (int i = 0; i < Ma; i++) R[j * Ma + i] = 0.5;
      PUSH();
    }
    /* rotated frames: units on pairs of features at +-45 degrees */
    for (int j = 0; j + 1 < K; j++) {
      RESET();
      for (int i = 0; i < Ma; i++) {
        R[j * Ma + i] = 0.5;
        R[(j + 1) * Ma + i] = i % 2 ? -0.5 : 0.5;
      }
      PUSH();
    }
  }
  /* seeded random states: W = (K + Ma) x Ma Gaussian, R its first K rows */
  cl_rng *rng;
  if (cl_rng_alloc(12345 + (uint64_t)(M - Ma), 0x6678, &rng, NULL)) return 1;
  for (int t = 0; t < nrandom; t++) {
    RESET();
    if (M == 1) {
      for (int k = 0; k < K; k++) R[k] = (2 * cl_rng_uniform(rng) - 1) * 0.9 / sqrt((double)K);
      Q[0] = 1;
      bad |= push(s, R, Q, K, M);
      continue;
    }
    double W[(CL_KMAX + CL_MMAX) * CL_MMAX];
    for (int k = 0; k < (K + Ma) * Ma; k++) W[k] = cl_rng_gauss(rng) / sqrt((double)(K + Ma));
    for (int k = 0; k < K * Ma; k++) R[k] = W[k];
    for (int i = 0; i < Ma; i++)
      for (int l = 0; l < Ma; l++) {
        double a = 0;
        for (int r = 0; r < K + Ma; r++) a += W[r * Ma + i] * W[r * Ma + l];
        Q[i * Ma + l] = a;
      }
    expand(K, M, Ma, R, Q);
    bad |= push(s, R, Q, K, M);
  }
  cl_rng_free(rng);
#undef RESET
#undef PUSH
  return bad;
}

typedef struct {
  cl_fixed_point *p;
  int np, cap;
  double *known; /* all images found, for deflation and duplicates */
  int nknown, capk;
} found_set;

static int is_known(const found_set *f, int n, const double *y, double tol) {
  for (int k = 0; k < f->nknown; k++) {
    double d = 0;
    for (int q = 0; q < n && d < tol; q++) d = fmax(d, fabs(f->known[(size_t)k * n + q] - y[q]));
    if (d < tol) return 1;
  }
  return 0;
}

/* A root within `tol` of one of its own images is a root on the fixed
 * subspace of the symmetries that map it there, located only to Newton's
 * accuracy: along a nearly flat direction (a pitchfork's centre, whose R
 * eigenvalue is ~1e-4 near the bifurcation) a residual of 1e-11 leaves it
 * 1e-8 off the subspace, and its orbit listed it twice (R = +-5e-9, the
 * uninformative point).  Averaging y over the images within tol (the
 * images of y under those symmetries, each once) projects it onto that
 * subspace; repeated while images remain within tol (the orbit may be cut
 * at cap).  `work` holds cap states.  Returns 1 if y moved. */
static int symmetrize(const cl_symmetry *g, int n, double tol, double *y, double *work, int cap) {
  int moved = 0;
  for (int pass = 0; pass < 3; pass++) {
    /* every distinct image (only equal ones merged), so that images a
     * few 1e-10 apart, which the listed orbit merges, are averaged too */
    int nim = cl_symmetry_orbit(g, y, DBL_MIN, work, cap, NULL), cnt = 0;
    double avg[CL_STATE_MAX] = {0};
    for (int a = 0; a < nim; a++) {
      const double *z = work + (size_t)a * n;
      double d = 0;
      for (int q = 0; q < n; q++) d = fmax(d, fabs(z[q] - y[q]));
      if (d >= tol) continue;
      for (int q = 0; q < n; q++) avg[q] += z[q];
      cnt++;
    }
    if (cnt <= 1) break;
    for (int q = 0; q < n; q++) y[q] = avg[q] / cnt;
    moved = 1;
  }
  return moved;
}

/* Two growth rates measured at two small offsets agree to tol (relative to
 * max(1, |rate|)): a rate, not a constant limit, which the doubled offset
 * would halve.  Used for dead units and for the collapse set's bulk rate. */
static int rates_agree(double a, double b, double tol) {
  return fabs(a - b) <= tol * fmax(1, fmax(fabs(a), fabs(b)));
}

/* A dead unit (Q_ii = 0) is a fixed point of the flow only if the drift
 * vanishes as the unit comes alive, i.e. dQ_ii/dt = O(Q_ii) at R_.i = 0,
 * Q_il = 0.  Not for g = abs with lambda > 0 and sigma'(0) != 0 (linear,
 * tanh, erf, relu): the penalty's gradient sign(C_il) y_l sigma'(h_i) x does
 * not vanish with w_i, so dQ_ii/dt tends to a positive constant (0.70 at
 * M = 2, two rademacher:3 features, tanh, lambda = 1), while at Q_ii = 0
 * itself the drift is 0 (sign(0) = 0): the flow leaves the boundary at once.
 * The test: the rate dQ_ii/dt / Q_ii at Q_ii = 1e-8 and 2e-8 (times
 * max(1, Q_ll)) agrees to 1%; a constant limit halves it. */
static int dead_limit_ok(root_ctx *c, const double *y) {
  const int K = c->K, M = c->M, n = c->n, dead = dead_mask(K, M, y);
  double qmax = 1;
  for (int i = 0; i < M; i++) qmax = fmax(qmax, y[K * M + i * M - i * (i - 1) / 2]);
  for (int i = 0; i < M; i++) {
    if (!(dead >> i & 1)) continue;
    const int k = K * M + i * M - i * (i - 1) / 2; /* Q_ii in y */
    double rate[2];
    for (int r = 0; r < 2; r++) {
      double z[CL_STATE_MAX], f[CL_STATE_MAX];
      memcpy(z, y, sizeof(double) * (size_t)n);
      z[k] = 1e-8 * qmax * (1 + r);
      c->nevals++;
      if (fixed_drift(c->d, K, M, z, f, NULL)) return 0;
      rate[r] = f[k] / z[k];
    }
    if (!rates_agree(rate[0], rate[1], 0.01)) return 0;
  }
  return 1;
}

static int collapse_sign(int K, int M, const double *y);

/* a new root y: classify it (unless pre, its classification, is given: the
 * collapse set's), list its orbit with each image's residual */
static cl_status add_orbit(cl_drift *d, struct jac_fb *fb, const cl_symmetry *g, int K, int M, const double *y,
                           const cl_fixed_point *pre, int orbit_id, int cap, found_set *f, cl_fixed_info *info,
                           char *err) {
  const int n = cl_state_size(K, M);
  double *im = malloc(sizeof(double) * (size_t)cap * (size_t)n);
  if (!im) return cl_fail(err, CL_ENOMEM, "out of memory");
  int complete, nim = cl_symmetry_orbit(g, y, 1e-9, im, cap, &complete);
  info->truncated += !complete;
  if (f->np + nim > f->cap) {
    int c2 = 2 * (f->np + nim);
    cl_fixed_point *p = realloc(f->p, sizeof *p * (size_t)c2);
    if (!p) return free(im), cl_fail(err, CL_ENOMEM, "out of memory");
    f->p = p, f->cap = c2;
  }
  if (f->nknown + nim > f->capk) {
    int c2 = 2 * (f->nknown + nim);
    double *k = realloc(f->known, sizeof(double) * (size_t)c2 * (size_t)n);
    if (!k) return free(im), cl_fail(err, CL_ENOMEM, "out of memory");
    f->known = k, f->capk = c2;
  }
  cl_fixed_point *p0 = &f->p[f->np];
  memset(p0, 0, sizeof *p0);
  p0->n = n;
  memcpy(p0->y, y, sizeof(double) * (size_t)n);
  cl_status st = pre ? (*p0 = *pre, CL_OK) : cl_fixed_classify_fb(d, fb->m, fb->o, &fb->d, K, M, p0, err);
  /* no Jacobian from any engine (a corner of the domain, or the grid asked
   * for refuses its points): listed, stability unknown */
  if (st == CL_EDIVERGE) st = CL_OK;
  info->jac_fallback += p0->jac_fallback, info->unknown += p0->stability == CL_UNKNOWN;
  for (int a = 0; a < nim && !st; a++) {
    cl_fixed_point *p = &f->p[f->np + a];
    if (a > 0) {
      /* an image: the same spectrum (the Jacobian is conjugated), its own residual */
      *p = *p0;
      memcpy(p->y, im + (size_t)a * n, sizeof(double) * (size_t)n);
      p->residual = residual_at(d, K, M, p->y, err, &st);
      p->kind = pre ? CL_KIND_COLLAPSED : cl_fixed_kind_of(K, M, p->y);
      p->collapse = pre ? collapse_sign(K, M, p->y) : 0;
    }
    p->orbit = orbit_id;
    info->max_residual = fmax(info->max_residual, p->residual);
    memcpy(f->known + (size_t)f->nknown++ * n, p->y, sizeof(double) * (size_t)n);
  }
  if (!st) f->np += nim;
  free(im);
  return st;
}

/* the free coordinates: units 0..Ma-1 alive, the others pinned at 0 */
static void set_free(root_ctx *c, int Ma) {
  const int K = c->K, M = c->M;
  c->nfree = 0;
  memset(c->base, 0, sizeof c->base);
  int k = 0;
  for (int j = 0; j < K; j++)
    for (int i = 0; i < M; i++, k++)
      if (i < Ma) c->idx[c->nfree++] = k;
  for (int i = 0; i < M; i++)
    for (int l = i; l < M; l++, k++)
      if (l < Ma) c->idx[c->nfree++] = k;
}

/* ---- flows: the ODE from a start until it settles --------------------
 * Newton from the starts can miss a stable state next to the domain's
 * boundary (units with nearly parallel weights): its basin for Newton is
 * thin there, the finite-difference steps leave the domain, while the
 * flow from the uninformative start runs into it (docs/fixed-points.md
 * s.2).  The flow is integrated in chunks of FLOW_CHUNK (DOP853, rtol
 * 1e-6: only the end matters, and Newton polishes it) until max |drift|
 * < FLOW_SETTLED or t = FLOW_TMAX, with at most FLOW_EVALS drift
 * evaluations; no new flow once the flows have spent as many evaluations
 * as the search's budget (a quarter of it stopped the escape flows below
 * after 8 of 36 at lambda = 2, docs/fixed-points.md s.2).  The Newton
 * starts keep the whole budget (the flows' evaluations are not charged to
 * it), so the flows can only add roots:
 * charged, they left M = 2, rademacher:3 + an asymmetric discrete law,
 * relu, lambda = 1.5 (18539 evaluations without flows) with 17 starts
 * untried and its one point unfound.  Measured: 200 to 1300 evaluations
 * per flow, polish included, in the cases of docs/fixed-points.md s.7. */
#define FLOW_CHUNK 10.0
#define FLOW_TMAX 400.0
#define FLOW_SETTLED 1e-7
#define FLOW_EVALS 3000
/* The escape flows (after the uninformative and three random ones): Q = I
 * and R = FLOW_ESCAPE_R times a seeded standard Gaussian per entry, i.e.
 * training from a random initialisation at N ~ 1 / FLOW_ESCAPE_R^2 = 400
 * (`reduced --init random`), FLOW_ESCAPES_PER_KM K M of them by default.
 * Which attractor a flow reaches depends on the start's direction: at
 * M = 2, two rademacher:3 features, tanh, lambda = 2, about one in ten
 * ends in a stable rotated frame that Newton from the starts and the
 * first four flows missed (docs/fixed-points.md s.2); a state reached from
 * a fraction p of such starts is missed with probability (1 - p)^(8 K M).
 * A flow that comes within FLOW_NEAR (max-norm, relative beyond 1) of a
 * listed stable point stops there: it is in that point's basin, and the
 * rest of its way (and its polish) would only find that point again. */
#define FLOW_ESCAPE_R 0.05
#define FLOW_ESCAPES_PER_KM 8
#define FLOW_ESCAPE_RTOL 1e-4
#define FLOW_NEAR 1e-3
/* Two units whose weights collapse onto one direction (w_i -> +-w_l, the
 * boundary of the domain, which the M = 2 grid refuses from a correlation
 * of about 0.9994 on; docs/fixed-points.md s.2): at lambda = 0 (two
 * rademacher:3 features, tanh) 22 of the 36 flows do, and with the grid
 * each cost about 500 evaluations at 2 ms (0.3 ms at ordinary states)
 * before the refusal ended it.  A flow is stopped where the drift is asked
 * at 1 - |correlation| below FLOW_COLLAPSE (or half its start's value, if
 * that is smaller), counted (cl_fixed_info.flow_collapses) and not
 * polished: Newton from those ends spent about 7500 evaluations and left
 * the Newton starts' budget spent. */
#define FLOW_COLLAPSE 1e-2

typedef struct {
  root_ctx *c;
  long cap;        /* the evaluation count at which the flow stops */
  double gap_stop; /* the flow stops at a state whose collinearity_gap is below this */
  int collapsed;   /* ... and says so here, the state in ystop */
  double ystop[CL_STATE_MAX];
} flow_ctx;

static double collinearity_gap(int K, int M, const double *y);

static cl_status flow_drift(void *ctx, const double *y, double *out, char *err) {
  flow_ctx *fc = ctx;
  if (fc->c->nevals >= fc->cap) return cl_fail(err, CL_EDIVERGE, "the flow's drift evaluations are spent");
  if (collinearity_gap(fc->c->K, fc->c->M, y) < fc->gap_stop) {
    fc->collapsed = 1;
    memcpy(fc->ystop, y, sizeof(double) * (size_t)fc->c->n);
    return cl_fail(err, CL_EDIVERGE, "two units collapse");
  }
  fc->c->nevals++;
  return fixed_drift(fc->c->d, fc->c->K, fc->c->M, y, out, err);
}

/* whether y is within FLOW_NEAR of a listed stable point */
static int near_stable(const found_set *f, int n, const double *y) {
  for (int a = 0; a < f->np; a++) {
    if (f->p[a].stability != CL_STABLE) continue;
    double d = 0;
    for (int k = 0; k < n; k++) d = fmax(d, fabs(y[k] - f->p[a].y[k]) / fmax(1, fabs(f->p[a].y[k])));
    if (d < FLOW_NEAR) return 1;
  }
  return 0;
}

/* 1 - |correlation| of the two most nearly parallel units (1 for M = 1) */
static double collinearity_gap(int K, int M, const double *y) {
  double u = 1;
  const double *q = y + K * M;
  for (int i = 0; i < M; i++)
    for (int l = i + 1; l < M; l++) {
      const double qii = q[i * M - i * (i - 1) / 2], qll = q[l * M - l * (l - 1) / 2];
      const double qil = q[i * M - i * (i - 1) / 2 + l - i];
      if (qii > 0 && qll > 0) u = fmin(u, 1 - fabs(qil) / sqrt(qii * qll));
    }
  return u;
}

/* the flow from y0 to y with at most cap drift evaluations; 0 if it
 * failed (left the domain, blew up, spent its evaluations), 2 if it came
 * near a listed stable point (near_stable), 3 if two units collapse (w_i
 * -> +-w_l: the drift was asked at a state with 1 - |correlation| below
 * FLOW_COLLAPSE, or below half its value at y0 if that is smaller; y is
 * that state), 1 otherwise */
static int flow_end(root_ctx *c, const found_set *f, const double *y0, long cap, double rtol, double *y) {
  flow_ctx fc = {.c = c, .cap = c->nevals + cap, .gap_stop = fmin(FLOW_COLLAPSE, collinearity_gap(c->K, c->M, y0) / 2)};
  double z[CL_STATE_MAX], F[CL_STATE_MAX];
  memcpy(z, y0, sizeof(double) * (size_t)c->n);
  for (double t = 0; t < FLOW_TMAX; t += FLOW_CHUNK) {
    if (cl_ode_flow(flow_drift, &fc, c->n, z, FLOW_CHUNK, rtol, 1e-3 * rtol, NULL)) {
      if (!fc.collapsed) return 0;
      memcpy(y, fc.ystop, sizeof(double) * (size_t)c->n);
      return 3;
    }
    if (near_stable(f, c->n, z)) return 2;
    c->nevals++;
    if (fixed_drift(c->d, c->K, c->M, z, F, NULL)) return 0;
    double fmx = 0;
    for (int k = 0; k < c->n; k++) fmx = fmax(fmx, fabs(F[k]));
    if (fmx < FLOW_SETTLED) break;
  }
  memcpy(y, z, sizeof(double) * (size_t)c->n);
  return 1;
}

/* the starts of the flows: the uninformative one, the first three seeded
 * random starts of make_starts (rnd, nrandom of them), then the escape
 * starts; nflows in all.  *nfirst: how many are not escape starts */
static int flow_starts(int K, int M, const double *unif, const double *rnd, int nrandom, int nflows, start_list *s,
                       int *nfirst) {
  double R[CL_KMAX * CL_MMAX], Q[CL_MMAX * CL_MMAX];
  const int n = s->n;
  int bad = 0;
  for (int k = 0; k < nflows && k <= (nrandom < 3 ? nrandom : 3); k++) {
    cl_state_unpack(K, M, k == 0 ? unif : rnd + (size_t)(k - 1) * n, R, Q);
    bad |= push(s, R, Q, K, M);
  }
  *nfirst = s->ns;
  cl_rng *rng;
  if (cl_rng_alloc(4242, 0x65736370, &rng, NULL)) return 1;
  while (s->ns < nflows && !bad) {
    memset(Q, 0, sizeof Q);
    for (int i = 0; i < M; i++) Q[i * M + i] = 1;
    for (int k = 0; k < K * M; k++) R[k] = FLOW_ESCAPE_R * cl_rng_gauss(rng);
    bad |= push(s, R, Q, K, M);
  }
  cl_rng_free(rng);
  return bad;
}

/* The checks a converged Newton end y (units Ma.. pinned dead) passes
 * before it is listed: in the physical domain (the drift refuses states
 * outside it), a root of the whole system (the pinned components too),
 * not a boundary point the flow leaves, and new.  Returns 2 when its orbit
 * was added (`via` marks how it was found), 1 when it is known, 0 when it
 * is rejected, -1 on an error (*st set). */
/* the collapse sets searched (M >= 2): their shapes (cpat_gen) and one
 * start list each */
typedef struct {
  struct cpat *pat;
  int npat;
  start_list *cs;
} collapse_sets;
static int push_collapse_start(const cl_symmetry *g, collapse_sets *S, int K, int M, const double *y, int exact);

static int take_root(root_ctx *cp, const cl_model *m, const cl_symmetry *g, int Ma, double *y, double *work,
                     int cap, found_set *f, cl_fixed_info *info, int via, collapse_sets *cs, cl_status *st, char *err) {
  root_ctx c = *cp;
  const int K = c.K, M = c.M, n = c.n;
  /* a unit that converged to Q_ii ~ 0 without being pinned: pin it
   * (the boundary is where the quadrature changes its rule) */
  int near_dead = 0;
  for (int i = 0; i < M; i++) {
    int k = K * M + i * M - i * (i - 1) / 2; /* Q_ii in y */
    near_dead |= (i < Ma && y[k] < 1e-7) << i;
  }
  if (near_dead) {
    root_ctx c2 = c;
    c2.nfree = 0, c2.known = NULL, c2.nknown = 0;
    int k = 0;
    for (int j = 0; j < K; j++)
      for (int i = 0; i < M; i++, k++)
        if (!(near_dead >> i & 1) && i < Ma) c2.idx[c2.nfree++] = k;
    for (int i = 0; i < M; i++)
      for (int l = i; l < M; l++, k++)
        if (!((near_dead >> i | near_dead >> l) & 1) && l < Ma) c2.idx[c2.nfree++] = k;
    double y2[CL_STATE_MAX];
    for (int q = 0; q < n; q++) y2[q] = y[q];
    memset(c2.base, 0, sizeof c2.base);
    /* every unit dead (w = 0, e.g. relu's dead state R = 0, Q = 0):
     * nothing left to solve, the residual decides */
    int dn = c2.nfree ? damped_newton(&c2, y2, y) : (full_state(&c2, y2, y), 1);
    cp->nevals = c2.nevals;
    if (dn < 0) return *st = cl_fail(err, CL_ENOMEM, "out of memory"), -1;
    if (dn == 0) return 0;
  }
  cl_status st2;
  double r = residual_at(c.d, K, M, y, NULL, &st2);
  if (st2 || !(r < 100 * root_tol(c.s2, n, y))) return 0;
  /* onto the fixed subspace of the symmetries that (nearly) fix it,
   * within the tolerance that makes two roots the same (is_known);
   * kept only if it is still a root there */
  {
    double ys[CL_STATE_MAX];
    memcpy(ys, y, sizeof(double) * (size_t)n);
    if (symmetrize(g, n, 1e5 * root_tol(c.s2, n, y), ys, work, cap)) {
      double rs = residual_at(c.d, K, M, ys, NULL, &st2);
      if (!st2 && rs < 100 * root_tol(c.s2, n, ys)) memcpy(y, ys, sizeof(double) * (size_t)n);
    }
  }
  if (!dead_limit_ok(cp, y)) return 0; /* a boundary point the flow leaves */
  /* a root on a collapse set: the collapse search solves and classifies
   * it there (collapse_search) */
  if (cs && collapse_sign(K, M, y) != 0) {
    if (push_collapse_start(g, cs, K, M, y, 1)) return *st = cl_fail(err, CL_ENOMEM, "out of memory"), -1;
    return 0;
  }
  if (is_known(f, n, y, 1e5 * root_tol(c.s2, n, y))) return 1; /* 1e-6, relative beyond |y| = 1 */
  char e1[CL_ERRLEN];
  const int np0 = f->np;
  *st = add_orbit(c.d, c.fb, g, K, M, y, NULL, ++info->orbits, cap, f, info, e1);
  if (*st) {
    cl_fail(err, *st, "at the fixed point R_1_1 = %g, Q_1_1 = %g with tau = %g, s = %g, rho = %g, "
                      "lambda = %g, B = %d: %s", y[0], y[K * M], m->tau, m->s, m->rho, m->lambda, m->B, e1);
    return -1;
  }
  for (int a = np0; a < f->np; a++) f->p[a].via = via;
  info->flow_orbits += via;
  return 2;
}

/* ---- collapse sets: units equal up to sign, in groups (M >= 2) --------
 * A collapse set is a partition of the units into groups whose weights are
 * equal up to sign, w_i = +-w_l within a group.  w_i = w_l is invariant
 * (both units have the same pre-activations for every sample, hence the
 * same per-sample gradient: the penalty sum_{i != l} g(C_il) is symmetric in
 * the units, so every SGD step moves them alike); for odd sigma w_i = -w_l
 * is too, and it is the image of w_i = w_l under the sign of unit i, so the
 * search solves on sets with all signs + alone, one per shape (the group
 * sizes, consecutive units, largest group first: {1 2} at M = 2; {1 2 3},
 * {1 2 | 3} at M = 3), and the orbits list the permutations and signs.  On
 * a set the state is that of a model with one unit per group: the reduced
 * state x = (R, Q) of the groups' first units; Newton solves the reduced
 * drift (the components of the M-unit drift at those units' coordinates:
 * the set is invariant, so the others follow) with an engine that accepts
 * the singular covariance Q - R^T R (the quad rule where the finder's
 * engine is the M = 2 grid, which refuses collinear units; otherwise the
 * finder's own).  M = 2 is classified in the coordinates of
 * collapse_coords: within the set (s, m), the odd part (d, p) = the
 * difference w_2 - w_1 along the features and along w_1, and z = |w_2 -
 * w_1|^2, whose bulk part q_perp (the Schur complement of the Gram matrix
 * of u_1..u_K, w_1, w_2) grows at the rate J_zz; M >= 3 in the coordinates
 * of cpat_coords, which generalise them (docs/fixed-points.md s.2, "Fixed
 * points on the collapse set"). */
#define COLLAPSE_TOL 1e-7    /* w_l = +-w_i to this (relative): on the set */
#define COLLAPSE_RANDOM 4    /* seeded random starts on the set */
#define COLLAPSE_RATE_TOL 0.01 /* the bulk rate at z = delta and 2 delta agrees to this */
#define COLLAPSE_NEAR 0.05     /* a start this close to an earlier one (relative) is not added */
#define COLLAPSE_JOIN 1e-2     /* a flow's end: units with 1 - |correlation| below this form a group */
#define COLLAPSE_SAME 1e-2     /* M >= 3: a Sobol' root this close to a listed one (max-norm, relative
                                  beyond 1) is that root, not polished */

/* a collapse set with all signs +: unit i in group grp[i], the groups
 * numbered by their first units rep[g] (increasing); Mr groups */
typedef struct cpat {
  int M, Mr;
  int grp[CL_MMAX], rep[CL_MMAX];
} cpat;

/* the size of the reduced state (one unit per group) */
static int cpat_size(const cpat *pt, int K) { return cl_state_size(K, pt->Mr); }

/* the place in the reduced state of Q_gh (any order of g, h) */
static int cpat_qix(const cpat *pt, int K, int g, int h) {
  if (g > h) {
    const int t = g;
    g = h, h = t;
  }
  return K * pt->Mr + g * pt->Mr - g * (g - 1) / 2 + h - g;
}

/* the pattern of units grouped by grp (group numbers by first unit) */
static void cpat_set(cpat *pt, int M, const int *grp) {
  pt->M = M, pt->Mr = 0;
  for (int i = 0; i < M; i++) {
    if (grp[i] == pt->Mr) pt->rep[pt->Mr++] = i;
    pt->grp[i] = grp[i];
  }
}

/* the shapes searched: every partition of M with a group of 2 or more, as
 * consecutive units, groups largest first ({1 2 3}, {1 2 | 3} at M = 3);
 * the other sets with all signs + are their images under the permutations.
 * Appends them to out (*cnt of them, at most cap); parts[0..np) the sizes
 * chosen so far, each at most maxp, left units to place */
static void cpat_gen(int M, int left, int maxp, int *parts, int np, cpat *out, int *cnt, int cap) {
  if (left == 0) {
    if (parts[0] < 2 || *cnt >= cap) return;
    int grp[CL_MMAX], u = 0;
    for (int g = 0; g < np; g++)
      for (int k = 0; k < parts[g]; k++) grp[u++] = g;
    cpat_set(&out[(*cnt)++], M, grp);
    return;
  }
  for (int sz = left < maxp ? left : maxp; sz >= 1; sz--) {
    parts[np] = sz;
    cpat_gen(M, left - sz, sz, parts, np + 1, out, cnt, cap);
  }
}

/* x (the reduced state) to y on the set: R_.i = R_.grp(i), Q_il = Q_grp(i)grp(l) */
static void cpat_embed(const cpat *pt, int K, const double *x, double *y) {
  const int M = pt->M, Mr = pt->Mr;
  for (int j = 0; j < K; j++)
    for (int i = 0; i < M; i++) y[j * M + i] = x[j * Mr + pt->grp[i]];
  int k = K * M;
  for (int i = 0; i < M; i++)
    for (int l = i; l < M; l++, k++) y[k] = x[cpat_qix(pt, K, pt->grp[i], pt->grp[l])];
}

/* idx[q]: the place in y of the reduced state's coordinate q (the groups'
 * first units' R and Q) */
static void cpat_idx(const cpat *pt, int K, int *idx) {
  const int M = pt->M, Mr = pt->Mr;
  int q = 0;
  for (int j = 0; j < K; j++)
    for (int g = 0; g < Mr; g++) idx[q++] = j * M + pt->rep[g];
  for (int g = 0; g < Mr; g++)
    for (int h = g; h < Mr; h++) {
      const int a = pt->rep[g], b = pt->rep[h];
      idx[q++] = K * M + a * M - a * (a - 1) / 2 + b - a;
    }
}

/* The units of y that collapse: first[i] the first unit l <= i with
 * w_i = sgn[i] w_l to COLLAPSE_TOL (relative to max(1, max Q_ll); R, Q_ii,
 * Q_il compared), both alive; first[i] = i, sgn[i] = 1 for a unit that
 * collapses onto no earlier one.  Returns how many units collapse onto an
 * earlier one. */
static int collapse_groups(int K, int M, const double *y, int *first, int *sgn) {
  const double *q = y + K * M;
#define QQ(a, b) q[(a) * M - (a) * ((a) - 1) / 2 + (b) - (a)] /* a <= b */
  double sc = 1;
  for (int i = 0; i < M; i++) sc = fmax(sc, QQ(i, i));
  int nc = 0;
  for (int i = 0; i < M; i++) {
    first[i] = i, sgn[i] = 1;
    if (!(QQ(i, i) > DEAD_Q * sc)) continue;
    for (int l = 0; l < i && first[i] == i; l++) {
      if (first[l] != l || !(QQ(l, l) > DEAD_Q * sc)) continue;
      for (int sg = 1; sg >= -1; sg -= 2) {
        double dev = fmax(fabs(QQ(l, l) - QQ(i, i)), fabs(QQ(l, i) - sg * QQ(l, l)));
        for (int j = 0; j < K; j++) dev = fmax(dev, fabs(y[j * M + i] - sg * y[j * M + l]));
        if (dev <= COLLAPSE_TOL * sc) {
          first[i] = l, sgn[i] = sg, nc++;
          break;
        }
      }
    }
  }
#undef QQ
  return nc;
}

/* 0 if no two units of y (alive) are equal up to sign; -1 if some unit is
 * minus an earlier one, +1 otherwise (M = 2: w_2 = +-w_1) */
static int collapse_sign(int K, int M, const double *y) {
  int first[CL_MMAX], sgn[CL_MMAX];
  if (!collapse_groups(K, M, y, first, sgn)) return 0;
  for (int i = 0; i < M; i++)
    if (sgn[i] < 0) return -1;
  return 1;
}

/* y lies on the set pt and on no smaller one (no two groups equal, no
 * unit dead: a dead unit on a collapse set is not searched) */
static int cpat_matches(const cpat *pt, int K, const double *y) {
  int first[CL_MMAX], sgn[CL_MMAX];
  if (dead_mask(K, pt->M, y)) return 0;
  collapse_groups(K, pt->M, y, first, sgn);
  for (int i = 0; i < pt->M; i++)
    if (first[i] != pt->rep[pt->grp[i]] || sgn[i] != 1) return 0;
  return 1;
}

/* a vector v of y-space (M = 2) in the coordinates of the collapse set,
 * out = (s_1..s_K, m | d_1..d_K, p | z): s = (R_.1 + R_.2) / 2, d = R_.2 -
 * R_.1, m = (Q_11 + Q_22) / 2, p = Q_22 - Q_11, z = Q_11 - 2 Q_12 + Q_22 */
static void collapse_coords(int K, const double *v, double *out) {
  const double *q = v + 2 * K;
  for (int j = 0; j < K; j++) out[j] = (v[2 * j] + v[2 * j + 1]) / 2, out[K + 1 + j] = v[2 * j + 1] - v[2 * j];
  out[K] = (q[0] + q[2]) / 2, out[2 * K + 1] = q[2] - q[0], out[2 * K + 2] = q[0] + q[2] - 2 * q[1];
}

/* basis vector b of those coordinates, in y-space */
static void collapse_basis(int K, int b, double *e) {
  memset(e, 0, sizeof(double) * (size_t)(2 * K + 3));
  if (b < K) e[2 * b] = e[2 * b + 1] = 1;
  else if (b == K) e[2 * K] = e[2 * K + 1] = e[2 * K + 2] = 1;
  else if (b <= 2 * K) e[2 * (b - K - 1)] = -0.5, e[2 * (b - K - 1) + 1] = 0.5;
  else if (b == 2 * K + 1) e[2 * K] = -0.5, e[2 * K + 2] = 0.5;
  else e[2 * K + 1] = -0.5;
}

/* y onto the boundary through it: Q_12 such that the units' bulk parts are
 * parallel (Q - R^T R of rank 1); 1 if a unit's bulk part is negative */
static int onto_boundary(int K, double *y) {
  double a11 = y[2 * K], a22 = y[2 * K + 2], r12 = 0;
  for (int j = 0; j < K; j++) a11 -= y[2 * j] * y[2 * j], a22 -= y[2 * j + 1] * y[2 * j + 1], r12 += y[2 * j] * y[2 * j + 1];
  if (!(a11 >= 0 && a22 >= 0)) return 1;
  y[2 * K + 1] = r12 + sqrt(a11 * a22);
  return 0;
}

/* Drifts evaluated on the collapse sets, by engine, level (rep) and state.
 * The same states come back bit for bit: in a classification
 * (collapse_classify) the point itself at each of its three step sizes,
 * and the bulk columns at 2 delta of the level h/2 are the level h's at
 * delta (2 (1e-5 b / 2) is 1e-5 b exactly); in the search
 * (collapse_search) the root of the Sobol' rules where the quad rule's
 * polish starts (evaluated first to see that the quad rule takes it), and
 * the polished root whose residual is then taken.  memo_drift looks them
 * up instead of evaluating them again: the same numbers, because every
 * engine's drift is a function of the state (docs/fixed-points.md s.2,
 * "Cost at M = 3").  ring 0: the first cap states are kept; 1: the last
 * cap. */
typedef struct jac_memo {
  int n, cap, len, ring, next;
  const cl_drift **d;
  int *rep;
  unsigned long long *key; /* memo_key of the state: compared first */
  double *y, *f;           /* cap x n each */
} jac_memo;

static void jac_memo_free(jac_memo *mo) {
  if (mo) free(mo->d), free(mo->rep), free(mo->key), free(mo->y), free(mo->f);
}

/* room for cap states of n; 1 (and no memo) if out of memory */
static int jac_memo_init(jac_memo *mo, int n, int cap, int ring) {
  mo->n = n, mo->cap = cap, mo->len = 0, mo->ring = ring, mo->next = 0;
  mo->d = malloc(sizeof(cl_drift *) * (size_t)cap);
  mo->rep = malloc(sizeof(int) * (size_t)cap);
  mo->key = malloc(sizeof(unsigned long long) * (size_t)cap);
  mo->y = malloc(sizeof(double) * (size_t)cap * (size_t)n);
  mo->f = malloc(sizeof(double) * (size_t)cap * (size_t)n);
  if (mo->d && mo->rep && mo->key && mo->y && mo->f) return 0;
  jac_memo_free(mo);
  return 1;
}

/* FNV-1a over the bytes of the state */
static unsigned long long memo_key(const double *y, int n) {
  const unsigned char *b = (const unsigned char *)y;
  unsigned long long h = 1469598103934665603ULL;
  for (size_t k = 0; k < sizeof(double) * (size_t)n; k++) h = (h ^ b[k]) * 1099511628211ULL;
  return h;
}

/* The drift of c->d at the full state y from the level rep (-1:
 * fixed_drift); from c->memo where it holds y (the counter c->nevals
 * counts the evaluations made) */
static cl_status memo_drift(root_ctx *c, int rep, const double *y, double *f, char *err) {
  const int K = c->K, M = c->M, n = c->n;
  const size_t sz = sizeof(double) * (size_t)n;
  jac_memo *mo = c->memo;
  const unsigned long long key = mo ? memo_key(y, n) : 0;
  for (int k = 0; mo && k < mo->len; k++)
    if (mo->key[k] == key && mo->d[k] == c->d && mo->rep[k] == rep && memcmp(mo->y + (size_t)k * n, y, sz) == 0)
      return memcpy(f, mo->f + (size_t)k * n, sz), CL_OK;
  c->nevals++;
  cl_status st;
  if (rep < 0) st = fixed_drift(c->d, K, M, y, f, err);
  else {
    double R[CL_KMAX * CL_MMAX], Q[CL_MMAX * CL_MMAX], dR[CL_KMAX * CL_MMAX], dQ[CL_MMAX * CL_MMAX];
    cl_state_unpack(K, M, y, R, Q);
    st = cl_drift_eval_rep(c->d, rep, R, Q, dR, dQ, err) ? CL_EDIVERGE : CL_OK;
    if (!st) cl_state_pack(K, M, dR, dQ, f);
  }
  if (!st && mo && (mo->len < mo->cap || mo->ring)) {
    const int k = mo->len < mo->cap ? mo->len++ : mo->next;
    mo->next = (k + 1) % mo->cap;
    mo->d[k] = c->d, mo->rep[k] = rep, mo->key[k] = key;
    memcpy(mo->y + (size_t)k * n, y, sz), memcpy(mo->f + (size_t)k * n, f, sz);
  }
  return st;
}

/* residual_at of c->d through memo_drift */
static double memo_residual(root_ctx *c, const double *y, cl_status *st) {
  double f[CL_STATE_MAX], r = 0;
  if ((*st = memo_drift(c, -1, y, f, NULL))) return INFINITY;
  for (int k = 0; k < c->n; k++) r = fmax(r, fabs(f[k]));
  return r;
}

/* The Jacobian at the collapsed y0 in the coordinates of collapse_coords
 * (J n x n row-major: column b the derivative along basis vector b) from
 * the drift's level `rep` (-1: fixed_drift), with steps scaled by `lev`
 * (1, 1/2, 1/4):
 * - within the set (s, m): central differences on the set;
 * - the odd part (d, p): central differences along the boundary (the
 *   steps' states moved onto it by onto_boundary, an O(h^2) move that the
 *   central difference cancels): a step along d or p alone would leave
 *   the domain at O(h^2);
 * - z: one-sided, (F(y0 + delta e_z) - F(y0)) / delta; *rate2 (if not
 *   NULL) its z-entry at 2 delta.
 * h = 1e-3 sqrt(b) lev for R, 1e-3 b lev for Q and delta = 1e-5 b lev, b
 * = Q_11 - |R_.1|^2 the unit's bulk part (the scale on which the
 * covariance changes). */
static cl_status collapse_jac(root_ctx *c, int rep, double lev, const double *y0, double *J, double *rate2,
                              char *err) {
  const int K = c->K, n = 2 * K + 3;
  double b = y0[2 * K];
  for (int j = 0; j < K; j++) b -= y0[2 * j] * y0[2 * j];
  if (!(b > 0)) return cl_fail(err, CL_EDIVERGE, "the collapsed unit has no bulk part");
  double e[CL_STATE_MAX], y[CL_STATE_MAX], fp[CL_STATE_MAX], fm[CL_STATE_MAX], f0[CL_STATE_MAX], col[CL_STATE_MAX];
#define EVAL(yy, ff) memo_drift(c, rep, yy, ff, err)
  cl_status st = EVAL(y0, f0);
  for (int bb = 0; bb < n && !st; bb++) {
    collapse_basis(K, bb, e);
    if (bb < 2 * K + 2) {
      const int isR = bb < K || (bb > K && bb <= 2 * K);
      const double h = 1e-3 * lev * (isR ? sqrt(b) : b);
      for (int sg = 1; sg >= -1 && !st; sg -= 2) {
        for (int k = 0; k < n; k++) y[k] = y0[k] + sg * h * e[k];
        if (bb > K && onto_boundary(K, y)) return cl_fail(err, CL_EDIVERGE, "a step leaves the domain");
        st = EVAL(y, sg > 0 ? fp : fm);
      }
      for (int k = 0; k < n && !st; k++) fp[k] = (fp[k] - fm[k]) / (2 * h);
    } else {
      const double dl = 1e-5 * lev * b;
      for (int r = rate2 ? 2 : 1; r >= 1 && !st; r--) { /* 2 delta only for rate2 */
        for (int k = 0; k < n; k++) y[k] = y0[k] + r * dl * e[k];
        if (!(st = EVAL(y, fp)))
          for (int k = 0; k < n; k++) fp[k] = (fp[k] - f0[k]) / (r * dl);
        if (!st && r == 2 && rate2) {
          collapse_coords(K, fp, col);
          *rate2 = col[n - 1];
        }
      }
    }
    if (st) break;
    collapse_coords(K, fp, col);
    for (int k = 0; k < n; k++) J[k * n + bb] = col[k];
  }
#undef EVAL
  return st;
}

/* ---- the coordinates across a collapse set, M >= 3 (cpat_coords) ------
 * At a point y0 on the set pt write the groups' first units (the reps) as
 * w_g = R_.g . u + L_g. . e, L the lower Cholesky factor of A = Q - R^T R
 * of the reps (Mr x Mr; e orthonormal bulk directions), and each other unit
 * a (the members, in unit order; D = M - Mr of them) of group g as w_a =
 * w_g + delta_a, delta_a = d_a . u + c_a . e + its part p_a orthogonal to
 * the features and the reps.  The coordinates xi = (x | d_a, c_a | G):
 * the reduced state x (within the set), the odd part (d_a, c_a: K + Mr per
 * member, first order in delta) and the Gram matrix G_ab = p_a . p_b of
 * the bulk parts (D (D + 1) / 2, packed upper; second order).  The map
 * Phi(xi) -> y is smooth with an invertible differential, every xi with G
 * >= 0 is in the domain, and the set is d = c = G = 0.  Its Jacobian there
 * is block upper triangular: the set is invariant (the odd and bulk rows
 * vanish in the set's columns), and so is G = 0 to first order (the drift
 * keeps span(u, W), and the noise term feeds G only at second order in d,
 * c), so the spectrum is that of the three diagonal blocks.  M = 2 is the
 * case D = 1, Mr = 1, with (d, c, G) instead of (d, p, z): the same blocks
 * up to a change of variables within each. */
typedef struct {
  const cpat *pt;
  int K, D, nr, no, nb;
  int mem[CL_MMAX];                      /* the members' units */
  double R[CL_KMAX * CL_MMAX], L[CL_MMAX * CL_MMAX]; /* the reps' R (K x Mr) and L at y0 */
  double b;                              /* min_g L_gg^2: the scale of the covariance's change */
} cpat_frame;

static int cpat_frame_at(const cpat *pt, int K, const double *y0, cpat_frame *fr) {
  const int M = pt->M, Mr = pt->Mr;
  fr->pt = pt, fr->K = K, fr->D = M - Mr, fr->nr = cpat_size(pt, K);
  fr->no = fr->D * (K + Mr), fr->nb = fr->D * (fr->D + 1) / 2;
  for (int i = 0, a = 0; i < M; i++)
    if (pt->rep[pt->grp[i]] != i) fr->mem[a++] = i;
  double A[CL_MMAX * CL_MMAX];
  for (int g = 0; g < Mr; g++)
    for (int j = 0; j < K; j++) fr->R[j * Mr + g] = y0[j * M + pt->rep[g]];
  for (int g = 0; g < Mr; g++)
    for (int h = 0; h < Mr; h++) {
      const int a = pt->rep[g < h ? g : h], c = pt->rep[g < h ? h : g];
      double v = y0[K * M + a * M - a * (a - 1) / 2 + c - a];
      for (int j = 0; j < K; j++) v -= fr->R[j * Mr + g] * fr->R[j * Mr + h];
      A[g * Mr + h] = v;
    }
  /* Cholesky, lower */
  memset(fr->L, 0, sizeof fr->L);
  fr->b = INFINITY;
  for (int g = 0; g < Mr; g++) {
    for (int h = 0; h <= g; h++) {
      double v = A[g * Mr + h];
      for (int k = 0; k < h; k++) v -= fr->L[g * Mr + k] * fr->L[h * Mr + k];
      if (h == g) {
        if (!(v > 0)) return 1;
        fr->L[g * Mr + g] = sqrt(v), fr->b = fmin(fr->b, v);
      } else
        fr->L[g * Mr + h] = v / fr->L[h * Mr + h];
    }
  }
  return 0;
}

/* place of member a's d_j, c_k, and of G_ab (a <= b), in xi */
#define XI_D(fr, a, j) ((fr)->nr + (a) * ((fr)->K + (fr)->pt->Mr) + (j))
#define XI_C(fr, a, k) ((fr)->nr + (a) * ((fr)->K + (fr)->pt->Mr) + (fr)->K + (k))
#define XI_G(fr, a, b) ((fr)->nr + (fr)->no + (a) * (fr)->D - (a) * ((a) - 1) / 2 + (b) - (a))

/* Phi: xi = (x0 | odd | G) with x0 the frame's point (odd, G given in xi)
 * to y: each unit's coordinates along (u, e), Q their inner products plus G */
static void cpat_phi(const cpat_frame *fr, const double *xi, double *y) {
  const cpat *pt = fr->pt;
  const int K = fr->K, M = pt->M, Mr = pt->Mr, w = K + Mr;
  double C[CL_MMAX * (CL_KMAX + CL_MMAX)];
  int memix[CL_MMAX];
  for (int i = 0; i < M; i++) memix[i] = -1;
  for (int a = 0; a < fr->D; a++) memix[fr->mem[a]] = a;
  for (int i = 0; i < M; i++) {
    const int g = pt->grp[i], a = memix[i];
    for (int j = 0; j < K; j++) C[i * w + j] = fr->R[j * Mr + g] + (a >= 0 ? xi[XI_D(fr, a, j)] : 0);
    for (int k = 0; k < Mr; k++) C[i * w + K + k] = fr->L[g * Mr + k] + (a >= 0 ? xi[XI_C(fr, a, k)] : 0);
  }
  for (int j = 0; j < K; j++)
    for (int i = 0; i < M; i++) y[j * M + i] = C[i * w + j];
  int q = K * M;
  for (int i = 0; i < M; i++)
    for (int l = i; l < M; l++, q++) {
      double v = 0;
      for (int k = 0; k < w; k++) v += C[i * w + k] * C[l * w + k];
      if (memix[i] >= 0 && memix[l] >= 0) v += xi[XI_G(fr, memix[i], memix[l])];
      y[q] = v;
    }
}

/* a vector v of y-space (a drift, or a difference of drifts) in xi, by
 * the inverse of Phi's differential at the set (linear in v) */
static void cpat_coords(const cpat_frame *fr, const double *v, double *out) {
  const cpat *pt = fr->pt;
  const int K = fr->K, M = pt->M, Mr = pt->Mr;
#define VQ(a, b) v[K * M + ((a) < (b) ? (a) * M - (a) * ((a) - 1) / 2 + (b) - (a) : (b) * M - (b) * ((b) - 1) / 2 + (a) - (b))]
  int idx[CL_STATE_MAX];
  cpat_idx(pt, K, idx);
  for (int q = 0; q < fr->nr; q++) out[q] = v[idx[q]];
  for (int a = 0; a < fr->D; a++) {
    const int u = fr->mem[a], g = pt->grp[u], r = pt->rep[g];
    for (int j = 0; j < K; j++) out[XI_D(fr, a, j)] = v[j * M + u] - v[j * M + r];
    /* L c = (Q_uh - Q_rh - d . R_.h) over the reps h: forward substitution */
    for (int h = 0; h < Mr; h++) {
      double s = VQ(u, pt->rep[h]) - VQ(r, pt->rep[h]);
      for (int j = 0; j < K; j++) s -= out[XI_D(fr, a, j)] * fr->R[j * Mr + h];
      for (int k = 0; k < h; k++) s -= fr->L[h * Mr + k] * out[XI_C(fr, a, k)];
      out[XI_C(fr, a, h)] = s / fr->L[h * Mr + h];
    }
  }
  for (int a = 0; a < fr->D; a++)
    for (int b = a; b < fr->D; b++) {
      const int ua = fr->mem[a], ub = fr->mem[b], g = pt->grp[ua], h = pt->grp[ub];
      double s = VQ(ua, ub) - VQ(pt->rep[g], pt->rep[h]);
      for (int j = 0; j < K; j++)
        s -= out[XI_D(fr, a, j)] * fr->R[j * Mr + h] + out[XI_D(fr, b, j)] * fr->R[j * Mr + g];
      for (int k = 0; k < Mr; k++)
        s -= out[XI_C(fr, a, k)] * fr->L[h * Mr + k] + out[XI_C(fr, b, k)] * fr->L[g * Mr + k];
      out[XI_G(fr, a, b)] = s;
    }
#undef VQ
}

/* The Jacobian at y0 on the set c->pat (M >= 3) in the coordinates xi of
 * cpat_coords (J n x n row-major), from the drift's level `rep` (-1:
 * fixed_drift), steps scaled by `lev`, as collapse_jac for M = 2: central
 * differences within the set (on it) and in the odd part (d, c; states on
 * the boundary, G = 0), one-sided in G (G >= 0: a diagonal entry alone,
 * an off-diagonal one with both diagonals, minus their columns); h =
 * 1e-3 lev sqrt(b) for R, d and c, 1e-3 lev b for Q, delta = 1e-5 lev b
 * for G.  Lb2 (if not NULL): the G block (nb x nb) at 2 delta. */
static cl_status cpat_jac(root_ctx *c, int rep, double lev, const double *y0, double *J, double *Lb2, char *err) {
  const int K = c->K, n = c->n;
  cpat_frame fr;
  if (cpat_frame_at(c->pat, K, y0, &fr))
    return cl_fail(err, CL_EDIVERGE, "the collapsed groups' bulk parts are not independent");
  const int nr = fr.nr, no = fr.no, nb = fr.nb, D = fr.D, Mr = c->pat->Mr;
  const double b = fr.b;
  int idx[CL_STATE_MAX];
  cpat_idx(c->pat, K, idx);
  double x0[CL_STATE_MAX], x[CL_STATE_MAX], xi[CL_STATE_MAX], y[CL_STATE_MAX], fp[CL_STATE_MAX], fm[CL_STATE_MAX],
      f0[CL_STATE_MAX], col[CL_STATE_MAX];
  double *dg = malloc(sizeof(double) * (size_t)(2 * D * n)); /* the G diagonals' columns at delta, 2 delta */
  if (!dg) return cl_fail(err, CL_ENOMEM, "out of memory");
  for (int q = 0; q < nr; q++) x0[q] = y0[idx[q]];
#define EVAL(yy, ff) memo_drift(c, rep, yy, ff, err)
  memset(xi, 0, sizeof xi);
  cpat_phi(&fr, xi, y);
  cl_status st = EVAL(y, f0);
  for (int q = 0; q < nr + no && !st; q++) {
    const double h = 1e-3 * lev * (q < K * Mr || q >= nr ? sqrt(b) : b);
    for (int sg = 1; sg >= -1 && !st; sg -= 2) {
      if (q < nr) {
        memcpy(x, x0, sizeof(double) * (size_t)nr);
        x[q] += sg * h;
        cpat_embed(c->pat, K, x, y);
      } else {
        xi[q] = sg * h;
        cpat_phi(&fr, xi, y);
        xi[q] = 0;
      }
      st = EVAL(y, sg > 0 ? fp : fm);
    }
    for (int k = 0; k < n && !st; k++) fp[k] = (fp[k] - fm[k]) / (2 * h);
    if (st) break;
    cpat_coords(&fr, fp, col);
    for (int k = 0; k < n; k++) J[k * n + q] = col[k];
  }
  const double dl = 1e-5 * lev * b;
  for (int r = Lb2 ? 2 : 1; r >= 1 && !st; r--) /* 2 delta only for Lb2 */
    for (int pass = 0; pass < 2; pass++) /* the diagonals first: the others subtract their columns */
    for (int a = 0; a < D && !st; a++)
      for (int bb = a; bb < D && !st; bb++) {
        if ((bb == a) != (pass == 0)) continue;
        xi[XI_G(&fr, a, a)] = xi[XI_G(&fr, bb, bb)] = xi[XI_G(&fr, a, bb)] = r * dl;
        cpat_phi(&fr, xi, y);
        xi[XI_G(&fr, a, a)] = xi[XI_G(&fr, bb, bb)] = xi[XI_G(&fr, a, bb)] = 0;
        if ((st = EVAL(y, fp))) break;
        for (int k = 0; k < n; k++) fp[k] = (fp[k] - f0[k]) / (r * dl);
        cpat_coords(&fr, fp, col);
        double *da = dg + ((size_t)(r - 1) * D + a) * n, *db = dg + ((size_t)(r - 1) * D + bb) * n;
        if (bb == a) memcpy(da, col, sizeof(double) * (size_t)n);
        else
          for (int k = 0; k < n; k++) col[k] -= da[k] + db[k];
        const int q = XI_G(&fr, a, bb);
        if (r == 1)
          for (int k = 0; k < n; k++) J[k * n + q] = col[k];
        else if (Lb2)
          for (int k = 0; k < nb; k++) Lb2[k * nb + q - nr - no] = col[nr + no + k];
      }
#undef EVAL
  free(dg);
  return st;
}

/* eigenvalues of the square block [a, a + w) of J (n x n) into re, im */
static cl_status block_eig(const double *J, int n, int a, int w, double *re, double *im) {
  double *B = malloc(sizeof(double) * (size_t)w * (size_t)w);
  if (!B) return CL_ENOMEM;
  for (int r = 0; r < w; r++)
    for (int k = 0; k < w; k++) B[r * w + k] = J[(a + r) * n + a + k];
  const cl_status st = cl_eigen_nonsymm(B, w, 1, re, im) ? CL_ENOMEM : CL_OK;
  free(B);
  return st;
}

/* e += w times the moves of the eigenvalues of J's three diagonal blocks
 * ([0, nw), [nw, nw + no), the rest: collapse_classify's order) to those of
 * J2's; -1 if out of memory */
static int block_moves(const double *J, const double *J2, int n, int nw, int no, double w, double *e) {
  const int at[4] = {0, nw, nw + no, n};
  double *B = malloc(sizeof(double) * 2 * (size_t)n * (size_t)n);
  int bad = !B;
  for (int b = 0; b < 3 && !bad; b++) {
    const int a = at[b], m = at[b + 1] - a;
    for (int r = 0; r < m; r++)
      for (int k = 0; k < m; k++) B[r * m + k] = J[(a + r) * n + a + k], B[m * m + r * m + k] = J2[(a + r) * n + a + k];
    if (m) bad = add_moves(B, B + m * m, m, w, e + a);
  }
  free(B);
  return bad ? -1 : 0;
}

/* the Jacobian of a collapse set in its coordinates (collapse_jac for
 * M = 2, cpat_jac for M >= 3); Lb2 the bulk block at 2 delta */
typedef cl_status (*collapse_jac_fn)(root_ctx *c, int rep, double lev, const double *y0, double *J, double *Lb2,
                                     char *err);

/* The classification of the collapsed point p->y on the set c->pat: J in
 * the collapse coordinates (blocks: within the set nw, odd no, bulk nb =
 * the rest) by Richardson's extrapolation (4 J(h/2) - J(h)) / 3 (the bulk
 * columns 2 J(delta/2) - J(delta)) from the levels h/2, h/4; the
 * eigenvalues of its blocks: within the set, the odd part, and the bulk,
 * in that order.  The blocks' spectra are the spectrum: for M = 2 the
 * exchange of the units maps (d, p) to -(d, p), and the set is invariant
 * (the z-row vanishes in the set's columns); for M >= 3 the Jacobian is
 * block upper triangular (cpat_coords).  jac_error is twice the largest
 * move of an eigenvalue between the extrapolations from (h, h/2) and (h/2,
 * h/4), plus the largest entry that vanishes by those symmetries, plus the
 * move of the spectrum to the engine's other level (the quad rule's coarse
 * level, or one Sobol' rule).  *rate_ok: the bulk block at delta and 2
 * delta agrees to COLLAPSE_RATE_TOL entry by entry (otherwise d q_perp/dt
 * does not vanish like q_perp: the flow leaves the set, and the point is
 * not listed). */
static cl_status collapse_classify(root_ctx *c, collapse_jac_fn jac, int nw, int no, cl_fixed_point *p, int *rate_ok,
                                   char *err) {
  const int n = c->n, nn = n * n, nb = n - nw - no, m2 = c->M == 2;
  double *J = malloc(sizeof(double) * (size_t)(5 * nn + nb * nb));
  if (!J) return cl_fail(err, CL_ENOMEM, "out of memory");
  double *X1 = J + nn, *X2 = J + 2 * nn, *X3 = J + 3 * nn, *Je = J + 4 * nn, *r2 = J + 5 * nn;
  /* the states the levels share are evaluated once (memo_drift): those of
   * the level h (the first, at most 2 n + 1 evaluations) are kept; without
   * the memory for them, every state is evaluated */
  jac_memo memo, *const outer = c->memo;
  c->memo = jac_memo_init(&memo, n, 2 * n + 2, 0) ? outer : &memo;
  cl_status st = jac(c, -1, 1, p->y, X1, NULL, err);
  if (!st) st = jac(c, -1, 0.5, p->y, X2, r2, err);
  *rate_ok = 0;
  if (!st) {
    *rate_ok = 1;
    for (int r = 0; r < nb; r++)
      for (int k = 0; k < nb; k++) *rate_ok &= rates_agree(X2[(n - nb + r) * n + n - nb + k], r2[r * nb + k], COLLAPSE_RATE_TOL);
  }
  /* a root whose bulk rate has no limit is not listed: the level h/4 and
   * the engine's level are not needed (their states lie between the point
   * and those of the level h, in the domain wherever those are: the
   * answer is the one the whole classification gave) */
  if (!st && !*rate_ok) {
    if (c->memo != outer) c->memo = outer, jac_memo_free(&memo);
    return free(J), CL_OK;
  }
  if (!st) st = jac(c, -1, 0.25, p->y, X3, NULL, err);
  if (!st) {
    /* Richardson: O(h^2) columns (central) and the O(delta) bulk columns */
    for (int k = 0; k < nn; k++) {
      const int zc = k % n >= n - nb;
      double a = zc ? 2 * X2[k] - X1[k] : (4 * X2[k] - X1[k]) / 3;
      double b = zc ? 2 * X3[k] - X2[k] : (4 * X3[k] - X2[k]) / 3;
      X1[k] = a, J[k] = b;
    }
  }
  double off = 0;
  for (int r = 0; r < n && !st; r++)
    for (int k = 0; k < n; k++) {
      const int br = r < nw ? 0 : r < nw + no ? 1 : 2, bk = k < nw ? 0 : k < nw + no ? 1 : 2;
      if (m2 ? br != bk && !(br == 0 && bk == 2) : br > bk) off = fmax(off, fabs(J[r * n + k]));
    }
  for (int k = 0; k < n; k++) p->eig_error[k] = off;
  if (!st && block_moves(J, X1, n, nw, no, 2, p->eig_error)) st = cl_fail(err, CL_ENOMEM, "out of memory");
  if (!st) {
    /* the engine's error, as variant_errors: the deterministic rules'
     * coarse level against the fine one (X2, at h/2); the Sobol' rules one
     * by one against their mean (X2), t sd / sqrt(nrep); each as the move
     * of J's eigenvalues under the difference Je - X2 */
    const int nr = cl_drift_nrep(c->d), wr = cl_drift_written_rep(c->d);
    double geng[CL_STATE_MAX] = {0}, ss[CL_STATE_MAX] = {0};
    for (int r = 0; r < nr && !st; r++) {
      double g[CL_STATE_MAX] = {0};
      if (r == wr || (wr >= 0 && r > 0)) continue;
      if ((st = jac(c, r, 0.5, p->y, Je, NULL, err))) break;
      for (int k = 0; k < nn; k++) Je[k] = J[k] + Je[k] - X2[k];
      if (block_moves(J, Je, n, nw, no, 1, g)) st = cl_fail(err, CL_ENOMEM, "out of memory");
      for (int k = 0; k < n; k++) geng[k] = fmax(geng[k], g[k]), ss[k] += g[k] * g[k];
    }
    if (!st) add_engine_error(c->d, nr, wr, n, geng, ss, p->eig_error);
  }
  if (!st && (block_eig(J, n, 0, nw, p->eig_re, p->eig_im) || block_eig(J, n, nw, no, p->eig_re + nw, p->eig_im + nw)))
    st = cl_fail(err, CL_ENOMEM, "out of memory");
  if (!st && nb == 1) p->eig_re[n - 1] = J[nn - 1], p->eig_im[n - 1] = 0;
  else if (!st && block_eig(J, n, nw + no, nb, p->eig_re + nw + no, p->eig_im + nw + no))
    st = cl_fail(err, CL_ENOMEM, "out of memory");
  if (!st) set_jac_error(p, n);
  if (!st) set_stability(p, n, NULL);
  if (c->memo != outer) c->memo = outer, jac_memo_free(&memo);
  free(J);
  return st;
}

/* collapse_classify on the set c->pat: M = 2 in the coordinates of
 * collapse_coords, M >= 3 in those of cpat_coords */
static cl_status collapse_classify_at(root_ctx *c, cl_fixed_point *p, int *rate_ok, char *err) {
  if (c->M == 2) return collapse_classify(c, collapse_jac, c->K + 1, c->K + 1, p, rate_ok, err);
  const int D = c->M - c->pat->Mr;
  return collapse_classify(c, cpat_jac, cpat_size(c->pat, c->K), D * (c->K + c->pat->Mr), p, rate_ok, err);
}

/* A state y near a collapse set, projected onto the set with all signs +
 * of its shape (cpat_gen) and pushed to that shape's starts: exact, the
 * groups of collapse_groups (a root on a set); otherwise units with 1 -
 * |correlation| below COLLAPSE_JOIN and the most nearly collinear pair (a
 * flow's end, an extra start; at M = 2 always w_2 = +-w_1).  Not where a
 * unit is minus another unless the sign of a unit is a symmetry (odd
 * sigma).  The reduced state: per group the mean of sgn_i R_.i and of
 * Q_ii, between groups the mean of sgn_i sgn_l Q_il. */
static int push_collapse_start(const cl_symmetry *g, collapse_sets *S, int K, int M, const double *y, int exact) {
  int first[CL_MMAX], sgn[CL_MMAX];
  const double *q = y + K * M;
#define QQ(a, b) q[(a) * M - (a) * ((a) - 1) / 2 + (b) - (a)] /* a <= b */
  if (exact) collapse_groups(K, M, y, first, sgn);
  else {
    int i0 = -1, l0 = -1;
    double best = INFINITY;
    for (int i = 0; i < M; i++)
      for (int l = 0; l < i; l++) {
        const double qq = QQ(l, l) * QQ(i, i), gap = qq > 0 ? 1 - fabs(QQ(l, i)) / sqrt(qq) : INFINITY;
        if (gap < best) best = gap, i0 = i, l0 = l;
      }
    for (int i = 0; i < M; i++) {
      first[i] = i, sgn[i] = 1;
      for (int l = 0; l < i; l++) {
        const double qq = QQ(l, l) * QQ(i, i), gap = qq > 0 ? 1 - fabs(QQ(l, i)) / sqrt(qq) : INFINITY;
        if (gap < COLLAPSE_JOIN || (i == i0 && l == l0)) {
          first[i] = first[l], sgn[i] = sgn[l] * (QQ(l, i) >= 0 ? 1 : -1);
          break;
        }
      }
    }
  }
  /* the groups by size (largest first, then by first unit): the shape */
  int lead[CL_MMAX], size[CL_MMAX], ng = 0;
  for (int i = 0; i < M; i++) {
    if (sgn[i] < 0 && !g->unit_sign) return 0;
    if (first[i] == i) lead[ng] = i, size[ng++] = 0;
    for (int k = 0; k < ng; k++) size[k] += lead[k] == first[i];
  }
  for (int a = 1; a < ng; a++) /* insertion sort, stable */
    for (int b = a; b > 0 && size[b] > size[b - 1]; b--) {
      int t = size[b];
      size[b] = size[b - 1], size[b - 1] = t, t = lead[b], lead[b] = lead[b - 1], lead[b - 1] = t;
    }
  int s = -1;
  for (int k = 0; k < S->npat && s < 0; k++) {
    const cpat *pt = &S->pat[k];
    int same = pt->Mr == ng;
    for (int h = 0; h < ng && same; h++) {
      int cnt = 0;
      for (int i = 0; i < M; i++) cnt += pt->grp[i] == h;
      same = cnt == size[h];
    }
    if (same) s = k;
  }
  if (s < 0) return 0; /* no two units collapse */
  const cpat *pt = &S->pat[s];
  start_list *cs = &S->cs[s];
  const int Mr = pt->Mr;
  double x[CL_STATE_MAX], z[CL_STATE_MAX], R[CL_KMAX * CL_MMAX], Q[CL_MMAX * CL_MMAX];
  for (int h = 0; h < Mr; h++) {
    for (int j = 0; j < K; j++) {
      double a = 0;
      for (int i = 0; i < M; i++)
        if (first[i] == lead[h]) a += sgn[i] * y[j * M + i];
      x[j * Mr + h] = a / size[h];
    }
    for (int h2 = h; h2 < Mr; h2++) {
      double a = 0;
      for (int i = 0; i < M; i++)
        for (int l = 0; l < M; l++) {
          if (first[i] != lead[h] || first[l] != lead[h2] || (h == h2 && l != i)) continue;
          a += h == h2 ? QQ(i, i) : sgn[i] * sgn[l] * (i < l ? QQ(i, l) : QQ(l, i));
        }
      x[cpat_qix(pt, K, h, h2)] = a / (h == h2 ? size[h] : size[h] * size[h2]);
    }
  }
#undef QQ
  /* not next to a start already there (R within COLLAPSE_NEAR sqrt(Q_gg),
   * Q_gh within COLLAPSE_NEAR sqrt(Q_gg Q_hh)): most flows that collapse
   * end at one point, and each start costs a Newton run (35 flow ends at
   * the state of docs/fixed-points.md s.2, "Fixed points on the collapse
   * set") */
  int idx[CL_STATE_MAX];
  cpat_idx(pt, K, idx);
  for (int t = 0; t < cs->ns; t++) {
    const double *w = cs->y + (size_t)t * cs->n;
    int near = 1;
    for (int h = 0; h < Mr && near; h++)
      for (int h2 = h; h2 < Mr && near; h2++) {
        const int k = cpat_qix(pt, K, h, h2);
        const double xh = x[cpat_qix(pt, K, h, h)], xh2 = x[cpat_qix(pt, K, h2, h2)];
        near = fabs(w[idx[k]] - x[k]) <= COLLAPSE_NEAR * (h == h2 ? xh : sqrt(fmax(xh * xh2, 0)));
      }
    for (int k = 0; k < K * Mr && near; k++)
      near = fabs(w[idx[k]] - x[k]) <= COLLAPSE_NEAR * sqrt(fmax(x[cpat_qix(pt, K, k % Mr, k % Mr)], 0));
    if (near) return 0;
  }
  cpat_embed(pt, K, x, z);
  cl_state_unpack(K, M, z, R, Q);
  return push(cs, R, Q, K, M);
}

/* the standard starts on the set pt.  One group (Mr = 1): R = 0 (Q_11 = 1
 * and 0.1), the unit along each feature (R_j1 = +-0.5, +-0.9, Q_11 = 1),
 * on every feature (R_j1 = 0.5 / sqrt(K)), and COLLAPSE_RANDOM seeded ones
 * (w = (K + 1) Gaussian coordinates over sqrt(K + 1), R its first K).
 * Several: the starts of the ordinary search (make_starts) for a model
 * with Mr units, with COLLAPSE_RANDOM random ones. */
static int collapse_starts(const cl_model *m, const cpat *pt, start_list *cs) {
  const int K = m->K, M = m->M;
  double x[CL_STATE_MAX], y[CL_STATE_MAX], R[CL_KMAX * CL_MMAX], Q[CL_MMAX * CL_MMAX];
  int bad = 0;
#define CPUSH() (cpat_embed(pt, K, x, y), cl_state_unpack(K, M, y, R, Q), bad |= push(cs, R, Q, K, M))
  if (pt->Mr > 1) {
    cl_model mm = *m;
    mm.M = pt->Mr;
    start_list s = {.n = cpat_size(pt, K)};
    bad = make_starts(&mm, pt->Mr, COLLAPSE_RANDOM, &s);
    for (int t = 0; t < s.ns && !bad; t++) {
      memcpy(x, s.y + (size_t)t * s.n, sizeof(double) * (size_t)s.n);
      CPUSH();
    }
    free(s.y);
    return bad;
  }
  for (int a = 0; a < 2; a++) {
    memset(x, 0, sizeof x), x[K] = a ? 0.1 : 1;
    CPUSH();
  }
  const double lev[] = {0.5, -0.5, 0.9, -0.9};
  for (int j = 0; j < K; j++)
    for (int l = 0; l < 4; l++) {
      memset(x, 0, sizeof x), x[j] = lev[l], x[K] = 1;
      CPUSH();
    }
  for (int j = 0; j < K; j++) x[j] = 0.5 / sqrt((double)K);
  x[K] = 1;
  CPUSH();
  cl_rng *rng;
  if (cl_rng_alloc(777, 0x636f6c6c, &rng, NULL)) return 1;
  for (int t = 0; t < COLLAPSE_RANDOM; t++) {
    double q = 0;
    for (int k = 0; k <= K; k++) {
      const double w = cl_rng_gauss(rng) / sqrt((double)(K + 1));
      if (k < K) x[k] = w;
      q += w * w;
    }
    x[K] = q;
    CPUSH();
  }
  cl_rng_free(rng);
#undef CPUSH
  return bad;
}

/* Newton on the set (cc->pat) from y0 with the engine dalt, its root
 * polished by Newton with dc0 wherever dc0 evaluates it (cc->d is then
 * dc0, else dalt); newton's return value, or -2 if `near` is given and
 * dalt's root lies within COLLAPSE_SAME of a point listed there or in
 * near2 (the roots rejected on the set; not polished: that point again). */
static int alt_then_polish(root_ctx *cc, cl_drift *dc0, cl_drift *dalt, const double *y0, double *y,
                           const found_set *near, const found_set *near2) {
  const int n = cc->n;
  double y1[CL_STATE_MAX], fq[CL_STATE_MAX];
  cc->d = dalt;
  int nw = newton(cc, y0, y1);
  if (nw == 0) nw = damped_newton(cc, y0, y1);
  memcpy(y, y1, sizeof y1);
  if (near && nw > 0) {
    double big = 1;
    for (int k = 0; k < n; k++) big = fmax(big, fabs(y1[k]));
    if (is_known(near, n, y1, COLLAPSE_SAME * big) || (near2 && is_known(near2, n, y1, COLLAPSE_SAME * big)))
      return -2;
  }
  if (nw > 0) { /* (the quad rule's drift at y1 is kept: Newton starts there) */
    cc->d = dc0;
    if (memo_drift(cc, -1, y1, fq, NULL)) cc->d = dalt;
    else {
      nw = newton(cc, y1, y);
      if (nw == 0) nw = damped_newton(cc, y1, y);
    }
  }
  return nw;
}

/* y's images (cl_symmetry_orbit, at most cap) appended to f->known; 1 if
 * out of memory */
static int remember_images(const cl_symmetry *g, int n, const double *y, int cap, found_set *f) {
  if (f->nknown + cap > f->capk) {
    int c2 = 2 * (f->nknown + cap);
    double *k = realloc(f->known, sizeof(double) * (size_t)c2 * (size_t)n);
    if (!k) return 1;
    f->known = k, f->capk = c2;
  }
  f->nknown += cl_symmetry_orbit(g, y, 1e-9, f->known + (size_t)f->nknown * n, cap, NULL);
  return 0;
}

/* Newton on the collapse set pt from the starts cs (collapsed full
 * states), with the drift dc; each new root classified
 * (collapse_classify_at) and its orbit listed with kind collapsed */
static cl_status collapse_search(root_ctx *c0, cl_drift *dc0, cl_drift *dalt, const cl_model *m,
                                 const cl_symmetry *g, const cpat *pt, const start_list *cs, double *work, int cap,
                                 found_set *f, cl_fixed_info *info, const cl_fixed_opts *fo, int shape,
                                 int nshapes, char *err) {
  const int K = c0->K, M = c0->M, n = c0->n;
  root_ctx cc = *c0;
  cc.d = dc0, cc.pat = pt, cc.known = NULL, cc.nknown = 0, cc.nfree = cpat_size(pt, K);
  cpat_idx(pt, K, cc.idx);
  const long ev0 = cc.nevals;
  cl_status st = CL_OK;
  jac_memo memo; /* the last few drifts (memo_drift): without the memory, none */
  cc.memo = jac_memo_init(&memo, n, 8, 1) ? NULL : &memo;
  /* the roots rejected (their bulk rate has no limit), with their images:
   * another start that converges to one of them is not classified again
   * (at M = 3 a classification costs about 130 evaluations of the quad
   * rule, docs/fixed-points.md s.2 "Cost at M = 3") */
  found_set rej = {0};
  for (int t = 0; t < cs->ns && !st; t++) {
    double y[CL_STATE_MAX];
    const double *y0 = cs->y + (size_t)t * n;
    /* each shape's starts are 1/nshapes */
    fixed_progress(fo, "collapse sets", (shape + (double)t / cs->ns) / nshapes);
    info->collapse_starts++;
    cc.d = dc0;
    int nw = 0;
    if (M >= 3 && dalt) {
      /* M >= 3: the quad rule costs about 0.04 CPU s per evaluation (M = 3;
       * tens of times the Sobol' rules), so Newton runs with the finder's
       * own engine and the quad rule polishes its root wherever it
       * evaluates it (otherwise the root stays the Sobol' rules'); a root
       * next to a listed one is that one (skipped) */
      if ((nw = alt_then_polish(&cc, dc0, dalt, y0, y, f, &rej)) == -2) continue;
    } else {
      nw = newton(&cc, y0, y);
      if (nw == 0) nw = damped_newton(&cc, y0, y);
    }
    /* M = 2: the finder's own engine, for the roots where the quad rule
     * refuses (its sd limits, docs/accurate.md s.8); where it does not, the
     * root is polished by the quad rule (the Sobol' rules' roots are 1e-3
     * off theirs: one point, not two) */
    if (nw == 0 && dalt && M == 2) nw = alt_then_polish(&cc, dc0, dalt, y0, y, NULL, NULL);
    cl_drift *const dc = cc.d;
    if (nw < 0) st = cl_fail(err, CL_ENOMEM, "out of memory");
    if (nw <= 0) continue;
    cl_status st2;
    /* on this set and no smaller one (w = 0, groups that merge or die are not listed here) */
    if (!cpat_matches(pt, K, y)) continue;
    double r = memo_residual(&cc, y, &st2);
    if (st2 || !(r < 100 * root_tol(cc.s2, n, y))) continue;
    { /* onto the fixed subspace of the symmetries that (nearly) fix it, as take_root */
      double ys[CL_STATE_MAX];
      memcpy(ys, y, sizeof(double) * (size_t)n);
      if (symmetrize(g, n, 1e5 * root_tol(cc.s2, n, y), ys, work, cap)) {
        const double rs = memo_residual(&cc, ys, &st2);
        if (!st2 && rs < 100 * root_tol(cc.s2, n, ys) && cpat_matches(pt, K, ys))
          memcpy(y, ys, sizeof(double) * (size_t)n), r = rs;
      }
    }
    if (is_known(f, n, y, 1e5 * root_tol(cc.s2, n, y)) || is_known(&rej, n, y, 1e5 * root_tol(cc.s2, n, y))) continue;
    cl_fixed_point p;
    memset(&p, 0, sizeof p);
    p.n = n, p.residual = r, p.kind = CL_KIND_COLLAPSED, p.collapse = 1; /* r: y's residual, computed above */
    memcpy(p.y, y, sizeof(double) * (size_t)n);
    int ok = 0;
    char e1[CL_ERRLEN];
    st2 = collapse_classify_at(&cc, &p, &ok, e1);
    if (st2 == CL_ENOMEM) st = cl_fail(err, st2, "out of memory");
    if (st2 == CL_OK && !ok) { /* the bulk rate has no limit: the flow leaves the set */
      info->collapse_rejected++;
      if (remember_images(g, n, y, cap, &rej)) st = cl_fail(err, CL_ENOMEM, "out of memory");
      continue;
    }
    if (st2) { /* no Jacobian (a step the engine refuses): listed, stability unknown */
      for (int k = 0; k < n; k++) p.eig_re[k] = p.eig_im[k] = p.eig_error[k] = NAN;
      p.jac_error = NAN, p.stability = CL_UNKNOWN;
    }
    const int np0 = f->np;
    if (!st && (st = add_orbit(dc, c0->fb, g, K, M, y, &p, ++info->orbits, cap, f, info, e1)))
      cl_fail(err, st, "at the collapsed point R_1_1 = %g, Q_1_1 = %g with lambda = %g: %s", y[0], y[K * M],
              m->lambda, e1);
    info->unknown += !st && p.stability == CL_UNKNOWN;
    info->collapsed += !st;
    for (int a = np0; a < f->np; a++) f->p[a].via = 2;
  }
  free(rej.known);
  if (cc.memo) jac_memo_free(&memo);
  info->collapse_evals += cc.nevals - ev0;
  c0->nevals = cc.nevals;
  return st;
}

/* The engine of the collapse sets: one that accepts their singular
 * covariance.  The quad rule where the finder's engine d is the grid (the
 * deterministic engines' written level is 1; for cubic sigma the default
 * may be the quad rule already, and another one is the same), the
 * finder's own otherwise (the quad rule asked for, the Sobol' rules, the
 * closed forms), then with *alt = d: Newton falls back on it where the
 * quad rule refuses.  NULL: the sets are not searched (relu, g = abs with
 * the grid: the quad rule refuses them).  Free the result if it is not d. */
static cl_drift *collapse_engine(const cl_model *m, const cl_quad_opts *o, cl_drift *d, cl_drift **alt) {
  cl_quad_opts qo = {0};
  cl_drift *dc = NULL;
  if (o) qo = *o;
  *alt = NULL;
  const int grid = cl_drift_written_rep(d) == 1 && qo.expect != CL_EXPECT_QUAD;
  if (qo.expect == CL_EXPECT_QUAD) return d;
  qo.expect = CL_EXPECT_QUAD;
  if (cl_drift_alloc(m, &qo, &dc, NULL)) return grid ? NULL : d; /* relu, g = abs, ...: the quad rule refuses */
  if (!grid) *alt = d;
  return dc;
}

#define COLLAPSE_SHAPES 256 /* partitions of M <= 16 with a group of 2 or more: 230 at M = 16 */

static cl_status find_impl(const cl_model *m, const cl_quad_opts *o, const cl_fixed_opts *fo0, const double *extra,
                           int nextra, int collapse_only, cl_fixed_point **out, int *nout, cl_fixed_info *info0,
                           char *err) {
  const int K = m->K, M = m->M, n = cl_state_size(K, M);
  cl_fixed_opts fo;
  cl_fixed_info info;
  if (fo0) fo = *fo0;
  else cl_fixed_opts_default(&fo);
  memset(&info, 0, sizeof info);
  int cap = fo.orbit_cap > 0 ? fo.orbit_cap : 1024;
  /* auto: deflated retries for M >= 2 (for M = 1 the starts and the orbits
   * already complete the known cases, at a third of the cost) */
  if (fo.deflation < 0) fo.deflation = M >= 2;
  int nrandom = fo.nrandom >= 0 ? fo.nrandom : M == 1 ? 12 * K * M : 4 * K * M;
  const long budget = fo.max_evals == 0 ? CL_FIXED_EVALS : fo.max_evals;
  cl_symmetry g;
  cl_symmetry_init(m, &g);
  cl_symmetry_describe(&g, info.symmetries, sizeof info.symmetries);
  struct jac_fb fb = {.m = m, .o = o};
  root_ctx c = {.K = K, .M = M, .n = n, .s2 = m->s * m->s, .fb = &fb};
  cl_status st0 = cl_drift_alloc(m, o, &c.d, err);
  if (st0) return st0;
  found_set f = {0};
  cl_status st = CL_OK;
  double *work = malloc(sizeof(double) * (size_t)cap * (size_t)n); /* symmetrize's images */
  if (!work) {
    cl_drift_free(c.d);
    return cl_fail(err, CL_ENOMEM, "out of memory");
  }
  cl_common_init();
  /* M >= 2: the collapse sets are searched last (collapse_search), with
   * the engine of collapse_engine */
  collapse_sets cs = {0}, *csp = NULL;
  cl_drift *dc = NULL, *dalt = NULL;
  if (M >= 2 && !fo.no_collapse) {
    dc = collapse_engine(m, o, c.d, &dalt);
    cs.pat = malloc(sizeof *cs.pat * COLLAPSE_SHAPES);
    int parts[CL_MMAX];
    if (cs.pat) cpat_gen(M, M, M, parts, 0, cs.pat, &cs.npat, COLLAPSE_SHAPES);
    cs.cs = calloc((size_t)cs.npat + 1, sizeof *cs.cs);
    if (!cs.pat || !cs.cs) st = cl_fail(err, CL_ENOMEM, "out of memory");
    for (int k = 0; k < cs.npat; k++) cs.cs[k].n = n;
    if (dc) csp = &cs;
    else info.collapse_starts = -1; /* not searched */
  }
  /* the flows first: the uninformative start (where training from a small
   * initialisation begins), then three seeded random ones, then the escape
   * starts (flow_starts); each settled end is polished by Newton (hybrids,
   * then the damped one) with every unit free, and joins the deflation set
   * like any root */
  const int nflows = collapse_only ? 0 : fo.flows >= 0 ? fo.flows : M >= 2 ? 4 + FLOW_ESCAPES_PER_KM * K * M : 0;
  long flow_evals = 0; /* spent by the flows: on top of the Newton starts' budget */
  if (nflows > 0) {
    start_list s = {.n = n}, fs = {.n = n};
    int nfirst = 0;
    if (make_starts(m, M, nrandom, &s) ||
        flow_starts(K, M, s.y, s.y + (size_t)(s.ns - nrandom) * n, nrandom, nflows, &fs, &nfirst))
      st = cl_fail(err, CL_ENOMEM, "out of memory");
    set_free(&c, M);
    c.known = NULL, c.nknown = 0;
    fixed_phase(&fo, "flows");
    for (int k = 0; k < fs.ns && !st; k++) {
      fixed_progress(&fo, "flows", (double)k / fs.ns);
      if (budget > 0 && c.nevals >= budget) { /* the flows' allowance (as large as the budget) spent */
        info.skipped += fs.ns - k;
        break;
      }
      double y1[CL_STATE_MAX], y[CL_STATE_MAX];
      info.flows++;
      /* the escape flows at a looser tolerance: only the basin they end
       * in matters (Newton polishes the end); their cost is mostly set by
       * the stiffness (DOP853's steps at eigenvalues to -8): at lambda = 2
       * of docs/fixed-points.md s.2, 535 evaluations per flow at rtol
       * 1e-4, 676 at 1e-6, the same ends */
      const double rtol = k < nfirst ? 1e-6 : FLOW_ESCAPE_RTOL;
      const int fe = flow_end(&c, &f, fs.y + (size_t)k * n, FLOW_EVALS, rtol, y1);
      info.flow_collapses += fe == 3;
      /* where the flow runs into w_2 = +-w_1: a start on the collapse set */
      if (fe == 3 && csp && push_collapse_start(&g, csp, K, M, y1, 0)) st = cl_fail(err, CL_ENOMEM, "out of memory");
      if (fe != 1) continue;
      info.newton_runs++;
      int nw = newton(&c, y1, y);
      if (nw == 0) nw = damped_newton(&c, y1, y);
      if (nw < 0) st = cl_fail(err, CL_ENOMEM, "out of memory");
      if (nw > 0) take_root(&c, m, &g, M, y, work, cap, &f, &info, 1, csp, &st, err);
    }
    free(s.y);
    free(fs.y);
    flow_evals = c.nevals;
  }
  /* Ma = M: all units alive; Ma < M: units Ma..M-1 dead (pinned at 0; by
   * the permutation symmetry the other choices are images); at least one
   * unit alive (w = 0 is not listed) */
  for (int e = 0; e < nextra && collapse_only && csp && !st; e++)
    if (push_collapse_start(&g, csp, K, M, extra + (size_t)e * n, 0)) st = cl_fail(err, CL_ENOMEM, "out of memory");
  if (!collapse_only) fixed_phase(&fo, "Newton starts");
  for (int Ma = M; Ma >= 1 && !st && !collapse_only; Ma--) {
    start_list s = {.n = n};
    if (make_starts(m, Ma, Ma == M ? nrandom : nrandom / 4, &s)) {
      free(s.y);
      st = cl_fail(err, CL_ENOMEM, "out of memory");
      break;
    }
    for (int e = 0; e < nextra && Ma == M; e++) {
      double R[CL_KMAX * CL_MMAX], Q[CL_MMAX * CL_MMAX];
      cl_state_unpack(K, M, extra + (size_t)e * n, R, Q);
      if (push(&s, R, Q, K, M)) st = cl_fail(err, CL_ENOMEM, "out of memory");
    }
    set_free(&c, Ma);
    info.starts += s.ns;
    for (int t = 0; t < s.ns && !st; t++) {
      if (budget > 0 && c.nevals - flow_evals >= budget) { /* the budget is spent: no new start */
        info.skipped += s.ns - t;
        break;
      }
      /* each pass over the starts of one number of live units is 1/M */
      fixed_progress(&fo, "Newton starts", ((double)(M - Ma) + (double)t / s.ns) / M);
      /* plain Newton from the start (so every root the undeflated finder
       * reaches is found), then deflated Newton from it while that finds new
       * roots (at most 3 times) */
      for (int rep = 0; rep < 4 && !st; rep++) {
        double y[CL_STATE_MAX];
        c.known = rep > 0 ? f.known : NULL;
        c.nknown = rep > 0 ? f.nknown : 0;
        info.newton_runs++;
        /* hybrids first (the finder of M = 1 before deflation), the damped
         * Newton where it fails and for the deflated runs */
        int nw = rep == 0 ? newton(&c, s.y + (size_t)t * n, y) : 0;
        if (nw == 0) nw = damped_newton(&c, s.y + (size_t)t * n, y);
        if (nw < 0) {
          st = cl_fail(err, CL_ENOMEM, "out of memory");
          break;
        }
        if (nw == 0) {
          if (rep == 0 && fo.deflation && f.nknown) continue;
          break;
        }
        const int took = take_root(&c, m, &g, Ma, y, work, cap, &f, &info, 0, csp, &st, err);
        if (took <= 0) break; /* an error (st), or not a new root */
        if (took == 1) {      /* known */
          if (rep > 0 || !fo.deflation) break;
          continue;
        }
        if (!fo.deflation) break;
      }
    }
    free(s.y);
  }
  if (cs.npat && !st && csp) fixed_phase(&fo, "collapse sets");
  for (int k = 0; k < cs.npat && !st && csp; k++) {
    if (collapse_starts(m, &cs.pat[k], &cs.cs[k])) st = cl_fail(err, CL_ENOMEM, "out of memory");
    else st = collapse_search(&c, dc, dalt, m, &g, &cs.pat[k], &cs.cs[k], work, cap, &f, &info, &fo, k, cs.npat, err);
  }
  for (int k = 0; k < cs.npat; k++) free(cs.cs[k].y);
  free(cs.cs), free(cs.pat);
  if (dc != c.d) cl_drift_free(dc);
  cl_drift_free(c.d);
  cl_drift_free(fb.d);
  free(f.known);
  free(work);
  if (st) {
    free(f.p);
    return st;
  }
  /* order: orbits by stability then by their largest image; images of one
   * orbit together, largest first; orbit ids renumbered in that order */
  int no = info.orbits;
  cl_fixed_point **first = calloc((size_t)no + 1, sizeof *first);
  cl_fixed_point *sorted = malloc(sizeof *sorted * (size_t)(f.np + 1));
  if (!first || !sorted) {
    free(first), free(sorted), free(f.p);
    return cl_fail(err, CL_ENOMEM, "out of memory");
  }
  int a = 0;
  for (int id = 1; id <= no; id++) {
    int b = a;
    while (b < f.np && f.p[b].orbit == id) b++;
    qsort(f.p + a, (size_t)(b - a), sizeof *f.p, cmp_fp);
    first[id - 1] = &f.p[a];
    a = b;
  }
  qsort(first, (size_t)no, sizeof *first, cmp_orbit);
  int np = 0;
  for (int k = 0; k < no; k++) {
    int id = first[k]->orbit;
    for (cl_fixed_point *p = first[k]; p < f.p + f.np && p->orbit == id; p++) {
      sorted[np] = *p;
      sorted[np++].orbit = k + 1;
    }
  }
  free(first);
  free(f.p);
  info.points = np;
  info.drift_evals = c.nevals;
  if (info0) *info0 = info;
  *out = sorted;
  *nout = np;
  return CL_OK;
}

cl_status cl_fixed_find_ex(const cl_model *m, const cl_quad_opts *o, const cl_fixed_opts *fo, const double *extra,
                           int nextra, cl_fixed_point **out, int *nout, cl_fixed_info *info, char *err) {
  return find_impl(m, o, fo, extra, nextra, 0, out, nout, info, err);
}

cl_status cl_fixed_find_collapsed(const cl_model *m, const cl_quad_opts *o, const double *extra, int nextra,
                                  cl_fixed_point **out, int *nout, cl_fixed_info *info, char *err) {
  if (m->M < 2) return cl_fail(err, CL_EINVAL, "the collapse sets need M >= 2");
  return find_impl(m, o, NULL, extra, nextra, 1, out, nout, info, err);
}

cl_status cl_fixed_find(const cl_model *m, const cl_quad_opts *o, const double *extra, int nextra,
                        cl_fixed_point **out, int *nout, char *err) {
  return cl_fixed_find_ex(m, o, NULL, extra, nextra, out, nout, NULL, err);
}

typedef struct {
  cl_drift *d;
  int K;
  int status;
} q_ctx;

/* dQ/dt at R = 0 (M = 1) */
static double dq_at(double Q, void *params) {
  q_ctx *c = params;
  double R[CL_KMAX] = {0}, dR[CL_KMAX], dQ;
  if (cl_drift_eval(c->d, R, &Q, dR, &dQ, NULL)) {
    c->status = 1;
    return NAN;
  }
  return dQ;
}

static cl_status brent(gsl_function *F, double lo, double hi, double *root) {
  gsl_root_fsolver *s = gsl_root_fsolver_alloc(gsl_root_fsolver_brent);
  if (gsl_root_fsolver_set(s, F, lo, hi)) {
    gsl_root_fsolver_free(s);
    return CL_EDIVERGE;
  }
  int status = GSL_CONTINUE;
  for (int it = 0; it < 200 && status == GSL_CONTINUE; it++) {
    gsl_root_fsolver_iterate(s);
    status = gsl_root_test_interval(gsl_root_fsolver_x_lower(s), gsl_root_fsolver_x_upper(s), 0, 1e-13);
  }
  *root = gsl_root_fsolver_root(s);
  gsl_root_fsolver_free(s);
  return status == GSL_SUCCESS ? CL_OK : CL_EDIVERGE;
}

cl_status cl_fixed_uninformative_Q(const cl_model *m, const cl_quad_opts *o, double *Qstar, char *err) {
  if (m->M != 1) return cl_fail(err, CL_EINVAL, "the uninformative Q*: needs M = 1");
  q_ctx c = {.K = m->K};
  cl_status st0 = cl_drift_alloc(m, o, &c.d, err);
  if (st0) return st0;
  gsl_function F = {dq_at, &c};
  /* dQ/dt > 0 at small Q for a nonlinear sigma with noise; bracket upwards */
  double lo = 1e-6, hi = 1;
  double flo = dq_at(lo, &c), fhi = dq_at(hi, &c);
  while (fhi * flo > 0 && hi < 1e6 && !c.status) hi *= 2, fhi = dq_at(hi, &c);
  cl_common_init();
  cl_status st = (flo * fhi > 0 || c.status) ? CL_EDIVERGE : brent(&F, lo, hi, Qstar);
  cl_drift_free(c.d);
  if (st)
    return cl_fail(err, CL_EDIVERGE,
                   "no Q* with dQ/dt = 0 at R = 0 in [1e-6, 1e6] (dQ/dt = %g at Q = 1e-6)",
                   flo);
  return CL_OK;
}

/* the law of feature j rescaled to second moment m2 */
static void set_m2(cl_law *law, double m2) {
  if (law->kind == CL_LAW_DISCRETE) {
    double f = sqrt(m2 / law->m2);
    for (int i = 0; i < law->nvals; i++) law->vals[i] *= f;
  }
  law->m2 = m2;
}

typedef struct {
  cl_model m;
  const cl_quad_opts *o;
  int j, status;
  double at;            /* status != 0: the <c_j^2> of the first failure ... */
  char err[CL_ERRLEN];  /* ... and its reason */
} m2_ctx;

/* the eigenvalue along R_j of the Jacobian at (R = 0, Q*) for <c_j^2> = m2 */
static double eig_at(double m2, void *params) {
  m2_ctx *c = params;
  cl_model m = c->m;
  set_m2(&m.c[c->j], m2);
  /* At R = 0 the Jacobian sees only the laws' second moments (psi(c . R)
   * is quadratic in c to the difference step), which the tensor rules
   * integrate exactly; the characteristic functions, which M = 1 uses for a
   * student law (docs/kinks.md, "Continuous laws"), moved the critical
   * <c^2> by 3e-8.  --quad-cf on is kept. */
  cl_quad_opts o = c->o ? *c->o : (cl_quad_opts){0};
  if (o.m1_cf == 0) o.m1_cf = -1;
  /* the first failure's reason is kept: the caller's message names it
   * (before, it said only that the eigenvalue was nan) */
  char *e = c->status ? NULL : c->err;
  double Qs, J[(CL_KMAX + 1) * (CL_KMAX + 1)];
  if (cl_fixed_uninformative_Q(&m, &o, &Qs, e)) {
    if (!c->status) c->at = m2;
    c->status = 1;
    return NAN;
  }
  cl_drift *d;
  cl_drift_alloc(&m, &o, &d, e);
  double y[NMAX] = {0}, R[CL_KMAX] = {0};
  cl_state_pack(m.K, 1, R, &Qs, y);
  int n = cl_state_size(m.K, 1);
  if (!d || cl_ode_jacobian(d, m.K, 1, y, J, NULL, e)) {
    if (!c->status) c->at = m2;
    c->status = 1;
  }
  cl_drift_free(d);
  if (c->status) return NAN;
  /* at R = 0 the R-block is diagonal: feature j's eigenvalue is J_jj */
  return J[c->j * n + c->j];
}

/* the reason eig_at failed, and where */
static cl_status m2_failed(const m2_ctx *c, char *err) {
  return cl_fail(err, CL_EDIVERGE, "threshold: feature %d: at <c^2> = %g: %s", c->j + 1, c->at, c->err);
}

cl_status cl_fixed_critical_m2(const cl_model *m, const cl_quad_opts *o, int j, double *m2c, char *err) {
  if (m->M != 1) return cl_fail(err, CL_EINVAL, "threshold: needs M = 1");
  m2_ctx c = {.m = *m, .o = o, .j = j};
  gsl_function F = {eig_at, &c};
  double lo = 1e-4, hi = 1, flo = eig_at(lo, &c), fhi = eig_at(hi, &c);
  while (fhi * flo > 0 && hi < 1e4 && !c.status) hi *= 2, fhi = eig_at(hi, &c);
  if (c.status) return m2_failed(&c, err);
  if (flo * fhi > 0)
    return cl_fail(err, CL_EDIVERGE,
                   "threshold: feature %d: the eigenvalue at R = 0 does not change sign for "
                   "<c^2> in [1e-4, 1e4] (%g at 1e-4, %g at %g)",
                   j + 1, flo, fhi, hi);
  cl_common_init();
  cl_status st = brent(&F, lo, hi, m2c);
  if (c.status) return m2_failed(&c, err);
  return st ? cl_fail(err, st, "threshold: root finding failed for feature %d", j + 1) : CL_OK;
}

void cl_fixed_write_header(FILE *f, int K, int M, const char *vary) {
  char name[64];
  int n = cl_state_size(K, M), nc = cl_traj_ncol(K, M);
  if (vary) fprintf(f, "%s,", vary);
  fprintf(f, "id");
  for (int c = 0; c < nc; c++) cl_traj_colname(K, M, c, name, sizeof name), fprintf(f, ",%s", name);
  for (int k = 0; k < n; k++) fprintf(f, ",eig_re_%d,eig_im_%d,eig_err_%d", k + 1, k + 1, k + 1);
  fprintf(f, ",stability,orbit,kind,residual\n");
}

cl_status cl_fixed_write_rows(FILE *f, int K, int M, const cl_fixed_point *p, int np, const char *vary_value) {
  double R[CL_KMAX * CL_MMAX], Q[CL_MMAX * CL_MMAX], row[3 * CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX];
  int nc = cl_traj_ncol(K, M);
  for (int i = 0; i < np; i++) {
    cl_state_unpack(K, M, p[i].y, R, Q);
    cl_traj_set(K, M, R, Q, row);
    for (int i = 0; i < M; i++) /* a dead unit's cos (0 / 0) is 0 */
      if (!(Q[i * M + i] > 0))
        for (int j = 0; j < K; j++) row[K * M + M * (M + 1) / 2 + j * M + i] = 0;
    if (vary_value) fprintf(f, "%s,", vary_value);
    fprintf(f, "%d", i + 1);
    char a[32], b[32];
    for (int c = 0; c < nc; c++) fprintf(f, ",%s", cl_common_format_real(a, sizeof a, row[c]));
    for (int k = 0; k < p[i].n; k++) /* eig_err_k: eig_error[k], an estimate (3 digits, as residual) */
      fprintf(f, ",%s,%s,%.3g", cl_common_format_real(a, sizeof a, p[i].eig_re[k]),
              cl_common_format_real(b, sizeof b, p[i].eig_im[k]), p[i].eig_error[k]);
    if (fprintf(f, ",%s,%d,%s,%.3g\n", cl_stability_name(p[i].stability), p[i].orbit,
                cl_fixed_kind_name(p[i].kind), p[i].residual) < 0)
      return CL_EIO;
  }
  return ferror(f) ? CL_EIO : CL_OK;
}

/* ---- critical values of a parameter ----------------------------------- */
typedef struct {
  const cl_model *m;
  const cl_quad_opts *o;
  cl_param_setter set;
  void *ctx;
  double y[CL_STATE_MAX]; /* the last point, the start of the next Newton */
  int fail;
  int collapsed;     /* the point is on a collapse set (track_collapsed) */
  cl_status fail_st; /* fail == 2: the status */
  char err[CL_ERRLEN];
} track_ctx;

/* the tracked point at parameter value v, by Newton from t->y (dead units
 * stay pinned); 1 on success with the classified point in *p */
static int track_collapsed(track_ctx *t, const cl_model *mm, root_ctx *c, double v, const double *from,
                           cl_fixed_point *p);

static int track_at(track_ctx *t, double v, const double *from, cl_fixed_point *p) {
  cl_model mm = *t->m;
  if ((t->fail_st = t->set(t->ctx, v, &mm, t->err))) return t->fail = 2, 0;
  const int K = mm.K, M = mm.M, n = cl_state_size(K, M), dead = dead_mask(K, M, from);
  root_ctx c = {.K = K, .M = M, .n = n, .s2 = mm.s * mm.s};
  if ((t->fail_st = cl_drift_alloc(&mm, t->o, &c.d, t->err))) return t->fail = 2, 0;
  if (t->collapsed) {
    const int ok = track_collapsed(t, &mm, &c, v, from, p);
    cl_drift_free(c.d);
    return ok;
  }
  int k = 0;
  for (int j = 0; j < K; j++)
    for (int i = 0; i < M; i++, k++)
      if (!(dead >> i & 1)) c.idx[c.nfree++] = k;
  for (int i = 0; i < M; i++)
    for (int l = i; l < M; l++, k++)
      if (!((dead >> i | dead >> l) & 1)) c.idx[c.nfree++] = k;
  double y[CL_STATE_MAX];
  int ok = damped_newton(&c, from, y);
  cl_drift *fb = NULL;
  if (ok) {
    memset(p, 0, sizeof *p);
    p->n = n;
    memcpy(p->y, y, sizeof(double) * (size_t)n);
    if ((t->fail_st = cl_fixed_classify_fb(c.d, &mm, t->o, &fb, K, M, p, t->err))) ok = 0, t->fail = 2;
  } else if (ok == 0 && cl_drift_grid_unresolved(c.d)) {
    /* Newton's path met a state the grid refuses: not evidence that the
     * point is lost (before, reported as a fold: docs/fixed-points.md s.4),
     * but a refusal, which stops the continuation (the caller may rerun it
     * with another engine) */
    t->fail = 2, t->fail_st = CL_EDIVERGE;
    snprintf(t->err, sizeof t->err,
             "at %.10g Newton from the previous point met a state that needs " CL_GRID_REFUSAL
             " cap of the grid engine (nearly collinear units, docs/grid.md s.6)", v);
  }
  cl_drift_free(fb);
  cl_drift_free(c.d);
  return ok;
}

/* track_at for a point on a collapse set (t->collapsed; all signs +,
 * see cl_fixed_threshold): Newton on the set with the engine of
 * collapse_engine, classified by collapse_classify_at.  The point is lost
 * where Newton fails, where it leaves the set for a smaller one (groups
 * that merge, a unit that dies), and where the bulk rate has no limit (the
 * flow leaves the set at once: not a fixed point of the flow) */
static int track_collapsed(track_ctx *t, const cl_model *mm, root_ctx *c, double v, const double *from,
                           cl_fixed_point *p) {
  const int K = c->K, M = c->M, n = c->n;
  int first[CL_MMAX], sgn[CL_MMAX], grp[CL_MMAX] = {0}, ng = 0; /* (= {0}: gcc -O3 cannot see first[i] <= i) */
  collapse_groups(K, M, from, first, sgn);
  for (int i = 0; i < M; i++) grp[i] = first[i] == i ? ng++ : grp[first[i]];
  cpat pt;
  cpat_set(&pt, M, grp);
  cl_drift *dalt, *dc = collapse_engine(mm, t->o, c->d, &dalt);
  if (!dc) {
    t->fail = 2, t->fail_st = CL_EINVAL;
    snprintf(t->err, sizeof t->err, "at %.10g: no engine evaluates the collapse set (the quad rule refuses the model)", v);
    return 0;
  }
  root_ctx cc = *c;
  cc.d = dc, cc.pat = &pt, cc.nfree = cpat_size(&pt, K);
  cpat_idx(&pt, K, cc.idx);
  double y[CL_STATE_MAX];
  int ok = damped_newton(&cc, from, y) > 0 && cpat_matches(&pt, K, y);
  if (ok) {
    memset(p, 0, sizeof *p);
    p->n = n, p->kind = CL_KIND_COLLAPSED, p->collapse = 1;
    memcpy(p->y, y, sizeof(double) * (size_t)n);
    cl_status st2;
    p->residual = residual_at(dc, K, M, y, NULL, &st2);
    int rate_ok = 0;
    if (!st2) st2 = collapse_classify_at(&cc, p, &rate_ok, t->err);
    if (st2) ok = 0, t->fail = 2, t->fail_st = st2;
    else ok = rate_ok;
  }
  if (dc != c->d) cl_drift_free(dc);
  return ok;
}

static double max_re(const cl_fixed_point *p) {
  double r = -INFINITY;
  for (int k = 0; k < p->n; k++) r = fmax(r, p->eig_re[k]);
  return r;
}

static double eig_of_v(double v, void *params) {
  track_ctx *t = params;
  cl_fixed_point p;
  if (!track_at(t, v, t->y, &p)) {
    t->fail = t->fail ? t->fail : 1;
    return NAN;
  }
  return max_re(&p);
}

cl_status cl_fixed_threshold(const cl_model *m, const cl_quad_opts *o, cl_param_setter set, void *ctx,
                             double a, double b, double h, int sel_id, int sel_kind,
                             cl_threshold *out, int cap, int *nout, char *err) {
  track_ctx t = {.m = m, .o = o, .set = set, .ctx = ctx};
  cl_model ma = *m;
  *nout = 0;
  cl_status st = set(ctx, a, &ma, err);
  if (st) return st;
  cl_fixed_point *fp, cur, next;
  int np;
  /* the first collapsed point: the search on the collapse sets alone
   * lists the same ones in the same order (orbits by stability, then by
   * their largest image) */
  const int conly = sel_id <= 0 && sel_kind == CL_KIND_COLLAPSED && m->M >= 2;
  if ((st = find_impl(&ma, o, NULL, NULL, 0, conly, &fp, &np, NULL, err))) return st;
  int pick = -1;
  for (int i = 0; i < np && pick < 0; i++)
    if (sel_id > 0 ? i == sel_id - 1 : fp[i].kind == sel_kind) pick = i;
  if (pick < 0) {
    free(fp);
    if (sel_id > 0)
      return cl_fail(err, CL_EINVAL, "point: %d is not a fixed point id at the first value (%d found)",
                     sel_id, np);
    return cl_fail(err, CL_EINVAL, "point: no fixed point of kind %s at the first value",
                   cl_fixed_kind_name(sel_kind));
  }
  cur = fp[pick];
  free(fp);
  if (cur.kind == CL_KIND_COLLAPSED) {
    /* followed on its set with all signs + (its image under unit signs,
     * which are symmetries wherever a unit is minus another: odd sigma) */
    int first[CL_MMAX], sgn[CL_MMAX];
    const int K = m->K, M = m->M;
    collapse_groups(K, M, cur.y, first, sgn);
    for (int i = 0; i < M; i++) {
      if (sgn[i] > 0) continue;
      for (int j = 0; j < K; j++) cur.y[j * M + i] = -cur.y[j * M + i];
      for (int l = 0; l < M; l++)
        if (l != i) {
          const int a = l < i ? l : i, b = l < i ? i : l;
          cur.y[K * M + a * M - a * (a - 1) / 2 + b - a] *= -1;
        }
    }
    cur.collapse = 1, t.collapsed = 1;
  }
  long npts = (long)floor((b - a) / h + 1e-9) + 1;
  double vprev = a;
  cl_common_init();
  for (long k = 1; k < npts && *nout < cap; k++) {
    double v = a + (double)k * h;
    memcpy(t.y, cur.y, sizeof(double) * (size_t)cur.n);
    t.fail = 0;
    int ok = track_at(&t, v, cur.y, &next);
    if (t.fail == 2) {
      st = cl_fail(err, t.fail_st, "threshold: %s", t.err);
      break;
    }
    double l0 = max_re(&cur);
    if (!ok) {
      /* the point disappears (a fold): bisect on its existence */
      double lo = vprev, hi = v;
      cl_fixed_point p = cur;
      for (int it = 0; it < 40 && hi - lo > 1e-10 * fmax(1, fabs(hi)); it++) {
        double mid = (lo + hi) / 2;
        cl_fixed_point q;
        memcpy(t.y, p.y, sizeof(double) * (size_t)p.n);
        if (track_at(&t, mid, p.y, &q)) lo = mid, p = q;
        else if (t.fail == 2) break;
        else hi = mid;
      }
      if (t.fail == 2) {
        st = cl_fail(err, t.fail_st, "threshold: %s", t.err);
        break;
      }
      cl_threshold *r = &out[(*nout)++];
      r->value = lo, r->event = 1, r->before = cur.stability, r->after = cur.stability, r->at = p;
      break;
    }
    double l1 = max_re(&next);
    if ((l0 < 0) != (l1 < 0)) {
      gsl_function F = {eig_of_v, &t};
      double root = NAN;
      memcpy(t.y, cur.y, sizeof(double) * (size_t)cur.n);
      t.fail = 0;
      if (brent(&F, vprev, v, &root) || t.fail) root = NAN;
      if (t.fail == 2) {
        st = cl_fail(err, t.fail_st, "threshold: %s", t.err);
        break;
      }
      cl_threshold *r = &out[(*nout)++];
      r->value = root, r->event = 0, r->before = cur.stability, r->after = next.stability;
      memcpy(t.y, cur.y, sizeof(double) * (size_t)cur.n);
      t.fail = 0;
      if (!(isfinite(root) && track_at(&t, root, cur.y, &r->at))) r->at = next;
      if (t.fail == 2) { /* a refusal at the critical value stops it, as elsewhere */
        st = cl_fail(err, t.fail_st, "threshold: %s", t.err);
        break;
      }
    }
    cur = next, vprev = v;
  }
  return st;
}
