#!/usr/bin/env bash
# bench/gridm.sh - the grid engine at M >= 5 (`--expect grid`,
# src/drift_grid4.c, docs/grid.md s.16) on case C of issue 12
# (bench/multi_cases.sh's C: M = 8, K = 8, lambda = 1, g = square, B = 1,
# tanh), one process at a time:
#
#  1. case C to T (CLDYN_BENCH_GRIDM_T, default 50: session 27 measured
#     439 CPU s with one thread, docs/grid.md s.16) with the grid, once with
#     OMP_NUM_THREADS=1 (user CPU seconds, peak RSS) and once with the
#     default threads (wall seconds); and with the default engine (the
#     Sobol' rules): the printed trajectory bounds and the largest
#     difference of the two tables over R and Q (maxdiff);
#  2. for the cost's growth with M, the same at M = 5 and 6: case C's
#     first M laws (rademacher:3, :2.8, :2.6, :2.4, laplace:3 and, at 6,
#     uniform:3; K = M) and the leading M x M block of its R0 (Q0 = I as
#     in case C), grid (OMP_NUM_THREADS=1) and Sobol'.
# Reported only: benchmarks are not tests.  One run each (the machine is
# shared: wall time is noisy; CPU seconds are /usr/bin/time's user).
set -euo pipefail
cd "$(dirname "$0")/.." && make --no-print-directory -s all
. bench/multi_cases.sh # CASES, case_args, maxdiff
T=${CLDYN_BENCH_GRIDM_T:-50} BIN=build/cldyn tmp=$(mktemp -d "${TMPDIR:-/tmp}/cldyn_bench_gridm.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "host: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# run NAME THREADS ARGS...: user CPU s, wall s, peak RSS, the printed bound
run() {
  local name=$1 th=$2
  shift 2
  local envs=()
  [ "$th" = default ] || envs=(OMP_NUM_THREADS="$th")
  env "${envs[@]}" /usr/bin/time -f '%U %e %M' -o "$tmp/$name.time" "$BIN" ode "$@" --dt-out 1 \
    --out "$tmp/$name.csv" 2>"$tmp/$name.err" || echo "  $name: exit $?: $(tail -c 300 "$tmp/$name.err")"
  local cpu wall rss bound last
  read -r cpu wall rss <"$tmp/$name.time"
  bound=$(grep -o 'trajectory error bound [0-9.e+-]*' "$tmp/$name.err" | awk '{print $4}' | head -1 || true)
  last=$(tail -1 "$tmp/$name.csv" 2>/dev/null | cut -d, -f1 || true)
  printf '%-12s threads %-7s CPU %8.2f s  wall %8.2f s  peak RSS %6.0f MB  to t = %-5s trajectory bound %s\n' \
    "$name" "$th" "$cpu" "$wall" "$((rss / 1024))" "${last:--}" "${bound:--}"
}

read -r -a C <<<"$(case_args C)"
echo "== case C (M = 8) to T = $T"
run C-sobol 1 "${C[@]}" --T "$T"
run C-grid 1 "${C[@]}" --T "$T" --expect grid
run C-grid-thr default "${C[@]}" --T "$T" --expect grid
cmp -s "$tmp/C-grid.csv" "$tmp/C-grid-thr.csv" && echo "grid tables with 1 and the default threads: identical" ||
  echo "grid tables with 1 and the default threads: DIFFER"
echo "maxdiff(grid, Sobol'): $(maxdiff "$tmp/C-grid.csv" "$tmp/C-sobol.csv")"

LAWS=(rademacher:3 rademacher:2.8 rademacher:2.6 rademacher:2.4 laplace:3 uniform:3)
for M in 5 6; do
  a=(--M "$M" --lambda 1)
  for ((j = 0; j < M; j++)); do a+=(--c "${LAWS[j]}"); done
  # the leading M x M block of case C's R0 (R8, bench/multi_cases.sh)
  r0=$(python3 -c "M=$M; print(';'.join(','.join('0.1' if i==j else ('0.02' if (i+j)%3==0 else '0.01') for j in range(M)) for i in range(M)))")
  a+=(--R0 "$r0")
  echo "== M = $M (case C's first $M laws and units) to T = $T"
  run M$M-sobol 1 "${a[@]}" --T "$T"
  run M$M-grid 1 "${a[@]}" --T "$T" --expect grid
  echo "maxdiff(grid, Sobol'): $(maxdiff "$tmp/M$M-grid.csv" "$tmp/M$M-sobol.csv")"
done
