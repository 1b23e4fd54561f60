# shellcheck shell=bash
# bench/multi_cases.sh - sourced by bench/multi and bench/speedc: the cases
# of issue 12 for the M >= 2 engine (src/drift_multi.c, docs/multi.md) as
# "name|cldyn ode arguments" in CASES, and maxdiff, the largest difference
# over the R and Q columns of two `cldyn ode` tables.
#
#   A. M = 2, K = 2 (laplace:3 + uniform:3), lambda = 1, g = square, B = 1
#   B. M = 4, K = 4 (laplace:3, uniform:3, rademacher:3, rademacher:2), lambda = 1
#   C. M = 8, K = 8 (4 rademacher + 4 continuous laws), lambda = 1
#   D. M = 2, B = 4, lambda = 1, g = square (the exact 1/B expansion)
R4='0.1,0.02,0.01,0;0.02,0.1,0.01,0.01;0.01,0,0.1,0.02;0,0.01,0.02,0.1'
R8=$(python3 -c "print(';'.join(','.join('0.1' if i==j else ('0.02' if (i+j)%3==0 else '0.01') for j in range(8)) for i in range(8)))")
# shellcheck disable=SC2034
CASES=(
  "A|--M 2 --lambda 1 --c laplace:3 --c uniform:3 --R0 0.1,0.02;0.03,0.1"
  "B|--M 4 --lambda 1 --c laplace:3 --c uniform:3 --c rademacher:3 --c rademacher:2 --R0 $R4"
  "C|--M 8 --lambda 1 --c rademacher:3 --c rademacher:2.8 --c rademacher:2.6 --c rademacher:2.4 --c laplace:3 --c uniform:3 --c laplace:2 --c uniform:2 --R0 $R8"
  "D|--M 2 --B 4 --lambda 1 --c rademacher:3 --c laplace:3 --R0 0.1,0.02;0.03,0.1"
)

case_args() { # case_args NAME: the cldyn ode arguments of case NAME of CASES ("" if none)
  local c
  for c in "${CASES[@]}"; do [ "${c%%|*}" = "$1" ] && { printf '%s\n' "${c#*|}"; return; }; done
}

maxdiff() { # max |a - b| over the R and Q columns of two ode tables
  python3 - "$1" "$2" <<'PY'
import csv, sys
a = list(csv.reader(open(sys.argv[1]))); b = list(csv.reader(open(sys.argv[2])))
cols = [k for k, n in enumerate(a[0]) if n.startswith(("R_", "Q_"))]
d = [abs(float(x[k]) - float(y[k])) for x, y in zip(a[1:], b[1:]) for k in cols]
print("%.3g" % max(d) if d else "n/a")
PY
}
