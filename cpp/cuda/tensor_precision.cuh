// The tensor-core precisions of the CUDA pass (precision "tf32" or "bf16"): how
// the rows enter cuBLAS's GEMM and the bound on each Gram entry's error that the
// re-check (device_recheck.cuh) works with. Tests: tests/test_cuda.py.
#pragma once
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <cuda_bf16.h>

#include "device_buffers.cuh"

namespace nearortho::cuda {

// The tensor-core precisions: how the rows enter the product, and the bound on
// |h - g| for rows of norm 1 (h: the tile's entry, g: the float64 dot product).
// Each input is rounded to p bits (TF32 p = 11, possibly by truncation: relative
// 2^-10; bf16 p = 8, rounded to nearest by bf16_rows: 2^-8), so a product is off
// by (2u + u^2) of |x_k y_k|; the float32 accumulation of n products adds at
// most n 2^-23 of sum |x_k y_k| (truncating adds included), doubled for the
// tensor cores' blocked sums; sum |x_k y_k| <= |x| |y|.
struct TensorPrecision {
  cudaDataType input;
  cublasComputeType_t compute;
  double unit;  // u

  static std::optional<TensorPrecision> parse(const std::string& name) {
    if (name.empty()) return std::nullopt;
    if (name == "tf32") return TensorPrecision{CUDA_R_32F, CUBLAS_COMPUTE_32F_FAST_TF32, std::ldexp(1.0, -10)};
    if (name == "bf16") return TensorPrecision{CUDA_R_16BF, CUBLAS_COMPUTE_32F, std::ldexp(1.0, -8)};
    throw std::invalid_argument("precision must be \"\", \"tf32\" or \"bf16\", got \"" + name + "\"");
  }

  double delta(std::int64_t n, double norm_product) const {
    const double per_unit_norms = 2 * unit + unit * unit + static_cast<double>(n + 2) * std::ldexp(1.0, -22);
    return per_unit_norms * norm_product * (1 + std::ldexp(1.0, -20)) + static_cast<double>(n) * 2 * FLT_MIN;
  }
};

// The largest norm of a side's prepared rows: about 1 when normalised.
inline double largest_norm(const std::vector<double>& sumsq, bool normalize, std::int64_t n) {
  if (normalize) return 1 + static_cast<double>(n + 2) * std::ldexp(1.0, -24);
  return std::sqrt(*std::max_element(sumsq.begin(), sumsq.end()));
}

// static: one copy per translation unit that includes this header
static __global__ void bf16_rows(const float* x, __nv_bfloat16* y, std::int64_t count) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < count;
       i += std::int64_t{gridDim.x} * blockDim.x)
    y[i] = __float2bfloat16_rn(x[i]);
}

// The rows as a tensor-core GEMM reads them: the float rows themselves (TF32),
// or their bfloat16 copy.
class TensorRows {
 public:
  TensorRows(const TensorPrecision& p, const float* x, std::int64_t count, cudaStream_t s)
      : x_(x), copy_(p.input == CUDA_R_16BF ? static_cast<std::size_t>(count) : 0) {
    if (copy_.size() == 0) return;
    bf16_rows<<<blocks_for(count), kThreads, 0, s>>>(x, copy_.get(), count);
    check_launch("bf16_rows");
  }
  // Row `row` of length n.
  const void* row(std::int64_t row, std::int64_t n) const {
    if (copy_.size() > 0) return copy_.get() + row * n;
    return x_ + row * n;
  }

 private:
  const float* x_;
  DeviceBuffer<__nv_bfloat16> copy_;
};

// g = x y^T on tensor cores (see gram_tile), float32 out.
inline void gram_tile_tensor(cublasHandle_t handle, const TensorPrecision& p, const void* x, std::int64_t rows,
                      const void* y, std::int64_t cols, std::int64_t n, float* g) {
  const float one = 1, zero = 0;
  const int c = static_cast<int>(cols), r = static_cast<int>(rows), k = static_cast<int>(n);
  check(cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, c, r, k, &one, y, p.input, k, x, p.input, k, &zero, g,
                     CUDA_R_32F, c, p.compute, CUBLAS_GEMM_DEFAULT),
        "cublasGemmEx");
}

}  // namespace nearortho::cuda
