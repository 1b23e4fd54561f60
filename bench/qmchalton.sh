#!/bin/sh
# Build and run the comparison of the rules above 40 dimensions
# (bench/qmchalton.c, docs/multi.md s.3).
# Usage: bench/qmchalton.sh SEEDS REFPTS n...   (needs `make all` first)
set -e
cd "$(dirname "$0")/.."
. bench/ccbench.sh
cc_bench qmchalton
"$out" "$@"
