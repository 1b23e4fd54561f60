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
  cr_assert_eq(system("tools/check-messages.py >/dev/null"), 0, "tools/check-messages.py found an option in src/");
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
