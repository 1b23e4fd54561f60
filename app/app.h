/* app/app.h - the application layer over libcldyn: options and config
 * files (config.h), result files (output.h), figures (plot.h), sweeps
 * (sweep.h) and the reproduce study (reproduce.h).  These headers are not
 * installed; the CLI (main.c) and the tests include this. */
#ifndef CLDYN_APP_H
#define CLDYN_APP_H

#include "cldyn/cldyn.h"
#include "config.h"
#include "output.h"
#include "plot.h"
#include "progress.h"
#include "reproduce.h"
#include "sweep.h"

#endif
