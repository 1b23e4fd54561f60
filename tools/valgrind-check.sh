#!/usr/bin/env bash
# tools/valgrind-check.sh [BUILD] - memcheck over a small set of CLI commands
# (every engine, the file readers, their error paths) and of Criterion test
# suites, on the plain build (the sanitizer build cannot run under valgrind).
# `make test-valgrind` runs it.  Each run: no invalid read or write, no use
# of an uninitialised value, no definite or indirect leak (valgrind's
# --error-exitcode).  "Possibly lost" blocks are not errors: libgomp keeps
# its thread pool and OpenBLAS its buffers until exit.  Commands that must
# fail (corrupt files) are checked for their exit status 2 as well.
# Prints one line per run (in the order below, as runs finish) and a total;
# exits 1 when any run is not clean.
# Runs go two at a time (VG_JOBS, default 2: a pool of jobs whose output is
# kept in order; a `barrier` waits for the runs whose files the next ones
# read).  Time: the same runs take 13 s of CPU without valgrind, and
# memcheck is 20 to 50 times slower, so about 5 to 10 minutes on 2 idle
# cores; on the shared, loaded machine much longer (measured: docs/hardening.md
# s.10).  Never edit this file while it runs: bash reads it as it goes.
# docs/hardening.md s.10
set -u
cd "$(dirname "$0")/.."
build=${1:-build}
bin=$build/cldyn
tests=$build/cldyn_tests
command -v valgrind >/dev/null 2>&1 || { echo "valgrind-check: valgrind missing (tools/deps.sh installs it)" >&2; exit 1; }
[ -x "$bin" ] && [ -x "$tests" ] || { echo "valgrind-check: build $bin and $tests first" >&2; exit 1; }
tmp=$(mktemp -d /tmp/cldyn_vg.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# private copies: a rebuild during the check cannot swap the binaries
cp "$bin" "$tmp/cldyn" && cp "$tests" "$tmp/cldyn_tests" || exit 1
bin=$tmp/cldyn
tests=$tmp/cldyn_tests
VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
    --show-leak-kinds=definite,indirect)
# (add --track-origins=yes to find where an uninitialised value comes from)
jobs=${VG_JOBS:-2}
n=0
shown=0
# print the results of the finished runs, in order, up to the first unfinished one
show() {
  while [ -e "$tmp/done.$((shown + 1))" ]; do
    shown=$((shown + 1))
    cat "$tmp/res.$shown"
  done
}
# start "$@" (a function and its arguments) as run number n in the pool
spawn() {
  n=$((n + 1))
  while [ "$(jobs -pr | wc -l)" -ge "$jobs" ]; do
    wait -n
    show
  done
  ("$@" >"$tmp/res.$n" 2>&1; touch "$tmp/done.$n") &
}
barrier() {
  wait
  show
}
# one_run K EXPECTED_STATUS COMMAND... (the CLI's arguments)
one_run() {
  local k=$1 want=$2
  shift 2
  local t0=$SECONDS
  "${VG[@]}" --log-file="$tmp/vg.$k" "$bin" "$@" >"$tmp/out.$k" 2>"$tmp/err.$k"
  local rc=$?
  if [ "$rc" = "$want" ] && ! [ -s "$tmp/vg.$k" ]; then
    printf 'clean  %3ds  cldyn %s\n' $((SECONDS - t0)) "$*"
  else
    printf 'FAIL   %3ds  cldyn %s (exit %s, want %s)\n' $((SECONDS - t0)) "$*" "$rc" "$want"
    head -c 3000 "$tmp/vg.$k"
    head -c 500 "$tmp/err.$k"
  fi
}
# run EXPECTED_STATUS COMMAND...
run() { spawn one_run $((n + 1)) "$@"; }
# one_suite K FILTER: a Criterion suite; each test runs in a worker process
# that Criterion starts by fork and exec, hence --trace-children (shells and
# the CLI that CLI tests start are not followed)
one_suite() {
  local k=$1 f=$2 t0=$SECONDS
  CLDYN_BIN=$bin "${VG[@]}" --trace-children=yes --trace-children-skip='*/sh,*/bash,*/cldyn' \
    --log-file="$tmp/vg.$k.%p" "$tests" --jobs 1 --filter "$f" >"$tmp/out.$k" 2>&1
  local rc=$?
  if [ "$rc" = 0 ] && [ -z "$(cat "$tmp/vg.$k".* 2>/dev/null)" ]; then
    printf 'clean  %3ds  cldyn_tests --filter %s\n' $((SECONDS - t0)) "$f"
  else
    printf 'FAIL   %3ds  cldyn_tests --filter %s (exit %s)\n' $((SECONDS - t0)) "$f" "$rc"
    cat "$tmp/vg.$k".* | head -c 3000
    tail -c 1500 "$tmp/out.$k"
  fi
}
suite() { spawn one_suite $((n + 1)) "$1"; }
"$bin" simulate --print-config >"$tmp/cfg" 2>/dev/null
printf 'run,t,xi,w,p\n0,nan,0,0.1,1\n' >"$tmp/bad_d.csv"
printf 'N = 100\nT = 0.2 # comment\nc = "rademacher:3"\nreg = \001\n' >"$tmp/bad_cfg"
# ---- the engines, one thread (small sizes), and whatever reads no other run's file
run 0 simulate --N 200 --T 0.5 --runs 2 --threads 1 --out "$tmp/s.csv" --summary "$tmp/ss.csv"
run 0 simulate --N 200 --T 0.5 --M 2 --B 2 --lambda 1 --runs 1 --threads 1 --out "$tmp/s2.csv"
run 0 reduced --N 300 --T 0.5 --runs 2 --threads 1 --checkpoint "$tmp/ck" --checkpoint-every 0.25 --out "$tmp/r.csv"
run 0 ode --T 2 --c rademacher:3 --c laplace:2 --R0 '0.1;0.05' --out "$tmp/o.csv"
run 0 ode --T 0.5 --M 2 --lambda 1 --c rademacher:3 --c rademacher:3 --R0 '0.1,0.02;0.03,0.1' --qmc-points 64 --out "$tmp/o2.csv"
# the closed-form erf engine (Gaussian laws, any M)
run 0 ode --T 0.5 --M 2 --act erf --c gauss --c gauss --lambda 1 --R0 '0.1,0.02;0.03,0.1' --out "$tmp/o4.csv"
# the M = 2 grid engine (the default there: docs/grid.md) and M = 1 with
# many features (characteristic functions: docs/m1-many-features.md)
run 0 ode --T 0.5 --M 2 --lambda 1 --c laplace:3 --c uniform:3 --R0 '0.1,0.02;0.03,0.1' --out "$tmp/o5.csv"
run 0 ode --T 0.5 --c laplace:3 --c uniform:2 --c gauss --c student:5 --c laplace:2 --c uniform:3 \
  --R0 '0.1;0.05;0.02;0.01;0.01;0.01' --out "$tmp/o6.csv"
run 0 fixed --out "$tmp/f.csv"
run 0 fixed --vary rho=0:0.5:0.25 --out "$tmp/fv.csv"
# M = 2: the symmetric Sobol' rule of the fixed points (the structured starts
# only: with the default random starts and two features this took 15 minutes
# under memcheck on the loaded machine)
run 0 fixed --M 2 --c rademacher:2 --qmc-points 16 --starts 0 --out "$tmp/f2.csv"
run 0 basin --c rademacher:3 --c rademacher:2 --directions 2 --tmax 5 --threads 1 --out "$tmp/b.csv"
# (a whole M = 2 basin takes 10 s of CPU natively, most of it the escape law
# at R = 0: here the escape that blows up at tau = 10, exit 1, below)
run 0 pde --T 0.5 --cells 100 --features sparse:0.2 --reg l1:0.4 --density-out "$tmp/d.csv" --out "$tmp/p.csv"
run 0 pde --T 0.2 --cells 100 --tau 1000 --out "$tmp/p2.csv"
run 0 sweep --threads 1 --vary rho=0:0.5:0.25 ode --T 1 --out "$tmp/w.csv"
run 0 sweep --threads 1 --shard 1/2 --vary rho=0:0.5:0.25 ode --T 1 --out "$tmp/w1.csv"
run 0 sweep --threads 1 --shard 2/2 --vary rho=0:0.5:0.25 ode --T 1 --out "$tmp/w2.csv"
run 0 simulate --config "$tmp/cfg" --N 100 --T 0.2 --threads 1 --out "$tmp/c.csv"
# ---- files that must be refused (exit 2), runs that must stop (exit 1)
run 2 plot --out "$tmp/g.png" --density "$tmp/bad_d.csv"
run 2 simulate --config "$tmp/bad_cfg" --out "$tmp/c2.csv"
run 1 ode --act linear --reg none --tau 10 --T 1 --out "$tmp/o3.csv"
run 1 pde --T 1 --cells 100 --reg l2:100 --out "$tmp/p3.csv"
run 1 basin --M 2 --c rademacher:3 --c rademacher:2 --act linear --reg none --tau 10 --directions 4 --qmc-points 64 \
  --threads 1 --out "$tmp/b3.csv"
barrier
# ---- what reads the files above: resume, merge, figures, cut files
head -c 100 "$tmp/ck" >"$tmp/ck_cut"
head -c 120 "$tmp/w1.csv" >"$tmp/w_cut.csv"
cp "$tmp/w1.csv.json" "$tmp/w_cut.csv.json" 2>/dev/null
run 0 reduced --N 300 --T 0.5 --runs 2 --threads 1 --resume "$tmp/ck" --out "$tmp/r2.csv"
run 0 sweep --merge --out "$tmp/wm.csv" "$tmp/w1.csv" "$tmp/w2.csv"
run 0 plot --out "$tmp/f.png" --density "$tmp/d.csv"
run 0 plot --out "$tmp/t.png" "$tmp/o.csv"
run 2 reduced --N 300 --T 0.5 --runs 2 --threads 1 --resume "$tmp/ck_cut" --out "$tmp/r3.csv"
run 2 sweep --merge --out "$tmp/wm2.csv" "$tmp/w_cut.csv" "$tmp/w2.csv"
barrier
run 0 sweep --threads 1 --resume --vary rho=0:0.5:0.25 ode --T 1 --out "$tmp/w1.csv"
# ---- Criterion suites (fast ones, or the fast tests of a suite)
# (multi/* and fixedm/* whole take 13 and 96 s of CPU natively, 50 times that
# under memcheck: their fast tests only, the symmetry checks among them;
# multi/trajectory_bound_covers_refinement passed its 120 s limit under memcheck,
# grid/deterministic_and_smooth its 60 s limit)
for f in 'law/*' 'rng/*' 'grad/*' 'drift/*' 'simstep/*' 'terms/*' 'fuzzcorpus/*' 'closed/*' \
  multi/batch_fluctuation_term_is_resolved multi/error_bound_covers_true_error multi/deterministic_and_seed_free \
  multi/drift_is_continuous_in_the_state multi/degenerate_covariance_is_finite \
  multi/rule_is_exactly_equivariant \
  grid/weights_against_a_direct_rule grid/refused_where_it_does_not_apply \
  fixedm/claimed_symmetries_hold_numerically fixedm/orbit_of_a_generic_state fixedm/kinds_of_constructed_states; do
  suite "$f"
done
barrier
bad=$(cat "$tmp"/res.* | grep -c '^FAIL')
echo "valgrind-check: $((n - bad)) of $n runs clean"
[ "$bad" = 0 ]
