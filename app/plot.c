/* Density files, their L1 distance, and gnuplot figures (plot.h). */
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  int run, t, w, p, xi[CL_KMAX], K, ncol;
} dens_cols;

static cl_status parse_header(char *line, dens_cols *c, const char *path, char *err) {
  memset(c, -1, sizeof *c);
  c->K = 0;
  int col = 0;
  for (char *tok = strtok(line, ",\r\n"); tok; tok = strtok(NULL, ",\r\n"), col++) {
    if (!strcmp(tok, "run")) c->run = col;
    else if (!strcmp(tok, "t")) c->t = col;
    else if (!strcmp(tok, "w")) c->w = col;
    else if (!strcmp(tok, "p")) c->p = col;
    else if (!strcmp(tok, "xi")) c->xi[0] = col, c->K = c->K > 1 ? c->K : 1;
    else if (!strncmp(tok, "xi_", 3)) {
      int j = atoi(tok + 3);
      if (j < 1 || j > CL_KMAX) return cl_fail(err, CL_EINVAL, "plot: '%s': bad column '%s'", path, tok);
      c->xi[j - 1] = col;
      if (j > c->K) c->K = j;
    }
  }
  c->ncol = col;
  int ok = c->t >= 0 && c->w >= 0 && c->p >= 0 && c->K >= 1;
  for (int j = 0; j < c->K; j++) ok &= c->xi[j] >= 0;
  if (!ok)
    return cl_fail(err, CL_EINVAL, "plot: '%s' is not a density file (expected columns [run,]t,xi,w,p)", path);
  return CL_OK;
}

static int parse_row(char *line, const dens_cols *c, double *v) {
  int col = 0;
  char *s = line, *end;
  for (;;) {
    if (col >= 64 + CL_KMAX) return 0;
    v[col] = strtod(s, &end);
    if (end == s) return 0;
    col++;
    if (*end != ',') break;
    s = end + 1;
  }
  return col == c->ncol;
}

void cl_dens_free(cl_dens_set *s) {
  if (!s->c) return;
  for (int i = 0; i < s->ncls; i++) free(s->c[i].p);
  free(s->c);
  s->c = NULL;
}

int cl_dens_find(const cl_dens_set *s, const double *xi) {
  for (int i = 0; i < s->ncls; i++) {
    int same = 1;
    for (int j = 0; j < s->K; j++) same &= fabs(s->c[i].xi[j] - xi[j]) < 1e-6 * (1 + fabs(xi[j]));
    if (same) return i;
  }
  return -1;
}

typedef struct {
  double w, p;
  int cls, run;
} drow;

cl_status cl_dens_read(const char *path, double t, cl_dens_set *out, char *err) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "r");
  if (!f) return cl_fail(err, CL_EINVAL, "plot: cannot read '%s'", path);
  char line[8192];
  dens_cols c;
  cl_status st = CL_OK;
  if (!fgets(line, sizeof line, f) || (st = parse_header(line, &c, path, err))) {
    fclose(f);
    return st ? st : cl_fail(err, CL_EINVAL, "plot: '%s' is empty", path);
  }
  double v[64 + CL_KMAX];
  /* pass 1: the time closest to t */
  double best = NAN;
  long nrow = 0;
  while (fgets(line, sizeof line, f)) {
    if (!parse_row(line, &c, v)) {
      fclose(f);
      return cl_fail(err, CL_EINVAL, "plot: '%s': malformed row %ld", path, nrow + 2);
    }
    nrow++;
    double tt = v[c.t];
    if (isnan(best) || (isnan(t) ? tt > best : fabs(tt - t) < fabs(best - t))) best = tt;
  }
  if (!nrow) {
    fclose(f);
    return cl_fail(err, CL_EINVAL, "plot: '%s' has no rows", path);
  }
  /* pass 2: the rows at that time */
  rewind(f);
  if (!fgets(line, sizeof line, f)) {
    fclose(f);
    return cl_fail(err, CL_EIO, "plot: cannot read '%s'", path);
  }
  size_t nr = 0, cap = 1024;
  drow *rows = malloc(sizeof *rows * cap);
  out->K = c.K, out->t = best;
  int maxrun = 0;
  while (fgets(line, sizeof line, f) && rows) {
    if (!parse_row(line, &c, v) || v[c.t] != best) continue;
    double xi[CL_KMAX];
    for (int j = 0; j < c.K; j++) xi[j] = v[c.xi[j]];
    int k = cl_dens_find(out, xi);
    if (k < 0) {
      cl_dens_class *nc = realloc(out->c, sizeof *nc * (size_t)(out->ncls + 1));
      if (!nc) break;
      out->c = nc;
      k = out->ncls++;
      memset(&out->c[k], 0, sizeof out->c[k]);
      memcpy(out->c[k].xi, xi, sizeof(double) * (size_t)c.K);
      out->c[k].h = INFINITY;
    }
    if (nr == cap) {
      drow *nrw = realloc(rows, sizeof *rows * (cap *= 2));
      if (!nrw) break;
      rows = nrw;
    }
    int run = c.run >= 0 ? (int)v[c.run] : 1;
    if (run > maxrun) maxrun = run;
    rows[nr++] = (drow){v[c.w], v[c.p], k, run};
  }
  fclose(f);
  if (!rows) return cl_dens_free(out), cl_fail(err, CL_ENOMEM, "plot: out of memory");
  out->runs = maxrun;
  /* the lattice width of each class: the smallest gap between centres of
   * consecutive rows of one run */
  for (size_t i = 1; i < nr; i++)
    if (rows[i].cls == rows[i - 1].cls && rows[i].run == rows[i - 1].run) {
      double d = rows[i].w - rows[i - 1].w;
      if (d > 0 && d < out->c[rows[i].cls].h) out->c[rows[i].cls].h = d;
    }
  for (int k = 0; k < out->ncls; k++) {
    cl_dens_class *cl = &out->c[k];
    if (!isfinite(cl->h)) cl->h = 1;
    long lo = 0, hi = 0;
    int first = 1;
    for (size_t i = 0; i < nr; i++)
      if (rows[i].cls == k) {
        long q = lround(rows[i].w / cl->h - 0.5);
        if (first || q < lo) lo = q;
        if (first || q > hi) hi = q;
        first = 0;
      }
    cl->lo = lo, cl->n = (size_t)(hi - lo + 1);
    cl->p = calloc(cl->n, sizeof(double));
    int *seen = calloc((size_t)maxrun + 1, sizeof(int));
    for (size_t i = 0; i < nr && cl->p && seen; i++)
      if (rows[i].cls == k) {
        cl->p[lround(rows[i].w / cl->h - 0.5) - lo] += rows[i].p;
        seen[rows[i].run] = 1;
      }
    int nrun = 0;
    for (int r = 0; r <= maxrun && seen; r++) nrun += seen[r];
    free(seen);
    if (!cl->p) {
      free(rows);
      cl_dens_free(out);
      return cl_fail(err, CL_ENOMEM, "plot: out of memory");
    }
    for (size_t i = 0; i < cl->n; i++) cl->p[i] /= nrun > 0 ? nrun : 1;
  }
  free(rows);
  return CL_OK;
}

double cl_dens_l1(const cl_dens_class *th, const cl_dens_class *hs, double minmass) {
  double h = hs->h;
  /* the union range on the histogram's lattice */
  long klo = hs->lo, khi = hs->lo + (long)hs->n - 1;
  long tlo = (long)floor((double)th->lo * th->h / h), thi = (long)floor(((double)th->lo + (double)th->n) * th->h / h);
  if (tlo < klo) klo = tlo;
  if (thi > khi) khi = thi;
  size_t nb = (size_t)(khi - klo + 1);
  double *tm = calloc(nb, sizeof(double));
  if (!tm) return NAN;
  /* theory mass of each histogram bin: exact overlap of cells and bins */
  for (size_t i = 0; i < th->n; i++) {
    double a = ((double)th->lo + (double)i) * th->h, b = a + th->h, m = th->p[i];
    if (m == 0) continue;
    for (long k = (long)floor(a / h); k <= khi && (double)k * h < b; k++) {
      double ov = fmin(b, (double)(k + 1) * h) - fmax(a, (double)k * h);
      if (ov > 0 && k >= klo) tm[k - klo] += m * ov;
    }
  }
  double dist = 0, gt = 0, gh = 0;
  for (size_t i = 0; i < nb; i++) {
    long k = klo + (long)i;
    gt += tm[i];
    if (k >= hs->lo && k < hs->lo + (long)hs->n) gh += hs->p[k - hs->lo] * h;
    if (gt >= minmass || i + 1 == nb) dist += fabs(gt - gh), gt = gh = 0;
  }
  free(tm);
  return dist;
}

/* Run gnuplot on `gp`, which writes `tmp`, then rename onto `out`. */
static cl_status run_gnuplot(const char *gp, const char *tmp, const char *out, char *err) {
  char cmd[9000];
  snprintf(cmd, sizeof cmd, "gnuplot '%s' 2>&1", gp);
  FILE *pp = popen(cmd, "r");
  if (!pp) return cl_fail(err, CL_EIO, "plot: cannot run gnuplot (apt-get install gnuplot-nox)");
  char msg[512] = "";
  while (fgets(msg, sizeof msg, pp)) {
  }
  int rc = pclose(pp);
  if (rc != 0 || access(tmp, F_OK) != 0) {
    unlink(tmp);
    msg[strcspn(msg, "\n")] = '\0';
    return cl_fail(err, CL_EIO, "plot: gnuplot failed on '%s'%s%s (is gnuplot-nox installed?)", gp,
                   msg[0] ? ": " : "", msg);
  }
  if (rename(tmp, out) != 0) {
    unlink(tmp);
    return cl_fail(err, CL_EIO, "plot: cannot write '%s'", out);
  }
  return CL_OK;
}

static const char *terminal(const char *out) {
  size_t n = strlen(out);
  return n > 4 && !strcmp(out + n - 4, ".svg") ? "svg size 900,600 dynamic noenhanced" : "pngcairo size 900,600 noenhanced";
}

cl_status cl_plot_check_out(const char *out, char *err) {
  size_t n = strlen(out);
  if (n < 5 || (strcmp(out + n - 4, ".png") && strcmp(out + n - 4, ".svg")))
    return cl_fail(err, CL_EINVAL, "--out: the figure's path must end in .png or .svg (got '%s')", out);
  return CL_OK;
}

static void fmt_xi(const cl_dens_set *s, int k, char *buf, size_t len) {
  size_t off = (size_t)snprintf(buf, len, "xi = ");
  for (int j = 0; j < s->K && off < len; j++)
    off += (size_t)snprintf(buf + off, len - off, "%s%.4g", j ? "," : "", s->c[k].xi[j]);
}

void cl_density_overlay(const cl_dens_set *th, const cl_dens_set *hs, FILE *g, FILE *d,
                        const char *datname) {
  const cl_dens_set *base = th ? th : hs;
  /* data: one gnuplot index per (class, source): theory then histogram */
  int npanel = base->ncls < 9 ? base->ncls : 9;
  for (int k = 0; k < npanel; k++)
    for (int src = 0; src < 2; src++) {
      const cl_dens_set *s = src ? hs : th;
      int q = s ? cl_dens_find(s, base->c[k].xi) : -1;
      fprintf(d, "# %s\n", src ? "histogram" : "theory");
      if (q >= 0)
        for (size_t i = 0; i < s->c[q].n; i++)
          fprintf(d, "%.10g %.10g\n", ((double)s->c[q].lo + (double)i + 0.5) * s->c[q].h, s->c[q].p[i]);
      else fprintf(d, "nan nan\n");
      fprintf(d, "\n\n");
    }
  int cols = npanel < 3 ? npanel : 3, rows = (npanel + cols - 1) / cols;
  fprintf(g, "set datafile separator whitespace\nset multiplot layout %d,%d title 't = %g'\n"
             "set grid\nset xlabel 'w'\nset ylabel 'density'\nset key below\n",
          rows, cols, base->t);
  for (int k = 0; k < npanel; k++) {
    char xs[64 * CL_KMAX];
    fmt_xi(base, k, xs, sizeof xs);
    /* the range where either density exceeds 1e-3 of its peak */
    double a = INFINITY, b = -INFINITY;
    for (int src = 0; src < 2; src++) {
      const cl_dens_set *s = src ? hs : th;
      int q = s ? cl_dens_find(s, base->c[k].xi) : -1;
      if (q < 0) continue;
      double mx = 0;
      for (size_t i = 0; i < s->c[q].n; i++) mx = fmax(mx, s->c[q].p[i]);
      for (size_t i = 0; i < s->c[q].n; i++)
        if (s->c[q].p[i] > 1e-3 * mx) {
          double w = ((double)s->c[q].lo + (double)i) * s->c[q].h;
          a = fmin(a, w), b = fmax(b, w + s->c[q].h);
        }
    }
    if (a < b) fprintf(g, "set xrange [%.6g:%.6g]\n", a - 0.05 * (b - a), b + 0.05 * (b - a));
    fprintf(g, "set title '%s'\nplot ", xs);
    if (hs)
      fprintf(g, "'%s' index %d using 1:2 with histeps lw 1.5 lc rgb '#d95f02' title 'simulation'%s", datname,
              2 * k + 1, th ? ", " : "");
    if (th) fprintf(g, "'%s' index %d using 1:2 with lines lw 2 lc rgb '#1b9e77' title 'PDE'", datname, 2 * k);
    fprintf(g, "\n");
  }
  fprintf(g, "unset multiplot\n");
}

cl_status cl_plot_density_sets(const char *out, const cl_dens_set *th, const cl_dens_set *hs,
                               char *err) {
  cl_status st = cl_plot_check_out(out, err);
  if (st) return st;
  char gp[4200], dat[4200], tmp[4200];
  snprintf(gp, sizeof gp, "%s.gp", out);
  snprintf(dat, sizeof dat, "%s.dat", out);
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld%s", out, (long)getpid(), out + strlen(out) - 4);
  FILE *d = fopen(dat, "w"), *g = fopen(gp, "w");
  if (!d || !g) {
    if (d) fclose(d);
    if (g) fclose(g);
    return cl_fail(err, CL_EIO, "plot: cannot write '%s'", d ? gp : dat);
  }
  fprintf(g, "set terminal %s\nset output '%s'\n", terminal(out), tmp);
  cl_density_overlay(th, hs, g, d, dat);
  int bad = fclose(d) != 0;
  bad |= fclose(g) != 0;
  if (bad) return cl_fail(err, CL_EIO, "plot: cannot write '%s'", gp);
  return run_gnuplot(gp, tmp, out, err);
}

cl_status cl_plot_density(const char *out, const char *density, const char *hist, double t,
                          char *err) {
  cl_status st = cl_plot_check_out(out, err);
  if (st) return st;
  cl_dens_set th = {0}, hs = {0};
  if (density && (st = cl_dens_read(density, t, &th, err))) return st;
  if (hist && (st = cl_dens_read(hist, density ? th.t : t, &hs, err))) return cl_dens_free(&th), st;
  st = cl_plot_density_sets(out, density ? &th : NULL, hist ? &hs : NULL, err);
  cl_dens_free(&th), cl_dens_free(&hs);
  return st;
}

cl_status cl_plot_traj(const char *out, const char *const *files, int nfiles, const char *col,
                       char *err) {
  cl_status st = cl_plot_check_out(out, err);
  if (st) return st;
  char gp[4200], tmp[4200];
  snprintf(gp, sizeof gp, "%s.gp", out);
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld%s", out, (long)getpid(), out + strlen(out) - 4);
  FILE *g = fopen(gp, "w");
  if (!g) return cl_fail(err, CL_EIO, "plot: cannot write '%s'", gp);
  fprintf(g, "set terminal %s\nset output '%s'\nset datafile separator ','\nset grid\n"
             "set xlabel 't'\nset ylabel '%s'\nset key bottom right\nplot ",
          terminal(out), tmp, col);
  for (int i = 0; i < nfiles && !st; i++) {
    FILE *f = fopen(files[i], "r");
    char head[16384];
    if (!f || !fgets(head, sizeof head, f)) {
      if (f) fclose(f);
      st = cl_fail(err, CL_EINVAL, "plot: cannot read '%s'", files[i]);
      break;
    }
    fclose(f);
    head[strcspn(head, "\r\n")] = '\0';
    /* find the column: exact, or NAME_mean (+ NAME_sd) in a summary */
    int cx = -1, cm = -1, cs = -1, crun = -1, k = 1;
    char want_m[256], want_s[256];
    snprintf(want_m, sizeof want_m, "%s_mean", col);
    snprintf(want_s, sizeof want_s, "%s_sd", col);
    for (char *tok = strtok(head, ","); tok; tok = strtok(NULL, ","), k++) {
      if (!strcmp(tok, col)) cx = k;
      if (!strcmp(tok, want_m)) cm = k;
      if (!strcmp(tok, want_s)) cs = k;
      if (!strcmp(tok, "run")) crun = k;
    }
    const char *sep = i ? ", " : "";
    if (cm > 0 && cs > 0)
      fprintf(g, "%s'%s' skip 1 using 1:($%d-$%d):($%d+$%d) with filledcurves fs transparent solid 0.25 "
                 "lc %d notitle, '%s' skip 1 using 1:%d with lines lw 2 lc %d title '%s (mean +- sd)'",
              sep, files[i], cm, cs, cm, cs, i + 1, files[i], cm, i + 1, files[i]);
    else if (cx > 0 && crun > 0)
      fprintf(g, "%s'%s' skip 1 using %d:%d with points pt 7 ps 0.3 lc %d title '%s (runs)'", sep, files[i],
              crun == 1 ? 2 : 1, cx, i + 1, files[i]);
    else if (cx > 0)
      fprintf(g, "%s'%s' skip 1 using 1:%d with lines lw 2 lc %d title '%s'", sep, files[i], cx, i + 1, files[i]);
    else st = cl_fail(err, CL_EINVAL, "plot: '%s' has no column '%s'", files[i], col);
  }
  fprintf(g, "\n");
  if (fclose(g) != 0 && !st) st = cl_fail(err, CL_EIO, "plot: cannot write '%s'", gp);
  if (st) return st;
  return run_gnuplot(gp, tmp, out, err);
}
