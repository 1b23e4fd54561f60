#!/usr/bin/env bash
# Theory against the exact finite-N chain for M = 1 on configurations the
# tests do not use (docs/kinks.md, "Continuous laws"): `cldyn reduced` at N = 1e3 ..
# 1.6e4 against `cldyn ode`, the gap of bench/validate_gap.py (rms over runs,
# times t > 0 of cos_sim - cos_ode), gap x sqrt(N), the mean gap's z, and the
# slope of log(gap) against log(N) (expected -0.5 +- 0.15).
# Usage: bench/audit_m1_gap.sh [runs [config...]]   (needs `make all` first;
# ~1 min for the five default configurations; a config is one string of
# `cldyn ode` options, e.g. "--act relu --c student:2:9 --rho -0.6 --B 4")
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-400}
NS="1000 2000 4000 8000 16000"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cldyn_audit_gap.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
py() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 "$@"; }
configs=("${@:2}")
[ ${#configs[@]} -gt 0 ] || configs=(
  "--act relu --c student:3:6 --rho -0.5 --B 4 --reg l2:1 --R0 0.2"
  "--act tanh --c laplace:2 --c rademacher:1 --s 1 --rho -0.7 --R0 0.2;0.1"
  "--act sigmoid --c student:2:5 --B 4 --rho 0.4 --R0 0.3"
  "--act erf --c uniform:3 --c sparse:2:0.2 --c gauss:0.5 --B 2 --s 0.3 --rho -0.9 --R0 0.1;0.2;0.1"
  "--act relu --c discrete:1@0.25,-1@0.25,0@0.5 --c laplace:1 --s 0.2 --rho -0.3 --reg l2:2 --R0 0.3;0.3 --Q0 0.25"
)
for cfg in "${configs[@]}"; do
  read -r -a A <<<"$cfg"
  echo "== $cfg --T 4 --dt-out 0.5, $RUNS runs per N"
  build/cldyn ode "${A[@]}" --T 4 --dt-out 0.5 --out "$tmp/ode.csv" 2>/dev/null
  : >"$tmp/gaps.txt"
  for N in $NS; do
    build/cldyn reduced "${A[@]}" --N "$N" --runs "$RUNS" --seed 7 --threads 2 --T 4 --dt-out 0.5 \
      --out "$tmp/red.csv"
    line=$(py bench/validate_gap.py gap "$tmp/red.csv" "$tmp/ode.csv" "$N")
    echo "$line" >>"$tmp/gaps.txt"
    echo "$line"
  done
  py bench/validate_gap.py fit "$tmp/gaps.txt"
done
