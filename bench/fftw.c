/* bench/fftw.c - the grid engines' transforms at case B's shapes (issue 12;
 * docs/grid.md s.15, "Session 26: FFTW"): GSL's 1-d transforms as
 * src/drift_grid.c did them until session 26 (weights3's strided lines
 * through a contiguous copy) against FFTW 3 guru plans as fft_plans makes
 * them, with the planner flags given.  Input (bench/fftw_shapes_B.txt):
 * one line per shape with its count over case B's run,
 *   W3 n0 n1 n2 j0s nq count   (weights3: nq 3-d arrays)
 *   W2 n0 n1 j0s nq count      (weights: nq 2-d arrays)
 *   G4 n0 n1 n2 n3 count       (g4_tables: 6 pairs x 4 tables, 2-d)
 * Output: CPU seconds of each path scaled to the counts, the planning time,
 * and the largest difference of the two results (unit-size inputs).
 *   cc -O2 bench/fftw.c -o fftw -lfftw3 -lgsl -lgslcblas -lm
 *   ./fftw bench/fftw_shapes_B.txt [fraction of the counts run] [flags] */
#define _GNU_SOURCE
#include <fftw3.h>
#include <gsl/gsl_fft_complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

typedef struct {
  gsl_fft_complex_wavetable *wt[3];
  gsl_fft_complex_workspace *ws[3];
} gsl_tabs;

static void tabs_set(gsl_tabs *t, int k, int n) {
  if (t->wt[k]) gsl_fft_complex_wavetable_free(t->wt[k]), gsl_fft_complex_workspace_free(t->ws[k]);
  t->wt[k] = gsl_fft_complex_wavetable_alloc((size_t)n), t->ws[k] = gsl_fft_complex_workspace_alloc((size_t)n);
}

/* weights3's transforms until session 26 */
static void gsl_w3(const gsl_tabs *t, double *z, double *ln, int n0, int n1, int n2, int j0s, int nq) {
  const size_t N = (size_t)n0 * n1 * n2, s12 = (size_t)n1 * n2;
  for (int q = 0; q < nq; q++) {
    double *zq = z + 2 * N * q;
    for (int k1 = 0; k1 < n1; k1++) {
      const size_t r0 = (size_t)k1 * n2;
      for (int k = 0; k < n0; k++)
        for (int b = 0; b < n2; b++)
          for (int c = 0; c < 2; c++) ln[2 * ((size_t)b * n0 + k) + c] = zq[2 * (k * s12 + r0 + b) + c];
      for (int b = 0; b < n2; b++) gsl_fft_complex_forward(ln + 2 * (size_t)b * n0, 1, n0, t->wt[0], t->ws[0]);
      for (int k = 0; k < n0; k++)
        for (int b = 0; b < n2; b++)
          for (int c = 0; c < 2; c++) zq[2 * (k * s12 + r0 + b) + c] = ln[2 * ((size_t)b * n0 + k) + c];
    }
    for (int j0 = 0; j0 < n0; j0++) {
      if (j0 > 0 && j0 < j0s) continue;
      double *zs = zq + 2 * (size_t)j0 * s12;
      for (int k = 0; k < n1; k++)
        for (int b = 0; b < n2; b++)
          for (int c = 0; c < 2; c++) ln[2 * ((size_t)b * n1 + k) + c] = zs[2 * ((size_t)k * n2 + b) + c];
      for (int b = 0; b < n2; b++) gsl_fft_complex_forward(ln + 2 * (size_t)b * n1, 1, n1, t->wt[1], t->ws[1]);
      for (int k = 0; k < n1; k++)
        for (int b = 0; b < n2; b++)
          for (int c = 0; c < 2; c++) zs[2 * ((size_t)k * n2 + b) + c] = ln[2 * ((size_t)b * n1 + k) + c];
      for (int k1 = 0; k1 < n1; k1++) gsl_fft_complex_forward(zs + 2 * (size_t)k1 * n2, 1, n2, t->wt[2], t->ws[2]);
    }
  }
}

/* weights' transforms until session 26 */
static void gsl_w2(const gsl_tabs *t, double *z, int n0, int n1, int j0s, int nq) {
  const size_t N = (size_t)n0 * n1;
  for (int q = 0; q < nq; q++) {
    double *zq = z + 2 * N * q;
    for (int c = 0; c < n1; c++) gsl_fft_complex_forward(zq + 2 * (size_t)c, n1, n0, t->wt[0], t->ws[0]);
    for (int r = 0; r < n0; r++)
      if (r == 0 || r >= j0s) gsl_fft_complex_forward(zq + 2 * (size_t)r * n1, 1, n1, t->wt[1], t->ws[1]);
  }
}

/* g4_tables' 2-d transform until session 26 (wt[0]: na, wt[1]: nb) */
static void gsl_t2(const gsl_tabs *t, double *z, int na, int nb) {
  for (int ja = 0; ja < na; ja++) gsl_fft_complex_forward(z + 2 * (size_t)ja * nb, 1, nb, t->wt[1], t->ws[1]);
  for (int jb = 0; jb < nb; jb++) gsl_fft_complex_forward(z + 2 * (size_t)jb, nb, na, t->wt[0], t->ws[0]);
}

/* the plans of src/drift_grid.c's fft_plans (FFT_W3 when n2 > 0, else FFT_W2) */
static void plans(fftw_plan *p, double *z, int n0, int n1, int n2, int j0s, int nq, unsigned fl) {
  fftw_complex *c = (fftw_complex *)z;
  const int js = j0s > 1 ? j0s : 1;
  if (n2 > 0) {
    const int s12 = n1 * n2, N = n0 * s12;
    const fftw_iodim d0 = {n0, s12, s12}, d12[2] = {{n1, n2, n2}, {n2, 1, 1}}, v0[2] = {{nq, N, N}, {s12, 1, 1}},
                     vq = {nq, N, N}, vs[2] = {{nq, N, N}, {n0 - js, s12, s12}};
    p[0] = fftw_plan_guru_dft(1, &d0, 2, v0, c, c, FFTW_FORWARD, fl);
    p[1] = fftw_plan_guru_dft(2, d12, 1, &vq, c, c, FFTW_FORWARD, fl);
    p[2] = fftw_plan_guru_dft(2, d12, 2, vs, c + (size_t)js * s12, c + (size_t)js * s12, FFTW_FORWARD, fl);
  } else {
    const int N = n0 * n1;
    const fftw_iodim d0 = {n0, n1, n1}, d1 = {n1, 1, 1}, v0[2] = {{nq, N, N}, {n1, 1, 1}}, vq = {nq, N, N},
                     vs[2] = {{nq, N, N}, {n0 - js, n1, n1}};
    p[0] = fftw_plan_guru_dft(1, &d0, 2, v0, c, c, FFTW_FORWARD, fl);
    p[1] = fftw_plan_guru_dft(1, &d1, 1, &vq, c, c, FFTW_FORWARD, fl);
    p[2] = fftw_plan_guru_dft(1, &d1, 2, vs, c + (size_t)js * n1, c + (size_t)js * n1, FFTW_FORWARD, fl);
  }
}

static void fill(double *z, double *z2, size_t n) {
  for (size_t i = 0; i < n; i++) z[i] = z2[i] = (double)((i * 7919) % 1000) / 1000.0 - 0.5;
}

static double maxdiff(const double *a, const double *b, size_t n, double m) {
  for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]));
  return m;
}

int main(int argc, char **argv) {
  if (argc < 2) return fprintf(stderr, "usage: %s shapes [fraction] [fftw flags]\n", argv[0]), 2;
  FILE *f = fopen(argv[1], "r");
  if (!f) return perror(argv[1]), 1;
  const double frac = argc > 2 ? atof(argv[2]) : 1;
  const unsigned fl = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 0) : FFTW_ESTIMATE | FFTW_NO_BUFFERING;
  const size_t cap = 2 * 2 * 128 * 128 * 128; /* nq <= 2 arrays of 128^3 (W2: nq <= 4 of 128^2) */
  double *z = fftw_malloc(sizeof(double) * cap), *z2 = fftw_malloc(sizeof(double) * cap);
  double *ln = fftw_malloc(sizeof(double) * 2 * 128 * 128);
  gsl_tabs tb = {{NULL}, {NULL}};
  double T[3][3] = {{0}}, dmax = 0;
  long nplan = 0;
  char line[256], kind[8];
  while (fgets(line, sizeof line, f)) {
    int a[5] = {0};
    long cnt;
    if (sscanf(line, "%7s", kind) != 1) continue;
    const int k = !strcmp(kind, "W3") ? 0 : !strcmp(kind, "W2") ? 1 : 2;
    if (k == 0) sscanf(line, "%*s %d %d %d %d %d %ld", a, a + 1, a + 2, a + 3, a + 4, &cnt);
    else sscanf(line, "%*s %d %d %d %d %ld", a, a + 1, a + 2, a + 3, &cnt);
    const long reps = cnt * frac < 1 ? 1 : (long)(cnt * frac + 0.5);
    double t0;
    if (k < 2) {
      const int n2 = k == 0 ? a[2] : 0, j0s = a[k == 0 ? 3 : 2], nq = a[k == 0 ? 4 : 3];
      const size_t len = 2 * (size_t)a[0] * a[1] * (n2 ? n2 : 1) * nq;
      for (int i = 0; i < 2 + (k == 0); i++) tabs_set(&tb, i, a[i]);
      fftw_plan p[3];
      t0 = cpu();
      plans(p, z2, a[0], a[1], n2, j0s, nq, fl);
      T[k][2] += cpu() - t0, nplan++;
      fill(z, z2, len);
      if (k == 0) gsl_w3(&tb, z, ln, a[0], a[1], n2, j0s, nq);
      else gsl_w2(&tb, z, a[0], a[1], j0s, nq);
      for (int i = 0; i < 3; i++) fftw_execute(p[i]);
      dmax = maxdiff(z, z2, len, dmax);
      t0 = cpu();
      for (long r = 0; r < reps; r++)
        if (k == 0) gsl_w3(&tb, z, ln, a[0], a[1], n2, j0s, nq);
        else gsl_w2(&tb, z, a[0], a[1], j0s, nq);
      T[k][0] += (cpu() - t0) * cnt / reps;
      t0 = cpu();
      for (long r = 0; r < reps; r++)
        for (int i = 0; i < 3; i++) fftw_execute(p[i]);
      T[k][1] += (cpu() - t0) * cnt / reps;
      for (int i = 0; i < 3; i++) fftw_destroy_plan(p[i]);
    } else {
      static const int pa[6] = {0, 0, 0, 1, 1, 2}, pb[6] = {1, 2, 3, 2, 3, 3};
      for (int pp = 0; pp < 6; pp++) {
        const int na = a[pa[pp]], nb = a[pb[pp]];
        const size_t len = 2 * (size_t)na * nb;
        tabs_set(&tb, 0, na), tabs_set(&tb, 1, nb);
        t0 = cpu();
        fftw_plan p = fftw_plan_dft_2d(na, nb, (fftw_complex *)z2, (fftw_complex *)z2, FFTW_FORWARD, fl);
        T[k][2] += cpu() - t0, nplan++;
        fill(z, z2, len);
        gsl_t2(&tb, z, na, nb), fftw_execute(p);
        dmax = maxdiff(z, z2, len, dmax);
        t0 = cpu();
        for (long r = 0; r < 4 * reps; r++) gsl_t2(&tb, z, na, nb);
        T[k][0] += (cpu() - t0) * cnt / reps;
        t0 = cpu();
        for (long r = 0; r < 4 * reps; r++) fftw_execute(p);
        T[k][1] += (cpu() - t0) * cnt / reps;
        fftw_destroy_plan(p);
      }
    }
  }
  fclose(f);
  static const char *nm[3] = {"weights3 (M = 3)", "weights (M = 2)", "g4_tables"};
  double s[3] = {0};
  printf("FFTW flags %#x\n%-17s %10s %10s %10s\n", fl, "CPU s", "GSL", "FFTW", "planning");
  for (int k = 0; k < 3; k++) {
    printf("%-17s %10.3f %10.3f %10.4f\n", nm[k], T[k][0], T[k][1], T[k][2]);
    for (int i = 0; i < 3; i++) s[i] += T[k][i];
  }
  printf("%-17s %10.3f %10.3f %10.4f (%ld plan sets, %.0f us each)\nlargest |GSL - FFTW| %.3g\n", "total", s[0], s[1],
         s[2], nplan, 1e6 * s[2] / nplan, dmax);
  return 0;
}
