/* cldyn/simulate.h - online SGD of the N-dimensional model (docs/model.md s.4).
 *
 * One cl_sim is one run: features U, weights W, its own random stream
 * (stream `run` of `seed`) and batch buffers.  Memory is O(N (K + 2M + 6B)):
 * no N x N matrix is ever formed; P_perp z is z - U (U^T z). */
#ifndef CLDYN_SIMULATE_H
#define CLDYN_SIMULATE_H

#include "cldyn/engine.h"
#include "cldyn/model.h"
#pragma GCC visibility push(default) /* the public API: see README "Library" */

typedef struct cl_sim cl_sim;

/* Step implementations.  CL_SIM_AUTO picks the fused M = 1, B = 1 loop
 * when it applies and the M-unit step otherwise; REFERENCE and UNITS force
 * a path (for tests and benchmarks; FUSED exists for M = B = 1 only and
 * otherwise means AUTO).  The M-unit step equals the fused loop
 * operation for operation at M = B = 1; the reference step (CBLAS on N x B
 * blocks, cl_data_batch_draw and cl_data_batch_grad) draws the same numbers in the
 * same roles and agrees with both to rounding. */
enum { CL_SIM_AUTO = 0, CL_SIM_REFERENCE = 1, CL_SIM_UNITS = 2, CL_SIM_FUSED = 3 };

/* Draw the features and the initial weights of run `run` of seed `seed`
 * into *out (NULL on failure); `path` is one of the CL_SIM_* above (0:
 * automatic). */
cl_status cl_sim_alloc(const cl_model *m, uint64_t seed, uint64_t run, int path, cl_sim **out, char *err);
void cl_sim_free(cl_sim *sim);
/* Advance by `steps` SGD steps (t advances by steps / N). */
void cl_sim_advance(cl_sim *sim, long long steps);
long long cl_sim_steps(const cl_sim *sim);
/* Current R (K x M) and Q (M x M). */
void cl_sim_order(const cl_sim *sim, double *R, double *Q);
const double *cl_sim_weights(const cl_sim *sim);  /* N x M */
const double *cl_sim_features(const cl_sim *sim); /* N x K */

/* The two passes of the M-unit step, exposed for tests.  Wt holds the
 * weights unit-major (M x N: unit i's N weights at Wt + i N); X, E1, Ep
 * hold B samples each, sample-major (B x N): the clean samples
 * x_b = U c_b + P_perp z_b and the view noises eps1_b, eps'_b, with
 * eps2_b = rho eps1_b + sqrt(1 - rho^2) eps'_b.
 * cl_sim_units_coef: one pass over the coordinates per sample (and pair of
 * units) gives all pre-activations h^(1), h^(2); returns the batch loss F
 * and writes A (M x B x 3, entry ((i B + b) 3 + k)) such that
 *   -tau grad_{w_i} F = sum_b A_ib0 x_b + A_ib1 eps1_b + A_ib2 eps'_b.
 * work holds 4 M B doubles.
 * cl_sim_units_update: w_i <- w_i - (tau/N) phi'(w_i) + that sum, one pass. */
double cl_sim_units_coef(const cl_model *m, const double *Wt, const double *X, const double *E1,
                     const double *Ep, double *A, double *work);
void cl_sim_units_update(const cl_model *m, double *Wt, const double *X, const double *E1,
                     const double *Ep, const double *A);

/* The engine table of one run (engine.h), driven by the runner
 * (runner.h: cl_runner_run, cl_runner_run_sim). */
extern const cl_engine cl_engine_simulate;

#pragma GCC visibility pop
#endif
