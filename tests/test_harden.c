/* Hardening (issue 13): hostile names, corrupt files, clashing outputs,
 * signals, runaway runs, bad sweeps.  The CLI is run with fork/exec (never
 * a shell), in a private directory. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>

#include "testutil.h"

/* Run the CLI with the NULL-terminated arguments in directory dir (NULL:
 * here), stdout to out_path (NULL: /dev/null), stderr into errbuf.
 * Returns the exit status, or 128 + signal. */
static int run_in(const char *dir, const char *out_path, char *errbuf, size_t errlen, const char *const *args) {
  char bin[4096];
  if (!realpath(cli_bin(), bin)) abort();
  char errfile[] = "/tmp/cldyn_stderr_XXXXXX";
  int efd = mkstemp(errfile);
  if (efd < 0) abort();
  pid_t pid = fork();
  if (pid == 0) {
    if (dir && chdir(dir) != 0) _exit(126);
    int ofd = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int nul = open("/dev/null", O_RDONLY);
    dup2(nul, 0), dup2(ofd, 1), dup2(efd, 2);
    const char *av[64];
    int n = 0;
    av[n++] = bin;
    for (; args[n - 1] && n < 63; n++) av[n] = args[n - 1];
    av[n] = NULL;
    execv(bin, (char *const *)av);
    _exit(127);
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

#define RUN(dir, err, ...) run_in(dir, NULL, err, sizeof err, (const char *const[]){__VA_ARGS__, NULL})

static void write_file(const char *dir, const char *name, const char *text) {
  char p[4096];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  cr_assert_not_null(f, "cannot write %s", p);
  fputs(text, f);
  fclose(f);
}

static int exists_in(const char *dir, const char *name) {
  char p[4096];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  struct stat sb;
  return lstat(p, &sb) == 0;
}

static void rm_rf(const char *dir) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) abort();
}

static int have_gnuplot(void) { return system("command -v gnuplot >/dev/null 2>&1") == 0; }

/* ---- 1. plot never runs a shell, and gnuplot never runs a command ---- */

Test(harden, plot_hostile_names_run_nothing, .timeout = 60) {
  char dir[64], err[2048];
  make_tmpdir(dir, sizeof dir);
  const char *traj = "t,cos_1_1\n0,0.1\n1,0.2\n2,0.3\n";
  /* a trajectory file name, --out, and a column header chosen by --y */
  const char *fname = "pde.csv' skip 1 using 1:5 title 'a'; system \"touch X\"; print 'z";
  const char *col = "'; system \"touch X\"; set ylabel 'Y";
  write_file(dir, fname, traj);
  write_file(dir, "ok.csv", traj);
  char hdr[512];
  snprintf(hdr, sizeof hdr, "t,%s\n0,0.1\n1,0.2\n", col);
  write_file(dir, "col.csv", hdr);
  write_file(dir, "< touch X", traj);
  write_file(dir, "`touch X`@x.csv", traj);
  int gp = have_gnuplot();
  int rc = RUN(dir, err, "plot", "--out", "f1.png", fname);
  cr_expect(!exists_in(dir, "X"), "a hostile file name ran a command");
  if (gp) cr_expect(rc == 0 && exists_in(dir, "f1.png"), "rc %d: %s", rc, err);
  rc = RUN(dir, err, "plot", "--out", "a';touch X;'.png", "ok.csv");
  cr_expect(!exists_in(dir, "X"), "a hostile --out ran a command");
  if (gp) cr_expect(rc == 0 && exists_in(dir, "a';touch X;'.png"), "rc %d: %s", rc, err);
  rc = RUN(dir, err, "plot", "--out", "f3.png", "--y", col, "col.csv");
  cr_expect(!exists_in(dir, "X"), "a hostile column name ran a command");
  if (gp) cr_expect(rc == 0 && exists_in(dir, "f3.png"), "rc %d: %s", rc, err);
  rc = RUN(dir, err, "plot", "--out", "f4.png", "< touch X", "`touch X`@x.csv");
  cr_expect(!exists_in(dir, "X"), "gnuplot's '<' or backquote ran a command");
  if (gp) cr_expect(rc == 0 && exists_in(dir, "f4.png"), "rc %d: %s", rc, err);
  /* names that cannot be quoted: exit 2, no figure */
  write_file(dir, "nl\nsystem 'touch X'\n.csv", traj);
  cr_expect_eq(RUN(dir, err, "plot", "--out", "f5.png", "nl\nsystem 'touch X'\n.csv"), 2, "%s", err);
  cr_expect_eq(RUN(dir, err, "plot", "--out", "f6\n.png", "ok.csv"), 2, "%s", err);
  cr_expect(strstr(err, "--out") != NULL, "%s", err);
  cr_expect_eq(RUN(dir, err, "plot", "--out", "f7.png", "--y", "a\nb", "ok.csv"), 2, "%s", err);
  cr_expect(!exists_in(dir, "X") && !exists_in(dir, "f5.png") && !exists_in(dir, "f7.png"));
  rm_rf(dir);
}

/* Malformed density files: exit 2 with the file and line, no crash, no
 * figure, script or data left behind. */
Test(harden, plot_malformed_density_files, .timeout = 60) {
  char dir[64], err[2048];
  make_tmpdir(dir, sizeof dir);
  const char *rows[] = {"1e300,0,1,0.5,1", "-5,0,1,0.5,1", "1.5,0,1,0.5,1", "1,nan,1,0.5,1", "1,0,1,nan,1",
                        "1,0,1,inf,1",     "1,0,1,1e18,1", "1,0,1,0.5",     "1,0,1,0.5,1,7", "1,0,1,0.5,-1",
                        "1,0,1,0.5,x",     "1,0,1,1e-13,1\n1,0,1,1,1"};
  int held = 0;
  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
    char text[256];
    /* the last case: a lattice of 1e13 cells */
    snprintf(text, sizeof text, "run,t,xi,w,p\n1,0,1,0,1\n%s\n", rows[i]);
    write_file(dir, "bad.csv", text);
    int rc = RUN(dir, err, "plot", "--out", "b.png", "--density", "bad.csv");
    int ok = rc == 2 && strstr(err, "bad.csv") && !exists_in(dir, "b.png") && !exists_in(dir, "b.png.gp") &&
             !exists_in(dir, "b.png.dat");
    if (i < sizeof rows / sizeof *rows - 1) ok = ok && strstr(err, "line 3");
    cr_expect(ok, "row '%s': rc %d: %s", rows[i], rc, err);
    held += ok;
  }
  cr_expect_eq(held, (int)(sizeof rows / sizeof *rows));
  rm_rf(dir);
}
