/* libFuzzer target for every CSV reader: density files (plot --density,
 * --hist), sweep outputs (--merge, and --resume's scan of an old output).
 * The input is the file's text.  Any crash, leak or sanitizer report is a
 * bug; CL_EINVAL is the expected outcome for most inputs. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/app.h" /* the config parser, density and sweep readers are in the application layer */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 1 << 16) return 0;
  char path[] = "/tmp/cldyn_fuzzcsv_XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0 || write(fd, data, size) != (ssize_t)size) abort();
  close(fd);
  char err[CL_ERRLEN];
  /* density files, at the last time and at t = 1 */
  for (int k = 0; k < 2; k++) {
    cl_dens_set s;
    if (cl_dens_read(path, k ? 1.0 : NAN, &s, err) == CL_OK) {
      for (int i = 0; i < s.ncls; i++) (void)cl_dens_l1(&s.c[i], &s.c[i], 0.05);
      cl_dens_free(&s);
    }
  }
  /* a sweep output: merged with itself and alone, and scanned for --resume */
  cl_sweep_id id = {"0123456789abcdef", 6, (long)(size % 3), 0, 1};
  FILE *out = fopen("/dev/null", "w");
  char *paths[2] = {path, path};
  cl_sweep_id ids[2] = {id, id};
  (void)cl_sweep_merge(paths, ids, 1, &id, out, err);
  (void)cl_sweep_merge(paths, ids, 2, &id, out, err);
  long *done = NULL, ndone = 0;
  if (cl_sweep_scan_done(path, &id, &done, &ndone, out, err) == CL_OK) free(done);
  fclose(out);
  unlink(path);
  return 0;
}
