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
};

const FrameKernels& frame_kernels(Isa isa);

}  // namespace nearortho
