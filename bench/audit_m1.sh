#!/bin/sh
# Build and run the M = 1 audit (bench/audit_m1.c): random configurations
# against brute-force references, per activation and engine path.
# Usage: bench/audit_m1.sh [-v] [cases [seed|- [first]]]   (needs `make all` first)
set -e
cd "$(dirname "$0")/.."
out="${TMPDIR:-/tmp}/cldyn_bench_audit_m1"
cc -std=c11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -ffp-contract=off -fopenmp -Iinclude \
    bench/audit_m1.c build/libcldyn.a -lgsl -ljansson -lopenblas -lz -lm -o "$out"
OMP_NUM_THREADS=1 "$out" "$@"
