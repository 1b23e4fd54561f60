/* Integration of the order-parameter ODEs: DOP853 with dense output (default,
 * written here) or a GSL odeiv2 stepper.  The state is
 * y = (R row-major K x M, upper triangle of Q). */
#include "cldyn/ode.h"
#include "cldyn/schedule.h"
#include "cldyn/traj.h"
#include "drift_grid.h"
#include "linalg.h"
#include "ode.h"
#include "ode_flow.h"

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_odeiv2.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the tolerance floor of the Sobol' rules with a kink, as a fraction of
 * their drift error bound at t = 0 (docs/multi.md s.3) */
#define KINK_TOL 0.01

void cl_ode_opts_default(cl_ode_opts *o) {
  memset(o, 0, sizeof *o);
  strcpy(o->stepper, "dop853");
  o->rtol = 1e-8;
  o->atol = 1e-10;
  o->quad.mc_seed = 1;
}

static const struct {
  const char *name;
  const gsl_odeiv2_step_type **type;
} steppers[] = {{"rk8pd", &gsl_odeiv2_step_rk8pd}, {"rkf45", &gsl_odeiv2_step_rkf45},
                {"rkck", &gsl_odeiv2_step_rkck},   {"msbdf", &gsl_odeiv2_step_msbdf},
                {"rk4imp", &gsl_odeiv2_step_rk4imp}, {"bsimp", &gsl_odeiv2_step_bsimp},
                {"msadams", &gsl_odeiv2_step_msadams}};

cl_status cl_ode_check_stepper(const char *name, char *err) {
  if (strcmp(name, "dop853") == 0) return CL_OK;
  for (size_t i = 0; i < sizeof steppers / sizeof steppers[0]; i++)
    if (strcmp(name, steppers[i].name) == 0) return CL_OK;
  return cl_fail(err, CL_EINVAL,
                 "stepper: unknown '%s'; accepted: dop853, rk8pd, rkf45, rkck, msadams, msbdf, "
                 "rk4imp, bsimp",
                 name);
}

typedef struct {
  cl_drift *drift;
  int K, M;
  int nrep, n1; /* M >= 2 engine with dop853: nrep stacked replicate systems of n1 each */
  double *rq;   /* their R, Q, dR, dQ (nrep blocks each), for cl_drift_eval_reps */
  cl_status st;
  char err[CL_ERRLEN];
  double t_fail;
  cl_progress_fn progress; /* cl_ode_opts' hook: fraction of [0, T] */
  void *pctx;
  double p0, p1; /* the fraction reported is p0 + (p1 - p0) t / T (p1 = 0: t / T) */
} ode_ctx;

static void report(const ode_ctx *c, double f) {
  if (c->progress) c->progress(c->pctx, c->p1 > 0 ? c->p0 + (c->p1 - c->p0) * f : f);
}

/* The name of component i of the integrated vector: R_k_m or Q_m_l as in
 * the output table (replicate systems stacked: i modulo n1), y_i for a flow */
static void comp_name(const ode_ctx *c, int i, char *buf, size_t len) {
  if (c->n1 > 0) cl_traj_colname(c->K, c->M, i % c->n1, buf, len);
  else snprintf(buf, len, "y_%d", i + 1);
}

/* The number of copies of the system integrated together (1 for one) */
static int copies(const ode_ctx *c) { return c->nrep > 1 ? c->nrep : 1; }

static int rhs(double t, const double *y, double *f, void *params) {
  ode_ctx *c = params;
  int K = c->K, M = c->M, n = cl_state_size(K, M), nr = copies(c);
  const size_t KM = (size_t)K * M, MM = (size_t)M * M;
  double *R = c->rq, *Q = R + nr * KM, *dR = Q + nr * MM, *dQ = dR + nr * KM;
  cl_status st = CL_OK;
  for (int r = 0; r < nr && !st; r++) {
    const double *yr = y + (size_t)r * c->n1;
    /* R and Q are O(1): beyond 1e15 the solution blows up */
    for (int i = 0; i < n && !st; i++)
      if (!(fabs(yr[i]) < 1e15)) {
        char nm[32];
        comp_name(c, i, nm, sizeof nm);
        st = cl_fail(c->err, CL_EDIVERGE, "the solution blows up (|%s| = %g > 1e15)", nm, fabs(yr[i]));
      }
    if (!st && c->nrep > 1) cl_state_unpack(K, M, yr, R + r * KM, Q + r * MM);
  }
  if (!st && c->nrep <= 1) st = cl_ode_drift(c->drift, K, M, y, f, c->err);
  else if (!st) {
    /* every replicate system in one call: its work is spread over the threads */
    st = cl_drift_eval_reps(c->drift, R, Q, dR, dQ, c->err);
    for (int r = 0; r < nr && !st; r++) cl_state_pack(K, M, dR + r * KM, dQ + r * MM, f + (size_t)r * c->n1);
  }
  if (st) {
    c->st = st;
    c->t_fail = t;
    return GSL_EBADFUNC;
  }
  return GSL_SUCCESS;
}

/* The Jacobian for the implicit steppers: cl_ode_jacobian (the system is
 * autonomous, so df/dt = 0). */
static int jac(double t, const double *y, double *dfdy, double *dfdt, void *params) {
  ode_ctx *c = params;
  int n = cl_state_size(c->K, c->M);
  cl_status st = cl_ode_jacobian(c->drift, c->K, c->M, y, dfdy, NULL, c->err);
  if (st) {
    c->st = st;
    c->t_fail = t;
    return GSL_EBADFUNC;
  }
  for (int i = 0; i < n; i++) dfdt[i] = 0;
  return GSL_SUCCESS;
}

cl_status cl_ode_drift(cl_drift *d, int K, int M, const double *y, double *f, char *err) {
  double R[CL_KMAX * CL_MMAX], Q[CL_MMAX * CL_MMAX], dR[CL_KMAX * CL_MMAX], dQ[CL_MMAX * CL_MMAX];
  cl_state_unpack(K, M, y, R, Q);
  cl_status st = cl_drift_eval(d, R, Q, dR, dQ, err);
  if (!st) cl_state_pack(K, M, dR, dQ, f);
  return st;
}

/* Column j by central differences; where a side leaves the domain (a
 * point on its boundary, e.g. two units with parallel weights: Q - R^T R
 * singular), the second-order one-sided formula on the other side, else
 * central differences with a 16 times smaller step.  fwd (the drift at y,
 * or NULL): forward differences from it (half the drifts), the rest as
 * before where the forward point leaves the domain. */
static cl_status fd_jacobian(cl_drift *d, int K, int M, const double *y, const double *fwd, double scale, double *J,
                             char *err) {
  int n = cl_state_size(K, M), have_f0 = 0;
  double yp[CL_STATE_MAX], fp[CL_STATE_MAX], fm[CL_STATE_MAX], f0[CL_STATE_MAX];
  memcpy(yp, y, sizeof(double) * (size_t)n);
  for (int j = 0; j < n; j++) {
    double h = scale * fmax(1, fabs(y[j]));
    cl_status st;
    yp[j] = y[j] + h;
    st = cl_ode_drift(d, K, M, yp, fp, err);
    if (fwd && !st) {
      yp[j] = y[j];
      for (int i = 0; i < n; i++) J[i * n + j] = (fp[i] - fwd[i]) / h;
      continue;
    }
    yp[j] = y[j] - h;
    if (!st) st = cl_ode_drift(d, K, M, yp, fm, err);
    yp[j] = y[j];
    if (!st) {
      for (int i = 0; i < n; i++) J[i * n + j] = (fp[i] - fm[i]) / (2 * h);
      continue;
    }
    if (st != CL_EDIVERGE) return st;
    if (!have_f0 && (st = cl_ode_drift(d, K, M, y, f0, err))) return st;
    have_f0 = 1;
    int done = 0;
    for (int side = 1; side >= -1 && !done; side -= 2) {
      yp[j] = y[j] + side * h;
      st = cl_ode_drift(d, K, M, yp, fp, NULL);
      yp[j] = y[j] + 2 * side * h;
      if (!st) st = cl_ode_drift(d, K, M, yp, fm, NULL);
      yp[j] = y[j];
      if (!st) {
        for (int i = 0; i < n; i++) J[i * n + j] = side * (-3 * f0[i] + 4 * fp[i] - fm[i]) / (2 * h);
        done = 1;
      }
    }
    if (done) continue;
    h /= 16;
    yp[j] = y[j] + h;
    st = cl_ode_drift(d, K, M, yp, fp, err);
    yp[j] = y[j] - h;
    if (!st) st = cl_ode_drift(d, K, M, yp, fm, err);
    yp[j] = y[j];
    if (st) return st;
    for (int i = 0; i < n; i++) J[i * n + j] = (fp[i] - fm[i]) / (2 * h);
  }
  return CL_OK;
}

/* The relative step of the differences at y.  Next to the boundary of
 * the domain (Q - R^T R nearly singular: units with nearly parallel
 * weights, a unit nearly dead) the drift varies on the scale of the
 * distance to it, dist = the smallest eigenvalue of Q - R^T R: at M = 2,
 * laplace:3 + rademacher:2, sigmoid, lambda = 0.3 the stable state has
 * dist = 1.4e-5, a step of 1e-5 left the grid's range on one side, and the
 * one-sided differences put an entry of 1.76 at 0.39 (eigenvalues off by
 * 35%, jac_error 0.4: the point was called marginal).  A step moves Q -
 * R^T R by at most h (1 + 2 max_j |R_j.|) (+ h^2) in norm, h <= scale
 * max_k max(1, |y_k|): the scale keeps that below dist / 30, down to 1e-9,
 * and cl_ode_jacobian extrapolates (Richardson) there.  A smaller step
 * trades truncation for the drift's own noise (the grid's is ~1e-12: its
 * nodes follow the state): at the states of docs/fixed-points.md s.7,
 * dist / 30 with Richardson came closest to the eigenvalues that steps
 * from dist / 10 to dist / 1500 agree on.  On the boundary itself (dist at
 * rounding level) the default step with the one-sided formula of
 * fd_jacobian. */
static double fd_scale(int K, int M, const double *y) {
  double R[CL_KMAX * CL_MMAX], Q[CL_MMAX * CL_MMAX], A[CL_MMAX * CL_MMAX], ymax = 1, rrow = 0;
  const int n = cl_state_size(K, M);
  cl_state_unpack(K, M, y, R, Q);
  for (int k = 0; k < n; k++) ymax = fmax(ymax, fabs(y[k]));
  for (int j = 0; j < K; j++) {
    double r2 = 0;
    for (int i = 0; i < M; i++) r2 += R[j * M + i] * R[j * M + i];
    rrow = fmax(rrow, sqrt(r2));
  }
  cl_resid_cov(K, M, R, Q, 0, A);
  const double f = ymax * fmax(1, 2 * rrow), dist = cl_model_sym_min_eig(A, M);
  if (!(dist > 1e-12 * f)) return CL_FD_STEP; /* on the boundary, or not finite */
  return fmin(CL_FD_STEP, fmax(CL_FD_MIN_STEP, dist / (30 * f)));
}

/* Next to the boundary the Jacobian is taken in the coordinates
 * z = (R, L), L the lower Cholesky factor of A = Q - R^T R, y = Phi(z) =
 * (R, R^T R + L L^T): every step in z stays in the domain, and the drift,
 * a Gaussian expectation over A = L L^T, is smooth in L on the scale of
 * L itself (sqrt(dist)), not of dist as in Q.  In Q the entries of J are
 * large (~150) and nearly cancel, so the drift's noise (~1e-12 for the
 * grid) over the small steps that dist allows moved a complex pair of the
 * state with s = 1 of docs/fixed-points.md s.7 by up to 4e-3; in z the steps
 * in L can be the default one.  J = G P^-1, G = dF(Phi(z))/dz by central
 * differences (steps: hR for R, hL for L, relative as in fd_jacobian),
 * P = dPhi/dz exactly. */
static void chol_pack(int K, int M, const double *R, const double *L, double *y) {
  double Q[CL_MMAX * CL_MMAX];
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) {
      double v = 0;
      for (int j = 0; j < K; j++) v += R[j * M + i] * R[j * M + l];
      for (int k = 0; k <= (i < l ? i : l); k++) v += L[i * M + k] * L[l * M + k];
      Q[i * M + l] = v;
    }
  cl_state_pack(K, M, R, Q, y);
}
/* z's coordinate q: R row-major, then L's lower triangle row by row */
static double *chol_coord(int K, int M, double *R, double *L, int q) {
  if (q < K * M) return &R[q];
  q -= K * M;
  for (int i = 0; i < M; q -= i + 1, i++)
    if (q <= i) return &L[i * M + q];
  return NULL;
}
static cl_status chol_cols(cl_drift *d, int K, int M, const double *R0, const double *L0, double hR, double hL,
                           double *G, char *err) {
  const int n = cl_state_size(K, M);
  double R[CL_KMAX * CL_MMAX], L[CL_MMAX * CL_MMAX], y[CL_STATE_MAX], fp[CL_STATE_MAX], fm[CL_STATE_MAX];
  memcpy(R, R0, sizeof R), memcpy(L, L0, sizeof L);
  for (int q = 0; q < n; q++) {
    double *z = chol_coord(K, M, R, L, q), z0 = *z, h = (q < K * M ? hR : hL) * fmax(1, fabs(z0));
    cl_status st;
    *z = z0 + h, chol_pack(K, M, R, L, y);
    st = cl_ode_drift(d, K, M, y, fp, err);
    *z = z0 - h, chol_pack(K, M, R, L, y);
    if (!st) st = cl_ode_drift(d, K, M, y, fm, err);
    *z = z0;
    if (st) return st;
    for (int i = 0; i < n; i++) G[i * n + q] = (fp[i] - fm[i]) / (2 * h);
  }
  return CL_OK;
}
/* J (n x n) for the three Richardson levels of cl_ode_jacobian: level k
 * of `lev` (k = 0, 1: steps (h, h/2), (h/2, h/4)); 1 if A is not positive
 * definite in floating point (then the caller keeps the steps in y) */
static int chol_jacobian(cl_drift *d, int K, int M, const double *yv, double hR, int nlev, double *J, double *J2,
                         cl_status *st, char *err) {
  const int n = cl_state_size(K, M);
  double R[CL_KMAX * CL_MMAX], Q[CL_MMAX * CL_MMAX], Av[CL_MMAX * CL_MMAX], L[CL_MMAX * CL_MMAX] = {0},
      Lmin = INFINITY;
  cl_state_unpack(K, M, yv, R, Q);
  cl_resid_cov(K, M, R, Q, 0, Av);
  gsl_matrix *A = gsl_matrix_alloc((size_t)M, (size_t)M), *P = gsl_matrix_alloc((size_t)n, (size_t)n);
  gsl_permutation *perm = gsl_permutation_alloc((size_t)n);
  double *G = malloc(sizeof(double) * 3 * (size_t)(n * n));
  if (!A || !P || !perm || !G) {
    if (A) gsl_matrix_free(A);
    if (P) gsl_matrix_free(P);
    if (perm) gsl_permutation_free(perm);
    free(G);
    *st = cl_fail(err, CL_ENOMEM, "jacobian: out of memory");
    return 0;
  }
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) gsl_matrix_set(A, (size_t)i, (size_t)l, Av[i * M + l]);
  gsl_error_handler_t *old = gsl_set_error_handler_off();
  int bad = gsl_linalg_cholesky_decomp1(A) != GSL_SUCCESS, sgn;
  for (int i = 0; i < M && !bad; i++)
    for (int k = 0; k <= i; k++) L[i * M + k] = gsl_matrix_get(A, (size_t)i, (size_t)k);
  for (int i = 0; i < M && !bad; i++) Lmin = fmin(Lmin, L[i * M + i]);
  bad = bad || !(Lmin > 0);
  /* P = dPhi/dz, column by column (Phi is quadratic: the directional
   * derivative is exact) */
  for (int q = 0; q < n && !bad; q++) {
    double dR[CL_KMAX * CL_MMAX] = {0}, dL[CL_MMAX * CL_MMAX] = {0}, dQ[CL_MMAX * CL_MMAX], col[CL_STATE_MAX];
    *chol_coord(K, M, dR, dL, q) = 1;
    for (int i = 0; i < M; i++)
      for (int l = 0; l < M; l++) {
        double v = 0;
        for (int j = 0; j < K; j++) v += dR[j * M + i] * R[j * M + l] + R[j * M + i] * dR[j * M + l];
        for (int k = 0; k < M; k++) v += dL[i * M + k] * L[l * M + k] + L[i * M + k] * dL[l * M + k];
        dQ[i * M + l] = v;
      }
    cl_state_pack(K, M, dR, dQ, col);
    /* P^T, to solve P^T x = g for each row g of G */
    for (int i = 0; i < n; i++) gsl_matrix_set(P, (size_t)q, (size_t)i, col[i]);
  }
  bad = bad || gsl_linalg_LU_decomp(P, perm, &sgn) != GSL_SUCCESS;
  gsl_set_error_handler(old);
  if (!bad) {
    /* the steps in L: 4 times the default (levels 4e-5, 2e-5, 1e-5: at the
     * state with s = 1 the complex pair moved by 2e-6 between the levels
     * from 3e-5 and from 1e-5, by 1.8e-4 from 3e-6: the grid's noise over
     * the step, times 1 / L_22), but at most L's smallest diagonal / 30 (a
     * step must not take a unit's L_ii across 0, where the engines' ranges
     * end), and not below CL_FD_MIN_STEP */
    const double hL = fmax(CL_FD_MIN_STEP, fmin(4 * CL_FD_STEP, Lmin / 30));
    *st = CL_OK;
    for (int k = 0; k < nlev + 1 && !*st; k++)
      *st = chol_cols(d, K, M, R, L, hR / (1 << k), hL / (1 << k), G + (size_t)k * n * n, err);
    for (int lv = 0; lv < nlev && !*st; lv++) {
      double *out = lv ? J2 : J, x[CL_STATE_MAX];
      const double *g1 = G + (size_t)lv * n * n, *g2 = G + (size_t)(lv + 1) * n * n;
      for (int i = 0; i < n; i++) {
        double g[CL_STATE_MAX];
        for (int q = 0; q < n; q++) g[q] = (4 * g2[i * n + q] - g1[i * n + q]) / 3;
        gsl_vector_view gv = gsl_vector_view_array(g, (size_t)n), xv = gsl_vector_view_array(x, (size_t)n);
        gsl_linalg_LU_solve(P, perm, &gv.vector, &xv.vector);
        memcpy(out + (size_t)i * n, x, sizeof(double) * (size_t)n);
      }
    }
  }
  gsl_matrix_free(A), gsl_matrix_free(P), gsl_permutation_free(perm), free(G);
  return bad;
}

/* The largest distance from an eigenvalue of J1 to the nearest of J2
 * (n x n each); -1 if out of memory */
double cl_ode_spectrum_gap(const double *J1, const double *J2, int n) {
  double re[2][CL_STATE_MAX], im[2][CL_STATE_MAX], gap = 0;
  if (cl_eigen_nonsymm(J1, n, 0, re[0], im[0]) || cl_eigen_nonsymm(J2, n, 0, re[1], im[1])) return -1;
  for (int a = 0; a < n; a++) {
    double near = INFINITY;
    for (int b = 0; b < n; b++) near = fmin(near, hypot(re[0][a] - re[1][b], im[0][a] - im[1][b]));
    gap = fmax(gap, near);
  }
  return gap;
}

/* The greedy matching of J1's eigenvalues (in the order of
 * cl_eigen_nonsymm(J1, n, 1)) to J2's: the closest pair of all first, then
 * the closest of the rest, each eigenvalue used once; mv[a] the distance
 * of J1's a-th eigenvalue to its partner.  -1 if out of memory. */
int cl_ode_eig_moves(const double *J1, const double *J2, int n, double *mv) {
  double re[2][CL_STATE_MAX], im[2][CL_STATE_MAX];
  if (cl_eigen_nonsymm(J1, n, 1, re[0], im[0]) || cl_eigen_nonsymm(J2, n, 0, re[1], im[1])) return -1;
  const size_t nn = (size_t)n * (size_t)n;
  double *dist = malloc(sizeof(double) * nn);
  char *used = calloc(2 * (size_t)n, 1);
  if (!dist || !used) {
    free(dist), free(used);
    return -1;
  }
  for (int a = 0; a < n; a++)
    for (int b = 0; b < n; b++) dist[(size_t)a * n + b] = hypot(re[0][a] - re[1][b], im[0][a] - im[1][b]);
  for (int m = 0; m < n; m++) { /* n rounds: the closest free pair (O(n^3), n is small) */
    double best = INFINITY;
    int ba = -1, bb = -1;
    for (int a = 0; a < n; a++)
      for (int b = 0; b < n && !used[a]; b++)
        if (!used[n + b] && (ba < 0 || dist[(size_t)a * n + b] < best)) best = dist[(size_t)a * n + b], ba = a, bb = b;
    used[ba] = used[n + bb] = 1, mv[ba] = best;
  }
  free(dist), free(used);
  return 0;
}

/* J, and in J2 (when not NULL) the Jacobian it is checked against:
 * *fac = 2 when J and J2 are the Richardson levels of the Cholesky
 * coordinates (the error is then twice their difference), 1 for the next
 * Richardson level of the one-sided boundary differences; away from the
 * boundary J2 has the steps divided by div (2 for cl_ode_jacobian; 4 for
 * cl_ode_jacobian_pair, *fac 2) */
static cl_status jacobian_pair(cl_drift *d, int K, int M, const double *y, double *J, double *J2, int div, int *fac,
                               char *err) {
  int n = cl_state_size(K, M);
  const double scale = fd_scale(K, M, y);
  const int near = scale < CL_FD_STEP; /* next to the boundary: Richardson */
  if (fac) *fac = 1;
  if (near) {
    double *Jc = J2 ? J2 : malloc(sizeof(double) * (size_t)(n * n));
    if (!Jc) return cl_fail(err, CL_ENOMEM, "jacobian: out of memory");
    cl_status st = CL_OK;
    const int bad = chol_jacobian(d, K, M, y, scale, J2 ? 2 : 1, J, Jc, &st, err);
    if (!J2) free(Jc);
    if (!bad) {
      if (fac) *fac = 2;
      return st;
    }
  }
  cl_status st = fd_jacobian(d, K, M, y, NULL, scale, J, err);
  if (st || (!J2 && !near)) return st;
  if (!near) {
    if (fac) *fac = div == 4 ? 2 : 1;
    return fd_jacobian(d, K, M, y, NULL, scale / div, J2, err);
  }
  /* there the entries are large differences of the drift (~Q / dist times
   * its scale: 150 at the state with s = 1 of docs/fixed-points.md s.7) and
   * the eigenvalues small differences of the entries, so the O(h^2) term
   * matters: (4 J(h/2) - J(h)) / 3, checked against the same from h/2 and
   * h/4 */
  double *Jh = malloc(sizeof(double) * 2 * (size_t)(n * n));
  if (!Jh) return cl_fail(err, CL_ENOMEM, "jacobian: out of memory");
  double *J4 = Jh + n * n;
  st = fd_jacobian(d, K, M, y, NULL, scale / 2, Jh, err);
  for (int k = 0; k < n * n && !st; k++) J[k] = (4 * Jh[k] - J[k]) / 3;
  if (!st && J2) st = fd_jacobian(d, K, M, y, NULL, scale / 4, J4, err);
  for (int k = 0; k < n * n && !st && J2; k++) J2[k] = (4 * J4[k] - Jh[k]) / 3;
  free(Jh);
  return st;
}

int cl_ode_jacobian_rounding(int K, int M, const double *y, int fac, double rnd, double *e) {
  const double scale = fd_scale(K, M, y);
  const int near = scale < CL_FD_STEP;
  if (near && fac == 2) return 1;
  for (int j = 0; j < cl_state_size(K, M); j++) e[j] = (near ? 3 : 1) * rnd / (scale * fmax(1, fabs(y[j])));
  return 0;
}

/* Away from the boundary the check has a quarter of the steps and the
 * error is twice the move: the truncation error of J (O(h^2)) is 16/15 of
 * its difference from J(h/4), and the drift's rounding, divided by the
 * step, is 4 times larger in J(h/4) than in J, so their difference cannot
 * hide it as the difference from J(h/2) can (at the live point of
 * docs/fixed-points.md s.2, "Each eigenvalue's error", an eigenvalue was
 * 2.1 times its move between h and h/2 off) */
cl_status cl_ode_jacobian_pair(cl_drift *d, int K, int M, const double *y, double *J, double *J2, int *fac, char *err) {
  return jacobian_pair(d, K, M, y, J, J2, 4, fac, err);
}

cl_status cl_ode_jacobian(cl_drift *d, int K, int M, const double *y, double *J,
                            double *err_est, char *err) {
  const int n = cl_state_size(K, M);
  double *J2 = NULL;
  if (err_est && !(J2 = malloc(sizeof(double) * (size_t)(n * n)))) return cl_fail(err, CL_ENOMEM, "jacobian: out of memory");
  int fac = 1;
  cl_status st = jacobian_pair(d, K, M, y, J, J2, 2, &fac, err);
  if (!st && err_est) {
    double e = 0;
    if (fac == 2) {
      /* next to the boundary, in (R, L): twice the largest move of an
       * eigenvalue between the levels (h, h/2) and (h/2, h/4).  Entry by
       * entry they differ by up to 1.7e-3 at the state with s = 1 (the
       * columns of L_22 carry the grid's noise, ~1e-5 in G, times 1 / L_22
       * in P^-1) while the spectra agree to 1e-6: the errors of J lie where
       * they do not move the eigenvalues, which are what the error is used
       * for.  Twice: an error that falls only like h (the grid's drift at
       * R = 0 is not twice differentiable in R to this accuracy: its
       * central differences in R move by ~4e2 h there) is after Richardson
       * twice the move between the levels */
      if ((e = cl_ode_spectrum_gap(J, J2, n)) < 0) st = cl_fail(err, CL_ENOMEM, "jacobian: out of memory");
      e *= 2;
    } else {
      for (int k = 0; k < n * n; k++) e = fmax(e, fabs(J[k] - J2[k]));
    }
    *err_est = e;
  }
  free(J2);
  return st;
}

/* ---- DOP853 with dense output ----------------------------------------
 * Why this is written here and not taken from GSL: GSL's rk8pd has no dense
 * output, so its driver must end a step at every output time.  On the
 * default model (T = 50, output every 0.5) that took ~1370 drift
 * evaluations; DOP853 takes steps as large as the tolerance allows and
 * evaluates the solution at the output times with its 7th-order continuous
 * extension (3 more stages per step that contains an output): ~400
 * evaluations, as SciPy's solve_ivp(DOP853) on the same problem (measured,
 * bench/ode).  The method, the error estimate (5th- and 3rd-order embedded
 * estimates combined, RMS norm over the components with the weights
 * atol + rtol max(|y_old|, |y_new|)), the step-size control (safety 0.9,
 * factor in [0.2, 10], no increase right after a rejection) and the
 * initial step are those of Hairer's dop853.f as implemented by SciPy.
 * A drift that cannot be evaluated at a stage (a trial state outside the
 * domain, or not finite) rejects the step and halves it; the integration
 * stops (CL_EDIVERGE, with t and the parameters) when the step falls below
 * 1e-9 max(1, T) (or 10 ulp of t), after 2e5 + 1000 T trial steps, or when a
 * component of the state exceeds 1e15 in magnitude. */
/* DOP853 (Hairer, Norsett & Wanner; the coefficients of Hairer's dop853.f as in
 * SciPy's dop853_coefficients.py): nodes c, stages a (rows 13-15 are the
 * three extra stages of the dense output), weights b (= row 12 of a),
 * error weights e5 (5th order) and bhh (3rd order: e3 = b - bhh), and the
 * dense-output coefficients d (4 x 16). */
static const double dop_c[16] = {0.0, 0.526001519587677318785587544488e-01, 0.789002279381515978178381316732e-01, 0.118350341907227396726757197510, 0.281649658092772603273242802490, 0.333333333333333333333333333333, 0.25, 0.307692307692307692307692307692, 0.651282051282051282051282051282, 0.6, 0.857142857142857142857142857142, 1.0, 1.0, 0.1, 0.2, 0.777777777777777777777777777778};
static const double dop_a[16][16] = {
    {0},
    {5.26001519587677318785587544488e-2},
    {1.97250569845378994544595329183e-2, 5.91751709536136983633785987549e-2},
    {2.95875854768068491816892993775e-2, 0, 8.87627564304205475450678981324e-2},
    {2.41365134159266685502369798665e-1, 0, -8.84549479328286085344864962717e-1, 9.24834003261792003115737966543e-1},
    {3.7037037037037037037037037037e-2, 0, 0, 1.70828608729473871279604482173e-1, 1.25467687566822425016691814123e-1},
    {3.7109375e-2, 0, 0, 1.70252211019544039314978060272e-1, 6.02165389804559606850219397283e-2, -1.7578125e-2},
    {3.70920001185047927108779319836e-2, 0, 0, 1.70383925712239993810214054705e-1, 1.07262030446373284651809199168e-1, -1.53194377486244017527936158236e-2, 8.27378916381402288758473766002e-3},
    {6.24110958716075717114429577812e-1, 0, 0, -3.36089262944694129406857109825, -8.68219346841726006818189891453e-1, 2.75920996994467083049415600797e1, 2.01540675504778934086186788979e1, -4.34898841810699588477366255144e1},
    {4.77662536438264365890433908527e-1, 0, 0, -2.48811461997166764192642586468, -5.90290826836842996371446475743e-1, 2.12300514481811942347288949897e1, 1.52792336328824235832596922938e1, -3.32882109689848629194453265587e1, -2.03312017085086261358222928593e-2},
    {-9.3714243008598732571704021658e-1, 0, 0, 5.18637242884406370830023853209, 1.09143734899672957818500254654, -8.14978701074692612513997267357, -1.85200656599969598641566180701e1, 2.27394870993505042818970056734e1, 2.49360555267965238987089396762, -3.0467644718982195003823669022},
    {2.27331014751653820792359768449, 0, 0, -1.05344954667372501984066689879e1, -2.00087205822486249909675718444, -1.79589318631187989172765950534e1, 2.79488845294199600508499808837e1, -2.85899827713502369474065508674, -8.87285693353062954433549289258, 1.23605671757943030647266201528e1, 6.43392746015763530355970484046e-1},
    {5.42937341165687622380535766363e-2, 0, 0, 0, 0, 4.45031289275240888144113950566, 1.89151789931450038304281599044, -5.8012039600105847814672114227, 3.1116436695781989440891606237e-1, -1.52160949662516078556178806805e-1, 2.01365400804030348374776537501e-1, 4.47106157277725905176885569043e-2},
    {5.61675022830479523392909219681e-2, 0, 0, 0, 0, 0, 2.53500210216624811088794765333e-1, -2.46239037470802489917441475441e-1, -1.24191423263816360469010140626e-1, 1.5329179827876569731206322685e-1, 8.20105229563468988491666602057e-3, 7.56789766054569976138603589584e-3, -8.298e-3},
    {3.18346481635021405060768473261e-2, 0, 0, 0, 0, 2.83009096723667755288322961402e-2, 5.35419883074385676223797384372e-2, -5.49237485713909884646569340306e-2, 0, 0, -1.08347328697249322858509316994e-4, 3.82571090835658412954920192323e-4, -3.40465008687404560802977114492e-4, 1.41312443674632500278074618366e-1},
    {-4.28896301583791923408573538692e-1, 0, 0, 0, 0, -4.69762141536116384314449447206, 7.68342119606259904184240953878, 4.06898981839711007970213554331, 3.56727187455281109270669543021e-1, 0, 0, 0, -1.39902416515901462129418009734e-3, 2.9475147891527723389556272149, -9.15095847217987001081870187138},
};
static const double dop_e5[12] = {0.1312004499419488073250102996e-1, 0, 0, 0, 0, -0.1225156446376204440720569753e+1, -0.4957589496572501915214079952, 0.1664377182454986536961530415e+1, -0.3503288487499736816886487290, 0.3341791187130174790297318841, 0.8192320648511571246570742613e-1, -0.2235530786388629525884427845e-1};
static const double dop_bhh[3] = {0.244094488188976377952755905512, 0.733846688281611857341361741547, 0.220588235294117647058823529412e-1}; /* stages 0, 8, 11 */
static const double dop_d[4][16] = {
    {-0.84289382761090128651353491142e+1, 0, 0, 0, 0, 0.56671495351937776962531783590, -0.30689499459498916912797304727e+1, 0.23846676565120698287728149680e+1, 0.21170345824450282767155149946e+1, -0.87139158377797299206789907490, 0.22404374302607882758541771650e+1, 0.63157877876946881815570249290, -0.88990336451333310820698117400e-1, 0.18148505520854727256656404962e+2, -0.91946323924783554000451984436e+1, -0.44360363875948939664310572000e+1},
    {0.10427508642579134603413151009e+2, 0, 0, 0, 0, 0.24228349177525818288430175319e+3, 0.16520045171727028198505394887e+3, -0.37454675472269020279518312152e+3, -0.22113666853125306036270938578e+2, 0.77334326684722638389603898808e+1, -0.30674084731089398182061213626e+2, -0.93321305264302278729567221706e+1, 0.15697238121770843886131091075e+2, -0.31139403219565177677282850411e+2, -0.93529243588444783865713862664e+1, 0.35816841486394083752465898540e+2},
    {0.19985053242002433820987653617e+2, 0, 0, 0, 0, -0.38703730874935176555105901742e+3, -0.18917813819516756882830838328e+3, 0.52780815920542364900561016686e+3, -0.11573902539959630126141871134e+2, 0.68812326946963000169666922661e+1, -0.10006050966910838403183860980e+1, 0.77771377980534432092869265740, -0.27782057523535084065932004339e+1, -0.60196695231264120758267380846e+2, 0.84320405506677161018159903784e+2, 0.11992291136182789328035130030e+2},
    {-0.25693933462703749003312586129e+2, 0, 0, 0, 0, -0.15418974869023643374053993627e+3, -0.23152937917604549567536039109e+3, 0.35763911791061412378285349910e+3, 0.93405324183624310003907691704e+2, -0.37458323136451633156875139351e+2, 0.10409964950896230045147246184e+3, 0.29840293426660503123344363579e+2, -0.43533456590011143754432175058e+2, 0.96324553959188282948394950600e+2, -0.39177261675615439165231486172e+2, -0.14972683625798562581422125276e+3},
};

/* v / sc, with 0 for 0 / 0 (atol = 0 and a component that is exactly 0) */
static inline double scaled(double v, double sc) { return v == 0 ? 0 : v / sc; }

typedef struct {
  int n;
  double *k[16], *y, *ynew, *ytmp, *sc, *F; /* F: 7 x n dense-output coefficients */
  double *u, *du, *fu;                       /* the defect check */
  double *ys; /* NULL, or 16 x n: the stage states (12: ynew) for dop_lv */
} dop_ws;

/* One trial step of size h from (t, y) with k[0] = f(t, y): fills
 * k[1..12], ynew (k[12] = f(t + h, ynew)) and returns the error norm, or
 * -1 if the drift failed at a stage or the estimate is not finite. */
static double dop_step(dop_ws *w, gsl_odeiv2_system *sys, double t, double h, double rtol,
                       double atol) {
  const int n = w->n;
  for (int st = 1; st <= 12; st++) {
    double *out = st < 12 ? w->ytmp : w->ynew;
    for (int i = 0; i < n; i++) {
      double acc = 0;
      for (int j = 0; j < st; j++) acc += dop_a[st][j] * w->k[j][i];
      out[i] = w->y[i] + h * acc;
    }
    if (w->ys) memcpy(w->ys + (size_t)st * n, out, sizeof(double) * (size_t)n);
    if (sys->function(st < 12 ? t + dop_c[st] * h : t + h, out, w->k[st], sys->params)) return -1;
  }
  double e5 = 0, e3 = 0;
  for (int i = 0; i < n; i++) {
    double sc = atol + rtol * fmax(fabs(w->y[i]), fabs(w->ynew[i])), a5 = 0, a3 = 0;
    for (int j = 0; j < 12; j++) {
      a5 += dop_e5[j] * w->k[j][i];
      a3 += dop_a[12][j] * w->k[j][i];
    }
    a3 -= dop_bhh[0] * w->k[0][i] + dop_bhh[1] * w->k[8][i] + dop_bhh[2] * w->k[11][i];
    a5 = scaled(a5, sc), a3 = scaled(a3, sc);
    e5 += a5 * a5, e3 += a3 * a3;
  }
  if (e5 == 0 && e3 == 0) return 0;
  double e = fabs(h) * e5 / sqrt((e5 + 0.01 * e3) * n);
  return isfinite(e) ? e : -1;
}

/* Hairer's rcont F (7 x n) of the step (t, h): y -> ynew, k[0..15] its
 * slopes at the 16 stages */
static void dense_coef(int n, double h, const double *y, const double *ynew, double *const *k, double *F) {
  for (int i = 0; i < n; i++) {
    double dy = ynew[i] - y[i];
    F[i] = dy;
    F[n + i] = h * k[0][i] - dy;
    F[2 * n + i] = 2 * dy - h * (k[12][i] + k[0][i]);
    for (int r = 0; r < 4; r++) {
      double acc = 0;
      for (int j = 0; j < 16; j++) acc += dop_d[r][j] * k[j][i];
      F[(3 + r) * n + i] = h * acc;
    }
  }
}

/* The dense output at t + x h from F and y, and (dout not NULL) its
 * derivative in t */
static void dense_eval(int n, const double *F, const double *y, double x, double h, double *out, double *dout) {
  for (int i = 0; i < n; i++) {
    double v = 0, dv = 0;
    for (int r = 6; r >= 0; r--) {
      v += F[r * n + i];
      if (r % 2 == 0) dv = dv * x + v, v *= x;
      else dv = dv * (1 - x) - v, v *= 1 - x;
    }
    out[i] = y[i] + v;
    if (dout) dout[i] = dv / h;
  }
}

/* The dense-output coefficients of the accepted step (t, h) -> (t + h):
 * three more stages, then F (Hairer's rcont). */
static int dop_dense(dop_ws *w, gsl_odeiv2_system *sys, double t, double h) {
  const int n = w->n;
  for (int st = 13; st <= 15; st++) {
    for (int i = 0; i < n; i++) {
      double acc = 0;
      for (int j = 0; j < st; j++) acc += dop_a[st][j] * w->k[j][i];
      w->ytmp[i] = w->y[i] + h * acc;
    }
    if (w->ys) memcpy(w->ys + (size_t)st * n, w->ytmp, sizeof(double) * (size_t)n);
    if (sys->function(t + dop_c[st] * h, w->ytmp, w->k[st], sys->params)) return -1;
  }
  dense_coef(n, h, w->y, w->ynew, w->k, w->F);
  return 0;
}

/* y(t + x h), 0 <= x <= 1, from the dense output, and (if dout is not NULL)
 * its derivative in t. */
static void dop_interp(const dop_ws *w, double x, double h, double *out, double *dout) {
  dense_eval(w->n, w->F, w->y, x, h, out, dout);
}

/* The defect checks of the dense output (the written level's and dop_lv's):
 * at most DEFECT_MAX tolerances (rms); above, the step is shortened as for
 * an error estimate (defect_step) */
#define DEFECT_MAX 10
static double defect_step(double hstep, double defect) {
  return hstep * fmax(0.2, fmin(0.9, 0.9 * pow(DEFECT_MAX / defect, 1.0 / 8)));
}

static double rms_scaled(const double *v, const double *sc, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += scaled(v[i], sc[i]) * scaled(v[i], sc[i]);
  return sqrt(s / n);
}

/* Where the step fell below its floor: if the state grew (some component
 * at least twice its start) while its rate grew tenfold, the ODEs blow up
 * in finite time at these parameters (cubic sigma: dQ/dt grows like a
 * power of Q above 1; measured, M = 1, R0 0.3, Q0 1, tau 0.5, s 0.5: the
 * same stop at t = 1.5e-5 with student laws of nu 20 - 150 and the gauss
 * law, docs/kinks.md), and the message says which component, from where
 * to where, and how fast, rather than asking.  Two drift evaluations, on
 * the failure path only.  Returns 0 (buf untouched) otherwise. */
static int blowup_note(gsl_odeiv2_system *sys, const ode_ctx *c, const double *y0, const double *y, double t,
                       char *buf, size_t len) {
  const int n = (int)sys->dimension;
  double *f = malloc(sizeof(double) * 2 * (size_t)n), *f0 = f ? f + n : NULL;
  int ib = -1;
  if (f && !sys->function(0, y0, f0, sys->params) && !sys->function(t, y, f, sys->params)) {
    double fmax0 = 0;
    for (int i = 0; i < n; i++) fmax0 = fmax(fmax0, fabs(f0[i]));
    for (int i = 0; i < n; i++)
      if (fabs(y[i]) >= 2 * fabs(y0[i]) && fabs(f[i]) > 10 * fmax0 && (ib < 0 || fabs(f[i]) > fabs(f[ib]))) ib = i;
  }
  if (ib >= 0) {
    char name[32];
    comp_name(c, ib, name, sizeof name);
    snprintf(buf, len,
             "the solution blows up near t = %g: %s = %g (%g at t = 0), its rate d%s/dt = %g (%g at t = 0); "
             "the ODEs blow up in finite time at these parameters",
             t, name, y[ib], y0[ib], name, f[ib], f0[ib]);
  }
  free(f);
  return ib >= 0;
}

/* The other levels of a deterministic engine (the grid's coarse level;
 * docs/grid.md s.17) integrated as their differences d_r = y_r - y_w to
 * the written level w along w's accepted steps:
 * d_r' = f_r(y_w + d_r) - f_w(y_w), f_w(y_w) at the step's stage states
 * (its k).  A 4-stage 4th-order Runge-Kutta method on the nodes 0, 1/3,
 * 0.6, 1 (DOP853's stages 5, 9 and ynew) with an embedded 3rd-order
 * solution from the first same as last end (its weights 1/9, 3/8, 25/72,
 * 0, 1/6): 4 drifts of level r a step instead of 12-16.  Where the step is
 * stiff for it (Hairer's estimate h lambda above LV_STIFF; its stability
 * interval is 2.79) or its local error estimate is above LV_ACC of the
 * step's largest |d| (at least a tenth of a tolerance), DOP853's own
 * tableau on every stage: the coarse copy integrated as if stacked.  The
 * local error estimates are summed (max norm) into esum, which solve adds
 * to the trajectory bound; the outputs inside a step are lv_rows'
 * interpolant of d, checked by lv_step. */
#define LV_STIFF 2.0
#define LV_ACC 0.01
#define LV_MAXLEV 4
typedef struct {
  ode_ctx *c;     /* the levels' drift, each evaluation pinned to its level */
  int nlev, wrep; /* the levels (stacked as in Y's rows), the integrated one */
  int on;         /* 0: no difference integrated (the other levels' rows copy w's) */
  double *d, *F0, *dn, *Fe; /* per level (nlev x n; w's block unused): d, d' at t and at t + h */
  double *Fm;               /* per level: d' at the step's middle (a step with an output inside) */
  double *Fd;               /* per level, 7 x n: d's dense output where DOP853's tableau took the step */
  int mid;                  /* Fm is the step's */
  int dense[LV_MAXLEV];     /* Fd is the step's (else Fm) */
  double *D, *P, *F;        /* scratch: a stage's d, its point, 16 x n stage slopes */
  double esum;              /* the local error estimates summed over the steps and levels */
  long ncheap, nfull;       /* the levels' steps by the 4-stage pair, by DOP853's tableau */
} dop_lv;

typedef struct {
  ode_ctx *c;
  int lev;
} lev_ctx;

/* The drift of level l->lev alone (pinned), as rhs */
static int lev_rhs(double t, const double *y, double *f, void *params) {
  const lev_ctx *l = params;
  ode_ctx *c = l->c;
  const int nrep = c->nrep;
  cl_drift_pin_rep(c->drift, l->lev);
  c->nrep = 0;
  const int r = rhs(t, y, f, c);
  c->nrep = nrep;
  cl_drift_pin_rep(c->drift, -1);
  return r;
}

/* d' = f_r(p + D) - k at the point p (a stage state of w) into F; 0 or -1 */
static int lv_slope(dop_lv *lv, int r, int n, const double *p, const double *k, double *F) {
  lev_ctx l = {lv->c, r};
  for (int i = 0; i < n; i++) lv->P[i] = p[i] + lv->D[i];
  if (lev_rhs(0, lv->P, F, &l)) return -1; /* (the system is autonomous) */
  for (int i = 0; i < n; i++) F[i] -= k[i];
  return 0;
}

static const double lv_a[4][3] = {{0}, {1.0 / 3}, {-3.0 / 25, 18.0 / 25}, {2.0 / 3, -6.0 / 7, 25.0 / 21}};
static const double lv_b[4] = {5.0 / 36, 9.0 / 32, 125.0 / 288, 7.0 / 48};
static const double lv_e[5] = {1.0 / 36, -3.0 / 32, 25.0 / 288, 7.0 / 48, -1.0 / 6}; /* b - the 3rd order's */
static const int lv_st[4] = {0, 5, 9, 12};                                              /* their DOP853 stages */

/* D = d + h sum_{j < s} a_j F_j (F: s slopes of n, one after another; d
 * NULL: 0) */
static void lv_combine(int n, const double *d, double h, const double *a, int s, const double *F, double *D) {
  for (int i = 0; i < n; i++) {
    double acc = 0;
    for (int j = 0; j < s; j++) acc += a[j] * F[(size_t)j * n + i];
    D[i] = (d ? d[i] : 0) + h * acc;
  }
}

/* h d'(1/2) - H'(1/2) h, the gap of the cubic Hermite H of d (d, F0 at
 * the start, dn, Fe at the end) to the slope Fm at the step's middle:
 * lv_step checks it, lv_rows adds it as a quintic */
static inline double herm_gap(double h, double d, double dn, double F0, double Fe, double Fm) {
  return h * Fm - 1.5 * (dn - d) + 0.25 * h * (F0 + Fe);
}

static double max_abs(const double *v, int n) {
  double m = 0;
  for (int i = 0; i < n; i++) m = fmax(m, fabs(v[i]));
  return m;
}

/* Every other level's step along w's accepted step of h (w->ys, w->k:
 * its stage states and slopes): dn, Fe.  With mid (an output inside the
 * step; w->u, w->fu: w's dense output at the middle and its slope there)
 * d's interpolant is checked as w's dense output is (integrate_dop853):
 * its defect h (dd/dt - d') at the middle, d' = f_r(w->u + d) - w->fu,
 * scaled by the tolerances (sc: atol + rtol max(|y|, |ynew|)), rms over the
 * components, at most DEFECT_MAX.  The 4-stage pair's interpolant is the
 * quintic of lv_rows (which matches d' there); where that is off, DOP853's
 * tableau with its dense output; where that is off too, the step is
 * rejected.  Returns the last defect (0 without mid), or -1 if a drift
 * failed. */
static double lv_step(dop_lv *lv, const dop_ws *w, double h, double tol, int mid, const double *sc) {
  const int n = w->n;
  double num = 0, den = 0, defect = 0;
  for (int i = 0; i < n; i++) {
    const double a = w->k[12][i] - w->k[11][i], b = w->ynew[i] - w->ys[11 * (size_t)n + i];
    num += a * a, den += b * b;
  }
  const int stiff = !(h * sqrt(num / den) <= LV_STIFF); /* (0 / 0: stiff, DOP853's tableau) */
  for (int r = 0; r < lv->nlev; r++) {
    if (r == lv->wrep) continue;
    double *d = lv->d + (size_t)r * n, *F0 = lv->F0 + (size_t)r * n, *dn = lv->dn + (size_t)r * n,
           *Fe = lv->Fe + (size_t)r * n, *Fm = lv->Fm + (size_t)r * n, *Fd = lv->Fd + (size_t)r * 7 * n,
           *F = lv->F, *D = lv->D, en = 0;
    int full = stiff;
    lv->dense[r] = 0;
    memcpy(F, F0, sizeof(double) * (size_t)n);
    if (!full) { /* the 4-stage pair; F + 4 n: the slope at the end (Fe) */
      for (int s = 1; s < 4; s++) {
        lv_combine(n, d, h, lv_a[s], s, F, D);
        if (lv_slope(lv, r, n, w->ys + (size_t)lv_st[s] * n, w->k[lv_st[s]], F + (size_t)s * n)) return -1;
      }
      lv_combine(n, d, h, lv_b, 4, F, D);
      memcpy(dn, D, sizeof(double) * (size_t)n);
      if (lv_slope(lv, r, n, w->ynew, w->k[12], F + 4 * (size_t)n)) return -1;
      memcpy(Fe, F + 4 * (size_t)n, sizeof(double) * (size_t)n);
      lv_combine(n, NULL, h, lv_e, 5, F, D);
      en = max_abs(D, n);
      /* dmax: the step's largest |d|, at least tol */
      full = !(en <= LV_ACC * fmax(tol, fmax(max_abs(d, n), max_abs(dn, n))));
      if (!full && mid) { /* the quintic's check: h d' against the cubic Hermite's slope H'(1/2) */
        for (int i = 0; i < n; i++) D[i] = 0.5 * (d[i] + dn[i]) + 0.125 * h * (F0[i] - Fe[i]);
        if (lv_slope(lv, r, n, w->u, w->fu, Fm)) return -1;
        for (int i = 0; i < n; i++) D[i] = herm_gap(h, d[i], dn[i], F0[i], Fe[i], Fm[i]);
        defect = rms_scaled(D, sc, n);
        full = !(defect <= DEFECT_MAX);
      }
    }
    if (full) { /* DOP853's tableau: the level as if integrated stacked with w */
      for (int s = 1; s <= (mid ? 15 : 12); s++) {
        lv_combine(n, d, h, dop_a[s], s, F, D);
        if (s == 12) memcpy(dn, D, sizeof(double) * (size_t)n); /* the tableau's row 12: its weights */
        if (lv_slope(lv, r, n, s == 12 ? w->ynew : w->ys + (size_t)s * n, w->k[s], F + (size_t)s * n)) return -1;
      }
      /* Fe the slope at dn; the estimate: DOP853's 5th-order one */
      memcpy(Fe, F + 12 * (size_t)n, sizeof(double) * (size_t)n);
      lv_combine(n, NULL, h, dop_e5, 12, F, D);
      en = max_abs(D, n);
      if (mid) { /* d's dense output and its defect */
        double *kp[16], *dd = F + 13 * (size_t)n; /* (the stages 13-15 are in Fd now) */
        for (int j = 0; j < 16; j++) kp[j] = F + (size_t)j * n;
        dense_coef(n, h, d, dn, kp, Fd);
        dense_eval(n, Fd, d, 0.5, h, D, dd);
        if (lv_slope(lv, r, n, w->u, w->fu, Fm)) return -1;
        for (int i = 0; i < n; i++) dd[i] = h * (dd[i] - Fm[i]);
        defect = rms_scaled(dd, sc, n);
        if (!(defect <= DEFECT_MAX)) return defect;
        lv->dense[r] = 1;
      }
    }
    lv->esum += en;
    if (full) lv->nfull++;
    else lv->ncheap++;
  }
  lv->mid = mid;
  return defect;
}

/* The other levels' rows at t + x h (0 < x <= 1) from w's row yw: d from
 * the cubic Hermite interpolant H of d, F0, dn, Fe plus, with the slope
 * Fm at the middle, 16 (h Fm - H'(1/2)) x^2 (1 - x)^2 (x - 1/2), which
 * matches it (a quintic; lv_step checked it); where lv_step took DOP853's
 * tableau, d's own dense output (x = 1: dn) */
static void lv_rows(dop_lv *lv, int n, double x, double h, const double *yw, double *row) {
  const double h00 = (1 + 2 * x) * (1 - x) * (1 - x), h10 = x * (1 - x) * (1 - x), h01 = x * x * (3 - 2 * x),
               h11 = x * x * (x - 1), q = 16 * x * x * (1 - x) * (1 - x) * (x - 0.5);
  for (int r = 0; r < lv->nlev; r++) {
    if (r == lv->wrep) continue;
    const size_t o = (size_t)r * n;
    const double *d = lv->d + o, *dn = lv->dn + o, *F0 = lv->F0 + o, *Fe = lv->Fe + o, *Fm = lv->Fm + o;
    if (lv->on && x < 1 && lv->dense[r]) { /* DOP853's dense output of d */
      dense_eval(n, lv->Fd + (size_t)r * 7 * n, d, x, h, row + o, NULL);
      for (int i = 0; i < n; i++) row[o + i] += yw[i];
      continue;
    }
    for (int i = 0; i < n; i++) {
      double v = 0;
      if (lv->on && x == 1) v = dn[i];
      else if (lv->on) {
        v = h00 * d[i] + h10 * h * F0[i] + h01 * dn[i] + h11 * h * Fe[i];
        if (lv->mid) v += q * herm_gap(h, d[i], dn[i], F0[i], Fe[i], Fm[i]);
      }
      row[o + i] = yw[i] + v;
    }
  }
}

/* Integrate over the output times tk[0] = 0 < ... < tk[nt - 1]; Y holds nt rows of n, row 0 = y0. */
/* hio (may be NULL): in, the first step (0: Hairer's estimate); out, the
 * step the controller proposes after the last one (a continuation's first
 * step, cl_ode_solve_cont); nsteps (may be NULL): out, the steps tried
 * (accepted and rejected).  lv (may be NULL): sys is level lv->wrep of a
 * deterministic engine, y0 and Y's rows hold every level (lv->nlev blocks
 * of n), and the others follow as differences (dop_lv) */
static cl_status integrate_dop853(gsl_odeiv2_system *sys, ode_ctx *c, const double *y0, size_t nt,
                                  const double *tk, double rtol, double atol, double *Y, double *hio,
                                  long *nsteps, dop_lv *lv, const char *pars, char *err) {
  const int n = (int)sys->dimension, nl = lv ? lv->nlev : 1;
  const size_t stride = (size_t)n * nl;
  dop_ws w = {.n = n};
  double *mem = malloc(sizeof(double) * (size_t)n * (30 + (lv ? 16 + 12 * (size_t)nl + 18 : 0)));
  if (!mem) return cl_fail(err, CL_ENOMEM, "out of memory");
  for (int j = 0; j < 16; j++) w.k[j] = mem + (size_t)j * n;
  w.y = mem + 16 * (size_t)n, w.ynew = w.y + n, w.ytmp = w.ynew + n, w.sc = w.ytmp + n;
  w.F = w.sc + n, w.u = w.F + 7 * (size_t)n, w.du = w.u + n, w.fu = w.du + n;
  if (lv) {
    w.ys = w.fu + n, lv->d = w.ys + 16 * (size_t)n, lv->F0 = lv->d + stride, lv->dn = lv->F0 + stride;
    lv->Fe = lv->dn + stride, lv->Fm = lv->Fe + stride, lv->Fd = lv->Fm + stride, lv->D = lv->Fd + 7 * stride,
    lv->P = lv->D + n, lv->F = lv->P + n;
    lv->esum = 0, lv->ncheap = lv->nfull = 0, lv->mid = 0;
  }
  const double *y0w = y0 + (lv ? (size_t)lv->wrep * n : 0);
  memcpy(w.y, y0w, sizeof(double) * (size_t)n);
  memcpy(Y, y0, sizeof(double) * stride);
  cl_status st = CL_OK;
  double t = 0, t_end = tk[nt - 1];
  if (nt < 2) goto done;
  if (sys->function(t, w.y, w.k[0], sys->params)) goto drift_failed;
  for (int r = 0; lv && lv->on && r < nl; r++) { /* d and its slope at t = 0 */
    if (r == lv->wrep) continue;
    for (int i = 0; i < n; i++) lv->D[i] = lv->d[(size_t)r * n + i] = y0[(size_t)r * n + i] - w.y[i];
    if (lv_slope(lv, r, n, w.y, w.k[0], lv->F0 + (size_t)r * n)) goto drift_failed;
  }
  double h = hio && *hio > 0 ? *hio : 0;
  if (!(h > 0)) {
    /* initial step (Hairer): h0 from |y| / |f|, then from a second derivative estimate */
    for (int i = 0; i < n; i++) w.sc[i] = atol + rtol * fabs(w.y[i]);
    double d0 = rms_scaled(w.y, w.sc, n), d1 = rms_scaled(w.k[0], w.sc, n);
    double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
    for (int i = 0; i < n; i++) w.ytmp[i] = w.y[i] + h0 * w.k[0][i];
    if (sys->function(t + h0, w.ytmp, w.k[1], sys->params)) goto drift_failed;
    for (int i = 0; i < n; i++) w.k[1][i] -= w.k[0][i];
    double d2 = rms_scaled(w.k[1], w.sc, n) / h0;
    double h1 = (d1 <= 1e-15 && d2 <= 1e-15) ? fmax(1e-6, h0 * 1e-3) : pow(0.01 / fmax(d1, d2), 1.0 / 8);
    h = fmin(100 * h0, h1);
  }
  size_t next = 1;
  double hcap = INFINITY; /* set by a dense-output defect rejection */
  /* the step proposed after the last accepted one; where that one was cut
   * at T, the step tried before the cut if larger (the controller's
   * proposal from a whole step), at most hcap */
  double hprop = h;
  /* a step below 1e-9 of the time scale max(1, T), or more than 1e6 steps
   * (accepted and rejected), ends the run: the solution blows up or is
   * too stiff for an explicit method */
  const double hfloor = 1e-9 * fmax(1, t_end);
  const long budget = 200000 + (long)fmin(1e8, 1000 * t_end);
  long ntrial = 0;
  for (long nstep = 0; next < nt; nstep++) {
    int rejected = 0;
    double tnew, hstep, htry;
    for (;;) {
      if (++ntrial > budget) {
        st = cl_fail(err, CL_EDIVERGE, "step budget (%ld steps) exceeded at t = %g, step %g (%s)", budget, t, h,
                     pars);
        goto done;
      }
      double hmin = fmax(10 * (nextafter(t, INFINITY) - t), hfloor);
      if (h < hmin) {
        char note[320];
        if (c->st)
          st = cl_fail(err, CL_EDIVERGE, "stopped at t = %g: %s (%s)", c->t_fail, c->err, pars);
        else if (blowup_note(sys, c, y0w, w.y, t, note, sizeof note))
          st = cl_fail(err, CL_EDIVERGE, "%s (step %g) (%s)", note, h, pars);
        else
          st = cl_fail(err, CL_EDIVERGE,
                       "integration failed at t = %g: step size %g too small (does the solution "
                       "blow up?) (%s)",
                       t, h, pars);
        goto done;
      }
      h = htry = fmin(h, hcap);
      tnew = t + h > t_end ? t_end : t + h;
      hstep = tnew - t;
      double e = dop_step(&w, sys, t, hstep, rtol, atol);
      if (e >= 0 && e < 1) {
        c->st = CL_OK; /* a failure on an earlier, larger trial step is forgotten */
        /* An output strictly inside the step comes from the dense output,
         * whose error the step's estimate does not see: check the defect
         * u' - f(u) of the interpolant u at the middle of the step (one
         * more drift).  Its error is about h |defect| (measured on the
         * default model: <= 2 tolerances on accurate steps; 126 on a step
         * of 10.7 near the fixed point, h lambda beyond the stability
         * boundary, where the interpolant was 16 tolerances off while the
         * step's end was accurate).  Above 10 the step is shortened as for
         * an error estimate (halved if the drift fails there), and no later
         * step may be longer. */
        const int mid = next < nt && tk[next] < tnew;
        if (mid) {
          double dd = 0;
          int bad = dop_dense(&w, sys, t, hstep);
          if (!bad) {
            dop_interp(&w, 0.5, hstep, w.u, w.du);
            bad = sys->function(t + 0.5 * hstep, w.u, w.fu, sys->params);
          }
          if (!bad) { /* w.du: the defect, scaled by w.sc (dop_lv's check reads w.sc too) */
            for (int i = 0; i < n; i++)
              w.sc[i] = atol + rtol * fmax(fabs(w.y[i]), fabs(w.ynew[i])), w.du[i] = hstep * (w.du[i] - w.fu[i]);
            dd = rms_scaled(w.du, w.sc, n);
          }
          if (bad || !(dd <= DEFECT_MAX)) {
            h = hcap = bad ? hstep * 0.5 : defect_step(hstep, dd);
            rejected = 1;
            continue;
          }
          /* the cap follows the defect as the step follows its error
           * estimate: a passed check lets it grow (at most 2x a step), so
           * that the trajectory, once past the stiff stretch, is not held
           * at its step for good (docs/theory.md s.3) */
          if (isfinite(hcap))
            hcap = fmax(hcap, hstep * fmin(2, 0.9 * pow(DEFECT_MAX / fmax(dd, 1e-12), 1.0 / 8)));
        }
        /* the other levels along the step; where one's drift fails, the
         * step is halved as for a failed stage, and where its interpolant's
         * defect is above DEFECT_MAX, shortened as for w's */
        if (lv && lv->on) {
          const double ld = lv_step(lv, &w, hstep, 0.1 * (atol + rtol * max_abs(w.ynew, n)), mid, w.sc);
          if (ld < 0) h = hstep * 0.5;
          else if (ld > DEFECT_MAX) h = hcap = defect_step(hstep, ld);
          if (!(ld >= 0 && ld <= DEFECT_MAX)) {
            rejected = 1;
            continue;
          }
        }
        double fac = e == 0 ? 10 : fmin(10, 0.9 * pow(e, -1.0 / 8));
        if (rejected) fac = fmin(1, fac);
        h = hstep * fac;
        hprop = fmin(tnew == t_end && htry > hstep ? fmax(htry, h) : h, hcap);
        break;
      }
      h = hstep * (e < 0 ? 0.5 : fmax(0.2, 0.9 * pow(e, -1.0 / 8)));
      rejected = 1;
    }
    /* outputs inside (t, tnew] */
    while (next < nt) {
      double tj = tk[next];
      if (tj > tnew) break;
      double *row = Y + next * stride, *rw = row + (lv ? (size_t)lv->wrep * n : 0);
      if (tj == tnew) memcpy(rw, w.ynew, sizeof(double) * (size_t)n);
      else dop_interp(&w, (tj - t) / hstep, hstep, rw, NULL);
      if (lv) lv_rows(lv, n, tj == tnew ? 1 : (tj - t) / hstep, hstep, rw, row);
      next++;
    }
    t = tnew;
    report(c, t_end > 0 ? t / t_end : 1);
    /* R and Q are O(1) quantities: beyond 1e15 the solution blows up */
    for (int i = 0; i < n; i++)
      if (!(fabs(w.ynew[i]) < 1e15)) {
        char nm[32];
        comp_name(c, i, nm, sizeof nm);
        st = cl_fail(err, CL_EDIVERGE, "the solution blows up at t = %g (|%s| = %g > 1e15) (%s)", t, nm,
                     fabs(w.ynew[i]), pars);
        goto done;
      }
    double *tmp = w.k[0];
    w.k[0] = w.k[12], w.k[12] = tmp;
    tmp = w.y, w.y = w.ynew, w.ynew = tmp;
    if (lv) tmp = lv->d, lv->d = lv->dn, lv->dn = tmp, tmp = lv->F0, lv->F0 = lv->Fe, lv->Fe = tmp;
  }
  if (hio) *hio = hprop;
  if (nsteps) *nsteps = ntrial;
  goto done;
drift_failed:
  st = cl_fail(err, CL_EDIVERGE, "stopped at t = %g: %s (%s)", c->t_fail, c->err, pars);
done:
  free(mem);
  return st;
}

/* cl_ode_flow: the caller's drift behind the integrator's system */
typedef struct {
  cl_flow_fn f;
  void *ctx;
  ode_ctx *c;
} flow_ctx;

static int flow_rhs(double t, const double *y, double *f, void *params) {
  flow_ctx *fc = params;
  cl_status st = fc->f(fc->ctx, y, f, fc->c->err);
  if (st) {
    fc->c->st = st;
    fc->c->t_fail = t;
    return GSL_EBADFUNC;
  }
  return GSL_SUCCESS;
}

cl_status cl_ode_flow(cl_flow_fn f, void *ctx, int n, double *y, double T, double rtol, double atol, char *err) {
  ode_ctx c = {0};
  flow_ctx fc = {f, ctx, &c};
  gsl_odeiv2_system sys = {flow_rhs, NULL, (size_t)n, &fc};
  double tk[2] = {0, T}, *Y = malloc(sizeof(double) * 2 * (size_t)n);
  if (!Y) return cl_fail(err, CL_ENOMEM, "out of memory");
  cl_status st = integrate_dop853(&sys, &c, y, 2, tk, rtol, atol, Y, NULL, NULL, NULL, "a flow of the fixed-point finder", err);
  if (!st) memcpy(y, Y + n, sizeof(double) * (size_t)n);
  free(Y);
  return st;
}

/* GSL odeiv2 driver: steps end at every output time.  hio and nsteps as
 * integrate_dop853's: in, the first step (0, or a multistep stepper:
 * 1e-3 min(dt, 1)); out, the driver's step after the last one.  GSL's evolve keeps the step its
 * controller proposed after the last whole step where the final step is
 * cut to reach an output time (ode-initval2/evolve.c), so that is the
 * step proposed from a whole step, as DOP853's hprop. */
static cl_status integrate_gsl(gsl_odeiv2_system *sys, ode_ctx *c, const gsl_odeiv2_step_type *type,
                               const double *y0, size_t nt, const double *tk, double dt, double rtol, double atol,
                               double *Y, double *hio, long *nsteps, const char *pars, char *err) {
  const int n = (int)sys->dimension;
  cl_status st = CL_OK;
  double y[CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX], t = 0;
  memcpy(y, y0, sizeof(double) * (size_t)n);
  memcpy(Y, y0, sizeof(double) * (size_t)n);
  /* the multistep steppers start again at order 1 (their history is not
   * carried): there the step carried mostly took more steps than a fresh one
   * (docs/fixed-points.md s.5), so they start afresh */
  const int multistep = type == gsl_odeiv2_step_msadams || type == gsl_odeiv2_step_msbdf;
  const double h0 = hio && *hio > 0 && !multistep ? *hio : 1e-3 * fmin(dt, 1);
  gsl_odeiv2_driver *drv = gsl_odeiv2_driver_alloc_y_new(sys, type, h0, atol, rtol);
  if (!drv) return cl_fail(err, CL_ENOMEM, "out of memory");
  /* the limits of integrate_dop853: a step floor and a step budget */
  double t_end = tk[nt - 1];
  gsl_odeiv2_driver_set_nmax(drv, 200000 + (unsigned long)fmin(1e8, 1000 * t_end));
  gsl_odeiv2_driver_set_hmin(drv, 1e-9 * fmax(1, t_end));
  for (size_t j = 1; j < nt; j++) {
    int gs = gsl_odeiv2_driver_apply(drv, &t, tk[j], y);
    report(c, t / t_end);
    for (int i = 0; i < n && gs == GSL_SUCCESS; i++)
      if (!(fabs(y[i]) < 1e15)) {
        char nm[32];
        comp_name(c, i, nm, sizeof nm);
        st = cl_fail(err, CL_EDIVERGE, "the solution blows up at t = %g (|%s| = %g > 1e15) (%s)", t, nm,
                     fabs(y[i]), pars);
        gsl_odeiv2_driver_free(drv);
        return st;
      }
    if (gs != GSL_SUCCESS) {
      char note[320];
      if (c->st)
        st = cl_fail(err, CL_EDIVERGE, "stopped at t = %g: %s (%s)", c->t_fail, c->err, pars);
      else if (blowup_note(sys, c, y0, y, t, note, sizeof note))
        st = cl_fail(err, CL_EDIVERGE, "%s (GSL: %s) (%s)", note, gsl_strerror(gs), pars);
      else
        st = cl_fail(err, CL_EDIVERGE, "integration failed at t = %g (GSL: %s) (%s)", t,
                     gsl_strerror(gs), pars);
      break;
    }
    memcpy(Y + j * (size_t)n, y, sizeof(double) * (size_t)n);
  }
  if (!st && hio) *hio = fabs(drv->h);
  if (!st && nsteps) *nsteps = (long)(drv->e->count + drv->e->failed_steps);
  gsl_odeiv2_driver_free(drv);
  return st;
}

static cl_status solve(const cl_model *m, const cl_schedule *s, const cl_ode_opts *o, const cl_quad_opts *q,
                       const char *note, cl_ode_cont *cont, cl_traj **out, char *info, char *err,
                       int *unresolved);

/* M = 1 levels: the floor of both bounds, relative to the largest
 * component (of the drift, of the table), for the rounding of the sums,
 * which the levels share where the rule is exact (linear, cubic: measured
 * up to 5e-15 relative; docs/m1-many-features.md s.7) */
#define M1_ROUNDING (64 * DBL_EPSILON)

/* The grid engine (M = 2, docs/grid.md) is the default where it applies,
 * but it refuses a state that needs more nodes per direction than its cap
 * (units that become nearly collinear, as with lambda = 0 when both units
 * align with one feature: docs/grid.md s.4).  Where the grid was not asked
 * for (the default choice), the whole run is then redone with the Sobol'
 * rules (cubic sigma: the quad rule), so the trajectory comes from one engine, and the method line says
 * why. */
cl_status cl_ode_solve(const cl_model *m, const cl_schedule *s, const cl_ode_opts *o,
                       cl_traj **out, char *info, char *err) {
  int unresolved = 0;
  /* M = 3 and 4 under --expect auto: the grid where it applies, rerun below
   * as at M = 2 (docs/grid.md s.14, s.15; fixed and basin keep the Sobol'
   * rules) */
  cl_quad_opts q3 = o->quad;
  cl_drift_ode_grid(m, &q3);
  cl_status st = solve(m, s, o, &q3, "", NULL, out, info, err, &unresolved);
  cl_quad_opts q;
  if (st != CL_EDIVERGE || !unresolved || o->no_rerun || !cl_drift_fallback(m, &o->quad, &q, NULL))
    return st;
  char why[CL_ERRLEN];
  snprintf(why, sizeof why, "%s", err ? err : ""); /* err may be NULL (common.h) */
  const char *t = strstr(why, "t = ");
  char note[64];
  snprintf(note, sizeof note, "; the grid refused t = %.4g: rerun so", t ? atof(t + 4) : 0.0);
  return solve(m, s, o, &q, note, NULL, out, info, err, &unresolved);
}

void cl_ode_cont_free(cl_ode_cont *cont) {
  free(cont->y);
  memset(cont, 0, sizeof *cont);
}

cl_status cl_ode_solve_cont(const cl_model *m, const cl_schedule *s, const cl_ode_opts *o, cl_ode_cont *cont,
                            cl_traj **out, char *err) {
  int unresolved = 0;
  return solve(m, s, o, &o->quad, "", cont, out, NULL, err, &unresolved);
}

/* The integrator's own error (docs/multi.md s.11).  The rules (levels) of
 * the M >= 2 engines take the same steps (the rules stacked in one system,
 * the levels as differences along the written one's steps: dop_lv), so
 * the integrator's error is common to all of them and their spread does
 * not see it.  Where it can matter (the spread under CHECK_MARGIN
 * tolerances: the grid's levels nearly always, their spread falling to
 * 1e-13, below the default tolerances), one tolerance is added where the
 * spread is over CHECK_RERUN of them (the tolerance from the copy ws, the
 * written level or the last rule); under that rule (level) pr alone is
 * integrated again at tolerances / CHECK_TIGHT, and CHECK_FACTOR times the
 * largest distance of the two over the table, plus one tolerance of the
 * rerun (its own error), is added to *tbound.  The
 * levels rerun the coarse one: the cheapest, and its integrator error was
 * that of the fine one within 1% on case D (session 16, docs/multi.md s.11).
 * The closed forms (one copy, no spread: tbound 0 here) always rerun it,
 * what names the copy rerun in the note.
 * Where that run fails, *ifail = 1 and inote says why: no trajectory bound. */
#define CHECK_TIGHT 10
#define CHECK_MARGIN 1e3
#define CHECK_RERUN 10
#define CHECK_FACTOR 2
/* the rules' bound stands only while one rule's trajectory stays within
 * this fraction of the table's largest |R|, |Q| of the others (solve) */
#define RULES_LINEAR 0.1
static cl_status integrator_check(const ode_ctx *c, const double *y0, size_t nt, const double *tk,
                                  const double *Y, int ws, int pr, const char *what, double rtol, double atol,
                                  const char *pars, double *tbound, int *ifail, char *inote, size_t len,
                                  char *err) {
  const int n = c->n1, nall = n * copies(c);
  double ymax = 0;
  for (size_t j = 0; j < nt; j++)
    for (int q = 0; q < n; q++) ymax = fmax(ymax, fabs(Y[j * (size_t)nall + (size_t)ws * n + q]));
  const double scale = fmax(atol, rtol * ymax);
  if (!(*tbound < CHECK_MARGIN * scale)) return CL_OK;
  if (!(*tbound < CHECK_RERUN * scale)) {
    /* the spread is over CHECK_RERUN tolerances: one tolerance is added
     * instead of the rerun, which costs about as much as the run itself
     * (case A of issue 12: 0.7 -> 1.2 CPU s); DOP853's error was 1e-4 to
     * 0.65 tolerances on the 13 grid cases of the audit (docs/multi.md
     * s.11) */
    *tbound += scale;
    snprintf(inote, len, "; integrator's part %.3g: one tolerance, max(atol, rtol max |y|), not rerun (the spread "
             "is over %d of them)", scale, CHECK_RERUN);
    return CL_OK;
  }
  double *Yt = malloc(sizeof(double) * nt * (size_t)n);
  if (!Yt) return cl_fail(err, CL_ENOMEM, "out of memory");
  ode_ctx pc = *c;
  pc.nrep = 0, pc.progress = NULL, pc.st = CL_OK;
  gsl_odeiv2_system psys = {rhs, jac, (size_t)n, &pc};
  char perr[CL_ERRLEN];
  cl_drift_pin_rep(c->drift, pr);
  const cl_status ps =
      integrate_dop853(&psys, &pc, y0, nt, tk, rtol / CHECK_TIGHT, atol / CHECK_TIGHT, Yt, NULL, NULL, NULL, pars, perr);
  cl_drift_pin_rep(c->drift, -1);
  double d = 0;
  for (size_t j = 0; j < nt && !ps; j++)
    for (int q = 0; q < n; q++) d = fmax(d, fabs(Yt[j * n + q] - Y[j * (size_t)nall + (size_t)pr * n + q]));
  free(Yt);
  if (ps == CL_ENOMEM) return cl_fail(err, ps, "%s", perr);
  *ifail = ps != CL_OK;
  if (ps) snprintf(inote, len, "the integrator's check at %d times tighter tolerances failed", CHECK_TIGHT);
  else {
    /* plus the rerun's own error: at most a tolerance of its own (scale /
     * CHECK_TIGHT), as DOP853's error was at most 0.65 tolerances on the
     * audit's grid cases (docs/multi.md s.11) */
    const double part = CHECK_FACTOR * d + scale / CHECK_TIGHT;
    *tbound += part;
    snprintf(inote, len, "; integrator's part %.3g: %d x the distance to the %s at %d times tighter tolerances, "
             "plus one of those", part, CHECK_FACTOR, what, CHECK_TIGHT);
  }
  return CL_OK;
}

/* The max-norm logarithmic norm of J (n x n, row-major):
 * max_i (J_ii + sum_{k != i} |J_ik|) */
static double lognorm_inf(const double *J, int n) {
  double mu = -INFINITY;
  for (int i = 0; i < n; i++) {
    double r = J[(size_t)i * n + i];
    for (int k = 0; k < n; k++)
      if (k != i) r += fabs(J[(size_t)i * n + k]);
    mu = fmax(mu, r);
  }
  return mu;
}

/* The 2-norm logarithmic norm of J (n x n, row-major): the largest
 * eigenvalue of (J + J^T) / 2; S is n x n scratch */
static double lognorm_2(const double *J, int n, double *S) {
  for (int i = 0; i < n; i++)
    for (int k = 0; k < n; k++) S[(size_t)i * n + k] = -0.5 * (J[(size_t)i * n + k] + J[(size_t)k * n + i]);
  return -cl_sym_min_eig(S, n);
}

/* drift_part's bounds on the drift per component of the state (b, of
 * cl_state_size): the grid's rounding bound (linear and cubic sigma), and
 * the closed forms' error bound, on Q's components alone (dR is exact) */
static void grid_bound(const cl_drift *d, int K, int M, double *b) {
  double R[CL_KMAX * CL_MMAX], Q[CL_MMAX * CL_MMAX];
  cl_drift_grid_round_comp(d, R, Q);
  cl_state_pack(K, M, R, Q, b);
}
static void closed_bound(const cl_drift *d, int K, int M, double *b) {
  const double e = cl_drift_stderr(d);
  for (int q = 0; q < cl_state_size(K, M); q++) b[q] = q < K * M ? 0 : e;
}

/* Row i of |A| v (A n x n, row-major; v >= 0) */
static double absmul(const double *A, int n, const double *v, int i) {
  double r = 0;
  for (int k = 0; k < n; k++) r += fabs(A[(size_t)i * n + k]) * v[k];
  return r;
}

/* drift_part's rules.  The propagators (every row's Jacobian, the products
 * over every pair of rows: nt^2 d^3 / 2 flops) where nt^2 d^3 is at most
 * GROWTH_PROP_FLOPS; else the logarithmic norms alone, the Jacobian re-taken
 * where the estimated change of mu since the last one, GROWTH_LSAFE x the
 * rate |dmu| / ||dy||_2 between the last two times the state's move, would
 * exceed GROWTH_DRIFT / T; mu between them is the last one's plus that
 * estimate, so the estimates add at most GROWTH_DRIFT to the exponent over
 * [0, T] */
#define GROWTH_PROP_FLOPS 2e8
#define GROWTH_LSAFE 2
#define GROWTH_DRIFT 1

/* A drift bound integrated along the trajectory with the flow's growth.
 * The drift's rounding (the grid with linear or cubic sigma, docs/grid.md
 * s.5): its levels are exact but for rounding, which the levels' spread
 * sees only in part; at tight tolerances the written table was up to 1.9
 * times its printed bound from the exact one (bench/gridround).  The closed
 * forms' Gauss-Legendre terms (docs/closed-forms.md s.7): one copy, no
 * spread to see them.
 * A drift error delta, |delta|_inf <= b, makes the table's error obey
 * e' = J e + delta to first order in e (J the drift's Jacobian along the
 * table), so e(t) = int_0^t Phi(t, s) delta(s) ds with Phi the propagator
 * of e' = J e.  At each row j the written level (copy ws) is evaluated
 * alone and its bound b_j read (bnd: cl_drift_grid_round,
 * cl_drift_stderr), and its Jacobian J_j taken (forward differences from
 * the drift at the row, d drifts, d the state's size; next to the boundary
 * cl_ode_jacobian_pair), at the rows the rules above pick; on [t_j, t_j+1]
 * b is max(b_j, b_j+1).  Three bounds on the max-norm of e at each row,
 * the smallest counts:
 * - the 2-norm logarithmic norm mu (the largest eigenvalue of (J + J^T) /
 *   2, plus ||E||_F from the differences' error E: cl_ode_jacobian_rounding
 *   with b_j, twice for forward differences): |e|_2' <= mu |e|_2 + sqrt(d)
 *   b, and |e|_inf <= |e|_2;
 * - the max-norm one (max_i J_ii + sum_k!=i |J_ik|, plus sum_k E_k):
 *   |e|_inf' <= mu |e|_inf + b; for both mu on [t_j, t_j+1] is max(mu_j,
 *   mu_j+1) and the bound's ODE is integrated exactly, E_j+1 = E_j e^(mu h)
 *   + b h (e^(mu h) - 1) / (mu h) (mu may be negative: the bound shrinks
 *   where the flow contracts);
 * - the propagators (where cheap): P_j = exp(h A_j), A_j = (J_j + J_j+1) /
 *   2, Phi(t_i, t_j) = P_i-1 ... P_j, and E_i = sum_j<i ||Phi(t_i, t_j+1)||
 *   c_j with c_j = b h max(1, ||exp(h A_j / 2)||, ||P_j||) (the segment's
 *   own growth at its ends and middle).  The logarithmic norms bound the
 *   growth of every error, and are far above it where J is far from normal
 *   (a contracting flow with mu of 40: docs/grid.md s.5).
 * max_i of the bound is added to *tbound (the table's bound is the largest
 * row's).  The note gives the largest growth factor e^G of the logarithmic
 * norm used, G the largest integral of mu over an interval of rows, or
 * says the propagators.  name and what word the note ("rounding's", "the
 * drift's rounding bound"). */
static cl_status drift_part(const ode_ctx *c, size_t nt, const double *tk, const double *Y, int ws,
                            void (*bnd)(const cl_drift *, int, int, double *), const char *name, const char *what,
                            double *tbound, int *ifail, char *rnote, size_t len, char *err) {
  const int n = c->n1, nall = n * copies(c), K = c->K, M = c->M;
  const size_t nn = (size_t)n * n;
  const double T = nt > 1 ? tk[nt - 1] - tk[0] : 0;
  const int prop = (double)nt * nt * n * n * n <= GROWTH_PROP_FLOPS;
  /* the drift's bound per component at the row (bv), at the last (bp), on the segment (bs) */
  double f[CL_STATE_MAX], e[CL_STATE_MAX], bv[CL_STATE_MAX], bp[CL_STATE_MAX] = {0}, bs[CL_STATE_MAX], Emax = 0;
  /* per logarithmic norm (2, max): the bound, mu at the last row and at the
   * last Jacobian, the rate estimate (-1: none yet), the integral of mu,
   * its smallest prefix and the largest growth G */
  double E[2] = {0, 0}, mprev[2] = {0, 0}, mua[2] = {0, 0}, L[2] = {-1, -1}, grow[2] = {0, 0}, gmin[2] = {0, 0},
         gmax[2] = {0, 0};
  size_t ja = 0, njac = 0; /* the last Jacobian's row; the Jacobians taken */
  int best = -1;           /* the bound of the largest row: 0, 1 the norms, 2 the propagators */
  /* J (every row's where prop) and scratch S; where prop the propagators P
   * (nt - 1), the products W, W2; the rows' bounds Er (3 nt: the norms',
   * the propagators') and the segments' own parts cs (nt) */
  const size_t nJ = prop ? nt : 1, nP = prop ? nt + 2 : 0;
  double *J = malloc(sizeof(double) * ((nJ + 1 + nP) * nn + 3 * nt + (prop ? 2 * nt * (size_t)n : 0)));
  if (!J) return cl_fail(err, CL_ENOMEM, "out of memory");
  double *S = J + nJ * nn, *P = S + nn, *W = prop ? P + nt * nn : NULL, *W2 = prop ? W + nn : NULL, *Er = P + nP * nn,
         *cv = Er + 3 * nt, *ev = cv + (prop ? nt * (size_t)n : 0);
  memset(Er, 0, sizeof(double) * (3 * nt + (prop ? 2 * nt * (size_t)n : 0)));
  cl_status st = CL_OK;
  cl_drift_pin_rep(c->drift, ws);
  /* the rows before the segment where the drift's bound is first above 0
   * add nothing (e stays 0): from there on (j0; nt where it is 0 on every
   * row, as the closed forms at lambda = 0: no Jacobian).  The scan's
   * drift and bound at the rows j0 and j0 + 1 (the last two it evaluated:
   * fs, bvs, row 0 of each the earlier) are the main loop's there, each
   * row's drift evaluated once */
  size_t j0 = nt, js = 0; /* js: the rows the scan evaluated */
  double fs[2][CL_STATE_MAX], bvs[2][CL_STATE_MAX];
  for (size_t j = 0; j < nt && !st && j0 == nt; j++, js++) {
    double *fj = fs[j & 1], *bj = bvs[j & 1];
    if ((st = cl_ode_drift(c->drift, K, M, Y + j * (size_t)nall + (size_t)ws * n, fj, err))) break;
    bnd(c->drift, K, M, bj);
    for (int q = 0; q < n && j0 == nt; q++)
      if (bj[q] > 0) j0 = j > 0 ? j - 1 : 0;
  }
  ja = j0;
  for (size_t j = j0; j < nt && !st; j++) {
    const double *y = Y + j * (size_t)nall + (size_t)ws * n, *ya = Y + ja * (size_t)nall + (size_t)ws * n;
    if (j < js) { /* the scan's */
      memcpy(f, fs[j & 1], sizeof(double) * (size_t)n);
      memcpy(bv, bvs[j & 1], sizeof(double) * (size_t)n);
    } else if ((st = cl_ode_drift(c->drift, K, M, y, f, err)))
      break;
    else
      bnd(c->drift, K, M, bv);
    double rnd = 0, bs2 = 0, bsm = 0; /* max_k bv_k; the segment's 2- and max-norms */
    for (int q = 0; q < n; q++) bs[q] = fmax(bp[q], bv[q]), rnd = fmax(rnd, bv[q]), bs2 += bs[q] * bs[q], bsm = fmax(bsm, bs[q]);
    const double bsn[2] = {sqrt(bs2), bsm};
    double mv = 0, mu[2];
    for (int q = 0; q < n; q++) mv += (y[q] - ya[q]) * (y[q] - ya[q]);
    mv = sqrt(mv);
    if (prop || j == j0 || L[0] < 0 || fmax(L[0], L[1]) * mv > GROWTH_DRIFT / T) {
      double *Jj = J + (prop ? j : 0) * nn;
      const double scale = fd_scale(K, M, y);
      const int near = scale < CL_FD_STEP;
      int fac = 1;
      st = near ? cl_ode_jacobian_pair(c->drift, K, M, y, Jj, NULL, &fac, err)
                : fd_jacobian(c->drift, K, M, y, f, scale, Jj, err);
      if (st) break;
      double es = 0, es2 = 0;
      if (rnd > 0 && !cl_ode_jacobian_rounding(K, M, y, fac, rnd, e))
        for (int q = 0; q < n; q++) e[q] *= near ? 1 : 2, es += e[q], es2 += e[q] * e[q];
      mu[0] = lognorm_2(Jj, n, S) + sqrt(n * es2);
      mu[1] = lognorm_inf(Jj, n) + es;
      for (int k = 0; k < 2; k++) {
        if (j > j0 && mv > 0) L[k] = GROWTH_LSAFE * fabs(mu[k] - mua[k]) / mv;
        mua[k] = mu[k];
      }
      ja = j, njac++;
    } else
      for (int k = 0; k < 2; k++) mu[k] = mua[k] + L[k] * mv;
    const double h = j > j0 ? tk[j] - tk[j - 1] : 0;
    for (int k = 0; k < 2 && j > j0; k++) {
      const double m = fmax(mprev[k], mu[k]), x = m * h;
      E[k] = E[k] * exp(x) + bsn[k] * h * (x != 0 ? expm1(x) / x : 1);
      grow[k] += x, gmin[k] = fmin(gmin[k], grow[k]), gmax[k] = fmax(gmax[k], grow[k] - gmin[k]);
      Er[k * nt + j] = E[k];
    }
    if (prop && j > j0) { /* segment j - 1: its propagator and its own part */
      double *Pj = P + (j - 1) * nn;
      gsl_matrix_view A = gsl_matrix_view_array(S, (size_t)n, (size_t)n), Pv = gsl_matrix_view_array(Pj, (size_t)n, (size_t)n),
                      Wv = gsl_matrix_view_array(W, (size_t)n, (size_t)n);
      for (size_t k = 0; k < nn; k++) S[k] = 0.25 * h * (J[(j - 1) * nn + k] + J[j * nn + k]);
      int gs = gsl_linalg_exponential_ss(&A.matrix, &Wv.matrix, GSL_PREC_DOUBLE);
      for (int q = 0; q < n; q++) f[q] = absmul(W, n, bs, q); /* |exp(h A / 2)| bs */
      for (size_t k = 0; k < nn; k++) S[k] *= 2;
      if (!gs) gs = gsl_linalg_exponential_ss(&A.matrix, &Pv.matrix, GSL_PREC_DOUBLE);
      if (gs) st = cl_fail(err, CL_EDIVERGE, "the matrix exponential of a segment failed");
      for (int q = 0; q < n; q++) cv[(j - 1) * n + q] = h * fmax(bs[q], fmax(f[q], absmul(Pj, n, bs, q)));
    }
    memcpy(bp, bv, sizeof(double) * (size_t)n);
    mprev[0] = mu[0], mprev[1] = mu[1];
  }
  cl_drift_pin_rep(c->drift, -1);
  /* the propagators: ev_i = sum_j<i |Phi(t_i, t_j+1)| c_j (componentwise),
   * Phi(t_i, t_i) = I, and Er[2 nt + i] its largest component */
  double *Ep = Er + 2 * nt;
  for (size_t j = j0; j + 1 < nt && !st && prop; j++) {
    const double *cj = cv + j * n;
    for (int q = 0; q < n; q++) ev[(j + 1) * n + q] += cj[q];
    memset(W, 0, sizeof(double) * nn);
    for (int k = 0; k < n; k++) W[(size_t)k * n + k] = 1;
    for (size_t i = j + 2; i < nt; i++) {
      gsl_matrix_view Pv = gsl_matrix_view_array(P + (i - 1) * nn, (size_t)n, (size_t)n),
                      Wv = gsl_matrix_view_array(W, (size_t)n, (size_t)n), W2v = gsl_matrix_view_array(W2, (size_t)n, (size_t)n);
      gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1, &Pv.matrix, &Wv.matrix, 0, &W2v.matrix);
      memcpy(W, W2, sizeof(double) * nn);
      for (int q = 0; q < n; q++) ev[i * n + q] += absmul(W, n, cj, q);
    }
  }
  for (size_t i = 1; i < nt && prop; i++)
    for (int q = 0; q < n; q++) Ep[i] = fmax(Ep[i], ev[i * n + q]);
  /* each row's bound: the smallest of the norms' and the propagators'; a
   * NaN (a growth e^x that overflowed times a bound of 0: 0 inf) counts
   * as no bound, +inf.  Before (session 26) a NaN lost every comparison,
   * so the row was left out and the part could print 0 (linear sigma,
   * lambda 0, one segment of length 2.5, growth e^1690: the propagators'
   * bound 0.716 was dropped with the NaN of the norms') */
  for (size_t i = 1; i < nt && !st; i++) {
    int k = -1;
    double v = INFINITY;
    for (int q = 0; q < (prop ? 3 : 2); q++)
      if (!isnan(Er[q * nt + i]) && (k < 0 || Er[q * nt + i] < v)) k = q, v = Er[q * nt + i];
    if (k < 0 || !(v <= Emax)) Emax = v, best = k < 0 ? 0 : k;
  }
  free(J);
  if (st == CL_ENOMEM) return st;
  *ifail = st != CL_OK || !isfinite(Emax);
  if (*ifail) {
    snprintf(rnote, len, "%s failed at a row of the table", what);
    return CL_OK;
  }
  *tbound += Emax;
  if (best == 2)
    snprintf(rnote, len, "; %s part %.3g: %s integrated over the table with the flow's growth (its propagators; %zu "
             "Jacobians)", name, Emax, what, njac);
  else
    snprintf(rnote, len,
             "; %s part %.3g: %s integrated over the table with the flow's growth (at most e^%.3g; %zu Jacobians)",
             name, Emax, what, gmax[best > 0], njac);
  return CL_OK;
}

/* note: appended to the method line (info) */
static cl_status solve(const cl_model *m, const cl_schedule *s, const cl_ode_opts *o, const cl_quad_opts *q,
                       const char *note, cl_ode_cont *cont, cl_traj **out, char *info, char *err,
                       int *unresolved) {
  cl_status st = cl_model_check(m, 0, err);
  if (st || (st = cl_schedule_check(s, err)) || (st = cl_ode_check_stepper(o->stepper, err)))
    return st;
  if (!(o->rtol > 0 && o->atol >= 0))
    return cl_fail(err, CL_EINVAL, "rtol/atol: need rtol > 0 and atol >= 0");
  const gsl_odeiv2_step_type *type = NULL;
  for (size_t i = 0; i < sizeof steppers / sizeof steppers[0]; i++)
    if (strcmp(o->stepper, steppers[i].name) == 0) type = *steppers[i].type;
  ode_ctx c = {.K = m->K, .M = m->M, .progress = o->progress, .pctx = o->progress_ctx};
  /* the implicit steppers difference the drift (jac): no adaptive rules there */
  cl_quad_opts quad = *q;
  quad.adapt_gauss = strcmp(o->stepper, "msbdf") && strcmp(o->stepper, "rk4imp") &&
                     strcmp(o->stepper, "bsimp");
  st = cl_drift_alloc(m, &quad, &c.drift, err);
  if (st) return st;
  /* M = 1 with dop853: a coarse level of the rules, integrated separately
   * after the fine one (which is written, its table unchanged); their
   * distance bounds the fine one's error (docs/m1-many-features.md s.7).
   * Only where the caller takes the method line (info), which reports it:
   * basin, findings and reproduce run many trajectories without it */
  cl_drift *coarse = NULL;
  if (!type && info && (st = cl_drift_m1_coarse(c.drift, &coarse, err))) {
    cl_drift_free(c.drift);
    return st;
  }
  int K = m->K, M = m->M, n = cl_state_size(K, M);
  /* M >= 2 engines (docs/multi.md, docs/accurate.md): with dop853 each of
   * their nrep randomised rules (or deterministic levels) drives its own
   * copy of the system; the output is their mean (or the fine level) and
   * their spread bounds its error */
  c.n1 = n, c.nrep = type ? 0 : cl_drift_nrep(c.drift);
  const int nr = c.nrep > 1 ? c.nrep : 1, nall = n * nr;
  size_t nt = cl_schedule_nt(s);
  cl_traj *tr;
  cl_traj_alloc(K, M, nt, 1, &tr, NULL);
  double *Y = malloc(sizeof(double) * nt * (size_t)nall), *yall = malloc(sizeof(double) * (size_t)nall);
  double *Yc = coarse ? malloc(sizeof(double) * nt * (size_t)n) : NULL;
  c.rq = malloc(sizeof(double) * 2 * (size_t)nr * ((size_t)K * M + (size_t)M * M));
  if (!tr || !Y || !yall || !c.rq || (coarse && !Yc)) {
    cl_traj_free(tr);
    free(Y);
    free(Yc);
    free(yall);
    free(c.rq);
    cl_drift_free(c.drift);
    cl_drift_free(coarse);
    return cl_fail(err, CL_ENOMEM, "out of memory");
  }
  for (size_t j = 0; j < nt; j++) tr->t[j] = cl_schedule_time(s, j);
  double y[CL_STATE_MAX];
  cl_state_pack(K, M, m->R0, m->Q0, y);
  for (int r = 0; r < nr; r++) memcpy(yall + (size_t)r * n, y, sizeof(double) * (size_t)n);
  /* a continuation: every copy from its own state, and the checks at t = 0
   * at the written one (the fine level, or the rules' mean, which lies in
   * the domain with them: Q - R^T R is concave), not at m's R0 and Q0 */
  const int resume = cont && cont->y;
  if (resume && cont->ny != nall)
    st = cl_fail(err, CL_EINVAL, "a continuation of %d values for a system of %d", cont->ny, nall);
  else if (resume) {
    memcpy(yall, cont->y, sizeof(double) * (size_t)nall);
    const int wr = cl_drift_written_rep(c.drift);
    for (int q = 0; q < n; q++) {
      double v = 0;
      if (wr >= 0 && nr > 1) v = yall[(size_t)wr * n + q];
      else {
        for (int r = 0; r < nr; r++) v += yall[(size_t)r * n + q];
        v /= nr;
      }
      y[q] = v;
    }
  }
  gsl_odeiv2_system sys = {rhs, jac, (size_t)nall, &c};
  char pars[256];
  snprintf(pars, sizeof pars, "tau = %g, s = %g, rho = %g, lambda = %g, B = %d, act = %s", m->tau,
           m->s, m->rho, m->lambda, m->B, cl_act_name(m->act));
  cl_common_init();
  double R[CL_KMAX * CL_MMAX], Q[CL_MMAX * CL_MMAX], se0 = 0;
  /* the drift at t = 0: a clear error if the start is invalid, and the
   * Monte Carlo standard error there */
  double dR[CL_KMAX * CL_MMAX], dQ[CL_MMAX * CL_MMAX];
  cl_state_unpack(K, M, y, R, Q);
  for (int q = 0; q < n; q++)
    if (!isfinite(y[q])) st = cl_fail(err, CL_EDIVERGE, "NaN at t = 0 (%s)", pars);
  if (!st && (st = cl_drift_eval(c.drift, R, Q, dR, dQ, c.err)))
    cl_fail(err, st, "at t = 0: %s (%s)", c.err, pars);
  se0 = cl_drift_stderr(c.drift);
  /* the coarse level: its drift at t = 0 (the drift bound there) and its
   * trajectory; where it fails, the fine one stands without the bounds,
   * but out of memory is the run's error (all or nothing, as any other
   * allocation of the run) */
  ode_ctx cc = c;
  int coarse_ok = coarse && !st;
  const double lf = coarse ? cl_drift_level_factor(c.drift) : 1; /* the levels' safety factor */
  if (coarse_ok) {
    double cR[CL_KMAX * CL_MMAX], cQ[CL_MMAX * CL_MMAX];
    const cl_status cs = cl_drift_eval(coarse, R, Q, cR, cQ, cc.err);
    if (cs == CL_ENOMEM) st = cl_fail(err, cs, "%s", cc.err);
    coarse_ok = cs == CL_OK;
    double sc = 0;
    for (int k = 0; k < K * M && coarse_ok; k++) se0 = fmax(se0, lf * fabs(cR[k] - dR[k])), sc = fmax(sc, fabs(dR[k]));
    for (int k = 0; k < M * M && coarse_ok; k++) se0 = fmax(se0, lf * fabs(cQ[k] - dQ[k])), sc = fmax(sc, fabs(dQ[k]));
    se0 = fmax(se0, M1_ROUNDING * sc);
    c.p1 = 0.7, cc.p0 = 0.7, cc.p1 = 1; /* the coarse level costs a third to a half of the fine one */
    cc.drift = coarse;
  }
  /* The Sobol' rules with a kink (docs/multi.md s.3: g abs with B > 1, or
   * B = 1 and lambda != 0): each rule's drift jumps by O(1 / points)
   * wherever a point's C_il changes sign, and
   * dop853 at rtol 1e-8 cut its step to ~2e-4 with ~60 drifts per accepted
   * step (whole batch, B = 2).  Its tolerances are floored at KINK_TOL x the
   * drift error bound at t = 0: the integrator's own error, measured
   * against rtol 1e-6, then stays far below the printed trajectory bound.
   * The GSL steppers (one system with the mean drift of the rules: every
   * rule's jumps, each a sixteenth) are floored likewise: rk8pd took 17 s
   * to T = 0.2 at B = 1 with the user's tolerances. */
  double rtol = o->rtol, atol = o->atol;
  char knote[240] = "";
  if (resume) /* the tolerances of the run continued (its kink floor) */
    rtol = cont->rtol, atol = cont->atol;
  else if (cl_drift_kinked(c.drift) && KINK_TOL * se0 > fmin(rtol, atol)) {
    rtol = fmax(rtol, KINK_TOL * se0), atol = fmax(atol, KINK_TOL * se0);
    snprintf(knote, sizeof knote,
             "; the rules' drifts jump where a point's C_il changes sign (g abs): integrator "
             "tolerances floored at %g x the drift error bound (rtol %.3g, atol %.3g)",
             KINK_TOL, rtol, atol);
  }
  /* a deterministic engine's levels (the grid's, the quad levels'): the
   * written one integrated, the others as its differences along its steps
   * (dop_lv, docs/grid.md s.17), and only where the bound is reported */
  const int wrep = cl_drift_written_rep(c.drift);
  lev_ctx lw = {&c, wrep};
  dop_lv lv = {.c = &c, .nlev = nr, .wrep = wrep, .on = info != NULL};
  gsl_odeiv2_system wsys = {lev_rhs, NULL, (size_t)n, &lw}; /* (dop853: no Jacobian) */
  const int levs = !type && wrep >= 0 && nr > 1 && nr <= LV_MAXLEV && !o->stacked_levels;
  if (!st)
    st = type ? integrate_gsl(&sys, &c, type, yall, nt, tr->t, s->dt_out, rtol, atol, Y, cont ? &cont->h : NULL,
                              cont ? &cont->steps : NULL, pars, err)
              : integrate_dop853(levs ? &wsys : &sys, &c, yall, nt, tr->t, rtol, atol, Y, cont ? &cont->h : NULL,
                                 cont ? &cont->steps : NULL, levs ? &lv : NULL, pars, err);
  /* every copy's state at T, before the written one replaces the first */
  if (!st && cont) {
    double *cy = realloc(cont->y, sizeof(double) * (size_t)nall);
    if (!cy) st = cl_fail(err, CL_ENOMEM, "out of memory");
    else {
      memcpy(cy, Y + (nt - 1) * (size_t)nall, sizeof(double) * (size_t)nall);
      cont->y = cy, cont->ny = nall, cont->rtol = rtol, cont->atol = atol;
    }
  }
  double tbound = 0;
  if (!st && coarse_ok) {
    gsl_odeiv2_system csys = {rhs, jac, (size_t)n, &cc};
    char cerr[CL_ERRLEN];
    const cl_status cs = integrate_dop853(&csys, &cc, y, nt, tr->t, o->rtol, o->atol, Yc, NULL, NULL, NULL, pars, cerr);
    if (cs == CL_ENOMEM) st = cl_fail(err, cs, "%s", cerr);
    coarse_ok = cs == CL_OK;
    for (size_t q = 0; q < nt * (size_t)n && coarse_ok; q++)
      tbound = fmax(tbound, fmax(lf * fabs(Yc[q] - Y[q]), M1_ROUNDING * fabs(Y[q])));
  }
  /* max over the table of: t sd / sqrt(nrep) of the randomised rules'
   * trajectories; for the deterministic engines' levels (wrep >= 0) the
   * largest distance of the written level to the others, as their drift
   * estimate (docs/accurate.md s.4: with a middle level a chance agreement
   * of the coarse one alone does not hide the error) */
  double sdrule = 0, amax = 0; /* the rules': largest per-rule sd, largest |mean| */
  for (size_t j = 0; j < nt && !st && nr > 1; j++) {
    const double *yj = Y + j * (size_t)nall;
    for (int q = 0; q < n; q++) {
      if (wrep >= 0) {
        const double yw = yj[(size_t)wrep * n + q];
        for (int r = 0; r < nr; r++) tbound = fmax(tbound, fabs(yj[(size_t)r * n + q] - yw));
        continue;
      }
      double mean = 0, var = 0;
      for (int r = 0; r < nr; r++) mean += yj[(size_t)r * n + q];
      mean /= nr;
      for (int r = 0; r < nr; r++) var += (yj[(size_t)r * n + q] - mean) * (yj[(size_t)r * n + q] - mean);
      tbound = fmax(tbound, cl_drift_tquant(c.drift) * sqrt(var / (nr - 1) / nr));
      sdrule = fmax(sdrule, sqrt(var / (nr - 1)));
      amax = fmax(amax, fabs(mean));
    }
  }
  char inote[200] = "", rnote[200] = "", lnote[240] = "";
  int ifail = 0;
  /* the rules' bound rests on each rule's trajectory answering linearly to
   * its drift's error, so that their mean is unbiased; where one rule's
   * trajectory parts from the others by more than RULES_LINEAR of the
   * table's largest |R|, |Q|, that is not so (case C of issue 12: every
   * rule kept the eight units alive, the true trajectory kills seven, 0.92
   * away against a "bound" of 0.82; docs/multi.md s.3 "Where the rules part") */
  if (!st && wrep < 0 && nr > 1 && sdrule > RULES_LINEAR * amax) {
    ifail = 1;
    snprintf(inote, sizeof inote,
             "the rules' trajectories part by sd %.3g per rule, over %g x the table's largest |R|, |Q| (%.3g): "
             "their mean is not shown to be a trajectory (more points per rule, or another engine)",
             sdrule, RULES_LINEAR, amax);
  }
  if (!st && levs && lv.on) {
    tbound += lv.esum;
    snprintf(lnote, sizeof lnote, "; plus %.3g: the other level%s integrated as the difference to the written one "
             "along its steps (%ld by a 4-stage pair, %ld by DOP853's tableau), its local error estimates summed",
             lv.esum, nr > 2 ? "s" : "", lv.ncheap, lv.nfull);
  }
  /* the closed forms (one copy, nr = 1): the same two parts, the drift's
   * from its Gauss-Legendre terms' bound (docs/closed-forms.md s.7) */
  const int closed = !type && cl_drift_closed(c.drift);
  /* as the M = 1 coarse level: where reported; the levels' check reruns the
   * coarse one (level 0, the cheapest), the rules' the last rule */
  if (!st && !ifail && info && !type && (nr > 1 || closed) && !knote[0])
    st = integrator_check(&c, y, nt, tr->t, Y, wrep >= 0 ? wrep : nr - 1, wrep >= 0 ? 0 : nr - 1,
                          wrep >= 0 ? "coarse level integrated alone"
                          : closed  ? "run integrated again"
                                    : "last rule integrated alone",
                          rtol, atol, pars, &tbound, &ifail, inote, sizeof inote, err);
  /* after the integrator's check, whose choice is made on the spread */
  if (!st && !ifail && info && !type && wrep >= 0 && nr > 1 && cl_drift_grid_round(c.drift) > 0)
    st = drift_part(&c, nt, tr->t, Y, wrep, grid_bound, "rounding's", "the drift's rounding bound", &tbound,
                    &ifail, rnote, sizeof rnote, err);
  if (!st && !ifail && info && closed)
    st = drift_part(&c, nt, tr->t, Y, 0, closed_bound, "the drift's", "the drift error bound", &tbound, &ifail,
                    rnote, sizeof rnote, err);
  /* the written row (the fine level, or the rules' mean) into the first
   * copy's slot, only now: the check compares its rerun with the copy's own
   * slot (session 16: before, slot 0 was overwritten first, and a rerun of
   * the coarse level was compared with the fine one, docs/multi.md s.11) */
  for (size_t j = 0; j < nt && !st && nr > 1; j++) {
    double *yj = Y + j * (size_t)nall;
    for (int q = 0; q < n; q++) {
      double v = 0;
      if (wrep >= 0) v = yj[(size_t)wrep * n + q];
      else {
        for (int r = 0; r < nr; r++) v += yj[(size_t)r * n + q];
        v /= nr;
      }
      yj[q] = v;
    }
  }
  /* M >= 2: a unit whose Q_ii has fallen to the absolute tolerance's
   * level (Q_ii <= 10 atol; with atol = 0, Q_ii <= 0) is dead at the
   * integrator's resolution: R_.i / sqrt(Q_ii) is noise (or NaN below 0),
   * so its cos columns are 0, and the note says from when (docs/multi.md
   * s.14).  M = 1: the whole model is dead; the CLI's advice stands. */
  double tdead[CL_MMAX];
  for (int i = 0; i < M; i++) tdead[i] = -1;
  for (size_t j = 0; j < nt && !st; j++) {
    const double *yj = Y + j * (size_t)nall;
    for (int q = 0; q < n; q++)
      if (!isfinite(yj[q])) st = cl_fail(err, CL_EDIVERGE, "NaN at t = %g (%s)", tr->t[j], pars);
    cl_state_unpack(K, M, yj, R, Q);
    double *row = cl_traj_row(tr, 0, j);
    cl_traj_set(K, M, R, Q, row);
    for (int i = 0; i < M && M > 1; i++) {
      if (!(Q[i * (M + 1)] <= 10 * atol)) continue;
      if (tdead[i] < 0) tdead[i] = tr->t[j];
      for (int jf = 0; jf < K; jf++) row[K * M + M * (M + 1) / 2 + jf * M + i] = 0;
    }
  }
  char dnote[160] = "";
  for (int i = 0, w = 0; i < M; i++)
    if (tdead[i] >= 0 && w < (int)sizeof dnote)
      w += snprintf(dnote + w, sizeof dnote - (size_t)w, "%sunit %d from t = %g", w ? ", " : "; dead (Q_ii <= 10 atol, cos 0): ",
                    i + 1, tdead[i]);
  if (info) {
    /* the bounds and the note after the method, which alone is shortened
     * where the line would not fit (the quad rule's method is long: the
     * rerun's note once cut its drift bound to "8") */
    char tail[2 * CL_ERRLEN]; /* the tolerance floor's and the integrator's notes fit whole */
    if (closed && ifail)
      snprintf(tail, sizeof tail, "; no trajectory error bound (%s); drift error bound %.3g at t = 0%s",
               rnote[0] ? rnote : inote, se0, note);
    else if (closed)
      snprintf(tail, sizeof tail,
               "; trajectory error bound %.3g (max over the table of R and Q%s%s); drift error bound %.3g at t = "
               "0%s",
               tbound, inote, rnote, se0, note);
    else if (ifail)
      snprintf(tail, sizeof tail,
               "; %d %s integrated separately, no trajectory error bound (%s); drift error bound %.3g at "
               "t = 0%s",
               nr, wrep >= 0 ? "levels" : "rules", rnote[0] ? rnote : inote, se0, note);
    else if (nr > 1 || coarse_ok)
      snprintf(tail, sizeof tail,
               "; %d %s integrated separately, trajectory error bound %.3g (max over the "
               "table of R and Q%s%s%s); drift error bound %.3g at t = 0%s%s",
               coarse ? 2 : nr, wrep >= 0 || coarse ? "levels" : "rules", tbound, lnote, inote, rnote, se0, knote,
               note);
    else if (coarse)
      snprintf(tail, sizeof tail, "; the coarse level of the error estimate failed: no error bound%s", note);
    else if (!type && cl_drift_m1_unbounded(c.drift))
      snprintf(tail, sizeof tail, "; %s%s", cl_drift_m1_unbounded(c.drift), note);
    else if (cl_drift_stderr(c.drift) > 0 || se0 > 0)
      snprintf(tail, sizeof tail, "; drift %s %.3g at t = 0, %.3g at the last step%s%s",
               cl_drift_closed(c.drift) ? "error bound" : "standard error", se0, cl_drift_stderr(c.drift), knote,
               note);
    else
      snprintf(tail, sizeof tail, "%s", note);
    const size_t lt0 = strlen(tail);
    snprintf(tail + lt0, sizeof tail - lt0, "%s", dnote);
    /* copied, not printed: a "%.*s%s" format cannot be shown to fit (-O1
     * -Wformat-truncation) */
    const char *meth = cl_drift_method(c.drift);
    const size_t lt = strlen(tail), lm = strlen(meth), lmk = lm < CL_INFOLEN - 1 - lt ? lm : CL_INFOLEN - 1 - lt;
    memcpy(info, meth, lmk);
    memcpy(info + lmk, tail, lt + 1);
  }
  free(Y);
  free(Yc);
  free(yall);
  free(c.rq);
  cl_drift_free(coarse);
  *unresolved = cl_drift_grid_unresolved(c.drift);
  cl_drift_free(c.drift);
  if (st) {
    cl_traj_free(tr);
    return st;
  }
  *out = tr;
  return CL_OK;
}
