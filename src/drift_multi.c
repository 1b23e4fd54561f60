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
 *           whole batch (B samples), D from cl_data_batch_loss.
 * Integration: Sobol' points (GSL) over (continuous c, z), mapped by the
 * laws' quantile functions and Phi^-1, randomised by NREP digital shifts
 * from a fixed internal seed; the drift is the mean of the NREP rules and
 * the bound is BOUND_FACTOR x the Student-t 99.5% quantile x sd / sqrt(NREP).  Discrete
 * laws are summed over their atoms when the product of atom counts is small
 * (folded c -> -c for odd sigma and symmetric laws). */
#include "act_pole.h"
#include "drift_multi.h"
#include "linalg.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_qrng.h>
#include <math.h>
#include <omp.h>
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
/* NREP_DEFAULT shifted rules of at least NPTS_MIN points each, with at
 * least NBASE_MIN base points (docs/multi.md s.3, s.5) */
enum { NREP_DEFAULT = 16, NREP_MAX = 64, ATOMS_MAX = 64, NPTS_MIN = 128, NBASE_MIN = 64, NGROUP_MAX = 128 };
/* the whole-batch kernel holds a batch on the stack: at most BATCH_BMAX
 * samples (a larger B falls back to Monte Carlo, as above CL_MULTI_DIMAX) */
enum { BATCH_BMAX = 16 };
#define SHIFT_SEED 0x6c61747469636531ULL
/* The replicas' errors are skewed and heavy-tailed (a rule's points nearest
 * the faces of the cube, where Phi^-1 and the quantiles are unbounded, carry
 * much of its error), so t(0.995, 15) sd / 4 over 16 shifts missed the exact
 * drift at up to 6% of the checks instead of 1%, by up to 2.28 times, and
 * at many states at once for an unlucky draw (bench/qmcbound, docs/multi.md
 * s.3); the factor puts the largest measured miss at 0.76 of the bound */
#define BOUND_FACTOR 3.0

/* A chunk of CH points, by coordinate with the point index fastest (row r
 * of a block at r * CH), so that every loop over the points is a SIMD loop:
 * h = (h1, h2), sigma and sigma' of every h (libmvec), the per-sample
 * gradient g (2M rows: g1, g2, turned into u = g1 + g2, v = g1 - g2 by
 * chunk_sums), and for the 1/B expansion the
 * products phi_ik = y1_i y2_k (M^2 rows) and beta (2 M (M - 1) rows).  One
 * per thread: the blocks live in one allocation (chunk_alloc). */
enum { CH = 128 };
typedef struct chunk_s {
  double *h, *y, *sd, *gs, *ph, *be;
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
  /* per replicate slot (its own state in cl_multi_eval_reps): the square
   * root S of Sigma and the Stein map G S (whole-batch path; docs/multi.md
   * s.12); on the other paths, in sum and difference coordinates (prepare,
   * docs/multi.md s.7), S holds [Hp, Hm] (half the roots of Sigma+,
   * Sigma-, M x M each) and GS their Stein maps [G+ Sigma+^1/2,
   * G- Sigma-^1/2] */
  double (*S)[4 * CL_MMAX * CL_MMAX], (*GS)[4 * CL_MMAX * CL_MMAX]; /* nrep each */
  double emax;
  /* points in chunk layout (SAMPLE, SQEXP): replicate r, chunk u at
   * ptt + (r * (n / CH) + u) * CH * nq, coordinate row c at c * CH */
  double *ptt;
  /* the deterministic threads (docs/multi.md s.8): units of work (one chunk
   * of one atom combination), each with its own partial sums (pstride
   * doubles) added in unit order; a chunk scratch per thread */
  int nunit;
  size_t pstride;
  double *part;
  double *hys; /* SQEXP: h, sigma, sigma' of every unit from pass 1, for pass 2 */
  chunk **cks;
  int nck;
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
  free(q->ptt);
  free(q->part);
  free(q->hys);
  free(q->S);
  free(q->GS);
  for (int k = 0; k < q->nck; k++) free(q->cks[k]);
  free(q->cks);
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
  int fold[CL_KMAX + 2 * CL_MMAX]; /* coordinate k of the base points is drawn from its law's positive half */
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
    if (!up) return cl_fail(err, CL_ENOMEM, "out of memory");
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
      if (!cp) return free(up), cl_fail(err, CL_ENOMEM, "out of memory");
      ncp = class_perms(ncq, ccls, cp, (int)f4);
      size *= ncp;
    }
  }
  G->ng = (int)size;
  G->src = malloc(sizeof(int) * (size_t)size * nq1);
  G->sg = malloc(sizeof(int) * (size_t)size * nq1);
  if (!G->src || !G->sg) {
    free(up), free(cp), symgroup_free(G);
    return cl_fail(err, CL_ENOMEM, "out of memory");
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

/* The power of |c| that the integrand of V grows like along a feature
 * (docs/multi.md s.2's ghat; 0 for a bounded sigma): ghat is sd y, of
 * degree 1 (relu, linear) or 5 (cubic), plus sd y1 y2^2 (degree 3 or 11)
 * where lambda != 0 with g = square; V is its square. */
static int v_power(const cl_model *m) {
  int y, sd;
  switch (m->act) {
  case CL_ACT_LINEAR:
  case CL_ACT_RELU: y = 1, sd = 0; break;
  case CL_ACT_CUBIC: y = 3, sd = 2; break;
  default: return 0;
  }
  return 2 * (sd + y + (m->lambda != 0 && m->g == CL_G_SQUARE ? 2 * y : 0));
}

/* The bound t sd / sqrt(R) over the R shifted rules needs the replicas'
 * spread to estimate their variance, i.e. a finite fourth moment of the
 * integrand: E|c|^(4p) with p = v_power, nu > 4p for a student law.  Just
 * above it the spread of 8 replicas still missed the tail (linear, nu = 8.5:
 * 1.01 of the bound; docs/multi.md s.3), so the threshold is 4p + 1 for
 * p = 2.  For p = 6 (lambda != 0, g = square) that was too loose: with
 * student:3:nu linear was beyond the bound at 10 of 81 states at nu = 25.5
 * and 2 at nu = 35, none at 37.5 or 40, so the threshold there is 6p + 1. */
static cl_status student_refused(const cl_model *m, char *err) {
  const int p = v_power(m);
  if (!p) return CL_OK;
  const double numin = (p > 2 ? 6.0 : 4.0) * p + 1;
  for (int j = 0; j < m->K; j++)
    if (m->c[j].kind == CL_LAW_STUDENT && !(m->c[j].nu > numin))
      return cl_fail(err, CL_EINVAL,
                     "act %s: the Sobol' rules (M >= 2) cannot bound their error with c %d student "
                     "(nu = %g): V grows like |c|^%d and the bound needs nu > %g; use simulate or "
                     "reduced, or a larger nu",
                     cl_act_name(m->act), j + 1, m->c[j].nu, p, numin);
  return CL_OK;
}

cl_status cl_multi_alloc(const cl_model *m, const cl_quad_opts *o, cl_multi **out, char *err) {
  return cl_multi_alloc_shifts(m, o, 0, 0, out, err);
}

cl_status cl_multi_alloc_shifts(const cl_model *m, const cl_quad_opts *o, uint64_t seed, int nrep,
                                cl_multi **out, char *err) {
  return cl_multi_alloc_rule(m, o, seed, nrep, CL_MULTI_AUTO, out, err);
}

/* The base points of the rule (nbase x nq) as 32-bit words: the first
 * points of GSL's Sobol', Halton or reverse Halton sequence, the same for
 * every replicate (CL_MULTI_IID: none, drawn per replicate). */
static int base_words(int rule, int nbase, int nq, uint32_t *w) {
  if (rule == CL_MULTI_IID) return 0;
  gsl_qrng *g = gsl_qrng_alloc(rule == CL_MULTI_SOBOL    ? gsl_qrng_sobol
                               : rule == CL_MULTI_HALTON ? gsl_qrng_halton
                                                         : gsl_qrng_reversehalton,
                               (unsigned)nq);
  double *x = malloc(sizeof(double) * (size_t)nq);
  if (!g || !x) return free(x), gsl_qrng_free(g), -1;
  for (int p = 0; p < nbase; p++) {
    gsl_qrng_get(g, x);
    for (int k = 0; k < nq; k++) w[(size_t)p * nq + k] = (uint32_t)(x[k] * 4294967296.0);
  }
  free(x), gsl_qrng_free(g);
  return 0;
}

cl_status cl_multi_alloc_rule(const cl_model *m, const cl_quad_opts *o, uint64_t seed, int nrep, int rule,
                              cl_multi **out, char *err) {
  *out = NULL;
  if (nrep < 0 || nrep == 1 || nrep > NREP_MAX)
    return cl_fail(err, CL_EINVAL, "Sobol' rules: %d shifts (2 to %d)", nrep, NREP_MAX);
  /* cubic's V is a polynomial of degree 10 (lambda = 0) or 22 in h: the 8
   * shifted replicas did not see its tails, and the bound missed the exact
   * drift at 4 (gauss) and 49 (laplace) of 81 states, by up to 6.6x, and 19x
   * with lambda != 0 (docs/multi.md s.3).  The quad rule is exact for it. */
  if (m->act == CL_ACT_CUBIC)
    return cl_fail(err, CL_EINVAL,
                   "act cubic: the Sobol' rules (M >= 2) cannot bound their error for cubic sigma "
                   "(V is a polynomial of degree up to 22 in c); use expect quad where rho >= 0 "
                   "(g square where lambda != 0), else simulate or reduced");
  cl_status sst = student_refused(m, err);
  if (sst) return sst;
  cl_multi *q = calloc(1, sizeof *q);
  if (!q) return cl_fail(err, CL_ENOMEM, "out of memory");
  q->m = *m;
  q->K = m->K, q->M = m->M, q->B = m->B, q->d2 = 2 * m->M;
  const int K = q->K, M = q->M;
  if (m->B == 1 || m->lambda == 0) q->mode = MODE_SAMPLE;
  else if (m->g == CL_G_SQUARE) q->mode = MODE_SQEXP;
  else q->mode = MODE_BATCH;
  q->Bq = q->mode == MODE_BATCH ? m->B : 1;
  q->nrep = nrep ? nrep : NREP_DEFAULT;
  q->S = calloc((size_t)q->nrep, sizeof *q->S), q->GS = calloc((size_t)q->nrep, sizeof *q->GS);
  if (!q->S || !q->GS) return cl_multi_free(q), cl_fail(err, CL_ENOMEM, "out of memory");
  /* the bound's factor: BOUND_FACTOR x the Student t quantile t_{0.995, nrep - 1} */
  q->tq = BOUND_FACTOR * gsl_cdf_tdist_Pinv(0.995, q->nrep - 1);
  /* atoms: discrete laws summed exactly if the product of atom counts is small */
  cl_rule atoms[CL_KMAX];
  memset(atoms, 0, sizeof atoms);
  long prod = 1;
  int odd = cl_act_odd(m->act);
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
  /* above 40 dimensions the default is the caller's Monte Carlo: the
   * randomised Halton rules were measured 2.5-20 times worse at the same
   * points (bench/qmchalton, docs/multi.md s.3); they stay for that bench */
  const int dimax = rule == CL_MULTI_AUTO || rule == CL_MULTI_SOBOL ? CL_MULTI_SOBOL_DIMAX : CL_MULTI_DIMAX;
  if (q->nq > dimax || q->Bq > BATCH_BMAX) {
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
    return cl_fail(err, CL_ENOMEM, "out of memory");
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
    /* default budget (docs/multi.md, bench/multi): 2^12 points per
     * replicate (16 of them) for M = 2, fewer per atom combination, at
     * least 2^8 */
    long tot = M <= 2 ? 1L << 12 : M <= 4 ? 1L << 11 : 1L << 10;
    if (q->mode == MODE_BATCH) tot *= 4;
    n = tot / q->na;
    if (n < 256) n = 256;
  }
  /* a minimum of NPTS_MIN points per rule (and atom combination): fewer
   * leave a handful of base points per shift and a bound that means little
   * (docs/multi.md s.3); a smaller --qmc-points is raised, with a note */
  long nasked = n;
  if (n < NPTS_MIN) n = NPTS_MIN;
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
    const long gmax = (1L << lg) / NBASE_MIN < NGROUP_MAX ? (1L << lg) / NBASE_MIN : NGROUP_MAX;
    if (symgroup_build(m, q->cq, q->ncq, odd && !atoms_folded, (int)gmax, &G, e2)) {
      for (int j = 0; j < K; j++) cl_rule_free(&atoms[j]);
      cl_multi_free(q);
      return cl_fail(err, CL_ENOMEM, "%s", e2);
    }
  }
  {
    /* the power of 2 nearest to 2^lg / |G| (in log scale), at least
     * NBASE_MIN, and a whole number of chunks per rule */
    double t = (double)(1L << lg) / G.ng;
    int lb = 0;
    while (lb < 20 && (double)(1L << (lb + 1)) <= t * 1.4142135623730951) lb++;
    while ((1L << lb) < NBASE_MIN || ((1L << lb) * G.ng) % CH) lb++;
    q->nbase = 1 << lb;
    q->ng = G.ng;
    q->n = q->nbase * G.ng;
  }
  q->nout = K * M + M * M;
  q->asz = K * M + 4 * M * M + 2 * M * M;
  size_t npts = (size_t)q->nrep * (size_t)q->n * (size_t)q->nq;
  q->pts = malloc(sizeof(double) * (npts ? npts : 1));
  q->acc = malloc(sizeof(double) * (size_t)q->asz * (size_t)q->nrep);
  q->reps = malloc(sizeof(double) * (size_t)q->nrep * (size_t)q->nout);
  size_t M4 = (size_t)M * M * M * M;
  q->mom = q->mode == MODE_SQEXP ? malloc(sizeof(double) * (M * M + 5 * M4) * (size_t)q->nrep) : NULL;
  /* n is a multiple of CH (above) */
  q->nunit = q->na * (q->n / CH);
  q->pstride = (size_t)q->asz;
  if (q->mode == MODE_SQEXP) {
    size_t p1 = (size_t)(M * M) + M4, p2 = (size_t)q->asz + 4 * M4;
    q->pstride = p1 > p2 ? p1 : p2;
  }
  q->part = malloc(sizeof(double) * q->pstride * (size_t)q->nunit * (size_t)q->nrep);
  if (q->mode == MODE_SQEXP) q->hys = malloc(sizeof(double) * 3 * (size_t)q->d2 * CH * (size_t)q->nunit * (size_t)q->nrep);
  if (!q->pts || !q->part || (q->mode == MODE_SQEXP && !q->hys) || !q->acc || !q->reps || (q->mode == MODE_SQEXP && !q->mom)) {
    for (int j = 0; j < K; j++) cl_rule_free(&atoms[j]);
    cl_multi_free(q), symgroup_free(&G);
    return cl_fail(err, CL_ENOMEM, "out of memory for the point set (%zu values)", npts);
  }
  /* the point sets: base points (Sobol' by default), shifts, quantile
   * functions */
  uint64_t st = seed ? seed : SHIFT_SEED;
  const int per = q->ncq + q->d2;
  if (rule == CL_MULTI_AUTO) rule = CL_MULTI_SOBOL;
  uint32_t *base = malloc(sizeof(uint32_t) * (size_t)q->nbase * (size_t)q->nq);
  if (!base || base_words(rule, q->nbase, q->nq, base)) {
    free(base), symgroup_free(&G);
    for (int j = 0; j < K; j++) cl_rule_free(&atoms[j]);
    cl_multi_free(q);
    return cl_fail(err, CL_ENOMEM, "out of memory for the point set");
  }
  for (int r = 0; r < q->nrep; r++) {
    uint32_t dshift[CL_MULTI_DIMAX];
    for (int k = 0; k < q->nq; k++) dshift[k] = (uint32_t)(splitmix(&st) >> 32);
    if (rule == CL_MULTI_IID)
      for (size_t k = 0; k < (size_t)q->nbase * (size_t)q->nq; k++) base[k] = (uint32_t)(splitmix(&st) >> 32);
    for (int p = 0; p < q->nbase; p++) {
      /* the base point first, then its images under the group */
      double *x = q->pts + ((size_t)r * q->n + (size_t)p * G.ng) * q->nq;
      for (int k = 0; k < q->nq; k++) {
        /* Sobol': digital shift, XOR of the 32-bit expansion with a random
         * word; Halton: shift modulo 1 (Cranley-Patterson), the sum of the
         * words modulo 2^32; iid: the words themselves.  Either way every
         * point of a replicate is uniform on the 2^32 cell midpoints */
        const uint32_t b = base[(size_t)p * q->nq + k];
        const uint32_t u = rule == CL_MULTI_SOBOL ? b ^ dshift[k] : rule == CL_MULTI_IID ? b : b + dshift[k];
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
  if (q->mode != MODE_BATCH) {
    /* the chunk layout of the kernels: coordinate rows of CH points */
    q->ptt = malloc(sizeof(double) * (npts ? npts : 1));
    if (!q->ptt) {
      cl_multi_free(q), symgroup_free(&G);
      return cl_fail(err, CL_ENOMEM, "out of memory for the point set (%zu values)", npts);
    }
    const int nq = q->nq;
    for (size_t blk = 0; blk < (size_t)q->nrep * (size_t)(q->n / CH); blk++)
      for (int k = 0; k < CH; k++)
        for (int c = 0; c < nq; c++)
          q->ptt[blk * CH * nq + (size_t)c * CH + k] = q->pts[(blk * CH + k) * nq + c];
    free(q->pts), q->pts = NULL;
    /* the kernels work in sum and difference coordinates (docs/multi.md
     * s.7): z rows (z1, z2) -> (zp, zm) = (z1 + z2, z1 - z2) */
    for (size_t blk = 0; blk < (size_t)q->nrep * (size_t)(q->n / CH); blk++) {
      double *z = q->ptt + blk * CH * nq + (size_t)q->ncq * CH;
      for (int b = 0; b < M; b++)
        for (int k = 0; k < CH; k++) {
          const double z1 = z[b * CH + k], z2 = z[(M + b) * CH + k];
          z[b * CH + k] = z1 + z2, z[(M + b) * CH + k] = z1 - z2;
        }
    }
  }
  const char *path = q->mode == MODE_SAMPLE
                         ? (m->B == 1 ? "per-sample gradient (B = 1)" : "per-sample gradient (lambda = 0)")
                     : q->mode == MODE_SQEXP ? "exact expansion in 1/B (g = square)"
                                             : "whole batch in the point set";
  const char *rname = rule == CL_MULTI_SOBOL    ? "Sobol' rule"
                      : rule == CL_MULTI_HALTON  ? "randomised Halton rule"
                      : rule == CL_MULTI_RHALTON ? "randomised reverse Halton rule"
                                                 : "Monte Carlo rule";
  const char *sname = rule == CL_MULTI_SOBOL ? "digital shifts"
                      : rule == CL_MULTI_IID ? "independent point sets"
                                             : "random shifts modulo 1";
  snprintf(q->method, sizeof q->method,
           "%s (M >= 2, %s): %d %s x %d points in %d dims (%d base "
           "points x %d images under %s), %d atom "
           "combination(s) of the discrete laws summed exactly; error bound = %g t(0.995, %d) "
           "sd / sqrt(%d) over the shifts (fixed internal seed)",
           rname, path, q->nrep, sname, q->n, q->nq, q->nbase, q->ng, G.what, q->na, BOUND_FACTOR, q->nrep - 1,
           q->nrep);
  if (nasked < NPTS_MIN) {
    size_t L = strlen(q->method);
    snprintf(q->method + L, sizeof q->method - L, "; %ld points per rule raised to the minimum %d",
             nasked, NPTS_MIN);
  }
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

cl_status cl_multi_sigma(const cl_model *m, const double *R, const double *Q, double *A,
                         double *Sg, char *err) {
  const int K = m->K, M = m->M, d2 = 2 * m->M;
  const double s2 = m->s * m->s, rho = m->rho;
  cl_status st = cl_state_finite(K, M, R, Q, err);
  if (st || (st = cl_resid_cov_domain(K, M, R, Q, 1, A, err))) return st;
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) {
      double a = A[i * M + l], qq = 0.5 * (Q[i * M + l] + Q[l * M + i]);
      Sg[i * d2 + l] = Sg[(M + i) * d2 + M + l] = a + s2 * qq;
      Sg[i * d2 + M + l] = Sg[(M + i) * d2 + l] = a + rho * s2 * qq;
    }
  return CL_OK;
}

/* The symmetric square root S of Sigma and the Stein map G S
 * (cl_sym_roots_ginv: G the generalized inverse of Sigma scaled to unit
 * diagonal, docs/multi.md s.1, s.12). */
static cl_status prepare(cl_multi *q, int slot, const double *R, const double *Q, char *err) {
  double A[CL_MMAX * CL_MMAX], Sg[4 * CL_MMAX * CL_MMAX];
  cl_status st = cl_multi_sigma(&q->m, R, Q, A, Sg, err);
  if (st) return st;
  if (q->mode == MODE_BATCH) {
    const double *Sb = Sg;
    double *const Sr = q->S[slot], *const GSr = q->GS[slot];
    return cl_sym_roots_ginv(1, &Sb, q->d2, &Sr, &GSr, err);
  }
  /* sum and difference coordinates (docs/multi.md s.7): Sigma is
   * [[P, C], [C, P]], so its root is [[X, Y], [Y, X]] with X + Y and X - Y
   * the roots of Sigma+ = P + C = 2A + (1 + rho) s^2 Q and Sigma- = P - C =
   * (1 - rho) s^2 Q, and its Stein map G S is [[X', Y'], [Y', X']] in the
   * same way, with X' +- Y' those of Sigma+ and Sigma- (both scaled by
   * sqrt(P_ii) with one cut: Sigma's G, block by block) */
  const int M = q->M, M2 = M * M;
  const double s2 = q->m.s * q->m.s, rho = q->m.rho;
  double Sgp[CL_MMAX * CL_MMAX], Sgm[CL_MMAX * CL_MMAX];
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) {
      const double qq = 0.5 * (Q[i * M + l] + Q[l * M + i]);
      Sgp[i * M + l] = 2 * A[i * M + l] + (1 + rho) * s2 * qq;
      Sgm[i * M + l] = (1 - rho) * s2 * qq;
    }
  double *H = q->S[slot], *I = q->GS[slot];
  const double *const blk[2] = {Sgp, Sgm};
  double *const Hb[2] = {H, H + M2}, *const Ib[2] = {I, I + M2};
  if ((st = cl_sym_roots_ginv(2, blk, M, Hb, Ib, err))) return st;
  /* h1 = mu + Hp zp + Hm zm, h2 = mu + Hp zp - Hm zm with zp = z1 + z2,
   * zm = z1 - z2: Hp, Hm are half the roots (exact) */
  for (int k = 0; k < 2 * M2; k++) H[k] *= 0.5;
  return CL_OK;
}

/* h = (mu, mu) + S z for one sample; c gets the full feature vector. */
static void sample_h(const cl_multi *q, const double *S, const double *R, const double *atom, const double *mu0,
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
    const double *Sr = S + r * d2;
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

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define CL_MULTI_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CL_MULTI_CLONES
#endif
/* the kernels' helpers are compiled into each clone */
#if defined(__GNUC__)
#define CL_KERNEL static inline __attribute__((always_inline))
#else
#define CL_KERNEL static inline
#endif

CL_KERNEL double dot_ch(const double *restrict a, const double *restrict b, int n) {
  double t = 0;
#pragma omp simd reduction(+ : t)
  for (int k = 0; k < n; k++) t += a[k] * b[k];
  return t;
}

/* o[u] = sum_k a[k] b[u][k], u < nb: four dot products per loop (four
 * independent reduction chains, a loaded once); each is summed exactly as
 * dot_ch sums it, so the result does not depend on the grouping. */
CL_KERNEL void dots_ch(const double *restrict a, const double *const *b, int nb, int n,
                           double *o) {
  int u = 0;
  for (; u + 4 <= nb; u += 4) {
    const double *restrict b0 = b[u], *restrict b1 = b[u + 1], *restrict b2 = b[u + 2],
                           *restrict b3 = b[u + 3];
    double t0 = 0, t1 = 0, t2 = 0, t3 = 0;
#pragma omp simd reduction(+ : t0, t1, t2, t3)
    for (int k = 0; k < n; k++) t0 += a[k] * b0[k], t1 += a[k] * b1[k], t2 += a[k] * b2[k], t3 += a[k] * b3[k];
    o[u] = t0, o[u + 1] = t1, o[u + 2] = t2, o[u + 3] = t3;
  }
  for (; u < nb; u++) o[u] = dot_ch(a, b[u], n);
}

/* out[k] = init + sum_u coef[u] rows[u][k] (k < nch), the terms added in
 * the order of u, four per pass over the chunk */
CL_KERNEL void lin_rows(double *restrict out, double init, const double *coef, const double *const *rows,
                        int n, int nch) {
  int u = 0;
#pragma omp simd
  for (int k = 0; k < nch; k++) out[k] = init;
  for (; u + 4 <= n; u += 4) {
    const double r0 = coef[u], r1 = coef[u + 1], r2 = coef[u + 2], r3 = coef[u + 3];
    const double *restrict p0 = rows[u], *restrict p1 = rows[u + 1], *restrict p2 = rows[u + 2],
                           *restrict p3 = rows[u + 3];
#pragma omp simd
    for (int k = 0; k < nch; k++) out[k] = (((out[k] + r0 * p0[k]) + r1 * p1[k]) + r2 * p2[k]) + r3 * p3[k];
  }
  for (; u < n; u++) {
    const double r0 = coef[u], *restrict p0 = rows[u];
#pragma omp simd
    for (int k = 0; k < nch; k++) out[k] += r0 * p0[k];
  }
}

/* h for the nch points of a chunk (cs: rows of the point-set c
 * coordinates, zs: rows of zp = z1 + z2, then of zm = z1 - z2), and sigma,
 * sigma' of every h: with H = [Hp, Hm] (prepare),
 *   hp_i = mu0_i + sum_j c_j R_ji + (Hp zp)_i,  hm_i = (Hm zm)_i,
 *   h1_i = hp_i + hm_i,  h2_i = hp_i - hm_i
 * (docs/multi.md s.7: M (ncq + 2M) products per point instead of 2M (ncq + 2M)). */
CL_KERNEL void chunk_h(const cl_multi *q, const double *H, const double *R, const double *mu0,
                       const double *restrict cs, const double *restrict zs, int nch, chunk *ck) {
  const int K = q->K, M = q->M, M2 = M * M;
  double coef[CL_KMAX + CL_MMAX];
  const double *rows[CL_KMAX + CL_MMAX];
  for (int i = 0; i < M; i++) {
    int n = 0;
    for (int j = 0; j < K; j++)
      if (q->cq[j] >= 0) coef[n] = R[j * M + i], rows[n++] = cs + q->cq[j] * CH;
    for (int b = 0; b < M; b++) coef[n] = H[i * M + b], rows[n++] = zs + b * CH;
    double *restrict h1 = ck->h + i * CH, *restrict h2 = ck->h + (M + i) * CH;
    lin_rows(h1, mu0[i], coef, rows, n, nch);
    for (int b = 0; b < M; b++) coef[b] = H[M2 + i * M + b], rows[b] = zs + (M + b) * CH;
    lin_rows(h2, 0, coef, rows, M, nch);
#pragma omp simd
    for (int k = 0; k < nch; k++) {
      const double hp = h1[k], hm = h2[k];
      h1[k] = hp + hm, h2[k] = hp - hm;
    }
  }
  for (int r = 0; r < 2 * M; r++) cl_act_eval_vec(q->m.act, ck->h + r * CH, ck->y + r * CH, ck->sd + r * CH, nch);
}

/* The per-sample gradient of B = 1 (lam = lambda) or lambda = 0 (lam = 0)
 * into ck->gs (rows 0..M-1: g1, M..2M-1: g2). */
CL_KERNEL void chunk_grad(const cl_multi *q, double lam, int nch, chunk *ck) {
  const int M = q->M;
  const double *restrict ys = ck->y, *restrict ss = ck->sd;
  double *restrict gs = ck->gs;
  if (lam == 0) {
    for (int i = 0; i < M; i++) {
      const double *restrict y1 = ys + i * CH, *restrict y2 = ys + (M + i) * CH;
      const double *restrict s1 = ss + i * CH, *restrict s2 = ss + (M + i) * CH;
      double *restrict g1 = gs + i * CH, *restrict g2 = gs + (M + i) * CH;
#pragma omp simd
      for (int k = 0; k < nch; k++) g1[k] = s1[k] * y2[k], g2[k] = s2[k] * y1[k];
    }
    return;
  }
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

/* The sums over the chunk (gradient in ck->gs, turned into u = g1 + g2
 * and v = g1 - g2 in place), weight w, added to acc = [aR (K x M), Tp, Tm,
 * Guu, Gvv (M x M each)] (assemble_pm; Guu, Gvv upper triangles only):
 *   aR_ji += E[c_j u_i], Tp_ib += E[u_i zp_b], Tm_ib += E[v_i zm_b],
 *   Guu_il += E[u_i u_l], Gvv_il += E[v_i v_l] (l >= i). */
CL_KERNEL void chunk_sums(const cl_multi *q, const double *atom, const double *restrict cs,
                          const double *restrict zs, int nch, double w, chunk *ck, double *acc) {
  const int K = q->K, M = q->M, M2 = M * M;
  double *aR = acc, *Tp = aR + K * M, *Tm = Tp + M2, *Guu = Tm + M2, *Gvv = Guu + M2;
  double *gs = ck->gs, usum[CL_MMAX], o[CL_KMAX + 2 * CL_MMAX];
  const double *rows[CL_KMAX + 2 * CL_MMAX];
  for (int i = 0; i < M; i++) {
    double *restrict g1 = gs + i * CH, *restrict g2 = gs + (M + i) * CH, t = 0;
#pragma omp simd
    for (int k = 0; k < nch; k++) {
      const double a = g1[k], b = g2[k];
      g1[k] = a + b, g2[k] = a - b;
    }
#pragma omp simd reduction(+ : t)
    for (int k = 0; k < nch; k++) t += g1[k];
    usum[i] = t;
  }
  int nc = 0, cj[CL_KMAX];
  for (int j = 0; j < K; j++)
    if (q->cq[j] >= 0) cj[nc] = j, rows[nc++] = cs + q->cq[j] * CH;
  for (int b = 0; b < M; b++) rows[nc + b] = zs + b * CH;
  for (int i = 0; i < M; i++) {
    /* u_i against the c rows, zp and u_l (l >= i) */
    for (int j = 0; j < K; j++)
      if (q->cq[j] < 0) aR[j * M + i] += w * atom[j] * usum[i];
    for (int l = i; l < M; l++) rows[nc + M + l - i] = gs + l * CH;
    dots_ch(gs + i * CH, rows, nc + 2 * M - i, nch, o);
    for (int u = 0; u < nc; u++) aR[cj[u] * M + i] += w * o[u];
    for (int b = 0; b < M; b++) Tp[i * M + b] += w * o[nc + b];
    for (int l = i; l < M; l++) Guu[i * M + l] += w * o[nc + M + l - i];
  }
  const double *vr[2 * CL_MMAX];
  for (int b = 0; b < M; b++) vr[b] = zs + (M + b) * CH;
  for (int i = 0; i < M; i++) {
    /* v_i against zm and v_l (l >= i) */
    for (int l = i; l < M; l++) vr[M + l - i] = gs + (M + l) * CH;
    dots_ch(gs + (M + i) * CH, vr, 2 * M - i, nch, o);
    for (int b = 0; b < M; b++) Tm[i * M + b] += w * o[b];
    for (int l = i; l < M; l++) Gvv[i * M + l] += w * o[M + l - i];
  }
}

/* B = 1 or lambda = 0 (lam = 0 then): one chunk, weight w, added to acc. */
CL_MULTI_CLONES static void sample_chunk(const cl_multi *q, const double *S, const double *R, const double *atom,
                                         const double *mu0, const double *blk, int nch, double lam,
                                         double w, chunk *ck, double *acc) {
  const double *cs = blk, *zs = blk + (size_t)q->ncq * CH;
  chunk_h(q, S, R, mu0, cs, zs, nch, ck);
  chunk_grad(q, lam, nch, ck);
  chunk_sums(q, atom, cs, zs, nch, w, ck, acc);
}

/* The 1/B expansion, pass 1 on one chunk: mm[u] += w sum phi_u,
 * PP[u][v] += w sum phi_u phi_v (u = (i, k): phi_u = y1_i y2_k). */
CL_MULTI_CLONES static void sqexp_chunk1(const cl_multi *q, const double *S, const double *R, const double *mu0,
                                         const double *blk, int nch, double w, chunk *ck, double *mm,
                                         double *PP, double *keep) {
  const int M = q->M, M2 = M * M;
  const double *cs = blk, *zs = blk + (size_t)q->ncq * CH;
  chunk_h(q, S, R, mu0, cs, zs, nch, ck);
  /* h, sigma, sigma' (consecutive in the scratch) kept for pass 2 */
  memcpy(keep, ck->h, sizeof(double) * 3 * (size_t)q->d2 * CH);
  const double *rows[CL_MMAX * CL_MMAX];
  double o[CL_MMAX * CL_MMAX];
  for (int i = 0; i < M; i++)
    for (int k = 0; k < M; k++) {
      const double *restrict y1 = ck->y + i * CH, *restrict y2 = ck->y + (M + k) * CH;
      double *restrict ph = ck->ph + (i * M + k) * CH, t = 0;
#pragma omp simd
      for (int p = 0; p < nch; p++) ph[p] = y1[p] * y2[p];
#pragma omp simd reduction(+ : t)
      for (int p = 0; p < nch; p++) t += ph[p];
      mm[i * M + k] += w * t;
      rows[i * M + k] = ph;
    }
  for (int u = 0; u < M2; u++) {
    dots_ch(rows[u], rows + u, M2 - u, nch, o);
    for (int v = u; v < M2; v++) PP[u * M2 + v] += w * o[v - u];
  }
}

/* The 1/B expansion, pass 2 on one chunk: the mean-field gradient gmf
 * (mm: the single-sample moments), its sums into acc, and the beta
 * products into BB (4 blocks of M^4: (beta1, beta1), (beta1, beta2),
 * (beta2, beta1), (beta2, beta2); beta^a_ik = 0 for k = i). */
CL_MULTI_CLONES static void sqexp_chunk2(const cl_multi *q, const double *S, const double *R, const double *atom,
                                         const double *mu0, const double *blk, int nch, double w,
                                         const double *mm, const double *kept, chunk *ck, double *acc,
                                         double *BB) {
  const int M = q->M, M2 = M * M, B = q->B;
  const size_t M4 = (size_t)M2 * M2;
  const double lam = q->m.lambda, f1 = 2 * lam * (B - 1) / B, f0 = 2 * lam / B;
  const double *cs = blk, *zs = blk + (size_t)q->ncq * CH;
  (void)S, (void)R, (void)mu0;
  memcpy(ck->h, kept, sizeof(double) * 3 * (size_t)q->d2 * CH); /* pass 1's h, sigma, sigma' */
  const double *restrict ys = ck->y, *restrict ss = ck->sd;
  double a1[CH], a2[CH];
  for (int p = 0; p < nch; p++) a1[p] = a2[p] = 0;
  for (int k = 0; k < M; k++) {
    const double *restrict y1 = ys + k * CH, *restrict y2 = ys + (M + k) * CH;
#pragma omp simd
    for (int p = 0; p < nch; p++) a1[p] += y1[p] * y1[p], a2[p] += y2[p] * y2[p];
  }
  /* beta rows: u = (i, k), k != i, in the order of u; be1 after be0 */
  const int nb = M * (M - 1);
  int bu[CL_MMAX * CL_MMAX];
  const double *b0[CL_MMAX * CL_MMAX], *b1[CL_MMAX * CL_MMAX];
  for (int i = 0, n = 0; i < M; i++) {
    const double *restrict y1 = ys + i * CH, *restrict y2 = ys + (M + i) * CH;
    const double *restrict s1 = ss + i * CH, *restrict s2 = ss + (M + i) * CH;
    double *restrict g1 = ck->gs + i * CH, *restrict g2 = ck->gs + (M + i) * CH;
#pragma omp simd
    for (int p = 0; p < nch; p++) {
      g1[p] = s1[p] * y2[p] - f0 * s1[p] * y1[p] * (a2[p] - y2[p] * y2[p]);
      g2[p] = s2[p] * y1[p] - f0 * s2[p] * y2[p] * (a1[p] - y1[p] * y1[p]);
    }
    for (int k = 0; k < M; k++) {
      if (k == i) continue;
      const double *restrict yk1 = ys + k * CH, *restrict yk2 = ys + (M + k) * CH;
      double *restrict e0 = ck->be + n * CH, *restrict e1 = ck->be + (nb + n) * CH;
      const double m0 = f1 * mm[i * M + k], m1 = f1 * mm[k * M + i];
#pragma omp simd
      for (int p = 0; p < nch; p++) {
        e0[p] = s1[p] * yk2[p], e1[p] = s2[p] * yk1[p];
        g1[p] -= m0 * e0[p], g2[p] -= m1 * e1[p];
      }
      bu[n] = i * M + k, b0[n] = e0, b1[n] = e1, n++;
    }
  }
  chunk_sums(q, atom, cs, zs, nch, w, ck, acc);
  double o[CL_MMAX * CL_MMAX];
  for (int x = 0; x < nb; x++) {
    const size_t u = (size_t)bu[x] * M2;
    /* (beta1, beta1) and (beta2, beta2): symmetric */
    dots_ch(b0[x], b0 + x, nb - x, nch, o);
    for (int y = x; y < nb; y++) BB[u + bu[y]] += w * o[y - x];
    dots_ch(b1[x], b1 + x, nb - x, nch, o);
    for (int y = x; y < nb; y++) BB[3 * M4 + u + bu[y]] += w * o[y - x];
    /* (beta1, beta2); (beta2, beta1) is its transpose */
    dots_ch(b0[x], b1, nb, nch, o);
    for (int y = 0; y < nb; y++) BB[M4 + u + bu[y]] += w * o[y];
  }
}

/* One chunk scratch for M units (and the 1/B expansion's rows if sq). */
static chunk *chunk_alloc(int M, int sq) {
  const size_t d2 = 2 * (size_t)M, rows = 4 * d2 + (sq ? (size_t)M * M + 2 * (size_t)M * (M - 1) : 0);
  chunk *ck = malloc(sizeof *ck + sizeof(double) * rows * CH);
  if (!ck) return NULL;
  double *p = (double *)(ck + 1);
  ck->h = p, ck->y = p + d2 * CH, ck->sd = p + 2 * d2 * CH, ck->gs = p + 3 * d2 * CH;
  ck->ph = sq ? p + 4 * d2 * CH : NULL;
  ck->be = sq ? ck->ph + (size_t)M * M * CH : NULL;
  return ck;
}

/* Threads for the units of one replicate: none inside another parallel
 * region (sweep, basin, the runner), at most one per unit; a chunk scratch
 * for each. */
/* OpenMP's count where OMP_NUM_THREADS is set, else dflt (the rule both
 * thread counts share; they differ in their default and in what counts as
 * being inside another parallel region) */
static int threads_asked(int dflt) {
  const char *e = getenv("OMP_NUM_THREADS");
  return e && *e ? omp_get_max_threads() : dflt;
}

int cl_drift_threads(void) { return omp_in_parallel() ? 1 : threads_asked(1); }

int cl_drift_threads_tasks(void) { return omp_get_level() > 0 ? 1 : threads_asked(omp_get_num_procs()); }

static cl_status unit_threads(cl_multi *q, int nr, int *nth, char *err) {
  int n = cl_drift_threads();
  if (n > nr * q->nunit) n = nr * q->nunit;
  if (n < 1) n = 1;
  if (n > q->nck) {
    chunk **c = realloc(q->cks, sizeof *c * (size_t)n);
    if (!c) return cl_fail(err, CL_ENOMEM, "out of memory");
    q->cks = c;
    for (; q->nck < n; q->nck++)
      if (!(q->cks[q->nck] = chunk_alloc(q->M, q->mode == MODE_SQEXP)))
        return cl_fail(err, CL_ENOMEM, "out of memory");
  }
  *nth = n;
  return CL_OK;
}

/* acc[x] = sum over the units of replicate slot r, in order, of their
 * partial sums part[x + off] (x < len): the fixed-order reduction that makes
 * the result independent of the threads */
static void reduce_units(const cl_multi *q, int r, int off, int len, double *acc) {
  for (int x = 0; x < len; x++) acc[x] = 0;
  for (int u = 0; u < q->nunit; u++) {
    const double *p = q->part + ((size_t)r * q->nunit + u) * q->pstride + off;
    for (int x = 0; x < len; x++) acc[x] += p[x];
  }
}

/* The nr replicates rl[0..nr-1] (each a slot with its own S from prepare),
 * at the states Rl[x]: fills the slots' accumulators (and the SQEXP
 * corrections into V).  The work is a fixed partition into units
 * (replicate, atom combination, chunk of CH points), each summed into its
 * own partial sums, which are added in unit order: bit-identical whatever
 * the number of threads (docs/multi.md s.8).  One parallel region per pass
 * over every unit of every replicate. */
static cl_status reps_eval(cl_multi *q, int nr, const int *rl, const double *const *Rl, char *err) {
  const int K = q->K, M = q->M, n = q->n, nq = q->nq, B = q->B, nch = n / CH, nu = q->nunit;
  const double lam = q->m.lambda, wn = 1.0 / n;
  const size_t ps = q->pstride;
  int nth = 1;
  cl_status st = unit_threads(q, nr, &nth, err);
  if (st) return st;
  if (q->mode == MODE_SAMPLE) {
    const double l = B == 1 ? lam : 0;
#pragma omp parallel for schedule(static) num_threads(nth)
    for (int u = 0; u < nr * nu; u++) {
      const int r = rl[u / nu], a = (u % nu) / nch, c = (u % nu) % nch;
      const double *R = Rl[u / nu];
      double mu0[CL_MMAX], *part = q->part + ((size_t)r * nu + u % nu) * ps;
      atom_mu(q, R, a, mu0);
      memset(part, 0, sizeof(double) * (size_t)q->asz);
      sample_chunk(q, q->S[r], R, q->ax + (size_t)a * K, mu0, q->ptt + ((size_t)r * nch + c) * CH * nq,
                   CH, l, q->aw[a] * wn, q->cks[omp_get_thread_num()], part);
    }
    for (int x = 0; x < nr; x++) reduce_units(q, rl[x], 0, q->asz, q->acc + (size_t)rl[x] * q->asz);
    return CL_OK;
  }
  if (q->mode == MODE_BATCH) {
    const int per = q->ncq + q->d2;
#pragma omp parallel for schedule(static) num_threads(nth)
    for (int u = 0; u < nr * nu; u++) {
      double H1[CL_MMAX * BATCH_BMAX], H2[CL_MMAX * BATCH_BMAX], D1[CL_MMAX * BATCH_BMAX], D2[CL_MMAX * BATCH_BMAX];
      double C[CL_KMAX * BATCH_BMAX], h1[CL_MMAX], h2[CL_MMAX], g1[CL_MMAX], g2[CL_MMAX], mu0[CL_MMAX];
      const double *Z[BATCH_BMAX];
      const int r = rl[u / nu], c = u % nu;
      const double *R = Rl[u / nu], *pts = q->pts + (size_t)r * n * nq;
      double *part = q->part + ((size_t)r * nu + c) * ps;
      memset(part, 0, sizeof(double) * (size_t)q->asz);
      atom_mu(q, R, 0, mu0);
      for (int p = c * CH; p < (c + 1) * CH; p++) {
        const double *x = pts + (size_t)p * nq;
        for (int b = 0; b < B; b++) {
          sample_h(q, q->S[r], R, q->ax, mu0, x + b * per, C + b * K, h1, h2, &Z[b]);
          for (int i = 0; i < M; i++) H1[i * B + b] = h1[i], H2[i * B + b] = h2[i];
        }
        cl_data_batch_loss(&q->m, H1, H2, D1, D2);
        for (int b = 0; b < B; b++) {
          for (int i = 0; i < M; i++)
            h1[i] = H1[i * B + b], h2[i] = H2[i * B + b], g1[i] = B * D1[i * B + b],
            g2[i] = B * D2[i * B + b];
          accumulate(q, C + b * K, Z[b], h1, h2, g1, g2, wn / B, part);
        }
      }
    }
    for (int x = 0; x < nr; x++) reduce_units(q, rl[x], 0, q->asz, q->acc + (size_t)rl[x] * q->asz);
    return CL_OK;
  }
  /* SQEXP: pass 1, the single-sample moments m_ik = E[phi_ik] and
   * E[phi_ik phi_lm], phi_ik = y1_i y2_k */
  const int M2 = M * M, M4 = M2 * M2;
  const size_t msz = (size_t)M2 + 5 * (size_t)M4, hsz = 3 * (size_t)q->d2 * CH;
#pragma omp parallel for schedule(static) num_threads(nth)
  for (int u = 0; u < nr * nu; u++) {
    const int r = rl[u / nu], a = (u % nu) / nch, c = (u % nu) % nch;
    const double *R = Rl[u / nu];
    double mu0[CL_MMAX], *part = q->part + ((size_t)r * nu + u % nu) * ps;
    atom_mu(q, R, a, mu0);
    memset(part, 0, sizeof(double) * (size_t)(M2 + M4));
    sqexp_chunk1(q, q->S[r], R, mu0, q->ptt + ((size_t)r * nch + c) * CH * nq, CH, q->aw[a] * wn,
                 q->cks[omp_get_thread_num()], part, part + M2, q->hys + ((size_t)r * nu + u % nu) * hsz);
  }
  for (int x = 0; x < nr; x++) {
    double *mm = q->mom + (size_t)rl[x] * msz, *PP = mm + M2;
    reduce_units(q, rl[x], 0, M2 + M4, mm);
    /* PP (upper triangle) -> Cov_1(phi_u, phi_v), both triangles */
    for (int u = 0; u < M2; u++)
      for (int v = u; v < M2; v++) PP[u * M2 + v] = PP[v * M2 + u] = PP[u * M2 + v] - mm[u] * mm[v];
  }
  /* pass 2: gmf and the beta products */
#pragma omp parallel for schedule(static) num_threads(nth)
  for (int u = 0; u < nr * nu; u++) {
    const int r = rl[u / nu], a = (u % nu) / nch, c = (u % nu) % nch;
    const double *R = Rl[u / nu];
    double mu0[CL_MMAX], *part = q->part + ((size_t)r * nu + u % nu) * ps;
    atom_mu(q, R, a, mu0);
    memset(part, 0, sizeof(double) * (size_t)(q->asz + 4 * M4));
    sqexp_chunk2(q, q->S[r], R, q->ax + (size_t)a * K, mu0, q->ptt + ((size_t)r * nch + c) * CH * nq,
                 CH, q->aw[a] * wn, q->mom + (size_t)r * msz, q->hys + ((size_t)r * nu + u % nu) * hsz,
                 q->cks[omp_get_thread_num()], part, part + q->asz);
  }
  const double s2 = q->m.s * q->m.s, c1 = 1 + s2, c2 = 1 + q->m.rho * s2;
  const double fv = 4 * lam * lam * (B - 1) / ((double)B * B);
  for (int x = 0; x < nr; x++) {
    const int r = rl[x];
    double *acc = q->acc + (size_t)r * q->asz, *PP = q->mom + (size_t)r * msz + M2, *BB = PP + M4;
    reduce_units(q, r, 0, q->asz, acc);
    reduce_units(q, r, q->asz, 4 * M4, BB);
    /* the symmetric blocks from their upper triangles, (beta2, beta1) from (beta1, beta2) */
    for (int u = 0; u < M2; u++)
      for (int v = 0; v < M2; v++) {
        if (v < u) BB[u * M2 + v] = BB[v * M2 + u], BB[3 * M4 + u * M2 + v] = BB[3 * M4 + v * M2 + u];
        BB[2 * M4 + u * M2 + v] = BB[M4 + v * M2 + u];
      }
    /* the fluctuation of the other B - 1 samples:
     * V_il += (4 lam^2 (B - 1) / B^2) sum_{k != i, m != l} E[beta^a_ik beta^b_lm] E[delta delta] */
    double *V = acc + K * M + 4 * M * M; /* Vx of assemble_pm */
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
  return CL_OK;
}

/* dQ = tau (P + P^T) - 2 tau beta Q + tau^2 V / B, exactly symmetric */
static void dq_assemble(const cl_model *m, const double *Q, const double *P, const double *V, double *dQ) {
  const int M = m->M;
  const double tau = m->tau, beta = m->reg.kind == CL_REG_L2 ? m->reg.beta2 : 0;
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++)
      dQ[i * M + l] = tau * (P[i * M + l] + P[l * M + i]) - 2 * tau * beta * Q[i * M + l] +
                      tau * tau * V[i * M + l] / m->B;
  /* exact symmetry */
  for (int i = 0; i < M; i++)
    for (int l = i + 1; l < M; l++) dQ[i * M + l] = dQ[l * M + i] = 0.5 * (dQ[i * M + l] + dQ[l * M + i]);
}

void cl_multi_assemble(const cl_model *m, const double *R, const double *Q, const double *GS,
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
    /* u = cv^T G S, the Stein weights of T's columns */
    for (int a = 0; a < d2; a++) {
      double x1 = 0, x2 = 0;
      for (int b = 0; b < d2; b++) x1 += GS[b * d2 + a] * cv1[b], x2 += GS[b * d2 + a] * cv2[b];
      u1[a] = x1, u2[a] = x2;
    }
    for (int i = 0; i < M; i++) {
      double st = 0;
      for (int a = 0; a < d2; a++) st += u1[a] * T[i * d2 + a] + u2[a] * T[(M + i) * d2 + a];
      dR[j * M + i] = tau * (aR[j * M + i] + s * st - beta * R[j * M + i]);
    }
  }
  dq_assemble(m, Q, P, V, dQ);
}

/* The drift from the sums of the sum/difference kernel (chunk_sums):
 * acc = [aR (K x M), Tp, Tm, Guu, Gvv, Vx (M x M each)], with u = g1 + g2,
 * v = g1 - g2, zp = z1 + z2, zm = z1 - z2: Tp_ib = E[u_i zp_b], Tm_ib =
 * E[v_i zm_b], Guu, Gvv (upper triangles) the Gram matrices of u and v, Vx
 * an addition to V (the 1/B expansion's fluctuation term).  The terms of
 * cl_multi_assemble in these coordinates (docs/multi.md s.7):
 *   s E[g eps] term: (s / 2) (a . Tp_i + b . Tm_i), a = s (1 + rho) (G+ Sigma+^1/2)^T R_j,
 *                    b = s (1 - rho) (G- Sigma-^1/2)^T R_j (G+- Sigma+-^1/2 the Stein
 *                    maps of prepare, Sigma+-^-1/2 where nothing is cut);
 *   P_il = E[mu_i u_l] + (Hp Tp^T)_il + (Hm Tm^T)_il, E[mu_i u_l] = (R^T aR)_il;
 *   V = (1 + s^2 (1 + rho) / 2) Guu + (s^2 (1 - rho) / 2) Gvv + Vx. */
static void assemble_pm(const cl_multi *q, int slot, const double *R, const double *Q, double *out) {
  const cl_model *m = &q->m;
  const int K = m->K, M = m->M, M2 = M * M;
  const double tau = m->tau, s = m->s, rho = m->rho, beta = m->reg.kind == CL_REG_L2 ? m->reg.beta2 : 0;
  const double s2 = s * s, fu = 1 + 0.5 * s2 * (1 + rho), fv = 0.5 * s2 * (1 - rho);
  const double *aR = q->acc + (size_t)slot * q->asz, *Tp = aR + K * M, *Tm = Tp + M2, *Guu = Tm + M2,
               *Gvv = Guu + M2, *Vx = Gvv + M2;
  const double *Hp = q->S[slot], *Hm = Hp + M2, *Ip = q->GS[slot], *Im = Ip + M2;
  double *dR = out, *dQ = out + K * M, P[CL_MMAX * CL_MMAX], V[CL_MMAX * CL_MMAX];
  for (int j = 0; j < K; j++) {
    const double *r = R + j * M;
    double a[CL_MMAX], b[CL_MMAX];
    for (int l = 0; l < M; l++) {
      double x = 0, y = 0;
      for (int k = 0; k < M; k++) x += Ip[k * M + l] * r[k], y += Im[k * M + l] * r[k];
      a[l] = s * (1 + rho) * x, b[l] = s * (1 - rho) * y;
    }
    for (int i = 0; i < M; i++) {
      double st = 0;
      for (int l = 0; l < M; l++) st += a[l] * Tp[i * M + l] + b[l] * Tm[i * M + l];
      dR[j * M + i] = tau * (aR[j * M + i] + 0.5 * s * st - beta * r[i]);
    }
  }
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) {
      double p = 0;
      for (int j = 0; j < K; j++) p += R[j * M + i] * aR[j * M + l];
      for (int k = 0; k < M; k++) p += Hp[i * M + k] * Tp[l * M + k] + Hm[i * M + k] * Tm[l * M + k];
      P[i * M + l] = p;
      const int lo = i < l ? i : l, hi = i < l ? l : i;
      V[i * M + l] = fu * Guu[lo * M + hi] + fv * Gvv[lo * M + hi] + Vx[i * M + l];
    }
  dq_assemble(m, Q, P, V, dQ);
}

static void assemble(const cl_multi *q, int slot, const double *R, const double *Q, double *out) {
  if (q->mode == MODE_BATCH) cl_multi_assemble(&q->m, R, Q, q->GS[slot], q->acc + (size_t)slot * q->asz, out);
  else assemble_pm(q, slot, R, Q, out);
}

cl_status cl_multi_eval_rep(cl_multi *q, int rep, const double *R, const double *Q, double *dR,
                            double *dQ, char *err) {
  return cl_multi_eval_reps(q, 1, &rep, &R, &Q, &dR, &dQ, err);
}

cl_status cl_multi_eval_reps(cl_multi *q, int nr, const int *rl, const double *const *R,
                             const double *const *Q, double *const *dR, double *const *dQ, char *err) {
  for (int x = 0; x < nr; x++) {
    cl_status st = prepare(q, rl[x], R[x], Q[x], err);
    if (st) return st;
  }
  cl_status st = reps_eval(q, nr, rl, R, err);
  if (st) return st;
  const int KM = q->K * q->M;
  for (int x = 0; x < nr; x++) {
    double *out = q->reps + (size_t)rl[x] * q->nout;
    assemble(q, rl[x], R[x], Q[x], out);
    for (int k = 0; k < q->nout; k++) {
      if (!isfinite(out[k])) return cl_fail(err, CL_EDIVERGE, "the drift is not finite");
      if (k < KM) dR[x][k] = out[k];
      else dQ[x][k - KM] = out[k];
    }
  }
  return CL_OK;
}

double cl_multi_tquant(const cl_multi *q) { return q->tq; }
int cl_multi_kinked(const cl_multi *q) {
  /* g = abs enters through sign(C_il) where lambda != 0: of the batch mean,
   * or of one sample's y_i y_l at B = 1.  (relu's step sigma' is a kink
   * too, but its runs at M = 2 blow up within t ~ 0.05 at the settings
   * tried, where a floored tolerance turned the blow-up's message into one
   * about the domain: not floored) */
  return q->mode == MODE_BATCH || (q->m.g == CL_G_ABS && q->m.lambda != 0);
}

cl_status cl_multi_eval(cl_multi *q, const double *R, const double *Q, double *dR, double *dQ,
                        double *ebar, char *err) {
  /* every replicate at the same state: one square root, copied */
  cl_status st = prepare(q, 0, R, Q, err);
  if (st) return st;
  const int nout = q->nout, KM = q->K * q->M;
  int rl[NREP_MAX];
  const double *Rl[NREP_MAX];
  for (int r = 0; r < q->nrep; r++) {
    rl[r] = r, Rl[r] = R;
    if (r) memcpy(q->S[r], q->S[0], sizeof q->S[0]), memcpy(q->GS[r], q->GS[0], sizeof q->GS[0]);
  }
  st = reps_eval(q, q->nrep, rl, Rl, err);
  if (st) return st;
  for (int r = 0; r < q->nrep; r++) assemble(q, r, R, Q, q->reps + (size_t)r * nout);
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
