#!/bin/sh
# Build and run the relu M = 1 audit on random states (bench/audit_ks.c):
# the kink-split rule and the characteristic functions against tests/kinkref.h.
# Usage: bench/audit_ks.sh [-v] [cases [seed [first [stride]]]]   (needs `make all` first)
set -e
cd "$(dirname "$0")/.."
. bench/ccbench.sh
cc_bench audit_ks
OMP_NUM_THREADS=1 "$out" "$@"
