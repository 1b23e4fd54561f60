/* cldyn/cldyn.h - libcldyn: training dynamics of nonlinear contrastive
 * learning in the high-dimensional limit.  Include this for everything. */
#ifndef CLDYN_CLDYN_H
#define CLDYN_CLDYN_H

#include "cldyn/common.h"
#include "cldyn/rng.h"
#include "cldyn/law.h"
#include "cldyn/act.h"
#include "cldyn/model.h"
#include "cldyn/config.h"
#include "cldyn/data.h"
#include "cldyn/traj.h"
#include "cldyn/simulate.h"
#include "cldyn/quad.h"
#include "cldyn/drift.h"
#include "cldyn/ode.h"
#include "cldyn/pde.h"
#include "cldyn/hist.h"
#include "cldyn/plot.h"
#include "cldyn/reduced.h"
#include "cldyn/fixed.h"
#include "cldyn/basin.h"
#include "cldyn/runner.h"
#include "cldyn/sweep.h"
#include "cldyn/reproduce.h"
#include "cldyn/output.h"
#include "cldyn/tmpfiles.h"

#endif
