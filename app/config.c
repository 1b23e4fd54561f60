/* Config files, the command line and --print-config over the option table
 * (options.h; docs/cli.md s.2-3, s.7). */
#include "config.h"
#include "options.h"
#include "cldyn/fixed.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void cl_config_init(cl_config *cfg, cl_command cmd) {
  memset(cfg, 0, sizeof *cfg);
  cfg->cmd = cmd;
  cl_model_default(&cfg->model);
  cl_schedule_default(&cfg->sched);
  strcpy(cfg->out, "-");
  cl_ode_opts_default(&cfg->ode);
  cl_pde_opts_default(&cfg->pde);
  cfg->hist_width = 0.05;
  cfg->starts = -1;
  cfg->directions = 360, cfg->tmax = 200, cfg->map_points = 41, cfg->checkpoint_every = 1;
  strcpy(cfg->R0_spec, "0.1");
  strcpy(cfg->Q0_spec, "1");
  cfg->c_source = -1;
  cfg->nshards = 1;
  strcpy(cfg->merge_out, "-");
  strcpy(cfg->plot_y, "cos_1_1");
  cfg->plot_t = NAN, cfg->plot_min_mass = 0.05;
  strcpy(cfg->repro_dir, "reproduce-out");
}

/* Set one option through its descriptor (app/options.c): the value-range
 * checks that need no other option are done there, so that the message
 * points at the option as typed; cross-option checks (N vs K+M, R0/Q0
 * shapes, PSD) are in cl_config_finish, and what a command can run
 * (--terms needs M = 1, ...) in options.c's rules. */
cl_status cl_config_set(cl_config *cfg, const char *name, const char *v, char *err) {
  int exists;
  const cl_optdesc *d = cl_option_find(name, cfg->cmd, &exists);
  if (!d && exists && cfg->depth > 0) {
    /* one model file for every engine: in a config file, a key of another
     * command is skipped and listed for one note (cl_config_finish refuses
     * it under --strict) */
    size_t used = strlen(cfg->skipped);
    cfg->nskipped++;
    if (used + strlen(name) + 3 < sizeof cfg->skipped)
      snprintf(cfg->skipped + used, sizeof cfg->skipped - used, "%s%s", used ? ", " : "", name);
    return CL_OK;
  }
  if (!d && exists)
    return cl_fail(err, CL_EINVAL, "--%s: does not apply to '%s'", name, cl_command_name(cfg->cmd));
  if (!d) {
    char hint[96];
    cl_option_suggest(name, cfg->cmd, hint, sizeof hint);
    return cl_fail(err, CL_EINVAL, "unknown option '--%s' for '%s'%s (see cldyn %s --help)", name,
                   cl_command_name(cfg->cmd), hint, cl_command_name(cfg->cmd));
  }
  return cl_option_set(cfg, d, v, err);
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t') s++;
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
    s[--n] = '\0';
  return s;
}

/* One line of a config file into buf (without the newline): 1 a line, 0 end
 * of file, -1 a NUL byte, -2 longer than len - 1 bytes. */
static int read_line(FILE *f, char *buf, size_t len) {
  size_t n = 0;
  int c;
  while ((c = getc(f)) != EOF && c != '\n') {
    if (c == '\0') return -1;
    if (n + 1 >= len) return -2;
    buf[n++] = (char)c;
  }
  buf[n] = '\0';
  return c == EOF && n == 0 ? 0 : 1;
}

/* The value part of `name = value  # comment`: a value in double quotes
 * keeps everything inside (#, spaces), with \" and \\ for a quote and a
 * backslash; an unquoted value ends at the first #.  Returns NULL on an
 * unterminated quote or text after the closing quote. */
static char *unquote(char *v) {
  if (*v != '"') {
    char *hash = strchr(v, '#');
    if (hash) *hash = '\0';
    return trim(v);
  }
  char *out = v, *p = v + 1;
  for (; *p && *p != '"'; p++) {
    if (*p == '\\' && (p[1] == '"' || p[1] == '\\')) p++;
    *out++ = *p;
  }
  if (*p != '"') return NULL;
  char *rest = trim(p + 1);
  if (*rest && *rest != '#') return NULL;
  *out = '\0';
  return v;
}

cl_status cl_config_read_file(cl_config *cfg, const char *path, char *err) {
  FILE *f = fopen(path, "r");
  if (!f)
    return cl_fail(err, CL_EINVAL, "--config: cannot read '%s': %s", path, strerror(errno));
  if (cfg->depth >= 8) {
    fclose(f);
    return cl_fail(err, CL_EINVAL, "--config: config files nested deeper than 8 at '%s'", path);
  }
  /* each file is its own source: its first `c` replaces the list so far */
  int outer = cfg->source;
  cfg->source = ++cfg->nsources;
  cfg->depth++;
  char line[8192];
  int lineno = 0, got;
  cl_status st = CL_OK;
  while ((got = read_line(f, line, sizeof line)) != 0) {
    lineno++;
    if (got == -1) {
      st = cl_fail(err, CL_EINVAL, "--config: %.300s:%d: a NUL byte (not a text file)", path, lineno);
      break;
    }
    if (got == -2) {
      st = cl_fail(err, CL_EINVAL, "--config: %.300s:%d: line longer than %zu bytes", path, lineno, sizeof line - 2);
      break;
    }
    char *l = trim(line);
    if (!*l || *l == '#') continue;
    char *eq = strchr(l, '=');
    char *hash = strchr(l, '#');
    char tmp[CL_ERRLEN];
    if (!eq || (hash && hash < eq)) {
      st = cl_fail(err, CL_EINVAL, "--config: %.300s:%d: expected 'name = value'", path, lineno);
      break;
    }
    *eq = '\0';
    char *name = trim(l), *value = unquote(trim(eq + 1));
    if (!value) {
      st = cl_fail(err, CL_EINVAL, "--config: %.300s:%d: a quoted value must end with \" (then only a # comment)",
                   path, lineno);
      break;
    }
    int nskipped = cfg->nskipped;
    if ((st = cl_config_set(cfg, name, value, tmp))) {
      cl_fail(err, st, "%s (in %.300s:%d)", tmp, path, lineno);
      break;
    }
    /* where the first key of another command was skipped (cl_config_set) */
    if (!nskipped && cfg->nskipped) snprintf(cfg->skipped_at, sizeof cfg->skipped_at, "%.200s:%d", path, lineno);
  }
  if (!st && ferror(f)) st = cl_fail(err, CL_EINVAL, "--config: error reading '%s'", path);
  fclose(f);
  cfg->source = outer;
  cfg->depth--;
  return st;
}

cl_status cl_config_finish(cl_config *cfg, char *err) {
  cl_status st;
  if (cfg->strict && cfg->nskipped)
    return cl_fail(err, CL_EINVAL, "--strict: %s: %d config key%s that do%s not apply to '%s': %s", cfg->skipped_at,
                   cfg->nskipped, cfg->nskipped > 1 ? "s" : "", cfg->nskipped > 1 ? "" : "es", cl_command_name(cfg->cmd),
                   cfg->skipped);
  if ((st = cl_model_set_R0(&cfg->model, cfg->R0_spec, err))) return st;
  if ((st = cl_model_set_Q0(&cfg->model, cfg->Q0_spec, err))) return st;
  if ((st = cl_model_check(&cfg->model, (cfg->cmd & (CL_CMD_SIMULATE | CL_CMD_REDUCED | CL_CMD_BASIN)) != 0, err))) return st;
  return cl_schedule_check(&cfg->sched, err);
}

/* An option's value is the next word, unless that word is itself an option
 * (`--out --T 1` is a missing value, not a file named --T); a value that
 * starts with "--" is given as --name=VALUE. */
cl_status cl_config_parse_front(cl_config *cfg, int argc, char **argv, int *next, char *err) {
  int i = 0;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (strncmp(a, "--", 2) != 0 || !a[2]) break;
    char name[128];
    const char *eq = strchr(a + 2, '=');
    size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
    if (len >= sizeof name)
      return cl_fail(err, CL_EINVAL, "unknown option '%.40s...'", a);
    memcpy(name, a + 2, len);
    name[len] = '\0';
    /* the value's shape comes from the option's row for this command, or
     * for any (that it does not apply here is reported by cl_config_set) */
    const cl_optdesc *d = cl_option_find(name, cfg->cmd, NULL);
    if (!d) d = cl_option_find(name, ~0u, NULL);
    const char *value;
    if (d && (d->kind == CL_OPT_FLAG || (d->flags & CL_OPTF_OPTVALUE))) {
      if (eq && !(d->flags & CL_OPTF_OPTVALUE)) return cl_fail(err, CL_EINVAL, "--%s: takes no value", name);
      /* an optional value, given with '=' or as the next word */
      if (eq) value = eq + 1;
      else if ((d->flags & CL_OPTF_OPTVALUE) && i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) value = argv[++i];
      else value = "1";
    } else if (eq) {
      value = eq + 1;
    } else if (!d) {
      value = ""; /* reported by cl_config_set */
    } else if (i + 1 >= argc || cl_option_like(argv[i + 1])) {
      return cl_fail(err, CL_EINVAL, "--%s: missing value (%s)", name, d->arg);
    } else {
      value = argv[++i];
    }
    cl_status st = cl_config_set(cfg, name, value, err);
    if (st) return st;
  }
  *next = i;
  return CL_OK;
}

cl_status cl_config_parse_args(cl_config *cfg, int argc, char **argv, char *err) {
  int next;
  cl_status st = cl_config_parse_front(cfg, argc, argv, &next, err);
  if (st) return st;
  if (next < argc) return cl_fail(err, CL_EINVAL, "unexpected argument '%s'; options are --name VALUE", argv[next]);
  /* sweep, plot and reproduce have no model of their own to check */
  if (cfg->help || (cfg->cmd & (CL_CMD_SWEEP | CL_CMD_PLOT | CL_CMD_REPRODUCE))) return CL_OK;
  return cl_config_finish(cfg, err);
}

/* Values that would not read back as written (a #, a quote, a backslash,
 * spaces at either end, empty) are printed in double quotes. */
static void print_one(void *ctx, const char *name, const char *value) {
  FILE *f = ctx;
  size_t n = strlen(value);
  int quote = n == 0 || strpbrk(value, "#\"\\") || value[0] == ' ' || value[0] == '\t' || value[n - 1] == ' ' ||
              value[n - 1] == '\t';
  if (!quote) {
    fprintf(f, "%s = %s\n", name, value);
    return;
  }
  fprintf(f, "%s = \"", name);
  for (const char *p = value; *p; p++) {
    if (*p == '"' || *p == '\\') fputc('\\', f);
    fputc(*p, f);
  }
  fprintf(f, "\"\n");
}

void cl_config_print(const cl_config *cfg, FILE *f) {
  fprintf(f, "# cldyn %s: effective configuration (cldyn %s)\n", cl_command_name(cfg->cmd),
          CL_VERSION);
  cl_config_visit(cfg, print_one, f);
}

void cl_config_help(cl_command cmd, FILE *f) { cl_options_help(cmd, f); }

void cl_config_skipped_note(const cl_config *cfg, FILE *f) {
  if (cfg->nskipped && !cfg->quiet)
    fprintf(f, "cldyn: note: %s: skipped %d config key%s that do%s not apply to '%s': %s (--strict refuses them)\n",
            cfg->skipped_at, cfg->nskipped, cfg->nskipped > 1 ? "s" : "", cfg->nskipped > 1 ? "" : "es",
            cl_command_name(cfg->cmd), cfg->skipped);
}

cl_status cl_config_set_number(cl_config *c, const char *name, double v, char *err) {
  char val[64];
  cl_common_format_real(val, sizeof val, v);
  if (strncmp(name, "m2_", 3) == 0) {
    long long j;
    if (!cl_common_parse_int(name + 3, &j) || j < 1 || j > c->model.K)
      return cl_fail(err, CL_EINVAL, "--vary: m2_J needs J in [1, K] = [1, %d] (got '%s')", c->model.K, name);
    cl_law *law = &c->model.c[j - 1];
    if (!(v > 0)) return cl_fail(err, CL_EINVAL, "--vary: %s must be > 0 (got %s)", name, val);
    if (law->kind == CL_LAW_DISCRETE) {
      double f = sqrt(v / law->m2);
      for (int i = 0; i < law->nvals; i++) law->vals[i] *= f;
    }
    law->m2 = v;
  } else {
    char e[CL_ERRLEN];
    cl_status st = cl_config_set(c, name, val, e);
    if (st) return cl_fail(err, st, "--vary: %s", e);
  }
  return cl_config_finish(c, err);
}

cl_status cl_config_parse_string(cl_config *cfg, cl_command cmd, const char *args, char *err) {
  char buf[4096], *argv[128], *save = NULL;
  int argc = 0;
  if (strlen(args) >= sizeof buf) return cl_fail(err, CL_EINVAL, "options too long");
  strcpy(buf, args);
  for (char *t = strtok_r(buf, " \t", &save); t && argc < 128; t = strtok_r(NULL, " \t", &save))
    argv[argc++] = t;
  cl_config_init(cfg, cmd);
  return cl_config_parse_args(cfg, argc, argv, err);
}
