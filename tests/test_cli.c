/* The command line contract (docs/cli.md): bad input, atomic outputs,
 * metadata, config files, reproducibility over threads. */
#include <criterion/criterion.h>
#include <jansson.h>

#include "testutil.h"

typedef struct {
  const char *args, *option;
} bad_case;

Test(cli, bad_input_one_line_exit_2_no_output) {
  const bad_case cases[] = {
      {"--foo 1", "--foo"},
      {"--tau abc", "--tau"},
      {"--tau 0.5x", "--tau"},
      {"--N 1e3.5", "--N"},
      {"--N 3 --M 2", "--N"},
      {"--N 2", "--N"},
      {"--rho 1.5", "--rho"},
      {"--rho -1.01", "--rho"},
      {"--s -0.1", "--s"},
      {"--tau 0", "--tau"},
      {"--tau -1", "--tau"},
      {"--B 0", "--B"},
      {"--reg l2:-0.5", "--reg"},
      {"--reg elastic:0.1:-1", "--reg"},
      {"--reg l3:1", "--reg"},
      {"--c discrete:1@0.5,-1@0.4", "--c"},
      {"--c gauss:0", "--c"},
      {"--c rademacher:-2", "--c"},
      {"--c student:1:4", "--c"},
      {"--c sparse:1:0", "--c"},
      {"--c sparse:1:1.5", "--c"},
      {"--M 2 --R0 '0.1;0.2'", "--R0"},
      {"--c gauss --c gauss --R0 '0.1,0.2'", "--R0"},
      {"--M 2 --Q0 '1,0,0'", "--Q0"},
      {"--M 2 --Q0 '1,0.5;0.4,1'", "--Q0"},
      {"--R0 1.2 --Q0 1", "--Q0"},
      {"--M 2 --R0 '0.9,0.9' --Q0 '1,0;0,1' --c gauss --R0 '0.9,0.9'", "--Q0"},
      {"--Q0 -1", "--Q0"},
      {"--config /nonexistent/cldyn.cfg", "--config"},
      {"--out /nonexistent/dir/out.csv", "--out"},
      {"--act softplus", "--act"},
      {"--features sparse:0", "--features"},
      {"--init zero", "--init"},
      {"--T -1", "--T"},
      {"--dt-out 0", "--dt-out"},
      {"--runs 0", "--runs"},
      {"--seed -3", "--seed"},
      {"--tau", "--tau"},
  };
  char dir[64];
  make_tmpdir(dir, sizeof dir);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char args[1024];
    /* the case goes last, so that it overrides --out and can end in a bare option */
    snprintf(args, sizeof args, "simulate --T 0.1 --out %s/o.csv --summary %s/s.csv %s", dir, dir,
             cases[i].args);
    CLI_REFUSES(args, NULL, cases[i].option);
    cr_expect_eq(count_entries(dir, NULL), 0, "'%s' left a file in %s", cases[i].args, dir);
  }
  /* messages give the accepted range */
  char err[4096];
  run_cli("simulate --rho 2", err, sizeof err);
  cr_expect(strstr(err, "[-1, 1]"), "%s", err);
  run_cli("simulate --c student:1:3", err, sizeof err);
  cr_expect(strstr(err, "> 4"), "%s", err);
  run_cli("simulate --c sparse:1:2", err, sizeof err);
  cr_expect(strstr(err, "(0, 1]"), "%s", err);
  run_cli("simulate --N 3 --M 2", err, sizeof err);
  cr_expect(strstr(err, "K + M + 1"), "%s", err);
  rmdir(dir);
}

Test(cli, unknown_command_exit_2) {
  char err[1024];
  cr_assert_eq(run_cli("simulat", err, sizeof err), 2);
  cr_assert_eq(run_cli("", err, sizeof err), 2);
}

Test(cli, outputs_and_metadata) {
  char dir[64], args[1024], path[256];
  make_tmpdir(dir, sizeof dir);
  snprintf(args, sizeof args,
           "simulate --N 200 --T 1 --dt-out 0.25 --runs 3 --seed 5 --out %s/o.csv --summary %s/s.csv",
           dir, dir);
  cr_assert_eq(run_cli(args, NULL, 0), 0);
  snprintf(path, sizeof path, "%s/o.csv", dir);
  char *csv = slurp(path, NULL);
  cr_assert_not_null(csv);
  cr_assert(strncmp(csv, "run,t,R_1_1,Q_1_1,cos_1_1\n", 26) == 0, "%.60s", csv);
  int lines = 0;
  for (char *p = csv; *p; p++) lines += *p == '\n';
  cr_assert_eq(lines, 1 + 3 * 5);
  free(csv);
  snprintf(path, sizeof path, "%s/s.csv", dir);
  csv = slurp(path, NULL);
  cr_assert(strncmp(csv, "t,R_1_1_mean,R_1_1_sd,Q_1_1_mean,Q_1_1_sd,cos_1_1_mean,cos_1_1_sd\n", 66) == 0);
  free(csv);
  snprintf(path, sizeof path, "%s/o.csv.json", dir);
  json_error_t jerr;
  json_t *meta = json_load_file(path, 0, &jerr);
  cr_assert_not_null(meta, "%s", jerr.text);
  cr_assert_eq(json_integer_value(json_object_get(meta, "seed")), 5);
  cr_assert_str_eq(json_string_value(json_object_get(meta, "command")), "simulate");
  cr_assert_not_null(json_object_get(meta, "version"));
  cr_assert(json_is_number(json_object_get(meta, "wall_time_s")));
  json_t *par = json_object_get(meta, "parameters");
  cr_assert_eq(json_integer_value(json_object_get(par, "N")), 200);
  cr_assert_float_eq(json_number_value(json_object_get(par, "tau")), 0.5, 0);
  cr_assert_str_eq(json_string_value(json_array_get(json_object_get(par, "c"), 0)), "rademacher:3");
  cr_assert(json_array_size(json_object_get(meta, "argv")) > 5);
  json_decref(meta);
  snprintf(path, sizeof path, "%s/s.csv.json", dir);
  cr_assert(file_exists(path));
  cr_assert_eq(count_entries(dir, NULL), 4, "temporary files left behind");
  rm_rf(dir);
}

Test(cli, same_seed_identical_files_with_1_and_2_threads) {
  char dir[64], args[1024], a[256], b[256];
  make_tmpdir(dir, sizeof dir);
  snprintf(a, sizeof a, "%s/t1.csv", dir);
  snprintf(b, sizeof b, "%s/t2.csv", dir);
  snprintf(args, sizeof args, "simulate --N 300 --T 2 --runs 6 --M 2 --B 2 --c gauss --c laplace:2 "
           "--R0 '0.1,0;0,0.1' --features dense --threads 1 --out %s", a);
  cr_assert_eq(run_cli(args, NULL, 0), 0);
  snprintf(args, sizeof args, "simulate --N 300 --T 2 --runs 6 --M 2 --B 2 --c gauss --c laplace:2 "
           "--R0 '0.1,0;0,0.1' --features dense --threads 2 --out %s", b);
  cr_assert_eq(run_cli(args, NULL, 0), 0);
  size_t la = 0, lb = 0;
  char *fa = slurp(a, &la), *fb = slurp(b, &lb);
  cr_assert(la > 100 && la == lb && memcmp(fa, fb, la) == 0, "files differ");
  free(fa);
  free(fb);
  rm_rf(dir);
}

Test(cli, print_config_round_trips_through_config_file) {
  char dir[64], cmd[1024], path[2][128];
  make_tmpdir(dir, sizeof dir);
  snprintf(path[0], sizeof path[0], "%s/a.cfg", dir);
  snprintf(path[1], sizeof path[1], "%s/b.cfg", dir);
  snprintf(cmd, sizeof cmd,
           "exec %s simulate --c gauss:2 --c 'discrete:-1@0.5,1@0.5' --reg elastic:0.1:0.2 --rho -0.3 "
           "--R0 '0.1;0.2' --print-config > %s", cli_bin(), path[0]);
  cr_assert_eq(system_child(cmd), 0, "%s", cmd);
  snprintf(cmd, sizeof cmd, "exec %s simulate --config %s --print-config > %s", cli_bin(), path[0], path[1]);
  cr_assert_eq(system_child(cmd), 0, "%s", cmd);
  size_t la = 0, lb = 0;
  char *a = slurp(path[0], &la), *b = slurp(path[1], &lb);
  cr_assert(a && b && la > 0 && la == lb && memcmp(a, b, la) == 0, "a.cfg and b.cfg differ");
  free(b);
  int nc = 0;
  for (const char *l = a; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) nc += strncmp(l, "c = ", 4) == 0;
  free(a);
  cr_assert_eq(nc, 2);
  /* a command-line --c replaces the config file's list */
  snprintf(cmd, sizeof cmd, "exec %s simulate --config %s --c uniform --R0 0.1 --print-config", cli_bin(), path[0]);
  pid_t pid;
  FILE *p = popen_child(cmd, &pid);
  cr_assert_not_null(p);
  char line[4096];
  nc = 0;
  while (fgets(line, sizeof line, p)) nc += strncmp(line, "c = ", 4) == 0;
  cr_assert_eq(pclose_child(p, pid), 0, "%s", cmd);
  cr_assert_eq(nc, 1);
  rm_rf(dir);
}

Test(cli, config_file_errors_name_the_line) {
  char dir[64], path[128], args[256], err[1024];
  make_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/bad.cfg", dir);
  FILE *f = fopen(path, "w");
  fputs("# comment\nN = 500\ntau = fast\n", f);
  fclose(f);
  snprintf(args, sizeof args, "simulate --config %s", path);
  cr_assert_eq(run_cli(args, err, sizeof err), 2);
  cr_assert(strstr(err, "--tau") && strstr(err, "bad.cfg:3"), "%s", err);
  unlink(path);
  rmdir(dir);
}

Test(cli, fixed_outputs_and_bad_vary) {
  char dir[64], args[512], path[256], err[1024];
  make_tmpdir(dir, sizeof dir);
  snprintf(args, sizeof args, "fixed --vary m2_1=1:2:0.5 --out %s/f.csv", dir);
  cr_assert_eq(run_cli(args, err, sizeof err), 0, "%s", err);
  snprintf(path, sizeof path, "%s/f.csv", dir);
  char *csv = slurp(path, NULL);
  const char *hdr = "m2_1,id,R_1_1,Q_1_1,cos_1_1,eig_re_1,eig_im_1,eig_err_1,eig_re_2,eig_im_2,eig_err_2,stability,orbit,kind,residual\n";
  cr_assert(strncmp(csv, hdr, strlen(hdr)) == 0, "%.80s", csv);
  cr_assert(strstr(csv, "\n1.5,1,") && strstr(csv, ",stable,") && strstr(csv, ",saddle,"), "%s", csv);
  free(csv);
  snprintf(args, sizeof args, "fixed --threshold --out %s/t.csv", dir);
  cr_assert_eq(run_cli(args, err, sizeof err), 0, "%s", err);
  snprintf(path, sizeof path, "%s/t.csv", dir);
  csv = slurp(path, NULL);
  const char *thr = "feature,critical_m2\n1,1.29";
  cr_assert(strncmp(csv, thr, strlen(thr)) == 0, "%s", csv);
  free(csv);
  const char *bad[] = {"--vary rho", "--vary rho=1:0:1", "--vary foo=1:2:1", "--vary m2_3=1:2:1",
                       "--vary rho=a:1:1", "--N 100", "--runs 3"};
  snprintf(path, sizeof path, "%s/bad.csv", dir);
  for (int i = 0; i < 7; i++) {
    snprintf(args, sizeof args, "fixed %s --out %s", bad[i], path);
    CLI_REFUSES(args, path, "--");
  }
  rm_rf(dir);
}

/* A run killed with SIGKILL and resumed from its checkpoint gives the
 * byte-identical result of an uninterrupted run (simulate and reduced). */
Test(cli, checkpoint_kill_and_resume_is_byte_identical, .timeout = 120) {
  const char *cmds[] = {"simulate --N 3000 --runs 4 --T 16", "reduced --N 100000 --runs 4 --T 12"};
  for (int c = 0; c < 2; c++) {
    char dir[64], cmd[2048], a[256], b[256], ck[256];
    make_tmpdir(dir, sizeof dir);
    snprintf(a, sizeof a, "%s/full.csv", dir);
    snprintf(b, sizeof b, "%s/resumed.csv", dir);
    snprintf(ck, sizeof ck, "%s/ck.bin", dir);
    snprintf(cmd, sizeof cmd, "exec %s %s --threads 2 --out %s", cli_bin(), cmds[c], a);
    cr_assert_eq(system_child(cmd), 0);
    /* start, wait until a checkpoint exists, kill -9 */
    snprintf(cmd, sizeof cmd, "exec %s %s --threads 1 --checkpoint %s --checkpoint-every 0.25 --out %s/killed.csv 2>/dev/null",
             cli_bin(), cmds[c], ck, dir);
    const pid_t run = spawn_child(cmd, -1);
    cr_assert_geq(run, 0);
    /* until the checkpoint exists or the run ends (no wall-clock limit;
     * docs/hardening.md s.18) */
    int st = 0, ended = 0;
    while (!file_exists(ck) && !(ended = waitpid(run, &st, WNOHANG) == run)) usleep(10000);
    usleep(200000);
    if (!ended) kill(run, SIGKILL), st = wait_child(run);
    char killed[256];
    snprintf(killed, sizeof killed, "%s/killed.csv", dir);
    cr_assert(WIFSIGNALED(st) && file_exists(ck) && !file_exists(killed),
              "%s: the run was not killed mid-way (too fast?)", cmds[c]);
    snprintf(cmd, sizeof cmd, "exec %s %s --threads 1 --resume %s --checkpoint %s --checkpoint-every 0.25 --out %s",
             cli_bin(), cmds[c], ck, ck, b);
    cr_assert_eq(system_child(cmd), 0);
    size_t la = 0, lb = 0;
    char *fa = slurp(a, &la), *fb = slurp(b, &lb);
    cr_assert(la > 100 && la == lb && memcmp(fa, fb, la) == 0, "%s: resumed result differs", cmds[c]);
    free(fa);
    free(fb);
    /* resuming with other parameters is refused */
    char err[1024];
    snprintf(cmd, sizeof cmd, "%s --tau 0.4 --resume %s --out %s/x.csv", cmds[c], ck, dir);
    cr_assert_eq(run_cli(cmd, err, sizeof err), 2, "%s", err);
    cr_assert(strstr(err, "--resume"), "%s", err);
    rm_rf(dir);
  }
}

/* A sweep's output does not depend on the threads or on the sharding once
 * merged, and --resume completes a partial output to the same bytes. */
Test(cli, sweep_threads_shards_merge_resume, .timeout = 120) {
  const char *grid = "--vary rho=-0.5:0.5:0.5 --vary tau=0.3:0.5:0.2";
  char bin[4096];
  cr_assert_not_null(realpath(cli_bin(), bin)); /* the commands run in another directory */
  const char *cmds[] = {"simulate --N 200 --T 1 --runs 2", "ode --T 2", "fixed"};
  for (int c = 0; c < 3; c++) {
    char dir[64], cmd[8192];
    make_tmpdir(dir, sizeof dir);
    snprintf(cmd, sizeof cmd,
             "cd %s && B=%s && $B sweep --threads 1 %s %s --out t1.csv && $B sweep --threads 2 %s %s --out t2.csv"
             " && cmp t1.csv t2.csv"
             " && for i in 1 2 3 4; do $B sweep --shard $i/4 %s %s --out s$i.csv || exit 1; done"
             " && $B sweep --merge --out m.csv s4.csv s2.csv s1.csv s3.csv && cmp m.csv t1.csv"
             " && cp s2.csv r.csv && cp s2.csv.json r.csv.json && $B sweep --resume %s %s --out r.csv && cmp r.csv t1.csv"
             " && head -1 t1.csv | grep -q '^point,rho,tau,'",
             dir, bin, grid, cmds[c], grid, cmds[c], grid, cmds[c], grid, cmds[c]);
    cr_expect_eq(script_child(cmd), 0, "sweep of '%s' is not reproducible", cmds[c]); /* a script (s.17) */
    rm_rf(dir);
  }
  char err[1024];
  cr_expect_eq(run_cli("sweep ode --T 1", err, sizeof err), 2, "%s", err);
  cr_expect_eq(run_cli("sweep --vary rho=0:1:0.5 basin", err, sizeof err), 2, "%s", err);
  cr_expect_eq(run_cli("sweep --vary rho=0:2:0.5 ode --T 1", err, sizeof err), 2, "%s", err);
  cr_expect(strstr(err, "--rho") != NULL, "%s", err);
  cr_expect_eq(run_cli("sweep --shard 3/2 --vary rho=0:1:0.5 ode", err, sizeof err), 2, "%s", err);
}

/* The MPI sweep (build/cldyn-mpi under mpirun, 2 ranks) writes the same bytes
 * as the serial sweep, also when resuming. */
Test(cli, mpi_sweep_equals_serial, .timeout = 180) {
  const char *mpi = getenv("CLDYN_MPI_BIN");
  cr_assert(mpi && *mpi, "no MPI build: CLDYN_MPI_BIN is empty (make MPI=1 needs openmpi-bin libopenmpi-dev)");
  char bin[1024], mbin[1024], dir[64], cmd[16384];
  /* the serial reference is the plain build next to the MPI one (same
   * compiler flags: a sanitizer build may differ in the last bit through
   * its vectorised math) */
  char rb[4096], rm[4096], sib[4096];
  cr_assert_not_null(realpath(mpi, rm));
  snprintf(sib, sizeof sib, "%.4000s", rm);
  char *slash = strrchr(sib, '/');
  cr_assert_not_null(slash);
  strcpy(slash + 1, "cldyn");
  cr_assert_not_null(realpath(sib, rb), "no plain build next to %s", rm);
  snprintf(bin, sizeof bin, "%.1000s", rb);
  snprintf(mbin, sizeof mbin, "%.1000s", rm);
  make_tmpdir(dir, sizeof dir);
  const char *grid = "--vary rho=-0.5:0.5:0.25 --vary tau=0.3:0.5:0.2";
  snprintf(cmd, sizeof cmd,
           "cd %s && %s sweep %s ode --T 2 --out serial.csv"
           " && mpirun --allow-run-as-root --oversubscribe -n 2 %s sweep %s ode --T 2 --out mpi.csv"
           " && cmp serial.csv mpi.csv"
           " && %s sweep --shard 2/3 %s ode --T 2 --out part.csv"
           " && mpirun --allow-run-as-root --oversubscribe -n 2 %s sweep --resume %s ode --T 2 --out part.csv"
           " && cmp serial.csv part.csv"
           " && %s sweep %s simulate --N 200 --T 1 --runs 2 --out s2.csv"
           " && mpirun --allow-run-as-root --oversubscribe -n 2 %s sweep %s simulate --N 200 --T 1 --runs 2 --out m2.csv"
           " && cmp s2.csv m2.csv",
           dir, bin, grid, mbin, grid, bin, grid, mbin, grid, bin, grid, mbin, grid);
  cr_expect_eq(script_child(cmd), 0, "MPI sweep differs from the serial sweep"); /* a script (s.17) */
  rm_rf(dir);
}

/* Writing to a special file is done in place: an output that is a FIFO must
 * neither be replaced (atomic rename) nor get a .json sidecar.  A FIFO in a
 * private directory stands for every special file: tests never write onto
 * device nodes (a regression would replace /dev/null as root). */
Test(cli, out_to_a_fifo_writes_in_place, .timeout = 60) {
  char dir[64], args[4096], err[1024], p[128], q[128], got[160];
  make_tmpdir(dir, sizeof dir);
  snprintf(p, sizeof p, "%s/p", dir);
  snprintf(q, sizeof q, "%s/q", dir);
  cr_assert_eq(mkfifo(p, 0600), 0);
  cr_assert_eq(mkfifo(q, 0600), 0);
  /* readers: cat each FIFO into a regular file, in the background */
  snprintf(args, sizeof args,
           "ode --T 1 --dt-out 1 --out %s & cat %s > %s/p1.csv; wait $! || exit 9; "
           "cat %s > %s/p2.csv & cat %s > %s/q2.csv & %s simulate --N 200 --T 0.5 --runs 2 --out %s --summary %s; "
           "st=$?; wait; exit $st",
           p, p, dir, p, dir, q, dir, cli_bin(), p, q);
  cr_assert_eq(run_cli(args, err, sizeof err), 0, "%s", err);
  struct stat sb;
  cr_expect(stat(p, &sb) == 0 && S_ISFIFO(sb.st_mode), "the FIFO --out was replaced");
  cr_expect(stat(q, &sb) == 0 && S_ISFIFO(sb.st_mode), "the FIFO --summary was replaced");
  snprintf(got, sizeof got, "%s/p.json", dir);
  cr_expect(!file_exists(got), "a sidecar was written beside a FIFO");
  const char *names[] = {"p1.csv", "p2.csv", "q2.csv"};
  for (int i = 0; i < 3; i++) {
    snprintf(got, sizeof got, "%s/%s", dir, names[i]);
    char *t = slurp(got, NULL);
    cr_expect(t && (strncmp(t, "t,", 2) == 0 || strncmp(t, "run,t,", 6) == 0) && strchr(t, '\n') && strchr(t, '\n')[1], "%s: no table read from the FIFO",
              names[i]);
    free(t);
  }
  rm_rf(dir);
}

/* The method line is written whole (CL_INFOLEN): the quad rule's line at
 * M = 3 with B > 1 and a middle level runs past the 512 bytes of CL_ERRLEN,
 * which once cut it inside "error estimate" and dropped the bounds after
 * it.  The JSON field and the stderr line end with the drift bound, after
 * the estimate's text that names the middle (last) level. */
Test(cli, quad_method_line_is_not_truncated) {
  char dir[64], args[1024], path[256], err[4096];
  make_tmpdir(dir, sizeof dir);
  snprintf(args, sizeof args,
           "ode --M 3 --expect quad --quad-nodes 4 --lambda 1 --B 4 --c rademacher:3 --c rademacher:3 "
           "--c rademacher:3 --T 0.01 --out %s/o.csv",
           dir);
  cr_assert_eq(run_cli(args, err, sizeof err), 0, "%s", err);
  snprintf(path, sizeof path, "%s/o.csv.json", dir);
  json_error_t jerr;
  json_t *meta = json_load_file(path, 0, &jerr);
  cr_assert_not_null(meta, "%s", jerr.text);
  const char *m = json_string_value(json_object_get(meta, "method"));
  cr_assert_not_null(m);
  const size_t n = strlen(m);
  cr_expect_gt(n, CL_ERRLEN - 1, "the case should have a line longer than CL_ERRLEN (%zu bytes): %s", n, m);
  cr_expect(strstr(m, "middle ") && strstr(m, "error estimate max |fine - coarse or middle| over the drift; 3 levels"),
            "%s", m);
  const char *tail = " at t = 0";
  cr_expect(n > strlen(tail) && strcmp(m + n - strlen(tail), tail) == 0 && strstr(m, "; drift error bound "),
            "method cut: ...%s", n > 80 ? m + n - 80 : m);
  /* the same line on stderr, whole */
  char line[CL_INFOLEN + 16];
  snprintf(line, sizeof line, "cldyn: %s\n", m);
  cr_expect(strstr(err, line), "stderr: %s", err);
  json_decref(meta);
  rm_rf(dir);
}

/* Out of memory under fixed, basin and a sweep of fixed names the command
 * that ran: the shared drift code's messages once carried "ode: ", which
 * the CLI printed as "ode: out of memory" under fixed and basin; now they
 * name no command and the CLI writes the one that ran
 * (cl_status_name_command).  The address space is capped (ulimit -v, 1 GB)
 * and the Monte Carlo drift asks for 1e8 batches of 2 features (1.6 GB):
 * exit 1, one line.  The plain build (CLDYN_PLAIN_BIN): a sanitizer build
 * reserves more address space than the cap. */
Test(cli, out_of_memory_names_the_command_that_ran, .timeout = 60) {
  const char *plain = getenv("CLDYN_PLAIN_BIN");
  if (!plain) plain = cli_bin();
  static const struct {
    const char *args, *want;
  } cases[] = {
      {"fixed --M 2 --c rademacher:2", "cldyn: fixed: out of memory for 100000000 Monte Carlo points\n"},
      {"basin --M 2 --c rademacher:2 --c rademacher:2 --directions 2",
       "cldyn: basin: out of memory for 100000000 Monte Carlo points\n"},
      {"sweep --vary tau=0.5:0.5:1 fixed --M 2 --c rademacher:2",
       "cldyn: sweep: point 1: fixed: out of memory for 100000000 Monte Carlo points\n"},
      {"ode --M 2", "cldyn: ode: out of memory for 100000000 Monte Carlo points\n"},
  };
  char dir[64];
  make_tmpdir(dir, sizeof dir);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char cmd[2048], path[256];
    snprintf(path, sizeof path, "%s/err.txt", dir);
    snprintf(cmd, sizeof cmd,
             "ulimit -v 1000000; exec %s %s --expect mc --mc-points 100000000 --out %s/x.csv >/dev/null 2>%s </dev/null",
             plain, cases[i].args, dir, path);
    const int st = system_child(cmd);
    char *err = slurp(path, NULL);
    cr_assert_not_null(err);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 1, "%s: status %d: %s", cases[i].args, st, err);
    cr_expect_str_eq(err, cases[i].want, "%s", cases[i].args);
    free(err);
    snprintf(path, sizeof path, "%s/x.csv", dir);
    cr_expect(!file_exists(path), "%s: an output was left", cases[i].args);
  }
  rm_rf(dir);
}
