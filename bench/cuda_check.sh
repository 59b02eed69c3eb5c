#!/usr/bin/env bash
# On a machine with an NVIDIA GPU, its CUDA toolkit, torch with CUDA and the
# test dependencies: build nearortho with the CUDA backend into the current
# Python, run the cuda tests, the whole suite (backend="auto" then takes the
# GPU wherever _cuda implements an operation), and the GPU benchmark.
#     bash bench/cuda_check.sh LOGDIR [benchmark arguments...]
# Logs and the benchmark's JSON go to LOGDIR.
set -uo pipefail
cd "$(dirname "$0")/.."
logs=${1:?usage: bash bench/cuda_check.sh LOGDIR [bench_cuda.py arguments]}
shift
mkdir -p "$logs"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm --format=csv | tee "$logs/gpu.txt"
start=$SECONDS
python3 -m pip install --no-build-isolation --no-deps -q -Cbuild-dir=build/cuda \
  -Ccmake.define.NEARORTHO_CUDA=ON -Ccmake.define.CMAKE_CUDA_ARCHITECTURES=90 . >"$logs/build.txt" 2>&1 \
  || { tail -40 "$logs/build.txt"; exit 1; }
echo "build: $((SECONDS - start)) s"
python3 -c "from nearortho import _cuda; print('device_count', _cuda.device_count())"
# the tests' whole output goes to the logs; the tool's tail keeps the summary and failures
python3 -m pytest -q -p no:cacheprovider -m cuda tests/test_cuda.py >"$logs/test_cuda.txt" 2>&1
grep -E "^(FAILED|ERROR)|passed|failed" "$logs/test_cuda.txt" | tail -15
python3 bench/bench_cuda.py --json "$logs/cuda.json" "$@" 2>&1 | tee "$logs/bench.txt" | grep -v ": "
python3 -m pytest -q -p no:cacheprovider --maxfail 40 --timeout 300 tests >"$logs/suite.txt" 2>&1
grep -E "^(FAILED|ERROR)|passed|failed" "$logs/suite.txt" | tail -25
