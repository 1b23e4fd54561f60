#!/bin/sh
# Build and run the Gaussian generator benchmark (cldyn vs GSL).
# Usage: bench/gauss.sh [samples_per_method [repetitions]]
# RNG_SRC=path/to/rng.c overrides the generator source (to compare versions).
set -e
cd "$(dirname "$0")/.."
out="${TMPDIR:-/tmp}/cldyn_bench_gauss"
gcc -std=c11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -ffp-contract=off \
    -Iinclude "${RNG_SRC:-src/rng.c}" bench/gauss.c -lgsl -lgslcblas -lm \
    -o "$out"
"$out" "$@"
