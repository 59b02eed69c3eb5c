// A cuBLAS handle owned for one call, and the one GEMM wrapper the backend's
// passes use (float or double by the element type). Tests: tests/test_cuda.py.
#pragma once
#include <cublas_v2.h>

#include <cstdint>
#include <type_traits>

#include "cuda_check.hpp"

namespace nearortho::cuda {

class Cublas {
 public:
  explicit Cublas(cudaStream_t stream) {
    check(cublasCreate(&handle_), "cublasCreate");
    // float32 means float32 here: no TF32 tensor-core rounding behind the caller's back
    cublasStatus_t status = cublasSetMathMode(handle_, CUBLAS_DEFAULT_MATH);
    if (status == CUBLAS_STATUS_SUCCESS) status = cublasSetStream(handle_, stream);
    if (status != CUBLAS_STATUS_SUCCESS) {
      cublasDestroy(handle_);
      check(status, "cublasSetMathMode / cublasSetStream");
    }
  }
  ~Cublas() { cublasDestroy(handle_); }
  Cublas(const Cublas&) = delete;
  Cublas& operator=(const Cublas&) = delete;
  cublasHandle_t get() const { return handle_; }

 private:
  cublasHandle_t handle_ = nullptr;
};

// C = alpha op(A) op(B) + beta C in cuBLAS's column-major terms.
template <class T>
void gemm(cublasHandle_t handle, cublasOperation_t op_a, cublasOperation_t op_b, int m, int n, int k, T alpha,
          const T* a, int lda, const T* b, int ldb, T beta, T* c, int ldc) {
  if constexpr (std::is_same_v<T, float>)
    check(cublasSgemm(handle, op_a, op_b, m, n, k, &alpha, a, lda, b, ldb, &beta, c, ldc), "cublasSgemm");
  else
    check(cublasDgemm(handle, op_a, op_b, m, n, k, &alpha, a, lda, b, ldb, &beta, c, ldc), "cublasDgemm");
}

// g = x y^T for row blocks x (rows x n) and y (cols x n), row-major, into g
// (rows x cols, row-major): in cuBLAS's column-major terms g^T = y x^T.
template <class T>
void gram_tile(cublasHandle_t handle, const T* x, std::int64_t rows, const T* y, std::int64_t cols,
               std::int64_t n, T* g) {
  const int c = static_cast<int>(cols), r = static_cast<int>(rows), k = static_cast<int>(n);
  gemm<T>(handle, CUBLAS_OP_T, CUBLAS_OP_N, c, r, k, T(1), y, k, x, k, T(0), g, c);
}

}  // namespace nearortho::cuda
