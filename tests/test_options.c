/* The option table (app/options.c, docs/cli.md s.7): a regression record of
 * every command's --help, --print-config and messages, taken before the
 * table replaced the hand-written chains, and the table's own promises
 * (did-you-mean, per-command ranges and notes, missing values).
 *
 * Regression record: CLDYN_RECORD=1 build/cldyn_tests --filter 'options/ANY'
 * (ANY a star) rewrites the .txt files of tests/options/ from the current build; review the diff. */
#include <criterion/criterion.h>
#include <dirent.h>

#include "testutil.h"

static const char *const cmds[] = {"simulate", "reduced", "ode", "pde", "fixed", "basin"};

/* Every option name the CLI knew when the record was taken, and a few
 * unknown ones.  Deliberately not read from the table under test. */
static const char *const names[] = {
    "N", "M", "c", "features", "act", "g", "lambda", "reg", "tau", "s", "rho", "B", "init", "R0", "Q0", "T",
    "dt-out", "runs", "seed", "out", "summary", "threads", "rtol", "atol", "stepper", "quad-gauss", "quad-law",
    "quad-mgrid", "quad-cf", "mc-points", "expect", "qmc-points", "quad-nodes", "cells", "dt", "density-out", "hist-out",
    "hist-width", "checkpoint", "checkpoint-every", "resume", "threshold", "point", "starts", "terms", "vary",
    "directions", "tmax", "map", "map-points", "config", "print-config", "help", "foo", "rhoo", "lamda", "Tau"};
/* NULL: the option given last without a value */
static const char *const values[] = {NULL, "", "abc", "-1", "0", "0.5", "2", "17", "1e300", "nan", "on", "m2"};

/* Whole argument lists, in addition to name x value */
static const char *const extra[] = {
    "--c gauss --c laplace:2",
    "--c rademaher",
    "--c sparse:1:0.5 --c student:2:6 --c uniform",
    "--M 2 --R0 0.1,0.2;0.3,0.4",
    "--M 2 --Q0 1,0.2;0.2,1",
    "--reg l1:0.1",
    "--reg elastic:0.1:0.2",
    "--reg l3",
    "--features sparse:0.3",
    "--features dense",
    "--act relu --g abs",
    "--act softplus",
    "--stepper rk4imp",
    "--stepper euler",
    "--expect mc --mc-points 1000",
    "--threshold lambda --vary lambda=0:1:0.1",
    "--vary tau=0.1:0.5:0.1",
    "--vary tau=1:0:0.1",
    "--init random",
    "--tau=0.25",
    "--help=1",
    "--print-config=1",
    "--threshold=tau",
    "--N 3 --M 2",
    "--config tests/options/sim.cfg",
    "--out",
    "--out --T 1",
    "tau 1",
    "--",
};

typedef struct {
  char *buf;
  size_t len;
  FILE *f;
} membuf;

static void mb_open(membuf *m) {
  m->buf = NULL, m->len = 0;
  m->f = open_memstream(&m->buf, &m->len);
  cr_assert(m->f);
}

/* The lines of `now` that are not in `base` (both --print-config texts). */
static void diff_lines(FILE *out, const char *base, const char *now) {
  const char *p = now;
  while (*p) {
    const char *e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    int found = 0;
    for (const char *q = base; *q && !found;) {
      const char *qe = strchr(q, '\n');
      size_t qn = qe ? (size_t)(qe - q) : strlen(q);
      found = qn == n && memcmp(p, q, n) == 0;
      q += qn + (qe != NULL);
    }
    if (!found) fprintf(out, "  | %.*s\n", (int)n, p);
    p += n + (e != NULL);
  }
}

static void one_case(FILE *out, cl_command cmd, const char *base, int argc, char **argv, const char *label) {
  static cl_config cfg;
  char err[CL_ERRLEN] = "";
  cl_config_init(&cfg, cmd);
  cl_status st = cl_config_parse_args(&cfg, argc, argv, err);
  fprintf(out, "%s %s => ", cl_command_name(cmd), label);
  if (st) {
    /* what the user sees: the exit status (not the library code) and the
     * message with parameters spelled as options (app/status.c) */
    char shown[2 * CL_ERRLEN];
    fprintf(out, "%d %s\n", cl_status_exit_code(st), cl_status_cli_message(err, shown, sizeof shown));
    return;
  }
  if (cfg.help) {
    fprintf(out, "help\n");
    return;
  }
  membuf m;
  mb_open(&m);
  cl_config_print(&cfg, m.f);
  fclose(m.f);
  fprintf(out, "ok%s\n", cfg.print_config ? " (print-config)" : "");
  diff_lines(out, base, m.buf);
  free(m.buf);
}

/* Split on spaces (no quoting) into argv; returns argc. */
static int split(char *s, char **argv, int max) {
  int n = 0;
  for (char *t = strtok(s, " "); t && n < max; t = strtok(NULL, " ")) argv[n++] = t;
  return n;
}

static void parse_messages(FILE *out) {
  static cl_config base;
  for (size_t c = 0; c < sizeof cmds / sizeof cmds[0]; c++) {
    cl_command cmd = cl_command_from_name(cmds[c]);
    cr_assert(cmd, "%s", cmds[c]);
    cl_config_init(&base, cmd);
    membuf bm;
    mb_open(&bm);
    cl_config_print(&base, bm.f);
    fclose(bm.f);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
      for (size_t k = 0; k < sizeof values / sizeof values[0]; k++) {
        char opt[64], label[128];
        snprintf(opt, sizeof opt, "--%s", names[i]);
        char *argv[2] = {opt, (char *)values[k]};
        snprintf(label, sizeof label, "%s %s%s%s", opt, values[k] ? "'" : "(no value)", values[k] ? values[k] : "",
                 values[k] ? "'" : "");
        one_case(out, cmd, bm.buf, values[k] ? 2 : 1, argv, label);
      }
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
      char buf[512], *argv[32];
      snprintf(buf, sizeof buf, "%s", extra[i]);
      int argc = split(buf, argv, 32);
      one_case(out, cmd, bm.buf, argc, argv, extra[i]);
    }
    free(bm.buf);
  }
}

/* Command lines run through the binary: exit status, stdout and stderr. */
static const char *const cli_cases[] = {
    "",
    "--help",
    "-h",
    "simlate",
    "foo --help",
    "simulate --help",
    "reduced --help",
    "ode --help",
    "pde --help",
    "fixed --help",
    "basin --help",
    "simulate --print-config",
    "reduced --print-config",
    "ode --print-config",
    "pde --print-config",
    "fixed --print-config",
    "basin --print-config",
    "fixed --threshold --print-config",
    "ode --out --T 1 --print-config",
    "ode --rhoo 0.5",
    "ode --lamda 1",
    "ode --c rademaher",
    "ode --N 100",
    "ode --config tests/options/sim.cfg --print-config",
    "pde --M 2 --T 0",
    "simulate --tau",
    "simulate --tau=abc",
    "sweep --help",
    "sweep",
    "sweep --foo",
    "sweep --vary tau=0.1:0.2:0.1",
    "sweep --vary tau=0.1:0.2:0.1 simlate",
    "sweep --vary tau=0.1:0.2:0.1 basin",
    "sweep --vary tau=0.1:0.2:0.1 ode --rhoo 1",
    "sweep --shard 3/2 ode",
    "reproduce --help",
    "reproduce --foo",
    "reproduce --out",
    "plot --help",
    "plot --foo 1",
    "plot",
    "plot --out",
    "sweep --shard 0/2 ode",
    "sweep --shard x ode",
    "sweep --threads -1 ode",
    "sweep --threads abc ode",
    "sweep --threads 1025 ode",
    "sweep --vary tau ode",
    "sweep --vary tau=1:0:1 ode",
    "sweep --vary out=0:1:1 ode",
    "sweep --vary tau=0:1:1 --vary s=0:1:1 --vary rho=0:1:1 --vary lambda=0:1:1 --vary B=1:2:1 --vary N=10:20:10 "
    "--vary M=1:2:1 --vary T=1:2:1 --vary dt-out=1:2:1 ode",
    "sweep --merge",
    "sweep --merge --out",
    "sweep --merge /nonexistent.csv",
    "sweep --resume",
    "sweep --out x.csv ode",
    "sweep --vary tau=0:1:1",
    "sweep --vary tau=0:1:1 --shard 1/2 --threads 1 --resume ode --foo",
    "plot --t abc",
    "plot --t -1",
    "plot --min-mass 0",
    "plot --min-mass 2",
    "plot --min-mass x",
    "plot --out f.png",
    "plot --density",
    "plot --y",
    "plot --density a.csv b.csv --out f.png",
    "reproduce --quick --out",
    "reproduce --out 'a$b'",
    "reproduce --quick=1",
    "reproduce extra",
};

static char *read_all(const char *path) {
  char *s = slurp(path, NULL);
  return s ? s : strdup("");
}

static void cli_texts(FILE *out) {
  for (size_t i = 0; i < sizeof cli_cases / sizeof cli_cases[0]; i++) {
    char o[] = "/tmp/cldyn_opt_out_XXXXXX", e[] = "/tmp/cldyn_opt_err_XXXXXX";
    int fo = mkstemp(o), fe = mkstemp(e);
    cr_assert(fo >= 0 && fe >= 0);
    close(fo), close(fe);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "exec %s %s >%s 2>%s </dev/null", cli_bin(), cli_cases[i], o, e);
    int st = system_child(cmd);
    char *so = read_all(o), *se = read_all(e);
    fprintf(out, "$ cldyn %s\n[exit %d]\n%s--- stderr\n%s", cli_cases[i], WIFEXITED(st) ? WEXITSTATUS(st) : -1, so,
            se);
    free(so), free(se);
    unlink(o), unlink(e);
  }
}

/* Compare the generated text with the record (or rewrite the record). */
static void check_record(const char *path, void (*gen)(FILE *)) {
  membuf m;
  mb_open(&m);
  gen(m.f);
  fclose(m.f);
  if (getenv("CLDYN_RECORD")) {
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fwrite(m.buf, 1, m.len, f);
    fclose(f);
    free(m.buf);
    return;
  }
  size_t n;
  char *want = slurp(path, &n);
  cr_assert(want, "missing record %s", path);
  if (n != m.len || memcmp(want, m.buf, n) != 0) {
    /* the first differing line, for the message */
    size_t k = 0, line = 1, start = 0;
    while (k < n && k < m.len && want[k] == m.buf[k]) {
      if (want[k] == '\n') line++, start = k + 1;
      k++;
    }
    const char *we = strchr(want + start, '\n'), *ge = strchr(m.buf + start, '\n');
    cr_expect_fail("%s differs at line %zu:\n  want: %.*s\n  got:  %.*s", path, line,
                   (int)(we ? (size_t)(we - want - start) : strlen(want + start)), want + start,
                   (int)(ge ? (size_t)(ge - m.buf - start) : strlen(m.buf + start)), m.buf + start);
  }
  free(want);
  free(m.buf);
}

Test(options, parse_messages_match_record) { check_record("tests/options/parse.txt", parse_messages); }

Test(options, cli_texts_match_record) { check_record("tests/options/cli.txt", cli_texts); }

/* ---- the table's promises ------------------------------------------------ */

/* Run `cldyn ARGS` in dir (NULL: here); stdout and stderr into the buffers. */
static int run_in(const char *dir, const char *args, char *out, size_t olen, char *errb, size_t elen) {
  char o[] = "/tmp/cldyn_opt_out_XXXXXX", e[] = "/tmp/cldyn_opt_err_XXXXXX";
  int fo = mkstemp(o), fe = mkstemp(e);
  cr_assert(fo >= 0 && fe >= 0);
  close(fo), close(fe);
  char bin[1024], cmd[2048];
  if (cli_bin()[0] == '/' || !dir) snprintf(bin, sizeof bin, "%s", cli_bin());
  else cr_assert(realpath(cli_bin(), bin), "%s", cli_bin());
  snprintf(cmd, sizeof cmd, "%s%s%s exec %s %s >%s 2>%s </dev/null", dir ? "cd " : "", dir ? dir : "", dir ? " &&" : "",
           bin, args, o, e);
  int st = system_child(cmd);
  char *so = read_all(o), *se = read_all(e);
  snprintf(out, olen, "%s", so), snprintf(errb, elen, "%s", se);
  free(so), free(se);
  unlink(o), unlink(e);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(options, suggest_by_edit_distance) {
  const char *names[] = {"lambda", "tau", "s", "rho", "rademacher", "runs"};
  size_t n = sizeof names / sizeof names[0];
  cr_expect_str_eq(cl_options_suggest("lamda", names, n), "lambda");
  cr_expect_str_eq(cl_options_suggest("lmabda", names, n), "lambda"); /* a swap is one edit */
  cr_expect_str_eq(cl_options_suggest("rhoo", names, n), "rho");
  cr_expect_str_eq(cl_options_suggest("Tau", names, n), "tau");
  cr_expect_str_eq(cl_options_suggest("rademaher", names, n), "rademacher");
  cr_expect_null(cl_options_suggest("x", names, n));    /* one letter: any other is "one edit" */
  cr_expect_null(cl_options_suggest("theta", names, n)); /* not a slip */
  cr_expect_null(cl_options_suggest("lbd", names, n));
}

Test(options, did_you_mean_options_commands_laws) {
  char out[8192], err[4096];
  const struct {
    const char *args, *want;
  } cases[] = {
      {"ode --rhoo 0.5", "did you mean '--rho'?"},
      {"simulate --lamda 1", "did you mean '--lambda'?"},
      {"fixed --tresholdd", "did you mean '--threshold'?"},
      {"simlate --T 1", "did you mean 'simulate'?"},
      {"reduce", "did you mean 'reduced'?"},
      {"ode --c rademaher", "did you mean 'rademacher'?"},
      {"ode --c lapalce:2", "did you mean 'laplace'?"},
      {"ode --act tahn", "did you mean 'tanh'?"},
      {"sweep --vray tau=0:1:1 ode", "did you mean '--vary'?"},
      {"sweep --vary tau=0:1:1 simlate", "did you mean 'simulate'?"},
      {"plot --ot f.png", "did you mean '--out'?"},
      {"reproduce --quik", "did you mean '--quick'?"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int st = run_in(NULL, cases[i].args, out, sizeof out, err, sizeof err);
    cr_expect_eq(st, 2, "%s: exit %d", cases[i].args, st);
    cr_expect(strstr(err, cases[i].want) != NULL, "%s: '%s' lacks \"%s\"", cases[i].args, err, cases[i].want);
    cr_expect(strchr(err, '\n') == err + strlen(err) - 1, "%s: not one line: '%s'", cases[i].args, err);
  }
  /* no suggestion when nothing is close */
  run_in(NULL, "ode --zzzzzz 1", out, sizeof out, err, sizeof err);
  cr_expect(strstr(err, "did you mean") == NULL, "%s", err);
}

static const char *const all_cmds[] = {"simulate", "reduced", "ode", "pde", "fixed", "basin", "sweep", "reproduce", "plot"};
#define NALL (sizeof all_cmds / sizeof all_cmds[0])

Test(options, unknown_command_lists_every_command) {
  char out[8192], err[4096];
  cr_assert_eq(run_in(NULL, "frobnicate", out, sizeof out, err, sizeof err), 2);
  for (size_t i = 0; i < NALL; i++) {
    char w[32];
    snprintf(w, sizeof w, " %s", all_cmds[i]);
    cr_expect(strstr(err, w) != NULL, "'%s' does not list %s", err, all_cmds[i]);
  }
}

Test(options, one_line_description_per_command) {
  static char top[16384], out[65536];
  char err[4096];
  cr_assert_eq(run_in(NULL, "--help", top, sizeof top, err, sizeof err), 0);
  for (size_t i = 0; i < NALL; i++) {
    cl_command cmd = cl_command_from_name(all_cmds[i]);
    cr_assert(cmd, "%s", all_cmds[i]);
    const char *d = cl_command_description(cmd);
    cr_expect(strlen(d) > 10 && !strchr(d, '\n'), "%s: '%s'", all_cmds[i], d);
    char line[256];
    snprintf(line, sizeof line, "  %-10s %s\n", all_cmds[i], d);
    cr_expect(strstr(top, line) != NULL, "cldyn --help lacks '%s'", line);
    char args[64];
    snprintf(args, sizeof args, "%s --help", all_cmds[i]);
    cr_expect_eq(run_in(NULL, args, out, sizeof out, err, sizeof err), 0, "%s: %s", args, err);
    snprintf(line, sizeof line, "\n%s\n", d);
    cr_expect(strstr(out, line) != NULL, "%s lacks its description", args);
  }
}

/* A note of one command never shows in another's --help; the table's
 * notes show in their own command's. */
Test(options, help_shows_only_the_commands_notes) {
  static char out[65536];
  char err[4096];
  const char *six[] = {"simulate", "reduced", "ode", "pde", "fixed", "basin"};
  for (size_t c = 0; c < 6; c++) {
    cl_command cmd = cl_command_from_name(six[c]);
    char args[64];
    snprintf(args, sizeof args, "%s --help", six[c]);
    cr_assert_eq(run_in(NULL, args, out, sizeof out, err, sizeof err), 0);
    for (size_t o = 0; o < NALL; o++) {
      char tag[64];
      snprintf(tag, sizeof tag, "(%s:", all_cmds[o]);
      cr_expect(strstr(out, tag) == NULL, "%s --help holds another command's note '%s'", six[c], tag);
    }
    for (size_t i = 0; i < cl_noptions; i++)
      for (size_t k = 0; k < 2; k++) {
        const cl_optnote *nt = &cl_options[i].notes[k];
        if (!nt->text || !(cl_options[i].cmds & cmd)) continue;
        int shown = strstr(out, nt->text) != NULL;
        cr_expect_eq(shown, (nt->cmds & cmd) != 0, "%s --help: note '%s' of --%s %s", six[c], nt->text,
                     cl_options[i].name, shown ? "shown" : "missing");
      }
  }
  snprintf(out, sizeof out, "x");
  run_in(NULL, "simulate --help", out, sizeof out, err, sizeof err);
  cr_expect(strstr(out, "N^-1/2") == NULL, "simulate --help shows basin's note on N");
  run_in(NULL, "basin --help", out, sizeof out, err, sizeof err);
  cr_expect(strstr(out, "N^-1/2") != NULL, "basin --help lacks its note on N");
}

Test(options, c_help_lists_every_law) {
  static char out[65536];
  char err[4096];
  cr_assert_eq(run_in(NULL, "ode --help", out, sizeof out, err, sizeof err), 0);
  const char *line = strstr(out, "  --c ");
  cr_assert(line);
  const char *end = strchr(line, '\n');
  for (int k = 0; k <= CL_LAW_DISCRETE; k++) {
    const char *name = cl_law_name((cl_law_kind)k);
    const char *p = strstr(line, name);
    cr_expect(p && p < end, "--c help does not list the law '%s'", name);
  }
}

Test(options, ranges_match_the_command) {
  static char out[65536];
  char err[4096], dir[64];
  cr_assert_eq(run_in(NULL, "pde --help", out, sizeof out, err, sizeof err), 0);
  const char *m = strstr(out, "  --M ");
  cr_assert(m);
  char line[512];
  snprintf(line, sizeof line, "%.*s", (int)(strchr(m, '\n') - m), m);
  cr_expect(strstr(line, "16") == NULL, "pde --help offers M up to 16: '%s'", line);
  cr_assert_eq(run_in(NULL, "ode --help", out, sizeof out, err, sizeof err), 0);
  cr_expect(strstr(out, "output units, in [1, 16]") != NULL);
  /* pde --M 2 is a range error naming --M, before any work or file */
  make_tmpdir(dir, sizeof dir);
  cr_expect_eq(run_in(dir, "pde --M 2 --out o.csv", out, sizeof out, err, sizeof err), 2);
  cr_expect(strstr(err, "--M: must be 1") != NULL, "%s", err);
  cr_expect(!file_exists("o.csv"));
  char p[128];
  snprintf(p, sizeof p, "%s/o.csv", dir);
  cr_expect(!file_exists(p));
  /* and through a config file, and a sweep over M */
  cr_expect_eq(run_in(NULL, "sweep --vary M=1:2:1 pde --T 0", out, sizeof out, err, sizeof err), 2);
  cr_expect(strstr(err, "--M") != NULL, "%s", err);
  /* a sweep over M for any command: rows of M = 2 were written under the
   * M = 1 header (10 columns under 6) */
  cr_expect_eq(run_in(NULL, "sweep --vary M=1:2:1 ode --T 1", out, sizeof out, err, sizeof err), 2);
  cr_expect(strstr(err, "columns of the table depend on --M") != NULL, "%s", err);
  cr_expect_eq(run_in(NULL, "ode --M 2 --print-config", out, sizeof out, err, sizeof err), 0, "%s", err);
  rmdir(dir);
}

Test(options, missing_value_is_reported_as_such) {
  char out[8192], err[4096], dir[64];
  make_tmpdir(dir, sizeof dir);
  const struct {
    const char *args, *want;
  } cases[] = {
      {"ode --out --T 1", "--out: missing value"},
      {"simulate --T 0.1 --summary --out x.csv", "--summary: missing value"},
      {"fixed --vary --print-config", "--vary: missing value"},
      {"ode --tau", "--tau: missing value"},
      {"reproduce --out", "--out: missing value"},
      {"reproduce --out --quick", "--out: missing value"},
      {"sweep --vary", "--vary: missing value"},
      {"sweep --vary --shard 1/2 ode", "--vary: missing value"},
      {"plot --out --y cos_1_1 a.csv", "--out: missing value"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int st = run_in(dir, cases[i].args, out, sizeof out, err, sizeof err);
    cr_expect_eq(st, 2, "%s: exit %d (%s)", cases[i].args, st, err);
    cr_expect(strstr(err, cases[i].want) != NULL, "%s: '%s'", cases[i].args, err);
    cr_expect(strstr(err, "unknown option") == NULL, "%s: '%s'", cases[i].args, err);
  }
  /* nothing was written: no file named after the next option */
  DIR *d = opendir(dir);
  struct dirent *e;
  int n = 0;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
      n++;
      cr_expect_fail("left '%s'", e->d_name);
    }
  closedir(d);
  cr_expect_eq(n, 0);
  rmdir(dir);
  /* a value that starts with -- is still possible with '=', and a negative number is a value */
  cr_expect_eq(run_in(NULL, "ode --out=--T --print-config", out, sizeof out, err, sizeof err), 0, "%s", err);
  cr_expect(strstr(out, "out = --T\n") != NULL, "%s", out);
  cr_expect_eq(run_in(NULL, "ode --rho -0.5 --print-config", out, sizeof out, err, sizeof err), 0, "%s", err);
  cr_expect(strstr(out, "rho = -0.5\n") != NULL, "%s", out);
}

/* The table's defaults (shown by --help) are what a fresh configuration
 * holds, and every printed value reads back through the table unchanged. */
typedef struct {
  cl_config *cfg;
  int fails;
  const char *want_name;
  char got[4096];
  int count;
} visit_ctx;

static void find_value(void *p, const char *name, const char *value) {
  visit_ctx *c = p;
  if (strcmp(name, c->want_name) == 0 && c->count++ == 0) snprintf(c->got, sizeof c->got, "%s", value);
}

static void set_back(void *p, const char *name, const char *value) {
  visit_ctx *c = p;
  char err[CL_ERRLEN];
  if (cl_config_set(c->cfg, name, value, err)) {
    c->fails++;
    cr_expect_fail("%s = %s: %s", name, value, err);
  }
}

Test(options, defaults_and_round_trip_through_the_table) {
  static cl_config a, b;
  for (size_t c = 0; c < 6; c++) {
    cl_command cmd = cl_command_from_name(cmds[c]);
    cl_config_init(&a, cmd);
    char err[CL_ERRLEN];
    cr_assert_eq(cl_config_finish(&a, err), CL_OK, "%s", err);
    for (size_t i = 0; i < cl_noptions; i++) {
      const cl_optdesc *d = &cl_options[i];
      if (!(d->cmds & cmd) || !d->deflt) continue;
      visit_ctx v = {.want_name = d->name};
      cl_config_visit(&a, find_value, &v);
      if (!v.count) continue; /* not printed when unset (point, starts) */
      double x, y;
      int same = strcmp(v.got, d->deflt) == 0 ||
                 (cl_common_parse_real(v.got, &x) && cl_common_parse_real(d->deflt, &y) && x == y);
      cr_expect(same, "%s --%s: --help says default %s, a fresh config holds %s", cmds[c], d->name, d->deflt, v.got);
    }
    /* round trip: a busy configuration printed, read back option by option */
    cl_config_init(&a, cmd);
    const char *busy = cmd == CL_CMD_PDE
                           ? "--c gauss --c sparse:2:0.3 --tau 0.25 --rho -0.5 --R0 0.1;0.2 --quad-cf on --out o.csv"
                           : "--c gauss --c sparse:2:0.3 --tau 0.25 --rho -0.5 --out o.csv --act relu";
    cr_assert_eq(cl_config_parse_string(&a, cmd, busy, err), CL_OK, "%s: %s", cmds[c], err);
    cl_config_init(&b, cmd);
    visit_ctx v = {.cfg = &b};
    cl_config_visit(&a, set_back, &v);
    cr_assert_eq(cl_config_finish(&b, err), CL_OK, "%s", err);
    membuf ma, mb;
    mb_open(&ma), mb_open(&mb);
    cl_config_print(&a, ma.f), cl_config_print(&b, mb.f);
    fclose(ma.f), fclose(mb.f);
    cr_expect_str_eq(mb.buf, ma.buf, "%s: print-config does not read back", cmds[c]);
    free(ma.buf), free(mb.buf);
  }
}

/* Sweeps: the options that are neither varied nor part of a sweep's
 * fingerprint are the table's NOSWEEP rows, exactly the list sweeps had
 * before the table (so fingerprints of old outputs still match), and the
 * progress and config-file options (--progress, --quiet, --strict). */
Test(options, sweep_parameters_from_the_table) {
  const char *no[] = {"out",  "summary",   "threads", "checkpoint",  "checkpoint-every", "resume",  "config",
                      "print-config", "help", "vary", "threshold", "map", "density-out", "hist-out",
                      "progress", "quiet", "strict"};
  size_t nno = sizeof no / sizeof no[0], seen = 0;
  for (size_t i = 0; i < cl_noptions; i++) {
    if (!(cl_options[i].cmds & (CL_CMD_SIMULATE | CL_CMD_REDUCED | CL_CMD_ODE | CL_CMD_PDE | CL_CMD_FIXED | CL_CMD_BASIN)))
      continue; /* sweep's, plot's and reproduce's own */
    int listed = 0;
    for (size_t k = 0; k < nno; k++) listed |= !strcmp(no[k], cl_options[i].name);
    seen += listed;
    cr_expect_eq(cl_vary_name_ok(cl_options[i].name), !listed, "--%s", cl_options[i].name);
  }
  cr_expect_eq(seen, nno);
  cr_expect(cl_vary_name_ok("m2_1"));
}

/* One table (app/status.c): every parameter the library's messages name,
 * "NAME: ..." or "NAME/NAME: ..." at the start of a string in src/, is an
 * option's (its .param, or its name with '_' for '-'), unless it is a
 * command or one of the few subjects that are not parameters. */
Test(options, library_message_parameters_are_options) {
  static const char *const subjects[] = {"quadrature", "rng", "jacobian", "accepted"};
  DIR *dir = opendir("src");
  cr_assert_not_null(dir, "run from the top of the source tree");
  struct dirent *e;
  int found = 0;
  while ((e = readdir(dir))) {
    size_t len = strlen(e->d_name);
    if (len < 3 || strcmp(e->d_name + len - 2, ".c")) continue;
    char path[512];
    snprintf(path, sizeof path, "src/%s", e->d_name);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    char line[4096];
    for (int ln = 1; fgets(line, sizeof line, f); ln++)
      for (const char *q = strchr(line, '"'); q; q = strchr(q + 1, '"')) {
        const char *p = q + 1, *r = p;
        while (*r == '_' || *r == '/' || (*r >= 'a' && *r <= 'z') || (*r >= 'A' && *r <= 'Z') ||
               (r > p && *r >= '0' && *r <= '9'))
          r++;
        if (r == p || r[0] != ':' || r[1] != ' ') continue;
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(r - p), p);
        int other = cl_command_from_name(name) != 0;
        for (size_t k = 0; k < sizeof subjects / sizeof subjects[0]; k++) other |= !strcmp(name, subjects[k]);
        if (other) continue;
        found++;
        /* each '/'-separated part is a parameter with an option */
        for (const char *s = name; *s;) {
          size_t n = strcspn(s, "/");
          cr_expect_not_null(cl_option_of_param(s, n), "%s:%d: '%.*s' in \"%s: ...\" is no option's parameter", path,
                             ln, (int)n, s, name);
          s += n + (s[n] == '/');
        }
      }
    fclose(f);
  }
  closedir(dir);
  cr_assert_gt(found, 30, "only %d parameter messages found in src/", found);
}

/* The spellings the old hand-written table of app/status.c gave, now from
 * the option table; what is no option's parameter maps to nothing. */
Test(options, parameter_names_map_to_option_spellings) {
  static const char *const pairs[][2] = {
      {"dt_out", "dt-out"}, {"map_points", "map-points"}, {"hist", "hist-out"}, {"quad_gauss", "quad-gauss"},
      {"qmc_points", "qmc-points"}, {"tau", "tau"}, {"R0", "R0"}, {"features", "features"}, {"expect", "expect"},
      {"checkpoint", "checkpoint"}, {"resume", "resume"}, {"threshold", "threshold"}, {"point", "point"}};
  for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
    const char *o = cl_option_of_param(pairs[i][0], strlen(pairs[i][0]));
    cr_assert_not_null(o, "%s", pairs[i][0]);
    cr_expect_str_eq(o, pairs[i][1], "%s", pairs[i][0]);
  }
  /* plot's --x, sweep's --merge, an option's dashed spelling, a command */
  static const char *const none[] = {"x", "merge", "dt-out", "ode", "K", "tau_", "ta"};
  for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
    cr_expect_null(cl_option_of_param(none[i], strlen(none[i])), "%s", none[i]);
}

/* Per-command ranges of the table and the rules between options
 * (app/options.c, docs/cli.md s.7): exit 2 with the rule's one-line
 * message, before any work, and no file in the working directory. */
Test(options, ranges_and_rules_refuse_before_any_work) {
  static char out[65536];
  char err[4096], dir[64];
  const struct {
    const char *args, *msg;
  } cases[] = {
      {"reduced --reg l1:0.1", "cldyn: --reg: the reduced chain is exact only for l2 or none\n"},
      {"ode --reg elastic:0.1:0.2", "cldyn: --reg: the order-parameter ODEs close only for l2 or none (use pde)\n"},
      {"basin --c gauss --c gauss --reg l1:0.1", "cldyn: --reg: the order-parameter ODEs close only"},
      {"simulate --M 2 --hist-out h.csv", "cldyn: --hist-out: needs M = 1\n"},
      {"simulate --hist-out h.csv --checkpoint c.bin", "cldyn: --hist-out: cannot be combined with --checkpoint"},
      {"fixed --threshold lambda", "cldyn: --threshold lambda: needs --vary lambda=A:B:STEP (the range to scan)\n"},
      {"fixed --threshold lambda --vary tau=0.1:0.2:0.1", "cldyn: --threshold lambda: needs --vary lambda="},
      {"fixed --point 1", "cldyn: --point: only with --threshold NAME\n"},
      {"fixed --threshold --M 2", "cldyn: --threshold: needs M = 1\n"},
      {"fixed --terms --M 2", "cldyn: --terms: needs --M 1 (got 2)\n"},
      {"basin --M 2 --map m.csv", "cldyn: --map: needs M = 1\n"},
      {"basin --M 2 --B 2", "cldyn: --B: basin with M >= 2 needs B = 1\n"},
      {"basin --M 2 --g abs --lambda 1 --directions 2 --tmax 0.1",
       "cldyn: --g: basin with M >= 2 needs g = square where lambda != 0\n"},
      {"basin", "cldyn: --c: basin needs at least 2 features (K >= 2)\n"},
      {"basin --c gauss --c gauss --c gauss --map m.csv", "cldyn: --map: needs exactly K = 2 features\n"},
  };
  make_tmpdir(dir, sizeof dir);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char args[512];
    snprintf(args, sizeof args, "%s --out o.csv", cases[i].args);
    cr_expect_eq(run_in(dir, args, out, sizeof out, err, sizeof err), 2, "%s: %s", args, err);
    cr_expect(strncmp(err, cases[i].msg, strlen(cases[i].msg)) == 0 && strchr(err, '\n') == err + strlen(err) - 1,
              "%s: '%s', want '%s'", args, err, cases[i].msg);
    DIR *d = opendir(dir);
    cr_assert(d);
    struct dirent *e;
    while ((e = readdir(d)))
      cr_expect(e->d_name[0] == '.', "%s: left '%s'", args, e->d_name);
    closedir(d);
  }
  rmdir(dir);
  /* a rule is about what runs: --print-config prints the configuration */
  cr_expect_eq(run_in(NULL, "fixed --terms --M 2 --print-config", out, sizeof out, err, sizeof err), 0, "%s", err);
  cr_expect(strstr(out, "M = 2") != NULL, "%s", out);
  /* pde and simulate take any regularizer */
  cr_expect_eq(run_in(NULL, "pde --reg l1:0.1 --print-config", out, sizeof out, err, sizeof err), 0, "%s", err);
  cr_expect_eq(run_in(NULL, "simulate --reg elastic:0.1:0.2 --print-config", out, sizeof out, err, sizeof err), 0,
               "%s", err);
}
