/* The option table and the command table (app/options.h, docs/cli.md s.7):
 * everything the CLI knows about an option is in its row of cl_options[]. */
#include "options.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cldyn/fixed.h"


#define RUNS (CL_CMD_SIMULATE | CL_CMD_REDUCED)
#define TRAJ (CL_CMD_SIMULATE | CL_CMD_REDUCED | CL_CMD_ODE | CL_CMD_PDE)
#define ALL (TRAJ | CL_CMD_FIXED | CL_CMD_BASIN)
#define QUAD (CL_CMD_ODE | CL_CMD_PDE | CL_CMD_FIXED | CL_CMD_BASIN)
#define EXPECT (CL_CMD_ODE | CL_CMD_FIXED | CL_CMD_BASIN)
#define OWN (CL_CMD_SWEEP | CL_CMD_PLOT | CL_CMD_REPRODUCE)
#define F(field) offsetof(cl_config, field), sizeof(((cl_config *)0)->field)
#define HUGE_HI 1e300

/* ---- the value kinds ---------------------------------------------------- */

static cl_status bad_int(const cl_optdesc *d, const char *v, char *err) {
  return cl_fail(err, CL_EINVAL, "--%s: malformed integer '%s'; accepted: %s", d->name, v, d->accepted);
}

static cl_status out_of_range(const cl_optdesc *d, const char *must, const char *v, char *err) {
  return cl_fail(err, CL_EINVAL, "--%s: must be %s (got %s)", d->name, must, v);
}

/* The narrower range of d for cmd, or NULL */
static const cl_optnarrow *narrow_of(const cl_optdesc *d, cl_command cmd) {
  for (size_t k = 0; k < sizeof d->narrow / sizeof d->narrow[0]; k++)
    if (d->narrow[k].cmds & cmd) return &d->narrow[k];
  return NULL;
}

/* The range of d for cmd: the narrow one where it applies. */
static void range_of(const cl_optdesc *d, cl_command cmd, double *lo, double *hi, const char **must) {
  const cl_optnarrow *n = narrow_of(d, cmd);
  *lo = d->lo, *hi = d->hi, *must = d->must;
  if (n) *lo = n->lo, *hi = n->hi, *must = n->must;
}

static cl_status parse_int(const cl_config *cfg, const cl_optdesc *d, const char *v, long long *n, char *err) {
  double lo, hi;
  const char *must;
  range_of(d, cfg->cmd, &lo, &hi, &must);
  if (!cl_common_parse_int(v, n)) return bad_int(d, v, err);
  if ((double)*n < lo || (double)*n > hi) return out_of_range(d, must, v, err);
  return CL_OK;
}

static void store_int(cl_config *cfg, const cl_optdesc *d, long long n) {
  char *p = (char *)cfg + d->off;
  if (d->size == sizeof(int)) {
    int k = (int)n;
    memcpy(p, &k, sizeof k);
  } else {
    memcpy(p, &n, sizeof n); /* long, long long, uint64_t: 8 bytes */
  }
}

static long long load_int(const cl_config *cfg, const cl_optdesc *d) {
  const char *p = (const char *)cfg + d->off;
  if (d->size == sizeof(int)) {
    int k;
    memcpy(&k, p, sizeof k);
    return k;
  }
  long long n;
  memcpy(&n, p, sizeof n);
  return n;
}

static cl_status set_generic(cl_config *cfg, const cl_optdesc *d, const char *v, char *err) {
  char *p = (char *)cfg + d->off;
  switch (d->kind) {
  case CL_OPT_INT: {
    long long n;
    cl_status st = parse_int(cfg, d, v, &n, err);
    if (!st) store_int(cfg, d, n);
    return st;
  }
  case CL_OPT_REAL: {
    double x, lo, hi;
    const char *must;
    range_of(d, cfg->cmd, &lo, &hi, &must);
    if (!cl_common_parse_real(v, &x))
      return cl_fail(err, CL_EINVAL, "--%s: malformed number '%s'; accepted: %s", d->name, v, d->accepted);
    if (!(d->lo_open ? x > lo : x >= lo) || !(d->hi_open ? x < hi : x <= hi)) return out_of_range(d, must, v, err);
    memcpy(p, &x, sizeof x);
    return CL_OK;
  }
  case CL_OPT_PATH:
    if (!*v) return cl_fail(err, CL_EINVAL, "--%s: empty path", d->name);
    if (strlen(v) >= d->size) return cl_fail(err, CL_EINVAL, "--%s: path too long", d->name);
    strcpy(p, v);
    return CL_OK;
  case CL_OPT_TEXT:
    if (strlen(v) >= d->size) return cl_fail(err, CL_EINVAL, "--%s: too long (at most %zu characters)", d->name, d->size - 1);
    strcpy(p, v);
    return CL_OK;
  case CL_OPT_FLAG: {
    int one = 1;
    memcpy(p, &one, sizeof one);
    return CL_OK;
  }
  case CL_OPT_SPECIAL:
    break;
  }
  return cl_fail(err, CL_EINVAL, "--%s: internal error (no setter)", d->name);
}

static void get_generic(const cl_config *cfg, const cl_optdesc *d, cl_config_visit_fn emit, void *ctx) {
  const char *p = (const char *)cfg + d->off;
  char buf[64];
  switch (d->kind) {
  case CL_OPT_INT: {
    long long n = load_int(cfg, d);
    if (n < 0 && (d->flags & CL_OPTF_NEG_UNSET)) return;
    if (n == 0 && d->print0) n = d->print0;
    snprintf(buf, sizeof buf, "%lld", n);
    emit(ctx, d->name, buf);
    return;
  }
  case CL_OPT_REAL: {
    double x;
    memcpy(&x, p, sizeof x);
    emit(ctx, d->name, cl_common_format_real(buf, sizeof buf, x));
    return;
  }
  case CL_OPT_PATH:
  case CL_OPT_TEXT:
    if (*p) emit(ctx, d->name, p);
    return;
  case CL_OPT_FLAG: {
    int on;
    memcpy(&on, p, sizeof on);
    if (on) emit(ctx, d->name, "1");
    return;
  }
  case CL_OPT_SPECIAL:
    return;
  }
}

/* ---- options with their own syntax -------------------------------------- */

static const char *const act_names[] = {"linear", "tanh", "erf", "relu", "sigmoid", "cubic"};

/* " (did you mean 'X'?)" appended to err when the word is close to a name */
static cl_status with_suggestion(cl_status st, char *err, const char *word, size_t wlen, const char *const *names,
                                 size_t n) {
  char w[64];
  if (!st || wlen >= sizeof w) return st;
  memcpy(w, word, wlen);
  w[wlen] = '\0';
  const char *s = cl_options_suggest(w, names, n);
  size_t len = strlen(err);
  if (s && len + strlen(s) + 24 < CL_ERRLEN) snprintf(err + len, CL_ERRLEN - len, " (did you mean '%s'?)", s);
  return st;
}

static cl_status set_c(cl_config *cfg, const cl_optdesc *d, const char *v, char *err) {
  (void)d;
  cl_model *m = &cfg->model;
  /* the first c of a source (the command line, a config file) replaces the list */
  if (cfg->c_source != cfg->source) cfg->c_count = 0, cfg->c_source = cfg->source;
  if (cfg->c_count == CL_KMAX) return cl_fail(err, CL_EINVAL, "--c: at most %d features accepted", CL_KMAX);
  cl_status st = cl_law_parse(v, &m->c[cfg->c_count], err);
  if (st) {
    const char *laws[CL_LAW_DISCRETE + 1];
    for (int k = 0; k <= CL_LAW_DISCRETE; k++) laws[k] = cl_law_name((cl_law_kind)k);
    size_t n = strcspn(v, ":");
    int known = 0;
    for (int k = 0; k <= CL_LAW_DISCRETE; k++) known |= strlen(laws[k]) == n && !strncmp(laws[k], v, n);
    return known ? st : with_suggestion(st, err, v, n, laws, CL_LAW_DISCRETE + 1);
  }
  m->K = ++cfg->c_count;
  return CL_OK;
}

static void get_c(const cl_config *cfg, const cl_optdesc *d, cl_config_visit_fn emit, void *ctx) {
  char buf[1024];
  for (int j = 0; j < cfg->model.K; j++) cl_law_format(&cfg->model.c[j], buf, sizeof buf), emit(ctx, d->name, buf);
}

static cl_status set_features(cl_config *cfg, const cl_optdesc *d, const char *v, char *err) {
  (void)d;
  cl_model *m = &cfg->model;
  double x;
  if (strcmp(v, "axis") == 0) m->features = CL_FEAT_AXIS, m->feat_p = 1;
  else if (strcmp(v, "dense") == 0) m->features = CL_FEAT_DENSE, m->feat_p = 1;
  else if (strncmp(v, "sparse:", 7) == 0) {
    if (!cl_common_parse_real(v + 7, &x))
      return cl_fail(err, CL_EINVAL, "--features: malformed density '%s'; accepted: "
                     "axis, dense, sparse:P with P in (0, 1]", v + 7);
    if (!(x > 0 && x <= 1)) return cl_fail(err, CL_EINVAL, "--features: sparse P must be in (0, 1] (got %s)", v + 7);
    m->features = CL_FEAT_SPARSE, m->feat_p = x;
  } else
    return cl_fail(err, CL_EINVAL, "--features: unknown layout '%s'; accepted: axis, dense, sparse:P", v);
  return CL_OK;
}

static void get_features(const cl_config *cfg, const cl_optdesc *d, cl_config_visit_fn emit, void *ctx) {
  char buf[64], num[32];
  const cl_model *m = &cfg->model;
  if (m->features == CL_FEAT_SPARSE) snprintf(buf, sizeof buf, "sparse:%s", cl_common_format_real(num, sizeof num, m->feat_p));
  else snprintf(buf, sizeof buf, "%s", m->features == CL_FEAT_AXIS ? "axis" : "dense");
  emit(ctx, d->name, buf);
}

static cl_status set_act(cl_config *cfg, const cl_optdesc *d, const char *v, char *err) {
  (void)d;
  return with_suggestion(cl_act_parse(v, &cfg->model.act, err), err, v, strlen(v), act_names,
                         sizeof act_names / sizeof act_names[0]);
}

static void get_act(const cl_config *cfg, const cl_optdesc *d, cl_config_visit_fn emit, void *ctx) {
  emit(ctx, d->name, cl_act_name(cfg->model.act));
}

static cl_status set_g(cl_config *cfg, const cl_optdesc *d, const char *v, char *err) {
  (void)d;
  return cl_gfun_parse(v, &cfg->model.g, err);
}

static void get_g(const cl_config *cfg, const cl_optdesc *d, cl_config_visit_fn emit, void *ctx) {
  emit(ctx, d->name, cl_gfun_name(cfg->model.g));
}

static cl_status set_reg(cl_config *cfg, const cl_optdesc *d, const char *v, char *err) {
  cl_reg reg;
  cl_status st = cl_reg_parse(v, &reg, err);
  if (st) return st;
  /* the equations of some commands close only for some kinds */
  const cl_optnarrow *n = narrow_of(d, cfg->cmd);
  if (n && ((double)reg.kind < n->lo || (double)reg.kind > n->hi))
    return cl_fail(err, CL_EINVAL, "--%s: %s", d->name, n->must);
  cfg->model.reg = reg;
  return CL_OK;
}

static void get_reg(const cl_config *cfg, const cl_optdesc *d, cl_config_visit_fn emit, void *ctx) {
  char buf[256];
  cl_reg_format(&cfg->model.reg, buf, sizeof buf);
  emit(ctx, d->name, buf);
}

static cl_status set_init(cl_config *cfg, const cl_optdesc *d, const char *v, char *err) {
  (void)d;
  if (strcmp(v, "random") == 0) cfg->model.init = CL_INIT_RANDOM;
  else if (strcmp(v, "overlap") == 0) cfg->model.init = CL_INIT_OVERLAP;
  else return cl_fail(err, CL_EINVAL, "--init: unknown '%s'; accepted: random, overlap", v);
  return CL_OK;
}

static void get_init(const cl_config *cfg, const cl_optdesc *d, cl_config_visit_fn emit, void *ctx) {
  emit(ctx, d->name, cfg->model.init == CL_INIT_RANDOM ? "random" : "overlap");
}

/* R0 and Q0 stay text until K and M are final (cl_config_finish) */
static cl_status set_matrix_spec(cl_config *cfg, const cl_optdesc *d, const char *v, char *err) {
  char *dst = (char *)cfg + d->off;
  if (strlen(v) >= d->size) return cl_fail(err, CL_EINVAL, "--%s: list too long", d->name);
  strcpy(dst, v);
  return CL_OK;
}

static void fmt_matrix(char *buf, size_t len, const double *a, int rows, int cols) {
  size_t off = 0;
  char num[32];
  buf[0] = '\0';
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < cols; c++) {
      const char *sep = c ? "," : (r ? ";" : "");
      off += (size_t)snprintf(buf + off, off < len ? len - off : 0, "%s%s", sep,
                              cl_common_format_real(num, sizeof num, a[r * cols + c]));
    }
}

static void get_matrix(const cl_config *cfg, const cl_optdesc *d, cl_config_visit_fn emit, void *ctx) {
  char buf[8192];
  const cl_model *m = &cfg->model;
  if (d->off == offsetof(cl_config, R0_spec)) fmt_matrix(buf, sizeof buf, m->R0, m->K, m->M);
  else fmt_matrix(buf, sizeof buf, m->Q0, m->M, m->M);
  emit(ctx, d->name, buf);
}

static cl_status set_seed(cl_config *cfg, const cl_optdesc *d, const char *v, char *err) {
  long long n;
  cl_status st = parse_int(cfg, d, v, &n, err);
  if (st) return st;
  cfg->sched.seed = (uint64_t)n;
  cfg->ode.quad.mc_seed = (uint64_t)n; /* ode: the Monte Carlo point set */
  return CL_OK;
}

static cl_status set_stepper(cl_config *cfg, const cl_optdesc *d, const char *v, char *err) {
  (void)d;
  cl_status st = cl_ode_check_stepper(v, err);
  if (!st) snprintf(cfg->ode.stepper, sizeof cfg->ode.stepper, "%s", v);
  return st;
}

static void get_string(const cl_config *cfg, const cl_optdesc *d, cl_config_visit_fn emit, void *ctx) {
  const char *s = (const char *)cfg + d->off;
  if (*s) emit(ctx, d->name, s);
}

static cl_status set_quad_cf(cl_config *cfg, const cl_optdesc *d, const char *v, char *err) {
  (void)d;
  if (strcmp(v, "auto") && strcmp(v, "on") && strcmp(v, "off"))
    return cl_fail(err, CL_EINVAL, "--quad-cf: must be auto, on or off (got %s)", v);
  cfg->ode.quad.m1_cf = !strcmp(v, "on") ? 1 : !strcmp(v, "off") ? -1 : 0;
  return CL_OK;
}

static void get_quad_cf(const cl_config *cfg, const cl_optdesc *d, cl_config_visit_fn emit, void *ctx) {
  int k = cfg->ode.quad.m1_cf;
  emit(ctx, d->name, k > 0 ? "on" : k < 0 ? "off" : "auto");
}

static cl_status set_expect(cl_config *cfg, const cl_optdesc *d, const char *v, char *err) {
  (void)d;
  if (strcmp(v, "auto") == 0) cfg->ode.quad.expect = CL_EXPECT_QMC;
  else if (strcmp(v, "qmc") == 0) cfg->ode.quad.expect = CL_EXPECT_SOBOL;
  else if (strcmp(v, "closed") == 0) cfg->ode.quad.expect = CL_EXPECT_CLOSED;
  else if (strcmp(v, "mc") == 0) cfg->ode.quad.expect = CL_EXPECT_MC;
  else if (strcmp(v, "tensor") == 0) cfg->ode.quad.expect = CL_EXPECT_TENSOR;
  else if (strcmp(v, "quad") == 0) cfg->ode.quad.expect = CL_EXPECT_QUAD;
  else if (strcmp(v, "grid") == 0) cfg->ode.quad.expect = CL_EXPECT_GRID;
  else return cl_fail(err, CL_EINVAL, "--expect: unknown '%s'; accepted: auto, closed, qmc, quad, grid, mc, tensor", v);
  return CL_OK;
}

const char *cl_expect_spelling(int e) {
  return e == CL_EXPECT_MC       ? "mc"
         : e == CL_EXPECT_TENSOR ? "tensor"
         : e == CL_EXPECT_CLOSED ? "closed"
         : e == CL_EXPECT_SOBOL  ? "qmc"
         : e == CL_EXPECT_QUAD   ? "quad"
         : e == CL_EXPECT_GRID   ? "grid"
                                 : "auto";
}

static void get_expect(const cl_config *cfg, const cl_optdesc *d, cl_config_visit_fn emit, void *ctx) {
  emit(ctx, d->name, cl_expect_spelling(cfg->ode.quad.expect));
}

static cl_status set_qmc_points(cl_config *cfg, const cl_optdesc *d, const char *v, char *err) {
  long long n;
  if (!cl_common_parse_int(v, &n)) return bad_int(d, v, err);
  /* 0 is the default, chosen by M (what --print-config writes back) */
  if (n != 0 && (n < 16 || n > (1 << 20))) return out_of_range(d, d->must, v, err);
  cfg->ode.quad.qmc_points = (long)n;
  return CL_OK;
}

static cl_status set_grid_nodes(cl_config *cfg, const cl_optdesc *d, const char *v, char *err) {
  long long n;
  if (!cl_common_parse_int(v, &n)) return bad_int(d, v, err);
  if (n != 0 && (n < 8 || n > 96)) return out_of_range(d, d->must, v, err);
  cfg->ode.quad.grid_nodes = (int)n;
  return CL_OK;
}

static cl_status set_quad_nodes(cl_config *cfg, const cl_optdesc *d, const char *v, char *err) {
  long long n;
  if (!cl_common_parse_int(v, &n)) return bad_int(d, v, err);
  if (n != 0 && (n < 4 || n > 64)) return out_of_range(d, d->must, v, err);
  cfg->ode.quad.acc_nodes = (int)n;
  return CL_OK;
}

static cl_status set_threshold(cl_config *cfg, const cl_optdesc *d, const char *v, char *err) {
  (void)d;
  cfg->threshold = 1;
  cfg->threshold_name[0] = '\0';
  if (!strcmp(v, "1") || !strcmp(v, "m2") || !v[0]) return CL_OK;
  long long j;
  int ok = !strcmp(v, "lambda") || !strcmp(v, "tau") || !strcmp(v, "s") || !strcmp(v, "rho") ||
           (strncmp(v, "m2_", 3) == 0 && cl_common_parse_int(v + 3, &j) && j >= 1 && j <= CL_KMAX);
  if (strlen(v) >= sizeof cfg->threshold_name || !ok)
    return cl_fail(err, CL_EINVAL,
                   "--threshold: unknown parameter '%s'; accepted: m2 (the default), lambda, tau, s, "
                   "rho, m2_J (J a feature)", v);
  strcpy(cfg->threshold_name, v);
  return CL_OK;
}

static void get_threshold(const cl_config *cfg, const cl_optdesc *d, cl_config_visit_fn emit, void *ctx) {
  if (cfg->threshold) emit(ctx, d->name, cfg->threshold_name[0] ? cfg->threshold_name : "m2");
}

static cl_status set_point(cl_config *cfg, const cl_optdesc *d, const char *v, char *err) {
  (void)d;
  long long j;
  if (strlen(v) >= sizeof cfg->point || !v[0] || !((cl_common_parse_int(v, &j) && j >= 1) || cl_fixed_kind_from_name(v) >= 0))
    return cl_fail(err, CL_EINVAL,
                   "--point: expected an id >= 1 or a kind (uninformative, specialised, shared, "
                   "rotated, mixed, partial, dead, collapsed) (got '%s')", v);
  strcpy(cfg->point, v);
  return CL_OK;
}

static cl_status set_vary(cl_config *cfg, const cl_optdesc *d, const char *v, char *err) {
  (void)d;
  double a, b, h;
  const char *eq = strchr(v, '=');
  char rng[200];
  if (!eq || eq == v || strlen(v) >= sizeof cfg->vary)
    return cl_fail(err, CL_EINVAL, "--vary: expected NAME=A:B:STEP (got '%s')", v);
  snprintf(rng, sizeof rng, "%s", eq + 1);
  char *c1 = strchr(rng, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
  if (!c1 || !c2) return cl_fail(err, CL_EINVAL, "--vary: expected NAME=A:B:STEP (got '%s')", v);
  *c1 = *c2 = '\0';
  if (!cl_common_parse_real(rng, &a) || !cl_common_parse_real(c1 + 1, &b) || !cl_common_parse_real(c2 + 1, &h))
    return cl_fail(err, CL_EINVAL, "--vary: malformed number in '%s'", v);
  if (!(h > 0) || b < a || (b - a) / h > 1e6)
    return cl_fail(err, CL_EINVAL, "--vary: need A <= B and 0 < STEP, at most 1e6 points (got '%s')", v);
  strcpy(cfg->vary, v);
  return CL_OK;
}

static cl_status set_config(cl_config *cfg, const cl_optdesc *d, const char *v, char *err) {
  (void)d;
  return cl_config_read_file(cfg, v, err);
}

static cl_status set_sweep_vary(cl_config *cfg, const cl_optdesc *d, const char *v, char *err) {
  (void)d;
  /* the syntax NAME=A:B:STEP is checked by the sweep command
   * (cl_vary_parse, before any work), so the table does not depend on the
   * sweep module */
  if (cfg->nvary == CL_CONFIG_MAXVARY) return cl_fail(err, CL_EINVAL, "--vary: at most %d parameters", CL_CONFIG_MAXVARY);
  if (strlen(v) >= sizeof cfg->sweep_vary[0]) return cl_fail(err, CL_EINVAL, "--vary: too long (got '%.40s...')", v);
  strcpy(cfg->sweep_vary[cfg->nvary++], v);
  return CL_OK;
}

static cl_status set_shard(cl_config *cfg, const cl_optdesc *d, const char *v, char *err) {
  (void)d;
  long a, b;
  char extra;
  if (sscanf(v, "%ld/%ld%c", &a, &b, &extra) != 2 || b < 1 || a < 1 || a > b)
    return cl_fail(err, CL_EINVAL, "--shard: expected I/N with 1 <= I <= N");
  cfg->shard = a - 1, cfg->nshards = b;
  return CL_OK;
}

static cl_status set_streams(cl_config *cfg, const cl_optdesc *d, const char *v, char *err) {
  (void)d;
  if (strcmp(v, "common") && strcmp(v, "independent"))
    return cl_fail(err, CL_EINVAL, "--streams: must be common or independent (got '%s')", v);
  cfg->sweep_independent = !strcmp(v, "independent");
  return CL_OK;
}

/* ---- the table ----------------------------------------------------------- */

/* Fields a row leaves out are zero (no flags, no notes, no narrower range):
 * that is the table's shorthand, so the warning about it is off here. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
/* Rows in --print-config order (which the JSON metadata and the sweep
 * fingerprint follow: do not reorder). */
const cl_optdesc cl_options[] = {
    {"N", CL_OPT_INT, RUNS | CL_CMD_BASIN, "INT", "input dimension, >= K + M + 1", "1000", F(model.N), 0, 3, 2e9, 0, 0,
     "an integer >= K + M + 1", "an integer in [K + M + 1, 2e9]", .notes = {{CL_CMD_BASIN, "sets |R(0)| ~ N^-1/2"}}},
    {"M", CL_OPT_INT, ALL, "INT", "output units, in [1, 16]", "1", F(model.M), 0, 1, CL_MMAX, 0, 0,
     "an integer in [1, 16]", "an integer in [1, 16]",
     .narrow = {{CL_CMD_PDE, 1, 1, "1 for pde (the PDE is implemented for M = 1)",
                 "output units: 1 (the PDE is implemented for M = 1)"}}},
    {"c", CL_OPT_SPECIAL, ALL, "SPEC",
     "law of one hidden variable, repeat for K features: gauss, rademacher, uniform, laplace (NAME[:M2], M2 the "
     "second moment), sparse[:M2[:P]], student[:M2[:NU]], discrete:V1@P1,V2@P2,...",
     "rademacher:3", .set = set_c, .get = get_c},
    {"features", CL_OPT_SPECIAL, CL_CMD_SIMULATE | CL_CMD_PDE, "axis|dense|sparse:P", "feature layout", "axis",
     .set = set_features, .get = get_features},
    {"act", CL_OPT_SPECIAL, ALL, "NAME", "linear, tanh, erf, relu, sigmoid, cubic", "tanh", .set = set_act,
     .get = get_act},
    {"g", CL_OPT_SPECIAL, ALL, "NAME", "square, abs", "square", .set = set_g, .get = get_g},
    {"lambda", CL_OPT_REAL, ALL, "X", "decorrelation weight, >= 0", "0", F(model.lambda), 0, 0, HUGE_HI, 0, 0,
     "a real >= 0", ">= 0"},
    {"reg", CL_OPT_SPECIAL, ALL, "SPEC", "none, l2:BETA, l1:BETA, elastic:BETA1:BETA2", "l2:0.5", .set = set_reg,
     .get = get_reg, .notes = {{CL_CMD_REDUCED | EXPECT, "none or l2 only for this command"}},
     .narrow = {{CL_CMD_REDUCED, CL_REG_NONE, CL_REG_L2, "the reduced chain is exact only for l2 or none"},
                {EXPECT, CL_REG_NONE, CL_REG_L2, "the order-parameter ODEs close only for l2 or none (use pde)"}}},
    {"tau", CL_OPT_REAL, ALL, "X", "learning rate, > 0", "0.5", F(model.tau), 0, 0, HUGE_HI, 1, 0, "a real > 0", "> 0"},
    {"s", CL_OPT_REAL, ALL, "X", "augmentation noise sd, >= 0", "0.5", F(model.s), 0, 0, HUGE_HI, 0, 0, "a real >= 0",
     ">= 0"},
    {"rho", CL_OPT_REAL, ALL, "X", "correlation of the two views' noise, in [-1, 1]", "0", F(model.rho), 0, -1, 1, 0, 0,
     "a real in [-1, 1]", "in [-1, 1]"},
    {"B", CL_OPT_INT, ALL, "INT", "batch size, >= 1", "1", F(model.B), 0, 1, 1e6, 0, 0, "an integer >= 1",
     "an integer in [1, 1e6]"},
    {"init", CL_OPT_SPECIAL, RUNS, "random|overlap", "initial state", "overlap", .set = set_init, .get = get_init},
    {"R0", CL_OPT_SPECIAL, TRAJ, "LIST", "initial R, K x M, rows separated by ';', or one number", "0.1", F(R0_spec),
     .set = set_matrix_spec, .get = get_matrix},
    {"Q0", CL_OPT_SPECIAL, TRAJ | CL_CMD_BASIN, "LIST", "initial Q, M x M, or one number for the diagonal", "1",
     F(Q0_spec), .set = set_matrix_spec, .get = get_matrix},
    {"T", CL_OPT_REAL, TRAJ, "X", "end time t = steps / N, >= 0", "20", F(sched.T), 0, 0, HUGE_HI, 0, 0, "a real >= 0",
     ">= 0"},
    {"dt-out", CL_OPT_REAL, TRAJ, "X", "output interval, > 0", "0.5", F(sched.dt_out), 0, 0, HUGE_HI, 1, 0,
     "a real > 0", "> 0"},
    {"runs", CL_OPT_INT, RUNS, "INT", "independent runs, >= 1", "1", F(sched.runs), 0, 1, 1e8, 0, 0, "an integer >= 1",
     "an integer in [1, 1e8]"},
    {"seed", CL_OPT_INT, RUNS | CL_CMD_ODE | CL_CMD_FIXED | CL_CMD_BASIN, "INT", "random seed, in [0, 2^53)", "1",
     F(sched.seed), 0, 0, HUGE_HI, 0, 0, "an integer in [0, 2^53)", "an integer in [0, 2^53)", .set = set_seed,
     .notes = {{CL_CMD_ODE, "of the Monte Carlo point set of --expect mc"}}},
    {"out", CL_OPT_PATH, ALL, "PATH", "output CSV, '-' for stdout", "-", F(out), .flags = CL_OPTF_NOSWEEP},
    {"summary", CL_OPT_PATH, RUNS, "PATH", "CSV of the mean and sd over runs", NULL, F(summary), .flags = CL_OPTF_NOSWEEP},
    {"threads", CL_OPT_INT, RUNS | CL_CMD_BASIN | CL_CMD_SWEEP, "INT", "OpenMP threads, >= 0, 0 = default", "0",
     F(threads), CL_OPTF_NOSWEEP, 0, 1024, 0, 0, "an integer in [0, 1024]", "an integer in [0, 1024]",
     .notes = {{CL_CMD_SWEEP, "the grid's points run in parallel"}}},
    {"rtol", CL_OPT_REAL, CL_CMD_ODE | CL_CMD_BASIN, "X", "relative tolerance of the adaptive integrator, > 0", "1e-8",
     F(ode.rtol), 0, 0, HUGE_HI, 1, 0, "a real > 0", "> 0",
     .notes = {{CL_CMD_ODE, "with atol, raised to 0.01 x the drift error bound on the Sobol' rules with g abs (B > 1, "
                            "or lambda != 0; M >= 2; docs/multi.md s.3)"}}},
    {"atol", CL_OPT_REAL, CL_CMD_ODE | CL_CMD_BASIN, "X", "absolute tolerance, >= 0", "1e-10", F(ode.atol), 0, 0,
     HUGE_HI, 0, 0, "a real >= 0", ">= 0"},
    {"stacked-levels", CL_OPT_FLAG, CL_CMD_ODE, "",
     "M >= 2 grid and quad levels with dop853: integrate the coarse level as a stacked copy of the system under one "
     "step control (about 1.4 times the cost at M = 4), not as its difference to the fine one along the fine "
     "one's steps (docs/grid.md s.17)",
     NULL, F(ode.stacked_levels)},
    {"stepper", CL_OPT_SPECIAL, CL_CMD_ODE | CL_CMD_BASIN, "NAME",
     "dop853 (with dense output), GSL rk8pd, rkf45, rkck, msadams, or implicit msbdf, rk4imp, bsimp", "dop853",
     F(ode.stepper), .set = set_stepper, .get = get_string},
    {"quad-gauss", CL_OPT_INT, QUAD, "INT",
     "points per Gaussian direction (trapezoid; in 4-d a quarter as many Gauss-Hermite, or for tanh, sigmoid, erf "
     "a trapezoid of 10 more), in [2, 200]", "40",
     F(ode.quad.n_gauss), 0, 2, 200, 0, 0, "an integer", "an integer in [2, 200]", CL_QUAD_GAUSS},
    {"quad-law", CL_OPT_INT, QUAD, "INT", "points of a continuous law's rule, in [2, 400]", "32", F(ode.quad.n_law), 0, 2,
     400, 0, 0, "an integer", "an integer in [2, 400]", CL_QUAD_LAW},
    {"quad-mgrid", CL_OPT_INT, QUAD, "INT", "Chebyshev nodes in m for K >= 2 continuous laws, in [4, 2000]", "48",
     F(ode.quad.n_mgrid), 0, 4, 2000, 0, 0, "an integer", "an integer in [4, 2000]", CL_QUAD_MGRID},
    {"quad-cf", CL_OPT_SPECIAL, QUAD, "MODE",
     "M = 1: the c-expectation through characteristic functions (docs/m1-many-features.md): auto (when the laws' "
     "rules make more than 2000 c nodes, or a law is student, or relu has a continuous law; linear and cubic "
     "always: exact moments), on, off",
     "auto", .set = set_quad_cf, .get = get_quad_cf},
    {"mc-points", CL_OPT_INT, EXPECT, "INT", "Monte Carlo batches of --expect mc, in [100, 1e8]", "20000",
     F(ode.quad.mc_points), 0, 100, 1e8, 0, 0, "an integer", "an integer in [100, 100000000]", 20000},
    {"expect", CL_OPT_SPECIAL, EXPECT, "auto|closed|qmc|quad|grid|mc|tensor",
     "M >= 2 expectations: auto (closed forms for erf with gauss laws, else (M = 2; M = 3 and 4 in ode) grid where it applies unless "
     "--qmc-points is given, else for cubic sigma quad, else qmc; the qmc rules refuse cubic), "
     "closed (docs/closed-forms.md; any M), randomised Sobol' rules with an error bound (where the whole batch has more than 40 dimensions, the Monte Carlo below: docs/multi.md s.3), quad (g = square where lambda != 0, "
     "smooth sigma, rho >= 0: the deterministic rule of docs/accurate.md; B > 1 by the exact 1/B expansion), grid (the same with M = 2, "
     "or M = 3 with tanh, erf or sigmoid, the default there in ode only: docs/grid.md s.14, or M = 4 (B = 1) with those by "
     "sums over the 3- and 2-unit sub-models, the default there in ode only: docs/grid.md s.15), Monte Carlo over whole batches (not "
     "cubic), or (M = 2, B = 1 or lambda = "
     "0) the tensor rule, which needs --quad-gauss >= 37 (tanh, sigmoid, erf: two levels and an error bound; cubic: "
     "where exact; docs/multi.md s.6)",
     "auto", .set = set_expect, .get = get_expect},
    {"qmc-points", CL_OPT_INT, EXPECT, "INT",
     "M >= 2 qmc: points per rule, rounded up to a power of 2, in [16, 2^20], or 0 (the default: by M, "
     "docs/multi.md)",
     NULL, F(ode.quad.qmc_points), 0, 0, 1 << 20, 0, 0, "an integer", "0 (by M) or an integer in [16, 1048576]",
     .set = set_qmc_points},
    {"quad-nodes", CL_OPT_INT, EXPECT, "INT",
     "M >= 2 quad: nodes per Gaussian direction of the coarse rule, in [4, 64], or 0 (the default, "
     "docs/accurate.md)",
     NULL, F(ode.quad.acc_nodes), 0, 0, 64, 0, 0, "an integer", "0 or an integer in [4, 64]",
     .set = set_quad_nodes},
    {"grid-nodes", CL_OPT_INT, EXPECT, "INT",
     "grid (M = 2 and 3): inner nodes of the fine level, in [8, 96], or 0 (the default, 24); the steps, ranges and "
     "caps of both levels scale with it (docs/grid.md s.5)",
     NULL, F(ode.quad.grid_nodes), 0, 0, 96, 0, 0, "an integer", "0 or an integer in [8, 96]",
     .set = set_grid_nodes},
    {"cells", CL_OPT_INT, CL_CMD_PDE, "INT",
     "cells per value of xi over the initial range (8 sd each side), in [20, 1e6]", "2000", F(pde.cells), 0, 20, 1e6, 0,
     0, "an integer in [20, 1e6]", "an integer in [20, 1e6]"},
    {"dt", CL_OPT_REAL, CL_CMD_PDE, "X", "largest time step of the PDE (TR-BDF2), in (0, 1]", "0.01", F(pde.dt), 0, 0, 1,
     1, 0, "a real in (0, 1]", "in (0, 1]"},
    {"density-out", CL_OPT_PATH, CL_CMD_PDE, "PATH", "write the densities at each dt-out: CSV t,xi,w,p", NULL,
     F(density_out), .flags = CL_OPTF_NOSWEEP},
    {"hist-out", CL_OPT_PATH, CL_CMD_SIMULATE, "PATH",
     "write histograms of w for each value of xi at each dt-out: CSV [run,]t,xi,w,p", NULL, F(hist_out), .flags = CL_OPTF_NOSWEEP, .param = "hist"},
    {"hist-width", CL_OPT_REAL, CL_CMD_SIMULATE, "X", "bin width of --hist-out (bins are [k h, (k+1) h)), > 0", "0.05",
     F(hist_width), 0, 0, 1e100, 1, 1, "a real > 0", "> 0"},
    {"checkpoint", CL_OPT_PATH, RUNS, "PATH", "write a checkpoint to PATH every --checkpoint-every (atomically)", NULL,
     F(checkpoint), .flags = CL_OPTF_NOSWEEP},
    {"checkpoint-every", CL_OPT_REAL, RUNS, "X", "checkpoint interval in t, > 0", "1", F(checkpoint_every), CL_OPTF_NOSWEEP, 0,
     HUGE_HI, 1, 0, "a real > 0", "> 0"},
    {"resume", CL_OPT_PATH, RUNS, "PATH", "resume from a checkpoint written with the same parameters", NULL, F(resume), .flags = CL_OPTF_NOSWEEP},
    {"threshold", CL_OPT_SPECIAL, CL_CMD_FIXED, "[NAME]",
     "no NAME (or m2): write feature,critical_m2 where R = 0 loses stability (M = 1); NAME = lambda, tau, s, rho or "
     "m2_J: the values in --vary NAME=A:B:STEP where the --point changes stability",
     NULL, .flags = CL_OPTF_OPTVALUE | CL_OPTF_NOSWEEP, .set = set_threshold, .get = get_threshold},
    {"point", CL_OPT_SPECIAL, CL_CMD_FIXED, "ID|KIND",
     "the fixed point of --threshold NAME at the first --vary value: its id, or the first of a kind (uninformative, "
     "specialised, shared, rotated, mixed, partial, dead, collapsed: followed on its collapse set)",
     "1", F(point), .set = set_point, .get = get_string},
    {"starts", CL_OPT_INT, CL_CMD_FIXED, "INT", "seeded random Newton starts, in [0, 100000]",
     "12 K for M = 1, 4 K M otherwise", F(starts), CL_OPTF_NEG_UNSET, 0, 100000, 0, 0, "an integer in [0, 100000]",
     "an integer in [0, 100000]"},
    {"terms", CL_OPT_FLAG, CL_CMD_FIXED, "", "append V,V_data,V_noise,b_z,b_e,kappa to each fixed point (M = 1)", NULL,
     F(terms)},
    {"vary", CL_OPT_SPECIAL, CL_CMD_FIXED, "NAME=A:B:STEP",
     "continue the fixed points in a numeric option (bifurcation diagram)", NULL, F(vary), .set = set_vary,
     .get = get_string, .flags = CL_OPTF_NOSWEEP},
    {"directions", CL_OPT_INT, CL_CMD_BASIN, "INT", "random starts R(0) ~ N^-1/2, in [2, 1e7]", "360", F(directions),
     0, 2, 1e7, 0, 0, "an integer", "an integer in [2, 10000000]"},
    /* at most 1e6: from 1e8 on every direction failed at t = 0 (the
     * integrator's smallest step, relative to the span, is above the step
     * the drift allows: exit 1); 1e7 still integrates */
    {"tmax", CL_OPT_REAL, CL_CMD_BASIN, "X", "integration time to reach a fixed point, in (0, 1e6]", "200", F(tmax), 0, 0,
     1e6, 1, 0, "a real in (0, 1e6]", "in (0, 1e6]"},
    {"map", CL_OPT_PATH, CL_CMD_BASIN, "PATH", "also write the fixed point reached from a grid of (R_1, R_2), K = 2",
     NULL, F(map), .flags = CL_OPTF_NOSWEEP},
    {"map-points", CL_OPT_INT, CL_CMD_BASIN, "INT", "grid points per axis of --map, in [2, 1000]", "41", F(map_points),
     0, 2, 1000, 0, 0, "an integer", "an integer in [2, 1000]"},
    {"config", CL_OPT_SPECIAL, ALL, "FILE",
     "read options from FILE (name = value lines; \"quoted\" values may hold #); options apply left to right, the last "
     "wins, and a file's first c replaces earlier --c",
     NULL, .flags = CL_OPTF_NOPRINT | CL_OPTF_NOSWEEP, .set = set_config},
    {"print-config", CL_OPT_FLAG, ALL, "", "print the effective configuration and exit", NULL, F(print_config),
     CL_OPTF_NOPRINT | CL_OPTF_NOSWEEP},
    {"help", CL_OPT_FLAG, ALL | OWN, "", "print this help and exit", NULL, F(help), CL_OPTF_NOPRINT | CL_OPTF_NOSWEEP},
    {"progress", CL_OPT_FLAG, ALL | CL_CMD_SWEEP | CL_CMD_REPRODUCE, "",
     "show progress (what runs, elapsed time, ETA) on stderr even when it is not a terminal", NULL, F(progress),
     CL_OPTF_NOPRINT | CL_OPTF_NOSWEEP},
    {"quiet", CL_OPT_FLAG, ALL | CL_CMD_SWEEP | CL_CMD_REPRODUCE, "", "no progress line and no notes on stderr", NULL,
     F(quiet), CL_OPTF_NOPRINT | CL_OPTF_NOSWEEP},
    {"strict", CL_OPT_FLAG, ALL, "",
     "refuse config-file keys that do not apply to the command (default: skip them, one note)", NULL, F(strict),
     CL_OPTF_NOPRINT | CL_OPTF_NOSWEEP},
    /* sweep, before its COMMAND */
    {"vary", CL_OPT_SPECIAL, CL_CMD_SWEEP, "NAME=A:B:STEP",
     "a numeric option of COMMAND (or m2_J) over A, A + STEP, ..., B; repeat (at most 8) for a grid", NULL,
     .flags = CL_OPTF_NOSWEEP, .set = set_sweep_vary},
    {"shard", CL_OPT_SPECIAL, CL_CMD_SWEEP, "I/N", "run the I-th of N interleaved parts of the grid (job arrays)", NULL,
     .flags = CL_OPTF_NOSWEEP, .set = set_shard},
    {"resume", CL_OPT_FLAG, CL_CMD_SWEEP, "", "keep the complete points of an existing output of the same sweep", NULL,
     F(sweep_resume), CL_OPTF_NOSWEEP},
    {"merge", CL_OPT_FLAG, CL_CMD_SWEEP, "", "merge the outputs of shards (FILE...) into --out", NULL, F(merge),
     CL_OPTF_NOSWEEP},
    {"out", CL_OPT_PATH, CL_CMD_SWEEP, "PATH", "with --merge: the merged output, '-' for stdout", "-", F(merge_out),
     CL_OPTF_NOSWEEP},
    /* sweep, before or after its COMMAND */
    {"summary", CL_OPT_FLAG, CL_CMD_SWEEP, "", "each point's mean and sd over runs (simulate, reduced)", NULL,
     F(sweep_summary), CL_OPTF_NOSWEEP},
    {"final", CL_OPT_FLAG, CL_CMD_SWEEP, "", "only the last time, t = T, of each point", NULL, F(sweep_final),
     CL_OPTF_NOSWEEP},
    {"streams", CL_OPT_SPECIAL, CL_CMD_SWEEP, "MODE",
     "common: every point uses --seed (common random numbers); independent: each point its own streams, seeded "
     "from (seed, point)",
     "common", .flags = CL_OPTF_NOSWEEP, .set = set_streams},
    /* plot */
    {"out", CL_OPT_PATH, CL_CMD_PLOT, "FIG", "the figure, FIG.png or FIG.svg (required)", NULL, F(plot_out),
     CL_OPTF_NOSWEEP},
    {"density", CL_OPT_PATH, CL_CMD_PLOT, "PDE.csv",
     "pde --density-out file: the densities at the time closest to --t, one panel per xi", NULL, F(plot_density),
     CL_OPTF_NOSWEEP},
    {"hist", CL_OPT_PATH, CL_CMD_PLOT, "SIM.csv",
     "simulate --hist-out file; with --density, also prints the L1 distance per xi (CSV xi,t,l1)", NULL,
     F(plot_hist), CL_OPTF_NOSWEEP},
    {"t", CL_OPT_REAL, CL_CMD_PLOT, "T", "time of the densities (the closest in the files), >= 0", "the last",
     F(plot_t), CL_OPTF_NOSWEEP, 0, HUGE_HI, 0, 0, "a real >= 0", ">= 0"},
    {"min-mass", CL_OPT_REAL, CL_CMD_PLOT, "X",
     "the L1 distance merges bins to hold >= X of the PDE's mass, in (0, 1]", "0.05", F(plot_min_mass),
     CL_OPTF_NOSWEEP, 0, 1, 1, 0, "a real in (0, 1]", "in (0, 1]"},
    {"y", CL_OPT_TEXT, CL_CMD_PLOT, "COLUMN", "the column drawn against t from each TRAJ.csv", "cos_1_1", F(plot_y),
     CL_OPTF_NOSWEEP},
    {"x", CL_OPT_TEXT, CL_CMD_PLOT, "PARAM",
     "draw COLUMN against the parameter PARAM of sweep (or fixed --vary) outputs, at the time closest to --t, mean "
     "+- standard error over runs; one curve per value of the other varied parameters and per fixed point",
     NULL, F(plot_x), CL_OPTF_NOSWEEP},
    /* reproduce */
    {"quick", CL_OPT_FLAG, CL_CMD_REPRODUCE, "", "a smaller study, in about a minute", NULL, F(quick),
     CL_OPTF_NOSWEEP},
    {"out", CL_OPT_PATH, CL_CMD_REPRODUCE, "DIR", "the directory of the report, data and figures", "reproduce-out",
     F(repro_dir), CL_OPTF_NOSWEEP},
};
#pragma GCC diagnostic pop
const size_t cl_noptions = sizeof cl_options / sizeof cl_options[0];

const cl_optdesc *cl_option_find(const char *name, cl_command cmd, int *exists) {
  if (exists) *exists = 0;
  for (size_t i = 0; i < cl_noptions; i++)
    if (strcmp(cl_options[i].name, name) == 0) {
      if (exists) *exists = 1;
      if (cl_options[i].cmds & cmd) return &cl_options[i];
    }
  return NULL;
}

/* The parameter name of a row: its .param, or its name with '_' for '-' */
static int param_is(const cl_optdesc *d, const char *p, size_t n) {
  const char *name = d->param ? d->param : d->name;
  if (strlen(name) != n) return 0;
  for (size_t i = 0; i < n; i++)
    if (p[i] != (d->param || name[i] != '-' ? name[i] : '_')) return 0;
  return 1;
}

const char *cl_option_of_param(const char *p, size_t n) {
  for (size_t i = 0; i < cl_noptions; i++)
    if ((cl_options[i].cmds & ALL) && param_is(&cl_options[i], p, n)) return cl_options[i].name;
  return NULL;
}

cl_status cl_option_set(cl_config *cfg, const cl_optdesc *d, const char *v, char *err) {
  return d->set ? d->set(cfg, d, v, err) : set_generic(cfg, d, v, err);
}

void cl_config_visit(const cl_config *cfg, cl_config_visit_fn fn, void *ctx) {
  for (size_t i = 0; i < cl_noptions; i++) {
    const cl_optdesc *d = &cl_options[i];
    if (!(d->cmds & cfg->cmd) || (d->flags & CL_OPTF_NOPRINT)) continue;
    if (d->get) d->get(cfg, d, fn, ctx);
    else get_generic(cfg, d, fn, ctx);
  }
}

int cl_option_sweepable(const char *name) {
  const cl_optdesc *d = cl_option_find(name, ALL, NULL); /* the commands a sweep runs */
  return !d || !(d->flags & CL_OPTF_NOSWEEP);
}

/* ---- rules between options ------------------------------------------------ */

/* Each rule is checked for its commands, in table order, by
 * cl_options_check_rules (main.c, before any work): the first broken one is
 * reported, with its message here and nowhere else. */
static cl_status rule_hist_m1(const cl_config *c, char *err) {
  return c->hist_out[0] && c->model.M != 1 ? cl_fail(err, CL_EINVAL, "--hist-out: needs M = 1") : CL_OK;
}

static cl_status rule_hist_ckpt(const cl_config *c, char *err) {
  return c->hist_out[0] && (c->checkpoint[0] || c->resume[0])
             ? cl_fail(err, CL_EINVAL, "--hist-out: cannot be combined with --checkpoint or --resume")
             : CL_OK;
}

/* --threshold NAME scans the range of --vary NAME=A:B:STEP */
static cl_status rule_threshold_vary(const cl_config *c, char *err) {
  const char *tn = c->threshold_name;
  size_t n = strcspn(c->vary, "=");
  if (c->threshold && tn[0] && (!c->vary[0] || strlen(tn) != n || strncmp(c->vary, tn, n)))
    return cl_fail(err, CL_EINVAL, "--threshold %s: needs --vary %s=A:B:STEP (the range to scan)", tn, tn);
  return CL_OK;
}

static cl_status rule_point(const cl_config *c, char *err) {
  return c->point[0] && !(c->threshold && c->threshold_name[0])
             ? cl_fail(err, CL_EINVAL, "--point: only with --threshold NAME")
             : CL_OK;
}

/* the critical second moments are those of R = 0 with one unit */
static cl_status rule_threshold_m1(const cl_config *c, char *err) {
  return c->threshold && !c->threshold_name[0] && c->model.M != 1
             ? cl_fail(err, CL_EINVAL, "--threshold: needs M = 1")
             : CL_OK;
}

static cl_status rule_terms_m1(const cl_config *c, char *err) {
  return c->terms && !c->threshold && c->model.M != 1
             ? cl_fail(err, CL_EINVAL, "--terms: needs --M 1 (got %d)", c->model.M)
             : CL_OK;
}

/* basin with M >= 2: the probability of each outcome, one batch at a time */
static cl_status rule_basin_multi(const cl_config *c, char *err) {
  if (c->model.M < 2) return CL_OK;
  if (c->map[0]) return cl_fail(err, CL_EINVAL, "--map: needs M = 1");
  if (c->model.B != 1) return cl_fail(err, CL_EINVAL, "--B: basin with M >= 2 needs B = 1");
  if (c->model.g == CL_G_ABS && c->model.lambda != 0)
    return cl_fail(err, CL_EINVAL, "--g: basin with M >= 2 needs g = square where lambda != 0");
  return CL_OK;
}

/* basin with M = 1: which of K >= 2 features is selected; the map is 2-d */
static cl_status rule_basin_m1(const cl_config *c, char *err) {
  if (c->model.M != 1) return CL_OK;
  if (c->model.K < 2) return cl_fail(err, CL_EINVAL, "--c: basin needs at least 2 features (K >= 2)");
  if (c->map[0] && c->model.K != 2) return cl_fail(err, CL_EINVAL, "--map: needs exactly K = 2 features");
  return CL_OK;
}

static const struct {
  unsigned cmds;
  cl_status (*check)(const cl_config *cfg, char *err);
} rules[] = {
    {CL_CMD_SIMULATE, rule_hist_m1},      {CL_CMD_SIMULATE, rule_hist_ckpt}, {CL_CMD_FIXED, rule_threshold_vary},
    {CL_CMD_FIXED, rule_point},           {CL_CMD_FIXED, rule_threshold_m1}, {CL_CMD_FIXED, rule_terms_m1},
    {CL_CMD_BASIN, rule_basin_multi},     {CL_CMD_BASIN, rule_basin_m1},
};

cl_status cl_options_check_rules(const cl_config *cfg, char *err) {
  for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
    cl_status st = (rules[i].cmds & cfg->cmd) ? rules[i].check(cfg, err) : CL_OK;
    if (st) return st;
  }
  return CL_OK;
}

/* ---- commands ----------------------------------------------------------- */

static const struct {
  cl_command cmd;
  const char *name, *description, *usage, *more;
} commands[] = {
    {CL_CMD_SIMULATE, "simulate", "online SGD of the N-dimensional model; order parameters over time", NULL, NULL},
    {CL_CMD_REDUCED, "reduced", "the exact finite-N order-parameter chain (L2), O(1) per step", NULL, NULL},
    {CL_CMD_ODE, "ode", "the limiting ODEs for R and Q (L2 regularizer)", NULL, NULL},
    {CL_CMD_FIXED, "fixed", "fixed points of the ODEs, eigenvalues, stability; --threshold, --vary", NULL, NULL},
    {CL_CMD_BASIN, "basin", "feature-selection probabilities from an uninformative start; --map", NULL, NULL},
    {CL_CMD_SWEEP, "sweep",
     "simulate, reduced, ode, pde, fixed or basin over a parameter grid (--shard, --merge, --resume)",
     "[--vary NAME=A:B:STEP]... [--shard I/N] [--threads N] [--resume] COMMAND [options]\n"
     "       cldyn sweep --merge [--out PATH] FILE...",
     "COMMAND is simulate, reduced, ode, pde, fixed or basin, followed by its own options (its --out is the\n"
     "sweep's output); the output has a `point` column, one column per --vary, then COMMAND's columns.\n"
     "--vary, --summary, --final and --streams may also follow COMMAND; the other options go before it.\n"
     "Each --vary name once; the first varies slowest."},
    {CL_CMD_REPRODUCE, "reproduce", "the paper's three findings: data, figures, report.md (--quick)",
     "[--quick] [--out DIR] [--progress] [--quiet]", NULL},
    {CL_CMD_PDE, "pde", "the McKean-Vlasov PDE for the weights' law (M = 1, any regularizer)", NULL, NULL},
    {CL_CMD_PLOT, "plot", "figures: PDE density vs simulated histogram, trajectories, a quantity against a parameter",
     "--out FIG.png|FIG.svg [--density PDE.csv] [--hist SIM.csv] [--t T]\n"
     "                  [--min-mass X] [--y COLUMN] [--x PARAM] [TRAJ.csv | SWEEP.csv ...]",
     "TRAJ.csv: COLUMN against t of each ode/pde/simulate output; summaries are drawn as mean +- sd;\n"
     "the first column must be t.  --x PARAM SWEEP.csv...: COLUMN against PARAM (see --x).\n"
     "The gnuplot script and data are kept beside the figure (FIG.gp, FIG.dat); `gnuplot FIG.gp` redraws FIG."},
};
#define NCMD (sizeof commands / sizeof commands[0])

int cl_option_like(const char *w) { return w[0] == '-' && w[1] == '-' && isalpha((unsigned char)w[2]); }

void cl_options_help(cl_command cmd, FILE *f) {
  const char *usage = "[--name VALUE | --name=VALUE]...", *more = NULL;
  for (size_t i = 0; i < NCMD; i++)
    if (commands[i].cmd == cmd && commands[i].usage) usage = commands[i].usage, more = commands[i].more;
  fprintf(f, "usage: cldyn %s %s\n\n%s\n\noptions:\n", cl_command_name(cmd), usage, cl_command_description(cmd));
  /* in table order, --help last */
  for (size_t k = 0; k <= cl_noptions; k++) {
    const cl_optdesc *d = k < cl_noptions ? &cl_options[k] : cl_option_find("help", cmd, NULL);
    if (!d || !(d->cmds & cmd) || (k < cl_noptions && !strcmp(d->name, "help"))) continue;
    const cl_optnarrow *n = narrow_of(d, cmd);
    fprintf(f, "  --%-13s %-20s %s", d->name, d->arg, n && n->help ? n->help : d->help);
    for (size_t k = 0; k < sizeof d->notes / sizeof d->notes[0]; k++)
      if (d->notes[k].cmds & cmd) fprintf(f, " (%s)", d->notes[k].text);
    if (d->deflt) fprintf(f, " (default %s)", d->deflt);
    fputc('\n', f);
  }
  if (more) fprintf(f, "\n%s\n", more);
}

const char *cl_command_name(cl_command cmd) {
  for (size_t i = 0; i < NCMD; i++)
    if (commands[i].cmd == cmd) return commands[i].name;
  return "?";
}

cl_command cl_command_from_name(const char *name) {
  for (size_t i = 0; i < NCMD; i++)
    if (strcmp(commands[i].name, name) == 0) return commands[i].cmd;
  return 0;
}

const char *cl_command_description(cl_command cmd) {
  for (size_t i = 0; i < NCMD; i++)
    if (commands[i].cmd == cmd) return commands[i].description;
  return "";
}

void cl_command_list(char *buf, size_t len) {
  size_t off = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < NCMD && off < len; i++)
    off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "", commands[i].name);
}

void cl_commands_help(FILE *f) {
  fprintf(f,
          "cldyn %s - training dynamics of nonlinear contrastive learning in high dimension\n"
          "usage: cldyn COMMAND [--option VALUE]...   (cldyn COMMAND --help for options)\n"
          "commands:\n",
          CL_VERSION);
  for (size_t i = 0; i < NCMD; i++) fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].description);
}

/* ---- did you mean --------------------------------------------------------- */

/* Optimal-string-alignment distance (a transposition counts 1), on words of
 * at most 63 characters. */
static int edit_distance(const char *a, const char *b) {
  size_t n = strlen(a), m = strlen(b);
  if (n > 63 || m > 63) return 99;
  int d[64][64];
  for (size_t i = 0; i <= n; i++) d[i][0] = (int)i;
  for (size_t j = 0; j <= m; j++) d[0][j] = (int)j;
  for (size_t i = 1; i <= n; i++)
    for (size_t j = 1; j <= m; j++) {
      int cost = a[i - 1] != b[j - 1];
      if (cost && tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1])) cost = 1;
      int v = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
      if (d[i - 1][j - 1] + cost < v) v = d[i - 1][j - 1] + cost;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
        v = d[i - 2][j - 2] + 1;
      d[i][j] = v;
    }
  return d[n][m];
}

const char *cl_options_suggest(const char *word, const char *const *cands, size_t n) {
  size_t len = strlen(word);
  /* a slip: one edit in a short word, two in a word of 6 or more letters,
   * and never a change of most of the word */
  int limit = len >= 6 ? 2 : 1, best = limit + 1;
  const char *pick = NULL;
  for (size_t i = 0; i < n; i++) {
    if (!cands[i]) continue;
    int dist = edit_distance(word, cands[i]);
    if (dist < best && (size_t)dist < len && (size_t)dist < strlen(cands[i])) best = dist, pick = cands[i];
  }
  return pick;
}

void cl_option_suggest(const char *name, cl_command cmd, char *buf, size_t len) {
  const char *cands[128];
  size_t n = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < cl_noptions && n < 128; i++) {
    if (!(cl_options[i].cmds & cmd)) continue;
    if (!strcmp(cl_options[i].name, name)) return; /* known: not a slip */
    cands[n++] = cl_options[i].name;
  }
  const char *s = cl_options_suggest(name, cands, n);
  if (s) snprintf(buf, len, "; did you mean '--%s'?", s);
}

void cl_command_suggest(const char *name, char *buf, size_t len) {
  const char *cands[NCMD];
  for (size_t i = 0; i < NCMD; i++) cands[i] = commands[i].name;
  const char *s = cl_options_suggest(name, cands, NCMD);
  buf[0] = '\0';
  if (s) snprintf(buf, len, "; did you mean '%s'?", s);
}
