/* Parameter sweeps: the grid, the per-point runs and the merge. */
#include "cldyn/sweep.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cldyn/fixed.h"
#include "cldyn/ode.h"
#include "cldyn/runner.h"

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
  if (!cl_parse_real(rng, &v->a) || !cl_parse_real(c1 + 1, &v->b) || !cl_parse_real(c2 + 1, &v->step))
    return cl_fail(err, CL_EINVAL, "--vary: malformed number in '%s'", spec);
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

/* The command's table for one configuration, as CSV text (header and rows). */
static cl_status run_point(const cl_config *c, char **text, size_t *len, char *err) {
  FILE *f = open_memstream(text, len);
  if (!f) return cl_fail(err, CL_ENOMEM, "sweep: out of memory");
  cl_status st = CL_OK;
  if (c->cmd == CL_CMD_FIXED) {
    cl_fixed_point *fp = NULL;
    int nf = 0;
    if (!(st = cl_fixed_find(&c->model, &c->ode.quad, NULL, 0, &fp, &nf, err))) {
      cl_fixed_write_header(f, c->model.K, c->model.M, NULL);
      if (cl_fixed_write_rows(f, c->model.K, c->model.M, fp, nf, NULL)) st = cl_fail(err, CL_EIO, "sweep: write error");
    }
    free(fp);
  } else {
    cl_traj *tr = NULL;
    if (c->cmd == CL_CMD_ODE) st = cl_ode_solve(&c->model, &c->sched, &c->ode, &tr, NULL, err);
    else if (c->cmd == CL_CMD_PDE) {
      cl_pde_opts po = c->pde;
      po.quad = c->ode.quad;
      st = cl_pde_solve(&c->model, &c->sched, &po, &tr, NULL, NULL, NULL, err);
    } else
      st = cl_run_engine(c->cmd == CL_CMD_REDUCED ? &cl_engine_reduced : &cl_engine_simulate,
                         &c->model, &c->sched, 1, NULL, &tr, NULL, NULL, err);
    if (!st) st = cl_traj_check_finite(tr, err);
    if (!st && cl_traj_write_csv(tr, f)) st = cl_fail(err, CL_ENOMEM, "sweep: out of memory");
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

cl_status cl_sweep_run(const cl_config *base, const cl_vary *v, int nv, long shard, long nshards,
                       const long *done, long ndone, int threads, int header, FILE *out, char *err) {
  long np = cl_sweep_points(v, nv);
  char **text = calloc((size_t)np, sizeof(char *));
  if (!text) return cl_fail(err, CL_ENOMEM, "sweep: out of memory");
  cl_status st = CL_OK;
  long first_bad = -1;
  char e0[CL_ERRLEN] = "";
  int nth = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic, 1) num_threads(nth)
  for (long p = 0; p < np; p++) {
    if (p % nshards != shard || (done && in_done(done, ndone, p))) continue;
    char e[CL_ERRLEN];
    double val[CL_SWEEP_MAXVARY];
    point_values(v, nv, p, val);
    cl_config *c = malloc(sizeof *c);
    *c = *base;
    cl_status ps = CL_OK;
    for (int i = 0; i < nv && !ps; i++) ps = cl_config_set_number(c, v[i].name, val[i], e);
    size_t len = 0;
    char *t = NULL;
    if (!ps) ps = run_point(c, &t, &len, e);
    free(c);
    if (ps) {
      free(t);
#pragma omp critical(cl_sweep_err)
      if (first_bad < 0 || p < first_bad) {
        first_bad = p, st = ps;
        snprintf(e0, sizeof e0, "sweep: point %ld: %.400s", p + 1, e);
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
      for (int i = 0; i < nv; i++) fprintf(out, ",%s", cl_fmt_real(num, sizeof num, val[i]));
      fprintf(out, ",%s\n", line);
    }
  }
  for (long p = 0; p < np; p++) free(text[p]);
  free(text);
  if (!st && ferror(out)) st = cl_fail(err, CL_EIO, "sweep: error writing the output");
  return st;
}

typedef struct {
  long point, order;
  char *line;
} row;

static int cmp_row(const void *a, const void *b) {
  const row *x = a, *y = b;
  if (x->point != y->point) return x->point < y->point ? -1 : 1;
  return (x->order > y->order) - (x->order < y->order);
}

cl_status cl_sweep_merge(char **paths, int npaths, FILE *out, char *err) {
  row *rows = NULL;
  long nrows = 0, cap = 0;
  char *header = NULL;
  cl_status st = CL_OK;
  for (int i = 0; i < npaths && !st; i++) {
    FILE *f = fopen(paths[i], "r");
    if (!f) {
      st = cl_fail(err, CL_EINVAL, "--merge: cannot read '%s'", paths[i]);
      break;
    }
    char *line = NULL;
    size_t n = 0;
    ssize_t got;
    long lineno = 0;
    while ((got = getline(&line, &n, f)) > 0) {
      if (line[got - 1] == '\n') line[got - 1] = '\0';
      if (lineno++ == 0) {
        if (!header) header = strdup(line);
        else if (strcmp(header, line) != 0) {
          st = cl_fail(err, CL_EINVAL, "--merge: '%s' has another header than '%s'", paths[i], paths[0]);
          break;
        }
        continue;
      }
      if (!*line) continue;
      char *end;
      long pt = strtol(line, &end, 10);
      if (end == line || *end != ',') {
        st = cl_fail(err, CL_EINVAL, "--merge: '%s' line %ld does not start with a point index", paths[i], lineno);
        break;
      }
      if (nrows == cap) cap = cap ? 2 * cap : 1024, rows = realloc(rows, sizeof *rows * (size_t)cap);
      rows[nrows].point = pt, rows[nrows].order = nrows, rows[nrows].line = strdup(line);
      nrows++;
    }
    free(line);
    fclose(f);
  }
  if (!st && !header) st = cl_fail(err, CL_EINVAL, "--merge: no input rows");
  if (!st) {
    qsort(rows, (size_t)nrows, sizeof *rows, cmp_row);
    fprintf(out, "%s\n", header);
    /* a point present in two inputs (a resumed file) is kept once */
    for (long k = 0; k < nrows; k++) {
      if (k > 0 && rows[k].point == rows[k - 1].point && rows[k].order != rows[k - 1].order + 1) {
        long p = rows[k].point;
        while (k < nrows && rows[k].point == p) k++;
        k--;
        continue;
      }
      fprintf(out, "%s\n", rows[k].line);
    }
  }
  for (long k = 0; k < nrows; k++) free(rows[k].line);
  free(rows);
  free(header);
  return st;
}
