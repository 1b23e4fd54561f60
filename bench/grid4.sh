#!/usr/bin/env bash
# bench/grid4.sh - the M = 4 grid engine (`--expect grid`, src/drift_grid4.c,
# docs/grid.md s.15) on case B of issue 12 (bench/multi_cases.sh's B: M = 4,
# K = 4, lambda = 1, g = square, B = 1, tanh), one process at a time:
#
#  1. `cldyn ode` with the grid (`--expect grid`, the default at M = 4
#     since session 24) and with the Sobol' rules (`--expect qmc`) to T (CLDYN_BENCH_GRID4_T, default 50): user
#     CPU seconds, the last t written, the printed trajectory bound, and the
#     reason where a run stops;
#  2. where the grid stops before T (a sub-engine's refusal), both again to
#     the last whole t before the stop, for their tables: the largest
#     difference of the Sobol' table to the grid's over R and Q (with
#     CLDYN_BENCH_GRID4_REF=1 also the grid at --grid-nodes 36, 1.5 times
#     its nodes, with --rtol 1e-11 --atol 1e-14: the change under
#     refinement);
#  3. bench/grid4.c: per evaluation (both levels) the median CPU ms over
#     CLDYN_BENCH_GRID4_REPS (default 3) of the whole engine and of each part
#     alone (triples, pairs, singles, four-unit terms) at the states of the
#     grid's table, every 1 time unit.
# Reported only: benchmarks are not tests.  User CPU seconds of one run
# each (the machine is shared: wall time is noisy).
set -euo pipefail
cd "$(dirname "$0")/.."
T=${CLDYN_BENCH_GRID4_T:-50}
BIN=build/cldyn
make --no-print-directory -s all
. bench/multi_cases.sh # CASES, case_args, maxdiff
. bench/ccbench.sh
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cldyn_bench_grid4.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "host: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
B=$(case_args B)
# the case's arguments as words (its R0 has no spaces)
read -r -a X <<<"$B"

# run NAME T ARGS...: user CPU seconds, the printed trajectory bound, the last t, the stop
run() {
  local name=$1 t=$2
  shift 2
  TIMEFORMAT=%U
  { time "$BIN" ode "${X[@]}" --T "$t" --dt-out 1 "$@" --out "$tmp/$name.csv" 2>"$tmp/$name.err" || true; } 2>"$tmp/$name.time"
  local cpu bound last stop
  cpu=$(tail -1 "$tmp/$name.time")
  bound=$(grep -o 'trajectory error bound [0-9.e+-]*' "$tmp/$name.err" | awk '{print $4}' | head -1 || true)
  last=$(tail -1 "$tmp/$name.csv" 2>/dev/null | cut -d, -f1 || true)
  stop=$(grep -o 'stopped at t = [0-9.e+-]*' "$tmp/$name.err" | awk '{print $5}' | head -1 || true)
  printf '%-14s T = %-5s CPU %8.2f s   to t = %-6s trajectory bound %s\n' "$name" "$t" "$cpu" "${last:--}" "${bound:--}"
  if [ -n "$stop" ]; then
    echo "  $(grep -o 'stopped at .*' "$tmp/$name.err" | cut -c1-240)"
    echo "$stop" >"$tmp/$name.stop"
  fi
}

echo "== case B to T = $T"
run grid "$T" --expect grid
run sobol "$T" --expect qmc
Tt=$T
if [ -s "$tmp/grid.stop" ]; then
  Tt=$(awk -v s="$(cat "$tmp/grid.stop")" 'BEGIN{printf "%d", s}')
  echo "== the grid stops at t = $(cat "$tmp/grid.stop"): both to T = $Tt"
  run grid_short "$Tt" --expect grid
  run sobol_short "$Tt" --expect qmc
  cp "$tmp/grid_short.csv" "$tmp/grid.csv"
  cp "$tmp/sobol_short.csv" "$tmp/sobol.csv"
fi
if [ "${CLDYN_BENCH_GRID4_REF:-0}" = 1 ]; then
  run reference "$Tt" --expect grid --grid-nodes 36 --rtol 1e-11 --atol 1e-14
  printf 'grid    max |table - reference| %s\n' "$(maxdiff "$tmp/grid.csv" "$tmp/reference.csv")"
fi
if [ -s "$tmp/grid.csv" ] && [ -s "$tmp/sobol.csv" ]; then
  printf 'max |Sobol table - grid table| (R, Q, to t = %s) %s\n' "$Tt" "$(maxdiff "$tmp/sobol.csv" "$tmp/grid.csv")"
fi

echo "== per evaluation (both levels, CPU ms), bench/grid4.c"
cc_bench grid4
[ -s "$tmp/grid.csv" ] && "$out" "$tmp/grid.csv" "${CLDYN_BENCH_GRID4_REPS:-3}"
