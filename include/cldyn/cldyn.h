/* cldyn/cldyn.h - libcldyn: training dynamics of nonlinear contrastive
 * learning in the high-dimensional limit.  Include this for the whole core
 * library (the CLI's own layer, app/, is not part of it). */
#ifndef CLDYN_CLDYN_H
#define CLDYN_CLDYN_H

#include "cldyn/common.h"
#include "cldyn/rng.h"
#include "cldyn/law.h"
#include "cldyn/act.h"
#include "cldyn/model.h"
#include "cldyn/schedule.h"
#include "cldyn/data.h"
#include "cldyn/traj.h"
#include "cldyn/engine.h"
#include "cldyn/simulate.h"
#include "cldyn/quad.h"
#include "cldyn/drift.h"
#include "cldyn/state.h"
#include "cldyn/ode.h"
#include "cldyn/pde.h"
#include "cldyn/hist.h"
#include "cldyn/reduced.h"
#include "cldyn/fixed.h"
#include "cldyn/basin.h"
#include "cldyn/terms.h"
#include "cldyn/runner.h"
#include "cldyn/tmpfiles.h"

#endif
