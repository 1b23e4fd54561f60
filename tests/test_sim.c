/* The SGD engine: initial states, noise correlation, the fused path against
 * the general (CBLAS) path, and reproducibility over threads. */
#include <criterion/criterion.h>
#include <math.h>

#include "app/app.h" /* the core library and the application layer */
#include "simpair.h"

Test(sim, overlap_init_reproduces_R0_and_Q0) {
  const char *feats[] = {"axis", "dense", "sparse:0.3"};
  for (int f = 0; f < 3; f++) {
    cl_config cfg;
    char err[CL_ERRLEN];
    cl_config_init(&cfg, CL_CMD_SIMULATE);
    char *argv[] = {"--N", "500", "--M", "3", "--c", "gauss", "--c", "laplace:2", "--features",
                    (char *)feats[f], "--R0", "0.3,0.1,-0.2;0.05,0.4,0.1",
                    "--Q0", "1,0.2,0;0.2,2,0.1;0,0.1,0.5"};
    cr_assert_eq(cl_config_parse_args(&cfg, 14, argv, err), CL_OK, "%s", err);
    cl_sim *sim;
    cl_sim_alloc(&cfg.model, 3, 0, 0, &sim, err);
    cr_assert_not_null(sim, "%s", err);
    double R[CL_KMAX * CL_MMAX], Q[CL_MMAX * CL_MMAX];
    cl_sim_order(sim, R, Q);
    for (int k = 0; k < 2 * 3; k++)
      cr_assert_float_eq(R[k], cfg.model.R0[k], 1e-13, "%s R[%d] = %.17g", feats[f], k, R[k]);
    for (int k = 0; k < 9; k++)
      cr_assert_float_eq(Q[k], cfg.model.Q0[k], 1e-13, "%s Q[%d] = %.17g", feats[f], k, Q[k]);
    /* the features are orthonormal */
    const double *U = cl_sim_features(sim);
    for (int a = 0; a < 2; a++)
      for (int b = 0; b < 2; b++) {
        double d = 0;
        for (int n = 0; n < 500; n++) d += U[n * 2 + a] * U[n * 2 + b];
        cr_assert_float_eq(d, a == b, 1e-13);
      }
    cl_sim_free(sim);
  }
}

Test(sim, random_init_has_Q0_and_small_R) {
  cl_model m;
  cl_model_default(&m);
  m.N = 20000, m.init = CL_INIT_RANDOM, m.Q0[0] = 2.0;
  cl_sim *sim;
  cl_sim_alloc(&m, 5, 0, 0, &sim, NULL);
  double R, Q;
  cl_sim_order(sim, &R, &Q);
  /* Q ~ 2 (1 +- sqrt(2/N)), R ~ N(0, 2/N) */
  cr_assert_float_eq(Q, 2.0, 5 * 2 * sqrt(2.0 / 20000));
  cr_assert_leq(fabs(R), 5 * sqrt(2.0 / 20000));
  cl_sim_free(sim);
}

/* The fused M = 1, B = 1 loop and the general CBLAS path consume the same
 * random numbers, so their trajectories must agree to rounding. */
Test(sim, fused_path_equals_general_path) {
  for (int f = 0; f < 2; f++) {
    cl_sim *a, *b;
    simpair_alloc("400", f, CL_SIM_AUTO, CL_SIM_REFERENCE, &a, &b);
    cl_sim_advance(a, 2000);
    cl_sim_advance(b, 2000);
    const double *wa = cl_sim_weights(a), *wb = cl_sim_weights(b);
    double maxd = 0;
    for (int n = 0; n < 400; n++) maxd = fmax(maxd, fabs(wa[n] - wb[n]));
    cr_assert_leq(maxd, 1e-9, "%s: max |w_fused - w_general| = %g", simpair_feats[f], maxd);
    cl_sim_free(a);
    cl_sim_free(b);
  }
}

/* The two views' noises have correlation rho, unit variance, and are
 * independent of the clean sample; the clean sample has no component on
 * the features beyond c. */
Test(sim, view_noise_has_correlation_rho) {
  const double rhos[] = {-1, -0.5, 0, 0.5, 1};
  const char *feats[] = {"axis", "dense"};
  for (int f = 0; f < 2; f++)
    for (int i = 0; i < 5; i++) {
      cl_config cfg;
      char err[CL_ERRLEN], rho[32];
      snprintf(rho, sizeof rho, "%g", rhos[i]);
      cl_config_init(&cfg, CL_CMD_SIMULATE);
      char *argv[] = {"--N", "1000", "--B", "4", "--s", "0.7", "--rho", rho, "--features",
                      (char *)feats[f], "--c", "gauss:2", "--c", "uniform:0.5"};
      cr_assert_eq(cl_config_parse_args(&cfg, 14, argv, err), CL_OK, "%s", err);
      cl_model *m = &cfg.model;
      cl_rng *rng;
      cl_rng_alloc(9, (uint64_t)i, &rng, NULL);
      double *U = malloc(sizeof(double) * 1000 * 2), *buf = malloc(sizeof(double) * 3 * 4000);
      double c[8], work[8];
      cl_data_features_draw(m, rng, U, err);
      double s11 = 0, s22 = 0, s12 = 0, s1x = 0, proj_err = 0;
      long cnt = 0;
      for (int rep = 0; rep < 50; rep++) {
        double *X = buf, *X1 = X + 4000, *X2 = X1 + 4000;
        cl_data_batch_draw(m, U, rng, c, X, X1, X2, work);
        for (int k = 0; k < 4000; k++) {
          double e1 = (X1[k] - X[k]) / 0.7, e2 = (X2[k] - X[k]) / 0.7;
          s11 += e1 * e1, s22 += e2 * e2, s12 += e1 * e2, s1x += e1 * X[k];
          cnt++;
        }
        /* U^T X = c^T for each sample */
        for (int b = 0; b < 4; b++)
          for (int j = 0; j < 2; j++) {
            double d = 0;
            for (int n = 0; n < 1000; n++) d += U[n * 2 + j] * X[n * 4 + b];
            proj_err = fmax(proj_err, fabs(d - c[b * 2 + j]));
          }
      }
      double se = sqrt(2.0 / cnt);
      cr_assert_float_eq(s11 / cnt, 1, 5 * se, "var eps1 %g", s11 / cnt);
      cr_assert_float_eq(s22 / cnt, 1, 5 * se, "var eps2 %g", s22 / cnt);
      cr_assert_float_eq(s12 / cnt, rhos[i], 5 * se, "%s rho %g: cov %g", feats[f], rhos[i],
                         s12 / cnt);
      cr_assert_float_eq(s1x / cnt, 0, 5 * se, "eps and x correlated");
      cr_assert_leq(proj_err, 1e-12, "U^T x != c: %g", proj_err);
      free(U);
      free(buf);
      cl_rng_free(rng);
    }
}

Test(sim, same_seed_same_result_whatever_the_threads) {
  cl_model m;
  cl_model_default(&m);
  m.N = 300;
  cl_schedule s;
  cl_schedule_default(&s);
  s.T = 2, s.dt_out = 0.5, s.runs = 5, s.seed = 77;
  cl_traj *a, *b, *c;
  cr_assert_eq(cl_runner_run_sim(&m, &s, 1, &a, NULL, NULL, NULL), CL_OK);
  cr_assert_eq(cl_runner_run_sim(&m, &s, 2, &b, NULL, NULL, NULL), CL_OK);
  s.runs = 2; /* run r does not depend on how many runs there are */
  cr_assert_eq(cl_runner_run_sim(&m, &s, 2, &c, NULL, NULL, NULL), CL_OK);
  size_t n = (size_t)a->runs * a->nt * (size_t)a->ncol;
  cr_assert_eq(memcmp(a->data, b->data, n * sizeof(double)), 0);
  cr_assert_eq(memcmp(a->data, c->data, 2 * a->nt * (size_t)a->ncol * sizeof(double)), 0);
  cr_assert_neq(memcmp(a->data, a->data + a->nt * (size_t)a->ncol, a->nt * (size_t)a->ncol * sizeof(double)), 0);
  cl_traj_free(a);
  cl_traj_free(b);
  cl_traj_free(c);
}

Test(sim, divergence_stops_with_time_and_parameters) {
  cl_model m;
  cl_model_default(&m);
  m.N = 100, m.act = CL_ACT_CUBIC, m.tau = 5, m.Q0[0] = 4, m.R0[0] = 0.5;
  cl_schedule s;
  cl_schedule_default(&s);
  s.T = 50;
  cl_traj *tr = NULL;
  char err[CL_ERRLEN] = "";
  cr_assert_eq(cl_runner_run_sim(&m, &s, 1, &tr, NULL, NULL, err), CL_EDIVERGE);
  cr_assert_null(tr);
  cr_assert(strstr(err, "diverged at t =") && strstr(err, "tau = 5"), "%s", err);
}
