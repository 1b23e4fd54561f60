/* app/reproduce.h - the study of the paper's three findings: data (CSV),
 * gnuplot scripts (PNG and SVG) and report.md in one directory. */
#ifndef CLDYN_REPRODUCE_H
#define CLDYN_REPRODUCE_H

#include "cldyn/common.h"
#include "progress.h"

/* Write everything into `dir` (created if missing), then draw the figures
 * with gnuplot (a failure there is a warning on stderr); `quick` uses
 * smaller grids and fewer runs.  A file UNFINISHED marks the directory
 * until the figures are drawn; it stays on a failure or a signal.  meter
 * (may be NULL) shows the section running and the fraction of sections
 * done. */
cl_status cl_reproduce_run(const char *dir, int quick, cl_meter *meter, char *err);

#endif
