/* The expectation engine for M >= 2 units (docs/multi.md).
 *
 * Per sample, given c: h_a = mu + zt + e_a, mu = R^T c, and (h1, h2) - (mu, mu)
 * = S z with z ~ N(0, I_2M) and S the symmetric PSD square root of the 2M x 2M
 * covariance Sigma (smooth in the state, unlike eigenvectors).  With the
 * per-sample gradient ghat_a = B D_a (D_a = -dF/dh_a):
 *   dR_ji = tau (E[(ghat1_i + ghat2_i) c_j] + s E[ghat1_i eps1_j + ghat2_i eps2_j] - beta R_ji)
 *   dQ_il = tau (P_il + P_li) - 2 tau beta Q_il + (tau^2 / B) V_il
 * (P, V in docs/multi.md).  The Stein terms use E[g eps] = Cov(eps, h) S^+ E[g z].
 *
 * Paths (mode):
 *   SAMPLE  B = 1 (any g) or lambda = 0 (any B): ghat of one sample in O(M).
 *   SQEXP   g = square, B > 1, lambda != 0: the exact expansion in 1/B (two
 *           passes: single-sample moments m_ik, Cov(phi, phi), then the mean
 *           field part and the fluctuation term of V).
 *   BATCH   other g with B > 1 and lambda != 0: the point set covers the
 *           whole batch (B samples), D from cl_batch_loss.
 * Integration: Sobol' points (GSL) over (continuous c, z), mapped by the
 * laws' quantile functions and Phi^-1, randomised by NREP digital shifts
 * from a fixed internal seed; the drift is the mean of the NREP rules and
 * the bound is the Student-t 99.5% quantile x sd / sqrt(NREP).  Discrete
 * laws are summed over their atoms when the product of atom counts is small
 * (folded c -> -c for odd sigma and symmetric laws). */
#include "drift_multi.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_qrng.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cldyn/data.h"
#include "cldyn/quad.h"
#include "cldyn/symmetry.h"

enum { MODE_SAMPLE, MODE_SQEXP, MODE_BATCH };
/* NGROUP_MAX: the symmetry group has at most 128 elements, so a larger
 * budget goes to base points and the error keeps falling (docs/multi.md s.5) */
enum { NREP_DEFAULT = 8, ATOMS_MAX = 64, NBASE_MIN = 128, NGROUP_MAX = 128 };
#define SHIFT_SEED 0x6c61747469636531ULL

/* A chunk of points: c, h = (h1, h2) and sigma, sigma' of every h, the
 * activations vectorised over the chunk (libmvec). */
enum { CH = 128 };
typedef struct chunk_s {
  double c[CH * CL_KMAX], h[CH * 2 * CL_MMAX], y[CH * 2 * CL_MMAX], sd[CH * 2 * CL_MMAX];
  const double *z[CH];
  /* the B = 1 / lambda = 0 kernel (sample_chunk): the same by coordinate,
   * point index fastest (row r of a block at r * CH) */
  double zs[CH * 2 * CL_MMAX], gs[CH * 2 * CL_MMAX];
} chunk;

struct cl_multi {
  cl_model m;
  int K, M, B, d2, mode, Bq; /* Bq: samples per point (B in BATCH mode, else 1) */
  int nrep, n, nq, ncq; /* rules, points per rule, dims, c dims per sample */
  int cq[CL_KMAX];      /* coordinate of law j within a sample, -1: summed over atoms */
  int na;               /* atom combinations */
  double *ax, *aw;      /* na x K (0 for the laws in the point set), na */
  double *pts;          /* nrep x n x nq */
  double tq;            /* Student-t quantile for the bound */
  int nout, asz;        /* K*M + M*M; accumulator size */
  double *acc, *reps, *mom; /* accumulators, nrep x nout, SQEXP moments */
  double S[4 * CL_MMAX * CL_MMAX], Sp[4 * CL_MMAX * CL_MMAX];
  double emax;
  chunk *ck;
  int ng, nbase; /* symmetry group elements applied to each base point, base points */
  char method[900];
};

static uint64_t splitmix(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static int law_discrete(const cl_law *l) {
  return l->kind == CL_LAW_RADEMACHER || l->kind == CL_LAW_SPARSE || l->kind == CL_LAW_DISCRETE;
}

int cl_law_is_symmetric(const cl_law *law) {
  if (law->kind != CL_LAW_DISCRETE) return 1;
  for (int i = 0; i < law->nvals; i++) {
    int found = 0;
    for (int k = 0; k < law->nvals && !found; k++)
      found = fabs(law->vals[k] + law->vals[i]) <= 1e-14 * fabs(law->vals[i]) &&
              fabs(law->probs[k] - law->probs[i]) <= 1e-15;
    if (!found) return 0;
  }
  return 1;
}

/* Quantile function of law j at x in (0, 1); atoms (sorted) for discrete laws. */
static double law_quantile(const cl_law *l, const cl_rule *atoms, double x) {
  const double m2 = l->m2;
  switch (l->kind) {
  case CL_LAW_GAUSS: return sqrt(m2) * gsl_cdf_ugaussian_Pinv(x);
  case CL_LAW_UNIFORM: return sqrt(3 * m2) * (2 * x - 1);
  case CL_LAW_LAPLACE: {
    double b = sqrt(m2 / 2);
    return x < 0.5 ? b * log(2 * x) : -b * log(2 * (1 - x));
  }
  case CL_LAW_STUDENT: return sqrt(m2 * (l->nu - 2) / l->nu) * gsl_cdf_tdist_Pinv(x, l->nu);
  default: {
    double acc = 0;
    for (int k = 0; k < atoms->n - 1; k++) {
      acc += atoms->w[k];
      if (x < acc) return atoms->x[k];
    }
    return atoms->x[atoms->n - 1];
  }
  }
}

void cl_multi_free(cl_multi *q) {
  if (!q) return;
  free(q->ax);
  free(q->aw);
  free(q->pts);
  free(q->acc);
  free(q->reps);
  free(q->mom);
  free(q->ck);
  free(q);
}

static void sort_rule(cl_rule *r) {
  for (int i = 1; i < r->n; i++)
    for (int k = i; k > 0 && r->x[k - 1] > r->x[k]; k--) {
      double tx = r->x[k], tw = r->w[k];
      r->x[k] = r->x[k - 1], r->w[k] = r->w[k - 1];
      r->x[k - 1] = tx, r->w[k - 1] = tw;
    }
}

/* The group that symmetrises the point set (docs/multi.md s.5).  An element
 * maps a sample's coordinates x = (point-set c, z) to x'[k] = sg[k] x[src[k]]:
 * z1 and z2 are permuted together by a unit permutation and flipped together
 * by a unit sign, a c coordinate is flipped (symmetric law) or exchanged with
 * one of an equal law.  Each factor enters whole or not at all (the product
 * must stay <= cap); the group is the product of the factors that entered. */
typedef struct {
  int ng, nq1;  /* elements, coordinates per sample */
  int *src, *sg; /* ng x nq1 */
  int halved; /* only one of each pair e, -e is kept (equal summands) */
  int fold[CL_MULTI_DIMAX]; /* coordinate k of the base points is drawn from its law's positive half */
  char what[200];
} symgroup;

static void symgroup_free(symgroup *G) { free(G->src), free(G->sg), G->src = G->sg = NULL; }

/* all permutations p of 0..n-1 with cls[p[k]] == cls[k] (n <= 12), into
 * out (cap perms of n ints); returns the count or -1 if more than cap */
static int class_perms(int n, const int *cls, int *out, int cap) {
  int p[CL_KMAX], cnt = 0, used[CL_KMAX] = {0}, k = 0;
  for (int i = 0; i < n; i++) p[i] = -1;
  /* iterative backtracking */
  while (k >= 0) {
    if (k == n) {
      if (cnt == cap) return -1;
      memcpy(out + (size_t)cnt * n, p, sizeof(int) * (size_t)n);
      cnt++;
      k--;
      continue;
    }
    int v = p[k] + 1;
    if (p[k] >= 0) used[p[k]] = 0;
    while (v < n && (used[v] || cls[v] != cls[k])) v++;
    if (v < n) {
      p[k] = v, used[v] = 1, k++;
      if (k < n) p[k] = -1;
    } else {
      p[k] = -1, k--;
    }
  }
  return cnt;
}

static long factorial_cap(int n, long cap) {
  long f = 1;
  for (int i = 2; i <= n; i++)
    if ((f *= i) > cap) return cap + 1;
  return f;
}

static cl_status symgroup_build(const cl_model *m, const int *cq, int ncq, int pairfree, long cap,
                                symgroup *G, char *err) {
  const int M = m->M, d2 = 2 * M, nq1 = ncq + d2;
  cl_symmetry sy;
  cl_symmetry_init(m, &sy);
  memset(G, 0, sizeof *G);
  G->nq1 = nq1;
  /* point-set c coordinates: their feature (class, sign symmetry) */
  int ccls[CL_KMAX], csym[CL_KMAX], ns = 0;
  for (int j = 0; j < m->K; j++)
    if (cq[j] >= 0) {
      ccls[cq[j]] = -1, csym[cq[j]] = sy.feat_sign[j];
      for (int l = 0; l < m->K; l++)
        if (cq[l] >= 0 && sy.feat_class[l] == sy.feat_class[j]) {
          ccls[cq[j]] = cq[l]; /* the first point-set coordinate of the class */
          break;
        }
      ns += sy.feat_sign[j];
    }
  long size = 1;
  /* factor 1: unit permutations */
  int nup = 1, *up = NULL;
  long f1 = factorial_cap(M, cap);
  int ucls[CL_MMAX] = {0};
  if (M > 1 && size * f1 <= cap) {
    up = malloc(sizeof(int) * (size_t)f1 * M);
    if (!up) return cl_fail(err, CL_ENOMEM, "ode: out of memory");
    nup = class_perms(M, ucls, up, (int)f1);
    size *= nup;
  }
  /* factor 2: unit signs (all, or only the global sign -1) */
  int nus = 1, usall = 0;
  if (sy.unit_sign) {
    if (M < 20 && size * (1L << M) <= cap) nus = 1 << M, usall = 1;
    else if (size * 2 <= cap) nus = 2;
  }
  size *= nus;
  /* factor 3: c signs of the symmetric laws in the point set */
  int ncs = 1;
  if (ns > 0 && ns < 20 && size * (1L << ns) <= cap) ncs = 1 << ns;
  size *= ncs;
  /* factor 4: permutations of point-set c coordinates of equal laws */
  int ncp = 1, *cp = NULL;
  {
    long f4 = 1;
    for (int k = 0; k < ncq && f4 <= cap; k++)
      if (ccls[k] == k) {
        int cnt = 0;
        for (int l = 0; l < ncq; l++) cnt += ccls[l] == k;
        f4 *= factorial_cap(cnt, cap);
      }
    if (f4 > 1 && size * f4 <= cap) {
      cp = malloc(sizeof(int) * (size_t)f4 * (size_t)(ncq ? ncq : 1));
      if (!cp) return free(up), cl_fail(err, CL_ENOMEM, "ode: out of memory");
      ncp = class_perms(ncq, ccls, cp, (int)f4);
      size *= ncp;
    }
  }
  G->ng = (int)size;
  G->src = malloc(sizeof(int) * (size_t)size * nq1);
  G->sg = malloc(sizeof(int) * (size_t)size * nq1);
  if (!G->src || !G->sg) {
    free(up), free(cp), symgroup_free(G);
    return cl_fail(err, CL_ENOMEM, "ode: out of memory");
  }
  int e = 0;
  for (int a = 0; a < nup; a++)
    for (int b = 0; b < nus; b++)
      for (int c = 0; c < ncs; c++)
        for (int d = 0; d < ncp; d++, e++) {
          int *src = G->src + (size_t)e * nq1, *sg = G->sg + (size_t)e * nq1;
          for (int k = 0; k < ncq; k++) src[k] = cp ? cp[(size_t)d * ncq + k] : k, sg[k] = 1;
          for (int k = 0, bit = 0; k < ncq; k++)
            if (csym[k]) sg[k] = (c >> bit++) & 1 ? -1 : 1;
          for (int i = 0; i < M; i++) {
            int pi = up ? up[(size_t)a * M + i] : i;
            int s = usall ? ((b >> i) & 1 ? -1 : 1) : (b ? -1 : 1);
            src[ncq + i] = ncq + pi, src[ncq + M + i] = ncq + M + pi;
            sg[ncq + i] = sg[ncq + M + i] = s;
          }
        }
  /* (c, z) -> (-c, -z) leaves the summand unchanged (odd sigma, symmetric
   * laws, no atoms folded by it already): of the two elements e and -e only
   * the one with a positive first z sign is kept */
  G->halved = 0;
  if (pairfree && nus >= 2 && (ns == 0 || (ns == ncq && ncs == 1 << ns))) {
    int kept = 0;
    for (int e2 = 0; e2 < G->ng; e2++)
      if (G->sg[(size_t)e2 * nq1 + ncq] > 0) {
        memmove(G->src + (size_t)kept * nq1, G->src + (size_t)e2 * nq1, sizeof(int) * (size_t)nq1);
        memmove(G->sg + (size_t)kept * nq1, G->sg + (size_t)e2 * nq1, sizeof(int) * (size_t)nq1);
        kept++;
      }
    G->ng = kept, G->halved = 1;
  }
  /* the base points lie in a fundamental domain of the sign flips: the
   * view-1 coordinates z1 > 0 when every unit sign is in the group (a unit
   * sign flips z1_i and z2_i together), z1_1 > 0 for the sign of all units
   * alone, c_k > 0 for a feature sign */
  for (int k = 0; k < ncq; k++) G->fold[k] = ncs > 1 && csym[k];
  for (int i = 0; i < d2; i++) G->fold[ncq + i] = (nus > 2 && i < M) || (nus == 2 && i == 0);
  snprintf(G->what, sizeof G->what, "%s%s%s%s", nup > 1 ? "unit permutations, " : "",
           nus > 2 ? "unit signs, " : nus == 2 ? "the sign of all units, " : "",
           ncs > 1 ? "feature signs, " : "", ncp > 1 ? "permutations of equal laws, " : "");
  size_t L = strlen(G->what);
  if (L >= 2) G->what[L - 2] = 0;
  else snprintf(G->what, sizeof G->what, "none");
  free(up), free(cp);
  (void)d2;
  return CL_OK;
}

cl_status cl_multi_alloc(const cl_model *m, const cl_quad_opts *o, cl_multi **out, char *err) {
  *out = NULL;
  cl_multi *q = calloc(1, sizeof *q);
  if (!q) return cl_fail(err, CL_ENOMEM, "ode: out of memory");
  q->m = *m;
  q->K = m->K, q->M = m->M, q->B = m->B, q->d2 = 2 * m->M;
  const int K = q->K, M = q->M;
  if (m->B == 1 || m->lambda == 0) q->mode = MODE_SAMPLE;
  else if (m->g == CL_G_SQUARE) q->mode = MODE_SQEXP;
  else q->mode = MODE_BATCH;
  q->Bq = q->mode == MODE_BATCH ? m->B : 1;
  q->nrep = NREP_DEFAULT;
  /* Student t quantiles t_{0.995, nrep - 1} */
  q->tq = gsl_cdf_tdist_Pinv(0.995, q->nrep - 1);
  /* atoms: discrete laws summed exactly if the product of atom counts is small */
  cl_rule atoms[CL_KMAX];
  memset(atoms, 0, sizeof atoms);
  long prod = 1;
  int odd = m->act == CL_ACT_LINEAR || m->act == CL_ACT_TANH || m->act == CL_ACT_ERF ||
            m->act == CL_ACT_CUBIC;
  for (int j = 0; j < K; j++) {
    if (law_discrete(&m->c[j])) {
      cl_status st = cl_rule_law(&m->c[j], 2, &atoms[j], err);
      if (st) {
        for (int i = 0; i < j; i++) cl_rule_free(&atoms[i]);
        return cl_multi_free(q), st;
      }
      sort_rule(&atoms[j]);
      prod *= atoms[j].n;
    }
    odd = odd && cl_law_is_symmetric(&m->c[j]);
  }
  int exact = q->mode != MODE_BATCH && prod <= 2 * ATOMS_MAX;
  q->ncq = 0;
  for (int j = 0; j < K; j++) q->cq[j] = exact && law_discrete(&m->c[j]) ? -1 : q->ncq++;
  q->nq = q->Bq * (q->ncq + q->d2);
  if (q->nq > CL_MULTI_DIMAX) {
    for (int j = 0; j < K; j++) cl_rule_free(&atoms[j]);
    cl_multi_free(q);
    return CL_OK; /* *out NULL: not for this engine */
  }
  /* atom combinations */
  long na = exact ? prod : 1;
  q->ax = calloc((size_t)na * (size_t)K, sizeof(double));
  q->aw = calloc((size_t)na, sizeof(double));
  if (!q->ax || !q->aw) {
    for (int j = 0; j < K; j++) cl_rule_free(&atoms[j]);
    cl_multi_free(q);
    return cl_fail(err, CL_ENOMEM, "ode: out of memory");
  }
  int kept = 0;
  for (long a = 0; a < na; a++) {
    long rest = a;
    double w = 1, *cv = q->ax + (size_t)kept * K;
    for (int j = K - 1; j >= 0; j--) {
      cv[j] = 0;
      if (q->cq[j] >= 0) continue;
      int i = (int)(rest % atoms[j].n);
      rest /= atoms[j].n;
      cv[j] = atoms[j].x[i], w *= atoms[j].w[i];
    }
    if (!(w > 0)) continue;
    if (odd && exact) {
      /* (c, z) -> (-c, -z) leaves every accumulated term unchanged */
      int j = 0;
      while (j < K && cv[j] == 0) j++;
      if (j < K && cv[j] < 0) continue;
      if (j < K) w *= 2;
    }
    q->aw[kept++] = w;
  }
  q->na = kept;
  /* points per replicate (per atom combination): a power of 2 */
  long n = o && o->qmc_points > 0 ? o->qmc_points : 0;
  if (!n) {
    /* default budget (docs/multi.md, bench/multi): 2^13 points per
     * replicate for M = 2, fewer per atom combination, at least 2^9 */
    long tot = M <= 2 ? 1L << 13 : M <= 4 ? 1L << 12 : 1L << 11;
    if (q->mode == MODE_BATCH) tot *= 4;
    n = tot / q->na;
    if (n < 512) n = 512;
  }
  int lg = 0;
  while ((1L << lg) < n && lg < 20) lg++;
  /* the symmetry group (docs/multi.md s.5): n / |G| base points (a power
   * of 2, at least NBASE_MIN), each mapped by every element; |G| <= NGROUP_MAX */
  symgroup G;
  {
    char e2[CL_ERRLEN];
    /* with atoms folded by (c, z) -> (-c, -z), the point set cannot be halved again */
    int atoms_folded = 0;
    for (int j = 0; j < K; j++) atoms_folded |= odd && q->cq[j] < 0;
    if (symgroup_build(m, q->cq, q->ncq, odd && !atoms_folded, (1L << lg) / NBASE_MIN < NGROUP_MAX ? (1L << lg) / NBASE_MIN : NGROUP_MAX, &G, e2)) {
      for (int j = 0; j < K; j++) cl_rule_free(&atoms[j]);
      cl_multi_free(q);
      return cl_fail(err, CL_ENOMEM, "%s", e2);
    }
  }
  {
    /* the power of 2 nearest to 2^lg / |G| (in log scale) */
    double t = (double)(1L << lg) / G.ng;
    int lb = 0;
    while (lb < 20 && (double)(1L << (lb + 1)) <= t * 1.4142135623730951) lb++;
    q->nbase = 1 << lb;
    q->ng = G.ng;
    q->n = q->nbase * G.ng;
  }
  q->nout = K * M + M * M;
  q->asz = K * M + 4 * M * M + 2 * M * M;
  size_t npts = (size_t)q->nrep * (size_t)q->n * (size_t)q->nq;
  q->pts = malloc(sizeof(double) * (npts ? npts : 1));
  q->acc = malloc(sizeof(double) * (size_t)q->asz);
  q->ck = malloc(sizeof *q->ck);
  q->reps = malloc(sizeof(double) * (size_t)q->nrep * (size_t)q->nout);
  size_t M4 = (size_t)M * M * M * M;
  q->mom = q->mode == MODE_SQEXP ? malloc(sizeof(double) * (M * M + 5 * M4)) : NULL;
  if (!q->pts || !q->ck || !q->acc || !q->reps || (q->mode == MODE_SQEXP && !q->mom)) {
    for (int j = 0; j < K; j++) cl_rule_free(&atoms[j]);
    cl_multi_free(q), symgroup_free(&G);
    return cl_fail(err, CL_ENOMEM, "ode: out of memory for the point set (%zu values)", npts);
  }
  /* the point sets: Sobol' points, digital shifts, quantile functions */
  uint64_t st = SHIFT_SEED;
  const int per = q->ncq + q->d2;
  double *base = NULL;
  {
    /* Sobol' points (GSL), the same for every replicate, digitally shifted */
    base = malloc(sizeof(double) * (size_t)q->nbase * (size_t)q->nq);
    gsl_qrng *g = gsl_qrng_alloc(gsl_qrng_sobol, (unsigned)q->nq);
    if (!base || !g) {
      free(base), gsl_qrng_free(g), symgroup_free(&G);
      for (int j = 0; j < K; j++) cl_rule_free(&atoms[j]);
      cl_multi_free(q);
      return cl_fail(err, CL_ENOMEM, "ode: out of memory for the point set");
    }
    for (int p = 0; p < q->nbase; p++) gsl_qrng_get(g, base + (size_t)p * q->nq);
    gsl_qrng_free(g);
  }
  for (int r = 0; r < q->nrep; r++) {
    uint32_t dshift[CL_MULTI_DIMAX];
    for (int k = 0; k < q->nq; k++) dshift[k] = (uint32_t)(splitmix(&st) >> 32);
    for (int p = 0; p < q->nbase; p++) {
      /* the base point first, then its images under the group */
      double *x = q->pts + ((size_t)r * q->n + (size_t)p * G.ng) * q->nq;
      for (int k = 0; k < q->nq; k++) {
        /* digital shift: XOR of the 32-bit expansion with a random word */
        uint32_t u = (uint32_t)(base[(size_t)p * q->nq + k] * 4294967296.0) ^ dshift[k];
        double t = ((double)u + 0.5) * 0x1p-32;
        const int c = k % per; /* coordinate within its sample */
        /* the group acts on the B samples of a point together: only the
         * first sample lies in the fundamental domain */
        const int fold = k < per && G.fold[c];
        if (c < q->ncq) {
          int j = 0;
          while (q->cq[j] != c) j++;
          x[k] = law_quantile(&m->c[j], &atoms[j], fold ? 0.5 + 0.5 * t : t);
        } else
          x[k] = fold ? gsl_cdf_ugaussian_Qinv(0.5 * (1 - t)) : gsl_cdf_ugaussian_Pinv(t);
      }
      /* every sample of the point (B of them in BATCH mode) by the same element */
      for (int e = 1; e < G.ng; e++) {
        double *xe = x + (size_t)e * q->nq;
        const int *src = G.src + (size_t)e * per, *sg = G.sg + (size_t)e * per;
        for (int b = 0; b < q->Bq; b++)
          for (int k = 0; k < per; k++) xe[b * per + k] = sg[k] * x[b * per + src[k]];
      }
    }
  }
  free(base);
  for (int j = 0; j < K; j++) cl_rule_free(&atoms[j]);
  const char *path = q->mode == MODE_SAMPLE
                         ? (m->B == 1 ? "per-sample gradient (B = 1)" : "per-sample gradient (lambda = 0)")
                     : q->mode == MODE_SQEXP ? "exact expansion in 1/B (g = square)"
                                             : "whole batch in the point set";
  snprintf(q->method, sizeof q->method,
           "Sobol' rule (M >= 2, %s): %d digital shifts x %d points in %d dims (%d base "
           "points x %d images under %s), %d atom "
           "combination(s) of the discrete laws summed exactly; error bound = t(0.995, %d) "
           "sd / sqrt(%d) over the shifts (fixed internal seed)",
           path, q->nrep, q->n, q->nq, q->nbase, q->ng, G.what, q->na, q->nrep - 1, q->nrep);
  symgroup_free(&G);
  *out = q;
  return CL_OK;
}

double cl_multi_errmax(const cl_multi *q) { return q->emax; }
const char *cl_multi_method(const cl_multi *q) { return q->method; }
const double *cl_multi_replicates(const cl_multi *q, int *nrep) {
  if (nrep) *nrep = q->nrep;
  return q->reps;
}

cl_status cl_sym_roots(const double *Sg, int n, double *S, double *Sp, char *err) {
  double W[4 * CL_MMAX * CL_MMAX];
  memcpy(W, Sg, sizeof(double) * (size_t)n * (size_t)n);
  gsl_matrix_view sv = gsl_matrix_view_array(W, (size_t)n, (size_t)n);
  gsl_vector *ev = gsl_vector_alloc((size_t)n);
  gsl_matrix *V = gsl_matrix_alloc((size_t)n, (size_t)n);
  gsl_eigen_symmv_workspace *ws = gsl_eigen_symmv_alloc((size_t)n);
  if (!ev || !V || !ws) {
    gsl_vector_free(ev), gsl_matrix_free(V), gsl_eigen_symmv_free(ws);
    return cl_fail(err, CL_ENOMEM, "ode: out of memory");
  }
  gsl_eigen_symmv(&sv.matrix, ev, V, ws);
  double lmax = 0, sq[2 * CL_MMAX], isq[2 * CL_MMAX];
  for (int k = 0; k < n; k++) lmax = fmax(lmax, gsl_vector_get(ev, k));
  for (int k = 0; k < n; k++) {
    double l = gsl_vector_get(ev, k);
    sq[k] = l > 0 ? sqrt(l) : 0;
    isq[k] = l > 1e-12 * fmax(lmax, 1e-300) ? 1 / sqrt(l) : 0;
  }
  for (int r = 0; r < n; r++)
    for (int c = 0; c < n; c++) {
      double a = 0, b = 0;
      for (int k = 0; k < n; k++) {
        double p = gsl_matrix_get(V, (size_t)r, (size_t)k) * gsl_matrix_get(V, (size_t)c, (size_t)k);
        a += p * sq[k], b += p * isq[k];
      }
      S[r * n + c] = a;
      if (Sp) Sp[r * n + c] = b;
    }
  /* exact symmetry (rounding): S[r][c] = S[c][r] */
  for (int r = 0; r < n; r++)
    for (int c = r + 1; c < n; c++) {
      double a = 0.5 * (S[r * n + c] + S[c * n + r]);
      S[r * n + c] = S[c * n + r] = a;
      if (Sp) {
        double b = 0.5 * (Sp[r * n + c] + Sp[c * n + r]);
        Sp[r * n + c] = Sp[c * n + r] = b;
      }
    }
  gsl_eigen_symmv_free(ws);
  gsl_matrix_free(V);
  gsl_vector_free(ev);
  return CL_OK;
}

cl_status cl_multi_sigma(const cl_model *m, const double *R, const double *Q, double *A,
                         double *Sg, char *err) {
  const int K = m->K, M = m->M, d2 = 2 * m->M;
  const double s2 = m->s * m->s, rho = m->rho;
  for (int k = 0; k < K * M; k++)
    if (!isfinite(R[k])) return cl_fail(err, CL_EDIVERGE, "R is not finite");
  for (int k = 0; k < M * M; k++)
    if (!isfinite(Q[k])) return cl_fail(err, CL_EDIVERGE, "Q is not finite");
  double qmax = 0;
  for (int i = 0; i < M; i++) {
    qmax = fmax(qmax, fabs(Q[i * M + i]));
    for (int l = 0; l < M; l++) {
      double a = 0.5 * (Q[i * M + l] + Q[l * M + i]);
      for (int j = 0; j < K; j++) a -= R[j * M + i] * R[j * M + l];
      A[i * M + l] = a;
    }
  }
  double amin = cl_sym_min_eig(A, M);
  if (amin < -1e-9 * fmax(qmax, 1))
    return cl_fail(err, CL_EDIVERGE,
                   "the state left the physical domain: Q - R^T R has eigenvalue %g < 0", amin);
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) {
      double a = A[i * M + l], qq = 0.5 * (Q[i * M + l] + Q[l * M + i]);
      Sg[i * d2 + l] = Sg[(M + i) * d2 + M + l] = a + s2 * qq;
      Sg[i * d2 + M + l] = Sg[(M + i) * d2 + l] = a + rho * s2 * qq;
    }
  return CL_OK;
}

/* Symmetric square root S of Sigma and the pseudo-inverse S^+. */
static cl_status prepare(cl_multi *q, const double *R, const double *Q, char *err) {
  double A[CL_MMAX * CL_MMAX], Sg[4 * CL_MMAX * CL_MMAX];
  cl_status st = cl_multi_sigma(&q->m, R, Q, A, Sg, err);
  return st ? st : cl_sym_roots(Sg, q->d2, q->S, q->Sp, err);
}

/* h = (mu, mu) + S z for one sample; c gets the full feature vector. */
static void sample_h(const cl_multi *q, const double *R, const double *atom, const double *mu0,
                     const double *x, double *c, double *h1, double *h2, const double **zp) {
  const int K = q->K, M = q->M, d2 = q->d2;
  double mu[CL_MMAX];
  memcpy(mu, mu0, sizeof(double) * (size_t)M);
  for (int j = 0; j < K; j++) {
    int k = q->cq[j];
    c[j] = k < 0 ? atom[j] : x[k];
    if (k >= 0) {
      const double cj = x[k], *Rj = R + j * M;
      for (int i = 0; i < M; i++) mu[i] += cj * Rj[i];
    }
  }
  const double *z = x + q->ncq;
  *zp = z;
  for (int r = 0; r < d2; r++) {
    const double *Sr = q->S + r * d2;
    double o = 0;
    for (int k = 0; k < d2; k++) o += Sr[k] * z[k];
    if (r < M) h1[r] = mu[r] + o;
    else h2[r - M] = mu[r - M] + o;
  }
}

/* Adds w times [aR (K x M), T (2M x 2M), P (M x M), V (M x M)] to acc. */
static inline void accumulate(const cl_multi *q, const double *c, const double *z, const double *h1,
                              const double *h2, const double *g1, const double *g2, double w,
                              double *acc) {
  const int K = q->K, M = q->M, d2 = q->d2;
  const double s2 = q->m.s * q->m.s, c1 = 1 + s2, c2 = 1 + q->m.rho * s2;
  double *aR = acc, *T = aR + K * M, *P = T + d2 * d2, *V = P + M * M;
  double wg1[CL_MMAX], wg2[CL_MMAX];
  for (int i = 0; i < M; i++) wg1[i] = w * g1[i], wg2[i] = w * g2[i];
  for (int j = 0; j < K; j++)
    for (int i = 0; i < M; i++) aR[j * M + i] += c[j] * (wg1[i] + wg2[i]);
  for (int i = 0; i < M; i++)
    for (int r = 0; r < d2; r++) {
      T[i * d2 + r] += wg1[i] * z[r];
      T[(M + i) * d2 + r] += wg2[i] * z[r];
    }
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) {
      P[i * M + l] += wg1[l] * h1[i] + wg2[l] * h2[i];
      V[i * M + l] += c1 * (wg1[i] * g1[l] + wg2[i] * g2[l]) + c2 * (wg1[i] * g2[l] + wg2[i] * g1[l]);
    }
}

/* mu0 = R^T (atom part of c) */
static void atom_mu(const cl_multi *q, const double *R, int a, double *mu0) {
  const int K = q->K, M = q->M;
  for (int i = 0; i < M; i++) mu0[i] = 0;
  for (int j = 0; j < K; j++)
    if (q->cq[j] < 0)
      for (int i = 0; i < M; i++) mu0[i] += q->ax[(size_t)a * K + j] * R[j * M + i];
}

static void chunk_eval(const cl_multi *q, const double *R, const double *atom, const double *mu0,
                       const double *pts, int nch, chunk *ck) {
  const int K = q->K, d2 = q->d2, nq = q->nq;
  for (int k = 0; k < nch; k++)
    sample_h(q, R, atom, mu0, pts + (size_t)k * nq, ck->c + k * K, ck->h + k * d2,
             ck->h + k * d2 + q->M, &ck->z[k]);
  cl_act_eval_vec(q->m.act, ck->h, ck->y, ck->sd, nch * d2);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define CL_MULTI_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CL_MULTI_CLONES
#endif

static inline double dot_ch(const double *restrict a, const double *restrict b, int n) {
  double t = 0;
#pragma omp simd reduction(+ : t)
  for (int k = 0; k < n; k++) t += a[k] * b[k];
  return t;
}

/* B = 1 or lambda = 0 (lam = 0 then): the nch points of a chunk by
 * coordinate (point index fastest, so that every loop below is a SIMD loop
 * over the points): h = mu + S z, sigma, the per-sample gradient and the
 * sums of accumulate(), weight w, added to acc. */
CL_MULTI_CLONES static void sample_chunk(const cl_multi *q, const double *R, const double *atom,
                                         const double *mu0, const double *pts, int nch, double lam,
                                         double w, chunk *ck, double *acc) {
  const int K = q->K, M = q->M, d2 = q->d2, nq = q->nq, ncq = q->ncq;
  double *restrict cs = ck->c, *restrict zs = ck->zs, *restrict hs = ck->h, *restrict ys = ck->y,
                   *restrict ss = ck->sd, *restrict gs = ck->gs;
  /* transpose the points of the chunk */
  for (int k = 0; k < nch; k++) {
    const double *x = pts + (size_t)k * nq;
    for (int c = 0; c < ncq; c++) cs[c * CH + k] = x[c];
    for (int r = 0; r < d2; r++) zs[r * CH + k] = x[ncq + r];
  }
  /* h_r = mu0_i + sum_j c_j R_ji + (S z)_r, i = r mod M */
  for (int r = 0; r < d2; r++) {
    const int i = r % M;
    double *restrict hr = hs + r * CH;
    for (int k = 0; k < nch; k++) hr[k] = mu0[i];
    for (int j = 0; j < K; j++) {
      if (q->cq[j] < 0) continue;
      const double Rji = R[j * M + i], *restrict cj = cs + q->cq[j] * CH;
#pragma omp simd
      for (int k = 0; k < nch; k++) hr[k] += Rji * cj[k];
    }
    for (int c = 0; c < d2; c++) {
      const double Src = q->S[r * d2 + c], *restrict zc = zs + c * CH;
#pragma omp simd
      for (int k = 0; k < nch; k++) hr[k] += Src * zc[k];
    }
    cl_act_eval_vec(q->m.act, hr, ys + r * CH, ss + r * CH, nch);
  }
  /* the per-sample gradient g1 (rows 0..M-1), g2 (rows M..2M-1) */
  if (lam == 0) {
    for (int i = 0; i < M; i++) {
      const double *restrict y1 = ys + i * CH, *restrict y2 = ys + (M + i) * CH;
      const double *restrict s1 = ss + i * CH, *restrict s2 = ss + (M + i) * CH;
      double *restrict g1 = gs + i * CH, *restrict g2 = gs + (M + i) * CH;
#pragma omp simd
      for (int k = 0; k < nch; k++) g1[k] = s1[k] * y2[k], g2[k] = s2[k] * y1[k];
    }
  } else {
    double a1[CH], a2[CH];
    const int sq = q->m.g == CL_G_SQUARE;
    for (int k = 0; k < nch; k++) a1[k] = a2[k] = 0;
    for (int i = 0; i < M; i++) {
      const double *restrict y1 = ys + i * CH, *restrict y2 = ys + (M + i) * CH;
      if (sq) {
#pragma omp simd
        for (int k = 0; k < nch; k++) a1[k] += y1[k] * y1[k], a2[k] += y2[k] * y2[k];
      } else {
#pragma omp simd
        for (int k = 0; k < nch; k++) a1[k] += fabs(y1[k]), a2[k] += fabs(y2[k]);
      }
    }
    for (int i = 0; i < M; i++) {
      const double *restrict y1 = ys + i * CH, *restrict y2 = ys + (M + i) * CH;
      const double *restrict s1 = ss + i * CH, *restrict s2 = ss + (M + i) * CH;
      double *restrict g1 = gs + i * CH, *restrict g2 = gs + (M + i) * CH;
      if (sq) {
#pragma omp simd
        for (int k = 0; k < nch; k++) {
          g1[k] = s1[k] * (y2[k] - 2 * lam * y1[k] * (a2[k] - y2[k] * y2[k]));
          g2[k] = s2[k] * (y1[k] - 2 * lam * y2[k] * (a1[k] - y1[k] * y1[k]));
        }
      } else {
#pragma omp simd
        for (int k = 0; k < nch; k++) {
          double t1 = (y1[k] > 0) - (y1[k] < 0), t2 = (y2[k] > 0) - (y2[k] < 0);
          g1[k] = s1[k] * (y2[k] - lam * t1 * (a2[k] - fabs(y2[k])));
          g2[k] = s2[k] * (y1[k] - lam * t2 * (a1[k] - fabs(y1[k])));
        }
      }
    }
  }
  /* the sums: [aR (K x M), T (2M x 2M), P (M x M), V (M x M)] */
  const double s2 = q->m.s * q->m.s, c1 = 1 + s2, c2 = 1 + q->m.rho * s2;
  double *aR = acc, *T = aR + K * M, *P = T + d2 * d2, *V = P + M * M;
  double gsum[CL_MMAX];
  for (int i = 0; i < M; i++) {
    const double *restrict g1 = gs + i * CH, *restrict g2 = gs + (M + i) * CH;
    double t = 0;
#pragma omp simd reduction(+ : t)
    for (int k = 0; k < nch; k++) t += g1[k] + g2[k];
    gsum[i] = t;
  }
  for (int j = 0; j < K; j++) {
    const int cj = q->cq[j];
    for (int i = 0; i < M; i++) {
      if (cj < 0) {
        aR[j * M + i] += w * atom[j] * gsum[i];
        continue;
      }
      const double *restrict c = cs + cj * CH, *restrict g1 = gs + i * CH, *restrict g2 = gs + (M + i) * CH;
      double t = 0;
#pragma omp simd reduction(+ : t)
      for (int k = 0; k < nch; k++) t += c[k] * (g1[k] + g2[k]);
      aR[j * M + i] += w * t;
    }
  }
  for (int a = 0; a < d2; a++)
    for (int r = 0; r < d2; r++) T[a * d2 + r] += w * dot_ch(gs + a * CH, zs + r * CH, nch);
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) {
      P[i * M + l] += w * (dot_ch(gs + l * CH, hs + i * CH, nch) + dot_ch(gs + (M + l) * CH, hs + (M + i) * CH, nch));
      if (l < i) continue;
      const double v = c1 * (dot_ch(gs + i * CH, gs + l * CH, nch) + dot_ch(gs + (M + i) * CH, gs + (M + l) * CH, nch)) +
                       c2 * (dot_ch(gs + i * CH, gs + (M + l) * CH, nch) + dot_ch(gs + (M + i) * CH, gs + l * CH, nch));
      V[i * M + l] += w * v;
      if (l != i) V[l * M + i] += w * v;
    }
}

/* One replicate: fills acc (and the SQEXP corrections into V). */
static void replicate(cl_multi *q, int r, const double *R) {
  const int K = q->K, M = q->M, d2 = q->d2, n = q->n, nq = q->nq, B = q->B;
  const double lam = q->m.lambda, wn = 1.0 / n;
  const double *pts = q->pts + (size_t)r * n * nq;
  double h1[CL_MMAX], h2[CL_MMAX], g1[CL_MMAX], g2[CL_MMAX], mu0[CL_MMAX];
  chunk *ck = q->ck;
  memset(q->acc, 0, sizeof(double) * (size_t)q->asz);
  if (q->mode == MODE_SAMPLE) {
    double l = B == 1 ? lam : 0;
    for (int a = 0; a < q->na; a++) {
      atom_mu(q, R, a, mu0);
      const double w = q->aw[a] * wn, *atom = q->ax + (size_t)a * K;
      for (int p0 = 0; p0 < n; p0 += CH) {
        const int nch = n - p0 < CH ? n - p0 : CH;
        sample_chunk(q, R, atom, mu0, pts + (size_t)p0 * nq, nch, l, w, ck, q->acc);
      }
    }
    return;
  }
  if (q->mode == MODE_BATCH) {
    const int per = q->ncq + d2;
    double H1[CL_MMAX * 16], H2[CL_MMAX * 16], D1[CL_MMAX * 16], D2[CL_MMAX * 16];
    double C[CL_KMAX * 16];
    const double *Z[16];
    atom_mu(q, R, 0, mu0);
    for (int p = 0; p < n; p++) {
      const double *x = pts + (size_t)p * nq;
      for (int b = 0; b < B; b++) {
        sample_h(q, R, q->ax, mu0, x + b * per, C + b * K, h1, h2, &Z[b]);
        for (int i = 0; i < M; i++) H1[i * B + b] = h1[i], H2[i * B + b] = h2[i];
      }
      cl_batch_loss(&q->m, H1, H2, D1, D2);
      for (int b = 0; b < B; b++) {
        for (int i = 0; i < M; i++)
          h1[i] = H1[i * B + b], h2[i] = H2[i * B + b], g1[i] = B * D1[i * B + b],
          g2[i] = B * D2[i * B + b];
        accumulate(q, C + b * K, Z[b], h1, h2, g1, g2, wn / B, q->acc);
      }
    }
    return;
  }
  /* SQEXP: pass 1, the single-sample moments m_ik = E[phi_ik] and
   * E[phi_ik phi_lm], phi_ik = y1_i y2_k */
  const int M2 = M * M, M4 = M2 * M2;
  double *mm = q->mom, *PP = mm + M2, *BB = PP + M4; /* BB: 4 blocks of M4 */
  memset(mm, 0, sizeof(double) * (size_t)(M2 + 5 * M4));
  for (int a = 0; a < q->na; a++) {
    atom_mu(q, R, a, mu0);
    const double w = q->aw[a] * wn, *atom = q->ax + (size_t)a * K;
    for (int p0 = 0; p0 < n; p0 += CH) {
     const int nch = n - p0 < CH ? n - p0 : CH;
     chunk_eval(q, R, atom, mu0, pts + (size_t)p0 * nq, nch, ck);
     for (int pk = 0; pk < nch; pk++) {
      const double *y1 = ck->y + pk * d2, *y2 = y1 + M;
      double phi[CL_MMAX * CL_MMAX];
      for (int i = 0; i < M; i++)
        for (int k = 0; k < M; k++) phi[i * M + k] = y1[i] * y2[k];
      for (int u = 0; u < M2; u++) {
        mm[u] += w * phi[u];
        const double wu = w * phi[u];
        for (int v = 0; v < M2; v++) PP[u * M2 + v] += wu * phi[v];
      }
     }
    }
  }
  /* PP -> Cov_1(phi_u, phi_v) */
  for (int u = 0; u < M2; u++)
    for (int v = 0; v < M2; v++) PP[u * M2 + v] -= mm[u] * mm[v];
  /* pass 2: gmf and the beta products */
  const double f1 = 2 * lam * (B - 1) / B, f0 = 2 * lam / B;
  for (int a = 0; a < q->na; a++) {
    atom_mu(q, R, a, mu0);
    const double w = q->aw[a] * wn, *atom = q->ax + (size_t)a * K;
    for (int p0 = 0; p0 < n; p0 += CH) {
     const int nch = n - p0 < CH ? n - p0 : CH;
     chunk_eval(q, R, atom, mu0, pts + (size_t)p0 * nq, nch, ck);
     for (int pk = 0; pk < nch; pk++) {
      const double *h1 = ck->h + pk * d2, *h2 = h1 + M, *y1 = ck->y + pk * d2, *y2 = y1 + M;
      const double *sd1 = ck->sd + pk * d2, *sd2 = sd1 + M;
      double a1 = 0, a2 = 0, be[2][CL_MMAX * CL_MMAX];
      for (int k = 0; k < M; k++) a1 += y1[k] * y1[k], a2 += y2[k] * y2[k];
      for (int i = 0; i < M; i++) {
        double t1 = sd1[i] * y2[i] - f0 * sd1[i] * y1[i] * (a2 - y2[i] * y2[i]);
        double t2 = sd2[i] * y1[i] - f0 * sd2[i] * y2[i] * (a1 - y1[i] * y1[i]);
        for (int k = 0; k < M; k++) {
          be[0][i * M + k] = k == i ? 0 : sd1[i] * y2[k];
          be[1][i * M + k] = k == i ? 0 : sd2[i] * y1[k];
          t1 -= f1 * mm[i * M + k] * be[0][i * M + k];
          t2 -= f1 * mm[k * M + i] * be[1][i * M + k];
        }
        g1[i] = t1, g2[i] = t2;
      }
      accumulate(q, ck->c + pk * K, ck->z[pk], h1, h2, g1, g2, w, q->acc);
      for (int ab = 0; ab < 4; ab++) {
        const double *ba = be[ab >> 1], *bb = be[ab & 1];
        double *blk = BB + (size_t)ab * M4;
        for (int u = 0; u < M2; u++) {
          if (ba[u] == 0) continue;
          const double wu = w * ba[u];
          for (int v = 0; v < M2; v++) blk[u * M2 + v] += wu * bb[v];
        }
      }
     }
    }
  }
  /* the fluctuation of the other B - 1 samples:
   * V_il += (4 lam^2 (B - 1) / B^2) sum_{k != i, m != l} E[beta^a_ik beta^b_lm] E[delta delta] */
  const double s2 = q->m.s * q->m.s, c1 = 1 + s2, c2 = 1 + q->m.rho * s2;
  const double fv = 4 * lam * lam * (B - 1) / ((double)B * B);
  double *V = q->acc + K * M + d2 * d2 + M * M;
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) {
      double sum = 0;
      for (int k = 0; k < M; k++) {
        if (k == i) continue;
        for (int mq = 0; mq < M; mq++) {
          if (mq == l) continue;
          const int u = i * M + k, v = l * M + mq, ut = k * M + i, vt = mq * M + l;
          sum += c1 * (BB[0 * M4 + u * M2 + v] * PP[u * M2 + v] + BB[3 * M4 + u * M2 + v] * PP[ut * M2 + vt]) +
                 c2 * (BB[1 * M4 + u * M2 + v] * PP[u * M2 + vt] + BB[2 * M4 + u * M2 + v] * PP[ut * M2 + v]);
        }
      }
      V[i * M + l] += fv * sum;
    }
}

void cl_multi_assemble(const cl_model *m, const double *R, const double *Q, const double *Sp,
                       const double *acc, double *out) {
  const int K = m->K, M = m->M, d2 = 2 * m->M;
  const double tau = m->tau, s = m->s, rho = m->rho, beta = m->reg.kind == CL_REG_L2 ? m->reg.beta2 : 0;
  const double *aR = acc, *T = aR + K * M, *P = T + d2 * d2, *V = P + M * M;
  double *dR = out, *dQ = out + K * M;
  for (int j = 0; j < K; j++) {
    double cv1[2 * CL_MMAX], cv2[2 * CL_MMAX], u1[2 * CL_MMAX], u2[2 * CL_MMAX];
    for (int l = 0; l < M; l++) {
      const double r = R[j * M + l];
      cv1[l] = s * r, cv1[M + l] = s * rho * r;
      cv2[l] = s * rho * r, cv2[M + l] = s * r;
    }
    for (int a = 0; a < d2; a++) {
      double x1 = 0, x2 = 0;
      for (int b = 0; b < d2; b++) x1 += Sp[a * d2 + b] * cv1[b], x2 += Sp[a * d2 + b] * cv2[b];
      u1[a] = x1, u2[a] = x2;
    }
    for (int i = 0; i < M; i++) {
      double st = 0;
      for (int a = 0; a < d2; a++) st += u1[a] * T[i * d2 + a] + u2[a] * T[(M + i) * d2 + a];
      dR[j * M + i] = tau * (aR[j * M + i] + s * st - beta * R[j * M + i]);
    }
  }
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++)
      dQ[i * M + l] = tau * (P[i * M + l] + P[l * M + i]) - 2 * tau * beta * Q[i * M + l] +
                      tau * tau * V[i * M + l] / m->B;
  /* exact symmetry */
  for (int i = 0; i < M; i++)
    for (int l = i + 1; l < M; l++) dQ[i * M + l] = dQ[l * M + i] = 0.5 * (dQ[i * M + l] + dQ[l * M + i]);
}

static void assemble(const cl_multi *q, const double *R, const double *Q, double *out) {
  cl_multi_assemble(&q->m, R, Q, q->Sp, q->acc, out);
}

cl_status cl_multi_eval_rep(cl_multi *q, int rep, const double *R, const double *Q, double *dR,
                            double *dQ, char *err) {
  cl_status st = prepare(q, R, Q, err);
  if (st) return st;
  const int KM = q->K * q->M;
  double *out = q->reps + (size_t)rep * q->nout;
  replicate(q, rep, R);
  assemble(q, R, Q, out);
  for (int k = 0; k < q->nout; k++) {
    if (!isfinite(out[k])) return cl_fail(err, CL_EDIVERGE, "the drift is not finite");
    if (k < KM) dR[k] = out[k];
    else dQ[k - KM] = out[k];
  }
  return CL_OK;
}

double cl_multi_tquant(const cl_multi *q) { return q->tq; }

cl_status cl_multi_eval(cl_multi *q, const double *R, const double *Q, double *dR, double *dQ,
                        double *ebar, char *err) {
  cl_status st = prepare(q, R, Q, err);
  if (st) return st;
  const int nout = q->nout, KM = q->K * q->M;
  for (int r = 0; r < q->nrep; r++) {
    replicate(q, r, R);
    assemble(q, R, Q, q->reps + (size_t)r * nout);
  }
  q->emax = 0;
  for (int k = 0; k < nout; k++) {
    double mean = 0, var = 0;
    for (int r = 0; r < q->nrep; r++) mean += q->reps[(size_t)r * nout + k];
    mean /= q->nrep;
    for (int r = 0; r < q->nrep; r++) {
      double e = q->reps[(size_t)r * nout + k] - mean;
      var += e * e;
    }
    double eb = q->tq * sqrt(var / (q->nrep - 1) / q->nrep);
    if (ebar) ebar[k] = eb;
    q->emax = fmax(q->emax, eb);
    if (k < KM) dR[k] = mean;
    else dQ[k - KM] = mean;
  }
  for (int k = 0; k < nout; k++)
    if (!isfinite(k < KM ? dR[k] : dQ[k - KM]))
      return cl_fail(err, CL_EDIVERGE, "the drift is not finite");
  return CL_OK;
}
