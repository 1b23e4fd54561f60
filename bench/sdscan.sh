#!/bin/sh
# Build and run the M = 1 accuracy scan over the pre-activation sd
# (bench/sdscan.c, docs/hardening.md s.15).
# Usage: bench/sdscan.sh [activation]   (needs `make all` first)
set -e
cd "$(dirname "$0")/.."
. bench/ccbench.sh
cc_bench sdscan tests/sd_ref.c
"$out" "$@"
