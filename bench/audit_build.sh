# shellcheck shell=bash
# bench/audit_build.sh - sourced by bench/audit_closed, bench/audit_m2 and
# bench/audit_mm: `audit_build NAME` compiles bench/NAME.c with the batch
# Monte Carlo of tests/mc_ref.c (bench/shim stands in for Criterion's
# assertions there), the application objects and build/libcldyn.a into
# build/bench/NAME.
audit_build() {
  local app=() f
  mkdir -p build/bench
  for f in build/obj/app/*.o; do # the application layer without the CLI's main
    case $f in *main* | *capi*) ;; *) app+=("$f") ;; esac
  done
  # shellcheck disable=SC2046 # word splitting intended
  cc -std=c11 -O2 -Wall -Wextra -Werror -fopenmp -ffp-contract=off -D_GNU_SOURCE -Ibench/shim -Iinclude -I. \
    "bench/$1.c" tests/mc_ref.c "${app[@]}" build/libcldyn.a $(make -s --no-print-directory print-libs) \
    -o "build/bench/$1"
}
