/* The report section "the findings as stated" (app/findings.c,
 * docs/findings.md): its sections, tables and figure scripts are present,
 * the attribution adds up, the identity q0* = tau V / (2 B kappa) holds in
 * its table, and the quick graded-selection rows separate the regimes. */
#include <criterion/criterion.h>
#include <math.h>

#include "app/findings.h"
#include "reportutil.h"

Test(findings, quick_report_has_sections_and_tables, .timeout = 600) {
  char dir[64], err[CL_ERRLEN], line[512], name[64];
  FILE *rep = report_begin(dir);
  char *txt = report_end(dir, rep, cl_findings_report(dir, 1, rep, NULL, NULL, err), err);
  const char *must[] = {"## The findings as stated",
                        "### (i) Learnability at the uninformative state depends only on <c^2>",
                        "lambda_j = tau (<c_j^2> b_z(Q*) + b_e(Q*) - beta)",
                        "| law | kurtosis | Q* | Jacobian eigenvalue |",
                        "### (ii) Higher moments act through the size of the attraction regions",
                        "| law of feature 1 | kurtosis | max Re eig, state 1 | max Re eig, state 2 | regime |",
                        "graded (both stable)",
                        "empty basin (state 1 saddle)",
                        "![](graded.png)",
                        "![](graded_portrait.png)",
                        "### (iii) The mechanism of the noise effect",
                        "| rho | R* | Q* | cos* | V | V_data | V_noise | b_z | b_e | kappa |",
                        "**Attribution**",
                        "| V_data |",
                        "| kappa via b_e |",
                        "**Counterfactuals**",
                        "| rho = -1 | rho = +1 |",
                        "![](mechanism.png)"};
  int verdicts = 0;
  for (const char *p = txt; (p = strstr(p, "**Verdict: ")) != NULL; p++) verdicts++;
  cr_expect_eq(verdicts, 3, "one verdict per finding, found %d", verdicts);
  const char *files[] = {"mechanism.csv", "mechanism.gp", "attribution.csv", "graded.csv", "graded.gp",
                         "graded_boundary.csv", "graded_fixed.csv", "graded_portrait.gp"};
  report_expect(dir, txt, must, NELEM(must), files, NELEM(files));
  free(txt);
  /* the attribution's parts add up to Delta log(1/cos^2 - 1) */
  FILE *f = report_csv(dir, "attribution.csv");
  double a, b, c, sum = 0, total = NAN, lm = NAN, lp = NAN;
  while (fgets(line, sizeof line, f) && sscanf(line, "%63[^,],%lf,%lf,%lf", name, &a, &b, &c) == 4) {
    if (!strcmp(name, "total")) total = c, lm = a, lp = b;
    else sum += c;
  }
  fclose(f);
  cr_assert_float_eq(total, lp - lm, 1e-10); /* printed to 12 digits */
  cr_assert_float_eq(sum, total, 1e-9, "parts %g vs Delta %g", sum, total);
  /* the identity at every row of the mechanism table */
  f = report_csv(dir, "mechanism.csv");
  int rows = 0;
  double rho, R, Q, cs, V, vd, vn, bz, be, ka;
  while (fgets(line, sizeof line, f) &&
         sscanf(line, "%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf", &rho, &R, &Q, &cs, &V, &vd, &vn, &bz, &be, &ka) == 10) {
    cr_expect_float_eq(Q - R * R, 0.5 * V / (2 * ka), 1e-8, "rho %g", rho);
    cr_expect_float_eq(vd + vn, V, 1e-9, "rho %g", rho);
    cr_expect_float_eq(ka, 0.5 - bz - be, 1e-10, "rho %g", rho);
    rows++;
  }
  fclose(f);
  cr_assert_eq(rows, 5);
  /* graded.csv: rademacher:3 graded with P in (0, 1); sparse:3:0.3 a saddle with P = 0 */
  f = report_csv(dir, "graded.csv");
  double k, e1, e2, P;
  int g;
  cr_assert(fgets(line, sizeof line, f) && sscanf(line, "%63[^,],%lf,%lf,%lf,%d,%lf", name, &k, &e1, &e2, &g, &P) == 6);
  cr_expect(g == 1 && e1 < 0 && e2 < 0 && P > 0.05 && P < 0.95, "%s", line);
  cr_assert(fgets(line, sizeof line, f) && sscanf(line, "%63[^,],%lf,%lf,%lf,%d,%lf", name, &k, &e1, &e2, &g, &P) == 6);
  cr_expect(g == 0 && e1 > 0 && P == 0, "%s", line);
  fclose(f);
  /* the graded phase portrait has every image: 4 stable pure states, the
   * 4 sign images of the mixed saddle and R = 0 */
  f = report_csv(dir, "graded_fixed.csv");
  int nst = 0, nsd = 0, mixed = 0, sfl;
  double r1, r2;
  while (fgets(line, sizeof line, f) && sscanf(line, "%lf,%lf,%d", &r1, &r2, &sfl) == 3) {
    nst += sfl == 1, nsd += sfl == 0;
    mixed += sfl == 0 && fabs(r1) > 0.05 && fabs(r2) > 0.05;
  }
  fclose(f);
  cr_expect(nst == 4 && nsd == 5 && mixed == 4, "graded portrait: %d stable, %d saddles (%d mixed)", nst, nsd, mixed);
  rm_rf(dir);
}
