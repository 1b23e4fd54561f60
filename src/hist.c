/* Histograms of simulated weights per feature class (hist.h). */
#include "cldyn/hist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cldyn/data.h"
#include "cldyn/pde.h"
#include "cldyn/schedule.h"
#include "cldyn/simulate.h"
#include "data_classes.h"

typedef struct {
  long lo;           /* first bin index */
  size_t n;          /* bins */
  long long total;   /* weights counted */
  long long *count;
} hbin;

struct cl_hist {
  cl_model m;
  int ncls;
  double *xi, width;
  double *t;
  size_t nt;
  long long runs;
  hbin *bins; /* (run * nt + k) * ncls + c */
};

cl_status cl_hist_alloc(const cl_model *m, const cl_schedule *s, double width, cl_hist **out, char *err) {
  *out = NULL;
  if (m->M != 1) return cl_fail(err, CL_EINVAL, "hist: needs M = 1");
  cl_hist *h = calloc(1, sizeof *h);
  if (!h) return cl_fail(err, CL_ENOMEM, "hist: out of memory");
  size_t nt = cl_schedule_nt(s);
  long long runs = s->runs;
  h->m = *m, h->width = width, h->nt = nt, h->runs = runs;
  cl_status st = cl_data_classes_capped(m, "hist", "the", &h->ncls, err);
  if (st) {
    free(h);
    return st;
  }
  size_t nb = (size_t)runs * nt * (size_t)h->ncls;
  h->xi = malloc(sizeof(double) * (size_t)(h->ncls * m->K));
  h->t = malloc(sizeof(double) * nt);
  h->bins = calloc(nb, sizeof *h->bins);
  if (!h->xi || !h->t || !h->bins) {
    cl_hist_free(h);
    return cl_fail(err, CL_ENOMEM, "hist: out of memory");
  }
  cl_data_feature_classes(m, h->xi, NULL);
  for (size_t k = 0; k < nt; k++) h->t[k] = (double)cl_schedule_step(s, m->N, k) / (double)m->N;
  *out = h;
  return CL_OK;
}

void cl_hist_free(cl_hist *h) {
  if (!h) return;
  if (h->bins)
    for (size_t i = 0; i < (size_t)h->runs * h->nt * (size_t)h->ncls; i++) free(h->bins[i].count);
  free(h->bins);
  free(h->xi);
  free(h->t);
  free(h);
}

void cl_hist_add(cl_hist *h, long long run, size_t k, const double *U, const double *W) {
  long long N = h->m.N;
  int nc = h->ncls;
  hbin *b = h->bins + ((size_t)run * h->nt + k) * (size_t)nc;
  long lo[CL_DATA_CLASS_MAX], hi[CL_DATA_CLASS_MAX];
  for (int c = 0; c < nc; c++) lo[c] = hi[c] = 0, b[c].total = 0;
  int *cls = malloc(sizeof(int) * (size_t)N);
  long *idx = malloc(sizeof(long) * (size_t)N);
  if (!cls || !idx) {
    free(cls), free(idx);
    return;
  }
  /* first pass: class and bin of each coordinate, and each class's range */
  for (long long n = 0; n < N; n++) {
    int c = cls[n] = cl_data_feature_class_of(&h->m, U, n);
    if (c < 0) continue;
    double q = floor(W[n] / h->width);
    long i = idx[n] = (long)fmax(fmin(q, 1e15), -1e15);
    if (b[c].total == 0 || i < lo[c]) lo[c] = i;
    if (b[c].total == 0 || i > hi[c]) hi[c] = i;
    b[c].total++;
  }
  for (int c = 0; c < nc; c++) {
    free(b[c].count);
    b[c].count = NULL, b[c].n = 0, b[c].lo = lo[c];
    if (!b[c].total) continue;
    /* a runaway weight would make a huge range: cap it (the histogram then
     * drops those bins, and the total still normalises) */
    size_t n = (size_t)(hi[c] - lo[c] + 1);
    if (n > 1000000) n = 1000000;
    b[c].n = n;
    b[c].count = calloc(n, sizeof(long long));
  }
  for (long long n = 0; n < N; n++) {
    int c = cls[n];
    if (c < 0 || !b[c].count) continue;
    size_t i = (size_t)(idx[n] - b[c].lo);
    if (i < b[c].n) b[c].count[i]++;
  }
  free(cls), free(idx);
}

void cl_hist_observe(void *hist, const void *sim, long long run, size_t k) {
  cl_hist_add(hist, run, k, cl_sim_features(sim), cl_sim_weights(sim));
}

cl_status cl_hist_write(const cl_hist *h, FILE *f) {
  int K = h->m.K;
  if (h->runs > 1) fputs("run,", f);
  cl_pde_write_density_header(f, K);
  for (long long r = 0; r < h->runs; r++)
    for (size_t k = 0; k < h->nt; k++)
      for (int c = 0; c < h->ncls; c++) {
        const hbin *b = h->bins + ((size_t)r * h->nt + k) * (size_t)h->ncls + c;
        if (!b->total) continue;
        char head[64 + 24 * CL_KMAX];
        int off = 0;
        if (h->runs > 1) off += snprintf(head, sizeof head, "%lld,", r + 1);
        off += snprintf(head + off, sizeof head - (size_t)off, "%.10g", h->t[k]);
        for (int j = 0; j < K; j++)
          off += snprintf(head + off, sizeof head - (size_t)off, ",%.10g", h->xi[c * K + j]);
        double norm = 1 / ((double)b->total * h->width);
        for (size_t i = 0; i < b->n; i++)
          fprintf(f, "%s,%.10g,%.9g\n", head, ((double)b->lo + (double)i + 0.5) * h->width,
                  (double)b->count[i] * norm);
      }
  return ferror(f) ? CL_EIO : CL_OK;
}
