/* cldyn/simulate.h - online SGD of the N-dimensional model (docs/model.md s.4).
 *
 * One cl_sim is one run: features U, weights W, its own random stream
 * (stream `run` of `seed`) and batch buffers.  Memory is O(N (K + M + 3B)):
 * no N x N matrix is ever formed; P_perp z is z - U (U^T z). */
#ifndef CLDYN_SIMULATE_H
#define CLDYN_SIMULATE_H

#include "cldyn/model.h"
#include "cldyn/schedule.h"
#include "cldyn/traj.h"
#pragma GCC visibility push(default) /* the public API: see README "Library" */

typedef struct cl_sim cl_sim;

/* Draw the features and the initial weights of run `run` of seed `seed`.
 * `force_general` disables the fused M = 1, B = 1 path (for tests). */
cl_sim *cl_sim_alloc(const cl_model *m, uint64_t seed, uint64_t run, int force_general,
                     char *err);
void cl_sim_free(cl_sim *sim);
/* Advance by `steps` SGD steps (t advances by steps / N). */
void cl_sim_advance(cl_sim *sim, long long steps);
long long cl_sim_steps(const cl_sim *sim);
/* Current R (K x M) and Q (M x M). */
void cl_sim_order(const cl_sim *sim, double *R, double *Q);
const double *cl_sim_weights(const cl_sim *sim);  /* N x M */
const double *cl_sim_features(const cl_sim *sim); /* N x K */

/* Progress callback: fraction of the total work done, in [0, 1]. */
typedef void (*cl_progress_fn)(void *ctx, double fraction);

/* All runs of the schedule, in parallel over runs with `threads` OpenMP
 * threads (0: the OpenMP default).  The result does not depend on the
 * number of threads.  A non-finite or overflowing state stops with
 * CL_EDIVERGE and a message naming the run, the time and the parameters. */
cl_status cl_simulate(const cl_model *m, const cl_schedule *s, int threads, cl_traj **out,
                      cl_progress_fn progress, void *ctx, char *err);

#pragma GCC visibility pop
#endif
