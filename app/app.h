/* app/app.h - the application layer over libcldyn: options and config
 * files (config.h), result files (output.h), figures (plot.h), sweeps
 * (sweep.h), the reproduce study (reproduce.h), the exit statuses
 * (status.h) and the option table (options.h).  These headers are not
 * installed; the CLI (main.c) and the tests include this. */
#ifndef CLDYN_APP_H
#define CLDYN_APP_H

#include "cldyn/cldyn.h"
#include "config.h"
#include "options.h"
#include "output.h"
#include "plot.h"
#include "progress.h"
#include "reproduce.h"
#include "status.h"
#include "sweep.h"
#include "sweep_cmd.h"

#endif
