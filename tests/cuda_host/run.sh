#!/usr/bin/env bash
# Builds and runs pass_rows_check.cu against the fake CUDA runtime (no GPU):
#     bash tests/cuda_host/run.sh CUDA_ROOT BUILD_DIR
# CUDA_ROOT holds bin/nvcc and include/; BUILD_DIR a CMake build of the package
# (its libnearortho_core.a). Called by .ci/cuda-build.
set -euo pipefail
cuda=$(cd "$1" && pwd)
core=$(cd "$2" && pwd)/libnearortho_core.a
cd "$(dirname "$0")"
root=../..
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$cuda/bin/nvcc" -std=c++17 -arch=sm_90 -I "$root/cpp/include" -I "$root/cpp/cuda" -I "$cuda/include" \
  -c pass_rows_check.cu -o "$out/check.o"
for source in fake_cudart.cpp "$root/cpp/cuda/stream_plan.cpp" "$root/cpp/cuda/host_norms.cpp"; do
  g++ -std=c++17 -O1 -fopenmp -I "$root/cpp/include" -I "$cuda/include" -c "$source" -o "$out/$(basename "$source").o"
done
g++ -fopenmp -o "$out/check" "$out"/*.o "$core"
(cd "$out" && ./check)
