// Rows packed for the Gram tile kernel, one block of a row source at a time, and
// the pass over a source that every block's packing needs first (the rows' sums of
// squares, which also finds NaN/Inf and zero rows before any tile is computed).
// Used by cpp/src/interference.cpp. Tests: tests/test_streaming.py,
// tests/test_interference.py.
#pragma once
#include <cstdint>
#include <vector>

#include "nearortho/aligned_buffer.hpp"
#include "nearortho/interrupt_poll.hpp"
#include "nearortho/row_source.hpp"

namespace nearortho {

// Rows [first, first + rows) of a source in 64-byte panels of kPanelRows<T> rows,
// k-major (see interference_kernels.hpp). The panel stride has an odd number of k
// steps, so consecutive panels are never a multiple of 4 KiB apart and the rows of
// one micro-tile do not fight over L1 sets.
template <class T>
struct PackedBlock {
  AlignedArray<T> data;
  std::int64_t stride = 0;
  std::int64_t capacity = 0;        // rows allocated
  const void* source = nullptr;     // what it holds, so a block still packed is reused
  std::int64_t first = -1, rows = 0;
  // float64 sums over the packed rows u_i: of each coordinate, and of u_i . u_j
  // over the pairs i < j. The pass takes the sum of g over a pair of blocks from
  // them (block_pair_sum).
  std::vector<double> coordinate_sums;
  double pair_sum = 0;

  bool holds(const void* src, std::int64_t row0) const { return source == src && first == row0; }
};

// Each row's sum of squares, in float64 over k = 0..n-1 in order (the value
// packing scales by, so every block of a row packs to the same bits). Throws
// std::invalid_argument naming the source and its first bad row, one with NaN/Inf
// or, when normalising, a zero row or a float64 row whose sum of squares over- or
// underflows (the rows after it are not read). Returns early (contents unspecified) once
// poll fires.
template <class T>
std::vector<double> squared_norms(const RowSource<T>& source, bool normalize, int threads,
                                  std::vector<RowBuffer<T>>& buffers, InterruptPoll& poll);

// Packs rows [first, first + rows) of source into block (grown if needed), each
// row times 1 / sqrt(sumsq[row]) when normalising, rounded once to T, and sums
// the packed values (PackedBlock::coordinate_sums, pair_sum) in an order that
// does not depend on the thread count.
template <class T>
void pack_block(const RowSource<T>& source, std::int64_t first, std::int64_t rows,
                const std::vector<double>& sumsq, bool normalize, int threads,
                std::vector<RowBuffer<T>>& buffers, InterruptPoll& poll, PackedBlock<T>& block);

// The sum of g = u_i . u_j over the pairs of two packed blocks, in float64 from
// their sums: sum_i u_i . sum_j u_j, or for the pairs i < j within one block its
// pair_sum. Its error is bounded like that of a float64 sum of the pairs'
// products, far below that of adding the g the tiles rounded to float32, and it
// costs O(n) where adding the g in the tiles cost about 4% of the pass at n = 64.
template <class T>
double block_pair_sum(const PackedBlock<T>& a, const PackedBlock<T>& b);

}  // namespace nearortho
