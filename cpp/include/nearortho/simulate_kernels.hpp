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

// Histogram entries reduced but not yet counted: reduce_inactive appends them and
// the next product counts them between its multiply-adds, where the load and
// store ports have room, instead of after them.
struct PendingEntries {
  std::uint32_t* entry = nullptr;  // the owner's buffer
  std::int64_t n = 0;              // entries in it
  std::int64_t* hist = nullptr;    // where they count (bins + 2 entries)

  void count_from(std::int64_t first) {
    for (std::int64_t i = first; i < n; ++i) ++hist[entry[i]];
    n = 0;
  }
};

// C[(g * kPanelX + r) * ldc + p * kPanelW + c] = <X row, W row> for every X panel
// g < groups and W panel p < panels, over n terms. Each output is one chain of
// multiply-adds in k order (fused where the ISA has FMA), whatever the tiling.
// Counts every pending entry (none when pending is null) before it returns.
template <class T>
using MultiplyPackedFn = void (*)(const T* xp, std::int64_t groups, const T* wp, std::int64_t panels,
                                  std::int64_t n, T* C, std::int64_t ldc, PendingEntries* pending);

// r[j] = sum over k < count (in order) of value[k] * G[index[k] * ldg + j], j < rows:
// a readout from columns of W W^T (the gram path). Multiply-adds in T.
template <class T>
using GatherSumFn = void (*)(const T* G, std::int64_t ldg, std::int64_t rows, const std::int64_t* index,
                             const double* value, std::int64_t count, T* r);

// The decoder and histogram that inactive readouts are reduced into.
struct ReadoutCuts {
  double threshold;     // the decoder says "on" when r > threshold (|r| > threshold if signed)
  bool signed_decoder;
  double lo, scale;     // histogram entry of r: 1 + floor((r - lo) * scale), clamped to [0, bins + 1]
  std::int32_t bins;    // (entry 0 counts underflow, bins + 1 overflow)
};

// Sums over the inactive readouts of one tile.
struct InactiveSums {
  double sum = 0, sumsq = 0;   // float64
  std::int64_t positives = 0;  // readouts the decoder calls on
};

// Reduces the readouts r[0, rows) of features first, first + 1, ..., leaving out
// the features skip[0, skips) (increasing, each inside the tile): returns their
// sums and appends each one's histogram entry to pending (which must have room
// for rows more). Sums are grouped by position in the tile in a fixed way (vector
// lanes of the ISA), so they do not depend on threads; readouts past rows are
// never read.
template <class T>
using ReduceInactiveFn = InactiveSums (*)(const T* r, std::int64_t rows, std::int64_t first,
                                          const std::int64_t* skip, std::int64_t skips, const ReadoutCuts& cuts,
                                          PendingEntries& pending);

struct SimulateKernels {
  MultiplyPackedFn<float> multiply_f32;
  MultiplyPackedFn<double> multiply_f64;
  GatherSumFn<float> gather_sum_f32;
  GatherSumFn<double> gather_sum_f64;
  ReduceInactiveFn<float> reduce_inactive_f32;
  ReduceInactiveFn<double> reduce_inactive_f64;
};

const SimulateKernels& simulate_kernels(Isa isa);

}  // namespace nearortho
