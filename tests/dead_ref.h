/* tests/dead_ref.h - a nearly dead unit at M = 2 (docs/grid.md s.13),
 * shared by tests/test_grid.c and bench/gridead.c.
 *
 * dead_ref_state: unit 2's weight vector is sqrt(q) times a unit vector with
 * cosines 0.8 c, -0.6 c to the first two features (c = sqrt(1 - f): Q_22 -
 * |R_.2|^2 = f Q_22) and 0.6 sqrt(f) along unit 1's part outside them; unit 1
 * alive (R_.1 = (0.5, 0.3), Q_11 = 0.59).  R is K x 2 row-major, K >= 2.
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

static inline void dead_ref_state(int K, double q, double f, double *R, double *Q) {
  const double w1[4] = {0.5, 0.3, 0.5, 0}, c = sqrt(1 - f);
  const double w2[4] = {0.8 * c * sqrt(q), -0.6 * c * sqrt(q), 0.6 * sqrt(f * q), 0.8 * sqrt(f * q)};
  double q11 = 0, q12 = 0, q22 = 0;
  for (int i = 0; i < 4; i++) q11 += w1[i] * w1[i], q12 += w1[i] * w2[i], q22 += w2[i] * w2[i];
  for (int k = 0; k < K; k++) R[k * 2] = k < 2 ? w1[k] : 0, R[k * 2 + 1] = k < 2 ? w2[k] : 0;
  Q[0] = q11, Q[1] = Q[2] = q12, Q[3] = q22;
}

/* the power of sqrt(Q_22) by which drift component k (dR then dQ) vanishes */
static inline int dead_ref_power(int K, int k) {
  return k < K * 2 ? k % 2 : k - K * 2 == 3 ? 2 : k > K * 2;
}

static inline void dead_ref_scaling(int K, const double qs[3], double (*y)[64], double q, double *out) {
  for (int k = 0; k < K * 2 + 4; k++) {
    const int p = dead_ref_power(K, k);
    double z = 0;
    for (int r = 0; r < 3; r++) {
      double l = 1;
      for (int o = 0; o < 3; o++)
        if (o != r) l *= (q - qs[o]) / (qs[r] - qs[o]);
      z += l * y[r][k] / pow(qs[r], 0.5 * p);
    }
    out[k] = pow(q, 0.5 * p) * z;
  }
}

#endif
