#!/bin/sh
# Build and run the M = 1 accuracy table (bench/kinks.c): every activation
# against the brute-force references of tests/kinkref.h.
# Usage: bench/kinks.sh [activation]   (needs `make all` first)
set -e
cd "$(dirname "$0")/.."
. bench/ccbench.sh
cc_bench kinks
"$out" "$@"
