/* Attraction regions and feature-selection probabilities (M = 1). */
#include "cldyn/basin.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cldyn/quad.h"
#include "cldyn/rng.h"
#include "basin_noise.h"
#include "ode.h"
#include "ode_flow.h"

/* At R = 0 (M = 1): E[(G1 + G2)^2] and E[G1^2 + G2^2 + 2 rho G1 G2], with
 * (h1, h2) centred Gaussian, variances Q (1 + s^2), covariance Q (1 + rho s^2);
 * tensor trapezoid rule on the eigen-directions (1, +-1)/sqrt 2. */
static cl_status noise_terms_r0(const cl_model *m, double Q, double *EGG, double *Es, char *err) {
  cl_rule r;
  cl_status st = cl_rule_normal_trap(40, &r, err);
  if (st) return st;
  double s2 = m->s * m->s, a = Q * (1 + s2), b = Q * (1 + m->rho * s2);
  double up = sqrt(fmax(a + b, 0) / 2), um = sqrt(fmax(a - b, 0) / 2);
  double gg = 0, es = 0;
  for (int i = 0; i < r.n; i++)
    for (int k = 0; k < r.n; k++) {
      double h1 = up * r.x[i] + um * r.x[k], h2 = up * r.x[i] - um * r.x[k], f1, d1, f2, d2, t;
      cl_act_eval(m->act, h1, &f1, &d1, &t);
      cl_act_eval(m->act, h2, &f2, &d2, &t);
      double G1 = d1 * f2, G2 = f1 * d2, w = r.w[i] * r.w[k];
      gg += w * (G1 + G2) * (G1 + G2);
      es += w * (G1 * G1 + G2 * G2 + 2 * m->rho * G1 * G2);
    }
  cl_rule_free(&r);
  *EGG = gg, *Es = es;
  return CL_OK;
}

/* The escape law's rule, shared by M = 1 and M >= 2 (docs/theory.md s.8,
 * docs/fixed-points.md s.5): a direction (feature j, or pair ji) is stable
 * at R = 0 once its growth exponent Lambda has fallen below ESCAPE_STABLE
 * with its rate still negative; its noise is no longer accumulated (the
 * rescaled noise exp(-2 Lambda) v would blow up).  The escape ends when
 * every other direction has Lambda > ESCAPE_DONE (exp(-50): the noise no
 * longer matters); where every direction is stable, R = 0 is stable and
 * basin refuses. */
#define ESCAPE_STABLE (-5.0)
#define ESCAPE_DONE 25.0

static int escape_stable(double Lam, double rate) { return Lam < ESCAPE_STABLE && rate < 0; }

/* h exp(-2 Lambda), the weight of a step's noise in N var(A); 0 once the
 * direction has fallen below ESCAPE_STABLE */
static double escape_weight(double h, double Lam) { return Lam < ESCAPE_STABLE ? 0 : h * exp(-2 * Lam); }

/* After step it (no direction counts as stable at the first, it = 0): 1
 * where the escape has ended, -1 where every direction is stable (R = 0
 * stable), else 0; *lmin the smallest Lambda over the directions not stable
 * (INFINITY if none). */
static int escape_verdict(int n, const double *Lam, const double *rate, int it, double *lmin) {
  int nst = 0;
  double l = INFINITY;
  for (int k = 0; k < n; k++)
    if (it > 0 && escape_stable(Lam[k], rate[k])) nst++;
    else l = fmin(l, Lam[k]);
  *lmin = l;
  if (nst == n) return -1;
  return l > ESCAPE_DONE;
}

/* The escape law's limit in time: both loops (Euler steps of h = 0.01 at
 * M = 1, 0.02 at M >= 2) stop there.  Near the threshold where R = 0
 * becomes stable the slowest growth rate goes to 0 and the escape's
 * duration, about ESCAPE_DONE / rate, grows without bound. */
#define ESCAPE_TMAX 2000.0

/* The time the escape still needs at the current rates: for each direction
 * not finished (not stable, Lambda <= ESCAPE_DONE), the time for Lambda to
 * reach ESCAPE_DONE (rate > 0) or ESCAPE_STABLE (rate < 0); INFINITY at a
 * rate of 0.  *slow gets the slowest direction. */
static double escape_remaining(int n, const double *Lam, const double *rate, int *slow) {
  double rem = 0;
  *slow = 0;
  for (int k = 0; k < n; k++) {
    if (escape_stable(Lam[k], rate[k]) || Lam[k] > ESCAPE_DONE) continue;
    double r = rate[k] > 0 ? (ESCAPE_DONE - Lam[k]) / rate[k]
               : rate[k] < 0 ? (Lam[k] - ESCAPE_STABLE) / -rate[k]
                             : INFINITY;
    if (r > rem) rem = r, *slow = k;
  }
  return rem;
}

/* 1 where Q (n entries, drift dQ) cannot move by more than 1e-6 of qs
 * (max_i Q_ii) before ESCAPE_TMAX at its current speed: Q has settled at
 * its fixed point and the rates are constant to that precision from here
 * on. */
static int q_settled(int n, const double *dQ, double qs, double t) {
  double v = 0;
  for (int k = 0; k < n; k++) v = fmax(v, fabs(dQ[k]));
  return v * (ESCAPE_TMAX - t) <= 1e-6 * qs;
}

/* Where Q has settled (q_settled) or the loop has reached ESCAPE_TMAX: CL_EINVAL if
 * the escape cannot end by ESCAPE_TMAX (before, the loops ended silently at
 * their step caps and basin went on with a partial escape); else CL_OK. */
static cl_status escape_too_slow(const cl_model *m, double t, const double *Lam, const double *rate, char *err) {
  const int n = m->K * m->M;
  int k;
  double rem = escape_remaining(n, Lam, rate, &k);
  if (t + rem <= ESCAPE_TMAX) return CL_OK;
  char unit[32] = "";
  if (m->M > 1) snprintf(unit, sizeof unit, ", unit %d", k % m->M + 1);
  return cl_fail(err, CL_EINVAL,
                 "the escape from R = 0 is too slow: along feature %d%s the growth rate is %.3g at t = %g "
                 "(exponent %.3g), so it would end near t = %.3g, beyond the escape law's limit t = %g: the model is "
                 "too close to the threshold where that growth rate changes sign (tau = %g, s = %g, rho = %g, lambda = %g, "
                 "B = %d, act = %s)",
                 k / m->M + 1, unit, rate[k], t, Lam[k], t + rem, ESCAPE_TMAX, m->tau, m->s, m->rho, m->lambda,
                 m->B, cl_act_name(m->act));
}

/* N var of a stable direction's start: the stationary variance of its
 * Ornstein-Uhlenbeck process dR = lambda R dt + sqrt(w / N) dW at the end
 * of the escape, w / (2 |lambda|) (w = tau^2 v / B), instead of the
 * rescaled noise of an unstable one. */
static double stable_start_var(double w, double rate) { return w / (2 * fabs(rate)); }

static cl_status r0_stable(int M, char *err) {
  return cl_fail(err, CL_EINVAL,
                 "the uninformative state R = 0 is stable (the growth rate along every feature%s is negative): "
                 "no feature is learned from it",
                 M > 1 ? " and unit" : "");
}

/* A failure of the escape integration (Q(t) at R = 0 leaving the domain or
 * blowing up): the time and the parameters added to the message. */
static cl_status escape_failed(const cl_model *m, cl_status st, double t, char *err) {
  /* err may be NULL (common.h): there is no message to wrap (it read
   * through the null pointer before session 28) */
  if (st != CL_EDIVERGE || !err) return st;
  char e[CL_ERRLEN];
  memcpy(e, err, CL_ERRLEN);
  e[CL_ERRLEN - 1] = '\0';
  return cl_fail(err, st,
                 "the escape from R = 0 stopped at t = %g: %s (tau = %g, s = %g, rho = %g, lambda = %g, "
                 "B = %d, act = %s)",
                 t, e, m->tau, m->s, m->rho, m->lambda, m->B, cl_act_name(m->act));
}

cl_status cl_basin_escape_variances(const cl_model *m, const cl_quad_opts *o, double *var, char *err) {
  /* Linear escape from R = 0: dR_j = lambda_j(Q) R_j dt + sqrt(tau^2 v_j(Q) / (B N)) dW,
   * with Q(t) following dQ/dt at R = 0 from Q0.  R_j(t) ~ A_j exp(Lambda_j(t)),
   * A_j = R_j(0) + int exp(-Lambda_j) sqrt(...) dW: N var(A_j) = Q0 + int exp(-2 Lambda_j) tau^2 v_j / B. */
  const int K = m->K;
  cl_drift *d;
  cl_status st0 = cl_drift_alloc(m, o, &d, err);
  if (st0) return st0;
  double Q = m->Q0[0], Lam[CL_KMAX] = {0}, acc[CL_KMAX] = {0}, R[CL_KMAX] = {0}, lam[CL_KMAX] = {0},
         v[CL_KMAX] = {0};
  const double h = 0.01;
  cl_status st = CL_OK;
  int it = 0;
  const int itmax = (int)(ESCAPE_TMAX / h);
  for (; it < itmax && !st; it++) {
    cl_m1_terms t;
    if ((st = cl_drift_m1_terms(d, R, Q, &t, err))) break;
    double EGG, Es, dR[CL_KMAX], dQ, lmin;
    if ((st = noise_terms_r0(m, Q, &EGG, &Es, err))) break;
    for (int j = 0; j < K; j++) {
      lam[j] = m->tau * (m->c[j].m2 * t.b_z + t.b_e - m->reg.beta2);
      v[j] = m->tau * m->tau * (m->c[j].m2 * EGG + m->s * m->s * Es) / m->B;
      acc[j] += escape_weight(h, Lam[j]) * v[j];
      Lam[j] += h * lam[j];
    }
    int verdict = escape_verdict(K, Lam, lam, it, &lmin);
    if (verdict > 0) break;
    if (verdict < 0) {
      st = r0_stable(m->M, err);
      break;
    }
    if ((st = cl_drift_eval(d, R, &Q, dR, &dQ, err))) break;
    if ((q_settled(1, &dQ, Q, it * h) || it + 1 == itmax) && (st = escape_too_slow(m, (it + 1) * h, Lam, lam, err)))
      break;
    Q += h * dQ; /* Euler in Q: smooth and slow; only the weights depend on it */
  }
  for (int j = 0; j < K; j++)
    var[j] = escape_stable(Lam[j], lam[j]) ? stable_start_var(v[j], lam[j]) : m->Q0[0] + acc[j];
  cl_drift_free(d);
  return escape_failed(m, st, it * h, err);
}

void cl_basin_result_free(cl_basin_result *res) {
  free(res->fp);
  free(res->count);
  free(res->prob);
  free(res->weight);
  memset(res, 0, sizeof *res);
}

/* nearest stable fixed point to y (max-norm < 1e-3), or nfp */
static int nearest(const cl_basin_result *res, int n, const double *y) {
  int best = res->nfp;
  double bestd = 1e-3;
  for (int i = 0; i < res->nfp; i++) {
    double d = 0;
    for (int k = 0; k < n; k++) d = fmax(d, fabs(res->fp[i].y[k] - y[k]));
    if (d < bestd) bestd = d, best = i;
  }
  return best;
}

/* The escape start R(0) must lie in the physical domain (for each unit i,
 * sum_j R_ji^2 < Q0_ii): with a large escape noise (large tau, small N) the
 * linear escape from R = 0 does not hold.  A failure is CL_EDIVERGE with the
 * parameters, never a complaint about --Q0. */
static cl_status start_in_domain(const cl_model *m, const double *R0, const double *var, char *e) {
  const int K = m->K, M = m->M;
  for (int i = 0; i < M; i++) {
    double r2 = 0, vmax = 0;
    for (int j = 0; j < K; j++) r2 += R0[j * M + i] * R0[j * M + i], vmax = fmax(vmax, var[j * M + i]);
    double q = m->Q0[i * (M + 1)];
    if (!(r2 < q))
      return cl_fail(e, CL_EDIVERGE,
                     "the escape from R = 0 leaves the physical domain: unit %d starts at |R|^2 = %g >= Q0 = %g "
                     "(escape variance N var up to %g; N = %lld, tau = %g, s = %g, rho = %g, lambda = %g, B = %d, "
                     "act = %s): raise N or lower tau",
                     i + 1, r2, q, vmax, m->N, m->tau, m->s, m->rho, m->lambda, m->B, cl_act_name(m->act));
  }
  return CL_OK;
}

static cl_status classify_end(const cl_model *m, const cl_ode_opts *o, const cl_basin_result *res,
                              const double *R0, double Q0, double tmax, int *which, double *yend,
                              char *err) {
  cl_model mm = *m;
  memcpy(mm.R0, R0, sizeof(double) * (size_t)m->K);
  mm.Q0[0] = Q0;
  mm.init = CL_INIT_OVERLAP;
  cl_schedule s = {.T = tmax, .dt_out = tmax, .runs = 1, .seed = 1};
  cl_traj *tr;
  cl_status st = cl_ode_solve(&mm, &s, o, &tr, NULL, err);
  if (st) return st;
  const double *row = cl_traj_row(tr, 0, tr->nt - 1);
  int K = m->K;
  double y[CL_KMAX + 1];
  memcpy(y, row, sizeof(double) * (size_t)(K + 1)); /* R_1..R_K, Q_1_1 */
  if (yend) memcpy(yend, y, sizeof(double) * (size_t)(K + 1));
  cl_traj_free(tr);
  *which = nearest(res, K + 1, y);
  return CL_OK;
}

cl_status cl_basin_classify(const cl_model *m, const cl_ode_opts *o, const cl_basin_result *res,
                            const double *R0, double Q0, double tmax, int *which, char *err) {
  return classify_end(m, o, res, R0, Q0, tmax, which, NULL, err);
}

double cl_basin_map_coord(const cl_model *m, int n, int i) {
  double r = 0.95 * sqrt(m->Q0[0]);
  return -r + 2 * r * i / (n - 1);
}

cl_status cl_basin_map(const cl_model *m, const cl_ode_opts *o, const cl_basin_result *res, int n,
                       double tmax, int threads, int *which, char *err) {
  if (m->K != 2) return cl_fail(err, CL_EINVAL, "map: needs exactly K = 2 features");
  if (n < 2) return cl_fail(err, CL_EINVAL, "map_points: must be at least 2");
  char e0[CL_ERRLEN] = "";
  int bad = 0;
#pragma omp parallel for schedule(dynamic, 4) num_threads(threads > 0 ? threads : omp_get_max_threads())
  for (int k = 0; k < n * n; k++) {
    double R0[2] = {cl_basin_map_coord(m, n, k % n), cl_basin_map_coord(m, n, k / n)};
    char e[CL_ERRLEN];
    which[k] = -1;
    if (R0[0] * R0[0] + R0[1] * R0[1] >= m->Q0[0]) continue;
    if (cl_basin_classify(m, o, res, R0, m->Q0[0], tmax, &which[k], e)) {
#pragma omp critical(cl_map_err)
      bad = 1, memcpy(e0, e, CL_ERRLEN);
    }
  }
  if (bad) return cl_fail(err, CL_EDIVERGE, "map: %s", e0);
  return CL_OK;
}

/* The stable fixed points, found from the standard starts plus `extra`. */
static cl_status stable_points(const cl_model *m, const cl_ode_opts *o, const double *extra, int nextra,
                               cl_basin_result *res, char *err) {
  cl_fixed_point *all;
  int nall;
  cl_status st = cl_fixed_find(m, &o->quad, extra, nextra, &all, &nall, err);
  if (st) return st;
  free(res->fp);
  res->fp = malloc(sizeof *res->fp * (size_t)(nall + 1));
  if (!res->fp) return free(all), cl_fail(err, CL_ENOMEM, "out of memory");
  int ns = 0;
  for (int i = 0; i < nall; i++)
    if (all[i].stability == CL_STABLE) res->fp[ns++] = all[i];
  free(all);
  res->nfp = ns;
  return CL_OK;
}

cl_status cl_basin_run(const cl_model *m, const cl_ode_opts *o0, long ndir, double tmax, uint64_t seed,
                   int threads, cl_basin_result *res, char *err) {
  const long long N = m->N;
  /* the hook counts directions, not the time of each inner solve */
  cl_ode_opts oo = *o0, *o = &oo;
  oo.progress = NULL;
  long ndone = 0;
  memset(res, 0, sizeof *res);
  if (m->M != 1) return cl_fail(err, CL_EINVAL, "M: basin needs M = 1");
  if (m->K < 2) return cl_fail(err, CL_EINVAL, "c: needs K >= 2 features");
  cl_status st = stable_points(m, o, NULL, 0, res, err);
  if (st) return st;
  res->ndir = ndir;
  const int K = m->K;
  /* the law of the escape direction: A ~ N(0, diag(var)) (not isotropic:
   * the noise accumulated while escaping favours the slower features) */
  double var[CL_KMAX];
  if ((st = cl_basin_escape_variances(m, &o->quad, var, err))) {
    cl_basin_result_free(res);
    return st;
  }
  memcpy(res->var, var, sizeof(double) * (size_t)K);
  /* starts: R(0) = A, A_j ~ N(0, var_j / N), seeded; equal weights */
  double *dirs = malloc(sizeof(double) * (size_t)ndir * (size_t)K);
  res->weight = malloc(sizeof(double) * (size_t)ndir);
  cl_rng *rng;
  cl_rng_alloc(seed, 0x6261, &rng, NULL);
  int *which = malloc(sizeof(int) * (size_t)ndir);
  double *ends = malloc(sizeof(double) * (size_t)ndir * (size_t)(K + 1));
  if (!dirs || !res->weight || !rng || !which || !ends) {
    free(dirs), free(which), free(ends), cl_rng_free(rng);
    cl_basin_result_free(res);
    return cl_fail(err, CL_ENOMEM, "out of memory");
  }
  for (long k = 0; k < ndir; k++) {
    for (int j = 0; j < K; j++) dirs[k * K + j] = sqrt(var[j] / (double)N) * cl_rng_gauss(rng);
    res->weight[k] = 1.0 / (double)ndir;
  }
  cl_rng_free(rng);
  long bad = -1;
  cl_status oom = CL_OK, bad_st = CL_EDIVERGE;
  char e0[CL_ERRLEN] = "";
  int nth = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic, 1) num_threads(nth)
  for (long k = 0; k < ndir; k++) {
    double R0[CL_KMAX];
    char e[CL_ERRLEN];
    for (int j = 0; j < K; j++) R0[j] = dirs[k * K + j];
    cl_status cs = start_in_domain(m, R0, var, e);
    if (!cs) cs = classify_end(m, o, res, R0, m->Q0[0], tmax, &which[k], ends + k * (K + 1), e);
    if (cs) {
#pragma omp critical(cl_basin_err)
      if (bad < 0 || k < bad) bad = k, bad_st = cs, memcpy(e0, e, CL_ERRLEN);
    }
    if (o0->progress) {
#pragma omp critical(cl_basin_progress)
      o0->progress(o0->progress_ctx, (double)++ndone / (double)ndir);
    }
  }
  /* endpoints near no known stable point: the flow found one the Newton
   * starts missed (e.g. a mixed state); polish them and classify again */
  if (bad < 0) {
    double *extra = malloc(sizeof(double) * 64 * (size_t)(K + 1));
    if (!extra) oom = st = cl_fail(err, CL_ENOMEM, "out of memory");
    int ne = 0;
    for (long k = 0; k < ndir && ne < 64 && extra; k++)
      if (which[k] == res->nfp) memcpy(extra + ne++ * (K + 1), ends + k * (K + 1), sizeof(double) * (size_t)(K + 1));
    if (ne > 0 && !(st = stable_points(m, o, extra, ne, res, err)))
      for (long k = 0; k < ndir; k++) which[k] = nearest(res, K + 1, ends + k * (K + 1));
    free(extra);
    if (st == CL_ENOMEM) oom = st;
    if (st) bad = 0, snprintf(e0, sizeof e0, "%s", err ? err : "");
  }
  if (bad < 0) {
    res->count = calloc((size_t)res->nfp + 1, sizeof(long));
    res->prob = calloc((size_t)res->nfp + 1, sizeof(double));
    if (!res->count || !res->prob) oom = CL_ENOMEM, bad = 0, snprintf(e0, sizeof e0, "out of memory");
    for (long k = 0; k < ndir && !oom; k++) res->count[which[k]]++, res->prob[which[k]] += res->weight[k];
  }
  free(which);
  free(ends);
  free(dirs);
  if (bad >= 0 && oom) {
    cl_basin_result_free(res);
    return cl_fail(err, CL_ENOMEM, "out of memory");
  }
  if (bad >= 0) {
    cl_basin_result_free(res);
    return cl_fail(err, bad_st, "direction %ld: %s", bad + 1, e0);
  }
  return CL_OK;
}

/* ---- M >= 2 ------------------------------------------------------------ */
int cl_basin_outcome(int K, int M, const double *y) { return cl_basin_outcome_finite(K, M, y, 0); }

/* The largest Q_ii of the M x M matrix Q. */
static double diag_max(const double *Q, int M) {
  double v = 0;
  for (int i = 0; i < M; i++) v = fmax(v, Q[i * (M + 1)]);
  return v;
}

/* The largest |a_k - b_k| over k < n. */
static double abs_diff_max(const double *a, const double *b, int n) {
  double v = 0;
  for (int k = 0; k < n; k++) v = fmax(v, fabs(a[k] - b[k]));
  return v;
}

/* At finite N a unit with no overlap has R_ji ~ Q_ii^(1/2) N^(-1/2) noise:
 * N |cos_i|^2 ~ chi^2_K.  It has "no overlap" below the larger of 0.01 and
 * the chi^2_K 1 - 1e-4 quantile over N (docs/fixed-points.md s.5). */
double cl_basin_zero_overlap(int K, long long N) {
  double z = 0.01;
  if (N > 0) z = fmax(z, gsl_cdf_chisq_Qinv(1e-4, K) / (double)N);
  return z;
}

int cl_basin_outcome_finite(int K, int M, const double *y, long long N) {
  double R[CL_KMAX * CL_MMAX], Q[CL_MMAX * CL_MMAX], zthr = cl_basin_zero_overlap(K, N);
  cl_state_unpack(K, M, y, R, Q);
  const double qmax = diag_max(Q, M);
  for (int i = 0; i < M; i++)
    if (Q[i * M + i] < 1e-6 * qmax) return CL_KIND_DEAD;
  int on[CL_KMAX] = {0}, nzero = 0, nmixed = 0, shared = 0;
  for (int i = 0; i < M; i++) {
    double c2 = 0, best = 0;
    int jb = 0;
    for (int j = 0; j < K; j++) {
      double c = R[j * M + i] * R[j * M + i] / Q[i * M + i];
      c2 += c;
      if (c > best) best = c, jb = j;
    }
    if (c2 < zthr) nzero++;
    else if (best < 0.95 * 0.95 * c2) nmixed++;
    else shared |= on[jb]++ > 0;
  }
  if (nzero == M) return CL_KIND_UNINFORMATIVE;
  if (nzero) return CL_KIND_PARTIAL;
  if (!nmixed) return shared ? CL_KIND_SHARED : CL_KIND_SPECIALISED;
  double worst = 0;
  for (int i = 0; i < M; i++)
    for (int l = i + 1; l < M; l++) worst = fmax(worst, fabs(Q[i * M + l]) / sqrt(Q[i * M + i] * Q[l * M + l]));
  return nmixed >= 2 && worst < 0.2 ? CL_KIND_ROTATED : CL_KIND_MIXED;
}

/* The noise terms are evaluated at the start of a block of Euler steps and
 * again once Q has moved by more than NOISE_DQ max_i Q_ii since; within a
 * block v_ji is interpolated linearly in time (docs/fixed-points.md s.5). */
#ifndef NOISE_DQ
#define NOISE_DQ 0.02
#endif
/* The escape law's rates Lambda'_ji are evaluated again only once Q has
 * moved by more than RATE_DQ max_i Q_ii since their last evaluation (dQ at
 * every step where Q changed) */
#ifndef RATE_DQ
#define RATE_DQ 1e-6
#endif

/* v_ji = tau^2 (<c_j^2> EGG_i + s^2 Es_i) */
static double noise_rate(const cl_model *m, int ji, const double *EGG, const double *Es) {
  int j = ji / m->M, i = ji % m->M;
  return m->tau * m->tau * (m->c[j].m2 * EGG[i] + m->s * m->s * Es[i]);
}

/* The escape law's progress (the phase "escape law"): min Lambda / 25
 * (the loop stops at 25), in steps of 1% */
static void escape_progress(cl_progress_fn fn, void *ctx, double lmin, double *shown) {
  double f = fmin(fmax(lmin, 0) / 25, 1);
  if (!fn || !(f >= *shown + 0.01)) return;
  *shown = f;
  fn(ctx, f);
}

static cl_status escape_multi(const cl_model *m, const cl_quad_opts *o, cl_progress_fn fn, void *ctx, double *var,
                              char *err);

cl_status cl_basin_escape_variances_multi(const cl_model *m, const cl_quad_opts *o, double *var, char *err) {
  return escape_multi(m, o, NULL, NULL, var, err);
}

static cl_status escape_multi(const cl_model *m, const cl_quad_opts *o, cl_progress_fn fn, void *ctx, double *var,
                              char *err) {
  const int K = m->K, M = m->M, KM = K * M;
  if (m->B != 1) return cl_fail(err, CL_EINVAL, "B: basin with M >= 2 needs B = 1");
  /* with g = abs the drift of one sample jumps where its C_il changes sign:
   * the rules' central differences at R = +-eps e_ji miss the jumps' term
   * (or, where a point lies within eps of its jump, are dominated by it), so
   * the rates are not the drift's derivative (docs/fixed-points.md s.5) */
  if (m->g == CL_G_ABS && m->lambda != 0)
    return cl_fail(err, CL_EINVAL,
                   "g: basin with M >= 2 needs g = square where lambda != 0 (with g = abs the rules do not give the "
                   "growth rates at R = 0)");
  cl_drift *d;
  cl_status st0 = cl_drift_alloc(m, o, &d, err);
  if (st0) return st0;
  double R[CL_KMAX * CL_MMAX] = {0}, Q[CL_MMAX * CL_MMAX], Lam[CL_KMAX * CL_MMAX] = {0},
         acc[CL_KMAX * CL_MMAX] = {0};
  memcpy(Q, m->Q0, sizeof(double) * (size_t)(M * M));
  /* the current block: from step k0 at Qe with noise terms (E0, S0); the
   * sums A0 = sum e_k, A1 = sum e_k (k - k0) of its steps' weights
   * e_k = h exp(-2 Lambda(t_k)) */
  double Qe[CL_MMAX * CL_MMAX], E0[CL_MMAX], S0[CL_MMAX], E1[CL_MMAX] = {0}, S1[CL_MMAX] = {0}, A0[CL_KMAX * CL_MMAX] = {0},
         A1[CL_KMAX * CL_MMAX] = {0};
  int k0 = 0;
  const double h = 0.02, eps = 1e-6;
  double shown = 0, Qc[CL_MMAX * CL_MMAX], Qr[CL_MMAX * CL_MMAX], lamc[CL_KMAX * CL_MMAX] = {0}, dR[CL_KMAX * CL_MMAX],
         dQ[CL_MMAX * CL_MMAX];
  if (fn) fn(ctx, 0);
  cl_status st = cl_basin_noise_terms(m, Q, 0, E0, S0, err);
  memcpy(Qe, Q, sizeof Qe);
  int it = 0;
  const int itmax = (int)(ESCAPE_TMAX / h);
  for (; it < itmax && !st; it++) {
    double y[CL_STATE_MAX], f[CL_STATE_MAX];
    if (abs_diff_max(Q, Qe, M * M) > NOISE_DQ * diag_max(Qe, M)) { /* close the block at this step, open the next */
      if ((st = cl_basin_noise_terms(m, Q, 0, E1, S1, err))) break;
      for (int ji = 0; ji < KM; ji++) {
        double u = A1[ji] / (it - k0);
        acc[ji] += noise_rate(m, ji, E0, S0) * (A0[ji] - u) + noise_rate(m, ji, E1, S1) * u;
        A0[ji] = A1[ji] = 0;
      }
      memcpy(E0, E1, sizeof E0), memcpy(S0, S1, sizeof S0), memcpy(Qe, Q, sizeof Qe);
      k0 = it;
    }
    double lmin;
    /* the rates and dQ are functions of Q alone (R = 0): where Euler has
     * left Q unchanged to the last bit (Q at the rule's fixed point, h dQ
     * below half an ulp) the previous step's values are reused, the same
     * numbers without their 2 KM + 1 drift evaluations; the rates (2 KM of
     * them) also until Q has moved by RATE_DQ max_i Q_ii from where they
     * were evaluated (keep) */
    const int same = it > 0 && memcmp(Q, Qc, sizeof(double) * (size_t)(M * M)) == 0;
    const int keep = it > 0 && (same || abs_diff_max(Q, Qr, M * M) <= RATE_DQ * diag_max(Qr, M));
    if (!keep) memcpy(Qr, Q, sizeof Qr);
    for (int ji = 0; ji < KM && !st; ji++) {
      /* the rate of R_ji: the central difference of dR_ji/dt at R = +-eps
       * e_ji (the M >= 2 rules are not exactly odd in R: their drift at
       * R = 0 need not vanish, the difference cancels that offset) */
      if (!keep) {
        double fp;
        R[ji] = eps;
        cl_state_pack(K, M, R, Q, y);
        if ((st = cl_ode_drift(d, K, M, y, f, err))) break;
        fp = f[ji];
        R[ji] = -eps;
        cl_state_pack(K, M, R, Q, y);
        R[ji] = 0;
        if ((st = cl_ode_drift(d, K, M, y, f, err))) break;
        lamc[ji] = (fp - f[ji]) / (2 * eps);
      }
      double e = escape_weight(h, Lam[ji]);
      A0[ji] += e, A1[ji] += e * (it - k0);
      Lam[ji] += h * lamc[ji];
    }
    if (st) break;
    int verdict = escape_verdict(KM, Lam, lamc, it, &lmin);
    if (verdict > 0) break;
    if (verdict < 0) {
      st = r0_stable(m->M, err);
      break;
    }
    escape_progress(fn, ctx, lmin, &shown);
    if (!same) {
      if ((st = cl_drift_eval(d, R, Q, dR, dQ, err))) break;
      memcpy(Qc, Q, sizeof Qc);
    }
    if ((q_settled(M * M, dQ, diag_max(Q, M), it * h) || it + 1 == itmax) &&
        (st = escape_too_slow(m, (it + 1) * h, Lam, lamc, err)))
      break;
    for (int k = 0; k < M * M; k++) Q[k] += h * dQ[k];
  }
  /* the last block ends at the last step taken (Q there) */
  if (!st && it > k0) st = cl_basin_noise_terms(m, Q, 0, E1, S1, err);
  for (int ji = 0; ji < KM && !st; ji++) {
    double u = it > k0 ? A1[ji] / (it - k0) : 0;
    acc[ji] += noise_rate(m, ji, E0, S0) * (A0[ji] - u) + (it > k0 ? noise_rate(m, ji, E1, S1) * u : 0);
  }
  for (int ji = 0; ji < KM; ji++)
    var[ji] = escape_stable(Lam[ji], lamc[ji])
                  ? stable_start_var(noise_rate(m, ji, it > k0 ? E1 : E0, it > k0 ? S1 : S0), lamc[ji])
                  : m->Q0[(ji % M) * (M + 1)] + acc[ji];
  cl_drift_free(d);
  return escape_failed(m, st, it * h, err);
}

/* One start from time T0 to T (T0 = 0 from mm's R0 and Q0, or where cont
 * left it), with outputs every T / 6: its state at T
 * and whether it settled over the last output interval w = T / 6 (the
 * same outcome at T - w and T, and no state component moved by more than
 * CL_BASIN_SETTLE_TOL between them).  T - T0 is a multiple of T / 6 (T0 =
 * 0, T / 2). */
static cl_status run_start(const cl_model *mm, const cl_ode_opts *o, double T0, double T, cl_ode_cont *cont,
                           double *y, int *settled, char *e) {
  const int K = mm->K, M = mm->M, n = cl_state_size(K, M);
  cl_schedule s = {.T = T - T0, .dt_out = T / 6, .runs = 1, .seed = 1};
  cl_traj *tr = NULL;
  /* no rerun per start: one engine for every start (cl_basin_multi_ends) */
  cl_status st = cl_ode_solve_cont(mm, &s, o, cont, &tr, e);
  if (st) return st;
  const double *a = cl_traj_row(tr, 0, tr->nt >= 2 ? tr->nt - 2 : 0), *b = cl_traj_row(tr, 0, tr->nt - 1);
  double dmax = 0;
  for (int k = 0; k < n; k++) dmax = fmax(dmax, fabs(b[k] - a[k]));
  *settled = tr->nt >= 2 && dmax <= CL_BASIN_SETTLE_TOL && cl_basin_outcome(K, M, a) == cl_basin_outcome(K, M, b);
  memcpy(y, b, sizeof(double) * (size_t)n);
  cl_traj_free(tr);
  return CL_OK;
}

cl_status cl_basin_run_multi(const cl_model *m, const cl_ode_opts *o0, long ndir, double tmax, uint64_t seed,
                         int threads, cl_basin_multi_result *res, char *err) {
  return cl_basin_multi_ends(m, o0, ndir, tmax, seed, threads, res, NULL, NULL, err);
}

static cl_status multi_ends(const cl_model *m, const cl_ode_opts *o0, long ndir, double tmax, uint64_t seed,
                            int threads, cl_basin_multi_result *res, double *ends, int *settled, char *err);

/* Where the default grid engine refuses a state (the escape variances' or
 * any start's), every start is redone with the fallback engine, as ode
 * redoes a whole run (docs/grid.md s.6): the probabilities come from one
 * engine, and res->rerun says so. */
cl_status cl_basin_multi_ends(const cl_model *m, const cl_ode_opts *o0, long ndir, double tmax, uint64_t seed,
                              int threads, cl_basin_multi_result *res, double *ends, int *settled, char *err) {
  cl_status st = multi_ends(m, o0, ndir, tmax, seed, threads, res, ends, settled, err);
  cl_ode_opts o = *o0;
  const char *name;
  if (st != CL_EDIVERGE || !cl_drift_grid_refused(err) || !cl_drift_fallback(m, &o0->quad, &o.quad, &name))
    return st;
  st = multi_ends(m, &o, ndir, tmax, seed, threads, res, ends, settled, err);
  if (!st) snprintf(res->rerun, sizeof res->rerun, "the grid engine refused a state: every start rerun with the %s", name);
  return st;
}

static cl_status multi_ends(const cl_model *m, const cl_ode_opts *o0, long ndir, double tmax, uint64_t seed,
                            int threads, cl_basin_multi_result *res, double *ends, int *settled, char *err) {
  cl_ode_opts oo = *o0, *o = &oo;
  oo.progress = NULL;
  long ndone = 0;
  const int K = m->K, M = m->M, n = cl_state_size(K, M);
  memset(res, 0, sizeof *res);
  if (M < 2) return cl_fail(err, CL_EINVAL, "M: cl_basin_run_multi needs M >= 2");
  if (o0->phase) o0->phase(o0->progress_ctx, "escape law");
  cl_status st = escape_multi(m, &o->quad, o0->phase ? o0->progress : NULL, o0->progress_ctx, res->var, err);
  if (st) return st;
  if (o0->phase) o0->phase(o0->progress_ctx, "directions");
  res->ndir = ndir;
  double *starts = malloc(sizeof(double) * (size_t)ndir * (size_t)(K * M));
  int *which = malloc(sizeof(int) * (size_t)ndir), *done = malloc(sizeof(int) * (size_t)ndir);
  if (!starts || !which || !done) {
    free(starts), free(which), free(done);
    return cl_fail(err, CL_ENOMEM, "out of memory");
  }
  cl_rng *rng;
  if ((st = cl_rng_alloc(seed, 0x6261, &rng, err))) {
    free(starts), free(which), free(done);
    return st;
  }
  for (long k = 0; k < ndir * K * M; k++)
    starts[k] = sqrt(res->var[k % (K * M)] / (double)m->N) * cl_rng_gauss(rng);
  cl_rng_free(rng);
  long bad = -1;
  char e0[CL_ERRLEN] = "";
  int nth = threads > 0 ? threads : omp_get_max_threads();
  /* each start is independent and written to its own slot: the result does
   * not depend on the threads or the schedule */
#pragma omp parallel for schedule(dynamic, 1) num_threads(nth)
  for (long k = 0; k < ndir; k++) {
    cl_model mm = *m;
    char e[CL_ERRLEN];
    memcpy(mm.R0, starts + k * K * M, sizeof(double) * (size_t)(K * M));
    mm.init = CL_INIT_OVERLAP;
    which[k] = -1;
    double y[CL_STATE_MAX];
    cl_status cs = start_in_domain(m, mm.R0, res->var, e);
    /* a start that has not settled at tmax runs on from there to 2 tmax,
     * then 4 tmax, every copy of the system from its own state with the
     * integrator's next step (docs/fixed-points.md s.5) */
    cl_ode_cont cont = {0};
    for (double T = tmax, T0 = 0; !cs; T0 = T, T *= 2) {
      cs = run_start(&mm, o, T0, T, &cont, y, &done[k], e);
      if (cs || done[k] || T >= 4 * tmax) break;
    }
    cl_ode_cont_free(&cont);
    if (cs) {
#pragma omp critical(cl_basinm_err)
      if (bad < 0 || k < bad) bad = k, memcpy(e0, e, CL_ERRLEN);
      continue;
    }
    which[k] = cl_basin_outcome(K, M, y);
    if (ends) memcpy(ends + k * n, y, sizeof(double) * (size_t)n);
    if (settled) settled[k] = done[k];
    if (o0->progress) {
#pragma omp critical(cl_basinm_progress)
      o0->progress(o0->progress_ctx, (double)++ndone / (double)ndir);
    }
  }
  if (bad < 0)
    for (long k = 0; k < ndir; k++) res->count[which[k]]++, res->unsettled += !done[k];
  for (int q = 0; q < CL_NKINDS; q++) res->prob[q] = (double)res->count[q] / (double)ndir;
  free(starts);
  free(which);
  free(done);
  if (bad >= 0) return cl_fail(err, CL_EDIVERGE, "direction %ld: %s", bad + 1, e0);
  return CL_OK;
}
