/* The study of the paper's three findings (docs/model.md, introduction): data as CSV,
 * gnuplot scripts for the figures, and report.md, in one directory.
 * One function per section; every number in the report is computed here.
 * Notation of docs/model.md. */
#include "reproduce.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <omp.h>

#include "beyond.h"
#include "cldyn/basin.h"
#include "cldyn/data.h"
#include "densstat.h"
#include "config.h"
#include "findings.h"
#include "cldyn/fixed.h"
#include "cldyn/hist.h"
#include "cldyn/ode.h"
#include "cldyn/pde.h"
#include "plot.h"
#include "cldyn/rng.h"
#include "cldyn/reduced.h"
#include "cldyn/runner.h"
#include "cldyn/schedule.h"
#include "cldyn/simulate.h"
#include "studyfiles.h"

typedef struct {
  const char *dir;
  int quick;
  FILE *rep;    /* report.md */
  cl_config *c; /* scratch configuration, re-parsed by each step */
  char *err;
  cl_sfiles F; /* the files written (studyfiles.h); F.werr: one was lost, the run fails */
  cl_span sec;  /* the progress of the running section (progress.h) */
} study;
#define NTF 16 /* files open at once */

static double wall_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU seconds (user + system) of the whole process, all threads */
static double cpu_seconds(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru)) return NAN;
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + 1e-6 * (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static FILE *open_in(study *S, const char *name) { return cl_sfiles_open(&S->F, name); }

/* Close and rename into place (nonzero on a write error: the file is then
 * removed). */
static int close_in(study *S, FILE *f) { return cl_sfiles_close(&S->F, f, 1); }

/* gnuplot preamble writing both PNG and SVG of the same plot */
static void gp_begin(FILE *g, const char *name, const char *title, const char *xl, const char *yl) {
  fprintf(g, "set datafile separator ','\nset key outside right\nset grid\n"
             "set title \"%s\"\nset xlabel \"%s\"\nset ylabel \"%s\"\n", title, xl, yl);
  cl_gp_terminals(g, name, 900, 560);
}

/* binomial proportion k / n and its standard error */
static void binom(long k, long long n, double *p, double *se) {
  *p = n > 0 ? (double)k / (double)n : NAN;
  *se = sqrt(*p * (1 - *p) / (double)n);
}

/* |a - b| in units of the combined standard error ("-" style: NAN when both
 * errors vanish and the values differ, 0 when they agree exactly) */
static double zscore(double a, double sa, double b, double sb) {
  double s = sqrt(sa * sa + sb * sb);
  if (s > 0) return fabs(a - b) / s;
  return a == b ? 0 : INFINITY;
}

/* column of cos_j_1 in a trajectory row (M = 1) */
static int cos_col(int K, int j) { return K + 1 + j; }

/* 0. theory against simulation, default model */
static cl_status sec_ode_vs_sim(study *S) {
  cl_status st;
  int runs = S->quick ? 8 : 16;
  long long N = S->quick ? 2000 : 4000;
  char a[256];
  snprintf(a, sizeof a, "--N %lld --T 15 --dt-out 0.5", N);
  if ((st = cl_config_parse_string(S->c, CL_CMD_SIMULATE, a, S->err))) return st;
  S->c->sched.runs = runs;
  cl_traj *sim = NULL, *ode = NULL;
  if ((st = cl_runner_run(&cl_engine_simulate, &S->c->model, &S->c->sched, 0, NULL, &sim, NULL, NULL, S->err)))
    return st;
  cl_ode_opts o;
  cl_ode_opts_default(&o);
  if ((st = cl_ode_solve(&S->c->model, &S->c->sched, &o, &ode, NULL, S->err))) {
    cl_traj_free(sim);
    return st;
  }
  FILE *f = open_in(S, "ode_vs_sim.csv");
  if (!f) return cl_traj_free(sim), cl_traj_free(ode), CL_EIO;
  fprintf(f, "t,ode_cos,sim_mean,sim_sd,sim_se,z\n");
  /* the gap and its z at each output time (the runs' standard error of the
   * mean; the ODE's own error is far below it) */
  double maxgap = 0, gap_se = NAN, gap_z = NAN, gap_t = 0, zmax = 0, zmax_t = 0;
  int nz = 0;
  for (size_t k = 0; k < sim->nt; k++) {
    double m = 0, v = 0;
    for (int r = 0; r < runs; r++) m += cl_traj_row(sim, r, k)[2];
    m /= runs;
    for (int r = 0; r < runs; r++) v += pow(cl_traj_row(sim, r, k)[2] - m, 2);
    double oc = cl_traj_row(ode, 0, k)[2], sd = sqrt(v / (runs - 1)), se = sd / sqrt(runs);
    double z = se > 0 ? fabs(m - oc) / se : NAN;
    if (fabs(m - oc) > maxgap) maxgap = fabs(m - oc), gap_se = se, gap_z = z, gap_t = sim->t[k];
    if (se > 0) {
      nz++;
      if (z > zmax) zmax = z, zmax_t = sim->t[k];
    }
    fprintf(f, "%g,%.10g,%.10g,%.10g,%.10g,%.6g\n", sim->t[k], oc, m, sd, se, z);
  }
  close_in(S, f);
  cl_traj_free(sim);
  cl_traj_free(ode);
  FILE *g = open_in(S, "ode_vs_sim.gp");
  if (!g) return CL_EIO;
  gp_begin(g, "ode_vs_sim", "Default model: ODE against simulation", "t", "cos");
  fprintf(g, "  plot 'ode_vs_sim.csv' skip 1 using 1:($3-$4):($3+$4) with filledcurves lc rgb '#c0d0ff' "
             "title 'simulation mean +- sd', '' skip 1 using 1:3 with lines lw 2 title 'simulation mean', "
             "'' skip 1 using 1:2 with lines lw 2 dt 2 lc rgb 'black' title 'ODE'\n}\n");
  close_in(S, g);
  fprintf(S->rep, "## Theory against simulation\n\nDefault model, %d runs at N = %lld, from R(0) = 0.1 (the default).  "
                  "Largest |mean cos - ODE cos| over t in [0, 15]: %.4f at t = %g, where the runs' standard error of "
                  "the mean is %.4f (z = %.1f).  Largest z over the %d output times with a nonzero standard error: "
                  "%.1f (at t = %g; were the %d z independent standard normal, the largest would exceed 3 with "
                  "probability %.2f).\n\n"
                  "![](ode_vs_sim.png)\n\n",
          runs, N, maxgap, gap_t, gap_se, gap_z, nz, zmax, zmax_t, nz, 1 - pow(1 - erfc(3 / sqrt(2)), nz));
  return CL_OK;
}

/* (i) the learnability threshold sees only <c^2>; bifurcation diagram */
static cl_status sec_threshold(study *S) {
  cl_status st;
  const char *laws[] = {"gauss", "rademacher", "uniform", "laplace", "student:1:9"};
  fprintf(S->rep, "## Finding (i): only the second moment decides learnability at R = 0\n\n"
                  "| law | kurtosis | critical <c^2> |\n| --- | --- | --- |\n");
  FILE *f = open_in(S, "threshold.csv");
  if (!f) return CL_EIO;
  fprintf(f, "law,kurtosis,critical_m2\n");
  double lo = INFINITY, hi = -INFINITY, m2c_rad = NAN;
  for (int l = 0; l < 5; l++) {
    char a[128];
    snprintf(a, sizeof a, "--c %s", laws[l]);
    double m2c;
    if ((st = cl_config_parse_string(S->c, CL_CMD_FIXED, a, S->err)) ||
        (st = cl_fixed_critical_m2(&S->c->model, NULL, 0, &m2c, S->err)))
      return close_in(S, f), st;
    lo = fmin(lo, m2c), hi = fmax(hi, m2c);
    if (l == 1) m2c_rad = m2c; /* rademacher: the law of the bifurcation diagram */
    fprintf(f, "%s,%g,%.12g\n", laws[l], cl_law_kurtosis(&S->c->model.c[0]), m2c);
    fprintf(S->rep, "| %s | %g | %.10f |\n", laws[l], cl_law_kurtosis(&S->c->model.c[0]), m2c);
  }
  close_in(S, f);
  fprintf(S->rep, "\nSpread across laws: %.2e.\n\n", hi - lo);
  /* bifurcation diagram in <c^2> (rademacher) */
  if ((st = cl_config_parse_string(S->c, CL_CMD_FIXED, "", S->err))) return st;
  FILE *b = open_in(S, "bifurcation.csv");
  if (!b) return CL_EIO;
  fprintf(b, "m2,cos,stable\n");
  double step = S->quick ? 0.25 : 0.1;
  for (double m2 = 0.5; m2 <= 4 + 1e-9; m2 += step) {
    cl_config cc = *S->c;
    cl_fixed_point *fp;
    int n;
    if ((st = cl_config_set_number(&cc, "m2_1", m2, S->err)) ||
        (st = cl_fixed_find(&cc.model, NULL, NULL, 0, &fp, &n, S->err)))
      return close_in(S, b), st;
    for (int i = 0; i < n; i++)
      fprintf(b, "%g,%.10g,%d\n", m2, fp[i].y[0] / sqrt(fp[i].y[1]), fp[i].stability == CL_STABLE);
    free(fp);
  }
  close_in(S, b);
  FILE *g = open_in(S, "bifurcation.gp");
  if (!g) return CL_EIO;
  gp_begin(g, "bifurcation", "Fixed points against <c^2> (rademacher, default model)", "<c^2>", "cos at the fixed point");
  fprintf(g, "  set arrow from %.6f, graph 0 to %.6f, graph 1 nohead dt 2 lc rgb 'red'\n"
             "  set label 'threshold <c^2> = %.4f' at %.6f, graph 0.5 offset 1,0 tc rgb 'red'\n"
             "  set key outside below\n", m2c_rad, m2c_rad, m2c_rad, m2c_rad);
  fprintf(g, "  plot 'bifurcation.csv' skip 1 using 1:($3==1?$2:1/0) with points pt 7 title 'stable', "
             "'' skip 1 using 1:($3==0?$2:1/0) with points pt 6 title 'unstable or saddle'\n}\n");
  close_in(S, g);
  fprintf(S->rep, "![](bifurcation.png)\n\n");
  return CL_OK;
}

/* The selection frequency of feature 1 among `runs` runs of engine `e` from
 * a random start (the options `args`), at the end time: a run selects the
 * feature with the largest |cos_j|; it is unsettled if that is below 0.5. */
static cl_status select_freq(study *S, const cl_engine *e, const char *args, long long runs,
                             uint64_t seed, cl_span prog, long *n1, long *unsettled) {
  cl_status st = cl_config_parse_string(S->c, CL_CMD_REDUCED, args, S->err);
  if (st) return st;
  S->c->sched.runs = runs, S->c->sched.seed = seed;
  cl_traj *tr;
  if ((st = cl_runner_run(e, &S->c->model, &S->c->sched, 0, NULL, &tr, cl_span_update, &prog, S->err))) return st;
  const int K = tr->K;
  *n1 = 0, *unsettled = 0;
  for (long long r = 0; r < runs; r++) {
    const double *row = cl_traj_row(tr, r, tr->nt - 1);
    int best = 0;
    for (int j = 1; j < K; j++)
      if (fabs(row[cos_col(K, j)]) > fabs(row[cos_col(K, best)])) best = j;
    *n1 += best == 0;
    *unsettled += fabs(row[cos_col(K, best)]) < 0.5;
  }
  cl_traj_free(tr);
  return CL_OK;
}

/* The ODE side of finding (ii): nd starts R(0) ~ N(0, diag(var) / N) from
 * the escape law of cl_basin_run (Q(0) = Q0), integrated to tmax; feature 1 is
 * selected at time t if |cos_1| is the largest there.  *n1_end counts that
 * at t = tend (the runs' end time), *n1_inf at t = tmax (the basin
 * probability of `cldyn basin` when every start has reached a stable point);
 * *unsettled counts the starts whose largest |cos| at tmax is below 0.5. */
static cl_status ode_select(study *S, const cl_model *m, long nd, uint64_t seed, double tend, double tmax,
                            cl_span prog, long *n1_end, long *n1_inf, long *unsettled) {
  const int K = m->K;
  double var[CL_KMAX];
  cl_status st = cl_basin_escape_variances(m, &S->c->ode.quad, var, S->err);
  if (st) return st;
  double *R0 = malloc(sizeof(double) * (size_t)nd * (size_t)K);
  cl_rng *rng;
  cl_rng_alloc(seed, 0x6261, &rng, NULL);
  if (!R0 || !rng) return free(R0), cl_rng_free(rng), cl_fail(S->err, CL_ENOMEM, "out of memory");
  for (long k = 0; k < nd * K; k++) R0[k] = sqrt(var[k % K] / (double)m->N) * cl_rng_gauss(rng);
  cl_rng_free(rng);
  long a = 0, b = 0, u = 0, bad = -1, done = 0;
  char e0[CL_ERRLEN] = "";
  const cl_ode_opts *o = &S->c->ode;
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : a, b, u)
  for (long k = 0; k < nd; k++) {
    cl_model mm = *m;
    memcpy(mm.R0, R0 + k * K, sizeof(double) * (size_t)K);
    mm.init = CL_INIT_OVERLAP;
    /* output at tend and tmax only */
    cl_schedule s = {.T = tmax, .dt_out = tend, .runs = 1, .seed = 1};
    cl_traj *tr;
    char e[CL_ERRLEN];
    if (cl_ode_solve(&mm, &s, o, &tr, NULL, e)) {
#pragma omp critical(cl_rep_err)
      if (bad < 0 || k < bad) bad = k, memcpy(e0, e, CL_ERRLEN);
      continue;
    }
    for (int w = 0; w < 2; w++) {
      const double *row = cl_traj_row(tr, 0, w == 0 ? 1 : tr->nt - 1);
      int best = 0;
      for (int j = 1; j < K; j++)
        if (fabs(row[cos_col(K, j)]) > fabs(row[cos_col(K, best)])) best = j;
      if (w == 0) a += best == 0;
      else b += best == 0, u += fabs(row[cos_col(K, best)]) < 0.5;
    }
    cl_traj_free(tr);
#pragma omp critical(cl_rep_progress)
    cl_span_update(&prog, (double)++done / (double)nd);
  }
  free(R0);
  if (bad >= 0) return cl_fail(S->err, CL_EDIVERGE, "ODE from start %ld: %s", bad + 1, e0);
  *n1_end = a, *n1_inf = b, *unsettled = u;
  return CL_OK;
}

/* (ii) selection probability against the kurtosis of feature 1 (equal <c^2>):
 * ODE basins against the reduced chain at N = 2000 and simulate at N = 1000
 * (with equal second moments the basin probability does not depend on N;
 * the smaller N keep the full study within its time budget) */
/* progress of a law of sec_selection: the ODEs up to SEL_ODE, the chains up to SEL_RED, then the SGD */
#define SEL_ODE 0.4
#define SEL_RED 0.6

static cl_status sec_selection(study *S) {
  cl_status st;
  /* Reference feature rademacher:3, not gauss:3: when feature 2 is Gaussian,
   * its learned state is exactly marginal along R_1 (docs/theory.md s.8), so
   * finite-N runs linger near it for times >> log N and the end-time
   * frequency depends on the end time.  Feature 1 Gaussian is left out for
   * the same reason. */
  const char *ref = "rademacher:3";
  const char *full[] = {"rademacher:3", "sparse:3:0.5", "sparse:3:0.35", "student:3:10", "laplace:3"};
  const char *quick[] = {"rademacher:3", "sparse:3:0.5", "sparse:3:0.2"}; /* discrete: fast quadrature */
  const char **laws = S->quick ? quick : full;
  const int nl = S->quick ? 3 : 5;
  const long nd = S->quick ? 100 : 300;
  const long long nred = S->quick ? 100 : 1000, nsim = S->quick ? 16 : 40;
  const long long Nred = 2000, Nsim = 1000;
  const double Tend = 25, tmax = 200;
  fprintf(S->rep,
          "## Finding (ii): higher moments change which feature is selected\n\n"
          "Two features with equal second moments (so equal growth rates at R = 0): feature 1 has "
          "the law below, feature 2 is `%s`.  P(feature 1) is the probability that a random start "
          "ends with |cos_1| > |cos_2|, the rule used for every column.\n\n"
          "- **ODE**: %ld starts R(0) drawn from the escape law of `cldyn basin` at N = %lld "
          "(docs/theory.md s.8), integrated by the ODEs; classified at t = %g (**basin**: every "
          "start has then reached a stable fixed point, this is `cldyn basin`'s probability of the "
          "stable points with |R_1| > |R_2|) and at the runs' end time t = %g.  With equal second "
          "moments the escape law is isotropic, so the basin probability does not depend on N; "
          "the value at t = %g does (through the escape time, about log(sqrt N) / 0.40).\n"
          "- **reduced**: %lld runs of the exact finite-N chain (`cldyn reduced --init random`) "
          "at N = %lld; **simulate**: %lld runs of the full SGD at N = %lld.  Each run is "
          "classified at its end time t = %g.  Unsettled: runs (or ODE starts at t = %g) whose "
          "largest |cos_j| is below 0.5; they are still classified.\n"
          "- Standard errors are binomial, sqrt(p (1 - p) / n); z is |difference| over the "
          "combined standard error, against the basin (z_b) and against the ODE at the end time "
          "(z_t).\n\n"
          "| law of feature 1 | kurtosis | ODE basin | ODE at t = %g | reduced N = %lld | z_b | z_t | "
          "simulate N = %lld | z_b | z_t | unsettled (ODE, reduced, simulate) |\n"
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
          ref, nd, Nred, tmax, Tend, Tend, nred, Nred, nsim, Nsim, Tend, tmax, Tend, Nred, Nsim);
  FILE *f = open_in(S, "selection.csv");
  if (!f) return CL_EIO;
  fprintf(f, "law,kurtosis,p_ode,se_ode,p_ode_end,se_ode_end,p_reduced,se_reduced,p_simulate,se_simulate,"
             "unsettled_ode,unsettled_reduced,unsettled_simulate,state1_stable\n");
  double zmax_b = 0, zmax_t = 0;
  for (int l = 0; l < nl; l++) {
    char a[256];
    /* progress: each law an equal part, split among the ODEs, the chains and the SGD runs */
    cl_span lsp = cl_span_part(&S->sec, (double)l / nl, (l + 1.0) / nl);
    snprintf(a, sizeof a, "--c %s --c %s --N %lld", laws[l], ref, Nred);
    if ((st = cl_config_parse_string(S->c, CL_CMD_BASIN, a, S->err))) return close_in(S, f), st;
    double kurt = cl_law_kurtosis(&S->c->model.c[0]);
    cl_model m = S->c->model;
    long n1e = 0, n1i = 0, uo = 0, n1r = 0, ur = 0, n1s = 0, us = 0;
    if ((st = ode_select(S, &m, nd, 1 + (uint64_t)l, Tend, tmax, cl_span_part(&lsp, 0, SEL_ODE), &n1e, &n1i, &uo)))
      return close_in(S, f), st;
    snprintf(a, sizeof a, "--c %s --c %s --N %lld --init random --T %g --dt-out %g", laws[l], ref, Nred, Tend, Tend);
    if ((st = select_freq(S, &cl_engine_reduced, a, nred, 100 + (uint64_t)l, cl_span_part(&lsp, SEL_ODE, SEL_RED),
                          &n1r, &ur)))
      return close_in(S, f), st;
    snprintf(a, sizeof a, "--c %s --c %s --N %lld --init random --T %g --dt-out %g", laws[l], ref, Nsim, Tend, Tend);
    if ((st = select_freq(S, &cl_engine_simulate, a, nsim, 200 + (uint64_t)l, cl_span_part(&lsp, SEL_RED, 1),
                          &n1s, &us)))
      return close_in(S, f), st;
    /* is feature 1's pure learned state stable (graded) or a saddle (empty basin)? */
    cl_fixed_point *fp;
    int nf, s1 = -1;
    if ((st = cl_fixed_find(&m, NULL, NULL, 0, &fp, &nf, S->err))) return close_in(S, f), st;
    for (int i = 0; i < nf; i++)
      if (fp[i].y[0] > 0.05 && fabs(fp[i].y[1]) < 1e-6) s1 = fp[i].stability == CL_STABLE;
    free(fp);
    double pb, seb, pe, see, pr, ser, ps, ses;
    binom(n1i, nd, &pb, &seb);
    binom(n1e, nd, &pe, &see);
    binom(n1r, nred, &pr, &ser);
    binom(n1s, nsim, &ps, &ses);
    double zrb = zscore(pb, seb, pr, ser), zrt = zscore(pe, see, pr, ser);
    double zsb = zscore(pb, seb, ps, ses), zst = zscore(pe, see, ps, ses);
    zmax_b = fmax(zmax_b, fmax(zrb, zsb)), zmax_t = fmax(zmax_t, fmax(zrt, zst));
    fprintf(f, "%s,%g,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%d\n", laws[l], kurt, pb, seb, pe,
            see, pr, ser, ps, ses, (double)uo / (double)nd, (double)ur / (double)nred, (double)us / (double)nsim, s1);
    fprintf(S->rep,
            "| %s | %.3g | %.3f +- %.3f | %.3f +- %.3f | %.3f +- %.3f | %.1f | %.1f | %.3f +- %.3f | %.1f | "
            "%.1f | %ld, %ld, %ld |\n",
            laws[l], kurt, pb, seb, pe, see, pr, ser, zrb, zrt, ps, ses, zsb, zst, uo, ur, us);
  }
  close_in(S, f);
  FILE *g = open_in(S, "selection.gp");
  if (!g) return CL_EIO;
  gp_begin(g, "selection", "P(a run ends with |cos_1| > |cos_2|, pure or mixed state); feature 2: rademacher:3, equal <c^2>",
           "kurtosis of feature 1", "P(feature 1 selected)");
  fprintf(g, "  set yrange [-0.05:1.05]\n  set key outside below\n"
             "  plot 'selection.csv' skip 1 using 2:3:4 with yerrorlines pt 7 lw 2 title 'ODE basin (t = %g)', "
             "'' skip 1 using 2:5:6 with yerrorlines pt 6 lw 1 dt 2 title 'ODE at t = %g', "
             "'' skip 1 using ($2+0.06):7:8 with yerrorbars pt 5 title 'reduced, N = %lld, t = %g', "
             "'' skip 1 using ($2-0.06):9:10 with yerrorbars pt 9 title 'simulate, N = %lld, t = %g', "
             "'' skip 1 using 2:($14==0?$3:1/0) with points pt 4 ps 3 lc rgb 'red' title 'feature-1 learned state is a saddle (empty basin)'\n}\n",
          tmax, Tend, Nred, Tend, Nsim, Tend);
  close_in(S, g);
  fprintf(S->rep, "\nLargest z against the basin: %.1f; against the ODE at the end time: %.1f.  (Points "
                  "offset by +-0.06 in kurtosis in the figure for legibility.)  Where the basin gives 0 but "
                  "runs give a few per cent, those runs sit near the feature-1 state, a saddle, at the end "
                  "time, and the ODE at the same time shows the same.\n\n![](selection.png)\n\n",
          zmax_b, zmax_t);
  return CL_OK;
}

/* (c) phase portrait in the (cos_1, cos_2) plane for one pair of laws */
static cl_status sec_phase(study *S) {
  cl_status st;
  const char *pair = "--c sparse:3:0.5 --c rademacher:3";
  const int n = S->quick ? 20 : 40; /* even: no start on the invariant axes */
  const double tmax = 200;
  if ((st = cl_config_parse_string(S->c, CL_CMD_BASIN, pair, S->err))) return st;
  const cl_model *m = &S->c->model;
  /* stable points (with the mixed states polished from basin end points) */
  cl_basin_result res;
  if ((st = cl_basin_run(m, &S->c->ode, 100, tmax, 3, 0, &res, S->err))) return st;
  int *which = malloc(sizeof(int) * (size_t)(n * n));
  if (!which) {
    st = cl_fail(S->err, CL_ENOMEM, "out of memory");
    goto out;
  }
  if ((st = cl_basin_map(m, &S->c->ode, &res, n, tmax, 0, which, S->err))) goto out;
  FILE *f = open_in(S, "phase_map.csv"), *b = open_in(S, "phase_boundary.csv");
  if (!f || !b) {
    if (f) close_in(S, f);
    if (b) close_in(S, b);
    st = CL_EIO;
    goto out;
  }
  /* Q(0) = 1: the grid's R(0) is its cos(0) */
  fprintf(f, "cos_1,cos_2,fixed_point\n");
  fprintf(b, "cos_1,cos_2\n");
  long nnone = 0, nin = 0;
  for (int k = 0; k < n * n; k++) {
    if (which[k] < 0) continue;
    double x = cl_basin_map_coord(m, n, k % n), y = cl_basin_map_coord(m, n, k / n);
    nin++, nnone += which[k] == res.nfp;
    fprintf(f, "%.6f,%.6f,%d\n", x, y, which[k] == res.nfp ? 0 : which[k] + 1);
    /* the boundary: midpoints between neighbours reaching different points */
    if (k % n + 1 < n && which[k + 1] >= 0 && which[k + 1] != which[k])
      fprintf(b, "%.6f,%.6f\n", (x + cl_basin_map_coord(m, n, k % n + 1)) / 2, y);
    if (k / n + 1 < n && which[k + n] >= 0 && which[k + n] != which[k])
      fprintf(b, "%.6f,%.6f\n", x, (y + cl_basin_map_coord(m, n, k / n + 1)) / 2);
  }
  close_in(S, f);
  close_in(S, b);
  /* all fixed points: the stable ones of the basin and the others Newton finds */
  cl_fixed_point *fp;
  int nfp;
  if ((st = cl_fixed_find(m, &S->c->ode.quad, NULL, 0, &fp, &nfp, S->err))) goto out;
  FILE *p = open_in(S, "phase_fixed.csv");
  if (!p) {
    free(fp);
    st = CL_EIO;
    goto out;
  }
  fprintf(p, "cos_1,cos_2,stable\n");
  for (int i = 0; i < res.nfp; i++)
    fprintf(p, "%.6f,%.6f,1\n", res.fp[i].y[0] / sqrt(res.fp[i].y[2]), res.fp[i].y[1] / sqrt(res.fp[i].y[2]));
  int nsad = 0;
  for (int i = 0; i < nfp; i++)
    if (fp[i].stability != CL_STABLE)
      nsad++, fprintf(p, "%.6f,%.6f,0\n", fp[i].y[0] / sqrt(fp[i].y[2]), fp[i].y[1] / sqrt(fp[i].y[2]));
  free(fp);
  close_in(S, p);
  /* a few ODE trajectories: small starts around the uninformative state and
   * larger ones */
  FILE *tf = open_in(S, "phase_traj.csv");
  if (!tf) {
    st = CL_EIO;
    goto out;
  }
  fprintf(tf, "cos_1,cos_2\n");
  const int ntr = 16;
  for (int k = 0; k < ntr && !st; k++) {
    double ang = 2 * M_PI * (k / 2 + 0.25) / (ntr / 2), rad = k % 2 ? 0.7 : 0.02;
    cl_model mm = *m;
    mm.R0[0] = rad * cos(ang), mm.R0[1] = rad * sin(ang), mm.Q0[0] = 1, mm.init = CL_INIT_OVERLAP;
    cl_schedule s = {.T = 40, .dt_out = 0.1, .runs = 1, .seed = 1};
    cl_traj *tr;
    if ((st = cl_ode_solve(&mm, &s, &S->c->ode, &tr, NULL, S->err))) break;
    for (size_t t = 0; t < tr->nt; t++) {
      const double *row = cl_traj_row(tr, 0, t);
      fprintf(tf, "%.6f,%.6f\n", row[cos_col(2, 0)], row[cos_col(2, 1)]);
    }
    fprintf(tf, "\n"); /* a blank line separates the curves */
    cl_traj_free(tr);
  }
  close_in(S, tf);
  if (st) goto out;
  FILE *g = open_in(S, "phase.gp");
  if (!g) {
    st = CL_EIO;
    goto out;
  }
  /* one distinct colour per stable point, black for none */
  static const char *colours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                  "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};
  fprintf(g, "set datafile separator ','\nset key outside bottom center horizontal\nset size ratio -1\n"
             "set title \"Phase portrait: feature 1 sparse:3:0.5, feature 2 rademacher:3 (Q(0) = 1)\"\n"
             "set xlabel 'cos_1'\nset ylabel 'cos_2'\nset xrange [-1:1]\nset yrange [-1:1]\n"
             "set cblabel 'stable fixed point reached (0: none)'\nset cbrange [-0.5:%d.5]\nset cbtics 1\n"
             "set palette defined (0 'black', 1 'black'",
          res.nfp);
  /* a step function: colour k on [k, k + 1] of [0, nfp + 1] */
  for (int i = 0; i < res.nfp; i++)
    fprintf(g, ", %d '%s', %d '%s'", i + 1, colours[i % 10], i + 2, colours[i % 10]);
  fprintf(g, ")\n");
  cl_gp_terminals(g, "phase", 820, 860);
  fprintf(g, "  plot 'phase_map.csv' skip 1 using 1:2:3 with points pt 5 ps %s lc palette notitle, "
             "'phase_boundary.csv' skip 1 using 1:2 with points pt 7 ps 0.3 lc rgb 'black' title 'basin boundary', "
             "'phase_traj.csv' skip 1 using 1:2 with lines lw 1.5 lc rgb '#404040' title 'ODE trajectories', "
             "'phase_fixed.csv' skip 1 using 1:($3==1?$2:1/0) with points pt 7 ps 1.8 lc rgb 'black' title 'stable', "
             "'' skip 1 using 1:($3==0?$2:1/0) with points pt 8 ps 1.8 lc rgb 'red' title 'saddle or unstable'\n}\n",
          S->quick ? "1.6" : "1.0");
  close_in(S, g);
  fprintf(S->rep,
          "## Phase portrait\n\nFeature 1 `sparse:3:0.5`, feature 2 `rademacher:3`.  Colour: the stable "
          "fixed point the ODE reaches (t = %g) from R(0) on a %d x %d grid with Q(0) = 1, so that the "
          "start's R is its cos (%ld starts inside the disc |R| < 1; %ld reach none of the %d stable "
          "points).  Black dots: the basin boundary (midpoints between neighbouring starts that reach "
          "different points).  Filled circles: the stable points; red triangles: the %d saddles and "
          "unstable points found by `cldyn fixed` (projected on the plane; their Q differs).  Grey: "
          "ODE trajectories from |R(0)| = 0.02 and 0.7.\n\n![](phase.png)\n\n",
          tmax, n, n, nin, nnone, res.nfp, nsad);
out:
  free(which);
  cl_basin_result_free(&res);
  return st;
}

/* V of docs/model.md s.6 for model m at the state y = (R, Q) (K = 1) */
static cl_status V_at(study *S, const cl_model *m, const double *y, double *V) {
  cl_drift *d;
  cl_status ast = cl_drift_alloc(m, NULL, &d, S->err);
  if (ast) return ast;
  cl_m1_terms t;
  cl_status st = cl_drift_m1_terms(d, y, y[1], &t, S->err);
  if (!st) *V = t.V;
  cl_drift_free(d);
  return st;
}

/* the ODE's stable learned state y = (R, Q) (largest cos; cos 0 if only
 * R = 0 is stable) and the gradient variance V there (K = 1) */
static cl_status stable_state(study *S, const cl_model *m, double *y, double *cosv, double *V) {
  cl_fixed_point *fp;
  int n;
  cl_status st = cl_fixed_find(m, NULL, NULL, 0, &fp, &n, S->err);
  if (st) return st;
  int best = -1;
  for (int i = 0; i < n; i++)
    if (fp[i].stability == CL_STABLE && fp[i].y[0] >= -1e-9 &&
        (best < 0 || fp[i].y[0] / sqrt(fp[i].y[1]) > fp[best].y[0] / sqrt(fp[best].y[1])))
      best = i;
  *cosv = NAN, *V = NAN, y[0] = y[1] = NAN;
  if (best >= 0) {
    y[0] = fmax(fp[best].y[0], 0), y[1] = fp[best].y[1];
    *cosv = y[0] / sqrt(y[1]);
    st = V_at(S, m, y, V);
  }
  free(fp);
  return st;
}

/* mean of cos over t in [t0, T] for the ODE and for each simulated run */
static double window_mean(cl_traj *tr, long long r, double t0) {
  double m = 0;
  int n = 0;
  for (size_t k = 0; k < tr->nt; k++)
    if (tr->t[k] >= t0 - 1e-9) m += cl_traj_row(tr, r, k)[2], n++;
  return m / n;
}

/* (iii) one noise parameter (rho or s) over a grid: ODE fixed point, ODE and
 * simulation over a late time window from the same start */
static cl_status noise_scan(study *S, const char *name, double a, double b, double step, const char *base,
                            const char *csv, int runs, long long N, double T, const double *yref,
                            double *best_cos, double *best_at, double *Vref_ends) {
  cl_status st;
  const double t0 = T - 10;
  FILE *f = open_in(S, csv);
  if (!f) return CL_EIO;
  fprintf(f, "%s,cos_fixed,V,V_ref,ode_window,sim_mean,sim_se\n", name);
  fprintf(S->rep, "| %s | cos (ODE fixed point) | V (there) | V (reference state) | cos ODE, t in [%g, %g] | "
                  "cos simulate, t in [%g, %g] | z |\n| --- | --- | --- | --- | --- | --- | --- |\n",
          name, t0, T, t0, T);
  *best_cos = -1, *best_at = NAN;
  for (double v = a; v <= b + 1e-9; v += step) {
    double x = fabs(v) < 1e-12 ? 0 : v;
    char args[256];
    snprintf(args, sizeof args, "%s --N %lld --T %g --dt-out 0.5", base, N, T);
    if ((st = cl_config_parse_string(S->c, CL_CMD_SIMULATE, args, S->err)) ||
        (st = cl_config_set_number(S->c, name, x, S->err)))
      return close_in(S, f), st;
    S->c->sched.runs = runs, S->c->sched.seed = 300 + (uint64_t)lround(100 * (x + 10));
    double cosv, V, Vref, y[2];
    if ((st = stable_state(S, &S->c->model, y, &cosv, &V)) || (st = V_at(S, &S->c->model, yref, &Vref)))
      return close_in(S, f), st;
    cl_traj *ode, *sim;
    if ((st = cl_ode_solve(&S->c->model, &S->c->sched, &S->c->ode, &ode, NULL, S->err))) return close_in(S, f), st;
    double co = window_mean(ode, 0, t0);
    cl_traj_free(ode);
    if ((st = cl_runner_run(&cl_engine_simulate, &S->c->model, &S->c->sched, 0, NULL, &sim, NULL, NULL, S->err)))
      return close_in(S, f), st;
    double m = 0, q = 0;
    for (int r = 0; r < runs; r++) {
      double w = window_mean(sim, r, t0);
      m += w, q += w * w;
    }
    cl_traj_free(sim);
    m /= runs;
    double se = sqrt(fmax(q / runs - m * m, 0) * runs / (runs - 1) / runs);
    if (cosv > *best_cos) *best_cos = cosv, *best_at = x;
    if (v == a) Vref_ends[0] = Vref;
    Vref_ends[1] = Vref;
    fprintf(f, "%g,%.8f,%.8f,%.8f,%.8f,%.8f,%.8f\n", x, cosv, V, Vref, co, m, se);
    fprintf(S->rep, "| %g | %.4f | %.4f | %.4f | %.4f | %.4f +- %.4f | %.1f |\n", x, cosv, V, Vref, co, m, se,
            zscore(co, 0, m, se));
  }
  close_in(S, f);
  return CL_OK;
}

/* the two-panel figure of a noise scan: cos (ODE, simulation) and V */
static cl_status noise_figure(study *S, const char *stem, const char *xl, const char *what) {
  char name[64];
  snprintf(name, sizeof name, "%s.gp", stem);
  FILE *g = open_in(S, name);
  if (!g) return CL_EIO;
  fprintf(g, "set datafile separator ','\nset grid\nset key outside below\nset xlabel '%s'\n", xl);
  cl_gp_terminals(g, stem, 1100, 480);
  fprintf(g, "  set multiplot layout 1,2 title \"%s\"\n  set ylabel 'cos'\n"
             "  plot '%s.csv' skip 1 using 1:2 with linespoints pt 7 lw 2 title 'ODE fixed point', "
             "'' skip 1 using 1:5 with lines dt 2 lw 2 lc rgb 'black' title 'ODE, late window', "
             "'' skip 1 using 1:6:7 with yerrorbars pt 5 title 'simulate, late window (mean +- se)'\n"
             "  set ylabel 'gradient variance V'\n"
             "  plot '%s.csv' skip 1 using 1:3 with linespoints pt 7 lw 2 lc rgb '#b00000' title 'V at the fixed point', "
             "'' skip 1 using 1:4 with linespoints pt 5 lw 2 dt 2 lc rgb '#0060b0' title 'V at the reference state'\n"
             "  unset multiplot\n}\n",
          what, stem, stem);
  close_in(S, g);
  return CL_OK;
}

static cl_status sec_noise(study *S) {
  cl_status st;
  const int runs = S->quick ? 6 : 16;
  const long long N = 1000;
  const double T = 40;
  /* the reference state: the default model's stable point (rho = 0, s = 0.5) */
  double yref[2], cref, Vref;
  if ((st = cl_config_parse_string(S->c, CL_CMD_FIXED, "", S->err)) ||
      (st = stable_state(S, &S->c->model, yref, &cref, &Vref)))
    return st;
  fprintf(S->rep,
          "## Finding (iii): negatively correlated noise helps\n\n"
          "Default model (tanh, `rademacher:3`, tau 0.5, l2:0.5, B = 1).  For each noise parameter: "
          "the stable learned state of the ODE (its cos and the per-sample gradient variance V of "
          "docs/model.md s.6 there), and, from the same start R(0) = 0.3, Q(0) = 1, the ODE and the mean "
          "of %d simulate runs at N = %lld averaged over the last 10 units of time (mean +- standard "
          "error over runs; z against the ODE over the same window).  V is given at each parameter's own "
          "fixed point and at one reference state, the default model's fixed point (R, Q) = (%.4f, %.4f), "
          "which isolates the direct effect of the noise on the gradient from the move of the "
          "fixed point.  Near the loss of learnability the relaxation is slow and the window has not reached the fixed point: compare the "
          "window columns with each other.  Simulation side: cos only (V is a theory quantity here).\n\n"
          "### Against rho (s = 0.5)\n\n",
          runs, N, yref[0], yref[1]);
  double best, best_at, Ve[2];
  if ((st = noise_scan(S, "rho", -1, 1, S->quick ? 1.0 : 0.2, "--R0 0.3", "rho.csv", runs, N, T, yref, &best, &best_at, Ve)))
    return st;
  fprintf(S->rep, "\nThe best fixed-point cos, %.4f, is at rho = %g.  V at the reference state: %.4f at rho = -1, "
                  "%.4f at rho = 1.\n\n![](rho.png)\n\n### Against s (rho = 0)\n\n",
          best, best_at, Ve[0], Ve[1]);
  if ((st = noise_scan(S, "s", 0, 2, S->quick ? 1.0 : 0.25, "--R0 0.3", "noise_s.csv", runs, N, T, yref, &best, &best_at, Ve)))
    return st;
  fprintf(S->rep, "\nThe best fixed-point cos, %.4f, is at s = %g.\n\n![](noise_s.png)\n\n", best, best_at);
  if ((st = noise_figure(S, "rho", "rho", "Steady state against the correlation of the views' noise (s = 0.5)")))
    return st;
  return noise_figure(S, "noise_s", "s", "Steady state against the augmentation noise s (rho = 0)");
}

/* the findings as stated: app/findings.c */
static cl_status sec_findings(study *S) {
  return cl_findings_report(S->dir, S->quick, S->rep, cl_span_update, &S->sec, S->err);
}

/* beyond the paper: collapse against specialisation at M = 2 (app/beyond.c) */
static cl_status sec_beyond(study *S) { return cl_beyond_report(S->dir, S->quick, S->rep, S->err); }

/* Beyond L2: the law of the weights under l1, the PDE against simulation */
typedef struct {
  FILE *f;
  size_t last;
} pde_last;

static cl_status pde_keep_last(void *ctx, const cl_pde *p, size_t k, char *err) {
  pde_last *pl = ctx;
  if (k == pl->last && cl_pde_write_density(p, pl->f)) return cl_fail(err, CL_EIO, "write error");
  return CL_OK;
}

/* The L1 table of sec_pde: each class of the theory th against the runs of
 * the histogram file hpath at time t, with its bootstrap se, the expected
 * distance of a sample of the theory of the same size, and z (densstat.h);
 * also pde_l1.csv.  m: the simulated model (its N and feature classes). */
#define PDE_L1_REP 400
static cl_status pde_l1_table(study *S, const cl_model *m, const cl_dens_set *th, const char *hpath, double t,
                              int runs) {
  cl_status st = CL_OK;
  cl_dens_set *rs = calloc((size_t)runs, sizeof *rs);
  const cl_dens_class **hc = malloc(sizeof *hc * (size_t)runs);
  double *nr = malloc(sizeof(double) * (size_t)runs), xi[3 * CL_KMAX], prob[3];
  FILE *f = NULL;
  if (!rs || !hc || !nr) st = cl_fail(S->err, CL_ENOMEM, "out of memory");
  for (int r = 0; r < runs && !st; r++) st = cl_dens_read_run(hpath, t, r + 1, &rs[r], S->err);
  if (!st && m->K != 1) st = cl_fail(S->err, CL_EINVAL, "the L1 table is for K = 1");
  if (!st && !(f = open_in(S, "pde_l1.csv"))) st = CL_EIO;
  if (!st) fprintf(f, "xi,weights_per_run,l1,se,expected,z,run_l1,run_se,run_expected,run_z\n");
  int ncl = st ? 0 : cl_data_feature_classes(m, xi, prob);
  for (int k = 0; k < th->ncls && !st; k++) {
    double nw = NAN;
    for (int c = 0; c < ncl; c++)
      if (fabs(xi[c] - th->c[k].xi[0]) < 1e-6 * (1 + fabs(xi[c]))) nw = round(prob[c] * (double)m->N);
    int all = isfinite(nw);
    for (int r = 0; r < runs && all; r++) {
      int q = cl_dens_find(&rs[r], th->c[k].xi);
      all = q >= 0;
      if (all) hc[r] = &rs[r].c[q], nr[r] = nw;
    }
    cl_l1_stat ls = {NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN};
    if (all) st = cl_dens_l1_stat(&th->c[k], hc, nr, runs, 0.05, PDE_L1_REP, 7 + (uint64_t)k, &ls, S->err);
    if (st) break;
    fprintf(f, "%.6g,%.0f,%.8f,%.8f,%.8f,%.4f,%.8f,%.8f,%.8f,%.4f\n", th->c[k].xi[0], nw, ls.l1, ls.se, ls.expected,
            ls.z, ls.run_l1, ls.run_se, ls.run_expected, ls.run_z);
    fprintf(S->rep, "| %.4g | %.0f | %.4f | %.4f +- %.4f | %.1f | %.4f +- %.4f | %.4f | %.1f |\n", th->c[k].xi[0], nw,
            ls.l1, ls.expected, ls.se, ls.z, ls.run_l1, ls.run_se, ls.run_expected, ls.run_z);
  }
  if (f) close_in(S, f);
  for (int r = 0; rs && r < runs; r++) cl_dens_free(&rs[r]);
  free(rs), free(hc), free(nr);
  return st;
}

static cl_status sec_pde(study *S) {
  cl_status st;
  const char *model = "--features sparse:0.2 --reg l1:0.4 --R0 0.3 --T 15 --dt-out 0.5";
  int runs = 8;
  long long N = S->quick ? 2000 : 4000;
  /* the PDE, its density at t = 15 */
  if ((st = cl_config_parse_string(S->c, CL_CMD_PDE, model, S->err))) return st;
  cl_model pm = S->c->model;
  cl_schedule ps = S->c->sched;
  cl_pde_opts po = S->c->pde;
  po.quad = S->c->ode.quad;
  char path[4200];
  FILE *df = open_in(S, "pde_density.csv");
  if (!df) return CL_EIO;
  cl_pde_write_density_header(df, pm.K);
  pde_last pl = {df, cl_schedule_nt(&ps) - 1};
  cl_traj *pt = NULL, *sim = NULL;
  char info[CL_INFOLEN] = "";
  st = cl_pde_solve(&pm, &ps, &po, &pt, pde_keep_last, &pl, info, S->err);
  close_in(S, df);
  if (st) return st;
  /* simulate with histograms */
  char a[512];
  snprintf(a, sizeof a, "%s --N %lld", model, N);
  if ((st = cl_config_parse_string(S->c, CL_CMD_SIMULATE, a, S->err))) return cl_traj_free(pt), st;
  S->c->sched.runs = runs, S->c->sched.seed = 3;
  const cl_model sm = S->c->model;
  size_t nt = cl_schedule_nt(&S->c->sched);
  cl_hist *h;
  if ((st = cl_hist_alloc(&S->c->model, &S->c->sched, 0.05, &h, S->err))) return cl_traj_free(pt), st;
  st = cl_runner_run_obs(&cl_engine_simulate, &S->c->model, &S->c->sched, 0, NULL, &sim, NULL, NULL, cl_hist_observe, h,
                         S->err);
  FILE *hf = st ? NULL : open_in(S, "sim_hist.csv");
  if (!st && !hf) st = CL_EIO;
  if (!st) st = cl_hist_write(h, hf);
  if (hf) close_in(S, hf);
  cl_hist_free(h);
  if (st) return cl_traj_free(pt), cl_traj_free(sim), st;
  /* order parameters: PDE against the mean of the runs */
  double gap[3] = {0, 0, 0}, gap_se[3] = {0, 0, 0}, gap_t[3] = {0, 0, 0};
  FILE *of = open_in(S, "pde_vs_sim.csv");
  if (!of) return cl_traj_free(pt), cl_traj_free(sim), CL_EIO;
  fprintf(of, "t,pde_R,pde_Q,pde_cos,sim_R,sim_R_sd,sim_Q,sim_Q_sd,sim_cos,sim_cos_sd\n");
  for (size_t k = 0; k < nt; k++) {
    fprintf(of, "%g", pt->t[k]);
    for (int c = 0; c < 3; c++) fprintf(of, ",%.10g", cl_traj_row(pt, 0, k)[c]);
    for (int c = 0; c < 3; c++) {
      double m = 0, v = 0;
      for (int r = 0; r < runs; r++) m += cl_traj_row(sim, r, k)[c];
      m /= runs;
      for (int r = 0; r < runs; r++) v += pow(cl_traj_row(sim, r, k)[c] - m, 2);
      double sd = sqrt(v / (runs - 1)), d = fabs(m - cl_traj_row(pt, 0, k)[c]);
      if (d > gap[c]) gap[c] = d, gap_se[c] = sd / sqrt(runs), gap_t[c] = pt->t[k];
      fprintf(of, ",%.10g,%.10g", m, sd);
    }
    fprintf(of, "\n");
  }
  close_in(S, of);
  cl_traj_free(pt), cl_traj_free(sim);
  /* densities at t = 15: L1 distances and the overlay */
  cl_dens_set th, hs;
  snprintf(path, sizeof path, "%s/pde_density.csv", S->dir);
  if ((st = cl_dens_read(path, 15, &th, S->err))) return st;
  snprintf(path, sizeof path, "%s/sim_hist.csv", S->dir);
  if ((st = cl_dens_read(path, 15, &hs, S->err))) return cl_dens_free(&th), st;
  fprintf(S->rep, "## Beyond L2: the law of the weights under l1 (the McKean-Vlasov PDE)\n\n"
                  "`%s`: under l1 the order parameters do not close, and `cldyn pde` evolves the law of "
                  "the weights for each value of the feature entry xi. Against %d simulate runs at N = %lld "
                  "(max over t of |PDE - mean of runs|, with the runs' standard error there):\n\n"
                  "| | R | Q | cos |\n| --- | --- | --- | --- |\n| max gap | %.4f | %.4f | %.4f |\n"
                  "| se at that t | %.4f | %.4f | %.4f |\n| z | %.1f | %.1f | %.1f |\n| at t | %g | %g | %g |\n\n"
                  "At t = 15, the L1 distance between the PDE's law and the histogram of the runs "
                  "(bins merged to hold at least 5%% of the PDE's mass each; its fall with N is measured by "
                  "`bench/validate_pde`).  Even an exact PDE is at a distance from the histogram of finitely "
                  "many weights (docs/pde-l1-error.md).  **expected +- se**: the mean and the standard "
                  "deviation of the distance when each run's histogram is as many independent draws from the "
                  "PDE's law as the run has weights of that xi (%d replicates, fixed seed), the size finite N "
                  "gives; z = (distance - expected) / se.  **Run by run**: the mean over the runs of the "
                  "distance of each run's own histogram, with its standard error over the runs (sd / "
                  "sqrt(runs), which also carries the runs' correlated fluctuations), against its expected "
                  "size from the same %d replicates.  z of order 1: no gap between the PDE and the "
                  "simulation is resolved beyond finite N.\n\n"
                  "| xi | weights per run | L1 distance | expected +- se | z | run by run +- se | expected | z |\n"
                  "| --- | --- | --- | --- | --- | --- | --- | --- |\n",
          model, runs, N, gap[0], gap[1], gap[2], gap_se[0], gap_se[1], gap_se[2], gap[0] / gap_se[0], gap[1] / gap_se[1],
          gap[2] / gap_se[2], gap_t[0], gap_t[1], gap_t[2], PDE_L1_REP, PDE_L1_REP);
  if ((st = pde_l1_table(S, &sm, &th, path, 15, runs))) return cl_dens_free(&th), cl_dens_free(&hs), st;
  fprintf(S->rep, "\nSolver: %s.\n\n![](pde_overlay.png)\n\n", info);
  FILE *g = open_in(S, "pde_overlay.gp"), *d = open_in(S, "pde_overlay.dat");
  if (!g || !d) {
    if (g) close_in(S, g);
    if (d) close_in(S, d);
    cl_dens_free(&th), cl_dens_free(&hs);
    return CL_EIO;
  }
  cl_gp_terminals(g, "pde_overlay", 1000, 420);
  cl_plot_density_overlay(&th, &hs, g, d, "pde_overlay.dat");
  fprintf(g, "}\n");
  close_in(S, g), close_in(S, d);
  cl_dens_free(&th), cl_dens_free(&hs);
  return CL_OK;
}

/* gnuplot on the study's scripts; a failure is a warning (no gnuplot) */
static void draw_figures(const char *dir, cl_meter *meter) {
  if (meter) {
    snprintf(meter->what, sizeof meter->what, "reproduce: figures (gnuplot)");
    meter->last = -1;
    cl_meter_update(meter, 0.99);
  }
  const char *figs[] = {"ode_vs_sim", "bifurcation", "selection", "phase", "rho", "noise_s", "pde_overlay",
                        "mechanism", "graded", "graded_sweep", "graded_portrait", "beyond"};
  for (size_t k = 0; k < sizeof figs / sizeof figs[0]; k++) {
    char script[64], msg[256];
    snprintf(script, sizeof script, "%s.gp", figs[k]);
    if (cl_plot_gnuplot_run(dir, script, msg, sizeof msg) != CL_OK)
      fprintf(stderr, "cldyn: reproduce: gnuplot failed on %s.gp (is gnuplot-nox installed?)\n", figs[k]);
  }
}

cl_status cl_reproduce_run(const char *dir, int quick, cl_meter *meter, char *err) {
  mkdir(dir, 0777);
  study S = {dir, quick, NULL, malloc(sizeof(cl_config)), err, {dir, err, calloc(NTF, sizeof(cl_sfile)), NTF, 0}, {0}};
  if (!S.c || !S.F.slot) return free(S.c), free(S.F.slot), cl_fail(err, CL_ENOMEM, "out of memory");
  /* UNFINISHED marks the directory until every section is written */
  char mark[4200];
  snprintf(mark, sizeof mark, "%s/UNFINISHED", dir);
  FILE *mf = fopen(mark, "w");
  if (!mf) return free(S.c), free(S.F.slot), cl_fail(err, CL_EIO, "cannot write in '%s'", dir);
  fprintf(mf, "cldyn reproduce has not finished here (running, interrupted or failed): the files are incomplete\n");
  if (fclose(mf) != 0) return free(S.c), free(S.F.slot), cl_fail(err, CL_EIO, "cannot write '%s'", mark);
  S.rep = open_in(&S, "report.md");
  if (!S.rep) return free(S.c), free(S.F.slot), CL_EIO;
  fprintf(S.rep, "# cldyn reproduce%s: the three findings of Meng & Wang (arXiv:2406.06909)\n\n"
                 "Generated by `cldyn reproduce%s` (cldyn %s). Data are the CSV files beside this "
                 "report; figures are PNG and SVG made by gnuplot from the `.gp` scripts.\n\n",
          quick ? " --quick" : "", quick ? " --quick" : "", CL_VERSION);
  /* cost: the CPU seconds of the section in a full and a --quick run
   * (their shares of the progress line; measured 2026-12-02 on 2 cores) */
  static const struct {
    const char *name;
    cl_status (*run)(study *);
    double cost, qcost;
  } secs[] = {{"theory against simulation", sec_ode_vs_sim, 25.2, 3.1}, {"finding (i)", sec_threshold, 0.1, 0.1},
              {"finding (ii)", sec_selection, 164.4, 16.9},              {"phase portrait", sec_phase, 3.5, 1.6},
              {"finding (iii)", sec_noise, 83.1, 9.0},                   {"beyond L2: the PDE", sec_pde, 19.3, 5.0},
              {"the findings as stated", sec_findings, 223.4, 7.3},      {"beyond the paper: M = 2", sec_beyond, 60.0, 8.6}};
  const int ns = (int)(sizeof secs / sizeof secs[0]);
  double ctot = 0, cdone = 0;
  for (int k = 0; k < ns; k++) ctot += quick ? secs[k].qcost : secs[k].cost;
  double took[16], cpu[16], w0 = wall_seconds(), c0 = cpu_seconds();
  cl_status st = CL_OK;
  for (int k = 0; k < ns && !st && !S.F.werr; k++) {
    double t0 = wall_seconds(), u0 = cpu_seconds();
    double ck = quick ? secs[k].qcost : secs[k].cost;
    S.sec = (cl_span){meter ? cl_meter_update : NULL, meter, cdone / ctot, (cdone + ck) / ctot};
    cdone += ck;
    if (meter) {
      snprintf(meter->what, sizeof meter->what, "reproduce: %s (%d of %d)", secs[k].name, k + 1, ns);
      meter->last = -1; /* draw the new section at once */
    }
    cl_span_update(&S.sec, 0);
    st = secs[k].run(&S);
    took[k] = wall_seconds() - t0, cpu[k] = cpu_seconds() - u0;
  }
  if (!st) {
    fprintf(S.rep, "## Time of each section\n\nCPU seconds are user + system over all threads (a loaded machine "
                   "inflates the wall time, not the CPU time).\n\n| section | wall seconds | CPU seconds |\n"
                   "| --- | --- | --- |\n");
    for (int k = 0; k < ns; k++) fprintf(S.rep, "| %s | %.1f | %.1f |\n", secs[k].name, took[k], cpu[k]);
    fprintf(S.rep, "| **total** | %.1f | %.1f |\n", wall_seconds() - w0, cpu_seconds() - c0);
    fprintf(S.rep, "\n(Figures are drawn by gnuplot afterwards.)  See `docs/theory.md` for the "
                   "equations and the numerical methods behind every number.\n");
  }
  if (close_in(&S, S.rep) && !st && !S.F.werr) st = cl_fail(err, CL_EIO, "cannot write '%s/report.md'", dir);
  cl_sfiles_close_all(&S.F, 1);
  if (!st && S.F.werr) st = CL_EIO; /* a data file or figure script was lost: the message is in err */
  /* the figures, while UNFINISHED still marks the directory: gnuplot writes
   * them in place, so a signal here may leave one half drawn */
  if (!st) draw_figures(dir, meter);
  if (!st) unlink(mark);
  free(S.c);
  free(S.F.slot);
  return st;
}
