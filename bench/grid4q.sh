#!/usr/bin/env bash
# bench/grid4q.sh - the four-unit terms of the M = 4 drift on the 4-d grid
# (src/drift_grid.c, cl_grid4q_*; docs/grid.md, "The four-unit
# terms"), case B of issue 12 (M = K = 4, laplace:3, uniform:3,
# rademacher:3, rademacher:2, lambda = 1, tanh, B = 1), one process at a
# time:
#
#  1. the Sobol' run of case B (`cldyn ode --expect qmc`; the default at M = 4 until session 24,
#     T = 50, --dt-out 1; bench/multi_cases.sh) for its states;
#  2. bench/grid4q.c at case B's start and at t = 5, 10, ..., 50 of that
#     table: the nodes per direction of each level, CPU ms per evaluation
#     of both levels (median of CLDYN_BENCH_GRID4Q_REPS, default 5), the
#     largest |dQ4|, the estimate |fine - coarse| and the distance of the
#     fine level to a much finer grid (--grid-nodes 36) with its ratio to
#     the estimate; then again at rho = 0.5 and without per-view noise
#     (rho = 1), and with erf and sigmoid;
#  3. with CLDYN_BENCH_GRID4Q_AUDIT=N: N random models and states against
#     the finer grid (seed CLDYN_BENCH_GRID4Q_SEED, default 7).
# Reported only: benchmarks are not tests.  CPU time of one process; the
# machine is shared, so compare the rows of one run, not runs at other loads.
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory -s all
. bench/multi_cases.sh # CASES, case_args, maxdiff
. bench/ccbench.sh
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cldyn_bench_grid4q.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "host: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
args=$(case_args B)
IFS=' ' read -r -a argv <<<"$args"
# the R0 argument holds ';': split on spaces only, then run
build/cldyn ode "${argv[@]}" --T 50 --dt-out 1 --expect qmc --out "$tmp/B.csv" 2>/dev/null
cc_bench grid4q
# shellcheck disable=SC2154 # out: set by cc_bench (bench/ccbench.sh)
bin=$out
REPS=${CLDYN_BENCH_GRID4Q_REPS:-5}
"$bin" "$tmp/B.csv" "$REPS"
GRID4Q_RHO=0.5 "$bin" "$tmp/B.csv" "$REPS"
GRID4Q_RHO=1 "$bin" "$tmp/B.csv" "$REPS"
GRID4Q_ACT=erf "$bin" "$tmp/B.csv" "$REPS"
GRID4Q_ACT=sigmoid "$bin" "$tmp/B.csv" "$REPS"
if [ -n "${CLDYN_BENCH_GRID4Q_AUDIT:-}" ]; then
  "$bin" audit "$CLDYN_BENCH_GRID4Q_AUDIT" "${CLDYN_BENCH_GRID4Q_SEED:-7}"
fi
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
