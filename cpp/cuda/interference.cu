// The interference pass on the device: the rows are uploaded and normalised once
// (as cpp/src/interference.cpp packs them), cuBLAS computes the Gram matrix tile
// by tile over the upper triangle (or all of A B^T) into one tile-sized
// workspace, and after each tile one kernel reduces its rows (sums, histogram,
// thresholds, per-row maximum and sum of squares) and, for pairs within A, one
// its columns (the same per-row results for the rows of the column block).
// The coherence pair is the best of the rows' maxima over their later partners.
// Ties break as on the CPU (nearortho/ranking.hpp). Tests: tests/test_cuda.py.
#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "backend.hpp"
#include "cuda_check.hpp"
#include "nearortho/interference_setup.hpp"
#include "nearortho/ranking.hpp"

namespace nearortho::cuda {
namespace {

constexpr std::int64_t kTile = 4096;   // Gram tile edge: a 64 MiB float workspace
constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;  // rows per block of the row kernel
constexpr int kSharedCounters = 8192;  // counters a block keeps in shared memory (32 KiB)
constexpr unsigned kFullMask = 0xffffffffu;

// The candidate (a, index) ranks before (a2, index2): ranking.hpp's rule, for
// device code; index -1 is an empty candidate.
template <class T>
__device__ bool better(T a, std::int64_t index, T a2, std::int64_t index2) {
  return index >= 0 && (index2 < 0 || a > a2 || (a == a2 && index < index2));
}

// Row sums of squares in float64 in the CPU's order (k = 0, 1, ...), without
// contraction, then the rows scaled by 1 / norm when normalising; norms[i] and
// the first bad row (NaN/Inf) or zero row, as pack() does.
template <class T>
__global__ void prepare_rows(T* x, std::int64_t m, std::int64_t n, bool normalize, double* norms,
                             unsigned long long* bad_value, unsigned long long* zero_row) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < m;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    T* row = x + i * n;
    double sq = 0;
    bool finite = true;
    for (std::int64_t k = 0; k < n; ++k) {
      finite &= isfinite(row[k]);
      const double v = static_cast<double>(row[k]);
      sq = __dadd_rn(sq, __dmul_rn(v, v));
    }
    if (!finite) {
      atomicMin(bad_value, static_cast<unsigned long long>(i));
      continue;
    }
    norms[i] = sqrt(sq);
    if (!normalize) continue;
    if (sq == 0) {
      atomicMin(zero_row, static_cast<unsigned long long>(i));
      continue;
    }
    const double scale = 1.0 / sqrt(sq);
    for (std::int64_t k = 0; k < n; ++k) row[k] = static_cast<T>(__dmul_rn(static_cast<double>(row[k]), scale));
  }
}

// What the reduction kernels read: one finished Gram tile g (rows x cols,
// row-major) of rows [i0, i0 + rows) against columns [j0, j0 + cols).
template <class T>
struct Tile {
  const T* g;
  std::int64_t rows, cols, i0, j0;
  bool diagonal;  // pairs within A on the diagonal block: only c > r counts
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
  T* best;                       // per row of A: max |g| over partners seen (later ones when within A)
  std::int64_t* best_index;
  T* lower_best;                 // within A: max |g| over earlier partners (null unless per-row)
  std::int64_t* lower_best_index;
  double* row_sumsq;             // null unless per-row
  std::int64_t topk;             // 0, or per row the topk best partners as lists (below)
  T* topk_value;                 // m x topk signed g, best first; index -1: empty
  std::int64_t* topk_index;
  T* lower_topk_value;           // within A: the lists over earlier partners
  std::int64_t* lower_topk_index;

  __host__ __device__ std::int64_t counter_count() const { return bins + n_thresholds + 2; }
};

template <class T>
__device__ void count(const Reduction<T>& red, unsigned* shared, std::int64_t counter) {
  if (red.shared_counters)
    atomicAdd(shared + counter, 1u);
  else
    atomicAdd(red.counters + counter, 1ull);
}

// Histogram, thresholds and collection of one |g|.
template <class T>
__device__ void count_value(const Reduction<T>& red, unsigned* shared, T a) {
  if (red.refine) {
    const double x = static_cast<double>(a);
    if (x < red.hist_lo) {
      count(red, shared, red.bins + red.n_thresholds);
    } else if (x > red.hist_hi) {
      count(red, shared, red.bins + red.n_thresholds + 1);
    } else {
      const std::int64_t b = static_cast<std::int64_t>(__dmul_rn(x - red.hist_lo, red.refine_scale));
      count(red, shared, b < red.bins ? b : red.bins - 1);
    }
    if (x >= red.collect_lo && x <= red.collect_hi) {
      const unsigned long long slot = atomicAdd(red.collected_count, 1ull);
      if (slot < red.collect_cap) red.collected[slot] = x;
    }
  } else {
    // the float product as the CPU rounds it; at or past the last bin (where a
    // conversion could overflow) the value is clamped into it, as there
    const T scaled = a * red.scale;
    count(red, shared, scaled < static_cast<T>(red.bins) ? static_cast<std::int64_t>(scaled) : red.bins - 1);
  }
  for (int t = 0; t < red.n_thresholds; ++t)
    if (a > red.thresholds[t]) count(red, shared, red.bins + t);
}

// The best (a, index) of a warp, by better(), in every lane.
template <class T>
__device__ void warp_best(T& a, std::int64_t& index) {
  for (int offset = 16; offset > 0; offset /= 2) {
    const T a2 = __shfl_xor_sync(kFullMask, a, offset);
    const std::int64_t index2 = __shfl_xor_sync(kFullMask, index, offset);
    if (better(a2, index2, a, index)) {
      a = a2;
      index = index2;
    }
  }
}

__device__ double warp_sum(double x) {
  for (int offset = 16; offset > 0; offset /= 2) x += __shfl_xor_sync(kFullMask, x, offset);
  return x;
}

// One warp per tile row: every statistic of the row's pairs in this tile, the
// row's best later partner and its sum of squares merged into the global arrays.
template <class T>
__global__ void reduce_tile_rows(Tile<T> tile, Reduction<T> red) {
  extern __shared__ unsigned shared[];
  const std::int64_t n_counters = red.shared_counters ? red.counter_count() : 0;
  for (std::int64_t c = threadIdx.x; c < n_counters; c += blockDim.x) shared[c] = 0;
  __syncthreads();
  const int lane = threadIdx.x % 32;
  const std::int64_t r = blockIdx.x * std::int64_t{kWarps} + threadIdx.x / 32;
  if (r < tile.rows) {  // the whole warp, so the shuffles below see every lane
    const T* g = tile.g + r * tile.cols;
    double sum = 0, sum_abs = 0, sum_sq = 0;
    T best = -1;
    std::int64_t best_col = -1;
    for (std::int64_t c = (tile.diagonal ? r + 1 : 0) + lane; c < tile.cols; c += 32) {
      const T a = fabs(g[c]);
      const double d = static_cast<double>(g[c]);
      sum += d;
      sum_abs += fabs(d);
      sum_sq += d * d;
      if (a > best) {  // columns ascend per lane: the first of equal values stays
        best = a;
        best_col = c;
      }
      count_value(red, shared, a);
    }
    sum = warp_sum(sum);
    sum_abs = warp_sum(sum_abs);
    sum_sq = warp_sum(sum_sq);
    std::int64_t best_index = best_col < 0 ? -1 : tile.j0 + best_col;
    warp_best(best, best_index);
    if (lane == 0) {
      atomicAdd(red.sums, sum);
      atomicAdd(red.sums + 1, sum_abs);
      atomicAdd(red.sums + 2, sum_sq);
      const std::int64_t i = tile.i0 + r;  // this warp alone updates row i in this tile
      if (red.row_sumsq != nullptr) red.row_sumsq[i] += sum_sq;
      if (better(best, best_index, red.best[i], red.best_index[i])) {
        red.best[i] = best;
        red.best_index[i] = best_index;
      }
    }
  }
  __syncthreads();
  for (std::int64_t c = threadIdx.x; c < n_counters; c += blockDim.x)
    if (shared[c] != 0) atomicAdd(red.counters + c, static_cast<unsigned long long>(shared[c]));
}

// Pairs within A, per-row results: one thread per tile column j, over the rows
// i < j of the tile (the pairs (i, j) count for row j too). Neighbouring threads
// read neighbouring columns, so the loads coalesce.
template <class T>
__global__ void reduce_tile_columns(Tile<T> tile, Reduction<T> red) {
  for (std::int64_t c = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; c < tile.cols;
       c += std::int64_t{gridDim.x} * blockDim.x) {
    double sum_sq = 0;
    T best = -1;
    std::int64_t best_row = -1;
    const std::int64_t rows = tile.diagonal ? c : tile.rows;
    for (std::int64_t r = 0; r < rows; ++r) {
      const T v = tile.g[r * tile.cols + c];
      const double d = static_cast<double>(v);
      sum_sq += d * d;
      if (fabs(v) > best) {  // rows ascend: the first of equal values stays
        best = fabs(v);
        best_row = r;
      }
    }
    const std::int64_t j = tile.j0 + c;
    red.row_sumsq[j] += sum_sq;
    const std::int64_t best_index = best_row < 0 ? -1 : tile.i0 + best_row;
    if (better(best, best_index, red.lower_best[j], red.lower_best_index[j])) {
      red.lower_best[j] = best;
      red.lower_best_index[j] = best_index;
    }
  }
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

// Top-k, one warp per tile row: round t finds the row's t-th best partner in
// this tile and inserts it into the row's list, until one would not enter the
// list (its last entry at the start is the floor). A selection, not a sort:
// no per-thread lists, at the cost of a pass over the row per round.
template <class T>
__global__ void reduce_tile_topk_rows(Tile<T> tile, Reduction<T> red) {
  const int lane = threadIdx.x % 32;
  const std::int64_t r = blockIdx.x * std::int64_t{kWarps} + threadIdx.x / 32;
  if (r >= tile.rows) return;  // whole warps only; no block-wide barrier follows
  const std::int64_t k = red.topk, i = tile.i0 + r;
  T* value = red.topk_value + i * k;
  std::int64_t* index = red.topk_index + i * k;
  const T* g = tile.g + r * tile.cols;
  const T floor = fabs(value[k - 1]);  // read by every lane before lane 0 first writes
  const std::int64_t floor_index = index[k - 1];
  T prev = 0;
  std::int64_t prev_index = -1;
  for (std::int64_t round = 0; round < k; ++round) {
    T best = -1;
    std::int64_t best_index = -1;
    for (std::int64_t c = (tile.diagonal ? r + 1 : 0) + lane; c < tile.cols; c += 32) {
      const T a = fabs(g[c]);
      const std::int64_t j = tile.j0 + c;
      if (after(prev, prev_index, a, j) && better(a, j, best, best_index)) {
        best = a;
        best_index = j;
      }
    }
    warp_best(best, best_index);
    if (!better(best, best_index, floor, floor_index)) break;  // the same in every lane
    if (lane == 0) insert_best(value, index, k, g[best_index - tile.j0], best_index);
    prev = best;
    prev_index = best_index;
  }
}

// Top-k within A over earlier partners: one thread per tile column j, the same
// rounds over the rows i < j of the tile.
template <class T>
__global__ void reduce_tile_topk_columns(Tile<T> tile, Reduction<T> red) {
  const std::int64_t k = red.topk;
  for (std::int64_t c = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; c < tile.cols;
       c += std::int64_t{gridDim.x} * blockDim.x) {
    const std::int64_t j = tile.j0 + c;
    T* value = red.lower_topk_value + j * k;
    std::int64_t* index = red.lower_topk_index + j * k;
    const std::int64_t rows = tile.diagonal ? c : tile.rows;
    T prev = 0;
    std::int64_t prev_index = -1;
    for (std::int64_t round = 0; round < k; ++round) {
      T best = -1;
      std::int64_t best_index = -1;
      for (std::int64_t r = 0; r < rows; ++r) {
        const T a = fabs(tile.g[r * tile.cols + c]);
        const std::int64_t i = tile.i0 + r;
        if (after(prev, prev_index, a, i) && better(a, i, best, best_index)) {
          best = a;
          best_index = i;
        }
      }
      if (!better(best, best_index, fabs(value[k - 1]), index[k - 1])) break;
      insert_best(value, index, k, tile.g[(best_index - tile.i0) * tile.cols + c], best_index);
      prev = best;
      prev_index = best_index;
    }
  }
}

template <class T>
__global__ void fill(T* x, std::int64_t count, T value) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < count;
       i += std::int64_t{gridDim.x} * blockDim.x)
    x[i] = value;
}

unsigned blocks_for(std::int64_t work) {
  const std::int64_t blocks = (work + kThreads - 1) / kThreads;
  return static_cast<unsigned>(std::max<std::int64_t>(1, std::min<std::int64_t>(blocks, 65535)));
}

template <class T>
void fill_device(T* x, std::int64_t count, T value, cudaStream_t stream) {
  if (count == 0) return;
  fill<T><<<blocks_for(count), kThreads, 0, stream>>>(x, count, value);
  check_launch("fill");
}

template <class T>
void copy_to_device(T* dst, const T* src, std::size_t count, cudaStream_t stream, const char* what) {
  if (count > 0) check(cudaMemcpyAsync(dst, src, count * sizeof(T), cudaMemcpyHostToDevice, stream), what);
}

template <class T>
std::vector<T> copy_to_host(const T* src, std::size_t count, cudaStream_t stream, const char* what) {
  std::vector<T> out(count);
  if (count > 0) check(cudaMemcpyAsync(out.data(), src, count * sizeof(T), cudaMemcpyDeviceToHost, stream), what);
  return out;
}

// Rows uploaded (in blocks of about 64 MiB) and prepared on the device.
template <class T>
struct DeviceRows {
  DeviceBuffer<T> data;
  std::vector<double> norms;

  DeviceRows(const T* x, std::int64_t m, std::int64_t n, bool normalize, const char* name,
             cudaStream_t stream)
      : data(static_cast<std::size_t>(m * n)) {
    const std::int64_t block = std::max<std::int64_t>(1, (std::int64_t{64} << 20) / (n * sizeof(T)));
    for (std::int64_t r = 0; r < m; r += block)
      copy_to_device(data.get() + r * n, x + r * n, static_cast<std::size_t>(std::min(block, m - r) * n),
                     stream, "cudaMemcpyAsync (rows)");
    DeviceBuffer<double> norms_d(static_cast<std::size_t>(m));
    DeviceBuffer<unsigned long long> flags(2);  // first bad row, first zero row
    fill_device(flags.get(), 2, static_cast<unsigned long long>(m), stream);
    prepare_rows<T><<<blocks_for(m), kThreads, 0, stream>>>(data.get(), m, n, normalize, norms_d.get(),
                                                           flags.get(), flags.get() + 1);
    check_launch("prepare_rows");
    norms = copy_to_host(norms_d.get(), norms_d.size(), stream, "cudaMemcpyAsync (norms)");
    const std::vector<unsigned long long> first = copy_to_host(flags.get(), 2, stream, "cudaMemcpyAsync (flags)");
    check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
    throw_if_bad_rows(name, static_cast<std::int64_t>(first[0]), static_cast<std::int64_t>(first[1]), m);
  }
};

// g = x y^T for row blocks x (rows x n) and y (cols x n), row-major, into g
// (rows x cols, row-major): in cuBLAS's column-major terms g^T = y x^T.
template <class T>
void gram_tile(cublasHandle_t handle, const T* x, std::int64_t rows, const T* y, std::int64_t cols,
               std::int64_t n, T* g) {
  const T one = 1, zero = 0;
  const int c = static_cast<int>(cols), r = static_cast<int>(rows), k = static_cast<int>(n);
  if constexpr (std::is_same_v<T, float>)
    check(cublasSgemm(handle, CUBLAS_OP_T, CUBLAS_OP_N, c, r, k, &one, y, k, x, k, &zero, g, c), "cublasSgemm");
  else
    check(cublasDgemm(handle, CUBLAS_OP_T, CUBLAS_OP_N, c, r, k, &one, y, k, x, k, &zero, g, c), "cublasDgemm");
}

class Cublas {
 public:
  explicit Cublas(cudaStream_t stream) {
    check(cublasCreate(&handle_), "cublasCreate");
    // float32 means float32 here: no TF32 tensor-core rounding behind the caller's back
    cublasStatus_t status = cublasSetMathMode(handle_, CUBLAS_DEFAULT_MATH);
    if (status == CUBLAS_STATUS_SUCCESS) status = cublasSetStream(handle_, stream);
    if (status != CUBLAS_STATUS_SUCCESS) {
      cublasDestroy(handle_);
      check(status, "cublasSetMathMode / cublasSetStream");
    }
  }
  ~Cublas() { cublasDestroy(handle_); }
  Cublas(const Cublas&) = delete;
  Cublas& operator=(const Cublas&) = delete;
  cublasHandle_t get() const { return handle_; }

 private:
  cublasHandle_t handle_ = nullptr;
};

void check_options(const InterferenceOptions& opt, std::int64_t m, std::int64_t n, bool symmetric,
                   std::int64_t m2, const char* a_name) {
  if (n < 1 || m < 1) throw std::invalid_argument(std::string(a_name) + " must not be empty");
  if (n > INT_MAX) throw std::invalid_argument(std::string(a_name) + " has more columns than cuBLAS takes (2^31 - 1)");
  if (symmetric && m < 2) throw std::invalid_argument(std::string(a_name) + " needs at least 2 rows for pairs");
  if (!symmetric && m2 < 1) throw std::invalid_argument("B must not be empty");
  if (opt.bins < 1) throw std::invalid_argument("bins must be >= 1");
  const std::int64_t candidates = symmetric ? m - 1 : m2;
  if (opt.topk < 0 || (opt.topk > 0 && opt.topk >= candidates))
    throw std::invalid_argument("topk must be in [0, " + std::to_string(candidates) +
                                "), the number of partners per row");
  if (opt.refine && opt.collect_cap < 0) throw std::invalid_argument("collect_cap must be >= 0");
}

// The device side of one pass's statistics: the kernels' options and the
// buffers they write, zeroed (maxima -1) on construction; results() reads them back.
template <class T>
class DeviceStats {
 public:
  DeviceStats(const InterferenceOptions& opt, const HistogramRange& range, std::int64_t m, bool symmetric,
              cudaStream_t s)
      : m_(m),
        per_row_(opt.per_row),
        lower_(symmetric && opt.per_row),
        thresholds_(opt.thresholds.size()),
        counters_(static_cast<std::size_t>(opt.bins) + opt.thresholds.size() + 2),
        sums_(3),
        collected_count_(1),
        collected_(static_cast<std::size_t>(opt.refine ? opt.collect_cap : 0)),
        best_(static_cast<std::size_t>(m)),
        best_index_(static_cast<std::size_t>(m)),
        lower_best_(lower_ ? static_cast<std::size_t>(m) : 0),
        lower_best_index_(lower_ ? static_cast<std::size_t>(m) : 0),
        row_sumsq_(per_row_ ? static_cast<std::size_t>(m) : 0),
        topk_(opt.topk),
        topk_value_(static_cast<std::size_t>(m * topk_)),
        topk_index_(topk_value_.size()),
        lower_topk_value_(symmetric ? topk_value_.size() : 0),
        lower_topk_index_(lower_topk_value_.size()) {
    std::vector<T> thresholds;
    for (double t : opt.thresholds) thresholds.push_back(threshold_below<T>(t));
    copy_to_device(thresholds_.get(), thresholds.data(), thresholds.size(), s, "cudaMemcpyAsync (thresholds)");
    red_.bins = opt.bins;
    red_.scale = static_cast<T>(range.scale);
    red_.refine = opt.refine;
    red_.hist_lo = range.lo;
    red_.hist_hi = range.hi;
    red_.refine_scale = range.scale;
    red_.collect_lo = opt.collect_lo;
    red_.collect_hi = opt.collect_hi;
    red_.collect_cap = collected_.size();
    red_.thresholds = thresholds_.get();
    red_.n_thresholds = static_cast<int>(thresholds.size());
    red_.shared_counters = red_.counter_count() <= kSharedCounters;
    red_.counters = counters_.get();
    red_.sums = sums_.get();
    red_.collected_count = collected_count_.get();
    red_.collected = collected_.get();
    red_.best = best_.get();
    red_.best_index = best_index_.get();
    red_.lower_best = lower_best_.get();
    red_.lower_best_index = lower_best_index_.get();
    red_.row_sumsq = row_sumsq_.get();
    red_.topk = topk_;
    red_.topk_value = topk_value_.get();
    red_.topk_index = topk_index_.get();
    red_.lower_topk_value = lower_topk_value_.get();
    red_.lower_topk_index = lower_topk_index_.get();
    fill_device(counters_.get(), red_.counter_count(), 0ull, s);
    fill_device(sums_.get(), 3, 0.0, s);
    fill_device(collected_count_.get(), 1, 0ull, s);
    fill_device(best_.get(), m, T(-1), s);
    fill_device(best_index_.get(), m, std::int64_t{-1}, s);
    fill_device(lower_best_.get(), static_cast<std::int64_t>(lower_best_.size()), T(-1), s);
    fill_device(lower_best_index_.get(), static_cast<std::int64_t>(lower_best_index_.size()), std::int64_t{-1}, s);
    fill_device(row_sumsq_.get(), static_cast<std::int64_t>(row_sumsq_.size()), 0.0, s);
    fill_device(topk_value_.get(), static_cast<std::int64_t>(topk_value_.size()), T(0), s);
    fill_device(topk_index_.get(), static_cast<std::int64_t>(topk_index_.size()), std::int64_t{-1}, s);
    fill_device(lower_topk_value_.get(), static_cast<std::int64_t>(lower_topk_value_.size()), T(0), s);
    fill_device(lower_topk_index_.get(), static_cast<std::int64_t>(lower_topk_index_.size()), std::int64_t{-1}, s);
  }

  const Reduction<T>& reduction() const { return red_; }
  bool lower() const { return lower_; }
  bool lower_topk() const { return lower_topk_value_.size() > 0; }

  // The totals, and the per-row results into rows when per-row.
  InterferenceTotals results(const HistogramRange& range, const InterferenceRows& rows, cudaStream_t s) const {
    const auto counted = copy_to_host(counters_.get(), counters_.size(), s, "cudaMemcpyAsync (counters)");
    const auto summed = copy_to_host(sums_.get(), 3, s, "cudaMemcpyAsync (sums)");
    const auto found = copy_to_host(collected_count_.get(), 1, s, "cudaMemcpyAsync (collected)")[0];
    const std::size_t kept = static_cast<std::size_t>(std::min<unsigned long long>(found, collected_.size()));
    InterferenceTotals out;
    out.collected = copy_to_host(collected_.get(), kept, s, "cudaMemcpyAsync (collected)");
    const auto best = copy_to_host(best_.get(), best_.size(), s, "cudaMemcpyAsync (best)");
    const auto best_index = copy_to_host(best_index_.get(), best_index_.size(), s, "cudaMemcpyAsync (best)");
    check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
    out.hist_lo = range.lo;
    out.hist_hi = range.hi;
    out.sum = summed[0];
    out.sum_abs = summed[1];
    out.sum_sq = summed[2];
    const std::int64_t bins = red_.bins, n_thresholds = red_.n_thresholds;
    out.hist.assign(counted.begin(), counted.begin() + bins);
    out.count_above.assign(counted.begin() + bins, counted.begin() + bins + n_thresholds);
    out.below = static_cast<std::int64_t>(counted[bins + n_thresholds]);
    out.above = static_cast<std::int64_t>(counted[bins + n_thresholds + 1]);
    out.collect_overflow = found > collected_.size();
    if (out.collect_overflow) out.collected.clear();
    // The coherence: the best row maximum over later partners (all of B), the
    // first row on ties, so the smallest pair (i, j).
    for (std::int64_t i = 0; i < m_; ++i)
      if (best_index[i] >= 0 && (out.max_i < 0 || best[i] > out.max_abs)) {
        out.max_abs = static_cast<double>(best[i]);
        out.max_i = i;
        out.max_j = best_index[i];
      }
    if (per_row_) row_results(best, best_index, rows, s);
    if (topk_ > 0) topk_results(rows, s);
    return out;
  }

 private:
  // Within A, a row's best partner is the better of its best later one and its
  // best earlier one (which wins a tie: its index is smaller).
  void row_results(const std::vector<T>& best, const std::vector<std::int64_t>& best_index,
                   const InterferenceRows& rows, cudaStream_t s) const {
    const auto lower = copy_to_host(lower_best_.get(), lower_best_.size(), s, "cudaMemcpyAsync (best)");
    const auto lower_index = copy_to_host(lower_best_index_.get(), lower_best_index_.size(), s, "cudaMemcpyAsync (best)");
    const auto sumsq = copy_to_host(row_sumsq_.get(), row_sumsq_.size(), s, "cudaMemcpyAsync (row sums)");
    check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
    for (std::int64_t i = 0; i < m_; ++i) {
      T value = best[i];
      std::int64_t index = best_index[i];
      if (lower_ && lower_index[i] >= 0 && (index < 0 || ranks_before(lower[i], lower_index[i], value, index))) {
        value = lower[i];
        index = lower_index[i];
      }
      rows.row_max[i] = index < 0 ? -1.0 : static_cast<double>(value);
      rows.row_argmax[i] = index;
      rows.row_sumsq[i] = sumsq[i];
    }
  }

  // Each row's top-k: the best k of its lists over later and (within A) earlier
  // partners, merged; a tie goes to the smaller index, as everywhere.
  void topk_results(const InterferenceRows& rows, cudaStream_t s) const {
    const auto value = copy_to_host(topk_value_.get(), topk_value_.size(), s, "cudaMemcpyAsync (top-k)");
    const auto index = copy_to_host(topk_index_.get(), topk_index_.size(), s, "cudaMemcpyAsync (top-k)");
    const auto lower_value = copy_to_host(lower_topk_value_.get(), lower_topk_value_.size(), s, "cudaMemcpyAsync (top-k)");
    const auto lower_index = copy_to_host(lower_topk_index_.get(), lower_topk_index_.size(), s, "cudaMemcpyAsync (top-k)");
    check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
    const std::int64_t k = topk_;
    for (std::int64_t i = 0; i < m_; ++i) {
      std::int64_t p = i * k, q = i * k;  // next entries of the two lists
      const std::int64_t end = (i + 1) * k;
      for (std::int64_t t = i * k; t < end; ++t) {
        const bool upper_left = p < end && index[p] >= 0;
        const bool lower_left = !lower_index.empty() && q < end && lower_index[q] >= 0;
        const bool take_lower = lower_left && (!upper_left || ranks_before(std::abs(lower_value[q]), lower_index[q],
                                                                           std::abs(value[p]), index[p]));
        if (take_lower) {
          rows.topk_value[t] = static_cast<double>(lower_value[q]);
          rows.topk_index[t] = lower_index[q++];
        } else if (upper_left) {
          rows.topk_value[t] = static_cast<double>(value[p]);
          rows.topk_index[t] = index[p++];
        } else {
          rows.topk_value[t] = 0;
          rows.topk_index[t] = -1;
        }
      }
    }
  }

  std::int64_t m_;
  bool per_row_, lower_;
  Reduction<T> red_{};
  DeviceBuffer<T> thresholds_;
  DeviceBuffer<unsigned long long> counters_;
  DeviceBuffer<double> sums_;
  DeviceBuffer<unsigned long long> collected_count_;
  DeviceBuffer<double> collected_;
  DeviceBuffer<T> best_;
  DeviceBuffer<std::int64_t> best_index_;
  DeviceBuffer<T> lower_best_;
  DeviceBuffer<std::int64_t> lower_best_index_;
  DeviceBuffer<double> row_sumsq_;
  std::int64_t topk_;
  DeviceBuffer<T> topk_value_;
  DeviceBuffer<std::int64_t> topk_index_;
  DeviceBuffer<T> lower_topk_value_;
  DeviceBuffer<std::int64_t> lower_topk_index_;
};

}  // namespace

template <class T>
InterferenceTotals interference(const T* a, std::int64_t m, std::int64_t n, const T* b,
                                std::int64_t m2, const InterferenceOptions& opt,
                                const InterferenceRows& rows, const char* a_name,
                                const char* b_name) {
  const bool symmetric = b == nullptr;
  check_options(opt, m, n, symmetric, m2, a_name);
  const std::int64_t mb = symmetric ? m : m2;
  CudaStream stream;
  const cudaStream_t s = stream.get();
  const DeviceRows<T> xa(a, m, n, opt.normalize, a_name, s);
  const std::unique_ptr<DeviceRows<T>> xb =
      symmetric ? nullptr : std::make_unique<DeviceRows<T>>(b, m2, n, opt.normalize, b_name, s);
  const T* ya = symmetric ? xa.data.get() : xb->data.get();
  const HistogramRange range = histogram_range<T>(opt, xa.norms, symmetric ? nullptr : &xb->norms, a_name);
  const DeviceStats<T> stats(opt, range, m, symmetric, s);
  const Reduction<T>& red = stats.reduction();
  const std::size_t shared_bytes =
      red.shared_counters ? static_cast<std::size_t>(red.counter_count()) * sizeof(unsigned) : 0;

  DeviceBuffer<T> g(static_cast<std::size_t>(std::min(kTile, m) * std::min(kTile, mb)));
  const Cublas cublas(s);
  const std::int64_t ba = (m + kTile - 1) / kTile, bb = (mb + kTile - 1) / kTile;
  const std::int64_t tiles = symmetric ? ba * (ba + 1) / 2 : ba * bb;
  using clock = std::chrono::steady_clock;
  auto next_poll = clock::now() + std::chrono::milliseconds(50);
  bool stopped = false;
  std::int64_t done = 0;
  for (std::int64_t I = 0; I < ba && !stopped; ++I) {
    for (std::int64_t J = symmetric ? I : 0; J < bb && !stopped; ++J) {
      const Tile<T> tile{g.get(), std::min(kTile, m - I * kTile), std::min(kTile, mb - J * kTile),
                         I * kTile, J * kTile, symmetric && I == J};
      gram_tile(cublas.get(), xa.data.get() + tile.i0 * n, tile.rows, ya + tile.j0 * n, tile.cols, n, g.get());
      const unsigned row_blocks = static_cast<unsigned>((tile.rows + kWarps - 1) / kWarps);
      reduce_tile_rows<T><<<row_blocks, kThreads, shared_bytes, s>>>(tile, red);
      check_launch("reduce_tile_rows");
      if (stats.lower()) {
        reduce_tile_columns<T><<<blocks_for(tile.cols), kThreads, 0, s>>>(tile, red);
        check_launch("reduce_tile_columns");
      }
      if (red.topk > 0) {
        reduce_tile_topk_rows<T><<<row_blocks, kThreads, 0, s>>>(tile, red);
        check_launch("reduce_tile_topk_rows");
      }
      if (stats.lower_topk()) {
        reduce_tile_topk_columns<T><<<blocks_for(tile.cols), kThreads, 0, s>>>(tile, red);
        check_launch("reduce_tile_topk_columns");
      }
      // The next tile reuses the workspace; waiting here also bounds the time
      // between polls to one tile.
      stream.sync();
      ++done;
      if (opt.poll && clock::now() >= next_poll) {
        stopped = opt.poll(done, tiles);
        next_poll = clock::now() + std::chrono::milliseconds(50);
      }
    }
  }
  if (!stopped && opt.poll && opt.poll(tiles, tiles)) stopped = true;
  InterferenceTotals out = stats.results(range, rows, s);
  out.cancelled = stopped;
  return out;
}

template InterferenceTotals interference<float>(const float*, std::int64_t, std::int64_t, const float*,
                                                std::int64_t, const InterferenceOptions&,
                                                const InterferenceRows&, const char*, const char*);
template InterferenceTotals interference<double>(const double*, std::int64_t, std::int64_t, const double*,
                                                 std::int64_t, const InterferenceOptions&,
                                                 const InterferenceRows&, const char*, const char*);

}  // namespace nearortho::cuda
