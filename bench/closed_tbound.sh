#!/usr/bin/env bash
# bench/closed_tbound.sh - the cost of the closed forms' trajectory bound
# (docs/closed-forms.md s.7): `cldyn ode` on bench/closed's M = K = 8 case
# (erf, every law gauss, T = 50, output every 1; lambda 0 and 1) with this
# build against a reference build REF (a cldyn binary: e.g. main's, built
# before session 20), runs alternating, REPS each (default 3); prints the
# median CPU seconds (user + sys) of each and their ratio.
#   bench/closed_tbound.sh REF_BIN [REPS]
set -euo pipefail
cd "$(dirname "$0")/.."
REF=${1:?usage: bench/closed_tbound.sh REF_BIN [REPS]}
# shellcheck source=bench/closed_m8.sh
. bench/closed_m8.sh
for lam in 0 1; do
  : >"$tmp/a"; : >"$tmp/b"
  for _ in $(seq "$REPS"); do
    cpu "$REF" ode --M 8 $C8 --act erf --R0 "$R8" --T 50 --dt-out 1 --lambda $lam --out "$tmp/r.csv" >>"$tmp/a"
    cpu "$BIN" ode --M 8 $C8 --act erf --R0 "$R8" --T 50 --dt-out 1 --lambda $lam --out "$tmp/n.csv" >>"$tmp/b"
  done
  a=$(median <"$tmp/a"); b=$(median <"$tmp/b")
  bound=$(python3 -c "import json; print(json.load(open('$tmp/n.csv.json'))['method'].split('trajectory error bound ')[1].split(' ')[0])")
  same=$(cmp -s "$tmp/r.csv" "$tmp/n.csv" && echo identical || echo differ)
  printf 'lambda %s: reference %.3f CPU s, this build %.3f CPU s (median of %d), ratio %.2f; trajectory bound %s; tables %s\n' \
    "$lam" "$a" "$b" "$REPS" "$(python3 -c "print($b / $a)")" "$bound" "$same"
done
