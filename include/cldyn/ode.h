/* cldyn/ode.h - the limiting ODEs for (R, Q) under L2 (docs/model.md s.6-7),
 * integrated adaptively with error control: by default DOP853 with its
 * 7th-order dense output (src/ode.c; steps are not cut at the output
 * times), or a GSL odeiv2 stepper (rk8pd, rkf45, rkck, msadams, or an
 * implicit one, msbdf, rk4imp, bsimp, for stiff cases, with a
 * finite-difference Jacobian) stopping at every output time. */
#ifndef CLDYN_ODE_H
#define CLDYN_ODE_H

#include "cldyn/drift.h"
#include "cldyn/traj.h"
#pragma GCC visibility push(default) /* the public API: see README "Library" */

typedef struct {
  char stepper[16]; /* dop853 (default), rk8pd, rkf45, rkck, msadams, msbdf, rk4imp, bsimp */
  double rtol, atol;
  cl_quad_opts quad;
} cl_ode_opts;

void cl_ode_opts_default(cl_ode_opts *o);
cl_status cl_ode_check_stepper(const char *name, char *err);

/* Integrate from (R0, Q0) of the model over the schedule's time grid (one
 * block).  `info` (may be NULL, CL_ERRLEN bytes) receives a description of
 * the drift method and, for Monte Carlo drifts, the standard error at the
 * first and last output.  A NaN, a drift that cannot be evaluated or a
 * state outside the domain (Q - R^T R not PSD) stops with CL_EDIVERGE and a
 * message with the time and the parameters. */
cl_status cl_ode_solve(const cl_model *m, const cl_schedule *s, const cl_ode_opts *o,
                       cl_traj **out, char *info, char *err);

#pragma GCC visibility pop
#endif
