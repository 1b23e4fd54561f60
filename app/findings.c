/* The paper's three findings as stated (docs/findings.md): a section of the
 * reproduce report with its own data and figures.  Notation of
 * docs/model.md; every number is computed here. */
#include "findings.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_multiroots.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <omp.h>

#include "cldyn/basin.h"
#include "cldyn/fixed.h"
#include "cldyn/ode.h"
#include "cldyn/reduced.h"
#include "cldyn/runner.h"
#include "cldyn/terms.h"
#include "config.h"
#include "progress.h"
#include "studyfiles.h"

#define NFF 4 /* files open at once */

typedef struct {
  const char *dir;
  int quick;
  FILE *rep;
  cl_config *c;
  char *err;
  cl_sfile slot[NFF];
  cl_sfiles F; /* the section's files (studyfiles.h) over slot */
  cl_span prog; /* the progress of the whole section */
} fstudy;

static FILE *fopen_in(fstudy *S, const char *name) { return cl_sfiles_open(&S->F, name); }
static void fclose_in(fstudy *S, FILE *f) { cl_sfiles_close(&S->F, f, 1); }
static void fdrop_in(fstudy *S, FILE *f) { cl_sfiles_close(&S->F, f, 0); }

/* The gnuplot script `stem`.gp of a figure stem.png / stem.svg, w x h, with
 * the common preamble (NULL on failure). */
static FILE *gp_open(fstudy *S, const char *stem, int w, int h) {
  char name[64];
  snprintf(name, sizeof name, "%s.gp", stem);
  FILE *g = fopen_in(S, name);
  if (g) fprintf(g, "set datafile separator ','\nset grid\n"), cl_gp_terminals(g, stem, w, h);
  return g;
}

static cl_status parse_model(fstudy *S, cl_command cmd, const char *args, cl_model *m) {
  cl_status st = cl_config_parse_string(S->c, cmd, args, S->err);
  if (!st) *m = S->c->model;
  return st;
}

/* ------------------------------------------------------------------ (i) */
static cl_status sec_i(fstudy *S) {
  const char *laws[] = {"gauss:3", "rademacher:3", "uniform:3", "sparse:3:0.5", "laplace:3", "student:3:9"};
  fprintf(S->rep,
          "### (i) Learnability at the uninformative state depends only on <c^2>\n\n"
          "At R = 0 the pre-activations are `h_a = zt + e_a` (the mean `m = c . R` vanishes), so the law of "
          "(h1, h2) does not involve c.  Linearising `dR_j/dt = tau (a_j + b_e R_j - beta R_j)` in R: "
          "`a_j = E[(G1 + G2) c_j]` with `m = sum_k c_k R_k` gives, by a first-order expansion in m and "
          "independence of c from (zt, e), `a_j = sum_k E[c_j c_k] R_k E[d_m (G1 + G2)] + O(R^3) = <c_j^2> R_j b_z + O(R^3)` "
          "(at R = 0, `E[d_m (G1 + G2)] = b_z` since `d_m` acts on both views).  The R-block of the Jacobian "
          "is diagonal, with eigenvalue\n\n    lambda_j = tau (<c_j^2> b_z(Q*) + b_e(Q*) - beta),\n\n"
          "where Q* solves dQ/dt = 0 at R = 0, a condition that involves no c either.  Only the second moment "
          "enters: the fourth and higher moments of c_j first appear at O(R^3).  Check (default model, "
          "<c^2> = 3): the Jacobian's eigenvalue by finite differences against the formula, for laws of "
          "kurtosis 1 to 6.\n\n| law | kurtosis | Q* | Jacobian eigenvalue | tau (<c^2> b_z + b_e - beta) |\n"
          "| --- | --- | --- | --- | --- |\n");
  double lo = INFINITY, hi = -INFINITY;
  for (int l = 0; l < 6; l++) {
    char a[128];
    cl_model m;
    snprintf(a, sizeof a, "--c %s", laws[l]);
    cl_status st = parse_model(S, CL_CMD_FIXED, a, &m);
    double Qs, J[4], je, R = 0;
    if (st || (st = cl_fixed_uninformative_Q(&m, NULL, &Qs, S->err))) return st;
    cl_drift *d;
    cl_status ast = cl_drift_alloc(&m, NULL, &d, S->err);
    if (ast) return ast;
    double y[2] = {0, Qs};
    cl_m1_terms t;
    st = cl_ode_jacobian(d, 1, 1, y, J, &je, S->err);
    if (!st) st = cl_drift_m1_terms(d, &R, Qs, &t, S->err);
    cl_drift_free(d);
    if (st) return st;
    double f = m.tau * (m.c[0].m2 * t.b_z + t.b_e - m.reg.beta2);
    lo = fmin(lo, J[0]), hi = fmax(hi, J[0]);
    fprintf(S->rep, "| %s | %.3g | %.10f | %.9f | %.9f |\n", laws[l], cl_law_kurtosis(&m.c[0]), Qs, J[0], f);
  }
  fprintf(S->rep, "\nSpread of the eigenvalue across the six laws: %.1e (the finite-difference Jacobian's "
                  "accuracy is ~1e-9).  **Verdict: supported**, and in this model by construction: at R = 0 the "
                  "pre-activations do not see c, so only E[c^2] enters the linearisation.\n\n", hi - lo);
  return CL_OK;
}

/* ------------------------------------------------------------------ (ii) */

/* the end of the ODE from R(0) = (r1, r2), Q(0) = Q0: 1 if |cos_1| > |cos_2| */
static int ends_on_1(const cl_model *m, const cl_ode_opts *o, double r1, double r2, double tmax, int *bad) {
  cl_model mm = *m;
  mm.init = CL_INIT_OVERLAP;
  mm.R0[0] = r1, mm.R0[1] = r2;
  cl_schedule s = {.T = tmax, .dt_out = tmax, .runs = 1, .seed = 1};
  cl_traj *tr;
  char e[CL_ERRLEN];
  if (cl_ode_solve(&mm, &s, o, &tr, NULL, e)) {
    *bad = 1;
    return 0;
  }
  const double *row = cl_traj_row(tr, 0, tr->nt - 1);
  int r = fabs(row[3]) > fabs(row[4]);
  cl_traj_free(tr);
  return r;
}

/* The basin probability of feature 1 under an isotropic start of radius r:
 * the measure of the angles in (0, pi/2) that end on feature 1 (the laws
 * are symmetric, so each quadrant is the same), from a scan of nscan angles
 * and bisection of every change to nbis halvings. *theta gets the last
 * boundary angle found (NAN if none). */
static cl_status angular_basin(fstudy *S, const cl_model *m, double r, int nscan, int nbis, double tmax,
                               cl_span prog, double *P, double *theta) {
  const cl_ode_opts *o = &S->c->ode;
  int *cls = malloc(sizeof(int) * (size_t)nscan), bad = 0, done = 0;
  if (!cls) return cl_fail(S->err, CL_ENOMEM, "out of memory");
  const double H = M_PI / 2 / nscan;
  /* progress: the parallel scan is about 0.4 of the work, the serial
   * bisections the rest */
  const double fscan = 0.4;
#pragma omp parallel for schedule(dynamic, 1) reduction(| : bad)
  for (int k = 0; k < nscan; k++) {
    double th = (k + 0.5) * H;
    cls[k] = ends_on_1(m, o, r * cos(th), r * sin(th), tmax, &bad);
#pragma omp critical(cl_findings_progress)
    cl_span_update(&prog, fscan * ++done / nscan);
  }
  int nchange = 0, nb = 0;
  for (int k = 0; k + 1 < nscan; k++) nchange += cls[k] != cls[k + 1];
  /* measure: the scan cells on feature 1, corrected at each change */
  double meas = 0;
  *theta = NAN;
  meas += cls[0] ? 0.5 * H : 0; /* (0, theta_0): same class as theta_0 */
  for (int k = 0; k + 1 < nscan && !bad; k++) {
    double a = (k + 0.5) * H, b = a + H;
    if (cls[k] == cls[k + 1]) {
      meas += cls[k] ? H : 0;
      continue;
    }
    for (int i = 0; i < nbis; i++) {
      double c = 0.5 * (a + b);
      if (ends_on_1(m, o, r * cos(c), r * sin(c), tmax, &bad) == cls[k]) a = c;
      else b = c;
      cl_span_update(&prog, fscan + (1 - fscan) * ++nb / (nchange * nbis));
    }
    double x = 0.5 * (a + b);
    meas += cls[k] ? x - (k + 0.5) * H : (k + 1.5) * H - x;
    *theta = x;
  }
  meas += cls[nscan - 1] ? 0.5 * H : 0;
  cl_span_update(&prog, 1);
  free(cls);
  if (bad) return cl_fail(S->err, CL_EDIVERGE, "an ODE of the basin scan failed");
  *P = meas / (M_PI / 2);
  return CL_OK;
}

/* the pure learned states (R_1 > 0, R_2 = 0) and (0, R_2 > 0): their largest
 * real part of an eigenvalue; 1 if both are stable */
static cl_status pure_states(fstudy *S, const cl_model *m, double *ev1, double *ev2, int *st1, int *st2) {
  cl_fixed_point *fp;
  int n;
  cl_status st = cl_fixed_find(m, NULL, NULL, 0, &fp, &n, S->err);
  if (st) return st;
  *ev1 = *ev2 = NAN, *st1 = *st2 = -1;
  for (int i = 0; i < n; i++) {
    double mx = -INFINITY;
    for (int k = 0; k < fp[i].n; k++) mx = fmax(mx, fp[i].eig_re[k]);
    if (fp[i].y[0] > 0.05 && fabs(fp[i].y[1]) < 1e-6) *ev1 = mx, *st1 = fp[i].stability;
    if (fp[i].y[1] > 0.05 && fabs(fp[i].y[0]) < 1e-6) *ev2 = mx, *st2 = fp[i].stability;
  }
  free(fp);
  return CL_OK;
}

static cl_status reduced_freq(fstudy *S, const char *args, long long runs, uint64_t seed, cl_span prog, double *p,
                              double *se, long *unsettled) {
  cl_model m;
  cl_status st = parse_model(S, CL_CMD_REDUCED, args, &m);
  if (st) return st;
  cl_schedule sc = S->c->sched;
  sc.runs = runs, sc.seed = seed;
  cl_traj *tr;
  if ((st = cl_runner_run(&cl_engine_reduced, &m, &sc, 0, NULL, &tr, cl_span_update, &prog, S->err))) return st;
  long n1 = 0, u = 0;
  for (long long r = 0; r < runs; r++) {
    const double *row = cl_traj_row(tr, r, tr->nt - 1);
    int one = fabs(row[3]) > fabs(row[4]);
    n1 += one;
    u += fmax(fabs(row[3]), fabs(row[4])) < 0.5;
  }
  cl_traj_free(tr);
  *p = (double)n1 / (double)runs, *se = sqrt(*p * (1 - *p) / (double)runs), *unsettled = u;
  return CL_OK;
}

/* progress of (ii): the table of laws, the sweep and the boundary */
#define II_LAWS 0.5
#define II_SWEEP 0.88

static cl_status sec_ii(fstudy *S, cl_span sp) {
  cl_status st;
  const char *ref = "uniform:3";
  const char **laws, *flaws[] = {"rademacher:3", "sparse:3:0.8", "sparse:3:0.6", "uniform:3", "sparse:3:0.5", "sparse:3:0.4",
                        "sparse:3:0.3", "laplace:3"};
  laws = flaws;
  /* quick: the first law of each regime, few runs (the structure only) */
  const char *qlaws[] = {"rademacher:3", "sparse:3:0.3"};
  if (S->quick) laws = qlaws;
  const int nl = S->quick ? 2 : 8, nred_laws = S->quick ? 1 : 3;
  const long long Nm = 500, runs = S->quick ? 200 : 10000;
  const int nscan = S->quick ? 8 : 24, nbis = S->quick ? 8 : 20;
  const double tmax = 200, T = 20;
  fprintf(S->rep,
          "### (ii) Higher moments act through the size of the attraction regions\n\n"
          "Feature 2 is `%s` (platykurtic); feature 1 has the law below, all at <c^2> = 3, so the two growth rates "
          "at R = 0 are equal (finding (i)) and the escape law is isotropic.  **What is counted:** a start "
          "selects feature 1 when it ends with |cos_1| > |cos_2| (pure or mixed state alike).  **Theory** "
          "(N = %lld): the basin probability under the isotropic escape law, computed as the measure of the "
          "start angles in a quadrant that end on feature 1 (the laws are symmetric): %d angles, then "
          "%d bisections of each change of class, ODE to t = %g, at the typical escape radius "
          "r0 = sqrt(N var(A) / N) of `cldyn basin` and at r0 / 10 (the difference measures how far the basin is "
          "from a cone).  This replaces the Monte Carlo of `cldyn basin` (se 0.035 at 200 directions) by a "
          "deterministic number (its error, from the bisection, is below 1e-5).  **Simulation:** %lld runs of "
          "the exact finite-N chain (`reduced --init random`) at N = %lld to t = %g, binomial standard "
          "errors, z = |theory - reduced| / se.  The largest real part of the eigenvalues is listed for each "
          "pure learned state; **graded** means both are stable, **empty basin** that feature 1's is a saddle.\n\n"
          "| law of feature 1 | kurtosis | max Re eig, state 1 | max Re eig, state 2 | regime | P theory (r0) | "
          "P theory (r0/10) | P reduced | z | unsettled |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
          ref, Nm, nscan, nbis, tmax, runs, Nm, T);
  FILE *f = fopen_in(S, "graded.csv");
  if (!f) return CL_EIO;
  fprintf(f, "law,kurtosis,eig1,eig2,graded,p_theory,p_theory_small,p_reduced,se_reduced,z\n");
  double maxdev = 0, maxdev_se = 0, maxdev_th = 0, zmax = 0, kmin_empty = NAN;
  int n_empty = 0, n_mixed = 0, n_graded = 0;
  double theta_case = NAN;
  /* progress weights of a law: its basins (1 each), its chains (3) */
  double wsum = 0, wcum = 0;
  for (int l = 0; l < nl; l++) wsum += (S->quick ? 1 : 2) + (l < nred_laws ? 3 : 0);
  for (int l = 0; l < nl; l++) {
    const double wl = (S->quick ? 1 : 2) + (l < nred_laws ? 3 : 0), wb = S->quick ? 1 : 2;
    cl_span lsp = cl_span_part(&sp, II_LAWS * wcum / wsum, II_LAWS * (wcum + wl) / wsum);
    wcum += wl;
    char a[256];
    cl_model m;
    snprintf(a, sizeof a, "--c %s --c %s --N %lld", laws[l], ref, Nm);
    if ((st = parse_model(S, CL_CMD_BASIN, a, &m))) return fdrop_in(S, f), st;
    double kurt = cl_law_kurtosis(&m.c[0]), ev1, ev2, var[CL_KMAX], P, Ps, th, ths;
    int s1, s2;
    if ((st = pure_states(S, &m, &ev1, &ev2, &s1, &s2)) ||
        (st = cl_basin_escape_variances(&m, &S->c->ode.quad, var, S->err)))
      return fdrop_in(S, f), st;
    double r0 = sqrt(var[0] / (double)Nm);
    Ps = NAN;
    if ((st = angular_basin(S, &m, r0, nscan, nbis, tmax, cl_span_part(&lsp, 0, 1 / wl), &P, &th)) ||
        (!S->quick &&
         (st = angular_basin(S, &m, r0 / 10, nscan, nbis, tmax, cl_span_part(&lsp, 1 / wl, 2 / wl), &Ps, &ths))))
      return fdrop_in(S, f), st;
    int graded = s1 == CL_STABLE && s2 == CL_STABLE;
    if (l == 0) theta_case = th;
    double pr = NAN, ser = NAN, z = NAN;
    long u = 0;
    if (l < nred_laws) {
      snprintf(a, sizeof a, "--c %s --c %s --N %lld --init random --T %g --dt-out %g", laws[l], ref, Nm, T, T);
      if ((st = reduced_freq(S, a, runs, 300 + (uint64_t)l, cl_span_part(&lsp, wb / wl, 1), &pr, &ser, &u)))
        return fdrop_in(S, f), st;
      z = fabs(P - pr) / ser;
      zmax = fmax(zmax, z);
      if (graded && fabs(pr - 0.5) > maxdev) maxdev = fabs(pr - 0.5), maxdev_se = ser, maxdev_th = fabs(P - 0.5);
    }
    int empty = !graded && s1 == CL_SADDLE && (P < 1e-6 || P > 1 - 1e-6);
    const char *regime = graded ? "graded (both stable)"
                         : empty ? "empty basin (state 1 saddle)"
                         : s1 == CL_SADDLE ? "state 1 saddle, stable mixed states" : "other";
    n_graded += graded, n_empty += empty, n_mixed += !graded && !empty;
    if (empty && !(kurt >= kmin_empty)) kmin_empty = kurt;
    fprintf(f, "%s,%g,%.10g,%.10g,%d,%.8f,%.8f,%.6f,%.6f,%.3f\n", laws[l], kurt, ev1, ev2, graded, P, Ps, pr, ser, z);
    fprintf(S->rep, "| %s | %.3g | %.4f (%s) | %.4f (%s) | %s | %.5f | %.5f |", laws[l], kurt, ev1,
            s1 >= 0 ? cl_stability_name(s1) : "none", ev2, s2 >= 0 ? cl_stability_name(s2) : "none", regime, P, Ps);
    if (l < nred_laws) fprintf(S->rep, " %.4f +- %.4f | %.1f | %ld |\n", pr, ser, z, u);
    else fprintf(S->rep, " - | - | - |\n");
  }
  fclose_in(S, f);
  fprintf(S->rep, "\nLargest z (theory against reduced): %.1f.  Largest measured |P(feature 1) - 1/2| in a graded "
                  "regime: %.4f +- %.4f.\n\n![](graded.png)\n\n", zmax, maxdev, maxdev_se);
  FILE *g = gp_open(S, "graded", 900, 560);
  if (!g) return CL_EIO;
  fprintf(g, "  set title \"Selection of feature 1: P(a start ends with |cos_1| > |cos_2|, pure or mixed state)\\n"
             "feature 2 = %s, both at <c^2> = 3\"\n"
             "  set xlabel 'kurtosis of feature 1'\n  set ylabel 'P(feature 1 selected)'\n"
             "  set yrange [-0.05:1.05]\n  set key below\n"
             "  plot 'graded.csv' skip 1 using 2:($5==1?$6:1/0) with points pt 7 ps 1.5 title 'theory, both states stable (graded)', "
             "'' skip 1 using 2:($5==0?$6:1/0) with points pt 4 ps 1.5 title 'theory, feature-1 learned state a saddle', "
             "'' skip 1 using ($2+0.03):8:9 with yerrorbars pt 5 title 'reduced, N = %lld (+- se)'\n}\n",
          ref, Nm);
  fclose_in(S, g);

  /* where a graded effect exists: rademacher:3 against uniform:3 while one parameter varies */
  static const struct {
    const char *name;
    double v[5];
    int n;
  } sw[] = {{"s", {0, 0.25, 0.75, 1.0, 1.5}, 5}, {"rho", {-1, -0.5, 0.5, 1}, 4}, {"tau", {0.25, 0.75, 1.0}, 3},
            {"beta", {0.3, 0.4, 0.6}, 3}, {"m2", {2, 4, 6}, 3}};
  const int nsw = S->quick ? 1 : 5;
  FILE *w = fopen_in(S, "graded_sweep.csv");
  if (!w) return CL_EIO;
  fprintf(w, "param,value,graded,p_theory\n");
  fprintf(S->rep, "Where a graded effect exists: `rademacher:3` (kurtosis 1) against `uniform:3` (1.8), one parameter "
                  "varied from the default model at a time (theory at N = %lld, r0; `m2` sets both second moments):\n\n"
                  "| parameter | value | both stable | P(feature 1) | P - 1/2 |\n| --- | --- | --- | --- | --- |\n", Nm);
  double swmax = 0;
  int npt = 0, ipt = 0;
  for (int p = 0; p < nsw; p++) npt += S->quick ? 2 : sw[p].n;
  for (int p = 0; p < nsw; p++)
    for (int k = 0; k < (S->quick ? 2 : sw[p].n); k++, ipt++) { /* quick: two values (the structure only) */
      char a[256];
      cl_model m;
      double v = sw[p].v[k];
      if (!strcmp(sw[p].name, "m2"))
        snprintf(a, sizeof a, "--c rademacher:%g --c uniform:%g --N %lld", v, v, Nm);
      else if (!strcmp(sw[p].name, "beta"))
        snprintf(a, sizeof a, "--c rademacher:3 --c uniform:3 --N %lld --reg l2:%g", Nm, v);
      else snprintf(a, sizeof a, "--c rademacher:3 --c uniform:3 --N %lld --%s %g", Nm, sw[p].name, v);
      if ((st = parse_model(S, CL_CMD_BASIN, a, &m))) return fdrop_in(S, w), st;
      double ev1, ev2, var[CL_KMAX], P, th;
      int s1, s2;
      if ((st = pure_states(S, &m, &ev1, &ev2, &s1, &s2)) ||
          (st = cl_basin_escape_variances(&m, &S->c->ode.quad, var, S->err)) ||
          (st = angular_basin(S, &m, sqrt(var[0] / (double)Nm), nscan, nbis, tmax,
                              cl_span_part(&sp, II_LAWS + (II_SWEEP - II_LAWS) * ipt / npt,
                                           II_LAWS + (II_SWEEP - II_LAWS) * (ipt + 1) / npt),
                              &P, &th)))
        return fdrop_in(S, w), st;
      int graded = s1 == CL_STABLE && s2 == CL_STABLE;
      if (graded) swmax = fmax(swmax, fabs(P - 0.5));
      fprintf(w, "%s,%g,%d,%.8f\n", sw[p].name, v, graded, P);
      fprintf(S->rep, "| %s | %g | %s | %.5f | %+.5f |\n", sw[p].name, v, graded ? "yes" : "no", P, P - 0.5);
    }
  fclose_in(S, w);
  fprintf(S->rep, "\nLargest |P - 1/2| over the graded points of the sweep: %.4f.\n\n![](graded_sweep.png)\n\n", swmax);
  g = gp_open(S, "graded_sweep", 1000, 520);
  if (!g) return CL_EIO;
  fprintf(g, "  set title 'Graded effect, rademacher:3 against uniform:3: P(feature 1) - 1/2 as one parameter varies'\n"
             "  set xlabel 'parameter value'\n  set ylabel 'P(feature 1) - 1/2 (theory)'\n  set key outside right\n"
             "  plot for [p in 's rho tau beta m2'] 'graded_sweep.csv' skip 1 using 2:(strcol(1) eq p ? $4-0.5 : 1/0) "
             "with linespoints pt 7 title p\n}\n");
  fclose_in(S, g);

  /* the basin boundary of the graded case rademacher:3 against uniform:3 at several radii */
  {
    cl_model m;
    char a[256];
    snprintf(a, sizeof a, "--c rademacher:3 --c %s --N %lld", ref, Nm);
    if ((st = parse_model(S, CL_CMD_BASIN, a, &m))) return st;
    const double radii[] = {0.01, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.75};
    const int nr = S->quick ? 2 : 8;
    FILE *b = fopen_in(S, "graded_boundary.csv");
    if (!b) return CL_EIO;
    fprintf(b, "R_1,R_2\n");
    for (int i = 0; i < nr; i++) {
      double P, th;
      cl_span bsp = cl_span_part(&sp, II_SWEEP + (1 - II_SWEEP) * i / nr, II_SWEEP + (1 - II_SWEEP) * (i + 1) / nr);
      if ((st = angular_basin(S, &m, radii[i], nscan, nbis, tmax, bsp, &P, &th))) return fdrop_in(S, b), st;
      for (int q = 0; q < 4 && isfinite(th); q++)
        fprintf(b, "%.8f,%.8f\n", (q & 1 ? -1 : 1) * radii[i] * cos(th), (q & 2 ? -1 : 1) * radii[i] * sin(th));
    }
    fclose_in(S, b);
    cl_fixed_point *fp;
    int n;
    if ((st = cl_fixed_find(&m, NULL, NULL, 0, &fp, &n, S->err))) return st;
    FILE *fx = fopen_in(S, "graded_fixed.csv");
    if (!fx) return free(fp), CL_EIO;
    fprintf(fx, "R_1,R_2,stable\n");
    int nst = 0, nsd = 0, norb = 0;
    for (int i = 0; i < n; i++) {
      fprintf(fx, "%.8f,%.8f,%d\n", fp[i].y[0], fp[i].y[1], fp[i].stability == CL_STABLE);
      nst += fp[i].stability == CL_STABLE, nsd += fp[i].stability != CL_STABLE;
      norb = fp[i].orbit > norb ? fp[i].orbit : norb;
    }
    free(fp);
    fclose_in(S, fx);
    g = gp_open(S, "graded_portrait", 760, 700);
    if (!g) return CL_EIO;
    fprintf(g, "  set title 'rademacher:3 (R_1) against uniform:3 (R_2): basin boundary (Q(0) = 1)'\n"
               "  set xlabel 'R_1'\n  set ylabel 'R_2'\n  set size ratio -1\n  set key outside below\n"
               "  plot 'graded_boundary.csv' skip 1 using 1:2 with points pt 2 title 'basin boundary (bisection at fixed radius)', "
               "x title 'diagonal |R_1| = |R_2|' dt 3 lc rgb 'grey', -x notitle dt 3 lc rgb 'grey', "
               "'graded_fixed.csv' skip 1 using 1:($3==1?$2:1/0) with points pt 7 ps 1.5 lc rgb 'black' title 'stable fixed points', "
               "'' skip 1 using 1:($3==0?$2:1/0) with points pt 6 ps 1.5 lc rgb 'red' title 'saddles'\n}\n");
    fclose_in(S, g);
    fprintf(S->rep, "Phase portrait of the graded case `rademacher:3` against `%s`: the basin boundary found by "
                    "bisection at radii 0.01 to 0.75 (boundary angle near R = 0: %.6f rad, against pi/4 = %.6f "
                    "for equal basins).  Fixed points drawn: %d stable and %d saddles or unstable, %d orbits listed "
                    "with all their sign images by `cldyn fixed`.\n\n![](graded_portrait.png)\n\n",
            ref, theta_case, M_PI / 4, nst, nsd, norb);
  }
  int seen = maxdev > 3 * maxdev_se;
  fprintf(S->rep,
          "**Verdict: %s.**  At R = 0 the two features are equally unstable (finding (i)); which one is "
          "selected is decided by the attraction regions of the learned states, and two mechanisms must be "
          "separated.  *Empty basins* (%d of the laws above, from kurtosis %.3g up): feature 1's learned "
          "state is a saddle and P = 0 - local stability of the learned state, not a graded basin.  "
          "%s*Graded basins* (%d laws, both learned states stable): ",
          seen ? "supported, with the two mechanisms separated" : "partly supported: only empty basins are resolved",
          n_empty, kmin_empty, n_mixed ? "(Between the two, a saddle pure state whose starts go to stable mixed states.)  " : "",
          n_graded);
  if (seen)
    fprintf(S->rep, "P(feature 1) moves continuously with the kurtosis of feature 1; the largest deviation from 1/2 "
                    "is %.4f in theory and %.4f +- %.4f in the finite-N chain (%.1f standard errors from 1/2), "
                    "and up to %.4f over the parameter sweep.  The effect is real but moderate: a few per cent of the "
                    "starts.\n\n", maxdev_th, maxdev, maxdev_se, maxdev / maxdev_se, swmax);
  else
    fprintf(S->rep, "no deviation from 1/2 is resolved: |P - 1/2| <= %.4f (measured %.4f + 2 se) in the finite-N "
                    "chain, %.4f in theory over the sweep.\n\n", maxdev + 2 * maxdev_se, maxdev, swmax);
  return CL_OK;
}

/* ------------------------------------------------------------------ (iii) */
typedef struct {
  double R, Q, cos;
  cl_terms t;
} m1_point;

static cl_status stable_point(fstudy *S, const cl_model *m, m1_point *p) {
  cl_fixed_point *fp;
  int n;
  cl_status st = cl_fixed_find(m, NULL, NULL, 0, &fp, &n, S->err);
  if (st) return st;
  int best = -1;
  for (int i = 0; i < n; i++)
    if (fp[i].stability == CL_STABLE && fp[i].y[0] > 1e-6 && (best < 0 || fp[i].y[0] > fp[best].y[0])) best = i;
  if (best < 0) return free(fp), cl_fail(S->err, CL_EDIVERGE, "no stable learned state");
  p->R = fp[best].y[0], p->Q = fp[best].y[1], p->cos = p->R / sqrt(p->Q);
  free(fp);
  return cl_terms_eval(m, NULL, &p->R, p->Q, &p->t, S->err);
}

/* counterfactual: the drift of model a with the diffusion V of model b */
typedef struct {
  cl_drift *da, *db;
  double tau, B;
  int fail;
} cf_ctx;

static int cf_f(const gsl_vector *x, void *p, gsl_vector *f) {
  cf_ctx *c = p;
  double R = gsl_vector_get(x, 0), Q = gsl_vector_get(x, 1), dR, dQ;
  cl_m1_terms ta, tb;
  char e[CL_ERRLEN];
  if (cl_drift_eval(c->da, &R, &Q, &dR, &dQ, e) || cl_drift_m1_terms(c->da, &R, Q, &ta, e) ||
      cl_drift_m1_terms(c->db, &R, Q, &tb, e))
    return c->fail = 1, GSL_EDOM;
  gsl_vector_set(f, 0, dR);
  gsl_vector_set(f, 1, dQ + c->tau * c->tau * (tb.V - ta.V) / c->B);
  return GSL_SUCCESS;
}

static cl_status counterfactual(fstudy *S, const cl_model *ma, const cl_model *mb, const m1_point *start,
                                double *cosv) {
  cf_ctx c = {NULL, NULL, ma->tau, ma->B, 0};
  cl_status st = cl_drift_alloc(ma, NULL, &c.da, S->err);
  if (!st) st = cl_drift_alloc(mb, NULL, &c.db, S->err);
  gsl_multiroot_fsolver *sv = st ? NULL : gsl_multiroot_fsolver_alloc(gsl_multiroot_fsolver_hybrids, 2);
  gsl_vector *x = gsl_vector_alloc(2);
  if (!st && (!sv || !x)) st = cl_fail(S->err, CL_ENOMEM, "out of memory");
  if (!st) {
    gsl_set_error_handler_off();
    gsl_multiroot_function F = {cf_f, 2, &c};
    gsl_vector_set(x, 0, start->R), gsl_vector_set(x, 1, start->Q);
    gsl_multiroot_fsolver_set(sv, &F, x);
    int it = 0, s;
    do {
      s = gsl_multiroot_fsolver_iterate(sv);
      if (s) break;
      s = gsl_multiroot_test_residual(sv->f, 1e-13);
    } while (s == GSL_CONTINUE && ++it < 200);
    if (s != GSL_SUCCESS || c.fail) st = cl_fail(S->err, CL_EDIVERGE, "counterfactual root not found");
    else *cosv = gsl_vector_get(sv->x, 0) / sqrt(gsl_vector_get(sv->x, 1));
  }
  if (sv) gsl_multiroot_fsolver_free(sv);
  if (x) gsl_vector_free(x);
  cl_drift_free(c.da), cl_drift_free(c.db);
  return st;
}

/* logarithmic mean (for an exact additive split of a log difference) */
static double logmean(double a, double b) { return fabs(a - b) < 1e-14 * fabs(a) ? a : (a - b) / log(a / b); }

static cl_status sec_iii(fstudy *S, cl_span sp) {
  cl_status st;
  const double h = S->quick ? 0.5 : 0.125;
  cl_model base;
  if ((st = parse_model(S, CL_CMD_FIXED, "", &base))) return st;
  fprintf(S->rep,
          "### (iii) The mechanism of the noise effect\n\n"
          "With q0 = Q - |R|^2, the ODEs of docs/model.md s.6 give exactly\n\n"
          "    dq0/dt = -2 tau kappa q0 + tau^2 V / B,   kappa = beta - b_z - b_e,\n\n"
          "so at a fixed point q0* = tau V / (2 B kappa) and\n\n    1/cos*^2 - 1 = q0* / R*^2 = tau V / (2 B kappa R*^2).\n\n"
          "The diffusion V is why cos* < 1; rho acts on cos* through V and through kappa (and R*).  V splits into "
          "a data part V_data = E[(G1 + G2)^2] and a noise part V_noise = s^2 E[G1^2 + G2^2 + 2 rho G1 G2].  "
          "Default model (tanh, `rademacher:3`, tau 0.5, l2:0.5, s = 0.5, B = 1), at the stable learned state "
          "for each rho (`cldyn fixed --terms`); the last column checks the identity.\n\n"
          "| rho | R* | Q* | cos* | V | V_data | V_noise | b_z | b_e | kappa | q0* - tau V/(2 B kappa) |\n"
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
  FILE *f = fopen_in(S, "mechanism.csv");
  if (!f) return CL_EIO;
  fprintf(f, "rho,R,Q,cos,V,V_data,V_noise,b_z,b_e,kappa\n");
  m1_point pm = {0}, pp = {0};
  cl_model mm = base, mp = base;
  double idmax = 0;
  int n = (int)lround(2 / h);
  for (int k = 0; k <= n; k++) {
    cl_model m = base;
    m.rho = -1 + k * h;
    m1_point p;
    if ((st = stable_point(S, &m, &p))) return fdrop_in(S, f), st;
    double id = p.t.q0 - m.tau * p.t.V / (2 * m.B * p.t.kappa);
    idmax = fmax(idmax, fabs(id));
    fprintf(f, "%g,%.12g,%.12g,%.12g,%.12g,%.12g,%.12g,%.12g,%.12g,%.12g\n", m.rho, p.R, p.Q, p.cos, p.t.V, p.t.V_data,
            p.t.V_noise, p.t.b_z, p.t.b_e, p.t.kappa);
    fprintf(S->rep, "| %g | %.5f | %.5f | %.5f | %.5f | %.5f | %.5f | %.5f | %.5f | %.5f | %.1e |\n", m.rho, p.R, p.Q,
            p.cos, p.t.V, p.t.V_data, p.t.V_noise, p.t.b_z, p.t.b_e, p.t.kappa, id);
    if (k == 0) pm = p, mm = m;
    if (k == n) pp = p, mp = m;
    cl_span_update(&sp, 0.9 * (k + 1) / (n + 1)); /* the counterfactuals: the rest */
  }
  fclose_in(S, f);
  /* attribution of Delta log(1/cos^2 - 1) from rho = -1 to rho = +1 */
  double Lm = log(1 / (pm.cos * pm.cos) - 1), Lp = log(1 / (pp.cos * pp.cos) - 1), dL = Lp - Lm;
  double lV = logmean(pp.t.V, pm.t.V), lk = logmean(pp.t.kappa, pm.t.kappa);
  double cVd = (pp.t.V_data - pm.t.V_data) / lV, cVn = (pp.t.V_noise - pm.t.V_noise) / lV;
  double cbz = (pp.t.b_z - pm.t.b_z) / lk, cbe = (pp.t.b_e - pm.t.b_e) / lk;
  double cR = -2 * log(pp.R / pm.R), sum = cVd + cVn + cbz + cbe + cR;
  fprintf(S->rep,
          "\nLargest |q0* - tau V/(2 B kappa)| over the grid: %.1e.\n\n![](mechanism.png)\n\n"
          "**Attribution** of Delta = log(1/cos*^2 - 1) at rho = +1 minus at rho = -1 (= %.5f; positive: "
          "rho = +1 is worse).  log(1/cos*^2 - 1) = log(tau / 2B) + log V - log kappa - 2 log R*; each log "
          "difference is split exactly into its parts by dividing the differences of the parts by the "
          "logarithmic mean (so the rows add up to Delta):\n\n"
          "| part | at rho = -1 | at rho = +1 | contribution to Delta |\n| --- | --- | --- | --- |\n"
          "| V_data | %.5f | %.5f | %+.5f |\n| V_noise | %.5f | %.5f | %+.5f |\n"
          "| kappa via b_z | %.5f | %.5f | %+.5f |\n| kappa via b_e | %.5f | %.5f | %+.5f |\n"
          "| R* | %.5f | %.5f | %+.5f |\n| **sum** | | | %+.5f (Delta = %+.5f) |\n\n",
          idmax, dL, pm.t.V_data, pp.t.V_data, cVd, pm.t.V_noise, pp.t.V_noise, cVn, pm.t.b_z, pp.t.b_z, cbz, pm.t.b_e,
          pp.t.b_e, cbe, pm.R, pp.R, cR, sum, dL);
  FILE *a = fopen_in(S, "attribution.csv");
  if (!a) return CL_EIO;
  fprintf(a, "part,minus1,plus1,contribution\nV_data,%.12g,%.12g,%.12g\nV_noise,%.12g,%.12g,%.12g\n"
             "b_z,%.12g,%.12g,%.12g\nb_e,%.12g,%.12g,%.12g\nR,%.12g,%.12g,%.12g\ntotal,%.12g,%.12g,%.12g\n",
          pm.t.V_data, pp.t.V_data, cVd, pm.t.V_noise, pp.t.V_noise, cVn, pm.t.b_z, pp.t.b_z, cbz, pm.t.b_e, pp.t.b_e,
          cbe, pm.R, pp.R, cR, Lm, Lp, dL);
  fclose_in(S, a);
  /* counterfactuals */
  double c_mp, c_pm;
  if ((st = counterfactual(S, &mm, &mp, &pm, &c_mp)) || (st = counterfactual(S, &mp, &mm, &pp, &c_pm))) return st;
  cl_span_update(&sp, 1);
  fprintf(S->rep,
          "**Counterfactuals**: the fixed point of the drift of one rho with the diffusion V(R, Q) of the "
          "other (Newton from the first one's fixed point):\n\n| drift of | V of | cos* |\n| --- | --- | --- |\n"
          "| rho = -1 | rho = -1 | %.5f |\n| rho = -1 | rho = +1 | %.5f |\n| rho = +1 | rho = -1 | %.5f |\n"
          "| rho = +1 | rho = +1 | %.5f |\n\n",
          pm.cos, c_mp, c_pm, pp.cos);
  double gain = pm.cos - pp.cos, viaV = 0.5 * ((pm.cos - c_mp) + (c_pm - pp.cos));
  double shareV = (cVd + cVn) / dL, shareK = (cbz + cbe) / dL, shareR = cR / dL;
  int byV = shareV > 0.5;
  fprintf(S->rep,
          "The gain of rho = -1 over +1 in cos* is %.5f; swapping V alone moves cos* by %+.5f on average over the two "
          "drifts, swapping the drift alone by %+.5f.\n\n"
          "**Verdict: %s.**  Negatively correlated noise improves cos* in this model (%.5f at rho = -1 against %.5f at "
          "+1).  It does reduce the noise part of the gradient variance (V_noise %.5f against %.5f), but the data "
          "part rises (%.5f against %.5f), so the total V changes by only %+.1f%% from rho = +1 to -1 (%.5f against "
          "%.5f).  Shares of Delta = %.4f in log(1/cos*^2 - 1): V %.0f%% (data %+.4f, noise %+.4f), kappa %.0f%% "
          "(b_z %+.4f, b_e %+.4f), R* %.0f%%; the counterfactuals agree (%s).  So the gain is carried by %s: "
          "negatively correlated noise reduces the variance of the noise part of the gradient, %s.\n\n",
          gain, viaV, gain - viaV,
          byV ? "supported: the gain is carried by the gradient variance"
              : "partly supported: the gain is real, but it is not carried by the gradient variance",
          pm.cos, pp.cos, pm.t.V_noise, pp.t.V_noise, pm.t.V_data, pp.t.V_data, 100 * (pm.t.V / pp.t.V - 1), pm.t.V,
          pp.t.V, dL, 100 * shareV, cVd, cVn, 100 * shareK, cbz, cbe, 100 * shareR,
          fabs(viaV) < fabs(gain - viaV) ? "swapping the drift moves cos* more than swapping V" : "swapping V moves cos* more than swapping the drift",
          byV ? "the diffusion V" : "the drift, mainly through kappa = beta - b_z - b_e (the damping of the weights' part off the feature)",
          byV ? "and that is what improves cos*" : "but the total variance barely moves and is not what improves cos*");
  FILE *g = gp_open(S, "mechanism", 1100, 480);
  if (!g) return CL_EIO;
  fprintf(g, "  set multiplot layout 1,2 title 'The parts of 1/cos*^2 - 1 = tau V / (2 B kappa R*^2) against rho (s = 0.5)'\n"
             "  set xlabel 'rho'\n  set key outside below\n  set ylabel 'gradient second moment'\n"
             "  plot 'mechanism.csv' skip 1 using 1:5 with linespoints pt 7 lw 2 title 'V', "
             "'' skip 1 using 1:6 with linespoints pt 5 title 'V_{data}', '' skip 1 using 1:7 with linespoints pt 9 title 'V_{noise}'\n"
             "  set ylabel 'drift terms'\n"
             "  plot 'mechanism.csv' skip 1 using 1:10 with linespoints pt 7 lw 2 title 'kappa', "
             "'' skip 1 using 1:8 with linespoints pt 5 title 'b_z', '' skip 1 using 1:9 with linespoints pt 9 title 'b_e', "
             "'' skip 1 using 1:2 with linespoints pt 4 title 'R*'\n  unset multiplot\n}\n");
  fclose_in(S, g);
  return CL_OK;
}

cl_status cl_findings_report(const char *dir, int quick, FILE *rep, cl_progress_fn progress, void *pctx, char *err) {
  fstudy S = {dir, quick, rep, malloc(sizeof(cl_config)), err, {{0}}, {dir, err, NULL, NFF, 0}, {progress, pctx, 0, 1}};
  S.F.slot = S.slot;
  if (!S.c) return cl_fail(err, CL_ENOMEM, "out of memory");
  fprintf(rep, "## The findings as stated\n\nEach finding with its derivation or mechanism, the measurement that "
               "tests it and a verdict (docs/findings.md).\n\n");
  /* progress: (i) and (iii) are quick, (ii) is nearly all */
  cl_status st = sec_i(&S);
  cl_span_update(&S.prog, 0.01);
  if (!st) st = sec_iii(&S, cl_span_part(&S.prog, 0.01, 0.04));
  if (!st) st = sec_ii(&S, cl_span_part(&S.prog, 0.04, 1));
  cl_sfiles_close_all(&S.F, 0);
  if (!st && S.F.werr) st = CL_EIO; /* the message is in err */
  free(S.c);
  return st;
}
