/* Fixed points of the order-parameter ODEs, Jacobians and stability, and
 * the learnability threshold of the uninformative state.  Notation of
 * MODEL.md; y = (R, upper triangle of Q). */
#include "cldyn/fixed.h"
#include "cldyn/rng.h"
#include "cldyn/traj.h"

#include <gsl/gsl_eigen.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_multiroots.h>
#include <gsl/gsl_roots.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NMAX (CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX)

const char *cl_stability_name(cl_stability s) {
  static const char *const names[] = {"stable", "saddle", "unstable", "marginal"};
  return names[s];
}

typedef struct {
  cl_drift *d;
  int K, M;
  char err[CL_ERRLEN];
} root_ctx;

static int root_f(const gsl_vector *x, void *params, gsl_vector *f) {
  root_ctx *c = params;
  if (cl_state_drift(c->d, c->K, c->M, x->data, f->data, c->err)) return GSL_EDOM;
  return GSL_SUCCESS;
}

/* Newton (hybrids) from y0; returns 1 and the root in y on convergence. */
static int newton(root_ctx *c, const double *y0, double *y) {
  int n = cl_state_size(c->K, c->M);
  gsl_multiroot_function F = {root_f, (size_t)n, c};
  gsl_vector_view x0 = gsl_vector_view_array((double *)y0, (size_t)n);
  gsl_multiroot_fsolver *s = gsl_multiroot_fsolver_alloc(gsl_multiroot_fsolver_hybrids, (size_t)n);
  int ok = 0;
  if (gsl_multiroot_fsolver_set(s, &F, &x0.vector) == GSL_SUCCESS) {
    for (int it = 0; it < 200; it++) {
      if (gsl_multiroot_fsolver_iterate(s)) break;
      if (gsl_multiroot_test_residual(s->f, 1e-11) == GSL_SUCCESS) {
        ok = 1;
        break;
      }
    }
  }
  if (ok) memcpy(y, s->x->data, sizeof(double) * (size_t)n);
  gsl_multiroot_fsolver_free(s);
  return ok;
}

static int cmp_fp(const void *a, const void *b) {
  const cl_fixed_point *x = a, *y = b;
  if (x->stability != y->stability) return (int)x->stability - (int)y->stability;
  for (int k = 0; k < x->n; k++)
    if (x->y[k] != y->y[k]) return x->y[k] < y->y[k] ? 1 : -1;
  return 0;
}

static cl_status classify(cl_drift *d, int K, int M, cl_fixed_point *p, char *err) {
  int n = p->n;
  double f[NMAX], *J = malloc(sizeof(double) * (size_t)(n * n));
  if (!J) return cl_fail(err, CL_ENOMEM, "fixed: out of memory");
  cl_status st = cl_state_jacobian(d, K, M, p->y, J, &p->jac_error, err);
  if (st || (st = cl_state_drift(d, K, M, p->y, f, err))) return free(J), st;
  p->residual = 0;
  for (int k = 0; k < n; k++) p->residual = fmax(p->residual, fabs(f[k]));
  gsl_matrix_view Jv = gsl_matrix_view_array(J, (size_t)n, (size_t)n);
  gsl_vector_complex *ev = gsl_vector_complex_alloc((size_t)n);
  gsl_eigen_nonsymm_workspace *w = gsl_eigen_nonsymm_alloc((size_t)n);
  gsl_eigen_nonsymm(&Jv.matrix, ev, w);
  gsl_eigen_nonsymmv_sort(ev, NULL, GSL_EIGEN_SORT_ABS_DESC);
  int pos = 0, neg = 0;
  double tol = fmax(1e-8, 10 * p->jac_error);
  for (int k = 0; k < n; k++) {
    gsl_complex z = gsl_vector_complex_get(ev, (size_t)k);
    p->eig_re[k] = GSL_REAL(z), p->eig_im[k] = GSL_IMAG(z);
    pos += p->eig_re[k] > tol, neg += p->eig_re[k] < -tol;
  }
  gsl_eigen_nonsymm_free(w);
  gsl_vector_complex_free(ev);
  free(J);
  p->stability = pos + neg < n ? CL_MARGINAL : pos == 0 ? CL_STABLE : neg == 0 ? CL_UNSTABLE : CL_SADDLE;
  return CL_OK;
}

cl_status cl_fixed_find(const cl_model *m, const cl_quad_opts *o, const double *extra, int nextra,
                        cl_fixed_point **out, int *nout, char *err) {
  const int K = m->K, M = m->M, n = cl_state_size(K, M);
  root_ctx c = {.K = K, .M = M};
  c.d = cl_drift_alloc(m, o, err);
  if (!c.d) return CL_EINVAL;
  /* starts: R = 0 and R along each feature, with unit i on feature j at
   * overlaps +-{0.3, 0.7, 0.95} of sqrt(Q), Q = 1 diagonal; plus extras */
  const double levels[] = {0.3, 0.7, 0.95};
  /* plus seeded random starts, which find the mixed states (a unit on
   * several features at once) that the axis starts miss */
  const int nrand = 12 * K * M;
  int cap = 1 + 2 * 3 * K * M + nrand + nextra + 8;
  double *starts = calloc((size_t)cap * (size_t)n, sizeof(double));
  int ns = 0;
  double R[CL_KMAX * CL_MMAX], Q[CL_MMAX * CL_MMAX];
  for (int s = -1; s < 2 * 3 * K * M; s++) {
    memset(R, 0, sizeof R);
    memset(Q, 0, sizeof Q);
    for (int i = 0; i < M; i++) Q[i * M + i] = 1;
    if (s >= 0) {
      int sign = s % 2 ? -1 : 1, lev = (s / 2) % 3, ji = s / 6;
      R[ji] = sign * levels[lev];
    }
    cl_state_pack(K, M, R, Q, starts + (size_t)ns++ * n);
  }
  cl_rng *rng = cl_rng_alloc(12345, 0x6678);
  for (int s = 0; s < nrand && rng; s++) {
    memset(Q, 0, sizeof Q);
    for (int i = 0; i < M; i++) Q[i * M + i] = 1;
    for (int k = 0; k < K * M; k++) R[k] = (2 * cl_rng_uniform(rng) - 1) * 0.9 / sqrt((double)K);
    cl_state_pack(K, M, R, Q, starts + (size_t)ns++ * n);
  }
  cl_rng_free(rng);
  for (int e = 0; e < nextra; e++) memcpy(starts + (size_t)ns++ * n, extra + (size_t)e * n, sizeof(double) * (size_t)n);
  cl_fixed_point *fp = calloc((size_t)ns, sizeof *fp);
  int nf = 0;
  cl_status st = CL_OK;
  gsl_error_handler_t *old = gsl_set_error_handler_off();
  for (int s = 0; s < ns && !st; s++) {
    double y[NMAX];
    if (!newton(&c, starts + (size_t)s * n, y)) continue;
    /* in the physical domain? (the drift refuses states outside it) */
    double f[NMAX];
    if (cl_state_drift(c.d, K, M, y, f, NULL)) continue;
    int dup = 0;
    for (int k = 0; k < nf && !dup; k++) {
      double dist = 0;
      for (int q = 0; q < n; q++) dist = fmax(dist, fabs(fp[k].y[q] - y[q]));
      dup = dist < 1e-6;
    }
    if (dup) continue;
    fp[nf].n = n;
    memcpy(fp[nf].y, y, sizeof(double) * (size_t)n);
    st = classify(c.d, K, M, &fp[nf], err);
    nf++;
  }
  gsl_set_error_handler(old);
  free(starts);
  cl_drift_free(c.d);
  if (st) {
    free(fp);
    return st;
  }
  qsort(fp, (size_t)nf, sizeof *fp, cmp_fp);
  *out = fp;
  *nout = nf;
  return CL_OK;
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

cl_status cl_uninformative_Q(const cl_model *m, const cl_quad_opts *o, double *Qstar, char *err) {
  if (m->M != 1) return cl_fail(err, CL_EINVAL, "--threshold: needs M = 1");
  q_ctx c = {.K = m->K};
  c.d = cl_drift_alloc(m, o, err);
  if (!c.d) return CL_EINVAL;
  gsl_function F = {dq_at, &c};
  /* dQ/dt > 0 at small Q for a nonlinear sigma with noise; bracket upwards */
  double lo = 1e-6, hi = 1;
  double flo = dq_at(lo, &c), fhi = dq_at(hi, &c);
  while (fhi * flo > 0 && hi < 1e6 && !c.status) hi *= 2, fhi = dq_at(hi, &c);
  gsl_error_handler_t *old = gsl_set_error_handler_off();
  cl_status st = (flo * fhi > 0 || c.status) ? CL_EDIVERGE : brent(&F, lo, hi, Qstar);
  gsl_set_error_handler(old);
  cl_drift_free(c.d);
  if (st)
    return cl_fail(err, CL_EDIVERGE,
                   "--threshold: no Q* with dQ/dt = 0 at R = 0 in [1e-6, 1e6] (dQ/dt = %g at Q = 1e-6)",
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
} m2_ctx;

/* the eigenvalue along R_j of the Jacobian at (R = 0, Q*) for <c_j^2> = m2 */
static double eig_at(double m2, void *params) {
  m2_ctx *c = params;
  cl_model m = c->m;
  set_m2(&m.c[c->j], m2);
  double Qs, J[(CL_KMAX + 1) * (CL_KMAX + 1)];
  if (cl_uninformative_Q(&m, c->o, &Qs, NULL)) {
    c->status = 1;
    return NAN;
  }
  cl_drift *d = cl_drift_alloc(&m, c->o, NULL);
  double y[NMAX] = {0}, R[CL_KMAX] = {0};
  cl_state_pack(m.K, 1, R, &Qs, y);
  int n = cl_state_size(m.K, 1);
  if (!d || cl_state_jacobian(d, m.K, 1, y, J, NULL, NULL)) c->status = 1;
  cl_drift_free(d);
  /* at R = 0 the R-block is diagonal: feature j's eigenvalue is J_jj */
  return J[c->j * n + c->j];
}

cl_status cl_critical_m2(const cl_model *m, const cl_quad_opts *o, int j, double *m2c, char *err) {
  if (m->M != 1) return cl_fail(err, CL_EINVAL, "--threshold: needs M = 1");
  m2_ctx c = {.m = *m, .o = o, .j = j};
  gsl_function F = {eig_at, &c};
  double lo = 1e-4, hi = 1, flo = eig_at(lo, &c), fhi = eig_at(hi, &c);
  while (fhi * flo > 0 && hi < 1e4 && !c.status) hi *= 2, fhi = eig_at(hi, &c);
  if (c.status || flo * fhi > 0)
    return cl_fail(err, CL_EDIVERGE,
                   "--threshold: feature %d: the eigenvalue at R = 0 does not change sign for "
                   "<c^2> in [1e-4, 1e4] (%g at 1e-4, %g at %g)",
                   j + 1, flo, fhi, hi);
  gsl_error_handler_t *old = gsl_set_error_handler_off();
  cl_status st = brent(&F, lo, hi, m2c);
  gsl_set_error_handler(old);
  return st ? cl_fail(err, st, "--threshold: root finding failed for feature %d", j + 1) : CL_OK;
}

void cl_fixed_write_header(FILE *f, int K, int M, const char *vary) {
  char name[64];
  int n = cl_state_size(K, M), nc = cl_traj_ncol(K, M);
  if (vary) fprintf(f, "%s,", vary);
  fprintf(f, "id");
  for (int c = 0; c < nc; c++) cl_traj_colname(K, M, c, name, sizeof name), fprintf(f, ",%s", name);
  for (int k = 0; k < n; k++) fprintf(f, ",eig_re_%d,eig_im_%d", k + 1, k + 1);
  fprintf(f, ",stability\n");
}

void cl_fixed_write_rows(FILE *f, int K, int M, const cl_fixed_point *p, int np, const char *vary_value) {
  double R[CL_KMAX * CL_MMAX], Q[CL_MMAX * CL_MMAX], row[3 * CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX];
  int nc = cl_traj_ncol(K, M);
  for (int i = 0; i < np; i++) {
    cl_state_unpack(K, M, p[i].y, R, Q);
    cl_traj_set(K, M, R, Q, row);
    if (vary_value) fprintf(f, "%s,", vary_value);
    fprintf(f, "%d", i + 1);
    for (int c = 0; c < nc; c++) fprintf(f, ",%.17g", row[c]);
    for (int k = 0; k < p[i].n; k++) fprintf(f, ",%.17g,%.17g", p[i].eig_re[k], p[i].eig_im[k]);
    fprintf(f, ",%s\n", cl_stability_name(p[i].stability));
  }
}
