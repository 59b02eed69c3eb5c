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
void gram_tile(cublasHandle_t handle, const float* x, std::int64_t rows, const float* y,
               std::int64_t cols, std::int64_t n, float* g) {
  const float one = 1, zero = 0;
  check(cublasSgemm(handle, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(cols), static_cast<int>(rows),
                    static_cast<int>(n), &one, y, static_cast<int>(n), x, static_cast<int>(n), &zero, g,
                    static_cast<int>(cols)),
        "cublasSgemm");
}

void gram_tile(cublasHandle_t handle, const double* x, std::int64_t rows, const double* y,
               std::int64_t cols, std::int64_t n, double* g) {
  const double one = 1, zero = 0;
  check(cublasDgemm(handle, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(cols), static_cast<int>(rows),
                    static_cast<int>(n), &one, y, static_cast<int>(n), x, static_cast<int>(n), &zero, g,
                    static_cast<int>(cols)),
        "cublasDgemm");
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
  if (opt.topk != 0) throw std::invalid_argument("topk must be 0 on the CUDA backend (top-k is not implemented there yet)");
  if (opt.refine && opt.collect_cap < 0) throw std::invalid_argument("collect_cap must be >= 0");
}

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

  std::vector<T> thresholds;
  for (double t : opt.thresholds) thresholds.push_back(threshold_below<T>(t));
  const bool per_row = opt.per_row;
  const bool lower = symmetric && per_row;
  Reduction<T> red{};
  red.bins = opt.bins;
  red.scale = static_cast<T>(range.scale);
  red.refine = opt.refine;
  red.hist_lo = range.lo;
  red.hist_hi = range.hi;
  red.refine_scale = range.scale;
  red.collect_lo = opt.collect_lo;
  red.collect_hi = opt.collect_hi;
  red.collect_cap = static_cast<unsigned long long>(opt.refine ? opt.collect_cap : 0);
  red.n_thresholds = static_cast<int>(thresholds.size());
  red.shared_counters = red.counter_count() <= kSharedCounters;
  DeviceBuffer<T> thresholds_d(thresholds.size());
  DeviceBuffer<unsigned long long> counters(static_cast<std::size_t>(red.counter_count()));
  DeviceBuffer<double> sums(3);
  DeviceBuffer<unsigned long long> collected_count(1);
  DeviceBuffer<double> collected(static_cast<std::size_t>(red.collect_cap));
  DeviceBuffer<T> best(static_cast<std::size_t>(m)), lower_best(lower ? static_cast<std::size_t>(m) : 0);
  DeviceBuffer<std::int64_t> best_index(static_cast<std::size_t>(m));
  DeviceBuffer<std::int64_t> lower_best_index(lower ? static_cast<std::size_t>(m) : 0);
  DeviceBuffer<double> row_sumsq(per_row ? static_cast<std::size_t>(m) : 0);
  copy_to_device(thresholds_d.get(), thresholds.data(), thresholds.size(), s, "cudaMemcpyAsync (thresholds)");
  fill_device(counters.get(), red.counter_count(), 0ull, s);
  fill_device(sums.get(), 3, 0.0, s);
  fill_device(collected_count.get(), 1, 0ull, s);
  fill_device(best.get(), m, T(-1), s);
  fill_device(best_index.get(), m, std::int64_t{-1}, s);
  if (lower) {
    fill_device(lower_best.get(), m, T(-1), s);
    fill_device(lower_best_index.get(), m, std::int64_t{-1}, s);
  }
  if (per_row) fill_device(row_sumsq.get(), m, 0.0, s);
  red.thresholds = thresholds_d.get();
  red.counters = counters.get();
  red.sums = sums.get();
  red.collected_count = collected_count.get();
  red.collected = collected.get();
  red.best = best.get();
  red.best_index = best_index.get();
  red.lower_best = lower_best.get();
  red.lower_best_index = lower_best_index.get();
  red.row_sumsq = row_sumsq.get();

  const std::int64_t tile_rows = std::min(kTile, m), tile_cols = std::min(kTile, mb);
  DeviceBuffer<T> g(static_cast<std::size_t>(tile_rows * tile_cols));
  const Cublas cublas(s);
  const std::int64_t ba = (m + kTile - 1) / kTile, bb = (mb + kTile - 1) / kTile;
  const std::int64_t tiles = symmetric ? ba * (ba + 1) / 2 : ba * bb;
  const std::size_t shared_bytes = red.shared_counters ? static_cast<std::size_t>(red.counter_count()) * sizeof(unsigned) : 0;
  using clock = std::chrono::steady_clock;
  auto next_poll = clock::now() + std::chrono::milliseconds(50);
  bool stopped = false;
  std::int64_t done = 0;
  for (std::int64_t I = 0; I < ba && !stopped; ++I) {
    for (std::int64_t J = symmetric ? I : 0; J < bb && !stopped; ++J, ++done) {
      Tile<T> tile{g.get(), std::min(kTile, m - I * kTile), std::min(kTile, mb - J * kTile), I * kTile, J * kTile,
                   symmetric && I == J};
      gram_tile(cublas.get(), xa.data.get() + tile.i0 * n, tile.rows, ya + tile.j0 * n, tile.cols, n, g.get());
      reduce_tile_rows<T><<<static_cast<unsigned>((tile.rows + kWarps - 1) / kWarps), kThreads, shared_bytes, s>>>(tile, red);
      check_launch("reduce_tile_rows");
      if (lower) {
        reduce_tile_columns<T><<<blocks_for(tile.cols), kThreads, 0, s>>>(tile, red);
        check_launch("reduce_tile_columns");
      }
      // The next tile reuses the workspace; waiting here also bounds the time
      // between polls to one tile.
      stream.sync();
      if (opt.poll && clock::now() >= next_poll) {
        stopped = opt.poll(done + 1, tiles);
        next_poll = clock::now() + std::chrono::milliseconds(50);
      }
    }
  }
  if (!stopped && opt.poll && opt.poll(tiles, tiles)) stopped = true;

  InterferenceTotals out;
  out.cancelled = stopped;
  out.hist_lo = range.lo;
  out.hist_hi = range.hi;
  const std::vector<unsigned long long> counted = copy_to_host(counters.get(), counters.size(), s, "cudaMemcpyAsync (counters)");
  const std::vector<double> summed = copy_to_host(sums.get(), 3, s, "cudaMemcpyAsync (sums)");
  const std::vector<unsigned long long> collected_n = copy_to_host(collected_count.get(), 1, s, "cudaMemcpyAsync (collected)");
  const std::vector<T> best_h = copy_to_host(best.get(), best.size(), s, "cudaMemcpyAsync (best)");
  const std::vector<std::int64_t> best_index_h = copy_to_host(best_index.get(), best_index.size(), s, "cudaMemcpyAsync (best)");
  const std::vector<T> lower_h = copy_to_host(lower_best.get(), lower_best.size(), s, "cudaMemcpyAsync (best)");
  const std::vector<std::int64_t> lower_index_h = copy_to_host(lower_best_index.get(), lower_best_index.size(), s, "cudaMemcpyAsync (best)");
  const std::vector<double> sumsq_h = copy_to_host(row_sumsq.get(), row_sumsq.size(), s, "cudaMemcpyAsync (sumsq)");
  const std::size_t kept = static_cast<std::size_t>(std::min<unsigned long long>(collected_n[0], red.collect_cap));
  out.collected = copy_to_host(collected.get(), kept, s, "cudaMemcpyAsync (collected)");
  stream.sync();

  out.sum = summed[0];
  out.sum_abs = summed[1];
  out.sum_sq = summed[2];
  out.hist.assign(counted.begin(), counted.begin() + opt.bins);
  for (int t = 0; t < red.n_thresholds; ++t) out.count_above.push_back(static_cast<std::int64_t>(counted[opt.bins + t]));
  out.below = static_cast<std::int64_t>(counted[opt.bins + red.n_thresholds]);
  out.above = static_cast<std::int64_t>(counted[opt.bins + red.n_thresholds + 1]);
  out.collect_overflow = collected_n[0] > red.collect_cap;
  if (out.collect_overflow) out.collected.clear();
  // The coherence: the best row maximum over later partners (all of B), the
  // smallest row on ties: the smallest pair (i, j).
  for (std::int64_t i = 0; i < m; ++i)
    if (best_index_h[i] >= 0 && (out.max_i < 0 || best_h[i] > out.max_abs)) {
      out.max_abs = static_cast<double>(best_h[i]);
      out.max_i = i;
      out.max_j = best_index_h[i];
    }
  if (per_row) {
    for (std::int64_t i = 0; i < m; ++i) {
      T value = best_h[i];
      std::int64_t index = best_index_h[i];
      if (lower && lower_index_h[i] >= 0 &&
          (index < 0 || ranks_before(lower_h[i], lower_index_h[i], value, index))) {
        value = lower_h[i];
        index = lower_index_h[i];
      }
      rows.row_max[i] = index < 0 ? -1.0 : static_cast<double>(value);
      rows.row_argmax[i] = index;
      rows.row_sumsq[i] = sumsq_h[i];
    }
  }
  return out;
}

template InterferenceTotals interference<float>(const float*, std::int64_t, std::int64_t, const float*,
                                                std::int64_t, const InterferenceOptions&,
                                                const InterferenceRows&, const char*, const char*);
template InterferenceTotals interference<double>(const double*, std::int64_t, std::int64_t, const double*,
                                                 std::int64_t, const InterferenceOptions&,
                                                 const InterferenceRows&, const char*, const char*);

}  // namespace nearortho::cuda
