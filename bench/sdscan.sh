#!/bin/sh
# Build and run the M = 1 accuracy scan over the pre-activation sd
# (bench/sdscan.c, docs/hardening.md s.15).
# Usage: bench/sdscan.sh [activation]   (needs `make all` first)
set -e
cd "$(dirname "$0")/.."
out="${TMPDIR:-/tmp}/cldyn_bench_sdscan"
cc -std=c11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -ffp-contract=off -fopenmp -Iinclude \
    bench/sdscan.c tests/sd_ref.c build/libcldyn.a -lgsl -ljansson -lopenblas -lm -o "$out"
"$out" "$@"
