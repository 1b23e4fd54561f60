/* Brute-force references for the M = 1 drift (tests/test_kinks.c and
 * bench/kinks.c), written independently of src/drift.c:
 *
 *  - kref_quad: nested adaptive Gauss-Kronrod (GSL qagp) in the eigen
 *    coordinates (u, v) of the covariance of (h1, h2) given c, over the
 *    whole plane (no mirror folding), with breakpoints at the kink lines
 *    h1 = 0 and h2 = 0, exact sums over the atoms of discrete laws of c;
 *  - kref_mc: Monte Carlo of the one-step increment of (R, Q) in the limit
 *    N -> infinity: c, the background z and the projections of the two
 *    noise vectors on (xi_1..xi_K, w) are sampled, D_a from cl_data_batch_loss,
 *    and N dR_j = tau (D1 (c_j + s g1_j) + D2 (c_j + s g2_j) - beta R_j),
 *    N dQ = 2 tau (D1 h1 + D2 h2 - beta Q) + tau^2 |x1 D1 + x2 D2|^2 / N.
 *
 * kref_quad: discrete laws summed over their atoms, gauss laws merged, at
 * most one continuous law (uniform, laplace, student) integrated over c. */
#ifndef CLDYN_KINKREF_H
#define CLDYN_KINKREF_H

#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <math.h>
#include <stdlib.h>

#include "cldyn/cldyn.h"

#define KREF_L 12.0 /* |u|, |v| <= 12: the normal tail beyond is 2e-33 */

typedef struct {
  const cl_model *m;
  double mu, cp, cm, v;
  int q; /* which quantity (kref_point) */
  gsl_integration_workspace *wi;
  double epsabs, epsrel;
  int fail;
} kref_ctx;

/* The seven quantities at (u, v): G1 + G2, G1 u, G1 v, G2 u, G2 v,
 * G1 h1 + G2 h2, (1 + s^2)(G1^2 + G2^2) + 2 (1 + rho s^2) G1 G2. */
static inline double kref_point(const kref_ctx *c, double u, double v) {
  const cl_model *m = c->m;
  double h1 = c->mu + c->cp * u + c->cm * v, h2 = c->mu + c->cp * u - c->cm * v;
  double f1, d1, f2, d2, x;
  cl_act_eval(m->act, h1, &f1, &d1, &x);
  cl_act_eval(m->act, h2, &f2, &d2, &x);
  double G1 = d1 * f2, G2 = f1 * d2, s2 = m->s * m->s;
  switch (c->q) {
  case 0: return G1 + G2;
  case 1: return G1 * u;
  case 2: return G1 * v;
  case 3: return G2 * u;
  case 4: return G2 * v;
  case 5: return G1 * h1 + G2 * h2;
  default: return (1 + s2) * (G1 * G1 + G2 * G2) + 2 * (1 + m->rho * s2) * G1 * G2;
  }
}

static inline double kref_phi(double z) { return exp(-0.5 * z * z) * 0.39894228040143268; }

/* sorted, distinct breakpoints in [-L, L] with the ends */
static inline int kref_breaks(double *pts, const double *in, int n) {
  int k = 0;
  pts[k++] = -KREF_L;
  for (int i = 0; i < n; i++)
    if (isfinite(in[i]) && in[i] > -KREF_L && in[i] < KREF_L) pts[k++] = in[i];
  pts[k++] = KREF_L;
  for (int i = 1; i < k; i++)
    for (int j = i; j > 0 && pts[j] < pts[j - 1]; j--) {
      double t = pts[j];
      pts[j] = pts[j - 1], pts[j - 1] = t;
    }
  int w = 1;
  for (int i = 1; i < k; i++)
    if (pts[i] > pts[w - 1] + 1e-13) pts[w++] = pts[i];
  return w;
}

static inline double kref_inner_f(double u, void *p) {
  const kref_ctx *c = p;
  return kref_point(c, u, c->v) * kref_phi(u);
}

/* integral over u at fixed v (the point u = 0 if that direction is inactive) */
static inline double kref_inner(double v, void *p) {
  kref_ctx *c = p;
  c->v = v;
  if (c->cp == 0) return kref_point(c, 0, v) * (c->cm == 0 ? 1 : kref_phi(v));
  double k[2] = {(-c->mu - c->cm * v) / c->cp, (-c->mu + c->cm * v) / c->cp}, pts[4], r, e;
  int np = kref_breaks(pts, k, 2);
  gsl_function f = {kref_inner_f, c};
  if (gsl_integration_qagp(&f, pts, (size_t)np, c->epsabs, c->epsrel, 1000, c->wi, &r, &e))
    c->fail = 1;
  return r * (c->cm == 0 ? 1 : kref_phi(v));
}

/* E[quantity q] given the mean mu, over the Gaussian part. */
static inline double kref_gauss(kref_ctx *c, gsl_integration_workspace *wo) {
  if (c->cm == 0) return kref_inner(0, c);
  /* the kink lines cross at v = 0; with cp = 0 they are the points
   * v = -+mu / cm */
  double k[3] = {0, c->mu / c->cm, -c->mu / c->cm}, pts[5], r, e;
  int np = kref_breaks(pts, k, c->cp == 0 ? 3 : 1);
  gsl_function f = {kref_inner, c};
  if (gsl_integration_qagp(&f, pts, (size_t)np, c->epsabs, c->epsrel, 1000, wo, &r, &e)) c->fail = 1;
  return r;
}

/* The density of a continuous law (uniform, laplace, student) at c,
 * written from the law's definition (docs/model.md s.1), not from its rule. */
static inline double kref_pdf(const cl_law *l, double c) {
  if (l->kind == CL_LAW_UNIFORM) {
    double a = sqrt(3 * l->m2);
    return fabs(c) <= a ? 0.5 / a : 0;
  }
  if (l->kind == CL_LAW_LAPLACE) {
    double b = sqrt(l->m2 / 2);
    return exp(-fabs(c) / b) / (2 * b);
  }
  /* student: c = k T, k^2 = m2 (nu - 2) / nu */
  double nu = l->nu, k = sqrt(l->m2 * (nu - 2) / nu), t = c / k;
  double lc = lgamma((nu + 1) / 2) - lgamma(nu / 2) - 0.5 * log(nu * M_PI);
  return exp(lc - (nu + 1) / 2 * log1p(t * t / nu)) / k;
}

typedef struct {
  kref_ctx *k;
  gsl_integration_workspace *wo;
  const cl_law *law;
  double mu0, Rc;
  int q, times_c;
} kref_cint_ctx;

static inline double kref_cint_f(double c, void *p) {
  kref_cint_ctx *x = p;
  x->k->mu = x->mu0 + c * x->Rc;
  x->k->q = x->q;
  return kref_pdf(x->law, c) * kref_gauss(x->k, x->wo) * (x->times_c ? c : 1);
}

/* E over the continuous law of quantity q (times c if times_c): adaptive
 * Gauss-Kronrod over c (kink of the density at 0 a breakpoint, the
 * half-lines separately for laplace and student) */
static inline double kref_cint(kref_cint_ctx *x, gsl_integration_workspace *w3, double epsrel, int *fail) {
  gsl_function f = {kref_cint_f, x};
  double r = 0, e;
  const cl_law *l = x->law;
  int st;
  if (l->kind == CL_LAW_UNIFORM) {
    double a = sqrt(3 * l->m2), pts[3] = {-a, 0, a};
    st = gsl_integration_qagp(&f, pts, 3, 0, epsrel, 2000, w3, &r, &e);
  } else {
    double r2;
    st = gsl_integration_qagiu(&f, 0, 0, epsrel, 2000, w3, &r, &e);
    kref_cint_ctx y = *x; /* the mirror half c -> -c */
    y.Rc = -x->Rc;
    gsl_function g = {kref_cint_f, &y};
    st |= gsl_integration_qagiu(&g, 0, 0, epsrel, 2000, w3, &r2, &e);
    r += x->times_c ? -r2 : r2;
  }
  if (st && st != GSL_EROUND) *fail = 1;
  return r;
}

/* dR (K) and dQ of the M = 1 model at (R, Q) by adaptive quadrature to
 * relative accuracy epsrel (B enters as V / B: with M = 1 lambda is inert).
 * Laws: exact sums over the atoms of discrete laws (rademacher, sparse,
 * discrete; at most 4096 combinations, 64 with a continuous law), gauss
 * laws merged into the Gaussian part (their a_j by Stein's lemma along
 * (1, 1): c_j = (m2_j R_j / cp) u + independent), and at most one
 * continuous law (uniform, laplace, student) by adaptive quadrature over c
 * against its density (kref_pdf; epsrel 10x looser there).  Returns 0 on
 * success, 1 if GSL flagged an integral, -1 if the laws are out of reach. */
static inline int kref_quad(const cl_model *m, const double *R, double Q, double epsrel, double *dR,
                            double *dQ) {
  const int K = m->K;
  const double s = m->s, s2 = s * s, rho = m->rho, tau = m->tau;
  const double beta = m->reg.kind == CL_REG_L2 ? m->reg.beta2 : 0;
  double A = Q, Ag = 0;
  int cont = -1, nat[CL_KMAX], total = 1;
  for (int j = 0; j < K; j++) {
    A -= R[j] * R[j];
    const cl_law *l = &m->c[j];
    nat[j] = 1;
    if (l->kind == CL_LAW_GAUSS) Ag += l->m2 * R[j] * R[j];
    else if (l->kind == CL_LAW_UNIFORM || l->kind == CL_LAW_LAPLACE || l->kind == CL_LAW_STUDENT) {
      if (cont >= 0) return -1;
      cont = j;
    } else
      nat[j] = l->kind == CL_LAW_RADEMACHER ? 2 : l->kind == CL_LAW_SPARSE ? 3 : l->nvals;
    total *= nat[j];
  }
  if (total > (cont >= 0 ? 64 : 4096)) return -1;
  if (A < 0) A = 0;
  A += Ag;
  double a = A + s2 * Q, b = A + rho * s2 * Q;
  double cp = sqrt(fmax(0.5 * (a + b), 0)), cm = sqrt(fmax(0.5 * (a - b), 0));
  if (cp < 1e-7 * sqrt(a)) cp = 0;
  if (cm < 1e-7 * sqrt(a)) cm = 0;
  gsl_set_error_handler_off();
  gsl_integration_workspace *wi = gsl_integration_workspace_alloc(1000),
                            *wo = gsl_integration_workspace_alloc(1000),
                            *w3 = gsl_integration_workspace_alloc(2000);
  kref_ctx c = {.m = m, .cp = cp, .cm = cm, .wi = wi, .epsabs = 1e-15, .epsrel = epsrel};
  double E[7] = {0}, aj[CL_KMAX] = {0}, ac = 0;
  int fail = 0;
  for (int t = 0; t < total; t++) {
    double cv[CL_KMAX] = {0}, w = 1, mu = 0;
    for (int j = 0, r = t; j < K; r /= nat[j], j++) {
      int idx = r % nat[j];
      const cl_law *l = &m->c[j];
      double sd = sqrt(l->m2);
      if (l->kind == CL_LAW_RADEMACHER) cv[j] = idx ? sd : -sd, w *= 0.5;
      else if (l->kind == CL_LAW_SPARSE)
        cv[j] = idx == 0 ? 0 : (idx == 1 ? 1 : -1) * sd / sqrt(l->p), w *= idx == 0 ? 1 - l->p : l->p / 2;
      else if (l->kind == CL_LAW_DISCRETE) cv[j] = l->vals[idx], w *= l->probs[idx];
      mu += cv[j] * R[j];
    }
    double e[7], ec = 0;
    if (cont < 0) {
      c.mu = mu;
      for (int q = 0; q < 7; q++) c.q = q, e[q] = kref_gauss(&c, wo);
    } else {
      kref_cint_ctx x = {.k = &c, .wo = wo, .law = &m->c[cont], .mu0 = mu, .Rc = R[cont]};
      for (int q = 0; q < 7; q++) x.q = q, e[q] = kref_cint(&x, w3, 10 * epsrel, &fail);
      x.q = 0, x.times_c = 1;
      ec = kref_cint(&x, w3, 10 * epsrel, &fail);
    }
    for (int q = 0; q < 7; q++) E[q] += w * e[q];
    for (int j = 0; j < K; j++)
      if (m->c[j].kind != CL_LAW_GAUSS && j != cont) aj[j] += w * cv[j] * e[0];
    ac += w * ec;
  }
  /* E[D1 eps1_j] + E[D2 eps2_j] = s R_j ((1 + rho)/(2 cp) E[(G1 + G2) u]
   *                                     + (1 - rho)/(2 cm) E[(G1 - G2) v]) */
  double st = 0;
  if (cp > 0) st += (1 + rho) / (2 * cp) * (E[1] + E[3]);
  if (cm > 0) st += (1 - rho) / (2 * cm) * (E[2] - E[4]);
  for (int j = 0; j < K; j++) {
    if (j == cont) aj[j] = ac;
    if (m->c[j].kind == CL_LAW_GAUSS) aj[j] = cp > 0 ? m->c[j].m2 * R[j] / cp * (E[1] + E[3]) : 0;
    dR[j] = tau * (aj[j] + s * s * R[j] * st - beta * R[j]);
  }
  *dQ = 2 * tau * (E[5] - beta * Q) + tau * tau * E[6] / m->B;
  gsl_integration_workspace_free(wi);
  gsl_integration_workspace_free(wo);
  gsl_integration_workspace_free(w3);
  return fail || c.fail;
}

/* Monte Carlo of the one-step increment (B = 1): means into dR, dQ and
 * their standard errors into seR, seQ. */
static inline void kref_mc(const cl_model *m0, const double *R, double Q, long n, uint64_t seed,
                           double *dR, double *dQ, double *seR, double *seQ) {
  cl_model m = *m0;
  m.B = 1;
  const int K = m.K;
  const double s = m.s, s2 = s * s, rho = m.rho, tau = m.tau, sr = sqrt(fmax(1 - rho * rho, 0));
  const double beta = m.reg.kind == CL_REG_L2 ? m.reg.beta2 : 0;
  double A = Q;
  for (int j = 0; j < K; j++) A -= R[j] * R[j];
  const double sA = sqrt(fmax(A, 0));
  cl_rng *rng;
  cl_rng_alloc(seed, 0x6b696e6b, &rng, NULL);
  enum { CH = 4096 };
  const int per = 3 + 2 * K + 1;
  double *g = malloc(sizeof(double) * CH * (size_t)per);
  double sR[CL_KMAX] = {0}, sR2[CL_KMAX] = {0}, sQ = 0, sQ2 = 0;
  for (long done = 0; done < n; done += CH) {
    long nb = n - done < CH ? n - done : CH;
    cl_rng_gauss_fill(rng, g, (size_t)nb * (size_t)per);
    for (long k = 0; k < nb; k++) {
      const double *z = g + k * per; /* z0, g1p, g2p', g1_j (K), g2_j' (K), spare */
      double c[CL_KMAX], mu = 0, e1 = sA * z[1], e2 = sA * (rho * z[1] + sr * z[2]);
      double g1[CL_KMAX], g2[CL_KMAX];
      for (int j = 0; j < K; j++) {
        c[j] = cl_law_sample(&m.c[j], rng);
        mu += c[j] * R[j];
        g1[j] = z[3 + j], g2[j] = rho * z[3 + j] + sr * z[3 + K + j];
        e1 += R[j] * g1[j], e2 += R[j] * g2[j];
      }
      double h1 = mu + sA * z[0] + s * e1, h2 = mu + sA * z[0] + s * e2, D1, D2;
      cl_data_batch_loss(&m, &h1, &h2, &D1, &D2);
      for (int j = 0; j < K; j++) {
        double x = tau * (D1 * (c[j] + s * g1[j]) + D2 * (c[j] + s * g2[j]) - beta * R[j]);
        sR[j] += x, sR2[j] += x * x;
      }
      double y = 2 * tau * (D1 * h1 + D2 * h2 - beta * Q) +
                 tau * tau * ((1 + s2) * (D1 * D1 + D2 * D2) + 2 * (1 + rho * s2) * D1 * D2);
      sQ += y, sQ2 += y * y;
    }
  }
  double nn = (double)n;
  for (int j = 0; j < K; j++) {
    dR[j] = sR[j] / nn;
    seR[j] = sqrt(fmax(sR2[j] / nn - dR[j] * dR[j], 0) / nn);
  }
  *dQ = sQ / nn;
  *seQ = sqrt(fmax(sQ2 / nn - *dQ * *dQ, 0) / nn);
  free(g);
  cl_rng_free(rng);
}

#endif
