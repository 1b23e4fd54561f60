/* bench/m4spec.c - the cost of one (frequency, image) entry of case B's
 * 4-d spectrum (docs/grid.md s.12): exp(-w^T C w / 2) times the four laws'
 * characteristic functions (laplace, uniform, two rademacher: real, the laws
 * being symmetric) at r_k . w, with libm, as an engine would form it per
 * entry.  The count of entries per evaluation is bench/m4terms.py's; this
 * gives the time per entry.  Reported only (a benchmark, not a test).
 *
 *   cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -o /tmp/m4spec bench/m4spec.c -lm
 *   /tmp/m4spec [ENTRIES]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 20000000;
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
  printf("%ld entries: %.3f CPU s, %.1f ns per entry (checksum %.6g)\n", n, s, 1e9 * s / n, sum);
  return 0;
}
