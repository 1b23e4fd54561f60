#!/bin/sh
# Build and run bench/m1margin.c: the M = 1 trapezoid at moderate sd against
# tests/kinkref.h (docs/kinks.md, "tanh, sigmoid, erf").  Needs `make all` first.
set -e
cd "$(dirname "$0")/.."
. bench/ccbench.sh
cc_bench m1margin
OMP_NUM_THREADS=1 "$out" "$@"
