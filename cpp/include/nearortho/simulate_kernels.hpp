// The per-ISA part of the readout Monte Carlo (cpp/src/isa/simulate_kernels.cpp is
// compiled once per instruction set; cpp/src/simulate.cpp picks one at run time).
#pragma once
#include <cstdint>

#include "nearortho/isa.hpp"

namespace nearortho {

// Packed operands of the readout product. An X panel holds kPanelX rows and a W
// panel kPanelW<T> rows, k-major: panel[k * width + r] = row r's entry k, zero
// rows past the end. Widths are fixed (32-byte vectors) so results never depend
// on the ISA's tiling.
constexpr std::int64_t kPanelX = 6;
template <class T>
constexpr std::int64_t kPanelW = 64 / sizeof(T);  // two 32-byte vectors: 16 floats, 8 doubles

// C[(g * kPanelX + r) * ldc + p * kPanelW + c] = <X row, W row> for every X panel
// g < groups and W panel p < panels, over n terms. Each output is one chain of
// multiply-adds in k order (fused where the ISA has FMA), whatever the tiling.
template <class T>
using MultiplyPackedFn = void (*)(const T* xp, std::int64_t groups, const T* wp, std::int64_t panels,
                                  std::int64_t n, T* C, std::int64_t ldc);

// r[j] = sum over k < count (in order) of value[k] * G[index[k] * ldg + j], j < rows:
// a readout from columns of W W^T (the gram path). Multiply-adds in T.
template <class T>
using GatherSumFn = void (*)(const T* G, std::int64_t ldg, std::int64_t rows, const std::int64_t* index,
                             const double* value, std::int64_t count, T* r);

struct SimulateKernels {
  MultiplyPackedFn<float> multiply_f32;
  MultiplyPackedFn<double> multiply_f64;
  GatherSumFn<float> gather_sum_f32;
  GatherSumFn<double> gather_sum_f64;
};

const SimulateKernels& simulate_kernels(Isa isa);

}  // namespace nearortho
