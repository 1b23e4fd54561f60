#!/bin/sh
# Build and run the scan of relu's fallback states (bench/relukink.c): every
# state of its grid where the characteristic functions refuse, the engine's
# drift against tests/kinkref.h.
# Usage: bench/relukink.sh [config index] [-w REFFILE | -r REFFILE]
# (needs `make all` first; -w writes the references, -r reuses them)
set -e
cd "$(dirname "$0")/.."
. bench/ccbench.sh
cc_bench relukink
"$out" "$@"
