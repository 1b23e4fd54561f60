/* app/config.h - the effective configuration of one command: model,
 * schedule and I/O options, set from the command line and config files
 * (docs/cli.md s.2-3).  Setting an option by name is also how sweeps vary one. */
#ifndef CLDYN_CONFIG_H
#define CLDYN_CONFIG_H

#include <stdio.h>

#include "cldyn/model.h"
#include "cldyn/ode.h"
#include "cldyn/pde.h"

#define CL_CONFIG_MAXVARY 8 /* sweep: --vary parameters (CL_SWEEP_MAXVARY) */

typedef enum {
  CL_CMD_SIMULATE = 1 << 0,
  CL_CMD_REDUCED = 1 << 1,
  CL_CMD_ODE = 1 << 2,
  CL_CMD_PDE = 1 << 3,
  CL_CMD_FIXED = 1 << 4,
  CL_CMD_BASIN = 1 << 5,
  /* commands with their own parsers (main.c), named in the command table */
  CL_CMD_SWEEP = 1 << 6,
  CL_CMD_REPRODUCE = 1 << 7,
  CL_CMD_PLOT = 1 << 8
} cl_command;

typedef struct {
  cl_command cmd;
  cl_model model;
  cl_schedule sched;
  char out[CL_PATHLEN];     /* "-" for stdout */
  char summary[CL_PATHLEN]; /* "" for none */
  int threads;              /* 0: OpenMP default */
  cl_ode_opts ode;          /* ode: stepper, tolerances, quadrature orders */
  cl_pde_opts pde;          /* pde: cells, dt (its quad is taken from ode.quad) */
  char density_out[CL_PATHLEN]; /* pde: densities at each dt-out, "" for none */
  char hist_out[CL_PATHLEN];    /* simulate: histograms of w per xi, "" for none */
  double hist_width;            /* simulate: bin width of hist_out */
  int print_config;
  int threshold;          /* fixed: write the critical second moments */
  int terms;              /* fixed: append the noise mechanism's terms (M = 1) */
  char threshold_name[32]; /* fixed: --threshold NAME ("" for the critical m2) */
  char point[32];         /* fixed: --point ID|KIND, "" for 1 */
  int starts;             /* fixed: random starts, -1 for the default */
  char vary[256];         /* fixed: NAME=A:B:STEP, "" for none */
  char checkpoint[CL_PATHLEN], resume[CL_PATHLEN]; /* simulate, reduced */
  double checkpoint_every;
  long directions;        /* basin */
  double tmax;            /* basin */
  char map[CL_PATHLEN];   /* basin: grid output, "" for none */
  int map_points;         /* basin */
  int help;
  /* sweep's own options (before its COMMAND); --vary texts, checked */
  char sweep_vary[CL_CONFIG_MAXVARY][256];
  int nvary, sweep_resume, merge;
  int sweep_summary, sweep_final, sweep_independent; /* --summary, --final, --streams */
  long shard, nshards;      /* --shard I/N as 0-based shard of nshards */
  char merge_out[CL_PATHLEN]; /* sweep --merge --out */
  /* plot */
  char plot_out[CL_PATHLEN], plot_density[CL_PATHLEN], plot_hist[CL_PATHLEN], plot_y[256], plot_x[256];
  double plot_t, plot_min_mass;
  /* reproduce */
  int quick;
  char repro_dir[CL_PATHLEN];
  /* progress on stderr (forced, silenced); --strict refuses
   * config-file keys of other commands, which are otherwise skipped and
   * listed here for one note */
  int progress, quiet, strict;
  int nskipped;
  char skipped[512], skipped_at[256];
  /* R0/Q0 are kept as text until K and M are final */
  char R0_spec[1024], Q0_spec[1024];
  /* internal: each config file is a source; the first `c` of a source
   * replaces the list given so far (so --c on the command line replaces a
   * config file's list), later ones append. */
  int c_source, c_count, source, nsources, depth;
} cl_config;

const char *cl_command_name(cl_command cmd);
/* Parse the command's name; 0 if unknown. */
cl_command cl_command_from_name(const char *name);

void cl_config_init(cl_config *cfg, cl_command cmd);
/* Set one option by name (without dashes) from its text value. */
cl_status cl_config_set(cl_config *cfg, const char *name, const char *value, char *err);
/* Read a config file: `name = value` lines, '#' comments. */
cl_status cl_config_read_file(cl_config *cfg, const char *path, char *err);
/* Parse options from argv until the first word that is not an option;
 * *next is its index (argc when none).  For every command. */
cl_status cl_config_parse_front(cl_config *cfg, int argc, char **argv, int *next, char *err);
/* Parse argv (after the command name): options and --config files in order,
 * then resolve R0/Q0 and validate everything. */
cl_status cl_config_parse_args(cl_config *cfg, int argc, char **argv, char *err);
/* Initialise for `cmd` and parse options written as one string, separated
 * by spaces (no quoting): a convenience for programs and tests. */
cl_status cl_config_parse_string(cl_config *cfg, cl_command cmd, const char *args, char *err);
/* Resolve R0/Q0 and validate (called by cl_config_parse_args). */
cl_status cl_config_finish(cl_config *cfg, char *err);
/* Set a numeric option (or m2_J, the second moment of feature J) to v and
 * re-validate: how --vary moves through a parameter. */
cl_status cl_config_set_number(cl_config *cfg, const char *name, double v, char *err);
/* Write every effective option of the command as `name = value` lines. */
void cl_config_print(const cl_config *cfg, FILE *f);
/* Option help for the command (generated from the option table, options.h). */
void cl_config_help(cl_command cmd, FILE *f);
/* One note on f for the config-file keys of other commands that were
 * skipped (none: nothing; nothing with --quiet). */
void cl_config_skipped_note(const cl_config *cfg, FILE *f);

/* Iterate over the effective options (name, value) in print order; calls
 * fn for each, with repeated names for repeatable options. */
typedef void (*cl_config_visit_fn)(void *ctx, const char *name, const char *value);
void cl_config_visit(const cl_config *cfg, cl_config_visit_fn fn, void *ctx);

#endif
