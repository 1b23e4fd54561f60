#!/usr/bin/env bash
# bench/fixedm3.sh - the cost of `cldyn fixed` at M = 3 (docs/fixed-points.md
# s.2, "Cost at M = 3"): the case of session 19,
#   fixed --M 3 --lambda 1 --c rademacher:3 --c rademacher:2.5 --c rademacher:2
# with --starts S (default 0: no seeded random Newton starts, a run that
# finishes; CLDYN_FIXEDM3_STARTS=36 is the default search, several minutes
# each), by this tree's build/cldyn and by the reference commit's
# ($CLDYN_FIXEDM3_REF, default main), exported with `git archive` and built
# once in /tmp/cldyn_fixedm3_ref.<commit> (kept between runs, never
# committed).  Prints user CPU s of each (one run each, one after the
# other), the ratio ref / this, the drift evaluations of each (from the
# notes), and whether the two CSVs list the same points (orbit, stability,
# kind and the state to 6 digits).  Reported only: the exit status is 0
# unless something crashed (benchmarks are not tests).
set -euo pipefail
cd "$(dirname "$0")/.."

REF=${CLDYN_FIXEDM3_REF:-main}
S=${CLDYN_FIXEDM3_STARTS:-0}
ARGS=(fixed --M 3 --lambda 1 --c rademacher:3 --c rademacher:2.5 --c rademacher:2 --starts "$S")

echo "== build (this tree)"
make --no-print-directory -s build/cldyn
echo "== build (reference: $REF)"
. bench/ccbench.sh # cc_bench, ref_cldyn
ref_cldyn fixedm3 "$REF"

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "host: ${cpu:-unknown cpu}, $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)" \
  "(timings mean little on a busy machine)"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cldyn_fixedm3.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

run() { # NAME BINARY
  /usr/bin/time -f '%U' -o "$tmp/$1.time" "$2" "${ARGS[@]}" --out "$tmp/$1.csv" 2>"$tmp/$1.err" >/dev/null
  echo "$1: $(cat "$tmp/$1.time") user CPU s; $(grep -o '[0-9]* drift evaluations' "$tmp/$1.err" | head -1)"
}
echo "== cldyn ${ARGS[*]}"
run ref "$refdir/build/cldyn"
run this build/cldyn
awk -v a="$(cat "$tmp/ref.time")" -v b="$(cat "$tmp/this.time")" \
  'BEGIN { if (b > 0) printf "ratio ref / this: %.2f\n", a / b }'

# the points: every column but the residual and the error estimates, to 6 digits
canon() {
  python3 - "$1" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
keep = [k for k in rows[0] if k.startswith(("R_", "Q_")) or k in ("orbit", "stability", "kind")] if rows else []
for r in rows:
    print(",".join(r[k] if k in ("orbit", "stability", "kind") else "%.6g" % float(r[k]) for k in keep))
EOF
}
if cmp -s <(canon "$tmp/ref.csv") <(canon "$tmp/this.csv"); then
  echo "points: the same ($(($(wc -l <"$tmp/this.csv") - 1)) rows)"
else
  echo "points: DIFFER"
  diff <(canon "$tmp/ref.csv") <(canon "$tmp/this.csv") | head -20 || true
fi
