#!/bin/sh
# Build and run bench/gridsd.c: the M = 2 grid engine (or `--expect quad`)
# against tests/sd_ref.c at pre-activation sd 1.1 to 50 (docs/hardening.md
# s.15).  Usage: bench/gridsd.sh [grid|quad] [tanh|erf|sigmoid|all]
# [sd,sd,...] [M, quad only] [--quad-nodes, quad only]   (needs `make all` first)
set -e
cd "$(dirname "$0")/.."
. bench/ccbench.sh
cc_bench gridsd tests/sd_ref.c
"$out" "$@"
