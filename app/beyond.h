/* app/beyond.h - the "beyond the paper" section of the reproduce report
 * (docs/findings.md s.5): collapse against specialisation of M = 2 units as
 * a function of the decorrelation weight lambda, theory (fixed points and
 * basins) against the finite-N chain and the full SGD. */
#ifndef CLDYN_BEYOND_H
#define CLDYN_BEYOND_H

#include <stdio.h>

#include "cldyn/common.h"

/* Write the section into `rep` (report.md) and its CSV and gnuplot files
 * (beyond_*.csv, beyond.gp) into `dir`; `quick` uses two values of lambda
 * and few runs. */
cl_status cl_beyond_report(const char *dir, int quick, FILE *rep, char *err);

/* The section's three table rows of one lambda (basin, reduced, simulate),
 * given the outcome counts of the report's classes (specialised, shared,
 * rotated, dead, other): proportions with binomial standard errors, the
 * basin's over its nb - unsettled settled starts (the unsettled ones are
 * named in the row), a source with no runs "not run"; returns the largest
 * z of the pooled two-proportion test of a source against those above it. */
double cl_beyond_rows(FILE *rep, double lambda, const char *stable, int nsad, const long *cb, long nb,
                      long unsettled, const long *cr, long nr, const long *cs, long ns);

#endif
