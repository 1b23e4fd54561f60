/* cldyn/schedule.h - the time grid shared by every engine: output k of a
 * schedule (cl_schedule, model.h) is at t_k = k dt_out, and the last one is
 * at t = T exactly (an extra, shorter interval when T is not a multiple of
 * dt_out); a finite-N engine reaches t_k after step_k = round(t_k N) SGD
 * steps (docs/cli.md s.5). */
#ifndef CLDYN_SCHEDULE_H
#define CLDYN_SCHEDULE_H

#include <stddef.h>

#include "cldyn/model.h"
#pragma GCC visibility push(default) /* the public API: see README "Library" */

/* Time grid of a schedule: number of output times, and the step index of
 * output k (t_k = step / N). */
size_t cl_schedule_nt(const cl_schedule *s);
/* Output time k: k dt_out, or T for the last. */
double cl_schedule_time(const cl_schedule *s, size_t k);
long long cl_schedule_step(const cl_schedule *s, long long N, size_t k);

#pragma GCC visibility pop
#endif
