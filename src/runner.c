/* Many independent runs over OpenMP threads, with checkpoint and resume. */
#include "cldyn/runner.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cldyn/act.h"
#include "cldyn/law.h"

#define CK_MAGIC "CLDYNCK1"

typedef struct {
  int status; /* 0 not started, 1 in progress, 2 done */
  size_t kdone;
  size_t blob_len;
  unsigned char *blob;
} slot;

typedef struct {
  char *fp;
  size_t len, cap;
} sbuf;

static void fp_add(sbuf *b, const char *name, const char *value) {
  size_t need = strlen(name) + strlen(value) + 4;
  if (b->len + need >= b->cap) {
    b->cap = 2 * (b->cap + need);
    b->fp = realloc(b->fp, b->cap);
  }
  b->len += (size_t)sprintf(b->fp + b->len, "%s=%s\n", name, value);
}

static void fp_real(sbuf *b, const char *name, double x) {
  char num[32];
  fp_add(b, name, cl_fmt_real(num, sizeof num, x));
}

static void fp_matrix(sbuf *b, const char *name, const double *a, int rows, int cols) {
  char buf[8192], num[32];
  size_t off = 0;
  buf[0] = '\0';
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < cols; c++)
      off += (size_t)snprintf(buf + off, off < sizeof buf ? sizeof buf - off : 0, "%s%s",
                              c ? "," : (r ? ";" : ""), cl_fmt_real(num, sizeof num, a[r * cols + c]));
  fp_add(b, name, buf);
}

/* Everything that determines the result, as text (name=value lines with
 * the option names of the CLI, exact decimal numbers). */
static char *fingerprint(const cl_engine *e, const cl_model *m, const cl_schedule *s) {
  sbuf b = {calloc(1, 256), 0, 256};
  char buf[8192];
  fp_add(&b, "engine", e->name);
  snprintf(buf, sizeof buf, "%lld", m->N), fp_add(&b, "N", buf);
  snprintf(buf, sizeof buf, "%d", m->M), fp_add(&b, "M", buf);
  for (int j = 0; j < m->K; j++) cl_law_format(&m->c[j], buf, sizeof buf), fp_add(&b, "c", buf);
  if (m->features == CL_FEAT_SPARSE) {
    char num[32];
    snprintf(buf, sizeof buf, "sparse:%s", cl_fmt_real(num, sizeof num, m->feat_p));
    fp_add(&b, "features", buf);
  } else {
    fp_add(&b, "features", m->features == CL_FEAT_AXIS ? "axis" : "dense");
  }
  fp_add(&b, "act", cl_act_name(m->act));
  fp_add(&b, "g", cl_g_name(m->g));
  fp_real(&b, "lambda", m->lambda);
  cl_reg_format(&m->reg, buf, sizeof buf), fp_add(&b, "reg", buf);
  fp_real(&b, "tau", m->tau);
  fp_real(&b, "s", m->s);
  fp_real(&b, "rho", m->rho);
  snprintf(buf, sizeof buf, "%d", m->B), fp_add(&b, "B", buf);
  fp_add(&b, "init", m->init == CL_INIT_RANDOM ? "random" : "overlap");
  fp_matrix(&b, "R0", m->R0, m->K, m->M);
  fp_matrix(&b, "Q0", m->Q0, m->M, m->M);
  fp_real(&b, "T", s->T);
  fp_real(&b, "dt-out", s->dt_out);
  snprintf(buf, sizeof buf, "%lld", s->runs), fp_add(&b, "runs", buf);
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)s->seed), fp_add(&b, "seed", buf);
  return b.fp;
}

static cl_status write_ck(const char *path, const char *fp, const cl_traj *tr, const slot *sl,
                          char *err) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  if (!f) return cl_fail(err, CL_EIO, "--checkpoint: cannot write '%s'", path);
  size_t fl = strlen(fp), nc = (size_t)tr->ncol;
  long long runs = tr->runs;
  fwrite(CK_MAGIC, 1, 8, f);
  fwrite(&fl, sizeof fl, 1, f);
  fwrite(fp, 1, fl, f);
  fwrite(&runs, sizeof runs, 1, f);
  fwrite(&tr->nt, sizeof tr->nt, 1, f);
  fwrite(&nc, sizeof nc, 1, f);
  for (long long r = 0; r < runs; r++) {
    fwrite(&sl[r].status, sizeof(int), 1, f);
    fwrite(&sl[r].kdone, sizeof(size_t), 1, f);
    fwrite(tr->data + (size_t)r * tr->nt * nc, sizeof(double), sl[r].kdone * nc, f);
    size_t bl = sl[r].status == 1 ? sl[r].blob_len : 0;
    fwrite(&bl, sizeof bl, 1, f);
    if (bl) fwrite(sl[r].blob, 1, bl, f);
  }
  int bad = ferror(f) != 0;
  bad |= fflush(f) != 0 || fsync(fileno(f)) != 0;
  bad |= fclose(f) != 0;
  if (bad || rename(tmp, path) != 0) {
    unlink(tmp);
    return cl_fail(err, CL_EIO, "--checkpoint: cannot write '%s'", path);
  }
  return CL_OK;
}

static cl_status read_ck(const char *path, const char *fp, cl_traj *tr, slot *sl, char *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return cl_fail(err, CL_EINVAL, "--resume: cannot read '%s'", path);
  char magic[8];
  size_t fl, nt, nc;
  long long runs;
  cl_status st = CL_OK;
  char *fp2 = NULL;
  if (fread(magic, 1, 8, f) != 8 || memcmp(magic, CK_MAGIC, 8) || fread(&fl, sizeof fl, 1, f) != 1 ||
      fl > (1u << 24)) {
    st = cl_fail(err, CL_EINVAL, "--resume: '%s' is not a cldyn checkpoint", path);
    goto done;
  }
  fp2 = malloc(fl + 1);
  if (fread(fp2, 1, fl, f) != fl) {
    st = cl_fail(err, CL_EINVAL, "--resume: '%s' is truncated", path);
    goto done;
  }
  fp2[fl] = '\0';
  if (strcmp(fp2, fp) != 0) {
    st = cl_fail(err, CL_EINVAL,
                 "--resume: '%s' was written with other parameters (compare its --print-config)", path);
    goto done;
  }
  if (fread(&runs, sizeof runs, 1, f) != 1 || fread(&nt, sizeof nt, 1, f) != 1 ||
      fread(&nc, sizeof nc, 1, f) != 1 || runs != tr->runs || nt != tr->nt || nc != (size_t)tr->ncol) {
    st = cl_fail(err, CL_EINVAL, "--resume: '%s' does not match this run's shape", path);
    goto done;
  }
  for (long long r = 0; r < runs && !st; r++) {
    size_t bl;
    if (fread(&sl[r].status, sizeof(int), 1, f) != 1 || fread(&sl[r].kdone, sizeof(size_t), 1, f) != 1 ||
        sl[r].kdone > nt ||
        fread(tr->data + (size_t)r * nt * nc, sizeof(double), sl[r].kdone * nc, f) != sl[r].kdone * nc ||
        fread(&bl, sizeof bl, 1, f) != 1 || bl > (1ull << 34)) {
      st = cl_fail(err, CL_EINVAL, "--resume: '%s' is truncated", path);
      break;
    }
    sl[r].blob_len = bl;
    if (bl) {
      sl[r].blob = malloc(bl);
      if (!sl[r].blob || fread(sl[r].blob, 1, bl, f) != bl)
        st = cl_fail(err, CL_EINVAL, "--resume: '%s' is truncated", path);
    }
  }
done:
  free(fp2);
  fclose(f);
  return st;
}

cl_status cl_run_engine(const cl_engine *e, const cl_model *m, const cl_schedule *s, int threads,
                        const cl_ckpt_opts *ck, cl_traj **out, cl_progress_fn progress, void *ctx,
                        char *err) {
  return cl_run_engine_obs(e, m, s, threads, ck, out, progress, ctx, NULL, NULL, err);
}

cl_status cl_run_engine_obs(const cl_engine *e, const cl_model *m, const cl_schedule *s, int threads,
                            const cl_ckpt_opts *ck, cl_traj **out, cl_progress_fn progress,
                            void *ctx, cl_run_observer obs, void *octx, char *err) {
  cl_status st = cl_model_check(m, 1, err);
  if (st || (st = cl_schedule_check(s, err))) return st;
  size_t nt = cl_schedule_nt(s);
  cl_traj *tr = cl_traj_alloc(m->K, m->M, nt, s->runs);
  slot *sl = calloc((size_t)s->runs, sizeof *sl);
  if (!tr || !sl) {
    cl_traj_free(tr);
    free(sl);
    return cl_fail(err, CL_ENOMEM, "%s: out of memory for the trajectory table", e->name);
  }
  for (size_t k = 0; k < nt; k++) tr->t[k] = (double)cl_schedule_step(s, m->N, k) / (double)m->N;
  const char *ckpath = ck && ck->checkpoint && ck->checkpoint[0] ? ck->checkpoint : NULL;
  double every = ck ? ck->every : 0;
  char *fp = (ckpath || (ck && ck->resume && ck->resume[0])) ? fingerprint(e, m, s) : NULL;
  if (ck && ck->resume && ck->resume[0] && (st = read_ck(ck->resume, fp, tr, sl, err))) goto done;
  long long first_bad = -1, done = 0, total = s->runs * (long long)nt;
  for (long long r = 0; r < s->runs; r++) done += (long long)sl[r].kdone;
  char e0[CL_ERRLEN] = "";
  cl_status st0 = CL_OK;
  int nth = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic, 1) num_threads(nth)
  for (long long r = 0; r < s->runs; r++) {
    if (sl[r].status == 2) continue;
    char e1[CL_ERRLEN];
    cl_status rs = CL_OK;
    void *state = e->alloc(m, s->seed, (uint64_t)r, e1);
    if (!state) rs = CL_ENOMEM;
    size_t k0 = 0;
    if (state && sl[r].status == 1) {
      e->load(state, sl[r].blob);
      k0 = sl[r].kdone;
    }
    double next_ck = every > 0 ? (floor((k0 ? tr->t[k0 - 1] : 0) / every) + 1) * every : INFINITY;
    double R[CL_KMAX * CL_MMAX], Q[CL_MMAX * CL_MMAX];
    for (size_t k = k0; k < nt && !rs; k++) {
      e->advance(state, cl_schedule_step(s, m->N, k) - e->steps(state));
      e->order(state, R, Q);
      cl_traj_set(m->K, m->M, R, Q, cl_traj_row(tr, r, k));
      if (obs) obs(octx, state, r, k);
      int ok = 1;
      for (int q = 0; q < m->K * m->M; q++) ok &= isfinite(R[q]);
      for (int q = 0; q < m->M * m->M; q++) ok &= isfinite(Q[q]) && fabs(Q[q]) < 1e100;
      if (!ok) {
        rs = cl_fail(e1, CL_EDIVERGE,
                     "%s: run %lld diverged at t = %g (Q_1_1 = %g, R_1_1 = %g) with tau = %g, s = %g, "
                     "rho = %g, lambda = %g, B = %d, N = %lld; lower tau",
                     e->name, r + 1, tr->t[k], Q[0], R[0], m->tau, m->s, m->rho, m->lambda, m->B, m->N);
        break;
      }
      if (ckpath && (tr->t[k] >= next_ck || k + 1 == nt)) {
        while (next_ck <= tr->t[k]) next_ck += every;
        size_t bl = k + 1 == nt ? 0 : e->state_size(state);
        unsigned char *blob = bl ? malloc(bl) : NULL;
        if (blob) e->save(state, blob);
#pragma omp critical(cl_ckpt)
        {
          free(sl[r].blob);
          sl[r].blob = blob, sl[r].blob_len = bl;
          sl[r].kdone = k + 1, sl[r].status = k + 1 == nt ? 2 : 1;
          char e2[CL_ERRLEN];
          if (write_ck(ckpath, fp, tr, sl, e2) && !st0) st0 = CL_EIO, memcpy(e0, e2, CL_ERRLEN);
        }
      }
      if (progress) {
        long long d;
#pragma omp atomic capture
        d = ++done;
#pragma omp critical(cl_progress)
        progress(ctx, (double)d / (double)total);
      }
    }
    if (state) e->free(state);
    if (rs) {
#pragma omp critical(cl_run_err)
      if (first_bad < 0 || r < first_bad) first_bad = r, st = rs, memcpy(e0, e1, CL_ERRLEN);
    }
  }
  if (first_bad < 0 && st0) st = st0;
  if (st && err) memcpy(err, e0, CL_ERRLEN);
done:
  for (long long r = 0; r < s->runs; r++) free(sl[r].blob);
  free(sl);
  free(fp);
  if (st) {
    cl_traj_free(tr);
    return st;
  }
  *out = tr;
  return CL_OK;
}
