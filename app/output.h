/* app/output.h - result files: written to a temporary file beside the
 * target and renamed into place, so a killed run never leaves a half-written
 * result; and the JSON metadata sidecar PATH.json. */
#ifndef CLDYN_OUTPUT_H
#define CLDYN_OUTPUT_H

#include <stdio.h>

#include "config.h"

typedef struct {
  FILE *f;
  char path[CL_PATHLEN];
  char tmp[CL_PATHLEN + 32];
  int is_stdout; /* a stream, not a file of ours: stdout or a device (no rename, no sidecar) */
  int is_device; /* an existing device or pipe, written in place */
} cl_outfile;

/* Open the temporary file for `path` ("-" is stdout; an existing device or
 * pipe such as /dev/null is written in place, without a sidecar).  Fails with CL_EIO and
 * a message naming `option` when the directory is not writable. */
cl_status cl_out_open(cl_outfile *o, const char *path, const char *option, char *err);
/* Flush, fsync and rename into place. */
cl_status cl_out_commit(cl_outfile *o, char *err);
/* Remove the temporary file (on failure). */
void cl_out_abort(cl_outfile *o);

/* Metadata beside `path`: command line, every effective option, seed,
 * version, wall time and the extra key/values given (may be NULL). */
cl_status cl_meta_write(const char *path, const cl_config *cfg, int argc, char **argv,
                        double wall_seconds, const char *const *extra_kv, char *err);

#endif
