/* cldyn/traj.h - order-parameter trajectories: the table every trajectory
 * engine (simulate, reduced, ode, pde) fills and the CSV writers read.
 *
 * Columns (docs/cli.md s.5): R_j_i (K x M), Q_i_l for i <= l, cos_j_i. */
#ifndef CLDYN_TRAJ_H
#define CLDYN_TRAJ_H

#include <stddef.h>
#include <stdio.h>

#include "cldyn/common.h"
#pragma GCC visibility push(default) /* the public API: see README "Library" */

typedef struct {
  int K, M;
  int ncol;       /* value columns, without t and run */
  size_t nt;      /* time points */
  long long runs; /* blocks */
  double *t;      /* nt */
  double *data;   /* runs * nt * ncol, row (r, k) at (r * nt + k) * ncol */
} cl_traj;

int cl_traj_ncol(int K, int M);
/* Name of value column c (0-based) into buf. */
void cl_traj_colname(int K, int M, int c, char *buf, size_t len);
/* A zeroed table into *out (NULL on failure: CL_ENOMEM). */
cl_status cl_traj_alloc(int K, int M, size_t nt, long long runs, cl_traj **out, char *err);
void cl_traj_free(cl_traj *tr);
double *cl_traj_row(cl_traj *tr, long long run, size_t k);
/* Fill a row from R (K x M) and Q (M x M): R, upper Q, cos = R / sqrt(Q_ii). */
void cl_traj_set(int K, int M, const double *R, const double *Q, double *row);

/* CSV: header then rows; a leading `run` column (1-based) when runs > 1. */
cl_status cl_traj_write_csv(const cl_traj *tr, FILE *f);
/* CL_EDIVERGE, naming the run, column and time, at the first value that is
 * not finite (the writers also refuse them, with CL_EDIVERGE). */
cl_status cl_traj_check_finite(const cl_traj *tr, char *err);
/* CSV of t, <col>_mean, <col>_sd over runs (sd with n - 1; 0 for one run). */
cl_status cl_traj_write_summary(const cl_traj *tr, FILE *f);

#pragma GCC visibility pop
#endif
