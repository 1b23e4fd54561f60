/* Small dense matrix helpers shared by the engines (linalg.h). */
#include "linalg.h"

#include "cldyn/model.h"

#include <gsl/gsl_eigen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

cl_status cl_eigen_nonsymm(const double *J, int n, int sorted, double *re, double *im) {
  /* gsl_eigen_nonsymm overwrites its matrix: it works on a copy */
  double *W = malloc(sizeof(double) * (size_t)(n * n));
  gsl_vector_complex *ev = gsl_vector_complex_alloc((size_t)n);
  gsl_eigen_nonsymm_workspace *w = gsl_eigen_nonsymm_alloc((size_t)n);
  cl_status st = W && ev && w ? CL_OK : CL_ENOMEM;
  if (!st) {
    memcpy(W, J, sizeof(double) * (size_t)(n * n));
    gsl_matrix_view Wv = gsl_matrix_view_array(W, (size_t)n, (size_t)n);
    gsl_eigen_nonsymm(&Wv.matrix, ev, w);
    if (sorted) gsl_eigen_nonsymmv_sort(ev, NULL, GSL_EIGEN_SORT_ABS_DESC);
    for (int k = 0; k < n; k++) {
      gsl_complex z = gsl_vector_complex_get(ev, (size_t)k);
      re[k] = GSL_REAL(z), im[k] = GSL_IMAG(z);
    }
  }
  if (w) gsl_eigen_nonsymm_free(w);
  if (ev) gsl_vector_complex_free(ev);
  free(W);
  return st;
}

void cl_resid_cov(int K, int M, const double *R, const double *Q, int sym, double *A) {
  for (int i = 0; i < M; i++)
    for (int l = 0; l < M; l++) {
      double a = sym ? 0.5 * (Q[i * M + l] + Q[l * M + i]) : Q[i * M + l];
      for (int j = 0; j < K; j++) a -= R[j * M + i] * R[j * M + l];
      A[i * M + l] = a;
    }
}

cl_status cl_state_finite(int K, int M, const double *R, const double *Q, char *err) {
  for (int k = 0; k < K * M; k++)
    if (!isfinite(R[k])) return cl_fail(err, CL_EDIVERGE, "R is not finite");
  for (int k = 0; k < M * M; k++)
    if (!isfinite(Q[k])) return cl_fail(err, CL_EDIVERGE, "Q is not finite");
  return CL_OK;
}

cl_status cl_resid_cov_domain(int K, int M, const double *R, const double *Q, int sym, double *A, char *err) {
  double qmax = 0;
  for (int i = 0; i < M; i++) qmax = fmax(qmax, fabs(Q[i * M + i]));
  cl_resid_cov(K, M, R, Q, sym, A);
  double amin = cl_model_sym_min_eig(A, M);
  if (amin < -1e-9 * fmax(qmax, 1))
    return cl_fail(err, CL_EDIVERGE,
                   "the state left the physical domain: Q - R^T R has eigenvalue %g < 0", amin);
  return CL_OK;
}
