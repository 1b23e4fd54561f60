/* cldyn/sweep.h - a command at every point of a Cartesian grid of
 * parameters, in parallel over points (OpenMP), sharded for job arrays,
 * resumable, with outputs that do not depend on threads or sharding.
 *
 * Output: CSV with a leading `point` column (1-based index in the grid; the
 * first --vary varies slowest), one column per varied parameter, then the
 * command's own columns.  Rows are in point order, so shards merged by
 * cl_sweep_merge equal the unsharded output byte for byte. */
#ifndef CLDYN_SWEEP_H
#define CLDYN_SWEEP_H

#include <stdio.h>

#include "cldyn/config.h"

#define CL_SWEEP_MAXVARY 8

typedef struct {
  char name[64];
  double a, b, step;
  long n;
  /* decimal grid: value k is (ia + k istep) / 10^dec, exact as written */
  int dec;
  long long ia, istep;
} cl_vary;

/* NAME=A:B:STEP with A <= B, STEP > 0.  The grid holds A + k STEP up to B
 * (within 1e-9 STEP); when A and STEP have at most 15 decimals, each value
 * is computed from integers as (A 10^d + k STEP 10^d) / 10^d, so it is the
 * double nearest the decimal number and prints as written (0.3, not
 * 0.30000000000000004). */
cl_status cl_vary_parse(const char *spec, cl_vary *v, char *err);
/* Value k (0-based) of the grid. */
double cl_vary_value(const cl_vary *v, long k);

/* Run the points of shard `shard` (0-based) of `nshards` (points p with
 * p % nshards == shard) that are not already in `done` (a sorted list of
 * 0-based point indices, may be NULL), and write the header (if `header`)
 * and the rows to `out`.  Commands: simulate, reduced, ode, fixed. */
cl_status cl_sweep_run(const cl_config *base, const cl_vary *v, int nv, long shard, long nshards,
                       const long *done, long ndone, int threads, int header, FILE *out, char *err);

/* Number of grid points. */
long cl_sweep_points(const cl_vary *v, int nv);

/* Merge CSV files written by sweeps of the same grid (shards, or a file and
 * its resumed part): one header, rows sorted by point, stable. */
cl_status cl_sweep_merge(char **paths, int npaths, FILE *out, char *err);

#endif
