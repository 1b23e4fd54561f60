/* app/cldyn_capi.h - a small C entry point for foreign-function interfaces
 * (the Python package python/cldyn uses it through ctypes).  It runs one
 * command exactly as the CLI does: the same option table, defaults,
 * messages and code paths (app/main.c is compiled a second time into
 * build/libcldyn_py.so with its main() renamed), so the results are those
 * of build/cldyn to the last bit.  Only strings and ints cross the
 * interface: no struct layout has to be mirrored by the caller.  Results are
 * the CLI's own files (CSV written with 17 significant digits, which read
 * back to the same doubles, and the JSON sidecar).
 *
 * Not thread-safe: the standard streams are redirected for the duration of
 * a call.  The Python package calls it in a forked child process, which is
 * what makes a long call interruptible (the child is killed). */
#ifndef CLDYN_CAPI_H
#define CLDYN_CAPI_H

#pragma GCC visibility push(default)

/* Run `cldyn argv[1] argv[2] ...` (argv[0] is ignored, as for main).
 * stdout_path / stderr_path: files that receive what the CLI would print on
 * its standard output / error (NULL: left alone).  progress: nonzero makes
 * the CLI write its progress lines to stderr as on a terminal.  Returns the
 * CLI's exit status: 0 success, 2 bad input (the one-line message is on
 * stderr), 1 a run that failed, -1 if a redirection could not be set up. */
int cldyn_capi_run(int argc, const char *const *argv, const char *stdout_path,
                   const char *stderr_path, int progress);

/* The library's version string, e.g. "0.1.0". */
const char *cldyn_capi_version(void);

#pragma GCC visibility pop
#endif
