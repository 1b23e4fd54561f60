/* bench/m4spec.c - the cost of one (frequency, image) entry of case B's
 * 4-d spectrum (docs/grid.md s.12): exp(-w^T C w / 2) times the four laws'
 * characteristic functions (laplace, uniform, two rademacher: real, the laws
 * being symmetric) at r_k . w.  Two ways: (1) per entry with libm; (2) on
 * the tensor grid of frequencies, from separable tables: exp(-w^T C w / 2)
 * is a product of 1-d and 2-d tables (one per pair of axes), e^{i a r_k . w}
 * a product of 1-d phase tables (cos and sin as its real and imaginary
 * parts), the partial products hoisted out of the innermost axis: no
 * transcendental function per entry.  (3) The arithmetic of a cross
 * approximation of one split at t = 15 (rank 96, n_A^2 = 56 x 52,
 * n_B^2 = 46 x 46): each new row and column minus the earlier crosses,
 * complex.  The count of entries per evaluation is bench/m4terms.py's; this
 * gives the time per entry.  Reported only (a benchmark, not a test).
 *
 *   cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -o /tmp/m4spec bench/m4spec.c -lm
 *   /tmp/m4spec [ENTRIES]
 */
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 4L * 48 * 48 * 48 * 48;
  /* case B's start: R0 and C_xi = I - R^T R */
  const double R[4][4] = {{0.1, 0.02, 0.01, 0}, {0.02, 0.1, 0.01, 0.01}, {0.01, 0, 0.1, 0.02}, {0, 0.01, 0.02, 0.1}};
  double C[4][4];
  for (int i = 0; i < 4; i++)
    for (int l = 0; l < 4; l++) {
      double s = i == l;
      for (int j = 0; j < 4; j++) s -= R[j][i] * R[j][l];
      C[i][l] = s;
    }
  const double b2 = 1.5, a = 3, c3 = sqrt(3.0), c4 = sqrt(2.0), h = 0.37;
  double sum = 0;
  clock_t t0 = clock();
  for (long e = 0; e < n; e++) {
    /* a frequency of a 48^4 grid, as the engine would visit them */
    double w[4] = {(double)(e % 48 - 24), (double)(e / 48 % 48 - 24), (double)(e / 2304 % 48 - 24),
                   (double)(e / 110592 % 48 - 24)};
    for (int i = 0; i < 4; i++) w[i] *= 2 * M_PI / (48 * h);
    double q = 0, t[4] = {0, 0, 0, 0};
    for (int i = 0; i < 4; i++) {
      for (int l = 0; l < 4; l++) q += C[i][l] * w[i] * w[l];
      for (int j = 0; j < 4; j++) t[j] += R[j][i] * w[i];
    }
    double u = a * t[1];
    double f = exp(-0.5 * q) / (1 + b2 * t[0] * t[0]) * (u != 0 ? sin(u) / u : 1) * cos(c3 * t[2]) * cos(c4 * t[3]);
    sum += f;
  }
  double s = (double)(clock() - t0) / CLOCKS_PER_SEC;
  printf("libm per entry:   %ld entries, %.3f CPU s, %.1f ns per entry (checksum %.6g)\n", n, s, 1e9 * s / n,
         sum / (n / (48.0 * 48 * 48 * 48)));

  /* (2) the same 48^4 grid from separable tables, repeated to about n entries */
  enum { G = 48 };
  static double w[4][G], g1[4][G], g2[6][G][G], rt[4][4][G];
  static double complex ph[3][4][G];
  const double kap[3] = {a, c3, c4};
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < G; j++) w[i][j] = 2 * M_PI * (j - G / 2) / (G * h);
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < G; j++) {
      g1[i][j] = exp(-0.5 * C[i][i] * w[i][j] * w[i][j]);
      for (int k = 0; k < 4; k++) rt[k][i][j] = R[k][i] * w[i][j];
      for (int k = 0; k < 3; k++) ph[k][i][j] = cexp(I * kap[k] * R[k + 1][i] * w[i][j]);
    }
  for (int p = 0, i = 0; i < 4; i++)
    for (int k = i + 1; k < 4; k++, p++)
      for (int x = 0; x < G; x++)
        for (int y = 0; y < G; y++) g2[p][x][y] = exp(-C[i][k] * w[i][x] * w[k][y]);
  long reps = n / ((long)G * G * G * G) + 1, done = 0;
  double sum2 = 0;
  t0 = clock();
  for (long r = 0; r < reps; r++)
    for (int i0 = 0; i0 < G; i0++)
      for (int i1 = 0; i1 < G; i1++)
        for (int i2 = 0; i2 < G; i2++) {
          double ga = g1[0][i0] * g1[1][i1] * g1[2][i2] * g2[0][i0][i1] * g2[1][i0][i2] * g2[3][i1][i2];
          double ta = rt[0][0][i0] + rt[0][1][i1] + rt[0][2][i2], ua = rt[1][0][i0] + rt[1][1][i1] + rt[1][2][i2];
          double complex pa[3];
          for (int k = 0; k < 3; k++) pa[k] = ph[k][0][i0] * ph[k][1][i1] * ph[k][2][i2];
          for (int i3 = 0; i3 < G; i3++) {
            double gg = ga * g1[3][i3] * g2[2][i0][i3] * g2[4][i1][i3] * g2[5][i2][i3];
            double t = ta + rt[0][3][i3], u = a * (ua + rt[1][3][i3]);
            double complex q1 = pa[0] * ph[0][3][i3], q2 = pa[1] * ph[1][3][i3], q3 = pa[2] * ph[2][3][i3];
            /* sin(u) / u from the phase: the product of the tables has an absolute
             * error of about 1e-16, so small u takes the series */
            double lap = 1 + b2 * t * t, sn = fabs(u) > 1e-4 ? cimag(q1) / u : 1 - u * u / 6;
            sum2 += gg * sn * creal(q2) * creal(q3) / lap;
          }
          done += G;
        }
  s = (double)(clock() - t0) / CLOCKS_PER_SEC;
  printf("separable tables: %ld entries, %.3f CPU s, %.1f ns per entry (checksum %.6g)\n", done, s, 1e9 * s / done,
         sum2 / reps);

  /* (3) the cross approximation's updates */
  enum { RK = 96, NA = 56 * 52, NB = 46 * 46 };
  double complex *u = malloc(sizeof(double complex) * RK * NA), *v = malloc(sizeof(double complex) * RK * NB);
  if (!u || !v) return 1;
  for (long j = 0; j < (long)RK * NA; j++) u[j] = cexp(I * 0.001 * j) / (1 + j % 7);
  for (long j = 0; j < (long)RK * NB; j++) v[j] = cexp(-I * 0.002 * j) / (1 + j % 5);
  long madds = 0;
  int rounds = 0;
  t0 = clock();
  do {
    for (int c = 1; c < RK; c++) {
      double complex *row = v + (long)c * NB, *col = u + (long)c * NA;
      for (int k = 0; k < c; k++) {
        const double complex a1 = u[(long)k * NA + c], b1 = v[(long)k * NB + c] * 1e-3;
        const double complex *vk = v + (long)k * NB, *uk = u + (long)k * NA;
        for (int j = 0; j < NB; j++) row[j] -= a1 * 1e-3 * vk[j];
        for (int j = 0; j < NA; j++) col[j] -= uk[j] * b1;
      }
      madds += (long)c * (NA + NB);
    }
    rounds++;
  } while ((double)(clock() - t0) / CLOCKS_PER_SEC < 0.5);
  s = (double)(clock() - t0) / CLOCKS_PER_SEC;
  printf("cross updates:    %ld complex multiply-adds (%d rounds of one split), %.3f CPU s, %.2f ns each"
         " (checksum %.6g)\n", madds, rounds, s, 1e9 * s / madds, creal(u[NA + 1] + v[NB + 1]));
  free(u), free(v);
  return 0;
}
