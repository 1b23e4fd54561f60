/* Running the CLI in a private directory, for the CLI tests (test_ux.c,
 * test_harden.c): fork/exec, never a shell. */
#ifndef CLDYN_TEST_RUNIN_H
#define CLDYN_TEST_RUNIN_H

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/resource.h>

#include "testutil.h"

/* In a forked child: exec the CLI at bin with the NULL-terminated
 * arguments (at most 62); exit 127 if that fails. */
static inline void exec_cli(const char *bin, const char *const *args) {
  const char *av[64];
  int n = 0;
  av[n++] = bin;
  for (; args[n - 1] && n < 63; n++) av[n] = args[n - 1];
  av[n] = NULL;
  execv(bin, (char *const *)av);
  _exit(127);
}

/* Run the CLI with the NULL-terminated arguments in directory dir (NULL:
 * here), stdout to out_path (NULL: /dev/null; relative to dir), stderr
 * into errbuf (may be NULL); fsize >= 0 limits the size of the files the
 * child writes (RLIMIT_FSIZE, SIGXFSZ ignored).  Returns the exit status,
 * or 128 + signal. */
static inline int run_argv_in(const char *dir, const char *out_path, long fsize, char *errbuf, size_t errlen,
                              const char *const *args) {
  char bin[PATH_MAX];
  if (!realpath(cli_bin(), bin)) abort();
  char errfile[] = "/tmp/cldyn_stderr_XXXXXX";
  int efd = mkstemp(errfile);
  if (efd < 0) abort();
  pid_t pid = fork_child();
  if (pid == 0) {
    if (dir && chdir(dir) != 0) _exit(126);
    if (fsize >= 0) {
      struct rlimit rl = {(rlim_t)fsize, (rlim_t)fsize};
      signal(SIGXFSZ, SIG_IGN);
      if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(126);
    }
    int ofd = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int nul = open("/dev/null", O_RDONLY);
    dup2(nul, 0), dup2(ofd, 1), dup2(efd, 2);
    exec_cli(bin, args);
  }
  int st;
  waitpid(pid, &st, 0);
  if (errbuf) {
    ssize_t k = pread(efd, errbuf, errlen - 1, 0);
    errbuf[k > 0 ? k : 0] = '\0';
  }
  close(efd);
  unlink(errfile);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* `cldyn ARGS` in dir, ARGS printf-formatted and split at blanks into the
 * arguments (no quoting: the callers' lines have none), stdout to
 * dir/stdout, stderr into err. */
static inline int run_in(const char *dir, char *err, size_t errlen, const char *fmt, ...) {
  char line[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  const char *av[64];
  int n = 0;
  for (char *save = NULL, *w = strtok_r(line, " \t\n", &save); w && n < 63; w = strtok_r(NULL, " \t\n", &save))
    av[n++] = w;
  av[n] = NULL;
  return run_argv_in(dir, "stdout", -1, err, errlen, av);
}

/* dir/name exists (lstat: a dangling symbolic link counts) */
static inline int exists_in(const char *dir, const char *name) {
  char p[4096];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  struct stat sb;
  return lstat(p, &sb) == 0;
}

#endif
