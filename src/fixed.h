/* fixed.h (internal, beside the public cldyn/fixed.h) - the classification of a fixed point where
 * the default M = 2 grid refuses its Jacobian's difference points
 * (docs/fixed-points.md s.2), for the finder, the threshold's continuation
 * and the tests. */
#ifndef CLDYN_SRC_FIXED_H
#define CLDYN_SRC_FIXED_H

#include "cldyn/fixed.h"

/* cl_fixed_classify by d (model m, engine options o); where d is the grid
 * chosen by default and refuses a difference point, the Jacobian (its
 * eigenvalues and jac_error, which then includes that engine's error) is
 * that of cl_drift_fallback's engine, allocated into *fb at its first use
 * (the caller frees it), and p->jac_fallback = 1.  Where no engine gives
 * it (the grid asked for, a corner of the domain) p is marked unknown (NaN
 * eigenvalues and jac_error, CL_UNKNOWN) and CL_EDIVERGE returned with the
 * reason. */
cl_status cl_fixed_classify_fb(cl_drift *d, const cl_model *m, const cl_quad_opts *o, cl_drift **fb, int K, int M,
                               cl_fixed_point *p, char *err);

/* cl_fixed_classify without the engine's own error (rules_error in
 * fixed.c: the Sobol' rules' spread, the deterministic rules' coarse
 * levels): each eigenvalue's error is that of the Jacobian of d's drift
 * (the rules' mean, the fine level), not against the exact ODE.  For the tests of the
 * steps' and the extrapolation's parts (docs/fixed-points.md s.2). */
cl_status cl_fixed_classify_drift(cl_drift *d, int K, int M, cl_fixed_point *p, char *err);

/* The search of cl_fixed_find_ex on the collapse sets alone (M >= 2;
 * docs/fixed-points.md s.2, "Fixed points on the collapse set"): their
 * standard starts and the extra states (projected onto the set of their
 * most nearly collinear units), no flows, no search off the sets; the
 * points of kind collapsed, with their orbits.  For the tests, the
 * measurements and the threshold's choice of a collapsed point. */
cl_status cl_fixed_find_collapsed(const cl_model *m, const cl_quad_opts *o, const double *extra, int nextra,
                                  cl_fixed_point **out, int *nout, cl_fixed_info *info, char *err);

#endif
