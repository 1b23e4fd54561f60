/* The "beyond the paper" section of reproduce (app/beyond.c,
 * docs/findings.md s.5): its table, data and figure script are present,
 * the fixed points of each lambda are listed with a stable one, the
 * outcome frequencies of each source add up to 1, and the finite-N chain
 * and the full SGD agree within 4 pooled standard errors (a small budget:
 * --quick, which leaves out the costly M = 2 basin). */
#include <criterion/criterion.h>
#include <math.h>

#include "app/beyond.h"
#include "reportutil.h"

Test(beyond, quick_section_tables_and_agreement, .timeout = 900) {
  char dir[64], err[CL_ERRLEN], line[4096];
  FILE *rep = report_begin(dir);
  char *txt = report_end(dir, rep, cl_beyond_report(dir, 1, rep, err), err);
  const char *must[] = {"## Beyond the paper: collapse against specialisation (M = 2)",
                        "| lambda | stable fixed points (kind: largest unit cos) | saddle orbits | source |",
                        "basin (0) | (not run at this lambda)", "reduced (40) |", "simulate (8) |", "![](beyond.png)", "**What it shows.**"};
  const char *files[] = {"beyond.csv", "beyond_fixed.csv", "beyond.gp"};
  report_expect(dir, txt, must, NELEM(must), files, NELEM(files));
  free(txt);
  /* beyond.csv: lambda, then (p, se) of basin, reduced, simulate for 5 classes */
  FILE *f = report_csv(dir, "beyond.csv");
  int rows = 0;
  while (fgets(line, sizeof line, f)) {
    double v[31];
    char *p = line;
    for (int k = 0; k < 31; k++) {
      v[k] = strtod(p, &p);
      cr_assert(*p == ',', "row %d, column %d: %s", rows, k, line);
      p++;
    }
    /* quick: no basin (NaN); reduced 40 runs at every lambda, simulate 8 at lambda = 1 */
    double sr = 0, ss = 0;
    for (int b = 0; b < 5; b++) {
      double pb = v[1 + 6 * b], pr = v[3 + 6 * b], ps = v[5 + 6 * b];
      cr_expect(isnan(pb), "quick runs no basin");
      sr += pr;
      if (v[0] == 1) {
        ss += ps;
        double pp = (40 * pr + 8 * ps) / 48, se = sqrt(pp * (1 - pp) * (1.0 / 40 + 1.0 / 8));
        cr_expect_leq(fabs(pr - ps), 4 * se + 1e-12, "class %d: reduced %g simulate %g", b, pr, ps);
      }
    }
    cr_expect_float_eq(sr, 1, 1e-9);
    if (v[0] == 1) cr_expect_float_eq(ss, 1, 1e-9);
    rows++;
  }
  fclose(f);
  cr_assert_eq(rows, 2);
  /* beyond_fixed.csv: a stable fixed point at each lambda, residuals small */
  f = report_csv(dir, "beyond_fixed.csv");
  int stable[2] = {0, 0};
  while (fgets(line, sizeof line, f)) {
    double lam = strtod(line, NULL);
    char *r = strrchr(line, ',');
    cr_expect(r && strtod(r + 1, NULL) < 1e-8, "residual: %s", line);
    if (strstr(line, ",stable,")) stable[lam > 0.5]++;
  }
  fclose(f);
  cr_expect(stable[0] > 0 && stable[1] > 0, "stable orbits %d, %d", stable[0], stable[1]);
  report_cleanup(dir);
}
