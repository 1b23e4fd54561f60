/* Helpers for the tests of the reproduce report's sections (test_findings.c,
 * test_beyond.c): a fresh directory with report.md open, the report's text
 * after the section wrote it, and checks of its lines and files. */
#ifndef CLDYN_REPORTUTIL_H
#define CLDYN_REPORTUTIL_H

#include <criterion/criterion.h>

#include "testutil.h"

/* A fresh directory (dir, 64 bytes) and its report.md open for writing. */
static inline FILE *report_begin(char *dir) {
  char path[256];
  make_tmpdir(dir, 64);
  snprintf(path, sizeof path, "%s/report.md", dir);
  FILE *rep = fopen(path, "w");
  cr_assert_not_null(rep);
  return rep;
}

/* Close the report the section wrote (status st, message err) and return
 * its text (caller frees); fails the test unless st is CL_OK. */
static inline char *report_end(const char *dir, FILE *rep, cl_status st, const char *err) {
  char path[256];
  fclose(rep);
  cr_assert_eq(st, CL_OK, "%s", err);
  snprintf(path, sizeof path, "%s/report.md", dir);
  char *txt = slurp(path, NULL);
  cr_assert_not_null(txt);
  return txt;
}

/* Every line of must[] is in the report, every file of files[] in dir. */
static inline void report_expect(const char *dir, const char *txt, const char *const *must, size_t nmust,
                                 const char *const *files, size_t nfiles) {
  for (size_t i = 0; i < nmust; i++) cr_expect(strstr(txt, must[i]) != NULL, "report lacks: %s", must[i]);
  for (size_t i = 0; i < nfiles; i++) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    cr_expect(file_exists(path), "missing %s", files[i]);
  }
}

/* Open dir/name for reading, past its header line. */
static inline FILE *report_csv(const char *dir, const char *name) {
  char path[256], line[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f, "cannot read %s", name);
  cr_assert(fgets(line, sizeof line, f) != NULL, "%s is empty", name);
  return f;
}

#define NELEM(a) (sizeof(a) / sizeof *(a))

#endif
