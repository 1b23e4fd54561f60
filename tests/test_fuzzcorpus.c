/* The fuzzers' regression corpus (docs/hardening.md s.9): every input in
 * tests/fuzz/TARGET (the crashers that fuzzing or the issue found, and the
 * seeds they came from) is replayed through the fuzz target's own entry
 * point, compiled here under another name.  A crash, a sanitizer report
 * (make test-asan) or a leak (LeakSanitizer, valgrind) fails the test.
 * Each target also gets a seeded stream of mutations of its corpus, so the
 * replay reaches more than the files themselves. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdint.h>

#include "testutil.h"

#define LLVMFuzzerTestOneInput cl_fuzz_config_one
#include "../fuzz/fuzz_config.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput cl_fuzz_ckpt_one
#include "../fuzz/fuzz_ckpt.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput cl_fuzz_csv_one
#include "../fuzz/fuzz_csv.c"
#undef LLVMFuzzerTestOneInput

#define CORPUS_DIR "tests/fuzz"

typedef int (*fuzz_fn)(const uint8_t *, size_t);

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static uint64_t lcg(uint64_t *s) {
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return *s >> 33;
}

/* Replay every file of tests/fuzz/TARGET (in name order), then `mutations`
 * seeded single-byte changes, insertions and cuts of them.  Returns the
 * number of files. */
static int replay(const char *target, fuzz_fn fn, int mutations) {
  char dir[256];
  snprintf(dir, sizeof dir, "%s/%s", CORPUS_DIR, target);
  DIR *d = opendir(dir);
  cr_assert_not_null(d, "%s: missing (run the tests from the repository's top directory)", dir);
  char *names[512];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 512)
    if (e->d_name[0] != '.') names[n++] = strdup(e->d_name);
  closedir(d);
  qsort(names, (size_t)n, sizeof *names, cmp_str);
  char *data[512];
  size_t len[512];
  for (int i = 0; i < n; i++) {
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, names[i]);
    data[i] = slurp(p, &len[i]);
    cr_assert_not_null(data[i], "cannot read %s", p);
    cr_log_info("%s: %s (%zu bytes)", target, names[i], len[i]);
    fn((const uint8_t *)data[i], len[i]);
  }
  uint64_t seed = 2024;
  for (int k = 0; k < mutations && n > 0; k++) {
    int i = (int)(lcg(&seed) % (uint64_t)n);
    size_t m = len[i] + 8;
    uint8_t *b = malloc(m);
    cr_assert_not_null(b);
    memcpy(b, data[i], len[i]);
    size_t sz = len[i];
    int edits = 1 + (int)(lcg(&seed) % 4);
    for (int j = 0; j < edits && sz > 0; j++) {
      size_t at = lcg(&seed) % sz;
      switch (lcg(&seed) % 4) {
        case 0: b[at] ^= (uint8_t)(1u << (lcg(&seed) % 8)); break;
        case 1: b[at] = (uint8_t)"0,.-e9\n\"#n="[lcg(&seed) % 11]; break;
        case 2: sz = at; break; /* cut */
        default:
          if (sz < m) memmove(b + at + 1, b + at, sz - at), b[at] = (uint8_t)(lcg(&seed) % 256), sz++;
      }
    }
    fn(b, sz);
    free(b);
  }
  for (int i = 0; i < n; i++) free(names[i]), free(data[i]);
  return n;
}

Test(fuzzcorpus, config, .timeout = 300) {
  cr_expect_gt(replay("fuzz_config", cl_fuzz_config_one, 200), 0);
}

Test(fuzzcorpus, checkpoint, .timeout = 300) {
  cr_expect_gt(replay("fuzz_ckpt", cl_fuzz_ckpt_one, 100), 0);
}

Test(fuzzcorpus, csv, .timeout = 300) {
  cr_expect_gt(replay("fuzz_csv", cl_fuzz_csv_one, 300), 0);
}

/* The checkpoint corpus, read as the CLI reads it (no crc repair): the one
 * valid file resumes, every forged or cut one is CL_EINVAL ("corrupt
 * checkpoint"), none crashes. */
Test(fuzzcorpus, checkpoint_outcomes, .timeout = 120) {
  DIR *d = opendir(CORPUS_DIR "/fuzz_ckpt");
  cr_assert_not_null(d);
  struct dirent *e;
  int n = 0;
  char err[CL_ERRLEN];
  cl_config c;
  cr_assert_eq(cl_config_parse_string(&c, CL_CMD_REDUCED, "--N 100 --T 0.5 --dt-out 0.25 --runs 2", err), CL_OK);
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char path[512];
    snprintf(path, sizeof path, "%s/fuzz_ckpt/%s", CORPUS_DIR, e->d_name);
    cl_ckpt_opts ck = {NULL, 0, path};
    cl_traj *tr = NULL;
    cl_status st = cl_runner_run(&cl_engine_reduced, &c.model, &c.sched, 1, &ck, &tr, NULL, NULL, err);
    if (!strcmp(e->d_name, "valid_final")) {
      cr_expect_eq(st, CL_OK, "%s: %s", e->d_name, err);
      if (!st) cr_expect(tr->runs == 2 && tr->nt == 3);
    } else {
      cr_expect_eq(st, CL_EINVAL, "%s: status %d", e->d_name, st);
      cr_expect(st != CL_EINVAL || strstr(err, "corrupt checkpoint"), "%s: %s", e->d_name, err);
    }
    if (!st) cl_traj_free(tr);
    n++;
  }
  closedir(d);
  cr_expect_geq(n, 10);
}
