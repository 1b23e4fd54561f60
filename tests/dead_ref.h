/* tests/dead_ref.h - a nearly dead unit at M = 2 (docs/grid.md s.13),
 * shared by tests/test_grid.c and bench/gridead.c.
 *
 * dead_ref_state: unit 2's weight vector is sqrt(q) times a unit vector with
 * cosines 0.8 c, -0.6 c to the first two features (c = sqrt(1 - f): Q_22 -
 * |R_.2|^2 = f Q_22) and 0.6 sqrt(f) along unit 1's part outside them; unit 1
 * alive (R_.1 = (0.5, 0.3), Q_11 = 0.59).  R is K x 2 row-major, K >= 2;
 * dead_ref_state_m the same with M = 3 units (tests/test_multi.c).
 *
 * dead_ref_scaling: the drift at Q_22 = q from the drifts y[r] at qs[r]
 * (r = 0..2) of the same direction: with odd sigma and symmetric laws the
 * exact drift is odd in unit 2's weight vector in dR_.2 and dQ_12 and even
 * in the rest, dQ_22 vanishing like q, so each component is q^(p/2) times
 * a smooth function of q (p = 1, 0, 2); the quadratic in q through the
 * three, evaluated at q. */
#ifndef CLDYN_TESTS_DEAD_REF_H
#define CLDYN_TESTS_DEAD_REF_H

#include <math.h>

/* M units (2 or 3), the last one dying: dead_ref_state's unit 2 as unit M;
 * unit 1 as there and, at M = 3, unit 2 alive with the weight vector
 * (-0.2, 0.4, 0.1, 0.5) (R_.2 = (-0.2, 0.4), Q_22 = 0.46).  R is K x M. */
static inline void dead_ref_state_m(int K, int M, double q, double f, double *R, double *Q) {
  const double c = sqrt(1 - f);
  const double w[3][4] = {{0.5, 0.3, 0.5, 0},
                          {-0.2, 0.4, 0.1, 0.5},
                          {0.8 * c * sqrt(q), -0.6 * c * sqrt(q), 0.6 * sqrt(f * q), 0.8 * sqrt(f * q)}};
  const double *u[3] = {w[0], M == 3 ? w[1] : w[2], w[2]};
  for (int a = 0; a < M; a++)
    for (int b = 0; b < M; b++) {
      double x = 0;
      for (int i = 0; i < 4; i++) x += u[a][i] * u[b][i];
      Q[a * M + b] = x;
    }
  for (int k = 0; k < K; k++)
    for (int a = 0; a < M; a++) R[k * M + a] = k < 2 ? u[a][k] : 0;
}

static inline void dead_ref_state(int K, double q, double f, double *R, double *Q) {
  dead_ref_state_m(K, 2, q, f, R, Q);
}

/* the power of sqrt(Q_MM) by which drift component k (dR then dQ, M units,
 * the last one dying) vanishes */
static inline int dead_ref_power_m(int K, int M, int k) {
  if (k < K * M) return k % M == M - 1;
  k -= K * M;
  return (k / M == M - 1) + (k % M == M - 1);
}

static inline int dead_ref_power(int K, int k) { return dead_ref_power_m(K, 2, k); }

/* component k at q from y[r][k] at qs[r], as q^(p/2) times a quadratic in q */
static inline double dead_ref_extrapolate(const double qs[3], double (*y)[64], int k, int p, double q) {
  double z = 0;
  for (int r = 0; r < 3; r++) {
    double l = 1;
    for (int o = 0; o < 3; o++)
      if (o != r) l *= (q - qs[o]) / (qs[r] - qs[o]);
    z += l * y[r][k] / pow(qs[r], 0.5 * p);
  }
  return pow(q, 0.5 * p) * z;
}

static inline void dead_ref_scaling_m(int K, int M, const double qs[3], double (*y)[64], double q, double *out) {
  for (int k = 0; k < K * M + M * M; k++) out[k] = dead_ref_extrapolate(qs, y, k, dead_ref_power_m(K, M, k), q);
}

static inline void dead_ref_scaling(int K, const double qs[3], double (*y)[64], double q, double *out) {
  dead_ref_scaling_m(K, 2, qs, y, q, out);
}

#endif
