/* cldyn/common.h - version, limits and the status/error convention.
 *
 * Every library function that can fail returns a cl_status and, when given a
 * non-NULL `err` buffer of CL_ERRLEN bytes, writes a one-line message there.
 * Messages name parameters as the library's structs do ("tau: must be > 0",
 * "dt_out: ..."), never a command-line option, and never a command: they
 * say what failed and where ("at t = 3.2: ... (tau = 1, ...)", "direction
 * 2: ...", "run 3 diverged at t = ..."), since the same drift and ODE code
 * serve the ode, pde, fixed and basin commands and the library cannot know
 * which one runs.  A caller that wraps a message puts its own place in front
 * ("at the fixed point ...: MSG"); the command-line tool puts the command
 * that ran in front, once (docs/hardening.md s.8).  Allocators follow the same
 * rule: cl_X_alloc(..., cl_X **out, char *err) returns the status and sets
 * *out (NULL on failure); each object has one cl_X_free, which accepts NULL.
 * The library never exits and never prints.  A cl_status is not a process
 * exit status: the command-line tool maps one to the other in its own layer
 * (app/status.h, docs/cli.md s.6).
 */
#ifndef CLDYN_COMMON_H
#define CLDYN_COMMON_H

#include <stddef.h>
#pragma GCC visibility push(default) /* the public API: see README "Library" */

#define CL_VERSION "0.1.0"
#define CL_ERRLEN 512
/* The `info` buffers of cl_ode_solve and cl_pde_solve: the method line
 * (the drift engine's description, under 640 bytes, then the bounds and
 * notes, under CL_ERRLEN; pde's counters, under CL_ERRLEN) is written
 * whole.  A CL_ERRLEN buffer cut the quad rule's line at M = 3. */
#define CL_INFOLEN 2048

/* Progress callback: fraction of the total work done, in [0, 1].  The
 * library reports through it and never prints (the CLI draws the line). */
typedef void (*cl_progress_fn)(void *ctx, double fraction);
/* Phase callback: a run in named phases ("flows", "escape law", ...) calls
 * it with the progress context at the start of each phase; the fractions
 * that follow are of that phase (the CLI draws a line per phase, with its
 * own clock and ETA). */
typedef void (*cl_phase_fn)(void *ctx, const char *name);
#define CL_KMAX 32 /* planted features */
#define CL_MMAX 16 /* output units */
#define CL_PATHLEN 4096 /* file names (options, checkpoints), with the NUL */
/* Defined since allocators return a cl_status and the object through an
 * out-pointer (before, they returned the object or NULL): code that must
 * build against both can test it. */
#define CL_ALLOC_OUT 1

typedef enum {
  CL_OK = 0,
  CL_EINVAL = 1,  /* bad input: a parameter out of range, a malformed or damaged file */
  CL_ENOMEM = 2,  /* allocation failed */
  CL_EIO = 3,     /* a file could not be read or written */
  CL_EDIVERGE = 4 /* NaN, overflow or an invalid state during a run */
} cl_status;

/* Process-wide set-up, done once (pthread_once) whatever the threads:
 * GSL's error handler is switched off for good (the library checks every
 * GSL status itself; the default handler aborts the process), and OpenBLAS
 * is limited to one thread (runs are parallel over OpenMP threads).  Called by
 * the entry points that use GSL; calling it again costs nothing. */
void cl_common_init(void);

/* printf-style helper: writes the message into err (if non-NULL), returns code. */
cl_status cl_fail(char *err, cl_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Strict number parsing: the whole string must be one finite number.
 * Return 1 on success, 0 on a malformed number. */
int cl_common_parse_real(const char *s, double *x);
/* An integer, also written as 1e6; must be integral and |x| < 2^53. */
int cl_common_parse_int(const char *s, long long *x);
/* Shortest of %.15g/%.16g/%.17g that reads back to exactly x. Returns buf. */
char *cl_common_format_real(char *buf, size_t len, double x);

#pragma GCC visibility pop
#endif
