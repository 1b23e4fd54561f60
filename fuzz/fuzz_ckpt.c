/* libFuzzer target for the checkpoint reader (simulate/reduced --resume).
 * The input is the checkpoint file; when its first byte is odd, its last 4
 * bytes are replaced by the right crc32, so that the fuzzer also reaches the
 * parser behind the checksum.  Any crash, leak or sanitizer report is a bug. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "app/app.h" /* the config parser, density and sweep readers are in the application layer */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 1 << 16) return 0;
  unsigned char *b = malloc(size + 1);
  memcpy(b, data, size);
  if (size > 8 && (b[0] & 1)) {
    uLong c = crc32(crc32(0, NULL, 0), b, (uInt)(size - 4));
    for (int k = 0; k < 4; k++) b[size - 4 + (size_t)k] = (unsigned char)(c >> (8 * k));
  }
  char path[] = "/tmp/cldyn_fuzzck_XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0 || write(fd, b, size) != (ssize_t)size) abort();
  close(fd);
  free(b);
  char err[CL_ERRLEN];
  cl_config c;
  const char *args[] = {"--N 100 --T 0.5 --dt-out 0.25 --runs 2", "--N 100 --T 0.5 --dt-out 0.25 --runs 1 --M 2 --B 2"};
  for (int k = 0; k < 2; k++) {
    if (cl_config_parse_string(&c, CL_CMD_REDUCED, args[k], err)) abort();
    cl_ckpt_opts ck = {NULL, 0, path};
    cl_traj *tr = NULL;
    if (cl_runner_run(k ? &cl_engine_simulate : &cl_engine_reduced, &c.model, &c.sched, 1, &ck, &tr, NULL, NULL,
                      err) == CL_OK)
      cl_traj_free(tr);
  }
  unlink(path);
  return 0;
}
