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
#include "act_pole.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sf_bessel.h>
#include <gsl/gsl_sf_gamma.h>
#include <float.h>
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
#ifndef CF_STQR
#define CF_STQR 3e-10 /* the same for relu, whose tail is exact (relu_tail) */
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
  int poly; /* linear or cubic: exact moments (eval_poly) */
  int student; /* a student law is used */
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
  double ew, ex, et; /* the error exponents CF_EW, CF_EX, CF_ET (scaled on the other levels: cl_cf_scale_exponents) */
};

static double tail_q(const cl_law *law, double mass);

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
  if (!cf) return cl_fail(err, CL_ENOMEM, "out of memory");
  cf->K = m->K;
  cf->act = m->act;
  cf->s2 = m->s * m->s, cf->rho = m->rho;
  for (int j = 0; j < m->K; j++) {
    cf->law[j] = m->c[j];
    cf->use[j] = !(skip && skip[j]);
    cf->nu_ += cf->use[j];
    cf->tq[j] = cl_cf_tail_q(&m->c[j]);
    cf->student |= cf->use[j] && m->c[j].kind == CL_LAW_STUDENT;
  }
  cf->poly = cl_act_polynomial(m->act);
  cf->ew = CF_EW, cf->ex = CF_EX, cf->et = CF_ET;

  cl_status st = cl_rule_normal_trap(n_v, &cf->vr, err);
  if (st) return cl_cf_free(cf), st;
  while (cf->jv0 < cf->vr.n && cf->vr.x[cf->jv0] < 0) cf->jv0++;
  cf->vpole = cl_act_pole(m->act);
  if ((st = cl_rule_legendre(CF_GL, -1, 1, cf->glx, cf->glw, err))) return cl_cf_free(cf), st;
  *out = cf;
  return CL_OK;
}

int cl_cf_exact(const cl_cf *cf) { return cf->poly; }

void cl_cf_scale_exponents(cl_cf *cf, const double f[3]) { cf->ew *= f[0], cf->ex *= f[1], cf->et *= f[2]; }

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

static double tail_q(const cl_law *law, double mass) {
  if (law->kind != CL_LAW_STUDENT) return 0;
  return sqrt(law->m2 * (law->nu - 2) / law->nu) * gsl_cdf_tdist_Qinv(mass, law->nu);
}

double cl_cf_tail_q(const cl_law *law) { return tail_q(law, CF_STQ); }

/* f_mu(z) = C z^mu K_mu(z), C = 1 / (Gamma(mu) 2^(mu-1)), by its series
 * sum_k (-1)^k Gamma(mu-k) / Gamma(mu) (z/2)^(2k) / k! (the I_(-mu) part of
 * K_mu) where it converges fast (terms falling by 1/4 or faster) and the
 * I_mu part and the terms from k = mu on, of relative order (C z^mu)^2,
 * are negligible: ln(C z^mu) < -40 and (z/2)^2 / (mu - 1) <= 1/4.  There
 * the product of GSL's e^-z z^mu and K_mu(z) underflows and overflows (a
 * NaN drift from nu ~ 60 with relu at M = 1; the M = 2 grid's drift not
 * finite or stalled from nu = 36), a subnormal e^-z z^mu has lost digits,
 * and the logarithmic form exp(ln C z^mu + ln K_mu) cancels two numbers
 * near 700 in the exponent: GSL's ln K_100(0.056) is 3.2e-11 off, phi as
 * much; the series is within 1.1e-13 of mpmath (docs/grid.md s.6).
 * Returns 0 where the series does not apply. */
static int student_series(double mu, double z, double *f) {
  const double q = 0.25 * z * z;
  if (!(mu > 1) || q > 0.25 * (mu - 1) || -gsl_sf_lngamma(mu) - (mu - 1) * M_LN2 + mu * log(z) > -40) return 0;
  double term = 1, sum = 1;
  for (int j = 1; j < mu - 1 && fabs(term) > 1e-18 * sum; j++) {
    term *= -q / (j * (mu - j)); /* Gamma(mu - j) = Gamma(mu - j + 1) / (mu - j) */
    sum += term;
  }
  *f = sum;
  return 1;
}

/* phi(t) = E[e^{itc}] and chi(t) = E[c e^{itc}] = -i phi'(t) of one law. */
void cl_cf_law(const cl_law *law, double t, double *pr, double *pi, double *cr, double *ci) {
  const double m2 = law->m2, sd = sqrt(m2);
  *pr = 1, *pi = 0, *cr = 0, *ci = 0;
  switch (law->kind) {
  case CL_LAW_GAUSS: cl_cf_gauss(m2, t, pr, ci); return;
  case CL_LAW_RADEMACHER: cl_cf_rademacher(sd, cos(sd * t), sin(sd * t), pr, ci); return;
  case CL_LAW_UNIFORM: {
    const double a = sqrt(3.0) * sd, x = a * t;
    if (fabs(x) < 1e-2) cl_cf_uniform(a, t, 1, 0, pr, ci); /* the series: no sine needed */
    else cl_cf_uniform(a, t, cos(x), sin(x), pr, ci);
    return;
  }
  case CL_LAW_LAPLACE: cl_cf_laplace(m2, t, pr, ci); return;
  case CL_LAW_SPARSE: {
    const double a = sd / sqrt(law->p);
    cl_cf_sparse(law->p, a, cos(a * t), sin(a * t), pr, ci);
    return;
  }
  case CL_LAW_STUDENT: {
    /* c = k T, T ~ t_nu: phi = C z^mu K_mu(z), z = sqrt(nu) k |t|, mu = nu/2,
     * C = 1 / (Gamma(mu) 2^(mu-1)); d/dz z^mu K_mu = -z^mu K_(mu-1), and
     * C_mu = C_(mu-1) / (2 (mu - 1)): chi = sqrt(nu) k z / (2 (mu - 1)) f_(mu-1) */
    const double nu = law->nu, mu = 0.5 * nu, k = sd * sqrt((nu - 2) / nu), sg = t > 0 ? 1 : -1;
    double z = sqrt(nu) * k * fabs(t), f0, f1;
    if (z == 0) return;
    if (student_series(mu, z, &f0) && student_series(mu - 1, z, &f1)) {
      *pr = f0, *ci = sg * sqrt(nu) * k * z / (2 * (mu - 1)) * f1;
      return;
    }
    /* e^z K_nu(z) (GSL's scaled form) and one exponential for both */
    const double lc = -gsl_sf_lngamma(mu) - (mu - 1) * M_LN2 + mu * log(z);
    double e = exp(lc - z);
    *pr = e * gsl_sf_bessel_Knu_scaled(mu, z);
    *ci = sg * sqrt(nu) * k * e * gsl_sf_bessel_Knu_scaled(mu - 1, z);
    /* where e underflows while K_mu(z) ~ Gamma(mu) 2^(mu-1) z^-mu overflows
     * (large nu, small z, outside the series' range: nu above the law's
     * 200), the logarithms, ln K from GSL */
    if (!(isfinite(*pr) && isfinite(*ci) && e >= DBL_MIN)) {
      *pr = exp(lc + gsl_sf_bessel_lnKnu(mu, z));
      *ci = sg * sqrt(nu) * k * exp(lc + gsl_sf_bessel_lnKnu(mu - 1, z));
    }
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

int cl_cf_trig(const cl_law *law, double *f) {
  const double sd = sqrt(law->m2);
  switch (law->kind) {
  case CL_LAW_RADEMACHER: *f = sd; return 1;
  case CL_LAW_UNIFORM: *f = sqrt(3.0) * sd; return 1;
  case CL_LAW_SPARSE: *f = sd / sqrt(law->p); return 1;
  default: *f = 0; return 0;
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
  if (cf->act == CL_ACT_RELU && cf->student) {
    /* F minus its polynomial limit for x > 0 (relu_tail): with q = P(|v| > x)
     * and e = q + 2 t phi(t) = 1 - ev2 / cm^2, both decaying like
     * exp(-t^2 / 2), Fg = 2x - 2x q, Fu = x - x q, Tv = -cm + cm e,
     * P = 2 x^2 - 2 cm^2 + 2 (cm^2 e - x^2 q), V = (2 c1 + c2) x^2 +
     * (2 c1 - c2) cm^2 - 2 c1 (x^2 q + cm^2 e) + c2 (cm^2 e - x^2 q) */
    for (int i = 0; i < nx; i++) {
      double x = cf->x[i], q = 0, e = 0;
      if (cm > 0) {
        double t = x / cm;
        q = erfc(t * M_SQRT1_2);
        e = q + 2 * t * exp(-0.5 * t * t) / sqrt(2 * M_PI);
      }
      double xq = x * x * q, ce = cm * cm * e;
      Fg[i] = -2 * x * q, Fu[i] = -x * q, Tv[i] = cm * e;
      P[i] = 2 * (ce - xq);
      V[i] = -2 * c1 * (xq + ce) + c2 * (ce - xq);
    }
    return;
  }
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
static double x_step(double gam, double yp, double E) {
  if (!(yp < INFINITY) || sqrt(E / gam) <= yp) return M_PI / sqrt(gam * E);
  return 2 * M_PI * yp / (E + gam * yp * yp);
}

/* ---- polynomial sigma (linear, cubic): exact moments, every law ----
 * F(x) = E_v[...] is a polynomial in x (degree <= 10), so every term is a
 * combination of the moments E[X^n] and E[c_j X^n] of X = sum_j R_j c_j + u,
 * which follow from the laws' moments by binomial convolution.  The x-grid
 * rule this replaces followed F's growth |x|^10 only as far as the range,
 * and the rounding of f_X (~1e-17) was amplified by it: cubic was up to
 * 1.3e-6 relative off with a laplace law and 7.8e-8 with gauss or uniform
 * (against tests/kinkref.h; the stated tolerance is 1e-10), linear 1.5e-9
 * at s = 16 (growing like s^2), and with a
 * student law the range's cut of the tail left 1.5e-6 (student:2:10.5) and
 * 4.9e-3 (student:2:12) (docs/m1-many-features.md, "Polynomial sigma"). */
#define PD 11 /* polynomial degrees 0..10 */

/* E[c^k] of one law (infinite where the law lacks it) */
static double law_moment(const cl_law *l, int k) {
  const double m2 = l->m2, sd = sqrt(m2);
  if (k == 0) return 1;
  if (l->kind == CL_LAW_DISCRETE) {
    double s = 0;
    for (int i = 0; i < l->nvals; i++) s += l->probs[i] * pow(l->vals[i], k);
    return s;
  }
  if (k % 2) return 0; /* the other laws are symmetric */
  double df = 1;       /* (k - 1)!! */
  for (int i = k - 1; i > 1; i -= 2) df *= i;
  switch (l->kind) {
  case CL_LAW_GAUSS: return pow(m2, 0.5 * k) * df;
  case CL_LAW_RADEMACHER: return pow(sd, k);
  case CL_LAW_UNIFORM: return pow(sqrt(3.0) * sd, k) / (k + 1);
  case CL_LAW_LAPLACE: return exp(gsl_sf_lngamma(k + 1.0)) * pow(sqrt(0.5 * m2), k);
  case CL_LAW_SPARSE: return l->p * pow(sd / sqrt(l->p), k);
  case CL_LAW_STUDENT: {
    /* c = a T, E T^k = nu^(k/2) Gamma((k+1)/2) Gamma((nu-k)/2) / (sqrt(pi) Gamma(nu/2)) */
    const double nu = l->nu, a2 = m2 * (nu - 2) / nu;
    if (!(k < nu)) return INFINITY;
    return pow(a2 * nu, 0.5 * k) * exp(gsl_sf_lngamma(0.5 * (k + 1)) + gsl_sf_lngamma(0.5 * (nu - k)) -
                                       0.5 * log(M_PI) - gsl_sf_lngamma(0.5 * nu));
  }
  default: return NAN;
  }
}

/* polynomials in (x, v): p[i][j] is the coefficient of x^i v^j, i + j < PD */
typedef double bpoly[PD][PD];

static void bp_mul(const bpoly a, const bpoly b, bpoly c) {
  bpoly t = {{0}};
  for (int i = 0; i < PD; i++)
    for (int j = 0; i + j < PD; j++)
      if (a[i][j] != 0)
        for (int k = 0; i + k < PD; k++)
          for (int l = 0; i + j + k + l < PD; l++) t[i + k][j + l] += a[i][j] * b[k][l];
  memcpy(c, t, sizeof t);
}

static void bp_axpy(double a, const bpoly x, bpoly y) {
  for (int i = 0; i < PD; i++)
    for (int j = 0; j < PD; j++) y[i][j] += a * x[i][j];
}

/* E_v over v ~ N(0, cm^2) (after d/dv if dv): a polynomial in x */
static void bp_ev(const bpoly a, double cm, int dv, double *out) {
  double m[PD] = {1}; /* E v^j */
  for (int j = 2; j < PD; j += 2) m[j] = m[j - 2] * (j - 1) * cm * cm;
  for (int i = 0; i < PD; i++) {
    out[i] = 0;
    for (int j = dv; i + j < PD; j++) out[i] += (dv ? j : 1) * a[i][j] * m[j - dv];
  }
}

/* moments of A + B from those of independent A and B (orders < n) */
static void mom_conv(const double *a, const double *b, int n, double *c) {
  double t[PD];
  for (int k = 0; k < n; k++) {
    double s = 0, bin = 1; /* C(k, i) */
    for (int i = 0; i <= k; i++) {
      s += bin * a[i] * b[k - i];
      bin = bin * (k - i) / (i + 1);
    }
    t[k] = s;
  }
  memcpy(c, t, sizeof(double) * (size_t)n);
}

static void eval_poly(const cl_cf *cf, const double *R, double cp, double cm, double acc[7], double *aR) {
  const int K = cf->K, cubic = cf->act == CL_ACT_CUBIC;
  const double c1 = 1 + cf->s2, c2 = 2 * (1 + cf->rho * cf->s2);
  /* G1 = sigma'(h1) sigma(h2), G2 = sigma(h1) sigma'(h2), h1 = x + v, h2 = x - v */
  bpoly h1 = {{0}}, h2 = {{0}}, s1, s2, d1, d2, G1, G2, t;
  h1[1][0] = h2[1][0] = 1, h1[0][1] = 1, h2[0][1] = -1;
  if (cubic) {
    bp_mul(h1, h1, d1), bp_mul(h2, h2, d2);
    bp_mul(d1, h1, s1), bp_mul(d2, h2, s2);
    for (int i = 0; i < PD; i++)
      for (int j = 0; j < PD; j++) d1[i][j] *= 3, d2[i][j] *= 3;
  } else {
    memcpy(s1, h1, sizeof(bpoly)), memcpy(s2, h2, sizeof(bpoly));
    memset(d1, 0, sizeof(bpoly)), memset(d2, 0, sizeof(bpoly));
    d1[0][0] = d2[0][0] = 1;
  }
  bp_mul(d1, s2, G1), bp_mul(s1, d2, G2);
  double Fg[PD], Fu[PD], Tv[PD], P[PD], V[PD];
  memcpy(t, G1, sizeof t), bp_axpy(1, G2, t), bp_ev(t, cm, 0, Fg);
  bp_ev(G1, cm, 0, Fu);
  bp_ev(G1, cm, 1, Tv); /* E[G1 z-] = cm E[dG1/dv] (Stein) */
  for (int i = 0; i < PD; i++) Tv[i] *= cm;
  bpoly a, b;
  bp_mul(G1, h1, a), bp_mul(G2, h2, b), bp_axpy(1, b, a), bp_ev(a, cm, 0, P);
  bp_mul(G1, G1, a), bp_mul(G2, G2, b), bp_axpy(1, b, a);
  for (int i = 0; i < PD; i++)
    for (int j = 0; j < PD; j++) a[i][j] *= c1;
  bp_mul(G1, G2, b), bp_axpy(c2, b, a), bp_ev(a, cm, 0, V);
  /* moments of X: prefix products from u ~ N(0, cp^2), suffix from 0 */
  double pre[CL_KMAX + 1][PD], suf[CL_KMAX + 1][PD], lm[CL_KMAX][PD];
  pre[0][0] = 1;
  for (int k = 1; k < PD; k++) pre[0][k] = k % 2 ? 0 : pre[0][k - 2] * (k - 1) * cp * cp;
  for (int j = 0; j < K; j++) {
    for (int k = 0; k < PD; k++)
      lm[j][k] = cf->use[j] ? law_moment(&cf->law[j], k) * pow(R[j], k) : (k == 0);
    mom_conv(pre[j], lm[j], PD, pre[j + 1]);
  }
  for (int k = 0; k < PD; k++) suf[K][k] = k == 0;
  for (int j = K - 1; j >= 0; j--) mom_conv(suf[j + 1], lm[j], PD, suf[j]);
  const double *mu = pre[K];
  double G = 0, Tu = 0, Tz = 0, Ps = 0, Vs = 0;
  /* (terms with a zero coefficient skipped: linear with a student law of
   * small nu has infinite high moments, which it does not need) */
#define ADD(S, c, m) ((c) != 0 ? (S) += (c) * (m) : 0)
  for (int n = 0; n < PD; n++) {
    ADD(G, Fg[n], mu[n]), ADD(Tz, Tv[n], mu[n]), ADD(Ps, P[n], mu[n]), ADD(Vs, V[n], mu[n]);
    if (n) ADD(Tu, n * Fu[n], mu[n - 1]); /* E[G1 z+] = cp E[Fu'(X)] (Stein along u) */
  }
#undef ADD
  Tu *= cp;
  acc[0] = G, acc[1] = Tu, acc[2] = Tz, acc[3] = Tu, acc[4] = -Tz, acc[5] = Ps, acc[6] = Vs;
  /* E[c_j X^n] = sum_k C(n, k) R_j^k E[c_j^(k+1)] E[Y_j^(n-k)], Y_j = X - R_j c_j */
  for (int j = 0; j < K; j++) {
    aR[j] = 0;
    if (!cf->use[j]) continue;
    double y[PD], cj[PD];
    mom_conv(pre[j], suf[j + 1], PD, y);
    for (int k = 0; k + 1 < PD; k++) cj[k] = law_moment(&cf->law[j], k + 1) * pow(R[j], k);
    cj[PD - 1] = 0; /* Fg has degree <= 5 */
    double s = 0;
    for (int n = 0; n < PD; n++) {
      if (Fg[n] == 0) continue;
      double e = 0, bin = 1;
      for (int k = 0; k <= n; k++) {
        e += bin * cj[k] * y[n - k];
        bin = bin * (n - k) / (k + 1);
      }
      s += Fg[n] * e;
    }
    aR[j] = s;
  }
}

/* ---- relu with a student law: the polynomial part exactly ----
 * For x > 0 relu's F is a polynomial of degree <= 2 plus a remainder that
 * decays like exp(-x^2 / (2 cm^2)) (f_nodes); the x-range cuts the student
 * tail, against which the x^2 part leaves O(L^(2 - nu)) (1.5e-3 at
 * nu = 4.2: docs/kinks.md, "Continuous laws").  The polynomial part needs
 * M_n = E[(X^+)^n], n = 0, 1, 2, and A_j = E[c_j X^+], exactly:
 *   |x|        = (2/pi) int_0^inf (1 - cos wx) / w^2 dw,
 *   x^2 sgn x  = (4/pi) int_0^inf (wx - sin wx) / w^3 dw,
 *   1{x > 0}   = 1/2 + (1/pi) int_0^inf sin(wx) / w dw,
 * so with E X = 0 (every law is centred) and Phi, Psi_j the transforms of
 * X and of E[c_j; X in dx],
 *   M0 = 1/2 + (1/pi) int Im Phi / w,   M1 = E|X| / 2 = (1/pi) int (1 - Re Phi) / w^2,
 *   M2 = (E X^2 - (4/pi) int Im Phi / w^3) / 2,
 *   A_j = (R_j m2_j - (2/pi) int Re Psi_j / w^2) / 2.
 * The w-integrands are analytic for w > 0; the tail of X sits in their
 * behaviour at w -> 0 (|w|^(nu - 2) for a student law), which Gauss-Legendre
 * panels graded geometrically towards 0 resolve, down to wlo = 1e-4 / sd(X);
 * below, the integrands are replaced by their limits (E X^2 / 2, E X^3 / 6,
 * E[c_j X^2] / 2), which moves the integrals by O(wlo^3 E X^4) (or
 * wlo^(nu - 1)): ~1e-12 sd(X) and less.  Above, uniform panels 4 pi / L0 wide
 * (L0: the range of X without the student quantile, so the oscillations of
 * the bounded laws are resolved) up to W, where the Gaussian factor is e^-40,
 * or where a bound on |Phi| and |Psi_j| falls below it; beyond,
 * (1 - Re Phi) / w^2 is 1 / w^2. */
static void relu_tail(const cl_cf *cf, const double *R, double cp, double M[3], double *A) {
  const int K = cf->K, G = CF_GL;
  double r0[CL_KMAX] = {0}, tq0[CL_KMAX] = {0}, sd;
  for (int j = 0; j < K; j++) r0[j] = cf->use[j] ? R[j] : 0;
  const double L0 = cl_cf_range(cf->law, tq0, K, r0, cp, cf->et, &sd);
  double m2 = cp * cp, m3 = 0, c3[CL_KMAX] = {0};
  for (int j = 0; j < K; j++)
    if (cf->use[j]) {
      m2 += R[j] * R[j] * cf->law[j].m2;
      c3[j] = law_moment(&cf->law[j], 3);
      m3 += R[j] * R[j] * R[j] * c3[j];
    }
  /* |Phi|, |Psi_j| / C <= Bs = exp(-cp^2 w^2 / 2) prod_student phi_j(R_j w),
   * which decreases (z^mu K_mu(z) does; |phi| <= 1 for the others; chi_j
   * <= sqrt(nu) a_j phi_j for a student, E|c_j| <= sqrt(m2_j) otherwise):
   * the integrals stop after the panel where C Bs < e^-CF_EW */
  double C = 1;
  for (int j = 0; j < K; j++)
    if (cf->use[j]) {
      const cl_law *l = &cf->law[j];
      C = fmax(C, l->kind == CL_LAW_STUDENT ? sqrt(l->m2 * (l->nu - 2)) : sqrt(l->m2));
    }
  const double W = sqrt(2 * cf->ew) / cp, dlt = 4 * M_PI / L0, w0 = fmin(dlt, W);
  const int ng = (int)fmax(0, ceil(log2(w0 * sqrt(m2) / 1e-4)));
  const double wlo = ldexp(w0, -ng);
  const int nu_ = (int)ceil((W - w0) / dlt);
  const double du = nu_ > 0 ? (W - w0) / nu_ : 0;
  double Iabs = 0, I1 = 0, I3 = 0, J[CL_KMAX] = {0}, wend = W;
  for (int p = 0; p < ng + nu_; p++) {
    double Bs = 1;
    double a = p < ng ? ldexp(w0, -(p + 1)) : w0 + (p - ng) * du, b = p < ng ? 2 * a : a + du;
    for (int q = 0; q < G; q++) {
      double w = 0.5 * (a + b) + 0.5 * (b - a) * cf->glx[q], h = 0.5 * (b - a) * cf->glw[q];
      double fr[CL_KMAX], fi[CL_KMAX], cr[CL_KMAX], ci[CL_KMAX], pr[CL_KMAX + 1], pi[CL_KMAX + 1];
      pr[0] = Bs = exp(-0.5 * cp * cp * w * w), pi[0] = 0;
      for (int j = 0; j < K; j++) {
        if (cf->use[j]) cl_cf_law(&cf->law[j], R[j] * w, &fr[j], &fi[j], &cr[j], &ci[j]);
        else fr[j] = 1, fi[j] = cr[j] = ci[j] = 0;
        if (cf->use[j] && cf->law[j].kind == CL_LAW_STUDENT) Bs *= fr[j];
        pr[j + 1] = pr[j] * fr[j] - pi[j] * fi[j], pi[j + 1] = pr[j] * fi[j] + pi[j] * fr[j];
      }
      const double w2 = w * w;
      Iabs += h * (1 - pr[K]) / w2, I1 += h * pi[K] / w, I3 -= h * pi[K] / (w2 * w);
      double sr = 1, si = 0; /* suffix product */
      for (int j = K - 1; j >= 0; j--) {
        if (cf->use[j]) {
          double tr = pr[j] * sr - pi[j] * si, ti = pr[j] * si + pi[j] * sr;
          J[j] -= h * (tr * cr[j] - ti * ci[j]) / w2;
        }
        double nr = sr * fr[j] - si * fi[j], ni = sr * fi[j] + si * fr[j];
        sr = nr, si = ni;
      }
    }
    if (p >= ng && C * Bs < exp(-cf->ew)) { /* Bs at the panel's last node */
      wend = b;
      break;
    }
  }
  Iabs += wlo * 0.5 * m2 + 1 / wend, I3 += wlo * m3 / 6;
  M[0] = 0.5 + I1 / M_PI, M[1] = Iabs / M_PI, M[2] = 0.5 * (m2 + 4 / M_PI * I3);
  for (int j = 0; j < K; j++)
    A[j] = cf->use[j] ? 0.5 * (R[j] * cf->law[j].m2 + 2 / M_PI * (J[j] + wlo * 0.5 * R[j] * R[j] * c3[j])) : 0;
}

/* The grids of one evaluation for the error exponents (ew, ex, et): the
 * range L of X, the x step hx over [0, Lx] (relu) or [-Lx, Lx], nx
 * x-points (npan relu panels), the w step dw and nw w-points. */
typedef struct {
  double L, hx, Lx, dw;
  int nx, nw, npan, rtail;
} cf_grid;

static void cf_grid_dims(const cl_cf *cf, const double *R, double cp, double cm, double ew, double ex, double et,
                         cf_grid *g) {
  double sd, L = x_range(cf, R, cp, et, &sd);
  (void)sd;
  const int K = cf->K;
  const int rtail = cf->act == CL_ACT_RELU && cf->student;
  if (rtail) {
    /* relu_tail: the polynomial part of F is exact, and the range need only
     * keep the images of f_X (at 2.5 L: the w-trapezoid periodises it) off
     * the remainder, which decays like exp(-x^2 / (2 cm^2)): the range of X
     * at the student tail mass CF_STQR, times var(X) / cm^2 where that is
     * below 1 (the images' error grew like cm^2 against the terms), plus the
     * remainder's own range.  Measured against tests/kinkref.h,
     * student:1:4.01, Q = 10, cos = 0.16: with the larger of the two ranges
     * and the mass 1e-9, 1.8e-10 (s = 2, rho = -0.9, cm = 6.2); with the sum,
     * 3.2e-11 there and 6.2e-11 at s = 4, rho = -0.99 (cm = 12.6); now 6.3e-12,
     * 6.0e-12, and 6.9e-12 at s = 8, rho = -0.999. */
    double tq[CL_KMAX] = {0}, r[CL_KMAX] = {0}, v = cp * cp;
    for (int j = 0; j < K; j++)
      if (cf->use[j]) v += R[j] * R[j] * cf->law[j].m2;
    const double mass = CF_STQR * fmin(1, (1 + v) / (cm * cm));
    for (int j = 0; j < K; j++)
      if (cf->use[j]) r[j] = R[j], tq[j] = tail_q(&cf->law[j], mass);
    L = cl_cf_range(cf->law, tq, K, r, cp, et, NULL) + sqrt(2 * et) * cm;
  }
  /* x rule */
  double gam = 0.5 / (cp * cp), yp = INFINITY;
  switch (cf->act) {
  case CL_ACT_TANH: yp = 0.5 * M_PI; break;
  case CL_ACT_SIGMOID: yp = M_PI; break;
  case CL_ACT_ERF: gam += 2; break; /* sigma' sigma grows like e^(y^2), V like e^(2 y^2) */
  case CL_ACT_RELU: if (cm > 0) gam += 0.5 / (cm * cm); break;
  default: break;
  }
  double hx = x_step(gam, yp, ex);
  /* the x-nodes cover [0, Lx] (relu) or [-Lx, Lx]; with relu_tail only the
   * remainder of F, negligible beyond sqrt(2 CF_ET) cm (none if cm = 0),
   * is integrated on them, while the period 2.5 L keeps the images off */
  const double Lx = rtail ? sqrt(2 * et) * cm : L;
  int nx, relu = cf->act == CL_ACT_RELU, npan = 0;
  if (relu) {
    /* panels of about 6 trapezoid steps: 16 Gauss-Legendre points each */
    npan = (int)ceil(Lx / (CF_PANEL * hx));
    if (npan < 1) npan = 1;
    nx = npan * CF_GL;
  } else
    nx = 2 * (int)ceil(L / hx) + 1;
  /* w rule: the Gaussian factor is e^-CF_EW at W; step 2 pi / P, P = 2.5 L */
  double W = sqrt(2 * ew) / cp, P = CF_PER * L, dw = 2 * M_PI / P;
  int nw = (int)ceil(W / dw) + 1;
  g->L = L, g->hx = hx, g->Lx = Lx, g->dw = dw, g->nx = nx, g->nw = nw, g->npan = npan, g->rtail = rtail;
}

static int cf_grid_too_large(const cf_grid *g) {
  return (double)g->nx * g->nw > CF_MAXWORK || g->nx > 1000000 || g->nw > 1000000;
}

cl_status cl_cf_eval(cl_cf *cf, const double *R, double cp, double cm, double acc[7], double *aR,
                     char *err) {
  const int K = cf->K;
  if (cf->poly) {
    eval_poly(cf, R, cp, cm, acc, aR);
    cf->last_nx = cf->last_nw = 0, cf->last_L = 0;
    return CL_OK;
  }
  if (!(cp > 0))
    return cl_fail(err, CL_EINVAL, "the characteristic-function method needs Gaussian smoothing "
                                   "along (1, 1) (Q - |R|^2 + s^2 Q (1 + rho) / 2 > 0)");
  /* The refusal is decided on the grids of the default exponents, also on
   * the other levels (cl_cf_scale_exponents), so that every level leaves
   * this method at the same states as the written one: the coarse level's
   * smaller grids took states the fine level refused, and its distance to
   * the fine level's fallback rule then equalled that rule's error, with no
   * margin (docs/m1-many-features.md s.7) */
  cf_grid g, gd;
  cf_grid_dims(cf, R, cp, cm, cf->ew, cf->ex, cf->et, &g);
  gd = g;
  if (cf->ew != CF_EW || cf->ex != CF_EX || cf->et != CF_ET) cf_grid_dims(cf, R, cp, cm, CF_EW, CF_EX, CF_ET, &gd);
  if (cf_grid_too_large(&gd) || cf_grid_too_large(&g)) {
    const cf_grid *r = cf_grid_too_large(&gd) ? &gd : &g;
    return cl_fail(err, CL_EINVAL,
                   "the characteristic-function grids are too large (%d x-points, %d "
                   "w-points: the Gaussian smoothing cp = %.3g is small against the range %.3g)",
                   r->nx, r->nw, cp, r->L);
  }
  const double L = g.L, hx = g.hx, Lx = g.Lx, dw = g.dw;
  const int nx = g.nx, nw = g.nw, npan = g.npan, rtail = g.rtail, relu = cf->act == CL_ACT_RELU;
  if (!grow(cf, nx, nw)) return cl_fail(err, CL_ENOMEM, "out of memory");
  if (relu) {
    double pw = (Lx > 0 ? Lx : hx) / npan;
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
  double M[3], At[CL_KMAX] = {0};
  if (rtail) {
    /* F = poly + remainder for x > 0: the remainder's sums above, the
     * polynomial's exact moments (relu_tail) */
    relu_tail(cf, R, cp, M, At);
    G += 2 * M[1], Tu += cp * M[0], Tz -= cm * M[0];
    Ps += 2 * M[2] - 2 * cm * cm * M[0];
    const double c1 = 1 + cf->s2, c2 = 2 * (1 + cf->rho * cf->s2);
    Vs += (2 * c1 + c2) * M[2] + (2 * c1 - c2) * cm * cm * M[0];
  }
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
    aR[j] = s + 2 * At[j];
  }
  cf->last_nx = nx, cf->last_nw = nw, cf->last_L = L;
  return CL_OK;
}
