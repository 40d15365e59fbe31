#!/usr/bin/env bash
# Determinism check of the book: strict nbval over every chapter under book/ three times, once with
# 1 thread and twice with 2 threads. Each run re-executes every notebook and compares every output
# with the committed one, so any digit that depends on the thread count, or that changes from one
# run to the next, fails the check. (The chapters themselves call optlab.book.setup(), which sets
# torch to one thread; the variables below reach NumPy's BLAS, OpenMP and MKL, and torch before
# setup() runs.)
#
# Usage: scripts/determinism.sh [PATH ...]      (default: book)
# Environment: PYTHON (default .venv/bin/python), WORKERS (pytest-xdist workers, default 2).
set -uo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-.venv/bin/python}"
WORKERS="${WORKERS:-2}"
if [ "$#" -gt 0 ]; then paths=("$@"); else paths=(book); fi

fmt() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

start=$SECONDS
summary=()
failed=0
run=0
for threads in 1 2 2; do
    run=$((run + 1))
    echo "=== determinism run $run/3: OMP_NUM_THREADS=MKL_NUM_THREADS=OPENBLAS_NUM_THREADS=$threads"
    t0=$SECONDS
    OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads \
        "$PYTHON" -m pytest "${paths[@]}" -n "$WORKERS" --dist loadfile -q
    rc=$?
    took=$((SECONDS - t0))
    case "$rc" in
        0) summary+=("run $run ($threads thread(s)): passed in $(fmt $took)") ;;
        1) summary+=("run $run ($threads thread(s)): FAILED: outputs differ, in $(fmt $took)") ;;
        # Exit code 5 (nothing collected) fails too: no notebook was checked.
        5) summary+=("run $run ($threads thread(s)): FAILED: no notebook collected") ;;
        *) summary+=("run $run ($threads thread(s)): FAILED: pytest exit code $rc, in $(fmt $took)") ;;
    esac
    [ "$rc" -eq 0 ] || failed=1
done

echo "=== determinism summary"
printf '  %s\n' "${summary[@]}"
echo "  total: $(fmt $((SECONDS - start)))"
if [ "$failed" -ne 0 ]; then
    echo "determinism: FAILED (see the runs above)"
    exit 1
fi
echo "determinism: every chapter reproduced its committed outputs in all three runs"
