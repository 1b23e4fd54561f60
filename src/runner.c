/* Many independent runs over OpenMP threads, with checkpoint and resume. */
#include "cldyn/runner.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "cldyn/act.h"
#include "cldyn/law.h"
#include "cldyn/reduced.h"
#include "cldyn/schedule.h"
#include "cldyn/simulate.h"
#include "cldyn/tmpfiles.h"

#define CK_MAGIC "CLDYNCK2"

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
  if (!b->fp) return; /* an allocation failed: fingerprint() returns NULL */
  size_t need = strlen(name) + strlen(value) + 4;
  if (b->len + need >= b->cap) {
    b->cap = 2 * (b->cap + need);
    char *nb = realloc(b->fp, b->cap);
    if (!nb) {
      free(b->fp), b->fp = NULL;
      return;
    }
    b->fp = nb;
  }
  b->len += (size_t)sprintf(b->fp + b->len, "%s=%s\n", name, value);
}

static void fp_real(sbuf *b, const char *name, double x) {
  char num[32];
  fp_add(b, name, cl_common_format_real(num, sizeof num, x));
}

static void fp_matrix(sbuf *b, const char *name, const double *a, int rows, int cols) {
  char buf[8192], num[32];
  size_t off = 0;
  buf[0] = '\0';
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < cols; c++)
      off += (size_t)snprintf(buf + off, off < sizeof buf ? sizeof buf - off : 0, "%s%s",
                              c ? "," : (r ? ";" : ""), cl_common_format_real(num, sizeof num, a[r * cols + c]));
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
    snprintf(buf, sizeof buf, "sparse:%s", cl_common_format_real(num, sizeof num, m->feat_p));
    fp_add(&b, "features", buf);
  } else {
    fp_add(&b, "features", m->features == CL_FEAT_AXIS ? "axis" : "dense");
  }
  fp_add(&b, "act", cl_act_name(m->act));
  fp_add(&b, "g", cl_gfun_name(m->g));
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

/* The checkpoint file (little-endian host layout, one machine):
 *   "CLDYNCK2", fingerprint length and text, runs, nt, ncol, then per run:
 *   status (0 not started, 1 in progress, 2 done), kdone, kdone * ncol
 *   doubles, blob length, blob (the engine's state; status 1 only);
 *   then the zlib crc32 of every byte before it (4 bytes).
 * Any file that does not parse exactly, or whose crc differs, is refused
 * as "corrupt checkpoint". */
typedef struct {
  FILE *f;
  uLong crc;
} ckw;

static void put(ckw *w, const void *p, size_t n) {
  if (!n) return;
  fwrite(p, 1, n, w->f);
  w->crc = crc32_z(w->crc, p, n);
}

cl_status cl_runner_check_ckpt_path(const char *path, const char *option, char *err) {
  struct stat sb;
  if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
    return cl_fail(err, CL_EINVAL, "%s: '%s' exists and is not a regular file", option, path);
  /* the directory must take the temporary file */
  char tmp[CL_PATHLEN + 32];
  if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
    return cl_fail(err, CL_EINVAL, "%s: the path is longer than %d bytes", option, CL_PATHLEN - 1);
  int fd = cl_tmpfiles_mkstemp(tmp);
  if (fd < 0) return cl_fail(err, CL_EINVAL, "%s: cannot write '%s': %s", option, path, strerror(errno));
  close(fd);
  unlink(tmp);
  cl_tmpfiles_unregister(tmp);
  return CL_OK;
}

static cl_status write_ck(const char *path, const char *fp, const cl_traj *tr, const slot *sl,
                          char *err) {
  /* never rename onto a device, a FIFO or a directory */
  struct stat sb;
  if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
    return cl_fail(err, CL_EIO, "checkpoint: '%s' is not a regular file", path);
  char tmp[CL_PATHLEN + 32];
  snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path);
  FILE *f = cl_tmpfiles_open(tmp, "wb");
  if (!f) return cl_fail(err, CL_EIO, "checkpoint: cannot write '%s'", path);
  ckw w = {f, crc32_z(0, NULL, 0)};
  size_t fl = strlen(fp), nc = (size_t)tr->ncol;
  long long runs = tr->runs;
  put(&w, CK_MAGIC, 8);
  put(&w, &fl, sizeof fl);
  put(&w, fp, fl);
  put(&w, &runs, sizeof runs);
  put(&w, &tr->nt, sizeof tr->nt);
  put(&w, &nc, sizeof nc);
  for (long long r = 0; r < runs; r++) {
    put(&w, &sl[r].status, sizeof(int));
    put(&w, &sl[r].kdone, sizeof(size_t));
    put(&w, tr->data + (size_t)r * tr->nt * nc, sizeof(double) * sl[r].kdone * nc);
    size_t bl = sl[r].status == 1 ? sl[r].blob_len : 0;
    put(&w, &bl, sizeof bl);
    if (bl) put(&w, sl[r].blob, bl);
  }
  unsigned char c4[4];
  for (int b = 0; b < 4; b++) c4[b] = (unsigned char)(w.crc >> (8 * b));
  fwrite(c4, 1, 4, f);
  int bad = ferror(f) != 0;
  bad |= fflush(f) != 0 || fsync(fileno(f)) != 0;
  bad |= fclose(f) != 0;
  mode_t mask = umask(0);
  umask(mask);
  if (!bad) bad = chmod(tmp, 0666 & ~mask) != 0;
  if (bad || rename(tmp, path) != 0) {
    unlink(tmp);
    cl_tmpfiles_unregister(tmp);
    return cl_fail(err, CL_EIO, "checkpoint: cannot write '%s'", path);
  }
  cl_tmpfiles_unregister(tmp);
  return CL_OK;
}

typedef struct {
  const unsigned char *p;
  size_t n, at;
} ckr;

static int take(ckr *r, void *dst, size_t n) {
  if (n > r->n - r->at) return 0;
  memcpy(dst, r->p + r->at, n);
  r->at += n;
  return 1;
}

static cl_status read_ck(const char *path, const char *fp, cl_traj *tr, slot *sl, char *err) {
  struct stat sb0; /* a FIFO would block the open: only regular files are checkpoints */
  if (stat(path, &sb0) == 0 && !S_ISREG(sb0.st_mode))
    return cl_fail(err, CL_EINVAL, "resume: '%s' is not a cldyn checkpoint (corrupt checkpoint)", path);
  FILE *f = fopen(path, "rb");
  if (!f) return cl_fail(err, CL_EINVAL, "resume: cannot read '%s'", path);
  struct stat sb;
  if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size < 12) {
    fclose(f);
    return cl_fail(err, CL_EINVAL, "resume: '%s' is not a cldyn checkpoint (corrupt checkpoint)", path);
  }
  size_t n = (size_t)sb.st_size;
  unsigned char *buf = malloc(n);
  if (!buf) return fclose(f), cl_fail(err, CL_ENOMEM, "resume: out of memory for '%s'", path);
  size_t got = fread(buf, 1, n, f);
  fclose(f);
  cl_status st = CL_OK;
  uLong crc = 0;
  for (int b = 0; got == n && b < 4; b++) crc |= (uLong)buf[n - 4 + (size_t)b] << (8 * b);
  if (got != n || memcmp(buf, CK_MAGIC, 8) != 0 || crc32_z(crc32_z(0, NULL, 0), buf, n - 4) != crc) {
    free(buf);
    return cl_fail(err, CL_EINVAL, "resume: '%s': corrupt checkpoint (bad magic, length or checksum)", path);
  }
  ckr r = {buf, n - 4, 8};
  size_t fl, nt, nc;
  long long runs;
  if (!take(&r, &fl, sizeof fl) || fl > r.n - r.at) {
    st = cl_fail(err, CL_EINVAL, "resume: '%s': corrupt checkpoint (fingerprint length)", path);
    goto done;
  }
  if (fl != strlen(fp) || memcmp(r.p + r.at, fp, fl) != 0) {
    st = cl_fail(err, CL_EINVAL,
                 "resume: '%s' was written with other parameters (a different model, schedule or engine)", path);
    goto done;
  }
  r.at += fl;
  if (!take(&r, &runs, sizeof runs) || !take(&r, &nt, sizeof nt) || !take(&r, &nc, sizeof nc) ||
      runs != tr->runs || nt != tr->nt || nc != (size_t)tr->ncol) {
    st = cl_fail(err, CL_EINVAL, "resume: '%s': corrupt checkpoint (shape)", path);
    goto done;
  }
  for (long long q = 0; q < runs && !st; q++) {
    size_t bl;
    slot *z = &sl[q];
    int ok = take(&r, &z->status, sizeof(int)) && take(&r, &z->kdone, sizeof(size_t)) && z->kdone <= nt &&
             z->kdone * nc * sizeof(double) <= r.n - r.at;
    if (ok) {
      ok = take(&r, tr->data + (size_t)q * nt * nc, sizeof(double) * z->kdone * nc);
      for (size_t i = 0; ok && i < z->kdone * nc; i++) ok = isfinite(tr->data[(size_t)q * nt * nc + i]);
    }
    ok = ok && take(&r, &bl, sizeof bl) && bl <= r.n - r.at;
    /* a run not started has nothing, a finished one all rows and no state,
     * one in progress some rows and its state */
    ok = ok && ((z->status == 0 && z->kdone == 0 && bl == 0) || (z->status == 2 && z->kdone == nt && bl == 0) ||
                (z->status == 1 && z->kdone > 0 && z->kdone < nt && bl > 0));
    if (ok && bl) {
      z->blob = malloc(bl);
      if (!z->blob) {
        st = cl_fail(err, CL_ENOMEM, "resume: out of memory for '%s'", path);
        break;
      }
      ok = take(&r, z->blob, bl);
      z->blob_len = bl;
    }
    if (!ok) st = cl_fail(err, CL_EINVAL, "resume: '%s': corrupt checkpoint (run %lld)", path, q + 1);
  }
  if (!st && r.at != r.n) st = cl_fail(err, CL_EINVAL, "resume: '%s': corrupt checkpoint (trailing bytes)", path);
done:
  free(buf);
  return st;
}

cl_status cl_runner_run(const cl_engine *e, const cl_model *m, const cl_schedule *s, int threads,
                        const cl_ckpt_opts *ck, cl_traj **out, cl_progress_fn progress, void *ctx,
                        char *err) {
  return cl_runner_run_obs(e, m, s, threads, ck, out, progress, ctx, NULL, NULL, err);
}

cl_status cl_runner_run_obs(const cl_engine *e, const cl_model *m, const cl_schedule *s, int threads,
                            const cl_ckpt_opts *ck, cl_traj **out, cl_progress_fn progress,
                            void *ctx, cl_run_observer obs, void *octx, char *err) {
  cl_status st = cl_model_check(m, 1, err);
  if (st || (st = cl_schedule_check(s, err))) return st;
  size_t nt = cl_schedule_nt(s);
  cl_traj *tr;
  cl_traj_alloc(m->K, m->M, nt, s->runs, &tr, NULL);
  slot *sl = calloc((size_t)s->runs, sizeof *sl);
  if (!tr || !sl) {
    cl_traj_free(tr);
    free(sl);
    return cl_fail(err, CL_ENOMEM, "out of memory for the trajectory table");
  }
  for (size_t k = 0; k < nt; k++) tr->t[k] = (double)cl_schedule_step(s, m->N, k) / (double)m->N;
  const char *ckpath = ck && ck->checkpoint && ck->checkpoint[0] ? ck->checkpoint : NULL;
  double every = ck ? ck->every : 0;
  char *fp = NULL;
  if (ckpath && (st = cl_runner_check_ckpt_path(ckpath, "checkpoint", err))) goto done;
  if ((ckpath || (ck && ck->resume && ck->resume[0])) && !(fp = fingerprint(e, m, s))) {
    st = cl_fail(err, CL_ENOMEM, "out of memory");
    goto done;
  }
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
    void *state = NULL;
    cl_status rs = e->alloc(m, s->seed, (uint64_t)r, &state, e1);
    size_t k0 = 0;
    if (state && sl[r].status == 1) {
      /* the state must have this engine's size and be at the step of its
       * last row */
      if (sl[r].blob_len != e->state_size(state)) rs = CL_EINVAL;
      else {
        e->load(state, sl[r].blob);
        k0 = sl[r].kdone;
        if (e->steps(state) != cl_schedule_step(s, m->N, k0 - 1)) rs = CL_EINVAL;
      }
      if (rs)
        cl_fail(e1, rs, "resume: '%s': corrupt checkpoint (state of run %lld)", ck->resume, r + 1);
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
                     "run %lld diverged at t = %g (Q_1_1 = %g, R_1_1 = %g) with tau = %g, s = %g, "
                     "rho = %g, lambda = %g, B = %d, N = %lld; lower tau",
                     r + 1, tr->t[k], Q[0], R[0], m->tau, m->s, m->rho, m->lambda, m->B, m->N);
        break;
      }
      if (ckpath && (tr->t[k] >= next_ck || k + 1 == nt)) {
        while (next_ck <= tr->t[k]) next_ck += every;
        size_t bl = k + 1 == nt ? 0 : e->state_size(state);
        unsigned char *blob = bl ? malloc(bl) : NULL;
        if (bl && !blob) {
          rs = cl_fail(e1, CL_ENOMEM, "checkpoint: out of memory for the state of run %lld", r + 1);
          break;
        }
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

/* The two stochastic engines without checkpoints: the runner drives them,
 * they never call it. */
cl_status cl_runner_run_sim(const cl_model *m, const cl_schedule *s, int threads, cl_traj **out,
                      cl_progress_fn progress, void *ctx, char *err) {
  return cl_runner_run(&cl_engine_simulate, m, s, threads, NULL, out, progress, ctx, err);
}

cl_status cl_runner_run_red(const cl_model *m, const cl_schedule *s, int threads, cl_traj **out,
                     cl_progress_fn progress, void *ctx, char *err) {
  if (m->reg.kind == CL_REG_L1 || m->reg.kind == CL_REG_ELASTIC)
    return cl_fail(err, CL_EINVAL, "reg: the reduced chain is exact only for l2 or none");
  return cl_runner_run(&cl_engine_reduced, m, s, threads, NULL, out, progress, ctx, err);
}
