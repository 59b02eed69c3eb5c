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

// Vectors through GCC/Clang vector extensions: 64-byte (one W panel) in the
// avx512 build, else 32-byte (AVX registers in the avx2 build, pairs of SSE
// registers in the scalar one). Each output lane is the same chain of
// multiply-adds whatever the vector width, so the width changes no result.
#if defined(__AVX512F__)
constexpr int kVectorBytes = 64;
constexpr int kMicroPanels = 2;  // 6 x 2 zmm accumulators: 2 loads + 6 broadcasts per 12 FMAs
#else
constexpr int kVectorBytes = 32;
constexpr int kMicroPanels = 1;  // 6 x 2 ymm accumulators
#endif

template <class T>
struct Vec {
  typedef T type __attribute__((vector_size(kVectorBytes)));
  static constexpr int width = kVectorBytes / sizeof(T);
  static constexpr int per_panel = kPanelW<T> / width;  // vectors per W panel row
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

// C (kPanelX rows x P W panels) over kc terms, continuing the chains already in C
// unless first. wp points at the first of the P panels, panel_stride apart.
template <class T, int P>
inline void micro(const T* xp, const T* wp, std::int64_t panel_stride, std::int64_t kc, T* C, std::int64_t ldc,
                  bool first) {
  using V = typename Vec<T>::type;
  constexpr int L = Vec<T>::width;
  constexpr int PV = Vec<T>::per_panel;
  constexpr int NV = P * PV;
  constexpr std::int64_t NR = kPanelW<T>;
  V c[kPanelX][NV];
  for (int r = 0; r < kPanelX; ++r)
    for (int v = 0; v < NV; ++v) c[r][v] = first ? V{} : load(C + r * ldc + (v / PV) * NR + (v % PV) * L);
  for (std::int64_t k = 0; k < kc; ++k) {
    V b[NV];
    for (int v = 0; v < NV; ++v) b[v] = load(wp + (v / PV) * panel_stride + k * NR + (v % PV) * L);
    for (int r = 0; r < kPanelX; ++r) {
      const T a = xp[k * kPanelX + r];
      for (int v = 0; v < NV; ++v) c[r][v] += a * b[v];
    }
  }
  for (int r = 0; r < kPanelX; ++r)
    for (int v = 0; v < NV; ++v) store(C + r * ldc + (v / PV) * NR + (v % PV) * L, c[r][v]);
}

template <class T>
void multiply_packed(const T* xp, std::int64_t groups, const T* wp, std::int64_t panels, std::int64_t n, T* C,
                     std::int64_t ldc) {
  constexpr std::int64_t NR = kPanelW<T>;
  for (std::int64_t kb = 0; kb < n; kb += kKC) {
    const std::int64_t kc = std::min(kKC, n - kb);
    for (std::int64_t p = 0; p < panels;) {
      const bool wide = p + kMicroPanels <= panels;
      for (std::int64_t g = 0; g < groups; ++g) {
        const T* x = xp + (g * n + kb) * kPanelX;
        const T* w = wp + (p * n + kb) * NR;
        T* c = C + g * kPanelX * ldc + p * NR;
        if (wide)
          micro<T, kMicroPanels>(x, w, n * NR, kc, c, ldc, kb == 0);
        else
          micro<T, 1>(x, w, n * NR, kc, c, ldc, kb == 0);
      }
      p += wide ? kMicroPanels : 1;
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
