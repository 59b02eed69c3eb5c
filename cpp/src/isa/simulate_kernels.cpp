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

// Vectors through GCC/Clang vector extensions, as wide as the ISA's registers. A
// micro-tile is kPanelX rows by kMicroVectors vectors (12 accumulators, which fit
// the 16 registers of SSE2 and AVX2 beside the loads): half a W panel on SSE2,
// one on AVX2, two on AVX-512. Each output lane is the same chain of
// multiply-adds whatever the width, so the width changes no result.
#if defined(__AVX512F__)
constexpr int kVectorBytes = 64;
#elif defined(__AVX2__)
constexpr int kVectorBytes = 32;
#else
constexpr int kVectorBytes = 16;
#endif
constexpr int kMicroVectors = 2;

template <class T>
struct Vec {
  typedef T type __attribute__((vector_size(kVectorBytes)));
  static constexpr int width = kVectorBytes / sizeof(T);
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

constexpr std::int64_t kKC = 256;  // inner-dimension block: kKC x 16 floats of each W panel stay in L1

// C (kPanelX rows x NV vectors from column col0) over kc terms, continuing the
// chains already in C unless first. Column c of the packed W lives in panel
// c / kPanelW at offset c % kPanelW; panels are panel_stride apart.
template <class T, int NV>
inline void micro(const T* xp, const T* wp, std::int64_t panel_stride, std::int64_t col0, std::int64_t kc, T* C,
                  std::int64_t ldc, bool first) {
  using V = typename Vec<T>::type;
  constexpr int L = Vec<T>::width;
  constexpr std::int64_t NR = kPanelW<T>;
  const T* w[NV];
  for (int v = 0; v < NV; ++v) {
    const std::int64_t col = col0 + v * L;
    w[v] = wp + (col / NR) * panel_stride + col % NR;
  }
  V c[kPanelX][NV];
  for (int r = 0; r < kPanelX; ++r)
    for (int v = 0; v < NV; ++v) c[r][v] = first ? V{} : load(C + r * ldc + col0 + v * L);
  for (std::int64_t k = 0; k < kc; ++k) {
    V b[NV];
    for (int v = 0; v < NV; ++v) b[v] = load(w[v] + k * NR);
    for (int r = 0; r < kPanelX; ++r) {
      const T a = xp[k * kPanelX + r];
      for (int v = 0; v < NV; ++v) c[r][v] += a * b[v];
    }
  }
  for (int r = 0; r < kPanelX; ++r)
    for (int v = 0; v < NV; ++v) store(C + r * ldc + col0 + v * L, c[r][v]);
}

template <class T>
void multiply_packed(const T* xp, std::int64_t groups, const T* wp, std::int64_t panels, std::int64_t n, T* C,
                     std::int64_t ldc) {
  constexpr std::int64_t NR = kPanelW<T>;
  constexpr std::int64_t L = Vec<T>::width;
  static_assert(NR % L == 0, "a W panel is whole vectors");
  const std::int64_t cols = panels * NR;
  for (std::int64_t kb = 0; kb < n; kb += kKC) {
    const std::int64_t kc = std::min(kKC, n - kb);
    for (std::int64_t c0 = 0; c0 < cols;) {
      const bool wide = c0 + kMicroVectors * L <= cols;  // AVX-512: not past an odd last panel
      for (std::int64_t g = 0; g < groups; ++g) {
        const T* x = xp + (g * n + kb) * kPanelX;
        T* c = C + g * kPanelX * ldc;
        if (wide)
          micro<T, kMicroVectors>(x, wp + kb * NR, n * NR, c0, kc, c, ldc, kb == 0);
        else
          micro<T, 1>(x, wp + kb * NR, n * NR, c0, kc, c, ldc, kb == 0);
      }
      c0 += wide ? kMicroVectors * L : L;
    }
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
