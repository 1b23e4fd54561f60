/* The researcher's workflow (issue 15 parts 2, 3, 5, 6): sweeps and plots
 * that work together, one model file for every engine, the output format
 * and progress.  CLI tests with small, seeded runs; every table value is
 * checked against a reference computed here from another run's output. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>

#include "runin.h"
#include "testutil.h"

/* ---- helpers ---- */

static char *read_in(const char *dir, const char *name) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return slurp(p, NULL);
}

/* A CSV as a table of doubles (header kept as text); NaN for text fields. */
typedef struct {
  char head[4096];
  int ncol;
  long nrow;
  double *v;
} table;

static int col_of(const table *t, const char *name) {
  char h[4096];
  snprintf(h, sizeof h, "%s", t->head);
  int k = 0;
  for (char *s = NULL, *tok = strtok_r(h, ",", &s); tok; tok = strtok_r(NULL, ",", &s), k++)
    if (!strcmp(tok, name)) return k;
  return -1;
}

static double at(const table *t, long r, int c) { return t->v[r * t->ncol + c]; }

static void read_table(const char *dir, const char *name, table *t) {
  char *text = read_in(dir, name);
  cr_assert(text, "no %s", name);
  memset(t, 0, sizeof *t);
  char *save = NULL, *line = strtok_r(text, "\n", &save);
  cr_assert(line);
  snprintf(t->head, sizeof t->head, "%s", line);
  t->ncol = 1;
  for (const char *p = line; *p; p++) t->ncol += *p == ',';
  long cap = 64;
  t->v = malloc(sizeof(double) * (size_t)cap * (size_t)t->ncol);
  for (line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    if (t->nrow == cap) cap *= 2, t->v = realloc(t->v, sizeof(double) * (size_t)cap * (size_t)t->ncol);
    int k = 0;
    for (char *s2 = NULL, *tok = strtok_r(line, ",", &s2); tok && k < t->ncol; tok = strtok_r(NULL, ",", &s2), k++) {
      char *end;
      double x = strtod(tok, &end);
      t->v[t->nrow * t->ncol + k] = *end ? NAN : x;
    }
    cr_assert_eq(k, t->ncol, "%s row %ld: %d fields", name, t->nrow + 1, k);
    t->nrow++;
  }
  free(text);
}

static void write_in(const char *dir, const char *name, const char *text) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  cr_assert(f);
  fputs(text, f);
  fclose(f);
}

/* ---- 5. output ---- */

Test(ux, t_equals_T_is_always_written) {
  char dir[64], err[2048];
  make_tmpdir(dir, sizeof dir);
  cr_assert_eq(run_in(dir, err, sizeof err, "ode --T 1 --dt-out 0.3 --out o.csv"), 0, "%s", err);
  cr_assert_eq(run_in(dir, err, sizeof err, "pde --T 0.25 --dt-out 0.1 --cells 100 --out p.csv"), 0, "%s", err);
  cr_assert_eq(run_in(dir, err, sizeof err, "simulate --N 100 --T 0.25 --dt-out 0.1 --runs 2 --out s.csv"), 0, "%s", err);
  const char *want[] = {"0", "0.3", "0.6", "0.9", "1"};
  char *o = read_in(dir, "o.csv"), *save = NULL, *line = strtok_r(o, "\n", &save);
  int k = 0;
  for (line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save), k++) {
    cr_assert(k < 5, "more than 5 rows");
    cr_expect_eq(strncmp(line, want[k], strlen(want[k])), 0, "row %d: %s", k, line);
    cr_expect_eq(line[strlen(want[k])], ',', "row %d: %s", k, line);
  }
  cr_expect_eq(k, 5, "rows: %d (t = 1 missing?)", k);
  free(o);
  table p, s;
  read_table(dir, "p.csv", &p);
  cr_expect_eq(p.nrow, 4);
  cr_expect_eq(at(&p, p.nrow - 1, 0), 0.25);
  read_table(dir, "s.csv", &s);
  cr_expect_eq(s.nrow, 8);
  cr_expect_eq(at(&s, 3, 1), 0.25, "run 1's last t = %g", at(&s, 3, 1));
  cr_expect_eq(at(&s, 7, 1), 0.25);
  free(p.v), free(s.v);
  rm_rf(dir);
}

/* every number is the shortest of %.15g/%.16g/%.17g that reads back */
Test(ux, numbers_in_the_shortest_form_that_reads_back) {
  char dir[64], err[2048];
  make_tmpdir(dir, sizeof dir);
  cr_assert_eq(run_in(dir, err, sizeof err, "ode --T 2 --dt-out 0.1 --rho 0.3 --out o.csv"), 0, "%s", err);
  cr_assert_eq(run_in(dir, err, sizeof err, "simulate --N 100 --T 1 --runs 3 --out s.csv --summary m.csv"), 0, "%s", err);
  cr_assert_eq(run_in(dir, err, sizeof err, "fixed --out f.csv"), 0, "%s", err);
  const char *files[] = {"o.csv", "s.csv", "m.csv", "f.csv"};
  long checked = 0;
  for (int i = 0; i < 4; i++) {
    char *text = read_in(dir, files[i]), *s1 = NULL;
    char *line = strtok_r(text, "\n", &s1);
    for (line = strtok_r(NULL, "\n", &s1); line; line = strtok_r(NULL, "\n", &s1))
      for (char *s2 = NULL, *tok = strtok_r(line, ",", &s2); tok; tok = strtok_r(NULL, ",", &s2)) {
        char *end;
        double x = strtod(tok, &end);
        if (*end || !isfinite(x)) continue;
        char best[40];
        for (int prec = 1; prec <= 17; prec++) {
          snprintf(best, sizeof best, "%.*g", prec, x);
          if (strtod(best, NULL) == x) break;
        }
        /* the written form reads back, and is no longer than the shortest %g form */
        cr_expect(strtod(tok, NULL) == x && strlen(tok) <= strlen(best), "%s: '%s' (shortest: '%s')", files[i], tok,
                  best);
        checked++;
      }
    free(text);
  }
  cr_expect(checked > 150, "%ld numbers", checked);
  char *o = read_in(dir, "o.csv");
  cr_expect(strstr(o, "\n0.3,") && !strstr(o, "0.29999999999999999"), "t = 0.3 is not written as 0.3");
  free(o);
  rm_rf(dir);
}

/* the JSON sidecars too: 0.3 is "0.3", not jansson's 0.29999999999999999;
 * every number reads back to the value jansson reads, in the shortest %g
 * form (a real with an integral value keeps ".0", to read as a real) */
Test(ux, json_numbers_in_the_shortest_form) {
  char dir[64], err[2048];
  make_tmpdir(dir, sizeof dir);
  cr_assert_eq(run_in(dir, err, sizeof err, "ode --T 1 --dt-out 0.3 --rho 0.3 --R0 0.1 --tau 0.7 --out o.csv"), 0,
               "%s", err);
  cr_assert_eq(run_in(dir, err, sizeof err, "sweep --vary s=0.1:0.3:0.1 ode --T 0.5 --out w.csv"), 0, "%s", err);
  const char *files[] = {"o.csv.json", "w.csv.json"};
  long checked = 0;
  for (int i = 0; i < 2; i++) {
    char *text = read_in(dir, files[i]);
    cr_assert(text, "no %s", files[i]);
    /* jansson reads it, and the values are those given */
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, files[i]);
    json_error_t je;
    json_t *root = json_load_file(p, 0, &je);
    cr_assert(root, "%s: %s", files[i], je.text);
    json_t *par = json_object_get(root, "parameters");
    if (i == 0) {
      cr_expect(json_real_value(json_object_get(par, "rho")) == 0.3);
      cr_expect(json_real_value(json_object_get(par, "tau")) == 0.7);
      cr_expect(strstr(text, "\"rho\": 0.3,") && strstr(text, "\"R0\": 0.1,") && strstr(text, "\"dt-out\": 0.3,"),
                "%s", text);
    }
    cr_expect(!strstr(text, "99999999") && !strstr(text, "00000001"), "%s: %s", files[i], text);
    cr_expect(json_is_real(json_object_get(root, "wall_time_s")));
    json_decref(root);
    /* every number after a key, token by token */
    for (char *q = strstr(text, "\": "); q; q = strstr(q + 1, "\": ")) {
      char *tok = q + 3, *end;
      if (!strchr("-0123456789", *tok)) continue;
      double x = strtod(tok, &end);
      size_t len = (size_t)(end - tok);
      char best[40];
      for (int prec = 1; prec <= 17; prec++) {
        snprintf(best, sizeof best, "%.*g", prec, x);
        if (strtod(best, NULL) == x) break;
      }
      /* no longer than the shortest %g form, but for a ".0" that marks a real */
      int dot0 = len > 2 && !strncmp(end - 2, ".0", 2);
      cr_expect(len <= strlen(best) + (dot0 ? 2 : 0), "%s: '%.*s' (shortest: '%s')", files[i], (int)len, tok, best);
      checked++;
    }
    free(text);
  }
  cr_expect(checked > 25, "%ld numbers", checked);
  rm_rf(dir);
}

/* ---- 2. sweep ---- */

Test(ux, sweep_help_and_vary_rules) {
  char dir[64], err[4096];
  make_tmpdir(dir, sizeof dir);
  cr_expect_eq(run_in(dir, err, sizeof err, "sweep --help"), 0, "%s", err);
  char *o = read_in(dir, "stdout");
  cr_expect(strstr(o, "usage: cldyn sweep") && strstr(o, "--summary") && strstr(o, "--streams"), "%s", o);
  free(o);
  cr_expect_eq(run_in(dir, err, sizeof err, "sweep ode --help"), 0, "%s", err);
  o = read_in(dir, "stdout");
  cr_expect(strstr(o, "usage: cldyn sweep") && strstr(o, "--rtol"), "%s", o);
  free(o);
  /* a repeated name: exit 2, one line, no file */
  cr_expect_eq(run_in(dir, err, sizeof err, "sweep --vary rho=-1:1:0.5 --vary rho=0:1:1 ode --T 1 --out r.csv"), 2);
  cr_expect(strstr(err, "rho") && strstr(err, "twice") && strchr(err, '\n') == err + strlen(err) - 1, "%s", err);
  cr_expect(!exists_in(dir, "r.csv"));
  /* --vary after the command: the same sweep */
  cr_assert_eq(run_in(dir, err, sizeof err, "sweep --vary rho=0:1:0.5 ode --T 1 --out a.csv"), 0, "%s", err);
  cr_assert_eq(run_in(dir, err, sizeof err, "sweep ode --T 1 --vary rho=0:1:0.5 --out b.csv"), 0, "%s", err);
  char *a = read_in(dir, "a.csv"), *b = read_in(dir, "b.csv");
  cr_expect_str_eq(a, b);
  free(a), free(b);
  /* the JSON records the grid */
  char *j = read_in(dir, "a.csv.json");
  cr_expect(strstr(j, "\"command\": \"sweep ode\""), "%s", j);
  cr_expect(strstr(j, "\"rho\": \"0:1:0.5\"") && strstr(j, "\"grid\""), "%s", j);
  cr_expect(!strstr(j, "\"rho\": 0,") && !strstr(j, "\"rho\": 0\n"), "%s", j);
  free(j);
  /* --summary as a path, or for a command without runs: exit 2 */
  cr_expect_eq(run_in(dir, err, sizeof err, "sweep --vary rho=0:1:1 simulate --summary x.csv --out c.csv"), 2);
  cr_expect_eq(run_in(dir, err, sizeof err, "sweep --vary rho=0:1:1 --summary ode --out c.csv"), 2);
  cr_expect_eq(run_in(dir, err, sizeof err, "sweep --vary rho=0:1:1 --streams sometimes ode --out c.csv"), 2);
  cr_expect(!exists_in(dir, "c.csv"));
  /* reproduce: the progress options, and a missing --out value named as such */
  cr_expect_eq(run_in(dir, err, sizeof err, "reproduce --help"), 0);
  o = read_in(dir, "stdout");
  cr_expect(strstr(o, "--progress") && strstr(o, "--quiet"), "%s", o);
  free(o);
  cr_expect_eq(run_in(dir, err, sizeof err, "reproduce --out"), 2);
  cr_expect(strstr(err, "missing value") && strstr(err, "--out"), "%s", err);
  rm_rf(dir);
}

/* --summary and --final against the full sweep: the mean and sd over runs
 * at each point and time, computed here */
Test(ux, sweep_summary_and_final_match_the_runs, .timeout = 60) {
  char dir[64], err[2048];
  make_tmpdir(dir, sizeof dir);
  const char *model = "simulate --N 150 --T 1 --dt-out 0.5 --runs 5 --seed 7 --threads 1";
  cr_assert_eq(run_in(dir, err, sizeof err, "sweep --vary s=0:0.5:0.5 %s --out all.csv", model), 0, "%s", err);
  cr_assert_eq(run_in(dir, err, sizeof err, "sweep --vary s=0:0.5:0.5 --summary %s --out sum.csv", model), 0, "%s", err);
  cr_assert_eq(run_in(dir, err, sizeof err, "sweep --vary s=0:0.5:0.5 --final %s --out fin.csv", model), 0, "%s", err);
  cr_assert_eq(run_in(dir, err, sizeof err, "sweep --vary s=0:0.5:0.5 --final --summary %s --out fs.csv", model), 0,
               "%s", err);
  table all, sum, fin, fs;
  read_table(dir, "all.csv", &all), read_table(dir, "sum.csv", &sum);
  read_table(dir, "fin.csv", &fin), read_table(dir, "fs.csv", &fs);
  cr_assert_eq(all.nrow, 2 * 5 * 3);
  cr_assert_eq(sum.nrow, 2 * 3);
  cr_assert_eq(fin.nrow, 2 * 5);
  cr_assert_eq(fs.nrow, 2);
  cr_assert_str_eq(sum.head, "point,s,t,R_1_1_mean,R_1_1_sd,Q_1_1_mean,Q_1_1_sd,cos_1_1_mean,cos_1_1_sd");
  int ct = col_of(&all, "t"), cq = col_of(&all, "cos_1_1");
  for (int p = 0; p < 2; p++)
    for (int k = 0; k < 3; k++) {
      double m = 0, ss = 0;
      for (int r = 0; r < 5; r++) m += at(&all, (p * 5 + r) * 3 + k, cq);
      m /= 5;
      for (int r = 0; r < 5; r++) ss += pow(at(&all, (p * 5 + r) * 3 + k, cq) - m, 2);
      double sd = sqrt(ss / 4);
      long row = p * 3 + k;
      cr_expect_eq(at(&sum, row, 2), at(&all, k, ct));
      cr_expect(fabs(at(&sum, row, col_of(&sum, "cos_1_1_mean")) - m) <= 1e-15 * fabs(m) + 1e-17, "point %d k %d", p, k);
      cr_expect(fabs(at(&sum, row, col_of(&sum, "cos_1_1_sd")) - sd) <= 1e-13 * sd + 1e-17, "point %d k %d", p, k);
      if (k == 2) {
        cr_expect(fabs(at(&fs, p, col_of(&fs, "cos_1_1_mean")) - m) <= 1e-15 * fabs(m) + 1e-17);
        cr_expect_eq(at(&fs, p, col_of(&fs, "t")), 1);
        for (int r = 0; r < 5; r++) {
          cr_expect_eq(at(&fin, p * 5 + r, col_of(&fin, "t")), 1);
          cr_expect_eq(at(&fin, p * 5 + r, col_of(&fin, "cos_1_1")), at(&all, (p * 5 + r) * 3 + 2, cq));
        }
      }
    }
  free(all.v), free(sum.v), free(fin.v), free(fs.v);
  rm_rf(dir);
}

/* Common random numbers by default (each point = the command with --seed);
 * --streams independent: each point = the command with its own seed, the
 * same whatever the sharding. */
Test(ux, sweep_random_streams, .timeout = 60) {
  char dir[64], err[2048];
  make_tmpdir(dir, sizeof dir);
  const char *model = "simulate --N 120 --T 1 --runs 2 --seed 5 --threads 1";
  cr_assert_eq(run_in(dir, err, sizeof err, "sweep --vary rho=0:0.5:0.5 --final %s --out crn.csv", model), 0, "%s", err);
  cr_assert_eq(run_in(dir, err, sizeof err, "sweep --vary rho=0:0.5:0.5 --final --streams independent %s --out ind.csv",
                      model), 0, "%s", err);
  cr_assert_eq(run_in(dir, err, sizeof err,
                      "sweep --shard 2/2 --vary rho=0:0.5:0.5 --final --streams independent %s --out ind2.csv", model),
               0, "%s", err);
  table crn, ind, ind2;
  read_table(dir, "crn.csv", &crn), read_table(dir, "ind.csv", &ind), read_table(dir, "ind2.csv", &ind2);
  int c = col_of(&crn, "R_1_1");
  for (int p = 0; p < 2; p++) {
    table one;
    cr_assert_eq(run_in(dir, err, sizeof err, "%s --rho %s --out one.csv", model, p ? "0.5" : "0"), 0, "%s", err);
    read_table(dir, "one.csv", &one);
    int c1 = col_of(&one, "R_1_1");
    for (int r = 0; r < 2; r++) cr_expect_eq(at(&crn, p * 2 + r, c), at(&one, (r + 1) * one.nrow / 2 - 1, c1));
    free(one.v);
    uint64_t seed = cl_sweep_point_seed(5, p);
    cr_assert_eq(run_in(dir, err, sizeof err, "%s --rho %s --out one.csv --seed %llu", model, p ? "0.5" : "0",
                        (unsigned long long)seed), 0, "%s", err);
    read_table(dir, "one.csv", &one);
    for (int r = 0; r < 2; r++) {
      cr_expect_eq(at(&ind, p * 2 + r, c), at(&one, (r + 1) * one.nrow / 2 - 1, c1));
      cr_expect_neq(at(&ind, p * 2 + r, c), at(&crn, p * 2 + r, c));
    }
    free(one.v);
  }
  /* the shard holds point 2 with the same streams */
  cr_assert_eq(ind2.nrow, 2);
  for (int r = 0; r < 2; r++) cr_expect_eq(at(&ind2, r, c), at(&ind, 2 + r, c));
  /* point seeds: distinct, below 2^53 */
  cr_expect_neq(cl_sweep_point_seed(5, 0), cl_sweep_point_seed(5, 1));
  cr_expect_neq(cl_sweep_point_seed(5, 0), cl_sweep_point_seed(6, 0));
  cr_expect(cl_sweep_point_seed(~0ULL, 77) < (1ULL << 53));
  free(crn.v), free(ind.v), free(ind2.v);
  rm_rf(dir);
}

Test(ux, basin_and_fixed_are_sweepable, .timeout = 90) {
  char dir[64], err[2048];
  make_tmpdir(dir, sizeof dir);
  const char *bm = "--c rademacher:3 --c rademacher:2 --directions 12 --tmax 40 --seed 3";
  cr_assert_eq(run_in(dir, err, sizeof err, "sweep --threads 2 --vary s=0.3:0.5:0.2 basin %s --out b.csv", bm), 0, "%s",
               err);
  cr_assert_eq(run_in(dir, err, sizeof err, "basin %s --s 0.5 --threads 1 --out one.csv", bm), 0, "%s", err);
  /* point 2's rows are basin's own table at s = 0.5 */
  char *b = read_in(dir, "b.csv"), *one = read_in(dir, "one.csv");
  cr_assert(strncmp(b, "point,s,fixed_point,probability,stderr,cos_1_1,cos_2_1\n", 55) == 0, "%s", b);
  char *s1 = NULL, *line = strtok_r(one, "\n", &s1);
  int rows = 0;
  for (line = strtok_r(NULL, "\n", &s1); line; line = strtok_r(NULL, "\n", &s1), rows++) {
    char want[1024];
    snprintf(want, sizeof want, "\n2,0.5,%s\n", line);
    cr_expect(strstr(b, want), "missing %s", want);
  }
  cr_expect(rows >= 2);
  free(b), free(one);
  cr_assert_eq(run_in(dir, err, sizeof err, "sweep --vary lambda=0:1:1 fixed --out f.csv"), 0, "%s", err);
  table f;
  read_table(dir, "f.csv", &f);
  cr_expect(f.nrow >= 2 && col_of(&f, "lambda") == 1);
  free(f.v);
  rm_rf(dir);
}

/* ---- 3. one model file for every engine ---- */

Test(ux, one_model_file_drives_every_engine, .timeout = 60) {
  char dir[64], err[4096];
  make_tmpdir(dir, sizeof dir);
  const char *cmds[] = {"simulate", "reduced", "ode", "pde", "fixed", "basin"};
  for (int a = 0; a < 6; a++) {
    cr_assert_eq(run_in(dir, err, sizeof err, "%s --c rademacher:3 --c rademacher:2 --rho 0.3 --print-config", cmds[a]),
                 0, "%s", err);
    char *cfg = read_in(dir, "stdout");
    write_in(dir, "m.cfg", cfg);
    free(cfg);
    for (int b = 0; b < 6; b++) {
      cr_expect_eq(run_in(dir, err, sizeof err, "%s --config m.cfg --print-config", cmds[b]), 0, "%s -> %s: %s",
                   cmds[a], cmds[b], err);
      /* at most one note, naming the skipped keys */
      int notes = 0;
      for (const char *p = err; (p = strstr(p, "note:")); p++) notes++;
      cr_expect(notes <= 1, "%s -> %s: %s", cmds[a], cmds[b], err);
      char *eff = read_in(dir, "stdout");
      cr_expect(strstr(eff, "rho = 0.3\n") && strstr(eff, "c = rademacher:2\n"), "%s -> %s:\n%s", cmds[a], cmds[b], eff);
      free(eff);
      if (a != b && notes) {
        cr_expect_eq(run_in(dir, err, sizeof err, "%s --config m.cfg --strict --print-config", cmds[b]), 2, "%s -> %s",
                     cmds[a], cmds[b]);
        cr_expect(strstr(err, "--strict") && strstr(err, "m.cfg"), "%s", err);
      }
    }
  }
  /* the case: a simulate file drives ode, with one note naming N */
  cr_assert_eq(run_in(dir, err, sizeof err, "simulate --N 500 --T 1 --runs 3 --print-config"), 0);
  char *cfg = read_in(dir, "stdout");
  write_in(dir, "s.cfg", cfg);
  free(cfg);
  cr_expect_eq(run_in(dir, err, sizeof err, "ode --config s.cfg --out o.csv"), 0, "%s", err);
  cr_expect(strstr(err, "note:") && strstr(err, "N") && strstr(err, "runs"), "%s", err);
  cr_expect(exists_in(dir, "o.csv"));
  cr_expect_eq(run_in(dir, err, sizeof err, "ode --config s.cfg --out o.csv --quiet"), 0, "%s", err);
  /* no note; only the method line with the error bounds, which M = 1 prints
   * too since its coarse level (docs/m1-many-features.md s.7), as M >= 2 */
  const char *nl = strchr(err, '\n');
  cr_expect(!strstr(err, "note:") && !strncmp(err, "cldyn: ", 7) && strstr(err, "error bound") && nl && !nl[1],
            "%s", err);
  /* an unknown key and a key on the command line stay errors */
  write_in(dir, "bad.cfg", "rhoo = 0.3\n");
  cr_expect_eq(run_in(dir, err, sizeof err, "ode --config bad.cfg"), 2);
  cr_expect_eq(run_in(dir, err, sizeof err, "ode --N 500"), 2);
  rm_rf(dir);
}

/* ---- 2. plot ---- */

static int have_gnuplot(void) { return system_child("command -v gnuplot >/dev/null 2>&1") == 0; } /* a builtin */

/* a name holding "tmp" (a temporary file left) */
static int names_tmp(const char *name) { return strstr(name, "tmp") != NULL; }

Test(ux, plot_x_against_a_parameter, .timeout = 90) {
  if (!have_gnuplot()) cr_skip_test("gnuplot is not installed");
  char dir[64], err[2048];
  make_tmpdir(dir, sizeof dir);
  cr_assert_eq(run_in(dir, err, sizeof err,
                      "sweep --vary rho=-1:1:1 --vary s=0.3:0.5:0.2 simulate --N 150 --T 1 --runs 4 --out s.csv"),
               0, "%s", err);
  /* not a table over time: refused without --x, no figure */
  cr_expect_eq(run_in(dir, err, sizeof err, "plot --out f.png s.csv"), 2);
  cr_expect(strstr(err, "--x") && strstr(err, "point"), "%s", err);
  cr_expect(!exists_in(dir, "f.png") && !exists_in(dir, "f.png.gp"));
  cr_assert_eq(run_in(dir, err, sizeof err, "fixed --vary lambda=0:1:0.5 --out fx.csv"), 0, "%s", err);
  cr_expect_eq(run_in(dir, err, sizeof err, "plot --out f.png fx.csv"), 2);
  /* --x rho --t 0.5: one curve per s, mean +- se over the 4 runs at t = 0.5 */
  cr_assert_eq(run_in(dir, err, sizeof err, "plot --x rho --y R_1_1 --t 0.5 --out f.png s.csv"), 0, "%s", err);
  cr_expect(exists_in(dir, "f.png") && exists_in(dir, "f.png.gp") && exists_in(dir, "f.png.dat"));
  table s;
  read_table(dir, "s.csv", &s);
  int cp = col_of(&s, "point"), cr = col_of(&s, "rho"), cs = col_of(&s, "s"), ct = col_of(&s, "t"),
      cy = col_of(&s, "R_1_1");
  char *dat = read_in(dir, "f.png.dat");
  int blocks = 0;
  for (const char *p = dat; (p = strstr(p, "\n# s.csv s = ")); p++) blocks++;
  cr_expect_eq(blocks, 2, "%s", dat);
  for (int si = 0; si < 2; si++)
    for (int ri = 0; ri < 3; ri++) {
      double m = 0, ss = 0, rho = ri - 1.0, sv = si ? 0.5 : 0.3;
      int n = 0;
      for (long r = 0; r < s.nrow; r++)
        if (at(&s, r, cr) == rho && at(&s, r, cs) == sv && at(&s, r, ct) == 0.5) m += at(&s, r, cy), n++;
      cr_assert_eq(n, 4);
      m /= n;
      for (long r = 0; r < s.nrow; r++)
        if (at(&s, r, cr) == rho && at(&s, r, cs) == sv && at(&s, r, ct) == 0.5) ss += pow(at(&s, r, cy) - m, 2);
      double se = sqrt(ss / 3) / 2;
      /* find the row "rho mean se 4 sd" in the block of s */
      char tag[64];
      snprintf(tag, sizeof tag, "# s.csv s = %g\n", sv);
      const char *blk = strstr(dat, tag);
      cr_assert(blk, "%s", tag);
      const char *row = blk + strlen(tag);
      for (int k = 0; k < ri; k++) row = strchr(row, '\n') + 1;
      double x, mean, e;
      long nn;
      cr_assert_eq(sscanf(row, "%lf %lf %lf %ld", &x, &mean, &e, &nn), 4, "%s", row);
      cr_expect_eq(x, rho);
      cr_expect_eq(nn, 4);
      cr_expect(fabs(mean - m) <= 1e-14 * fabs(m) + 1e-16, "rho %g s %g: %.17g vs %.17g", rho, sv, mean, m);
      cr_expect(fabs(e - se) <= 1e-12 * se + 1e-16, "rho %g s %g: se %.17g vs %.17g", rho, sv, e, se);
    }
  (void)cp;
  free(dat), free(s.v);
  /* the kept script reruns cleanly: FIG.png rewritten, no stray file */
  char cmd[300], fig[128];
  snprintf(fig, sizeof fig, "%s/f.png", dir);
  cr_assert_eq(unlink(fig), 0);
  snprintf(cmd, sizeof cmd, "cd '%s' && exec gnuplot f.png.gp >/dev/null 2>&1", dir);
  cr_expect_eq(system_child(cmd), 0);
  cr_expect(exists_in(dir, "f.png"), "gnuplot f.png.gp did not write f.png");
  cr_expect_eq(count_entries(dir, names_tmp), 0, "a temporary file is left");
  /* the same for a trajectory figure */
  cr_assert_eq(run_in(dir, err, sizeof err, "ode --T 1 --out o.csv"), 0, "%s", err);
  cr_assert_eq(run_in(dir, err, sizeof err, "plot --out t.svg o.csv"), 0, "%s", err);
  snprintf(fig, sizeof fig, "%s/t.svg", dir);
  cr_assert_eq(unlink(fig), 0);
  snprintf(cmd, sizeof cmd, "cd '%s' && exec gnuplot t.svg.gp >/dev/null 2>&1", dir);
  struct stat sb;
  cr_expect(system_child(cmd) == 0 && stat(fig, &sb) == 0 && sb.st_size > 0 && count_entries(dir, names_tmp) == 0,
            "rerunning t.svg.gp");
  /* a --summary sweep: the error bar is COLUMN_sd / sqrt(runs of the .json) */
  cr_assert_eq(run_in(dir, err, sizeof err, "sweep --vary rho=0:1:1 --summary --final simulate --N 120 --T 1 --runs 9 "
                      "--out m.csv"), 0, "%s", err);
  cr_assert_eq(run_in(dir, err, sizeof err, "plot --x rho --out m.png m.csv"), 0, "%s", err);
  table ms;
  read_table(dir, "m.csv", &ms);
  char *md = read_in(dir, "m.png.dat");
  const char *row = strstr(md, "\n# m.csv \n");
  cr_assert(row, "%s", md);
  row = strchr(row + 2, '\n') + 1;
  for (int p = 0; p < 2; p++, row = strchr(row, '\n') + 1) {
    double x, mean, e, sd;
    long nn;
    cr_assert_eq(sscanf(row, "%lf %lf %lf %ld %lf", &x, &mean, &e, &nn, &sd), 5, "%s", row);
    cr_expect_eq(x, (double)p);
    cr_expect_eq(nn, 9);
    cr_expect_eq(mean, at(&ms, p, col_of(&ms, "cos_1_1_mean")));
    cr_expect(fabs(e - at(&ms, p, col_of(&ms, "cos_1_1_sd")) / 3) <= 1e-15 * e, "%g", e);
  }
  free(md), free(ms.v);
  /* fixed --vary: one curve per fixed point, no error bars */
  cr_expect_eq(run_in(dir, err, sizeof err, "plot --x lambda --y Q_1_1 --out fx.png fx.csv"), 0, "%s", err);
  cr_expect_eq(run_in(dir, err, sizeof err, "plot --x nope --out g.png s.csv"), 2);
  cr_expect(strstr(err, "nope"), "%s", err);
  rm_rf(dir);
}

/* ---- 6. progress ---- */

static void count(void *ctx, double f) {
  double *c = ctx;
  cr_expect(f >= c[1] - 1e-12 && f <= 1 + 1e-12, "fraction %g after %g", f, c[1]);
  c[0]++, c[1] = f;
}

Test(ux, progress_callbacks_and_lines, .timeout = 90) {
  /* the library: the ode reports increasing fractions up to 1, and the
   * result does not depend on the hook */
  cl_config cfg;
  char err[CL_ERRLEN];
  cr_assert_eq(cfg_from_args(&cfg, CL_CMD_ODE, "--T 3", err), CL_OK, "%s", err);
  cl_traj *a = NULL, *b = NULL;
  cr_assert_eq(cl_ode_solve(&cfg.model, &cfg.sched, &cfg.ode, &a, NULL, err), CL_OK);
  double c[2] = {0, 0};
  cfg.ode.progress = count, cfg.ode.progress_ctx = c;
  cr_assert_eq(cl_ode_solve(&cfg.model, &cfg.sched, &cfg.ode, &b, NULL, err), CL_OK);
  cr_expect(c[0] >= 2 && c[1] == 1, "%g calls, last %g", c[0], c[1]);
  cr_expect_eq(memcmp(a->data, b->data, sizeof(double) * a->nt * (size_t)a->ncol), 0);
  cl_traj_free(a), cl_traj_free(b);
  cl_pde_opts po = cfg.pde;
  po.quad = cfg.ode.quad;
  po.cells = 100;
  c[0] = c[1] = 0;
  po.progress = count, po.progress_ctx = c;
  cr_assert_eq(cl_pde_solve(&cfg.model, &cfg.sched, &po, &a, NULL, NULL, NULL, err), CL_OK, "%s", err);
  cr_expect(c[0] >= 2 && c[1] == 1);
  cl_traj_free(a);
  cr_assert_eq(cfg_from_args(&cfg, CL_CMD_BASIN, "--c rademacher:3 --c rademacher:2 --directions 8 --tmax 30", err),
               CL_OK, "%s", err);
  c[0] = c[1] = 0;
  cfg.ode.progress = count, cfg.ode.progress_ctx = c;
  cl_basin_result res;
  cr_assert_eq(cl_basin_run(&cfg.model, &cfg.ode, 8, 30, 1, 2, &res, err), CL_OK, "%s", err);
  cr_expect(c[0] == 8 && c[1] == 1, "%g calls", c[0]);
  cl_basin_result_free(&res);
  cl_fixed_opts fo;
  cl_fixed_opts_default(&fo);
  c[0] = c[1] = 0;
  fo.progress = count, fo.progress_ctx = c;
  cl_fixed_point *fp = NULL;
  int nf = 0;
  cr_assert_eq(cl_fixed_find_ex(&cfg.model, &cfg.ode.quad, &fo, NULL, 0, &fp, &nf, NULL, err), CL_OK, "%s", err);
  cr_expect(c[0] >= 2);
  free(fp);

  /* the CLI: --progress draws "what, %, elapsed, ETA"; --quiet wins; no
   * line on a pipe by default */
  char dir[64], e2[8192];
  make_tmpdir(dir, sizeof dir);
  const char *runs[] = {"ode --T 2",
                        "pde --T 0.2 --cells 100",
                        "simulate --N 100 --T 1 --runs 2",
                        "reduced --N 100 --T 1 --runs 2",
                        "fixed",
                        "basin --c rademacher:3 --c rademacher:2 --directions 8 --tmax 30",
                        "sweep --vary rho=0:1:1 ode --T 1"};
  for (int i = 0; i < 7; i++) {
    cr_expect_eq(run_in(dir, e2, sizeof e2, "%s --progress --out x.csv", runs[i]), 0, "%s: %s", runs[i], e2);
    cr_expect(strstr(e2, "100.0%") && strstr(e2, "elapsed") && strstr(e2, "ETA"), "%s: '%s'", runs[i], e2);
    cr_expect_eq(run_in(dir, e2, sizeof e2, "%s --progress --quiet --out x.csv", runs[i]), 0);
    cr_expect(!strstr(e2, "elapsed"), "%s --quiet: '%s'", runs[i], e2);
    cr_expect_eq(run_in(dir, e2, sizeof e2, "%s --out x.csv", runs[i]), 0);
    cr_expect(!strstr(e2, "elapsed"), "%s on a pipe: '%s'", runs[i], e2);
  }
  rm_rf(dir);
}

/* A run in named phases (basin at M >= 2: the escape law, then the starts;
 * fixed: flows, Newton starts, collapse sets): cl_meter_phase starts a new
 * line with the prefix of the first phase's label and its own fraction. */
Test(ux, progress_in_two_phases, .timeout = 60) {
  FILE *f = tmpfile();
  cr_assert(f);
  cl_meter m;
  cl_meter_init(&m, "basin, escape law", 1, f);
  m.tty = 0;
  cl_meter_update(&m, 0);
  cl_meter_update(&m, 1);
  cl_meter_phase(&m, "directions");
  cl_meter_update(&m, 0.5);
  cl_meter_end(&m, 1);
  char text[1024] = "";
  rewind(f);
  size_t n = fread(text, 1, sizeof text - 1, f);
  text[n] = '\0';
  fclose(f);
  const char *want[] = {"cldyn: basin, escape law   0.0%", "cldyn: basin, escape law 100.0%",
                        "cldyn: basin, directions  50.0%", "cldyn: basin, directions 100.0%"};
  const char *q = text;
  for (int k = 0; k < 4; k++) {
    cr_expect_eq(strncmp(q, want[k], strlen(want[k])), 0, "line %d: %s", k + 1, text);
    q = strchr(q, '\n');
    cr_assert(q, "%s", text);
    q++;
  }
  cr_expect_eq(*q, '\0', "%s", text);
}

/* Not on a terminal (a log file, a pipe) --progress writes plain lines:
 * no \r, each line whole, a further percent at most once a second and a
 * line at least every minute; on a terminal the one line is redrawn. */
Test(ux, progress_in_logs_is_plain_lines, .timeout = 60) {
  cl_meter m;
  char buf[256];
  cl_meter_init(&m, "ode T = 2", 1, stderr);
  m.tty = 1;
  cr_expect_str_eq(cl_meter_format(&m, 0.42, 3, buf, sizeof buf),
                   "\rcldyn: ode T = 2  42.0%  elapsed 3s  ETA 4s   ");
  cr_expect_str_eq(cl_meter_format(&m, 1, 61, buf, sizeof buf),
                   "\rcldyn: ode T = 2 100.0%  elapsed 1m01s  ETA 0s   \n");
  m.tty = 0;
  cr_expect_str_eq(cl_meter_format(&m, 0.42, 3, buf, sizeof buf),
                   "cldyn: ode T = 2  42.0%  elapsed 3s  ETA 4s\n");
  cr_expect_str_eq(cl_meter_format(&m, 0, 0, buf, sizeof buf), "cldyn: ode T = 2   0.0%  elapsed 0s  ETA ?\n");

  /* the schedule, on a synthetic clock: a report every 0.1 s, 0.1 % each,
   * for 100 s (up to 99.5 %), then a stall at 99.5 % until t = 250 s, then
   * 100 % */
  for (int tty = 0; tty <= 1; tty++) {
    FILE *f = tmpfile();
    cr_assert(f);
    cl_meter_init(&m, "x", 1, f);
    m.tty = tty, m.t0 = 0;
    for (int k = 0; k < 2500; k++) cl_meter_at(&m, fmin(0.001 * k, 0.995), 0.1 * k);
    cl_meter_at(&m, 1, 250);
    cl_meter_end(&m, 1); /* 100 % once */
    long n = ftell(f);
    rewind(f);
    char *text = malloc((size_t)n + 1);
    cr_assert_eq(fread(text, 1, (size_t)n, f), (size_t)n);
    text[n] = '\0';
    fclose(f);
    long nl = 0, ncr = 0, n100 = 0;
    for (char *p = text; *p; p++) nl += *p == '\n', ncr += *p == '\r';
    for (char *p = strstr(text, "100.0%"); p; p = strstr(p + 1, "100.0%")) n100++;
    cr_expect_eq(n100, 1, "100%% written %ld times", n100);
    if (tty) {
      /* redrawn at most 5 times a second over 250 s, one newline at the end */
      cr_expect(ncr >= 800 && ncr <= 1251, "%ld redraws", ncr);
      cr_expect_eq(nl, 1);
      cr_expect_eq(text[n - 1], '\n');
    } else {
      /* 0 %, about one line a second while the percent rises (99 or
       * 100), one a minute during the 150 s stall (2), then 100 % */
      cr_expect_eq(ncr, 0);
      cr_expect(nl >= 90 && nl <= 104, "%ld lines:\n%s", nl, text);
      double prev = -1;
      long stall = 0;
      for (char *p = text; *p; p = strchr(p, '\n') + 1) {
        /* every line is whole: "cldyn: x", the percentage, elapsed, ETA */
        cr_expect_eq(strncmp(p, "cldyn: x ", 9), 0, "%.40s", p);
        char *el = strstr(p, "  elapsed ");
        cr_assert(el && el < strchr(p, '\n') && strstr(el, "ETA") < strchr(p, '\n'), "%.60s", p);
        int mi = 0, se = 0;
        double e = sscanf(el + 10, "%dm%ds", &mi, &se) == 2 ? 60 * mi + se : atoi(el + 10);
        cr_expect(e >= prev, "elapsed %g after %g", e, prev);
        stall += e > 101 && e < 250;
        prev = e;
      }
      cr_expect_eq(stall, 2, "%ld lines during the 150 s stall:\n%s", stall, text);
    }
    free(text);
  }

  /* the CLI: --progress with stderr to a file */
  char dir[64], e2[8192];
  make_tmpdir(dir, sizeof dir);
  cr_expect_eq(run_in(dir, e2, sizeof e2, "simulate --N 200 --T 5 --runs 2 --progress --out x.csv"), 0, "%s", e2);
  cr_expect(!strchr(e2, '\r'), "a \\r in a log: '%s'", e2);
  cr_expect(strstr(e2, "cldyn: simulate") && strstr(e2, "100.0%  elapsed"), "%s", e2);
  size_t len = strlen(e2);
  cr_expect(len > 0 && e2[len - 1] == '\n', "'%s'", e2);
  for (char *p = e2; *p; p = strchr(p, '\n') + 1)
    cr_expect(!strncmp(p, "cldyn: simulate", 15) && strstr(p, "ETA") < strchr(p, '\n'), "'%s'", p);
  rm_rf(dir);
}
