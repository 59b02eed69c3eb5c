// The per-ISA part of the readout Monte Carlo (cpp/src/isa/simulate_kernels.cpp is
// compiled once per instruction set; cpp/src/simulate.cpp picks one at run time).
#pragma once
#include <cstdint>

#include "nearortho/isa.hpp"

namespace nearortho {

// R[t * ldr + j] = <X[t * ldx ..], W[j * ldw ..]> over n terms, t < trials, j < rows.
// Each value is one fixed chain of (fused, where the ISA has FMA) multiply-adds in
// vector lanes, summed across lanes in a fixed order: independent of tiling.
template <class T>
using DotTileFn = void (*)(const T* X, std::int64_t ldx, std::int64_t trials, const T* W,
                           std::int64_t ldw, std::int64_t rows, std::int64_t n, T* R,
                           std::int64_t ldr);

// r[j] = sum over k < count (in order) of value[k] * G[index[k] * rows + j], j < rows:
// a readout from columns of W W^T (the gram path). Multiply-adds in T.
template <class T>
using GatherSumFn = void (*)(const T* G, std::int64_t rows, const std::int64_t* index, const double* value,
                             std::int64_t count, T* r);

struct SimulateKernels {
  DotTileFn<float> dot_tile_f32;
  DotTileFn<double> dot_tile_f64;
  GatherSumFn<float> gather_sum_f32;
  GatherSumFn<double> gather_sum_f64;
};

const SimulateKernels& simulate_kernels(Isa isa);

}  // namespace nearortho
