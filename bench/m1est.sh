#!/bin/bash
# bench/m1est.sh N SEED [cldyn ode options] - the M = 1 error estimate of
# `ode` on N random models and states (bench/m1est.c,
# docs/m1-many-features.md s.7): one line per case, then the min / median /
# max of estimate / true error and the misses.  Run from the repository
# root after `make all`.
set -eu
cd "$(dirname "$0")/.."
# shellcheck source=bench/audit_build.sh
. bench/audit_build.sh
audit_build m1est
build/bench/m1est "$@"
