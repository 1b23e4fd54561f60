#!/usr/bin/env bash
# bench/grid3.sh - the M = 3 grid engine (`--expect grid`, src/drift_grid.c,
# docs/grid.md s.14) on the brief's example of issue 12 (M = 3, K = 3
# rademacher:3, :2.5, :2, lambda = 1, g = square, tanh, T = 20), one
# process at a time:
#
#  1. `cldyn ode` with the Sobol' engine (--expect qmc; the default at M = 3 until session 23), the quad
#     rule (--expect quad, which stops where the pre-activation sd leaves
#     its range; then to T = 10 for its table) and the grid; the reference is the grid at --grid-nodes 36
#     (1.5 times its nodes per direction) with --rtol 1e-11 --atol 1e-14:
#     user CPU seconds, the ratio to the grid's, the printed trajectory
#     bound and the largest difference of each table to the reference over
#     R and Q (over the rows each has);
#  2. bench/grid3.c: the grid's sizes and CPU ms per evaluation (both
#     levels, median of CLDYN_BENCH_GRID3_REPS, default 5) at the states of
#     the grid's table, every 1 time unit.
#  3. with CLDYN_BENCH_GRID3_AUDIT=N: bench/grid3.c's audit of N random
#     states against a finer grid (seed CLDYN_BENCH_GRID3_SEED, default 7;
#     docs/grid.md s.14, "Audit").
# CLDYN_BENCH_GRID3_T sets T (default 20), CLDYN_BENCH_GRID3_QUAD=0 skips
# the quad rule (about 100 CPU s).  Reported only: benchmarks are not tests.
# User CPU seconds of one run each (the machine is shared: wall time is noisy).
set -euo pipefail
cd "$(dirname "$0")/.."
T=${CLDYN_BENCH_GRID3_T:-20}
BIN=build/cldyn
make --no-print-directory -s all
. bench/multi_cases.sh # maxdiff
. bench/ccbench.sh
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cldyn_bench_grid3.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "host: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
X=(--M 3 --lambda 1 --c rademacher:3 --c rademacher:2.5 --c rademacher:2
  --R0 '0.1,0.02,0.01;0.03,0.1,0.02;0.01,0.02,0.1' --T "$T" --dt-out 5)

# run NAME ARGS...: user CPU seconds, the printed trajectory bound, the last t
run() {
  local name=$1
  shift
  TIMEFORMAT=%U
  { time "$BIN" ode "$@" --out "$tmp/$name.csv" 2>"$tmp/$name.err" || true; } 2>"$tmp/$name.time"
  local cpu bound last
  cpu=$(tail -1 "$tmp/$name.time")
  bound=$(grep -o 'trajectory error bound [0-9.e+-]*' "$tmp/$name.err" | awk '{print $4}' | head -1 || true)
  last=$(tail -1 "$tmp/$name.csv" 2>/dev/null | cut -d, -f1 || true)
  printf '%-10s CPU %8.2f s   to t = %-6s trajectory bound %s\n' "$name" "$cpu" "${last:--}" "${bound:--}"
  echo "$cpu" >"$tmp/$name.cpu"
}

echo "== the brief's example to T = $T"
run grid "${X[@]}" --expect grid
run reference "${X[@]}" --expect grid --grid-nodes 36 --rtol 1e-11 --atol 1e-14
run sobol "${X[@]}" --expect qmc # (the default at M = 3 before session 23)
if [ "${CLDYN_BENCH_GRID3_QUAD:-1}" = 1 ]; then
  run quad "${X[@]}" --expect quad
  grep -o 'cldyn: ode: .*' "$tmp/quad.err" | cut -c1-160 | head -1 || true
  # where it stops (t = 13.7 at T = 20) its table is not written: to T = 10 for the difference
  if [ ! -s "$tmp/quad.csv" ] && [ "$T" -gt 10 ]; then run "quad T=10" "${X[@]}" --T 10 --expect quad; fi
fi
g=$(cat "$tmp/grid.cpu")
for e in grid sobol quad "quad T=10"; do
  [ -s "$tmp/$e.csv" ] || continue
  printf '%-10s CPU / grid %8.2f   max |table - reference| %s\n' "$e" \
    "$(awk -v a="$(cat "$tmp/$e.cpu")" -v b="$g" 'BEGIN{printf "%.2f", a/b}')" "$(maxdiff "$tmp/$e.csv" "$tmp/reference.csv")"
done

echo "== per evaluation (both levels), bench/grid3.c"
"$BIN" ode "${X[@]}" --dt-out 1 --expect grid --out "$tmp/states.csv" 2>/dev/null
cc_bench grid3
"$out" "$tmp/states.csv" "${CLDYN_BENCH_GRID3_REPS:-5}"

if [ -n "${CLDYN_BENCH_GRID3_AUDIT:-}" ]; then
  echo "== audit: $CLDYN_BENCH_GRID3_AUDIT random states against a finer grid"
  "$out" audit "$CLDYN_BENCH_GRID3_AUDIT" "${CLDYN_BENCH_GRID3_SEED:-7}"
fi
