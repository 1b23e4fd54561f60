/* The `cldyn sweep` command (docs/cli.md s.4): options, --merge, --resume
 * and the merge of an MPI job's parts.  The grid, the points and the file
 * checks are sweep.c's; this file only strings them together and reports. */
#include "sweep_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cldyn/tmpfiles.h"
#include "options.h"
#include "output.h"
#include "progress.h"
#include "status.h"

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int fail(int code, const char *msg) { return cl_status_exit_msg(code, msg); }

/* cldyn sweep --merge --out PATH FILE...: the inputs' fingerprints from
 * their .json; the merge must be complete. */
static int merge_files(char **files, int n, const char *merge_out) {
  char err[CL_ERRLEN], kvb[4][32];
  const char *kv[9];
  if (n <= 0) return fail(2, "--merge: no input files");
  cl_sweep_id *ids = calloc((size_t)n, sizeof *ids);
  if (!ids) return fail(1, "--merge: out of memory");
  for (int k = 0; k < n; k++)
    if (cl_sweep_read_id(files[k], &ids[k], err)) return free(ids), fail(2, err);
  cl_sweep_id want = ids[0];
  want.shard = 0, want.nshards = 1;
  /* a merge of the shards of one shard of a larger job stays that shard */
  int same = 1;
  for (int k = 1; k < n; k++) same &= ids[k].shard == ids[0].shard && ids[k].nshards == ids[0].nshards;
  if (same && n == 1) want.shard = ids[0].shard, want.nshards = ids[0].nshards;
  cl_outset set = {0};
  if (cl_outset_add_out(&set, merge_out, err)) return free(ids), fail(2, err);
  cl_status st = cl_sweep_merge(files, ids, n, &want, set.f[0].f, err);
  free(ids);
  if (!st && set.meta[0] >= 0) {
    /* the merge's own sidecar: the sweep's identity and the inputs */
    FILE *jf = set.f[set.meta[0]].f;
    cl_sweep_id_kv(&want, kvb, kv);
    fprintf(jf, "{\n  \"program\": \"cldyn\",\n  \"version\": \"%s\",\n  \"command\": \"sweep --merge\",\n", CL_VERSION);
    for (int k = 0; kv[k]; k += 2) fprintf(jf, "  \"%s\": \"%s\",\n", kv[k], kv[k + 1]);
    fprintf(jf, "  \"inputs\": %d\n}\n", n);
  }
  return cl_outset_end(&set, st, err);
}

/* What one sweep job runs: the parsed command, the grid and its shard, and
 * the points already done (--resume). */
typedef struct {
  cl_config swc; /* sweep's own options (the option table), before COMMAND */
  cl_config cfg;
  cl_vary v[CL_SWEEP_MAXVARY];
  int nv, threads, argc;
  long shard, nshards;
  char **argv;
  cl_sweep_id id;
  cl_sweep_opts so; /* --summary, --final, --streams and the progress hook */
  cl_meter meter;
  char kvb[4][32];
  const char *kv[9];
  /* the JSON sidecar: the id, the streams and the layout (kvall), the
   * command and the grid */
  const char *kvall[24], *grid[2 * CL_SWEEP_MAXVARY + 1];
  cl_sweep_reruns rr;  /* points redone or noted after a refusal of the default grid */
  char rrnote[700];
  char gridb[CL_SWEEP_MAXVARY][100], cmdname[64];
  long *done, ndone;
  int have_old;                /* resuming from an existing output */
  char oldc[CL_PATHLEN + 32];  /* its complete points (a temporary file) */
} job;

/* After the points ran: the note of the points where the default grid
 * refused a state (ode, fixed and basin redo such a point with the
 * fallback engine, as the commands do; docs/grid.md s.6), on stderr and
 * in the sidecar (engine, rerun).  Under MPI each rank notes its own
 * points on stderr; the sidecar has rank 0's. */
static void rerun_note(job *J) {
  if (!J->rr.n) return;
  snprintf(J->rrnote, sizeof J->rrnote, "%ld point(s) where the grid engine refused a state (first, point %ld: %s)",
           J->rr.n, J->rr.first + 1, J->rr.note);
  fprintf(stderr, "cldyn: sweep: %s\n", J->rrnote);
  int k = 0;
  while (J->kvall[k]) k++;
  const char *eng = cl_rerun_engine(&J->cfg.model, &J->cfg.ode.quad);
  if (eng) J->kvall[k++] = "engine", J->kvall[k++] = eng;
  J->kvall[k++] = "rerun", J->kvall[k++] = J->rrnote;
  J->kvall[k] = NULL;
}

static void drop_old(job *J) {
  if (!J->have_old) return;
  unlink(J->oldc);
  cl_tmpfiles_unregister(J->oldc);
}

/* --resume: the complete points of the old output (same sweep, same
 * shard) are kept, to a clean copy; the rest is run again.  Returns an exit
 * status. */
static int resume_scan(job *J) {
  char err[CL_ERRLEN];
  const char *out = J->cfg.out;
  J->have_old = 0;
  if (strcmp(out, "-") == 0 || access(out, R_OK) != 0) return 0;
  cl_sweep_id old;
  if (cl_sweep_read_id(out, &old, err)) return fail(2, err);
  /* the old output may hold a finer shard of this one (a subset) */
  if (strcmp(old.fp, J->id.fp) || old.points != J->id.points || old.nshards % J->id.nshards != 0 ||
      old.shard % J->id.nshards != J->id.shard)
    return fail(2, "--resume: the output was written by another sweep (other parameters, grid or shard)");
  snprintf(J->oldc, sizeof J->oldc, "%s.old.XXXXXX", out);
  FILE *cf = cl_tmpfiles_open(J->oldc, "w");
  if (!cf) return fail(2, "--resume: cannot write next to the output");
  J->have_old = 1;
  cl_status st = cl_sweep_scan_done(out, &J->id, &J->done, &J->ndone, cf, err);
  if (fclose(cf) != 0 && !st) st = cl_fail(err, CL_EIO, "--resume: write error");
  if (st) return drop_old(J), fail(cl_status_exit_code(st), err);
  return 0;
}

/* Several processes (MPI): each rank runs its part of the shard (the rule
 * of sweep.h); rank 0 gathers the parts and merges them (with the old
 * output's points when resuming) into the one output. */
static int run_parallel(job *J, const cl_sweep_comm *comm) {
  char err[CL_ERRLEN];
  int rank = comm->rank, size = comm->size;
  char *text = NULL;
  size_t len = 0;
  if (rank) J->meter.on = 0; /* one progress line: rank 0's part */
  FILE *mf = open_memstream(&text, &len);
  cl_status st = mf ? cl_sweep_run_part(&J->cfg, J->v, J->nv, &J->so, J->shard, J->nshards, rank, size, J->done, J->ndone,
                                        J->threads, 1, mf, err)
                    : cl_fail(err, CL_ENOMEM, "sweep: out of memory");
  if (mf) fclose(mf);
  int ok = st == CL_OK;
  int all_ok = comm->all_ok(comm->ctx, ok);
  char *all = NULL;
  int *lens = NULL, *displs = NULL;
  char gerr[CL_ERRLEN];
  cl_status gst = comm->gather(comm->ctx, text, (int)len, &all, &lens, &displs, gerr);
  free(text);
  if (all_ok) rerun_note(J);
  int rc = 0;
  if (!all_ok) rc = ok ? 1 : fail(cl_status_exit_code(st), err);
  else if (gst) rc = fail(cl_status_exit_code(gst), gerr);
  if (rank == 0 && !rc) {
    char **paths = calloc((size_t)size + 1, sizeof(char *));
    cl_sweep_id *ids = calloc((size_t)size + 1, sizeof *ids);
    int np = 0;
    if (!paths || !ids) rc = fail(1, "sweep: out of memory");
    if (!rc && J->have_old) {
      if (!(paths[np] = strdup(J->oldc))) rc = fail(1, "sweep: out of memory");
      else ids[np++] = J->id;
    }
    for (int r = 0; r < size && !rc; r++) {
      if (lens[r] == 0) continue;
      char *path = malloc(CL_PATHLEN + 32);
      if (!path) {
        rc = fail(1, "sweep: out of memory");
        break;
      }
      snprintf(path, CL_PATHLEN + 32, "%s.rank%d.%ld", strcmp(J->cfg.out, "-") ? J->cfg.out : "/tmp/cldyn-sweep", r,
               (long)getpid());
      cl_tmpfiles_register(path);
      FILE *f = fopen(path, "w");
      if (!f || fwrite(all + displs[r], 1, (size_t)lens[r], f) != (size_t)lens[r]) rc = fail(1, "sweep: cannot write a rank's part");
      if (f && fclose(f) != 0 && !rc) rc = fail(1, "sweep: cannot write a rank's part");
      paths[np] = path, ids[np++] = J->id;
    }
    cl_outset set = {0};
    if (!rc && cl_outset_add(&set, J->cfg.out, "out", 1, err)) cl_outset_abort(&set), rc = fail(2, err);
    if (!rc && cl_sweep_merge(paths, ids, np, &J->id, set.f[0].f, err)) cl_outset_abort(&set), rc = fail(1, err);
    if (!rc && set.meta[0] >= 0 &&
        cl_meta_dump_grid(set.f[set.meta[0]].f, &J->cfg, J->argc, J->argv, 0, J->kvall, J->cmdname, J->grid, err))
      cl_outset_abort(&set), rc = fail(1, err);
    if (!rc && cl_outset_commit(&set, err)) rc = fail(1, err);
    for (int k = 0; k < np; k++) {
      unlink(paths[k]);
      cl_tmpfiles_unregister(paths[k]);
      free(paths[k]);
    }
    free(paths);
    free(ids);
  }
  if (rank != 0 || rc) {
    drop_old(J);
  }
  free(all);
  free(lens);
  free(displs);
  cl_meter_end(&J->meter, rc == 0);
  return rc;
}

/* One process: the points to the output, after the old output's complete
 * points when resuming. */
static int run_serial(job *J) {
  char err[CL_ERRLEN];
  cl_outset set = {0};
  if (cl_outset_add(&set, J->cfg.out, "out", 1, err)) {
    drop_old(J);
    return cl_outset_abort(&set), fail(2, err);
  }
  double t0 = now_seconds();
  cl_status st;
  if (J->have_old) {
    /* new points to a temporary file, then merged with the old points */
    char tmp[CL_PATHLEN + 32];
    snprintf(tmp, sizeof tmp, "%s.new.XXXXXX", J->cfg.out);
    FILE *nf = cl_tmpfiles_open(tmp, "w");
    if (!nf) {
      drop_old(J);
      return cl_outset_abort(&set), fail(2, "--resume: cannot write next to the output");
    }
    st = cl_sweep_run(&J->cfg, J->v, J->nv, &J->so, J->shard, J->nshards, J->done, J->ndone, J->threads, 1, nf, err);
    if (fclose(nf) != 0 && !st) st = cl_fail(err, CL_EIO, "--resume: write error");
    if (!st) {
      char *paths[2] = {J->oldc, tmp};
      cl_sweep_id ids[2] = {J->id, J->id};
      st = cl_sweep_merge(paths, ids, 2, &J->id, set.f[0].f, err);
    }
    unlink(tmp);
    cl_tmpfiles_unregister(tmp);
    drop_old(J);
  } else {
    st = cl_sweep_run(&J->cfg, J->v, J->nv, &J->so, J->shard, J->nshards, NULL, 0, J->threads, 1, set.f[0].f, err);
  }
  if (!st) rerun_note(J);
  if (!st && set.meta[0] >= 0)
    st = cl_meta_dump_grid(set.f[set.meta[0]].f, &J->cfg, J->argc, J->argv, now_seconds() - t0, J->kvall, J->cmdname,
                           J->grid, err);
  cl_meter_end(&J->meter, !st);
  return cl_outset_end(&set, st, err);
}

/* The words after COMMAND: sweep's own --vary, --summary (a flag here;
 * with a path it is the command's, refused), --final and --streams go to
 * swc, the rest to the command (rest). */
static int split_after(cl_config *swc, int argc, char **argv, char **rest, int *nrest) {
  char err[CL_ERRLEN];
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    const char *name = NULL, *val = NULL;
    char nb[16];
    if (!strcmp(a, "--vary") || !strcmp(a, "--streams")) {
      name = a + 2;
      if (i + 1 >= argc) {
        snprintf(err, sizeof err, "%s: missing value (%s)", a, a[2] == 'v' ? "NAME=A:B:STEP" : "MODE");
        return fail(2, err);
      }
      val = argv[++i];
    } else if (!strncmp(a, "--vary=", 7) || !strncmp(a, "--streams=", 10)) {
      const char *eq = strchr(a, '=');
      snprintf(nb, sizeof nb, "%.*s", (int)(eq - a - 2), a + 2);
      name = nb, val = eq + 1;
    } else if (!strcmp(a, "--final")) {
      name = "final", val = "1";
    } else if (!strcmp(a, "--summary")) {
      if (i + 1 < argc && !cl_option_like(argv[i + 1]))
        return fail(2, "--summary: in a sweep it is a flag (the output holds each point's mean and sd over runs), "
                       "without a path");
      name = "summary", val = "1";
    }
    if (!name) {
      rest[(*nrest)++] = argv[i];
      continue;
    }
    cl_status st = cl_config_set(swc, name, val, err);
    if (st) return fail(cl_status_exit_code(st), err);
  }
  return 0;
}

static int sweep_job(job *J, int argc, char **argv, int i, int resume, const cl_sweep_comm *comm) {
  char err[CL_ERRLEN];
  cl_config *swc = &J->swc;
  if (i >= argc) return fail(2, "sweep: missing COMMAND (simulate, reduced, ode, pde, fixed or basin)");
  cl_command cmd = cl_command_from_name(argv[i]);
  if (cmd != CL_CMD_SIMULATE && cmd != CL_CMD_REDUCED && cmd != CL_CMD_ODE && cmd != CL_CMD_PDE &&
      cmd != CL_CMD_FIXED && cmd != CL_CMD_BASIN) {
    char hint[96] = "";
    if (!cmd) cl_command_suggest(argv[i], hint, sizeof hint);
    fprintf(stderr, "cldyn: sweep: %s '%s'%s%s accepted: simulate, reduced, ode, pde, fixed, basin\n",
            cmd ? "command" : "unknown command", argv[i], cmd ? " cannot be swept" : "", hint[0] ? hint : ";");
    return 2;
  }
  char **rest = calloc((size_t)argc + 1, sizeof(char *));
  if (!rest) return fail(1, "sweep: out of memory");
  int nrest = 0, rc = split_after(swc, argc - i - 1, argv + i + 1, rest, &nrest);
  if (rc) return free(rest), rc;
  cl_config *cfg = &J->cfg;
  cl_config_init(cfg, cmd);
  cl_status pst = cl_config_parse_args(cfg, nrest, rest, err);
  free(rest);
  if (pst) return fail(cl_status_exit_code(pst), err);
  if (cfg->help) {
    cl_config_help(CL_CMD_SWEEP, stdout);
    printf("\n");
    cl_config_help(cmd, stdout);
    return 0;
  }
  cfg->progress |= swc->progress, cfg->quiet |= swc->quiet;
  cl_config_skipped_note(cfg, stderr);
  /* the --vary of both sides, each name once */
  J->nv = swc->nvary;
  for (int k = 0; k < J->nv; k++) {
    if (cl_vary_parse(swc->sweep_vary[k], &J->v[k], err)) return fail(2, err);
    /* one table: its columns (R_j_i, Q_i_l, cos_j_i) are those of one M;
     * rows of another M under them were misread (as in `fixed`) */
    if (!strcmp(J->v[k].name, "M"))
      return fail(2, "--vary M: the columns of the table depend on --M; run one sweep per value of --M");
    for (int q = 0; q < k; q++)
      if (!strcmp(J->v[q].name, J->v[k].name)) {
        snprintf(err, sizeof err, "--vary: '%s' is varied twice; give each name once (one NAME=A:B:STEP)",
                 J->v[k].name);
        return fail(2, err);
      }
  }
  if (J->nv == 0) return fail(2, "--vary: sweep needs at least one --vary NAME=A:B:STEP");
  if (cfg->summary[0] || cfg->checkpoint[0] || cfg->resume[0] || cfg->vary[0] || cfg->threshold ||
      cfg->density_out[0] || cfg->hist_out[0] || cfg->terms || cfg->map[0])
    return fail(2, "sweep: --checkpoint, --resume, --threshold, --terms, --density-out, --hist-out and --map of the "
                   "command are not available in a sweep");
  J->so = (cl_sweep_opts){0};
  J->so.summary = swc->sweep_summary, J->so.final = swc->sweep_final, J->so.independent = swc->sweep_independent;
  if (J->so.summary && cmd != CL_CMD_SIMULATE && cmd != CL_CMD_REDUCED)
    return fail(2, "--summary: needs simulate or reduced (the mean and sd over runs)");
  if (J->so.final && (cmd == CL_CMD_FIXED || cmd == CL_CMD_BASIN))
    return fail(2, "--final: needs simulate, reduced, ode or pde (a table over time)");
  /* every value of every --vary must be valid (checked before any work) */
  for (int k = 0; k < J->nv; k++)
    for (long j = 0; j < J->v[k].n; j++) {
      cl_config probe = *cfg;
      if (cl_config_set_number(&probe, J->v[k].name, cl_vary_value(&J->v[k], j), err)) return fail(2, err);
    }
  cl_meter_init(&J->meter, "sweep, points", !cfg->quiet && (cfg->progress || isatty(2)), stderr);
  J->so.progress = cl_meter_update, J->so.progress_ctx = &J->meter;
  if (cl_sweep_identity(cfg, J->v, J->nv, &J->so, J->shard, J->nshards, &J->id, err)) return fail(1, err);
  const char *opt[] = {"out"}, *path[] = {cfg->out};
  const int sc[] = {1};
  if (cl_out_check_all(opt, path, sc, 1, err)) return fail(2, err);
  rc = resume ? resume_scan(J) : 0;
  if (rc) return rc;
  cl_sweep_id_kv(&J->id, J->kvb, J->kv);
  /* the JSON records the grid, the layout and the streams */
  for (int k = 0; k < J->nv; k++) {
    char a1[32], a2[32], a3[32];
    snprintf(J->gridb[k], sizeof J->gridb[k], "%s:%s:%s", cl_common_format_real(a1, 32, J->v[k].a),
             cl_common_format_real(a2, 32, J->v[k].b), cl_common_format_real(a3, 32, J->v[k].step));
    J->grid[2 * k] = J->v[k].name, J->grid[2 * k + 1] = J->gridb[k];
  }
  J->grid[2 * J->nv] = NULL;
  snprintf(J->cmdname, sizeof J->cmdname, "sweep %s", cl_command_name(cmd));
  int nkv = 0;
  for (; J->kv[nkv]; nkv++) J->kvall[nkv] = J->kv[nkv];
  J->kvall[nkv++] = "sweep_streams", J->kvall[nkv++] = J->so.independent ? "independent" : "common";
  J->kvall[nkv++] = "sweep_layout";
  J->kvall[nkv++] = J->so.summary ? (J->so.final ? "summary,final" : "summary") : J->so.final ? "final" : "all";
  J->kvall[nkv] = NULL;
  J->rr.first = -1, J->so.reruns = &J->rr;
  return comm && comm->size > 1 ? run_parallel(J, comm) : run_serial(J);
}

int cl_sweep_main(int argc, char **argv, const cl_sweep_comm *comm) {
  char err[CL_ERRLEN];
  job *J = calloc(1, sizeof *J);
  if (!J) return fail(1, "sweep: out of memory");
  J->argc = argc, J->argv = argv;
  cl_config *swc = &J->swc;
  cl_config_init(swc, CL_CMD_SWEEP);
  int i, rc = -1;
  if (cl_config_parse_front(swc, argc - 2, argv + 2, &i, err)) rc = fail(2, err);
  i += 2;
  if (rc < 0 && swc->help) rc = (cl_config_help(CL_CMD_SWEEP, stdout), 0);
  int resume = swc->sweep_resume, merge = swc->merge;
  J->threads = swc->threads, J->shard = swc->shard, J->nshards = swc->nshards;
  const char *merge_out = swc->merge_out;
  if (rc < 0 && !merge && strcmp(merge_out, "-"))
    rc = fail(2, "--out: before COMMAND only with --merge (the sweep's output is the command's --out)");
  if (rc < 0) rc = merge ? merge_files(argv + i, argc - i, merge_out) : sweep_job(J, argc, argv, i, resume, comm);
  free(J->done);
  free(J);
  return rc;
}
