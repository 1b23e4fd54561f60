/* cldyn/hist.h - empirical histograms of the weights of a simulation, one
 * per value of the feature row xi (data.h: cl_feature_classes), in the
 * long layout of the PDE's densities (pde.h) so that theory and simulation
 * overlay: `[run,]t,xi,w,p` with p the density (count / (n_xi h)) of bin
 * [k h, (k + 1) h) at its centre w.  Bins lie on one lattice of width h for
 * every run, time and class, so histograms of different runs add. */
#ifndef CLDYN_HIST_H
#define CLDYN_HIST_H

#include <stdio.h>

#include "cldyn/model.h"

typedef struct cl_hist cl_hist;

cl_hist *cl_hist_alloc(const cl_model *m, const double *t, size_t nt, long long runs, double width,
                       char *err);
void cl_hist_free(cl_hist *h);
/* Record output k of run `run` from features U (N x K) and weights W (first
 * column used, M = 1 only).  Safe from several threads for different runs. */
void cl_hist_add(cl_hist *h, long long run, size_t k, const double *U, const double *W);
/* All recorded histograms: a leading `run` column when runs > 1; every bin
 * between the smallest and the largest occupied one, empty bins included. */
cl_status cl_hist_write(const cl_hist *h, FILE *f);

#endif
