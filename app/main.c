/* cldyn - command-line front end.  It only parses options and calls
 * libcldyn.  Exit status: 0 success, 2 bad input (one-line message, no
 * output file), 1 a run that failed (divergence, I/O error). */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app.h"

#ifdef CL_MPI
#include <mpi.h>
#endif

static void usage(FILE *f) {
  fprintf(f,
          "cldyn %s - training dynamics of nonlinear contrastive learning in high dimension\n"
          "usage: cldyn COMMAND [--option VALUE]...   (cldyn COMMAND --help for options)\n"
          "commands:\n"
          "  simulate   online SGD of the N-dimensional model; order parameters over time\n"
          "  reduced    the exact finite-N order-parameter chain (L2), O(1) per step\n"
          "  ode        the limiting ODEs for R and Q (L2 regularizer)\n"
          "  fixed      fixed points of the ODEs, eigenvalues, stability; --threshold, --vary\n"
          "  basin      feature-selection probabilities from an uninformative start; --map\n"
          "  sweep      any of simulate, reduced, ode, pde, fixed over a parameter grid (threads,\n"
          "             --shard I/N for job arrays, --merge, --resume)\n"
          "  reproduce  the paper's three findings: data, figures, report.md (--quick)\n"
          "  pde        the McKean-Vlasov PDE for the weights' law (M = 1, any regularizer)\n"
          "  plot       figures: PDE density vs simulated histogram, trajectories\n",
          CL_VERSION);
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ux: the progress line: on a terminal, or forced by --progress; never
 * with --quiet (isatty is the Python glue's switch, see app/capi.c) */
static int progress_on(const cl_config *cfg) { return !cfg->quiet && (cfg->progress || isatty(2)); }

/* ux: one note for the config-file keys of other commands that were skipped */
static void skipped_note(const cl_config *cfg) {
  if (cfg->nskipped && !cfg->quiet)
    fprintf(stderr, "cldyn: note: %s: skipped %d config key%s that do%s not apply to '%s': %s (--strict refuses them)\n",
            cfg->skipped_at, cfg->nskipped, cfg->nskipped > 1 ? "s" : "", cfg->nskipped > 1 ? "" : "es",
            cl_command_name(cfg->cmd), cfg->skipped);
}

static int fail(int code, const char *msg) {
  fprintf(stderr, "cldyn: %s\n", msg);
  return code;
}

static cl_status density_obs(void *ctx, const cl_pde *p, size_t k, char *err) {
  cl_outfile *f = ctx;
  (void)k;
  return cl_pde_write_density(p, f->f) ? cl_fail(err, CL_EIO, "--density-out: write error") : CL_OK;
}

static int run_traj(cl_config *cfg, int argc, char **argv) {
  char err[CL_ERRLEN], info[CL_ERRLEN] = "";
  int has_sum = cfg->summary[0] != '\0';
  int has_dens = cfg->cmd == CL_CMD_PDE && cfg->density_out[0];
  int has_hist = cfg->cmd == CL_CMD_SIMULATE && cfg->hist_out[0];
  if (cfg->cmd == CL_CMD_REDUCED &&
      (cfg->model.reg.kind == CL_REG_L1 || cfg->model.reg.kind == CL_REG_ELASTIC))
    return fail(2, "--reg: the reduced chain is exact only for l2 or none");
  if (has_hist && cfg->model.M != 1) return fail(2, "--hist-out: needs M = 1");
  if (has_hist && (cfg->checkpoint[0] || cfg->resume[0]))
    return fail(2, "--hist-out: cannot be combined with --checkpoint or --resume");
  if (cfg->cmd == CL_CMD_PDE && cfg->model.M != 1) return fail(2, "--M: the PDE is implemented for M = 1");
  const char *side = has_dens ? cfg->density_out : cfg->hist_out;
  const char *sopt = has_dens ? "density-out" : "hist-out";
  /* every output checked, then opened (with its sidecar), before any work */
  const char *opts[] = {"out", "summary", sopt, "checkpoint"};
  const char *paths[] = {cfg->out, has_sum ? cfg->summary : NULL, has_dens || has_hist ? side : NULL,
                         cfg->cmd == CL_CMD_PDE || cfg->cmd == CL_CMD_ODE ? NULL : cfg->checkpoint};
  const int sc[] = {1, 1, 1, 0};
  if (cl_out_check_all(opts, paths, sc, 4, err)) return fail(2, err);
  cl_outset set = {0};
  int i_sum = -1, i_dens = -1;
  if (cl_outset_add(&set, cfg->out, "out", 1, err)) return cl_outset_abort(&set), fail(2, err);
  if (has_sum && (i_sum = set.n, cl_outset_add(&set, cfg->summary, "summary", 1, err)))
    return cl_outset_abort(&set), fail(2, err);
  if ((has_dens || has_hist) && (i_dens = set.n, cl_outset_add(&set, side, sopt, 1, err)))
    return cl_outset_abort(&set), fail(2, err);
  cl_outfile *dens = i_dens >= 0 ? &set.f[i_dens] : NULL;
  double t0 = now_seconds();
  cl_meter meter;
  char what[64];
  snprintf(what, sizeof what, "%s T = %g", cl_command_name(cfg->cmd), cfg->sched.T);
  cl_meter_init(&meter, what, progress_on(cfg), stderr);
  cfg->ode.progress = cl_meter_update, cfg->ode.progress_ctx = &meter;
  cl_traj *tr = NULL;
  cl_hist *hist = NULL;
  cl_status st = CL_OK;
  if (cfg->cmd == CL_CMD_ODE)
    st = cl_ode_solve(&cfg->model, &cfg->sched, &cfg->ode, &tr, info, err);
  else if (cfg->cmd == CL_CMD_PDE) {
    cl_pde_opts po = cfg->pde;
    po.quad = cfg->ode.quad;
    po.progress = cl_meter_update, po.progress_ctx = &meter;
    if (has_dens) cl_density_header(dens->f, cfg->model.K);
    st = cl_pde_solve(&cfg->model, &cfg->sched, &po, &tr, has_dens ? density_obs : NULL, dens,
                      info, err);
  } else {
    cl_ckpt_opts ck = {cfg->checkpoint[0] ? cfg->checkpoint : NULL, cfg->checkpoint_every,
                       cfg->resume[0] ? cfg->resume : NULL};
    if (has_hist && !(hist = cl_hist_alloc(&cfg->model, &cfg->sched, cfg->hist_width, err))) st = cl_alloc_status(err);
    if (!st)
      st = cl_run_engine_obs(cfg->cmd == CL_CMD_REDUCED ? &cl_engine_reduced : &cl_engine_simulate,
                             &cfg->model, &cfg->sched, cfg->threads, &ck, &tr,
                             cl_meter_update, &meter, hist ? cl_hist_observe : NULL, hist, err);
    if (!st && hist && cl_hist_write(hist, dens->f)) st = cl_fail(err, CL_EIO, "--hist-out: write error");
    cl_hist_free(hist);
  }
  cl_meter_end(&meter, !st);
  if (!st) {
    /* no NaN or infinity in any output column (exit 1, with the parameters) */
    char e1[CL_ERRLEN];
    const cl_model *m = &cfg->model;
    if ((st = cl_traj_check_finite(tr, e1)))
      cl_fail(err, st, "%s: %s with tau = %g, s = %g, rho = %g, lambda = %g, B = %d, N = %lld; lower tau",
              cl_command_name(cfg->cmd), e1, m->tau, m->s, m->rho, m->lambda, m->B, m->N);
  }
  if (!st) {
    if (strstr(info, "standard error") || strstr(info, "error bound")) fprintf(stderr, "cldyn: %s\n", info);
    cl_status ws = cl_traj_write_csv(tr, set.f[0].f);
    if (!ws && has_sum) ws = cl_traj_write_summary(tr, set.f[i_sum].f);
    if (ws == CL_EDIVERGE) st = cl_fail(err, ws, "--summary: a mean or sd is not a finite number (overflow)");
    else if (ws) st = cl_fail(err, CL_EIO, "error writing the output");
  }
  if (!st) {
    /* the metadata: the primary's with the method, the companions name it */
    double wall = now_seconds() - t0;
    const char *kv[] = {"method", info, NULL, NULL, NULL};
    const char **extra = info[0] ? kv : kv + 2;
    if (set.meta[0] >= 0) st = cl_meta_dump(set.f[set.meta[0]].f, cfg, argc, argv, wall, extra, err);
    const char *kvs[] = {"summary_of", cfg->out, NULL}, *kvd[] = {"density_of", cfg->out, NULL};
    if (!st && i_sum >= 0 && set.meta[i_sum] >= 0)
      st = cl_meta_dump(set.f[set.meta[i_sum]].f, cfg, argc, argv, wall, kvs, err);
    if (!st && i_dens >= 0 && set.meta[i_dens] >= 0)
      st = cl_meta_dump(set.f[set.meta[i_dens]].f, cfg, argc, argv, wall, kvd, err);
  }
  cl_traj_free(tr);
  if (st) {
    cl_outset_abort(&set);
    return fail(st == CL_EINVAL ? 2 : 1, err);
  }
  if (cl_outset_commit(&set, err)) return fail(1, err);
  return 0;
}

/* --threshold NAME: apply a value of the parameter to a model */
static cl_status set_param(void *ctx, double v, cl_model *m, char *err) {
  cl_config c = *(const cl_config *)ctx;
  cl_status st = cl_config_set_number(&c, c.threshold_name, v, err);
  if (!st) *m = c.model;
  return st;
}

static int run_fixed(cl_config *cfg, int argc, char **argv) {
  char err[CL_ERRLEN];
  const cl_model *m = &cfg->model;
  /* --vary: every value of the grid must be valid, checked before any work */
  cl_vary vy = {.n = 1};
  int has_vary = cfg->vary[0] != '\0';
  if (has_vary) {
    if (cl_vary_parse(cfg->vary, &vy, err)) return fail(2, err);
    for (long k = 0; k < vy.n; k++) {
      cl_config probe = *cfg;
      if (cl_config_set_number(&probe, vy.name, cl_vary_value(&vy, k), err)) return fail(2, err);
    }
  }
  const char *tn = cfg->threshold_name;
  int sel_id = 1, sel_kind = -1;
  if (cfg->threshold && tn[0]) {
    if (strcmp(vy.name, tn) != 0)
      return fprintf(stderr, "cldyn: --threshold %s: needs --vary %s=A:B:STEP (the range to scan)\n", tn, tn), 2;
    if (cfg->point[0] && (sel_kind = cl_fixed_kind_from_name(cfg->point)) >= 0) sel_id = 0;
    else if (cfg->point[0]) sel_id = atoi(cfg->point);
  } else if (cfg->point[0])
    return fail(2, "--point: only with --threshold NAME");
  const char *opt[] = {"out"}, *path[] = {cfg->out};
  const int sc[] = {1};
  if (cl_out_check_all(opt, path, sc, 1, err)) return fail(2, err);
  cl_outset set = {0};
  if (cl_outset_add(&set, cfg->out, "out", 1, err)) return cl_outset_abort(&set), fail(2, err);
  FILE *of = set.f[0].f;
  double t0 = now_seconds();
  cl_status st = CL_OK;
  cl_fixed_opts fo;
  cl_fixed_opts_default(&fo);
  fo.nrandom = cfg->starts;
  cl_meter meter;
  cl_meter_init(&meter, has_vary ? "fixed, points of --vary" : "fixed, Newton starts", progress_on(cfg), stderr);
  if (!has_vary) fo.progress = cl_meter_update, fo.progress_ctx = &meter;
  long starts = 0, solves = 0, orbits = 0, points = 0, truncated = 0;
  double maxres = 0;
  char syms[256] = "";
  if (cfg->threshold && tn[0]) {
    cl_threshold th[64];
    int nth = 0;
    st = cl_fixed_threshold(m, &cfg->ode.quad, set_param, cfg, vy.a, vy.b, vy.step, sel_id, sel_kind, th, 64, &nth,
                            err);
    if (!st) {
      fprintf(of, "parameter,point,critical,event,before,after,kind\n");
      for (int k = 0; k < nth; k++)
        fprintf(of, "%s,%s,%.12g,%s,%s,%s,%s\n", tn, cfg->point[0] ? cfg->point : "1", th[k].value,
                th[k].event ? "lost" : "stability", cl_stability_name(th[k].before),
                th[k].event ? "none" : cl_stability_name(th[k].after), cl_fixed_kind_name(th[k].at.kind));
      if (nth == 0)
        fprintf(stderr, "cldyn: fixed: the point does not change stability for %s in [%g, %g]\n", tn, vy.a, vy.b);
    }
  } else if (cfg->threshold) {
    fprintf(of, "feature,critical_m2\n");
    for (int j = 0; j < m->K && !st; j++) {
      double m2c;
      char b1[32];
      if (!(st = cl_critical_m2(m, &cfg->ode.quad, j, &m2c, err))) fprintf(of, "%d,%s\n", j + 1, cl_fmt_real(b1, 32, m2c));
    }
  } else {
    if (cfg->terms && m->M != 1) st = cl_fail(err, CL_EINVAL, "--terms: needs --M 1 (got %d)", m->M);
    else if (cfg->terms) st = cl_terms_write_header(of, m->K, m->M, has_vary ? vy.name : NULL, err);
    else cl_fixed_write_header(of, m->K, m->M, has_vary ? vy.name : NULL);
    cl_fixed_point *prev = NULL;
    int nprev = 0;
    double *extra = malloc(sizeof(double) * 64 * CL_STATE_MAX);
    if (!extra) st = cl_fail(err, CL_ENOMEM, "fixed: out of memory");
    for (long k = 0; k < vy.n && !st; k++) {
      cl_config c = *cfg;
      double v = has_vary ? cl_vary_value(&vy, k) : 0;
      char vs[64];
      if (has_vary && (st = cl_config_set_number(&c, vy.name, v, err))) break;
      /* continuation: one point of each previous orbit is an extra start */
      int ne = 0;
      for (int i = 0; extra && i < nprev && ne < 64; i++)
        if (i == 0 || prev[i].orbit != prev[i - 1].orbit)
          memcpy(extra + ne++ * prev[i].n, prev[i].y, sizeof(double) * (size_t)prev[i].n);
      cl_fixed_point *fp = NULL;
      int nf = 0;
      cl_fixed_info info;
      st = cl_fixed_find_ex(&c.model, &c.ode.quad, &fo, extra, ne, &fp, &nf, &info, err);
      if (st) break;
      starts += info.starts, solves += info.newton_runs, orbits += info.orbits, points += info.points;
      truncated += info.truncated, maxres = fmax(maxres, info.max_residual);
      snprintf(syms, sizeof syms, "%s", info.symmetries);
      if (cfg->terms)
        st = cl_terms_write_rows(of, &c.model, &c.ode.quad, fp, nf, has_vary ? cl_fmt_real(vs, sizeof vs, v) : NULL, err);
      else if (cl_fixed_write_rows(of, m->K, m->M, fp, nf, has_vary ? cl_fmt_real(vs, sizeof vs, v) : NULL))
        st = cl_fail(err, CL_EIO, "--out: write error");
      free(prev);
      prev = fp, nprev = nf;
      if (has_vary) cl_meter_update(&meter, (double)(k + 1) / (double)vy.n);
    }
    cl_meter_end(&meter, !st);
    free(extra);
    free(prev);
    if (!st && !cfg->quiet)
      fprintf(stderr, "cldyn: fixed: %ld starts, %ld Newton solves, %ld orbits, %ld points (largest residual %.2g)%s; symmetries: %s\n",
              starts, solves, orbits, points, maxres, truncated ? "; some orbits cut at 1024 images" : "", syms);
  }
  char s1[32], s2[32], s3[32], s4[32], s5[32];
  snprintf(s1, sizeof s1, "%ld", starts), snprintf(s2, sizeof s2, "%ld", solves);
  snprintf(s3, sizeof s3, "%ld", orbits), snprintf(s4, sizeof s4, "%ld", points);
  snprintf(s5, sizeof s5, "%.3g", maxres);
  const char *kv[] = {"starts", s1, "newton_solves", s2, "orbits", s3, "points", s4, "max_residual", s5,
                      "symmetries", syms, NULL};
  if (!st && set.meta[0] >= 0)
    st = cl_meta_dump(set.f[set.meta[0]].f, cfg, argc, argv, now_seconds() - t0, starts ? kv : NULL, err);
  if (st) {
    cl_outset_abort(&set);
    return fail(st == CL_EINVAL ? 2 : 1, err);
  }
  if (cl_outset_commit(&set, err)) return fail(1, err);
  return 0;
}

static int run_basin(cl_config *cfg, int argc, char **argv) {
  char err[CL_ERRLEN];
  const cl_model *m = &cfg->model;
  int has_map = cfg->map[0] != '\0';
  if (m->M >= 2) {
    /* M >= 2: the probability of each outcome (specialised, dead, ...) */
    if (has_map) return fail(2, "--map: needs M = 1");
    if (m->B != 1) return fail(2, "--B: basin with M >= 2 needs B = 1");
    const char *opt1[] = {"out"}, *path1[] = {cfg->out};
    const int sc1[] = {1};
    if (cl_out_check_all(opt1, path1, sc1, 1, err)) return fail(2, err);
    cl_outset set = {0};
    if (cl_outset_add(&set, cfg->out, "out", 1, err)) return cl_outset_abort(&set), fail(2, err);
    FILE *of = set.f[0].f;
    double t0 = now_seconds();
    cl_meter meter;
    cl_meter_init(&meter, "basin, directions", progress_on(cfg), stderr);
    cfg->ode.progress = cl_meter_update, cfg->ode.progress_ctx = &meter;
    cl_basin_multi_result res;
    cl_status st = cl_basin_multi(m, &cfg->ode, cfg->directions, cfg->tmax, cfg->sched.seed, cfg->threads, &res, err);
    cl_meter_end(&meter, !st);
    if (!st) cl_basin_multi_write(of, &res);
    if (!st && set.meta[0] >= 0) st = cl_meta_dump(set.f[set.meta[0]].f, cfg, argc, argv, now_seconds() - t0, NULL, err);
    if (st) {
      cl_outset_abort(&set);
      return fail(st == CL_EINVAL ? 2 : 1, err);
    }
    if (cl_outset_commit(&set, err)) return fail(1, err);
    return 0;
  }
  if (m->K < 2) return fail(2, "--c: basin needs at least 2 features (K >= 2)");
  if (has_map && m->K != 2) return fail(2, "--map: needs exactly K = 2 features");
  const char *opt[] = {"out", "map"}, *path[] = {cfg->out, has_map ? cfg->map : NULL};
  const int sc[] = {1, 1};
  if (cl_out_check_all(opt, path, sc, 2, err)) return fail(2, err);
  cl_outset set = {0};
  int i_map = -1;
  if (cl_outset_add(&set, cfg->out, "out", 1, err)) return cl_outset_abort(&set), fail(2, err);
  if (has_map && (i_map = set.n, cl_outset_add(&set, cfg->map, "map", 1, err)))
    return cl_outset_abort(&set), fail(2, err);
  FILE *of = set.f[0].f, *mf = has_map ? set.f[i_map].f : NULL;
  double t0 = now_seconds();
  cl_meter meter;
  cl_meter_init(&meter, "basin, directions", progress_on(cfg), stderr);
  cfg->ode.progress = cl_meter_update, cfg->ode.progress_ctx = &meter;
  cl_basin_result res;
  cl_status st = cl_basin(m, &cfg->ode, cfg->directions, cfg->tmax, cfg->sched.seed,
                          cfg->threads, &res, err);
  cl_meter_end(&meter, !st);
  cfg->ode.progress = NULL; /* --map's solves are not counted */
  int have_res = !st; /* cl_basin frees its result on failure */
  if (!st) cl_basin_write(of, m, &res);
  if (!st && has_map) {
    /* the fixed point reached from each (R_1, R_2) inside |R| < sqrt(Q0) */
    int n = cfg->map_points;
    int *which = malloc(sizeof(int) * (size_t)n * (size_t)n);
    if (!which) st = cl_fail(err, CL_ENOMEM, "--map: out of memory");
    if (!st) st = cl_basin_map(m, &cfg->ode, &res, n, cfg->tmax, cfg->threads, which, err);
    if (!st) {
      fprintf(mf, "R_1_1,R_2_1,fixed_point\n");
      for (int k = 0; k < n * n; k++) {
        if (which[k] < 0) continue;
        char b1[32], b2[32];
        fprintf(mf, "%s,%s,", cl_fmt_real(b1, 32, cl_basin_map_coord(m, n, k % n)),
                cl_fmt_real(b2, 32, cl_basin_map_coord(m, n, k / n)));
        if (which[k] < res.nfp) fprintf(mf, "%d\n", which[k] + 1);
        else fprintf(mf, "none\n");
      }
    }
    free(which);
  }
  if (have_res) cl_basin_result_free(&res);
  double wall = now_seconds() - t0;
  if (!st && set.meta[0] >= 0) st = cl_meta_dump(set.f[set.meta[0]].f, cfg, argc, argv, wall, NULL, err);
  if (!st && has_map && set.meta[i_map] >= 0)
    st = cl_meta_dump(set.f[set.meta[i_map]].f, cfg, argc, argv, wall, NULL, err);
  if (st) {
    cl_outset_abort(&set);
    return fail(st == CL_EINVAL ? 2 : 1, err);
  }
  if (cl_outset_commit(&set, err)) return fail(1, err);
  return 0;
}

/* cldyn plot --out FIG.png|svg [--density D] [--hist H] [--t T] [--min-mass X] [--y COL] [FILE...] */
static int run_plot(int argc, char **argv) {
  char err[CL_ERRLEN];
  const char *out = NULL, *dens = NULL, *hist = NULL, *col = "cos_1_1", *xcol = NULL;
  double t = NAN, minmass = 0.05;
  const char *files[256];
  int nf = 0;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help")) {
      printf("usage: cldyn plot --out FIG.png|FIG.svg [--density PDE.csv] [--hist SIM.csv] [--t T]\n"
             "                  [--min-mass X] [--y COLUMN] [TRAJ.csv ...]\n"
             "  --density/--hist: overlay of pde --density-out and simulate --hist-out at the time\n"
             "    closest to T (default: the last), one panel per xi; with both, prints the L1\n"
             "    distance per xi (CSV xi,t,l1) with bins merged to hold >= X of the PDE's mass\n"
             "    (default 0.05)\n"
             "  TRAJ.csv: COLUMN (default cos_1_1) against t of each ode/pde/simulate output;\n"
             "    summaries are drawn as mean +- sd; the first column must be t\n"
             "  --x PARAM SWEEP.csv...: COLUMN against the parameter PARAM of sweep (or fixed --vary)\n"
             "    outputs, at the time closest to --t (default: the last), mean +- standard error over\n"
             "    runs; one curve per value of the other varied parameters and per fixed point\n"
             "  the gnuplot script and data are kept beside the figure (FIG.gp, FIG.dat);\n"
             "    `gnuplot FIG.gp` redraws FIG\n");
      return 0;
    }
    if (strncmp(a, "--", 2) != 0) {
      if (nf == 256) return fail(2, "plot: at most 256 files");
      files[nf++] = a;
      continue;
    }
    if (i + 1 >= argc) {
      snprintf(err, sizeof err, "%s: missing value", a);
      return fail(2, err);
    }
    const char *v = argv[++i];
    if (!strcmp(a, "--out")) out = v;
    else if (!strcmp(a, "--density")) dens = v;
    else if (!strcmp(a, "--hist")) hist = v;
    else if (!strcmp(a, "--y")) col = v;
    else if (!strcmp(a, "--x")) xcol = v; /* ux: new options (--x; --t also applies to it) */
    else if (!strcmp(a, "--t") || !strcmp(a, "--min-mass")) {
      double x;
      int okv = cl_parse_real(v, &x) && (!strcmp(a, "--t") ? x >= 0 : (x > 0 && x <= 1));
      if (!okv) {
        snprintf(err, sizeof err, "%s: must be %s (got '%s')", a, !strcmp(a, "--t") ? "a real >= 0" : "in (0, 1]", v);
        return fail(2, err);
      }
      *(!strcmp(a, "--t") ? &t : &minmass) = x;
    } else {
      snprintf(err, sizeof err, "plot: unknown option '%s'; accepted: --out, --density, --hist, --t, --min-mass, --y, --x", a);
      return fail(2, err);
    }
  }
  if (!out) return fail(2, "plot: --out FIG.png (or .svg) is required");
  if (!dens && !hist && !nf) return fail(2, "plot: give --density and/or --hist, or trajectory files");
  if ((dens || hist) && nf) return fail(2, "plot: density overlays and trajectory files go in separate figures");
  if (xcol) {
    if (dens || hist || !nf) return fail(2, "--x: give sweep (or fixed --vary) output files, not --density or --hist");
    cl_status st = cl_plot_param(out, files, nf, xcol, col, t, err);
    return st ? fail(st == CL_EINVAL ? 2 : 1, err) : 0;
  }
  if (nf) {
    cl_status st = cl_plot_traj(out, files, nf, col, err);
    return st ? fail(st == CL_EINVAL ? 2 : 1, err) : 0;
  }
  cl_dens_set a = {0}, b = {0};
  cl_status st = cl_plot_check_out(out, err);
  if (!st && dens) st = cl_dens_read(dens, t, &a, err);
  if (!st && hist) st = cl_dens_read(hist, dens ? a.t : t, &b, err);
  if (!st) st = cl_plot_density_sets(out, dens ? &a : NULL, hist ? &b : NULL, err);
  if (!st && dens && hist) {
    printf("xi,t,l1\n");
    for (int k = 0; k < a.ncls; k++) {
      int q = cl_dens_find(&b, a.c[k].xi);
      for (int j = 0; j < a.K; j++) printf("%s%.10g", j ? ";" : "", a.c[k].xi[j]);
      printf(",%.10g,%.6g\n", b.t, q >= 0 ? cl_dens_l1(&a.c[k], &b.c[q], minmass) : NAN);
    }
  }
  cl_dens_free(&a), cl_dens_free(&b);
  if (st) return fail(st == CL_EINVAL ? 2 : 1, err);
  return 0;
}

static void sweep_usage(FILE *f) {
  fprintf(f,
          "usage: cldyn sweep --vary NAME=A:B:STEP [--vary ...] [sweep options] COMMAND [options of COMMAND]\n"
          "       cldyn sweep --merge --out PATH FILE...\n"
          "  runs COMMAND (simulate, reduced, ode, pde, fixed, basin) at every point of the grid; the\n"
          "  output has a `point` column, one column per --vary, then COMMAND's columns\n"
          "sweep options (before or after COMMAND):\n"
          "  --vary NAME=A:B:STEP  a numeric option (or m2_J) from A to B; repeat for a grid (at most 8,\n"
          "                        each name once; the first varies slowest)\n"
          "  --summary             each point's mean and sd over runs (simulate, reduced)\n"
          "  --final               only the last time, t = T, of each point\n"
          "  --streams MODE        common (default): every point uses --seed (common random numbers);\n"
          "                        independent: each point its own streams, seeded from (seed, point)\n"
          "  --progress, --quiet   force or silence the progress line on stderr\n"
          "before COMMAND only:\n"
          "  --shard I/N           run the points p with p mod N = I - 1 (job arrays), --merge the files\n"
          "  --threads N           points run in parallel, >= 0, 0 = default\n"
          "  --resume              keep the complete points of an existing --out, run the rest\n");
}

/* cldyn sweep [--vary NAME=A:B:STEP]... [--shard I/N] [--resume] COMMAND [options]
 * cldyn sweep --merge --out PATH FILE... */
static int run_sweep(int argc, char **argv) {
  char err[CL_ERRLEN];
  cl_vary v[CL_SWEEP_MAXVARY];
  int nv = 0, resume = 0, merge = 0, i = 2, threads = 0, force_progress = 0, quiet = 0;
  long shard = 0, nshards = 1;
  const char *merge_out = "-";
  cl_sweep_opts so = {0};
  /* ux: new options (--summary, --final, --streams; accepted after the
   * command too) */
  char **rest = calloc((size_t)argc + 1, sizeof(char *));
  if (!rest) return fail(1, "sweep: out of memory");
  int nrest = 0, cmd_at = -1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    int before = cmd_at < 0;
    if (before && strncmp(a, "--", 2) != 0) {
      cmd_at = i;
      continue;
    }
    if (!strcmp(a, "--vary") || !strncmp(a, "--vary=", 7)) {
      const char *val = a[6] == '=' ? a + 7 : (i + 1 < argc ? argv[++i] : NULL);
      if (!val) return free(rest), fail(2, "--vary: missing value (NAME=A:B:STEP)");
      if (nv == CL_SWEEP_MAXVARY) return free(rest), fail(2, "--vary: at most 8 parameters");
      if (cl_vary_parse(val, &v[nv], err)) return free(rest), fail(2, err);
      for (int q = 0; q < nv; q++)
        if (!strcmp(v[q].name, v[nv].name)) {
          fprintf(stderr, "cldyn: --vary: '%s' is varied twice; give each name once (one NAME=A:B:STEP)\n", v[nv].name);
          return free(rest), 2;
        }
      nv++;
    } else if (!strcmp(a, "--final")) {
      so.final = 1;
    } else if (!strcmp(a, "--summary") && (before || i + 1 >= argc || !strncmp(argv[i + 1], "--", 2))) {
      so.summary = 1;
    } else if (!strcmp(a, "--summary")) {
      return free(rest), fail(2, "--summary: in a sweep it is a flag (the output holds each point's mean and sd over runs), without a path");
    } else if (!strcmp(a, "--streams") || !strncmp(a, "--streams=", 10)) {
      const char *val = a[9] == '=' ? a + 10 : (i + 1 < argc ? argv[++i] : "");
      if (strcmp(val, "common") && strcmp(val, "independent"))
        return free(rest), fprintf(stderr, "cldyn: --streams: must be common or independent (got '%s')\n", val), 2;
      so.independent = !strcmp(val, "independent");
    } else if (!before) {
      rest[nrest++] = argv[i];
    } else if (!strcmp(a, "--shard") && i + 1 < argc) {
      long x, y;
      char extra;
      if (sscanf(argv[++i], "%ld/%ld%c", &x, &y, &extra) != 2 || y < 1 || x < 1 || x > y)
        return free(rest), fail(2, "--shard: expected I/N with 1 <= I <= N");
      shard = x - 1, nshards = y;
    } else if (!strcmp(a, "--threads") && i + 1 < argc) {
      long long t;
      if (!cl_parse_int(argv[++i], &t) || t < 0 || t > 1024)
        return free(rest), fail(2, "--threads: must be an integer in [0, 1024]");
      threads = (int)t;
    } else if (!strcmp(a, "--resume")) {
      resume = 1;
    } else if (!strcmp(a, "--merge")) {
      merge = 1;
    } else if (!strcmp(a, "--out") && i + 1 < argc && merge) {
      merge_out = argv[++i];
    } else if (!strcmp(a, "--help")) {
      sweep_usage(stdout);
      return free(rest), 0;
    } else if (!strcmp(a, "--progress")) {
      force_progress = 1;
    } else if (!strcmp(a, "--quiet")) {
      quiet = 1;
    } else if (merge && strncmp(a, "--", 2) != 0) {
      break;
    } else {
      int missing = (!strcmp(a, "--shard") || !strcmp(a, "--threads") || !strcmp(a, "--out")) && i + 1 >= argc;
      if (missing) fprintf(stderr, "cldyn: %s: missing value\n", a);
      else
        fprintf(stderr, "cldyn: sweep: unknown option '%s'; accepted before the command: --vary NAME=A:B:STEP, "
                        "--summary, --final, --streams MODE, --shard I/N, --threads N, --resume, --merge, --progress, "
                        "--quiet, --help\n", a);
      return free(rest), 2;
    }
  }
  char kvb[4][32];
  const char *kv[9];
  if (merge) {
    free(rest);
    /* the inputs are the words after the options: the command slot */
    i = cmd_at >= 0 ? cmd_at : argc;
    /* the inputs' fingerprints from their .json; the merge must be complete */
    int n = argc - i;
    if (n <= 0) return fail(2, "--merge: no input files");
    cl_sweep_id *ids = calloc((size_t)n, sizeof *ids);
    if (!ids) return fail(1, "--merge: out of memory");
    for (int k = 0; k < n; k++)
      if (cl_sweep_read_id(argv[i + k], &ids[k], err)) return free(ids), fail(2, err);
    cl_sweep_id want = ids[0];
    want.shard = 0, want.nshards = 1;
    /* a merge of the shards of one shard of a larger job stays that shard */
    int same = 1;
    for (int k = 1; k < n; k++) same &= ids[k].shard == ids[0].shard && ids[k].nshards == ids[0].nshards;
    if (same && n == 1) want.shard = ids[0].shard, want.nshards = ids[0].nshards;
    const char *opt[] = {"out"}, *path[] = {merge_out};
    const int sc[] = {1};
    if (cl_out_check_all(opt, path, sc, 1, err)) return free(ids), fail(2, err);
    cl_outset set = {0};
    if (cl_outset_add(&set, merge_out, "out", 1, err)) return free(ids), cl_outset_abort(&set), fail(2, err);
    cl_status st = cl_sweep_merge(argv + i, ids, n, &want, set.f[0].f, err);
    free(ids);
    if (!st && set.meta[0] >= 0) {
      /* the merge's own sidecar: the sweep's identity and the inputs */
      FILE *jf = set.f[set.meta[0]].f;
      cl_sweep_id_kv(&want, kvb, kv);
      fprintf(jf, "{\n  \"program\": \"cldyn\",\n  \"version\": \"%s\",\n  \"command\": \"sweep --merge\",\n", CL_VERSION);
      for (int k = 0; kv[k]; k += 2) fprintf(jf, "  \"%s\": \"%s\",\n", kv[k], kv[k + 1]);
      fprintf(jf, "  \"inputs\": %d\n}\n", n);
    }
    if (st) return cl_outset_abort(&set), fail(st == CL_EINVAL ? 2 : 1, err);
    return cl_outset_commit(&set, err) ? fail(1, err) : 0;
  }
  if (cmd_at < 0) return free(rest), fail(2, "sweep: missing COMMAND (simulate, reduced, ode, pde, fixed or basin)");
  cl_command cmd = cl_command_from_name(argv[cmd_at]);
  if (!cmd) {
    fprintf(stderr, "cldyn: sweep: command '%s' cannot be swept; accepted: simulate, reduced, ode, pde, fixed, basin\n", argv[cmd_at]);
    return free(rest), 2;
  }
  cl_config cfg;
  cl_config_init(&cfg, cmd);
  cl_status pst = cl_config_parse_args(&cfg, nrest, rest, err);
  free(rest);
  if (pst) return fail(2, err);
  if (cfg.help) {
    sweep_usage(stdout);
    printf("\n");
    cl_config_help(cmd, stdout);
    return 0;
  }
  cfg.progress |= force_progress, cfg.quiet |= quiet;
  skipped_note(&cfg);
  if (nv == 0) return fail(2, "--vary: sweep needs at least one --vary NAME=A:B:STEP");
  if (cfg.summary[0] || cfg.checkpoint[0] || cfg.resume[0] || cfg.vary[0] || cfg.threshold ||
      cfg.density_out[0] || cfg.hist_out[0] || cfg.terms || cfg.map[0])
    return fail(2, "sweep: --checkpoint, --resume, --threshold, --terms, --density-out, --hist-out and --map of the command are not available in a sweep");
  if (so.summary && cmd != CL_CMD_SIMULATE && cmd != CL_CMD_REDUCED)
    return fail(2, "--summary: needs simulate or reduced (the mean and sd over runs)");
  if (so.final && (cmd == CL_CMD_FIXED || cmd == CL_CMD_BASIN))
    return fail(2, "--final: needs simulate, reduced, ode or pde (a table over time)");
  /* every value of every --vary must be valid (checked before any work) */
  for (int k = 0; k < nv; k++)
    for (long j = 0; j < v[k].n; j++) {
      cl_config probe = cfg;
      if (cl_config_set_number(&probe, v[k].name, cl_vary_value(&v[k], j), err)) return fail(2, err);
    }
  cl_meter meter;
  cl_meter_init(&meter, "sweep, points", progress_on(&cfg), stderr);
  so.progress = cl_meter_update, so.progress_ctx = &meter;
  cl_sweep_id id;
  if (cl_sweep_identity(&cfg, v, nv, &so, shard, nshards, &id, err)) return fail(1, err);
  const char *opt[] = {"out"}, *path[] = {cfg.out};
  const int sc[] = {1};
  if (cl_out_check_all(opt, path, sc, 1, err)) return fail(2, err);
  /* --resume: the complete points of the old output (same sweep, same
   * shard) are kept, to a clean copy; the rest is run again */
  long *done = NULL, ndone = 0;
  int have_old = resume && strcmp(cfg.out, "-") != 0 && access(cfg.out, R_OK) == 0;
  char oldc[CL_PATHLEN + 32] = "";
  if (have_old) {
    cl_sweep_id old;
    if (cl_sweep_read_id(cfg.out, &old, err)) return fail(2, err);
    /* the old output may hold a finer shard of this one (a subset) */
    if (strcmp(old.fp, id.fp) || old.points != id.points || old.nshards % id.nshards != 0 ||
        old.shard % id.nshards != id.shard)
      return fail(2, "--resume: the output was written by another sweep (other parameters, grid or shard)");
    snprintf(oldc, sizeof oldc, "%s.old.XXXXXX", cfg.out);
    int fd = mkstemp(oldc);
    FILE *cf = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!cf) return fail(2, "--resume: cannot write next to the output");
    cl_tmp_register(oldc);
    cl_status st = cl_sweep_scan_done(cfg.out, &id, &done, &ndone, cf, err);
    if (fclose(cf) != 0 && !st) st = cl_fail(err, CL_EIO, "--resume: write error");
    if (st) return unlink(oldc), cl_tmp_unregister(oldc), fail(st == CL_EINVAL ? 2 : 1, err);
  }
  cl_sweep_id_kv(&id, kvb, kv);
  /* ux: the JSON records the grid, the layout and the streams */
  char gridb[CL_SWEEP_MAXVARY][100], cmdname[64];
  const char *grid[2 * CL_SWEEP_MAXVARY + 1];
  for (int k = 0; k < nv; k++) {
    char a1[32], a2[32], a3[32];
    snprintf(gridb[k], sizeof gridb[k], "%s:%s:%s", cl_fmt_real(a1, 32, v[k].a), cl_fmt_real(a2, 32, v[k].b),
             cl_fmt_real(a3, 32, v[k].step));
    grid[2 * k] = v[k].name, grid[2 * k + 1] = gridb[k];
  }
  grid[2 * nv] = NULL;
  snprintf(cmdname, sizeof cmdname, "sweep %s", cl_command_name(cmd));
  const char *kvall[16];
  int nkv = 0;
  for (; kv[nkv]; nkv++) kvall[nkv] = kv[nkv];
  kvall[nkv++] = "sweep_streams", kvall[nkv++] = so.independent ? "independent" : "common";
  kvall[nkv++] = "sweep_layout", kvall[nkv++] = so.summary ? (so.final ? "summary,final" : "summary") : so.final ? "final" : "all";
  kvall[nkv] = NULL;
#ifdef CL_MPI
  /* MPI: each rank runs its part of the shard (the rule of sweep.h); rank 0
   * gathers the parts and merges them (with the old output's points when
   * resuming) into the one output. */
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size > 1) {
    if (rank) meter.on = 0; /* one progress line: rank 0's part */
    char *text = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&text, &len);
    cl_status st = mf ? cl_sweep_run_part(&cfg, v, nv, &so, shard, nshards, rank, size, done, ndone, threads, 1, mf, err)
                      : cl_fail(err, CL_ENOMEM, "sweep: out of memory");
    if (mf) fclose(mf);
    int ok = st == CL_OK, all_ok;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    int mylen = (int)len, *lens = NULL, *displs = NULL;
    char *all = NULL;
    if (rank == 0) lens = calloc((size_t)size, sizeof(int)), displs = calloc((size_t)size, sizeof(int));
    MPI_Gather(&mylen, 1, MPI_INT, lens, 1, MPI_INT, 0, MPI_COMM_WORLD);
    long total = 0;
    if (rank == 0) {
      for (int r = 0; r < size; r++) displs[r] = (int)total, total += lens[r];
      all = malloc((size_t)total + 1);
    }
    MPI_Gatherv(text, mylen, MPI_CHAR, all, lens, displs, MPI_CHAR, 0, MPI_COMM_WORLD);
    free(text);
    int rc = 0;
    if (!all_ok) rc = ok ? 1 : fail(st == CL_EINVAL ? 2 : 1, err);
    if (rank == 0 && all_ok) {
      char **paths = calloc((size_t)size + 1, sizeof(char *));
      cl_sweep_id *ids = calloc((size_t)size + 1, sizeof *ids);
      int np = 0;
      if (have_old) paths[np] = strdup(oldc), ids[np++] = id;
      for (int r = 0; r < size; r++) {
        if (lens[r] == 0) continue;
        char *path = malloc(CL_PATHLEN + 32);
        snprintf(path, CL_PATHLEN + 32, "%s.rank%d.%ld", strcmp(cfg.out, "-") ? cfg.out : "/tmp/cldyn-sweep", r, (long)getpid());
        cl_tmp_register(path);
        FILE *f = fopen(path, "w");
        if (!f || fwrite(all + displs[r], 1, (size_t)lens[r], f) != (size_t)lens[r]) rc = fail(1, "sweep: cannot write a rank's part");
        if (f && fclose(f) != 0 && !rc) rc = fail(1, "sweep: cannot write a rank's part");
        paths[np] = path, ids[np++] = id;
      }
      cl_outset set = {0};
      if (!rc && cl_outset_add(&set, cfg.out, "out", 1, err)) cl_outset_abort(&set), rc = fail(2, err);
      if (!rc && cl_sweep_merge(paths, ids, np, &id, set.f[0].f, err)) cl_outset_abort(&set), rc = fail(1, err);
      if (!rc && set.meta[0] >= 0 && cl_meta_dump_grid(set.f[set.meta[0]].f, &cfg, argc, argv, 0, kvall, cmdname, grid, err))
        cl_outset_abort(&set), rc = fail(1, err);
      if (!rc && cl_outset_commit(&set, err)) rc = fail(1, err);
      for (int k = 0; k < np; k++) {
        unlink(paths[k]);
        cl_tmp_unregister(paths[k]);
        free(paths[k]);
      }
      free(paths);
      free(ids);
    } else if (have_old) {
      unlink(oldc);
      cl_tmp_unregister(oldc);
    }
    free(all);
    free(lens);
    free(displs);
    free(done);
    cl_meter_end(&meter, rc == 0);
    return rc;
  }
#endif
  cl_outset set = {0};
  if (cl_outset_add(&set, cfg.out, "out", 1, err)) {
    if (have_old) unlink(oldc), cl_tmp_unregister(oldc);
    return cl_outset_abort(&set), free(done), fail(2, err);
  }
  double t0 = now_seconds();
  cl_status st;
  if (have_old) {
    /* new points to a temporary file, then merged with the old points */
    char tmp[CL_PATHLEN + 32];
    snprintf(tmp, sizeof tmp, "%s.new.XXXXXX", cfg.out);
    int fd = mkstemp(tmp);
    FILE *nf = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!nf) {
      unlink(oldc), cl_tmp_unregister(oldc);
      return cl_outset_abort(&set), free(done), fail(2, "--resume: cannot write next to the output");
    }
    cl_tmp_register(tmp);
    st = cl_sweep_run(&cfg, v, nv, &so, shard, nshards, done, ndone, threads, 1, nf, err);
    if (fclose(nf) != 0 && !st) st = cl_fail(err, CL_EIO, "--resume: write error");
    if (!st) {
      char *paths[2] = {oldc, tmp};
      cl_sweep_id ids[2] = {id, id};
      st = cl_sweep_merge(paths, ids, 2, &id, set.f[0].f, err);
    }
    unlink(tmp), unlink(oldc);
    cl_tmp_unregister(tmp), cl_tmp_unregister(oldc);
  } else {
    st = cl_sweep_run(&cfg, v, nv, &so, shard, nshards, NULL, 0, threads, 1, set.f[0].f, err);
  }
  free(done);
  if (!st && set.meta[0] >= 0) st = cl_meta_dump_grid(set.f[set.meta[0]].f, &cfg, argc, argv, now_seconds() - t0, kvall, cmdname, grid, err);
  cl_meter_end(&meter, !st);
  if (st) return cl_outset_abort(&set), fail(st == CL_EINVAL ? 2 : 1, err);
  if (cl_outset_commit(&set, err)) return fail(1, err);
  return 0;
}

/* cldyn reproduce [--quick] [--out DIR] [--progress] [--quiet] */
static int run_reproduce(int argc, char **argv) {
  int quick = 0, force_progress = 0, quiet = 0;
  const char *dir = "reproduce-out";
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--quick")) quick = 1;
    else if (!strcmp(argv[i], "--progress")) force_progress = 1; /* ux: new options */
    else if (!strcmp(argv[i], "--quiet")) quiet = 1;
    else if (!strcmp(argv[i], "--out") && i + 1 < argc) dir = argv[++i];
    else if (!strcmp(argv[i], "--help")) {
      printf("usage: cldyn reproduce [--quick] [--out DIR] [--progress] [--quiet]   (default DIR: reproduce-out)\n");
      return 0;
    } else {
      fprintf(stderr, "cldyn: reproduce: %s '%s'; accepted: --quick, --out DIR, --progress, --quiet\n",
              !strcmp(argv[i], "--out") ? "missing value of" : "unknown option", argv[i]);
      return 2;
    }
  }
  if (strlen(dir) > 1000 || strpbrk(dir, "'\"$`\\"))
    return fail(2, "--out: the directory name must be under 1000 characters, without quotes, $, ` or \\");
  char err[CL_ERRLEN];
  double t0 = now_seconds();
  cl_meter meter;
  cl_meter_init(&meter, "reproduce", !quiet && (force_progress || isatty(2)), stderr);
  if (cl_reproduce(dir, quick, &meter, err)) return cl_meter_end(&meter, 0), fail(1, err);
  snprintf(meter.what, sizeof meter.what, "reproduce: figures (gnuplot)");
  meter.last = -1;
  cl_meter_update(&meter, 0.99);
  const char *figs[] = {"ode_vs_sim", "bifurcation", "selection", "phase", "rho", "noise_s", "pde_overlay",
                        "mechanism", "graded", "graded_sweep", "graded_portrait"};
  for (size_t k = 0; k < sizeof figs / sizeof figs[0]; k++) {
    char script[64], msg[256];
    snprintf(script, sizeof script, "%s.gp", figs[k]);
    if (cl_gnuplot_run(dir, script, msg, sizeof msg) != CL_OK) fprintf(stderr, "cldyn: reproduce: gnuplot failed on %s.gp (is gnuplot-nox installed?)\n", figs[k]);
  }
  cl_meter_end(&meter, 1);
  printf("reproduce%s: report, data and figures in %s/ (report.md; %.0f s)\n", quick ? " --quick" : "", dir,
         now_seconds() - t0);
  return 0;
}

int main(int argc, char **argv) {
  /* SIGINT, SIGTERM, SIGHUP: remove our temporary files, exit 128 + signal */
  char serr[CL_ERRLEN];
  if (cl_signals_install(serr)) return fail(1, serr);
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("cldyn %s\n", CL_VERSION);
    return 0;
  }
  if (strcmp(argv[1], "reproduce") == 0) return run_reproduce(argc, argv);
  if (strcmp(argv[1], "plot") == 0) return run_plot(argc, argv);
  if (strcmp(argv[1], "sweep") == 0) {
#ifdef CL_MPI
    MPI_Init(&argc, &argv);
    int rc = run_sweep(argc, argv);
    MPI_Finalize();
    return rc;
#else
    return run_sweep(argc, argv);
#endif
  }
  cl_command cmd = cl_command_from_name(argv[1]);
  if (!cmd) {
    fprintf(stderr, "cldyn: unknown command '%s'; accepted: simulate, reduced, ode, fixed, basin\n", argv[1]);
    return 2;
  }
  cl_config cfg;
  char err[CL_ERRLEN];
  cl_config_init(&cfg, cmd);
  if (cl_config_parse_args(&cfg, argc - 2, argv + 2, err)) return fail(2, err);
  skipped_note(&cfg);
  if (cfg.help) {
    cl_config_help(cmd, stdout);
    return 0;
  }
  if (cfg.print_config) {
    cl_config_print(&cfg, stdout);
    return 0;
  }
  if (cmd == CL_CMD_FIXED) return run_fixed(&cfg, argc, argv);
  if (cmd == CL_CMD_BASIN) return run_basin(&cfg, argc, argv);
  return run_traj(&cfg, argc, argv);
}
