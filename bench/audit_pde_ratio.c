/* bench/audit_pde_ratio.c - the PDE error estimate's third-run ratios and
 * verdict (docs/theory.md s.9) for each `pde` command line given, with the
 * estimate over the written run's distance to the run on dw / 4, dt / 4
 * (est/err: >= 1 where the estimate bounds; about 3 in the second-order
 * regime).  One line per case: kind (0 checked, 1 split, 2 low order,
 * 3 unchecked, 4 unstable third run), the split count, the ratios of R, Q
 * and cos, est/err per group and the note.  Reported only: not a test. */
#include <math.h>
#include <stdio.h>

#include "app/app.h"

int main(int argc, char **argv) {
  int bad = 0;
  for (int i = 1; i < argc; i++) {
    cl_config pc;
    char err[CL_ERRLEN];
    cl_traj *tr = NULL, *rt = NULL;
    cl_pde_estimate e;
    if (cl_config_parse_string(&pc, CL_CMD_PDE, argv[i], err) != CL_OK) {
      printf("%s: %s\n", argv[i], err), bad = 1;
      continue;
    }
    cl_pde_opts po = pc.pde, pf;
    po.quad = pc.ode.quad;
    pf = po, pf.cells *= 4, pf.dt /= 4;
    if (cl_pde_solve(&pc.model, &pc.sched, &po, &tr, NULL, NULL, NULL, err) != CL_OK ||
        cl_pde_error_estimate(&pc.model, &pc.sched, &po, tr, &e, err) != CL_OK) {
      printf("%s: %s\n", argv[i], err), bad = 1;
      cl_traj_free(tr);
      continue;
    }
    double gap[3] = {NAN, NAN, NAN};
    if (cl_pde_solve(&pc.model, &pc.sched, &pf, &rt, NULL, NULL, NULL, err) == CL_OK) {
      gap[0] = gap[1] = gap[2] = 0;
      for (size_t k = 0; k < tr->nt; k++)
        for (int c = 0; c < tr->ncol; c++) {
          const int g = c < tr->K ? 0 : c == tr->K ? 1 : 2;
          const size_t at = k * (size_t)tr->ncol + (size_t)c;
          gap[g] = fmax(gap[g], fabs(tr->data[at] - rt->data[at]));
        }
    }
    printf("%s\n  kind %d split %ld ratio %.3g %.3g %.3g est/err %.3g %.3g %.3g%s\n", argv[i], (int)e.kind, e.split,
           e.ratio[0], e.ratio[1], e.ratio[2], e.est[0] / gap[0], e.est[1] / gap[1], e.est[2] / gap[2], e.note);
    cl_traj_free(tr), cl_traj_free(rt);
  }
  return bad;
}
