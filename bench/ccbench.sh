# shellcheck shell=sh
# bench/ccbench.sh - sourced by the bench/*.sh drivers of single-file C
# programs: `cc_bench NAME [SOURCE...]` compiles bench/NAME.c (and the
# extra sources, e.g. tests/sd_ref.c) against build/libcldyn.a (`make all`
# first) into $TMPDIR/cldyn_bench_NAME and sets `out` to it.
cc_bench() {
  name=$1
  shift
  out="${TMPDIR:-/tmp}/cldyn_bench_$name"
  libs=$(make -s --no-print-directory print-libs)
  # shellcheck disable=SC2086 # $libs: word splitting intended
  cc -std=c11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -ffp-contract=off -fopenmp -Iinclude -I. \
    "bench/$name.c" "$@" build/libcldyn.a $libs -o "$out"
}

# `ref_cldyn NAME REF`: the commit REF exported with `git archive` and its
# build/cldyn built once in /tmp/cldyn_NAME_ref.<commit> (kept between
# runs, never committed); sets refc (the short hash) and refdir.
ref_cldyn() {
  refc=$(git rev-parse --short "$2^{commit}")
  refdir=/tmp/cldyn_$1_ref.$refc
  if [ ! -x "$refdir/build/cldyn" ]; then
    rm -rf "$refdir"
    mkdir -p "$refdir"
    git archive "$refc" | tar -x -C "$refdir"
    make --no-print-directory -s -C "$refdir" build/cldyn
  fi
}
