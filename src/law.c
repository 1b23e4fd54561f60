/* Laws of the hidden variables c_j (docs/model.md s.1): parsing, exact
 * moments and sampling.  Continuous laws with a GSL sampler (Student t,
 * Laplace, flat) use GSL through a gsl_rng adapter over our stream. */
#include "cldyn/law.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const law_names[] = {"gauss",  "rademacher", "uniform", "laplace",
                                        "sparse", "student",    "discrete"};

const char *cl_law_name(cl_law_kind kind) { return law_names[kind]; }

#define RANGE_MSG                                                                      \
  "accepted: gauss|rademacher|uniform|laplace[:M2], sparse[:M2[:P]], "                 \
  "student[:M2[:NU]], discrete:V1@P1,V2@P2,..."

static cl_status parse_discrete(const char *list, cl_law *law, char *err) {
  char buf[2048];
  if (strlen(list) >= sizeof buf)
    return cl_fail(err, CL_EINVAL, "c: discrete list too long");
  strcpy(buf, list);
  law->nvals = 0;
  char *save = NULL;
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    char *at = strchr(tok, '@');
    if (!at)
      return cl_fail(err, CL_EINVAL, "c: discrete atom '%s' is not VALUE@PROB", tok);
    *at = '\0';
    if (law->nvals == CL_DISCRETE_MAX)
      return cl_fail(err, CL_EINVAL, "c: at most %d discrete atoms", CL_DISCRETE_MAX);
    double v, p;
    if (!cl_common_parse_real(tok, &v) || !cl_common_parse_real(at + 1, &p))
      return cl_fail(err, CL_EINVAL, "c: malformed number in discrete atom '%s@%s'", tok,
                     at + 1);
    law->vals[law->nvals] = v;
    law->probs[law->nvals] = p;
    law->nvals++;
  }
  if (law->nvals == 0)
    return cl_fail(err, CL_EINVAL, "c: discrete law needs at least one atom V@P");
  double m2 = 0;
  for (int i = 0; i < law->nvals; i++) m2 += law->probs[i] * law->vals[i] * law->vals[i];
  law->m2 = m2;
  return CL_OK;
}

cl_status cl_law_parse(const char *spec, cl_law *law, char *err) {
  memset(law, 0, sizeof *law);
  law->m2 = 1.0;
  law->p = 0.1;
  law->nu = 10.0;
  const char *colon = strchr(spec, ':');
  size_t nlen = colon ? (size_t)(colon - spec) : strlen(spec);
  int kind = -1;
  for (int k = 0; k < 7; k++)
    if (strlen(law_names[k]) == nlen && strncmp(spec, law_names[k], nlen) == 0) kind = k;
  if (kind < 0)
    return cl_fail(err, CL_EINVAL, "c: unknown law '%.*s'; " RANGE_MSG, (int)nlen, spec);
  law->kind = (cl_law_kind)kind;
  if (law->kind == CL_LAW_DISCRETE) {
    if (!colon) return cl_fail(err, CL_EINVAL, "c: discrete needs values; " RANGE_MSG);
    cl_status st = parse_discrete(colon + 1, law, err);
    return st ? st : cl_law_check(law, err);
  }
  if (colon) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", colon + 1);
    char *second = strchr(buf, ':');
    if (second) *second++ = '\0';
    if (!cl_common_parse_real(buf, &law->m2))
      return cl_fail(err, CL_EINVAL, "c: malformed second moment '%s' in '%s'", buf, spec);
    if (second) {
      double v;
      if (law->kind != CL_LAW_SPARSE && law->kind != CL_LAW_STUDENT)
        return cl_fail(err, CL_EINVAL, "c: law '%s' takes only M2; " RANGE_MSG,
                       law_names[kind]);
      if (strchr(second, ':') || !cl_common_parse_real(second, &v))
        return cl_fail(err, CL_EINVAL, "c: malformed parameter '%s' in '%s'", second, spec);
      if (law->kind == CL_LAW_SPARSE) law->p = v;
      else law->nu = v;
    }
  }
  return cl_law_check(law, err);
}

/* the largest student NU accepted (docs/cli.md) */
#define STUDENT_NU_MAX 200.0

cl_status cl_law_check(const cl_law *law, char *err) {
  if (law->kind == CL_LAW_DISCRETE) {
    double sum = 0, mean = 0, scale = 0;
    for (int i = 0; i < law->nvals; i++) {
      if (!(law->probs[i] >= 0 && law->probs[i] <= 1))
        return cl_fail(err, CL_EINVAL, "c: discrete probability %g outside [0, 1]",
                       law->probs[i]);
      sum += law->probs[i];
      mean += law->probs[i] * law->vals[i];
      scale += law->probs[i] * fabs(law->vals[i]);
    }
    if (fabs(sum - 1) > 1e-9)
      return cl_fail(err, CL_EINVAL,
                     "c: discrete probabilities sum to %.12g; they must sum to 1 (within 1e-9)",
                     sum);
    if (fabs(mean) > 1e-9 * (scale > 0 ? scale : 1))
      return cl_fail(err, CL_EINVAL, "c: discrete law has mean %g; it must have mean 0", mean);
  }
  if (!(law->m2 > 0) || !isfinite(law->m2))
    return cl_fail(err, CL_EINVAL, "c: second moment must be > 0 (got %g)", law->m2);
  if (law->kind == CL_LAW_SPARSE && !(law->p > 0 && law->p <= 1))
    return cl_fail(err, CL_EINVAL, "c: sparse density P must be in (0, 1] (got %g)", law->p);
  if (law->kind == CL_LAW_STUDENT && !(law->nu > 4 && isfinite(law->nu)))
    return cl_fail(err, CL_EINVAL,
                   "c: student NU must be > 4 so that the fourth moment exists (got %g)",
                   law->nu);
  /* above this nu the engines' rules for the power tail break down silently
   * (measured, docs/cli.md: the M = 1 characteristic function overflows from
   * about nu = 300, the quad rule's scale mixture from about 400); the law is
   * then within O(1/nu) of a gauss law of the same variance */
  if (law->kind == CL_LAW_STUDENT && law->nu > STUDENT_NU_MAX)
    return cl_fail(err, CL_EINVAL,
                   "c: student:%g:%g has NU above %g, where the drift engines lose its tail; use gauss:%g "
                   "(the same variance, within O(1/NU))",
                   law->m2, law->nu, STUDENT_NU_MAX, law->m2);
  return CL_OK;
}

void cl_law_format(const cl_law *law, char *buf, size_t len) {
  char a[32], b[32];
  switch (law->kind) {
  case CL_LAW_SPARSE:
    snprintf(buf, len, "sparse:%s:%s", cl_common_format_real(a, 32, law->m2), cl_common_format_real(b, 32, law->p));
    break;
  case CL_LAW_STUDENT:
    snprintf(buf, len, "student:%s:%s", cl_common_format_real(a, 32, law->m2), cl_common_format_real(b, 32, law->nu));
    break;
  case CL_LAW_DISCRETE: {
    size_t off = (size_t)snprintf(buf, len, "discrete:");
    for (int i = 0; i < law->nvals && off < len; i++)
      off += (size_t)snprintf(buf + off, len - off, "%s%s@%s", i ? "," : "",
                              cl_common_format_real(a, 32, law->vals[i]), cl_common_format_real(b, 32, law->probs[i]));
    break;
  }
  default: snprintf(buf, len, "%s:%s", law_names[law->kind], cl_common_format_real(a, 32, law->m2));
  }
}

double cl_law_m2(const cl_law *law) { return law->m2; }

double cl_law_kurtosis(const cl_law *law) {
  switch (law->kind) {
  case CL_LAW_GAUSS: return 3.0;
  case CL_LAW_RADEMACHER: return 1.0;
  case CL_LAW_UNIFORM: return 9.0 / 5.0;
  case CL_LAW_LAPLACE: return 6.0;
  case CL_LAW_SPARSE: return 1.0 / law->p;
  case CL_LAW_STUDENT: return 3.0 + 6.0 / (law->nu - 4.0);
  case CL_LAW_DISCRETE: return cl_law_m4(law) / (law->m2 * law->m2);
  }
  return NAN;
}

double cl_law_m4(const cl_law *law) {
  if (law->kind == CL_LAW_DISCRETE) {
    double m4 = 0;
    for (int i = 0; i < law->nvals; i++) {
      double v2 = law->vals[i] * law->vals[i];
      m4 += law->probs[i] * v2 * v2;
    }
    return m4;
  }
  return cl_law_kurtosis(law) * law->m2 * law->m2;
}

/* gsl_rng adapter: lets GSL's samplers draw from a cl_rng stream. */
static void adapter_set(void *state, unsigned long seed) {
  (void)state;
  (void)seed;
}
static unsigned long adapter_get(void *state) {
  return (unsigned long)(cl_rng_u64((cl_rng *)state) >> 32);
}
static double adapter_get_double(void *state) { return cl_rng_uniform((cl_rng *)state); }
static const gsl_rng_type adapter_type = {"cldyn", 0xffffffffUL, 0, 0, adapter_set,
                                          adapter_get, adapter_get_double};

double cl_law_sample(const cl_law *law, cl_rng *rng) {
  gsl_rng g = {&adapter_type, rng};
  double sd = sqrt(law->m2);
  switch (law->kind) {
  case CL_LAW_GAUSS: return sd * cl_rng_gauss(rng);
  case CL_LAW_RADEMACHER: return (cl_rng_u64(rng) >> 63) ? sd : -sd;
  case CL_LAW_UNIFORM: return gsl_ran_flat(&g, -sqrt(3.0) * sd, sqrt(3.0) * sd);
  case CL_LAW_LAPLACE: return gsl_ran_laplace(&g, sd / sqrt(2.0));
  case CL_LAW_SPARSE: {
    double u = cl_rng_uniform(rng);
    if (u >= law->p) return 0.0;
    /* reuse the position of u inside [0, p) for the sign */
    double amp = sd / sqrt(law->p);
    return (u < 0.5 * law->p) ? amp : -amp;
  }
  case CL_LAW_STUDENT:
    return sd * sqrt((law->nu - 2.0) / law->nu) * gsl_ran_tdist(&g, law->nu);
  case CL_LAW_DISCRETE: {
    double u = cl_rng_uniform(rng), acc = 0;
    for (int i = 0; i < law->nvals - 1; i++) {
      acc += law->probs[i];
      if (u < acc) return law->vals[i];
    }
    return law->vals[law->nvals - 1];
  }
  }
  return NAN;
}

double cl_law_sample_chisq(cl_rng *rng, double nu) {
  gsl_rng g = {&adapter_type, rng};
  return gsl_ran_chisq(&g, nu);
}
