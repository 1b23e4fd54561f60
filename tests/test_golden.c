/* Golden outputs: the CSVs of the fixed commands in tests/golden/commands
 * must match the recorded ones (tests/golden/regen.sh wrote them) field by
 * field: text fields byte for byte, numbers to 1e-14 of max(1, |x|).  A
 * refactoring that changes a number beyond its last two digits fails here.
 * Not byte for byte: glibc's vector math (libmvec, which the optimised build
 * calls for tanh and exp) picks its AVX2 or AVX-512 kernels at run time, so
 * the last bits differ between CPUs.  Measured on two machines of the CI's
 * kind: the default `fixed` and `basin` runs differed by 1 ulp in cos = 0.9658
 * and by 1e-22 to 3e-16 in values that are zero to rounding (R = 2.2e-13,
 * cos = 1e-16), which a byte comparison failed.
 * Error estimates (columns named `eig_err_*`, fixed's per-eigenvalue error)
 * are compared to a quarter of their size instead: where a point's
 * eigenvalues are well resolved their error is the Jacobian check's rounding
 * (2.88e-9 in the optimised build, 2.81e-9 in the -O1 sanitizer build:
 * 2.5% apart, the same kind of change as libmvec's kernels between CPUs),
 * so its last digits are no property of the code; a quarter still catches
 * any change of how it is formed (docs/fixed-points.md s.2). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>

#include "testutil.h"

#define GOLDEN_DIR "tests/golden"

/* The golden bytes belong to the optimised build: the sanitizer build
 * (-O1) does not vectorise the libmvec loops and differs in the last digits.
 * `make test-asan` passes the plain build as CLDYN_PLAIN_BIN. */
static const char *golden_bin(void) {
  const char *plain = getenv("CLDYN_PLAIN_BIN");
  return plain && *plain ? plain : cli_bin();
}

/* Run the CLI with the space-separated ARGS (no shell: `;` and `@` stay
 * literal), `{out}` replaced by dir; returns the exit status. */
static int run_golden(const char *line, const char *dir) {
  char buf[2048];
  size_t n = 0;
  for (const char *p = line; *p && n + 64 < sizeof buf; p++) {
    if (strncmp(p, "{out}", 5) == 0) {
      n += (size_t)snprintf(buf + n, sizeof buf - n, "%s", dir);
      p += 4;
    } else {
      buf[n++] = *p;
    }
  }
  buf[n] = '\0';
  char *argv[64];
  int argc = 0;
  argv[argc++] = (char *)golden_bin();
  for (char *tok = strtok(buf, " \n"); tok && argc < 63; tok = strtok(NULL, " \n")) argv[argc++] = tok;
  argv[argc] = NULL;
  pid_t pid = fork_child();
  if (pid < 0) return -1;
  if (pid == 0) {
    FILE *null = freopen("/dev/null", "w", stdout);
    (void)null;
    execv(argv[0], argv);
    _exit(127);
  }
  int st;
  if (waitpid(pid, &st, 0) != pid) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int is_csv(const char *name) {
  size_t len = strlen(name);
  return len > 4 && strcmp(name + len - 4, ".csv") == 0;
}

/* 0 if the two CSV texts match field by field (text exactly, numbers to
 * 1e-14 of max(1, |x|), error estimates to a quarter: see the head of
 * this file), else the first line
 * that does not, with the two fields in why. */
static int fields_match(const char *a, const char *b, char *why, size_t nwhy) {
  int line = 1, col = 0;
  unsigned long long est = 0; /* the header's error-estimate columns (the first 64) */
  for (;;) {
    size_t la = strcspn(a, ",\n"), lb = strcspn(b, ",\n");
    if (line == 1 && col < 64 && la > 8 && strncmp(a, "eig_err_", 8) == 0) est |= 1ULL << col;
    if (la != lb || strncmp(a, b, la) != 0) {
      char *ea, *eb;
      double x = strtod(a, &ea), y = strtod(b, &eb);
      const int num = la > 0 && lb > 0 && ea == a + la && eb == b + lb;
      const double tol = line > 1 && col < 64 && (est >> col & 1) ? 0.25 * fmax(fabs(x), fabs(y))
                                                                  : 1e-14 * fmax(1, fmax(fabs(x), fabs(y)));
      if (!num || !(fabs(x - y) <= tol)) {
        snprintf(why, nwhy, "\"%.*s\" against \"%.*s\"", (int)(la < 80 ? la : 80), a, (int)(lb < 80 ? lb : 80), b);
        return line;
      }
    }
    if (a[la] != b[lb]) return snprintf(why, nwhy, "a different number of fields"), line;
    if (a[la] == '\0') return 0;
    if (a[la] == '\n') line++, col = 0;
    else col++;
    a += la + 1, b += lb + 1;
  }
}

Test(golden, cli_outputs_match_the_recorded_ones, .timeout = 120) {
  char dir[64];
  make_tmpdir(dir, sizeof dir);
  FILE *f = fopen(GOLDEN_DIR "/commands", "r");
  cr_assert(f != NULL, "cannot open " GOLDEN_DIR "/commands (run from the repository root)");
  char line[2048];
  int ncmd = 0;
  while (fgets(line, sizeof line, f)) {
    if (line[0] == '#' || line[0] == '\n') continue;
    int st = run_golden(line, dir);
    cr_expect_eq(st, 0, "exit %d: %s", st, line);
    ncmd++;
  }
  fclose(f);
  cr_assert_geq(ncmd, 7);

  int ngolden = 0;
  DIR *d = opendir(GOLDEN_DIR);
  cr_assert(d != NULL);
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!is_csv(e->d_name)) continue;
    ngolden++;
    char want_path[512], got_path[512];
    snprintf(want_path, sizeof want_path, GOLDEN_DIR "/%s", e->d_name);
    snprintf(got_path, sizeof got_path, "%s/%s", dir, e->d_name);
    size_t nwant, ngot;
    char *want = slurp(want_path, &nwant), *got = slurp(got_path, &ngot);
    cr_expect(got != NULL, "%s was not written", got_path);
    if (want && got) {
      char why[256] = "";
      int line = fields_match(want, got, why, sizeof why);
      cr_expect(line == 0, "%s differs from the golden file at line %d: %s", e->d_name, line, why);
    }
    free(want);
    free(got);
  }
  closedir(d);
  cr_expect_geq(ngolden, 8, "golden CSVs missing from " GOLDEN_DIR);
  cr_expect_eq(count_entries(dir, is_csv), ngolden, "the commands wrote CSVs that have no golden file");
  rm_rf(dir);
}
