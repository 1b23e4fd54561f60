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

/* The command that ran, once, in front of a message of its run: library
 * messages name no command (the same drift and ODE code serve ode, pde,
 * fixed and basin; common.h), so the CLI, which knows what it ran, writes
 * "CMD: " before msg, a buffer of len bytes.  A library message fills at
 * most CL_ERRLEN bytes: a buffer of CL_STATUS_CMDLEN more keeps its end (the
 * time and parameters of a blow-up come last).  Called where a command's
 * run failed, not for the input checks before it (they name the option). */
#define CL_STATUS_CMDLEN 16 /* "reproduce: " and room to spare */
void cl_status_name_command(char *msg, size_t len, const char *cmd);

/* out (len bytes) = prefix then msg, whole when it fits; else msg is cut
 * after its last whole word that leaves room for "..." (never mid-word,
 * never silently; mid-word only if that word alone overflows). */
void cl_status_fit(char *out, size_t len, const char *prefix, const char *msg);

/* Print "cldyn: MSG" (translated by cl_status_cli_message) on stderr and return
 * code (an exit status). */
int cl_status_exit_msg(int code, const char *msg);

#endif
