#!/bin/sh
# make check-abi: the dynamic symbols that libcldyn.so defines must be
# exactly the list in the README's "Library" section (between the
# exported-symbols markers).  Compiler artifacts are left out: GCC's
# .gomp_critical_user_* locks of named OpenMP critical sections and the
# .resolver of target clones.  Usage: tools/check-abi.sh [build/libcldyn.so]
set -eu
cd "$(dirname "$0")/.."
lib=${1:-build/libcldyn.so}
tmp=${TMPDIR:-/tmp}/check-abi.$$
trap 'rm -f "$tmp".*' EXIT
sed -n '/<!-- exported-symbols -->/,/<!-- \/exported-symbols -->/p' README.md |
  grep -oE '\bcl_[A-Za-z0-9_]+' | sort -u >"$tmp.doc"
[ -s "$tmp.doc" ] || { echo "check-abi: no exported-symbols list in README.md" >&2; exit 1; }
nm -D --defined-only "$lib" | awk '{print $NF}' | grep -v '\.' | sort -u >"$tmp.lib"
if ! cmp -s "$tmp.doc" "$tmp.lib"; then
  echo "check-abi: $lib exports symbols that differ from README.md's list:" >&2
  comm -13 "$tmp.doc" "$tmp.lib" | sed 's/^/  exported, not listed: /' >&2
  comm -23 "$tmp.doc" "$tmp.lib" | sed 's/^/  listed, not exported: /' >&2
  exit 1
fi
echo "check-abi: $(wc -l <"$tmp.lib") exported symbols, as listed in README.md"
