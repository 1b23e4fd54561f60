/* cldyn/law.h - laws of one hidden variable c_j (docs/model.md s.1).
 *
 * Every law has zero mean and is scaled to a given second moment m2 = <c^2>,
 * except `discrete`, whose values are given explicitly (it must have zero
 * mean).  Exact moments are available for every law, and a sampler.
 */
#ifndef CLDYN_LAW_H
#define CLDYN_LAW_H

#include "cldyn/common.h"
#include "cldyn/rng.h"
#pragma GCC visibility push(default) /* the public API: see README "Library" */

#define CL_DISCRETE_MAX 32

typedef enum {
  CL_LAW_GAUSS,
  CL_LAW_RADEMACHER,
  CL_LAW_UNIFORM,
  CL_LAW_LAPLACE,
  CL_LAW_SPARSE,
  CL_LAW_STUDENT,
  CL_LAW_DISCRETE
} cl_law_kind;

typedef struct {
  cl_law_kind kind;
  double m2; /* second moment (for discrete: computed from the values) */
  double p;  /* sparse: density in (0, 1] */
  double nu; /* student: degrees of freedom, > 4 */
  int nvals; /* discrete: number of atoms */
  double vals[CL_DISCRETE_MAX];
  double probs[CL_DISCRETE_MAX];
} cl_law;

/* Parse `NAME[:M2[:P]]` or `discrete:V1@P1,V2@P2,...` (see docs/cli.md s.2).
 * Defaults: M2 = 1, sparse P = 0.1, student NU = 10. Validates the result. */
cl_status cl_law_parse(const char *spec, cl_law *law, char *err);
/* Check ranges: m2 > 0, 0 < p <= 1, nu > 4, discrete probabilities >= 0
 * summing to 1 and zero mean. */
cl_status cl_law_check(const cl_law *law, char *err);
/* Write the canonical spec of the law (parseable by cl_law_parse). */
void cl_law_format(const cl_law *law, char *buf, size_t len);
const char *cl_law_name(cl_law_kind kind);

double cl_law_m2(const cl_law *law);       /* E[c^2] */
double cl_law_m4(const cl_law *law);       /* E[c^4] */
double cl_law_kurtosis(const cl_law *law); /* E[c^4] / E[c^2]^2 */

/* One draw from the law, using the stream `rng`. */
double cl_law_sample(const cl_law *law, cl_rng *rng);

/* A chi-square draw with nu degrees of freedom (GSL's sampler over `rng`). */
double cl_law_sample_chisq(cl_rng *rng, double nu);

#pragma GCC visibility pop
#endif
