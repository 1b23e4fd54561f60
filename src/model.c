/* Model parameters: defaults, validation, R0/Q0 lists (docs/model.md s.1-3). */
#include "cldyn/model.h"

#include "linalg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cl_model_default(cl_model *m) {
  memset(m, 0, sizeof *m);
  m->N = 1000;
  m->K = 1;
  m->M = 1;
  m->B = 1;
  cl_law_parse("rademacher:3", &m->c[0], NULL);
  m->act = CL_ACT_TANH;
  m->g = CL_G_SQUARE;
  m->lambda = 0;
  m->reg.kind = CL_REG_L2;
  m->reg.beta2 = 0.5;
  m->tau = 0.5;
  m->s = 0.5;
  m->rho = 0;
  m->features = CL_FEAT_AXIS;
  m->feat_p = 1;
  m->init = CL_INIT_OVERLAP;
  m->R0[0] = 0.1;
  m->Q0[0] = 1;
}

void cl_schedule_default(cl_schedule *s) {
  s->T = 20;
  s->dt_out = 0.5;
  s->runs = 1;
  s->seed = 1;
}

double cl_model_sym_min_eig(const double *A, int n) { return cl_sym_min_eig(A, n); }

cl_status cl_model_sym_sqrt(const double *A, int n, double tol, double *S) {
  /* any n: up to 2 CL_MMAX (the library's own sizes) on the stack */
  double buf[2 * CL_MMAX * (2 * CL_MMAX + 1)], big = 0;
  double *ev = n <= 2 * CL_MMAX ? buf : malloc(sizeof(double) * (size_t)n * (size_t)(n + 1));
  if (!ev) return CL_ENOMEM;
  double *V = ev + n;
  cl_status st = cl_sym_eig(A, n, ev, V, NULL);
  if (st) {
    if (ev != buf) free(ev);
    return st;
  }
  for (int k = 0; k < n; k++) big = fmax(big, fabs(ev[k]));
  for (int k = 0; k < n; k++)
    if (ev[k] < -tol * (big > 1 ? big : 1)) st = CL_EINVAL;
  cl_sym_form(ev, V, n, big, S, NULL);
  if (ev != buf) free(ev);
  return st;
}

/* Parse "a,b;c,d" into at most cap numbers; sets rows/cols, or returns
 * CL_EINVAL for ragged rows or a malformed number. */
static cl_status parse_matrix(const char *opt, const char *spec, double *out, int cap,
                              int *rows, int *cols, char *err) {
  char buf[4096];
  if (strlen(spec) >= sizeof buf) return cl_fail(err, CL_EINVAL, "%s: list too long", opt);
  strcpy(buf, spec);
  int n = 0, r = 0, c0 = -1;
  char *save_r = NULL;
  for (char *row = strtok_r(buf, ";", &save_r); row; row = strtok_r(NULL, ";", &save_r)) {
    int c = 0;
    char *save_c = NULL;
    for (char *tok = strtok_r(row, ", \t", &save_c); tok; tok = strtok_r(NULL, ", \t", &save_c)) {
      double x;
      if (!cl_common_parse_real(tok, &x))
        return cl_fail(err, CL_EINVAL, "%s: malformed number '%s'", opt, tok);
      if (n == cap) return cl_fail(err, CL_EINVAL, "%s: too many entries", opt);
      out[n++] = x;
      c++;
    }
    if (c == 0) continue;
    if (c0 >= 0 && c != c0)
      return cl_fail(err, CL_EINVAL, "%s: rows of unequal length in '%s'", opt, spec);
    c0 = c;
    r++;
  }
  if (n == 0) return cl_fail(err, CL_EINVAL, "%s: empty list", opt);
  *rows = r;
  *cols = c0;
  return CL_OK;
}

cl_status cl_model_set_R0(cl_model *m, const char *spec, char *err) {
  double v[CL_KMAX * CL_MMAX];
  int r, c;
  cl_status st = parse_matrix("R0", spec, v, CL_KMAX * CL_MMAX, &r, &c, err);
  if (st) return st;
  if (r == 1 && c == 1) {
    for (int i = 0; i < m->K * m->M; i++) m->R0[i] = v[0];
    return CL_OK;
  }
  if (r != m->K || c != m->M)
    return cl_fail(err, CL_EINVAL,
                   "R0: got a %d x %d list; accepted: one number or K x M = %d x %d (rows "
                   "separated by ';')",
                   r, c, m->K, m->M);
  memcpy(m->R0, v, sizeof(double) * (size_t)(r * c));
  return CL_OK;
}

cl_status cl_model_set_Q0(cl_model *m, const char *spec, char *err) {
  double v[CL_MMAX * CL_MMAX];
  int r, c;
  cl_status st = parse_matrix("Q0", spec, v, CL_MMAX * CL_MMAX, &r, &c, err);
  if (st) return st;
  if (r == 1 && c == 1) {
    memset(m->Q0, 0, sizeof m->Q0);
    for (int i = 0; i < m->M; i++) m->Q0[i * m->M + i] = v[0];
    return CL_OK;
  }
  if (r != m->M || c != m->M)
    return cl_fail(err, CL_EINVAL,
                   "Q0: got a %d x %d list; accepted: one number (the diagonal) or M x M = "
                   "%d x %d",
                   r, c, m->M, m->M);
  memcpy(m->Q0, v, sizeof(double) * (size_t)(r * c));
  return CL_OK;
}

cl_status cl_model_check(const cl_model *m, int need_N, char *err) {
  cl_common_init();
  if (m->K < 1 || m->K > CL_KMAX)
    return cl_fail(err, CL_EINVAL, "c: between 1 and %d features accepted (got %d)", CL_KMAX,
                   m->K);
  if (m->M < 1 || m->M > CL_MMAX)
    return cl_fail(err, CL_EINVAL, "M: must be an integer in [1, %d] (got %d)", CL_MMAX, m->M);
  if (need_N && (m->N < m->K + m->M + 1 || m->N > 2000000000LL))
    return cl_fail(err, CL_EINVAL, "N: must be an integer in [K + M + 1, 2e9] = [%d, 2e9] (got %lld)",
                   m->K + m->M + 1, m->N);
  if (m->B < 1)
    return cl_fail(err, CL_EINVAL, "B: must be an integer >= 1 (got %d)", m->B);
  for (int j = 0; j < m->K; j++) {
    cl_status st = cl_law_check(&m->c[j], err);
    if (st) return st;
  }
  if (!(m->tau > 0)) return cl_fail(err, CL_EINVAL, "tau: must be > 0 (got %g)", m->tau);
  if (!(m->s >= 0)) return cl_fail(err, CL_EINVAL, "s: must be >= 0 (got %g)", m->s);
  if (!(m->rho >= -1 && m->rho <= 1))
    return cl_fail(err, CL_EINVAL, "rho: must be in [-1, 1] (got %g)", m->rho);
  if (!(m->lambda >= 0))
    return cl_fail(err, CL_EINVAL, "lambda: must be >= 0 (got %g)", m->lambda);
  if (!(m->reg.beta1 >= 0 && m->reg.beta2 >= 0))
    return cl_fail(err, CL_EINVAL, "reg: beta must be >= 0");
  if (m->features == CL_FEAT_SPARSE && !(m->feat_p > 0 && m->feat_p <= 1))
    return cl_fail(err, CL_EINVAL, "features: sparse P must be in (0, 1] (got %g)", m->feat_p);
  int M = m->M, K = m->K;
  for (int i = 0; i < M; i++) {
    if (!(m->Q0[i * M + i] > 0))
      return cl_fail(err, CL_EINVAL, "Q0: diagonal entries must be > 0 (Q0_%d_%d = %g)", i + 1,
                     i + 1, m->Q0[i * M + i]);
    for (int l = 0; l < i; l++)
      if (m->Q0[i * M + l] != m->Q0[l * M + i])
        return cl_fail(err, CL_EINVAL, "Q0: must be symmetric (Q0_%d_%d != Q0_%d_%d)", i + 1,
                       l + 1, l + 1, i + 1);
  }
  /* Q0 - R0^T R0 is the Gram matrix of the background part: it must be PSD */
  double S[CL_MMAX * CL_MMAX];
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) {
      double acc = m->Q0[i * M + l];
      if (m->init == CL_INIT_OVERLAP)
        for (int j = 0; j < K; j++) acc -= m->R0[j * M + i] * m->R0[j * M + l];
      S[i * M + l] = acc;
    }
  double scale = 0;
  for (int i = 0; i < M; i++) scale = fmax(scale, m->Q0[i * M + i]);
  double lo = cl_model_sym_min_eig(S, M);
  if (lo < -1e-12 * scale)
    return cl_fail(err, CL_EINVAL,
                   m->init == CL_INIT_OVERLAP
                       ? "Q0: Q0 - R0^T R0 must be positive semidefinite (smallest eigenvalue %g)"
                       : "Q0: must be positive semidefinite (smallest eigenvalue %g)",
                   lo);
  return CL_OK;
}

cl_status cl_schedule_check(const cl_schedule *s, char *err) {
  if (!(s->T >= 0)) return cl_fail(err, CL_EINVAL, "T: must be >= 0 (got %g)", s->T);
  if (!(s->dt_out > 0))
    return cl_fail(err, CL_EINVAL, "dt_out: must be > 0 (got %g)", s->dt_out);
  if (s->T / s->dt_out > 1e7)
    return cl_fail(err, CL_EINVAL, "dt_out: at most 1e7 output times accepted (T/dt-out = %g)",
                   s->T / s->dt_out);
  if (s->runs < 1 || s->runs > 100000000)
    return cl_fail(err, CL_EINVAL, "runs: must be an integer in [1, 1e8] (got %lld)", s->runs);
  return CL_OK;
}
