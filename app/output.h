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

/* The same JSON to an open stream. */
cl_status cl_meta_dump(FILE *f, const cl_config *cfg, int argc, char **argv, double wall_seconds,
                       const char *const *extra_kv, char *err);

/* The same for a sweep: "command" is `command` (e.g. "sweep simulate"),
 * and each NAME of grid_kv (NAME, "A:B:STEP" pairs, NULL-terminated) is
 * recorded under "grid" and replaces the base value in "parameters". */
cl_status cl_meta_dump_grid(FILE *f, const cl_config *cfg, int argc, char **argv, double wall_seconds,
                            const char *const *extra_kv, const char *command, const char *const *grid_kv,
                            char *err);

/* Where the default M = 2 grid refuses a state, ode, fixed, basin and the
 * points of sweep redo their work with cl_drift_fallback's engine
 * (docs/grid.md s.6).  cl_rerun_engine: that engine by its --expect
 * spelling (qmc, quad), NULL where the engine was asked for.
 * cl_ode_rerun_note: from cl_ode_solve's method line (info), the note
 * "the grid engine refused a state at t = T: the run redone with the
 * Sobol' rules" into note (len bytes), or "" if it did not rerun. */
const char *cl_rerun_engine(const cl_model *m, const cl_quad_opts *o);
void cl_ode_rerun_note(const cl_model *m, const cl_quad_opts *o, const char *info, char *note, size_t len);

/* Before any work: CL_EINVAL when an output path (NULL or "" skipped, "-"
 * and devices allowed) is a directory, has a missing or unwritable
 * directory, or names the same file as another output, PATH.json included
 * for those with sidecar[i] (compared by the real path of the directory and
 * the name, and by device and inode for existing files). */
cl_status cl_out_check_all(const char *const *option, const char *const *path, const int *sidecar, int n,
                           char *err);

/* A group of outputs written all or nothing: each is opened as a temporary
 * file, with its .json sidecar (sidecar != 0; none for stdout or a device);
 * commit syncs them all, then renames them all (removing those renamed
 * before a failed rename); abort removes every temporary file. */
#define CL_OUTSET_MAX 12
typedef struct {
  int n;
  cl_outfile f[CL_OUTSET_MAX];
  int meta[CL_OUTSET_MAX]; /* index of f[i]'s sidecar, or -1 */
  /* a test's hook (NULL): called inside the commit just after f[i] is
   * renamed, where a signal would find the set half renamed */
  void (*renamed)(int i);
} cl_outset;

/* Adds f[s->n] (and its sidecar after it). */
cl_status cl_outset_add(cl_outset *s, const char *path, const char *option, int sidecar, char *err);
cl_status cl_outset_commit(cl_outset *s, char *err);
void cl_outset_abort(cl_outset *s);

/* A command's one output --out at path (with its sidecar), checked as by
 * cl_out_check_all and added to s (aborted if the add fails): before any
 * work, so a failure is bad input (exit 2 for the caller). */
cl_status cl_outset_add_out(cl_outset *s, const char *path, char *err);

/* The end of a command that wrote s: with st != CL_OK every output is
 * removed and the message in err printed (exit status of st); otherwise s
 * is committed (exit 1, printed, if that fails).  Returns the exit status. */
int cl_outset_end(cl_outset *s, cl_status st, char *err);

#endif
