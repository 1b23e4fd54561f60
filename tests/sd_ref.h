/* sd_ref.h - brute-force dQ/dt at R = 0 that resolves sigma' at any
 * pre-activation sd (docs/hardening.md s.15). */
#ifndef CLDYN_TESTS_SD_REF_H
#define CLDYN_TESTS_SD_REF_H
#include "cldyn/model.h"
/* dQ/dt of docs/model.md s.6 at R = 0, Q = q (M = 1), and for M >= 2 at
 * R = 0, Q = q I every unit's dQ_ii/dt (with lambda != 0: B = 1, g =
 * square, the units' pairs of views being independent there): composite
 * 10-point Gauss-Legendre panels in h1 and in h2 given h1, of width 0.25 in
 * h where |h| < 30 and 0.25 sd beyond, over 12 sd either side. */
double sd_ref_dq(const cl_model *m, double q);
#endif
