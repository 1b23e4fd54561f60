/* The CLI's exit statuses from the library's status codes (docs/cli.md s.6). */
#include "status.h"
#include "options.h"

#include <stdio.h>
#include <string.h>

int cl_status_exit_code(cl_status st) {
  switch (st) {
    case CL_OK:
      return CL_EXIT_OK;
    case CL_EINVAL:
      return CL_EXIT_USAGE;
    case CL_ENOMEM:
    case CL_EIO:
    case CL_EDIVERGE:
    default:
      return CL_EXIT_FAILED;
  }
}

/* 1 if [p, p + n) is NAME or NAME/NAME/... of known parameters: the
 * library's parameter names are the option table's (cl_option_of_param),
 * so adding an option is one row there */
static int all_params(const char *p, size_t n) {
  while (n) {
    const char *slash = memchr(p, '/', n);
    size_t k = slash ? (size_t)(slash - p) : n;
    if (!k || !cl_option_of_param(p, k)) return 0;
    if (!slash) break;
    p += k + 1, n -= k + 1;
  }
  return 1;
}

char *cl_status_cli_message(const char *msg, char *out, size_t len) {
  size_t o = 0;
  const char *p = msg;
  if (!len) return out;
#define PUT(str, n)                                        \
  do {                                                     \
    size_t n_ = (n);                                       \
    if (n_ > len - 1 - o) n_ = len - 1 - o;                \
    memcpy(out + o, (str), n_), o += n_;                   \
  } while (0)
  for (;;) {
    const char *colon = strstr(p, ": ");
    size_t seg = colon ? (size_t)(colon - p) : strlen(p);
    if (colon && all_params(p, seg)) {
      /* NAME/NAME: -> --OPTION/--OPTION: */
      const char *q = p;
      while (q < colon) {
        const char *slash = memchr(q, '/', (size_t)(colon - q));
        size_t k = slash ? (size_t)(slash - q) : (size_t)(colon - q);
        const char *opt = cl_option_of_param(q, k);
        PUT("--", 2);
        PUT(opt, strlen(opt));
        if (slash) PUT("/", 1);
        q += k + (slash ? 1 : 0);
      }
    } else {
      PUT(p, seg);
    }
    if (!colon) break;
    PUT(": ", 2);
    p = colon + 2;
  }
#undef PUT
  out[o] = '\0';
  return out;
}

void cl_status_name_command(char *msg, size_t len, const char *cmd) {
  const size_t n = strlen(cmd) + 2;
  if (!len || n >= len) return;
  size_t m = strnlen(msg, len - 1);
  if (m > len - 1 - n) m = len - 1 - n;
  memmove(msg + n, msg, m);
  memcpy(msg, cmd, n - 2), memcpy(msg + n - 2, ": ", 2);
  msg[n + m] = '\0';
}

void cl_status_fit(char *out, size_t len, const char *prefix, const char *msg) {
  if (!len) return;
  const size_t np = strnlen(prefix, len - 1), room = len - 1 - np, m = strlen(msg);
  memmove(out, prefix, np);
  if (m <= room) {
    memcpy(out + np, msg, m + 1);
    return;
  }
  if (room < 3) {
    out[np] = '\0';
    return;
  }
  size_t cut = room - 3; /* msg[0, cut) then "...": the last space at or before cut */
  while (cut > 0 && msg[cut] != ' ') cut--;
  if (cut == 0) cut = room - 3;
  while (cut > 0 && msg[cut - 1] == ' ') cut--;
  memcpy(out + np, msg, cut);
  memcpy(out + np + cut, "...", 4);
}

int cl_status_exit_msg(int code, const char *msg) {
  char buf[2 * CL_ERRLEN];
  fprintf(stderr, "cldyn: %s\n", cl_status_cli_message(msg, buf, sizeof buf));
  return code;
}
