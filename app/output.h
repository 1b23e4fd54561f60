/* app/output.h - result files (outfile.h: written to a temporary file
 * beside the target and renamed into place, so a killed run never leaves a
 * half-written result), the checks of a command's output paths and the
 * JSON metadata sidecar PATH.json. */
#ifndef CLDYN_OUTPUT_H
#define CLDYN_OUTPUT_H

#include <stdio.h>

#include "config.h"
#include "outfile.h"

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


/* A command's one output --out at path (with its sidecar), checked as by
 * cl_out_check_all and added to s (aborted if the add fails): before any
 * work, so a failure is bad input (exit 2 for the caller). */
cl_status cl_outset_add_out(cl_outset *s, const char *path, char *err);

/* The end of a command that wrote s: with st != CL_OK every output is
 * removed and the message in err printed (exit status of st); otherwise s
 * is committed (exit 1, printed, if that fails).  Returns the exit status. */
int cl_outset_end(cl_outset *s, cl_status st, char *err);

#endif
