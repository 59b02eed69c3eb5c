// Readout Monte Carlo: blocks of trials are sampled, encoded (x in float64, then
// rounded to W's type), read out against tiles of W with the per-ISA dot tiles,
// and reduced per trial while the tile is in cache. Blocks are the unit of
// determinism: their sums merge in block order whatever the thread count.
// Tests: tests/test_simulate.py.
#include "nearortho/simulate.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "nearortho/simulate_kernels.hpp"
#include "nearortho/threads.hpp"

namespace nearortho {

namespace scalar { extern const SimulateKernels kSimulateKernels; }
#ifdef NEARORTHO_HAVE_AVX2
namespace avx2 { extern const SimulateKernels kSimulateKernels; }
#endif
#ifdef NEARORTHO_HAVE_AVX512
namespace avx512 { extern const SimulateKernels kSimulateKernels; }
#endif

const SimulateKernels& simulate_kernels(Isa isa) {
  switch (isa) {
#ifdef NEARORTHO_HAVE_AVX512
    case Isa::avx512: return avx512::kSimulateKernels;
#endif
#ifdef NEARORTHO_HAVE_AVX2
    case Isa::avx2: return avx2::kSimulateKernels;
#endif
    default: return scalar::kSimulateKernels;
  }
}

void ReadoutTotals::merge(const ReadoutTotals& o) {
  trials += o.trials;
  inactive += o.inactive;
  active += o.active;
  false_positives += o.false_positives;
  false_negatives += o.false_negatives;
  level_errors += o.level_errors;
  inactive_sum += o.inactive_sum;
  inactive_sumsq += o.inactive_sumsq;
  active_error_sum += o.active_error_sum;
  active_error_sumsq += o.active_error_sumsq;
  amplitude_sumsq += o.amplitude_sumsq;
  trial_errors_sumsq += o.trial_errors_sumsq;
  if (histogram.size() < o.histogram.size()) histogram.resize(o.histogram.size(), 0);
  for (std::size_t b = 0; b < o.histogram.size(); ++b) histogram[b] += o.histogram[b];
}

namespace {

constexpr std::int64_t kTrialBlock = 64;   // trials read out together (and the merge unit)
constexpr std::int64_t kFeatureTile = 192;  // rows of W per tile (a multiple of the 3-row kernel)

template <class T>
DotTileFn<T> dot_tile_for(const SimulateKernels& k);
template <>
DotTileFn<float> dot_tile_for<float>(const SimulateKernels& k) { return k.dot_tile_f32; }
template <>
DotTileFn<double> dot_tile_for<double>(const SimulateKernels& k) { return k.dot_tile_f64; }

// Active features of the trials of one block, and their encodings.
template <class T>
struct BlockScratch {
  std::int64_t capacity;  // most active features per trial
  std::vector<std::int64_t> count, index;
  std::vector<double> value, x64;
  std::vector<std::int32_t> level;
  std::vector<T> X, R;
  SamplerScratch sampler;

  BlockScratch(std::int64_t cap, std::int64_t n)
      : capacity(cap), count(kTrialBlock), index(kTrialBlock * cap), value(kTrialBlock * cap),
        x64(n), level(kTrialBlock * cap), X(kTrialBlock * n), R(kTrialBlock * kFeatureTile) {}
};

// Fills the block's activations (sampled or explicit) and X = their encodings.
template <class T>
void encode_block(const FrameView<T>& W, const ActivationSpec& spec, const ExplicitActivations* given,
                  std::int64_t trial_begin, std::int64_t t0, std::int64_t bt, BlockScratch<T>& s) {
  const std::int64_t n = W.n, cap = s.capacity;
  for (std::int64_t b = 0; b < bt; ++b) {
    std::int64_t* idx = s.index.data() + b * cap;
    double* val = s.value.data() + b * cap;
    std::int32_t* lev = s.level.data() + b * cap;
    if (given) {
      const std::int64_t e = t0 + b - trial_begin;
      const std::int64_t lo = given->offset[e], hi = given->offset[e + 1];
      s.count[b] = hi - lo;
      std::copy(given->index + lo, given->index + hi, idx);
      std::copy(given->value + lo, given->value + hi, val);
      std::fill(lev, lev + (hi - lo), 0);
    } else {
      s.count[b] = sample_trial(spec, static_cast<std::uint64_t>(t0 + b), s.sampler, idx, val, lev);
    }
    std::fill(s.x64.begin(), s.x64.end(), 0.0);
    for (std::int64_t k = 0; k < s.count[b]; ++k) {
      const T* w = W.data + idx[k] * n;
      const double a = val[k];
      for (std::int64_t c = 0; c < n; ++c) s.x64[c] += a * static_cast<double>(w[c]);
    }
    T* x = s.X.data() + b * n;
    for (std::int64_t c = 0; c < n; ++c) x[c] = static_cast<T>(s.x64[c]);
  }
}

// Runs consume(b, i0, rows, r, scratch) for every block of trials and tile of W.
// before(b)/after(b) bracket each trial of a block. Blocks run in parallel.
template <class T, class Block>
void for_each_block(const FrameView<T>& W, const ActivationSpec& spec, const ExplicitActivations* given,
                    std::int64_t trial_begin, std::int64_t trial_end, std::int64_t capacity,
                    int threads, Block make_block) {
  const DotTileFn<T> dot = dot_tile_for<T>(simulate_kernels(active_isa()));
  const std::int64_t blocks = (trial_end - trial_begin + kTrialBlock - 1) / kTrialBlock;
  const int t = static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(resolve_threads(threads), blocks)));
#pragma omp parallel num_threads(t)
  {
    BlockScratch<T> s(std::max<std::int64_t>(capacity, 1), W.n);
    auto worker = make_block();
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t blk = 0; blk < blocks; ++blk) {
      const std::int64_t t0 = trial_begin + blk * kTrialBlock;
      const std::int64_t bt = std::min(kTrialBlock, trial_end - t0);
      encode_block(W, spec, given, trial_begin, t0, bt, s);
      worker.start(blk, bt, s);
      for (std::int64_t i0 = 0; i0 < W.m; i0 += kFeatureTile) {
        const std::int64_t rows = std::min(kFeatureTile, W.m - i0);
        dot(s.X.data(), W.n, bt, W.data + i0 * W.n, W.n, rows, W.n, s.R.data(), kFeatureTile);
        for (std::int64_t b = 0; b < bt; ++b) worker.consume(t0 + b, b, i0, rows, s.R.data() + b * kFeatureTile, s);
      }
      worker.finish(blk, bt);
    }
    worker.merge_shared();
  }
}

// Running sums of one trial while its readouts stream past tile by tile.
struct TrialSums {
  double inactive_sum, inactive_sumsq, error_sum, error_sumsq, amplitude_sumsq;
  std::int64_t fp, fn, level_errors, next;  // next: position in the trial's active list
};

// Reduces readouts into per-block totals (kept in order) and a per-thread histogram.
template <class T>
struct Reducer {
  const ActivationSpec* spec;
  const ReadoutSpec* ro;
  std::vector<ReadoutTotals>* per_block;
  std::vector<std::int64_t>* shared_hist;
  std::int64_t m;
  std::vector<std::int64_t> hist;
  TrialSums sums[kTrialBlock];
  double scale;

  bool on(double r) const { return (ro->signed_decoder ? std::fabs(r) : r) > ro->threshold; }

  void start(std::int64_t, std::int64_t bt, const BlockScratch<T>&) {
    for (std::int64_t b = 0; b < bt; ++b) sums[b] = TrialSums{0, 0, 0, 0, 0, 0, 0, 0, 0};
  }

  std::int64_t bin(double r) const {
    const double f = (r - ro->hist_lo) * scale;
    if (!(f >= 0)) return 0;
    if (f >= static_cast<double>(ro->bins)) return ro->bins + 1;
    return static_cast<std::int64_t>(f) + 1;
  }

  bool level_wrong(double r, double a, std::int32_t j) const {
    const double K = static_cast<double>(spec->levels);
    const double mag = ro->signed_decoder ? std::fabs(r) : r;
    const double guess = std::min(K, std::max(1.0, std::round(mag * K / spec->amplitude)));
    const bool sign_wrong = ro->signed_decoder && ((r < 0) != (a < 0));
    return sign_wrong || guess != static_cast<double>(j);
  }

  void consume(std::int64_t, std::int64_t b, std::int64_t i0, std::int64_t rows, const T* r,
               const BlockScratch<T>& s) {
    TrialSums& t = sums[b];
    const std::int64_t* idx = s.index.data() + b * s.capacity;
    const double* val = s.value.data() + b * s.capacity;
    const std::int32_t* lev = s.level.data() + b * s.capacity;
    const std::int64_t count = s.count[b];
    for (std::int64_t j = 0; j < rows; ++j) {
      const double v = static_cast<double>(r[j]);
      if (t.next < count && idx[t.next] == i0 + j) {
        const double a = val[t.next];
        const double e = v - a;
        t.error_sum += e;
        t.error_sumsq += e * e;
        t.amplitude_sumsq += a * a;
        t.fn += !on(v);
        if (lev[t.next] > 0) t.level_errors += level_wrong(v, a, lev[t.next]);
        ++t.next;
      } else {
        t.inactive_sum += v;
        t.inactive_sumsq += v * v;
        t.fp += on(v);
        ++hist[bin(v)];
      }
    }
  }

  void finish(std::int64_t blk, std::int64_t bt) {
    ReadoutTotals& out = (*per_block)[blk];
    for (std::int64_t b = 0; b < bt; ++b) {
      const TrialSums& t = sums[b];
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
  }

  void merge_shared() {
#pragma omp critical(nearortho_simulate_hist)
    for (std::size_t k = 0; k < hist.size(); ++k) (*shared_hist)[k] += hist[k];
  }
};

// Copies readouts into a (trials x m) float64 array.
template <class T>
struct Writer {
  double* out;
  std::int64_t m, trial_begin;
  void start(std::int64_t, std::int64_t, const BlockScratch<T>&) {}
  void consume(std::int64_t trial, std::int64_t, std::int64_t i0, std::int64_t rows, const T* r,
               const BlockScratch<T>&) {
    for (std::int64_t j = 0; j < rows; ++j) out[(trial - trial_begin) * m + i0 + j] = static_cast<double>(r[j]);
  }
  void finish(std::int64_t, std::int64_t) {}
  void merge_shared() {}
};

template <class T>
void check_frame(const FrameView<T>& W) {
  if (!W.data || W.m < 1 || W.n < 1) throw std::invalid_argument("W must be a non-empty (m, n) array");
}

void check_explicit(const ExplicitActivations& a, std::int64_t trials, std::int64_t m) {
  if (a.offset[0] != 0) throw std::invalid_argument("activations: offsets must start at 0");
  for (std::int64_t t = 0; t < trials; ++t) {
    if (a.offset[t + 1] < a.offset[t]) throw std::invalid_argument("activations: offsets must not decrease");
    for (std::int64_t k = a.offset[t]; k < a.offset[t + 1]; ++k) {
      if (a.index[k] < 0 || a.index[k] >= m) throw std::invalid_argument("activations: index out of [0, m)");
      if (k > a.offset[t] && a.index[k] <= a.index[k - 1])
        throw std::invalid_argument("activations: indices of a trial must be strictly increasing");
      if (!std::isfinite(a.value[k])) throw std::invalid_argument("activations: values must be finite");
    }
  }
}

std::int64_t explicit_capacity(const ExplicitActivations& a, std::int64_t trials) {
  std::int64_t cap = 0;
  for (std::int64_t t = 0; t < trials; ++t) cap = std::max(cap, a.offset[t + 1] - a.offset[t]);
  return cap;
}

}  // namespace

template <class T>
ReadoutTotals simulate_readout(const FrameView<T>& W, const ActivationSpec& spec,
                               const ExplicitActivations* given, std::int64_t trial_begin,
                               std::int64_t trial_end, const ReadoutSpec& ro, int threads) {
  check_frame(W);
  if (trial_end < trial_begin || trial_begin < 0) throw std::invalid_argument("trial range must be non-empty and >= 0");
  if (ro.bins < 1 || !(ro.hist_hi > ro.hist_lo)) throw std::invalid_argument("histogram needs bins >= 1 and lo < hi");
  const std::int64_t trials = trial_end - trial_begin;
  std::int64_t capacity;
  if (given) {
    check_explicit(*given, trials, W.m);
    capacity = explicit_capacity(*given, trials);
  } else {
    validate(spec);
    if (spec.m != W.m) throw std::invalid_argument("spec.m must equal the rows of W");
    capacity = max_active(spec);
  }
  const std::int64_t blocks = (trials + kTrialBlock - 1) / kTrialBlock;
  std::vector<ReadoutTotals> per_block(blocks);
  ReadoutTotals total;
  total.histogram.assign(ro.bins + 2, 0);
  const double scale = static_cast<double>(ro.bins) / (ro.hist_hi - ro.hist_lo);
  for_each_block(W, spec, given, trial_begin, trial_end, capacity, threads, [&]() {
    Reducer<T> r{&spec, &ro, &per_block, &total.histogram, W.m, std::vector<std::int64_t>(ro.bins + 2, 0), {}, scale};
    return r;
  });
  for (const ReadoutTotals& b : per_block) total.merge(b);
  return total;
}

template <class T>
void readout_values(const FrameView<T>& W, const ExplicitActivations& given, std::int64_t trials,
                    double* out, int threads) {
  check_frame(W);
  check_explicit(given, trials, W.m);
  for_each_block(W, ActivationSpec{}, &given, 0, trials, explicit_capacity(given, trials), threads,
                 [&]() { return Writer<T>{out, W.m, 0}; });
}

template ReadoutTotals simulate_readout<float>(const FrameView<float>&, const ActivationSpec&,
                                               const ExplicitActivations*, std::int64_t, std::int64_t,
                                               const ReadoutSpec&, int);
template ReadoutTotals simulate_readout<double>(const FrameView<double>&, const ActivationSpec&,
                                                const ExplicitActivations*, std::int64_t, std::int64_t,
                                                const ReadoutSpec&, int);
template void readout_values<float>(const FrameView<float>&, const ExplicitActivations&, std::int64_t,
                                    double*, int);
template void readout_values<double>(const FrameView<double>&, const ExplicitActivations&, std::int64_t,
                                     double*, int);

}  // namespace nearortho
