/* rulecheck.h - a drift computed with quadrature rules of different sizes:
 * where every size is converged, all must agree with the largest to
 * tol (1 + |value|), which fails for a rule that is inaccurate at some
 * size (GSL's gsl_integration_glfixed rules it does not tabulate, n = 38 and
 * 41 .. 63 among others, were 1e-12 .. 1e-11 off; src/quad_gl.h).  Used by
 * closed/rules_accurate_for_every_n (the t-rules of src/drift_erf.c) and
 * kinks/m1_rules_accurate_for_every_n (src/drift.c's panels and relu rule).
 * Include after criterion.h and testutil.h. */
#ifndef CLDYN_TEST_RULECHECK_H
#define CLDYN_TEST_RULECHECK_H

/* args: ode options of the model and state (R0, Q0); ns[nn - 1] is the
 * reference size; --quad-gauss takes each of ns */
static void expect_rules_agree(const char *args, int expect, const int *ns, int nn, double tol) {
  cl_config cfg;
  char err[CL_ERRLEN];
  cr_assert_eq(cfg_from_args(&cfg, CL_CMD_ODE, args, err), CL_OK, "%s: %s", args, err);
  const cl_model m = cfg.model;
  const int nR = m.K * m.M, nQ = m.M * m.M;
  double ref[CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX], v[CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX];
  for (int r = nn - 1; r >= 0; r--) {
    cl_quad_opts o = {.expect = expect, .n_gauss = ns[r]};
    cl_drift *d = NULL;
    cl_drift_alloc(&m, &o, &d, err);
    cr_assert(d, "%s", err);
    double *out = r == nn - 1 ? ref : v;
    cr_assert_eq(cl_drift_eval(d, m.R0, m.Q0, out, out + nR, err), CL_OK, "%s", err);
    cr_log_info("%s: n = %d: estimate %.2g", args, ns[r], cl_drift_stderr(d));
    cl_drift_free(d);
    if (r == nn - 1) continue;
    for (int k = 0; k < nR + nQ; k++)
      cr_expect_leq(fabs(v[k] - ref[k]), tol * (1 + fabs(ref[k])), "%s: n = %d, %s %d: %.17g vs %.17g (n = %d)", args,
                    ns[r], k < nR ? "dR" : "dQ", k < nR ? k : k - nR, v[k], ref[k], ns[nn - 1]);
  }
}

#endif
