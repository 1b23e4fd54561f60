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

#include "cldyn/cldyn.h"

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

static void progress_line(void *ctx, double fraction) {
  double *last = ctx;
  double t = now_seconds();
  if (t - *last < 0.2 && fraction < 1) return;
  *last = t;
  fprintf(stderr, "\rcldyn: %5.1f%%", 100 * fraction);
  if (fraction >= 1) fputc('\n', stderr);
  fflush(stderr);
}

static int fail(int code, const char *msg) {
  fprintf(stderr, "cldyn: %s\n", msg);
  return code;
}

/* Write a trajectory table (and its summary) atomically, with metadata. */
static int write_outputs(cl_config *cfg, cl_traj *tr, cl_outfile *out, cl_outfile *sum, int argc,
                         char **argv, double wall, const char *info) {
  char err[CL_ERRLEN];
  int has_sum = sum != NULL;
  cl_status st = cl_traj_write_csv(tr, out->f);
  if (!st && has_sum) st = cl_traj_write_summary(tr, sum->f);
  if (st) {
    cl_out_abort(out);
    if (has_sum) cl_out_abort(sum);
    return fail(1, "error writing the output");
  }
  if ((st = cl_out_commit(out, err))) return fail(1, err);
  if (has_sum && (st = cl_out_commit(sum, err))) return fail(1, err);
  const char *kv[] = {"method", info, NULL, NULL, NULL};
  const char **extra = info ? kv : kv + 2;
  if (!out->is_stdout && (st = cl_meta_write(cfg->out, cfg, argc, argv, wall, extra, err)))
    return fail(1, err);
  if (has_sum && !sum->is_stdout) {
    const char *kv2[] = {"summary_of", cfg->out, NULL};
    if ((st = cl_meta_write(cfg->summary, cfg, argc, argv, wall, kv2, err))) return fail(1, err);
  }
  return 0;
}

static cl_status density_obs(void *ctx, const cl_pde *p, size_t k, char *err) {
  cl_outfile *f = ctx;
  (void)k;
  cl_pde_write_density(p, f->f);
  return ferror(f->f) ? cl_fail(err, CL_EIO, "--density-out: write error") : CL_OK;
}

static int run_traj(cl_config *cfg, int argc, char **argv) {
  char err[CL_ERRLEN], info[CL_ERRLEN] = "";
  cl_outfile out, sum, dens;
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
  if (cl_out_open(&out, cfg->out, "out", err)) return fail(2, err);
  if (has_sum && cl_out_open(&sum, cfg->summary, "summary", err)) {
    cl_out_abort(&out);
    return fail(2, err);
  }
  const char *side = has_dens ? cfg->density_out : cfg->hist_out;
  if ((has_dens || has_hist) && cl_out_open(&dens, side, has_dens ? "density-out" : "hist-out", err)) {
    cl_out_abort(&out);
    if (has_sum) cl_out_abort(&sum);
    return fail(2, err);
  }
  double t0 = now_seconds(), last = 0;
  cl_traj *tr = NULL;
  cl_hist *hist = NULL;
  cl_status st = CL_OK;
  if (cfg->cmd == CL_CMD_ODE)
    st = cl_ode_solve(&cfg->model, &cfg->sched, &cfg->ode, &tr, info, err);
  else if (cfg->cmd == CL_CMD_PDE) {
    cl_pde_opts po = cfg->pde;
    po.quad = cfg->ode.quad;
    if (has_dens) cl_density_header(dens.f, cfg->model.K);
    st = cl_pde_solve(&cfg->model, &cfg->sched, &po, &tr, has_dens ? density_obs : NULL, &dens,
                      info, err);
  } else {
    cl_ckpt_opts ck = {cfg->checkpoint[0] ? cfg->checkpoint : NULL, cfg->checkpoint_every,
                       cfg->resume[0] ? cfg->resume : NULL};
    if (has_hist && !(hist = cl_hist_alloc(&cfg->model, &cfg->sched, cfg->hist_width, err))) st = CL_EINVAL;
    if (!st)
      st = cl_run_engine_obs(cfg->cmd == CL_CMD_REDUCED ? &cl_engine_reduced : &cl_engine_simulate,
                             &cfg->model, &cfg->sched, cfg->threads, &ck, &tr,
                             isatty(2) ? progress_line : NULL, &last, hist ? cl_hist_observe : NULL, hist, err);
    if (!st && hist && cl_hist_write(hist, dens.f)) st = cl_fail(err, CL_EIO, "--hist-out: write error");
    cl_hist_free(hist);
  }
  if (st) {
    cl_out_abort(&out);
    if (has_sum) cl_out_abort(&sum);
    if (has_dens || has_hist) cl_out_abort(&dens);
    return fail(st == CL_EINVAL ? 2 : 1, err);
  }
  if (strstr(info, "standard error")) fprintf(stderr, "cldyn: %s\n", info);
  int rc = write_outputs(cfg, tr, &out, has_sum ? &sum : NULL, argc, argv, now_seconds() - t0,
                         info[0] ? info : NULL);
  cl_traj_free(tr);
  if (!rc && (has_dens || has_hist)) {
    if (cl_out_commit(&dens, err)) return fail(1, err);
    const char *kv[] = {"density_of", cfg->out, NULL};
    if (!dens.is_stdout && cl_meta_write(side, cfg, argc, argv, now_seconds() - t0, kv, err))
      return fail(1, err);
  } else if (has_dens || has_hist)
    cl_out_abort(&dens);
  return rc;
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
  cl_outfile out;
  const cl_model *m = &cfg->model;
  /* check --vary's name before any work */
  char vname[128] = "";
  double a = 0, b = 0, h = 1;
  if (cfg->vary[0]) {
    const char *eq = strchr(cfg->vary, '=');
    snprintf(vname, sizeof vname, "%.*s", (int)(eq - cfg->vary), cfg->vary);
    sscanf(eq + 1, "%lf:%lf:%lf", &a, &b, &h);
    cl_config probe = *cfg;
    if (cl_config_set_number(&probe, vname, a, err)) return fail(2, err);
  }
  const char *tn = cfg->threshold_name;
  int sel_id = 1, sel_kind = -1;
  if (cfg->threshold && tn[0]) {
    if (strcmp(vname, tn) != 0)
      return fprintf(stderr, "cldyn: --threshold %s: needs --vary %s=A:B:STEP (the range to scan)\n", tn, tn), 2;
    if (cfg->point[0] && (sel_kind = cl_fixed_kind_from_name(cfg->point)) >= 0) sel_id = 0;
    else if (cfg->point[0]) sel_id = atoi(cfg->point);
  } else if (cfg->point[0])
    return fail(2, "--point: only with --threshold NAME");
  if (cl_out_open(&out, cfg->out, "out", err)) return fail(2, err);
  double t0 = now_seconds();
  cl_status st = CL_OK;
  cl_fixed_opts fo;
  cl_fixed_opts_default(&fo);
  fo.nrandom = cfg->starts;
  long starts = 0, solves = 0, orbits = 0, points = 0, truncated = 0;
  double maxres = 0;
  char syms[256] = "";
  if (cfg->threshold && tn[0]) {
    cl_threshold th[64];
    int nth = 0;
    st = cl_fixed_threshold(m, &cfg->ode.quad, set_param, cfg, a, b, h, sel_id, sel_kind, th, 64, &nth, err);
    if (!st) {
      fprintf(out.f, "parameter,point,critical,event,before,after,kind\n");
      for (int k = 0; k < nth; k++)
        fprintf(out.f, "%s,%s,%.12g,%s,%s,%s,%s\n", tn, cfg->point[0] ? cfg->point : "1", th[k].value,
                th[k].event ? "lost" : "stability", cl_stability_name(th[k].before),
                th[k].event ? "none" : cl_stability_name(th[k].after), cl_fixed_kind_name(th[k].at.kind));
      if (nth == 0) fprintf(stderr, "cldyn: fixed: the point does not change stability for %s in [%g, %g]\n", tn, a, b);
    }
  } else if (cfg->threshold) {
    fprintf(out.f, "feature,critical_m2\n");
    for (int j = 0; j < m->K && !st; j++) {
      double m2c;
      if (!(st = cl_critical_m2(m, &cfg->ode.quad, j, &m2c, err))) fprintf(out.f, "%d,%.17g\n", j + 1, m2c);
    }
  } else {
    cl_fixed_write_header(out.f, m->K, m->M, vname[0] ? vname : NULL);
    cl_fixed_point *prev = NULL;
    int nprev = 0;
    long npts = vname[0] ? (long)floor((b - a) / h + 1e-9) + 1 : 1;
    for (long k = 0; k < npts && !st; k++) {
      cl_config c = *cfg;
      double v = a + (double)k * h;
      char vs[64];
      if (vname[0] && (st = cl_config_set_number(&c, vname, v, err))) break;
      /* continuation: one point of each previous orbit is an extra start */
      double *extra = malloc(sizeof(double) * 64 * CL_STATE_MAX);
      int ne = 0;
      for (int i = 0; extra && i < nprev && ne < 64; i++)
        if (i == 0 || prev[i].orbit != prev[i - 1].orbit)
          memcpy(extra + ne++ * prev[i].n, prev[i].y, sizeof(double) * (size_t)prev[i].n);
      cl_fixed_point *fp = NULL;
      int nf = 0;
      cl_fixed_info info;
      st = extra ? cl_fixed_find_ex(&c.model, &c.ode.quad, &fo, extra, ne, &fp, &nf, &info, err)
                 : cl_fail(err, CL_ENOMEM, "fixed: out of memory");
      free(extra);
      if (st) break;
      starts += info.starts, solves += info.newton_runs, orbits += info.orbits, points += info.points;
      truncated += info.truncated, maxres = fmax(maxres, info.max_residual);
      snprintf(syms, sizeof syms, "%s", info.symmetries);
      cl_fixed_write_rows(out.f, m->K, m->M, fp, nf, vname[0] ? cl_fmt_real(vs, sizeof vs, v) : NULL);
      free(prev);
      prev = fp, nprev = nf;
    }
    free(prev);
    if (!st)
      fprintf(stderr, "cldyn: fixed: %ld starts, %ld Newton solves, %ld orbits, %ld points (largest residual %.2g)%s; symmetries: %s\n",
              starts, solves, orbits, points, maxres, truncated ? "; some orbits cut at 1024 images" : "", syms);
  }
  if (st) {
    cl_out_abort(&out);
    return fail(st == CL_EINVAL ? 2 : 1, err);
  }
  if ((st = cl_out_commit(&out, err))) return fail(1, err);
  char s1[32], s2[32], s3[32], s4[32], s5[32];
  snprintf(s1, sizeof s1, "%ld", starts), snprintf(s2, sizeof s2, "%ld", solves);
  snprintf(s3, sizeof s3, "%ld", orbits), snprintf(s4, sizeof s4, "%ld", points);
  snprintf(s5, sizeof s5, "%.3g", maxres);
  const char *kv[] = {"starts", s1, "newton_solves", s2, "orbits", s3, "points", s4, "max_residual", s5,
                      "symmetries", syms, NULL};
  if (!out.is_stdout &&
      (st = cl_meta_write(cfg->out, cfg, argc, argv, now_seconds() - t0, starts ? kv : NULL, err)))
    return fail(1, err);
  return 0;
}

static int run_basin(cl_config *cfg, int argc, char **argv) {
  char err[CL_ERRLEN];
  cl_outfile out, map;
  const cl_model *m = &cfg->model;
  int has_map = cfg->map[0] != '\0';
  if (m->M >= 2) {
    /* M >= 2: the probability of each outcome (specialised, dead, ...) */
    if (has_map) return fail(2, "--map: needs M = 1");
    if (m->B != 1) return fail(2, "--B: basin with M >= 2 needs B = 1");
    if (cl_out_open(&out, cfg->out, "out", err)) return fail(2, err);
    double t0 = now_seconds();
    cl_basin_multi_result res;
    cl_status st = cl_basin_multi(m, &cfg->ode, cfg->directions, cfg->tmax, cfg->sched.seed, cfg->threads, &res, err);
    if (st) {
      cl_out_abort(&out);
      return fail(st == CL_EINVAL ? 2 : 1, err);
    }
    fprintf(out.f, "outcome,probability,stderr,count\n");
    for (int q = 0; q < CL_NKINDS; q++) {
      double p = res.prob[q];
      fprintf(out.f, "%s,%.17g,%.17g,%ld\n", cl_fixed_kind_name(q), p, sqrt(p * (1 - p) / (double)res.ndir),
              res.count[q]);
    }
    if ((st = cl_out_commit(&out, err))) return fail(1, err);
    if (!out.is_stdout && (st = cl_meta_write(cfg->out, cfg, argc, argv, now_seconds() - t0, NULL, err)))
      return fail(1, err);
    return 0;
  }
  if (m->K < 2) return fail(2, "--c: basin needs at least 2 features (K >= 2)");
  if (has_map && m->K != 2) return fail(2, "--map: needs exactly K = 2 features");
  if (cl_out_open(&out, cfg->out, "out", err)) return fail(2, err);
  if (has_map && cl_out_open(&map, cfg->map, "map", err)) return cl_out_abort(&out), fail(2, err);
  double t0 = now_seconds();
  cl_basin_result res;
  cl_status st = cl_basin(m, &cfg->ode, cfg->directions, cfg->tmax, cfg->sched.seed,
                          cfg->threads, &res, err);
  int have_res = !st; /* cl_basin frees its result on failure */
  if (!st) {
    fprintf(out.f, "fixed_point,probability,stderr");
    for (int j = 0; j < m->K; j++) fprintf(out.f, ",cos_%d_1", j + 1);
    fprintf(out.f, "\n");
    for (int i = 0; i <= res.nfp; i++) {
      if (i == res.nfp && res.count[i] == 0) break;
      double p = fmin(fmax(res.prob[i], 0), 1);
      if (i < res.nfp) fprintf(out.f, "%d", i + 1);
      else fprintf(out.f, "none");
      fprintf(out.f, ",%.17g,%.17g", p, sqrt(p * (1 - p) / (double)res.ndir));
      for (int j = 0; j < m->K; j++)
        fprintf(out.f, ",%.17g", i < res.nfp ? res.fp[i].y[j] / sqrt(res.fp[i].y[m->K]) : NAN);
      fprintf(out.f, "\n");
    }
  }
  if (!st && has_map) {
    /* the fixed point reached from each (R_1, R_2) inside |R| < sqrt(Q0) */
    int n = cfg->map_points;
    int *which = malloc(sizeof(int) * (size_t)(n * n));
    st = cl_basin_map(m, &cfg->ode, &res, n, cfg->tmax, cfg->threads, which, err);
    if (!st) {
      fprintf(map.f, "R_1_1,R_2_1,fixed_point\n");
      for (int k = 0; k < n * n; k++) {
        if (which[k] < 0) continue;
        fprintf(map.f, "%.17g,%.17g,", cl_basin_map_coord(m, n, k % n), cl_basin_map_coord(m, n, k / n));
        if (which[k] < res.nfp) fprintf(map.f, "%d\n", which[k] + 1);
        else fprintf(map.f, "none\n");
      }
    }
    free(which);
  }
  if (have_res) cl_basin_result_free(&res);
  if (st) {
    cl_out_abort(&out);
    if (has_map) cl_out_abort(&map);
    return fail(st == CL_EINVAL ? 2 : 1, err);
  }
  if ((st = cl_out_commit(&out, err))) return fail(1, err);
  if (has_map && (st = cl_out_commit(&map, err))) return fail(1, err);
  double wall = now_seconds() - t0;
  if (!out.is_stdout && (st = cl_meta_write(cfg->out, cfg, argc, argv, wall, NULL, err))) return fail(1, err);
  if (has_map && !map.is_stdout && (st = cl_meta_write(cfg->map, cfg, argc, argv, wall, NULL, err))) return fail(1, err);
  return 0;
}

/* cldyn plot --out FIG.png|svg [--density D] [--hist H] [--t T] [--min-mass X] [--y COL] [FILE...] */
static int run_plot(int argc, char **argv) {
  char err[CL_ERRLEN];
  const char *out = NULL, *dens = NULL, *hist = NULL, *col = "cos_1_1";
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
             "    summaries are drawn as mean +- sd\n"
             "  the gnuplot script and data are kept beside the figure (FIG.gp, FIG.dat)\n");
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
    else if (!strcmp(a, "--t") || !strcmp(a, "--min-mass")) {
      double x;
      int okv = cl_parse_real(v, &x) && (!strcmp(a, "--t") ? x >= 0 : (x > 0 && x <= 1));
      if (!okv) {
        snprintf(err, sizeof err, "%s: must be %s (got '%s')", a, !strcmp(a, "--t") ? "a real >= 0" : "in (0, 1]", v);
        return fail(2, err);
      }
      *(!strcmp(a, "--t") ? &t : &minmass) = x;
    } else {
      snprintf(err, sizeof err, "plot: unknown option '%s'; accepted: --out, --density, --hist, --t, --min-mass, --y", a);
      return fail(2, err);
    }
  }
  if (!out) return fail(2, "plot: --out FIG.png (or .svg) is required");
  if (!dens && !hist && !nf) return fail(2, "plot: give --density and/or --hist, or trajectory files");
  if ((dens || hist) && nf) return fail(2, "plot: density overlays and trajectory files go in separate figures");
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

/* cldyn sweep [--vary NAME=A:B:STEP]... [--shard I/N] [--resume] COMMAND [options]
 * cldyn sweep --merge --out PATH FILE... */
static int run_sweep(int argc, char **argv) {
  char err[CL_ERRLEN];
  cl_vary v[CL_SWEEP_MAXVARY];
  int nv = 0, resume = 0, merge = 0, i = 2, threads = 0;
  long shard = 0, nshards = 1;
  const char *merge_out = "-";
  for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
    if (!strcmp(argv[i], "--vary") && i + 1 < argc) {
      if (nv == CL_SWEEP_MAXVARY) return fail(2, "--vary: at most 8 parameters");
      if (cl_vary_parse(argv[++i], &v[nv++], err)) return fail(2, err);
    } else if (!strcmp(argv[i], "--shard") && i + 1 < argc) {
      long a, b;
      char extra;
      if (sscanf(argv[++i], "%ld/%ld%c", &a, &b, &extra) != 2 || b < 1 || a < 1 || a > b)
        return fail(2, "--shard: expected I/N with 1 <= I <= N");
      shard = a - 1, nshards = b;
    } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
      long long t;
      if (!cl_parse_int(argv[++i], &t) || t < 0 || t > 1024)
        return fail(2, "--threads: must be an integer in [0, 1024]");
      threads = (int)t;
    } else if (!strcmp(argv[i], "--resume")) {
      resume = 1;
    } else if (!strcmp(argv[i], "--merge")) {
      merge = 1;
    } else if (!strcmp(argv[i], "--out") && i + 1 < argc && merge) {
      merge_out = argv[++i];
    } else {
      fprintf(stderr, "cldyn: sweep: unknown option '%s'; accepted before the command: --vary "
                      "NAME=A:B:STEP, --shard I/N, --threads N, --resume, --merge\n", argv[i]);
      return 2;
    }
  }
  if (merge) {
    cl_outfile out;
    if (i >= argc) return fail(2, "--merge: no input files");
    if (cl_out_open(&out, merge_out, "out", err)) return fail(2, err);
    if (cl_sweep_merge(argv + i, argc - i, out.f, err)) return cl_out_abort(&out), fail(2, err);
    return cl_out_commit(&out, err) ? fail(1, err) : 0;
  }
  if (i >= argc) return fail(2, "sweep: missing COMMAND (simulate, reduced, ode, pde or fixed)");
  cl_command cmd = cl_command_from_name(argv[i]);
  if (cmd != CL_CMD_SIMULATE && cmd != CL_CMD_REDUCED && cmd != CL_CMD_ODE && cmd != CL_CMD_PDE &&
      cmd != CL_CMD_FIXED) {
    fprintf(stderr, "cldyn: sweep: command '%s' cannot be swept; accepted: simulate, reduced, ode, pde, fixed\n", argv[i]);
    return 2;
  }
  if (nv == 0) return fail(2, "--vary: sweep needs at least one --vary NAME=A:B:STEP");
  cl_config cfg;
  cl_config_init(&cfg, cmd);
  if (cl_config_parse_args(&cfg, argc - i - 1, argv + i + 1, err)) return fail(2, err);
  if (cfg.summary[0] || cfg.checkpoint[0] || cfg.resume[0] || cfg.vary[0] || cfg.threshold ||
      cfg.density_out[0] || cfg.hist_out[0])
    return fail(2, "sweep: --summary, --checkpoint, --resume, --vary, --threshold, --density-out and --hist-out of the command are not available in a sweep");
  /* every point's parameters must be valid: check the corners of the grid */
  for (int k = 0; k < nv; k++) {
    cl_config probe = cfg;
    if (cl_config_set_number(&probe, v[k].name, v[k].a, err) ||
        cl_config_set_number(&probe, v[k].name, v[k].a + (double)(v[k].n - 1) * v[k].step, err))
      return fail(2, err);
  }
  /* --resume: the points already in the output are skipped */
  long *done = NULL, ndone = 0;
  int have_old = resume && strcmp(cfg.out, "-") != 0 && access(cfg.out, R_OK) == 0;
  if (have_old) {
    FILE *f = fopen(cfg.out, "r");
    char *line = NULL;
    size_t n = 0;
    long np = cl_sweep_points(v, nv), lineno = 0;
    done = malloc(sizeof(long) * (size_t)np);
    while (f && getline(&line, &n, f) > 0)
      if (lineno++ > 0) {
        long p = strtol(line, NULL, 10) - 1;
        if (p >= 0 && p < np && (ndone == 0 || done[ndone - 1] != p)) done[ndone++] = p;
      }
    free(line);
    if (f) fclose(f);
    /* keep the list sorted for the binary search */
    for (long a = 1; a < ndone; a++)
      for (long b = a; b > 0 && done[b - 1] > done[b]; b--) {
        long t = done[b];
        done[b] = done[b - 1], done[b - 1] = t;
      }
  }
#ifdef CL_MPI
  /* MPI: the points are spread over the ranks as finer shards; rank 0
   * gathers the rows and writes the one output (in point order). */
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size > 1) {
    char *text = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&text, &len);
    cl_status st = cl_sweep_run(&cfg, v, nv, shard * size + rank, nshards * size, done, ndone, threads,
                                1, mf, err);
    fclose(mf);
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
      /* each rank's part to a file, then the ordinary merge (with the old
       * output first when resuming) */
      char **paths = calloc((size_t)size + 1, sizeof(char *));
      int np = 0;
      if (have_old) paths[np++] = strdup(cfg.out);
      for (int r = 0; r < size; r++) {
        if (lens[r] == 0) continue;
        char *path = malloc(CL_PATHLEN + 32);
        snprintf(path, CL_PATHLEN + 32, "%s.rank%d.%ld", strcmp(cfg.out, "-") ? cfg.out : "/tmp/cldyn-sweep", r, (long)getpid());
        FILE *f = fopen(path, "w");
        if (!f || fwrite(all + displs[r], 1, (size_t)lens[r], f) != (size_t)lens[r]) rc = fail(1, "sweep: cannot write a rank's part");
        if (f) fclose(f);
        paths[np++] = path;
      }
      cl_outfile out;
      if (!rc && cl_out_open(&out, cfg.out, "out", err)) rc = fail(2, err);
      if (!rc && cl_sweep_merge(paths, np, out.f, err)) cl_out_abort(&out), rc = fail(1, err);
      if (!rc && cl_out_commit(&out, err)) rc = fail(1, err);
      if (!rc && !out.is_stdout && cl_meta_write(cfg.out, &cfg, argc, argv, 0, NULL, err)) rc = fail(1, err);
      for (int k = 0; k < np; k++) {
        if (!(have_old && k == 0)) unlink(paths[k]);
        free(paths[k]);
      }
      free(paths);
    }
    free(all);
    free(lens);
    free(displs);
    free(done);
    return rc;
  }
#endif
  cl_outfile out;
  if (cl_out_open(&out, cfg.out, "out", err)) return free(done), fail(2, err);
  double t0 = now_seconds();
  cl_status st;
  if (have_old) {
    /* new points to a temporary file, then merged with the old output */
    char tmp[CL_PATHLEN + 16];
    snprintf(tmp, sizeof tmp, "%s.new.%ld", cfg.out, (long)getpid());
    FILE *nf = fopen(tmp, "w");
    if (!nf) return cl_out_abort(&out), free(done), fail(2, "--resume: cannot write next to the output");
    st = cl_sweep_run(&cfg, v, nv, shard, nshards, done, ndone, threads, 1, nf, err);
    fclose(nf);
    if (!st) {
      char *paths[2] = {cfg.out, tmp};
      /* an empty new part (all done) has no header: merge the old file alone */
      FILE *chk = fopen(tmp, "r");
      int empty = chk && fgetc(chk) == EOF;
      if (chk) fclose(chk);
      st = cl_sweep_merge(paths, empty ? 1 : 2, out.f, err);
    }
    unlink(tmp);
  } else {
    st = cl_sweep_run(&cfg, v, nv, shard, nshards, NULL, 0, threads, 1, out.f, err);
  }
  free(done);
  if (st) return cl_out_abort(&out), fail(st == CL_EINVAL ? 2 : 1, err);
  if ((st = cl_out_commit(&out, err))) return fail(1, err);
  if (!out.is_stdout && (st = cl_meta_write(cfg.out, &cfg, argc, argv, now_seconds() - t0, NULL, err)))
    return fail(1, err);
  return 0;
}

/* cldyn reproduce [--quick] [--out DIR] */
static int run_reproduce(int argc, char **argv) {
  int quick = 0;
  const char *dir = "reproduce-out";
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--quick")) quick = 1;
    else if (!strcmp(argv[i], "--out") && i + 1 < argc) dir = argv[++i];
    else if (!strcmp(argv[i], "--help")) {
      printf("usage: cldyn reproduce [--quick] [--out DIR]   (default DIR: reproduce-out)\n");
      return 0;
    } else {
      fprintf(stderr, "cldyn: reproduce: unknown option '%s'; accepted: --quick, --out DIR\n", argv[i]);
      return 2;
    }
  }
  if (strlen(dir) > 1000 || strpbrk(dir, "'\"$`\\"))
    return fail(2, "--out: the directory name must be under 1000 characters, without quotes, $, ` or \\");
  char err[CL_ERRLEN];
  double t0 = now_seconds();
  if (cl_reproduce(dir, quick, err)) return fail(1, err);
  const char *figs[] = {"ode_vs_sim", "bifurcation", "selection", "phase", "rho", "noise_s", "pde_overlay"};
  for (size_t k = 0; k < sizeof figs / sizeof figs[0]; k++) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot %s.gp 2>/dev/null", dir, figs[k]);
    if (system(cmd) != 0) fprintf(stderr, "cldyn: reproduce: gnuplot failed on %s.gp (is gnuplot-nox installed?)\n", figs[k]);
  }
  printf("reproduce%s: report, data and figures in %s/ (report.md; %.0f s)\n", quick ? " --quick" : "", dir,
         now_seconds() - t0);
  return 0;
}

int main(int argc, char **argv) {
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
