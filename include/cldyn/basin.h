/* cldyn/basin.h - attraction regions of the ODEs' stable fixed points and
 * the probability of selecting each feature from an uninformative start
 * (docs/model.md s.6, finding (ii); docs/theory.md s.8).  M = 1.
 *
 * A random initialisation in high dimension gives R = O(N^-1/2) with an
 * isotropic direction in R^K, but the SGD noise while R escapes from 0 is of
 * the same order: in the linear phase R_j(t) ~ A_j exp(Lambda_j(t)) with
 * A_j ~ N(0, var_j / N), var_j = Q0 + int exp(-2 Lambda_j) tau^2 v_j / B
 * (cl_basin_escape_variances).  The ODE is integrated from R(0) = A (ndir
 * seeded draws of A at the model's N), Q(0) = Q0, until tmax, and each start
 * is assigned to the stable fixed point it reaches; a fixed point's
 * probability is the fraction of starts.  The size of A matters: features
 * with different growth rates compete for a time ~ log N, so the selection
 * probabilities depend on N (logarithmically); with equal rates only the
 * direction matters.  See docs/theory.md s.8. */
#ifndef CLDYN_BASIN_H
#define CLDYN_BASIN_H

#include "cldyn/fixed.h"
#include "cldyn/law.h"
#include "cldyn/ode.h"
#pragma GCC visibility push(default) /* the public API: see README "Library" */

typedef struct {
  int nfp;            /* stable fixed points */
  cl_fixed_point *fp; /* their description */
  long *count;        /* directions reaching each; unassigned in count[nfp] */
  double *prob;       /* their probability under the escape law (nfp + 1) */
  double *weight;     /* per direction */
  double var[CL_KMAX];/* N var(A_j) of the escape amplitudes */
  long ndir;
} cl_basin_result;

cl_status cl_basin_run(const cl_model *m, const cl_ode_opts *o, long ndir, double tmax, uint64_t seed,
                   int threads, cl_basin_result *res, char *err);
void cl_basin_result_free(cl_basin_result *res);
/* N var(A_j) for each feature (see above).  A feature stable at R = 0
 * (Lambda_j < -5 with its rate negative) gets the stationary variance
 * tau^2 v_j / (2 B |lambda_j|) at the end of the escape instead; where every
 * feature is stable, CL_EINVAL ("the uninformative state R = 0 is stable"):
 * docs/theory.md s.8. */
cl_status cl_basin_escape_variances(const cl_model *m, const cl_quad_opts *o, double *var, char *err);

/* ---- M >= 2 (B = 1) -------------------------------------------------
 * The probability of each outcome of the units from an uninformative start:
 * specialised (M distinct features), shared, rotated, mixed, dead (a unit
 * with Q_ii -> 0), partial, uninformative (cl_fixed_kind).  The escape law
 * is the M = 1 one per (feature, unit): A_ji ~ N(0, var_ji / N),
 * var_ji = Q0_ii + int exp(-2 Lambda_ji) tau^2 v_ji, with the rates
 * dLambda_ji/dt the diagonal of the Jacobian at R = 0 (Q(t) following the
 * drift at R = 0) and v_ji the variance rate of the R_ji noise at R = 0,
 * including the penalty's part (a deterministic rule over at most four of
 * the 2M Gaussian pre-activations at a time, relative error below 1e-3).  Each start is integrated to tmax and its end
 * state classified by cl_basin_outcome (docs/fixed-points.md s.5).  A start
 * has settled when its outcome is the same at tmax - tmax / 6 and at tmax
 * and no component of the state moved by more than CL_BASIN_SETTLE_TOL in
 * between; one that has not is integrated again to 2 tmax, then 4 tmax, and
 * is classified by its last state (counted in `unsettled` if it has still
 * not settled).  Where the default M = 2 grid engine refuses a state, the
 * whole run is redone with cl_drift_fallback's engine (res->rerun). */
#define CL_BASIN_SETTLE_TOL 1e-3
typedef struct {
  long ndir;
  long unsettled; /* starts not settled at 4 tmax (classified all the same) */
  long count[CL_NKINDS];
  double prob[CL_NKINDS];
  double var[CL_KMAX * CL_MMAX]; /* N var(A_ji), K x M */
  char rerun[128]; /* empty, or why every start was redone with another engine: the default
                      grid refused a state (cl_drift_fallback) */
} cl_basin_multi_result;

cl_status cl_basin_run_multi(const cl_model *m, const cl_ode_opts *o, long ndir, double tmax, uint64_t seed,
                         int threads, cl_basin_multi_result *res, char *err);
/* As cl_basin_run_multi, also returning each start's end state (ends: ndir x
 * cl_state_size(K, M), or NULL) and whether it settled (settled: ndir, or
 * NULL).  Deterministic whatever the threads. */
cl_status cl_basin_multi_ends(const cl_model *m, const cl_ode_opts *o, long ndir, double tmax, uint64_t seed,
                              int threads, cl_basin_multi_result *res, double *ends, int *settled, char *err);
cl_status cl_basin_escape_variances_multi(const cl_model *m, const cl_quad_opts *o, double *var, char *err);
/* The outcome of a state near the end of a run (loose thresholds: a unit
 * is dead when Q_ii < 1e-6 max Q_ll, on feature j when |cos_ji| > 0.95 of
 * its |cos| vector; two mixed units form a rotated frame when
 * |Q_il| < 0.2 sqrt(Q_ii Q_ll)).  y is a state vector (cl_state_pack). */
int cl_basin_outcome(int K, int M, const double *y);
/* The same for the end of a finite-N run (reduced, simulate; N > 0): a
 * unit has no overlap when |cos_i|^2 < cl_basin_zero_overlap(K, N), the
 * larger of 0.01 and the chi^2_K 1 - 1e-4 quantile over N (the overlap of
 * an uninformed unit is N^(-1/2) noise).  The dead-unit rule does not
 * depend on N (docs/fixed-points.md s.5).  N = 0: cl_basin_outcome. */
int cl_basin_outcome_finite(int K, int M, const double *y, long long N);
double cl_basin_zero_overlap(int K, long long N);

/* Which stable fixed point (index, or nfp if none within 1e-3) the ODE
 * reaches from R(0) = R0 (K values), Q(0) = Q0. */
cl_status cl_basin_classify(const cl_model *m, const cl_ode_opts *o, const cl_basin_result *res,
                            const double *R0, double Q0, double tmax, int *which, char *err);

/* Phase-portrait map (K = 2): the stable fixed point reached from each
 * start of an n x n grid, R(0) = (-r + 2 r i / (n - 1), -r + 2 r l / (n - 1)),
 * r = 0.95 sqrt(Q0), Q(0) = Q0.  which[i + n l] is an index into res->fp,
 * res->nfp for none, or -1 outside the physical disc |R(0)|^2 < Q0. */
cl_status cl_basin_map(const cl_model *m, const cl_ode_opts *o, const cl_basin_result *res, int n,
                       double tmax, int threads, int *which, char *err);
/* The grid coordinate of index i (0..n-1) of cl_basin_map. */
double cl_basin_map_coord(const cl_model *m, int n, int i);

#pragma GCC visibility pop
#endif
