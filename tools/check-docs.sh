#!/bin/sh
# make check-docs: every citation of a document in the sources, tests,
# benchmarks and docs must point to a file of this repository, and a cited
# section must exist.  Citation syntax: `docs/NAME.md` for a whole file,
# `docs/NAME.md s.N` or `docs/NAME.md s.N-M` for sections, which must be
# headings `## N. Title` of that file.  The project's former shared specs are
# outside the repository and may not be cited at all.
set -u
cd "$(dirname "$0")/.." || exit 2
files=$(git ls-files --cached --others --exclude-standard 2>/dev/null | grep -E '\.(c|h|md|py|sh|in)$|^Makefile$|^bench/|^fuzz/|^tools/' | grep -v -e '^tests/golden/' -e '^tools/check-docs.sh$')
[ -n "$files" ] || files=$(find src include app cli tests bench fuzz tools docs README.md Makefile -type f 2>/dev/null)
fail=0
# shellcheck disable=SC2086
outside=$(grep -nE '(MODEL|INTERFACE)\.md' $files 2>/dev/null | grep -v '^tools/check-docs.sh:')
if [ -n "$outside" ]; then
  printf '%s\n' "$outside" | sed 's/^/check-docs: reference to a document outside the repository: /' >&2
  fail=1
fi
# shellcheck disable=SC2086
grep -noE 'docs/[A-Za-z0-9_.-]+\.md( s\.[0-9]+(-[0-9]+)?)?' $files 2>/dev/null |
  while IFS= read -r hit; do
    where=${hit%%:docs/*}
    ref=docs/${hit#*:docs/}
    doc=${ref%% *}
    if [ ! -f "$doc" ]; then
      echo "check-docs: $where: $doc does not exist" >&2
      echo x
      continue
    fi
    case $ref in
      *" s."*)
        range=${ref##* s.}
        ends=${range%-*}
        [ "$range" != "$ends" ] && ends="$ends ${range#*-}"
        for n in $ends; do
          if ! grep -qE "^#+ $n\. " "$doc"; then
            echo "check-docs: $where: $doc has no section $n (a heading '## $n. ...')" >&2
            echo x
          fi
        done ;;
    esac
  done >"${TMPDIR:-/tmp}/check-docs.$$"
[ -s "${TMPDIR:-/tmp}/check-docs.$$" ] && fail=1
rm -f "${TMPDIR:-/tmp}/check-docs.$$"
[ $fail -eq 0 ] && echo "check-docs: all document references resolve"
exit $fail
