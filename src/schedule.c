/* The time grid of a schedule (schedule.h), below every engine. */
#include "cldyn/schedule.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* whole intervals of dt_out in [0, T] (with a relative slack for T that is
 * a multiple of dt_out up to rounding) */
static size_t nfull(const cl_schedule *s) { return (size_t)floor(s->T / s->dt_out * (1 + 1e-12) + 1e-9); }

size_t cl_schedule_nt(const cl_schedule *s) {
  size_t n = nfull(s);
  /* t = T is always an output time: one more, shorter interval when T is
   * not a multiple of dt_out */
  return n + 1 + (s->T - (double)n * s->dt_out > 1e-9 * s->dt_out ? 1 : 0);
}

/* k dt_out rounded to 15 significant digits: the decimal a user means
 * (0.9 for 3 x 0.3, not 0.8999999999999999), a few ulps from the product */
double cl_schedule_time(const cl_schedule *s, size_t k) {
  if (k + 1 >= cl_schedule_nt(s)) return s->T;
  char buf[40];
  snprintf(buf, sizeof buf, "%.15g", (double)k * s->dt_out);
  return strtod(buf, NULL);
}

long long cl_schedule_step(const cl_schedule *s, long long N, size_t k) {
  return llround(cl_schedule_time(s, k) * (double)N);
}
