/* app/reproduce.h - the study of the paper's three findings: data (CSV),
 * gnuplot scripts (PNG and SVG) and report.md in one directory. */
#ifndef CLDYN_REPRODUCE_H
#define CLDYN_REPRODUCE_H

#include "cldyn/common.h"
#include "progress.h"

/* Write everything into `dir` (created if missing); `quick` uses smaller
 * grids and fewer runs.  The caller runs gnuplot on the `.gp` scripts.
 * meter (may be NULL) shows the section running and the fraction of
 * sections done. */
cl_status cl_reproduce_run(const char *dir, int quick, cl_meter *meter, char *err);

#endif
