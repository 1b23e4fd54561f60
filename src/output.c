/* Atomic result files and JSON sidecars (INTERFACE.md "Output"). */
#include "cldyn/output.h"
#include "cldyn/tmpfiles.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

cl_status cl_out_open(cl_outfile *o, const char *path, const char *option, char *err) {
  memset(o, 0, sizeof *o);
  if (strcmp(path, "-") == 0) {
    o->f = stdout;
    o->is_stdout = 1;
    return CL_OK;
  }
  snprintf(o->path, sizeof o->path, "%s", path);
  /* An existing device or pipe (/dev/null, a FIFO), and anything under
   * /dev or /proc (/dev/stdout may lead to a regular file), is written in
   * place, like stdout: renaming a temporary file onto it would replace the
   * node itself (as root) instead of writing to it. */
  struct stat sb;
  int special = strncmp(path, "/dev/", 5) == 0 || strncmp(path, "/proc/", 6) == 0;
  if (stat(path, &sb) == 0 && (special || (!S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode)))) {
    if (!(o->f = fopen(path, "a")))
      return cl_fail(err, CL_EIO, "--%s: cannot write '%s': %s", option, path, strerror(errno));
    o->is_stdout = o->is_device = 1;
    return CL_OK;
  }
  snprintf(o->tmp, sizeof o->tmp, "%s.tmp.XXXXXX", path);
  int fd = mkstemp(o->tmp);
  if (fd < 0 || !(o->f = fdopen(fd, "w"))) {
    int e = errno;
    if (fd >= 0) close(fd), unlink(o->tmp);
    return cl_fail(err, CL_EIO, "--%s: cannot write '%s': %s", option, path, strerror(e));
  }
  cl_tmp_register(o->tmp);
  return CL_OK;
}

cl_status cl_out_commit(cl_outfile *o, char *err) {
  if (o->is_device) {
    int bad = fclose(o->f) != 0;
    o->f = NULL;
    return bad ? cl_fail(err, CL_EIO, "cannot write '%s'", o->path) : CL_OK;
  }
  if (o->is_stdout) return fflush(stdout) ? cl_fail(err, CL_EIO, "cannot write stdout") : CL_OK;
  int bad = fflush(o->f) != 0 || ferror(o->f) || fsync(fileno(o->f)) != 0;
  bad |= fclose(o->f) != 0;
  o->f = NULL;
  /* mkstemp creates 0600: give the result the usual permissions */
  mode_t mask = umask(0);
  umask(mask);
  if (!bad) bad = chmod(o->tmp, 0666 & ~mask) != 0;
  if (bad || rename(o->tmp, o->path) != 0) {
    int e = errno;
    unlink(o->tmp);
    cl_tmp_unregister(o->tmp);
    return cl_fail(err, CL_EIO, "cannot write '%s': %s", o->path, strerror(e));
  }
  cl_tmp_unregister(o->tmp);
  return CL_OK;
}

void cl_out_abort(cl_outfile *o) {
  if (o->is_device && o->f) fclose(o->f), o->f = NULL;
  if (o->is_stdout || !o->f) return;
  fclose(o->f);
  unlink(o->tmp);
  cl_tmp_unregister(o->tmp);
  o->f = NULL;
}

/* A value that reads fully as a number is stored as a JSON number. */
static json_t *typed(const char *v) {
  long long n;
  double x;
  if (cl_parse_int(v, &n) && strchr(v, '.') == NULL && strchr(v, 'e') == NULL)
    return json_integer(n);
  if (cl_parse_real(v, &x)) return json_real(x);
  return json_string(v);
}

static void add_param(void *ctx, const char *name, const char *value) {
  json_t *params = ctx, *old = json_object_get(params, name);
  if (strcmp(name, "c") == 0) {
    if (!old) json_object_set_new(params, name, old = json_array());
    json_array_append_new(old, json_string(value));
  } else {
    json_object_set_new(params, name, typed(value));
  }
}

cl_status cl_meta_write(const char *path, const cl_config *cfg, int argc, char **argv,
                        double wall_seconds, const char *const *extra_kv, char *err) {
  json_t *root = json_object(), *args = json_array(), *params = json_object();
  for (int i = 0; i < argc; i++) json_array_append_new(args, json_string(argv[i]));
  cl_config_visit(cfg, add_param, params);
  char stamp[64];
  time_t now = time(NULL);
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
  json_object_set_new(root, "program", json_string("cldyn"));
  json_object_set_new(root, "version", json_string(CL_VERSION));
  json_object_set_new(root, "command", json_string(cl_command_name(cfg->cmd)));
  json_object_set_new(root, "argv", args);
  json_object_set_new(root, "parameters", params);
  json_object_set_new(root, "seed", json_integer((json_int_t)cfg->sched.seed));
  json_object_set_new(root, "wall_time_s", json_real(wall_seconds));
  json_object_set_new(root, "finished_utc", json_string(stamp));
  for (int i = 0; extra_kv && extra_kv[i] && extra_kv[i + 1]; i += 2)
    json_object_set_new(root, extra_kv[i], json_string(extra_kv[i + 1]));
  char jpath[CL_PATHLEN + 8];
  snprintf(jpath, sizeof jpath, "%s.json", path);
  cl_outfile o;
  cl_status st = cl_out_open(&o, jpath, "out", err);
  if (!st) {
    if (json_dumpf(root, o.f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
      cl_out_abort(&o);
      st = cl_fail(err, CL_EIO, "cannot write '%s'", jpath);
    } else {
      fputc('\n', o.f);
      st = cl_out_commit(&o, err);
    }
  }
  json_decref(root);
  return st;
}
