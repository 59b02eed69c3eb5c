// The device kernels of the CUDA interference pass (cpp/cuda/interference.cu):
// row preparation, and the reductions of one finished Gram tile. Every ranking
// is ranking.hpp's (larger key, then smaller index), so maxima, their partners,
// top-k and counts are the CPU's whenever the Gram entries are. Tests:
// tests/test_cuda.py.
#pragma once
#include <cfloat>
#include <cstdint>

namespace nearortho::cuda {

constexpr std::int64_t kTile = 4096;  // Gram tile edge: a 64 MiB float workspace
constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;  // rows per block of the row kernels
constexpr unsigned kFullMask = 0xffffffffu;

// The tile reductions are bound by the latency of their loads (Nsight Compute on
// an H100: most stalls wait on them), so a thread issues the loads of its next
// kUnroll entries together and then reduces them in their order.
constexpr int kUnroll = 4;

// The candidate (key, index) ranks before (key2, index2); index -1 is empty.
template <class T, class Index>
__device__ bool better(T key, Index index, T key2, Index index2) {
  return index >= 0 && (index2 < 0 || key > key2 || (key == key2 && index < index2));
}

// Row sums of squares in float64 in the CPU's order (k = 0, 1, ...), without
// contraction, then the rows scaled by 1 / norm when normalising; sumsq[i] and,
// in first[kBadValue..kUnscalableRow], the first row with NaN/Inf, the first zero
// row and the first nonzero row whose sum of squares is not a normal float64, as
// the CPU's squared_norms() and pack_block() (cpp/src/packed_rows.cpp) find them.
enum BadRowFlag { kBadValue, kZeroRow, kUnscalableRow, kBadRowFlags };

template <class T>
__global__ void prepare_rows(T* x, std::int64_t m, std::int64_t n, bool normalize, double* sumsq,
                             unsigned long long* first) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < m;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    T* row = x + i * n;
    double sq = 0;
    bool finite = true, nonzero = false;
    for (std::int64_t k = 0; k < n; ++k) {
      finite &= isfinite(row[k]);
      nonzero |= row[k] != T(0);
      const double v = static_cast<double>(row[k]);
      sq = __dadd_rn(sq, __dmul_rn(v, v));
    }
    if (!finite) {
      atomicMin(first + kBadValue, static_cast<unsigned long long>(i));
      continue;
    }
    sumsq[i] = sq;
    if (!normalize) continue;
    if (!nonzero) {
      atomicMin(first + kZeroRow, static_cast<unsigned long long>(i));
      continue;
    }
    if (!(sq >= DBL_MIN && sq <= DBL_MAX)) {  // 1 / sqrt(sq) would zero the row or round it wrongly
      atomicMin(first + kUnscalableRow, static_cast<unsigned long long>(i));
      continue;
    }
    const double scale = 1.0 / sqrt(sq);
    for (std::int64_t k = 0; k < n; ++k) row[k] = static_cast<T>(__dmul_rn(static_cast<double>(row[k]), scale));
  }
}

// One finished Gram tile g (rows x cols, row-major): rows [i0, i0 + rows) of A
// against columns [j0, j0 + cols) (rows of A again, or of B).
template <class T>
struct Tile {
  const T* g;
  std::int64_t rows, cols, i0, j0;
  bool diagonal;  // pairs within A on a diagonal tile: only c > r counts
};

// The per-row results of one side on the device, null when not wanted: for
// pairs within A, the rows' later partners (side "rows") and earlier partners
// (side "cols"); against B, the rows of A and the rows of B.
template <class T>
struct SideResults {
  T* best;                  // max |g|
  std::int64_t* best_index;
  T* signed_best;           // max g
  std::int64_t* signed_index;
  double* sumsq;
  T* topk_value;            // topk signed g per row, best first by |g|; index -1: empty
  std::int64_t* topk_index;
};

// The statistics' options and device outputs. Counters (histogram bins, one per
// threshold, then below and above) are one array, so a block can count them in
// shared memory and add its counts once.
template <class T>
struct Reduction {
  std::int64_t bins;
  T scale;  // default histogram: bin of |g| * scale in T, as the CPU kernel
  bool refine;
  double hist_lo, hist_hi, refine_scale, collect_lo, collect_hi;
  unsigned long long collect_cap;
  const T* thresholds;
  int n_thresholds;
  bool shared_counters;
  unsigned long long* counters;  // bins + n_thresholds + 2
  double* sums;                  // sum, sum_abs, sum_sq
  unsigned long long* collected_count;
  double* collected;             // collect_cap values
  bool collect_pairs;            // pairs with key >= pair_threshold (key g or |g|)
  bool pair_signed;
  T pair_threshold;
  unsigned long long pair_cap;
  unsigned long long* pair_count;
  std::int64_t* pair_i;          // pair_cap of each
  std::int64_t* pair_j;
  double* pair_g;
  std::int64_t topk;
  SideResults<T> rows, cols;

  __host__ __device__ std::int64_t counter_count() const { return bins + n_thresholds + 2; }
};

// Counts Gram entries into the histogram, the thresholds' counters, the
// collected values and the pairs, in one thread.
template <class T>
class EntryCounter {
 public:
  // The first kHeldThresholds thresholds are held in registers (+infinity past
  // the last: no |g| exceeds it), the rest read from memory.
  static constexpr int kHeldThresholds = 4;

  __device__ EntryCounter(const Reduction<T>& red, unsigned* shared) : red_(red), shared_(shared) {
    for (int t = 0; t < kHeldThresholds; ++t) held_[t] = t < red.n_thresholds ? red.thresholds[t] : T(INFINITY);
  }

  // Histogram, thresholds, collected values and pairs of one Gram entry v = g_ij.
  __device__ void add(T v, std::int64_t i, std::int64_t j) const {
    const T a = fabs(v);
    if (red_.refine) {
      const double x = static_cast<double>(a);
      if (x < red_.hist_lo) {
        count(red_.bins + red_.n_thresholds);
      } else if (x > red_.hist_hi) {
        count(red_.bins + red_.n_thresholds + 1);
      } else {
        const std::int64_t b = static_cast<std::int64_t>(__dmul_rn(x - red_.hist_lo, red_.refine_scale));
        count(b < red_.bins ? b : red_.bins - 1);
      }
      if (x >= red_.collect_lo && x <= red_.collect_hi) {
        const unsigned long long slot = atomicAdd(red_.collected_count, 1ull);
        if (slot < red_.collect_cap) red_.collected[slot] = x;
      }
    } else {
      // the float product as the CPU rounds it; at or past the last bin (where a
      // conversion could overflow) the value is clamped into it, as there
      const T scaled = a * red_.scale;
      count(scaled < static_cast<T>(red_.bins) ? static_cast<std::int64_t>(scaled) : red_.bins - 1);
    }
#pragma unroll
    for (int t = 0; t < kHeldThresholds; ++t)
      if (a > held_[t]) count(red_.bins + t);
    for (int t = kHeldThresholds; t < red_.n_thresholds; ++t)
      if (a > red_.thresholds[t]) count(red_.bins + t);
    if (red_.collect_pairs && (red_.pair_signed ? v : a) >= red_.pair_threshold) {
      const unsigned long long slot = atomicAdd(red_.pair_count, 1ull);
      if (slot < red_.pair_cap) {
        red_.pair_i[slot] = i;
        red_.pair_j[slot] = j;
        red_.pair_g[slot] = static_cast<double>(v);
      }
    }
  }

 private:
  __device__ void count(std::int64_t counter) const {
    if (red_.shared_counters)
      atomicAdd(shared_ + counter, 1u);
    else
      atomicAdd(red_.counters + counter, 1ull);
  }

  const Reduction<T>& red_;
  unsigned* shared_;
  T held_[kHeldThresholds];
};

// A thread's best candidate so far by key; candidates arrive in increasing
// index, so only a strictly larger key replaces (the first of equals stays).
// The tile kernels rank by the 32-bit index within the tile, then shift it.
template <class T, class Index = std::int64_t>
struct Best {
  T key;
  Index index = -1;

  __device__ explicit Best(T empty_key) : key(empty_key) {}
  __device__ void offer(T k, Index i) {
    if (k > key || index < 0) {
      key = k;
      index = i;
    }
  }
  // The best of the warp (by better()), in every lane.
  __device__ void reduce_warp() {
    for (int offset = 16; offset > 0; offset /= 2) {
      const T key2 = __shfl_xor_sync(kFullMask, key, offset);
      const Index index2 = __shfl_xor_sync(kFullMask, index, offset);
      if (better(key2, index2, key, index)) {
        key = key2;
        index = index2;
      }
    }
  }
  // The same candidate with its index shifted by offset (a tile's first row or column).
  __device__ Best<T> shifted(std::int64_t offset) const {
    Best<T> out(key);
    out.index = index < 0 ? -1 : offset + index;
    return out;
  }
  // Into a side's global entry for one row (the caller alone updates that row).
  __device__ void merge_into(T* global_key, std::int64_t* global_index) const {
    if (better(key, index, *global_key, *global_index)) {
      *global_key = key;
      *global_index = index;
    }
  }
};

__device__ inline double warp_sum(double x) {
  for (int offset = 16; offset > 0; offset /= 2) x += __shfl_xor_sync(kFullMask, x, offset);
  return x;
}

// One warp per tile row: every statistic of the row's pairs in this tile; the
// row's best partner by |g| and by g and its sum of squares into side "rows".
template <class T>
__global__ void reduce_tile_rows(Tile<T> tile, Reduction<T> red) {
  extern __shared__ unsigned shared[];
  const std::int64_t n_counters = red.shared_counters ? red.counter_count() : 0;
  for (std::int64_t c = threadIdx.x; c < n_counters; c += blockDim.x) shared[c] = 0;
  __syncthreads();
  const int lane = threadIdx.x % 32;
  const int r = blockIdx.x * kWarps + threadIdx.x / 32, cols = static_cast<int>(tile.cols);  // <= kTile
  const EntryCounter<T> counter(red, shared);
  if (r < tile.rows) {  // the whole warp, so the shuffles below see every lane
    const T* g = tile.g + std::int64_t{r} * cols;
    const std::int64_t i = tile.i0 + r;
    double sum = 0, sum_abs = 0, sum_sq = 0;
    Best<T, int> best_local(T(-1)), signed_local(-INFINITY);  // by the column within the tile
    // lane l takes columns l, l + 32, ... in order, kUnroll of them a step
    for (int first = (tile.diagonal ? r + 1 : 0) + lane; first < cols; first += 32 * kUnroll) {
      T v[kUnroll];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) v[u] = first + 32 * u < cols ? g[first + 32 * u] : T(0);
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const int c = first + 32 * u;
        if (c >= cols) break;
        const double d = static_cast<double>(v[u]);
        sum += d;
        sum_abs += fabs(d);
        sum_sq += d * d;
        best_local.offer(fabs(v[u]), c);
        signed_local.offer(v[u], c);
        counter.add(v[u], i, tile.j0 + c);
      }
    }
    sum = warp_sum(sum);
    sum_abs = warp_sum(sum_abs);
    sum_sq = warp_sum(sum_sq);
    best_local.reduce_warp();
    signed_local.reduce_warp();
    const Best<T> best = best_local.shifted(tile.j0), signed_best = signed_local.shifted(tile.j0);
    if (lane == 0) {  // this warp alone updates row i in this tile
      atomicAdd(red.sums, sum);
      atomicAdd(red.sums + 1, sum_abs);
      atomicAdd(red.sums + 2, sum_sq);
      best.merge_into(red.rows.best + i, red.rows.best_index + i);
      if (red.rows.signed_best != nullptr) signed_best.merge_into(red.rows.signed_best + i, red.rows.signed_index + i);
      if (red.rows.sumsq != nullptr) red.rows.sumsq[i] += sum_sq;
    }
  }
  __syncthreads();
  for (std::int64_t c = threadIdx.x; c < n_counters; c += blockDim.x)
    if (shared[c] != 0) atomicAdd(red.counters + c, static_cast<unsigned long long>(shared[c]));
}

// The column kernels run blocks of kColumns columns by kSlices row slices: lane
// x of slice y reads column x at rows y, y + kSlices, ..., so a warp reads one
// row's neighbouring columns (coalesced) and a 4096-row tile has 32 x more
// threads than one per column. The slices' results meet in shared memory.
constexpr int kColumns = 32;
constexpr int kSlices = 32;

// The best of every slice's candidate for this thread's column (by better(), so
// the same whatever the slices' order), in every thread of the column. Every
// thread of the block must call it (it synchronises the block).
template <class T, class Index>
__device__ Best<T, Index> best_of_slices(Best<T, Index> mine, T* keys, Index* indices) {
  keys[threadIdx.y * kColumns + threadIdx.x] = mine.key;
  indices[threadIdx.y * kColumns + threadIdx.x] = mine.index;
  __syncthreads();
  Best<T, Index> all = mine;
  for (int y = 0; y < kSlices; ++y) {
    const T key = keys[y * kColumns + threadIdx.x];
    const Index index = indices[y * kColumns + threadIdx.x];
    if (better(key, index, all.key, all.index)) {
      all.key = key;
      all.index = index;
    }
  }
  __syncthreads();  // the arrays are reused by the next call
  return all;
}

// The tile rows that pair with column c: all of them, or on a diagonal tile the
// rows i < j; none for a column past the tile.
template <class T>
__device__ std::int64_t column_rows(const Tile<T>& tile, std::int64_t c) {
  return c >= tile.cols ? 0 : tile.diagonal ? c : tile.rows;
}

// Per-row results of side "cols": each tile column's best partner by |g| and
// by g, and its sum of squares (slices added in slice order), over the tile's
// rows (on a diagonal tile the rows i < j). Launch: blockDim (kColumns, kSlices).
template <class T>
__global__ void reduce_tile_columns(Tile<T> tile, Reduction<T> red) {
  __shared__ T keys[kSlices * kColumns];
  __shared__ int indices[kSlices * kColumns];
  __shared__ double sums[kSlices * kColumns];
  const int c = blockIdx.x * kColumns + threadIdx.x, cols = static_cast<int>(tile.cols);  // <= kTile
  const int rows = static_cast<int>(column_rows(tile, c));
  const T* g = tile.g + c;
  double sum_sq = 0;
  Best<T, int> best(T(-1)), signed_best(-INFINITY);  // by the row within the tile
  // slice y takes rows y, y + kSlices, ... in order (as offer() needs), kUnroll of them a step
  for (int first = threadIdx.y; first < rows; first += kSlices * kUnroll) {
    T v[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int r = first + kSlices * u;
      v[u] = r < rows ? g[std::int64_t{r} * cols] : T(0);
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int r = first + kSlices * u;
      if (r >= rows) break;
      const double d = static_cast<double>(v[u]);
      sum_sq += d * d;
      best.offer(fabs(v[u]), r);
      signed_best.offer(v[u], r);
    }
  }
  sums[threadIdx.y * kColumns + threadIdx.x] = sum_sq;
  best = best_of_slices(best, keys, indices);  // its barriers also publish sums
  signed_best = best_of_slices(signed_best, keys, indices);
  if (threadIdx.y != 0 || c >= cols) return;
  double total = 0;
  for (int y = 0; y < kSlices; ++y) total += sums[y * kColumns + threadIdx.x];
  const std::int64_t j = tile.j0 + c;
  best.shifted(tile.i0).merge_into(red.cols.best + j, red.cols.best_index + j);
  signed_best.shifted(tile.i0).merge_into(red.cols.signed_best + j, red.cols.signed_index + j);
  red.cols.sumsq[j] += total;
}

// Inserts partner j with signed g into a best-first list of k (a partner is
// offered to a list once, so indices never repeat).
template <class T>
__device__ void insert_best(T* value, std::int64_t* index, std::int64_t k, T g, std::int64_t j) {
  const T a = fabs(g);
  if (!better(a, j, fabs(value[k - 1]), index[k - 1])) return;
  std::int64_t pos = k - 1;
  while (pos > 0 && better(a, j, fabs(value[pos - 1]), index[pos - 1])) {
    value[pos] = value[pos - 1];
    index[pos] = index[pos - 1];
    --pos;
  }
  value[pos] = g;
  index[pos] = j;
}

// Whether (a, j) ranks after `prev` (every candidate when prev's index is -1):
// round t of a selection takes the best candidate after round t - 1's.
template <class T>
__device__ bool after(T prev, std::int64_t prev_index, T a, std::int64_t j) {
  return prev_index < 0 || better(prev, prev_index, a, j);
}

// Top-k of side "rows", one warp per tile row. Usually few of a row's entries
// beat its list's last entry (the floor): one pass gathers them into shared
// memory (kGathered at most) and lane 0 inserts them. Otherwise (a row's first
// tiles), round t finds the row's t-th best partner in this tile and inserts
// it into the list, until one would not enter it: a selection, not a sort, at
// the cost of a pass over the row per round.
constexpr int kGathered = 64;

template <class T>
__global__ void reduce_tile_topk_rows(Tile<T> tile, Reduction<T> red) {
  __shared__ T gathered_value[kWarps][kGathered];
  __shared__ std::int64_t gathered_index[kWarps][kGathered];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const std::int64_t r = blockIdx.x * std::int64_t{kWarps} + warp;
  if (r >= tile.rows) return;  // whole warps only; no block-wide barrier follows
  const std::int64_t k = red.topk, i = tile.i0 + r, first = tile.diagonal ? r + 1 : 0;
  T* value = red.rows.topk_value + i * k;
  std::int64_t* index = red.rows.topk_index + i * k;
  const T* g = tile.g + r * tile.cols;
  const T floor = fabs(value[k - 1]);  // read by every lane before lane 0 first writes
  const std::int64_t floor_index = index[k - 1];
  int found = 0;  // the same in every lane
  for (std::int64_t base = first; base < tile.cols && found <= kGathered; base += 32) {
    const std::int64_t c = base + lane;
    const bool hit = c < tile.cols && better(T(fabs(g[c])), tile.j0 + c, floor, floor_index);
    const unsigned hits = __ballot_sync(kFullMask, hit);
    const int slot = found + __popc(hits & ((1u << lane) - 1));
    if (hit && slot < kGathered) {
      gathered_value[warp][slot] = g[c];
      gathered_index[warp][slot] = tile.j0 + c;
    }
    found += __popc(hits);
  }
  __syncwarp();
  if (found <= kGathered) {
    if (lane == 0)  // any order: insert_best keeps the list best first
      for (int t = 0; t < found; ++t) insert_best(value, index, k, gathered_value[warp][t], gathered_index[warp][t]);
    return;
  }
  T prev = 0;
  std::int64_t prev_index = -1;
  for (std::int64_t round = 0; round < k; ++round) {
    Best<T> best(T(-1));
    for (std::int64_t c = first + lane; c < tile.cols; c += 32)
      if (after(prev, prev_index, fabs(g[c]), tile.j0 + c)) best.offer(fabs(g[c]), tile.j0 + c);
    best.reduce_warp();
    if (!better(best.key, best.index, floor, floor_index)) break;  // the same in every lane
    if (lane == 0) insert_best(value, index, k, g[best.index - tile.j0], best.index);
    prev = best.key;
    prev_index = best.index;
  }
}

// Top-k of side "cols". Usually few of a tile column's entries beat its list's
// last entry (the floor): a first scan counts them, and when every column of the
// block has at most kSlices, a second scan gathers them into shared memory and
// each column inserts its own. Otherwise (a column's first tiles), the rounds
// of reduce_tile_topk_rows over each column's rows (on a diagonal tile the rows
// i < j), each round's best found by the column's kSlices slices together;
// every column runs the rounds until all of the block's are done (the block
// synchronises in each). Launch: blockDim (kColumns, kSlices).
template <class T>
__global__ void reduce_tile_topk_columns(Tile<T> tile, Reduction<T> red) {
  __shared__ T keys[kSlices * kColumns];
  __shared__ std::int64_t indices[kSlices * kColumns];
  __shared__ unsigned beating[kColumns];
  const std::int64_t k = red.topk;
  const std::int64_t c = blockIdx.x * std::int64_t{kColumns} + threadIdx.x;
  const std::int64_t rows = column_rows(tile, c), j = tile.j0 + c;
  T* value = rows > 0 ? red.cols.topk_value + j * k : nullptr;
  std::int64_t* index = rows > 0 ? red.cols.topk_index + j * k : nullptr;
  // the floor, read by every slice before slice 0 first inserts (after a barrier)
  const T floor = rows > 0 ? fabs(value[k - 1]) : T(0);
  const std::int64_t floor_index = rows > 0 ? index[k - 1] : -1;
  if (threadIdx.y == 0) beating[threadIdx.x] = 0;
  __syncthreads();
  unsigned mine = 0;
  for (std::int64_t r = threadIdx.y; r < rows; r += kSlices)
    mine += better(T(fabs(tile.g[r * tile.cols + c])), tile.i0 + r, floor, floor_index);
  if (mine > 0) atomicAdd(beating + threadIdx.x, mine);
  __syncthreads();
  if (__syncthreads_and(beating[threadIdx.x] <= kSlices)) {
    if (threadIdx.y == 0) beating[threadIdx.x] = 0;  // now the gathered count
    __syncthreads();
    for (std::int64_t r = threadIdx.y; r < rows; r += kSlices) {
      const T g = tile.g[r * tile.cols + c];
      if (!better(T(fabs(g)), tile.i0 + r, floor, floor_index)) continue;
      const unsigned slot = atomicAdd(beating + threadIdx.x, 1u);
      keys[threadIdx.x * kSlices + slot] = g;
      indices[threadIdx.x * kSlices + slot] = tile.i0 + r;
    }
    __syncthreads();
    if (threadIdx.y == 0)  // any order: insert_best keeps the list best first
      for (unsigned t = 0; t < beating[threadIdx.x]; ++t)
        insert_best(value, index, k, keys[threadIdx.x * kSlices + t], indices[threadIdx.x * kSlices + t]);
    return;
  }
  T prev = 0;
  std::int64_t prev_index = -1;
  bool done = rows == 0;
  for (std::int64_t round = 0; round < k; ++round) {
    Best<T> best(T(-1));
    for (std::int64_t r = threadIdx.y; r < rows && !done; r += kSlices) {
      const T a = fabs(tile.g[r * tile.cols + c]);
      if (after(prev, prev_index, a, tile.i0 + r)) best.offer(a, tile.i0 + r);
    }
    best = best_of_slices(best, keys, indices);
    done = done || !better(best.key, best.index, floor, floor_index);
    if (!done && threadIdx.y == 0)
      insert_best(value, index, k, tile.g[(best.index - tile.i0) * tile.cols + c], best.index);
    prev = best.key;
    prev_index = best.index;
    if (__syncthreads_and(done)) break;  // every column of the block has its list
  }
}

template <class T>
__global__ void fill(T* x, std::int64_t count, T value) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < count;
       i += std::int64_t{gridDim.x} * blockDim.x)
    x[i] = value;
}

}  // namespace nearortho::cuda
