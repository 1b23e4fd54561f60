/* The M-unit SGD step (simulate.c: cl_sim_units_coef, cl_sim_units_update,
 * step_units): its gradient against finite differences, its update against
 * a direct loop, its agreement with the fused M = 1 loop (bit for bit) and
 * with the CBLAS reference step (to rounding on the same stream, in law on
 * independent streams), its independence of the number of threads, and
 * save/load. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h" /* the core library and the application layer */
#include "simpair.h"

/* F of the batch from unit-major Wt (M x N) and sample-major x, eps1, eps'
 * (B x N), by direct sums over the two views x + s eps1 and
 * x + s (rho eps1 + sqrt(1 - rho^2) eps'). */
static double loss_direct(const cl_model *m, const double *Wt, const double *X, const double *E1,
                          const double *Ep) {
  const int N = (int)m->N, M = m->M, B = m->B;
  const double s = m->s, rho = m->rho, sr = sqrt(1 - rho * rho);
  double H1[CL_MMAX * 4], H2[CL_MMAX * 4];
  for (int i = 0; i < M; i++)
    for (int b = 0; b < B; b++) {
      double a = 0, c = 0;
      for (int n = 0; n < N; n++) {
        double x = X[b * N + n], e = E1[b * N + n], f = Ep[b * N + n];
        a += Wt[i * N + n] * (x + s * e);
        c += Wt[i * N + n] * (x + s * (rho * e + sr * f));
      }
      H1[i * B + b] = a / sqrt((double)N), H2[i * B + b] = c / sqrt((double)N);
    }
  return cl_data_batch_loss(m, H1, H2, NULL, NULL);
}

/* With tau = 1, sum_b A_ib. (x_b, eps1_b, eps'_b) is -dF/dw_i: check every
 * entry against central differences, for every activation and g, M in
 * {1, 2, 3, 5} (pairs and a lone unit), B in {1, 3}, N = 19 (one 8-wide
 * block of each pass and a tail), rho != 0. */
Test(simstep, gradient_equals_finite_difference) {
  enum { N = 19 };
  const int Ms[] = {1, 2, 3, 5}, Bs[] = {1, 3};
  cl_rng *rng;
  cl_rng_alloc(17, 0, &rng, NULL);
  int checked = 0;
  for (int act = CL_ACT_LINEAR; act <= CL_ACT_CUBIC; act++)
    for (int g = CL_G_SQUARE; g <= CL_G_ABS; g++)
      for (int im = 0; im < 4; im++)
        for (int ib = 0; ib < 2; ib++) {
          cl_model m;
          cl_model_default(&m);
          m.N = N, m.M = Ms[im], m.B = Bs[ib], m.act = (cl_act)act, m.g = (cl_gfun)g;
          m.lambda = 0.7, m.tau = 1, m.s = 0.6, m.rho = -0.4;
          const int M = m.M, B = m.B;
          double Wt[5 * N], X[3 * N], E1[3 * N], Ep[3 * N], A[3 * 5 * 3], work[4 * 5 * 3];
          for (int k = 0; k < M * N; k++) Wt[k] = 1.1 * cl_rng_gauss(rng);
          for (int k = 0; k < B * N; k++)
            X[k] = cl_rng_gauss(rng), E1[k] = cl_rng_gauss(rng), Ep[k] = cl_rng_gauss(rng);
          double F = cl_sim_units_coef(&m, Wt, X, E1, Ep, A, work);
          cr_assert_float_eq(F, loss_direct(&m, Wt, X, E1, Ep), 1e-12 * (1 + fabs(F)));
          for (int i = 0; i < M; i++)
            for (int n = 0; n < N; n++) {
              double mg = 0; /* -dF/dw_i[n] from the coefficients */
              for (int b = 0; b < B; b++) {
                const double *a = A + 3 * (i * B + b);
                mg += a[0] * X[b * N + n] + a[1] * E1[b * N + n] + a[2] * Ep[b * N + n];
              }
              const double eps = 1e-6, w0 = Wt[i * N + n];
              Wt[i * N + n] = w0 + eps;
              double fp = loss_direct(&m, Wt, X, E1, Ep);
              Wt[i * N + n] = w0 - eps;
              double fm = loss_direct(&m, Wt, X, E1, Ep);
              Wt[i * N + n] = w0;
              double fd = (fp - fm) / (2 * eps);
              cr_assert(fabs(fd + mg) <= 1e-6 * (1 + fabs(mg)),
                        "%s/%s M=%d B=%d unit %d n %d: -analytic %.10g fd %.10g",
                        cl_act_name(m.act), cl_gfun_name(m.g), M, B, i, n, -mg, fd);
              checked++;
            }
        }
  cl_rng_free(rng);
  cr_assert_eq(checked, 6 * 2 * (1 + 2 + 3 + 5) * 2 * N);
}

/* cl_sim_units_update against the update written out entry by entry, for the
 * regularizers with and without the sign term, B = 1 (paired kernels) and
 * B = 3. */
Test(simstep, update_equals_direct_loop) {
  enum { N = 37, M = 3 };
  const char *regs[] = {"l2:0.5", "l1:0.3", "elastic:0.2:0.7", "none"};
  cl_rng *rng;
  cl_rng_alloc(23, 0, &rng, NULL);
  for (int r = 0; r < 4; r++)
    for (int B = 1; B <= 3; B += 2) {
      cl_model m;
      char err[CL_ERRLEN];
      cl_model_default(&m);
      m.N = N, m.M = M, m.B = B, m.tau = 0.7;
      cr_assert_eq(cl_reg_parse(regs[r], &m.reg, err), CL_OK, "%s", err);
      double Wt[M * N], ref[M * N], X[3 * N], E1[3 * N], Ep[3 * N], A[3 * M * 3];
      for (int k = 0; k < M * N; k++) Wt[k] = cl_rng_gauss(rng);
      Wt[5] = 0, Wt[N + 9] = -0.0; /* sign(0) = 0 */
      for (int k = 0; k < B * N; k++)
        X[k] = cl_rng_gauss(rng), E1[k] = cl_rng_gauss(rng), Ep[k] = cl_rng_gauss(rng);
      for (int k = 0; k < 3 * M * B; k++) A[k] = 0.1 * cl_rng_gauss(rng);
      const double tn = m.tau / N;
      for (int i = 0; i < M; i++)
        for (int n = 0; n < N; n++) {
          double w = Wt[i * N + n], d = 0;
          for (int b = 0; b < B; b++) {
            const double *a = A + 3 * (i * B + b);
            d += a[0] * X[b * N + n] + a[1] * E1[b * N + n] + a[2] * Ep[b * N + n];
          }
          ref[i * N + n] = w - tn * cl_reg_dphi(&m.reg, w) + d;
        }
      cl_sim_units_update(&m, Wt, X, E1, Ep, A);
      for (int k = 0; k < M * N; k++)
        cr_assert(fabs(Wt[k] - ref[k]) <= 1e-14 * (1 + fabs(ref[k])), "%s B=%d entry %d: %.17g vs %.17g",
                  regs[r], B, k, Wt[k], ref[k]);
    }
  cl_rng_free(rng);
}

/* The paired kernels (units 0-1, 2-3) do for each unit exactly what the
 * single-unit kernels do (unit 4): five equal units, fed the same data,
 * stay bitwise equal step after step (elastic, so the sign branch runs
 * too).  lambda = 0: the penalty's sum over the other units is taken in an
 * order that depends on the unit, so with lambda > 0 equal units would
 * drift apart by rounding. */
Test(simstep, paired_units_equal_single_unit_bitwise) {
  enum { N = 203, M = 5 };
  for (int B = 1; B <= 2; B++) {
    cl_model m;
    char err[CL_ERRLEN];
    cl_model_default(&m);
    m.N = N, m.M = M, m.B = B, m.lambda = 0, m.rho = 0.3;
    cr_assert_eq(cl_reg_parse("elastic:0.1:0.4", &m.reg, err), CL_OK, "%s", err);
    cl_rng *rng;
    cl_rng_alloc(31, (uint64_t)B, &rng, NULL);
    double Wt[M * N], X[2 * N], E1[2 * N], Ep[2 * N], A[3 * M * 2], work[4 * M * 2];
    for (int n = 0; n < N; n++) {
      double w = cl_rng_gauss(rng);
      for (int i = 0; i < M; i++) Wt[i * N + n] = w;
    }
    for (int step = 0; step < 20; step++) {
      for (int k = 0; k < B * N; k++)
        X[k] = cl_rng_gauss(rng), E1[k] = cl_rng_gauss(rng), Ep[k] = cl_rng_gauss(rng);
      cl_sim_units_coef(&m, Wt, X, E1, Ep, A, work);
      cl_sim_units_update(&m, Wt, X, E1, Ep, A);
    }
    for (int i = 1; i < M; i++)
      cr_assert_eq(memcmp(Wt, Wt + i * N, sizeof(double) * N), 0, "B=%d: unit %d differs from unit 0", B, i);
    cl_rng_free(rng);
  }
}

/* At M = B = 1 the M-unit step is the fused loop operation for operation. */
Test(simstep, units_path_equals_fused_loop_bitwise_at_m1) {
  for (int f = 0; f < 2; f++) {
    cl_sim *a, *b;
    simpair_alloc("403", f, CL_SIM_AUTO, CL_SIM_UNITS, &a, &b);
    cl_sim_advance(a, 1500);
    cl_sim_advance(b, 700);
    cl_sim_advance(b, 800);
    cr_assert_eq(memcmp(cl_sim_weights(a), cl_sim_weights(b), sizeof(double) * 403), 0, "%s", simpair_feats[f]);
    cl_sim_free(a);
    cl_sim_free(b);
  }
}

/* The M-unit step and the CBLAS reference consume the same random numbers
 * in the same roles, so their weights agree to rounding after 2000 steps. */
Test(simstep, units_path_equals_reference_to_rounding) {
  const char *Ms[] = {"2", "3", "8", "1", "5"}, *Bs[] = {"1", "1", "1", "3", "4"};
  const char *regs[] = {"l2:0.5", "l1:0.2", "elastic:0.1:0.4", "l2:0.3", "l1:0.1"};
  for (int k = 0; k < 5; k++) {
    cl_config cfg;
    char err[CL_ERRLEN];
    cl_config_init(&cfg, CL_CMD_SIMULATE);
    char *argv[] = {"--N", "401", "--M", (char *)Ms[k], "--B", (char *)Bs[k], "--features", "dense",
                    "--reg", (char *)regs[k], "--rho", "-0.4", "--lambda", "1", "--c", "gauss:2",
                    "--c", "laplace:3", "--Q0", "1", "--R0", "0.2"};
    cr_assert_eq(cl_config_parse_args(&cfg, 22, argv, err), CL_OK, "%s", err);
    const int M = cfg.model.M;
    cl_sim *a;
    cl_sim_alloc(&cfg.model, 5, 1, CL_SIM_AUTO, &a, err);
    cl_sim *b;
    cl_sim_alloc(&cfg.model, 5, 1, CL_SIM_REFERENCE, &b, err);
    cr_assert(a && b, "%s", err);
    cl_sim_advance(a, 2000);
    cl_sim_advance(b, 2000);
    const double *wa = cl_sim_weights(a), *wb = cl_sim_weights(b);
    double maxd = 0, maxw = 0;
    for (int n = 0; n < 401 * M; n++) maxd = fmax(maxd, fabs(wa[n] - wb[n])), maxw = fmax(maxw, fabs(wb[n]));
    cr_assert_leq(maxd, 1e-9 * maxw, "M = %d, B = %s: max |w_units - w_reference| = %g", M, Bs[k], maxd);
    /* and the weights moved (the comparison is not of two initial states) */
    double R[CL_KMAX * CL_MMAX], Q[CL_MMAX * CL_MMAX];
    cl_sim_order(a, R, Q);
    cr_assert(fabs(Q[0] - 1) > 1e-3, "Q_11 = %g", Q[0]);
    cl_sim_free(a);
    cl_sim_free(b);
  }
}

/* The law of the M-unit step against the reference step, on independent
 * streams (seed 99 against seed 199, so that agreement to rounding does not
 * make the test pass by itself).  Over RUNS runs each (overlap start: the
 * same R0, Q0 in every run) at N = 200, the mean of every entry of R and Q
 * after 40 steps (t = 0.2) must agree within 4 standard errors of the difference;
 * M = 2 and M = 8 with B = 4, and M = 1 with B = 3.  (Pairing each sample
 * with another sample's coefficients in cl_sim_units_update gives |z| = 33.) */
Test(simstep, units_path_has_the_law_of_the_reference, .timeout = 300) {
  enum { RUNS = 120, STEPS = 40 };
  const struct {
    int M, B;
  } cases[] = {{2, 4}, {8, 4}, {1, 3}};
  for (int c = 0; c < 3; c++) {
    cl_model m;
    char err[CL_ERRLEN];
    cl_model_default(&m);
    m.N = 200, m.M = cases[c].M, m.B = cases[c].B, m.K = 2, m.lambda = 1, m.rho = -0.5;
    m.features = CL_FEAT_DENSE;
    cr_assert_eq(cl_law_parse("laplace:3", &m.c[1], err), CL_OK, "%s", err);
    const int M = m.M, K = m.K, np = K * M + M * M;
    for (int i = 0; i < M; i++) {
      for (int j = 0; j < K; j++) m.R0[j * M + i] = 0.3 * ((i + j) % 2 ? 1 : -0.5);
      for (int l = 0; l < M; l++) m.Q0[i * M + l] = i == l ? 1 : 0.1;
    }
    cr_assert_eq(cl_model_check(&m, 1, err), CL_OK, "%s", err);
    double *sum = calloc(2 * 2 * (size_t)np, sizeof(double)); /* [path][sum, sum sq][np] */
    for (int path = 0; path < 2; path++)
      for (int r = 0; r < RUNS; r++) {
        cl_sim *sim;
        cl_sim_alloc(&m, path ? 199 : 99, (uint64_t)r, path ? CL_SIM_REFERENCE : CL_SIM_AUTO, &sim, err);
        cr_assert_not_null(sim, "%s", err);
        cl_sim_advance(sim, STEPS);
        double v[CL_KMAX * CL_MMAX + CL_MMAX * CL_MMAX];
        cl_sim_order(sim, v, v + K * M);
        for (int k = 0; k < np; k++) sum[(2 * path) * np + k] += v[k], sum[(2 * path + 1) * np + k] += v[k] * v[k];
        cl_sim_free(sim);
      }
    double zmax = 0, dmean = 0;
    for (int k = 0; k < np; k++) {
      double mean[2], var[2];
      for (int p = 0; p < 2; p++) {
        mean[p] = sum[2 * p * np + k] / RUNS;
        var[p] = (sum[(2 * p + 1) * np + k] / RUNS - mean[p] * mean[p]) * RUNS / (RUNS - 1);
      }
      double se = sqrt((var[0] + var[1]) / RUNS);
      cr_assert(se > 0, "entry %d has no spread", k);
      zmax = fmax(zmax, fabs(mean[0] - mean[1]) / se);
      dmean = fmax(dmean, fabs(mean[0] - (k < K * M ? m.R0[k] : m.Q0[k - K * M])));
    }
    cr_assert_lt(zmax, 4, "M=%d B=%d: max |z| = %.2f over %d entries", M, m.B, zmax, np);
    cr_assert_gt(dmean, 1e-3, "M=%d B=%d: the state did not move", M, m.B); /* a real test */
    free(sum);
  }
}

/* Same seed, same result, whatever the number of threads (M = 4, B = 1 and
 * B = 2), and run r does not depend on the number of runs. */
Test(simstep, m4_same_result_whatever_the_threads) {
  for (int B = 1; B <= 2; B++) {
    cl_model m;
    cl_model_default(&m);
    m.N = 300, m.M = 4, m.B = B, m.lambda = 1;
    for (int i = 0; i < 4; i++) {
      m.R0[i] = 0.1 * (i + 1);
      for (int l = 0; l < 4; l++) m.Q0[i * 4 + l] = i == l;
    }
    cl_schedule s;
    cl_schedule_default(&s);
    s.T = 1, s.dt_out = 0.25, s.runs = 5, s.seed = 78;
    cl_traj *a, *b, *c;
    cr_assert_eq(cl_runner_run_sim(&m, &s, 1, &a, NULL, NULL, NULL), CL_OK);
    cr_assert_eq(cl_runner_run_sim(&m, &s, 2, &b, NULL, NULL, NULL), CL_OK);
    s.runs = 2;
    cr_assert_eq(cl_runner_run_sim(&m, &s, 2, &c, NULL, NULL, NULL), CL_OK);
    const size_t per = a->nt * (size_t)a->ncol;
    cr_assert_eq(memcmp(a->data, b->data, (size_t)a->runs * per * sizeof(double)), 0, "B=%d", B);
    cr_assert_eq(memcmp(a->data, c->data, 2 * per * sizeof(double)), 0, "B=%d", B);
    cr_assert_neq(memcmp(a->data, a->data + per, per * sizeof(double)), 0, "B=%d", B);
    cl_traj_free(a);
    cl_traj_free(b);
    cl_traj_free(c);
  }
}

/* A saved state, loaded into another run's engine, continues bit for bit
 * (the unit-major weights are rebuilt from the loaded N x M weights). */
Test(simstep, save_and_load_continue_bitwise) {
  const cl_engine *e = &cl_engine_simulate;
  cl_model m;
  cl_model_default(&m);
  m.N = 301, m.M = 3, m.B = 2, m.lambda = 1;
  for (int i = 0; i < 3; i++) {
    m.R0[i] = 0.1 * (i + 1);
    for (int l = 0; l < 3; l++) m.Q0[i * 3 + l] = i == l;
  }
  char err[CL_ERRLEN];
  void *a, *b;
  cr_assert_eq(e->alloc(&m, 3, 0, &a, err), CL_OK, "%s", err);
  cr_assert_eq(e->alloc(&m, 3, 1, &b, err), CL_OK, "%s", err);
  cr_assert(a && b, "%s", err);
  e->advance(a, 250);
  e->advance(b, 100); /* b's unit-major weights now hold another run's state */
  void *buf = malloc(e->state_size(a));
  e->save(a, buf);
  e->load(b, buf);
  e->advance(a, 250);
  e->advance(b, 250);
  cr_assert_eq(e->steps(a), e->steps(b));
  cr_assert_eq(memcmp(cl_sim_weights(a), cl_sim_weights(b), sizeof(double) * 301 * 3), 0);
  free(buf);
  e->free(a);
  e->free(b);
}
