/* M = 1 with many features: the c-expectation through characteristic
 * functions, at a cost polynomial in K (docs/m1-many-features.md).
 *
 * With X = m + u (m = c . R, u ~ N(0, cp^2)) and v ~ N(0, cm^2) independent,
 * every sum gauss_block_m1 makes over one c node, summed over c, is
 * E[F(X)] for a function F(x) = E_v[...] of x alone, or E[c_j F(X)], or the
 * Stein form E[G z+] = cp E[F'(X)] = -cp int F f_X'.  The densities are
 *   f_X(x)  = (1/pi) int_0^inf Re[e^{-iwx} Phi(w)] dw,
 *   Phi(w)  = prod_j phi_j(R_j w) exp(-cp^2 w^2 / 2),
 *   g_j(x)  = E[c_j; X in dx] / dx, with E[c_j e^{i R_j w c_j}] in place of
 *             phi_j(R_j w) (leave-one-out products by prefix and suffix:
 *             phi_j has zeros).
 * The w-integral is a trapezoid of step dw = 2 pi / P (P: the aliasing
 * period, 2.5 L for X in [-L, L]) truncated where the Gaussian factor is
 * below e^-40; the x-integral a trapezoid whose step follows from the
 * strip of analyticity of F f_X (for relu, whose F has a kink at x = 0,
 * Gauss-Legendre panels on [0, L]).  For g_j only the transform
 * Ghat(w) = sum_i h_i F(x_i) e^{-i w x_i} is needed: int F g_j =
 * (1/pi) int Re[Psi_j Ghat] dw, O(n_w) per feature. */
#include "drift_cf.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sf_bessel.h>
#include <gsl/gsl_sf_gamma.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cldyn/act.h"
#include "cldyn/quad.h"
#include "quad_gl.h"

/* error exponents: Gaussian factor at the w cut, x-trapezoid, tails */
#ifndef CF_EW
#define CF_EW 40.0
#endif
#ifndef CF_EX
#define CF_EX 38.0
#endif
#ifndef CF_ET
#define CF_ET 37.0
#endif
#ifndef CF_PER
#define CF_PER 2.5 /* aliasing period / L */
#endif
#define CF_MAXWORK 6000000L /* n_x * n_w above which the method is refused */
#define CF_GL 16            /* Gauss-Legendre points per relu panel */
#ifndef CF_STQ
#define CF_STQ 5e-11 /* student: one-sided tail mass beyond the range */
#endif
#ifndef CF_PANEL
#define CF_PANEL 6          /* relu panel width / x step */
#endif

struct cl_cf {
  int K, nu_; /* nu_: used features */
  int use[CL_KMAX];
  cl_law law[CL_KMAX];
  double tq[CL_KMAX]; /* student: the CF_STQ upper quantile of |c| */
  cl_act act;
  double s2, rho;
  cl_rule vr; /* normal rule along v (only its nodes >= 0 are used) */
  int jv0;
  double vpole;        /* sigma's pole distance in h (tanh, sigmoid; erf's peak: 2), 0: none */
  cl_rule vr2;         /* the v-rule with more points where the poles come closer (v_rule) */
  int jv2;
  const cl_rule *vcur; /* the v-rule of this evaluation, its first node >= 0 */
  int jvc;
  double glx[CF_GL], glw[CF_GL]; /* Gauss-Legendre on [-1, 1] */
  /* scratch, grown on demand */
  int cap_x, cap_w;
  double *x, *h, *F, *fx, *fp;   /* F: 5 x n_x (Fg, Fu, Tv, P, V) */
  double *er, *ei, *sr, *si;     /* e^{-i w_k x_i} and its step, n_x each */
  double *phr, *phi, *chr, *chi; /* per used feature: phi_j and E[c e^{itc}], n_w each */
  double *pre_r, *pre_i;         /* prefix products (K + 1) x n_w */
  double *Pr, *Pi, *Gr, *Gi;     /* Phi and Ghat, n_w */
  int last_nx, last_nw;
  double last_L;
};

void cl_cf_free(cl_cf *cf) {
  if (!cf) return;
  cl_rule_free(&cf->vr);
  cl_rule_free(&cf->vr2);
  free(cf->x);
  free(cf->phr);
  free(cf->pre_r);
  free(cf->Pr);
  free(cf);
}

cl_status cl_cf_alloc(const cl_model *m, const int *skip, int n_v, cl_cf **out, char *err) {
  *out = NULL;
  cl_cf *cf = calloc(1, sizeof *cf);
  if (!cf) return cl_fail(err, CL_ENOMEM, "ode: out of memory");
  cf->K = m->K;
  cf->act = m->act;
  cf->s2 = m->s * m->s, cf->rho = m->rho;
  for (int j = 0; j < m->K; j++) {
    cf->law[j] = m->c[j];
    cf->use[j] = !(skip && skip[j]);
    cf->nu_ += cf->use[j];
    cf->tq[j] = cl_cf_tail_q(&m->c[j]);
  }
  cl_status st = cl_rule_normal_trap(n_v, &cf->vr, err);
  if (st) return cl_cf_free(cf), st;
  while (cf->jv0 < cf->vr.n && cf->vr.x[cf->jv0] < 0) cf->jv0++;
  cf->vpole = m->act == CL_ACT_TANH      ? M_PI / 2
              : m->act == CL_ACT_SIGMOID ? M_PI
              : m->act == CL_ACT_ERF     ? 2.0
                                         : 0;
  if ((st = cl_rule_legendre(CF_GL, -1, 1, cf->glx, cf->glw, err))) return cl_cf_free(cf), st;
  *out = cf;
  return CL_OK;
}

void cl_cf_sizes(const cl_cf *cf, int *n_x, int *n_w, double *L) {
  if (n_x) *n_x = cf->last_nx;
  if (n_w) *n_w = cf->last_nw;
  if (L) *L = cf->last_L;
}

static int grow(cl_cf *cf, int nx, int nw) {
  if (nx > cf->cap_x) {
    free(cf->x);
    cf->x = malloc(sizeof(double) * (size_t)nx * 13);
    if (!cf->x) return cf->cap_x = 0, 0;
    cf->h = cf->x + nx, cf->F = cf->h + nx, cf->fx = cf->F + 5 * (size_t)nx, cf->fp = cf->fx + nx;
    cf->er = cf->fp + nx, cf->ei = cf->er + nx, cf->sr = cf->ei + nx, cf->si = cf->sr + nx;
    cf->cap_x = nx;
  }
  if (nw > cf->cap_w) {
    size_t n = (size_t)nw, K = (size_t)cf->K;
    free(cf->phr), free(cf->pre_r), free(cf->Pr);
    cf->phr = malloc(sizeof(double) * n * K * 4);
    cf->pre_r = malloc(sizeof(double) * n * (K + 1) * 2);
    cf->Pr = malloc(sizeof(double) * n * 4);
    if (!cf->phr || !cf->pre_r || !cf->Pr) {
      free(cf->phr), free(cf->pre_r), free(cf->Pr);
      cf->phr = cf->pre_r = cf->Pr = NULL;
      return cf->cap_w = 0, 0;
    }
    cf->phi = cf->phr + n * K, cf->chr = cf->phi + n * K, cf->chi = cf->chr + n * K;
    cf->pre_i = cf->pre_r + n * (K + 1);
    cf->Pi = cf->Pr + n, cf->Gr = cf->Pi + n, cf->Gi = cf->Gr + n;
    cf->cap_w = nw;
  }
  return 1;
}

double cl_cf_tail_q(const cl_law *law) {
  if (law->kind != CL_LAW_STUDENT) return 0;
  return sqrt(law->m2 * (law->nu - 2) / law->nu) * gsl_cdf_tdist_Qinv(CF_STQ, law->nu);
}

/* phi(t) = E[e^{itc}] and chi(t) = E[c e^{itc}] = -i phi'(t) of one law. */
void cl_cf_law(const cl_law *law, double t, double *pr, double *pi, double *cr, double *ci) {
  const double m2 = law->m2, sd = sqrt(m2);
  *pr = 1, *pi = 0, *cr = 0, *ci = 0;
  switch (law->kind) {
  case CL_LAW_GAUSS: *pr = exp(-0.5 * m2 * t * t), *ci = m2 * t * *pr; return;
  case CL_LAW_RADEMACHER: *pr = cos(sd * t), *ci = sd * sin(sd * t); return;
  case CL_LAW_UNIFORM: {
    /* on [-a, a]: sin(x)/x and a (sin x - x cos x) / x^2, x = a t */
    double a = sqrt(3.0) * sd, x = a * t, x2 = x * x;
    if (fabs(x) < 1e-2) {
      *pr = 1 - x2 / 6 * (1 - x2 / 20 * (1 - x2 / 42 * (1 - x2 / 72)));
      *ci = a * x / 3 * (1 - x2 / 10 * (1 - x2 / 28 * (1 - x2 / 54)));
    } else {
      double sn = sin(x), cs = cos(x);
      *pr = sn / x, *ci = a * (sn - x * cs) / x2;
    }
    return;
  }
  case CL_LAW_LAPLACE: {
    double b2 = 0.5 * m2, q = 1 / (1 + b2 * t * t);
    *pr = q, *ci = 2 * b2 * t * q * q;
    return;
  }
  case CL_LAW_SPARSE: {
    double a = sd / sqrt(law->p);
    *pr = 1 - law->p + law->p * cos(a * t), *ci = law->p * a * sin(a * t);
    return;
  }
  case CL_LAW_STUDENT: {
    /* c = k T, T ~ t_nu: phi = C z^mu K_mu(z), z = sqrt(nu) k |t|, mu = nu/2,
     * C = 1 / (Gamma(mu) 2^(mu-1)); d/dz z^mu K_mu = -z^mu K_(mu-1) */
    const double nu = law->nu, mu = 0.5 * nu, k = sd * sqrt((nu - 2) / nu);
    double z = sqrt(nu) * k * fabs(t);
    if (z == 0) return;
    /* e^z K_nu(z) (GSL's scaled form) and one exponential for both */
    double e = exp(-gsl_sf_lngamma(mu) - (mu - 1) * M_LN2 + mu * log(z) - z);
    *pr = e * gsl_sf_bessel_Knu_scaled(mu, z);
    *ci = (t > 0 ? 1 : -1) * sqrt(nu) * k * e * gsl_sf_bessel_Knu_scaled(mu - 1, z);
    return;
  }
  case CL_LAW_DISCRETE:
    *pr = 0;
    for (int i = 0; i < law->nvals; i++) {
      double v = law->vals[i], p = law->probs[i], cs = cos(v * t), sn = sin(v * t);
      *pr += p * cs, *pi += p * sn, *cr += p * v * cs, *ci += p * v * sn;
    }
    return;
  }
}

/* The largest |c| (bounded laws), 0 otherwise. */
static double law_max(const cl_law *law) {
  double sd = sqrt(law->m2), mx = 0;
  switch (law->kind) {
  case CL_LAW_RADEMACHER: return sd;
  case CL_LAW_UNIFORM: return sqrt(3.0) * sd;
  case CL_LAW_SPARSE: return sd / sqrt(law->p);
  case CL_LAW_DISCRETE:
    for (int i = 0; i < law->nvals; i++)
      if (law->probs[i] > 0) mx = fmax(mx, fabs(law->vals[i]));
    return mx;
  default: return 0;
  }
}

/* Half-width L of the range of X (error analysis in the docs), as the sum
 * of bounds for the bounded laws (B) and the others (U): P(|S_B + S_U| >
 * L_B + L_U) <= P(|S_B| > L_B) + P(|S_U| > L_U).
 * L_B: the exact bound sum |R_j| max|c_j|, or if smaller, the sub-Gaussian
 * bound sqrt(2 E var_B) (rademacher and uniform have variance proxy m2)
 * plus Bernstein's (2/3) E max |R_j c_j| when a sparse or discrete law is
 * present.  L_U: the Gaussian part and the gauss laws sqrt(2 E var), plus
 * E b for laplace (a sum of exponential tails decays at the rate of the
 * heaviest) and the CF_STQ quantile of the heaviest student (a polynomial
 * tail: the 5e-14 quantile made the range of nu = 5 ~ 350 sd, 5 s for an
 * ode run). */
double cl_cf_range(const cl_law *law, const double *tq, int K, const double *R, double cp, double E,
                   double *sd) {
  double vB = 0, vU = cp * cp, lap = 0, bern = 0, stu = 0, exact = 0;
  for (int j = 0; j < K; j++) {
    const cl_law *l = &law[j];
    double r = fabs(R[j]), mx = law_max(l), v = l->m2 * R[j] * R[j];
    if (mx > 0) {
      vB += v, exact += r * mx;
      if (l->kind == CL_LAW_SPARSE || l->kind == CL_LAW_DISCRETE) bern = fmax(bern, r * mx);
    } else {
      vU += v;
      if (l->kind == CL_LAW_LAPLACE) lap = fmax(lap, r * sqrt(0.5 * l->m2));
      if (l->kind == CL_LAW_STUDENT) stu = fmax(stu, r * tq[j]);
    }
  }
  double LB = fmin(exact, sqrt(2 * E * vB) + (2.0 / 3) * E * bern);
  double LU = sqrt(2 * E * vU) + E * lap + stu;
  if (sd) *sd = sqrt(vB + vU);
  return LB + LU;
}

static double x_range(const cl_cf *cf, const double *R, double cp, double E, double *sd) {
  double r[CL_KMAX] = {0};
  for (int j = 0; j < cf->K; j++) r[j] = cf->use[j] ? R[j] : 0;
  return cl_cf_range(cf->law, cf->tq, cf->K, r, cp, E, sd);
}

/* F on the x nodes: Fg = E_v(G1 + G2), Fu = E_v G1 (= E_v G2: swapping the
 * views flips v), Tv = E_v(G1 z-) (= -E_v(G2 z-)), P = E_v(G1 h1 + G2 h2),
 * V = E_v(c1 (G1^2 + G2^2) + c2 G1 G2). */
static void f_nodes(cl_cf *cf, int nx, double cm) {
  const double c1 = 1 + cf->s2, c2 = 2 * (1 + cf->rho * cf->s2);
  double *Fg = cf->F, *Fu = Fg + nx, *Tv = Fu + nx, *P = Tv + nx, *V = P + nx;
  if (cf->act == CL_ACT_RELU) {
    /* closed form: G1, G2 vanish unless |v| < x, where G1 = x - v,
     * G2 = x + v; pin = P(|v| < x), ev2 = E[v^2; |v| < x] */
    for (int i = 0; i < nx; i++) {
      double x = cf->x[i], pin = 0, ev2 = 0;
      if (x > 0) {
        if (cm > 0) {
          double t = x / cm;
          pin = erf(t * M_SQRT1_2);
          ev2 = cm * cm * (pin - 2 * t * exp(-0.5 * t * t) / sqrt(2 * M_PI));
        } else pin = 1;
      }
      double x2p = x * x * pin;
      Fg[i] = 2 * x * pin, Fu[i] = x * pin, Tv[i] = cm > 0 ? -ev2 / cm : 0;
      P[i] = 2 * (x2p - ev2);
      V[i] = 2 * c1 * (x2p + ev2) + c2 * (x2p - ev2);
    }
    return;
  }
  /* v nodes >= 0 with the mirror (the node at 0 is its own mirror) */
  enum { CH = 256 };
  double h1[CH], h2[CH], f1[CH], g1[CH], f2[CH], g2[CH], zz[CH], ww[CH];
  const cl_rule *vr = cf->vcur;
  const int jv0 = cf->jvc, nv = cm > 0 ? vr->n - jv0 : 1;
  for (int i = 0; i < nx; i++) Fg[i] = Fu[i] = Tv[i] = P[i] = V[i] = 0;
  /* flat list of (i, v) pairs, chunked */
  long tot = (long)nx * nv;
  for (long p0 = 0; p0 < tot; p0 += CH) {
    int n = tot - p0 < CH ? (int)(tot - p0) : CH;
    for (int k = 0; k < n; k++) {
      long p = p0 + k;
      int i = (int)(p / nv), jv = (int)(p % nv);
      double z = cm > 0 ? vr->x[jv0 + jv] : 0, w = cm > 0 ? vr->w[jv0 + jv] : 1;
      if (z == 0) w *= 0.5;
      zz[k] = z, ww[k] = w;
      h1[k] = cf->x[i] + cm * z, h2[k] = cf->x[i] - cm * z;
    }
    cl_act_eval_vec(cf->act, h1, f1, g1, n);
    cl_act_eval_vec(cf->act, h2, f2, g2, n);
    for (int k = 0; k < n; k++) {
      int i = (int)((p0 + k) / nv);
      double G1 = g1[k] * f2[k], G2 = f1[k] * g2[k], w = ww[k];
      Fg[i] += 2 * w * (G1 + G2);
      Fu[i] += w * (G1 + G2);
      Tv[i] += w * (G1 - G2) * zz[k];
      P[i] += 2 * w * (G1 * h1[k] + G2 * h2[k]);
      V[i] += 2 * w * (c1 * (G1 * G1 + G2 * G2) + c2 * G1 * G2);
    }
  }
}

/* The trapezoid along v: h moves by cm z, so sigma's poles are at
 * |Im z| = d = vpole / cm.  The n_v-point rule is designed for d = 1.5
 * (cl_rule_normal_trap), error exponent E = 2 pi 1.5 / h_n - 1.5^2 / 2;
 * where d < 1.5 the step is shortened on the same range so that
 * 2 pi d / h - d^2 / 2 stays at E (as the tensor path does, docs/kinks.md).
 * Without it erf with cm = 2.4 (sd 4.7) was 2.7e-6 off in dQ (docs/kinks.md,
 * "Continuous laws").  Rounded up to a multiple of 4 points, at most CF_VMAX. */
#define CF_VMAX 4000
static cl_status v_rule(cl_cf *cf, double cm, char *err) {
  cf->vcur = &cf->vr, cf->jvc = cf->jv0;
  if (!(cf->vpole > 0) || !(cm > 0) || cf->vr.n < 3) return CL_OK;
  const double dk = cf->vpole / cm, Lv = -cf->vr.x[0], hn = cf->vr.x[1] - cf->vr.x[0];
  if (!(dk < 1.5)) return CL_OK;
  const double E = 2 * M_PI * 1.5 / hn - 1.125, h = 2 * M_PI * dk / (E + 0.5 * dk * dk);
  double need = 4 * ceil((ceil(2 * Lv / h) + 1) / 4);
  int n = need > CF_VMAX ? CF_VMAX : (int)need;
  if (n <= cf->vr.n) return CL_OK;
  if (cf->vr2.n != n) {
    cl_rule_free(&cf->vr2);
    cl_status st = cl_rule_normal_trap_range(n, Lv, &cf->vr2, err);
    if (st) return st;
    for (cf->jv2 = 0; cf->jv2 < n && cf->vr2.x[cf->jv2] < 0; cf->jv2++) {}
  }
  cf->vcur = &cf->vr2, cf->jvc = cf->jv2;
  return CL_OK;
}

/* The x step of the trapezoid for an integrand growing like e^(gam y^2) off
 * the real axis and analytic in |Im x| < yp: error ~ e^(-(2 pi y / h -
 * gam y^2)) maximised over y <= yp must reach e^-CF_EX. */
static double x_step(double gam, double yp) {
  const double E = CF_EX;
  if (!(yp < INFINITY) || sqrt(E / gam) <= yp) return M_PI / sqrt(gam * E);
  return 2 * M_PI * yp / (E + gam * yp * yp);
}

cl_status cl_cf_eval(cl_cf *cf, const double *R, double cp, double cm, double acc[7], double *aR,
                     char *err) {
  const int K = cf->K;
  if (!(cp > 0))
    return cl_fail(err, CL_EINVAL, "ode: the characteristic-function method needs Gaussian smoothing "
                                   "along (1, 1) (Q - |R|^2 + s^2 Q (1 + rho) / 2 > 0)");
  /* (a polynomial sigma would ask for a longer range, its F grows like
   * |x|^deg, but the rounding of f_X, ~1e-17, is then amplified by L^(deg+1):
   * measured, the plain range is the better one for cubic) */
  double sd, L = x_range(cf, R, cp, CF_ET, &sd);
  (void)sd;
  /* x rule */
  double gam = 0.5 / (cp * cp), yp = INFINITY;
  switch (cf->act) {
  case CL_ACT_TANH: yp = 0.5 * M_PI; break;
  case CL_ACT_SIGMOID: yp = M_PI; break;
  case CL_ACT_ERF: gam += 2; break; /* sigma' sigma grows like e^(y^2), V like e^(2 y^2) */
  case CL_ACT_RELU: if (cm > 0) gam += 0.5 / (cm * cm); break;
  default: break;
  }
  double hx = x_step(gam, yp);
  int nx, relu = cf->act == CL_ACT_RELU, npan = 0;
  if (relu) {
    /* panels of about 6 trapezoid steps: 16 Gauss-Legendre points each */
    npan = (int)ceil(L / (CF_PANEL * hx));
    nx = npan * CF_GL;
  } else
    nx = 2 * (int)ceil(L / hx) + 1;
  /* w rule: the Gaussian factor is e^-CF_EW at W; step 2 pi / P, P = 2.5 L */
  double W = sqrt(2 * CF_EW) / cp, P = CF_PER * L, dw = 2 * M_PI / P;
  int nw = (int)ceil(W / dw) + 1;
  if ((double)nx * nw > CF_MAXWORK || nx > 1000000 || nw > 1000000)
    return cl_fail(err, CL_EINVAL,
                   "ode: the characteristic-function grids are too large (%d x-points, %d "
                   "w-points: the Gaussian smoothing cp = %.3g is small against the range %.3g)",
                   nx, nw, cp, L);
  if (!grow(cf, nx, nw)) return cl_fail(err, CL_ENOMEM, "ode: out of memory");
  if (relu) {
    double pw = L / npan;
    for (int p = 0; p < npan; p++)
      for (int q = 0; q < CF_GL; q++) {
        cf->x[p * CF_GL + q] = pw * (p + 0.5 + 0.5 * cf->glx[q]);
        cf->h[p * CF_GL + q] = 0.5 * pw * cf->glw[q];
      }
  } else {
    int half = (nx - 1) / 2;
    for (int i = 0; i < nx; i++) cf->x[i] = (i - half) * hx, cf->h[i] = hx;
  }
  cl_status vst = v_rule(cf, cm, err);
  if (vst) return vst;
  f_nodes(cf, nx, cm);
  /* characteristic functions on w_k = k dw */
  const size_t n = (size_t)nw;
  double *pr = cf->pre_r, *pi = cf->pre_i;
  for (int k = 0; k < nw; k++) pr[k] = 1, pi[k] = 0;
  int nu = 0;
  for (int j = 0; j < K; j++) {
    if (!cf->use[j]) continue;
    double *a = cf->phr + nu * n, *b = cf->phi + nu * n, *c = cf->chr + nu * n, *d = cf->chi + nu * n;
    for (int k = 0; k < nw; k++) cl_cf_law(&cf->law[j], R[j] * k * dw, a + k, b + k, c + k, d + k);
    const double *qr = pr + nu * n, *qi = pi + nu * n;
    double *sr = pr + (nu + 1) * n, *si = pi + (nu + 1) * n;
    for (int k = 0; k < nw; k++) sr[k] = qr[k] * a[k] - qi[k] * b[k], si[k] = qr[k] * b[k] + qi[k] * a[k];
    nu++;
  }
  for (int k = 0; k < nw; k++) {
    double w = k * dw, g = exp(-0.5 * cp * cp * w * w) * (k ? dw : 0.5 * dw) / M_PI;
    cf->Pr[k] = pr[nu * n + k] * g, cf->Pi[k] = pi[nu * n + k] * g;
  }
  /* f, f' on the x nodes and Ghat on the w nodes; e_i = e^{-i w_k x_i} by
   * recurrence over k (vectorised over i) */
  double *fx = cf->fx, *fp = cf->fp, *Fg = cf->F;
  double *cr = cf->er, *ci = cf->ei, *sr = cf->sr, *si = cf->si;
  for (int i = 0; i < nx; i++) {
    fx[i] = fp[i] = 0;
    cr[i] = 1, ci[i] = 0;
    sr[i] = cos(dw * cf->x[i]), si[i] = -sin(dw * cf->x[i]);
  }
  for (int k = 0; k < nw; k++) {
    const double a = cf->Pr[k], b = cf->Pi[k], w = k * dw, wa = w * a, wb = w * b;
    double gr = 0, gi = 0;
#pragma omp simd reduction(+ : gr, gi)
    for (int i = 0; i < nx; i++) {
      double c = cr[i], s = ci[i], hF = cf->h[i] * Fg[i];
      fx[i] += c * a - s * b;
      fp[i] += c * wb + s * wa;
      gr += hF * c, gi += hF * s;
      cr[i] = c * sr[i] - s * si[i], ci[i] = c * si[i] + s * sr[i];
    }
    cf->Gr[k] = gr, cf->Gi[k] = gi;
  }
  const double *Fu = Fg + nx, *Tv = Fu + nx, *Pp = Tv + nx, *Vv = Pp + nx;
  double G = 0, Tu = 0, Tz = 0, Ps = 0, Vs = 0;
  for (int i = 0; i < nx; i++) {
    double hf = cf->h[i] * fx[i];
    G += hf * Fg[i], Tz += hf * Tv[i], Ps += hf * Pp[i], Vs += hf * Vv[i];
    Tu += cf->h[i] * fp[i] * Fu[i];
  }
  Tu *= -cp;
  acc[0] = G, acc[1] = Tu, acc[2] = Tz, acc[3] = Tu, acc[4] = -Tz, acc[5] = Ps, acc[6] = Vs;
  /* tilted: Psi_j = prefix_j * chi_j * suffix_j * Gaussian, with the
   * suffix product running backwards in Phi's place (no longer needed) */
  const double *ur = cf->Gr, *ui = cf->Gi; /* Ghat */
  double *xr = cf->Pr, *xi = cf->Pi;
  for (int k = 0; k < nw; k++) {
    double w = k * dw;
    xr[k] = exp(-0.5 * cp * cp * w * w) * (k ? dw : 0.5 * dw) / M_PI, xi[k] = 0;
  }
  int q = nu;
  for (int j = K - 1; j >= 0; j--) {
    if (!cf->use[j]) {
      aR[j] = 0;
      continue;
    }
    q--;
    const double *a = cf->phr + q * n, *b = cf->phi + q * n, *c = cf->chr + q * n, *d = cf->chi + q * n;
    const double *qr = pr + q * n, *qi = pi + q * n;
    double s = 0;
    for (int k = 0; k < nw; k++) {
      /* t = prefix * suffix * chi */
      double tr = qr[k] * xr[k] - qi[k] * xi[k], ti = qr[k] * xi[k] + qi[k] * xr[k];
      double yr = tr * c[k] - ti * d[k], yi = tr * d[k] + ti * c[k];
      s += yr * ur[k] - yi * ui[k];
      double nr = xr[k] * a[k] - xi[k] * b[k], ni = xr[k] * b[k] + xi[k] * a[k];
      xr[k] = nr, xi[k] = ni;
    }
    aR[j] = s;
  }
  cf->last_nx = nx, cf->last_nw = nw, cf->last_L = L;
  return CL_OK;
}
