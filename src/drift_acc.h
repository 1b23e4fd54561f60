/* drift_acc.h (internal) - the deterministic high-order rule for M >= 2,
 * g = square (where lambda != 0; B > 1 by the exact 1/B expansion), smooth
 * sigma (docs/accurate.md): the
 * two views are independent given (c, xi), so each outer node (c, xi) needs
 * one inner rule shared by both views (M >= 3: by units and pairs of
 * units).  Two rules (a coarse
 * and a fine level; for M >= 3 with default levels a middle one too, for the
 * estimates only: of the drift, and as a third copy in cl_ode_solve of the
 * trajectory); the drift is the fine one and the error estimate the
 * largest difference of the fine level to the others over the drift vector. */
#ifndef CLDYN_DRIFT_ACC_H
#define CLDYN_DRIFT_ACC_H

#include "cldyn/model.h"
#include "cldyn/quad.h"

typedef struct cl_acc cl_acc;

/* Shared with the grid engine (drift_grid.c).  The per-sample gradients
 * ghat_p (p < 2M: view 1's units, then view 2's) as sums of products
 * coef phi_f1(h1) phi_f2(h2) of the F = 4M + 1 one-view features
 * D_i, Y_i, DY_i, YY_i, S2 (docs/accurate.md s.2). */
/* 3 terms, and with B > 1 and lambda != 0 the M - 1 mean-field products of the
 * 1/B expansion (docs/accurate.md s.2) */
enum { CL_ACC_NTERM = 2 + CL_MMAX };
typedef struct {
  double coef;
  int f1, f2;
} cl_acc_term;
typedef struct {
  int K, M, F, nsum; /* nsum: entries of the sums cl_acc_node accumulates */
  int nt[2 * CL_MMAX];
  cl_acc_term tm[2 * CL_MMAX][CL_ACC_NTERM];
  /* only != 0 (cl_acc_terms_only): the terms' unit sets (bit i: unit i),
   * and cl_acc_rows keeps only the contributions to dQ whose units are
   * exactly the set `only` (docs/grid.md s.15, "Triples by their
   * three-unit terms") */
  int only;
  unsigned char set[2 * CL_MMAX][CL_ACC_NTERM];
} cl_acc_terms;
void cl_acc_terms_init(cl_acc_terms *t, int K, int M, double lambda);
/* B = 1 (or lambda = 0): the terms with S2 expanded, ghat1_i = D_i Y_i
 * - 2 lambda sum_{k != i} DY_i YY_k (view 2 mirrored), each with its unit
 * set ({i}, {i, k}), and only = every unit: cl_acc_rows then accumulates
 * only the contributions to P and V naming all M units (P_il: the units of
 * the term of ghat_l and i; V_il: those of its two terms), and U only in
 * the entries P reads (U_l,i and U_M+l,M+i); aR and the other U entries
 * (dR's) are left alone. */
void cl_acc_terms_only(cl_acc_terms *t, int K, int M, double lambda);
/* B > 1 with lambda != 0 (g = square): the exact 1/B expansion
 * (docs/accurate.md s.2) in two passes.  Pass 1: cl_acc_batch_rows adds to
 * mom (M^2 + 3 M^4 values, zeroed by the caller) the one-sample moments of n
 * outer nodes (mf, Mo as for cl_acc_rows; weights scale w0[x]).  Pass 2:
 * the terms of the mean-field gradient from mom (cl_acc_terms_batch; B = 1
 * or lambda = 0: those of cl_acc_terms_init) through cl_acc_rows, then
 * cl_acc_batch_fluct adds the other samples' fluctuation to GG (2M x 2M,
 * upper triangle) before cl_acc_finish. */
void cl_acc_terms_batch(cl_acc_terms *t, int K, int M, double lambda, int B, const double *mom);
void cl_acc_batch_rows(int M, int F, int n, const double *const *mf, const double *const *Mo, const double *w0,
                       double scale, double *mom);
void cl_acc_batch_fluct(const cl_model *m, const double *mom, double *GG);
/* The moments of S2 from those of the YY_k: mf (F), Mo (F x F), Ee (F x M). */
void cl_acc_s2(int M, double *mf, double *Mo, double *Ee);
/* One outer node: given the one-view moments at the node (mf_f = E phi_f,
 * Mo_ff' = E phi_f phi_f', Ee_fr = E phi_f eta_r over one view's private
 * noise), add to acc = [aR (K x M), U (2M x 2M), P (M x M), V, GG (2M x 2M)]
 * with the weights w0 (the node's), wc_j (times c_j), wxi_r (times xi_r)
 * and wmu_r (times mu_r). */
void cl_acc_node(const cl_acc_terms *t, const double *mf, const double *Mo, const double *Ee, double w0,
                 const double *wc, const double *wxi, const double *wmu, double *acc);
/* The same for n outer nodes at once: every argument is an array of
 * pointers to n values (mf[f], Mo[f F + e], Ee[f M + r], wc[j], wxi[r],
 * wmu[r]), and scr has cl_acc_rows_scratch(t, n) doubles.  wc NULL: aR
 * is left alone (the grid without the tilted weights, cl_grid_alloc_dq).
 * t->only: the filtered sums of cl_acc_terms_only (wc unused). */
void cl_acc_rows(const cl_acc_terms *t, int n, const double *const *mf, const double *const *Mo,
                 const double *const *Ee, const double *w0, const double *const *wc, const double *const *wxi,
                 const double *const *wmu, double *acc, double *scr);
size_t cl_acc_rows_scratch(const cl_acc_terms *t, int n);
/* The drift (dR then dQ into out) from the sums (acc is overwritten); Gi a
 * generalized inverse of the views' covariance Sigma (cl_sym_ginv). */
void cl_acc_finish(const cl_model *m, const double *R, const double *Q, const double *Gi, double *acc,
                   double *out);

/* The nodes of one level: per Gaussian direction of the outer (xi) and
 * inner (eta) rules, and per continuous law of c. */
typedef struct {
  int nx, ne, nl;
  double Lx, Le; /* half-widths of the trapezoid rules (< 0: Gauss-Hermite) */
} cl_acc_level;

/* 1 if the rule applies to m (else 0, with the reason in why if non-NULL). */
int cl_acc_applies(const cl_model *m, char *why, size_t n);
/* The engine with the default levels (o->acc_nodes scales them; M >= 3:
 * three levels, docs/accurate.md s.4). */
cl_status cl_acc_alloc(const cl_model *m, const cl_quad_opts *o, cl_acc **out, char *err);
/* The engine with two explicit levels (bench/accurate.c, tests). */
cl_status cl_acc_alloc_levels(const cl_model *m, const cl_acc_level *coarse,
                              const cl_acc_level *fine, cl_acc **out, char *err);
void cl_acc_free(cl_acc *a);
/* The number of levels (2, or 3 with the middle one) and the drift of
 * level lev (0 coarse, 1 fine, 2 middle) alone. */
int cl_acc_nlev(const cl_acc *a);
cl_status cl_acc_eval_level(cl_acc *a, int lev, const double *R, const double *Q, double *dR,
                            double *dQ, char *err);
/* The fine level's drift; ebar (if non-NULL) gets the estimate
 * max_k |fine_k - coarse_k| in every component (K*M entries for dR, then
 * M*M for dQ). */
cl_status cl_acc_eval(cl_acc *a, const double *R, const double *Q, double *dR, double *dQ,
                      double *ebar, char *err);
/* The estimate of the last cl_acc_eval. */
double cl_acc_errmax(const cl_acc *a);
const char *cl_acc_method(const cl_acc *a);

#endif
