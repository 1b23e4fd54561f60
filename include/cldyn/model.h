/* cldyn/model.h - the parameters of the microscopic model (docs/model.md s.1-5).
 *
 * Notation follows docs/model.md: N input dimension, K planted features, M output
 * units, B batch size, tau learning rate, s and rho the augmentation noise
 * level and the correlation of the two views' noise, lambda the weight of
 * the decorrelation penalty g, phi the regularizer.  R is K x M and Q is
 * M x M, both stored row-major. */
#ifndef CLDYN_MODEL_H
#define CLDYN_MODEL_H

#include <stdint.h>

#include "cldyn/act.h"
#include "cldyn/common.h"
#include "cldyn/law.h"
#pragma GCC visibility push(default) /* the public API: see README "Library" */

typedef enum { CL_FEAT_AXIS, CL_FEAT_DENSE, CL_FEAT_SPARSE } cl_feat_kind;
typedef enum { CL_INIT_RANDOM, CL_INIT_OVERLAP } cl_init_kind;

typedef struct {
  long long N;
  int K, M, B;
  cl_law c[CL_KMAX];
  cl_act act;
  cl_gfun g;
  double lambda;
  cl_reg reg;
  double tau, s, rho;
  cl_feat_kind features;
  double feat_p; /* density of the sparse layout */
  cl_init_kind init;
  double R0[CL_KMAX * CL_MMAX]; /* K x M */
  double Q0[CL_MMAX * CL_MMAX]; /* M x M */
} cl_model;

/* Time grid and repetitions of a run: t = steps / N runs from 0 to T,
 * recording every dt_out; `runs` independent copies of seed `seed`. */
typedef struct {
  double T, dt_out;
  long long runs;
  uint64_t seed;
} cl_schedule;

/* Defaults (docs/cli.md s.2): K = 1 rademacher:3, M = 1, tanh, square,
 * lambda 0, l2:0.5, tau 0.5, s 0.5, rho 0, B 1, overlap R0 0.1 Q0 1. */
void cl_model_default(cl_model *m);
void cl_schedule_default(cl_schedule *s);
/* Full validation of a model: returns CL_EINVAL with a message naming the
 * option and its accepted range. `need_N` is 0 for commands without N. */
cl_status cl_model_check(const cl_model *m, int need_N, char *err);
cl_status cl_schedule_check(const cl_schedule *s, char *err);

/* Parse `--R0`/`--Q0` lists for the model's current K and M: rows separated
 * by ';', entries by ',' (or spaces); one number fills R0 entirely, or the
 * diagonal of Q0. */
cl_status cl_model_set_R0(cl_model *m, const char *spec, char *err);
cl_status cl_model_set_Q0(cl_model *m, const char *spec, char *err);

/* Smallest eigenvalue of the symmetric n x n matrix A (row-major). */
double cl_model_sym_min_eig(const double *A, int n);
/* Symmetric PSD square root S of A (n x n): A = S S, S symmetric.  Negative
 * eigenvalues above -tol * max(1, max|eig|) are clipped to 0; returns
 * CL_EINVAL if one is below (S is written all the same), CL_ENOMEM when
 * out of memory.  The drift engines' root of a covariance (src/linalg.c)
 * is the same code, to the last bit. */
cl_status cl_model_sym_sqrt(const double *A, int n, double tol, double *S);

#pragma GCC visibility pop
#endif
