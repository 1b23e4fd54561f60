/* cldyn/reduced.h - the exact finite-N chain of the order parameters under
 * an L2 regularizer (docs/model.md s.9; derivation in docs/theory.md).
 *
 * State: Rt = U^T W (K x M) and the Gram G = Wp^T Wp (M x M) of the part of
 * W orthogonal to the features, so R = Rt / sqrt N, Q = (Rt^T Rt + G) / N.
 * A step draws c, the K- and M-dimensional projections of the fresh
 * Gaussian vectors on span(U) and span(Wp), and, for the rest of those
 * vectors, a Wishart matrix with N - K - M degrees of freedom (Bartlett);
 * its cost does not depend on N, and the law of (R_k, Q_k) is exactly that
 * of the full simulation. */
#ifndef CLDYN_REDUCED_H
#define CLDYN_REDUCED_H

#include "cldyn/engine.h"
#include "cldyn/model.h"
#pragma GCC visibility push(default) /* the public API: see README "Library" */

typedef struct cl_red cl_red;

/* Run `run` of seed `seed` into *out (NULL on failure). */
cl_status cl_red_alloc(const cl_model *m, uint64_t seed, uint64_t run, cl_red **out, char *err);
void cl_red_free(cl_red *r);
void cl_red_advance(cl_red *r, long long steps);
void cl_red_order(const cl_red *r, double *R, double *Q);

/* The engine table of one run (engine.h), driven by the runner
 * (runner.h: cl_runner_run, cl_runner_run_red). */
extern const cl_engine cl_engine_reduced;

#pragma GCC visibility pop
#endif
