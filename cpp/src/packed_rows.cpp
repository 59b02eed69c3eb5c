// Sums of squares and packing of row blocks, in parallel over chunks of rows read
// from the source (whole panels per chunk). Tests: tests/test_streaming.py.
#include "packed_rows.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "nearortho/interference_kernels.hpp"
#include "nearortho/interference_setup.hpp"
#include "nearortho/parallel_errors.hpp"
#include "nearortho/threads.hpp"

namespace nearortho {

namespace {

void keep_least(std::atomic<std::int64_t>& least, std::int64_t i) {
  std::int64_t cur = least.load();
  while (i < cur && !least.compare_exchange_weak(cur, i)) {}
}

// fn(r0, count, the rows as read) for the chunks of rows [first, first + rows) in
// parallel, skipping those from row skip_from on; exceptions (a file that ends
// early) are rethrown after the loop.
template <class T, class Fn>
void for_chunks(const RowSource<T>& source, std::int64_t first, std::int64_t rows, int threads,
                std::vector<RowBuffer<T>>& buffers, InterruptPoll& poll, const std::atomic<std::int64_t>& skip_from,
                Fn fn) {
  const std::int64_t chunk = source.chunk_rows(kPanelRows<T>);
  const std::int64_t chunks = (rows + chunk - 1) / chunk;
  const int team = static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(threads, chunks)));
  ParallelErrors errors;
#pragma omp parallel for num_threads(team) schedule(dynamic, 1)
  for (std::int64_t c = 0; c < chunks; ++c) {
    errors.run([&] {
      const std::int64_t r0 = first + c * chunk, count = std::min(chunk, first + rows - r0);
      if (poll.stopped() || r0 >= skip_from.load(std::memory_order_relaxed)) return;
      fn(r0, count, source.read(r0, count, buffers[static_cast<std::size_t>(thread_slot())]));
    });
  }
  errors.rethrow();
}

// The block's coordinate sums and the sum over its pairs i < j, coordinate by
// coordinate: sum_j u_jk (u_0k + ... + u_(j-1)k), the rows in order (the padding
// rows are zeros). The running sum, not (sum^2 - sum of squares) / 2, whose
// cancellation would leave an error of about 2^-53 m for a sum that may be near 0:
// this one's error is bounded like that of adding the pairs' products. Threads
// take groups of coordinates and read each panel's part of a group in turn, 1 KiB
// in a row (one coordinate at a time through every panel read one cache line a
// panel apart, and each coordinate's sums were one chain of dependent adds).
template <class T>
void sum_packed(PackedBlock<T>& block, std::int64_t n, int threads) {
  constexpr std::int64_t NR = kPanelRows<T>;
  constexpr std::int64_t kGroup = 16;  // coordinates
  const std::int64_t panels = (block.rows + NR - 1) / NR;
  block.coordinate_sums.assign(static_cast<std::size_t>(n), 0.0);
  std::vector<double> pairs(static_cast<std::size_t>(n), 0.0);
  double* sums = block.coordinate_sums.data();
  const T* data = block.data.get();
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::int64_t k0 = 0; k0 < n; k0 += kGroup)
    for (std::int64_t p = 0; p < panels; ++p)
      for (std::int64_t k = k0; k < std::min(n, k0 + kGroup); ++k) {
        const T* x = data + p * block.stride + k * NR;
        double sum = sums[k], pair_sum = pairs[static_cast<std::size_t>(k)];
        for (std::int64_t r = 0; r < NR; ++r) {
          pair_sum += x[r] * sum;
          sum += x[r];
        }
        sums[k] = sum;
        pairs[static_cast<std::size_t>(k)] = pair_sum;
      }
  block.pair_sum = 0;
  for (double x : pairs) block.pair_sum += x;
}

// The sums of squares (each in k order, so every bit is as one row at a time
// gives) of the G rows of x (row stride n) at once: each sum is a chain of
// dependent adds, and G of them keep G chains in flight.
constexpr int kChains = 4;
template <int G, class T>
void row_squares(const T* x, std::int64_t n, double* sq) {
  double s[G] = {};
  for (std::int64_t k = 0; k < n; ++k)
    for (int j = 0; j < G; ++j) s[j] += static_cast<double>(x[j * n + k]) * x[j * n + k];
  for (int j = 0; j < G; ++j) sq[j] = s[j];
}

template <class T>
bool all_finite(const T* row, std::int64_t n) {
  return std::all_of(row, row + n, [](T v) { return std::isfinite(v); });
}

template <class T>
bool any_nonzero(const T* row, std::int64_t n) {
  return std::any_of(row, row + n, [](T v) { return v != 0; });
}

}  // namespace

template <class T>
double block_pair_sum(const PackedBlock<T>& a, const PackedBlock<T>& b) {
  if (&a == &b) return a.pair_sum;
  double dot = 0;
  for (std::size_t k = 0; k < a.coordinate_sums.size(); ++k) dot += a.coordinate_sums[k] * b.coordinate_sums[k];
  return dot;
}

template <class T>
std::vector<double> squared_norms(const RowSource<T>& source, bool normalize, int threads,
                                  std::vector<RowBuffer<T>>& buffers, InterruptPoll& poll) {
  const std::int64_t m = source.rows(), n = source.cols();
  std::vector<double> sumsq(static_cast<std::size_t>(m), 0.0);
  std::atomic<std::int64_t> bad_value{m}, zero_row{m}, unscalable{m};
  std::atomic<std::int64_t> first_bad{m};  // rows after it need not be read: the error names the first
  for_chunks(source, 0, m, threads, buffers, poll, first_bad, [&](std::int64_t r0, std::int64_t count, const T* x) {
    for (std::int64_t r = 0; r < count; r += kChains) {
      const int group = static_cast<int>(std::min<std::int64_t>(kChains, count - r));
      double sq[kChains];
      if (group == kChains)
        row_squares<kChains>(x + r * n, n, sq);
      else
        for (int j = 0; j < group; ++j) row_squares<1>(x + (r + j) * n, n, sq + j);
      for (int j = 0; j < group; ++j) {
        const std::int64_t i = r0 + r + j;
        sumsq[static_cast<std::size_t>(i)] = sq[j];
        // Only a sum outside the normal doubles needs a closer look: a NaN or an
        // infinity in the row puts it there, so does a row of zeros, and so do
        // float64 rows beyond about 1e154 or below 1e-154 (never float32 ones),
        // whose scale 1 / sqrt(sq) would zero the row or round it wrongly.
        if (sq[j] >= std::numeric_limits<double>::min() && sq[j] <= std::numeric_limits<double>::max()) continue;
        const T* row = x + (r + j) * n;
        if (!all_finite(row, n)) {
          keep_least(bad_value, i);
        } else if (!normalize) {
          continue;  // finite rows that are zero or out of range are fine unnormalised
        } else if (!any_nonzero(row, n)) {
          keep_least(zero_row, i);
        } else {
          keep_least(unscalable, i);
        }
        keep_least(first_bad, i);
      }
    }
  });
  // the first bad row decides (rows after it may not have been read)
  const std::int64_t first = first_bad.load();
  throw_if_bad_rows(source.name(), bad_value.load() == first ? first : m, zero_row.load() == first ? first : m, m,
                    unscalable.load() == first ? first : m);
  return sumsq;
}

template <class T>
void pack_block(const RowSource<T>& source, std::int64_t first, std::int64_t rows,
                const std::vector<double>& sumsq, bool normalize, int threads,
                std::vector<RowBuffer<T>>& buffers, InterruptPoll& poll, PackedBlock<T>& block) {
  constexpr std::int64_t NR = kPanelRows<T>;
  const std::int64_t n = source.cols();
  const std::int64_t panels = (rows + NR - 1) / NR;
  block.stride = (n | 1) * NR;
  if (block.capacity < panels * NR) {
    block.data = aligned_array<T>(panels * block.stride);
    block.capacity = panels * NR;
  }
  block.source = nullptr;  // holds nothing usable until packed
  T* out = block.data.get();
  std::fill(out + (panels - 1) * block.stride, out + panels * block.stride, T(0));  // padding rows
  source.check_unchanged();
  const std::atomic<std::int64_t> read_all{first + rows};
  for_chunks(source, first, rows, threads, buffers, poll, read_all, [&](std::int64_t r0, std::int64_t count, const T* x) {
    // a panel's rows at a time, so that each k writes their values together
    for (std::int64_t r = 0; r < count;) {
      const std::int64_t local = r0 + r - first;
      const std::int64_t panel_rows = std::min(NR - local % NR, count - r);
      double scale[NR];
      for (std::int64_t j = 0; j < panel_rows; ++j)
        scale[j] = normalize ? 1.0 / std::sqrt(sumsq[static_cast<std::size_t>(r0 + r + j)]) : 1.0;
      const T* in = x + r * n;
      T* dst = out + (local / NR) * block.stride + local % NR;
      for (std::int64_t k = 0; k < n; ++k)
        for (std::int64_t j = 0; j < panel_rows; ++j) dst[k * NR + j] = static_cast<T>(in[j * n + k] * scale[j]);
      r += panel_rows;
    }
  });
  if (poll.fired()) return;
  block.source = &source;
  block.first = first;
  block.rows = rows;
  sum_packed(block, n, threads);
}

template std::vector<double> squared_norms<float>(const RowSource<float>&, bool, int,
                                                  std::vector<RowBuffer<float>>&, InterruptPoll&);
template std::vector<double> squared_norms<double>(const RowSource<double>&, bool, int,
                                                   std::vector<RowBuffer<double>>&, InterruptPoll&);
template double block_pair_sum<float>(const PackedBlock<float>&, const PackedBlock<float>&);
template double block_pair_sum<double>(const PackedBlock<double>&, const PackedBlock<double>&);
template void pack_block<float>(const RowSource<float>&, std::int64_t, std::int64_t, const std::vector<double>&,
                                bool, int, std::vector<RowBuffer<float>>&, InterruptPoll&, PackedBlock<float>&);
template void pack_block<double>(const RowSource<double>&, std::int64_t, std::int64_t, const std::vector<double>&,
                                 bool, int, std::vector<RowBuffer<double>>&, InterruptPoll&, PackedBlock<double>&);

}  // namespace nearortho
