# shellcheck shell=bash
# bench/closed_m8.sh - sourced by bench/closed_tbound.sh and
# bench/growth_cost.sh (from the repository's root, with their arguments
# REF_BIN [REPS]): REPS (default 3), BIN, a scratch directory tmp (removed
# on exit), the host's line; bench/closed's M = K = 8 case, its R0 (R8) and
# laws (C8); cpu, the CPU seconds (user + sys) of one run; median, of the
# numbers on stdin.
# shellcheck disable=SC2034
REPS=${2:-3}
BIN=build/cldyn
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cldyn_bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "host: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
R8=$(python3 -c "
import random
random.seed(1)
print(';'.join(','.join('%.3f' % (0.25 * random.gauss(0, 1) / 8 ** 0.5 + (0.2 if i == j else 0))
      for i in range(8)) for j in range(8)))")
# shellcheck disable=SC2034
C8="--c gauss --c gauss --c gauss --c gauss --c gauss --c gauss --c gauss --c gauss"
cpu() { # CPU s (user + sys) of one run
  /usr/bin/time -f "%U %S" -o "$tmp/t" "$@" >/dev/null 2>&1
  awk '{print $1 + $2}' "$tmp/t"
}
median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
