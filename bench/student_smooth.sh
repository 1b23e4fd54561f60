#!/bin/sh
# Build and run bench/student_smooth.c: tanh, erf, sigmoid with a student
# law at M = 1, random states against tests/kinkref.h.
# Usage: bench/student_smooth.sh [-v] [cases [seed|- [first [atoms]]]]   (needs `make all` first)
set -e
cd "$(dirname "$0")/.."
. bench/ccbench.sh
cc_bench student_smooth
OMP_NUM_THREADS=1 "$out" "$@"
