/* cldyn/ode.h - the limiting ODEs for (R, Q) under L2 (docs/model.md s.6-7),
 * integrated adaptively with error control: by default DOP853 with its
 * 7th-order dense output (src/ode.c; steps are not cut at the output
 * times), or a GSL odeiv2 stepper (rk8pd, rkf45, rkck, msadams, or an
 * implicit one, msbdf, rk4imp, bsimp, for stiff cases, with a
 * finite-difference Jacobian) stopping at every output time. */
#ifndef CLDYN_ODE_H
#define CLDYN_ODE_H

#include "cldyn/drift.h"
#include "cldyn/state.h"
#include "cldyn/traj.h"
#pragma GCC visibility push(default) /* the public API: see README "Library" */

typedef struct {
  char stepper[16]; /* dop853 (default), rk8pd, rkf45, rkck, msadams, msbdf, rk4imp, bsimp */
  double rtol, atol;
  cl_quad_opts quad;
  /* progress of cl_ode_solve (fraction of [0, T]) and of cl_basin_run and
   * cl_basin_run_multi (fraction of the directions); NULL for none */
  cl_progress_fn progress;
  void *progress_ctx;
  /* cl_basin_run_multi's phases, "escape law" (its fraction: the smallest
   * growth exponent Lambda_ji over its end value 25) and "directions";
   * NULL (default): progress reports the directions alone */
  cl_phase_fn phase;
  /* 0 (default): after a refusal of the default M = 2 grid, cl_ode_solve
   * reruns with the fallback engine (cl_drift_fallback); 1: it returns the
   * refusal, so that a caller running many trajectories (basin) redoes all
   * of them with one engine */
  int no_rerun;
  /* 0 (default): with dop853, a deterministic engine's other levels (the
   * grid's coarse one, the quad levels') are integrated as their
   * differences to the written level along its accepted steps, 4 drifts a
   * step on most (docs/grid.md s.17); 1: every level is a copy of the
   * system, stacked, under one step control (before session 29: 12-16
   * drifts of every level a step) */
  int stacked_levels;
} cl_ode_opts;

void cl_ode_opts_default(cl_ode_opts *o);
cl_status cl_ode_check_stepper(const char *name, char *err);

/* Integrate from (R0, Q0) of the model over the schedule's time grid (one
 * block).  `info` (may be NULL, CL_INFOLEN bytes: cldyn/common.h) receives a description of
 * the drift method and, for Monte Carlo drifts, the standard error at the
 * first and last output; with dop853, the error bounds of the levels or
 * rules integrated separately (at M = 1 the coarse level is integrated only
 * when info is not NULL: docs/m1-many-features.md s.7).  A NaN, a drift that cannot be evaluated or a
 * state outside the domain (Q - R^T R not PSD) stops with CL_EDIVERGE and a
 * message with the time and the parameters. */
/* The state vector y (cl_state_size, cl_state_pack, cl_state_unpack): state.h. */
/* Drift dy/dt at y (CL_EDIVERGE outside the domain). */
cl_status cl_ode_drift(cl_drift *d, int K, int M, const double *y, double *f, char *err);
/* Jacobian (n x n row-major) by central differences with step h_j =
 * CL_FD_STEP max(1, |y_j|) (the one Jacobian of the project: the implicit
 * steppers and the fixed points use it); next to the domain's boundary
 * (the smallest eigenvalue of Q - R^T R below ~30 CL_FD_STEP) the steps
 * shrink with the distance to it, down to CL_FD_MIN_STEP max(1, |y_j|),
 * the differences are taken in (R, the Cholesky factor of Q - R^T R) and
 * mapped back, and those at h and h/2 are extrapolated (Richardson;
 * docs/fixed-points.md s.2).  If err_est is not NULL it receives the max
 * difference from the Jacobian with half the steps (the verified
 * accuracy); next to the boundary twice the largest move of an eigenvalue
 * between the two (the entries there carry errors that do not move the
 * eigenvalues). */
#define CL_FD_STEP 1e-5
#define CL_FD_MIN_STEP 1e-9
cl_status cl_ode_jacobian(cl_drift *d, int K, int M, const double *y, double *J,
                            double *err_est, char *err);

cl_status cl_ode_solve(const cl_model *m, const cl_schedule *s, const cl_ode_opts *o,
                       cl_traj **out, char *info, char *err);

#pragma GCC visibility pop
#endif
