/* Symmetries of the order-parameter ODEs and orbits of a state
 * (docs/fixed-points.md s.1). */
#include "cldyn/symmetry.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cldyn/state.h"
#include "act_pole.h"

/* The atoms of a law with finitely many (rademacher, sparse, discrete), as
 * a canonical list: sorted by value, equal values (relative 1e-12) merged,
 * zero probabilities dropped.  Returns the count, or -1 for a continuous
 * law.  Laws are compared by their distribution, not by their spelling:
 * `discrete:-1@0.5,1@0.5` is rademacher:1, sparse with p = 1 is rademacher,
 * `discrete:1@0.25,1@0.25,-1@0.5` is symmetric (before, such pairs lost
 * their feature permutation or sign, and the orbits their images). */
static int atoms(const cl_law *law, double *v, double *p) {
  double sd = sqrt(law->m2);
  int n = 0;
  switch (law->kind) {
  case CL_LAW_RADEMACHER:
    v[0] = -sd, p[0] = 0.5, v[1] = sd, p[1] = 0.5;
    return 2;
  case CL_LAW_SPARSE:
    /* as cl_law_sample: +-sd / sqrt(p) with p / 2 each, 0 otherwise */
    v[n] = -sd / sqrt(law->p), p[n++] = law->p / 2;
    if (law->p < 1) v[n] = 0, p[n++] = 1 - law->p;
    v[n] = sd / sqrt(law->p), p[n++] = law->p / 2;
    return n;
  case CL_LAW_DISCRETE:
    for (int i = 0; i < law->nvals; i++) {
      if (!(law->probs[i] > 0)) continue;
      int k = 0;
      while (k < n && !(fabs(v[k] - law->vals[i]) <= 1e-12 * fmax(1, fabs(v[k])))) k++;
      if (k < n) {
        p[k] += law->probs[i];
        continue;
      }
      /* insert sorted */
      for (k = n; k > 0 && v[k - 1] > law->vals[i]; k--) v[k] = v[k - 1], p[k] = p[k - 1];
      v[k] = law->vals[i], p[k] = law->probs[i], n++;
    }
    return n;
  default: return -1;
  }
}

static int same(double a, double b) { return fabs(a - b) <= 1e-12 * fmax(1, fabs(a)); }

static int law_symmetric(const cl_law *law) {
  double v[CL_DISCRETE_MAX + 1], p[CL_DISCRETE_MAX + 1];
  int n = atoms(law, v, p);
  if (n < 0) return 1; /* every continuous family is symmetric about 0 */
  /* sorted: atom k mirrors atom n - 1 - k */
  for (int k = 0; k < n; k++)
    if (!same(v[k], -v[n - 1 - k]) || fabs(p[k] - p[n - 1 - k]) > 1e-12) return 0;
  return 1;
}

static int law_equal(const cl_law *a, const cl_law *b) {
  double va[CL_DISCRETE_MAX + 1], pa[CL_DISCRETE_MAX + 1], vb[CL_DISCRETE_MAX + 1], pb[CL_DISCRETE_MAX + 1];
  int na = atoms(a, va, pa), nb = atoms(b, vb, pb);
  if (na >= 0 || nb >= 0) {
    if (na != nb) return 0;
    for (int k = 0; k < na; k++)
      if (!same(va[k], vb[k]) || fabs(pa[k] - pb[k]) > 1e-12) return 0;
    return 1;
  }
  if (a->kind != b->kind || !same(a->m2, b->m2)) return 0;
  return a->kind == CL_LAW_STUDENT ? same(a->nu, b->nu) : 1;
}

void cl_symmetry_init(const cl_model *m, cl_symmetry *g) {
  memset(g, 0, sizeof *g);
  g->K = m->K, g->M = m->M;
  /* sigma odd: y_i -> -y_i, so C_ii is unchanged and C_ik -> -C_ik, which
   * g (square or abs, both even) does not see */
  g->unit_sign = cl_act_odd(m->act);
  for (int j = 0; j < m->K; j++) {
    g->feat_sign[j] = law_symmetric(&m->c[j]);
    g->feat_class[j] = j;
    for (int k = 0; k < j; k++)
      if (law_equal(&m->c[k], &m->c[j])) {
        g->feat_class[j] = g->feat_class[k];
        break;
      }
  }
}

void cl_symmetry_describe(const cl_symmetry *g, char *buf, size_t len) {
  int nsign = 0, nperm = 0;
  for (int j = 0; j < g->K; j++) {
    nsign += g->feat_sign[j];
    nperm += g->feat_class[j] != j;
  }
  snprintf(buf, len, "%s%s%d of %d feature signs%s", g->M > 1 ? "unit permutations, " : "",
           g->unit_sign ? "unit signs, " : "", nsign, g->K,
           nperm ? ", permutations of features with equal laws" : "");
}

static void identity(const cl_symmetry *g, cl_sym_elem *e) {
  for (int i = 0; i < g->M; i++) e->up[i] = i, e->us[i] = 1;
  for (int j = 0; j < g->K; j++) e->fp[j] = j, e->fs[j] = 1;
}

/* generator k: k < M - 1 swaps units k, k + 1; then unit signs; then
 * feature transpositions within a class; then feature signs */
static int gen(const cl_symmetry *g, int k, cl_sym_elem *e) {
  int c = 0;
  identity(g, e);
  for (int i = 0; i + 1 < g->M; i++, c++)
    if (c == k) return e->up[i] = i + 1, e->up[i + 1] = i, 1;
  if (g->unit_sign)
    for (int i = 0; i < g->M; i++, c++)
      if (c == k) return e->us[i] = -1, 1;
  for (int j = 0; j < g->K; j++) {
    int next = -1; /* the next feature of j's class */
    for (int l = j + 1; l < g->K && next < 0; l++)
      if (g->feat_class[l] == g->feat_class[j]) next = l;
    if (next < 0) continue;
    if (c++ == k) return e->fp[j] = next, e->fp[next] = j, 1;
  }
  for (int j = 0; j < g->K; j++)
    if (g->feat_sign[j] && c++ == k) return e->fs[j] = -1, 1;
  return 0;
}

int cl_symmetry_ngen(const cl_symmetry *g) {
  cl_sym_elem e;
  int k = 0;
  while (gen(g, k, &e)) k++;
  return k;
}

void cl_symmetry_generator(const cl_symmetry *g, int k, cl_sym_elem *e) { gen(g, k, e); }

void cl_symmetry_apply(const cl_symmetry *g, const cl_sym_elem *e, const double *y, double *out) {
  const int K = g->K, M = g->M;
  double R[CL_KMAX * CL_MMAX], Q[CL_MMAX * CL_MMAX], R2[CL_KMAX * CL_MMAX], Q2[CL_MMAX * CL_MMAX];
  cl_state_unpack(K, M, y, R, Q);
  for (int j = 0; j < K; j++)
    for (int i = 0; i < M; i++) R2[e->fp[j] * M + e->up[i]] = e->fs[j] * e->us[i] * R[j * M + i];
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) Q2[e->up[i] * M + e->up[l]] = e->us[i] * e->us[l] * Q[i * M + l];
  cl_state_pack(K, M, R2, Q2, out);
}

int cl_symmetry_orbit(const cl_symmetry *g, const double *y, double tol, double *images, int cap,
                      int *complete) {
  const int n = cl_state_size(g->K, g->M), ng = cl_symmetry_ngen(g);
  int nim = 1, done = 1;
  if (cap < 1) return 0;
  memcpy(images, y, sizeof(double) * (size_t)n);
  /* breadth first: apply every generator to every image found */
  for (int a = 0; a < nim; a++)
    for (int k = 0; k < ng; k++) {
      cl_sym_elem e;
      double z[CL_STATE_MAX];
      cl_symmetry_generator(g, k, &e);
      cl_symmetry_apply(g, &e, images + (size_t)a * n, z);
      int dup = 0;
      for (int b = 0; b < nim && !dup; b++) {
        double d = 0;
        for (int q = 0; q < n && d < tol; q++) d = fmax(d, fabs(images[(size_t)b * n + q] - z[q]));
        dup = d < tol;
      }
      if (dup) continue;
      if (nim == cap) {
        done = 0;
        continue;
      }
      memcpy(images + (size_t)nim++ * n, z, sizeof(double) * (size_t)n);
    }
  if (complete) *complete = done;
  return nim;
}
