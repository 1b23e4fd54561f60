/* The CLI's exit statuses from the library's status codes (docs/cli.md s.6). */
#include "status.h"

#include <stdio.h>

int cl_exit_status(cl_status st) {
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

int cl_exit_msg(int code, const char *msg) {
  fprintf(stderr, "cldyn: %s\n", msg);
  return code;
}
