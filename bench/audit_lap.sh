#!/bin/sh
# Build and run the M = 1 audit of tanh, erf, sigmoid with several laplace laws (bench/audit_lap.c):
# the characteristic functions against a fine tensor rule.
# Usage: bench/audit_lap.sh [-v] [cases [seed [first [stride]]]]   (needs `make all` first)
set -e
cd "$(dirname "$0")/.."
. bench/ccbench.sh
cc_bench audit_lap
OMP_NUM_THREADS=1 "$out" "$@"
