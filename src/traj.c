/* Order-parameter tables and their CSV form (docs/cli.md s.5). */
#include "cldyn/traj.h"

#include <math.h>
#include <stdlib.h>

int cl_traj_ncol(int K, int M) { return 2 * K * M + M * (M + 1) / 2; }

void cl_traj_colname(int K, int M, int c, char *buf, size_t len) {
  if (c < K * M) {
    snprintf(buf, len, "R_%d_%d", c / M + 1, c % M + 1);
    return;
  }
  c -= K * M;
  if (c < M * (M + 1) / 2) {
    for (int i = 0; i < M; i++)
      for (int l = i; l < M; l++)
        if (c-- == 0) {
          snprintf(buf, len, "Q_%d_%d", i + 1, l + 1);
          return;
        }
  }
  c -= M * (M + 1) / 2;
  snprintf(buf, len, "cos_%d_%d", c / M + 1, c % M + 1);
}

cl_status cl_traj_alloc(int K, int M, size_t nt, long long runs, cl_traj **out, char *err) {
  *out = NULL;
  cl_traj *tr = calloc(1, sizeof *tr);
  if (!tr) return cl_fail(err, CL_ENOMEM, "trajectory table: out of memory");
  tr->K = K, tr->M = M, tr->nt = nt, tr->runs = runs;
  tr->ncol = cl_traj_ncol(K, M);
  tr->t = calloc(nt ? nt : 1, sizeof(double));
  tr->data = calloc((size_t)runs * nt * (size_t)tr->ncol + 1, sizeof(double));
  if (!tr->t || !tr->data) {
    cl_traj_free(tr);
    return cl_fail(err, CL_ENOMEM, "trajectory table: out of memory");
  }
  *out = tr;
  return CL_OK;
}

void cl_traj_free(cl_traj *tr) {
  if (!tr) return;
  free(tr->t);
  free(tr->data);
  free(tr);
}

double *cl_traj_row(cl_traj *tr, long long run, size_t k) {
  return tr->data + ((size_t)run * tr->nt + k) * (size_t)tr->ncol;
}

void cl_traj_set(int K, int M, const double *R, const double *Q, double *row) {
  int c = 0;
  for (int k = 0; k < K * M; k++) row[c++] = R[k];
  for (int i = 0; i < M; i++)
    for (int l = i; l < M; l++) row[c++] = Q[i * M + l];
  for (int j = 0; j < K; j++)
    for (int i = 0; i < M; i++) row[c++] = R[j * M + i] / sqrt(Q[i * M + i]);
}

static void header(const cl_traj *tr, FILE *f, int run_col, const char *const *suffixes, int ns) {
  char name[64];
  fprintf(f, "%st", run_col ? "run," : "");
  for (int c = 0; c < tr->ncol; c++) {
    cl_traj_colname(tr->K, tr->M, c, name, sizeof name);
    for (int s = 0; s < ns; s++) fprintf(f, ",%s%s", name, suffixes[s]);
  }
  fputc('\n', f);
}

cl_status cl_traj_write_csv(const cl_traj *tr, FILE *f) {
  static const char *const none[] = {""};
  int run_col = tr->runs > 1;
  char num[32];
  header(tr, f, run_col, none, 1);
  for (long long r = 0; r < tr->runs; r++)
    for (size_t k = 0; k < tr->nt; k++) {
      const double *row = tr->data + ((size_t)r * tr->nt + k) * (size_t)tr->ncol;
      if (run_col) fprintf(f, "%lld,", r + 1);
      fputs(cl_common_format_real(num, sizeof num, tr->t[k]), f);
      for (int c = 0; c < tr->ncol; c++) {
        if (!isfinite(row[c])) return CL_EDIVERGE;
        fprintf(f, ",%s", cl_common_format_real(num, sizeof num, row[c]));
      }
      fputc('\n', f);
    }
  return ferror(f) ? CL_EIO : CL_OK;
}

cl_status cl_traj_check_finite(const cl_traj *tr, char *err) {
  for (long long r = 0; r < tr->runs; r++)
    for (size_t k = 0; k < tr->nt; k++) {
      const double *row = tr->data + ((size_t)r * tr->nt + k) * (size_t)tr->ncol;
      for (int c = 0; c < tr->ncol; c++)
        if (!isfinite(row[c])) {
          char name[64];
          cl_traj_colname(tr->K, tr->M, c, name, sizeof name);
          return cl_fail(err, CL_EDIVERGE, "run %lld: %s = %g at t = %g (not a finite number)", r + 1, name, row[c],
                         tr->t[k]);
        }
    }
  return CL_OK;
}

cl_status cl_traj_write_summary(const cl_traj *tr, FILE *f) {
  static const char *const ms[] = {"_mean", "_sd"};
  char num[32], num2[32];
  header(tr, f, 0, ms, 2);
  for (size_t k = 0; k < tr->nt; k++) {
    fputs(cl_common_format_real(num, sizeof num, tr->t[k]), f);
    for (int c = 0; c < tr->ncol; c++) {
      /* two passes: mean, then the centred sum of squares */
      double mean = 0, ss = 0;
      for (long long r = 0; r < tr->runs; r++)
        mean += tr->data[((size_t)r * tr->nt + k) * (size_t)tr->ncol + (size_t)c];
      mean /= (double)tr->runs;
      for (long long r = 0; r < tr->runs; r++) {
        double d = tr->data[((size_t)r * tr->nt + k) * (size_t)tr->ncol + (size_t)c] - mean;
        ss += d * d;
      }
      double sd = tr->runs > 1 ? sqrt(ss / (double)(tr->runs - 1)) : 0.0;
      if (!isfinite(mean) || !isfinite(sd)) return CL_EDIVERGE;
      fprintf(f, ",%s,%s", cl_common_format_real(num, sizeof num, mean), cl_common_format_real(num2, sizeof num2, sd));
    }
    fputc('\n', f);
  }
  return ferror(f) ? CL_EIO : CL_OK;
}
