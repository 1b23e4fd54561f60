#include "cldyn/common.h"

#include <gsl/gsl_errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
/* OpenBLAS's own threads would nest inside our per-run OpenMP threads:
 * BLAS is kept on the calling thread, for speed and so that every run is
 * one sequence of operations whatever --threads. */
extern void openblas_set_num_threads(int);
static void lib_init_once(void) {
  gsl_set_error_handler_off();
  openblas_set_num_threads(1);
}

void cl_common_init(void) { pthread_once(&lib_once, lib_init_once); }

cl_status cl_fail(char *err, cl_status code, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, CL_ERRLEN, fmt, ap);
    va_end(ap);
  }
  return code;
}

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int cl_common_parse_real(const char *s, double *x) {
  if (!s) return 0;
  while (isspace((unsigned char)*s)) s++;
  if (!*s) return 0;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  while (isspace((unsigned char)*end)) end++;
  /* reject "nan", "inf", trailing garbage and overflow */
  if (*end || errno == ERANGE || !isfinite(v)) return 0;
  *x = v;
  return 1;
}

int cl_common_parse_int(const char *s, long long *x) {
  double v;
  if (!cl_common_parse_real(s, &v)) return 0;
  if (v != floor(v) || fabs(v) >= 9007199254740992.0) return 0;
  *x = (long long)v;
  return 1;
}

char *cl_common_format_real(char *buf, size_t len, double x) {
  /* 17 significant digits always read back: no check needed there */
  for (int prec = 15; prec <= 16; prec++) {
    snprintf(buf, len, "%.*g", prec, x);
    if (strtod(buf, NULL) == x) return buf;
  }
  snprintf(buf, len, "%.17g", x);
  return buf;
}
