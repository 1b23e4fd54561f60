#!/bin/sh
# Rewrite the golden CSVs of tests/golden/commands with the CLI given as $1
# (default build/cldyn).  Run from the repository root; only when a change of
# output is intended.
set -eu
bin=${1:-build/cldyn}
dir=tests/golden
rm -f "$dir"/*.csv
grep -v '^#' "$dir/commands" | grep -v '^$' | while IFS= read -r line; do
  args=$(printf '%s\n' "$line" | sed "s|{out}|$dir|g")
  # word splitting on spaces is intended: no argument contains a space
  # shellcheck disable=SC2086
  "$bin" $args >/dev/null
done
rm -f "$dir"/*.json
ls "$dir"
