/* cldyn/pde.h - the McKean-Vlasov PDE of docs/model.md s.8 (M = 1, any
 * separable regularizer): one density in w per value of the feature row xi,
 *
 *   d_t p_xi = -d_w [mu(w, xi) p_xi] + D d_w^2 p_xi,   D = tau^2 V / (2B),
 *   mu(w, xi) = tau (a . xi + b_z (w - xi . R) + b_e w) - tau phi'(w),
 *
 * closed by R_j = E[xi_j w] and Q = E[w^2] over all classes.  The
 * coefficients a, b_z, b_e, V come from the expectation engine (drift.h).
 *
 * Numerics (docs/theory.md s.9): finite volumes on a uniform lattice of
 * cells (interfaces at multiples of dw, so w = 0 is an interface and the
 * jump of l1's -beta sign(w) falls between cells); Scharfetter-Gummel
 * (exponentially fitted, Chang-Cooper type) fluxes, which are upwind where
 * drift dominates and central where diffusion does, with no oscillation at
 * the jump; zero-flux ends, so mass is conserved to rounding.  Time: TR-BDF2
 * (L-stable, second order) with the coefficients extrapolated linearly from
 * the last two steps; a step whose result would have a negative density is
 * redone as two half steps, down to dt / 8, where implicit Euler, whose
 * matrix is an M-matrix (non-negative unconditionally), takes over.  A
 * step whose extrapolated coefficients miss its result's by more than 1e-3
 * (relative error over the step) is redone as halves, and the run goes on
 * at that finer level while needed (docs/hardening.md s.11).  Each class's
 * grid grows by whole cells when mass comes near an edge, and within the
 * step when the step pushed mass into the edge cells.
 *
 * Layouts: dense (xi = +-1 per feature, 2^K classes), sparse:P ({0, +-1/sqrt
 * P}, 3^K classes); axis: the K spike coordinates carry O(sqrt N) weights,
 * so their R_j follow the ODE dR_j/dt = tau (a_j + b_e R_j - beta2 R_j) (the
 * l1 part of phi' is O(N^-1/2) there and vanishes) while the background
 * (xi = 0) is one density and Q = |R|^2 + E_bg[w^2]. */
#ifndef CLDYN_PDE_H
#define CLDYN_PDE_H

#include <stdio.h>

#include "cldyn/drift.h"
#include "cldyn/traj.h"
#pragma GCC visibility push(default) /* the public API: see README "Library" */

typedef struct {
  int cells;       /* cells per class over the initial range (0: 2000) */
  double dt;       /* time step (0: 0.01) */
  double width;    /* initial half-width of each grid, in initial sd (0: 8) */
  cl_quad_opts quad;
  cl_progress_fn progress; /* fraction of [0, T] done; NULL for none */
  void *progress_ctx;
} cl_pde_opts;

void cl_pde_opts_default(cl_pde_opts *o);

typedef struct cl_pde cl_pde;

/* Initial condition: w | xi ~ N(xi . R0, Q0 - |R0|^2) (what `simulate
 * --init overlap` draws); needs M = 1 and Q0 > |R0|^2.  Into *out (NULL on
 * failure). */
cl_status cl_pde_alloc(const cl_model *m, const cl_pde_opts *o, cl_pde **out, char *err);
void cl_pde_free(cl_pde *p);
/* Advance to time t (>= the current time) in steps of at most o->dt, the
 * last one shortened to land on t.  CL_EDIVERGE with the time and the
 * parameters on a non-finite state, a runaway grid, a step below 1e-9
 * max(1, t), more than 100 steps per step of dt, or a density narrower than
 * two cells whose lattice error reaches 1e-3 of R or Q. */
cl_status cl_pde_advance(cl_pde *p, double t, char *err);
double cl_pde_time(const cl_pde *p);
/* R (K) and Q (1) of the current density. */
void cl_pde_order(const cl_pde *p, double *R, double *Q);
/* Total mass sum_xi P(xi) int p_xi dw (1 up to rounding). */
double cl_pde_mass(const cl_pde *p);
/* Classes: their number, the value xi (K entries) and probability of class
 * c, and its grid: cell i has centre w0 + (i + 1/2) dw and density p[i]. */
int cl_pde_nclass(const cl_pde *p);
const double *cl_pde_class_xi(const cl_pde *p, int c);
double cl_pde_class_prob(const cl_pde *p, int c);
size_t cl_pde_class_grid(const cl_pde *p, int c, double *w0, double *dw, const double **dens);
/* Counters for the metadata: steps taken, (sub)steps redone as two halves,
 * substeps done with implicit Euler, grid extensions, cells now (all
 * classes). */
void cl_pde_stats(const cl_pde *p, long *steps, long *halvings, long *fallbacks, long *grows,
                  long *cells);

/* Called at every output time k of cl_pde_solve. */
typedef cl_status (*cl_pde_observer)(void *ctx, const cl_pde *p, size_t k, char *err);

/* Integrate over the schedule's output grid (one block).  `info` (may be
 * NULL, CL_INFOLEN bytes: cldyn/common.h) receives the method, the counters
 * and the error estimate: with info, a second, coarse run follows (cells
 * twice as wide, the written run's steps two at a time) and a third (4 dw,
 * the coarse run's steps two at a time; together about 40% of the cost),
 * and the
 * largest distance of its table to the written one is the estimate, for R,
 * Q and cos apart, with the third run's verdict (cl_pde_error_estimate's
 * figures and note, docs/theory.md s.9).  If the coarse run stops, info
 * says so and why; the written table does not depend on it. */
cl_status cl_pde_solve(const cl_model *m, const cl_schedule *s, const cl_pde_opts *o,
                       cl_traj **out, cl_pde_observer obs, void *ctx, char *info, char *err);
/* How far an error estimate can be trusted (cl_pde_estimate.kind). */
typedef enum {
  CL_PDE_EST_CHECKED,   /* the third run found every group above the rounding floor in its
                         * second-order regime (2.5 <= ratio <= 40): a bound as measured */
  CL_PDE_EST_SPLIT,     /* not a bound: the coarse run had to split `split` of its doubled steps */
  CL_PDE_EST_LOW_ORDER, /* not a bound: ratio[low] < 2.5, the error past its second-order regime */
  CL_PDE_EST_UNCHECKED, /* the third run stopped (why: `third`): the order is unchecked */
  CL_PDE_EST_UNSTABLE   /* the order is unchecked: a ratio over 40, the third run's long steps
                         * damping its error too slowly or not at all (unstable); the group
                         * is the note's */
} cl_pde_est_kind;

/* An error estimate and its order check (cl_pde_error_estimate). */
typedef struct {
  double est[3];        /* R_j, Q, cos_j: the largest |fine - coarse|, at least the rounding */
  cl_pde_est_kind kind;
  long split;           /* the coarse run's doubled steps that it had to split */
  double ratio[3];      /* per group, the third run's distance to the coarse table over the
                         * coarse table's to `fine` (4 in the second-order regime); NAN where
                         * the third run stopped, or where the estimate is the rounding floor
                         * and the third run is within 40 floors of the coarse table (over
                         * that, its distance over the floor: CL_PDE_EST_UNSTABLE) */
  int low;              /* the group (0 R, 1 Q, 2 cos) of the lowest ratio below 2.5; -1 if none */
  char third[CL_ERRLEN]; /* why the third run stopped; "" when it did not */
  char note[CL_ERRLEN];  /* what `pde`'s method line says after the figures: "" for
                          * CL_PDE_EST_CHECKED, else " (not a bound here: ...)" or
                          * " (its order unchecked: ...)" */
} cl_pde_estimate;

/* The error estimate of `fine`, the table cl_pde_solve gave for m, s and o,
 * into *e: the same runs, figures and note as the method line of
 * cl_pde_solve's info (one code path; cl_pde_solve has the written run's
 * step log at hand and does not redo it).  The written run is
 * done again here for its steps (it is deterministic; a `fine` that is not
 * its table to the bit is CL_EINVAL), then the coarse run on a lattice of
 * 2 dw taking the written run's steps two at a time, and e->est is the
 * largest |fine - coarse| over the output times and the columns R_j
 * (est[0]), Q (est[1]) and cos_j (est[2]).  Both errors are second order
 * in dw and the step, so the coarse run's is about 4 times the fine one's
 * and the distance about 3 times it (measured 2.4 to 3.75 against ode under
 * l2 and runs on dw / 4, dt / 4; about 2 in the fast collapse of a strong
 * l1; 3.2 to 8 where the fine run's step control halved steps; 1000
 * after the fast start at tau = 100, where the coarse run's doubled steps
 * damp its error far more slowly than the written run's: docs/theory.md
 * s.9).  A
 * doubled step whose defect is over 8 times the tolerance is split (there
 * the coarse run is no coarser and the estimate is not a bound: kind
 * CL_PDE_EST_SPLIT).  A third run on 4 dw takes the coarse run's steps two
 * at a time and checks the order: where its distance to the coarse table
 * is below 2.5 times the coarse table's to `fine` in a group above the
 * rounding floor, the error is past its second-order regime and the
 * estimate is not a bound (CL_PDE_EST_LOW_ORDER; l1:50 at dt = 0.04, where
 * the estimate was 0.04 of the error); where the third run stops the order
 * is unchecked (CL_PDE_EST_UNCHECKED), the figures stand; so it is where
 * a group's ratio is over 40, the third run's steps damping its error too
 * slowly or not at all rather than converging (CL_PDE_EST_UNSTABLE; tau =
 * 100 after the fast start, where Q's ratio was 2.4e4), also in a group
 * at the rounding floor when the third run is over 40 floors from the
 * coarse table (tau = 50, T = 3).  After an output
 * interval of an odd number below 5 of fine steps the coarse runs go on to
 * the next output time, and that row is not compared.  Each group's
 * estimate is at least the rounding: (4 max |mass - 1| of the coarse run +
 * 1e-14) times sqrt Q (R), Q (Q) or 1 (cos), Q the table's largest.  The
 * drift's quadrature error, shared by the runs, is not in it.  The coarse
 * run's failure (CL_EDIVERGE, e.g. a density narrower than two of its
 * cells) is returned; out of memory in any run is CL_ENOMEM. */
cl_status cl_pde_error_estimate(const cl_model *m, const cl_schedule *s, const cl_pde_opts *o,
                                const cl_traj *fine, cl_pde_estimate *e, char *err);

/* Long-format density rows `t,xi,w,p` (`t,xi_1,..,xi_K,w,p` for K > 1):
 * header, then the rows of one time. */
void cl_pde_write_density_header(FILE *f, int K);
/* CL_EIO on a write error. */
cl_status cl_pde_write_density(const cl_pde *p, FILE *f);

#pragma GCC visibility pop
#endif
