#!/usr/bin/env bash
# bench/lev4.sh - the M = 4 engine's levels (docs/grid.md s.15, "The M = 4
# levels"; src/drift_grid4.c, cl_grid4_levels) on case B of issue 12
# (bench/multi_cases.sh's B: M = 4, K = 4, lambda = 1, g = square, B = 1,
# tanh), one process at a time:
#
#  1. `cldyn ode --expect grid` to T (CLDYN_BENCH_LEV4_T, default 50) by
#     the reference commit's build ($CLDYN_BENCH_LEV4_REF, default main:
#     the sub-engines at cl_grid_default_levels), exported with `git
#     archive` and built once in /tmp/cldyn_lev4_ref.<commit> (kept between
#     runs, never committed), and by this tree's build/cldyn (the M = 4
#     levels): user CPU seconds, the ratio, the printed trajectory bound;
#  2. a refined run (the reference commit's build at --grid-nodes 30,
#     --rtol 1e-10 --atol 1e-12, as docs/grid.md s.15's "refined" row) and
#     each table's largest distance to it over R and Q;
#  3. with CLDYN_BENCH_LEV4_STUDY=1, bench/lev4.c on the grid table of
#     this tree (every 5th state): the error-source study.
# Reported only: benchmarks are not tests.  User CPU seconds of one run
# each (the machine is shared: compare the ratio, not the seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
T=${CLDYN_BENCH_LEV4_T:-50}
REF=${CLDYN_BENCH_LEV4_REF:-main}
make --no-print-directory -s all
. bench/ccbench.sh # cc_bench, ref_cldyn
ref_cldyn lev4 "$REF"
. bench/multi_cases.sh # CASES, case_args, maxdiff
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cldyn_bench_lev4.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "host: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
read -r -a X <<<"$(case_args B)"

run() { # NAME BINARY ARGS...: user CPU seconds and the printed trajectory bound
  local name=$1 bin=$2
  shift 2
  /usr/bin/time -f '%U' -o "$tmp/$name.time" "$bin" ode "${X[@]}" --T "$T" --dt-out 1 --expect grid "$@" \
    --out "$tmp/$name.csv" 2>"$tmp/$name.err" || echo "  $name: exit $? ($(tail -1 "$tmp/$name.err" | cut -c1-200))"
  local bound
  bound=$(grep -o 'trajectory error bound [0-9.e+-]*' "$tmp/$name.err" | awk '{print $4}' | head -1 || true)
  printf '%-10s CPU %8.2f s   trajectory bound %s\n' "$name" "$(tail -1 "$tmp/$name.time")" "${bound:--}"
}
echo "== case B to T = $T (--expect grid), reference $REF ($refc) and this tree"
run main "$refdir/build/cldyn"
run lev4 build/cldyn
awk -v a="$(tail -1 "$tmp/main.time")" -v b="$(tail -1 "$tmp/lev4.time")" \
  'BEGIN { if (b > 0) printf "ratio CPU main / lev4: %.2f\n", a / b }'
run refined "$refdir/build/cldyn" --grid-nodes 30 --rtol 1e-10 --atol 1e-12
for n in main lev4; do
  printf 'max |%s table - refined| (R, Q) %s\n' "$n" "$(maxdiff "$tmp/$n.csv" "$tmp/refined.csv")"
done
printf 'max |lev4 table - main table| (R, Q) %s\n' "$(maxdiff "$tmp/lev4.csv" "$tmp/main.csv")"
if [ "${CLDYN_BENCH_LEV4_STUDY:-0}" = 1 ]; then
  echo "== the error sources (bench/lev4.c) at the states of this tree's table"
  cc_bench lev4
  "$out" B "$tmp/lev4.csv" 5
fi
