/* The brute-force reference of the drift shared by the test suites
 * (tests/test_multi.c, tests/test_closed.c): a Monte Carlo over whole
 * batches through cl_data_batch_loss, the noise along the features drawn
 * explicitly (no Stein lemma).  Per sample: c from the laws; zt ~ N(0, A)
 * with A = Q - R^T R; the noise of view a along the features xi_a (K
 * normals) and the rest eta_a (M normals): e_a = s (R^T xi_a + A^(1/2)
 * eta_a), so that Cov(e_a, xi_a) = s R^T and Cov(e_a) = s^2 Q; view 2's
 * normals have correlation rho with view 1's. */
#ifndef CLDYN_TESTS_MC_REF_H
#define CLDYN_TESTS_MC_REF_H

#include <stdint.h>

#include "cldyn/cldyn.h"

/* The raw terms of one batch, raw = [a (K x M), P (M x M), V (M x M)]:
 *   a_ji = sum_b (D1_ib + D2_ib) c_bj + s (D1_ib xi1_bj + D2_ib xi2_bj),
 *   P_il = sum_b D1_lb h1_ib + D2_lb h2_ib + (i <-> l),
 *   V_il = sum_b (D1_ib + D2_ib)(D1_lb + D2_lb)
 *          + s^2 (D1_ib D1_lb + D2_ib D2_lb + rho (D1_ib D2_lb + D2_ib D1_lb)),
 * mapped by `map` to nout values per batch (NULL: raw itself, nout = K M +
 * 2 M^2); mean and standard error of those over nb batches drawn from the
 * random stream (seed, stream). */
typedef void (*mc_ref_map)(const cl_model *m, const double *R, const double *Q, const double *raw,
                           double *out);
void mc_ref_batches(const cl_model *m, const double *R, const double *Q, long nb, uint64_t seed,
                    uint64_t stream, int nout, mc_ref_map map, double *mean, double *se);

/* The per-batch drift from the raw terms (a map for mc_ref_batches, nout =
 * K M + M M): dR = tau (a - beta R), dQ = tau P - 2 tau beta Q + tau^2 V. */
void mc_ref_drift(const cl_model *m, const double *R, const double *Q, const double *raw, double *out);

#endif
