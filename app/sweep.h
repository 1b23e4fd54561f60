/* app/sweep.h - a command at every point of a Cartesian grid of
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

#include "cldyn/basin.h"
#include "cldyn/simulate.h"
#include "config.h"

#define CL_SWEEP_MAXVARY 8

/* How the points of a sweep are run and written (docs/cli.md s.4).
 * summary: each point's mean and sd over runs (simulate, reduced);
 * final: only the last time (t = T) of each point;
 * independent: each point its own random streams, seeded from (seed,
 * point); otherwise every point uses --seed (common random numbers);
 * progress: called with the fraction of points done (may be NULL). */
/* The points redone with another engine because the default M = 2 grid
 * refused a state (ode, fixed and basin rerun each point alone, as the
 * command does; docs/grid.md s.6), and the notes of the first such point;
 * for fixed also the points with an orbit whose Jacobian is the fallback
 * engine's or of unknown stability (docs/fixed-points.md s.2). */
typedef struct {
  long n, first; /* points with a note, the first one (0-based; -1: none) */
  char note[512];
} cl_sweep_reruns;

typedef struct {
  int summary, final, independent;
  cl_progress_fn progress;
  void *progress_ctx;
  cl_sweep_reruns *reruns; /* out, may be NULL: filled by the run */
} cl_sweep_opts;

/* The seed of point p (0-based) with independent streams: a SplitMix64
 * mix of (seed, p), below 2^53. */
uint64_t cl_sweep_point_seed(uint64_t seed, long p);

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

/* Shards: point p (0-based, in grid order) belongs to shard p mod N; an
 * MPI job of R ranks running shard I splits it again: its rank r runs the
 * points of the shard with (p div N) mod R == r.  So a serial shard and an
 * MPI run of the same shard hold the same points. */

/* What identifies a sweep's output: a 64-bit hash of the command, every
 * option that changes a result and the grid (fingerprint), the number of
 * grid points, the rows each point has (0: variable, for fixed or when T,
 * dt-out or runs are varied) and the shard the file holds.  It is stored in
 * the output's .json sidecar (keys sweep_fingerprint, sweep_points,
 * sweep_rows_per_point, sweep_shard). */
typedef struct {
  char fp[24];
  long points, rows_per_point, shard, nshards;
} cl_sweep_id;

/* 1 if `name` may be varied (model and numerical options, not out,
 * threads, checkpoint, ...). */
int cl_vary_name_ok(const char *name);
cl_status cl_sweep_identity(const cl_config *base, const cl_vary *v, int nv, const cl_sweep_opts *so, long shard,
                            long nshards, cl_sweep_id *id, char *err);
/* The id of a sweep output from PATH.json (CL_EINVAL when missing). */
cl_status cl_sweep_read_id(const char *path, cl_sweep_id *id, char *err);
/* The sidecar's key/value strings for id (NULL-terminated; buf holds them). */
const char *const *cl_sweep_id_kv(const cl_sweep_id *id, char buf[4][32], const char *kv[9]);

/* Run the points of shard `shard` (0-based) of `nshards`, part `sub` of
 * `nsub` (MPI ranks; 0 of 1 otherwise), that are not already in `done` (a
 * sorted list of 0-based point indices, may be NULL), and write the header
 * (if `header`) and the rows to `out`.  Commands: simulate, reduced, ode,
 * pde, fixed, basin. */
cl_status cl_sweep_run_part(const cl_config *base, const cl_vary *v, int nv, const cl_sweep_opts *so, long shard,
                            long nshards, long sub, long nsub, const long *done, long ndone, int threads, int header,
                            FILE *out, char *err);
cl_status cl_sweep_run(const cl_config *base, const cl_vary *v, int nv, const cl_sweep_opts *so, long shard,
                       long nshards, const long *done, long ndone, int threads, int header, FILE *out, char *err);

/* basin's tables (M = 1: fixed_point,probability,stderr,cos_J_1...; M >= 2:
 * outcome,probability,stderr,count), for the command and its sweeps. */
void cl_sweep_write_basin(FILE *f, const cl_model *m, const cl_basin_result *res);
void cl_sweep_write_basin_multi(FILE *f, const cl_basin_multi_result *res);

/* Number of grid points. */
long cl_sweep_points(const cl_vary *v, int nv);

/* Merge files of one sweep (ids[i] the id of paths[i]; empty files are
 * skipped) into `out`: one header, rows sorted by point.  CL_EINVAL unless
 * every id has want's fingerprint, points and rows per point, every row is
 * a whole line with the header's number of columns, and every point of
 * want's shard is present in exactly one input with the right number of
 * rows. */
cl_status cl_sweep_merge(char **paths, const cl_sweep_id *ids, int npaths, const cl_sweep_id *want, FILE *out,
                         char *err);

/* --resume: the points of `path` that are complete (every line whole, the
 * right columns and rows; with a variable row count the file's last point
 * is redone), as a sorted list (*done, malloc'd), and the file with only
 * those points to `clean`. */
cl_status cl_sweep_scan_done(const char *path, const cl_sweep_id *id, long **done, long *ndone, FILE *clean,
                             char *err);

#endif
