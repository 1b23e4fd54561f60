#!/usr/bin/env bash
# bench/lvdiff.sh - the coarse level integrated as its difference to the
# fine one along the fine level's steps (src/ode.c `dop_lv`, docs/grid.md
# s.17) against the stacked copies of before (`--stacked-levels`), in the
# same binary, one process at a time and alternately.
#
# For each case (CLDYN_BENCH_LVDIFF_CASES, default "B A D m2 m3 m2s quad":
# B, A, D of bench/multi_cases.sh at T = 50, and four more below) both
# modes run `cldyn ode` with OMP_NUM_THREADS=1 CLDYN_BENCH_LVDIFF_REPS times
# (default 3); the table shows the median CPU seconds (user + sys) of each,
# their ratio stacked / difference, the largest difference between the two
# tables of R and Q (the fine level; its step control differs: tolerance
# level), and the trajectory error bound each prints, with the difference
# mode's own part ("plus X": its local error estimates summed) and its
# steps by the 4-stage pair / by DOP853's tableau.  Reported only:
# benchmarks are not tests.
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${CLDYN_BENCH_LVDIFF_REPS:-3}
BIN=build/cldyn
[ -x $BIN ] || make -s all
# shellcheck source=bench/multi_cases.sh
. bench/multi_cases.sh
R3='0.1,0.02,0.01;0.03,0.1,0.02;0.01,0.02,0.1'
extra() {
  case $1 in
    m2) echo "--M 2 --lambda 1 --c rademacher:3 --c laplace:3 --R0 0.3,0.1;0.1,0.2 --T 20" ;;
    m3) echo "--M 3 --lambda 1 --c rademacher:3 --c rademacher:2.5 --c rademacher:2 --R0 $R3 --T 20" ;;
    m2s) echo "--M 2 --lambda 2 --s 0.3 --rho 0.5 --c laplace:3 --c uniform:3 --R0 0.1,0.02;0.03,0.1 --T 40" ;;
    quad) echo "--M 2 --lambda 1 --expect quad --c rademacher:3 --c laplace:3 --R0 0.1,0.02;0.03,0.1 --T 5" ;;
    *) local a
       a=$(case_args "$1")
       [ -n "$a" ] || { echo "lvdiff: unknown case '$1'" >&2; exit 2; }
       echo "$a --T 50" ;;
  esac
}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cldyn_bench_lvdiff.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
run() { # run MODE ARGS...: CPU seconds into $tmp/MODE.t, table $tmp/MODE.csv, stderr $tmp/MODE.err
  local mode=$1
  shift
  local flag=()
  [ "$mode" = stacked ] && flag=(--stacked-levels)
  OMP_NUM_THREADS=1 /usr/bin/time -f "%U %S" -o "$tmp/$mode.time" "$BIN" ode "$@" "${flag[@]}" \
    --out "$tmp/$mode.csv" 2>"$tmp/$mode.err"
  awk '{print $1 + $2}' "$tmp/$mode.time" >>"$tmp/$mode.t"
}
bound() { grep -o 'trajectory error bound [0-9.e+-]*' "$1" | awk '{print $4}'; }
printf '%-5s %9s %9s %6s %9s %10s %10s %10s %8s\n' case stacked_s diff_s ratio table_d bound_stk bound_dif own_part steps
for c in ${CLDYN_BENCH_LVDIFF_CASES:-B A D m2 m3 m2s quad}; do
  read -r -a args <<<"$(extra "$c")"
  rm -f "$tmp"/*.t
  for _ in $(seq "$REPS"); do
    run stacked "${args[@]}"
    run diff "${args[@]}"
  done
  ts=$(median <"$tmp/stacked.t")
  td=$(median <"$tmp/diff.t")
  own=$(grep -o 'plus [0-9.e+-]*: the other level' "$tmp/diff.err" | sed -E 's/plus ([^:]*):.*/\1/')
  steps=$(grep -o '([0-9]* by a 4-stage pair, [0-9]* by DOP853' "$tmp/diff.err" |
    sed -E 's/\(([0-9]+) by a 4-stage pair, ([0-9]+) by.*/\1\/\2/')
  printf '%-5s %9.2f %9.2f %6.2f %9s %10s %10s %10s %8s\n' "$c" "$ts" "$td" "$(echo "$ts / $td" | bc -l)" \
    "$(maxdiff "$tmp/stacked.csv" "$tmp/diff.csv")" "$(bound "$tmp/stacked.err")" "$(bound "$tmp/diff.err")" \
    "${own:--}" "${steps:--}"
done
