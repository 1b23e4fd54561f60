/* tests/simpair.h - the M = 1 runs on which two SGD step paths must agree:
 * test_sim.c (the fused loop against the CBLAS reference, to rounding) and
 * test_simstep.c (the M-unit step against the fused loop, bit for bit). */
#ifndef CLDYN_TESTS_SIMPAIR_H
#define CLDYN_TESTS_SIMPAIR_H

#include <criterion/criterion.h>

#include "app/app.h" /* the core library and the application layer */

/* The features of case f (its messages name them). */
static const char *const simpair_feats[] = {"axis", "dense"};

/* Case f of the M = 1, B = 1 simulate model (f = 0: axis features and
 * l2:0.5; f = 1: dense features and l1:0.3), with N weights, rho 0.3 and
 * the laws gauss:2 and rademacher, as the CLI parses it: two simulations
 * of it from seed 11, run 2, on the step paths pa into *a and pb into *b
 * (CL_SIM_*); asserts that both exist. */
static inline void simpair_alloc(const char *N, int f, int pa, int pb, cl_sim **a, cl_sim **b) {
  const char *const regs[] = {"l2:0.5", "l1:0.3"};
  cl_config cfg;
  char err[CL_ERRLEN];
  cl_config_init(&cfg, CL_CMD_SIMULATE);
  char *argv[] = {"--N", (char *)N, "--features", (char *)simpair_feats[f], "--reg", (char *)regs[f],
                  "--rho", "0.3", "--c", "gauss:2", "--c", "rademacher"};
  cr_assert_eq(cl_config_parse_args(&cfg, 12, argv, err), CL_OK, "%s", err);
  cl_sim_alloc(&cfg.model, 11, 2, pa, a, err);
  cr_assert_not_null(*a, "%s", err);
  cl_sim_alloc(&cfg.model, 11, 2, pb, b, err);
  cr_assert_not_null(*b, "%s", err);
}

#endif
