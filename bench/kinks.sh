#!/bin/sh
# Build and run the M = 1 accuracy table (bench/kinks.c): every activation
# against the brute-force references of tests/kinkref.h.
# Usage: bench/kinks.sh [activation]   (needs `make all` first)
set -e
cd "$(dirname "$0")/.."
out="${TMPDIR:-/tmp}/cldyn_bench_kinks"
cc -std=c11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -ffp-contract=off -fopenmp -Iinclude \
    bench/kinks.c build/libcldyn.a -lgsl -ljansson -lopenblas -lm -o "$out"
"$out" "$@"
