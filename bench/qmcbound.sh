#!/bin/sh
# Build and run the coverage scan of the Sobol' engine's bound over draws
# of the shifts (bench/qmcbound.c, docs/multi.md s.3).
# Usage: bench/qmcbound.sh ACT LAW LAMBDA M G SEEDS n...   (needs `make all` first)
set -e
cd "$(dirname "$0")/.."
. bench/ccbench.sh
cc_bench qmcbound
"$out" "$@"
