/* drift_grid.h (internal) - the M = 2 and M = 3 grid engine (docs/grid.md): every
 * term of the deterministic rule of docs/accurate.md depends on the outer
 * node (c, xi) only through X = R^T c + xi, so the c- and xi-sums become
 * weights on a uniform grid in X, computed exactly in c from the laws'
 * characteristic functions by one 2-d (M = 3: 3-d) FFT per pair of weights.  Two levels
 * (coarse, fine); the drift is the fine one and the error estimate the
 * largest difference of the two over the drift vector. */
#ifndef CLDYN_DRIFT_GRID_H
#define CLDYN_DRIFT_GRID_H

#include "cldyn/model.h"
#include "cldyn/quad.h"

typedef struct cl_grid cl_grid;

/* One level: at most n grid nodes per direction (even); ne nodes of the
 * inner (per-view noise) rule, a trapezoid on [-Le, Le] in the
 * standardised noise (Le <= 0 or a polynomial sigma: Gauss-Hermite); the
 * step such that the trapezoid's aliasing is about exp(-Eh); the range such
 * that the laws' tails beyond it are about exp(-E). */
typedef struct {
  int n, ne;
  double Eh, E, Le;
  int nemax; /* > ne: a ladder of inner rules up to nemax nodes, the one used
                chosen from the state (sigma's poles, docs/grid.md s.3); else ne */
} cl_grid_level;

/* 1 if the engine applies to m (else 0, with the reason in why). */
int cl_grid_applies(const cl_model *m, char *why, size_t n);
/* The engine with the default levels (o->grid_nodes, if > 0, is the fine
 * level's inner nodes, default 24; every size of both levels scales with
 * it). */
cl_status cl_grid_alloc(const cl_model *m, const cl_quad_opts *o, cl_grid **out, char *err);
/* M = 3 without the tilted weights W_cj (docs/grid.md s.15, "Triples
 * without the tilted weights"): the weights W_0 and the three W_xi only
 * (4 instead of K + 4, two 3-d FFTs of complex pairs instead of
 * ceil((K + 4) / 2)), so the drift's dQ is the full engine's (to
 * rounding: the same sums without the aR ones) and its dR is not computed:
 * every dR component is returned as 0 and must not be read.  For the
 * M = 4 engine's triples, which serve dQ alone (drift_grid4.c). */
cl_status cl_grid_alloc_dq(const cl_model *m, const cl_grid_level *coarse, const cl_grid_level *fine, cl_grid **out,
                           char *err);
/* M = 3 without the tilted weights, and of dQ only the terms that name
 * all three units (docs/grid.md s.15, "Triples by their three-unit
 * terms"): every product of the per-sample gradient's terms ({i} for
 * D_i Y_i, {i, k} for DY_i YY_k) whose units with those of P's regressor
 * or V's other term are the three; no regulariser.  dR is 0 (not
 * computed).  B = 1 where lambda != 0 (at lambda = 0 every such term is 0). */
cl_status cl_grid_alloc_t3(const cl_model *m, const cl_grid_level *coarse, const cl_grid_level *fine, cl_grid **out,
                           char *err);
/* The default levels for n inner nodes of the fine level (0: the default). */
void cl_grid_default_levels(int n, cl_grid_level *coarse, cl_grid_level *fine);
/* The caps of an M-unit grid (M = 2 or 3) at --grid-nodes n (0: the
 * default), as cl_grid_alloc sets them: the nodes per direction (n) and the
 * inner ladder's top (nemax) of both levels; the exponents are left. */
void cl_grid_caps(int M, int n, cl_grid_level *coarse, cl_grid_level *fine);
cl_status cl_grid_alloc_levels(const cl_model *m, const cl_grid_level *coarse, const cl_grid_level *fine,
                               cl_grid **out, char *err);
/* A grid engine whose levels are sums of other engines' levels (M >= 4:
 * drift_grid4.c, cl_grid4_alloc; docs/grid.md s.15-16): level lev of the
 * shell is level(ctx, lev, ...), so that cl_grid_eval_level, cl_grid_eval
 * (the estimate max |fine - coarse|) and cl_grid_eval_reps serve it as the
 * others; unresolved(ctx) is cl_grid_unresolved's.  The shell owns ctx
 * (release(ctx) at cl_grid_free, or here on failure). */
typedef struct {
  cl_status (*level)(void *ctx, int lev, const double *R, const double *Q, double *dR, double *dQ, char *err);
  int (*unresolved)(const void *ctx);
  void (*release)(void *ctx);
} cl_grid_sum;
cl_status cl_grid_alloc_sum(const cl_model *m, const cl_grid_sum *sum, void *ctx, const char *method, cl_grid **out,
                            char *err);
void cl_grid_free(cl_grid *g);
/* The drift of level lev (0 coarse, 1 fine) alone. */
cl_status cl_grid_eval_level(cl_grid *g, int lev, const double *R, const double *Q, double *dR, double *dQ,
                             char *err);
/* Both levels at their own states (level r at R + r K 2, Q + r 4; dR, dQ
 * likewise). */
cl_status cl_grid_eval_reps(cl_grid *g, const double *R, const double *Q, double *dR, double *dQ, char *err);
/* The fine level's drift; ebar (if non-NULL) gets max_k |fine_k - coarse_k|
 * in every component (K*M entries for dR, then M*M for dQ). */
cl_status cl_grid_eval(cl_grid *g, const double *R, const double *Q, double *dR, double *dQ, double *ebar,
                       char *err);
double cl_grid_errmax(const cl_grid *g);
/* 1 once an evaluation refused a state that needs more nodes per direction
 * than the level's cap (nearly collinear units, a long-tailed law, cubic
 * sigma's tails cut by a capped axis: docs/grid.md s.4). */
int cl_grid_unresolved(const cl_grid *g);
/* The same for a drift engine (src/drift.c): 1 if it is the grid engine and
 * it refused such a state; `ode` then redoes the run with the Sobol' rules
 * (cubic sigma: the quad rule) when the grid was not asked for (docs/grid.md s.6). */
struct cl_drift;
/* a fragment of both refusals' messages (cl_drift_grid_refused) */
#define CL_GRID_REFUSAL "grid nodes per direction, more than the"
int cl_drift_grid_unresolved(const struct cl_drift *d);
/* `ode` at M = 3 and 4 under --expect auto (q->expect CL_EXPECT_QMC, no
 * --qmc-points): q->expect = CL_EXPECT_GRID where the grid applies and the
 * closed forms do not, returning 1 (docs/grid.md s.14, s.15).  cl_ode_solve
 * only: fixed and basin keep the Sobol' rules at M = 3 and 4 (the grid made
 * them unusably slow there: docs/grid.md s.14). */
int cl_drift_ode_grid(const cl_model *m, cl_quad_opts *q);
/* The bound on the rounding of the fine level's last drift (linear and
 * cubic sigma, round_bound; 0 for other sigma, and for other engines):
 * what the difference of the grid's two exact levels does not see
 * (docs/fixed-points.md s.2, "The deterministic rules' own error") */
double cl_grid_round(const cl_grid *g);
/* cl_grid_round per component of the drift: dR (K x 2), dQ (2 x 2) */
void cl_grid_round_comp(const cl_grid *g, double *dR, double *dQ);
double cl_drift_grid_round(const struct cl_drift *d);
/* cl_drift_grid_round per component of the drift (dR, dQ), 0 where not the grid */
void cl_drift_grid_round_comp(const struct cl_drift *d, double *dR, double *dQ);
/* 1 for the closed forms (erf with Gaussian laws, drift_erf.c): one copy,
 * whose trajectory bound is the integrator's part and the drift error bound
 * integrated over the table (cl_ode_solve, docs/closed-forms.md s.7) */
int cl_drift_closed(const struct cl_drift *d);
/* 1 for the Sobol' rules over the whole batch (g abs, B > 1, lambda != 0,
 * docs/multi.md s.3): each rule's drift jumps where a point's correlation
 * C_il (batch mean, or one sample's) changes sign with g abs, so the
 * integrator's tolerances are floored (cl_ode_solve) */
int cl_drift_kinked(const struct cl_drift *d);
/* rep in [0, cl_drift_nrep): cl_drift_eval (and so cl_ode_jacobian) then
 * evaluates that rule (or level) alone, as cl_drift_eval_rep; -1: the
 * drift again.  For the spread of the rules' Jacobians where the fixed
 * points take the fallback engine's (docs/fixed-points.md s.2). */
void cl_drift_pin_rep(struct cl_drift *d, int rep);
/* M = 1 quadrature (not the closed forms): into *out a coarse copy of d,
 * every rule with 3/4 of its nodes (fewer error exponents for the
 * characteristic functions), whose distance to d bounds d's
 * error (cl_ode_solve integrates it as a second level;
 * docs/m1-many-features.md s.7).  *out = NULL for the other engines. */
cl_status cl_drift_m1_coarse(const struct cl_drift *d, struct cl_drift **out, char *err);
/* The factor on the distance of d and its coarse level that makes the
 * printed bound: 1 for M = 1, CL_TENSOR4_SAFE for the M = 2 tensor rule
 * (docs/multi.md s.6). */
double cl_drift_level_factor(const struct cl_drift *d);
/* Where an M = 1 quadrature has no coarse level for want of a bound (the
 * tensor rules with a student law), the reason for the method line; else
 * NULL. */
const char *cl_drift_m1_unbounded(const struct cl_drift *d);
/* The same with every rule at f times its nodes and the characteristic
 * functions' error exponents (w cut, x step, range) at fe[0..2] times
 * theirs (f > 1: the tests' references). */
cl_status cl_drift_m1_level(const struct cl_drift *d, double f, const double fe[3], struct cl_drift **out,
                            char *err);
/* The M = 2 tensor rule (expect tensor): n4 nodes per direction of its
 * trapezoid over 3 or 4 active directions (n4 < 0: a -n4-point
 * Gauss-Hermite rule, the rule of before; bench/tensorscan), n2 of the
 * trapezoid over at most 2 (0: kept).  CL_EINVAL for the other engines. */
cl_status cl_drift_tensor4_rule(struct cl_drift *d, int n4, int n2, char *err);
const char *cl_grid_method(const cl_grid *g);
/* M = 3 (the tests): the weights of level lev (0 coarse, 1 fine) at (R, Q)
 * on its 3-d grid of n[3] nodes, steps h[3] in the standardised u
 * (u_i = (j_i - n_i / 2) h_i, X_i = dX_i u_i): *W points to nw = K + 4
 * arrays of n0 n1 n2 values (row-major), W_0, W_cj (j < K), W_xir (the
 * standardised xi_r = xi_r / dX_r), each times the cell volume
 * (docs/grid.md s.14).  Valid until the next evaluation. */
cl_status cl_grid3_weights(cl_grid *g, int lev, const double *R, const double *Q, int *n, double *h, double *dX,
                           const double **W, char *err);
/* The nodes per direction of the last level evaluated. */
void cl_grid_sizes(const cl_grid *g, int *n0, int *n1);
/* The nodes per direction (M of them) of level lev's last evaluation. */
void cl_grid_level_sizes(const cl_grid *g, int lev, int *n);

/* M = 4 (docs/grid.md s.15): the terms of the drift that name all four
 * units.  With B = 1 and g = square these are the lambda^2 products of V_il
 * (i != l) whose other two factors are the units not in {i, l}; every other
 * term of the M = 4 drift names at most three units and comes from the
 * M = 3 and M = 2 engines on the sub-models (inclusion-exclusion,
 * drift_grid4.c).  dQ4 gets, for the level lev (0 coarse, 1 fine), the part
 * of dQ (M x M, row-major, symmetric, 0 on the diagonal) made of those
 * terms, with every factor (tau^2 / B, lambda^2, the views' weights)
 * included, so that it is added to the rest of dQ as it is. */
typedef struct cl_grid4q cl_grid4q;
cl_status cl_grid4q_alloc(const cl_model *m, const cl_quad_opts *o, cl_grid4q **out, char *err);
/* The four-unit terms' levels (coarse, fine) of cl_grid4q_alloc: their own
 * aliasing, tail exponents, inner rules and caps (lower exponents where
 * the views have their own noise, (1 - rho) s^2 > 0), every size scaled by
 * x = o->grid_nodes / 24 as cl_grid_default_levels'; cl_grid4q_alloc_levels
 * takes explicit ones (bench/lev4.c `q4`, the tests' references). */
void cl_grid4q_levels(const cl_model *m, const cl_quad_opts *o, cl_grid_level lp[2]);
cl_status cl_grid4q_alloc_levels(const cl_model *m, const cl_grid_level lp[2], cl_grid4q **out, char *err);
void cl_grid4q_free(cl_grid4q *q);
/* 1 where a level of q has refused a state (its cap: cl_grid_unresolved's
 * part for the M = 4 engine, whose `ode --expect auto` reruns then). */
int cl_grid4q_unresolved(const cl_grid4q *q);
cl_status cl_grid4q_eval_level(cl_grid4q *q, int lev, const double *R, const double *Q, double *dQ4, char *err);
/* The nodes per direction (4) of level lev's last evaluation (bench/grid4q.c). */
void cl_grid4q_sizes(const cl_grid4q *q, int lev, int *n);

#endif
