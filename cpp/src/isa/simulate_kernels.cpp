// Readout dot-product tiles and Gram-column sums compiled once per ISA (NEARORTHO_ISA names the
// namespace). Built with FMA contraction allowed (see CMakeLists.txt): readouts
// agree across ISAs to float tolerance, not bitwise, but each value is one fixed
// chain of operations, so results never depend on threads or tiling.
// Tests: tests/test_simulate.py (ISA forced in turn, numpy oracle).
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "nearortho/simulate_kernels.hpp"

#ifndef NEARORTHO_ISA
#error "compile this file with -DNEARORTHO_ISA=<isa>"
#endif

namespace nearortho {
namespace NEARORTHO_ISA {
namespace {

// 32-byte vectors through GCC/Clang vector extensions: AVX registers in the avx2
// and avx512 builds, pairs of SSE registers in the scalar (baseline x86-64) build.
template <class T> struct Vec;
template <> struct Vec<float> {
  typedef float type __attribute__((vector_size(32)));
  static constexpr int width = 8;
};
template <> struct Vec<double> {
  typedef double type __attribute__((vector_size(32)));
  static constexpr int width = 4;
};

template <class T>
inline typename Vec<T>::type load(const T* p) {
  typename Vec<T>::type v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Lanes summed pairwise in a fixed order, then the scalar tail of the row.
template <class T>
inline T finish(typename Vec<T>::type acc, const T* x, const T* w, std::int64_t from, std::int64_t n) {
  constexpr int L = Vec<T>::width;
  T lanes[L];
  std::memcpy(lanes, &acc, sizeof lanes);
  for (int half = L / 2; half >= 1; half /= 2)
    for (int i = 0; i < half; ++i) lanes[i] += lanes[i + half];
  T s = lanes[0];
  for (std::int64_t k = from; k < n; ++k) s += x[k] * w[k];
  return s;
}

// 4 trials x 3 rows of W: 12 vector accumulators, 7 loads per 12 multiply-adds.
template <class T>
void micro_4x3(const T* X, std::int64_t ldx, const T* W, std::int64_t ldw, std::int64_t n, T* R,
               std::int64_t ldr) {
  using V = typename Vec<T>::type;
  constexpr int L = Vec<T>::width;
  const std::int64_t nv = n / L * L;
  V acc[4][3] = {};
  for (std::int64_t k = 0; k < nv; k += L) {
    const V w0 = load(W + k), w1 = load(W + ldw + k), w2 = load(W + 2 * ldw + k);
    for (int t = 0; t < 4; ++t) {
      const V x = load(X + t * ldx + k);
      acc[t][0] += x * w0;
      acc[t][1] += x * w1;
      acc[t][2] += x * w2;
    }
  }
  for (int t = 0; t < 4; ++t)
    for (int j = 0; j < 3; ++j) R[t * ldr + j] = finish<T>(acc[t][j], X + t * ldx, W + j * ldw, nv, n);
}

// One (trial, row) pair with the same operation chain as micro_4x3 (edges of a tile).
template <class T>
T dot_one(const T* x, const T* w, std::int64_t n) {
  using V = typename Vec<T>::type;
  constexpr int L = Vec<T>::width;
  const std::int64_t nv = n / L * L;
  V acc = {};
  for (std::int64_t k = 0; k < nv; k += L) acc += load(x + k) * load(w + k);
  return finish<T>(acc, x, w, nv, n);
}

// Four trials (X rows, kept in L1) against every row of the W tile (from L2).
template <class T>
void dot_tile(const T* X, std::int64_t ldx, std::int64_t trials, const T* W, std::int64_t ldw,
              std::int64_t rows, std::int64_t n, T* R, std::int64_t ldr) {
  for (std::int64_t t0 = 0; t0 < trials; t0 += 4) {
    const std::int64_t tn = std::min<std::int64_t>(4, trials - t0);
    for (std::int64_t j0 = 0; j0 < rows; j0 += 3) {
      const std::int64_t jn = std::min<std::int64_t>(3, rows - j0);
      if (jn == 3 && tn == 4) {
        micro_4x3(X + t0 * ldx, ldx, W + j0 * ldw, ldw, n, R + t0 * ldr + j0, ldr);
        continue;
      }
      for (std::int64_t t = t0; t < t0 + tn; ++t)
        for (std::int64_t j = j0; j < j0 + jn; ++j) R[t * ldr + j] = dot_one(X + t * ldx, W + j * ldw, n);
    }
  }
}

template <class T>
void gather_sum(const T* G, std::int64_t rows, const std::int64_t* index, const double* value, std::int64_t count,
                T* r) {
  std::fill(r, r + rows, T(0));
  for (std::int64_t k = 0; k < count; ++k) {
    const T* g = G + index[k] * rows;
    const T v = static_cast<T>(value[k]);
    for (std::int64_t j = 0; j < rows; ++j) r[j] += v * g[j];
  }
}

}  // namespace

extern const SimulateKernels kSimulateKernels;
const SimulateKernels kSimulateKernels = {&dot_tile<float>, &dot_tile<double>, &gather_sum<float>,
                                          &gather_sum<double>};

}  // namespace NEARORTHO_ISA
}  // namespace nearortho
