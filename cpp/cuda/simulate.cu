// The readout Monte Carlo (simulate.hpp's simulate_readout) on the device. W is
// uploaded once per call; the trials' activations are drawn on the host
// (sample_trial: the CPU's trials) and go up in batches of kTrialBatch. Per
// batch, encode_trials builds each trial's x = sum_k a_k w_k (float64, then
// rounded to T: the CPU's x, bit for bit), cuBLAS reads out R = X W^T one
// feature tile at a time, and reduce_readouts (one block per trial) adds the
// tile's readouts into that trial's sums (tile after tile: a fixed order) and
// the histogram, deciding and binning each as the CPU does (readout_decoder.hpp).
// The host folds the trials in order (fold_trials). The readouts are dot
// products summed in cuBLAS's order, so sums and counts match the CPU's to
// rounding, and exactly when every readout is exact (integer data).
// Tests: tests/test_cuda.py.
#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "backend.hpp"
#include "block_reduce.cuh"
#include "cublas_handle.hpp"
#include "cuda_check.hpp"
#include "device_buffers.cuh"
#include "nearortho/readout_decoder.hpp"

namespace nearortho::cuda {
namespace {

constexpr std::int64_t kTrialBatch = 4096;    // trials encoded and read out together
constexpr std::int64_t kFeatureTile = 16384;  // features per readout tile: 256 MiB of float R
constexpr std::int64_t kSharedBins = 8192;    // histograms up to this many entries count in shared memory

// One batch's activations in CSR form (offsets from 0), on the host.
struct HostBatch {
  std::vector<std::int64_t> offset{0}, index;
  std::vector<double> value;
  std::vector<std::int32_t> level;  // 1..K when decoding levels, else 0
};

// Trials [t0, t1) of the call (trial t is the caller's trial t, or spec's trial
// trial_begin + t), as the CPU's passes take them.
HostBatch batch_activations(const ActivationSpec& spec, const ExplicitActivations* given, std::int64_t trial_begin,
                            std::int64_t t0, std::int64_t t1) {
  HostBatch out;
  if (given) {
    const std::int64_t lo = given->offset[t0], hi = given->offset[t1];
    for (std::int64_t t = t0; t < t1; ++t) out.offset.push_back(given->offset[t + 1] - lo);
    out.index.assign(given->index + lo, given->index + hi);
    out.value.assign(given->value + lo, given->value + hi);
    out.level.assign(static_cast<std::size_t>(hi - lo), 0);
    return out;
  }
  const auto cap = static_cast<std::size_t>(max_active(spec));
  std::vector<std::int64_t> index(cap);
  std::vector<double> value(cap);
  std::vector<std::int32_t> level(cap);
  SamplerScratch scratch;
  for (std::int64_t t = t0; t < t1; ++t) {
    const std::int64_t count = sample_trial(spec, static_cast<std::uint64_t>(trial_begin + t), scratch, index.data(),
                                            value.data(), level.data());
    out.index.insert(out.index.end(), index.begin(), index.begin() + count);
    out.value.insert(out.value.end(), value.begin(), value.begin() + count);
    out.level.insert(out.level.end(), level.begin(), level.begin() + count);
    out.offset.push_back(static_cast<std::int64_t>(out.index.size()));
  }
  return out;
}

// A batch's activations on the device (the host batch must outlive the copies).
struct DeviceBatch {
  DeviceBuffer<std::int64_t> offset, index;
  DeviceBuffer<double> value;
  DeviceBuffer<std::int32_t> level;
  DeviceBatch(const HostBatch& b, cudaStream_t s)
      : offset(b.offset.size()), index(b.index.size()), value(b.value.size()), level(b.level.size()) {
    copy_to_device(offset.get(), b.offset.data(), b.offset.size(), s, "cudaMemcpyAsync (activations)");
    copy_to_device(index.get(), b.index.data(), b.index.size(), s, "cudaMemcpyAsync (activations)");
    copy_to_device(value.get(), b.value.data(), b.value.size(), s, "cudaMemcpyAsync (activations)");
    copy_to_device(level.get(), b.level.data(), b.level.size(), s, "cudaMemcpyAsync (activations)");
  }
};

// x_t = sum over trial t's active k (in order) of a_k w_k, in float64 without
// contraction, rounded to T: as the CPU's dense pass (cpp/src/readout_passes.hpp).
template <class T>
__global__ void encode_trials(const T* w, std::int64_t n, const std::int64_t* offset, const std::int64_t* index,
                              const double* value, T* x) {
  const std::int64_t t = blockIdx.x;
  for (std::int64_t c = threadIdx.x; c < n; c += blockDim.x) {
    double sum = 0;
    for (std::int64_t k = offset[t]; k < offset[t + 1]; ++k)
      sum = __dadd_rn(sum, __dmul_rn(value[k], static_cast<double>(w[index[k] * n + c])));
    x[t * n + c] = static_cast<T>(sum);
  }
}

// The first of the sorted [begin, end) that is >= f.
__device__ const std::int64_t* lower_bound(const std::int64_t* begin, const std::int64_t* end, std::int64_t f) {
  while (begin < end) {
    const std::int64_t* mid = begin + (end - begin) / 2;
    if (*mid < f)
      begin = mid + 1;
    else
      end = mid;
  }
  return begin;
}

struct ReduceParams {
  ReadoutDecoder decoder;
  double lo, scale;  // histogram entry of r: histogram_entry(r, lo, scale, bins)
  std::int32_t bins;
  bool shared_counts;  // bins + 2 <= kSharedBins: counted in shared memory first
};

// Trial t = blockIdx.x: its readouts r of features [f0, f0 + cols) (row t of R,
// cols wide) added into sums[t] (inactive ones also into hist, bins + 2 entries).
template <class T>
__global__ void reduce_readouts(const T* r, std::int64_t cols, std::int64_t f0, const std::int64_t* offset,
                                const std::int64_t* index, const double* value, const std::int32_t* level,
                                ReduceParams p, TrialSums* sums, unsigned long long* hist) {
  extern __shared__ unsigned counts[];
  const int entries = p.bins + 2;
  if (p.shared_counts)
    for (int e = threadIdx.x; e < entries; e += blockDim.x) counts[e] = 0;
  __syncthreads();
  const std::int64_t t = blockIdx.x;
  const T* row = r + t * cols;
  const std::int64_t* const end = index + offset[t + 1];
  // each thread's features rise, so its next active feature only moves forward
  const std::int64_t* active = lower_bound(index + offset[t], end, f0 + threadIdx.x);
  double inactive_sum = 0, inactive_sumsq = 0, error_sum = 0, error_sumsq = 0, amplitude_sumsq = 0;
  long long fp = 0, fn = 0, level_errors = 0;
  for (std::int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
    const std::int64_t f = f0 + c;
    while (active < end && *active < f) ++active;
    const double v = static_cast<double>(row[c]);
    if (active < end && *active == f) {
      const std::int64_t k = active - index;
      const double a = value[k], e = v - a;
      error_sum += e;
      error_sumsq += e * e;
      amplitude_sumsq += a * a;
      fn += !p.decoder.on(v);
      if (level[k] > 0) level_errors += p.decoder.level_wrong(v, a, level[k]);
    } else {
      inactive_sum += v;
      inactive_sumsq += v * v;
      fp += p.decoder.on(v);
      const int e = histogram_entry(v, p.lo, p.scale, p.bins);
      if (p.shared_counts)
        atomicAdd(&counts[e], 1u);
      else
        atomicAdd(&hist[e], 1ull);
    }
  }
  inactive_sum = block_sum(inactive_sum);
  inactive_sumsq = block_sum(inactive_sumsq);
  error_sum = block_sum(error_sum);
  error_sumsq = block_sum(error_sumsq);
  amplitude_sumsq = block_sum(amplitude_sumsq);
  fp = block_sum(fp);
  fn = block_sum(fn);
  level_errors = block_sum(level_errors);  // its closing barrier also orders the shared counts
  if (threadIdx.x == 0) {
    TrialSums& s = sums[t];
    s.inactive_sum += inactive_sum;
    s.inactive_sumsq += inactive_sumsq;
    s.error_sum += error_sum;
    s.error_sumsq += error_sumsq;
    s.amplitude_sumsq += amplitude_sumsq;
    s.fp += fp;
    s.fn += fn;
    s.level_errors += level_errors;
  }
  if (p.shared_counts)
    for (int e = threadIdx.x; e < entries; e += blockDim.x)
      if (counts[e] != 0) atomicAdd(&hist[e], static_cast<unsigned long long>(counts[e]));
}

}  // namespace

template <class T>
ReadoutTotals simulate_readout(const FrameView<T>& W, const ActivationSpec& spec,
                               const ExplicitActivations* given, std::int64_t trial_begin, std::int64_t trial_end,
                               const ReadoutSpec& ro, ReadoutPath, int, const std::function<bool()>& interrupted) {
  check_readout_call(W, spec, given, trial_begin, trial_end, ro);
  if (W.n > INT_MAX) throw std::invalid_argument("W has more columns than cuBLAS takes (2^31 - 1)");
  const std::int64_t m = W.m, n = W.n, trials = trial_end - trial_begin;
  const std::int64_t batch = std::max<std::int64_t>(1, std::min(kTrialBatch, trials));
  const std::int64_t tile = std::min(kFeatureTile, m);
  CudaStream stream;
  const cudaStream_t s = stream.get();
  DeviceBuffer<T> w(static_cast<std::size_t>(m * n)), x(static_cast<std::size_t>(batch * n));
  DeviceBuffer<T> r(static_cast<std::size_t>(batch * tile));
  copy_to_device(w.get(), W.data, static_cast<std::size_t>(m * n), s, "cudaMemcpyAsync (W)");
  const std::int64_t entries = ro.bins + 2;
  DeviceBuffer<unsigned long long> hist(static_cast<std::size_t>(entries));
  check(cudaMemsetAsync(hist.get(), 0, static_cast<std::size_t>(entries) * sizeof(unsigned long long), s),
        "cudaMemsetAsync (histogram)");
  DeviceBuffer<TrialSums> batch_sums(static_cast<std::size_t>(batch));
  const Cublas cublas(s);
  const ReduceParams params{ReadoutDecoder{ro.threshold, ro.signed_decoder, spec.amplitude,
                                           static_cast<double>(spec.levels)},
                            ro.hist_lo, static_cast<double>(ro.bins) / (ro.hist_hi - ro.hist_lo),
                            static_cast<std::int32_t>(ro.bins), entries <= kSharedBins};
  const std::size_t shared_bytes = params.shared_counts ? static_cast<std::size_t>(entries) * sizeof(unsigned) : 0;
  std::vector<TrialSums> sums(static_cast<std::size_t>(trials));
  using clock = std::chrono::steady_clock;
  auto next_poll = clock::now() + std::chrono::milliseconds(50);
  for (std::int64_t t0 = 0; t0 < trials; t0 += batch) {
    const std::int64_t rows = std::min(batch, trials - t0);
    const HostBatch host = batch_activations(spec, given, trial_begin, t0, t0 + rows);
    const DeviceBatch acts(host, s);
    encode_trials<T><<<static_cast<unsigned>(rows), kThreads, 0, s>>>(w.get(), n, acts.offset.get(), acts.index.get(),
                                                                     acts.value.get(), x.get());
    check_launch("encode_trials");
    check(cudaMemsetAsync(batch_sums.get(), 0, static_cast<std::size_t>(rows) * sizeof(TrialSums), s),
          "cudaMemsetAsync (trial sums)");
    for (std::int64_t f0 = 0; f0 < m; f0 += tile) {
      const std::int64_t cols = std::min(tile, m - f0);
      gram_tile(cublas.get(), x.get(), rows, w.get() + f0 * n, cols, n, r.get());
      reduce_readouts<T><<<static_cast<unsigned>(rows), kThreads, shared_bytes, s>>>(
          r.get(), cols, f0, acts.offset.get(), acts.index.get(), acts.value.get(), acts.level.get(), params,
          batch_sums.get(), hist.get());
      check_launch("reduce_readouts");
      if (interrupted && clock::now() >= next_poll) {
        if (interrupted()) {
          stream.sync();  // before the buffers the kernels use are freed
          return {};      // the caller discards it
        }
        next_poll = clock::now() + std::chrono::milliseconds(50);
      }
    }
    // waits for the batch: its activations are freed next, and the next batch reuses x and R
    const std::vector<TrialSums> done = to_host(batch_sums, static_cast<std::size_t>(rows), s);
    for (std::int64_t t = 0; t < rows; ++t) {
      TrialSums& trial = sums[static_cast<std::size_t>(t0 + t)];
      trial = done[static_cast<std::size_t>(t)];
      trial.next = host.offset[t + 1] - host.offset[t];
    }
  }
  const std::vector<unsigned long long> counts = to_host(hist, s);
  return fold_trials(sums, m, std::vector<std::int64_t>(counts.begin(), counts.end()));
}

template ReadoutTotals simulate_readout<float>(const FrameView<float>&, const ActivationSpec&,
                                               const ExplicitActivations*, std::int64_t, std::int64_t,
                                               const ReadoutSpec&, ReadoutPath, int, const std::function<bool()>&);
template ReadoutTotals simulate_readout<double>(const FrameView<double>&, const ActivationSpec&,
                                                const ExplicitActivations*, std::int64_t, std::int64_t,
                                                const ReadoutSpec&, ReadoutPath, int, const std::function<bool()>&);

}  // namespace nearortho::cuda
