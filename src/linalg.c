/* Small dense matrix helpers shared by the engines (linalg.h). */
#include "linalg.h"

#include <gsl/gsl_eigen.h>
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
