/* cldyn/act.h - the pointwise functions of the model (docs/model.md s.2-3):
 * activations sigma (with sigma', sigma''), the decorrelation penalty g
 * (with g') and the separable regularizer phi (with phi'). */
#ifndef CLDYN_ACT_H
#define CLDYN_ACT_H

#include <math.h>

#include "cldyn/common.h"
#pragma GCC visibility push(default) /* the public API: see README "Library" */

typedef enum {
  CL_ACT_LINEAR,
  CL_ACT_TANH,
  CL_ACT_ERF, /* erf(h / sqrt 2) */
  CL_ACT_RELU,
  CL_ACT_SIGMOID,
  CL_ACT_CUBIC /* h^3 */
} cl_act;

typedef enum { CL_G_SQUARE, CL_G_ABS } cl_gfun;

typedef enum { CL_REG_NONE, CL_REG_L2, CL_REG_L1, CL_REG_ELASTIC } cl_reg_kind;

/* phi(w) = beta1 |w| + beta2 w^2 / 2; l2 uses beta2 only, l1 beta1 only. */
typedef struct {
  cl_reg_kind kind;
  double beta1;
  double beta2;
} cl_reg;

/* sigma(h), sigma'(h), sigma''(h); relu has sigma'(0) = 0, sigma'' = 0. */
void cl_act_eval(cl_act act, double h, double *f, double *d1, double *d2);
double cl_act_value(cl_act act, double h);
/* sigma and sigma' over an array, vectorised with glibc's libmvec where the
 * activation needs tanh, erf or exp (may differ from cl_act_eval in the last
 * bit; deterministic on a given machine). */
void cl_act_eval_vec(cl_act act, const double *h, double *f, double *d1, int n);
/* The same as cl_act_eval, inlined into hot loops. */
static inline void cl_act_eval_inline(cl_act act, double h, double *f, double *d1, double *d2) {
  switch (act) {
  case CL_ACT_LINEAR: *f = h, *d1 = 1, *d2 = 0; return;
  case CL_ACT_TANH: {
    double t = tanh(h), s = 1 - t * t;
    *f = t, *d1 = s, *d2 = -2 * t * s;
    return;
  }
  case CL_ACT_ERF: {
    /* erf(h/sqrt2): derivative sqrt(2/pi) exp(-h^2/2) */
    double g = 0.79788456080286536 * exp(-0.5 * h * h); /* sqrt(2 / pi) */
    *f = erf(h * 0.70710678118654752), *d1 = g, *d2 = -h * g;
    return;
  }
  case CL_ACT_RELU: *f = h > 0 ? h : 0, *d1 = h > 0 ? 1 : 0, *d2 = 0; return;
  case CL_ACT_SIGMOID: {
    double s = 1 / (1 + exp(-h)), ds = s * (1 - s);
    *f = s, *d1 = ds, *d2 = ds * (1 - 2 * s);
    return;
  }
  case CL_ACT_CUBIC: *f = h * h * h, *d1 = 3 * h * h, *d2 = 6 * h; return;
  }
  *f = *d1 = *d2 = NAN;
}

cl_status cl_act_parse(const char *name, cl_act *act, char *err);
const char *cl_act_name(cl_act act);

double cl_gfun_value(cl_gfun g, double u);
double cl_gfun_deriv(cl_gfun g, double u); /* abs: sign(u), 0 at 0 */
cl_status cl_gfun_parse(const char *name, cl_gfun *g, char *err);
const char *cl_gfun_name(cl_gfun g);

double cl_reg_phi(const cl_reg *reg, double w);
double cl_reg_dphi(const cl_reg *reg, double w); /* l1 part: beta1 sign(w), 0 at 0 */
/* `none`, `l2:BETA`, `l1:BETA`, `elastic:BETA1:BETA2`, betas >= 0. */
cl_status cl_reg_parse(const char *spec, cl_reg *reg, char *err);
void cl_reg_format(const cl_reg *reg, char *buf, size_t len);

#pragma GCC visibility pop
#endif
