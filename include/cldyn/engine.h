/* cldyn/engine.h - the step interface of a stochastic engine (simulate,
 * reduced): what the runner (runner.h), which sits above the engines, needs
 * to drive one run.  An engine exposes its steps through a cl_engine table
 * and never calls the runner; the runner owns the loop over runs and
 * output times, checkpoints and progress. */
#ifndef CLDYN_ENGINE_H
#define CLDYN_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "cldyn/model.h"
#pragma GCC visibility push(default) /* the public API: see README "Library" */

/* One run's state behind a void pointer.  alloc sets *state (NULL on
 * failure) and returns the status. */
typedef struct {
  const char *name; /* "simulate", "reduced": used in messages */
  cl_status (*alloc)(const cl_model *m, uint64_t seed, uint64_t run, void **state, char *err);
  void (*free)(void *state);
  void (*advance)(void *state, long long steps);
  long long (*steps)(const void *state);
  void (*order)(const void *state, double *R, double *Q);
  size_t (*state_size)(const void *state);
  void (*save)(const void *state, void *buf);
  void (*load)(void *state, const void *buf);
} cl_engine;

/* Progress callback: fraction of the total work done, in [0, 1]. */
typedef void (*cl_progress_fn)(void *ctx, double fraction);

#pragma GCC visibility pop
#endif
