/* drift_grid4.h (internal) - the grid engine for M >= 4 units (docs/grid.md
 * s.15, M = 4; s.16, any M up to CL_MMAX since session 27): with B = 1 and
 * g = square every term of the drift names a set U of at most four units
 * and depends only on their marginal law, so the drift is a sum over the
 * sub-models by inclusion-exclusion: the C(M, 2) M = 2 grids (pairs) minus
 * M - 2 times each unit's own drift (the M = 2 grid at lambda = 0 on the
 * pairs {0, 1}, {2, 3}, ...), plus in dQ the terms naming three units (the
 * triples' M = 3 grids restricted to them: cl_grid_alloc_t3) and the
 * four-unit terms (cl_grid4q, drift_grid.c, on each quadruple)
 * (drift_grid4.c's header).  cl_grid4_alloc wraps it in a cl_grid
 * (cl_grid_alloc_sum) that calls it per level, so that cl_grid_eval and
 * cl_grid_eval_reps serve M >= 4 unchanged.  (The cl_grid4 names are
 * kept from the M = 4 engine: bench/grid4.c and bench/lev4.c use them.) */
#ifndef CLDYN_DRIFT_GRID4_H
#define CLDYN_DRIFT_GRID4_H

#include "cldyn/model.h"
#include "cldyn/quad.h"
#include "drift_grid.h"

typedef struct cl_grid4 cl_grid4;

/* the parts of a level (cl_grid4_eval_parts' mask) */
enum { CL_GRID4_TRIPLES = 1, CL_GRID4_PAIRS = 2, CL_GRID4_SINGLES = 4, CL_GRID4_FOUR = 8, CL_GRID4_ALL = 15 };

/* The engine as a cl_grid (cl_grid_alloc_sum): its levels, cl_grid_eval's
 * estimate and cl_grid_eval_reps as at M = 2 and 3 (the sub-engines at
 * the M = 4 levels, cl_grid4_levels; o->grid_nodes scales them as there
 * the default levels).  Where it
 * does not apply (cl_grid_applies), CL_EINVAL with the reason. */
cl_status cl_grid4_alloc(const cl_model *m, const cl_quad_opts *o, cl_grid **out, char *err);
/* The engine itself (bench/grid4.c). */
cl_status cl_grid4_new(const cl_model *m, const cl_quad_opts *o, cl_grid4 **out, char *err);
/* The levels of the M = 4 engine's sub-engines of m (triples, pairs,
 * singles; docs/grid.md s.15, "The M = 4 levels") at n inner nodes of the
 * default fine level (o->grid_nodes; 0: the default), scaled with
 * x = n / 24 as cl_grid_default_levels'; the caps (n, nemax) are
 * cl_grid_caps' of each sub-engine's dimension. */
void cl_grid4_levels(const cl_model *m, int n, cl_grid_level *coarse, cl_grid_level *fine);
/* cl_grid4_new with the sub-engines' levels lv[0] (coarse), lv[1] (fine),
 * the triples' included (their caps set by cl_grid_caps at o->grid_nodes);
 * lv NULL: the M = 4 levels, the triples at cl_grid4_t3_levels (bench/lev4.c,
 * the tests' references). */
cl_status cl_grid4_new_levels(const cl_model *m, const cl_quad_opts *o, const cl_grid_level *lv, cl_grid4 **out,
                              char *err);
/* The same with the triples' levels lv3 apart (lv NULL: the M = 4 levels;
 * lv3 NULL: cl_grid4_t3_levels; bench/lev4.c t3). */
cl_status cl_grid4_new_levels3(const cl_model *m, const cl_quad_opts *o, const cl_grid_level *lv,
                               const cl_grid_level *lv3, cl_grid4 **out, char *err);
/* The levels of the triples' three-unit terms (cl_grid_alloc_t3; docs/grid.md
 * s.15, "Triples by their three-unit terms") at n inner nodes as
 * cl_grid4_levels'. */
void cl_grid4_t3_levels(const cl_model *m, int n, cl_grid_level *coarse, cl_grid_level *fine);
void cl_grid4_free(cl_grid4 *g);
/* Level lev (0 coarse, 1 fine) with only the parts in mask (CL_GRID4_*)
 * summed, each with its weight (dR K x M, dQ M x M, row-major); mask
 * CL_GRID4_ALL is the level. */
cl_status cl_grid4_eval_parts(cl_grid4 *g, int lev, int mask, const double *R, const double *Q, double *dR,
                              double *dQ, char *err);

#endif
