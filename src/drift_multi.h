/* drift_multi.h (internal) - the expectation engine for M >= 2 units
 * (docs/multi.md): dR, dQ by digitally shifted Sobol' rules over
 * (continuous c, Gaussian part), exact sums over discrete atoms, and an
 * error bound from independent shifts (fixed internal seed). */
#ifndef CLDYN_DRIFT_MULTI_H
#define CLDYN_DRIFT_MULTI_H

#include <stdint.h>

#include "cldyn/model.h"
#include "cldyn/quad.h"

typedef struct cl_multi cl_multi;

/* 1 if the law is symmetric under c -> -c (every family; a discrete law
 * whose atoms come in +- pairs of equal weight); its rules (quad.c) are then
 * symmetric too.  Shared with drift.c. */
int cl_law_is_symmetric(const cl_law *law);

/* The engine into *out; CL_OK with *out NULL if the case cannot be
 * handled (more than CL_MULTI_SOBOL_DIMAX dimensions): the caller then
 * falls back to Monte Carlo over whole batches, which beat randomised
 * Halton points above them (docs/multi.md s.3). */
#define CL_MULTI_SOBOL_DIMAX 40 /* GSL's Sobol' generator */
#define CL_MULTI_DIMAX 1229     /* GSL's Halton generator: the other rules */
cl_status cl_multi_alloc(const cl_model *m, const cl_quad_opts *o, cl_multi **out, char *err);
/* The same with nrep shifts (0: the default) drawn from seed (0: the fixed
 * internal seed): for bench/qmcbound, which measures how often the bound
 * misses over many draws of the shifts. */
cl_status cl_multi_alloc_shifts(const cl_model *m, const cl_quad_opts *o, uint64_t seed, int nrep,
                                cl_multi **out, char *err);
/* The same with the base points of a chosen rule (bench/qmchalton, which
 * compares them at the same points above 40 dimensions): CL_MULTI_AUTO or
 * CL_MULTI_SOBOL (the engine's: up to CL_MULTI_SOBOL_DIMAX dimensions),
 * CL_MULTI_HALTON (shifts modulo 1), CL_MULTI_RHALTON (GSL's reverse
 * Halton, likewise) or CL_MULTI_IID (independent uniform points from the
 * shifts' seed: plain Monte Carlo with the same images); the last three
 * up to CL_MULTI_DIMAX dimensions and 16 samples per point. */
enum { CL_MULTI_AUTO, CL_MULTI_SOBOL, CL_MULTI_HALTON, CL_MULTI_RHALTON, CL_MULTI_IID };
cl_status cl_multi_alloc_rule(const cl_model *m, const cl_quad_opts *o, uint64_t seed, int nrep, int rule,
                              cl_multi **out, char *err);
void cl_multi_free(cl_multi *q);
/* dR (K x M), dQ (M x M); if ebar is non-NULL it receives the error bound of
 * every component (K*M entries for dR, then M*M for dQ). */
cl_status cl_multi_eval(cl_multi *q, const double *R, const double *Q, double *dR, double *dQ,
                        double *ebar, char *err);
/* The drift by replicate `rep` (0 <= rep < nrep) alone: each replicate is
 * an unbiased estimate of the drift, smooth in the state; integrating the
 * replicates separately gives trajectories whose spread bounds the error of
 * their mean (cl_ode_solve). */
cl_status cl_multi_eval_rep(cl_multi *q, int rep, const double *R, const double *Q, double *dR,
                            double *dQ, char *err);
/* The replicates rl[0..nr-1] (distinct), replicate rl[x] at the state
 * (R[x], Q[x]), into dR[x], dQ[x]: the same values as cl_multi_eval_rep for
 * each, with every replicate's work in one set of threads (docs/multi.md
 * s.8). */
cl_status cl_multi_eval_reps(cl_multi *q, int nr, const int *rl, const double *const *R,
                             const double *const *Q, double *const *dR, double *const *dQ, char *err);
/* Threads of the drift engines (this one and drift_erf.c) for one parallel
 * region: 1 inside another parallel region; else OpenMP's count
 * (omp_get_max_threads) if OMP_NUM_THREADS is set, and 1 if it is not.  Their
 * regions last milliseconds, and on a machine shared with other jobs a
 * second thread that spins while the first is descheduled cost 2-4x the
 * CPU and the wall time (docs/multi.md s.8): threads are asked for. */
int cl_drift_threads(void);
/* Threads for coarse tasks (the M = 4 grid engine's sub-engines, each
 * milliseconds to tens of milliseconds of work, one parallel region per
 * level): 1 inside any enclosing parallel region (sweep, basin, the runner,
 * even with --threads 1); else OpenMP's count if OMP_NUM_THREADS is set,
 * and every processor (omp_get_num_procs) if it is not.  The result does
 * not depend on the count (docs/multi.md s.8, session 25). */
int cl_drift_threads_tasks(void);
/* The factor of the bound: 3 t(0.995, nrep - 1) (docs/multi.md s.3). */
double cl_multi_tquant(const cl_multi *q);
/* Largest error bound of the last evaluation (over the components). */
double cl_multi_errmax(const cl_multi *q);
/* 1 where the drift of one rule is discontinuous in the state: the
 * whole-batch path (g abs), g abs with lambda != 0 at B = 1 */
int cl_multi_kinked(const cl_multi *q);
const char *cl_multi_method(const cl_multi *q);
/* The R replicate drifts of the last evaluation (rep r at r * (K*M + M*M)),
 * and their count. */
const double *cl_multi_replicates(const cl_multi *q, int *nrep);

/* Shared with the deterministic rule (drift_acc.c):
 * A = Q - R^T R (M x M) and the 2M x 2M covariance Sigma of (h1, h2) given c
 * (CL_EDIVERGE outside the physical domain or for a non-finite state); */
cl_status cl_multi_sigma(const cl_model *m, const double *R, const double *Q, double *A,
                         double *Sg, char *err);
/* its symmetric root S and the Stein map G S come from cl_sym_roots_ginv
 * (linalg.h); and the drift (dR then dQ into out) from the sums acc =
 * [aR (K x M), T (2M x 2M), P (M x M), V (M x M)] with T_ar =
 * E[ghat_a z_r], z the standardised (h1, h2) - (mu, mu) = S z, GS the
 * Stein map (row-major: E[g eps] = Cov(eps, h) GS T; docs/multi.md s.1,
 * s.12). */
void cl_multi_assemble(const cl_model *m, const double *R, const double *Q, const double *GS,
                       const double *acc, double *out);

#endif
