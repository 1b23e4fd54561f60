/* app/status.h - the CLI's exit statuses (docs/cli.md s.6).  The library
 * reports a cl_status (common.h); what the process returns is decided here,
 * in the application layer, and nowhere else. */
#ifndef CLDYN_APP_STATUS_H
#define CLDYN_APP_STATUS_H

#include "cldyn/common.h"

enum {
  CL_EXIT_OK = 0,     /* success */
  CL_EXIT_FAILED = 1, /* a run failed, an I/O error, out of memory */
  CL_EXIT_USAGE = 2   /* bad input: nothing was computed, no file written */
};

/* The exit status of a command that ended with library status st:
 * CL_OK -> 0; CL_EINVAL -> 2; CL_ENOMEM, CL_EIO, CL_EDIVERGE and any
 * other status -> 1. */
int cl_status_exit_code(cl_status st);

/* A library message as the CLI reports it: the library names parameters
 * ("tau: must be > 0", "sweep: point 3: rtol/atol: ..."); every segment
 * of the message (its start, or the text after ": ") that is a parameter
 * name, or a '/'-separated list of them, followed by ": ", is given the
 * spelling of its option ("--tau: must be > 0").  Writes at most len bytes
 * (NUL included) to out and returns out. */
char *cl_status_cli_message(const char *msg, char *out, size_t len);

/* The shared drift and ODE code of the library (src/drift*.c, src/ode.c)
 * labels its messages "ode: " (ode was its first caller), and fixed,
 * basin, pde and their sweep points pass them on: "ode: out of memory"
 * under fixed named a command that did not run.  Replaces a leading "ode: "
 * of msg (CL_ERRLEN bytes) by "CMD: " (the command that ran; nothing when
 * CMD is "ode"); other messages are left as they are. */
void cl_status_relabel(char *msg, const char *cmd);

/* Print "cldyn: MSG" (translated by cl_status_cli_message) on stderr and return
 * code (an exit status). */
int cl_status_exit_msg(int code, const char *msg);

#endif
