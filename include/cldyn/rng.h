/* cldyn/rng.h - seeded random streams: one independent stream per run.
 *
 * Design: xoshiro256+ run in CL_RNG_LANES interleaved lanes so that bulk
 * Gaussian generation vectorises, plus one scalar lane for slow paths and
 * scalar draws.  Every stream is a pure function of (seed, stream), so run r
 * of seed s gives the same numbers whatever the number of runs or threads.
 * The scalar lane is xoshiro256++ (all 64 output bits are good); the vector
 * lanes are only used through cl_rng_gauss_fill.  Details, the exactness
 * argument and benchmark figures: src/rng.c.
 */
#ifndef CLDYN_RNG_H
#define CLDYN_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "cldyn/common.h"
#pragma GCC visibility push(default) /* the public API: see README "Library" */

#ifdef __cplusplus
extern "C" {
#endif

#define CL_RNG_LANES 8

typedef struct cl_rng cl_rng;

/* Allocate the stream `stream` of seed `seed` into *out (NULL on failure:
 * CL_ENOMEM). */
cl_status cl_rng_alloc(uint64_t seed, uint64_t stream, cl_rng **out, char *err);
void cl_rng_free(cl_rng *rng);
/* Copy the full state of src into dst (both allocated). */
void cl_rng_copy(cl_rng *dst, const cl_rng *src);
/* Size in bytes of the serialisable state, and (de)serialisation of it.
 * Format: 4 * CL_RNG_LANES + 4 little-endian uint64 words: the vector lanes
 * s[0][0..LANES), ..., s[3][0..LANES), then the scalar lane t[0..4).  A
 * generator restored with cl_rng_set_state continues bit-identically. */
size_t cl_rng_state_size(void);
void cl_rng_get_state(const cl_rng *rng, void *buf);
void cl_rng_set_state(cl_rng *rng, const void *buf);

/* Scalar draws (scalar lane). */
uint64_t cl_rng_u64(cl_rng *rng);
double cl_rng_uniform(cl_rng *rng);     /* in [0, 1), 53 random bits */
double cl_rng_uniform_pos(cl_rng *rng); /* in (0, 1) */
double cl_rng_gauss(cl_rng *rng);       /* standard normal */

/* Fill out[0..n) with i.i.d. standard normals (vectorised ziggurat).
 * n = 0 is a no-op.  From a given state, the first m values do not depend
 * on n >= m, and the values do not depend on the CPU's vector extensions
 * (the environment variable CLDYN_RNG_ISA=default|avx2|avx512f, read by
 * cl_rng_alloc, caps the code path; for testing). */
void cl_rng_gauss_fill(cl_rng *rng, double *out, size_t n);

#ifdef __cplusplus
}
#endif

#pragma GCC visibility pop
#endif
