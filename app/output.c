/* Output checks and JSON sidecars (docs/cli.md s.5). */
#include "output.h"

#include "options.h"
#include "status.h"
#include "cldyn/drift.h"

#include <limits.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A value that reads fully as a number is stored as a JSON number. */
static json_t *typed(const char *v) {
  long long n;
  double x;
  if (cl_common_parse_int(v, &n) && strchr(v, '.') == NULL && strchr(v, 'e') == NULL)
    return json_integer(n);
  if (cl_common_parse_real(v, &x)) return json_real(x);
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

/* The sidecar as jansson's JSON_INDENT(2) would write it, except that a real
 * is written in the CSV tables' shortest form that reads back (cl_common_format_real:
 * 0.3, not jansson's 17 digits 0.29999999999999999), with ".0" added to an
 * integral value so that it still reads as a real (docs/cli.md s.5).
 * Returns 0, or -1 on a write or allocation error. */
static int dump_json(FILE *f, const json_t *v, int depth) {
  if (json_is_real(v)) {
    char num[40];
    cl_common_format_real(num, sizeof num, json_real_value(v));
    return fprintf(f, "%s%s", num, strpbrk(num, ".eE") ? "" : ".0") < 0 ? -1 : 0;
  }
  int obj = json_is_object(v);
  if (!obj && !json_is_array(v)) { /* strings (escaped by jansson), integers, literals */
    char *s = json_dumps(v, JSON_ENCODE_ANY);
    int bad = !s || fputs(s, f) == EOF;
    free(s);
    return bad ? -1 : 0;
  }
  size_t n = obj ? json_object_size(v) : json_array_size(v), i = 0;
  if (fputc(obj ? '{' : '[', f) == EOF) return -1;
  if (obj) {
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x) {
      json_t *key = json_string(k);
      char *ks = key ? json_dumps(key, JSON_ENCODE_ANY) : NULL;
      json_decref(key);
      int bad = !ks || fprintf(f, "%s\n%*s%s: ", i ? "," : "", 2 * (depth + 1), "", ks) < 0;
      free(ks);
      if (bad || dump_json(f, x, depth + 1)) return -1;
      i++;
    }
  } else {
    for (; i < n; i++)
      if (fprintf(f, "%s\n%*s", i ? "," : "", 2 * (depth + 1), "") < 0 || dump_json(f, json_array_get(v, i), depth + 1))
        return -1;
  }
  if (n && fprintf(f, "\n%*s", 2 * depth, "") < 0) return -1;
  return fputc(obj ? '}' : ']', f) == EOF ? -1 : 0;
}

cl_status cl_meta_dump(FILE *f, const cl_config *cfg, int argc, char **argv, double wall_seconds,
                       const char *const *extra_kv, char *err) {
  return cl_meta_dump_grid(f, cfg, argc, argv, wall_seconds, extra_kv, NULL, NULL, err);
}

cl_status cl_meta_dump_grid(FILE *f, const cl_config *cfg, int argc, char **argv, double wall_seconds,
                            const char *const *extra_kv, const char *command, const char *const *grid_kv,
                            char *err) {
  json_t *root = json_object(), *args = json_array(), *params = json_object();
  if (!root || !args || !params) {
    json_decref(root), json_decref(args), json_decref(params);
    return cl_fail(err, CL_ENOMEM, "out of memory for the metadata");
  }
  for (int i = 0; i < argc; i++) json_array_append_new(args, json_string(argv[i]));
  cl_config_visit(cfg, add_param, params);
  char stamp[64];
  time_t now = time(NULL);
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
  json_object_set_new(root, "program", json_string("cldyn"));
  json_object_set_new(root, "version", json_string(CL_VERSION));
  json_object_set_new(root, "command", json_string(command ? command : cl_command_name(cfg->cmd)));
  /* ux: a sweep's varied parameters hold their grid, not the base value */
  json_t *grid = grid_kv ? json_object() : NULL;
  for (int i = 0; grid_kv && grid_kv[i] && grid_kv[i + 1]; i += 2) {
    json_object_set_new(params, grid_kv[i], json_string(grid_kv[i + 1]));
    json_object_set_new(grid, grid_kv[i], json_string(grid_kv[i + 1]));
  }
  if (grid) json_object_set_new(root, "grid", grid);
  json_object_set_new(root, "argv", args);
  json_object_set_new(root, "parameters", params);
  json_object_set_new(root, "seed", json_integer((json_int_t)cfg->sched.seed));
  /* to the microsecond: the digits beyond are noise */
  json_object_set_new(root, "wall_time_s", json_real(round(wall_seconds * 1e6) / 1e6));
  json_object_set_new(root, "finished_utc", json_string(stamp));
  for (int i = 0; extra_kv && extra_kv[i] && extra_kv[i + 1]; i += 2)
    json_object_set_new(root, extra_kv[i], json_string(extra_kv[i + 1]));
  int bad = dump_json(f, root, 0) != 0;
  bad |= fputc('\n', f) == EOF;
  json_decref(root);
  return bad ? cl_fail(err, CL_EIO, "cannot write the metadata") : CL_OK;
}

cl_status cl_meta_write(const char *path, const cl_config *cfg, int argc, char **argv,
                        double wall_seconds, const char *const *extra_kv, char *err) {
  char jpath[CL_PATHLEN + 8];
  snprintf(jpath, sizeof jpath, "%s.json", path);
  cl_outfile o;
  cl_status st = cl_out_open(&o, jpath, "out", err);
  if (st) return st;
  if ((st = cl_meta_dump(o.f, cfg, argc, argv, wall_seconds, extra_kv, err))) {
    cl_out_abort(&o);
    return cl_fail(err, st, "cannot write '%s'", jpath);
  }
  return cl_out_commit(&o, err);
}

const char *cl_rerun_engine(const cl_model *m, const cl_quad_opts *o) {
  cl_quad_opts q;
  return cl_drift_fallback(m, o, &q, NULL) ? cl_expect_spelling(q.expect) : NULL;
}

void cl_ode_rerun_note(const cl_model *m, const cl_quad_opts *o, const char *info, char *note, size_t len) {
  /* cl_ode_solve ends its method line with "; the grid refused t = T: rerun so" */
  const char *t = info ? strstr(info, "the grid refused t = ") : NULL, *name = NULL;
  cl_quad_opts q;
  note[0] = '\0';
  if (t && cl_drift_fallback(m, o, &q, &name))
    snprintf(note, len, "the grid engine refused a state at t = %g: the run redone with the %s",
             atof(t + strlen("the grid refused t = ")), name);
}

/* ---- groups of outputs ---- */

/* The file a path names: the real path of its directory and its last
 * component; "" for stdout and devices (written in place). */
static cl_status out_key(const char *path, const char *option, char *key, size_t len, char *err) {
  key[0] = '\0';
  if (!strcmp(path, "-")) return CL_OK;
  struct stat sb;
  int exists = stat(path, &sb) == 0;
  if (exists && S_ISDIR(sb.st_mode)) return cl_fail(err, CL_EINVAL, "--%s: '%s' is a directory", option, path);
  if (exists && (!S_ISREG(sb.st_mode) || cl_out_special_path(path))) return CL_OK;
  size_t n = strlen(path);
  if (n == 0 || n >= CL_PATHLEN - 16) return cl_fail(err, CL_EINVAL, "--%s: the path must have 1 to %d bytes", option, CL_PATHLEN - 17);
  if (path[n - 1] == '/') return cl_fail(err, CL_EINVAL, "--%s: '%s' names a directory", option, path);
  char dir[CL_PATHLEN], real[PATH_MAX];
  const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
  if (!slash) snprintf(dir, sizeof dir, ".");
  else if (slash == path) snprintf(dir, sizeof dir, "/");
  else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
  if (!realpath(dir, real)) return cl_fail(err, CL_EINVAL, "--%s: the directory of '%s' does not exist", option, path);
  if (access(real, W_OK | X_OK) != 0)
    return cl_fail(err, CL_EINVAL, "--%s: the directory of '%s' is not writable", option, path);
  if (strlen(base) > 200)
    return cl_fail(err, CL_EINVAL, "--%s: the file name in '%s' must be under 200 bytes (temporary and .json names are longer)", option, path);
  if (snprintf(key, len, "%s/%s", real, base) >= (int)len)
    return cl_fail(err, CL_EINVAL, "--%s: the path '%s' is too long", option, path);
  return CL_OK;
}

cl_status cl_out_check_all(const char *const *option, const char *const *path, const int *sidecar, int n,
                           char *err) {
  /* every file written: each path, and PATH.json beside those with a sidecar */
  enum { MAXF = 32 };
  if (n > MAXF / 2) return cl_fail(err, CL_EINVAL, "too many outputs");
  char *keys = malloc((size_t)MAXF * (CL_PATHLEN + 8));
  if (!keys) return cl_fail(err, CL_ENOMEM, "out of memory");
  const char *who[MAXF];
  struct stat sb;
  dev_t dev[MAXF];
  ino_t ino[MAXF];
  int nk = 0;
  cl_status st = CL_OK;
  for (int i = 0; i < n && !st; i++) {
    if (!path[i] || !path[i][0]) continue;
    char *k = keys + (size_t)nk * (CL_PATHLEN + 8);
    if ((st = out_key(path[i], option[i], k, CL_PATHLEN, err)) || !k[0]) continue;
    int has_ino = stat(path[i], &sb) == 0;
    dev[nk] = has_ino ? sb.st_dev : 0, ino[nk] = has_ino ? sb.st_ino : 0, who[nk++] = option[i];
    if (sidecar[i]) {
      char *kj = keys + (size_t)nk * (CL_PATHLEN + 8);
      size_t kl = strlen(k);
      memcpy(kj, k, kl);
      memcpy(kj + kl, ".json", 6);
      dev[nk] = 0, ino[nk] = 0, who[nk++] = option[i];
    }
  }
  for (int a = 0; a < nk && !st; a++)
    for (int b = a + 1; b < nk && !st; b++) {
      const char *ka = keys + (size_t)a * (CL_PATHLEN + 8), *kb = keys + (size_t)b * (CL_PATHLEN + 8);
      if (!strcmp(ka, kb) || (ino[a] && ino[a] == ino[b] && dev[a] == dev[b]))
        st = cl_fail(err, CL_EINVAL, "--%s: '%s' is the same file as an output of --%s; give each output its own path",
                     who[b], kb, who[a]);
    }
  free(keys);
  return st;
}


cl_status cl_outset_add_out(cl_outset *s, const char *path, char *err) {
  const char *opt[] = {"out"}, *paths[] = {path};
  const int sc[] = {1};
  cl_status st = cl_out_check_all(opt, paths, sc, 1, err);
  if (!st && (st = cl_outset_add(s, path, "out", 1, err))) cl_outset_abort(s);
  return st;
}

int cl_outset_end(cl_outset *s, cl_status st, char *err) {
  if (st) {
    cl_outset_abort(s);
    return cl_status_exit_msg(cl_status_exit_code(st), err);
  }
  if (cl_outset_commit(s, err)) return cl_status_exit_msg(CL_EXIT_FAILED, err);
  return CL_EXIT_OK;
}
