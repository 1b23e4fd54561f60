/* cldyn/hist.h - empirical histograms of the weights of a simulation, one
 * per value of the feature row xi (data.h: cl_data_feature_classes), in the
 * long layout of the PDE's densities (pde.h) so that theory and simulation
 * overlay: `[run,]t,xi,w,p` with p the density (count / (n_xi h)) of bin
 * [k h, (k + 1) h) at its centre w.  Bins lie on one lattice of width h for
 * every run, time and class, so histograms of different runs add. */
#ifndef CLDYN_HIST_H
#define CLDYN_HIST_H

#include <stdio.h>

#include "cldyn/model.h"
#pragma GCC visibility push(default) /* the public API: see README "Library" */

typedef struct cl_hist cl_hist;

/* Histograms for every run and output time of schedule s (t_k = step_k / N),
 * into *out (NULL on failure). */
cl_status cl_hist_alloc(const cl_model *m, const cl_schedule *s, double width, cl_hist **out, char *err);
void cl_hist_free(cl_hist *h);
/* Record output k of run `run` from features U (N x K) and weights W (first
 * column used, M = 1 only).  Safe from several threads for different runs. */
void cl_hist_add(cl_hist *h, long long run, size_t k, const double *U, const double *W);
/* The same as a cl_run_observer of cl_engine_simulate (runner.h): records
 * the features and weights of the run's cl_sim state into `hist`. */
void cl_hist_observe(void *hist, const void *sim, long long run, size_t k);
/* All recorded histograms: a leading `run` column when runs > 1; every bin
 * between the smallest and the largest occupied one, empty bins included. */
cl_status cl_hist_write(const cl_hist *h, FILE *f);

#pragma GCC visibility pop
#endif
