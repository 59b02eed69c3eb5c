// Readout products of packed panels and Gram-column sums compiled once per ISA
// (NEARORTHO_ISA names the namespace). Built with FMA contraction allowed (see CMakeLists.txt): readouts
// agree across ISAs to float tolerance, not bitwise, but each value is one fixed
// chain of operations in k order, so results never depend on threads or tiling.
// Tests: tests/test_simulate.py (ISA forced in turn, numpy oracle).
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "nearortho/isa_kernel_file.hpp"
#include "nearortho/simulate_kernels.hpp"

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

template <class T>
inline void store(T* p, typename Vec<T>::type v) {
  std::memcpy(p, &v, sizeof v);
}

constexpr std::int64_t kKC = 256;  // inner-dimension block: a W panel of kKC x 16 floats stays in L1

// C (kPanelX rows x 2 vectors) over kc terms, continuing the chains already in C
// unless first.
template <class T>
inline void micro(const T* xp, const T* wp, std::int64_t kc, T* C, std::int64_t ldc, bool first) {
  using V = typename Vec<T>::type;
  constexpr int L = Vec<T>::width;
  static_assert(2 * L == kPanelW<T>, "a W panel is two vectors wide");
  V c[kPanelX][2];
  for (int r = 0; r < kPanelX; ++r) {
    c[r][0] = first ? V{} : load(C + r * ldc);
    c[r][1] = first ? V{} : load(C + r * ldc + L);
  }
  for (std::int64_t k = 0; k < kc; ++k) {
    const V b0 = load(wp + k * 2 * L), b1 = load(wp + k * 2 * L + L);
    for (int r = 0; r < kPanelX; ++r) {
      const T a = xp[k * kPanelX + r];
      c[r][0] += a * b0;
      c[r][1] += a * b1;
    }
  }
  for (int r = 0; r < kPanelX; ++r) {
    store(C + r * ldc, c[r][0]);
    store(C + r * ldc + L, c[r][1]);
  }
}

template <class T>
void multiply_packed(const T* xp, std::int64_t groups, const T* wp, std::int64_t panels, std::int64_t n, T* C,
                     std::int64_t ldc) {
  for (std::int64_t kb = 0; kb < n; kb += kKC) {
    const std::int64_t kc = std::min(kKC, n - kb);
    for (std::int64_t p = 0; p < panels; ++p)
      for (std::int64_t g = 0; g < groups; ++g)
        micro(xp + (g * n + kb) * kPanelX, wp + (p * n + kb) * kPanelW<T>, kc, C + g * kPanelX * ldc + p * kPanelW<T>,
              ldc, kb == 0);
  }
}

template <class T>
void gather_sum(const T* G, std::int64_t ldg, std::int64_t rows, const std::int64_t* index, const double* value,
                std::int64_t count, T* r) {
  std::fill(r, r + rows, T(0));
  for (std::int64_t k = 0; k < count; ++k) {
    const T* g = G + index[k] * ldg;
    const T v = static_cast<T>(value[k]);
    for (std::int64_t j = 0; j < rows; ++j) r[j] += v * g[j];
  }
}

}  // namespace

extern const SimulateKernels kSimulateKernels;
const SimulateKernels kSimulateKernels = {&multiply_packed<float>, &multiply_packed<double>, &gather_sum<float>,
                                          &gather_sum<double>};

}  // namespace NEARORTHO_ISA
}  // namespace nearortho
