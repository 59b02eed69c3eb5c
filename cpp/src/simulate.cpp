// Readout Monte Carlo: trials are sampled (or taken from the caller), read out by
// one of the paths of readout_passes.hpp, and reduced per trial while a tile is in
// cache. Per-trial sums are folded in trial order at the end, so nothing depends
// on the thread count.
// Tests: tests/test_simulate.py.
#include "nearortho/simulate.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "nearortho/readout_decoder.hpp"
#include "nearortho/simulate_kernels.hpp"
#include "nearortho/threads.hpp"
#include "readout_passes.hpp"

namespace nearortho {

NEARORTHO_KERNEL_TABLE(SimulateKernels, kSimulateKernels, simulate_kernels)

namespace {

using namespace readout;

// Reduces readouts into per-trial sums and per-thread histograms, then folds
// the trials in order. The inactive readouts of a tile go to the ISA's kernel,
// which leaves their histogram entries pending for the thread's next product.
template <class T>
struct Reducer {
  const ActivationSpec& spec;
  const ReadoutSpec& ro;
  std::int64_t m;
  std::vector<TrialSums> sums;  // one per trial of the call
  std::vector<std::vector<std::int64_t>> hist;
  std::vector<std::vector<std::uint32_t>> entries;
  std::vector<PendingEntries> pending;  // each thread's, on its hist and entries
  ReadoutDecoder decoder;
  ReadoutCuts cuts;
  ReduceInactiveFn<T> reduce_inactive;

  Reducer(const ActivationSpec& s, const ReadoutSpec& r, std::int64_t m_, std::int64_t trials, int threads)
      : spec(s), ro(r), m(m_), sums(trials),
        hist(threads, std::vector<std::int64_t>(r.bins + 2, 0)),
        decoder{r.threshold, r.signed_decoder, s.amplitude, static_cast<double>(s.levels)},
        cuts{r.threshold, r.signed_decoder, r.hist_lo, static_cast<double>(r.bins) / (r.hist_hi - r.hist_lo),
             static_cast<std::int32_t>(r.bins)},
        reduce_inactive(Kernels<T>(simulate_kernels(active_isa())).reduce_inactive) {
    entries.assign(threads, std::vector<std::uint32_t>(kPendingEntries));
    pending.resize(threads);
    for (int i = 0; i < threads; ++i) {
      pending[i].entry = entries[i].data();
      pending[i].hist = hist[i].data();
    }
  }

  PendingEntries* pending_of(int thread) { return &pending[thread]; }

  void active_one(double v, const TrialView& a, TrialSums& t) const {
    const double amp = a.value[t.next];
    const double e = v - amp;
    t.error_sum += e;
    t.error_sumsq += e * e;
    t.amplitude_sumsq += amp * amp;
    t.fn += !decoder.on(v);
    if (a.level[t.next] > 0) t.level_errors += decoder.level_wrong(v, amp, a.level[t.next]);
    ++t.next;
  }

  void tile(std::int64_t slot, const TrialView& a, std::int64_t i0, std::int64_t rows, const T* r) {
    TrialSums& t = sums[slot];
    std::int64_t end = t.next;  // the active features of the tile: [t.next, end)
    while (end < a.count && a.index[end] < i0 + rows) ++end;
    PendingEntries& p = pending[thread_slot()];
    if (p.n + rows > kPendingEntries) p.count_from(0);  // a pass whose products count none (gram)
    const InactiveSums s = reduce_inactive(r, rows, i0, a.index + t.next, end - t.next, cuts, p);
    t.inactive_sum += s.sum;
    t.inactive_sumsq += s.sumsq;
    t.fp += s.positives;
    while (t.next < end) active_one(static_cast<double>(r[a.index[t.next] - i0]), a, t);
  }

  ReadoutTotals fold() {
    for (PendingEntries& p : pending) p.count_from(0);
    std::vector<std::int64_t> histogram(static_cast<std::size_t>(ro.bins) + 2, 0);
    for (const auto& h : hist)
      for (std::size_t k = 0; k < h.size(); ++k) histogram[k] += h[k];
    return fold_trials(sums, m, std::move(histogram));
  }
};

// Copies readouts into a (trials x m) float64 array.
template <class T>
struct Writer {
  double* out;
  std::int64_t m;
  PendingEntries* pending_of(int) { return nullptr; }
  void tile(std::int64_t slot, const TrialView&, std::int64_t i0, std::int64_t rows, const T* r) {
    for (std::int64_t j = 0; j < rows; ++j) out[slot * m + i0 + j] = static_cast<double>(r[j]);
  }
};

template <class T, class Sink>
void run_pass(InterruptPoll& poll, const FrameView<T>& W, const ActivationSpec& spec, const ExplicitActivations* given,
              std::int64_t trial_begin, std::int64_t trials, ReadoutPath path, Sink& sink, int threads) {
  Activations acts(&spec, given, trial_begin, trials, threads);
  if (path == ReadoutPath::gram)
    gram_pass(W, acts, trials, sink, threads, poll);
  else
    dense_pass(W, acts, trials, sink, threads, poll);
}

int thread_count(int requested, std::int64_t work_items) {
  return static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(resolve_threads(requested), work_items)));
}

template <class T>
void check_frame(const FrameView<T>& W) {
  if (!W.data || W.m < 1 || W.n < 1) throw std::invalid_argument("W must be a non-empty (m, n) array");
}

// The offsets first: the caller checked only that the last one fits the index and
// value arrays, so every offset must lie between 0 and it before an entry is read.
void check_explicit(const ExplicitActivations& a, std::int64_t trials, std::int64_t m) {
  if (a.offset[0] != 0) throw std::invalid_argument("activations: offsets must start at 0");
  for (std::int64_t t = 0; t < trials; ++t)
    if (a.offset[t + 1] < a.offset[t]) throw std::invalid_argument("activations: offsets must not decrease");
  for (std::int64_t t = 0; t < trials; ++t) {
    for (std::int64_t k = a.offset[t]; k < a.offset[t + 1]; ++k) {
      if (a.index[k] < 0 || a.index[k] >= m) throw std::invalid_argument("activations: index out of [0, m)");
      if (k > a.offset[t] && a.index[k] <= a.index[k - 1])
        throw std::invalid_argument("activations: indices of a trial must be strictly increasing");
      if (!std::isfinite(a.value[k])) throw std::invalid_argument("activations: values must be finite");
    }
  }
}

}  // namespace

template <class T>
void check_readout_call(const FrameView<T>& W, const ActivationSpec& spec, const ExplicitActivations* given,
                        std::int64_t trial_begin, std::int64_t trial_end, const ReadoutSpec& ro) {
  check_frame(W);
  if (trial_end < trial_begin || trial_begin < 0) throw std::invalid_argument("trial range must be non-empty and >= 0");
  if (ro.bins < 1 || ro.bins > (1 << 30) || !(ro.hist_hi > ro.hist_lo))
    throw std::invalid_argument("histogram needs 1 <= bins <= 2^30 and lo < hi");
  if (given) {
    check_explicit(*given, trial_end - trial_begin, W.m);
  } else {
    validate(spec);
    if (spec.m != W.m) throw std::invalid_argument("spec.m must equal the rows of W");
  }
}

ReadoutTotals fold_trials(const std::vector<TrialSums>& sums, std::int64_t m, std::vector<std::int64_t> histogram) {
  ReadoutTotals out;
  out.histogram = std::move(histogram);
  for (const TrialSums& t : sums) {
    out.trials += 1;
    out.active += t.next;
    out.inactive += m - t.next;
    out.false_positives += t.fp;
    out.false_negatives += t.fn;
    out.level_errors += t.level_errors;
    out.inactive_sum += t.inactive_sum;
    out.inactive_sumsq += t.inactive_sumsq;
    out.active_error_sum += t.error_sum;
    out.active_error_sumsq += t.error_sumsq;
    out.amplitude_sumsq += t.amplitude_sumsq;
    const double errors = static_cast<double>(t.fp + t.fn);
    out.trial_errors_sumsq += errors * errors;
  }
  return out;
}

ReadoutTotals& ReadoutTotals::operator+=(const ReadoutTotals& later) {
  if (later.histogram.size() != histogram.size())
    throw std::invalid_argument("readout totals with different histogram bins do not add");
  trials += later.trials;
  inactive += later.inactive;
  active += later.active;
  false_positives += later.false_positives;
  false_negatives += later.false_negatives;
  level_errors += later.level_errors;
  inactive_sum += later.inactive_sum;
  inactive_sumsq += later.inactive_sumsq;
  active_error_sum += later.active_error_sum;
  active_error_sumsq += later.active_error_sumsq;
  amplitude_sumsq += later.amplitude_sumsq;
  trial_errors_sumsq += later.trial_errors_sumsq;
  for (std::size_t k = 0; k < histogram.size(); ++k) histogram[k] += later.histogram[k];
  return *this;
}

template <class T>
ReadoutTotals simulate_readout(const FrameView<T>& W, const ActivationSpec& spec,
                               const ExplicitActivations* given, std::int64_t trial_begin,
                               std::int64_t trial_end, const ReadoutSpec& ro, ReadoutPath path, int threads,
                               const std::function<bool()>& interrupted) {
  check_readout_call(W, spec, given, trial_begin, trial_end, ro);
  const std::int64_t trials = trial_end - trial_begin;
  const int t = thread_count(threads, std::max(W.m, trials));
  Reducer<T> reducer(spec, ro, W.m, trials, t);
  InterruptPoll poll(interrupted);
  run_pass(poll, W, spec, given, trial_begin, trials, path, reducer, t);
  return reducer.fold();
}

template <class T>
void readout_values(const FrameView<T>& W, const ExplicitActivations& given, std::int64_t trials,
                    double* out, ReadoutPath path, int threads, const std::function<bool()>& interrupted) {
  check_frame(W);
  check_explicit(given, trials, W.m);
  Writer<T> writer{out, W.m};
  const ActivationSpec unused{};
  InterruptPoll poll(interrupted);
  run_pass(poll, W, unused, &given, 0, trials, path, writer, thread_count(threads, std::max(trials, W.m)));
}

template <class T>
double pair_sumsq(const FrameView<T>& W, int threads, const std::function<bool()>& interrupted) {
  check_frame(W);
  const Kernels<T> kernels(simulate_kernels(active_isa()));
  constexpr std::int64_t NR = kPanelW<T>;
  const std::int64_t m = W.m, n = W.n, groups = ceil_div(m, kPanelX), band = kBlockGroups * kPanelX;
  const std::int64_t bands = ceil_div(groups, kBlockGroups);
  std::vector<T> xp(groups * kPanelX * n), wp(ceil_div(m, NR) * NR * n);
  std::vector<double> per_band(bands, 0.0);
  const int team = thread_count(threads, bands);
  auto Cs = thread_buffers<T>(team, band * kTileRows);
  InterruptPoll poll(interrupted);
#pragma omp parallel num_threads(team)
  {
    pack_rows(W.data, n, m, n, kPanelX, xp.data());
    pack_rows(W.data, n, m, n, NR, wp.data());
#pragma omp barrier
    std::vector<T>& C = Cs[thread_slot()];
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t b = 0; b < bands; ++b) {
      const std::int64_t i0 = b * band, bi = std::min(band, m - i0);
      double acc = 0;
      for (std::int64_t j0 = i0 / kTileRows * kTileRows; j0 < m && !poll.stopped(); j0 += kTileRows) {
        const std::int64_t rows = std::min(kTileRows, m - j0);
        kernels.multiply(xp.data() + i0 * n, ceil_div(bi, kPanelX), wp.data() + j0 * n, ceil_div(rows, NR), n,
                         C.data(), kTileRows, nullptr);
        for (std::int64_t t = 0; t < bi; ++t)
          for (std::int64_t j = std::max<std::int64_t>(0, i0 + t + 1 - j0); j < rows; ++j) {
            const double g = static_cast<double>(C[t * kTileRows + j]);
            acc += g * g;
          }
      }
      per_band[b] = acc;
    }
  }
  double total = 0;
  for (double v : per_band) total += v;
  return total;
}

template void check_readout_call<float>(const FrameView<float>&, const ActivationSpec&, const ExplicitActivations*,
                                        std::int64_t, std::int64_t, const ReadoutSpec&);
template void check_readout_call<double>(const FrameView<double>&, const ActivationSpec&, const ExplicitActivations*,
                                         std::int64_t, std::int64_t, const ReadoutSpec&);
template double pair_sumsq<float>(const FrameView<float>&, int, const std::function<bool()>&);
template double pair_sumsq<double>(const FrameView<double>&, int, const std::function<bool()>&);
template ReadoutTotals simulate_readout<float>(const FrameView<float>&, const ActivationSpec&,
                                               const ExplicitActivations*, std::int64_t, std::int64_t,
                                               const ReadoutSpec&, ReadoutPath, int, const std::function<bool()>&);
template ReadoutTotals simulate_readout<double>(const FrameView<double>&, const ActivationSpec&,
                                                const ExplicitActivations*, std::int64_t, std::int64_t,
                                                const ReadoutSpec&, ReadoutPath, int, const std::function<bool()>&);
template void readout_values<float>(const FrameView<float>&, const ExplicitActivations&, std::int64_t,
                                    double*, ReadoutPath, int, const std::function<bool()>&);
template void readout_values<double>(const FrameView<double>&, const ExplicitActivations&, std::int64_t,
                                     double*, ReadoutPath, int, const std::function<bool()>&);

}  // namespace nearortho
