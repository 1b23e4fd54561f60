/* The option table (app/options.c, docs/cli.md s.6): a regression record of
 * every command's --help, --print-config and messages, taken before the
 * table replaced the hand-written chains, and the table's own promises
 * (did-you-mean, per-command ranges and notes, missing values).
 *
 * Regression record: CLDYN_RECORD=1 build/cldyn_tests --filter 'options/ANY'
 * (ANY a star) rewrites the .txt files of tests/options/ from the current build; review the diff. */
#include <criterion/criterion.h>

#include "testutil.h"

static const char *const cmds[] = {"simulate", "reduced", "ode", "pde", "fixed", "basin"};

/* Every option name the CLI knew when the record was taken, and a few
 * unknown ones.  Deliberately not read from the table under test. */
static const char *const names[] = {
    "N", "M", "c", "features", "act", "g", "lambda", "reg", "tau", "s", "rho", "B", "init", "R0", "Q0", "T",
    "dt-out", "runs", "seed", "out", "summary", "threads", "rtol", "atol", "stepper", "quad-gauss", "quad-law",
    "quad-mgrid", "quad-cf", "mc-points", "expect", "qmc-points", "cells", "dt", "density-out", "hist-out",
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
    fprintf(out, "%d %s\n", (int)st, err);
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
    snprintf(cmd, sizeof cmd, "%s %s >%s 2>%s </dev/null", cli_bin(), cli_cases[i], o, e);
    int st = system(cmd);
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
