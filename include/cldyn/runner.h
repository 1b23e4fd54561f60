/* cldyn/runner.h - running many independent runs of a stochastic engine
 * (simulate, reduced) over OpenMP threads, with checkpoints from which a
 * killed job resumes to a byte-identical result.
 *
 * Each run is a pure function of (model, schedule, seed, run index), so the
 * scheduling of runs over threads never changes the result.  A checkpoint
 * (written atomically) holds the rows of finished runs and the full state of
 * runs in progress; resuming restores them and redoes nothing else. */
#ifndef CLDYN_RUNNER_H
#define CLDYN_RUNNER_H

#include "cldyn/engine.h"
#include "cldyn/model.h"
#include "cldyn/traj.h"
#pragma GCC visibility push(default) /* the public API: see README "Library" */

typedef struct {
  const char *checkpoint; /* path written every `every` units of t; NULL: none */
  double every;
  const char *resume; /* checkpoint to resume from; NULL: none */
} cl_ckpt_opts;

/* CL_EINVAL unless `path` is a regular file or absent and its directory
 * takes a temporary file; the message starts with `option`, the name of the
 * parameter that holds the path ("checkpoint"). */
cl_status cl_runner_check_ckpt_path(const char *path, const char *option, char *err);

/* Called after output k of run `run` with the engine's state (a cl_sim *
 * for cl_engine_simulate); from several threads at once for different runs. */
typedef void (*cl_run_observer)(void *ctx, const void *state, long long run, size_t k);

/* As cl_runner_run, with an observer (NULL: none). */
cl_status cl_runner_run_obs(const cl_engine *e, const cl_model *m, const cl_schedule *s, int threads,
                            const cl_ckpt_opts *ck, cl_traj **out, cl_progress_fn progress,
                            void *ctx, cl_run_observer obs, void *octx, char *err);
/* All runs of the schedule with engine `e`; see cl_runner_run_sim. */
cl_status cl_runner_run(const cl_engine *e, const cl_model *m, const cl_schedule *s, int threads,
                        const cl_ckpt_opts *ck, cl_traj **out, cl_progress_fn progress, void *ctx,
                        char *err);

/* All runs of the schedule with the SGD engine (cl_engine_simulate,
 * simulate.h), in parallel over runs with `threads` OpenMP threads (0: the
 * OpenMP default), without checkpoints.  The result does not depend on the
 * number of threads.  A non-finite or overflowing state stops with
 * CL_EDIVERGE and a message naming the run, the time and the parameters. */
cl_status cl_runner_run_sim(const cl_model *m, const cl_schedule *s, int threads, cl_traj **out,
                      cl_progress_fn progress, void *ctx, char *err);
/* All runs with the exact finite-N chain (cl_engine_reduced, reduced.h),
 * as cl_runner_run_sim; the regularizer must be l2 or none. */
cl_status cl_runner_run_red(const cl_model *m, const cl_schedule *s, int threads, cl_traj **out,
                     cl_progress_fn progress, void *ctx, char *err);

#pragma GCC visibility pop
#endif
