// Copies from pageable host memory (numpy arrays) to the device that overlap the
// device's compute: the calling thread copies a piece into one of a few
// page-locked staging buffers (std::memcpy), and the copy engine moves it to the
// device on a stream of its own while the compute stream runs. One thread: the
// caller advances the queued copies with step() between its own launches (and
// while it would otherwise wait for the device). Tests: tests/test_cuda.py.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <vector>

#include "cuda_check.hpp"

namespace nearortho::cuda {

class HostUploader {
 public:
  // One staging buffer: small, so that the piece being copied when the compute
  // stream runs dry delays its next launch little (about 0.4 ms at 10 GB/s).
  static constexpr std::size_t kPieceBytes = std::size_t{4} << 20;
  static constexpr std::size_t kStagingBuffers = 8;

  // largest: the largest copy to come (smaller copies need smaller staging buffers).
  explicit HostUploader(std::size_t largest)
      : piece_(std::max<std::size_t>(1, std::min(largest, kPieceBytes))),
        staging_(piece_ * kStagingBuffers),
        staged_(kStagingBuffers) {}

  // The staging buffers and every destination outlive the copies in flight.
  ~HostUploader() { cudaStreamSynchronize(stream_.get()); }
  HostUploader(const HostUploader&) = delete;
  HostUploader& operator=(const HostUploader&) = delete;

  // Queues a copy of `bytes` from host `src` to device `dst`, its ticket the
  // number of copies queued before it; `done` is recorded on the copy stream
  // after its last piece (so another stream can wait for it).
  std::int64_t enqueue(const void* src, void* dst, std::size_t bytes, cudaEvent_t done) {
    queue_.push_back(Copy{static_cast<const unsigned char*>(src), static_cast<unsigned char*>(dst), bytes, 0, done});
    return queued_++;
  }

  bool pending() const { return !queue_.empty(); }

  // Issues the next piece of the oldest queued copy; false when none is queued.
  bool step() {
    if (queue_.empty()) return false;
    Copy& c = queue_.front();
    const std::size_t bytes = std::min(piece_, c.bytes - c.issued);
    if (bytes > 0) {
      unsigned char* stage = staging_.get() + next_ * piece_;
      // the buffer's previous piece has reached the device (immediate the first time)
      check(cudaEventSynchronize(staged_[next_].get()), "cudaEventSynchronize (staging)");
      std::memcpy(stage, c.src + c.issued, bytes);
      check(cudaMemcpyAsync(c.dst + c.issued, stage, bytes, cudaMemcpyHostToDevice, stream_.get()),
            "cudaMemcpyAsync (rows)");
      check(cudaEventRecord(staged_[next_].get(), stream_.get()), "cudaEventRecord (staging)");
      next_ = (next_ + 1) % kStagingBuffers;
      c.issued += bytes;
    }
    if (c.issued == c.bytes) {
      check(cudaEventRecord(c.done, stream_.get()), "cudaEventRecord (rows)");
      queue_.pop_front();
      ++issued_;
    }
    return true;
  }

  // Issues every copy up to and including the one of `ticket` (it must be queued).
  void issue_through(std::int64_t ticket) {
    while (issued_ <= ticket && step()) {
    }
  }

 private:
  struct Copy {
    const unsigned char* src;
    unsigned char* dst;
    std::size_t bytes, issued;
    cudaEvent_t done;
  };

  CudaStream stream_;
  std::size_t piece_;
  PinnedBuffer staging_;
  std::vector<CudaEvent> staged_;  // per staging buffer: its last piece has left it
  std::size_t next_ = 0;           // the staging buffer of the next piece
  std::deque<Copy> queue_;
  std::int64_t queued_ = 0, issued_ = 0;
};

}  // namespace nearortho::cuda
