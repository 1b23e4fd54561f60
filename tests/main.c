/* The test runner's entry point: Criterion's default main, except that
 * under AddressSanitizer the runner process (which runs no test code: every
 * test runs in a worker process) ignores its own allocations for leak
 * checking.  Criterion 2.4.1's runner leaks one 48-byte calloc in about
 * half of the runs with --jobs 2 (stack inside libcriterion only, from
 * criterion_run_all_tests).  Leaks of the workers, where our code runs, are
 * still reported, and `make test-asan` fails on them. */
#include <criterion/criterion.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define CL_RUNNER_LSAN_OFF() __lsan_disable()
#define CL_RUNNER_LSAN_ON() __lsan_enable()
#else
#define CL_RUNNER_LSAN_OFF() ((void)0)
#define CL_RUNNER_LSAN_ON() ((void)0)
#endif

int main(int argc, char **argv) {
  struct criterion_test_set *tests = criterion_initialize();
  int result = 0;
  if (criterion_handle_args(argc, argv, true)) {
    CL_RUNNER_LSAN_OFF();
    result = !criterion_run_all_tests(tests);
    CL_RUNNER_LSAN_ON();
  }
  criterion_finalize(tests);
  return result;
}
