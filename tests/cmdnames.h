/* tests/cmdnames.h - the commands a message names.  The library's messages
 * name none (the same code serves several commands); the CLI puts the
 * command that ran in front, once (docs/hardening.md s.8).  Shared by the
 * Criterion suite and the allocation-failure tests (tests/oom). */
#ifndef CLDYN_TESTS_CMDNAMES_H
#define CLDYN_TESTS_CMDNAMES_H

#include <string.h>

static const char *const cmdnames_all[] = {"simulate", "reduced", "ode", "pde", "fixed", "basin", "sweep", "reproduce"};

/* How often "CMD: " stands in msg at its start or after a space (a prefix
 * of the message or of a segment: "sweep: point 1: fixed: ..."). */
static int cmdnames_count(const char *msg, const char *cmd) {
  const size_t n = strlen(cmd);
  int k = 0;
  for (const char *p = strstr(msg, cmd); p; p = strstr(p + 1, cmd))
    k += (p == msg || p[-1] == ' ') && p[n] == ':' && p[n + 1] == ' ';
  return k;
}

/* The number of command prefixes in msg (0 for a library message), and in
 * *most the largest count of any one command (1 at most on the CLI). */
static int cmdnames_named(const char *msg, int *most) {
  int all = 0, top = 0;
  for (size_t i = 0; i < sizeof cmdnames_all / sizeof *cmdnames_all; i++) {
    const int k = cmdnames_count(msg, cmdnames_all[i]);
    all += k, top = k > top ? k : top;
  }
  if (most) *most = top;
  return all;
}

#endif
