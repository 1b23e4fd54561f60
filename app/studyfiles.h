/* app/studyfiles.h - the files of the reproduce study (report, data, gnuplot
 * scripts): each is written to DIR/NAME.tmp.XXXXXX and renamed into place
 * when closed, so that no file is ever half-written; a fixed set of slots
 * for the files open at once.  Used by app/reproduce.c and app/findings.c. */
#ifndef CLDYN_STUDYFILES_H
#define CLDYN_STUDYFILES_H

#include <stdio.h>

#include "cldyn/common.h"

typedef struct {
  FILE *f;
  char tmp[4232], path[4200];
} cl_sfile;

typedef struct {
  const char *dir;
  char *err;      /* CL_ERRLEN bytes: the message of the first failure */
  cl_sfile *slot; /* nslot slots, zeroed */
  int nslot;
  int werr; /* a kept file could not be written: the study fails */
} cl_sfiles;

/* Open DIR/name in a free slot (NULL, with the message in err, when none is
 * free or the file cannot be created). */
FILE *cl_sfiles_open(cl_sfiles *s, const char *name);
/* Close f; keep: rename it into place (a write error removes it, sets werr
 * and, if it is the first, the message), else remove it (an error path).
 * Nonzero when a kept file was lost.  A stream not of the set is fclose'd. */
int cl_sfiles_close(cl_sfiles *s, FILE *f, int keep);
/* Close every file still open (keep as above). */
void cl_sfiles_close_all(cl_sfiles *s, int keep);

/* The gnuplot loop that draws the rest of the script twice, to name.png
 * (pngcairo) and name.svg, both w x h; the caller closes it with "}\n". */
void cl_gp_terminals(FILE *g, const char *name, int w, int h);

#endif
