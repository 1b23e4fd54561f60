#!/usr/bin/env bash
# tools/valgrind-check.sh [BUILD] - memcheck over a small set of CLI commands
# (every engine, the file readers, their error paths) and of Criterion test
# suites, on the plain build (the sanitizer build cannot run under valgrind).
# `make test-valgrind` runs it.  Each run: no invalid read or write, no use
# of an uninitialised value, no definite or indirect leak (valgrind's
# --error-exitcode).  "Possibly lost" blocks are not errors: libgomp keeps
# its thread pool and OpenBLAS its buffers until exit.  Commands that must
# fail (corrupt files) are checked for their exit status 2 as well.
# Prints one line per run and a total; exits 1 when any run is not clean.
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
bad=0
n=0
# run EXPECTED_STATUS COMMAND... (the CLI's arguments)
run() {
  local want=$1
  shift
  n=$((n + 1))
  local t0=$SECONDS
  "${VG[@]}" --log-file="$tmp/vg.$n" "$bin" "$@" >"$tmp/out.$n" 2>"$tmp/err.$n"
  local rc=$?
  if [ "$rc" = "$want" ] && ! [ -s "$tmp/vg.$n" ]; then
    printf 'clean  %3ds  cldyn %s\n' $((SECONDS - t0)) "$*"
  else
    bad=$((bad + 1))
    printf 'FAIL   %3ds  cldyn %s (exit %s, want %s)\n' $((SECONDS - t0)) "$*" "$rc" "$want"
    head -c 3000 "$tmp/vg.$n"
    head -c 500 "$tmp/err.$n"
  fi
}
# ---- the engines, one thread (small sizes)
run 0 simulate --N 200 --T 0.5 --runs 2 --threads 1 --out "$tmp/s.csv" --summary "$tmp/ss.csv"
run 0 simulate --N 200 --T 0.5 --M 2 --B 2 --lambda 1 --runs 1 --threads 1 --out "$tmp/s2.csv"
run 0 reduced --N 300 --T 0.5 --runs 2 --threads 1 --checkpoint "$tmp/ck" --checkpoint-every 0.25 --out "$tmp/r.csv"
run 0 reduced --N 300 --T 0.5 --runs 2 --threads 1 --resume "$tmp/ck" --out "$tmp/r2.csv"
run 0 ode --T 2 --c rademacher:3 --c laplace:2 --R0 '0.1;0.05' --out "$tmp/o.csv"
run 0 ode --T 0.5 --M 2 --lambda 1 --c rademacher:3 --c rademacher:3 --R0 '0.1,0.02;0.03,0.1' --qmc-points 64 --out "$tmp/o2.csv"
run 0 fixed --out "$tmp/f.csv"
run 0 fixed --vary rho=0:0.5:0.25 --out "$tmp/fv.csv"
run 0 basin --c rademacher:3 --c rademacher:2 --directions 2 --tmax 5 --threads 1 --out "$tmp/b.csv"
run 0 pde --T 0.5 --cells 100 --features sparse:0.2 --reg l1:0.4 --density-out "$tmp/d.csv" --out "$tmp/p.csv"
# ---- sweeps: shards, merge, resume
run 0 sweep --threads 1 --vary rho=0:0.5:0.25 ode --T 1 --out "$tmp/w.csv"
run 0 sweep --threads 1 --shard 1/2 --vary rho=0:0.5:0.25 ode --T 1 --out "$tmp/w1.csv"
run 0 sweep --threads 1 --shard 2/2 --vary rho=0:0.5:0.25 ode --T 1 --out "$tmp/w2.csv"
run 0 sweep --merge --out "$tmp/wm.csv" "$tmp/w1.csv" "$tmp/w2.csv"
run 0 sweep --threads 1 --resume --vary rho=0:0.5:0.25 ode --T 1 --out "$tmp/w1.csv"
# ---- figures and config files
run 0 plot --out "$tmp/f.png" --density "$tmp/d.csv"
run 0 plot --out "$tmp/t.png" "$tmp/o.csv"
"$bin" simulate --print-config >"$tmp/cfg" 2>/dev/null
run 0 simulate --config "$tmp/cfg" --N 100 --T 0.2 --threads 1 --out "$tmp/c.csv"
# ---- files that must be refused (exit 2), never a bad read
printf 'run,t,xi,w,p\n0,nan,0,0.1,1\n' >"$tmp/bad_d.csv"
run 2 plot --out "$tmp/g.png" --density "$tmp/bad_d.csv"
head -c 100 "$tmp/ck" >"$tmp/ck_cut"
run 2 reduced --N 300 --T 0.5 --runs 2 --threads 1 --resume "$tmp/ck_cut" --out "$tmp/r3.csv"
head -c 120 "$tmp/w1.csv" >"$tmp/w_cut.csv"
cp "$tmp/w1.csv.json" "$tmp/w_cut.csv.json" 2>/dev/null
run 2 sweep --merge --out "$tmp/wm2.csv" "$tmp/w_cut.csv" "$tmp/w2.csv"
printf 'N = 100\nT = 0.2 # comment\nc = "rademacher:3"\nreg = \001\n' >"$tmp/bad_cfg"
run 2 simulate --config "$tmp/bad_cfg" --out "$tmp/c2.csv"
run 1 ode --act linear --reg none --tau 10 --T 1 --out "$tmp/o3.csv"
# ---- Criterion suites (fast ones; each test runs in a worker process that
# Criterion starts by fork and exec, hence --trace-children; shells are not followed)
for f in 'law/*' 'rng/*' 'grad/*' 'drift/*' 'simstep/*' 'terms/*' 'fuzzcorpus/*'; do
  n=$((n + 1))
  t0=$SECONDS
  CLDYN_BIN=$bin "${VG[@]}" --trace-children=yes --trace-children-skip='*/sh,*/bash,*/cldyn' \
    --log-file="$tmp/vg.$n.%p" "$tests" --jobs 1 --filter "$f" >"$tmp/out.$n" 2>&1
  rc=$?
  if [ "$rc" = 0 ] && [ -z "$(cat "$tmp/vg.$n".* 2>/dev/null)" ]; then
    printf 'clean  %3ds  cldyn_tests --filter %s\n' $((SECONDS - t0)) "$f"
  else
    bad=$((bad + 1))
    printf 'FAIL   %3ds  cldyn_tests --filter %s (exit %s)\n' $((SECONDS - t0)) "$f" "$rc"
    cat "$tmp/vg.$n".* | head -c 3000
    tail -c 1500 "$tmp/out.$n"
  fi
done
echo "valgrind-check: $((n - bad)) of $n runs clean"
[ "$bad" = 0 ]
