#!/bin/sh
# Build and run bench/quadscan.c: `--expect quad` at M = 3 or 4 away from
# R = 0, the default levels against a much finer rule (docs/accurate.md
# s.8).  Usage: bench/quadscan.sh [M] [act|all] [REF nodes]  (needs `make all` first)
set -e
cd "$(dirname "$0")/.."
out="${TMPDIR:-/tmp}/cldyn_bench_quadscan"
# shellcheck disable=SC2046 # word splitting intended
cc -std=c11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -ffp-contract=off -fopenmp -Iinclude -I. \
    bench/quadscan.c build/libcldyn.a -lgsl -ljansson $(pkg-config --libs openblas) -lz -lm -o "$out"
"$out" "$@"
