/* sdlimit.h - one case of the quad rule's sd guard (docs/accurate.md s.8,
 * docs/hardening.md s.15), shared by the suites harden and accurate: the
 * model `act` with M units, lambda and rho at Q = I, R = 0 and
 * s = sqrt(sd^2 - 1), sd just inside the limit `lim` (side 0: dQ_11 within
 * the printed estimate of the brute force of tests/sd_ref.c) or 0.1 above
 * it (side 1: the guard refuses with CL_EDIVERGE naming the sd and sigma). */
#ifndef CLDYN_TESTS_SDLIMIT_H
#define CLDYN_TESTS_SDLIMIT_H
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <string.h>

#include "cldyn/cldyn.h"
#include "sd_ref.h"

static inline void sd_limit_case(const char *act, int M, double lambda, double rho, double lim, int side) {
  char err[CL_ERRLEN];
  cl_model m;
  cl_model_default(&m);
  cr_assert_eq(cl_act_parse(act, &m.act, err), CL_OK, "%s", err);
  m.M = M, m.lambda = lambda, m.rho = rho;
  for (int i = 0; i < M * M; i++) m.Q0[i] = i % (M + 1) ? 0 : 1;
  for (int i = 0; i < m.K * M; i++) m.R0[i] = 0;
  /* sd = sqrt(1 + s^2) at Q = I, R = 0; just inside the limit (rounding) */
  const double sd = lim * (1 - 1e-9) + (side ? 0.1 : 0);
  m.s = sqrt(sd * sd - 1);
  cl_quad_opts o = {0};
  o.expect = CL_EXPECT_QUAD;
  double R[CL_KMAX * CL_MMAX] = {0}, Q[CL_MMAX * CL_MMAX] = {0}, dR[CL_KMAX * CL_MMAX], dQ[CL_MMAX * CL_MMAX];
  for (int i = 0; i < M; i++) Q[i * M + i] = 1;
  cl_drift *d;
  cr_assert_eq(cl_drift_alloc(&m, &o, &d, err), CL_OK, "%s", err);
  const cl_status st = cl_drift_eval(d, R, Q, dR, dQ, err);
  if (side) {
    cr_expect(st == CL_EDIVERGE && strstr(err, "pre-activation sd") && strstr(err, act),
              "M = %d %s sd %g: status %d: %s", M, act, sd, st, err);
  } else {
    cr_assert_eq(st, CL_OK, "M = %d %s sd %g: %s", M, act, sd, err);
    const double ref = sd_ref_dq(&m, 1), e = fabs(dQ[0] - ref), est = cl_drift_stderr(d);
    cr_expect(e <= est, "M = %d %s sd %g: dQ_11 %.10g vs brute force %.10g: error %.3g above the estimate %.3g", M,
              act, sd, dQ[0], ref, e, est);
    cr_log_info("M = %d %s sd %g: error %.3g, estimate %.3g", M, act, sd, e, est);
  }
  cl_drift_free(d);
}
#endif
