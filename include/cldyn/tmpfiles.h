/* cldyn/tmpfiles.h - the temporary files of this process, removed on
 * SIGINT, SIGTERM and SIGHUP.
 *
 * Every temporary file (the *.tmp.XXXXXX beside a checkpoint, which the
 * runner creates, or beside a result or a figure, which the application
 * layer creates) is registered while it exists.  This is
 * the library's one piece of process-wide state: a table, grown by blocks
 * of CL_TMP_SLOTS entries as needed, that a signal handler can read
 * without locks.  cl_tmpfiles_install_signals() (the CLI calls it)
 * sets handlers that unlink every registered file and exit with status
 * 128 + signal.  A file is created and registered with no signal between
 * the two (cl_tmpfiles_mkstemp, or cl_tmpfiles_hold around both). */
#ifndef CLDYN_TMPFILES_H
#define CLDYN_TMPFILES_H

#include <stdio.h>

#include "cldyn/common.h"
#pragma GCC visibility push(default) /* the public API: see README "Library" */

#define CL_TMP_SLOTS 64 /* entries per block of the table */

/* Record `path` (0), or -1 when the path is too long (4200 bytes or more)
 * or no memory is left for a new block of the table (the file is then not
 * removed by a signal). */
int cl_tmpfiles_register(const char *path);
/* mkstemp(tmpl) and register the file, with no signal between the two
 * (see cl_tmpfiles_hold); the descriptor, or -1 (errno set by mkstemp). */
int cl_tmpfiles_mkstemp(char *tmpl);
/* cl_tmpfiles_mkstemp, then fdopen(mode); NULL (errno set, no file left)
 * on a failure of either. */
FILE *cl_tmpfiles_open(char *tmpl, const char *mode);
/* Between hold and release (they nest, and count over all threads) a
 * handled signal is deferred: the release that closes the last hold
 * removes the registered files and exits with 128 + signal.  Create a
 * file and register it inside one hold. */
void cl_tmpfiles_hold(void);
void cl_tmpfiles_release(void);
/* Forget `path` (after it was renamed into place or removed). */
void cl_tmpfiles_unregister(const char *path);
/* Unlink every registered file; async-signal-safe. */
void cl_tmpfiles_remove_all(void);
/* Handlers for SIGINT, SIGTERM, SIGHUP: cl_tmpfiles_remove_all, then
 * _exit(128 + signal). */
cl_status cl_tmpfiles_install_signals(char *err);

#pragma GCC visibility pop
#endif
