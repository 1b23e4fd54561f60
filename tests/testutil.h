/* Shared helpers for the Criterion tests. */
#ifndef CLDYN_TESTUTIL_H
#define CLDYN_TESTUTIL_H

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app/app.h" /* the core library and the application layer */

/* Path of the CLI under test (set by the Makefile). */
static inline const char *cli_bin(void) {
  const char *b = getenv("CLDYN_BIN");
  return b ? b : "build/cldyn";
}

/* fork() for every child a test starts (the CLI, a helper): the child is
 * sent SIGKILL when the test's process dies (a Criterion timeout kills the
 * worker, which would leave a CLI run going), and exits at once (126) if
 * the test died before the child could ask for that.  The signal survives
 * the child's exec. */
static inline pid_t fork_child(void) {
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0 && (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)) _exit(126);
  return pid;
}

/* Start `sh -c cmd` through fork_child, its stdout onto the descriptor
 * out (-1: the test's); returns the child's pid (-1: fork failed).  The
 * shell dies with the test; a command it starts does too only when cmd
 * execs it ("exec ..."): a pipeline, list or script leaves the shell's own
 * children without the death signal (docs/hardening.md s.17); run those
 * through script_child. */
static inline pid_t spawn_child(const char *cmd, int out) {
  const pid_t pid = fork_child();
  if (pid == 0) {
    if (out >= 0 && out != STDOUT_FILENO && dup2(out, STDOUT_FILENO) < 0) _exit(127);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  return pid;
}

/* Wait for the child pid; its wait status (-1: no such child). */
static inline int wait_child(pid_t pid) {
  int st;
  if (pid < 0) return -1;
  for (;;) {
    const pid_t w = waitpid(pid, &st, 0);
    if (w == pid) return st;
    if (w < 0 && errno != EINTR) return -1;
  }
}

/* system(cmd) through fork_child: `sh -c cmd`; the wait status. */
static inline int system_child(const char *cmd) { return wait_child(spawn_child(cmd, -1)); }

/* The guard of script_child, on its death signal (the test died): the
 * script's process group goes, the guard with it. */
static inline void script_guard_on_death(int sig) {
  (void)sig;
  kill(0, SIGKILL);
  _exit(126);
}

/* system_child for a shell script (lists, loops, pipelines, mpirun), whose
 * commands the test's death must take too (docs/hardening.md s.17): a
 * guard started through fork_child leads a process group of its own, asks
 * for SIGTERM (caught) instead of SIGKILL when the test dies, and runs
 * `sh -c cmd` in that group with stdin from /dev/null (a background group
 * reading a terminal would stop); on the signal it kills the whole group
 * with SIGKILL.  Else it exits with the shell's exit status (128 + signal
 * if the shell was killed).  The wait status. */
static inline int script_child(const char *cmd) {
  const pid_t guard = fork_child();
  if (guard == 0) {
    const pid_t test = getppid();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = script_guard_on_death;
    sigfillset(&sa.sa_mask);
    const int nul = open("/dev/null", O_RDONLY);
    if (nul < 0 || dup2(nul, STDIN_FILENO) < 0 || setpgid(0, 0) != 0 || sigaction(SIGTERM, &sa, NULL) != 0 ||
        prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != test)
      _exit(126);
    const int st = wait_child(spawn_child(cmd, -1));
    _exit(st < 0 ? 126 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
  }
  return wait_child(guard);
}

/* popen(cmd, "r") through fork_child: the read end of a pipe from the
 * stdout of `sh -c cmd`, its pid in *pid; NULL on failure.  Close with
 * pclose_child. */
static inline FILE *popen_child(const char *cmd, pid_t *pid) {
  int fd[2];
  *pid = -1;
  if (pipe2(fd, O_CLOEXEC) != 0) return NULL; /* neither end leaks into the child's exec */
  *pid = spawn_child(cmd, fd[1]);
  close(fd[1]);
  FILE *f = *pid < 0 ? NULL : fdopen(fd[0], "r");
  if (!f) {
    close(fd[0]);
    wait_child(*pid);
    *pid = -1;
  }
  return f;
}

/* pclose() for popen_child: closes f, waits for the command; its wait
 * status (-1: failure). */
static inline int pclose_child(FILE *f, pid_t pid) {
  const int closed = fclose(f);
  const int st = wait_child(pid);
  return closed == 0 ? st : -1;
}

/* A fresh private directory for the test's files. */
static inline void make_tmpdir(char *dir, size_t len) {
  snprintf(dir, len, "/tmp/cldyn_test_XXXXXX");
  if (!mkdtemp(dir)) abort();
}

/* Remove a test's directory (make_tmpdir) and all in it; a failure fails
 * the test. */
static inline void rm_rf(const char *dir) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "exec rm -rf '%s'", dir);
  cr_expect_eq(system_child(cmd), 0, "%s", cmd);
}

/* Run `cldyn ARGS`, stderr captured into errbuf; returns the exit status. */
static inline int run_cli(const char *args, char *errbuf, size_t errlen) {
  char errfile[] = "/tmp/cldyn_stderr_XXXXXX";
  int fd = mkstemp(errfile);
  if (fd < 0) abort();
  close(fd);
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "exec %s %s >/dev/null 2>%s </dev/null", cli_bin(), args, errfile);
  int st = system_child(cmd); /* exec: the CLI itself dies with the test */
  if (errbuf) {
    FILE *f = fopen(errfile, "r");
    size_t n = f ? fread(errbuf, 1, errlen - 1, f) : 0;
    errbuf[n] = '\0';
    if (f) fclose(f);
  }
  unlink(errfile);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static inline int file_exists(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0;
}

/* Bad input is refused (README: a one-line error, exit status 2):
 * `cldyn ARGS` exits with status 2, its stderr is one line (ending in its
 * only newline) that contains each of the NULL-terminated strings `names`,
 * and no file is left at `out` (NULL: not checked).  Each failure is a
 * Criterion expectation that quotes ARGS and the message; returns 1 if all
 * held (so that a caller can stop the test: cr_assert(CLI_REFUSES(...))). */
static inline int cli_refuses(const char *args, const char *out, const char *const *names) {
  char err[4096];
  const int rc = run_cli(args, err, sizeof err);
  const size_t len = strlen(err);
  const int one_line = len > 0 && strchr(err, '\n') == err + len - 1, wrote = out && file_exists(out);
  int named = 1;
  cr_expect_eq(rc, 2, "%s: exit status %d: %s", args, rc, err);
  cr_expect(one_line, "%s: not one line: %s", args, err);
  for (int k = 0; names[k]; k++)
    if (!strstr(err, names[k])) {
      named = 0;
      cr_expect_fail("%s: the message does not name '%s': %s", args, names[k], err);
    }
  cr_expect(!wrote, "%s: wrote %s", args, out ? out : ""); /* (wrote implies out; gcc -O3 does not see it) */
  return rc == 2 && one_line && named && !wrote;
}
/* CLI_REFUSES(args, out, "name", ...): cli_refuses with the names listed. */
#define CLI_REFUSES(args, out, ...) cli_refuses(args, out, (const char *const[]){__VA_ARGS__, NULL})

/* Read a whole file; caller frees. */
static inline char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (len) *len = 0;
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  size_t got = fread(buf, 1, (size_t)n, f);
  buf[got] = '\0';
  fclose(f);
  if (len) *len = got;
  return buf;
}

/* The entries of dir whose names keep accepts (keep NULL: the names not
 * starting with '.'); asserts that dir opens. */
static inline int count_entries(const char *dir, int (*keep)(const char *name)) {
  DIR *d = opendir(dir);
  cr_assert(d != NULL, "cannot open %s", dir);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    n += keep ? keep(e->d_name) != 0 : e->d_name[0] != '.';
  closedir(d);
  return n;
}

/* Parse space-separated options for `cmd` into cfg; returns the status and
 * leaves the message in err. */
#ifdef CLDYN_CLDYN_H
static inline cl_status cfg_from_args(cl_config *cfg, cl_command cmd, const char *args, char *err) {
  return cl_config_parse_string(cfg, cmd, args, err);
}

/* The JSON beside the output `csv` (csv.json) has a "method" field
 * containing both a and b (Criterion expectations). */
static inline void expect_json_method(const char *csv, const char *a, const char *b) {
  char jp[400];
  snprintf(jp, sizeof jp, "%s.json", csv);
  char *js = slurp(jp, NULL);
  cr_assert_not_null(js, "%s", jp);
  const char *mt = strstr(js, "\"method\"");
  cr_expect(mt && strstr(mt, a) && strstr(mt, b), "%s", js);
  free(js);
  remove(jp);
}

/* `cldyn ode ARGS --out FILE` in a fresh directory (removed after): exit
 * 0 and, with want, the method line and the JSON `method` field name
 * `method` and the trajectory bound; without, the method line does not
 * name it (tests/test_grid3.c, tests/test_grid4.c). */
static inline void ode_method_is(const char *args, const char *method, int want) {
  char dir[] = "/tmp/cldyn_method_XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char cmd[2048], path[300], jp[320], eb[8192];
  snprintf(path, sizeof path, "%s/a.csv", dir);
  snprintf(cmd, sizeof cmd, "ode %s --out %s", args, path);
  cr_assert_eq(run_cli(cmd, eb, sizeof eb), 0, "%s: %s", cmd, eb);
  if (want) {
    cr_expect(strstr(eb, method) && strstr(eb, "trajectory error bound"), "%s: %s", cmd, eb);
    expect_json_method(path, method, "trajectory error bound");
  } else
    cr_expect(!strstr(eb, method), "%s: the method is not '%s': %s", cmd, method, eb);
  snprintf(jp, sizeof jp, "%s.json", path);
  remove(jp), remove(path), rmdir(dir);
}

/* The state (R: K x m, Q: m x m, row-major) of m units as the first m of M
 * units, the others dead (zero columns of R and rows of Q): the embedding
 * of docs/fixed-points.md (tests/test_grid3.c, tests/test_grid4.c). */
static inline void embed_units(int K, int m, int M, const double *R, const double *Q, double *RM, double *QM) {
  for (int j = 0; j < K; j++)
    for (int i = 0; i < M; i++) RM[j * M + i] = i < m ? R[j * m + i] : 0;
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) QM[i * M + l] = i < m && l < m ? Q[i * m + l] : 0;
}
/* Every component of the drift dM (dR then dQ) of M units against the
 * drift dm of m units embedded so (the others' components 0), within tol
 * (a Criterion expectation each, named by what); returns the largest
 * distance. */
static inline double embedded_distance(int K, int m, int M, const double *dm, const double *dM, double tol,
                                       const char *what) {
  double R[CL_KMAX * CL_MMAX], Q[CL_MMAX * CL_MMAX], worst = 0;
  embed_units(K, m, M, dm, dm + K * m, R, Q);
  for (int k = 0; k < K * M + M * M; k++) {
    const double a = dM[k], b = k < K * M ? R[k] : Q[k - K * M];
    worst = fmax(worst, fabs(a - b));
    cr_expect_leq(fabs(a - b), tol, "%s: component %d: %.15g vs %d units %.15g", what, k, a, m, b);
  }
  return worst;
}

/* The model of `ode ARGS` (asserted to parse). */
static inline cl_model model_of(const char *args) {
  cl_config cfg;
  char err[CL_ERRLEN];
  cr_assert_eq(cfg_from_args(&cfg, CL_CMD_ODE, args, err), CL_OK, "%s: %s", args, err);
  return cfg.model;
}
#endif

/* nth threads for the drift engines: they use threads only when
 * OMP_NUM_THREADS is set (cl_drift_threads, cl_drift_threads_tasks) */
static inline void set_threads(int nth) {
  char v[16];
  snprintf(v, sizeof v, "%d", nth);
  setenv("OMP_NUM_THREADS", v, 1);
  omp_set_num_threads(nth);
}

#endif
