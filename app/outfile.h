/* app/outfile.h - result files written to a temporary file beside the
 * target and renamed into place, alone or in groups committed all or
 * nothing (docs/hardening.md s.3). */
#ifndef CLDYN_OUTFILE_H
#define CLDYN_OUTFILE_H

#include <stdio.h>

#include "cldyn/common.h"

typedef struct {
  FILE *f;
  char path[CL_PATHLEN];
  char tmp[CL_PATHLEN + 32];
  int is_stdout; /* a stream, not a file of ours: stdout or a device (no rename, no sidecar) */
  int is_device; /* an existing device or pipe, written in place */
} cl_outfile;

/* 1 for a path under /dev or /proc: never replaced by a rename (written in
 * place by cl_out_open, refused by plot) */
int cl_out_special_path(const char *path);

/* Open the temporary file for `path` ("-" is stdout; an existing device or
 * pipe such as /dev/null is written in place, without a sidecar).  Fails with CL_EIO and
 * a message naming `option` when the directory is not writable. */
cl_status cl_out_open(cl_outfile *o, const char *path, const char *option, char *err);
/* Flush, fsync and rename into place. */
cl_status cl_out_commit(cl_outfile *o, char *err);
/* Remove the temporary file (on failure). */
void cl_out_abort(cl_outfile *o);

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

#endif
