// The two ways the readout Monte Carlo computes r = W x for a call's trials
// (dense: packed X times packed W; gram: columns of W W^T summed per trial), and
// the packing and activation storage they share. Internal to cpp/src/simulate.cpp.
// Tests: tests/test_simulate.py (both paths against a numpy oracle).
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "nearortho/activations.hpp"
#include "nearortho/interrupt_poll.hpp"
#include "nearortho/readout_layout.hpp"
#include "nearortho/simulate.hpp"
#include "nearortho/simulate_kernels.hpp"
#include "nearortho/threads.hpp"

namespace nearortho::readout {

template <class T>
struct Kernels;
template <>
struct Kernels<float> {
  MultiplyPackedFn<float> multiply;
  GatherSumFn<float> gather;
  ReduceInactiveFn<float> reduce_inactive;
  explicit Kernels(const SimulateKernels& k)
      : multiply(k.multiply_f32), gather(k.gather_sum_f32), reduce_inactive(k.reduce_inactive_f32) {}
};
template <>
struct Kernels<double> {
  MultiplyPackedFn<double> multiply;
  GatherSumFn<double> gather;
  ReduceInactiveFn<double> reduce_inactive;
  explicit Kernels(const SimulateKernels& k)
      : multiply(k.multiply_f64), gather(k.gather_sum_f64), reduce_inactive(k.reduce_inactive_f64) {}
};

inline std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// Each thread's buffer of a parallel region, allocated before the region: an
// allocation inside one could throw, and no exception may leave a region.
template <class T>
std::vector<std::vector<T>> thread_buffers(int threads, std::int64_t size) {
  return std::vector<std::vector<T>>(static_cast<std::size_t>(threads), std::vector<T>(static_cast<std::size_t>(size)));
}

// Each thread's sampler scratch, sized for m features before the region.
inline std::vector<SamplerScratch> thread_scratch(int threads, std::int64_t m) {
  std::vector<SamplerScratch> scratch(static_cast<std::size_t>(threads));
  for (SamplerScratch& s : scratch) s.mark.assign(static_cast<std::size_t>(m), 0);
  return scratch;
}

// Packs rows [0, count) of `rows` (stride ld) into panels of `width` rows, k-major
// (the layout of simulate_kernels.hpp), zero rows past count. Call inside a
// parallel region: the panels are shared out among the threads, and no barrier
// follows (a thread done with its panels goes on), so put one before reading them.
template <class T>
void pack_rows(const T* rows, std::int64_t ld, std::int64_t count, std::int64_t n, std::int64_t width, T* out) {
#pragma omp for schedule(static) nowait
  for (std::int64_t p = 0; p < ceil_div(count, width); ++p) {
    T* panel = out + p * n * width;
    for (std::int64_t r = 0; r < width; ++r) {
      const std::int64_t row = p * width + r;
      for (std::int64_t k = 0; k < n; ++k) panel[k * width + r] = row < count ? rows[row * ld + k] : T(0);
    }
  }
}

// Asks for a row of n values in cache ahead of its use: the active features of a
// trial are rows far apart in W, each a cache miss when read without it.
template <class T>
void prefetch_row(const T* row, std::int64_t n) {
  const char* p = reinterpret_cast<const char*>(row);
  for (std::int64_t b = 0; b < n * static_cast<std::int64_t>(sizeof(T)); b += 64) __builtin_prefetch(p + b);
}

// One trial's active features: indices strictly increasing, signed amplitudes,
// level numbers (0 when not decoding levels).
struct TrialView {
  const std::int64_t* index;
  const double* value;
  const std::int32_t* level;
  std::int64_t count;
};

// Activations of the trials of one call (sampled from spec, or the caller's), in
// CSR form: trial t's features are entries [offset[t], offset[t + 1]).
struct Activations {
  const ActivationSpec* spec;
  const ExplicitActivations* given;
  std::int64_t trial_begin;
  std::vector<std::int64_t> offset, index;
  std::vector<double> value;
  std::vector<std::int32_t> level;

  // Sizes the storage: l per trial, the caller's counts, or for Bernoulli(p)
  // features a counting pass (sampling twice costs far less than holding m per trial).
  Activations(const ActivationSpec* s, const ExplicitActivations* g, std::int64_t begin, std::int64_t trials,
              int threads)
      : spec(s), given(g), trial_begin(begin), offset(trials + 1, 0) {
    if (given) {
      std::copy(given->offset, given->offset + trials + 1, offset.begin());
    } else if (spec->p < 0) {
      for (std::int64_t t = 0; t <= trials; ++t) offset[t] = t * spec->l;
    } else {
      auto idx = thread_buffers<std::int64_t>(threads, spec->m);
      auto val = thread_buffers<double>(threads, spec->m);
      auto scratch = thread_scratch(threads, 0);  // Bernoulli features need no marks
#pragma omp parallel num_threads(threads)
      {
        const int slot = thread_slot();
#pragma omp for schedule(static)
        for (std::int64_t t = 0; t < trials; ++t)
          offset[t + 1] = sample_trial(*spec, static_cast<std::uint64_t>(begin + t), scratch[slot], idx[slot].data(),
                                       val[slot].data(), nullptr);
      }
      for (std::int64_t t = 0; t < trials; ++t) offset[t + 1] += offset[t];
    }
    index.resize(offset[trials]);
    value.resize(offset[trials]);
    level.resize(offset[trials]);
  }

  // Fills trial trial_begin + t.
  void fill(std::int64_t t, SamplerScratch& scratch) {
    const std::int64_t lo = offset[t], hi = offset[t + 1];
    if (given) {
      std::copy(given->index + lo, given->index + hi, index.begin() + lo);
      std::copy(given->value + lo, given->value + hi, value.begin() + lo);
      std::fill(level.begin() + lo, level.begin() + hi, 0);
    } else {
      sample_trial(*spec, static_cast<std::uint64_t>(trial_begin + t), scratch, index.data() + lo, value.data() + lo,
                   level.data() + lo);
    }
  }

  TrialView view(std::int64_t t) const {
    const std::int64_t lo = offset[t];
    return {index.data() + lo, value.data() + lo, level.data() + lo, offset[t + 1] - lo};
  }
};

// Dense path: X (every trial's x = sum_k a_k w_k, float64 then rounded to T) is
// packed once; W is packed chunk by chunk, each chunk into one half of wp while
// the threads multiply the chunk before it from the other half, so a chunk costs
// one barrier; sink.tile(slot, view, i0, rows, r) sees every trial's readouts
// tile by tile in feature order, and each product counts the histogram entries
// of sink.pending_of(thread) (null: none) that the tiles before it left.
template <class T, class Sink>
void dense_pass(const FrameView<T>& W, Activations& acts, std::int64_t trials, Sink& sink, int threads,
                InterruptPoll& poll) {
  const Kernels<T> kernels(simulate_kernels(active_isa()));
  constexpr std::int64_t NR = kPanelW<T>;
  const std::int64_t n = W.n, m = W.m, groups = ceil_div(trials, kPanelX);
  const std::int64_t chunk = std::max(kTileRows, kChunkBytes / static_cast<std::int64_t>(n * sizeof(T)) / kTileRows * kTileRows);
  // Blocks of at most kBlockGroups X panels, as many as a multiple of the thread
  // count and even in size, so no thread waits a whole block at each chunk's end
  // (a trial's tiles stay in feature order whatever the blocks: results do not change).
  const std::int64_t blocks = ceil_div(ceil_div(groups, kBlockGroups), threads) * threads;
  const std::int64_t chunks = ceil_div(m, chunk), half = std::min(chunk, ceil_div(m, NR) * NR) * n;
  std::vector<T> xp(groups * kPanelX * n), wp(chunks > 1 ? 2 * half : half);
  auto scratches = thread_scratch(threads, m);
  auto x64s = thread_buffers<double>(threads, n);
  auto Cs = thread_buffers<T>(threads, kBlockGroups * kPanelX * kTileRows);
  auto pack_chunk = [&](std::int64_t ci) {
    const std::int64_t c0 = ci * chunk;
    pack_rows(W.data + c0 * n, n, std::min(chunk, m - c0), n, NR, wp.data() + ci % 2 * half);
  };
#pragma omp parallel num_threads(threads)
  {
    SamplerScratch& scratch = scratches[thread_slot()];
    std::vector<double>& x64 = x64s[thread_slot()];
    std::vector<T>& C = Cs[thread_slot()];
#pragma omp for schedule(dynamic, 1) nowait
    for (std::int64_t g = 0; g < groups; ++g) {
      T* panel = xp.data() + g * n * kPanelX;
      for (std::int64_t r = 0; r < kPanelX; ++r) {
        const std::int64_t t = g * kPanelX + r;
        std::fill(x64.begin(), x64.end(), 0.0);
        if (t < trials) {
          acts.fill(t, scratch);
          const TrialView a = acts.view(t);
          for (std::int64_t k = 0; k < a.count; ++k) {
            if (k + 1 < a.count) prefetch_row(W.data + a.index[k + 1] * n, n);
            const T* w = W.data + a.index[k] * n;
            for (std::int64_t c = 0; c < n; ++c) x64[c] += a.value[k] * static_cast<double>(w[c]);
          }
        }
        for (std::int64_t c = 0; c < n; ++c) panel[c * kPanelX + r] = static_cast<T>(x64[c]);
      }
    }
    pack_chunk(0);
#pragma omp barrier  // X and the first chunk
    for (std::int64_t ci = 0; ci < chunks; ++ci) {  // after Ctrl-C the rest is skipped, not left: one barrier each
      const std::int64_t c0 = ci * chunk, crows = std::min(chunk, m - c0);
      const T* packed = wp.data() + ci % 2 * half;
      if (ci + 1 < chunks) pack_chunk(ci + 1);
#pragma omp for schedule(dynamic, 1) nowait
      for (std::int64_t blk = 0; blk < blocks; ++blk) {
        if (poll.stopped()) continue;
        const std::int64_t g0 = blk * groups / blocks, gn = (blk + 1) * groups / blocks - g0;
        const std::int64_t t_end = std::min(trials, (g0 + gn) * kPanelX);
        for (std::int64_t i0 = c0; i0 < c0 + crows; i0 += kTileRows) {
          const std::int64_t rows = std::min(kTileRows, c0 + crows - i0);
          kernels.multiply(xp.data() + g0 * kPanelX * n, gn, packed + (i0 - c0) * n, ceil_div(rows, NR), n,
                           C.data(), kTileRows, sink.pending_of(thread_slot()));
          for (std::int64_t t = g0 * kPanelX; t < t_end; ++t)
            sink.tile(t, acts.view(t), i0, rows, C.data() + (t - g0 * kPanelX) * kTileRows);
        }
      }
#pragma omp barrier
    }
  }
}

// Gram path: for each block I of features, G[k, I] = <w_k, w_i> for all k, then
// r_I = sum over active k of a_k G[k, I] (in T, active features in index order).
template <class T, class Sink>
void gram_pass(const FrameView<T>& W, Activations& acts, std::int64_t trials, Sink& sink, int threads,
               InterruptPoll& poll) {
  const Kernels<T> kernels(simulate_kernels(active_isa()));
  constexpr std::int64_t NR = kPanelW<T>;
  const std::int64_t n = W.n, m = W.m, groups = ceil_div(m, kPanelX);
  std::vector<T> xp(groups * kPanelX * n), wp(kGramBlock * n), G(groups * kPanelX * kGramBlock);
  auto scratches = thread_scratch(threads, m);
  auto rs = thread_buffers<T>(threads, kGramBlock);
  bool stop = false;  // written in a single, read by all after its barrier
#pragma omp parallel num_threads(threads)
  {
#pragma omp for schedule(static)
    for (std::int64_t t = 0; t < trials; ++t) acts.fill(t, scratches[thread_slot()]);
    pack_rows(W.data, n, m, n, kPanelX, xp.data());
#pragma omp barrier
    std::vector<T>& r = rs[thread_slot()];
    for (std::int64_t i0 = 0; i0 < m; i0 += kGramBlock) {
#pragma omp single
      stop = poll.fired();
      if (stop) break;
      const std::int64_t rows = std::min(kGramBlock, m - i0);
      pack_rows(W.data + i0 * n, n, rows, n, NR, wp.data());
#pragma omp barrier
#pragma omp for schedule(dynamic, 1)
      for (std::int64_t g0 = 0; g0 < groups; g0 += kBlockGroups) {
        if (poll.stopped()) continue;
        kernels.multiply(xp.data() + g0 * kPanelX * n, std::min(kBlockGroups, groups - g0), wp.data(),
                         ceil_div(rows, NR), n, G.data() + g0 * kPanelX * kGramBlock, kGramBlock, nullptr);
      }
#pragma omp for schedule(dynamic, 16)
      for (std::int64_t t = 0; t < trials; ++t) {
        if (poll.stopped()) continue;
        const TrialView a = acts.view(t);
        kernels.gather(G.data(), kGramBlock, rows, a.index, a.value, a.count, r.data());
        sink.tile(t, a, i0, rows, r.data());
      }
    }
  }
}

}  // namespace nearortho::readout
