#!/bin/sh
# Build and run the M = 1 audit (bench/audit_m1.c): random configurations
# against brute-force references, per activation and engine path.
# Usage: bench/audit_m1.sh [-v] [cases [seed|- [first]]]   (needs `make all` first)
set -e
cd "$(dirname "$0")/.."
. bench/ccbench.sh
cc_bench audit_m1
OMP_NUM_THREADS=1 "$out" "$@"
