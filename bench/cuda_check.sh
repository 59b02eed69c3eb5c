#!/usr/bin/env bash
# On a machine with an NVIDIA GPU, its CUDA toolkit, torch with CUDA and the
# test dependencies: build nearortho with the CUDA backend into the current
# Python, run the cuda tests, the whole suite (backend="auto" then takes the
# GPU wherever _cuda implements an operation), the GPU benchmark, and on an
# AVX-512 host the CPU kernels forced to AVX-512 (tests and bench_simulate).
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
# Each step has a time limit, so one hang cannot spend the lease; the tests' whole
# output goes to the logs, the tool's tail keeps the summaries and failures.
step() { echo "== $1: $((SECONDS - start)) s"; }
step "cuda tests"
timeout 300 python3 -m pytest -q -p no:cacheprovider -m cuda --timeout 120 tests/test_cuda.py >"$logs/test_cuda.txt" 2>&1
grep -E "^(FAILED|ERROR)|passed|failed" "$logs/test_cuda.txt" | tail -15
step "AVX-512 CPU kernels (issue 9), 2 threads"
if grep -q avx512f /proc/cpuinfo; then
  NEARORTHO_BACKEND=cpu NEARORTHO_MAX_ISA=avx512 timeout 120 python3 -m pytest -q -p no:cacheprovider \
    tests/test_simulate.py tests/test_interference.py tests/test_gradient.py >"$logs/test_avx512.txt" 2>&1
  grep -E "^(FAILED|ERROR)|passed|failed" "$logs/test_avx512.txt" | tail -5
  OPENBLAS_NUM_THREADS=2 timeout 180 taskset -c 0,1 python3 bench/bench_simulate.py --quick --threads 2 \
    --isa avx512,avx2 --json "$logs/simulate.json" 2>&1 | tail -12
fi
step "GPU benchmark"
timeout 480 python3 bench/bench_cuda.py --json "$logs/cuda.json" "$@" 2>&1 | tee "$logs/bench.txt" | grep -v ": "
step "whole suite"
python3 -m pytest -q -p no:cacheprovider --maxfail 40 --timeout 300 tests >"$logs/suite.txt" 2>&1
grep -E "^(FAILED|ERROR)|passed|failed" "$logs/suite.txt" | tail -25
step "done"
