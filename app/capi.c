/* The FFI entry point (app/cldyn_capi.h): the CLI's main() as a function. */
#include "cldyn_capi.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"

/* app/main.c compiled with -Dmain=cl_cli_main -Disatty=cldyn_capi_isatty */
int cl_cli_main(int argc, char **argv);
int cldyn_capi_isatty(int fd);

/* Whether the CLI's progress lines are wanted: the one piece of state of
 * this glue, set for the duration of a cldyn_capi_run call. */
static int capi_progress;

int cldyn_capi_isatty(int fd) { return fd == 2 ? capi_progress : isatty(fd); }

const char *cldyn_capi_version(void) { return CL_VERSION; }

/* Point `fd` (with its stdio stream `f`) at `path`; the old descriptor is
 * kept in *saved.  Returns 0 or -1. */
static int redirect(FILE *f, int fd, const char *path, int *saved) {
  *saved = -1;
  if (!path) return 0;
  fflush(f);
  int nf = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (nf < 0) return -1;
  *saved = dup(fd);
  if (*saved < 0 || dup2(nf, fd) < 0) {
    close(nf);
    if (*saved >= 0) close(*saved);
    *saved = -1;
    return -1;
  }
  close(nf);
  return 0;
}

static void restore(FILE *f, int fd, int saved) {
  if (saved < 0) return;
  fflush(f);
  dup2(saved, fd);
  close(saved);
}

int cldyn_capi_run(int argc, const char *const *argv, const char *stdout_path,
                   const char *stderr_path, int progress) {
  if (argc < 1 || !argv) return -1;
  /* main() may keep pointers into argv: give it a private copy */
  char **av = calloc((size_t)argc + 1, sizeof(char *));
  if (!av) return -1;
  for (int i = 0; i < argc; i++) av[i] = (char *)argv[i];
  int so, se;
  if (redirect(stdout, 1, stdout_path, &so)) return free(av), -1;
  if (redirect(stderr, 2, stderr_path, &se)) return restore(stdout, 1, so), free(av), -1;
  capi_progress = progress != 0;
  int rc = cl_cli_main(argc, av);
  capi_progress = 0;
  restore(stderr, 2, se);
  restore(stdout, 1, so);
  free(av);
  return rc;
}
