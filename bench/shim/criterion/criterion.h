/* A stand-in for Criterion's assertions, so that bench programs can share
 * the tests' brute-force references (tests/mc_ref.c) without linking the
 * test framework: a failed assertion prints and aborts. */
#ifndef CLDYN_BENCH_SHIM_CRITERION_H
#define CLDYN_BENCH_SHIM_CRITERION_H
#include <stdio.h>
#include <stdlib.h>
#define cr_assert(cond, ...)                                                            \
  do {                                                                                  \
    if (!(cond)) fprintf(stderr, "%s:%d: assertion %s failed\n", __FILE__, __LINE__, #cond), abort(); \
  } while (0)
#define cr_assert_eq(a, b, ...) cr_assert((a) == (b))
#endif
