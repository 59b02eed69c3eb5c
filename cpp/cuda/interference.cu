// The interference pass on the device: the rows come to the device block by
// block and are normalised there (as cpp/src/interference.cpp packs them; host
// rows streamed while earlier tiles run, in superblocks when they do not fit:
// pass_rows.cuh), cuBLAS computes the Gram matrix tile by tile over the upper
// triangle (or all of A B^T), column by column, into two tile-sized
// workspaces in turn, and the kernels of interference_kernels.cuh reduce each
// tile on a stream of their own while the next tile is computed: one over its
// rows (every total, and the rows' results), one over its columns (the results
// of B's rows, or within A of the rows' earlier partners), and the top-k
// selections. The coherence pair is the best of the rows' maxima
// over their later partners. With precision "tf32" or "bf16" the tiles come from
// tensor cores, and the exact fields are re-checked (recheck_kernels.cuh).
// Tests: tests/test_cuda.py.
#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "backend.hpp"
#include "cublas_handle.hpp"
#include "cuda_check.hpp"
#include "device_buffers.cuh"
#include "device_recheck.cuh"
#include "interference_kernels.cuh"
#include "pass_rows.cuh"
#include "recheck.hpp"
#include "recheck_kernels.cuh"
#include "tensor_precision.cuh"
#include "nearortho/interference_setup.hpp"
#include "nearortho/ranking.hpp"

namespace nearortho::cuda {
namespace {

constexpr int kSharedCounters = 8192;  // counters a block keeps in shared memory (32 KiB)

template <class T>
void check_options(const InterferenceOptions& opt, const RowSource<T>& a, const RowSource<T>* b) {
  const std::int64_t m = a.rows(), n = a.cols(), m2 = b ? b->rows() : 0;
  const std::string& a_name = a.name();
  if (n < 1 || m < 1) throw std::invalid_argument(a_name + " must not be empty");
  if (n > INT_MAX) throw std::invalid_argument(a_name + " has more columns than cuBLAS takes (2^31 - 1)");
  if (!b && m < 2) throw std::invalid_argument(a_name + " needs at least 2 rows for pairs");
  if (b && m2 < 1) throw std::invalid_argument(b->name() + " must not be empty");
  if (b && b->cols() != n)
    throw std::invalid_argument(b->name() + " must have rows of length " + std::to_string(n) + " like " + a_name);
  if (opt.bins < 1) throw std::invalid_argument("bins must be >= 1");
  const std::int64_t candidates = b ? m2 : m - 1;
  if (opt.topk < 0 || opt.topk > candidates)  // topk = candidates: the complete lists
    throw std::invalid_argument("topk must be in [0, " + std::to_string(candidates) +
                                "], the number of partners per row");
}

// One side's per-row results (SideResults) on the device, initialised empty.
template <class T>
class DeviceSide {
 public:
  // best: the maximum |g| (always on side "rows": the coherence comes from it);
  // per_row: also the signed maximum and the sums of squares; topk: the lists.
  DeviceSide(std::int64_t m, bool best, bool per_row, std::int64_t topk, cudaStream_t s)
      : best_(best || per_row ? static_cast<std::size_t>(m) : 0),
        best_index_(best_.size()),
        signed_best_(per_row ? static_cast<std::size_t>(m) : 0),
        signed_index_(signed_best_.size()),
        sumsq_(signed_best_.size()),
        topk_value_(static_cast<std::size_t>(m * topk)),
        topk_index_(topk_value_.size()) {
    fill_device(best_.get(), best_.size(), T(-1), s);
    fill_device(best_index_.get(), best_index_.size(), std::int64_t{-1}, s);
    fill_device(signed_best_.get(), signed_best_.size(), -std::numeric_limits<T>::infinity(), s);
    fill_device(signed_index_.get(), signed_index_.size(), std::int64_t{-1}, s);
    fill_device(sumsq_.get(), sumsq_.size(), 0.0, s);
    fill_device(topk_value_.get(), topk_value_.size(), T(0), s);
    fill_device(topk_index_.get(), topk_index_.size(), std::int64_t{-1}, s);
  }

  SideResults<T> pointers() const {
    return {best_.get(),   best_index_.get(),  signed_best_.get(), signed_index_.get(),
            sumsq_.get(), topk_value_.get(), topk_index_.get()};
  }

  SideHost to_host(cudaStream_t s) const {
    const auto wide = [s](const DeviceBuffer<T>& x) {
      const std::vector<T> v = cuda::to_host(x, s);
      return std::vector<double>(v.begin(), v.end());
    };
    return {wide(best_),
            wide(signed_best_),
            wide(topk_value_),
            cuda::to_host(sumsq_, s),
            cuda::to_host(best_index_, s),
            cuda::to_host(signed_index_, s),
            cuda::to_host(topk_index_, s)};
  }

 private:
  DeviceBuffer<T> best_;
  DeviceBuffer<std::int64_t> best_index_;
  DeviceBuffer<T> signed_best_;
  DeviceBuffer<std::int64_t> signed_index_;
  DeviceBuffer<double> sumsq_;
  DeviceBuffer<T> topk_value_;
  DeviceBuffer<std::int64_t> topk_index_;
};

// Of two candidates (key, index), the first by ranks_before; index -1 is empty.
std::pair<double, std::int64_t> first_of(double key, std::int64_t index, double key2, std::int64_t index2) {
  if (index2 >= 0 && (index < 0 || ranks_before(key2, index2, key, index))) return {key2, index2};
  return {key, index};
}

// The per-row outputs of `out` (m rows) from one side, or within A from both
// sides (`other`: the rows' earlier partners), merged by ranks_before.
void write_rows(const SideHost& side, const SideHost* other, std::int64_t m, bool per_row, std::int64_t k,
                const InterferenceRows& out) {
  for (std::int64_t i = 0; i < m && per_row; ++i) {
    auto [best, best_index] = first_of(side.best[i], side.best_index[i], other ? other->best[i] : -1.0,
                                       other ? other->best_index[i] : -1);
    auto [top, top_index] = first_of(side.signed_best[i], side.signed_index[i],
                                     other ? other->signed_best[i] : 0.0, other ? other->signed_index[i] : -1);
    out.row_max[i] = best_index < 0 ? -1.0 : best;
    out.row_argmax[i] = best_index;
    out.row_signed_max[i] = top_index < 0 ? -std::numeric_limits<double>::infinity() : top;
    out.row_signed_argmax[i] = top_index;
    out.row_sumsq[i] = side.sumsq[i] + (other ? other->sumsq[i] : 0.0);
  }
  for (std::int64_t i = 0; i < m && k > 0; ++i) {
    std::int64_t p = i * k, q = i * k;  // the next entries of the two lists
    const std::int64_t end = (i + 1) * k;
    for (std::int64_t t = i * k; t < end; ++t) {
      const std::int64_t pi = p < end ? side.topk_index[p] : -1;
      const std::int64_t qi = other != nullptr && q < end ? other->topk_index[q] : -1;
      const double pv = pi < 0 ? 0.0 : side.topk_value[p], qv = qi < 0 ? 0.0 : other->topk_value[q];
      const bool take_other = first_of(std::abs(pv), pi, std::abs(qv), qi).second == qi && qi >= 0;
      out.topk_value[t] = take_other ? qv : pv;
      out.topk_index[t] = take_other ? qi : pi;
      (take_other ? q : p) += 1;
    }
  }
}

// The device side of one pass's statistics: the kernels' options and the
// buffers they write, zeroed (maxima empty) on construction; results() reads
// them back.
template <class T>
class DeviceStats {
 public:
  // approximate: the tiles come from tensor cores, so the pairs are left to the
  // re-check (results() takes them from its candidates).
  DeviceStats(const InterferenceOptions& opt, const HistogramRange& range, std::int64_t m,
              std::int64_t mb, bool symmetric, bool approximate, cudaStream_t s)
      : opt_(opt),
        range_(range),
        m_(m),
        mb_(mb),
        symmetric_(symmetric),
        columns_(symmetric || opt.columns),
        thresholds_(opt.thresholds.size()),
        counters_(static_cast<std::size_t>(opt.bins) + opt.thresholds.size() + 2),
        sums_(3),
        collected_count_(1),
        collected_(static_cast<std::size_t>(opt.refine ? opt.collect_cap : 0)),
        pair_count_(1),
        pair_i_(approximate ? 0 : static_cast<std::size_t>(std::max<std::int64_t>(0, opt.pair_cap))),
        pair_j_(pair_i_.size()),
        pair_g_(pair_i_.size()),
        rows_(m, true, opt.per_row, opt.topk, s),
        cols_(columns_ ? mb : 0, false, opt.per_row, opt.topk, s) {
    std::vector<T> thresholds;
    for (double t : opt.thresholds) thresholds.push_back(threshold_below<T>(t));
    copy_to_device(thresholds_.get(), thresholds.data(), thresholds.size(), s, "cudaMemcpyAsync (thresholds)");
    fill_device(counters_.get(), counters_.size(), 0ull, s);
    fill_device(sums_.get(), 3, 0.0, s);
    fill_device(collected_count_.get(), 1, 0ull, s);
    fill_device(pair_count_.get(), 1, 0ull, s);
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
    red_.collect_pairs = opt.pair_cap >= 0 && !approximate;
    red_.pair_signed = opt.pair_signed;
    red_.pair_threshold = threshold_above<T>(opt.pair_threshold);
    red_.pair_cap = pair_i_.size();
    red_.pair_count = pair_count_.get();
    red_.pair_i = pair_i_.get();
    red_.pair_j = pair_j_.get();
    red_.pair_g = pair_g_.get();
    red_.topk = opt.topk;
    red_.rows = rows_.pointers();
    red_.cols = cols_.pointers();
  }

  const Reduction<T>& reduction() const { return red_; }
  // Whether the tiles' columns have per-row results: within A (the rows' earlier
  // partners) or, against B when asked, B's rows.
  bool columns() const { return columns_; }

  // The totals, and the per-row results into rows (and cols against B); with
  // `checked`, the exact fields from the re-checked candidates.
  InterferenceTotals results(const InterferenceRows& rows, const InterferenceRows& cols, const CheckedPairs* checked,
                             cudaStream_t s) const {
    InterferenceTotals out;
    out.hist_lo = range_.lo;
    out.hist_hi = range_.hi;
    const std::vector<double> sums = to_host(sums_, s);
    out.sum = sums[0];
    out.sum_abs = sums[1];
    out.sum_sq = sums[2];
    const std::vector<unsigned long long> counted = to_host(counters_, s);
    const std::int64_t bins = opt_.bins, n_thresholds = red_.n_thresholds;
    out.hist.assign(counted.begin(), counted.begin() + bins);
    out.count_above.assign(counted.begin() + bins, counted.begin() + bins + n_thresholds);
    out.below = static_cast<std::int64_t>(counted[bins + n_thresholds]);
    out.above = static_cast<std::int64_t>(counted[bins + n_thresholds + 1]);
    const unsigned long long found = to_host(collected_count_, s)[0];
    out.collect_overflow = found > collected_.size();
    if (!out.collect_overflow) out.collected = to_host(collected_, static_cast<std::size_t>(found), s);
    const unsigned long long hits = to_host(pair_count_, s)[0];
    out.pair_count = static_cast<std::int64_t>(hits);
    if (red_.collect_pairs && hits <= pair_i_.size()) {
      const std::size_t kept = static_cast<std::size_t>(hits);
      const auto i = to_host(pair_i_, kept, s), j = to_host(pair_j_, kept, s);
      const auto g = to_host(pair_g_, kept, s);
      for (std::size_t p = 0; p < kept; ++p) out.pairs.push_back(PairHit{i[p], j[p], g[p]});
    }
    if (checked != nullptr && opt_.pair_cap >= 0) keep_pairs(*checked, out);
    SideHost side = rows_.to_host(s), other = cols_.to_host(s);
    if (checked != nullptr) {
      apply_recheck(*checked, false, opt_.topk, side);
      if (columns_) apply_recheck(*checked, true, opt_.topk, other);
    }
    // The coherence: the best row maximum over later partners (all of B), the
    // first row on ties, so the smallest pair (i, j).
    for (std::int64_t i = 0; i < m_; ++i)
      if (side.best_index[i] >= 0 && (out.max_i < 0 || side.best[i] > out.max_abs)) {
        out.max_abs = side.best[i];
        out.max_i = i;
        out.max_j = side.best_index[i];
      }
    if (symmetric_) {
      write_rows(side, &other, m_, opt_.per_row, opt_.topk, rows);
    } else {
      write_rows(side, nullptr, m_, opt_.per_row, opt_.topk, rows);
      if (columns_) write_rows(other, nullptr, mb_, opt_.per_row, opt_.topk, cols);
    }
    return out;
  }

 private:
  // The pairs at or above the threshold among the re-checked candidates (every
  // such pair is one), in the order of (i, j).
  void keep_pairs(const CheckedPairs& checked, InterferenceTotals& out) const {
    for (std::size_t p = 0; p < checked.g.size(); ++p) {
      const double g = checked.g[p];
      if ((opt_.pair_signed ? g : std::abs(g)) >= opt_.pair_threshold)
        out.pairs.push_back(PairHit{checked.i[p], checked.j[p], g});
    }
    std::sort(out.pairs.begin(), out.pairs.end(),
              [](const PairHit& a, const PairHit& b) { return a.i != b.i ? a.i < b.i : a.j < b.j; });
    out.pair_count = static_cast<std::int64_t>(out.pairs.size());
    if (out.pair_count > opt_.pair_cap) out.pairs.clear();
  }

  const InterferenceOptions& opt_;
  HistogramRange range_;
  std::int64_t m_, mb_;
  bool symmetric_, columns_;
  Reduction<T> red_{};
  DeviceBuffer<T> thresholds_;
  DeviceBuffer<unsigned long long> counters_;
  DeviceBuffer<double> sums_;
  DeviceBuffer<unsigned long long> collected_count_;
  DeviceBuffer<double> collected_;
  DeviceBuffer<unsigned long long> pair_count_;
  DeviceBuffer<std::int64_t> pair_i_, pair_j_;
  DeviceBuffer<double> pair_g_;
  DeviceSide<T> rows_, cols_;
};

// Device memory of a pass besides its rows (what the rows' budget leaves for
// them): the two tile workspaces, the per-row results of both sides, the counters,
// collected values and pairs, and a tensor precision's bf16 copy.
template <class T>
std::size_t bytes_besides_rows(const InterferenceOptions& opt, std::int64_t m, std::int64_t m2, std::int64_t n,
                               bool columns, bool bf16) {
  const std::int64_t mb = m2 > 0 ? m2 : m;
  const std::int64_t per_row = sizeof(T) + 8 + (opt.per_row ? sizeof(T) + 16 : 0) +
                               std::max<std::int64_t>(0, opt.topk) * (sizeof(T) + 8);
  const std::int64_t bytes = 2 * std::min(kTile, m) * std::min(kTile, mb) * static_cast<std::int64_t>(sizeof(T)) +
                             (m + (columns ? mb : 0)) * per_row +
                             8 * (opt.bins + static_cast<std::int64_t>(opt.thresholds.size()) + 2) +
                             8 * std::max<std::int64_t>(0, opt.refine ? opt.collect_cap : 0) +
                             24 * std::max<std::int64_t>(0, opt.pair_cap) + 8 * kTile +
                             (bf16 ? 2 * (m + m2) * n : 0);
  return static_cast<std::size_t>(bytes);
}

// Waits, when it goes out of scope, for the work queued on two streams (errors
// are left to the calls that check them).
struct StreamsDrained {
  cudaStream_t first, second;
  ~StreamsDrained() {
    cudaStreamSynchronize(first);
    cudaStreamSynchronize(second);
  }
};

// One pass; with a tensor-core precision, nothing when a tile's candidates
// overflowed the re-check's buffer (the caller then runs the pass in the working dtype).
template <class T>
std::optional<InterferenceTotals> run_pass(const RowSource<T>& a_source, const RowSource<T>* b_source,
                                           const InterferenceOptions& opt, const InterferenceRows& rows,
                                           const InterferenceRows& cols) {
  std::optional<TensorPrecision> tensor;
  if constexpr (std::is_same_v<T, float>) tensor = TensorPrecision::parse(opt.precision);
  else if (!opt.precision.empty())
    throw std::invalid_argument("precision " + opt.precision + " takes float32 rows, not float64");
  const bool symmetric = b_source == nullptr;
  const std::int64_t m = a_source.rows(), n = a_source.cols(), m2 = symmetric ? 0 : b_source->rows();
  const std::int64_t mb = symmetric ? m : m2;
  // s: the rows and the Gram products; r: the reductions, each tile's after
  // its product, so they run beside the next product.
  CudaStream stream, reduce_stream;
  const cudaStream_t s = stream.get(), r = reduce_stream.get();
  const bool bf16 = tensor && tensor->input == CUDA_R_16BF;
  PassRows<T> x(a_source, b_source, opt, bytes_besides_rows<T>(opt, m, m2, n, symmetric || opt.columns, bf16),
                tensor.has_value(), s);
  if (x.cancelled()) {
    InterferenceTotals out;
    out.cancelled = true;
    return out;
  }
  const HistogramRange range =
      histogram_range<T>(opt, x.sumsq_a(), symmetric ? nullptr : &x.sumsq_b(), a_source.name());
  const DeviceStats<T> stats(opt, range, m, mb, symmetric, tensor.has_value(), s);
  const Reduction<T>& red = stats.reduction();
  const std::size_t shared_bytes =
      red.shared_counters ? static_cast<std::size_t>(red.counter_count()) * sizeof(unsigned) : 0;

  const std::size_t tile_size = static_cast<std::size_t>(std::min(kTile, m) * std::min(kTile, mb));
  DeviceBuffer<T> workspaces[2] = {DeviceBuffer<T>(tile_size), DeviceBuffer<T>(tile_size)};
  CudaEvent computed[2], reduced[2];  // per workspace: its tile's product, its tile's reductions
  const Cublas cublas(s);
  double delta = 0;
  std::unique_ptr<TensorRows> ta, tb;
  std::unique_ptr<DeviceRecheck> recheck;
  if constexpr (std::is_same_v<T, float>) {
    if (tensor) {  // every row stays on the device (PassRows refuses more than fit)
      delta = tensor->delta(n, largest_norm(x.sumsq_a(), opt.normalize, n) *
                                   largest_norm(symmetric ? x.sumsq_a() : x.sumsq_b(), opt.normalize, n));
      if (bf16) x.prepare_all();  // the bfloat16 copy is made whole; TF32 reads the rows as they arrive
      ta = std::make_unique<TensorRows>(*tensor, x.a_all(), m * n, s);
      if (!symmetric) tb = std::make_unique<TensorRows>(*tensor, x.b_all(), m2 * n, s);
      recheck = std::make_unique<DeviceRecheck>(opt, m, mb, delta, s);
      if (recheck->lists_too_long(opt.topk, m + (stats.columns() ? mb : 0))) return std::nullopt;
    }
  }
  const TensorRows* tya = symmetric ? ta.get() : tb.get();
  const auto compute_tile = [&](const Tile<T>& tile, const T* rows_x, const T* rows_y, T* g) {
    if constexpr (std::is_same_v<T, float>) {
      if (tensor) {
        gram_tile_tensor(cublas.get(), *tensor, ta->row(tile.i0, n), tile.rows, tya->row(tile.j0, n), tile.cols, n,
                         g);
        return;
      }
    }
    gram_tile(cublas.get(), rows_x, tile.rows, rows_y, tile.cols, n, g);
  };
  const dim3 slices(kColumns, kSlices);
  const auto reduce_tile = [&](const Tile<T>& tile) {
    const unsigned row_blocks = static_cast<unsigned>((tile.rows + kWarps - 1) / kWarps);
    const unsigned column_blocks = static_cast<unsigned>((tile.cols + kColumns - 1) / kColumns);
    reduce_tile_rows<T><<<row_blocks, kThreads, shared_bytes, r>>>(tile, red);
    check_launch("reduce_tile_rows");
    if (opt.per_row && stats.columns()) {
      reduce_tile_columns<T><<<column_blocks, slices, 0, r>>>(tile, red);
      check_launch("reduce_tile_columns");
    }
    if (opt.topk > 0) {
      reduce_tile_topk_rows<T><<<row_blocks, kThreads, 0, r>>>(tile, red);
      check_launch("reduce_tile_topk_rows");
    }
    if (opt.topk > 0 && stats.columns()) {
      reduce_tile_topk_columns<T><<<column_blocks, slices, 0, r>>>(tile, red);
      check_launch("reduce_tile_topk_columns");
    }
    if (recheck) {  // after the reductions: the floors include this tile
      tile_floors<T><<<blocks_for(std::max(tile.rows, tile.cols)), kThreads, 0, r>>>(
          tile, red, recheck->candidates(), stats.columns());
      check_launch("tile_floors");
      collect_candidates<T><<<row_blocks, kThreads, 0, r>>>(tile, recheck->candidates());
      check_launch("collect_candidates");
    }
  };
  // Destroyed first: an early return or an exception waits for the work in
  // flight on both streams before the buffers it uses are freed.
  const StreamsDrained drained{s, r};
  const std::int64_t tiles = static_cast<std::int64_t>(x.tiles().size());
  using clock = std::chrono::steady_clock;
  auto next_poll = clock::now();  // the first poll after the first tile, then about every 50 ms
  bool stopped = false;
  // streamed rows: the next tile's uploads may overwrite rows this product reads
  const bool wait_for_products = x.reuses_slots();
  for (std::int64_t t = 0; t < tiles && !stopped; ++t) {
    const PlannedTile& planned = x.tiles()[static_cast<std::size_t>(t)];
    const std::int64_t I = planned.I, J = planned.J;
    const int w = static_cast<int>(t % 2);  // tile t's workspace, last used by tile t - 2
    const Tile<T> tile{workspaces[w].get(), std::min(kTile, m - I * kTile), std::min(kTile, mb - J * kTile),
                       I * kTile, J * kTile, symmetric && I == J};
    const auto [rows_x, rows_y] = x.rows_for(t);
    check(cudaStreamWaitEvent(s, reduced[w].get(), 0), "cudaStreamWaitEvent (workspace)");
    compute_tile(tile, rows_x, rows_y, workspaces[w].get());
    check(cudaEventRecord(computed[w].get(), s), "cudaEventRecord (product)");
    // The host stays a tile ahead of the reductions: it waits for tile t - 1's
    // (running beside this product), so the time between polls is about two tiles.
    check(cudaEventSynchronize(reduced[1 - w].get()), "cudaEventSynchronize (reductions)");
    // the re-check's buffer after tile t - 1, before tile t's candidates come
    if (t > 0 && recheck && !recheck->after_tile(red, stats.columns(), r)) return std::nullopt;
    if (t > 0 && opt.poll && clock::now() >= next_poll) {
      stopped = opt.poll(t, tiles);
      next_poll = clock::now() + std::chrono::milliseconds(50);
    }
    check(cudaStreamWaitEvent(r, computed[w].get(), 0), "cudaStreamWaitEvent (product)");
    reduce_tile(tile);
    check(cudaEventRecord(reduced[w].get(), r), "cudaEventRecord (reductions)");
    x.overlap(t);  // host rows for later tiles copied while this one runs
    if (wait_for_products) check(cudaEventSynchronize(computed[w].get()), "cudaEventSynchronize (product)");
  }
  reduce_stream.sync();
  if (recheck && !stopped && !recheck->after_tile(red, stats.columns(), r)) return std::nullopt;
  if (!stopped && opt.poll && opt.poll(tiles, tiles)) stopped = true;
  std::optional<CheckedPairs> checked;
  if (recheck && !stopped) checked = recheck->checked_pairs(red, stats.columns(), x.a_all(), x.b_all(), n, r);
  InterferenceTotals out = stats.results(rows, cols, checked ? &*checked : nullptr, r);
  out.gram_error = delta;
  out.rechecked = checked ? static_cast<std::int64_t>(checked->g.size()) : 0;
  out.cancelled = stopped;
  return out;
}

}  // namespace

template <class T>
InterferenceTotals interference(const RowSource<T>& a_source, const RowSource<T>* b_source,
                                const InterferenceOptions& opt, const InterferenceRows& rows,
                                const InterferenceRows& cols) {
  check_options(opt, a_source, b_source);
  if (std::optional<InterferenceTotals> out = run_pass(a_source, b_source, opt, rows, cols)) return *out;
  InterferenceOptions working = opt;  // too many candidates to re-check: no tensor cores
  working.precision.clear();
  InterferenceTotals out = *run_pass(a_source, b_source, working, rows, cols);
  out.tensor_fallback = true;
  return out;
}

template InterferenceTotals interference<float>(const RowSource<float>&, const RowSource<float>*,
                                                const InterferenceOptions&, const InterferenceRows&,
                                                const InterferenceRows&);
template InterferenceTotals interference<double>(const RowSource<double>&, const RowSource<double>*,
                                                 const InterferenceOptions&, const InterferenceRows&,
                                                 const InterferenceRows&);

}  // namespace nearortho::cuda
