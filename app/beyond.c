/* Beyond the paper (docs/findings.md s.5): M = 2 units with the
 * decorrelation penalty lambda sum_{i != j} g(C_ij), two rademacher:3
 * features.  For each lambda: the fixed points (which kinds exist and are
 * stable), the basin probabilities of each outcome from the escape law at
 * the model's N (docs/fixed-points.md s.5), and the outcome frequencies of
 * the exact finite-N chain (reduced) and, at one lambda, the full SGD
 * (simulate), with binomial standard errors and z.  Notation of
 * docs/model.md. */
#include "beyond.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cldyn/basin.h"
#include "cldyn/fixed.h"
#include "cldyn/ode.h"
#include "cldyn/rng.h"
#include "cldyn/reduced.h"
#include "cldyn/runner.h"
#include "cldyn/simulate.h"
#include "cldyn/tmpfiles.h"
#include "config.h"

/* basin starts at lambda = 1 (full study): with the reduced chain's 200
 * runs the z of a difference is not dominated by the basin's error */
#define NBASIN 200

typedef struct {
  const char *dir;
  int quick;
  FILE *rep;
  cl_config *c;
  char *err;
} bstudy;

/* a file written under a temporary name and renamed into place by bclose */
typedef struct {
  FILE *f;
  char tmp[4232], path[4200];
} bfile;

static FILE *bopen(bstudy *S, bfile *b, const char *name) {
  snprintf(b->path, sizeof b->path, "%s/%s", S->dir, name);
  snprintf(b->tmp, sizeof b->tmp, "%s.tmp.XXXXXX", b->path);
  b->f = NULL;
  if (!(b->f = cl_tmpfiles_open(b->tmp, "w"))) return cl_fail(S->err, CL_EIO, "cannot write '%s'", b->path), NULL;
  return b->f;
}

static cl_status bclose(bstudy *S, bfile *b) {
  if (!b->f) return CL_OK;
  int bad = ferror(b->f) != 0;
  bad |= fclose(b->f) != 0;
  b->f = NULL;
  mode_t mask = umask(0);
  umask(mask);
  if (!bad) bad = chmod(b->tmp, 0666 & ~mask) != 0 || rename(b->tmp, b->path) != 0;
  if (bad) unlink(b->tmp);
  cl_tmpfiles_unregister(b->tmp);
  return bad ? cl_fail(S->err, CL_EIO, "cannot write '%s'", b->path) : CL_OK;
}

/* The outcome classes of the report: the kinds of cl_basin_outcome, with
 * mixed, partial and uninformative merged into "other". */
enum { B_SPEC, B_SHARED, B_ROT, B_DEAD, B_OTHER, B_N };
static const char *bname[B_N] = {"specialised", "shared", "rotated", "dead", "other"};
static int bclass(int kind) {
  switch (kind) {
  case CL_KIND_SPECIALISED: return B_SPEC;
  case CL_KIND_SHARED: return B_SHARED;
  case CL_KIND_ROTATED: return B_ROT;
  case CL_KIND_DEAD: return B_DEAD;
  default: return B_OTHER;
  }
}

static void binom(long k, long n, double *p, double *se) {
  *p = n > 0 ? (double)k / (double)n : NAN;
  *se = n > 0 ? sqrt(*p * (1 - *p) / (double)n) : NAN;
}

/* |a - b| over the combined binomial standard error; with both proportions
 * 0 or 1 and equal the pooled proportion's error is 0 and z is 0 */
static double zscore(long ka, long na, long kb, long nb) {
  double pa = (double)ka / (double)na, pb = (double)kb / (double)nb;
  double p = (double)(ka + kb) / (double)(na + nb), se = sqrt(p * (1 - p) * (1.0 / na + 1.0 / nb));
  if (se > 0) return fabs(pa - pb) / se;
  return pa == pb ? 0 : INFINITY;
}

/* outcome counts of `runs` runs of engine e at their end time */
static cl_status chain_counts(bstudy *S, const cl_engine *e, const char *args, long runs, uint64_t seed,
                              long *count, double *first) {
  cl_status st = cl_config_parse_string(S->c, CL_CMD_REDUCED, args, S->err);
  if (st) return st;
  cl_schedule sc = S->c->sched;
  sc.runs = runs, sc.seed = seed;
  cl_traj *tr;
  if ((st = cl_runner_run(e, &S->c->model, &sc, 0, NULL, &tr, NULL, NULL, S->err))) return st;
  for (int q = 0; q < CL_NKINDS; q++) count[q] = 0;
  const int n = cl_state_size(tr->K, tr->M);
  for (long r = 0; r < runs; r++) {
    const double *y = cl_traj_row(tr, r, tr->nt - 1);
    int q = cl_basin_outcome_finite(tr->K, tr->M, y, S->c->model.N); /* the chain's N */
    if (first && !count[q]) memcpy(first + q * n, y, sizeof(double) * (size_t)n);
    count[q]++;
  }
  cl_traj_free(tr);
  return CL_OK;
}

/* largest |cos_ji| over features for unit i of a state y (K = M = 2) */
static double unit_cos(const double *y, int i) {
  double q = y[4 + (i == 0 ? 0 : 2)];
  if (q <= 0) return 0;
  return fmax(fabs(y[0 * 2 + i]), fabs(y[1 * 2 + i])) / sqrt(q);
}

static void to_classes(const long *kinds, long *cls) {
  for (int b = 0; b < B_N; b++) cls[b] = 0;
  for (int q = 0; q < CL_NKINDS; q++) cls[bclass(q)] += kinds[q];
}

/* The three report rows of one lambda (basin, reduced, simulate; a source
 * with n = 0 runs is "not run"): proportions of each class with binomial
 * standard errors, the basin's over its settled starts only (`unsettled` of
 * its nb starts had not settled at 4 tmax and are reported apart), and the
 * largest z of each source against the ones above it.  Returns that z. */
double cl_beyond_rows(FILE *rep, double lambda, const char *stable, int nsad, const long *cb, long nb,
                      long unsettled, const long *cr, long nr, const long *cs, long ns) {
  const long nbs = nb - unsettled;
  double zl = 0, zs = 0;
  for (int b = 0; b < B_N; b++) {
    if (nbs > 0 && nr > 0) zl = fmax(zl, zscore(cb[b], nbs, cr[b], nr));
    if (ns > 0 && nr > 0) zs = fmax(zs, zscore(cr[b], nr, cs[b], ns));
    if (ns > 0 && nbs > 0) zs = fmax(zs, zscore(cb[b], nbs, cs[b], ns));
  }
  for (int src = 0; src < 2 + (ns > 0); src++) {
    const long *c = src == 0 ? cb : src == 1 ? cr : cs;
    long nn = src == 0 ? nbs : src == 1 ? nr : ns;
    if (src == 0) fprintf(rep, "| %g | %s | %d |", lambda, stable[0] ? stable : "none", nsad);
    else fprintf(rep, "| | | |");
    if (src == 0 && unsettled > 0)
      fprintf(rep, " basin (%ld settled; %ld not settled at 4 tmax, left out) |", nbs, unsettled);
    else fprintf(rep, " %s (%ld) |", src == 0 ? "basin" : src == 1 ? "reduced" : "simulate", nn);
    if (nn == 0) {
      fprintf(rep, " (not run at this lambda) | | | | | |\n");
      continue;
    }
    for (int b = 0; b < B_N; b++) {
      double p, se;
      binom(c[b], nn, &p, &se);
      fprintf(rep, " %.3f +- %.3f |", p, se);
    }
    if (src == 0) fprintf(rep, " |\n");
    else if (src == 1) fprintf(rep, nbs > 0 ? " %.1f (against basin) |\n" : " |\n", zl);
    else fprintf(rep, " %.1f (against %sreduced) |\n", zs, nbs > 0 ? "basin and " : "");
  }
  return fmax(zl, zs);
}

cl_status cl_beyond_report(const char *dir, int quick, FILE *rep, char *err) {
  bstudy S = {dir, quick, rep, malloc(sizeof(cl_config)), err};
  if (!S.c) return cl_fail(err, CL_ENOMEM, "out of memory");
  static const double lfull[] = {0, 0.5, 1, 2}, lquick[] = {0.25, 1};
  const double *lam = quick ? lquick : lfull;
  const int nl = quick ? 2 : 4, qmc = 1024;
  const long long N = 500;
  const long ndir = quick ? 0 : NBASIN, nred = quick ? 40 : 200, nsim = quick ? 8 : 40;
  const double T = 30, lsim = 1; /* simulate at lambda = 1 only */
  const int n = cl_state_size(2, 2);
  cl_status st = CL_OK;
  double *ends = malloc(sizeof(double) * (size_t)(ndir + 1) * (size_t)n);
  int *settled = malloc(sizeof(int) * (size_t)(ndir + 1));
  bfile fo = {0}, ff = {0}, fg = {0};
  if (!ends || !settled) {
    free(ends), free(settled), free(S.c);
    return cl_fail(err, CL_ENOMEM, "out of memory");
  }
  fprintf(rep,
          "## Beyond the paper: collapse against specialisation (M = 2)\n\n"
          "Two output units with the decorrelation penalty `lambda sum_{i != j} g(C_ij)` (g = square), two "
          "features `rademacher:3` (exact atom sums), tanh, tau 0.5, l2:0.5, s = 0.5, B = 1, N = %lld.  "
          "The units may **specialise** (one on each feature), **share** a feature (collapse onto one "
          "direction), turn into a **rotated** orthogonal frame mixing the features, or one unit may "
          "**die** (Q_ii -> 0: dimensional collapse).  For each lambda:\n\n"
          "- **fixed points** (`cldyn fixed --M 2`, randomised Sobol' rules with 1024 points per rule, closed under "
          "the model's symmetry group and exact for the atoms of c; seeded Newton starts plus the basin's end states, so every attractor "
          "reached is also solved for): the kinds that exist, and the stable ones;\n"
          "- **basin** (`cldyn basin --M 2`; the costly part: only at lambda = %g, and not in `--quick`): %ld starts drawn from the escape law at N = %lld, each ODE "
          "(randomised Sobol' rules, `--qmc-points %d`) integrated to t = %g and its end state classified "
          "(docs/fixed-points.md s.5); a start that has not settled (the same outcome at t - t/6 and t, no component of "
          "the state moving by more than %g in between) is integrated again to 2t, then 4t, and if it still has not "
          "settled it is reported and left out of the proportions;\n"
          "- **reduced**: %ld runs of the exact finite-N chain (`reduced --init random`), classified by the "
          "same rule at t = %g; **simulate**: %ld runs of the full SGD at lambda = %g.\n\n"
          "Standard errors are binomial; z is |difference| over the pooled binomial standard error "
          "(theory is itself a sample of %ld starts).  'other' is mixed, partial or uninformative.\n\n"
          "| lambda | stable fixed points (kind: largest unit cos) | saddle orbits | source | specialised | "
          "shared | rotated | dead | other | largest z |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
          N, lsim, ndir, N, qmc, T, CL_BASIN_SETTLE_TOL, nred, T, nsim, lsim, ndir);
  FILE *o = bopen(&S, &fo, "beyond.csv"), *f = o ? bopen(&S, &ff, "beyond_fixed.csv") : NULL;
  if (!o || !f) {
    st = CL_EIO;
    goto out;
  }
  fprintf(o, "lambda");
  for (int b = 0; b < B_N; b++)
    fprintf(o, ",p_basin_%s,se_basin_%s,p_reduced_%s,se_reduced_%s,p_simulate_%s,se_simulate_%s", bname[b],
            bname[b], bname[b], bname[b], bname[b], bname[b]);
  fprintf(o, ",stable_kinds,basin_starts,basin_unsettled\n");
  fprintf(f, "lambda,orbit,kind,stability,images,max_re_eig,cos_unit1,cos_unit2,Q_1_1,Q_1_2,Q_2_2,residual\n");
  double zmax = 0;
  int spec_stable_any = 0;
  char summary[2048] = "";
  /* what fixed and basin note on stderr (docs/fixed-points.md s.2, docs/grid.md
   * s.6): orbits of unknown stability or with the fallback engine's Jacobian,
   * starts rerun with another engine.  The engines here are the Sobol' rules
   * asked for (--qmc-points), which the grid never replaces, so only the
   * first can occur; all are reported alike */
  char notes[1024] = "";
  int nmiss = 0;
  for (int l = 0; l < nl; l++) {
    /* the M = 2 basin is the costly part: only at the lambda of simulate */
    const int with_sim = fabs(lam[l] - lsim) < 1e-12;
    const long nd = with_sim ? ndir : 0;
    char a[512];
    /* fixed points and basin ODEs: the randomised Sobol' rules, 1024
     * points per rule, closed under the model's symmetry group (so the
     * orbits are exact, docs/multi.md s.5) and smooth in the state (the 4-d
     * tensor rule needs at least 10 nodes per direction to get the drift's
     * sign right, docs/multi.md s.6, which is far costlier) */
    snprintf(a, sizeof a, "--M 2 --c rademacher:3 --c rademacher:3 --lambda %g --N %lld --qmc-points %d", lam[l], N, qmc);
    if ((st = cl_config_parse_string(S.c, CL_CMD_BASIN, a, err))) goto out;
    cl_quad_opts qfix = S.c->ode.quad;
    cl_model m = S.c->model;
    cl_ode_opts oo = S.c->ode;
    long kb[CL_NKINDS] = {0}, kr[CL_NKINDS], ks[CL_NKINDS], cb[B_N], cr[B_N], cs[B_N];
    long unsettled = 0;
    if (nd > 0) {
      /* the starts run in parallel, each in its own slot: deterministic */
      cl_basin_multi_result br;
      if ((st = cl_basin_multi_ends(&m, &oo, nd, T, 7 + (uint64_t)l, 0, &br, ends, settled, err))) goto out;
      for (long k = 0; k < nd; k++)
        if (settled[k]) kb[cl_basin_outcome(2, 2, ends + k * n)]++;
      unsettled = br.unsettled;
      if (br.rerun[0]) {
        size_t u = strlen(notes);
        snprintf(notes + u, sizeof notes - u, "%slambda = %g, basin: %s", u ? "; " : "", lam[l], br.rerun);
      }
    }
    /* the chains */
    double first[CL_NKINDS * CL_STATE_MAX];
    snprintf(a, sizeof a, "--M 2 --c rademacher:3 --c rademacher:3 --lambda %g --N %lld --init random --T %g --dt-out %g",
             lam[l], N, T, T);
    if ((st = chain_counts(&S, &cl_engine_reduced, a, nred, 500 + (uint64_t)l, kr, first))) goto out;
    if (with_sim && (st = chain_counts(&S, &cl_engine_simulate, a, nsim, 600 + (uint64_t)l, ks, NULL))) goto out;
    /* the fixed points, seeded with one end state of each kind reached by
     * the basin's ODEs and by the chains */
    double extra[2 * CL_NKINDS * CL_STATE_MAX];
    int nx = 0, seen[CL_NKINDS] = {0};
    for (long k = 0; k < nd; k++) {
      int q = cl_basin_outcome(2, 2, ends + k * n);
      if (!seen[q]) seen[q] = 1, memcpy(extra + nx * n, ends + k * n, sizeof(double) * (size_t)n), nx++;
    }
    for (int q = 0; q < CL_NKINDS; q++)
      if (kr[q]) memcpy(extra + nx * n, first + q * n, sizeof(double) * (size_t)n), nx++;
    cl_fixed_opts fopt;
    cl_fixed_opts_default(&fopt);
    fopt.nrandom = 4;
    cl_fixed_point *fp = NULL;
    int nfp = 0;
    cl_fixed_info finfo;
    if ((st = cl_fixed_find_ex(&m, &qfix, &fopt, extra, nx, &fp, &nfp, &finfo, err))) goto out;
    if (finfo.jac_fallback || finfo.unknown) {
      size_t u = strlen(notes);
      snprintf(notes + u, sizeof notes - u, "%slambda = %g, fixed: %d orbit(s) with the fallback engine's Jacobian, %d of "
               "unknown stability", u ? "; " : "", lam[l], finfo.jac_fallback, finfo.unknown);
    }
    char stab[512] = "", kinds[256] = "";
    int nsad = 0, spec_stable = 0;
    for (int i = 0; i < nfp;) {
      int j = i;
      while (j < nfp && fp[j].orbit == fp[i].orbit) j++;
      double mx = -INFINITY;
      for (int k = 0; k < fp[i].n; k++) mx = fmax(mx, fp[i].eig_re[k]);
      const double *y = fp[i].y;
      /* a point on the collapse set by what its units do (shared, uninformative), as the chains' outcomes */
      const int kd = fp[i].kind == CL_KIND_COLLAPSED ? cl_fixed_kind_of(2, 2, y) : fp[i].kind;
      fprintf(f, "%g,%d,%s,%s,%d,%.6g,%.6f,%.6f,%.6f,%.6f,%.6f,%.2e\n", lam[l], fp[i].orbit, cl_fixed_kind_name(kd),
              cl_stability_name(fp[i].stability), j - i, mx, unit_cos(y, 0), unit_cos(y, 1), y[4], y[5], y[6],
              fp[i].residual);
      if (fp[i].stability == CL_STABLE) {
        size_t u = strlen(stab);
        snprintf(stab + u, sizeof stab - u, "%s%s: %.3f, %.3f (%d images)", u ? "; " : "", cl_fixed_kind_name(kd),
                 unit_cos(y, 0), unit_cos(y, 1), j - i);
        u = strlen(kinds);
        snprintf(kinds + u, sizeof kinds - u, "%s%s", u ? " " : "", cl_fixed_kind_name(kd));
        spec_stable |= fp[i].kind == CL_KIND_SPECIALISED;
      } else nsad++;
      i = j;
    }
    free(fp);
    spec_stable_any |= spec_stable;
    to_classes(kb, cb), to_classes(kr, cr);
    {
      int top = 0;
      for (int b = 1; b < B_N; b++)
        if (cr[b] > cr[top]) top = b;
      /* outcomes the chains reach whose kind has no stable fixed point found */
      char miss[128] = "";
      for (int b = 0; b < B_OTHER; b++)
        if (cr[b] > 0 && !strstr(kinds, bname[b])) {
          size_t v = strlen(miss);
          snprintf(miss + v, sizeof miss - v, "%s%s", v ? ", " : "", bname[b]);
          nmiss++;
        }
      size_t u = strlen(summary);
      snprintf(summary + u, sizeof summary - u, "%slambda = %g: %s (%.2f; stable: %s%s%s)", u ? "; " : "", lam[l],
               bname[top], (double)cr[top] / (double)nred, kinds[0] ? kinds : "none",
               miss[0] ? "; reached but not a stable fixed point found: " : "", miss);
    }
    long cs0[B_N] = {0};
    if (with_sim) to_classes(ks, cs);
    const long nbs = nd - unsettled; /* the basin's proportions: settled starts only */
    fprintf(o, "%g", lam[l]);
    for (int b = 0; b < B_N; b++) {
      double p1, s1, p2, s2, p3 = NAN, s3 = NAN;
      if (nbs > 0) binom(cb[b], nbs, &p1, &s1);
      else p1 = s1 = NAN;
      binom(cr[b], nred, &p2, &s2);
      if (with_sim) binom(cs[b], nsim, &p3, &s3);
      fprintf(o, ",%.6f,%.6f,%.6f,%.6f,%.6f,%.6f", p1, s1, p2, s2, p3, s3);
    }
    fprintf(o, ",%s,%ld,%ld\n", kinds[0] ? kinds : "none", nd, unsettled);
    /* three report rows: basin, reduced, simulate */
    zmax = fmax(zmax, cl_beyond_rows(rep, lam[l], stab, nsad, cb, nd, unsettled, cr, nred, with_sim ? cs : cs0,
                                     with_sim ? nsim : 0));
  }
  if (notes[0]) {
    fprintf(stderr, "cldyn: reproduce: beyond: %s (docs/fixed-points.md s.2, docs/grid.md s.6)\n", notes);
    fprintf(rep, "\nNotes of the engines: %s (docs/fixed-points.md s.2, docs/grid.md s.6).\n", notes);
  }
  if ((st = bclose(&S, &fo)) || (st = bclose(&S, &ff))) goto out;
  /* the figure: outcome probabilities against lambda, and the stable kinds */
  FILE *g = bopen(&S, &fg, "beyond.gp");
  if (!g) {
    st = CL_EIO;
    goto out;
  }
  fprintf(g, "set datafile separator ','\nset grid\n"
             "do for [t in 'png svg'] {\n  if (t eq 'png') { set terminal pngcairo size 1000,760 } "
             "else { set terminal svg size 1000,760 }\n  set output 'beyond.'.t\n"
             "  set multiplot layout 2,1 title 'M = 2 units, two rademacher:3 features: outcome from a random start against lambda (N = %lld)'\n"
             "  set key outside right\n  set xlabel 'lambda'\n  set ylabel 'P(outcome at t = %g)'\n  set yrange [-0.05:1.05]\n"
             "  set xrange [%g:%g]\n  plot ",
          N, T, lam[0] - 0.1, lam[nl - 1] + 0.1);
  static const char *col[B_N] = {"#1f77b4", "#d62728", "#2ca02c", "#000000", "#9467bd"};
  for (int b = 0; b < B_N; b++)
    fprintf(g, "%s'beyond.csv' skip 1 using 1:%d:%d with yerrorlines lw 2 pt 7 lc rgb '%s' title '%s (basin)', "
               "'' skip 1 using ($1+0.03):%d:%d with yerrorbars pt 5 lc rgb '%s' title '%s (reduced)', "
               "'' skip 1 using ($1-0.03):%d:%d with yerrorbars pt 9 ps 1.5 lc rgb '%s' title '%s (simulate)'",
            b ? ", " : "", 2 + 6 * b, 3 + 6 * b, col[b], bname[b], 4 + 6 * b, 5 + 6 * b, col[b], bname[b],
            6 + 6 * b, 7 + 6 * b, col[b], bname[b]);
  fprintf(g, "\n  set ylabel 'fixed-point kind'\n  set yrange [0.5:7.5]\n  unset key\n"
             "  set ytics ('uninformative' 1, 'specialised' 2, 'shared' 3, 'rotated' 4, 'mixed' 5, 'partial' 6, 'dead' 7)\n"
             "  set title 'fixed points: filled = stable, open = saddle or unstable'\n"
             "  k(s) = s eq 'uninformative' ? 1 : s eq 'specialised' ? 2 : s eq 'shared' ? 3 : s eq 'rotated' ? 4 : "
             "s eq 'mixed' ? 5 : s eq 'partial' ? 6 : 7\n"
             "  plot 'beyond_fixed.csv' skip 1 using 1:(strcol(4) eq 'stable' ? k(strcol(3)) : 1/0) with points pt 7 ps 2.2 lc rgb 'black', "
             "'' skip 1 using 1:(strcol(4) ne 'stable' ? k(strcol(3)) : 1/0) with points pt 6 ps 1.5 lc rgb 'red'\n"
             "  unset multiplot\n}\n");
  if ((st = bclose(&S, &fg))) goto out;
  fprintf(rep,
          "\nLargest z (theory against simulation, all outcomes and lambdas): %.1f.  Fixed points of every "
          "lambda, with their eigenvalues' largest real part, residual and number of images: `beyond_fixed.csv`.\n\n"
          "![](beyond.png)\n\n"
          "**What it shows.**  The most frequent outcome of the finite-N chain, with its frequency and the "
          "kinds of the stable fixed points: %s.  %s%s  (docs/findings.md s.5.)\n\n",
          zmax, summary,
          nmiss ? "Where the chains end in a kind with no stable fixed point listed, either they are still on a slow "
                  "transient at t = 30, or the finder does not converge there, or (with a stable partial state) the "
                  "chain is at that state and its weak unit (small Q_ii, R at the noise level N^-1/2) is read as "
                  "lying on a feature (docs/findings.md s.5); the table does not decide which.  "
                : "",
          spec_stable_any ? "A specialised state (one unit on each feature) is a stable fixed point at some lambda."
                          : "No specialised state (one unit on each feature) is a stable fixed point at any lambda "
                            "here.");
out:
  if (fo.f) fclose(fo.f), unlink(fo.tmp), cl_tmpfiles_unregister(fo.tmp);
  if (ff.f) fclose(ff.f), unlink(ff.tmp), cl_tmpfiles_unregister(ff.tmp);
  if (fg.f) fclose(fg.f), unlink(fg.tmp), cl_tmpfiles_unregister(fg.tmp);
  free(ends);
  free(settled);
  free(S.c);
  return st;
}
