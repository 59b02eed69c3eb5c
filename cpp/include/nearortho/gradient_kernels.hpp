// The per-ISA part of the surrogate gradient: one tile (I, J) of the upper
// triangle, from its Gram block to its weights to both row blocks' gradients
// (cpp/src/isa/gradient_kernels.cpp, compiled once per instruction set;
// cpp/src/gradient.cpp schedules tiles). Tests: tests/test_gradient.py.
#pragma once
#include <cstdint>

#include "nearortho/isa.hpp"
#include "nearortho/interference_kernels.hpp"
#include "nearortho/surrogate_terms.hpp"

namespace nearortho {

// The tile edge is a multiple of every micro-tile height (3, 6, 12 rows) and
// panel width (8, 16); the driver picks it from m alone.
constexpr std::int64_t kGradientTileUnit = 48;
constexpr std::int64_t kMaxGradientEdge = 144;

template <class T>
struct GradientTile {
  const T* rows = nullptr;     // W row-major, ld row stride, rows and columns zero-padded
  const T* panels = nullptr;   // W packed in kPanelRows<T> panels (interference layout)
  std::int64_t panel_stride = 0;
  std::int64_t ld = 0;         // row stride of rows and grad (>= n, a multiple of kPanelRows)
  std::int64_t n = 0;
  std::int64_t m = 0;          // real rows; rows in [m, padded) are zero
  std::int64_t edge = 0;       // tile edge, a multiple of kGradientTileUnit
  std::int64_t i0 = 0, j0 = 0; // first rows of the two blocks, i0 <= j0
  SurrogateTerms<T> terms;
  T* grad = nullptr;           // row-major, ld; rows of both blocks are added to
};

template <class T>
struct GradientScratch {
  T* c = nullptr;              // edge x ldc: the Gram tile, then its weights
  std::int64_t ldc = 0;
  bool* row_nonzero = nullptr; // per micro-tile group of rows / columns of c
  bool* col_nonzero = nullptr;
  double value = 0;            // this tile's surrogate
  T max_abs = -1;              // this thread's best pair so far
  std::int64_t max_i = -1, max_j = -1;
};

struct GradientKernels {
  void (*tile_f32)(const GradientTile<float>& p, GradientScratch<float>& s);
  void (*tile_f64)(const GradientTile<double>& p, GradientScratch<double>& s);
};

const GradientKernels& gradient_kernels(Isa isa);

}  // namespace nearortho
