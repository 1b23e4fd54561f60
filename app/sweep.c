/* Parameter sweeps: the grid, the per-point runs and the merge. */
#include "sweep.h"
#include "options.h"
#include "output.h"
#include "status.h"

#include <ctype.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cldyn/fixed.h"
#include "cldyn/ode.h"
#include "cldyn/reduced.h"
#include "cldyn/runner.h"
#include "cldyn/schedule.h"
#include "cldyn/simulate.h"

#include <jansson.h>
#include <zlib.h>

cl_status cl_vary_parse(const char *spec, cl_vary *v, char *err) {
  const char *eq = strchr(spec, '=');
  if (!eq || eq == spec || (size_t)(eq - spec) >= sizeof v->name)
    return cl_fail(err, CL_EINVAL, "--vary: expected NAME=A:B:STEP (got '%s')", spec);
  snprintf(v->name, sizeof v->name, "%.*s", (int)(eq - spec), spec);
  char rng[256];
  snprintf(rng, sizeof rng, "%s", eq + 1);
  char *c1 = strchr(rng, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
  if (!c1 || !c2) return cl_fail(err, CL_EINVAL, "--vary: expected NAME=A:B:STEP (got '%s')", spec);
  *c1 = *c2 = '\0';
  if (!cl_common_parse_real(rng, &v->a) || !cl_common_parse_real(c1 + 1, &v->b) || !cl_common_parse_real(c2 + 1, &v->step))
    return cl_fail(err, CL_EINVAL, "--vary: malformed number in '%s'", spec);
  if (!cl_vary_name_ok(v->name))
    return cl_fail(err, CL_EINVAL, "--vary: '%s' cannot be varied (only model and numerical options)", v->name);
  if (!(v->step > 0) || v->b < v->a || (v->b - v->a) / v->step > 1e6)
    return cl_fail(err, CL_EINVAL, "--vary: need A <= B and 0 < STEP, at most 1e6 points (got '%s')", spec);
  v->n = (long)floor((v->b - v->a) / v->step + 1e-9) + 1;
  /* the fewest decimals that write A and STEP exactly */
  v->dec = -1;
  for (int d = 0; d <= 15 && v->dec < 0; d++) {
    double sc = pow(10, d), ia = round(v->a * sc), is = round(v->step * sc);
    if (fabs(ia) + (double)(v->n + 1) * is < 9e15 && ia / sc == v->a && is / sc == v->step && is > 0) {
      v->dec = d, v->ia = (long long)ia, v->istep = (long long)is;
      double ib = round(v->b * sc);
      /* B on the decimal lattice: the count in integers */
      if (ib / sc == v->b && fabs(ib) < 1e15) v->n = (long)(((long long)ib - v->ia) / v->istep) + 1;
    }
  }
  if (v->n > 1000001) return cl_fail(err, CL_EINVAL, "--vary: at most 1e6 points (got '%s')", spec);
  return CL_OK;
}

double cl_vary_value(const cl_vary *v, long k) {
  if (v->dec < 0) return v->a + (double)k * v->step;
  return (double)(v->ia + (long long)k * v->istep) / pow(10, v->dec);
}

long cl_sweep_points(const cl_vary *v, int nv) {
  long n = 1;
  for (int i = 0; i < nv; i++) n *= v[i].n;
  return n;
}

/* values of point p (first vary slowest) */
static void point_values(const cl_vary *v, int nv, long p, double *val) {
  for (int i = nv - 1; i >= 0; i--) {
    val[i] = cl_vary_value(&v[i], p % v[i].n);
    p /= v[i].n;
  }
}

void cl_sweep_write_basin(FILE *f, const cl_model *m, const cl_basin_result *res) {
  char b1[32], b2[32];
  fprintf(f, "fixed_point,probability,stderr");
  for (int j = 0; j < m->K; j++) fprintf(f, ",cos_%d_1", j + 1);
  fprintf(f, "\n");
  for (int i = 0; i <= res->nfp; i++) {
    if (i == res->nfp && res->count[i] == 0) break;
    double p = fmin(fmax(res->prob[i], 0), 1);
    if (i < res->nfp) fprintf(f, "%d", i + 1);
    else fprintf(f, "none");
    fprintf(f, ",%s,%s", cl_common_format_real(b1, 32, p), cl_common_format_real(b2, 32, sqrt(p * (1 - p) / (double)res->ndir)));
    for (int j = 0; j < m->K; j++)
      fprintf(f, ",%s", cl_common_format_real(b1, 32, i < res->nfp ? res->fp[i].y[j] / sqrt(res->fp[i].y[m->K]) : NAN));
    fprintf(f, "\n");
  }
}

void cl_sweep_write_basin_multi(FILE *f, const cl_basin_multi_result *res) {
  char b1[32], b2[32];
  fprintf(f, "outcome,probability,stderr,count\n");
  for (int q = 0; q < CL_NKINDS; q++) {
    double p = res->prob[q];
    fprintf(f, "%s,%s,%s,%ld\n", cl_fixed_kind_name(q), cl_common_format_real(b1, 32, p),
            cl_common_format_real(b2, 32, sqrt(p * (1 - p) / (double)res->ndir)), res->count[q]);
  }
}

uint64_t cl_sweep_point_seed(uint64_t seed, long p) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL * ((uint64_t)p + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return (z ^ (z >> 31)) >> 11; /* 53 bits: a valid --seed */
}

/* The last time of every run of tr (a new table), for --final. */
static cl_traj *traj_last(const cl_traj *tr) {
  cl_traj *l;
  if (cl_traj_alloc(tr->K, tr->M, 1, tr->runs, &l, NULL)) return NULL;
  l->t[0] = tr->t[tr->nt - 1];
  for (long long r = 0; r < tr->runs; r++)
    memcpy(cl_traj_row(l, r, 0), tr->data + ((size_t)r * tr->nt + tr->nt - 1) * (size_t)tr->ncol,
           sizeof(double) * (size_t)tr->ncol);
  return l;
}

/* fixed at one point: where the default grid's refusal stops the search,
 * the point redone with the fallback engine (as ode and basin redo a
 * point); note (CL_ERRLEN) says so, and names the orbits whose Jacobian is
 * the fallback's or unknown */
static cl_status fixed_point_rows(const cl_config *c, FILE *f, char *note, char *err) {
  cl_fixed_point *fp = NULL;
  int nf = 0;
  cl_fixed_info info;
  cl_quad_opts q = c->ode.quad;
  const char *name = NULL;
  cl_status st = cl_fixed_find_ex(&c->model, &q, NULL, NULL, 0, &fp, &nf, &info, err);
  if (st && cl_drift_grid_refused(err) && cl_drift_fallback(&c->model, &c->ode.quad, &q, &name)) {
    snprintf(note, CL_ERRLEN, "the grid engine refused a state: the point redone with the %s", name);
    st = cl_fixed_find_ex(&c->model, &q, NULL, NULL, 0, &fp, &nf, &info, err);
  }
  if (!st) {
    cl_quad_opts fq;
    size_t l = strlen(note);
    if (info.jac_fallback && cl_drift_fallback(&c->model, &q, &fq, &name))
      l += (size_t)snprintf(note + l, CL_ERRLEN - l, "%s%d orbit(s) with the Jacobian of the %s (the grid refused its "
                            "difference points)", l ? "; " : "", info.jac_fallback, name);
    if (info.unknown && l < CL_ERRLEN)
      snprintf(note + l, CL_ERRLEN - l, "%s%d orbit(s) of unknown stability", l ? "; " : "", info.unknown);
    cl_fixed_write_header(f, c->model.K, c->model.M, NULL);
    if (cl_fixed_write_rows(f, c->model.K, c->model.M, fp, nf, NULL)) st = cl_fail(err, CL_EIO, "write error");
  }
  free(fp);
  return st;
}

/* The command's table for one configuration, as CSV text (header and
 * rows); note (CL_ERRLEN) gets what a rerun with another engine left
 * ("" if none).  Its messages (and fixed_point_rows') go behind "sweep:
 * point N: CMD: ", so they name no command of their own. */
static cl_status run_point(const cl_config *c, const cl_sweep_opts *so, char **text, size_t *len, char *note,
                           char *err) {
  note[0] = '\0';
  FILE *f = open_memstream(text, len);
  if (!f) return cl_fail(err, CL_ENOMEM, "out of memory");
  cl_status st = CL_OK;
  if (c->cmd == CL_CMD_BASIN) {
    /* one thread per point: the points are the parallel loop */
    if (c->model.M >= 2) {
      cl_basin_multi_result res;
      if (!(st = cl_basin_run_multi(&c->model, &c->ode, c->directions, c->tmax, c->sched.seed, 1, &res, err))) {
        cl_sweep_write_basin_multi(f, &res);
        snprintf(note, CL_ERRLEN, "%s", res.rerun);
      }
    } else {
      cl_basin_result res;
      if (!(st = cl_basin_run(&c->model, &c->ode, c->directions, c->tmax, c->sched.seed, 1, &res, err))) {
        cl_sweep_write_basin(f, &c->model, &res);
        cl_basin_result_free(&res);
      }
    }
  } else if (c->cmd == CL_CMD_FIXED) {
    st = fixed_point_rows(c, f, note, err);
  } else {
    cl_traj *tr = NULL;
    if (c->cmd == CL_CMD_ODE) {
      char info[CL_INFOLEN] = "";
      st = cl_ode_solve(&c->model, &c->sched, &c->ode, &tr, info, err);
      if (!st) cl_ode_rerun_note(&c->model, &c->ode.quad, info, note, CL_ERRLEN);
    }
    else if (c->cmd == CL_CMD_PDE) {
      cl_pde_opts po = c->pde;
      po.quad = c->ode.quad;
      st = cl_pde_solve(&c->model, &c->sched, &po, &tr, NULL, NULL, NULL, err);
    } else
      st = cl_runner_run(c->cmd == CL_CMD_REDUCED ? &cl_engine_reduced : &cl_engine_simulate,
                         &c->model, &c->sched, 1, NULL, &tr, NULL, NULL, err);
    if (!st) st = cl_traj_check_finite(tr, err);
    if (!st && so && so->final) {
      cl_traj *l = traj_last(tr);
      if (!l) st = cl_fail(err, CL_ENOMEM, "out of memory");
      cl_traj_free(tr);
      tr = l;
    }
    if (!st && (so && so->summary ? cl_traj_write_summary(tr, f) : cl_traj_write_csv(tr, f)))
      st = cl_fail(err, CL_ENOMEM, "out of memory");
    cl_traj_free(tr);
  }
  fclose(f);
  return st;
}

static int in_done(const long *done, long ndone, long p) {
  long lo = 0, hi = ndone - 1;
  while (lo <= hi) {
    long mid = (lo + hi) / 2;
    if (done[mid] == p) return 1;
    if (done[mid] < p) lo = mid + 1;
    else hi = mid - 1;
  }
  return 0;
}

cl_status cl_sweep_run(const cl_config *base, const cl_vary *v, int nv, const cl_sweep_opts *so, long shard,
                       long nshards, const long *done, long ndone, int threads, int header, FILE *out, char *err) {
  return cl_sweep_run_part(base, v, nv, so, shard, nshards, 0, 1, done, ndone, threads, header, out, err);
}

/* the commands that take --seed */
#define SEEDED (CL_CMD_SIMULATE | CL_CMD_REDUCED | CL_CMD_ODE | CL_CMD_FIXED | CL_CMD_BASIN)

cl_status cl_sweep_run_part(const cl_config *base, const cl_vary *v, int nv, const cl_sweep_opts *so, long shard,
                            long nshards, long sub, long nsub, const long *done, long ndone, int threads, int header,
                            FILE *out, char *err) {
  long np = cl_sweep_points(v, nv);
  long mine = 0, ndone_now = 0;
  for (long p = 0; p < np; p++)
    mine += !(p % nshards != shard || (p / nshards) % nsub != sub || (done && in_done(done, ndone, p)));
  char **text = calloc((size_t)np, sizeof(char *));
  if (!text) return cl_fail(err, CL_ENOMEM, "sweep: out of memory");
  cl_status st = CL_OK;
  long first_bad = -1;
  char e0[CL_ERRLEN] = "";
  int nth = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic, 1) num_threads(nth)
  for (long p = 0; p < np; p++) {
    if (p % nshards != shard || (p / nshards) % nsub != sub || (done && in_done(done, ndone, p))) continue;
    char e[CL_ERRLEN];
    double val[CL_SWEEP_MAXVARY];
    point_values(v, nv, p, val);
    cl_config *c = malloc(sizeof *c);
    cl_status ps = c ? CL_OK : cl_fail(e, CL_ENOMEM, "out of memory");
    if (c) *c = *base;
    for (int i = 0; i < nv && !ps; i++) ps = cl_config_set_number(c, v[i].name, val[i], e);
    /* independent streams: the point's own seed, whatever the sharding */
    if (!ps && so && so->independent && (c->cmd & SEEDED))
      ps = cl_config_set_number(c, "seed", (double)cl_sweep_point_seed(c->sched.seed, p), e);
    size_t len = 0;
    char *t = NULL, note[CL_ERRLEN] = "";
    int ran = !ps; /* the command's run failed (not the point's values): named in the message */
    if (!ps) ps = run_point(c, so, &t, &len, note, e);
    if (!ps && note[0] && so && so->reruns) {
#pragma omp critical(cl_sweep_rerun)
      {
        cl_sweep_reruns *r = so->reruns;
        if (r->n++ == 0 || p < r->first) r->first = p, snprintf(r->note, sizeof r->note, "%s", note);
      }
    }
    free(c);
    if (so && so->progress) {
#pragma omp critical(cl_sweep_progress)
      so->progress(so->progress_ctx, (double)++ndone_now / (double)(mine ? mine : 1));
    }
    if (ps) {
      free(t);
#pragma omp critical(cl_sweep_err)
      if (first_bad < 0 || p < first_bad) {
        first_bad = p, st = ps;
        /* e fills up to CL_ERRLEN itself: cut with a marker, not mid-word */
        char pre[64];
        snprintf(pre, sizeof pre, "sweep: point %ld: %s%s", p + 1, ran ? cl_command_name(base->cmd) : "",
                 ran ? ": " : "");
        cl_status_fit(e0, sizeof e0, pre, e);
      }
    } else {
      text[p] = t;
    }
  }
  if (st) cl_fail(err, st, "%s", e0);
  /* write in point order: the header from the first table, each row with
   * the point and its values in front */
  int wrote_header = !header;
  for (long p = 0; p < np && !st; p++) {
    if (!text[p]) continue;
    double val[CL_SWEEP_MAXVARY];
    char num[32];
    point_values(v, nv, p, val);
    char *save = NULL, *line = strtok_r(text[p], "\n", &save);
    if (!wrote_header) {
      fprintf(out, "point");
      for (int i = 0; i < nv; i++) fprintf(out, ",%s", v[i].name);
      fprintf(out, ",%s\n", line);
      wrote_header = 1;
    }
    for (line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
      fprintf(out, "%ld", p + 1);
      for (int i = 0; i < nv; i++) fprintf(out, ",%s", cl_common_format_real(num, sizeof num, val[i]));
      fprintf(out, ",%s\n", line);
    }
  }
  for (long p = 0; p < np; p++) free(text[p]);
  free(text);
  if (!st && ferror(out)) st = cl_fail(err, CL_EIO, "sweep: error writing the output");
  return st;
}

/* ---- identity ---- */

_Static_assert(CL_CONFIG_MAXVARY == CL_SWEEP_MAXVARY, "one limit on --vary");

int cl_vary_name_ok(const char *name) { return cl_option_sweepable(name); }

typedef struct {
  char *s;
  size_t len, cap;
  int oom;
} tbuf;

static void tb_add(tbuf *b, const char *a, const char *c) {
  size_t need = strlen(a) + strlen(c) + 3;
  if (b->oom) return;
  if (b->len + need >= b->cap) {
    size_t cap = 2 * (b->cap + need);
    char *n = realloc(b->s, cap);
    if (!n) {
      b->oom = 1;
      return;
    }
    b->s = n, b->cap = cap;
  }
  b->len += (size_t)sprintf(b->s + b->len, "%s=%s\n", a, c);
}

static void id_visit(void *ctx, const char *name, const char *value) {
  if (!cl_vary_name_ok(name) && strcmp(name, "vary")) return;
  if (!strcmp(name, "vary")) return;
  tb_add(ctx, name, value);
}

cl_status cl_sweep_identity(const cl_config *base, const cl_vary *v, int nv, const cl_sweep_opts *so, long shard,
                            long nshards, cl_sweep_id *id, char *err) {
  tbuf b = {0};
  tb_add(&b, "command", cl_command_name(base->cmd));
  /* the layout and the streams change the rows */
  if (so && so->summary) tb_add(&b, "sweep", "summary");
  if (so && so->final) tb_add(&b, "sweep", "final");
  if (so && so->independent) tb_add(&b, "streams", "independent");
  cl_config_visit(base, id_visit, &b);
  int varies_rows = 0;
  for (int i = 0; i < nv; i++) {
    char spec[160];
    snprintf(spec, sizeof spec, "%.17g:%.17g:%.17g:%ld", v[i].a, v[i].b, v[i].step, v[i].n);
    tb_add(&b, v[i].name, spec);
    varies_rows |= !strcmp(v[i].name, "T") || !strcmp(v[i].name, "dt-out") || !strcmp(v[i].name, "runs");
  }
  if (b.oom) return free(b.s), cl_fail(err, CL_ENOMEM, "sweep: out of memory");
  uLong c1 = crc32(0, (const Bytef *)b.s, (uInt)b.len), c2 = adler32(1, (const Bytef *)b.s, (uInt)b.len);
  free(b.s);
  snprintf(id->fp, sizeof id->fp, "%08lx%08lx", c1 & 0xffffffffUL, c2 & 0xffffffffUL);
  id->points = cl_sweep_points(v, nv);
  id->shard = shard, id->nshards = nshards;
  long nt = (long)cl_schedule_nt(&base->sched);
  int per_run = (base->cmd == CL_CMD_SIMULATE || base->cmd == CL_CMD_REDUCED) && !(so && so->summary);
  if (so && so->final) nt = 1;
  if (base->cmd == CL_CMD_FIXED || base->cmd == CL_CMD_BASIN || varies_rows) id->rows_per_point = 0;
  else id->rows_per_point = nt * (per_run ? (long)base->sched.runs : 1);
  return CL_OK;
}

const char *const *cl_sweep_id_kv(const cl_sweep_id *id, char buf[4][32], const char *kv[9]) {
  snprintf(buf[0], 32, "%s", id->fp);
  snprintf(buf[1], 32, "%ld", id->points);
  snprintf(buf[2], 32, "%ld", id->rows_per_point);
  snprintf(buf[3], 32, "%ld/%ld", id->shard + 1, id->nshards);
  kv[0] = "sweep_fingerprint", kv[1] = buf[0], kv[2] = "sweep_points", kv[3] = buf[1];
  kv[4] = "sweep_rows_per_point", kv[5] = buf[2], kv[6] = "sweep_shard", kv[7] = buf[3], kv[8] = NULL;
  return kv;
}

cl_status cl_sweep_read_id(const char *path, cl_sweep_id *id, char *err) {
  char jp[CL_PATHLEN + 8];
  snprintf(jp, sizeof jp, "%s.json", path);
  json_error_t je;
  json_t *root = json_load_file(jp, 0, &je);
  const char *f = root ? json_string_value(json_object_get(root, "sweep_fingerprint")) : NULL,
             *p = root ? json_string_value(json_object_get(root, "sweep_points")) : NULL,
             *r = root ? json_string_value(json_object_get(root, "sweep_rows_per_point")) : NULL,
             *sh = root ? json_string_value(json_object_get(root, "sweep_shard")) : NULL;
  char extra;
  int ok = f && p && r && sh && strlen(f) == 16 && sscanf(p, "%ld%c", &id->points, &extra) == 1 &&
           sscanf(r, "%ld%c", &id->rows_per_point, &extra) == 1 &&
           sscanf(sh, "%ld/%ld%c", &id->shard, &id->nshards, &extra) == 2 && id->points > 0 &&
           id->rows_per_point >= 0 && id->nshards >= 1 && id->shard >= 1 && id->shard <= id->nshards;
  if (ok) snprintf(id->fp, sizeof id->fp, "%s", f), id->shard--;
  json_decref(root);
  if (!ok)
    return cl_fail(err, CL_EINVAL, "'%s': no sweep fingerprint in '%s' (missing or not written by a cldyn sweep)",
                   path, jp);
  return CL_OK;
}

/* ---- merge ---- */

typedef struct {
  long point, order;
  int file;
  char *line;
} row;

static int cmp_row(const void *a, const void *b) {
  const row *x = a, *y = b;
  if (x->point != y->point) return x->point < y->point ? -1 : 1;
  return (x->order > y->order) - (x->order < y->order);
}

static long ncols(const char *line) {
  long n = 1;
  for (; *line; line++) n += *line == ',';
  return n;
}

/* Every field of a row written by cldyn is a finite number, or a word
 * (stable, mixed, ...: a letter, then letters, digits and _ : + . -).
 * Anything else (a number with a tail, an empty field, nan, a control
 * byte) is a damaged row. */
static int row_fields_ok(const char *line) {
  for (const char *f = line;;) {
    const char *e = strchr(f, ',');
    size_t n = e ? (size_t)(e - f) : strlen(f);
    char buf[64];
    if (n == 0 || n >= sizeof buf) return 0;
    memcpy(buf, f, n), buf[n] = '\0';
    char *end;
    double v = strtod(buf, &end);
    int word = isalpha((unsigned char)buf[0]) != 0;
    for (size_t k = 1; word && k < n; k++)
      word = isalnum((unsigned char)buf[k]) || strchr("_:+.-", buf[k]);
    if (word && (!strcasecmp(buf, "nan") || !strncasecmp(buf, "inf", 3))) word = 0;
    if (!word && (end == buf || *end || !isfinite(v))) return 0;
    if (!e) return 1;
    f = e + 1;
  }
}

cl_status cl_sweep_merge(char **paths, const cl_sweep_id *ids, int npaths, const cl_sweep_id *want, FILE *out,
                         char *err) {
  row *rows = NULL;
  long nrows = 0, cap = 0, hcols = 0;
  char *header = NULL;
  cl_status st = CL_OK;
  for (int i = 0; i < npaths && !st; i++) {
    if (strcmp(ids[i].fp, want->fp) || ids[i].points != want->points ||
        ids[i].rows_per_point != want->rows_per_point) {
      st = cl_fail(err, CL_EINVAL,
                   "--merge: '%s' is from another sweep (fingerprint %s, %ld points, %ld rows per point; expected %s, "
                   "%ld points, %ld rows per point)",
                   paths[i], ids[i].fp, ids[i].points, ids[i].rows_per_point, want->fp, want->points,
                   want->rows_per_point);
      break;
    }
    FILE *f = fopen(paths[i], "r");
    if (!f) {
      st = cl_fail(err, CL_EINVAL, "--merge: cannot read '%s'", paths[i]);
      break;
    }
    char *line = NULL;
    size_t n = 0;
    ssize_t got;
    long lineno = 0;
    while (!st && (got = getline(&line, &n, f)) > 0) {
      lineno++;
      if (line[got - 1] != '\n' || strlen(line) != (size_t)got) {
        st = cl_fail(err, CL_EINVAL, "--merge: '%s' line %ld is cut short (or holds a NUL byte)", paths[i], lineno);
        break;
      }
      line[got - 1] = '\0';
      if (lineno == 1) {
        if (!header) header = strdup(line), hcols = ncols(line);
        if (!header) st = cl_fail(err, CL_ENOMEM, "--merge: out of memory");
        else if (strcmp(header, line) != 0)
          st = cl_fail(err, CL_EINVAL, "--merge: '%s' has another header than the first input", paths[i]);
        continue;
      }
      char *end;
      long pt = strtol(line, &end, 10);
      if (end == line || *end != ',' || ncols(line) != hcols) {
        st = cl_fail(err, CL_EINVAL, "--merge: '%s' line %ld: expected %ld columns starting with a point index",
                     paths[i], lineno, hcols);
        break;
      }
      if (!row_fields_ok(line)) {
        st = cl_fail(err, CL_EINVAL, "--merge: '%s' line %ld: a field is neither a finite number nor a word",
                     paths[i], lineno);
        break;
      }
      if (pt < 1 || pt > want->points || (pt - 1) % want->nshards != want->shard) {
        st = cl_fail(err, CL_EINVAL, "--merge: '%s' line %ld: point %ld is not in the grid's %s %ld/%ld", paths[i],
                     lineno, pt, want->nshards > 1 ? "shard" : "points", want->shard + 1, want->nshards);
        break;
      }
      if (nrows == cap) {
        long nc = cap ? 2 * cap : 1024;
        row *nr = realloc(rows, sizeof *rows * (size_t)nc);
        if (!nr) {
          st = cl_fail(err, CL_ENOMEM, "--merge: out of memory");
          break;
        }
        rows = nr, cap = nc;
      }
      rows[nrows] = (row){pt, nrows, i, strdup(line)};
      if (!rows[nrows].line) st = cl_fail(err, CL_ENOMEM, "--merge: out of memory");
      nrows++;
    }
    free(line);
    fclose(f);
  }
  if (!st && !header) st = cl_fail(err, CL_EINVAL, "--merge: no input rows");
  if (!st) {
    if (nrows) qsort(rows, (size_t)nrows, sizeof *rows, cmp_row);
    /* every point of the shard exactly once, from one input, with its rows */
    long k = 0;
    for (long p = want->shard; p < want->points && !st; p += want->nshards) {
      long a = k;
      while (k < nrows && rows[k].point == p + 1) k++;
      if (k == a) st = cl_fail(err, CL_EINVAL, "--merge: point %ld is missing (a missing shard or input?)", p + 1);
      else if (rows[k - 1].file != rows[a].file)
        st = cl_fail(err, CL_EINVAL, "--merge: point %ld is in both '%s' and '%s'", p + 1, paths[rows[a].file],
                     paths[rows[k - 1].file]);
      else if (want->rows_per_point > 0 && k - a != want->rows_per_point)
        st = cl_fail(err, CL_EINVAL, "--merge: point %ld has %ld rows in '%s' (expected %ld)", p + 1, k - a,
                     paths[rows[a].file], want->rows_per_point);
    }
  }
  if (!st) {
    fprintf(out, "%s\n", header);
    for (long k = 0; k < nrows; k++) fprintf(out, "%s\n", rows[k].line);
    if (ferror(out)) st = cl_fail(err, CL_EIO, "--merge: write error");
  }
  for (long k = 0; k < nrows; k++) free(rows[k].line);
  free(rows);
  free(header);
  return st;
}

cl_status cl_sweep_scan_done(const char *path, const cl_sweep_id *id, long **done, long *ndone, FILE *clean,
                             char *err) {
  *done = NULL, *ndone = 0;
  FILE *f = fopen(path, "r");
  if (!f) return cl_fail(err, CL_EINVAL, "--resume: cannot read '%s'", path);
  long np = id->points, hcols = 0, lineno = 0;
  long *cnt = calloc((size_t)np, sizeof(long));
  char *line = NULL;
  size_t n = 0;
  ssize_t got;
  long last = -1;
  cl_status st = cnt ? CL_OK : cl_fail(err, CL_ENOMEM, "--resume: out of memory");
  /* pass 1: rows per point, from whole lines with the right columns */
  while (!st && (got = getline(&line, &n, f)) > 0) {
    int whole = line[got - 1] == '\n' && strlen(line) == (size_t)got;
    if (++lineno == 1) {
      if (!whole) break;
      line[got - 1] = '\0';
      hcols = ncols(line);
      fprintf(clean, "%s\n", line);
      continue;
    }
    char *end;
    long pt = strtol(line, &end, 10);
    if (end == line || *end != ',' || pt < 1 || pt > np) break; /* a damaged tail: stop here */
    if (!whole || (line[got - 1] = '\0', ncols(line) != hcols || !row_fields_ok(line))) {
      cnt[pt - 1] = -1; /* a point cut short */
      break;
    }
    if (cnt[pt - 1] >= 0) cnt[pt - 1]++;
    last = pt - 1;
  }
  /* with a variable row count the last point may be incomplete: redo it */
  if (!st && id->rows_per_point == 0 && last >= 0) cnt[last] = -1;
  long *d = st ? NULL : malloc(sizeof(long) * (size_t)np);
  if (!st && !d) st = cl_fail(err, CL_ENOMEM, "--resume: out of memory");
  for (long p = 0; !st && p < np; p++)
    if (cnt[p] > 0 && (id->rows_per_point == 0 || cnt[p] == id->rows_per_point)) d[(*ndone)++] = p;
  /* pass 2: the rows of complete points */
  if (!st && hcols) {
    rewind(f);
    lineno = 0;
    while ((got = getline(&line, &n, f)) > 0) {
      if (++lineno == 1) continue;
      char *end;
      long pt = strtol(line, &end, 10);
      if (end == line || pt < 1 || pt > np || line[got - 1] != '\n') break;
      long lo = 0, hi = *ndone - 1, hit = 0;
      while (lo <= hi && !hit) {
        long mid = (lo + hi) / 2;
        if (d[mid] == pt - 1) hit = 1;
        else if (d[mid] < pt - 1) lo = mid + 1;
        else hi = mid - 1;
      }
      if (hit) fputs(line, clean);
    }
  }
  free(line);
  free(cnt);
  fclose(f);
  if (st) return free(d), st;
  if (ferror(clean)) return free(d), *ndone = 0, cl_fail(err, CL_EIO, "--resume: write error");
  *done = d;
  return CL_OK;
}
