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

#include "cldyn/model.h"
#include "cldyn/simulate.h"
#include "cldyn/traj.h"
#pragma GCC visibility push(default) /* the public API: see README "Library" */

typedef struct {
  const char *name; /* "simulate", "reduced": used in messages */
  void *(*alloc)(const cl_model *m, uint64_t seed, uint64_t run, char *err);
  void (*free)(void *state);
  void (*advance)(void *state, long long steps);
  long long (*steps)(const void *state);
  void (*order)(const void *state, double *R, double *Q);
  size_t (*state_size)(const void *state);
  void (*save)(const void *state, void *buf);
  void (*load)(void *state, const void *buf);
} cl_engine;

typedef struct {
  const char *checkpoint; /* path written every `every` units of t; NULL: none */
  double every;
  const char *resume; /* checkpoint to resume from; NULL: none */
} cl_ckpt_opts;

/* CL_EINVAL unless `path` is a regular file or absent and its directory
 * takes a temporary file (message names --option). */
cl_status cl_ckpt_check_path(const char *path, const char *option, char *err);

extern const cl_engine cl_engine_simulate;
extern const cl_engine cl_engine_reduced;

/* Called after output k of run `run` with the engine's state (a cl_sim *
 * for cl_engine_simulate); from several threads at once for different runs. */
typedef void (*cl_run_observer)(void *ctx, const void *state, long long run, size_t k);

/* As cl_run_engine, with an observer (NULL: none). */
cl_status cl_run_engine_obs(const cl_engine *e, const cl_model *m, const cl_schedule *s, int threads,
                            const cl_ckpt_opts *ck, cl_traj **out, cl_progress_fn progress,
                            void *ctx, cl_run_observer obs, void *octx, char *err);
/* All runs of the schedule with engine `e`; see cl_simulate. */
cl_status cl_run_engine(const cl_engine *e, const cl_model *m, const cl_schedule *s, int threads,
                        const cl_ckpt_opts *ck, cl_traj **out, cl_progress_fn progress, void *ctx,
                        char *err);

#pragma GCC visibility pop
#endif
