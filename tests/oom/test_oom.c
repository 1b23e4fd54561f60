/* Allocation failures: every engine, with its n-th allocation failing for
 * n = 1, 2, ... until it succeeds, returns CL_ENOMEM and frees everything it
 * allocated (no crash, no leak).  This binary is linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free: the library's
 * own allocations go through the counting hooks below (those made inside
 * GSL, OpenBLAS or libc are not counted, and never fail). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h" /* the option parser (cl_config_parse_string) is in the application layer */
#include "tests/cmdnames.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t a, size_t b);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);

/* the live pointers of our allocations (open addressing, tombstones) */
#define TAB (1u << 20)
static void *tab[TAB];
static void *const DEAD = (void *)1;
static long live, count, fail_at = -1;
static int failed;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static size_t slot(void *p) { return (size_t)(((uintptr_t)p >> 4) * 11400714819323198485ull >> 44) & (TAB - 1); }
static void add(void *p) {
  for (size_t i = slot(p);; i = (i + 1) & (TAB - 1))
    if (!tab[i] || tab[i] == DEAD) {
      tab[i] = p, live++;
      return;
    }
}
static void del(void *p) {
  for (size_t i = slot(p); tab[i]; i = (i + 1) & (TAB - 1))
    if (tab[i] == p) {
      tab[i] = DEAD, live--;
      return;
    }
}
/* 1 if this allocation must fail */
static int inject(void) {
  if (fail_at < 0) return 0;
  if (++count == fail_at) return failed = 1;
  return 0;
}

void *__wrap_malloc(size_t n) {
  pthread_mutex_lock(&mu);
  void *p = inject() ? NULL : __real_malloc(n);
  if (p) add(p);
  pthread_mutex_unlock(&mu);
  return p;
}
void *__wrap_calloc(size_t a, size_t b) {
  pthread_mutex_lock(&mu);
  void *p = inject() ? NULL : __real_calloc(a, b);
  if (p) add(p);
  pthread_mutex_unlock(&mu);
  return p;
}
void *__wrap_realloc(void *q, size_t n) {
  pthread_mutex_lock(&mu);
  void *p = inject() ? NULL : __real_realloc(q, n);
  if (p) {
    if (q) del(q);
    add(p);
  }
  pthread_mutex_unlock(&mu);
  return p;
}
void __wrap_free(void *p) {
  pthread_mutex_lock(&mu);
  if (p) del(p);
  pthread_mutex_unlock(&mu);
  __real_free(p);
}

typedef cl_status (*engine_fn)(const cl_config *c, char *err);

static cl_status run_ode(const cl_config *c, char *err) {
  cl_traj *tr = NULL;
  cl_status st = cl_ode_solve(&c->model, &c->sched, &c->ode, &tr, NULL, err);
  cl_traj_free(tr);
  return st;
}
static cl_status run_fixed(const cl_config *c, char *err) {
  cl_fixed_point *fp = NULL;
  int nf = 0;
  cl_status st = cl_fixed_find(&c->model, &c->ode.quad, NULL, 0, &fp, &nf, err);
  free(fp);
  return st;
}
static cl_status run_sim(const cl_config *c, char *err) {
  cl_traj *tr = NULL;
  cl_status st = cl_runner_run(&cl_engine_simulate, &c->model, &c->sched, 1, NULL, &tr, NULL, NULL, err);
  cl_traj_free(tr);
  return st;
}
static cl_status run_red(const cl_config *c, char *err) {
  cl_traj *tr = NULL;
  cl_status st = cl_runner_run(&cl_engine_reduced, &c->model, &c->sched, 1, NULL, &tr, NULL, NULL, err);
  cl_traj_free(tr);
  return st;
}
static cl_status run_pde(const cl_config *c, char *err) {
  cl_traj *tr = NULL;
  cl_pde_opts po = c->pde;
  po.quad = c->ode.quad;
  /* with the method line: the error estimate's coarse run allocates too */
  char info[CL_INFOLEN];
  cl_status st = cl_pde_solve(&c->model, &c->sched, &po, &tr, NULL, NULL, info, err);
  cl_traj_free(tr);
  return st;
}
static cl_status run_basin(const cl_config *c, char *err) {
  cl_basin_result res;
  cl_status st = cl_basin_run(&c->model, &c->ode, 4, 30, 1, 1, &res, err);
  if (!st) cl_basin_result_free(&res);
  return st;
}

/* sweep: one point of ode with --final (the point's last row is copied),
 * its table written to /dev/null */
static cl_status run_sweep_ode(const cl_config *c, char *err) {
  cl_vary v;
  cl_status st = cl_vary_parse("tau=0.5:0.5:1", &v, err);
  cl_sweep_opts so = {.final = 1};
  FILE *f = st ? NULL : fopen("/dev/null", "w");
  if (f) st = cl_sweep_run(c, &v, 1, &so, 0, 1, NULL, 0, 1, 1, f, err);
  if (f) fclose(f);
  return st;
}

/* The public allocators themselves: the status is the result, and on
 * failure *out is NULL (the tests below fail every allocation in turn). */
#define ALLOC_CHECK(st, obj, freefn)                                  \
  do {                                                                \
    cr_expect((st) == CL_OK ? (obj) != NULL : (obj) == NULL,         \
              "status %d with object %p", (int)(st), (void *)(obj)); \
    freefn(obj);                                                      \
  } while (0)
static cl_status alloc_sim(const cl_config *c, char *err) {
  cl_sim *p = (cl_sim *)c; /* overwritten: the allocator sets *out */
  cl_status st = cl_sim_alloc(&c->model, 1, 0, 0, &p, err);
  ALLOC_CHECK(st, p, cl_sim_free);
  return st;
}
static cl_status alloc_red(const cl_config *c, char *err) {
  cl_red *p = (cl_red *)c;
  cl_status st = cl_red_alloc(&c->model, 1, 0, &p, err);
  ALLOC_CHECK(st, p, cl_red_free);
  return st;
}
static cl_status alloc_drift(const cl_config *c, char *err) {
  cl_drift *p = (cl_drift *)c;
  cl_status st = cl_drift_alloc(&c->model, &c->ode.quad, &p, err);
  ALLOC_CHECK(st, p, cl_drift_free);
  return st;
}
static cl_status alloc_pde(const cl_config *c, char *err) {
  cl_pde *p = (cl_pde *)c;
  cl_pde_opts po = c->pde;
  po.quad = c->ode.quad;
  cl_status st = cl_pde_alloc(&c->model, &po, &p, err);
  ALLOC_CHECK(st, p, cl_pde_free);
  return st;
}
static cl_status alloc_hist(const cl_config *c, char *err) {
  cl_hist *p = (cl_hist *)c;
  cl_status st = cl_hist_alloc(&c->model, &c->sched, 0.05, &p, err);
  ALLOC_CHECK(st, p, cl_hist_free);
  return st;
}
static cl_status alloc_traj(const cl_config *c, char *err) {
  cl_traj *p = (cl_traj *)c;
  cl_status st = cl_traj_alloc(c->model.K, c->model.M, 11, 3, &p, err);
  ALLOC_CHECK(st, p, cl_traj_free);
  return st;
}

/* Fail allocation n for n = 1 .. total (each in turn), or, when the run
 * makes more than first + draws allocations, for n = 1 .. first and
 * `draws` seeded draws beyond. */
static void sweep_engine_n(const char *name, cl_command cmd, const char *args, engine_fn fn, int first, int draws) {
  cl_config c;
  char err[CL_ERRLEN];
  cr_assert_eq(cl_config_parse_string(&c, cmd, args, err), CL_OK, "%s", err);
  long base = live;
  /* the number of allocations of a clean run */
  count = 0, failed = 0, fail_at = LONG_MAX;
  cr_assert_eq(fn(&c, err), CL_OK, "%s: %s", name, err);
  long total = count;
  fail_at = -1;
  cr_expect_eq(live, base, "%s: %ld blocks leaked by a successful run", name, live - base);
  int held = 0, tried = 0;
  uint64_t x = 88172645463325252ull;
  for (int k = 0; k < first + draws && k < total; k++) {
    long n = k + 1;
    if (total > first + draws && k >= first) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      n = first + 1 + (long)(x % (uint64_t)(total - first));
    }
    count = 0, failed = 0, fail_at = n;
    cl_status st = fn(&c, err);
    fail_at = -1;
    if (!failed) continue; /* a run may allocate less than the first one */
    int ok = st == CL_ENOMEM && live == base;
    cr_expect(ok, "%s: allocation %ld failed: status %d (want %d), %ld blocks leaked: %s", name, n, st, CL_ENOMEM,
              live - base, err);
    tried++, held += ok;
    /* a library call names no command; a sweep (app/sweep.c) names each
     * once at most: it read "ode: at t = 0: ode: out of memory" and
     * "sweep: point 1: sweep: out of memory" */
    int most, named = cmdnames_named(err, &most);
    if (fn == run_sweep_ode) cr_expect(most <= 1, "%s: allocation %ld failed: a command twice: %s", name, n, err);
    else cr_expect(named == 0, "%s: allocation %ld failed: a command named by the library: %s", name, n, err);
  }
  cr_log_info("%s: %ld allocations; %d failures injected, %d held", name, total, tried, held);
}

static void sweep_engine(const char *name, cl_command cmd, const char *args, engine_fn fn) {
  sweep_engine_n(name, cmd, args, fn, 100, 50);
}

Test(oom, ode) { sweep_engine("ode", CL_CMD_ODE, "--T 2 --dt-out 1", run_ode); }
Test(oom, ode_m2) { sweep_engine("ode M=2", CL_CMD_ODE, "--T 1 --dt-out 1 --M 2 --B 2 --mc-points 2000", run_ode); }
Test(oom, fixed) { sweep_engine("fixed", CL_CMD_FIXED, "", run_fixed); }
Test(oom, ode_cf) { sweep_engine("ode cf", CL_CMD_ODE, "--T 1 --dt-out 1 --quad-cf on --c laplace --c gauss", run_ode); }
Test(oom, sweep_ode) { sweep_engine("sweep ode", CL_CMD_ODE, "--T 2 --dt-out 1", run_sweep_ode); }
Test(oom, simulate) { sweep_engine("simulate", CL_CMD_SIMULATE, "--N 200 --T 0.5 --runs 2", run_sim); }
Test(oom, simulate_general) {
  sweep_engine("simulate M=2 B=4", CL_CMD_SIMULATE, "--N 200 --T 0.2 --runs 1 --M 2 --B 4", run_sim);
}
Test(oom, reduced) { sweep_engine("reduced", CL_CMD_REDUCED, "--N 200 --T 0.5 --runs 2", run_red); }
Test(oom, pde) {
  sweep_engine("pde", CL_CMD_PDE, "--T 0.2 --cells 100 --features sparse:0.2 --reg l1:0.4", run_pde);
}
Test(oom, basin, .timeout = 120) {
  sweep_engine_n("basin", CL_CMD_BASIN, "--c rademacher:3 --c rademacher:2.5 --N 10000", run_basin, 15, 10);
}

/* every public allocator (cl_rng_alloc uses aligned_alloc, which the hooks
 * do not count: its failure path is the one line checked by review) */
Test(oom, allocators) {
  sweep_engine("cl_sim_alloc", CL_CMD_SIMULATE, "--N 200 --M 2 --B 3", alloc_sim);
  sweep_engine("cl_red_alloc", CL_CMD_REDUCED, "--N 200", alloc_red);
  sweep_engine("cl_drift_alloc", CL_CMD_ODE, "", alloc_drift);
  sweep_engine("cl_drift_alloc M=2", CL_CMD_ODE, "--M 2 --lambda 1", alloc_drift);
  sweep_engine("cl_pde_alloc", CL_CMD_PDE, "--cells 100 --features sparse:0.2 --reg l1:0.4", alloc_pde);
  sweep_engine("cl_hist_alloc", CL_CMD_SIMULATE, "--N 200 --T 1 --runs 2", alloc_hist);
  sweep_engine("cl_traj_alloc", CL_CMD_SIMULATE, "", alloc_traj);
}
