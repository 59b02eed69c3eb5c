// The device buffers of the tensor-core re-check (recheck_kernels.cuh): where a
// pass keeps its candidates, compacted as the running results rise, and their
// float64 g at the end. Tests: tests/test_cuda.py.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "device_buffers.cuh"
#include "recheck.hpp"
#include "recheck_kernels.cuh"
#include "nearortho/interference.hpp"

namespace nearortho::cuda {

// Where a tensor-core pass keeps its candidates for the re-check: two buffers,
// the candidates still passing moved from one to the other when it is half full.
class DeviceRecheck {
 public:
  DeviceRecheck(const InterferenceOptions& opt, std::int64_t m, std::int64_t mb, double delta, cudaStream_t s)
      : cap_(capacity(m, mb, opt.pair_cap)), row_floor_(2 * kTile), column_floor_(2 * kTile), buffers_{Buffer(cap_), Buffer(cap_)} {
    for (const Buffer& b : buffers_) fill_device(b.count.get(), 1, 0ull, s);
    base_ = Candidates{2 * delta, opt.pair_cap >= 0 ? opt.pair_threshold - delta : INFINITY, opt.pair_signed, cap_,
                       nullptr,   nullptr,
                       nullptr,   nullptr,
                       row_floor_.get(), column_floor_.get()};
  }

  // Where the next tile's candidates go.
  Candidates candidates() const { return buffers_[active_].candidates(base_); }

  // Whether the top-k lists alone could fill half the buffer: their candidates
  // are at least k a row, every partner until a list is full.
  bool lists_too_long(std::int64_t topk, std::int64_t rows) const {
    return static_cast<std::size_t>(topk) * static_cast<std::size_t>(rows) > cap_ / 2;
  }

  // After a tile: false when its candidates overflowed the buffer; moves the
  // candidates still passing to the other buffer when this one is half full.
  template <class T>
  bool after_tile(const Reduction<T>& red, bool columns, cudaStream_t s) {
    const unsigned long long found = to_host(buffers_[active_].count, s)[0];
    if (found > cap_) return false;
    if (found > cap_ / 2) compact(red, columns, found, s);
    return true;
  }

  // The candidates that pass the final floors, with their float64 g.
  template <class T>
  CheckedPairs checked_pairs(const Reduction<T>& red, bool columns, const T* a, const T* b, std::int64_t n,
                             cudaStream_t s) {
    compact(red, columns, to_host(buffers_[active_].count, s)[0], s);
    const Buffer& kept = buffers_[active_];
    const std::size_t count = static_cast<std::size_t>(to_host(kept.count, s)[0]);
    DeviceBuffer<double> g(count);
    if (count > 0) {
      exact_dots<T><<<blocks_for(static_cast<std::int64_t>(count) * 32), kThreads, 0, s>>>(
          a, b, n, kept.i.get(), kept.j.get(), static_cast<std::int64_t>(count), g.get());
      check_launch("exact_dots");
    }
    return CheckedPairs{to_host(kept.i, count, s), to_host(kept.j, count, s), to_host(g, count, s)};
  }

 private:
  struct Buffer {
    explicit Buffer(std::size_t cap) : count(1), i(cap), j(cap), h(cap) {}
    Candidates candidates(Candidates base) const {
      base.count = count.get();
      base.i = i.get();
      base.j = j.get();
      base.h = h.get();
      return base;
    }
    DeviceBuffer<unsigned long long> count;
    DeviceBuffer<std::int64_t> i, j;
    DeviceBuffer<float> h;
  };

  template <class T>
  void compact(const Reduction<T>& red, bool columns, unsigned long long found, cudaStream_t s) {
    const Buffer& from = buffers_[active_];
    const Buffer& to = buffers_[1 - active_];
    fill_device(to.count.get(), 1, 0ull, s);
    if (found > 0) {
      keep_candidates<T><<<blocks_for(static_cast<std::int64_t>(found)), kThreads, 0, s>>>(
          red, columns, from.candidates(base_), static_cast<std::int64_t>(found), to.candidates(base_));
      check_launch("keep_candidates");
    }
    active_ = 1 - active_;
  }

  // 32 candidates a row (at least 2^20) and the pairs kept (which compaction
  // never drops) in each buffer, within a third of the free device memory.
  static std::size_t capacity(std::int64_t m, std::int64_t mb, std::int64_t pair_cap) {
    std::size_t free = 0, total = 0;
    check(cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
    const std::size_t wanted = std::max<std::size_t>(std::size_t{1} << 20, 32 * static_cast<std::size_t>(m + mb)) +
                               static_cast<std::size_t>(std::max<std::int64_t>(0, pair_cap));
    return std::min(wanted, free / 3 / 2 / (2 * sizeof(std::int64_t) + sizeof(float)));
  }

  std::size_t cap_;
  DeviceBuffer<double> row_floor_, column_floor_;
  Buffer buffers_[2];
  int active_ = 0;
  Candidates base_{};
};

}  // namespace nearortho::cuda
