/* Small runs through every engine path (fused and general SGD steps, dense
 * features, every activation, quadrature, Chebyshev m-grid and Monte Carlo
 * drifts, implicit steppers), so the sanitizer build exercises them. */
#include <criterion/criterion.h>
#include <math.h>

#include "cldyn/cldyn.h"
#include "testutil.h"

static void run(cl_command cmd, const char *args) {
  char err[CL_ERRLEN];
  cl_config cfg;
  cr_assert_eq(cfg_from_args(&cfg, cmd, args, err), CL_OK, "%s: %s", args, err);
  cl_traj *tr = NULL;
  cl_status st = cmd == CL_CMD_ODE ? cl_ode_solve(&cfg.model, &cfg.sched, &cfg.ode, &tr, NULL, err)
                                   : cl_runner_run_sim(&cfg.model, &cfg.sched, 2, &tr, NULL, NULL, err);
  cr_assert_eq(st, CL_OK, "%s: %s", args, err);
  for (size_t k = 0; k < tr->nt * (size_t)tr->ncol * (size_t)tr->runs; k++)
    cr_assert(isfinite(tr->data[k]), "%s: non-finite output", args);
  cl_traj_free(tr);
}

Test(smoke, simulate_paths) {
  const char *acts[] = {"linear", "tanh", "erf", "relu", "sigmoid", "cubic"};
  char a[256];
  for (int i = 0; i < 6; i++) {
    snprintf(a, sizeof a, "--N 60 --T 0.5 --act %s --runs 2 --tau 0.005 --Q0 0.2", acts[i]);
    run(CL_CMD_SIMULATE, a);
  }
  run(CL_CMD_SIMULATE, "--N 80 --T 0.5 --M 3 --B 3 --lambda 0.5 --g abs --c gauss --c sparse:2:0.5 "
                       "--features dense --R0 0.1 --reg elastic:0.1:0.2");
  run(CL_CMD_SIMULATE, "--N 80 --T 0.5 --features sparse:0.3 --reg l1:0.2 --init random --rho -1");
}

Test(smoke, ode_paths) {
  run(CL_CMD_ODE, "--T 1 --act relu --rho -1");
  run(CL_CMD_ODE, "--T 1 --s 0");
  run(CL_CMD_ODE, "--T 1 --c uniform:2 --c laplace:2 --R0 0.1;0.1");
  run(CL_CMD_ODE, "--T 1 --c gauss:2 --c student:2:6 --R0 0.1;0.1 --act sigmoid");
  run(CL_CMD_ODE, "--T 0.5 --M 2 --lambda 1 --R0 0.2,0.1 --quad-gauss 16");
  run(CL_CMD_ODE, "--T 0.3 --M 2 --lambda 1 --B 2 --R0 0.2,0.1 --mc-points 500");
  run(CL_CMD_ODE, "--T 1 --stepper msbdf");
  run(CL_CMD_ODE, "--T 1 --stepper bsimp --act erf");
}

/* A blow-up in the ODE or the reduced chain stops with the time and the
 * parameters, and no table. */
Test(smoke, divergence_is_reported_by_ode_and_reduced) {
  char buf[] = "--act cubic --tau 5 --Q0 4 --R0 0.5 --T 50 --N 100", *argv[16], err[CL_ERRLEN] = "";
  int argc = 0;
  for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) argv[argc++] = tok;
  cl_config cfg;
  cl_config_init(&cfg, CL_CMD_REDUCED);
  cr_assert_eq(cl_config_parse_args(&cfg, argc, argv, err), CL_OK, "%s", err);
  cl_traj *tr = NULL;
  cr_assert_eq(cl_runner_run_red(&cfg.model, &cfg.sched, 1, &tr, NULL, NULL, err), CL_EDIVERGE);
  cr_assert_null(tr);
  cr_assert(strstr(err, "diverged at t =") && strstr(err, "tau = 5"), "%s", err);
  cl_ode_opts o;
  cl_ode_opts_default(&o);
  err[0] = '\0';
  cr_assert_eq(cl_ode_solve(&cfg.model, &cfg.sched, &o, &tr, NULL, err), CL_EDIVERGE);
  cr_assert_null(tr);
  cr_assert(strstr(err, "t = ") && strstr(err, "tau = 5"), "%s", err);
}
