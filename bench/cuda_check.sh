#!/usr/bin/env bash
# On a machine with an NVIDIA GPU, its CUDA toolkit, torch with CUDA and the
# test dependencies: build nearortho with the CUDA backend into the current
# Python, then run one part of the checks, each under 540 s so that it fits one
# call of a lent machine (later parts reuse the build in build/cuda):
#     bash bench/cuda_check.sh LOGDIR tests            # build, the cuda tests, the AVX-512 CPU kernels
#     bash bench/cuda_check.sh LOGDIR bench [args...]  # build (kept), bench/bench_cuda.py with args
#     bash bench/cuda_check.sh LOGDIR suite            # build (kept), the whole suite ("auto" takes the GPU)
# Logs and the benchmark's JSON go to LOGDIR (under $OUT on a lent machine, so
# they come back); the output keeps the summaries, failures and step times.
set -uo pipefail
cd "$(dirname "$0")/.."
logs=${1:?usage: bash bench/cuda_check.sh LOGDIR tests|bench|suite [bench_cuda.py arguments]}
part=${2:?usage: bash bench/cuda_check.sh LOGDIR tests|bench|suite [bench_cuda.py arguments]}
shift 2
mkdir -p "$logs"
export PYTHONUNBUFFERED=1
start=$SECONDS
step() { echo "== $1: $((SECONDS - start)) s"; }
summary() { grep -E "^(FAILED|ERROR)|passed|failed" "$1" | tail -"${2:-15}"; }

nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm --format=csv | tee "$logs/gpu.txt"
python3 -m pip install --no-build-isolation --no-deps -q -Cbuild-dir=build/cuda \
  -Ccmake.define.NEARORTHO_CUDA=ON -Ccmake.define.CMAKE_CUDA_ARCHITECTURES=90 . >"$logs/build.txt" 2>&1 \
  || { tail -40 "$logs/build.txt"; exit 1; }
step "built"
python3 -c "from nearortho import _cuda; print('device_count', _cuda.device_count())"

case $part in
  tests)
    timeout 300 python3 -m pytest -q -p no:cacheprovider -m cuda --timeout 120 tests/test_cuda.py \
      >"$logs/test_cuda.txt" 2>&1
    summary "$logs/test_cuda.txt"
    step "cuda tests"
    if grep -q avx512f /proc/cpuinfo; then  # issue 9: the AVX-512 kernels, 2 threads as on a 2-core machine
      NEARORTHO_BACKEND=cpu NEARORTHO_MAX_ISA=avx512 timeout 60 python3 -m pytest -q -p no:cacheprovider \
        tests/test_simulate.py tests/test_interference.py tests/test_gradient.py >"$logs/test_avx512.txt" 2>&1
      summary "$logs/test_avx512.txt" 5
      OPENBLAS_NUM_THREADS=2 timeout 90 taskset -c 0,1 python3 bench/bench_simulate.py --quick --threads 2 \
        --isa avx512,avx2 --json "$logs/simulate.json" 2>&1 | tail -12
      step "AVX-512 CPU kernels"
    fi
    ;;
  bench)
    timeout 480 python3 bench/bench_cuda.py --json "$logs/cuda.json" "$@" 2>&1 | tee "$logs/bench.txt" | grep -v ": "
    step "GPU benchmark"
    ;;
  suite)
    timeout 480 python3 -m pytest -q -p no:cacheprovider --maxfail 40 --timeout 120 tests >"$logs/suite.txt" 2>&1
    summary "$logs/suite.txt" 25
    step "whole suite"
    ;;
  *)
    echo "unknown part $part: tests, bench or suite"
    exit 2
    ;;
esac
