/* cldyn/quad.h - quadrature rules for the expectation engine: a Gauss rule
 * matched to each law of c (exact atoms for discrete laws), and the
 * standard normal rule (Gauss-Hermite from GSL).  Weights are probabilities
 * (they sum to 1). */
#ifndef CLDYN_QUAD_H
#define CLDYN_QUAD_H

#include <stdint.h>

#include "cldyn/law.h"
#pragma GCC visibility push(default) /* the public API: see README "Library" */

typedef struct {
  int n;
  double *x, *w;
} cl_rule;

/* n-point standard normal rule: E[f(Z)] ~ sum w_k f(x_k). */
cl_status cl_rule_normal(int n, cl_rule *r, char *err);
/* n-point standard normal rule by the truncated trapezoid (see quad.c):
 * converges geometrically for integrands analytic in a strip (tanh,
 * sigmoid), where Gauss-Hermite converges only like exp(-c sqrt n). */
cl_status cl_rule_normal_trap(int n, cl_rule *r, char *err);
/* n-point trapezoid on [-L, L] for the standard normal (n >= 1). */
cl_status cl_rule_normal_trap_range(int n, double L, cl_rule *r, char *err);
/* Rule for the law of c with about n points: discrete laws (rademacher,
 * sparse, discrete) are their exact atoms; gauss is Gauss-Hermite; uniform
 * Gauss-Legendre; laplace Gauss-Laguerre on each half-line; student t the
 * normal scale mixture (generalised Gauss-Laguerre for the chi-square mixing
 * variable times Gauss-Hermite), about n points in all. */
cl_status cl_rule_law(const cl_law *law, int n, cl_rule *r, char *err);
void cl_rule_free(cl_rule *r);

/* Options of the expectation engine (drift.h), which chooses its rules
 * from these orders. */
/* Default orders (see docs/theory.md for their accuracy). */
#define CL_QUAD_GAUSS 40
#define CL_QUAD_LAW 32
#define CL_QUAD_MGRID 48
/* M = 1: above this many c nodes (product of the laws' rules) the
 * characteristic-function method replaces the tensor quadrature */
#define CL_CF_NODES 2000

typedef struct {
  int n_gauss;    /* Gauss-Hermite points per active Gaussian direction (0: CL_QUAD_GAUSS;
                     a quarter as many when there are more than 2 directions) */
  int n_law;      /* points of a continuous law's rule (0: CL_QUAD_LAW) */
  int n_mgrid;    /* Chebyshev points in m for M = 1 (0: CL_QUAD_MGRID) */
  long mc_points; /* Monte Carlo batches (0: 20000) */
  uint64_t mc_seed;
  int m1_cf;       /* M = 1: 1 forces the characteristic-function method (docs/m1-many-features.md),
                      -1 forbids it, 0: when the laws' rules have more than CL_CF_NODES nodes */
  int adapt_gauss; /* M = 1, tanh or sigmoid: fewer points along directions where the
                      integrand is smoother (docs/theory.md s.3).  The drift then jumps
                      (by ~1e-11) where a count changes, so this is for integration
                      only, never for finite differences; cl_ode_solve sets it for its
                      explicit steppers.  0: off */
  int expect;      /* CL_EXPECT_QMC (0, the default): for M >= 2 the closed forms where they
                      apply (erf, every law gauss: src/drift_erf.c, docs/closed-forms.md),
                      else (M = 2) the grid where it applies, else for cubic sigma the
                      quad rule, else the Sobol' rules (src/drift_multi.c, docs/multi.md,
                      which refuse cubic);
                      CL_EXPECT_SOBOL: the Sobol' rules even where closed forms apply;
                      CL_EXPECT_CLOSED: the closed forms (any M; refused where they do not
                      apply); CL_EXPECT_MC (Monte Carlo over whole batches, the old path;
                      refuses cubic), or CL_EXPECT_TENSOR (M = 2, B = 1 or lambda = 0: tensor
                      Gauss-Hermite; cubic only where it is exact, docs/multi.md s.6).
                      With CL_EXPECT_CLOSED, n_gauss is the points of the fixed rule in the
                      Price-theorem parameter (0: adaptive, docs/closed-forms.md) */
  long qmc_points; /* M >= 2 qmc: points per rule (rounded up to a power of 2; 0: default) */
  int acc_nodes;   /* M >= 2 quad (CL_EXPECT_QUAD, docs/accurate.md): nodes per Gaussian
                      direction of the coarse rule (0: default) */
  int grid_nodes;  /* M = 2 grid (CL_EXPECT_GRID, docs/grid.md): inner nodes of the fine
                      level, every size scaling with it (0: default, 24) */
} cl_quad_opts;
enum { CL_EXPECT_QMC = 0, CL_EXPECT_MC = 1, CL_EXPECT_TENSOR = 2, CL_EXPECT_CLOSED = 3, CL_EXPECT_SOBOL = 4,
       CL_EXPECT_QUAD = 5, CL_EXPECT_GRID = 6 };

#pragma GCC visibility pop
#endif
