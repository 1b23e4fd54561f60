/* app/options.h - the option table: one descriptor per option, from which
 * the command-line parser, config files, range checks, --print-config (and
 * so the JSON metadata and the sweep fingerprint) and every command's --help
 * are generated (docs/cli.md s.7).  The commands themselves, with their
 * one-line descriptions, are a table here too.
 *
 * How to add an option (say `--foo X` of ode and fixed, a real in (0, 1]):
 *   1. add its field to cl_config (config.h) and its default to
 *      cl_config_init (config.c), unless a library default sets it;
 *   2. add one row to `cl_options[]` in options.c, at the place where
 *      --print-config should write it:
 *        {"foo", CL_OPT_REAL, CL_CMD_ODE | CL_CMD_FIXED, "X", "what it does", "0.5",
 *         F(foo), .lo = 0, .hi = 1, .lo_open = 1,
 *         .accepted = "a real in (0, 1]", .must = "in (0, 1]"},
 *      kinds INT, REAL, PATH and FLAG need nothing else; a value with its own
 *      syntax is CL_OPT_SPECIAL with a `set` and a `get` function.  The
 *      library's messages about the parameter ("foo: must be ...") are
 *      spelled "--foo: ..." from this row (app/status.c); give `.param`
 *      only when the library calls it otherwise than the name with '_'
 *      for '-' (--hist-out's "hist");
 *   3. a note that only holds for some commands goes in `.notes`, a range
 *      that is narrower for some commands in `.narrow` (pde's --M 1: the
 *      parse refuses other values, --help shows .narrow's help); a rule
 *      between two options (--terms needs M = 1) is a row of `rules[]` in
 *      options.c, with its message; an option that does
 *      not change results (an output, progress, verbosity) gets
 *      `.flags = CL_OPTF_NOSWEEP`, which keeps it out of sweep grids and
 *      fingerprints, and CL_OPTF_NOPRINT keeps it out of --print-config;
 *   4. run the options/ tests: the recorded --help and --print-config texts
 *      (tests/options/) change by the new line, which you re-record
 *      (tests/test_options.c says how) and review.
 * sweep, plot and reproduce have rows too (their fields are at the end of
 * cl_config; CL_CMD_SWEEP etc. in .cmds); they have no --print-config.  A
 * name may have one row per group of commands (sweep's --resume is a flag,
 * simulate's a path).  For example sweep's `--final` is
 *   {"final", CL_OPT_FLAG, CL_CMD_SWEEP, "", "only the last time, t = T, of each point", NULL,
 *    F(sweep_final), CL_OPTF_NOSWEEP},
 * and sweep_cmd.c's sweep_job reads cfg.sweep_final after cl_config_parse_front. */
#ifndef CLDYN_OPTIONS_H
#define CLDYN_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"

typedef enum {
  CL_OPT_INT,    /* an integer field (int or 8 bytes), range [lo, hi] */
  CL_OPT_REAL,   /* a double field, range lo..hi (open ends by lo_open, hi_open) */
  CL_OPT_PATH,   /* a char[CL_PATHLEN] field, not empty; printed when set */
  CL_OPT_FLAG,   /* no value: sets an int field to 1; printed as 1 when set */
  CL_OPT_TEXT,   /* a char[] field, any text that fits; printed when set */
  CL_OPT_SPECIAL /* its own syntax: the set and get functions */
} cl_optkind;

/* Option flags */
enum {
  CL_OPTF_NOPRINT = 1,  /* never in --print-config (help, print-config, config) */
  CL_OPTF_NEG_UNSET = 2, /* INT: a negative value means unset, not printed */
  CL_OPTF_OPTVALUE = 4, /* FLAG/SPECIAL: takes an optional value (--threshold [NAME]) */
  CL_OPTF_NOSWEEP = 8   /* not a sweep parameter, and not part of a sweep's fingerprint
                           (outputs, threads, checkpoints, --vary, --threshold) */
};

typedef struct cl_optdesc cl_optdesc;
/* Set from text, with the option's own message on bad input. */
typedef cl_status (*cl_opt_set_fn)(cl_config *cfg, const cl_optdesc *d, const char *v, char *err);
/* Format the value(s): calls emit once per value (none: not printed). */
typedef void (*cl_opt_get_fn)(const cl_config *cfg, const cl_optdesc *d, cl_config_visit_fn emit, void *ctx);

typedef struct {
  unsigned cmds;    /* the commands the note is for */
  const char *text; /* shown after the help text, in parentheses */
} cl_optnote;

/* A narrower range for some commands (pde: M = 1; reduced, ode, fixed and
 * basin: reg none or l2), checked when the option is set, so the parse
 * rejects it (exit 2) before any work */
typedef struct {
  unsigned cmds;
  double lo, hi;    /* INT, REAL: the range; SPECIAL: what its set function
                       reads them as (reg: the cl_reg_kind range) */
  const char *must; /* INT, REAL: the message's "must be ..."; SPECIAL: the
                       whole message after "--name: " */
  const char *help; /* replaces the help text for these commands (NULL: the
                       row's help) */
} cl_optnarrow;

struct cl_optdesc {
  const char *name; /* without the dashes; also the config-file key */
  cl_optkind kind;
  unsigned cmds;    /* the cl_command bits it applies to */
  const char *arg;  /* metavariable in --help */
  const char *help; /* one line, without default and notes */
  const char *deflt; /* "(default X)" in --help; NULL for none (tested against
                        what --print-config writes for a fresh config) */
  size_t off, size; /* the field in cl_config (not SPECIAL) */
  unsigned flags;
  double lo, hi;
  int lo_open, hi_open;
  const char *accepted; /* "malformed ...; accepted: <accepted>" */
  const char *must;     /* "must be <must> (got V)" */
  long long print0;     /* INT: a stored 0 (the library's "default") prints as this */
  cl_opt_set_fn set;
  cl_opt_get_fn get;
  cl_optnote notes[2];
  cl_optnarrow narrow[2];
  const char *param; /* the parameter name of the library's messages ("hist:
                        needs M = 1") when it is not the name with '_' for
                        '-' (dt-out -> dt_out): cl_option_of_param */
};

extern const cl_optdesc cl_options[];
extern const size_t cl_noptions;

/* The option `name` of command `cmd`: *exists is set when the name is an
 * option of any command.  NULL when it does not apply to cmd. */
const cl_optdesc *cl_option_find(const char *name, cl_command cmd, int *exists);
/* The option (its name, without the dashes) whose parameter the library's
 * messages call p[0..n): a row's .param, else its name with '_' for '-';
 * only rows of the commands that run the library (not sweep, plot or
 * reproduce).  NULL when no option sets that parameter.  app/status.c
 * spells library messages with it (docs/cli.md s.6). */
const char *cl_option_of_param(const char *p, size_t n);
/* Set an option from text, with range checks (the descriptor's). */
cl_status cl_option_set(cl_config *cfg, const cl_optdesc *d, const char *v, char *err);
/* Whether a word is an option name (--letter...), so not the value of the
 * option before it: `--out --T 1` is a missing value, not a file "--T". */
int cl_option_like(const char *word);
/* 0 for an option with CL_OPTF_NOSWEEP, 1 otherwise (an unknown name is
 * reported when it is set). */
int cl_option_sweepable(const char *name);
/* The constraints between options that decide whether cfg->cmd can run
 * (--hist-out needs M = 1, basin with M >= 2 needs B = 1, ...): every
 * message is in options.c's rule table.  main.c calls this after the parse
 * (and after --help and --print-config, which print any configuration),
 * before any work or file (exit 2).  A range of one option for one command
 * is a .narrow of its row instead, refused by the parse and shown by
 * --help. */
cl_status cl_options_check_rules(const cl_config *cfg, char *err);
/* Help lines of every option of cmd. */
void cl_options_help(cl_command cmd, FILE *f);

/* The --expect spelling of an engine choice (cl_quad_opts.expect): auto, qmc, quad, ... */
const char *cl_expect_spelling(int expect);

/* One line describing the command (also for sweep, plot, reproduce). */
const char *cl_command_description(cl_command cmd);
/* Every command name, in order, separated by ", ", into buf. */
void cl_command_list(char *buf, size_t len);
/* Top-level usage: the commands and their descriptions. */
void cl_commands_help(FILE *f);

/* Did-you-mean: the candidate closest to `word` by edit distance
 * (insertions, deletions, substitutions and transpositions), or NULL when
 * none is close enough to be a typing slip. */
const char *cl_options_suggest(const char *word, const char *const *cands, size_t n);
/* " (did you mean '--rho'?)" for an unknown option of cmd, or "" */
void cl_option_suggest(const char *name, cl_command cmd, char *buf, size_t len);
/* ", did you mean 'simulate'?" style suffix for a command, or "" */
void cl_command_suggest(const char *name, char *buf, size_t len);

#endif
