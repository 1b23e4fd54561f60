/* The symmetric 4-atom law with the moments of a student law up to degree 7
 * (tests/test_multi.c, bench/studentscan.c): for linear sigma the drift is a
 * polynomial of degree 6 in c (V is the square of a cubic where lambda != 0,
 * docs/multi.md s.3), so it depends on a law through its moments 1, m2, m4,
 * m6 alone, and the quad rule (src/drift_acc.c), exact for a discrete law,
 * gives the exact drift of the student law.  Needs nu > 6. */
#ifndef CLDYN_TESTS_STUDENT_MATCHED_H
#define CLDYN_TESTS_STUDENT_MATCHED_H

#include <math.h>
#include <stdio.h>

/* The `--c` spec of that law for student:m2:nu (c = t sqrt(m2 (nu - 2) /
 * nu), t ~ t_nu): the atoms are +- the square roots of the nodes of the
 * two-node Gauss rule of c^2, the roots of t^2 + a t + b, orthogonal to 1
 * and t under the moments mu_k = E c^(2k). */
static inline void student_matched_law(double m2, double nu, char *buf, size_t n) {
  const double mu1 = m2, mu2 = 3 * m2 * m2 * (nu - 2) / (nu - 4),
               mu3 = 15 * m2 * m2 * m2 * (nu - 2) * (nu - 2) / ((nu - 4) * (nu - 6));
  /* mu2 + a mu1 + b = 0, mu3 + a mu2 + b mu1 = 0 */
  const double a = (mu1 * mu2 - mu3) / (mu2 - mu1 * mu1), b = -mu2 - a * mu1;
  const double disc = sqrt(a * a - 4 * b), t1 = (-a - disc) / 2, t2 = (-a + disc) / 2;
  const double w2 = (mu1 - t1) / (t2 - t1), w1 = 1 - w2;
  snprintf(buf, n, "discrete:%.17g@%.17g,%.17g@%.17g,%.17g@%.17g,%.17g@%.17g", -sqrt(t2), w2 / 2, -sqrt(t1),
           w1 / 2, sqrt(t1), w1 / 2, sqrt(t2), w2 / 2);
}

#endif
