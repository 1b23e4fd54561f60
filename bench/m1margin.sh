#!/bin/sh
# Build and run bench/m1margin.c: the M = 1 trapezoid at moderate sd against
# tests/kinkref.h (docs/kinks.md, "tanh, sigmoid, erf").  Needs `make all` first.
set -e
cd "$(dirname "$0")/.."
out="${TMPDIR:-/tmp}/cldyn_bench_m1margin"
cc -std=c11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -ffp-contract=off -fopenmp -Iinclude \
    bench/m1margin.c build/libcldyn.a -lgsl -ljansson -lopenblas -lz -lm -o "$out"
OMP_NUM_THREADS=1 "$out" "$@"
