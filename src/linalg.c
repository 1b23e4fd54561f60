/* Small dense matrix helpers shared by the engines (linalg.h). */
#include "linalg.h"

#include <gsl/gsl_eigen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Eigenvalues ev and eigenvectors (the columns of V, row-major n x n) of
 * the symmetric n x n matrix A (left untouched). */
cl_status cl_sym_eig(const double *A, int n, double *ev, double *V, char *err) {
  const size_t un = (size_t)n;
  /* the engines' sizes (n <= 2 CL_MMAX) on the stack: no allocation of ours
   * in their per-state path */
  double Ws[4 * CL_MMAX * CL_MMAX], *W = n <= 2 * CL_MMAX ? Ws : malloc(sizeof(double) * un * un);
  gsl_eigen_symmv_workspace *ws = gsl_eigen_symmv_alloc(un);
  if (W && ws) {
    memcpy(W, A, sizeof(double) * un * un);
    gsl_matrix_view Wv = gsl_matrix_view_array(W, un, un);
    gsl_vector_view evv = gsl_vector_view_array(ev, un);
    gsl_matrix_view Vv = gsl_matrix_view_array(V, un, un);
    gsl_eigen_symmv(&Wv.matrix, &evv.vector, &Vv.matrix, ws);
  }
  cl_status st = W && ws ? CL_OK : cl_fail(err, CL_ENOMEM, "out of memory");
  if (ws) gsl_eigen_symmv_free(ws);
  if (W != Ws) free(W);
  return st;
}

void cl_sym_form(const double *ev, const double *V, int n, double lmax, double *S, double *Sp) {
  /* k outermost: each entry still sums its terms in the order k = 0, 1, ... */
  for (int e = 0; e < n * n; e++) {
    S[e] = 0;
    if (Sp) Sp[e] = 0;
  }
  for (int k = 0; k < n; k++) {
    const double l = ev[k], sq = l > 0 ? sqrt(l) : 0;
    const double isq = l > 1e-12 * fmax(lmax, 1e-300) ? 1 / sqrt(l) : 0;
    for (int r = 0; r < n; r++)
      for (int c = 0; c < n; c++) {
        const double p = V[r * n + k] * V[c * n + k];
        S[r * n + c] += p * sq;
        if (Sp) Sp[r * n + c] += p * isq;
      }
  }
  /* exact symmetry (rounding): S[r][c] = S[c][r] */
  for (int r = 0; r < n; r++)
    for (int c = r + 1; c < n; c++) {
      double a = 0.5 * (S[r * n + c] + S[c * n + r]);
      S[r * n + c] = S[c * n + r] = a;
      if (Sp) {
        double b = 0.5 * (Sp[r * n + c] + Sp[c * n + r]);
        Sp[r * n + c] = Sp[c * n + r] = b;
      }
    }
}

double cl_sym_min_eig(const double *A, int n) {
  gsl_matrix *a = gsl_matrix_alloc((size_t)n, (size_t)n);
  gsl_vector *e = gsl_vector_alloc((size_t)n);
  gsl_eigen_symm_workspace *w = gsl_eigen_symm_alloc((size_t)n);
  memcpy(a->data, A, sizeof(double) * (size_t)n * (size_t)n);
  gsl_eigen_symm(a, e, w);
  double lo = gsl_vector_min(e);
  gsl_eigen_symm_free(w);
  gsl_vector_free(e);
  gsl_matrix_free(a);
  return lo;
}

cl_status cl_sym_roots(const double *Sg, int n, double *S, double *Sp, char *err) {
  double ev[2 * CL_MMAX], V[4 * CL_MMAX * CL_MMAX], lmax = 0;
  cl_status st = cl_sym_eig(Sg, n, ev, V, err);
  if (st) return st;
  for (int k = 0; k < n; k++) lmax = fmax(lmax, ev[k]);
  cl_sym_form(ev, V, n, lmax, S, Sp);
  return CL_OK;
}

/* The symmetric root S (n x n) of L L^T from L (row-major; destroyed):
 * one-sided Jacobi (Hestenes) on the columns of A = L^T, A Y = U diag(sv)
 * with Y orthogonal, so L L^T = Y diag(sv)^2 Y^T and S = Y diag(sv) Y^T.
 * Where L = D B with B well conditioned (D diagonal), each singular value
 * comes to about 1e-16 of itself however small (Demmel and Veselic 1992),
 * which the QR eigensolver on L L^T does not give: it loses the digits of
 * an eigenvalue below 1e-16 of the largest. */
static void jacobi_root(double *L, int n, double *S) {
  double A[4 * CL_MMAX * CL_MMAX], Y[4 * CL_MMAX * CL_MMAX], sv[2 * CL_MMAX];
  for (int r = 0; r < n; r++)
    for (int c = 0; c < n; c++) A[r * n + c] = L[c * n + r], Y[r * n + c] = r == c;
  for (int sweep = 0; sweep < 80; sweep++) {
    int rot = 0;
    for (int j = 0; j < n - 1; j++)
      for (int k = j + 1; k < n; k++) {
        double a = 0, b = 0, p = 0;
        for (int r = 0; r < n; r++) {
          const double x = A[r * n + j], y = A[r * n + k];
          a += x * x, b += y * y, p += x * y;
        }
        if (fabs(p) <= 1e-15 * sqrt(a * b)) continue;
        rot = 1;
        const double z = (b - a) / (2 * p), t = (z >= 0 ? 1 : -1) / (fabs(z) + hypot(1, z));
        const double cs = 1 / sqrt(1 + t * t), sn = cs * t;
        for (int r = 0; r < n; r++) {
          const double x = A[r * n + j], y = A[r * n + k], u = Y[r * n + j], v = Y[r * n + k];
          A[r * n + j] = cs * x - sn * y, A[r * n + k] = sn * x + cs * y;
          Y[r * n + j] = cs * u - sn * v, Y[r * n + k] = sn * u + cs * v;
        }
      }
    if (!rot) break;
  }
  for (int k = 0; k < n; k++) {
    double a = 0;
    for (int r = 0; r < n; r++) a += A[r * n + k] * A[r * n + k];
    sv[k] = sqrt(a);
  }
  for (int r = 0; r < n; r++)
    for (int c = r; c < n; c++) {
      double x = 0;
      for (int k = 0; k < n; k++) x += Y[r * n + k] * Y[c * n + k] * sv[k];
      S[r * n + c] = S[c * n + r] = x;
    }
}

/* The generalized inverses G[b] of the nb (1 or 2) PSD n x n blocks Sg[b]
 * (cl_sym_ginv, cl_sym_roots_ginv): every block scaled by the same D =
 * diag(d), d_i = sqrt of the mean of the blocks' Sg[b]_ii (1 where it is 0),
 * and one cut, 1e-12 of the largest eigenvalue of all the scaled blocks.
 * With S non-NULL also the blocks' symmetric roots S[b], from the scaled
 * eigen-decomposition W = V diag(ev) V^T: L = D V diag(sqrt ev) has L L^T
 * = Sg[b] (jacobi_root). */
static cl_status ginv_blocks(int nb, const double *const *Sg, int n, double *const *G, double *const *S, char *err) {
  double d[2 * CL_MMAX], ev[2][2 * CL_MMAX], V[2][4 * CL_MMAX * CL_MMAX], lmax = 0;
  for (int i = 0; i < n; i++) {
    double t = 0;
    for (int b = 0; b < nb; b++) t += Sg[b][i * n + i];
    t /= nb;
    d[i] = t > 0 ? sqrt(t) : 1;
  }
  for (int b = 0; b < nb; b++) {
    double W[4 * CL_MMAX * CL_MMAX] = {0}; /* (= {0}: gcc -O3 cannot see that cl_sym_eig reads the n x n set) */
    for (int i = 0; i < n; i++)
      for (int l = 0; l < n; l++) W[i * n + l] = Sg[b][i * n + l] / (d[i] * d[l]);
    cl_status st = cl_sym_eig(W, n, ev[b], V[b], err);
    if (st) return st;
    for (int k = 0; k < n; k++) lmax = fmax(lmax, ev[b][k]);
  }
  for (int b = 0; b < nb; b++) {
    double *e = ev[b];
    if (S) {
      double L[4 * CL_MMAX * CL_MMAX];
      for (int r = 0; r < n; r++)
        for (int k = 0; k < n; k++) L[r * n + k] = d[r] * V[b][r * n + k] * (e[k] > 0 ? sqrt(e[k]) : 0);
      jacobi_root(L, n, S[b]);
    }
    for (int k = 0; k < n; k++) e[k] = e[k] > 1e-12 * fmax(lmax, 1e-300) ? 1 / e[k] : 0;
    for (int r = 0; r < n; r++)
      for (int c = r; c < n; c++) {
        double x = 0;
        for (int k = 0; k < n; k++) x += V[b][r * n + k] * V[b][c * n + k] * e[k];
        G[b][r * n + c] = G[b][c * n + r] = x / (d[r] * d[c]);
      }
  }
  return CL_OK;
}

cl_status cl_sym_ginv(const double *Sg, int n, double *G, char *err) { return ginv_blocks(1, &Sg, n, &G, NULL, err); }

cl_status cl_sym_roots_ginv(int nb, const double *const *Sg, int n, double *const *S, double *const *GS,
                            char *err) {
  double G[2][4 * CL_MMAX * CL_MMAX];
  double *const Gb[2] = {G[0], G[1]};
  cl_status st = ginv_blocks(nb, Sg, n, Gb, S, err);
  for (int b = 0; b < nb && !st; b++)
    for (int r = 0; r < n; r++)
      for (int c = 0; c < n; c++) {
        double x = 0;
        for (int k = 0; k < n; k++) x += G[b][r * n + k] * S[b][k * n + c];
        GS[b][r * n + c] = x;
      }
  return st;
}

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
  double amin = cl_sym_min_eig(A, M);
  if (amin < -1e-9 * fmax(qmax, 1))
    return cl_fail(err, CL_EDIVERGE,
                   "the state left the physical domain: Q - R^T R has eigenvalue %g < 0", amin);
  return CL_OK;
}
