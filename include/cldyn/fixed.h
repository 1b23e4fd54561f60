/* cldyn/fixed.h - fixed points of the order-parameter ODEs (L2) for any M
 * and K, complete up to the model's symmetries (each with its orbit), their
 * Jacobians, eigenvalues, stability and kind; the learnability threshold of
 * the uninformative state and the critical value of any parameter where a
 * chosen fixed point changes stability (docs/theory.md s.7,
 * docs/fixed-points.md).
 *
 * The state vector is y = (R row-major K x M, upper triangle of Q), as in
 * ode.h; n = K M + M (M + 1) / 2. */
#ifndef CLDYN_FIXED_H
#define CLDYN_FIXED_H

#include <stdio.h>

#include "cldyn/drift.h"
#include "cldyn/ode.h"
#include "cldyn/symmetry.h"
#pragma GCC visibility push(default) /* the public API: see README "Library" */

/* CL_UNKNOWN: no engine gave the Jacobian (eigenvalues NaN; docs/fixed-points.md s.2) */
typedef enum { CL_STABLE, CL_SADDLE, CL_UNSTABLE, CL_MARGINAL, CL_UNKNOWN } cl_stability;

typedef struct {
  int n;
  double y[CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX];
  double eig_re[CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX];
  double eig_im[CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX];
  double residual;  /* max |dy/dt| at the point */
  double jac_error; /* the largest of eig_error: a bound on every eigenvalue's error */
  cl_stability stability;
  int orbit;        /* 1, 2, ...: the same for the images of one point */
  int kind;         /* cl_fixed_kind */
  int via;          /* how its orbit was found: 0 Newton from a start, 1 the end of a
                       flow (the ODE from a start) polished by Newton, 2 Newton on the
                       collapse sets (units equal up to sign in groups, M >= 2) */
  int jac_fallback; /* 1: the Jacobian (eigenvalues, jac_error) is cl_drift_fallback's engine's,
                       the default M = 2 grid having refused its difference points */
  int collapse;     /* kind collapsed: +1 when every unit that collapses equals the first unit of
                       its group (M = 2: w_2 = w_1), -1 when some unit is minus it (w_2 = -w_1);
                       0 otherwise.  Its eigenvalues are then, in this order, those within the
                       collapse set (M = 2: K + 1; M >= 3 with G groups and D = M - G units beyond
                       the groups' first: the size of a G-unit state), across it along the
                       features and the groups' first units (K + 1; D (K + G)), and the growth
                       rates of the differences' bulk parts (1; D (D + 1) / 2)
                       (docs/fixed-points.md s.2, "Fixed points on the collapse set") */
  double eig_error[CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX]; /* the estimated error of each eigenvalue
                       (eig_re + i eig_im, same order): its move between the Jacobian and each check
                       of it (steps, extrapolation levels, the engine's levels or rules), matched
                       eigenvalue by eigenvalue, and the engine's own error against the exact ODE
                       (the Sobol' rules: each rule's spectrum at its own root; the deterministic
                       rules, the M = 1 quadrature, the M = 2 grid and the quad rule: the coarse
                       level's at its own root); stability calls an eigenvalue decided beyond 10
                       times its own error, the engine's own part counted once (docs/fixed-points.md
                       s.2, "Each eigenvalue's error", "The Sobol' rules' own error", "The
                       deterministic rules' own error").  The CSV's eig_err_k */
} cl_fixed_point;

/* What the units do at a state (docs/fixed-points.md s.3):
 * uninformative  every unit alive with R = 0;
 * specialised    every unit on one feature, distinct features;
 * shared         every unit on one feature, some feature shared;
 * rotated        M >= 2 units spanning >= 2 features with mixed columns
 *                (an orthogonal frame rotated away from the feature axes);
 * mixed          a unit on several features (otherwise);
 * partial        some units alive with R = 0, others on features;
 * dead           some unit with Q_ii = 0 (w_i = 0);
 * collapsed      units equal up to sign in groups (M = 2: w_2 = +-w_1) exactly, classified
 *                across the collapse set: set by the
 *                finder only (cl_fixed_point.collapse); cl_fixed_kind_of never returns it,
 *                and it is no outcome of basin (CL_NKINDS counts those). */
typedef enum {
  CL_KIND_UNINFORMATIVE,
  CL_KIND_SPECIALISED,
  CL_KIND_SHARED,
  CL_KIND_ROTATED,
  CL_KIND_MIXED,
  CL_KIND_PARTIAL,
  CL_KIND_DEAD,
  CL_KIND_COLLAPSED
} cl_fixed_kind;
#define CL_NKINDS 7        /* the kinds cl_fixed_kind_of and basin's outcomes use */
#define CL_NFIXED_KINDS 8  /* and collapsed */

const char *cl_stability_name(cl_stability s);
const char *cl_fixed_kind_name(int kind);
/* -1 if unknown */
int cl_fixed_kind_from_name(const char *name);
int cl_fixed_kind_of(int K, int M, const double *y);

typedef struct {
  int nrandom;   /* seeded random starts; < 0: 12 K M for M = 1, 4 K M for M >= 2 */
  int deflation; /* deflated retries from each start (Farrell et al. 2015): 1, 0, or -1
                    (default) for M >= 2 only */
  int orbit_cap; /* most images listed per orbit; 0: 1024 */
  cl_progress_fn progress; /* fraction of the starts solved; NULL for none */
  void *progress_ctx;
  long max_evals; /* budget of drift evaluations: no new start once spent; 0: CL_FIXED_EVALS,
                     < 0: none (docs/hardening.md s.11) */
  int flows;      /* starts integrated by the ODE before the Newton search, their settled ends
                     polished (the uninformative start, the first three seeded random ones,
                     then seeded escape starts Q = I, R = 0.05 x Gaussian); < 0 (default):
                     4 + 8 K M for M >= 2, 0 for M = 1 (docs/fixed-points.md s.2) */
  int no_collapse;  /* 1: without the search on the collapse sets (M >= 2; docs/fixed-points.md
                       s.2, "Fixed points on the collapse set"); 0 (default): with it */
  /* the phase that progress's fractions are of from now on ("flows", "Newton starts",
     "collapse sets"), called with progress_ctx before the phase's first fraction;
     NULL (default): progress alone, its fraction that of the Newton starts */
  cl_phase_fn phase;
} cl_fixed_opts;
#define CL_FIXED_EVALS 20000

typedef struct {
  int starts;           /* starting points used */
  int newton_runs;      /* Newton solves (a start is retried after each new root) */
  int orbits, points;   /* distinct orbits, and points listed (all images) */
  int truncated;        /* orbits cut at orbit_cap images */
  double max_residual;  /* over every listed point */
  long drift_evals;     /* drift evaluations spent */
  int skipped;          /* starts (and flows) left untried when the budget ran out */
  int flows;            /* flows integrated */
  int flow_orbits;      /* orbits found by a flow (cl_fixed_point.via = 1) */
  int jac_fallback;     /* orbits whose Jacobian is the fallback engine's (cl_fixed_point.jac_fallback) */
  int unknown;          /* orbits whose stability is CL_UNKNOWN */
  char symmetries[256]; /* the symmetry group used */
  int flow_collapses;   /* flows stopped where two units collapse, w_i -> +-w_l (their ends not polished);
                           last, so that the fields before keep their offsets */
  /* the search on the collapse sets (M >= 2; docs/fixed-points.md s.2): */
  int collapse_starts;    /* Newton starts on the set (-1: not searched, the engine refuses the set) */
  int collapsed;          /* orbits listed with kind collapsed */
  int collapse_rejected;  /* roots on the set not listed: the bulk rate d q_perp/dt / q_perp has no limit */
  long collapse_evals;    /* drift evaluations spent there (included in drift_evals) */
} cl_fixed_info;

void cl_fixed_opts_default(cl_fixed_opts *fo);

/* All fixed points found by deflated multi-start Newton (GSL hybrids), with
 * the orbit of each under the model's symmetries: starts at the
 * uninformative state, along each feature axis, on each assignment of units
 * to distinct features, all units on one feature, rotated frames, with dead
 * units (Q_ii = 0, solved on the boundary with those units pinned), seeded
 * random states and the optional extra starts (nextra rows of
 * cl_state_size); before them, the ODE from fo->flows starts (see
 * cl_fixed_opts) until it settles, its end polished by Newton: the stable
 * states the dynamics reaches from starts like training's, including next
 * to the domain's boundary, where Newton from the starts may fail.  Roots
 * outside the physical domain are dropped; every listed image is checked
 * by its own residual.  Sorted by orbit (stable
 * first), images of one orbit together.  *out is malloc'ed; free it.
 * fo and info may be NULL. */
cl_status cl_fixed_find_ex(const cl_model *m, const cl_quad_opts *o, const cl_fixed_opts *fo,
                           const double *extra, int nextra, cl_fixed_point **out, int *nout,
                           cl_fixed_info *info, char *err);
cl_status cl_fixed_find(const cl_model *m, const cl_quad_opts *o, const double *extra, int nextra,
                        cl_fixed_point **out, int *nout, char *err);

/* Jacobian, eigenvalues with their errors (eig_error, jac_error the
 * largest), stability, residual and kind of p->y (p->n set).  Dead units
 * (Q_ii = 0) are differentiated at Q_ii = delta, 2 delta, 4 delta and
 * extrapolated to 0, their rows set to 0 in the live units' columns.  The finder and the threshold's continuation go
 * further where the default M = 2 grid refuses the Jacobian's difference
 * points: the Jacobian of cl_drift_fallback's engine, else stability
 * CL_UNKNOWN (docs/fixed-points.md s.2). */
cl_status cl_fixed_classify(cl_drift *d, int K, int M, cl_fixed_point *p, char *err);

/* The critical value of a parameter where a chosen fixed point changes
 * stability: the point is selected at the first grid value (by id, 1-based,
 * or by kind; a collapsed one is continued on its collapse set, its image
 * with every sign + taken), continued by Newton along the grid a, a + h, ..., b, and each
 * sign change of its largest real eigenvalue (or disappearance) is located
 * by Brent's method.  `set` applies a value of the parameter to a copy of
 * the model (CL_EINVAL with a message if the value is out of range). */
typedef cl_status (*cl_param_setter)(void *ctx, double v, cl_model *m, char *err);
typedef struct {
  double value;      /* critical value */
  int event;         /* 0: stability change, 1: Newton loses the point beyond (a fold, or a
                        point on the domain boundary the continuation cannot follow) */
  cl_stability before, after;
  cl_fixed_point at; /* the point at the critical value */
} cl_threshold;
cl_status cl_fixed_threshold(const cl_model *m, const cl_quad_opts *o, cl_param_setter set, void *ctx,
                             double a, double b, double h, int sel_id, int sel_kind,
                             cl_threshold *out, int cap, int *nout, char *err);

/* The uninformative state R = 0: Q* with dQ/dt = 0 (Brent), and for feature
 * j the critical second moment m2 at which the eigenvalue of the Jacobian
 * along R_j crosses 0 (Brent on m2, the eigenvalue from cl_ode_jacobian). */
cl_status cl_fixed_uninformative_Q(const cl_model *m, const cl_quad_opts *o, double *Qstar, char *err);
cl_status cl_fixed_critical_m2(const cl_model *m, const cl_quad_opts *o, int j, double *m2c, char *err);

/* CSV: [vary,]id, the R/Q/cos columns of traj.h, eig_re_k, eig_im_k,
 * eig_err_k (eig_error[k]) for each eigenvalue, stability, then orbit,
 * kind, residual. */
void cl_fixed_write_header(FILE *f, int K, int M, const char *vary);
/* CL_EIO on a write error. */
cl_status cl_fixed_write_rows(FILE *f, int K, int M, const cl_fixed_point *p, int np, const char *vary_value);

#pragma GCC visibility pop
#endif
