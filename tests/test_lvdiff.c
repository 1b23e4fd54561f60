/* The coarse level of the deterministic M >= 2 engines integrated as its
 * difference to the fine one along the fine level's steps (src/ode.c
 * dop_lv, docs/grid.md s.17) against the stacked copies of before
 * (--stacked-levels, every level a copy of the system under one step
 * control: the reference).  On the grid at M = 2, 3 and 4 and on the quad
 * levels: the distance part of the printed trajectory bound (the bound
 * less the difference's own part) within 2% of the stacked bound, the
 * fine tables within that bound of each other, both ways of taking a step
 * used where the study of s.17 found them, and no coarse level at all
 * where the bound is not reported. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "cldyn/cldyn.h"
#include "testutil.h"

typedef struct {
  double bound, own; /* the trajectory bound; the difference's own part (0 stacked) */
  long pair, tableau; /* its steps by the 4-stage pair, by DOP853's tableau (-1 stacked) */
} lv_info;

static cl_traj *lv_solve(const char *args, int stacked, char *info, lv_info *li) {
  cl_config cfg;
  char err[CL_ERRLEN];
  cr_assert_eq(cfg_from_args(&cfg, CL_CMD_ODE, args, err), CL_OK, "%s: %s", args, err);
  cfg.ode.stacked_levels = stacked;
  cl_traj *tr;
  cr_assert_eq(cl_ode_solve(&cfg.model, &cfg.sched, &cfg.ode, &tr, info, err), CL_OK, "%s: %s", args, err);
  const char *p = strstr(info, "trajectory error bound ");
  cr_assert(p, "%s: no trajectory bound in '%s'", args, info);
  li->bound = atof(p + strlen("trajectory error bound "));
  li->own = 0, li->pair = li->tableau = -1;
  if ((p = strstr(info, "; plus "))) {
    li->own = atof(p + strlen("; plus "));
    const char *q = strstr(p, "along its steps (");
    cr_assert(q && sscanf(q, "along its steps (%ld by a 4-stage pair, %ld by DOP853's tableau)", &li->pair,
                          &li->tableau) == 2, "%s: '%s'", args, info);
  }
  return tr;
}

/* the largest |a - b| over the R and Q columns */
static double lv_gap(cl_traj *a, cl_traj *b) {
  double g = 0;
  cr_assert_eq(a->nt, b->nt);
  for (size_t k = 0; k < a->nt; k++)
    for (int c = 0; c < a->ncol - a->K * a->M; c++) g = fmax(g, fabs(cl_traj_row(a, 0, k)[c] - cl_traj_row(b, 0, k)[c]));
  return g;
}

/* Both ways on `args`; d and s receive their method lines' figures */
static void lv_check(const char *args, lv_info *d, lv_info *s) {
  char di[CL_INFOLEN], si[CL_INFOLEN];
  cl_traj *a = lv_solve(args, 0, di, d), *b = lv_solve(args, 1, si, s);
  const double gap = lv_gap(a, b);
  cr_log_info("%s: bound %.4g (own part %.3g; %ld + %ld steps), stacked %.4g; tables %.3g apart", args, d->bound,
              d->own, d->pair, d->tableau, s->bound, gap);
  cr_expect(d->pair >= 0 && s->pair < 0 && s->own == 0, "%s:\n%s\n%s", args, di, si);
  cr_expect_gt(d->pair + d->tableau, 0, "%s: %s", args, di);
  cr_expect_leq(d->own, 0.1 * d->bound, "%s: the difference's own part dominates: %s", args, di);
  cr_expect_leq(fabs(d->bound - d->own - s->bound), 0.02 * s->bound, "%s: %.4g - %.3g against stacked %.4g", args,
                d->bound, d->own, s->bound);
  cr_expect_leq(gap, s->bound, "%s: the fine tables %.3g apart, beyond the bound %.3g", args, gap, s->bound);
  cl_traj_free(a);
  cl_traj_free(b);
}

/* Case A of issue 12 (bench/multi_cases.sh), T = 10; the 4-stage pair on
 * most steps */
Test(lvdiff, grid_m2_matches_the_stacked_levels, .timeout = 60) {
  lv_info d, s;
  lv_check("--M 2 --lambda 1 --c laplace:3 --c uniform:3 --R0 0.1,0.02;0.03,0.1 --T 10", &d, &s);
  cr_expect_gt(d.pair, d.tableau, "the pair took %ld steps, the tableau %ld", d.pair, d.tableau);
}

/* M = 3: d rises from 0 to its largest value inside the second step (the
 * coarse level's error at the start decays): the cubic Hermite of a first
 * version put that row 8% off (docs/grid.md s.17) */
Test(lvdiff, grid_m3_transient_matches_the_stacked_levels, .timeout = 120) {
  lv_info d, s;
  lv_check("--M 3 --lambda 1 --c rademacher:3 --c rademacher:2.5 --c rademacher:2 "
           "--R0 0.1,0.02,0.01;0.03,0.1,0.02;0.01,0.02,0.1 --T 2",
           &d, &s);
}

/* Late stiff steps near the fixed point, where d is a tenth of a
 * tolerance and the levels' discrepancy changes abruptly: DOP853's tableau
 * takes them, and an unchecked dense output of d was 3.5e-8 off */
Test(lvdiff, grid_m2_stiff_late_steps_match_the_stacked_levels, .timeout = 120) {
  lv_info d, s;
  lv_check("--M 2 --lambda 2 --s 0.3 --rho 0.5 --c laplace:3 --c uniform:3 --R0 0.1,0.02;0.03,0.1 --T 40", &d, &s);
  cr_expect_gt(d.tableau, 0, "no step by DOP853's tableau");
}

/* M = 4 (case B's laws and start, T = 1) and the quad levels (T = 0.5) */
Test(lvdiff, grid_m4_and_quad_levels_match_the_stacked_levels, .timeout = 180) {
  lv_info d, s;
  lv_check("--M 4 --lambda 1 --c laplace:3 --c uniform:3 --c rademacher:3 --c rademacher:2 "
           "--R0 0.1,0.02,0.01,0;0.02,0.1,0.01,0.01;0.01,0,0.1,0.02;0,0.01,0.02,0.1 --T 1",
           &d, &s);
  lv_check("--M 2 --lambda 1 --expect quad --c rademacher:3 --c laplace:3 --R0 0.1,0.02;0.03,0.1 --T 0.5", &d, &s);
}

/* Without a method line (basin, findings, reproduce: info NULL) the
 * coarse level is not integrated, and the fine table is the one `ode`
 * writes */
Test(lvdiff, fine_table_without_the_method_line_is_the_same, .timeout = 60) {
  cl_config cfg;
  char err[CL_ERRLEN], info[CL_INFOLEN];
  cr_assert_eq(cfg_from_args(&cfg, CL_CMD_ODE, "--M 2 --lambda 1 --c laplace:3 --c uniform:3 --R0 0.1,0.02;0.03,0.1 "
                                               "--T 10",
                             err),
               CL_OK, "%s", err);
  cl_traj *a, *b;
  cr_assert_eq(cl_ode_solve(&cfg.model, &cfg.sched, &cfg.ode, &a, info, err), CL_OK, "%s", err);
  cr_assert_eq(cl_ode_solve(&cfg.model, &cfg.sched, &cfg.ode, &b, NULL, err), CL_OK, "%s", err);
  cr_expect_eq(lv_gap(a, b), 0, "the fine table moved by %.3g", lv_gap(a, b));
  cl_traj_free(a);
  cl_traj_free(b);
}
