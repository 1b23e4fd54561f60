/* cldyn - command-line front end.  It only parses options and calls
 * libcldyn and the application layer (the sweep command: sweep_cmd.c).
 * Exit status (status.h, docs/cli.md s.6): 0 success, 2 bad input (one-line
 * message, no output file), 1 a run that failed (divergence, I/O error,
 * out of memory). */
#include <limits.h>
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

static void usage(FILE *f) { cl_commands_help(f); }

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* the progress line: on a terminal, or forced by --progress; never
 * with --quiet (isatty is the Python glue's switch, see app/capi.c) */
static int progress_on(const cl_config *cfg) { return !cfg->quiet && (cfg->progress || isatty(2)); }


static int fail(int code, const char *msg) { return cl_status_exit_msg(code, msg); }

static cl_status density_obs(void *ctx, const cl_pde *p, size_t k, char *err) {
  cl_outfile *f = ctx;
  (void)k;
  return cl_pde_write_density(p, f->f) ? cl_fail(err, CL_EIO, "--density-out: write error") : CL_OK;
}

/* The first non-finite row of an ODE trajectory, if some Q_ii there (or
 * just before) is within 10 atol of 0: a unit decayed to the dead point
 * R = Q = 0 (e.g. a strong L2 weight), below the absolute tolerance its Q_ii
 * is noise and cos = R / sqrt(Q) undefined (docs/hardening.md s.14). */
static int dead_unit_row(cl_traj *tr, double atol, double *qd, double *td) {
  const int K = tr->K, M = tr->M;
  for (long long r = 0; r < tr->runs; r++)
    for (size_t k = 0; k < tr->nt; k++) {
      const double *row = cl_traj_row(tr, r, k);
      int bad = 0;
      for (int c = 0; c < tr->ncol; c++) bad |= !isfinite(row[c]);
      if (!bad) continue;
      for (size_t kk = k ? k - 1 : k; kk <= k; kk++)
        for (int i = 0; i < M; i++) {
          double q = cl_traj_row(tr, r, kk)[K * M + i * M - i * (i - 1) / 2];
          if (q <= 10 * atol) return *qd = q, *td = tr->t[kk], 1;
        }
      return 0;
    }
  return 0;
}

static int run_traj(cl_config *cfg, int argc, char **argv) {
  char err[CL_ERRLEN + CL_STATUS_CMDLEN], info[CL_INFOLEN] = "";
  int has_sum = cfg->summary[0] != '\0';
  int has_dens = cfg->cmd == CL_CMD_PDE && cfg->density_out[0];
  int has_hist = cfg->cmd == CL_CMD_SIMULATE && cfg->hist_out[0];
  /* reduced's --reg and pde's --M are ranges of the option table (checked by
   * the parse), --hist-out's limits are its rules (checked by main) */
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
    if (has_dens) cl_pde_write_density_header(dens->f, cfg->model.K);
    st = cl_pde_solve(&cfg->model, &cfg->sched, &po, &tr, has_dens ? density_obs : NULL, dens,
                      info, err);
  } else {
    cl_ckpt_opts ck = {cfg->checkpoint[0] ? cfg->checkpoint : NULL, cfg->checkpoint_every,
                       cfg->resume[0] ? cfg->resume : NULL};
    if (has_hist) st = cl_hist_alloc(&cfg->model, &cfg->sched, cfg->hist_width, &hist, err);
    if (!st)
      st = cl_runner_run_obs(cfg->cmd == CL_CMD_REDUCED ? &cl_engine_reduced : &cl_engine_simulate,
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
    double qd, td;
    /* M = 1 only: with M >= 2 the library writes a dead unit's cos as 0
     * (cl_ode_solve, docs/multi.md s.14) */
    if ((st = cl_traj_check_finite(tr, e1)) && cfg->cmd == CL_CMD_ODE && m->M == 1 &&
        dead_unit_row(tr, cfg->ode.atol, &qd, &td))
      cl_fail(err, st,
              "%s: the state has decayed to the dead fixed point R = Q = 0 (Q = %g at t = %g, at the level of "
              "--atol %g), where cos is undefined; use --atol 0 (relative error control, follows Q down to "
              "underflow) or a shorter --T (an implicit --stepper does not help)",
              e1, qd, td, cfg->ode.atol);
    else if (st)
      cl_fail(err, st, "%s with tau = %g, s = %g, rho = %g, lambda = %g, B = %d, N = %lld; lower tau", e1, m->tau,
              m->s, m->rho, m->lambda, m->B, m->N);
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
    /* ode redone with another engine: that engine and the note (the method
     * line says it too); the one asked for stays under parameters */
    char note[CL_ERRLEN] = "";
    if (cfg->cmd == CL_CMD_ODE) cl_ode_rerun_note(&cfg->model, &cfg->ode.quad, info, note, sizeof note);
    const char *kv[] = {"method", info, "engine", cl_rerun_engine(&cfg->model, &cfg->ode.quad), "rerun", note, NULL};
    if (!note[0]) kv[2] = NULL;
    const char **extra = info[0] ? kv : kv + 2;
    if (set.meta[0] >= 0) st = cl_meta_dump(set.f[set.meta[0]].f, cfg, argc, argv, wall, extra, err);
    const char *kvs[] = {"summary_of", cfg->out, NULL}, *kvd[] = {"density_of", cfg->out, NULL};
    if (!st && i_sum >= 0 && set.meta[i_sum] >= 0)
      st = cl_meta_dump(set.f[set.meta[i_sum]].f, cfg, argc, argv, wall, kvs, err);
    if (!st && i_dens >= 0 && set.meta[i_dens] >= 0)
      st = cl_meta_dump(set.f[set.meta[i_dens]].f, cfg, argc, argv, wall, kvd, err);
  }
  cl_traj_free(tr);
  if (st) cl_status_name_command(err, sizeof err, cl_command_name(cfg->cmd)); /* once, here: the library names none */
  return cl_outset_end(&set, st, err);
}

/* --threshold NAME: apply a value of the parameter to a model */
static cl_status set_param(void *ctx, double v, cl_model *m, char *err) {
  cl_config c = *(const cl_config *)ctx;
  cl_status st = cl_config_set_number(&c, c.threshold_name, v, err);
  if (!st) *m = c.model;
  return st;
}

/* The M >= 2 expectation rules resolve sigma' (a scale of 1 in h) only
 * while the pre-activations' sd sqrt(Q_ii (1 + s^2)) stays moderate: one
 * line when a listed point (or, with none, Q0) is beyond sd 10 for a
 * saturating sigma (docs/hardening.md s.13). */
static int saturating(const cl_model *m) {
  return m->act == CL_ACT_TANH || m->act == CL_ACT_ERF || m->act == CL_ACT_SIGMOID;
}
static void fixed_scale_note(const cl_model *m, double sdmax, long points) {
  /* M = 1: the rules resolve sigma' in h up to sd 1000 (docs/kinks.md), and
   * the drift refuses beyond */
  if (!saturating(m) || m->M == 1) return;
  if (points == 0)
    for (int u = 0; u < m->M; u++) sdmax = fmax(sdmax, sqrt(m->Q0[u * (m->M + 1)] * (1 + m->s * m->s)));
  if (sdmax <= 10) return;
  fprintf(stderr,
          "cldyn: fixed: %s at a pre-activation sd sqrt(Q_ii (1 + s^2)) of %.3g: the expectation rules do not resolve "
          "sigma' beyond about 10 (the drift is 1%% off at 14, of the wrong sign at 60), so %s\n",
          points ? "points found" : "no fixed point found, starting", sdmax,
          points ? "these points are not reliable" : "the search is not reliable");
}

/* id to a list "1, 4" of orbit ids when on */
static void append_id(char *ids, size_t len, int on, int id) {
  size_t l = strlen(ids);
  if (on && l < len) snprintf(ids + l, len - l, "%s%d", l ? ", " : "", id);
}

/* run_fixed_once's return when the default grid engine refused a state:
 * the command is to be redone with cfg's new engine */
#define RERUN (-1)

/* asked: the configuration as given, for the metadata (cfg's engine is the
 * fallback's on a rerun); note: the rerun's note, "" on the first run */
static int run_fixed_once(cl_config *cfg, const cl_config *asked, int argc, char **argv, char *note) {
  char err[CL_ERRLEN + CL_STATUS_CMDLEN];
  const cl_model *m = &cfg->model;
  /* --vary: every value of the grid must be valid, checked before any work */
  cl_vary vy = {.n = 1};
  int has_vary = cfg->vary[0] != '\0';
  if (has_vary) {
    if (cl_vary_parse(cfg->vary, &vy, err)) return fail(2, err);
    /* one table: its columns are those of one M */
    if (!strcmp(vy.name, "M"))
      return fail(2, "--vary: M changes the columns of the table; run one fixed command per M");
    for (long k = 0; k < vy.n; k++) {
      cl_config probe = *cfg;
      if (cl_config_set_number(&probe, vy.name, cl_vary_value(&vy, k), err)) return fail(2, err);
    }
  }
  /* --threshold NAME needs --vary NAME, --point needs --threshold NAME,
   * --terms needs M = 1: rules of the option table, checked by main */
  const char *tn = cfg->threshold_name;
  int sel_id = 1, sel_kind = -1;
  if (cfg->threshold && tn[0]) {
    if (cfg->point[0] && (sel_kind = cl_fixed_kind_from_name(cfg->point)) >= 0) sel_id = 0;
    else if (cfg->point[0]) { /* the option's parser accepted it: an integer >= 1, maybe as 1e3 */
      long long id = 0;
      cl_common_parse_int(cfg->point, &id);
      sel_id = id > INT_MAX ? INT_MAX : (int)id;
    }
  }
  cl_outset set = {0};
  if (cl_outset_add_out(&set, cfg->out, err)) return fail(2, err);
  FILE *of = set.f[0].f;
  double t0 = now_seconds();
  cl_status st = CL_OK;
  cl_fixed_opts fo;
  cl_fixed_opts_default(&fo);
  fo.nrandom = cfg->starts;
  cl_meter meter;
  cl_meter_init(&meter, has_vary ? "fixed, points of --vary" : "fixed, Newton starts", progress_on(cfg), stderr);
  /* the phases (flows, Newton starts, collapse sets) each with their own line and ETA */
  if (!has_vary) fo.progress = cl_meter_update, fo.progress_ctx = &meter, fo.phase = cl_meter_phase;
  long starts = 0, solves = 0, orbits = 0, points = 0, truncated = 0, evals = 0, skipped = 0, nosearch = 0, loose = 0;
  long flows = 0, flow_orbits = 0, flow_collapses = 0, jac_fb = 0, unknown = 0;
  long cstarts = 0, collapsed = 0, crejected = 0, cevals = 0, cnosearch = 0;
  char flow_ids[128] = ""; /* the orbit ids a flow found (one search) */
  char fb_ids[128] = "", unk_ids[128] = ""; /* the orbits with the fallback's Jacobian, of unknown stability */
  double loosemax = 0;
  char nos[32] = "", bes[32] = "";
  long beyond = 0;
  double maxres = 0, sdmax = 0;
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
      if (!(st = cl_fixed_critical_m2(m, &cfg->ode.quad, j, &m2c, err))) fprintf(of, "%d,%s\n", j + 1, cl_common_format_real(b1, 32, m2c));
    }
  } else {
    if (cfg->terms) st = cl_terms_write_header(of, m->K, m->M, has_vary ? vy.name : NULL, err);
    else cl_fixed_write_header(of, m->K, m->M, has_vary ? vy.name : NULL);
    cl_fixed_point *prev = NULL;
    int nprev = 0;
    double *extra = malloc(sizeof(double) * 64 * CL_STATE_MAX);
    if (!extra) st = cl_fail(err, CL_ENOMEM, "out of memory");
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
      /* the Newton starts have Q_ii = 1: beyond sd 60 there the M >= 2
       * drift is not even of the right sign, no search (docs/hardening.md
       * s.13); M = 1 resolves sigma' to sd 1000 and is searched */
      const int far = saturating(&c.model) && sqrt(1 + c.model.s * c.model.s) > 60;
      if (far && c.model.M >= 2) {
        nosearch++, snprintf(nos, sizeof nos, "%g", c.model.s);
        continue;
      }
      st = cl_fixed_find_ex(&c.model, &c.ode.quad, &fo, extra, ne, &fp, &nf, &info, err);
      if (st) break;
      if (far && nf == 0) beyond++, snprintf(bes, sizeof bes, "%g", c.model.s);
      starts += info.starts, solves += info.newton_runs, orbits += info.orbits, points += info.points;
      truncated += info.truncated, maxres = fmax(maxres, info.max_residual);
      evals += info.drift_evals, skipped += info.skipped;
      flows += info.flows, flow_orbits += info.flow_orbits, flow_collapses += info.flow_collapses;
      jac_fb += info.jac_fallback, unknown += info.unknown;
      cstarts += info.collapse_starts > 0 ? info.collapse_starts : 0, cnosearch += info.collapse_starts < 0;
      collapsed += info.collapsed, crejected += info.collapse_rejected, cevals += info.collapse_evals;
      for (int i = 0; i < nf && !has_vary; i++) /* each orbit once: its images follow it */
        if (i == 0 || fp[i].orbit != fp[i - 1].orbit) {
          append_id(flow_ids, sizeof flow_ids, fp[i].via == 1, fp[i].orbit);
          append_id(fb_ids, sizeof fb_ids, fp[i].jac_fallback, fp[i].orbit);
          append_id(unk_ids, sizeof unk_ids, fp[i].stability == CL_UNKNOWN, fp[i].orbit);
        }
      /* images whose residual is above the 1e-9 a found root must reach:
       * the rule is not exactly invariant under that symmetry (the Sobol'
       * rule for M >= 3, docs/fixed-points.md s.2) */
      for (int i = 0; i < nf; i++)
        if (!(fp[i].residual <= 1e-9)) loose++, loosemax = fmax(loosemax, fp[i].residual);
      for (int i = 0; i < nf; i++) /* the largest pre-activation sd at a listed point */
        for (int u = 0; u < c.model.M; u++)
          sdmax = fmax(sdmax, sqrt(fmax(fp[i].y[c.model.K * c.model.M + u * c.model.M - u * (u - 1) / 2], 0) *
                                   (1 + c.model.s * c.model.s)));
      snprintf(syms, sizeof syms, "%s", info.symmetries);
      if (cfg->terms)
        st = cl_terms_write_rows(of, &c.model, &c.ode.quad, fp, nf, has_vary ? cl_common_format_real(vs, sizeof vs, v) : NULL, err);
      else if (cl_fixed_write_rows(of, m->K, m->M, fp, nf, has_vary ? cl_common_format_real(vs, sizeof vs, v) : NULL))
        st = cl_fail(err, CL_EIO, "--out: write error");
      free(prev);
      prev = fp, nprev = nf;
      if (has_vary) cl_meter_update(&meter, (double)(k + 1) / (double)vy.n);
    }
    cl_meter_end(&meter, !st);
    free(extra);
    free(prev);
    if (!st && !cfg->quiet) {
      char fl[48] = "";
      if (flows) snprintf(fl, sizeof fl, ", %ld flows", flows);
      fprintf(stderr, "cldyn: fixed: %ld starts%s, %ld Newton solves (%ld drift evaluations), %ld orbits, %ld points (largest residual %.2g)%s; symmetries: %s\n",
              starts, fl, solves, evals, orbits, points, maxres, truncated ? "; some orbits cut at 1024 images" : "", syms);
      if (flow_orbits)
        fprintf(stderr, "cldyn: fixed: %ld orbit(s)%s%s%s found by a flow: the ODE from a start until it settled, its end "
                        "polished by Newton (docs/fixed-points.md s.2)\n",
                flow_orbits, flow_ids[0] ? " (id " : "", flow_ids, flow_ids[0] ? ")" : "");
      if (flow_collapses)
        fprintf(stderr, "cldyn: fixed: %ld of %ld flows stopped where two units collapse (w_i -> +-w_l, correlation beyond "
                        "0.99): their end, on the domain's boundary, %s (docs/fixed-points.md s.2)\n",
                flow_collapses, flows,
                cnosearch ? "is not polished"
                : m->M == 2 ? "starts the search on the collapse set instead of a polish"
                            : "starts the search on the collapse sets instead of a polish");
      const char *sets = m->M == 2 ? "the collapse set w_2 = +-w_1" : "the collapse sets (units equal up to sign in groups)";
      if (collapsed || crejected)
        fprintf(stderr, "cldyn: fixed: %ld orbit(s) on %s (kind collapsed; eigenvalues: within "
                        "the set, across it along the features and %s, then the bulk rate%s); %ld root(s) there not "
                        "listed (the bulk rate has no limit); %ld starts, %ld drift evaluations (docs/fixed-points.md "
                        "s.2)\n",
                collapsed, sets, m->M == 2 ? "w_1" : "the groups' first units", m->M == 2 ? "" : "s", crejected, cstarts,
                cevals);
      if (cnosearch)
        fprintf(stderr, "cldyn: fixed: %s %s not searched: the quad rule, which accepts %s "
                        "singular covariance, does not apply to this model (docs/accurate.md)\n",
                sets, m->M == 2 ? "was" : "were", m->M == 2 ? "its" : "their");
      const char *fbname = NULL;
      cl_quad_opts fq;
      if (jac_fb && cl_drift_fallback(m, &cfg->ode.quad, &fq, &fbname))
        fprintf(stderr, "cldyn: fixed: %ld orbit(s)%s%s%s with the Jacobian of the %s: the grid engine refused its "
                        "difference points (eigenvalues and jac_error from that engine; docs/fixed-points.md s.2)\n",
                jac_fb, fb_ids[0] ? " (id " : "", fb_ids, fb_ids[0] ? ")" : "", fbname);
      if (unknown)
        fprintf(stderr, "cldyn: fixed: %ld orbit(s)%s%s%s of unknown stability: no engine gave the Jacobian there "
                        "(eigenvalues NaN; docs/fixed-points.md s.2)\n",
                unknown, unk_ids[0] ? " (id " : "", unk_ids, unk_ids[0] ? ")" : "");
      if (loose)
        fprintf(stderr,
                "cldyn: fixed: %ld of %ld points have a residual above 1e-9 (largest %.2g): images of a root under a "
                "symmetry the drift's rule does not respect exactly, roots only to the rule's accuracy\n",
                loose, points, loosemax);
      if (skipped)
        fprintf(stderr, "cldyn: fixed: the budget of %d drift evaluations per search (and as many for the flows) ran out "
                        "(%ld spent): %ld starts or flows not tried\n",
                CL_FIXED_EVALS, evals, skipped);
      if (nosearch)
        fprintf(stderr, "cldyn: fixed: no search at %ld point(s) (s = %s): the pre-activations' sd sqrt(1 + s^2) at the "
                        "starts (Q_ii = 1) is beyond 60, where the expectation rules give a drift of the wrong sign\n",
                nosearch, nos);
      else if (beyond)
        fprintf(stderr, "cldyn: fixed: no point found in %ld search(es) (s = %s): at such noise the fixed points lie at "
                        "a pre-activation sd beyond the range the drift resolves (docs/hardening.md s.15)\n",
                beyond, bes);
      else fixed_scale_note(m, sdmax, points);
    }
  }
  char s1[32], s2[32], s3[32], s4[32], s5[32], s6[32], s7[32], s8[32], s9[32], s10[32], s11[32], s12[32], s13[32];
  snprintf(s12, sizeof s12, "%ld", collapsed), snprintf(s13, sizeof s13, "%ld", crejected);
  snprintf(s1, sizeof s1, "%ld", starts), snprintf(s2, sizeof s2, "%ld", solves), snprintf(s6, sizeof s6, "%ld", evals);
  snprintf(s7, sizeof s7, "%ld", flows), snprintf(s8, sizeof s8, "%ld", flow_orbits);
  snprintf(s11, sizeof s11, "%ld", flow_collapses);
  snprintf(s3, sizeof s3, "%ld", orbits), snprintf(s4, sizeof s4, "%ld", points);
  snprintf(s5, sizeof s5, "%.3g", maxres), snprintf(s9, sizeof s9, "%ld", jac_fb), snprintf(s10, sizeof s10, "%ld", unknown);
  const char *kv[32];
  int nkv = 0;
  if (starts) { /* a search (not --threshold) */
    const char *search[] = {"starts", s1, "newton_solves", s2, "orbits", s3, "points", s4, "max_residual", s5,
                            "symmetries", syms, "drift_evals", s6, "flows", s7, "flow_orbits", s8,
                            "flow_collapses", s11, "collapsed_orbits", s12, "collapse_rejected", s13,
                            "jacobian_fallback", s9, "unknown_stability", s10};
    for (size_t i = 0; i < sizeof search / sizeof *search; i++) kv[nkv++] = search[i];
  }
  if (note[0]) { /* the engine asked for stays under parameters (expect); the one used here */
    kv[nkv++] = "engine", kv[nkv++] = cl_expect_spelling(cfg->ode.quad.expect);
    kv[nkv++] = "rerun", kv[nkv++] = note;
  }
  kv[nkv] = NULL;
  if (!st && set.meta[0] >= 0)
    st = cl_meta_dump(set.f[set.meta[0]].f, asked, argc, argv, now_seconds() - t0, nkv ? kv : NULL, err);
  const char *name;
  cl_quad_opts q;
  if (st && !note[0] && cl_drift_grid_refused(err) && cl_drift_fallback(m, &cfg->ode.quad, &q, &name)) {
    /* as ode (docs/grid.md s.6): the whole command with one other engine */
    cl_outset_abort(&set);
    cfg->ode.quad = q;
    snprintf(note, CL_ERRLEN, "the grid engine refused a state: the whole command rerun with the %s", name);
    fprintf(stderr, "cldyn: fixed: %s\n", note);
    return RERUN;
  }
  if (st) cl_status_name_command(err, sizeof err, cl_command_name(cfg->cmd)); /* once, here: the library names none */
  return cl_outset_end(&set, st, err);
}

/* Under the default engine choice a state the M = 2 grid refuses reruns
 * the whole command (every --vary value, the threshold's continuation)
 * with cl_drift_fallback's engine, as ode does; the grid asked for stops
 * there (docs/fixed-points.md s.4). */
static int run_fixed(cl_config *cfg, int argc, char **argv) {
  char note[CL_ERRLEN] = "";
  cl_config *run = malloc(sizeof *run);
  if (!run) return fail(1, "fixed: out of memory");
  *run = *cfg;
  int rc = run_fixed_once(run, cfg, argc, argv, note);
  if (rc == RERUN) rc = run_fixed_once(run, cfg, argc, argv, note);
  free(run);
  return rc;
}

static int run_basin(cl_config *cfg, int argc, char **argv) {
  char err[CL_ERRLEN + CL_STATUS_CMDLEN];
  const cl_model *m = &cfg->model;
  int has_map = cfg->map[0] != '\0';
  if (m->M >= 2) {
    /* M >= 2: the probability of each outcome (specialised, dead, ...) */
    cl_outset set = {0};
    if (cl_outset_add_out(&set, cfg->out, err)) return fail(2, err);
    FILE *of = set.f[0].f;
    double t0 = now_seconds();
    /* two phases: the escape law, then the starts (each its own line and ETA) */
    cl_meter meter;
    cl_meter_init(&meter, "basin, escape law", progress_on(cfg), stderr);
    cfg->ode.progress = cl_meter_update, cfg->ode.progress_ctx = &meter, cfg->ode.phase = cl_meter_phase;
    cl_basin_multi_result res;
    cl_status st = cl_basin_run_multi(m, &cfg->ode, cfg->directions, cfg->tmax, cfg->sched.seed, cfg->threads, &res, err);
    cl_meter_end(&meter, !st);
    if (!st) cl_sweep_write_basin_multi(of, &res);
    /* the starts still moving at 4 tmax (docs/fixed-points.md s.5) */
    char s2[32];
    snprintf(s2, sizeof s2, "%ld", res.unsettled);
    const char *eng = cl_rerun_engine(m, &cfg->ode.quad);
    const char *kv[] = {"unsettled", s2, "engine", eng, "rerun", res.rerun, NULL};
    if (st || !res.rerun[0] || !eng) kv[2] = NULL;
    if (!st && res.rerun[0]) fprintf(stderr, "cldyn: basin: %s\n", res.rerun);
    if (!st && !cfg->quiet)
      fprintf(stderr, "cldyn: basin: %ld directions, %ld not settled at 4 tmax = %g (classified by their last state)\n",
              res.ndir, res.unsettled, 4 * cfg->tmax);
    if (!st && set.meta[0] >= 0) st = cl_meta_dump(set.f[set.meta[0]].f, cfg, argc, argv, now_seconds() - t0, kv, err);
    if (st) cl_status_name_command(err, sizeof err, cl_command_name(cfg->cmd)); /* once, here: the library names none */
    return cl_outset_end(&set, st, err);
  }
  /* M >= 2 needs B = 1 and no --map, M = 1 needs K >= 2 and K = 2 for
   * --map: rules of the option table (app/options.c), checked by main */
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
  cl_status st = cl_basin_run(m, &cfg->ode, cfg->directions, cfg->tmax, cfg->sched.seed,
                          cfg->threads, &res, err);
  cl_meter_end(&meter, !st);
  cfg->ode.progress = NULL; /* --map's solves are not counted */
  int have_res = !st; /* cl_basin_run frees its result on failure */
  if (!st) cl_sweep_write_basin(of, m, &res);
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
        fprintf(mf, "%s,%s,", cl_common_format_real(b1, 32, cl_basin_map_coord(m, n, k % n)),
                cl_common_format_real(b2, 32, cl_basin_map_coord(m, n, k / n)));
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
  if (st) cl_status_name_command(err, sizeof err, cl_command_name(cfg->cmd)); /* once, here: the library names none */
  return cl_outset_end(&set, st, err);
}

/* cldyn plot --out FIG.png|svg [--density D] [--hist H] [--t T] [--min-mass X] [--y COL] [FILE...] */
static int run_plot(int argc, char **argv) {
  char err[CL_ERRLEN];
  static cl_config pc; /* plot's options (the option table) */
  cl_config_init(&pc, CL_CMD_PLOT);
  const char *files[256];
  int nf = 0;
  /* options and files in any order */
  for (int i = 2, next; i < argc; i = next + 1) {
    if (cl_config_parse_front(&pc, argc - i, argv + i, &next, err)) return fail(2, err);
    if (pc.help) return cl_config_help(CL_CMD_PLOT, stdout), 0;
    next += i;
    if (next >= argc) break;
    if (nf == 256) return fail(2, "plot: at most 256 files");
    files[nf++] = argv[next];
  }
  const char *out = pc.plot_out[0] ? pc.plot_out : NULL, *dens = pc.plot_density[0] ? pc.plot_density : NULL;
  const char *hist = pc.plot_hist[0] ? pc.plot_hist : NULL, *col = pc.plot_y;
  const char *xcol = pc.plot_x[0] ? pc.plot_x : NULL;
  double t = pc.plot_t, minmass = pc.plot_min_mass;
  if (!out) return fail(2, "plot: --out FIG.png (or .svg) is required");
  if (!dens && !hist && !nf) return fail(2, "plot: give --density and/or --hist, or trajectory files");
  if ((dens || hist) && nf) return fail(2, "plot: density overlays and trajectory files go in separate figures");
  if (xcol) {
    if (dens || hist || !nf) return fail(2, "--x: give sweep (or fixed --vary) output files, not --density or --hist");
    cl_status st = cl_plot_param(out, files, nf, xcol, col, t, err);
    return st ? fail(cl_status_exit_code(st), err) : 0;
  }
  if (nf) {
    cl_status st = cl_plot_traj(out, files, nf, col, err);
    return st ? fail(cl_status_exit_code(st), err) : 0;
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
  if (st) return fail(cl_status_exit_code(st), err);
  return 0;
}

#ifdef CL_MPI
/* The message passing of an MPI sweep (sweep_cmd.h): the rest of the
 * sweep, resume and merge included, is app/sweep_cmd.c's. */
static int mpi_all_ok(void *ctx, int ok) {
  (void)ctx;
  int all_ok;
  MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return all_ok;
}

static cl_status mpi_gather(void *ctx, const char *text, int len, char **all, int **lens, int **displs, char *err) {
  (void)ctx, (void)err;
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  *all = NULL, *lens = *displs = NULL;
  if (rank == 0) {
    *lens = calloc((size_t)size, sizeof(int)), *displs = calloc((size_t)size, sizeof(int));
    if (!*lens || !*displs) fail(1, "sweep: out of memory"), MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Gather(&len, 1, MPI_INT, *lens, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (rank == 0) {
    long total = 0;
    for (int r = 0; r < size; r++) (*displs)[r] = (int)total, total += (*lens)[r];
    if (!(*all = malloc((size_t)total + 1))) fail(1, "sweep: out of memory"), MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Gatherv(text, len, MPI_CHAR, *all, *lens, *displs, MPI_CHAR, 0, MPI_COMM_WORLD);
  return CL_OK;
}

static int run_sweep_mpi(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  cl_sweep_comm comm = {0, 1, NULL, mpi_all_ok, mpi_gather};
  MPI_Comm_rank(MPI_COMM_WORLD, &comm.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &comm.size);
  int rc = cl_sweep_main(argc, argv, &comm);
  MPI_Finalize();
  return rc;
}
#endif

/* cldyn reproduce [--quick] [--out DIR] */
static int run_reproduce(int argc, char **argv) {
  static cl_config rc; /* reproduce's options (the option table) */
  char err[CL_ERRLEN + CL_STATUS_CMDLEN];
  cl_config_init(&rc, CL_CMD_REPRODUCE);
  if (cl_config_parse_args(&rc, argc - 2, argv + 2, err)) return fail(2, err);
  if (rc.help) return cl_config_help(CL_CMD_REPRODUCE, stdout), 0;
  int quick = rc.quick, force_progress = rc.progress, quiet = rc.quiet;
  const char *dir = rc.repro_dir;
  if (strlen(dir) > 1000 || strpbrk(dir, "'\"$`\\"))
    return fail(2, "--out: the directory name must be under 1000 characters, without quotes, $, ` or \\");
  double t0 = now_seconds();
  cl_meter meter;
  cl_meter_init(&meter, "reproduce", !quiet && (force_progress || isatty(2)), stderr);
  if (cl_reproduce_run(dir, quick, &meter, err))
    return cl_meter_end(&meter, 0), cl_status_name_command(err, sizeof err, "reproduce"), fail(1, err);
  cl_meter_end(&meter, 1);
  printf("reproduce%s: report, data and figures in %s/ (report.md; %.0f s)\n", quick ? " --quick" : "", dir,
         now_seconds() - t0);
  return 0;
}

int main(int argc, char **argv) {
  /* SIGINT, SIGTERM, SIGHUP: remove our temporary files, exit 128 + signal */
  char serr[CL_ERRLEN];
  if (cl_tmpfiles_install_signals(serr)) return fail(1, serr);
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
    return run_sweep_mpi(argc, argv);
#else
    return cl_sweep_main(argc, argv, NULL);
#endif
  }
  cl_command cmd = cl_command_from_name(argv[1]);
  if (!cmd) {
    char hint[96], list[256];
    cl_command_suggest(argv[1], hint, sizeof hint);
    cl_command_list(list, sizeof list);
    fprintf(stderr, "cldyn: unknown command '%s'%s accepted: %s\n", argv[1], hint[0] ? hint : ";", list);
    return 2;
  }
  cl_config cfg;
  char err[CL_ERRLEN];
  cl_config_init(&cfg, cmd);
  cl_status pst = cl_config_parse_args(&cfg, argc - 2, argv + 2, err);
  if (pst) return fail(cl_status_exit_code(pst), err);
  cl_config_skipped_note(&cfg, stderr);
  if (cfg.help) {
    cl_config_help(cmd, stdout);
    return 0;
  }
  if (cfg.print_config) {
    cl_config_print(&cfg, stdout);
    return 0;
  }
  /* what the command can run (app/options.c's rules), before any work */
  if ((pst = cl_options_check_rules(&cfg, err))) return fail(cl_status_exit_code(pst), err);
  if (cmd == CL_CMD_FIXED) return run_fixed(&cfg, argc, argv);
  if (cmd == CL_CMD_BASIN) return run_basin(&cfg, argc, argv);
  return run_traj(&cfg, argc, argv);
}
