/* The time grid of a schedule (schedule.h), below every engine. */
#include "cldyn/schedule.h"

#include <math.h>

size_t cl_schedule_nt(const cl_schedule *s) {
  return (size_t)floor(s->T / s->dt_out * (1 + 1e-12) + 1e-9) + 1;
}

long long cl_schedule_step(const cl_schedule *s, long long N, size_t k) {
  return llround((double)k * s->dt_out * (double)N);
}
