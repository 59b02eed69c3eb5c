// The per-ISA part of frame generation (cpp/src/isa/frame_kernels.cpp is compiled
// once per instruction set; cpp/src/frame.cpp picks one at run time).
#pragma once
#include <cstdint>

#include "nearortho/isa.hpp"

namespace nearortho {

struct FrameKernels {
  // Gaussian rows, normalised, float32: rows [row_begin, row_end) into out.
  void (*gaussian_rows_f32)(std::uint64_t seed, std::int64_t n, std::int64_t row_begin,
                            std::int64_t row_end, float* out);
  // Block Gram-Schmidt pieces of orthogonal frames (cpp/src/frame.cpp), float64.
  // For j in [j0, j1) (an even count), i < r4 (a multiple of 4) and k in
  // [c0, c1) (c0 a multiple of 4): acc[4 (i p + j) + k % 4] += q_j[k] v_i[k],
  // in increasing k.
  void (*block_dots_f64)(const double* q, std::int64_t n, std::int64_t j0, std::int64_t j1,
                         const double* const* v, std::int64_t r4, std::int64_t c0,
                         std::int64_t c1, std::int64_t p, double* acc);
  // A 4x8 tile: tile[8 t + u] -= c[t][j] packed[8 j + u] for j = 0, 1, ..., p - 1.
  void (*block_update_f64)(const double* packed, std::int64_t p, const double* const* c,
                           double* tile);
};

const FrameKernels& frame_kernels(Isa isa);

}  // namespace nearortho
