/* Atomic result files and groups of them (outfile.h). */
#include "outfile.h"

#include "cldyn/tmpfiles.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cl_out_special_path(const char *path) {
  return strncmp(path, "/dev/", 5) == 0 || strncmp(path, "/proc/", 6) == 0;
}

cl_status cl_out_open(cl_outfile *o, const char *path, const char *option, char *err) {
  memset(o, 0, sizeof *o);
  if (strcmp(path, "-") == 0) {
    o->f = stdout;
    o->is_stdout = 1;
    return CL_OK;
  }
  snprintf(o->path, sizeof o->path, "%s", path);
  /* An existing device or pipe (/dev/null, a FIFO), and anything under
   * /dev or /proc (/dev/stdout may lead to a regular file), is written in
   * place, like stdout: renaming a temporary file onto it would replace the
   * node itself (as root) instead of writing to it. */
  struct stat sb;
  const int special = cl_out_special_path(path);
  if (stat(path, &sb) == 0 && (special || (!S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode)))) {
    if (!(o->f = fopen(path, "a")))
      return cl_fail(err, CL_EIO, "--%s: cannot write '%s': %s", option, path, strerror(errno));
    o->is_stdout = o->is_device = 1;
    return CL_OK;
  }
  snprintf(o->tmp, sizeof o->tmp, "%s.tmp.XXXXXX", path);
  if (!(o->f = cl_tmpfiles_open(o->tmp, "w")))
    return cl_fail(err, CL_EIO, "--%s: cannot write '%s': %s", option, path, strerror(errno));
  return CL_OK;
}

cl_status cl_out_commit(cl_outfile *o, char *err) {
  if (o->is_device) {
    int bad = fclose(o->f) != 0;
    o->f = NULL;
    return bad ? cl_fail(err, CL_EIO, "cannot write '%s'", o->path) : CL_OK;
  }
  if (o->is_stdout) return fflush(stdout) ? cl_fail(err, CL_EIO, "cannot write stdout") : CL_OK;
  int bad = fflush(o->f) != 0 || ferror(o->f) || fsync(fileno(o->f)) != 0;
  bad |= fclose(o->f) != 0;
  o->f = NULL;
  /* mkstemp creates 0600: give the result the usual permissions */
  mode_t mask = umask(0);
  umask(mask);
  if (!bad) bad = chmod(o->tmp, 0666 & ~mask) != 0;
  if (bad || rename(o->tmp, o->path) != 0) {
    int e = errno;
    unlink(o->tmp);
    cl_tmpfiles_unregister(o->tmp);
    return cl_fail(err, CL_EIO, "cannot write '%s': %s", o->path, strerror(e));
  }
  cl_tmpfiles_unregister(o->tmp);
  return CL_OK;
}

void cl_out_abort(cl_outfile *o) {
  if (o->is_device && o->f) fclose(o->f), o->f = NULL;
  if (o->is_stdout || !o->f) return;
  fclose(o->f);
  unlink(o->tmp);
  cl_tmpfiles_unregister(o->tmp);
  o->f = NULL;
}

cl_status cl_outset_add(cl_outset *s, const char *path, const char *option, int sidecar, char *err) {
  if (s->n + 2 > CL_OUTSET_MAX) return cl_fail(err, CL_EINVAL, "too many outputs");
  cl_outfile *o = &s->f[s->n];
  cl_status st = cl_out_open(o, path, option, err);
  if (st) return st;
  s->meta[s->n] = -1;
  s->n++;
  if (sidecar && !o->is_stdout) {
    char jpath[CL_PATHLEN + 8];
    if (snprintf(jpath, sizeof jpath, "%s.json", path) >= CL_PATHLEN)
      return cl_fail(err, CL_EINVAL, "--%s: the path is too long", option);
    if ((st = cl_out_open(&s->f[s->n], jpath, option, err))) return st;
    s->meta[s->n - 1] = s->n;
    s->meta[s->n] = -1;
    s->n++;
  }
  return CL_OK;
}

cl_status cl_outset_commit(cl_outset *s, char *err) {
  cl_status st = CL_OK;
  /* 1. flush and sync every file; any failure leaves nothing */
  for (int i = 0; i < s->n && !st; i++) {
    cl_outfile *o = &s->f[i];
    if (o->is_stdout && !o->is_device) {
      if (fflush(stdout)) st = cl_fail(err, CL_EIO, "cannot write stdout");
      continue;
    }
    if (fflush(o->f) != 0 || ferror(o->f) || (!o->is_device && fsync(fileno(o->f)) != 0))
      st = cl_fail(err, CL_EIO, "cannot write '%s': %s", o->path, strerror(errno ? errno : EIO));
  }
  if (st) {
    cl_outset_abort(s);
    return st;
  }
  /* 2. rename all, in one hold: a signal meanwhile waits until the set is
   * whole (or, after a failed rename, removed), then exits */
  cl_tmpfiles_hold();
  int done = 0;
  for (int i = 0; i < s->n && !st; i++, done++) {
    if ((st = cl_out_commit(&s->f[i], err))) break;
    if (s->renamed) s->renamed(i);
  }
  if (st) {
    for (int i = 0; i < done; i++)
      if (!s->f[i].is_stdout) unlink(s->f[i].path);
    for (int i = done + 1; i < s->n; i++) cl_out_abort(&s->f[i]);
  }
  cl_tmpfiles_release();
  s->n = 0;
  return st;
}

void cl_outset_abort(cl_outset *s) {
  for (int i = 0; i < s->n; i++) cl_out_abort(&s->f[i]);
  s->n = 0;
}
