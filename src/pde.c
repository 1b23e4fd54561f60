/* The McKean-Vlasov PDE (M = 1): finite volumes with Scharfetter-Gummel
 * fluxes, TR-BDF2 in time with an implicit-Euler fallback, growing grids.
 * See pde.h and docs/theory.md s.9. */
#include "cldyn/pde.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cldyn/data.h"
#include "cldyn/schedule.h"
#include "data_classes.h"

/* glibc's libmvec expm1 (2.35+), so that the flux loop vectorises (as
 * exp and tanh in act.c). */
#pragma omp declare simd notinbranch
double expm1(double);

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define CL_PDE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CL_PDE_CLONES
#endif

#define TRBDF2_G 0.58578643762690485 /* gamma = 2 - sqrt 2 */
#define EDGE_MASS 1e-11              /* grow a grid when its edge cells hold this much */
#define EDGE_HIT 1e-8                /* a step that left this much there hit the wall: redo it */

void cl_pde_opts_default(cl_pde_opts *o) {
  memset(o, 0, sizeof *o);
  o->cells = 2000;
  o->dt = 0.01;
  o->width = 8;
}

/* The coefficients of the PDE at one time. */
typedef struct {
  double a[CL_KMAX], bz, be, V, R[CL_KMAX];
} coef;

typedef struct {
  long lo;     /* the grid's left edge is lo * dw */
  size_t n, cap;
  double *p;   /* densities of the n cells */
  double *p0;  /* the density at the start of a step */
  double *ps;  /* the TR-BDF2 intermediate stage */
  double *pk;  /* the density at the start of a step that may be redone */
  int hitl, hitr; /* the last step left mass in the edge cells (left, right) */
} pclass;

struct cl_pde {
  cl_model m;
  cl_pde_opts o;
  cl_drift *drift;
  int K, ncls, axis;
  double *xi, *prob;
  pclass *cls;
  double dw, t;
  double tol; /* the step control's defect tolerance (PDE_DEFECT_TOL, times 8 for the coarse run) */
  double Rs[CL_KMAX], Rs0[CL_KMAX], Rsk[CL_KMAX]; /* axis: the spikes' R (now, step start, kept) */
  double beta1, beta2, diff_scale;               /* phi' = beta1 sign + beta2 w; D = diff_scale V */
  coef cur, prev;
  double h_prev;
  int have_prev;
  long steps, fallbacks, halvings, grows, refined, attempts, budget, calm, widened;
  int level, finest; /* 2^level steps per step of dt now, at most */
  size_t cells0;
  double *af, *ab, *cp, *rhs; /* scratch: interface coefficients, Thomas, right-hand side */
  size_t work_cap;
  struct step_log *log; /* not NULL: the accepted steps' lengths are appended to it */
};

/* The lengths of the steps a run accepted, in order, and at[k] how many it
 * had taken at output time k: the coarse run of the error estimate replays
 * them two at a time (docs/theory.md s.9). */
typedef struct step_log {
  double *h;
  size_t n, cap;
  size_t *at;
} step_log;

static cl_status log_step(step_log *l, double h, char *err) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 256;
    double *b = realloc(l->h, sizeof(double) * cap);
    if (!b) return cl_fail(err, CL_ENOMEM, "out of memory for the step log");
    l->h = b, l->cap = cap;
  }
  l->h[l->n++] = h;
  return CL_OK;
}

static cl_status grow_work(cl_pde *p, size_t n, char *err) {
  if (n <= p->work_cap) return CL_OK;
  size_t cap = n + n / 2;
  double *b[4];
  double **old[4] = {&p->af, &p->ab, &p->cp, &p->rhs};
  for (int k = 0; k < 4; k++) {
    b[k] = realloc(*old[k], sizeof(double) * cap);
    if (!b[k]) return cl_fail(err, CL_ENOMEM, "out of memory for %zu cells", n);
    *old[k] = b[k];
  }
  p->work_cap = cap;
  return CL_OK;
}

static cl_status class_reserve(pclass *c, size_t cap, char *err) {
  if (cap <= c->cap) return CL_OK;
  double **arr[4] = {&c->p, &c->p0, &c->ps, &c->pk};
  for (int k = 0; k < 4; k++) {
    double *b = realloc(*arr[k], sizeof(double) * cap);
    if (!b) return cl_fail(err, CL_ENOMEM, "out of memory for %zu cells", cap);
    *arr[k] = b;
  }
  c->cap = cap;
  return CL_OK;
}

void cl_pde_free(cl_pde *p) {
  if (!p) return;
  for (int c = 0; c < p->ncls && p->cls; c++) free(p->cls[c].p), free(p->cls[c].p0), free(p->cls[c].ps), free(p->cls[c].pk);
  free(p->cls);
  free(p->xi);
  free(p->prob);
  free(p->af), free(p->ab), free(p->cp), free(p->rhs);
  cl_drift_free(p->drift);
  free(p);
}

/* The first two moments of class c's density (midpoint rule). */
static void class_moments(const cl_pde *p, int c, double *m1, double *m2) {
  const pclass *g = &p->cls[c];
  double s1 = 0, s2 = 0, dw = p->dw;
  for (size_t i = 0; i < g->n; i++) {
    double w = ((double)g->lo + (double)i + 0.5) * dw;
    s1 += w * g->p[i], s2 += w * w * g->p[i];
  }
  *m1 = s1 * dw, *m2 = s2 * dw;
}

void cl_pde_order(const cl_pde *p, double *R, double *Q) {
  int K = p->K;
  double q = 0;
  for (int j = 0; j < K; j++) R[j] = p->axis ? p->Rs[j] : 0;
  if (p->axis)
    for (int j = 0; j < K; j++) q += p->Rs[j] * p->Rs[j];
  for (int c = 0; c < p->ncls; c++) {
    double m1, m2;
    class_moments(p, c, &m1, &m2);
    q += p->prob[c] * m2;
    if (!p->axis)
      for (int j = 0; j < K; j++) R[j] += p->prob[c] * p->xi[c * K + j] * m1;
  }
  *Q = q;
}

double cl_pde_mass(const cl_pde *p) {
  double mass = 0;
  for (int c = 0; c < p->ncls; c++) {
    double s = 0;
    for (size_t i = 0; i < p->cls[c].n; i++) s += p->cls[c].p[i];
    mass += p->prob[c] * s * p->dw;
  }
  return mass;
}

static cl_status diverged(const cl_pde *p, char *err, const char *what) {
  double R[CL_KMAX], Q;
  cl_pde_order(p, R, &Q);
  return cl_fail(err, CL_EDIVERGE,
                 "%s at t = %g (Q_1_1 = %g, R_1_1 = %g) with tau = %g, s = %g, rho = %g, B = %d; "
                 "lower tau or the time step dt",
                 what, p->t, Q, R[0], p->m.tau, p->m.s, p->m.rho, p->m.B);
}

/* The coefficients at the current density. */
static cl_status eval_coef(cl_pde *p, coef *cf, char *err) {
  double Q;
  cl_m1_terms tm;
  cl_pde_order(p, cf->R, &Q);
  int ok = isfinite(Q) && Q < 1e100;
  for (int j = 0; j < p->K; j++) ok &= isfinite(cf->R[j]);
  if (!ok) return diverged(p, err, "non-finite state");
  char e2[CL_ERRLEN];
  if (cl_drift_m1_terms(p->drift, cf->R, Q, &tm, e2)) /* e.g. the sd guard (docs/hardening.md s.15) */
    return cl_fail(err, CL_EDIVERGE, "at t = %g: %s (tau = %g, s = %g, rho = %g, B = %d)", p->t, e2, p->m.tau,
                   p->m.s, p->m.rho, p->m.B);
  ok = isfinite(tm.b_z) && isfinite(tm.b_e) && isfinite(tm.V) && tm.V >= 0;
  for (int j = 0; j < p->K; j++) cf->a[j] = tm.a[j], ok &= isfinite(tm.a[j]);
  cf->bz = tm.b_z, cf->be = tm.b_e, cf->V = tm.V;
  return ok ? CL_OK : diverged(p, err, "non-finite drift");
}

/* cur + x (cur - prev) / h_prev: the coefficients extrapolated by time x. */
/* out = base + r (to - from), componentwise (V kept >= 0). */
static void coef_line(int K, const coef *base, const coef *from, const coef *to, double r, coef *out) {
  *out = *base;
  for (int j = 0; j < K; j++) {
    out->a[j] += r * (to->a[j] - from->a[j]);
    out->R[j] += r * (to->R[j] - from->R[j]);
  }
  out->bz += r * (to->bz - from->bz);
  out->be += r * (to->be - from->be);
  out->V = fmax(0, out->V + r * (to->V - from->V));
}

static void extrapolate(const cl_pde *p, double x, coef *out) {
  if (!p->have_prev || x == 0) *out = p->cur;
  else coef_line(p->K, &p->cur, &p->prev, &p->cur, x / p->h_prev, out);
}

/* Interface coefficients of class c under cf: the flux through the
 * interface between cells i and i+1, divided by dw, is af[i] p[i] -
 * ab[i] p[i+1]; af = (D/dw^2) B(-Pe), ab = (D/dw^2) B(Pe), Pe = mu dw / D,
 * B(x) = x / (e^x - 1) (Bernoulli), computed as x / expm1(x), which is
 * accurate for small |x| and has the right limits (0 and -x) for large
 * |x|; 1e-200 is added so that x = 0 (mu = 0 at an interface) gives 1.
 * One segment of interfaces with a constant sign of w, vectorised with
 * libmvec's expm1 (measured here: the flux loop went from 43% to a few % of
 * a PDE run). */
CL_PDE_CLONES static void flux_seg(double base, int a, int b, double dw, double A, double Bl,
                                   double k, double r, double *restrict af, double *restrict ab) {
#pragma omp simd
  for (int i = a; i < b; i++) {
    double w = (base + (double)i) * dw;
    double x = (A + Bl * w) * r + 1e-200;
    double bx = x / expm1(x);
    ab[i] = k * bx;
    af[i] = k * (bx + x); /* B(-x) = B(x) + x */
  }
}

/* All interfaces of a grid: mu(w) = A + Bl w - tb2 w - tb1 sign(w); D = 0
 * gives plain upwinding. */
static void fluxes(long lo, size_t n, double dw, double A, double Bl, double D, double tb1,
                   double tb2, double *af, double *ab) {
  if (n < 2) return;
  int ni = (int)(n - 1);
  if (!(D > 0)) {
    for (int i = 0; i < ni; i++) {
      double w = (double)(lo + i + 1) * dw;
      double mu = A + (Bl - tb2) * w - (w > 0 ? tb1 : w < 0 ? -tb1 : 0);
      af[i] = fmax(mu, 0) / dw, ab[i] = fmax(-mu, 0) / dw;
    }
    return;
  }
  /* interface i sits at w = (lo + 1 + i) dw: negative for i < z, 0 at z */
  long z = -(lo + 1);
  int zneg = z < 0 ? 0 : z > ni ? ni : (int)z;
  int zpos = z + 1 < 0 ? 0 : z + 1 > ni ? ni : (int)(z + 1);
  double k = D / (dw * dw), r = dw / D, base = (double)(lo + 1), Be = Bl - tb2;
  flux_seg(base, 0, zneg, dw, A + tb1, Be, k, r, af, ab);
  flux_seg(base, zneg, zpos, dw, A, Be, k, r, af, ab);
  flux_seg(base, zpos, ni, dw, A - tb1, Be, k, r, af, ab);
}

/* Solve (I - c L) x = b, L the operator with interface coefficients af, ab
 * (zero flux at both ends), by the Thomas algorithm; cp is scratch. */
static void solve_tri(size_t n, double c, const double *restrict af, const double *restrict ab,
                      const double *restrict b, double *restrict x, double *restrict cp) {
  /* row i: -c af[i-1] x[i-1] + (1 + c (ab[i-1] + af[i])) x[i] - c ab[i] x[i+1] = b[i] */
  if (n == 1) {
    x[0] = b[0];
    return;
  }
  double r = 1 / (1 + c * af[0]);
  cp[0] = -c * ab[0] * r;
  x[0] = b[0] * r;
  for (size_t i = 1; i + 1 < n; i++) {
    double lower = -c * af[i - 1];
    r = 1 / (1 + c * (ab[i - 1] + af[i]) - lower * cp[i - 1]);
    cp[i] = -c * ab[i] * r;
    x[i] = (b[i] - lower * x[i - 1]) * r;
  }
  double lower = -c * af[n - 2];
  x[n - 1] = (b[n - 1] - lower * x[n - 2]) / (1 + c * ab[n - 2] - lower * cp[n - 2]);
  for (size_t i = n - 1; i-- > 0;) x[i] -= cp[i] * x[i + 1];
}

/* y = x + c L x. */
static void apply_op(size_t n, double c, const double *af, const double *ab, const double *x,
                     double *y) {
  for (size_t i = 0; i < n; i++) {
    double in = 0, out = 0;
    if (i > 0) in += af[i - 1] * x[i - 1], out += ab[i - 1] * x[i];
    if (i + 1 < n) in += ab[i] * x[i + 1], out += af[i] * x[i];
    y[i] = x[i] + c * (in - out);
  }
}

static void class_fluxes(cl_pde *p, int c, const coef *cf) {
  const pclass *g = &p->cls[c];
  double tau = p->m.tau, A = 0;
  for (int j = 0; j < p->K; j++) {
    double x = p->xi[c * p->K + j];
    A += x * (cf->a[j] - cf->bz * cf->R[j]);
  }
  fluxes(g->lo, g->n, p->dw, tau * A, tau * (cf->bz + cf->be), p->diff_scale * cf->V,
         tau * p->beta1, tau * p->beta2, p->af, p->ab);
}

static int nonneg(const double *x, size_t n) {
  int ok = 1;
  for (size_t i = 0; i < n; i++) ok &= x[i] >= 0;
  return ok;
}

/* One step of length h from the state in p/Rs (saved into p0/Rs0).  With
 * `ie`, implicit Euler; otherwise TR-BDF2.  Returns 1 if every density
 * stayed non-negative.  c0/cg/c1: the coefficients at t, t + gamma h, t + h. */
static int step(cl_pde *p, double h, const coef *c0, const coef *cg, const coef *c1, int ie) {
  const double g = TRBDF2_G, d = (1 - g) / (2 - g), w1 = 1 / (g * (2 - g)),
               w0 = (1 - g) * (1 - g) / (g * (2 - g));
  int ok = 1;
  for (int c = 0; c < p->ncls; c++) {
    pclass *cl = &p->cls[c];
    size_t n = cl->n;
    if (ie) {
      class_fluxes(p, c, c1);
      solve_tri(n, h, p->af, p->ab, cl->p0, cl->p, p->cp);
      ok &= nonneg(cl->p, n);
      continue;
    }
    class_fluxes(p, c, c0);
    apply_op(n, 0.5 * g * h, p->af, p->ab, cl->p0, p->rhs);
    class_fluxes(p, c, cg);
    solve_tri(n, 0.5 * g * h, p->af, p->ab, p->rhs, cl->ps, p->cp);
    for (size_t i = 0; i < n; i++) p->rhs[i] = w1 * cl->ps[i] - w0 * cl->p0[i];
    class_fluxes(p, c, c1);
    solve_tri(n, d * h, p->af, p->ab, p->rhs, cl->p, p->cp);
    ok &= nonneg(cl->ps, n) && nonneg(cl->p, n);
  }
  if (p->axis) {
    /* dR_j/dt = tau (a_j + (b_e - beta2) R_j), the same stages */
    double tau = p->m.tau, b2 = p->beta2;
    for (int j = 0; j < p->K; j++) {
      double y0 = p->Rs0[j];
      if (ie) {
        p->Rs[j] = (y0 + h * tau * c1->a[j]) / (1 - h * tau * (c1->be - b2));
        continue;
      }
      double f0 = tau * (c0->a[j] + (c0->be - b2) * y0);
      double ys = (y0 + 0.5 * g * h * (f0 + tau * cg->a[j])) / (1 - 0.5 * g * h * tau * (cg->be - b2));
      p->Rs[j] = (w1 * ys - w0 * y0 + d * h * tau * c1->a[j]) / (1 - d * h * tau * (c1->be - b2));
    }
  }
  return ok;
}

static void save_start(cl_pde *p) {
  for (int c = 0; c < p->ncls; c++) memcpy(p->cls[c].p0, p->cls[c].p, sizeof(double) * p->cls[c].n);
  memcpy(p->Rs0, p->Rs, sizeof p->Rs);
}

/* The mass in the outer 2% (at least 8) of the cells of each end of a grid. */
static void edge_mass(const pclass *g, double dw, double *ml, double *mr) {
  size_t n = g->n, edge = n / 50 > 8 ? n / 50 : 8;
  if (edge > n / 2) edge = n / 2;
  double l = 0, r = 0;
  for (size_t i = 0; i < edge; i++) l += g->p[i], r += g->p[n - 1 - i];
  *ml = l * dw, *mr = r * dw;
}

/* Add addl zero cells on the left of class c's grid and addr on the right. */
static cl_status grow_class(cl_pde *p, pclass *g, size_t addl, size_t addr, char *err) {
  size_t n = g->n;
  if (n + addl + addr > 200 * p->cells0 + 1000) return diverged(p, err, "density spread beyond 200 times its initial grid");
  cl_status st = class_reserve(g, n + addl + addr, err);
  if (!st) st = grow_work(p, n + addl + addr, err);
  if (st) return st;
  memmove(g->p + addl, g->p, sizeof(double) * n);
  memset(g->p, 0, sizeof(double) * addl);
  memset(g->p + addl + n, 0, sizeof(double) * addr);
  g->lo -= (long)addl;
  g->n = n + addl + addr;
  p->grows++;
  return CL_OK;
}

/* Extend by a quarter the grids whose edge cells hold mass, on that side. */
static cl_status maybe_grow(cl_pde *p, char *err) {
  for (int c = 0; c < p->ncls; c++) {
    pclass *g = &p->cls[c];
    double ml, mr;
    edge_mass(g, p->dw, &ml, &mr);
    if (!(ml > EDGE_MASS) && !(mr > EDGE_MASS)) continue;
    size_t add = g->n / 4 > 16 ? g->n / 4 : 16;
    cl_status st = grow_class(p, g, ml > EDGE_MASS ? add : 0, mr > EDGE_MASS ? add : 0, err);
    if (st) return st;
  }
  return CL_OK;
}

static void restore_start(cl_pde *p) {
  for (int c = 0; c < p->ncls; c++) memcpy(p->cls[c].p, p->cls[c].p0, sizeof(double) * p->cls[c].n);
  memcpy(p->Rs, p->Rs0, sizeof p->Rs);
}

/* From the state at t + off, a TR-BDF2 step of length h with extrapolated
 * coefficients.  If a density would turn negative, the step is redone as
 * two halves (second order is kept), down to h / 8, where implicit Euler
 * (non-negative unconditionally) takes over. */
static void try_step(cl_pde *p, double off, double h, int depth) {
  coef c0, cg, c1;
  save_start(p);
  extrapolate(p, off, &c0);
  extrapolate(p, off + TRBDF2_G * h, &cg);
  extrapolate(p, off + h, &c1);
  if (step(p, h, &c0, &cg, &c1, 0)) return;
  if (depth >= 3) {
    p->fallbacks++;
    step(p, h, &c0, &cg, &c1, 1);
    return;
  }
  p->halvings++;
  restore_start(p);
  try_step(p, off, 0.5 * h, depth + 1);
  try_step(p, off + 0.5 * h, 0.5 * h, depth + 1);
}

/* How far the coefficients used for the step's end (c1, extrapolated) were
 * from those of the density it produced (next), as the relative error this
 * makes over the step h: the drift's error moves mass by h |d mu| (relative
 * to sd = sqrt Q), the diffusion's changes the variance by 2 h |d D| (relative
 * to Q).  xi's entries are at most 1 in magnitude.  docs/hardening.md s.11. */
static double coef_defect(const cl_pde *p, double h, const coef *c1, const coef *next) {
  double Q, R[CL_KMAX], tau = p->m.tau;
  cl_pde_order(p, R, &Q);
  double sd = sqrt(Q), da = 0;
  for (int j = 0; j < p->K; j++)
    da += fabs(next->a[j] - c1->a[j]) + fabs(next->bz * next->R[j] - c1->bz * c1->R[j]) +
          fabs(next->be - c1->be) * fabs(next->R[j]);
  double dmu = tau * (da + (fabs(next->bz - c1->bz) + fabs(next->be - c1->be)) * sd);
  double dD = p->diff_scale * fabs(next->V - c1->V);
  return h * dmu / sd + 2 * h * dD / Q;
}

/* Step control (docs/hardening.md s.11).  A step whose coefficient defect
 * exceeds PDE_DEFECT_TOL is redone as two halves; the run then goes on at
 * that level (2^level steps per step of dt, aligned on the dt grid, so the
 * output times are hit exactly) and returns one level up after
 * PDE_COARSEN steps in a row whose defect is below PDE_DEFECT_TOL / 16.  A
 * step below PDE_HMIN_REL max(1, t) or more than PDE_BUDGET steps per step of
 * dt on average (plus PDE_BUDGET0) stops the run. */
#define PDE_DEFECT_TOL 1e-3
#define PDE_COARSEN 4
#define PDE_HMIN_REL 1e-9
#define PDE_BUDGET 100
#define PDE_BUDGET0 10000

static void keep_start(cl_pde *p) {
  for (int c = 0; c < p->ncls; c++) memcpy(p->cls[c].pk, p->cls[c].p, sizeof(double) * p->cls[c].n);
  memcpy(p->Rsk, p->Rs, sizeof p->Rs);
}

static void back_to_start(cl_pde *p) {
  for (int c = 0; c < p->ncls; c++) memcpy(p->cls[c].p, p->cls[c].pk, sizeof(double) * p->cls[c].n);
  memcpy(p->Rs, p->Rsk, sizeof p->Rs);
}

/* One step of length h, kept when its defect is within the tolerance
 * (*defect; INFINITY when the new state has no computable coefficients, in
 * which case err holds why), else undone. */
static cl_status attempt(cl_pde *p, double h, double *defect, char *err) {
  cl_status st;
  coef c1;
  keep_start(p);
again:
  save_start(p);
  if (!p->have_prev) {
    /* first step: predict with frozen coefficients, then correct with the
     * coefficients interpolated between t and t + h */
    int ok = step(p, h, &p->cur, &p->cur, &p->cur, 0);
    if (!ok) step(p, h, &p->cur, &p->cur, &p->cur, 1);
    coef end;
    if ((st = eval_coef(p, &end, err))) {
      *defect = INFINITY;
      back_to_start(p);
      return CL_OK;
    }
    /* the coefficients at t + gamma h, interpolated between t and t + h */
    coef mid;
    coef_line(p->K, &p->cur, &p->cur, &end, TRBDF2_G, &mid);
    if (!step(p, h, &p->cur, &mid, &end, 0)) p->fallbacks++, step(p, h, &p->cur, &mid, &end, 1);
    c1 = end;
  } else {
    extrapolate(p, h, &c1);
    try_step(p, 0, h, 0);
  }
  p->attempts++;
  /* mass that reached the edge cells within the step was held back by the
   * grid's zero-flux end (spread faster than the grid grows): widen the grid
   * of the start by a half on that side and redo the step */
  int hit = 0;
  for (int c = 0; c < p->ncls; c++) {
    pclass *g = &p->cls[c];
    double ml, mr;
    edge_mass(g, p->dw, &ml, &mr);
    g->hitl = ml > EDGE_HIT, g->hitr = mr > EDGE_HIT;
    hit |= g->hitl | g->hitr;
  }
  if (hit) {
    back_to_start(p);
    for (int c = 0; c < p->ncls; c++) {
      pclass *g = &p->cls[c];
      size_t add = g->n / 2 > 16 ? g->n / 2 : 16;
      if (!(g->hitl | g->hitr)) continue;
      if ((st = grow_class(p, g, g->hitl ? add : 0, g->hitr ? add : 0, err))) return st;
      p->widened++;
    }
    keep_start(p);
    goto again;
  }
  coef next;
  *defect = eval_coef(p, &next, err) ? INFINITY : coef_defect(p, h, &c1, &next);
  if (!(*defect <= p->tol) || isinf(*defect)) {
    back_to_start(p);
    return CL_OK;
  }
  p->t += h;
  p->steps++;
  if (p->log && (st = log_step(p->log, h, err))) return st;
  if ((st = maybe_grow(p, err))) return st;
  p->prev = p->cur, p->cur = next, p->h_prev = h, p->have_prev = 1;
  return CL_OK;
}

/* One attempt at a step of h, the written run's (cover) or a coarse run's
 * (replay_step).  Kept when *defect <= p->tol; else undone and counted in
 * p->refined, the caller redoing it as two halves (the coefficients changed
 * faster than the step could follow: tau large against 1 / dt, a fast
 * transient, or a doubled step), unless a half would fall below
 * PDE_HMIN_REL max(1, t): then CL_EDIVERGE. */
static cl_status step_or_halve(cl_pde *p, double h, double *defect, char *err) {
  char e2[CL_ERRLEN] = "";
  cl_status st = attempt(p, h, defect, e2);
  if (st) return cl_fail(err, st, "%s", e2);
  if (*defect <= p->tol) return CL_OK;
  p->refined++;
  if (0.5 * h < PDE_HMIN_REL * fmax(1, p->t)) {
    if (!isfinite(*defect) && e2[0]) return cl_fail(err, CL_EDIVERGE, "%s", e2);
    return diverged(p, err, "the step fell below 1e-9 max(1, t) (the coefficients change faster than it can follow)");
  }
  return CL_OK;
}

/* Cover a span h that starts on the dyadic grid of level `lev` (a step of
 * dt is level 0). */
static cl_status cover(cl_pde *p, double h, int lev, char *err) {
  if (lev < p->level) {
    cl_status st = cover(p, 0.5 * h, lev + 1, err);
    return st ? st : cover(p, 0.5 * h, lev + 1, err);
  }
  if (p->attempts > p->budget)
    return diverged(p, err, "step budget exceeded (the run needs steps far below dt: more than 100 per step of dt)");
  double defect;
  cl_status st = step_or_halve(p, h, &defect, err);
  if (st) return st;
  if (defect <= p->tol) {
    p->calm = defect <= p->tol / 16 ? p->calm + 1 : 0;
    if (p->calm >= PDE_COARSEN && p->level > 0) p->level--, p->calm = 0;
    return CL_OK;
  }
  p->calm = 0;
  p->level = lev + 1;
  if (p->level > p->finest) p->finest = p->level;
  st = cover(p, 0.5 * h, lev + 1, err);
  return st ? st : cover(p, 0.5 * h, lev + 1, err);
}

/* A class whose density is narrower than two cells sits on one or two cells
 * of the lattice: its mean is known to dw / 2 and its second moment to
 * dw^2 / 4 (the floor of a density on the two cells beside w = 0).  Stop
 * when these errors reach 1e-3 relative in Q or in R (scale sqrt Q).
 * docs/hardening.md s.11. */
static cl_status check_resolution(cl_pde *p, char *err) {
  double R[CL_KMAX], Q, bound = 0, dw = p->dw;
  cl_pde_order(p, R, &Q);
  for (int c = 0; c < p->ncls; c++) {
    double m1, m2, x1 = 0;
    class_moments(p, c, &m1, &m2);
    if (m2 - m1 * m1 >= 4 * dw * dw) continue;
    for (int j = 0; j < p->K; j++) x1 += fabs(p->xi[c * p->K + j]);
    bound += p->prob[c] * (0.25 * dw * dw / Q + 0.5 * dw * x1 / sqrt(Q));
  }
  if (!(bound > 1e-3)) return CL_OK;
  return cl_fail(err, CL_EDIVERGE,
                 "the density narrowed below two cells (dw = %.3g) at t = %g (Q_1_1 = %g, R_1_1 = %g): "
                 "R and Q are only known to %.1e relative; use more cells or a shorter T "
                 "(tau = %g, s = %g, rho = %g, B = %d)",
                 dw, p->t, Q, R[0], bound, p->m.tau, p->m.s, p->m.rho, p->m.B);
}

cl_status cl_pde_advance(cl_pde *p, double t, char *err) {
  double t0 = p->t, span = t - t0;
  if (!(span > 0)) return CL_OK;
  long n = (long)ceil(span / p->o.dt - 1e-9);
  if (n < 1) n = 1;
  double h = span / (double)n;
  p->budget += PDE_BUDGET * n;
  for (long k = 0; k < n; k++) {
    cl_status st = cover(p, h, 0, err);
    if (st) return st;
  }
  p->t = t;
  return check_resolution(p, err);
}

/* The coarse run: one step of h, redone as two halves (recursively) only
 * where its defect is over p->tol, 8 times the written run's tolerance: the
 * written run's control chose its steps, and doubled they should miss by
 * at most 8 times as much; where they do not (counted in p->refined), the
 * coarse run takes the written run's own steps there and the estimate can
 * miss (docs/theory.md s.9). */
static cl_status replay_step(cl_pde *p, double h, char *err) {
  double defect;
  cl_status st = step_or_halve(p, h, &defect, err);
  if (st || defect <= p->tol) return st;
  st = replay_step(p, 0.5 * h, err);
  return st ? st : replay_step(p, 0.5 * h, err);
}

/* From the coarse run's time to t, the n steps h of the written run merged
 * two at a time (the last three into one when n is odd and above 1). */
static cl_status replay(cl_pde *p, const double *h, size_t n, double t, char *err) {
  for (size_t i = 0; i < n;) {
    size_t take = n - i == 3 || n - i == 1 ? n - i : 2;
    double len = 0;
    for (size_t j = 0; j < take; j++) len += h[i + j];
    i += take;
    if (i == n) len = t - p->t; /* land on the output time exactly */
    cl_status st = replay_step(p, len, err);
    if (st) return st;
  }
  p->t = t;
  return check_resolution(p, err);
}

/* cl_pde_alloc with mul times the cell width that o's cells give and
 * mul times its dt: mul = 2 for the coarse run of the error estimate, which
 * replays the written run's steps two at a time and splits one only where
 * its defect is over mul^3 times the tolerance (a step's defect grows like
 * h^3; docs/theory.md s.9). */
static cl_status pde_alloc(const cl_model *m, const cl_pde_opts *o, double mul, cl_pde **out, char *err) {
  *out = NULL;
  if (m->M != 1) return cl_fail(err, CL_EINVAL, "M: the PDE is implemented for M = 1");
  cl_pde_opts oo;
  cl_pde_opts_default(&oo);
  if (o) {
    if (o->cells > 0) oo.cells = o->cells;
    if (o->dt > 0) oo.dt = o->dt;
    if (o->width > 0) oo.width = o->width;
    oo.quad = o->quad;
  }
  oo.dt *= mul;
  int K = m->K;
  double r2 = 0;
  for (int j = 0; j < K; j++) r2 += m->R0[j] * m->R0[j];
  double var = m->Q0[0] - r2;
  if (!(var > 0))
    return cl_fail(err, CL_EINVAL, "Q0: the PDE needs Q0 > |R0|^2 (a density; got Q0 = %g, |R0|^2 = %g)",
                   m->Q0[0], r2);
  cl_pde *p = calloc(1, sizeof *p);
  if (!p) return cl_fail(err, CL_ENOMEM, "out of memory");
  p->m = *m, p->o = oo, p->K = K;
  p->budget = PDE_BUDGET0;
  p->axis = m->features == CL_FEAT_AXIS;
  p->beta1 = m->reg.kind == CL_REG_L1 || m->reg.kind == CL_REG_ELASTIC ? m->reg.beta1 : 0;
  p->beta2 = m->reg.kind == CL_REG_L2 || m->reg.kind == CL_REG_ELASTIC ? m->reg.beta2 : 0;
  p->diff_scale = m->tau * m->tau / (2.0 * m->B);
  /* the engine's a, b, V do not depend on phi: give it the model without */
  cl_model md = *m;
  md.reg.kind = CL_REG_NONE, md.reg.beta1 = md.reg.beta2 = 0;
  cl_status st = cl_drift_alloc(&md, &oo.quad, &p->drift, err);
  if (st) return cl_pde_free(p), st;
  int nc;
  if ((st = cl_data_classes_capped(m, "c", "the PDE's", &nc, err))) return cl_pde_free(p), st;
  p->xi = malloc(sizeof(double) * (size_t)(nc * K));
  p->prob = malloc(sizeof(double) * (size_t)nc);
  p->cls = calloc((size_t)nc, sizeof *p->cls);
  if (!p->xi || !p->prob || !p->cls) return cl_pde_free(p), cl_fail(err, CL_ENOMEM, "out of memory");
  p->ncls = nc;
  cl_data_feature_classes(m, p->xi, p->prob);
  double sd = sqrt(var), W = oo.width * sd;
  p->dw = mul * 2 * W / oo.cells;
  p->cells0 = (size_t)ceil(oo.cells / mul);
  p->tol = PDE_DEFECT_TOL * mul * mul * mul;
  st = CL_OK;
  for (int c = 0; c < nc && !st; c++) {
    double mean = 0;
    if (p->axis) mean = 0;
    else
      for (int j = 0; j < K; j++) mean += p->xi[c * K + j] * m->R0[j];
    pclass *g = &p->cls[c];
    g->lo = (long)floor((mean - W) / p->dw);
    long hi = (long)ceil((mean + W) / p->dw);
    g->n = (size_t)(hi - g->lo);
    if ((st = class_reserve(g, g->n, err)) || (st = grow_work(p, g->n, err))) break;
    /* the Gaussian density at the cell centres, normalised to mass 1: the
     * midpoint rule then gives R0 and Q0 to rounding */
    double sum = 0;
    for (size_t i = 0; i < g->n; i++) {
      double w = ((double)g->lo + (double)i + 0.5) * p->dw, z = (w - mean) / sd;
      sum += g->p[i] = exp(-0.5 * z * z);
    }
    for (size_t i = 0; i < g->n; i++) g->p[i] /= sum * p->dw;
  }
  if (!st && p->axis)
    for (int j = 0; j < K; j++) p->Rs[j] = m->R0[j];
  if (!st) st = eval_coef(p, &p->cur, err);
  if (st) return cl_pde_free(p), st;
  *out = p;
  return CL_OK;
}

cl_status cl_pde_alloc(const cl_model *m, const cl_pde_opts *o, cl_pde **out, char *err) {
  return pde_alloc(m, o, 1, out, err);
}

double cl_pde_time(const cl_pde *p) { return p->t; }
int cl_pde_nclass(const cl_pde *p) { return p->ncls; }
const double *cl_pde_class_xi(const cl_pde *p, int c) { return p->xi + c * p->K; }
double cl_pde_class_prob(const cl_pde *p, int c) { return p->prob[c]; }

size_t cl_pde_class_grid(const cl_pde *p, int c, double *w0, double *dw, const double **dens) {
  const pclass *g = &p->cls[c];
  *w0 = (double)g->lo * p->dw, *dw = p->dw, *dens = g->p;
  return g->n;
}

void cl_pde_stats(const cl_pde *p, long *steps, long *halvings, long *fallbacks, long *grows,
                  long *cells) {
  long n = 0;
  for (int c = 0; c < p->ncls; c++) n += (long)p->cls[c].n;
  *steps = p->steps, *halvings = p->halvings, *fallbacks = p->fallbacks, *grows = p->grows, *cells = n;
}

void cl_pde_write_density_header(FILE *f, int K) {
  fputs("t", f);
  if (K == 1) fputs(",xi", f);
  else
    for (int j = 0; j < K; j++) fprintf(f, ",xi_%d", j + 1);
  fputs(",w,p\n", f);
}

cl_status cl_pde_write_density(const cl_pde *p, FILE *f) {
  for (int c = 0; c < p->ncls; c++) {
    char head[64 + 24 * CL_KMAX];
    int off = snprintf(head, sizeof head, "%.10g", p->t);
    for (int j = 0; j < p->K; j++) off += snprintf(head + off, sizeof head - (size_t)off, ",%.10g", p->xi[c * p->K + j]);
    const pclass *g = &p->cls[c];
    for (size_t i = 0; i < g->n; i++)
      if (fprintf(f, "%s,%.10g,%.9g\n", head, ((double)g->lo + (double)i + 0.5) * p->dw, g->p[i]) < 0) return CL_EIO;
  }
  return ferror(f) ? CL_EIO : CL_OK;
}

/* The progress of one run, mapped to [p0, p1] of the whole call. */
typedef struct {
  const cl_pde_opts *o;
  double p0, p1;
} run_progress;

static void progress_at(const run_progress *rp, double frac) {
  if (rp->o->progress) rp->o->progress(rp->o->progress_ctx, rp->p0 + (rp->p1 - rp->p0) * frac);
}

/* What a run reports besides its table: the largest |mass - 1| over the
 * output times and the steps redone as halves (the written run's step
 * control, or the coarse runs' doubled steps that had to be split). */
typedef struct {
  double mass_err;
  long refined;
} run_out;

/* Integrate over the schedule's output grid, mul as in pde_alloc; the
 * counters into info and the drift's method into dmeth (CL_INFOLEN bytes
 * each) when info is not NULL, the figures of run_out into *ro when it is
 * not NULL.  A run logs its steps into `lout` (not NULL); the written run
 * (mul = 1) takes its own, a coarse run (mul = 2 or 4) replays those of
 * `in` (the run with half its mul) two at a time:
 * a span of n of them it crosses in n / 2 steps twice as long for an even
 * n, but for an odd n it would have to take one of them as it is, or three
 * as one (3 times as long), so after an odd n below 5 it does not stop at
 * that output time but goes on to the next (that row stays NaN, not
 * compared; such rows are at most 3 steps apart). */
static cl_status pde_run(const cl_model *m, const cl_schedule *s, const cl_pde_opts *o, double mul,
                         const run_progress *rp, cl_traj **out, cl_pde_observer obs, void *ctx, char *info,
                         char *dmeth, run_out *ro, const step_log *in, step_log *lout, char *err) {
  cl_pde *p;
  cl_status st = pde_alloc(m, o, mul, &p, err);
  if (st) return st;
  size_t nt = cl_schedule_nt(s);
  cl_traj *tr;
  cl_traj_alloc(m->K, 1, nt, 1, &tr, NULL);
  if (!tr) {
    cl_pde_free(p);
    return cl_fail(err, CL_ENOMEM, "out of memory");
  }
  if (lout) {
    p->log = lout;
    if (!(lout->at = calloc(nt, sizeof *lout->at))) st = cl_fail(err, CL_ENOMEM, "out of memory");
  }
  size_t done = 0; /* replaying: the logged steps taken */
  for (size_t k = 0; k < nt && !st; k++) {
    tr->t[k] = cl_schedule_time(s, k);
    if (in && k > 0) {
      /* n = 0: `in` did not stop here either */
      size_t n = in->at[k] - done;
      if ((n == 0 || (n % 2 && n < 5)) && k + 1 < nt) {
        double *row = cl_traj_row(tr, 0, k);
        for (int c = 0; c < tr->ncol; c++) row[c] = NAN;
        if (lout) lout->at[k] = lout->n;
        progress_at(rp, s->T > 0 ? tr->t[k] / s->T : 1);
        continue;
      }
      if ((st = replay(p, in->h + done, n, tr->t[k], err))) break;
      done = in->at[k];
    } else if ((st = cl_pde_advance(p, tr->t[k], err)))
      break;
    if (lout) lout->at[k] = lout->n;
    double R[CL_KMAX], Q;
    cl_pde_order(p, R, &Q);
    cl_traj_set(m->K, 1, R, &Q, cl_traj_row(tr, 0, k));
    if (obs) st = obs(ctx, p, k, err);
    if (ro) ro->mass_err = fmax(k ? ro->mass_err : 0, fabs(cl_pde_mass(p) - 1));
    progress_at(rp, s->T > 0 ? tr->t[k] / s->T : 1);
  }
  if (!st && info) {
    long steps, hv, fb, grows, cells;
    cl_pde_stats(p, &steps, &hv, &fb, &grows, &cells);
    snprintf(info, CL_INFOLEN,
             "finite volumes (Scharfetter-Gummel fluxes), TR-BDF2 with dt <= %g, %d classes of xi, "
             "dw = %.4g; %ld steps, %ld halved, %ld implicit-Euler substeps, %ld grid extensions, "
             "%ld cells at the end; %ld steps redone as halves to follow the coefficients (finest "
             "dt / 2^%d), %ld redone on a wider grid; mass - 1 = %.2e",
             p->o.dt, p->ncls, p->dw, steps, hv, fb, grows, cells, p->refined, p->finest, p->widened,
             cl_pde_mass(p) - 1);
    snprintf(dmeth, CL_INFOLEN, "%s", cl_drift_method(p->drift));
  }
  if (ro) ro->refined = p->refined;
  cl_pde_free(p);
  if (st) {
    cl_traj_free(tr);
    return st;
  }
  *out = tr;
  return CL_OK;
}

/* Share of the progress line given to the fine run when the coarse one
 * follows (it costs a quarter to a third as much: docs/theory.md s.9). */
#define PDE_FINE_SHARE 0.75

/* The largest |a - b| per column group (R, Q, cos) over the rows where
 * neither is NaN. */
static void group_dist(const cl_traj *a, const cl_traj *b, double d[3]) {
  int K = a->K;
  d[0] = d[1] = d[2] = 0;
  for (size_t k = 0; k < a->nt; k++) {
    const double *x = a->data + k * (size_t)a->ncol, *y = b->data + k * (size_t)b->ncol;
    for (int col = 0; col < a->ncol; col++) {
      int g = col < K ? 0 : col == K ? 1 : 2;
      if (!isnan(x[col]) && !isnan(y[col])) d[g] = fmax(d[g], fabs(x[col] - y[col]));
    }
  }
}

/* The ratio of successive differences below which the error is taken to be
 * past its second-order regime (measured: 2.84 to 4.7 where the estimate
 * bounded, 1.21 and 1.51 where it was 0.04 of the error; docs/theory.md
 * s.9). */
#define PDE_RATIO_MIN 2.5

/* The ratio above which the third run is taken to be out of its
 * convergent regime (its long steps damp the error of its explicitly
 * extrapolated coefficients far more slowly than the other runs', or let
 * it grow), so that it checks no order (session 18 helper, single runs,
 * load 4 to 7; est/err against the run on dw / 4, dt / 4).  Where the
 * third run tracks the others (its distance to the coarse run 4 to 5 times
 * theirs row by row, tau = 10) the ratios were 2.8 to 8.8 on the 8
 * estimate cases of tests/test_pde.c and 10 others (l2, l1:0.4, l1:2, tau
 * = 5 at dt 0.02 to 0.08, 200 cells, dt 0.5), 4.5 to 6.1 at tau = 10,
 * 14.7 at tau = 20 and 20.9 at tau = 20, dt 0.02 (Q; the estimate 7.5
 * times the error).  Above, Q's ratio explodes
 * with tau (T = 1, --dt-out 0.5: 49, 112, 9.6e3, 5.5e6 at tau = 25, 30,
 * 40, 50; 2.4e4 at tau = 100, dense, 1000 cells, where the third run's
 * distance grows): after the fast start the written and coarse runs agree
 * to 1e-11 while the third run's distance decays by only 8.5 per 0.25
 * (tau = 50), so the ratio measures that tail, not an order (at tau = 50
 * the estimate of Q was even 0.22 of the error, at the rounding level:
 * 3e-11 against 1.5e-10).  40: 1.9 times 20.9.  docs/theory.md s.9. */
#define PDE_RATIO_MAX 40.0

static void step_log_free(step_log *l) { free(l->h), free(l->at); }

/* e's kind, low and note from its split, ratio and third. */
static void estimate_verdict(cl_pde_estimate *e) {
  static const char *const gname[] = {"R", "Q", "cos"};
  int high = -1; /* the group of the highest ratio above PDE_RATIO_MAX */
  e->low = -1;
  for (int g = 0; g < 3; g++) {
    if (e->ratio[g] < PDE_RATIO_MIN && (e->low < 0 || e->ratio[g] < e->ratio[e->low])) e->low = g;
    if (e->ratio[g] > PDE_RATIO_MAX && (high < 0 || e->ratio[g] > e->ratio[high])) high = g;
  }
  e->kind = e->split ? CL_PDE_EST_SPLIT
            : e->low >= 0 ? CL_PDE_EST_LOW_ORDER
            : e->third[0] ? CL_PDE_EST_UNCHECKED
            : high >= 0   ? CL_PDE_EST_UNSTABLE
                          : CL_PDE_EST_CHECKED;
  e->note[0] = '\0';
  if (e->kind == CL_PDE_EST_SPLIT)
    snprintf(e->note, sizeof e->note,
             " (not a bound here: the coarse run had to split %ld of its doubled steps, where the coefficients "
             "moved too fast, and there it was no coarser; a smaller dt)",
             e->split);
  else if (e->kind == CL_PDE_EST_LOW_ORDER)
    snprintf(e->note, sizeof e->note,
             " (not a bound here: a third run on 4 dw moved only %.2g times as far from the coarse one as that "
             "from the written table in %s, against 4 in the second-order regime; a smaller dt or more cells)",
             e->ratio[e->low], gname[e->low]);
  else if (e->kind == CL_PDE_EST_UNCHECKED)
    snprintf(e->note, sizeof e->note, " (its order unchecked: the third run, on 4 dw, stopped)");
  else if (e->kind == CL_PDE_EST_UNSTABLE)
    snprintf(e->note, sizeof e->note,
             " (its order unchecked: a third run on 4 dw moved %.2g times as far from the coarse one as that from "
             "the written table in %s, against 4 in the second-order regime: its steps damp the error too slowly or not at "
             "all; a smaller dt)",
             e->ratio[high], gname[high]);
}

/* The estimate of cl_pde_error_estimate into *e, from the written run's
 * table `fine` and step log `log`: the coarse run (2 dw, the written run's
 * steps two at a time) and its largest distance to the fine table, per
 * column group (R, Q, cos), at least the rounding of the densities: rho =
 * 4 max |mass - 1| of the coarse run + 1e-14 (the fine run has 4 times its
 * cell-steps; mass is conserved but for rounding) times the scale of the
 * group, sqrt Q for R, Q, 1 for cos (docs/theory.md s.9).  The rows the
 * coarse run crossed without stopping (NaN) are not compared.  Then the
 * third run (4 dw, the coarse run's steps two at a time) checks the order;
 * its failure is e->third (CL_ENOMEM excepted, returned). */
static cl_status estimate_runs(const cl_model *m, const cl_schedule *s, const cl_pde_opts *o, const cl_traj *fine,
                               const step_log *log, const run_progress *rp, cl_pde_estimate *e, char *err) {
  size_t nt = cl_schedule_nt(s);
  int K = m->K;
  if (fine->nt != nt || fine->K != K || fine->M != 1 || fine->runs != 1)
    return cl_fail(err, CL_EINVAL, "the fine table is not of this model and schedule");
  cl_traj *ct, *xt = NULL;
  double qmax = 0, d2[3];
  run_out co;
  step_log log2 = {0};
  run_progress r1 = {rp->o, rp->p0, rp->p0 + 0.8 * (rp->p1 - rp->p0)}, r2 = {rp->o, r1.p1, rp->p1};
  cl_status st = pde_run(m, s, o, 2, &r1, &ct, NULL, NULL, NULL, NULL, &co, log, &log2, err);
  if (st) return step_log_free(&log2), st;
  group_dist(fine, ct, e->est);
  for (size_t k = 0; k < nt; k++) qmax = fmax(qmax, fabs(fine->data[k * (size_t)fine->ncol + (size_t)K]));
  double rho = 4 * co.mass_err + 1e-14, floor[3] = {rho * sqrt(qmax), rho * qmax, rho};
  e->split = co.refined;
  e->third[0] = '\0';
  st = pde_run(m, s, o, 4, &r2, &xt, NULL, NULL, NULL, NULL, NULL, &log2, NULL, e->third);
  step_log_free(&log2);
  if (st && !e->third[0]) snprintf(e->third, sizeof e->third, "status %d", (int)st); /* kind stays unchecked */
  if (st == CL_ENOMEM) {
    cl_traj_free(ct);
    return cl_fail(err, st, "%s", e->third);
  }
  if (!st) group_dist(ct, xt, d2);
  /* A group at the rounding floor has no order to check (its ratio NaN)
   * unless the third run moved more than PDE_RATIO_MAX floors from the
   * coarse one: its ratio is then at least that, the third run is out of
   * its convergent regime (tau = 50, T = 3: Q 9.6e-5 against the floor
   * 6.0e-11, the estimate 0.4 of the error; docs/theory.md s.9). */
  for (int g = 0; g < 3; g++) {
    const int above = e->est[g] > floor[g];
    e->est[g] = fmax(e->est[g], floor[g]);
    e->ratio[g] = !st && (above || d2[g] > PDE_RATIO_MAX * floor[g]) ? d2[g] / e->est[g] : NAN;
  }
  cl_traj_free(ct), cl_traj_free(xt);
  estimate_verdict(e);
  return CL_OK;
}

/* The written run is done again for its steps (it is deterministic) and
 * must give `fine` to the bit. */
cl_status cl_pde_error_estimate(const cl_model *m, const cl_schedule *s, const cl_pde_opts *o,
                                const cl_traj *fine, cl_pde_estimate *e, char *err) {
  cl_pde_opts none;
  cl_pde_opts_default(&none);
  const cl_pde_opts *po = o ? o : &none;
  run_progress rw = {po, 0, PDE_FINE_SHARE}, rc = {po, PDE_FINE_SHARE, 1};
  step_log log = {0};
  cl_traj *tr = NULL;
  cl_status st = cl_schedule_check(s, err);
  if (!st) st = pde_run(m, s, po, 1, &rw, &tr, NULL, NULL, NULL, NULL, NULL, NULL, &log, err);
  if (!st && (fine->nt != tr->nt || fine->ncol != tr->ncol ||
              memcmp(fine->data, tr->data, sizeof(double) * tr->nt * (size_t)tr->ncol)))
    st = cl_fail(err, CL_EINVAL, "the fine table is not the PDE's for this model, schedule and options");
  if (!st) st = estimate_runs(m, s, po, fine, &log, &rc, e, err);
  cl_traj_free(tr);
  step_log_free(&log);
  return st;
}

/* Append s to the CL_INFOLEN bytes of info, cut where it would not fit. */
static void append_info(char *info, const char *s) {
  size_t l = strlen(info), n = strlen(s);
  if (n > CL_INFOLEN - 1 - l) n = CL_INFOLEN - 1 - l;
  memcpy(info + l, s, n);
  info[l + n] = '\0';
}

cl_status cl_pde_solve(const cl_model *m, const cl_schedule *s, const cl_pde_opts *o,
                       cl_traj **out, cl_pde_observer obs, void *ctx, char *info, char *err) {
  cl_status st = cl_schedule_check(s, err);
  if (st) return st;
  cl_pde_opts none;
  cl_pde_opts_default(&none);
  const cl_pde_opts *po = o ? o : &none;
  run_progress rf = {po, 0, info ? PDE_FINE_SHARE : 1}, rc = {po, PDE_FINE_SHARE, 1};
  cl_traj *tr;
  char meth[CL_INFOLEN], dmeth[CL_INFOLEN];
  run_out wo;
  step_log log = {0};
  if ((st = pde_run(m, s, po, 1, &rf, &tr, obs, ctx, info ? meth : NULL, dmeth, &wo, NULL, info ? &log : NULL, err))) {
    step_log_free(&log);
    return st;
  }
  if (info) {
    cl_pde_estimate e;
    char e2[CL_ERRLEN], tail[CL_ERRLEN + 512];
    const cl_status cs = estimate_runs(m, s, po, tr, &log, &rc, &e, e2);
    step_log_free(&log);
    if (cs == CL_ENOMEM) { /* out of memory is the run's error: all or nothing */
      cl_traj_free(tr);
      return cl_fail(err, cs, "%s", e2);
    }
    if (cs)
      snprintf(tail, sizeof tail, "no error estimate: the coarse run (2 dw, steps two at a time) stopped: %s", e2);
    else
      snprintf(tail, sizeof tail,
               "error estimate (largest |fine - coarse| over the table, at least the rounding that mass - 1 "
               "shows; the coarse run on 2 dw taking the written run's steps two at a time) R %.2e, Q %.2e, "
               "cos %.2e%s",
               e.est[0], e.est[1], e.est[2], e.note);
    const char *parts[] = {meth, "; ", tail, "; drift: ", dmeth};
    info[0] = '\0';
    for (int k = 0; k < 5; k++) append_info(info, parts[k]);
  }
  *out = tr;
  return CL_OK;
}
