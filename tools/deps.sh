#!/bin/sh
# Check the Debian packages cldyn needs; install the missing ones when run as
# root (apt-get), otherwise print the exact command and fail.
#   tools/deps.sh build   - library, CLI and tests
#   tools/deps.sh bench   - also python3-numpy/scipy for bench/ reference scripts
set -u
what=${1:-build}
missing=""
have_hdr() { [ -f "/usr/include/$1" ] || [ -f "/usr/include/x86_64-linux-gnu/$1" ] || [ -f "/usr/local/include/$1" ]; }
have_hdr gsl/gsl_odeiv2.h || missing="$missing libgsl-dev"
# FFTW 3: the grid engines' transforms (src/drift_grid.c)
have_hdr fftw3.h || missing="$missing libfftw3-dev"
have_hdr criterion/criterion.h || missing="$missing libcriterion-dev"
have_hdr jansson.h || missing="$missing libjansson-dev"
# zlib: the crc32 of checkpoint files
have_hdr zlib.h || missing="$missing zlib1g-dev"
{ have_hdr cblas.h && ls /usr/lib/*/libopenblas.so >/dev/null 2>&1; } || missing="$missing libopenblas-dev"
command -v gnuplot >/dev/null 2>&1 || missing="$missing gnuplot-nox"
command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
command -v gcc >/dev/null 2>&1 || missing="$missing gcc"
command -v make >/dev/null 2>&1 || missing="$missing make"
# valgrind: the memcheck test of short simulate, ode, reduced and pde runs
command -v valgrind >/dev/null 2>&1 || missing="$missing valgrind"
# Open MPI for the MPI sweep and its test (build/cldyn-mpi)
{ command -v mpicc >/dev/null 2>&1 && command -v mpirun >/dev/null 2>&1; } || missing="$missing openmpi-bin libopenmpi-dev"
# the Python package's tests and the notebooks in examples/ (make test-python)
py() { /usr/bin/python3 -c "import $1" >/dev/null 2>&1; }
py numpy || missing="$missing python3-numpy"
py pytest || missing="$missing python3-pytest"
py matplotlib || missing="$missing python3-matplotlib"
py ipykernel || missing="$missing python3-ipykernel"
command -v jupyter-nbconvert >/dev/null 2>&1 || missing="$missing jupyter-nbconvert"
if [ "$what" = bench ]; then
  /usr/bin/python3 -c 'import numpy, scipy' >/dev/null 2>&1 || missing="$missing python3-numpy python3-scipy"
  command -v /usr/bin/time >/dev/null 2>&1 || [ -x /usr/bin/time ] || missing="$missing time"
fi
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "cldyn: installing missing Debian packages:$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $missing >/dev/null || {
    echo "cldyn: apt-get failed; run: apt-get update && apt-get install -y$missing" >&2
    exit 1
  }
  exit 0
fi
echo "cldyn: missing packages; run: sudo apt-get install -y$missing" >&2
exit 1
