/* Fixed points, stability and the learnability threshold (docs/model.md s.6). */
#include <criterion/criterion.h>
#include <math.h>

#include "cldyn/cldyn.h"

static cl_model model(const char *law) {
  cl_model m;
  cl_model_default(&m);
  cl_law_parse(law, &m.c[0], NULL);
  return m;
}

/* At the uninformative state the Jacobian's R-eigenvalue is
 * tau (<c^2> b_z + b_e - beta), with b_z, b_e at (R = 0, Q*). */
Test(fixed, uninformative_eigenvalue_is_the_closed_expression) {
  const char *laws[] = {"rademacher:3", "gauss:2", "laplace:1.5", "uniform:0.8"};
  for (int l = 0; l < 4; l++) {
    cl_model m = model(laws[l]);
    double Qs, J[4], jerr;
    cr_assert_eq(cl_fixed_uninformative_Q(&m, NULL, &Qs, NULL), CL_OK);
    cl_drift *d;
    cl_drift_alloc(&m, NULL, &d, NULL);
    double R = 0, y[2] = {0, Qs}, dR, dQ;
    cl_drift_eval(d, &R, &Qs, &dR, &dQ, NULL);
    cr_assert_leq(fabs(dQ), 1e-10, "dQ/dt at Q* = %g", dQ);
    cl_m1_terms t;
    cr_assert_eq(cl_drift_m1_terms(d, &R, Qs, &t, NULL), CL_OK);
    cr_assert_eq(cl_ode_jacobian(d, 1, 1, y, J, &jerr, NULL), CL_OK);
    double expect = m.tau * (m.c[0].m2 * t.b_z + t.b_e - m.reg.beta2);
    cr_assert_float_eq(J[0], expect, 1e-7, "%s: J_RR %.12g vs tau(<c^2> b_z + b_e - beta) %.12g",
                       laws[l], J[0], expect);
    cr_assert_float_eq(J[1], 0, 1e-9, "dR/dQ at R = 0");
    cr_assert_leq(jerr, 1e-7);
    cl_drift_free(d);
  }
}

/* Finding (i): the critical <c^2> does not depend on the law's higher moments. */
Test(fixed, critical_m2_is_the_same_for_five_laws) {
  const char *laws[] = {"gauss:2", "rademacher:2", "uniform:2", "laplace:2", "student:2:7"};
  double m2c[5];
  for (int l = 0; l < 5; l++) {
    cl_model m = model(laws[l]);
    char err[CL_ERRLEN];
    cr_assert_eq(cl_fixed_critical_m2(&m, NULL, 0, &m2c[l], err), CL_OK, "%s: %s", laws[l], err);
  }
  for (int l = 1; l < 5; l++)
    cr_assert_float_eq(m2c[l], m2c[0], 1e-8, "%s: %.12g vs gauss %.12g", laws[l], m2c[l], m2c[0]);
  /* and at the threshold the eigenvalue vanishes: just above it R = 0 is unstable */
  cl_model m = model("rademacher:2");
  cl_law_parse("rademacher:1", &m.c[0], NULL);
  m.c[0].m2 = m2c[0] * 1.01;
  cl_fixed_point *fp;
  int n;
  cr_assert_eq(cl_fixed_find(&m, NULL, NULL, 0, &fp, &n, NULL), CL_OK);
  int saw = 0;
  for (int i = 0; i < n; i++)
    if (fabs(fp[i].y[0]) < 1e-8) {
      saw = 1;
      cr_assert_neq(fp[i].stability, CL_STABLE);
    }
  cr_assert(saw, "the uninformative fixed point was not found");
  free(fp);
}

/* Fixed points reached from different starts coincide; the learned states
 * of the default model are stable and the uninformative one is a saddle. */
Test(fixed, multistart_points_coincide) {
  cl_model m = model("rademacher:3");
  cl_fixed_point *a, *b;
  int na, nb;
  double extra[6] = {0.5, 1.3, -0.2, 0.6, 0.05, 2.0};
  cr_assert_eq(cl_fixed_find(&m, NULL, NULL, 0, &a, &na, NULL), CL_OK);
  cr_assert_eq(cl_fixed_find(&m, NULL, extra, 3, &b, &nb, NULL), CL_OK);
  cr_assert_eq(na, 3);
  cr_assert_eq(nb, na, "extra starts found new points: %d vs %d", nb, na);
  for (int i = 0; i < na; i++) {
    for (int k = 0; k < 2; k++) cr_assert_float_eq(a[i].y[k], b[i].y[k], 1e-9);
    cr_assert_leq(a[i].residual, 1e-10);
  }
  cr_assert_eq(a[0].stability, CL_STABLE);
  cr_assert_eq(a[1].stability, CL_STABLE);
  cr_assert_float_eq(a[0].y[0], -a[1].y[0], 1e-9, "the R -> -R symmetry");
  cr_assert_eq(a[2].stability, CL_SADDLE);
  /* the learned point is where `ode` goes */
  cl_schedule s;
  cl_schedule_default(&s);
  s.T = 200, s.dt_out = 200;
  cl_ode_opts o;
  cl_ode_opts_default(&o);
  cl_traj *tr;
  cr_assert_eq(cl_ode_solve(&m, &s, &o, &tr, NULL, NULL), CL_OK);
  cr_assert_float_eq(cl_traj_row(tr, 0, 1)[0], a[0].y[0] > 0 ? a[0].y[0] : a[1].y[0], 1e-7);
  cl_traj_free(tr);
  free(a);
  free(b);
}
