/* Integration of the order-parameter ODEs with GSL odeiv2.  The state is
 * y = (R row-major K x M, upper triangle of Q). */
#include "cldyn/ode.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_odeiv2.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

void cl_ode_opts_default(cl_ode_opts *o) {
  memset(o, 0, sizeof *o);
  strcpy(o->stepper, "rk8pd");
  o->rtol = 1e-8;
  o->atol = 1e-10;
  o->quad.mc_seed = 1;
}

static const struct {
  const char *name;
  const gsl_odeiv2_step_type **type;
} steppers[] = {{"rk8pd", &gsl_odeiv2_step_rk8pd}, {"rkf45", &gsl_odeiv2_step_rkf45},
                {"rkck", &gsl_odeiv2_step_rkck},   {"msbdf", &gsl_odeiv2_step_msbdf},
                {"rk4imp", &gsl_odeiv2_step_rk4imp}, {"bsimp", &gsl_odeiv2_step_bsimp},
                {"msadams", &gsl_odeiv2_step_msadams}};

cl_status cl_ode_check_stepper(const char *name, char *err) {
  for (size_t i = 0; i < sizeof steppers / sizeof steppers[0]; i++)
    if (strcmp(name, steppers[i].name) == 0) return CL_OK;
  return cl_fail(err, CL_EINVAL,
                 "--stepper: unknown '%s'; accepted: rk8pd, rkf45, rkck, msadams, msbdf, rk4imp, bsimp", name);
}

typedef struct {
  cl_drift *drift;
  int K, M;
  cl_status st;
  char err[CL_ERRLEN];
  double t_fail;
} ode_ctx;

static void unpack(const ode_ctx *c, const double *y, double *R, double *Q) {
  int K = c->K, M = c->M, k = K * M;
  memcpy(R, y, sizeof(double) * (size_t)(K * M));
  for (int i = 0; i < M; i++)
    for (int l = i; l < M; l++) Q[i * M + l] = Q[l * M + i] = y[k++];
}

static int rhs(double t, const double *y, double *f, void *params) {
  ode_ctx *c = params;
  double R[CL_KMAX * CL_MMAX], Q[CL_MMAX * CL_MMAX], dR[CL_KMAX * CL_MMAX], dQ[CL_MMAX * CL_MMAX];
  unpack(c, y, R, Q);
  cl_status st = cl_drift_eval(c->drift, R, Q, dR, dQ, c->err);
  if (st) {
    c->st = st;
    c->t_fail = t;
    return GSL_EBADFUNC;
  }
  int K = c->K, M = c->M, k = K * M;
  memcpy(f, dR, sizeof(double) * (size_t)(K * M));
  for (int i = 0; i < M; i++)
    for (int l = i; l < M; l++) f[k++] = dQ[i * M + l];
  return GSL_SUCCESS;
}

/* Finite-difference Jacobian for the implicit steppers (central
 * differences; the system is autonomous so df/dt = 0). */
static int jac(double t, const double *y, double *dfdy, double *dfdt, void *params) {
  ode_ctx *c = params;
  int n = c->K * c->M + c->M * (c->M + 1) / 2;
  double yp[CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX], fp[CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX],
      fm[CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX];
  memcpy(yp, y, sizeof(double) * (size_t)n);
  for (int j = 0; j < n; j++) {
    double h = 1e-6 * fmax(1, fabs(y[j]));
    yp[j] = y[j] + h;
    if (rhs(t, yp, fp, params)) return GSL_EBADFUNC;
    yp[j] = y[j] - h;
    if (rhs(t, yp, fm, params)) return GSL_EBADFUNC;
    yp[j] = y[j];
    for (int i = 0; i < n; i++) dfdy[i * n + j] = (fp[i] - fm[i]) / (2 * h);
  }
  for (int i = 0; i < n; i++) dfdt[i] = 0;
  return GSL_SUCCESS;
}

cl_status cl_ode_solve(const cl_model *m, const cl_schedule *s, const cl_ode_opts *o,
                       cl_traj **out, char *info, char *err) {
  cl_status st = cl_model_check(m, 0, err);
  if (st || (st = cl_schedule_check(s, err)) || (st = cl_ode_check_stepper(o->stepper, err)))
    return st;
  if (!(o->rtol > 0 && o->atol >= 0))
    return cl_fail(err, CL_EINVAL, "--rtol/--atol: need rtol > 0 and atol >= 0");
  const gsl_odeiv2_step_type *type = NULL;
  for (size_t i = 0; i < sizeof steppers / sizeof steppers[0]; i++)
    if (strcmp(o->stepper, steppers[i].name) == 0) type = *steppers[i].type;
  ode_ctx c = {.K = m->K, .M = m->M};
  c.drift = cl_drift_alloc(m, &o->quad, err);
  if (!c.drift) return CL_EINVAL;
  int K = m->K, M = m->M, n = K * M + M * (M + 1) / 2;
  size_t nt = (size_t)floor(s->T / s->dt_out * (1 + 1e-12) + 1e-9) + 1;
  cl_traj *tr = cl_traj_alloc(K, M, nt, 1);
  if (!tr) {
    cl_drift_free(c.drift);
    return cl_fail(err, CL_ENOMEM, "ode: out of memory");
  }
  double y[CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX];
  int k = K * M;
  memcpy(y, m->R0, sizeof(double) * (size_t)(K * M));
  for (int i = 0; i < M; i++)
    for (int l = i; l < M; l++) y[k++] = m->Q0[i * M + l];
  gsl_odeiv2_system sys = {rhs, jac, (size_t)n, &c};
  gsl_odeiv2_driver *drv = gsl_odeiv2_driver_alloc_y_new(&sys, type, 1e-3 * fmin(s->dt_out, 1), o->atol, o->rtol);
  gsl_odeiv2_driver_set_nmax(drv, 10000000);
  gsl_error_handler_t *old = gsl_set_error_handler_off();
  double t = 0, R[CL_KMAX * CL_MMAX], Q[CL_MMAX * CL_MMAX], se0 = 0;
  for (size_t j = 0; j < nt && !st; j++) {
    double tj = (double)j * s->dt_out;
    tr->t[j] = tj;
    if (j > 0) {
      int gs = gsl_odeiv2_driver_apply(drv, &t, tj, y);
      if (gs != GSL_SUCCESS) {
        char pars[256];
        snprintf(pars, sizeof pars, "tau = %g, s = %g, rho = %g, lambda = %g, B = %d, act = %s",
                 m->tau, m->s, m->rho, m->lambda, m->B, cl_act_name(m->act));
        if (c.st)
          st = cl_fail(err, CL_EDIVERGE, "ode: stopped at t = %g: %s (%s)", c.t_fail, c.err, pars);
        else
          st = cl_fail(err, CL_EDIVERGE, "ode: integration failed at t = %g (GSL: %s) (%s)", t,
                       gsl_strerror(gs), pars);
        break;
      }
    }
    unpack(&c, y, R, Q);
    for (int q = 0; q < n; q++)
      if (!isfinite(y[q])) st = cl_fail(err, CL_EDIVERGE, "ode: NaN at t = %g", tj);
    cl_traj_set(K, M, R, Q, cl_traj_row(tr, 0, j));
    if (j == 0) {
      double dR[CL_KMAX * CL_MMAX], dQ[CL_MMAX * CL_MMAX];
      if ((st = cl_drift_eval(c.drift, R, Q, dR, dQ, c.err)))
        cl_fail(err, st, "ode: at t = 0: %s", c.err);
      se0 = cl_drift_stderr(c.drift);
    }
  }
  gsl_set_error_handler(old);
  if (info) {
    if (cl_drift_stderr(c.drift) > 0 || se0 > 0)
      snprintf(info, CL_ERRLEN, "%s; drift standard error %.3g at t = 0, %.3g at the last step",
               cl_drift_method(c.drift), se0, cl_drift_stderr(c.drift));
    else
      snprintf(info, CL_ERRLEN, "%s", cl_drift_method(c.drift));
  }
  gsl_odeiv2_driver_free(drv);
  cl_drift_free(c.drift);
  if (st) {
    cl_traj_free(tr);
    return st;
  }
  *out = tr;
  return CL_OK;
}
