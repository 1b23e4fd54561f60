#!/bin/sh
# Build and run bench/gridsd.c: the M = 2 grid engine (or `--expect quad`)
# against tests/sd_ref.c at pre-activation sd 1.1 to 50 (docs/hardening.md
# s.15).  Usage: bench/gridsd.sh [grid|quad] [tanh|erf|sigmoid|all]
# [sd,sd,...] [M, quad only] [--quad-nodes, quad only]   (needs `make all` first)
set -e
cd "$(dirname "$0")/.."
out="${TMPDIR:-/tmp}/cldyn_bench_gridsd"
# shellcheck disable=SC2046 # word splitting intended
cc -std=c11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -ffp-contract=off -fopenmp -Iinclude -I. \
    bench/gridsd.c tests/sd_ref.c build/libcldyn.a -lgsl -ljansson $(pkg-config --libs openblas) -lz -lm -o "$out"
"$out" "$@"
