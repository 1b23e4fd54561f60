#!/usr/bin/env bash
# bench/q4lev.sh - case B of issue 12 with the four-unit terms' levels of
# session 24 (helper q4lev; docs/grid.md s.15, "The four-unit terms'
# levels") side by side with a reference build (CLDYN_BENCH_Q4LEV_REF_BIN,
# default /work/wt/integ24/build/cldyn, not rebuilt): user CPU s and wall s
# with one thread and with OMP_NUM_THREADS=2, the printed trajectory bound,
# the tables' distance; then case A's tables compared with cmp (M = 2
# untouched).  Single runs, one after the other; the machine is shared:
# compare the ratios.  Reported only: benchmarks are not tests.
set -euo pipefail
cd "$(dirname "$0")/.."
REFBIN=${CLDYN_BENCH_Q4LEV_REF_BIN:-/work/wt/integ24/build/cldyn}
make --no-print-directory -s all
. bench/multi_cases.sh # case_args, maxdiff
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cldyn_bench_q4lev.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "host: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
read -r -a X <<<"$(case_args B)"
run() { # NAME THREADS BINARY
  local name=$1 th=$2 bin=$3
  OMP_NUM_THREADS=$th /usr/bin/time -f '%U %e' -o "$tmp/$name.time" "$bin" ode "${X[@]}" --T 50 --dt-out 1 \
    --out "$tmp/$name.csv" 2>"$tmp/$name.err" || echo "  $name: exit $?"
  local bound
  bound=$(grep -o 'trajectory error bound [0-9.e+-]*' "$tmp/$name.err" | awk '{print $4}' | head -1 || true)
  read -r u e <"$tmp/$name.time"
  printf '%-8s threads %s  CPU %7.2f s  wall %7.2f s  trajectory bound %s\n' "$name" "$th" "$u" "$e" "${bound:--}"
}
run ref1 1 "$REFBIN"
run q4lev1 1 build/cldyn
run ref2 2 "$REFBIN"
run q4lev2 2 build/cldyn
printf 'max |q4lev table - reference table| (R, Q) %s\n' "$(maxdiff "$tmp/q4lev1.csv" "$tmp/ref1.csv")"
cmp -s "$tmp/q4lev1.csv" "$tmp/q4lev2.csv" && echo "q4lev: one and two threads cmp-identical"
read -r -a A <<<"$(case_args A)"
"$REFBIN" ode "${A[@]}" --T 50 --out "$tmp/a_ref.csv" 2>/dev/null
build/cldyn ode "${A[@]}" --T 50 --out "$tmp/a_new.csv" 2>/dev/null
cmp "$tmp/a_ref.csv" "$tmp/a_new.csv" && echo "case A (M = 2): tables cmp-identical"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
