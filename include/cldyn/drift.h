/* cldyn/drift.h - the expectation engine: the drift of the order parameters
 * in the high-dimensional limit (docs/model.md s.6-7; derivation in
 * docs/theory.md).  With an L2 regularizer (beta = beta2)
 *   dR_ji/dt = tau (E[(D1_i + D2_i) c_j] + s E[D1_i eps1_j + D2_i eps2_j] - beta R_ji)
 *   dQ_il/dt = tau (P_il + P_li) - 2 tau beta Q_il + tau^2 Vm_il
 * where D_a = -dF/dh_a, P_il = E[D1_l h1_i + D2_l h2_i] and Vm is the
 * second moment of the gradient.  The Stein terms use the regression form
 * E[D eps] = Cov(eps, h) Sigma^+ E[D (h - mu)], which needs no derivative
 * of sigma' (relu) and works for singular Sigma (s = 0, rho = +-1, Q = R^T R).
 *
 * Methods, M = 1: exact sums over discrete laws and Gauss rules for
 * continuous ones (quad.h); rules over the 2 active directions of the
 * covariance of (h1, h2) (relu exactly between its kinks, linear and cubic by
 * Gauss-Hermite, the others by the trapezoid rule; docs/kinks.md); with many
 * c nodes (K >= 2 continuous laws) the Gaussian part is tabulated on
 * Chebyshev nodes in m = c . R; above CL_CF_NODES c nodes the c-expectation
 * goes through the laws' characteristic functions (docs/m1-many-features.md),
 * and for relu where they do not apply (no Gaussian smoothing along (1, 1))
 * through the kink-split rule over c (docs/kinks.md).
 * M >= 2 (any B, g, lambda; docs/multi.md): randomised Sobol' rules with an
 * error bound (src/drift_multi.c), or on request (expect) the older Monte
 * Carlo over whole batches or, for M = 2 with B = 1 or lambda = 0, a tensor
 * rule over the active eigen-directions (Gauss-Hermite for polynomial
 * sigma, a trapezoid with a coarse level for tanh, sigmoid and erf:
 * docs/multi.md s.6).  sigma = erf with every
 * law gauss (M >= 2 by default, any M on request): closed forms, and
 * Price-theorem integrals with an error estimate for V with lambda > 0
 * (src/drift_erf.c, docs/closed-forms.md). */
#ifndef CLDYN_DRIFT_H
#define CLDYN_DRIFT_H

#include "cldyn/model.h"
#include "cldyn/quad.h"
#pragma GCC visibility push(default) /* the public API: see README "Library" */

/* The quadrature options cl_quad_opts and the default orders: quad.h. */

typedef struct cl_drift cl_drift;

/* The engine for model m into *out (NULL on failure).  The model must have
 * an L2 (or no) regularizer (else CL_EINVAL). */
cl_status cl_drift_alloc(const cl_model *m, const cl_quad_opts *o, cl_drift **out, char *err);
void cl_drift_free(cl_drift *d);
/* dR (K x M) and dQ (M x M) at (R, Q).  CL_EDIVERGE if (R, Q) is outside
 * the physical domain (Q - R^T R not PSD) or not finite. */
cl_status cl_drift_eval(cl_drift *d, const double *R, const double *Q, double *dR, double *dQ,
                        char *err);
/* M >= 2 engine: the number of independent randomised rules whose
 * mean is the drift (0 for the other methods), the drift of rule `rep`
 * alone, and the Student-t factor t(0.995, nrep - 1) of the error bound
 * t sd / sqrt(nrep) (docs/multi.md).  For the deterministic engines (the
 * grid and the quad rule) the "rules" are their levels: 0 coarse, 1 fine
 * and, for the quad rule at M >= 3, 2 the middle one (docs/accurate.md
 * s.4); their bound is the largest distance of the fine level to the
 * others. */
int cl_drift_nrep(const cl_drift *d);
cl_status cl_drift_eval_rep(cl_drift *d, int rep, const double *R, const double *Q, double *dR,
                            double *dQ, char *err);
/* Every rule at once, rule r at its own state (R + r K M, Q + r M M) into
 * (dR + r K M, dQ + r M M), r < cl_drift_nrep: the values of
 * cl_drift_eval_rep, computed over OpenMP threads (bit-identical for any
 * number of threads; docs/multi.md s.8). */
cl_status cl_drift_eval_reps(cl_drift *d, const double *R, const double *Q, double *dR, double *dQ,
                             char *err);
double cl_drift_tquant(const cl_drift *d);
/* Of the replicate trajectories integrated separately (cl_ode_solve), the
 * one to write: -1 for their mean (the randomised rules), 1 for the
 * deterministic rule's fine level (docs/accurate.md s.4). */
int cl_drift_written_rep(const cl_drift *d);
/* Monte Carlo standard error of the last evaluation (max over components);
 * for the M >= 2 engine the error bound (t sd / sqrt(nrep)); 0 for quadrature. */
double cl_drift_stderr(const cl_drift *d);
/* One line describing what is computed (method, orders, points). */
const char *cl_drift_method(const cl_drift *d);

/* Where the M = 2 grid engine, chosen by default, refuses a state mid-run
 * (more nodes per direction than its cap: nearly collinear units, cubic
 * sigma's tails cut by a capped axis; docs/grid.md s.6), the commands redo
 * the whole run with one other engine.  cl_drift_grid_refused: 1 if err
 * (a message, maybe wrapped by its caller's) is that refusal.
 * cl_drift_fallback: 1 with *q the engine of the rerun (o's other fields
 * kept) when o is the default choice - the quad rule for cubic sigma (which
 * the Sobol' rules refuse), the Sobol' rules otherwise; 0 where the engine
 * was asked for (the refusal stands).  *name (if non-NULL) names it. */
int cl_drift_grid_refused(const char *err);
int cl_drift_fallback(const cl_model *m, const cl_quad_opts *o, cl_quad_opts *q, const char **name);

/* The M = 1 terms of docs/model.md s.6 at (R, Q) (any B; for lambda = 0 they do
 * not depend on B): a_j, b_z, b_e, V and E[G1 h1 + G2 h2]. */
typedef struct {
  double a[CL_KMAX];
  double b_z, b_e, V, Egh;
} cl_m1_terms;
cl_status cl_drift_m1_terms(cl_drift *d, const double *R, double Q, cl_m1_terms *t, char *err);

#pragma GCC visibility pop
#endif
