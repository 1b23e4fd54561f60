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

#include <gsl/gsl_fft_complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cldyn/act.h"
#include "drift_acc.h"
#include "drift_cf.h"
#include "drift_multi.h"

#define GRID_EXPMAX 40.0 /* spectrum: images whose Gaussian factor is below e^-40 are dropped */
#define GRID_WMIN 1e-16 /* nodes whose weights are all below this are skipped (docs/grid.md s.4) */
#define NK 4             /* features per unit: D, Y, DY, YY */
#define NTAB (NK + NK * NK + NK)

typedef struct {
  cl_grid_level p;
  cl_rule gh; /* the inner rule (standard normal) */
  gsl_fft_complex_wavetable *wt;
  gsl_fft_complex_workspace *ws;
} level;

struct cl_grid {
  cl_model m;
  int K, nw, nq; /* nw = K + 3 weights in nq = ceil(nw / 2) complex arrays */
  cl_acc_terms t;
  double tq[CL_KMAX];
  level lv[2];
  /* the state (prepare) */
  double Sp[16];
  double dX[2];           /* X_i = dX_i u_i (0: dead unit) */
  int dead[2];
  double Rt[CL_KMAX * 2]; /* R in the standardised coordinates (cosines) */
  double Ct[4], Ce[4];    /* covariance of the standardised xi; raw covariance of the per-view noise */
  double sig;             /* smoothing scale of the integrand in u (docs/grid.md s.4) */
  /* scratch for the largest level */
  double *z, *W, *tab, *cross, *A, *B, *hs, *ys, *ds, *acc, *out;
  double emax;
  char method[640];
};

int cl_grid_applies(const cl_model *m, char *why, size_t n) {
  char r[160] = "";
  int poly = m->act == CL_ACT_LINEAR || m->act == CL_ACT_CUBIC;
  if (m->M != 2) snprintf(r, sizeof r, "M = %d (the grid is 2-d)", m->M);
  else if (!cl_acc_applies(m, r, sizeof r)) {
  } else
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

static void level_free(level *l) {
  cl_rule_free(&l->gh);
  if (l->wt) gsl_fft_complex_wavetable_free(l->wt);
  if (l->ws) gsl_fft_complex_workspace_free(l->ws);
  l->wt = NULL, l->ws = NULL;
}

void cl_grid_free(cl_grid *g) {
  if (!g) return;
  for (int k = 0; k < 2; k++) level_free(&g->lv[k]);
  free(g->z), free(g->W), free(g->tab), free(g->cross), free(g->A), free(g->B);
  free(g->hs), free(g->ys), free(g->ds), free(g->acc), free(g->out);
  free(g);
}

void cl_grid_default_levels(int n, cl_grid_level *c, cl_grid_level *f) {
  if (n <= 0) n = 64;
  n += n & 1;
  int nc = (3 * n / 4 + 1) & ~1;
  /* the fine level: more nodes on a wider range (a farther tail cut), more
   * inner nodes (docs/grid.md s.5) */
  *f = (cl_grid_level){n, (3 * n + 7) / 8, 36, 6.5};
  *c = (cl_grid_level){nc, (n + 3) / 4, 30, 5.5};
}

cl_status cl_grid_alloc_levels(const cl_model *m, const cl_grid_level *coarse, const cl_grid_level *fine,
                               cl_grid **out, char *err) {
  *out = NULL;
  char why[200];
  if (!cl_grid_applies(m, why, sizeof why))
    return cl_fail(err, CL_EINVAL,
                   "expect: grid (the M = 2 grid engine) needs M = 2, B = 1 or lambda = 0, g = square, "
                   "a smooth sigma and rho >= 0: %s", why);
  cl_grid *g = calloc(1, sizeof *g);
  if (!g) return cl_fail(err, CL_ENOMEM, "ode: out of memory");
  g->m = *m;
  g->K = m->K, g->nw = m->K + 3, g->nq = (g->nw + 1) / 2;
  cl_acc_terms_init(&g->t, m->K, 2, m->lambda);
  for (int j = 0; j < m->K; j++) g->tq[j] = cl_cf_tail_q(&m->c[j]);
  const cl_grid_level *p[2] = {coarse, fine};
  int n = 0, ne = 0;
  cl_status st = CL_OK;
  for (int k = 0; k < 2 && !st; k++) {
    if (p[k]->n < 4 || p[k]->n > 1024 || (p[k]->n & 1) || p[k]->ne < 2 || p[k]->ne > 200 || !(p[k]->E > 0))
      st = cl_fail(err, CL_EINVAL, "expect: grid level %d: n %d (even, 4 to 1024), ne %d (2 to 200)", k,
                   p[k]->n, p[k]->ne);
    if (st) break;
    g->lv[k].p = *p[k];
    const int poly = m->act == CL_ACT_LINEAR || m->act == CL_ACT_CUBIC;
    if (poly) g->lv[k].p.E = 2 * p[k]->E; /* polynomial growth against the tails */
    /* the inner rule: the trapezoid for sigma analytic in a strip (geometric
     * convergence), Gauss-Hermite for the polynomials (exact) */
    st = poly || p[k]->Le <= 0 ? cl_rule_normal(p[k]->ne, &g->lv[k].gh, err)
                               : cl_rule_normal_trap_range(p[k]->ne, p[k]->Le, &g->lv[k].gh, err);
    if (st) break;
    g->lv[k].wt = gsl_fft_complex_wavetable_alloc((size_t)p[k]->n);
    g->lv[k].ws = gsl_fft_complex_workspace_alloc((size_t)p[k]->n);
    if (!g->lv[k].wt || !g->lv[k].ws) st = cl_fail(err, CL_ENOMEM, "ode: out of memory");
    if (p[k]->n > n) n = p[k]->n;
    if (p[k]->ne > ne) ne = p[k]->ne;
  }
  if (st) return cl_grid_free(g), st;
  const size_t n2 = (size_t)n * n, sn = (size_t)n, se = (size_t)ne;
  g->z = malloc(sizeof(double) * 2 * n2 * (size_t)g->nq);
  g->W = malloc(sizeof(double) * n2 * (size_t)g->nw);
  g->tab = malloc(sizeof(double) * 2 * NTAB * sn);
  g->cross = malloc(sizeof(double) * NK * NK * n2);
  g->A = malloc(sizeof(double) * NK * sn * se);
  g->B = malloc(sizeof(double) * NK * sn * se);
  g->hs = malloc(sizeof(double) * se * se);
  g->ys = malloc(sizeof(double) * se * se);
  g->ds = malloc(sizeof(double) * se * se);
  g->acc = malloc(sizeof(double) * (size_t)g->t.nsum);
  g->out = malloc(sizeof(double) * 2 * (size_t)(m->K * 2 + 4));
  if (!g->z || !g->W || !g->tab || !g->cross || !g->A || !g->B || !g->hs || !g->ys || !g->ds || !g->acc ||
      !g->out)
    return cl_grid_free(g), cl_fail(err, CL_ENOMEM, "ode: out of memory");
  snprintf(g->method, sizeof g->method,
           "grid engine (M = 2, %s, docs/grid.md): views independent given X = R^T c + xi; weights of X "
           "exact in c (characteristic functions, 2-d FFT) on %d x %d (coarse) and %d x %d (fine) "
           "nodes in the standardised X, inner Gauss-Hermite %d and %d nodes; drift = the fine level, "
           "error estimate max |fine - coarse| over the drift",
           m->B == 1 ? "B = 1" : "lambda = 0", g->lv[0].p.n, g->lv[0].p.n, g->lv[1].p.n, g->lv[1].p.n,
           g->lv[0].p.ne, g->lv[1].p.ne);
  *out = g;
  return CL_OK;
}

cl_status cl_grid_alloc(const cl_model *m, const cl_quad_opts *o, cl_grid **out, char *err) {
  cl_grid_level c, f;
  cl_grid_default_levels(o ? o->grid_nodes : 0, &c, &f);
  return cl_grid_alloc_levels(m, &c, &f, out, err);
}

double cl_grid_errmax(const cl_grid *g) { return g->emax; }
const char *cl_grid_method(const cl_grid *g) { return g->method; }

static double eig_min2(double a, double b, double c) {
  return 0.5 * (a + c) - sqrt(0.25 * (a - c) * (a - c) + b * b);
}

/* The state's covariances in the standardised coordinates (docs/grid.md s.1, s.4). */
static cl_status prepare(cl_grid *g, const double *R, const double *Q, char *err) {
  const int K = g->K;
  const double s2 = g->m.s * g->m.s, rho = g->m.rho;
  double A[4], Sg[16], S[16];
  cl_status st = cl_multi_sigma(&g->m, R, Q, A, Sg, err);
  if (st || (st = cl_sym_roots(Sg, 4, S, g->Sp, err))) return st;
  double d[2];
  for (int i = 0; i < 2; i++) {
    g->dead[i] = !(Q[i * 3] > 1e-300);
    d[i] = g->dead[i] ? 1 : sqrt(Q[i * 3]);
    g->dX[i] = g->dead[i] ? 0 : d[i];
    for (int j = 0; j < K; j++) g->Rt[j * 2 + i] = g->dead[i] ? 0 : R[j * 2 + i] / d[i];
  }
  const double q01 = 0.5 * (Q[1] + Q[2]);
  double Cx[4];
  for (int i = 0; i < 2; i++)
    for (int l = 0; l < 2; l++) {
      const double q = i == l ? Q[i * 3] : q01, a = i == l ? A[i * 3] : 0.5 * (A[1] + A[2]);
      const int z = g->dead[i] || g->dead[l];
      Cx[i * 2 + l] = z ? 0 : (a + rho * s2 * q) / (d[i] * d[l]);
      g->Ce[i * 2 + l] = z ? 0 : (1 - rho) * s2 * q;
    }
  /* the nearest PSD matrix (rounding can leave a negative eigenvalue) */
  double Sx[4];
  if ((st = cl_sym_roots(Cx, 2, Sx, NULL, err))) return st;
  for (int i = 0; i < 2; i++)
    for (int l = 0; l < 2; l++) g->Ct[i * 2 + l] = Sx[i * 2] * Sx[l * 2] + Sx[i * 2 + 1] * Sx[l * 2 + 1];
  const double cmax = sqrt(g->Ce[0] * g->Ce[3]);
  g->Ce[1] = g->Ce[2] = fmax(-cmax, fmin(cmax, g->Ce[1]));
  /* the smoothing scale: the smallest standardised variances of xi and eta
   * over the live units, combined as for a product of two Gaussians */
  double lx, le;
  const double e00 = g->dead[0] ? 0 : g->Ce[0] / Q[0], e11 = g->dead[1] ? 0 : g->Ce[3] / Q[3];
  if (g->dead[0] && g->dead[1]) lx = le = 0;
  else if (g->dead[0]) lx = g->Ct[3], le = e11;
  else if (g->dead[1]) lx = g->Ct[0], le = e00;
  else {
    lx = eig_min2(g->Ct[0], g->Ct[1], g->Ct[3]);
    le = eig_min2(e00, g->Ce[1] / (d[0] * d[1]), e11);
  }
  lx = fmax(lx, 0), le = fmax(le, 0);
  g->sig = lx + le > 0 ? sqrt(lx * le / (lx + le)) : 0;
  return CL_OK;
}

/* The weights W_a on the grid, a = 0 (the density of u), 1..K (times c_j),
 * K+1, K+2 (times the standardised xi_r), each times the cell area h0 h1:
 * the folded spectrum at the grid's frequencies, then a 2-d FFT per pair
 * (docs/grid.md s.2). */
static void weights(cl_grid *g, const level *l, const double *h) {
  const int n = l->p.n, K = g->K, nw = g->nw;
  const size_t n2 = (size_t)n * n;
  const double P0 = n * h[0], P1 = n * h[1];
  memset(g->z, 0, sizeof(double) * 2 * n2 * (size_t)g->nq);
  const double *Ct = g->Ct;
  for (int k0 = 0; k0 < n; k0++)
    for (int k1 = 0; k1 < n; k1++) {
      const int q0 = k0 < n / 2 ? k0 : k0 - n, q1 = k1 < n / 2 ? k1 : k1 - n;
      double vr[CL_KMAX + 3] = {0}, vi[CL_KMAX + 3] = {0};
      for (int a0 = -1; a0 <= 1; a0++) {
        if (g->dead[0] && a0) continue; /* a delta along a dead axis: no images */
        for (int a1 = -1; a1 <= 1; a1++) {
          if (g->dead[1] && a1) continue;
          const double w0 = 2 * M_PI * (q0 + a0 * n) / P0, w1 = 2 * M_PI * (q1 + a1 * n) / P1;
          const double e = 0.5 * (Ct[0] * w0 * w0 + 2 * Ct[1] * w0 * w1 + Ct[3] * w1 * w1);
          if (e > GRID_EXPMAX) continue;
          const double G = exp(-e);
          /* prefix products of the laws' transforms, then the leave-one-out ones */
          double pr[CL_KMAX + 1], pi[CL_KMAX + 1], cr[CL_KMAX], ci[CL_KMAX], fr[CL_KMAX], fi[CL_KMAX];
          pr[0] = G, pi[0] = 0;
          for (int j = 0; j < K; j++) {
            const double t = g->Rt[j * 2] * w0 + g->Rt[j * 2 + 1] * w1;
            cl_cf_law(&g->m.c[j], t, &fr[j], &fi[j], &cr[j], &ci[j]);
            pr[j + 1] = pr[j] * fr[j] - pi[j] * fi[j];
            pi[j + 1] = pr[j] * fi[j] + pi[j] * fr[j];
          }
          vr[0] += pr[K], vi[0] += pi[K];
          double sr = 1, si = 0; /* suffix product */
          for (int j = K - 1; j >= 0; j--) {
            /* pre_j chi_j suf_(j+1) */
            const double ar = pr[j] * cr[j] - pi[j] * ci[j], ai = pr[j] * ci[j] + pi[j] * cr[j];
            vr[1 + j] += ar * sr - ai * si, vi[1 + j] += ar * si + ai * sr;
            const double tr = sr * fr[j] - si * fi[j];
            si = sr * fi[j] + si * fr[j], sr = tr;
          }
          /* xi_r: i (Ct w)_r times the transform of the density */
          for (int r = 0; r < 2; r++) {
            const double c = Ct[r * 2] * w0 + Ct[r * 2 + 1] * w1;
            vr[K + 1 + r] += -c * pi[K], vi[K + 1 + r] += c * pr[K];
          }
        }
      }
      /* the grid starts at u = -n h / 2: the phase (-1)^(k0 + k1) */
      const double sg = ((k0 + k1) & 1) ? -1 : 1;
      const size_t ix = 2 * ((size_t)k0 * n + k1);
      for (int a = 0; a < nw; a++) {
        double *z = g->z + 2 * n2 * (size_t)(a / 2) + ix;
        if (a & 1) z[0] -= sg * vi[a], z[1] += sg * vr[a]; /* the odd weight as the imaginary part */
        else z[0] += sg * vr[a], z[1] += sg * vi[a];
      }
    }
  for (int q = 0; q < g->nq; q++) {
    double *z = g->z + 2 * n2 * (size_t)q;
    for (int r = 0; r < n; r++) gsl_fft_complex_forward(z + 2 * (size_t)r * n, 1, (size_t)n, l->wt, l->ws);
    for (int c = 0; c < n; c++) gsl_fft_complex_forward(z + 2 * (size_t)c, (size_t)n, (size_t)n, l->wt, l->ws);
  }
  const double sc = 1.0 / ((double)n * n);
  for (int a = 0; a < nw; a++) {
    const double *z = g->z + 2 * n2 * (size_t)(a / 2) + (a & 1);
    double *W = g->W + n2 * (size_t)a;
    for (size_t k = 0; k < n2; k++) W[k] = sc * z[2 * k];
  }
}

/* The four features of one unit at the m points h (sigma evaluated into ys, ds). */
static void features(const cl_grid *g, const double *h, double *y, double *d, int m) {
  cl_act_eval_vec(g->m.act, h, y, d, m);
}

/* 1-d tables along axis i at the nodes X = dX_i u_j: the means m_k, the
 * same-unit second moments mo_kl and ez_k = E[phi_k z] (eta_i = sd z). */
static void tables(cl_grid *g, const level *l, int i, const double *h) {
  const int n = l->p.n, ne = l->gh.n;
  const double sd = sqrt(g->Ce[i * 3]), *z = l->gh.x, *w = l->gh.w;
  double *tb = g->tab + (size_t)i * NTAB * n;
  for (int j = 0; j < n; j++) {
    const double X = g->dX[i] * (j - n / 2) * h[i];
    for (int p = 0; p < ne; p++) g->hs[p] = X + sd * z[p];
    features(g, g->hs, g->ys, g->ds, ne);
    double m[NK] = {0}, mo[NK * NK] = {0}, ez[NK] = {0};
    for (int p = 0; p < ne; p++) {
      const double y = g->ys[p], d = g->ds[p], ph[NK] = {d, y, d * y, y * y};
      for (int k = 0; k < NK; k++) {
        const double wp = w[p] * ph[k];
        m[k] += wp, ez[k] += wp * z[p];
        for (int q = k; q < NK; q++) mo[k * NK + q] += wp * ph[q];
      }
    }
    for (int k = 0; k < NK; k++) {
      tb[k * n + j] = m[k], tb[(NK + NK * NK + k) * n + j] = ez[k];
      for (int q = k; q < NK; q++) tb[(NK + k * NK + q) * n + j] = tb[(NK + q * NK + k) * n + j] = mo[k * NK + q];
    }
  }
}

/* The second moments of a feature of unit 0 and one of unit 1 on the 2-d
 * grid: with eta_0 = l00 z, eta_1 = l10 z + l11 z',
 * Mo_kq(X0, X1) = sum_p w_p phi_k(X0 + l00 z_p) E_z'[phi_q(X1 + l10 z_p + l11 z')]:
 * a sum of ne rank-1 products (docs/grid.md s.3).  cross[(k n + j0) 4n + q n + j1]. */
static void cross(cl_grid *g, const level *l, const double *h) {
  const int n = l->p.n, ne = l->gh.n, n4 = NK * n;
  const double *z = l->gh.x, *w = l->gh.w;
  const double l00 = sqrt(g->Ce[0]), l10 = l00 > 0 ? g->Ce[2] / l00 : 0;
  const double l11 = sqrt(fmax(g->Ce[3] - l10 * l10, 0));
  for (int j = 0; j < n; j++) {
    const double X0 = g->dX[0] * (j - n / 2) * h[0], X1 = g->dX[1] * (j - n / 2) * h[1];
    for (int p = 0; p < ne; p++) g->hs[p] = X0 + l00 * z[p];
    features(g, g->hs, g->ys, g->ds, ne);
    for (int p = 0; p < ne; p++) {
      const double y = g->ys[p], d = g->ds[p], ph[NK] = {d, y, d * y, y * y};
      for (int k = 0; k < NK; k++) g->A[((size_t)k * n + j) * ne + p] = w[p] * ph[k];
    }
    for (int p = 0; p < ne; p++)
      for (int q = 0; q < ne; q++) g->hs[p * ne + q] = X1 + l10 * z[p] + l11 * z[q];
    features(g, g->hs, g->ys, g->ds, ne * ne);
    for (int p = 0; p < ne; p++) {
      double b[NK] = {0};
      for (int q = 0; q < ne; q++) {
        const double y = g->ys[p * ne + q], d = g->ds[p * ne + q];
        b[0] += w[q] * d, b[1] += w[q] * y, b[2] += w[q] * d * y, b[3] += w[q] * y * y;
      }
      for (int k = 0; k < NK; k++) g->B[(size_t)p * n4 + (size_t)k * n + j] = b[k];
    }
  }
  /* cross = A B, summed in a fixed order (no BLAS: bit-identical whatever the threads) */
  for (int r = 0; r < n4; r++) {
    double *restrict c = g->cross + (size_t)r * n4;
    const double *a = g->A + (size_t)r * ne;
    memset(c, 0, sizeof(double) * (size_t)n4);
    for (int p = 0; p < ne; p++) {
      const double ap = a[p], *restrict b = g->B + (size_t)p * n4;
#pragma omp simd
      for (int k = 0; k < n4; k++) c[k] += ap * b[k];
    }
  }
}

static void eval_level(cl_grid *g, const level *l, const double *R, const double *Q, double *out) {
  const int n = l->p.n, K = g->K, n4 = NK * n;
  const size_t n2 = (size_t)n * n;
  /* the range from the laws' tails (docs/grid.md s.4), h_i = 2 L_i / n */
  double h[2];
  for (int i = 0; i < 2; i++) {
    double r[CL_KMAX];
    for (int j = 0; j < K; j++) r[j] = g->Rt[j * 2 + i];
    double L = cl_cf_range(g->m.c, g->tq, K, r, sqrt(g->Ct[i * 3]), l->p.E, NULL);
    L = fmax(L, 1.0);
    h[i] = 2 * L / n;
  }
  weights(g, l, h);
  tables(g, l, 0, h);
  tables(g, l, 1, h);
  cross(g, l, h);
  /* Ee_(f, r) = E[phi_f eta_r] = Ce_ri / sd_i E[phi_f z] for f on unit i */
  double beta[2][2];
  for (int i = 0; i < 2; i++) {
    const double sd = sqrt(g->Ce[i * 3]);
    for (int r = 0; r < 2; r++) beta[i][r] = sd > 0 ? g->Ce[r * 2 + i] / sd : 0;
  }
  memset(g->acc, 0, sizeof(double) * (size_t)g->t.nsum);
  const int F = g->t.F; /* 9: feature k of unit i is k * 2 + i, S2 = 8 */
  const double *t0 = g->tab, *t1 = g->tab + (size_t)NTAB * n;
  for (int j0 = 0; j0 < n; j0++)
    for (int j1 = 0; j1 < n; j1++) {
      const size_t ix = (size_t)j0 * n + j1;
      double w0 = g->W[ix], wc[CL_KMAX], wxi[2], wmu[2], wm = fabs(w0);
      for (int j = 0; j < K; j++) wc[j] = g->W[n2 * (size_t)(1 + j) + ix], wm = fmax(wm, fabs(wc[j]));
      for (int r = 0; r < 2; r++) wxi[r] = g->W[n2 * (size_t)(K + 1 + r) + ix], wm = fmax(wm, fabs(wxi[r]));
      if (wm < GRID_WMIN) continue;
      const double X[2] = {g->dX[0] * (j0 - n / 2) * h[0], g->dX[1] * (j1 - n / 2) * h[1]};
      for (int r = 0; r < 2; r++) wxi[r] *= g->dX[r], wmu[r] = X[r] * w0 - wxi[r];
      double mf[9], Mo[81], Ee[18];
      const int jj[2] = {j0, j1};
      const double *tb[2] = {t0, t1};
      for (int f = 0; f < 8; f++) {
        const int u = f & 1, k = f >> 1;
        mf[f] = tb[u][k * n + jj[u]];
        const double ez = tb[u][(NK + NK * NK + k) * n + jj[u]];
        Ee[f * 2] = beta[u][0] * ez, Ee[f * 2 + 1] = beta[u][1] * ez;
        for (int e = 0; e < 8; e++) {
          const int v = e & 1, q = e >> 1;
          Mo[f * F + e] = u == v ? tb[u][(NK + k * NK + q) * n + jj[u]]
                          : u == 0 ? g->cross[((size_t)k * n + j0) * n4 + (size_t)q * n + j1]
                                   : g->cross[((size_t)q * n + j0) * n4 + (size_t)k * n + j1];
        }
      }
      cl_acc_s2(2, mf, Mo, Ee);
      cl_acc_node(&g->t, mf, Mo, Ee, w0, wc, wxi, wmu, g->acc);
    }
  cl_acc_finish(&g->m, R, Q, g->Sp, g->acc, out);
}

static cl_status finish(const cl_grid *g, const double *o, double *dR, double *dQ, char *err) {
  const int KM = g->K * 2, nout = KM + 4;
  for (int k = 0; k < nout; k++) {
    if (!isfinite(o[k])) return cl_fail(err, CL_EDIVERGE, "the drift is not finite");
    if (k < KM) dR[k] = o[k];
    else dQ[k - KM] = o[k];
  }
  return CL_OK;
}

cl_status cl_grid_eval_level(cl_grid *g, int lev, const double *R, const double *Q, double *dR, double *dQ,
                             char *err) {
  cl_status st = prepare(g, R, Q, err);
  if (st) return st;
  double *o = g->out + (size_t)lev * (g->K * 2 + 4);
  eval_level(g, &g->lv[lev], R, Q, o);
  return finish(g, o, dR, dQ, err);
}

cl_status cl_grid_eval(cl_grid *g, const double *R, const double *Q, double *dR, double *dQ, double *ebar,
                       char *err) {
  cl_status st = prepare(g, R, Q, err);
  if (st) return st;
  const int nout = g->K * 2 + 4;
  double *o0 = g->out, *o1 = g->out + nout;
  eval_level(g, &g->lv[0], R, Q, o0);
  eval_level(g, &g->lv[1], R, Q, o1);
  g->emax = 0;
  for (int k = 0; k < nout; k++) g->emax = fmax(g->emax, fabs(o1[k] - o0[k]));
  if (ebar)
    for (int k = 0; k < nout; k++) ebar[k] = g->emax;
  return finish(g, o1, dR, dQ, err);
}
