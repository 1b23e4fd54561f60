/* The M = 2 grid engine (docs/grid.md): the deterministic rule of
 * docs/accurate.md with its outer (c, xi) sums replaced by weights on a
 * uniform grid in X = R^T c + xi.
 *
 * Given the outer node, every one-view moment depends on X alone, so each
 * summand of drift_acc.c is one of E[F(X)], E[c_j F(X)], E[xi_r F(X)]: the
 * integral of F against the density W_0 of X and its tilted densities
 * W_cj = E[c_j; X in dx], W_xir = E[xi_r; X in dx] (docs/grid.md s.1).
 * Their Fourier transforms are products over the features of the laws'
 * characteristic functions (drift_cf.c) times a Gaussian, so the weights on
 * the grid are exact in c: one 2-d FFT per pair of weights, with the
 * spectrum folded (its images at +-2 pi / h added) so that the samples are
 * those of the weights themselves (s.2).  The grid is in the standardised
 * coordinates u_i = X_i / sqrt(Q_ii) (a dying unit stays resolved); a unit
 * with Q_ii = 0 is dead (X_i = 0).
 *
 * The inner moments (s.3): the means, same-unit second moments and Stein
 * pieces are 1-d tables along each axis; the second moments of two
 * features on different units, 2-d, are a sum of ne rank-1 products (the
 * Cholesky factor of the per-view noise).  Each node then goes through the
 * accumulation shared with drift_acc.c (cl_acc_node). */
#include "drift_grid.h"

#include <cblas.h>
#include <gsl/gsl_cdf.h>
#include <fftw3.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cldyn/act.h"
#include "act_pole.h"
#include "drift_acc.h"
#include "drift_cf.h"
#include "drift_multi.h"
#include "linalg.h"

/* libmvec's SIMD exp for the omp simd loops (see act.c) */
#pragma omp declare simd notinbranch
double exp(double);

#define GRID_EXPMAX 40.0 /* spectrum: images whose Gaussian factor is below e^-40 are dropped */
#define GRID_WMIN 1e-16 /* nodes whose weights are all below this are skipped (docs/grid.md s.4) */
#define NK 4             /* features per unit: D, Y, DY, YY */
#define NTAB (NK + NK * NK + NK)
#define GRID_NROWBUF 56 /* row buffers of eval_level (52 used) */
#define GRID3_NROWBUF 112 /* row buffers of eval_level3 (103 used) */
#define GRID3_NMAX 96     /* default cap of the 3-d fine level's nodes per direction */
#define GRID_NMAX 160 /* default cap of the fine level's nodes per direction */
#define GRID_NE 24    /* default inner nodes of the fine level */
#define GRID_NEMAX 256 /* the cap of the inner nodes (docs/grid.md s.3) */
#define GRID_NLAD 16   /* at most this many inner rules per level */
/* the least fraction of the fine level's aliasing exponent a capped axis may
 * keep: below it the two levels' exponents (28 th and at most 18 th) are too
 * close for their difference to bound the fine level's error.  0.02 until
 * session 10; bench/collapse.py then found nearly collinear units (sigmoid,
 * laplace + rademacher) 1.04 to 4.1 estimates off at th = 0.022 to 0.029,
 * at most 0.87 of it up to th = 0.04 and 0.44 from 0.04 on (docs/grid.md s.4) */
#define GRID_THMIN 0.05
#define GRID_THMIN_TAILS 0.02 /* cubic's tails cut (tails_unresolved) named as the reason from here on */
/* a capped axis with a student law: the least ratio of the coarse level's
 * power-tail error to the fine level's (student_tails_unresolved) */
#define GRID_STUDENT_TAILS 4.0
#define GRID_RND_SPEC 8.0 /* the spectrum's own rounding, in eps, added to log2 N (round_bound) */
#define GRID_RND_SAFE 1.0 /* the safety factor of the rounding bound (round_bound) */

/* One set of FFTW plans on a level's buffer (fft_plans): key[0] the kind
 * (FFT_W2, FFT_W3, FFT_T2; 0: empty), then the sizes; the plans are made on
 * buf and executed on it. */
typedef struct {
  int key[6];
  const double *buf;
  fftw_plan p[3];
} fft_set;
enum { FFT_W2 = 1, FFT_W3, FFT_T2 };
/* the plans kept per level: along a trajectory a level's grid sizes move
 * among a handful of shapes (case B's sequence of shapes: 8 kept would
 * re-plan 1101 sets, 16 kept 398, at about 90 us a set; measured with 16:
 * 995 plans, 0.05 CPU s; helper fftw26) */
#define GRID_NFFT 16

/* The state and scratch of one level (the two levels run in parallel). */
typedef struct {
  /* M = 2, 3 (or 4: the four-unit terms) units: matrices M x M (Gi 2M x 2M), Rt K x M, row-major */
  double Gi[64]; /* Sigma's generalized inverse (cl_sym_ginv) */
  double dX[4];           /* X_i = dX_i u_i (0: dead unit) */
  int dead[4];
  double Rt[CL_KMAX * 4]; /* R in the standardised coordinates (cosines) */
  double Ct[16], Ce[16];  /* covariance of the standardised xi; raw covariance of the per-view noise */
  double Se[16];          /* covariance of the integrand's smoothing in u (docs/grid.md s.4) */
  int coll;               /* two live units, exactly collinear (Ct + Cs singular): refused */
  double *ln; /* the four-unit terms: one pair table's 2-d DFT (fftw_malloc) */
  double *z, *W, *tab, *cross, *A, *B, *hs, *ys, *ds, *acc, *acc2, *rows, *scr, *fw;
  int last[4]; /* the nodes per direction of the last evaluation */
  size_t cap3; /* M = 3: the nodes the 3-d buffers (z, W, cross) hold (grid3_room) */
  double spec[CL_KMAX + 3]; /* linear, cubic: sum of |spectrum| of each weight over the FFT's input */
  double rs[37];             /* linear, cubic: the node sums of the rounding bound (round_row) */
  double rndc[2 * CL_KMAX + 4]; /* linear, cubic: the bound on the drift's rounding per component of (dR, dQ)
                                 * (round_bound; its largest: round_max) */
} work;

typedef struct {
  cl_grid_level p;
  work w;
  double tq[CL_KMAX]; /* student laws: the quantile of |c| at the tail mass exp(-0.75 E) */
  cl_rule gh; /* the inner rule in use (standard normal): one of lad, not owned */
  cl_rule lad[GRID_NLAD]; /* the inner rules by node count, 1.25x apart (docs/grid.md s.3) */
  int nlad;
  int unresolved; /* set when a state needed more nodes than the cap (cl_grid_unresolved) */
  fft_set fs[GRID_NFFT]; /* the FFTW plans of the last shapes (fft_plans), replaced first in, first out */
  int fsnext;
} level;

struct cl_grid {
  cl_model m;
  int K, M, nw, nq; /* M = 2 or 3 units; nw = K + M + 1 weights in nq = ceil(nw / 2) complex arrays */
  int nout;          /* K M + M M: the drift's components */
  cl_acc_terms t;
  level lv[2];
  double *out;
  int odd; /* odd sigma, symmetric laws: every summand is even in u (docs/grid.md s.3) */
  int dq;  /* M = 3 without the tilted weights (cl_grid_alloc_dq): nw = 4, dR set to 0 */
  double emax;
  char method[640];
  cl_grid_sum sum; /* M >= 4: a sum of other engines' levels (drift_grid4.c, cl_grid_alloc_sum) */
  void *sctx;      /* its context (non-NULL: this is such a shell) */
  struct t3_plan *t3; /* cl_grid_alloc_t3: the line sums of the three-unit terms (t3_compile), else NULL */
};

int cl_grid_applies(const cl_model *m, char *why, size_t n) {
  char r[160] = "";
  int poly = cl_act_polynomial(m->act);
  if (m->M >= 4) { /* the sum over the sub-models (drift_grid4.c, docs/grid.md s.15-16) */
    cl_model t = *m;
    t.M = 3;
    if (m->M > CL_MMAX)
      snprintf(r, sizeof r, "M = %d (at most %d units)", m->M, CL_MMAX);
    else if (m->lambda != 0 && m->B != 1)
      snprintf(r, sizeof r, "M = %d with B = %d and lambda != 0 (the four-unit terms are those of B = 1)", m->M,
               m->B);
    else if (m->act != CL_ACT_TANH && m->act != CL_ACT_ERF && m->act != CL_ACT_SIGMOID)
      snprintf(r, sizeof r, "M = %d with %s sigma (its 3-unit sub-models' grid serves tanh, erf and sigmoid)", m->M,
               cl_act_name(m->act));
    else
      cl_grid_applies(&t, r, sizeof r);
  } else if (m->M != 2 && m->M != 3)
    snprintf(r, sizeof r, "M = %d (the grid serves M >= 2)", m->M);
  else if (!cl_acc_applies(m, r, sizeof r)) {
  } else if (m->M == 3 && m->act != CL_ACT_TANH && m->act != CL_ACT_ERF && m->act != CL_ACT_SIGMOID)
    snprintf(r, sizeof r, "M = 3 with %s sigma (the 3-d grid serves tanh, erf and sigmoid so far)",
             cl_act_name(m->act));
  else
    for (int j = 0; j < m->K && !*r; j++) {
      const int k = m->c[j].kind;
      if (poly && k == CL_LAW_STUDENT)
        snprintf(r, sizeof r, "%s sigma with a student law (its moments of high order do not exist)",
                 m->act == CL_ACT_LINEAR ? "linear" : "cubic");
      else if (m->act == CL_ACT_CUBIC && k == CL_LAW_LAPLACE)
        snprintf(r, sizeof r, "cubic sigma with a laplace law (moments of degree 22 against an exponential tail)");
    }
  if (*r && why) snprintf(why, n, "%s", r);
  return !*r;
}

static void fft_set_free(fft_set *s) {
#pragma omp critical(cl_fftw_planner)
  for (int i = 0; i < 3; i++)
    if (s->p[i]) fftw_destroy_plan(s->p[i]), s->p[i] = NULL;
  s->key[0] = 0, s->buf = NULL;
}

static void level_free(level *l) {
  work *w = &l->w;
  for (int i = 0; i < GRID_NFFT; i++) fft_set_free(&l->fs[i]);
  fftw_free(w->z), fftw_free(w->ln), w->z = w->ln = NULL;
  free(w->W), free(w->tab), free(w->cross), free(w->A), free(w->B);
  free(w->hs), free(w->ys), free(w->ds), free(w->acc), free(w->acc2), free(w->rows), free(w->scr), free(w->fw);
  for (int k = 0; k < l->nlad; k++) cl_rule_free(&l->lad[k]);
  l->nlad = 0;
}

void cl_grid_free(cl_grid *g) {
  if (!g) return;
  for (int k = 0; k < 2; k++) level_free(&g->lv[k]);
  if (g->sctx) g->sum.release(g->sctx);
  free(g->t3);
  free(g->out);
  free(g);
}

void cl_grid_default_levels(int n, cl_grid_level *c, cl_grid_level *f) {
  /* n: the fine level's inner nodes (default 24); every size scales with
   * x = n / 24: the aliasing exponent like x^2 (the step like 1/x), the
   * tail exponent like x, the inner range like sqrt(x) and the caps like x.
   * The fine level is finer in each (docs/grid.md s.5). */
  if (n <= 0) n = GRID_NE;
  const double x = (double)n / GRID_NE;
  const int cap = (int)(GRID_NMAX * x + 1) & ~1;
  *f = (cl_grid_level){cap, n, 28 * x * x, 28 * x, 6.5 * sqrt(x), 0};
  *c = (cl_grid_level){(3 * cap / 4 + 1) & ~1, (2 * n + 1) / 3, 18 * x * x, 22 * x, 5.5 * sqrt(x), 0};
}

/* Level k of g (g->m set) from p: its parameters, the student laws'
 * quantiles and the ladder of inner rules (the 2-d, 3-d and 4-d grids). */
static cl_status level_rules(cl_grid *g, int k, const cl_grid_level *p, char *err) {
  const cl_model *m = &g->m;
  cl_status st = CL_OK;
  g->lv[k].p = *p;
  const int poly = cl_act_polynomial(m->act);
  if (poly) g->lv[k].p.E = 2 * p->E; /* polynomial growth against the tails */
  /* a student law's power tail: a range at the tail mass exp(-0.75 E)
   * (the two levels' ranges differ, so their difference sees the cut) */
  for (int j = 0; j < m->K; j++)
    if (m->c[j].kind == CL_LAW_STUDENT)
      g->lv[k].tq[j] = sqrt(m->c[j].m2 * (m->c[j].nu - 2) / m->c[j].nu) *
                       gsl_cdf_tdist_Qinv(exp(-0.75 * g->lv[k].p.E), m->c[j].nu);
  /* the inner rule: the trapezoid for sigma analytic in a strip (geometric
   * convergence), Gauss-Hermite for the polynomials (exact) */
  /* the ladder of inner rules (docs/grid.md s.3): from ne up by 1.25x to
   * nemax for the trapezoid, ne alone for Gauss-Hermite */
  level *lv = &g->lv[k];
  for (int cnt = p->ne; !st && lv->nlad < GRID_NLAD;) {
    st = poly || p->Le <= 0 ? cl_rule_normal(cnt, &lv->lad[lv->nlad], err)
                            : cl_rule_normal_trap_range(cnt, p->Le, &lv->lad[lv->nlad], err);
    if (st) break;
    lv->nlad++;
    if (poly || p->Le <= 0 || cnt >= p->nemax) break;
    cnt = (int)fmin(p->nemax, ceil(1.25 * cnt));
  }
  if (st) return st;
  lv->gh = lv->lad[0];
  return CL_OK;
}

/* The room (doubles) of the spectrum of a d-d grid (d = 2 to 4) of at most
 * n nodes per axis, w->fw: the images' frequencies and exponents of the
 * first d - 1 axes (6 n each), the trigonometric laws' cos and sin along
 * each axis (6 K n each, the last axis with its frequencies and exponents:
 * spec_axis_make), a line of every weight (VR, VI: 2 (K + 4) n) and
 * spectrum_line's scratch ((5 + 6 K) rows of 3 n + 8). */
static size_t spec_room(int K, size_t n, int d) {
  return (6 * (size_t)(d - 1) + 6 + 6 * (size_t)K * d + 2 * ((size_t)K + 4)) * n + (5 + 6 * (size_t)K) * (3 * n + 8);
}

cl_status cl_grid_alloc_levels(const cl_model *m, const cl_grid_level *coarse, const cl_grid_level *fine,
                               cl_grid **out, char *err) {
  *out = NULL;
  cl_common_init(); /* OpenBLAS on the calling thread (matmul) */
  char why[200];
  if (!cl_grid_applies(m, why, sizeof why))
    return cl_fail(err, CL_EINVAL,
                   "expect: grid (the grid engine) needs M >= 2 (M >= 3: tanh, erf or sigmoid; M >= 4: B = 1), g = square (where lambda != 0), a smooth sigma and rho >= 0: %s", why);
  if (m->M >= 4) /* its sub-engines take their own default levels */
    return cl_fail(err, CL_EINVAL, "expect: the grid engine at M >= 4 has no levels of its own (cl_grid4_alloc, drift_grid4.c)");
  cl_grid *g = calloc(1, sizeof *g);
  if (!g) return cl_fail(err, CL_ENOMEM, "out of memory");
  g->m = *m;
  g->K = m->K, g->M = m->M, g->nw = m->K + m->M + 1, g->nq = (g->nw + 1) / 2, g->nout = m->K * m->M + m->M * m->M;
  cl_acc_terms_init(&g->t, m->K, m->M, m->lambda);
  g->odd = cl_act_odd(m->act);
  for (int j = 0; j < m->K; j++) g->odd = g->odd && cl_law_is_symmetric(&m->c[j]);
  const cl_grid_level *p[2] = {coarse, fine};
  cl_status st = CL_OK;
  for (int k = 0; k < 2 && !st; k++) {
    if (p[k]->n < 8 || p[k]->n > 1024 || (p[k]->n & 1) || p[k]->ne < 2 || p[k]->ne > GRID_NEMAX || !(p[k]->E > 0) ||
        !(p[k]->Eh > 0))
      st = cl_fail(err, CL_EINVAL, "expect: grid level %d: n %d (even, 8 to 1024), ne %d (2 to %d)", k,
                   p[k]->n, p[k]->ne, GRID_NEMAX);
    if (st || (st = level_rules(g, k, p[k], err))) break;
    level *lv = &g->lv[k];
    /* the level's scratch */
    work *w = &g->lv[k].w;
    const size_t n = (size_t)p[k]->n, n2 = n * n, se = (size_t)lv->lad[lv->nlad - 1].n;
    const int d3 = g->M == 3; /* M = 3: z and W grow with the grid (grid3_room), 3 axes, 3 pairs */
    w->z = d3 ? NULL : fftw_malloc(sizeof(double) * 2 * n2 * (size_t)g->nq);
    w->W = d3 ? NULL : malloc(sizeof(double) * n2 * (size_t)g->nw);
    w->tab = malloc(sizeof(double) * (size_t)g->M * NTAB * n);
    w->cross = malloc(sizeof(double) * (d3 ? 3 : 1) * NK * NK * n2);
    w->A = malloc(sizeof(double) * NK * n * se);
    w->B = malloc(sizeof(double) * NK * n * se);
    w->hs = malloc(sizeof(double) * se * se);
    w->ys = malloc(sizeof(double) * se * se);
    w->ds = malloc(sizeof(double) * se * se);
    w->acc = malloc(sizeof(double) * (size_t)g->t.nsum);
    w->acc2 = malloc(sizeof(double) * (size_t)g->t.nsum);
    w->rows = malloc(sizeof(double) * (d3 ? GRID3_NROWBUF : GRID_NROWBUF) * n);
    w->fw = malloc(sizeof(double) * spec_room(g->K, n, d3 ? 3 : 2));
    w->scr = malloc(sizeof(double) * cl_acc_rows_scratch(&g->t, (int)n));
    if ((!d3 && (!w->z || !w->W)) || !w->tab || !w->cross || !w->A || !w->B || !w->hs || !w->ys || !w->ds || !w->acc ||
        !w->acc2 || !w->rows || !w->fw || !w->scr)
      st = cl_fail(err, CL_ENOMEM, "out of memory");
  }
  g->out = st ? NULL : malloc(sizeof(double) * 2 * (size_t)g->nout);
  if (!st && !g->out) st = cl_fail(err, CL_ENOMEM, "out of memory");
  if (st) return cl_grid_free(g), st;
  if (g->M == 3)
    snprintf(g->method, sizeof g->method,
             "grid engine (M = 3, %s, docs/grid.md s.14): weights of X = R^T c + xi exact in c (characteristic "
             "functions, 3-d FFT); step and range from the state (aliasing e^-%g/e^-%g, tails e^-%g/e^-%g, "
             "<= %d/%d nodes per direction), inner trapezoid %d/%d nodes (up to %d/%d as s and Q require); drift = "
             "the fine level, estimate max |fine - coarse|",
             m->B == 1 ? "B = 1" : m->lambda == 0 ? "lambda = 0" : "B > 1: 1/B expansion", g->lv[0].p.Eh,
             g->lv[1].p.Eh, g->lv[0].p.E, g->lv[1].p.E, g->lv[0].p.n, g->lv[1].p.n, g->lv[0].p.ne,
             g->lv[1].p.ne, g->lv[0].lad[g->lv[0].nlad - 1].n, g->lv[1].lad[g->lv[1].nlad - 1].n);
  else
  snprintf(g->method, sizeof g->method,
           "grid engine (M = 2, %s, docs/grid.md): weights of X = R^T c + xi exact in c (characteristic "
           "functions, 2-d FFT); step and range from the state (aliasing e^-%g/e^-%g, tails e^-%g/e^-%g, "
           "<= %d/%d nodes per direction), inner %s %d/%d nodes (up to %d/%d as s and Q require); drift = "
           "the fine level, estimate max |fine - coarse|",
           m->B == 1 ? "B = 1" : m->lambda == 0 ? "lambda = 0" : "B > 1: 1/B expansion", g->lv[0].p.Eh, g->lv[1].p.Eh, g->lv[0].p.E, g->lv[1].p.E,
           g->lv[0].p.n, g->lv[1].p.n,
           cl_act_polynomial(m->act) ? "Gauss-Hermite" : "trapezoid",
           g->lv[0].p.ne, g->lv[1].p.ne, g->lv[0].lad[g->lv[0].nlad - 1].n, g->lv[1].lad[g->lv[1].nlad - 1].n);
  *out = g;
  return CL_OK;
}

/* The inner rule for sigma's poles (docs/grid.md s.3): with eta_i = sd z
 * and poles at |Im h| = a (src/act_pole.h), the trapezoid in z of step hz
 * errs by about exp(-2 pi (a / sd) / hz); the level's aliasing exponent Eh
 * sets hz = 2 pi a / (sd Eh) (tanh: a step in h of 0.35/0.55 for the
 * fine/coarse level).  sd = sqrt((1 - rho) s^2 max(1, Q_ii)) at the
 * current state.  The nodes that level p needs there: */
static double inner_need(const cl_grid *g, const cl_grid_level *p, const work *w) {
  const cl_model *m = &g->m;
  double sd = 0;
  for (int i = 0; i < m->M; i++) sd = fmax(sd, sqrt(fmax(w->Ce[i * (m->M + 1)], (1 - m->rho) * m->s * m->s)));
  return ceil(2 * p->Le * sd * p->Eh / (2 * M_PI * cl_act_pole(m->act))) + 1;
}
/* The smallest rule of the ladder with that many nodes, else its largest.
 * The drift jumps where the choice changes, by the difference of two rules
 * that both meet the level's target.  Where the fine level's need exceeds
 * its cap, its step is (need - 1) / (cap - 1) times too coarse and its
 * error beyond its target: the coarse level then takes its own need scaled
 * by the same factor, so that it stays coarser in the same proportion and
 * |fine - coarse| still sees the fine level's error (without this the
 * coarse level, below its own cap, could be the more accurate one: tanh at
 * sd 8, Q = I, rho = 0 was 2e-7 off with an estimate of 4e-9). */
static void pick_inner(const cl_grid *g, level *l) {
  l->gh = l->lad[0];
  if (!(cl_act_pole(g->m.act) > 0) || !(l->p.Le > 0) || l->nlad < 2) return;
  double need = inner_need(g, &l->p, &l->w);
  const level *f = &g->lv[1];
  if (l != f && f->nlad >= 2 && f->p.Le > 0) {
    const double nf = inner_need(g, &f->p, &l->w), cap = f->lad[f->nlad - 1].n;
    if (nf > cap) need = ceil((need - 1) * (cap - 1) / (nf - 1)) + 1;
  }
  int k = 0;
  while (k + 1 < l->nlad && l->lad[k].n < need) k++;
  l->gh = l->lad[k];
}

cl_status cl_grid_alloc(const cl_model *m, const cl_quad_opts *o, cl_grid **out, char *err) {
  /* the sum over the sub-models (docs/grid.md s.15-16); outside its scope
   * refused below with the reason */
  if (m->M >= 4 && cl_grid_applies(m, NULL, 0))
    return *out = NULL, cl_fail(err, CL_EINVAL, "expect: the grid engine at M >= 4 is cl_grid4_alloc's (drift_grid4.c)");
  cl_grid_level c, f;
  cl_grid_default_levels(o ? o->grid_nodes : 0, &c, &f);
  cl_grid_caps(m->M, o ? o->grid_nodes : 0, &c, &f);
  return cl_grid_alloc_levels(m, &c, &f, out, err);
}

/* ---- the three-unit terms' line sums (cl_grid_alloc_t3; docs/grid.md
 * s.15, "Session 25: the triples' evaluation") ----
 * Along a line of the 3-d grid (axis 2) units 0 and 1 are constants and
 * only unit 2's tables, the cross tables c02, c12 and the weights vary.
 * acc_rows_only's sums (drift_acc.c) are each coef sum_x wt[x] A[x] B[x]
 * with wt one of the weights (w0, the xi_r and mu_r parts) and A, B
 * one-view moments: a constant factor comes out of the sum.  The plan,
 * compiled once per grid from the terms' unit sets, lists the distinct
 * sums over a line (dots: a weight vector times at most two varying
 * moments) and the scalar products of constants that take each into an
 * accumulator (ops): 38 dots of the line (126 ops) instead of 114 products of three
 * rows, and no rows filled with constants (bench numbers in the docs). */
/* scalars: 1, dX_r, X_0, X_1 of the line, beta_ir, then unit 0 and 1's
 * table values at the line (means, E[phi z], same-unit Mo) and c01 */
enum { T3S_ONE = 0, T3S_DX = 1, T3S_X = 4, T3S_BETA = 6, T3S_MF = 15, T3S_EZ = 23, T3S_MO = 31, T3S_C01 = 63, T3S_N = 79 };
/* vectors along the line: W_0, the raw W_xi_r, X_2 W_0, then unit 2's
 * tables (means, E[phi z], same-unit Mo) and the cross tables c02, c12 */
enum { T3V_W0 = 0, T3V_WX = 1, T3V_XW = 4, T3V_MF = 5, T3V_EZ = 9, T3V_MO = 13, T3V_C02 = 29, T3V_C12 = 45, T3V_N = 61 };
#define T3_NDOT 96
#define T3_NOP 256
typedef struct {
  signed char w, a, b; /* vector ids; a, b < 0: none (a <= b) */
} t3_dot;
typedef struct {
  short acc, dot;
  unsigned char s[5]; /* scalar ids (T3S_ONE where unused) */
  double coef;
} t3_op;
struct t3_plan {
  int ndot, nop, nsc, nvec, xw; /* xw: the plan reads X_2 W_0 */
  t3_dot dot[T3_NDOT];
  t3_op op[T3_NOP];
  unsigned char sc[T3S_N], vec[T3V_N]; /* the line's constants (ids >= T3S_MF) and vectors the plan reads */
};
typedef struct {
  int v, ns; /* a varying vector (or -1) times the scalars s */
  unsigned char s[2];
} t3_ref;

/* feature f = k 3 + i (kind k: D, Y, DY, YY; unit i); S2 (f = 12) is not
 * a three-unit term's: 1 */
static int t3_mf(int f, t3_ref *x) {
  const int k = f / 3, i = f % 3;
  x->ns = 0, x->v = -1;
  if (f >= 12) return 1;
  if (i < 2) x->s[x->ns++] = (unsigned char)(T3S_MF + 2 * k + i);
  else x->v = T3V_MF + k;
  return 0;
}
static int t3_ee(int f, int r, t3_ref *x) { /* Ee_(f, r) = beta_ir E[phi_f z] */
  const int k = f / 3, i = f % 3;
  x->ns = 0, x->v = -1;
  if (f >= 12) return 1;
  x->s[x->ns++] = (unsigned char)(T3S_BETA + 3 * i + r);
  if (i < 2) x->s[x->ns++] = (unsigned char)(T3S_EZ + 2 * k + i);
  else x->v = T3V_EZ + k;
  return 0;
}
static int t3_mo(int f, int g, t3_ref *x) {
  int k = f / 3, i = f % 3, q = g / 3, j = g % 3;
  x->ns = 0, x->v = -1;
  if (f >= 12 || g >= 12) return 1;
  if (i > j) { /* the lower unit's kind first, as the cross tables */
    int t = k;
    k = q, q = t, t = i, i = j, j = t;
  }
  if (i == j && i < 2) x->s[x->ns++] = (unsigned char)(T3S_MO + 16 * i + 4 * k + q);
  else if (i == j) x->v = T3V_MO + 4 * k + q;
  else if (j < 2) x->s[x->ns++] = (unsigned char)(T3S_C01 + 4 * k + q);
  else x->v = (i == 0 ? T3V_C02 : T3V_C12) + 4 * k + q;
  return 0;
}

/* acc[acc] += coef s_ws sum_x wt_w[x] A[x] B[x] (A, B: t3_ref); 1 if the
 * plan is full */
static int t3_add(struct t3_plan *P, int acc, double coef, int w, int ws, const t3_ref *A, const t3_ref *B) {
  if (P->nop >= T3_NOP) return 1;
  t3_op *o = &P->op[P->nop];
  memset(o, 0, sizeof *o);
  o->acc = (short)acc, o->coef = coef;
  int ns = 0;
  o->s[ns++] = (unsigned char)ws;
  for (int k = 0; k < A->ns; k++) o->s[ns++] = A->s[k];
  for (int k = 0; k < B->ns; k++) o->s[ns++] = B->s[k];
  const int a = A->v < B->v ? A->v : B->v, b = A->v < B->v ? B->v : A->v;
  int d = 0;
  while (d < P->ndot && !(P->dot[d].w == w && P->dot[d].a == a && P->dot[d].b == b)) d++;
  if (d == P->ndot) {
    if (d >= T3_NDOT) return 1;
    P->dot[P->ndot++] = (t3_dot){(signed char)w, (signed char)a, (signed char)b};
  }
  o->dot = (short)d, P->nop++;
  return 0;
}

/* The plan of g's sums (g->t from cl_acc_terms_only, M = 3): the
 * contributions acc_rows_only makes, term by term in its order; NULL
 * (acc_rows_only then) where a term is not of the plan's form. */
static struct t3_plan *t3_compile(const cl_grid *g) {
  const cl_acc_terms *t = &g->t;
  const int M = 3, d2 = 6, all = t->only, U = g->K * M, Pa = U + d2 * d2, GG = Pa + 2 * M * M;
  if (t->M != 3 || !all) return NULL;
  struct t3_plan *P = calloc(1, sizeof *P);
  if (!P) return NULL;
  int bad = 0;
  for (int p = 0; p < d2 && !bad; p++) {
    const int i = p % M, v2 = p >= M;
    for (int k = 0; k < t->nt[p] && !bad; k++) {
      const cl_acc_term tm = t->tm[p][k];
      for (int r = 0; r < M && !bad; r++) {
        if ((t->set[p][k] | 1 << r) != all) continue;
        t3_ref m1, m2, e;
        bad = t3_mf(tm.f1, &m1) || t3_mf(tm.f2, &m2) || t3_ee(v2 ? tm.f2 : tm.f1, r, &e);
        const int u = U + p * d2 + v2 * M + r, pr = Pa + r * M + i;
        /* U: the xi part (W_xi_r = dX_r raw), the Stein part; P: the mu part
         * W_mu_r = X_r W_0 - W_xi_r */
        bad = bad || t3_add(P, u, tm.coef, T3V_WX + r, T3S_DX + r, &m1, &m2) ||
              t3_add(P, u, tm.coef, T3V_W0, T3S_ONE, v2 ? &m1 : &e, v2 ? &e : &m2) ||
              (r < 2 ? t3_add(P, pr, tm.coef, T3V_W0, T3S_X + r, &m1, &m2)
                     : t3_add(P, pr, tm.coef, T3V_XW, T3S_ONE, &m1, &m2)) ||
              t3_add(P, pr, -tm.coef, T3V_WX + r, T3S_DX + r, &m1, &m2);
      }
    }
  }
  for (int p = 0; p < d2 && !bad; p++)
    for (int q = p; q < d2 && !bad; q++)
      for (int k = 0; k < t->nt[p] && !bad; k++)
        for (int u = 0; u < t->nt[q] && !bad; u++) {
          if ((t->set[p][k] | t->set[q][u]) != all) continue;
          const cl_acc_term tp = t->tm[p][k], tq = t->tm[q][u];
          t3_ref A, B;
          bad = t3_mo(tp.f1, tq.f1, &A) || t3_mo(tp.f2, tq.f2, &B) ||
                t3_add(P, GG + p * d2 + q, tp.coef * tq.coef, T3V_W0, T3S_ONE, &A, &B);
        }
  if (bad) return free(P), NULL;
  /* the constants and vectors the ops and dots read */
  unsigned char us[T3S_N] = {0}, uv[T3V_N] = {0};
  for (int o = 0; o < P->nop; o++)
    for (int k = 0; k < 5; k++) us[P->op[o].s[k]] = 1;
  for (int d = 0; d < P->ndot; d++) {
    uv[P->dot[d].w] = 1;
    if (P->dot[d].a >= 0) uv[P->dot[d].a] = 1;
    if (P->dot[d].b >= 0) uv[P->dot[d].b] = 1;
  }
  for (int k = T3S_MF; k < T3S_N; k++)
    if (us[k]) P->sc[P->nsc++] = (unsigned char)k;
  for (int k = 0; k < T3V_N; k++)
    if (uv[k]) P->vec[P->nvec++] = (unsigned char)k;
  P->xw = uv[T3V_XW];
  return P;
}

cl_status cl_grid_alloc_dq(const cl_model *m, const cl_grid_level *coarse, const cl_grid_level *fine, cl_grid **out,
                           char *err) {
  if (m->M != 3) return *out = NULL, cl_fail(err, CL_EINVAL, "the grid engine without the tilted weights needs M = 3");
  cl_status st = cl_grid_alloc_levels(m, coarse, fine, out, err);
  if (st) return st;
  cl_grid *g = *out;
  g->dq = 1, g->nw = 1 + g->M, g->nq = (g->nw + 1) / 2;
  const size_t n = strlen(g->method);
  snprintf(g->method + n, sizeof g->method - n, "; dQ only (no tilted weights, dR 0)");
  return CL_OK;
}

cl_status cl_grid_alloc_t3(const cl_model *m, const cl_grid_level *coarse, const cl_grid_level *fine, cl_grid **out,
                           char *err) {
  if (m->B != 1 && m->lambda != 0)
    return *out = NULL, cl_fail(err, CL_EINVAL, "the three-unit terms of the grid engine need B = 1 where lambda != 0");
  cl_status st = cl_grid_alloc_dq(m, coarse, fine, out, err);
  if (st) return st;
  cl_grid *g = *out;
  /* the regulariser names one or two units: not a three-unit term */
  g->m.reg.kind = CL_REG_NONE;
  cl_acc_terms_only(&g->t, m->K, 3, m->lambda);
  g->t3 = t3_compile(g); /* (NULL: acc_rows_only) */
  const size_t n = strlen(g->method);
  snprintf(g->method + n, sizeof g->method - n, ", the terms naming all three units alone");
  return CL_OK;
}

void cl_grid_caps(int M, int n, cl_grid_level *c, cl_grid_level *f) {
  if (n <= 0) n = GRID_NE;
  const double x = (double)n / GRID_NE;
  /* the 3-d grid's caps (docs/grid.md s.14), scaled as the 2-d ones */
  f->n = (int)((M == 3 ? GRID3_NMAX : GRID_NMAX) * x + 1) & ~1, c->n = (3 * f->n / 4 + 1) & ~1;
  f->nemax = GRID_NEMAX, c->nemax = 2 * GRID_NEMAX / 3;
}

cl_status cl_grid_alloc_sum(const cl_model *m, const cl_grid_sum *sum, void *ctx, const char *method, cl_grid **out,
                            char *err) {
  *out = NULL;
  cl_grid *g = calloc(1, sizeof *g);
  if (g) g->out = malloc(sizeof(double) * 2 * (size_t)(m->K * m->M + m->M * m->M));
  if (!g || !g->out) return free(g), sum->release(ctx), cl_fail(err, CL_ENOMEM, "out of memory");
  g->m = *m, g->K = m->K, g->M = m->M, g->nout = m->K * m->M + m->M * m->M, g->sum = *sum, g->sctx = ctx;
  snprintf(g->method, sizeof g->method, "%s", method);
  *out = g;
  return CL_OK;
}

double cl_grid_errmax(const cl_grid *g) { return g->emax; }
/* the largest component of the bound on the level's rounding (0 before any) */
static double round_max(const cl_grid *g, const work *w) {
  double r = 0;
  for (int k = 0; k < g->K * 2 + 4; k++) r = fmax(r, w->rndc[k]);
  return r;
}
double cl_grid_round(const cl_grid *g) { return cl_act_polynomial(g->m.act) ? round_max(g, &g->lv[1].w) : 0; }
void cl_grid_round_comp(const cl_grid *g, double *dR, double *dQ) {
  const int KM = g->K * g->M, poly = cl_act_polynomial(g->m.act);
  for (int k = 0; k < g->nout; k++) *(k < KM ? dR + k : dQ + k - KM) = poly ? g->lv[1].w.rndc[k] : 0;
}
int cl_grid_unresolved(const cl_grid *g) {
  return g->lv[0].unresolved || g->lv[1].unresolved || (g->sctx && g->sum.unresolved(g->sctx));
}
const char *cl_grid_method(const cl_grid *g) { return g->method; }
void cl_grid_sizes(const cl_grid *g, int *n0, int *n1) { *n0 = g->lv[1].w.last[0], *n1 = g->lv[1].w.last[1]; }
void cl_grid_level_sizes(const cl_grid *g, int lev, int *n) {
  for (int i = 0; i < g->M; i++) n[i] = g->sctx ? 0 : g->lv[lev].w.last[i]; /* M = 4: its sub-engines' */
}

/* The smoothing of a product whose factors are smoothed by the Gaussians
 * Ct and Cs: (Ct^-1 + Cs^-1)^-1 = Ct (Ct + Cs)^-1 Cs (docs/grid.md s.4),
 * into S.  Where Ct + Cs is singular (a dead unit, or exactly collinear
 * units) each axis alone, and 0 is returned. */
static int smoothing_of(const double *Ct, const double *Cs, double *S) {
  double T[4];
  for (int k = 0; k < 4; k++) T[k] = Ct[k] + Cs[k];
  const double det = T[0] * T[3] - T[1] * T[2];
  memset(S, 0, 4 * sizeof *S);
  if (!(det > 1e-300)) {
    for (int i = 0; i < 2; i++) /* one unit dead (or both): one direction */
      if (T[i * 3] > 0) S[i * 3] = Ct[i * 3] * Cs[i * 3] / T[i * 3];
    return 0;
  }
  const double Ti[4] = {T[3] / det, -T[1] / det, -T[2] / det, T[0] / det};
  double M2[4];
  for (int i = 0; i < 2; i++)
    for (int l = 0; l < 2; l++) M2[i * 2 + l] = Ct[i * 2] * Ti[l] + Ct[i * 2 + 1] * Ti[2 + l];
  for (int i = 0; i < 2; i++)
    for (int l = 0; l < 2; l++) S[i * 2 + l] = M2[i * 2] * Cs[l] + M2[i * 2 + 1] * Cs[2 + l];
  S[1] = S[2] = 0.5 * (S[1] + S[2]);
  return 1;
}

/* The start of prepare and prepare3 (M units): Sigma's generalized
 * inverse, A (M x M, for the caller), the dead units, the scales
 * d_i = sqrt(Q_ii) (1 for a dead unit) and the cosines Rt. */
static cl_status state_scales(const cl_grid *g, work *w, const double *R, const double *Q, double *A, double *d,
                              char *err) {
  const int K = g->K, M = g->M;
  double Sg[64];
  cl_status st = cl_multi_sigma(&g->m, R, Q, A, Sg, err);
  if (st || (st = cl_sym_ginv(Sg, 2 * M, w->Gi, err))) return st;
  for (int i = 0; i < M; i++) {
    w->dead[i] = !(Q[i * (M + 1)] > 1e-300);
    d[i] = w->dead[i] ? 1 : sqrt(Q[i * (M + 1)]);
    w->dX[i] = w->dead[i] ? 0 : d[i];
    for (int j = 0; j < K; j++) w->Rt[j * M + i] = w->dead[i] ? 0 : R[j * M + i] / d[i];
  }
  return CL_OK;
}

/* The state's covariances in the standardised coordinates (docs/grid.md s.1, s.4). */
static cl_status prepare(const cl_grid *g, work *w, const double *R, const double *Q, char *err) {
  const double s2 = g->m.s * g->m.s, rho = g->m.rho;
  double A[4], d[2];
  cl_status st = state_scales(g, w, R, Q, A, d, err);
  if (st) return st;
  const double q01 = 0.5 * (Q[1] + Q[2]);
  double Cx[4];
  for (int i = 0; i < 2; i++)
    for (int l = 0; l < 2; l++) {
      const double q = i == l ? Q[i * 3] : q01, a = i == l ? A[i * 3] : 0.5 * (A[1] + A[2]);
      const int z = w->dead[i] || w->dead[l];
      Cx[i * 2 + l] = z ? 0 : (a + rho * s2 * q) / (d[i] * d[l]);
      w->Ce[i * 2 + l] = z ? 0 : (1 - rho) * s2 * q;
    }
  /* the nearest PSD matrix (rounding can leave a negative eigenvalue) */
  double Sx[4];
  if ((st = cl_sym_roots(Cx, 2, Sx, NULL, err))) return st;
  for (int i = 0; i < 2; i++)
    for (int l = 0; l < 2; l++) w->Ct[i * 2 + l] = Sx[i * 2] * Sx[l * 2] + Sx[i * 2 + 1] * Sx[l * 2 + 1];
  const double cmax = sqrt(w->Ce[0] * w->Ce[3]);
  w->Ce[1] = w->Ce[2] = fmax(-cmax, fmin(cmax, w->Ce[1]));
  /* the smoothing of the integrand W F: W is smoothed by Ct, F by the
   * standardised per-view noise Cs (docs/grid.md s.4) */
  double Cs[4];
  for (int i = 0; i < 2; i++)
    for (int l = 0; l < 2; l++) Cs[i * 2 + l] = w->dead[i] || w->dead[l] ? 0 : w->Ce[i * 2 + l] / (d[i] * d[l]);
  w->coll = !smoothing_of(w->Ct, Cs, w->Se) && !w->dead[0] && !w->dead[1] && Cs[0] > 0 && Cs[3] > 0;
  return CL_OK;
}

/* The axes of one level: n_i nodes u_ij = (j - n_i / 2) h_i (docs/grid.md s.4). */
typedef struct {
  int n[2];
  double h[2];
  double th, want; /* a capped axis: the fraction th of the aliasing exponent kept; the nodes it wanted */
} axes;

/* The smallest even n >= x whose factors are 2, 3 and 5 (fast FFTs). */
static int nice_even(double x) {
  int n = x < 8 ? 8 : x > 4096 ? 4096 : (int)ceil(x);
  for (;; n++) {
    if (n & 1) continue;
    int r = n;
    while (r % 2 == 0) r /= 2;
    while (r % 3 == 0) r /= 3;
    while (r % 5 == 0) r /= 5;
    if (r == 1) return n;
  }
}

/* The FFTW plans of one transform on buf (in place, forward), from the
 * level's cache or made (and cached, replacing the oldest):
 *   FFT_W2 {n0, n1, j0s, nq}: nq 2-d arrays n0 x n1 (weights): p[0] axis 0
 *     on every column, p[1] row 0, p[2] rows max(j0s, 1) .. n0 - 1;
 *   FFT_W3 {n0, n1, n2, j0s, nq}: nq 3-d arrays (weights3): p[0] axis 0 on
 *     every line, p[1] axes 1 and 2 of slab 0, p[2] of the slabs
 *     max(j0s, 1) .. n0 - 1;
 *   FFT_T2 {na, nb}: one 2-d array (g4_tables): p[0].
 * FFTW_ESTIMATE only: its plan is a function of the problem (sizes, strides,
 * the buffer's alignment, fftw_malloc'd), so the bits do not depend on the
 * run, on the threads or on the order of planning; FFTW_MEASURE would time
 * the machine.  FFTW_NO_BUFFERING: ESTIMATE's buffered plans of lengths 30
 * and 36 (radix 10 x 3 buffered 3 at a time) took 2.6 and 1.6x the time of
 * the unbuffered ones on the strided axes (guru howmany loops), measured by
 * the helper fftw26 (session 26) at case B's shapes against GSL's 1-d
 * transforms with the copies of weights3: 3.5 s -> 1.75 s of the transforms
 * over case B (2.6 s with ESTIMATE alone; docs/grid.md s.15).  The planner is
 * not thread-safe (the M = 4 tasks run levels in parallel): every plan is
 * made and destroyed in the critical section cl_fftw_planner. */
static const fft_set *fft_plans(level *l, const int *key, double *buf, char *err) {
  for (int i = 0; i < GRID_NFFT; i++)
    if (l->fs[i].key[0] && l->fs[i].buf == buf && !memcmp(l->fs[i].key, key, sizeof l->fs[i].key)) return &l->fs[i];
  fft_set *s = &l->fs[l->fsnext];
  l->fsnext = (l->fsnext + 1) % GRID_NFFT;
  fft_set_free(s);
  fftw_complex *c = (fftw_complex *)buf;
  const unsigned fl = FFTW_ESTIMATE | FFTW_NO_BUFFERING;
  int ok = 1;
#pragma omp critical(cl_fftw_planner)
  {
    if (key[0] == FFT_W2) {
      const int n0 = key[1], n1 = key[2], js = key[3] > 1 ? key[3] : 1, N = n0 * n1;
      const fftw_iodim d0 = {n0, n1, n1}, d1 = {n1, 1, 1}, v0[2] = {{key[4], N, N}, {n1, 1, 1}},
                       vq = {key[4], N, N}, vs[2] = {{key[4], N, N}, {n0 - js, n1, n1}};
      s->p[0] = fftw_plan_guru_dft(1, &d0, 2, v0, c, c, FFTW_FORWARD, fl);
      s->p[1] = fftw_plan_guru_dft(1, &d1, 1, &vq, c, c, FFTW_FORWARD, fl);
      s->p[2] = fftw_plan_guru_dft(1, &d1, 2, vs, c + (size_t)js * n1, c + (size_t)js * n1, FFTW_FORWARD, fl);
      ok = s->p[0] && s->p[1] && s->p[2];
    } else if (key[0] == FFT_W3) {
      const int n0 = key[1], n1 = key[2], n2 = key[3], js = key[4] > 1 ? key[4] : 1, s12 = n1 * n2, N = n0 * s12;
      const fftw_iodim d0 = {n0, s12, s12}, d12[2] = {{n1, n2, n2}, {n2, 1, 1}}, v0[2] = {{key[5], N, N}, {s12, 1, 1}},
                       vq = {key[5], N, N}, vs[2] = {{key[5], N, N}, {n0 - js, s12, s12}};
      s->p[0] = fftw_plan_guru_dft(1, &d0, 2, v0, c, c, FFTW_FORWARD, fl);
      s->p[1] = fftw_plan_guru_dft(2, d12, 1, &vq, c, c, FFTW_FORWARD, fl);
      s->p[2] = fftw_plan_guru_dft(2, d12, 2, vs, c + (size_t)js * s12, c + (size_t)js * s12, FFTW_FORWARD, fl);
      ok = s->p[0] && s->p[1] && s->p[2];
    } else {
      s->p[0] = fftw_plan_dft_2d(key[1], key[2], c, c, FFTW_FORWARD, fl);
      ok = s->p[0] != NULL;
    }
  }
  if (!ok) return fft_set_free(s), cl_fail(err, CL_ENOMEM, "the grid's FFT: FFTW made no plan"), NULL;
  memcpy(s->key, key, sizeof s->key);
  s->buf = buf;
  return s;
}

/* The range of an axis (cosines r, Gaussian part cp) at the fraction th of
 * the level's tail exponent E: a student law's quantile at exp(-0.75 th E). */
static double axis_range(const cl_grid *g, const level *l, const double *r, double cp, double th) {
  double tq[CL_KMAX];
  for (int j = 0; j < g->K; j++) {
    const cl_law *c = &g->m.c[j];
    tq[j] = th == 1 || c->kind != CL_LAW_STUDENT
                ? l->tq[j]
                : sqrt(c->m2 * (c->nu - 2) / c->nu) * gsl_cdf_tdist_Qinv(exp(-0.75 * th * l->p.E), c->nu);
  }
  return fmax(cl_cf_range(g->m.c, tq, g->K, r, cp, th * l->p.E, NULL), 1.0);
}

/* The largest fraction th <= 1 of level l's aliasing exponent at which an
 * axis (cosines r, Gaussian part cp, step ht at th = 1) fits nmax nodes
 * (the level's n at M = 2), the tail exponent taking the fraction sqrt(th):
 * the step is then ht / sqrt(th) and n(th) = 2 L(sqrt th) sqrt(th) / ht,
 * increasing in th. */
static double axis_theta(const cl_grid *g, const level *l, const double *r, double cp, double ht, int nmax) {
  if (!(ht > 0) || 2 * axis_range(g, l, r, cp, 1) / ht <= nmax) return 1;
  double lo = 0, hi = 1;
  for (int it = 0; it < 30; it++) {
    const double th = 0.5 * (lo + hi);
    if (2 * axis_range(g, l, r, cp, sqrt(th)) * sqrt(th) / ht <= nmax) lo = th;
    else hi = th;
  }
  return lo;
}

/* The step and range of each axis: the range L_i from the laws' tails
 * (exp(-E)); the step such that the trapezoid's aliasing of the smoothed
 * integrand is about exp(-Eh) on every lattice direction, n_i = 2 L_i / h_i
 * rounded up to an FFT-friendly even number; a dead axis is a single node
 * X_i = 0 (n_i = 2).  An axis that wants more than the level's n nodes
 * gets n nodes with the aliasing exponent lowered by a factor th < 1 and
 * the tail exponent by sqrt(th) (the largest th that fits): keeping the
 * range and coarsening the step alone cut the aliasing exponent to
 * Eh / (wanted / n)^2, and with a student law's long range or nearly
 * collinear units the drift was 5-65% off (docs/grid.md s.4); lowering
 * both exponents alike cost nearly collinear units more than the step
 * alone.  The coarse level takes at most the fine level's th, so that both
 * of its exponents stay below the fine level's and the difference of the
 * two still sees the tails and the aliasing. */
/* The smoothing of the integrand W F at level p (docs/grid.md s.4), into
 * S: with per-view noise the Se of prepare.  Without it (s = 0 or rho = 1)
 * nothing smooths F but sigma's own poles at |Im X_i| = a / d_i, and the
 * spectrum of W F at a point k of the dual lattice is bounded by
 * exp(-Phi(k)), Phi(k) = inf_v [(k - v)^T Ct (k - v) / 2 + sum_i a_i |v_i|]
 * (a_i = a / d_i; the infimal convolution of W's Gaussian exponent and
 * F's).  Where |v_i| <= Eh / a_i, a_i |v_i| >= v_i^2 a_i^2 / Eh, and
 * elsewhere the sum alone exceeds Eh; so Phi >= min(Eh, k^T S k / 2) with
 * S = (Ct^-1 + Cp^-1)^-1, Cp = diag(2 a_i^2 / Eh), and the Gaussian step
 * rule on this S gives every lattice point an exponent of at least Eh.
 * Where W is smooth (Ct >> Cp) S is Cp and the step 2 pi a / (d_i Eh) of
 * the poles alone; where the units are nearly collinear (Ct nearly
 * singular) S follows Ct's correlation and the step shrinks.  Before,
 * the poles' step alone was taken and W's own aliasing ignored: erf at
 * rho = 1, Ct's correlation 0.976 (Q_22 = 1e-6, cosine 0.97) was 1.12 of
 * its estimate off, with W's spectrum at e^-3 at a lattice point
 * (docs/grid.md s.11, draw 52).  A polynomial sigma (no poles: F's
 * spectrum sits at 0) takes S = Ct. */
static void smoothing(const cl_grid *g, const cl_grid_level *p, const work *w, double *S) {
  memcpy(S, w->Se, 4 * sizeof *S);
  if (w->Se[0] > 0 || w->Se[3] > 0) return;
  const cl_act act = g->m.act;
  const double a = cl_act_pole(act), *C = w->Ct;
  const int poly = cl_act_polynomial(act);
  if (!poly && !(a > 0)) return;
  if (poly) { /* Cp infinite: S = Ct (a dead unit's row and column are 0) */
    memcpy(S, C, 4 * sizeof *S);
    return;
  }
  double Cp[4] = {0, 0, 0, 0};
  for (int i = 0; i < 2; i++)
    if (!w->dead[i]) Cp[i * 3] = 2 * (a / w->dX[i]) * (a / w->dX[i]) / p->Eh;
  smoothing_of(C, Cp, S);
}

/* 1 - |r| of the smoothing S (r its correlation; 1 with a dead unit) */
static double smoothing_lam(const work *w, const double *S) {
  if (w->dead[0] || w->dead[1] || !(S[0] > 0) || !(S[3] > 0)) return 1;
  return 1 - fmin(1, fabs(S[1]) / sqrt(S[0] * S[3]));
}

/* The step of axis i at level p before any cap: the aliasing exponent Eh
 * of the smoothing S (kap = 2 pi / sqrt(2 Eh)).  Where S_ii = 0 (no per-view
 * noise and no Gaussian part: Ct_ii = 0) sigma's own poles at |Im h| = a,
 * |Im X_i| = a / d_i: the trapezoid's aliasing exp(-2 pi (a / d_i) / h) is
 * exp(-Eh) at h = 2 pi a / (d_i Eh).  Before session 12 an axis without
 * per-view noise took the level's cap with th = 1: tanh with
 * student:3.26:5.2 + laplace:1.4 at rho = 1 (Q ~ 8) was 5.6 of its
 * estimate off (docs/grid.md s.11, "Session 12"). */
static double axis_step(const cl_grid *g, const cl_grid_level *p, const work *w, const double *S, int i, double lam) {
  const double ht = 2 * M_PI / sqrt(2 * p->Eh) * sqrt(S[i * 3] * lam), a = cl_act_pole(g->m.act);
  if (ht > 0 || w->dead[i] || !(a > 0) || !(w->dX[i] > 0)) return ht;
  return 2 * M_PI * a / (w->dX[i] * p->Eh);
}

static void axes_of(const cl_grid *g, const level *l, axes *ax) {
  const work *w = &l->w;
  const int K = g->K;
  ax->th = 1, ax->want = 0;
  double S[4], Sf[4]; /* this level's smoothing and the fine level's */
  smoothing(g, &l->p, w, S), smoothing(g, &g->lv[1].p, w, Sf);
  const double lam = smoothing_lam(w, S), lamf = smoothing_lam(w, Sf);
  /* exactly collinear units without per-view noise (rho = 1 or s = 0): S
   * has correlation 1 (lam = 0) and no step resolves W (a line's measure);
   * before, the poles' step took over and such a state was served: sigmoid,
   * units equal, R_.i = (0.3, 0.2), Q_ij = 0.5, rho = 1 was 0.078 from the
   * Sobol' engine with an estimate of 4e-10 */
  const int coll = w->coll || (!w->dead[0] && !w->dead[1] && S[0] > 0 && S[3] > 0 && !(lam > 0));
  for (int i = 0; i < 2; i++) {
    double r[CL_KMAX];
    for (int j = 0; j < K; j++) r[j] = w->Rt[j * 2 + i];
    const double cp = sqrt(w->Ct[i * 3]), ht = axis_step(g, &l->p, w, S, i, lam);
    double L = axis_range(g, l, r, cp, 1);
    if (coll) {
      /* exactly collinear units (Q singular; w->coll with noise s > 0,
       * rho < 1, above without): the smoothing S has correlation 1 and no
       * step resolves the integrand;
       * th = 0 refuses the state, as the nearly collinear ones that lead
       * to it.  Before, prepare's branch for a dead unit kept S's diagonal
       * alone, S looked uncorrelated and the state got the coarse grid of
       * independent units: 0.036 off with an estimate of 2.1e-4 at R = 0,
       * Q_ij = 0.04, sigmoid, s = 1 (docs/grid.md s.4).  (An exactly
       * singular A with Q regular is not this: there the capped grid held,
       * 1e-11 off with an estimate of 2e-10.) */
      ax->want = INFINITY, ax->th = 0, ax->n[i] = l->p.n, ax->h[i] = 2 * L / l->p.n;
      continue;
    }
    /* no per-view noise: the cap as before, unless the step of smoothing() asks for more (th < 1) */
    int n = w->dead[i] ? 2 : w->Se[i * 3] * lam > 0 ? nice_even(2 * L / ht) : l->p.n;
    double th = w->dead[i] ? 1 : axis_theta(g, l, r, cp, ht, l->p.n);
    if (!w->dead[i] && l == &g->lv[0]) th = fmin(th, axis_theta(g, &g->lv[1], r, cp, axis_step(g, &g->lv[1].p, w, Sf, i, lamf), g->lv[1].p.n));
    if (th < 1) {
      ax->want = fmax(ax->want, 2 * L / ht), ax->th = fmin(ax->th, th);
      if (th > 0) L = axis_range(g, l, r, cp, sqrt(th)), n = nice_even(2 * L * sqrt(th) / ht);
    }
    if (n > l->p.n) n = l->p.n;
    ax->n[i] = n, ax->h[i] = 2 * L / n;
  }
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define GRID_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define GRID_CLONES
#endif

/* spectrum_line's weights (its dens) */
enum { SPEC_ALL, SPEC_DENS, SPEC_NOTILT };

/* One point of the other axes' images (w_0 .. w_(d-2) fixed) for
 * spectrum_line: the Gaussian exponent of those axes (e) and its
 * coefficient of the last axis' frequency (ct), each law's argument
 * r_j . w over those axes (arg) and, for the trigonometric laws, the cos and
 * sin of its angle f_j arg (ca, sa: computed by the caller, so that M = 2
 * keeps its bits), the part of (Ct w)_r over those axes (xo, r < d). */
typedef struct {
  double e, ct;
  double arg[CL_KMAX], ca[CL_KMAX], sa[CL_KMAX], fj[CL_KMAX];
  int tr[CL_KMAX];
  double xo[4];
} spec_pt;

/* The last axis of spectrum_line's lines, its images in the order of their
 * frequency: u = 0 .. 3 n - 1 is the image m = u - 3 n / 2 of the node k =
 * (u + n / 2) mod n (n even; the image a = -1, 0, 1 of k in image_freqs'
 * layout fq[3 k + a + 1], with the same bits).  In this order the images
 * of a line whose Gaussian exponent is at most GRID_EXPMAX are one run of
 * u (the exponent is a convex quadratic in the frequency), read
 * contiguously. */
typedef struct {
  int n, lo, hi;         /* nodes; the images that pass the bound lb (not along a dead axis): u in [lo, hi) */
  double dw, c2;         /* the frequency step 2 pi / (n h); Ct_mm / 2 */
  const double *w, *e;   /* the frequencies w_u and their exponents Ct_mm w_u^2 / 2 */
  const double *cb, *sb; /* the trigonometric laws' cos and sin of f_j Rt_jm w_u (3 n per law) */
} spec_axis;

/* Fills ax for the last axis m of a d-d grid (n nodes, step h; lb the
 * exponent bound of the callers, dead: a dead unit's axis) from p; returns
 * the room after it. */
static double *spec_axis_make(const cl_grid *g, const work *w, int d, int n, double h, double lb, spec_axis *ax,
                              double *p) {
  const int K = g->K, m = d - 1, n3 = 3 * n;
  const double P = n * h, Cm = w->Ct[m * (d + 1)];
  double *fw = p, *fe = p + n3, *cb = fe + n3, *sb = cb + (size_t)K * n3;
  ax->n = n, ax->dw = 2 * M_PI / P, ax->c2 = 0.5 * Cm, ax->w = fw, ax->e = fe, ax->cb = cb, ax->sb = sb;
  for (int u = 0; u < n3; u++)
    fw[u] = 2 * M_PI * (u - 3 * n / 2) / P, fe[u] = 0.5 * Cm * fw[u] * fw[u];
  for (int j = 0; j < K; j++) {
    double f;
    if (cl_cf_trig(&g->m.c[j], &f))
      for (int u = 0; u < n3; u++)
        cb[j * n3 + u] = cos(f * w->Rt[j * d + m] * fw[u]), sb[j * n3 + u] = sin(f * w->Rt[j * d + m] * fw[u]);
  }
  /* the bound lb fe <= GRID_EXPMAX: fe grows with |m| (and is even in m),
   * so the images it passes are a run of u */
  int lo = w->dead[m] ? n : 0, hi = w->dead[m] ? 2 * n : n3;
  while (lo < hi && lb * fe[lo] > GRID_EXPMAX) lo++;
  while (hi > lo && lb * fe[hi - 1] > GRID_EXPMAX) hi--;
  ax->lo = lo, ax->hi = hi;
  return sb + (size_t)K * n3;
}

/* One line of the folded spectrum (weights) along the last axis of a d-d
 * grid (d = 2: a row k0; d = 3: a line (k0, k1); d = 4: (k0, k1, k2)), added
 * into vr and vi (nw rows of n) for one image point o of the other axes,
 * vectorised along the last axis (ax): the run of its images u whose
 * exponent e = o.e + o.ct w_u + Ct_mm w_u^2 / 2 can be at most GRID_EXPMAX
 * (the roots of the quadratic, a node and 1e-10 of the terms' size wider,
 * within the bound lb's run), then the Gaussian factor (libmvec's exp on
 * whole vectors of 8), the laws' transforms and their prefix and
 * leave-one-out products over that run, read contiguously.  The images
 * above GRID_EXPMAX in the run get the factor 0 (they add exact zeros to
 * accumulators that start at +0).  Each node's images are added in the
 * order of the scalar loop this replaced (a = -1, 0, 1), so only exp and
 * the angle addition round differently.  Before (session 26) every node
 * the bound lb passed was tested per image, gathered through an index
 * and compacted after exp (38% of them had a factor 0 at case B's
 * triples), the laws read cos and sin through the index; measured in
 * docs/grid.md s.15.  The trigonometric laws' cos and sin of f_j t (t =
 * the argument) by angle addition from ax's and o's ca, sa (hand-written:
 * measured faster than a sincos per node and image).  rl: the cosines of
 * the last axis (stride d), cl: Ct's column of the last axis (d entries);
 * dens: SPEC_ALL every weight (rows 0, 1 + j, K + 1 + r), SPEC_DENS the
 * density's transform alone (row 0 of vr, vi: the four-unit terms' 4-d
 * grid, d = 4), SPEC_NOTILT the density and the xi_r (rows 0, 1 + r: the
 * M = 3 grid without the tilted weights, cl_grid_alloc_dq).  Measured
 * (session 18, case D to T = 50 under callgrind, docs/grid.md s.10): the
 * spectrum 5.32e9 instructions against 11.56e9 for the scalar loop with
 * cl_cf_law and exp per node and image. */
GRID_CLONES static void spectrum_line(const cl_grid *g, int d, const double *rl, const double *cl, const spec_axis *ax,
                                      const spec_pt *o, double *vr, double *vi, double *s, int dens) {
  const int K = g->K, n1 = ax->n, n3 = 3 * n1;
  const double e0 = o->e, ct = o->ct;
  /* the run of images: the roots of e0 + ct w + c2 w^2 = GRID_EXPMAX +
   * margin (the margin covers the rounding of the exponents as summed
   * below), a node wider on each side, within the bound's run */
  int u0 = ax->lo, u1 = ax->hi;
  if (u0 >= u1) return;
  if (ax->c2 > 0) {
    const double c2 = ax->c2, wm = fmax(fabs(ax->w[u0]), fabs(ax->w[u1 - 1]));
    const double E = GRID_EXPMAX + 1e-10 * (GRID_EXPMAX + fabs(e0) + c2 * wm * wm + fabs(ct) * wm);
    const double disc = ct * ct - 4 * c2 * (e0 - E);
    if (disc < 0) return; /* every image above GRID_EXPMAX */
    if (disc >= 0) {
      const double sq = sqrt(disc), off = 1.5 * n1;
      const double ra = floor((-ct - sq) / (2 * c2) / ax->dw) - 1 + off, rb = ceil((-ct + sq) / (2 * c2) / ax->dw) + 2 + off;
      if (ra > u0) u0 = ra < u1 ? (int)ra : u1;
      if (rb < u1) u1 = rb > u0 ? (int)rb : u0;
      if (u0 >= u1) return;
    }
  }
  const int L = u1 - u0, Lp = (L + 7) & ~7;
  const size_t ls = 3 * (size_t)n1 + 8; /* the scratch rows' stride */
  double *G = s, *cs = G + ls, *sn = cs + ls, *fr = sn + ls, *fi = fr + (size_t)K * ls;
  double *cr = fi + (size_t)K * ls, *ci = cr + (size_t)K * ls, *pr = ci + (size_t)K * ls;
  double *pi = pr + (size_t)(K + 1) * ls;
  const double *restrict w1 = ax->w + u0, *restrict ge = ax->e + u0;
  /* the pieces of the run along which the node k = (u + n / 2) mod n is
   * u + kof: the run's index i = u - u0 adds into node i + ko */
  int ni = 0, i0[4], i1[4], ko[4];
  for (int r = 0; r < 4; r++) {
    const int a = r ? (2 * r - 1) * n1 / 2 : 0, b = r < 3 ? (2 * r + 1) * n1 / 2 : n3;
    const int s0 = a > u0 ? a : u0, s1 = b < u1 ? b : u1;
    if (s0 < s1) i0[ni] = s0 - u0, i1[ni] = s1 - u0, ko[ni] = u0 - (2 * r - 1) * n1 / 2, ni++;
  }
  /* without the tilted weights and every law with a closed form (all
   * symmetric): the transforms are real */
  int real = dens != SPEC_ALL;
  for (int j = 0; j < K && real; j++) {
    const int k = g->m.c[j].kind;
    real = k == CL_LAW_RADEMACHER || k == CL_LAW_UNIFORM || k == CL_LAW_SPARSE || k == CL_LAW_LAPLACE ||
           k == CL_LAW_GAUSS;
  }
  /* the exponents (in cs; padded to whole vectors of 8 with exponents
   * above GRID_EXPMAX), then exp in a loop of its own (with the test on e
   * in the same loop gcc called the scalar exp), on whole vectors: every
   * node's factor from libmvec's vector exp, whatever its place in the run */
#pragma omp simd
  for (int i = 0; i < L; i++) cs[i] = e0 + ge[i] + ct * w1[i];
  for (int i = L; i < Lp; i++) cs[i] = 2 * GRID_EXPMAX;
  for (int b = 0; b < Lp; b += 8) {
    double *restrict Gb = G + b;
    const double *restrict cb8 = cs + b;
#pragma omp simd
    for (int i = 0; i < 8; i++) Gb[i] = exp(-cb8[i]);
  }
#pragma omp simd
  for (int i = 0; i < L; i++) G[i] = cs[i] > GRID_EXPMAX ? 0 : G[i];
  if (real) {
    /* the density's transform alone, real: G times the laws' phi in the
     * prefix products' order (a Fr - b Fi with b = Fi = 0 is a Fr), the
     * tilted factors chi never formed.  The same bits as the complex
     * loops below (their imaginary parts add signed zeros only);
     * measured against them in docs/grid.md s.15 (session 25) */
    double *restrict P = G;
    for (int j = 0; j < K; j++) {
      const cl_law *c = &g->m.c[j];
      const double t0 = o->arg[j], r1 = rl[j * d], f = o->fj[j];
      /* the trigonometric laws (o->tr[j]): only the cos or sin their phi reads */
      const double *restrict cb = ax->cb + (size_t)j * n3 + u0, *restrict sb = ax->sb + (size_t)j * n3 + u0;
      const double c0 = o->ca[j], s0 = o->sa[j];
      switch (c->kind) {
      case CL_LAW_RADEMACHER:
#pragma omp simd
        for (int i = 0; i < L; i++) P[i] = P[i] * (c0 * cb[i] - s0 * sb[i]);
        break;
      case CL_LAW_UNIFORM:
#pragma omp simd
        for (int i = 0; i < L; i++) {
          double fr1, ci1;
          cl_cf_uniform(f, t0 + r1 * w1[i], 0, s0 * cb[i] + c0 * sb[i], &fr1, &ci1);
          P[i] = P[i] * fr1;
        }
        break;
      case CL_LAW_SPARSE:
#pragma omp simd
        for (int i = 0; i < L; i++) {
          double fr1, ci1;
          cl_cf_sparse(c->p, f, c0 * cb[i] - s0 * sb[i], 0, &fr1, &ci1);
          P[i] = P[i] * fr1;
        }
        break;
      case CL_LAW_LAPLACE:
#pragma omp simd
        for (int i = 0; i < L; i++) {
          double fr1, ci1;
          cl_cf_laplace(c->m2, t0 + r1 * w1[i], &fr1, &ci1);
          P[i] = P[i] * fr1;
        }
        break;
      default: /* CL_LAW_GAUSS (real: every law has a closed form) */
#pragma omp simd
        for (int i = 0; i < L; i++) {
          double fr1, ci1;
          cl_cf_gauss(c->m2, t0 + r1 * w1[i], &fr1, &ci1);
          P[i] = P[i] * fr1;
        }
      }
    }
    for (int q = 0; q < ni; q++) {
      const int o0 = ko[q];
#pragma omp simd
      for (int i = i0[q]; i < i1[q]; i++) vr[i + o0] += P[i];
    }
    /* xi_r: i (Ct w)_r times the (real) transform of the density */
    for (int r = 0; r < d && dens == SPEC_NOTILT; r++) {
      double *restrict ui = vi + (size_t)(1 + r) * n1;
      const double xo = o->xo[r], cr1 = cl[r];
      for (int q = 0; q < ni; q++) {
        const int o0 = ko[q];
#pragma omp simd
        for (int i = i0[q]; i < i1[q]; i++) ui[i + o0] += (xo + cr1 * w1[i]) * P[i];
      }
    }
    return;
  }
  for (int j = 0; j < K; j++) {
    const cl_law *c = &g->m.c[j];
    const double t0 = o->arg[j], r1 = rl[j * d], f = o->fj[j];
    double *restrict Fr = fr + (size_t)j * ls, *restrict Fi = fi + (size_t)j * ls;
    double *restrict Cr = cr + (size_t)j * ls, *restrict Ci = ci + (size_t)j * ls;
    if (o->tr[j]) {
      const double *restrict cb = ax->cb + (size_t)j * n3 + u0, *restrict sb = ax->sb + (size_t)j * n3 + u0;
      const double c0 = o->ca[j], s0 = o->sa[j];
#pragma omp simd
      for (int i = 0; i < L; i++) cs[i] = c0 * cb[i] - s0 * sb[i], sn[i] = s0 * cb[i] + c0 * sb[i];
    }
    switch (c->kind) {
    case CL_LAW_RADEMACHER:
#pragma omp simd
      for (int i = 0; i < L; i++) cl_cf_rademacher(f, cs[i], sn[i], &Fr[i], &Ci[i]);
      break;
    case CL_LAW_UNIFORM:
#pragma omp simd
      for (int i = 0; i < L; i++) cl_cf_uniform(f, t0 + r1 * w1[i], cs[i], sn[i], &Fr[i], &Ci[i]);
      break;
    case CL_LAW_SPARSE:
#pragma omp simd
      for (int i = 0; i < L; i++) cl_cf_sparse(c->p, f, cs[i], sn[i], &Fr[i], &Ci[i]);
      break;
    case CL_LAW_LAPLACE:
#pragma omp simd
      for (int i = 0; i < L; i++) cl_cf_laplace(c->m2, t0 + r1 * w1[i], &Fr[i], &Ci[i]);
      break;
    case CL_LAW_GAUSS:
#pragma omp simd
      for (int i = 0; i < L; i++) cl_cf_gauss(c->m2, t0 + r1 * w1[i], &Fr[i], &Ci[i]);
      break;
    default: /* student, discrete: the scalar forms */
      for (int i = 0; i < L; i++) cl_cf_law(c, t0 + r1 * w1[i], &Fr[i], &Fi[i], &Cr[i], &Ci[i]);
      continue;
    }
    for (int i = 0; i < L; i++) Fi[i] = Cr[i] = 0; /* symmetric laws */
  }
  /* prefix products of the laws' transforms, then the leave-one-out ones */
  for (int i = 0; i < L; i++) pr[i] = G[i], pi[i] = 0;
  for (int j = 0; j < K; j++) {
    const double *restrict a = pr + (size_t)j * ls, *restrict b = pi + (size_t)j * ls;
    const double *restrict Fr = fr + (size_t)j * ls, *restrict Fi = fi + (size_t)j * ls;
    double *restrict a2 = pr + (size_t)(j + 1) * ls, *restrict b2 = pi + (size_t)(j + 1) * ls;
#pragma omp simd
    for (int i = 0; i < L; i++) a2[i] = a[i] * Fr[i] - b[i] * Fi[i], b2[i] = a[i] * Fi[i] + b[i] * Fr[i];
  }
  const double *restrict pK = pr + (size_t)K * ls, *restrict qK = pi + (size_t)K * ls;
  double *restrict sr = cs, *restrict si = sn; /* the suffix products */
  for (int q = 0; q < ni; q++) {
    const int o0 = ko[q];
#pragma omp simd
    for (int i = i0[q]; i < i1[q]; i++) vr[i + o0] += pK[i], vi[i + o0] += qK[i];
  }
  if (dens == SPEC_DENS) return; /* the density's transform alone (the four-unit terms) */
#pragma omp simd
  for (int i = 0; i < L; i++) sr[i] = 1, si[i] = 0;
  for (int j = K - 1; j >= 0 && dens == SPEC_ALL; j--) {
    /* pre_j chi_j suf_(j+1) */
    const double *restrict a = pr + (size_t)j * ls, *restrict b = pi + (size_t)j * ls;
    const double *restrict Fr = fr + (size_t)j * ls, *restrict Fi = fi + (size_t)j * ls;
    const double *restrict Cr = cr + (size_t)j * ls, *restrict Ci = ci + (size_t)j * ls;
    double *restrict ur = vr + (size_t)(1 + j) * n1, *restrict ui = vi + (size_t)(1 + j) * n1;
    for (int q = 0; q < ni; q++) {
      const int o0 = ko[q];
#pragma omp simd
      for (int i = i0[q]; i < i1[q]; i++) {
        const double ar = a[i] * Cr[i] - b[i] * Ci[i], ai = a[i] * Ci[i] + b[i] * Cr[i];
        ur[i + o0] += ar * sr[i] - ai * si[i], ui[i + o0] += ar * si[i] + ai * sr[i];
      }
    }
#pragma omp simd
    for (int i = 0; i < L; i++) {
      const double tr = sr[i] * Fr[i] - si[i] * Fi[i];
      si[i] = sr[i] * Fi[i] + si[i] * Fr[i], sr[i] = tr;
    }
  }
  /* xi_r: i (Ct w)_r times the transform of the density */
  const int xr0 = dens == SPEC_NOTILT ? 1 : K + 1;
  for (int r = 0; r < d; r++) {
    double *restrict ur = vr + (size_t)(xr0 + r) * n1, *restrict ui = vi + (size_t)(xr0 + r) * n1;
    const double xo = o->xo[r], cr1 = cl[r];
    for (int q = 0; q < ni; q++) {
      const int o0 = ko[q];
#pragma omp simd
      for (int i = i0[q]; i < i1[q]; i++) {
        const double c = xo + cr1 * w1[i];
        ur[i + o0] += -c * qK[i], ui[i + o0] += c * pK[i];
      }
    }
  }
}

/* One row k0 of the folded spectrum of the 2-d grid (weights) into vr and
 * vi: for every image a0 of axis 0 that passes the bound lb fe, the line
 * of spectrum_line along axis 1 (and one sin and cos per row and image of
 * axis 0 for the trigonometric laws). */
static void spectrum_row(const cl_grid *g, const work *w, int k0, const double *fw, const double *fe,
                         const spec_axis *ax, double lb, double *vr, double *vi, double *s) {
  const int K = g->K, nw = g->nw, n1 = ax->n;
  const double *Ct = w->Ct;
  memset(vr, 0, sizeof(double) * (size_t)nw * n1);
  memset(vi, 0, sizeof(double) * (size_t)nw * n1);
  const double cl[2] = {Ct[1], Ct[3]};
  for (int a0 = -1; a0 <= 1; a0++) {
    if (w->dead[0] && a0) continue; /* a delta along a dead axis: no images */
    const double w0 = fw[3 * k0 + a0 + 1], e0 = fe[3 * k0 + a0 + 1];
    if (lb * e0 > GRID_EXPMAX) continue;
    spec_pt o;
    o.e = e0, o.ct = Ct[1] * w0;
    for (int j = 0; j < K; j++) {
      o.tr[j] = cl_cf_trig(&g->m.c[j], &o.fj[j]);
      if (o.tr[j]) o.ca[j] = cos(o.fj[j] * w->Rt[j * 2] * w0), o.sa[j] = sin(o.fj[j] * w->Rt[j * 2] * w0);
      o.arg[j] = w->Rt[j * 2] * w0;
    }
    for (int r = 0; r < 2; r++) o.xo[r] = Ct[r * 2] * w0;
    spectrum_line(g, 2, w->Rt + 1, cl, ax, &o, vr, vi, s, SPEC_ALL);
  }
}

/* The weights W_a on the grid, a = 0 (the density of u), 1..K (times c_j),
 * K+1, K+2 (times the standardised xi_r), each times the cell area h0 h1:
 * the folded spectrum at the grid's frequencies, then a 2-d FFT per pair
 * (docs/grid.md s.2). */
static void weights(const cl_grid *g, level *l, const axes *ax, const fft_set *fs) {
  work *w = &l->w;
  const int n0 = ax->n[0], n1 = ax->n[1], nw = g->nw;
  const size_t n2 = (size_t)n0 * n1;
  const double P0 = n0 * ax->h[0];
  const double *Ct = w->Ct;
  /* the frequencies of the images along axis 0, and their Gaussian exponents */
  double *fw = w->fw, *fe = fw + 3 * (size_t)n0;
  for (int k = 0; k < n0; k++)
    for (int a = 0; a < 3; a++) {
      const int q = k < n0 / 2 ? k : k - n0;
      fw[3 * k + a] = 2 * M_PI * (q + (a - 1) * n0) / P0, fe[3 * k + a] = 0.5 * Ct[0] * fw[3 * k + a] * fw[3 * k + a];
    }
  /* the weights are real: the spectrum at -w is the conjugate of that at w,
   * so the rows k0 = 0 .. n0 / 2 are computed and the others mirrored.
   * The exponent e = w^T Ct w / 2 is at least lb (fe + ge), lb = 1 - |r| (r
   * the correlation of Ct, the cross term bounded by AM-GM): an image
   * whose own axis' exponent alone puts lb fe or lb ge above GRID_EXPMAX
   * is skipped before e is formed (the images the test on e drops: the
   * margin 1e-12 covers the rounding) */
  const double rc = Ct[0] > 0 && Ct[3] > 0 ? fmin(1, fabs(Ct[1]) / sqrt(Ct[0] * Ct[3])) : 0;
  const double lb = 1 - rc - 1e-12;
  const int poly = cl_act_polynomial(g->m.act);
  memset(w->spec, 0, sizeof w->spec);
  /* axis 1: its images' frequencies, exponents and the trigonometric laws'
   * cos and sin of f_j Rt_j1 w1 (spectrum_row adds the angle of axis 0) */
  spec_axis sa;
  double *VR = spec_axis_make(g, w, 2, n1, ax->h[1], lb, &sa, fe + 3 * (size_t)n0);
  double *VI = VR + (size_t)nw * n1, *scr = VI + (size_t)nw * n1;
  for (int k0 = 0; k0 <= n0 / 2; k0++) {
    spectrum_row(g, w, k0, fw, fe, &sa, lb, VR, VI, scr);
    for (int k1 = 0; k1 < n1; k1++) {
      double vr[CL_KMAX + 3], vi[CL_KMAX + 3];
      for (int a = 0; a < nw; a++) vr[a] = VR[a * n1 + k1], vi[a] = VI[a * n1 + k1];
      /* the grid starts at u = -n h / 2: the phase (-1)^(k0 + k1) for even n */
      const double sg = ((k0 + k1) & 1) ? -1 : 1;
      const int mir = k0 > 0 && k0 < n0 / 2;
      const size_t ix = 2 * ((size_t)k0 * n1 + k1), iy = 2 * ((size_t)(n0 - k0) * n1 + (n1 - k1) % n1);
      if (poly)
        for (int a = 0; a < nw; a++) w->spec[a] += (mir ? 2 : 1) * sqrt(vr[a] * vr[a] + vi[a] * vi[a]);
      for (int a = 0; a < nw; a++) {
        double *z = w->z + 2 * n2 * (size_t)(a / 2), *zx = z + ix, *zy = z + iy;
        if (a & 1) { /* the odd weight as the imaginary part */
          zx[0] -= sg * vi[a], zx[1] += sg * vr[a];
          if (mir) zy[0] += sg * vi[a], zy[1] += sg * vr[a];
        } else { /* every entry is written once here, before its odd weight is added */
          zx[0] = sg * vr[a], zx[1] = sg * vi[a];
          if (mir) zy[0] = sg * vr[a], zy[1] = -sg * vi[a];
        }
      }
    }
  }
  /* the columns first, then only the rows eval_level uses (folded: j0 = 0
   * and j0 >= n0 / 2; the other rows of W are left unset): fs's plans
   * (fft_plans, FFT_W2) */
  const int j0s = g->odd ? n0 / 2 : 0;
  for (int i = 0; i < 3; i++) fftw_execute(fs->p[i]);
  const double sc = 1.0 / ((double)n0 * n1);
  for (int a = 0; a < nw; a++) {
    const double *z = w->z + 2 * n2 * (size_t)(a / 2) + (a & 1);
    double *W = w->W + n2 * (size_t)a;
    for (int r = 0; r < n0; r++)
      if (r == 0 || r >= j0s)
        for (size_t k = (size_t)r * n1; k < (size_t)(r + 1) * n1; k++) W[k] = sc * z[2 * k];
  }
}

/* 1-d tables along one axis at the nodes X = dX u_j, u_j = (j - n / 2) h
 * (n nodes): the means m_k, the same-unit second moments mo_kl and
 * ez_k = E[phi_k z] (eta = sd z; the inner rule gh), into tb (NTAB rows of
 * n); hs, ys, ds: scratch of gh.n. */
GRID_CLONES static void axis_tables(cl_act act, const cl_rule *gh, double sd, double dX, int n, double h, double *tb,
                                    double *hs, double *ys_, double *ds_) {
  const int ne = gh->n;
  const double *z = gh->x, *qw = gh->w;
  for (int j = 0; j < n; j++) {
    const double X = dX * (j - n / 2) * h;
    for (int p = 0; p < ne; p++) hs[p] = X + sd * z[p];
    cl_act_eval_vec(act, hs, ys_, ds_, ne);
    /* the 18 sums over p in one vectorised loop (the order of summation differs from a plain loop: rounding only) */
    double m0 = 0, m1 = 0, m2 = 0, m3 = 0, e0 = 0, e1 = 0, e2 = 0, e3 = 0;
    double o00 = 0, o01 = 0, o02 = 0, o03 = 0, o11 = 0, o12 = 0, o13 = 0, o22 = 0, o23 = 0, o33 = 0;
    const double *restrict ys = ys_, *restrict ds = ds_;
#pragma omp simd reduction(+ : m0, m1, m2, m3, e0, e1, e2, e3, o00, o01, o02, o03, o11, o12, o13, o22, o23, o33)
    for (int p = 0; p < ne; p++) {
      const double y = ys[p], d = ds[p], p0 = d, p1 = y, p2 = d * y, p3 = y * y;
      const double w0 = qw[p] * p0, w1 = qw[p] * p1, w2 = qw[p] * p2, w3 = qw[p] * p3;
      m0 += w0, m1 += w1, m2 += w2, m3 += w3;
      e0 += w0 * z[p], e1 += w1 * z[p], e2 += w2 * z[p], e3 += w3 * z[p];
      o00 += w0 * p0, o01 += w0 * p1, o02 += w0 * p2, o03 += w0 * p3;
      o11 += w1 * p1, o12 += w1 * p2, o13 += w1 * p3;
      o22 += w2 * p2, o23 += w2 * p3, o33 += w3 * p3;
    }
    const double m[NK] = {m0, m1, m2, m3}, ez[NK] = {e0, e1, e2, e3};
    const double mo[NK * NK] = {o00, o01, o02, o03, 0, o11, o12, o13, 0, 0, o22, o23, 0, 0, 0, o33};
    for (int k = 0; k < NK; k++) {
      tb[k * n + j] = m[k], tb[(NK + NK * NK + k) * n + j] = ez[k];
      for (int q = k; q < NK; q++) tb[(NK + k * NK + q) * n + j] = tb[(NK + q * NK + k) * n + j] = mo[k * NK + q];
    }
  }
}

/* The tables of axis i of the 2-d grid (axis_tables). */
static void tables(const cl_grid *g, level *l, int i, const axes *ax) {
  work *w = &l->w;
  axis_tables(g->m.act, &l->gh, sqrt(w->Ce[i * 3]), w->dX[i], ax->n[i], ax->h[i],
              w->tab + (size_t)i * NTAB * l->p.n, w->hs, w->ys, w->ds);
}


/* C = A B (r x ne times ne x m, row-major) by OpenBLAS's dgemm.  Measured
 * (session 18, case D to T = 50 under callgrind, docs/grid.md s.10): the
 * hand-written loop of rank-1 updates (with its zeroing) took 3.24e9
 * instructions, dgemm 1.94e9 (all: 27.61e9 -> 26.49e9; CPU, AVX-512
 * clone against OpenBLAS's kernel, s.10).  The bits of C depend on
 * OpenBLAS's kernel for the CPU (chosen at load time), never on the number
 * of threads: cl_common_init keeps OpenBLAS to the calling thread. */
static void matmul(const double *A, const double *B, double *C, int r, int ne, int m) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r, m, ne, 1.0, A, ne, B, m, 0.0, C, m);
}

/* The second moments of a feature of unit a and one of unit b on their 2-d
 * grid (n0 x n1 nodes X_a = dX0 (j0 - n0 / 2) h0, likewise X_b), the
 * per-view noise of the pair of covariance (c00, c10; c10, c11): with
 * eta_a = l00 z, eta_b = l10 z + l11 z',
 * Mo_kq(X0, X1) = sum_p w_p phi_k(X0 + l00 z_p) E_z'[phi_q(X1 + l10 z_p + l11 z')]:
 * a sum of ne rank-1 products (docs/grid.md s.3), for the rows j0 = 0 and
 * j0 >= j0s.  out[(k n0 + j0) 4 n1 + q n1 + j1]; A (NK n0 ne), B (ne NK n1),
 * hs, ys, ds (ne^2): scratch. */
GRID_CLONES static void pair_cross(cl_act act, const cl_rule *gh, double c00, double c10, double c11, double dX0,
                                   double dX1, int n0, int n1, double h0, double h1, int j0s, double *out, double *A,
                                   double *B, double *hs, double *ys, double *ds) {
  const int ne = gh->n, m4 = NK * n1;
  const double *z = gh->x, *qw = gh->w;
  const double l00 = sqrt(c00), l10 = l00 > 0 ? c10 / l00 : 0;
  const double l11 = sqrt(fmax(c11 - l10 * l10, 0));
  for (int j = 0; j < n0; j++) {
    const double X0 = dX0 * (j - n0 / 2) * h0;
    for (int p = 0; p < ne; p++) hs[p] = X0 + l00 * z[p];
    cl_act_eval_vec(act, hs, ys, ds, ne);
    for (int p = 0; p < ne; p++) {
      const double y = ys[p], d = ds[p], ph[NK] = {d, y, d * y, y * y};
      for (int k = 0; k < NK; k++) A[((size_t)k * n0 + j) * ne + p] = qw[p] * ph[k];
    }
  }
  for (int j = 0; j < n1; j++) {
    const double X1 = dX1 * (j - n1 / 2) * h1;
    for (int p = 0; p < ne; p++) {
      double *restrict hp = hs + (size_t)p * ne;
      const double base = X1 + l10 * z[p];
#pragma omp simd
      for (int q = 0; q < ne; q++) hp[q] = base + l11 * z[q];
    }
    cl_act_eval_vec(act, hs, ys, ds, ne * ne);
    for (int p = 0; p < ne; p++) {
      const double *restrict y = ys + (size_t)p * ne, *restrict d = ds + (size_t)p * ne;
      double b0 = 0, b1 = 0, b2 = 0, b3 = 0;
#pragma omp simd reduction(+ : b0, b1, b2, b3)
      for (int q = 0; q < ne; q++) {
        const double wd = qw[q] * d[q], wy = qw[q] * y[q];
        b0 += wd, b1 += wy, b2 += wd * y[q], b3 += wy * y[q];
      }
      double *Bp = B + (size_t)p * m4 + j;
      Bp[0] = b0, Bp[n1] = b1, Bp[2 * (size_t)n1] = b2, Bp[3 * (size_t)n1] = b3;
    }
  }
  for (int k = 0; k < NK; k++) {
    const size_t r = (size_t)k * n0;
    if (j0s > 0) matmul(A + r * ne, B, out + r * m4, 1, ne, m4);
    matmul(A + (r + j0s) * ne, B, out + (r + j0s) * m4, n0 - j0s, ne, m4);
  }
}

/* The cross moments of the 2-d grid (pair_cross): the rows eval_level
 * uses, j0 = 0 and j0 >= n0 / 2 when folded.  cross[(k n0 + j0) 4 n1 + q n1 + j1]. */
static void cross(const cl_grid *g, level *l, const axes *ax) {
  work *w = &l->w;
  pair_cross(g->m.act, &l->gh, w->Ce[0], w->Ce[2], w->Ce[3], w->dX[0], w->dX[1], ax->n[0], ax->n[1], ax->h[0],
             ax->h[1], g->odd ? ax->n[0] / 2 : 0, w->cross, w->A, w->B, w->hs, w->ys, w->ds);
}

/* 1 if a capped axis (th < 1) cuts so much of cubic sigma's tails that
 * |fine - coarse| need not see it (lambda != 0; docs/grid.md s.4).  V is
 * then a moment of degree p = 22 along an axis (ghat has DY_i S2 = 3 h^5
 * h^6).  A range at tail exponent E is sqrt(2 E) sd of a Gaussian weight,
 * beyond which lies the fraction P(chi^2_(p+1) > 2 E) of a moment of degree
 * p.  Capped, the fine level keeps the tail exponent E_f sqrt(th), the
 * coarse one at most E_c sqrt(th); both cut the same sign of an even
 * moment, and the difference sees the fine level's cut when the coarse
 * cut is larger by a margin: refused below 4 times (th < 0.09 at the
 * default levels).  Measured (cubic, lambda 0.3 to 3, units nearly along
 * the features, against the exact drift): below that th 4 of 20 states
 * were 1.2 to 3.1 estimates off, above it none of 547 (at most 0.28).  Not
 * applied to the lower degrees: cubic with lambda = 0 (degree 10) held its
 * estimates in the same states (at most 0.51); linear was not scanned. */
static int tails_unresolved(const cl_grid *g, double th) {
  if (g->m.act != CL_ACT_CUBIC || g->m.lambda == 0 || th >= 1) return 0;
  const int p = 22;
  const double r = sqrt(fmax(th, 0));
  const double cf = gsl_cdf_chisq_Q(2 * g->lv[1].p.E * r, p + 1), cc = gsl_cdf_chisq_Q(2 * g->lv[0].p.E * r, p + 1);
  return cc < 4 * cf;
}

/* The student law (index, or -1) whose tails a capped axis (th < 1) cuts
 * so much that |fine - coarse| need not see it (docs/grid.md s.4).  A
 * capped axis keeps the tail exponent E sqrt(th), and a student law's
 * range is its quantile at the tail mass q = exp(-0.75 E sqrt(th)).  Its
 * density has a power tail, so the terms beyond the range (at least the
 * first moment of c_j, in E[c_j D]) fall only like q^((nu - 1) / nu): the
 * coarse level's error is then exp(0.75 (E_f - E_c) sqrt(th) (nu - 1) / nu)
 * times the fine level's, and the difference bounds the latter only if
 * that ratio is large.  Measured (erf, lambda 0.3, uniform:3.46 +
 * uniform:1.59 + student:2.59:4.26, Q_11 = 1.3e-3, a nearly dead second
 * unit; batch Monte Carlo with 1.6e7 batches, se 2.5e-5): the error was
 * 1.79, 1.53, 1.26, 0.97, 0.71 times the estimate at th = 0.050, 0.068,
 * 0.092, 0.127, 0.172 (ratios 2.2 to 4.1; the estimate fell short where the
 * ratio was below about 3.3); refused below GRID_STUDENT_TAILS.  A law
 * with both cosines 0 does not enter X.  Levels whose tail exponents do not
 * differ (cl_grid_alloc_levels with one level twice, for references) are
 * not checked: their difference is no estimate. */
static int student_tails_unresolved(const cl_grid *g, const work *w, double th) {
  const double dE = g->lv[1].p.E - g->lv[0].p.E, r = sqrt(fmax(th, 0));
  if (th >= 1 || !(dE > 0)) return -1; /* levels without a tail difference (a reference of one level) */
  for (int j = 0; j < g->K; j++) {
    const cl_law *c = &g->m.c[j];
    int on = 0; /* the law enters X (Rt: K x M) */
    for (int i = 0; i < g->M; i++) on |= w->Rt[j * g->M + i] != 0;
    if (c->kind != CL_LAW_STUDENT || !on) continue;
    if (exp(0.75 * dE * r * (c->nu - 1) / c->nu) < GRID_STUDENT_TAILS) return j;
  }
  return -1;
}

/* The refusal of a student law (j) whose tails a capped axis cuts
 * (student_tails_unresolved), with the nodes wanted and the cap (at, then
 * tail: the message's insertions after "grid engine" and "sees").
 * cl_grid_unresolved: under the default choice ode reruns with the Sobol'
 * engine, as for the other refusals of a capped axis. */
static cl_status student_refusal(const cl_grid *g, level *l, double want, int cap, int j, const char *at,
                                 const char *tail, char *err) {
  l->unresolved = 1;
  return cl_fail(err, CL_EDIVERGE,
                 "expect: this state needs about %.0f " CL_GRID_REFUSAL " %d of the grid engine%s, whose narrower "
                 "range would cut the tails of c %d (student, nu = %g) by more than its error estimate sees%s: use "
                 "the Sobol' engine",
                 want, cap, at, j + 1, g->m.c[j].nu, tail);
}

/* Linear and cubic sigma: the sums over the nodes of one row that bound the
 * drift's rounding (docs/grid.md s.5, "Floor of the estimate").  Given the
 * node, the per-sample gradient is g_p = sum_k c_k phi_k(1) psi_k(2), two
 * views independent given X, so by Minkowski's inequality each term's root
 * mean square is at most a_p = sum_k |c_k| sqrt(Mo_(phi phi) Mo_(psi psi)),
 * and by Cauchy-Schwarz every summand of the Gram sum (p, q) is at most
 * a_p a_q and every first moment's at most a_p; the Stein pieces at most
 * e = sum |c_k| (|E_(phi r)| |m_psi| + |m_phi| |E_(psi r)|).  The terms
 * may cancel (cubic, lambda != 0: DY_i S2 against DY_i YY_i), so their sum
 * is smaller: b_p = sqrt(E[g_p^2 | X]), computed (plus 4 eps a_p^2 for its
 * own rounding).  rs gets (times the fold's factor f): [0] sum b,
 * [1] sum |X_0| b, [2] sum |X_1| b, [3] sum e, [4] sum max_a |W_a| (1 +
 * |X_0| + |X_1|) (a + e), [5 + 4 p + q] sum |W_0| a_p a_q, [21 + 4 p + q]
 * sum b_p b_q (p <= q). */
static void round_row(const cl_acc_terms *t, int n, const double *const *mf, const double *const *Mo,
                      const double *const *Ee, const double *const *wt, int nw, double X0, const double *X1,
                      double f, double *rs, double *scr) {
  const int F = t->F, M = t->M, d2 = 2 * M;
  const double eps = 0x1p-52, x0 = fabs(X0);
  /* by node, as vectors along the row (scr: 2 d2 + 3 rows of n) */
  double *av = scr, *bv = av + (size_t)d2 * n, *e = bv + (size_t)d2 * n, *wm = e + n, *g = wm + n;
  memset(e, 0, sizeof(double) * (size_t)n);
  for (int p = 0; p < d2; p++) {
    double *restrict ap = av + (size_t)p * n, *restrict bp = bv + (size_t)p * n;
    memset(ap, 0, sizeof(double) * (size_t)n);
    memset(g, 0, sizeof(double) * (size_t)n);
    for (int k = 0; k < t->nt[p]; k++) {
      const cl_acc_term tm = t->tm[p][k];
      const double c = fabs(tm.coef), *restrict m1 = Mo[tm.f1 * F + tm.f1], *restrict m2 = Mo[tm.f2 * F + tm.f2];
#pragma omp simd
      for (int x = 0; x < n; x++) ap[x] += c * sqrt(fabs(m1[x]) * fabs(m2[x]));
      for (int r = 0; r < M; r++) {
        const double *restrict e1 = Ee[tm.f1 * M + r], *restrict e2 = Ee[tm.f2 * M + r];
        const double *restrict u1 = mf[tm.f1], *restrict u2 = mf[tm.f2];
#pragma omp simd
        for (int x = 0; x < n; x++) e[x] += c * (fabs(e1[x] * u2[x]) + fabs(u1[x] * e2[x]));
      }
      for (int u = 0; u < t->nt[p]; u++) {
        const cl_acc_term tu = t->tm[p][u];
        const double cc = tm.coef * tu.coef, *restrict q1 = Mo[tm.f1 * F + tu.f1], *restrict q2 = Mo[tm.f2 * F + tu.f2];
#pragma omp simd
        for (int x = 0; x < n; x++) g[x] += cc * (q1[x] * q2[x]);
      }
    }
#pragma omp simd
    for (int x = 0; x < n; x++) bp[x] = sqrt(fabs(g[x]) + 4 * eps * ap[x] * ap[x]);
  }
  for (int x = 0; x < n; x++) wm[x] = fabs(wt[0][x]);
  for (int k = 1; k < nw; k++) {
    const double *restrict wk = wt[k];
#pragma omp simd
    for (int x = 0; x < n; x++) wm[x] = fmax(wm[x], fabs(wk[x]));
  }
  double s0 = 0, s2 = 0, s3 = 0, s4 = 0;
  for (int p = 0; p < d2; p++) {
    const double *restrict ap = av + (size_t)p * n, *restrict bp = bv + (size_t)p * n;
#pragma omp simd reduction(+ : s0, s2, s4)
    for (int x = 0; x < n; x++) s0 += bp[x], s2 += fabs(X1[x]) * bp[x], s4 += wm[x] * (1 + x0 + fabs(X1[x])) * ap[x];
  }
#pragma omp simd reduction(+ : s3, s4)
  for (int x = 0; x < n; x++) s3 += e[x], s4 += wm[x] * (1 + x0 + fabs(X1[x])) * e[x];
  rs[0] += f * s0, rs[1] += f * x0 * s0, rs[2] += f * s2, rs[3] += f * s3, rs[4] += f * s4;
  const double *restrict w0 = wt[0];
  for (int p = 0; p < d2; p++)
    for (int q = p; q < d2; q++) {
      const double *restrict ap = av + (size_t)p * n, *restrict aq = av + (size_t)q * n;
      const double *restrict bp = bv + (size_t)p * n, *restrict bq = bv + (size_t)q * n;
      double sa = 0, sb = 0;
#pragma omp simd reduction(+ : sa, sb)
      for (int x = 0; x < n; x++) sa += fabs(w0[x]) * (ap[x] * aq[x]), sb += bp[x] * bq[x];
      rs[5 + p * d2 + q] += f * sa, rs[21 + p * d2 + q] += f * sb;
    }
}

/* The bound on the drift's rounding at the level's state (linear and cubic
 * sigma, docs/grid.md s.5), into w->rndc: the components of |J| e,
 * with e the bound on each accumulated sum's rounding and J the (affine)
 * map cl_acc_finish from the sums to the drift, column by column.  Two
 * parts.  The summands: each is rounded with a relative error of about
 * eps, so a sum errs by eps times the size of its terms (round_row's a),
 * before they cancel (the first-order error; the worst case over the
 * order of the sums, up to n0 + n1 times more, would be useless).  The
 * weights: W_a comes from an inverse FFT of length N (two weights per
 * complex transform) whose error at any node is at most about
 * eps log2(N) sum |spectrum| / N (every stage adds a relative eps to
 * partial sums no larger than sum |spectrum| / N), plus the spectrum's own
 * rounding (GRID_RND_SPEC eps): delta_a = eps (log2 N + GRID_RND_SPEC)
 * (sum of |spectrum| over the pair) / N, times what it multiplies after
 * the cancellation (round_row's b), summed over the nodes without regard
 * to sign.  GRID_RND_SAFE is a factor on the whole (1: none). */
static void round_bound(const cl_grid *g, level *l, const axes *ax, const double *R, const double *Q) {
  work *w = &l->w;
  const int K = g->K, M = 2, d2 = 4, nout = K * 2 + 4;
  const double N = (double)ax->n[0] * ax->n[1], eps = 0x1p-52;
  const double fe = eps * (log2(N) + GRID_RND_SPEC) / N;
  double dl[CL_KMAX + 3];
  for (int a = 0; a < g->nw; a++) {
    const int a0 = a & ~1; /* the pair a0, a0 + 1 shares a transform */
    dl[a] = fe * (w->spec[a0] + (a0 + 1 < g->nw ? w->spec[a0 + 1] : 0));
  }
  double *e = w->acc2, *aR = e, *U = aR + K * M, *P = U + d2 * d2, *V = P + M * M, *GG = V + M * M;
  const double *rs = w->rs, acc = eps * rs[4];
  double xi = 0;
  for (int r = 0; r < 2; r++) xi += w->dX[r] * dl[K + 1 + r];
  for (int j = 0; j < K; j++)
    for (int i = 0; i < M; i++) aR[j * M + i] = dl[1 + j] * rs[0] + acc;
  for (int k = 0; k < d2 * d2; k++)
    U[k] = xi * rs[0] + dl[0] * rs[3] + acc, GG[k] = dl[0] * rs[21 + k] + eps * rs[5 + k];
  for (int r = 0; r < M; r++)
    for (int i = 0; i < M; i++) P[r * M + i] = dl[0] * rs[1 + r] + w->dX[r] * dl[K + 1 + r] * rs[0] + acc, V[r * M + i] = 0;
  double o0[2 * CL_KMAX + 4], o1[2 * CL_KMAX + 4], err[2 * CL_KMAX + 4] = {0}, v[CL_KMAX * 2 + 48];
  memset(v, 0, sizeof(double) * (size_t)g->t.nsum);
  cl_acc_finish(&g->m, R, Q, w->Gi, v, o0);
  for (int j = 0; j < g->t.nsum; j++) {
    if (!(e[j] > 0)) continue;
    memset(v, 0, sizeof(double) * (size_t)g->t.nsum);
    v[j] = e[j];
    cl_acc_finish(&g->m, R, Q, w->Gi, v, o1);
    for (int k = 0; k < nout; k++) err[k] += fabs(o1[k] - o0[k]);
  }
  for (int k = 0; k < nout; k++) w->rndc[k] = GRID_RND_SAFE * err[k];
}

/* The nodes [*lo, return) of the line of n values from r0 of the nw
 * weights (each N long) where some weight is at least GRID_WMIN (the
 * others are skipped, docs/grid.md s.4); *lo >= the return: none. */
static int line_span(const double *W, size_t N, int nw, size_t r0, int n, int *lo) {
  int l = n, hi = 0;
  for (int j = 0; j < n; j++)
    for (int a = 0; a < nw; a++)
      if (fabs(W[N * (size_t)a + r0 + j]) >= GRID_WMIN) {
        l = j < l ? j : l, hi = j + 1;
        break;
      }
  *lo = l;
  return hi;
}

/* beta_ir = Ce_ri / sd_i, sd_i = sqrt(Ce_ii), for the d x d per-view
 * noise covariance Ce (row-major): Ee_(f, r) = beta_ir E[phi_f z] for a
 * feature f on unit i (0 where unit i has no noise) */
static void noise_beta(const double *Ce, int d, double beta[3][3]) {
  for (int i = 0; i < d; i++) {
    const double sd = sqrt(Ce[i * (d + 1)]);
    for (int r = 0; r < d; r++) beta[i][r] = sd > 0 ? Ce[r * d + i] / sd : 0;
  }
}

static cl_status eval_level(const cl_grid *g, level *l, const double *R, const double *Q, double *out, char *err) {
  work *w = &l->w;
  const int K = g->K;
  axes ax;
  axes_of(g, l, &ax);
  if (l == &g->lv[1] && ax.th >= GRID_THMIN_TAILS && tails_unresolved(g, ax.th)) {
    /* (its own reason where th < GRID_THMIN too: the refusal is the same)
     * cl_grid_unresolved: under the default choice ode reruns with the
     * quad rule, as for cubic sigma's other refusals (the Sobol' engine,
     * whose bound missed there, 1.6 to 19 times in 4 of 5 such states,
     * refuses cubic: docs/grid.md s.4, s.6) */
    l->unresolved = 1;
    return cl_fail(err, CL_EDIVERGE,
                   "expect: this state needs about %.0f " CL_GRID_REFUSAL " %d of the grid "
                   "engine, whose narrower range would cut the tails of cubic sigma's moments of degree 22 "
                   "(Q_12 / sqrt(Q_11 Q_22) = %.6f): use the quad rule (exact for cubic sigma)",
                   ax.want, l->p.n, Q[0] > 0 && Q[3] > 0 ? Q[1] / sqrt(Q[0] * Q[3]) : 0.0);
  }
  const int stj = l == &g->lv[1] && ax.th >= GRID_THMIN ? student_tails_unresolved(g, w, ax.th) : -1;
  if (stj >= 0) {
    char co[64];
    snprintf(co, sizeof co, " (Q_12 / sqrt(Q_11 Q_22) = %.6f)", Q[0] > 0 && Q[3] > 0 ? Q[1] / sqrt(Q[0] * Q[3]) : 0.0);
    return student_refusal(g, l, ax.want, l->p.n, stj, "", co, err);
  }
  if (l == &g->lv[1] && ax.th < GRID_THMIN) {
    /* both levels too coarse: their difference is no longer a safe
     * estimate (measured: 1.25 times the distance to a finer grid at
     * th = 0.015; up to 4.1 times the distance to the quad rule at th
     * = 0.029, nearly collinear units: docs/grid.md s.4) */
    l->unresolved = 1;
    char want[32] = "arbitrarily many"; /* exactly collinear: no step suffices */
    if (isfinite(ax.want)) snprintf(want, sizeof want, "about %.0f", ax.want);
    return cl_fail(err, CL_EDIVERGE,
                   "expect: this state needs %s " CL_GRID_REFUSAL " %d of the grid "
                   "engine (nearly collinear units, Q_12 / sqrt(Q_11 Q_22) = %.6f, or a long-tailed law): use the "
                   "%s",
                   want, l->p.n, Q[0] > 0 && Q[3] > 0 ? Q[1] / sqrt(Q[0] * Q[3]) : 0.0,
                   g->m.act == CL_ACT_CUBIC ? "quad rule (the Sobol' engine refuses cubic sigma)" : "Sobol' engine");
  }
  const int n0 = ax.n[0], n1 = ax.n[1], m4 = NK * n1;
  const int fk[6] = {FFT_W2, n0, n1, g->odd ? n0 / 2 : 0, g->nq};
  const fft_set *fs = fft_plans(l, fk, w->z, err);
  if (!fs) return CL_ENOMEM;
  const size_t n2 = (size_t)n0 * n1;
  weights(g, l, &ax, fs);
  tables(g, l, 0, &ax);
  tables(g, l, 1, &ax);
  cross(g, l, &ax);
  /* Ee_(f, r) = E[phi_f eta_r] = Ce_ri / sd_i E[phi_f z] for f on unit i */
  double beta[3][3];
  noise_beta(w->Ce, 2, beta);
  memset(w->acc, 0, sizeof(double) * (size_t)g->t.nsum);
  memset(w->acc2, 0, sizeof(double) * (size_t)g->t.nsum);
  memset(w->rs, 0, sizeof w->rs);
  const int poly = cl_act_polynomial(g->m.act);
  const int F = g->t.F; /* 9: feature k of unit i is k * 2 + i, S2 = 8 */
  /* B > 1 with lambda != 0: the exact 1/B expansion in two passes over the
   * rows (docs/accurate.md s.2): the one-sample moments, then the sums with
   * the terms of the mean-field gradient, which depend on them */
  const int batch = g->m.B > 1 && g->m.lambda != 0;
  double mom[4 + 3 * 16];
  cl_acc_terms tb;
  const cl_acc_terms *tt = &g->t;
  memset(mom, 0, sizeof mom);
  for (int pass = batch ? 0 : 1; pass < 2; pass++) {
    if (pass == 1 && batch) cl_acc_terms_batch(&tb, K, 2, g->m.lambda, g->m.B, mom), tt = &tb;
    const double *t0 = w->tab, *t1 = w->tab + (size_t)NTAB * l->p.n;
    /* one row j0 at a time, over the j1 whose weights are not negligible
     * (cl_acc_rows: the products as vector operations along the row) */
    /* folded (g->odd): the node -u (index n - j) has the summand of u, so the
     * rows j0 > n0 / 2 count twice and the rows 0 < j0 < n0 / 2 are skipped
     * (row 0, u = -L, has no mirror on the grid) */
    for (int j0 = 0; j0 < n0; j0++) {
      if (g->odd && j0 > 0 && j0 < n0 / 2) continue;
      const size_t r0 = (size_t)j0 * n1;
      int lo;
      const int hi = line_span(w->W, n2, g->nw, r0, n1, &lo);
      if (lo >= hi) continue;
      const int n = hi - lo;
      double *rb = w->rows; /* row buffers of n values each */
#define SLOT(k) (rb + (size_t)(k) * n)
      const double *pm[9], *pM[81], *pE[18], *pc[CL_KMAX], *px[2], *pu[2];
      int ns = 0;
      /* unit 0: constants along the row; unit 1: the tables from lo */
      for (int k = 0; k < NK; k++) {
        double *b = SLOT(ns++);
        for (int x = 0; x < n; x++) b[x] = t0[k * n0 + j0];
        pm[2 * k] = b, pm[2 * k + 1] = t1 + k * n1 + lo;
        for (int r = 0; r < 2; r++) {
          double *e0 = SLOT(ns++), *e1 = SLOT(ns++);
          const double z0 = t0[(NK + NK * NK + k) * n0 + j0], *z1 = t1 + (NK + NK * NK + k) * n1 + lo;
          for (int x = 0; x < n; x++) e0[x] = beta[0][r] * z0, e1[x] = beta[1][r] * z1[x];
          pE[(2 * k) * 2 + r] = e0, pE[(2 * k + 1) * 2 + r] = e1;
        }
        for (int q = 0; q < NK; q++) {
          double *b2 = SLOT(ns++);
          for (int x = 0; x < n; x++) b2[x] = t0[(NK + k * NK + q) * n0 + j0];
          pM[(2 * k) * F + 2 * q] = b2;
          pM[(2 * k + 1) * F + 2 * q + 1] = t1 + (NK + k * NK + q) * n1 + lo;
          const double *c = w->cross + ((size_t)k * n0 + j0) * m4 + (size_t)q * n1 + lo;
          pM[(2 * k) * F + 2 * q + 1] = pM[(2 * q + 1) * F + 2 * k] = c;
        }
      }
      /* S2 = YY_0 + YY_1 */
      {
        double *m = SLOT(ns++), *mm = SLOT(ns++);
        const double *a = pm[6], *b = pm[7];
        for (int x = 0; x < n; x++) m[x] = a[x] + b[x];
        pm[8] = m;
        for (int e = 0; e < 8; e++) {
          double *v = SLOT(ns++);
          const double *c = pM[6 * F + e], *d = pM[7 * F + e];
          for (int x = 0; x < n; x++) v[x] = c[x] + d[x];
          pM[8 * F + e] = pM[e * F + 8] = v;
        }
        for (int x = 0; x < n; x++) mm[x] = pM[8 * F + 6][x] + pM[8 * F + 7][x];
        pM[8 * F + 8] = mm;
        for (int r = 0; r < 2; r++) {
          double *v = SLOT(ns++);
          for (int x = 0; x < n; x++) v[x] = pE[6 * 2 + r][x] + pE[7 * 2 + r][x];
          pE[8 * 2 + r] = v;
        }
      }
      /* the weights: W_xi in the raw xi, W_mu = X W_0 - W_xi */
      const double *w0 = w->W + r0 + lo;
      for (int j = 0; j < K; j++) pc[j] = w->W + n2 * (size_t)(1 + j) + r0 + lo;
      for (int r = 0; r < 2; r++) {
        double *xr = SLOT(ns++), *ur = SLOT(ns++);
        const double *wr = w->W + n2 * (size_t)(K + 1 + r) + r0 + lo;
        for (int x = 0; x < n; x++) {
          const double X = r == 0 ? w->dX[0] * (j0 - n0 / 2) * ax.h[0] : w->dX[1] * (lo + x - n1 / 2) * ax.h[1];
          xr[x] = w->dX[r] * wr[x], ur[x] = X * w0[x] - xr[x];
        }
        px[r] = xr, pu[r] = ur;
      }
#undef SLOT
      if (pass == 0) /* folded: the rows j0 > n0 / 2 count twice (their summands are even too) */
        cl_acc_batch_rows(2, F, n, pm, pM, w0, g->odd && j0 > n0 / 2 ? 2 : 1, mom);
      else {
        cl_acc_rows(tt, n, pm, pM, pE, w0, pc, px, pu, g->odd && j0 > n0 / 2 ? w->acc2 : w->acc, w->scr);
        if (poly) {
          const double *wt[CL_KMAX + 3];
          double *X1 = w->scr; /* (cl_acc_rows is done with its scratch) */
          wt[0] = w0;
          for (int j = 0; j < K; j++) wt[1 + j] = pc[j];
          wt[K + 1] = px[0], wt[K + 2] = px[1];
          for (int x = 0; x < n; x++) X1[x] = w->dX[1] * (lo + x - n1 / 2) * ax.h[1];
          round_row(tt, n, pm, pM, pE, wt, K + 3, w->dX[0] * (j0 - n0 / 2) * ax.h[0], X1,
                    g->odd && j0 > n0 / 2 ? 2 : 1, w->rs, X1 + n);
        }
      }
    }
  }
  for (int k = 0; k < g->t.nsum; k++) w->acc[k] += 2 * w->acc2[k];
  if (batch) cl_acc_batch_fluct(&g->m, mom, w->acc + K * 2 + 16 + 8);
  cl_acc_finish(&g->m, R, Q, w->Gi, w->acc, out);
  if (poly) round_bound(g, l, &ax, R, Q);
  w->last[0] = n0, w->last[1] = n1;
  return CL_OK;
}

/* ---- M = 3: the 3-d grid (docs/grid.md s.14) ----
 * The same mathematics as the 2-d grid, one axis more: the weights of
 * X = R^T c + xi in R^3 by a 3-d FFT of the folded spectrum (spectrum_line
 * along axis 2), the one-view tables along each axis (axis_tables), the
 * cross moments of each pair of units on its 2-d grid (pair_cross), and
 * every line of the grid along axis 2 through cl_acc_rows.  Served: B = 1,
 * tanh, erf, sigmoid, per-view noise (s > 0, rho < 1); an axis that wants
 * more than the level's cap is capped as at M = 2 (axes3). */

/* The correlation matrix c (nl x nl, returned nl) of C (d x d, d = 3 or 4)
 * over the live axes (not dead, C_ii > 0). */
static int live_corr(int d, const double *C, const int *dead, double *c) {
  int lv[4], nl = 0;
  for (int i = 0; i < d; i++)
    if (!dead[i] && C[i * (d + 1)] > 0) lv[nl++] = i;
  for (int a = 0; a < nl; a++)
    for (int b = 0; b < nl; b++)
      c[a * nl + b] = a == b ? 1 : C[lv[a] * d + lv[b]] / sqrt(C[lv[a] * (d + 1)] * C[lv[b] * (d + 1)]);
  return nl;
}

/* The smallest eigenvalue of the correlation matrix of C (d x d) over the
 * live axes (1 with fewer than two). */
static double corr_min(int d, const double *C, const int *dead) {
  double c[16];
  const int nl = live_corr(d, C, dead, c);
  return nl < 2 ? 1 : cl_sym_min_eig(c, nl);
}

/* The least value mu of k^T C k over the nonzero integer vectors k, C the
 * correlation matrix of S (d x d, d = 3 or 4) over the live axes: the step
 * of axis i is kap sqrt(S_ii mu) (axes3).  The vectors with |k_i| <= B are
 * enumerated; outside that box |k|^2 >= (B + 1)^2, so k^T C k >= lam (B +
 * 1)^2 with lam the smallest eigenvalue of C, and mu is the smaller of the
 * two (B = 4, or the box |k|^2 <= 1 / lam when that is at most 12 wide;
 * 8 with four live axes, where the box has (2 B + 1)^4 / 2 vectors).
 * mu >= lam: s.4's 2-d rule (1 - |r|, the smallest eigenvalue) is the
 * bound |k|^2 >= 1; here the least lattice point instead (with two axes
 * min(1, 2 (1 - |r|))). */
static double lattice_min(int d, const double *S, const int *dead) {
  double c[16];
  const int nl = live_corr(d, S, dead, c);
  if (nl < 2) return 1;
  const double lam = fmax(cl_sym_min_eig(c, nl), 0);
  int B = 4;
  const int bmax = nl == 4 ? 8 : 12;
  if (lam > 0 && 1 / sqrt(lam) > B) B = (int)fmin(bmax, floor(1 / sqrt(lam)));
  double mu = lam * (B + 1) * (B + 1);
  /* k and -k: the vectors of the box whose first nonzero entry is positive */
  int k[4] = {0, 0, 0, 0};
  for (int a = 0; a < nl; a++) k[a] = -B;
  for (;;) {
    int f = 0;
    while (f < nl && !k[f]) f++;
    if (f < nl && k[f] > 0) {
      double q = 0;
      for (int a = 0; a < nl; a++)
        for (int b = 0; b < nl; b++) q += k[a] * c[a * nl + b] * k[b];
      mu = fmin(mu, q);
    }
    int a = nl - 1;
    while (a >= 0 && k[a] == B) k[a--] = -B;
    if (a < 0) break;
    k[a]++;
  }
  return fmax(mu, lam);
}

/* The smoothing S = Ct (Ct + Cs)^-1 Cs (d x d, d = 3 or 4, symmetrised) of
 * a product whose factors are smoothed by Ct and Cs, over the live axes (0
 * on a dead unit's row and column), by the eigen-decomposition of Ct + Cs;
 * 1 (S = 0) where Ct + Cs is singular there (an eigenvalue below 1e-12 of
 * the largest: exactly collinear units). */
static int smooth_n(int d, const double *Ct, const double *Cs, const int *dead, double *S) {
  int lv[4], nl = 0;
  for (int i = 0; i < d; i++)
    if (!dead[i]) lv[nl++] = i;
  memset(S, 0, (size_t)(d * d) * sizeof *S);
  if (!nl) return 0;
  double T[16] = {0}, ev[4] = {0}, V[16] = {0}, Ti[16], P[16];
  for (int a = 0; a < nl; a++)
    for (int b = 0; b < nl; b++) T[a * nl + b] = Ct[lv[a] * d + lv[b]] + Cs[lv[a] * d + lv[b]];
  if (cl_sym_eig(T, nl, ev, V, NULL)) return 1; /* out of memory: refused as singular */
  double emx = 0, emn = INFINITY;
  for (int a = 0; a < nl; a++) emx = fmax(emx, ev[a]), emn = fmin(emn, ev[a]);
  if (!(emn > 1e-12 * emx)) return 1;
  for (int a = 0; a < nl; a++)
    for (int b = 0; b < nl; b++) {
      double t = 0;
      for (int k = 0; k < nl; k++) t += V[a * nl + k] * V[b * nl + k] / ev[k];
      Ti[a * nl + b] = t;
    }
  for (int a = 0; a < nl; a++)
    for (int b = 0; b < nl; b++) {
      double t = 0;
      for (int k = 0; k < nl; k++) t += Ct[lv[a] * d + lv[k]] * Ti[k * nl + b];
      P[a * nl + b] = t;
    }
  for (int a = 0; a < nl; a++)
    for (int b = 0; b < nl; b++) {
      double t = 0;
      for (int k = 0; k < nl; k++) t += P[a * nl + k] * Cs[lv[k] * d + lv[b]];
      S[lv[a] * d + lv[b]] = t;
    }
  for (int a = 0; a < d; a++)
    for (int b = 0; b < a; b++) S[a * d + b] = S[b * d + a] = 0.5 * (S[a * d + b] + S[b * d + a]);
  return 0;
}

/* The state's covariances in the standardised coordinates (as prepare),
 * and the smoothing Se = Ct (Ct + Cs)^-1 Cs over the live axes; w->coll
 * where Ct + Cs is singular there (exactly collinear units: refused).
 * M = 3, or 4 for the four-unit terms (g->M units). */
static cl_status prepare3(const cl_grid *g, work *w, const double *R, const double *Q, char *err) {
  const double s2 = g->m.s * g->m.s, rho = g->m.rho;
  const int D = g->M;
  double A[16], d[4];
  cl_status st = state_scales(g, w, R, Q, A, d, err);
  if (st) return st;
  double Cx[16], Sx[16], Cs[16];
  for (int i = 0; i < D; i++)
    for (int l = 0; l < D; l++) {
      const double q = i == l ? Q[i * (D + 1)] : 0.5 * (Q[i * D + l] + Q[l * D + i]);
      const double a = i == l ? A[i * (D + 1)] : 0.5 * (A[i * D + l] + A[l * D + i]);
      const int z = w->dead[i] || w->dead[l];
      Cx[i * D + l] = z ? 0 : (a + rho * s2 * q) / (d[i] * d[l]);
      w->Ce[i * D + l] = z ? 0 : (1 - rho) * s2 * q;
    }
  if ((st = cl_sym_roots(Cx, D, Sx, NULL, err))) return st; /* the nearest PSD matrix */
  for (int i = 0; i < D; i++)
    for (int l = 0; l < D; l++) {
      double t = 0;
      for (int k = 0; k < D; k++) t += Sx[i * D + k] * Sx[l * D + k];
      w->Ct[i * D + l] = t;
    }
  for (int i = 0; i < D; i++)
    for (int l = 0; l < D; l++) {
      if (i != l) {
        const double cmax = sqrt(w->Ce[i * (D + 1)] * w->Ce[l * (D + 1)]);
        w->Ce[i * D + l] = fmax(-cmax, fmin(cmax, w->Ce[i * D + l]));
      }
      Cs[i * D + l] = w->Ce[i * D + l] / (d[i] * d[l]);
    }
  w->coll = smooth_n(D, w->Ct, Cs, w->dead, w->Se);
  return CL_OK;
}

/* The step ht_i of each live axis of the 3-d grid (or the 4-d grid of the
 * four-unit terms: g->M axes) at level p before any cap: h_i = kap sqrt(Se_ii mu) with mu the least value of k^T C k over
 * the nonzero integer vectors, C Se's correlation matrix (lattice_min;
 * then k^T D Se D k >= 1 / kap^2 at every point k of the dual lattice,
 * D = diag(1 / h): the aliasing exponent 2 pi^2 k^T D Se D k is at least
 * Eh).  Without per-view noise (s = 0 or rho = 1) sigma's poles at
 * |Im X_i| = a act as a noise of variance 2 a_i^2 / Eh, a_i = a / dX_i
 * (s.4).  1 where no step resolves the integrand (exactly collinear units,
 * no smoothing along a live axis): refused. */
static int steps3(const cl_grid *g, const cl_grid_level *p, const work *w, double *ht) {
  const int D = g->M;
  if (w->coll) return 1;
  double S[16], Cp[16] = {0};
  memcpy(S, w->Se, (size_t)(D * D) * sizeof *S);
  if (!((1 - g->m.rho) * g->m.s * g->m.s > 0)) {
    const double a = cl_act_pole(g->m.act);
    for (int i = 0; i < D; i++)
      if (!w->dead[i]) Cp[i * (D + 1)] = 2 * (a / w->dX[i]) * (a / w->dX[i]) / p->Eh;
    if (!(a > 0) || smooth_n(D, w->Ct, Cp, w->dead, S)) return 1;
  }
  const double mu = lattice_min(D, S, w->dead), kap = 2 * M_PI / sqrt(2 * p->Eh);
  for (int i = 0; i < D; i++) {
    ht[i] = w->dead[i] ? 1 : kap * sqrt(S[i * (D + 1)] * mu);
    if (!w->dead[i] && !(ht[i] > 0)) return 1;
  }
  return 0;
}

/* The largest even n <= cap whose factors are 2, 3 and 5 (0 below 8). */
static int nice_below(int cap) {
  for (int n = cap; n >= 8; n--)
    if (nice_even(n) == n) return n;
  return 0;
}

/* The fraction th of level l's aliasing exponent (and sqrt(th) of its tail
 * exponent) at which every live axis of the 3-d grid fits the level's cap
 * (1: none capped; 0: no step resolves the state): the least over the axes
 * of axis_theta, whose n_i(th) = 2 L_i(sqrt th) sqrt(th) / ht_i increases
 * in th, against the largest FFT-friendly size within the cap.  One th for
 * all three axes, so that every step is ht_i / sqrt(th) and the aliasing
 * exponent at every lattice point is at least th Eh (the lattice minimum mu
 * scales with the steps only when they scale alike).  ht: the steps at
 * th = 1; *want: the nodes the largest axis wants at th = 1. */
static double theta3(const cl_grid *g, const level *l, const work *w, double *ht, double *want) {
  *want = INFINITY;
  if (steps3(g, &l->p, w, ht)) return 0;
  const int nmax = nice_below(l->p.n), D = g->M;
  double th = 1;
  *want = 0;
  for (int i = 0; i < D; i++) {
    if (w->dead[i]) continue;
    double r[CL_KMAX];
    for (int j = 0; j < g->K; j++) r[j] = w->Rt[j * D + i];
    const double cp = sqrt(w->Ct[i * (D + 1)]);
    *want = fmax(*want, 2 * axis_range(g, l, r, cp, 1) / ht[i]);
    th = fmin(th, axis_theta(g, l, r, cp, ht[i], nmax));
  }
  return th;
}

/* The axes of a level of the 3-d grid (or the 4-d one of the four-unit
 * terms, which refuses any capped state: cl_grid4q_eval_level): the step ht_i of each live axis
 * (steps3) and the range L_i from the laws' tails (axis_range), n_i =
 * 2 L_i / h_i rounded up to an FFT-friendly even number.  A dead axis: 2
 * nodes, X_i = 0 at the second.  The capped-axis rule of s.4 (docs/grid.md
 * s.14): a state that wants more than the level's cap along some axis gets
 * the steps ht_i / sqrt(th) and the ranges at the tail exponent sqrt(th) E
 * on every axis, th the largest that fits (theta3); the coarse level takes
 * at most the fine level's th, so that both of its exponents stay below
 * the fine level's and their difference still sees the tails and the
 * aliasing.  *th: this level's fraction, *thf: the fine level's at this
 * state (the refusals of eval_level3).  Returns the nodes the fine level
 * wants along its largest axis at th = 1. */
static double axes3(const cl_grid *g, const level *l, int *n, double *h, double *th, double *thf) {
  const work *w = &l->w;
  const int D = g->M;
  double ht[4], htf[4], want;
  *th = *thf = theta3(g, l, w, ht, &want);
  if (l == &g->lv[0]) *thf = theta3(g, &g->lv[1], w, htf, &want), *th = fmin(*th, *thf);
  if (!(*th > 0)) return want;
  const double t = sqrt(*th);
  for (int i = 0; i < D; i++) {
    if (w->dead[i]) {
      n[i] = 2, h[i] = 1;
      continue;
    }
    double r[CL_KMAX];
    for (int j = 0; j < g->K; j++) r[j] = w->Rt[j * D + i];
    const double L = axis_range(g, l, r, sqrt(w->Ct[i * (D + 1)]), t);
    n[i] = nice_even(2 * L * t / ht[i]);
    if (n[i] > l->p.n) n[i] = l->p.n; /* (th fits nice_below(cap): not reached) */
    h[i] = 2 * L / n[i];
  }
  return want;
}

/* Room for the 3-d arrays (z, W) of N nodes. */
static cl_status grid3_room(const cl_grid *g, work *w, size_t N, char *err) {
  if (N <= w->cap3) return CL_OK;
  fftw_free(w->z), free(w->W);
  w->z = fftw_malloc(sizeof(double) * 2 * N * (size_t)g->nq);
  w->W = malloc(sizeof(double) * N * (size_t)g->nw);
  w->cap3 = w->z && w->W ? N : 0;
  if (!w->cap3) return cl_fail(err, CL_ENOMEM, "out of memory");
  return CL_OK;
}

/* The frequencies of the images (a = -1, 0, 1) of every node k along each
 * of the first d - 1 axes of a d-d grid (n nodes, steps h), fq[i][3 k + a +
 * 1], and their Gaussian exponents Ct_ii w^2 / 2, fx[i], laid out from p;
 * returns the room after them (weights3, g4_spectrum; the last axis':
 * spec_axis_make). */
static double *image_freqs(int d, const int *n, const double *h, const double *Ct, double *p, double **fq, double **fx) {
  for (int i = 0; i < d - 1; i++) {
    fq[i] = p, fx[i] = p + 3 * (size_t)n[i], p += 6 * (size_t)n[i];
    const double P = n[i] * h[i];
    for (int k = 0; k < n[i]; k++)
      for (int a = 0; a < 3; a++) {
        const int q = k < n[i] / 2 ? k : k - n[i];
        fq[i][3 * k + a] = 2 * M_PI * (q + (a - 1) * n[i]) / P;
        fx[i][3 * k + a] = 0.5 * Ct[i * (d + 1)] * fq[i][3 * k + a] * fq[i][3 * k + a];
      }
  }
  return p;
}

/* The trigonometric laws' cos and sin of f_j Rt_ji w at every image of
 * the first d - 1 axes i of a d-d grid (fq: image_freqs'), tc[i][(3 k + a
 * + 1) K + j] and ts[i][..], laid out from p; returns the room after
 * them.  image_lines takes the cos and sin of a point's angle f_j sum_i
 * Rt_ji w_i from them by angle addition: before (session 26) a sincos
 * per law and image point, 4.1% of case B's run (__sincos_fma under perf;
 * the angle addition rounds differently: docs/grid.md s.15). */
static double *image_trig(const cl_grid *g, const work *w, int d, const int *n, double *const *fq, double *p,
                          double **tc, double **ts) {
  const int K = g->K;
  for (int i = 0; i < d - 1; i++) {
    const int n3 = 3 * n[i];
    tc[i] = p, ts[i] = p + (size_t)K * n3, p += 2 * (size_t)K * n3;
    for (int j = 0; j < K; j++) {
      double f;
      if (cl_cf_trig(&g->m.c[j], &f))
        for (int q = 0; q < n3; q++) {
          const double t = f * w->Rt[j * d + i] * fq[i][q];
          tc[i][q * K + j] = cos(t), ts[i][q * K + j] = sin(t);
        }
    }
  }
  return p;
}

/* The lines of the folded spectrum along the last axis of a d-d grid (d =
 * 3 or 4) at the nodes k[0 .. d - 2] of the other axes: every image point
 * (a_0, .., a_(d-2)) of those axes (a_i = 0 along a dead axis) whose
 * exponent bound lb (e_0 + .. + e_(d-2)) passes GRID_EXPMAX (e = w^T Ct
 * w / 2 >= lb sum_i Ct_ii w_i^2 / 2, lb the smallest eigenvalue of Ct's
 * correlation matrix), with its spec_pt, through spectrum_line (n nodes
 * along the last axis; dens: spectrum_line's). */
static void image_lines(const cl_grid *g, const work *w, int d, const int *k, double *const *fq, double *const *fx,
                        double *const *tc, double *const *ts, double lb, const double *cl, const spec_axis *ax,
                        double *VR, double *VI, double *scr, int dens) {
  const int K = g->K, m = d - 1;
  const double *Ct = w->Ct;
  /* the images of each axis that can pass: not along a dead axis, and lb
   * times their own exponent not above GRID_EXPMAX (the other axes' add
   * to it).  Before (session 26) the odometer ran over all 3^m image
   * points and tested each: 60% of image_lines' cycles at case B, most
   * of the 27 points of the four-unit terms' lines failing the test */
  int na[3], al[3][3], a[3] = {0, 0, 0};
  for (int i = 0; i < m; i++) {
    na[i] = 0;
    for (int b = -1; b <= 1; b++)
      if (!(w->dead[i] && b) && !(lb * fx[i][3 * k[i] + b + 1] > GRID_EXPMAX)) al[i][na[i]++] = b;
    if (!na[i]) return;
  }
  for (;;) {
    double wv[3], e = 0;
    int qi[3];
    for (int i = 0; i < m; i++) {
      const int q = qi[i] = 3 * k[i] + al[i][a[i]] + 1;
      wv[i] = fq[i][q], e += fx[i][q];
    }
    if (!(lb * e > GRID_EXPMAX)) {
      spec_pt o;
      o.e = e, o.ct = 0;
      for (int i = 0; i < m; i++)
        for (int l = i + 1; l < m; l++) o.e += Ct[i * d + l] * wv[i] * wv[l];
      for (int i = 0; i < m; i++) o.ct += Ct[i * d + m] * wv[i];
      for (int j = 0; j < K; j++) {
        o.arg[j] = 0;
        for (int i = 0; i < m; i++) o.arg[j] += w->Rt[j * d + i] * wv[i];
        o.tr[j] = cl_cf_trig(&g->m.c[j], &o.fj[j]);
        if (!o.tr[j]) continue;
        double c = tc[0][qi[0] * K + j], sn = ts[0][qi[0] * K + j];
        for (int i = 1; i < m; i++) {
          const double ci = tc[i][qi[i] * K + j], si = ts[i][qi[i] * K + j], c1 = c * ci - sn * si;
          sn = sn * ci + c * si, c = c1;
        }
        o.ca[j] = c, o.sa[j] = sn;
      }
      for (int r = 0; r < d && dens != SPEC_DENS; r++) {
        o.xo[r] = 0;
        for (int i = 0; i < m; i++) o.xo[r] += Ct[r * d + i] * wv[i];
      }
      spectrum_line(g, d, w->Rt + m, cl, ax, &o, VR, VI, scr, dens);
    }
    int i = m - 1;
    while (i >= 0 && a[i] == na[i] - 1) a[i--] = 0;
    if (i < 0) break;
    a[i]++;
  }
}

/* Whether the folded spectrum of a d-d grid (n nodes per axis) is, as
 * computed, exactly Hermitian in the planes k0 = 0 and k0 = n0 / 2
 * (weights3, g4_spectrum: the line at -k the conjugate of that at k): the
 * images of node k and of node -k along every axis are each other's
 * negatives, except at the node n / 2, whose image -3 n / 2 has no
 * partner +3 n / 2, and along a dead axis (the image a = 0 alone).  So:
 * no dead axis, and the images -3 n / 2 dropped by the bound lb (fx:
 * image_freqs', ax: the last axis'). */
static int spec_hermitian(const work *w, int d, const int *n, double *const *fx, double lb, const spec_axis *ax) {
  for (int i = 0; i < d; i++)
    if (w->dead[i]) return 0;
  for (int i = 0; i < d - 1; i++)
    if (!(lb * fx[i][3 * (n[i] / 2)] > GRID_EXPMAX)) return 0;
  return ax->lo > 0;
}

/* The weights W_a on the 3-d grid (a = 0 the density of u, 1..K times c_j,
 * K+1..K+3 times the standardised xi_r; g->dq: 0 and 1..3 for the xi_r,
 * no c_j), each times the cell volume: the
 * folded spectrum at the grid's frequencies (lines along axis 2 for
 * k0 = 0 .. n0 / 2, the rest by conjugate symmetry), then a 3-d FFT per pair
 * of weights (fs: FFTW's plans, fft_plans FFT_W3); full = 0 and
 * g->odd: only the slabs j0 = 0 and j0 >= n0 / 2 (eval_level3's). */
static void weights3(const cl_grid *g, level *l, const int *n, const double *h, int full, const fft_set *fs) {
  work *w = &l->w;
  const int nw = g->nw, n0 = n[0], n1 = n[1], n2 = n[2];
  const size_t N = (size_t)n0 * n1 * n2;
  const double *Ct = w->Ct;
  double *fq[3], *fx[3], *tc[2], *ts[2], *p = image_freqs(3, n, h, Ct, w->fw, fq, fx);
  p = image_trig(g, w, 3, n, fq, p, tc, ts);
  /* e = w^T Ct w / 2 >= lb sum_i Ct_ii w_i^2 / 2 (lb the smallest
   * eigenvalue of Ct's correlation matrix): the images whose own axes put
   * lb (fx0 + fx1) or lb fx2 above GRID_EXPMAX are skipped */
  const double lb = corr_min(3, Ct, w->dead) - 1e-12, cl[3] = {Ct[2], Ct[5], Ct[8]};
  spec_axis sa; /* axis 2 */
  double *VR = spec_axis_make(g, w, 3, n2, h[2], lb, &sa, p);
  double *VI = VR + (size_t)nw * n2, *scr = VI + (size_t)nw * n2;
  /* the planes k0 = 0 and n0 / 2: the lines k1 = 0 .. n1 / 2, the others
   * their conjugates (spec_hermitian; the sums over the images in the
   * reverse order: rounding only).  Before (session 26) computed in full,
   * 12-15% of the spectrum (helper speed3's estimate) */
  const int hp = spec_hermitian(w, 3, n, fx, lb, &sa);
  for (int k0 = 0; k0 <= n0 / 2; k0++)
    for (int k1 = 0; k1 < n1; k1++) {
      const int plane = hp && (k0 == 0 || k0 == n0 / 2);
      if (plane && k1 > n1 / 2) continue; /* the mirror of n1 - k1 */
      memset(VR, 0, sizeof(double) * (size_t)nw * n2);
      memset(VI, 0, sizeof(double) * (size_t)nw * n2);
      const int kk[2] = {k0, k1};
      image_lines(g, w, 3, kk, fq, fx, tc, ts, lb, cl, &sa, VR, VI, scr, g->dq ? SPEC_NOTILT : SPEC_ALL);
      const int mir = (k0 > 0 && k0 < n0 / 2) || (plane && k1 > 0 && k1 < n1 / 2);
      /* a pair of weights at a time along the line (z's rows, the odd
       * weight as the imaginary part: the same operations as before
       * session 26, where the weights were the inner loop and each entry
       * was written, then its odd weight added) */
      const size_t ix = 2 * ((size_t)k0 * n1 + k1) * n2;
      const size_t iy = 2 * ((size_t)((n0 - k0) % n0) * n1 + (n1 - k1) % n1) * n2;
      /* the grid starts at u = -n h / 2: the phase (-1)^(k0 + k1 + k2) for even n */
      const double sg0 = ((k0 + k1) & 1) ? -1 : 1;
      for (int a = 0; a < nw; a += 2) {
        const double *restrict er = VR + (size_t)a * n2, *restrict ei = VI + (size_t)a * n2;
        const double *restrict orr = er + n2, *restrict oi = ei + n2;
        const int od = a + 1 < nw;
        double *restrict x = w->z + 2 * N * (size_t)(a / 2) + ix, *restrict y = w->z + 2 * N * (size_t)(a / 2) + iy;
        for (int k2 = 0; k2 < n2; k2++) {
          const double sg = (k2 & 1) ? -sg0 : sg0;
          double xr = sg * er[k2], xi = sg * ei[k2], yr = xr, yi = -sg * ei[k2];
          if (od) xr -= sg * oi[k2], xi += sg * orr[k2], yr += sg * oi[k2], yi += sg * orr[k2];
          x[2 * k2] = xr, x[2 * k2 + 1] = xi;
          if (mir) {
            const int ky = k2 ? n2 - k2 : 0;
            y[2 * ky] = yr, y[2 * ky + 1] = yi;
          }
        }
      }
    }
  /* axis 0 first (every line), then axes 1 and 2 on the slabs j0 that
   * eval_level3 uses (folded: j0 = 0 and j0 >= n0 / 2), every pair of
   * weights in one plan (until session 26: GSL's 1-d transforms, the
   * strided lines through a contiguous copy) */
  const int j0s = g->odd && !full ? n0 / 2 : 0;
  const size_t s12 = (size_t)n1 * n2;
  for (int i = 0; i < 3; i++) fftw_execute(fs->p[i]);
  const double sc = 1.0 / (double)N;
  for (int a = 0; a < nw; a++) {
    const double *z = w->z + 2 * N * (size_t)(a / 2) + (a & 1);
    double *W = w->W + N * (size_t)a;
    for (int j0 = 0; j0 < n0; j0++)
      if (j0 == 0 || j0 >= j0s)
        for (size_t k = (size_t)j0 * s12; k < (size_t)(j0 + 1) * s12; k++) W[k] = sc * z[2 * k];
  }
}

/* The plan's sums over one line of nn nodes (vp: the plan's vectors from
 * the line's first node, sv: the scalars) into acc. */
GRID_CLONES static void t3_line(const struct t3_plan *P, const double *const *vp, int nn, const double *sv,
                                double *acc) {
  double D[T3_NDOT];
  for (int d = 0; d < P->ndot; d++) {
    const t3_dot q = P->dot[d];
    const double *restrict w = vp[q.w];
    double t = 0;
    if (q.b < 0) {
#pragma omp simd reduction(+ : t)
      for (int x = 0; x < nn; x++) t += w[x];
    } else if (q.a < 0) {
      const double *restrict b = vp[q.b];
#pragma omp simd reduction(+ : t)
      for (int x = 0; x < nn; x++) t += w[x] * b[x];
    } else {
      const double *restrict a = vp[q.a], *restrict b = vp[q.b];
#pragma omp simd reduction(+ : t)
      for (int x = 0; x < nn; x++) t += w[x] * (a[x] * b[x]);
    }
    D[d] = t;
  }
  for (int k = 0; k < P->nop; k++) {
    const t3_op *o = &P->op[k];
    acc[o->acc] += o->coef * (sv[o->s[0]] * sv[o->s[1]] * sv[o->s[2]] * sv[o->s[3]] * sv[o->s[4]]) * D[o->dot];
  }
}

/* The three-unit terms' sums of a level (g->t3; eval_level3's loop over
 * the lines, folded as there) into w->acc and w->acc2. */
static void t3_sums(const cl_grid *g, level *l, const int *n, const double *h, double beta[3][3]) {
  const struct t3_plan *P = g->t3;
  work *w = &l->w;
  const int n0 = n[0], n1 = n[1], n2 = n[2];
  const size_t N = (size_t)n0 * n1 * n2, cap = (size_t)l->p.n;
  const double *tb[3], *c01 = w->cross, *c02 = c01 + NK * NK * cap * cap, *c12 = c02 + NK * NK * cap * cap;
  for (int i = 0; i < 3; i++) tb[i] = w->tab + (size_t)i * NTAB * cap;
  double sv[T3S_N];
  const double *vp[T3V_N];
  sv[T3S_ONE] = 1;
  for (int r = 0; r < 3; r++) sv[T3S_DX + r] = w->dX[r];
  for (int i = 0; i < 3; i++)
    for (int r = 0; r < 3; r++) sv[T3S_BETA + 3 * i + r] = beta[i][r];
  double *xw = w->rows;
  for (int j0 = 0; j0 < n0; j0++) {
    if (g->odd && j0 > 0 && j0 < n0 / 2) continue;
    for (int j1 = 0; j1 < n1; j1++) {
      const size_t r0 = ((size_t)j0 * n1 + j1) * n2;
      int lo;
      const int hi = line_span(w->W, N, g->nw, r0, n2, &lo);
      if (lo >= hi) continue;
      const int nn = hi - lo, jj[2] = {j0, j1};
      sv[T3S_X] = w->dX[0] * (j0 - n0 / 2) * h[0], sv[T3S_X + 1] = w->dX[1] * (j1 - n1 / 2) * h[1];
      for (int c = 0; c < P->nsc; c++) {
        const int s = P->sc[c];
        double v;
        if (s >= T3S_C01) {
          const int k = (s - T3S_C01) / 4, q = (s - T3S_C01) % 4;
          v = c01[((size_t)k * n0 + j0) * NK * n1 + (size_t)q * n1 + j1];
        } else if (s >= T3S_MO) {
          const int i = (s - T3S_MO) / 16, kq = (s - T3S_MO) % 16;
          v = tb[i][(NK + kq) * n[i] + jj[i]];
        } else {
          const int ez = s >= T3S_EZ, k = (s - (ez ? T3S_EZ : T3S_MF)) / 2, i = (s - (ez ? T3S_EZ : T3S_MF)) % 2;
          v = tb[i][((ez ? NK + NK * NK : 0) + k) * n[i] + jj[i]];
        }
        sv[s] = v;
      }
      for (int c = 0; c < P->nvec; c++) {
        const int v = P->vec[c];
        const double *p;
        if (v >= T3V_C12) {
          const int k = (v - T3V_C12) / 4, q = (v - T3V_C12) % 4;
          p = c12 + ((size_t)k * n1 + j1) * NK * n2 + (size_t)q * n2;
        } else if (v >= T3V_C02) {
          const int k = (v - T3V_C02) / 4, q = (v - T3V_C02) % 4;
          p = c02 + ((size_t)k * n0 + j0) * NK * n2 + (size_t)q * n2;
        } else if (v >= T3V_MO)
          p = tb[2] + (size_t)(NK + v - T3V_MO) * n2;
        else if (v >= T3V_EZ)
          p = tb[2] + (size_t)(NK + NK * NK + v - T3V_EZ) * n2;
        else if (v >= T3V_MF)
          p = tb[2] + (size_t)(v - T3V_MF) * n2;
        else if (v == T3V_XW)
          p = xw - lo;
        else /* the weights W_0, W_xi_r (g->dq: 0 and 1..3) */
          p = w->W + N * (size_t)v + r0;
        vp[v] = p + lo;
      }
      if (P->xw) {
        const double *w0 = w->W + r0 + lo;
        for (int x = 0; x < nn; x++) xw[x] = w->dX[2] * (lo + x - n2 / 2) * h[2] * w0[x];
      }
      t3_line(P, vp, nn, sv, g->odd && j0 > n0 / 2 ? w->acc2 : w->acc);
    }
  }
}

/* The drift of one level of the 3-d grid at its state (prepare3 done). */
static cl_status eval_level3(const cl_grid *g, level *l, const double *R, const double *Q, double *out, char *err) {
  work *w = &l->w;
  const int K = g->K, F = g->t.F; /* 13: feature k of unit i is k * 3 + i, S2 = 12 */
  int n[3];
  double h[3], th, thf;
  const double want = axes3(g, l, n, h, &th, &thf);
  /* the refusals of a capped axis (s.4), on the fine level's th at this
   * state, by either level (the coarse one is evaluated first) */
  const int stj = thf >= GRID_THMIN ? student_tails_unresolved(g, w, thf) : -1;
  if (stj >= 0) return student_refusal(g, l, want, g->lv[1].p.n, stj, " at M = 3", "", err);
  if (thf < GRID_THMIN || !(th > 0)) {
    /* both levels too coarse for their difference to be a safe estimate */
    l->unresolved = 1;
    char wa[32] = "arbitrarily many"; /* exactly collinear: no step suffices */
    if (isfinite(want)) snprintf(wa, sizeof wa, "about %.0f", want);
    return cl_fail(err, CL_EDIVERGE,
                   "expect: this state needs %s " CL_GRID_REFUSAL " %d of the grid engine at M = 3 (nearly "
                   "collinear units, a unit nearly along a feature, or a long-tailed law): use the Sobol' engine",
                   wa, g->lv[1].p.n);
  }
  const int n0 = n[0], n1 = n[1], n2 = n[2];
  const size_t N = (size_t)n0 * n1 * n2, cap = (size_t)l->p.n;
  cl_status st = grid3_room(g, w, N, err);
  if (st) return st;
  const int fk[6] = {FFT_W3, n0, n1, n2, g->odd ? n0 / 2 : 0, g->nq};
  const fft_set *fs = fft_plans(l, fk, w->z, err);
  if (!fs) return CL_ENOMEM;
  weights3(g, l, n, h, 0, fs);
  for (int i = 0; i < 3; i++)
    axis_tables(g->m.act, &l->gh, sqrt(w->Ce[i * 4]), w->dX[i], n[i], h[i], w->tab + (size_t)i * NTAB * cap, w->hs,
                w->ys, w->ds);
  static const int pa[3] = {0, 0, 1}, pb[3] = {1, 2, 2};
  for (int pp = 0; pp < 3; pp++) {
    const int a = pa[pp], b = pb[pp];
    pair_cross(g->m.act, &l->gh, w->Ce[a * 4], w->Ce[b * 3 + a], w->Ce[b * 4], w->dX[a], w->dX[b], n[a], n[b], h[a],
               h[b], 0, w->cross + (size_t)pp * NK * NK * cap * cap, w->A, w->B, w->hs, w->ys, w->ds);
  }
  /* Ee_(f, r) = E[phi_f eta_r] = Ce_ri / sd_i E[phi_f z] for f on unit i */
  double beta[3][3];
  noise_beta(w->Ce, 3, beta);
  memset(w->acc, 0, sizeof(double) * (size_t)g->t.nsum);
  memset(w->acc2, 0, sizeof(double) * (size_t)g->t.nsum);
  const double *tb[3], *c01 = w->cross, *c02 = c01 + NK * NK * cap * cap, *c12 = c02 + NK * NK * cap * cap;
  for (int i = 0; i < 3; i++) tb[i] = w->tab + (size_t)i * NTAB * cap;
  /* B > 1 with lambda != 0: the exact 1/B expansion in two passes (s.6):
   * the one-sample moments, then the sums with the mean-field terms */
  const int batch = g->m.B > 1 && g->m.lambda != 0;
  double mom[9 + 3 * 81];
  cl_acc_terms tbt;
  const cl_acc_terms *tt = &g->t;
  memset(mom, 0, sizeof mom);
  if (g->t3 && !batch) t3_sums(g, l, n, h, beta);
  for (int pass = batch ? 0 : g->t3 ? 2 : 1; pass < 2; pass++) {
    if (pass == 1 && batch) cl_acc_terms_batch(&tbt, K, 3, g->m.lambda, g->m.B, mom), tt = &tbt;
    /* folded (g->odd, docs/grid.md s.3): the node -u has the summand of u,
     * so the slabs j0 > n0 / 2 count twice and 0 < j0 < n0 / 2 are skipped */
    for (int j0 = 0; j0 < n0; j0++)
      for (int j1 = 0; j1 < n1; j1++) {
      if (g->odd && j0 > 0 && j0 < n0 / 2) break;
      const size_t r0 = ((size_t)j0 * n1 + j1) * n2;
      int lo;
      const int hi = line_span(w->W, N, g->nw, r0, n2, &lo);
      if (lo >= hi) continue;
      const int nn = hi - lo, jj[2] = {j0, j1};
      double *rb = w->rows;
#define SLOT(k) (rb + (size_t)(k) * nn)
#define FILL(b, v)                                                                                                \
  do {                                                                                                            \
    const double v_ = (v);                                                                                        \
    for (int x = 0; x < nn; x++) (b)[x] = v_;                                                                     \
  } while (0)
      const double *pm[13], *pM[169], *pE[39], *pc[CL_KMAX], *px[3], *pu[3];
      int ns = 0;
      /* units 0 and 1: constants along the line; unit 2: its tables from lo */
      for (int k = 0; k < NK; k++) {
        for (int i = 0; i < 2; i++) {
          const int ni = n[i], j = jj[i];
          double *b = SLOT(ns++);
          FILL(b, tb[i][k * ni + j]);
          pm[k * 3 + i] = b;
          for (int r = 0; r < 3; r++) {
            double *e = SLOT(ns++);
            FILL(e, beta[i][r] * tb[i][(NK + NK * NK + k) * ni + j]);
            pE[(k * 3 + i) * 3 + r] = e;
          }
          for (int q = k; q < NK; q++) {
            double *b2 = SLOT(ns++);
            FILL(b2, tb[i][(NK + k * NK + q) * ni + j]);
            pM[(k * 3 + i) * F + q * 3 + i] = pM[(q * 3 + i) * F + k * 3 + i] = b2;
          }
        }
        pm[k * 3 + 2] = tb[2] + k * n2 + lo;
        for (int r = 0; r < 3; r++) {
          double *e = SLOT(ns++);
          const double *zt = tb[2] + (NK + NK * NK + k) * n2 + lo;
          for (int x = 0; x < nn; x++) e[x] = beta[2][r] * zt[x];
          pE[(k * 3 + 2) * 3 + r] = e;
        }
        for (int q = 0; q < NK; q++) {
          pM[(k * 3 + 2) * F + q * 3 + 2] = tb[2] + (NK + k * NK + q) * n2 + lo;
          double *b01 = SLOT(ns++);
          FILL(b01, c01[((size_t)k * n0 + j0) * NK * n1 + (size_t)q * n1 + j1]);
          pM[(k * 3) * F + q * 3 + 1] = pM[(q * 3 + 1) * F + k * 3] = b01;
          const double *p02 = c02 + ((size_t)k * n0 + j0) * NK * n2 + (size_t)q * n2 + lo;
          const double *p12 = c12 + ((size_t)k * n1 + j1) * NK * n2 + (size_t)q * n2 + lo;
          pM[(k * 3) * F + q * 3 + 2] = pM[(q * 3 + 2) * F + k * 3] = p02;
          pM[(k * 3 + 1) * F + q * 3 + 2] = pM[(q * 3 + 2) * F + k * 3 + 1] = p12;
        }
      }
#undef FILL
      /* S2 = YY_0 + YY_1 + YY_2 (features 9, 10, 11) */
      {
        double *m = SLOT(ns++), *mm = SLOT(ns++);
        for (int x = 0; x < nn; x++) m[x] = pm[9][x] + pm[10][x] + pm[11][x];
        pm[12] = m;
        for (int e = 0; e < 12; e++) {
          double *v = SLOT(ns++);
          const double *a = pM[9 * F + e], *b = pM[10 * F + e], *c = pM[11 * F + e];
          for (int x = 0; x < nn; x++) v[x] = a[x] + b[x] + c[x];
          pM[12 * F + e] = pM[e * F + 12] = v;
        }
        for (int x = 0; x < nn; x++) mm[x] = pM[12 * F + 9][x] + pM[12 * F + 10][x] + pM[12 * F + 11][x];
        pM[12 * F + 12] = mm;
        for (int r = 0; r < 3; r++) {
          double *v = SLOT(ns++);
          for (int x = 0; x < nn; x++) v[x] = pE[27 + r][x] + pE[30 + r][x] + pE[33 + r][x];
          pE[36 + r] = v;
        }
      }
      /* the weights: W_xi in the raw xi, W_mu = X W_0 - W_xi (g->dq: no
       * W_cj, so acc_rows leaves aR alone) */
      const double *w0 = w->W + r0 + lo;
      for (int j = 0; j < K && !g->dq; j++) pc[j] = w->W + N * (size_t)(1 + j) + r0 + lo;
      for (int r = 0; r < 3; r++) {
        double *xr = SLOT(ns++), *ur = SLOT(ns++);
        const double *wr = w->W + N * (size_t)((g->dq ? 1 : K + 1) + r) + r0 + lo;
        for (int x = 0; x < nn; x++) {
          const int jr = r == 0 ? j0 : r == 1 ? j1 : lo + x;
          const double X = w->dX[r] * (jr - n[r] / 2) * h[r];
          xr[x] = w->dX[r] * wr[x], ur[x] = X * w0[x] - xr[x];
        }
        px[r] = xr, pu[r] = ur;
      }
#undef SLOT
        if (pass == 0)
          cl_acc_batch_rows(3, F, nn, pm, pM, w0, g->odd && j0 > n0 / 2 ? 2 : 1, mom);
        else
          cl_acc_rows(tt, nn, pm, pM, pE, w0, g->dq ? NULL : pc, px, pu, g->odd && j0 > n0 / 2 ? w->acc2 : w->acc,
                      w->scr);
      }
  }
  for (int k = 0; k < g->t.nsum; k++) w->acc[k] += 2 * w->acc2[k];
  if (batch) cl_acc_batch_fluct(&g->m, mom, w->acc + K * 3 + 36 + 18);
  cl_acc_finish(&g->m, R, Q, w->Gi, w->acc, out);
  if (g->dq) memset(out, 0, sizeof(double) * (size_t)K * 3); /* no aR: dR not computed */
  for (int i = 0; i < 3; i++) w->last[i] = n[i];
  return CL_OK;
}

cl_status cl_grid3_weights(cl_grid *g, int lev, const double *R, const double *Q, int *n, double *h, double *dX,
                           const double **W, char *err) {
  if (g->M != 3 || g->dq || lev < 0 || lev > 1)
    return cl_fail(err, CL_EINVAL, "the 3-d grid's weights need M = 3 (with the tilted weights) and a level 0 or 1");
  level *l = &g->lv[lev];
  work *w = &l->w;
  cl_status st = prepare3(g, w, R, Q, err);
  if (st) return st;
  double th, thf;
  axes3(g, l, n, h, &th, &thf);
  if (!(th > 0) || thf < GRID_THMIN)
    return cl_fail(err, CL_EDIVERGE, "expect: this state needs more " CL_GRID_REFUSAL " cap of the grid engine at M = 3");
  if ((st = grid3_room(g, w, (size_t)n[0] * n[1] * n[2], err))) return st;
  const int fk[6] = {FFT_W3, n[0], n[1], n[2], 0, g->nq};
  const fft_set *fs = fft_plans(l, fk, w->z, err);
  if (!fs) return CL_ENOMEM;
  weights3(g, l, n, h, 1, fs);
  for (int i = 0; i < 3; i++) dX[i] = w->dX[i];
  *W = w->W;
  return CL_OK;
}

static cl_status finish(const cl_grid *g, const double *o, double *dR, double *dQ, char *err) {
  const int KM = g->K * g->M, nout = g->nout;
  for (int k = 0; k < nout; k++) {
    if (!isfinite(o[k])) return cl_fail(err, CL_EDIVERGE, "the drift is not finite");
    if (k < KM) dR[k] = o[k];
    else dQ[k - KM] = o[k];
  }
  return CL_OK;
}

/* One level at its state: prepare, evaluate, check. */
static cl_status level_drift(const cl_grid *g, int lev, const double *R, const double *Q, double *o, char *err) {
  if (g->sctx) { /* M >= 4: every sub-engine's level lev combined (drift_grid4.c) */
    const cl_status s4 = g->sum.level(g->sctx, lev, R, Q, o, o + g->K * g->M, err);
    for (int k = 0; !s4 && k < g->nout; k++)
      if (!isfinite(o[k])) return cl_fail(err, CL_EDIVERGE, "the drift is not finite");
    return s4;
  }
  level *l = (level *)&g->lv[lev];
  cl_status st = g->M == 3 ? prepare3(g, &l->w, R, Q, err) : prepare(g, &l->w, R, Q, err);
  if (!st) pick_inner(g, l);
  if (!st) st = g->M == 3 ? eval_level3(g, l, R, Q, o, err) : eval_level(g, l, R, Q, o, err);
  for (int k = 0; !st && k < g->nout; k++)
    if (!isfinite(o[k])) st = cl_fail(err, CL_EDIVERGE, "the drift is not finite");
  return st;
}

/* The two levels at their states (R + r KM, Q + r 4 for level r).  Each
 * level has its own state and scratch, so the two could run in parallel;
 * they run one after the other (measured: two threads made case A slower on
 * the shared 2-core machine, docs/grid.md s.9). */
static cl_status both_levels(cl_grid *g, const double *R, const double *Q, size_t sR, size_t sQ, char *err) {
  const int nout = g->nout;
  cl_status st[2];
  char e2[2][CL_ERRLEN];
  for (int r = 0; r < 2; r++) st[r] = level_drift(g, r, R + r * sR, Q + r * sQ, g->out + (size_t)r * nout, e2[r]);
  for (int r = 0; r < 2; r++)
    if (st[r]) return cl_fail(err, st[r], "%s", e2[r]);
  return CL_OK;
}

cl_status cl_grid_eval_level(cl_grid *g, int lev, const double *R, const double *Q, double *dR, double *dQ,
                             char *err) {
  double *o = g->out + (size_t)lev * g->nout;
  cl_status st = level_drift(g, lev, R, Q, o, err);
  if (st) return st;
  return finish(g, o, dR, dQ, err);
}

cl_status cl_grid_eval_reps(cl_grid *g, const double *R, const double *Q, double *dR, double *dQ, char *err) {
  const size_t KM = (size_t)g->K * g->M, MM = (size_t)g->M * g->M;
  cl_status st = both_levels(g, R, Q, KM, MM, err);
  for (int r = 0; !st && r < 2; r++) st = finish(g, g->out + (size_t)r * g->nout, dR + r * KM, dQ + r * MM, err);
  return st;
}

cl_status cl_grid_eval(cl_grid *g, const double *R, const double *Q, double *dR, double *dQ, double *ebar,
                       char *err) {
  cl_status st = both_levels(g, R, Q, 0, 0, err);
  if (st) return st;
  const int nout = g->nout;
  const double *o0 = g->out, *o1 = g->out + nout;
  /* at least a floor: for tanh, erf and sigmoid a fraction of the largest
   * component; for linear and cubic sigma, whose two levels are exact but
   * for a rounding they share and |fine - coarse| does not see, the bound
   * on the fine level's rounding from the magnitudes it summed (round_bound;
   * docs/grid.md s.5: the fixed fractions of before, 1e-9 to 1e-4, missed
   * the cancellation of cubic sigma's degree-22 terms at large Q) */
  const cl_act a = g->m.act;
  const int poly = cl_act_polynomial(a);
  double big = 0;
  g->emax = 0;
  for (int k = 0; k < nout; k++) g->emax = fmax(g->emax, fabs(o1[k] - o0[k])), big = fmax(big, fabs(o1[k]));
  g->emax = fmax(g->emax, poly ? cl_grid_round(g) : 1e-11 * big);
  if (ebar)
    for (int k = 0; k < nout; k++) ebar[k] = g->emax;
  return finish(g, o1, dR, dQ, err);
}

/* ---- M = 4: the four-unit terms (docs/grid.md, "The four-unit terms") ----
 * With B = 1 and g = square, ghat1_i = sd1_i y2_i - 2 lambda DY1_i
 * sum_{k != i} YY2_k and ghat2_i likewise with the views swapped (DY =
 * sd y, YY = y^2 of one unit in one view; docs/multi.md s.2).  The products of
 * V_il (i != l) that name all four units are the lambda^2 ones whose two
 * YY factors are the units j, m not in {i, l}; given X the views are
 * independent (docs/grid.md s.1), and each is E_X[Mo(X_A) Mo'(X_B)] with
 * Mo, Mo' one-view pair moments (docs/grid.md s.3) of a split A | B of the
 * units into two pairs:
 *
 *   V4_il = 16 lambda^2 (1 + s^2) E[Mo(DY_i, DY_l) Mo(YY_j, YY_m)]
 *         + 8 lambda^2 (1 + rho s^2) (E[Mo(DY_i, YY_m) Mo(DY_l, YY_j)]
 *                                     + E[Mo(DY_i, YY_j) Mo(DY_l, YY_m)]),
 *
 * 18 products, 6 per split, and dQ4_il = tau^2 V4_il (B = 1).  The 4-d
 * density W_0 of X (standardised u) is the inverse DFT of its folded
 * spectrum on the grid (docs/grid.md s.2, s.14: spectrum_line along axis
 * 3, the step from the smoothing S and lattice_min, the range from
 * cl_cf_range), so by Parseval's identity on the grid each product is
 * (1 / N) sum_k (-1)^(k) What_fold(k) T_A(k_A) T_B(k_B), with T the 2-d
 * DFTs of the pair tables (pair_cross): the 4-d inverse transform is
 * never formed.  k_0 runs over 0 .. n_0 / 2 (the weight is real: the other
 * half is the conjugate), and per split the sum over k_B is a matrix-vector
 * product for the four tables of the pair B at once. */
#define G4Q_NMAX 64 /* the fine level's cap of nodes per direction (the coarse: 3/4) */
/* the levels' aliasing and tail exponents (the 2-d and 3-d grids: 18/28 and
 * 22/28), chosen by bench/lev4.c `q4` (session 24, helper q4lev) on case B's
 * grid trajectory and model U (docs/grid.md s.15, "The four-unit terms'
 * levels": the fine level within 2.6e-9 of a much finer grid, the estimate
 * |fine - coarse| at least 14 times the distance; session 23's 7/10 and
 * 11/13 cost 1.5 times more) */
#define G4Q_EH_C 6.0
#define G4Q_E_C 9.0
#define G4Q_EH_F 9.0
#define G4Q_E_F 12.0
/* without per-view noise (the step from sigma's poles) session 23's: at
 * e^-6/e^-9 the fine level's error was 0.8 of the estimate there */
#define G4Q_EH_C0 7.0
#define G4Q_E_C0 10.0
#define G4Q_EH_F0 11.0
#define G4Q_E_F0 13.0
/* the spectrum's images dropped above this exponent (the 2-d and 3-d grids:
 * GRID_EXPMAX, 40, for their e^-28; docs/grid.md, "The four-unit terms") */
#define G4Q_EXPMAX(Eh) (1.5 * (Eh) + 6)

struct cl_grid4q {
  cl_grid g;  /* the model, K, M = 4 and the two levels (rules, state, scratch) */
  int real;   /* every law symmetric: the spectrum is real */
  double cdd; /* tau^2 16 lambda^2 (1 + s^2): the product of V_il's pair (i, l) */
  double cdy; /* tau^2 8 lambda^2 (1 + rho s^2): the mixed products */
};

/* The pairs (a, b), a < b, and the splits {0 b | c d}: the pair index of
 * each side. */
static const int g4_pa[6] = {0, 0, 0, 1, 1, 2}, g4_pb[6] = {1, 2, 3, 2, 3, 3};
static const int g4_sa[3] = {0, 1, 2}, g4_sb[3] = {5, 4, 3};

void cl_grid4q_levels(const cl_model *m, const cl_quad_opts *o, cl_grid_level lp[2]) {
  const int ne = o && o->grid_nodes > 0 ? o->grid_nodes : GRID_NE;
  const double x = (double)ne / GRID_NE;
  const int cap = (int)(G4Q_NMAX * x + 1) & ~1, noise = (1 - m->rho) * m->s * m->s > 0;
  lp[0] = (cl_grid_level){(3 * cap / 4 + 1) & ~1,
                          (2 * ne + 1) / 3,
                          (noise ? G4Q_EH_C : G4Q_EH_C0) * x * x,
                          (noise ? G4Q_E_C : G4Q_E_C0) * x,
                          5.5 * sqrt(x),
                          2 * GRID_NEMAX / 3};
  lp[1] = (cl_grid_level){
      cap, ne, (noise ? G4Q_EH_F : G4Q_EH_F0) * x * x, (noise ? G4Q_E_F : G4Q_E_F0) * x, 6.5 * sqrt(x), GRID_NEMAX};
}

cl_status cl_grid4q_alloc(const cl_model *m, const cl_quad_opts *o, cl_grid4q **out, char *err) {
  cl_grid_level lp[2];
  cl_grid4q_levels(m, o, lp);
  return cl_grid4q_alloc_levels(m, lp, out, err);
}

cl_status cl_grid4q_alloc_levels(const cl_model *m, const cl_grid_level lp[2], cl_grid4q **out, char *err) {
  *out = NULL;
  cl_common_init();
  if (m->M != 4) return cl_fail(err, CL_EINVAL, "the four-unit terms need M = 4 (got M = %d)", m->M);
  if (m->B != 1) return cl_fail(err, CL_EINVAL, "the four-unit terms of the grid need B = 1 (got B = %d)", m->B);
  if (m->lambda != 0 && m->g != CL_G_SQUARE)
    return cl_fail(err, CL_EINVAL, "the four-unit terms of the grid need g = square where lambda != 0");
  if (m->act != CL_ACT_TANH && m->act != CL_ACT_ERF && m->act != CL_ACT_SIGMOID)
    return cl_fail(err, CL_EINVAL, "the four-unit terms of the grid need tanh, erf or sigmoid sigma (got %s)",
                   cl_act_name(m->act));
  if (!(m->rho >= 0 && m->rho <= 1))
    return cl_fail(err, CL_EINVAL, "the four-unit terms of the grid need rho in [0, 1] (got %g)", m->rho);
  cl_grid4q *q = calloc(1, sizeof *q);
  if (!q) return cl_fail(err, CL_ENOMEM, "out of memory");
  cl_grid *g = &q->g;
  g->m = *m, g->K = m->K, g->M = 4, g->nw = 1, g->nq = 1, g->nout = 16;
  q->real = 1;
  for (int j = 0; j < m->K; j++) q->real = q->real && cl_law_is_symmetric(&m->c[j]);
  const double t2 = m->tau * m->tau / m->B, l2 = m->lambda * m->lambda, s2 = m->s * m->s;
  q->cdd = t2 * 16 * l2 * (1 + s2), q->cdy = t2 * 8 * l2 * (1 + m->rho * s2);
  cl_status st = CL_OK;
  for (int k = 0; k < 2 && !st; k++) {
    if ((st = level_rules(g, k, &lp[k], err))) break;
    level *l = &g->lv[k];
    work *w = &l->w;
    const size_t n = (size_t)lp[k].n, se = (size_t)l->lad[l->nlad - 1].n;
    w->tab = malloc(sizeof(double) * 2 * 24 * n * n);   /* the pair tables' DFTs: 6 pairs x 4, re and im */
    w->cross = malloc(sizeof(double) * NK * NK * n * n); /* pair_cross's moments of one pair */
    w->ln = fftw_malloc(sizeof(double) * 2 * n * n);    /* one table's 2-d DFT */
    w->W = malloc(sizeof(double) * 2 * 4 * 3 * (n / 2 + 1) * n); /* the matrix-vector products, per split */
    w->A = malloc(sizeof(double) * NK * n * se);
    w->B = malloc(sizeof(double) * NK * n * se);
    w->hs = malloc(sizeof(double) * se * se);
    w->ys = malloc(sizeof(double) * se * se);
    w->ds = malloc(sizeof(double) * se * se);
    w->fw = malloc(sizeof(double) * spec_room(g->K, n, 4));
    if (!w->tab || !w->cross || !w->ln || !w->W || !w->A || !w->B || !w->hs || !w->ys || !w->ds || !w->fw)
      st = cl_fail(err, CL_ENOMEM, "out of memory");
  }
  if (st) return cl_grid4q_free(q), st;
  *out = q;
  return CL_OK;
}

void cl_grid4q_free(cl_grid4q *q) {
  if (!q) return;
  for (int k = 0; k < 2; k++) level_free(&q->g.lv[k]);
  free(q);
}

void cl_grid4q_sizes(const cl_grid4q *q, int lev, int *n) {
  for (int i = 0; i < 4; i++) n[i] = q->g.lv[lev].w.last[i];
}

/* The folded spectrum of W_0 on the 4-d grid (n nodes, steps h), k_0 = 0 ..
 * n_0 / 2, into the planes sr, si (each (n_0 / 2 + 1) n_1 n_2 n_3, index
 * ((k0 n1 + k1) n2 + k2) n3 + k3): lines along axis 3 by spectrum_line
 * (the density alone), one per image point of axes 0 to 2 that passes the
 * bound lb (e_0 + e_1 + e_2) <= GRID_EXPMAX (as weights3). */
static void g4_spectrum(const cl_grid *g, level *l, const int *n, const double *h, double *sr, double *si) {
  work *w = &l->w;
  const int n0 = n[0], n1 = n[1], n2 = n[2], n3 = n[3];
  const double *Ct = w->Ct;
  double *fq[4], *fx[4], *tc[3], *ts[3], *p = image_freqs(4, n, h, Ct, w->fw, fq, fx);
  p = image_trig(g, w, 4, n, fq, p, tc, ts);
  /* images whose exponent is above G4Q_EXPMAX(Eh) are dropped (lb scaled so
   * that spectrum_line's test against GRID_EXPMAX is that one) */
  const double lb = (corr_min(4, Ct, w->dead) - 1e-12) * GRID_EXPMAX / G4Q_EXPMAX(l->p.Eh);
  const double cl[4] = {Ct[3], Ct[7], Ct[11], Ct[15]};
  spec_axis sa; /* axis 3 */
  double *VR = spec_axis_make(g, w, 4, n3, h[3], lb, &sa, p), *VI = VR + n3, *scr = VI + n3;
  /* the planes k0 = 0 and n0 / 2: the lines (k1, k2) of one half, the
   * others their conjugates (as weights3) */
  const int hp = spec_hermitian(w, 4, n, fx, lb, &sa);
  for (int k0 = 0; k0 <= n0 / 2; k0++)
    for (int k1 = 0; k1 < n1; k1++)
      for (int k2 = 0; k2 < n2; k2++) {
        const int plane = hp && (k0 == 0 || k0 == n0 / 2), e1 = k1 == 0 || k1 == n1 / 2;
        if (plane && (k1 > n1 / 2 || (e1 && k2 > n2 / 2))) continue; /* the mirror of (-k1, -k2) */
        memset(VR, 0, sizeof(double) * (size_t)n3);
        memset(VI, 0, sizeof(double) * (size_t)n3);
        const int kk[3] = {k0, k1, k2};
        image_lines(g, w, 4, kk, fq, fx, tc, ts, lb, cl, &sa, VR, VI, scr, SPEC_DENS);
        const size_t r0 = (((size_t)k0 * n1 + k1) * n2 + k2) * n3;
        memcpy(sr + r0, VR, sizeof(double) * (size_t)n3);
        memcpy(si + r0, VI, sizeof(double) * (size_t)n3);
        if (plane && !(e1 && (k2 == 0 || k2 == n2 / 2))) {
          const size_t ry = (((size_t)k0 * n1 + (n1 - k1) % n1) * n2 + (n2 - k2) % n2) * n3;
          for (int k3 = 0; k3 < n3; k3++) sr[ry + (n3 - k3) % n3] = VR[k3], si[ry + (n3 - k3) % n3] = -VI[k3];
        }
      }
}

/* The four tables of the pair pp (units a < b) on its 2-d grid (pair_cross:
 * Mo(DY_a, DY_b), Mo(YY_a, YY_b), Mo(DY_a, YY_b), Mo(YY_a, DY_b)), each
 * replaced by its 2-d DFT times (-1)^(k_a + k_b), into tab: table t of
 * the pair at (pp 4 + t) 2 c2 (re, then im at + c2), c2 = cap^2. */
static cl_status g4_tables(const cl_grid *g, level *l, int pp, const int *n, const double *h, size_t c2, char *err) {
  work *w = &l->w;
  const int a = g4_pa[pp], b = g4_pb[pp], na = n[a], nb = n[b], m4 = NK * nb;
  pair_cross(g->m.act, &l->gh, w->Ce[a * 5], w->Ce[b * 4 + a], w->Ce[b * 5], w->dX[a], w->dX[b], na, nb, h[a], h[b], 0,
             w->cross, w->A, w->B, w->hs, w->ys, w->ds);
  static const int fk[4] = {2, 3, 2, 3}, fqq[4] = {2, 3, 3, 2}; /* DY = 2, YY = 3 */
  const int key[6] = {FFT_T2, na, nb};
  const fft_set *fs = fft_plans(l, key, w->ln, err);
  if (!fs) return CL_ENOMEM;
  for (int t = 0; t < 4; t++) {
    double *z = w->ln;
    for (int ja = 0; ja < na; ja++)
      for (int jb = 0; jb < nb; jb++) {
        z[2 * ((size_t)ja * nb + jb)] = w->cross[((size_t)fk[t] * na + ja) * m4 + (size_t)fqq[t] * nb + jb];
        z[2 * ((size_t)ja * nb + jb) + 1] = 0;
      }
    fftw_execute(fs->p[0]);
    double *tr = w->tab + (size_t)(pp * 4 + t) * 2 * c2, *ti = tr + c2;
    for (int ka = 0; ka < na; ka++)
      for (int kb = 0; kb < nb; kb++) {
        const double sg = ((ka + kb) & 1) ? -1 : 1;
        tr[(size_t)ka * nb + kb] = sg * z[2 * ((size_t)ka * nb + kb)];
        ti[(size_t)ka * nb + kb] = sg * z[2 * ((size_t)ka * nb + kb) + 1];
      }
  }
  return CL_OK;
}

/* v[0] += Re, v[im] += Im of sum_k (xr + i xi)_k (br + i bi)_k over n
 * entries (xi = 0 where real) */
static void g4_dot(int real, int n, const double *restrict xr, const double *restrict xi, const double *restrict br,
                   const double *restrict bi, double *v, size_t im) {
  double ar = 0, ai = 0;
  if (real) {
#pragma omp simd reduction(+ : ar, ai)
    for (int k = 0; k < n; k++) ar += xr[k] * br[k], ai += xr[k] * bi[k];
  } else {
#pragma omp simd reduction(+ : ar, ai)
    for (int k = 0; k < n; k++) ar += xr[k] * br[k] - xi[k] * bi[k], ai += xr[k] * bi[k] + xi[k] * br[k];
  }
  v[0] += ar, v[im] += ai;
}

/* The products of the three splits: for each line (k0, k1, k2) of the half
 * spectrum and each split {0 b | c d}, V_q(k_0, k_b) += sum_(k_c, k_d)
 * S(k) T_q(k_c, k_d) for the four tables q of the pair (c, d) (DD, YY,
 * DY, YD as g4_tables), then the 18 sums Re sum_k0 w(k_0) sum_kb
 * T_t(k_0, k_b) V_q(k_0, k_b) / N (w = 2 where -k_0 is not in the half)
 * times their factors into V4 (4 x 4).  cap: the level's nodes per
 * direction at most. */
static void g4_contract(const cl_grid4q *q, level *l, const int *n, const double *sr, const double *si, size_t cap,
                        double *V4) {
  work *w = &l->w;
  const int n0 = n[0], n1 = n[1], n2 = n[2], n3 = n[3], h0 = n0 / 2 + 1;
  const size_t c2 = cap * cap, nv = (cap / 2 + 1) * cap * 2; /* room for one V_q (re, im) */
  double *V = w->W;                                           /* V[(s 4 + q) nv + (re: 0, im: nv / 2) + k0 n_b + k_b] */
  const int nb[3] = {n1, n2, n3};
  for (int s = 0; s < 3; s++)
    for (int t = 0; t < 4; t++) memset(V + (size_t)(s * 4 + t) * nv, 0, sizeof(double) * nv);
  const double *tb = w->tab;
#define TR(pp, t) (tb + (size_t)((pp) * 4 + (t)) * 2 * c2)
#define TI(pp, t) (tb + (size_t)((pp) * 4 + (t)) * 2 * c2 + c2)
  for (int k0 = 0; k0 < h0; k0++)
    for (int k1 = 0; k1 < n1; k1++)
      for (int k2 = 0; k2 < n2; k2++) {
        const size_t r0 = (((size_t)k0 * n1 + k1) * n2 + k2) * n3;
        const double *restrict xr = sr + r0, *restrict xi = si + r0;
        for (int t = 0; t < 4; t++) {
          /* split {01|23}: the pair (2, 3) = 5 at (k2, k3), summed along k3 */
          g4_dot(q->real, n3, xr, xi, TR(5, t) + (size_t)k2 * n3, TI(5, t) + (size_t)k2 * n3,
                 V + (size_t)(0 * 4 + t) * nv + (size_t)k0 * n1 + k1, nv / 2);
          /* split {02|13}: the pair (1, 3) = 4 at (k1, k3), summed along k3 */
          g4_dot(q->real, n3, xr, xi, TR(4, t) + (size_t)k1 * n3, TI(4, t) + (size_t)k1 * n3,
                 V + (size_t)(1 * 4 + t) * nv + (size_t)k0 * n2 + k2, nv / 2);
          /* split {03|12}: the pair (1, 2) = 3 at (k1, k2), a constant along k3 */
          {
            const double br = TR(3, t)[(size_t)k1 * n2 + k2], bi = TI(3, t)[(size_t)k1 * n2 + k2];
            double *restrict vr = V + (size_t)(2 * 4 + t) * nv + (size_t)k0 * n3, *restrict vi = vr + nv / 2;
            if (q->real) {
#pragma omp simd
              for (int k3 = 0; k3 < n3; k3++) vr[k3] += xr[k3] * br, vi[k3] += xr[k3] * bi;
            } else {
#pragma omp simd
              for (int k3 = 0; k3 < n3; k3++)
                vr[k3] += xr[k3] * br - xi[k3] * bi, vi[k3] += xr[k3] * bi + xi[k3] * br;
            }
          }
        }
      }
  /* the 18 products: per split {a b | c d} (a = 0), the pair (a, b)'s tables
   * t (DD 0, YY 1, DY 2, YD 3) against V of the pair (c, d)'s tables q */
  static const int tt[6] = {0, 1, 2, 2, 3, 3}, tq[6] = {1, 0, 2, 3, 2, 3};
  const double N = (double)n0 * n1 * n2 * n3;
  memset(V4, 0, 16 * sizeof *V4);
  for (int s = 0; s < 3; s++) {
    const int pa = g4_sa[s], pc = g4_sb[s], a = 0, b = g4_pb[pa], c = g4_pa[pc], d = g4_pb[pc], nbb = nb[s];
    const int ui[6] = {a, c, a, a, b, b}, ul[6] = {b, d, c, d, c, d};
    for (int u = 0; u < 6; u++) {
      const double *ar = TR(pa, tt[u]), *ai = TI(pa, tt[u]);
      const double *vr = V + (size_t)(s * 4 + tq[u]) * nv, *vi = vr + nv / 2;
      double e = 0;
      for (int k0 = 0; k0 < h0; k0++) {
        const double wk = k0 == 0 || 2 * k0 == n0 ? 1 : 2;
        double e0 = 0;
        for (int kb = 0; kb < nbb; kb++) {
          const size_t x = (size_t)k0 * nbb + kb;
          e0 += ar[x] * vr[x] - ai[x] * vi[x];
        }
        e += wk * e0;
      }
      const double v = (u < 2 ? q->cdd : q->cdy) * e / N;
      V4[ui[u] * 4 + ul[u]] += v, V4[ul[u] * 4 + ui[u]] += v;
    }
  }
#undef TR
#undef TI
}

int cl_grid4q_unresolved(const cl_grid4q *q) { return cl_grid_unresolved(&q->g); }

cl_status cl_grid4q_eval_level(cl_grid4q *q, int lev, const double *R, const double *Q, double *dQ4, char *err) {
  if (lev < 0 || lev > 1) return cl_fail(err, CL_EINVAL, "the four-unit terms: level %d (0 or 1)", lev);
  cl_grid *g = &q->g;
  level *l = &g->lv[lev];
  work *w = &l->w;
  cl_status st = cl_state_finite(g->K, 4, R, Q, err);
  if (st || (st = prepare3(g, w, R, Q, err))) return st;
  pick_inner(g, l);
  int n[4];
  double h[4], th, thf;
  const double want = axes3(g, l, n, h, &th, &thf);
  if (!(th >= 1)) { /* no capped axis here: any state that wants more than a level's cap is refused */
    l->unresolved = 1;
    char wa[32] = "arbitrarily many";
    if (isfinite(want)) snprintf(wa, sizeof wa, "about %.0f", want);
    return cl_fail(err, CL_EDIVERGE,
                   "expect: this state needs %s " CL_GRID_REFUSAL " %d of the four-unit terms' 4-d grid (nearly "
                   "collinear units, a unit nearly along a feature, or a long-tailed law): use the Sobol' engine",
                   wa, l->p.n);
  }
  const size_t cap = (size_t)l->p.n, half = (size_t)(n[0] / 2 + 1) * n[1] * n[2] * n[3];
  if (!st && half > w->cap3) {
    fftw_free(w->z);
    w->z = fftw_malloc(sizeof(double) * 2 * half);
    w->cap3 = w->z ? half : 0;
    if (!w->z) st = cl_fail(err, CL_ENOMEM, "out of memory");
  }
  if (st) return st;
  double *sr = w->z, *si = w->z + half;
  g4_spectrum(g, l, n, h, sr, si);
  for (int pp = 0; pp < 6 && !st; pp++) st = g4_tables(g, l, pp, n, h, cap * cap, err);
  if (st) return st;
  g4_contract(q, l, n, sr, si, cap, dQ4);
  for (int k = 0; k < 16; k++)
    if (!isfinite(dQ4[k])) return cl_fail(err, CL_EDIVERGE, "the four-unit terms are not finite");
  for (int i = 0; i < 4; i++) w->last[i] = n[i];
  return CL_OK;
}
