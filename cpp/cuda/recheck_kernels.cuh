// The re-check of a pass whose Gram tiles come from tensor cores (precision
// "tf32" or "bf16", cpp/cuda/interference.cu). Each approximate entry h of a
// tile is within delta of g, the float64 dot product of the rows. After a
// tile's reductions have updated the running results (which only improve), an
// entry is a candidate when it lies within 2 delta below its row's or column's
// running best |g|, k-th best |g| or best g, or within delta below the pairs'
// threshold. The exact best of every row is always a candidate: if j is the
// row's exact argmax and j' its approximate one, |h_j| >= |g_j| - delta >=
// |g_j'| - delta >= |h_j'| - 2 delta, and |h_j'| bounds every running best. The
// same holds for the k best and for signed maxima. As the running results rise,
// candidates that no longer pass are dropped (keep_candidates: whenever the
// buffer is half full, and at the end); the rest have their g computed in
// float64, and the exact fields are taken from them (recheck.cpp).
// Tests: tests/test_cuda.py.
#pragma once
#include <cstdint>

#include "interference_kernels.cuh"

namespace nearortho::cuda {

// Where candidates go: (i, j) with i a row of A, j of B (or of A, i < j).
struct Candidates {
  double margin;          // 2 delta
  double pair_floor;      // pairs' threshold - delta (+infinity: no pairs collected)
  bool pair_signed;
  unsigned long long cap;
  unsigned long long* count;  // found so far (may pass cap: then nothing past it is kept)
  std::int64_t* i;
  std::int64_t* j;
  float* h;               // the tile's entry
  double* row_floor;      // per tile row: |h| from here on is a candidate (2 x kTile:
  double* column_floor;   //   |h| floors, then h floors), likewise per tile column
};

// Whether an entry h passes the floors of its row (a_floor, s_floor: of |h| and
// of h), of its column, or the pairs' threshold.
__device__ inline bool passes(const Candidates& cand, double h, double row_abs, double row_signed, double col_abs,
                              double col_signed) {
  const double a = fabs(h);
  return a >= row_abs || h >= row_signed || a >= col_abs || h >= col_signed ||
         (cand.pair_signed ? h : a) >= cand.pair_floor;
}

// Appends (i, j, h) at a slot (nothing past the cap).
__device__ inline void keep(const Candidates& cand, unsigned long long slot, std::int64_t i, std::int64_t j, float h) {
  if (slot >= cand.cap) return;
  cand.i[slot] = i;
  cand.j[slot] = j;
  cand.h[slot] = h;
}

// The lowest |h| and the lowest h that make a candidate for one row of a side,
// from its running results (a result the pass does not keep: +infinity).
template <class T>
__device__ void side_floors(const SideResults<T>& side, std::int64_t row, std::int64_t k, double margin,
                            double* abs_floor, double* signed_floor) {
  double floor = INFINITY;
  if (side.best != nullptr) floor = side.best_index[row] < 0 ? -INFINITY : static_cast<double>(side.best[row]);
  if (k > 0) {
    const std::int64_t last = row * k + k - 1;  // an unfilled list takes every partner
    floor = fmin(floor, side.topk_index[last] < 0 ? -INFINITY : static_cast<double>(fabs(side.topk_value[last])));
  }
  *abs_floor = floor - margin;
  *signed_floor = side.signed_best == nullptr ? INFINITY
                  : side.signed_index[row] < 0 ? -INFINITY
                                               : static_cast<double>(side.signed_best[row]) - margin;
}

// Floors of the tile's rows (side "rows") and columns (side "cols"), one thread each.
template <class T>
__global__ void tile_floors(Tile<T> tile, Reduction<T> red, Candidates cand, bool columns) {
  const std::int64_t t = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x;
  if (t < tile.rows)
    side_floors(red.rows, tile.i0 + t, red.topk, cand.margin, cand.row_floor + t, cand.row_floor + kTile + t);
  if (t < tile.cols) {
    if (columns)
      side_floors(red.cols, tile.j0 + t, red.topk, cand.margin, cand.column_floor + t,
                  cand.column_floor + kTile + t);
    else
      cand.column_floor[t] = cand.column_floor[kTile + t] = INFINITY;
  }
}

// One warp per tile row: appends the tile's candidates (a warp reserves its
// lanes' slots with one atomic).
template <class T>
__global__ void collect_candidates(Tile<T> tile, Candidates cand) {
  const int lane = threadIdx.x % 32;
  const std::int64_t r = blockIdx.x * std::int64_t{kWarps} + threadIdx.x / 32;
  if (r >= tile.rows) return;  // whole warps only
  const double row_abs = cand.row_floor[r], row_signed = cand.row_floor[kTile + r];
  const T* g = tile.g + r * tile.cols;
  for (std::int64_t base = tile.diagonal ? r + 1 : 0; base < tile.cols; base += 32) {
    const std::int64_t c = base + lane;
    const bool hit = c < tile.cols && passes(cand, static_cast<double>(g[c]), row_abs, row_signed,
                                             cand.column_floor[c], cand.column_floor[kTile + c]);
    const unsigned hits = __ballot_sync(kFullMask, hit);
    if (hits == 0) continue;
    const int leader = __ffs(hits) - 1;
    unsigned long long slot = 0;
    if (lane == leader) slot = atomicAdd(cand.count, static_cast<unsigned long long>(__popc(hits)));
    slot = __shfl_sync(kFullMask, slot, leader) + __popc(hits & ((1u << lane) - 1));
    if (hit) keep(cand, slot, tile.i0 + r, tile.j0 + c, static_cast<float>(g[c]));
  }
}

// The `count` candidates of `from` that pass the floors of now into `to` (the
// floors only rise: a candidate dropped now would never pass again).
template <class T>
__global__ void keep_candidates(Reduction<T> red, bool columns, Candidates from, std::int64_t count, Candidates to) {
  for (std::int64_t p = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; p < count;
       p += std::int64_t{gridDim.x} * blockDim.x) {
    double row_abs, row_signed, col_abs = INFINITY, col_signed = INFINITY;
    side_floors(red.rows, from.i[p], red.topk, from.margin, &row_abs, &row_signed);
    if (columns) side_floors(red.cols, from.j[p], red.topk, from.margin, &col_abs, &col_signed);
    if (passes(from, static_cast<double>(from.h[p]), row_abs, row_signed, col_abs, col_signed))
      keep(to, atomicAdd(to.count, 1ull), from.i[p], from.j[p], from.h[p]);
  }
}

// g of every candidate in float64 from the (float32) rows, one warp each: lanes
// take every 32nd coordinate, then a fixed tree, so a pair's g does not depend
// on where it was found.
template <class T>
__global__ void exact_dots(const T* a, const T* b, std::int64_t n, const std::int64_t* i, const std::int64_t* j,
                           std::int64_t count, double* g) {
  const int lane = threadIdx.x % 32;
  const std::int64_t warps = std::int64_t{gridDim.x} * kWarps;
  for (std::int64_t p = blockIdx.x * std::int64_t{kWarps} + threadIdx.x / 32; p < count; p += warps) {
    const T* x = a + i[p] * n;
    const T* y = b + j[p] * n;
    double sum = 0;
    for (std::int64_t k = lane; k < n; k += 32) sum = fma(static_cast<double>(x[k]), static_cast<double>(y[k]), sum);
    sum = warp_sum(sum);
    if (lane == 0) g[p] = sum;
  }
}

}  // namespace nearortho::cuda
