#!/usr/bin/env bash
# Every CUDA check of ssm-kernels on this machine's own torch / CuPy, results as files.
#
#   packages/ssm-kernels/scripts/gpu_check.sh [OUT_DIR]      (default: bench-results/gpu)
#
# Installs nothing and needs no network: the packages are imported from this checkout
# (PYTHONPATH), so a GPU machine with a preinstalled torch + cupy-cuda12x / cupy-cuda13x works
# as it is. (To install instead: pip install --no-deps --no-build-isolation ./packages/ssm-kernels)
# Writes: report.txt (python -m ssm_kernels), pytest-cuda.xml + pytest-cuda.txt (every CUDA test:
# test_cuda.py and the cuda rows of test_backends.py), kernels-cuda.json (s4-bench kernels
# --device cuda: cuda vs torch vs keops vs naive on the GPU), summary.json (exit codes).
# Exits non-zero when a step fails; a step that cannot run is recorded, not hidden.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
OUT_DIR="${1:-$ROOT/bench-results/gpu}"
PY="${PYTHON:-python3}"
mkdir -p "$OUT_DIR"
export PYTHONPATH="$ROOT/packages/ssm-kernels/src:$ROOT/apps/bench/src${PYTHONPATH:+:$PYTHONPATH}"
cd "$ROOT"

"$PY" -m ssm_kernels | tee "$OUT_DIR/report.txt"
rc_report=${PIPESTATUS[0]}

if "$PY" -c "import pytest" 2>/dev/null; then
  "$PY" -m pytest -q -rs -p no:cacheprovider -k cuda \
    packages/ssm-kernels/tests/test_cuda.py packages/ssm-kernels/tests/test_backends.py \
    --junitxml="$OUT_DIR/pytest-cuda.xml" 2>&1 | tee "$OUT_DIR/pytest-cuda.txt"
  rc_tests=${PIPESTATUS[0]}
else
  echo "pytest is not installed: CUDA tests not run" | tee "$OUT_DIR/pytest-cuda.txt"
  rc_tests=127
fi

"$PY" -m s4_bench.kernels --device cuda --N 32,64 --L 1024,4096,16384 --repeats 5 \
  --out "$OUT_DIR/kernels-cuda.json" 2>&1 | tee "$OUT_DIR/kernels-cuda.txt"
rc_bench=${PIPESTATUS[0]}

printf '{"report": %d, "cuda_tests": %d, "bench_kernels_cuda": %d}\n' \
  "$rc_report" "$rc_tests" "$rc_bench" | tee "$OUT_DIR/summary.json"
[ "$rc_report" -eq 0 ] && [ "$rc_tests" -eq 0 ] && [ "$rc_bench" -eq 0 ]
