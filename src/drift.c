/* The expectation engine: drift of (R, Q) in the high-dimensional limit.
 * Notation of docs/model.md s.7: R (K x M), Q (M x M), tau, s, rho, beta; D_a is
 * -dF/dh_a for view a; (h1, h2) given c is Gaussian with mean (R^T c, R^T c)
 * and covariance Sigma = [[A + s^2 Q, A + rho s^2 Q], [., A + s^2 Q]],
 * A = Q - R^T R.  See docs/theory.md for the derivation. */
#include "cldyn/drift.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_eigen.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cldyn/data.h"
#include "act_pole.h"
#include "quad_gl.h"
#include "drift_acc.h"
#include "drift_grid.h"
#include "drift_grid4.h"
#include "drift_cf.h"
#include "drift_erf.h"
#include "drift_multi.h"
#include "linalg.h"

/* libmvec's SIMD exp and asinh for the omp simd loops (see act.c) */
#pragma omp declare simd notinbranch
double exp(double);
#pragma omp declare simd notinbranch
double asinh(double);
#include "cldyn/quad.h"
#include "cldyn/rng.h"

enum { METHOD_QUAD, METHOD_MGRID, METHOD_MC, METHOD_CF, METHOD_MULTI };

/* The sigma whose rules lose sigma' between their nodes at large
 * pre-activation sd (the sd guard below; docs/hardening.md s.15) */
static int sd_limited(cl_act a) { return cl_act_pole(a) > 0; }
/* the largest M at which the quad rule's sd limits are measured */
#define QUAD_SD_MMAX 5

#define KS_GLMAX 32 /* the kink-split rule's Gauss-Legendre points per panel, on any level */
struct cl_drift {
  cl_multi *multi; /* M >= 2: the Sobol' engine (drift_multi.c) */
  cl_acc *qacc;    /* M >= 2, smooth sigma: the deterministic rule (drift_acc.c) */
  cl_grid *g2;     /* the grid engine (drift_grid.c; M = 2, 3 and M >= 4: docs/grid.md s.15-16) */
  cl_erf *erf;     /* erf with Gaussian laws: closed forms (drift_erf.c) */
  int pin;         /* rule + 1 that cl_drift_eval evaluates alone (cl_drift_pin_rep); 0: the drift */
  cl_quad_opts qo; /* the options it was built with (cl_drift_m1_coarse) */
  cl_model m, m1; /* m1: the same model with B = 1 (per-sample loss) */
  int method;
  cl_cf *cf;    /* METHOD_CF: M = 1 through characteristic functions (drift_cf.c) */
  int fallback; /* METHOD_CF: the tensor method where it does not apply (-1: none) */
  double beta, Beff;
  int K, M, d2; /* d2 = 2M */
  /* c nodes: tensor product of the laws' rules */
  int nc;
  double *cx, *cw;
  cl_rule gh_lo, gh_hi; /* normal rules for <= 2 and > 2 active directions */
  /* M = 1, tanh or sigmoid: fewer trapezoid points along a direction whose
   * strip of analyticity is wider than the design's (prepare_m1) */
  double pole;          /* distance of sigma's poles from the real axis (0: not used) */
  int adapt;            /* fewer points where the poles are farther (cl_quad_opts.adapt_gauss) */
  double trap_E;        /* the design's error exponent + 10 */
  double trap_Emin;     /* below it, the panel rule (prepare_m1) */
  int trap_n;           /* entries of trap - 1 */
  cl_rule *trap;        /* trap[n]: n-point trapezoid on gh_lo's range (built on demand) */
  /* M = 1, tanh, sigmoid or erf where the poles come closer than the
   * trapezoid's design: Gauss-Legendre panels in h on [-pH, pH]
   * (gauss_block_m1_panel, docs/kinks.md) */
  int panel;            /* the panel rule is in use at this state (prepare_m1) */
  int pn, pq;           /* panel nodes, Gauss-Legendre points per panel */
  double pH;            /* half-range in h */
  double sig_lo, sig_hi; /* sigma(-inf), sigma(+inf): the tails beyond pH */
  double *px, *pw;      /* nodes and Gauss-Legendre weights */
  double *pf, *pg, *pf2, *pgf; /* sigma, sigma', sigma^2, sigma' sigma at the nodes */
  int nm;               /* Chebyshev nodes in m */
  long nmc;             /* Monte Carlo batches */
  double *mc_c, *mc_z;  /* nmc * B * K and nmc * B * 2M */
  double se;
  int merged[CL_KMAX]; /* gauss features merged into the Gaussian part (quadrature only) */
  int odd;             /* odd sigma and symmetric laws: psi(-m) = psi(m) but for G (odd) */
  /* M = 1, piecewise-linear sigma (relu): slopes below and above the kink at
   * h = 0, and the Gauss-Legendre panel rule of the outer direction
   * (gauss_block_m1_kink; docs/kinks.md) */
  int kinked;
  double slope_neg, slope_pos;
  int kq;                 /* Gauss-Legendre points per panel */
  double *kq_x, *kq_w;    /* on [-1, 1] */
  /* relu, tanh, erf, sigmoid on the characteristic-function path, where
   * that method does not apply: the kink-split rule over c (eval_kink_split;
   * docs/kinks.md), for a smooth sigma graded towards m = c . R = 0 */
  int ks;                 /* the rule is available */
  double ks_pole;         /* smooth sigma: the distance in h of sigma's poles (erf's peak: 2); relu 0 */
  int ks_nl;              /* the tensor fallback's Gauss-Legendre points per uniform law (ks_smooth_applies) */
  int ks_na;              /* atoms of the discrete laws (their product) */
  double *ks_ax, *ks_aw;  /* ks_na x K values (0 for the other features), weights */
  double *ks_x, *ks_w;    /* nodes and weights along the continuous feature */
  int ks_gl;              /* Gauss-Legendre points per panel (KS_GL; fewer on the coarse level) */
  double ks_glx[KS_GLMAX], ks_glw[KS_GLMAX]; /* Gauss-Legendre on [-1, 1] (ks_gl points) */
  /* per-evaluation state */
  int d;                      /* active directions of Sigma */
  int pair;                   /* M = 1: index of the view-antisymmetric direction, or -1 */
  int slot[2];                /* M = 1: slot of active direction k in the node coordinates */
  double lam[2 * CL_MMAX];    /* their eigenvalues */
  double vec[4 * CL_MMAX * CL_MMAX]; /* their eigenvectors, column k at vec[r * d2 + k] */
  /* Monte Carlo (eval_mc): the symmetric PSD root S of Sigma, h - mu = S z,
   * and the Stein map G S, G Sigma's generalized inverse scaled to unit
   * diagonal (cl_sym_roots_ginv; d = 2M; docs/multi.md s.8, s.12) */
  double root[4 * CL_MMAX * CL_MMAX], gsmap[4 * CL_MMAX * CL_MMAX];
  int npts;                   /* Gaussian nodes */
  int m1_key;                 /* which node set gz/gw hold (-1: none; M = 1: 0-3 by active directions, M = 2: 10 + d) */
  double cp, cm;              /* M = 1: h - mu = cp z_+ (1, 1) + cm z_- (1, -1) */
  const cl_rule *rp, *rm;     /* M = 1, both directions active: their rules */
  int jm0;                    /* first node of rm with z >= 0 */
  int m1_nodes;               /* M = 1: gz/gw hold the node list of rp, rm */
  double *cheb_x, *cheb_w;    /* Chebyshev nodes in [-1, 1] and barycentric weights */
  double *cheb_acc;           /* (K + 2) x nm scratch of eval_quad */
  double *cheb_xc;            /* nc scratch of eval_quad: the c nodes on the Chebyshev interval */
  double sig1;                /* M = 1: sd of h_a given c */
  double *gz, *gw, *goff;     /* npts x d, npts, npts x 2M */
  int psize;
  double *psi, *acc, *grid;   /* psi-sized scratch, accumulator, nm * psize table */
  int t4;                     /* M = 2 tensor rule, smooth sigma: trapezoid nodes per direction (0: Gauss-Hermite) */
  char method_str[640];
};

enum { CL_TENSOR4_MIN = 10 }; /* nodes per direction of the M = 2 tensor rule (docs/multi.md s.6) */
enum { CL_TENSOR4_CUBIC = 12 }; /* the same for cubic sigma with lambda != 0: exact for degree 22 */
/* M = 2 tensor rule with tanh, sigmoid or erf (docs/multi.md s.6): the fine
 * level's trapezoid has CL_TENSOR4_EXTRA more nodes per direction than
 * (quad_gauss + 3) / 4, the coarse level 3/4 of the fine one's */
enum { CL_TENSOR4_EXTRA = 10 };
/* the factor on |fine - coarse| of the printed bound (cl_drift_level_factor) */
#define CL_TENSOR4_SAFE 3.0

static int psi_size(int M, int d) { return M + 2 * M * d + 2 * M * M; }
static void gauss_nodes_alloc(cl_drift *d);

/* vector-width clones of the M = 1 tanh kernel (as cl_act_eval_vec) */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define CL_M1_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CL_M1_CLONES
#endif

void cl_drift_free(cl_drift *d) {
  if (!d) return;
  cl_multi_free(d->multi);
  cl_acc_free(d->qacc);
  cl_grid_free(d->g2);
  cl_erf_free(d->erf);
  free(d->cx);
  free(d->cw);
  cl_rule_free(&d->gh_lo);
  if (d->trap)
    for (int n = 0; n <= d->trap_n; n++) cl_rule_free(&d->trap[n]);
  free(d->trap);
  free(d->px);
  cl_rule_free(&d->gh_hi);
  free(d->mc_c);
  free(d->mc_z);
  free(d->gz);
  free(d->gw);
  free(d->goff);
  free(d->psi);
  free(d->acc);
  free(d->grid);
  free(d->cheb_x);
  free(d->cheb_w);
  free(d->cheb_acc);
  free(d->cheb_xc);
  cl_cf_free(d->cf);
  free(d->kq_x);
  free(d->kq_w);
  free(d->ks_ax);
  free(d->ks_aw);
  free(d->ks_x);
  free(d->ks_w);
  free(d);
}

/* The panel rule of gauss_block_m1_panel: Gauss-Legendre panels of fixed
 * width in h on [-pH, pH], ng / 5 points each (8 by default).  The width
 * is 2 / pi times sigma's pole distance (tanh 1, sigmoid 2; erf, entire,
 * 1.25 for its pseudo-pole 2), so the nearest pole lies pi half-widths off
 * the panel: Gauss-Legendre converges like 6.4^(-2 q), 1e-13 at q = 8.
 * pH is where sigma' has decayed below 1e-10 of its peak (tanh: 4 e^(-2h),
 * sigmoid: e^(-h), erf: e^(-h^2 / 2)): beyond it sigma is its limit.
 * sigma, sigma' and their products at the nodes are tabulated once. */
static cl_status panel_alloc(cl_drift *d, int ng, char *err) {
  const cl_act a = d->m.act;
  const double w = a == CL_ACT_TANH ? 1 : a == CL_ACT_SIGMOID ? 2 : 1.25;
  const int half = a == CL_ACT_TANH ? 12 : a == CL_ACT_SIGMOID ? 13 : 6, q = ng / 5 > 4 ? ng / 5 : 4;
  d->pH = w * half;
  d->pn = 2 * half * q, d->pq = q;
  double x;
  cl_act_eval(a, -INFINITY, &d->sig_lo, &x, &x);
  cl_act_eval(a, INFINITY, &d->sig_hi, &x, &x);
  d->px = malloc(sizeof(double) * 6 * (size_t)d->pn);
  if (!d->px) return cl_fail(err, CL_ENOMEM, "out of memory");
  d->pw = d->px + d->pn, d->pf = d->pw + d->pn, d->pg = d->pf + d->pn;
  d->pf2 = d->pg + d->pn, d->pgf = d->pf2 + d->pn;
  /* One q-point rule on [-1, 1] (in pf, pg until they are filled), mapped
   * onto each panel [lo, hi] as GSL maps its own: B + A t, A w with
   * A = (hi - lo) / 2, B = (lo + hi) / 2, which on [-1, 1] are t and w
   * exactly; so the nodes are those of a rule built on the panel, bit for
   * bit. */
  double *t = d->pf, *tw = d->pg;
  cl_status st = cl_rule_legendre(q, -1, 1, t, tw, err);
  if (st) return st;
  for (int p = 0; p < 2 * half; p++) {
    const double lo = -d->pH + p * w, hi = -d->pH + (p + 1) * w, A = (hi - lo) / 2, B = (lo + hi) / 2;
    for (int k = 0; k < q; k++) d->px[p * q + k] = B + A * t[k], d->pw[p * q + k] = A * tw[k];
  }
  for (int i = 0; i < d->pn; i++) {
    cl_act_eval(a, d->px[i], &d->pf[i], &d->pg[i], &x);
    /* sigma' without the cancellation of 1 - tanh^2, s (1 - s) in the tails */
    const double e = exp(-fabs(d->px[i]));
    if (a == CL_ACT_TANH) d->pg[i] = 4 * e * e / ((1 + e * e) * (1 + e * e));
    if (a == CL_ACT_SIGMOID) d->pg[i] = e / ((1 + e) * (1 + e));
    d->pf2[i] = d->pf[i] * d->pf[i], d->pgf[i] = d->pg[i] * d->pf[i];
  }
  return CL_OK;
}

/* M = 1: laws whose Gauss rule does not resolve the c-expectation of the
 * Gaussian part psi(c . R), which then goes through characteristic
 * functions whatever the node count (docs/kinks.md, "Continuous laws"): every
 * continuous law but gauss: a student law (its rule converges like a power of the points: tanh, student:1:6 at 32
 * points was 6.6e-3 off; cubic, student:2:10.5, 1.9e-4), and relu with any
 * continuous non-Gaussian law (psi has a kink in c, smoothed only over the
 * Gaussian part's sd: uniform at s = 0.05 was 4e-6 off, laplace 4.4e-7 at
 * s = 0.5), and a laplace or uniform law with any sigma (below).  Likewise relu with more c nodes (nprod) than the m-grid's
 * nm: the grid's scale is at least 0.5, the kink's the Gaussian part's sd
 * (6 rademacher laws at s = 0.05, cos = 1 - 5e-5: 3.3e-5 off).  Linear
 * and cubic always: the engine takes exact moments for them (below). */
static int m1_rules_unresolved(const cl_model *m, double nprod, int nm) {
  /* polynomial sigma: the characteristic-function engine takes exact
   * moments (drift_cf.c: eval_poly), no slower than the tensor rule (K = 1)
   * and exact, where the tensor rule's table in m does not follow the
   * growth |m|^10 of cubic's V (6.6% off in dQ at uniform:2 + laplace:3,
   * R = (0.05, -0.6), Q = 0.8) */
  if (cl_act_polynomial(m->act)) return 1;
  if (m->act == CL_ACT_RELU && nprod > nm) return 1;
  for (int j = 0; j < m->K; j++) {
    cl_law_kind k = m->c[j].kind;
    if (k == CL_LAW_STUDENT) return 1;
    if (m->act == CL_ACT_RELU && k == CL_LAW_UNIFORM) return 1;
    /* laplace: its Gauss-Laguerre halves converge slowly on psi(c R) once
     * the Gaussian part's sd is small against |R|, for every sigma (tanh
     * 1.1e-3, erf 4.2e-4 off at s = 0.05, Q = 10, cos = 0.999; docs/kinks.md,
     * "Second audit") */
    if (k == CL_LAW_LAPLACE) return 1;
    /* uniform: its 32-point Gauss-Legendre rule does not resolve psi(c R)
     * either once |R_j| times the half-width is large against the scale
     * of sigma's features (erf 8.8e-9 off its 1e-10 at uniform:3.62 +
     * uniform:1.28, s = 0.079, Q = 12.9, cos = 0.99989; docs/kinks.md,
     * "Fourth audit") */
    if (k == CL_LAW_UNIFORM) return 1;
  }
  return 0;
}

/* The kink-split rule (eval_kink_split): the atoms of the discrete laws,
 * enumerated once.  Beyond KS_ATOMS atoms it is not built, and the states
 * where the characteristic functions do not apply are refused. */
#ifndef KS_DMIN
#define KS_DMIN 0.5 /* the first panel at the kink, in units of the smoothing scale */
#endif
#ifndef KS_GL
#define KS_GL 16
#endif
enum { KS_ATOMS = 4096, KS_PANELS = 400 };
static int ks_discrete(cl_law_kind k) {
  return k == CL_LAW_RADEMACHER || k == CL_LAW_SPARSE || k == CL_LAW_DISCRETE;
}
static cl_status ks_alloc(cl_drift *d, char *err) {
  const int K = d->K;
  cl_rule r[CL_KMAX];
  long na = 1;
  for (int j = 0; j < K; j++) r[j].n = 1, r[j].x = r[j].w = NULL;
  for (int j = 0; j < K && na <= KS_ATOMS; j++)
    if (ks_discrete(d->m.c[j].kind)) {
      cl_status st = cl_rule_law(&d->m.c[j], 1, &r[j], err);
      if (st) {
        for (int i = 0; i < j; i++) cl_rule_free(&r[i]);
        return st;
      }
      na *= r[j].n;
    }
  cl_status st = CL_OK;
  if (na <= KS_ATOMS) {
    d->ks_na = (int)na;
    d->ks_ax = malloc(sizeof(double) * (size_t)na * (size_t)K);
    d->ks_aw = malloc(sizeof(double) * (size_t)na);
    d->ks_x = malloc(sizeof(double) * KS_PANELS * KS_GLMAX);
    d->ks_w = malloc(sizeof(double) * KS_PANELS * KS_GLMAX);
    if (!d->ks_ax || !d->ks_aw || !d->ks_x || !d->ks_w) st = cl_fail(err, CL_ENOMEM, "out of memory");
    else st = cl_rule_legendre(d->ks_gl = KS_GL, -1, 1, d->ks_glx, d->ks_glw, err);
    for (long a = 0; a < na && !st; a++) {
      long rest = a;
      double w = 1;
      for (int j = K - 1; j >= 0; j--) {
        double x = 0;
        if (r[j].x) {
          int i = (int)(rest % r[j].n);
          rest /= r[j].n;
          x = r[j].x[i], w *= r[j].w[i];
        }
        d->ks_ax[a * K + j] = x;
      }
      d->ks_aw[a] = w;
    }
    d->ks = !st;
  }
  for (int j = 0; j < K; j++)
    if (r[j].x) cl_rule_free(&r[j]);
  return st;
}

cl_status cl_drift_alloc(const cl_model *m, const cl_quad_opts *o, cl_drift **out, char *err) {
  *out = NULL;
  /* the library's init (GSL's handler off, OpenBLAS serial) before the
   * engines' eigen-decompositions: a caller that goes straight to the
   * drift (the benches, the Python binding) got OpenBLAS's threads there,
   * and with them rounding that changed with OMP_NUM_THREADS (which the
   * whole-batch Monte Carlo's eigenvector map amplified to another draw
   * where Sigma has a repeated eigenvalue, before its symmetric root;
   * docs/multi.md s.8) */
  cl_common_init();
  if (m->reg.kind == CL_REG_L1 || m->reg.kind == CL_REG_ELASTIC)
    return cl_fail(err, CL_EINVAL,
                   "reg: the order-parameter ODEs close only for l2 or none (use pde)");
           
  /* cubic's Vm is E[h^10]-like: with a student law of nu <= 10 it is
   * infinite, and every engine returned a finite number without meaning
   * (docs/kinks.md, "Continuous laws") */
  for (int j = 0; j < m->K; j++)
    if (m->act == CL_ACT_CUBIC && m->c[j].kind == CL_LAW_STUDENT && !(m->c[j].nu > 10))
      return cl_fail(err, CL_EINVAL,
                     "act cubic: the drift of Q needs E[c^10], which c %d (student, nu = %g) lacks "
                     "(nu must exceed 10)",
                     j + 1, m->c[j].nu);
  cl_drift *d = calloc(1, sizeof *d);
  if (!d) return cl_fail(err, CL_ENOMEM, "out of memory");
  d->m = *m;
  if (o) d->qo = *o;
  d->m1 = *m;
  d->m1.B = 1;
  d->K = m->K, d->M = m->M, d->d2 = 2 * m->M;
  d->beta = m->reg.kind == CL_REG_L2 ? m->reg.beta2 : 0;
  int ng = o && o->n_gauss > 0 ? o->n_gauss : CL_QUAD_GAUSS, nl = o && o->n_law > 0 ? o->n_law : CL_QUAD_LAW;
  int ng_hi = (ng + 3) / 4; /* 4 directions: a quarter as many per direction */
  d->nm = o && o->n_mgrid > 0 ? o->n_mgrid : CL_QUAD_MGRID;
  d->nmc = o && o->mc_points > 0 ? o->mc_points : 20000;
  /* lambda couples the batch only through the off-diagonal C_il, i != l:
   * with M = 1 there are none, and the batch decouples as for lambda = 0 */
  /* closed forms (drift_erf.c, docs/closed-forms.md): on request, and by
   * default for M >= 2 wherever they apply (erf, every law gauss) */
  const int expect = o ? o->expect : CL_EXPECT_QMC;
  if (expect == CL_EXPECT_CLOSED || (expect == CL_EXPECT_QMC && m->M >= 2 && cl_erf_applies(m, NULL, 0))) {
    cl_status est = cl_erf_alloc(m, o, &d->erf, err);
    if (est) return cl_drift_free(d), est;
    snprintf(d->method_str, sizeof d->method_str, "%s", cl_erf_method(d->erf));
    *out = d;
    return CL_OK;
  }
  /* the grid engine (drift_grid.c, docs/grid.md): on request (M = 2, 3, and
   * M >= 4 by inclusion-exclusion over the sub-models, drift_grid4.c,
   * docs/grid.md s.15-16), and by default for M = 2 wherever it applies (unless the Sobol'
   * rules' own --qmc-points is given: docs/grid.md s.6) */
  if (expect == CL_EXPECT_GRID ||
      (expect == CL_EXPECT_QMC && m->M == 2 && !(o && o->qmc_points > 0) && cl_grid_applies(m, NULL, 0))) {
    cl_status gst = m->M >= 4 ? cl_grid4_alloc(m, o, &d->g2, err) : cl_grid_alloc(m, o, &d->g2, err);
    if (gst) return cl_drift_free(d), gst;
    d->method = METHOD_MULTI;
    snprintf(d->method_str, sizeof d->method_str, "%s", cl_grid_method(d->g2));
    *out = d;
    return CL_OK;
  }
  /* cubic sigma at M >= 2: where the grid does not serve, the quad rule
   * (exact for its polynomial integrands) wherever it applies.  The Sobol'
   * rules refuse cubic: their bound missed the exact drift at up to 6.6x
   * (laplace) and 19x (lambda != 0) (docs/multi.md s.3) */
  const int cubic_quad = expect == CL_EXPECT_QMC && !(o && o->qmc_points > 0) && m->M >= 2 &&
                         m->act == CL_ACT_CUBIC && cl_acc_applies(m, NULL, 0);
  if (expect == CL_EXPECT_QUAD || cubic_quad) {
    /* the deterministic rule (drift_acc.c, docs/accurate.md); its sd limits
     * for tanh, erf and sigmoid (sd_limit) are measured up to QUAD_SD_MMAX
     * units: beyond, no limit is known, and a rule whose estimate was seen
     * to miss its error just above the measured limits is refused */
    if (m->M > QUAD_SD_MMAX && sd_limited(m->act))
      return cl_drift_free(d),
             cl_fail(err, CL_EINVAL,
                     "expect: quad with %s is measured up to M = %d (the sd range where its estimate bounds the "
                     "error), not at M = %d; use the Sobol' engine",
                     cl_act_name(m->act), QUAD_SD_MMAX, m->M);
    /* with a student law the default levels' difference missed the rule's
     * error by up to 5.6x (tanh) and 15x (sigmoid) at nu = 5 and 3.2x at
     * nu = 25 to 200: the student rule (a normal scale mixture) converges
     * like 1/n, so levels n and 1.25 n see about a fifth of the error
     * (bench/gridstudent, docs/accurate.md s.4).  Refused where it is not
     * exact (linear with lambda = 0 is); cl_acc_alloc_levels stays open for
     * references with chosen levels. */
    for (int j = 0; j < m->K; j++)
      if (m->c[j].kind == CL_LAW_STUDENT && sd_limited(m->act))
        return cl_drift_free(d),
               cl_fail(err, CL_EINVAL,
                       "expect: quad with %s and a student law: its estimate did not bound its error (the student "
                       "rule converges slowly); use the grid (M = 2) or the Sobol' engine",
                       cl_act_name(m->act));
    cl_status ast = cl_acc_alloc(m, o, &d->qacc, err);
    if (ast) return cl_drift_free(d), ast;
    d->method = METHOD_MULTI;
    snprintf(d->method_str, sizeof d->method_str, "%s", cl_acc_method(d->qacc));
    *out = d;
    return CL_OK;
  }
  if (m->M >= 2 && (expect == CL_EXPECT_QMC || expect == CL_EXPECT_SOBOL)) {
    /* the Sobol' engine (drift_multi.c); Monte Carlo over whole batches
     * only where it has too many dimensions (more than GSL's 40 Sobol'
     * dimensions: randomised Halton points were measured worse than it,
     * docs/multi.md s.3) */
    char e2[CL_ERRLEN];
    cl_status mst = cl_multi_alloc(m, o, &d->multi, e2);
    if (mst) return cl_drift_free(d), cl_fail(err, mst, "%s", e2);
    if (d->multi) {
      d->method = METHOD_MULTI;
      snprintf(d->method_str, sizeof d->method_str, "%s", cl_multi_method(d->multi));
      /* at M >= 5 the Sobol' rules stay the default (case C, M = 8 to T =
       * 50: 4.5 CPU s, their trajectories part by O(1): no trajectory bound,
       * docs/multi.md s.3); where the grid by sub-models
       * serves the model (7 CPU minutes there, bound 1.04e-5: docs/grid.md
       * s.16) the line says so */
      if (expect == CL_EXPECT_QMC && !(o && o->qmc_points > 0) && m->M >= 5 && cl_grid_applies(m, NULL, 0)) {
        const size_t len = strlen(d->method_str);
        snprintf(d->method_str + len, sizeof d->method_str - len,
                 "; expect: grid serves this model too (docs/grid.md s.16: trajectory bounds of 1e-6 to 1e-5 "
                 "measured at M = 5 to 8, for minutes of CPU time)");
      }
      *out = d;
      return CL_OK;
    }

  }
  int need_mc = m->M > 1;
  if (o && o->expect == CL_EXPECT_TENSOR) need_mc = (m->B > 1 && m->lambda != 0 && m->M > 1) || m->M > 2;
  /* The M = 2 tensor rule puts (ng + 3) / 4 Gauss-Hermite nodes on each of
   * the 4 directions of (h1, h2): with fewer than CL_TENSOR4_MIN the drift
   * is not even of the right sign (docs/multi.md s.6), so such a rule is
   * refused rather than integrated */
  if (m->M == 2 && !need_mc && ng_hi < CL_TENSOR4_MIN)
    return cl_drift_free(d),
           cl_fail(err, CL_EINVAL,
                   "quad_gauss: %d gives %d Gauss-Hermite nodes per direction in the 4-d tensor rule "
                   "(expect tensor) with M = 2; at least %d are needed (quad_gauss >= %d), or use "
                   "the default engine",
                   ng, ng_hi, CL_TENSOR4_MIN, 4 * CL_TENSOR4_MIN - 3);
  /* cubic sigma at M >= 2 (docs/multi.md s.6): the batch Monte Carlo's
   * standard error missed the exact drift by up to 5.7x with lambda = 0 and
   * 6e3x with lambda != 0 (V's degree 10 and 22 in h: the sample variance
   * does not see the tails); the tensor rule prints no estimate, so it
   * serves cubic only where it is exact: Gauss-Hermite of >= 12 nodes for
   * the degree 22 (10 nodes were 0.5% off), no student law (its scale
   * mixture: 2.5% off at nu = 12) and a polynomial g (abs has a kink) */
  if (m->M >= 2 && m->act == CL_ACT_CUBIC) {
    const char *why = NULL;
    char nb[160];
    const int deg22 = m->lambda != 0;
    if (need_mc)
      why = "the Monte Carlo over whole batches cannot bound its error for cubic sigma (its standard error "
            "missed the exact drift by up to 6e3 times)";
    else if (deg22 && m->g != CL_G_SQUARE)
      why = "the tensor rule is not exact for cubic sigma with g = abs and lambda != 0, and it prints no error "
            "estimate";
    else if (deg22 && ng_hi < CL_TENSOR4_CUBIC) {
      snprintf(nb, sizeof nb,
               "the tensor rule is exact for cubic sigma's moments of degree 22 from %d Gauss-Hermite nodes per "
               "direction (quad_gauss >= %d), not %d",
               CL_TENSOR4_CUBIC, 4 * CL_TENSOR4_CUBIC - 3, ng_hi);
      why = nb;
    }
    for (int j = 0; j < m->K && !why; j++)
      if (m->c[j].kind == CL_LAW_STUDENT)
        why = "the tensor rule is not exact for cubic sigma with a student law, and it prints no error estimate";
    if (why)
      return cl_drift_free(d),
             cl_fail(err, CL_EINVAL,
                     "act cubic: %s; use expect quad where rho >= 0 (g square where lambda != 0, no student law), "
                     "else simulate or reduced",
                     why);
  }
  d->Beff = need_mc ? 1 : m->B;
  /* M = 1 with a polynomial sigma (linear, cubic): every integrand is a
   * polynomial of degree <= 10 times the normal density, which the
   * ng-point Gauss-Hermite rule integrates exactly (the trapezoid's range
   * cut the h^10 tail of cubic's V: 2e-7 relative at the defaults) */
  int poly = m->M == 1 && cl_act_polynomial(m->act) && ng >= 6;
  cl_status st = poly ? cl_rule_normal(ng, &d->gh_lo, err) : cl_rule_normal_trap(ng, &d->gh_lo, err);
  /* in 3-4 dimensions Gauss-Hermite is the better rule at so few points;
   * but for the M = 2 tensor rule with a smooth saturating sigma a
   * trapezoid of CL_TENSOR4_EXTRA more nodes, whose coarse level at 3/4 of
   * them bounds its error (cl_drift_m1_coarse; docs/multi.md s.6) */
  if (m->M == 2 && !need_mc && cl_act_pole(m->act) > 0) d->t4 = ng_hi + CL_TENSOR4_EXTRA;
  if (!st) st = d->t4 ? cl_rule_normal_trap(d->t4, &d->gh_hi, err) : cl_rule_normal(ng_hi, &d->gh_hi, err);
  if (st) return cl_drift_free(d), st;
  if (m->M == 1 && ng >= 3 && cl_act_pole(m->act) > 0) {
    /* the distance of sigma's poles from the real axis (src/act_pole.h) */
    d->pole = cl_act_pole(m->act);
    d->adapt = o && o->adapt_gauss && m->act != CL_ACT_ERF;
    double h = d->gh_lo.x[1] - d->gh_lo.x[0];
    d->trap_E = 2 * M_PI * 1.5 / h - 1.125 + 10; /* the design's exponent + 10: see prepare_m1 */
    /* The least exponent the trapezoid may have (prepare_m1): tanh's
     * stated tolerance is its design's error; sigmoid's and erf's are 1e2
     * and 1e4 times smaller (docs/kinks.md), so they need ln 1e2, ln 1e4
     * more (their error constants, measured, are not larger than tanh's).
     * The error is mostly V's, which enters dQ with weight tau^2 / B: the
     * margins were set at the default weight 1/4 (tau = 0.5, B = 1), so a
     * larger weight needs ln(4 tau^2 / B) more (measured: tanh at tau = 1,
     * B = 1, s = 2, rho = 0.95, sd 1.1 was 2.2 tolerances off without it). */
    d->trap_Emin = d->trap_E - 10.5 + (m->act == CL_ACT_SIGMOID ? log(1e2) : m->act == CL_ACT_ERF ? log(1e4) : 0) +
                   log(fmax(1, 4 * m->tau * m->tau / m->B));
    /* fewer points where the poles are farther (at most ng, and < 4096: the
     * node-set key); where they come closer, the panel rule */
    d->trap_n = ng < 4000 ? ng : 4000;
    d->trap = calloc((size_t)d->trap_n + 1, sizeof *d->trap);
    if (!d->trap) return cl_drift_free(d), cl_fail(err, CL_ENOMEM, "out of memory");
    if ((st = panel_alloc(d, ng, err))) return cl_drift_free(d), st;
  }
  if (m->M == 1 && m->act == CL_ACT_RELU) {
    /* sigma piecewise linear with a kink at 0 (relu: slopes 0 and 1): the
     * inner Gaussian integral is exact, the outer one uses Gauss-Legendre
     * panels of unit width with ng / 5 points each (gauss_block_m1_kink) */
    d->kinked = 1, d->slope_neg = 0, d->slope_pos = 1;
    d->kq = ng / 5 > 2 ? ng / 5 : 2;
    d->kq_x = malloc(sizeof(double) * (size_t)d->kq);
    d->kq_w = malloc(sizeof(double) * (size_t)d->kq);
    if (!d->kq_x || !d->kq_w) return cl_drift_free(d), cl_fail(err, CL_ENOMEM, "out of memory");
    if ((st = cl_rule_legendre(d->kq, -1, 1, d->kq_x, d->kq_w, err))) return cl_drift_free(d), st;
  }
  if (need_mc) {
    /* a fixed point set: c and the standardised Gaussians of every sample */
    d->method = METHOD_MC;
    size_t nb = (size_t)d->nmc * (size_t)m->B;
    d->mc_c = malloc(sizeof(double) * nb * (size_t)m->K);
    d->mc_z = malloc(sizeof(double) * nb * (size_t)d->d2);
    cl_rng *rng;
    cl_rng_alloc(o ? o->mc_seed : 1, 0x6d63, &rng, NULL);
    if (!d->mc_c || !d->mc_z || !rng) {
      cl_rng_free(rng);
      cl_drift_free(d);
      return cl_fail(err, CL_ENOMEM, "out of memory for %ld Monte Carlo points", d->nmc);
    }
    for (size_t k = 0; k < nb; k++)
      for (int j = 0; j < m->K; j++) d->mc_c[k * (size_t)m->K + (size_t)j] = cl_law_sample(&m->c[j], rng);
    cl_rng_gauss_fill(rng, d->mc_z, nb * (size_t)d->d2);
    cl_rng_free(rng);
    snprintf(d->method_str, sizeof d->method_str,
             "Monte Carlo over the batch (B = %d): %ld fixed batches (seed %llu), c sampled, "
             "standard error printed",
             m->B, d->nmc, (unsigned long long)(o ? o->mc_seed : 1));
    if (m->M >= 2 && (expect == CL_EXPECT_QMC || expect == CL_EXPECT_SOBOL)) {
      /* the Sobol' engine declined (above its 40 dimensions): say so, and
       * why no other rule is used (bench/qmchalton, docs/multi.md s.3) */
      size_t len = strlen(d->method_str);
      snprintf(d->method_str + len, sizeof d->method_str - len,
               "; not the Sobol' rules: the whole batch has %d dimensions, GSL's Sobol' points %d, and "
               "randomised Halton points were 2.5 to 20 times less accurate than this Monte Carlo at the "
               "same cost (docs/multi.md s.3)",
               m->B * (m->K + 2 * m->M), CL_MULTI_SOBOL_DIMAX);
    }
  } else {
    /* M = 1 with many c nodes: characteristic functions (drift_cf.c), when
     * the default rules (CL_QUAD_LAW points: the choice does not move with
     * --quad-law) make more than CL_CF_NODES nodes; the tensor product is
     * still built, for the states where that method does not apply, when
     * it has at most 4e6 nodes */
    double nprod = 1;
    for (int j = 0; j < m->K && m->M == 1; j++) {
      cl_rule r1;
      if (m->c[j].kind == CL_LAW_GAUSS) continue;
      if ((st = cl_rule_law(&m->c[j], CL_QUAD_LAW, &r1, err))) return cl_drift_free(d), st;
      nprod *= r1.n;
      cl_rule_free(&r1);
    }
    int cf_mode = o ? o->m1_cf : 0;
    int cf_auto = nprod > CL_CF_NODES || m1_rules_unresolved(m, nprod, d->nm);
    if (m->M == 1 && (cf_mode > 0 || (cf_mode == 0 && cf_auto))) {
      for (int j = 0; j < m->K; j++) d->merged[j] = m->c[j].kind == CL_LAW_GAUSS;
      if ((st = cl_cf_alloc(m, d->merged, ng, &d->cf, err))) return cl_drift_free(d), st;
      d->ks_pole = m->act == CL_ACT_TANH ? M_PI / 2 : m->act == CL_ACT_SIGMOID ? M_PI : m->act == CL_ACT_ERF ? 2 : 0;
      d->ks_nl = nl;
      if ((d->kinked || d->ks_pole > 0) && (st = ks_alloc(d, err))) return cl_drift_free(d), st;

    }
    /* tensor product of the laws' rules */
    cl_rule rules[CL_KMAX];
    long nc = 1;
    for (int j = 0; j < m->K; j++) {
      /* a Gaussian c_j joins the Gaussian part exactly: its rule is the
       * single node 0 and its variance enters Sigma (see prepare) */
      d->merged[j] = m->c[j].kind == CL_LAW_GAUSS;
      cl_law point = {.kind = CL_LAW_DISCRETE, .m2 = 0, .nvals = 1, .vals = {0}, .probs = {1}};
      if ((st = cl_rule_law(d->merged[j] ? &point : &m->c[j], nl, &rules[j], err))) {
        for (int i = 0; i < j; i++) cl_rule_free(&rules[i]);
        return cl_drift_free(d), st;
      }
      nc *= rules[j].n;
      if (nc > 4000000 && d->cf) { /* characteristic functions only */
        for (int i = 0; i <= j; i++) cl_rule_free(&rules[i]);
        goto tensor_done;
      }
      if (nc > 4000000) {
        for (int i = 0; i <= j; i++) cl_rule_free(&rules[i]);
        cl_drift_free(d);
        return cl_fail(err, CL_EINVAL, "too many features for the quadrature (> 4e6 c nodes)");
               
      }
    }
    d->nc = (int)nc;
    d->cx = malloc(sizeof(double) * (size_t)nc * (size_t)m->K);
    d->cw = malloc(sizeof(double) * (size_t)nc);
    if (!d->cx || !d->cw) {
      for (int j = 0; j < m->K; j++) cl_rule_free(&rules[j]);
      cl_drift_free(d);
      return cl_fail(err, CL_ENOMEM, "out of memory");
    }
    /* nodes whose weight is below 1e-15 of the largest are dropped: their
     * total mass is below nc * 1e-15.  With an unbounded sigma the
     * integrand grows like |c|^gp (V: relu, linear h^2; cubic h^10), so a
     * node's weight counts times (1 + |c|^2)^(gp / 2): by weight alone the
     * laplace tail's nodes dropped for cubic moved dQ by 2.3e-8 relative
     * (s = 0.2, R = 1.5, Q = 2.3), beyond the stated 1e-10.  Bounded sigma
     * (gp = 0) keeps the rule it had. */
    int gp = m->act == CL_ACT_CUBIC ? 10 : (m->act == CL_ACT_RELU || m->act == CL_ACT_LINEAR) ? 2 : 0;
    double wmax = 1;
    for (int j = 0; j < m->K; j++) {
      double mx = 0;
      for (int i = 0; i < rules[j].n; i++) mx = fmax(mx, rules[j].w[i]);
      wmax *= mx;
    }
    long kept = 0;
    for (long k = 0; k < nc; k++) {
      long rest = k;
      double w = 1;
      for (int j = m->K - 1; j >= 0; j--) {
        int i = (int)(rest % rules[j].n);
        rest /= rules[j].n;
        d->cx[kept * m->K + j] = rules[j].x[i];
        w *= rules[j].w[i];
      }
      double grow = 1;
      if (gp) {
        double c2 = 1;
        for (int j = 0; j < m->K; j++) c2 += d->cx[kept * m->K + j] * d->cx[kept * m->K + j];
        grow = pow(c2, 0.5 * gp);
      }
      if (w * grow < 1e-15 * wmax) continue;
      d->cw[kept++] = w;
    }
    d->nc = (int)(nc = kept);
    /* For an odd sigma every D_a is odd under h -> -h (C = y1 y2^T is even),
     * so the node -c contributes exactly what c does (with c_j -> -c_j in
     * a and the mean -mu): with symmetric laws only the nodes whose first
     * nonzero coordinate is positive are kept, with double weight. */
    int odd = cl_act_odd(m->act);
    for (int j = 0; j < m->K && odd; j++) odd = d->merged[j] || cl_law_is_symmetric(&m->c[j]);
    d->odd = odd;
    if (odd) {
      long folded = 0;
      for (long k = 0; k < nc; k++) {
        const double *cv = d->cx + k * m->K;
        int j = 0;
        while (j < m->K && cv[j] == 0) j++;
        if (j < m->K && cv[j] < 0) continue;
        double w = d->cw[k] * (j < m->K ? 2 : 1);
        memmove(d->cx + folded * m->K, cv, sizeof(double) * (size_t)m->K);
        d->cw[folded++] = w;
      }
      d->nc = (int)(nc = folded);
    }
    for (int j = 0; j < m->K; j++) cl_rule_free(&rules[j]);
    /* the table in m is for sigma that saturates (Chebyshev points in
     * asinh(m / sc)): a polynomial sigma sums over every node */
    const int polys = cl_act_polynomial(m->act);
    d->method = (m->M == 1 && nc > d->nm && !polys) ? METHOD_MGRID : METHOD_QUAD;
    if (d->method == METHOD_MGRID)
      snprintf(d->method_str, sizeof d->method_str,
               "quadrature: %d c nodes (exact atoms or %d-point Gauss rules), Gaussian part by "
               "%d-point trapezoid per direction tabulated on %d Chebyshev nodes in asinh(m / sc), "
               "m = c.R",
               d->nc, nl, ng, d->nm);
    else if (d->t4)
      snprintf(d->method_str, sizeof d->method_str,
               "quadrature: %d c nodes (exact atoms or %d-point Gauss rules) x Gaussian part "
               "(%d-point trapezoid per direction in 2-d, %d-point trapezoid per direction in 4-d; "
               "coarse level: 3/4 of every rule's nodes)",
               d->nc, nl, ng, d->t4);
    else
      snprintf(d->method_str, sizeof d->method_str,
               "quadrature: %d c nodes (exact atoms or %d-point Gauss rules) x Gaussian part "
               "(%d-point trapezoid per direction in 2-d, %d-point Gauss-Hermite in 4-d)",
               d->nc, nl, ng, ng_hi);
    if (d->kinked || poly) {
      size_t len = strlen(d->method_str);
      if (d->kinked)
        snprintf(d->method_str + len, sizeof d->method_str - len,
                 "; relu: exact between the kinks along one direction, %d-point Gauss-Legendre "
                 "panels along the other",
                 d->kq);
      else
        snprintf(d->method_str + len, sizeof d->method_str - len,
                 "; polynomial sigma: Gauss-Hermite (exact) in place of the trapezoid");
    }
    if (d->pole > 0) {
      size_t len = strlen(d->method_str);
      snprintf(d->method_str + len, sizeof d->method_str - len,
               "; where sigma's poles come nearer than the trapezoid's design (large sd), "
               "Gauss-Legendre panels in h%s",
               d->adapt ? ", fewer where they are farther" : "");
    }
  tensor_done:
    if (d->cf) {
      d->fallback = d->nc > 0 ? d->method : -1;
      d->method = METHOD_CF;
      char tail[160] = "";
      if (d->kinked && d->ks)
        snprintf(tail, sizeof tail, "; where the smoothing vanishes, %d atoms x panels split at the kink",
                 d->ks_na);
      else if (d->ks)
        snprintf(tail, sizeof tail,
                 "; where the smoothing vanishes or the cut of a student tail may exceed the tolerance, "
                 "%d atoms x panels graded towards m = 0",
                 d->ks_na);
      else if (d->fallback >= 0)
        snprintf(tail, sizeof tail, "; %d c nodes where the smoothing vanishes", d->nc);
      if (cl_cf_exact(d->cf))
        snprintf(d->method_str, sizeof d->method_str,
                 "exact moments (polynomial sigma): every term a combination of the moments of "
                 "m + u and of its %d tilted laws, from the laws' moments",
                 m->K);
      else
        snprintf(d->method_str, sizeof d->method_str,
                 "characteristic functions: law of m + u and its %d tilted laws by Fourier "
                 "trapezoids (error exponents 38-40), %d-point trapezoid along (1, -1)%s",
                 m->K, ng, tail);
    }
  }
  gauss_nodes_alloc(d);
  int ps = psi_size(d->M, d->d2);
  d->psi = malloc(sizeof(double) * (size_t)ps);
  d->acc = malloc(sizeof(double) * (size_t)ps);
  d->grid = malloc(sizeof(double) * (size_t)ps * (size_t)d->nm);
  d->cheb_x = malloc(sizeof(double) * (size_t)d->nm);
  d->cheb_w = malloc(sizeof(double) * (size_t)d->nm);
  d->cheb_acc = malloc(sizeof(double) * (size_t)d->nm * (size_t)(m->K + 2));
  d->cheb_xc = malloc(sizeof(double) * (size_t)(d->nc > 0 ? d->nc : 1));
  d->m1_key = -1;
  if (!d->gz || !d->gw || !d->goff || !d->psi || !d->acc || !d->grid || !d->cheb_x || !d->cheb_w ||
      !d->cheb_acc || !d->cheb_xc) {
    cl_drift_free(d);
    return cl_fail(err, CL_ENOMEM, "out of memory");
  }
  /* Chebyshev points of the first kind and their barycentric weights */
  for (int k = 0; k < d->nm; k++) {
    double th = M_PI * (k + 0.5) / d->nm;
    d->cheb_x[k] = cos(th);
    d->cheb_w[k] = ((k & 1) ? -1.0 : 1.0) * sin(th);
  }
  *out = d;
  return CL_OK;
}

/* The Gaussian node arrays gz, gw, goff for the largest tensor rule of d's
 * rules (NULL where out of memory) */
static void gauss_nodes_alloc(cl_drift *d) {
  /* The product is formed in double: n^(2M) overflowed an int from M = 5
   * (10^10 with 10-point rules, `ode --M 5 --expect mc`, found by UBSan in
   * session 28), although Monte Carlo then keeps one point.  A rule too
   * large for memory leaves the arrays NULL, which the callers report. */
  double want = 1;
  const cl_rule *r = d->d2 > 2 ? &d->gh_hi : &d->gh_lo;
  if (d->method != METHOD_MC) {
    for (int k = 0; k < d->d2; k++) want *= d->trap ? d->trap_n : r->n;
    if (d->d2 > 2) want = fmax(want, (double)d->gh_lo.n * d->gh_lo.n);
  }
  free(d->gz), free(d->gw), free(d->goff);
  d->gz = d->gw = d->goff = NULL;
  d->m1_key = -1;
  if (want * (double)d->d2 * sizeof(double) > (double)(SIZE_MAX / 2)) return;
  const size_t maxpts = (size_t)want;
  d->gz = malloc(sizeof(double) * maxpts * (size_t)d->d2);
  d->gw = malloc(sizeof(double) * maxpts);
  d->goff = malloc(sizeof(double) * maxpts * (size_t)d->d2);
}

/* The M = 2 tensor rule (docs/multi.md s.6): two levels for tanh, sigmoid
 * and erf without a student law; polynomial sigma is exact where allowed
 * (the cubic refusals above), relu's kinks and a student law's scale
 * mixture converge too slowly for two levels */
static int is_tensor4(const cl_drift *d) {
  return d->M == 2 && d->method == METHOD_QUAD && !d->erf && !d->multi && !d->qacc && !d->g2;
}
cl_status cl_drift_tensor4_rule(cl_drift *d, int n4, int n2, char *err) {
  if (!is_tensor4(d))
    return cl_fail(err, CL_EINVAL, "not the M = 2 tensor rule");
  cl_rule hi = {0}, lo = {0};
  cl_status st = n4 > 0 ? cl_rule_normal_trap(n4, &hi, err) : cl_rule_normal(-n4, &hi, err);
  if (!st && n2 > 0) st = cl_rule_normal_trap(n2, &lo, err);
  if (st) return cl_rule_free(&hi), st;
  cl_rule_free(&d->gh_hi), d->gh_hi = hi;
  if (n2 > 0) cl_rule_free(&d->gh_lo), d->gh_lo = lo;
  d->t4 = n4 > 0 ? n4 : 0;
  gauss_nodes_alloc(d);
  if (!d->gz || !d->gw || !d->goff) return cl_fail(err, CL_ENOMEM, "out of memory");
  return CL_OK;
}

/* Rules in standardised coordinates do not resolve a saturating sigma' (a
 * spike of width ~1 in h) once the pre-activation sd
 * sqrt(Q_ii (1 + s^2) + sum_j (m2_j - 1) R_ji^2) is large: each engine is
 * refused beyond the sd up to which its drift (or, where it prints one, its
 * own error estimate) was verified against a brute-force quadrature
 * (docs/hardening.md s.15).  The M = 1 rules resolve sigma' in h at any
 * scale (gauss_block_m1_panel): their limit is the largest sd verified;
 * the characteristic-function method (drift_cf.c) keeps the limits
 * measured before those rules.  Scale-free sigma, the closed forms and
 * Monte Carlo: no limit. */
static double sd_limit(const cl_drift *d) {
  const cl_act a = d->m.act;
  if (d->erf || d->method == METHOD_MC || !sd_limited(a)) return INFINITY;
  const int k = a == CL_ACT_TANH ? 0 : a == CL_ACT_ERF ? 1 : 2;
  /* M = 1: its trapezoid/panel rules in h; with many c nodes (the
   * characteristic functions, drift_cf.c) the limits of the trapezoid
   * before the panel rule (not re-measured there) */
  static const double m1[3] = {1000, 1000, 1000}, m1_cf[3] = {9, 10, 14}, grid[3] = {9, 11, 22},
                      sobol[3] = {12, 17, 60};
  /* `expect quad` per M: M = 2, 3, 4 and 5 have their own levels (and
   * M >= 3 the inner rule by pairs), measured separately (docs/accurate.md
   * s.8); beyond QUAD_SD_MMAX (not measured) cl_drift_alloc refuses these
   * three sigma */
  static const double quad[QUAD_SD_MMAX - 1][3] = {{1.15, 2, 4}, {1.7, 2.5, 6}, {1.5, 2, 5}, {1.3, 2.5, 4}};
  const int qm = (d->M < 2 ? 2 : d->M > QUAD_SD_MMAX ? QUAD_SD_MMAX : d->M) - 2;
  return d->g2 ? grid[k] : d->qacc ? quad[qm][k] : d->multi ? sobol[k] : d->cf || !d->px ? m1_cf[k] : m1[k];
}
static cl_status sd_guard(const cl_drift *d, const double *R, const double *Q, char *err) {
  const double lim = sd_limit(d), s2 = d->m.s * d->m.s;
  if (lim == INFINITY) return CL_OK;
  for (int i = 0; i < d->M; i++) {
    double v = Q[i * d->M + i] * (1 + s2);
    for (int j = 0; j < d->K; j++) v += (d->m.c[j].m2 - 1) * R[j * d->M + i] * R[j * d->M + i];
    if (sqrt(fmax(v, 0)) > lim)
      return cl_fail(err, CL_EDIVERGE,
                     "expect: the pre-activation sd %.3g (unit %d) exceeds the range the rules resolve for %s "
                     "(<= %g); lower s or Q (docs/hardening.md s.15)",
                     sqrt(v), i + 1, cl_act_name(d->m.act), lim);
  }
  return CL_OK;
}

/* The deterministic engines' "replicates" are their levels (docs/accurate.md
 * s.4): coarse (0) and fine (1), and for the quad rule at M >= 3 the middle
 * one (2) that its estimate also uses.  cl_ode_solve writes the fine one
 * (cl_drift_written_rep) and bounds the trajectory by its largest distance to
 * the others, as the drift's estimate. */
int cl_drift_nrep(const cl_drift *d) {
  int n = 0;
  if (d->multi) cl_multi_replicates(d->multi, &n);
  if (d->qacc) n = cl_acc_nlev(d->qacc);
  if (d->g2) n = 2;
  return n;
}
cl_status cl_drift_eval_rep(cl_drift *d, int rep, const double *R, const double *Q, double *dR,
                            double *dQ, char *err) {
  cl_status sg = sd_guard(d, R, Q, err);
  if (sg) return sg;
  if (d->qacc && rep >= 0 && rep < cl_acc_nlev(d->qacc)) return cl_acc_eval_level(d->qacc, rep, R, Q, dR, dQ, err);
  if (d->g2 && (rep == 0 || rep == 1)) return cl_grid_eval_level(d->g2, rep, R, Q, dR, dQ, err);
  if (!d->multi) return cl_fail(err, CL_EINVAL, "replicate drifts need the M >= 2 engine");
  return cl_multi_eval_rep(d->multi, rep, R, Q, dR, dQ, err);
}
void cl_drift_pin_rep(cl_drift *d, int rep) { d->pin = rep >= 0 && rep < cl_drift_nrep(d) ? rep + 1 : 0; }
int cl_drift_written_rep(const cl_drift *d) { return d->qacc || d->g2 ? 1 : -1; }
int cl_drift_grid_unresolved(const cl_drift *d) { return d->g2 && cl_grid_unresolved(d->g2); }
double cl_drift_grid_round(const cl_drift *d) { return d->g2 ? cl_grid_round(d->g2) : 0; }
void cl_drift_grid_round_comp(const cl_drift *d, double *dR, double *dQ) {
  if (d->g2) cl_grid_round_comp(d->g2, dR, dQ);
  else memset(dR, 0, sizeof(double) * (size_t)d->m.K * d->m.M), memset(dQ, 0, sizeof(double) * (size_t)d->m.M * d->m.M);
}
int cl_drift_closed(const cl_drift *d) { return d->erf != NULL; }
int cl_drift_kinked(const cl_drift *d) { return d->multi && cl_multi_kinked(d->multi); }
int cl_drift_ode_grid(const cl_model *m, cl_quad_opts *q) {
  if ((m->M != 3 && m->M != 4) || q->expect != CL_EXPECT_QMC || q->qmc_points > 0 || cl_erf_applies(m, NULL, 0) ||
      !cl_grid_applies(m, NULL, 0))
    return 0;
  q->expect = CL_EXPECT_GRID;
  return 1;
}
int cl_drift_grid_refused(const char *err) { return err && strstr(err, CL_GRID_REFUSAL) != NULL; }
int cl_drift_fallback(const cl_model *m, const cl_quad_opts *o, cl_quad_opts *q, const char **name) {
  if (o->expect != CL_EXPECT_QMC || o->qmc_points > 0) return 0;
  *q = *o;
  q->expect = m->act == CL_ACT_CUBIC ? CL_EXPECT_QUAD : CL_EXPECT_SOBOL;
  if (name) *name = m->act == CL_ACT_CUBIC ? "quad rule" : "Sobol' rules";
  return 1;
}
/* Every replicate at its own state (R, Q: nrep blocks each); the Sobol'
 * engine evaluates them in one parallel region (docs/multi.md s.8). */
cl_status cl_drift_eval_reps(cl_drift *d, const double *R, const double *Q, double *dR, double *dQ,
                             char *err) {
  const size_t KM = (size_t)d->m.K * d->m.M, MM = (size_t)d->m.M * d->m.M;
  for (int r = 0; r < cl_drift_nrep(d); r++) {
    cl_status sg = sd_guard(d, R + r * KM, Q + r * MM, err);
    if (sg) return sg;
  }
  if (d->g2) return cl_grid_eval_reps(d->g2, R, Q, dR, dQ, err);
  if (d->qacc) {
    for (int r = 0; r < cl_acc_nlev(d->qacc); r++) {
      cl_status st = cl_acc_eval_level(d->qacc, r, R + r * KM, Q + r * MM, dR + r * KM, dQ + r * MM, err);
      if (st) return st;
    }
    return CL_OK;
  }
  if (!d->multi) return cl_fail(err, CL_EINVAL, "replicate drifts need the M >= 2 engine");
  int nr = 0;
  cl_multi_replicates(d->multi, &nr);
  int rl[64];
  const double *Rl[64], *Ql[64];
  double *dRl[64], *dQl[64];
  if (nr > 64) return cl_fail(err, CL_EINVAL, "too many replicate rules (%d > 64)", nr);
  for (int r = 0; r < nr; r++)
    rl[r] = r, Rl[r] = R + r * KM, Ql[r] = Q + r * MM, dRl[r] = dR + r * KM, dQl[r] = dQ + r * MM;
  return cl_multi_eval_reps(d->multi, nr, rl, Rl, Ql, dRl, dQl, err);
}
double cl_drift_tquant(const cl_drift *d) {
  return d->multi ? cl_multi_tquant(d->multi) : d->qacc || d->g2 ? 2.0 : 0;
}
double cl_drift_stderr(const cl_drift *d) {
  return d->multi ? cl_multi_errmax(d->multi)
         : d->qacc ? cl_acc_errmax(d->qacc)
         : d->g2 ? cl_grid_errmax(d->g2)
         : d->erf ? cl_erf_errmax(d->erf)
                  : d->se;
}
const char *cl_drift_method(const cl_drift *d) { return d->method_str; }

/* M = 1: the coarse level of cl_ode_solve's error estimate
 * (docs/m1-many-features.md s.7) and the tests' finer references: the same
 * engine with every rule at f times its nodes (Gaussian part, laws,
 * m-grid, the kink-split panels' Gauss-Legendre points, at most 32) and
 * the characteristic functions' error exponents (w cut, x step, range) at
 * fe[0..2] times theirs; the method (characteristic functions or tensor
 * rules) is d's.  The coarse level keeps the x step: at half its exponent
 * the coarse level was 1e-5 off for tanh (against 1e-12 for the fine one),
 * an estimate too loose to use, while its w cut and range cost the most
 * (the laws' characteristic functions at every w node: student's Bessel
 * functions) and their lower exponents move the drift by ~1e-11. */
static const double m1_coarse_f = 0.75, m1_coarse_fe[3] = {0.4, 0.85, 0.5};
static int m1_level_n(double f, int n) { return (int)fmax(1, floor(f * n)); }
cl_status cl_drift_m1_level(const cl_drift *d, double f, const double fe[3], cl_drift **out, char *err) {
  *out = NULL;
  if (d->M != 1 || d->erf || d->method == METHOD_MC || d->multi || d->qacc || d->g2) return CL_OK;
  cl_quad_opts q = d->qo;
  q.n_gauss = m1_level_n(f, q.n_gauss > 0 ? q.n_gauss : CL_QUAD_GAUSS);
  q.n_law = m1_level_n(f, q.n_law > 0 ? q.n_law : CL_QUAD_LAW);
  q.n_mgrid = m1_level_n(f, d->nm);
  q.m1_cf = d->cf ? 1 : -1;
  cl_status st = cl_drift_alloc(&d->m, &q, out, err);
  if (st) return st;
  cl_drift *c = *out;
  if (c->cf) cl_cf_scale_exponents(c->cf, fe);
  /* every level takes the written level's decisions between rules (the
   * characteristic functions' grids, drift_cf.c; the kink-split rule's
   * panels; here the tensor fallback's resolution of a uniform law), so
   * that the levels differ only by their rules (s.7) */
  c->ks_nl = d->ks_nl;
  if (c->ks && (st = cl_rule_legendre(c->ks_gl = (int)fmin(KS_GLMAX, m1_level_n(f, KS_GL)), -1, 1, c->ks_glx, c->ks_glw,
                                      err))) {
    cl_drift_free(c), *out = NULL;
    return st;
  }
  return CL_OK;
}
static const char *tensor4_unbounded(const cl_drift *d) {
  if (cl_act_polynomial(d->m.act)) return NULL;
  if (!d->t4)
    return "no error bound: sigma's kink makes the Gaussian rules converge too slowly for two levels (use the "
           "default engine)";
  for (int j = 0; j < d->K; j++)
    if (d->m.c[j].kind == CL_LAW_STUDENT)
      return "no error bound: the student law's rule converges too slowly for two levels (use the default "
             "engine)";
  return NULL;
}
/* The tensor rules (only under --quad-cf off) with a student law: its
 * normal scale mixture converges like a power of the points, so the coarse
 * level's difference is a fraction of the fine level's error (sigmoid,
 * student:1:5 + rademacher:1: 4.2e-5 against 1.25e-4), as for the quad
 * rule of docs/accurate.md s.4; with linear or cubic sigma and a laplace
 * law: the integrands are polynomials, which the rules integrate exactly
 * but for the far tail nodes they drop (weight times growth below 1e-15),
 * and both levels drop them (cubic, uniform:1 + laplace:2 + uniform:3:
 * 2.1e-8 between the levels, 3.8e-7 from a 4 times finer rule).  No bound
 * there (bench/m1est with --quad-cf off). */
const char *cl_drift_m1_unbounded(const cl_drift *d) {
  if (is_tensor4(d)) return tensor4_unbounded(d);
  if (d->M != 1 || d->cf || d->erf || d->method == METHOD_MC || d->multi || d->qacc || d->g2) return NULL;
  const int poly = d->m.act == CL_ACT_LINEAR || d->m.act == CL_ACT_CUBIC;
  for (int j = 0; j < d->K; j++)
    if (d->m.c[j].kind == CL_LAW_STUDENT)
      return "no error bound: the student law's rule converges too slowly for two levels (use the default "
             "characteristic functions)";
  for (int j = 0; j < d->K && poly; j++)
    if (d->m.c[j].kind == CL_LAW_LAPLACE)
      return "no error bound: the rule drops the laplace law's far tail nodes, whose error neither level sees "
             "(use the default exact moments)";
  return NULL;
}
double cl_drift_level_factor(const cl_drift *d) { return d->M == 2 && d->t4 ? CL_TENSOR4_SAFE : 1; }
cl_status cl_drift_m1_coarse(const cl_drift *d, cl_drift **out, char *err) {
  *out = NULL;
  if (cl_drift_m1_unbounded(d)) return CL_OK;
  if (is_tensor4(d)) {
    if (!d->t4) return CL_OK;
    /* the same engine (its refusals passed) with 3/4 of the laws' Gauss
     * points and of the Gaussian trapezoids' nodes */
    cl_quad_opts q = d->qo;
    q.n_law = m1_level_n(m1_coarse_f, q.n_law > 0 ? q.n_law : CL_QUAD_LAW);
    cl_status st = cl_drift_alloc(&d->m, &q, out, err);
    if (!st) st = cl_drift_tensor4_rule(*out, m1_level_n(m1_coarse_f, d->t4), m1_level_n(m1_coarse_f, d->gh_lo.n), err);
    if (st) cl_drift_free(*out), *out = NULL;
    return st;
  }
  return cl_drift_m1_level(d, m1_coarse_f, m1_coarse_fe, out, err);
}

/* M = 1: the flat node list (gz, gw) of the active directions' rules rp
 * (outer) and rm (inner), with the mirror half along (1, -1). */
static void build_m1_nodes(cl_drift *d) {
  const cl_rule *r0 = d->rp, *r1 = d->rm;
  int npts = 0, n0 = d->d >= 1 ? r0->n : 1, n1 = d->d == 2 ? r1->n : 1;
  for (int i = 0; i < n0; i++)
    for (int j = 0; j < n1; j++) {
      double z[2] = {d->d >= 1 ? r0->x[i] : 0, d->d == 2 ? r1->x[j] : 0};
      double w = (d->d >= 1 ? r0->w[i] : 1) * (d->d == 2 ? r1->w[j] : 1), mult = 1;
      if (d->pair >= 0) {
        if (z[d->pair] < 0) continue;
        mult = z[d->pair] > 0 ? 1 : 0.5; /* the middle node is its own mirror */
      }
      d->gz[npts * 2] = d->gz[npts * 2 + 1] = 0;
      for (int k = 0; k < d->d; k++) d->gz[npts * 2 + d->slot[k]] = z[k];
      d->gw[npts] = w * mult;
      npts++;
    }
  d->npts = npts;
  d->m1_nodes = 1;
}

/* M = 1: Sigma = [[a, b], [b, a]] has eigenvectors (1, 1)/sqrt 2 (a + b) and
 * (1, -1)/sqrt 2 (a - b) exactly.  Swapping the views flips the second
 * coordinate and exchanges G1 and G2, so only the nodes with z >= 0 along
 * it are evaluated (gauss_block_m1 adds the mirror image). */
static cl_status prepare_m1(cl_drift *d, double a, double b, double A, char *err) {
  if (A < -1e-9 * fmax(a, 1))
    return cl_fail(err, CL_EDIVERGE,
                   "the state left the physical domain: Q - |R|^2 = %g < 0", A);
  double lam[2] = {a + b, a - b}, lmax = fmax(fmax(lam[0], lam[1]), 1e-300);
  const double r2 = 0.70710678118654752;
  double vecs[2][2] = {{r2, r2}, {r2, -r2}};
  d->d = 0;
  for (int k = 0; k < 2; k++)
    if (lam[k] > 1e-12 * lmax) {
      if (k == 1) d->pair = d->d;
      d->slot[d->d] = k; /* node coordinates are stored by direction: + then - */
      d->lam[d->d] = lam[k];
      d->vec[0 * 2 + d->d] = vecs[k][0], d->vec[1 * 2 + d->d] = vecs[k][1];
      d->d++;
    }
  /* h - mu = cp z_+ (1, 1) + cm z_- (1, -1) */
  d->cp = d->cm = 0;
  for (int k = 0; k < d->d; k++) *(d->slot[k] == 0 ? &d->cp : &d->cm) = r2 * sqrt(d->lam[k]);
  /* Points per direction.  The trapezoid rule in z_k converges like
   * exp(-(2 pi y / h - y^2 / 2)) for an integrand analytic in |Im z_k| < y
   * (the Gaussian weight grows like exp(y^2 / 2) off the real axis); the
   * default rule (cl_rule_normal_trap, step h_n on [-L, L]) is designed for
   * y = 1.5, exponent 2 pi 1.5 / h_n - 1.125 (25 for 40 points).  Along
   * direction k, h - mu moves by c_k z_k, so sigma's poles (tanh: Im h =
   * pi/2; sigmoid: pi) are at |Im z_k| = d_k = pole / c_k.  Where d_k > 1.5
   * a longer step on the same range reaches the exponent E = design + 10:
   * y = min(d_k, 2 pi / h) maximises it, so h = 2 pi d_k / (E + d_k^2 / 2)
   * if d_k^2 < 2 E, else pi sqrt(2 / E).  The + 10 matters: the design
   * exponent is an error of ~1e-7 in dQ at the default model's start (the
   * double poles of sigma' squared in V), and reduced rules at that level
   * made the drift jump by 1e-7 where a count changed, which DOP853's
   * dense-output check saw (twice the drift evaluations); at + 10 the
   * reduced rules are never less accurate than the full one (measured
   * along R in [0.1, 0.9], Q = 0.9).  With s = 0.5, rho = 0 the direction
   * (1, -1) has d ~ 4.4 (24 points instead of 40), and both directions
   * need about 20 once R has grown (Q - R^2 small). */
  int nk[2] = {d->gh_lo.n, d->gh_lo.n};
  d->panel = 0;
  if (d->pole > 0 && d->method != METHOD_MC) {
    double L = -d->gh_lo.x[0], E = d->trap_E;
    for (int k = 0; k < d->d; k++) {
      double c = sqrt(d->lam[k] / 2), dk = c > 0 ? d->pole / c : INFINITY;
      /* Where the poles come closer (large Q or s: the sd of h grows, and
       * sigma' is a narrow peak in z_k), the trapezoid would need a shorter
       * step (at Q = 10 the 40-point rule was 7e-3 off in dQ for tanh,
       * docs/kinks.md), and more points did not reach the tolerances: 4x
       * the points left 1e-5 (tanh), 2e-8 (erf), 3e-7 (sigmoid) relative at
       * sd 4-10 and did not reach past sd 7 (docs/hardening.md s.15).  The
       * panel rule in h resolves sigma' at any scale (gauss_block_m1_panel).
       * It takes over wherever the trapezoid's exponent at d_k falls below
       * trap_Emin, on either side of the design's 1.5: the error is about
       * C exp(-exponent), with C measured up to e^11 (tanh), e^8.5
       * (sigmoid), e^4.4 (erf) near d = 1.5 (bench/m1margin.sh), so each
       * activation needs the exponent of its own tolerance.  A fixed
       * margin of 2 below the design for d_k < 1.5 only (before) left
       * erf 64, sigmoid 4.8 and tanh 2.6 times their tolerances at
       * d = 1.4-1.56.  The default model's start (tanh, d = 1.49,
       * exponent design - 0.13) stays on the default rule: tanh's
       * threshold is the design - 0.5.  (The exponent with y = d_k holds
       * for d_k below 2 pi / h, where that y is the best; beyond, it is
       * (2 pi / h)^2 / 2, 151 at 40 points.) */
      double Ei = d->trap_Emin, h0 = 2 * L / (nk[k] - 1), hi = 2 * M_PI * dk / (Ei + 0.5 * dk * dk);
      if (dk * h0 < 2 * M_PI && hi < h0) {
        d->panel = 1;
        continue;
      }
      if (!(dk > 1.5) || !d->adapt) continue;
      double h = dk * dk < 2 * E ? 2 * M_PI * dk / (E + 0.5 * dk * dk) : M_PI * sqrt(2 / E);
      /* rounded up to a multiple of 4, so that the stages of a step
       * rarely straddle a change of rule */
      double need = 4 * ceil((ceil(2 * L / h) + 1) / 4);
      if (need < nk[k]) nk[k] = (int)need;
    }
  }
  /* The node set depends only on which directions are active and on their
   * point counts: it is built when they change (building it every
   * evaluation cost more than the quadrature itself, measured: 72% of
   * `cldyn ode`). */
  int key = (d->d == 2 ? 3 : d->d == 1 ? 1 + d->slot[0] : 0) + 4 * (nk[0] + 4096 * nk[1]); /* nk < 4096 */
  if (d->method == METHOD_MC) return CL_OK; /* no nodes (gz holds one point) */
  if (d->panel) return d->psize = psi_size(1, d->d), CL_OK; /* fixed nodes in h */
  if (key == d->m1_key) return d->psize = psi_size(1, d->d), CL_OK;
  const cl_rule *rk[2];
  for (int k = 0; k < 2; k++) {
    rk[k] = &d->gh_lo;
    if (nk[k] != d->gh_lo.n) {
      cl_rule *t = &d->trap[nk[k]];
      if (!t->n && cl_rule_normal_trap_range(nk[k], -d->gh_lo.x[0], t, err))
        return CL_ENOMEM;
      rk[k] = t;
    }
  }
  d->rp = rk[0], d->rm = rk[1], d->jm0 = 0;
  while (d->jm0 < rk[1]->n && rk[1]->x[d->jm0] < 0) d->jm0++;
  d->m1_key = key;
  d->psize = psi_size(1, d->d);
  /* the tanh kernel needs only the two rules: the node list is built when
   * the general path first needs it (build_m1_nodes) */
  d->m1_nodes = 0;
  if (!(d->m.act == CL_ACT_TANH && d->d == 2 && d->pair == 1) && !d->kinked) build_m1_nodes(d);
  return CL_OK;
}

/* Eigen-decomposition of Sigma; keeps the directions with eigenvalue above
 * a relative threshold.  Fails outside the physical domain. */
static cl_status prepare(cl_drift *d, const double *R, const double *Q, char *err) {
  const int K = d->K, M = d->M, d2 = d->d2;
  const double s2 = d->m.s * d->m.s, rho = d->m.rho;
  cl_status st = cl_state_finite(K, M, R, Q, err);
  if (st) return st;
  double S[4 * CL_MMAX * CL_MMAX];
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) {
      double A = Q[i * M + l];
      for (int j = 0; j < K; j++) A -= R[j * M + i] * R[j * M + l];
      for (int j = 0; j < K; j++)
        if (d->merged[j]) A += d->m.c[j].m2 * R[j * M + i] * R[j * M + l];
      S[i * d2 + l] = S[(M + i) * d2 + M + l] = A + s2 * Q[i * M + l];
      S[i * d2 + M + l] = S[(M + i) * d2 + l] = A + rho * s2 * Q[i * M + l];
    }
  d->pair = -1;
  if (d->method == METHOD_MC) {
    /* the fixed normals are mapped by the symmetric root, a function of
     * Sigma alone: the eigenvectors rotate freely inside a repeated
     * eigenspace, and with them the draw (docs/multi.md s.8) */
    double A[CL_MMAX * CL_MMAX];
    if ((st = cl_resid_cov_domain(K, M, R, Q, 0, A, err))) return st;
    d->d = d2;
    const double *Sb = S;
    double *const Rt = d->root, *const GSt = d->gsmap;
    return cl_sym_roots_ginv(1, &Sb, d2, &Rt, &GSt, err);
  }
  if (M == 1) {
    double A1;
    cl_resid_cov(K, 1, R, Q, 0, &A1);
    return d->sig1 = sqrt(fmax(S[0], 0)), prepare_m1(d, S[0], S[1], A1, err);
  }
  gsl_matrix_view sv = gsl_matrix_view_array(S, (size_t)d2, (size_t)d2);
  gsl_vector *ev = gsl_vector_alloc((size_t)d2);
  gsl_matrix *evec = gsl_matrix_alloc((size_t)d2, (size_t)d2);
  gsl_eigen_symmv_workspace *ws = gsl_eigen_symmv_alloc((size_t)d2);
  /* Q - R^T R must be PSD: check its smallest eigenvalue separately (the
   * status is returned below, after the decomposition, as it always was) */
  double A[CL_MMAX * CL_MMAX];
  const cl_status dom = cl_resid_cov_domain(K, M, R, Q, 0, A, err);
  gsl_eigen_symmv(&sv.matrix, ev, evec, ws);
  double lmax = 0;
  for (int k = 0; k < d2; k++) lmax = fmax(lmax, gsl_vector_get(ev, k));
  d->d = 0;
  for (int k = 0; k < d2; k++) {
    double l = gsl_vector_get(ev, k);
    if (l > 1e-12 * fmax(lmax, 1e-300)) {
      d->lam[d->d] = l;
      for (int r = 0; r < d2; r++) d->vec[r * d2 + d->d] = gsl_matrix_get(evec, (size_t)r, (size_t)k);
      d->d++;
    }
  }
  gsl_eigen_symmv_free(ws);
  gsl_matrix_free(evec);
  gsl_vector_free(ev);
  if (dom) return dom;
  /* tensor Gauss-Hermite over the active directions: offsets h - mu = L z */
  const cl_rule *r = d->d > 2 ? &d->gh_hi : &d->gh_lo;
  int npts = 1;
  for (int k = 0; k < d->d; k++) npts *= r->n;
  d->npts = npts;
  /* the standardised nodes depend only on the number of active directions */
  if (d->m1_key != 10 + d->d) {
    for (int p = 0; p < npts; p++) {
      int rest = p;
      double w = 1;
      for (int k = 0; k < d->d; k++) {
        int i = rest % r->n;
        rest /= r->n;
        d->gz[p * d2 + k] = r->x[i];
        w *= r->w[i];
      }
      d->gw[p] = w;
    }
    d->m1_key = 10 + d->d;
  }
  double L[4 * CL_MMAX * CL_MMAX]; /* h - mu = L z, L = V diag(sqrt(lam)) */
  for (int row = 0; row < d2; row++)
    for (int k = 0; k < d->d; k++) L[row * d2 + k] = d->vec[row * d2 + k] * sqrt(d->lam[k]);
  for (int p = 0; p < npts; p++)
    for (int row = 0; row < d2; row++) {
      double off = 0;
      for (int k = 0; k < d->d; k++) off += L[row * d2 + k] * d->gz[p * d2 + k];
      d->goff[p * d2 + row] = off;
    }
  d->psize = psi_size(M, d->d);
  return CL_OK;
}

/* Per-sample contributions for one (h1, h2) with standardised coordinates z:
 * adds w times [G_i, T_a,i,k, P_il, Vm_il] to psi (layout of psi_size). */
static inline void accumulate(const cl_drift *d, const double *h1, const double *h2,
                              const double *D1, const double *D2, const double *z, double w,
                              double *psi) {
  const int M = d->M, dd = d->d;
  const double s2 = d->m.s * d->m.s, rho = d->m.rho;
  double *G = psi, *T = psi + M, *P = T + 2 * M * dd, *V = P + M * M;
  for (int i = 0; i < M; i++) {
    G[i] += w * (D1[i] + D2[i]);
    for (int k = 0; k < dd; k++) {
      T[i * dd + k] += w * D1[i] * z[k];
      T[(M + i) * dd + k] += w * D2[i] * z[k];
    }
    for (int l = 0; l < M; l++) {
      P[i * M + l] += w * (D1[l] * h1[i] + D2[l] * h2[i]);
      V[i * M + l] += w * ((1 + s2) * (D1[i] * D1[l] + D2[i] * D2[l]) +
                           (1 + rho * s2) * (D1[i] * D2[l] + D2[i] * D1[l]));
    }
  }
}

/* M = 1: D1 = G1 = sigma'(h1) sigma(h2), D2 = G2 = sigma(h1) sigma'(h2);
 * the same sums as accumulate() without the general loss (the hot loop of
 * the ode command). */
/* The accumulation over a chunk of nodes, vectorised (omp simd reductions).
 * z holds the node coordinates (2 per node, 0 when a direction is inactive);
 * with mirror != 0 each node also stands for its view-swapped mirror
 * (z[1] -> -z[1], G1 <-> G2): slot 0 is the direction (1, 1), slot 1 the
 * direction (1, -1). */
static void accumulate_m1(int n, const double *restrict z, const double *restrict w,
                          const double *restrict h1, const double *restrict h2,
                          const double *restrict f1, const double *restrict g1,
                          const double *restrict f2, const double *restrict g2, double s2,
                          double rho, int mirror, double *restrict acc) {
  double G = 0, T0 = 0, T1 = 0, T2 = 0, T3 = 0, P = 0, V = 0;
  const double c1 = 1 + s2, c2 = 2 * (1 + rho * s2);
  if (mirror) {
#pragma omp simd reduction(+ : G, T0, T1, T2, T3, P, V)
    for (int k = 0; k < n; k++) {
      double G1 = g1[k] * f2[k], G2 = f1[k] * g2[k], wk = w[k], za = z[2 * k], zb = z[2 * k + 1];
      G += 2 * wk * (G1 + G2);
      T0 += wk * (G1 + G2) * za, T1 += wk * (G1 - G2) * zb;
      T2 += wk * (G2 + G1) * za, T3 += wk * (G2 - G1) * zb;
      P += 2 * wk * (G1 * h1[k] + G2 * h2[k]);
      V += 2 * wk * (c1 * (G1 * G1 + G2 * G2) + c2 * G1 * G2);
    }
  } else {
#pragma omp simd reduction(+ : G, T0, T1, T2, T3, P, V)
    for (int k = 0; k < n; k++) {
      double G1 = g1[k] * f2[k], G2 = f1[k] * g2[k], wk = w[k], za = z[2 * k], zb = z[2 * k + 1];
      G += wk * (G1 + G2);
      T0 += wk * G1 * za, T1 += wk * G1 * zb, T2 += wk * G2 * za, T3 += wk * G2 * zb;
      P += wk * (G1 * h1[k] + G2 * h2[k]);
      V += wk * (c1 * (G1 * G1 + G2 * G2) + c2 * G1 * G2);
    }
  }
  acc[0] += G, acc[1] += T0, acc[2] += T1, acc[3] += T2, acc[4] += T3, acc[5] += P, acc[6] += V;
}

/* tanh with both directions active (the common case of `cldyn ode`), the
 * same sums as accumulate_m1 with the mirror: with h = mu + u_i +- v_j
 * (u_i = cp z+_i, v_j = cm z-_j, z-_j >= 0), e^(2 h1) = A_i B_j and
 * e^(2 h2) = A_i / B_j, and with r = 1 / (1 + e^(2h)), tanh h = 1 - 2 r and
 * tanh' h = 4 e^(2h) r^2 (no cancellation for large |h|).  n+ + n-
 * exponentials per table and a division per node instead of two tanh per
 * node.  Returns 0 (nothing done) if e^(2h) could overflow. */
CL_M1_CLONES static int gauss_block_m1_tanh(const cl_drift *d, double mu, double *acc) {
  enum { NJ = 208 };
  const cl_rule *rp = d->rp, *rm = d->rm;
  const int n0 = rp->n, j0 = d->jm0, n1 = rm->n - j0;
  /* E = e^(2h) <= e^150: E^2 and 1 / q^2 stay below e^600 */
  if (n1 > NJ || !(fabs(mu) + d->cp * fabs(rp->x[0]) + d->cm * fabs(rm->x[0]) < 75)) return 0;
  /* c1 (G1^2 + G2^2) + c2 G1 G2 = c1 S^2 + c3 G1 G2, S = G1 + G2 */
  const double s2 = d->m.s * d->m.s, c1 = 1 + s2, c3 = 2 * (1 + d->m.rho * s2) - 2 * c1;
  double B[NJ], Bi[NJ], v[NJ], zb[NJ], wb[NJ], A[2 * NJ], u[2 * NJ];
  double X0[2 * NJ] = {0}, X1[2 * NJ] = {0}, XV[2 * NJ] = {0};
  if (n0 > 2 * NJ) return 0;
  for (int j = 0; j < n1; j++) {
    zb[j] = rm->x[j0 + j], wb[j] = rm->w[j0 + j] * (zb[j] > 0 ? 1 : 0.5);
    v[j] = d->cm * zb[j];
  }
#pragma omp simd
  for (int j = 0; j < n1; j++) B[j] = exp(2 * v[j]), Bi[j] = exp(-2 * v[j]);
  for (int i = 0; i < n0; i++) u[i] = mu + d->cp * rp->x[i];
#pragma omp simd
  for (int i = 0; i < n0; i++) A[i] = exp(2 * u[i]);
  /* the inner loop runs over direction (1, 1), the longer one (the other
   * is halved by the mirror): full SIMD vectors */
  for (int j = 0; j < n1; j++) {
    const double b = B[j], bi = Bi[j], wj = wb[j], wjz = wj * zb[j], wj1 = wj * c1, wj3 = wj * c3;
#pragma omp simd
    for (int i = 0; i < n0; i++) {
      /* G1 = tanh'(h1) tanh(h2) = 4 E1 (E2 - 1) / ((1 + E1)^2 (1 + E2))
       *    = 4 q^2 E1 (E2^2 - 1) with q = 1 / ((1 + E1)(1 + E2)), and G2
       * likewise: one division for both views */
      double E1 = A[i] * b, E2 = A[i] * bi, q = 1 / ((1 + E1) * (1 + E2)), k = 4 * (q * q);
      double G1 = k * (E1 * (E2 * E2 - 1)), G2 = k * (E2 * (E1 * E1 - 1)), S = G1 + G2;
      X0[i] += wj * S, X1[i] += wjz * (G1 - G2);
      XV[i] += wj1 * (S * S) + wj3 * (G1 * G2);
    }
  }
  /* E[G1 h1 + G2 h2] = E[(G1 + G2) u + (G1 - G2) v] with v = cm z-: from
   * X0 and X1 */
  double S0 = 0, S0z = 0, S1z = 0, SP = 0, SV = 0;
  for (int i = 0; i < n0; i++) {
    const double wi = rp->w[i];
    S0 += wi * X0[i], S0z += wi * rp->x[i] * X0[i], S1z += wi * X1[i];
    SP += wi * (u[i] * X0[i] + d->cm * X1[i]), SV += wi * XV[i];
  }
  acc[0] = 2 * S0, acc[1] = S0z, acc[2] = S1z, acc[3] = S0z, acc[4] = -S1z, acc[5] = 2 * SP;
  acc[6] = 2 * SV;
  return 1;
}

/* M = 1, sigma piecewise linear with a kink at h = 0 (relu): the rule of
 * docs/kinks.md.  In the coordinates h - mu = cp z+ (1, 1) + cm z- (1, -1)
 * the kink lines h1 = 0 and h2 = 0 are straight lines.  Along the
 * direction with the larger coefficient (x, the inner one) sigma is linear
 * between the two kink points, so every quantity is a quadratic polynomial
 * in x times the normal density on at most three intervals: the inner
 * integral is exact (normal tail moments).  The result is a smooth function
 * of the outer coordinate y except where the kink lines cross (y0), so the
 * outer integral uses Gauss-Legendre panels of unit width on [-L, L] split
 * at y0 (the panel containing y0 is cut in two: the node count does not
 * change with the state).  Returns the full-plane sums in the layout of
 * accumulate_m1's acc. */

/* J_n(k) = int_k^inf x^n phi(x) dx, n = 0, 1, 2 */
static void tail_moments(double k, double J[3]) {
  if (k == -INFINITY) {
    J[0] = 1, J[1] = 0, J[2] = 1;
    return;
  }
  if (k == INFINITY) {
    J[0] = J[1] = J[2] = 0;
    return;
  }
  double q = 0.5 * erfc(k * 0.70710678118654752), ph = 0.39894228040143268 * exp(-0.5 * k * k);
  J[0] = q, J[1] = ph, J[2] = k * ph + q;
}

/* adds w times the inner integral over x at outer coordinate y (h_a = p_a +
 * a_a x, x standard normal; a point mass at x = 0 if a1 = a2 = 0) to
 * e = [G1 + G2, G1 x, G1 y, G2 x, G2 y, G1 h1 + G2 h2, V] */
static void kink_inner(const cl_drift *d, double p1, double a1, double p2, double a2, double y,
                       double w, double c1, double c2, double *e) {
  double k[2], bnd[4];
  int nk = 0;
  if (a1 != 0) k[nk++] = -p1 / a1;
  if (a2 != 0) k[nk++] = -p2 / a2;
  if (nk == 2 && k[1] < k[0]) {
    double t = k[0];
    k[0] = k[1], k[1] = t;
  }
  bnd[0] = -INFINITY;
  for (int i = 0; i < nk; i++) bnd[1 + i] = k[i];
  bnd[nk + 1] = INFINITY;
  const int point = a1 == 0 && a2 == 0;
  double Jlo[3], Jhi[3];
  tail_moments(bnd[0], Jlo);
  for (int i = 0; i <= nk; i++) {
    double lo = bnd[i], hi = bnd[i + 1];
    tail_moments(hi, Jhi);
    /* the signs of h1, h2 inside the interval */
    double xr = isfinite(lo) && isfinite(hi) ? 0.5 * (lo + hi) : isfinite(lo) ? lo + 1 : isfinite(hi) ? hi - 1 : 0;
    double s1 = p1 + a1 * xr > 0 ? d->slope_pos : d->slope_neg;
    double s2 = p2 + a2 * xr > 0 ? d->slope_pos : d->slope_neg;
    double S = s1 * s2;
    if (S != 0 && hi > lo) {
      double M0 = point ? 1 : Jlo[0] - Jhi[0], M1 = point ? 0 : Jlo[1] - Jhi[1],
             M2 = point ? 0 : Jlo[2] - Jhi[2];
      double E1 = p1 * M0 + a1 * M1, E2 = p2 * M0 + a2 * M1;
      double E1x = p1 * M1 + a1 * M2, E2x = p2 * M1 + a2 * M2;
      double E11 = p1 * p1 * M0 + 2 * p1 * a1 * M1 + a1 * a1 * M2;
      double E22 = p2 * p2 * M0 + 2 * p2 * a2 * M1 + a2 * a2 * M2;
      double E12 = p1 * p2 * M0 + (p1 * a2 + p2 * a1) * M1 + a1 * a2 * M2;
      double ws = w * S;
      e[0] += ws * (E1 + E2);
      e[1] += ws * E2x, e[2] += ws * y * E2;
      e[3] += ws * E1x, e[4] += ws * y * E1;
      e[5] += 2 * ws * E12;
      e[6] += ws * S * (c1 * (E11 + E22) + c2 * E12);
    }
    Jlo[0] = Jhi[0], Jlo[1] = Jhi[1], Jlo[2] = Jhi[2];
  }
}

static void gauss_block_m1_kink(const cl_drift *d, double mu, double *acc) {
  const double s2 = d->m.s * d->m.s, c1 = 1 + s2, c2 = 2 * (1 + d->m.rho * s2);
  const double cp = d->cp, cm = d->cm;
  /* inner along z+ (h_a = mu +- cm y + cp x) or along z- (h_a = mu + cp y +- cm x) */
  const int inner_p = cp >= cm;
  const double ci = inner_p ? cp : cm, co = inner_p ? cm : cp;
  double e[7] = {0};
  if (co == 0) { /* one direction at most: the inner integral alone */
    if (inner_p) kink_inner(d, mu, cp, mu, cp, 0, 1, c1, c2, e);
    else kink_inner(d, mu, ci, mu, -ci, 0, 1, c1, c2, e);
  } else {
    /* the kink lines cross at y0 = 0 (inner z+) or y0 = -mu / cp (inner z-) */
    enum { L = 9 };
    const double y0 = inner_p ? 0 : -mu / cp;
    for (int pnl = -L; pnl < L; pnl++) {
      double lo = pnl, hi = pnl + 1;
      for (int half = 0; half < 2; half++) {
        double a = lo, b = hi;
        if (y0 > lo && y0 < hi) {
          if (half == 0) b = y0;
          else a = y0;
        } else if (half == 1) break;
        const double hw = 0.5 * (b - a), mid = 0.5 * (a + b);
        for (int k = 0; k < d->kq; k++) {
          double y = mid + hw * d->kq_x[k];
          double w = hw * d->kq_w[k] * 0.39894228040143268 * exp(-0.5 * y * y);
          if (inner_p) kink_inner(d, mu + cm * y, cp, mu - cm * y, cp, y, w, c1, c2, e);
          else kink_inner(d, mu + cp * y, cm, mu + cp * y, -cm, y, w, c1, c2, e);
        }
      }
    }
  }
  /* acc: G, E[G1 z+], E[G1 z-], E[G2 z+], E[G2 z-], P, V */
  acc[0] = e[0], acc[5] = e[5], acc[6] = e[6];
  if (inner_p) acc[1] = e[1], acc[2] = e[2], acc[3] = e[3], acc[4] = e[4];
  else acc[1] = e[2], acc[2] = e[1], acc[3] = e[4], acc[4] = e[3];
}

/* M = 1, tanh, sigmoid or erf where sigma's poles come closer than the
 * trapezoid's design (large pre-activation sd: prepare_m1; docs/kinks.md,
 * docs/hardening.md s.15).
 * Every term carries sigma'(h1) or sigma'(h2), and the views are
 * exchangeable (Sigma has equal diagonal entries), so
 *   E[G2] = E[G1], E[G2 h2] = E[G1 h1], E[G2 z+] = E[G1 z+], E[G2 z-] = -E[G1 z-],
 *   E[V] = 2 c1 E[G1^2] + c2 E[G1 G2],
 * and only G1 = sigma'(h1) sigma(h2) is integrated, in the coordinates
 *   h1 = mu + S u,  h2 = mu + k u + sc v   (u, v independent standard normals,
 *   S^2 = cp^2 + cm^2, k = (cp^2 - cm^2) / S, sc = 2 cp cm / S),
 *   z+ = (cp u + cm v) / S,  z- = (cm u - cp v) / S.
 * sigma'(h1) confines h1 to [-pH, pH]: the outer integral uses the fixed
 * panel nodes px in h1 with the normal density of h1 as a weight, so the
 * rule resolves sigma' at any scale S.  The inner integral over h2 given h1
 * uses the same nodes on [-pH, pH] with the exact normal tails beyond
 * (sigma is its limit there: tail moments), or, where the conditional sd
 * sc is small against sigma's scale (poles >= 3 sc away in v), gh_lo's
 * trapezoid in v.  Fills acc as accumulate_m1 with the mirror. */
CL_M1_CLONES static void gauss_block_m1_panel(const cl_drift *d, double mu, double *acc) {
  const double cp = d->cp, cm = d->cm, S = sqrt(cp * cp + cm * cm), k21 = (cp * cp - cm * cm) / S,
               sc = 2 * cp * cm / S, iS = 1 / S, ir2pi = 0.39894228040143268;
  const double s2 = d->m.s * d->m.s, c1 = 1 + s2, c2 = 2 * (1 + d->m.rho * s2);
  const int n = d->pn, inner_panels = sc * 3 > d->pole, nt = d->gh_lo.n, q = d->pq;
  const double pw_ = 2 * d->pH / (n / q); /* panel width */
  const double *px = d->px, *pw = d->pw, *pf = d->pf, *pg = d->pg, *pf2 = d->pf2, *pgf = d->pgf;
  const double H = d->pH, lo = d->sig_lo, hi = d->sig_hi, isc = inner_panels ? 1 / sc : 0;
  double a = 0, Tu = 0, Tv = 0, b = 0, e11 = 0, e12 = 0;
  enum { NT = 256 };
  double h2[NT], f2[NT], g2[NT];
  /* only the panels within 12 sd of the mean (the normal density beyond
   * is below 1e-31 of its peak) */
  int i0 = (int)floor((mu - 12 * S + H) / pw_), i1 = (int)ceil((mu + 12 * S + H) / pw_);
  i0 = i0 < 0 ? 0 : i0 * q, i1 = i1 > n / q ? n : i1 * q;
  for (int i = i0; i < i1; i++) {
    const double u = (px[i] - mu) * iS;
    const double W = pw[i] * ir2pi * exp(-0.5 * u * u) * iS * pg[i], m2 = mu + k21 * u;
    if (W == 0) continue;
    /* I0..I3 = E[sigma(h2)], E[sigma(h2) v], E[sigma(h2)^2], E[sigma'(h2) sigma(h2)] given h1 */
    double I0 = 0, I1 = 0, I2 = 0, I3 = 0;
    if (inner_panels) {
      int j0 = (int)floor((m2 - 12 * sc + H) / pw_), j1 = (int)ceil((m2 + 12 * sc + H) / pw_);
      j0 = j0 < 0 ? 0 : j0 * q, j1 = j1 > n / q ? n : j1 * q;
#pragma omp simd reduction(+ : I0, I1, I2, I3)
      for (int j = j0; j < j1; j++) {
        const double t = (px[j] - m2) * isc, e = pw[j] * exp(-0.5 * t * t);
        I0 += e * pf[j], I1 += e * pf[j] * t, I2 += e * pf2[j], I3 += e * pgf[j];
      }
      const double f = ir2pi * isc;
      I0 *= f, I1 *= f, I2 *= f, I3 *= f;
      /* beyond +-H sigma is its limit: the normal tail moments */
      const double tH = (H - m2) * isc, tL = (-H - m2) * isc;
      const double Pu = 0.5 * erfc(tH * 0.70710678118654752), Pl = 0.5 * erfc(-tL * 0.70710678118654752);
      const double fu = ir2pi * exp(-0.5 * tH * tH), fl = ir2pi * exp(-0.5 * tL * tL);
      I0 += hi * Pu + lo * Pl, I1 += hi * fu - lo * fl, I2 += hi * hi * Pu + lo * lo * Pl;
    } else if (sc > 0) {
      for (int j0 = 0; j0 < nt; j0 += NT) {
        const int m = nt - j0 < NT ? nt - j0 : NT;
        const double *vx = d->gh_lo.x + j0, *vw = d->gh_lo.w + j0;
        for (int j = 0; j < m; j++) h2[j] = m2 + sc * vx[j];
        cl_act_eval_vec(d->m.act, h2, f2, g2, m);
        for (int j = 0; j < m; j++) {
          I0 += vw[j] * f2[j], I1 += vw[j] * f2[j] * vx[j];
          I2 += vw[j] * f2[j] * f2[j], I3 += vw[j] * g2[j] * f2[j];
        }
      }
    } else {
      double x;
      cl_act_eval(d->m.act, m2, &I0, &I3, &x);
      I2 = I0 * I0, I3 *= I0;
    }
    a += W * I0, Tu += W * u * I0, Tv += W * I1, b += W * px[i] * I0;
    e11 += W * pg[i] * I2, e12 += W * pf[i] * I3;
  }
  const double zp = (cp * Tu + cm * Tv) * iS, zm = (cm * Tu - cp * Tv) * iS;
  acc[0] = 2 * a, acc[1] = zp, acc[2] = zm, acc[3] = zp, acc[4] = -zm, acc[5] = 2 * b;
  acc[6] = 2 * c1 * e11 + c2 * e12;
}

/* acc: G, T1 = E[G1 z] (2 coords), T2 = E[G2 z] (2 coords), P, V, into
 * psi's layout: only the first dd coordinates of z are directions */
static void psi_m1_layout(const cl_drift *d, const double *acc, double *psi) {
  const int dd = d->d;
  psi[0] = acc[0];
  for (int k = 0; k < dd; k++) psi[1 + k] = acc[1 + d->slot[k]], psi[1 + dd + k] = acc[3 + d->slot[k]];
  psi[1 + 2 * dd] = acc[5];
  psi[2 + 2 * dd] = acc[6];
}

static void gauss_block_m1(cl_drift *d, double mu, double *psi) {
  const int dd = d->d;
  enum { CH = 256 };
  double h1[CH], h2[CH], f1[CH], g1[CH], f2[CH], g2[CH], acc[7] = {0};
  int done = d->panel;
  if (done) gauss_block_m1_panel(d, mu, acc);
  if (!done && d->m.act == CL_ACT_TANH && dd == 2 && d->pair == 1) done = gauss_block_m1_tanh(d, mu, acc);
  if (d->kinked) gauss_block_m1_kink(d, mu, acc), done = 1;
  if (!done && !d->m1_nodes) build_m1_nodes(d);
  for (int p0 = 0; p0 < d->npts && !done; p0 += CH) {
    int n = d->npts - p0 < CH ? d->npts - p0 : CH;
    for (int k = 0; k < n; k++) {
      const double *z = d->gz + (p0 + k) * 2, u = d->cp * z[0], v = d->cm * z[1];
      h1[k] = mu + u + v, h2[k] = mu + u - v;
    }
    /* sigma and sigma' for the chunk, vectorised (libmvec) */
    cl_act_eval_vec(d->m.act, h1, f1, g1, n);
    cl_act_eval_vec(d->m.act, h2, f2, g2, n);
    accumulate_m1(n, d->gz + p0 * 2, d->gw + p0, h1, h2, f1, g1, f2, g2, d->m.s * d->m.s,
                  d->m.rho, d->pair >= 0, acc);
  }
  psi_m1_layout(d, acc, psi);
}

/* psi(mu): the Gaussian expectation given the mean R^T c = mu (M values). */
static void gauss_block(cl_drift *d, const double *mu, double *psi) {
  const int M = d->M, d2 = d->d2;
  if (M == 1) { /* lambda does not enter: there is no off-diagonal C */
    gauss_block_m1(d, mu[0], psi);
    return;
  }
  memset(psi, 0, sizeof(double) * (size_t)d->psize);
  double h1[CL_MMAX], h2[CL_MMAX], D1[CL_MMAX], D2[CL_MMAX];
  for (int p = 0; p < d->npts; p++) {
    const double *off = d->goff + p * d2;
    for (int i = 0; i < M; i++) h1[i] = mu[i] + off[i], h2[i] = mu[i] + off[M + i];
    cl_data_batch_loss(&d->m1, h1, h2, D1, D2);
    accumulate(d, h1, h2, D1, D2, d->gz + p * d2, d->gw[p], psi);
  }
}

/* Turn accumulated [sum_c p_c c_j G_i (aR), T, P, Vm] into dR, dQ. */
static void assemble(const cl_drift *d, const double *R, const double *Q, const double *aR,
                     const double *psi, double *dR, double *dQ) {
  const int K = d->K, M = d->M, d2 = d->d2, dd = d->d;
  const double tau = d->m.tau, s = d->m.s, rho = d->m.rho, beta = d->beta;
  const double *T = psi + M, *P = T + 2 * M * dd, *V = P + M * M;
  /* the Stein map: column k of V diag(lam^-1/2), or of G S on the Monte
   * Carlo's symmetric root (h - mu = S z; G S = S^+ where nothing is cut,
   * docs/multi.md s.12) */
  const int sym = d->method == METHOD_MC;
  const double *W = sym ? d->gsmap : d->vec;
  for (int j = 0; j < K; j++) {
    /* proj_a[k] = Cov(eps_a_j, h) . w_k */
    double p1[2 * CL_MMAX], p2[2 * CL_MMAX];
    for (int k = 0; k < dd; k++) {
      double x1 = 0, x2 = 0;
      for (int l = 0; l < M; l++) {
        x1 += R[j * M + l] * W[l * d2 + k];
        x2 += R[j * M + l] * W[(M + l) * d2 + k];
      }
      const double sl = sym ? 1 : sqrt(d->lam[k]);
      p1[k] = s * (x1 + rho * x2) / sl;
      p2[k] = s * (rho * x1 + x2) / sl;
    }
    for (int i = 0; i < M; i++) {
      double stein = 0, a = aR[j * M + i];
      for (int k = 0; k < dd; k++) stein += p1[k] * T[i * dd + k] + p2[k] * T[(M + i) * dd + k];
      if (d->merged[j]) {
        /* E[(D1 + D2) c_j] = Cov(c_j, h) Sigma^+ E[(D1 + D2)(h - mu)],
         * Cov(c_j, h) = m2_j (R_j, R_j) */
        a = 0;
        for (int k = 0; k < dd; k++) {
          double x = 0;
          for (int l = 0; l < M; l++)
            x += R[j * M + l] * (d->vec[l * d2 + k] + d->vec[(M + l) * d2 + k]);
          a += d->m.c[j].m2 * x / sqrt(d->lam[k]) * (T[i * dd + k] + T[(M + i) * dd + k]);
        }
      }
      dR[j * M + i] = tau * (a + s * stein - beta * R[j * M + i]);
    }
  }
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++)
      dQ[i * M + l] = tau * (P[i * M + l] + P[l * M + i]) - 2 * tau * beta * Q[i * M + l] +
                      tau * tau * V[i * M + l] / d->Beff;
}

/* M = 1 with many c nodes: psi tabulated on Chebyshev points (first kind)
 * in m = c . R and interpolated (barycentric form) at the c nodes. */
static cl_status eval_quad(cl_drift *d, const double *R, const double *Q, double *dR, double *dQ) {
  const int K = d->K, M = d->M, ps = d->psize;
  double aR[CL_KMAX * CL_MMAX] = {0}, mu[CL_MMAX];
  memset(d->acc, 0, sizeof(double) * (size_t)ps);
  if (d->method == METHOD_MGRID) {
    double lo = INFINITY, hi = -INFINITY;
    for (int c = 0; c < d->nc; c++) {
      double m = 0;
      for (int j = 0; j < K; j++) m += d->cx[c * K + j] * R[j];
      lo = fmin(lo, m), hi = fmax(hi, m);
    }
    /* With an odd sigma and symmetric laws the folded nodes stand for
     * their mirror images too: the range is taken symmetric, and psi at the
     * mirrored Chebyshev point -m_k is psi(m_k) with G negated (D_a is odd
     * under h -> -h, z -> -z: G is odd in m, E[G z], P and V are even), so
     * only half of the table is computed. */
    if (d->odd) hi = fmax(fabs(lo), fabs(hi)), lo = -hi;
    if (hi - lo < 1e-12) hi = lo + 1e-12;
    /* Chebyshev points in u = asinh(m / sc), not in m: psi varies on the
     * scale of the Gaussian smoothing (sd of h given c, sc; at least 0.5,
     * sigma's own scale) near m = 0, where the mass of c is, and is
     * saturated in the tails, which set the range (heavy-tailed laws: a
     * Gauss-Laguerre node of laplace lies at 40 sd).  Chebyshev points in m
     * put most of the table in the tails: on uniform:2 + laplace:3
     * (R0 = 0.1, 0.05) to T = 50, against the direct sum over the 448 c
     * nodes, 48 points in m were 4e-2 off (5e-3 by t = 10, and the other
     * feature won), 96 points 1.5e-4; in u, 48 points 1.3e-7, 96 points
     * 3e-10. */
    double sc = fmax(d->sig1, 0.5);
    lo = asinh(lo / sc), hi = asinh(hi / sc);
    for (int k = 0; k < d->nm; k++) {
      double *g = d->grid + (size_t)k * ps;
      if (d->odd && k > d->nm - 1 - k) {
        memcpy(g, d->grid + (size_t)(d->nm - 1 - k) * ps, sizeof(double) * (size_t)ps);
        g[0] = -g[0];
        continue;
      }
      double m = sc * sinh(0.5 * (lo + hi) + 0.5 * (hi - lo) * d->cheb_x[k]);
      gauss_block(d, &m, g);
    }
    /* The interpolant is linear in the table: sum_c w_c psi(m_c) =
     * sum_k (sum_c w_c l_k(m_c)) psi(m_k), with the Lagrange weights l_k.
     * Summing the weights per Chebyshev node first costs nc x nm instead of
     * nc x nm x psize (measured: 58% of the K = 2 uniform + laplace case). */
    const int nm = d->nm;
    double *Wk = d->cheb_acc, *Vk = Wk + nm, *lk = Vk + (size_t)K * nm; /* Vk: K x nm */
    memset(Wk, 0, sizeof(double) * (size_t)nm * (size_t)(K + 1));
    /* the c nodes' positions on the Chebyshev interval, then their
     * barycentric weights, in vectorised loops (libmvec asinh; measured:
     * this loop was 65% of a basin run with two continuous laws) */
    double *xc = d->cheb_xc;
    const int nc = d->nc;
    for (int c = 0; c < nc; c++) xc[c] = 0;
    for (int j = 0; j < K; j++) {
      const double rj = R[j];
#pragma omp simd
      for (int c = 0; c < nc; c++) xc[c] += d->cx[c * K + j] * rj;
    }
    const double isc = 1 / sc, sl = 2 / (hi - lo), sh = (lo + hi) / (hi - lo);
#pragma omp simd
    for (int c = 0; c < nc; c++) xc[c] = sl * asinh(xc[c] * isc) - sh;
    const double *chx = d->cheb_x, *chw = d->cheb_w;
    for (int c = 0; c < nc; c++) {
      const double *cv = d->cx + c * K, w = d->cw[c], x = xc[c];
      double sum = 0;
#pragma omp simd reduction(+ : sum)
      for (int k = 0; k < nm; k++) {
        lk[k] = chw[k] / (x - chx[k]);
        sum += lk[k];
      }
      if (!isfinite(sum)) { /* x is a Chebyshev point */
        for (int k = 0; k < nm; k++) lk[k] = x == chx[k];
        sum = 1;
      }
      const double f = w / sum;
#pragma omp simd
      for (int k = 0; k < nm; k++) Wk[k] += f * lk[k];
      for (int j = 0; j < K; j++) {
        const double fj = f * cv[j];
        double *vj = Vk + (size_t)j * nm;
#pragma omp simd
        for (int k = 0; k < nm; k++) vj[k] += fj * lk[k];
      }
    }
    for (int k = 0; k < nm; k++) {
      const double *g = d->grid + (size_t)k * ps;
      for (int q = 0; q < ps; q++) d->acc[q] += Wk[k] * g[q];
      for (int j = 0; j < K; j++) aR[j] += Vk[j * nm + k] * g[0];
    }
    assemble(d, R, Q, aR, d->acc, dR, dQ);
    d->se = 0;
    return CL_OK;
  }
  for (int c = 0; c < d->nc; c++) {
    const double *cv = d->cx + c * K, w = d->cw[c];
    if (w == 0) continue;
    for (int i = 0; i < M; i++) {
      mu[i] = 0;
      for (int j = 0; j < K; j++) mu[i] += cv[j] * R[j * M + i];
    }
    gauss_block(d, mu, d->psi);
    for (int k = 0; k < ps; k++) d->acc[k] += w * d->psi[k];
    for (int j = 0; j < K; j++)
      for (int i = 0; i < M; i++) aR[j * M + i] += w * cv[j] * d->psi[i];
  }
  assemble(d, R, Q, aR, d->acc, dR, dQ);
  d->se = 0;
  return CL_OK;
}

static cl_status eval_mc(cl_drift *d, const double *R, const double *Q, double *dR, double *dQ) {
  const int K = d->K, M = d->M, B = d->m.B, d2 = d->d2, dd = d->d;
  d->psize = psi_size(M, dd);
  const int ps = d->psize, nout = K * M + M * M;
  double H1[CL_MMAX * 64], H2[CL_MMAX * 64], D1[CL_MMAX * 64], D2[CL_MMAX * 64];
  double *Hb1 = B <= 64 ? H1 : malloc(sizeof(double) * (size_t)(4 * M * B));
  double *Hb2 = B <= 64 ? H2 : Hb1 + M * B, *Db1 = B <= 64 ? D1 : Hb2 + M * B,
         *Db2 = B <= 64 ? D2 : Db1 + M * B;
  if (!Hb1) return CL_ENOMEM;
  double sum[CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX] = {0}, sumsq[CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX] = {0};
  double one[CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX];
  for (long n = 0; n < d->nmc; n++) {
    double aR[CL_KMAX * CL_MMAX] = {0};
    memset(d->psi, 0, sizeof(double) * (size_t)ps);
    for (int b = 0; b < B; b++) {
      const double *c = d->mc_c + ((size_t)n * B + b) * K, *z = d->mc_z + ((size_t)n * B + b) * d2;
      for (int i = 0; i < M; i++) {
        double mu = 0, o1 = 0, o2 = 0;
        for (int j = 0; j < K; j++) mu += c[j] * R[j * M + i];
        for (int k = 0; k < dd; k++) { /* h - mu = S z (prepare) */
          o1 += d->root[i * d2 + k] * z[k];
          o2 += d->root[(M + i) * d2 + k] * z[k];
        }
        Hb1[i * B + b] = mu + o1, Hb2[i * B + b] = mu + o2;
      }
    }
    cl_data_batch_loss(&d->m, Hb1, Hb2, Db1, Db2);
    for (int b = 0; b < B; b++) {
      const double *c = d->mc_c + ((size_t)n * B + b) * K, *z = d->mc_z + ((size_t)n * B + b) * d2;
      double h1[CL_MMAX], h2[CL_MMAX], g1[CL_MMAX], g2[CL_MMAX];
      for (int i = 0; i < M; i++)
        h1[i] = Hb1[i * B + b], h2[i] = Hb2[i * B + b], g1[i] = Db1[i * B + b], g2[i] = Db2[i * B + b];
      accumulate(d, h1, h2, g1, g2, z, 1.0, d->psi);
      for (int j = 0; j < K; j++)
        for (int i = 0; i < M; i++) aR[j * M + i] += c[j] * (g1[i] + g2[i]);
    }
    assemble(d, R, Q, aR, d->psi, one, one + K * M);
    for (int k = 0; k < nout; k++) sum[k] += one[k], sumsq[k] += one[k] * one[k];
  }
  d->se = 0;
  double nn = (double)d->nmc;
  for (int k = 0; k < nout; k++) {
    double mean = sum[k] / nn;
    d->se = fmax(d->se, sqrt(fmax(sumsq[k] / nn - mean * mean, 0) / nn));
    if (k < K * M) dR[k] = mean;
    else dQ[k - K * M] = mean;
  }
  if (B > 64) free(Hb1);
  return CL_OK;
}

/* M = 1 through characteristic functions (drift_cf.c): the sums of
 * gauss_block_m1 over c in its acc layout, mapped to the active directions. */
static cl_status eval_cf(cl_drift *d, const double *R, const double *Q, double *dR, double *dQ,
                         char *err) {
  double a7[7], aR[CL_KMAX] = {0};
  cl_status st = cl_cf_eval(d->cf, R, d->cp, d->cm, a7, aR, err);
  if (st) return st;
  const int dd = d->d;
  d->acc[0] = a7[0];
  for (int k = 0; k < dd; k++) d->acc[1 + k] = a7[1 + d->slot[k]], d->acc[1 + dd + k] = a7[3 + d->slot[k]];
  d->acc[1 + 2 * dd] = a7[5];
  d->acc[2 + 2 * dd] = a7[6];
  assemble(d, R, Q, aR, d->acc, dR, dQ);
  d->se = 0;
  return CL_OK;
}

/* ---- relu where the characteristic functions do not apply ----
 * (cp = 0 or small against the range of m = c . R: drift_cf.c refuses its
 * grids.)  psi(m), the Gaussian part given c (gauss_block_m1_kink, exact
 * to rounding), has a kink at m = 0 smoothed only over cp and cm, and a
 * Gauss rule in c across it converges slowly: the tensor rule used here
 * before was up to 1.5e-3 off without a student law and 7.7e-3 with one
 * (docs/kinks.md, "Not covered").  The kink-split rule sums the atoms of
 * the discrete laws exactly and integrates the one continuous law c* with
 * R* != 0 on panels split at its kink c0 = -m_atoms / R* and at the
 * density's own breakpoints, graded geometrically towards c0 down to half
 * the smoothing scale min(cp, cm) / |R*| (psi is analytic on either side,
 * varying on that scale near c0), KS_GL Gauss-Legendre points per panel
 * against the density.  Two or more continuous laws with R != 0 are
 * refused (the function of the others is not smooth either).
 *
 * tanh, erf, sigmoid (the same rule): psi(m) has no kink, but where the
 * smoothing is small its only features are those of sigma near m = 0
 * (poles at distance ks_pole off the real axis, all at Re h = 0; erf's
 * peak treated as one at 2), and the tensor rule's Gauss rules for a
 * student or laplace law converge slowly on it: 3.1e-3 (tanh, student, cp
 * = 0.002) to 8.7e-3 (erf, student, cp = 0.23 against a range of 1.5e3) off
 * (docs/kinks.md, "Second audit").  The panels are graded towards
 * c0 = -m_atoms / R* from ks_pole / |R*| (the pole then lies at least two
 * half-widths off the first panel's far end, the next ones' at three: 16
 * points leave ~1e-20). */

/* psi where h1, h2 keep their sign with probability 1 - 1e-38 (|mu| > 13
 * sd): the polynomial moments, in the layout of gauss_block_m1_kink.  For
 * mu > 0, G1 = h2 and G2 = h1. */
static int ks_far(const cl_drift *d, double mu, double *acc) {
  const double cp = d->cp, cm = d->cm, S = sqrt(cp * cp + cm * cm);
  if (!(fabs(mu) > 13 * S)) return 0;
  for (int k = 0; k < 7; k++) acc[k] = 0;
  if (mu < 0) return 1;
  const double s2 = d->m.s * d->m.s, c1 = 1 + s2, c2 = 2 * (1 + d->m.rho * s2);
  const double e12 = mu * mu + cp * cp - cm * cm, e11 = mu * mu + cp * cp + cm * cm;
  acc[0] = 2 * mu, acc[1] = cp, acc[2] = -cm, acc[3] = cp, acc[4] = cm;
  acc[5] = 2 * e12, acc[6] = 2 * c1 * e11 + c2 * e12;
  return 1;
}

/* psi (gauss_block_m1's layout) at mean mu, through ks_far where it holds */
static void ks_psi(cl_drift *d, double mu, double *psi) {
  double acc[7];
  if (d->kinked && ks_far(d, mu, acc)) psi_m1_layout(d, acc, psi);
  else gauss_block_m1(d, mu, psi);
}

/* density of a continuous law at c (uniform, laplace, student) */
static double ks_pdf(const cl_law *l, double c) {
  if (l->kind == CL_LAW_UNIFORM) return 0.5 / sqrt(3 * l->m2);
  if (l->kind == CL_LAW_LAPLACE) {
    const double b = sqrt(0.5 * l->m2);
    return exp(-fabs(c) / b) / (2 * b);
  }
  const double nu = l->nu, k = sqrt(l->m2 * (nu - 2) / nu), t = c / k;
  return exp(lgamma(0.5 * (nu + 1)) - lgamma(0.5 * nu) - 0.5 * log(nu * M_PI) - 0.5 * (nu + 1) * log1p(t * t / nu)) / k;
}

/* Nodes and weights (density included) of the kink-split rule for law l
 * with the kink at c0, grading down to dmin (INFINITY: psi is piecewise
 * polynomial, no grading), g2 = 1 + R*^2 (the growth of psi).  Returns the
 * node count, or -1 past KS_PANELS panels. */
static int ks_nodes(const cl_drift *d, const cl_law *l, double c0, double dmin, double g2) {
  enum { NB = 2 * KS_PANELS };
  double bp[NB];
  int nb = 0;
  const double sd = sqrt(l->m2);
  if (l->kind == CL_LAW_UNIFORM) {
    const double a = sqrt(3.0) * sd;
    bp[nb++] = -a, bp[nb++] = a;
  } else if (l->kind == CL_LAW_LAPLACE) {
    /* panels 3 b wide (e^(-c / b) is entire: 16 points leave ~1e-20) to
     * 51 b, where the mass times the growth of psi is below 1e-18 */
    const double b = sd / M_SQRT2;
    for (int i = -17; i <= 17; i++) bp[nb++] = 3 * b * i;
  } else {
    /* student: poles of the density at +-i k sqrt(nu); panels k wide near
     * 0, then doubling (each a sixth of its distance from the poles: 16
     * points leave ~1e-25), out to T where the tail bound
     * int_T^inf c^2 f(c) dc (1 + R*^2) is below 1e-17 */
    const double nu = l->nu, k = sqrt(l->m2 * (nu - 2) / nu);
    const double lc = lgamma(0.5 * (nu + 1)) - lgamma(0.5 * nu) - 0.5 * log(nu * M_PI) + 0.5 * (nu + 1) * log(nu);
    bp[nb++] = 0;
    double t = 1;
    for (;;) {
      bp[nb++] = k * t, bp[nb++] = -k * t;
      /* tail of c^2 f beyond k t: k^2 e^lc t^(2 - nu) / (nu - 2) */
      if (t > 4 && lc + (2 - nu) * log(t) - log(nu - 2) + log(k * k * g2) < log(1e-17)) break;
      if (nb > NB - 8) return -1;
      t *= 2;
    }
  }
  double lo = bp[0], hi = bp[0];
  for (int i = 0; i < nb; i++) lo = fmin(lo, bp[i]), hi = fmax(hi, bp[i]);
  if (c0 > lo && c0 < hi) bp[nb++] = c0;
  /* sort */
  for (int i = 1; i < nb; i++)
    for (int j = i; j > 0 && bp[j] < bp[j - 1]; j--) {
      double x = bp[j];
      bp[j] = bp[j - 1], bp[j - 1] = x;
    }
  int n = 0, np = 0;
  for (int i = 0; i + 1 < nb; i++) {
    const double p = bp[i], q = bp[i + 1], len = q - p;
    if (!(len > 0)) continue;
    /* grade towards the end nearer the kink, from the larger of dmin and
     * the kink's distance from that end */
    const int from_p = fabs(p - c0) <= fabs(q - c0);
    const double w1 = fmax(dmin, fabs((from_p ? p : q) - c0));
    double e[64];
    int ne = 0;
    e[ne++] = 0;
    if (w1 < len) {
      double cur = w1;
      e[ne++] = cur;
      while (2 * cur < len && ne < 62) cur *= 2, e[ne++] = cur;
    }
    e[ne++] = len;
    for (int k = 0; k + 1 < ne; k++) {
      double a = from_p ? p + e[k] : q - e[k + 1], b = from_p ? p + e[k + 1] : q - e[k];
      /* a limit on panels, not nodes: every level refuses the same states */
      if (++np > KS_PANELS) return -1;
      const double mid = 0.5 * (a + b), hw = 0.5 * (b - a);
      for (int g = 0; g < d->ks_gl; g++) {
        const double x = mid + hw * d->ks_glx[g];
        d->ks_x[n] = x, d->ks_w[n] = hw * d->ks_glw[g] * ks_pdf(l, x);
        n++;
      }
    }
  }
  return n;
}

static cl_status eval_kink_split(cl_drift *d, const double *R, const double *Q, double *dR, double *dQ,
                                 char *err) {
  const int K = d->K, ps = d->psize;
  int js = -1;
  for (int j = 0; j < K; j++) {
    if (ks_discrete(d->m.c[j].kind) || d->merged[j] || R[j] == 0) continue;
    if (js >= 0)
      return cl_fail(err, CL_EINVAL,
                     "%s with two continuous laws (c %d, c %d) needs Gaussian smoothing along (1, 1) "
                     "(Q - |R|^2 + s^2 Q (1 + rho) / 2 larger against the range of c . R)",
                     cl_act_name(d->m.act), js + 1, j + 1);
    js = j;
  }
  double aR[CL_KMAX] = {0};
  double *psi = d->psi;
  memset(d->acc, 0, sizeof(double) * (size_t)ps);
  const double lam = d->cp > 0 && d->cm > 0 ? fmin(d->cp, d->cm) : d->cp > 0 ? d->cp : d->cm;
  for (int a = 0; a < d->ks_na; a++) {
    const double *cv = d->ks_ax + (size_t)a * K, wa = d->ks_aw[a];
    double m0 = 0;
    for (int j = 0; j < K; j++) m0 += cv[j] * R[j];
    if (js < 0) {
      ks_psi(d, m0, psi);
      for (int k = 0; k < ps; k++) d->acc[k] += wa * psi[k];
      for (int j = 0; j < K; j++) aR[j] += wa * cv[j] * psi[0];
      continue;
    }
    const double Rs = R[js], dmin = d->ks_pole > 0 ? d->ks_pole / fabs(Rs)
                                    : lam > 0 ? KS_DMIN * lam / fabs(Rs) : INFINITY;
    const int n = ks_nodes(d, &d->m.c[js], -m0 / Rs, dmin, 1 + Rs * Rs);
    if (n < 0)
      return cl_fail(err, CL_EINVAL, "the kink-split rule of %s over c %d needs more than %d panels",
                     cl_act_name(d->m.act), js + 1, KS_PANELS);
    double g = 0, gc = 0;
    for (int i = 0; i < n; i++) {
      const double w = wa * d->ks_w[i];
      if (w == 0) continue;
      ks_psi(d, m0 + Rs * d->ks_x[i], psi);
      for (int k = 0; k < ps; k++) d->acc[k] += w * psi[k];
      g += w * psi[0], gc += w * d->ks_x[i] * psi[0];
    }
    for (int j = 0; j < K; j++) aR[j] += cv[j] * g;
    aR[js] += gc;
  }
  assemble(d, R, Q, aR, d->acc, dR, dQ);
  d->se = 0;
  return CL_OK;
}

/* tanh, erf, sigmoid where the characteristic functions do not apply: 1
 * if the kink-split rule takes the state (*st = CL_OK) or it is refused
 * (*st set, err filled), 0 to keep the tensor rule.  The tensor rule's
 * student and laplace rules do not resolve psi(c R) there (eval_kink_split);
 * its Gauss-Legendre rule of a uniform law and the exact atoms of discrete
 * laws are kept where the kink-split rule does not apply (more than
 * KS_ATOMS atoms, or two continuous laws, neither student nor laplace)
 * and that rule resolves sigma's poles (ks_uniform_unresolved; else
 * refused). */
/* continuous laws (not merged) with R_j != 0; *heavy: the last student or laplace one (-1: none) */
static int ks_continuous(const cl_drift *d, const double *R, int *heavy) {
  int ncont = 0;
  *heavy = -1;
  for (int j = 0; j < d->K; j++) {
    const cl_law_kind k = d->m.c[j].kind;
    if (ks_discrete(k) || d->merged[j] || R[j] == 0) continue;
    ncont++;
    if (k == CL_LAW_STUDENT || k == CL_LAW_LAPLACE) *heavy = j;
  }
  return ncont;
}

/* The tensor fallback with uniform laws only: its nl-point Gauss-Legendre
 * rule of law j on [-a_j, a_j] (a_j = sqrt(3 m2_j)) meets sigma(m0 + R_j c)
 * with poles at |Im c| = ks_pole / |R_j|; with no Gaussian smoothing the
 * rule errs by about r^(-2 nl), r = x + sqrt(1 + x^2), x = ks_pole / (|R_j|
 * a_j) (the Bernstein ellipse through a pole over the middle of the
 * interval).  The law j whose r^(-2 nl) exceeds a hundredth of the stated
 * tolerance (-1: none).  erf, uniform:2.0146 + uniform:0.6243, R = (-2.83,
 * -2.62), x = 0.29, was 7.7e-9 off against its 1e-10 (docs/kinks.md,
 * "Fourth audit"). */
static int ks_uniform_unresolved(const cl_drift *d, const double *R) {
  const double tol = d->m.act == CL_ACT_TANH ? 1e-6 : d->m.act == CL_ACT_ERF ? 1e-10 : 1e-8;
  int worst = -1;
  double xmin = INFINITY;
  for (int j = 0; j < d->K; j++) {
    if (d->m.c[j].kind != CL_LAW_UNIFORM || R[j] == 0) continue;
    const double x = d->ks_pole / (fabs(R[j]) * sqrt(3 * d->m.c[j].m2));
    if (x < xmin) xmin = x, worst = j;
  }
  if (worst < 0 || !(d->ks_nl > 0)) return -1;
  const double r = xmin + sqrt(1 + xmin * xmin);
  return -2 * d->ks_nl * log(r) > log(0.01 * tol) ? worst : -1;
}

static int ks_smooth_applies(const cl_drift *d, const double *R, char *err, cl_status *st) {
  int heavy;
  const int ncont = ks_continuous(d, R, &heavy);
  *st = CL_OK;
  if (d->ks && ncont <= 1) return 1;
  if (heavy < 0) {
    const int u = ks_uniform_unresolved(d, R);
    if (u < 0) return 0;
    *st = cl_fail(err, CL_EINVAL,
                  "%s with uniform laws needs Gaussian smoothing along (1, 1) (Q - |R|^2 + s^2 Q (1 + rho) / 2 "
                  "larger against the range of c . R) where |R_%d| sqrt(3 m2) = %.3g is large against "
                  "sigma's scale %.3g %s",
                  cl_act_name(d->m.act), u + 1, fabs(R[u]) * sqrt(3 * d->m.c[u].m2), d->ks_pole,
                  d->ks ? "with a second continuous law" : "with this many atoms");
    return 1;
  }
  *st = cl_fail(err, CL_EINVAL,
                "%s with a %s law (c %d) needs Gaussian smoothing along (1, 1) (Q - |R|^2 + s^2 Q "
                "(1 + rho) / 2 larger against the range of c . R) %s",
                cl_act_name(d->m.act), d->m.c[heavy].kind == CL_LAW_STUDENT ? "student" : "laplace",
                heavy + 1, d->ks ? "with a second continuous law" : "with this many atoms");
  return 1;
}

/* tanh, erf, sigmoid on the characteristic functions: a bound on what their
 * cut of the student tails (at the one-sided mass CF_STQ of each law,
 * drift_cf.c) leaves out of the drift, with F at its supremum (it need not
 * have decayed at the cut where |R_j| is small): per student law with
 * R_j != 0, tau sup|F_g| E[|c_j|; |c_j| > t_j] in dR_j and
 * (2 tau sup|F_P| + tau^2 sup|F_V| / B) P(|c_j| > t_j) in dQ.  erf was 2.9e-10
 * off (student:2.697:4.97, Q = 0.0032; its tolerance 1e-10) where this bound
 * is 1e-8 (docs/kinks.md, "Second audit").  Where it exceeds a tenth of the
 * stated tolerance the kink-split rule takes the state (if it applies). */
static double cf_student_cut_bound(const cl_drift *d, const double *R) {
  const cl_act a = d->m.act;
  /* sup sigma' and sup |h sigma'(h)|; |sigma| <= 1 */
  const double g = a == CL_ACT_TANH ? 1 : a == CL_ACT_ERF ? M_2_SQRTPI : 0.25;
  const double hg = a == CL_ACT_TANH ? 0.4482 : a == CL_ACT_ERF ? 0.4839 : 0.2240;
  const double s2 = d->m.s * d->m.s, c1 = 1 + s2, c2 = fabs(2 * (1 + d->m.rho * s2)), tau = d->m.tau;
  const double fg = 2 * g, fp = 2 * hg, fv = (2 * c1 + c2) * g * g;
  double b = 0;
  for (int j = 0; j < d->K; j++) {
    const cl_law *l = &d->m.c[j];
    if (l->kind != CL_LAW_STUDENT || R[j] == 0) continue;
    const double nu = l->nu, k = sqrt(l->m2 * (nu - 2) / nu), t = cl_cf_tail_q(l) / k;
    const double f = exp(lgamma(0.5 * (nu + 1)) - lgamma(0.5 * nu) - 0.5 * log(nu * M_PI) -
                         0.5 * (nu + 1) * log1p(t * t / nu));
    const double mass = 2 * gsl_cdf_tdist_Q(t, nu), e1 = 2 * k * (nu + t * t) / (nu - 1) * f;
    b = fmax(b, fmax(tau * fg * e1, (2 * tau * fp + tau * tau * fv / d->m.B) * mass));
  }
  return b;
}

cl_status cl_drift_eval(cl_drift *d, const double *R, const double *Q, double *dR, double *dQ,
                        char *err) {
  if (d->pin > 0) return cl_drift_eval_rep(d, d->pin - 1, R, Q, dR, dQ, err);
  cl_status sg = sd_guard(d, R, Q, err);
  if (sg) return sg;
  if (d->multi) return cl_multi_eval(d->multi, R, Q, dR, dQ, NULL, err);
  if (d->qacc) return cl_acc_eval(d->qacc, R, Q, dR, dQ, NULL, err);
  if (d->g2) return cl_grid_eval(d->g2, R, Q, dR, dQ, NULL, err);
  if (d->erf) return cl_erf_eval(d->erf, R, Q, dR, dQ, err);
  cl_status st = prepare(d, R, Q, err);
  if (st) return st;
  if (d->method == METHOD_CF && d->ks_pole > 0 && d->ks) {
    /* stated tolerances (docs/kinks.md): tanh 1e-6, erf 1e-10, sigmoid 1e-8 */
    const double tol = d->m.act == CL_ACT_TANH ? 1e-6 : d->m.act == CL_ACT_ERF ? 1e-10 : 1e-8;
    int heavy;
    if (ks_continuous(d, R, &heavy) <= 1 && cf_student_cut_bound(d, R) > 0.1 * tol &&
        eval_kink_split(d, R, Q, dR, dQ, err) == CL_OK)
      return CL_OK; /* (else, past its panel limit, the characteristic functions) */
  }
  if (d->method == METHOD_CF) {
    st = eval_cf(d, R, Q, dR, dQ, err);
    cl_status rs = CL_OK;
    if (st == CL_EINVAL && d->ks_pole > 0 && ks_smooth_applies(d, R, err, &rs))
      return rs ? rs : eval_kink_split(d, R, Q, dR, dQ, err);
    if (st == CL_EINVAL && d->kinked) { /* relu: the kink-split rule where it does not apply */
      if (!d->ks)
        return cl_fail(err, CL_EINVAL,
                       "relu with more than %d atoms of discrete laws needs Gaussian smoothing along "
                       "(1, 1) (Q - |R|^2 + s^2 Q (1 + rho) / 2 larger against the range of c . R)",
                       KS_ATOMS);
      return eval_kink_split(d, R, Q, dR, dQ, err);
    }
    if (st == CL_EINVAL && d->fallback >= 0) { /* the tensor quadrature where it does not apply */
      d->method = d->fallback;
      st = eval_quad(d, R, Q, dR, dQ);
      d->method = METHOD_CF;
      if (st) return cl_fail(err, st, "out of memory");
    } else if (st)
      return st;
  } else
    st = d->method == METHOD_MC ? eval_mc(d, R, Q, dR, dQ) : eval_quad(d, R, Q, dR, dQ);
  if (st) return cl_fail(err, st, "out of memory");
  for (int k = 0; k < d->K * d->M; k++)
    if (!isfinite(dR[k])) return cl_fail(err, CL_EDIVERGE, "the drift of R is not finite");
  for (int k = 0; k < d->M * d->M; k++)
    if (!isfinite(dQ[k])) return cl_fail(err, CL_EDIVERGE, "the drift of Q is not finite");
  return CL_OK;
}

cl_status cl_drift_m1_terms(cl_drift *d, const double *R, double Q, cl_m1_terms *t, char *err) {
  if (d->M != 1 || d->method == METHOD_MC)
    return cl_fail(err, CL_EINVAL, "m1 terms need M = 1 and a quadrature method");
  double dR[CL_KMAX], dQ;
  cl_status st = cl_drift_eval(d, R, &Q, dR, &dQ, err);
  if (st) return st;
  if (d->erf) { /* closed forms (drift_erf.c) */
    if ((st = cl_erf_m1_terms(d->erf, &t->b_z, &t->b_e, &t->V, &t->Egh, err))) return st;
    for (int j = 0; j < d->K; j++) t->a[j] = dR[j] / d->m.tau - t->b_e * R[j] + d->beta * R[j];
    return CL_OK;
  }
  /* acc holds [G, T (2 x d), P, Vm] summed over c; a_j needs c_j G */
  const int K = d->K, dd = d->d, d2 = d->d2;
  const double s = d->m.s, rho = d->m.rho, tau = d->m.tau;
  const double *T = d->acc + 1, *P = T + 2 * dd, *V = P + 1;
  /* b_z = (1, 1) Sigma^+ E[(G1 + G2)(h - mu)], b_e = s^2 [(1, rho) Sigma^+ T1 + (rho, 1) Sigma^+ T2] */
  double bz = 0, be = 0;
  for (int k = 0; k < dd; k++) {
    double v1 = d->vec[0 * d2 + k], v2 = d->vec[1 * d2 + k], il = 1 / sqrt(d->lam[k]);
    bz += (v1 + v2) * il * (T[k] + T[dd + k]);
    be += s * s * il * ((v1 + rho * v2) * T[k] + (rho * v1 + v2) * T[dd + k]);
  }
  for (int j = 0; j < K; j++) t->a[j] = dR[j] / tau - be * R[j] + d->beta * R[j];
  t->b_z = bz, t->b_e = be, t->V = V[0], t->Egh = P[0];
  return CL_OK;
}
