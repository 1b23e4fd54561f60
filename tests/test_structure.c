/* The two layers (docs/cli.md s.6): the library's status codes are not the
 * CLI's exit statuses; the application layer maps one to the other. */
#include <criterion/criterion.h>

#include "testutil.h"

Test(structure, exit_status_mapping) {
  cr_assert_eq(cl_status_exit_code(CL_OK), 0);
  cr_assert_eq(cl_status_exit_code(CL_EINVAL), 2);
  cr_assert_eq(cl_status_exit_code(CL_ENOMEM), 1);
  cr_assert_eq(cl_status_exit_code(CL_EIO), 1);
  cr_assert_eq(cl_status_exit_code(CL_EDIVERGE), 1);
  cr_assert_eq(cl_status_exit_code((cl_status)99), 1);
  /* the library's codes are distinct and none is an exit status by accident
   * of equality with the mapping (bad input is 1 in the library, 2 out) */
  cr_assert_neq((int)CL_EINVAL, cl_status_exit_code(CL_EINVAL));
}

/* The library names parameters; the CLI reports them with the option's
 * spelling, at the start of a message or of any ": "-separated segment. */
Test(structure, cli_message_spells_options) {
  char out[CL_ERRLEN];
  const struct {
    const char *lib, *cli;
  } cases[] = {
      {"tau: must be > 0 (got -1)", "--tau: must be > 0 (got -1)"},
      {"dt_out: must be > 0 (got 0)", "--dt-out: must be > 0 (got 0)"},
      {"rtol/atol: need rtol > 0 and atol >= 0", "--rtol/--atol: need rtol > 0 and atol >= 0"},
      {"sweep: point 3: c: unknown law 'x'", "sweep: point 3: --c: unknown law 'x'"},
      {"hist: needs M = 1", "--hist-out: needs M = 1"},
      {"--vary: lambda: must be >= 0 (got -1)", "--vary: --lambda: must be >= 0 (got -1)"},
      /* not parameters: left alone */
      {"simulate: run 1: cos_1_1 = -nan at t = 0.5", "simulate: run 1: cos_1_1 = -nan at t = 0.5"},
      {"tau/x: y", "tau/x: y"},
      {"tau:no space", "tau:no space"},
      {"", ""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    cr_expect_str_eq(cl_status_cli_message(cases[i].lib, out, sizeof out), cases[i].cli, "from '%s'", cases[i].lib);
  /* truncation keeps a NUL-terminated prefix */
  char small[8];
  cr_assert_str_eq(cl_status_cli_message("tau: must be > 0", small, sizeof small), "--tau: ");
}

/* The CLI's command in front of a library message keeps the message whole:
 * the library fills at most CL_ERRLEN bytes, and the time and parameters of
 * a blow-up come last.  A buffer with no room left cuts the end. */
Test(structure, command_in_front_keeps_the_message_whole) {
  char msg[CL_ERRLEN + CL_STATUS_CMDLEN], want[2 * CL_ERRLEN];
  memset(msg, 'x', CL_ERRLEN - 2);
  msg[CL_ERRLEN - 2] = ')', msg[CL_ERRLEN - 1] = '\0';
  snprintf(want, sizeof want, "reproduce: %s", msg);
  cl_status_name_command(msg, sizeof msg, "reproduce");
  cr_expect_str_eq(msg, want);
  char small[12] = "at t = 3";
  cl_status_name_command(small, sizeof small, "fixed");
  cr_expect_str_eq(small, "fixed: at t");
  char none[6] = "abc";
  cl_status_name_command(none, sizeof none, "fixed"); /* no room for the prefix: left alone */
  cr_expect_str_eq(none, "abc");
}

/* No string of the core library spells a CLI option (tools/check-messages.py). */
Test(structure, library_strings_name_no_option) {
  cr_assert_eq(system_child("exec tools/check-messages.py >/dev/null"), 0, "tools/check-messages.py found an option in src/");
}

/* What users see is unchanged: the message names the option, on one line. */
Test(structure, cli_messages_name_the_option) {
  const struct {
    const char *args, *want;
  } cases[] = {
      {"simulate --tau -1", "cldyn: --tau: must be > 0 (got -1)\n"},
      {"ode --dt-out 0", "cldyn: --dt-out: must be > 0 (got 0)\n"},
      {"simulate --c cauchy", "cldyn: --c: unknown law 'cauchy'; "},
      {"reduced --reg l1:0.1", "cldyn: --reg: the reduced chain is exact only for l2 or none\n"},
      {"ode --Q0 '1,0.5;0.4,1' --M 2", "cldyn: --Q0: must be symmetric (Q0_2_1 != Q0_1_2)\n"},
      {"simulate --R0 1,2,3", "cldyn: --R0: got a 1 x 3 list; "},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char err[1024];
    int rc = run_cli(cases[i].args, err, sizeof err);
    cr_expect_eq(rc, 2, "%s: exit %d", cases[i].args, rc);
    cr_expect(strncmp(err, cases[i].want, strlen(cases[i].want)) == 0, "%s: got '%s', want '%s'", cases[i].args,
              err, cases[i].want);
    cr_expect(strchr(err, '\n') == err + strlen(err) - 1, "%s: not one line: '%s'", cases[i].args, err);
  }
}

/* cl_status_fit (sweep's "sweep: point N: CMD: " in front of a library
 * message of up to CL_ERRLEN - 1 bytes): whole when it fits, else cut after
 * a whole word and marked "...", within the buffer. */
Test(structure, prefixed_message_is_cut_at_a_word_with_a_marker) {
  char out[CL_ERRLEN], msg[CL_ERRLEN];
  cl_status_fit(out, sizeof out, "sweep: point 3: ode: ", "short message");
  cr_expect_str_eq(out, "sweep: point 3: ode: short message");
  size_t n = 0;
  while (n + 8 < sizeof msg) n += (size_t)snprintf(msg + n, sizeof msg - n, "word%03zu ", n / 8);
  msg[n - 1] = '\0'; /* 63 words, CL_ERRLEN - 9 bytes */
  cl_status_fit(out, sizeof out, "sweep: point 3: ode: ", msg);
  const size_t L = strlen(out);
  cr_expect_leq(L, sizeof out - 1);
  cr_expect_str_eq(out + L - 3, "...", "%s", out + L - 10);
  cr_expect(L > 3 && out[L - 4] != ' ' && strncmp(out + 21, msg, L - 24) == 0 && msg[L - 24] == ' ',
            "not cut after a whole word: %s", out + L - 20);
  cr_expect_gt(L, sizeof out - 12, "cut too early: %zu", L);
  cl_status_fit(out, 8, "ab: ", "abcdefgh"); /* one word too long: cut in it */
  cr_expect_str_eq(out, "ab: ...");
}

/* The calls of system() and popen() in C text: comments, string and
 * character literals skipped; a call is the name (not part of a longer
 * identifier) then optional blanks and '('.  Each is reported with its
 * file and line (path NULL: not reported); returns how many. */
static int is_ident(char c) { return c == '_' || (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z'); }

static int direct_shell_calls(const char *path, const char *text) {
  static const char *const names[] = {"system", "popen"};
  int n = 0, line = 1;
  for (const char *p = text; *p; p++) {
    if (*p == '\n') line++;
    else if (p[0] == '/' && p[1] == '*') {
      for (p += 2; *p && !(p[0] == '*' && p[1] == '/'); p++) line += *p == '\n';
      if (!*p) break;
      p++;
    } else if (p[0] == '/' && p[1] == '/') {
      while (p[1] && p[1] != '\n') p++;
    } else if (*p == '"' || *p == '\'') {
      const char q = *p;
      for (p++; *p && *p != q; p++) {
        if (*p == '\\' && p[1]) p++;
        line += *p == '\n';
      }
      if (!*p) break;
    } else if (p == text || !is_ident(p[-1])) {
      for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        const size_t len = strlen(names[k]);
        const char *r = p + len;
        if (strncmp(p, names[k], len) != 0) continue;
        while (*r == ' ' || *r == '\t' || *r == '\n') r++;
        if (*r == '(') {
          if (path) cr_log_error("%s:%d: %s() called directly (use system_child / popen_child)", path, line, names[k]);
          n++;
        }
      }
    }
  }
  return n;
}

static int c_or_h(const char *name) {
  const size_t n = strlen(name);
  return n > 2 && name[n - 2] == '.' && (name[n - 1] == 'c' || name[n - 1] == 'h');
}

/* Every command a test starts goes through testutil.h's fork_child (its
 * helpers system_child, popen_child, rm_rf), so that it dies with a test
 * killed by its timeout (docs/hardening.md s.17): no direct system() or
 * popen() in the .c and .h files of tests/. */
Test(structure, tests_start_commands_through_fork_child) {
  const int nfiles = count_entries("tests", c_or_h);
  cr_assert_gt(nfiles, 40, "tests/ has %d .c/.h files: not the repository's root?", nfiles);
  DIR *d = opendir("tests");
  cr_assert_not_null(d);
  int calls = 0, scanned = 0, self = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!c_or_h(e->d_name)) continue;
    char path[512];
    snprintf(path, sizeof path, "tests/%s", e->d_name);
    char *text = slurp(path, NULL);
    cr_assert_not_null(text, "cannot read %s", path);
    calls += direct_shell_calls(path, text);
    self += strcmp(e->d_name, "testutil.h") == 0 && strstr(text, "fork_child()") != NULL;
    scanned++;
    free(text);
  }
  closedir(d);
  cr_assert_eq(scanned, nfiles);
  cr_expect(self, "testutil.h no longer starts its children through fork_child()");
  cr_expect_eq(calls, 0, "%d direct system()/popen() calls in tests/ (listed above)", calls);
  /* the scanner sees a call (and skips one in a comment or a string) */
  cr_expect_eq(direct_shell_calls(NULL, "int x = system (\"ls\"); /* popen(a) */ f(\"system(\");"), 1);
  cr_expect_eq(direct_shell_calls(NULL, "my_system(x); popen_child(c, &p); popen_x(y);"), 0);
}
