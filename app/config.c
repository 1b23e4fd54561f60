/* Option table, config files and --print-config (docs/cli.md s.2-3). */
#include "config.h"
#include "cldyn/fixed.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RUNS (CL_CMD_SIMULATE | CL_CMD_REDUCED)
#define TRAJ (CL_CMD_SIMULATE | CL_CMD_REDUCED | CL_CMD_ODE | CL_CMD_PDE)
#define ALL (TRAJ | CL_CMD_FIXED | CL_CMD_BASIN)
#define IS2(a, b) (strcmp(a, b) == 0)

typedef struct {
  const char *name;
  unsigned cmds;
  int flag; /* takes no value */
  const char *arg, *help;
} cl_option;

static const cl_option options[] = {
    {"N", RUNS | CL_CMD_BASIN, 0, "INT", "input dimension, >= K + M + 1 (basin: sets |R(0)| ~ N^-1/2) (default 1000)"},
    {"M", ALL, 0, "INT", "output units, in [1, 16] (default 1)"},
    {"c", ALL, 0, "SPEC", "law of one hidden variable, repeat for K features (default rademacher:3)"},
    {"features", CL_CMD_SIMULATE | CL_CMD_PDE, 0, "axis|dense|sparse:P", "feature layout (default axis)"},
    {"act", ALL, 0, "NAME", "linear, tanh, erf, relu, sigmoid, cubic (default tanh)"},
    {"g", ALL, 0, "NAME", "square, abs (default square)"},
    {"lambda", ALL, 0, "X", "decorrelation weight, >= 0 (default 0)"},
    {"reg", ALL, 0, "SPEC", "none, l2:BETA, l1:BETA, elastic:BETA1:BETA2 (default l2:0.5)"},
    {"tau", ALL, 0, "X", "learning rate, > 0 (default 0.5)"},
    {"s", ALL, 0, "X", "augmentation noise sd, >= 0 (default 0.5)"},
    {"rho", ALL, 0, "X", "correlation of the two views' noise, in [-1, 1] (default 0)"},
    {"B", ALL, 0, "INT", "batch size, >= 1 (default 1)"},
    {"init", RUNS, 0, "random|overlap", "initial state (default overlap)"},
    {"R0", TRAJ, 0, "LIST", "initial R, K x M, rows separated by ';', or one number (default 0.1)"},
    {"Q0", TRAJ | CL_CMD_BASIN, 0, "LIST", "initial Q, M x M, or one number for the diagonal (default 1)"},
    {"T", TRAJ, 0, "X", "end time t = steps / N, >= 0 (default 20)"},
    {"dt-out", TRAJ, 0, "X", "output interval, > 0 (default 0.5)"},
    {"runs", RUNS, 0, "INT", "independent runs, >= 1 (default 1)"},
    {"seed", RUNS | CL_CMD_ODE | CL_CMD_FIXED | CL_CMD_BASIN, 0, "INT", "random seed (ode: of the Monte Carlo point set), in [0, 2^53) (default 1)"},
    {"out", ALL, 0, "PATH", "output CSV, '-' for stdout (default -)"},
    {"summary", RUNS, 0, "PATH", "CSV of the mean and sd over runs"},
    {"threads", RUNS | CL_CMD_BASIN, 0, "INT", "OpenMP threads, >= 0, 0 = default (default 0)"},
    {"rtol", CL_CMD_ODE | CL_CMD_BASIN, 0, "X", "relative tolerance of the adaptive integrator, > 0 (default 1e-8)"},
    {"atol", CL_CMD_ODE | CL_CMD_BASIN, 0, "X", "absolute tolerance, >= 0 (default 1e-10)"},
    {"stepper", CL_CMD_ODE | CL_CMD_BASIN, 0, "NAME", "dop853 (with dense output), GSL rk8pd, rkf45, rkck, msadams, or implicit msbdf, rk4imp, bsimp (default dop853)"},
    {"quad-gauss", CL_CMD_ODE | CL_CMD_PDE | CL_CMD_FIXED | CL_CMD_BASIN, 0, "INT", "points per Gaussian direction (trapezoid; a quarter as many Gauss-Hermite in 4-d), in [2, 200] (default 40)"},
    {"quad-law", CL_CMD_ODE | CL_CMD_PDE | CL_CMD_FIXED | CL_CMD_BASIN, 0, "INT", "points of a continuous law's rule, in [2, 400] (default 32)"},
    {"quad-mgrid", CL_CMD_ODE | CL_CMD_PDE | CL_CMD_FIXED | CL_CMD_BASIN, 0, "INT", "Chebyshev nodes in m for K >= 2 continuous laws, in [4, 2000] (default 48)"},
    {"quad-cf", CL_CMD_ODE | CL_CMD_PDE | CL_CMD_FIXED | CL_CMD_BASIN, 0, "MODE", "M = 1: the c-expectation through characteristic functions (docs/m1-many-features.md): auto (when the laws' rules make more than 2000 c nodes), on, off (default auto)"},
    {"mc-points", CL_CMD_ODE | CL_CMD_FIXED | CL_CMD_BASIN, 0, "INT", "Monte Carlo batches of --expect mc, in [100, 1e8] (default 20000)"},
    {"expect", CL_CMD_ODE | CL_CMD_FIXED | CL_CMD_BASIN, 0, "qmc|mc|tensor", "M >= 2 expectations: randomised Sobol' rules with an error bound, Monte Carlo over whole batches, or (M = 2, B = 1 or lambda = 0) the old tensor Gauss-Hermite (default qmc)"},
    {"qmc-points", CL_CMD_ODE | CL_CMD_FIXED | CL_CMD_BASIN, 0, "INT", "M >= 2 qmc: points per rule, rounded up to a power of 2, in [16, 2^20], or 0 (the default: by M, docs/multi.md)"},
    {"cells", CL_CMD_PDE, 0, "INT", "cells per value of xi over the initial range (8 sd each side), in [20, 1e6] (default 2000)"},
    {"dt", CL_CMD_PDE, 0, "X", "largest time step of the PDE (TR-BDF2), in (0, 1] (default 0.01)"},
    {"density-out", CL_CMD_PDE, 0, "PATH", "write the densities at each dt-out: CSV t,xi,w,p"},
    {"hist-out", CL_CMD_SIMULATE, 0, "PATH", "write histograms of w for each value of xi at each dt-out: CSV [run,]t,xi,w,p"},
    {"hist-width", CL_CMD_SIMULATE, 0, "X", "bin width of --hist-out (bins are [k h, (k+1) h)), > 0 (default 0.05)"},
    {"checkpoint", RUNS, 0, "PATH", "write a checkpoint to PATH every --checkpoint-every (atomically)"},
    {"checkpoint-every", RUNS, 0, "X", "checkpoint interval in t, > 0 (default 1)"},
    {"resume", RUNS, 0, "PATH", "resume from a checkpoint written with the same parameters"},
    {"threshold", CL_CMD_FIXED, 2, "[NAME]", "no NAME (or m2): write feature,critical_m2 where R = 0 loses stability (M = 1); NAME = lambda, tau, s, rho or m2_J: the values in --vary NAME=A:B:STEP where the --point changes stability"},
    {"point", CL_CMD_FIXED, 0, "ID|KIND", "the fixed point of --threshold NAME at the first --vary value: its id, or the first of a kind (uninformative, specialised, shared, rotated, mixed, partial, dead) (default 1)"},
    {"starts", CL_CMD_FIXED, 0, "INT", "seeded random Newton starts, in [0, 100000] (default 12 K for M = 1, 4 K M otherwise)"},
    {"terms", CL_CMD_FIXED, 1, "", "append V,V_data,V_noise,b_z,b_e,kappa to each fixed point (M = 1)"},
    {"vary", CL_CMD_FIXED, 0, "NAME=A:B:STEP", "continue the fixed points in a numeric option (bifurcation diagram)"},
    {"directions", CL_CMD_BASIN, 0, "INT", "random starts R(0) ~ N^-1/2, in [2, 1e7] (default 360)"},
    {"tmax", CL_CMD_BASIN, 0, "X", "integration time to reach a fixed point, > 0 (default 200)"},
    {"map", CL_CMD_BASIN, 0, "PATH", "also write the fixed point reached from a grid of (R_1, R_2), K = 2"},
    {"map-points", CL_CMD_BASIN, 0, "INT", "grid points per axis of --map, in [2, 1000] (default 41)"},
    {"config", ALL, 0, "FILE", "read options from FILE (name = value lines; \"quoted\" values may hold #); options apply left to right, the last wins, and a file's first c replaces earlier --c"},
    {"print-config", ALL, 1, "", "print the effective configuration and exit"},
    {"help", ALL, 1, "", "print this help and exit"},
    /* ux: new options */
    {"progress", ALL, 1, "", "show progress (what runs, elapsed time, ETA) on stderr even when it is not a terminal"},
    {"quiet", ALL, 1, "", "no progress line and no notes on stderr"},
    {"strict", ALL, 1, "", "refuse config-file keys that do not apply to the command (default: skip them, one note)"},
};
#define NOPT (sizeof options / sizeof options[0])

static const struct {
  cl_command cmd;
  const char *name;
} commands[] = {{CL_CMD_SIMULATE, "simulate"}, {CL_CMD_REDUCED, "reduced"}, {CL_CMD_ODE, "ode"},
                {CL_CMD_PDE, "pde"},           {CL_CMD_FIXED, "fixed"},     {CL_CMD_BASIN, "basin"}};

const char *cl_command_name(cl_command cmd) {
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (commands[i].cmd == cmd) return commands[i].name;
  return "?";
}

cl_command cl_command_from_name(const char *name) {
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(commands[i].name, name) == 0) return commands[i].cmd;
  return 0;
}

void cl_config_init(cl_config *cfg, cl_command cmd) {
  memset(cfg, 0, sizeof *cfg);
  cfg->cmd = cmd;
  cl_model_default(&cfg->model);
  cl_schedule_default(&cfg->sched);
  strcpy(cfg->out, "-");
  cl_ode_opts_default(&cfg->ode);
  cl_pde_opts_default(&cfg->pde);
  cfg->hist_width = 0.05;
  cfg->starts = -1;
  cfg->directions = 360, cfg->tmax = 200, cfg->map_points = 41, cfg->checkpoint_every = 1;
  strcpy(cfg->R0_spec, "0.1");
  strcpy(cfg->Q0_spec, "1");
  cfg->c_source = -1;
}

static cl_status get_real(const char *name, const char *v, double *x, const char *range,
                          char *err) {
  if (!cl_parse_real(v, x))
    return cl_fail(err, CL_EINVAL, "--%s: malformed number '%s'; accepted: %s", name, v, range);
  return CL_OK;
}

static cl_status get_int(const char *name, const char *v, long long *x, const char *range,
                         char *err) {
  if (!cl_parse_int(v, x))
    return cl_fail(err, CL_EINVAL, "--%s: malformed integer '%s'; accepted: %s", name, v, range);
  return CL_OK;
}

static cl_status copy_path(const char *name, const char *v, char *dst, char *err) {
  if (!*v) return cl_fail(err, CL_EINVAL, "--%s: empty path", name);
  if (strlen(v) >= CL_PATHLEN) return cl_fail(err, CL_EINVAL, "--%s: path too long", name);
  strcpy(dst, v);
  return CL_OK;
}

/* The value-range checks that need no other option are done here, so that
 * the message points at the option as typed; cross-option checks (N vs K+M,
 * R0/Q0 shapes, PSD) are in cl_config_finish. */
cl_status cl_config_set(cl_config *cfg, const char *name, const char *v, char *err) {
  const cl_option *opt = NULL;
  for (size_t i = 0; i < NOPT; i++)
    if (strcmp(options[i].name, name) == 0) opt = &options[i];
  if (!opt)
    return cl_fail(err, CL_EINVAL, "unknown option '--%s' for '%s' (see cldyn %s --help)", name,
                   cl_command_name(cfg->cmd), cl_command_name(cfg->cmd));
  if (!(opt->cmds & cfg->cmd))
    return cl_fail(err, CL_EINVAL, "--%s: does not apply to '%s'", name,
                   cl_command_name(cfg->cmd));
  cl_model *m = &cfg->model;
  cl_schedule *s = &cfg->sched;
  double x;
  long long n;
  cl_status st;
#define IS(str) (strcmp(name, str) == 0)
  if (IS("N")) {
    if ((st = get_int(name, v, &n, "an integer >= K + M + 1", err))) return st;
    if (n < 3 || n > 2000000000LL)
      return cl_fail(err, CL_EINVAL, "--N: must be an integer in [K + M + 1, 2e9] (got %s)", v);
    m->N = n;
  } else if (IS("M")) {
    if ((st = get_int(name, v, &n, "an integer in [1, 16]", err))) return st;
    if (n < 1 || n > CL_MMAX)
      return cl_fail(err, CL_EINVAL, "--M: must be an integer in [1, %d] (got %s)", CL_MMAX, v);
    m->M = (int)n;
  } else if (IS("c")) {
    if (cfg->c_source != cfg->source) cfg->c_count = 0, cfg->c_source = cfg->source;
    if (cfg->c_count == CL_KMAX)
      return cl_fail(err, CL_EINVAL, "--c: at most %d features accepted", CL_KMAX);
    if ((st = cl_law_parse(v, &m->c[cfg->c_count], err))) return st;
    m->K = ++cfg->c_count;
  } else if (IS("features")) {
    if (strcmp(v, "axis") == 0) m->features = CL_FEAT_AXIS, m->feat_p = 1;
    else if (strcmp(v, "dense") == 0) m->features = CL_FEAT_DENSE, m->feat_p = 1;
    else if (strncmp(v, "sparse:", 7) == 0) {
      if (!cl_parse_real(v + 7, &x))
        return cl_fail(err, CL_EINVAL, "--features: malformed density '%s'; accepted: "
                       "axis, dense, sparse:P with P in (0, 1]", v + 7);
      if (!(x > 0 && x <= 1))
        return cl_fail(err, CL_EINVAL, "--features: sparse P must be in (0, 1] (got %s)", v + 7);
      m->features = CL_FEAT_SPARSE, m->feat_p = x;
    } else
      return cl_fail(err, CL_EINVAL,
                     "--features: unknown layout '%s'; accepted: axis, dense, sparse:P", v);
  } else if (IS("act")) {
    return cl_act_parse(v, &m->act, err);
  } else if (IS("g")) {
    return cl_g_parse(v, &m->g, err);
  } else if (IS("lambda")) {
    if ((st = get_real(name, v, &x, "a real >= 0", err))) return st;
    if (x < 0) return cl_fail(err, CL_EINVAL, "--lambda: must be >= 0 (got %s)", v);
    m->lambda = x;
  } else if (IS("reg")) {
    return cl_reg_parse(v, &m->reg, err);
  } else if (IS("tau")) {
    if ((st = get_real(name, v, &x, "a real > 0", err))) return st;
    if (!(x > 0)) return cl_fail(err, CL_EINVAL, "--tau: must be > 0 (got %s)", v);
    m->tau = x;
  } else if (IS("s")) {
    if ((st = get_real(name, v, &x, "a real >= 0", err))) return st;
    if (!(x >= 0)) return cl_fail(err, CL_EINVAL, "--s: must be >= 0 (got %s)", v);
    m->s = x;
  } else if (IS("rho")) {
    if ((st = get_real(name, v, &x, "a real in [-1, 1]", err))) return st;
    if (!(x >= -1 && x <= 1)) return cl_fail(err, CL_EINVAL, "--rho: must be in [-1, 1] (got %s)", v);
    m->rho = x;
  } else if (IS("B")) {
    if ((st = get_int(name, v, &n, "an integer >= 1", err))) return st;
    if (n < 1 || n > 1000000) return cl_fail(err, CL_EINVAL, "--B: must be an integer in [1, 1e6] (got %s)", v);
    m->B = (int)n;
  } else if (IS("init")) {
    if (strcmp(v, "random") == 0) m->init = CL_INIT_RANDOM;
    else if (strcmp(v, "overlap") == 0) m->init = CL_INIT_OVERLAP;
    else return cl_fail(err, CL_EINVAL, "--init: unknown '%s'; accepted: random, overlap", v);
  } else if (IS("R0") || IS("Q0")) {
    char *dst = IS("R0") ? cfg->R0_spec : cfg->Q0_spec;
    if (strlen(v) >= sizeof cfg->R0_spec) return cl_fail(err, CL_EINVAL, "--%s: list too long", name);
    strcpy(dst, v);
  } else if (IS("T")) {
    if ((st = get_real(name, v, &x, "a real >= 0", err))) return st;
    if (!(x >= 0)) return cl_fail(err, CL_EINVAL, "--T: must be >= 0 (got %s)", v);
    s->T = x;
  } else if (IS("dt-out")) {
    if ((st = get_real(name, v, &x, "a real > 0", err))) return st;
    if (!(x > 0)) return cl_fail(err, CL_EINVAL, "--dt-out: must be > 0 (got %s)", v);
    s->dt_out = x;
  } else if (IS("runs")) {
    if ((st = get_int(name, v, &n, "an integer >= 1", err))) return st;
    if (n < 1 || n > 100000000) return cl_fail(err, CL_EINVAL, "--runs: must be an integer in [1, 1e8] (got %s)", v);
    s->runs = n;
  } else if (IS("seed")) {
    if ((st = get_int(name, v, &n, "an integer in [0, 2^53)", err))) return st;
    if (n < 0) return cl_fail(err, CL_EINVAL, "--seed: must be an integer in [0, 2^53) (got %s)", v);
    s->seed = (uint64_t)n;
    cfg->ode.quad.mc_seed = (uint64_t)n;
  } else if (IS("out")) {
    return copy_path(name, v, cfg->out, err);
  } else if (IS("summary")) {
    return copy_path(name, v, cfg->summary, err);
  } else if (IS("threads")) {
    if ((st = get_int(name, v, &n, "an integer in [0, 1024]", err))) return st;
    if (n < 0 || n > 1024) return cl_fail(err, CL_EINVAL, "--threads: must be an integer in [0, 1024] (got %s)", v);
    cfg->threads = (int)n;
  } else if (IS("rtol") || IS("atol")) {
    if ((st = get_real(name, v, &x, IS("rtol") ? "a real > 0" : "a real >= 0", err))) return st;
    if (IS("rtol") ? !(x > 0) : !(x >= 0))
      return cl_fail(err, CL_EINVAL, "--%s: must be %s (got %s)", name, IS("rtol") ? "> 0" : ">= 0", v);
    *(IS("rtol") ? &cfg->ode.rtol : &cfg->ode.atol) = x;
  } else if (IS("stepper")) {
    if ((st = cl_ode_check_stepper(v, err))) return st;
    snprintf(cfg->ode.stepper, sizeof cfg->ode.stepper, "%s", v);
  } else if (IS("quad-cf")) {
    if (strcmp(v, "auto") && strcmp(v, "on") && strcmp(v, "off"))
      return cl_fail(err, CL_EINVAL, "--quad-cf: must be auto, on or off (got %s)", v);
    cfg->ode.quad.m1_cf = !strcmp(v, "on") ? 1 : !strcmp(v, "off") ? -1 : 0;
  } else if (IS("quad-gauss") || IS("quad-law") || IS("quad-mgrid") || IS("mc-points")) {
    long long lo = IS("quad-mgrid") ? 4 : IS("mc-points") ? 100 : 2;
    long long hi = IS("quad-gauss") ? 200 : IS("quad-law") ? 400 : IS("quad-mgrid") ? 2000 : 100000000;
    if ((st = get_int(name, v, &n, "an integer", err))) return st;
    if (n < lo || n > hi)
      return cl_fail(err, CL_EINVAL, "--%s: must be an integer in [%lld, %lld] (got %s)", name, lo, hi, v);
    if (IS("quad-gauss")) cfg->ode.quad.n_gauss = (int)n;
    else if (IS("quad-law")) cfg->ode.quad.n_law = (int)n;
    else if (IS("quad-mgrid")) cfg->ode.quad.n_mgrid = (int)n;
    else cfg->ode.quad.mc_points = n;
  } else if (IS("expect")) {
    if (strcmp(v, "qmc") == 0) cfg->ode.quad.expect = CL_EXPECT_QMC;
    else if (strcmp(v, "mc") == 0) cfg->ode.quad.expect = CL_EXPECT_MC;
    else if (strcmp(v, "tensor") == 0) cfg->ode.quad.expect = CL_EXPECT_TENSOR;
    else return cl_fail(err, CL_EINVAL, "--expect: unknown '%s'; accepted: qmc, mc, tensor", v);
  } else if (IS("qmc-points")) {
    if ((st = get_int(name, v, &n, "an integer", err))) return st;
    /* 0 is the default, chosen by M (what --print-config writes back) */
    if (n != 0 && (n < 16 || n > (1 << 20)))
      return cl_fail(err, CL_EINVAL, "--qmc-points: must be 0 (by M) or an integer in [16, 1048576] (got %s)", v);
    cfg->ode.quad.qmc_points = (long)n;
  } else if (IS("directions") || IS("map-points")) {
    long long hi = IS("directions") ? 10000000 : 1000;
    if ((st = get_int(name, v, &n, "an integer", err))) return st;
    if (n < 2 || n > hi) return cl_fail(err, CL_EINVAL, "--%s: must be an integer in [2, %lld] (got %s)", name, hi, v);
    if (IS("directions")) cfg->directions = n;
    else cfg->map_points = (int)n;
  } else if (IS("tmax")) {
    if ((st = get_real(name, v, &x, "a real > 0", err))) return st;
    if (!(x > 0)) return cl_fail(err, CL_EINVAL, "--tmax: must be > 0 (got %s)", v);
    cfg->tmax = x;
  } else if (IS("map")) {
    return copy_path(name, v, cfg->map, err);
  } else if (IS("cells")) {
    if ((st = get_int(name, v, &n, "an integer in [20, 1e6]", err))) return st;
    if (n < 20 || n > 1000000) return cl_fail(err, CL_EINVAL, "--cells: must be an integer in [20, 1e6] (got %s)", v);
    cfg->pde.cells = (int)n;
  } else if (IS("dt") || IS("hist-width")) {
    if ((st = get_real(name, v, &x, IS("dt") ? "a real in (0, 1]" : "a real > 0", err))) return st;
    if (IS("dt") ? !(x > 0 && x <= 1) : !(x > 0 && x < 1e100))
      return cl_fail(err, CL_EINVAL, "--%s: must be %s (got %s)", name, IS("dt") ? "in (0, 1]" : "> 0", v);
    *(IS("dt") ? &cfg->pde.dt : &cfg->hist_width) = x;
  } else if (IS("density-out") || IS("hist-out")) {
    return copy_path(name, v, IS("density-out") ? cfg->density_out : cfg->hist_out, err);
  } else if (IS("checkpoint") || IS("resume")) {
    return copy_path(name, v, IS("checkpoint") ? cfg->checkpoint : cfg->resume, err);
  } else if (IS("checkpoint-every")) {
    if ((st = get_real(name, v, &x, "a real > 0", err))) return st;
    if (!(x > 0)) return cl_fail(err, CL_EINVAL, "--checkpoint-every: must be > 0 (got %s)", v);
    cfg->checkpoint_every = x;
  } else if (IS("threshold")) {
    cfg->threshold = 1;
    cfg->threshold_name[0] = '\0';
    if (!strcmp(v, "1") || !strcmp(v, "m2") || !v[0]) return CL_OK;
    long long j;
    if (strlen(v) >= sizeof cfg->threshold_name ||
        !(IS2(v, "lambda") || IS2(v, "tau") || IS2(v, "s") || IS2(v, "rho") ||
          (strncmp(v, "m2_", 3) == 0 && cl_parse_int(v + 3, &j) && j >= 1 && j <= CL_KMAX)))
      return cl_fail(err, CL_EINVAL,
                     "--threshold: unknown parameter '%s'; accepted: m2 (the default), lambda, tau, s, "
                     "rho, m2_J (J a feature)", v);
    strcpy(cfg->threshold_name, v);
  } else if (IS("point")) {
    long long j;
    if (strlen(v) >= sizeof cfg->point || !v[0] ||
        !((cl_parse_int(v, &j) && j >= 1) || cl_fixed_kind_from_name(v) >= 0))
      return cl_fail(err, CL_EINVAL,
                     "--point: expected an id >= 1 or a kind (uninformative, specialised, shared, "
                     "rotated, mixed, partial, dead) (got '%s')", v);
    strcpy(cfg->point, v);
  } else if (IS("starts")) {
    if ((st = get_int(name, v, &n, "an integer in [0, 100000]", err))) return st;
    if (n < 0 || n > 100000) return cl_fail(err, CL_EINVAL, "--starts: must be an integer in [0, 100000] (got %s)", v);
    cfg->starts = (int)n;
  } else if (IS("terms")) {
    cfg->terms = 1;
  } else if (IS("vary")) {
    double a, b, h;
    const char *eq = strchr(v, '=');
    char rng[200];
    if (!eq || eq == v || strlen(v) >= sizeof cfg->vary)
      return cl_fail(err, CL_EINVAL, "--vary: expected NAME=A:B:STEP (got '%s')", v);
    snprintf(rng, sizeof rng, "%s", eq + 1);
    char *c1 = strchr(rng, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c1 || !c2) return cl_fail(err, CL_EINVAL, "--vary: expected NAME=A:B:STEP (got '%s')", v);
    *c1 = *c2 = '\0';
    if (!cl_parse_real(rng, &a) || !cl_parse_real(c1 + 1, &b) || !cl_parse_real(c2 + 1, &h))
      return cl_fail(err, CL_EINVAL, "--vary: malformed number in '%s'", v);
    if (!(h > 0) || b < a || (b - a) / h > 1e6)
      return cl_fail(err, CL_EINVAL, "--vary: need A <= B and 0 < STEP, at most 1e6 points (got '%s')", v);
    strcpy(cfg->vary, v);
  } else if (IS("config")) {
    return cl_config_read_file(cfg, v, err);
  } else if (IS("print-config")) {
    cfg->print_config = 1;
  } else if (IS("help")) {
    cfg->help = 1;
  } else if (IS("progress")) { /* ux: new options */
    cfg->progress = 1;
  } else if (IS("quiet")) {
    cfg->quiet = 1;
  } else if (IS("strict")) {
    cfg->strict = 1;
  }
#undef IS
  return CL_OK;
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t') s++;
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
    s[--n] = '\0';
  return s;
}

/* One line of a config file into buf (without the newline): 1 a line, 0 end
 * of file, -1 a NUL byte, -2 longer than len - 1 bytes. */
static int read_line(FILE *f, char *buf, size_t len) {
  size_t n = 0;
  int c;
  while ((c = getc(f)) != EOF && c != '\n') {
    if (c == '\0') return -1;
    if (n + 1 >= len) return -2;
    buf[n++] = (char)c;
  }
  buf[n] = '\0';
  return c == EOF && n == 0 ? 0 : 1;
}

/* The value part of `name = value  # comment`: a value in double quotes
 * keeps everything inside (#, spaces), with \" and \\ for a quote and a
 * backslash; an unquoted value ends at the first #.  Returns NULL on an
 * unterminated quote or text after the closing quote. */
static char *unquote(char *v) {
  if (*v != '"') {
    char *hash = strchr(v, '#');
    if (hash) *hash = '\0';
    return trim(v);
  }
  char *out = v, *p = v + 1;
  for (; *p && *p != '"'; p++) {
    if (*p == '\\' && (p[1] == '"' || p[1] == '\\')) p++;
    *out++ = *p;
  }
  if (*p != '"') return NULL;
  char *rest = trim(p + 1);
  if (*rest && *rest != '#') return NULL;
  *out = '\0';
  return v;
}

cl_status cl_config_read_file(cl_config *cfg, const char *path, char *err) {
  FILE *f = fopen(path, "r");
  if (!f)
    return cl_fail(err, CL_EINVAL, "--config: cannot read '%s': %s", path, strerror(errno));
  if (cfg->depth >= 8) {
    fclose(f);
    return cl_fail(err, CL_EINVAL, "--config: config files nested deeper than 8 at '%s'", path);
  }
  /* each file is its own source: its first `c` replaces the list so far */
  int outer = cfg->source;
  cfg->source = ++cfg->nsources;
  cfg->depth++;
  char line[8192];
  int lineno = 0, got;
  cl_status st = CL_OK;
  while ((got = read_line(f, line, sizeof line)) != 0) {
    lineno++;
    if (got == -1) {
      st = cl_fail(err, CL_EINVAL, "--config: %.300s:%d: a NUL byte (not a text file)", path, lineno);
      break;
    }
    if (got == -2) {
      st = cl_fail(err, CL_EINVAL, "--config: %.300s:%d: line longer than %zu bytes", path, lineno, sizeof line - 2);
      break;
    }
    char *l = trim(line);
    if (!*l || *l == '#') continue;
    char *eq = strchr(l, '=');
    char *hash = strchr(l, '#');
    char tmp[CL_ERRLEN];
    if (!eq || (hash && hash < eq)) {
      st = cl_fail(err, CL_EINVAL, "--config: %.300s:%d: expected 'name = value'", path, lineno);
      break;
    }
    *eq = '\0';
    char *name = trim(l), *value = unquote(trim(eq + 1));
    if (!value) {
      st = cl_fail(err, CL_EINVAL, "--config: %.300s:%d: a quoted value must end with \" (then only a # comment)",
                   path, lineno);
      break;
    }
    /* ux: one model file for every engine: a known key of another
     * command is skipped (cl_config_finish refuses it under --strict) */
    const cl_option *known = NULL;
    for (size_t k = 0; k < NOPT; k++)
      if (strcmp(options[k].name, name) == 0) known = &options[k];
    if (known && !(known->cmds & cfg->cmd)) {
      if (!cfg->nskipped++) snprintf(cfg->skipped_at, sizeof cfg->skipped_at, "%.200s:%d", path, lineno);
      size_t used = strlen(cfg->skipped);
      if (used + strlen(name) + 3 < sizeof cfg->skipped)
        snprintf(cfg->skipped + used, sizeof cfg->skipped - used, "%s%s", used ? ", " : "", name);
      continue;
    }
    if ((st = cl_config_set(cfg, name, value, tmp))) {
      cl_fail(err, st, "%s (in %.300s:%d)", tmp, path, lineno);
      break;
    }
  }
  if (!st && ferror(f)) st = cl_fail(err, CL_EINVAL, "--config: error reading '%s'", path);
  fclose(f);
  cfg->source = outer;
  cfg->depth--;
  return st;
}

cl_status cl_config_finish(cl_config *cfg, char *err) {
  cl_status st;
  if (cfg->strict && cfg->nskipped)
    return cl_fail(err, CL_EINVAL, "--strict: %s: %d config key%s that do%s not apply to '%s': %s", cfg->skipped_at,
                   cfg->nskipped, cfg->nskipped > 1 ? "s" : "", cfg->nskipped > 1 ? "" : "es", cl_command_name(cfg->cmd),
                   cfg->skipped);
  if ((st = cl_model_set_R0(&cfg->model, cfg->R0_spec, err))) return st;
  if ((st = cl_model_set_Q0(&cfg->model, cfg->Q0_spec, err))) return st;
  if ((st = cl_model_check(&cfg->model, (cfg->cmd & (RUNS | CL_CMD_BASIN)) != 0, err))) return st;
  return cl_schedule_check(&cfg->sched, err);
}

cl_status cl_config_parse_args(cl_config *cfg, int argc, char **argv, char *err) {
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strncmp(a, "--", 2) != 0 || !a[2])
      return cl_fail(err, CL_EINVAL, "unexpected argument '%s'; options are --name VALUE", a);
    char name[128];
    const char *eq = strchr(a + 2, '=');
    size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
    if (len >= sizeof name)
      return cl_fail(err, CL_EINVAL, "unknown option '%.40s...'", a);
    memcpy(name, a + 2, len);
    name[len] = '\0';
    const cl_option *opt = NULL;
    for (size_t k = 0; k < NOPT; k++)
      if (strcmp(options[k].name, name) == 0) opt = &options[k];
    const char *value;
    if (opt && opt->flag) {
      if (eq && opt->flag == 1) return cl_fail(err, CL_EINVAL, "--%s: takes no value", name);
      /* flag 2: an optional value, given with '=' or as the next word */
      if (eq) value = eq + 1;
      else if (opt->flag == 2 && i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) value = argv[++i];
      else value = "1";
    } else if (eq) {
      value = eq + 1;
    } else {
      if (!opt) value = "";
      else if (i + 1 >= argc) return cl_fail(err, CL_EINVAL, "--%s: missing value (%s)", name, opt->arg);
      else value = argv[++i];
    }
    cl_status st = cl_config_set(cfg, name, value, err);
    if (st) return st;
  }
  if (cfg->help) return CL_OK;
  return cl_config_finish(cfg, err);
}

static void fmt_matrix(char *buf, size_t len, const double *a, int rows, int cols) {
  size_t off = 0;
  char num[32];
  buf[0] = '\0';
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < cols; c++) {
      const char *sep = c ? "," : (r ? ";" : "");
      off += (size_t)snprintf(buf + off, off < len ? len - off : 0, "%s%s", sep,
                              cl_fmt_real(num, sizeof num, a[r * cols + c]));
    }
}

void cl_config_visit(const cl_config *cfg, cl_config_visit_fn fn, void *ctx) {
  const cl_model *m = &cfg->model;
  const cl_schedule *s = &cfg->sched;
  char buf[8192], num[32];
  for (size_t i = 0; i < NOPT; i++) {
    const char *n = options[i].name;
    if (!(options[i].cmds & cfg->cmd)) continue;
#define IS(str) (strcmp(n, str) == 0)
#define EMIT(...) (snprintf(buf, sizeof buf, __VA_ARGS__), fn(ctx, n, buf))
    if (IS("N")) EMIT("%lld", m->N);
    else if (IS("M")) EMIT("%d", m->M);
    else if (IS("c"))
      for (int j = 0; j < m->K; j++) cl_law_format(&m->c[j], buf, sizeof buf), fn(ctx, n, buf);
    else if (IS("features")) {
      if (m->features == CL_FEAT_SPARSE) EMIT("sparse:%s", cl_fmt_real(num, 32, m->feat_p));
      else EMIT("%s", m->features == CL_FEAT_AXIS ? "axis" : "dense");
    } else if (IS("act")) EMIT("%s", cl_act_name(m->act));
    else if (IS("g")) EMIT("%s", cl_g_name(m->g));
    else if (IS("lambda")) EMIT("%s", cl_fmt_real(num, 32, m->lambda));
    else if (IS("reg")) cl_reg_format(&m->reg, buf, sizeof buf), fn(ctx, n, buf);
    else if (IS("tau")) EMIT("%s", cl_fmt_real(num, 32, m->tau));
    else if (IS("s")) EMIT("%s", cl_fmt_real(num, 32, m->s));
    else if (IS("rho")) EMIT("%s", cl_fmt_real(num, 32, m->rho));
    else if (IS("B")) EMIT("%d", m->B);
    else if (IS("init")) EMIT("%s", m->init == CL_INIT_RANDOM ? "random" : "overlap");
    else if (IS("R0")) fmt_matrix(buf, sizeof buf, m->R0, m->K, m->M), fn(ctx, n, buf);
    else if (IS("Q0")) fmt_matrix(buf, sizeof buf, m->Q0, m->M, m->M), fn(ctx, n, buf);
    else if (IS("T")) EMIT("%s", cl_fmt_real(num, 32, s->T));
    else if (IS("dt-out")) EMIT("%s", cl_fmt_real(num, 32, s->dt_out));
    else if (IS("runs")) EMIT("%lld", s->runs);
    else if (IS("seed")) EMIT("%llu", (unsigned long long)s->seed);
    else if (IS("out")) EMIT("%s", cfg->out);
    else if (IS("summary")) {
      if (cfg->summary[0]) EMIT("%s", cfg->summary);
    } else if (IS("threads")) EMIT("%d", cfg->threads);
    else if (IS("checkpoint")) {
      if (cfg->checkpoint[0]) EMIT("%s", cfg->checkpoint);
    } else if (IS("resume")) {
      if (cfg->resume[0]) EMIT("%s", cfg->resume);
    } else if (IS("checkpoint-every")) EMIT("%s", cl_fmt_real(num, 32, cfg->checkpoint_every));
    else if (IS("directions")) EMIT("%ld", cfg->directions);
    else if (IS("tmax")) EMIT("%s", cl_fmt_real(num, 32, cfg->tmax));
    else if (IS("map")) {
      if (cfg->map[0]) EMIT("%s", cfg->map);
    } else if (IS("map-points")) EMIT("%d", cfg->map_points);
    else if (IS("vary")) {
      if (cfg->vary[0]) EMIT("%s", cfg->vary);
    } else if (IS("threshold")) {
      if (cfg->threshold) EMIT("%s", cfg->threshold_name[0] ? cfg->threshold_name : "m2");
    } else if (IS("point")) {
      if (cfg->point[0]) EMIT("%s", cfg->point);
    } else if (IS("starts")) {
      if (cfg->starts >= 0) EMIT("%d", cfg->starts);
      if (cfg->threshold) EMIT("1");
    } else if (IS("terms")) {
      if (cfg->terms) EMIT("1");
    } else if (IS("rtol")) EMIT("%s", cl_fmt_real(num, 32, cfg->ode.rtol));
    else if (IS("atol")) EMIT("%s", cl_fmt_real(num, 32, cfg->ode.atol));
    else if (IS("stepper")) EMIT("%s", cfg->ode.stepper);
    else if (IS("quad-gauss")) EMIT("%d", cfg->ode.quad.n_gauss ? cfg->ode.quad.n_gauss : CL_QUAD_GAUSS);
    else if (IS("quad-law")) EMIT("%d", cfg->ode.quad.n_law ? cfg->ode.quad.n_law : CL_QUAD_LAW);
    else if (IS("quad-mgrid")) EMIT("%d", cfg->ode.quad.n_mgrid ? cfg->ode.quad.n_mgrid : CL_QUAD_MGRID);
    else if (IS("quad-cf")) EMIT("%s", cfg->ode.quad.m1_cf > 0 ? "on" : cfg->ode.quad.m1_cf < 0 ? "off" : "auto");
    else if (IS("cells")) EMIT("%d", cfg->pde.cells);
    else if (IS("dt")) EMIT("%s", cl_fmt_real(num, 32, cfg->pde.dt));
    else if (IS("density-out")) {
      if (cfg->density_out[0]) EMIT("%s", cfg->density_out);
    } else if (IS("hist-out")) {
      if (cfg->hist_out[0]) EMIT("%s", cfg->hist_out);
    } else if (IS("hist-width")) EMIT("%s", cl_fmt_real(num, 32, cfg->hist_width));
    else if (IS("expect")) EMIT("%s", cfg->ode.quad.expect == CL_EXPECT_MC ? "mc" : cfg->ode.quad.expect == CL_EXPECT_TENSOR ? "tensor" : "qmc");
    else if (IS("qmc-points")) EMIT("%ld", cfg->ode.quad.qmc_points);
    else if (IS("mc-points")) EMIT("%ld", cfg->ode.quad.mc_points ? cfg->ode.quad.mc_points : 20000);
#undef EMIT
#undef IS
  }
}

/* Values that would not read back as written (a #, a quote, a backslash,
 * spaces at either end, empty) are printed in double quotes. */
static void print_one(void *ctx, const char *name, const char *value) {
  FILE *f = ctx;
  size_t n = strlen(value);
  int quote = n == 0 || strpbrk(value, "#\"\\") || value[0] == ' ' || value[0] == '\t' || value[n - 1] == ' ' ||
              value[n - 1] == '\t';
  if (!quote) {
    fprintf(f, "%s = %s\n", name, value);
    return;
  }
  fprintf(f, "%s = \"", name);
  for (const char *p = value; *p; p++) {
    if (*p == '"' || *p == '\\') fputc('\\', f);
    fputc(*p, f);
  }
  fprintf(f, "\"\n");
}

void cl_config_print(const cl_config *cfg, FILE *f) {
  fprintf(f, "# cldyn %s: effective configuration (cldyn %s)\n", cl_command_name(cfg->cmd),
          CL_VERSION);
  cl_config_visit(cfg, print_one, f);
}

void cl_config_help(cl_command cmd, FILE *f) {
  fprintf(f, "usage: cldyn %s [--name VALUE | --name=VALUE]...\n\noptions:\n",
          cl_command_name(cmd));
  for (size_t i = 0; i < NOPT; i++)
    if (options[i].cmds & cmd)
      fprintf(f, "  --%-13s %-20s %s\n", options[i].name, options[i].arg, options[i].help);
}

cl_status cl_config_set_number(cl_config *c, const char *name, double v, char *err) {
  char val[64];
  cl_fmt_real(val, sizeof val, v);
  if (strncmp(name, "m2_", 3) == 0) {
    long long j;
    if (!cl_parse_int(name + 3, &j) || j < 1 || j > c->model.K)
      return cl_fail(err, CL_EINVAL, "--vary: m2_J needs J in [1, K] = [1, %d] (got '%s')", c->model.K, name);
    cl_law *law = &c->model.c[j - 1];
    if (!(v > 0)) return cl_fail(err, CL_EINVAL, "--vary: %s must be > 0 (got %s)", name, val);
    if (law->kind == CL_LAW_DISCRETE) {
      double f = sqrt(v / law->m2);
      for (int i = 0; i < law->nvals; i++) law->vals[i] *= f;
    }
    law->m2 = v;
  } else {
    char e[CL_ERRLEN];
    cl_status st = cl_config_set(c, name, val, e);
    if (st) return cl_fail(err, st, "--vary: %s", e);
  }
  return cl_config_finish(c, err);
}

cl_status cl_config_parse_string(cl_config *cfg, cl_command cmd, const char *args, char *err) {
  char buf[4096], *argv[128], *save = NULL;
  int argc = 0;
  if (strlen(args) >= sizeof buf) return cl_fail(err, CL_EINVAL, "options too long");
  strcpy(buf, args);
  for (char *t = strtok_r(buf, " \t", &save); t && argc < 128; t = strtok_r(NULL, " \t", &save))
    argv[argc++] = t;
  cl_config_init(cfg, cmd);
  return cl_config_parse_args(cfg, argc, argv, err);
}
