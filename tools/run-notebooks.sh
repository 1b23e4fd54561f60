#!/bin/sh
# Execute every notebook in examples/ (tools/run-notebooks.sh OUTDIR): the
# executed copies go to OUTDIR; a failing cell, or a notebook that takes more
# than its budget, fails.  Non-interactive matplotlib, kernel python3, no
# network needed.  `make test-python` runs it with PYTHONPATH set to python/.
set -eu
out=${1:-build/notebooks}
mkdir -p "$out"
out=$(cd "$out" && pwd)
export MPLBACKEND=Agg PYDEVD_DISABLE_FILE_VALIDATION=1
# kernel connection files and IPython's profile inside OUTDIR: nothing is
# needed from, or left in, the home directory
export JUPYTER_RUNTIME_DIR="$out/runtime" IPYTHONDIR="$out/ipython" MPLCONFIGDIR="$out/mpl"
# the kernel runs in examples/: the package of this tree, by absolute path
export PYTHONPATH="$(pwd)/python${PYTHONPATH:+:$PYTHONPATH}"
n=0
for nb in examples/*.ipynb; do
  [ -e "$nb" ] || continue
  start=$(date +%s)
  timeout 300 jupyter nbconvert --to notebook --execute --log-level=WARN \
    --ExecutePreprocessor.timeout=120 --ExecutePreprocessor.kernel_name=python3 \
    --output-dir "$out" "$nb"
  echo "notebook $nb: executed in $(( $(date +%s) - start )) s"
  n=$((n + 1))
done
echo "notebooks: $n executed"
