/* Density files, their L1 distance, and gnuplot figures (plot.h). */
#include "plot.h"

#include "outfile.h"
#include "cldyn/tmpfiles.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

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
  /* nothing after the last number but the line's end */
  if (*end == '\r') end++;
  if (*end == '\n') end++;
  return !*end && col == c->ncol;
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
  return cl_dens_read_run(path, t, 0, out, err);
}

cl_status cl_dens_read_run(const char *path, double t, int only, cl_dens_set *out, char *err) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "r");
  if (!f) return cl_fail(err, CL_EINVAL, "plot: cannot read '%s'", path);
  char line[8192];
  dens_cols c;
  cl_status st = CL_OK;
  if (!fgets(line, sizeof line, f) || (!strchr(line, '\n') && !feof(f) && (st = cl_fail(err, CL_EINVAL,
                                                   "plot: '%s' line 1: longer than %d bytes", path, (int)sizeof line - 2))) ||
      (st = parse_header(line, &c, path, err))) {
    fclose(f);
    return st ? st : cl_fail(err, CL_EINVAL, "plot: '%s' is empty", path);
  }
  double v[64 + CL_KMAX];
  /* pass 1: the time closest to t */
  double best = NAN;
  long nrow = 0;
  while (fgets(line, sizeof line, f)) {
    /* a line longer than the buffer (no newline before the end of the file) */
    int ok = (strchr(line, '\n') || feof(f)) && parse_row(line, &c, v);
    /* every value finite, run a small non-negative integer, |w| modest */
    for (int j = 0; ok && j < c.ncol; j++) ok = isfinite(v[j]);
    if (ok && c.run >= 0) ok = v[c.run] >= 0 && v[c.run] <= 1e6 && v[c.run] == floor(v[c.run]);
    if (ok) ok = fabs(v[c.w]) <= 1e6 && v[c.p] >= 0;
    if (!ok) {
      fclose(f);
      return cl_fail(err, CL_EINVAL,
                     "plot: '%s' line %ld: malformed row (expected %d finite numbers, run an integer in "
                     "[0, 1e6], |w| <= 1e6, p >= 0)",
                     path, nrow + 2, c.ncol);
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
  int maxrun = 0, oom = !rows;
  while (!oom && fgets(line, sizeof line, f)) {
    if (!parse_row(line, &c, v) || v[c.t] != best) continue;
    if (only > 0 && (c.run >= 0 ? v[c.run] : 1) != only) continue;
    double xi[CL_KMAX];
    for (int j = 0; j < c.K; j++) xi[j] = v[c.xi[j]];
    int k = cl_dens_find(out, xi);
    if (k < 0) {
      cl_dens_class *nc = realloc(out->c, sizeof *nc * (size_t)(out->ncls + 1));
      if (!nc) {
        oom = 1;
        break;
      }
      out->c = nc;
      k = out->ncls++;
      memset(&out->c[k], 0, sizeof out->c[k]);
      memcpy(out->c[k].xi, xi, sizeof(double) * (size_t)c.K);
      out->c[k].h = INFINITY;
    }
    if (nr == cap) {
      drow *nrw = realloc(rows, sizeof *rows * (cap *= 2));
      if (!nrw) {
        oom = 1;
        break;
      }
      rows = nrw;
    }
    int run = c.run >= 0 ? (int)v[c.run] : 1;
    if (run > maxrun) maxrun = run;
    rows[nr++] = (drow){v[c.w], v[c.p], k, run};
  }
  fclose(f);
  if (oom) return free(rows), cl_dens_free(out), cl_fail(err, CL_ENOMEM, "plot: out of memory");
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
    /* at most 1e7 cells between the extreme rows of a class */
    double wmin = INFINITY, wmax = -INFINITY;
    for (size_t i = 0; i < nr; i++)
      if (rows[i].cls == k) wmin = fmin(wmin, rows[i].w), wmax = fmax(wmax, rows[i].w);
    if ((wmax - wmin) / cl->h > 1e7 || fabs(wmin) / cl->h > 1e15 || fabs(wmax) / cl->h > 1e15) {
      free(rows);
      cl_dens_free(out);
      return cl_fail(err, CL_EINVAL, "plot: '%s': the w of a class span more than 1e7 cells", path);
    }
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

/* gnuplot strings: double-quoted, with every byte other than letters,
 * digits and " ._,/+-=:()[]" written as an octal escape \ooo, so that the
 * script holds no quote, backquote (command substitution), @ (macro),
 * backslash or newline of the name.  Control characters are refused all
 * the same (a name with a newline is surely a mistake). */
int cl_plot_gp_quotable(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f) return 0;
  return 1;
}

static void gp_put(FILE *g, const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr(" ._,/+-=:()[]", c))
      fputc(c, g);
    else fprintf(g, "\\%03o", c);
  }
}

/* A quoted string `pre s post`. */
static void gp_str(FILE *g, const char *pre, const char *s, const char *post) {
  fputc('"', g);
  gp_put(g, pre), gp_put(g, s), gp_put(g, post);
  fputc('"', g);
}

/* A quoted file name: relative names get "./" so that gnuplot's special
 * names ('< command', '-', '+', '++', '~/...') never apply. */
static void gp_file(FILE *g, const char *path) {
  gp_str(g, path[0] == '/' ? "" : "./", path, "");
}

/* s as a gnuplot string (gp_str's quoting) into buf; 0 if it does not fit */
static int gp_str_buf(char *buf, size_t len, const char *pre, const char *s) {
  char *text = NULL;
  size_t n = 0;
  FILE *m = open_memstream(&text, &n);
  if (!m) return 0;
  gp_str(m, pre, s, "");
  fclose(m);
  int ok = text && n < len;
  if (ok) memcpy(buf, text, n + 1);
  free(text);
  return ok;
}

cl_status cl_plot_gnuplot_run(const char *dir, const char *script, char *msg, size_t msglen) {
  return cl_plot_gnuplot_run_to(dir, script, NULL, NULL, msg, msglen);
}

cl_status cl_plot_gnuplot_run_to(const char *dir, const char *script, const char *output, const char *data, char *msg,
                                 size_t msglen) {
  if (msglen) msg[0] = '\0';
  /* -e 'cldyn_out = "OUTPUT"; cldyn_dat = "DATA"': the kept script writes
   * there and reads its data there, or uses the figure's own names when
   * rerun by hand */
  char setout[CL_GP_PATHLEN * 8 + 64] = "cldyn_out = ";
  size_t sl = strlen(setout);
  if (output && !gp_str_buf(setout + sl, sizeof setout - sl, output[0] == '/' ? "" : "./", output)) return CL_EINVAL;
  sl = strlen(setout);
  if (data && snprintf(setout + sl, sizeof setout - sl, "; cldyn_dat = ") >= (int)(sizeof setout - sl)) return CL_EINVAL;
  sl = strlen(setout);
  if (data && !gp_str_buf(setout + sl, sizeof setout - sl, data[0] == '/' ? "" : "./", data)) return CL_EINVAL;
  char arg[CL_GP_PATHLEN + 3];
  if (snprintf(arg, sizeof arg, "%s%s", script[0] == '/' ? "" : "./", script) >= (int)sizeof arg)
    return CL_EINVAL;
  int fds[2];
  if (pipe(fds) != 0) return CL_EIO;
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]), close(fds[1]);
    return CL_EIO;
  }
  if (pid == 0) {
    /* the child: gnuplot's output to the pipe, no shell */
    int nul = open("/dev/null", O_RDONLY);
    if (nul >= 0) dup2(nul, 0);
    dup2(fds[1], 1), dup2(fds[1], 2);
    close(fds[0]), close(fds[1]);
    if (dir && chdir(dir) != 0) _exit(127);
    char *const av[] = {"gnuplot", "-e", setout, arg, NULL};
    char *const av0[] = {"gnuplot", arg, NULL};
    if (!output) execvp("gnuplot", av0);
    execvp("gnuplot", av);
    _exit(127);
  }
  close(fds[1]);
  /* keep the last line of its output for the message */
  char buf[512], line[512] = "";
  size_t ll = 0;
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (ssize_t i = 0; i < n; i++) {
      if (buf[i] == '\n') {
        if (ll) line[ll] = '\0', snprintf(msg, msglen, "%s", line);
        ll = 0;
      } else if (ll + 1 < sizeof line) line[ll++] = buf[i];
    }
  }
  if (ll) line[ll] = '\0', snprintf(msg, msglen, "%s", line);
  close(fds[0]);
  int wst;
  while (waitpid(pid, &wst, 0) < 0)
    if (errno != EINTR) return CL_EIO;
  if (WIFEXITED(wst) && WEXITSTATUS(wst) == 127 && !msg[0]) snprintf(msg, msglen, "cannot run gnuplot");
  return WIFEXITED(wst) && WEXITSTATUS(wst) == 0 ? CL_OK : CL_EIO;
}

static const char *terminal(const char *out) {
  size_t n = strlen(out);
  return n > 4 && !strcmp(out + n - 4, ".svg") ? "svg size 900,600 dynamic noenhanced" : "pngcairo size 900,600 noenhanced";
}

/* The terminal, output and data of a kept script: cldyn runs it with -e
 * 'cldyn_out = "TMP"; cldyn_dat = "TMP"' (the temporary files of the
 * redraw, s.4 of docs/hardening.md), a user reruns it as `gnuplot FIG.gp`
 * and it writes FIG.png and reads FIG.dat itself (docs/cli.md s.9). */
static void gp_output(FILE *g, const char *out, const char *dat) {
  fprintf(g, "set terminal %s\nif (!exists(\"cldyn_out\")) cldyn_out = ", terminal(out));
  gp_file(g, out);
  if (dat) {
    fprintf(g, "\nif (!exists(\"cldyn_dat\")) cldyn_dat = ");
    gp_file(g, dat);
  }
  fprintf(g, "\nset output cldyn_out\n");
}

/* The data file in a plot command: datname, or (NULL) the script's
 * variable cldyn_dat (gp_output). */
static void gp_data(FILE *g, const char *datname) {
  if (datname) gp_file(g, datname);
  else fputs("cldyn_dat", g);
}

/* A figure's files while they are drawn: the data FIG.dat (for the
 * figures that have one), the script FIG.gp and the figure FIG, in this
 * order the temporary files of one output set (outfile.h), committed
 * together only after gnuplot succeeded, so that a failure or a signal
 * leaves the old three as they were (docs/hardening.md s.4). */
typedef struct {
  cl_outset set;
  FILE *g, *d;
} gp_files;

/* 1 for a path under /dev or /proc, or one that exists and is not a
 * regular file: a figure is never written in place. */
static int not_regular(const char *path) {
  struct stat sb;
  return cl_out_special_path(path) || (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode));
}

/* Open the temporary files of FIG.dat (when with_dat), FIG.gp and FIG and
 * write the script's terminal, output and data name. */
static cl_status gp_open(gp_files *j, const char *out, int with_dat, char *err) {
  memset(j, 0, sizeof *j);
  char name[3][CL_PATHLEN];
  int n = 0;
  if (with_dat) snprintf(name[n++], CL_PATHLEN, "%s.dat", out);
  snprintf(name[n++], CL_PATHLEN, "%s.gp", out);
  snprintf(name[n++], CL_PATHLEN, "%s", out);
  for (int i = 0; i < n; i++)
    if (not_regular(name[i])) return cl_fail(err, CL_EINVAL, "plot: '%s' is not a regular file", name[i]);
  cl_status st = CL_OK;
  for (int i = 0; i < n && !st; i++) st = cl_outset_add(&j->set, name[i], "out", 0, err);
  if (st) return cl_outset_abort(&j->set), st;
  j->d = with_dat ? j->set.f[0].f : NULL;
  j->g = j->set.f[n - 2].f;
  gp_output(j->g, out, with_dat ? name[0] : NULL);
  return CL_OK;
}

/* When st is CL_OK, run gnuplot on the temporary script, which reads the
 * temporary data and writes the temporary figure, and commit the three;
 * else, or on any failure, remove them and return the error. */
static cl_status gp_finish(gp_files *j, cl_status st, char *err) {
  cl_outset *s = &j->set;
  cl_outfile *gp = &s->f[s->n - 2], *fig = &s->f[s->n - 1], *dat = j->d ? &s->f[0] : NULL;
  for (int i = 0; i < s->n - 1 && !st; i++)
    if (fflush(s->f[i].f) != 0 || ferror(s->f[i].f)) st = cl_fail(err, CL_EIO, "plot: cannot write '%s'", s->f[i].path);
  if (st) return cl_outset_abort(s), st;
  char msg[512];
  /* one hold from gnuplot's start to the last rename: a signal waits for
   * gnuplot (which would otherwise run on against removed files), then
   * removes the temporary files, or, once the set is renamed, exits */
  cl_tmpfiles_hold();
  st = cl_plot_gnuplot_run_to(NULL, gp->tmp, fig->tmp, dat ? dat->tmp : NULL, msg, sizeof msg);
  struct stat sb;
  int ran = st == CL_OK && stat(fig->tmp, &sb) == 0 && sb.st_size > 0;
  if (ran) st = cl_outset_commit(s, err);
  else {
    st = cl_fail(err, CL_EIO, "plot: gnuplot failed on '%s'%s%s (is gnuplot-nox installed?)", gp->path,
                 msg[0] ? ": " : "", msg);
    cl_outset_abort(s);
  }
  cl_tmpfiles_release();
  return st;
}

cl_status cl_plot_check_out(const char *out, char *err) {
  size_t n = strlen(out);
  if (n < 5 || (strcmp(out + n - 4, ".png") && strcmp(out + n - 4, ".svg")))
    return cl_fail(err, CL_EINVAL, "--out: the figure's path must end in .png or .svg (got '%s')", out);
  if (n > CL_GP_PATHLEN - 64 || !cl_plot_gp_quotable(out))
    return cl_fail(err, CL_EINVAL, "--out: the figure's path must be under %d bytes, without control characters",
                   CL_GP_PATHLEN - 64);
  return CL_OK;
}

static void fmt_xi(const cl_dens_set *s, int k, char *buf, size_t len) {
  size_t off = (size_t)snprintf(buf, len, "xi = ");
  for (int j = 0; j < s->K && off < len; j++)
    off += (size_t)snprintf(buf + off, len - off, "%s%.4g", j ? "," : "", s->c[k].xi[j]);
}

void cl_plot_density_overlay(const cl_dens_set *th, const cl_dens_set *hs, FILE *g, FILE *d,
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
    if (hs) {
      gp_data(g, datname);
      fprintf(g, " index %d using 1:2 with histeps lw 1.5 lc rgb '#d95f02' title 'simulation'%s", 2 * k + 1,
              th ? ", " : "");
    }
    if (th) {
      gp_data(g, datname);
      fprintf(g, " index %d using 1:2 with lines lw 2 lc rgb '#1b9e77' title 'PDE'", 2 * k);
    }
    fprintf(g, "\n");
  }
  fprintf(g, "unset multiplot\n");
}

cl_status cl_plot_density_sets(const char *out, const cl_dens_set *th, const cl_dens_set *hs,
                               char *err) {
  cl_status st = cl_plot_check_out(out, err);
  if (st) return st;
  gp_files j;
  if ((st = gp_open(&j, out, 1, err))) return st;
  cl_plot_density_overlay(th, hs, j.g, j.d, NULL);
  return gp_finish(&j, CL_OK, err);
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

/* One line of f into buf (cap bytes, without the newline): 0, or -1 at the
 * end of the file, 1 for a line longer than cap - 1 bytes, 2 for a NUL byte.
 * Bounded, so that an endless line (/dev/zero) never exhausts memory. */
static int read_line(FILE *f, char *buf, size_t cap, size_t *len) {
  size_t n = 0;
  int c, nul = 0;
  while ((c = getc(f)) != EOF && c != '\n') {
    if (n + 1 >= cap) return buf[n] = '\0', *len = n, 1;
    if (c == '\0') nul = 1;
    buf[n++] = (char)c;
  }
  buf[n] = '\0';
  *len = n;
  if (c == EOF && n == 0) return -1;
  return nul ? 2 : 0;
}

/* The rows of a table that plot hands to gnuplot: every line has the
 * header's number of fields (ncol), the fields need[0..nneed) (1-based) are
 * finite numbers, a line is at most 1 MB, and there is at least one row.
 * Anything else is exit 2 with the file and line (docs/hardening.md s.1). */
static cl_status check_rows(const char *path, int ncol, const int *need, int nneed, char *err) {
  FILE *f = fopen(path, "r");
  if (!f) return cl_fail(err, CL_EINVAL, "plot: cannot read '%s'", path);
  const size_t cap = (size_t)1 << 20;
  char *line = malloc(cap);
  if (!line) return fclose(f), cl_fail(err, CL_ENOMEM, "plot: out of memory");
  size_t len;
  long ln = 0, rows = 0;
  int r;
  cl_status st = CL_OK;
  while (!st && (r = read_line(f, line, cap, &len)) >= 0) {
    ln++;
    if (ln == 1) continue; /* the header, read by the caller */
    if (r == 1) {
      st = cl_fail(err, CL_EINVAL, "plot: '%s' line %ld: longer than 1 MB", path, ln);
      break;
    }
    if (r == 2) {
      st = cl_fail(err, CL_EINVAL, "plot: '%s' line %ld: a NUL byte", path, ln);
      break;
    }
    if (len && line[len - 1] == '\r') line[--len] = '\0';
    if (!len && feof(f)) break;
    int nf = 1;
    for (const char *c = line; *c; c++) nf += *c == ',';
    if (nf != ncol) {
      st = cl_fail(err, CL_EINVAL, "plot: '%s' line %ld: %d fields, the header has %d", path, ln, nf, ncol);
      break;
    }
    for (int k = 0; k < nneed && !st; k++) {
      const char *c = line;
      for (int j = 1; j < need[k]; j++) c = strchr(c, ',') + 1;
      char *end;
      double v = strtod(c, &end);
      if (end == c || (*end && *end != ',') || !isfinite(v))
        st = cl_fail(err, CL_EINVAL, "plot: '%s' line %ld: field %d is not a finite number", path, ln, need[k]);
    }
    rows++;
  }
  if (!st && ferror(f)) st = cl_fail(err, CL_EINVAL, "plot: cannot read '%s'", path);
  if (!st && rows == 0) st = cl_fail(err, CL_EINVAL, "plot: '%s' has no data rows", path);
  free(line);
  fclose(f);
  return st;
}

cl_status cl_plot_traj(const char *out, const char *const *files, int nfiles, const char *col,
                       char *err) {
  cl_status st = cl_plot_check_out(out, err);
  if (st) return st;
  /* every string that goes into the script must be quotable */
  if (!cl_plot_gp_quotable(col) || strlen(col) > 200)
    return cl_fail(err, CL_EINVAL, "--y: the column name must be under 200 bytes, without control characters");
  for (int i = 0; i < nfiles; i++)
    if (!cl_plot_gp_quotable(files[i]) || strlen(files[i]) > CL_GP_PATHLEN)
      return cl_fail(err, CL_EINVAL, "plot: file names must be under %d bytes, without control characters",
                     CL_GP_PATHLEN);
  gp_files j;
  if ((st = gp_open(&j, out, 0, err))) return st;
  FILE *g = j.g;
  fprintf(g, "set datafile separator ','\nset grid\nset xlabel 't'\nset ylabel ");
  gp_str(g, "", col, "");
  fprintf(g, "\nset key bottom right\nplot ");
  for (int i = 0; i < nfiles && !st; i++) {
    FILE *f = fopen(files[i], "r");
    char head[16384];
    size_t hl = 0;
    int r = f ? read_line(f, head, sizeof head, &hl) : -1;
    int rerr = f ? ferror(f) : 1;
    if (f) fclose(f);
    if (r < 0 || rerr) {
      st = cl_fail(err, CL_EINVAL, "plot: cannot read '%s'", files[i]);
      break;
    }
    if (r > 0) {
      st = cl_fail(err, CL_EINVAL, "plot: '%s' line 1: %s", files[i],
                   r == 1 ? "the header is longer than 16 KB" : "a NUL byte");
      break;
    }
    if (hl && head[hl - 1] == '\r') head[--hl] = '\0';
    if (!hl || strstr(head, ",,") || head[0] == ',' || head[hl - 1] == ',') {
      st = cl_fail(err, CL_EINVAL, "plot: '%s' line 1: an empty column name in the header", files[i]);
      break;
    }
    int ncol = 1;
    for (const char *c = head; *c; c++) ncol += *c == ',';
    /* ux: a table over time starts with t (or run,t); sweeps and fixed
     * tables are drawn against a parameter with --x */
    if (strcmp(head, "t") && strncmp(head, "t,", 2) && strcmp(head, "run,t") && strncmp(head, "run,t,", 6)) {
      char first[64];
      snprintf(first, sizeof first, "%.*s", (int)strcspn(head, ","), head);
      st = cl_fail(err, CL_EINVAL, "plot: '%s' is not a table over time (its first column is '%s', not t); draw "
                   "sweep and fixed tables against a parameter with --x NAME", files[i], first);
      break;
    }
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
    /* the columns gnuplot will read: t (or the column after run) and y */
    int need[3] = {cm > 0 && cs > 0 ? 1 : (cx > 0 && crun == 1 ? 2 : 1), cm > 0 && cs > 0 ? cm : cx, cs};
    if ((cm > 0 && cs > 0) || cx > 0) {
      if ((st = check_rows(files[i], ncol, need, cm > 0 && cs > 0 ? 3 : 2, err))) break;
    }
    if (i) fprintf(g, ", ");
    if (cm > 0 && cs > 0) {
      gp_file(g, files[i]);
      fprintf(g, " skip 1 using 1:($%d-$%d):($%d+$%d) with filledcurves fs transparent solid 0.25 lc %d notitle, ",
              cm, cs, cm, cs, i + 1);
      gp_file(g, files[i]);
      fprintf(g, " skip 1 using 1:%d with lines lw 2 lc %d title ", cm, i + 1);
      gp_str(g, "", files[i], " (mean +- sd)");
    } else if (cx > 0 && crun > 0) {
      gp_file(g, files[i]);
      fprintf(g, " skip 1 using %d:%d with points pt 7 ps 0.3 lc %d title ", crun == 1 ? 2 : 1, cx, i + 1);
      gp_str(g, "", files[i], " (runs)");
    } else if (cx > 0) {
      gp_file(g, files[i]);
      fprintf(g, " skip 1 using 1:%d with lines lw 2 lc %d title ", cx, i + 1);
      gp_str(g, "", files[i], "");
    } else st = cl_fail(err, CL_EINVAL, "plot: '%s' has no column '%s'", files[i], col);
  }
  fprintf(g, "\n");
  return gp_finish(&j, st, err);
}

/* ---- ux: plot --x PARAM: a quantity against a parameter ---- */

typedef struct {
  char *key;
  double x, t, y, sd;
} prow;

static int cmp_prow(const void *a, const void *b) {
  const prow *p = a, *q = b;
  int c = strcmp(p->key, q->key);
  if (c) return c;
  if (p->x != q->x) return p->x < q->x ? -1 : 1;
  return (p->t > q->t) - (p->t < q->t);
}

/* The names of a sweep's grid (PATH.json "grid"), comma-joined, or "". */
static void grid_names(const char *path, char *names, size_t len, long *runs) {
  char jp[CL_GP_PATHLEN + 8];
  names[0] = '\0';
  *runs = 0;
  snprintf(jp, sizeof jp, "%s.json", path);
  json_t *root = json_load_file(jp, 0, NULL);
  if (!root) return;
  json_t *grid = json_object_get(root, "grid"), *par = json_object_get(root, "parameters");
  const char *k;
  json_t *v;
  size_t off = 0;
  if (json_is_object(grid))
    json_object_foreach(grid, k, v) off += (size_t)snprintf(names + off, off < len ? len - off : 0, ",%s", k);
  if (off >= len) names[0] = '\0';
  json_t *r = par ? json_object_get(par, "runs") : NULL;
  if (json_is_integer(r)) *runs = (long)json_integer_value(r);
  json_decref(root);
}

static int in_list(const char *list, const char *name) {
  size_t n = strlen(name);
  for (const char *p = list; (p = strstr(p, name)); p += n)
    if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) return 1;
  return 0;
}

/* The rows of one file: x, y (or y_mean and y_sd), t and the series key. */
static cl_status read_param_rows(const char *path, const char *xname, const char *col, prow **rows, long *nrows,
                                 int *summary, long *runs, char *err) {
  FILE *f = fopen(path, "r");
  if (!f) return cl_fail(err, CL_EINVAL, "plot: cannot read '%s'", path);
  char grid[1024];
  grid_names(path, grid, sizeof grid, runs);
  char *line = NULL;
  size_t cap = 0;
  ssize_t got = getline(&line, &cap, f);
  cl_status st = CL_OK;
  enum { MAXC = 4096 };
  int ix = -1, iy = -1, im = -1, is = -1, it = -1, nkey = 0, keyc[16], ncol = 0;
  char keyn[16][64];
  char ym[256], ys[256];
  snprintf(ym, sizeof ym, "%s_mean", col), snprintf(ys, sizeof ys, "%s_sd", col);
  if (got <= 0) st = cl_fail(err, CL_EINVAL, "plot: '%s' is empty", path);
  if (!st) {
    line[strcspn(line, "\r\n")] = '\0';
    char *save = NULL;
    for (char *tok = strtok_r(line, ",", &save); tok; tok = strtok_r(NULL, ",", &save), ncol++) {
      if (!strcmp(tok, xname)) ix = ncol;
      else if (!strcmp(tok, col)) iy = ncol;
      else if (!strcmp(tok, ym)) im = ncol;
      else if (!strcmp(tok, ys)) is = ncol;
      else if (!strcmp(tok, "t")) it = ncol;
      /* series: the other varied parameters, and the fixed point of fixed and basin tables */
      else if (nkey < 16 && (in_list(grid, tok) || !strcmp(tok, "id") || !strcmp(tok, "fixed_point") ||
                             !strcmp(tok, "outcome")))
        snprintf(keyn[nkey], sizeof keyn[nkey], "%s", tok), keyc[nkey++] = ncol;
    }
    if (ix < 0) st = cl_fail(err, CL_EINVAL, "plot: '%s' has no column '%s' (--x)", path, xname);
    else if (iy < 0 && (im < 0 || is < 0)) st = cl_fail(err, CL_EINVAL, "plot: '%s' has no column '%s' (--y)", path, col);
  }
  *summary = iy < 0;
  long n = 0, rcap = 0;
  prow *r = NULL;
  long lineno = 1;
  while (!st && (got = getline(&line, &cap, f)) > 0) {
    lineno++;
    line[strcspn(line, "\r\n")] = '\0';
    if (!line[0]) continue;
    char *fld[MAXC];
    int nf = 0;
    for (char *p = line; nf < MAXC;) {
      fld[nf++] = p;
      char *c = strchr(p, ',');
      if (!c) break;
      *c = '\0', p = c + 1;
    }
    if (nf != ncol) {
      st = cl_fail(err, CL_EINVAL, "plot: '%s' line %ld: %d fields, the header has %d", path, lineno, nf, ncol);
      break;
    }
    prow pr = {0};
    int ok = cl_common_parse_real(fld[ix], &pr.x) && cl_common_parse_real(fld[*summary ? im : iy], &pr.y);
    if (ok && *summary) ok = cl_common_parse_real(fld[is], &pr.sd);
    if (ok && it >= 0) ok = cl_common_parse_real(fld[it], &pr.t);
    if (!ok) {
      st = cl_fail(err, CL_EINVAL, "plot: '%s' line %ld: not a number in '%s', '%s' or t", path, lineno, xname, col);
      break;
    }
    char key[512] = "";
    size_t off = 0;
    for (int k = 0; k < nkey; k++)
      off += (size_t)snprintf(key + off, off < sizeof key ? sizeof key - off : 0, "%s%s = %s",
                              k ? ", " : "", keyn[k], fld[keyc[k]]);
    pr.key = strdup(key);
    if (n == rcap) {
      long nc = rcap ? 2 * rcap : 256;
      prow *nr = realloc(r, sizeof *r * (size_t)nc);
      if (!nr) {
        free(pr.key);
        st = cl_fail(err, CL_ENOMEM, "plot: out of memory");
        break;
      }
      r = nr, rcap = nc;
    }
    if (!pr.key) {
      st = cl_fail(err, CL_ENOMEM, "plot: out of memory");
      break;
    }
    r[n++] = pr;
  }
  free(line);
  fclose(f);
  if (!st && n == 0) st = cl_fail(err, CL_EINVAL, "plot: '%s' has no rows", path);
  if (st) {
    for (long k = 0; k < n; k++) free(r[k].key);
    free(r);
    return st;
  }
  *rows = r, *nrows = n;
  return CL_OK;
}

cl_status cl_plot_param(const char *out, const char *const *files, int nfiles, const char *x, const char *col,
                        double t, char *err) {
  cl_status st = cl_plot_check_out(out, err);
  if (st) return st;
  if (!cl_plot_gp_quotable(col) || strlen(col) > 200 || !cl_plot_gp_quotable(x) || strlen(x) > 200)
    return cl_fail(err, CL_EINVAL, "--x, --y: column names must be under 200 bytes, without control characters");
  for (int i = 0; i < nfiles; i++)
    if (!cl_plot_gp_quotable(files[i]) || strlen(files[i]) > CL_GP_PATHLEN - 64)
      return cl_fail(err, CL_EINVAL, "plot: file names must be under %d bytes, without control characters",
                     CL_GP_PATHLEN - 64);
  gp_files j;
  if ((st = gp_open(&j, out, 1, err))) return st;
  FILE *g = j.g, *d = j.d;
  fprintf(g, "set datafile separator whitespace\nset grid\nset key below\nset xlabel ");
  gp_str(g, "", x, "");
  fprintf(g, "\nset ylabel ");
  char at[64];
  if (isnan(t)) snprintf(at, sizeof at, " (final time)");
  else snprintf(at, sizeof at, " (t = %g)", t);
  gp_str(g, "", col, at);
  fprintf(g, "\nplot ");
  fprintf(d, "# cldyn plot --x %s --y %s: columns x, mean, error bar, runs, sd; one block per series\n", x, col);
  int block = 0;
  for (int i = 0; i < nfiles && !st; i++) {
    prow *r = NULL;
    long n = 0, runs = 0;
    int summary = 0;
    if ((st = read_param_rows(files[i], x, col, &r, &n, &summary, &runs, err))) break;
    qsort(r, (size_t)n, sizeof *r, cmp_prow);
    for (long a = 0; a < n;) {
      /* one series: rows a..b-1 share the key */
      long b = a;
      while (b < n && !strcmp(r[b].key, r[a].key)) b++;
      fprintf(d, "# %s %s\n", files[i], r[a].key);
      int any_err = 0;
      for (long p = a; p < b;) {
        long q = p;
        while (q < b && r[q].x == r[p].x) q++;
        /* the time: the last of this x, or the one closest to --t */
        double tsel = r[q - 1].t;
        if (!isnan(t))
          for (long k = p; k < q; k++)
            if (fabs(r[k].t - t) < fabs(tsel - t)) tsel = r[k].t;
        double mean = 0, m2 = 0;
        long cnt = 0;
        for (long k = p; k < q; k++) {
          if (r[k].t != tsel) continue;
          double dlt = r[k].y - mean;
          mean += dlt / (double)++cnt;
          m2 += dlt * (r[k].y - mean);
        }
        double sd, e;
        long nr;
        if (summary) sd = r[q - 1].sd, nr = runs, e = runs > 1 ? sd / sqrt((double)runs) : sd;
        else sd = cnt > 1 ? sqrt(m2 / (double)(cnt - 1)) : 0, nr = cnt, e = cnt > 1 ? sd / sqrt((double)cnt) : 0;
        for (long k = p; k < q; k++)
          if (r[k].t == tsel && summary) mean = r[k].y;
        any_err |= e > 0;
        fprintf(d, "%.17g %.17g %.17g %ld %.17g\n", r[p].x, mean, e, nr, sd);
        p = q;
      }
      fprintf(d, "\n\n");
      if (block) fprintf(g, ", ");
      gp_data(g, NULL);
      char title[1024];
      snprintf(title, sizeof title, "%s%s%s%s", files[i], r[a].key[0] ? " [" : "", r[a].key, r[a].key[0] ? "]" : "");
      if (any_err) {
        fprintf(g, " index %d using 1:2:3 with yerrorlines lw 1.5 pt 7 ps 0.6 lc %d title ", block, block + 1);
        gp_str(g, "", title, summary && runs <= 1 ? " (mean +- sd)" : " (mean +- se)");
      } else {
        fprintf(g, " index %d using 1:2 with linespoints lw 1.5 pt 7 ps 0.6 lc %d title ", block, block + 1);
        gp_str(g, "", title, "");
      }
      block++;
      a = b;
    }
    for (long k = 0; k < n; k++) free(r[k].key);
    free(r);
  }
  fprintf(g, "\n");
  return gp_finish(&j, st, err);
}
