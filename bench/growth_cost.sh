#!/usr/bin/env bash
# bench/growth_cost.sh - the cost of the trajectory bound's drift part with
# the flow's growth (session 21; docs/closed-forms.md s.7, docs/grid.md s.5):
# `cldyn ode` with this build against a reference build REF (a cldyn binary,
# e.g. main's before session 21), runs alternating, REPS each (default 3);
# prints the median CPU seconds (user + sys) of each, their ratio and both
# drift parts.  Cases: the closed forms at M = K = 8 (bench/closed's case,
# erf, every law gauss, T = 50, output every 1, lambda 1); the closed forms
# at M = 2 (tests/test_closed.c's model, T = 1); the grid with linear sigma
# (case A's laws and start, lambda 0, T = 2, bench/gridround).
#   bench/growth_cost.sh REF_BIN [REPS]
set -euo pipefail
cd "$(dirname "$0")/.."
REF=${1:?usage: bench/growth_cost.sh REF_BIN [REPS]}
# shellcheck source=bench/closed_m8.sh
. bench/closed_m8.sh
CASES=(
  "closed M 8|--M 8 $C8 --act erf --R0 $R8 --T 50 --dt-out 1 --lambda 1"
  "closed M 2|--M 2 --act erf --lambda 1 --s 0.5 --rho 0.3 --c gauss:1.5 --c gauss:0.8 --R0 0.31,-0.12;0.07,0.26 --Q0 0.79,0.1;0.1,0.7 --T 1 --dt-out 0.1"
  "grid linear|--M 2 --act linear --lambda 0 --c laplace:3 --c uniform:3 --R0 0.1,0.02;0.03,0.1 --T 2 --dt-out 0.25"
)
part() { python3 -c "
import json, re
m = json.load(open('$1'))['method']
p = re.search(r\"(the drift's|rounding's) part ([0-9.e+-]+)\", m)
b = re.search(r'trajectory error bound ([0-9.e+-]+)', m)
print('part %s of bound %s' % (p.group(2) if p else '-', b.group(1) if b else '-'))"; }
for c in "${CASES[@]}"; do
  name=${c%%|*}; IFS=' ' read -r -a args <<<"${c#*|}"
  : >"$tmp/a"; : >"$tmp/b"
  for _ in $(seq "$REPS"); do
    cpu "$REF" ode "${args[@]}" --out "$tmp/r.csv" >>"$tmp/a"
    cpu "$BIN" ode "${args[@]}" --out "$tmp/n.csv" >>"$tmp/b"
  done
  a=$(median <"$tmp/a"); b=$(median <"$tmp/b")
  same=$(cmp -s "$tmp/r.csv" "$tmp/n.csv" && echo identical || echo differ)
  printf '%s: reference %.3f CPU s (%s), this build %.3f CPU s (%s) (medians of %d), ratio %.2f; tables %s\n' \
    "$name" "$a" "$(part "$tmp/r.csv.json")" "$b" "$(part "$tmp/n.csv.json")" "$REPS" \
    "$(python3 -c "print($b / $a)")" "$same"
done
