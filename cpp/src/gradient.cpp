// Surrogate gradient pass: copies W into padded row-major and panel layouts,
// then runs the tiles of the upper triangle in a fixed order: rounds whose tiles
// touch distinct row blocks (the diagonal tiles first, then a round-robin
// tournament of the blocks). Threads take tiles in that order and a tile starts
// only when both its row blocks have received every earlier tile (a counter per
// block, no barrier), so each block's gradient adds its tiles in the same order
// for any thread count: the gradient is bitwise independent of threads. The
// per-ISA tile kernel is isa/gradient_kernels.cpp. Tests: tests/test_gradient.py.
#include "nearortho/gradient.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "nearortho/aligned_buffer.hpp"
#include "nearortho/gradient_kernels.hpp"
#include "nearortho/surrogate_terms.hpp"
#include "nearortho/threads.hpp"

namespace nearortho {

NEARORTHO_KERNEL_TABLE(GradientKernels, kGradientKernels, gradient_kernels)

namespace {

template <class T>
AlignedArray<T> aligned_zeros(std::int64_t count) {
  AlignedArray<T> p = aligned_array<T>(count);
  std::fill(p.get(), p.get() + count, T(0));
  return p;
}

// Small frames get a small edge so that two threads find several tiles per
// round; the edge depends on m only, so the results do not depend on threads.
constexpr double kFlopsPerThread = 1e8;  // a few ms of work per thread

std::int64_t tile_edge(std::int64_t m) { return m > 4 * kMaxGradientEdge ? kMaxGradientEdge : kGradientTileUnit; }

struct ScheduledTile {
  std::int64_t I, J;            // row blocks, I <= J
  std::int64_t after_I, after_J; // tiles each block must have received first
};

// Every tile (I, J), I <= J, in rounds that use each row block at most once:
// first every diagonal tile, then the circle method's rounds of a tournament of
// the blocks (with a bye when their number is odd).
std::vector<ScheduledTile> schedule(std::int64_t blocks) {
  std::vector<ScheduledTile> out;
  std::vector<std::int64_t> received(static_cast<std::size_t>(blocks), 0);
  auto add = [&](std::int64_t a, std::int64_t b) {
    if (a >= blocks || b >= blocks) return;  // the bye
    const std::int64_t I = std::min(a, b), J = std::max(a, b);
    out.push_back({I, J, received[static_cast<std::size_t>(I)], received[static_cast<std::size_t>(J)]});
    ++received[static_cast<std::size_t>(I)];
    if (J != I) ++received[static_cast<std::size_t>(J)];
  };
  for (std::int64_t b = 0; b < blocks; ++b) add(b, b);
  const std::int64_t players = blocks + (blocks & 1);
  for (std::int64_t r = 0; r + 1 < players; ++r) {
    add(players - 1, r);
    for (std::int64_t k = 1; k < players / 2; ++k)
      add((r + k) % (players - 1), (r - k + players - 1) % (players - 1));
  }
  return out;
}

template <class T>
auto tile_function(const GradientKernels& k) {
  if constexpr (std::is_same_v<T, float>)
    return k.tile_f32;
  else
    return k.tile_f64;
}

}  // namespace

template <class T>
SurrogateTerms<T> surrogate_terms(std::int64_t m, std::int64_t n, const SurrogateOptions& opt) {
  if (n < 1) throw std::invalid_argument("W must have at least one column");
  if (m < 2) throw std::invalid_argument("W needs at least 2 rows for pairs, got " + std::to_string(m));
  if (opt.p < 2) throw std::invalid_argument("p must be an integer >= 2, got " + std::to_string(opt.p));
  if (!(opt.t >= 0) || !std::isfinite(opt.t)) throw std::invalid_argument("t must be finite and >= 0");
  if (!(opt.s > 0) || !std::isfinite(opt.s)) throw std::invalid_argument("s must be finite and > 0");
  SurrogateTerms<T> terms;
  terms.p = opt.p;
  terms.t = static_cast<T>(opt.t);
  terms.inv_s = static_cast<T>(1.0 / opt.s);
  // d^p >= the smallest normal T for every d kept (a little above the root)
  terms.cutoff = static_cast<T>(std::pow(static_cast<double>(std::numeric_limits<T>::min()), 1.0 / opt.p) * 1.001);
  terms.scale = static_cast<T>(opt.p) * terms.inv_s;
  return terms;
}

template <class T>
SurrogateTotals surrogate_gradient(const T* w, std::int64_t m, std::int64_t n,
                                   const SurrogateOptions& opt, T* grad) {
  const SurrogateTerms<T> terms = surrogate_terms<T>(m, n, opt);
  constexpr std::int64_t NR = kPanelRows<T>;
  const std::int64_t edge = tile_edge(m);
  const std::int64_t blocks = (m + edge - 1) / edge, padded = blocks * edge;
  // row stride: whole panels, and an odd number of cache lines so that a strip
  // of W read down its rows (stride ld) spreads over every L1 set
  std::int64_t ld = (n + NR - 1) / NR * NR;
  if ((ld / NR) % 2 == 0) ld += NR;
  const std::int64_t panel_stride = (n | 1) * NR;  // odd k steps, as in the interference pass
  // A small pass runs on one thread: waking a team costs more than it saves, and
  // on a busy machine a parallel region can wait a whole time slice for a thread.
  const double flops = 3.0 * static_cast<double>(padded) * static_cast<double>(padded) * static_cast<double>(n);
  const int team = static_cast<int>(std::clamp(flops / kFlopsPerThread, 1.0,
                                               static_cast<double>(resolve_threads(opt.threads))));
  auto rows = aligned_zeros<T>(padded * ld);
  auto panels = aligned_zeros<T>(padded / NR * panel_stride);
  auto work = aligned_zeros<T>(padded * ld);
#pragma omp parallel for num_threads(team) schedule(static)
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t k = 0; k < n; ++k) {
      rows.get()[i * ld + k] = w[i * n + k];
      panels.get()[(i / NR) * panel_stride + k * NR + i % NR] = w[i * n + k];
    }

  GradientTile<T> tile;
  tile.rows = rows.get();
  tile.panels = panels.get();
  tile.panel_stride = panel_stride;
  tile.ld = ld;
  tile.n = n;
  tile.m = m;
  tile.edge = edge;
  tile.terms = terms;
  tile.grad = work.get();

  const std::vector<ScheduledTile> order = schedule(blocks);
  const std::int64_t total = static_cast<std::int64_t>(order.size());
  const std::int64_t ldc = edge + (((edge / NR) % 2 == 0) ? NR : 0);
  std::vector<AlignedArray<T>> tiles;
  std::vector<std::unique_ptr<bool[]>> flags;
  std::vector<GradientScratch<T>> scratch(static_cast<std::size_t>(team));
  for (auto& s : scratch) {
    tiles.push_back(aligned_zeros<T>(edge * ldc));
    flags.push_back(std::make_unique<bool[]>(static_cast<std::size_t>(2 * edge)));
    s.c = tiles.back().get();
    s.ldc = ldc;
    s.row_nonzero = flags.back().get();
    s.col_nonzero = s.row_nonzero + edge;
  }
  std::vector<double> values(order.size(), 0.0);
  std::vector<std::atomic<std::int64_t>> received(static_cast<std::size_t>(blocks));
  for (auto& r : received) r.store(0);
  std::atomic<std::int64_t> next{0};
  std::atomic<bool> stop{false};
  std::exception_ptr error;
  const auto kernel = tile_function<T>(gradient_kernels(active_isa()));
  using clock = std::chrono::steady_clock;
  auto next_poll = clock::now() + std::chrono::milliseconds(50);
  // the calling thread (thread 0) polls between tiles and while it waits
  auto poll = [&](std::int64_t done) {
    if (!opt.poll || clock::now() < next_poll) return;
    try {
      if (opt.poll(done, total)) stop.store(true);
    } catch (...) {  // nothing may leave the parallel region
      error = std::current_exception();
      stop.store(true);
    }
    next_poll = clock::now() + std::chrono::milliseconds(50);
  };
  SurrogateTotals out;
#pragma omp parallel num_threads(team)
  {
    const int tid = thread_slot();
    GradientScratch<T>& s = scratch[static_cast<std::size_t>(tid)];
    for (std::int64_t t = next.fetch_add(1); t < total && !stop.load(); t = next.fetch_add(1)) {
      const ScheduledTile& st = order[static_cast<std::size_t>(t)];
      auto& got_I = received[static_cast<std::size_t>(st.I)];
      auto& got_J = received[static_cast<std::size_t>(st.J)];
      while ((got_I.load(std::memory_order_acquire) < st.after_I ||
              got_J.load(std::memory_order_acquire) < st.after_J) && !stop.load()) {
        if (tid == 0) poll(t);
        std::this_thread::yield();
      }
      if (stop.load()) break;
      GradientTile<T> p = tile;
      p.i0 = st.I * edge;
      p.j0 = st.J * edge;
      kernel(p, s);
      values[static_cast<std::size_t>(t)] = s.value;
      got_I.fetch_add(1, std::memory_order_release);
      if (st.J != st.I) got_J.fetch_add(1, std::memory_order_release);
      if (tid == 0) poll(t + 1);
    }
  }
  if (error) std::rethrow_exception(error);
  if (stop.load()) {
    out.cancelled = true;
    return out;
  }
  for (double v : values) out.value += v;
  for (const auto& s : scratch) {
    if (s.max_i < 0) continue;
    const double v = s.max_abs;
    if (out.max_i < 0 || v > out.max_abs ||
        (v == out.max_abs && (s.max_i < out.max_i || (s.max_i == out.max_i && s.max_j < out.max_j)))) {
      out.max_abs = v;
      out.max_i = s.max_i;
      out.max_j = s.max_j;
    }
  }
#pragma omp parallel for num_threads(team) schedule(static)
  for (std::int64_t i = 0; i < m; ++i) std::copy(work.get() + i * ld, work.get() + i * ld + n, grad + i * n);
  return out;
}

template SurrogateTerms<float> surrogate_terms<float>(std::int64_t, std::int64_t, const SurrogateOptions&);
template SurrogateTerms<double> surrogate_terms<double>(std::int64_t, std::int64_t, const SurrogateOptions&);
template SurrogateTotals surrogate_gradient<float>(const float*, std::int64_t, std::int64_t,
                                                   const SurrogateOptions&, float*);
template SurrogateTotals surrogate_gradient<double>(const double*, std::int64_t, std::int64_t,
                                                    const SurrogateOptions&, double*);

}  // namespace nearortho
