/* ode.h (internal, beside the public cldyn/ode.h) - a trajectory that runs
 * on from where an earlier one ended, for basin with M >= 2
 * (docs/fixed-points.md s.5) and the tests. */
#ifndef CLDYN_SRC_ODE_H
#define CLDYN_SRC_ODE_H

#include "cldyn/ode.h"

/* A trajectory continued where an earlier one ended (cl_basin_multi_ends:
 * a start that has not settled at tmax runs on from there).  Zeroed for a
 * first run; cl_ode_solve_cont then leaves in it every copy's state at T
 * (the M >= 2 engines integrate one copy of the system per rule or level,
 * and the written state, their mean or the fine level, is not any one of
 * them), the step the integrator proposes after its last one (DOP853's
 * controller, or a GSL stepper's driver) and the tolerances after the kink
 * floor.  Passed again, the run starts from those copies with that step
 * (h = 0: the integrator's own first step, as a first run) and those
 * tolerances, and the model's R0 and Q0 are not used (the checks at t = 0
 * are made at the written state).  The system is autonomous: the new run's
 * times start at 0.  steps: out, the steps the last run tried (accepted
 * and rejected). */
typedef struct {
  double *y; /* ny values, owned: cl_ode_cont_free */
  int ny;
  double h, rtol, atol;
  long steps;
} cl_ode_cont;
void cl_ode_cont_free(cl_ode_cont *cont);
/* cl_ode_solve without a method line and without the fallback engine's
 * rerun (as with no_rerun = 1), from and into cont */
cl_status cl_ode_solve_cont(const cl_model *m, const cl_schedule *s, const cl_ode_opts *o, cl_ode_cont *cont,
                            cl_traj **out, char *err);

#endif
