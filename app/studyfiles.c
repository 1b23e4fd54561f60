/* The files of the reproduce study (studyfiles.h). */
#include "studyfiles.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cldyn/tmpfiles.h"

FILE *cl_sfiles_open(cl_sfiles *s, const char *name) {
  cl_sfile *t = NULL;
  for (int i = 0; i < s->nslot && !t; i++)
    if (!s->slot[i].f) t = &s->slot[i];
  if (!t) return cl_fail(s->err, CL_EIO, "too many open files"), NULL;
  snprintf(t->path, sizeof t->path, "%s/%s", s->dir, name);
  snprintf(t->tmp, sizeof t->tmp, "%s.tmp.XXXXXX", t->path);
  if (!(t->f = cl_tmpfiles_open(t->tmp, "w"))) {
    cl_fail(s->err, CL_EIO, "cannot write '%s'", t->path);
    return NULL;
  }
  return t->f;
}

int cl_sfiles_close(cl_sfiles *s, FILE *f, int keep) {
  for (int i = 0; i < s->nslot; i++)
    if (s->slot[i].f == f) {
      cl_sfile *t = &s->slot[i];
      int bad = ferror(f) != 0;
      bad |= fclose(f) != 0;
      t->f = NULL;
      /* mkstemp creates 0600: give the file the usual permissions */
      mode_t mask = umask(0);
      umask(mask);
      if (keep && !bad) bad = chmod(t->tmp, 0666 & ~mask) != 0 || rename(t->tmp, t->path) != 0;
      if (!keep || bad) unlink(t->tmp);
      cl_tmpfiles_unregister(t->tmp);
      if (keep && bad && !s->werr) {
        s->werr = 1;
        cl_fail(s->err, CL_EIO, "cannot write '%s'", t->path);
      }
      return keep && bad;
    }
  return fclose(f);
}

void cl_sfiles_close_all(cl_sfiles *s, int keep) {
  for (int i = 0; i < s->nslot; i++)
    if (s->slot[i].f) cl_sfiles_close(s, s->slot[i].f, keep);
}

void cl_gp_terminals(FILE *g, const char *name, int w, int h) {
  fprintf(g, "do for [t in 'png svg'] {\n  if (t eq 'png') { set terminal pngcairo size %d,%d } "
             "else { set terminal svg size %d,%d }\n  set output '%s.'.t\n", w, h, w, h, name);
}
