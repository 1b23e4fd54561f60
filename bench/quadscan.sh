#!/bin/sh
# Build and run bench/quadscan.c: `--expect quad` at M = 3 or 4 away from
# R = 0, the default levels against a much finer rule (docs/accurate.md
# s.8).  Usage: bench/quadscan.sh [M] [act|all] [REF nodes]  (needs `make all` first)
set -e
cd "$(dirname "$0")/.."
. bench/ccbench.sh
cc_bench quadscan
"$out" "$@"
