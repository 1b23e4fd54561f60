/* libFuzzer target for the option and config-file parser (issue: hardening).
 * The input is used twice: split on whitespace into an argv for each
 * command, and as the text of a config file.  Any crash, leak or sanitizer
 * report is a bug; error returns are the expected outcome for most inputs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/app.h" /* the option parser is in the application layer */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 10000) return 0; /* over the 8190-byte line limit of config files */
  char *text = malloc(size + 1);
  memcpy(text, data, size);
  text[size] = '\0';
  /* argv from whitespace-separated tokens */
  char *copy = strdup(text), *argv[256], *save = NULL;
  int argc = 0;
  for (char *t = strtok_r(copy, " \t\n\r", &save); t && argc < 256; t = strtok_r(NULL, " \t\n\r", &save))
    argv[argc++] = t;
  const cl_command cmds[] = {CL_CMD_SIMULATE, CL_CMD_REDUCED, CL_CMD_ODE, CL_CMD_PDE, CL_CMD_FIXED, CL_CMD_BASIN};
  cl_config *cfg = malloc(sizeof *cfg);
  char err[CL_ERRLEN];
  for (int c = 0; c < (int)(sizeof cmds / sizeof cmds[0]); c++) {
    cl_config_init(cfg, cmds[c]);
    if (cl_config_parse_args(cfg, argc, argv, err) == CL_OK && !cfg->help) {
      FILE *devnull = fopen("/dev/null", "w");
      cl_config_print(cfg, devnull);
      fclose(devnull);
    }
  }
  /* the same bytes as a config file */
  char path[] = "/tmp/cldyn_fuzz_XXXXXX";
  int fd = mkstemp(path);
  if (fd >= 0) {
    if (write(fd, text, size) == (ssize_t)size) {
      cl_config_init(cfg, CL_CMD_SIMULATE);
      if (cl_config_read_file(cfg, path, err) == CL_OK) cl_config_finish(cfg, err);
    }
    close(fd);
    unlink(path);
  }
  /* and each token as a law, regularizer and activation spec */
  for (int i = 0; i < argc; i++) {
    cl_law law;
    cl_reg reg;
    cl_act act;
    if (cl_law_parse(argv[i], &law, err) == CL_OK) {
      char buf[2048];
      cl_law_format(&law, buf, sizeof buf);
    }
    cl_reg_parse(argv[i], &reg, err);
    cl_act_parse(argv[i], &act, err);
  }
  free(cfg);
  free(copy);
  free(text);
  return 0;
}
