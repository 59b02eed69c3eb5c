// The rows of a CUDA interference pass on the device, and the order of its tiles
// (stream_plan.hpp). Rows already in GPU memory are copied and prepared whole
// before the first tile. Host rows (numpy arrays, files) are streamed: each block of
// kTile rows goes through page-locked staging buffers on a copy stream
// (host_uploader.hpp) while earlier tiles are computed, and is prepared
// (normalised, checked for bad rows) when its first tile needs it; when the rows
// do not fit the device memory budget, A is taken a superblock at a time and the
// blocks it pairs with pass through a ring. Tests: tests/test_cuda.py.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cuda_check.hpp"
#include "device_buffers.cuh"
#include "host_norms.hpp"
#include "host_uploader.hpp"
#include "interference_kernels.cuh"
#include "stream_plan.hpp"
#include "nearortho/interference.hpp"
#include "nearortho/interference_setup.hpp"

namespace nearortho::cuda {

// Whether x is in device memory (not host memory); then waits for every stream
// of the device (the caller's framework may still be writing it). A pointer into
// another device's memory is an std::invalid_argument naming the source.
inline bool await_device_rows(const void* x, const std::string& name) {
  cudaPointerAttributes attributes{};
  check(cudaPointerGetAttributes(&attributes, x), "cudaPointerGetAttributes");
  if (attributes.type != cudaMemoryTypeDevice && attributes.type != cudaMemoryTypeManaged) return false;
  int current = 0;
  check(cudaGetDevice(&current), "cudaGetDevice");
  if (attributes.device != current)
    throw std::invalid_argument(name + " is in the memory of GPU " + std::to_string(attributes.device) +
                                "; nearortho runs on the current GPU, " + std::to_string(current));
  check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  return true;
}

// Rows copied (in blocks of about 64 MiB, from host or device memory) and
// prepared on the device.
template <class T>
struct DeviceRows {
  DeviceBuffer<T> data;
  std::vector<double> sumsq;  // the rows' sums of squares

  DeviceRows(const T* x, std::int64_t m, std::int64_t n, bool normalize, const std::string& name,
             cudaStream_t stream)
      : data(static_cast<std::size_t>(m * n)) {
    const std::int64_t block = std::max<std::int64_t>(1, (std::int64_t{64} << 20) / (n * sizeof(T)));
    for (std::int64_t r = 0; r < m; r += block)
      copy_to_device(data.get() + r * n, x + r * n, static_cast<std::size_t>(std::min(block, m - r) * n),
                     stream, "cudaMemcpyAsync (rows)");
    DeviceBuffer<double> sumsq_d(static_cast<std::size_t>(m));
    DeviceBuffer<unsigned long long> first(kBadRowFlags);
    fill_device(first.get(), kBadRowFlags, static_cast<unsigned long long>(m), stream);
    prepare_rows<T><<<blocks_for(m), kThreads, 0, stream>>>(data.get(), m, n, normalize, sumsq_d.get(),
                                                           first.get());
    check_launch("prepare_rows");
    const std::vector<unsigned long long> bad = to_host(first, stream);
    const auto row = [&](BadRowFlag f) { return static_cast<std::int64_t>(bad[f]); };
    throw_if_bad_rows(name, row(kBadValue), row(kZeroRow), m, row(kUnscalableRow));
    sumsq = to_host(sumsq_d, stream);
  }
};

// The device memory a pass may use: `requested` bytes (0: no limit), at most
// the free memory less a margin (cuBLAS's workspace, other allocations).
inline std::size_t device_budget(std::int64_t requested) {
  std::size_t free = 0, total = 0;
  check(cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
  const std::size_t margin = std::max<std::size_t>(free / 16, std::size_t{256} << 20);
  const std::size_t available = free > margin ? free - margin : 0;
  return requested > 0 ? std::min(available, static_cast<std::size_t>(requested)) : available;
}

template <class T>
class PassRows {
 public:
  // other_bytes: the pass's device memory besides the rows (for the budget);
  // whole: every row must stay on the device (the tensor-core re-check reads them).
  PassRows(const RowSource<T>& a, const RowSource<T>* b, const InterferenceOptions& opt, std::size_t other_bytes,
           bool whole, cudaStream_t s)
      : a_(a), b_(b), m_(a.rows()), m2_(b ? b->rows() : 0), n_(a.cols()), normalize_(opt.normalize), s_(s) {
    const std::int64_t ba = blocks(m_), bb = blocks(m2_);
    // file sources (array() null) are read on the host
    const bool a_on_device = a.array() != nullptr && await_device_rows(a.array(), a.name());
    if (a_on_device | (b != nullptr && b->array() != nullptr && await_device_rows(b->array(), b->name()))) {
      for (const RowSource<T>* side : {&a, b})
        if (side != nullptr && side->array() == nullptr)
          throw std::invalid_argument(side->name() + " is a file: with the other side in GPU memory, it is read "
                                      "into memory first (nearortho.interference does)");
      xa_ = std::make_unique<DeviceRows<T>>(a.array(), m_, n_, normalize_, a.name(), s);
      if (b) xb_ = std::make_unique<DeviceRows<T>>(b->array(), m2_, n_, normalize_, b->name(), s);
      sumsq_a_ = xa_->sumsq;
      if (b) sumsq_b_ = xb_->sumsq;
      plan_ = plan_tiles(ba, bb, b == nullptr, ba, true);
      return;
    }
    choose_plan(opt, other_bytes, whole);  // first: a budget too small fails before the norms read the rows
    if (!normalize_ && !host_norms(opt, b ? ba * bb : ba * (ba + 1) / 2)) return;
    const std::int64_t ring_rows = std::min(kTile, b ? m2_ : m_);
    b_slot_rows_ = plan_.b_resident ? kTile : ring_rows;
    a_rows_ = std::make_unique<DeviceBuffer<T>>(static_cast<std::size_t>(std::min(m_, plan_.resident * kTile) * n_));
    const std::int64_t b_rows = plan_.b_resident ? m2_ : plan_.ring ? 2 * ring_rows : 0;
    b_rows_ = std::make_unique<DeviceBuffer<T>>(static_cast<std::size_t>(b_rows * n_));
    scratch_ = std::make_unique<DeviceBuffer<double>>(static_cast<std::size_t>(std::min(kTile, std::max(m_, m2_))));
    flags_ = std::make_unique<DeviceBuffer<unsigned long long>>(kBadRowFlags);
    events_ = std::vector<CudaEvent>(plan_.loads.size());
    uploader_ = std::make_unique<HostUploader<T>>(n_, std::min(kTile, std::max(m_, m2_)));
  }

  // Whether an upload that rows_for(t) or overlap(t) queues may overwrite rows
  // that tiles before t read (streamed host rows whose slots are reused): then
  // those tiles' products must have finished.
  bool reuses_slots() const {
    return uploader_ != nullptr && std::any_of(plan_.loads.begin(), plan_.loads.end(),
                                               [](const BlockLoad& load) { return load.ready > 0; });
  }
  // The poll stopped the pass before it began (while reading host norms).
  bool cancelled() const { return cancelled_; }
  // The rows' sums of squares when the pass needs them (normalize=false), else empty.
  const std::vector<double>& sumsq_a() const { return sumsq_a_; }
  const std::vector<double>& sumsq_b() const { return sumsq_b_; }
  const std::vector<PlannedTile>& tiles() const { return plan_.tiles; }

  // All of A's (B's) prepared rows, once prepare_all() ran or every tile did;
  // null when the pass streams them (more rows than the budget holds).
  const T* a_all() const { return plan_.resident * kTile >= m_ ? a_area() : nullptr; }
  const T* b_all() const { return b_ == nullptr ? a_all() : plan_.b_resident ? b_area() : nullptr; }

  // Every row uploaded and prepared now (only when all are resident).
  void prepare_all() {
    if (!uploader_) return;
    enqueue_ready(0);  // every load: each has a slot of its own
    for (std::int64_t k = 0; k < static_cast<std::int64_t>(plan_.loads.size()); ++k) prepare(k);
  }

  // Before tile t (the products of the tiles before it done): its rows on the device, prepared,
  // as the (x, y) of its Gram product x y^T.
  std::pair<const T*, const T*> rows_for(std::int64_t t) {
    const PlannedTile& tile = plan_.tiles[static_cast<std::size_t>(t)];
    if (uploader_) {
      enqueue_ready(t);
      prepare(std::min(tile.a_load, tile.b_load));  // the earlier load first: prepared in order
      prepare(std::max(tile.a_load, tile.b_load));
    }
    return {slot_rows(plan_.loads[static_cast<std::size_t>(tile.a_load)].slot),
            slot_rows(plan_.loads[static_cast<std::size_t>(tile.b_load)].slot)};
  }

  // While tile t runs on the compute stream: the uploads it allows, advanced
  // until the compute stream has nothing left to do.
  void overlap(std::int64_t t) {
    if (!uploader_) return;
    enqueue_ready(t);
    while (uploader_->pending()) {
      const cudaError_t status = cudaStreamQuery(s_);
      if (status != cudaErrorNotReady) break;  // idle, or an error its next sync reports
      cudaGetLastError();  // "not ready" is no error: leave no trace of it for check_launch
      uploader_->step();
    }
  }

 private:
  static std::int64_t blocks(std::int64_t rows) { return (rows + kTile - 1) / kTile; }

  // Host rows' norms (raw products: the histogram range needs them all first);
  // false when the poll (progress reported as 0 of `total` tiles) stopped the pass.
  bool host_norms(const InterferenceOptions& opt, std::int64_t total) {
    const std::function<bool()> interrupted = [&opt, total] { return opt.poll && opt.poll(0, total); };
    std::optional<std::vector<double>> a = host_squared_norms(a_, false, opt.threads, interrupted);
    std::optional<std::vector<double>> b;
    if (a && b_) b = host_squared_norms(*b_, false, opt.threads, interrupted);
    cancelled_ = !a || (b_ && !b);
    if (cancelled_) return false;
    sumsq_a_ = std::move(*a);
    if (b) sumsq_b_ = std::move(*b);
    return true;
  }

  // The superblocks' size from the budget: every row resident when they fit.
  void choose_plan(const InterferenceOptions& opt, std::size_t other_bytes, bool whole) {
    const std::int64_t ba = blocks(m_), bb = blocks(m2_);
    const bool symmetric = b_ == nullptr;
    const std::size_t row = static_cast<std::size_t>(n_) * sizeof(T);
    const std::size_t all = static_cast<std::size_t>(m_ + m2_) * row;
    const std::size_t budget = device_budget(opt.device_bytes);
    const std::size_t rows_budget = budget > other_bytes ? budget - other_bytes : 0;
    if (all <= rows_budget) {
      plan_ = plan_tiles(ba, bb, symmetric, ba, true);
      return;
    }
    const std::size_t block = static_cast<std::size_t>(std::min(kTile, m_)) * row;
    const std::size_t ring = 2 * static_cast<std::size_t>(std::min(kTile, symmetric ? m_ : m2_)) * row;
    const std::size_t b_whole = symmetric ? ring : static_cast<std::size_t>(m2_) * row;
    const std::size_t least = other_bytes + std::min(all, block + std::min(ring, b_whole));
    if (whole)
      throw std::invalid_argument("precision \"" + opt.precision + "\" re-checks with every row on the device: " +
                                  std::to_string(other_bytes + all) + " bytes, more than the " +
                                  std::to_string(budget) + " bytes of device memory this pass may use");
    if (opt.device_bytes > 0 && static_cast<std::size_t>(opt.device_bytes) < least)
      throw std::invalid_argument("memory must be at least " + std::to_string(least) +
                                  " bytes of device memory for this pass (a block of " + std::to_string(kTile) +
                                  " rows of " + a_.name() + " and two of the rows it pairs with, the per-row "
                                  "results and two tile workspaces), got " + std::to_string(opt.device_bytes));
    if (rows_budget < block + std::min(ring, b_whole))
      throw std::runtime_error("the GPU has too little free memory for this pass: it needs at least " +
                               std::to_string(least) + " bytes, " + std::to_string(budget) + " are available");
    if (!symmetric && b_whole <= rows_budget - block)  // B stays, superblocks of A
      plan_ = plan_tiles(ba, bb, false, static_cast<std::int64_t>((rows_budget - b_whole) / block), true);
    else
      plan_ = plan_tiles(ba, bb, symmetric, static_cast<std::int64_t>((rows_budget - ring) / block), false);
  }

  T* a_area() const { return xa_ ? xa_->data.get() : a_rows_->get(); }
  T* b_area() const { return xb_ ? xb_->data.get() : b_rows_->get(); }

  // The device rows of a slot (stream_plan.hpp).
  T* slot_rows(std::int64_t slot) const {
    if (slot < plan_.resident) return a_area() + slot * kTile * n_;
    return b_area() + (slot - plan_.resident) * b_slot_rows_ * n_;
  }

  std::int64_t load_rows(const BlockLoad& load) const {
    return std::min(kTile, (load.b_side ? m2_ : m_) - load.block * kTile);
  }

  // Queues the uploads whose slots the first `done` tiles have freed, in order.
  void enqueue_ready(std::int64_t done) {
    for (; next_load_ < static_cast<std::int64_t>(plan_.loads.size()); ++next_load_) {
      const BlockLoad& load = plan_.loads[static_cast<std::size_t>(next_load_)];
      if (load.ready > done) break;
      uploader_->enqueue(load.b_side ? *b_ : a_, load.block * kTile, load_rows(load), slot_rows(load.slot),
                         events_[static_cast<std::size_t>(next_load_)].get());
    }
  }

  // The compute stream waits for load k's rows, prepares them and checks them
  // (the loads are first needed in their order, so prepared in it).
  void prepare(std::int64_t k) {
    if (k < prepared_) return;
    if (k != prepared_ || k >= next_load_) throw std::logic_error("row block prepared out of order");
    const BlockLoad& load = plan_.loads[static_cast<std::size_t>(k)];
    uploader_->issue_through(k);  // its ticket: loads are queued in order
    check(cudaStreamWaitEvent(s_, events_[static_cast<std::size_t>(k)].get(), 0), "cudaStreamWaitEvent");
    const std::int64_t rows = load_rows(load), first = load.block * kTile;
    fill_device(flags_->get(), kBadRowFlags, static_cast<unsigned long long>(rows), s_);
    prepare_rows<T><<<blocks_for(rows), kThreads, 0, s_>>>(slot_rows(load.slot), rows, n_, normalize_,
                                                            scratch_->get(), flags_->get());
    check_launch("prepare_rows");
    // before any tile reads them (a NaN must not reach the histogram's bins)
    const std::vector<unsigned long long> bad = to_host(*flags_, s_);
    const std::int64_t m = load.b_side ? m2_ : m_;
    const auto global = [&](unsigned long long r) {  // the block's row r in its side, m for none
      return r < static_cast<unsigned long long>(rows) ? first + static_cast<std::int64_t>(r) : m;
    };
    throw_if_bad_rows(load.b_side ? b_->name() : a_.name(), global(bad[kBadValue]), global(bad[kZeroRow]), m,
                      global(bad[kUnscalableRow]));
    ++prepared_;
  }

  const RowSource<T>& a_;
  const RowSource<T>* b_;
  std::int64_t m_, m2_, n_;
  bool normalize_;
  cudaStream_t s_;
  bool cancelled_ = false;
  std::vector<double> sumsq_a_, sumsq_b_;
  StreamPlan plan_;
  std::int64_t b_slot_rows_ = kTile;
  // rows in GPU memory: copied whole
  std::unique_ptr<DeviceRows<T>> xa_, xb_;
  // host rows: streamed
  std::unique_ptr<DeviceBuffer<T>> a_rows_, b_rows_;  // A's superblock; all of B, or the ring
  std::unique_ptr<DeviceBuffer<double>> scratch_;     // prepare_rows' sums of squares (unused)
  std::unique_ptr<DeviceBuffer<unsigned long long>> flags_;  // a block's first bad rows (BadRowFlag)
  std::vector<CudaEvent> events_;  // per load: its rows are on the device
  std::int64_t next_load_ = 0, prepared_ = 0;
  // last: destroyed first, so its copies end before their buffers and events go
  std::unique_ptr<HostUploader<T>> uploader_;
};

}  // namespace nearortho::cuda
