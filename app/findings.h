/* app/findings.h - the paper's three findings as stated (docs/findings.md):
 * the derivation of (i), the graded-selection measurement of (ii) and the
 * mechanism of (iii), appended to the reproduce report. */
#ifndef CLDYN_FINDINGS_H
#define CLDYN_FINDINGS_H

#include <stdio.h>

#include "cldyn/common.h"

/* Write the section into `rep` (report.md) and its CSV and gnuplot files
 * into `dir`; `quick` uses smaller grids and fewer runs.  progress (may be
 * NULL) gets the fraction of the section done, with ctx pctx. */
cl_status cl_findings_report(const char *dir, int quick, FILE *rep, cl_progress_fn progress, void *pctx, char *err);

#endif
