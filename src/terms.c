/* The noise mechanism's terms at an M = 1 state (docs/findings.md s.3).
 * b_z, b_e and V are the drift engine's (cl_drift_m1_terms); V is split
 * here into V_data = E[(G1 + G2)^2] and V_noise = s^2 E[G1^2 + G2^2 +
 * 2 rho G1 G2] by a tensor rule: the law rules of c (exact atoms for
 * discrete laws) times a normal rule along each eigen-direction of the
 * covariance of (h1, h2) given c,
 *   (1, 1)/sqrt 2: variance 2 q0 + s^2 Q (1 + rho),
 *   (1,-1)/sqrt 2: variance s^2 Q (1 - rho). */
#include "cldyn/terms.h"
#include "cldyn/quad.h"
#include "cldyn/traj.h"
#include "act_pole.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* the normal rule: trapezoid for activations analytic in a strip, else Gauss-Hermite */
static cl_status normal_rule(cl_act act, cl_rule *r, char *err) {
  if (cl_act_pole(act) > 0) return cl_rule_normal_trap(96, r, err);
  return cl_rule_normal(act == CL_ACT_RELU ? 200 : 60, r, err);
}

static cl_status v_split(const cl_model *m, const cl_quad_opts *o, const double *R, double Q,
                         double *vd, double *vn, char *err) {
  const int K = m->K;
  const double s2 = m->s * m->s, rho = m->rho;
  double r2 = 0;
  for (int j = 0; j < K; j++) r2 += R[j] * R[j];
  double q0 = fmax(Q - r2, 0);
  double sp = sqrt((2 * q0 + s2 * Q * (1 + rho)) / 2), sm = sqrt(s2 * Q * (1 - rho) / 2);
  int nl = o && o->n_law > 0 ? o->n_law : CL_QUAD_LAW;
  cl_rule g = {0}, law[CL_KMAX];
  memset(law, 0, sizeof law);
  cl_status st = normal_rule(m->act, &g, err);
  for (int j = 0; j < K && !st; j++) st = cl_rule_law(&m->c[j], nl, &law[j], err);
  double sd = 0, sn = 0;
  if (!st) {
    int idx[CL_KMAX] = {0};
    int ny = sm > 0 ? g.n : 1;
    for (;;) {
      double mm = 0, wc = 1;
      for (int j = 0; j < K; j++) mm += law[j].x[idx[j]] * R[j], wc *= law[j].w[idx[j]];
      double ad = 0, an = 0;
      for (int a = 0; a < g.n; a++) {
        double bd = 0, bn = 0;
        for (int b = 0; b < ny; b++) {
          double y = ny > 1 ? g.x[b] : 0, wy = ny > 1 ? g.w[b] : 1;
          double h1 = mm + sp * g.x[a] + sm * y, h2 = mm + sp * g.x[a] - sm * y;
          double f1, d1, e1, f2, d2, e2;
          cl_act_eval(m->act, h1, &f1, &d1, &e1);
          cl_act_eval(m->act, h2, &f2, &d2, &e2);
          double G1 = d1 * f2, G2 = f1 * d2;
          bd += wy * (G1 + G2) * (G1 + G2);
          bn += wy * (G1 * G1 + G2 * G2 + 2 * rho * G1 * G2);
        }
        ad += g.w[a] * bd, an += g.w[a] * bn;
      }
      sd += wc * ad, sn += wc * an;
      int j = 0;
      while (j < K && ++idx[j] == law[j].n) idx[j++] = 0;
      if (j == K) break;
    }
  }
  cl_rule_free(&g);
  for (int j = 0; j < K; j++) cl_rule_free(&law[j]);
  *vd = sd, *vn = s2 * sn;
  return st;
}

cl_status cl_terms_eval(const cl_model *m, const cl_quad_opts *o, const double *R, double Q,
                        cl_terms *t, char *err) {
  if (m->M != 1) return cl_fail(err, CL_EINVAL, "terms: needs M = 1 (got %d)", m->M);
  if (m->reg.kind != CL_REG_L2 && m->reg.kind != CL_REG_NONE)
    return cl_fail(err, CL_EINVAL, "terms: needs an l2 or no regularizer");
  cl_drift *d;
  cl_status st = cl_drift_alloc(m, o, &d, err);
  if (st) return st;
  cl_m1_terms mt;
  st = cl_drift_m1_terms(d, R, Q, &mt, err);
  cl_drift_free(d);
  if (st) return st;
  double beta = m->reg.kind == CL_REG_L2 ? m->reg.beta2 : 0, r2 = 0;
  for (int j = 0; j < m->K; j++) r2 += R[j] * R[j];
  t->V = mt.V, t->b_z = mt.b_z, t->b_e = mt.b_e, t->kappa = beta - mt.b_z - mt.b_e, t->q0 = Q - r2;
  return v_split(m, o, R, Q, &t->V_data, &t->V_noise, err);
}

/* Capture a library writer's text, then append columns at each line end. */
cl_status cl_terms_write_header(FILE *f, int K, int M, const char *vary, char *err) {
  char *buf = NULL;
  size_t len = 0;
  FILE *ms = open_memstream(&buf, &len);
  if (!ms) return cl_fail(err, CL_ENOMEM, "terms: out of memory");
  cl_fixed_write_header(ms, K, M, vary);
  fclose(ms);
  if (!buf) return cl_fail(err, CL_ENOMEM, "terms: out of memory");
  if (len && buf[len - 1] == '\n') buf[--len] = '\0';
  fprintf(f, "%s,V,V_data,V_noise,b_z,b_e,kappa\n", buf);
  free(buf);
  return CL_OK;
}

cl_status cl_terms_write_rows(FILE *f, const cl_model *m, const cl_quad_opts *o,
                              const cl_fixed_point *p, int np, const char *vary_value, char *err) {
  if (m->M != 1) return cl_fail(err, CL_EINVAL, "terms: needs M = 1 (got %d)", m->M);
  for (int i = 0; i < np; i++) {
    char *buf = NULL;
    size_t len = 0;
    FILE *ms = open_memstream(&buf, &len);
    if (!ms) return cl_fail(err, CL_ENOMEM, "terms: out of memory");
    cl_fixed_write_rows(ms, m->K, m->M, p + i, 1, vary_value);
    fclose(ms);
    if (!buf) return cl_fail(err, CL_ENOMEM, "terms: out of memory");
    if (len && buf[len - 1] == '\n') buf[--len] = '\0';
    /* the id column counts rows: renumber from the row's index */
    char *comma = strchr(buf, ',');
    if (vary_value) comma = comma ? strchr(comma + 1, ',') : NULL;
    double R[CL_KMAX], Q;
    cl_state_unpack(m->K, 1, p[i].y, R, &Q);
    cl_terms t;
    cl_status st = cl_terms_eval(m, o, R, Q, &t, err);
    if (st) {
      free(buf);
      return st;
    }
    if (vary_value) fprintf(f, "%s,", vary_value);
    char b[6][32];
    fprintf(f, "%d%s,%s,%s,%s,%s,%s,%s\n", i + 1, comma ? comma : "", cl_common_format_real(b[0], 32, t.V),
            cl_common_format_real(b[1], 32, t.V_data), cl_common_format_real(b[2], 32, t.V_noise), cl_common_format_real(b[3], 32, t.b_z),
            cl_common_format_real(b[4], 32, t.b_e), cl_common_format_real(b[5], 32, t.kappa));
    free(buf);
  }
  return CL_OK;
}
