/* app/plot.h - reading the long-format density files (pde --density-out,
 * simulate --hist-out: `[run,]t,xi..,w,p`), the L1 distance between a
 * theory density and a histogram, and gnuplot figures from output files. */
#ifndef CLDYN_PLOT_H
#define CLDYN_PLOT_H

#include <stddef.h>
#include <stdio.h>

#include "cldyn/common.h"

/* One value of xi at one time: n bins (or cells) of width h on the lattice
 * [k h, (k + 1) h), k = lo .. lo + n - 1, densities p (averaged over runs). */
typedef struct {
  double xi[CL_KMAX];
  long lo;
  size_t n;
  double h;
  double *p;
} cl_dens_class;

typedef struct {
  int K, ncls, runs;
  double t;
  cl_dens_class *c;
} cl_dens_set;

/* Read the block of `path` at the time closest to t (NAN: the last time);
 * with a `run` column, the density of each bin is the mean over runs. */
cl_status cl_dens_read(const char *path, double t, cl_dens_set *out, char *err);
/* The same for the rows of run `only` (1, 2, ...; a file without a run
 * column is run 1) at the time closest to t over the whole file; 0: every run. */
cl_status cl_dens_read_run(const char *path, double t, int only, cl_dens_set *out, char *err);
void cl_dens_free(cl_dens_set *s);
/* The class of s with value xi (K entries), or -1. */
int cl_dens_find(const cl_dens_set *s, const double *xi);
/* L1 distance between the laws of a theory density and a histogram, both
 * binned on the histogram's lattice, with adjacent bins merged (in order of
 * w) until each group holds at least `minmass` of the theory's mass; in
 * [0, 2].  Mass of either outside the other's range counts in full. */
double cl_dens_l1(const cl_dens_class *theory, const cl_dens_class *hist, double minmass);

/* The longest path given to gnuplot. */
#define CL_GP_PATHLEN 4096
/* 1 if s can be written as a gnuplot string (no control characters). */
int cl_plot_gp_quotable(const char *s);
/* Run `gnuplot SCRIPT` in directory dir (NULL: the current one) without a
 * shell (fork and exec); the last line gnuplot printed goes to msg.
 * CL_OK when gnuplot exits with status 0. */
cl_status cl_plot_gnuplot_run(const char *dir, const char *script, char *msg, size_t msglen);
/* The same with gnuplot's variables cldyn_out set to `output` and
 * cldyn_dat to `data` (NULL: unset). */
cl_status cl_plot_gnuplot_run_to(const char *dir, const char *script, const char *output, const char *data, char *msg,
                                 size_t msglen);

/* CL_EINVAL unless `out` ends in .png or .svg and is quotable. */
cl_status cl_plot_check_out(const char *out, char *err);

/* Figures (PNG or SVG by the extension of `out`, written atomically; the
 * gnuplot script is kept as out.gp, its data as out.dat).
 * Overlay: one panel per xi of the theory density at time t and the
 * histogram (either may be NULL).  Trajectories: column `col` against t of
 * each file (`col`_mean with a +-sd band for summary files; every run for
 * files with a run column). */
cl_status cl_plot_density(const char *out, const char *density, const char *hist, double t,
                          char *err);
/* The same from sets already read (either may be NULL). */
cl_status cl_plot_density_sets(const char *out, const cl_dens_set *theory, const cl_dens_set *hist,
                               char *err);
/* The gnuplot commands (to g) and data (to d, read back as `datname`, or,
 * when NULL, as the script's variable cldyn_dat) of
 * the overlay, without terminal and output: one panel per xi (at most 9)
 * of the theory density and the histogram (either may be NULL). */
void cl_plot_density_overlay(const cl_dens_set *theory, const cl_dens_set *hist, FILE *g, FILE *d,
                        const char *datname);
cl_status cl_plot_traj(const char *out, const char *const *files, int nfiles, const char *col,
                       char *err);
/* ux: --x: column `col` (or col_mean +- its standard error, from col_sd and
 * the runs of PATH.json) of each file against its column `x`, at the time
 * closest to t (NAN: the last time of each point), with the mean and the
 * standard error over runs (rows of one point and time) as error bars; one
 * curve per value of the other varied parameters (PATH.json "grid") and per
 * fixed point (id, fixed_point, outcome).  Data kept in out.dat. */
cl_status cl_plot_param(const char *out, const char *const *files, int nfiles, const char *x, const char *col,
                        double t, char *err);

#endif
